//! Helpers of the report and compare tests: the binary, the data folders, a report's files.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// `tests/data/NAME`, as a string for command lines.
pub fn data(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name);
    dir.to_str().expect("a UTF-8 path").to_owned()
}

/// Runs `nudge ARGS` and insists that it succeeds.
pub fn nudge_ok(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(args)
        .output()
        .expect("nudge runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nudge {args:?} failed: {stderr}");
    out
}

/// `nudge report ARGS` into a temporary folder: the JSON and the page.
pub fn report_files(args: &[&str]) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let (html, json) = (dir.path().join("r.html"), dir.path().join("r.json"));
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend([
        "--out",
        html.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    nudge_ok(&all);
    let json = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    (json, std::fs::read_to_string(html).unwrap())
}

/// The JSON of `nudge report ARGS`.
pub fn report_json(args: &[&str]) -> Value {
    report_files(args).0
}
