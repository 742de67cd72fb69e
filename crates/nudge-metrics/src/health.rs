//! [`Health`]: readiness shared between the runtime, which flips it, and the HTTP endpoint.

use std::sync::atomic::{AtomicBool, Ordering};

use prometheus::IntGauge;

/// Readiness of this process, shared (behind an `Arc`) by the runtime and [`crate::serve`].
///
/// Liveness needs no state: `/healthz` answers as long as the server does. Readiness starts
/// false and the runtime sets it once every assigned task has restored its state, and clears
/// it while a rebalance restores new tasks.
#[derive(Debug, Default)]
pub struct Health {
    ready: AtomicBool,
    gauge: Option<IntGauge>,
}

impl Health {
    /// A health state that is not ready yet.
    pub fn new() -> Health {
        Health::default()
    }

    /// A health state that also mirrors readiness into `gauge` (0 or 1), starting at 0.
    pub fn with_ready_gauge(gauge: IntGauge) -> Health {
        gauge.set(0);
        Health {
            ready: AtomicBool::new(false),
            gauge: Some(gauge),
        }
    }

    /// Marks the process ready (`/readyz` answers 200) or not ready (503).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
        if let Some(gauge) = &self.gauge {
            gauge.set(i64::from(ready));
        }
    }

    /// Whether the process is ready to serve.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_not_ready_and_flips() {
        let health = Health::new();
        assert!(!health.is_ready());
        health.set_ready(true);
        assert!(health.is_ready());
        health.set_ready(false);
        assert!(!health.is_ready());
    }

    #[test]
    fn mirrors_readiness_into_the_gauge() {
        let gauge = IntGauge::new("nudge_test_ready", "test").expect("valid gauge");
        gauge.set(7);
        let health = Health::with_ready_gauge(gauge.clone());
        assert_eq!(gauge.get(), 0);
        health.set_ready(true);
        assert_eq!(gauge.get(), 1);
        health.set_ready(false);
        assert_eq!(gauge.get(), 0);
    }
}
