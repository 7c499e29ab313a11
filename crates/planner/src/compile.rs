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

/// Content digests (sha256, lowercase hex) of secrets and configs, keyed by the resource's
/// address (`shop/production/secret.db_password`). The caller reads the files and environment
/// variables; the planner never sees a secret's value. A config with inline `content` needs no
/// entry: the compiler hashes it itself.
pub type Digests = BTreeMap<String, String>;

/// File mode of mounted secrets and configs (0444), as `docker stack deploy` uses.
const FILE_MODE: u32 = 0o444;
/// The resolver name every TLS route uses.
pub const CERT_RESOLVER: &str = "acme";
/// Where the proxy keeps its ACME account and certificates.
const ACME_DIR: &str = "/acme";
/// Where the proxy's configs are mounted (the CA its ACME client trusts, the dynamic TLS file).
const PROXY_CONFIG_DIR: &str = "/etc/berth";
/// The platform's config holding `acme_ca_certificate`, mounted for the ACME client.
pub const ACME_CA_CONFIG: &str = "acme-ca";
/// The platform's config holding Traefik's dynamic file that lists the custom certificates.
pub const TLS_CONFIG: &str = "tls";
/// The platform's secret holding the dashboard's users (htpasswd lines).
pub const DASHBOARD_USERS_SECRET: &str = "dashboard-users";
/// The router, middleware and (placeholder) service of the dashboard on the proxy's labels.
pub const DASHBOARD_ROUTER: &str = "platform_dashboard";
/// The router of Prometheus metrics on the metrics entrypoint, and its allow-list middleware
/// (`platform_metrics-allow`), on the proxy's labels.
pub const METRICS_ROUTER: &str = "platform_metrics";
/// The proxy's entrypoint that serves metrics when the platform gives a `metrics_port`.
pub const METRICS_ENTRYPOINT: &str = "metrics";
/// The container port of the metrics entrypoint; `metrics_port` is published to it.
pub const METRICS_TARGET_PORT: u16 = 8082;
/// The address of Traefik's internal `traefik` entrypoint (ping, and metrics without a
/// `metrics_port`): the container's loopback, since the proxy joins every tenant's edge network.
pub const INTERNAL_ENTRYPOINT_ADDRESS: &str = "127.0.0.1:8080";
/// The proxy's secret of a custom certificate's chain and of its key.
pub fn certificate_secret(name: &str) -> String {
    format!("tls-{name}-cert")
}
pub fn key_secret(name: &str) -> String {
    format!("tls-{name}-key")
}
/// How often the proxy retries a request that a backend task did not answer (it was stopped
/// since the proxy's last poll), and the first wait of the exponential backoff between tries.
pub const RETRY_ATTEMPTS: u32 = 3;
pub const RETRY_INTERVAL: &str = "100ms";
/// How long Traefik waits after a provider's change before it applies the new configuration
/// (its default, 2 s, would add to every discovery and every removal of a stopped task).
pub const PROVIDERS_THROTTLE: &str = "200ms";
/// How long the proxy waits for a backend's TCP handshake. Traefik's default is 30 s: a task
/// that vanished (crashed, killed) before the proxy's next poll takes its address with it, and
/// a connection to that address is neither accepted nor refused. Failing the dial sooner lets
/// the retry middleware send the request to another task while the client still waits.
pub const DIAL_TIMEOUT: &str = "2s";

/// What the configuration wants to exist, with what the planner needs to admit it.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// Routed services and claims carry the placeholder slot [`crate::swarm::slot::UNASSIGNED`]
    /// until `plan()` assigns one (see [`crate::edge`]).
    pub resources: BTreeMap<Address, Resource>,
    pub deployments: BTreeMap<DeploymentId, DeploymentInfo>,
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
        };
        c.run();
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

struct DeploymentCompiler<'a> {
    d: &'a Deployment,
    id: DeploymentId,
    tls: bool,
    digests: &'a Digests,
    out: Vec<Resource>,
    errors: &'a mut Vec<PlanError>,
    routes: Vec<RouteInfo>,
}

impl DeploymentCompiler<'_> {
    fn stack(&self) -> &str {
        &self.d.stack
    }

    fn object(&self, name: &str) -> String {
        naming::object(self.stack(), name)
    }

    fn labels(&self, address: &Address) -> Labels {
        berth_labels(address, self.stack())
    }

    /// A volume of the deployment as berth creates it.
    fn volume(&self, v: &model::Volume) -> VolumeSpec {
        let address = self.id.address(Kind::Volume, &v.name);
        let mut labels = v.labels.clone();
        labels.extend(self.labels(&address));
        if let Some(size) = v.size {
            labels.insert(label::SIZE.into(), size.to_string());
        }
        VolumeSpec {
            name: self.object(&v.name),
            driver: v.driver.clone(),
            driver_opts: v.driver_opts.clone(),
            labels,
        }
    }

    fn push(
        &mut self,
        address: Address,
        spec: Spec,
        depends_on: BTreeSet<Address>,
        span: Option<Span>,
    ) {
        self.out.push(Resource {
            address,
            spec,
            depends_on: depends_on.into_iter().collect(),
            span,
        });
    }

    fn run(&mut self) {
        let d = self.d;
        self.network(DEFAULT_NETWORK, false, false, false, Some(d.span));
        for n in &d.networks {
            if n.name == DEFAULT_NETWORK || n.name == EDGE_NETWORK {
                self.errors.push(PlanError::ReservedName {
                    deployment: self.id.clone(),
                    kind: Kind::Network,
                    name: n.name.clone(),
                    span: n.span,
                });
                continue;
            }
            self.network(&n.name, n.internal, n.encrypted, n.attachable, Some(n.span));
        }
        if d.services.iter().any(|s| !s.routes.is_empty()) {
            self.claim();
        }
        for v in &d.volumes {
            let address = self.id.address(Kind::Volume, &v.name);
            let spec = self.volume(v);
            self.push(address, Spec::Volume(spec), BTreeSet::new(), Some(v.span));
        }
        for s in &d.secrets {
            let address = self.id.address(Kind::Secret, &s.name);
            let Some(digest) = self.digest(&address, None) else {
                continue;
            };
            let mut labels = self.labels(&address);
            labels.insert(label::DIGEST.into(), digest.clone());
            let spec = SecretSpec {
                name: content_name(self.stack(), &s.name, &digest),
                labels,
            };
            self.push(address, Spec::Secret(spec), BTreeSet::new(), Some(s.span));
        }
        for c in &d.configs {
            if c.name == EDGE_CLAIM {
                self.errors.push(PlanError::ReservedName {
                    deployment: self.id.clone(),
                    kind: Kind::Config,
                    name: c.name.clone(),
                    span: c.span,
                });
                continue;
            }
            let address = self.id.address(Kind::Config, &c.name);
            let content = match &c.source {
                model::ConfigSource::Content(text) => Some(text.as_bytes()),
                model::ConfigSource::File(_) => None,
            };
            let Some(digest) = self.digest(&address, content) else {
                continue;
            };
            let mut labels = self.labels(&address);
            labels.insert(label::DIGEST.into(), digest.clone());
            let spec = ConfigSpec {
                name: content_name(self.stack(), &c.name, &digest),
                labels,
                data: content.map(units::base64_encode),
            };
            self.push(address, Spec::Config(spec), BTreeSet::new(), Some(c.span));
        }
        for s in &d.services {
            self.service(s);
        }
    }

    fn digest(&mut self, address: &Address, content: Option<&[u8]>) -> Option<String> {
        if let Some(content) = content {
            return Some(units::sha256_hex(content));
        }
        match self.digests.get(&address.to_string()) {
            Some(d) => Some(d.to_ascii_lowercase()),
            None => {
                self.errors.push(PlanError::MissingDigest {
                    address: address.clone(),
                });
                None
            }
        }
    }

    fn network(
        &mut self,
        name: &str,
        internal: bool,
        encrypted: bool,
        attachable: bool,
        span: Option<Span>,
    ) {
        let address = self.id.address(Kind::Network, name);
        let mut labels = self.labels(&address);
        labels.insert(label::PROJECT_ID.into(), self.d.project.clone());
        labels.insert(
            label::PROJECT_ENVIRONMENT.into(),
            self.d.environment.to_string(),
        );
        let mut options = Labels::new();
        if encrypted {
            options.insert("encrypted".into(), String::new());
        }
        let spec = NetworkSpec {
            name: self.object(name),
            driver: "overlay".into(),
            internal,
            attachable,
            ipam: None,
            options,
            labels,
        };
        self.push(address, Spec::Network(spec), BTreeSet::new(), span);
    }

    /// The claim of an edge slot: a config named like the slot's network, holding the
    /// deployment's id. The slot is a placeholder until `plan()` assigns one.
    fn claim(&mut self) {
        let address = claim_address(&self.id);
        let mut labels = self.labels(&address);
        slot::slot_labels(&mut labels, slot::UNASSIGNED);
        let spec = ConfigSpec {
            name: slot::network_name(slot::UNASSIGNED),
            labels,
            data: Some(units::base64_encode(self.id.to_string().as_bytes())),
        };
        self.push(
            address,
            Spec::Config(spec),
            BTreeSet::new(),
            Some(self.d.span),
        );
    }

    /// The Swarm name of a secret or config of this deployment, for references.
    fn content_object_name(&self, kind: Kind, name: &str) -> String {
        let address = self.id.address(kind, name);
        self.out
            .iter()
            .find(|r| r.address == address)
            .map(|r| r.name().to_string())
            .unwrap_or_else(|| self.object(name))
    }

    fn service(&mut self, s: &model::Service) {
        let address = self.id.address(Kind::Service, &s.name);
        let mut deps = BTreeSet::new();

        let mut env = Vec::with_capacity(s.env.len());
        let mut secrets: BTreeSet<SecretReference> = BTreeSet::new();
        for (key, value) in &s.env {
            match value {
                model::EnvValue::Plain(v) => env.push(format!("{key}={v}")),
                model::EnvValue::SecretFile { secret, path } => {
                    env.push(format!("{key}={path}"));
                    deps.insert(self.id.address(Kind::Secret, secret));
                    secrets.insert(SecretReference {
                        file: file_target(path.strip_prefix("/run/secrets/").unwrap_or(path)),
                        secret_id: String::new(),
                        secret_name: self.content_object_name(Kind::Secret, secret),
                    });
                }
            }
        }

        let mut mounts = Vec::new();
        let mut configs = BTreeSet::new();
        for m in &s.mounts {
            match &m.source {
                model::MountSource::Volume(v) => {
                    deps.insert(self.id.address(Kind::Volume, v));
                    let spec = match self.d.volumes.iter().find(|x| &x.name == v) {
                        Some(volume) => self.volume(volume),
                        // The checker refuses a mount of an undeclared volume; should one
                        // get here, the mount still names the volume.
                        None => VolumeSpec {
                            name: self.object(v),
                            driver: "local".into(),
                            ..VolumeSpec::default()
                        },
                    };
                    mounts.push(volume_mount(&spec, &m.target, m.read_only));
                }
                model::MountSource::Tmpfs => mounts.push(Mount {
                    kind: "tmpfs".into(),
                    source: String::new(),
                    target: m.target.clone(),
                    read_only: m.read_only,
                    tmpfs_options: m.tmpfs_size.map(|size_bytes| TmpfsOptions { size_bytes }),
                    volume_options: None,
                }),
                model::MountSource::Secret(name) => {
                    deps.insert(self.id.address(Kind::Secret, name));
                    secrets.insert(SecretReference {
                        file: file_target(
                            m.target.strip_prefix("/run/secrets/").unwrap_or(&m.target),
                        ),
                        secret_id: String::new(),
                        secret_name: self.content_object_name(Kind::Secret, name),
                    });
                }
                model::MountSource::Config(name) => {
                    deps.insert(self.id.address(Kind::Config, name));
                    configs.insert(ConfigReference {
                        file: file_target(&m.target),
                        config_id: String::new(),
                        config_name: self.content_object_name(Kind::Config, name),
                    });
                }
            }
        }
        mounts.sort_by(|a, b| a.target.cmp(&b.target));

        let mut networks = vec![self.attachment(DEFAULT_NETWORK, &s.name, &mut deps)];
        for n in &s.networks {
            match n {
                model::NetworkRef::Own { name } => {
                    networks.push(self.attachment(name, &s.name, &mut deps))
                }
                model::NetworkRef::Shared { project, name } => {
                    let other = DeploymentId::new(project, self.d.environment, self.d.pr);
                    let stack = naming::stack(project, self.d.environment, self.d.pr);
                    deps.insert(other.address(Kind::Network, name));
                    networks.push(NetworkAttachment {
                        target: naming::object(&stack, name),
                        aliases: Vec::new(),
                    });
                }
            }
        }
        if !s.routes.is_empty() {
            // The slot's network belongs to the platform: like a shared network, it is expected
            // to exist. The claim comes first, so no two deployments ever share the network.
            deps.insert(claim_address(&self.id));
            deps.insert(network_address(slot::UNASSIGNED));
            networks.push(NetworkAttachment {
                target: slot::network_name(slot::UNASSIGNED),
                aliases: Vec::new(),
            });
        }
        networks.sort();
        networks.dedup();

        for dep in &s.depends_on {
            deps.insert(self.id.address(Kind::Service, dep));
        }

        let mut labels = s.labels.clone();
        labels.extend(self.traefik_labels(s, &address));
        labels.extend(self.labels(&address));

        let mut container_labels = Labels::new();
        container_labels.insert(label::STACK.into(), self.stack().to_string());

        let spec = ServiceSpec {
            name: self.object(&s.name),
            labels,
            task_template: TaskSpec {
                container_spec: ContainerSpec {
                    image: s.image.clone(),
                    labels: container_labels,
                    command: s.command.clone().unwrap_or_default(),
                    args: s.args.clone().unwrap_or_default(),
                    dir: s.workdir.clone().unwrap_or_default(),
                    user: s.security.user.clone().unwrap_or_default(),
                    env,
                    read_only: s.security.read_only,
                    mounts,
                    stop_grace_period: s.stop_grace_period_ns,
                    health_check: s.health.as_ref().map(|h| HealthConfig {
                        test: h.test.clone(),
                        interval: h.interval_ns,
                        timeout: h.timeout_ns,
                        retries: h.retries,
                        start_period: h.start_period_ns,
                    }),
                    secrets: secrets.into_iter().collect(),
                    configs: configs.into_iter().collect(),
                    capability_add: capabilities(&s.security.cap_add),
                    capability_drop: capabilities(&s.security.cap_drop),
                },
                resources: resources(&s.resources),
                restart_policy: Some(restart_policy(&s.restart)),
                placement: placement(&s.placement),
                networks,
            },
            mode: mode(s.mode),
            update_config: Some(update_config(&s.update, s.health.as_ref(), false)),
            rollback_config: Some(update_config(&s.rollback, s.health.as_ref(), true)),
            endpoint_spec: Some(EndpointSpec {
                mode: match s.endpoint_mode {
                    model::EndpointMode::Vip => "vip".into(),
                    model::EndpointMode::Dnsrr => "dnsrr".into(),
                },
                ports: ports(&s.publish),
            }),
        };
        self.push(address, Spec::Service(Box::new(spec)), deps, Some(s.span));
    }

    /// A network of this deployment, where the service is also known by its short name.
    fn attachment(
        &self,
        network: &str,
        service: &str,
        deps: &mut BTreeSet<Address>,
    ) -> NetworkAttachment {
        deps.insert(self.id.address(Kind::Network, network));
        NetworkAttachment {
            target: self.object(network),
            aliases: vec![service.to_string()],
        }
    }

    fn traefik_labels(&mut self, s: &model::Service, address: &Address) -> Labels {
        let mut labels = Labels::new();
        if s.routes.is_empty() {
            return labels;
        }
        labels.insert("traefik.enable".into(), "true".into());
        labels.insert(
            label::TRAEFIK_NETWORK.into(),
            slot::network_name(slot::UNASSIGNED),
        );
        for (n, route) in s.routes.iter().enumerate() {
            // The stack and service are DNS labels without `_`, and `-<n>` ends the name, so the
            // router name is unique per tenant, service and route.
            let router = format!("{}_{}-{n}", self.stack(), s.name);
            let rule = route_rule(&route.host, route.path.as_deref());
            let r = format!("traefik.http.routers.{router}");
            labels.insert(format!("{r}.rule"), rule.clone());
            labels.insert(format!("{r}.service"), router.clone());
            // Traefik polls Swarm: until its next poll it may still send a request to a task
            // that Swarm has just stopped (a rolling update, a scale down). The retry middleware
            // sends such a request, which got no answer, to another task.
            let retry = format!("{router}-retry");
            let m = format!("traefik.http.middlewares.{retry}.retry");
            labels.insert(format!("{m}.attempts"), RETRY_ATTEMPTS.to_string());
            labels.insert(format!("{m}.initialinterval"), RETRY_INTERVAL.into());
            labels.insert(format!("{r}.middlewares"), retry);
            if route.tls {
                labels.insert(format!("{r}.entrypoints"), "websecure".into());
                labels.insert(format!("{r}.tls"), "true".into());
                if self.tls {
                    labels.insert(format!("{r}.tls.certresolver"), CERT_RESOLVER.into());
                }
            } else {
                labels.insert(format!("{r}.entrypoints"), "web".into());
            }
            labels.insert(
                format!("traefik.http.services.{router}.loadbalancer.server.port"),
                route.port.to_string(),
            );
            self.routes.push(RouteInfo {
                host: route.host.clone(),
                path: route.path.clone(),
                tls: route.tls,
                acme: route.tls && self.tls,
                service: address.clone(),
                router,
                rule,
                span: route.span,
            });
        }
        labels
    }
}

/// `Host(`shop.example.com`)`, with `&& PathPrefix(`/api`)` when the route has a path.
pub fn route_rule(host: &str, path: Option<&str>) -> String {
    match path {
        Some(p) if p != "/" => format!("Host(`{host}`) && PathPrefix(`{p}`)"),
        _ => format!("Host(`{host}`)"),
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

fn file_target(name: &str) -> FileTarget {
    FileTarget {
        name: name.to_string(),
        uid: "0".into(),
        gid: "0".into(),
        mode: FILE_MODE,
    }
}

/// Docker's API takes capability names with the `CAP_` prefix; `ALL` stays as it is.
fn capabilities(caps: &[String]) -> Vec<String> {
    let mut out: Vec<String> = caps
        .iter()
        .map(|c| {
            if c == "ALL" {
                c.clone()
            } else {
                format!("CAP_{}", c.trim_start_matches("CAP_"))
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn resources(r: &model::Resources) -> Option<ResourceRequirements> {
    let limits = ResourceSet {
        nano_cpus: r.limits.nano_cpus.unwrap_or(0),
        memory_bytes: r.limits.memory_bytes.unwrap_or(0),
        pids: r.limits.pids.unwrap_or(0),
    };
    let reservations = ResourceSet {
        nano_cpus: r.reservations.nano_cpus.unwrap_or(0),
        memory_bytes: r.reservations.memory_bytes.unwrap_or(0),
        pids: 0,
    };
    if limits.is_empty() && reservations.is_empty() {
        return None;
    }
    Some(ResourceRequirements {
        limits: (!limits.is_empty()).then_some(limits),
        reservations: (!reservations.is_empty()).then_some(reservations),
    })
}

fn restart_policy(r: &model::RestartPolicy) -> RestartPolicy {
    RestartPolicy {
        condition: match r.condition {
            model::RestartCondition::None => "none",
            model::RestartCondition::OnFailure => "on-failure",
            model::RestartCondition::Any => "any",
        }
        .into(),
        delay: Some(r.delay_ns),
        max_attempts: Some(r.max_attempts.unwrap_or(0)),
        window: Some(r.window_ns.unwrap_or(0)),
    }
}

fn placement(p: &model::Placement) -> Option<Placement> {
    let mut constraints: Vec<String> = p
        .constraints
        .iter()
        .map(|c| crate::normalize::constraint(c))
        .collect();
    constraints.sort();
    constraints.dedup();
    let placement = Placement {
        constraints,
        preferences: p
            .spread
            .iter()
            .map(|s| PlacementPreference {
                spread: SpreadOver {
                    spread_descriptor: s.clone(),
                },
            })
            .collect(),
        max_replicas: p.max_replicas_per_node.unwrap_or(0),
    };
    (placement != Placement::default()).then_some(placement)
}

fn mode(m: model::ServiceMode) -> ServiceMode {
    match m {
        model::ServiceMode::Replicated { replicas } => ServiceMode {
            replicated: Some(Replicated {
                replicas: Some(replicas),
            }),
            global: None,
        },
        model::ServiceMode::Global => ServiceMode {
            replicated: None,
            global: Some(Global {}),
        },
    }
}

/// The update (or rollback) config berth sends. A model monitor of zero means "long enough":
/// the health check's start period plus interval x retries, and at least Swarm's 5 s, so that
/// Swarm watches a new task until its health check could first report it unhealthy. An explicit
/// monitor is sent as it is. Swarm accepts only `pause` and `continue` as a rollback's failure
/// action, so `rollback` there becomes `pause`.
pub fn update_config(
    p: &model::UpdatePolicy,
    health: Option<&model::Health>,
    rollback: bool,
) -> UpdateConfig {
    let monitor = if p.monitor_ns == 0 {
        swarm::auto_monitor(health)
    } else {
        p.monitor_ns
    };
    let failure_action = match (p.failure_action, rollback) {
        (model::FailureAction::Rollback, false) => "rollback",
        (model::FailureAction::Rollback, true) | (model::FailureAction::Pause, _) => "pause",
        (model::FailureAction::Continue, _) => "continue",
    };
    UpdateConfig {
        parallelism: p.parallelism,
        delay: p.delay_ns,
        failure_action: failure_action.into(),
        monitor,
        max_failure_ratio: p.max_failure_ratio,
        order: match p.order {
            model::UpdateOrder::StartFirst => "start-first",
            model::UpdateOrder::StopFirst => "stop-first",
        }
        .into(),
    }
}

fn ports(publish: &[model::Publish]) -> Vec<PortConfig> {
    let mut ports: Vec<PortConfig> = publish
        .iter()
        .map(|p| PortConfig {
            protocol: match p.protocol {
                model::Protocol::Tcp => "tcp",
                model::Protocol::Udp => "udp",
            }
            .into(),
            target_port: p.target,
            published_port: p.published,
            publish_mode: match p.mode {
                model::PublishMode::Host => "host",
                model::PublishMode::Ingress => "ingress",
            }
            .into(),
        })
        .collect();
    ports.sort();
    ports
}

/// Where the bytes of a platform secret or config come from. The caller reads them and passes
/// their digests in [`Digests`] under the address; the planner never sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformSource {
    pub address: Address,
    pub source: model::SecretSource,
}

/// The platform's secrets and configs read from files or the environment: the CA the ACME
/// client trusts, each custom certificate's chain and key, and the dashboard's users.
pub fn platform_sources(platform: &Platform) -> Vec<PlatformSource> {
    let id = DeploymentId::platform();
    let mut out = Vec::new();
    if let Some(path) = &platform.acme_ca_certificate {
        out.push(PlatformSource {
            address: id.address(Kind::Config, ACME_CA_CONFIG),
            source: model::SecretSource::File(path.clone()),
        });
    }
    for c in &platform.certificates {
        out.push(PlatformSource {
            address: id.address(Kind::Secret, &certificate_secret(&c.name)),
            source: model::SecretSource::File(c.cert.clone()),
        });
        out.push(PlatformSource {
            address: id.address(Kind::Secret, &key_secret(&c.name)),
            source: c.key.clone(),
        });
    }
    if let (true, Some(users)) = (platform.proxy.dashboard, &platform.proxy.dashboard_users) {
        out.push(PlatformSource {
            address: id.address(Kind::Secret, DASHBOARD_USERS_SECRET),
            source: users.clone(),
        });
    }
    out
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

/// Traefik's dynamic configuration (the file provider's file) listing the custom certificates
/// as the proxy sees them mounted. Paths only: the key material stays in the secrets.
pub fn tls_file(certificates: &[model::Certificate]) -> String {
    let mut out = String::from(
        "# Written by berth: the platform's certificates. Traefik picks one by SNI.\ntls:\n  certificates:\n",
    );
    for c in certificates {
        out.push_str(&format!(
            "    - certFile: /run/secrets/{}\n      keyFile: /run/secrets/{}\n",
            certificate_secret(&c.name),
            key_secret(&c.name)
        ));
    }
    out
}

/// The platform's secrets and configs, mounted into the proxy only.
struct ProxyMounts {
    secrets: Vec<SecretReference>,
    configs: Vec<ConfigReference>,
}

/// A platform secret or config named by content, with its digest label.
fn platform_object(
    kind: Kind,
    name: &str,
    digest: &str,
    data: Option<String>,
    span: Option<Span>,
) -> Resource {
    let address = DeploymentId::platform().address(kind, name);
    let mut labels = berth_labels(&address, PLATFORM_STACK);
    labels.insert(label::DIGEST.into(), digest.to_string());
    let name = content_name(PLATFORM_STACK, name, digest);
    let spec = match kind {
        Kind::Secret => Spec::Secret(SecretSpec { name, labels }),
        _ => Spec::Config(ConfigSpec { name, labels, data }),
    };
    Resource {
        address,
        spec,
        depends_on: Vec::new(),
        span,
    }
}

/// The proxy's TLS and dashboard objects: the ACME CA's config, each certificate's secrets
/// and the dynamic file listing them, and the dashboard's users.
fn proxy_tls_objects(
    platform: &Platform,
    digests: &Digests,
    errors: &mut Vec<PlanError>,
    out: &mut Vec<Resource>,
    deps: &mut BTreeSet<Address>,
) -> ProxyMounts {
    let mut mounts = ProxyMounts {
        secrets: Vec::new(),
        configs: Vec::new(),
    };
    let digest =
        |address: &Address, errors: &mut Vec<PlanError>| match digests.get(&address.to_string()) {
            Some(d) => Some(d.to_ascii_lowercase()),
            None => {
                errors.push(PlanError::MissingDigest {
                    address: address.clone(),
                });
                None
            }
        };
    for source in platform_sources(platform) {
        let Some(d) = digest(&source.address, errors) else {
            continue;
        };
        let r = platform_object(
            source.address.kind,
            &source.address.name,
            &d,
            None,
            platform.span,
        );
        let name = r.name().to_string();
        match source.address.kind {
            Kind::Config => mounts.configs.push(ConfigReference {
                file: file_target(&format!("{PROXY_CONFIG_DIR}/{}.pem", source.address.name)),
                config_id: String::new(),
                config_name: name,
            }),
            _ => mounts.secrets.push(SecretReference {
                file: file_target(&source.address.name),
                secret_id: String::new(),
                secret_name: name,
            }),
        }
        deps.insert(r.address.clone());
        out.push(r);
    }
    if !platform.certificates.is_empty() {
        let text = tls_file(&platform.certificates);
        let r = platform_object(
            Kind::Config,
            TLS_CONFIG,
            &units::sha256_hex(text.as_bytes()),
            Some(units::base64_encode(text.as_bytes())),
            platform.span,
        );
        mounts.configs.push(ConfigReference {
            file: file_target(&format!("{PROXY_CONFIG_DIR}/{TLS_CONFIG}.yml")),
            config_id: String::new(),
            config_name: r.name().to_string(),
        });
        deps.insert(r.address.clone());
        out.push(r);
    }
    mounts.secrets.sort();
    mounts.configs.sort();
    mounts
}

/// The routers on the proxy's own labels, to Traefik's internal services. The dashboard:
/// `api@internal` at the dashboard's host, over HTTPS only, behind basic authentication with the
/// users file the proxy mounts. Metrics, with a `metrics_port`: `prometheus@internal` at
/// `/metrics` on the metrics entrypoint only, behind an allow list of `metrics_allow`.
fn internal_labels(platform: &Platform, first_slot: Option<&str>) -> Labels {
    let mut labels = Labels::new();
    let proxy = &platform.proxy;
    // The Swarm provider wants a port for every service it sees on a task, even one whose only
    // routers go to internal services; nothing is ever sent to it. It is named after the first
    // router.
    let mut placeholder = None;
    if let (true, Some(host), Some(_)) = (
        proxy.dashboard,
        &proxy.dashboard_host,
        &proxy.dashboard_users,
    ) {
        let r = format!("traefik.http.routers.{DASHBOARD_ROUTER}");
        let auth = format!("{DASHBOARD_ROUTER}-auth");
        labels.insert(
            format!("{r}.rule"),
            format!("Host(`{host}`) && (PathPrefix(`/api`) || PathPrefix(`/dashboard`))"),
        );
        labels.insert(format!("{r}.service"), "api@internal".into());
        labels.insert(format!("{r}.entrypoints"), "websecure".into());
        labels.insert(format!("{r}.tls"), "true".into());
        if platform.acme_email.is_some() {
            labels.insert(format!("{r}.tls.certresolver"), CERT_RESOLVER.into());
        }
        labels.insert(format!("{r}.middlewares"), auth.clone());
        labels.insert(
            format!("traefik.http.middlewares.{auth}.basicauth.usersfile"),
            format!("/run/secrets/{DASHBOARD_USERS_SECRET}"),
        );
        placeholder.get_or_insert(DASHBOARD_ROUTER);
    }
    if let (true, Some(_), false) = (
        proxy.metrics,
        proxy.metrics_port,
        proxy.metrics_allow.is_empty(),
    ) {
        let r = format!("traefik.http.routers.{METRICS_ROUTER}");
        let allow = format!("{METRICS_ROUTER}-allow");
        labels.insert(format!("{r}.rule"), "Path(`/metrics`)".into());
        labels.insert(format!("{r}.service"), "prometheus@internal".into());
        labels.insert(format!("{r}.entrypoints"), METRICS_ENTRYPOINT.into());
        labels.insert(format!("{r}.middlewares"), allow.clone());
        labels.insert(
            format!("traefik.http.middlewares.{allow}.ipallowlist.sourcerange"),
            proxy.metrics_allow.join(","),
        );
        placeholder.get_or_insert(METRICS_ROUTER);
    }
    let Some(placeholder) = placeholder else {
        return labels;
    };
    labels.insert("traefik.enable".into(), "true".into());
    labels.insert(
        format!("traefik.http.services.{placeholder}.loadbalancer.server.port"),
        "8080".into(),
    );
    if let Some(slot) = first_slot {
        labels.insert(label::TRAEFIK_NETWORK.into(), slot.to_string());
    }
    labels
}

/// The platform's objects: the Traefik proxy, its edge slot networks (`platform_edge-00`, ...),
/// with ACME its certificate volume (and the CA it trusts), the custom certificates and the
/// dashboard's users. The proxy joins exactly the slot networks, always: its spec does not
/// depend on which projects exist, so onboarding one never restarts it.
pub fn platform_resources(
    platform: &Platform,
    digests: &Digests,
    errors: &mut Vec<PlanError>,
) -> Vec<Resource> {
    let id = DeploymentId::platform();
    let mut out = Vec::new();
    let mut deps = BTreeSet::new();
    let count = platform.proxy.edge_slots;
    let mut networks = Vec::with_capacity(count as usize);
    for slot in 0..count {
        let text = slot::slot_text(slot, count);
        let address = network_address(&text);
        let mut labels = berth_labels(&address, PLATFORM_STACK);
        slot::slot_labels(&mut labels, &text);
        let spec = NetworkSpec {
            name: slot::network_name(&text),
            driver: "overlay".into(),
            internal: false,
            attachable: false,
            ipam: None,
            options: Labels::new(),
            labels,
        };
        networks.push(NetworkAttachment {
            target: spec.name.clone(),
            aliases: Vec::new(),
        });
        deps.insert(address.clone());
        out.push(Resource {
            address,
            spec: Spec::Network(spec),
            depends_on: Vec::new(),
            span: platform.span,
        });
    }
    networks.sort();
    let acme = platform.acme_email.is_some();
    let address = id.address(Kind::Volume, "acme");
    let acme_volume = VolumeSpec {
        name: naming::object(PLATFORM_STACK, "acme"),
        driver: "local".into(),
        driver_opts: Labels::new(),
        labels: berth_labels(&address, PLATFORM_STACK),
    };
    if acme {
        deps.insert(address.clone());
        out.push(Resource {
            address,
            spec: Spec::Volume(acme_volume.clone()),
            depends_on: Vec::new(),
            span: platform.span,
        });
    }
    let proxy = &platform.proxy;
    let address = id.address(Kind::Service, "traefik");
    let redirect = acme && proxy.redirect_https;
    let mut args = vec![
        // Whatever the image's entrypoint says, the proxy does not call home.
        "--global.checkNewVersion=false".to_string(),
        "--global.sendAnonymousUsage=false".into(),
        "--providers.swarm=true".into(),
        "--providers.swarm.endpoint=unix:///var/run/docker.sock".into(),
        "--providers.swarm.exposedByDefault=false".into(),
        format!(
            "--providers.swarm.constraints=Label(`{}`,`true`)",
            label::MANAGED
        ),
        format!(
            "--providers.swarm.refreshSeconds={}",
            units::duration(proxy.refresh_ns)
        ),
        format!("--providers.providersThrottleDuration={PROVIDERS_THROTTLE}"),
        format!("--serversTransport.forwardingTimeouts.dialTimeout={DIAL_TIMEOUT}"),
        "--entrypoints.web.address=:80".into(),
        "--entrypoints.websecure.address=:443".into(),
        // Traefik's internal entrypoint (ping; metrics without a metrics port) answers only
        // inside the proxy's container: the proxy joins every tenant's edge network, and on
        // Traefik's default `:8080` each tenant could read every tenant's metrics.
        format!("--entrypoints.traefik.address={INTERNAL_ENTRYPOINT_ADDRESS}"),
    ];
    if redirect {
        args.push("--entrypoints.web.http.redirections.entrypoint.to=websecure".into());
        args.push("--entrypoints.web.http.redirections.entrypoint.scheme=https".into());
    }
    if let Some(email) = &platform.acme_email {
        let r = format!("--certificatesresolvers.{CERT_RESOLVER}.acme");
        args.push(format!("{r}.email={email}"));
        args.push(format!("{r}.storage={ACME_DIR}/acme.json"));
        if let Some(ca) = &platform.acme_ca {
            args.push(format!("{r}.caServer={ca}"));
        }
        match platform.acme_challenge {
            model::AcmeChallenge::Http => args.push(format!("{r}.httpChallenge.entryPoint=web")),
            model::AcmeChallenge::Tls => args.push(format!("{r}.tlsChallenge=true")),
        }
    }
    let tls_mounts = proxy_tls_objects(platform, digests, errors, &mut out, &mut deps);
    if !platform.certificates.is_empty() {
        args.push(format!(
            "--providers.file.filename={PROXY_CONFIG_DIR}/{TLS_CONFIG}.yml"
        ));
    }
    let mut env = Vec::new();
    if platform.acme_ca_certificate.is_some() {
        // lego, Traefik's ACME client, trusts the CAs listed here (besides none: the image has
        // no system roots) when it talks to the CA server.
        env.push(format!(
            "LEGO_CA_CERTIFICATES={PROXY_CONFIG_DIR}/{ACME_CA_CONFIG}.pem"
        ));
    }
    if proxy.access_log {
        args.push("--accesslog=true".into());
    }
    let metrics_port = proxy.metrics_port.filter(|_| proxy.metrics);
    if proxy.metrics {
        args.push("--metrics.prometheus=true".into());
        if metrics_port.is_some() {
            // Served only by the router of the proxy's labels (`internal_labels`), which
            // allows `metrics_allow` alone.
            args.push(format!(
                "--entrypoints.{METRICS_ENTRYPOINT}.address=:{METRICS_TARGET_PORT}"
            ));
            args.push("--metrics.prometheus.manualRouting=true".into());
        }
    }
    if proxy.dashboard {
        // Without this flag Traefik's API (and `api@internal`) does not exist at all.
        args.push("--api.dashboard=true".into());
    }
    args.push("--ping=true".into());

    let mut mounts = vec![Mount {
        kind: "bind".into(),
        source: "/var/run/docker.sock".into(),
        target: "/var/run/docker.sock".into(),
        read_only: true,
        tmpfs_options: None,
        volume_options: None,
    }];
    if acme {
        mounts.push(volume_mount(&acme_volume, ACME_DIR, false));
    }
    let mut constraints: Vec<String> = proxy
        .constraints
        .iter()
        .map(|c| crate::normalize::constraint(c))
        .collect();
    constraints.push("node.role == manager".into());
    constraints.sort();
    constraints.dedup();
    let mut container_labels = Labels::new();
    container_labels.insert(label::STACK.into(), PLATFORM_STACK.into());
    let mut labels = berth_labels(&address, PLATFORM_STACK);
    labels.extend(internal_labels(
        platform,
        networks.first().map(|n| n.target.as_str()),
    ));
    let spec = ServiceSpec {
        name: naming::object(PLATFORM_STACK, "traefik"),
        labels,
        task_template: TaskSpec {
            container_spec: ContainerSpec {
                image: proxy.image.clone(),
                labels: container_labels,
                args,
                env,
                mounts,
                secrets: tls_mounts.secrets,
                configs: tls_mounts.configs,
                ..ContainerSpec::default()
            },
            resources: None,
            restart_policy: Some(RestartPolicy {
                condition: defaults::RESTART_CONDITION.into(),
                delay: Some(defaults::RESTART_DELAY_NS),
                max_attempts: Some(defaults::RESTART_MAX_ATTEMPTS),
                window: Some(defaults::RESTART_WINDOW_NS),
            }),
            placement: Some(Placement {
                constraints,
                ..Placement::default()
            }),
            networks,
        },
        mode: ServiceMode {
            replicated: Some(Replicated { replicas: Some(1) }),
            global: None,
        },
        // The proxy publishes its ports on the host, so a second task cannot start beside the
        // first: it updates stop-first.
        update_config: Some(UpdateConfig {
            parallelism: 1,
            delay: 0,
            failure_action: "rollback".into(),
            monitor: defaults::MONITOR_NS,
            max_failure_ratio: 0.0,
            order: "stop-first".into(),
        }),
        rollback_config: Some(UpdateConfig {
            parallelism: 1,
            delay: 0,
            failure_action: "pause".into(),
            monitor: defaults::MONITOR_NS,
            max_failure_ratio: 0.0,
            order: "stop-first".into(),
        }),
        endpoint_spec: Some(EndpointSpec {
            mode: "dnsrr".into(),
            ports: vec![
                PortConfig {
                    protocol: "tcp".into(),
                    target_port: 80,
                    published_port: Some(proxy.http_port),
                    publish_mode: "host".into(),
                },
                PortConfig {
                    protocol: "tcp".into(),
                    target_port: 443,
                    published_port: Some(proxy.https_port),
                    publish_mode: "host".into(),
                },
            ]
            .into_iter()
            .chain(metrics_port.map(|port| PortConfig {
                protocol: "tcp".into(),
                target_port: METRICS_TARGET_PORT,
                published_port: Some(port),
                publish_mode: "host".into(),
            }))
            .collect(),
        }),
    };
    out.push(Resource {
        address,
        spec: Spec::Service(Box::new(spec)),
        depends_on: deps.into_iter().collect(),
        span: platform.span,
    });
    out
}

/// A service's mount of a volume, carrying what the engine needs to create the volume exactly as
/// berth would (labels, driver and its options) should a task start while it is missing.
fn volume_mount(volume: &VolumeSpec, target: &str, read_only: bool) -> Mount {
    let driver_config =
        (volume.driver != "local" || !volume.driver_opts.is_empty()).then(|| DriverConfig {
            name: volume.driver.clone(),
            options: volume.driver_opts.clone(),
        });
    Mount {
        kind: "volume".into(),
        source: volume.name.clone(),
        target: target.into(),
        read_only,
        tmpfs_options: None,
        volume_options: Some(VolumeOptions {
            no_copy: false,
            labels: volume.labels.clone(),
            driver_config,
        }),
    }
}
