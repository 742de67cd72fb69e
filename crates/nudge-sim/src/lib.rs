//! Nudge's journey simulator and load generator: realistic, deterministic traffic for the
//! clickstream, email and CRM topics, with the ground truth of every customer.
//!
//! ```
//! use nudge_sim::{Persona, Sim, SimConfig};
//!
//! let mut sim = Sim::new(SimConfig { seed: 7, customers: 100, ..SimConfig::default() });
//! let first: Vec<_> = sim.by_ref().take(1_000).collect();
//! assert!(first.windows(2).all(|w| w[0].1.ts() <= w[1].1.ts()));
//! let line = nudge_sim::to_json(&first[0].1);
//! assert_eq!(nudge_events::json::decode(first[0].0, line.as_bytes()).unwrap(), first[0].1);
//! assert!(Persona::ALL.contains(&sim.persona("c0000042").unwrap()));
//! ```
//!
//! # Layout
//!
//! - [`sim`]: [`SimConfig`] and [`Sim`], the merged, time-ordered stream of all customers.
//! - `customer`: one customer's CRM, email and clickstream tracks, one record at a time.
//! - `session`: visit kinds per persona, the clicks of a visit, gaps within and between.
//! - `records`: a customer's next step as a `ClickEvent`, `EmailEvent` or `CrmEvent`.
//! - [`persona`]: personas and their shares, and the ground truth ([`Truth`]) per customer.
//! - `catalog`: the shop: products and prices, pages, referrers, campaigns, time zones.
//! - `rng`: splitmix64 and the integer-only draws that keep a seed's output portable.
//! - [`render`]: records as JSON lines.
//!
//! Event times start at [`SimConfig::start`] and follow the customers' habits (seconds to
//! minutes between clicks, hours to days between visits), so a live load generator paces the
//! stream by mapping event time to wall time, e.g. with [`Sim::peek_ts`].

mod catalog;
mod customer;
pub mod persona;
mod records;
pub mod render;
mod rng;
mod session;
pub mod sim;

pub use persona::{Dropoff, Persona, PersonaShares, Truth};
pub use render::{to_json, write_json};
pub use sim::{Sim, SimConfig, Until};

#[cfg(test)]
mod tests;
