//! The shape of the language as data: which blocks exist, where, with which attributes of which
//! types and defaults. The structural checker walks bodies against this table, and a test holds
//! `schema/LANGUAGE.md` to it, so the reference cannot drift from what berth accepts.

/// The type an attribute's value must have.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ty {
    Str,
    /// A whole number within the bounds.
    Int(u64, u64),
    /// A number within the bounds.
    Float(f64, f64),
    Bool,
    /// Bytes, written with a binary unit (`512M`).
    Size,
    /// Nanoseconds, written with units (`10s`).
    Duration,
    /// Nano-cpus, written as cores (`0.5`) or millicores (`500m`).
    Cpu,
    Port,
    /// One of the given strings.
    Enum(&'static [&'static str]),
    StrList,
    /// A list of port numbers.
    PortList,
    /// A list of references to things of the given kind.
    RefList(RefKind),
    /// A reference to one of the given kinds.
    Ref(&'static [RefKind]),
    /// A map (block or `{ ... }` literal) with free keys and scalar or reference values.
    Map,
    /// A string, number or bool, as for variable defaults.
    Scalar,
}

impl Ty {
    pub fn describe(self) -> String {
        match self {
            Ty::Str => "a string".into(),
            Ty::Int(lo, hi) if hi == u64::MAX => format!("a whole number ≥ {lo}"),
            Ty::Int(lo, hi) => format!("a whole number from {lo} to {hi}"),
            Ty::Float(lo, hi) => format!("a number from {lo} to {hi}"),
            Ty::Bool => "`true` or `false`".into(),
            Ty::Size => "a size such as `512M`".into(),
            Ty::Duration => "a duration such as `10s`".into(),
            Ty::Cpu => "a cpu amount such as `0.5` or `500m`".into(),
            Ty::Port => "a port number".into(),
            Ty::Enum(choices) => format!(
                "one of {}",
                choices
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Ty::StrList => "a list of strings".into(),
            Ty::PortList => "a list of port numbers".into(),
            Ty::RefList(kind) => format!("a list of {} references", kind.as_str()),
            Ty::Ref(kinds) => format!(
                "a reference to a {}",
                kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            Ty::Map => "a map".into(),
            Ty::Scalar => "a string, number or bool".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefKind {
    Service,
    Volume,
    Secret,
    Config,
    Network,
}

impl RefKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RefKind::Service => "service",
            RefKind::Volume => "volume",
            RefKind::Secret => "secret",
            RefKind::Config => "config",
            RefKind::Network => "network",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct AttrSchema {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    /// The default as the reference shows it; empty when there is none.
    pub default: &'static str,
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelRule {
    None,
    Required,
}

#[derive(Debug, Clone, Copy)]
pub struct BlockSchema {
    pub kind: &'static str,
    pub label: LabelRule,
    /// May appear more than once in its parent (named blocks always may, with distinct names).
    pub repeatable: bool,
    pub attrs: &'static [AttrSchema],
    pub blocks: &'static [&'static str],
    pub doc: &'static str,
}

const fn attr(name: &'static str, ty: Ty, default: &'static str, doc: &'static str) -> AttrSchema {
    AttrSchema {
        name,
        ty,
        required: false,
        default,
        doc,
    }
}

const fn req(name: &'static str, ty: Ty, doc: &'static str) -> AttrSchema {
    AttrSchema {
        name,
        ty,
        required: true,
        default: "",
        doc,
    }
}

const U: u64 = u64::MAX;
const SCOPE_BLOCKS: &[&str] = &[
    "quota", "access", "service", "job", "volume", "secret", "config", "network",
];

/// Top-level blocks.
pub const ROOT_BLOCKS: &[&str] = &["platform", "variable", "project"];

pub static BLOCKS: &[BlockSchema] = &[
    BlockSchema {
        kind: "platform",
        label: LabelRule::None,
        repeatable: false,
        doc: "The cluster every project shares. At most one per configuration.",
        attrs: &[
            attr("domain", Ty::Str, "", "Domain that default route hosts are derived from."),
            attr("acme_email", Ty::Str, "", "E-mail for the ACME account; setting it turns TLS on by default."),
            attr("acme_ca", Ty::Str, "Let's Encrypt", "ACME directory URL (e.g. a pebble test CA)."),
            attr("acme_ca_certificate", Ty::Str, "the system's roots", "PEM file of the CA that `acme_ca`'s TLS certificate chains to, relative to the configuration."),
            attr("acme_challenge", Ty::Enum(&["http", "tls"]), "\"http\"", "How the CA checks a host: HTTP-01 on port 80 or TLS-ALPN-01 on port 443."),
            attr("address_pool", Ty::Str, "Docker's default", "IPv4 CIDR pool for overlay networks, used at swarm init."),
            attr("subnet_size", Ty::Int(16, 28), "24", "Prefix length of each network's subnet."),
            attr("advertise_address", Ty::Str, "\"127.0.0.1\"", "Address the first manager advertises when berth initialises swarm mode."),
            attr("require_grants", Ty::Bool, "false", "Refuse projects without a `grant` (instead of giving them the default grant)."),
            attr("admins", Ty::StrList, "[] (anyone)", "Who may apply or destroy the platform (`--actor`/`BERTH_ACTOR`); owners of the platform's files and of everything else in `berth access codeowners`."),
        ],
        blocks: &["proxy", "certificate", "grant"],
    },
    BlockSchema {
        kind: "certificate",
        label: LabelRule::Required,
        repeatable: true,
        doc: "A TLS certificate the proxy serves, chosen by SNI, for hosts without ACME; the key needs exactly one source.",
        attrs: &[
            req("cert", Ty::Str, "PEM certificate (with its chain) file, relative to the configuration."),
            attr("key", Ty::Str, "", "PEM private key file, relative to the configuration."),
            attr("key_env", Ty::Str, "", "Environment variable of the berth process holding the PEM private key."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "grant",
        label: LabelRule::Required,
        repeatable: true,
        doc: "What the platform allows one project (named by the label). A project without one gets the default grant (docs/SECURITY.md).",
        attrs: &[
            attr("domains", Ty::StrList, "[]", "Hosts the project may route besides those derived for it under the platform's domain; `*.example.com` grants every subdomain."),
            attr("capabilities", Ty::StrList, "Docker's default set", "Capabilities the project's services may add (`cap_add`) beyond Docker's default set."),
            attr("volume_drivers", Ty::StrList, "[\"local\"]", "Volume drivers the project may use besides `local`."),
            attr("volume_options", Ty::Bool, "false", "The project may set `driver_opts` on its volumes (never bind-style ones)."),
            attr("run_as_root", Ty::Bool, "false", "The project's services may set `user` to root (`0`, `root`, `0:...`)."),
            attr("global", Ty::Bool, "false", "The project may run global services (one task per node)."),
            attr("constraints", Ty::StrList, "[]", "Placement constraints the project's services may use (`node.role == worker` always may)."),
            attr("ports", Ty::PortList, "[]", "Node ports the project may publish."),
            attr("env_prefix", Ty::Str, "`BERTH_<PROJECT>_`", "Prefix of the environment variables its secrets may read."),
            attr("files", Ty::Str, "`<project>`", "Directory, relative to the configuration, that its secret and config files must be in."),
            attr("variables", Ty::StrList, "[]", "Top-level (platform) variables the project may read."),
        ],
        blocks: &["quota", "limits"],
    },
    BlockSchema {
        kind: "proxy",
        label: LabelRule::None,
        repeatable: false,
        doc: "The Traefik proxy berth deploys.",
        attrs: &[
            attr("image", Ty::Str, "\"berth/traefik:3.7.15\"", "Traefik v3 image."),
            attr("http_port", Ty::Port, "80", "Host port for HTTP."),
            attr("https_port", Ty::Port, "443", "Host port for HTTPS."),
            attr("refresh", Ty::Duration, "1s", "How often Traefik polls Swarm."),
            attr("dashboard", Ty::Bool, "false", "Serve the dashboard over HTTPS, only with authentication (`dashboard_users`)."),
            attr("dashboard_host", Ty::Str, "`traefik.<platform domain>`", "Host the dashboard answers at."),
            attr("dashboard_users", Ty::Str, "", "htpasswd file (bcrypt, apr1 or SHA lines) of the dashboard's users, relative to the configuration."),
            attr("dashboard_users_env", Ty::Str, "", "Environment variable of the berth process holding the htpasswd lines instead."),
            attr("metrics", Ty::Bool, "true", "Collect Prometheus metrics; without `metrics_port` they are served only on the proxy's loopback, inside its container."),
            attr("metrics_port", Ty::Port, "", "Host port of a dedicated metrics entrypoint (`/metrics`), published on the proxy's node and answering only `metrics_allow`."),
            attr("metrics_allow", Ty::StrList, "", "IPv4 CIDRs allowed to scrape `metrics_port` (required with it); none may overlap `address_pool` (Docker's 10.0.0.0/8 when unset)."),
            attr("access_log", Ty::Bool, "true", "Write access logs."),
            attr("redirect_https", Ty::Bool, "true", "Redirect HTTP to HTTPS when TLS is on."),
            attr("constraints", Ty::StrList, "[\"node.role == manager\"]", "Placement constraints of the proxy."),
            attr("edge_slots", Ty::Int(1, 512), "32", "Edge networks the proxy joins up front; each routed project environment claims one."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "variable",
        label: LabelRule::Required,
        repeatable: true,
        doc: "An input, set with `--var name=value`, `BERTH_VAR_name` or a var file. At the top level it is the platform's (a project reads it only when its grant exports it); inside a project, that project's own.",
        attrs: &[
            req("type", Ty::Enum(&["string", "number", "bool"]), "The variable's type."),
            attr("default", Ty::Scalar, "", "Value when none is given; without it a value is required."),
            attr("description", Ty::Str, "", "What the variable is for."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "project",
        label: LabelRule::Required,
        repeatable: true,
        doc: "One tenant: its services and everything they need, and its environments.",
        attrs: &[attr("domain", Ty::Str, "platform's", "Domain for this project's default hosts.")],
        blocks: &["quota", "access", "variable", "service", "job", "volume", "secret", "config", "network", "environment"],
    },
    BlockSchema {
        kind: "environment",
        label: LabelRule::Required,
        repeatable: true,
        doc: "An overlay of the project for `production`, `staging`, `preview` or `development`.",
        attrs: &[attr("domain", Ty::Str, "project's", "Domain for this environment's default hosts.")],
        blocks: SCOPE_BLOCKS,
    },
    BlockSchema {
        kind: "quota",
        label: LabelRule::None,
        repeatable: false,
        doc: "Limits per project environment; unset means the grant's. In a `grant`: totals over all the project's environments, each preview counted `previews` times.",
        attrs: &[
            attr("cpu", Ty::Cpu, "", "Sum of cpu reservations x replicas."),
            attr("memory", Ty::Size, "", "Sum of memory reservations x replicas."),
            attr("limit_cpu", Ty::Cpu, "", "Sum of cpu limits x replicas."),
            attr("limit_memory", Ty::Size, "", "Sum of memory limits x replicas."),
            attr("storage", Ty::Size, "", "Sum of declared volume sizes."),
            attr("replicas", Ty::Int(0, U), "", "Sum of replicas."),
            attr("previews", Ty::Int(0, 1000), "", "Preview environments that may run at once."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "access",
        label: LabelRule::None,
        repeatable: false,
        doc: "Who may do what with the project. Declaring any role makes `berth apply` and `berth destroy` require an actor among its owners and admins; entries are e-mails, `@user`, `@org/team` or CI identities.",
        attrs: &[
            attr("owner", Ty::StrList, "[]", "Everything, including access changes: may apply and destroy (`--actor`), and owns the project's files in `berth access codeowners`."),
            attr("admin", Ty::StrList, "[]", "Deploy, scale, configure: may apply and destroy, and owns the project's files, as owners do."),
            attr("developer", Ty::StrList, "[]", "View logs, restart services: not enforced by berth, which has no such commands and does not stand between a user and `docker`. May plan, drift-check and read status."),
            attr("viewer", Ty::StrList, "[]", "Read-only: may plan, drift-check and read status (which need no actor)."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "service",
        label: LabelRule::Required,
        repeatable: true,
        doc: "A Swarm service.",
        attrs: &[
            req("image", Ty::Str, "Image reference."),
            attr("replicas", Ty::Int(0, 10_000), "1", "Number of tasks (replicated mode)."),
            attr("mode", Ty::Enum(&["replicated", "global"]), "\"replicated\"", "`global` runs one task per node."),
            attr("command", Ty::StrList, "image's", "Overrides the image's entrypoint."),
            attr("args", Ty::StrList, "image's", "Arguments to the command."),
            attr("workdir", Ty::Str, "image's", "Working directory."),
            attr("env", Ty::Map, "{}", "Environment variables; a secret reference becomes the secret file's path."),
            attr("labels", Ty::Map, "{}", "Service labels."),
            attr("depends_on", Ty::RefList(RefKind::Service), "[]", "Services deployed before this one."),
            attr("networks", Ty::RefList(RefKind::Network), "[]", "Networks besides the project's `default`."),
            attr("endpoint_mode", Ty::Enum(&["vip", "dnsrr"]), "\"vip\"", "How the service name resolves."),
            attr("stop_grace_period", Ty::Duration, "10s", "Time between SIGTERM and SIGKILL."),
            attr("enabled", Ty::Bool, "true", "Whether the service is deployed in this environment."),
        ],
        blocks: &["publish", "resources", "mount", "tmpfs", "health", "update", "rollback", "restart", "placement", "route", "security", "canary"],
    },
    BlockSchema {
        kind: "canary",
        label: LabelRule::None,
        repeatable: false,
        doc: "A second version of a routed service that receives `share` percent of each of its routes' requests while it is healthy, and alone answers at its preview hosts. Raising `share`, promoting (the service takes the canary's image, the block goes) and aborting (the block goes) are each a reviewed plan; blue-green is `share = 0`, then `100`, then promotion.",
        attrs: &[
            req("image", Ty::Str, "The second version's image."),
            req("share", Ty::Int(0, 100), "Percentage of each route's requests the canary receives while healthy."),
            attr("replicas", Ty::Int(1, 10_000), "1", "Tasks of the second version (counted against the quota)."),
            attr("command", Ty::StrList, "the service's", "Replaces the service's command."),
            attr("args", Ty::StrList, "the service's", "Replaces the service's arguments."),
            attr("env", Ty::Map, "{}", "Merged over the service's environment."),
            attr("host", Ty::Str, "derived", "Preview host of the first route; default `canary-<route host>`."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "job",
        label: LabelRule::Required,
        repeatable: true,
        doc: "A task run to completion (a Swarm replicated job), e.g. a schema migration. Services that depend on it are created or updated only after it exited 0; it runs again whenever its own spec or the spec of a service that depends on it changes.",
        attrs: &[
            req("image", Ty::Str, "Image reference."),
            attr("command", Ty::StrList, "image's", "Overrides the image's entrypoint."),
            attr("args", Ty::StrList, "image's", "Arguments to the command."),
            attr("workdir", Ty::Str, "image's", "Working directory."),
            attr("env", Ty::Map, "{}", "Environment variables; a secret reference becomes the secret file's path."),
            attr("labels", Ty::Map, "{}", "Service labels."),
            attr("depends_on", Ty::RefList(RefKind::Service), "[]", "Services (healthy) and jobs (completed) before this one."),
            attr("networks", Ty::RefList(RefKind::Network), "[]", "Networks besides the project's `default`."),
            attr("timeout", Ty::Duration, "5m", "How long a run may take before the apply fails."),
            attr("enabled", Ty::Bool, "true", "Whether the job is deployed in this environment."),
        ],
        blocks: &["resources", "mount", "tmpfs", "placement", "security"],
    },
    BlockSchema {
        kind: "publish",
        label: LabelRule::None,
        repeatable: true,
        doc: "A port published on the nodes (not needed for routed HTTP).",
        attrs: &[
            req("target", Ty::Port, "Container port."),
            attr("published", Ty::Port, "same as target", "Port on the node."),
            attr("protocol", Ty::Enum(&["tcp", "udp"]), "\"tcp\"", "Protocol."),
            attr("mode", Ty::Enum(&["host", "ingress"]), "\"host\"", "`ingress` needs the routing mesh (IPVS)."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "resources",
        label: LabelRule::None,
        repeatable: false,
        doc: "Limits and reservations per task.",
        attrs: &[],
        blocks: &["limits", "reservations"],
    },
    BlockSchema {
        kind: "limits",
        label: LabelRule::None,
        repeatable: false,
        doc: "Hard limits per task. In a `grant`: the limits of services that set none.",
        attrs: &[
            attr("cpu", Ty::Cpu, "", "CPU limit."),
            attr("memory", Ty::Size, "", "Memory limit."),
            attr("pids", Ty::Int(1, U), "", "Maximum number of processes."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "reservations",
        label: LabelRule::None,
        repeatable: false,
        doc: "What the scheduler sets aside per task.",
        attrs: &[attr("cpu", Ty::Cpu, "", "CPU reservation."), attr("memory", Ty::Size, "", "Memory reservation.")],
        blocks: &[],
    },
    BlockSchema {
        kind: "mount",
        label: LabelRule::None,
        repeatable: true,
        doc: "A volume, secret or config mounted into the tasks.",
        attrs: &[
            req("source", Ty::Ref(&[RefKind::Volume, RefKind::Secret, RefKind::Config]), "`volume.x`, `secret.x` or `config.x`."),
            req("target", Ty::Str, "Absolute path in the container."),
            attr("read_only", Ty::Bool, "false (true for secrets, configs)", "Mount read-only."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "tmpfs",
        label: LabelRule::None,
        repeatable: true,
        doc: "An in-memory file system, e.g. `/tmp` under a read-only root.",
        attrs: &[req("target", Ty::Str, "Absolute path in the container."), attr("size", Ty::Size, "unlimited", "Size limit.")],
        blocks: &[],
    },
    BlockSchema {
        kind: "health",
        label: LabelRule::None,
        repeatable: false,
        doc: "The health check; exactly one of `command`, `shell`, `disable`.",
        attrs: &[
            attr("command", Ty::StrList, "", "Command run in the container (exec form)."),
            attr("shell", Ty::Str, "", "Command run with `/bin/sh -c`."),
            attr("disable", Ty::Bool, "false", "Disable the image's own health check."),
            attr("interval", Ty::Duration, "10s", "Time between checks."),
            attr("timeout", Ty::Duration, "5s", "Time a check may take; must be below `interval`."),
            attr("retries", Ty::Int(1, 100), "3", "Failures before unhealthy."),
            attr("start_period", Ty::Duration, "0s", "Grace period after start."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "update",
        label: LabelRule::None,
        repeatable: false,
        doc: "How new versions roll out.",
        attrs: &[
            attr("parallelism", Ty::Int(0, U), "1", "Tasks updated at once (0 = all)."),
            attr("delay", Ty::Duration, "0s", "Pause between batches."),
            attr("order", Ty::Enum(&["start-first", "stop-first"]), "\"start-first\" (\"stop-first\" with host-mode ports)", "Start the new task before stopping the old."),
            attr("failure_action", Ty::Enum(&["rollback", "pause", "continue"]), "\"rollback\"", "What a failed update does."),
            attr("monitor", Ty::Duration, "start_period + interval x retries, at least 5s", "How long each new task is watched."),
            attr("max_failure_ratio", Ty::Float(0.0, 1.0), "0", "Tolerated failure ratio."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "rollback",
        label: LabelRule::None,
        repeatable: false,
        doc: "How a failed update rolls back.",
        attrs: &[
            attr("parallelism", Ty::Int(0, U), "1", "Tasks rolled back at once (0 = all)."),
            attr("delay", Ty::Duration, "0s", "Pause between batches."),
            attr("order", Ty::Enum(&["start-first", "stop-first"]), "as `update`", "Order of the rollback."),
            attr("failure_action", Ty::Enum(&["pause", "continue"]), "\"pause\"", "What a failed rollback does."),
            attr("monitor", Ty::Duration, "as `update`", "How long each task is watched."),
            attr("max_failure_ratio", Ty::Float(0.0, 1.0), "0", "Tolerated failure ratio."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "restart",
        label: LabelRule::None,
        repeatable: false,
        doc: "When Swarm restarts a task.",
        attrs: &[
            attr("condition", Ty::Enum(&["any", "on-failure", "none"]), "\"any\"", "Restart condition."),
            attr("delay", Ty::Duration, "5s", "Delay between restarts."),
            attr("max_attempts", Ty::Int(0, U), "unlimited", "Restarts before giving up."),
            attr("window", Ty::Duration, "", "Window to evaluate the restart policy."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "placement",
        label: LabelRule::None,
        repeatable: false,
        doc: "Where tasks may run.",
        attrs: &[
            attr("constraints", Ty::StrList, "[]", "E.g. `node.role == worker`."),
            attr("spread", Ty::StrList, "[]", "Spread over a node label, e.g. `node.labels.zone`."),
            attr("max_replicas_per_node", Ty::Int(1, U), "unlimited", "Tasks per node at most."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "route",
        label: LabelRule::None,
        repeatable: true,
        doc: "HTTP traffic from the proxy to this service.",
        attrs: &[
            attr("host", Ty::Str, "derived", "Host name; default `[service-]stack.domain`."),
            attr("path", Ty::Str, "all paths", "Path prefix."),
            req("port", Ty::Port, "Container port traffic goes to."),
            attr("tls", Ty::Bool, "true when the platform has `acme_email`", "Serve HTTPS with an ACME certificate."),
            attr("primary", Ty::Bool, "false", "Leave the service name out of the default host."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "security",
        label: LabelRule::None,
        repeatable: false,
        doc: "Hardening of the containers.",
        attrs: &[
            attr("read_only", Ty::Bool, "false", "Read-only root file system."),
            attr("user", Ty::Str, "image's", "User (and group) to run as, e.g. `65534:65534`."),
            attr("cap_drop", Ty::StrList, "[]", "Capabilities to drop (`ALL` for all)."),
            attr("cap_add", Ty::StrList, "[]", "Capabilities to add."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "volume",
        label: LabelRule::Required,
        repeatable: true,
        doc: "A named volume. Never removed unless data loss is allowed.",
        attrs: &[
            attr("size", Ty::Size, "", "Declared size, counted against the storage quota."),
            attr("driver", Ty::Str, "\"local\"", "Volume driver."),
            attr("driver_opts", Ty::Map, "{}", "Driver options."),
            attr("labels", Ty::Map, "{}", "Volume labels."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "secret",
        label: LabelRule::Required,
        repeatable: true,
        doc: "A Swarm secret; exactly one source.",
        attrs: &[
            attr("file", Ty::Str, "", "File holding the value, relative to the configuration."),
            attr("env", Ty::Str, "", "Environment variable of the berth process holding the value."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "config",
        label: LabelRule::Required,
        repeatable: true,
        doc: "A Swarm config; exactly one source.",
        attrs: &[
            attr("file", Ty::Str, "", "File holding the content, relative to the configuration."),
            attr("content", Ty::Str, "", "The content itself."),
        ],
        blocks: &[],
    },
    BlockSchema {
        kind: "network",
        label: LabelRule::Required,
        repeatable: true,
        doc: "An extra overlay network of the project.",
        attrs: &[
            attr("internal", Ty::Bool, "false", "No outside connectivity."),
            attr("encrypted", Ty::Bool, "false", "Encrypt overlay traffic (IPsec)."),
            attr("attachable", Ty::Bool, "false", "Standalone containers may attach."),
            attr("shared_with", Ty::StrList, "[]", "Projects whose services may join this network."),
        ],
        blocks: &[],
    },
];

pub fn block(kind: &str) -> Option<&'static BlockSchema> {
    BLOCKS.iter().find(|b| b.kind == kind)
}

impl BlockSchema {
    pub fn attr(&self, name: &str) -> Option<&'static AttrSchema> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

/// The schema of attribute `name` of block `kind`. Lowering reads defaults and bounds from
/// here, so that each is written once (and shown in `schema/LANGUAGE.md` as it is applied).
pub fn attribute(kind: &str, name: &str) -> Option<&'static AttrSchema> {
    block(kind)?.attr(name)
}

impl AttrSchema {
    /// The bounds of a whole-number attribute; any `u64` for another type.
    pub fn int_bounds(&self) -> (u64, u64) {
        match self.ty {
            Ty::Int(lo, hi) => (lo, hi),
            _ => (0, u64::MAX),
        }
    }

    /// The bounds of a number attribute; any finite number for another type.
    pub fn float_bounds(&self) -> (f64, f64) {
        match self.ty {
            Ty::Float(lo, hi) => (lo, hi),
            _ => (f64::MIN, f64::MAX),
        }
    }

    /// The default of a duration attribute in nanoseconds, when the schema states one as a
    /// duration literal (`10s`); not when it is a rule (`start_period + interval x retries`).
    pub fn default_duration(&self) -> Option<u64> {
        match self.ty {
            Ty::Duration => crate::units::duration(self.default).ok(),
            _ => None,
        }
    }

    /// The default of a number attribute, when the schema states one as a number.
    pub fn default_float(&self) -> Option<f64> {
        match self.ty {
            Ty::Float(..) => self.default.parse().ok(),
            _ => None,
        }
    }

    /// The default of a whole-number attribute, when the schema states one as a number.
    pub fn default_int(&self) -> Option<u64> {
        match self.ty {
            Ty::Int(..) | Ty::Port => self.default.parse().ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stated_defaults_are_within_their_bounds_and_parse() {
        for b in BLOCKS {
            for a in b.attrs {
                if let (Ty::Int(lo, hi), Some(n)) = (a.ty, a.default_int()) {
                    assert!((lo..=hi).contains(&n), "{}.{}", b.kind, a.name);
                }
                // A duration default that starts with a digit is a literal and must parse.
                if a.ty == Ty::Duration && a.default.starts_with(|c: char| c.is_ascii_digit()) {
                    assert!(a.default_duration().is_some(), "{}.{}", b.kind, a.name);
                }
            }
        }
        let interval = attribute("health", "interval").unwrap();
        assert_eq!(interval.default_duration(), Some(10_000_000_000));
        assert_eq!(
            attribute("health", "retries").unwrap().int_bounds(),
            (1, 100)
        );
        assert!(attribute("health", "nothing").is_none());
    }

    #[test]
    fn the_monitor_rule_states_the_models_minimum() {
        let monitor = attribute("update", "monitor").unwrap();
        let least = crate::units::format_duration(crate::model::MIN_MONITOR_NS);
        assert!(
            monitor.default.ends_with(&format!("at least {least}")),
            "{}",
            monitor.default
        );
    }
}
