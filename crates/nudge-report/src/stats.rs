//! The statistics behind the figures: rates, medians with bounded memory, and the interval
//! of a difference of two proportions.

use std::collections::BTreeMap;

use crate::model::Interval;

/// The two-sided 95% normal quantile.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// How the uplift interval is computed, as the report states it.
pub const METHOD: &str = "Newcombe's hybrid score interval (Newcombe 1998, method 10) for the \
difference of two independent proportions, built from each arm's Wilson score interval";

/// `num / den`, or `None` when `den` is zero.
pub fn ratio(num: f64, den: u64) -> Option<f64> {
    (den > 0).then(|| num / den as f64)
}

/// The Wilson score interval of `x` successes in `n` trials (`n > 0`).
pub fn wilson(x: u64, n: u64, z: f64) -> (f64, f64) {
    let n = n as f64;
    let p = x as f64 / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// `x1/n1 - x2/n2` with Newcombe's hybrid score interval (both `n` > 0).
pub fn newcombe(x1: u64, n1: u64, x2: u64, n2: u64, z: f64) -> Interval {
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let (l1, u1) = wilson(x1, n1, z);
    let (l2, u2) = wilson(x2, n2, z);
    let d = p1 - p2;
    Interval {
        difference: d,
        low: d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt(),
        high: d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt(),
    }
}

/// Durations in seconds: the exact mean, and the median of the values rounded down to whole
/// seconds, kept as one counter per distinct second so memory does not grow with the count.
#[derive(Clone, Debug, Default)]
pub struct Durations {
    count: u64,
    sum: f64,
    seconds: BTreeMap<u64, u64>,
}

impl Durations {
    /// Adds one duration (negative ones count as zero).
    pub fn add(&mut self, secs: f64) {
        let secs = secs.max(0.0);
        self.count += 1;
        self.sum += secs;
        *self.seconds.entry(secs.floor() as u64).or_default() += 1;
    }

    /// The arithmetic mean.
    pub fn mean(&self) -> Option<f64> {
        ratio(self.sum, self.count)
    }

    /// The median of the whole seconds: the middle value, or the mean of the two middle ones.
    pub fn median(&self) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let lower = self.nth((self.count - 1) / 2);
        let upper = self.nth(self.count / 2);
        Some((lower + upper) as f64 / 2.0)
    }

    /// The value at 0-based rank `k` in sorted order.
    fn nth(&self, k: u64) -> u64 {
        let mut seen = 0;
        for (&value, &n) in &self.seconds {
            seen += n;
            if seen > k {
                return value;
            }
        }
        unreachable!("rank {k} is below the count {}", self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-5
    }

    #[test]
    fn newcombe_matches_the_published_examples() {
        // Newcombe (1998), Statistics in Medicine 17, table II, method 10, examples (a) to (e).
        let cases = [
            ((56, 70, 48, 80), (0.0524, 0.3339)),
            ((9, 10, 3, 10), (0.1705, 0.8090)),
            ((6, 7, 2, 7), (0.0582, 0.8062)),
            ((5, 56, 0, 29), (-0.0381, 0.1926)),
            ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ];
        for ((x1, n1, x2, n2), (low, high)) in cases {
            let ci = newcombe(x1, n1, x2, n2, Z_95);
            assert!(
                close(ci.low, low) && close(ci.high, high),
                "{x1}/{n1} - {x2}/{n2}: {ci:?}"
            );
        }
    }

    #[test]
    fn wilson_of_none_and_all() {
        let (l, u) = wilson(0, 10, Z_95);
        assert_eq!(l, 0.0);
        assert!(close(u, 0.2775), "{u}");
        let (l, u) = wilson(10, 10, Z_95);
        assert!(close(l, 0.7225) && close(u, 1.0), "{l} {u}");
    }

    #[test]
    fn median_of_whole_seconds() {
        let mut d = Durations::default();
        assert_eq!(d.median(), None);
        for s in [600.0, 0.0, 120.9, 480.0] {
            d.add(s);
        }
        // Sorted whole seconds 0, 120, 480, 600: the middle two average to 300.
        assert_eq!(d.median(), Some(300.0));
        assert!(close(d.mean().unwrap(), 300.225));
        d.add(7200.0);
        assert_eq!(d.median(), Some(480.0));
    }
}
