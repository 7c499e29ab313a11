//! What the commands that plan share: reading and checking the configuration, choosing the
//! project environments in scope, reading secret digests, reading the cluster (or the recorded
//! state), and planning. Each step's failure becomes a [`Failure`] the command reports.

pub use super::failure::Failure;
use super::{load, ConfigArgs};
use berth_apply::payload::Payloads;
use berth_apply::state::{observed_from_states, State, Store};
use berth_apply::Cluster;
use berth_lang::model::{Config, Deployment, Environment};
use berth_planner::{
    Coverage, DeploymentId, Desired, Observed, Plan, PlanErrors, PlanOptions, ProxyPresence, Scope,
};
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Which project environments a command acts on.
#[derive(Debug, Args, Clone, Default)]
pub struct Selection {
    /// Only this project.
    #[arg(long, short = 'p')]
    pub project: Option<String>,
    /// Only this environment: production, staging, development, or a preview as
    /// `preview-<pr>` (`-e preview --pr <pr>` and `--var pr=<pr>` say the same).
    #[arg(long, short = 'e')]
    pub env: Option<String>,
    /// The pull request of a preview (`-e preview --pr 5` is `-e preview-5`).
    #[arg(long)]
    pub pr: Option<u64>,
    /// Keep state and locks in this directory instead of on the cluster (env: BERTH_STATE_DIR).
    #[arg(long, env = "BERTH_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

impl Selection {
    /// A plan of the whole configuration, unless `--project` or `--env` selects part of it.
    pub fn coverage(&self) -> Coverage {
        if self.project.is_none() && self.env.is_none() {
            Coverage::Whole
        } else {
            Coverage::Selection
        }
    }
}

pub struct Session {
    pub dir: PathBuf,
    pub config: Config,
    /// The configuration's sources, for rendering diagnostics about it.
    pub sources: Arc<berth_lang::SourceMap>,
    pub store: Store,
    /// The deployments in scope, by ID.
    pub selected: BTreeMap<DeploymentId, Deployment>,
}

impl Session {
    /// Reads and checks the configuration. Its warnings are shown; its errors (with the
    /// warnings) are the failure.
    pub fn open(config: &ConfigArgs, selection: &Selection) -> Result<Session, Failure> {
        let (env, pr) = match &selection.env {
            Some(e) => {
                let (env, pr) = environment(e, selection.pr, &config.vars)?;
                (Some(env), pr)
            }
            None if selection.pr.is_some() => {
                return Err(Failure::Usage(
                    "`--pr` names a preview: select it with `-e preview-<pr>`".into(),
                ))
            }
            None => (None, None),
        };
        // A preview selected by name gives the configuration its `pr` variable.
        let mut config = config.clone();
        if let Some(pr) = pr {
            if !config.vars.iter().any(|v| v.starts_with("pr=")) {
                config.vars.push(format!("pr={pr}"));
            }
        }
        let config = &config;
        let inputs = load::read_inputs(&config.dir)?;
        let options = berth_lang::Options {
            vars: load::var_inputs(config)?,
            strict: true,
            preview: env == Some(Environment::Preview),
            project: selection.project.clone(),
            ..berth_lang::Options::default()
        };
        let mut analysis = berth_lang::analyze(&load::display(&config.dir), inputs, &options);
        load::compose_hint(&config.dir, &mut analysis);
        // Links out of a selected project's directory are refused before anything is read.
        load::check_sources(
            &config.dir,
            &mut analysis,
            selection.project.as_deref(),
            false,
        );
        for (project, errors) in &analysis.left_out {
            eprintln!(
                "note: project `{project}` has {errors} error{} of its own and is left out; `berth validate` shows them",
                if *errors == 1 { "" } else { "s" }
            );
        }
        let sources = Arc::new(analysis.sources);
        let Some(cfg) = analysis.config else {
            return Err(Failure::invalid(analysis.diagnostics, sources));
        };
        if !analysis.diagnostics.is_empty() {
            load::report_human(&analysis.diagnostics, &sources);
        }
        let mut selected = BTreeMap::new();
        for d in &cfg.deployments {
            if selection.project.as_ref().is_some_and(|p| *p != d.project)
                || env.is_some_and(|e| e != d.environment)
                || pr.is_some_and(|n| d.pr != Some(n))
            {
                continue;
            }
            selected.insert(
                DeploymentId::new(&d.project, d.environment, d.pr),
                d.clone(),
            );
        }
        if let Some(p) = &selection.project {
            if !cfg.projects.contains(p) {
                let hint = berth_lang::suggest::closest(p, cfg.projects.iter().map(String::as_str))
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(Failure::Usage(format!(
                    "the configuration has no project `{p}`{hint}"
                )));
            }
        }
        if selected.is_empty() && (selection.project.is_some() || env.is_some()) {
            return Err(Failure::Usage(
                "no project environment matches the selection".into(),
            ));
        }
        let store = store(selection.state_dir.clone())?;
        Ok(Session {
            dir: config.dir.clone(),
            config: cfg,
            sources,
            store,
            selected,
        })
    }

    /// Refuses the cluster backend for selected project environments whose state is still in
    /// this configuration directory's `.berth/state` (E0322): the commands that read or write
    /// state call it, `berth graph` does not.
    pub fn check_moved(&self) -> Result<(), Failure> {
        Ok(berth_apply::state::check_moved(
            &self.store,
            &self.dir.join(".berth").join("state"),
            self.selected.keys(),
        )?)
    }

    /// The plan's scope, by the planner's scope rule ([`Scope::chosen`]): the selected
    /// deployments, and the platform (the proxy) when it is wanted.
    pub fn scope(&self, selection: &Selection, proxy: ProxyPresence) -> Scope {
        Scope::chosen(
            selection.coverage(),
            self.selected.values(),
            &self.config.platform,
            proxy,
        )
    }

    /// Digests and bytes of the selected deployments' secrets and configs, and, when the
    /// platform is in scope, of the platform's (the proxy's certificates, trusted CA and
    /// dashboard users). A tenant's apply never needs the platform's keys.
    /// A source that is not there is refused with every such source at its span (E0416), as
    /// `berth validate` reports a project's, before any is read.
    pub fn payloads(&self, platform: bool) -> Result<(berth_planner::Digests, Payloads), Failure> {
        let deployments: Vec<&Deployment> = self.selected.values().collect();
        let mut missing = load::missing_sources(&self.dir, &deployments);
        if platform {
            missing.extend(load::missing_platform_sources(
                &self.dir,
                &self.config.platform,
            ));
        }
        if !missing.is_empty() {
            return Err(Failure::invalid(missing, Arc::clone(&self.sources)));
        }
        let (mut digests, mut payloads) = berth_apply::payload::read(&self.dir, &deployments)?;
        if platform {
            let (d, p) = berth_apply::payload::read_platform(&self.dir, &self.config.platform)?;
            digests.extend(d);
            payloads.extend(p);
        }
        Ok((digests, payloads))
    }

    /// The desired state: the selected deployments, and the platform only when it is in scope
    /// (`platform`, from the same scope as [`Session::payloads`]), so that its digests are
    /// needed only then.
    pub fn desired(
        &self,
        digests: &berth_planner::Digests,
        platform: bool,
    ) -> Result<Desired, Failure> {
        let deployments: Vec<Deployment> = self.selected.values().cloned().collect();
        berth_planner::compile_in_scope(&deployments, &self.config.platform, digests, platform)
            .map_err(|e| self.plan_failure(&e))
    }

    /// Plans; the planner's errors are shown against this configuration's sources.
    pub fn plan(
        &self,
        desired: &Desired,
        observed: &Observed,
        options: &PlanOptions,
    ) -> Result<Plan, Failure> {
        berth_planner::plan(desired, observed, options).map_err(|e| self.plan_failure(&e))
    }

    /// The planner's errors as a failure shown against this configuration's sources.
    pub fn plan_failure(&self, errors: &PlanErrors) -> Failure {
        Failure::plan(errors, &self.sources)
    }

    /// The states of these deployments (absent ones are new).
    pub fn states(
        &self,
        ids: impl IntoIterator<Item = DeploymentId>,
    ) -> Result<BTreeMap<DeploymentId, State>, Failure> {
        Ok(self.store.load_many(ids)?)
    }

    /// Observed state from the recorded states alone (`--refresh=false`).
    pub fn recorded(
        &self,
        ids: impl IntoIterator<Item = DeploymentId>,
    ) -> Result<Observed, Failure> {
        let states = self.states(ids)?;
        Ok(observed_from_states(states.values()))
    }
}

/// The store a command uses: the directory when one is given (`--state-dir`,
/// `BERTH_STATE_DIR`), else the cluster. `BERTH_STATE_HISTORY` sets how many serials of each
/// project environment are kept (default 100), `BERTH_LOCK_LEASE` the lease of a lock on the
/// cluster (default 30s).
pub fn store(state_dir: Option<PathBuf>) -> Result<Store, Failure> {
    let retention = match std::env::var("BERTH_STATE_HISTORY") {
        Ok(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            Failure::Usage(format!(
                "BERTH_STATE_HISTORY=`{v}` is not a number of serials (at least 1)"
            ))
        })?,
        Err(_) => berth_apply::state::DEFAULT_RETENTION,
    };
    let mut store = Store::choose(state_dir, retention);
    if let Ok(v) = std::env::var("BERTH_LOCK_LEASE") {
        store.lease = super::apply::wait(&v)
            .ok()
            .filter(|d| *d >= std::time::Duration::from_secs(1))
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "BERTH_LOCK_LEASE=`{v}` is not a duration of at least 1s"
                ))
            })?;
    }
    Ok(store)
}

/// An environment as the command line names it, with its preview's pull request. A preview is
/// `preview-<pr>` everywhere berth prints it; `preview` with `--pr <pr>` or `--var pr=<pr>` is
/// accepted as the same. Two different pull requests are a usage error.
pub fn environment(
    text: &str,
    pr_flag: Option<u64>,
    vars: &[String],
) -> Result<(Environment, Option<u64>), Failure> {
    let from_var = vars
        .iter()
        .find_map(|v| v.strip_prefix("pr="))
        .map(|n| (n, n.parse::<u64>().ok()));
    let (env, named) = match text.strip_prefix("preview-") {
        Some(n) => {
            let pr = n.parse::<u64>().map_err(|_| {
                Failure::Usage(format!(
                    "`{text}` is not an environment: a preview is `preview-<pr>`, with the pull request's number"
                ))
            })?;
            (Environment::Preview, Some(pr))
        }
        None => (
            Environment::parse(text).ok_or_else(|| {
                Failure::Usage(format!(
                    "`{text}` is not an environment: use production, staging, development or preview-<pr>"
                ))
            })?,
            None,
        ),
    };
    if env != Environment::Preview {
        if pr_flag.is_some() {
            return Err(Failure::Usage(format!(
                "`--pr` names a preview, and `{text}` is not one: select it with `-e preview-<pr>`"
            )));
        }
        return Ok((env, None));
    }
    let mut pr = named;
    for (given, how) in [
        (pr_flag, "--pr"),
        (from_var.and_then(|(_, n)| n), "--var pr"),
    ] {
        match (pr, given) {
            (Some(a), Some(b)) if a != b => {
                return Err(Failure::Usage(format!(
                    "`-e {text}` and `{how}` name different previews ({a} and {b})"
                )))
            }
            (None, Some(b)) => pr = Some(b),
            _ => {}
        }
    }
    Ok((env, pr))
}

/// Whether an applied project environment is the environment selected: `preview` without a
/// pull request selects every preview.
pub fn env_matches(d: &DeploymentId, env: Environment, pr: Option<u64>) -> bool {
    match (env, pr) {
        (Environment::Preview, Some(n)) => d.env == format!("preview-{n}"),
        (Environment::Preview, None) => d.env.starts_with("preview-"),
        (other, _) => d.env == other.as_str(),
    }
}

/// A drift check or status (`command`) whose selection matched no applied project environment,
/// or that found none applied at all: a failure that says what was selected, what is applied and
/// where the state was looked for, never a pass.
pub fn nothing_applied(
    command: &str,
    store: &Store,
    project: Option<&str>,
    env: Option<&str>,
    applied: &[DeploymentId],
) -> Failure {
    // The command as it was given (an echo, not a hint to run it).
    let mut words = vec!["berth", command];
    if let Some(p) = project {
        words.extend(["-p", p]);
    }
    if let Some(e) = env {
        words.extend(["-e", e]);
    }
    let selection = format!("`{}`", words.join(" "));
    let where_ = store.describe();
    let mut d = berth_lang::Diagnostic::unlocated(
        berth_lang::Code::NothingApplied,
        format!("{selection} found no applied project environment to check in {where_}"),
    );
    d = if applied.is_empty() && store.local_root().is_none() {
        d.with_note(format!(
            "no project environment has a state in {where_}; do your applies keep state in a directory (`--state-dir`, BERTH_STATE_DIR)?"
        ))
    } else if applied.is_empty() {
        d.with_note(format!(
            "no project environment has a state in {where_}; is it the state directory of your applies (`--state-dir`, BERTH_STATE_DIR)?"
        ))
    } else {
        let names: Vec<String> = applied.iter().map(ToString::to_string).collect();
        d.with_note(format!("applied: {}", names.join(", ")))
    };
    // Only an environment named on the command line can be a preview named the wrong way.
    if env.is_some() {
        d = d.with_help(
            "a preview is `-e preview-<pr>`; `-e preview` selects every applied preview",
        );
    }
    Failure::Found(Box::new(d))
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Connects for an apply: when swarm mode is inactive and the configuration declares a platform,
/// initialises it with the platform's address pool, as applying the platform means.
pub async fn connect_for_apply(session: &Session) -> Result<Cluster, Failure> {
    let engine = berth_apply::connect_engine().await?;
    let platform = &session.config.platform;
    if platform.span.is_some() {
        let pool = platform.address_pool.as_deref();
        if berth_apply::connect::ensure_swarm(
            &engine,
            &platform.advertise_address,
            pool,
            platform.subnet_size,
        )
        .await?
        {
            eprintln!(
                "Swarm mode was inactive: initialised it (advertising {}, address pool {}).",
                platform.advertise_address,
                pool.map(|p| format!("{p} in /{} networks", platform.subnet_size))
                    .unwrap_or_else(|| "Docker's default".into())
            );
        }
    }
    Ok(berth_apply::connect().await?)
}

/// Reads the live cluster.
pub async fn observe(cluster: &Cluster) -> Result<Observed, Failure> {
    let snapshot = berth_apply::read::snapshot(cluster).await?;
    Observed::from_docker(&snapshot).map_err(|e| Failure::Apply(e.into()))
}

/// Lineage and serial of a set of states, as one value a plan file records: the same value
/// the apply of a saved plan checks it against ([`berth_apply::deploy::lineage_and_serial`]).
pub fn lineage_and_serial(states: &BTreeMap<DeploymentId, State>) -> (String, u64) {
    berth_apply::deploy::lineage_and_serial(states)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_project_or_env_selects_part_of_the_configuration() {
        let select = |project: Option<&str>, env: Option<&str>| Selection {
            project: project.map(str::to_string),
            env: env.map(str::to_string),
            pr: None,
            // Where state is kept does not select anything.
            state_dir: Some(PathBuf::from("/tmp/state")),
        };
        assert_eq!(select(None, None).coverage(), Coverage::Whole);
        assert_eq!(select(Some("shop"), None).coverage(), Coverage::Selection);
        assert_eq!(
            select(None, Some("staging")).coverage(),
            Coverage::Selection
        );
        assert_eq!(
            select(Some("shop"), Some("staging")).coverage(),
            Coverage::Selection
        );
    }

    #[test]
    fn a_preview_is_named_one_way_and_the_others_are_aliases() {
        let preview = |text: &str, pr: Option<u64>, vars: &[&str]| {
            let vars: Vec<String> = vars.iter().map(|v| v.to_string()).collect();
            environment(text, pr, &vars).map_err(|f| format!("{f:?}"))
        };
        let five = Ok((Environment::Preview, Some(5)));
        assert_eq!(preview("preview-5", None, &[]), five);
        assert_eq!(preview("preview", Some(5), &[]), five);
        assert_eq!(preview("preview", None, &["pr=5"]), five);
        assert_eq!(preview("preview-5", Some(5), &["pr=5"]), five);
        assert_eq!(
            preview("preview", None, &[]),
            Ok((Environment::Preview, None))
        );
        assert_eq!(
            preview("staging", None, &["pr=5"]),
            Ok((Environment::Staging, None))
        );
        assert!(preview("preview-5", Some(6), &[]).is_err());
        assert!(preview("preview-5", None, &["pr=6"]).is_err());
        assert!(preview("preview-x", None, &[]).is_err());
        assert!(preview("staging", Some(5), &[]).is_err());
        assert!(preview("prod", None, &[]).is_err());
    }
}
