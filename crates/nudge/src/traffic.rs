//! Live simulated traffic: the journey simulator's records produced to the input topics as a
//! clock reaches their event time, at most `rate` a second. `nudge demo` runs it against its
//! in-process mock cluster, `nudge simulate --brokers` against any Kafka.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use nudge_events::Ts;
use nudge_kafka::{Clock, Topics};
use nudge_sim::Sim;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;

/// Wall-clock milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The checks `nudge demo` and `nudge simulate --brokers` both make of their options;
/// `duration_ms` is `None` for "until stopped".
pub fn check_options(
    customers: u32,
    rate: u32,
    duration_ms: Option<i64>,
    speed: f64,
    history_ms: i64,
) -> Result<()> {
    if customers == 0 || rate == 0 || duration_ms.is_some_and(|d| d <= 0) {
        bail!("--customers, --rate and --duration must be more than zero");
    }
    if history_ms < 0 {
        bail!("--history must not be negative");
    }
    if !(speed.is_finite() && speed > 0.0) {
        bail!("--speed must be a positive number");
    }
    Ok(())
}

/// What the producer has done, for status lines and summaries.
#[derive(Default)]
pub struct Counts {
    /// Records produced, by source.
    pub produced: [AtomicU64; 3],
    /// Journey time the producer trails the clock by (held back by the rate).
    pub behind_ms: AtomicI64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.produced
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .sum()
    }

    pub fn by_source(&self) -> [u64; 3] {
        self.produced.each_ref().map(|n| n.load(Ordering::Relaxed))
    }
}

/// Delivery reports: failures, and the highest offset a record got (on topics that start
/// empty, the number of records the fullest partition holds).
#[derive(Default)]
pub struct Deliveries {
    fullest: AtomicI64,
    failed: AtomicU64,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(m) => {
                self.fullest.fetch_max(m.offset() + 1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                if self.failed.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::error!(error = %e, "a simulated record could not be delivered");
                }
            }
        }
    }
}

/// Where and how fast the traffic goes.
pub struct Traffic<'a> {
    pub producer: &'a BaseProducer<Deliveries>,
    pub topics: &'a Topics,
    /// Records go out when this clock reaches their event time, stamped with its time.
    pub clock: Clock,
    /// At most this many records per wall-clock second.
    pub rate: u32,
    /// Stop before a partition holds this many records (the mock cluster keeps only the
    /// newest 100,000, so more would lose records the pipeline has not read).
    pub partition_budget: Option<i64>,
    pub counts: &'a Counts,
}

/// Produces the simulation's records as the clock reaches their event time: everything due,
/// then a short sleep, while `go_on` says so; then flushes.
pub fn produce(mut sim: Sim, t: &Traffic, mut go_on: impl FnMut() -> bool) -> Result<()> {
    let mut pacer = Pacer::new(t.rate, Instant::now());
    let mut buf = Vec::with_capacity(512);
    while go_on() {
        if let Some(budget) = t.partition_budget {
            if t.producer.context().fullest.load(Ordering::Relaxed) >= budget {
                eprintln!(
                    "nudge: an input partition holds {budget} records, near the mock cluster's \
                     limit: no more traffic (more partitions make room)"
                );
                break;
            }
        }
        let now = t.clock.now();
        while sim.peek_ts().is_some_and(|ts| ts <= now) && pacer.take(Instant::now()) {
            let Some((source, event)) = sim.next() else {
                break;
            };
            buf.clear();
            nudge_sim::write_json(&event, &mut buf);
            // Kafka timestamps on the same clock, so the pipeline's latency metrics are in
            // journey time like everything else.
            let record = BaseRecord::to(t.topics.input(source))
                .key(event.key())
                .payload(&buf[..])
                .timestamp(now.millis());
            crate::produce::send(t.producer, record)?;
            t.counts.produced[source as usize].fetch_add(1, Ordering::Relaxed);
        }
        t.producer.poll(Duration::ZERO);
        let next = sim.peek_ts().unwrap_or(now);
        let behind = (now.millis() - next.millis()).max(0);
        t.counts.behind_ms.store(behind, Ordering::Relaxed);
        let until_due = (next.millis() - now.millis()) as f64 / t.clock.speed();
        thread::sleep(Duration::from_millis(until_due.clamp(2.0, 50.0) as u64));
    }
    t.producer
        .flush(Duration::from_secs(10))
        .context("flushing the producer")?;
    match t.producer.context().failed.load(Ordering::Relaxed) {
        0 => Ok(()),
        n => bail!("{n} records were not delivered"),
    }
}

/// The clock of live traffic: starts now and runs `speed` times faster than the system clock.
/// At speed 1 it reads the system clock, which `nudge run` measures watermarks and trigger
/// delays with (started at the whole second instead, every event time lagged the system clock
/// by up to a second, and the watermark with it).
pub fn live_clock(speed: f64) -> Clock {
    Clock::scaled(Ts(now_ms()), speed)
}

/// The start of the current second, as an event time.
pub fn this_second() -> Ts {
    Ts(now_ms() / 1000 * 1000)
}

/// A token bucket: at most `rate` records per wall-clock second, in bursts of a tenth of that.
struct Pacer {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl Pacer {
    fn new(rate: u32, now: Instant) -> Pacer {
        let capacity = (f64::from(rate) / 10.0).max(1.0);
        Pacer {
            rate: f64::from(rate),
            capacity,
            tokens: capacity,
            last: now,
        }
    }

    /// Whether one more record may go out at `now`.
    fn take(&mut self, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.capacity);
        self.last = now;
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacer_allows_a_tenth_of_a_second_in_a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(200, t0);
        assert_eq!((0..100).filter(|_| pacer.take(t0)).count(), 20);
        let later = t0 + Duration::from_millis(50);
        assert_eq!((0..100).filter(|_| pacer.take(later)).count(), 10);
        let much_later = t0 + Duration::from_secs(60);
        assert_eq!((0..100).filter(|_| pacer.take(much_later)).count(), 20);
    }

    #[test]
    fn at_speed_one_live_traffic_is_stamped_with_the_system_clock() {
        let clock = live_clock(1.0);
        thread::sleep(Duration::from_millis(30));
        let lag = now_ms() - clock.now().millis();
        // A few milliseconds apart at most; a clock started at the whole second lags by the
        // fraction of the second it was started in.
        assert!(lag.abs() <= 5, "the journey clock is {lag} ms behind");
    }
}
