//! Sessions: what kind of visit a persona makes next, the clicks it consists of, and the gaps
//! between clicks and between visits.

use nudge_events::CheckoutStep;

use crate::catalog::{CATEGORIES, PRODUCTS, SEARCHES};
use crate::persona::{Dropoff, Persona};
use crate::rng::Rng;

pub(crate) const SECOND: i64 = 1_000;
pub(crate) const MINUTE: i64 = 60 * SECOND;
pub(crate) const HOUR: i64 = 60 * MINUTE;
pub(crate) const DAY: i64 = 24 * HOUR;

/// One click of a session plan. Product and category arguments index the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Act {
    /// The landing page, with referrer and maybe campaign tags.
    Land,
    Login,
    Category(u8),
    Search(u8),
    View(u8),
    Add(u8, u8),
    Remove(u8),
    /// The cart page.
    Cart,
    Checkout,
    Step(CheckoutStep),
    PayError,
    /// Back on the payment page after a long wait.
    Dwell,
    Purchase,
}

/// The kind of visit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Visit {
    /// A quick look: at most two product views.
    Light,
    /// Three or more product views, no cart.
    Browse,
    /// Views, cart, checkout and purchase.
    Buy,
    /// Views and cart, then gone.
    Abandon,
    /// Views, cart and checkout up to the payment step, then gone.
    Drop(Dropoff),
    /// Back through a reminder to buy what is already in the cart.
    Recover,
}

/// Longest plan: landing, login, a search, five views, cart and checkout with their steps.
const MAX_ACTS: usize = 20;

/// The clicks of one session, built when it starts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    acts: [Act; MAX_ACTS],
    len: u8,
}

impl Plan {
    /// A plan with no clicks.
    pub const EMPTY: Plan = Plan {
        acts: [Act::Land; MAX_ACTS],
        len: 0,
    };

    fn push(&mut self, act: Act) {
        debug_assert!((self.len as usize) < MAX_ACTS, "session plan overflow");
        if let Some(slot) = self.acts.get_mut(self.len as usize) {
            *slot = act;
            self.len += 1;
        }
    }

    /// Number of clicks.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// The click at `i`.
    pub fn get(&self, i: usize) -> Option<Act> {
        self.acts[..self.len()].get(i).copied()
    }

    /// The plan of a visit of `kind`; `cart_empty` turns a recovery into a purchase.
    pub fn build(kind: Visit, cart_empty: bool, r: &mut Rng) -> Plan {
        let mut p = Plan::EMPTY;
        p.push(Act::Land);
        if matches!(kind, Visit::Buy | Visit::Recover) && r.percent(40) {
            p.push(Act::Login);
        }
        match kind {
            Visit::Light => p.views(r.range(0, 3), r),
            Visit::Browse => {
                if r.percent(40) {
                    p.push(Act::Search(r.below(SEARCHES.len() as u64) as u8));
                } else if r.percent(50) {
                    p.push(Act::Category(r.below(CATEGORIES.len() as u64) as u8));
                }
                p.views(r.range(3, 6), r);
            }
            Visit::Buy => {
                p.add_to_cart(r.range(1, 3), r);
                p.checkout(r);
                p.push(Act::Step(CheckoutStep::Review));
                p.push(Act::Purchase);
            }
            Visit::Recover if !cart_empty => {
                p.push(Act::Cart);
                p.checkout(r);
                p.push(Act::Step(CheckoutStep::Review));
                p.push(Act::Purchase);
            }
            Visit::Recover => return Plan::build(Visit::Buy, true, r),
            Visit::Abandon => {
                let lines = r.range(1, 4);
                p.add_to_cart(lines, r);
                if r.percent(50) {
                    p.push(Act::Cart);
                }
                if lines > 1 && r.percent(15) {
                    if let Some(Act::Add(sku, _)) = p.acts[..p.len()]
                        .iter()
                        .copied()
                        .find(|a| matches!(a, Act::Add(..)))
                    {
                        p.push(Act::Remove(sku));
                    }
                }
            }
            Visit::Drop(how) => {
                p.add_to_cart(r.range(1, 3), r);
                p.checkout(r);
                match how {
                    Dropoff::PaymentError => {
                        p.push(Act::PayError);
                        if r.percent(40) {
                            p.push(Act::PayError);
                        }
                    }
                    Dropoff::LongDwell => p.push(Act::Dwell),
                    Dropoff::Leave => {}
                }
            }
        }
        p
    }

    fn views(&mut self, n: i64, r: &mut Rng) {
        for _ in 0..n {
            self.push(Act::View(product(r)));
        }
    }

    /// `lines` distinct products, each viewed (maybe twice) before it goes into the cart.
    fn add_to_cart(&mut self, lines: i64, r: &mut Rng) {
        let mut added: [u8; 3] = [u8::MAX; 3];
        for i in 0..(lines as usize).min(added.len()) {
            let mut sku = product(r);
            while added.contains(&sku) {
                sku = (sku + 1) % PRODUCTS.len() as u8;
            }
            added[i] = sku;
            if r.percent(30) {
                self.push(Act::View(product(r)));
            }
            self.push(Act::View(sku));
            let qty = if r.percent(85) { 1 } else { 2 };
            self.push(Act::Add(sku, qty));
        }
    }

    fn checkout(&mut self, r: &mut Rng) {
        if r.percent(70) {
            self.push(Act::Cart);
        }
        self.push(Act::Checkout);
        self.push(Act::Step(CheckoutStep::Shipping));
        self.push(Act::Step(CheckoutStep::Payment));
    }
}

fn product(r: &mut Rng) -> u8 {
    r.below(PRODUCTS.len() as u64) as u8
}

/// Time from the previous click to `act`.
pub(crate) fn gap_before(act: Act, r: &mut Rng) -> i64 {
    match act {
        Act::Land => 0,
        Act::Login => r.spread(3 * SECOND, 20 * SECOND),
        Act::Category(_) | Act::Search(_) => r.spread(5 * SECOND, MINUTE),
        Act::View(_) => r.spread(8 * SECOND, 3 * MINUTE),
        Act::Add(..) => r.spread(5 * SECOND, 90 * SECOND),
        Act::Remove(_) => r.spread(10 * SECOND, 2 * MINUTE),
        Act::Cart => r.spread(3 * SECOND, 40 * SECOND),
        Act::Checkout => r.spread(5 * SECOND, MINUTE),
        Act::Step(CheckoutStep::Payment) => r.spread(20 * SECOND, 3 * MINUTE),
        Act::Step(_) => r.spread(10 * SECOND, 2 * MINUTE),
        Act::PayError => r.spread(15 * SECOND, 2 * MINUTE),
        // Past the engine's default long-dwell threshold of 5 minutes, and well inside its
        // 30-minute checkout window so the episode is still open.
        Act::Dwell => r.range(6 * MINUTE, 15 * MINUTE),
        Act::Purchase => r.spread(5 * SECOND, MINUTE),
    }
}

/// What a customer of `persona` does on their next visit, given the last visit's kind.
pub(crate) fn next_visit(
    persona: Persona,
    dropoff: Option<Dropoff>,
    last: Option<Visit>,
    cart_empty: bool,
    r: &mut Rng,
) -> Visit {
    let first = last.is_none();
    let drop = Visit::Drop(dropoff.unwrap_or(Dropoff::Leave));
    match persona {
        Persona::Buyer if first || r.percent(55) => Visit::Buy,
        Persona::Buyer => Visit::Light,
        Persona::CartAbandoner if first => Visit::Abandon,
        Persona::CheckoutDropoff if first => drop,
        Persona::CartAbandoner | Persona::CheckoutDropoff => {
            let again = if persona == Persona::CartAbandoner {
                Visit::Abandon
            } else {
                drop
            };
            match (cart_empty, r.below(100)) {
                (false, 0..35) => Visit::Recover,
                (false, 35..70) | (true, 0..60) => again,
                _ => Visit::Light,
            }
        }
        Persona::Browser if r.percent(70) => Visit::Browse,
        Persona::Browser => Visit::Light,
        Persona::Lapsing => match r.below(100) {
            0..50 => Visit::Light,
            50..80 => Visit::Buy,
            _ => Visit::Browse,
        },
        Persona::Unsubscriber => match r.below(100) {
            0..40 => Visit::Light,
            40..70 => Visit::Browse,
            _ => Visit::Abandon,
        },
    }
}

/// Time from the end of a visit of `kind` to the start of the next visit. Only lapsing
/// customers (whose breaks [`lapse_gap`] draws) stay away for 30 days or more.
pub(crate) fn gap_after(persona: Persona, kind: Visit, r: &mut Rng) -> i64 {
    match (persona, kind) {
        // Soon enough that a reminder sent an hour after the cart change can win them back
        // inside the attribution window, late enough that the reminder goes out first.
        (_, Visit::Abandon | Visit::Drop(_)) => r.spread(3 * HOUR, 3 * DAY),
        (Persona::Lapsing, _) => r.spread(8 * HOUR, 3 * DAY),
        (Persona::Browser, _) => r.spread(4 * HOUR, 8 * DAY),
        _ => r.spread(6 * HOUR, 12 * DAY),
    }
}

/// A lapsing customer's silence after an active phase.
pub(crate) fn lapse_gap(r: &mut Rng) -> i64 {
    r.range(35 * DAY, 80 * DAY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    fn acts(p: &Plan) -> Vec<Act> {
        (0..p.len()).filter_map(|i| p.get(i)).collect()
    }

    #[test]
    fn plans_follow_their_visit_kind() {
        let mut r = Rng::derive(1, 1, Stream::Behaviour);
        for _ in 0..2_000 {
            let views = |p: &Plan| acts(p).iter().filter(|a| matches!(a, Act::View(_))).count();
            let light = Plan::build(Visit::Light, true, &mut r);
            assert!(views(&light) <= 2);
            let browse = Plan::build(Visit::Browse, true, &mut r);
            assert!(views(&browse) >= 3);
            assert!(!acts(&browse).iter().any(|a| matches!(a, Act::Add(..))));
            let buy = acts(&Plan::build(Visit::Buy, true, &mut r));
            assert_eq!(buy.last(), Some(&Act::Purchase));
            let drop = acts(&Plan::build(Visit::Drop(Dropoff::LongDwell), true, &mut r));
            assert_eq!(drop.last(), Some(&Act::Dwell));
            let abandon = acts(&Plan::build(Visit::Abandon, true, &mut r));
            assert!(abandon.iter().any(|a| matches!(a, Act::Add(..))));
            assert!(!abandon.contains(&Act::Checkout));
        }
    }
}
