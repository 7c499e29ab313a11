//! One compose service to one berth `service` block: every key of the Compose Specification
//! is translated, translated with a warning, left out with a warning (what `docker stack
//! deploy` ignores too), or refused with a coded diagnostic naming it (docs/IMPORT.md).

use crate::out::{self, Out};
use crate::routes::Route;
use crate::top::truthy;
use crate::units;
use crate::{get, keys, scalar, CopyFile, Cx};
use berth_lang::Code;
use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Keys refused: they cross the tenant boundary or have no Swarm equivalent.
const REFUSED: [&str; 33] = [
    "network_mode",
    "pid",
    "ipc",
    "devices",
    "device_cgroup_rules",
    "sysctls",
    "security_opt",
    "userns_mode",
    "cgroup_parent",
    "cgroup",
    "external_links",
    "extra_hosts",
    "dns",
    "dns_search",
    "dns_opt",
    "volumes_from",
    "group_add",
    "oom_kill_disable",
    "oom_score_adj",
    "runtime",
    "isolation",
    "storage_opt",
    "gpus",
    "uts",
    "blkio_config",
    "cpu_shares",
    "cpu_quota",
    "cpu_period",
    "cpuset",
    "cpu_rt_runtime",
    "cpu_rt_period",
    "credential_spec",
    "use_api_socket",
];
const REFUSED_TOO: [&str; 9] = [
    "cpu_percent",
    "cpu_count",
    "mem_swappiness",
    "memswap_limit",
    "post_start",
    "pre_stop",
    "provider",
    "models",
    "label_file",
];
/// Keys left out with a warning: `docker stack deploy` ignores them too, or berth manages them.
const DROPPED: [&str; 16] = [
    "container_name",
    "hostname",
    "domainname",
    "stdin_open",
    "tty",
    "logging",
    "init",
    "shm_size",
    "ulimits",
    "stop_signal",
    "pull_policy",
    "platform",
    "mac_address",
    "annotations",
    "attach",
    "develop",
];
const TRANSLATED: [&str; 30] = [
    "image",
    "build",
    "command",
    "entrypoint",
    "working_dir",
    "environment",
    "env_file",
    "labels",
    "deploy",
    "ports",
    "expose",
    "volumes",
    "tmpfs",
    "secrets",
    "configs",
    "healthcheck",
    "depends_on",
    "networks",
    "user",
    "read_only",
    "cap_add",
    "cap_drop",
    "stop_grace_period",
    "profiles",
    "restart",
    "links",
    "mem_limit",
    "mem_reservation",
    "cpus",
    "pids_limit",
];

/// The attributes of a service block, gathered before they are written in berth's order.
#[derive(Default)]
pub(crate) struct Svc {
    pub attrs: Vec<(String, String)>,
    pub env: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub blocks: Vec<String>,
    pub limits: Vec<(String, String)>,
    pub reservations: Vec<(String, String)>,
    pub security: Vec<(String, String)>,
    pub routes: Vec<Route>,
    pub published: Vec<(u16, u16, String, Option<String>)>,
    /// Comments written at the top of the service: what the import could not translate.
    pub notes: Vec<String>,
}

pub(crate) fn block(kind: &str, attrs: &[(&str, String)]) -> String {
    let mut o = Out::default();
    o.open(kind, None);
    for (k, v) in attrs {
        o.attr(k, v);
    }
    o.close();
    o.finish()
}

impl Cx<'_> {
    pub fn service(
        &mut self,
        name: &str,
        berth: &str,
        m: &Mapping,
        names: &BTreeMap<String, String>,
        out: &mut Out,
    ) {
        let mut s = Svc::default();
        let here = |k: &str| -> Vec<String> { vec!["services".into(), name.into(), k.into()] };
        for key in keys(m) {
            let p = here(&key);
            let p: Vec<&str> = p.iter().map(String::as_str).collect();
            if key.starts_with("x-") || TRANSLATED.contains(&key.as_str()) {
                continue;
            }
            if key == "privileged" {
                if truthy(&m[key.as_str()]) {
                    self.push(Code::ComposeNoEquivalent, &p, format!("service `{name}` is `privileged`: a privileged container owns the node, and berth never runs one"));
                }
            } else if REFUSED.contains(&key.as_str()) || REFUSED_TOO.contains(&key.as_str()) {
                let v = scalar(&m[key.as_str()])
                    .map(|v| format!(": {v}"))
                    .unwrap_or_default();
                if key == "network_mode" && matches!(v.as_str(), ": bridge" | ": default") {
                    self.push(Code::ComposeDropped, &p, format!("`network_mode{v}` of service `{name}` is left out: berth services join the project's overlay networks"));
                } else {
                    self.push(
                        Code::ComposeNoEquivalent,
                        &p,
                        format!("`{key}{v}` of service `{name}` has no berth equivalent"),
                    );
                }
            } else if DROPPED.contains(&key.as_str()) {
                self.push(
                    Code::ComposeDropped,
                    &p,
                    format!("`{key}` of service `{name}` is left out: Swarm services ignore it"),
                );
            } else if key == "scale" {
                if let Some(n) = self.fixed(&m[key.as_str()], &p) {
                    s.attrs.push(("replicas".into(), n));
                }
            } else {
                let d = self.push(
                    Code::ComposeUnknownKey,
                    &p,
                    format!("`{key}` is not a key of a compose service"),
                );
                *d = d
                    .clone()
                    .suggest(&key, TRANSLATED.iter().chain(&DROPPED).copied());
            }
        }

        match (get(m, "image"), get(m, "build")) {
            (Some(img), build) => {
                if build.is_some() {
                    self.push(Code::ComposeChanged, &here("build").iter().map(String::as_str).collect::<Vec<_>>(), format!("`build` of service `{name}` is left out: berth deploys the image `image` names, which must be pushed"));
                }
                if let Some(lit) = self.string_literal(img, &["services", name, "image"]) {
                    s.attrs.insert(0, ("image".into(), lit));
                }
            }
            (None, Some(_)) => {
                self.push(Code::ComposeBuildOnly, &["services", name, "build"], format!("service `{name}` has `build` and no `image`: berth deploys images, it does not build them"))
                    .help = Some("build and push the image, then add `image:` to the service".into());
            }
            (None, None) => {
                self.push(
                    Code::ComposeShape,
                    &["services", name],
                    format!("service `{name}` has no `image`"),
                );
            }
        }
        if let Some(p) = get(m, "profiles") {
            let list: Vec<String> = match p {
                Value::Sequence(l) => l.iter().filter_map(scalar).collect(),
                other => scalar(other).into_iter().collect(),
            };
            self.push(Code::ComposeProfile, &["services", name, "profiles"], format!("service `{name}` belongs to the profiles {}: it is imported with `enabled = false`", list.join(", ")));
            s.attrs.push(("enabled".into(), "false".into()));
        }
        for (key, attr) in [("entrypoint", "command"), ("command", "args")] {
            if let Some(v) = get(m, key) {
                if let Some(words) = self.words(v, &["services", name, key]) {
                    s.attrs
                        .push((attr.into(), format!("[{}]", words.join(", "))));
                }
            }
        }
        if let Some(v) = get(m, "working_dir") {
            if let Some(lit) = self.string_literal(v, &["services", name, "working_dir"]) {
                s.attrs.push(("workdir".into(), lit));
            }
        }
        if let Some(v) = get(m, "stop_grace_period") {
            if let Some(d) = self.duration(v, &["services", name, "stop_grace_period"]) {
                s.attrs.push(("stop_grace_period".into(), d));
            }
        }
        self.env(name, m, &mut s);
        self.deploy(name, m, &mut s);
        self.depends_on(name, m, names, &mut s);
        self.service_networks(name, m, &mut s);
        self.ports(name, m, &mut s);
        self.mounts(name, berth, m, &mut s);
        self.health(name, m, &mut s);
        for (key, attr) in [("user", "user"), ("read_only", "read_only")] {
            if let Some(v) = get(m, key) {
                let at = ["services", name, key];
                if key == "read_only" {
                    if truthy(v) {
                        s.security.push((attr.into(), "true".into()));
                    }
                } else if let Some(u) = self.fixed(v, &at) {
                    s.security.push((attr.into(), out::string(&u)));
                }
            }
        }
        for key in ["cap_add", "cap_drop"] {
            if let Some(Value::Sequence(l)) = get(m, key) {
                let caps: Vec<String> = l
                    .iter()
                    .filter_map(scalar)
                    .map(|c| c.trim_start_matches("CAP_").to_ascii_uppercase())
                    .collect();
                s.security.push((key.into(), out::list(&caps)));
            }
        }
        if let Some(r) = get(m, "restart") {
            let at = ["services", name, "restart"];
            let has_policy = matches!(get(m, "deploy"), Some(Value::Mapping(d)) if d.contains_key("restart_policy"));
            if has_policy {
                self.push(Code::ComposeDropped, &at, format!("`restart` of service `{name}` is left out: `deploy.restart_policy` says it for Swarm"));
            } else if let Some(v) = scalar(r) {
                let (cond, attempts) = match v.as_str() {
                    "no" => ("none", None),
                    "always" | "unless-stopped" => ("any", None),
                    "on-failure" => ("on-failure", None),
                    other => match other.strip_prefix("on-failure:") {
                        Some(n) => ("on-failure", n.parse::<u64>().ok()),
                        None => {
                            self.push(
                                Code::ComposeUnsupportedValue,
                                &at,
                                format!("`restart: {other}` is not a restart policy"),
                            );
                            ("any", None)
                        }
                    },
                };
                if cond != "any" || v != "always" {
                    self.push(Code::ComposeChanged, &at, format!("`restart: {v}` of service `{name}` becomes Swarm's restart condition `{cond}`"));
                }
                let mut attrs = vec![("condition", out::string(cond))];
                if let Some(n) = attempts {
                    attrs.push(("max_attempts", n.to_string()));
                }
                s.blocks.push(block("restart", &attrs));
            }
        }
        // Routes from Traefik labels first, then published web ports.
        if s.routes.is_empty() {
            for (target, _, _, _) in s.published.iter().filter(|p| p.1 == 80 || p.1 == 443) {
                s.routes.push(Route {
                    port: Some(*target),
                    ..Route::default()
                });
            }
        }
        let web: Vec<_> = s
            .published
            .iter()
            .filter(|p| p.1 == 80 || p.1 == 443)
            .cloned()
            .collect();
        if !web.is_empty() {
            self.push(Code::ComposeChanged, &["services", name, "ports"], format!("service `{name}` publishes port {}: berth's proxy owns the web ports, so the service is routed through it instead", web.iter().map(|p| p.1.to_string()).collect::<Vec<_>>().join(" and ")));
        }
        for (target, published, protocol, mode) in
            s.published.iter().filter(|p| p.1 != 80 && p.1 != 443)
        {
            let mut attrs = vec![("target", target.to_string())];
            if published != target {
                attrs.push(("published", published.to_string()));
            }
            if protocol != "tcp" {
                attrs.push(("protocol", out::string(protocol)));
            }
            if let Some(md) = mode {
                attrs.push(("mode", out::string(md)));
            }
            s.blocks.push(block("publish", &attrs));
        }
        for r in s.routes.clone() {
            let mut attrs = Vec::new();
            match &r.host {
                Some(h) => attrs.push(("host", h.clone())),
                None => self.hostless_route = true,
            }
            if let Some(p) = &r.path {
                attrs.push(("path", p.clone()));
            }
            let port = r.port.unwrap_or_else(|| {
                let guess = s.published.first().map(|p| p.0).unwrap_or(80);
                self.push(
                    Code::ComposeChanged,
                    &["services", name, "labels"],
                    format!(
                        "a route of service `{name}` names no port: it is sent to port {guess}"
                    ),
                );
                guess
            });
            attrs.push(("port", port.to_string()));
            if let Some(t) = r.tls {
                attrs.push(("tls", t.to_string()));
            }
            s.blocks.push(block("route", &attrs));
        }

        out.open("service", Some(berth));
        for note in &s.notes {
            out.comment(note);
        }
        for (k, v) in &s.attrs {
            out.attr(k, v);
        }
        for (kind, entries) in [("env", &s.env), ("labels", &s.labels)] {
            if !entries.is_empty() {
                out.open(kind, None);
                for (k, v) in entries.iter() {
                    out.attr(k, v);
                }
                out.close();
            }
        }
        if !s.limits.is_empty() || !s.reservations.is_empty() {
            out.open("resources", None);
            for (kind, entries) in [("limits", &s.limits), ("reservations", &s.reservations)] {
                if !entries.is_empty() {
                    out.open(kind, None);
                    for (k, v) in entries.iter() {
                        out.attr(k, v);
                    }
                    out.close();
                }
            }
            out.close();
        }
        if !s.security.is_empty() {
            out.open("security", None);
            for (k, v) in &s.security {
                out.attr(k, v);
            }
            out.close();
        }
        for b in &s.blocks {
            out.raw(b);
        }
        out.close();
    }

    /// `command`/`entrypoint`: a list, or a string split as a shell splits words.
    fn words(&mut self, v: &Value, path: &[&str]) -> Option<Vec<String>> {
        let items: Vec<Value> = match v {
            Value::Sequence(l) => l.clone(),
            other => split_words(&scalar(other)?)
                .into_iter()
                .map(Value::String)
                .collect(),
        };
        items.iter().map(|i| self.string_literal(i, path)).collect()
    }

    pub(crate) fn duration(&mut self, v: &Value, path: &[&str]) -> Option<String> {
        let s = self.fixed(v, path)?;
        match units::duration(&s) {
            Some(ns) => Some(units::berth_duration(ns)),
            None => {
                self.push(
                    Code::ComposeUnsupportedValue,
                    path,
                    format!("`{s}` is not a duration"),
                );
                None
            }
        }
    }

    pub(crate) fn size(&mut self, v: &Value, path: &[&str]) -> Option<String> {
        let s = self.fixed(v, path)?;
        match units::size(&s) {
            Some(b) => Some(units::berth_size(b)),
            None => {
                self.push(
                    Code::ComposeUnsupportedValue,
                    path,
                    format!("`{s}` is not a size"),
                );
                None
            }
        }
    }

    pub(crate) fn cpus(&mut self, v: &Value, path: &[&str]) -> Option<String> {
        let s = self.fixed(v, path)?;
        match units::cpus(&s) {
            Some(n) => Some(units::decimal_cpus(n)),
            None => {
                self.push(
                    Code::ComposeUnsupportedValue,
                    path,
                    format!("`{s}` is not a cpu amount"),
                );
                None
            }
        }
    }

    pub(crate) fn number(&mut self, v: &Value, path: &[&str]) -> Option<String> {
        let s = self.fixed(v, path)?;
        if s.parse::<f64>().is_ok() {
            Some(s)
        } else {
            self.push(
                Code::ComposeUnsupportedValue,
                path,
                format!("`{s}` is not a number"),
            );
            None
        }
    }

    fn env(&mut self, name: &str, m: &Mapping, s: &mut Svc) {
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        if let Some(files) = get(m, "env_file") {
            let list: Vec<(String, bool)> = match files {
                Value::Sequence(l) => l
                    .iter()
                    .filter_map(|f| match f {
                        Value::Mapping(fm) => Some((
                            get(fm, "path").and_then(scalar)?,
                            get(fm, "required").is_none_or(truthy),
                        )),
                        other => scalar(other).map(|p| (p, true)),
                    })
                    .collect(),
                other => scalar(other).map(|p| (p, true)).into_iter().collect(),
            };
            for (file, required) in list {
                let at = ["services", name, "env_file"];
                let Some(path) = self.sources.inside(&file) else {
                    self.push(
                        Code::ComposeFileOutside,
                        &at,
                        format!("`{file}` is outside the compose file's directory"),
                    );
                    continue;
                };
                match self.fs.read(&path) {
                    Some(text) => {
                        for (k, v) in crate::Vars::with_env_file(&text).0 {
                            env.insert(k, out::string(&v.default.unwrap_or_default()));
                        }
                    }
                    None if required => {
                        self.push(
                            Code::ComposeUnsupportedValue,
                            &at,
                            format!("`env_file: {file}` cannot be read"),
                        );
                    }
                    None => {}
                }
            }
        }
        match get(m, "environment") {
            Some(Value::Mapping(e)) => {
                for k in keys(e) {
                    let at = ["services", name, "environment", k.as_str()];
                    let v = match get(e, &k) {
                        Some(v) => v.clone(),
                        None => Value::String(format!("${{{k}}}")),
                    };
                    if let Some(lit) = self.string_literal(&v, &at) {
                        env.insert(k, lit);
                    }
                }
            }
            Some(Value::Sequence(l)) => {
                for item in l {
                    let Some(raw) = scalar(item) else { continue };
                    let (k, v) = match raw.split_once('=') {
                        Some((k, v)) => (k.to_string(), v.to_string()),
                        None => (raw.clone(), format!("${{{raw}}}")),
                    };
                    let at = ["services", name, "environment"];
                    if let Some(lit) = self.string_literal(&Value::String(v), &at) {
                        env.insert(k, lit);
                    }
                }
            }
            Some(_) => {
                self.push(
                    Code::ComposeShape,
                    &["services", name, "environment"],
                    "`environment` is a mapping or a list of `KEY=VALUE`",
                );
            }
            None => {}
        }
        s.env = env.into_iter().collect();
    }

    fn depends_on(
        &mut self,
        name: &str,
        m: &Mapping,
        names: &BTreeMap<String, String>,
        s: &mut Svc,
    ) {
        let Some(d) = get(m, "depends_on") else {
            return;
        };
        let at = ["services", name, "depends_on"];
        let mut deps = Vec::new();
        let mut conditions = false;
        let entries: Vec<String> = match d {
            Value::Sequence(l) => l.iter().filter_map(scalar).collect(),
            Value::Mapping(map) => {
                for k in keys(map) {
                    if let Some(Value::Mapping(c)) = map.get(k.as_str()) {
                        conditions |= c
                            .get("condition")
                            .and_then(scalar)
                            .is_some_and(|c| c != "service_started")
                            || c.contains_key("restart");
                    }
                }
                keys(map)
            }
            _ => Vec::new(),
        };
        for dep in entries {
            match names.iter().find(|(_, compose)| **compose == dep) {
                Some((b, _)) => deps.push(b.clone()),
                None => {
                    self.push(Code::ComposeShape, &at, format!("service `{name}` depends on `{dep}`, which is not a service of the file"));
                }
            }
        }
        if conditions {
            self.push(Code::ComposeDropped, &at, format!("the conditions of `depends_on` of service `{name}` are left out: berth deploys a service after the services it depends on have converged (healthy where they have a health check)"));
        }
        if !deps.is_empty() {
            s.attrs.push(("depends_on".into(), out::refs(&deps)));
        }
    }

    fn service_networks(&mut self, name: &str, m: &Mapping, s: &mut Svc) {
        let Some(n) = get(m, "networks") else { return };
        let at = ["services", name, "networks"];
        let list: Vec<(String, Option<&Value>)> = match n {
            Value::Sequence(l) => l.iter().filter_map(scalar).map(|x| (x, None)).collect(),
            Value::Mapping(map) => keys(map)
                .into_iter()
                .map(|k| {
                    let v = map.get(k.as_str());
                    (k, v)
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut refs = Vec::new();
        for (net, settings) in list {
            if settings.is_some_and(|v| !v.is_null()) {
                self.push(Code::ComposeDropped, &at, format!("the settings of network `{net}` of service `{name}` (aliases, addresses) are left out: berth names services itself"));
            }
            match self.networks.get(&net) {
                Some(Some(b)) => refs.push(format!("network.{b}")),
                Some(None) => {}
                None if net == "default" => {}
                None => {
                    self.push(Code::ComposeShape, &at, format!("service `{name}` joins network `{net}`, which the file does not declare"));
                }
            }
        }
        if !refs.is_empty() {
            s.attrs.push(("networks".into(), out::refs(&refs)));
        }
    }
}

/// Splits a command line into words as a POSIX shell does: quotes and backslashes.
pub fn split_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                has = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                has = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                if !matches!(n, '"' | '\\' | '$' | '`') {
                                    cur.push('\\');
                                }
                                cur.push(n);
                            }
                        }
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    has = true;
                }
            }
            c if c.is_whitespace() => {
                if has || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            c => cur.push(c),
        }
    }
    if has || !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// The file name of `rel`, for a copy next to the project.
pub(crate) fn base_name(rel: &str) -> String {
    Path::new(rel)
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| "file".into())
}

pub(crate) fn copy(files: &mut Vec<CopyFile>, from: std::path::PathBuf, to: String) {
    if !files.iter().any(|c| c.to == to) {
        files.push(CopyFile { from, to });
    }
}

#[cfg(test)]
mod tests {
    use super::split_words;

    #[test]
    fn commands_split_like_a_shell() {
        assert_eq!(
            split_words(r#"sh -c 'echo "a b"' x\ y "q\"r""#),
            ["sh", "-c", "echo \"a b\"", "x y", "q\"r"]
        );
        assert_eq!(split_words("  "), Vec::<String>::new());
        assert_eq!(split_words("a ''"), ["a", ""]);
    }
}
