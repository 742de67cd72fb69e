//! Event time: milliseconds since the Unix epoch, RFC 3339 on the wire.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Marker in serde error messages so decoders can tell a bad timestamp from other data errors.
pub(crate) const BAD_TIMESTAMP: &str = "bad timestamp";

/// Earliest event time accepted from input: 2000-01-01T00:00:00Z.
pub const MIN_VALID: Ts = Ts(946_684_800_000);
/// Latest event time accepted from input (exclusive): 2100-01-01T00:00:00Z.
pub const MAX_VALID: Ts = Ts(4_102_444_800_000);

/// A point in event time, in milliseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub i64);

impl Ts {
    /// The timestamp as epoch milliseconds.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// This timestamp plus `ms` milliseconds, saturating.
    pub fn plus(self, ms: i64) -> Ts {
        Ts(self.0.saturating_add(ms))
    }

    /// Whether the timestamp lies in the range accepted from input.
    pub fn is_plausible(self) -> bool {
        (MIN_VALID..MAX_VALID).contains(&self)
    }

    /// Parses an RFC 3339 timestamp (any offset) into UTC milliseconds.
    pub fn parse_rfc3339(s: &str) -> Option<Ts> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| Ts(t.timestamp_millis()))
    }

    /// The timestamp as a UTC `DateTime`, if representable.
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(self.0)
    }
}

impl fmt::Display for Ts {
    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-30T10:00:00.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_datetime() {
            Some(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true)),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ts, D::Error> {
        struct TsVisitor;
        impl Visitor<'_> for TsVisitor {
            type Value = Ts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 string or integer epoch milliseconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ts, E> {
                Ok(Ts(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ts, E> {
                i64::try_from(v)
                    .map(Ts)
                    .map_err(|_| E::custom(format_args!("{BAD_TIMESTAMP}: {v} out of range")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Ts, E> {
                Err(E::custom(format_args!(
                    "{BAD_TIMESTAMP}: {v} is not integer milliseconds"
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ts, E> {
                Ts::parse_rfc3339(v).ok_or_else(|| {
                    E::custom(format_args!("{BAD_TIMESTAMP}: {v:?} is not RFC 3339"))
                })
            }
        }
        if d.is_human_readable() {
            d.deserialize_any(TsVisitor)
        } else {
            d.deserialize_i64(TsVisitor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_formats_utc_millis() {
        let t = Ts::parse_rfc3339("2026-11-30T11:00:00.5+01:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-30T10:00:00.500Z");
        assert_eq!(t.0, 1_796_032_800_500);
    }

    #[test]
    fn deserializes_string_or_integer() {
        let a: Ts = serde_json::from_str("\"2026-11-30T10:00:00Z\"").unwrap();
        let b: Ts = serde_json::from_str("1796032800000").unwrap();
        assert_eq!(a, b);
        let err = serde_json::from_str::<Ts>("\"yesterday\"").unwrap_err();
        assert!(err.to_string().contains(BAD_TIMESTAMP));
    }

    #[test]
    fn plausibility_bounds() {
        assert!(!Ts(0).is_plausible());
        assert!(Ts(1_796_032_800_000).is_plausible());
        assert!(!MAX_VALID.is_plausible());
    }
}
