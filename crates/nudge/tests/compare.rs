//! `nudge replay --compare` against what two separate replays give.

mod report_common;

use std::collections::BTreeMap;

use report_common::{data, nudge_ok, report_json};
use serde_json::Value;

/// The triggers a replay emits, by trigger id: (type, arm, due time).
fn fired(input: &str, config: &str) -> BTreeMap<String, (String, String, String)> {
    let out = nudge_ok(&["replay", "--input", input, "--config", config]).stdout;
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| {
            let topic = r["topic"].as_str().unwrap();
            topic.starts_with("triggers.") && topic != "triggers.suppressed"
        })
        .map(|r| {
            let v = &r["value"];
            let s = |k: &str| v[k].as_str().unwrap().to_owned();
            (s("trigger_id"), (s("type"), s("arm"), s("due_at")))
        })
        .collect()
}

/// Runs `--compare` with `base` plus `[detectors.cart_abandoned] after` set to `after_a` and
/// `after_b`, and checks every count and id of the diff against two separate replays.
/// Returns the diff's cart entry and stdout.
fn compare_cart_delays(set: &str, base: &str, after_a: &str, after_b: &str) -> (Value, String) {
    let input = data(set);
    let dir = tempfile::tempdir().unwrap();
    let config = |name: &str, after: &str| {
        let path = dir.path().join(name);
        let text = format!("{base}\n[detectors.cart_abandoned]\nafter = \"{after}\"\n");
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let (a, b) = (config("a.toml", after_a), config("b.toml", after_b));
    let diff_path = dir.path().join("diff.json");
    let out = nudge_ok(&[
        "replay",
        "--input",
        &input,
        "--config",
        &a,
        "--compare",
        &b,
        "--out",
        diff_path.to_str().unwrap(),
    ]);
    let diff: Value = serde_json::from_str(&std::fs::read_to_string(&diff_path).unwrap()).unwrap();
    let (fired_a, fired_b) = (fired(&input, &a), fired(&input, &b));

    let ids = |list: &Value| -> Vec<String> {
        let mut ids: Vec<String> = (list.as_array().unwrap().iter())
            .map(|f| f["trigger_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let only = |x: &BTreeMap<_, _>, y: &BTreeMap<String, _>| -> Vec<String> {
        x.keys()
            .filter(|id| !y.contains_key(*id))
            .cloned()
            .collect()
    };
    assert_eq!(ids(&diff["only_a"]), only(&fired_a, &fired_b));
    assert_eq!(ids(&diff["only_b"]), only(&fired_b, &fired_a));

    for t in diff["types"].as_array().unwrap() {
        let kind = t["type"].as_str().unwrap();
        let count = |x: &BTreeMap<String, (String, String, String)>,
                     y: &BTreeMap<String, (String, String, String)>,
                     arm: Option<&str>| {
            (x.iter())
                .filter(|(id, (k, a, _))| {
                    k == kind && !y.contains_key(*id) && arm.is_none_or(|arm| a == arm)
                })
                .count() as u64
        };
        for (side, x, y) in [
            ("only_a", &fired_a, &fired_b),
            ("only_b", &fired_b, &fired_a),
        ] {
            assert_eq!(t[side]["triggers"], count(x, y, None), "{kind} {side}");
            assert_eq!(t[side]["treatment"], count(x, y, Some("treatment")));
            assert_eq!(t[side]["holdout"], count(x, y, Some("holdout")));
        }
        let matched: Vec<bool> = (fired_a.iter())
            .filter(|(_, (k, _, _))| k == kind)
            .filter_map(|(id, (_, _, due))| fired_b.get(id).map(|b| b.2 != *due))
            .collect();
        assert_eq!(t["both"]["triggers"], matched.len() as u64, "{kind} both");
        let moved = matched.iter().filter(|m| **m).count() as u64;
        assert_eq!(t["both"]["due_changed"], moved, "{kind} due changed");
    }
    // The change in conversions uses the uplift that `nudge report` measures on run A.
    let cart = diff["types"][0].clone();
    assert_eq!(cart["type"], "cart_abandoned");
    let report_a = report_json(&["--input", &input, "--config", &a]);
    let uplift = &report_a["effect"]["by_type"][0]["uplift"];
    let delta = cart["only_b"]["treatment"].as_f64().unwrap()
        - cart["only_a"]["treatment"].as_f64().unwrap();
    let change = &cart["conversion_change"];
    if delta == 0.0 {
        assert_eq!(change["estimate"], 0.0);
    } else if uplift.is_null() {
        assert!(change.is_null(), "no estimate without an uplift: {change}");
    } else {
        assert_eq!(cart["uplift"]["measured_on"], "a");
        let d = uplift["difference"].as_f64().unwrap();
        assert!((change["estimate"].as_f64().unwrap() - delta * d).abs() < 1e-9);
    }
    (cart, String::from_utf8(out.stdout).unwrap())
}

#[test]
fn a_longer_cart_delay_loses_the_carts_bought_before_it() {
    let base = std::fs::read_to_string(format!("{}/nudge.toml", data("report"))).unwrap();
    let (cart, stdout) = compare_cart_delays("report", &base, "1h", "3h");
    // The cohort's carts are due at 11:01 with 1h and 13:01 with 3h: cart-01, 02 (bought at
    // 12:01), 03 and 04 (at 13:01, on the due time) close their episode first under B.
    assert_eq!(cart["only_a"]["triggers"], 4);
    assert_eq!(cart["only_a"]["treatment"], 3);
    assert_eq!(cart["both"]["triggers"], 20);
    assert_eq!(cart["both"]["due_changed"], 20);
    // Three treatment reminders fewer, times A's uplift of 0.25 (tests/data/report).
    assert!((cart["conversion_change"]["estimate"].as_f64().unwrap() + 0.75).abs() < 1e-9);
    assert!(stdout.contains("cart_abandoned"), "{stdout}");
    assert!(stdout.contains("-0.75"), "{stdout}");
}

#[test]
fn a_shorter_cart_delay_without_a_holdout_cannot_be_estimated() {
    let base = std::fs::read_to_string(format!("{}/nudge.toml", data("sample"))).unwrap();
    let (cart, stdout) = compare_cart_delays("sample", &base, "3h", "1h");
    // With 1h, bob's cart (due 11:17, bought 12:30) and hank's (due 15:00, before zoe's 16:00)
    // fire; with 3h, bob bought first and hank's due time is after the input ends.
    assert_eq!(cart["only_b"]["treatment"], 2);
    assert!(cart["conversion_change"].is_null());
    assert!(stdout.contains("holdout arm is too small"), "{stdout}");
}
