//! Metric updates from the stream loop. Per-record counts are tallied locally and added to
//! the registry once per commit; output records, which are rare, update it directly.

use nudge_events::{DecodeErrorKind, Output, Source, Ts};
use nudge_metrics::prometheus::local::LocalHistogram;
use nudge_metrics::Metrics;

use crate::topics::Topics;

/// Counts since the last flush.
pub struct Tally {
    topics: [String; 3],
    consumed: Vec<(Source, &'static str, u64)>,
    late: [u64; 3],
    invalid: Vec<(Source, DecodeErrorKind, u64)>,
    changelog: Vec<(&'static str, u64)>,
    changelog_bytes: u64,
    latency_ms: Vec<i64>,
    seen: u64,
}

impl Tally {
    /// An empty tally for the inputs of `topics`.
    pub fn new(topics: &Topics) -> Tally {
        Tally {
            topics: Source::ALL.map(|s| topics.input(s).to_owned()),
            consumed: Vec::new(),
            late: [0; 3],
            invalid: Vec::new(),
            changelog: Vec::new(),
            changelog_bytes: 0,
            latency_ms: Vec::new(),
            seen: 0,
        }
    }

    /// One record of `source` with type `label` (a static name, compared by address).
    pub fn consumed(&mut self, source: Source, label: &'static str) {
        match self
            .consumed
            .iter_mut()
            .find(|(s, l, _)| *s == source && std::ptr::eq(*l, label))
        {
            Some((_, _, n)) => *n += 1,
            None => self.consumed.push((source, label, 1)),
        }
    }

    /// A record older than its task's watermark.
    pub fn late(&mut self, source: Source) {
        self.late[source as usize] += 1;
    }

    /// A record sent to the dead-letter topic.
    pub fn invalid(&mut self, source: Source, kind: DecodeErrorKind) {
        match self
            .invalid
            .iter_mut()
            .find(|(s, k, _)| *s == source && *k == kind)
        {
            Some((_, _, n)) => *n += 1,
            None => self.invalid.push((source, kind, 1)),
        }
    }

    /// A changelog record of `kind` with a value of `bytes`.
    pub fn changelog(&mut self, kind: &'static str, bytes: usize) {
        self.changelog_bytes += bytes as u64;
        match self.changelog.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.changelog.push((kind, 1)),
        }
    }

    /// Whether this record's processing latency is sampled (one record in 16): ask before
    /// reading its timestamp.
    pub fn latency_sampled(&mut self) -> bool {
        self.seen += 1;
        self.seen % 16 == 0
    }

    /// Time from a sampled record's Kafka timestamp to its processing.
    pub fn latency(&mut self, ms: i64) {
        self.latency_ms.push(ms);
    }

    /// Counts an output record straight into the registry.
    pub fn output(&mut self, output: &Output, now: Ts, m: &Metrics) {
        match output {
            Output::Trigger(t) => {
                let arm = t.arm.map_or("none", |a| a.name());
                let channel = t.channel.map_or("none", |c| c.name());
                m.triggers_emitted
                    .with_label_values(&[t.kind.name(), channel, arm])
                    .inc();
                m.trigger_delay
                    .observe((now.millis() - t.due_at.millis()).max(0) as f64 / 1000.0);
            }
            Output::Suppressed(t) => {
                let reason = t.reason.map_or("unknown", |r| r.name());
                m.triggers_suppressed
                    .with_label_values(&[t.kind.name(), reason])
                    .inc();
            }
            Output::Session(s) => {
                let device = s.device.map_or("unknown", device_name);
                m.sessions_closed.with_label_values(&[device]).inc();
                m.session_duration.observe(s.duration_s);
                m.session_pages.observe(f64::from(s.page_views));
                if s.bounce {
                    m.session_bounces.inc();
                }
                if s.converted {
                    m.session_conversions.inc();
                }
                m.funnel_sessions
                    .with_label_values(&[s.furthest_step.name()])
                    .inc();
            }
            Output::Outcome(o) => {
                let labels = [o.kind.name(), o.arm.name()];
                m.conversions.with_label_values(&labels).inc();
                m.conversion_revenue
                    .with_label_values(&labels)
                    .inc_by(o.revenue.max(0.0));
            }
        }
    }

    /// Adds the tallied counts to the registry and starts over.
    pub fn flush(&mut self, m: &Metrics) {
        for (source, label, n) in self.consumed.drain(..) {
            let topic = &self.topics[source as usize];
            if label == "unknown" {
                m.unknown_events
                    .with_label_values(&[topic.as_str()])
                    .inc_by(n);
            }
            m.events_consumed
                .with_label_values(&[topic.as_str(), label])
                .inc_by(n);
        }
        for source in Source::ALL {
            let n = std::mem::take(&mut self.late[source as usize]);
            if n > 0 {
                m.late_events
                    .with_label_values(&[self.topics[source as usize].as_str()])
                    .inc_by(n);
            }
        }
        for (source, kind, n) in self.invalid.drain(..) {
            m.invalid_records
                .with_label_values(&[self.topics[source as usize].as_str(), kind.label()])
                .inc_by(n);
        }
        for (kind, n) in self.changelog.drain(..) {
            m.changelog_records.with_label_values(&[kind]).inc_by(n);
        }
        m.changelog_bytes
            .inc_by(std::mem::take(&mut self.changelog_bytes));
        if !self.latency_ms.is_empty() {
            let local: LocalHistogram = m.processing_latency.local();
            for ms in self.latency_ms.drain(..) {
                local.observe(ms.max(0) as f64 / 1000.0);
            }
            local.flush();
        }
    }
}

fn device_name(d: nudge_events::Device) -> &'static str {
    use nudge_events::Device;
    match d {
        Device::Mobile => "mobile",
        Device::Desktop => "desktop",
        Device::Tablet => "tablet",
        Device::App => "app",
        Device::Other => "other",
    }
}
