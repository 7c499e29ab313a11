//! `berth drift`: what changed in the cluster outside berth since the last apply. It compares the
//! live objects of each applied project environment with its state file, and shows what `berth
//! apply` would do to restore them. Exit 2 when anything drifted, 1 (E0415) when the selection
//! matches no applied project environment: a check of nothing never passes.

use super::session::{self, Failure};
use super::{ConfigArgs, EXIT_CHANGES};
use berth_planner::{DeploymentId, Desired, PlanOptions, Resource, Scope};
use clap::Args;
use std::collections::BTreeSet;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Only this project.
    #[arg(long, short = 'p')]
    pub project: Option<String>,
    /// Only this environment (`production`, `staging`, `development`, or `preview-<pr>`;
    /// `preview` alone checks every applied preview).
    #[arg(long, short = 'e')]
    pub env: Option<String>,
    /// The pull request of a preview (`-e preview --pr 5` is `-e preview-5`).
    #[arg(long)]
    pub pr: Option<u64>,
    /// Keep state in this directory instead of on the cluster (env: BERTH_STATE_DIR).
    #[arg(long, env = "BERTH_STATE_DIR")]
    pub state_dir: Option<std::path::PathBuf>,
    /// How to show the drift: for people, or as JSON.
    #[arg(long, value_enum, default_value_t)]
    pub format: super::Format,
}

pub fn run(args: &DriftArgs) -> Result<ExitCode, Failure> {
    let store = super::session::store(args.state_dir.clone())?;
    let env = match &args.env {
        Some(e) => Some(session::environment(e, args.pr, &args.config.vars)?),
        None if args.pr.is_some() => {
            return Err(Failure::Usage(
                "`--pr` names a preview: select it with `-e preview-<pr>`".into(),
            ))
        }
        None => None,
    };
    let applied = store.deployments()?;
    let ids: Vec<DeploymentId> = applied
        .iter()
        .filter(|d| {
            args.project.as_ref().is_none_or(|p| *p == d.project)
                && env.is_none_or(|(e, pr)| session::env_matches(d, e, pr))
        })
        .cloned()
        .collect();
    // A check of nothing is not a passed check.
    if ids.is_empty() {
        return Err(session::nothing_applied(
            "drift",
            &store,
            args.project.as_deref(),
            args.env.as_deref(),
            &applied,
        ));
    }
    let mut recorded = Desired::default();
    for id in &ids {
        if let Some(state) = store.load(id)? {
            for r in state.resources {
                recorded.resources.insert(
                    r.address.clone(),
                    Resource {
                        address: r.address,
                        spec: r.spec,
                        depends_on: Vec::new(),
                        span: None,
                    },
                );
            }
        }
    }
    let rt = session::runtime();
    let observed = rt.block_on(async {
        let cluster = berth_apply::connect().await?;
        session::observe(&cluster).await
    })?;
    let options = PlanOptions {
        scope: Scope::Only(ids.iter().cloned().collect::<BTreeSet<_>>()),
        allow_data_loss: true,
        keep_volumes: false,
    };
    let plan = berth_planner::plan(&recorded, &observed, &options)
        .map_err(|e| Failure::plan_unlocated(&e))?;
    let drifted = !plan.is_empty();
    match args.format {
        super::Format::Json => {
            let value = serde_json::json!({
                "drift": drifted,
                "checked": ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "restore_plan": berth_planner::render::json_value(&plan),
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
        }
        super::Format::Human => {
            if drifted {
                println!("Drift detected: the cluster no longer matches what berth last applied (its recorded state).");
                println!("To restore the recorded state, berth apply would:\n");
                print!("{}", super::plan::render_restore(&plan));
            } else {
                let names: Vec<String> = ids.iter().map(ToString::to_string).collect();
                println!(
                    "No drift: berth read the cluster, and it matches the recorded state of {} project environment{} ({}).",
                    ids.len(),
                    if ids.len() == 1 { "" } else { "s" },
                    names.join(", ")
                );
            }
        }
    }
    Ok(if drifted {
        ExitCode::from(EXIT_CHANGES)
    } else {
        ExitCode::SUCCESS
    })
}
