//! `berth state list|show|history|unlock`: reading the recorded state, and removing a lock that a
//! crashed apply left behind.

use super::session::Failure;
use berth_apply::lock;
use berth_apply::state::Store;
use berth_planner::DeploymentId;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    pub command: StateCommand,
    /// The configuration directory, as an option (the subcommands also take it as their last
    /// argument, like other commands).
    #[arg(long, global = true, default_value = ".", hide = true)]
    pub dir: PathBuf,
    /// Where state is kept (default: <DIR>/.berth/state; env: BERTH_STATE_DIR).
    #[arg(long, global = true, env = "BERTH_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

/// The configuration directory, the last argument of each subcommand as of other commands.
#[derive(Debug, Args, Clone)]
pub struct Place {
    /// The configuration directory (state is under <DIR>/.berth/state).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
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
            | StateCommand::Unlock { place, .. } => place,
        };
        place.dir.as_deref().unwrap_or(&self.dir)
    }
}

fn parse(d: &str) -> Result<DeploymentId, Failure> {
    d.parse().map_err(|_| Failure::Usage(format!("`{d}` is not a project environment: write `project/environment`, e.g. `shop/production`")))
}

pub fn run(args: &StateArgs) -> Result<ExitCode, Failure> {
    let store = Store::new(
        args.state_dir
            .clone()
            .unwrap_or_else(|| args.dir().join(".berth").join("state")),
    );
    match &args.command {
        StateCommand::List { .. } => {
            let locks = lock::held(&store);
            for id in store.deployments() {
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
                return Err(Failure::Usage(format!(
                    "no state for {id}{}",
                    serial
                        .map(|n| format!(" at serial {n}"))
                        .unwrap_or_default()
                )));
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
