//! The pure core of Nudge: per-customer state, sessions, detectors, policies and attribution.
//! No I/O, no clock reads: records and a watermark in, output records out.
//!
//! # Layout
//!
//! - [`engine`]: [`Engine`], the customers of one task, their timer index and dirty set.
//! - `customer`: one customer's state machine: sessions, cart, checkout, email, CRM, timers.
//! - `policy`: consent, frequency cap, channel, offer, quiet hours, holdout.
//! - [`state`]: the serializable per-customer state.
//! - [`config`]: the `[session]`, `[detectors]` and `[policy]` tables of `nudge.toml`.
//! - `ids`: stable hashes for trigger ids, session ids and holdout assignment.
//! - `index`: customer id to slot, with a cache of recent lookups.
//! - `key`: customer ids stored inline in the index when short.
//! - `slab`: the customer slots, in chunks that never move.
//! - `timers`: the timer index, a lazily pruned heap of (due time, slot).

pub mod config;
mod customer;
pub mod engine;
mod ids;
mod index;
mod key;
mod policy;
mod slab;
pub mod state;
mod timers;

pub use config::{ConfigError, Dur, EngineConfig};
pub use engine::Engine;
pub use state::CustomerState;
