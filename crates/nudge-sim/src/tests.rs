//! Properties of the whole stream: determinism, order, round trips, shares and personas.

use std::collections::{HashMap, HashSet};

use nudge_events::{json, ClickType, EmailType, Event, Source, Ts};

use crate::session::{DAY, HOUR, MINUTE};
use crate::{Dropoff, Persona, Sim, SimConfig};

fn config(seed: u64, customers: u32) -> SimConfig {
    SimConfig {
        seed,
        customers,
        ..SimConfig::default()
    }
}

fn lines(sim: &mut Sim, n: usize) -> Vec<String> {
    sim.by_ref()
        .take(n)
        .map(|(_, e)| crate::to_json(&e))
        .collect()
}

#[test]
fn same_seed_gives_identical_output() {
    let a = lines(&mut Sim::new(config(42, 2_000)), 20_000);
    let b = lines(&mut Sim::new(config(42, 2_000)), 20_000);
    assert_eq!(a, b);
    let c = lines(&mut Sim::new(config(43, 2_000)), 20_000);
    assert_ne!(a, c);
}

#[test]
fn records_come_in_event_time_then_source_order() {
    let cfg = config(7, 5_000);
    let start = cfg.start;
    let mut sim = Sim::new(cfg);
    let mut last = (start, Source::Crm);
    for (source, event) in sim.by_ref().take(200_000) {
        assert_eq!(event.source(), source);
        let key = (event.ts(), source);
        assert!(key >= last, "{key:?} after {last:?}");
        last = key;
    }
    assert_eq!(sim.emitted(), 200_000);
}

#[test]
fn every_rendered_line_decodes_to_an_equal_record() {
    let mut sim = Sim::new(config(3, 3_000));
    let mut buf = Vec::new();
    for (source, event) in sim.by_ref().take(100_000) {
        buf.clear();
        crate::write_json(&event, &mut buf);
        let decoded = json::decode(source, &buf)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&buf)));
        assert_eq!(decoded, event);
        assert_eq!(crate::to_json(&event).as_bytes(), &buf[..]);
    }
}

#[test]
fn persona_shares_are_close_to_the_configured_weights() {
    let n = 20_000;
    let cfg = config(11, n);
    let shares = cfg.shares.clone();
    let sim = Sim::new(cfg);
    let mut counts: HashMap<Persona, u32> = HashMap::new();
    let mut without_profile = 0;
    for i in 0..n {
        let truth = sim.truth(&Sim::customer_id(i)).unwrap();
        *counts.entry(truth.persona).or_default() += 1;
        without_profile += u32::from(!truth.has_profile);
        assert_eq!(
            truth.dropoff.is_some(),
            truth.persona == Persona::CheckoutDropoff
        );
    }
    for p in Persona::ALL {
        let got = f64::from(counts[&p]) / f64::from(n);
        let want = shares.share(p);
        assert!((got - want).abs() < 0.015, "{}: {got} vs {want}", p.name());
    }
    // 5% of the 90% that are not unsubscribers.
    let no_profile = f64::from(without_profile) / f64::from(n);
    assert!((0.035..0.055).contains(&no_profile), "{no_profile}");
    assert_eq!(sim.persona("c9999999"), None);
    assert_eq!(sim.persona("bob"), None);
}

#[test]
fn until_stops_before_the_end_time_and_keeps_the_next_record() {
    let cfg = config(5, 500);
    let end = cfg.start.plus(DAY);
    let mut sim = Sim::new(cfg);
    let before: Vec<_> = sim.until(end).collect();
    assert!(!before.is_empty());
    assert!(before.iter().all(|(_, e)| e.ts() < end));
    let next = sim.peek_ts().unwrap();
    assert!(next >= end);
    assert_eq!(sim.next().unwrap().1.ts(), next);
}

#[test]
fn a_customers_records_do_not_depend_on_the_population_size() {
    let of = |customers: u32| -> Vec<String> {
        let cfg = config(9, customers);
        let end = cfg.start.plus(10 * DAY);
        Sim::new(cfg)
            .until(end)
            .filter(|(_, e)| e.key() == "c0000003")
            .map(|(_, e)| crate::to_json(&e))
            .collect()
    };
    let small = of(10);
    assert!(small.len() > 10);
    assert_eq!(small, of(1_000));
}

/// Every customer's records over the first `days` days, by customer.
fn journeys(customers: u32, days: i64) -> (Sim, Ts, HashMap<String, Vec<Event>>) {
    let cfg = config(21, customers);
    let end = cfg.start.plus(days * DAY);
    let mut sim = Sim::new(cfg);
    let mut by_customer: HashMap<String, Vec<Event>> = HashMap::new();
    for (_, e) in sim.until(end) {
        by_customer.entry(e.key().to_owned()).or_default().push(e);
    }
    (sim, end, by_customer)
}

fn clicks(events: &[Event]) -> impl Iterator<Item = &nudge_events::ClickEvent> {
    events.iter().filter_map(|e| match e {
        Event::Click(c) => Some(c),
        _ => None,
    })
}

#[test]
fn personas_behave_as_their_ground_truth_says() {
    let (sim, end, by_customer) = journeys(600, 120);
    let mut seen: HashSet<Persona> = HashSet::new();
    for (id, events) in &by_customer {
        let truth = sim.truth(id).unwrap();
        seen.insert(truth.persona);
        let kinds: Vec<ClickType> = clicks(events).map(|c| c.kind).collect();
        let has = |k: ClickType| kinds.contains(&k);
        let crm = events.iter().any(|e| matches!(e, Event::Crm(_)));
        assert_eq!(crm, truth.has_profile, "{id}");
        match truth.persona {
            Persona::Buyer => {
                assert!(has(ClickType::Purchase), "{id}");
                // Every add to cart is followed by a purchase in the same visit.
                let c: Vec<_> = clicks(events).collect();
                for (i, add) in c.iter().enumerate() {
                    let ts = add.ts.millis();
                    if add.kind != ClickType::AddToCart || ts > end.millis() - HOUR {
                        continue;
                    }
                    let bought = c[i..]
                        .iter()
                        .any(|e| e.kind == ClickType::Purchase && e.ts.millis() - ts < HOUR);
                    assert!(bought, "{id}: add to cart at {} not bought", add.ts);
                }
            }
            Persona::CartAbandoner => assert!(has(ClickType::AddToCart), "{id}"),
            Persona::Browser => {
                assert!(
                    has(ClickType::ProductView) && !has(ClickType::AddToCart),
                    "{id}"
                );
            }
            Persona::CheckoutDropoff => {
                assert!(has(ClickType::CheckoutStep), "{id}");
                let errors = has(ClickType::PaymentError);
                assert_eq!(errors, truth.dropoff == Some(Dropoff::PaymentError), "{id}");
            }
            Persona::Lapsing => {
                let ts: Vec<i64> = clicks(events).map(|c| c.ts.millis()).collect();
                let longest = ts.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
                assert!(longest > 30 * DAY, "{id}: longest gap {longest} ms");
            }
            Persona::Unsubscriber => {
                let unsubscribed = events
                    .iter()
                    .any(|e| matches!(e, Event::Email(m) if m.kind == EmailType::Unsubscribe));
                assert!(unsubscribed, "{id}");
            }
        }
        if truth.persona != Persona::Lapsing {
            let ts: Vec<i64> = clicks(events).map(|c| c.ts.millis()).collect();
            assert!(ts.windows(2).all(|w| w[1] - w[0] < 30 * DAY), "{id}");
        }
    }
    assert_eq!(seen.len(), Persona::ALL.len());
}

#[test]
fn cart_abandoners_leave_a_cart_behind_on_their_first_visit() {
    let (sim, _, by_customer) = journeys(300, 3);
    let mut checked = 0;
    for (id, events) in &by_customer {
        if sim.persona(id) != Some(Persona::CartAbandoner) {
            continue;
        }
        let first: Vec<&nudge_events::ClickEvent> = clicks(events).collect();
        let visit_end = first
            .windows(2)
            .position(|w| w[1].ts.millis() - w[0].ts.millis() > 30 * MINUTE)
            .map_or(first.len(), |i| i + 1);
        let visit = &first[..visit_end];
        assert!(visit.iter().any(|c| c.kind == ClickType::AddToCart), "{id}");
        assert!(!visit.iter().any(|c| c.kind == ClickType::Purchase), "{id}");
        checked += 1;
    }
    assert!(checked > 30);
}

#[test]
fn long_dwell_dropoffs_wait_on_the_payment_page() {
    let (sim, _, by_customer) = journeys(400, 3);
    for (id, events) in &by_customer {
        let truth = sim.truth(id).unwrap();
        if truth.dropoff != Some(Dropoff::LongDwell) {
            continue;
        }
        let c: Vec<_> = clicks(events).collect();
        let payment = c
            .iter()
            .position(|e| e.checkout_step == Some(nudge_events::CheckoutStep::Payment))
            .unwrap();
        let dwell = c[payment + 1].ts.millis() - c[payment].ts.millis();
        assert!((6 * MINUTE..15 * MINUTE).contains(&dwell), "{id}: {dwell}");
    }
}

#[test]
fn records_start_at_the_configured_time() {
    let cfg = config(1, 200);
    let start: Ts = cfg.start;
    let first = Sim::new(cfg).next().unwrap().1;
    assert!(first.ts() >= start && first.ts() < start.plus(MINUTE));
    assert!(matches!(first, Event::Crm(_)));
    assert!(Sim::new(config(1, 0)).next().is_none());
}
