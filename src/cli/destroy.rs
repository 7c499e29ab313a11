//! `berth destroy`: removes one project environment's objects (or, with `--all-environments`,
//! every environment of one project), and nothing else. Volumes are
//! kept unless `--allow-data-loss`. What exists is found by berth's labels, so a preview whose
//! pull request is closed can still be destroyed; the configuration is read only for its access
//! roles (without one, none are known, and berth says that anyone may destroy). The run itself
//! (lock, read, execute, save) is `berth_apply::deploy`'s; here are the arguments, the gate,
//! the prompt and the summary.

use super::access::{self, ActorArgs, Gate};
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
use std::collections::BTreeSet;
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
    #[arg(long, short = 'e', required_unless_present_any = ["platform", "all_environments"])]
    pub env: Option<String>,
    /// Destroy every environment of the project (production, staging, development, every
    /// preview) that has recorded state or objects in the cluster; volumes are still kept
    /// unless --allow-data-loss.
    #[arg(long, conflicts_with_all = ["env", "pr", "platform"])]
    pub all_environments: bool,
    /// Destroy the platform instead: the proxy and its edge networks (its ACME volume is kept
    /// unless --allow-data-loss).
    #[arg(long, conflicts_with_all = ["project", "env"])]
    pub platform: bool,
    /// The pull request of a preview environment (also read from `--var pr=N`).
    #[arg(long)]
    pub pr: Option<u64>,
    /// Keep state and locks in this directory instead of on the cluster (env: BERTH_STATE_DIR).
    #[arg(long, env = "BERTH_STATE_DIR")]
    pub state_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub exec: DestroyExec,
    #[command(flatten)]
    pub actor: ActorArgs,
}

/// How a destroy runs: what of `berth apply`'s execution options a destroy uses, described for
/// what it does.
#[derive(Debug, Args, Clone)]
pub struct DestroyExec {
    /// Destroy without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// How many objects are removed at once.
    #[arg(long, default_value_t = 10)]
    pub parallelism: usize,
    /// How long removing one object may wait for what still uses it: a duration (`3m`, `90s`)
    /// or seconds.
    #[arg(long, default_value = "180", value_parser = super::apply::wait)]
    pub timeout: std::time::Duration,
    /// Wait this long for a lock held by another apply or destroy: a duration (`5m`) or seconds
    /// (default: fail at once).
    #[arg(long, default_value = "0", value_parser = super::apply::wait)]
    pub lock_timeout: std::time::Duration,
    /// Also remove the volumes (their data is lost).
    #[arg(long)]
    pub allow_data_loss: bool,
    /// How to show progress: bars on a terminal, lines in CI logs.
    #[arg(long, value_enum, default_value_t)]
    pub progress: super::progress::ProgressMode,
}

pub fn run(args: &DestroyArgs) -> Result<ExitCode, Failure> {
    let ids: Vec<DeploymentId> = match (&args.project, &args.env) {
        (Some(project), _) if args.all_environments => {
            let ids = environments_of(project, &store_of(args)?)?;
            if ids.is_empty() {
                println!("Nothing to destroy: project `{project}` has no recorded state and no objects in the cluster.");
                return Ok(ExitCode::SUCCESS);
            }
            ids
        }
        (Some(project), Some(env)) if !args.platform => {
            let (env, pr) = session::environment(env, args.pr, &args.config.vars)?;
            if env == Environment::Preview && pr.is_none() {
                return Err(Failure::Usage("destroying a preview environment needs its pull request: `-e preview-123` (or `--pr 123`)".into()));
            }
            vec![DeploymentId::new(project, env, pr)]
        }
        _ => vec![DeploymentId::platform()],
    };
    let shown: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let shown = shown.join(", ");
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
    gate.check(&ids)?;
    let store = store_of(args)?;
    let options = PlanOptions {
        scope: Scope::Only(ids.iter().cloned().collect()),
        allow_data_loss: args.exec.allow_data_loss,
        keep_volumes: !args.exec.allow_data_loss,
    };
    let desired = Desired::default();
    let request = Request {
        operation: Operation::Destroy,
        store: &store,
        scope: ids.clone(),
        lock_timeout: args.exec.lock_timeout,
        desired: &desired,
        payloads: Payloads::default(),
        planning: Planning::Now,
        // What is destroyed has no routes left.
        outputs: ids
            .iter()
            .map(|id| (id.clone(), Outputs::default()))
            .collect(),
        options: Options {
            parallelism: args.exec.parallelism,
            wait: true,
            timeout: args.exec.timeout,
            cancel: Arc::new(AtomicBool::new(false)),
            ..Options::default()
        },
    };
    let mut hooks = DestroyHooks {
        id: &shown,
        options: &options,
        exec: &args.exec,
    };
    session::runtime().block_on(async {
        let connect = async { Ok(Arc::new(DockerEngine::new(&berth_apply::connect().await?))) };
        let (plan, report) = match deploy::run(request, connect, &mut hooks).await? {
            Outcome::Unchanged(_) => {
                println!("Nothing to destroy for {shown}.");
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
    /// The project environments destroyed, as the prompt names them.
    id: &'a str,
    options: &'a PlanOptions,
    exec: &'a DestroyExec,
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

/// Where state is kept: `--state-dir`, else on the cluster.
fn store_of(args: &DestroyArgs) -> Result<Store, Failure> {
    super::session::store(args.state_dir.clone())
}

/// Every environment of `project` that has recorded state or objects in the cluster (found by
/// berth's labels, so an environment whose state was lost is destroyed too). This read only
/// finds the environments; the destroy reads the cluster again once it holds their locks.
fn environments_of(project: &str, store: &Store) -> Result<Vec<DeploymentId>, Failure> {
    let mut ids: BTreeSet<DeploymentId> = store
        .deployments()?
        .into_iter()
        .filter(|d| d.project == project && !d.is_platform())
        .collect();
    let observed = session::runtime().block_on(async {
        let cluster = berth_apply::connect().await?;
        session::observe(&cluster).await
    })?;
    ids.extend(
        observed
            .resources
            .iter()
            .map(|r| &r.address.deployment)
            .filter(|d| d.project == project && !d.is_platform())
            .cloned(),
    );
    Ok(ids.into_iter().collect())
}
