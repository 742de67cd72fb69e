//! A minimal HTTP/1.1 responder for `/metrics`, `/healthz` and `/readyz`.
//!
//! One request per connection (`Connection: close`), a capped and timed request head, no
//! body. Scrapers and probes need nothing more, and it keeps hyper out of the build.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};
use tracing::{debug, info, warn};

use crate::{Health, Metrics};

/// Limits that keep a slow or hostile client from holding the endpoint.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Largest request head (request line and headers) read.
    pub(crate) max_head: usize,
    /// Time allowed to receive the whole head.
    pub(crate) head_timeout: Duration,
    /// Time allowed to write the response.
    pub(crate) write_timeout: Duration,
    /// After responding, time spent draining unread input so the close is not a reset.
    pub(crate) linger: Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub(crate) max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 8 * 1024,
            head_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            linger: Duration::from_secs(1),
            max_connections: 64,
        }
    }
}

/// A running metrics endpoint. Stop it with [`Server::shutdown`]; dropping it also stops it.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// The address the server is bound to (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, drops open connections and joins the server thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The receiver is gone only if the thread already ended.
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                warn!("metrics server thread panicked");
            }
            info!(addr = %self.local_addr, "metrics endpoint stopped");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Binds `addr` now (so bind errors and the real port are known on return) and serves
/// `/metrics`, `/healthz` and `/readyz` on a dedicated thread with a current-thread runtime.
pub fn serve(addr: SocketAddr, metrics: Arc<Metrics>, health: Arc<Health>) -> io::Result<Server> {
    serve_with(addr, metrics, health, Limits::default())
}

pub(crate) fn serve_with(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    limits: Limits,
) -> io::Result<Server> {
    let std_listener = std::net::TcpListener::bind(addr)?;
    std_listener.set_nonblocking(true)?;
    let local_addr = std_listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    let listener = {
        let _entered = runtime.enter();
        TcpListener::from_std(std_listener)?
    };
    let (stop, stopped) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("nudge-metrics-http".to_owned())
        .spawn(move || {
            let ctx = Arc::new(Ctx {
                metrics,
                health,
                limits,
            });
            runtime.block_on(accept_loop(listener, ctx, stopped));
            // Dropping the runtime here cancels connections still in flight.
        })?;
    info!(addr = %local_addr, "metrics endpoint listening");
    Ok(Server {
        local_addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}

struct Ctx {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    limits: Limits,
}

async fn accept_loop(listener: TcpListener, ctx: Arc<Ctx>, mut stopped: oneshot::Receiver<()>) {
    let permits = Arc::new(Semaphore::new(ctx.limits.max_connections));
    loop {
        // A sent stop and a dropped sender both mean stop.
        let permit = tokio::select! {
            _ = &mut stopped => return,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // Usually fd exhaustion: back off rather than spin.
                    warn!(error = %e, "metrics endpoint failed to accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            if let Err(e) = handle(stream, &ctx).await {
                debug!(error = %e, "metrics endpoint connection failed");
            }
            drop(permit);
        });
    }
}

/// Why no complete request head was read.
#[derive(Debug)]
enum HeadError {
    /// The peer closed before sending anything: nothing to answer.
    Closed,
    /// The peer closed mid-head.
    Incomplete,
    /// The head exceeded [`Limits::max_head`].
    TooLarge,
    /// A socket error.
    Io(io::Error),
}

async fn handle(mut stream: TcpStream, ctx: &Ctx) -> io::Result<()> {
    let limits = ctx.limits;
    let read = tokio::time::timeout(limits.head_timeout, read_head(&mut stream, limits.max_head));
    let response = match read.await {
        Ok(Ok(head)) => respond(&head, ctx),
        Ok(Err(HeadError::Closed)) => return Ok(()),
        Ok(Err(HeadError::Incomplete)) => Response::text(400, "bad request"),
        Ok(Err(HeadError::TooLarge)) => Response::text(431, "request head too large"),
        Ok(Err(HeadError::Io(e))) => return Err(e),
        Err(_elapsed) => Response::text(408, "request timeout"),
    };
    let write = async {
        stream.write_all(&response.head()).await?;
        stream.write_all(&response.body).await?;
        stream.shutdown().await
    };
    tokio::time::timeout(limits.write_timeout, write)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "response write timed out"))??;
    // Closing with unread input makes the kernel send a reset, which can destroy the response
    // before the client reads it; drain briefly first.
    let _ = tokio::time::timeout(limits.linger, drain(&mut stream)).await;
    Ok(())
}

async fn read_head(stream: &mut TcpStream, max_head: usize) -> Result<Vec<u8>, HeadError> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(HeadError::Io)?;
        if n == 0 {
            return Err(if head.is_empty() {
                HeadError::Closed
            } else {
                HeadError::Incomplete
            });
        }
        // Only the new bytes (plus three for a terminator split across reads) need a look.
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_head_end(&head[from..]).map(|end| from + end) {
            if end > max_head {
                return Err(HeadError::TooLarge);
            }
            head.truncate(end);
            return Ok(head);
        }
        if head.len() > max_head {
            return Err(HeadError::TooLarge);
        }
    }
}

/// The length of the head up to and including its blank line, if it is complete.
/// Bare `\n` line ends are accepted, as RFC 9112 allows.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

async fn drain(stream: &mut TcpStream) {
    let mut sink = [0u8; 1024];
    let mut left = 64 * 1024usize;
    while left > 0 {
        match stream.read(&mut sink).await {
            Ok(0) | Err(_) => return,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

/// The parts of a request line the router needs.
#[derive(Debug, PartialEq, Eq)]
struct RequestLine<'a> {
    method: &'a str,
    path: &'a str,
}

/// Parses `METHOD SP target SP HTTP/1.x`; the query string is dropped.
fn parse_request_line(head: &[u8]) -> Option<RequestLine<'_>> {
    let line_end = head.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&head[..line_end]).ok()?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || !target.starts_with('/')
        || !version.starts_with("HTTP/1.")
    {
        return None;
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    Some(RequestLine { method, path })
}

fn respond(head: &[u8], ctx: &Ctx) -> Response {
    let Some(request) = parse_request_line(head) else {
        return Response::text(400, "bad request");
    };
    let known = matches!(request.path, "/metrics" | "/healthz" | "/readyz");
    if !known {
        return Response::text(404, "not found");
    }
    if request.method != "GET" {
        return Response {
            allow_get: true,
            ..Response::text(405, "method not allowed")
        };
    }
    match request.path {
        "/metrics" => match ctx.metrics.try_render() {
            Ok(body) => Response {
                status: 200,
                content_type: prometheus::TEXT_FORMAT,
                allow_get: false,
                body: body.into_bytes(),
            },
            Err(e) => {
                warn!(error = %e, "failed to encode metrics");
                Response::text(500, "failed to encode metrics")
            }
        },
        "/readyz" if ctx.health.is_ready() => Response::text(200, "ready"),
        "/readyz" => Response::text(503, "not ready"),
        _ => Response::text(200, "ok"),
    }
}

/// A complete response; the connection always closes after it.
#[derive(Debug)]
struct Response {
    status: u16,
    content_type: &'static str,
    allow_get: bool,
    body: Vec<u8>,
}

impl Response {
    /// A plain-text response whose body is `text` and a newline.
    fn text(status: u16, text: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            allow_get: false,
            body: format!("{text}\n").into_bytes(),
        }
    }

    fn head(&self) -> Vec<u8> {
        let allow = if self.allow_get { "Allow: GET\r\n" } else { "" };
        format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{allow}\
             Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len(),
        )
        .into_bytes()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
