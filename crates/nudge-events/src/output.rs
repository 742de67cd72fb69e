//! Output records: triggers, suppressed candidates, session summaries and trigger outcomes.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::input::{CheckoutStep, Device};
use crate::time::Ts;

/// The kinds of trigger the engine detects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerType {
    CartAbandoned,
    CheckoutAbandoned,
    FeedbackRequest,
    BrowseAbandoned,
    ReEngagement,
}

impl TriggerType {
    /// Every trigger type.
    pub const ALL: [TriggerType; 5] = [
        TriggerType::CartAbandoned,
        TriggerType::CheckoutAbandoned,
        TriggerType::FeedbackRequest,
        TriggerType::BrowseAbandoned,
        TriggerType::ReEngagement,
    ];

    /// The snake_case name used in topics, ids and labels.
    pub fn name(self) -> &'static str {
        match self {
            TriggerType::CartAbandoned => "cart_abandoned",
            TriggerType::CheckoutAbandoned => "checkout_abandoned",
            TriggerType::FeedbackRequest => "feedback_request",
            TriggerType::BrowseAbandoned => "browse_abandoned",
            TriggerType::ReEngagement => "re_engagement",
        }
    }
}

/// Treatment triggers are sent; holdout triggers are recorded but not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arm {
    Treatment,
    Holdout,
}

impl Arm {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Arm::Treatment => "treatment",
            Arm::Holdout => "holdout",
        }
    }
}

/// The channel a trigger should be delivered on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Push,
}

impl Channel {
    /// Parses a channel name as CRM profiles write it.
    pub fn parse(s: &str) -> Option<Channel> {
        match s.to_ascii_lowercase().as_str() {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            "push" => Some(Channel::Push),
            _ => None,
        }
    }

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
        }
    }
}

/// What the downstream system is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    CartReminder,
    CheckoutReminder,
    DiscountPrompt,
    FeedbackRequest,
    BrowseReminder,
    ReEngagementPrompt,
}

/// An incentive attached to a trigger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// Always `"discount"` for now.
    pub kind: String,
    pub percent: u32,
}

/// Why a customer stopped: the experiential obstacle or the lapse signal behind a trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Obstacle {
    PaymentError,
    LongDwell,
    Lapsed,
    UnopenedEmails,
}

/// The customer's journey stage; stages only move forward.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    #[default]
    Awareness,
    Consideration,
    Decision,
    Retention,
    Advocacy,
}

impl Stage {
    /// Every stage, in journey order.
    pub const ALL: [Stage; 5] = [
        Stage::Awareness,
        Stage::Consideration,
        Stage::Decision,
        Stage::Retention,
        Stage::Advocacy,
    ];

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Awareness => "awareness",
            Stage::Consideration => "consideration",
            Stage::Decision => "decision",
            Stage::Retention => "retention",
            Stage::Advocacy => "advocacy",
        }
    }
}

/// How far down the purchase funnel a session got.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum FunnelStep {
    #[default]
    None,
    ProductView,
    AddToCart,
    CheckoutStarted,
    Payment,
    Purchase,
}

impl FunnelStep {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            FunnelStep::None => "none",
            FunnelStep::ProductView => "product_view",
            FunnelStep::AddToCart => "add_to_cart",
            FunnelStep::CheckoutStarted => "checkout_started",
            FunnelStep::Payment => "payment",
            FunnelStep::Purchase => "purchase",
        }
    }
}

/// Why a policy stopped a candidate trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressReason {
    /// The customer complained about our messages: nothing goes to them again.
    Complaint,
    /// The customer unsubscribed from email and consented to no other channel.
    Unsubscribed,
    /// Email bounced and no other channel is consented.
    Bounced,
    /// The profile consents to no channel we can reach.
    NoConsent,
    /// No CRM profile yet and `policy.unknown_consent = "suppress"`.
    UnknownConsent,
    /// The customer reached `policy.frequency_cap`.
    FrequencyCap,
}

impl SuppressReason {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            SuppressReason::Complaint => "complaint",
            SuppressReason::Unsubscribed => "unsubscribed",
            SuppressReason::Bounced => "bounced",
            SuppressReason::NoConsent => "no_consent",
            SuppressReason::UnknownConsent => "unknown_consent",
            SuppressReason::FrequencyCap => "frequency_cap",
        }
    }
}

/// One line of the cart as it stood when a trigger fired.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CartLine {
    pub sku: CompactString,
    pub name: Option<CompactString>,
    pub quantity: u32,
    pub price: f64,
}

/// What the downstream system needs to personalise the message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TriggerContext {
    pub cart_items: Vec<CartLine>,
    pub cart_value: f64,
    pub session_id: Option<String>,
    pub last_page: Option<String>,
    pub checkout_step: Option<CheckoutStep>,
    pub segment: Option<String>,
    pub lifetime_value: Option<f64>,
    pub device: Option<Device>,
}

/// A trigger: emitted (to `triggers.<type>`) or suppressed (to `triggers.suppressed`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// Deterministic id of (customer, type, episode): the deduplication key downstream.
    pub trigger_id: String,
    pub customer_id: String,
    #[serde(rename = "type")]
    pub kind: TriggerType,
    /// `None` on suppressed candidates: holdout assignment is the last policy.
    pub arm: Option<Arm>,
    pub due_at: Ts,
    pub channel: Option<Channel>,
    pub action: Action,
    pub offer: Option<Offer>,
    /// Not before this time: later than `due_at` when the due time falls in quiet hours.
    pub send_after: Option<Ts>,
    pub obstacle: Option<Obstacle>,
    pub stage: Stage,
    /// Set on suppressed candidates only.
    pub reason: Option<SuppressReason>,
    pub context: TriggerContext,
}

/// A closed session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub session_id: String,
    pub customer_id: String,
    pub start: Ts,
    /// Time of the session's last record.
    pub end: Ts,
    /// Clickstream records in the session.
    pub events: u32,
    /// `page_view` plus `product_view` records.
    pub page_views: u32,
    pub product_views: u32,
    pub duration_s: f64,
    pub bounce: bool,
    pub entry_path: Option<String>,
    pub exit_path: Option<String>,
    pub furthest_step: FunnelStep,
    pub cart_value: f64,
    pub converted: bool,
    pub revenue: f64,
    pub device: Option<Device>,
    pub segment: Option<String>,
}

/// A purchase attributed to an earlier trigger (sent or holdout).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub trigger_id: String,
    pub customer_id: String,
    #[serde(rename = "type")]
    pub kind: TriggerType,
    pub arm: Arm,
    pub order_id: Option<String>,
    pub revenue: f64,
    pub converted_at: Ts,
    pub seconds_to_conversion: f64,
}

/// Topic of suppressed candidates.
pub const SUPPRESSED_TOPIC: &str = "triggers.suppressed";
/// Topic of session summaries.
pub const SESSIONS_TOPIC: &str = "sessions";
/// Topic of trigger outcomes.
pub const OUTCOMES_TOPIC: &str = "trigger-outcomes";
/// Topic of dead letters.
pub const DLQ_TOPIC: &str = "nudge-dlq";

/// A record the engine emits.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    Trigger(Trigger),
    Suppressed(Trigger),
    Session(SessionSummary),
    Outcome(Outcome),
}

impl Output {
    /// The default topic of this record.
    pub fn topic(&self) -> &'static str {
        match self {
            Output::Trigger(t) => trigger_topic(t.kind),
            Output::Suppressed(_) => SUPPRESSED_TOPIC,
            Output::Session(_) => SESSIONS_TOPIC,
            Output::Outcome(_) => OUTCOMES_TOPIC,
        }
    }

    /// The record key: the customer id.
    pub fn key(&self) -> &str {
        match self {
            Output::Trigger(t) | Output::Suppressed(t) => &t.customer_id,
            Output::Session(s) => &s.customer_id,
            Output::Outcome(o) => &o.customer_id,
        }
    }

    /// Appends the record value as JSON to `buf`.
    pub fn write_json(&self, buf: &mut Vec<u8>) {
        let written = match self {
            Output::Trigger(t) | Output::Suppressed(t) => serde_json::to_writer(&mut *buf, t),
            Output::Session(s) => serde_json::to_writer(&mut *buf, s),
            Output::Outcome(o) => serde_json::to_writer(&mut *buf, o),
        };
        // Plain structs with string keys written to memory: serde_json cannot fail here.
        debug_assert!(written.is_ok());
    }
}

/// `triggers.<type>`: the topic emitted triggers of one type go to.
pub fn trigger_topic(kind: TriggerType) -> &'static str {
    match kind {
        TriggerType::CartAbandoned => "triggers.cart_abandoned",
        TriggerType::CheckoutAbandoned => "triggers.checkout_abandoned",
        TriggerType::FeedbackRequest => "triggers.feedback_request",
        TriggerType::BrowseAbandoned => "triggers.browse_abandoned",
        TriggerType::ReEngagement => "triggers.re_engagement",
    }
}
