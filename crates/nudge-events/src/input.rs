//! Input records of the three topics: clickstream, email engagement and CRM profiles.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::time::Ts;

/// Which input topic a record came from. The order is the replay tie-break for equal
/// timestamps: profiles first, then email, then clickstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Crm,
    Email,
    Clickstream,
}

impl Source {
    /// Every source, in tie-break order.
    pub const ALL: [Source; 3] = [Source::Crm, Source::Email, Source::Clickstream];

    /// The default topic (and replay file stem) of this source.
    pub fn name(self) -> &'static str {
        match self {
            Source::Crm => "crm",
            Source::Email => "email",
            Source::Clickstream => "clickstream",
        }
    }
}

/// Clickstream event types. Unknown types decode as `Unknown` and are skipped by the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClickType {
    PageView,
    ProductView,
    Search,
    AddToCart,
    RemoveFromCart,
    CheckoutStarted,
    CheckoutStep,
    PaymentError,
    Purchase,
    Login,
    Identify,
    #[serde(other)]
    Unknown,
}

/// The device a clickstream record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Mobile,
    Desktop,
    Tablet,
    App,
    #[serde(other)]
    Other,
}

impl Device {
    /// Phones and apps: customers mostly seen here are reached by sms or push first.
    pub fn is_mobile(self) -> bool {
        matches!(self, Device::Mobile | Device::App)
    }
}

/// Steps of the checkout funnel after `checkout_started`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutStep {
    Shipping,
    Payment,
    Review,
    #[serde(other)]
    Other,
}

/// The page a clickstream record was on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub path: Option<CompactString>,
    pub title: Option<CompactString>,
    pub referrer: Option<CompactString>,
}

/// A product, as viewed, added to or removed from a cart, or bought.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub sku: Option<CompactString>,
    pub name: Option<CompactString>,
    pub category: Option<CompactString>,
    pub price: Option<f64>,
    pub quantity: Option<u32>,
}

/// The order a purchase completed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: Option<CompactString>,
    pub revenue: Option<f64>,
    pub currency: Option<CompactString>,
    #[serde(default)]
    pub items: Vec<Product>,
}

/// Campaign parameters of the landing page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Utm {
    pub source: Option<CompactString>,
    pub medium: Option<CompactString>,
    pub campaign: Option<CompactString>,
    pub term: Option<CompactString>,
    pub content: Option<CompactString>,
}

/// One clickstream record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClickEvent {
    #[serde(default)]
    pub event_id: Option<CompactString>,
    #[serde(default)]
    pub customer_id: Option<CompactString>,
    #[serde(default)]
    pub anonymous_id: Option<CompactString>,
    #[serde(rename = "type")]
    pub kind: ClickType,
    pub ts: Ts,
    #[serde(default)]
    pub device: Option<Device>,
    #[serde(default)]
    pub page: Option<Page>,
    #[serde(default)]
    pub product: Option<Product>,
    #[serde(default)]
    pub checkout_step: Option<CheckoutStep>,
    #[serde(default)]
    pub order: Option<Order>,
    #[serde(default)]
    pub utm: Option<Utm>,
}

impl ClickEvent {
    /// A record of `kind` at `ts` for `customer`, every optional field empty.
    pub fn new(customer: &str, kind: ClickType, ts: Ts) -> ClickEvent {
        ClickEvent {
            event_id: None,
            customer_id: Some(customer.into()),
            anonymous_id: None,
            kind,
            ts,
            device: None,
            page: None,
            product: None,
            checkout_step: None,
            order: None,
            utm: None,
        }
    }
}

/// Email engagement event types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailType {
    Sent,
    Delivered,
    Open,
    Click,
    Bounce,
    Unsubscribe,
    Complaint,
    #[serde(other)]
    Unknown,
}

/// One email engagement record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmailEvent {
    #[serde(default)]
    pub event_id: Option<CompactString>,
    #[serde(default)]
    pub customer_id: Option<CompactString>,
    #[serde(rename = "type")]
    pub kind: EmailType,
    pub ts: Ts,
    #[serde(default)]
    pub campaign_id: Option<CompactString>,
    #[serde(default)]
    pub email: Option<CompactString>,
}

/// CRM record types: only profile upserts so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrmType {
    Profile,
    #[serde(other)]
    Unknown,
}

/// Marketing consent per channel. A channel not named is not consented.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    #[serde(default)]
    pub email: bool,
    #[serde(default)]
    pub sms: bool,
    #[serde(default)]
    pub push: bool,
}

/// A customer's CRM profile, as upserted by the CRM topic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub email: Option<CompactString>,
    #[serde(default)]
    pub phone: Option<CompactString>,
    #[serde(default)]
    pub timezone: Option<CompactString>,
    #[serde(default)]
    pub preferred_channel: Option<CompactString>,
    #[serde(default)]
    pub consent: Consent,
    #[serde(default)]
    pub segment: Option<CompactString>,
    #[serde(default)]
    pub lifetime_value: Option<f64>,
    #[serde(default)]
    pub orders_count: Option<u32>,
    #[serde(default)]
    pub loyalty_tier: Option<CompactString>,
}

/// One CRM record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrmEvent {
    #[serde(default)]
    pub event_id: Option<CompactString>,
    #[serde(default)]
    pub customer_id: Option<CompactString>,
    #[serde(rename = "type")]
    pub kind: CrmType,
    pub ts: Ts,
    #[serde(default)]
    pub profile: Option<Profile>,
}

/// A decoded input record of any source.
#[derive(Clone, Debug, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "most records are clicks, the large variant: boxing would allocate per record and save nothing"
)]
pub enum Event {
    Click(ClickEvent),
    Email(EmailEvent),
    Crm(CrmEvent),
}

impl Event {
    /// The input topic this record belongs to.
    pub fn source(&self) -> Source {
        match self {
            Event::Click(_) => Source::Clickstream,
            Event::Email(_) => Source::Email,
            Event::Crm(_) => Source::Crm,
        }
    }

    /// Event time.
    pub fn ts(&self) -> Ts {
        match self {
            Event::Click(e) => e.ts,
            Event::Email(e) => e.ts,
            Event::Crm(e) => e.ts,
        }
    }

    /// The key the record's state lives under: the customer id, or the anonymous id of a
    /// clickstream visitor not yet identified. Decoders guarantee one of them is non-empty.
    pub fn key(&self) -> &str {
        let id = match self {
            Event::Click(e) => e.customer_id.as_deref().or(e.anonymous_id.as_deref()),
            Event::Email(e) => e.customer_id.as_deref(),
            Event::Crm(e) => e.customer_id.as_deref(),
        };
        id.unwrap_or_default()
    }

    /// The record's type as a metric label; `"unknown"` for types this version does not know.
    pub fn type_label(&self) -> &'static str {
        match self {
            Event::Click(e) => click_type_label(e.kind),
            Event::Email(e) => match e.kind {
                EmailType::Sent => "sent",
                EmailType::Delivered => "delivered",
                EmailType::Open => "open",
                EmailType::Click => "click",
                EmailType::Bounce => "bounce",
                EmailType::Unsubscribe => "unsubscribe",
                EmailType::Complaint => "complaint",
                EmailType::Unknown => "unknown",
            },
            Event::Crm(e) => match e.kind {
                CrmType::Profile => "profile",
                CrmType::Unknown => "unknown",
            },
        }
    }

    /// Whether the record's type is unknown to this version (counted and skipped).
    pub fn is_unknown_type(&self) -> bool {
        self.type_label() == "unknown"
    }
}

fn click_type_label(kind: ClickType) -> &'static str {
    match kind {
        ClickType::PageView => "page_view",
        ClickType::ProductView => "product_view",
        ClickType::Search => "search",
        ClickType::AddToCart => "add_to_cart",
        ClickType::RemoveFromCart => "remove_from_cart",
        ClickType::CheckoutStarted => "checkout_started",
        ClickType::CheckoutStep => "checkout_step",
        ClickType::PaymentError => "payment_error",
        ClickType::Purchase => "purchase",
        ClickType::Login => "login",
        ClickType::Identify => "identify",
        ClickType::Unknown => "unknown",
    }
}
