//! When a service berth created or updated has converged: every task it wants running is
//! running (Swarm keeps a task with a health check in `starting` until it is healthy, so running
//! means healthy there). A rolled-back or paused update, or a task Swarm cannot place, is a
//! failure reported with Swarm's own task errors, never a success.
//!
//! The rules are pure: a [`Watch`] judges what one poll read ([`Watch::check`]); the poller
//! (`poller.rs`) reads every converging service of an apply in one call per poll.

use crate::engine::{JobState, ServiceState, TaskView};
use crate::error::ApplyError;
use berth_planner::Address;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// How long a task may stay unplaceable before berth calls the deployment failed.
pub const UNSCHEDULABLE_GRACE: Duration = Duration::from_secs(5);
/// How long to wait for Swarm to report a rolling update before trusting the tasks alone.
pub const NO_UPDATE_GRACE: Duration = Duration::from_secs(10);

/// One service being watched until it converges.
#[derive(Debug)]
pub struct Watch {
    pub address: Address,
    pub id: String,
    /// The update replaced the task template: wait for Swarm's rolling update to complete.
    pub rolling: bool,
    /// `UpdateStatus.StartedAt` before berth's update, to tell Swarm's report of this update
    /// from the one of an earlier update.
    pub previous_update: Option<String>,
    pub start: Instant,
    /// The service's `UpdatedAt` before berth's change (the manager's clock): tasks created
    /// before it belong to an earlier attempt, and their errors are not this update's.
    pub since: Option<String>,
    /// For a canary, its stable service's name: a canary that is not healthy receives none of
    /// the stable's traffic, and its first failed task fails the apply at once (E0360).
    pub canary_of: Option<String>,
    pending_since: HashMap<String, Instant>,
}

/// What one poll says about a watched service.
#[derive(Debug)]
pub enum Verdict {
    /// Converged, at this version index.
    Converged(u64),
    Waiting {
        running: u64,
        desired: u64,
    },
    Failed(ApplyError),
}

/// A timestamp of the engine (RFC 3339 in UTC, Go's trimmed nanoseconds, e.g.
/// `2026-12-01T17:37:38.12Z`) as a key that orders like the time: seconds, then nanoseconds.
fn engine_time(text: &str) -> Option<(String, u32)> {
    let body = text.strip_suffix('Z')?;
    let (seconds, fraction) = body.split_once('.').unwrap_or((body, ""));
    if seconds.len() != 19 || fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = format!("{fraction:0<9}").parse().ok()?;
    Some((seconds.to_string(), nanos))
}

pub fn task_errors(tasks: &[&TaskView]) -> Vec<String> {
    let mut errors: Vec<String> = Vec::new();
    for t in tasks {
        if !t.err.is_empty()
            && matches!(
                t.state.as_str(),
                "failed" | "rejected" | "pending" | "shutdown" | "complete"
            )
        {
            let at = t
                .slot
                .map(|s| s.to_string())
                .unwrap_or_else(|| t.node_id.clone());
            let line = format!("task {at} {}: {}", t.state, t.err);
            if !errors.contains(&line) {
                errors.push(line);
            }
        }
    }
    errors.truncate(5);
    errors
}

impl Watch {
    pub fn new(
        address: Address,
        id: String,
        rolling: bool,
        previous_update: Option<String>,
    ) -> Watch {
        Watch {
            address,
            id,
            rolling,
            previous_update,
            start: Instant::now(),
            since: None,
            canary_of: None,
            pending_since: HashMap::new(),
        }
    }

    /// Only tasks created at or after `since` (the service's `UpdatedAt` before the change)
    /// give this watch's failure reasons.
    pub fn since(mut self, since: Option<String>) -> Watch {
        self.since = since;
        self
    }

    /// The tasks of this update: those an earlier attempt left (created before `since`) are
    /// left out. A time that cannot be read keeps the task.
    fn this_update<'a>(&self, tasks: &[&'a TaskView]) -> Vec<&'a TaskView> {
        let Some(since) = self.since.as_deref().and_then(engine_time) else {
            return tasks.to_vec();
        };
        tasks
            .iter()
            .copied()
            .filter(|t| engine_time(&t.created).is_none_or(|c| c >= since))
            .collect()
    }

    fn not_converged(&self, message: String, tasks: &[&TaskView]) -> Verdict {
        Verdict::Failed(ApplyError::NotConverged {
            address: Box::new(self.address.clone()),
            message,
            task_errors: task_errors(&self.this_update(tasks)),
        })
    }

    /// Watches a canary of the service `stable`.
    pub fn canary_of(mut self, stable: Option<String>) -> Watch {
        self.canary_of = stable;
        self
    }

    /// Judges the service and its tasks as read at `now`; `timeout` is how long it may take.
    pub fn check(
        &mut self,
        service: &ServiceState,
        tasks: &[&TaskView],
        now: Instant,
        timeout: Duration,
    ) -> Verdict {
        let Some(stable) = self.canary_of.clone() else {
            return self.check_service(service, tasks, now, timeout);
        };
        let this = self.this_update(tasks);
        let failed = this
            .iter()
            // A container stopped for failing its health check may exit 0: `complete`.
            .find(|t| matches!(t.state.as_str(), "failed" | "rejected" | "complete"));
        let verdict = match failed {
            Some(t) => Verdict::Failed(ApplyError::NotConverged {
                address: Box::new(self.address.clone()),
                message: match t.state.as_str() {
                    "complete" => "a task stopped before it was healthy".to_string(),
                    state => format!("a task {state}"),
                },
                task_errors: task_errors(&this),
            }),
            None => self.check_service(service, tasks, now, timeout),
        };
        match verdict {
            Verdict::Failed(
                ApplyError::NotConverged {
                    address,
                    message,
                    task_errors,
                }
                | ApplyError::RolledBack {
                    address,
                    message,
                    task_errors,
                },
            ) => Verdict::Failed(ApplyError::CanaryUnhealthy {
                address,
                stable,
                message,
                task_errors,
            }),
            other => other,
        }
    }

    fn check_service(
        &mut self,
        service: &ServiceState,
        tasks: &[&TaskView],
        now: Instant,
        timeout: Duration,
    ) -> Verdict {
        let elapsed = now.saturating_duration_since(self.start);
        if let Some(job) = &service.job {
            return self.check_job(service, job, tasks, elapsed, timeout);
        }
        let state = service.update_state.as_str();
        if state.starts_with("rollback") {
            return Verdict::Failed(ApplyError::RolledBack {
                address: Box::new(self.address.clone()),
                message: if service.update_message.is_empty() {
                    format!("update state {state}")
                } else {
                    service.update_message.clone()
                },
                task_errors: task_errors(&self.this_update(tasks)),
            });
        }
        if state == "paused" {
            return self.not_converged(
                format!("the update was paused: {}", service.update_message),
                tasks,
            );
        }
        // An update counts once Swarm reports this update (not an earlier one) completed. Should
        // Swarm start no rolling update at all, converged tasks count after a grace period.
        let this_update =
            service.update_started.is_some() && service.update_started != self.previous_update;
        let update_done = !self.rolling
            || (this_update && state == "completed")
            || (!this_update && elapsed > NO_UPDATE_GRACE);

        let wanted: Vec<&TaskView> = tasks
            .iter()
            .copied()
            .filter(|t| t.desired_state == "running")
            .collect();
        let running = wanted.iter().filter(|t| t.state == "running").count() as u64;
        let desired = service.replicas.unwrap_or(wanted.len() as u64);
        if update_done && running == desired && wanted.len() as u64 == desired {
            return Verdict::Converged(service.version);
        }

        // A task Swarm cannot place will stay pending forever.
        for t in &wanted {
            if t.state == "pending" && !t.err.is_empty() {
                let since = *self.pending_since.entry(t.id.clone()).or_insert(now);
                if now.saturating_duration_since(since) > UNSCHEDULABLE_GRACE {
                    return self.not_converged(
                        format!("Swarm cannot schedule its tasks: {}", t.err),
                        tasks,
                    );
                }
            } else {
                self.pending_since.remove(&t.id);
            }
        }
        if elapsed > timeout {
            return self.not_converged(
                format!(
                    "{running} of {desired} tasks running after {}s{}",
                    timeout.as_secs(),
                    if update_done {
                        ""
                    } else {
                        "; the rolling update has not completed"
                    }
                ),
                tasks,
            );
        }
        Verdict::Waiting { running, desired }
    }

    /// A job converges when a task of its current run completed (exit 0), and fails when one
    /// failed or was refused, or when the run takes longer than the job's own timeout (the
    /// apply's `--timeout` when the label is missing). The failure's log lines are read by the
    /// poller, which can reach the engine.
    fn check_job(
        &self,
        service: &ServiceState,
        job: &JobState,
        tasks: &[&TaskView],
        elapsed: Duration,
        timeout: Duration,
    ) -> Verdict {
        let this_run: Vec<&TaskView> = tasks
            .iter()
            .copied()
            // The engine numbers neither a job's first run nor its tasks: both are run 0.
            .filter(|t| t.job_iteration.unwrap_or(0) == job.iteration.unwrap_or(0))
            .collect();
        if this_run.iter().any(|t| t.state == "complete") {
            return Verdict::Converged(service.version);
        }
        if let Some(t) = this_run
            .iter()
            .find(|t| matches!(t.state.as_str(), "failed" | "rejected"))
        {
            let message = match t.exit_code {
                Some(code) if code != 0 => format!("its task exited with code {code}"),
                _ if !t.err.is_empty() => format!("its task {}: {}", t.state, t.err),
                _ => format!("its task {}", t.state),
            };
            return Verdict::Failed(ApplyError::JobFailed {
                address: Box::new(self.address.clone()),
                message,
                timed_out: false,
                task: t.id.clone(),
                logs: Vec::new(),
            });
        }
        let limit = job.timeout_secs.map_or(timeout, Duration::from_secs);
        if elapsed > limit {
            return Verdict::Failed(ApplyError::JobFailed {
                address: Box::new(self.address.clone()),
                message: format!("it did not complete within {}s", limit.as_secs()),
                timed_out: true,
                task: this_run.first().map(|t| t.id.clone()).unwrap_or_default(),
                logs: Vec::new(),
            });
        }
        let running = this_run.iter().filter(|t| t.state == "running").count() as u64;
        Verdict::Waiting {
            running,
            desired: 1,
        }
    }

    /// The failure of a wait that was interrupted (Ctrl-C).
    pub fn interrupted(&self) -> ApplyError {
        ApplyError::NotConverged {
            address: Box::new(self.address.clone()),
            message: "interrupted while waiting for convergence".into(),
            task_errors: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, desired: &str, state: &str, err: &str) -> TaskView {
        TaskView {
            id: id.into(),
            service_id: "s1".into(),
            slot: Some(1),
            desired_state: desired.into(),
            state: state.into(),
            err: err.into(),
            ..TaskView::default()
        }
    }

    fn service(replicas: u64, update: &str, started: Option<&str>) -> ServiceState {
        ServiceState {
            id: "s1".into(),
            version: 7,
            update_state: update.into(),
            update_message: String::new(),
            update_started: started.map(str::to_string),
            replicas: Some(replicas),
            job: None,
        }
    }

    fn watch(rolling: bool) -> Watch {
        Watch::new(
            "shop/production/service.web".parse().unwrap(),
            "s1".into(),
            rolling,
            Some("earlier".into()),
        )
    }

    const T: Duration = Duration::from_secs(180);

    #[tokio::test(start_paused = true)]
    async fn running_tasks_converge_and_a_rolling_update_waits_for_swarm() {
        let running = task("t1", "running", "running", "");
        let now = Instant::now();
        assert!(matches!(
            watch(false).check(&service(1, "", None), &[&running], now, T),
            Verdict::Converged(7)
        ));
        // The tasks run, but Swarm still reports the earlier update: not yet.
        let mut w = watch(true);
        let earlier = service(1, "completed", Some("earlier"));
        assert!(matches!(
            w.check(&earlier, &[&running], now, T),
            Verdict::Waiting {
                running: 1,
                desired: 1
            }
        ));
        let this = service(1, "completed", Some("now"));
        assert!(matches!(
            w.check(&this, &[&running], now, T),
            Verdict::Converged(7)
        ));
        // Swarm starts no update at all: the tasks count after the grace period.
        let later = now + NO_UPDATE_GRACE + Duration::from_secs(1);
        assert!(matches!(
            w.check(&earlier, &[&running], later, T),
            Verdict::Converged(7)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_tasks_of_this_update_give_its_failure_reasons() {
        let mut earlier = task("t0", "shutdown", "rejected", "No such image: berth/demo:3");
        earlier.created = "2026-12-01T17:00:00.5Z".into();
        let mut this = task("t1", "shutdown", "failed", "task: non-zero exit (1)");
        // Fewer digits of the fraction, and still later: times are compared, not text.
        this.created = "2026-12-01T17:00:01Z".into();
        let mut w = watch(true).since(Some("2026-12-01T17:00:00.75Z".into()));
        match w.check(
            &service(1, "rollback_completed", Some("now")),
            &[&earlier, &this],
            Instant::now(),
            T,
        ) {
            Verdict::Failed(ApplyError::RolledBack { task_errors, .. }) => {
                assert_eq!(task_errors, vec!["task 1 failed: task: non-zero exit (1)"])
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            engine_time("2026-12-01T17:00:00Z"),
            Some(("2026-12-01T17:00:00".into(), 0))
        );
        assert!(engine_time("2026-12-01T17:00:00.1Z") > engine_time("2026-12-01T17:00:00Z"));
        assert_eq!(engine_time("update-1"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn rollbacks_pauses_unschedulable_tasks_and_timeouts_fail() {
        let failed = task("t1", "shutdown", "failed", "task: non-zero exit (1)");
        let now = Instant::now();
        match watch(true).check(
            &service(1, "rollback_completed", Some("now")),
            &[&failed],
            now,
            T,
        ) {
            Verdict::Failed(ApplyError::RolledBack { task_errors, .. }) => {
                assert_eq!(task_errors, vec!["task 1 failed: task: non-zero exit (1)"])
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            watch(true).check(&service(1, "paused", Some("now")), &[], now, T),
            Verdict::Failed(ApplyError::NotConverged { .. })
        ));
        let pending = task("t2", "running", "pending", "no suitable node");
        let mut w = watch(false);
        assert!(matches!(
            w.check(&service(1, "", None), &[&pending], now, T),
            Verdict::Waiting {
                running: 0,
                desired: 1
            }
        ));
        let later = now + UNSCHEDULABLE_GRACE + Duration::from_secs(1);
        match w.check(&service(1, "", None), &[&pending], later, T) {
            Verdict::Failed(ApplyError::NotConverged { message, .. }) => {
                assert!(message.contains("no suitable node"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        let starting = task("t3", "running", "starting", "");
        match watch(false).check(&service(1, "", None), &[&starting], now + T + T, T) {
            Verdict::Failed(ApplyError::NotConverged { message, .. }) => {
                assert_eq!(message, "0 of 1 tasks running after 180s")
            }
            other => panic!("{other:?}"),
        }
    }

    fn job_task(id: &str, iteration: u64, state: &str, exit_code: Option<i64>) -> TaskView {
        TaskView {
            id: id.into(),
            service_id: "s1".into(),
            desired_state: "complete".into(),
            state: state.into(),
            job_iteration: Some(iteration),
            exit_code,
            ..TaskView::default()
        }
    }

    fn job(iteration: u64, timeout_secs: u64) -> ServiceState {
        ServiceState {
            job: Some(JobState {
                iteration: Some(iteration),
                timeout_secs: Some(timeout_secs),
            }),
            replicas: None,
            ..service(1, "", None)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_converges_on_its_runs_completion_and_fails_on_its_exit_code_or_timeout() {
        let mut w = watch(false);
        let now = Instant::now();
        let long = Duration::from_secs(600);
        // The completed task of an earlier run does not count for this one.
        let old = job_task("t1", 3, "complete", Some(0));
        let starting = job_task("t2", 4, "starting", None);
        match w.check(&job(4, 60), &[&old, &starting], now, long) {
            Verdict::Waiting { desired: 1, .. } => {}
            other => panic!("{other:?}"),
        }
        let done = job_task("t2", 4, "complete", Some(0));
        match w.check(&job(4, 60), &[&old, &done], now, long) {
            Verdict::Converged(7) => {}
            other => panic!("{other:?}"),
        }
        let failed = job_task("t2", 4, "failed", Some(1));
        match w.check(&job(4, 60), &[&old, &failed], now, long) {
            Verdict::Failed(e @ ApplyError::JobFailed { .. }) => {
                assert_eq!(e.code(), berth_lang::Code::JobFailed);
                assert!(e.to_string().contains("exited with code 1"), "{e}");
                let ApplyError::JobFailed { task, .. } = e else {
                    unreachable!()
                };
                assert_eq!(task, "t2");
            }
            other => panic!("{other:?}"),
        }
        // The job's own timeout applies, not the apply's.
        let later = now + Duration::from_secs(61);
        match w.check(&job(4, 60), &[&starting], later, long) {
            Verdict::Failed(e) => {
                assert_eq!(e.code(), berth_lang::Code::JobTimedOut);
                assert!(e.to_string().contains("within 60s"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }
}
