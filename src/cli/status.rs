//! `berth status`: per project environment, its services with running and desired tasks and
//! health, its routes, and the last applied serial; as text, JSON or Prometheus metrics.

use super::session::{self, Failure};
use super::ConfigArgs;
use berth_apply::state::Store;
use berth_planner::DeploymentId;
use clap::{Args, ValueEnum};
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
    #[command(flatten)]
    pub config: ConfigArgs,
    #[arg(long, short = 'p')]
    pub project: Option<String>,
    #[arg(long, env = "BERTH_STATE_DIR")]
    pub state_dir: Option<std::path::PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: StatusFormat,
}

pub fn run(args: &StatusArgs) -> Result<ExitCode, Failure> {
    let store = Store::new(
        args.state_dir
            .clone()
            .unwrap_or_else(|| args.config.dir.join(".berth").join("state")),
    );
    let ids: Vec<DeploymentId> = store
        .deployments()
        .into_iter()
        .filter(|d| args.project.as_ref().is_none_or(|p| *p == d.project))
        .collect();
    let rt = session::runtime();
    let services = rt.block_on(async {
        let cluster = berth_apply::connect().await?;
        Ok::<_, Failure>(berth_apply::status::services(&cluster, &ids).await?)
    })?;
    let mut report = Vec::new();
    for id in &ids {
        let state = store.load(id)?;
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
            if ids.is_empty() {
                println!("No project environment has been applied.");
            }
            for (id, entry) in ids.iter().zip(&report) {
                println!("{id} (serial {})", entry["serial"]);
                for s in services.get(id).into_iter().flatten() {
                    println!(
                        "  {:<20} {:>3}/{:<3} {:<11} {}",
                        s.name, s.running, s.desired, s.health, s.image
                    );
                    if let Some(run) = &s.job {
                        let code = run.exit_code.map_or("-".into(), |c| c.to_string());
                        println!(
                            "  {:<20} last run: {}, exit code {code}, at {}",
                            "", run.state, run.at
                        );
                    }
                }
                if let Some(routes) = entry["routes"].as_array() {
                    for r in routes {
                        println!(
                            "  route {} -> {}",
                            r["url"].as_str().unwrap_or(""),
                            r["service"].as_str().unwrap_or("")
                        );
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
