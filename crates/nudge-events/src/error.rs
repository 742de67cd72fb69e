//! Why a record could not be decoded (a value to count and to put in a dead letter), or
//! encoded as Avro.

use thiserror::Error;

/// Largest record accepted, in bytes; larger ones are dead-lettered as `oversize`.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// The class of a decoding failure; its label is the `reason` of metrics and dead letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DecodeErrorKind {
    InvalidUtf8,
    InvalidJson,
    SchemaMismatch,
    MissingCustomerId,
    BadTimestamp,
    AbsurdTimestamp,
    Oversize,
    BadMagicByte,
    Truncated,
    InvalidAvro,
    UnknownSchema,
}

impl DecodeErrorKind {
    /// Every kind, for pre-registering metric labels.
    pub const ALL: [DecodeErrorKind; 11] = [
        DecodeErrorKind::InvalidUtf8,
        DecodeErrorKind::InvalidJson,
        DecodeErrorKind::SchemaMismatch,
        DecodeErrorKind::MissingCustomerId,
        DecodeErrorKind::BadTimestamp,
        DecodeErrorKind::AbsurdTimestamp,
        DecodeErrorKind::Oversize,
        DecodeErrorKind::BadMagicByte,
        DecodeErrorKind::Truncated,
        DecodeErrorKind::InvalidAvro,
        DecodeErrorKind::UnknownSchema,
    ];

    /// The snake_case label.
    pub fn label(self) -> &'static str {
        match self {
            DecodeErrorKind::InvalidUtf8 => "invalid_utf8",
            DecodeErrorKind::InvalidJson => "invalid_json",
            DecodeErrorKind::SchemaMismatch => "schema_mismatch",
            DecodeErrorKind::MissingCustomerId => "missing_customer_id",
            DecodeErrorKind::BadTimestamp => "bad_timestamp",
            DecodeErrorKind::AbsurdTimestamp => "absurd_timestamp",
            DecodeErrorKind::Oversize => "oversize",
            DecodeErrorKind::BadMagicByte => "bad_magic_byte",
            DecodeErrorKind::Truncated => "truncated",
            DecodeErrorKind::InvalidAvro => "invalid_avro",
            DecodeErrorKind::UnknownSchema => "unknown_schema",
        }
    }
}

/// A record that could not be decoded, with a reason a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{}: {detail}", kind.label())]
pub struct DecodeError {
    pub kind: DecodeErrorKind,
    pub detail: String,
}

impl DecodeError {
    /// A decode error of `kind` with a human-readable detail.
    pub fn new(kind: DecodeErrorKind, detail: impl Into<String>) -> DecodeError {
        DecodeError {
            kind,
            detail: detail.into(),
        }
    }
}

/// A record that could not be encoded as Avro. Every case is a bug in Nudge, not bad input:
/// the records are Nudge's own types and the schemas are compiled in.
#[derive(Debug, Error)]
pub enum AvroError {
    /// The record's value does not validate against its schema.
    #[error("{record} does not match its Avro schema: {source}")]
    Schema {
        record: &'static str,
        source: apache_avro::Error,
    },
    /// An enumeration field did not serialize as a plain name.
    #[error("{field} is not a unit enum variant, so has no name to write")]
    NotAName { field: &'static str },
}
