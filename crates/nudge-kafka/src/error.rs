//! The runtime's errors.

use rdkafka::error::KafkaError;
use thiserror::Error;

/// Why the runtime stopped or refused to start.
#[derive(Debug, Error)]
pub enum Error {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("{context}: {source}")]
    KafkaOp { context: String, source: KafkaError },
    #[error("topics: {0}")]
    Topics(String),
    #[error("changelog: {0}")]
    Changelog(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Adds what was being done to a Kafka error.
pub trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, Error>;
}

impl<T> Context<T> for Result<T, KafkaError> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, Error> {
        self.map_err(|source| Error::KafkaOp {
            context: what(),
            source,
        })
    }
}
