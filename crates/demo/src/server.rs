//! The `serve` command: an HTTP/1.1 server with one thread per connection.
//!
//! A thread per connection keeps the code obvious and is plenty for a demo service behind Traefik.
//! Connections stay open between requests as HTTP/1.1 expects (Traefik and wrk reuse them), an
//! idle connection is closed after a timeout, and the number of open connections is capped so that
//! a flood cannot exhaust threads. On SIGTERM the server finishes the requests in progress and
//! exits with status 0.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crate::app::App;
use crate::http::{self, ParseError, ReadHeadError, Response};
use crate::signals;

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

/// State shared by the accepting loop, the connection threads and the stop handler.
struct Shared {
    app: App,
    options: Options,
    stopping: AtomicBool,
    open: AtomicUsize,
    in_flight: AtomicUsize,
}

/// Decrements a counter when dropped, so that counts stay right even if a thread panics.
struct CountGuard<'a>(&'a AtomicUsize);

impl Drop for CountGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Binds, prints the bound address as the first line on stdout, and serves until a stop signal
/// ends the process.
pub fn run(options: Options, app: App) -> io::Result<()> {
    let stop_signals = signals::install()?;
    let listener = TcpListener::bind(options.listen)?;
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
        in_flight: AtomicUsize::new(0),
    });
    let for_stop = Arc::clone(&shared);
    thread::Builder::new()
        .name("stop".into())
        .spawn(move || stop_when_signalled(stop_signals, &for_stop))?;

    for stream in listener.incoming() {
        match stream {
            Ok(stream) => accept(&shared, stream),
            Err(e) => {
                eprintln!("berth-demo: accept failed: {e}");
                // Running out of file descriptors makes accept fail at once until a connection
                // closes; pausing avoids spinning on the error.
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
    Ok(())
}

fn stop_when_signalled(stop_signals: signals::StopSignals, shared: &Shared) {
    let stop = stop_signals.wait();
    eprintln!("berth-demo: {stop} received, stopping");
    if !shared.options.stop_delay.is_zero() {
        thread::sleep(shared.options.stop_delay);
    }
    // From now on every response closes its connection; idle connections are simply cut when the
    // process exits, which is safe because no request is outstanding on them.
    shared.stopping.store(true, Ordering::SeqCst);
    let limit = Instant::now() + DRAIN_LIMIT;
    while shared.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < limit {
        thread::sleep(Duration::from_millis(5));
    }
    std::process::exit(0);
}

fn accept(shared: &Arc<Shared>, stream: TcpStream) {
    if shared.open.fetch_add(1, Ordering::SeqCst) >= shared.options.max_connections {
        let _guard = CountGuard(&shared.open);
        refuse(stream);
        return;
    }
    let for_thread = Arc::clone(shared);
    let spawned = thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let _guard = CountGuard(&for_thread.open);
            if let Err(e) = serve_connection(&for_thread, stream) {
                if !is_disconnect(&e) {
                    eprintln!("berth-demo: connection error: {e}");
                }
            }
        });
    if let Err(e) = spawned {
        // The closure, and with it the guard and the stream, is dropped when spawning fails.
        eprintln!("berth-demo: cannot start a connection thread: {e}");
    }
}

/// Answers a connection beyond the cap with 503 without reading its request.
fn refuse(mut stream: TcpStream) {
    let response =
        Response::text(503, "too many connections\n").to_bytes(false, false, SystemTime::now());
    let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = stream.write_all(&response);
}

/// Serves requests on one connection until the client closes it, asks to close it, stays idle too
/// long, or sends something that cannot be answered in sequence.
fn serve_connection(shared: &Shared, mut stream: TcpStream) -> io::Result<()> {
    let idle = shared.options.idle_timeout;
    stream.set_read_timeout(Some(idle))?;
    stream.set_write_timeout(Some(idle))?;
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(1024);
    loop {
        let head_len = match http::read_head(&mut stream, &mut buf) {
            Ok(Some(len)) => len,
            Ok(None) => return Ok(()),
            Err(ReadHeadError::TooLarge) => {
                return send_error(&mut stream, 431, "request head too large\n")
            }
            Err(ReadHeadError::Truncated) => return Ok(()),
            Err(ReadHeadError::Io(e)) if is_timeout(&e) => return Ok(()),
            Err(ReadHeadError::Io(e)) => return Err(e),
        };
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        let _in_flight = CountGuard(&shared.in_flight);
        let request = match http::parse_request(&buf[..head_len]) {
            Ok(request) => request,
            Err(e) => return send_error(&mut stream, error_status(&e), &format!("{e}\n")),
        };
        buf.drain(..head_len);
        let body_len = match request.content_length() {
            Ok(len) if len > MAX_BODY => {
                return send_error(&mut stream, 413, "request body too large\n")
            }
            Ok(len) => len,
            Err(e) => return send_error(&mut stream, error_status(&e), &format!("{e}\n")),
        };
        if body_len > buf.len() && request.expects_continue() {
            stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        if !skip_body(&mut stream, &mut buf, body_len)? {
            return Ok(());
        }
        let response = shared.app.handle(&request.method, &request.target);
        let keep_alive = request.keep_alive() && !shared.stopping.load(Ordering::SeqCst);
        let bytes = response.to_bytes(request.method == "HEAD", keep_alive, SystemTime::now());
        stream.write_all(&bytes)?;
        if !keep_alive {
            return Ok(());
        }
    }
}

/// Consumes a request body of `len` bytes, from what is already buffered and then from the stream.
/// Returns `false` when the client disconnects or stalls before sending all of it.
fn skip_body(stream: &mut TcpStream, buf: &mut Vec<u8>, len: usize) -> io::Result<bool> {
    let mut missing = len.saturating_sub(buf.len());
    buf.drain(..len.min(buf.len()));
    let mut chunk = [0u8; 4096];
    while missing > 0 {
        let n = match stream.read(&mut chunk[..missing.min(4096)]) {
            Ok(0) => return Ok(false),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => return Ok(false),
            Err(e) => return Err(e),
        };
        missing -= n;
    }
    Ok(true)
}

/// Sends an error response and ends the connection, because after a framing error the start of
/// the next request cannot be found.
fn send_error(stream: &mut TcpStream, status: u16, message: &str) -> io::Result<()> {
    stream.write_all(&Response::text(status, message).to_bytes(false, false, SystemTime::now()))
}

fn error_status(error: &ParseError) -> u16 {
    match error {
        ParseError::Malformed(_) => 400,
        ParseError::UnsupportedVersion => 505,
        ParseError::TooManyHeaders => 431,
        ParseError::UnsupportedTransferEncoding => 501,
    }
}

/// A read timeout surfaces as `WouldBlock` on Unix and as `TimedOut` elsewhere.
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Whether an error only means that the client went away, which is not worth logging.
fn is_disconnect(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    ) || is_timeout(error)
}
