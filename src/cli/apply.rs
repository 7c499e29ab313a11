//! `berth apply`: the user interface of an apply. It reads the arguments (a configuration or a
//! saved plan file), holds the access gate, decides the scope, and hands the run to
//! `berth_apply::deploy` (locks, the read of the cluster, the saved plan's checks, states);
//! here the plan is printed, confirmation asked on a terminal, progress shown, the summary and
//! the route checks reported, and the exit is non-zero when anything failed, was rolled back or
//! was interrupted.

use super::access::{ActorArgs, Gate};
use super::plan::{render, PlanFormat};
use super::progress::{self, ProgressMode};
use super::session::{self, Failure, Selection, Session};
use super::ConfigArgs;
use berth_apply::deploy::{self, Hooks, Operation, Outcome, Planning, Request};
use berth_apply::engine::DockerEngine;
use berth_apply::execute::{self, Options};
use berth_apply::lock::LockInfo;
use berth_apply::progress::Progress;
use berth_apply::ApplyError;
use berth_lang::access::Action as Acting;
use berth_planner::{
    Action, DeploymentId, Desired, Observed, Plan, PlanErrors, PlanFile, PlanOptions,
    ProxyPresence, Scope,
};
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args, Clone)]
pub struct ExecArgs {
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// How many changes run at once.
    #[arg(long, default_value_t = 10)]
    pub parallelism: usize,
    /// Do not wait for services to converge.
    #[arg(long)]
    pub no_wait: bool,
    /// How long one service may take to converge: a duration (`3m`, `90s`) or seconds.
    #[arg(long, default_value = "180", value_parser = wait)]
    pub timeout: Duration,
    /// Wait this long for a lock held by another apply: a duration (`5m`) or seconds (default:
    /// fail at once).
    #[arg(long, default_value = "0", value_parser = wait)]
    pub lock_timeout: Duration,
    /// Allow deleting or replacing volumes (their data is lost).
    #[arg(long)]
    pub allow_data_loss: bool,
    /// Do not check that new or changed routes answer through the proxy.
    #[arg(long)]
    pub no_verify: bool,
    /// How to show progress: bars on a terminal, lines in CI logs.
    #[arg(long, value_enum, default_value_t)]
    pub progress: ProgressMode,
}

#[derive(Debug, Args)]
#[command(mut_arg("dir", |a| a
    .value_name("DIR|PLANFILE")
    .help("The configuration directory, or a plan file saved by `berth plan --out` (applied as reviewed, without asking again)")))]
pub struct ApplyArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub exec: ExecArgs,
    #[command(flatten)]
    pub actor: ActorArgs,
    /// With a plan file: the directory of the configuration it was made from (default: the one
    /// the plan file records).
    #[arg(long = "dir", visible_alias = "config-dir", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
}

pub fn run(args: &ApplyArgs) -> Result<ExitCode, Failure> {
    if args.config.dir.is_file() {
        return run_saved(args, &args.config.dir);
    }
    if !args.config.dir.exists() {
        // Neither a directory nor a plan file: name the path as given.
        return Err(Failure::Load(super::load::LoadError::Io {
            path: args.config.dir.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
        }));
    }
    let session = Session::open(&args.config, &args.selection)?;
    let gate = Gate::new(
        &session.config,
        &session.sources,
        &args.actor,
        Acting::Apply,
    );
    // The access roles, before the cluster is read: the selected project environments, and
    // the platform when the apply covers it whatever the cluster holds (a whole configuration).
    let certain = session.scope(&args.selection, ProxyPresence::Exists);
    gate.check(&ids(&certain, &session))?;
    // Initialising swarm mode applies the platform: only for an actor who may apply it.
    let platform_allowed = gate.allows_platform();
    // The scope depends on whether the proxy exists: one cheap check before locking; the full
    // read that the plan needs comes after the locks.
    let proxy = session::runtime().block_on(async {
        let cluster = if platform_allowed {
            session::connect_for_apply(&session).await?
        } else {
            match berth_apply::connect().await {
                Err(ApplyError::SwarmInactive { .. }) => return Ok(None),
                cluster => cluster?,
            }
        };
        Ok::<_, Failure>(Some(berth_apply::read::proxy_exists(&cluster).await?))
    })?;
    let Some(proxy) = proxy else {
        eprintln!("Swarm mode is inactive, and initialising it applies the platform.");
        // The actor may not apply the platform, so the gate refuses.
        gate.check([&DeploymentId::platform()])?;
        return Err(Failure::Refused);
    };
    let scope = session.scope(&args.selection, ProxyPresence::found(proxy));
    if scope.has_platform() && !certain.has_platform() {
        // The project's apply creates the missing proxy: that applies the platform, before
        // anything is written.
        gate.check([&DeploymentId::platform()])?;
    }
    let options = PlanOptions {
        scope,
        allow_data_loss: args.exec.allow_data_loss,
        keep_volumes: false,
    };
    execute_with(&session, options, &args.exec, None)
}

fn run_saved(args: &ApplyArgs, path: &Path) -> Result<ExitCode, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::Load(super::load::LoadError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    })?;
    let saved = PlanFile::from_json(&text).map_err(|e| {
        Failure::Usage(format!(
            "`{}` is not a berth plan file: {e}",
            path.display()
        ))
    })?;
    let origin = saved.origin.clone();
    // The configuration: `--dir`, else where the plan file says it was made, else here.
    let dir = match (&args.config_dir, &origin) {
        (Some(dir), _) => dir.clone(),
        (None, Some(o)) => PathBuf::from(&o.dir),
        (None, None) => PathBuf::from("."),
    };
    let has_files = super::load::berth_files(&dir).is_ok_and(|files| !files.is_empty());
    if !has_files {
        return Err(Failure::Load(super::load::LoadError::PlanConfig {
            plan: path.to_path_buf(),
            dir: std::path::absolute(&dir).unwrap_or(dir.clone()),
            exists: dir.is_dir(),
            given: args.config_dir.is_some(),
        }));
    }
    let config = ConfigArgs {
        dir,
        vars: args.config.vars.clone(),
        var_files: args.config.var_files.clone(),
    };
    // The selection the plan was made with, unless the command line gives one.
    let mut selection = args.selection.clone();
    if let Some(o) = &origin {
        if selection.project.is_none() && selection.env.is_none() {
            selection.project = o.project.clone();
            selection.env = o.environment.clone();
        }
    }
    let args = &ApplyArgs {
        config: config.clone(),
        selection,
        exec: ExecArgs {
            // The plan was reviewed when it was saved: applying it asks nothing (as Terraform's
            // saved plans do).
            auto_approve: true,
            ..args.exec.clone()
        },
        actor: args.actor.clone(),
        config_dir: None,
    };
    let session = Session::open(&config, &args.selection)?;
    // A saved plan is checked as a plan made now would be: against the access roles of the
    // configuration as it is, for everything it covers or changes, before the cluster is read.
    let mut covered: std::collections::BTreeSet<&DeploymentId> = saved.plan.scope.iter().collect();
    covered.extend(saved.plan.changes.iter().map(|c| &c.address.deployment));
    Gate::new(
        &session.config,
        &session.sources,
        &args.actor,
        Acting::Apply,
    )
    .check(covered)?;
    let options = PlanOptions {
        scope: Scope::Only(saved.plan.scope.iter().cloned().collect()),
        allow_data_loss: true,
        keep_volumes: false,
    };
    execute_with(&session, options, &args.exec, Some(saved))
}

/// The project environments (and the platform) `scope` covers.
fn ids(scope: &Scope, session: &Session) -> Vec<DeploymentId> {
    match scope {
        Scope::Only(ids) => ids.iter().cloned().collect(),
        Scope::Desired => session
            .selected
            .keys()
            .cloned()
            .chain([DeploymentId::platform()])
            .collect(),
    }
}

/// Reads the payloads and the desired state, and has the orchestration ([`deploy::run`]) lock,
/// plan (or check the saved plan), confirm, execute and record; then shows the summary and
/// checks the routes.
pub fn execute_with(
    session: &Session,
    options: PlanOptions,
    exec: &ExecArgs,
    saved: Option<PlanFile>,
) -> Result<ExitCode, Failure> {
    session.check_moved()?;
    let platform = options.scope.has_platform();
    let (digests, payloads) = session.payloads(platform)?;
    let desired = session.desired(&digests, platform)?;
    let scope: Vec<DeploymentId> = match &saved {
        Some(s) => s.plan.scope.clone(),
        None => options.scope.resolve(&desired).into_iter().collect(),
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let request = Request {
        operation: Operation::Apply,
        store: &session.store,
        scope,
        lock_timeout: exec.lock_timeout,
        desired: &desired,
        payloads,
        planning: saved.map_or(Planning::Now, |file| Planning::Saved(Box::new(file))),
        outputs: deploy::route_outputs(&desired, &session.config.platform.proxy),
        options: Options {
            parallelism: exec.parallelism,
            wait: !exec.no_wait,
            timeout: exec.timeout,
            cancel: cancel.clone(),
            ..Options::default()
        },
    };
    let mut hooks = ApplyHooks {
        session,
        desired: &desired,
        options: &options,
        exec,
        cancel: cancel.clone(),
    };
    let mut cluster = None;
    session::runtime().block_on(async {
        let connect = async {
            let connected = berth_apply::connect().await?;
            cluster = Some(connected.clone());
            Ok(Arc::new(DockerEngine::new(&connected)))
        };
        let (plan, report) = match deploy::run(request, connect, &mut hooks).await? {
            Outcome::Unchanged(_) => return Ok(ExitCode::SUCCESS),
            Outcome::Cancelled(_) => {
                eprintln!("Apply cancelled.");
                return Ok(ExitCode::from(super::EXIT_ERROR));
            }
            Outcome::Executed { plan, report } => (plan, report),
        };
        let code = summarize(&plan, &report, cancel.load(Ordering::SeqCst))?;
        if code != ExitCode::SUCCESS || exec.no_verify {
            return Ok(code);
        }
        match &cluster {
            Some(cluster) => verify_routes(session, cluster, &desired, &plan).await,
            None => Ok(code),
        }
    })
}

/// What `berth apply` shows and answers while the orchestration runs.
struct ApplyHooks<'a> {
    session: &'a Session,
    desired: &'a Desired,
    options: &'a PlanOptions,
    exec: &'a ExecArgs,
    cancel: Arc<AtomicBool>,
}

impl Hooks for ApplyHooks<'_> {
    type Error = Failure;

    fn broken_lock(&mut self, broken: &LockInfo) {
        warn_broken(broken);
    }

    fn plan(&mut self, observed: &Observed) -> Result<Plan, Failure> {
        self.session.plan(self.desired, observed, self.options)
    }

    fn refused(&mut self, errors: PlanErrors) -> Failure {
        self.session.plan_failure(&errors)
    }

    fn show(&mut self, plan: &Plan) {
        print!("{}", render(plan, PlanFormat::Human));
    }

    fn confirm(&mut self, _: &Plan) -> Result<bool, Failure> {
        Ok(self.exec.auto_approve || confirm()?)
    }

    fn start(&mut self, plan: &Plan) -> Arc<dyn Progress> {
        let signal = self.cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nInterrupted: starting nothing new. What Docker already accepted stays sent and is recorded as the cluster holds it, without waiting for it to converge. Press Ctrl-C again to stop at once.");
                signal.store(true, Ordering::SeqCst);
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
        progress::reporter(self.exec.progress, steps(plan))
    }
}

/// How many steps executing the plan takes (its schedule: a replacement is a delete and a
/// create, a service that leaves a replaced network or volume has a detach step).
pub fn steps(plan: &Plan) -> u64 {
    let changes: Vec<berth_planner::Change> = plan.actionable().cloned().collect();
    berth_apply::schedule::Schedule::build(&changes).len() as u64
}

fn confirm() -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Usage("refusing to apply without confirmation: standard input is not a terminal; review the plan and pass --auto-approve".into()));
    }
    eprint!("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    Ok(line.trim() == "yes")
}

fn summarize(
    plan: &Plan,
    report: &execute::Report,
    interrupted: bool,
) -> Result<ExitCode, Failure> {
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let mut added = 0;
    let mut changed = 0;
    let mut destroyed = 0;
    for c in plan
        .actionable()
        .filter(|c| report.done.contains(&c.address))
    {
        match c.action {
            Action::Create => added += 1,
            Action::Update => changed += 1,
            Action::Replace => {
                added += 1;
                destroyed += 1;
            }
            Action::Delete => destroyed += 1,
            Action::NoOp => {}
        }
    }
    if report.failed.is_empty() && !interrupted && report.skipped.is_empty() {
        println!(
            "\nApply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed."
        );
        return Ok(ExitCode::SUCCESS);
    }
    // Changes Docker accepted but that did not converge are neither done nor undone: say so.
    let unconverged = report
        .failed
        .iter()
        .filter(|(_, e)| matches!(e, ApplyError::NotConverged { .. }))
        .count();
    let rolled_back = report
        .failed
        .iter()
        .filter(|(_, e)| matches!(e, ApplyError::RolledBack { .. }))
        .count();
    let unhealthy = report
        .failed
        .iter()
        .filter(|(_, e)| matches!(e, ApplyError::CanaryUnhealthy { .. }))
        .count();
    let mut extra = String::new();
    if unhealthy > 0 {
        extra.push_str(&format!(
            ", {unhealthy} canary not healthy (receiving no traffic)"
        ));
    }
    if unconverged > 0 {
        extra.push_str(&format!(", {unconverged} sent to Docker but not converged"));
    }
    if rolled_back > 0 {
        extra.push_str(&format!(", {rolled_back} rolled back by Swarm"));
    }
    println!("\nApply incomplete. Resources: {added} added, {changed} changed, {destroyed} destroyed{extra}; state records what the cluster holds.");
    for (address, e) in &report.failed {
        eprintln!("error[{}]: {address}: {e}", e.code().as_str());
        match e {
            ApplyError::RolledBack { task_errors, .. }
            | ApplyError::NotConverged { task_errors, .. }
            | ApplyError::CanaryUnhealthy { task_errors, .. } => {
                for t in task_errors {
                    eprintln!("  {t}");
                }
            }
            ApplyError::JobFailed { logs, .. } => {
                if logs.is_empty() {
                    eprintln!("  the job printed nothing");
                } else {
                    eprintln!("  the job's last {} log lines:", logs.len());
                }
                for line in logs {
                    eprintln!("  | {line}");
                }
            }
            _ => {}
        }
    }
    if interrupted {
        return Err(Failure::Apply(ApplyError::Interrupted {
            done: report.done.len(),
            skipped: report.skipped.len(),
        }));
    }
    Ok(ExitCode::from(super::EXIT_ERROR))
}

/// Says so when taking a lock removed one that a dead process left behind.
pub fn warn_broken(b: &LockInfo) {
    eprintln!("warning: removed the lock {} left by {} (pid {}, {} since {}); its holder no longer runs (its process is gone, or its lease on the cluster expired)", b.id, b.holder, b.pid, b.operation, b.created);
}

/// The routes of services the plan created or changed (or of a changed proxy) must answer
/// through the proxy before the apply counts as a success.
async fn verify_routes(
    session: &Session,
    cluster: &berth_apply::Cluster,
    desired: &Desired,
    plan: &Plan,
) -> Result<ExitCode, Failure> {
    use berth_apply::verify::{self, Outcome, Target};
    let changed: std::collections::BTreeSet<&berth_planner::Address> =
        plan.actionable().map(|c| &c.address).collect();
    let proxy_changed = changed.iter().any(|a| a.deployment.is_platform());
    let mut targets = Vec::new();
    for info in desired.deployments.values() {
        for r in &info.routes {
            if !(proxy_changed || changed.contains(&r.service)) {
                continue;
            }
            targets.push((
                r.url(&session.config.platform.proxy),
                Target {
                    host: r.host.clone(),
                    path: r.path.clone().unwrap_or_else(|| "/".into()),
                    tls: r.tls,
                    acme: r.acme,
                },
            ));
        }
    }
    if targets.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let proxy = &session.config.platform.proxy;
    let host = cluster.engine.proxy_host();
    let checks = targets.iter().map(|(_, t)| {
        verify::route(
            &host,
            proxy.http_port,
            proxy.https_port,
            t,
            Duration::from_secs(60),
        )
    });
    let outcomes = futures_util::future::join_all(checks).await;
    let mut failed = 0;
    for ((url, target), outcome) in targets.iter().zip(outcomes) {
        match outcome {
            Outcome::Answered {
                status,
                default_certificate,
            } => {
                println!("Route {url} answers ({status}).");
                if default_certificate {
                    if target.acme {
                        println!("  warning: it still serves Traefik's default certificate: the ACME certificate was not issued within 60 s (the proxy's log says why).");
                    } else {
                        println!("  warning: it serves Traefik's default certificate: no platform `certificate` covers this host.");
                    }
                }
            }
            Outcome::NotAnswering { reason } => {
                failed += 1;
                eprintln!("error: route {url} does not answer through the proxy: {reason}");
            }
        }
    }
    if failed > 0 {
        eprintln!(
            "help: `berth status` shows the services' tasks and the port each route sends to; pass --no-verify to skip this check"
        );
        return Ok(ExitCode::from(super::EXIT_ERROR));
    }
    Ok(ExitCode::SUCCESS)
}

/// A wait given on the command line: a duration as the language writes it (`5m`, `1m30s`), or a
/// whole number of seconds, so that the hints berth prints (`--lock-timeout 5m`) work as given.
pub fn wait(text: &str) -> Result<Duration, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|e| e.to_string());
    }
    berth_lang::units::duration(text)
        .map(Duration::from_nanos)
        .map_err(|e| format!("`{text}` is not a duration ({e}): write e.g. `5m`, `90s` or `300`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn waits_are_durations_or_seconds() {
        assert_eq!(wait("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(wait("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(wait("300"), Ok(Duration::from_secs(300)));
        assert_eq!(wait("0"), Ok(Duration::ZERO));
        assert!(wait("five").is_err());
        assert!(wait("").is_err());
    }

    /// The hint of a lock held by another apply works when followed: the flag it suggests is
    /// accepted as written.
    #[test]
    fn the_lock_hint_is_a_command_line_berth_accepts() {
        let e = ApplyError::Locked {
            deployment: Box::new(DeploymentId::new(
                "shop",
                berth_lang::model::Environment::Production,
                None,
            )),
            id: "abc".into(),
            holder: "ci@runner".into(),
            since: "now".into(),
            stale: false,
        };
        let hint = e.hint().expect("a hint");
        let flag = hint
            .split('`')
            .find(|part| part.starts_with("--lock-timeout"))
            .expect("the hint names --lock-timeout");
        let mut argv = vec!["berth", "apply"];
        argv.extend(flag.split_whitespace());
        argv.push(".");
        let cli = crate::cli::Cli::try_parse_from(argv).expect("the hinted flag parses");
        let crate::cli::Command::Apply(args) = cli.command else {
            panic!("not an apply")
        };
        assert_eq!(args.exec.lock_timeout, Duration::from_secs(300));
    }
}
