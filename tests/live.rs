//! Timers on a live stream, against `nudge dev-broker`: a trigger falls due and leaves with no
//! further record, about `allowed_lateness` after its due time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nudge_e2e::*;

/// Much longer than the delay the test allows: an idle input cannot be what moves the
/// watermark on.
const IDLE_TIMEOUT_S: i64 = 120;

#[test]
fn a_cart_trigger_leaves_on_time_with_no_further_record() {
    let port = free_port();
    let mut s = Scenario::new(&format!(
        "[runtime]\nthreads = 1\nallowed_lateness = \"1s\"\nidle_timeout = \"{IDLE_TIMEOUT_S}s\"\n\
         [detectors.cart_abandoned]\nafter = \"3s\"\n\
         [policy]\nholdout_percent = 0\n"
    ));
    let broker = DevBroker::start(&s.config(), 1);
    s.brokers = broker.bootstrap.clone();
    let pipeline = s.start_serving("live", port);
    wait_for("the pipeline to be ready", Duration::from_secs(60), || {
        http_get(port, "/readyz").0 == 200
    });

    // A customer adds to the cart now, and then nothing more arrives on any input (the email
    // partition gets nothing at all).
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64;
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        data.path().join("crm.ndjson"),
        format!(
            r#"{{"customer_id":"c1","type":"profile","ts":{now},"profile":{{"consent":{{"email":true}}}}}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        data.path().join("clickstream.ndjson"),
        format!(
            "{}\n{}\n",
            r#"{"customer_id":"c1","type":"page_view","ts":NOW,"page":{"path":"/p/1"}}"#,
            r#"{"customer_id":"c1","type":"add_to_cart","ts":NOW,"product":{"sku":"1","price":10.0,"quantity":1}}"#,
        )
        .replace("NOW", &now.to_string()),
    )
    .unwrap();
    s.produce(data.path());

    let topic = format!("triggers-{}.cart_abandoned", s.suffix);
    let mut triggers = Vec::new();
    wait_for(
        "the cart trigger (well before the idle timeout)",
        Duration::from_secs(60),
        || {
            triggers = read_all(&s.brokers, std::slice::from_ref(&topic), true);
            !triggers.is_empty()
        },
    );
    assert_eq!(triggers.len(), 1, "one trigger for the one cart");
    let due = millis(&triggers[0].json()["due_at"]);
    assert_eq!(due, now + 3_000, "due 3 s after the cart change");
    let delay_ms = triggers[0].timestamp.expect("a produce timestamp") - due;
    // About the 1 s lateness plus delivery; far below the idle timeout, which would be the
    // delay if an input read to its end held the watermark back.
    assert!(
        (1_000..IDLE_TIMEOUT_S * 1_000 / 4).contains(&delay_ms),
        "left {delay_ms} ms after its due time"
    );
    assert!(pipeline.stop(), "graceful shutdown on SIGTERM");
}
