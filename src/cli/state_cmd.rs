//! `berth state list|show|history|pull|push|rm|unlock`: reading the recorded state (on the
//! cluster by default, in `--state-dir` when given), handing it to CI jobs without cluster
//! access (`pull`), moving a local state directory to the cluster (`push`), forgetting a project
//! environment that holds nothing (`rm`), and removing a lock that a crashed apply left behind.

use super::session::{self, Failure};
use berth_apply::lock;
use berth_apply::state::Store;
use berth_apply::ApplyError;
use berth_planner::DeploymentId;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    pub command: StateCommand,
    /// The configuration directory, as an option (the subcommands also take it as their last
    /// argument, like other commands; `state push` reads its `.berth/state`).
    #[arg(long, global = true, default_value = ".", hide = true)]
    pub dir: PathBuf,
    /// Keep state in this directory instead of on the cluster.
    #[arg(long, global = true, env = "BERTH_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

/// The configuration directory, the last argument of each subcommand as of other commands.
#[derive(Debug, Args, Clone)]
pub struct Place {
    /// The configuration directory (`state push` moves its `.berth/state`).
    #[arg(value_name = "DIR", id = "place_dir")]
    pub dir: Option<PathBuf>,
}

/// One project environment, as `-p shop -e production`.
#[derive(Debug, Args, Clone)]
pub struct Target {
    /// The project.
    #[arg(long, short = 'p')]
    pub project: String,
    /// The environment (`production`, `staging`, `development`, `preview-<pr>`).
    #[arg(long, short = 'e')]
    pub env: String,
}

impl Target {
    fn id(&self) -> DeploymentId {
        DeploymentId {
            project: self.project.clone(),
            env: self.env.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Every project environment with state: serial, resources, lock.
    List {
        #[command(flatten)]
        place: Place,
    },
    /// The state of one project environment (`shop/production`), as JSON.
    Show {
        /// The project environment: `project/environment`, e.g. `shop/production`.
        deployment: String,
        #[command(flatten)]
        place: Place,
        /// An earlier serial from `berth state history`.
        #[arg(long)]
        serial: Option<u64>,
    },
    /// The serials kept for one project environment.
    History {
        /// The project environment: `project/environment`, e.g. `shop/production`.
        deployment: String,
        #[command(flatten)]
        place: Place,
    },
    /// Print the current state of one project environment, for `berth plan --refresh=false
    /// --state-file FILE` where the cluster cannot be reached.
    Pull {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        place: Place,
    },
    /// Move state from a local directory (default: `<DIR>/.berth/state`) into the store (the
    /// cluster, unless `--state-dir`), keeping serials and lineage.
    Push {
        /// The local state directory to move.
        #[arg(long)]
        from: Option<PathBuf>,
        #[command(flatten)]
        place: Place,
    },
    /// Forget a project environment that holds no objects (after `berth destroy`).
    Rm {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        place: Place,
    },
    /// Remove a lock by its ID (shown in the "locked" error and in `berth state list`).
    Unlock {
        /// The lock's ID.
        id: String,
        #[command(flatten)]
        place: Place,
    },
}

impl StateArgs {
    /// The configuration directory: the subcommand's argument, else `--dir`.
    fn dir(&self) -> &Path {
        let place = match &self.command {
            StateCommand::List { place }
            | StateCommand::Show { place, .. }
            | StateCommand::History { place, .. }
            | StateCommand::Pull { place, .. }
            | StateCommand::Push { place, .. }
            | StateCommand::Rm { place, .. }
            | StateCommand::Unlock { place, .. } => place,
        };
        place.dir.as_deref().unwrap_or(&self.dir)
    }
}

fn parse(d: &str) -> Result<DeploymentId, Failure> {
    d.parse().map_err(|_| Failure::Usage(format!("`{d}` is not a project environment: write `project/environment`, e.g. `shop/production`")))
}

pub fn run(args: &StateArgs) -> Result<ExitCode, Failure> {
    let store = session::store(args.state_dir.clone())?;
    match &args.command {
        StateCommand::List { .. } => {
            let locks = lock::held(&store)?;
            for id in store.deployments()? {
                let state = store.load(&id)?;
                let lock = locks
                    .iter()
                    .find(|(d, _)| *d == id)
                    .map(|(_, l)| {
                        format!("  locked by {} since {} (ID {})", l.holder, l.created, l.id)
                    })
                    .unwrap_or_default();
                match state {
                    Some(s) => println!(
                        "{id}  serial {}  {} resources{lock}",
                        s.serial,
                        s.resources.len()
                    ),
                    None => println!("{id}  (no state){lock}"),
                }
            }
        }
        StateCommand::Show {
            deployment, serial, ..
        } => {
            let id = parse(deployment)?;
            let state = match serial {
                Some(n) => store.load_serial(&id, *n)?,
                None => store.load(&id)?,
            };
            let Some(state) = state else {
                return Err(match serial {
                    Some(n) => ApplyError::NoSuchSerial {
                        deployment: Box::new(id),
                        serial: *n,
                    }
                    .into(),
                    None => Failure::Usage(format!("no state for {id}")),
                });
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&state).unwrap_or_default()
            );
        }
        StateCommand::History { deployment, .. } => {
            let id = parse(deployment)?;
            for serial in store.history(&id)? {
                println!("{serial}");
            }
            if let Some(s) = store.load(&id)? {
                println!("{} (current)", s.serial);
            }
        }
        StateCommand::Pull { target, .. } => {
            let id = target.id();
            let Some(state) = store.load(&id)? else {
                return Err(Failure::Usage(format!(
                    "no state for {id} in {}",
                    store.describe()
                )));
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&state).unwrap_or_default()
            );
        }
        StateCommand::Push { from, .. } => {
            let from = from
                .clone()
                .unwrap_or_else(|| args.dir().join(".berth").join("state"));
            push(&Store::new(&from), &store)?;
        }
        StateCommand::Rm { target, .. } => {
            let id = target.id();
            let _lock = lock::acquire(&store, &id, "state rm", Duration::ZERO)?;
            if store.load(&id)?.is_none() && store.history(&id)?.is_empty() {
                return Err(Failure::Usage(format!(
                    "no state for {id} in {}",
                    store.describe()
                )));
            }
            store.remove(&id)?;
            println!("Removed the state of {id} from {}.", store.describe());
        }
        StateCommand::Unlock { id, .. } => {
            let (deployment, info) = lock::unlock(&store, id)?;
            println!(
                "Unlocked {deployment} (held by {} since {}).",
                info.holder, info.created
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Moves every project environment of `from` into `to`, each under its lock in `to`; one that
/// `to` already has state for is refused, and nothing is overwritten.
fn push(from: &Store, to: &Store) -> Result<(), Failure> {
    if from.local_root() == to.local_root() {
        return Err(Failure::Usage(
            "`state push` moves state from a local directory into another store: they are the same"
                .into(),
        ));
    }
    let ids: Vec<DeploymentId> = from
        .deployments()?
        .into_iter()
        .filter(|id| from.load(id).ok().flatten().is_some())
        .collect();
    if ids.is_empty() {
        return Err(Failure::Usage(format!(
            "no state to move in {}",
            from.describe()
        )));
    }
    for id in &ids {
        let _lock = lock::acquire(to, id, "state push", Duration::ZERO)?;
        let states = from.all_serials(id)?;
        to.import(&states)?;
        let serial = states.last().map_or(0, |s| s.serial);
        println!(
            "Moved {id} (serial {serial}, {} serial(s) of history) to {}.",
            states.len(),
            to.describe()
        );
    }
    eprintln!(
        "The local copy in {} is no longer used; remove it once you have checked `berth state list`.",
        from.describe()
    );
    Ok(())
}
