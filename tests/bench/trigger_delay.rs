//! Trigger delay past due time on a live run, from the trigger topics themselves: for each
//! committed trigger, the Kafka timestamp the pipeline produced it at minus its `due_at`.
//! `tests/bench/trigger_delay.sh` runs it after a live run.
//!
//! Usage: trigger-delay BROKERS SINCE_MS TOPIC...
//! Reads every topic to its end (read_committed), then prints `triggers N p50 S p90 S p99 S
//! max S` over the triggers due at or after SINCE_MS (epoch milliseconds: the ones before are
//! the history's, fired as the pipeline caught up).

use nudge_events::Trigger;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, since, topics @ ..] = args.as_slice() else {
        eprintln!("usage: trigger-delay BROKERS SINCE_MS TOPIC...");
        std::process::exit(2);
    };
    let since: i64 = since.parse().expect("SINCE_MS is a number");
    let mut delays_ms = Vec::new();
    let (mut unreadable, mut before) = (0, 0);
    for record in nudge_e2e::read_all(brokers, topics, true) {
        let trigger =
            serde_json::from_slice::<Trigger>(record.value.as_deref().unwrap_or_default());
        let (Some(produced), Ok(t)) = (record.timestamp, trigger) else {
            unreadable += 1;
            continue;
        };
        if t.due_at.millis() < since {
            before += 1;
            continue;
        }
        delays_ms.push(produced - t.due_at.millis());
    }
    if delays_ms.is_empty() {
        eprintln!(
            "trigger-delay: no triggers due since {since} on {topics:?} ({before} before, \
             {unreadable} unreadable)"
        );
        std::process::exit(1);
    }
    delays_ms.sort_unstable();
    let at = |q: f64| {
        let i = ((delays_ms.len() as f64 * q).ceil() as usize).clamp(1, delays_ms.len()) - 1;
        delays_ms[i] as f64 / 1000.0
    };
    println!(
        "triggers {} p50 {:.2} p90 {:.2} p99 {:.2} max {:.2} s (earlier {before}, unreadable \
         {unreadable})",
        delays_ms.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
    );
}
