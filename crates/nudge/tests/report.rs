//! `nudge report` as a user runs it: golden figures on a handmade day, the page showing
//! exactly the JSON's figures, and a report read back from a replay output file.

mod report_common;

use std::collections::BTreeSet;

use report_common::{data, nudge_ok, report_files, report_json};
use scraper::{Html, Node, Selector};
use serde_json::{json, Value};

/// Compares two JSON values: same shape, same strings, numbers within `1e-6`.
fn assert_matches(got: &Value, want: &Value, at: &str) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            let (gk, wk): (Vec<_>, Vec<_>) = (g.keys().collect(), w.keys().collect());
            assert_eq!(gk, wk, "keys of {at}");
            for (k, w) in w {
                assert_matches(&g[k], w, &format!("{at}/{k}"));
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "length of {at}: {got}");
            for (i, (g, w)) in g.iter().zip(w).enumerate() {
                assert_matches(g, w, &format!("{at}/{i}"));
            }
        }
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!((g - w).abs() < 1e-6, "{at}: got {g}, want {w}");
        }
        _ => assert_eq!(got, want, "{at}"),
    }
}

fn funnel_row(name: &str, reached: u64, stopped: u64, share: f64, drop: Option<f64>) -> Value {
    json!({"name": name, "reached": reached, "stopped_here": stopped,
           "share_of_first": share, "drop_off": drop})
}

#[allow(clippy::too_many_arguments)]
fn kpis(
    sessions: u64,
    bounces: u64,
    secs: f64,
    median: f64,
    pages: u64,
    conversions: u64,
    revenue: f64,
) -> Value {
    let n = sessions as f64;
    json!({"sessions": sessions, "bounces": bounces, "bounce_rate": bounces as f64 / n,
           "mean_duration_s": secs / n, "median_duration_s": median, "page_views": pages,
           "pages_per_session": pages as f64 / n, "conversions": conversions,
           "conversion_rate": conversions as f64 / n, "revenue": revenue})
}

fn named(items: &[(&str, u64)]) -> Value {
    Value::Array(
        (items.iter())
            .map(|(n, c)| json!({"name": n, "count": c}))
            .collect(),
    )
}

/// An arm of a trigger type with no conversion.
fn arm(triggers: u64, customers: u64) -> Value {
    let rate = (customers > 0).then_some(0.0);
    json!({"triggers": triggers, "customers": customers, "converted": 0,
           "conversion_rate": rate, "purchases": 0, "revenue": 0.0,
           "revenue_per_customer": rate, "mean_time_to_conversion_s": null,
           "median_time_to_conversion_s": null})
}

fn not_estimated(kind: &str, treatment: Value, holdout: Value, status: &str) -> Value {
    json!({"type": kind, "treatment": treatment, "holdout": holdout, "status": status,
           "uplift": null, "revenue_per_customer_difference": null})
}

#[test]
fn golden_figures_are_the_hand_computed_ones() {
    let dir = data("report");
    let mut got = report_json(&["--input", &dir, "--config", &format!("{dir}/nudge.toml")]);
    let config = got["provenance"]["config_toml"].take();
    assert!(config.as_str().unwrap().contains("holdout_percent = 50"));
    let method = got["effect"]["method"].take();
    assert!(method.as_str().unwrap().contains("Newcombe"));
    // The arithmetic is written out in tests/data/report/README.md; here it is again.
    let want = json!({
        "format_version": 1,
        "provenance": {
            "made_from": "replay",
            "source": dir,
            "config_toml": null,
            "input": {
                // crm 4; email 7 lines - 1 dead letter; clickstream 75 lines - 1 dead letter.
                "records": 84, "unknown_type": 1,
                // ann ben cat dan eve anon-1 zed + 24 cohort customers.
                "customers": 31,
                "by_source": named(&[("crm", 4), ("email", 6), ("clickstream", 74)]),
                // 07:00 to 24:00 is 17 h = 17 * 3600 s.
                "span": {"first": "2026-12-01T07:00:00.000Z",
                         "last": "2026-12-02T00:00:00.000Z", "duration_s": 61200.0},
            },
            "outputs": named(&[("nudge-dlq", 2), ("sessions", 38), ("trigger-outcomes", 9),
                ("triggers.browse_abandoned", 1), ("triggers.cart_abandoned", 24),
                ("triggers.checkout_abandoned", 1), ("triggers.re_engagement", 1),
                ("triggers.suppressed", 2)]),
            "dead_letters": {"total": 2,
                "by_source": named(&[("clickstream", 1), ("email", 1)]),
                "by_reason": named(&[("invalid_json", 1), ("missing_customer_id", 1)])},
            "open_sessions_at_end": 1,
            "unknown": [],
        },
        "funnel": {
            // At: awareness 3 (eve anon-1 zed), consideration 1 (ben), decision 16 (cat + 15
            // cohort non-buyers), retention 10 (dan + 9 buyers), advocacy 1 (ann).
            // Reached from the bottom: 1, 11, 27, 28, 31.
            "stages": [
                funnel_row("awareness", 31, 3, 1.0, None),
                funnel_row("consideration", 28, 1, 28.0 / 31.0, Some(3.0 / 31.0)),
                funnel_row("decision", 27, 16, 27.0 / 31.0, Some(1.0 / 28.0)),
                funnel_row("retention", 11, 10, 11.0 / 31.0, Some(16.0 / 27.0)),
                funnel_row("advocacy", 1, 1, 1.0 / 31.0, Some(10.0 / 11.0)),
            ],
            // Furthest step: none 1 (anon-1), product view 1 (ben), add to cart 25 (dan + 24),
            // checkout 1 (cat), payment 0, purchase 10 (ann + 9). Reached: 38 37 36 11 10 10.
            "steps": [
                funnel_row("visit", 38, 1, 1.0, None),
                funnel_row("product_view", 37, 1, 37.0 / 38.0, Some(1.0 / 38.0)),
                funnel_row("add_to_cart", 36, 25, 36.0 / 38.0, Some(1.0 / 37.0)),
                funnel_row("checkout_started", 11, 1, 11.0 / 38.0, Some(25.0 / 36.0)),
                funnel_row("payment", 10, 0, 10.0 / 38.0, Some(1.0 / 11.0)),
                funnel_row("purchase", 10, 10, 10.0 / 38.0, Some(0.0)),
            ],
            // 38 sessions - 10 with a purchase = 28; ties (1 each) in path order.
            "exit_pages": {"sessions": 28, "top": [
                {"path": "/p/50", "sessions": 24, "share": 24.0 / 28.0},
                {"path": "/", "sessions": 1, "share": 1.0 / 28.0},
                {"path": "/checkout/shipping", "sessions": 1, "share": 1.0 / 28.0},
                {"path": "/p/4", "sessions": 1, "share": 1.0 / 28.0},
                {"path": "/p/6", "sessions": 1, "share": 1.0 / 28.0},
            ]},
        },
        "sessions": {
            // Bounces: dan, anon-1, 9 purchase sessions. Seconds: 600 + 300 + 180 + 24 * 60.
            // Median: 11 zeros then 24 sixties, so ranks 19 and 20 are 60. Page views
            // 2 + 4 + 1 + 24. Revenue 120 + 6 * 50 + 3 * 40.
            "overall": kpis(38, 11, 2520.0, 60.0, 31, 10, 540.0),
            "by_device": [
                {"name": "app", "kpis": kpis(1, 0, 180.0, 180.0, 0, 0, 0.0)},
                // ann 600 s, ben 300 s, anon-1 0 s: median 300.
                {"name": "desktop", "kpis": kpis(3, 1, 900.0, 300.0, 7, 1, 120.0)},
                // 24 cart sessions of 60 s, 9 purchase bounces: rank 17 of 33 is 60.
                {"name": "mobile", "kpis": kpis(33, 9, 1440.0, 60.0, 24, 9, 420.0)},
                {"name": "tablet", "kpis": kpis(1, 1, 0.0, 0.0, 0, 0, 0.0)},
            ],
            "by_segment": [
                // ben 300 s and cat 180 s: median (180 + 300) / 2.
                {"name": "new", "kpis": kpis(2, 0, 480.0, 240.0, 4, 0, 0.0)},
                {"name": "returning", "kpis": kpis(1, 1, 0.0, 0.0, 0, 0, 0.0)},
                // anon-1 and the 33 cohort sessions: 10 zeros, 24 sixties.
                {"name": "unknown", "kpis": kpis(34, 10, 1440.0, 60.0, 25, 9, 420.0)},
                {"name": "vip", "kpis": kpis(1, 0, 600.0, 600.0, 2, 1, 120.0)},
            ],
        },
        "triggers": {
            "emitted": 27, "suppressed": 2,
            "by_type": [
                {"type": "cart_abandoned", "treatment": 12, "holdout": 12, "suppressed": 2},
                {"type": "checkout_abandoned", "treatment": 1, "holdout": 0, "suppressed": 0},
                {"type": "feedback_request", "treatment": 0, "holdout": 0, "suppressed": 0},
                {"type": "browse_abandoned", "treatment": 0, "holdout": 1, "suppressed": 0},
                {"type": "re_engagement", "treatment": 0, "holdout": 1, "suppressed": 0},
            ],
            // email: 24 carts + eve (holdout); sms: ben (holdout); push: cat (treatment).
            "by_channel": [
                {"channel": "email", "treatment": 12, "holdout": 13},
                {"channel": "sms", "treatment": 0, "holdout": 1},
                {"channel": "push", "treatment": 1, "holdout": 0},
            ],
            "suppressed_by_reason": named(&[("complaint", 0), ("unsubscribed", 1),
                ("bounced", 0), ("no_consent", 0), ("unknown_consent", 0),
                ("frequency_cap", 1)]),
        },
        "effect": {
            "method": null, "confidence": 0.95, "min_customers_per_arm": 10,
            "by_type": [
                {"type": "cart_abandoned",
                 // 6 of 12 bought, 50 each, after 1 1 2 3 4 5 h: mean 16/6 h, median 2.5 h.
                 "treatment": {"triggers": 12, "customers": 12, "converted": 6,
                    "conversion_rate": 0.5, "purchases": 6, "revenue": 300.0,
                    "revenue_per_customer": 25.0, "mean_time_to_conversion_s": 9600.0,
                    "median_time_to_conversion_s": 9000.0},
                 // 3 of 12 bought, 40 each, after 2 4 12 h: mean 6 h, median 4 h.
                 "holdout": {"triggers": 12, "customers": 12, "converted": 3,
                    "conversion_rate": 0.25, "purchases": 3, "revenue": 120.0,
                    "revenue_per_customer": 10.0, "mean_time_to_conversion_s": 21600.0,
                    "median_time_to_conversion_s": 14400.0},
                 "status": "estimated",
                 // 0.5 - 0.25; Wilson 6/12 = 0.253782..0.746218, 3/12 = 0.088942..0.532305;
                 // low 0.25 - sqrt(0.246218^2 + 0.282305^2) = -0.124593,
                 // high 0.25 + sqrt(0.246218^2 + 0.161058^2) = 0.544216 (README).
                 "uplift": {"difference": 0.25, "low": -0.124_592_85, "high": 0.544_216_40},
                 "revenue_per_customer_difference": 15.0},
                not_estimated("checkout_abandoned", arm(1, 1), arm(0, 0), "holdout_too_small"),
                not_estimated("feedback_request", arm(0, 0), arm(0, 0), "no_triggers"),
                not_estimated("browse_abandoned", arm(0, 0), arm(1, 1), "holdout_too_small"),
                not_estimated("re_engagement", arm(0, 0), arm(1, 1), "holdout_too_small"),
            ],
        },
    });
    assert_matches(&got, &want, "");
}

#[test]
fn page_shows_exactly_the_figures_of_the_json() {
    let sample = data("sample");
    let report = data("report");
    let from = tempfile::tempdir().unwrap();
    let replayed = from.path().join("out.ndjson");
    nudge_ok(&[
        "replay",
        "--input",
        &report,
        "--config",
        &format!("{report}/nudge.toml"),
        "--out",
        replayed.to_str().unwrap(),
    ]);
    for args in [
        vec!["--input", &sample],
        vec![
            "--input",
            &report,
            "--config",
            &format!("{report}/nudge.toml"),
        ],
        vec!["--from", replayed.to_str().unwrap()],
    ] {
        let (json, html) = report_files(&args);
        let check = PageCheck::new(&html);
        check.figures_agree_with(&json);
        check.no_digit_outside_a_figure();
        check.cannot_load_anything();
    }
}

#[test]
fn report_from_an_output_file_says_what_it_cannot_know() {
    let report = data("report");
    let config = format!("{report}/nudge.toml");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.ndjson");
    let out = out.to_str().unwrap();
    nudge_ok(&[
        "replay", "--input", &report, "--config", &config, "--out", out,
    ]);
    let replayed = report_json(&["--input", &report, "--config", &config]);
    let read = report_json(&["--from", out]);
    let p = &read["provenance"];
    assert_eq!(p["made_from"], "replay_output");
    assert!(p["input"].is_null() && p["open_sessions_at_end"].is_null());
    assert!(p["config_toml"].is_null());
    assert!(read["funnel"]["stages"].is_null());
    assert_eq!(p["unknown"].as_array().unwrap().len(), 3);
    // Everything the outputs hold is the same as when replaying.
    assert_eq!(p["dead_letters"], replayed["provenance"]["dead_letters"]);
    assert_eq!(p["outputs"], replayed["provenance"]["outputs"]);
    for section in ["sessions", "triggers", "effect"] {
        assert_eq!(read[section], replayed[section], "{section}");
    }
    assert_eq!(read["funnel"]["steps"], replayed["funnel"]["steps"]);
    assert_eq!(
        read["funnel"]["exit_pages"],
        replayed["funnel"]["exit_pages"]
    );
    // A configuration given with --from is shown as given.
    let with_config = report_json(&["--from", out, "--config", &config]);
    assert_eq!(
        with_config["provenance"]["config_toml"],
        replayed["provenance"]["config_toml"]
    );
    assert_eq!(
        with_config["provenance"]["unknown"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// A report page, parsed as a browser would, to check against its JSON.
struct PageCheck {
    doc: Html,
    source: String,
}

impl PageCheck {
    fn new(html: &str) -> PageCheck {
        PageCheck {
            doc: Html::parse_document(html),
            source: html.to_owned(),
        }
    }

    /// Every element tagged `data-f` shows the JSON value its pointer names, read back from
    /// its text by its `data-fmt`; and every value of the JSON is shown somewhere.
    fn figures_agree_with(&self, json: &Value) {
        let mut shown = BTreeSet::new();
        for el in self.doc.select(&Selector::parse("[data-f]").unwrap()) {
            let ptr = el.value().attr("data-f").unwrap();
            let fmt = el
                .value()
                .attr("data-fmt")
                .expect("a format beside each pointer");
            let value = json
                .pointer(ptr)
                .unwrap_or_else(|| panic!("the page shows {ptr}, which the JSON lacks"));
            let text: String = el.text().collect();
            check_figure(ptr, fmt, &text, value);
            shown.insert(ptr.to_owned());
        }
        let mut all = Vec::new();
        leaves(json, String::new(), &mut all);
        let missing: Vec<&String> = all.iter().filter(|p| !shown.contains(*p)).collect();
        assert!(
            missing.is_empty(),
            "JSON values not on the page: {missing:?}"
        );
    }

    /// No digit in the page's text outside a tagged figure: the page has no number of its own.
    fn no_digit_outside_a_figure(&self) {
        for node in self.doc.root_element().descendants() {
            let Node::Text(text) = node.value() else {
                continue;
            };
            if !text.chars().any(|c| c.is_ascii_digit()) {
                continue;
            }
            let tagged = node.ancestors().any(|a| match a.value() {
                Node::Element(e) => e.attr("data-f").is_some() || e.name() == "style",
                _ => false,
            });
            assert!(tagged, "untagged figure in the page: {:?}", &**text);
        }
    }

    /// A Content-Security-Policy that refuses every load, and nothing that would load.
    fn cannot_load_anything(&self) {
        let csp = Selector::parse("meta[http-equiv=\"Content-Security-Policy\"]").unwrap();
        let csp = self.doc.select(&csp).next().expect("a CSP meta element");
        let policy = csp.value().attr("content").unwrap();
        assert!(policy.starts_with("default-src 'none'"), "{policy}");
        assert!(
            !policy.contains("http") && !policy.contains('*'),
            "{policy}"
        );
        let loaders = "script, link, img, image, use, iframe, object, embed, audio, video, \
                       source, base, form";
        let loaders = Selector::parse(loaders).unwrap();
        assert_eq!(
            self.doc.select(&loaders).count(),
            0,
            "an element that loads"
        );
        for el in self.doc.select(&Selector::parse("*").unwrap()) {
            for (name, value) in el.value().attrs() {
                let loads = matches!(name, "src" | "srcset" | "data" | "poster" | "action")
                    || (name == "href" && !value.starts_with('#'));
                assert!(!loads, "{name}={value:?} on <{}>", el.value().name());
            }
        }
        for needle in ["http:", "https:", "url(", "@import", "//"] {
            assert!(!self.source.contains(needle), "the page holds {needle:?}");
        }
    }
}

fn check_figure(ptr: &str, fmt: &str, text: &str, value: &Value) {
    if value.is_null() {
        assert_eq!(text, "n/a", "{ptr}");
        return;
    }
    let number = |s: &str| -> f64 {
        let s = s.replace(',', "");
        s.parse()
            .unwrap_or_else(|_| panic!("{ptr}: {s:?} is not a number"))
    };
    let (shown, tolerance) = match fmt {
        "text" => return assert_eq!(Some(text), value.as_str(), "{ptr}"),
        "label" => {
            let want = value.as_str().unwrap().replace('_', " ");
            return assert_eq!(text, want, "{ptr}");
        }
        "count" => return assert_eq!(number(text), value.as_u64().unwrap() as f64, "{ptr}"),
        "pct" => (number(text.strip_suffix('%').unwrap()) / 100.0, 0.0005),
        "pp" => (number(text.strip_suffix(" pp").unwrap()) / 100.0, 0.0005),
        "num" => (number(text), 0.005),
        "dur" => (seconds(text), 0.5),
        other => panic!("{ptr}: unknown format {other}"),
    };
    let want = value.as_f64().unwrap();
    assert!(
        (shown - want).abs() <= tolerance + 1e-9,
        "{ptr}: the page shows {text:?}, the JSON {want}"
    );
}

/// `1h 02m 05s`, `4m 30s` or `45s` in seconds.
fn seconds(text: &str) -> f64 {
    text.split_whitespace()
        .map(|part| {
            let (n, unit) = part.split_at(part.len() - 1);
            let n: f64 = n.parse().unwrap_or_else(|_| panic!("{text:?}"));
            n * match unit {
                "h" => 3600.0,
                "m" => 60.0,
                "s" => 1.0,
                _ => panic!("{text:?}"),
            }
        })
        .sum()
}

/// The JSON pointers of every scalar (null included) in `v`.
fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, v)| leaves(v, format!("{at}/{k}"), out)),
        Value::Array(a) => {
            (a.iter().enumerate()).for_each(|(i, v)| leaves(v, format!("{at}/{i}"), out))
        }
        _ => out.push(at),
    }
}
