//! `berth destroy`: removes one project environment's objects, and nothing else. Volumes are
//! kept unless `--allow-data-loss`. What exists is found by berth's labels, so a preview whose
//! pull request is closed can still be destroyed; the configuration is read only for its access
//! roles (without one, none are known, and berth says that anyone may destroy). The run itself
//! (lock, read, execute, save) is `berth_apply::deploy`'s; here are the arguments, the gate,
//! the prompt and the summary.

use super::access::{self, ActorArgs, Gate};
use super::apply::ExecArgs;
use super::session::{self, Failure};
use super::ConfigArgs;
use berth_apply::deploy::{self, Hooks, Operation, Outcome, Planning, Request};
use berth_apply::engine::DockerEngine;
use berth_apply::execute::Options;
use berth_apply::lock::LockInfo;
use berth_apply::payload::Payloads;
use berth_apply::progress::Progress;
use berth_apply::state::{Outputs, Store};
use berth_lang::model::Environment;
use berth_planner::{DeploymentId, Desired, Observed, Plan, PlanErrors, PlanOptions, Scope};
use clap::Args;
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The project.
    #[arg(long, short = 'p', required_unless_present = "platform")]
    pub project: Option<String>,
    /// The environment (production, staging, development, or a preview as `preview-<pr>`).
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
            let (env, pr) = session::environment(env, args.pr, &args.config.vars)?;
            if env == Environment::Preview && pr.is_none() {
                return Err(Failure::Usage("destroying a preview environment needs its pull request: `-e preview-123` (or `--pr 123`)".into()));
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
    let options = PlanOptions {
        scope: Scope::Only(BTreeSet::from([id.clone()])),
        allow_data_loss: args.exec.allow_data_loss,
        keep_volumes: !args.exec.allow_data_loss,
    };
    let desired = Desired::default();
    let request = Request {
        operation: Operation::Destroy,
        store: &store,
        scope: vec![id.clone()],
        lock_timeout: args.exec.lock_timeout,
        desired: &desired,
        payloads: Payloads::default(),
        planning: Planning::Now,
        // What is destroyed has no routes left.
        outputs: BTreeMap::from([(id.clone(), Outputs::default())]),
        options: Options {
            parallelism: args.exec.parallelism,
            wait: true,
            timeout: args.exec.timeout,
            cancel: Arc::new(AtomicBool::new(false)),
            ..Options::default()
        },
    };
    let mut hooks = DestroyHooks {
        id: &id,
        options: &options,
        exec: &args.exec,
    };
    session::runtime().block_on(async {
        let connect = async { Ok(Arc::new(DockerEngine::new(&berth_apply::connect().await?))) };
        let (plan, report) = match deploy::run(request, connect, &mut hooks).await? {
            Outcome::Unchanged(_) => {
                println!("Nothing to destroy for {id}.");
                return Ok(ExitCode::SUCCESS);
            }
            Outcome::Cancelled(_) => {
                eprintln!("Destroy cancelled.");
                return Ok(ExitCode::from(super::EXIT_ERROR));
            }
            Outcome::Executed { plan, report } => (plan, report),
        };
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

/// What `berth destroy` shows and answers while the orchestration runs.
struct DestroyHooks<'a> {
    id: &'a DeploymentId,
    options: &'a PlanOptions,
    exec: &'a ExecArgs,
}

impl Hooks for DestroyHooks<'_> {
    type Error = Failure;

    fn broken_lock(&mut self, broken: &LockInfo) {
        super::apply::warn_broken(broken);
    }

    fn plan(&mut self, observed: &Observed) -> Result<Plan, Failure> {
        berth_planner::plan(&Desired::default(), observed, self.options)
            .map_err(|e| Failure::plan_unlocated(&e))
    }

    fn refused(&mut self, errors: PlanErrors) -> Failure {
        Failure::plan_unlocated(&errors)
    }

    fn show(&mut self, plan: &Plan) {
        print!(
            "{}",
            super::plan::render_as(
                plan,
                super::plan::PlanFormat::Human,
                berth_planner::render::Against::Cluster,
                true
            )
        );
    }

    fn confirm(&mut self, _: &Plan) -> Result<bool, Failure> {
        if self.exec.auto_approve {
            return Ok(true);
        }
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(Failure::Usage(
                "refusing to destroy without confirmation: pass --auto-approve".into(),
            ));
        }
        eprint!("\nDestroy {}? Only 'yes' will be accepted: ", self.id);
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        Ok(line.trim() == "yes")
    }

    fn start(&mut self, plan: &Plan) -> Arc<dyn Progress> {
        super::progress::reporter(self.exec.progress, super::apply::steps(plan))
    }
}
