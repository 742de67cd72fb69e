use std::io::{Read, Write};
use std::net::TcpStream;

use super::*;

fn ctx_limits(limits: Limits) -> (Server, Arc<Health>) {
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::new());
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = serve_with(addr, metrics, Arc::clone(&health), limits).expect("bind");
    (server, health)
}

fn read_status(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    response.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn parses_request_lines() {
    assert_eq!(
        parse_request_line(b"GET /metrics?x=1 HTTP/1.1\r\n\r\n"),
        Some(RequestLine {
            method: "GET",
            path: "/metrics"
        })
    );
    assert_eq!(
        parse_request_line(b"POST /readyz HTTP/1.0\n\n").map(|r| r.method),
        Some("POST")
    );
    for bad in [
        &b"GET /metrics\r\n\r\n"[..],
        b"GET  /metrics HTTP/1.1\r\n\r\n",
        b"GET metrics HTTP/1.1\r\n\r\n",
        b"GET /metrics HTTP/2\r\n\r\n",
        b"\xff\xfe /metrics HTTP/1.1\r\n\r\n",
        b"get /metrics HTTP/1.1\r\n\r\n",
        b"\r\n\r\n",
        b"",
    ] {
        assert_eq!(parse_request_line(bad), None, "{bad:?}");
    }
}

#[test]
fn finds_the_end_of_the_head() {
    assert_eq!(
        find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"),
        Some(24)
    );
    assert_eq!(find_head_end(b"GET / HTTP/1.1\nA: b\n\n"), Some(21));
    assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
}

#[test]
fn a_silent_client_times_out_with_408() {
    let (server, _health) = ctx_limits(Limits {
        head_timeout: Duration::from_millis(200),
        ..Limits::default()
    });
    let mut stream = TcpStream::connect(server.local_addr()).expect("connect");
    stream.write_all(b"GET /metr").expect("write");
    assert_eq!(read_status(&mut stream), "HTTP/1.1 408 Request Timeout");
    server.shutdown();
}

#[test]
fn a_stalled_connection_does_not_block_others() {
    let (server, _health) = ctx_limits(Limits::default());
    let _stalled = TcpStream::connect(server.local_addr()).expect("connect");
    let mut stream = TcpStream::connect(server.local_addr()).expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\n\r\n")
        .expect("write");
    assert_eq!(read_status(&mut stream), "HTTP/1.1 200 OK");
    server.shutdown();
}

#[test]
fn connections_beyond_the_limit_wait_their_turn() {
    let (server, _health) = ctx_limits(Limits {
        max_connections: 1,
        head_timeout: Duration::from_millis(300),
        ..Limits::default()
    });
    // Holds the only slot until its head times out; the next one is served after.
    let mut first = TcpStream::connect(server.local_addr()).expect("connect");
    let mut second = TcpStream::connect(server.local_addr()).expect("connect");
    second
        .write_all(b"GET /healthz HTTP/1.1\r\n\r\n")
        .expect("write");
    assert_eq!(read_status(&mut second), "HTTP/1.1 200 OK");
    assert_eq!(read_status(&mut first), "HTTP/1.1 408 Request Timeout");
    server.shutdown();
}
