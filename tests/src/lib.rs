//! Harness for the end-to-end tests: brokers, the `nudge` binary as a user runs it, and
//! reading topics back.
//!
//! Every test gets its own topic names and consumer group (a random suffix), so tests can
//! share a broker.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;

/// The `nudge` binary built next to the test executables.
pub fn nudge_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    let bin = dir.join("nudge");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p nudge` (tests/run.sh does) before these tests",
        bin.display()
    );
    bin
}

/// The sample day of tests/data/sample.
pub fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample")
}

/// A suffix no other test run uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{nanos:08x}", std::process::id())
}

/// A scratch directory with a `nudge.toml` naming this test's topics.
pub struct Scenario {
    pub dir: tempfile::TempDir,
    pub suffix: String,
    pub brokers: String,
}

impl Scenario {
    /// A scenario with extra configuration text appended to the generated file; set
    /// `brokers` once the broker runs. Metrics go to a random port unless `extra` has a
    /// `[metrics]` table.
    pub fn new(extra: &str) -> Scenario {
        let dir = tempfile::tempdir().expect("temp dir");
        let metrics = if extra.contains("[metrics]") {
            ""
        } else {
            "[metrics]\nlisten = \"127.0.0.1:0\"\n"
        };
        let suffix = unique("t");
        let config = format!(
            "[topics]\n\
             clickstream = \"clickstream-{suffix}\"\n\
             email = \"email-{suffix}\"\n\
             crm = \"crm-{suffix}\"\n\
             trigger_prefix = \"triggers-{suffix}.\"\n\
             suppressed = \"suppressed-{suffix}\"\n\
             sessions = \"sessions-{suffix}\"\n\
             outcomes = \"outcomes-{suffix}\"\n\
             dead_letters = \"dlq-{suffix}\"\n\
             changelog = \"changelog-{suffix}\"\n\
             [kafka]\n\
             \"group.id\" = \"group-{suffix}\"\n\
             \"session.timeout.ms\" = \"6000\"\n\
             \"heartbeat.interval.ms\" = \"500\"\n\
             {metrics}{extra}"
        );
        std::fs::write(dir.path().join("nudge.toml"), config).expect("write config");
        Scenario {
            dir,
            suffix,
            brokers: String::new(),
        }
    }

    /// The generated configuration file.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("nudge.toml")
    }

    /// A topic name of this scenario, e.g. `topic("sessions")`.
    pub fn topic(&self, base: &str) -> String {
        format!("{base}-{}", self.suffix)
    }

    /// Every output topic (triggers, suppressed, sessions, outcomes).
    pub fn output_topics(&self) -> Vec<String> {
        let mut topics: Vec<String> = nudge_events::TriggerType::ALL
            .iter()
            .map(|t| format!("triggers-{}.{}", self.suffix, t.name()))
            .collect();
        for base in ["suppressed", "sessions", "outcomes"] {
            topics.push(self.topic(base));
        }
        topics
    }

    /// `nudge topics create` for this scenario's topics.
    pub fn create_topics(&self, partitions: i32) {
        let status = Command::new(nudge_bin())
            .args(["topics", "create", "--brokers", &self.brokers])
            .args(["--partitions", &partitions.to_string()])
            .arg("--config")
            .arg(self.config())
            .stdout(Stdio::null())
            .status()
            .expect("nudge topics create runs");
        assert!(status.success(), "nudge topics create failed");
    }

    /// `nudge produce` of a directory of NDJSON files.
    pub fn produce(&self, input: &Path) {
        let status = Command::new(nudge_bin())
            .args(["produce", "--brokers", &self.brokers])
            .arg("--input")
            .arg(input)
            .arg("--config")
            .arg(self.config())
            .status()
            .expect("nudge produce runs");
        assert!(status.success(), "nudge produce failed");
    }

    /// Starts `nudge run` for this scenario.
    pub fn start(&self, instance: &str) -> Pipeline {
        self.start_with(instance, &[])
    }

    /// Starts `nudge run` for this scenario, serving its metrics on 127.0.0.1:`port`.
    pub fn start_serving(&self, instance: &str, port: u16) -> Pipeline {
        self.start_with(
            instance,
            &["--metrics-listen", &format!("127.0.0.1:{port}")],
        )
    }

    /// Starts a member, then a second one once the first has applied a record, so the group
    /// rebalances mid-run. Both serve their metrics; returns each with its port, first first.
    pub fn start_second_member_mid_run(&self) -> [(Pipeline, u16); 2] {
        let (first_port, second_port) = (free_port(), free_port());
        let first = self.start_serving("first", first_port);
        wait_until_applying(first_port);
        let second = self.start_serving("second", second_port);
        [(first, first_port), (second, second_port)]
    }

    /// Starts `nudge run` for this scenario with extra arguments.
    fn start_with(&self, instance: &str, args: &[&str]) -> Pipeline {
        let child = Command::new(nudge_bin())
            .args(["run", "--brokers", &self.brokers, "--instance-id", instance])
            .args(args)
            .arg("--config")
            .arg(self.config())
            // The runtime's own lines explain a failure: restores, rebalances, and any input
            // partition gone on without after `max_task_idle` (where live may differ from
            // replay).
            .env("RUST_LOG", "warn,nudge_kafka=debug")
            .spawn()
            .expect("nudge run starts");
        Pipeline { child }
    }
}

/// A running `nudge run`.
pub struct Pipeline {
    child: Child,
}

impl Pipeline {
    /// SIGKILL: no chance to commit anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for a graceful exit; returns whether it exited cleanly.
    pub fn stop(mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        false
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nudge dev-broker` in its own process, for the duration of a test.
pub struct DevBroker {
    child: Child,
    pub bootstrap: String,
}

impl DevBroker {
    /// Starts a dev broker with the topics `config` names, `partitions` partitions each (the
    /// mock cluster cannot create topics over the admin API, so the broker creates them).
    pub fn start(config: &Path, partitions: i32) -> DevBroker {
        let mut child = Command::new(nudge_bin())
            .args(["dev-broker", "--partitions", &partitions.to_string()])
            .arg("--config")
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("nudge dev-broker starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("dev-broker prints its address");
        let bootstrap = line
            .trim()
            .strip_prefix("bootstrap.servers=")
            .unwrap_or_else(|| panic!("unexpected dev-broker output {line:?}"))
            .to_owned();
        DevBroker { child, bootstrap }
    }
}

impl Drop for DevBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tansu broker the test command started, or a loud failure saying how to get one.
pub fn tansu() -> String {
    std::env::var("NUDGE_TEST_TANSU").unwrap_or_else(|_| {
        panic!(
            "no tansu broker: run the tests with tests/run.sh, which installs and starts one, \
             or start `tansu broker --listener-url tcp://127.0.0.1:9092 --advertised-listener-url \
             tcp://127.0.0.1:9092 --storage-engine memory://tansu/` and set \
             NUDGE_TEST_TANSU=127.0.0.1:9092"
        )
    })
}

/// One record read back from a topic.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub topic: String,
    pub key: Option<String>,
    pub value: Option<Vec<u8>>,
    pub headers: BTreeMap<String, String>,
    /// The record's Kafka timestamp (ms since the epoch), if it has one.
    pub timestamp: Option<i64>,
}

impl Record {
    /// The value as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(self.value.as_deref().unwrap_or(b"null")).expect("JSON value")
    }
}

/// Reads every committed record of `topics` from the beginning, until each partition's end.
pub fn read_all(brokers: &str, topics: &[String], read_committed: bool) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set(
            "isolation.level",
            if read_committed {
                "read_committed"
            } else {
                "read_uncommitted"
            },
        )
        .create()
        .expect("reader");
    let mut tpl = TopicPartitionList::new();
    let mut open = 0;
    for topic in topics {
        let md = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("metadata");
        for t in md.topics() {
            for p in t.partitions() {
                tpl.add_partition_offset(t.name(), p.id(), Offset::Beginning)
                    .expect("partition");
                open += 1;
            }
        }
    }
    consumer.assign(&tpl).expect("assign");
    let mut records = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while open > 0 {
        assert!(
            Instant::now() < deadline,
            "reading {topics:?} took too long"
        );
        match consumer.poll(Duration::from_millis(500)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(_))) => open -= 1,
            Some(Err(e)) => panic!("reading: {e}"),
            Some(Ok(m)) => records.push(Record {
                topic: m.topic().to_owned(),
                key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                value: m.payload().map(<[u8]>::to_vec),
                timestamp: m.timestamp().to_millis(),
                headers: m
                    .headers()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| {
                                let v = h.value.map(|v| String::from_utf8_lossy(v).into_owned());
                                (h.key.to_owned(), v.unwrap_or_default())
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
        }
    }
    records
}

/// `nudge replay` over `input` with `config`: its output records as (topic, key, value).
pub fn replay(input: &Path, config: &Path) -> Vec<(String, String, Value)> {
    let out = Command::new(nudge_bin())
        .arg("replay")
        .arg("--input")
        .arg(input)
        .arg("--config")
        .arg(config)
        .output()
        .expect("nudge replay runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON line");
            (
                v["topic"].as_str().unwrap_or_default().to_owned(),
                v["key"].as_str().unwrap_or_default().to_owned(),
                v["value"].clone(),
            )
        })
        .collect()
}

/// Reads the output topics (read_committed with `committed`) until they hold as many records
/// due before `last` (see [`due_before`]) as `replayed` does and have stopped changing for a
/// few reads; with `dedup`, each distinct record counts once (at-least-once may deliver one
/// twice). Timers due after `last` fire too (the live watermark goes on with the clock), so
/// counting all records would stop early while a task's watermark still holds back records
/// replay gave. After four minutes it returns what is there, for the comparison to name what
/// is missing.
pub fn settle_outputs(
    s: &Scenario,
    replayed: &[(String, String, Value)],
    last: i64,
    committed: bool,
    dedup: bool,
) -> Vec<(String, String, Value)> {
    let due = |r: &(String, String, Value)| r.0 != "nudge-dlq" && due_before(r, last);
    let expected = replayed.iter().filter(|r| due(r)).count();
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut last_len = usize::MAX;
    let mut stable = 0;
    loop {
        let mut records = normalise(s, &read_all(&s.brokers, &s.output_topics(), committed));
        if dedup {
            records.sort_by_key(|r| (r.0.clone(), r.1.clone(), r.2.to_string()));
            records.dedup();
        }
        let complete = records.iter().filter(|r| due(r)).count() >= expected;
        stable = if complete && records.len() == last_len {
            stable + 1
        } else {
            0
        };
        last_len = records.len();
        if stable >= 3 || Instant::now() >= deadline {
            return records;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Waits until the member serving its metrics on `port` has applied a record.
pub fn wait_until_applying(port: u16) {
    wait_for(
        &format!("the member on port {port} to process records"),
        Duration::from_secs(60),
        || {
            let (_, page) = http_get(port, "/metrics");
            metric_sum(&page, "nudge_events_consumed_total") > 0.0
        },
    );
}

/// Waits until `f` holds, or panics after `timeout` naming `what`.
pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Writes `days` of simulated traffic of `customers` customers, starting a week ago (so every
/// short timer is due before now and the 30-day ones are not), to DIR/*.ndjson; returns the
/// event time of the last record.
pub fn simulate(dir: &Path, customers: u32, hours: u32, seed: u64) -> i64 {
    let status = Command::new(nudge_bin())
        .arg("simulate")
        .arg("--out")
        .arg(dir)
        .args(["--customers", &customers.to_string()])
        .args(["--duration", &format!("{hours}h")])
        .args(["--seed", &seed.to_string()])
        .args(["--days-ago", "7"])
        .status()
        .expect("nudge simulate runs");
    assert!(status.success(), "nudge simulate failed");
    last_event_time(dir)
}

/// The largest event time in DIR/*.ndjson.
pub fn last_event_time(dir: &Path) -> i64 {
    let mut last = i64::MIN;
    for source in nudge_events::Source::ALL {
        let path = dir.join(format!("{}.ndjson", source.name()));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines() {
            if let Ok(e) = nudge_events::json::decode(source, line.as_bytes()) {
                last = last.max(e.ts().millis());
            }
        }
    }
    last
}

/// Parses an output record's RFC 3339 field into epoch milliseconds.
pub fn millis(v: &Value) -> i64 {
    nudge_events::Ts::parse_rfc3339(v.as_str().unwrap_or_default()).map_or(i64::MIN, |t| t.millis())
}

/// Output records as comparable (topic base, key, value) triples: topic names lose this
/// scenario's suffix so they compare with `nudge replay`'s default names.
pub fn normalise(scenario: &Scenario, records: &[Record]) -> Vec<(String, String, Value)> {
    let suffix = format!("-{}", scenario.suffix);
    let mut out: Vec<(String, String, Value)> = records
        .iter()
        .map(|r| {
            let topic = r.topic.replacen(&suffix, "", 1);
            let topic = match topic.as_str() {
                "suppressed" => "triggers.suppressed".to_owned(),
                "outcomes" => "trigger-outcomes".to_owned(),
                _ => topic,
            };
            (topic, r.key.clone().unwrap_or_default(), r.json())
        })
        .collect();
    out.sort_by(|a, b| (&a.0, &a.1, a.2.to_string()).cmp(&(&b.0, &b.1, b.2.to_string())));
    out
}

/// The engine's default session timeout (`[session] timeout`), which the test configs keep.
const SESSION_TIMEOUT_MS: i64 = 30 * 60 * 1000;

/// Whether replay would have emitted this record: everything except timers due at or after
/// the last input record (replay stops there; the live pipeline's watermark goes on).
pub fn due_before(record: &(String, String, Value), last: i64) -> bool {
    let (topic, _, v) = record;
    if topic == "sessions" {
        millis(&v["end"]) + SESSION_TIMEOUT_MS < last
    } else if topic.starts_with("triggers") {
        millis(&v["due_at"]) < last
    } else {
        true
    }
}

/// Asserts that the live outputs hold exactly what replay gave, with no duplicates: every
/// replay record once, and no live record replay would have emitted that it did not.
pub fn assert_matches_replay(
    live: &[(String, String, Value)],
    replayed: &[(String, String, Value)],
    last: i64,
) {
    let mut expected: Vec<_> = replayed
        .iter()
        .filter(|r| r.0 != "nudge-dlq")
        .cloned()
        .collect();
    expected.sort_by(|a, b| (&a.0, &a.1, a.2.to_string()).cmp(&(&b.0, &b.1, b.2.to_string())));
    let comparable: Vec<_> = live
        .iter()
        .filter(|r| due_before(r, last) || expected.contains(r))
        .cloned()
        .collect();
    if let Ok(dir) = std::env::var("NUDGE_E2E_DUMP") {
        let dump = |name: &str, rows: &[(String, String, Value)]| {
            let text: Vec<String> = rows
                .iter()
                .map(|r| format!("{}\t{}\t{}", r.0, r.1, r.2))
                .collect();
            let _ = std::fs::write(Path::new(&dir).join(name), text.join("\n"));
        };
        dump("live.tsv", &comparable);
        dump("replay.tsv", &expected);
    }
    let missing: Vec<_> = expected
        .iter()
        .filter(|r| !comparable.contains(r))
        .take(3)
        .collect();
    let extra: Vec<_> = comparable
        .iter()
        .filter(|r| !expected.contains(r))
        .take(3)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && comparable.len() == expected.len(),
        "live and replay differ: {} live vs {} replay records\nmissing from live: {missing:#?}\n\
         not in replay: {extra:#?}",
        comparable.len(),
        expected.len(),
    );
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// GET `path` from 127.0.0.1:`port`: the status and the body.
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    let _ = write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The values a label takes across the series of a metric on a /metrics page.
pub fn metric_label_values(page: &str, name: &str, label: &str) -> BTreeSet<String> {
    let prefix = format!("{name}{{");
    let key = format!("{label}=\"");
    page.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|labels| {
            let from = labels.find(&key)? + key.len();
            let len = labels[from..].find('"')?;
            Some(labels[from..from + len].to_owned())
        })
        .collect()
}

/// Sum of every series of a metric on a /metrics page.
pub fn metric_sum(page: &str, name: &str) -> f64 {
    page.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
