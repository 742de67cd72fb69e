//! Records as the JSON lines the input topics carry.

use nudge_events::Event;

/// Appends the record's JSON (no newline) to `buf`: the inner clickstream, email or CRM record,
/// as `nudge_events::json::decode` reads it back.
pub fn write_json(event: &Event, buf: &mut Vec<u8>) {
    let written = match event {
        Event::Click(e) => serde_json::to_writer(&mut *buf, e),
        Event::Email(e) => serde_json::to_writer(&mut *buf, e),
        Event::Crm(e) => serde_json::to_writer(&mut *buf, e),
    };
    // Plain structs with string keys written to memory: serde_json cannot fail here.
    debug_assert!(written.is_ok(), "{written:?}");
}

/// The record as one JSON line (no newline).
pub fn to_json(event: &Event) -> String {
    let written = match event {
        Event::Click(e) => serde_json::to_string(e),
        Event::Email(e) => serde_json::to_string(e),
        Event::Crm(e) => serde_json::to_string(e),
    };
    debug_assert!(written.is_ok(), "{written:?}");
    written.unwrap_or_default()
}
