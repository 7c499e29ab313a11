//! What a `job` block lowers to: a service in job mode with everything a job may declare (its
//! environment and labels, written as blocks, included), its timeout, overridden per environment,
//! and a restart policy that never runs a failed task again by itself.

use berth_lang::model::{EnvValue, RestartCondition, Service, ServiceMode};
use berth_lang::{analyze, Input, Options};
use std::path::Path;

fn lowered(environment: &str) -> (Service, Service) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid/jobs.berth");
    let a = analyze(
        "jobs",
        vec![Input {
            name: "jobs.berth".into(),
            bytes: std::fs::read(path).unwrap(),
        }],
        &Options::default(),
    );
    assert!(!a.has_errors(), "{:?}", a.diagnostics);
    let config = a.config.expect("a valid configuration has a model");
    let d = config
        .deployments
        .iter()
        .find(|d| d.environment.to_string() == environment)
        .unwrap_or_else(|| panic!("no {environment} deployment"));
    let find = |name: &str| {
        d.services
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name}"))
    };
    (find("migrate"), find("web"))
}

#[test]
fn a_job_lowers_to_a_job_mode_service_with_everything_it_declares() {
    let (job, web) = lowered("production");
    assert_eq!(
        job.mode,
        ServiceMode::Job {
            timeout_ns: 120_000_000_000
        }
    );
    assert!(job.is_job() && !web.is_job());
    assert_eq!(job.replicas(), Some(1), "a job counts as one task");
    assert_eq!(job.restart.condition, RestartCondition::None);
    assert!(matches!(
        job.env.get("DB_PASSWORD_FILE"),
        Some(EnvValue::SecretFile { .. })
    ));
    assert_eq!(job.labels.get("team").map(String::as_str), Some("shop"));
    assert_eq!(job.command.as_deref().map(|c| c.len()), Some(2));
    assert_eq!(job.workdir.as_deref(), Some("/migrations"));
    assert_eq!(
        job.mounts.len(),
        3,
        "the volume, the tmpfs and the secret's file"
    );
    assert!(job.security.read_only);
    assert_eq!(job.depends_on, vec!["db".to_string()]);
    assert!(job.routes.is_empty() && job.health.is_none());
    assert!(web.depends_on.contains(&"migrate".to_string()));
}

#[test]
fn an_environment_overrides_a_jobs_timeout() {
    let (job, _) = lowered("staging");
    assert_eq!(
        job.mode,
        ServiceMode::Job {
            timeout_ns: 30_000_000_000
        }
    );
}
