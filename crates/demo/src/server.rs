//! The `serve` command: hyper's HTTP/1.1 server on tokio's single-threaded runtime.
//!
//! Connections stay open between requests as HTTP/1.1 expects (Traefik and wrk reuse them), a
//! connection that stays silent waiting for a request head is closed after the idle timeout, and
//! the number of open connections is capped so that a flood cannot exhaust memory: connections
//! beyond the cap are answered 503 and closed. On SIGTERM (or SIGINT) the server keeps answering
//! for the stop delay, then stops accepting, lets the requests in progress finish (closing idle
//! connections at once), and exits with status 0.

use std::convert::Infallible;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::app::{App, Response};

/// The largest request body that is read; the demo's endpoints ignore bodies anyway.
const MAX_BODY: usize = 1024 * 1024;

/// How long in-progress requests may take to finish after a stop signal.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// How the server listens and behaves.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: SocketAddr,
    /// How long a connection may stay silent, between or within requests, before it is closed.
    pub idle_timeout: Duration,
    /// How many connections may be open at once; more are answered with 503 and closed.
    pub max_connections: usize,
    /// How long to keep answering after a stop signal before draining, for load balancers that
    /// notice a stopping task late. Zero by default, so that a stop is quick.
    pub stop_delay: Duration,
}

/// State shared by the accepting loop and the connections.
struct Shared {
    app: App,
    options: Options,
    stopping: AtomicBool,
    open: AtomicUsize,
}

/// Decrements the open-connection count when a connection ends, however it ends.
struct OpenGuard(Arc<Shared>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Binds, prints the bound address as the first line on stdout, and serves until a stop signal.
pub fn run(options: Options, app: App) -> io::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(serve(options, app))
}

async fn serve(options: Options, app: App) -> io::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let listener = TcpListener::bind(options.listen).await?;
    let address = listener.local_addr()?;
    {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "{address}")?;
        stdout.flush()?;
    }
    eprintln!(
        "berth-demo: version {} listening on {address}",
        app.version()
    );
    let shared = Arc::new(Shared {
        app,
        options,
        stopping: AtomicBool::new(false),
        open: AtomicUsize::new(0),
    });
    let graceful = GracefulShutdown::new();
    let stop = async {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        eprintln!("berth-demo: {name} received, stopping");
    };
    tokio::pin!(stop);
    let mut delay: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => accept(&shared, &graceful, stream),
                Err(e) => {
                    eprintln!("berth-demo: accept failed: {e}");
                    // Running out of file descriptors makes accept fail at once until a
                    // connection closes; pausing avoids spinning on the error.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut stop, if delay.is_none() => {
                delay = Some(Box::pin(tokio::time::sleep(shared.options.stop_delay)));
            }
            () = async { delay.as_mut().expect("armed").await }, if delay.is_some() => break,
        }
    }
    // From now on every response closes its connection, and nothing new is accepted.
    shared.stopping.store(true, Ordering::SeqCst);
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_LIMIT, graceful.shutdown()).await;
    Ok(())
}

fn accept(shared: &Arc<Shared>, graceful: &GracefulShutdown, stream: tokio::net::TcpStream) {
    let over_cap = shared.open.fetch_add(1, Ordering::SeqCst) >= shared.options.max_connections;
    let guard = OpenGuard(Arc::clone(shared));
    let _ = stream.set_nodelay(true);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.options.idle_timeout)
        .title_case_headers(true);
    let for_service = Arc::clone(shared);
    let service = hyper::service::service_fn(move |request| {
        let shared = Arc::clone(&for_service);
        async move { Ok::<_, Infallible>(answer(&shared, request, over_cap).await) }
    });
    let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
    tokio::spawn(async move {
        let _guard = guard;
        if let Err(e) = connection.await {
            if !is_disconnect(&e) {
                eprintln!("berth-demo: connection error: {e}");
            }
        }
    });
}

/// Answers one request: the app's answer, or an error when the request cannot be served.
async fn answer(
    shared: &Shared,
    request: Request<Incoming>,
    over_cap: bool,
) -> hyper::Response<Full<Bytes>> {
    let keep_alive = wants_keep_alive(&request) && !shared.stopping.load(Ordering::SeqCst);
    if over_cap {
        return encode(Response::text(503, "too many connections\n"), false);
    }
    if request.headers().contains_key(header::TRANSFER_ENCODING) {
        return encode(
            Response::text(501, "transfer codings are not supported\n"),
            false,
        );
    }
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    // The body is read (and dropped) so that the next request on the connection can be found.
    let body = Limited::new(request.into_body(), MAX_BODY).collect();
    match tokio::time::timeout(shared.options.idle_timeout, body).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return encode(Response::text(413, "request body too large\n"), false)
        }
        // The client stalled or went away in the middle of its body.
        _ => return encode(Response::text(400, "incomplete request body\n"), false),
    }
    encode(shared.app.handle(&method, &path), keep_alive)
}

/// Whether the client wants the connection kept open after the response: the default for
/// HTTP/1.1 unless it sent `Connection: close`, and opt-in for HTTP/1.0.
fn wants_keep_alive(request: &Request<Incoming>) -> bool {
    let has = |token: &str| {
        request
            .headers()
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    match request.version() {
        Version::HTTP_10 => has("keep-alive"),
        _ => !has("close"),
    }
}

/// The app's response as hyper's, with a `Connection` header that says what happens next (hyper
/// closes the connection after a response that says `close`).
fn encode(response: Response, keep_alive: bool) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(Bytes::from(response.body)));
    *out.status_mut() =
        hyper::StatusCode::from_u16(response.status).unwrap_or(hyper::StatusCode::OK);
    let headers = out.headers_mut();
    for (name, value) in response.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(name, value);
        }
    }
    headers.insert(
        header::CONNECTION,
        HeaderValue::from_static(if keep_alive { "keep-alive" } else { "close" }),
    );
    out
}

/// Whether an error only means that the client went away or stayed silent, which is not worth
/// logging.
fn is_disconnect(error: &hyper::Error) -> bool {
    error.is_incomplete_message() || error.is_timeout() || {
        let mut source = std::error::Error::source(error);
        let mut io_gone = false;
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<io::Error>() {
                io_gone = matches!(
                    io.kind(),
                    io::ErrorKind::BrokenPipe
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                );
            }
            source = e.source();
        }
        io_gone
    }
}
