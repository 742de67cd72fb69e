//! A tiny seeded PRNG (splitmix64) and the draws the simulator needs.
//!
//! Integer arithmetic only: no `ln` or `exp`, whose results may differ in the last bit between
//! platforms' math libraries, so a seed gives the same traffic everywhere.

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The splitmix64 finalizer: a bijection that spreads every input bit over the output.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Independent random streams of one simulation, one set per customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Who the customer is: persona, profile, habits. Recomputable from the seed alone.
    Traits = 1,
    /// What the customer does, draw after draw.
    Behaviour = 2,
}

/// splitmix64: 64 bits of state, passes BigCrush, and is trivially seedable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rng(u64);

impl Rng {
    /// The stream `stream` of customer `index` in the simulation seeded with `seed`.
    pub fn derive(seed: u64, index: u32, stream: Stream) -> Rng {
        let lane = mix(u64::from(index) ^ (stream as u64).wrapping_mul(GOLDEN));
        Rng(mix(seed ^ lane))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    /// Uniform in `0..n` (0 when `n` is 0). Multiply-shift: the bias is below 2^-40 for the
    /// small `n` used here.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi.abs_diff(lo)) as i64
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u32) -> bool {
        self.below(100) < u64::from(percent)
    }

    /// True with probability `per_mille` / 1000.
    pub fn per_mille(&mut self, per_mille: u32) -> bool {
        self.below(1000) < u64::from(per_mille)
    }

    /// A uniformly chosen element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index drawn with the given weights; 0 when they are all zero.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if x < u64::from(w) {
                return i;
            }
            x -= u64::from(w);
        }
        0
    }

    /// Roughly log-uniform in `lo..hi` (both positive): every doubling of the value is about
    /// equally likely, so short gaps are common and long ones still happen, like real
    /// inter-event times.
    pub fn spread(&mut self, lo: i64, hi: i64) -> i64 {
        let lo = lo.max(1);
        if hi <= lo {
            return lo;
        }
        let mut octaves = 0u32;
        while octaves < 62 && (i128::from(lo) << (octaves + 1)) < i128::from(hi) {
            octaves += 1;
        }
        let a = lo << self.below(u64::from(octaves) + 1);
        let b = a.saturating_mul(2).min(hi);
        self.range(a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = {
            let mut r = Rng::derive(7, 3, Stream::Behaviour);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let mut r = Rng::derive(7, 3, Stream::Behaviour);
        assert_eq!(a, (0..4).map(|_| r.next_u64()).collect::<Vec<_>>());
        assert_ne!(
            Rng::derive(7, 3, Stream::Traits),
            Rng::derive(7, 3, Stream::Behaviour)
        );
        assert_ne!(
            Rng::derive(7, 3, Stream::Traits),
            Rng::derive(7, 4, Stream::Traits)
        );
        assert_ne!(
            Rng::derive(7, 3, Stream::Traits),
            Rng::derive(8, 3, Stream::Traits)
        );
    }

    #[test]
    fn draws_stay_in_their_ranges() {
        let mut r = Rng::derive(1, 1, Stream::Behaviour);
        for _ in 0..10_000 {
            assert!((5..9).contains(&r.range(5, 9)));
            let s = r.spread(1_000, 180_000);
            assert!((1_000..180_000).contains(&s), "{s}");
            assert!(r.weighted(&[0, 3, 0]) == 1);
        }
        assert_eq!(r.range(4, 4), 4);
        assert_eq!(r.spread(10, 10), 10);
    }

    #[test]
    fn spread_favours_short_values_but_reaches_long_ones() {
        let mut r = Rng::derive(2, 2, Stream::Behaviour);
        let draws: Vec<i64> = (0..10_000).map(|_| r.spread(1_000, 1_024_000)).collect();
        let short = draws.iter().filter(|&&d| d < 32_000).count();
        let long = draws.iter().filter(|&&d| d >= 512_000).count();
        assert!((4_000..6_000).contains(&short), "{short} short");
        assert!((700..1_300).contains(&long), "{long} long");
    }
}
