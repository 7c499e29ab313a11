//! `berth destroy`: removes one project environment's objects, and nothing else. Volumes are
//! kept unless `--allow-data-loss`. What exists is found by berth's labels, so a preview whose
//! pull request is closed can still be destroyed; the configuration is read only for its access
//! roles (without one, none are known, and berth says that anyone may destroy).

use super::access::{self, ActorArgs, Gate};
use super::apply::ExecArgs;
use super::session::{self, Failure};
use super::ConfigArgs;
use berth_apply::execute::{self, Options};
use berth_apply::lock;
use berth_apply::payload::Payloads;
use berth_apply::state::Store;
use berth_lang::model::Environment;
use berth_planner::{DeploymentId, Desired, PlanOptions, Scope};
use clap::Args;
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The project.
    #[arg(long, short = 'p', required_unless_present = "platform")]
    pub project: Option<String>,
    /// The environment (production, staging, preview, development).
    #[arg(long, short = 'e', required_unless_present = "platform")]
    pub env: Option<String>,
    /// Destroy the platform instead: the proxy and its edge networks (its ACME volume is kept
    /// unless --allow-data-loss).
    #[arg(long, conflicts_with_all = ["project", "env"])]
    pub platform: bool,
    /// The pull request of a preview environment (also read from `--var pr=N`).
    #[arg(long)]
    pub pr: Option<u64>,
    #[arg(long, env = "BERTH_STATE_DIR")]
    pub state_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub exec: ExecArgs,
    #[command(flatten)]
    pub actor: ActorArgs,
}

pub fn run(args: &DestroyArgs) -> Result<ExitCode, Failure> {
    let id = match (&args.project, &args.env) {
        (Some(project), Some(env)) if !args.platform => {
            let env = Environment::parse(env)
                .ok_or_else(|| Failure::Usage(format!("`{env}` is not an environment")))?;
            let pr = args.pr.or_else(|| {
                args.config
                    .vars
                    .iter()
                    .find_map(|v| v.strip_prefix("pr=").and_then(|n| n.parse().ok()))
            });
            if env == Environment::Preview && pr.is_none() {
                return Err(Failure::Usage("destroying a preview environment needs its pull request: `--pr 123` or `--var pr=123`".into()));
            }
            DeploymentId::new(project, env, pr)
        }
        _ => DeploymentId::platform(),
    };
    // The access roles, before the state is locked or the cluster read.
    let roles = access::roles_for_destroy(&args.config)?;
    let gate = match &roles {
        Some((config, sources)) => Gate::new(
            config,
            sources,
            &args.actor,
            berth_lang::access::Action::Destroy,
        ),
        None => Gate::without_configuration(&args.actor, berth_lang::access::Action::Destroy),
    };
    gate.check([&id])?;
    let store = Store::new(
        args.state_dir
            .clone()
            .unwrap_or_else(|| args.config.dir.join(".berth").join("state")),
    );
    let _lock = lock::acquire(
        &store,
        &id,
        "destroy",
        Duration::from_secs(args.exec.lock_timeout),
    )?;
    super::apply::warn_broken(&_lock);
    let options = PlanOptions {
        scope: Scope::Only(BTreeSet::from([id.clone()])),
        allow_data_loss: args.exec.allow_data_loss,
        keep_volumes: !args.exec.allow_data_loss,
    };
    let rt = session::runtime();
    rt.block_on(async {
        let cluster = berth_apply::connect().await?;
        let observed = session::observe(&cluster).await?;
        let plan = berth_planner::plan(&Desired::default(), &observed, &options)
            .map_err(|e| Failure::plan_unlocated(&e))?;
        print!(
            "{}",
            super::plan::render(&plan, super::plan::PlanFormat::Human)
        );
        if plan.is_empty() {
            println!("Nothing to destroy for {id}.");
            return Ok(ExitCode::SUCCESS);
        }
        if !args.exec.auto_approve && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(Failure::Usage(
                "refusing to destroy without confirmation: pass --auto-approve".into(),
            ));
        }
        if !args.exec.auto_approve {
            eprint!("\nDestroy {id}? Only 'yes' will be accepted: ");
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            if line.trim() != "yes" {
                eprintln!("Destroy cancelled.");
                return Ok(ExitCode::from(super::EXIT_ERROR));
            }
        }
        let begun = BTreeMap::from([(id.clone(), store.begin(&id)?)]);
        let opts = Options {
            parallelism: args.exec.parallelism,
            wait: true,
            timeout: Duration::from_secs(args.exec.timeout),
            cancel: Arc::new(AtomicBool::new(false)),
            ..Options::default()
        };
        let (report, states) = match execute::execute(
            &cluster,
            &store,
            &plan,
            Arc::new(Payloads::default()),
            begun,
            super::progress::reporter(args.exec.progress, super::apply::steps(&plan)),
            opts,
        )
        .await
        {
            Ok(done) => done,
            Err((e, _)) => return Err(e.into()),
        };
        for s in states.values() {
            let mut s = s.clone();
            s.outputs = Default::default();
            store.save(&s)?;
        }
        if report.failed.is_empty() {
            let kept = plan.notes.iter().filter(|n| n.contains("kept")).count();
            println!(
                "\nDestroy complete! {} object(s) destroyed{}.",
                report.done.len(),
                if kept > 0 || !args.exec.allow_data_loss {
                    "; volumes kept (pass --allow-data-loss to remove them)"
                } else {
                    ""
                }
            );
            Ok(ExitCode::SUCCESS)
        } else {
            for (a, e) in &report.failed {
                eprintln!("error: {a}: {e}");
            }
            Ok(ExitCode::from(super::EXIT_ERROR))
        }
    })
}
