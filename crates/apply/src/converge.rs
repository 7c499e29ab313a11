//! Waiting for a service to converge after berth created or updated it: every task it wants
//! running is running (Swarm keeps a task with a health check in `starting` until it is
//! healthy, so running means healthy there). A rolled-back or paused update, or a task Swarm
//! cannot place, is a failure reported with Swarm's own task errors, never a success.

use crate::error::ApplyError;
use crate::progress::{Event, Progress};
use berth_planner::Address;
use bollard::query_parameters::ListTasksOptionsBuilder;
use bollard::Docker;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a task may stay unplaceable before berth calls the deployment failed.
const UNSCHEDULABLE_GRACE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(250);
/// How long to wait for Swarm to report a rolling update before trusting the tasks alone.
const NO_UPDATE_GRACE: Duration = Duration::from_secs(10);

/// What a wait is looking for.
pub struct Wait<'a> {
    pub docker: &'a Docker,
    pub address: &'a Address,
    pub id: &'a str,
    /// The update replaced the task template: wait for Swarm's rolling update to complete.
    pub rolling: bool,
    /// `UpdateStatus.StartedAt` before berth's update, to tell Swarm's report of this update
    /// from the one of an earlier update.
    pub previous_update: Option<String>,
    pub timeout: Duration,
    pub progress: &'a dyn Progress,
    pub cancel: &'a AtomicBool,
}

fn task_errors(tasks: &[bollard::models::Task]) -> Vec<String> {
    let mut errors: Vec<String> = Vec::new();
    for t in tasks {
        let Some(status) = &t.status else { continue };
        let state = status.state.map(|s| s.to_string()).unwrap_or_default();
        let err = status.err.clone().unwrap_or_default();
        if !err.is_empty()
            && matches!(
                state.as_str(),
                "failed" | "rejected" | "pending" | "shutdown" | "complete"
            )
        {
            let line = format!(
                "task {} {state}: {err}",
                t.slot
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| t.node_id.clone().unwrap_or_default())
            );
            if !errors.contains(&line) {
                errors.push(line);
            }
        }
    }
    errors.truncate(5);
    errors
}

/// Waits until the service converges; returns its version index.
pub async fn service(w: Wait<'_>) -> Result<u64, ApplyError> {
    let start = Instant::now();
    let mut pending_since: HashMap<String, Instant> = HashMap::new();
    let mut last_report = (u64::MAX, u64::MAX);
    let filters: HashMap<&str, Vec<&str>> = HashMap::from([("service", vec![w.id])]);
    loop {
        let service = w
            .docker
            .inspect_service(
                w.id,
                None::<bollard::query_parameters::InspectServiceOptions>,
            )
            .await
            .map_err(|e| crate::ops::docker_error("inspect", w.address, e))?;
        let version = service.version.as_ref().and_then(|v| v.index).unwrap_or(0);
        let tasks = w
            .docker
            .list_tasks(Some(
                ListTasksOptionsBuilder::default().filters(&filters).build(),
            ))
            .await
            .map_err(|e| crate::ops::docker_error("list tasks of", w.address, e))?;

        let status = service.update_status.as_ref();
        let state = status
            .and_then(|s| s.state)
            .map(|s| s.to_string())
            .unwrap_or_default();
        let message = status.and_then(|s| s.message.clone()).unwrap_or_default();
        if state.starts_with("rollback") {
            return Err(ApplyError::RolledBack {
                address: Box::new(w.address.clone()),
                message: if message.is_empty() {
                    format!("update state {state}")
                } else {
                    message
                },
                task_errors: task_errors(&tasks),
            });
        }
        if state == "paused" {
            return Err(ApplyError::NotConverged {
                address: Box::new(w.address.clone()),
                message: format!("the update was paused: {message}"),
                task_errors: task_errors(&tasks),
            });
        }
        // An update counts once Swarm reports this update (not an earlier one) completed. Should
        // Swarm start no rolling update at all, converged tasks count after a grace period.
        let started_at = status.and_then(|s| s.started_at.clone());
        let this_update = started_at.is_some() && started_at != w.previous_update;
        let update_done = !w.rolling
            || (this_update && state == "completed")
            || (!this_update && start.elapsed() > NO_UPDATE_GRACE);

        let wanted: Vec<&bollard::models::Task> = tasks
            .iter()
            .filter(|t| t.desired_state.map(|s| s.to_string()).as_deref() == Some("running"))
            .collect();
        let running = wanted
            .iter()
            .filter(|t| {
                t.status
                    .as_ref()
                    .and_then(|s| s.state)
                    .map(|s| s.to_string())
                    .as_deref()
                    == Some("running")
            })
            .count() as u64;
        let desired = match service
            .spec
            .as_ref()
            .and_then(|s| s.mode.as_ref())
            .and_then(|m| m.replicated.as_ref())
        {
            Some(r) => r.replicas.unwrap_or(1).max(0) as u64,
            None => wanted.len() as u64,
        };
        if (running, desired) != last_report {
            w.progress.event(Event::Converging {
                address: w.address.clone(),
                running,
                desired,
            });
            last_report = (running, desired);
        }
        if update_done && running == desired && wanted.len() as u64 == desired {
            return Ok(version);
        }

        // A task Swarm cannot place will stay pending forever.
        for t in &wanted {
            let Some(s) = &t.status else { continue };
            let id = t.id.clone().unwrap_or_default();
            let is_pending = s.state.map(|s| s.to_string()).as_deref() == Some("pending")
                && s.err.as_ref().is_some_and(|e| !e.is_empty());
            if is_pending {
                let since = *pending_since.entry(id).or_insert_with(Instant::now);
                if since.elapsed() > UNSCHEDULABLE_GRACE {
                    return Err(ApplyError::NotConverged {
                        address: Box::new(w.address.clone()),
                        message: format!(
                            "Swarm cannot schedule its tasks: {}",
                            s.err.clone().unwrap_or_default()
                        ),
                        task_errors: task_errors(&tasks),
                    });
                }
            } else {
                pending_since.remove(&id);
            }
        }
        if start.elapsed() > w.timeout {
            return Err(ApplyError::NotConverged {
                address: Box::new(w.address.clone()),
                message: format!(
                    "{running} of {desired} tasks running after {}s{}",
                    w.timeout.as_secs(),
                    if update_done {
                        ""
                    } else {
                        "; the rolling update has not completed"
                    }
                ),
                task_errors: task_errors(&tasks),
            });
        }
        if w.cancel.load(Ordering::Relaxed) {
            return Err(ApplyError::NotConverged {
                address: Box::new(w.address.clone()),
                message: "interrupted while waiting for convergence".into(),
                task_errors: Vec::new(),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
