//! The project and its top-level objects: the project's name, volumes, secrets, configs and
//! networks, with their names made berth names. Services are `service.rs`'s.

use crate::out::{self, Out};
use crate::{get, keys, scalar, CopyFile, Cx, ImportOptions};
use berth_lang::Code;
use serde_yaml::{Mapping, Value};
use std::path::Path;

/// Top-level keys of the Compose Specification (`include` is read by the loader).
const TOP_KEYS: [&str; 7] = [
    "version", "name", "services", "networks", "volumes", "secrets", "configs",
];

/// Names berth reserves (E0110), besides `default` and `edge` for networks.
const RESERVED: [&str; 11] = [
    "var",
    "secret",
    "config",
    "volume",
    "network",
    "service",
    "project",
    "deployment",
    "env",
    "platform",
    "self",
];

/// `s` as a DNS label (services, networks, projects): lowercase, `_` and `.` as `-`.
pub fn dns_name(s: &str) -> Option<String> {
    let n: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c == '_' || c == '.' { '-' } else { c })
        .collect();
    let ok = n.starts_with(|c: char| c.is_ascii_lowercase())
        && !n.ends_with('-')
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && n.len() <= 63
        && !RESERVED.contains(&n.as_str());
    ok.then_some(n)
}

/// `s` as a volume, secret or config name: lowercase, `.` as `_`.
pub fn object_name(s: &str) -> Option<String> {
    let n: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c == '.' { '_' } else { c })
        .collect();
    let ok = n.starts_with(|c: char| c.is_ascii_lowercase())
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && n.len() <= 63
        && !RESERVED.contains(&n.as_str());
    ok.then_some(n)
}

impl Cx<'_> {
    /// The berth name of `name`, warned when it changed, refused when it cannot be one.
    pub fn name(&mut self, name: &str, dns: bool, path: &[&str]) -> Option<String> {
        let made = if dns {
            dns_name(name)
        } else {
            object_name(name)
        };
        match made {
            Some(n) => {
                if n != name {
                    self.push(
                        Code::ComposeChanged,
                        path,
                        format!("`{name}` is named `{n}` in berth, whose names are DNS labels"),
                    );
                }
                Some(n)
            }
            None => {
                self.push(
                    Code::ComposeName,
                    path,
                    format!("`{name}` cannot be made a berth name"),
                )
                .help = Some(
                    "names start with a letter and hold lowercase letters, digits and `-` \
                     (volumes, secrets and configs also `_`); some (`service`, `volume` ...) are reserved"
                        .into(),
                );
                None
            }
        }
    }

    /// The whole project's berth text, formatted; `None` when something was refused.
    pub fn project_text(&mut self, doc: Mapping, options: &ImportOptions) -> Option<String> {
        for key in keys(&doc) {
            if !TOP_KEYS.contains(&key.as_str()) && !key.starts_with("x-") {
                let d = self.push(
                    Code::ComposeUnknownKey,
                    &[&key],
                    format!("`{key}` is not a top-level key of the Compose Specification"),
                );
                *d = d.clone().suggest(&key, TOP_KEYS);
            }
        }
        let dir_name = self
            .sources
            .dir
            .canonicalize()
            .unwrap_or_else(|_| self.sources.dir.clone())
            .file_name()
            .map(|n| n.to_string_lossy().to_string());
        let (raw, path): (String, &[&str]) = match (&options.project, get(&doc, "name")) {
            (Some(p), _) => (p.clone(), &[]),
            (None, Some(n)) => (self.fixed(n, &["name"]).unwrap_or_default(), &["name"]),
            (None, None) => (dir_name.unwrap_or_else(|| "imported".into()), &[]),
        };
        self.project = dns_name(&raw).unwrap_or_else(|| raw.clone());
        self.name(&raw, true, path)?;

        let mut body = Out::default();
        self.volumes(&doc, &mut body);
        self.secrets_and_configs(&doc, "secrets", &mut body);
        self.secrets_and_configs(&doc, "configs", &mut body);
        self.networks(&doc, &mut body);
        let services = match get(&doc, "services") {
            Some(Value::Mapping(s)) => s.clone(),
            Some(_) => {
                self.push(
                    Code::ComposeShape,
                    &["services"],
                    "`services` is a mapping of services",
                );
                return None;
            }
            None => {
                self.push(
                    Code::ComposeShape,
                    &[],
                    "the compose file has no `services`, so there is nothing to import",
                );
                return None;
            }
        };
        let mut services = services;
        let fs = self.fs;
        crate::load::extends(&mut services, fs, &mut self.sources, &mut self.diags);
        let mut names = std::collections::BTreeMap::new();
        for name in keys(&services) {
            if let Some(b) = self.name(&name, true, &["services", &name]) {
                if let Some(first) = names.insert(b.clone(), name.clone()) {
                    self.push(
                        Code::ComposeName,
                        &["services", &name],
                        format!("`{name}` and `{first}` both become the berth name `{b}`"),
                    );
                }
            }
        }
        let mut svc_out = Out::default();
        for (berth, name) in &names {
            let Some(v) = services.get(name.as_str()) else {
                continue;
            };
            let Value::Mapping(m) = v else {
                self.push(
                    Code::ComposeShape,
                    &["services", name],
                    format!("service `{name}` is not a mapping"),
                );
                continue;
            };
            self.service(name, berth, m, &names, &mut svc_out);
        }
        // Objects the services made (configs from file binds, named anonymous volumes).
        for v in std::mem::take(&mut self.extra_volumes) {
            body.open("volume", Some(&v));
            body.close();
        }
        for (name, file) in std::mem::take(&mut self.extra_configs) {
            body.open("config", Some(&name));
            body.attr("file", &out::string(&file));
            body.close();
        }
        if self.has_errors() {
            return None;
        }
        let mut o = Out::default();
        let files: Vec<String> = self
            .sources
            .paths
            .iter()
            .map(|p| {
                p.file_name()
                    .map(|f| f.to_string_lossy().to_string())
                    .unwrap_or_default()
            })
            .collect();
        o.comment(&format!(
            "Imported from {} by `berth import compose`; docs/IMPORT.md says what each key became.",
            files.join(", ")
        ));
        o.open("project", Some(&self.project));
        if let Some(d) = options.domain.as_ref().filter(|_| self.hostless_route) {
            o.attr("domain", &out::string(d));
        }
        self.variables(&mut o);
        let text = format!(
            "{}{}{}  }}\n",
            o.finish(),
            indent(&body.finish()),
            indent(&svc_out.finish())
        );
        let text = spaced(&text);
        match berth_lang::fmt::format_source(berth_lang::FileId(0), &text) {
            Ok(formatted) => Some(formatted),
            Err(errors) => {
                // A bug of the writer: report it rather than write an unreadable project.
                for e in errors {
                    self.diags.push(berth_lang::Diagnostic::unlocated(
                        Code::ImportRefused,
                        format!(
                            "internal: the generated project does not parse: {}",
                            e.message
                        ),
                    ));
                }
                None
            }
        }
    }

    fn volumes(&mut self, doc: &Mapping, out: &mut Out) {
        let Some(Value::Mapping(vols)) = get(doc, "volumes") else {
            return;
        };
        for name in keys(vols) {
            let here = ["volumes", name.as_str()];
            let Some(b) = self.name(&name, false, &here) else {
                continue;
            };
            let spec = match vols.get(name.as_str()) {
                Some(Value::Mapping(m)) => m.clone(),
                _ => Mapping::new(),
            };
            if get(&spec, "external").is_some_and(truthy) {
                self.push(
                    Code::ComposeUnsupportedValue,
                    &["volumes", &name, "external"],
                    format!("volume `{name}` is external: berth creates and owns every volume of a project"),
                )
                .help = Some("remove `external` to let berth create it (the data of an existing volume is not moved)".into());
                continue;
            }
            self.volumes.insert(name.clone(), b.clone());
            out.open("volume", Some(&b));
            for key in keys(&spec) {
                let at = ["volumes", name.as_str(), key.as_str()];
                let v = &spec[key.as_str()];
                match key.as_str() {
                    "driver" => {
                        if let Some(s) = self.fixed(v, &at) {
                            out.attr("driver", &out::string(&s));
                        }
                    }
                    "driver_opts" | "labels" => {
                        let attr = if key == "labels" {
                            "labels"
                        } else {
                            "driver_opts"
                        };
                        if let Some(map) = self.string_map(v, &at) {
                            out.open(attr, None);
                            for (k, val) in map {
                                out.attr(&k, &val);
                            }
                            out.close();
                        }
                    }
                    "name" => {
                        self.push(
                            Code::ComposeChanged,
                            &at,
                            format!(
                                "volume `{name}` is named by berth (`<stack>_{b}`), not by `name`"
                            ),
                        );
                    }
                    "external" => {}
                    k if k.starts_with("x-") => {}
                    other => {
                        self.push(
                            Code::ComposeUnknownKey,
                            &at,
                            format!("`{other}` is not a key of a volume"),
                        );
                    }
                }
            }
            out.close();
        }
    }

    fn secrets_and_configs(&mut self, doc: &Mapping, kind: &str, out: &mut Out) {
        let Some(Value::Mapping(items)) = get(doc, kind) else {
            return;
        };
        let block = if kind == "secrets" {
            "secret"
        } else {
            "config"
        };
        for name in keys(items) {
            let here = [kind, name.as_str()];
            let Some(b) = self.name(&name, false, &here) else {
                continue;
            };
            let Some(Value::Mapping(spec)) = items.get(name.as_str()) else {
                self.push(
                    Code::ComposeShape,
                    &here,
                    format!("{block} `{name}` needs `file`, `environment` or `external`"),
                );
                continue;
            };
            let prefix = berth_lang::model::Grant::default_env_prefix(&self.project);
            if let Some(f) = get(spec, "file") {
                let at = [kind, name.as_str(), "file"];
                let Some(file) = self.fixed(f, &at) else {
                    continue;
                };
                let Some(from) = self.sources.inside(&file) else {
                    self.push(
                        Code::ComposeFileOutside,
                        &at,
                        format!("`{file}` is outside the compose file's directory"),
                    );
                    continue;
                };
                let base = Path::new(&file)
                    .file_name()
                    .map(|f| f.to_string_lossy().to_string())
                    .unwrap_or_else(|| b.clone());
                let mut to = format!("{}/{base}", self.project);
                if self.files.iter().any(|c| c.to == to) {
                    to = format!("{}/{b}-{base}", self.project);
                }
                if self.fs.is_file(&from) {
                    self.files.push(CopyFile {
                        from,
                        to: to.clone(),
                    });
                } else {
                    self.push(
                        Code::ComposeChanged,
                        &at,
                        format!(
                            "`{file}` does not exist; the {block} reads `{to}`, put the file there"
                        ),
                    );
                }
                out.open(block, Some(&b));
                out.attr("file", &out::string(&to));
                out.close();
            } else if let Some(c) = get(spec, "content").filter(|_| kind == "configs") {
                let Some(lit) = self.string_literal(c, &[kind, &name, "content"]) else {
                    continue;
                };
                out.open(block, Some(&b));
                out.attr("content", &lit);
                out.close();
            } else if kind == "secrets"
                && (get(spec, "environment").is_some() || get(spec, "external").is_some_and(truthy))
            {
                let (var, key) = match get(spec, "environment").and_then(scalar) {
                    Some(v) => (v, "environment"),
                    None => (
                        name.to_ascii_uppercase().replace(['-', '.'], "_"),
                        "external",
                    ),
                };
                let env = format!("{prefix}{}", var.trim_start_matches(&prefix));
                self.push(
                    Code::ComposeChanged,
                    &[kind, &name, key],
                    format!("secret `{name}` reads the environment variable `{env}` of the berth process that applies it"),
                )
                .help = Some("a berth project's secrets read only variables with its prefix (docs/SECURITY.md)".into());
                out.open(block, Some(&b));
                out.attr("env", &out::string(&env));
                out.close();
            } else {
                self.push(
                    Code::ComposeUnsupportedValue,
                    &here,
                    format!(
                        "{block} `{name}`: berth reads a {block} from a file{}",
                        if kind == "configs" {
                            " or `content`"
                        } else {
                            " or an environment variable"
                        }
                    ),
                );
                continue;
            }
            let map = if kind == "secrets" {
                &mut self.secrets
            } else {
                &mut self.configs
            };
            map.insert(name.clone(), b);
            for key in keys(spec) {
                if matches!(
                    key.as_str(),
                    "name" | "labels" | "template_driver" | "driver" | "driver_opts"
                ) {
                    self.push(Code::ComposeDropped, &[kind, &name, &key], format!("`{key}` of {block} `{name}` is left out: berth names and labels its objects itself"));
                }
            }
        }
    }

    fn networks(&mut self, doc: &Mapping, out: &mut Out) {
        let Some(Value::Mapping(nets)) = get(doc, "networks") else {
            return;
        };
        for name in keys(nets) {
            let spec = match nets.get(name.as_str()) {
                Some(Value::Mapping(m)) => m.clone(),
                _ => Mapping::new(),
            };
            let here = ["networks", name.as_str()];
            if get(&spec, "external").is_some_and(truthy) {
                self.push(
                    Code::ComposeChanged,
                    &here,
                    format!("external network `{name}` is left out: berth connects routed services to its proxy itself, and a network another berth project shares is `project.OTHER.network.NAME`"),
                );
                self.networks.insert(name, None);
                continue;
            }
            if name == "default" {
                if !spec.is_empty() {
                    self.push(Code::ComposeDropped, &here, "the settings of the `default` network are left out: berth creates each project's default network");
                }
                self.networks.insert(name, None);
                continue;
            }
            let Some(b) = self.name(&name, true, &here) else {
                continue;
            };
            out.open("network", Some(&b));
            for key in keys(&spec) {
                let at = ["networks", name.as_str(), key.as_str()];
                let v = &spec[key.as_str()];
                match key.as_str() {
                    "driver" => match scalar(v).as_deref() {
                        Some("overlay") => {}
                        Some("bridge") => {
                            self.push(Code::ComposeChanged, &at, format!("network `{name}` is an overlay network, as every Swarm service network"));
                        }
                        other => {
                            self.push(Code::ComposeNoEquivalent, &at, format!("network driver `{}` has no berth equivalent: berth networks are overlay networks", other.unwrap_or("?")));
                        }
                    },
                    "internal" | "attachable" => {
                        if truthy(v) {
                            out.attr(&key, "true");
                        }
                    }
                    "driver_opts" => {
                        if let Value::Mapping(opts) = v {
                            for k in keys(opts) {
                                if k == "encrypted" {
                                    out.attr("encrypted", "true");
                                } else {
                                    self.push(
                                        Code::ComposeDropped,
                                        &[&at[..], &[k.as_str()]].concat(),
                                        format!(
                                            "driver option `{k}` of network `{name}` is left out"
                                        ),
                                    );
                                }
                            }
                        }
                    }
                    "ipam" | "labels" | "name" | "enable_ipv6" | "enable_ipv4" => {
                        self.push(Code::ComposeDropped, &at, format!("`{key}` of network `{name}` is left out: berth allocates and labels its networks"));
                    }
                    "external" => {}
                    k if k.starts_with("x-") => {}
                    other => {
                        self.push(
                            Code::ComposeUnknownKey,
                            &at,
                            format!("`{other}` is not a key of a network"),
                        );
                    }
                }
            }
            out.close();
            self.networks.insert(name, Some(b));
        }
    }

    /// A mapping or `KEY=VALUE` list as berth map entries (keys as written, values as literals).
    pub fn string_map(&mut self, v: &Value, path: &[&str]) -> Option<Vec<(String, String)>> {
        let mut entries = Vec::new();
        match v {
            Value::Mapping(m) => {
                for k in keys(m) {
                    let val = &m[k.as_str()];
                    let lit = if val.is_null() {
                        out::string("")
                    } else {
                        self.string_literal(val, &[path, &[k.as_str()]].concat())?
                    };
                    entries.push((k, lit));
                }
            }
            Value::Sequence(items) => {
                for item in items {
                    let s = scalar(item)?;
                    let (k, val) = s.split_once('=').unwrap_or((&s, ""));
                    let lit = self.string_literal(&Value::String(val.to_string()), path)?;
                    entries.push((k.to_string(), lit));
                }
            }
            Value::Null => {}
            _ => {
                self.push(
                    Code::ComposeShape,
                    path,
                    format!("`{}` is a mapping or a list of `KEY=VALUE`", path.join(".")),
                );
                return None;
            }
        }
        Some(entries)
    }
}

/// `true`, `"true"`, or any mapping (`external: {name: x}`).
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s == "true",
        Value::Mapping(_) => true,
        _ => false,
    }
}

/// Indents generated project members one level (inside `project { ... }`).
fn indent(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("  {l}\n")
            }
        })
        .collect()
}

/// A blank line between the project's members, and before each block inside a service, as
/// berth's examples are written.
fn spaced(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut prev = "";
    for line in text.lines() {
        let member = line.starts_with("  ") && !line.starts_with("   ") && line.ends_with('{');
        let inner = line.starts_with("    ") && !line.starts_with("     ") && line.ends_with('{');
        let after_open = prev.ends_with('{');
        if (member || inner) && !after_open && !prev.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
        prev = line;
    }
    out
}
