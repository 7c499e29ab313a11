//! One apply or destroy from start to end, so that the binary keeps only its user interface.
//! [`run`] takes what the binary decided (the scope, the desired state and its payloads, a plan
//! to make now or a saved one, the executor's options) and does, in this order: take the locks
//! of every project environment in scope (the platform's too when it is in scope), connect and
//! read the cluster under the locks, check a saved plan (freshness against the states' lineage
//! and serial and the observed cluster, the secrets' digests, the tenant boundary) or have the
//! binary make the plan, show it and ask for confirmation, execute, record the objects the plan
//! leaves alone and the route outputs, save the states that changed (only they take the next
//! serial), release the locks.
//!
//! Nothing here prints: the binary sees the plan, answers the confirmation and shows progress
//! through [`Hooks`]. Planning stays the binary's ([`Hooks::plan`], [`Hooks::refused`]), so that
//! the planner's errors remain diagnostics pointing into the configuration the binary read.
//!
//! **Invariant:** nothing is read from the cluster before every lock is held, and nothing is
//! changed before the plan was checked and confirmed. States are saved whether the steps
//! succeeded or failed.

use crate::engine::Engine;
use crate::error::ApplyError;
use crate::execute::{self, Options, Report};
use crate::lock::{self, LockInfo};
use crate::payload::Payloads;
use crate::progress::Progress;
use crate::state::{self, Outputs, RouteOutput, State, Store};
use berth_planner::{DeploymentId, Desired, Observed, Plan, PlanErrors, PlanFile, Spec};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// What the run does, as its lock records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Apply,
    Destroy,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "apply",
            Operation::Destroy => "destroy",
        }
    }
}

/// Where the plan comes from.
pub enum Planning {
    /// Made now, against the cluster read under the locks, by [`Hooks::plan`].
    Now,
    /// Saved earlier (`berth plan --out`): applied only when it is still fresh.
    Saved(Box<PlanFile>),
}

/// What the binary decided.
pub struct Request<'a> {
    pub operation: Operation,
    pub store: &'a Store,
    /// The project environments (and the platform) whose locks are taken and whose states are
    /// begun and saved.
    pub scope: Vec<DeploymentId>,
    /// How long to wait for a lock another holder has (zero: fail at once).
    pub lock_timeout: Duration,
    /// The desired state in scope, against which a saved plan's tenant boundary is checked
    /// again (empty for a destroy).
    pub desired: &'a Desired,
    /// Secret and config bytes, for Docker's create calls only.
    pub payloads: Payloads,
    pub planning: Planning,
    /// The outputs each state records once the steps ran (a destroy clears them).
    pub outputs: BTreeMap<DeploymentId, Outputs>,
    pub options: Options,
}

/// What the binary does along the way: everything a person sees or answers.
pub trait Hooks {
    /// The binary's error, which apply's errors convert into.
    type Error: From<ApplyError>;
    /// Taking a lock removed one that a holder which no longer runs left behind.
    fn broken_lock(&mut self, _broken: &LockInfo) {}
    /// Makes the plan against the cluster as read under the locks.
    fn plan(&mut self, observed: &Observed) -> Result<Plan, Self::Error>;
    /// The planner refused a saved plan against what runs now (the tenant boundary).
    fn refused(&mut self, errors: PlanErrors) -> Self::Error;
    /// The plan, checked, before anything changes (also when it is empty).
    fn show(&mut self, plan: &Plan);
    /// Whether to go on with a plan that changes something.
    fn confirm(&mut self, plan: &Plan) -> Result<bool, Self::Error>;
    /// The steps are about to start: where their progress goes.
    fn start(&mut self, plan: &Plan) -> Arc<dyn Progress>;
}

/// How a run ended, when it did not fail before executing.
#[derive(Debug)]
pub enum Outcome {
    /// The plan changes nothing (the states caught up with objects an interrupted apply created
    /// but could not record).
    Unchanged(Plan),
    /// The confirmation was refused; nothing changed.
    Cancelled(Plan),
    /// The steps ran; the report says which succeeded, failed or never started.
    Executed { plan: Plan, report: Report },
}

/// Runs one apply or destroy. `connect` is awaited only once every lock is held.
pub async fn run<E, C, H>(
    request: Request<'_>,
    connect: C,
    hooks: &mut H,
) -> Result<Outcome, H::Error>
where
    E: Engine,
    C: Future<Output = Result<Arc<E>, ApplyError>>,
    H: Hooks,
{
    let Request {
        operation,
        store,
        mut scope,
        lock_timeout,
        desired,
        payloads,
        planning,
        outputs,
        options,
    } = request;
    // Locks are taken in one fixed order, so two runs never wait for each other in a circle;
    // they are released when `_locks` is dropped, whichever way this function returns.
    scope.sort();
    scope.dedup();
    let mut _locks = Vec::with_capacity(scope.len());
    for id in &scope {
        let held = lock::acquire(store, id, operation.as_str(), lock_timeout)?;
        if let Some(broken) = &held.broken {
            hooks.broken_lock(broken);
        }
        _locks.push(held);
    }
    let engine = connect.await?;
    let snapshot = engine.snapshot().await?;
    let observed = Observed::from_docker(&snapshot).map_err(ApplyError::from)?;
    let mut states = BTreeMap::new();
    for id in &scope {
        if let Some(s) = store.load(id)? {
            states.insert(id.clone(), s);
        }
    }
    let plan = match planning {
        Planning::Now => hooks.plan(&observed)?,
        Planning::Saved(file) => {
            let (lineage, serial) = lineage_and_serial(&states);
            file.check_fresh(&lineage, serial, &observed)
                .map_err(ApplyError::from)?;
            check_payload_digests(&file.plan, &payloads)?;
            // Freshness covers the plan's scope only. The tenant boundary is held again against
            // everything that runs now: another project may have started to run since, with a
            // stack, a host or a name this plan would squat.
            let planned = file.plan.scope.iter().cloned().collect();
            let squats = berth_planner::boundary::check(desired, &observed, &planned);
            if !squats.is_empty() {
                return Err(hooks.refused(PlanErrors(squats)));
            }
            file.plan
        }
    };
    hooks.show(&plan);
    if plan.is_empty() {
        // Nothing to change, but the states may lack objects an interrupted apply created.
        let mut current: BTreeMap<DeploymentId, State> = scope
            .iter()
            .map(|id| {
                let s = states
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| State::new(id.clone()));
                (id.clone(), s)
            })
            .collect();
        state::record_unchanged(&mut current, &plan);
        crate::job::forget_undesired(&plan, &mut current);
        save_changed(store, &states, &mut current)?;
        return Ok(Outcome::Unchanged(plan));
    }
    if !hooks.confirm(&plan)? {
        return Ok(Outcome::Cancelled(plan));
    }
    let progress = hooks.start(&plan);
    // The states start as recorded; one takes its next serial only when it changes.
    let mut current: BTreeMap<DeploymentId, State> = scope
        .iter()
        .map(|id| {
            let s = states
                .get(id)
                .cloned()
                .unwrap_or_else(|| State::new(id.clone()));
            (id.clone(), s)
        })
        .collect();
    state::record_unchanged(&mut current, &plan);
    let payloads = Arc::new(payloads);
    let ran = execute::run(
        engine.clone(),
        store,
        &plan,
        payloads,
        current,
        progress,
        options,
    )
    .await;
    let (mut report, mut current) = match ran {
        Ok(done) => done,
        Err((e, mut current)) => {
            // What the steps recorded before the failure is kept.
            save_changed(store, &states, &mut current)?;
            return Err(e.into());
        }
    };
    report
        .warnings
        .extend(crate::job::record_runs(engine.as_ref(), &plan, &mut current).await);
    for (id, state) in current.iter_mut() {
        if let Some(out) = outputs.get(id) {
            state.outputs = out.clone();
        }
    }
    save_changed(store, &states, &mut current)?;
    Ok(Outcome::Executed { plan, report })
}

/// Saves the states that changed from what was recorded (`recorded`): their objects (a step
/// checkpointed them, which began them) or what they record (objects caught up with, outputs).
/// A state that did not change keeps its serial, so saved plans of it stay fresh.
fn save_changed(
    store: &Store,
    recorded: &BTreeMap<DeploymentId, State>,
    states: &mut BTreeMap<DeploymentId, State>,
) -> Result<(), ApplyError> {
    for (id, s) in states.iter_mut() {
        let before = recorded.get(id);
        let begun = before.map_or(s.serial > 0, |b| b.serial != s.serial);
        let changed = begun
            || match before {
                Some(b) => b.resources != s.resources || b.outputs != s.outputs || b.jobs != s.jobs,
                None => !s.resources.is_empty() || s.outputs != Outputs::default(),
            };
        if !changed {
            continue;
        }
        if !begun {
            execute::begin(store, s)?;
        }
        store.save(s)?;
    }
    Ok(())
}

/// The route outputs of each deployment of `desired`: its routes' URLs through the proxy.
pub fn route_outputs(
    desired: &Desired,
    proxy: &berth_lang::model::Proxy,
) -> BTreeMap<DeploymentId, Outputs> {
    desired
        .deployments
        .iter()
        .map(|(id, info)| {
            let routes = info
                .routes
                .iter()
                .map(|r| RouteOutput {
                    service: r.service.name.clone(),
                    url: r.url(proxy),
                })
                .collect();
            (id.clone(), Outputs { routes })
        })
        .collect()
}

/// Lineage and serial of a set of states, as one value a plan file records.
pub fn lineage_and_serial(states: &BTreeMap<DeploymentId, State>) -> (String, u64) {
    let lineage = states
        .iter()
        .map(|(id, s)| format!("{id}={}", s.lineage))
        .collect::<Vec<_>>()
        .join(",");
    let serial = states.values().map(|s| s.serial).sum();
    (lineage, serial)
}

/// A saved plan's secrets and file-backed configs must be the ones read now: otherwise the plan
/// is stale.
pub fn check_payload_digests(plan: &Plan, payloads: &Payloads) -> Result<(), ApplyError> {
    for c in plan.actionable() {
        let label = match &c.after {
            Some(Spec::Secret(s)) => s.labels.get("berth.digest"),
            Some(Spec::Config(s)) if s.data.is_none() => s.labels.get("berth.digest"),
            _ => None,
        };
        let (Some(planned), Some(bytes)) = (label, payloads.get(&c.address.to_string())) else {
            continue;
        };
        if &berth_planner::units::sha256_hex(bytes) != planned {
            return Err(ApplyError::PayloadChanged {
                address: Box::new(c.address.clone()),
            });
        }
    }
    Ok(())
}
