//! The diff: desired against observed, both normalised, address by address, within the scope.
//!
//! Replace-forcing attributes (Swarm cannot change them in place):
//! - network: `Driver`, `Options` (driver options, `encrypted`), `Internal`, `Attachable`, `IPAM`
//!   when declared. Network labels cannot change either; a label-only difference plans nothing.
//! - volume: `Driver`, `DriverOpts` (labels likewise plan nothing). Replacing or deleting a volume
//!   loses its data: refused unless data loss is allowed.
//! - secret and config: the content, which is in the `Name`; the new object is created before
//!   the old one is deleted, so services switch over in between.
//! - service: `Mode` between replicated and global.
//!
//! A service update restarts tasks when its task template or endpoint changed; a change of
//! replicas, labels or update and rollback config alone does not.
//!
//! Before diffing, each routed deployment in scope is assigned its edge slot
//! ([`EdgeSlots::assign`]); the slot is written into its desired specs in place of the
//! compiler's placeholder, so that desired and observed compare equal after an apply.

use crate::admission;
use crate::boundary;
use crate::compile::Desired;
use crate::docker::ServiceSpec;
use crate::edge::EdgeSlots;
use crate::error::{PlanError, PlanErrors};
use crate::graph::DepGraph;
use crate::normalize;
use crate::observed::{Observed, ObservedResource};
use crate::plan::{Action, Change, ObservedRef, Plan, Reason};
use crate::resource::{Address, DeploymentId, Kind, Spec};
use berth_lang::model::{Deployment, Platform};
use std::collections::{BTreeMap, BTreeSet};

/// Which project environments a plan covers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    /// Every deployment of the desired configuration, and the platform.
    #[default]
    Desired,
    /// Exactly these deployments (add [`DeploymentId::platform`] to include the proxy). A
    /// deployment in the set that the configuration no longer has is destroyed whole.
    Only(BTreeSet<DeploymentId>),
}

impl Scope {
    /// Exactly these deployments, without the platform: what a `--project`/`--env` plan
    /// covers. A project's plan never changes the proxy (its edge slot network exists already).
    pub fn deployments(ids: impl IntoIterator<Item = DeploymentId>) -> Scope {
        Scope::Only(ids.into_iter().collect())
    }

    /// These deployments and the platform: what the first apply of a project covers when the
    /// cluster has no proxy yet (see [`Observed::has_proxy`]).
    pub fn deployments_and_platform(ids: impl IntoIterator<Item = DeploymentId>) -> Scope {
        let mut set: BTreeSet<DeploymentId> = ids.into_iter().collect();
        set.insert(DeploymentId::platform());
        Scope::Only(set)
    }

    /// The scope rule: which project environments a plan covers, and whether the platform (the
    /// proxy) is among them.
    ///
    /// - A whole-configuration plan ([`Coverage::Whole`]) covers every deployment, plus the
    ///   platform when the configuration has a `platform` block or routes anything.
    /// - A `--project`/`--env` plan ([`Coverage::Selection`]) covers the selected deployments,
    ///   plus the platform only when they route something and the cluster, read, has no proxy
    ///   yet (see [`Observed::has_proxy`]): a project's first apply creates the proxy and its
    ///   edge slot networks; afterwards a project's plan never changes the proxy. Without a
    ///   read of the cluster ([`ProxyPresence::Unknown`]) the platform is left out.
    ///
    /// So applies of different projects never touch the same objects or locks.
    pub fn chosen<'a>(
        coverage: Coverage,
        deployments: impl IntoIterator<Item = &'a Deployment>,
        platform: &Platform,
        proxy: ProxyPresence,
    ) -> Scope {
        let mut ids = BTreeSet::new();
        let mut routed = false;
        for d in deployments {
            ids.insert(DeploymentId::new(&d.project, d.environment, d.pr));
            routed |= d.services.iter().any(|s| !s.routes.is_empty());
        }
        let with_platform = match coverage {
            Coverage::Whole => platform.span.is_some() || routed,
            Coverage::Selection => routed && proxy == ProxyPresence::Missing,
        };
        if with_platform {
            Scope::deployments_and_platform(ids)
        } else {
            Scope::deployments(ids)
        }
    }

    /// Whether the scope includes the platform (the proxy and its objects).
    pub fn has_platform(&self) -> bool {
        match self {
            Scope::Desired => true,
            Scope::Only(ids) => ids.contains(&DeploymentId::platform()),
        }
    }

    pub fn resolve(&self, desired: &Desired) -> BTreeSet<DeploymentId> {
        match self {
            Scope::Desired => desired.deployments.keys().cloned().collect(),
            Scope::Only(set) => set.clone(),
        }
    }
}

/// What a command asked to plan, for [`Scope::chosen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// The whole configuration: neither `--project` nor `--env`.
    Whole,
    /// The project environments that `--project` and/or `--env` select.
    Selection,
}

/// What a command knows of the platform's proxy, for [`Scope::chosen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyPresence {
    /// The cluster was read and the proxy runs.
    Exists,
    /// The cluster was read and has no proxy.
    Missing,
    /// The cluster was not read (a plan from recorded state alone).
    Unknown,
}

impl ProxyPresence {
    /// From whether a read of the cluster found the proxy.
    pub fn found(exists: bool) -> ProxyPresence {
        if exists {
            ProxyPresence::Exists
        } else {
            ProxyPresence::Missing
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub scope: Scope,
    /// Allow deleting or replacing volumes.
    pub allow_data_loss: bool,
    /// Leave volumes that are no longer desired in place instead of deleting them (what
    /// `berth destroy` does without `--allow-data-loss`).
    pub keep_volumes: bool,
}

/// Plans `desired` against `observed`. Fails with every error found: dependency cycles, the
/// tenant boundary against what runs outside the scope (stacks, hosts and look-alike names of
/// other projects, route collisions: [`boundary::check`]), edge slots (none free, or their
/// networks missing while the platform is outside the scope), quota and capacity violations,
/// and data loss not allowed.
pub fn plan(
    desired: &Desired,
    observed: &Observed,
    options: &PlanOptions,
) -> Result<Plan, PlanErrors> {
    let scope = options.scope.resolve(desired);
    let mut errors = Vec::new();
    if let Err(cycle) = DepGraph::build(desired).check() {
        let span = cycle
            .0
            .first()
            .and_then(|a| desired.get(a))
            .and_then(|r| r.span);
        errors.push(PlanError::DependencyCycle {
            cycle: cycle.0,
            span,
        });
    }
    errors.extend(boundary::check(desired, observed, &scope));
    let slots = EdgeSlots::assign(desired, observed, &scope).unwrap_or_else(|e| {
        errors.extend(e);
        EdgeSlots::default()
    });

    let by_address = observed.by_address();
    let mut changes = Vec::with_capacity(desired.resources.len());
    let mut notes = Vec::new();

    for r in desired.resources.values() {
        if !scope.contains(&r.address.deployment) {
            continue;
        }
        let mut after = r.spec.clone();
        let mut deps = r.depends_on.clone();
        slots.resolve(&r.address.deployment, &mut after, &mut deps);
        normalize::spec(&mut after, &|_| None);
        let existing = by_address
            .get(&r.address)
            .map(Vec::as_slice)
            .unwrap_or_default();
        diff_one(&r.address, after, existing, deps, &mut changes);
    }

    for (address, existing) in &by_address {
        if !scope.contains(&address.deployment) || desired.resources.contains_key(*address) {
            continue;
        }
        if address.kind == Kind::Volume && options.keep_volumes {
            for o in existing {
                notes.push(format!(
                    "volume `{}` ({address}) is kept with its data",
                    o.name()
                ));
            }
            continue;
        }
        for o in existing {
            changes.push(delete(o, Reason::DeleteBecauseNoResourceConfig));
        }
    }
    touch_dependents(&mut changes);
    changes.sort_by(|a, b| {
        (&a.address, a.action == Action::Delete, a.name()).cmp(&(
            &b.address,
            b.action == Action::Delete,
            b.name(),
        ))
    });
    delete_dependencies(&mut changes, observed);
    order_releases(&mut changes);

    if !options.allow_data_loss {
        for c in changes.iter().filter(|c| c.data_loss) {
            errors.push(PlanError::DataLoss {
                address: c.address.clone(),
                name: c
                    .observed
                    .as_ref()
                    .map(|o| o.name.clone())
                    .unwrap_or_default(),
                replace: c.action == Action::Replace,
            });
        }
    }

    let (allocations, admission_errors, admission_notes) =
        admission::admit(desired, observed, &scope);
    errors.extend(admission_errors);
    notes.extend(admission_notes);
    PlanErrors(errors).into_result(Plan {
        scope: scope.into_iter().collect(),
        changes,
        allocations,
        notes,
    })
}

fn observed_ref(o: &ObservedResource) -> ObservedRef {
    ObservedRef {
        id: o.id.clone(),
        name: o.name().to_string(),
        version: o.version,
    }
}

fn delete(o: &ObservedResource, reason: Reason) -> Change {
    Change {
        address: o.address.clone(),
        action: Action::Delete,
        before: Some(o.spec.clone()),
        after: None,
        observed: Some(observed_ref(o)),
        replace_paths: Vec::new(),
        create_before_destroy: false,
        restarts_tasks: false,
        data_loss: o.address.kind == Kind::Volume,
        reason: Some(reason),
        depends_on: Vec::new(),
    }
}

fn diff_one(
    address: &Address,
    after: Spec,
    existing: &[&ObservedResource],
    deps: Vec<Address>,
    out: &mut Vec<Change>,
) {
    let mut change = Change {
        address: address.clone(),
        action: Action::Create,
        before: None,
        after: None,
        observed: None,
        replace_paths: Vec::new(),
        create_before_destroy: false,
        restarts_tasks: false,
        data_loss: false,
        reason: None,
        depends_on: deps,
    };
    if existing.is_empty() {
        change.after = Some(after);
        out.push(change);
        return;
    }
    // The object to compare with: the one with the desired name, else the first. Any other
    // object at this address is a stale generation (an interrupted rotation) and goes.
    let current = existing
        .iter()
        .position(|o| o.name() == after.name())
        .unwrap_or(0);
    for (i, o) in existing.iter().enumerate() {
        if i != current {
            out.push(delete(o, Reason::DeleteBecauseStaleGeneration));
        }
    }
    let o = existing[current];
    change.observed = Some(observed_ref(o));
    // Most objects are unchanged: compare before cloning anything.
    if same(&o.spec, &after) {
        change.action = Action::NoOp;
        change.after = Some(after);
        out.push(change);
        return;
    }
    let mut before = o.spec.clone();
    normalize::align(&after, &mut before);
    let forcing = replace_paths(&before, &after);
    if !forcing.is_empty() {
        change.action = Action::Replace;
        change.create_before_destroy = matches!(after.kind(), Kind::Secret | Kind::Config);
        change.reason = Some(if change.create_before_destroy {
            Reason::ReplaceBecauseContentChanged
        } else {
            Reason::ReplaceBecauseCannotUpdate
        });
        change.data_loss = after.kind() == Kind::Volume;
        change.replace_paths = forcing;
        change.restarts_tasks = after.kind() == Kind::Service;
    } else if same(&before, &after) {
        change.action = Action::NoOp;
        change.after = Some(after);
        out.push(change);
        return;
    } else {
        change.action = Action::Update;
        if let (Spec::Service(b), Spec::Service(a)) = (&before, &after) {
            change.restarts_tasks = restarts(b, a);
        }
    }
    change.before = Some(before);
    change.after = Some(after);
    out.push(change);
}

/// Whether two aligned, normalised specs are the same as far as berth can act on them.
fn same(before: &Spec, after: &Spec) -> bool {
    match (before, after) {
        // Labels of networks and volumes cannot change; berth does not replace for them.
        (Spec::Network(b), Spec::Network(a)) => {
            (
                &b.name,
                &b.driver,
                b.internal,
                b.attachable,
                &b.ipam,
                &b.options,
            ) == (
                &a.name,
                &a.driver,
                a.internal,
                a.attachable,
                &a.ipam,
                &a.options,
            )
        }
        (Spec::Volume(b), Spec::Volume(a)) => {
            (&b.name, &b.driver, &b.driver_opts) == (&a.name, &a.driver, &a.driver_opts)
        }
        _ => before == after,
    }
}

fn restarts(before: &ServiceSpec, after: &ServiceSpec) -> bool {
    before.task_template != after.task_template || before.endpoint_spec != after.endpoint_spec
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// The attributes that differ and that Swarm cannot change in place.
pub fn replace_paths(before: &Spec, after: &Spec) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    match (before, after) {
        (Spec::Network(b), Spec::Network(a)) => {
            if b.driver != a.driver {
                out.push(path(&["Driver"]));
            }
            if b.internal != a.internal {
                out.push(path(&["Internal"]));
            }
            if b.attachable != a.attachable {
                out.push(path(&["Attachable"]));
            }
            let keys: BTreeSet<&String> = b.options.keys().chain(a.options.keys()).collect();
            for k in keys {
                if b.options.get(k) != a.options.get(k) {
                    out.push(path(&["Options", k]));
                }
            }
            if b.ipam != a.ipam {
                out.push(path(&["IPAM"]));
            }
        }
        (Spec::Volume(b), Spec::Volume(a)) => {
            if b.driver != a.driver {
                out.push(path(&["Driver"]));
            }
            let keys: BTreeSet<&String> =
                b.driver_opts.keys().chain(a.driver_opts.keys()).collect();
            for k in keys {
                if b.driver_opts.get(k) != a.driver_opts.get(k) {
                    out.push(path(&["DriverOpts", k]));
                }
            }
        }
        // The content (shown as `Data`) decides the name.
        (Spec::Secret(b), Spec::Secret(a)) if b.name != a.name => {
            out.extend([path(&["Data"]), path(&["Name"])])
        }
        (Spec::Config(b), Spec::Config(a)) if b.name != a.name => {
            out.extend([path(&["Data"]), path(&["Name"])])
        }
        (Spec::Service(b), Spec::Service(a)) => {
            if b.name != a.name {
                out.push(path(&["Name"]));
            }
            if b.mode.global.is_some() != a.mode.global.is_some() {
                out.push(path(&["Mode"]));
            }
        }
        _ => {}
    }
    out
}

/// A service whose network or volume is replaced (deleted, then created) must be updated even
/// when its own spec is unchanged: it has to let go of the old object and attach to the new one.
fn touch_dependents(changes: &mut [Change]) {
    let replaced: BTreeMap<String, Address> = changes
        .iter()
        .filter(|c| {
            c.action == Action::Replace
                && !c.create_before_destroy
                && matches!(c.kind(), Kind::Network | Kind::Volume)
        })
        .map(|c| (c.name().to_string(), c.address.clone()))
        .collect();
    if replaced.is_empty() {
        return;
    }
    for c in changes.iter_mut() {
        let Some(Spec::Service(s)) = &c.after else {
            continue;
        };
        if c.action != Action::NoOp {
            continue;
        }
        let uses = s
            .task_template
            .networks
            .iter()
            .map(|n| &n.target)
            .chain(
                s.task_template
                    .container_spec
                    .mounts
                    .iter()
                    .map(|m| &m.source),
            )
            .filter_map(|n| replaced.get(n))
            .next()
            .cloned();
        if let Some(dep) = uses {
            c.action = Action::Update;
            c.restarts_tasks = true;
            c.reason = Some(Reason::UpdateBecauseDependencyReplaced);
            c.before = c.after.clone();
            if !c.depends_on.contains(&dep) {
                c.depends_on.push(dep);
            }
        }
    }
}

/// A delete of an object waits for the changes of the services that use it now; a replaced
/// secret's old generation likewise.
fn delete_dependencies(changes: &mut [Change], observed: &Observed) {
    let mut users: BTreeMap<&str, Vec<&Address>> = BTreeMap::new();
    for o in &observed.resources {
        if let Spec::Service(s) = &o.spec {
            let c = &s.task_template.container_spec;
            let names = s
                .task_template
                .networks
                .iter()
                .map(|n| n.target.as_str())
                .chain(c.mounts.iter().map(|m| m.source.as_str()))
                .chain(c.secrets.iter().map(|r| r.secret_name.as_str()))
                .chain(c.configs.iter().map(|r| r.config_name.as_str()));
            for n in names {
                users.entry(n).or_default().push(&o.address);
            }
        }
    }
    let changed: BTreeSet<Address> = changes
        .iter()
        .filter(|c| c.action != Action::NoOp && c.kind() == Kind::Service)
        .map(|c| c.address.clone())
        .collect();
    for c in changes.iter_mut() {
        let deleting = c.action == Action::Delete
            || (c.action == Action::Replace && c.kind() != Kind::Service);
        if !deleting || c.kind() == Kind::Service {
            continue;
        }
        let Some(o) = &c.observed else { continue };
        if let Some(list) = users.get(o.name.as_str()) {
            for a in list {
                if changed.contains(*a) && !c.depends_on.contains(a) {
                    c.depends_on.push((*a).clone());
                }
            }
            c.depends_on.sort();
        }
    }
}

/// The order of a canary's change and its stable's decides what serves in between; every
/// order here keeps some healthy task weighing more than 0, and the share in between within
/// the old and the new one:
///
/// - a canary created below 100% comes after the stable, whose new weight then waits alone;
///   one created at 100% comes first (the stable's weight 0 must wait for it);
/// - a share that rises changes the canary first, one that falls the stable first;
/// - a canary that goes (abort or promotion) goes after the stable when the stable's tasks are
///   replaced (a promotion: the canary serves while they roll) or weigh 0 (blue-green at 100,
///   whose stable would answer nothing alone); else first, so that an aborted canary never
///   serves more than its share.
fn order_releases(changes: &mut [Change]) {
    let of_and_share = |spec: &Option<Spec>| match spec {
        Some(Spec::Service(s)) => crate::swarm::release::canary_of(&s.labels),
        _ => None,
    };
    let mut pairs = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        let before = of_and_share(&c.before);
        let after = of_and_share(&c.after);
        let Some((stable, _)) = after.clone().or(before.clone()) else {
            continue;
        };
        let address = Address {
            deployment: c.address.deployment.clone(),
            kind: Kind::Service,
            name: stable,
        };
        let Some(j) = changes.iter().position(|s| {
            s.address == address && !matches!(s.action, Action::NoOp | Action::Delete)
        }) else {
            continue;
        };
        let stable = &changes[j];
        let stable_first = match (c.action, before, after) {
            (Action::Delete, ..) => {
                let weighs_nothing = match &stable.before {
                    Some(Spec::Service(s)) => crate::swarm::release::weights(&s.labels)
                        .iter()
                        .any(|(_, v)| v.as_str() == "0"),
                    _ => false,
                };
                stable.restarts_tasks || weighs_nothing
            }
            (_, Some((_, old)), Some((_, new))) => new <= old,
            (_, None, Some((_, new))) => new < 100,
            _ => continue,
        };
        pairs.push((i, j, stable_first));
    }
    for (canary, stable, stable_first) in pairs {
        let (waits, first) = if stable_first {
            (canary, stable)
        } else {
            (stable, canary)
        };
        let dep = changes[first].address.clone();
        let deps = &mut changes[waits].depends_on;
        if !deps.contains(&dep) {
            deps.push(dep);
            deps.sort();
        }
    }
}
