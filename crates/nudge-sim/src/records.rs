//! Turning a customer's next step into the record the input topics carry.

use nudge_events::{
    CheckoutStep, ClickEvent, ClickType, CompactString, Consent, CrmEvent, CrmType, EmailEvent,
    EmailType, Order, Page, Product, Profile, Ts,
};

use crate::catalog::{self, money, CATEGORIES, PRODUCTS, SEARCHES, TRAFFIC};
use crate::customer::{Customer, Mail};
use crate::persona::{loyalty_tier, segment};
use crate::session::Act;

/// The id of customer `index`: `c` and at least seven digits.
pub fn customer_id(index: u32) -> String {
    format!("c{index:07}")
}

/// The index of a customer id made by [`customer_id`].
pub(crate) fn customer_index(id: &str) -> Option<u32> {
    let index: u32 = id.strip_prefix('c')?.parse().ok()?;
    (customer_id(index) == id).then_some(index)
}

fn page(path: String, title: &str) -> Page {
    Page {
        path: Some(path.into()),
        title: Some(title.into()),
        referrer: None,
    }
}

fn product(sku: u8, quantity: Option<u8>) -> Product {
    let item = PRODUCTS[sku as usize % PRODUCTS.len()];
    Product {
        sku: Some(item.sku.into()),
        name: Some(item.name.into()),
        category: Some(item.category.into()),
        price: Some(money(item.cents)),
        quantity: quantity.map(u32::from),
    }
}

fn product_page(sku: u8) -> Page {
    let item = PRODUCTS[sku as usize % PRODUCTS.len()];
    page(format!("/p/{}", item.sku), item.name)
}

fn checkout_page(step: CheckoutStep) -> Page {
    match step {
        CheckoutStep::Shipping => page("/checkout/shipping".into(), "Checkout: shipping"),
        CheckoutStep::Payment => page("/checkout/payment".into(), "Checkout: payment"),
        CheckoutStep::Review | CheckoutStep::Other => {
            page("/checkout/review".into(), "Checkout: review")
        }
    }
}

impl Customer {
    fn event_id(&self) -> Option<CompactString> {
        Some(format!("e{:07}-{}", self.index, self.seq).into())
    }

    fn email_address(&self) -> String {
        format!("{}@example.com", customer_id(self.index))
    }

    /// The clickstream record of `act` at `ts`.
    pub(crate) fn click_record(&mut self, act: Act, ts: i64) -> ClickEvent {
        let mut e = ClickEvent {
            event_id: self.event_id(),
            customer_id: Some(customer_id(self.index).into()),
            anonymous_id: Some(format!("a{:016x}", self.traits.cookie).into()),
            kind: ClickType::PageView,
            ts: Ts(ts),
            device: Some(self.device),
            page: None,
            product: None,
            checkout_step: None,
            order: None,
            utm: None,
        };
        match act {
            Act::Land => self.landing(&mut e),
            Act::Login => {
                e.kind = ClickType::Login;
                e.page = Some(page("/account/login".into(), "Sign in"));
            }
            Act::Category(c) => {
                let name = CATEGORIES[c as usize % CATEGORIES.len()];
                e.page = Some(page(format!("/c/{name}"), name));
            }
            Act::Search(s) => {
                let (term, query) = SEARCHES[s as usize % SEARCHES.len()];
                e.kind = ClickType::Search;
                e.page = Some(page(
                    format!("/search?q={query}"),
                    &format!("Search: {term}"),
                ));
            }
            Act::View(sku) => {
                e.kind = ClickType::ProductView;
                e.page = Some(product_page(sku));
                e.product = Some(product(sku, None));
            }
            Act::Add(sku, qty) => {
                e.kind = ClickType::AddToCart;
                e.page = Some(product_page(sku));
                e.product = Some(product(sku, Some(qty)));
            }
            Act::Remove(sku) => {
                let qty = self.take_from_cart(sku);
                e.kind = ClickType::RemoveFromCart;
                e.page = Some(page("/cart".into(), "Your cart"));
                e.product = Some(product(sku, Some(qty)));
            }
            Act::Cart => e.page = Some(page("/cart".into(), "Your cart")),
            Act::Checkout => {
                e.kind = ClickType::CheckoutStarted;
                e.page = Some(page("/checkout".into(), "Checkout"));
            }
            Act::Step(step) => {
                e.kind = ClickType::CheckoutStep;
                e.page = Some(checkout_page(step));
                e.checkout_step = Some(step);
            }
            Act::PayError => {
                e.kind = ClickType::PaymentError;
                e.page = Some(checkout_page(CheckoutStep::Payment));
                e.checkout_step = Some(CheckoutStep::Payment);
            }
            Act::Dwell => e.page = Some(checkout_page(CheckoutStep::Payment)),
            Act::Purchase => {
                e.kind = ClickType::Purchase;
                e.page = Some(page("/checkout/confirmation".into(), "Thank you"));
                e.order = Some(Order {
                    order_id: Some(format!("o{:07}-{}", self.index, self.orders + 1).into()),
                    revenue: Some(money(self.cart_cents())),
                    currency: Some("EUR".into()),
                    items: self
                        .cart
                        .lines()
                        .iter()
                        .map(|&(sku, qty)| product(sku, Some(qty)))
                        .collect(),
                });
            }
        }
        e
    }

    /// The first page of a visit: where it came from and which campaign brought it.
    fn landing(&mut self, e: &mut ClickEvent) {
        let r = &mut self.rng;
        let recovering = self.visit == Some(crate::session::Visit::Recover);
        let mut p = if recovering {
            page("/cart".into(), "Your cart")
        } else {
            match r.below(10) {
                0..5 => page("/".into(), "Home"),
                5..8 => {
                    let name = r.pick(&CATEGORIES);
                    page(format!("/c/{name}"), name)
                }
                _ => page("/sale".into(), "Sale"),
            }
        };
        if recovering {
            p.referrer = Some("https://mail.example.com/".into());
            e.utm = Some(catalog::utm(catalog::REMINDER));
        } else {
            let (referrer, tags, _) = TRAFFIC[r.weighted(&TRAFFIC.map(|(_, _, w)| w))];
            p.referrer = referrer.map(Into::into);
            e.utm = tags.map(catalog::utm);
        }
        e.page = Some(p);
    }

    /// The email engagement record `mail` at `ts`.
    pub(crate) fn email_record(&self, mail: Mail, ts: i64) -> EmailEvent {
        let kind = match mail {
            Mail::Sent => EmailType::Sent,
            Mail::Delivered => EmailType::Delivered,
            Mail::Open => EmailType::Open,
            Mail::Click => EmailType::Click,
            Mail::Unsubscribe => EmailType::Unsubscribe,
            Mail::Bounce => EmailType::Bounce,
            Mail::Complaint => EmailType::Complaint,
        };
        EmailEvent {
            event_id: self.event_id(),
            customer_id: Some(customer_id(self.index).into()),
            kind,
            ts: Ts(ts),
            campaign_id: Some(format!("newsletter-{:04}", self.campaign + 1).into()),
            email: Some(self.email_address().into()),
        }
    }

    /// The profile upsert at `ts`: consent, orders and value as they stand now.
    pub(crate) fn profile_record(&self, ts: i64) -> CrmEvent {
        let t = &self.traits;
        let consent = t.truth.consent;
        CrmEvent {
            event_id: self.event_id(),
            customer_id: Some(customer_id(self.index).into()),
            kind: CrmType::Profile,
            ts: Ts(ts),
            profile: Some(Profile {
                email: Some(self.email_address().into()),
                phone: consent
                    .sms
                    .then(|| format!("+1555{:07}", self.index % 10_000_000).into()),
                timezone: Some(t.zone.name.into()),
                preferred_channel: Some(t.preferred_channel.into()),
                consent: Consent {
                    email: consent.email && !self.unsubscribed,
                    ..consent
                },
                segment: Some(segment(self.orders).into()),
                lifetime_value: Some(money(self.ltv_cents)),
                orders_count: Some(self.orders),
                loyalty_tier: loyalty_tier(self.orders).map(Into::into),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_ids_round_trip() {
        assert_eq!(customer_id(42), "c0000042");
        assert_eq!(customer_index("c0000042"), Some(42));
        assert_eq!(customer_index("c12345678"), Some(12_345_678));
        for bad in ["c42", "42", "c-000042", "x0000042", "c00000042"] {
            assert_eq!(customer_index(bad), None, "{bad}");
        }
    }
}
