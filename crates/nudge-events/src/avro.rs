//! Avro binary encoding of records (a bare datum: no container file, no wire-format header;
//! see [`crate::wire`] for that), with the schemas of `schemas/` compiled in.
//!
//! Records map to apache-avro `Value`s by hand, field by field, rather than through serde:
//! the schemas keep enumerations as strings, which apache-avro's schema-aware serde rejects,
//! and its plain serde mapping takes [`Ts`](crate::Ts)'s form (string or integer) from a
//! process-wide "human readable" switch that any other crate in the binary may set first.

use std::io::{self, Read};
use std::sync::OnceLock;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;

use crate::error::{AvroError, DecodeError, DecodeErrorKind, MAX_RECORD_BYTES};
use crate::input::{Event, Source};
use crate::output::{Outcome, Output, SessionSummary, Trigger};

mod from_value;
#[cfg(test)]
mod tests;
mod to_value;

use from_value::Record;

/// One Avro schema per record type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemaKind {
    Clickstream,
    Email,
    Crm,
    Trigger,
    Session,
    Outcome,
}

impl SchemaKind {
    /// Every schema, in declaration order.
    pub const ALL: [SchemaKind; 6] = [
        SchemaKind::Clickstream,
        SchemaKind::Email,
        SchemaKind::Crm,
        SchemaKind::Trigger,
        SchemaKind::Session,
        SchemaKind::Outcome,
    ];

    /// The schema of records from `source`.
    pub fn of_source(source: Source) -> SchemaKind {
        match source {
            Source::Clickstream => SchemaKind::Clickstream,
            Source::Email => SchemaKind::Email,
            Source::Crm => SchemaKind::Crm,
        }
    }

    /// The schema `output` is written with; suppressed candidates are triggers too.
    pub fn of_output(output: &Output) -> SchemaKind {
        match output {
            Output::Trigger(_) | Output::Suppressed(_) => SchemaKind::Trigger,
            Output::Session(_) => SchemaKind::Session,
            Output::Outcome(_) => SchemaKind::Outcome,
        }
    }

    /// The record's full name, as a schema registry's record-name strategy uses it.
    pub fn full_name(self) -> &'static str {
        match self {
            SchemaKind::Clickstream => "dev.nudge.ClickEvent",
            SchemaKind::Email => "dev.nudge.EmailEvent",
            SchemaKind::Crm => "dev.nudge.CrmEvent",
            SchemaKind::Trigger => "dev.nudge.Trigger",
            SchemaKind::Session => "dev.nudge.SessionSummary",
            SchemaKind::Outcome => "dev.nudge.Outcome",
        }
    }

    /// The record's short name, for error messages.
    fn record(self) -> &'static str {
        let full = self.full_name();
        full.rsplit('.').next().unwrap_or(full)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The schema text, as in `schemas/`: what a schema-registry client registers.
pub fn schema_json(kind: SchemaKind) -> &'static str {
    match kind {
        SchemaKind::Clickstream => include_str!("../../../schemas/clickstream.avsc"),
        SchemaKind::Email => include_str!("../../../schemas/email.avsc"),
        SchemaKind::Crm => include_str!("../../../schemas/crm.avsc"),
        SchemaKind::Trigger => include_str!("../../../schemas/trigger.avsc"),
        SchemaKind::Session => include_str!("../../../schemas/session.avsc"),
        SchemaKind::Outcome => include_str!("../../../schemas/outcome.avsc"),
    }
}

/// The parsed schema, e.g. for its canonical form or fingerprint.
pub fn schema(kind: SchemaKind) -> &'static Schema {
    static SCHEMAS: OnceLock<[Schema; 6]> = OnceLock::new();
    let schemas = SCHEMAS.get_or_init(|| {
        SchemaKind::ALL.map(|kind| {
            Schema::parse_str(schema_json(kind)).unwrap_or_else(|e| {
                // The text is a compile-time constant that the tests parse: this is a build
                // error surfacing late, not bad data.
                panic!("built-in Avro schema of {} is invalid: {e}", kind.record())
            })
        })
    });
    &schemas[kind.index()]
}

/// A reader and a writer per schema, built once: resolving a schema's names is not free.
struct Codec {
    reader: GenericDatumReader<'static>,
    writer: GenericDatumWriter<'static>,
}

fn codec(kind: SchemaKind) -> &'static Codec {
    static CODECS: OnceLock<[Codec; 6]> = OnceLock::new();
    let codecs = CODECS.get_or_init(|| {
        SchemaKind::ALL.map(|kind| {
            let schema = schema(kind);
            let built = GenericDatumReader::builder(schema)
                .build()
                .and_then(|reader| Ok((reader, GenericDatumWriter::builder(schema).build()?)));
            match built {
                Ok((reader, writer)) => Codec { reader, writer },
                // As above: only a broken built-in schema fails to resolve.
                Err(e) => panic!("built-in Avro schema of {} is invalid: {e}", kind.record()),
            }
        })
    });
    &codecs[kind.index()]
}

/// Encodes an input record as an Avro datum of its source's schema.
pub fn encode_event(event: &Event) -> Result<Vec<u8>, AvroError> {
    match event {
        Event::Click(e) => write(SchemaKind::Clickstream, to_value::click_value(e)?),
        Event::Email(e) => write(SchemaKind::Email, to_value::email_value(e)?),
        Event::Crm(e) => write(SchemaKind::Crm, to_value::crm_value(e)?),
    }
}

/// Decodes an Avro datum of `source`'s schema, checking what the JSON decoder checks.
pub fn decode_event(source: Source, body: &[u8]) -> Result<Event, DecodeError> {
    let kind = SchemaKind::of_source(source);
    let record = read(kind, body)?;
    let event = match source {
        Source::Clickstream => Event::Click(from_value::click(record)?),
        Source::Email => Event::Email(from_value::email(record)?),
        Source::Crm => Event::Crm(from_value::crm(record)?),
    };
    crate::validate(event)
}

/// Encodes an output record as an Avro datum of its schema ([`SchemaKind::of_output`]).
pub fn encode_output(output: &Output) -> Result<Vec<u8>, AvroError> {
    let kind = SchemaKind::of_output(output);
    let value = match output {
        Output::Trigger(t) | Output::Suppressed(t) => to_value::trigger_value(t)?,
        Output::Session(s) => to_value::session_value(s)?,
        Output::Outcome(o) => to_value::outcome_value(o)?,
    };
    write(kind, value)
}

/// Decodes a trigger (emitted or suppressed) from an Avro datum.
pub fn decode_trigger(body: &[u8]) -> Result<Trigger, DecodeError> {
    from_value::trigger(read(SchemaKind::Trigger, body)?)
}

/// Decodes a session summary from an Avro datum.
pub fn decode_session(body: &[u8]) -> Result<SessionSummary, DecodeError> {
    from_value::session(read(SchemaKind::Session, body)?)
}

/// Decodes a trigger outcome from an Avro datum.
pub fn decode_outcome(body: &[u8]) -> Result<Outcome, DecodeError> {
    from_value::outcome(read(SchemaKind::Outcome, body)?)
}

fn write(kind: SchemaKind, value: Value) -> Result<Vec<u8>, AvroError> {
    codec(kind)
        .writer
        .write_value_to_vec(value)
        .map_err(|source| AvroError::Schema {
            record: kind.record(),
            source,
        })
}

/// Decodes `body` as one whole datum of `kind`.
fn read(kind: SchemaKind, body: &[u8]) -> Result<Record, DecodeError> {
    if body.len() > MAX_RECORD_BYTES {
        return Err(DecodeError::new(
            DecodeErrorKind::Oversize,
            format!(
                "{} bytes exceeds the limit of {MAX_RECORD_BYTES}",
                body.len()
            ),
        ));
    }
    let mut input = TrackedSlice {
        rest: body,
        ran_out: false,
    };
    let decoded = codec(kind).reader.read_value(&mut input);
    // Checked before the result: apache-avro reads a union or string cut short as null
    // instead of failing, so a truncated body can come back as a plausible record.
    if input.ran_out {
        let mut detail = format!(
            "Avro body of {} bytes ends inside a {}",
            body.len(),
            kind.record()
        );
        if let Err(e) = &decoded {
            detail = format!("{detail}: {e}");
        }
        return Err(DecodeError::new(DecodeErrorKind::Truncated, detail));
    }
    let value = decoded.map_err(|e| {
        DecodeError::new(
            DecodeErrorKind::InvalidAvro,
            format!("not a {} datum: {e}", kind.record()),
        )
    })?;
    if !input.rest.is_empty() {
        return Err(DecodeError::new(
            DecodeErrorKind::InvalidAvro,
            format!(
                "{} bytes left over after a {}: written with another schema?",
                input.rest.len(),
                kind.record()
            ),
        ));
    }
    Record::new(kind.record(), value)
}

/// A byte slice that remembers whether a read asked for more than was left.
struct TrackedSlice<'a> {
    rest: &'a [u8],
    ran_out: bool,
}

impl Read for TrackedSlice<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.rest.is_empty() && !buf.is_empty() {
            self.ran_out = true;
        }
        self.rest.read(buf)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        if buf.len() > self.rest.len() {
            self.ran_out = true;
        }
        self.rest.read_exact(buf)
    }
}
