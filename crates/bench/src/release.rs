//! `berth-bench release`: canary releases on the real Swarm, through a real Traefik.
//!
//! - time to traffic: from the start (and from the end) of the `berth apply` that adds a
//!   canary at 20% to the first answer of the canary's version through the proxy, over a few
//!   trials (each aborted before the next);
//! - share: for each declared share (0, 5, 20, 50, 80, 100), the part of 1,000 requests that the
//!   canary answered, once the proxy serves the new weights;
//! - failures: a request loop runs through every change of share; target 0.
//!
//! Like `berth-bench edge`, it refuses to start when a `platform_traefik` exists, creates its own
//! proxy on unusual ports and removes it and its project at the end. Requests go to 127.0.0.1
//! only, in bounded loops.

use crate::edge::{field, get, verdict, Bench};
use crate::report;
use std::time::{Duration, Instant};

/// A canary's observed share may differ from its declared one by this many points.
const SHARE_TOLERANCE: f64 = 5.0;
const TRAFFIC_TARGET: Duration = Duration::from_secs(5);

/// `berth-bench release [--berth PATH] [--http-port N] [--https-port N] [--trials N]
/// [--requests N]`. Exit code 0 when every target was met, 3 when one was missed, 1 when the
/// benchmark could not run.
pub fn run(args: &[String]) -> i32 {
    match measure(args) {
        Ok(true) => 0,
        Ok(false) => 3,
        Err(e) => {
            eprintln!("berth-bench release: {e}");
            1
        }
    }
}

fn canary(share: u8) -> String {
    format!("\n    canary {{\n      image = \"berth/demo:2\"\n      share = {share}\n    }}\n")
}

/// Requests `count` times (two threads); the percentage the canary's version answered, and how
/// many requests failed.
fn observed_share(port: u16, host: &str, count: u64) -> (f64, u64) {
    let per = count / 2;
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let host = host.to_string();
            std::thread::spawn(move || {
                let (mut canary, mut ok, mut failed) = (0u64, 0u64, 0u64);
                for _ in 0..per {
                    match get(port, &host, Duration::from_secs(10)) {
                        Ok((200, body)) => {
                            ok += 1;
                            if field(&body, "version") == Some("2") {
                                canary += 1;
                            }
                        }
                        _ => failed += 1,
                    }
                }
                (canary, ok, failed)
            })
        })
        .collect();
    let (mut canary, mut ok, mut failed) = (0, 0, 0);
    for w in workers {
        let (c, o, f) = w.join().unwrap_or((0, 0, per));
        canary += c;
        ok += o;
        failed += f;
    }
    (100.0 * canary as f64 / ok.max(1) as f64, failed)
}

/// Waits (bounded) until the proxy serves what the last apply set: a request that answers the
/// canary's version (share above 0) or, for share 0, two proxy polls.
fn settle(port: u16, host: &str, share: u8) {
    if share == 0 {
        std::thread::sleep(Duration::from_secs(3));
        return;
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Ok((200, body)) = get(port, host, Duration::from_secs(5)) {
            if field(&body, "version") == Some("2") {
                break;
            }
        }
    }
    // One more poll of the proxy (1 s), so that both services' new weights are in.
    std::thread::sleep(Duration::from_millis(1500));
}

fn measure(args: &[String]) -> Result<bool, String> {
    let https_port: u16 = report::flag(args, "--https-port", 18443);
    let trials = report::flag(args, "--trials", 3usize).max(1);
    let requests = report::flag(args, "--requests", 1_000u64).max(100);
    let (mut bench, id) = Bench::new(args, "brel", 1000)?;
    bench.platform(https_port, 2, None);
    let port = bench.http_port;
    let project = format!("{id}-shop");
    bench.projects.push(project.clone());
    let host = bench.host(&project);
    bench.write_with(&project, "berth/demo:1", 4, false, "");
    bench.apply(&project, true)?;
    let mut ok = true;

    // Time to traffic: add a canary at 20%, wait for its first answer, abort; `trials` times.
    let (mut from_start, mut from_end) = (Vec::new(), Vec::new());
    for _ in 0..trials {
        bench.write_with(&project, "berth/demo:1", 4, false, &canary(20));
        let start = Instant::now();
        bench.apply(&project, false)?;
        let end = Instant::now();
        loop {
            if let Ok((200, body)) = get(port, &host, Duration::from_secs(5)) {
                if field(&body, "version") == Some("2") {
                    from_start.push(start.elapsed());
                    from_end.push(end.elapsed());
                    break;
                }
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err("the canary received no request within 60 s of its apply".into());
            }
        }
        bench.write_with(&project, "berth/demo:1", 4, false, "");
        bench.apply(&project, false)?;
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (start_median, end_median) = (median(&mut from_start), median(&mut from_end));
    let met = start_median <= TRAFFIC_TARGET;
    println!(
        "release time to traffic (start of the apply adding a 20% canary to its first answer through the proxy): median {:.1} s (from the end of the apply {:.1} s), min {:.1} s, max {:.1} s over {trials} trials (target {} s) {}",
        start_median.as_secs_f64(),
        end_median.as_secs_f64(),
        from_start[0].as_secs_f64(),
        from_start[from_start.len() - 1].as_secs_f64(),
        TRAFFIC_TARGET.as_secs(),
        verdict(met)
    );
    ok &= met;

    // The share at each declared weight, 4 stable tasks and 1 canary task.
    let mut failed_total = 0;
    for share in [0u8, 5, 20, 50, 80, 100] {
        bench.write_with(&project, "berth/demo:1", 4, false, &canary(share));
        let (during, failed_during) = {
            let h = host.clone();
            let loader = std::thread::spawn(move || observed_share(port, &h, 400));
            bench.apply(&project, false)?;
            loader.join().map_err(|_| "a request thread panicked")?
        };
        let _ = during;
        settle(port, &host, share);
        let (observed, failed) = observed_share(port, &host, requests);
        failed_total += failed + failed_during;
        let met = (observed - f64::from(share)).abs() <= SHARE_TOLERANCE && failed == 0;
        println!(
            "release share {share:>3}%: observed {observed:5.1}% of {requests} requests, {failed} failed (target {share} ± {SHARE_TOLERANCE:.0}) {}",
            verdict(met)
        );
        ok &= met;
    }
    println!(
        "release failed requests while the share changed 0 -> 5 -> 20 -> 50 -> 80 -> 100: {failed_total} (target 0) {}",
        verdict(failed_total == 0)
    );
    ok &= failed_total == 0;
    println!("release targets: {}", verdict(ok));
    Ok(ok)
}
