//! The demo's printer: reads the committed triggers, suppressed candidates and outcomes from
//! the start and prints each as one line.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nudge_events::{Arm, CheckoutStep, Obstacle, Outcome, Trigger};
use nudge_kafka::Topics;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::status::{Shared, Tallies};
use super::{minutes, sim_time, CURRENCY};
use crate::config::Config;

/// How long the printer may take, after the pipeline's last commit, to read to the end.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A consumer of the committed triggers, suppressed candidates and outcomes, from the start.
pub(super) fn printer_consumer(
    cfg: &Config,
    topics: &Topics,
    partitions: i32,
) -> Result<BaseConsumer> {
    let bootstrap = cfg.run.kafka.get("bootstrap.servers").unwrap_or_default();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "nudge-demo-printer")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        // A caught-up fetch waits up to this long for new records (500 ms by default).
        .set("fetch.wait.max.ms", "50")
        .create()
        .context("creating the trigger printer")?;
    let skip = [cfg.run.topics.sessions.as_str(), topics.dead_letters()];
    let mut tpl = TopicPartitionList::new();
    for topic in topics.outputs().into_iter().filter(|t| !skip.contains(t)) {
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .context("listing the output partitions")?;
        }
    }
    consumer
        .assign(&tpl)
        .context("assigning the output partitions")?;
    Ok(consumer)
}

/// Prints each output as it arrives; once `drain` is set, reads to the end and returns.
pub(super) fn print_outputs(
    consumer: &BaseConsumer,
    outcomes: &str,
    demo: &Shared,
    drain: &AtomicBool,
) {
    let dim = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // Cleared when stdout goes away (`nudge demo | head`): counting goes on.
    let mut printing = true;
    let mut deadline = None;
    loop {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(msg)) => {
                let payload = msg.payload().unwrap_or_default();
                let mut tallies = demo.tallies();
                let Some(line) = describe(msg.topic() == outcomes, payload, &mut tallies) else {
                    tallies.unreadable += 1;
                    continue;
                };
                if printing {
                    let mut out = std::io::stdout().lock();
                    printing = if line.dim && dim {
                        writeln!(out, "\x1b[2m{}\x1b[0m", line.text).is_ok()
                    } else {
                        writeln!(out, "{}", line.text).is_ok()
                    };
                }
            }
            Some(Err(e)) => tracing::warn!(error = %e, "reading the triggers"),
            None if drain.load(Ordering::Relaxed) => {
                let deadline = *deadline.get_or_insert_with(|| Instant::now() + DRAIN_TIMEOUT);
                if Instant::now() >= deadline || read_to_end(consumer) {
                    return;
                }
            }
            None => {}
        }
    }
}

/// Whether every assigned partition has been read to its end.
fn read_to_end(consumer: &BaseConsumer) -> bool {
    let Ok(positions) = consumer.position() else {
        return false;
    };
    positions.elements().iter().all(|e| {
        let timeout = Duration::from_secs(1);
        match consumer.fetch_watermarks(e.topic(), e.partition(), timeout) {
            Ok((low, high)) => {
                low >= high || matches!(e.offset(), Offset::Offset(at) if at >= high)
            }
            Err(_) => false,
        }
    })
}

/// A printed line; suppressed candidates print dim.
struct Line {
    text: String,
    dim: bool,
}

/// Reads an output record, counts it and returns its line.
fn describe(outcome: bool, payload: &[u8], tallies: &mut Tallies) -> Option<Line> {
    if outcome {
        let o: Outcome = serde_json::from_slice(payload).ok()?;
        let entry = tallies.outcomes.entry(o.arm).or_default();
        entry.0 += 1;
        entry.1 += o.revenue;
        return Some(Line {
            text: outcome_line(&o),
            dim: false,
        });
    }
    let t: Trigger = serde_json::from_slice(payload).ok()?;
    match (t.reason, t.arm) {
        (Some(reason), _) => *tallies.suppressed.entry(reason).or_default() += 1,
        (None, Some(arm)) => *tallies.triggers.entry((t.kind, arm)).or_default() += 1,
        (None, None) => return None,
    }
    Some(Line {
        text: trigger_line(&t),
        dim: t.reason.is_some(),
    })
}

/// A trigger as one line: simulated due time, type, customer, channel, arm, what was left
/// behind, the offer; a suppressed candidate with its reason instead.
fn trigger_line(t: &Trigger) -> String {
    let mut parts = vec![
        format!("{} sim", sim_time(t.due_at, "%H:%M")),
        format!("{:<18}", t.kind.name()),
        format!("{:<8}", t.customer_id),
    ];
    if let Some(reason) = t.reason {
        parts.push(format!("suppressed: {}", reason.name()));
        return format!("  {}", parts.join("  "));
    }
    parts.push(format!("{:<5}", t.channel.map_or("-", |c| c.name())));
    parts.push(format!("{:<9}", t.arm.map_or("-", |a| a.name())));
    let c = &t.context;
    if let Some(first) = c.cart_items.first() {
        let name = first.name.as_deref().unwrap_or(&first.sku);
        let more = match c.cart_items.len() {
            1 => String::new(),
            n => format!(" +{}", n - 1),
        };
        parts.push(format!("\"{name}\"{more} {:.2} {CURRENCY}", c.cart_value));
    } else if let Some(page) = &c.last_page {
        parts.push(format!("last page {page}"));
    }
    if let Some(step) = c.checkout_step {
        let step = match step {
            CheckoutStep::Shipping => "shipping",
            CheckoutStep::Payment => "payment",
            CheckoutStep::Review => "review",
            CheckoutStep::Other => "checkout",
        };
        parts.push(format!("stopped at {step}"));
    }
    if let Some(obstacle) = t.obstacle {
        let why = match obstacle {
            Obstacle::PaymentError => "after a payment error",
            Obstacle::LongDwell => "after a long wait at payment",
            Obstacle::Lapsed => "lapsed",
            Obstacle::UnopenedEmails => "unopened emails",
        };
        parts.push(why.to_owned());
    }
    if let Some(offer) = &t.offer {
        parts.push(format!("{} {}%", offer.kind, offer.percent));
    }
    if let Some(after) = t.send_after.filter(|&a| a > t.due_at) {
        parts.push(format!("send after {}", sim_time(after, "%H:%M")));
    }
    if t.arm == Some(Arm::Holdout) {
        parts.push("(holdout: recorded, not sent)".to_owned());
    }
    format!("  {}", parts.join("  ").trim_end())
}

/// A purchase attributed to a trigger, as one line.
fn outcome_line(o: &Outcome) -> String {
    format!(
        "  {} sim  {:<18}  {:<8}  bought {:.2} {CURRENCY}, {} after a {} trigger ({})",
        sim_time(o.converted_at, "%H:%M"),
        "purchase",
        o.customer_id,
        o.revenue,
        minutes((o.seconds_to_conversion * 1000.0) as i64),
        o.kind.name(),
        o.arm.name(),
    )
}

#[cfg(test)]
mod tests {
    use nudge_events::SuppressReason;

    use super::*;

    fn line_of(json: &str) -> String {
        let mut tallies = Tallies::default();
        describe(false, json.as_bytes(), &mut tallies)
            .expect("a trigger")
            .text
    }

    const CART: &str = r#"{"trigger_id":"cart_abandoned-1","customer_id":"c0000042",
        "type":"cart_abandoned","arm":"ARM","due_at":"2026-11-30T10:42:00.000Z",
        "channel":"email","action":"discount_prompt","offer":{"kind":"discount","percent":10},
        "send_after":"2026-11-30T10:42:00.000Z","obstacle":null,"stage":"decision",
        "reason":null,"context":{"cart_items":[
        {"sku":"SKU-1001","name":"Trail Running Shoe","quantity":1,"price":89.9},
        {"sku":"SKU-1005","name":"Water Bottle","quantity":2,"price":19.95}],
        "cart_value":129.8,"session_id":"s-1","last_page":"/cart","checkout_step":null,
        "segment":"returning","lifetime_value":300.0,"device":"mobile"}}"#;

    #[test]
    fn a_trigger_prints_due_time_type_customer_channel_arm_cart_and_offer() {
        assert_eq!(
            line_of(&CART.replace("ARM", "treatment")),
            "  10:42 sim  cart_abandoned      c0000042  email  treatment  \
             \"Trail Running Shoe\" +1 129.80 EUR  discount 10%"
        );
    }

    #[test]
    fn a_holdout_trigger_says_it_is_not_sent() {
        assert_eq!(
            line_of(&CART.replace("ARM", "holdout")),
            "  10:42 sim  cart_abandoned      c0000042  email  holdout    \
             \"Trail Running Shoe\" +1 129.80 EUR  discount 10%  (holdout: recorded, not sent)"
        );
    }

    #[test]
    fn a_suppressed_candidate_prints_short_with_its_reason_and_counts() {
        let json = r#"{"trigger_id":"feedback_request-1","customer_id":"c0001999",
            "type":"feedback_request","arm":null,"due_at":"2026-11-30T23:05:00.000Z",
            "channel":null,"action":"feedback_request","offer":null,"send_after":null,
            "obstacle":"payment_error","stage":"decision","reason":"unsubscribed",
            "context":{"cart_items":[],"cart_value":0.0,"session_id":null,"last_page":null,
            "checkout_step":"payment","segment":null,"lifetime_value":null,"device":null}}"#;
        let mut tallies = Tallies::default();
        let line = describe(false, json.as_bytes(), &mut tallies).expect("a trigger");
        assert_eq!(
            line.text,
            "  23:05 sim  feedback_request    c0001999  suppressed: unsubscribed"
        );
        assert!(line.dim);
        assert_eq!(tallies.suppressed[&SuppressReason::Unsubscribed], 1);
        assert!(tallies.triggers.is_empty());
    }

    #[test]
    fn a_trigger_without_a_cart_names_the_page_step_obstacle_and_quiet_hours() {
        let json = r#"{"trigger_id":"checkout_abandoned-1","customer_id":"c0000007",
            "type":"checkout_abandoned","arm":"treatment","due_at":"2026-11-30T21:30:00.000Z",
            "channel":"push","action":"checkout_reminder","offer":null,
            "send_after":"2026-12-01T08:00:00.000Z","obstacle":"long_dwell","stage":"decision",
            "reason":null,"context":{"cart_items":[],"cart_value":0.0,"session_id":null,
            "last_page":"/checkout/payment","checkout_step":"payment","segment":null,
            "lifetime_value":null,"device":null}}"#;
        assert_eq!(
            line_of(json),
            "  21:30 sim  checkout_abandoned  c0000007  push   treatment  \
             last page /checkout/payment  stopped at payment  after a long wait at payment  \
             send after 08:00"
        );
    }

    #[test]
    fn unreadable_outputs_print_nothing() {
        let mut tallies = Tallies::default();
        assert!(describe(false, b"{\"not\":\"a trigger\"}", &mut tallies).is_none());
        assert!(describe(true, b"[]", &mut tallies).is_none());
    }
}
