use apache_avro::types::Value;
use proptest::prelude::*;

use super::*;
use crate::input::*;
use crate::output::*;
use crate::time::Ts;
use crate::wire;

const T0: Ts = Ts(1_796_032_800_000);

fn s<S: for<'a> From<&'a str>>(v: &str) -> Option<S> {
    Some(v.into())
}

fn product(sku: &str) -> Product {
    Product {
        sku: s(sku),
        name: s("Runner 2"),
        category: s("shoes"),
        price: Some(59.9),
        quantity: Some(u32::MAX),
    }
}

fn full_click() -> ClickEvent {
    ClickEvent {
        event_id: s("e1"),
        customer_id: s("c1"),
        anonymous_id: s("a1"),
        kind: ClickType::Purchase,
        ts: T0,
        device: Some(Device::App),
        page: Some(Page {
            path: s("/checkout/done"),
            title: s("Thanks"),
            referrer: s("https://example.com/"),
        }),
        product: Some(product("1")),
        checkout_step: Some(CheckoutStep::Review),
        order: Some(Order {
            order_id: s("o1"),
            revenue: Some(119.8),
            currency: s("EUR"),
            items: vec![product("1"), Product::default()],
        }),
        utm: Some(Utm {
            source: s("newsletter"),
            medium: s("email"),
            campaign: s("bf"),
            term: s("shoes"),
            content: s("hero"),
        }),
    }
}

/// Every optional field `None` except the key, which the decoder requires.
fn bare_click() -> ClickEvent {
    ClickEvent {
        customer_id: None,
        anonymous_id: s("a1"),
        ..ClickEvent::new("", ClickType::PageView, T0)
    }
}

fn full_email() -> EmailEvent {
    EmailEvent {
        event_id: s("m1"),
        customer_id: s("c1"),
        kind: EmailType::Complaint,
        ts: T0,
        campaign_id: s("bf"),
        email: s("ada@example.com"),
    }
}

fn bare_email() -> EmailEvent {
    EmailEvent {
        event_id: None,
        customer_id: s("c1"),
        kind: EmailType::Open,
        ts: T0,
        campaign_id: None,
        email: None,
    }
}

fn full_crm() -> CrmEvent {
    CrmEvent {
        event_id: s("p1"),
        customer_id: s("c1"),
        kind: CrmType::Profile,
        ts: T0,
        profile: Some(Profile {
            email: s("ada@example.com"),
            phone: s("+49301234567"),
            timezone: s("Europe/Berlin"),
            preferred_channel: s("sms"),
            consent: Consent {
                email: true,
                sms: false,
                push: true,
            },
            segment: s("loyal"),
            lifetime_value: Some(1250.5),
            orders_count: Some(14),
            loyalty_tier: s("gold"),
        }),
    }
}

fn bare_crm() -> CrmEvent {
    CrmEvent {
        event_id: None,
        customer_id: s("c1"),
        kind: CrmType::Profile,
        ts: T0,
        profile: None,
    }
}

fn full_trigger() -> Trigger {
    Trigger {
        trigger_id: "c1:cart_abandoned:1".to_owned(),
        customer_id: "c1".to_owned(),
        kind: TriggerType::CartAbandoned,
        arm: Some(Arm::Treatment),
        due_at: T0,
        channel: Some(Channel::Sms),
        action: Action::DiscountPrompt,
        offer: Some(Offer {
            kind: "discount".to_owned(),
            percent: 10,
        }),
        send_after: Some(T0.plus(3_600_000)),
        obstacle: Some(Obstacle::PaymentError),
        stage: Stage::Decision,
        reason: Some(SuppressReason::FrequencyCap),
        context: TriggerContext {
            cart_items: vec![
                CartLine {
                    sku: "1".into(),
                    name: s("Runner 2"),
                    quantity: 2,
                    price: 59.9,
                },
                CartLine {
                    sku: "2".into(),
                    name: None,
                    quantity: 1,
                    price: 0.0,
                },
            ],
            cart_value: 119.8,
            session_id: s("c1:1"),
            last_page: s("/cart"),
            checkout_step: Some(CheckoutStep::Payment),
            segment: s("loyal"),
            lifetime_value: Some(1250.5),
            device: Some(Device::Mobile),
        },
    }
}

/// A suppressed candidate: no arm and every other optional field empty.
fn bare_trigger() -> Trigger {
    Trigger {
        trigger_id: "c1:browse_abandoned:1".to_owned(),
        customer_id: "c1".to_owned(),
        kind: TriggerType::BrowseAbandoned,
        arm: None,
        due_at: T0,
        channel: None,
        action: Action::BrowseReminder,
        offer: None,
        send_after: None,
        obstacle: None,
        stage: Stage::Awareness,
        reason: None,
        context: TriggerContext::default(),
    }
}

fn session() -> SessionSummary {
    SessionSummary {
        session_id: "c1:1".to_owned(),
        customer_id: "c1".to_owned(),
        start: T0,
        end: T0.plus(90_000),
        events: 7,
        page_views: 5,
        product_views: 3,
        duration_s: 90.0,
        bounce: false,
        entry_path: s("/"),
        exit_path: None,
        furthest_step: FunnelStep::CheckoutStarted,
        cart_value: 59.9,
        converted: false,
        revenue: 0.0,
        device: Some(Device::Desktop),
        segment: None,
    }
}

fn outcome() -> Outcome {
    Outcome {
        trigger_id: "c1:cart_abandoned:1".to_owned(),
        customer_id: "c1".to_owned(),
        kind: TriggerType::CartAbandoned,
        arm: Arm::Holdout,
        order_id: s("o1"),
        revenue: 119.8,
        converted_at: T0.plus(7_200_000),
        seconds_to_conversion: 7200.0,
    }
}

fn events() -> Vec<Event> {
    vec![
        Event::Click(full_click()),
        Event::Click(bare_click()),
        Event::Email(full_email()),
        Event::Email(bare_email()),
        Event::Crm(full_crm()),
        Event::Crm(bare_crm()),
    ]
}

fn kind_of(source: Source, body: &[u8]) -> DecodeErrorKind {
    decode_event(source, body).unwrap_err().kind
}

/// A click record written from a hand-edited value, as a foreign producer might write it.
fn click_with(field: &str, value: Value) -> Vec<u8> {
    let Value::Record(mut fields) = to_value::click_value(&bare_click()).unwrap() else {
        panic!("not a record");
    };
    fields.iter_mut().find(|(name, _)| name == field).unwrap().1 = value;
    codec(SchemaKind::Clickstream)
        .writer
        .write_value_to_vec(Value::Record(fields))
        .unwrap()
}

#[test]
fn every_schema_parses_with_its_name() {
    for (i, kind) in SchemaKind::ALL.into_iter().enumerate() {
        assert_eq!(kind.index(), i);
        let Schema::Record(record) = schema(kind) else {
            panic!("{kind:?} is not a record schema");
        };
        assert_eq!(record.name.fullname(None), kind.full_name());
        assert!(schema_json(kind).contains("\"namespace\": \"dev.nudge\""));
    }
}

#[test]
fn input_events_round_trip() {
    for event in events() {
        let body = encode_event(&event).unwrap();
        assert_eq!(decode_event(event.source(), &body).unwrap(), event);
    }
}

#[test]
fn outputs_round_trip() {
    for t in [full_trigger(), bare_trigger()] {
        for output in [Output::Trigger(t.clone()), Output::Suppressed(t.clone())] {
            assert_eq!(decode_trigger(&encode_output(&output).unwrap()).unwrap(), t);
        }
    }
    let body = encode_output(&Output::Session(session())).unwrap();
    assert_eq!(decode_session(&body).unwrap(), session());
    let body = encode_output(&Output::Outcome(outcome())).unwrap();
    assert_eq!(decode_outcome(&body).unwrap(), outcome());
}

#[test]
fn schema_examples_decode_as_json_and_round_trip() {
    let examples = [
        (
            Source::Clickstream,
            include_str!("../../../../schemas/examples/clickstream.json"),
        ),
        (
            Source::Email,
            include_str!("../../../../schemas/examples/email.json"),
        ),
        (
            Source::Crm,
            include_str!("../../../../schemas/examples/crm.json"),
        ),
    ];
    for (source, text) in examples {
        let event = crate::json::decode(source, text.as_bytes()).unwrap();
        assert!(!event.is_unknown_type(), "{source:?}");
        let body = encode_event(&event).unwrap();
        assert_eq!(decode_event(source, &body).unwrap(), event);
    }
}

#[test]
fn framed_records_round_trip() {
    let event = Event::Click(full_click());
    let framed = wire::frame(42, &encode_event(&event).unwrap());
    let (id, body) = wire::unframe(&framed).unwrap();
    assert_eq!(id, 42);
    assert_eq!(decode_event(Source::Clickstream, body).unwrap(), event);
}

#[test]
fn unknown_names_decode_like_json() {
    let body = click_with("type", Value::String("wishlist_add".to_owned()));
    let event = decode_event(Source::Clickstream, &body).unwrap();
    assert!(event.is_unknown_type());
    let body = click_with(
        "device",
        Value::Union(1, Box::new(Value::String("smartwatch".to_owned()))),
    );
    let Event::Click(e) = decode_event(Source::Clickstream, &body).unwrap() else {
        panic!("not a click event");
    };
    assert_eq!(e.device, Some(Device::Other));
}

#[test]
fn decoding_validates_like_json() {
    let mut e = bare_click();
    e.anonymous_id = None;
    let body = encode_event(&Event::Click(e.clone())).unwrap();
    assert_eq!(
        kind_of(Source::Clickstream, &body),
        DecodeErrorKind::MissingCustomerId
    );
    e.customer_id = s("");
    let body = encode_event(&Event::Click(e)).unwrap();
    assert_eq!(
        kind_of(Source::Clickstream, &body),
        DecodeErrorKind::MissingCustomerId
    );
    let mut e = bare_email();
    e.ts = Ts(5);
    let body = encode_event(&Event::Email(e)).unwrap();
    assert_eq!(
        kind_of(Source::Email, &body),
        DecodeErrorKind::AbsurdTimestamp
    );
}

#[test]
fn every_truncation_is_reported_as_truncated() {
    for event in events() {
        let body = encode_event(&event).unwrap();
        for end in 0..body.len() {
            let err = decode_event(event.source(), &body[..end]).unwrap_err();
            assert_eq!(err.kind, DecodeErrorKind::Truncated, "{end}: {err}");
        }
    }
    let body = encode_output(&Output::Trigger(full_trigger())).unwrap();
    for end in 0..body.len() {
        let err = decode_trigger(&body[..end]).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Truncated, "{end}: {err}");
    }
}

#[test]
fn garbage_and_leftovers_are_invalid_avro() {
    let mut body = encode_event(&Event::Email(full_email())).unwrap();
    body.push(0);
    let err = decode_event(Source::Email, &body).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::InvalidAvro);
    assert!(err.detail.contains("1 bytes left over"), "{err}");
    // A union branch index past the end of ["null", "string"].
    assert_eq!(
        kind_of(Source::Email, &[0x08, 0x00]),
        DecodeErrorKind::InvalidAvro
    );
    for garbage in [&[0xff; 16][..], b"{\"customer_id\":\"c1\"}", &[0x80; 11]] {
        assert!(decode_event(Source::Clickstream, garbage).is_err());
        assert!(decode_session(garbage).is_err());
    }
    let big = vec![0; MAX_RECORD_BYTES + 1];
    assert_eq!(kind_of(Source::Crm, &big), DecodeErrorKind::Oversize);
}

#[test]
fn counts_out_of_range_are_schema_mismatches() {
    let product = to_value::click_value(&full_click()).unwrap();
    let Value::Record(mut fields) = product else {
        panic!("not a record");
    };
    let Value::Union(1, page) = &mut fields[7].1 else {
        panic!("product is not set");
    };
    let Value::Record(product_fields) = page.as_mut() else {
        panic!("product is not a record");
    };
    product_fields[4].1 = Value::Union(1, Box::new(Value::Long(-1)));
    let body = codec(SchemaKind::Clickstream)
        .writer
        .write_value_to_vec(Value::Record(fields))
        .unwrap();
    let err = decode_event(Source::Clickstream, &body).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::SchemaMismatch);
    assert!(err.detail.starts_with("Product.quantity"), "{err}");
}

#[test]
fn unknown_output_names_are_schema_mismatches() {
    let Value::Record(mut fields) = to_value::outcome_value(&outcome()).unwrap() else {
        panic!("not a record");
    };
    fields[3].1 = Value::String("control".to_owned());
    let body = codec(SchemaKind::Outcome)
        .writer
        .write_value_to_vec(Value::Record(fields))
        .unwrap();
    let err = decode_outcome(&body).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::SchemaMismatch);
    assert!(err.detail.starts_with("Outcome.arm"), "{err}");
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        source in prop::sample::select(Source::ALL.to_vec()),
        bytes in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let _ = decode_event(source, &bytes);
        let _ = decode_trigger(&bytes);
        let _ = decode_session(&bytes);
        let _ = decode_outcome(&bytes);
    }

    /// Random bytes rarely get past the first field; corrupting valid records reaches deeper.
    #[test]
    fn decoding_corrupted_records_never_panics(
        which in 0..6usize,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let event = &events()[which];
        let mut body = encode_event(event).unwrap();
        for (at, byte) in edits {
            let i = at.index(body.len());
            body[i] = byte;
        }
        if let Ok(decoded) = decode_event(event.source(), &body) {
            prop_assert!(!decoded.key().is_empty());
            prop_assert!(decoded.ts().is_plausible());
        }
    }
}
