//! JSON decoding of input records.

use serde::de::DeserializeOwned;

use crate::error::{DecodeError, DecodeErrorKind, MAX_RECORD_BYTES};
use crate::input::{ClickEvent, CrmEvent, EmailEvent, Event, Source};
use crate::time::BAD_TIMESTAMP;

/// Decodes one JSON record of `source`, checking the fields the engine relies on.
pub fn decode(source: Source, bytes: &[u8]) -> Result<Event, DecodeError> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(DecodeError::new(
            DecodeErrorKind::Oversize,
            format!(
                "{} bytes exceeds the limit of {MAX_RECORD_BYTES}",
                bytes.len()
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        DecodeError::new(
            DecodeErrorKind::InvalidUtf8,
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    let event = match source {
        Source::Clickstream => Event::Click(parse::<ClickEvent>(text)?),
        Source::Email => Event::Email(parse::<EmailEvent>(text)?),
        Source::Crm => Event::Crm(parse::<CrmEvent>(text)?),
    };
    crate::validate(event)
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, DecodeError> {
    serde_json::from_str(text).map_err(|e| {
        let kind = match e.classify() {
            serde_json::error::Category::Data if e.to_string().contains(BAD_TIMESTAMP) => {
                DecodeErrorKind::BadTimestamp
            }
            serde_json::error::Category::Data => DecodeErrorKind::SchemaMismatch,
            _ => DecodeErrorKind::InvalidJson,
        };
        DecodeError::new(kind, e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{ClickType, EmailType};

    fn kind_of(source: Source, line: &[u8]) -> DecodeErrorKind {
        decode(source, line).unwrap_err().kind
    }

    #[test]
    fn decodes_a_full_clickstream_record() {
        let line = br#"{"event_id":"e1","customer_id":"c1","anonymous_id":null,"type":"add_to_cart","ts":"2026-11-30T10:00:00Z","device":"mobile","page":{"path":"/p/1","title":"Shoe","referrer":null},"product":{"sku":"1","name":"Shoe","category":"shoes","price":59.9,"quantity":1},"checkout_step":null,"order":null,"utm":null}"#;
        let Event::Click(e) = decode(Source::Clickstream, line).unwrap() else {
            panic!("not a click event");
        };
        assert_eq!(e.kind, ClickType::AddToCart);
        assert_eq!(e.product.unwrap().price, Some(59.9));
        assert_eq!(e.customer_id.as_deref(), Some("c1"));
    }

    #[test]
    fn only_id_type_and_ts_are_required() {
        let e = decode(
            Source::Clickstream,
            br#"{"anonymous_id":"a1","type":"page_view","ts":1796032800000}"#,
        )
        .unwrap();
        assert_eq!(e.key(), "a1");
        let e = decode(
            Source::Email,
            br#"{"customer_id":"c1","type":"open","ts":1796032800000}"#,
        )
        .unwrap();
        assert!(matches!(e, Event::Email(ref m) if m.kind == EmailType::Open));
    }

    #[test]
    fn unknown_types_decode_and_are_flagged() {
        let e = decode(
            Source::Clickstream,
            br#"{"customer_id":"c1","type":"wishlist_add","ts":1796032800000}"#,
        )
        .unwrap();
        assert!(e.is_unknown_type());
    }

    #[test]
    fn classifies_bad_records() {
        let c = Source::Clickstream;
        assert_eq!(
            kind_of(c, b"{\"customer_id\":\"c1\",\"ty"),
            DecodeErrorKind::InvalidJson
        );
        assert_eq!(
            kind_of(c, br#"{"customer_id":"c1","type":"page_view","ts":"noon"}"#),
            DecodeErrorKind::BadTimestamp
        );
        assert_eq!(
            kind_of(c, br#"{"customer_id":"c1","type":"page_view","ts":5}"#),
            DecodeErrorKind::AbsurdTimestamp
        );
        assert_eq!(
            kind_of(c, br#"{"type":"page_view","ts":1796032800000}"#),
            DecodeErrorKind::MissingCustomerId
        );
        assert_eq!(
            kind_of(
                c,
                br#"{"customer_id":"","type":"page_view","ts":1796032800000}"#
            ),
            DecodeErrorKind::MissingCustomerId
        );
        assert_eq!(
            kind_of(
                c,
                br#"{"customer_id":7,"type":"page_view","ts":1796032800000}"#
            ),
            DecodeErrorKind::SchemaMismatch
        );
        assert_eq!(
            kind_of(
                c,
                b"{\"customer_id\":\"c\xff\",\"type\":\"page_view\",\"ts\":1}"
            ),
            DecodeErrorKind::InvalidUtf8
        );
        let big = vec![b' '; MAX_RECORD_BYTES + 1];
        assert_eq!(kind_of(c, &big), DecodeErrorKind::Oversize);
    }
}
