//! A vector that grows in fixed-size chunks: customer slots are large, and a plain `Vec` of
//! them copies (and faults in) the whole table again every time it doubles, and keeps up to
//! half of it as unused capacity.

use std::ops::{Index, IndexMut};

/// Elements per chunk.
const CHUNK: usize = 1024;

/// An append-only sequence indexed like a slice, stored in chunks of [`CHUNK`] elements that
/// never move once allocated.
pub(crate) struct Slab<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Slab<T> {
        Slab {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Elements pushed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Appends `value`; returns its index.
    pub fn push(&mut self, value: T) -> usize {
        if self.len % CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.push(value);
        }
        self.len += 1;
        self.len - 1
    }

    /// The elements, in index order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

impl<T> Index<usize> for Slab<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

impl<T> IndexMut<usize> for Slab<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_across_chunks_like_a_vec() {
        let mut slab = Slab::default();
        let n = 3 * CHUNK + 5;
        for i in 0..n {
            assert_eq!(slab.push(i * 2), i);
        }
        assert_eq!(slab.len(), n);
        slab[CHUNK] += 1;
        assert_eq!(slab[CHUNK], 2 * CHUNK + 1);
        assert_eq!(slab[n - 1], 2 * (n - 1));
        assert!(slab
            .iter()
            .zip(0..)
            .all(|(&v, i)| v == 2 * i + usize::from(i == CHUNK)));
        assert_eq!(slab.iter().count(), n);
        assert!(slab.chunks.iter().all(|c| c.capacity() == CHUNK));
    }
}
