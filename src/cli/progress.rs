//! Apply progress as lines on stderr: one when a resource starts and one when it ends, with its
//! duration, readable in CI logs and on a terminal alike.

use berth_apply::progress::{Event, Progress};
use std::io::Write;
use std::time::Instant;

pub struct Lines {
    start: Instant,
}

impl Lines {
    pub fn new() -> Lines {
        Lines {
            start: Instant::now(),
        }
    }
}

impl Progress for Lines {
    fn event(&self, event: Event) {
        let t = self.start.elapsed().as_secs_f64();
        let line = match event {
            Event::Started { address, action } => format!("{address}: {}...", ing(action)),
            Event::Converging {
                address,
                running,
                desired,
            } => format!("{address}: {running}/{desired} tasks running"),
            Event::Finished {
                address,
                action,
                elapsed,
            } => format!(
                "{address}: {} ({:.1}s)",
                past(action),
                elapsed.as_secs_f64()
            ),
            Event::Failed {
                address,
                action,
                message,
            } => format!("{address}: {action} failed: {message}"),
            Event::Skipped { address, reason } => format!("{address}: skipped ({reason})"),
        };
        let _ = writeln!(std::io::stderr(), "[{t:6.1}s] {line}");
    }
}

fn ing(action: &str) -> &'static str {
    match action {
        "create" => "creating",
        "update" => "updating",
        "delete" => "destroying",
        _ => "working",
    }
}

fn past(action: &str) -> &'static str {
    match action {
        "create" => "created",
        "update" => "updated",
        "delete" => "destroyed",
        _ => "done",
    }
}
