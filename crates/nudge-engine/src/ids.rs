//! Stable hashes: deterministic ids and holdout assignment that never change between runs,
//! machines or releases (so not `std`'s randomly seeded hasher).

use nudge_events::{TriggerType, Ts};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over the parts, each followed by a 0xff separator (never valid UTF-8, so parts
/// cannot run into each other), then a splitmix64 finalizer to spread the low bits.
fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut h = FNV_OFFSET;
    for part in parts {
        for &b in part.iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(FNV_PRIME);
        }
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The id of the trigger of `kind` for the episode that opened at `episode`.
pub fn trigger_id(customer: &str, kind: TriggerType, episode: Ts) -> String {
    let h = stable_hash(&[
        customer.as_bytes(),
        kind.name().as_bytes(),
        &episode.millis().to_be_bytes(),
    ]);
    with_hex(kind.name(), h)
}

/// The id of the session that started at `start`.
pub fn session_id(customer: &str, start: Ts) -> String {
    let h = stable_hash(&[customer.as_bytes(), &start.millis().to_be_bytes()]);
    with_hex("s", h)
}

/// `{prefix}-{h:016x}`, without the formatting machinery (ids are made for every output).
fn with_hex(prefix: &str, h: u64) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(prefix.len() + 17);
    id.push_str(prefix);
    id.push('-');
    for shift in (0..16).rev() {
        id.push(char::from(DIGITS[(h >> (shift * 4)) as usize & 0xf]));
    }
    id
}

/// Whether the customer is in the holdout arm for `kind`, given the holdout percentage.
pub fn in_holdout(customer: &str, kind: TriggerType, percent: u8) -> bool {
    let h = stable_hash(&[customer.as_bytes(), kind.name().as_bytes()]);
    h % 100 < u64::from(percent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = trigger_id("c1", TriggerType::CartAbandoned, Ts(1));
        assert_eq!(a, trigger_id("c1", TriggerType::CartAbandoned, Ts(1)));
        assert_ne!(a, trigger_id("c1", TriggerType::CartAbandoned, Ts(2)));
        assert_ne!(a, trigger_id("c2", TriggerType::CartAbandoned, Ts(1)));
        assert!(a.starts_with("cart_abandoned-"));
        assert_ne!(session_id("ab", Ts(0)), session_id("a", Ts(0)));
    }

    #[test]
    fn ids_read_as_formatted_hex() {
        let mut h = 1u64;
        for i in 0..10_000u64 {
            h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(i);
            for x in [h, h >> (i % 64), 0, u64::MAX] {
                assert_eq!(with_hex("s", x), format!("s-{x:016x}"));
            }
        }
        let id = trigger_id("c1", TriggerType::ReEngagement, Ts(-5));
        let h = stable_hash(&[b"c1", b"re_engagement", &(-5i64).to_be_bytes()]);
        assert_eq!(id, format!("re_engagement-{h:016x}"));
    }

    #[test]
    fn holdout_share_is_close_to_the_percentage() {
        let n = 20_000;
        let held = (0..n)
            .filter(|i| in_holdout(&format!("c{i}"), TriggerType::CartAbandoned, 10))
            .count();
        assert!((1_800..2_200).contains(&held), "{held} of {n} in holdout");
        assert!(!in_holdout("c1", TriggerType::CartAbandoned, 0));
        assert!(in_holdout("c1", TriggerType::CartAbandoned, 100));
    }
}
