//! The report's figures, serialised as its JSON. Rates are fractions (0.25, not 25), `null`
//! where the denominator is zero; durations are in seconds; money is in the orders' currency.

use nudge_events::Ts;
use serde::{Deserialize, Serialize};

/// The version of this JSON shape; it changes when a field changes meaning or goes away.
pub const FORMAT_VERSION: u32 = 1;

/// Everything the page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub format_version: u32,
    pub provenance: Provenance,
    pub funnel: Funnel,
    pub sessions: Sessions,
    pub triggers: Triggers,
    pub effect: Effect,
}

/// What the report was made from, so a reader can judge it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub made_from: MadeFrom,
    /// The input directory or the replay output file, as given on the command line.
    pub source: String,
    /// The engine configuration that produced the outputs, defaults written out.
    pub config_toml: Option<String>,
    /// Input records; `null` when the report was read from a replay output file.
    pub input: Option<InputCounts>,
    /// Records per output topic (dead letters included).
    pub outputs: Vec<NameCount>,
    pub dead_letters: DeadLetters,
    /// Sessions still open when the input ended: not in the session figures.
    pub open_sessions_at_end: Option<u64>,
    /// Figures this report cannot give, in words.
    pub unknown: Vec<String>,
}

/// How the outputs were obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MadeFrom {
    /// The input files were replayed through the engine.
    Replay,
    /// A `nudge replay` output file was read.
    ReplayOutput,
}

/// The valid input records (dead letters are counted apart).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputCounts {
    pub records: u64,
    /// Records of a type this version does not know: counted, skipped by the engine.
    pub unknown_type: u64,
    /// Customer (or anonymous visitor) ids with at least one record of a known type.
    pub customers: u64,
    pub by_source: Vec<NameCount>,
    /// First and last event time; `null` with no record.
    pub span: Option<Span>,
}

/// A stretch of event time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub first: Ts,
    pub last: Ts,
    pub duration_s: f64,
}

/// Malformed input lines, sent to `nudge-dlq`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeadLetters {
    pub total: u64,
    pub by_source: Vec<NameCount>,
    pub by_reason: Vec<NameCount>,
}

/// A count under a name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NameCount {
    pub name: String,
    pub count: u64,
}

/// Where customers get to and where they stop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Funnel {
    /// Customers by journey stage at the end of the input; `null` without the input.
    pub stages: Option<Vec<FunnelRow>>,
    /// Closed sessions by the furthest funnel step they reached, after a first "visit" row.
    pub steps: Vec<FunnelRow>,
    pub exit_pages: ExitPages,
}

/// One row of a funnel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunnelRow {
    pub name: String,
    /// Reached this row or a later one.
    pub reached: u64,
    /// Went no further than this row.
    pub stopped_here: u64,
    /// `reached` over the first row's `reached`.
    pub share_of_first: Option<f64>,
    /// One minus `reached` over the previous row's `reached`; `null` on the first row.
    pub drop_off: Option<f64>,
}

/// The last page of sessions that ended without a purchase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExitPages {
    /// Closed sessions without a purchase.
    pub sessions: u64,
    /// The most frequent exit pages, most sessions first (at most ten).
    pub top: Vec<ExitPage>,
}

/// Sessions that ended on one page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExitPage {
    /// `null` for sessions with no page path.
    pub path: Option<String>,
    pub sessions: u64,
    pub share: Option<f64>,
}

/// Session KPIs over closed sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sessions {
    pub overall: Kpis,
    /// By the session's first device (`unknown` when none was given).
    pub by_device: Vec<GroupKpis>,
    /// By the customer's CRM segment at the session's close (`unknown` without a profile).
    pub by_segment: Vec<GroupKpis>,
}

/// KPIs of one group of sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupKpis {
    pub name: String,
    pub kpis: Kpis,
}

/// The session KPIs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    pub sessions: u64,
    /// Sessions with a single clickstream record.
    pub bounces: u64,
    pub bounce_rate: Option<f64>,
    /// First to last record.
    pub mean_duration_s: Option<f64>,
    /// Median of the durations counted in whole seconds (rounded down).
    pub median_duration_s: Option<f64>,
    /// Page and product views.
    pub page_views: u64,
    pub pages_per_session: Option<f64>,
    /// Sessions with a purchase.
    pub conversions: u64,
    pub conversion_rate: Option<f64>,
    pub revenue: f64,
}

/// Trigger counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Triggers {
    /// Emitted triggers, both arms.
    pub emitted: u64,
    pub suppressed: u64,
    pub by_type: Vec<TypeCounts>,
    pub by_channel: Vec<ChannelCounts>,
    pub suppressed_by_reason: Vec<NameCount>,
}

/// Triggers of one type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeCounts {
    #[serde(rename = "type")]
    pub kind: String,
    /// Sent.
    pub treatment: u64,
    /// Recorded, not sent.
    pub holdout: u64,
    pub suppressed: u64,
}

/// Emitted triggers on one channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelCounts {
    pub channel: String,
    pub treatment: u64,
    pub holdout: u64,
}

/// Whether the triggers earn their keep: each type's treatment against its holdout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    /// How the uplift interval is computed.
    pub method: String,
    pub confidence: f64,
    /// An arm with fewer customers than this gives no uplift estimate.
    pub min_customers_per_arm: u64,
    pub by_type: Vec<TypeEffect>,
}

/// One trigger type's arms and uplift.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeEffect {
    #[serde(rename = "type")]
    pub kind: String,
    pub treatment: ArmEffect,
    pub holdout: ArmEffect,
    pub status: EstimateStatus,
    /// Treatment conversion rate minus holdout conversion rate, with its interval.
    pub uplift: Option<Interval>,
    /// Treatment revenue per customer minus holdout revenue per customer (no interval).
    pub revenue_per_customer_difference: Option<f64>,
}

/// Whether an uplift could be estimated, and if not, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimateStatus {
    Estimated,
    NoTriggers,
    HoldoutTooSmall,
    TreatmentTooSmall,
}

/// A difference of two proportions and its confidence interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub difference: f64,
    pub low: f64,
    pub high: f64,
}

/// The customers of one arm of one trigger type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArmEffect {
    pub triggers: u64,
    /// Customers with at least one trigger of the type in this arm.
    pub customers: u64,
    /// Of those, customers with at least one purchase attributed to such a trigger.
    pub converted: u64,
    pub conversion_rate: Option<f64>,
    /// Attributed purchases, each counted once per customer and type.
    pub purchases: u64,
    pub revenue: f64,
    pub revenue_per_customer: Option<f64>,
    /// From the earliest trigger still in its attribution window to the purchase.
    pub mean_time_to_conversion_s: Option<f64>,
    /// Median of those times in whole seconds (rounded down).
    pub median_time_to_conversion_s: Option<f64>,
}
