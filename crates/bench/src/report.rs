//! Measuring and printing: wall-clock samples, their minimum and median, and peak memory.

use std::time::Duration;

/// Peak resident set size of this process, in bytes (Linux `VmHWM`).
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub struct Summary {
    pub min: Duration,
    pub median: Duration,
}

pub fn summarize(mut samples: Vec<Duration>) -> Summary {
    samples.sort();
    Summary {
        min: samples[0],
        median: samples[samples.len() / 2],
    }
}

/// One result line and whether it met its targets.
pub fn print(name: &str, s: &Summary, target_time: Duration, target_mem: u64) -> bool {
    let peak = peak_rss().unwrap_or(0);
    let ok = s.median <= target_time && peak <= target_mem;
    println!(
        "{name}: median {:.1} ms, min {:.1} ms, peak RSS {:.1} MiB (targets: {} ms, {} MiB) {}",
        s.median.as_secs_f64() * 1e3,
        s.min.as_secs_f64() * 1e3,
        peak as f64 / (1 << 20) as f64,
        target_time.as_millis(),
        target_mem >> 20,
        if ok { "OK" } else { "MISSED" }
    );
    ok
}

/// `--name value` from an argument list, parsed.
pub fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
