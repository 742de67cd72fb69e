//! One stream thread: a consumer in the group and a producer, the tasks assigned to them, and
//! the loop that applies records, fires timers, writes the changelog and commits.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nudge_events::{avro, json, wire, DecodeError, DecodeErrorKind, Event, Output, Source, Ts};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::Producer;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use crate::align::{Dead, Item, Pending};
use crate::changelog::{self, Checkpoint, CHECKPOINT_KEY};
use crate::config::{Format, Guarantee};
use crate::context::{Rebalance, StreamContext};
use crate::error::{Context, Error};
use crate::queue::{Batch, PartitionQueue, Record};
use crate::sink::{self, DeliveryTracker, Provenance, Sink};
use crate::tally::Tally;
use crate::task::{self, Task};
use crate::Shared;

/// Records taken from the consumer between checks of the commit deadline.
const BATCH: usize = 2048;

/// The longest wait for records before the loop looks at its clocks and rebalances again.
const MAX_WAIT: Duration = Duration::from_millis(100);

/// How often idle customers are looked for (a scan over the task's customers).
const EVICT_EVERY: Duration = Duration::from_secs(60);

type NudgeConsumer = BaseConsumer<StreamContext>;

struct Stream {
    consumer: Arc<NudgeConsumer>,
    core: Core,
}

/// One assigned input partition's own queue, split off the consumer's queue so that it is
/// read only while its task has room for its records.
struct InputQueue {
    partition: i32,
    source: Source,
    queue: PartitionQueue<StreamContext>,
}

/// Everything but the consumer, so a polled message (which borrows the consumer) can be
/// handled while the rest of the state changes.
struct Core {
    shared: Arc<Shared>,
    sink: Sink,
    tasks: BTreeMap<i32, Task>,
    /// The queues of the assigned input partitions (shared with the read loop while it polls
    /// them).
    inputs: Rc<[InputQueue]>,
    /// EOS: a transaction is open. ALOS: records were sent since the last commit.
    open: bool,
    outputs: Vec<Output>,
    tally: Tally,
    state_buf: Vec<u8>,
    /// The clocks, read once per batch (reading them per record cost 5% of the CPU): event
    /// time now, and wall-clock milliseconds since start.
    now: Ts,
    wall_ms: i64,
    last_eviction: Instant,
}

/// Runs one stream thread until shutdown.
pub(crate) fn run(shared: Arc<Shared>, index: usize) -> Result<(), Error> {
    let Stream { consumer, mut core } = Stream::new(shared, index)?;
    let result = core.run(&consumer);
    core.close(&consumer);
    result
}

impl Stream {
    fn new(shared: Arc<Shared>, index: usize) -> Result<Stream, Error> {
        let mut ccfg = shared.client.clone();
        ccfg.set("group.id", shared.run.kafka.group_id())
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("isolation.level", "read_committed")
            .set("partition.assignment.strategy", "range")
            // How a task knows an input partition has nothing more for now (see `read`).
            .set("enable.partition.eof", "true");
        for (key, default) in [
            ("auto.offset.reset", "earliest"),
            ("statistics.interval.ms", "5000"),
            // Every input partition has its own queue (`InputQueue`), so these bound what
            // librdkafka prefetches per partition, not per consumer (100,000 records or 64 MB
            // by default). A partition that is not being read waits at the bound, and is
            // looked at again every 10 ms, not every second, once it is read again.
            ("queued.min.messages", "10000"),
            ("queued.max.messages.kbytes", "8192"),
            ("fetch.queue.backoff.ms", "10"),
            // A partition's end is reported one fetch after its last record: on a quiet stream
            // that fetch waits this long for data (500 ms by default), and the task's
            // watermark with it.
            ("fetch.wait.max.ms", "100"),
        ] {
            if shared.run.kafka.get(key).is_none() {
                ccfg.set(key, default);
            }
        }
        let consumer: BaseConsumer<StreamContext> = ccfg
            .create_with_context(StreamContext::new(shared.metrics.clone()))
            .context(|| "creating the consumer".into())?;
        let consumer = Arc::new(consumer);
        let mut pcfg = shared.client.clone();
        for key in crate::config::CONSUMER_ONLY {
            pcfg.remove(key);
        }
        pcfg.set("enable.idempotence", "true");
        for (key, default) in [
            ("linger.ms", "5"),
            ("queue.buffering.max.messages", "1000000"),
        ] {
            if shared.run.kafka.get(key).is_none() {
                pcfg.set(key, default);
            }
        }
        if shared.run.runtime.processing_guarantee == Guarantee::ExactlyOnce {
            let id = format!(
                "{}-{}-{index}",
                shared.run.kafka.group_id(),
                shared.run.instance_id()
            );
            pcfg.set("transactional.id", id);
        }
        let tracker = DeliveryTracker::default();
        let producer: sink::NudgeProducer = pcfg
            .create_with_context(tracker.clone())
            .context(|| "creating the producer".into())?;
        if shared.run.runtime.processing_guarantee == Guarantee::ExactlyOnce {
            // Fences a previous incarnation with the same transactional id and aborts its
            // open transaction, so restores never wait on it.
            producer
                .init_transactions(shared.timeout())
                .context(|| "initialising transactions".into())?;
        }
        consumer
            .subscribe(&shared.topics.inputs())
            .context(|| "subscribing to the inputs".into())?;
        let sink = Sink::new(
            producer,
            tracker,
            shared.topics.clone(),
            shared.run.output.format,
            shared.schema_ids,
        );
        let core = Core {
            tally: Tally::new(&shared.topics),
            now: shared.clock.now(),
            wall_ms: shared.wall_ms(),
            shared,
            sink,
            tasks: BTreeMap::new(),
            inputs: Rc::from([]),
            open: false,
            outputs: Vec::new(),
            state_buf: Vec::new(),
            last_eviction: Instant::now(),
        };
        Ok(Stream { consumer, core })
    }
}

impl Core {
    fn exactly_once(&self) -> bool {
        self.shared.run.runtime.processing_guarantee == Guarantee::ExactlyOnce
    }

    fn run(&mut self, consumer: &Arc<NudgeConsumer>) -> Result<(), Error> {
        let interval =
            Duration::from_millis(self.shared.run.runtime.commit_interval.millis() as u64);
        let mut next_commit = Instant::now() + interval;
        while !self.shared.shutdown.load(Ordering::Relaxed) {
            for event in consumer.context().take_rebalances() {
                self.rebalance(consumer, event)?;
            }
            self.read_clocks();
            let received = self.read(consumer)?;
            let partitions: Vec<i32> = self.tasks.keys().copied().collect();
            for p in partitions {
                self.apply_ready(p)?;
            }
            sink::serve(self.sink.producer());
            let now = Instant::now();
            if now >= next_commit {
                self.commit(consumer)?;
                next_commit = Instant::now() + interval;
            } else if received == 0 && !consumer.context().rebalance_pending() {
                // Woken early when a queue with room gets records (see `assign`).
                std::thread::park_timeout((next_commit - now).min(MAX_WAIT));
            }
        }
        self.commit(consumer)
    }

    fn read_clocks(&mut self) {
        self.now = self.shared.clock.now();
        self.wall_ms = self.shared.wall_ms();
    }

    /// Takes what is waiting, without blocking: the consumer's own queue (rebalances, errors,
    /// and the records of any partition whose queue could not be split off), then each input
    /// partition's queue while its task has room, an equal share of the batch each. A
    /// partition's queue says when the partition has been read to its end (after its last
    /// record, and again after the next ones), which is how its task knows that it holds up
    /// nothing (the high watermark would not do: with transactional producers the last offset
    /// is a commit marker, never delivered).
    fn read(&mut self, consumer: &NudgeConsumer) -> Result<usize, Error> {
        let mut received = 0;
        while received < BATCH {
            let Some(polled) = consumer.poll(Duration::ZERO) else {
                break;
            };
            received += 1;
            self.on_polled(polled)?;
        }
        let inputs = self.inputs.clone();
        let share = (BATCH / inputs.len().max(1)).max(1);
        let cap = self.shared.run.runtime.buffered_records_per_partition;
        let mut batch = Batch::default();
        for input in inputs.iter() {
            let room = self.tasks.get(&input.partition).map_or(share, |t| {
                cap.saturating_sub(t.aligner.queued(input.source))
            });
            if input.queue.take(&mut batch, room.min(share)) == 0 {
                continue;
            }
            for msg in batch.iter() {
                match msg.error() {
                    None => {
                        received += 1;
                        self.on_message(&msg, input.source, input.partition)?;
                    }
                    Some(RDKafkaErrorCode::PartitionEOF) => {
                        if let Some(task) = self.tasks.get_mut(&input.partition) {
                            task.aligner.reached_end(input.source);
                        }
                    }
                    Some(code) => tracing::warn!(
                        error = %code,
                        topic = self.shared.topics.input(input.source),
                        partition = input.partition,
                        "consumer error"
                    ),
                }
            }
        }
        Ok(received)
    }

    /// Handles what a poll of the consumer's own queue returned.
    fn on_polled(&mut self, polled: KafkaResult<BorrowedMessage<'_>>) -> Result<(), Error> {
        match polled {
            Ok(msg) => match self.shared.topics.source_of(msg.topic()) {
                Some(source) => self.on_message(&msg, source, msg.partition()),
                None => Ok(()),
            },
            // From a partition that could not be split off: it names no topic, and the task
            // falls back on `max_task_idle`.
            Err(KafkaError::PartitionEOF(_)) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "consumer error");
                Ok(())
            }
        }
    }

    fn close(&mut self, consumer: &NudgeConsumer) {
        consumer.context().set_closing();
        if let Err(e) = consumer.unassign() {
            tracing::warn!(error = %e, "unassign on shutdown");
        }
        self.tasks.clear();
        self.inputs = Rc::from([]);
        self.shared.stream_stopped();
    }

    fn begin(&mut self) -> Result<(), Error> {
        if !self.open && self.exactly_once() {
            self.sink
                .producer()
                .begin_transaction()
                .context(|| "beginning a transaction".into())?;
        }
        self.open = true;
        Ok(())
    }

    fn on_message(
        &mut self,
        msg: &impl Record,
        source: Source,
        partition: i32,
    ) -> Result<(), Error> {
        let Some(task) = self.tasks.get_mut(&partition) else {
            return Ok(());
        };
        if msg.offset() < task.offsets[source as usize] {
            return Ok(()); // already in the restored state
        }
        if self.tally.latency_sampled() {
            if let Some(ts) = msg.timestamp_ms() {
                self.tally.latency(self.now.millis() - ts);
            }
        }
        let item = match decode(self.shared.run.input.format, source, msg.payload()) {
            Ok(event) => Item::Event(Box::new(event)),
            Err(error) => Item::Dead(Box::new(Dead {
                key: msg.key().map(<[u8]>::to_vec),
                value: msg.payload().map(<[u8]>::to_vec),
                headers: msg.headers(),
                error,
            })),
        };
        task.marks.arrived(source, self.now);
        task.aligner.push(
            source,
            Pending {
                offset: msg.offset(),
                item,
            },
        );
        self.apply_ready(partition)
    }

    /// Applies the records of a task whose event-time turn has come.
    fn apply_ready(&mut self, partition: i32) -> Result<(), Error> {
        let wall = self.wall_ms;
        loop {
            let Some(task) = self.tasks.get_mut(&partition) else {
                return Ok(());
            };
            let Some((source, pending)) = task.aligner.pop(wall) else {
                return Ok(());
            };
            if let Some(quiet) = task.aligner.take_waited_out() {
                // Routine on a sparse live stream, so not a warning; in a backlog it explains
                // results that differ from a replay.
                tracing::debug!(
                    partition,
                    input = self.shared.topics.input(quiet),
                    "an input partition delivered nothing for max_task_idle: applying the others \
                     without it, out of event-time order, until it delivers"
                );
            }
            if !self.open {
                self.begin()?;
            }
            let Some(task) = self.tasks.get_mut(&partition) else {
                return Ok(());
            };
            match pending.item {
                Item::Event(event) => {
                    self.tally.consumed(source, event.type_label());
                    if !event.is_unknown_type() {
                        if task.marks.applied(source, event.ts()) {
                            self.tally.late(source);
                        }
                        task.engine.apply(&event, &mut self.outputs);
                    }
                }
                Item::Dead(dead) => {
                    self.tally.invalid(source, dead.error.kind);
                    let from = Provenance {
                        topic: self.shared.topics.input(source),
                        partition,
                        offset: pending.offset,
                    };
                    self.sink.dead_letter(&dead, &from)?;
                }
            }
            task.consumed(source, pending.offset);
            self.emit_outputs()?;
        }
    }

    fn emit_outputs(&mut self) -> Result<(), Error> {
        let now = self.now;
        for output in self.outputs.drain(..) {
            let topic = self.sink.output(&output)?;
            self.shared
                .metrics
                .output_records
                .with_label_values(&[topic])
                .inc();
            self.tally.output(&output, now, &self.shared.metrics);
        }
        Ok(())
    }

    /// Fires due timers, writes dirty state and checkpoints, and commits all of it with the
    /// consumed offsets: one transaction (EOS), or flushes then an offset commit (ALOS).
    ///
    /// At least once, the interval's outputs and dead letters are acknowledged before any
    /// state or checkpoint is sent: a state or checkpoint that reached the changelog while an
    /// output it reflects was lost (a crash, or a failed delivery) would make the restored task
    /// skip the input that caused it, and the output would never be sent again.
    fn commit(&mut self, consumer: &Arc<NudgeConsumer>) -> Result<(), Error> {
        let started = Instant::now();
        self.read_clocks();
        let partitions: Vec<i32> = self.tasks.keys().copied().collect();
        self.fire_timers(&partitions)?;
        if self.open && !self.exactly_once() {
            if let Err(e) = self.delivered() {
                return self.commit_failed(consumer, started, e);
            }
        }
        let checkpoints = self.write_changes(&partitions)?;
        self.tally.flush(&self.shared.metrics);
        self.publish_gauges();
        if !self.open {
            return Ok(());
        }
        let offsets = self.offsets()?;
        let committed = if self.exactly_once() {
            self.commit_transaction(consumer, &offsets)
        } else {
            self.commit_at_least_once(consumer, &offsets)
        };
        if let Err(e) = committed {
            return self.commit_failed(consumer, started, e);
        }
        self.open = false;
        self.shared
            .metrics
            .observe_transaction(true, started.elapsed().as_secs_f64());
        for (p, cp) in checkpoints {
            if let Some(task) = self.tasks.get_mut(&p) {
                task.written = cp;
            }
        }
        Ok(())
    }

    /// Advances every task's timers to its watermark and sends what they fire; evicts idle
    /// customers once every `EVICT_EVERY`.
    fn fire_timers(&mut self, partitions: &[i32]) -> Result<(), Error> {
        let now = self.now;
        let ttl = self.shared.run.state.ttl.millis();
        let evict = self.last_eviction.elapsed() >= EVICT_EVERY;
        if evict {
            self.last_eviction = Instant::now();
        }
        for p in partitions {
            let Some(task) = self.tasks.get_mut(p) else {
                continue;
            };
            let mark = task.marks.current(now, task.aligner.drained());
            task.engine.advance(mark, &mut self.outputs);
            if evict {
                let evicted = task.engine.evict_idle(ttl);
                self.shared.metrics.evicted_customers.inc_by(evicted as u64);
            }
            if mark.millis() > i64::MIN {
                let lag = now.millis().saturating_sub(mark.millis());
                self.shared
                    .metrics
                    .watermark_lag
                    .with_label_values(&[&p.to_string()])
                    .set(lag as f64 / 1000.0);
            }
            if !self.outputs.is_empty() {
                self.begin()?;
                self.emit_outputs()?;
            }
        }
        Ok(())
    }

    /// Sends every task's changed customers and, where it moved, its checkpoint; returns the
    /// checkpoints sent, which count as written once the commit succeeds.
    fn write_changes(&mut self, partitions: &[i32]) -> Result<Vec<(i32, Checkpoint)>, Error> {
        let changelog = self.shared.topics.changelog().to_owned();
        let mut checkpoints = Vec::new();
        for &p in partitions {
            self.write_state(p, &changelog)?;
            let Some(task) = self.tasks.get(&p) else {
                continue;
            };
            let cp = task.checkpoint();
            if cp != task.written {
                self.begin()?;
                let value = changelog::encode_checkpoint(&cp);
                self.sink
                    .to_partition(&changelog, p, CHECKPOINT_KEY, Some(&value))?;
                self.tally.changelog("checkpoint", value.len());
                checkpoints.push((p, cp));
            }
        }
        Ok(checkpoints)
    }

    /// A commit that did not go through: its work is thrown away and redone from the last
    /// committed state.
    fn commit_failed(
        &mut self,
        consumer: &Arc<NudgeConsumer>,
        started: Instant,
        error: Error,
    ) -> Result<(), Error> {
        self.open = false;
        self.shared
            .metrics
            .observe_transaction(false, started.elapsed().as_secs_f64());
        tracing::warn!(%error, "commit failed: rewinding to the last committed state");
        self.rewind(consumer)
    }

    /// Writes each customer changed since the last commit to the task's changelog partition:
    /// its state, or a tombstone once it is gone. States are encoded into one reused buffer
    /// that librdkafka copies from.
    fn write_state(&mut self, partition: i32, changelog: &str) -> Result<(), Error> {
        if !self
            .tasks
            .get(&partition)
            .is_some_and(|t| t.engine.has_changes())
        {
            return Ok(());
        }
        self.begin()?;
        let Some(task) = self.tasks.get_mut(&partition) else {
            return Ok(());
        };
        let (sink, tally, buf) = (&self.sink, &mut self.tally, &mut self.state_buf);
        let mut result = Ok(());
        task.engine.drain_dirty(|key, state| {
            if result.is_err() {
                return;
            }
            result = match state {
                Some(s) => changelog::encode_state(s, buf).and_then(|()| {
                    tally.changelog("state", buf.len());
                    sink.to_partition(changelog, partition, key.as_bytes(), Some(buf))
                }),
                None => {
                    tally.changelog("tombstone", 0);
                    sink.to_partition(changelog, partition, key.as_bytes(), None)
                }
            };
        });
        result
    }

    fn offsets(&self) -> Result<TopicPartitionList, Error> {
        let mut tpl = TopicPartitionList::new();
        for (p, task) in &self.tasks {
            for source in Source::ALL {
                let next = task.offsets[source as usize];
                if next >= 0 {
                    tpl.add_partition_offset(
                        self.shared.topics.input(source),
                        *p,
                        Offset::Offset(next),
                    )
                    .context(|| "listing offsets".into())?;
                }
            }
        }
        Ok(tpl)
    }

    fn commit_transaction(
        &self,
        consumer: &NudgeConsumer,
        offsets: &TopicPartitionList,
    ) -> Result<(), Error> {
        let producer = self.sink.producer();
        let timeout = self.shared.timeout();
        if offsets.count() > 0 {
            let group = consumer
                .group_metadata()
                .ok_or_else(|| Error::Config("the consumer has no group metadata".into()))?;
            producer
                .send_offsets_to_transaction(offsets, &group, timeout)
                .context(|| "sending offsets to the transaction".into())?;
        }
        // rdkafka's commit flushes in steps of 100 ms first (see `sink::flush`); with nothing
        // left in flight its own flush returns at once.
        sink::flush(producer, timeout)?;
        producer
            .commit_transaction(timeout)
            .context(|| "committing the transaction".into())
    }

    fn commit_at_least_once(
        &self,
        consumer: &NudgeConsumer,
        offsets: &TopicPartitionList,
    ) -> Result<(), Error> {
        self.delivered()?;
        if offsets.count() > 0 {
            consumer
                .commit(offsets, CommitMode::Async)
                .context(|| "committing offsets".into())?;
        }
        Ok(())
    }

    /// Waits until every record sent so far is acknowledged; an error if any was not.
    fn delivered(&self) -> Result<(), Error> {
        sink::flush(self.sink.producer(), self.shared.timeout())?;
        match self.sink.failures() {
            0 => Ok(()),
            n => Err(Error::Config(format!("{n} records were not delivered"))),
        }
    }

    /// Throws away uncommitted work: aborts, restores every task from the changelog, and
    /// re-reads the inputs from the restored checkpoints.
    fn rewind(&mut self, consumer: &Arc<NudgeConsumer>) -> Result<(), Error> {
        if self.exactly_once() {
            if let Err(e) = self
                .sink
                .producer()
                .abort_transaction(self.shared.timeout())
            {
                tracing::warn!(error = %e, "abort failed");
            }
        }
        self.open = false;
        self.outputs.clear();
        self.sink.reset_failures();
        let assignment = consumer
            .assignment()
            .context(|| "reading the assignment".into())?;
        self.assign(consumer, assignment)
    }

    fn rebalance(&mut self, consumer: &Arc<NudgeConsumer>, event: Rebalance) -> Result<(), Error> {
        match event {
            Rebalance::Revoke(tpl) => {
                tracing::info!(partitions = tpl.count(), "partitions revoked: committing");
                self.commit(consumer)?;
                self.tasks.clear();
                self.forget_gauges(&tpl);
                consumer.unassign().context(|| "unassigning".into())?;
                self.inputs = Rc::from([]);
                self.publish_gauges();
                Ok(())
            }
            Rebalance::Assign(tpl) => self.assign(consumer, tpl),
        }
    }

    /// Drops the per-partition gauges of revoked partitions, so this process stops exporting
    /// their last values (the new owner exports its own).
    fn forget_gauges(&self, tpl: &TopicPartitionList) {
        let metrics = &self.shared.metrics;
        for e in tpl.elements() {
            let partition = e.partition().to_string();
            // An error only says the series was not there.
            let _ = metrics.watermark_lag.remove_label_values(&[&partition]);
            let _ = metrics
                .consumer_lag
                .remove_label_values(&[e.topic(), &partition]);
        }
    }

    /// Restores the tasks of `tpl` and assigns it, each input partition starting at its
    /// task's checkpoint (or the group's committed offset if the task has none).
    fn assign(
        &mut self,
        consumer: &Arc<NudgeConsumer>,
        tpl: TopicPartitionList,
    ) -> Result<(), Error> {
        let mut partitions: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
        partitions.sort_unstable();
        partitions.dedup();
        self.shared.restore_started();
        self.tasks.clear();
        // Dropping a queue clears its wake-up callback: the old ones go before new ones of
        // the same partitions are made.
        self.inputs = Rc::from([]);
        for p in &partitions {
            let restored = task::restore(
                &self.shared.client,
                self.shared.topics.changelog(),
                *p,
                &self.shared.engine,
                &self.shared.run.runtime,
                self.shared.wall_ms(),
                self.shared.clock.now(),
            )?;
            tracing::info!(
                partition = p,
                records = restored.records,
                customers = restored.task.engine.customers(),
                seconds = restored.took.as_secs_f64(),
                "task restored"
            );
            let m = &self.shared.metrics;
            m.restore_duration.observe(restored.took.as_secs_f64());
            m.restored_customers
                .inc_by(restored.task.engine.customers() as u64);
            self.tasks.insert(*p, restored.task);
        }
        let mut start = TopicPartitionList::new();
        for e in tpl.elements() {
            let offset = self
                .shared
                .topics
                .source_of(e.topic())
                .and_then(|s| {
                    self.tasks
                        .get(&e.partition())
                        .map(|t| t.offsets[s as usize])
                })
                .filter(|&o| o >= 0)
                .map_or(Offset::Stored, Offset::Offset);
            start
                .add_partition_offset(e.topic(), e.partition(), offset)
                .context(|| "building the assignment".into())?;
        }
        // Split before assigning: once split, librdkafka no longer forwards the partition's
        // records to the consumer's queue when it starts fetching it.
        self.inputs = self.split_inputs(consumer, &tpl);
        consumer
            .assign(&start)
            .context(|| "assigning partitions".into())?;
        let wall = self.shared.wall_ms();
        let now = self.shared.clock.now();
        for task in self.tasks.values_mut() {
            task.aligner.restart_idle(wall);
            task.marks.restart(now);
        }
        self.shared.restore_finished();
        self.publish_gauges();
        Ok(())
    }

    /// The input partitions' own queues, each waking this thread when records arrive in it
    /// while it was empty. A partition that cannot be split keeps delivering through the
    /// consumer's queue, unbounded but in order.
    fn split_inputs(
        &self,
        consumer: &Arc<NudgeConsumer>,
        tpl: &TopicPartitionList,
    ) -> Rc<[InputQueue]> {
        let thread = std::thread::current();
        let mut inputs = Vec::new();
        for e in tpl.elements() {
            let Some(source) = self.shared.topics.source_of(e.topic()) else {
                continue;
            };
            let Some(mut queue) = PartitionQueue::split(consumer, e.topic(), e.partition()) else {
                tracing::warn!(
                    topic = e.topic(),
                    partition = e.partition(),
                    "cannot read the partition on its own queue: its records are buffered without bound"
                );
                continue;
            };
            let thread = thread.clone();
            queue.on_nonempty(move || thread.unpark());
            inputs.push(InputQueue {
                partition: e.partition(),
                source,
                queue,
            });
        }
        inputs.into()
    }

    fn publish_gauges(&self) {
        let customers: usize = self.tasks.values().map(|t| t.engine.customers()).sum();
        let sessions: usize = self.tasks.values().map(|t| t.engine.open_sessions()).sum();
        self.shared
            .publish_thread_gauges(self.tasks.len(), customers, sessions);
    }
}

fn decode(format: Format, source: Source, payload: Option<&[u8]>) -> Result<Event, DecodeError> {
    let bytes = payload
        .ok_or_else(|| DecodeError::new(DecodeErrorKind::InvalidJson, "record has no value"))?;
    match format {
        Format::Json => json::decode(source, bytes),
        Format::Avro => {
            let (_, body) = wire::unframe(bytes)?;
            avro::decode_event(source, body)
        }
    }
}
