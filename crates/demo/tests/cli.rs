//! End-to-end tests of the `berth-demo` binary on loopback.
//!
//! Each test starts its own `serve` process on `127.0.0.1:0` and drives it with raw sockets and
//! with the binary's own `check`, `get` and `connect` commands, exactly as containers use them.
//! A guard kills every server it started, so the tests leave nothing listening even when they fail.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_berth-demo");

/// A running `berth-demo serve`, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(BIN);
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args);
        for var in [
            "BERTH_DEMO_VERSION",
            "BERTH_DEMO_PROJECT",
            "BERTH_DEMO_HEALTHY",
            "BERTH_DEMO_STOP_DELAY_MS",
        ] {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn berth-demo");
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .expect("read bound address");
        let addr = first_line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("bound address, got {first_line:?}"));
        Server { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends SIGTERM and returns how long the process took to exit, and whether it exited with 0.
    fn terminate(&mut self) -> (Duration, bool) {
        unsafe extern "C" {
            fn kill(pid: i32, sig: i32) -> i32;
        }
        let started = Instant::now();
        // SAFETY: `kill` has no memory-safety preconditions; the pid is our own unreaped child.
        assert_eq!(unsafe { kill(self.child.id() as i32, 15) }, 0);
        let deadline = started + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (started.elapsed(), status.success());
            }
            assert!(Instant::now() < deadline, "berth-demo ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary with the given arguments and returns its output.
fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run berth-demo")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// One parsed response read off a raw connection.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    head: String,
    body: String,
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

/// Reads one response with a `Content-Length` body from a raw connection.
fn read_response(reader: &mut BufReader<TcpStream>) -> RawResponse {
    read_response_to(reader, "GET")
}

/// Reads one response to a request with the given method; a response to `HEAD` has no body.
fn read_response_to(reader: &mut BufReader<TcpStream>, method: &str) -> RawResponse {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "connection closed mid-response: {head:?}"
        );
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("Content-Length: "))
        .expect("content-length")
        .parse()
        .unwrap();
    let mut body = vec![0; if method == "HEAD" { 0 } else { length }];
    reader.read_exact(&mut body).unwrap();
    RawResponse {
        status,
        head,
        body: String::from_utf8(body).unwrap(),
    }
}

/// Sends one request on a fresh connection and reads the response.
fn request(addr: SocketAddr, method: &str, path: &str) -> RawResponse {
    let mut stream = connect(addr);
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    read_response_to(&mut BufReader::new(stream), method)
}

/// Whether the peer has closed the connection: a read returns end of file.
/// A read with a timeout fails with `Interrupted` when a signal arrives meanwhile, even under
/// `SA_RESTART`, so such reads are retried.
fn is_closed(reader: &mut BufReader<TcpStream>) -> bool {
    let mut byte = [0u8; 1];
    loop {
        match reader.read(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            result => return matches!(result, Ok(0)),
        }
    }
}

#[test]
fn answers_root_health_version_and_404() {
    let server = Server::start(
        &[],
        &[("BERTH_DEMO_VERSION", "7"), ("BERTH_DEMO_PROJECT", "shop")],
    );
    let root = request(server.addr, "GET", "/");
    assert_eq!(root.status, 200);
    assert!(root.head.contains("Content-Type: text/plain"));
    assert!(
        root.body.starts_with("berth-demo version=7 host="),
        "{}",
        root.body
    );
    assert!(root.body.ends_with(" project=shop\n"), "{}", root.body);
    assert_eq!(root.body.lines().count(), 1);

    let health = request(server.addr, "GET", "/health");
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    let version = request(server.addr, "GET", "/version");
    assert_eq!((version.status, version.body.as_str()), (200, "7\n"));
    assert_eq!(request(server.addr, "GET", "/missing").status, 404);
    assert_eq!(request(server.addr, "POST", "/").status, 405);
    let head = request(server.addr, "HEAD", "/version");
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert!(head.head.contains("Content-Length: 2\r\n"), "{}", head.head);
}

#[test]
fn defaults_version_and_project() {
    let server = Server::start(&[], &[]);
    let root = request(server.addr, "GET", "/");
    assert!(root.body.starts_with(&format!(
        "berth-demo version={} host=",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(root.body.ends_with(" project=-\n"));
}

#[test]
fn admin_endpoints_switch_health_and_check_follows() {
    let server = Server::start(&[], &[]);
    let health_url = server.url("/health");
    assert!(run(&["check", &health_url]).status.success());

    let failed = request(server.addr, "POST", "/admin/fail");
    assert_eq!(failed.status, 200);
    let health = request(server.addr, "GET", "/health");
    assert_eq!((health.status, health.body.as_str()), (503, "unhealthy\n"));
    let check = run(&["check", &health_url]);
    assert_eq!(check.status.code(), Some(1));
    assert!(stdout(&check).contains("503"), "{}", stdout(&check));

    assert_eq!(request(server.addr, "POST", "/admin/recover").status, 200);
    assert_eq!(request(server.addr, "GET", "/health").status, 200);
    assert!(run(&["check", &health_url]).status.success());
}

#[test]
fn starts_unhealthy_when_told_to() {
    let server = Server::start(&[], &[("BERTH_DEMO_HEALTHY", "false")]);
    assert_eq!(request(server.addr, "GET", "/health").status, 503);
    assert_eq!(request(server.addr, "GET", "/").status, 200);
    assert_eq!(
        run(&["check", &server.url("/health")]).status.code(),
        Some(1)
    );
}

#[test]
fn check_fails_on_404_and_on_a_closed_port() {
    let server = Server::start(&[], &[]);
    assert_eq!(run(&["check", &server.url("/nope")]).status.code(), Some(1));
    let closed = closed_port();
    let output = run(&["check", &format!("http://127.0.0.1:{closed}/health")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("connection refused"),
        "{}",
        stdout(&output)
    );
    assert_eq!(run(&["check", "https://127.0.0.1/"]).status.code(), Some(2));
}

#[test]
fn keeps_connections_alive_and_answers_pipelined_requests() {
    let server = Server::start(&[], &[]);
    let mut stream = connect(server.addr);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for path in ["/health", "/version"] {
        write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
        let response = read_response(&mut reader);
        assert_eq!(response.status, 200);
        assert!(response.head.contains("Connection: keep-alive"));
    }
    // Two requests in one write, the second with a body that must be skipped, then a close.
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: test\r\n\r\nPOST /admin/recover HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody\
         GET /health HTTP/1.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    assert_eq!(read_response(&mut reader).status, 200);
    assert_eq!(read_response(&mut reader).body, "healthy=true\n");
    let last = read_response(&mut reader);
    assert!(last.head.contains("Connection: close"));
    assert!(is_closed(&mut reader));
}

#[test]
fn http_1_0_closes_unless_keep_alive_is_asked_for() {
    let server = Server::start(&[], &[]);
    let mut stream = connect(server.addr);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    write!(
        stream,
        "GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    )
    .unwrap();
    assert!(read_response(&mut reader)
        .head
        .contains("Connection: keep-alive"));
    write!(stream, "GET /health HTTP/1.0\r\n\r\n").unwrap();
    assert!(read_response(&mut reader)
        .head
        .contains("Connection: close"));
    assert!(is_closed(&mut reader));
}

#[test]
fn rejects_malformed_requests_and_closes() {
    let server = Server::start(&[], &[]);
    let mut stream = connect(server.addr);
    stream.write_all(b"NOT HTTP\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    assert_eq!(read_response(&mut reader).status, 400);
    assert!(is_closed(&mut reader));

    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut BufReader::new(stream)).status, 501);
}

#[test]
fn closes_idle_connections_after_the_timeout() {
    let server = Server::start(&["--idle-timeout-ms", "300"], &[]);
    let mut stream = connect(server.addr);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    write!(stream, "GET /health HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut reader).status, 200);
    let idle_since = Instant::now();
    assert!(is_closed(&mut reader));
    let waited = idle_since.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );

    // A client that starts a request and stalls is cut off too.
    let mut stalled = connect(server.addr);
    stalled.write_all(b"GET /health HTTP/1.1\r\n").unwrap();
    assert!(is_closed(&mut BufReader::new(stalled)));
}

#[test]
fn get_counts_successes_and_failures() {
    let server = Server::start(&[], &[("BERTH_DEMO_VERSION", "3")]);
    let output = run(&[
        "get",
        &server.url("/"),
        "--count",
        "50",
        "--host",
        "demo.test",
    ]);
    assert!(output.status.success());
    let text = stdout(&output);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("ok=50 failed=0"));
    assert!(lines
        .next()
        .unwrap()
        .starts_with("berth-demo version=3 host="));

    let missing = run(&["get", &server.url("/missing"), "--count", "2"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(stdout(&missing), "ok=0 failed=2\nnot found\n");

    let refused = run(&[
        "get",
        &format!("http://127.0.0.1:{}/", closed_port()),
        "--count",
        "3",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(stdout(&refused), "ok=0 failed=3\n");

    assert_eq!(
        run(&["get", &server.url("/"), "--count", "100001"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["get", &server.url("/"), "--count", "0"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn get_retries_a_reused_connection_that_the_server_closed() {
    // A hand-written server answers the first request with keep-alive, then closes the connection
    // instead of answering the second, as a server does when its idle timeout races a request.
    // The client must retry on a new connection, where the answer comes in chunked encoding.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = std::thread::spawn(move || {
        let read_head = |reader: &mut BufReader<TcpStream>| loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                return;
            }
        };
        let (first, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(first.try_clone().unwrap());
        read_head(&mut reader);
        (&first)
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\none\n")
            .unwrap();
        read_head(&mut reader);
        drop((reader, first));
        let (second, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(second.try_clone().unwrap());
        read_head(&mut reader);
        (&second)
            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\ntwo\n\r\n0\r\n\r\n")
            .unwrap();
    });
    let output = run(&["get", &format!("http://{addr}/"), "--count", "2"]);
    fake.join().unwrap();
    assert_eq!(stdout(&output), "ok=2 failed=0\none\n");
    assert!(output.status.success());
}

#[test]
fn answers_503_beyond_the_connection_cap() {
    let server = Server::start(&["--max-connections", "1"], &[]);
    let mut held = connect(server.addr);
    write!(held, "GET /health HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    let mut reader = BufReader::new(held.try_clone().unwrap());
    assert_eq!(read_response(&mut reader).status, 200);

    let refused = request(server.addr, "GET", "/health");
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (503, "too many connections\n")
    );

    // Once the first connection is gone, the next one is served again.
    drop((reader, held));
    let deadline = Instant::now() + Duration::from_secs(5);
    while request(server.addr, "GET", "/health").status != 200 {
        assert!(Instant::now() < deadline, "the cap was not released");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn connect_reports_open_and_closed() {
    let server = Server::start(&[], &[]);
    let open = run(&["connect", &server.addr.to_string()]);
    assert!(open.status.success());
    assert_eq!(stdout(&open), "open\n");

    let closed = run(&[
        "connect",
        &format!("127.0.0.1:{}", closed_port()),
        "--timeout-ms",
        "500",
    ]);
    assert_eq!(closed.status.code(), Some(1));
    assert_eq!(stdout(&closed), "closed: connection refused\n");

    let unresolvable = run(&["connect", "no-such-host.invalid:80", "--timeout-ms", "500"]);
    assert_eq!(unresolvable.status.code(), Some(1));
    assert!(
        stdout(&unresolvable).starts_with("closed: cannot resolve"),
        "{}",
        stdout(&unresolvable)
    );
    assert_eq!(run(&["connect"]).status.code(), Some(2));
}

#[test]
fn exits_cleanly_and_quickly_on_sigterm() {
    let mut server = Server::start(&[], &[]);
    // An idle keep-alive connection must not hold the process up.
    let mut idle = connect(server.addr);
    write!(idle, "GET /health HTTP/1.1\r\n\r\n").unwrap();
    let mut reader = BufReader::new(idle.try_clone().unwrap());
    assert_eq!(read_response(&mut reader).status, 200);

    let (took, success) = server.terminate();
    assert!(
        success,
        "berth-demo exited with a failure status after SIGTERM"
    );
    assert!(took < Duration::from_secs(1), "stopping took {took:?}");
    assert!(is_closed(&mut reader));
    idle.shutdown(Shutdown::Both).ok();
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "still listening after SIGTERM"
    );
}

#[test]
fn keeps_answering_during_the_stop_delay() {
    let mut server = Server::start(&[], &[("BERTH_DEMO_STOP_DELAY_MS", "400")]);
    let addr = server.addr;
    let during = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        request(addr, "GET", "/health").status
    });
    let (took, success) = server.terminate();
    assert_eq!(during.join().unwrap(), 200);
    assert!(success);
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[test]
fn refuses_bad_listen_addresses_and_unknown_commands() {
    assert_eq!(
        run(&["serve", "--listen", "nonsense"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(run(&["serve", "--bogus", "1"]).status.code(), Some(2));
    assert_eq!(
        run(&["serve", "--idle-timeout-ms", "0"]).status.code(),
        Some(2)
    );
    assert!(run(&["--help"]).status.success());
}

/// A loopback port with nothing listening on it: bound, then released.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
