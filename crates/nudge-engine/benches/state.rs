//! Serializing customer states for the changelog, as the runtime does at every commit: the
//! states of 100,000 simulated customers (after 1M records), each appended to one reused
//! buffer.
//!
//! `cargo bench -p nudge-engine --bench state`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nudge_engine::{CustomerState, Engine, EngineConfig};
use nudge_sim::{Sim, SimConfig};

fn simulated_states() -> Vec<CustomerState> {
    let sim = Sim::new(SimConfig {
        seed: 1,
        customers: 100_000,
        ..SimConfig::default()
    });
    let mut engine = Engine::new(EngineConfig::default());
    let mut outputs = Vec::new();
    for (_, event) in sim.take(1_000_000) {
        engine.advance(event.ts(), &mut outputs);
        engine.apply(&event, &mut outputs);
        outputs.clear();
    }
    let mut states = Vec::new();
    engine.drain_dirty(|_, state| states.extend(state.cloned()));
    states
}

fn bench(c: &mut Criterion) {
    let states = simulated_states();
    let mut group = c.benchmark_group("state");
    group.throughput(Throughput::Elements(states.len() as u64));
    group.bench_function("encode_into", |b| {
        let mut buf = Vec::with_capacity(1024);
        b.iter(|| {
            for state in &states {
                buf.clear();
                state.encode_into(&mut buf).expect("state serializes");
                black_box(&buf);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
