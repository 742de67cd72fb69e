//! The engine's part of `nudge.toml`: sessions, detectors and policies. Every key is optional;
//! defaults live in the `Default` impls below and nowhere else.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// A configuration value that parsed but makes no sense, with the key that holds it.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{key}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

fn invalid(key: &str, reason: impl Into<String>) -> Result<(), ConfigError> {
    Err(ConfigError {
        key: key.to_owned(),
        reason: reason.into(),
    })
}

/// A span of time written like `"30m"`, `"1h"`, `"30d"` or `"1h30m"` (units ms, s, m, h, d, w).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(i64);

impl Dur {
    /// A span of `ms` milliseconds.
    pub const fn from_millis(ms: i64) -> Dur {
        Dur(ms)
    }
    /// A span of `s` seconds.
    pub const fn secs(s: i64) -> Dur {
        Dur(s * 1000)
    }
    /// A span of `m` minutes.
    pub const fn mins(m: i64) -> Dur {
        Dur(m * 60_000)
    }
    /// A span of `h` hours.
    pub const fn hours(h: i64) -> Dur {
        Dur(h * 3_600_000)
    }
    /// A span of `d` days.
    pub const fn days(d: i64) -> Dur {
        Dur(d * 86_400_000)
    }
    /// The span in milliseconds.
    pub const fn millis(self) -> i64 {
        self.0
    }
}

const UNITS: [(&str, i64); 6] = [
    ("w", 604_800_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
];

impl FromStr for Dur {
    type Err = String;

    fn from_str(s: &str) -> Result<Dur, String> {
        let bad =
            || format!("{s:?} is not a duration like \"500ms\", \"30s\", \"30m\", \"1h\", \"30d\"");
        let mut rest = s.trim();
        if rest.is_empty() {
            return Err(bad());
        }
        let mut total: i64 = 0;
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
            let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            let scale = UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .map(|(_, scale)| *scale)
                .ok_or_else(bad)?;
            total = n
                .checked_mul(scale)
                .and_then(|ms| total.checked_add(ms))
                .ok_or_else(bad)?;
            rest = &rest[unit_len..];
        }
        Ok(Dur(total))
    }
}

impl fmt::Display for Dur {
    /// The shortest exact form: `"1h"`, `"90m"`, `"1500ms"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, scale) = UNITS
            .iter()
            .find(|(_, scale)| self.0 % scale == 0 && self.0 != 0)
            .copied()
            .unwrap_or(("s", 1000));
        write!(f, "{}{name}", self.0 / scale)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A wall-clock time of day, `"HH:MM"`, stored as minutes after midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClockTime(pub u16);

impl FromStr for ClockTime {
    type Err = String;

    fn from_str(s: &str) -> Result<ClockTime, String> {
        let bad = || format!("{s:?} is not a time of day like \"21:00\"");
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok(ClockTime(h * 60 + m))
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ClockTime, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:02}:{:02}", self.0 / 60, self.0 % 60))
    }
}

/// An IANA time zone name such as `"Europe/Berlin"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeZone(pub Tz);

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TimeZone, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Tz>()
            .map(TimeZone)
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not an IANA time zone")))
    }
}

impl Serialize for TimeZone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

/// Everything the engine needs to know: `[session]`, `[detectors]` and `[policy]`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    pub session: SessionConfig,
    pub detectors: DetectorsConfig,
    pub policy: PolicyConfig,
}

/// `[session]`
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// A gap longer than this starts a new session.
    pub timeout: Dur,
    /// A session never spans more than this from its first record.
    pub max_duration: Dur,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            timeout: Dur::mins(30),
            max_duration: Dur::hours(24),
        }
    }
}

/// `[detectors]`
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorsConfig {
    pub cart_abandoned: CartConfig,
    pub checkout_abandoned: CheckoutConfig,
    pub feedback_request: FeedbackConfig,
    pub browse_abandoned: BrowseConfig,
    pub re_engagement: ReEngagementConfig,
}

/// `[detectors.cart_abandoned]`
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CartConfig {
    pub enabled: bool,
    /// Fire when the cart has not changed for this long and nothing was bought.
    pub after: Dur,
}

impl Default for CartConfig {
    fn default() -> Self {
        CartConfig {
            enabled: true,
            after: Dur::hours(1),
        }
    }
}

/// `[detectors.checkout_abandoned]`
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckoutConfig {
    pub enabled: bool,
    /// Fire when this long after `checkout_started` nothing was bought.
    pub after: Dur,
}

impl Default for CheckoutConfig {
    fn default() -> Self {
        CheckoutConfig {
            enabled: true,
            after: Dur::mins(30),
        }
    }
}

/// `[detectors.feedback_request]`: a checkout abandoned at payment after an obstacle.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedbackConfig {
    pub enabled: bool,
    /// Time on the payment step (to the episode's last record) that counts as an obstacle.
    pub long_dwell: Dur,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        FeedbackConfig {
            enabled: true,
            long_dwell: Dur::mins(5),
        }
    }
}

/// `[detectors.browse_abandoned]`
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrowseConfig {
    pub enabled: bool,
    /// Product views in a session, with no add to cart, that make it a browse abandonment.
    pub min_product_views: u32,
}

impl Default for BrowseConfig {
    fn default() -> Self {
        BrowseConfig {
            enabled: true,
            min_product_views: 3,
        }
    }
}

/// `[detectors.re_engagement]`
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReEngagementConfig {
    pub enabled: bool,
    /// No clickstream activity for this long from a customer seen before.
    pub lapse_after: Dur,
    /// Or this many emails sent in a row without an open or click (0 turns this off).
    pub unopened_emails: u32,
}

impl Default for ReEngagementConfig {
    fn default() -> Self {
        ReEngagementConfig {
            enabled: true,
            lapse_after: Dur::days(30),
            unopened_emails: 5,
        }
    }
}

/// What to do for customers with no CRM profile yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownConsent {
    #[default]
    Suppress,
    /// Treat them as consenting to email.
    Allow,
}

/// `[policy]`
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    pub unknown_consent: UnknownConsent,
    pub frequency_cap: FrequencyCap,
    pub quiet_hours: QuietHours,
    /// Share of customers (per trigger type) in the holdout arm, 0 to 100.
    pub holdout_percent: u8,
    /// A purchase this long after a trigger's due time is attributed to it.
    pub attribution_window: Dur,
    pub discount: DiscountConfig,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            unknown_consent: UnknownConsent::Suppress,
            frequency_cap: FrequencyCap::default(),
            quiet_hours: QuietHours::default(),
            holdout_percent: 10,
            attribution_window: Dur::hours(72),
            discount: DiscountConfig::default(),
        }
    }
}

/// `policy.frequency_cap`: at most `max` triggers per customer in any window of `per`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FrequencyCap {
    /// 0 turns the cap off.
    pub max: u32,
    pub per: Dur,
}

impl Default for FrequencyCap {
    fn default() -> Self {
        FrequencyCap {
            max: 2,
            per: Dur::hours(24),
        }
    }
}

/// `policy.quiet_hours`: no sending between `start` and `end` in the customer's time zone.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuietHours {
    pub enabled: bool,
    pub start: ClockTime,
    pub end: ClockTime,
    /// Used when the profile has no (valid) time zone.
    pub default_timezone: TimeZone,
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours {
            enabled: true,
            start: ClockTime(21 * 60),
            end: ClockTime(8 * 60),
            default_timezone: TimeZone(Tz::UTC),
        }
    }
}

/// `[policy.discount]`: who may be offered a discount on a cart or checkout reminder.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscountConfig {
    /// Repeat customers: at least this many orders.
    pub min_orders: u32,
    /// Or a cart worth at least this much.
    pub min_cart_value: f64,
    /// Discount in percent; 0 turns discounts off.
    pub percent: u32,
    /// No second discount for the same customer within this span.
    pub cooldown: Dur,
}

impl Default for DiscountConfig {
    fn default() -> Self {
        DiscountConfig {
            min_orders: 1,
            min_cart_value: 100.0,
            percent: 10,
            cooldown: Dur::days(30),
        }
    }
}

impl EngineConfig {
    /// Checks values that parse but make no sense; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("session.timeout", self.session.timeout),
            ("session.max_duration", self.session.max_duration),
            (
                "detectors.cart_abandoned.after",
                self.detectors.cart_abandoned.after,
            ),
            (
                "detectors.checkout_abandoned.after",
                self.detectors.checkout_abandoned.after,
            ),
            (
                "detectors.re_engagement.lapse_after",
                self.detectors.re_engagement.lapse_after,
            ),
            ("policy.frequency_cap.per", self.policy.frequency_cap.per),
            ("policy.attribution_window", self.policy.attribution_window),
        ];
        for (key, dur) in positive {
            if dur.millis() <= 0 {
                invalid(key, "must be longer than zero")?;
            }
        }
        if self.session.max_duration < self.session.timeout {
            invalid(
                "session.max_duration",
                format!(
                    "{} is shorter than session.timeout ({})",
                    self.session.max_duration, self.session.timeout
                ),
            )?;
        }
        if self.policy.holdout_percent > 100 {
            invalid("policy.holdout_percent", "must be between 0 and 100")?;
        }
        if self.policy.discount.percent > 100 {
            invalid("policy.discount.percent", "must be between 0 and 100")?;
        }
        let min_cart = self.policy.discount.min_cart_value;
        if !(min_cart.is_finite() && min_cart >= 0.0) {
            invalid("policy.discount.min_cart_value", "must be a number >= 0")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!("30m".parse::<Dur>(), Ok(Dur::mins(30)));
        assert_eq!("1h30m".parse::<Dur>(), Ok(Dur::mins(90)));
        assert_eq!("30d".parse::<Dur>(), Ok(Dur::days(30)));
        assert_eq!("250ms".parse::<Dur>(), Ok(Dur::from_millis(250)));
        for bad in ["", "30", "m", "1y", "-1h", "1.5h", "99999999999999999w"] {
            assert!(bad.parse::<Dur>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn formats_durations_shortest_exact() {
        assert_eq!(Dur::mins(90).to_string(), "90m");
        assert_eq!(Dur::days(14).to_string(), "2w");
        assert_eq!(Dur::from_millis(1500).to_string(), "1500ms");
        assert_eq!(Dur::from_millis(0).to_string(), "0s");
    }

    #[test]
    fn parses_clock_times() {
        assert_eq!("21:00".parse::<ClockTime>(), Ok(ClockTime(1260)));
        assert!("24:00".parse::<ClockTime>().is_err());
        assert!("9pm".parse::<ClockTime>().is_err());
    }

    #[test]
    fn empty_file_gives_defaults_and_partial_tables_keep_other_defaults() {
        let c: EngineConfig = toml::from_str("").unwrap();
        assert_eq!(c, EngineConfig::default());
        let c: EngineConfig = toml::from_str("[policy]\nfrequency_cap = { max = 0 }\n").unwrap();
        assert_eq!(c.policy.frequency_cap.max, 0);
        assert_eq!(c.policy.frequency_cap.per, Dur::hours(24));
        assert_eq!(c.policy.holdout_percent, 10);
    }

    #[test]
    fn the_documented_file_parses_to_the_defaults() {
        let text = r#"
            [session]
            timeout = "30m"
            max_duration = "24h"
            [detectors.cart_abandoned]
            enabled = true
            after = "1h"
            [detectors.checkout_abandoned]
            enabled = true
            after = "30m"
            [detectors.browse_abandoned]
            enabled = true
            min_product_views = 3
            [detectors.re_engagement]
            enabled = true
            lapse_after = "30d"
            unopened_emails = 5
            [policy]
            unknown_consent = "suppress"
            frequency_cap = { max = 2, per = "24h" }
            quiet_hours = { enabled = true, start = "21:00", end = "08:00", default_timezone = "UTC" }
            holdout_percent = 10
            attribution_window = "72h"
            [policy.discount]
            min_orders = 1
            min_cart_value = 100.0
            percent = 10
            cooldown = "30d"
        "#;
        let c: EngineConfig = toml::from_str(text).unwrap();
        assert_eq!(c, EngineConfig::default());
    }

    #[test]
    fn refuses_unknown_keys_and_bad_values() {
        assert!(toml::from_str::<EngineConfig>("[session]\ntimeuot = \"1m\"\n").is_err());
        assert!(toml::from_str::<EngineConfig>("[policy]\nunknown_consent = \"maybe\"\n").is_err());
        let tz = "[policy.quiet_hours]\ndefault_timezone = \"Mars/Olympus\"\n";
        assert!(toml::from_str::<EngineConfig>(tz).is_err());
        let c: EngineConfig = toml::from_str("[policy]\nholdout_percent = 101\n").unwrap();
        assert_eq!(c.validate().unwrap_err().key, "policy.holdout_percent");
        let c: EngineConfig = toml::from_str("[session]\ntimeout = \"0s\"\n").unwrap();
        assert_eq!(c.validate().unwrap_err().key, "session.timeout");
    }
}
