//! The runtime's notion of "now" in event time: the system clock, or a scaled clock for demos
//! where an hour of simulated time passes in a minute.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use nudge_events::Ts;

/// Where the watermark goes when every input is idle, and what trigger delays are measured
/// against.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    /// Event time is wall-clock time.
    System,
    /// Event time starts at `event_origin` when the wall clock reads `wall_origin` and runs
    /// `speed` times faster.
    Scaled {
        wall_origin: Instant,
        event_origin: Ts,
        speed: f64,
    },
}

impl Clock {
    /// A clock that starts at `origin` now and runs `speed` times faster than the wall clock.
    pub fn scaled(origin: Ts, speed: f64) -> Clock {
        Clock::Scaled {
            wall_origin: Instant::now(),
            event_origin: origin,
            speed,
        }
    }

    /// The current event time.
    pub fn now(&self) -> Ts {
        match *self {
            Clock::System => {
                let ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                Ts(ms)
            }
            Clock::Scaled {
                wall_origin,
                event_origin,
                speed,
            } => {
                let elapsed = wall_origin.elapsed().as_secs_f64() * speed;
                event_origin.plus((elapsed * 1000.0) as i64)
            }
        }
    }

    /// Event-time milliseconds that pass per wall-clock second.
    pub fn speed(&self) -> f64 {
        match *self {
            Clock::System => 1.0,
            Clock::Scaled { speed, .. } => speed,
        }
    }
}
