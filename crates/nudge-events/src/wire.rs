//! Confluent wire format: magic byte `0`, the 4-byte big-endian schema-registry id, then the
//! Avro binary datum.

use crate::error::{DecodeError, DecodeErrorKind};

/// The only magic byte the Confluent format has defined.
pub const MAGIC_BYTE: u8 = 0;

/// Length of the magic byte plus the schema id.
pub const HEADER_LEN: usize = 5;

/// Prefixes `body` with the magic byte and `schema_id`.
pub fn frame(schema_id: u32, body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
    bytes.push(MAGIC_BYTE);
    bytes.extend_from_slice(&schema_id.to_be_bytes());
    bytes.extend_from_slice(body);
    bytes
}

/// Splits a framed record into its schema id and Avro body.
pub fn unframe(bytes: &[u8]) -> Result<(u32, &[u8]), DecodeError> {
    let Some((&magic, rest)) = bytes.split_first() else {
        return Err(DecodeError::new(
            DecodeErrorKind::Truncated,
            "empty record: expected a 5-byte Confluent header and an Avro body",
        ));
    };
    // Checked before the length so that a short JSON or text record is reported as what it
    // is, not as a truncated header.
    if magic != MAGIC_BYTE {
        return Err(DecodeError::new(
            DecodeErrorKind::BadMagicByte,
            format!(
                "first byte is 0x{magic:02x} ({}), expected 0x00: not Confluent-framed Avro",
                describe(magic)
            ),
        ));
    }
    let Some((id, body)) = rest.split_first_chunk::<4>() else {
        return Err(DecodeError::new(
            DecodeErrorKind::Truncated,
            format!(
                "{} bytes, shorter than the {HEADER_LEN}-byte Confluent header",
                bytes.len()
            ),
        ));
    };
    let schema_id = u32::from_be_bytes(*id);
    if body.is_empty() {
        // Every Nudge record has required fields, so an empty datum is never valid.
        return Err(DecodeError::new(
            DecodeErrorKind::Truncated,
            format!("schema id {schema_id} is followed by an empty body"),
        ));
    }
    Ok((schema_id, body))
}

/// A hint at what a wrong first byte suggests the record is.
fn describe(byte: u8) -> String {
    match byte {
        b'{' | b'[' => format!("'{}', JSON?", byte as char),
        0x20..=0x7e => format!("'{}'", byte as char),
        _ => "not printable".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trips() {
        let framed = frame(0x0102_0304, b"avro");
        assert_eq!(framed, b"\x00\x01\x02\x03\x04avro");
        assert_eq!(unframe(&framed).unwrap(), (0x0102_0304, &b"avro"[..]));
        let framed = frame(u32::MAX, &[0]);
        assert_eq!(unframe(&framed).unwrap(), (u32::MAX, &[0u8][..]));
    }

    #[test]
    fn wrong_magic_byte_names_the_byte() {
        let err = unframe(br#"{"customer_id":"c1"}"#).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::BadMagicByte);
        assert!(err.detail.contains("0x7b"), "{err}");
        assert!(err.detail.contains("JSON"), "{err}");
        let err = unframe(&[1, 0, 0, 0, 1, 2]).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::BadMagicByte);
        assert!(err.detail.contains("0x01"), "{err}");
    }

    #[test]
    fn short_header_is_truncated() {
        for bytes in [&b""[..], &[0], &[0, 0, 0, 1]] {
            let err = unframe(bytes).unwrap_err();
            assert_eq!(err.kind, DecodeErrorKind::Truncated, "{bytes:?}");
        }
    }

    #[test]
    fn empty_body_is_truncated() {
        let err = unframe(&frame(7, b"")).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Truncated);
        assert!(err.detail.contains("schema id 7"), "{err}");
    }
}
