//! Hosting librdkafka's mock cluster: a real Kafka-protocol broker in this process, with
//! transactions, for `nudge demo` and `nudge dev-broker`. Not for benchmarks: each partition
//! keeps only its newest 100,000 messages or 5 MB, and topics are not compacted.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::ClientConfig;

use crate::error::{Context, Error};
use crate::topics::Topics;

/// A running mock cluster with one broker.
pub struct DevBroker {
    /// The client that owns the mock cluster: dropping it stops the broker.
    owner: BaseProducer,
    bootstrap: String,
}

impl DevBroker {
    /// Starts a broker and creates every topic Nudge uses with `partitions` partitions (the
    /// mock cluster does not serve the admin CreateTopics call). With `port`, clients reach it
    /// on 127.0.0.1:`port`, relayed to the port the mock cluster picked itself.
    pub fn start(topics: &Topics, partitions: i32, port: Option<u16>) -> Result<DevBroker, Error> {
        let owner: BaseProducer = ClientConfig::new()
            .set("test.mock.num.brokers", "1")
            .set("log_level", "3")
            .create()
            .context(|| "starting the mock cluster".into())?;
        let cluster = owner
            .client()
            .mock_cluster()
            .ok_or_else(|| Error::Config("librdkafka did not start a mock cluster".into()))?;
        let mut bootstrap = cluster.bootstrap_servers();
        for (name, _) in topics.specs() {
            cluster
                .create_topic(name, partitions, 1)
                .context(|| format!("creating topic {name}"))?;
        }
        drop(cluster);
        if let Some(port) = port {
            let target: SocketAddr = bootstrap
                .parse()
                .map_err(|_| Error::Config(format!("unexpected mock address {bootstrap}")))?;
            let listener = TcpListener::bind(("127.0.0.1", port))?;
            std::thread::Builder::new()
                .name("dev-broker-relay".into())
                .spawn(move || relay(listener, target))?;
            // Metadata must name the relay too, or clients would bypass it after bootstrap.
            // SAFETY: the pointer comes from a live client that owns a mock cluster; the
            // call only copies the host string and port under the cluster's lock.
            unsafe {
                let mc =
                    rdkafka::bindings::rd_kafka_handle_mock_cluster(owner.client().native_ptr());
                let host = c"127.0.0.1";
                rdkafka::bindings::rd_kafka_mock_broker_set_host_port(
                    mc,
                    1,
                    host.as_ptr(),
                    i32::from(port),
                );
            }
            bootstrap = format!("127.0.0.1:{port}");
        }
        Ok(DevBroker { owner, bootstrap })
    }

    /// The `bootstrap.servers` of the broker.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Serves the owning client's events (call now and then; cheap).
    pub fn poll(&self) {
        self.owner.poll(Duration::ZERO);
    }
}

/// For unit tests: a one-broker mock cluster with `topic` of `partitions` partitions. Returns
/// the client that owns the cluster (it stops with it) and the cluster's bootstrap servers.
#[cfg(test)]
pub(crate) fn cluster_with_topic(topic: &str, partitions: i32) -> (BaseProducer, String) {
    let owner: BaseProducer = ClientConfig::new()
        .set("test.mock.num.brokers", "1")
        .create()
        .expect("mock cluster");
    let cluster = owner.client().mock_cluster().expect("mock cluster");
    cluster.create_topic(topic, partitions, 1).expect("topic");
    let bootstrap = cluster.bootstrap_servers();
    drop(cluster);
    (owner, bootstrap)
}

/// Accepts connections on `listener` and relays each to `target`, byte for byte.
fn relay(listener: TcpListener, target: SocketAddr) {
    for conn in listener.incoming() {
        let Ok(client) = conn else { continue };
        let Ok(upstream) = TcpStream::connect(target) else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = upstream.set_nodelay(true);
        let pipe = |mut from: TcpStream, mut to: TcpStream| {
            move || {
                let _ = io::copy(&mut from, &mut to);
                let _ = to.shutdown(std::net::Shutdown::Both);
            }
        };
        let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) else {
            continue;
        };
        std::thread::spawn(pipe(client, upstream));
        std::thread::spawn(pipe(u2, c2));
    }
}
