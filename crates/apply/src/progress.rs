//! Progress of an apply as events. The executor reports; the binary decides how to show them
//! (one line per event in CI logs, progress bars on a terminal). Nothing in this crate prints.

use berth_planner::Address;
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Event {
    /// A step began: `action` is `create`, `update`, `delete`, `detach`.
    Started {
        address: Address,
        action: &'static str,
    },
    /// A service is converging: how many of its tasks run.
    Converging {
        address: Address,
        running: u64,
        desired: u64,
    },
    Finished {
        address: Address,
        action: &'static str,
        elapsed: Duration,
    },
    Failed {
        address: Address,
        action: &'static str,
        message: String,
    },
    /// Not started because what it depends on failed or the apply was interrupted.
    Skipped { address: Address, reason: String },
}

pub trait Progress: Send + Sync {
    fn event(&self, event: Event);
}

/// Discards events (tests, JSON output).
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: Event) {}
}
