//! One simulated customer: three tracks (CRM, email, clickstream), each with the time of its
//! next record, advanced one record at a time so memory per customer stays fixed.

use nudge_events::{Device, Event, Source};

use crate::catalog::DEVICES;
use crate::persona::{Persona, Traits};
use crate::rng::{Rng, Stream};
use crate::session::{self, gap_before, Act, Plan, Visit, DAY, HOUR, MINUTE, SECOND};

/// The time of a track with nothing more to publish.
pub(crate) const NEVER: i64 = i64::MAX;

/// The newsletter goes out every three and a half days, spread over two hours per batch.
const CAMPAIGN_FIRST: i64 = 6 * HOUR;
const CAMPAIGN_EVERY: i64 = 3 * DAY + 12 * HOUR;
const CAMPAIGN_SPREAD: i64 = 2 * HOUR;

/// Most lines a cart holds before its owner stops adding and comes back to buy instead.
pub(crate) const CART_LINES: usize = 8;

/// The next record of the email track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mail {
    Sent,
    Delivered,
    Open,
    Click,
    Unsubscribe,
    Bounce,
    Complaint,
}

/// The cart as the customer sees it: (product, quantity) lines.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Cart {
    lines: [(u8, u8); CART_LINES],
    len: u8,
}

impl Cart {
    /// The lines in the cart.
    pub fn lines(&self) -> &[(u8, u8)] {
        &self.lines[..self.len as usize]
    }

    fn add(&mut self, sku: u8, qty: u8) {
        let len = self.len as usize;
        if let Some(line) = self.lines[..len].iter_mut().find(|l| l.0 == sku) {
            line.1 = line.1.saturating_add(qty);
        } else if len < CART_LINES {
            self.lines[len] = (sku, qty);
            self.len += 1;
        }
    }

    /// Removes a product's line; returns the quantity it had.
    fn remove(&mut self, sku: u8) -> u8 {
        let len = self.len as usize;
        let Some(i) = self.lines[..len].iter().position(|l| l.0 == sku) else {
            return 1;
        };
        let qty = self.lines[i].1;
        self.lines.copy_within(i + 1..len, i);
        self.len -= 1;
        qty
    }

    fn clear(&mut self) {
        self.len = 0;
    }
}

/// A simulated customer and the state of their three tracks.
#[derive(Clone, Debug)]
pub(crate) struct Customer {
    pub index: u32,
    pub traits: Traits,
    pub rng: Rng,
    /// Records published so far (for event ids).
    pub seq: u32,
    pub orders: u32,
    pub ltv_cents: u64,
    pub unsubscribed: bool,
    /// When the next profile upsert is due.
    pub crm_at: i64,
    pub mail_at: i64,
    pub mail: Mail,
    pub campaign: u32,
    pub click_at: i64,
    pub plan: Plan,
    /// The next click of the plan; past its end, the next click starts a new visit.
    pub pos: u8,
    pub visit: Option<Visit>,
    pub device: Device,
    /// Visits a lapsing customer has left before the next long silence.
    pub active_left: u8,
    pub cart: Cart,
}

impl Customer {
    /// Customer `index` of a simulation seeded with `seed` that starts at `start`.
    pub fn new(seed: u64, index: u32, traits: Traits, start: i64) -> Customer {
        let mut rng = Rng::derive(seed, index, Stream::Behaviour);
        let crm_at = if traits.truth.has_profile {
            start + rng.range(0, MINUTE)
        } else {
            NEVER
        };
        let mail_at = if traits.truth.email_recipient {
            campaign_time(start, 0, &mut rng)
        } else {
            NEVER
        };
        let first_visit = start + rng.range(MINUTE, 2 * DAY);
        let mut c = Customer {
            index,
            traits,
            rng,
            seq: 0,
            orders: traits.orders,
            ltv_cents: traits.ltv_cents,
            unsubscribed: false,
            crm_at,
            mail_at,
            mail: Mail::Sent,
            campaign: 0,
            click_at: NEVER,
            plan: Plan::EMPTY,
            pos: 0,
            visit: None,
            device: traits.device,
            active_left: 0,
            cart: Cart::default(),
        };
        c.active_left = c.rng.range(2, 6) as u8;
        c.click_at = c.daytime(first_visit);
        c
    }

    /// The time and source of the customer's next record, if any. Equal times go in replay
    /// order (CRM, email, clickstream).
    pub fn next(&self) -> Option<(i64, Source)> {
        [
            (self.crm_at, Source::Crm),
            (self.mail_at, Source::Email),
            (self.click_at, Source::Clickstream),
        ]
        .into_iter()
        .filter(|&(at, _)| at != NEVER)
        .min()
    }

    /// Publishes the next record of `source` and schedules the one after it.
    pub fn emit(&mut self, source: Source, start: i64) -> Event {
        self.seq = self.seq.wrapping_add(1);
        match source {
            Source::Crm => {
                let ts = std::mem::replace(&mut self.crm_at, NEVER);
                Event::Crm(self.profile_record(ts))
            }
            Source::Email => Event::Email(self.mail_step(start)),
            Source::Clickstream => Event::Click(self.click_step()),
        }
    }

    fn mail_step(&mut self, start: i64) -> nudge_events::EmailEvent {
        let ts = self.mail_at;
        let record = self.email_record(self.mail, ts);
        // Unsubscribers neither bounce nor complain: their way out is the unsubscribe link.
        let unsubscriber = self.traits.truth.persona == Persona::Unsubscriber;
        let unsubscribing = unsubscriber && self.campaign >= self.traits.unsubscribe_on;
        let r = &mut self.rng;
        let next = match self.mail {
            Mail::Sent if !unsubscriber && r.per_mille(3) => {
                Some((Mail::Bounce, r.spread(2 * SECOND, MINUTE)))
            }
            Mail::Sent => Some((Mail::Delivered, r.spread(SECOND, MINUTE))),
            Mail::Delivered if unsubscribing || r.percent(self.traits.open_percent) => {
                Some((Mail::Open, r.spread(MINUTE, 36 * HOUR)))
            }
            Mail::Open if unsubscribing => {
                Some((Mail::Unsubscribe, r.spread(10 * SECOND, 3 * MINUTE)))
            }
            Mail::Open if !unsubscriber && r.per_mille(1) => {
                Some((Mail::Complaint, r.spread(10 * SECOND, 10 * MINUTE)))
            }
            Mail::Open if r.percent(30) => Some((Mail::Click, r.spread(5 * SECOND, 5 * MINUTE))),
            Mail::Delivered | Mail::Open | Mail::Click => {
                self.campaign += 1;
                let at = campaign_time(start, self.campaign, r).max(ts + SECOND);
                Some((Mail::Sent, at - ts))
            }
            Mail::Unsubscribe => {
                self.unsubscribed = true;
                if self.traits.truth.has_profile {
                    // The CRM hears of the unsubscribe a little later and withdraws consent.
                    let sync = ts + r.spread(MINUTE, 20 * MINUTE);
                    self.crm_at = self.crm_at.min(sync);
                }
                None
            }
            Mail::Bounce | Mail::Complaint => None,
        };
        match next {
            Some((mail, after)) => {
                self.mail = mail;
                self.mail_at = ts + after;
            }
            None => self.mail_at = NEVER,
        }
        record
    }

    fn click_step(&mut self) -> nudge_events::ClickEvent {
        let ts = self.click_at;
        if self.pos as usize >= self.plan.len() {
            self.start_visit();
        }
        let act = self.plan.get(self.pos as usize).unwrap_or(Act::Land);
        let record = self.click_record(act, ts);
        match act {
            Act::Add(sku, qty) => self.cart.add(sku, qty),
            Act::Purchase => {
                self.orders += 1;
                self.ltv_cents += self.cart_cents();
                self.cart.clear();
                if self.traits.truth.has_profile {
                    let sync = ts + self.rng.spread(MINUTE, 15 * MINUTE);
                    self.crm_at = self.crm_at.min(sync);
                }
            }
            _ => {}
        }
        self.pos += 1;
        self.click_at = match self.plan.get(self.pos as usize) {
            Some(next) => ts + gap_before(next, &mut self.rng),
            None => self.after_visit(ts),
        };
        record
    }

    /// Removes a product from the cart for a `remove_from_cart` record; returns its quantity.
    pub fn take_from_cart(&mut self, sku: u8) -> u8 {
        self.cart.remove(sku)
    }

    /// The cart's value in cents.
    pub fn cart_cents(&self) -> u64 {
        let price = |sku: u8| crate::catalog::PRODUCTS[sku as usize].cents;
        self.cart
            .lines()
            .iter()
            .map(|&(sku, qty)| price(sku) * u64::from(qty))
            .sum()
    }

    fn start_visit(&mut self) {
        let t = self.traits.truth;
        let cart_empty = self.cart.lines().is_empty();
        let mut kind =
            session::next_visit(t.persona, t.dropoff, self.visit, cart_empty, &mut self.rng);
        if kind == Visit::Abandon && self.cart.lines().len() + 3 > CART_LINES {
            kind = Visit::Recover;
        }
        self.plan = Plan::build(kind, cart_empty, &mut self.rng);
        self.pos = 0;
        self.visit = Some(kind);
        self.device = if self.rng.percent(80) {
            self.traits.device
        } else {
            DEVICES[self.rng.below(DEVICES.len() as u64) as usize].0
        };
    }

    /// When the visit after the one that ended at `end` starts.
    fn after_visit(&mut self, end: i64) -> i64 {
        let persona = self.traits.truth.persona;
        let kind = self.visit.unwrap_or(Visit::Light);
        let gap = if persona == Persona::Lapsing {
            self.active_left = self.active_left.saturating_sub(1);
            if self.active_left == 0 {
                self.active_left = self.rng.range(2, 6) as u8;
                session::lapse_gap(&mut self.rng)
            } else {
                session::gap_after(persona, kind, &mut self.rng)
            }
        } else {
            session::gap_after(persona, kind, &mut self.rng)
        };
        self.daytime(end + gap)
    }

    /// Most visits that would start at night in the customer's time zone start in the
    /// morning instead.
    fn daytime(&mut self, at: i64) -> i64 {
        let local = at + self.traits.zone.offset_min * MINUTE;
        let hour = local.rem_euclid(DAY) / HOUR;
        if hour < 7 && self.rng.percent(80) {
            at + (7 - hour) * HOUR + self.rng.range(0, 3 * HOUR)
        } else {
            at
        }
    }
}

/// When campaign `k` reaches this customer.
fn campaign_time(start: i64, k: u32, r: &mut Rng) -> i64 {
    start + CAMPAIGN_FIRST + i64::from(k) * CAMPAIGN_EVERY + r.range(0, CAMPAIGN_SPREAD)
}
