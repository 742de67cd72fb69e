//! `nudge replay` and `nudge check` as a user runs them: the binary on files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sample() -> PathBuf {
    repo().join("tests/data/sample")
}

fn nudge(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(args)
        .output()
        .expect("nudge runs");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "nudge panicked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn replay(input: &Path, extra: &[&str]) -> (Vec<u8>, String) {
    let mut args = vec!["replay", "--input", input.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = nudge(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "replay failed: {stderr}");
    (out.stdout, stderr)
}

fn records(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect()
}

/// The fields of an output record that expected.ndjson pins down.
fn project(r: &Value) -> Value {
    let (topic, key, v) = (&r["topic"], &r["key"], &r["value"]);
    match topic.as_str().unwrap() {
        "sessions" => json!({
            "topic": topic, "key": key, "start": v["start"], "end": v["end"],
            "events": v["events"], "page_views": v["page_views"],
            "product_views": v["product_views"], "bounce": v["bounce"],
            "furthest_step": v["furthest_step"], "converted": v["converted"],
            "revenue": v["revenue"], "cart_value": v["cart_value"], "device": v["device"],
        }),
        "trigger-outcomes" => json!({
            "topic": topic, "key": key, "type": v["type"], "arm": v["arm"],
            "revenue": v["revenue"], "seconds_to_conversion": v["seconds_to_conversion"],
            "order_id": v["order_id"],
        }),
        _ => json!({
            "topic": topic, "key": key, "type": v["type"], "arm": v["arm"],
            "due_at": v["due_at"], "send_after": v["send_after"], "channel": v["channel"],
            "action": v["action"], "offer_percent": v["offer"]["percent"],
            "obstacle": v["obstacle"], "reason": v["reason"], "stage": v["stage"],
            "checkout_step": v["context"]["checkout_step"],
        }),
    }
}

#[test]
fn sample_day_gives_the_hand_computed_outputs() {
    let config = sample().join("nudge.toml");
    let (stdout, stderr) = replay(&sample(), &["--config", config.to_str().unwrap()]);
    let got: Vec<Value> = records(&stdout).iter().map(project).collect();
    let expected: Vec<Value> = std::fs::read_to_string(sample().join("expected.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "output record {i} differs");
    }
    assert_eq!(got.len(), expected.len());
    assert!(
        stderr.contains("sessions closed 8  still open 1  customers 9"),
        "{stderr}"
    );
    assert!(
        stderr.contains("suppressed: unknown_consent 1, unsubscribed 1"),
        "{stderr}"
    );
}

#[test]
fn trigger_records_carry_ids_and_context() {
    let (stdout, _) = replay(&sample(), &[]);
    let all = records(&stdout);
    let bob = all
        .iter()
        .find(|r| r["topic"] == "triggers.cart_abandoned" && r["key"] == "bob")
        .expect("bob's cart trigger");
    let v = &bob["value"];
    assert!(v["trigger_id"]
        .as_str()
        .unwrap()
        .starts_with("cart_abandoned-"));
    assert_eq!(v["context"]["cart_value"], 90.0);
    assert_eq!(v["context"]["cart_items"][0]["quantity"], 2);
    assert_eq!(v["context"]["last_page"], "/p/200");
    assert_eq!(v["context"]["device"], "mobile");
    assert_eq!(v["context"]["segment"], "new");
    let session_id = v["context"]["session_id"].as_str().unwrap();
    let bobs_session = all
        .iter()
        .find(|r| r["topic"] == "sessions" && r["key"] == "bob")
        .unwrap();
    assert_eq!(bobs_session["value"]["session_id"], session_id);
    let outcome = all
        .iter()
        .find(|r| r["topic"] == "trigger-outcomes")
        .unwrap();
    assert_eq!(outcome["value"]["trigger_id"], v["trigger_id"]);
}

#[test]
fn output_is_byte_identical_across_runs_and_sort_spills() {
    let (a, _) = replay(&sample(), &[]);
    let (b, _) = replay(&sample(), &[]);
    assert_eq!(a, b);
    // A budget of one byte spills every record to its own sorted run on disk.
    let (c, stderr) = replay(&sample(), &["--sort-budget", "1"]);
    assert!(stderr.contains("sorted in 42 runs on disk"), "{stderr}");
    assert_eq!(a, c);
}

#[test]
fn unsorted_input_files_are_put_in_event_time_order() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["crm.ndjson", "email.ndjson", "clickstream.ndjson"] {
        let text = std::fs::read_to_string(sample().join(name)).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.reverse();
        std::fs::write(dir.path().join(name), lines.join("\n") + "\n").unwrap();
    }
    let (sorted, _) = replay(&sample(), &[]);
    let (reversed, _) = replay(dir.path(), &[]);
    assert_eq!(sorted, reversed);
}

#[test]
fn equal_timestamps_keep_file_order_and_crm_comes_before_clickstream() {
    let dir = tempfile::tempdir().unwrap();
    // Profile, unsubscribe and cart records share one instant. Crm before email: the
    // unsubscribe lands after the profile's consent (the other way round the profile would
    // re-subscribe). Within the clickstream file, add, remove, add keep their order.
    std::fs::write(
        dir.path().join("crm.ndjson"),
        r#"{"customer_id":"c","type":"profile","ts":"2026-11-30T10:00:00Z","profile":{"consent":{"email":true}}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("email.ndjson"),
        r#"{"customer_id":"c","type":"unsubscribe","ts":"2026-11-30T10:00:00Z"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("clickstream.ndjson"),
        [
            r#"{"customer_id":"c","type":"add_to_cart","ts":"2026-11-30T10:00:00Z","product":{"sku":"1","price":5}}"#,
            r#"{"customer_id":"c","type":"remove_from_cart","ts":"2026-11-30T10:00:00Z","product":{"sku":"1"}}"#,
            r#"{"customer_id":"c","type":"add_to_cart","ts":"2026-11-30T10:00:00Z","product":{"sku":"2","price":7}}"#,
            r#"{"customer_id":"z","type":"page_view","ts":"2026-11-30T12:00:00Z"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let (stdout, _) = replay(dir.path(), &[]);
    let all = records(&stdout);
    let s = all
        .iter()
        .find(|r| r["topic"] == "triggers.suppressed")
        .expect("the cart candidate is suppressed: the unsubscribe came after the profile");
    assert_eq!(s["value"]["reason"], "unsubscribed");
    let items = &s["value"]["context"]["cart_items"];
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(
        items[0]["sku"], "2",
        "add, remove, add kept their file order"
    );
}

#[test]
fn bad_lines_go_to_the_dead_letter_topic_and_the_rest_is_processed() {
    let dir = tempfile::tempdir().unwrap();
    let good = |c: &str, t: &str| {
        format!(
            r#"{{"customer_id":"{c}","type":"page_view","ts":"2026-11-30T{t}Z","page":{{"path":"/"}}}}"#
        )
    };
    let huge = format!(
        r#"{{"customer_id":"big","type":"page_view","ts":"2026-11-30T10:00:00Z","page":{{"title":"{}"}}}}"#,
        "x".repeat(10 << 20)
    );
    let mut lines: Vec<Vec<u8>> = vec![
        good("a", "10:00:00").into_bytes(),
        br#"{"customer_id":"x","type":"page_vi"#.to_vec(),
        good("b", "10:01:00").into_bytes(),
        br#"{"customer_id":7,"type":"page_view","ts":"2026-11-30T10:00:00Z"}"#.to_vec(),
        br#"{"type":"page_view","ts":"2026-11-30T10:00:00Z"}"#.to_vec(),
        br#"{"customer_id":"x","type":"page_view","ts":"3026-11-30T10:00:00Z"}"#.to_vec(),
        br#"{"customer_id":"x","type":"page_view","ts":"last tuesday"}"#.to_vec(),
        huge.into_bytes(),
        b"{\"customer_id\":\"\xff\xfe\",\"type\":\"page_view\",\"ts\":\"2026-11-30T10:00:00Z\"}"
            .to_vec(),
        good("c", "10:02:00").into_bytes(),
        good("z", "12:00:00").into_bytes(),
    ];
    let mut bytes = Vec::new();
    for l in lines.drain(..) {
        bytes.extend_from_slice(&l);
        bytes.push(b'\n');
    }
    std::fs::write(dir.path().join("clickstream.ndjson"), bytes).unwrap();
    let (stdout, stderr) = replay(dir.path(), &[]);
    let all = records(&stdout);
    let dead: Vec<(u64, &str)> = all
        .iter()
        .filter(|r| r["topic"] == "nudge-dlq")
        .map(|r| {
            (
                r["value"]["line"].as_u64().unwrap(),
                r["value"]["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        dead,
        vec![
            (2, "invalid_json"),
            (4, "schema_mismatch"),
            (5, "missing_customer_id"),
            (6, "absurd_timestamp"),
            (7, "bad_timestamp"),
            (8, "oversize"),
            (9, "invalid_utf8"),
        ]
    );
    let oversize = all
        .iter()
        .find(|r| r["value"]["reason"] == "oversize")
        .unwrap();
    assert!(oversize["value"]["original_bytes"].as_u64().unwrap() > 10 << 20);
    assert!(
        oversize.to_string().len() < 2 << 20,
        "the dead letter keeps a bounded prefix"
    );
    let closed: Vec<&str> = all
        .iter()
        .filter(|r| r["topic"] == "sessions")
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        closed,
        vec!["a", "b", "c"],
        "every valid record around the bad ones counted"
    );
    assert!(stderr.contains("invalid      7"), "{stderr}");
}

#[test]
fn replay_refuses_a_missing_or_empty_input_directory() {
    let out = nudge(&["replay", "--input", "/nonexistent/dir"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a directory"));
    let dir = tempfile::tempdir().unwrap();
    let out = nudge(&["replay", "--input", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds none of"));
}

#[test]
fn check_accepts_good_files_and_names_the_bad_key() {
    let good = sample().join("nudge.toml");
    let out = nudge(&["check", "--config", good.to_str().unwrap()]);
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[policy.frequency_cap]\nmax = 2\nper = \"a day\"\n").unwrap();
    let out = nudge(&["check", "--config", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("policy.frequency_cap.per"), "{stderr}");
}

#[test]
fn replay_refuses_a_bad_config_before_reading_input() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[detectors.cart_abandoned]\nenabled = \"yes\"\n").unwrap();
    let out = nudge(&[
        "replay",
        "--input",
        sample().to_str().unwrap(),
        "--config",
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("detectors.cart_abandoned.enabled"));
}
