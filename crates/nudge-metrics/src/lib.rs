//! Nudge's Prometheus metrics and the HTTP endpoint that serves them with the health checks.
//! No Kafka and no engine here: the runtime (`nudge-kafka`) updates the handles.
//!
//! # Layout
//!
//! - [`names`]: every metric name as a constant and [`names::CATALOG`] (type, labels, help),
//!   the single source the registry, README, dashboards and alerts are checked against.
//! - [`Metrics`] (`metrics.rs`): the registered handles in a private [`prometheus::Registry`],
//!   built from the catalog, and text rendering.
//! - [`Health`] (`health.rs`): readiness flag shared with the runtime.
//! - [`serve`] / [`Server`] (`http.rs`): a minimal HTTP/1.1 responder for `/metrics`,
//!   `/healthz` and `/readyz` on its own thread and current-thread tokio runtime.
//!
//! ```
//! use std::sync::Arc;
//! use nudge_metrics::{serve, Metrics};
//!
//! let metrics = Arc::new(Metrics::new());
//! let health = Arc::new(metrics.health());
//! let server = serve("127.0.0.1:0".parse().unwrap(), metrics.clone(), health.clone()).unwrap();
//! metrics.events_consumed.with_label_values(&["clickstream", "page_view"]).inc();
//! health.set_ready(true);
//! println!("metrics on http://{}/metrics", server.local_addr());
//! server.shutdown();
//! ```

mod health;
mod http;
mod metrics;
pub mod names;

pub use health::Health;
pub use http::{serve, Server};
pub use metrics::Metrics;
pub use names::{MetricDoc, MetricType, CATALOG};
/// The prometheus crate, re-exported so callers name the same handle types.
pub use prometheus;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// A metric was built with a name, type or label shape that the catalog does not list.
    #[error("{name} is not in the catalog as a {kind} (labelled: {labelled})")]
    NotInCatalog {
        /// The metric name.
        name: String,
        /// The type it was built as.
        kind: &'static str,
        /// Whether it was built with labels.
        labelled: bool,
    },
    /// Registration or encoding failed in the prometheus crate.
    #[error("prometheus: {0}")]
    Prometheus(#[from] prometheus::Error),
}
