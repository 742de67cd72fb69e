//! Invariants that must hold for any input, checked on generated record streams.

mod common;

use std::collections::BTreeMap;

use common::*;
use nudge_engine::{CustomerState, Engine, EngineConfig};
use nudge_events::ClickType::*;
use nudge_events::*;
use proptest::prelude::*;

const CUSTOMERS: [&str; 3] = ["a", "b", "c"];

fn event_strategy() -> impl Strategy<Value = (usize, u8, i64)> {
    // (customer, kind, gap to the previous record in seconds: up to ~3h, often short)
    (
        0..CUSTOMERS.len(),
        0u8..13,
        prop_oneof![0i64..120, 0i64..3_600, 0i64..11_000],
    )
}

/// A time-ordered stream of records for a few customers.
fn stream_strategy() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec(event_strategy(), 1..120).prop_map(|specs| {
        let mut ts = at("08:00").0;
        specs
            .into_iter()
            .map(|(c, kind, gap)| {
                ts += gap * 1000;
                make_event(CUSTOMERS[c], kind, Ts(ts))
            })
            .collect()
    })
}

fn make_event(c: &str, kind: u8, ts: Ts) -> Event {
    match kind {
        0 => click(c, PageView, ts).path("/").ev(),
        1 => click(c, ProductView, ts).sku("1", 10.0, 1).ev(),
        2 => click(c, AddToCart, ts).sku("1", 10.0, 1).ev(),
        3 => click(c, AddToCart, ts).sku("2", 150.0, 2).ev(),
        4 => click(c, RemoveFromCart, ts).sku("1", 10.0, 1).ev(),
        5 => click(c, CheckoutStarted, ts).ev(),
        6 => click(c, ClickType::CheckoutStep, ts)
            .step(nudge_events::CheckoutStep::Payment)
            .ev(),
        7 => click(c, PaymentError, ts).ev(),
        8 => click(c, Purchase, ts).revenue(25.0).ev(),
        9 => email(c, EmailType::Sent, ts),
        10 => email(c, EmailType::Open, ts),
        11 => email(c, EmailType::Unsubscribe, ts),
        _ => crm(c, ts, base_profile()),
    }
}

fn config() -> EngineConfig {
    let mut cfg = EngineConfig::default();
    cfg.policy.holdout_percent = 30;
    cfg
}

/// Replay semantics: watermark to each record's time, then apply; then close everything.
fn replay(cfg: &EngineConfig, events: &[Event]) -> Vec<Output> {
    let mut engine = Engine::new(cfg.clone());
    let mut out = Vec::new();
    for e in events {
        engine.advance(e.ts(), &mut out);
        engine.apply(e, &mut out);
    }
    out
}

fn by_customer(outputs: &[Output]) -> BTreeMap<String, Vec<Output>> {
    let mut map: BTreeMap<String, Vec<Output>> = BTreeMap::new();
    for o in outputs {
        map.entry(o.key().to_owned()).or_default().push(o.clone());
    }
    map
}

fn trigger_ids(outputs: &[Output]) -> Vec<&str> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Trigger(t) | Output::Suppressed(t) => Some(t.trigger_id.as_str()),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn at_most_one_trigger_per_episode(events in stream_strategy()) {
        let out = replay(&config(), &events);
        let mut ids = trigger_ids(&out);
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        prop_assert_eq!(ids.len(), n, "a trigger id repeated");
    }

    #[test]
    fn no_cart_trigger_for_an_episode_closed_in_time(events in stream_strategy()) {
        let cfg = config();
        let after = cfg.detectors.cart_abandoned.after.millis();
        // Reference cart model: when did each customer's cart actually change or empty?
        let mut carts: BTreeMap<&str, BTreeMap<CompactString, u32>> = BTreeMap::new();
        let mut changes: Vec<(&str, Ts)> = Vec::new();
        for e in &events {
            let Event::Click(c) = e else { continue };
            let cart = carts.entry(e.key()).or_default();
            let before = cart.clone();
            let sku = c.product.as_ref().and_then(|p| p.sku.clone()).unwrap_or_default();
            let qty = c.product.as_ref().and_then(|p| p.quantity).unwrap_or(1);
            match c.kind {
                AddToCart => *cart.entry(sku).or_default() += qty,
                RemoveFromCart => {
                    if let Some(q) = cart.get_mut(&sku) {
                        *q = q.saturating_sub(qty);
                        if *q == 0 {
                            cart.remove(&sku);
                        }
                    }
                }
                Purchase => cart.clear(),
                _ => {}
            }
            if *cart != before || c.kind == Purchase {
                changes.push((e.key(), e.ts()));
            }
        }
        for o in replay(&cfg, &events) {
            let (Output::Trigger(t) | Output::Suppressed(t)) = &o else { continue };
            if t.kind != TriggerType::CartAbandoned {
                continue;
            }
            prop_assert!(!t.context.cart_items.is_empty());
            let closing = changes.iter().any(|(key, ts)| {
                *key == t.customer_id && ts.0 > t.due_at.0 - after && *ts <= t.due_at
            });
            prop_assert!(!closing, "a cart change or purchase before {} should have closed or moved it", t.due_at);
        }
    }

    #[test]
    fn replay_is_deterministic(events in stream_strategy()) {
        let cfg = config();
        prop_assert_eq!(replay(&cfg, &events), replay(&cfg, &events));
    }

    #[test]
    fn chunked_input_gives_the_same_outputs_per_customer(
        events in stream_strategy(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        // The live pipeline applies a batch of records, then moves the watermark once.
        let cfg = config();
        let mut bounds: Vec<usize> = cuts.iter().map(|i| i.index(events.len() + 1)).collect();
        bounds.push(events.len());
        bounds.sort_unstable();
        let mut engine = Engine::new(cfg.clone());
        let mut out = Vec::new();
        let mut start = 0;
        for end in bounds {
            let chunk = &events[start..end];
            for e in chunk {
                engine.apply(e, &mut out);
            }
            if let Some(max) = chunk.iter().map(Event::ts).max() {
                engine.advance(max, &mut out);
            }
            start = end;
        }
        prop_assert_eq!(by_customer(&out), by_customer(&replay(&cfg, &events)));
    }

    #[test]
    fn restoring_state_mid_stream_changes_nothing(events in stream_strategy(), cut in any::<prop::sample::Index>()) {
        let cfg = config();
        let k = cut.index(events.len() + 1);
        let mut first = Engine::new(cfg.clone());
        let mut out = Vec::new();
        for e in &events[..k] {
            first.advance(e.ts(), &mut out);
            first.apply(e, &mut out);
        }
        let mut saved: Vec<(String, Vec<u8>)> = Vec::new();
        first.drain_dirty(|key, state| {
            let bytes = state.expect("nothing evicted").to_bytes().expect("state serializes");
            saved.push((key.to_owned(), bytes));
        });
        let mut second = Engine::new(cfg.clone());
        for (key, bytes) in &saved {
            let state = CustomerState::from_bytes(bytes).expect("state deserializes");
            prop_assert_eq!(Some(&state), first.state(key));
            second.restore(key, Some(state));
        }
        second.advance(first.watermark(), &mut out);
        for e in &events[k..] {
            second.advance(e.ts(), &mut out);
            second.apply(e, &mut out);
        }
        prop_assert_eq!(by_customer(&out), by_customer(&replay(&cfg, &events)));
    }

    #[test]
    fn session_count_equals_gap_split_runs(gaps in prop::collection::vec(0i64..5_000, 1..200)) {
        let cfg = EngineConfig::default();
        let timeout = cfg.session.timeout.millis();
        let max = cfg.session.max_duration.millis();
        let mut ts = at("00:00").0;
        let times: Vec<i64> = gaps.iter().map(|g| { ts += g * 1000; ts }).collect();
        // Reference: a record starts a run if the gap exceeds the timeout or the run would
        // span more than max_duration.
        let mut runs = 0;
        let mut run_start = i64::MIN;
        let mut prev = i64::MIN;
        for &t in &times {
            if runs == 0 || t - prev > timeout || t - run_start > max {
                runs += 1;
                run_start = t;
            }
            prev = t;
        }
        let events: Vec<Event> = times.iter().map(|&t| click("a", PageView, Ts(t)).ev()).collect();
        let mut closing = Vec::new();
        let mut engine = Engine::new(cfg.clone());
        for e in &events {
            engine.advance(e.ts(), &mut closing);
            engine.apply(e, &mut closing);
        }
        engine.advance(Ts(prev + timeout + 1), &mut closing);
        let sessions = closing.iter().filter(|o| matches!(o, Output::Session(_))).count();
        prop_assert_eq!(sessions, runs);
        let events_in_sessions: u32 = closing.iter().map(|o| match o {
            Output::Session(s) => s.events,
            _ => 0,
        }).sum();
        prop_assert_eq!(events_in_sessions as usize, times.len());
    }
}
