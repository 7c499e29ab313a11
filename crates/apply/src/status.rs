//! The status of project environments as the cluster reports it: each service's running and
//! desired tasks, whether its tasks are healthy, and the recent errors of its tasks when it is
//! not; for a job, its last run (completed, failed, running, or timed out as the state records
//! it); for `berth status` (human, JSON, Prometheus).

use crate::connect::Cluster;
use crate::error::ApplyError;
use berth_planner::DeploymentId;
use bollard::query_parameters::ListServicesOptionsBuilder;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    pub name: String,
    pub address: String,
    pub image: String,
    pub running: u64,
    pub desired: u64,
    /// `healthy` when every wanted task runs, `converging` while some start, `failing` when
    /// tasks fail, `stopped` when none is wanted.
    pub health: String,
    /// Swarm's update state (`completed`, `rollback_completed`, ...) when an update happened.
    pub update_state: Option<String>,
    /// The most recent errors of the service's tasks (newest first, at most [`RECENT_ERRORS`]),
    /// when it is not healthy: `task 2 failed: task: non-zero exit (1)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub task_errors: Vec<String>,
    /// For a job: its latest run, as the engine's task history tells it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<JobRun>,
    /// For a canary: the stable service it shares the routes of, and its declared share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryOf>,
}

/// A canary's place in its release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CanaryOf {
    pub of: String,
    pub share: u8,
}

/// A task's state as the engine names it (`running`, `failed`, ...).
fn task_state(t: &bollard::models::Task) -> Option<String> {
    t.status
        .as_ref()
        .and_then(|s| s.state)
        .map(|s| s.to_string())
}

/// How many task errors a service's status shows.
pub const RECENT_ERRORS: usize = 3;

/// The recent errors of a service's tasks, newest first, one per slot and message.
fn recent_errors(tasks: &[&bollard::models::Task]) -> Vec<String> {
    let mut failed: Vec<&&bollard::models::Task> = tasks
        .iter()
        .filter(|t| {
            t.status
                .as_ref()
                .and_then(|s| s.err.as_ref())
                .is_some_and(|e| !e.is_empty())
        })
        .collect();
    // RFC 3339 timestamps of one engine sort as text.
    failed.sort_by(|a, b| {
        let at = |t: &bollard::models::Task| t.status.as_ref().and_then(|s| s.timestamp.clone());
        at(b).cmp(&at(a))
    });
    let mut out: Vec<String> = Vec::new();
    for t in failed {
        let status = t.status.as_ref();
        let state = status
            .and_then(|s| s.state)
            .map(|s| s.to_string())
            .unwrap_or_default();
        let err = status.and_then(|s| s.err.clone()).unwrap_or_default();
        let at = t
            .slot
            .map(|s| s.to_string())
            .or_else(|| t.node_id.clone())
            .unwrap_or_default();
        let line = format!("task {at} {state}: {err}");
        if !out.contains(&line) {
            out.push(line);
        }
        if out.len() == RECENT_ERRORS {
            break;
        }
    }
    out
}

/// A job's latest run: its task's state (`complete`, `failed`, `running`, ..., or `timed out`
/// when berth stopped it), exit code and the timestamp of that state.
#[derive(Debug, Clone, Serialize)]
pub struct JobRun {
    pub state: String,
    pub exit_code: Option<i64>,
    pub at: String,
}

/// The latest run of a job among its tasks, by job iteration then timestamp (RFC 3339 of one
/// engine, which sorts as text).
fn latest_run(tasks: &[&bollard::models::Task]) -> Option<JobRun> {
    let iteration =
        |t: &bollard::models::Task| t.job_iteration.as_ref().and_then(|v| v.index).unwrap_or(0);
    let latest = tasks.iter().max_by(|a, b| {
        let at = |t: &bollard::models::Task| t.status.as_ref().and_then(|s| s.timestamp.clone());
        (iteration(a), at(a)).cmp(&(iteration(b), at(b)))
    })?;
    let status = latest.status.as_ref();
    Some(JobRun {
        state: status
            .and_then(|s| s.state)
            .map(|s| s.to_string())
            .unwrap_or_default(),
        exit_code: status
            .and_then(|s| s.container_status.as_ref())
            .and_then(|c| c.exit_code),
        at: status.and_then(|s| s.timestamp.clone()).unwrap_or_default(),
    })
}

/// Adds to a project environment's services the jobs its state records as stopped after their
/// timeout: berth removed their services, so the cluster no longer lists them, and the state's
/// history is what tells.
pub fn add_stopped_jobs(list: &mut Vec<ServiceStatus>, state: &crate::state::State) {
    for (address, runs) in &state.jobs {
        let Some(last) = runs.last().filter(|r| r.state == crate::job::TIMED_OUT) else {
            continue;
        };
        let Ok(parsed) = address.parse::<berth_planner::Address>() else {
            continue;
        };
        if list.iter().any(|s| s.address == *address) {
            continue;
        }
        list.push(ServiceStatus {
            name: parsed.name.clone(),
            address: address.clone(),
            image: String::new(),
            running: 0,
            desired: 0,
            health: crate::job::TIMED_OUT.into(),
            update_state: None,
            task_errors: Vec::new(),
            canary: None,
            job: Some(JobRun {
                state: last.state.clone(),
                exit_code: last.exit_code,
                at: last.at.clone(),
            }),
        });
    }
    list.sort_by(|a, b| a.name.cmp(&b.name));
}

/// Services of the given project environments, by deployment.
pub async fn services(
    cluster: &Cluster,
    ids: &[DeploymentId],
) -> Result<BTreeMap<DeploymentId, Vec<ServiceStatus>>, ApplyError> {
    let err = |e: bollard::errors::Error| ApplyError::engine("list", "the cluster", e);
    let managed: HashMap<&str, Vec<&str>> = HashMap::from([("label", vec!["berth.managed=true"])]);
    let services = cluster
        .docker
        .list_services(Some(
            ListServicesOptionsBuilder::default()
                .filters(&managed)
                .status(true)
                .build(),
        ))
        .await
        .map_err(err)?;
    let tasks = cluster
        .docker
        .list_tasks(None::<bollard::query_parameters::ListTasksOptions>)
        .await
        .map_err(err)?;
    let mut out: BTreeMap<DeploymentId, Vec<ServiceStatus>> =
        ids.iter().map(|i| (i.clone(), Vec::new())).collect();
    for s in services {
        let spec = s.spec.clone().unwrap_or_default();
        let labels = spec.labels.clone().unwrap_or_default();
        let Some(address) = labels
            .get("berth.address")
            .and_then(|a| a.parse::<berth_planner::Address>().ok())
        else {
            continue;
        };
        let Some(list) = out.get_mut(&address.deployment) else {
            continue;
        };
        let id = s.id.clone().unwrap_or_default();
        let mine: Vec<&bollard::models::Task> = tasks
            .iter()
            .filter(|t| t.service_id.as_deref() == Some(id.as_str()))
            .collect();
        let wanted = mine
            .iter()
            .filter(|t| t.desired_state.map(|d| d.to_string()).as_deref() == Some("running"))
            .count() as u64;
        let running = mine
            .iter()
            .filter(|t| t.desired_state.map(|d| d.to_string()).as_deref() == Some("running"))
            .filter(|t| task_state(t).as_deref() == Some("running"))
            .count() as u64;
        let failing = mine
            .iter()
            .any(|t| matches!(task_state(t).as_deref(), Some("failed" | "rejected")));
        let desired = spec
            .mode
            .as_ref()
            .and_then(|m| m.replicated.as_ref())
            .and_then(|r| r.replicas)
            .map(|r| r.max(0) as u64)
            .unwrap_or(wanted);
        let health = if desired == 0 {
            "stopped"
        } else if running == desired {
            "healthy"
        } else if failing {
            "failing"
        } else {
            "converging"
        };
        let is_job = spec
            .mode
            .as_ref()
            .is_some_and(|m| m.replicated_job.is_some());
        let job = if is_job { latest_run(&mine) } else { None };
        let health = match &job {
            Some(run) if run.state == "complete" => "completed",
            Some(run) if matches!(run.state.as_str(), "failed" | "rejected") => "failed",
            Some(_) => "running",
            None if is_job => "not run",
            None => health,
        };
        // A job's tasks want to complete, not to run: what runs is its current run, if any.
        let (running, desired) = match &job {
            Some(run) => {
                let going = !crate::job::ended(&run.state);
                let now = mine
                    .iter()
                    .filter(|t| task_state(t).as_deref() == Some("running"))
                    .count() as u64;
                (if going { now } else { 0 }, u64::from(going))
            }
            None if is_job => (0, 0),
            None => (running, desired),
        };
        let labels = spec.labels.clone().unwrap_or_default();
        let labels: std::collections::BTreeMap<String, String> = labels.into_iter().collect();
        let canary = berth_planner::swarm::release::canary_of(&labels)
            .map(|(of, share)| CanaryOf { of, share });
        let image = spec
            .task_template
            .as_ref()
            .and_then(|t| t.container_spec.as_ref())
            .and_then(|c| c.image.clone())
            .unwrap_or_default();
        let task_errors = if matches!(health, "healthy" | "stopped" | "completed") {
            Vec::new()
        } else {
            recent_errors(&mine)
        };
        list.push(ServiceStatus {
            name: address.name.clone(),
            address: address.to_string(),
            image: image.split('@').next().unwrap_or_default().to_string(),
            running,
            desired,
            health: health.to_string(),
            update_state: s.update_status.and_then(|u| u.state).map(|s| s.to_string()),
            task_errors,
            job,
            canary,
        });
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{JobRecord, State};

    fn run(service: &str, state: &str) -> JobRecord {
        JobRecord {
            iteration: 0,
            service: service.into(),
            state: state.into(),
            exit_code: None,
            at: "2026-12-01T18:00:00Z".into(),
        }
    }

    #[test]
    fn a_job_berth_stopped_is_shown_from_the_state_and_one_that_ran_since_is_not() {
        let mut state = State::new("shop/production".parse().unwrap());
        state.jobs.insert(
            "shop/production/service.seed".into(),
            vec![run("s1", "complete"), run("s2", crate::job::TIMED_OUT)],
        );
        state.jobs.insert(
            "shop/production/service.migrate".into(),
            vec![run("s3", crate::job::TIMED_OUT), run("s4", "complete")],
        );
        let mut list = Vec::new();
        add_stopped_jobs(&mut list, &state);
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(
            (list[0].name.as_str(), list[0].health.as_str()),
            ("seed", crate::job::TIMED_OUT)
        );
        assert_eq!(
            list[0].job.as_ref().map(|j| j.at.as_str()),
            Some("2026-12-01T18:00:00Z")
        );
        // Listed by the cluster already: not twice.
        add_stopped_jobs(&mut list, &state);
        assert_eq!(list.len(), 1);
    }
}
