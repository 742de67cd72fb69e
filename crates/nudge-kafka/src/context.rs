//! The consumer's context: rebalance callbacks only hand the event to the stream loop (which
//! commits, drops or restores state, then assigns); statistics feed the consumer-lag gauge.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use nudge_metrics::Metrics;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, TopicPartitionList};

/// A rebalance the stream loop still has to carry out.
#[derive(Debug)]
pub enum Rebalance {
    Assign(TopicPartitionList),
    Revoke(TopicPartitionList),
}

/// Shared between librdkafka's callbacks (on the stream thread, inside `poll`) and the loop.
pub struct StreamContext {
    pending: Mutex<Vec<Rebalance>>,
    /// Set while the consumer closes: rebalances are then carried out at once.
    closing: AtomicBool,
    metrics: Arc<Metrics>,
}

impl StreamContext {
    /// A context reporting to `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> StreamContext {
        StreamContext {
            pending: Mutex::new(Vec::new()),
            closing: AtomicBool::new(false),
            metrics,
        }
    }

    /// Rebalances received since the last call, oldest first.
    pub fn take_rebalances(&self) -> Vec<Rebalance> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *pending)
    }

    /// Whether a rebalance waits for the loop.
    pub fn rebalance_pending(&self) -> bool {
        !self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// From now on, carry out rebalances inside the callback (the loop has stopped).
    pub fn set_closing(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }
}

/// Whether `error` only says a partition was read to its end: librdkafka hands that to the
/// error callback as well as to the reader, once `enable.partition.eof` is on.
pub(crate) fn end_of_partition(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF)
    )
}

/// Whether `error` only says a broker could not be reached: librdkafka keeps reconnecting on
/// its own, and a partition led by another broker is read meanwhile.
pub(crate) fn broker_unreachable(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::MessageConsumption(
            RDKafkaErrorCode::BrokerTransportFailure | RDKafkaErrorCode::AllBrokersDown
        )
    )
}

impl ClientContext for StreamContext {
    /// As rdkafka's default, without the ends of partitions (the stream loop reads them from
    /// the partition queues).
    fn error(&self, error: KafkaError, reason: &str) {
        if !end_of_partition(&error) {
            tracing::error!("librdkafka: {error}: {reason}");
        }
    }

    fn stats(&self, stats: Statistics) {
        for (topic, t) in &stats.topics {
            for (partition, p) in &t.partitions {
                // librdkafka's consumer_lag counts from the consumer's committed offset, which
                // offsets committed in a transaction (exactly-once) never update: count from
                // the position (the last record handed to us, plus one) instead.
                let end = if p.ls_offset >= 0 {
                    p.ls_offset
                } else {
                    p.hi_offset
                };
                // Until a record is handed over after an assignment, the position is the
                // fetch position less what waits in the fetch queue.
                let position = if p.app_offset >= 0 {
                    p.app_offset
                } else {
                    p.next_offset - p.fetchq_cnt
                };
                // Only partitions this consumer fetches: the statistics list every partition
                // of the topics, and keep the position of a revoked one.
                if *partition < 0 || end < 0 || position < 0 || p.fetch_state != "active" {
                    continue;
                }
                self.metrics
                    .consumer_lag
                    .with_label_values(&[topic.as_str(), &partition.to_string()])
                    .set((end - position).max(0));
            }
        }
    }
}

impl ConsumerContext for StreamContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let event = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => Rebalance::Assign(tpl.clone()),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => Rebalance::Revoke(tpl.clone()),
            other => {
                tracing::warn!(error = ?other, "rebalance error");
                return;
            }
        };
        if self.closing.load(Ordering::SeqCst) {
            // The loop has committed and dropped its tasks: take nothing new, let the group
            // move on.
            if let Err(e) = consumer.unassign() {
                tracing::warn!(error = %e, "unassign while closing");
            }
            return;
        }
        // librdkafka waits for the application's assign or unassign call, which the loop
        // makes once it has committed or restored.
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event);
    }
}
