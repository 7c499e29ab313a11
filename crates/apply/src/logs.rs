//! The logs of berth's services for `berth logs`: each selected service's tasks' output
//! (standard output and error) as lines that say which service and task wrote them, read from
//! the engine's task log endpoint (one stream per task, merged), optionally followed and from a
//! point in time on. The binary chooses and prints; nothing here writes anywhere.

use crate::connect::Cluster;
use crate::error::ApplyError;
use berth_planner::{Address, DeploymentId, Kind};
use bollard::container::LogOutput;
use bollard::query_parameters::{
    ListServicesOptionsBuilder, ListTasksOptionsBuilder, LogsOptionsBuilder,
};
use futures_util::stream::{self, BoxStream, StreamExt};
use std::collections::HashMap;

/// One berth service the cluster runs, by its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedService {
    pub address: Address,
    /// Docker's ID of the service.
    pub id: String,
}

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Stdout,
    Stderr,
}

/// One line a task wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The service's name in its project environment (`web`).
    pub service: String,
    pub deployment: DeploymentId,
    /// The task: its slot for a replicated service (`2`), else its node, then its ID's first
    /// 12 characters: `2.k3j2l4k5j6h7`.
    pub task: String,
    pub source: Source,
    /// The engine's timestamp of the line (RFC 3339, nanoseconds), which orders lines of
    /// different tasks.
    pub timestamp: String,
    /// The line, without its line break.
    pub text: String,
}

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct LogRequest {
    /// Keep reading as tasks write (`--follow`).
    pub follow: bool,
    /// Only lines from this UNIX time on (`--since`).
    pub since: Option<i64>,
}

/// The berth services of the given project environments that the cluster runs (the platform's
/// only when it is asked for), in address order.
pub async fn services(
    cluster: &Cluster,
    wanted: &dyn Fn(&DeploymentId) -> bool,
) -> Result<Vec<LoggedService>, ApplyError> {
    let err = |e: bollard::errors::Error| ApplyError::engine("list", "the cluster", e);
    let managed: HashMap<&str, Vec<&str>> = HashMap::from([("label", vec!["berth.managed=true"])]);
    let list = cluster
        .docker
        .list_services(Some(
            ListServicesOptionsBuilder::default()
                .filters(&managed)
                .build(),
        ))
        .await
        .map_err(err)?;
    let mut out: Vec<LoggedService> = list
        .into_iter()
        .filter_map(|s| {
            let address = s
                .spec
                .as_ref()?
                .labels
                .as_ref()?
                .get("berth.address")?
                .parse::<Address>()
                .ok()?;
            (address.kind == Kind::Service && wanted(&address.deployment)).then(|| LoggedService {
                address,
                id: s.id.unwrap_or_default(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(out)
}

/// The lines of the services' tasks, merged as they arrive. Without `follow` the stream ends
/// once every task's log is read; with it, it goes on until dropped (tasks started later are not
/// picked up).
pub async fn lines(
    cluster: &Cluster,
    services: &[LoggedService],
    request: &LogRequest,
) -> Result<BoxStream<'static, Result<LogLine, ApplyError>>, ApplyError> {
    let err = |e: bollard::errors::Error| ApplyError::engine("list", "the cluster", e);
    let ids: Vec<&str> = services.iter().map(|s| s.id.as_str()).collect();
    if ids.is_empty() {
        return Ok(stream::empty().boxed());
    }
    let filters: HashMap<&str, Vec<&str>> = HashMap::from([("service", ids)]);
    let tasks = cluster
        .docker
        .list_tasks(Some(
            ListTasksOptionsBuilder::default().filters(&filters).build(),
        ))
        .await
        .map_err(err)?;
    let mut streams = Vec::new();
    for t in tasks {
        let Some(service) = services
            .iter()
            .find(|s| t.service_id.as_deref() == Some(s.id.as_str()))
        else {
            continue;
        };
        let running = t.desired_state.map(|d| d.to_string()).as_deref() == Some("running");
        // A task that never started a container has no log.
        let started = t
            .status
            .as_ref()
            .and_then(|s| s.container_status.as_ref())
            .and_then(|c| c.container_id.as_ref())
            .is_some();
        if !started || (request.follow && !running) {
            continue;
        }
        let id = t.id.clone().unwrap_or_default();
        let place = t
            .slot
            .map(|s| s.to_string())
            .or_else(|| t.node_id.clone())
            .unwrap_or_default();
        let task = format!("{place}.{}", id.chars().take(12).collect::<String>());
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .follow(request.follow)
            .since(
                request
                    .since
                    .map_or(0, |s| i32::try_from(s).unwrap_or(i32::MAX)),
            )
            .build();
        let name = service.address.name.clone();
        let deployment = service.address.deployment.clone();
        let address = service.address.to_string();
        let lines = cluster
            .docker
            .task_logs(&id, Some(options))
            .flat_map(move |frame| {
                let items: Vec<Result<LogLine, ApplyError>> = match frame {
                    Ok(output) => split(&output)
                        .into_iter()
                        .map(|(source, timestamp, text)| {
                            Ok(LogLine {
                                service: name.clone(),
                                deployment: deployment.clone(),
                                task: task.clone(),
                                source,
                                timestamp,
                                text,
                            })
                        })
                        .collect(),
                    Err(e) => vec![Err(ApplyError::engine("read the logs of", &address, e))],
                };
                stream::iter(items)
            });
        streams.push(lines.boxed());
    }
    Ok(stream::select_all(streams).boxed())
}

/// A frame of the engine's log stream as lines: each with its source, its timestamp (the
/// first word, since berth asks for timestamps) and its text.
fn split(output: &LogOutput) -> Vec<(Source, String, String)> {
    let source = match output {
        LogOutput::StdErr { .. } => Source::Stderr,
        _ => Source::Stdout,
    };
    String::from_utf8_lossy(output.as_ref())
        .lines()
        .map(|line| match line.split_once(' ') {
            Some((at, text)) if at.contains('T') => (source, at.to_string(), text.to_string()),
            _ => (source, String::new(), line.to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn frames_become_lines_with_their_timestamps() {
        let frame = LogOutput::StdOut {
            message: Bytes::from_static(
                b"2026-12-01T17:00:00.000000001Z listening on 0.0.0.0:8080\n2026-12-01T17:00:01.5Z ready\n",
            ),
        };
        assert_eq!(
            split(&frame),
            vec![
                (
                    Source::Stdout,
                    "2026-12-01T17:00:00.000000001Z".to_string(),
                    "listening on 0.0.0.0:8080".to_string()
                ),
                (
                    Source::Stdout,
                    "2026-12-01T17:00:01.5Z".to_string(),
                    "ready".to_string()
                ),
            ]
        );
        let err = LogOutput::StdErr {
            message: Bytes::from_static(b"no timestamp here\n"),
        };
        assert_eq!(
            split(&err)[0],
            (Source::Stderr, String::new(), "no timestamp here".into())
        );
    }
}
