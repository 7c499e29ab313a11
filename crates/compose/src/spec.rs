//! The parts of a compose service with nested syntax: `deploy` (mode, replicas, resources,
//! placement, update, rollback and restart policies, labels), `ports` and `volumes` in short
//! and long syntax, `tmpfs`, `secrets`, `configs` and `healthcheck`.

use crate::out;
use crate::service::{base_name, block, copy, Svc};
use crate::top::{object_name, truthy};
use crate::units;
use crate::{get, keys, scalar, Cx};
use berth_lang::Code;
use serde_yaml::{Mapping, Value};

const DEPLOY_KEYS: [&str; 9] = [
    "mode",
    "replicas",
    "endpoint_mode",
    "labels",
    "resources",
    "restart_policy",
    "placement",
    "update_config",
    "rollback_config",
];
const POLICY_KEYS: [&str; 6] = [
    "parallelism",
    "delay",
    "failure_action",
    "monitor",
    "max_failure_ratio",
    "order",
];

impl Cx<'_> {
    pub(crate) fn deploy(&mut self, name: &str, m: &Mapping, s: &mut Svc) {
        let mut labels: Vec<(String, Value, &'static str)> = Vec::new();
        let mut container_labels = Vec::new();
        if let Some(l) = get(m, "labels") {
            for (k, v) in label_entries(l) {
                if !k.starts_with("traefik.") {
                    container_labels.push(k.clone());
                }
                labels.push((k, v, "labels"));
            }
        }
        for key in ["mem_limit", "mem_reservation", "cpus", "pids_limit"] {
            let Some(v) = get(m, key) else { continue };
            let at = ["services", name, key];
            let entry = match key {
                "mem_limit" => self.size(v, &at).map(|x| ("limits", "memory", x)),
                "mem_reservation" => self.size(v, &at).map(|x| ("reservations", "memory", x)),
                "cpus" => self.cpus(v, &at).map(|x| ("limits", "cpu", x)),
                _ => self.fixed(v, &at).map(|x| ("limits", "pids", x)),
            };
            if let Some((set, attr, value)) = entry {
                let list = if set == "limits" {
                    &mut s.limits
                } else {
                    &mut s.reservations
                };
                list.push((attr.into(), value));
            }
        }
        if let Some(Value::Mapping(d)) = get(m, "deploy") {
            for key in keys(d) {
                let at = ["services", name, "deploy", key.as_str()];
                let v = &d[key.as_str()];
                if v.is_null() {
                    continue;
                }
                match key.as_str() {
                    "mode" => match self.fixed(v, &at).as_deref() {
                        Some("replicated") | None => {}
                        Some("global") => s.attrs.push(("mode".into(), "\"global\"".into())),
                        Some(other) => {
                            self.push(Code::ComposeUnsupportedValue, &at, format!("`mode: {other}` (a job) has no berth equivalent: berth services run continuously"));
                        }
                    },
                    "replicas" => {
                        if let Some(n) = self.number(v, &at) {
                            s.attrs.retain(|(k, _)| k != "replicas");
                            s.attrs.push(("replicas".into(), n));
                        }
                    }
                    "endpoint_mode" => {
                        if let Some(e) = self.fixed(v, &at) {
                            s.attrs.push(("endpoint_mode".into(), out::string(&e)));
                        }
                    }
                    "labels" => {
                        for (k, v) in label_entries(v) {
                            labels.push((k, v, "deploy"));
                        }
                    }
                    "resources" => self.resources(name, v, s),
                    "restart_policy" => {
                        let mut attrs = Vec::new();
                        if let Value::Mapping(r) = v {
                            for k in keys(r) {
                                let at = ["services", name, "deploy", "restart_policy", k.as_str()];
                                let val = &r[k.as_str()];
                                let lit = match k.as_str() {
                                    "condition" => self.fixed(val, &at).map(|c| out::string(&c)),
                                    "delay" | "window" => self.duration(val, &at),
                                    "max_attempts" => self.number(val, &at),
                                    other => {
                                        self.push(
                                            Code::ComposeUnknownKey,
                                            &at,
                                            format!("`{other}` is not a key of `restart_policy`"),
                                        );
                                        None
                                    }
                                };
                                if let Some(l) = lit {
                                    attrs.push((k, l));
                                }
                            }
                        }
                        let attrs: Vec<(&str, String)> =
                            attrs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                        s.blocks.push(block("restart", &attrs));
                    }
                    "placement" => self.placement(name, v, s),
                    "update_config" | "rollback_config" => {
                        let kind = if key == "update_config" {
                            "update"
                        } else {
                            "rollback"
                        };
                        let mut attrs = Vec::new();
                        if let Value::Mapping(u) = v {
                            for k in keys(u) {
                                let at = ["services", name, "deploy", key.as_str(), k.as_str()];
                                let val = &u[k.as_str()];
                                let lit = match k.as_str() {
                                    "parallelism" | "max_failure_ratio" => self.number(val, &at),
                                    "delay" | "monitor" => self.duration(val, &at),
                                    "failure_action" | "order" => {
                                        self.fixed(val, &at).map(|c| out::string(&c))
                                    }
                                    other => {
                                        let d = self.push(
                                            Code::ComposeUnknownKey,
                                            &at,
                                            format!("`{other}` is not a key of `{key}`"),
                                        );
                                        *d = d.clone().suggest(other, POLICY_KEYS);
                                        None
                                    }
                                };
                                if let Some(l) = lit {
                                    attrs.push((k, l));
                                }
                            }
                        }
                        let attrs: Vec<(&str, String)> =
                            attrs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                        s.blocks.push(block(kind, &attrs));
                    }
                    other => {
                        let d = self.push(
                            Code::ComposeUnknownKey,
                            &at,
                            format!("`{other}` is not a key of `deploy`"),
                        );
                        *d = d.clone().suggest(other, DEPLOY_KEYS);
                    }
                }
            }
        }
        let (routes, rest, notes) = self.routes(name, labels);
        s.routes = routes;
        s.notes = notes;
        if !container_labels.is_empty() {
            self.push(
                Code::ComposeChanged,
                &["services", name, "labels"],
                format!(
                    "the container labels of service `{name}` ({}) become service labels",
                    container_labels.join(", ")
                ),
            );
        }
        for (k, v, at) in rest {
            let path = ["services", name, at];
            if let Some(lit) = self.string_literal(&v, &path) {
                s.labels.retain(|(key, _)| *key != k);
                s.labels.push((k, lit));
            }
        }
    }

    fn resources(&mut self, name: &str, v: &Value, s: &mut Svc) {
        let Value::Mapping(r) = v else { return };
        for set in keys(r) {
            let Some(Value::Mapping(vals)) = r.get(set.as_str()) else {
                continue;
            };
            if set != "limits" && set != "reservations" {
                self.push(
                    Code::ComposeUnknownKey,
                    &["services", name, "deploy", "resources", &set],
                    format!("`{set}` is not a key of `resources`"),
                );
                continue;
            }
            for k in keys(vals) {
                let at = [
                    "services",
                    name,
                    "deploy",
                    "resources",
                    set.as_str(),
                    k.as_str(),
                ];
                let val = &vals[k.as_str()];
                let entry = match k.as_str() {
                    "cpus" => self.cpus(val, &at).map(|x| ("cpu", x)),
                    "memory" => self.size(val, &at).map(|x| ("memory", x)),
                    "pids" if set == "limits" => self.number(val, &at).map(|x| ("pids", x)),
                    "devices" | "generic_resources" => {
                        self.push(
                            Code::ComposeNoEquivalent,
                            &at,
                            format!("`{k}` (devices of the node) has no berth equivalent"),
                        );
                        None
                    }
                    other => {
                        self.push(
                            Code::ComposeUnknownKey,
                            &at,
                            format!("`{other}` is not a key of `{set}`"),
                        );
                        None
                    }
                };
                if let Some((attr, value)) = entry {
                    let list = if set == "limits" {
                        &mut s.limits
                    } else {
                        &mut s.reservations
                    };
                    list.retain(|(a, _)| a != attr);
                    list.push((attr.into(), value));
                }
            }
        }
    }

    fn placement(&mut self, name: &str, v: &Value, s: &mut Svc) {
        let Value::Mapping(p) = v else { return };
        let mut attrs: Vec<(&str, String)> = Vec::new();
        for k in keys(p) {
            let at = ["services", name, "deploy", "placement", k.as_str()];
            let val = &p[k.as_str()];
            match k.as_str() {
                "constraints" => {
                    let list: Vec<String> = match val {
                        Value::Sequence(l) => l.iter().filter_map(|c| self.fixed(c, &at)).collect(),
                        _ => Vec::new(),
                    };
                    attrs.push(("constraints", out::list(&list)));
                }
                "preferences" => {
                    let mut spread = Vec::new();
                    if let Value::Sequence(l) = val {
                        for pref in l {
                            match pref.get("spread").and_then(scalar) {
                                Some(x) => spread.push(x),
                                None => {
                                    self.push(Code::ComposeUnsupportedValue, &at, "a placement preference other than `spread` has no berth equivalent");
                                }
                            }
                        }
                    }
                    attrs.push(("spread", out::list(&spread)));
                }
                "max_replicas_per_node" => {
                    if let Some(n) = self.number(val, &at) {
                        attrs.push(("max_replicas_per_node", n));
                    }
                }
                other => {
                    self.push(
                        Code::ComposeUnknownKey,
                        &at,
                        format!("`{other}` is not a key of `placement`"),
                    );
                }
            }
        }
        s.blocks.push(block("placement", &attrs));
    }

    pub(crate) fn ports(&mut self, name: &str, m: &Mapping, s: &mut Svc) {
        if get(m, "expose").is_some() {
            self.push(Code::ComposeDropped, &["services", name, "expose"], format!("`expose` of service `{name}` is left out: every port of a service is reachable on the project's networks"));
        }
        let Some(Value::Sequence(ports)) = get(m, "ports") else {
            return;
        };
        let at = ["services", name, "ports"];
        let mut loopback = false;
        let mut short = false;
        for p in ports {
            let (target, published, protocol, mode, host_ip) = match p {
                Value::Mapping(l) => (
                    get(l, "target")
                        .and_then(|v| self.fixed(v, &at))
                        .unwrap_or_default(),
                    get(l, "published").and_then(|v| self.fixed(v, &at)),
                    get(l, "protocol")
                        .and_then(|v| self.fixed(v, &at))
                        .unwrap_or_else(|| "tcp".into()),
                    get(l, "mode").and_then(|v| self.fixed(v, &at)),
                    get(l, "host_ip").and_then(|v| self.fixed(v, &at)),
                ),
                other => {
                    short = true;
                    let Some(raw) = self.fixed(other, &at) else {
                        continue;
                    };
                    let (spec, protocol) = match raw.rsplit_once('/') {
                        Some((s, p)) => (s.to_string(), p.to_string()),
                        None => (raw.clone(), "tcp".into()),
                    };
                    let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
                    match parts.as_slice() {
                        [t] => (t.to_string(), None, protocol, None, None),
                        [t, p] => (t.to_string(), Some(p.to_string()), protocol, None, None),
                        [t, p, ip] => (
                            t.to_string(),
                            Some(p.to_string()).filter(|p| !p.is_empty()),
                            protocol,
                            None,
                            Some(ip.to_string()),
                        ),
                        _ => continue,
                    }
                }
            };
            if host_ip.as_deref().is_some_and(|ip| {
                ip.starts_with("127.") || ip == "::1" || ip == "[::1]" || ip == "localhost"
            }) {
                loopback = true;
                continue;
            }
            if host_ip
                .as_deref()
                .is_some_and(|ip| ip != "0.0.0.0" && !ip.is_empty())
            {
                self.push(Code::ComposeUnsupportedValue, &at, format!("a port of service `{name}` is published on the address {}: berth publishes on every address of the node", host_ip.unwrap_or_default()));
                continue;
            }
            if protocol != "tcp" && protocol != "udp" {
                self.push(
                    Code::ComposeUnsupportedValue,
                    &at,
                    format!("protocol `{protocol}` has no berth equivalent (tcp, udp)"),
                );
                continue;
            }
            let targets = range(&target);
            let publisheds = match &published {
                Some(p) => range(p),
                None => targets.clone(),
            };
            match (targets, publisheds) {
                (Some(t), Some(p)) if t.len() == p.len() && t.len() <= 16 => {
                    for (t, p) in t.into_iter().zip(p) {
                        s.published.push((t, p, protocol.clone(), mode.clone()));
                    }
                }
                _ => {
                    self.push(Code::ComposeUnsupportedValue, &at, format!("port `{target}` (published `{}`) of service `{name}` is not a port or a range of at most 16 ports", published.unwrap_or_default()));
                }
            }
        }
        if loopback {
            self.push(Code::ComposeChanged, &at, format!("the ports service `{name}` publishes on the loopback address are not published: the service is reachable on the project's networks only"));
        }
        if short
            && s.published
                .iter()
                .any(|p| p.1 != 80 && p.1 != 443 && p.3.is_none())
        {
            self.push(Code::ComposeChanged, &at, format!("the ports of service `{name}` are published in host mode (berth's default; the ingress routing mesh needs IPVS): on the nodes that run a task"));
        }
    }

    pub(crate) fn mounts(&mut self, name: &str, berth: &str, m: &Mapping, s: &mut Svc) {
        if let Some(v) = get(m, "volumes") {
            let Value::Sequence(list) = v else {
                self.push(
                    Code::ComposeShape,
                    &["services", name, "volumes"],
                    "`volumes` is a list",
                );
                return;
            };
            for (n, item) in list.iter().enumerate() {
                self.volume_mount(name, berth, n, item, s);
            }
        }
        if let Some(t) = get(m, "tmpfs") {
            let list: Vec<String> = match t {
                Value::Sequence(l) => l
                    .iter()
                    .filter_map(|x| self.fixed(x, &["services", name, "tmpfs"]))
                    .collect(),
                other => self
                    .fixed(other, &["services", name, "tmpfs"])
                    .into_iter()
                    .collect(),
            };
            for entry in list {
                let (target, opts) = entry.split_once(':').unwrap_or((&entry, ""));
                let mut attrs = vec![("target", out::string(target))];
                for opt in opts.split(',') {
                    if let Some(size) = opt.strip_prefix("size=").and_then(units::size) {
                        attrs.push(("size", units::berth_size(size)));
                    }
                }
                s.blocks.push(block("tmpfs", &attrs));
            }
        }
        for kind in ["secrets", "configs"] {
            let Some(Value::Sequence(list)) = get(m, kind) else {
                continue;
            };
            let at = ["services", name, kind];
            for item in list {
                let (source, target, extra) = match item {
                    Value::Mapping(l) => (
                        get(l, "source").and_then(scalar).unwrap_or_default(),
                        get(l, "target").and_then(scalar),
                        l.contains_key("uid") || l.contains_key("gid") || l.contains_key("mode"),
                    ),
                    other => (scalar(other).unwrap_or_default(), None, false),
                };
                let declared = if kind == "secrets" {
                    &self.secrets
                } else {
                    &self.configs
                };
                let Some(b) = declared.get(&source).cloned() else {
                    self.push(Code::ComposeShape, &at, format!("service `{name}` uses `{source}`, which the file does not declare under `{kind}`"));
                    continue;
                };
                let target = match (kind, target) {
                    ("secrets", None) => format!("/run/secrets/{source}"),
                    ("secrets", Some(t)) if !t.starts_with('/') => format!("/run/secrets/{t}"),
                    (_, None) => format!("/{source}"),
                    (_, Some(t)) => t,
                };
                if extra {
                    self.push(Code::ComposeDropped, &at, format!("`uid`, `gid` and `mode` of `{source}` in service `{name}` are left out: berth mounts secrets and configs read-only for every user"));
                }
                let src = if kind == "secrets" {
                    format!("secret.{b}")
                } else {
                    format!("config.{b}")
                };
                s.blocks.push(block(
                    "mount",
                    &[("source", src), ("target", out::string(&target))],
                ));
            }
        }
    }

    fn volume_mount(&mut self, name: &str, berth: &str, n: usize, item: &Value, s: &mut Svc) {
        let at = ["services", name, "volumes"];
        let (kind, source, target, ro, size) = match item {
            Value::Mapping(l) => (
                get(l, "type")
                    .and_then(scalar)
                    .unwrap_or_else(|| "volume".into()),
                get(l, "source").and_then(|v| self.fixed(v, &at)),
                get(l, "target")
                    .and_then(|v| self.fixed(v, &at))
                    .unwrap_or_default(),
                get(l, "read_only").is_some_and(truthy),
                l.get("tmpfs")
                    .and_then(|t| t.get("size"))
                    .and_then(scalar)
                    .and_then(|x| units::size(&x)),
            ),
            other => {
                let Some(raw) = self.fixed(other, &at) else {
                    return;
                };
                let parts: Vec<&str> = raw.split(':').collect();
                let (src, dst, mode) = match parts.as_slice() {
                    [d] => (None, d.to_string(), ""),
                    [s, d] => (Some(s.to_string()), d.to_string(), ""),
                    [s, d, m, ..] => (Some(s.to_string()), d.to_string(), *m),
                    [] => return,
                };
                let bind = src
                    .as_deref()
                    .is_some_and(|s| s.starts_with(['.', '/', '~', '$']) || s.contains('/'));
                let ro = mode.split(',').any(|f| f == "ro");
                (
                    if bind { "bind".into() } else { "volume".into() },
                    src,
                    dst,
                    ro,
                    None,
                )
            }
        };
        match kind.as_str() {
            "volume" => {
                let b = match &source {
                    Some(src) => match self.volumes.get(src) {
                        Some(b) => b.clone(),
                        None => {
                            self.push(Code::ComposeShape, &at, format!("service `{name}` mounts volume `{src}`, which the file does not declare under `volumes`"));
                            return;
                        }
                    },
                    None => {
                        let made = format!("{}_{n}", berth.replace('-', "_"));
                        self.push(Code::ComposeChanged, &at, format!("the anonymous volume `{target}` of service `{name}` becomes the named volume `{made}`"));
                        self.extra_volumes.push(made.clone());
                        made
                    }
                };
                let mut attrs = vec![
                    ("source", format!("volume.{b}")),
                    ("target", out::string(&target)),
                ];
                if ro {
                    attrs.push(("read_only", "true".into()));
                }
                s.blocks.push(block("mount", &attrs));
            }
            "tmpfs" => {
                let mut attrs = vec![("target", out::string(&target))];
                if let Some(sz) = size {
                    attrs.push(("size", units::berth_size(sz)));
                }
                s.blocks.push(block("tmpfs", &attrs));
            }
            "bind" => {
                let src = source.unwrap_or_default();
                let file = self.sources.inside(&src).filter(|p| self.fs.is_file(p));
                match file {
                    Some(path) => {
                        let stem = base_name(&src);
                        let cname = object_name(&format!("{berth}-{stem}").replace('-', "_"))
                            .unwrap_or_else(|| format!("{}_{n}", berth.replace('-', "_")));
                        let to = format!("{}/{stem}", self.project);
                        copy(&mut self.files, path, to.clone());
                        if !self.extra_configs.iter().any(|(c, _)| *c == cname) {
                            self.extra_configs.push((cname.clone(), to));
                        }
                        self.push(Code::ComposeChanged, &at, format!("the bind of the file `{src}` in service `{name}` becomes config `{cname}`{}: its content is copied at import, later changes to the file need `berth apply`", if ro { "" } else { ", mounted read-only" }));
                        s.blocks.push(block(
                            "mount",
                            &[
                                ("source", format!("config.{cname}")),
                                ("target", out::string(&target)),
                            ],
                        ));
                    }
                    _ => {
                        self.push(Code::ComposeBindMount, &at, format!("service `{name}` mounts the host path `{src}` at `{target}`"))
                            .help = Some("use a named volume for data, a config or secret for files (a read-only bind of one file next to the compose file becomes a config)".into());
                    }
                }
            }
            other => {
                self.push(
                    Code::ComposeUnsupportedValue,
                    &at,
                    format!("a mount of type `{other}` has no berth equivalent"),
                );
            }
        }
    }

    pub(crate) fn health(&mut self, name: &str, m: &Mapping, s: &mut Svc) {
        let Some(Value::Mapping(h)) = get(m, "healthcheck") else {
            return;
        };
        let mut attrs: Vec<(&str, String)> = Vec::new();
        if get(h, "disable").is_some_and(truthy) {
            s.blocks
                .push(block("health", &[("disable", "true".into())]));
            return;
        }
        for k in keys(h) {
            let at = ["services", name, "healthcheck", k.as_str()];
            let v = &h[k.as_str()];
            match k.as_str() {
                "test" => {
                    let list: Vec<Value> = match v {
                        Value::Sequence(l) => l.clone(),
                        other => vec![Value::from("CMD-SHELL"), other.clone()],
                    };
                    let first = list.first().and_then(scalar).unwrap_or_default();
                    let rest: Vec<String> = list[1.min(list.len())..]
                        .iter()
                        .filter_map(|x| self.string_literal(x, &at))
                        .collect();
                    match first.as_str() {
                        "CMD" => attrs.push(("command", format!("[{}]", rest.join(", ")))),
                        "CMD-SHELL" => {
                            let joined = list[1.min(list.len())..]
                                .iter()
                                .filter_map(scalar)
                                .collect::<Vec<_>>()
                                .join(" ");
                            if let Some(lit) = self.string_literal(&Value::String(joined), &at) {
                                attrs.push(("shell", lit));
                            }
                        }
                        "NONE" => attrs.push(("disable", "true".into())),
                        other => {
                            self.push(Code::ComposeUnsupportedValue, &at, format!("a health check test starts with `CMD`, `CMD-SHELL` or `NONE`, not `{other}`"));
                        }
                    }
                }
                "interval" | "timeout" | "start_period" => {
                    if let Some(d) = self.duration(v, &at) {
                        attrs.push((
                            match k.as_str() {
                                "interval" => "interval",
                                "timeout" => "timeout",
                                _ => "start_period",
                            },
                            d,
                        ));
                    }
                }
                "retries" => {
                    if let Some(n) = self.number(v, &at) {
                        attrs.push(("retries", n));
                    }
                }
                "start_interval" => {
                    self.push(Code::ComposeDropped, &at, format!("`start_interval` of service `{name}` is left out: Swarm checks at `interval` from the start"));
                }
                "disable" => {}
                other => {
                    self.push(
                        Code::ComposeUnknownKey,
                        &at,
                        format!("`{other}` is not a key of `healthcheck`"),
                    );
                }
            }
        }
        // Docker checks every 30s when the file says no interval (berth's own default is 10s):
        // the import keeps Docker's.
        let tests = attrs.iter().any(|(a, _)| *a == "command" || *a == "shell");
        if tests && !attrs.iter().any(|(a, _)| *a == "interval") {
            attrs.push(("interval", "30s".into()));
        }
        // berth needs the timeout below the interval (Docker lets a check run past it).
        let ns = |attrs: &[(&str, String)], k: &str| {
            attrs
                .iter()
                .find(|(a, _)| *a == k)
                .and_then(|(_, v)| units::duration(v))
        };
        if let Some(interval) = ns(&attrs, "interval") {
            let given = ns(&attrs, "timeout");
            let timeout = given.unwrap_or(5_000_000_000);
            if timeout >= interval {
                let fixed = if interval > 2_000_000_000 {
                    interval - 1_000_000_000
                } else {
                    interval / 2
                };
                self.push(Code::ComposeChanged, &["services", name, "healthcheck"], format!(
                    "the health check timeout of service `{name}` ({}{}) is not below its interval ({}), as berth needs: it becomes {}",
                    if given.is_none() { "berth's default, " } else { "" },
                    units::berth_duration(timeout), units::berth_duration(interval), units::berth_duration(fixed)));
                attrs.retain(|(a, _)| *a != "timeout");
                attrs.push(("timeout", units::berth_duration(fixed)));
            }
        }
        if tests && !attrs.iter().any(|(a, _)| *a == "timeout") {
            self.push(Code::ComposeChanged, &["services", name, "healthcheck"], format!(
                "the health check of service `{name}` sets no timeout: berth's default (5s) applies, where Docker's is 30s"));
        }
        s.blocks.push(block("health", &attrs));
    }
}

/// Labels as a mapping or a `KEY=VALUE` list.
fn label_entries(v: &Value) -> Vec<(String, Value)> {
    match v {
        Value::Mapping(m) => keys(m)
            .into_iter()
            .map(|k| {
                let val = m.get(k.as_str()).cloned().unwrap_or(Value::Null);
                let val = if val.is_null() { Value::from("") } else { val };
                (k, val)
            })
            .collect(),
        Value::Sequence(l) => l
            .iter()
            .filter_map(scalar)
            .map(|s| match s.split_once('=') {
                Some((k, v)) => (k.to_string(), Value::from(v)),
                None => (s, Value::from("")),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `8080` or `8000-8010` as ports.
fn range(s: &str) -> Option<Vec<u16>> {
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (a.parse::<u16>().ok()?, b.parse::<u16>().ok()?);
            (a <= b && b - a < 1024).then(|| (a..=b).collect())
        }
        None => s.parse::<u16>().ok().filter(|p| *p > 0).map(|p| vec![p]),
    }
}
