//! `berth-demo`: the small HTTP service that berth's examples and end-to-end tests deploy.
//!
//! It ships as one static binary in a `FROM scratch` image, so the same binary also carries the
//! client tools such an image lacks: `check` for Docker health checks, `get` for routing tests and
//! `connect` for network isolation tests. This file only picks the subcommand and maps its outcome
//! to an exit code: 0 for success, 1 for a failed check, request or connection, 2 for a usage
//! error.

mod app;
mod args;
mod client;
mod server;

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use args::Args;
use client::{HttpClient, Target};

/// The largest `--count` that `get` accepts, so that every request loop stays bounded.
const MAX_COUNT: u64 = 100_000;

const USAGE: &str = "\
usage:
  berth-demo [serve] [--listen ADDR] [--idle-timeout-ms N] [--max-connections N]
  berth-demo check URL [--timeout-ms N]
  berth-demo get URL [--host H] [--count N] [--timeout-ms N]
  berth-demo connect HOST:PORT [--timeout-ms N]

serve listens on 0.0.0.0:$PORT (default 8080) unless --listen is given, and prints the bound
address as the first line on stdout. It reads BERTH_DEMO_VERSION, BERTH_DEMO_PROJECT,
BERTH_DEMO_HEALTHY (false means unhealthy) and BERTH_DEMO_STOP_DELAY_MS.
Exit codes: 0 success, 1 failure, 2 usage error.";

/// How a command ended when it did not succeed.
enum Failure {
    /// The command ran and its check, request or connection failed (exit code 1).
    Failed,
    /// The command line or the environment is wrong (exit code 2).
    Usage(String),
}

type Outcome = Result<(), Failure>;

/// Prints to stdout like `print!`, but ignores a closed stdout (as in `berth-demo get URL | head
/// -1`) instead of panicking: the exit code must still report the command's own outcome.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    let command = match argv.first().map(String::as_str) {
        // `berth-demo` alone, or with only serve options, serves: that is the image's default.
        None => "serve".to_string(),
        Some(first) if first.starts_with("--") && !matches!(first, "--help" | "--version") => {
            "serve".to_string()
        }
        Some(_) => argv.remove(0),
    };
    let outcome = match command.as_str() {
        "serve" => serve(argv),
        "check" => check(argv),
        "get" => get(argv),
        "connect" => connect(argv),
        "help" | "-h" | "--help" => {
            say!("{USAGE}\n");
            Ok(())
        }
        "version" | "--version" => {
            say!("berth-demo {}\n", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        other => Err(Failure::Usage(format!("unknown command {other:?}"))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Failed) => ExitCode::from(1),
        Err(Failure::Usage(message)) => {
            eprintln!("berth-demo: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn serve(argv: Vec<String>) -> Outcome {
    let args = Args::parse(argv, &["listen", "idle-timeout-ms", "max-connections"])
        .map_err(Failure::Usage)?;
    if let Some(extra) = args.positionals().first() {
        return Err(Failure::Usage(format!("serve takes no argument {extra:?}")));
    }
    let listen = match args.value("listen") {
        Some(text) => text
            .parse()
            .map_err(|_| Failure::Usage(format!("--listen {text:?} is not an IP:port")))?,
        None => {
            let port = match std::env::var("PORT") {
                Ok(text) => text
                    .parse()
                    .map_err(|_| Failure::Usage(format!("PORT={text:?} is not a port")))?,
                Err(_) => 8080,
            };
            SocketAddr::from(([0, 0, 0, 0], port))
        }
    };
    let stop_delay_ms = match std::env::var("BERTH_DEMO_STOP_DELAY_MS") {
        Ok(text) => text.parse().map_err(|_| {
            Failure::Usage(format!("BERTH_DEMO_STOP_DELAY_MS={text:?} is not a number"))
        })?,
        Err(_) => 0,
    };
    let idle_timeout_ms: u64 = args
        .number("idle-timeout-ms", 30_000)
        .map_err(Failure::Usage)?;
    let max_connections: usize = args
        .number("max-connections", 1024)
        .map_err(Failure::Usage)?;
    if idle_timeout_ms == 0 || max_connections == 0 {
        return Err(Failure::Usage(
            "--idle-timeout-ms and --max-connections must be positive".into(),
        ));
    }
    let options = server::Options {
        listen,
        idle_timeout: Duration::from_millis(idle_timeout_ms),
        max_connections,
        stop_delay: Duration::from_millis(stop_delay_ms),
    };
    server::run(options, app::App::from_env()).map_err(|e| {
        eprintln!("berth-demo: cannot serve on {listen}: {e}");
        Failure::Failed
    })
}

/// Parses `URL` plus the given options, the shape shared by `check` and `get`.
fn url_command(
    argv: Vec<String>,
    command: &str,
    known: &[&str],
) -> Result<(Target, Args), Failure> {
    let args = Args::parse(argv, known).map_err(Failure::Usage)?;
    let [url] = args.positionals() else {
        return Err(Failure::Usage(format!("{command} takes exactly one URL")));
    };
    let url = Target::parse(url).map_err(|e| Failure::Usage(format!("{url:?}: {e}")))?;
    Ok((url, args))
}

/// Runs a client command on a single-threaded runtime.
fn block_on<F: std::future::Future<Output = Outcome>>(command: F) -> Outcome {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(command),
        Err(e) => {
            eprintln!("berth-demo: cannot start: {e}");
            Err(Failure::Failed)
        }
    }
}

fn timeout(args: &Args) -> Result<Duration, Failure> {
    match args.number("timeout-ms", 2000u64).map_err(Failure::Usage)? {
        0 => Err(Failure::Usage("--timeout-ms must be positive".into())),
        ms => Ok(Duration::from_millis(ms)),
    }
}

/// `check URL`: one GET, success on a 2xx status. It is the image's health check command.
fn check(argv: Vec<String>) -> Outcome {
    let (url, args) = url_command(argv, "check", &["timeout-ms"])?;
    let mut client = HttpClient::new(url.clone(), None, timeout(&args)?).map_err(Failure::Usage)?;
    block_on(async move {
        match client.get().await {
            Ok(reply) if (200..300).contains(&reply.status) => {
                say!("{url}: {}\n", reply.status);
                Ok(())
            }
            Ok(reply) => {
                say!("{url}: {}\n", reply.status);
                Err(Failure::Failed)
            }
            Err(e) => {
                say!("{url}: {e}\n");
                Err(Failure::Failed)
            }
        }
    })
}

/// `get URL`: a bounded loop of GETs, with a summary line and the first body received.
fn get(argv: Vec<String>) -> Outcome {
    let (url, args) = url_command(argv, "get", &["host", "count", "timeout-ms"])?;
    let count: u64 = args.number("count", 1).map_err(Failure::Usage)?;
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(Failure::Usage(format!(
            "--count must be between 1 and {MAX_COUNT}"
        )));
    }
    let mut client = HttpClient::new(url, args.value("host").map(str::to_string), timeout(&args)?)
        .map_err(Failure::Usage)?;
    block_on(async move {
        let (mut ok, mut failed) = (0u64, 0u64);
        let mut first_body: Option<Vec<u8>> = None;
        let mut first_error: Option<String> = None;
        for _ in 0..count {
            match client.get().await {
                Ok(reply) => {
                    if (200..300).contains(&reply.status) {
                        ok += 1;
                    } else {
                        failed += 1;
                        first_error.get_or_insert_with(|| format!("status {}", reply.status));
                    }
                    first_body.get_or_insert(reply.body);
                }
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        say!("ok={ok} failed={failed}\n");
        if let Some(body) = first_body {
            let body = String::from_utf8_lossy(&body);
            say!("{body}");
            if !body.is_empty() && !body.ends_with('\n') {
                say!("\n");
            }
        }
        if let Some(error) = first_error {
            eprintln!("berth-demo: first failure: {error}");
        }
        if failed == 0 {
            Ok(())
        } else {
            Err(Failure::Failed)
        }
    })
}

/// `connect HOST:PORT`: one TCP connection attempt, reported as `open` or `closed: <reason>`.
fn connect(argv: Vec<String>) -> Outcome {
    let args = Args::parse(argv, &["timeout-ms"]).map_err(Failure::Usage)?;
    let [target] = args.positionals() else {
        return Err(Failure::Usage("connect takes exactly one HOST:PORT".into()));
    };
    let timeout = timeout(&args)?;
    let target = target.clone();
    block_on(async move {
        match client::connect(&target, Instant::now() + timeout).await {
            Ok(_stream) => {
                say!("open\n");
                Ok(())
            }
            Err(client::ClientError::Timeout) => {
                say!("closed: timed out after {} ms\n", timeout.as_millis());
                Err(Failure::Failed)
            }
            Err(e) => {
                say!("closed: {e}\n");
                Err(Failure::Failed)
            }
        }
    })
}
