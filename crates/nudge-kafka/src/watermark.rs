//! A task's watermark: the minimum over its input partitions of the newest event time seen,
//! minus the allowed lateness. A partition idle for `idle_timeout` (of clock time) is left out,
//! and when every partition is idle the watermark follows the clock, so timers fire on time
//! with no further input.

use nudge_events::{Source, Ts};

#[derive(Clone, Copy, Debug, Default)]
struct PartitionTime {
    newest: Option<Ts>,
    /// Clock time of the last record, for idleness.
    last_arrival: Option<Ts>,
}

/// Event-time progress of one task's three input partitions.
#[derive(Clone, Debug)]
pub struct Watermarks {
    lateness_ms: i64,
    idle_ms: i64,
    parts: [PartitionTime; 3],
    /// Never go back, e.g. below a watermark restored from a checkpoint.
    floor: Ts,
}

impl Watermarks {
    /// Watermarks with the given allowed lateness and idle timeout, starting at `floor`.
    pub fn new(lateness_ms: i64, idle_ms: i64, floor: Ts) -> Watermarks {
        Watermarks {
            lateness_ms,
            idle_ms,
            parts: [PartitionTime::default(); 3],
            floor,
        }
    }

    /// Records a record's event time; returns whether it is late (behind the watermark).
    pub fn observe(&mut self, source: Source, ts: Ts, now: Ts) -> bool {
        let late = ts < self.floor;
        let p = &mut self.parts[source as usize];
        p.newest = Some(p.newest.map_or(ts, |n| n.max(ts)));
        p.last_arrival = Some(now);
        late
    }

    /// The watermark at clock time `now`; it never goes back.
    pub fn current(&mut self, now: Ts) -> Ts {
        let active = self
            .parts
            .iter()
            .filter(|p| {
                p.last_arrival
                    .is_some_and(|t| now.millis() - t.millis() < self.idle_ms)
            })
            .filter_map(|p| p.newest)
            .min();
        let mark = active.unwrap_or(now).plus(-self.lateness_ms);
        self.floor = self.floor.max(mark);
        self.floor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    #[test]
    fn follows_the_slowest_active_partition_minus_lateness() {
        let mut w = Watermarks::new(5 * S, 10 * S, Ts(0));
        let now = Ts(1_000 * S);
        w.observe(Source::Clickstream, Ts(500 * S), now);
        w.observe(Source::Email, Ts(300 * S), now);
        assert_eq!(w.current(now), Ts(295 * S));
    }

    #[test]
    fn idle_partitions_are_left_out_and_all_idle_follows_the_clock() {
        let mut w = Watermarks::new(5 * S, 10 * S, Ts(0));
        w.observe(Source::Clickstream, Ts(500 * S), Ts(1_000 * S));
        w.observe(Source::Email, Ts(300 * S), Ts(995 * S));
        // At 1_006 s the email partition has been idle for 11 s.
        assert_eq!(w.current(Ts(1_006 * S)), Ts(495 * S));
        // At 1_020 s both are idle: the clock minus lateness.
        assert_eq!(w.current(Ts(1_020 * S)), Ts(1_015 * S));
    }

    #[test]
    fn never_goes_back_and_reports_late_records() {
        let mut w = Watermarks::new(0, 10 * S, Ts(0));
        let now = Ts(100 * S);
        w.observe(Source::Clickstream, Ts(50 * S), now);
        assert_eq!(w.current(now), Ts(50 * S));
        assert!(
            w.observe(Source::Crm, Ts(10 * S), now),
            "behind the watermark"
        );
        assert_eq!(
            w.current(now),
            Ts(50 * S),
            "a late partition does not pull it back"
        );
        assert!(!w.observe(Source::Clickstream, Ts(60 * S), now));
    }
}
