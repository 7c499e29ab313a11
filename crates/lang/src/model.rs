//! The checked model: what a configuration means once it has parsed and checked cleanly, with
//! every environment overlay applied, every variable substituted, every unit converted to Swarm's
//! own units (bytes, nano-cpus, nanoseconds) and every reference resolved. It is the contract
//! between `lang` and the planner: the planner never sees syntax.
//!
//! Names here are berth names (`web`, `data`); the Swarm names derived from them come from
//! [`crate::naming`], so `lang` and the planner can never disagree about them.

use crate::span::Span;
use serde::Serialize;
use std::collections::BTreeMap;

/// The environments a project can have. They decide stack names and default route hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Production,
    Staging,
    Preview,
    Development,
}

impl Environment {
    pub const ALL: [Environment; 4] = [
        Self::Production,
        Self::Staging,
        Self::Preview,
        Self::Development,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Staging => "staging",
            Self::Preview => "preview",
            Self::Development => "development",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A whole checked configuration: the platform and one [`Deployment`] per project environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    pub platform: Platform,
    pub deployments: Vec<Deployment>,
    /// Every declared project, also those whose environments were not instantiated.
    pub projects: Vec<String>,
}

impl Config {
    pub fn deployment(&self, project: &str, environment: Environment) -> Option<&Deployment> {
        self.deployments
            .iter()
            .find(|d| d.project == project && d.environment == environment)
    }
}

/// The shared cluster: domain, certificates, proxy, address pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Platform {
    pub domain: Option<String>,
    pub acme_email: Option<String>,
    /// ACME directory URL; `None` means Let's Encrypt production.
    pub acme_ca: Option<String>,
    /// A PEM file (relative to the configuration) of the CA the ACME client trusts when it
    /// talks to `acme_ca`, e.g. a test CA's listener certificate.
    pub acme_ca_certificate: Option<String>,
    /// How the CA validates that the proxy answers for a host.
    pub acme_challenge: AcmeChallenge,
    /// Certificates the proxy serves by SNI, besides ACME's.
    pub certificates: Vec<Certificate>,
    /// IPv4 pool for overlay networks, e.g. `10.208.0.0/12` (only used at swarm init).
    pub address_pool: Option<String>,
    /// Prefix length of each network's subnet carved from the pool.
    pub subnet_size: u8,
    /// The address a manager advertises when berth initialises swarm mode.
    pub advertise_address: String,
    pub proxy: Proxy,
    /// What the platform allows each project, by project name (declared grants only).
    pub grants: BTreeMap<String, Grant>,
    /// Projects without a declared grant are refused instead of getting [`Grant::default_for`].
    pub require_grants: bool,
    /// Who may apply or destroy the platform, and owns its files in the generated CODEOWNERS
    /// (see [`crate::access`]); empty means anyone may.
    pub admins: Vec<String>,
    pub span: Option<Span>,
    /// Where each file or variable the platform reads is written, by the attribute's path
    /// (`acme_ca_certificate`, `certificate.<name>.cert`, `certificate.<name>.key`,
    /// `proxy.dashboard_users`): a source that is not there is reported there (E0416).
    #[serde(skip)]
    pub source_spans: BTreeMap<String, Span>,
}

/// What the platform allows one project: its quota over all of its environments, the hosts it
/// may route and the allowances beyond the safe default. Only the platform declares grants; a
/// project's own `quota` may only lower its grant's. See docs/SECURITY.md.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grant {
    pub project: String,
    /// Declared by the platform; otherwise this is the default grant.
    pub declared: bool,
    /// Totals over every environment of the project, each preview counted `quota.previews` times.
    pub quota: Quota,
    /// Hosts the project may route besides its derived ones: exact hosts or `*.domain`.
    pub domains: Vec<String>,
    /// Capabilities beyond Docker's default set that `cap_add` may name.
    pub capabilities: Vec<String>,
    /// Volume drivers besides `local`.
    pub volume_drivers: Vec<String>,
    pub volume_options: bool,
    pub run_as_root: bool,
    pub global: bool,
    /// Placement constraints the project may use, normalised like a service's.
    pub constraints: Vec<String>,
    pub ports: Vec<u16>,
    /// Prefix of the environment variables a secret may read.
    pub env_prefix: String,
    /// Directory, relative to the configuration, its secret and config files must be in.
    pub files: String,
    /// Platform variables the project may read.
    pub variables: Vec<String>,
    /// Limits of services that declare none.
    pub default_limits: ResourceSet,
    pub span: Option<Span>,
}

impl Grant {
    /// What a project without a declared grant gets: a small quota, its derived hosts, no
    /// allowances, and default limits on every service.
    pub fn default_for(project: &str) -> Grant {
        const GIB: u64 = 1 << 30;
        const CPU: u64 = 1_000_000_000;
        Grant {
            project: project.to_string(),
            declared: false,
            quota: Quota {
                cpu: Some(CPU),
                memory: Some(GIB),
                limit_cpu: Some(2 * CPU),
                limit_memory: Some(2 * GIB),
                storage: Some(10 * GIB),
                replicas: Some(10),
                previews: Some(2),
                span: None,
            },
            domains: Vec::new(),
            capabilities: Vec::new(),
            volume_drivers: Vec::new(),
            volume_options: false,
            run_as_root: false,
            global: false,
            constraints: Vec::new(),
            ports: Vec::new(),
            env_prefix: Self::default_env_prefix(project),
            files: project.to_string(),
            variables: Vec::new(),
            default_limits: Self::default_limits(),
            span: None,
        }
    }

    /// `BERTH_SHOP_` for project `shop`, `BERTH_WEB_SHOP_` for `web-shop`.
    pub fn default_env_prefix(project: &str) -> String {
        format!("BERTH_{}_", project.to_ascii_uppercase().replace('-', "_"))
    }

    /// The limits a service without its own gets under any grant that does not set them.
    pub fn default_limits() -> ResourceSet {
        ResourceSet {
            nano_cpus: Some(1_000_000_000),
            memory_bytes: Some(256 << 20),
            pids: Some(512),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proxy {
    pub image: String,
    pub http_port: u16,
    pub https_port: u16,
    /// How often Traefik polls Swarm, in nanoseconds.
    pub refresh_ns: u64,
    pub dashboard: bool,
    /// Prometheus metrics. Without `metrics_port` they are served only on the proxy's internal
    /// entrypoint, which listens on the container's loopback.
    pub metrics: bool,
    /// The host port of a dedicated metrics entrypoint, published on the proxy's node.
    pub metrics_port: Option<u16>,
    /// IPv4 CIDRs that may scrape `metrics_port`; never empty when it is set, and none overlaps
    /// the address pool tenants' networks come from.
    pub metrics_allow: Vec<String>,
    pub access_log: bool,
    /// Redirect HTTP to HTTPS when TLS is on.
    pub redirect_https: bool,
    pub constraints: Vec<String>,
    /// How many edge networks (`platform_edge-00`, ...) the proxy joins up front. Each routed
    /// project environment claims one for itself, so onboarding a project never changes the
    /// proxy; raising it restarts the proxy once.
    pub edge_slots: u32,
    /// The dashboard's host: the declared one, else `traefik.<platform domain>`. Set whenever
    /// `dashboard` is on and the configuration is valid.
    pub dashboard_host: Option<String>,
    /// The dashboard's users, as htpasswd lines; required when `dashboard` is on.
    pub dashboard_users: Option<SecretSource>,
}

/// The ACME challenge the proxy answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AcmeChallenge {
    /// HTTP-01 on the `web` entrypoint (port 80 must reach the proxy).
    Http,
    /// TLS-ALPN-01 on the `websecure` entrypoint (port 443 must reach the proxy).
    Tls,
}

impl AcmeChallenge {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Tls => "tls",
        }
    }
}

/// A certificate and its private key from the configuration's files or the environment. The
/// proxy serves it for the hosts it names, chosen by SNI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Certificate {
    pub name: String,
    /// PEM certificate (chain) file, relative to the configuration directory.
    pub cert: String,
    /// Where the PEM private key comes from: a file or an environment variable.
    pub key: SecretSource,
    pub span: Span,
}

/// One project in one environment: the unit berth plans, applies, locks and destroys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deployment {
    pub project: String,
    pub environment: Environment,
    /// The pull-request number of a preview environment.
    pub pr: Option<u64>,
    /// The Swarm stack namespace: `shop`, `shop-staging`, `shop-pr-123`, `shop-dev`.
    pub stack: String,
    /// The domain routes derive their hosts from (project's, else platform's).
    pub domain: Option<String>,
    pub quota: Quota,
    /// The project's grant when the configuration has a platform; `None` without one.
    pub grant: Option<Grant>,
    pub access: Access,
    pub services: Vec<Service>,
    pub volumes: Vec<Volume>,
    pub secrets: Vec<Secret>,
    pub configs: Vec<ConfigFile>,
    /// Networks the project declares besides its implicit `default` network.
    pub networks: Vec<Network>,
    pub span: Span,
}

/// Per project-environment limits; `None` means unlimited.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Quota {
    /// Sum of cpu reservations x replicas, in nano-cpus.
    pub cpu: Option<u64>,
    /// Sum of memory reservations x replicas, in bytes.
    pub memory: Option<u64>,
    /// Sum of cpu limits x replicas, in nano-cpus.
    pub limit_cpu: Option<u64>,
    /// Sum of memory limits x replicas, in bytes.
    pub limit_memory: Option<u64>,
    /// Sum of declared volume sizes, in bytes.
    pub storage: Option<u64>,
    /// Sum of replicas.
    pub replicas: Option<u64>,
    /// Preview environments that may run at once (meaningful in a grant, or to lower it).
    pub previews: Option<u64>,
    pub span: Option<Span>,
}

/// Who may do what with a project environment. What berth enforces of it is in
/// [`crate::access`].
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Access {
    pub owner: Vec<String>,
    pub admin: Vec<String>,
    pub developer: Vec<String>,
    pub viewer: Vec<String>,
}

impl Access {
    /// Whether any role is declared: applying and destroying then need an actor.
    pub fn declares_roles(&self) -> bool {
        !(self.owner.is_empty()
            && self.admin.is_empty()
            && self.developer.is_empty()
            && self.viewer.is_empty())
    }

    /// Who may apply and destroy: the owners, then the admins, each once.
    pub fn deployers(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for name in self.owner.iter().chain(&self.admin) {
            if !out.contains(&name.as_str()) {
                out.push(name);
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub name: String,
    pub image: String,
    pub mode: ServiceMode,
    /// Overrides the image's entrypoint (Swarm `Command`).
    pub command: Option<Vec<String>>,
    /// Arguments (Swarm `Args`).
    pub args: Option<Vec<String>>,
    pub workdir: Option<String>,
    pub env: BTreeMap<String, EnvValue>,
    pub publish: Vec<Publish>,
    pub resources: Resources,
    pub mounts: Vec<Mount>,
    pub health: Option<Health>,
    pub update: UpdatePolicy,
    pub rollback: UpdatePolicy,
    pub restart: RestartPolicy,
    pub placement: Placement,
    pub routes: Vec<Route>,
    /// Services of the same deployment that must exist first: `depends_on` plus every service a
    /// value refers to. Sorted, without duplicates.
    pub depends_on: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub security: Security,
    pub endpoint_mode: EndpointMode,
    /// Networks besides the deployment's `default` network, which every service joins.
    pub networks: Vec<NetworkRef>,
    pub stop_grace_period_ns: Option<u64>,
    /// A second version that receives a share of the routes' traffic (a `canary` block).
    pub canary: Option<Canary>,
    pub span: Span,
}

impl Service {
    /// The tasks the service runs, its canary's included: what quotas count.
    pub fn replicas(&self) -> Option<u64> {
        let canary = self.canary.as_ref().map_or(0, |c| c.replicas);
        self.own_replicas().map(|n| n + canary)
    }

    /// Every host and path the service is reached at through the proxy: its routes and its
    /// canary's preview routes.
    pub fn routed(&self) -> impl Iterator<Item = &Route> {
        self.routes
            .iter()
            .chain(self.canary.iter().flat_map(|c| c.preview.iter()))
    }

    /// The tasks of the service's own (stable) version.
    pub fn own_replicas(&self) -> Option<u64> {
        match self.mode {
            ServiceMode::Replicated { replicas } => Some(replicas),
            ServiceMode::Global => None,
            // One task at a time, counted against quotas like a replica.
            ServiceMode::Job { .. } => Some(1),
        }
    }

    /// Whether this is a `job`: run to completion instead of kept running.
    pub fn is_job(&self) -> bool {
        matches!(self.mode, ServiceMode::Job { .. })
    }
}

/// The second version of a routed service (canary and blue-green releases): its own Swarm
/// service beside the stable one, with the stable's spec except what is declared here, sharing
/// the stable's routes by weight. `share` is the percentage of each route's requests it
/// receives while healthy (0: only at its preview hosts; 100: all of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Canary {
    pub image: String,
    pub share: u8,
    pub replicas: u64,
    /// Replaces the stable's command or args when given.
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    /// Merged over the stable's environment.
    pub env: BTreeMap<String, EnvValue>,
    /// Where the canary alone answers, one per route of the stable, in route order.
    pub preview: Vec<Route>,
    pub span: Span,
}

/// The Swarm service name suffix (after the stable's name) of a canary.
pub const CANARY_SUFFIX: &str = "-canary";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "mode")]
pub enum ServiceMode {
    Replicated {
        replicas: u64,
    },
    Global,
    /// A `job` block: one task run to completion, which may take `timeout_ns`.
    Job {
        timeout_ns: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum EnvValue {
    /// A literal value (references already substituted).
    Plain(String),
    /// A secret: the variable holds the path of the mounted secret file, never its value.
    SecretFile { secret: String, path: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PublishMode {
    Host,
    Ingress,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Publish {
    pub target: u16,
    pub published: Option<u16>,
    pub protocol: Protocol,
    pub mode: PublishMode,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Resources {
    pub limits: ResourceSet,
    pub reservations: ResourceSet,
    /// Where the reservations are written, for the planner's capacity errors.
    pub reservation_spans: ReservationSpans,
}

/// The spans of a service's `reservations` attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ReservationSpans {
    pub cpu: Option<Span>,
    pub memory: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ResourceSet {
    pub nano_cpus: Option<u64>,
    pub memory_bytes: Option<u64>,
    /// Only meaningful for limits.
    pub pids: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "type", content = "name")]
pub enum MountSource {
    Volume(String),
    Secret(String),
    Config(String),
    Tmpfs,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    pub source: MountSource,
    pub target: String,
    pub read_only: bool,
    /// Size limit of a tmpfs mount, in bytes.
    pub tmpfs_size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// Docker's form: `["CMD", ...]`, `["CMD-SHELL", "..."]`, or `["NONE"]` to disable the image's.
    pub test: Vec<String>,
    pub interval_ns: u64,
    pub timeout_ns: u64,
    pub retries: u64,
    pub start_period_ns: u64,
}

/// The least monitor window berth gives a rolling update, health check or not: 5 s, what Swarm
/// itself watches a new task for when a spec gives no monitor.
pub const MIN_MONITOR_NS: u64 = 5_000_000_000;

impl Health {
    /// How long a rolling update must watch a new task so that this health check could first
    /// report it unhealthy: `start_period + interval x retries`, at least [`MIN_MONITOR_NS`]. This
    /// is the one home of the rule (lowering's default and the planner's reading of a zero
    /// `monitor` both call it). `None` when the window is beyond what Swarm can store
    /// ([`crate::units::MAX_UNITS`]); the checker refuses that configuration (E0190).
    pub fn monitor_window(&self) -> Option<u64> {
        let window = self
            .interval_ns
            .checked_mul(self.retries)?
            .checked_add(self.start_period_ns)?;
        (window <= crate::units::MAX_UNITS).then_some(window.max(MIN_MONITOR_NS))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateOrder {
    StartFirst,
    StopFirst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureAction {
    Rollback,
    Pause,
    Continue,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdatePolicy {
    pub parallelism: u64,
    pub delay_ns: u64,
    pub order: UpdateOrder,
    pub failure_action: FailureAction,
    /// How long Swarm watches each updated task for failure, in nanoseconds.
    pub monitor_ns: u64,
    pub max_failure_ratio: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartCondition {
    None,
    OnFailure,
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestartPolicy {
    pub condition: RestartCondition,
    pub delay_ns: u64,
    pub max_attempts: Option<u64>,
    pub window_ns: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Placement {
    /// Sorted, e.g. `node.role == manager`.
    pub constraints: Vec<String>,
    /// Spread preferences, e.g. `node.labels.zone`.
    pub spread: Vec<String>,
    pub max_replicas_per_node: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    pub host: String,
    /// A path prefix such as `/api`; `None` routes every path.
    pub path: Option<String>,
    /// The container port Traefik forwards to.
    pub port: u16,
    pub tls: bool,
    pub span: Span,
}

impl Route {
    /// The URL users reach this route at through `proxy`.
    pub fn url(&self, proxy: &Proxy) -> String {
        route_url(&self.host, self.path.as_deref(), self.tls, proxy)
    }
}

/// The URL of a route through the proxy: `https://shop.example.com/`, with the proxy's port
/// when it is not the scheme's default (`http://shop.example.com:18080/api`).
pub fn route_url(host: &str, path: Option<&str>, tls: bool, proxy: &Proxy) -> String {
    let (scheme, port, default) = if tls {
        ("https", proxy.https_port, 443)
    } else {
        ("http", proxy.http_port, 80)
    };
    let port = if port == default {
        String::new()
    } else {
        format!(":{port}")
    };
    format!("{scheme}://{host}{port}{}", path.unwrap_or("/"))
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Security {
    pub read_only: bool,
    pub user: Option<String>,
    /// Upper-case names without `CAP_`, sorted; `ALL` drops everything.
    pub cap_drop: Vec<String>,
    pub cap_add: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointMode {
    Vip,
    Dnsrr,
}

/// A network a service joins besides its deployment's `default` network.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum NetworkRef {
    /// One of the deployment's own declared networks.
    Own { name: String },
    /// A network another project declares with this project in `shared_with`; it lives in
    /// that project's deployment of the same environment.
    Shared { project: String, name: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Volume {
    pub name: String,
    /// Declared size, in bytes, counted against the storage quota.
    pub size: Option<u64>,
    pub driver: String,
    pub driver_opts: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "from", content = "value")]
pub enum SecretSource {
    /// A path relative to the configuration directory.
    File(String),
    /// The name of an environment variable of the berth process.
    Env(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Secret {
    pub name: String,
    pub source: SecretSource,
    pub span: Span,
    /// The span of the `file` or `env` value, where a source that is not there is reported.
    #[serde(skip)]
    pub source_span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "from", content = "value")]
pub enum ConfigSource {
    File(String),
    Content(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigFile {
    pub name: String,
    pub source: ConfigSource,
    pub span: Span,
    /// The span of the `file` or `content` value, where a file that is not there is reported.
    #[serde(skip)]
    pub source_span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    pub name: String,
    pub internal: bool,
    pub encrypted: bool,
    pub attachable: bool,
    /// Projects whose services may join this network.
    pub shared_with: Vec<String>,
    pub span: Span,
}
