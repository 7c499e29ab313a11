//! One poller per apply watches every service that is converging: each poll reads all of them in
//! one call and all their tasks in another, whatever their number, and judges each with
//! `converge.rs`'s rules. A service's step gives up its parallelism slot as soon as Docker
//! accepted the change; the poller tells the executor when the service converged (or failed),
//! and only then do the steps that depend on it start.

use crate::converge::{Verdict, Watch};
use crate::engine::{Engine, TaskView};
use crate::error::{ApplyError, DockerError, DockerErrorKind};
use crate::progress::{Event, Progress};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How many of a failed job's last log lines its error carries.
pub const JOB_LOG_LINES: usize = 20;

/// A watch of the step `step`.
pub type Request = (usize, Watch);
/// The outcome for the step `step`: the service's version index once converged.
pub type Outcome = (usize, Result<u64, ApplyError>);

/// How the poller polls.
pub struct Settings {
    pub interval: Duration,
    pub timeout: Duration,
    pub cancel: Arc<AtomicBool>,
    pub progress: Arc<dyn Progress>,
}

/// Starts the poller. It ends when the sender of requests is dropped and nothing is watched.
pub fn spawn<E: Engine>(
    engine: Arc<E>,
    settings: Settings,
) -> (
    mpsc::UnboundedSender<Request>,
    mpsc::UnboundedReceiver<Outcome>,
    tokio::task::JoinHandle<()>,
) {
    let (requests, mut incoming) = mpsc::unbounded_channel::<Request>();
    let (outcomes, results) = mpsc::unbounded_channel::<Outcome>();
    let handle = tokio::spawn(async move {
        let mut watching: Vec<(usize, Watch)> = Vec::new();
        let mut reported: HashMap<usize, (u64, u64)> = HashMap::new();
        loop {
            while let Ok(request) = incoming.try_recv() {
                watching.push(request);
            }
            if watching.is_empty() {
                match incoming.recv().await {
                    Some(request) => watching.push(request),
                    None => return,
                }
                continue;
            }
            if settings.cancel.load(Ordering::Relaxed) {
                for (step, watch) in watching.drain(..) {
                    let _ = outcomes.send((step, Err(watch.interrupted())));
                }
                continue;
            }
            let ids: Vec<String> = watching.iter().map(|(_, w)| w.id.clone()).collect();
            let (services, tasks) = tokio::join!(engine.services(&ids), engine.tasks(&ids));
            let now = Instant::now();
            let read = services.and_then(|s| tasks.map(|t| (s, t)));
            let mut still = Vec::with_capacity(watching.len());
            for (step, mut watch) in watching.drain(..) {
                let verdict = match &read {
                    Err(e) => Verdict::Failed(ApplyError::engine(
                        "read the convergence of",
                        &watch.address,
                        e.clone(),
                    )),
                    Ok((services, tasks)) => match services.iter().find(|s| s.id == watch.id) {
                        None => Verdict::Failed(ApplyError::engine(
                            "read the convergence of",
                            &watch.address,
                            DockerError {
                                status: None,
                                kind: DockerErrorKind::NotFound,
                                message: format!("service {} is gone", watch.id),
                            },
                        )),
                        Some(service) => {
                            let mine: Vec<&TaskView> =
                                tasks.iter().filter(|t| t.service_id == watch.id).collect();
                            watch.check(service, &mine, now, settings.timeout)
                        }
                    },
                };
                match verdict {
                    Verdict::Converged(version) => {
                        let _ = outcomes.send((step, Ok(version)));
                    }
                    Verdict::Failed(ApplyError::JobFailed {
                        address,
                        message,
                        timed_out,
                        task,
                        ..
                    }) => {
                        // What the job printed last is what tells why it failed.
                        let logs = if task.is_empty() {
                            Vec::new()
                        } else {
                            engine.task_logs(&task, JOB_LOG_LINES).await
                        };
                        let e = ApplyError::JobFailed {
                            address,
                            message,
                            timed_out,
                            task,
                            logs,
                        };
                        let _ = outcomes.send((step, Err(e)));
                    }
                    Verdict::Failed(e) => {
                        let _ = outcomes.send((step, Err(e)));
                    }
                    Verdict::Waiting { running, desired } => {
                        if reported.insert(step, (running, desired)) != Some((running, desired)) {
                            settings.progress.event(Event::Converging {
                                address: watch.address.clone(),
                                running,
                                desired,
                            });
                        }
                        still.push((step, watch));
                    }
                }
            }
            watching = still;
            if !watching.is_empty() {
                tokio::time::sleep(settings.interval).await;
            }
        }
    });
    (requests, results, handle)
}
