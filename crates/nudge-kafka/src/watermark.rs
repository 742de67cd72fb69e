//! A task's watermark: the minimum over its input partitions of their event time, minus the
//! allowed lateness. A partition's event time is the newest it has applied; once it has been
//! read to its end (drained), it moves on with the clock from there, since whatever it delivers
//! next is produced from now on. A partition that has received nothing for `idle_timeout` (of
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

    /// The watermark at clock time `now`; it never goes back. `drained[source]` tells that
    /// the partition has been read to its end and has nothing waiting to be applied.
    pub fn current(&mut self, now: Ts, drained: [bool; 3]) -> Ts {
        let mut slowest: Option<Ts> = None;
        for (p, drained) in self.parts.iter().zip(drained) {
            let Some(arrival) = p
                .last_arrival
                .filter(|t| now.millis() - t.millis() < self.idle_ms)
            else {
                continue; // idle: left out
            };
            let time = match p.newest {
                // An active partition has applied nothing yet: its event time is unknown.
                None if !drained => return self.floor,
                // Nothing to read and nothing applied: it holds nothing back.
                None => continue,
                Some(newest) if drained => newest.max(
                    newest
                        .plus(now.millis().saturating_sub(arrival.millis()))
                        .min(now),
                ),
                Some(newest) => newest,
            };
            slowest = Some(slowest.map_or(time, |s| s.min(time)));
        }
        let mark = slowest.unwrap_or_else(|| {
            let newest = self.parts.iter().filter_map(|p| p.newest).max();
            newest.map_or(now, |n| n.max(now))
        });
        self.floor = self.floor.max(mark.plus(-self.lateness_ms));
        self.floor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;
    const NOT_DRAINED: [bool; 3] = [false; 3];

    fn seen(w: &mut Watermarks, source: Source, ts: i64, now: i64) -> bool {
        w.arrived(source, Ts(now));
        w.applied(source, Ts(ts))
    }

    #[test]
    fn follows_the_slowest_active_partition_minus_lateness() {
        let mut w = Watermarks::new(5 * S, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Clickstream, 500 * S, 1_000 * S);
        seen(&mut w, Source::Email, 300 * S, 1_000 * S);
        assert_eq!(w.current(Ts(1_000 * S), NOT_DRAINED), Ts(295 * S));
    }

    #[test]
    fn idle_partitions_are_left_out_and_all_idle_follows_the_clock() {
        let mut w = Watermarks::new(5 * S, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Clickstream, 500 * S, 1_000 * S);
        seen(&mut w, Source::Email, 300 * S, 995 * S);
        // At 1_006 s the email partition has been idle for 11 s.
        assert_eq!(w.current(Ts(1_006 * S), NOT_DRAINED), Ts(495 * S));
        // At 1_020 s both are idle: the clock minus lateness.
        assert_eq!(w.current(Ts(1_020 * S), NOT_DRAINED), Ts(1_015 * S));
    }

    #[test]
    fn all_idle_ahead_of_the_clock_goes_to_the_newest_record() {
        // Records stamped later than the clock (a replay of a day not over yet).
        let mut w = Watermarks::new(5 * S, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Crm, 100 * S, 50 * S);
        seen(&mut w, Source::Clickstream, 900 * S, 50 * S);
        assert_eq!(w.current(Ts(51 * S), NOT_DRAINED), Ts(95 * S));
        assert_eq!(w.current(Ts(61 * S), NOT_DRAINED), Ts(895 * S));
    }

    #[test]
    fn a_partition_with_records_waiting_is_not_idle() {
        let mut w = Watermarks::new(0, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Clickstream, 500 * S, 0);
        seen(&mut w, Source::Email, 100 * S, 0);
        // More email arrives but waits (not applied yet): email is still active.
        w.arrived(Source::Email, Ts(15 * S));
        assert_eq!(w.current(Ts(20 * S), NOT_DRAINED), Ts(100 * S));
    }

    #[test]
    fn holds_until_every_active_partition_has_applied_something() {
        let mut w = Watermarks::new(0, 10 * S, Ts(7), Ts(1_000 * S));
        // Just assigned: nothing applied yet, no clock jump (the backlog may be old).
        assert_eq!(w.current(Ts(1_001 * S), NOT_DRAINED), Ts(7));
        seen(&mut w, Source::Clickstream, 500 * S, 1_002 * S);
        assert_eq!(
            w.current(Ts(1_003 * S), NOT_DRAINED),
            Ts(7),
            "crm and email not heard from yet"
        );
        // Quiet for the idle timeout since assignment: left out.
        assert_eq!(w.current(Ts(1_011 * S), NOT_DRAINED), Ts(500 * S));
    }

    #[test]
    fn never_goes_back_and_reports_late_records() {
        let mut w = Watermarks::new(0, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Clickstream, 50 * S, 100 * S);
        assert_eq!(w.current(Ts(100 * S), NOT_DRAINED), Ts(50 * S));
        assert!(
            seen(&mut w, Source::Crm, 10 * S, 100 * S),
            "behind the watermark"
        );
        assert_eq!(
            w.current(Ts(100 * S), NOT_DRAINED),
            Ts(50 * S),
            "a late partition does not pull it back"
        );
        assert!(!seen(&mut w, Source::Clickstream, 60 * S, 100 * S));
    }

    #[test]
    fn a_drained_partition_moves_on_with_the_clock() {
        // A live stream: clicks arrive as they happen, the last email came 10 s ago.
        let mut w = Watermarks::new(5 * S, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Clickstream, 1_000 * S, 1_000 * S);
        seen(&mut w, Source::Email, 990 * S, 990 * S);
        let email_drained = [false, true, false];
        // Not drained, the old email would hold the watermark at 990 - 5; drained, it has
        // moved on to the clock and the clicks set the pace.
        assert_eq!(w.current(Ts(1_000 * S), email_drained), Ts(995 * S));
    }

    #[test]
    fn with_every_partition_drained_the_watermark_follows_the_clock_at_once() {
        let mut w = Watermarks::new(5 * S, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Clickstream, 1_000 * S, 1_000 * S);
        // No further record: the clock, minus lateness, long before the idle timeout.
        assert_eq!(w.current(Ts(1_003 * S), [true; 3]), Ts(998 * S));
        assert_eq!(w.current(Ts(1_008 * S), [true; 3]), Ts(1_003 * S));
    }

    #[test]
    fn a_partition_drained_in_a_backlog_moves_on_at_clock_pace_only() {
        // Reading history: email is done at 300 s of event time, clicks are still at 600 s
        // with more to read. Email holds the watermark back, moving at the clock's pace.
        let mut w = Watermarks::new(5 * S, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Email, 300 * S, 1_000 * S);
        seen(&mut w, Source::Clickstream, 600 * S, 1_001 * S);
        assert_eq!(w.current(Ts(1_002 * S), [false, true, false]), Ts(297 * S));
    }

    #[test]
    fn a_drained_partition_stamped_ahead_of_the_clock_keeps_its_newest_time() {
        let mut w = Watermarks::new(0, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Clickstream, 2_000 * S, 1_000 * S);
        assert_eq!(w.current(Ts(1_005 * S), [true; 3]), Ts(2_000 * S));
    }

    #[test]
    fn an_empty_drained_partition_holds_nothing_back() {
        let mut w = Watermarks::new(0, 10 * S, Ts(0), Ts(0));
        seen(&mut w, Source::Clickstream, 500 * S, S);
        // Crm and email have applied nothing: unknown, until known to be empty.
        assert_eq!(w.current(Ts(2 * S), [false, false, true]), Ts(0));
        assert_eq!(w.current(Ts(2 * S), [true, true, false]), Ts(500 * S));
    }
}
