//! JSON decoding throughput on simulated traffic: 100,000 lines in the mix the simulator
//! produces (mostly clickstream, some email, a few CRM profiles), decoded in a loop, plus
//! each source on its own to show where the time goes.
//!
//! `cargo bench -p nudge-events --bench decode`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nudge_events::{json, Source};
use nudge_sim::{Sim, SimConfig};

const LINES: usize = 100_000;

/// Simulated records as the JSON lines a topic carries, with their source. The first day,
/// when every customer's CRM profile arrives, is skipped, and the lines span about a week
/// (two newsletters): the mix is the steady state's.
fn simulated_lines() -> Vec<(Source, Vec<u8>)> {
    let cfg = SimConfig {
        seed: 1,
        customers: 5_000,
        ..SimConfig::default()
    };
    let steady = cfg.start.plus(24 * 3_600_000);
    let mut sim = Sim::new(cfg);
    sim.until(steady).for_each(drop);
    sim.take(LINES)
        .map(|(source, event)| {
            let mut line = Vec::with_capacity(512);
            nudge_sim::write_json(&event, &mut line);
            (source, line)
        })
        .collect()
}

fn decode_all(lines: &[(Source, Vec<u8>)]) -> usize {
    let mut ok = 0;
    for (source, line) in lines {
        ok += usize::from(black_box(json::decode(*source, line)).is_ok());
    }
    ok
}

fn decode(c: &mut Criterion) {
    let mixed = simulated_lines();
    let bytes: usize = mixed.iter().map(|(_, l)| l.len()).sum();
    let count = |s: Source| mixed.iter().filter(|(src, _)| *src == s).count();
    eprintln!(
        "{} lines, {} bytes on average: {} clickstream, {} email, {} crm",
        mixed.len(),
        bytes / mixed.len().max(1),
        count(Source::Clickstream),
        count(Source::Email),
        count(Source::Crm)
    );
    assert_eq!(
        decode_all(&mixed),
        mixed.len(),
        "every simulated line decodes"
    );

    let mut group = c.benchmark_group("json_decode");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(mixed.len() as u64));
    group.bench_function("mixed", |b| b.iter(|| decode_all(&mixed)));
    for source in Source::ALL {
        let lines: Vec<(Source, Vec<u8>)> = mixed
            .iter()
            .filter(|(s, _)| *s == source)
            .cloned()
            .collect();
        group.throughput(Throughput::Elements(lines.len() as u64));
        group.bench_function(source.name(), |b| b.iter(|| decode_all(&lines)));
    }
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
