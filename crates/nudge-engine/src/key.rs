//! Customer keys with short ids stored inline, so the customer index compares keys inside its
//! own table instead of following a pointer to a separate allocation for every lookup.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// The longest id stored inline: the most that fits beside the length in a 24-byte key.
const INLINE: usize = 22;

/// A customer id: inline up to [`INLINE`] bytes, on the heap beyond.
///
/// The representation is canonical (an id that fits is always inline, zero-padded), so
/// equality can compare whole inline buffers. Hashing and equality agree with `str`'s, which
/// lets the index look up long ids by `&str` without allocating, and keeps the index's hashes,
/// and so its iteration order (the order idle customers are evicted in), what they were.
#[derive(Clone, Debug)]
pub(crate) enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl Key {
    /// The key for `id`; allocates only for ids longer than [`INLINE`] bytes.
    pub fn new(id: &str) -> Key {
        Key::inline(id).unwrap_or_else(|| Key::Heap(id.into()))
    }

    /// The inline key for `id`, if it is short enough.
    pub fn inline(id: &str) -> Option<Key> {
        let src = id.as_bytes();
        let len = u8::try_from(src.len())
            .ok()
            .filter(|&n| usize::from(n) <= INLINE)?;
        let mut bytes = [0; INLINE];
        bytes[..src.len()].copy_from_slice(src);
        Some(Key::Inline { len, bytes })
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Heap(id) => id.as_bytes(),
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        match self {
            // Checking the few inline bytes costs nanoseconds and keeps this crate free of
            // `unsafe`; they were copied whole from a `&str`, so the check cannot fail.
            Key::Inline { .. } => {
                std::str::from_utf8(self.as_bytes()).expect("inline keys are copied from a str")
            }
            Key::Heap(id) => id,
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        match (self, other) {
            // Fixed-size compares, no call to memcmp; the padding is always zero.
            (Key::Inline { len: a, bytes: x }, Key::Inline { len: b, bytes: y }) => {
                a == b && x == y
            }
            (Key::Heap(a), Key::Heap(b)) => a == b,
            // Canonical: the same id is never stored both ways.
            _ => false,
        }
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // What `str`'s `Hash` does (`Hasher::write_str` is not stable to override), without
        // checking the bytes again: the test below holds the two to the same hash.
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

impl Borrow<str> for Key {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::DefaultHasher;

    use rustc_hash::{FxHashMap, FxHasher};

    #[test]
    fn short_ids_are_inline_and_long_ones_on_the_heap() {
        assert_eq!(std::mem::size_of::<Key>(), 24);
        for id in ["", "c0000042", "é-unicode-✓", &"x".repeat(INLINE)] {
            assert!(matches!(Key::new(id), Key::Inline { .. }), "{id}");
            assert_eq!(Key::new(id).as_str(), id);
        }
        let long = "y".repeat(INLINE + 1);
        assert!(matches!(Key::new(&long), Key::Heap(_)));
        assert_eq!(Key::new(&long).as_str(), long);
    }

    fn hash_with<H: Hasher + Default>(value: &(impl Hash + ?Sized)) -> u64 {
        let mut hasher = H::default();
        value.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn equality_and_hash_agree_with_str() {
        let mut index = FxHashMap::default();
        let ids = [
            "a",
            "ab",
            "a\0",
            "c0000001",
            &"z".repeat(40),
            &"z".repeat(41),
        ];
        for (i, id) in ids.iter().enumerate() {
            index.insert(Key::new(id), i);
        }
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(index.get(&Key::new(id)), Some(&i));
            assert_eq!(index.get(*id), Some(&i));
            assert_eq!(
                hash_with::<FxHasher>(&Key::new(id)),
                hash_with::<FxHasher>(*id)
            );
            assert_eq!(
                hash_with::<DefaultHasher>(&Key::new(id)),
                hash_with::<DefaultHasher>(*id)
            );
        }
        assert_eq!(index.get(&Key::new("c0000002")), None);
        assert_ne!(Key::new("a"), Key::new("a\0"));
    }
}
