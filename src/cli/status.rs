//! `berth status`: per project environment, its services with running and desired tasks and
//! health, its routes, and the last applied serial; as text, JSON or Prometheus metrics. The
//! text is a table with column headers; a service whose running replicas differ from what berth
//! applied (the recorded state) says so, and one that is not healthy shows its tasks' recent
//! errors; each route shows the service and the port the proxy sends its requests to.

use super::session::{self, Failure};
use berth_apply::status::ServiceStatus;
use berth_planner::DeploymentId;
use clap::{Args, ValueEnum};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum StatusFormat {
    #[default]
    Human,
    Json,
    Prometheus,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The configuration directory; status reads only the state and the cluster, not it.
    #[arg(default_value = ".")]
    pub dir: std::path::PathBuf,
    /// Only this project.
    #[arg(long, short = 'p')]
    pub project: Option<String>,
    /// Only this environment (production, staging, preview, development).
    #[arg(long, short = 'e')]
    pub env: Option<String>,
    /// Read state from this directory instead of the cluster (env: BERTH_STATE_DIR).
    #[arg(long, env = "BERTH_STATE_DIR")]
    pub state_dir: Option<std::path::PathBuf>,
    /// How to show the status: a table, JSON, or Prometheus metrics.
    #[arg(long, value_enum, default_value_t)]
    pub format: StatusFormat,
}

pub fn run(args: &StatusArgs) -> Result<ExitCode, Failure> {
    let env = match &args.env {
        Some(e) => Some(session::environment(e, None, &[])?),
        None => None,
    };
    let store = super::session::store(args.state_dir.clone())?;
    let applied = store.deployments()?;
    let ids: Vec<DeploymentId> = applied
        .iter()
        .filter(|d| args.project.as_ref().is_none_or(|p| *p == d.project))
        .filter(|d| env.is_none_or(|(e, pr)| session::env_matches(d, e, pr)))
        .cloned()
        .collect();
    // A status of nothing is a mistake (a selection that matches nothing, the wrong state
    // directory), not an empty report, also without a selection.
    if ids.is_empty() {
        return Err(session::nothing_applied(
            "status",
            &store,
            args.project.as_deref(),
            args.env.as_deref(),
            &applied,
        ));
    }
    let rt = session::runtime();
    let mut services = rt.block_on(async {
        let cluster = berth_apply::connect().await?;
        Ok::<_, Failure>(berth_apply::status::services(&cluster, &ids).await?)
    })?;
    let mut report = Vec::new();
    let mut applied = Vec::new();
    let mut ports = Vec::new();
    for id in &ids {
        let state = store.load(id)?;
        if let Some(state) = &state {
            // Jobs berth stopped after their timeout are gone from the cluster, not from state.
            berth_apply::status::add_stopped_jobs(services.entry(id.clone()).or_default(), state);
        }
        applied.push(applied_replicas(state.as_ref()));
        ports.push(route_ports(state.as_ref()));
        report.push(serde_json::json!({
            "deployment": id.to_string(),
            "serial": state.as_ref().map(|s| s.serial),
            "routes": state.as_ref().map(|s| s.outputs.routes.clone()).unwrap_or_default(),
            "services": services.get(id).cloned().unwrap_or_default(),
        }));
    }
    match args.format {
        StatusFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "deployments": report }))
                .unwrap_or_default()
        ),
        StatusFormat::Prometheus => {
            println!(
                "# HELP berth_service_replicas_running Tasks of a berth service that are running."
            );
            println!("# TYPE berth_service_replicas_running gauge");
            for (id, list) in &services {
                for s in list {
                    println!(
                        "berth_service_replicas_running{{deployment=\"{id}\",service=\"{}\"}} {}",
                        s.name, s.running
                    );
                }
            }
            println!("# HELP berth_service_replicas_desired Tasks a berth service wants running.");
            println!("# TYPE berth_service_replicas_desired gauge");
            for (id, list) in &services {
                for s in list {
                    println!(
                        "berth_service_replicas_desired{{deployment=\"{id}\",service=\"{}\"}} {}",
                        s.name, s.desired
                    );
                }
            }
        }
        StatusFormat::Human => {
            for (((id, entry), applied), ports) in ids.iter().zip(&report).zip(&applied).zip(&ports)
            {
                let none = Vec::new();
                let list = services.get(id).unwrap_or(&none);
                print!("{}", table(id, entry, list, applied, ports));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The replicas of each service as berth last applied them (the recorded state), by name.
fn applied_replicas(state: Option<&berth_apply::state::State>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for r in state.map(|s| s.resources.as_slice()).unwrap_or_default() {
        if let berth_planner::Spec::Service(spec) = &r.spec {
            if let Some(n) = spec.mode.replicated.as_ref().and_then(|m| m.replicas) {
                out.insert(r.address.name.clone(), n);
            }
        }
    }
    out
}

/// The ports the proxy sends each routed service's requests to, as berth last applied them
/// (its routing labels in the recorded state), by service name: next to a healthy service whose
/// route does not answer, a port the service does not listen on is the usual cause.
fn route_ports(state: Option<&berth_apply::state::State>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in state.map(|s| s.resources.as_slice()).unwrap_or_default() {
        if let berth_planner::Spec::Service(spec) = &r.spec {
            for (key, value) in &spec.labels {
                if key.starts_with("traefik.http.services.")
                    && key.ends_with(".loadbalancer.server.port")
                {
                    let list = out.entry(r.address.name.clone()).or_default();
                    if !list.contains(value) {
                        list.push(value.clone());
                    }
                }
            }
        }
    }
    out
}

/// One project environment as a table with column headers, then its routes. A service whose
/// running replicas differ from those berth applied says so in its last column, and one that is
/// not healthy lists its tasks' recent errors under its row.
fn table(
    id: &DeploymentId,
    entry: &serde_json::Value,
    services: &[ServiceStatus],
    applied: &BTreeMap<String, u64>,
    ports: &BTreeMap<String, Vec<String>>,
) -> String {
    let mut out = String::new();
    let serial = entry["serial"]
        .as_u64()
        .map_or_else(|| "no state".to_string(), |s| format!("serial {s}"));
    let _ = writeln!(out, "{id} ({serial})");
    if services.is_empty() {
        let _ = writeln!(out, "  no services running");
    } else {
        let mut rows = vec![[
            "SERVICE".to_string(),
            "RUNNING".into(),
            "DESIRED".into(),
            "HEALTH".into(),
            "IMAGE".into(),
            "NOTE".into(),
        ]];
        for s in services {
            // A job runs to completion: a replica count would say nothing about it.
            let count = |n: u64| match &s.job {
                Some(_) => "-".to_string(),
                None => n.to_string(),
            };
            rows.push([
                s.name.clone(),
                count(s.running),
                count(s.desired),
                s.health.clone(),
                s.image.clone(),
                note(s, applied.get(&s.name).copied()),
            ]);
        }
        let widths: Vec<usize> = (0..6)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for (i, row) in rows.iter().enumerate() {
            let mut line = String::from(" ");
            for (c, cell) in row.iter().enumerate() {
                let _ = write!(line, " {cell:<w$}", w = widths[c]);
            }
            let _ = writeln!(out, "{}", line.trim_end());
            if i > 0 {
                for e in &services[i - 1].task_errors {
                    let _ = writeln!(out, "    {e}");
                }
            }
        }
    }
    if let Some(routes) = entry["routes"].as_array().filter(|r| !r.is_empty()) {
        let urls: Vec<&str> = routes
            .iter()
            .map(|r| r["url"].as_str().unwrap_or(""))
            .collect();
        let width = urls
            .iter()
            .map(|u| u.chars().count())
            .max()
            .unwrap_or(0)
            .max(5);
        let names: Vec<&str> = routes
            .iter()
            .map(|r| r["service"].as_str().unwrap_or(""))
            .collect();
        let named = names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0)
            .max(7);
        let _ = writeln!(out, "  {:<width$}  {:<named$}  PORT", "ROUTE", "SERVICE");
        for (url, name) in urls.iter().zip(names) {
            let port = ports.get(name).map(|p| p.join(", ")).unwrap_or_default();
            let line = format!("  {url:<width$}  {name:<named$}  {port}");
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    out
}

/// What differs between a service's replicas and the configuration berth applied: `1 of 3
/// configured running`, `scaled to 5 outside berth (3 configured)`.
fn note(s: &ServiceStatus, applied: Option<u64>) -> String {
    // A job runs to completion: its last run is what matters, not running replicas.
    if let Some(run) = &s.job {
        return job_note(run);
    }
    let configured = applied.unwrap_or(s.desired);
    let mut notes = Vec::new();
    if let Some(c) = &s.canary {
        // Traefik routes only to running (healthy) tasks: a canary with none receives nothing.
        notes.push(if s.running == 0 && s.desired > 0 {
            format!(
                "canary of {} at {}%, not healthy: receives none of its requests",
                c.of, c.share
            )
        } else {
            format!("canary of {}: {}% of its requests", c.of, c.share)
        });
    }
    if s.desired != configured {
        notes.push(format!(
            "scaled to {} outside berth ({configured} configured)",
            s.desired
        ));
    }
    if s.running != configured {
        notes.push(format!("{} of {configured} configured running", s.running));
    }
    notes.join("; ")
}

/// What a job's last run was: `last run completed at <time>, exit code 0`, `last run failed at
/// <time>, exit code 1`, `last run timed out at <time>; ...`, `last run running since <time>`.
fn job_note(run: &berth_apply::status::JobRun) -> String {
    let at = &run.at;
    let code = run
        .exit_code
        .map(|c| format!(", exit code {c}"))
        .unwrap_or_default();
    match run.state.as_str() {
        "complete" => format!("last run completed at {at}{code}"),
        "failed" | "rejected" | "shutdown" | "orphaned" | "remove" => {
            format!("last run {} at {at}{code}", run.state)
        }
        berth_apply::job::TIMED_OUT => format!(
            "last run timed out at {at}; berth stopped it (removed its service), and the next apply runs the job again"
        ),
        other => format!("last run {other} since {at}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, running: u64, desired: u64, health: &str) -> ServiceStatus {
        ServiceStatus {
            name: name.into(),
            address: format!("shop/production/service.{name}"),
            image: "berth/demo:1".into(),
            running,
            desired,
            health: health.into(),
            update_state: None,
            task_errors: Vec::new(),
            job: None,
            canary: None,
        }
    }

    #[test]
    fn the_table_has_headers_and_says_when_replicas_differ() {
        let id: DeploymentId = "shop/production".parse().unwrap();
        let mut web = service("web", 1, 3, "failing");
        web.task_errors = vec!["task 2 failed: task: non-zero exit (1)".into()];
        let entry = serde_json::json!({
            "serial": 4,
            "routes": [{ "url": "http://shop.localhost/", "service": "web" }],
        });
        let applied = BTreeMap::from([("web".to_string(), 3), ("db".to_string(), 2)]);
        let ports = BTreeMap::from([("web".to_string(), vec!["8080".to_string()])]);
        let text = table(
            &id,
            &entry,
            &[service("db", 5, 5, "healthy"), web],
            &applied,
            &ports,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "shop/production (serial 4)");
        let header: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            header,
            ["SERVICE", "RUNNING", "DESIRED", "HEALTH", "IMAGE", "NOTE"]
        );
        assert!(
            lines[2]
                .ends_with("scaled to 5 outside berth (2 configured); 5 of 2 configured running"),
            "{text}"
        );
        assert!(lines[3].ends_with("1 of 3 configured running"), "{text}");
        assert_eq!(lines[4], "    task 2 failed: task: non-zero exit (1)");
        let header: Vec<&str> = lines[5].split_whitespace().collect();
        assert_eq!(header, ["ROUTE", "SERVICE", "PORT"]);
        let row: Vec<&str> = lines[6].split_whitespace().collect();
        assert_eq!(row, ["http://shop.localhost/", "web", "8080"]);
    }

    fn job(name: &str, health: &str, state: &str, code: Option<i64>) -> ServiceStatus {
        ServiceStatus {
            job: Some(berth_apply::status::JobRun {
                state: state.into(),
                exit_code: code,
                at: "2026-12-01T18:00:09Z".into(),
            }),
            image: "berth/postgres:15".into(),
            ..service(name, 0, 0, health)
        }
    }

    #[test]
    fn a_job_shows_its_last_run_instead_of_a_replica_count() {
        let id: DeploymentId = "shop/production".parse().unwrap();
        let entry = serde_json::json!({ "serial": 2, "routes": [] });
        let text = table(
            &id,
            &entry,
            &[
                job("migrate", "completed", "complete", Some(0)),
                job("reindex", "failed", "failed", Some(1)),
                job("seed", "timed out", berth_apply::job::TIMED_OUT, None),
                job("warm", "running", "running", None),
                service("web", 1, 1, "healthy"),
            ],
            &BTreeMap::from([("web".to_string(), 1)]),
            &BTreeMap::new(),
        );
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(2)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows[0][..4], ["migrate", "-", "-", "completed"], "{text}");
        assert!(
            text.lines().nth(2).unwrap().ends_with(
                "berth/postgres:15 last run completed at 2026-12-01T18:00:09Z, exit code 0"
            ),
            "{text}"
        );
        assert_eq!(rows[1][..4], ["reindex", "-", "-", "failed"], "{text}");
        assert!(
            text.contains("last run failed at 2026-12-01T18:00:09Z, exit code 1"),
            "{text}"
        );
        assert_eq!(rows[2][..5], ["seed", "-", "-", "timed", "out"], "{text}");
        assert!(
            text.contains("last run timed out at 2026-12-01T18:00:09Z; berth stopped it"),
            "{text}"
        );
        assert!(
            text.contains("last run running since 2026-12-01T18:00:09Z"),
            "{text}"
        );
        // A service keeps its counts.
        assert_eq!(rows[4][..4], ["web", "1", "1", "healthy"], "{text}");
        assert!(!text.contains("0/1"), "{text}");
    }

    #[test]
    fn a_canary_says_whose_share_it_takes_and_that_an_unhealthy_one_gets_nothing() {
        let canary = |running| ServiceStatus {
            canary: Some(berth_apply::status::CanaryOf {
                of: "web".into(),
                share: 20,
            }),
            ..service("web-canary", running, 1, "healthy")
        };
        assert_eq!(
            note(&canary(1), Some(1)),
            "canary of web: 20% of its requests"
        );
        assert_eq!(
            note(&canary(0), Some(1)),
            "canary of web at 20%, not healthy: receives none of its requests; 0 of 1 configured running"
        );
    }

    #[test]
    fn a_service_as_configured_has_no_note() {
        assert_eq!(note(&service("web", 2, 2, "healthy"), Some(2)), "");
        assert_eq!(note(&service("web", 2, 2, "healthy"), None), "");
    }
}
