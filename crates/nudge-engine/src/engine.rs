//! The engine: all customers of one task, their timer index, and the changelog bookkeeping.

use nudge_events::{Event, Output, Ts};

use crate::config::EngineConfig;
use crate::customer::{next_timer, Customer};
use crate::index::Index;
use crate::key::Key;
use crate::slab::Slab;
use crate::state::CustomerState;
use crate::timers::Timers;

struct Slot {
    key: Key,
    state: CustomerState,
    /// The customer's earliest pending timer, as the timer index knows it.
    due: Option<Ts>,
    dirty: bool,
}

/// The pure, deterministic journey engine for one task (one partition of the inputs).
///
/// Feed it decoded records with [`Engine::apply`] and move event time forward with
/// [`Engine::advance`]; both append the records they produce to `out`. It never reads a clock
/// and does no I/O: the same calls give the same outputs, byte for byte.
pub struct Engine {
    cfg: EngineConfig,
    slots: Slab<Slot>,
    free: Vec<u32>,
    index: Index,
    /// Each customer's earliest pending timer, by (due time, slot).
    timers: Timers,
    dirty: Vec<u32>,
    removed: Vec<Key>,
    watermark: Ts,
    open_sessions: usize,
}

impl Engine {
    /// An engine with no customers yet. The config should have passed
    /// [`EngineConfig::validate`].
    pub fn new(cfg: EngineConfig) -> Engine {
        Engine {
            cfg,
            slots: Slab::default(),
            free: Vec::new(),
            index: Index::default(),
            timers: Timers::default(),
            dirty: Vec::new(),
            removed: Vec::new(),
            watermark: Ts(i64::MIN),
            open_sessions: 0,
        }
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// The current watermark: every timer due strictly before it has fired.
    pub fn watermark(&self) -> Ts {
        self.watermark
    }

    /// Customers with state.
    pub fn customers(&self) -> usize {
        self.index.len()
    }

    /// Sessions open now.
    pub fn open_sessions(&self) -> usize {
        self.open_sessions
    }

    /// A customer's state, if the engine has any.
    pub fn state(&self, key: &str) -> Option<&CustomerState> {
        self.index
            .get(key)
            .map(|slot| &self.slots[slot as usize].state)
    }

    /// Applies one record. Records of unknown type are ignored (the caller counts them); a
    /// record older than the watermark (late) still updates state.
    pub fn apply(&mut self, event: &Event, out: &mut Vec<Output>) {
        if event.is_unknown_type() {
            return;
        }
        let slot = self.slot_for(event.key());
        self.with_customer(slot, out, |c| c.apply(event));
    }

    /// Moves the watermark forward (never back) and fires every timer due strictly before it,
    /// in (due time, customer) order. Timers that late records set behind the watermark fire
    /// here too, even when the watermark does not move.
    pub fn advance(&mut self, watermark: Ts, out: &mut Vec<Output>) {
        self.watermark = self.watermark.max(watermark);
        let watermark = self.watermark;
        while let Some(slot) = self
            .timers
            .pop_before(watermark, |slot| self.slots[slot as usize].due)
        {
            // The timer's entry is gone: the slot has none until it is reindexed.
            let due = self.slots[slot as usize].due.take();
            self.timers.moved(slot, due, None);
            self.with_customer(slot, out, |c| c.fire_before(watermark));
        }
    }

    /// Replaces (or, with `None`, removes) a customer's state, as read back from the
    /// changelog. Restored customers are not dirty.
    pub fn restore(&mut self, key: &str, state: Option<CustomerState>) {
        match state {
            Some(state) => {
                let slot = self.slot_for(key);
                let s = &mut self.slots[slot as usize];
                self.open_sessions -= usize::from(s.state.session.is_some());
                self.open_sessions += usize::from(state.session.is_some());
                s.state = state;
                self.reindex(slot);
            }
            None => {
                if let Some(slot) = self.index.get(key) {
                    self.release(slot);
                }
            }
        }
    }

    /// Drops customers whose latest record is older than `ttl` before the watermark; each one
    /// is reported by the next [`Engine::drain_dirty`] as a removal (a changelog tombstone).
    pub fn evict_idle(&mut self, ttl_ms: i64) -> usize {
        let horizon = self.watermark.plus(-ttl_ms);
        let idle: Vec<u32> = self
            .index
            .slots()
            .filter(|&slot| self.slots[slot as usize].state.last_seen < horizon)
            .collect();
        for &slot in &idle {
            let key = self.slots[slot as usize].key.clone();
            self.release(slot);
            self.removed.push(key);
        }
        idle.len()
    }

    /// Whether [`Engine::drain_dirty`] may have anything to hand over.
    pub fn has_changes(&self) -> bool {
        !self.dirty.is_empty() || !self.removed.is_empty()
    }

    /// Hands every customer changed since the last call to `f`: `Some(state)` for a change,
    /// `None` for a removal. Order: changes in first-touch order, then removals.
    pub fn drain_dirty(&mut self, mut f: impl FnMut(&str, Option<&CustomerState>)) {
        for slot in std::mem::take(&mut self.dirty) {
            let s = &mut self.slots[slot as usize];
            if s.dirty {
                s.dirty = false;
                f(s.key.as_str(), Some(&s.state));
            }
        }
        for key in std::mem::take(&mut self.removed) {
            f(key.as_str(), None);
        }
    }

    fn slot_for(&mut self, key: &str) -> u32 {
        let slots = &self.slots;
        let found = self
            .index
            .find(key, |slot, key| slots[slot as usize].key == *key);
        if let Some(slot) = found {
            return slot;
        }
        let key = Key::new(key);
        let fresh = Slot {
            key: key.clone(),
            state: CustomerState::default(),
            due: None,
            dirty: false,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = fresh;
                slot
            }
            None => {
                self.slots.push(fresh);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 customers per task")
            }
        };
        self.index.insert(key, slot);
        slot
    }

    fn release(&mut self, slot: u32) {
        let s = &mut self.slots[slot as usize];
        self.timers.moved(slot, s.due.take(), None);
        self.open_sessions -= usize::from(s.state.session.is_some());
        s.dirty = false;
        s.state = CustomerState::default();
        self.index.remove(&s.key, slot);
        self.free.push(slot);
    }

    fn with_customer(&mut self, slot: u32, out: &mut Vec<Output>, f: impl FnOnce(&mut Customer)) {
        let s = &mut self.slots[slot as usize];
        let had_session = s.state.session.is_some();
        let mut customer = Customer {
            cfg: &self.cfg,
            key: s.key.as_str(),
            st: &mut s.state,
            out,
        };
        f(&mut customer);
        let has_session = s.state.session.is_some();
        self.open_sessions =
            self.open_sessions + usize::from(has_session) - usize::from(had_session);
        if !s.dirty {
            s.dirty = true;
            self.dirty.push(slot);
        }
        self.reindex(slot);
    }

    fn reindex(&mut self, slot: u32) {
        let s = &mut self.slots[slot as usize];
        let due = next_timer(&self.cfg, &s.state).map(|(due, _)| due);
        let old = std::mem::replace(&mut s.due, due);
        self.timers.moved(slot, old, due);
        if self.timers.bloated(self.slots.len()) {
            let live = self.slots.iter().zip(0u32..);
            self.timers
                .rebuild(live.filter_map(|(s, slot)| s.due.map(|due| (due, slot))));
        }
    }
}
