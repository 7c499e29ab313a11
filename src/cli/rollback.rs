//! `berth rollback -p P -e E [--to SERIAL]`: returns a project environment to the specs recorded
//! at an earlier serial (by default the one before the current), as a plan reviewed like any
//! other and applied on approval, which records a new serial (history only grows). The
//! configuration is read for its access roles and for the secrets' sources: a secret the
//! rollback must create whose source no longer holds the recorded value is named, and the
//! rollback refuses. The run itself (lock, read, execute, save) is `berth_apply::deploy`'s.

use super::access::{ActorArgs, Gate};
use super::apply::ExecArgs;
use super::plan::{render, PlanFormat};
use super::session::{self, Failure, Selection, Session};
use super::ConfigArgs;
use berth_apply::deploy::{self, Hooks, Operation, Outcome, Planning, Request};
use berth_apply::engine::DockerEngine;
use berth_apply::execute::Options;
use berth_apply::lock::LockInfo;
use berth_apply::payload::Payloads;
use berth_apply::progress::Progress;
use berth_apply::state::State;
use berth_apply::ApplyError;
use berth_lang::access::Action as Acting;
use berth_planner::{Desired, Observed, Plan, PlanErrors, PlanOptions, Scope};
use clap::Args;
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub selection: Selection,
    /// The serial to return to (default: the one before the current).
    #[arg(long)]
    pub to: Option<u64>,
    #[command(flatten)]
    pub exec: ExecArgs,
    #[command(flatten)]
    pub actor: ActorArgs,
}

pub fn run(args: &RollbackArgs) -> Result<ExitCode, Failure> {
    if args.selection.project.is_none() || args.selection.env.is_none() {
        return Err(Failure::Usage(
            "rollback acts on one project environment: pass --project and --env".into(),
        ));
    }
    let session = Session::open(&args.config, &args.selection)?;
    session.check_moved()?;
    let id = match session.selected.keys().collect::<Vec<_>>()[..] {
        [one] => one.clone(),
        _ => {
            return Err(Failure::Usage(
                "rollback acts on one project environment: the selection matches several".into(),
            ))
        }
    };
    Gate::new(
        &session.config,
        &session.sources,
        &args.actor,
        Acting::Apply,
    )
    .check([&id])?;
    let store = &session.store;
    let current = store.load(&id)?.ok_or_else(|| {
        Failure::Usage(format!(
            "{id} has no state in {}: nothing to roll back",
            store.describe()
        ))
    })?;
    let serial = match args.to {
        Some(n) => n,
        None => *store
            .history(&id)?
            .last()
            .ok_or_else(|| ApplyError::NoSuchSerial {
                deployment: Box::new(id.clone()),
                serial: current.serial.saturating_sub(1),
            })?,
    };
    let target = store
        .load_serial(&id, serial)?
        .ok_or_else(|| ApplyError::NoSuchSerial {
            deployment: Box::new(id.clone()),
            serial,
        })?;
    if target.lineage != current.lineage {
        return Err(Failure::Usage(format!(
            "serial {serial} of {id} belongs to another history (lineage {})",
            target.lineage
        )));
    }
    eprintln!(
        "Rolling {id} back to serial {serial} (current serial {}).",
        current.serial
    );
    let (_, payloads) = session.payloads(false)?;
    let desired = berth_apply::rollback::recorded_desired(&target);
    let options = PlanOptions {
        scope: Scope::Only(BTreeSet::from([id.clone()])),
        allow_data_loss: args.exec.allow_data_loss,
        keep_volumes: !args.exec.allow_data_loss,
    };
    // Read twice: the bytes are never copied, one set goes to the executor.
    let (_, check) = session.payloads(false)?;
    let request = Request {
        operation: Operation::Apply,
        store,
        scope: vec![id.clone()],
        lock_timeout: args.exec.lock_timeout,
        desired: &desired,
        payloads,
        planning: Planning::Now,
        outputs: BTreeMap::from([(id.clone(), target.outputs.clone())]),
        options: Options {
            parallelism: args.exec.parallelism,
            wait: !args.exec.no_wait,
            timeout: args.exec.timeout,
            cancel: Arc::new(AtomicBool::new(false)),
            ..Options::default()
        },
    };
    let mut hooks = RollbackHooks {
        desired: &desired,
        target: &target,
        payloads: &check,
        options: &options,
        exec: &args.exec,
    };
    session::runtime().block_on(async {
        let connect = async { Ok(Arc::new(DockerEngine::new(&berth_apply::connect().await?))) };
        match deploy::run(request, connect, &mut hooks).await? {
            Outcome::Unchanged(_) => {
                println!("{id} already runs what serial {serial} recorded.");
                Ok(ExitCode::SUCCESS)
            }
            Outcome::Cancelled(_) => {
                eprintln!("Rollback cancelled.");
                Ok(ExitCode::from(super::EXIT_ERROR))
            }
            Outcome::Executed { report, .. } => {
                if report.failed.is_empty() {
                    let now = session.store.load(&id)?.map_or(0, |s| s.serial);
                    println!(
                        "\nRollback complete! {id} runs the specs of serial {serial} again, recorded as serial {now}."
                    );
                    Ok(ExitCode::SUCCESS)
                } else {
                    for (a, e) in &report.failed {
                        eprintln!("error: {a}: {e}");
                    }
                    Ok(ExitCode::from(super::EXIT_ERROR))
                }
            }
        }
    })
}

/// What `berth rollback` shows and answers while the orchestration runs.
struct RollbackHooks<'a> {
    desired: &'a Desired,
    target: &'a State,
    payloads: &'a Payloads,
    options: &'a PlanOptions,
    exec: &'a ExecArgs,
}

impl Hooks for RollbackHooks<'_> {
    type Error = Failure;

    fn broken_lock(&mut self, broken: &LockInfo) {
        super::apply::warn_broken(broken);
    }

    fn plan(&mut self, observed: &Observed) -> Result<Plan, Failure> {
        let plan = berth_planner::plan(self.desired, observed, self.options)
            .map_err(|e| Failure::plan_unlocated(&e))?;
        berth_apply::rollback::check_payloads(&plan, self.payloads, self.target)?;
        Ok(plan)
    }

    fn refused(&mut self, errors: PlanErrors) -> Failure {
        Failure::plan_unlocated(&errors)
    }

    fn show(&mut self, plan: &Plan) {
        print!("{}", render(plan, PlanFormat::Human));
    }

    fn confirm(&mut self, _: &Plan) -> Result<bool, Failure> {
        if self.exec.auto_approve {
            return Ok(true);
        }
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(Failure::Usage(
                "refusing to roll back without confirmation: review the plan and pass --auto-approve"
                    .into(),
            ));
        }
        eprint!("\nRoll back? Only 'yes' will be accepted: ");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        Ok(line.trim() == "yes")
    }

    fn start(&mut self, plan: &Plan) -> Arc<dyn Progress> {
        super::progress::reporter(self.exec.progress, super::apply::steps(plan))
    }
}
