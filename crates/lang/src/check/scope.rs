//! Name resolution. A reference such as `db.host`, `secret.db_password` or `var.pr` is resolved
//! in the scope of one project environment; resolving also records which services a value
//! depends on, which is how the planner learns the order of deployment.

use super::schema::RefKind;
use super::value::VarValue;
use crate::codes::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::model::Environment;
use crate::naming;
use crate::span::Span;
use crate::syntax::Ref;
use std::collections::{BTreeMap, BTreeSet};

/// What a reference resolves to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Var(VarValue),
    /// A computed text value, such as a service's host name.
    Text(String),
    Service(String),
    Volume(String),
    Secret(String),
    Config(String),
    Network(String),
    SharedNetwork {
        project: String,
        name: String,
    },
}

impl Target {
    pub fn describe(&self) -> &'static str {
        match self {
            Target::Var(_) | Target::Text(_) => "a value",
            Target::Service(_) => "a service",
            Target::Volume(_) => "a volume",
            Target::Secret(_) => "a secret",
            Target::Config(_) => "a config",
            Target::Network(_) | Target::SharedNetwork { .. } => "a network",
        }
    }

    pub fn ref_kind(&self) -> Option<RefKind> {
        Some(match self {
            Target::Service(_) => RefKind::Service,
            Target::Volume(_) => RefKind::Volume,
            Target::Secret(_) => RefKind::Secret,
            Target::Config(_) => RefKind::Config,
            Target::Network(_) | Target::SharedNetwork { .. } => RefKind::Network,
            Target::Var(_) | Target::Text(_) => return None,
        })
    }
}

/// A network a project offers to others.
#[derive(Debug, Clone)]
pub struct SharedDecl {
    pub shared_with: Vec<String>,
    pub span: Span,
}

/// What every scope of a configuration shares: variables and cross-project declarations.
#[derive(Debug, Default)]
pub struct Globals {
    pub vars: BTreeMap<String, VarValue>,
    pub projects: BTreeSet<String>,
    /// (project, network) → declaration.
    pub networks: BTreeMap<(String, String), SharedDecl>,
    /// Declared variables that have no value because of an error already reported.
    pub failed_vars: BTreeSet<String>,
    /// Declared variables left without a value on purpose (`pr` outside previews): a reference
    /// to one is an error.
    pub unset_vars: BTreeSet<String>,
}

/// The names declared in one project environment.
#[derive(Debug, Default, Clone)]
pub struct Declared {
    pub services: BTreeMap<String, Span>,
    pub volumes: BTreeMap<String, Span>,
    pub secrets: BTreeMap<String, Span>,
    pub configs: BTreeMap<String, Span>,
    pub networks: BTreeMap<String, Span>,
}

pub struct Scope<'g> {
    pub globals: &'g Globals,
    pub declared: Declared,
    pub project: String,
    pub environment: Environment,
    pub stack: String,
    pub used_vars: BTreeSet<String>,
    /// The project's own variables (declared inside its block), which shadow the platform's.
    pub own_vars: BTreeMap<String, VarValue>,
    /// Own variables without a value because of an error already reported.
    pub own_failed: BTreeSet<String>,
    /// Own variables referred to.
    pub used_own: BTreeSet<String>,
    /// The platform's variables this project may read; `None` means all of them (a
    /// configuration without a platform has no boundary to keep).
    pub visible: Option<BTreeSet<String>>,
    /// Services referenced since the last [`Scope::take_service_refs`].
    service_refs: BTreeSet<String>,
}

impl<'g> Scope<'g> {
    pub fn new(
        globals: &'g Globals,
        declared: Declared,
        project: &str,
        environment: Environment,
        stack: String,
    ) -> Self {
        Scope {
            globals,
            declared,
            project: project.to_string(),
            environment,
            stack,
            used_vars: BTreeSet::new(),
            own_vars: BTreeMap::new(),
            own_failed: BTreeSet::new(),
            used_own: BTreeSet::new(),
            visible: None,
            service_refs: BTreeSet::new(),
        }
    }

    pub fn take_service_refs(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.service_refs)
    }

    pub fn resolve(&mut self, r: &Ref, sink: &mut Sink) -> Option<Target> {
        let segs: Vec<&str> = r.segments.iter().map(|s| s.text.as_str()).collect();
        let span = r.span;
        let named =
            |map: &BTreeMap<String, Span>, kind: &str, name: &str, sink: &mut Sink| -> bool {
                if map.contains_key(name) {
                    return true;
                }
                sink.push(
                    Diagnostic::new(
                        Code::UndefinedReference,
                        span,
                        format!("no {kind} named `{name}` in project `{}`", self.project),
                    )
                    .with_label(format!("undefined {kind}"))
                    .suggest(name, map.keys().map(String::as_str)),
                );
                false
            };
        match segs.as_slice() {
            ["var", name] if self.own_vars.contains_key(*name) => {
                self.used_own.insert(name.to_string());
                self.own_vars.get(*name).cloned().map(Target::Var)
            }
            ["var", name] if self.own_failed.contains(*name) => {
                self.used_own.insert(name.to_string());
                None
            }
            ["var", name]
                if self.visible.as_ref().is_some_and(|v| !v.contains(*name))
                    && (self.globals.vars.contains_key(*name)
                        || self.globals.failed_vars.contains(*name)
                        || self.globals.unset_vars.contains(*name)) =>
            {
                self.used_vars.insert(name.to_string());
                sink.push(
                    Diagnostic::new(
                        Code::VariableNotExported,
                        span,
                        format!(
                            "variable `{name}` is the platform's and is not exported to project `{}`",
                            self.project
                        ),
                    )
                    .with_label("not visible to this project")
                    .with_help(format!(
                        "declare the project's own `variable {name} {{ ... }}` inside `project {}`, or ask the platform's owners for `variables = [\"{name}\"]` in `grant {}`",
                        self.project, self.project
                    )),
                );
                None
            }
            ["var", name] => match self.globals.vars.get(*name) {
                Some(v) => {
                    self.used_vars.insert(name.to_string());
                    Some(Target::Var(v.clone()))
                }
                None if self.globals.failed_vars.contains(*name) => {
                    self.used_vars.insert(name.to_string());
                    None
                }
                None if self.globals.unset_vars.contains(*name) => {
                    self.used_vars.insert(name.to_string());
                    sink.push(
                        Diagnostic::new(Code::BadVariableValue, span, format!("variable `{name}` has no value in {}", self.environment))
                            .with_label("no value given")
                            .with_help(format!("`{name}` is given (`--var {name}=...`) only when planning a preview; refer to it inside `environment preview` only")),
                    );
                    None
                }
                None => {
                    sink.push(
                        Diagnostic::new(
                            Code::UndefinedReference,
                            span,
                            format!("no variable named `{name}`"),
                        )
                        .with_label("undefined variable")
                        .suggest(name, self.globals.vars.keys().map(String::as_str))
                        .with_help(format!(
                            "declare it: `variable {name} {{ type = \"string\" }}`"
                        )),
                    );
                    None
                }
            },
            ["secret", name] => named(&self.declared.secrets, "secret", name, sink)
                .then(|| Target::Secret(name.to_string())),
            ["volume", name] => named(&self.declared.volumes, "volume", name, sink)
                .then(|| Target::Volume(name.to_string())),
            ["config", name] => named(&self.declared.configs, "config", name, sink)
                .then(|| Target::Config(name.to_string())),
            ["network", name] => {
                if *name == "default" {
                    return Some(Target::Network("default".into()));
                }
                named(&self.declared.networks, "network", name, sink)
                    .then(|| Target::Network(name.to_string()))
            }
            ["project", "name"] | ["deployment", "project"] => {
                Some(Target::Text(self.project.clone()))
            }
            ["deployment", "stack"] => Some(Target::Text(self.stack.clone())),
            ["deployment", "environment"] => {
                Some(Target::Text(self.environment.as_str().to_string()))
            }
            ["project", project, "network", name] => self.shared_network(project, name, span, sink),
            [service] if self.declared.services.contains_key(*service) => {
                self.service_refs.insert(service.to_string());
                Some(Target::Service(service.to_string()))
            }
            [service, attr @ ("host" | "name")]
                if self.declared.services.contains_key(*service) =>
            {
                self.service_refs.insert(service.to_string());
                let _ = attr;
                Some(Target::Text(naming::object(&self.stack, service)))
            }
            [service, attr] if self.declared.services.contains_key(*service) => {
                sink.push(
                    Diagnostic::new(
                        Code::UndefinedReference,
                        r.segments[1].span,
                        format!("service `{service}` has no attribute `{attr}`"),
                    )
                    .with_label("unknown attribute")
                    .suggest(attr, ["host", "name"])
                    .with_help("services offer `host` (and `name`), e.g. `${db.host}`"),
                );
                None
            }
            [service] | [service, "host" | "name"]
                if ![
                    "var",
                    "secret",
                    "volume",
                    "config",
                    "network",
                    "project",
                    "deployment",
                ]
                .contains(service) =>
            {
                let mut d = Diagnostic::new(
                    Code::UndefinedReference,
                    span,
                    format!("no service named `{service}` in project `{}`", self.project),
                )
                .with_label("undefined service")
                .suggest(service, self.declared.services.keys().map(String::as_str));
                if d.help.is_none() && segs.len() == 1 {
                    d = d.with_help("a bare name refers to a service; write `volume.x`, `secret.x`, `config.x`, `network.x` or `var.x` for other things");
                }
                sink.push(d);
                None
            }
            [first, ..] => {
                let mut candidates: Vec<String> = self.declared.services.keys().cloned().collect();
                candidates.extend(
                    [
                        "var",
                        "secret",
                        "volume",
                        "config",
                        "network",
                        "project",
                        "deployment",
                    ]
                    .map(String::from),
                );
                let kind_hint = match *first {
                    "secrets" | "volumes" | "configs" | "networks" | "vars" | "services" => {
                        Some(first.trim_end_matches('s'))
                    }
                    _ => None,
                };
                let mut d = Diagnostic::new(
                    Code::UndefinedReference,
                    span,
                    format!("cannot resolve `{}`", r.dotted()),
                )
                .with_label(format!("nothing named `{first}` here"));
                d = match kind_hint {
                    Some(k) => d.with_help(format!("did you mean `{k}.…`?")),
                    None => d.suggest(first, candidates.iter().map(String::as_str)),
                };
                if d.help.is_none() {
                    d = d.with_help("references name a service (`db`, `db.host`) or start with `var.`, `secret.`, `volume.`, `config.`, `network.`");
                }
                sink.push(d);
                None
            }
            [] => None,
        }
    }

    fn shared_network(
        &mut self,
        project: &str,
        name: &str,
        span: Span,
        sink: &mut Sink,
    ) -> Option<Target> {
        if !self.globals.projects.contains(project) {
            sink.push(
                Diagnostic::new(
                    Code::UndefinedReference,
                    span,
                    format!("no project named `{project}`"),
                )
                .with_label("undefined project")
                .suggest(project, self.globals.projects.iter().map(String::as_str)),
            );
            return None;
        }
        let Some(decl) = self
            .globals
            .networks
            .get(&(project.to_string(), name.to_string()))
        else {
            let candidates: Vec<&str> = self
                .globals
                .networks
                .keys()
                .filter(|(p, _)| p == project)
                .map(|(_, n)| n.as_str())
                .collect();
            sink.push(
                Diagnostic::new(
                    Code::UndefinedReference,
                    span,
                    format!("project `{project}` declares no network `{name}`"),
                )
                .with_label("undefined network")
                .suggest(name, candidates),
            );
            return None;
        };
        if !decl.shared_with.iter().any(|p| p == &self.project) {
            sink.push(
                Diagnostic::new(
                    Code::UnknownLink,
                    span,
                    format!(
                        "network `{name}` of project `{project}` is not shared with `{}`",
                        self.project
                    ),
                )
                .with_label("not offered to this project")
                .with_secondary(decl.span, "declared here")
                .with_help(format!(
                    "add `shared_with = [\"{}\"]` to that network",
                    self.project
                )),
            );
            return None;
        }
        Some(Target::SharedNetwork {
            project: project.to_string(),
            name: name.to_string(),
        })
    }
}
