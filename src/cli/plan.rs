//! `berth plan`: what applying would change, for people (Terraform's conventions), pull requests
//! (markdown) or machines (JSON); optionally saved for `berth apply`. Exit 0 when nothing would
//! change, 2 with `--detailed-exitcode` when something would, 1 on errors.

use super::session::{self, Failure, Selection, Session};
use super::{output, ConfigArgs, EXIT_CHANGES};
use berth_planner::render::Against;
use berth_planner::{Origin, PlanFile, PlanOptions, ProxyPresence, RenderOptions};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PlanFormat {
    #[default]
    Human,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub selection: Selection,
    /// Save the plan for `berth apply FILE` (and `berth show FILE`).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Read the live cluster (default). `--refresh=false` plans against the state file alone,
    /// for CI without access to the cluster.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub refresh: bool,
    /// With `--refresh=false`: plan against this state file (from `berth state pull`), or every
    /// `*.json` file of this directory, instead of the store; no Docker engine is needed.
    #[arg(long, value_name = "FILE|DIR")]
    pub state_file: Option<PathBuf>,
    /// Exit 2 when the plan has changes.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// How to show the plan: for a terminal, a pull-request comment, or machines.
    #[arg(long, value_enum, default_value_t)]
    pub format: PlanFormat,
    /// Allow deleting or replacing volumes (their data is lost).
    #[arg(long)]
    pub allow_data_loss: bool,
}

pub fn render(plan: &berth_planner::Plan, format: PlanFormat) -> String {
    render_as(plan, format, Against::Cluster, false)
}

/// Renders a plan made against `against`; `destroy` when it is a `berth destroy`'s.
/// A drift check's restore plan for people: its desired side is the recorded state.
pub fn render_restore(plan: &berth_planner::Plan) -> String {
    let options = RenderOptions {
        color: output::color_stdout(),
        restore: true,
        ..RenderOptions::default()
    };
    berth_planner::render::human(plan, &options)
}

pub fn render_as(
    plan: &berth_planner::Plan,
    format: PlanFormat,
    against: Against,
    destroy: bool,
) -> String {
    let options = RenderOptions {
        color: format == PlanFormat::Human && output::color_stdout(),
        against,
        destroy,
        restore: false,
    };
    match format {
        PlanFormat::Human => berth_planner::render::human(plan, &options),
        PlanFormat::Markdown => berth_planner::render::markdown(plan, &options),
        PlanFormat::Json => berth_planner::render::json(plan, &options),
    }
}

pub fn run(args: &PlanArgs) -> Result<ExitCode, Failure> {
    let mut selection = args.selection.clone();
    let files = match &args.state_file {
        Some(_) if args.refresh => {
            return Err(Failure::Usage(
                "--state-file plans against recorded state: add --refresh=false".into(),
            ))
        }
        Some(path) => {
            // The files stand for the store: nothing is read from the cluster.
            selection.state_dir = Some(path.clone());
            let states = berth_apply::state::read_files(path)?;
            Some(
                states
                    .into_iter()
                    .map(|s| (s.deployment.clone(), s))
                    .collect::<std::collections::BTreeMap<_, _>>(),
            )
        }
        None => None,
    };
    let session = Session::open(&args.config, &selection)?;
    if files.is_none() {
        session.check_moved()?;
    }
    let observed = if args.refresh {
        let rt = session::runtime();
        Some(rt.block_on(async {
            let cluster = berth_apply::connect().await?;
            session::observe(&cluster).await
        })?)
    } else {
        None
    };
    let options = PlanOptions {
        scope: session.scope(
            &args.selection,
            observed.as_ref().map_or(ProxyPresence::Unknown, |o| {
                ProxyPresence::found(o.has_proxy())
            }),
        ),
        allow_data_loss: args.allow_data_loss,
        keep_volumes: false,
    };
    let platform = options.scope.has_platform();
    let (digests, _payloads) = session.payloads(platform)?;
    let desired = session.desired(&digests, platform)?;
    let scope_ids: Vec<_> = options.scope.resolve(&desired).into_iter().collect();
    let states = match &files {
        Some(all) => all
            .iter()
            .filter(|(id, _)| scope_ids.contains(id))
            .map(|(id, s)| (id.clone(), s.clone()))
            .collect(),
        None => session.states(scope_ids.iter().cloned())?,
    };
    // The project environments with recorded state, listed once (on the cluster backend a
    // listing is an engine call): the pulled files', else the store's. Needed to plan against
    // recorded state, and for the note on previews a whole plan leaves out.
    let recorded_ids = match &files {
        Some(all) => all.keys().cloned().collect(),
        None if observed.is_none() || args.selection.env.is_none() => {
            session.store.deployments()?
        }
        None => Vec::new(),
    };
    let observed = match observed {
        Some(o) => o,
        None if files.is_some() => {
            berth_apply::state::observed_from_states(files.iter().flat_map(|f| f.values()))
        }
        // Slots and claims of other project environments matter too: read every recorded state.
        None => session.recorded(recorded_ids.iter().cloned())?,
    };
    let mut plan = session.plan(&desired, &observed, &options)?;
    if args.selection.env.is_none() {
        if let Some(note) = previews_left_out(&session, &observed, &recorded_ids, &scope_ids) {
            plan.notes.push(note);
        }
    }
    let against = if args.refresh {
        Against::Cluster
    } else {
        Against::RecordedState
    };
    print!("{}", render_as(&plan, args.format, against, false));
    if let Some(path) = &args.out {
        let (lineage, serial) = session::lineage_and_serial(&states);
        let mut file = PlanFile::new(
            plan.clone(),
            lineage,
            serial,
            &observed,
            config_digest(&session),
        );
        // So that `berth apply FILE` finds the configuration from any directory.
        let dir = std::fs::canonicalize(&args.config.dir).map_err(|e| {
            Failure::Load(super::load::LoadError::Io {
                path: args.config.dir.clone(),
                source: e,
            })
        })?;
        file.origin = Some(Origin {
            dir: dir.display().to_string(),
            project: args.selection.project.clone(),
            environment: args.selection.env.clone(),
        });
        std::fs::write(path, file.to_json()).map_err(|e| {
            Failure::Load(super::load::LoadError::Io {
                path: path.clone(),
                source: e,
            })
        })?;
        eprintln!(
            "Saved the plan to {}. Apply exactly this plan with `berth apply {}`.",
            path.display(),
            path.display()
        );
    }
    if args.detailed_exitcode && !plan.is_empty() {
        return Ok(ExitCode::from(EXIT_CHANGES));
    }
    Ok(ExitCode::SUCCESS)
}

/// Previews are planned one at a time (`-e preview-<pr>`), so a plan without `-e` leaves out
/// the previews that run or are recorded: it says which, rather than passing over them.
fn previews_left_out(
    session: &Session,
    observed: &berth_planner::Observed,
    recorded: &[berth_planner::DeploymentId],
    scope: &[berth_planner::DeploymentId],
) -> Option<String> {
    let previews: std::collections::BTreeSet<berth_planner::DeploymentId> = observed
        .resources
        .iter()
        .map(|r| r.address.deployment.clone())
        .chain(recorded.iter().cloned())
        .filter(|d| d.env.starts_with("preview-") && !scope.contains(d))
        // The projects selected (all of the configuration's without `-p`).
        .filter(|d| session.selected.keys().any(|s| s.project == d.project))
        .collect();
    if previews.is_empty() {
        return None;
    }
    let names: Vec<String> = previews.iter().map(ToString::to_string).collect();
    Some(format!(
        "this plan leaves out {} preview environment{} that exist{} ({}): previews are planned one at a time, with `-e preview-<pr>`",
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        if names.len() == 1 { "s" } else { "" },
        names.join(", ")
    ))
}

/// A digest of the configuration's meaning (the checked model), recorded in saved plans.
pub fn config_digest(session: &Session) -> String {
    let json = serde_json::to_vec(&session.selected).unwrap_or_default();
    berth_planner::units::sha256_hex(&json)
}
