//! Event-time alignment of a task's three input partitions: records are applied in
//! (event time, crm < email < clickstream) order across the partitions, as `nudge replay`
//! orders its files, so the live pipeline gives the same per-customer results.
//!
//! A record is released when no other partition can still deliver an earlier one: that
//! partition has a record waiting, or has already passed the record's time (partitions are
//! assumed in event-time order), or has been read to its end (librdkafka said so, and nothing
//! arrived since), or has had nothing waiting for `max_idle` of wall time (the fallback when
//! the end is not known).

use std::collections::VecDeque;

use nudge_events::{DecodeError, Event, Source, Ts};

/// A record that failed to decode, kept (owned) until its turn so its offset is committed
/// in order with the others.
pub struct Dead {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub error: DecodeError,
}

/// What waits in a queue. The event is boxed: queued, popped and applied, it moves as a
/// pointer instead of its 464 bytes.
pub enum Item {
    Event(Box<Event>),
    Dead(Box<Dead>),
}

/// A record waiting for its turn.
pub struct Pending {
    pub offset: i64,
    pub item: Item,
}

impl Pending {
    /// Order key; dead letters have no event time and go out as soon as they reach the head
    /// of their queue.
    fn order(&self, source: Source) -> Option<(Ts, Source)> {
        match &self.item {
            Item::Event(e) => Some((e.ts(), source)),
            Item::Dead(_) => None,
        }
    }
}

/// The three queues of one task.
pub struct Aligner {
    queues: [VecDeque<Pending>; 3],
    newest: [Option<Ts>; 3],
    /// Wall-clock milliseconds since which a queue has been empty.
    empty_since: [Option<i64>; 3],
    /// The partition was read to its end and has delivered nothing since.
    at_end: [bool; 3],
    max_idle_ms: i64,
    /// Partitions gone on without (waited out) since they last delivered a record.
    waited_out: [bool; 3],
    /// The partition most recently waited out, until [`Aligner::take_waited_out`].
    newly_waited_out: Option<Source>,
}

impl Aligner {
    /// Empty queues, each counted as empty since `now_ms`.
    pub fn new(max_idle_ms: i64, now_ms: i64) -> Aligner {
        Aligner {
            queues: Default::default(),
            newest: [None; 3],
            empty_since: [Some(now_ms); 3],
            at_end: [false; 3],
            max_idle_ms,
            waited_out: [false; 3],
            newly_waited_out: None,
        }
    }

    /// Queues a record of `source` (records of one source arrive in offset order).
    pub fn push(&mut self, source: Source, pending: Pending) {
        let i = source as usize;
        if let Item::Event(e) = &pending.item {
            self.newest[i] = Some(self.newest[i].map_or(e.ts(), |n| n.max(e.ts())));
        }
        self.queues[i].push_back(pending);
        self.empty_since[i] = None;
        self.at_end[i] = false;
        self.waited_out[i] = false;
    }

    /// The partition this task last started to go on without, after it had nothing for
    /// `max_idle`: records are applied out of event-time order until it delivers again.
    /// Reported once per such wait.
    pub fn take_waited_out(&mut self) -> Option<Source> {
        self.newly_waited_out.take()
    }

    /// Notes that the input partition of `source` has been read to its end: every record it
    /// held has been pushed.
    pub fn reached_end(&mut self, source: Source) {
        self.at_end[source as usize] = true;
    }

    /// Per source: read to its end, and every record of it applied.
    pub fn drained(&self) -> [bool; 3] {
        Source::ALL.map(|s| self.at_end[s as usize] && self.queues[s as usize].is_empty())
    }

    /// Records of `source` waiting for their turn.
    pub fn queued(&self, source: Source) -> usize {
        self.queues[source as usize].len()
    }

    /// Counts every queue as empty since `now_ms` (when fetching (re)starts).
    pub fn restart_idle(&mut self, now_ms: i64) {
        for (queue, since) in self.queues.iter().zip(&mut self.empty_since) {
            if queue.is_empty() {
                *since = Some(now_ms);
            }
        }
    }

    /// The next record to apply, if its turn has come at wall-clock time `now_ms`.
    pub fn pop(&mut self, now_ms: i64) -> Option<(Source, Pending)> {
        let dead = Source::ALL.into_iter().find(|&s| {
            self.queues[s as usize]
                .front()
                .is_some_and(|p| p.order(s).is_none())
        });
        if let Some(source) = dead {
            return self.take(source, now_ms);
        }
        let (head, source) = Source::ALL
            .into_iter()
            .filter_map(|s| self.queues[s as usize].front().and_then(|p| p.order(s)))
            .map(|head| (head, head.1))
            .min()?;
        // Could `other` still deliver a record that belongs before the head? Then wait for
        // it, unless it has had nothing for `max_idle`.
        for other in Source::ALL {
            let i = other as usize;
            let may_deliver_earlier = other != source
                && self.queues[i].is_empty()
                && self.newest[i].is_none_or(|n| head >= (n, other));
            if !may_deliver_earlier || self.at_end[i] {
                continue;
            }
            if self.empty_since[i].is_none_or(|t| now_ms - t < self.max_idle_ms) {
                return None;
            }
            if !self.waited_out[i] {
                self.waited_out[i] = true;
                self.newly_waited_out = Some(other);
            }
        }
        self.take(source, now_ms)
    }

    fn take(&mut self, source: Source, now_ms: i64) -> Option<(Source, Pending)> {
        let i = source as usize;
        let pending = self.queues[i].pop_front()?;
        if self.queues[i].is_empty() {
            self.empty_since[i] = Some(now_ms);
        }
        Some((source, pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nudge_events::{ClickEvent, ClickType, EmailEvent, EmailType};

    fn click(ts: i64) -> Item {
        Item::Event(Box::new(Event::Click(ClickEvent::new(
            "c",
            ClickType::PageView,
            Ts(ts),
        ))))
    }

    fn email(ts: i64) -> Item {
        Item::Event(Box::new(Event::Email(EmailEvent {
            event_id: None,
            customer_id: Some("c".into()),
            kind: EmailType::Open,
            ts: Ts(ts),
            campaign_id: None,
            email: None,
        })))
    }

    fn drain(a: &mut Aligner, now: i64) -> Vec<(Source, i64)> {
        std::iter::from_fn(|| a.pop(now).map(|(s, p)| (s, p.offset))).collect()
    }

    #[test]
    fn merges_partitions_in_event_time_order_with_crm_email_click_ties() {
        let mut a = Aligner::new(1_000, 0);
        a.push(
            Source::Clickstream,
            Pending {
                offset: 0,
                item: click(10),
            },
        );
        a.push(
            Source::Clickstream,
            Pending {
                offset: 1,
                item: click(30),
            },
        );
        a.push(
            Source::Email,
            Pending {
                offset: 0,
                item: email(10),
            },
        );
        a.push(
            Source::Email,
            Pending {
                offset: 1,
                item: email(20),
            },
        );
        // The crm partition has nothing and is not idle yet: wait.
        assert!(a.pop(500).is_none());
        // Idle for max_idle: go on without it, and say so once.
        let order = drain(&mut a, 1_000);
        assert_eq!(a.take_waited_out(), Some(Source::Crm));
        assert_eq!(a.take_waited_out(), None);
        assert_eq!(
            order,
            vec![
                (Source::Email, 0),
                (Source::Clickstream, 0),
                (Source::Email, 1),
            ]
        );
        // The email queue just emptied at 1_000: the click at 30 waits for it, unless email
        // has already passed 30.
        assert!(a.pop(1_500).is_none());
        assert_eq!(drain(&mut a, 2_000), vec![(Source::Clickstream, 1)]);
        assert_eq!(a.take_waited_out(), Some(Source::Email));
    }

    #[test]
    fn a_partition_already_past_the_head_does_not_block() {
        let mut a = Aligner::new(100, 0);
        a.push(
            Source::Crm,
            Pending {
                offset: 0,
                item: email(100),
            },
        );
        // Email and clickstream have been idle since 0: crm goes on alone.
        assert_eq!(drain(&mut a, 100), vec![(Source::Crm, 0)]);
        // A late click at 90: crm is already past 90, email is idle.
        a.push(
            Source::Clickstream,
            Pending {
                offset: 0,
                item: click(90),
            },
        );
        assert_eq!(drain(&mut a, 100), vec![(Source::Clickstream, 0)]);
    }

    #[test]
    fn equal_times_wait_for_the_earlier_ranked_partition() {
        let mut a = Aligner::new(1_000_000, 0);
        a.push(
            Source::Crm,
            Pending {
                offset: 0,
                item: email(50),
            },
        );
        a.push(
            Source::Email,
            Pending {
                offset: 0,
                item: email(50),
            },
        );
        a.push(
            Source::Clickstream,
            Pending {
                offset: 0,
                item: click(50),
            },
        );
        assert_eq!(drain(&mut a, 0), vec![(Source::Crm, 0)]);
        // Another crm record at 50 would still go before the email at 50.
        a.push(
            Source::Crm,
            Pending {
                offset: 1,
                item: email(51),
            },
        );
        assert_eq!(drain(&mut a, 0), vec![(Source::Email, 0)]);
        // And another email at 50 before the click; then crm at 51 waits for the clickstream
        // to pass 51.
        a.push(
            Source::Email,
            Pending {
                offset: 1,
                item: email(51),
            },
        );
        assert_eq!(drain(&mut a, 0), vec![(Source::Clickstream, 0)]);
    }

    #[test]
    fn partitions_read_to_their_end_do_not_block() {
        let mut a = Aligner::new(1_000_000, 0);
        a.push(
            Source::Clickstream,
            Pending {
                offset: 0,
                item: click(10),
            },
        );
        assert!(a.pop(0).is_none());
        a.reached_end(Source::Crm);
        assert!(
            a.pop(0).is_none(),
            "email may still deliver an earlier record"
        );
        a.reached_end(Source::Email);
        let got = a.pop(0);
        assert_eq!(
            got.map(|(s, p)| (s, p.offset)),
            Some((Source::Clickstream, 0))
        );
    }

    #[test]
    fn dead_letters_leave_as_soon_as_they_are_at_the_head() {
        let mut a = Aligner::new(1_000_000, 0);
        let dead = Dead {
            key: None,
            value: Some(b"{".to_vec()),
            headers: vec![],
            error: DecodeError::new(nudge_events::DecodeErrorKind::InvalidJson, "x"),
        };
        a.push(
            Source::Clickstream,
            Pending {
                offset: 7,
                item: Item::Dead(Box::new(dead)),
            },
        );
        assert_eq!(a.pop(0).map(|(_, p)| p.offset), Some(7));
        assert!(a.pop(0).is_none());
    }

    #[test]
    fn a_record_after_the_end_means_the_end_is_not_reached() {
        let mut a = Aligner::new(1_000_000, 0);
        a.reached_end(Source::Email);
        assert_eq!(a.drained(), [false, true, false]);
        a.push(
            Source::Email,
            Pending {
                offset: 0,
                item: email(10),
            },
        );
        assert_eq!(a.drained(), [false; 3], "a record waits");
        a.reached_end(Source::Crm);
        assert_eq!(drain(&mut a, 0), vec![], "clickstream may deliver earlier");
        a.reached_end(Source::Clickstream);
        assert_eq!(drain(&mut a, 0), vec![(Source::Email, 0)]);
        assert_eq!(
            a.drained(),
            [true, false, true],
            "email has delivered since its end"
        );
    }
}
