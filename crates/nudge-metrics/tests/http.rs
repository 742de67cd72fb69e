//! The endpoint over a real TCP socket on 127.0.0.1, through the public API only.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use nudge_metrics::{names, serve, Health, Metrics, Server};

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

fn start() -> (Server, Arc<Metrics>, Arc<Health>) {
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(metrics.health());
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let server = serve(addr, Arc::clone(&metrics), Arc::clone(&health)).expect("bind");
    (server, metrics, health)
}

fn send(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    stream.write_all(raw).expect("write request");
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).expect("read response");
    let text = String::from_utf8(bytes).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    Reply {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    send(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n").as_bytes(),
    )
}

#[test]
fn metrics_route_serves_the_text_format() {
    let (server, metrics, _health) = start();
    metrics
        .events_consumed
        .with_label_values(&["clickstream", "purchase"])
        .inc_by(3);
    let reply = get(server.local_addr(), "/metrics?debug=1");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4")
    );
    assert_eq!(reply.header("connection"), Some("close"));
    assert_eq!(
        reply.header("content-length"),
        Some(reply.body.len().to_string().as_str())
    );
    assert!(reply
        .body
        .contains("nudge_events_consumed_total{topic=\"clickstream\",type=\"purchase\"} 3\n"));
    assert!(reply
        .body
        .contains(&format!("# TYPE {} gauge", names::BUILD_INFO)));
    server.shutdown();
}

#[test]
fn healthz_answers_ok() {
    let (server, _metrics, _health) = start();
    let reply = get(server.local_addr(), "/healthz");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "ok\n");
    assert_eq!(reply.header("connection"), Some("close"));
    server.shutdown();
}

#[test]
fn readyz_flips_from_503_to_200() {
    let (server, metrics, health) = start();
    let reply = get(server.local_addr(), "/readyz");
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body, "not ready\n");
    assert!(get(server.local_addr(), "/metrics")
        .body
        .contains("nudge_ready 0\n"));

    health.set_ready(true);
    let reply = get(server.local_addr(), "/readyz");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "ready\n");
    assert_eq!(metrics.ready.get(), 1);

    health.set_ready(false);
    assert_eq!(get(server.local_addr(), "/readyz").status, 503);
    server.shutdown();
}

#[test]
fn unknown_path_is_404() {
    let (server, _metrics, _health) = start();
    assert_eq!(get(server.local_addr(), "/").status, 404);
    assert_eq!(get(server.local_addr(), "/metrics/extra").status, 404);
    server.shutdown();
}

#[test]
fn non_get_is_405() {
    let (server, _metrics, _health) = start();
    let reply = send(
        server.local_addr(),
        b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET"));
    assert_eq!(
        send(server.local_addr(), b"DELETE /readyz HTTP/1.0\r\n\r\n").status,
        405
    );
    server.shutdown();
}

#[test]
fn garbage_gets_400_and_the_server_keeps_serving() {
    let (server, _metrics, _health) = start();
    let addr = server.local_addr();
    assert_eq!(send(addr, b"\x00\x01\x02 garbage \xff\r\n\r\n").status, 400);
    assert_eq!(send(addr, b"GET\r\n\r\n").status, 400);
    // A client that gives up half-way gets a 400 rather than a hang.
    let mut half = TcpStream::connect(addr).expect("connect");
    half.write_all(b"GET /metrics HTTP/1.1\r\n").expect("write");
    half.shutdown(Shutdown::Write).expect("half close");
    let mut bytes = Vec::new();
    half.read_to_end(&mut bytes).expect("read");
    assert!(bytes.starts_with(b"HTTP/1.1 400 "));
    // A client that connects and leaves costs nothing.
    drop(TcpStream::connect(addr).expect("connect"));
    assert_eq!(get(addr, "/healthz").status, 200);
    server.shutdown();
}

#[test]
fn oversized_head_gets_431() {
    let (server, _metrics, _health) = start();
    let mut raw = b"GET /metrics HTTP/1.1\r\nX-Filler: ".to_vec();
    raw.extend(std::iter::repeat_n(b'a', 9000));
    raw.extend_from_slice(b"\r\n\r\n");
    assert_eq!(send(server.local_addr(), &raw).status, 431);
    assert_eq!(get(server.local_addr(), "/healthz").status, 200);
    server.shutdown();
}

#[test]
fn shutdown_closes_the_port() {
    let (server, _metrics, _health) = start();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    assert_eq!(get(addr, "/healthz").status, 200);
    server.shutdown();
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn binding_a_taken_port_fails_synchronously() {
    let (server, metrics, health) = start();
    assert!(serve(server.local_addr(), metrics, health).is_err());
    server.shutdown();
}
