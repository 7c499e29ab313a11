//! `berth logs [-p P] [-e E] [SERVICE] [--follow] [--since DURATION|TIME]`: the output of
//! berth's services, each line prefixed with the service and the task that wrote it. Reading is
//! `berth_apply::logs`'s; here are the selection, the time given on the command line, and the
//! printing (standard error lines to standard error). Without `--follow` the lines of all tasks
//! are printed in the engine's time order; with it, as they arrive.

use super::failure::Failure;
use super::session;
use berth_apply::logs::{self, LogLine, LogRequest, Source};
use clap::Args;
use futures_util::StreamExt;
use std::io::Write;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Only this service (its name in the configuration, e.g. `web`).
    #[arg(value_name = "SERVICE")]
    pub service: Option<String>,
    /// Only this project.
    #[arg(long, short = 'p')]
    pub project: Option<String>,
    /// Only this environment: `production`, `staging`, `development`, `preview` (every
    /// preview) or `preview-<pr>`.
    #[arg(long, short = 'e')]
    pub env: Option<String>,
    /// Keep printing lines as the tasks write them, until interrupted.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only lines since then: a duration back from now (`10m`, `1h30m`), a UNIX time, or an
    /// RFC 3339 time in UTC (`2026-12-01T17:00:00Z`).
    #[arg(long, value_name = "DURATION|TIME", value_parser = since)]
    pub since: Option<i64>,
}

pub fn run(args: &LogsArgs) -> Result<ExitCode, Failure> {
    let wanted = |d: &berth_planner::DeploymentId| {
        // The platform's proxy only when asked for by name.
        let project = match &args.project {
            Some(p) => *p == d.project,
            None => !d.is_platform(),
        };
        let env = args
            .env
            .as_ref()
            .is_none_or(|e| *e == d.env || *e == d.environment_label());
        project && env
    };
    session::runtime().block_on(async {
        let cluster = berth_apply::connect().await?;
        let all = logs::services(&cluster, &wanted).await?;
        let chosen: Vec<_> = all
            .iter()
            .filter(|s| args.service.as_ref().is_none_or(|n| *n == s.address.name))
            .cloned()
            .collect();
        if chosen.is_empty() {
            return Err(Failure::Usage(nothing_selected(args, &all)));
        }
        let several = {
            let mut d: Vec<_> = chosen.iter().map(|s| &s.address.deployment).collect();
            d.dedup();
            d.len() > 1
        };
        let request = LogRequest {
            follow: args.follow,
            since: args.since,
        };
        let mut lines = logs::lines(&cluster, &chosen, &request).await?;
        if args.follow {
            while let Some(line) = lines.next().await {
                print_line(&line?, several);
            }
        } else {
            let mut all = Vec::new();
            while let Some(line) = lines.next().await {
                all.push(line?);
            }
            // RFC 3339 times of one engine in UTC sort as text; the sort is stable.
            all.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
            for line in &all {
                print_line(line, several);
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Why nothing was selected, with the services there are.
fn nothing_selected(args: &LogsArgs, all: &[logs::LoggedService]) -> String {
    let names: Vec<String> = all.iter().map(|s| s.address.to_string()).collect();
    let what = match &args.service {
        Some(name) => format!("no running berth service `{name}` matches the selection"),
        None => "no running berth service matches the selection".to_string(),
    };
    if names.is_empty() {
        format!("{what}: nothing berth applied runs there")
    } else {
        format!("{what}; there are: {}", names.join(", "))
    }
}

/// `web.2.k3j2l4k5j6h7 | text`, or with several project environments
/// `shop/production/web.2.k3j2l4k5j6h7 | text`.
fn prefix(line: &LogLine, several: bool) -> String {
    if several {
        format!("{}/{}.{}", line.deployment, line.service, line.task)
    } else {
        format!("{}.{}", line.service, line.task)
    }
}

fn print_line(line: &LogLine, several: bool) {
    let text = format!("{} | {}\n", prefix(line, several), line.text);
    match line.source {
        Source::Stdout => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
        Source::Stderr => {
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        }
    }
}

/// `--since`: a duration back from now, a UNIX time, or an RFC 3339 UTC time, as UNIX seconds.
pub fn since(text: &str) -> Result<i64, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|e| format!("{e}"));
    }
    if let Ok(ns) = berth_lang::units::duration(text) {
        return Ok(now.saturating_sub((ns / 1_000_000_000) as i64));
    }
    rfc3339_utc(text).ok_or_else(|| {
        format!("`{text}` is not a duration (`10m`), a UNIX time or a UTC time (`2026-12-01T17:00:00Z`)")
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|+00:00)` as UNIX seconds.
fn rfc3339_utc(text: &str) -> Option<i64> {
    let body = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix("+00:00"))?;
    let (date, time) = body.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + min * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_unix_and_utc_times() {
        assert_eq!(since("1764608400"), Ok(1_764_608_400));
        assert_eq!(since("2025-12-01T17:00:00Z"), Ok(1_764_608_400));
        assert_eq!(since("2025-12-01T17:00:00.25+00:00"), Ok(1_764_608_400));
        assert_eq!(since("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(since("2000-03-01T00:00:00Z"), Ok(951_868_800));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let ten = since("10m").unwrap();
        assert!((now - 600 - ten).abs() <= 2, "{ten}");
        assert!(since("yesterday").is_err());
        assert!(since("2025-13-01T00:00:00Z").is_err());
    }
}
