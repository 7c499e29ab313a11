//! Jobs after their run: their history in the state, and stopping a run over its timeout.
//!
//! After an apply's steps ran, the jobs the plan created or updated (and those whose last
//! recorded run had not ended) have their runs read from the engine's task history (the latest
//! task of each job iteration), and the runs not yet recorded are appended to the state, so
//! that the state says when each job ran and with which exit code, also once Swarm has pruned
//! the tasks. A read that fails is a warning of the apply, not a silence and not a failure.
//!
//! A run over its timeout (E0351) would keep running: Swarm has no call that stops one task of
//! a job. So berth removes the job's service once its logs were read, stops and removes the
//! task's containers on the engine it talks to (Swarm stops a removed job's task late, and
//! leaves its container behind), waits (bounded) for them to be gone, records the run as timed out and forgets the service in the
//! state: the state says what the cluster holds, and the next apply creates the job again,
//! which runs it before its dependants change.
//!
//! Running and waiting for a job is the executor's and `converge.rs`'s.

use crate::engine::{Engine, TaskView};
use crate::error::ApplyError;
use crate::execute::Shared;
use crate::state::{JobRecord, State};
use berth_planner::{Address, Change, DeploymentId, Kind, Plan, Spec};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many runs of one job a state keeps.
pub const KEPT_RUNS: usize = 20;

/// How long after a stopped run's containers are gone berth looks for a late one.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

/// The state of a run that berth stopped because it went over its timeout.
pub const TIMED_OUT: &str = "timed out";

/// Whether a run in this state has ended: its record will not change any more.
pub fn ended(state: &str) -> bool {
    matches!(
        state,
        "complete" | "failed" | "rejected" | "shutdown" | "remove" | "orphaned" | TIMED_OUT
    )
}

fn is_job(spec: &Spec) -> bool {
    matches!(spec, Spec::Service(s) if s.mode.replicated_job.is_some())
}

/// Records in each state the runs of the jobs this apply ran (those the plan created or
/// updated) and of those whose last recorded run had not ended, in one read of the engine's
/// tasks; forgets the history of jobs the plan no longer wants. Returns what could not be
/// recorded, as warnings for the apply's output.
pub async fn record_runs<E: Engine>(
    engine: &E,
    plan: &Plan,
    states: &mut BTreeMap<DeploymentId, State>,
) -> Vec<String> {
    forget_undesired(plan, states);
    let ran: BTreeSet<&Address> = plan
        .actionable()
        .filter(|c| c.after.as_ref().is_some_and(is_job))
        .map(|c| &c.address)
        .collect();
    // (deployment, address, service ID) of each job to read.
    let mut jobs: Vec<(DeploymentId, String, String)> = Vec::new();
    for (id, state) in states.iter() {
        for r in state.resources.iter().filter(|r| is_job(&r.spec)) {
            let address = r.address.to_string();
            let going = state.jobs.get(&address).is_some_and(|runs| {
                runs.iter()
                    .rev()
                    .find(|run| run.service == r.id)
                    .is_some_and(|run| !ended(&run.state))
            });
            if ran.contains(&r.address) || going {
                jobs.push((id.clone(), address, r.id.clone()));
            }
        }
    }
    if jobs.is_empty() {
        return Vec::new();
    }
    let ids: Vec<String> = jobs.iter().map(|(_, _, id)| id.clone()).collect();
    let tasks = match engine.tasks(&ids).await {
        Ok(tasks) => tasks,
        Err(e) => {
            let names: Vec<&str> = jobs.iter().map(|(_, a, _)| a.as_str()).collect();
            return vec![format!(
                "the runs of {} are not recorded in the state: reading their tasks failed: {e}",
                names.join(", ")
            )];
        }
    };
    for (deployment, address, id) in jobs {
        let Some(state) = states.get_mut(&deployment) else {
            continue;
        };
        let mine: Vec<&TaskView> = tasks.iter().filter(|t| t.service_id == id).collect();
        merge(state.jobs.entry(address).or_default(), &runs_of(&mine));
    }
    for state in states.values_mut() {
        state.jobs.retain(|_, runs| !runs.is_empty());
    }
    Vec::new()
}

/// Forgets, in the states the plan covers, the history of jobs the plan does not want (deleted,
/// or no longer in the configuration).
pub fn forget_undesired(plan: &Plan, states: &mut BTreeMap<DeploymentId, State>) {
    let wanted: BTreeSet<String> = plan
        .changes
        .iter()
        .filter(|c| c.after.is_some())
        .map(|c| c.address.to_string())
        .collect();
    for (id, state) in states.iter_mut() {
        if plan.scope.contains(id) {
            state.jobs.retain(|address, _| wanted.contains(address));
        }
    }
}

/// The latest task of each job iteration, as records, oldest first.
pub fn runs_of(tasks: &[&TaskView]) -> Vec<JobRecord> {
    let mut latest: BTreeMap<u64, &TaskView> = BTreeMap::new();
    for t in tasks {
        // The engine gives the tasks of a job's first run no iteration: that run is number 0.
        let iteration = t.job_iteration.unwrap_or(0);
        let newer = latest
            .get(&iteration)
            .is_none_or(|seen| t.timestamp > seen.timestamp);
        if newer {
            latest.insert(iteration, t);
        }
    }
    latest
        .into_iter()
        .map(|(iteration, t)| JobRecord {
            iteration,
            service: t.service_id.clone(),
            state: t.state.clone(),
            exit_code: t.exit_code,
            at: t.timestamp.clone(),
        })
        .collect()
}

/// Adds the runs not recorded yet (a run is one iteration of one service: a job created again
/// numbers its runs from 0 again), replaces a recorded run the engine now reports further on (a
/// run that was still going), and keeps the last [`KEPT_RUNS`], in the order they were first
/// seen.
pub fn merge(recorded: &mut Vec<JobRecord>, seen: &[JobRecord]) {
    for run in seen {
        match recorded
            .iter_mut()
            .find(|r| r.iteration == run.iteration && r.service == run.service)
        {
            // A run berth stopped stays recorded as stopped.
            Some(r) if r.state == TIMED_OUT => {}
            Some(r) => *r = run.clone(),
            None => recorded.push(run.clone()),
        }
    }
    let excess = recorded.len().saturating_sub(KEPT_RUNS);
    recorded.drain(..excess);
}

/// Now, as RFC 3339 in UTC.
fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::lock::rfc3339(secs)
}

/// Stops a run over its timeout: removes the job's service `id` (its logs are in `error`
/// already), waits for its tasks and their containers to be gone (bounded by the apply's
/// timeout), records the run as [`TIMED_OUT`] and forgets the service in the state. The error
/// comes back saying what berth did; any other error comes back as it was.
pub(crate) async fn stop_timed_out<E: Engine>(
    shared: &Shared<E>,
    change: &Change,
    id: &str,
    error: ApplyError,
) -> ApplyError {
    let ApplyError::JobFailed {
        address,
        mut message,
        timed_out: true,
        task,
        logs,
    } = error
    else {
        return error;
    };
    let engine = &shared.engine;
    let ids = [id.to_string()];
    // The run's number: its task's, or the service's current iteration when no task started.
    let tasks = engine.tasks(&ids).await.unwrap_or_default();
    let iteration = match tasks.iter().find(|t| t.id == task) {
        Some(t) => t.job_iteration,
        None => engine
            .services(&ids)
            .await
            .ok()
            .and_then(|s| s.into_iter().next())
            .and_then(|s| s.job)
            .and_then(|j| j.iteration),
    }
    .unwrap_or(0);
    let removed = match engine.remove(Kind::Service, id).await {
        Ok(()) => Ok(()),
        Err(e) if crate::ops::gone(&e) => Ok(()),
        Err(e) => Err(e),
    };
    let run = JobRecord {
        iteration,
        service: id.to_string(),
        state: TIMED_OUT.into(),
        exit_code: None,
        at: now(),
    };
    let key = change.address.to_string();
    let recorded = match removed {
        Ok(()) => {
            // Swarm would stop the task in its own time (a task waiting for its image's health
            // check goes on until that check decides): the containers this engine holds are
            // stopped now.
            engine.clear_service_containers(id, true).await;
            let deadline = tokio::time::Instant::now() + shared.options.timeout;
            let mut gone = crate::step::wait_gone(shared, id, deadline).await;
            // A node's agent may still have been preparing the task: it creates the container
            // late, and leaves it behind. One more look a moment later.
            tokio::time::sleep(SETTLE).await;
            if engine.service_containers(id).await.unwrap_or(false) {
                engine.clear_service_containers(id, true).await;
                gone = crate::step::wait_gone(shared, id, deadline).await;
            }
            if gone {
                message.push_str(
                    "; berth removed the job's service, which stopped its task, and the next \
                     apply runs the job again",
                );
            } else {
                message.push_str(&format!(
                    "; berth removed the job's service, but a container of its task was still \
                     there after {}s",
                    shared.options.timeout.as_secs()
                ));
            }
            shared.checkpoint(&change.address.deployment, |s| {
                s.forget(id);
                merge(s.jobs.entry(key).or_default(), &[run]);
            })
        }
        Err(e) => {
            message.push_str(&format!(
                "; its task may still be running: removing the job's service failed: {e}"
            ));
            shared.checkpoint(&change.address.deployment, |s| {
                merge(s.jobs.entry(key).or_default(), &[run]);
            })
        }
    };
    if let Err(e) = recorded {
        message.push_str(&format!("; the state does not record it: {e}"));
    }
    ApplyError::JobFailed {
        address,
        message,
        timed_out: true,
        task,
        logs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(service: &str, iteration: u64, state: &str, code: i64, at: &str) -> TaskView {
        TaskView {
            service_id: service.into(),
            job_iteration: Some(iteration),
            state: state.into(),
            exit_code: Some(code),
            timestamp: at.into(),
            ..TaskView::default()
        }
    }

    #[test]
    fn each_run_is_recorded_once_with_its_latest_task() {
        let a = task("s1", 10, "failed", 1, "2026-12-01T18:00:01Z");
        let b = task("s1", 12, "running", 0, "2026-12-01T18:00:05Z");
        let mut recorded = Vec::new();
        merge(&mut recorded, &runs_of(&[&b, &a]));
        assert_eq!(recorded.len(), 2);
        assert_eq!(
            (recorded[0].iteration, recorded[0].exit_code),
            (10, Some(1))
        );
        // The run that was going has completed since: the same run, updated.
        let c = task("s1", 12, "complete", 0, "2026-12-01T18:00:09Z");
        merge(&mut recorded, &runs_of(&[&b, &c]));
        assert_eq!(recorded.len(), 2);
        assert_eq!(recorded[1].state, "complete");
        for i in 0..30 {
            merge(
                &mut recorded,
                &[JobRecord {
                    iteration: 100 + i,
                    service: "s1".into(),
                    state: "complete".into(),
                    exit_code: Some(0),
                    at: String::new(),
                }],
            );
        }
        assert_eq!(recorded.len(), KEPT_RUNS);
        assert_eq!(recorded[0].iteration, 110);
    }

    #[test]
    fn a_job_created_again_adds_its_runs_after_those_of_the_service_berth_removed() {
        let mut recorded = vec![JobRecord {
            iteration: 0,
            service: "old".into(),
            state: TIMED_OUT.into(),
            exit_code: None,
            at: "2026-12-01T18:00:00Z".into(),
        }];
        // The removed service's task, still listed a moment, does not undo the record.
        let late = task("old", 0, "shutdown", 137, "2026-12-01T18:00:03Z");
        merge(&mut recorded, &runs_of(&[&late]));
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].state, TIMED_OUT);
        // The new service's first run is run 0 too, of another service: a run of its own.
        let first = task("new", 0, "complete", 0, "2026-12-01T18:01:00Z");
        merge(&mut recorded, &runs_of(&[&first]));
        let states: Vec<(&str, &str)> = recorded
            .iter()
            .map(|r| (r.service.as_str(), r.state.as_str()))
            .collect();
        assert_eq!(states, [("old", TIMED_OUT), ("new", "complete")]);
        assert!(ended(TIMED_OUT) && ended("complete") && !ended("running"));
    }
}
