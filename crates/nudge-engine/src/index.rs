//! The customer index: key to slot, with a small cache of recent lookups in front.
//!
//! With 100k customers the index's table (tens of bytes a customer) is far larger than the
//! CPU caches, so a lookup costs a memory access before the slot's own. Records come in
//! bursts per customer (the clicks of a session), so a direct-mapped table of the slots most
//! recently looked up, small enough to stay cached, answers most lookups; each hit is checked
//! against the key stored in the slot, which the engine reads next anyway.

use std::hash::BuildHasher;

use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::key::Key;

/// Entries in the cache of recent lookups (a power of two): 16k entries of 8 bytes.
const RECENT: usize = 1 << 14;

/// No slot: an empty cache entry.
const EMPTY: u32 = u32::MAX;

/// Key to slot, with a cache of recent lookups.
pub(crate) struct Index {
    /// The truth. Its iteration order decides which idle customer is evicted first, and so
    /// which slot is reused: keys hash as `str` did when it was keyed by `Box<str>`.
    map: FxHashMap<Key, u32>,
    /// (upper half of the key's hash, slot), by the lower bits of the hash.
    recent: Box<[(u32, u32)]>,
}

impl Default for Index {
    fn default() -> Index {
        Index {
            map: FxHashMap::default(),
            recent: vec![(0, EMPTY); RECENT].into_boxed_slice(),
        }
    }
}

impl Index {
    /// Customers in the index.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// The slot of `key`, without touching the cache.
    pub fn get(&self, key: &str) -> Option<u32> {
        match Key::inline(key) {
            Some(inline) => self.map.get(&inline),
            None => self.map.get(key),
        }
        .copied()
    }

    /// The slot of `key`, through the cache for ids stored inline; `holds(slot, key)` tells
    /// whether a slot holds the key, and guards against keys with the same position and tag.
    pub fn find(&mut self, key: &str, holds: impl Fn(u32, &Key) -> bool) -> Option<u32> {
        let Some(probe) = Key::inline(key) else {
            return self.get(key);
        };
        let (i, tag) = position(&probe);
        let (cached_tag, cached) = self.recent[i];
        if cached_tag == tag && cached != EMPTY && holds(cached, &probe) {
            return Some(cached);
        }
        let slot = *self.map.get(&probe)?;
        self.recent[i] = (tag, slot);
        Some(slot)
    }

    /// Adds `key` at `slot` (the key must not be in the index yet). Cache entries only ever
    /// name the current slot of a key in the index: they are made here and by a lookup, and
    /// [`Index::remove`] clears the one a key can have.
    pub fn insert(&mut self, key: Key, slot: u32) {
        let (i, tag) = position(&key);
        self.recent[i] = (tag, slot);
        self.map.insert(key, slot);
    }

    /// Removes `key`, which was at `slot`, and any cache entry naming the slot for it.
    pub fn remove(&mut self, key: &Key, slot: u32) {
        let (i, _) = position(key);
        if self.recent[i].1 == slot {
            self.recent[i] = (0, EMPTY);
        }
        self.map.remove(key);
    }

    /// The slots, in the map's iteration order.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.map.values().copied()
    }
}

/// Where `key` goes in the cache, and the tag that tells it from other keys going there.
fn position(key: &Key) -> (usize, u32) {
    let h = FxBuildHasher.hash_one(key);
    ((h as usize) & (RECENT - 1), (h >> 32) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(keys: &[Option<Key>]) -> impl Fn(u32, &Key) -> bool + '_ {
        |slot, key| keys[slot as usize].as_ref() == Some(key)
    }

    #[test]
    fn finds_through_the_cache_and_never_a_removed_or_reused_slot() {
        let mut keys: Vec<Option<Key>> = Vec::new();
        let mut index = Index::default();
        for n in 0..50_000u32 {
            let key = Key::new(&format!("c{n:07}"));
            index.insert(key.clone(), n);
            keys.push(Some(key));
        }
        for n in (0..50_000u32).step_by(7) {
            let id = format!("c{n:07}");
            assert_eq!(index.find(&id, holds(&keys)), Some(n));
            assert_eq!(index.find(&id, holds(&keys)), Some(n));
            assert_eq!(index.get(&id), Some(n));
        }
        // Remove every third customer; reuse some of their slots for new ones.
        for n in (0..50_000u32).step_by(3) {
            let key = keys[n as usize].take().expect("present");
            index.remove(&key, n);
        }
        // A freed slot keeps its old key until reused: only the index may say it is gone.
        for n in (0..50_000u32).step_by(3) {
            assert_eq!(index.find(&format!("c{n:07}"), |_, _| true), None);
        }
        for n in (0..50_000u32).step_by(6) {
            let key = Key::new(&format!("new{n}"));
            index.insert(key.clone(), n);
            keys[n as usize] = Some(key);
        }
        for n in 0..50_000u32 {
            let id = format!("c{n:07}");
            let want = (n % 3 != 0).then_some(n);
            assert_eq!(index.find(&id, holds(&keys)), want, "{id}");
            assert_eq!(index.get(&id), want);
            let reused = format!("new{n}");
            assert_eq!(index.find(&reused, holds(&keys)), (n % 6 == 0).then_some(n));
        }
        let long = "x".repeat(40);
        index.insert(Key::new(&long), 50_000);
        assert_eq!(index.find(&long, |_, _| false), Some(50_000));
        assert_eq!(index.len(), 50_000 - 50_000 / 3 - 1 + 50_000 / 6 + 1 + 1);
    }
}
