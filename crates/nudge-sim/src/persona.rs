//! Who a simulated customer is: persona, profile and habits, drawn from the seed alone so the
//! ground truth of any customer can be recomputed without running the simulation.

use nudge_events::{Consent, Device};

use crate::catalog::{Zone, DEVICES, ZONES};
use crate::rng::{Rng, Stream};

/// The journey a simulated customer keeps following: the ground truth tests compare the
/// engine's triggers against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Persona {
    /// Browses, adds to cart, checks out and buys in the same session; sometimes only looks.
    /// Never leaves a cart behind.
    Buyer,
    /// Adds to cart and leaves; some come back hours or days later and buy.
    CartAbandoner,
    /// Starts checkout and stops at the payment step, the way [`Truth::dropoff`] says.
    CheckoutDropoff,
    /// Views several products per session, never adds to cart.
    Browser,
    /// Active for a few sessions, then silent for 35 to 80 days, then back for a while.
    Lapsing,
    /// Opens an email or two, then unsubscribes; browses and sometimes leaves a cart.
    Unsubscriber,
}

impl Persona {
    /// Every persona, in the order of [`PersonaShares`].
    pub const ALL: [Persona; 6] = [
        Persona::Buyer,
        Persona::CartAbandoner,
        Persona::CheckoutDropoff,
        Persona::Browser,
        Persona::Lapsing,
        Persona::Unsubscriber,
    ];

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Persona::Buyer => "buyer",
            Persona::CartAbandoner => "cart_abandoner",
            Persona::CheckoutDropoff => "checkout_dropoff",
            Persona::Browser => "browser",
            Persona::Lapsing => "lapsing",
            Persona::Unsubscriber => "unsubscriber",
        }
    }
}

/// How a checkout drop-off leaves the payment step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dropoff {
    /// One or two `payment_error` records, then gone.
    PaymentError,
    /// Stays on the payment page for 6 to 15 minutes (a record at the end), then gone.
    LongDwell,
    /// Leaves the payment step at once, with no obstacle recorded.
    Leave,
}

/// Relative weights of the personas; they need not add up to 100.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonaShares {
    /// Weight of [`Persona::Buyer`].
    pub buyer: u32,
    /// Weight of [`Persona::CartAbandoner`].
    pub cart_abandoner: u32,
    /// Weight of [`Persona::CheckoutDropoff`].
    pub checkout_dropoff: u32,
    /// Weight of [`Persona::Browser`].
    pub browser: u32,
    /// Weight of [`Persona::Lapsing`].
    pub lapsing: u32,
    /// Weight of [`Persona::Unsubscriber`].
    pub unsubscriber: u32,
}

impl Default for PersonaShares {
    fn default() -> Self {
        PersonaShares {
            buyer: 30,
            cart_abandoner: 20,
            checkout_dropoff: 10,
            browser: 20,
            lapsing: 10,
            unsubscriber: 10,
        }
    }
}

impl PersonaShares {
    /// The weights in the order of [`Persona::ALL`].
    pub fn weights(&self) -> [u32; 6] {
        [
            self.buyer,
            self.cart_abandoner,
            self.checkout_dropoff,
            self.browser,
            self.lapsing,
            self.unsubscriber,
        ]
    }

    /// The share of `persona` among all customers, from 0 to 1 (0 when every weight is 0).
    pub fn share(&self, persona: Persona) -> f64 {
        let w = self.weights();
        let total: u32 = w.iter().sum();
        let i = Persona::ALL.iter().position(|&p| p == persona).unwrap_or(0);
        if total == 0 {
            0.0
        } else {
            f64::from(w[i]) / f64::from(total)
        }
    }
}

/// What is known in advance about one simulated customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truth {
    /// The journey the customer follows.
    pub persona: Persona,
    /// How a [`Persona::CheckoutDropoff`] leaves checkout; `None` for other personas.
    pub dropoff: Option<Dropoff>,
    /// Whether a CRM profile exists (published at the start, updated after purchases and
    /// unsubscribes). Customers without one are unknown to consent rules.
    pub has_profile: bool,
    /// Marketing consent in the profile (all false without a profile).
    pub consent: Consent,
    /// Whether the customer receives the newsletter: a profile that consents to email.
    pub email_recipient: bool,
    /// False for recipients who never open an email (they lapse on unopened emails).
    pub opens_email: bool,
}

/// A customer's truth plus the habits that only shape the traffic.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Traits {
    pub truth: Truth,
    pub zone: Zone,
    pub device: Device,
    /// Chance of opening one email, in percent.
    pub open_percent: u32,
    /// The campaign (0-based) whose open is followed by an unsubscribe.
    pub unsubscribe_on: u32,
    pub preferred_channel: &'static str,
    /// Orders and lifetime value before the simulation starts.
    pub orders: u32,
    pub ltv_cents: u64,
    /// The analytics cookie behind the clickstream's `anonymous_id`.
    pub cookie: u64,
}

/// Drawing the traits of customers of one simulation.
#[derive(Clone, Debug)]
pub(crate) struct Population {
    pub seed: u64,
    pub shares: [u32; 6],
    pub no_profile_percent: u32,
    pub never_open_percent: u32,
}

impl Population {
    /// The traits of customer `index`: a pure function of the seed and the index.
    pub fn traits(&self, index: u32) -> Traits {
        let mut r = Rng::derive(self.seed, index, Stream::Traits);
        let persona = Persona::ALL[r.weighted(&self.shares)];
        let dropoff = (persona == Persona::CheckoutDropoff).then(|| {
            [Dropoff::PaymentError, Dropoff::LongDwell, Dropoff::Leave][r.weighted(&[40, 40, 20])]
        });
        // Unsubscribing needs a newsletter to leave, hence a profile that consents to email.
        let has_profile = persona == Persona::Unsubscriber || !r.percent(self.no_profile_percent);
        let device = DEVICES[r.weighted(&DEVICES.map(|(_, w)| w))].0;
        let app_user = device == Device::App;
        let consent = if has_profile {
            Consent {
                email: persona == Persona::Unsubscriber || r.percent(85),
                sms: r.percent(30),
                push: r.percent(if app_user { 80 } else { 25 }),
            }
        } else {
            Consent::default()
        };
        let never_opens = persona != Persona::Unsubscriber && r.percent(self.never_open_percent);
        let open_percent = match persona {
            _ if never_opens => 0,
            Persona::Lapsing => r.range(5, 20) as u32,
            _ => r.range(20, 60) as u32,
        };
        let preferred_channel = match r.weighted(&[60, 15, 25]) {
            0 => "email",
            1 => "sms",
            _ => "push",
        };
        let orders = match persona {
            Persona::Buyer => r.range(0, 9) as u32,
            Persona::Lapsing => r.range(1, 4) as u32,
            _ if r.percent(30) => r.range(1, 3) as u32,
            _ => 0,
        };
        let ltv_cents = (0..orders).map(|_| r.range(2_500, 22_000) as u64).sum();
        let email_recipient = consent.email;
        Traits {
            truth: Truth {
                persona,
                dropoff,
                has_profile,
                consent,
                email_recipient,
                opens_email: !email_recipient || open_percent > 0,
            },
            zone: ZONES[r.weighted(&ZONES.map(|(_, w)| w))].0,
            device,
            open_percent,
            unsubscribe_on: r.range(0, 3) as u32,
            preferred_channel,
            orders,
            ltv_cents,
            cookie: r.next_u64(),
        }
    }
}

/// The CRM segment of a customer with this many orders.
pub(crate) fn segment(orders: u32) -> &'static str {
    match orders {
        0 => "new",
        1..=3 => "active",
        _ => "loyal",
    }
}

/// The loyalty tier of a customer with this many orders, if any.
pub(crate) fn loyalty_tier(orders: u32) -> Option<&'static str> {
    match orders {
        0..=1 => None,
        2..=4 => Some("silver"),
        _ => Some("gold"),
    }
}
