//! The runtime's part of `nudge.toml`: `[runtime]`, `[kafka]`, `[topics]`, `[input]`,
//! `[output]`, `[state]` and `[metrics]`. Every key is optional.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use nudge_engine::{ConfigError, Dur};
use serde::{Deserialize, Serialize};

/// Exactly-once (transactions) or at-least-once (idempotent producer, offsets after flush).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Guarantee {
    #[default]
    ExactlyOnce,
    AtLeastOnce,
}

/// `[runtime]`
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// Stream threads in this process; 0 means one per core.
    pub threads: usize,
    pub processing_guarantee: Guarantee,
    /// One transaction (or one offset commit) per interval.
    pub commit_interval: Dur,
    /// Stable name of this process in the group: part of its transactional ids, so a restarted
    /// instance fences its predecessor at once. Defaults to the host name.
    pub instance_id: Option<String>,
    /// Event time a partition's watermark trails its newest record by.
    pub allowed_lateness: Dur,
    /// A partition with no record for this long is left out of its task's watermark (one read
    /// to its end already moves on with the clock; this covers one that cannot be read).
    pub idle_timeout: Dur,
    /// How long a task waits for an input partition that has nothing buffered and has not
    /// been read to its end, before applying other partitions' records out of event-time
    /// order (a partition read to its end never holds the others up).
    pub max_task_idle: Dur,
    /// Decoded records a task holds per input partition while they wait for their
    /// event-time turn. A partition whose queue is full is not read further until it drains
    /// (librdkafka then stops fetching it at `queued.min.messages`), so memory stays bounded
    /// while a backlog is read at different speeds on the three inputs.
    pub buffered_records_per_partition: usize,
    /// How long a graceful shutdown may take to finish the open transaction.
    pub shutdown_timeout: Dur,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            threads: 0,
            processing_guarantee: Guarantee::ExactlyOnce,
            commit_interval: Dur::from_millis(100),
            instance_id: None,
            allowed_lateness: Dur::secs(5),
            idle_timeout: Dur::secs(10),
            max_task_idle: Dur::secs(2),
            buffered_records_per_partition: 1000,
            shutdown_timeout: Dur::secs(30),
        }
    }
}

/// `[topics]`: names of the topics Nudge reads and writes.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsConfig {
    pub clickstream: String,
    pub email: String,
    pub crm: String,
    /// Emitted triggers go to `<trigger_prefix><type>`, unless `triggers` names one topic.
    pub trigger_prefix: String,
    pub triggers: Option<String>,
    pub suppressed: String,
    pub sessions: String,
    pub outcomes: String,
    pub dead_letters: String,
    pub changelog: String,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        TopicsConfig {
            clickstream: "clickstream".into(),
            email: "email".into(),
            crm: "crm".into(),
            trigger_prefix: "triggers.".into(),
            triggers: None,
            suppressed: nudge_events::SUPPRESSED_TOPIC.into(),
            sessions: nudge_events::SESSIONS_TOPIC.into(),
            outcomes: nudge_events::OUTCOMES_TOPIC.into(),
            dead_letters: nudge_events::DLQ_TOPIC.into(),
            changelog: "nudge-state-changelog".into(),
        }
    }
}

/// Record encoding on a topic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    Json,
    /// Avro binary in the Confluent wire format (magic byte, schema id, body).
    Avro,
}

/// `[input]`
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputConfig {
    pub format: Format,
}

/// `[output]`
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    pub format: Format,
    /// Registers the output schemas here and uses the ids it returns; without it, Avro
    /// records carry the fixed ids listed in schemas/README.md.
    pub schema_registry_url: Option<RegistryUrl>,
    /// Basic auth `user:password` for the registry (Confluent's `basic.auth.user.info`).
    pub schema_registry_user_info: Option<Secret>,
    /// PEM file of the CA certificate(s) the registry's certificate must chain to, for a
    /// registry behind a private CA. They replace the bundled Mozilla roots, as librdkafka's
    /// `ssl.ca.location` does, so a private registry trusts only its own CA.
    pub schema_registry_ca: Option<PathBuf>,
}

/// A schema registry's base URL. It may carry `user:password@` (percent-encoded), so it
/// displays and debugs with `***` in their place.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct RegistryUrl(pub String);

impl RegistryUrl {
    /// `(scheme, userinfo, rest)` of a URL written `scheme://userinfo@rest`.
    fn parts(&self) -> Option<(&str, &str, &str)> {
        let (scheme, rest) = self.0.split_once("://")?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (userinfo, _) = authority.rsplit_once('@')?;
        Some((scheme, userinfo, &rest[userinfo.len() + 1..]))
    }

    /// The credentials written in the URL, still percent-encoded.
    pub fn userinfo(&self) -> Option<&str> {
        self.parts().map(|(_, userinfo, _)| userinfo)
    }

    /// The URL without its credentials: what requests go to and errors may show.
    pub fn without_userinfo(&self) -> String {
        match self.parts() {
            Some((scheme, _, rest)) => format!("{scheme}://{rest}"),
            None => self.0.clone(),
        }
    }
}

impl fmt::Display for RegistryUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parts() {
            Some((scheme, _, rest)) => write!(f, "{scheme}://***@{rest}"),
            None => f.write_str(&self.0),
        }
    }
}

impl fmt::Debug for RegistryUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

impl OutputConfig {
    /// The registry keys agree: a scheme ureq speaks, `user:password` credentials written
    /// once, and no TLS or auth key without a registry to apply it to.
    fn validate_registry(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: &str| {
            Err(ConfigError {
                key: format!("output.{key}"),
                reason: reason.into(),
            })
        };
        let Some(url) = &self.schema_registry_url else {
            if self.schema_registry_user_info.is_some() {
                return invalid(
                    "schema_registry_user_info",
                    "has no effect without schema_registry_url",
                );
            }
            if self.schema_registry_ca.is_some() {
                return invalid(
                    "schema_registry_ca",
                    "has no effect without schema_registry_url",
                );
            }
            return Ok(());
        };
        // The value is left out of these messages: it may hold a password.
        if !(url.0.starts_with("http://") || url.0.starts_with("https://")) {
            return invalid("schema_registry_url", "must start with http:// or https://");
        }
        match (url.userinfo(), &self.schema_registry_user_info) {
            (Some(_), Some(_)) => invalid(
                "schema_registry_user_info",
                "conflicts with the credentials in schema_registry_url: set one of them",
            ),
            (Some(userinfo), None) if !userinfo.contains(':') => invalid(
                "schema_registry_url",
                "credentials in the URL must be written user:password@",
            ),
            (None, Some(user_info)) if !user_info.0.contains(':') => {
                invalid("schema_registry_user_info", "must be written user:password")
            }
            _ => Ok(()),
        }
    }
}

/// `[state]`
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// Customers with no record for this long are evicted with a changelog tombstone.
    pub ttl: Dur,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig { ttl: Dur::days(90) }
    }
}

/// `[metrics]`
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Address of the `/metrics`, `/healthz` and `/readyz` endpoint.
    pub listen: SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

/// A configuration value that may be a password: Debug prints stars.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// `[kafka]`: passed to librdkafka unchanged (so SASL and SSL settings work as documented
/// there), e.g. `"bootstrap.servers" = "kafka:9092"`, `"group.id" = "nudge"`. Any value may
/// be a password, so none prints.
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct KafkaConfig(pub BTreeMap<String, Secret>);

impl fmt::Debug for KafkaConfig {
    /// Prints keys only: values may be passwords.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl KafkaConfig {
    /// A setting's value, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.0.as_str())
    }

    /// Sets a key, e.g. from `--brokers`.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.insert(key.to_owned(), Secret(value.into()));
    }

    /// The consumer group, `nudge` by default.
    pub fn group_id(&self) -> &str {
        self.get("group.id").unwrap_or("nudge")
    }
}

/// Everything the runtime needs besides the engine's own configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunConfig {
    pub runtime: RuntimeConfig,
    pub kafka: KafkaConfig,
    pub topics: TopicsConfig,
    pub input: InputConfig,
    pub output: OutputConfig,
    pub state: StateConfig,
    pub metrics: MetricsConfig,
}

impl RunConfig {
    /// Checks values that parse but make no sense; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("runtime.commit_interval", self.runtime.commit_interval),
            ("runtime.idle_timeout", self.runtime.idle_timeout),
            ("runtime.shutdown_timeout", self.runtime.shutdown_timeout),
            ("state.ttl", self.state.ttl),
        ];
        for (key, dur) in positive {
            if dur.millis() <= 0 {
                return Err(ConfigError {
                    key: key.into(),
                    reason: "must be longer than zero".into(),
                });
            }
        }
        if self.runtime.buffered_records_per_partition == 0 {
            return Err(ConfigError {
                key: "runtime.buffered_records_per_partition".into(),
                reason: "must be at least 1".into(),
            });
        }
        if self.runtime.allowed_lateness.millis() < 0 {
            return Err(ConfigError {
                key: "runtime.allowed_lateness".into(),
                reason: "must not be negative".into(),
            });
        }
        self.output.validate_registry()
    }

    /// Stream threads to start: the configured number, or one per core.
    pub fn threads(&self) -> usize {
        match self.runtime.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// This process's stable name in the group.
    pub fn instance_id(&self) -> String {
        self.runtime.instance_id.clone().unwrap_or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "nudge".to_owned())
        })
    }
}

/// `[kafka]` keys that only consumers take (librdkafka warns when a producer gets them).
pub const CONSUMER_ONLY: [&str; 12] = [
    "group.id",
    "group.instance.id",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "max.poll.interval.ms",
    "auto.offset.reset",
    "isolation.level",
    "statistics.interval.ms",
    "queued.min.messages",
    "queued.max.messages.kbytes",
    "fetch.queue.backoff.ms",
    "fetch.wait.max.ms",
];
