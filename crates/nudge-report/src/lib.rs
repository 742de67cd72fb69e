//! The journey report: figures computed from a replay's input and output records, as a
//! serialisable [`Report`] (the JSON) and a self-contained HTML page that shows exactly those
//! figures. Pure: the caller hands over records and writes the results.
//!
//! # Layout
//!
//! - [`model`]: the [`Report`] and its sections, serialised as the report's JSON.
//! - [`collect`]: [`Collector`], fed record by record in replay order with bounded memory
//!   (running tallies and per-customer maps), then finished into a [`Report`]; `tally`:
//!   its session side (KPIs per group, funnel steps, exit pages).
//! - [`stats`]: rates, medians of whole seconds, Wilson and Newcombe intervals.
//! - [`html`]: [`render`], the page; `sections`: its sections; `svg`: its charts;
//!   `figure`: how each figure is formatted and tagged with its place in the JSON.

pub mod collect;
mod figure;
pub mod html;
pub mod model;
mod sections;
pub mod stats;
mod svg;
mod tally;

pub use collect::{Collector, Context};
pub use html::render;
pub use model::*;
