//! Nudge's records and their codecs. No Kafka, no tokio: bytes in, typed records out.
//!
//! # Layout
//!
//! - [`time`]: event time ([`Ts`]), RFC 3339 or epoch milliseconds on input.
//! - [`input`]: clickstream, email and CRM records ([`Event`]).
//! - [`output`]: triggers, session summaries and outcomes ([`Output`]), and their topics.
//! - [`json`]: JSON decoding with dead-letter reasons ([`DecodeError`]).
//! - [`avro`]: Avro binary encoding and decoding, schemas from `schemas/` compiled in.
//! - [`wire`]: the Confluent wire format around an Avro body (magic byte, schema id).
//! - [`error`]: the decoding error value, and the Avro encoding error ([`AvroError`]).

pub mod avro;
pub mod error;
pub mod input;
pub mod json;
pub mod output;
pub mod time;
pub mod wire;

/// Short text stored inline (up to 24 bytes) instead of on the heap: most ids, paths and
/// names of the input records and the customer state fit, so decoding them allocates nothing
/// and a customer's state is mostly in one place.
pub use compact_str::CompactString;
pub use error::{AvroError, DecodeError, DecodeErrorKind};
pub use input::*;
pub use output::*;
pub use time::Ts;

/// Checks what every decoder must guarantee to the engine: a non-empty key and a plausible
/// event time.
fn validate(event: Event) -> Result<Event, DecodeError> {
    if event.key().is_empty() {
        return Err(DecodeError::new(
            DecodeErrorKind::MissingCustomerId,
            "record has neither customer_id nor anonymous_id",
        ));
    }
    let ts = event.ts();
    if !ts.is_plausible() {
        return Err(DecodeError::new(
            DecodeErrorKind::AbsurdTimestamp,
            format!(
                "event time {ts} is outside {} .. {}",
                time::MIN_VALID,
                time::MAX_VALID
            ),
        ));
    }
    Ok(event)
}
