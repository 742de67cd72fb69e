//! An input partition's own queue, split off the consumer's and read in batches with
//! `rd_kafka_consume_batch_queue`, which rdkafka does not wrap. rdkafka's `PartitionQueue`
//! hands out one message per poll, and each poll read the clock several times and allocated;
//! polling and its clock reads were about 10% of the stream thread's CPU, batches 2.5%.
//!
//! This is the crate's one module of raw librdkafka calls. Every pointer it holds comes from
//! librdkafka and is released exactly once: a queue on drop, each message when its batch is
//! cleared or dropped. A queue keeps its consumer alive, as rdkafka's own queues do.

use std::ffi::{c_void, CStr, CString};
use std::ptr::{self, NonNull};
use std::sync::Arc;

use rdkafka::bindings as rd;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::types::RDKafkaErrorCode;

/// Called by librdkafka when the queue becomes non-empty.
type Wake = Box<dyn Fn() + Send + Sync>;

/// One partition's queue.
pub struct PartitionQueue<C: ConsumerContext + 'static> {
    ptr: NonNull<rd::rd_kafka_queue_t>,
    /// Boxed twice: librdkafka keeps a thin pointer to it as the callback's opaque.
    wake: Option<Box<Wake>>,
    _consumer: Arc<BaseConsumer<C>>,
}

impl<C: ConsumerContext + 'static> PartitionQueue<C> {
    /// Splits `topic`[`partition`] off `consumer`'s queue: from now on its records arrive only
    /// here. `None` if librdkafka does not know the partition.
    pub fn split(consumer: &Arc<BaseConsumer<C>>, topic: &str, partition: i32) -> Option<Self> {
        let topic = CString::new(topic).ok()?;
        // SAFETY: the client pointer is live while `consumer` is; librdkafka copies the name.
        let raw = unsafe {
            rd::rd_kafka_queue_get_partition(
                consumer.client().native_ptr(),
                topic.as_ptr(),
                partition,
            )
        };
        let ptr = NonNull::new(raw)?;
        // SAFETY: `ptr` is a queue we own; forwarding to null stops the forward to the
        // consumer's queue.
        unsafe { rd::rd_kafka_queue_forward(ptr.as_ptr(), ptr::null_mut()) };
        Some(PartitionQueue {
            ptr,
            wake: None,
            _consumer: consumer.clone(),
        })
    }

    /// Calls `f` (from a librdkafka thread) whenever records arrive in the empty queue.
    pub fn on_nonempty(&mut self, f: impl Fn() + Send + Sync + 'static) {
        unsafe extern "C" fn trampoline(_: *mut rd::rd_kafka_t, opaque: *mut c_void) {
            // SAFETY: `opaque` points at the `Wake` in `self.wake`, which outlives the
            // registration (replaced or dropped only after it is switched off).
            let wake = unsafe { &*(opaque as *const Wake) };
            wake();
        }
        let wake: Box<Wake> = Box::new(Box::new(f));
        let opaque = &*wake as *const Wake as *mut c_void;
        // SAFETY: the queue is live; the opaque stays valid as long as it is registered.
        unsafe { rd::rd_kafka_queue_cb_event_enable(self.ptr.as_ptr(), Some(trampoline), opaque) };
        self.wake = Some(wake);
    }

    /// Replaces what `batch` held with up to `max` waiting messages (records, or the errors
    /// librdkafka reports for the partition, such as its end), without blocking; returns how
    /// many.
    pub fn take(&self, batch: &mut Batch, max: usize) -> usize {
        batch.clear();
        batch.msgs.reserve(max);
        // SAFETY: the array has room for `max` pointers; librdkafka fills the first n and
        // hands their ownership to us.
        let n = unsafe {
            rd::rd_kafka_consume_batch_queue(self.ptr.as_ptr(), 0, batch.msgs.as_mut_ptr(), max)
        };
        let n = usize::try_from(n).unwrap_or(0);
        // SAFETY: the first n entries were written above.
        unsafe { batch.msgs.set_len(n) };
        n
    }
}

impl<C: ConsumerContext + 'static> Drop for PartitionQueue<C> {
    fn drop(&mut self) {
        // SAFETY: the queue is live; switching the callback off before the opaque is freed.
        unsafe {
            rd::rd_kafka_queue_cb_event_enable(self.ptr.as_ptr(), None, ptr::null_mut());
            rd::rd_kafka_queue_destroy(self.ptr.as_ptr());
        }
    }
}

/// Messages taken from a queue, released when the batch is cleared or dropped.
#[derive(Default)]
pub struct Batch {
    msgs: Vec<*mut rd::rd_kafka_message_t>,
}

impl Batch {
    /// The messages, in partition order.
    pub fn iter(&self) -> impl Iterator<Item = Msg<'_>> {
        // SAFETY: every pointer is a live message owned by this batch.
        self.msgs.iter().map(|&m| Msg(unsafe { &*m }))
    }

    /// Releases the messages.
    fn clear(&mut self) {
        for m in self.msgs.drain(..) {
            // SAFETY: each message is released once, here.
            unsafe { rd::rd_kafka_message_destroy(m) };
        }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.clear();
    }
}

/// What the stream loop reads of a consumed record, from a batch or from rdkafka's poll of
/// the consumer's own queue.
pub trait Record {
    fn offset(&self) -> i64;
    fn key(&self) -> Option<&[u8]>;
    fn payload(&self) -> Option<&[u8]>;
    /// The record's timestamp in milliseconds, if it has one.
    fn timestamp_ms(&self) -> Option<i64>;
    /// The record's headers, copied.
    fn headers(&self) -> Vec<(String, Option<Vec<u8>>)>;
}

impl Record for BorrowedMessage<'_> {
    fn offset(&self) -> i64 {
        Message::offset(self)
    }

    fn key(&self) -> Option<&[u8]> {
        Message::key(self)
    }

    fn payload(&self) -> Option<&[u8]> {
        Message::payload(self)
    }

    fn timestamp_ms(&self) -> Option<i64> {
        Message::timestamp(self).to_millis()
    }

    fn headers(&self) -> Vec<(String, Option<Vec<u8>>)> {
        Message::headers(self)
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// One message of a batch.
pub struct Msg<'a>(&'a rd::rd_kafka_message_t);

impl Msg<'_> {
    /// The error librdkafka reports in place of a record (the partition's end included).
    pub fn error(&self) -> Option<RDKafkaErrorCode> {
        (self.0.err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
            .then(|| RDKafkaErrorCode::from(self.0.err))
    }
}

impl Record for Msg<'_> {
    fn offset(&self) -> i64 {
        self.0.offset
    }

    fn key(&self) -> Option<&[u8]> {
        // SAFETY: librdkafka's pointer and length, valid while the message lives.
        unsafe { bytes(self.0.key, self.0.key_len) }
    }

    fn payload(&self) -> Option<&[u8]> {
        // SAFETY: as for `key`.
        unsafe { bytes(self.0.payload, self.0.len) }
    }

    fn timestamp_ms(&self) -> Option<i64> {
        let mut kind = rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: a live message.
        let ts = unsafe { rd::rd_kafka_message_timestamp(self.0, &mut kind) };
        (ts != -1).then_some(ts)
    }

    fn headers(&self) -> Vec<(String, Option<Vec<u8>>)> {
        let mut hdrs = ptr::null_mut();
        // SAFETY: a live message; the headers stay owned by it.
        let err = unsafe { rd::rd_kafka_message_headers(self.0, &mut hdrs) };
        if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || hdrs.is_null() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for idx in 0.. {
            let (mut name, mut value, mut size) = (ptr::null(), ptr::null(), 0);
            // SAFETY: `hdrs` is live; librdkafka checks the index.
            let err =
                unsafe { rd::rd_kafka_header_get_all(hdrs, idx, &mut name, &mut value, &mut size) };
            if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                break;
            }
            // SAFETY: a NUL-terminated name and a value of `size` bytes, owned by the message.
            let name = unsafe { CStr::from_ptr(name) }
                .to_string_lossy()
                .into_owned();
            let value = unsafe { bytes(value, size) }.map(<[u8]>::to_vec);
            out.push((name, value));
        }
        out
    }
}

/// The bytes at `ptr`, or `None` for a null pointer.
///
/// # Safety
/// `ptr` is null or points at `len` readable bytes that live for `'a`.
unsafe fn bytes<'a>(ptr: *const c_void, len: usize) -> Option<&'a [u8]> {
    (!ptr.is_null()).then(|| unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    use rdkafka::{ClientConfig, Offset, TopicPartitionList};

    use super::*;

    /// What a batch held, copied out: (offset, key, payload, timestamp, headers), or the error.
    type Taken = Result<
        (
            i64,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            Option<i64>,
            Vec<(String, Option<Vec<u8>>)>,
        ),
        RDKafkaErrorCode,
    >;

    fn taken(batch: &Batch) -> Vec<Taken> {
        batch
            .iter()
            .map(|m| match m.error() {
                Some(code) => Err(code),
                None => Ok((
                    m.offset(),
                    m.key().map(<[u8]>::to_vec),
                    m.payload().map(<[u8]>::to_vec),
                    m.timestamp_ms(),
                    m.headers(),
                )),
            })
            .collect()
    }

    #[test]
    fn a_split_queue_hands_out_records_and_then_the_partition_end() {
        let (_cluster, bootstrap) = crate::mock::cluster_with_topic("t", 2);
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .create()
            .expect("producer");
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "a",
                value: Some("1"),
            })
            .insert(Header::<&str> {
                key: "b",
                value: None,
            });
        producer
            .send(
                BaseRecord::to("t")
                    .partition(1)
                    .key("k")
                    .payload("v")
                    .timestamp(1_000)
                    .headers(headers),
            )
            .expect("send");
        producer
            .send(
                BaseRecord::<[u8], [u8]>::to("t")
                    .partition(1)
                    .timestamp(2_000),
            )
            .expect("send");
        producer.flush(Duration::from_secs(10)).expect("flush");

        let consumer: Arc<BaseConsumer> = Arc::new(
            ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("group.id", "queue-test")
                .set("enable.partition.eof", "true")
                .create()
                .expect("consumer"),
        );
        let mut queue = PartitionQueue::split(&consumer, "t", 1).expect("split");
        let woken = Arc::new(AtomicBool::new(false));
        let flag = woken.clone();
        queue.on_nonempty(move || flag.store(true, Ordering::SeqCst));
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("t", 1, Offset::Beginning)
            .expect("assignment");
        consumer.assign(&tpl).expect("assign");

        let mut batch = Batch::default();
        let mut all = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !all.contains(&Err(RDKafkaErrorCode::PartitionEOF)) {
            assert!(Instant::now() < deadline, "no partition end; got {all:?}");
            // The consumer's own queue must be served for the assignment to proceed.
            assert!(consumer.poll(Duration::from_millis(10)).is_none());
            queue.take(&mut batch, 1);
            all.extend(taken(&batch));
        }
        assert!(woken.load(Ordering::SeqCst));
        assert_eq!(
            all,
            vec![
                Ok((
                    0,
                    Some(b"k".to_vec()),
                    Some(b"v".to_vec()),
                    Some(1_000),
                    vec![("a".into(), Some(b"1".to_vec())), ("b".into(), None)],
                )),
                Ok((1, None, None, Some(2_000), vec![])),
                Err(RDKafkaErrorCode::PartitionEOF),
            ]
        );
    }
}
