//! Loading `nudge.toml`: typed, every key optional, unknown keys refused, errors name the key.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use nudge_engine::EngineConfig;

/// Parses and validates configuration text; the error names the offending key.
pub fn parse(text: &str) -> Result<EngineConfig> {
    let de = toml::Deserializer::parse(text).map_err(|e| anyhow!("{}", e.message()))?;
    let cfg: EngineConfig = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.message();
        if path == "." {
            anyhow!("{message}")
        } else {
            anyhow!("{path}: {message}")
        }
    })?;
    cfg.validate()?;
    Ok(cfg)
}

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<EngineConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("{} is not a valid configuration", path.display()))
}

/// The file's configuration, or the defaults when no file is given.
pub fn load_or_default(path: Option<&Path>) -> Result<EngineConfig> {
    path.map_or_else(|| Ok(EngineConfig::default()), load)
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
    }

    #[test]
    fn empty_text_is_the_default() {
        assert_eq!(parse("").unwrap(), EngineConfig::default());
    }
}
