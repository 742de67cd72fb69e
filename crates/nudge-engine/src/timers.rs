//! The timer index: each customer's earliest due time, in (due time, slot) order.
//!
//! Almost every record moves its customer's due time, nearly always later (the session closes
//! a timeout after the latest click), so the index is a binary heap of (time, slot) entries
//! checked lazily against each slot's due time, which the engine keeps in the slot (already
//! in cache when it changes):
//!
//! - A due time that moves earlier (or appears) is pushed. One that moves later is not: the
//!   slot's existing entry is earlier still, and when it surfaces it is put back at the slot's
//!   current due time. One that goes away leaves its entries behind.
//! - So every slot with a timer has an entry no later than its due time, and an entry that
//!   surfaces is the slot's timer if its time equals the due time, a placeholder to put back
//!   if earlier, and stale (dropped) if later or if the slot has no timer.
//!
//! Entries are ordered by (time, slot) and a slot fires only when an entry equal to its
//! (due time, slot) is the minimum, so timers fire in exactly (due time, slot) order. A slot
//! reused by another customer is no exception: an old entry acts for the new timer only by
//! that same rule, never at a time other than the new due time.

use std::cmp::Reverse;
use std::collections::binary_heap::{BinaryHeap, PeekMut};

use nudge_events::Ts;

/// Entries the heap may hold beyond twice the live timers before it is rebuilt (small in
/// tests, so that they rebuild often).
const SLACK: usize = if cfg!(test) { 16 } else { 1024 };

/// How far past the watermark entries go into the heap; later ones wait in a plain list.
const NEAR_MS: i64 = if cfg!(test) { 200 } else { 3_600_000 };

/// Pending timers of all slots, earliest (due time, slot) first.
///
/// Most timers are days away (re-engagement), and only deepen a heap that is popped for the
/// next minutes, so entries due after `horizon` wait unordered in `far` until the watermark
/// passes the horizon, which then moves [`NEAR_MS`] past it: at most one pass over `far` per
/// hour of event time.
pub(crate) struct Timers {
    /// Entries due up to `horizon` (and some later ones).
    near: BinaryHeap<Reverse<(Ts, u32)>>,
    /// Entries due after `horizon`, in no order.
    far: Vec<(Ts, u32)>,
    /// The earliest time in `far`.
    far_min: Ts,
    /// Only moves forward.
    horizon: Ts,
    /// Slots with a due time.
    live: usize,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            near: BinaryHeap::new(),
            far: Vec::new(),
            far_min: Ts(i64::MAX),
            horizon: Ts(i64::MIN),
            live: 0,
        }
    }
}

impl Timers {
    /// Records that `slot`'s due time changed from `old` to `new` (`None`: no timer).
    pub fn moved(&mut self, slot: u32, old: Option<Ts>, new: Option<Ts>) {
        self.live = self.live + usize::from(new.is_some()) - usize::from(old.is_some());
        match (old, new) {
            // Later (or the same): the entry that stood for `old` stands for `new` too.
            (Some(old), Some(new)) if new >= old => {}
            (_, Some(new)) => self.push(new, slot),
            (_, None) => {}
        }
    }

    /// Removes the entry of the slot with the earliest timer due strictly before `limit` and
    /// returns the slot, reading due times through `due`. Its entry is gone: the caller must
    /// record `moved(slot, due, None)` before firing it, then the next due time as usual.
    pub fn pop_before(&mut self, limit: Ts, due: impl Fn(u32) -> Option<Ts>) -> Option<u32> {
        // Every entry before `limit` must be in `near`, and a placeholder put back before
        // `limit` must stay there: so the horizon first moves past `limit`.
        if self.horizon < limit {
            self.draw_near(limit);
        }
        loop {
            let mut top = self.near.peek_mut()?;
            let Reverse((t, slot)) = *top;
            if t >= limit {
                return None;
            }
            match due(slot) {
                Some(d) if d == t => {
                    PeekMut::pop(top);
                    return Some(slot);
                }
                // A placeholder: put it back at the due time (one sift instead of two).
                Some(d) if d > t && d <= self.horizon => *top = Reverse((d, slot)),
                Some(d) if d > t => {
                    PeekMut::pop(top);
                    self.push(d, slot);
                }
                _ => {
                    PeekMut::pop(top);
                }
            }
        }
    }

    /// Whether stale entries outnumber live ones (plus slack) and the index has outgrown the
    /// `slots`. Rebuilding then keeps memory within a small multiple of the live timers or
    /// the slots, and each O(slots) rebuild is paid for by at least half as many pushes.
    pub fn bloated(&self, slots: usize) -> bool {
        let len = self.near.len() + self.far.len();
        len > 2 * self.live + SLACK && len > slots
    }

    /// Replaces the entries with exactly the live `timers`, as (due time, slot).
    pub fn rebuild(&mut self, timers: impl Iterator<Item = (Ts, u32)>) {
        let mut near = std::mem::take(&mut self.near).into_vec();
        near.clear();
        self.far.clear();
        self.far_min = Ts(i64::MAX);
        for (t, slot) in timers {
            if t <= self.horizon {
                near.push(Reverse((t, slot)));
            } else {
                self.far.push((t, slot));
                self.far_min = self.far_min.min(t);
            }
        }
        self.live = near.len() + self.far.len();
        self.near = BinaryHeap::from(near);
    }

    fn push(&mut self, t: Ts, slot: u32) {
        if t <= self.horizon {
            self.near.push(Reverse((t, slot)));
        } else {
            self.far.push((t, slot));
            self.far_min = self.far_min.min(t);
        }
    }

    /// Moves the horizon to [`NEAR_MS`] past `limit` and the entries it now covers to `near`.
    fn draw_near(&mut self, limit: Ts) {
        self.horizon = self.horizon.max(limit.plus(NEAR_MS));
        if self.far_min > self.horizon {
            return;
        }
        let (near, horizon) = (&mut self.near, self.horizon);
        let mut far_min = Ts(i64::MAX);
        self.far.retain(|&(t, slot)| {
            if t <= horizon {
                near.push(Reverse((t, slot)));
                return false;
            }
            far_min = far_min.min(t);
            true
        });
        self.far_min = far_min;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// A tiny deterministic generator, so the test needs no extra dependency.
    fn next(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Drives `Timers` and an ordered set side by side; returns how often the heap was rebuilt.
    /// `spread` is how far ahead of the limit due times land, `advance_one_in` how rarely the
    /// limit moves: far and rarely make the heap churn.
    fn check_against_ordered_set(seed: u64, spread: u64, advance_one_in: u64) -> usize {
        let mut seed = seed;
        let mut timers = Timers::default();
        let mut set = BTreeSet::new();
        let mut due = vec![None; 300];
        let mut limit = 0;
        let mut rebuilds = 0;
        for _ in 0..100_000 {
            let slot = (next(&mut seed) % 300) as u32;
            // Mostly later times, some behind the limit (late records), some removals (a slot
            // that is freed, and maybe reused).
            let t = match next(&mut seed) % 10 {
                0 => None,
                1 => Some(Ts(limit - (next(&mut seed) % 50) as i64)),
                _ => Some(Ts(limit + (next(&mut seed) % spread) as i64)),
            };
            let old = std::mem::replace(&mut due[slot as usize], t);
            if let Some(old) = old {
                set.remove(&(old, slot));
            }
            if let Some(t) = t {
                set.insert((t, slot));
            }
            timers.moved(slot, old, t);
            if timers.bloated(due.len()) {
                rebuilds += 1;
                let live = due
                    .iter()
                    .zip(0u32..)
                    .filter_map(|(d, s)| d.map(|t| (t, s)));
                timers.rebuild(live);
            }
            if next(&mut seed) % advance_one_in == 0 {
                limit += (next(&mut seed) % 40) as i64;
                while let Some(slot) = timers.pop_before(Ts(limit), |s| due[s as usize]) {
                    let first = set.pop_first().expect("the set has the same timers");
                    assert_eq!((Some(first.0), first.1), (due[slot as usize], slot));
                    assert!(first.0 < Ts(limit));
                    timers.moved(slot, due[slot as usize].take(), None);
                }
                assert!(set.first().is_none_or(|&(t, _)| t >= Ts(limit)));
            }
            assert_eq!(timers.live, set.len());
            assert!(timers.near.len() + timers.far.len() <= 2 * 300 + SLACK + 1);
            assert!(timers.far.iter().all(|&(t, _)| t > timers.horizon));
        }
        rebuilds
    }

    #[test]
    fn pops_in_the_same_order_as_an_ordered_set() {
        check_against_ordered_set(7, 500, 8);
    }

    #[test]
    fn rebuilds_a_churning_heap_without_changing_the_order() {
        assert!(check_against_ordered_set(11, 100_000, 200) > 0);
    }
}
