//! Loading `nudge.toml`: typed, every key optional, unknown keys refused, errors name the key.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use nudge_engine::config::{DetectorsConfig, PolicyConfig, SessionConfig};
use nudge_engine::EngineConfig;
use nudge_kafka::config::{
    InputConfig, KafkaConfig, MetricsConfig, OutputConfig, RunConfig, RuntimeConfig, StateConfig,
    TopicsConfig,
};
use serde::Deserialize;

/// The whole of `nudge.toml`: the engine's tables and the runtime's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    pub engine: EngineConfig,
    pub run: RunConfig,
}

/// The file as written: every table optional, unknown tables and keys refused.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct File {
    session: SessionConfig,
    detectors: DetectorsConfig,
    policy: PolicyConfig,
    runtime: RuntimeConfig,
    kafka: KafkaConfig,
    topics: TopicsConfig,
    input: InputConfig,
    output: OutputConfig,
    state: StateConfig,
    metrics: MetricsConfig,
}

/// Parses and validates configuration text; the error names the offending key.
pub fn parse(text: &str) -> Result<Config> {
    let de = toml::Deserializer::parse(text).map_err(|e| anyhow!("{}", e.message()))?;
    let file: File = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.message();
        if path == "." {
            anyhow!("{message}")
        } else {
            anyhow!("{path}: {message}")
        }
    })?;
    let cfg = Config {
        engine: EngineConfig {
            session: file.session,
            detectors: file.detectors,
            policy: file.policy,
        },
        run: RunConfig {
            runtime: file.runtime,
            kafka: file.kafka,
            topics: file.topics,
            input: file.input,
            output: file.output,
            state: file.state,
            metrics: file.metrics,
        },
    };
    cfg.engine.validate()?;
    cfg.run.validate()?;
    Ok(cfg)
}

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<Config> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("{} is not a valid configuration", path.display()))
}

/// The file's configuration, or the defaults when no file is given.
pub fn load_or_default(path: Option<&Path>) -> Result<Config> {
    path.map_or_else(|| Ok(Config::default()), load)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    #[test]
    fn errors_name_the_key() {
        let e = error_of("[session]\ntimeuot = \"1m\"\n");
        assert!(e.contains("session") && e.contains("timeuot"), "{e}");
        let e = error_of("[policy.quiet_hours]\nstart = \"25:00\"\n");
        assert!(e.starts_with("policy.quiet_hours.start"), "{e}");
        let e = error_of("[detectors.cart_abandoned]\nafter = \"soon\"\n");
        assert!(e.starts_with("detectors.cart_abandoned.after"), "{e}");
        let e = error_of("[policy]\nholdout_percent = 150\n");
        assert!(e.starts_with("policy.holdout_percent"), "{e}");
        let e = error_of("[policy]\nholdout_percent = \"ten\"\n");
        assert!(e.starts_with("policy.holdout_percent"), "{e}");
        let e = error_of("[nonsense]\n");
        assert!(e.contains("nonsense"), "{e}");
        let e = error_of("[runtime]\nbuffered_records_per_partition = 0\n");
        assert!(
            e.starts_with("runtime.buffered_records_per_partition"),
            "{e}"
        );
        let e = error_of("[output]\nschema_registry_url = \"u:hunter2@registry:8081\"\n");
        assert!(
            e.starts_with("output.schema_registry_url: must start with http:// or https://"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
        let e = error_of("[output]\nschema_registry_url = \"https://hunter2@r\"\n");
        assert!(e.starts_with("output.schema_registry_url"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = error_of(
            "[output]\nschema_registry_url = \"https://r\"\nschema_registry_user_info = \"hunter2\"\n",
        );
        assert!(e.starts_with("output.schema_registry_user_info"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = error_of(
            "[output]\nschema_registry_url = \"https://u:p@r\"\nschema_registry_user_info = \"u:p\"\n",
        );
        assert!(e.starts_with("output.schema_registry_user_info"), "{e}");
        let e = error_of("[output]\nschema_registry_ca = \"ca.pem\"\n");
        assert_eq!(
            e,
            "output.schema_registry_ca: has no effect without schema_registry_url"
        );
        let e = error_of("[output]\nschema_registry_user_info = \"u:p\"\n");
        assert!(e.starts_with("output.schema_registry_user_info"), "{e}");
    }

    #[test]
    fn registry_settings_parse_and_credentials_never_print() {
        let c = parse(
            "[output]\nformat = \"avro\"\nschema_registry_url = \"https://u:hunter2@r:8081\"\n\
             schema_registry_ca = \"ca.pem\"\n",
        )
        .unwrap();
        assert_eq!(
            c.run.output.schema_registry_ca.as_deref(),
            Some(Path::new("ca.pem"))
        );
        let debug = format!("{:?}", c.run);
        assert!(debug.contains("https://***@r:8081"), "{debug}");
        assert!(!debug.contains("hunter2"), "{debug}");
        let c = parse(
            "[output]\nschema_registry_url = \"http://r\"\nschema_registry_user_info = \"u:hunter2\"\n",
        )
        .unwrap();
        assert!(!format!("{:?}", c.run).contains("hunter2"));
    }

    #[test]
    fn runtime_tables_parse_and_kafka_passes_through() {
        let c = parse(
            "[runtime]\nprocessing_guarantee = \"at_least_once\"\ncommit_interval = \"250ms\"\n\
             [kafka]\n\"bootstrap.servers\" = \"k:9092\"\n\"sasl.password\" = \"hunter2\"\n",
        )
        .unwrap();
        assert_eq!(
            c.run.runtime.commit_interval,
            nudge_engine::Dur::from_millis(250)
        );
        assert_eq!(c.run.kafka.get("bootstrap.servers"), Some("k:9092"));
        assert!(
            !format!("{:?}", c.run).contains("hunter2"),
            "secrets never print"
        );
        let e = error_of("[runtime]\nprocessing_guarantee = \"twice\"\n");
        assert!(e.starts_with("runtime.processing_guarantee"), "{e}");
    }

    #[test]
    fn empty_text_is_the_default() {
        assert_eq!(parse("").unwrap(), Config::default());
    }
}
