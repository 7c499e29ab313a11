//! Job history in the state: after an apply's steps ran, each job of the states in scope has its
//! runs read from the engine's task history (the latest task of each job iteration) and the runs
//! not yet recorded appended to the state, so that the state says when each job ran and with
//! which exit code, also once Swarm has pruned the tasks. Running and waiting for a job is the
//! executor's and `converge.rs`'s; this module only records.

use crate::engine::{Engine, TaskView};
use crate::state::{JobRecord, State};
use berth_planner::{DeploymentId, Spec};
use std::collections::BTreeMap;

/// How many runs of one job a state keeps.
pub const KEPT_RUNS: usize = 20;

/// Appends to each state the runs of its jobs that the engine reports and the state lacks. A
/// failed read records nothing: the history is a record, never a reason to fail an apply.
pub async fn record_runs<E: Engine>(engine: &E, states: &mut BTreeMap<DeploymentId, State>) {
    for state in states.values_mut() {
        let jobs: Vec<(String, String)> = state
            .resources
            .iter()
            .filter(|r| matches!(&r.spec, Spec::Service(s) if s.mode.replicated_job.is_some()))
            .map(|r| (r.address.to_string(), r.id.clone()))
            .collect();
        if jobs.is_empty() {
            continue;
        }
        let ids: Vec<String> = jobs.iter().map(|(_, id)| id.clone()).collect();
        let Ok(tasks) = engine.tasks(&ids).await else {
            continue;
        };
        for (address, id) in jobs {
            let mine: Vec<&TaskView> = tasks.iter().filter(|t| t.service_id == id).collect();
            let runs = state.jobs.entry(address).or_default();
            merge(runs, &runs_of(&mine));
        }
        state.jobs.retain(|_, runs| !runs.is_empty());
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
            state: t.state.clone(),
            exit_code: t.exit_code,
            at: t.timestamp.clone(),
        })
        .collect()
}

/// Adds the runs not recorded yet, replaces a recorded run the engine now reports further on (a
/// run that was still going), and keeps the last [`KEPT_RUNS`].
pub fn merge(recorded: &mut Vec<JobRecord>, seen: &[JobRecord]) {
    for run in seen {
        match recorded.iter_mut().find(|r| r.iteration == run.iteration) {
            Some(r) => *r = run.clone(),
            None => recorded.push(run.clone()),
        }
    }
    recorded.sort_by_key(|r| r.iteration);
    let excess = recorded.len().saturating_sub(KEPT_RUNS);
    recorded.drain(..excess);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(iteration: u64, state: &str, code: i64, at: &str) -> TaskView {
        TaskView {
            job_iteration: Some(iteration),
            state: state.into(),
            exit_code: Some(code),
            timestamp: at.into(),
            ..TaskView::default()
        }
    }

    #[test]
    fn each_run_is_recorded_once_with_its_latest_task() {
        let a = task(10, "failed", 1, "2026-12-01T18:00:01Z");
        let b = task(12, "running", 0, "2026-12-01T18:00:05Z");
        let mut recorded = Vec::new();
        merge(&mut recorded, &runs_of(&[&b, &a]));
        assert_eq!(recorded.len(), 2);
        assert_eq!(
            (recorded[0].iteration, recorded[0].exit_code),
            (10, Some(1))
        );
        // The run that was going has completed since: the same run, updated.
        let c = task(12, "complete", 0, "2026-12-01T18:00:09Z");
        merge(&mut recorded, &runs_of(&[&b, &c]));
        assert_eq!(recorded.len(), 2);
        assert_eq!(recorded[1].state, "complete");
        for i in 0..30 {
            merge(
                &mut recorded,
                &[JobRecord {
                    iteration: 100 + i,
                    state: "complete".into(),
                    exit_code: Some(0),
                    at: String::new(),
                }],
            );
        }
        assert_eq!(recorded.len(), KEPT_RUNS);
        assert_eq!(recorded[0].iteration, 110);
    }
}
