//! Per-customer state: what the engine remembers between records. Serializable (postcard) so
//! the runtime can write it to the changelog; kept small (no history beyond what rules need).

use nudge_events::{
    Arm, CartLine, CheckoutStep, CompactString, Device, FunnelStep, Profile, Stage, TriggerType, Ts,
};
use serde::{Deserialize, Serialize};

/// Everything the engine knows about one customer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerState {
    /// Event time of the latest record of any source (for idle eviction).
    pub last_seen: Ts,
    pub session: Option<OpenSession>,
    /// Start of the most recent session, open or closed (its id is derived from it).
    pub last_session_start: Option<Ts>,
    /// Path of the last page seen; empty if none.
    pub last_page: CompactString,
    pub last_device: Option<Device>,
    pub cart: Cart,
    pub checkout: Option<Checkout>,
    pub stage: Stage,
    pub profile: Option<Profile>,
    pub email: EmailEngagement,
    pub contact: ContactHistory,
    pub attributions: Vec<OpenAttribution>,
    /// Purchases seen on the clickstream.
    pub purchases: u32,
    /// Sessions opened, and how many of them on a phone or app.
    pub sessions: u32,
    pub mobile_sessions: u32,
    /// Time of the last clickstream record, while a lapse is still to be detected.
    pub lapse_from: Option<Ts>,
}

/// A session that has not closed yet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OpenSession {
    pub start: Ts,
    pub last: Ts,
    pub events: u32,
    pub page_views: u32,
    pub product_views: u32,
    pub added_to_cart: bool,
    /// Empty if no record of the session had a page.
    pub entry_path: CompactString,
    pub exit_path: CompactString,
    pub furthest: FunnelStep,
    pub converted: bool,
    pub revenue: f64,
    pub device: Option<Device>,
}

/// The cart, and its abandonment episode.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    /// Time of the last add or remove.
    pub last_change: Ts,
    /// Time of the change that opened the current episode (part of the trigger id).
    pub episode_start: Ts,
    /// The current episode's trigger has fired; the next change opens a new episode.
    pub fired: bool,
}

impl Cart {
    /// Sum of quantity times price over the lines (0.0, not -0.0, when empty).
    pub fn value(&self) -> f64 {
        self.lines
            .iter()
            .fold(0.0, |sum, l| sum + l.price * f64::from(l.quantity))
    }

    /// Whether an episode is open and waiting for its due time.
    pub fn episode_open(&self) -> bool {
        !self.lines.is_empty() && !self.fired
    }
}

/// An open checkout episode.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkout {
    pub started: Ts,
    pub step: Option<CheckoutStep>,
    /// When the customer reached the payment step.
    pub payment_at: Option<Ts>,
    pub payment_error: bool,
    /// Time of the episode's latest clickstream record (for dwell).
    pub last_activity: Ts,
}

/// Email signals the policies and the re-engagement detector use.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EmailEngagement {
    /// Emails sent since the last open or click.
    pub unopened: u32,
    pub unsubscribed: bool,
    pub bounced: bool,
    pub complained: bool,
}

/// What was sent (or held out) recently: the input of caps and cooldowns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactHistory {
    /// Due times of triggers inside the frequency-cap window, oldest first.
    pub recent: Vec<Ts>,
    pub last_discount: Option<Ts>,
}

/// A trigger whose attribution window is still open.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenAttribution {
    pub trigger_id: String,
    pub kind: TriggerType,
    pub arm: Arm,
    pub due_at: Ts,
}

impl CustomerState {
    /// Serializes the state for the changelog.
    pub fn to_bytes(&self) -> Result<Vec<u8>, postcard::Error> {
        let mut buf = Vec::new();
        self.encode_into(&mut buf)?;
        Ok(buf)
    }

    /// Appends the serialized state to `buf`: a reused buffer costs no allocation per state.
    pub fn encode_into(&self, buf: &mut Vec<u8>) -> Result<(), postcard::Error> {
        *buf = postcard::to_extend(self, std::mem::take(buf))?;
        Ok(())
    }

    /// Reads a state written by [`CustomerState::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<CustomerState, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}
