//! Registering the output schemas with a Confluent-compatible schema registry, for the ids
//! Avro output carries.

use nudge_events::avro::{schema_json, SchemaKind};
use serde::Deserialize;

use crate::error::Error;
use crate::sink::SchemaIds;
use crate::topics::Topics;

#[derive(Deserialize)]
struct Registered {
    id: u32,
}

/// Registers `schema` under `<topic>-value` and returns its id (idempotent on the registry).
fn register(base: &str, topic: &str, kind: SchemaKind) -> Result<u32, Error> {
    let url = format!(
        "{}/subjects/{topic}-value/versions",
        base.trim_end_matches('/')
    );
    let body = serde_json::json!({ "schema": schema_json(kind) }).to_string();
    let reply = ureq::post(&url)
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .send(body.as_bytes())
        .map_err(|e| Error::Config(format!("registering {topic}-value at {url}: {e}")))?
        .into_body()
        .read_to_string()
        .map_err(|e| Error::Config(format!("reading the registry's reply for {topic}: {e}")))?;
    let registered: Registered = serde_json::from_str(&reply).map_err(|e| {
        Error::Config(format!(
            "the registry's reply for {topic} has no id ({e}): {reply}"
        ))
    })?;
    Ok(registered.id)
}

/// Registers every output schema under its topics' subjects; returns the ids to write.
pub fn register_outputs(base: &str, topics: &Topics) -> Result<SchemaIds, Error> {
    let mut trigger = None;
    for topic in topics.trigger_topics() {
        let id = register(base, topic, SchemaKind::Trigger)?;
        trigger.get_or_insert(id);
    }
    let suppressed = register(base, topics.suppressed(), SchemaKind::Trigger)?;
    Ok(SchemaIds {
        trigger: trigger.unwrap_or(suppressed),
        session: register(base, topics.sessions(), SchemaKind::Session)?,
        outcome: register(base, topics.outcomes(), SchemaKind::Outcome)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// A registry stand-in over real HTTP: answers every registration with the next id and
    /// records the subjects asked for.
    fn registry() -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut subjects = Vec::new();
            for (n, conn) in listener.incoming().take(8).enumerate() {
                let mut conn = conn.unwrap();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                subjects.push(
                    line.split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned(),
                );
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                assert!(String::from_utf8(body).unwrap().contains("dev.nudge"));
                let reply = format!("{{\"id\":{}}}", 100 + n);
                write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                )
                .unwrap();
            }
            subjects
        });
        (base, handle)
    }

    #[test]
    fn registers_every_output_subject_and_uses_the_returned_ids() {
        let (base, server) = registry();
        let topics = Topics::new(&crate::config::TopicsConfig::default());
        let ids = register_outputs(&base, &topics).unwrap();
        let subjects = server.join().unwrap();
        assert_eq!(
            subjects.len(),
            8,
            "5 trigger topics, suppressed, sessions, outcomes"
        );
        assert!(subjects.contains(&"/subjects/triggers.cart_abandoned-value/versions".to_owned()));
        assert!(subjects.contains(&"/subjects/sessions-value/versions".to_owned()));
        assert_eq!(ids.trigger, 100);
        assert_eq!(ids.session, 106);
        assert_eq!(ids.outcome, 107);
    }

    #[test]
    fn an_unreachable_registry_is_a_clear_error() {
        let topics = Topics::new(&crate::config::TopicsConfig::default());
        let err = register_outputs("http://127.0.0.1:1", &topics).unwrap_err();
        assert!(
            err.to_string()
                .contains("registering triggers.cart_abandoned-value"),
            "{err}"
        );
    }
}
