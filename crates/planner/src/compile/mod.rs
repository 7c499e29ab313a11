//! Compiles the checked model into the Swarm objects berth wants to exist: per deployment its
//! networks (its own `default` and the declared ones), volumes, content-named secrets and
//! configs, services with secure, zero-downtime defaults and Traefik labels, and, when a service
//! is routed, the claim of an edge slot; plus the platform's proxy and its edge slot networks.
//! It decides nothing about what exists; that is the diff's job. In particular it cannot know
//! which edge slot is free: it writes [`crate::swarm::slot::UNASSIGNED`] and `plan()` assigns the
//! slot.

use crate::docker::*;
use crate::error::{PlanError, PlanErrors};
use crate::resource::{berth_labels, claim_address, network_address};
use crate::resource::{Address, DeploymentId, Kind, Resource, Spec};
use crate::swarm::{self, defaults, label, slot};
use crate::swarm::{DEFAULT_NETWORK, EDGE_CLAIM, EDGE_NETWORK, PLATFORM_STACK};
use crate::units;
use berth_lang::model::{self, Config, Deployment, Platform};
use berth_lang::{naming, Span};
use std::collections::{BTreeMap, BTreeSet};

mod deployment;
mod job;
mod platform;
mod release;
mod routes;
mod service;

use deployment::*;
pub use platform::*;
pub use release::weights;
pub use routes::*;
pub use service::*;

/// Content digests (sha256, lowercase hex) of secrets and configs, keyed by the resource's
/// address (`shop/production/secret.db_password`). The caller reads the files and environment
/// variables; the planner never sees a secret's value. A config with inline `content` needs no
/// entry: the compiler hashes it itself.
pub type Digests = BTreeMap<String, String>;

/// What the configuration wants to exist, with what the planner needs to admit it.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// Routed services and claims carry the placeholder slot [`crate::swarm::slot::UNASSIGNED`]
    /// until `plan()` assigns one (see [`crate::edge`]).
    pub resources: BTreeMap<Address, Resource>,
    pub deployments: BTreeMap<DeploymentId, DeploymentInfo>,
    /// Where each service's reservations are written, for capacity errors.
    pub reservation_spans: BTreeMap<Address, model::ReservationSpans>,
    /// How many edge slots the platform has (`platform.proxy.edge_slots`), also when only
    /// deployments were compiled: assigning them a slot needs the count, not the proxy.
    pub edge_slots: u32,
}

/// A deployment's facts that are not Swarm objects: its quota and routes.
#[derive(Debug, Clone)]
pub struct DeploymentInfo {
    pub id: DeploymentId,
    pub stack: String,
    pub quota: model::Quota,
    /// For a preview, how many previews of its project may run at once: the grant's `previews`,
    /// lowered by the project's own quota. `None` is unlimited.
    pub previews: Option<u64>,
    pub routes: Vec<RouteInfo>,
    pub span: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub host: String,
    pub path: Option<String>,
    /// Served on the `websecure` entrypoint (with an ACME certificate when the platform has
    /// ACME, else a matching `certificate` or Traefik's default one).
    pub tls: bool,
    /// The router asks the ACME resolver for its certificate.
    pub acme: bool,
    pub service: Address,
    pub router: String,
    pub rule: String,
    pub span: Span,
}

impl RouteInfo {
    /// The URL users reach the route at through `proxy`, with its port when it is not the
    /// scheme's default: `https://shop.example.com/`, `http://shop.example.com:18080/`.
    pub fn url(&self, proxy: &model::Proxy) -> String {
        model::route_url(&self.host, self.path.as_deref(), self.tls, proxy)
    }
}

impl Desired {
    /// Adds what another compilation produced (the platform's, to the deployments'). The two
    /// cover different deployments, so nothing is overwritten; the edge slot count is the
    /// platform's either way.
    pub fn join(&mut self, other: Desired) {
        self.resources.extend(other.resources);
        self.reservation_spans.extend(other.reservation_spans);
        self.deployments.extend(other.deployments);
        self.edge_slots = self.edge_slots.max(other.edge_slots);
    }

    pub fn get(&self, address: &Address) -> Option<&Resource> {
        self.resources.get(address)
    }

    pub fn services(&self) -> impl Iterator<Item = (&Resource, &ServiceSpec)> {
        self.resources.values().filter_map(|r| match &r.spec {
            Spec::Service(s) => Some((r, &**s)),
            _ => None,
        })
    }
}

/// Compiles a whole configuration, the platform included.
pub fn compile_config(config: &Config, digests: &Digests) -> Result<Desired, PlanErrors> {
    compile(&config.deployments, &config.platform, digests)
}

/// Compiles deployments and the platform: [`compile_deployments`] joined with
/// [`compile_platform`], what a plan that covers the platform needs. `digests` holds the
/// deployments' digests and the platform's ([`platform_sources`]).
pub fn compile(
    deployments: &[Deployment],
    platform: &Platform,
    digests: &Digests,
) -> Result<Desired, PlanErrors> {
    compile_in_scope(deployments, platform, digests, true)
}

/// Compiles deployments, and the platform only when `with_platform` (the plan's scope includes
/// it, [`crate::Scope::has_platform`]). Without it, no digest of the platform is needed and the
/// desired state holds no platform object, so a plan must not cover the platform: the scope
/// that decided `with_platform` decides both. Route collisions and edge slots still work, from
/// the deployments and the observed proxy.
pub fn compile_in_scope(
    deployments: &[Deployment],
    platform: &Platform,
    digests: &Digests,
    with_platform: bool,
) -> Result<Desired, PlanErrors> {
    let mut errors = Vec::new();
    let mut desired = compile_deployments(deployments, platform, digests).unwrap_or_else(|e| {
        errors.extend(e.0);
        Desired::default()
    });
    if with_platform {
        match compile_platform(platform, digests) {
            Ok(p) => desired.join(p),
            Err(e) => errors.extend(e.0),
        }
    }
    PlanErrors(errors).into_result(desired)
}

/// Compiles project environments: per deployment its networks, volumes, content-named secrets
/// and configs, services and the claim of an edge slot, and its facts (quota, routes). Routes
/// are checked for collisions across all deployments given, so pass every deployment known
/// when possible (the plan's scope decides what changes). Of the platform it reads only what the
/// deployments' specs depend on: whether it has ACME (routers then ask it for certificates)
/// and how many edge slots it has; none of its files.
pub fn compile_deployments(
    deployments: &[Deployment],
    platform: &Platform,
    digests: &Digests,
) -> Result<Desired, PlanErrors> {
    let mut desired = Desired {
        edge_slots: platform.proxy.edge_slots,
        ..Desired::default()
    };
    let mut errors = Vec::new();
    let mut stacks: BTreeMap<String, DeploymentId> = BTreeMap::new();
    stacks.insert(PLATFORM_STACK.to_string(), DeploymentId::platform());
    let tls = platform.acme_email.is_some();
    for d in deployments {
        let id = DeploymentId::new(&d.project, d.environment, d.pr);
        if let Some(first) = stacks.insert(d.stack.clone(), id.clone()) {
            errors.push(PlanError::StackCollision {
                stack: d.stack.clone(),
                first,
                second: id,
            });
            continue;
        }
        let mut c = DeploymentCompiler {
            d,
            id,
            tls,
            digests,
            out: Vec::new(),
            errors: &mut errors,
            routes: Vec::new(),
            reservation_spans: Vec::new(),
        };
        c.run();
        desired
            .reservation_spans
            .extend(c.reservation_spans.drain(..));
        let (resources, routes, id) = (c.out, c.routes, c.id);
        for r in resources {
            desired.resources.insert(r.address.clone(), r);
        }
        desired.deployments.insert(
            id.clone(),
            DeploymentInfo {
                id,
                stack: d.stack.clone(),
                quota: d.quota.clone(),
                previews: (d.environment == model::Environment::Preview)
                    .then(|| {
                        let granted = d.grant.as_ref().and_then(|g| g.quota.previews);
                        match (granted, d.quota.previews) {
                            (Some(g), Some(own)) => Some(g.min(own)),
                            (g, own) => g.or(own),
                        }
                    })
                    .flatten(),
                routes,
                span: Some(d.span),
            },
        );
    }
    check_routes(&desired, &mut errors);
    PlanErrors(errors).into_result(desired)
}

/// Compiles the platform (`platform/proxy`): the proxy, its edge slot networks, and with them
/// its certificate volume, the ACME CA, custom certificates and the dashboard's users. Its
/// objects do not depend on any deployment. `digests` needs an entry for each of
/// [`platform_sources`]; nothing else.
pub fn compile_platform(platform: &Platform, digests: &Digests) -> Result<Desired, PlanErrors> {
    let mut errors = Vec::new();
    let mut desired = Desired {
        edge_slots: platform.proxy.edge_slots,
        ..Desired::default()
    };
    for r in platform_resources(platform, digests, &mut errors) {
        desired.resources.insert(r.address.clone(), r);
    }
    desired.deployments.insert(
        DeploymentId::platform(),
        DeploymentInfo {
            id: DeploymentId::platform(),
            stack: PLATFORM_STACK.into(),
            quota: model::Quota::default(),
            previews: None,
            routes: Vec::new(),
            span: platform.span,
        },
    );
    PlanErrors(errors).into_result(desired)
}

/// Every (host, path) may be routed once across all deployments given: Traefik silently drops
/// one of two routers with the same rule.
fn check_routes(desired: &Desired, errors: &mut Vec<PlanError>) {
    let mut seen: BTreeMap<(String, String), &RouteInfo> = BTreeMap::new();
    for info in desired.deployments.values() {
        for route in &info.routes {
            let key = (
                route.host.to_ascii_lowercase(),
                route.path.clone().unwrap_or_default(),
            );
            match seen.get(&key) {
                Some(first) => errors.push(PlanError::DuplicateRoute {
                    host: route.host.clone(),
                    path: route.path.clone(),
                    first: first.service.clone(),
                    second: route.service.clone(),
                    span: route.span,
                    first_span: first.span,
                }),
                None => {
                    seen.insert(key, route);
                }
            }
        }
    }
}

/// `<stack>_<name>_<first 10 hex digits of the content's sha256>`.
pub fn content_name(stack: &str, name: &str, digest: &str) -> String {
    format!(
        "{}_{}",
        naming::object(stack, name),
        &digest[..digest.len().min(10)]
    )
}

/// What a rendered plan shows of a secret's content name: `shop_api_token_…`, the digest part
/// left out. Ten hex digits of the value's sha256 let a reader test guesses of a short value
/// (hash a guess, compare). A name without a digest part is returned as it is.
pub fn redacted_content_name(name: &str) -> String {
    match name.rsplit_once('_') {
        Some((object, digest))
            if (1..=10).contains(&digest.len())
                && digest.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            format!("{object}_…")
        }
        _ => name.to_string(),
    }
}

/// Every address the compiler needs a digest for: each deployment's secrets and file-backed
/// configs, and with a platform its [`platform_sources`]. What a caller that reads no content
/// (`berth graph`) gives placeholder digests for.
pub fn digests_needed(deployments: &[Deployment], platform: Option<&Platform>) -> Vec<Address> {
    let mut out = Vec::new();
    for d in deployments {
        let id = DeploymentId::new(&d.project, d.environment, d.pr);
        out.extend(d.secrets.iter().map(|s| id.address(Kind::Secret, &s.name)));
        out.extend(
            d.configs
                .iter()
                .filter(|c| matches!(c.source, model::ConfigSource::File(_)))
                .map(|c| id.address(Kind::Config, &c.name)),
        );
    }
    if let Some(p) = platform {
        out.extend(platform_sources(p).into_iter().map(|s| s.address));
    }
    out
}
