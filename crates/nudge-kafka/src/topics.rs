//! Topic names, creating the topics (idempotent), and the start-up check that the inputs
//! exist and are co-partitioned.

use std::time::Duration;

use nudge_events::{Output, Source, TriggerType};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use crate::config::TopicsConfig;
use crate::error::{Context, Error};

/// Resolved topic names.
#[derive(Clone, Debug)]
pub struct Topics {
    cfg: TopicsConfig,
    triggers: [String; 5],
}

impl Topics {
    /// Resolves the names of `[topics]`.
    pub fn new(cfg: &TopicsConfig) -> Topics {
        let name = |kind: TriggerType| match &cfg.triggers {
            Some(single) => single.clone(),
            None => format!("{}{}", cfg.trigger_prefix, kind.name()),
        };
        Topics {
            triggers: TriggerType::ALL.map(name),
            cfg: cfg.clone(),
        }
    }

    /// The input topic of `source`.
    pub fn input(&self, source: Source) -> &str {
        match source {
            Source::Clickstream => &self.cfg.clickstream,
            Source::Email => &self.cfg.email,
            Source::Crm => &self.cfg.crm,
        }
    }

    /// The three input topics, in source order.
    pub fn inputs(&self) -> [&str; 3] {
        Source::ALL.map(|s| self.input(s))
    }

    /// Which input a topic is, if any.
    pub fn source_of(&self, topic: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|&s| self.input(s) == topic)
    }

    /// The topic an output record goes to.
    pub fn output(&self, output: &Output) -> &str {
        match output {
            Output::Trigger(t) => &self.triggers[t.kind as usize],
            Output::Suppressed(_) => &self.cfg.suppressed,
            Output::Session(_) => &self.cfg.sessions,
            Output::Outcome(_) => &self.cfg.outcomes,
        }
    }

    /// The topics emitted triggers go to (one, or one per type).
    pub fn trigger_topics(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.triggers.iter().map(String::as_str).collect();
        all.dedup();
        all
    }

    /// The topic of suppressed candidates.
    pub fn suppressed(&self) -> &str {
        &self.cfg.suppressed
    }

    /// The topic of session summaries.
    pub fn sessions(&self) -> &str {
        &self.cfg.sessions
    }

    /// The topic of trigger outcomes.
    pub fn outcomes(&self) -> &str {
        &self.cfg.outcomes
    }

    /// The dead-letter topic.
    pub fn dead_letters(&self) -> &str {
        &self.cfg.dead_letters
    }

    /// The state changelog.
    pub fn changelog(&self) -> &str {
        &self.cfg.changelog
    }

    /// Every output topic (deduplicated, in a stable order).
    pub fn outputs(&self) -> Vec<&str> {
        let mut all = self.trigger_topics();
        all.extend([
            self.cfg.suppressed.as_str(),
            self.cfg.sessions.as_str(),
            self.cfg.outcomes.as_str(),
            self.cfg.dead_letters.as_str(),
        ]);
        all.dedup();
        all
    }

    /// Every topic Nudge uses, with the settings it should be created with.
    pub fn specs(&self) -> Vec<(&str, Vec<(&'static str, &'static str)>)> {
        let mut specs: Vec<(&str, Vec<(&'static str, &'static str)>)> = Vec::new();
        for t in self.inputs() {
            specs.push((t, vec![]));
        }
        for t in self.outputs() {
            specs.push((t, vec![]));
        }
        specs.push((
            self.changelog(),
            vec![
                ("cleanup.policy", "compact"),
                ("min.compaction.lag.ms", "60000"),
            ],
        ));
        specs
    }
}

/// What `create` did with one topic.
#[derive(Debug, PartialEq, Eq)]
pub enum Created {
    Created,
    AlreadyExists,
}

/// Creates every topic with `partitions` partitions (the changelog compacted); topics that
/// exist already are left alone.
pub fn create(
    client: &ClientConfig,
    topics: &Topics,
    partitions: i32,
    replication: i32,
) -> Result<Vec<(String, Created)>, Error> {
    let admin: AdminClient<DefaultClientContext> = client
        .create()
        .context(|| "creating the admin client".into())?;
    let specs = topics.specs();
    let new_topics: Vec<NewTopic> = specs
        .iter()
        .map(|(name, settings)| {
            settings.iter().fold(
                NewTopic::new(name, partitions, TopicReplication::Fixed(replication)),
                |t, (k, v)| t.set(k, v),
            )
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let results = runtime
        .block_on(admin.create_topics(&new_topics, &opts))
        .context(|| "creating topics".into())?;
    results
        .into_iter()
        .map(|r| match r {
            Ok(name) => Ok((name, Created::Created)),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => Ok((name, Created::AlreadyExists)),
            Err((name, code)) => Err(Error::Topics(format!("creating {name}: {code}"))),
        })
        .collect()
}

/// Checks that the inputs and the changelog exist and have the same partition count (keyed by
/// customer id with the same partitioner, they are then co-partitioned); returns that count.
pub fn check_copartitioned(client: &ClientConfig, topics: &Topics) -> Result<i32, Error> {
    let consumer: BaseConsumer = client
        .create()
        .context(|| "creating a metadata client".into())?;
    let mut counts = Vec::new();
    let mut missing = Vec::new();
    for name in topics.inputs().into_iter().chain([topics.changelog()]) {
        let md = consumer
            .fetch_metadata(Some(name), Duration::from_secs(10))
            .context(|| format!("reading metadata of {name}"))?;
        match md.topics().first() {
            Some(t) if t.error().is_none() && !t.partitions().is_empty() => {
                counts.push((name, t.partitions().len() as i32));
            }
            _ => missing.push(name),
        }
    }
    if !missing.is_empty() {
        return Err(Error::Topics(format!(
            "missing topics: {} (create them with `nudge topics create`)",
            missing.join(", ")
        )));
    }
    let first = counts[0].1;
    if counts.iter().any(|(_, n)| *n != first) {
        let listed: Vec<String> = counts.iter().map(|(t, n)| format!("{t}={n}")).collect();
        return Err(Error::Topics(format!(
            "inputs and changelog must be co-partitioned (same partition count), found {}",
            listed.join(", ")
        )));
    }
    Ok(first)
}
