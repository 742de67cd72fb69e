//! Builders for engine tests: records at readable times, and a replay-style driver.
#![allow(dead_code)]

use nudge_engine::{Engine, EngineConfig};
use nudge_events::*;

/// 2026-11-30T00:00:00Z.
pub const DAY0: i64 = 1_795_996_800_000;
pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 60 * MIN;
pub const DAY: i64 = 24 * HOUR;

/// "HH:MM" or "HH:MM:SS" on 2026-11-30, UTC.
pub fn at(hms: &str) -> Ts {
    let parts: Vec<i64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    let secs = parts[0] * 3600 + parts[1] * 60 + parts.get(2).copied().unwrap_or(0);
    Ts(DAY0 + secs * 1000)
}

pub fn click(customer: &str, kind: ClickType, ts: Ts) -> ClickEvent {
    ClickEvent::new(customer, kind, ts)
}

pub trait ClickExt {
    fn sku(self, sku: &str, price: f64, quantity: u32) -> Self;
    fn path(self, path: &str) -> Self;
    fn device(self, device: Device) -> Self;
    fn step(self, step: CheckoutStep) -> Self;
    fn revenue(self, revenue: f64) -> Self;
    fn ev(self) -> Event;
}

impl ClickExt for ClickEvent {
    fn sku(mut self, sku: &str, price: f64, quantity: u32) -> Self {
        self.product = Some(Product {
            sku: Some(sku.into()),
            name: Some(format!("product {sku}").into()),
            category: None,
            price: Some(price),
            quantity: Some(quantity),
        });
        self
    }
    fn path(mut self, path: &str) -> Self {
        self.page = Some(Page {
            path: Some(path.into()),
            ..Page::default()
        });
        self
    }
    fn device(mut self, device: Device) -> Self {
        self.device = Some(device);
        self
    }
    fn step(mut self, step: CheckoutStep) -> Self {
        self.checkout_step = Some(step);
        self
    }
    fn revenue(mut self, revenue: f64) -> Self {
        self.order = Some(Order {
            order_id: Some("o1".into()),
            revenue: Some(revenue),
            currency: Some("EUR".into()),
            items: Vec::new(),
        });
        self
    }
    fn ev(self) -> Event {
        Event::Click(self)
    }
}

pub fn email(customer: &str, kind: EmailType, ts: Ts) -> Event {
    Event::Email(EmailEvent {
        event_id: None,
        customer_id: Some(customer.into()),
        kind,
        ts,
        campaign_id: Some("camp".into()),
        email: None,
    })
}

/// A profile consenting to email only, in UTC, with no orders.
pub fn base_profile() -> Profile {
    Profile {
        email: Some("x@example.com".into()),
        timezone: Some("UTC".into()),
        consent: Consent {
            email: true,
            sms: false,
            push: false,
        },
        ..Profile::default()
    }
}

pub fn crm(customer: &str, ts: Ts, profile: Profile) -> Event {
    Event::Crm(CrmEvent {
        event_id: None,
        customer_id: Some(customer.into()),
        kind: CrmType::Profile,
        ts,
        profile: Some(profile),
    })
}

/// A config with no holdout and no quiet hours, so tests see plain treatment triggers unless
/// they turn those on.
pub fn plain_config() -> EngineConfig {
    let mut cfg = EngineConfig::default();
    cfg.policy.holdout_percent = 0;
    cfg.policy.quiet_hours.enabled = false;
    cfg
}

/// Drives an engine the way `nudge replay` does: the watermark moves to each record's time
/// before the record is applied.
pub struct Run {
    pub engine: Engine,
    pub out: Vec<Output>,
}

impl Run {
    pub fn new(cfg: EngineConfig) -> Run {
        Run {
            engine: Engine::new(cfg),
            out: Vec::new(),
        }
    }

    pub fn feed(&mut self, events: impl IntoIterator<Item = Event>) -> &mut Self {
        for e in events {
            self.engine.advance(e.ts(), &mut self.out);
            self.engine.apply(&e, &mut self.out);
        }
        self
    }

    pub fn advance(&mut self, ts: Ts) -> &mut Self {
        self.engine.advance(ts, &mut self.out);
        self
    }

    pub fn triggers(&self) -> Vec<&Trigger> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Trigger(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    pub fn suppressed(&self) -> Vec<&Trigger> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Suppressed(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    pub fn sessions(&self) -> Vec<&SessionSummary> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Session(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    pub fn outcomes(&self) -> Vec<&Outcome> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Outcome(x) => Some(x),
                _ => None,
            })
            .collect()
    }
}
