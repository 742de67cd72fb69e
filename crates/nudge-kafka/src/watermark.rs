//! A task's watermark: the minimum over its input partitions of the newest event time applied,
//! minus the allowed lateness. A partition that has received nothing for `idle_timeout` (of
//! clock time) is left out, and when every partition is idle the watermark follows the clock
//! (or the newest event time applied, if that is ahead of the clock), so timers fire on time
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
    /// Watermarks with the given allowed lateness and idle timeout, starting at `floor`, for
    /// partitions assigned at clock time `now` (each counts as active until it has been quiet
    /// for the idle timeout).
    pub fn new(lateness_ms: i64, idle_ms: i64, floor: Ts, now: Ts) -> Watermarks {
        let part = PartitionTime {
            newest: None,
            last_arrival: Some(now),
        };
        Watermarks {
            lateness_ms,
            idle_ms,
            parts: [part; 3],
            floor,
        }
    }

    /// Counts every partition as heard from at `now` (when fetching (re)starts after an
    /// assignment), so a partition is not idle before it could deliver anything.
    pub fn restart(&mut self, now: Ts) {
        for p in &mut self.parts {
            p.last_arrival = Some(p.last_arrival.map_or(now, |t| t.max(now)));
        }
    }

    /// Notes that a record of `source` arrived at clock time `now` (it may wait before it
    /// is applied, but its partition is not idle).
    pub fn arrived(&mut self, source: Source, now: Ts) {
        self.parts[source as usize].last_arrival = Some(now);
    }

    /// Notes a record applied; returns whether it is late (behind the watermark).
    pub fn applied(&mut self, source: Source, ts: Ts) -> bool {
        let late = ts < self.floor;
        let p = &mut self.parts[source as usize];
        p.newest = Some(p.newest.map_or(ts, |n| n.max(ts)));
        late
    }

    /// The watermark at clock time `now`; it never goes back.
    pub fn current(&mut self, now: Ts) -> Ts {
        let active: Vec<&PartitionTime> = self
            .parts
            .iter()
            .filter(|p| {
                p.last_arrival
                    .is_some_and(|t| now.millis() - t.millis() < self.idle_ms)
            })
            .collect();
        let mark = if active.is_empty() {
            let newest = self.parts.iter().filter_map(|p| p.newest).max();
            newest.map_or(now, |n| n.max(now))
        } else if active.iter().any(|p| p.newest.is_none()) {
            // An active partition has applied nothing yet: its event time is unknown.
            return self.floor;
        } else {
            active.iter().filter_map(|p| p.newest).min().unwrap_or(now)
        };
        self.floor = self.floor.max(mark.plus(-self.lateness_ms));
        self.floor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    fn seen(w: &mut Watermarks, source: Source, ts: i64, now: i64) -> bool {
        w.arrived(source, Ts(now));
        w.applied(source, Ts(ts))
    }

    #[test]
    fn follows_the_slowest_active_partition_minus_lateness() {
        let mut w = Watermarks::new(5 * S, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Clickstream, 500 * S, 1_000 * S);
        seen(&mut w, Source::Email, 300 * S, 1_000 * S);
        assert_eq!(w.current(Ts(1_000 * S)), Ts(295 * S));
    }

    #[test]
    fn idle_partitions_are_left_out_and_all_idle_follows_the_clock() {
        let mut w = Watermarks::new(5 * S, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Clickstream, 500 * S, 1_000 * S);
        seen(&mut w, Source::Email, 300 * S, 995 * S);
        // At 1_006 s the email partition has been idle for 11 s.
        assert_eq!(w.current(Ts(1_006 * S)), Ts(495 * S));
        // At 1_020 s both are idle: the clock minus lateness.
        assert_eq!(w.current(Ts(1_020 * S)), Ts(1_015 * S));
    }

    #[test]
    fn all_idle_ahead_of_the_clock_goes_to_the_newest_record() {
        // Records stamped later than the clock (a replay of a day not over yet).
        let mut w = Watermarks::new(5 * S, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Crm, 100 * S, 50 * S);
        seen(&mut w, Source::Clickstream, 900 * S, 50 * S);
        assert_eq!(w.current(Ts(51 * S)), Ts(95 * S));
        assert_eq!(w.current(Ts(61 * S)), Ts(895 * S));
    }

    #[test]
    fn a_partition_with_records_waiting_is_not_idle() {
        let mut w = Watermarks::new(0, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Clickstream, 500 * S, 0);
        seen(&mut w, Source::Email, 100 * S, 0);
        // More email arrives but waits (not applied yet): email is still active.
        w.arrived(Source::Email, Ts(15 * S));
        assert_eq!(w.current(Ts(20 * S)), Ts(100 * S));
    }

    #[test]
    fn holds_until_every_active_partition_has_applied_something() {
        let mut w = Watermarks::new(0, 10 * S, Ts(7), Ts(1_000 * S));
        // Just assigned: nothing applied yet, no clock jump (the backlog may be old).
        assert_eq!(w.current(Ts(1_001 * S)), Ts(7));
        seen(&mut w, Source::Clickstream, 500 * S, 1_002 * S);
        assert_eq!(
            w.current(Ts(1_003 * S)),
            Ts(7),
            "crm and email not heard from yet"
        );
        // Quiet for the idle timeout since assignment: left out.
        assert_eq!(w.current(Ts(1_011 * S)), Ts(500 * S));
    }

    #[test]
    fn never_goes_back_and_reports_late_records() {
        let mut w = Watermarks::new(0, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Clickstream, 50 * S, 100 * S);
        assert_eq!(w.current(Ts(100 * S)), Ts(50 * S));
        assert!(
            seen(&mut w, Source::Crm, 10 * S, 100 * S),
            "behind the watermark"
        );
        assert_eq!(
            w.current(Ts(100 * S)),
            Ts(50 * S),
            "a late partition does not pull it back"
        );
        assert!(!seen(&mut w, Source::Clickstream, 60 * S, 100 * S));
    }
}
