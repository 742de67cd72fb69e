//! Engine throughput on simulated traffic: one million records of 100,000 customers, fed to a
//! fresh engine with the default config the way `nudge replay` does (move the watermark to
//! the record's time, then apply it). Decoding is not included; see nudge-events' `decode`.
//!
//! `cargo bench -p nudge-engine --bench engine`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use nudge_engine::{Engine, EngineConfig};
use nudge_events::Event;
use nudge_sim::{Sim, SimConfig};

const RECORDS: usize = 1_000_000;
const CUSTOMERS: u32 = 100_000;

fn simulated_records() -> Vec<Event> {
    let started = Instant::now();
    let sim = Sim::new(SimConfig {
        seed: 1,
        customers: CUSTOMERS,
        ..SimConfig::default()
    });
    let events: Vec<Event> = sim.take(RECORDS).map(|(_, e)| e).collect();
    let span_h = events
        .last()
        .zip(events.first())
        .map_or(0, |(last, first)| {
            (last.ts().millis() - first.ts().millis()) / 3_600_000
        });
    eprintln!(
        "simulated {} records of {CUSTOMERS} customers ({span_h} h of event time) in {:.2?}",
        events.len(),
        started.elapsed()
    );
    events
}

/// Feeds every record to `engine` like replay does; returns how many outputs it produced.
fn replay(engine: &mut Engine, events: &[Event]) -> usize {
    let mut out = Vec::with_capacity(64);
    let mut outputs = 0;
    for e in events {
        engine.advance(e.ts(), &mut out);
        engine.apply(e, &mut out);
        outputs += out.len();
        // The live pipeline hands outputs to the producer and reuses the buffer.
        out.clear();
    }
    outputs
}

fn engine(c: &mut Criterion) {
    let events = simulated_records();
    let mut group = c.benchmark_group("engine");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("replay_1m_records_100k_customers", |b| {
        // A fresh engine per iteration; dropping the full one is left out of the timing.
        b.iter_batched(
            || Engine::new(EngineConfig::default()),
            |mut engine| {
                black_box(replay(&mut engine, &events));
                engine
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
