//! The type checker: from parsed files to the checked [`Config`], reporting every independent
//! problem. It runs in phases: reading (encoding, size), parsing, structure against the schema,
//! variables, the platform, then each project environment (overlay merge, lowering, rules), and
//! finally the rules that span the whole configuration (route collisions, unused variables).

pub mod lower;
pub mod overlay;
pub mod rules;
pub mod schema;
pub mod scope;
pub mod structure;
pub mod value;

use crate::codes::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::model::{
    AcmeChallenge, Certificate, Config, Environment, Platform, Proxy, SecretSource,
};
use crate::naming;
use crate::parser;
use crate::span::{SourceFile, SourceMap, Span};
use crate::syntax::{Block, Body, File, ItemKind};
use scope::{Declared, Globals, Scope, SharedDecl};
use std::collections::{BTreeMap, BTreeSet};
use structure::Mode;
use value::{Lower, VarValue};

/// The pull-request number a preview environment is checked with when `pr` has no usable value
/// (an error was reported). As long as the placeholder validate gives a number variable, so that
/// name lengths are checked against a five-digit number.
const PLACEHOLDER_PR: u64 = 99999;

/// Largest source file berth reads.
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// One source file as read from disk.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A variable value given from outside the configuration.
#[derive(Debug, Clone)]
pub struct VarInput {
    pub name: String,
    pub value: String,
    /// Where it came from, for messages: `--var`, `BERTH_VAR_pr`, `vars.toml`.
    pub origin: String,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub vars: Vec<VarInput>,
    /// Variables without a default must be given (plan, apply). Without it (validate), they get
    /// a placeholder so the rest of the configuration can still be checked.
    pub strict: bool,
    /// A preview environment is being planned, so `pr` must have a value. When not set, strict
    /// checking leaves preview environments without a `pr` out instead of failing.
    pub preview: bool,
}

/// Everything a run learned: the sources (for rendering), the syntax, the model when the
/// configuration is valid, and the diagnostics in a deterministic order.
#[derive(Debug)]
pub struct Analysis {
    pub sources: SourceMap,
    pub files: Vec<File>,
    pub config: Option<Config>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Reads, parses and checks a configuration. `origin` names it (its directory) in diagnostics
/// that belong to no file.
pub fn analyze(origin: &str, inputs: Vec<Input>, options: &Options) -> Analysis {
    let mut sources = SourceMap::new();
    let mut sink = Sink::new();
    let mut files = Vec::new();
    if inputs.is_empty() {
        let id = sources.add(SourceFile::new(origin, ""));
        sink.push(
            Diagnostic::new(Code::EmptyConfig, Span::new(id, 0, 0), format!("no .berth files in `{origin}`"))
                .with_help("berth reads every *.berth file of the directory; create one or point berth at another directory"),
        );
    }
    for input in inputs {
        if input.bytes.len() > MAX_FILE_BYTES {
            let id = sources.add(SourceFile::new(input.name.clone(), ""));
            sink.push(
                Diagnostic::new(
                    Code::FileTooLarge,
                    Span::new(id, 0, 0),
                    format!(
                        "`{}` is {:.1} MiB; berth reads files of at most {} MiB",
                        input.name,
                        input.bytes.len() as f64 / (1 << 20) as f64,
                        MAX_FILE_BYTES >> 20
                    ),
                )
                .with_help("split the configuration into several files in the same directory"),
            );
            continue;
        }
        let text = match String::from_utf8(input.bytes) {
            Ok(text) => text,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                // The text is shown with U+FFFD for each invalid sequence; the first one starts at
                // the same offset as the first invalid byte, and the span covers it.
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let id = sources.add(SourceFile::new(input.name.clone(), text));
                sink.push(
                    Diagnostic::new(
                        Code::InvalidUtf8,
                        Span::new(id, at, at + char::REPLACEMENT_CHARACTER.len_utf8()),
                        format!("`{}` is not valid UTF-8", input.name),
                    )
                    .with_label(format!("invalid byte at offset {at}"))
                    .with_help("save the file as UTF-8"),
                );
                continue;
            }
        };
        let id = sources.add(SourceFile::new(input.name, text));
        files.push(parser::parse(id, &sources.get(id).text, &mut sink));
    }
    let config = if sink.has_errors() {
        None
    } else {
        Checker::new(&mut sources, &mut sink).run(&files, options)
    };
    let diagnostics = sink.into_sorted();
    let config = if diagnostics.iter().any(Diagnostic::is_error) {
        None
    } else {
        config
    };
    Analysis {
        sources,
        files,
        config,
        diagnostics,
    }
}

struct Checker<'a> {
    sources: &'a mut SourceMap,
    sink: &'a mut Sink,
}

struct VarDecl<'f> {
    block: &'f Block,
    ty: Option<&'static str>,
}

impl<'a> Checker<'a> {
    fn new(sources: &'a mut SourceMap, sink: &'a mut Sink) -> Self {
        Checker { sources, sink }
    }

    fn run(&mut self, files: &[File], options: &Options) -> Option<Config> {
        let mut platforms: Vec<&Block> = Vec::new();
        let mut variables: BTreeMap<String, VarDecl> = BTreeMap::new();
        let mut projects: BTreeMap<String, &Block> = BTreeMap::new();
        for file in files {
            self.top_level(&file.body, &mut platforms, &mut variables, &mut projects);
        }
        let mut globals = Globals {
            projects: projects.keys().cloned().collect(),
            networks: shared_networks(&projects),
            ..Globals::default()
        };
        let platform = self.platform(platforms.first().copied());
        let platform_domain_given = platforms
            .first()
            .is_some_and(|b| lower::attr(&b.body, "domain").is_some());

        // Environments of every project, grouped, in source order.
        let mut plans: Vec<(&str, &Block, Environment, Vec<&Block>)> = Vec::new();
        let mut uses_preview: Option<Span> = None;
        for (name, block) in &projects {
            let mut by_env: BTreeMap<Environment, Vec<&Block>> = BTreeMap::new();
            for (_, env) in block
                .body
                .blocks()
                .filter(|(_, b)| b.kind.text == "environment")
            {
                let Some(label) = &env.label else { continue };
                match Environment::parse(&label.text) {
                    Some(e) => by_env.entry(e).or_default().push(env),
                    None => self.sink.push(
                        Diagnostic::new(
                            Code::UnknownEnvironment,
                            label.span,
                            format!("`{}` is not an environment", label.text),
                        )
                        .with_label("unknown environment")
                        .suggest(&label.text, Environment::ALL.iter().map(|e| e.as_str()))
                        .or_help("environments are production, staging, preview and development"),
                    ),
                }
            }
            if by_env.is_empty() {
                by_env.insert(Environment::Production, Vec::new());
            }
            for (env, blocks) in by_env {
                if env == Environment::Preview {
                    uses_preview = uses_preview.or(blocks
                        .first()
                        .and_then(|b| b.label.as_ref())
                        .map(|l| l.span));
                }
                plans.push((name.as_str(), *block, env, blocks));
            }
        }

        let vars = self.variables(&variables, options, uses_preview);
        // Declared variables without a usable value: an error was reported for each, so their
        // references stay quiet instead of reporting them as undefined.
        // `pr` is left without a value, and without an error, when strict checking plans other
        // environments than previews; a reference to it then reports the missing value.
        let pr_left_out = options.strict
            && !(options.preview && uses_preview.is_some())
            && variables
                .get("pr")
                .is_some_and(|d| d.ty.is_some() && lower::attr(&d.block.body, "default").is_none())
            && !options.vars.iter().any(|v| v.name == "pr");
        globals.unset_vars = if pr_left_out {
            BTreeSet::from(["pr".to_string()])
        } else {
            BTreeSet::new()
        };
        globals.failed_vars = variables
            .keys()
            .filter(|name| !vars.contains_key(*name) && !globals.unset_vars.contains(*name))
            .cloned()
            .collect();
        globals.vars = vars;
        let pr = self.preview_number(&globals.vars, &variables, uses_preview, options);

        let mut deployments = Vec::new();
        let mut used_vars = BTreeSet::new();
        for (name, block, env, overlays) in plans {
            let merged = overlay::merge(&block.body, &overlays, self.sink);
            let project_schema = schema::block("project").expect("project schema");
            structure::check_body(
                &merged,
                project_schema,
                block.kind.span,
                Mode {
                    required: true,
                    merge_named: false,
                },
                self.sink,
            );
            let declared = declared(&merged);
            let pr = if env == Environment::Preview {
                pr
            } else {
                None
            };
            let pr = match pr {
                None if env == Environment::Preview => {
                    if globals.unset_vars.contains("pr") {
                        // Strict checking of other environments: previews are left out.
                        continue;
                    }
                    // `pr` is missing or invalid, which was reported; check the rest of the
                    // preview with a placeholder number (the model is not produced anyway).
                    Some(PLACEHOLDER_PR)
                }
                pr => pr,
            };
            let stack = naming::stack(name, env, pr);
            let mut scope = Scope::new(&globals, declared, name, env, stack);
            let domain = {
                let mut lw = Lower {
                    scope: &mut scope,
                    sink: self.sink,
                };
                let own = lower::attr(&merged, "domain").and_then(|e| {
                    let d = lw.string(e)?;
                    rules::host(&d, e.span, lw.sink).then_some(d)
                });
                own.or_else(|| platform.domain.clone())
            };
            let cx = lower::Context {
                platform: &platform,
                domain,
                domain_given: platform_domain_given || lower::attr(&merged, "domain").is_some(),
                pr,
                project_span: block.label.as_ref().map_or(block.kind.span, |l| l.span),
            };
            let deployment = lower::deployment(&merged, &mut scope, &cx, self.sink);
            used_vars.extend(scope.used_vars);
            rules::quotas(&deployment, self.sink);
            rules::cycles(&deployment, self.sink);
            rules::name_lengths(&deployment, self.sink);
            deployments.push(deployment);
        }
        rules::route_collisions(&deployments, self.sink);
        if uses_preview.is_some() {
            used_vars.insert("pr".into());
        }
        for (name, decl) in &variables {
            if !used_vars.contains(name) {
                let span = decl
                    .block
                    .label
                    .as_ref()
                    .map_or(decl.block.kind.span, |l| l.span);
                self.sink.push(
                    Diagnostic::new(
                        Code::UnusedVariable,
                        span,
                        format!("variable `{name}` is never used"),
                    )
                    .with_label("declared here")
                    .with_help(format!("refer to it as `var.{name}`, or remove it")),
                );
            }
        }
        Some(Config {
            platform,
            deployments,
            projects: projects.keys().cloned().collect(),
        })
    }

    fn top_level<'f>(
        &mut self,
        body: &'f Body,
        platforms: &mut Vec<&'f Block>,
        variables: &mut BTreeMap<String, VarDecl<'f>>,
        projects: &mut BTreeMap<String, &'f Block>,
    ) {
        for item in &body.items {
            let b = match &item.kind {
                ItemKind::Attribute(a) => {
                    self.sink.push(
                        Diagnostic::new(
                            Code::UnknownAttribute,
                            a.key.span,
                            format!("attribute `{}` outside of any block", a.key.text),
                        )
                        .with_label("not inside a block")
                        .with_help(
                            "the top level holds `platform`, `variable` and `project` blocks",
                        ),
                    );
                    continue;
                }
                ItemKind::Block(b) => b,
            };
            let kind = b.kind.text.as_str();
            let Some(schema) = schema::ROOT_BLOCKS
                .contains(&kind)
                .then(|| schema::block(kind))
                .flatten()
            else {
                let mut d = Diagnostic::new(
                    Code::UnknownBlock,
                    b.kind.span,
                    format!("unknown top-level block `{kind}`"),
                )
                .with_label("not allowed at the top level")
                .suggest(kind, schema::ROOT_BLOCKS.iter().copied());
                if d.help.is_none() {
                    d = match schema::BLOCKS.iter().find(|s| s.blocks.contains(&kind)) {
                        Some(parent) => d.with_help(format!(
                            "`{kind}` blocks belong in `{}` blocks",
                            parent.kind
                        )),
                        None => d.with_help(
                            "the top level holds `platform`, `variable` and `project` blocks",
                        ),
                    };
                }
                self.sink.push(d);
                continue;
            };
            match (schema.label, &b.label) {
                (schema::LabelRule::Required, None) => {
                    self.sink.push(
                        Diagnostic::new(
                            Code::LabelMismatch,
                            b.kind.span,
                            format!("`{kind}` needs a name"),
                        )
                        .with_label("name missing")
                        .with_help(format!("write `{kind} <name> {{ ... }}`")),
                    );
                    continue;
                }
                (schema::LabelRule::None, Some(label)) => {
                    self.sink.push(
                        Diagnostic::new(
                            Code::LabelMismatch,
                            label.span,
                            format!("`{kind}` takes no name"),
                        )
                        .with_label("remove this name"),
                    );
                }
                _ => {}
            }
            structure::check_body(
                &b.body,
                schema,
                b.kind.span,
                Mode {
                    required: kind != "project",
                    merge_named: false,
                },
                self.sink,
            );
            match kind {
                "platform" => {
                    if let Some(first) = platforms.first() {
                        self.sink.push(
                            Diagnostic::new(
                                Code::MultiplePlatforms,
                                b.kind.span,
                                "a configuration has at most one `platform` block",
                            )
                            .with_label("second platform block")
                            .with_secondary(first.kind.span, "first platform block")
                            .with_help("merge the two blocks"),
                        );
                    }
                    platforms.push(b);
                }
                "variable" => {
                    let label = b.label.as_ref().expect("checked above");
                    if let Some(first) = variables.get(&label.text) {
                        let first = first
                            .block
                            .label
                            .as_ref()
                            .map_or(first.block.kind.span, |l| l.span);
                        self.duplicate("variable", &label.text, label.span, first);
                        continue;
                    }
                    // `type = number` (as in Terraform) or `type = "number"`.
                    let ty = lower::attr(&b.body, "type").and_then(|e| match &e.kind {
                        crate::syntax::ExprKind::Str(s) => s.as_plain(),
                        crate::syntax::ExprKind::Ref(r) if r.segments.len() == 1 => {
                            Some(r.segments[0].text.clone())
                        }
                        _ => None,
                    });
                    let ty =
                        ty.and_then(|t| ["string", "number", "bool"].into_iter().find(|c| *c == t));
                    if let Some(e) = lower::attr(&b.body, "type") {
                        if ty.is_none() {
                            self.sink.push(
                                Diagnostic::new(
                                    Code::InvalidEnumValue,
                                    e.span,
                                    "a variable's type is `string`, `number` or `bool`",
                                )
                                .with_label("unknown type")
                                .suggest(
                                    &self.sources_snippet(e.span),
                                    ["string", "number", "bool"],
                                ),
                            );
                        }
                    }
                    variables.insert(label.text.clone(), VarDecl { block: b, ty });
                }
                _ => {
                    let label = b.label.as_ref().expect("checked above");
                    if !rules::name("project", &label.text, label.span, false, self.sink) {
                        continue;
                    }
                    if let Some(first) = projects.get(&label.text) {
                        let first = first.label.as_ref().map_or(first.kind.span, |l| l.span);
                        self.duplicate("project", &label.text, label.span, first);
                        continue;
                    }
                    self.names(&b.body);
                    projects.insert(label.text.clone(), b);
                }
            }
        }
    }

    fn sources_snippet(&self, span: Span) -> String {
        self.sources.snippet(span).trim_matches('"').to_string()
    }

    fn duplicate(&mut self, kind: &str, name: &str, span: Span, first: Span) {
        self.sink.push(
            Diagnostic::new(
                Code::DuplicateName,
                span,
                format!("{kind} `{name}` is declared twice"),
            )
            .with_label("declared again here")
            .with_secondary(first, "first declared here"),
        );
    }

    /// Name rules of the named blocks inside a project (and its environments).
    fn names(&mut self, body: &Body) {
        for (_, b) in body.blocks() {
            let Some(label) = &b.label else { continue };
            match b.kind.text.as_str() {
                k @ ("service" | "network") => {
                    rules::name(k, &label.text, label.span, false, self.sink);
                }
                k @ ("volume" | "secret" | "config") => {
                    rules::name(k, &label.text, label.span, true, self.sink);
                }
                "environment" => self.names(&b.body),
                _ => {}
            }
        }
    }

    fn variables(
        &mut self,
        decls: &BTreeMap<String, VarDecl>,
        options: &Options,
        uses_preview: Option<Span>,
    ) -> BTreeMap<String, VarValue> {
        let mut out = BTreeMap::new();
        // Values given from outside, later ones winning (the CLI passes them lowest precedence first).
        let mut given: BTreeMap<&str, &VarInput> = BTreeMap::new();
        for v in &options.vars {
            given.insert(v.name.as_str(), v);
        }
        let mut external_text = String::new();
        let mut external_spans: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (name, v) in &given {
            let value: String = v
                .value
                .chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            let line = if v.origin == "--var" {
                format!("--var {name}={value}")
            } else if v.origin.starts_with("BERTH_VAR_") {
                format!("{}={value}", v.origin)
            } else {
                format!("{}: {name} = {value}", v.origin)
            };
            let start = external_text.len();
            external_text.push_str(&line);
            external_text.push('\n');
            external_spans.insert(name, (start, start + line.len()));
        }
        let external = (!given.is_empty()).then(|| {
            self.sources
                .add(SourceFile::new("<variables>", external_text))
        });
        for (name, v) in &given {
            if !decls.contains_key(*name) {
                let (s, e) = external_spans[name];
                let id = external.expect("values were given");
                self.sink.push(
                    Diagnostic::new(
                        Code::UnknownVariable,
                        Span::new(id, s, e),
                        format!(
                            "a value was given for `{name}`, which no `variable` block declares"
                        ),
                    )
                    .with_label(format!("from {}", v.origin))
                    .suggest(name, decls.keys().map(String::as_str))
                    .or_help(format!(
                        "declare it: `variable {name} {{ type = \"{}\" }}`",
                        if *name == "pr" { "number" } else { "string" }
                    )),
                );
                let _ = v;
            }
        }
        for (name, decl) in decls {
            // A variable with an invalid type was reported; treat it as a string so its uses do
            // not cascade into more errors.
            let ty = decl.ty.unwrap_or("string");
            let decl_span = decl
                .block
                .label
                .as_ref()
                .map_or(decl.block.kind.span, |l| l.span);
            if let Some(v) = given.get(name.as_str()) {
                let (s, e) = external_spans[name.as_str()];
                let span = Span::new(external.expect("values were given"), s, e);
                match parse_var(ty, &v.value) {
                    Some(val) => {
                        out.insert(name.clone(), val);
                    }
                    None => self.sink.push(
                        Diagnostic::new(
                            Code::BadVariableValue,
                            span,
                            format!("`{}` is not a valid {ty} for variable `{name}`", v.value),
                        )
                        .with_label(format!("from {}", v.origin))
                        .with_secondary(decl_span, format!("declared as {ty} here")),
                    ),
                }
                continue;
            }
            if let Some(default) = lower::attr(&decl.block.body, "default") {
                let val = match (&default.kind, ty) {
                    (crate::syntax::ExprKind::Str(s), "string") => s.as_plain().map(VarValue::Str),
                    (crate::syntax::ExprKind::Number(n), "number") => Some(VarValue::Num(*n)),
                    (crate::syntax::ExprKind::Bool(b), "bool") => Some(VarValue::Bool(*b)),
                    _ => None,
                };
                match val {
                    Some(val) => {
                        out.insert(name.clone(), val);
                    }
                    None => self.sink.push(
                        Diagnostic::new(
                            Code::WrongType,
                            default.span,
                            format!("the default of `{name}` is not a {ty}"),
                        )
                        .with_label(format!("expected a {ty} literal"))
                        .with_secondary(decl_span, "declared here"),
                    ),
                }
                continue;
            }
            let needed = if name == "pr" {
                options.preview && uses_preview.is_some()
            } else {
                options.strict
            };
            if needed {
                let code = if name == "pr" {
                    Code::PreviewWithoutPr
                } else {
                    Code::BadVariableValue
                };
                self.sink.push(
                    Diagnostic::new(code, decl_span, format!("variable `{name}` has no value"))
                        .with_label("no default, and no value given")
                        .with_help(format!(
                            "give it with `--var {name}=...`, `BERTH_VAR_{name}` or a var file"
                        )),
                );
            } else if name == "pr" && options.strict {
                // Planning other environments: previews without a number are left out.
            } else {
                // validate: a placeholder, so the rest can still be checked.
                let placeholder = match ty {
                    "number" => VarValue::Num(PLACEHOLDER_PR as f64),
                    "bool" => VarValue::Bool(false),
                    _ => VarValue::Str(format!("{name}-value")),
                };
                out.insert(name.clone(), placeholder);
            }
        }
        out
    }

    fn preview_number(
        &mut self,
        vars: &BTreeMap<String, VarValue>,
        decls: &BTreeMap<String, VarDecl>,
        uses_preview: Option<Span>,
        options: &Options,
    ) -> Option<u64> {
        let span = uses_preview?;
        let Some(decl) = decls.get("pr") else {
            self.sink.push(
                Diagnostic::new(
                    Code::PreviewWithoutPr,
                    span,
                    "a preview environment needs the `pr` variable",
                )
                .with_label("preview environment")
                .with_help(
                    "declare `variable pr { type = \"number\" }` and give it with `--var pr=123`",
                ),
            );
            return None;
        };
        match vars.get("pr") {
            Some(VarValue::Num(n)) if n.fract() == 0.0 && *n >= 0.0 && *n < 1e9 => Some(*n as u64),
            Some(VarValue::Str(s)) if s.parse::<u64>().is_ok() => s.parse().ok(),
            Some(value) => {
                let decl_span = decl
                    .block
                    .label
                    .as_ref()
                    .map_or(decl.block.kind.span, |l| l.span);
                self.sink.push(
                    Diagnostic::new(
                        Code::PreviewWithoutPr,
                        decl_span,
                        format!(
                            "`pr` must be a pull-request number, not `{}`",
                            value.render()
                        ),
                    )
                    .with_label("not a whole number")
                    .with_help("declare `variable pr { type = \"number\" }`"),
                );
                None
            }
            None => {
                let _ = options;
                None
            }
        }
    }

    fn platform(&mut self, block: Option<&Block>) -> Platform {
        let mut p = Platform {
            domain: None,
            acme_email: None,
            acme_ca: None,
            acme_ca_certificate: None,
            acme_challenge: AcmeChallenge::Http,
            certificates: Vec::new(),
            address_pool: None,
            subnet_size: 24,
            advertise_address: "127.0.0.1".into(),
            proxy: Proxy {
                image: "berth/traefik:3.7.15".into(),
                http_port: 80,
                https_port: 443,
                refresh_ns: 1_000_000_000,
                dashboard: false,
                metrics: true,
                metrics_port: None,
                metrics_allow: Vec::new(),
                access_log: true,
                redirect_https: true,
                constraints: vec!["node.role == manager".into()],
                edge_slots: 32,
                dashboard_host: None,
                dashboard_users: None,
            },
            span: None,
        };
        let Some(block) = block else { return p };
        p.span = Some(block.kind.span);
        let empty = Globals::default();
        let mut scope = Scope::new(
            &empty,
            Declared::default(),
            "platform",
            Environment::Production,
            "platform".into(),
        );
        let mut lw = Lower {
            scope: &mut scope,
            sink: self.sink,
        };
        let body = &block.body;
        if let Some(e) = lower::attr(body, "domain") {
            p.domain = lw.string(e).filter(|d| rules::host(d, e.span, lw.sink));
        }
        if let Some(e) = lower::attr(body, "acme_email") {
            p.acme_email = lw.string(e);
            if let Some(m) = &p.acme_email {
                rules::email(m, e.span, lw.sink);
            }
        }
        p.acme_ca = lower::attr(body, "acme_ca").and_then(|e| lw.string(e));
        p.acme_ca_certificate = lower::attr(body, "acme_ca_certificate").and_then(|e| lw.string(e));
        if let Some(c) =
            lower::attr(body, "acme_challenge").and_then(|e| lw.choice(e, &["http", "tls"]))
        {
            p.acme_challenge = if c == "tls" {
                AcmeChallenge::Tls
            } else {
                AcmeChallenge::Http
            };
        }
        for b in lower::blocks(body, "certificate") {
            let Some(label) = &b.label else { continue };
            if !rules::name("certificate", &label.text, label.span, true, lw.sink) {
                continue;
            }
            let cert = lower::attr(&b.body, "cert").and_then(|e| lw.string(e));
            let file = lower::attr(&b.body, "key").and_then(|e| lw.string(e));
            let env = lower::attr(&b.body, "key_env").and_then(|e| lw.string(e));
            let key = match (file, env) {
                (Some(f), None) => Some(SecretSource::File(f)),
                (None, Some(e)) => Some(SecretSource::Env(e)),
                (a, b) => {
                    lower::source_error(
                        lw.sink,
                        "the key of certificate",
                        label,
                        a.is_some() && b.is_some(),
                        "`key` or `key_env`",
                    );
                    None
                }
            };
            if let (Some(cert), Some(key)) = (cert, key) {
                p.certificates.push(Certificate {
                    name: label.text.clone(),
                    cert,
                    key,
                    span: label.span,
                });
            }
        }
        let mut pool_len = None;
        if let Some(e) = lower::attr(body, "address_pool") {
            if let Some(pool) = lw.string(e) {
                pool_len = rules::cidr(&pool, e.span, lw.sink);
                p.address_pool = Some(pool);
            }
        }
        if let Some(e) = lower::attr(body, "advertise_address") {
            if let Some(a) = lw.string(e) {
                if a.parse::<std::net::IpAddr>().is_ok() {
                    p.advertise_address = a;
                } else {
                    lw.sink.push(
                        Diagnostic::new(
                            Code::InvalidCidr,
                            e.span,
                            format!("`{a}` is not an IP address"),
                        )
                        .with_label("expected an address such as 10.0.0.5")
                        .with_help("swarm mode advertises an IP address, not a host name"),
                    );
                }
            }
        }
        if let Some(e) = lower::attr(body, "subnet_size") {
            if let Some(n) = lw.int(e, 16, 28) {
                p.subnet_size = n as u8;
                if let Some(len) = pool_len {
                    if n as u8 <= len {
                        lw.sink.push(
                            Diagnostic::new(
                                Code::InvalidCidr,
                                e.span,
                                format!("subnet size /{n} is not smaller than the pool (/{len})"),
                            )
                            .with_label("must be a longer prefix than the pool's")
                            .with_help(format!("use a value between {} and 28", len + 1)),
                        );
                    }
                }
            }
        }
        if let Some(proxy) = lower::block(body, "proxy") {
            let b = &proxy.body;
            if let Some(v) = lower::attr(b, "image")
                .and_then(|e| lw.string(e).filter(|i| rules::image(i, e.span, lw.sink)))
            {
                p.proxy.image = v;
            }
            if let Some(v) = lower::attr(b, "http_port").and_then(|e| lw.port(e)) {
                p.proxy.http_port = v;
            }
            if let Some(v) = lower::attr(b, "https_port").and_then(|e| lw.port(e)) {
                p.proxy.https_port = v;
            }
            if let Some(v) = lower::attr(b, "refresh").and_then(|e| lw.duration(e)) {
                p.proxy.refresh_ns = v;
            }
            for (name, slot) in [
                ("dashboard", &mut p.proxy.dashboard),
                ("metrics", &mut p.proxy.metrics),
                ("access_log", &mut p.proxy.access_log),
                ("redirect_https", &mut p.proxy.redirect_https),
            ] {
                if let Some(v) = lower::attr(b, name).and_then(|e| lw.bool(e)) {
                    *slot = v;
                }
            }
            if let Some(v) = lower::attr(b, "edge_slots").and_then(|e| lw.int(e, 1, 512)) {
                p.proxy.edge_slots = v as u32;
            }
            dashboard(&mut p, proxy, &mut lw);
            let pool_span = lower::attr(body, "address_pool").map(|e| e.span);
            metrics(&mut p, proxy, pool_span, &mut lw);
            proxy_ports(&p, proxy, &mut lw);
            if let Some(e) = lower::attr(b, "constraints") {
                if let Some(list) = lw.str_list(e) {
                    p.proxy.constraints = list
                        .into_iter()
                        .filter_map(|(c, span)| rules::constraint(&c, span, lw.sink))
                        .collect();
                }
            }
        }
        p
    }
}

/// The dashboard's users and host. It shows every tenant's routes, so it is never served
/// without authentication: `dashboard = true` needs users (E0167).
fn dashboard(p: &mut Platform, proxy: &Block, lw: &mut Lower) {
    let b = &proxy.body;
    let file = lower::attr(b, "dashboard_users").and_then(|e| lw.string(e));
    let env = lower::attr(b, "dashboard_users_env").and_then(|e| lw.string(e));
    p.proxy.dashboard_users = match (file, env) {
        (Some(f), None) => Some(SecretSource::File(f)),
        (None, Some(e)) => Some(SecretSource::Env(e)),
        (Some(_), Some(_)) => {
            let span = lower::attr(b, "dashboard_users_env").map_or(proxy.kind.span, |e| e.span);
            lw.sink.push(
                Diagnostic::new(
                    Code::SecretWithoutSource,
                    span,
                    "the dashboard's users have two sources",
                )
                .with_label("give exactly one source")
                .with_help("set exactly one of `dashboard_users` or `dashboard_users_env`"),
            );
            None
        }
        (None, None) => None,
    };
    let Some(flag) = lower::attr(b, "dashboard") else {
        return;
    };
    if !p.proxy.dashboard {
        return;
    }
    if p.proxy.dashboard_users.is_none()
        && lower::attr(b, "dashboard_users").is_none()
        && lower::attr(b, "dashboard_users_env").is_none()
    {
        lw.sink.push(
            Diagnostic::new(
                Code::DashboardWithoutUsers,
                flag.span,
                "the dashboard would be served without authentication",
            )
            .with_label("no `dashboard_users` or `dashboard_users_env`")
            .with_help("give its users as htpasswd lines: `dashboard_users = \"dashboard.htpasswd\"` (a file made with `htpasswd -nB admin`), or `dashboard_users_env = \"VAR\"`"),
        );
    }
    match lower::attr(b, "dashboard_host") {
        Some(e) => {
            p.proxy.dashboard_host = lw.string(e).filter(|h| rules::host(h, e.span, lw.sink));
        }
        None => match &p.domain {
            Some(domain) => p.proxy.dashboard_host = Some(format!("traefik.{domain}")),
            None => lw.sink.push(
                Diagnostic::new(
                    Code::NoPlatformDomain,
                    flag.span,
                    "the dashboard has no host and there is no domain to derive one",
                )
                .with_label("served at `traefik.<platform domain>` by default")
                .with_help(
                    "set `dashboard_host = \"...\"` in `proxy`, or `domain` in the platform block",
                ),
            ),
        },
    }
}

/// The pool Docker takes overlay subnets from when swarm mode is initialised without one.
const DOCKER_DEFAULT_POOL: &str = "10.0.0.0/8";

/// An IPv4 network in CIDR notation as (address bits, prefix length), host bits zero; `None` for
/// anything else (`rules::cidr` says why).
fn ipv4_net(text: &str) -> Option<(u32, u8)> {
    let (ip, len) = text.split_once('/')?;
    let bits = u32::from(ip.parse::<std::net::Ipv4Addr>().ok()?);
    let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    (bits & !mask == 0).then_some((bits, len))
}

/// Whether two IPv4 networks share an address: one contains the other.
fn overlaps(a: (u32, u8), b: (u32, u8)) -> bool {
    let len = a.1.min(b.1);
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    (a.0 ^ b.0) & mask == 0
}

/// The proxy's metrics entrypoint. Metrics name every tenant's services and count their
/// traffic: `metrics_port` is served only to `metrics_allow` (required with it, E0102), whose
/// ranges may not overlap the pool every tenant network comes from (E0200); its host port is
/// the proxy's own (E0201); and `metrics = false` has nothing to serve on it (E0113).
fn metrics(p: &mut Platform, proxy: &Block, pool_span: Option<Span>, lw: &mut Lower) {
    let b = &proxy.body;
    let port_e = lower::attr(b, "metrics_port");
    let allow_e = lower::attr(b, "metrics_allow");
    let port = port_e.and_then(|e| lw.port(e));
    let pool_text = p.address_pool.as_deref().unwrap_or(DOCKER_DEFAULT_POOL);
    let allow_help =
        "allow only your Prometheus servers' addresses, e.g. `metrics_allow = [\"192.0.2.10/32\"]`";
    let pool = ipv4_net(pool_text);
    let mut allow = Vec::new();
    let mut allow_len = None;
    if let Some(list) = allow_e.and_then(|e| lw.str_list(e)) {
        allow_len = Some(list.len());
        for (range, span) in list {
            if rules::cidr(&range, span, lw.sink).is_none() {
                continue;
            }
            if let (Some(net), Some(pool)) = (ipv4_net(&range), pool) {
                if overlaps(net, pool) {
                    let mut d = Diagnostic::new(
                        Code::MetricsFromTenants,
                        span,
                        format!("`{range}` overlaps the address pool {pool_text}: tenants' tasks could scrape the proxy's metrics"),
                    )
                    .with_label("overlaps the tenants' address pool");
                    d = match pool_span {
                        Some(at) => d
                            .with_secondary(at, format!("tenants' networks come from {pool_text}"))
                            .with_help(allow_help),
                        None => d.with_help(format!(
                            "without `address_pool`, tenants' networks come from Docker's {DOCKER_DEFAULT_POOL}; {allow_help}"
                        )),
                    };
                    lw.sink.push(d);
                    continue;
                }
            }
            allow.push(range);
        }
    }
    match (port_e, allow_e) {
        (Some(at), None) => lw.sink.push(
            Diagnostic::new(
                Code::MissingAttribute,
                at.span,
                "`metrics_port` without `metrics_allow`: nobody may scrape it",
            )
            .with_label("no `metrics_allow`")
            .with_help(allow_help),
        ),
        (None, Some(at)) => lw.sink.push(
            Diagnostic::new(
                Code::MissingAttribute,
                at.span,
                "`metrics_allow` without `metrics_port`: metrics are served only inside the proxy's container",
            )
            .with_label("no `metrics_port` to allow anything on")
            .with_help("set `metrics_port = <host port>` to publish them, or remove `metrics_allow`"),
        ),
        (Some(_), Some(at)) if allow_len == Some(0) => lw.sink.push(
            Diagnostic::new(Code::MissingAttribute, at.span, "`metrics_allow` is empty: nobody may scrape `metrics_port`")
                .with_label("empty list")
                .with_help(allow_help),
        ),
        _ => {}
    }
    let Some(port) = port else { return };
    let at = port_e.map_or(proxy.kind.span, |e| e.span);
    if !p.proxy.metrics {
        let mut d = Diagnostic::new(
            Code::ConflictingAttributes,
            at,
            "`metrics_port` with `metrics = false`: there are no metrics to serve",
        )
        .with_label("a metrics entrypoint");
        if let Some(m) = lower::attr(b, "metrics") {
            d = d.with_secondary(m.span, "metrics switched off");
        }
        lw.sink
            .push(d.with_help("remove `metrics_port` and `metrics_allow`, or `metrics = false`"));
    }
    for (name, other) in [
        ("http_port", p.proxy.http_port),
        ("https_port", p.proxy.https_port),
    ] {
        if port != other {
            continue;
        }
        let mut d = Diagnostic::new(
            Code::ProxyPortCollision,
            at,
            format!("`metrics_port` {port} is also the proxy's `{name}`"),
        )
        .with_label("published twice on the node");
        d = match lower::attr(b, name) {
            Some(e) => d
                .with_secondary(e.span, format!("`{name}` {port}"))
                .with_help("give metrics a host port of its own"),
            None => d.with_help(format!(
                "`{name}` is {port} by default; give metrics a host port of its own"
            )),
        };
        lw.sink.push(d);
    }
    p.proxy.metrics_port = Some(port);
    p.proxy.metrics_allow = allow;
}

/// HTTP and HTTPS are published on the node in host mode: one port each (E0201).
fn proxy_ports(p: &Platform, proxy: &Block, lw: &mut Lower) {
    let b = &proxy.body;
    let port = p.proxy.https_port;
    if p.proxy.http_port != port {
        return;
    }
    let (at, other) = match (lower::attr(b, "https_port"), lower::attr(b, "http_port")) {
        (Some(e), other) => (e.span, other.map(|o| (o.span, "http_port"))),
        (None, Some(e)) => (e.span, None),
        (None, None) => return,
    };
    let mut d = Diagnostic::new(
        Code::ProxyPortCollision,
        at,
        format!("`http_port` and `https_port` are both {port}"),
    )
    .with_label("published twice on the node");
    if let Some((span, name)) = other {
        d = d.with_secondary(span, format!("`{name}` {port}"));
    }
    lw.sink
        .push(d.with_help("give HTTP and HTTPS a host port each"));
}

/// Names declared in a (merged) project body.
fn declared(body: &Body) -> Declared {
    let mut d = Declared::default();
    for (_, b) in body.blocks() {
        let Some(label) = &b.label else { continue };
        let map = match b.kind.text.as_str() {
            "service" => &mut d.services,
            "volume" => &mut d.volumes,
            "secret" => &mut d.secrets,
            "config" => &mut d.configs,
            "network" => &mut d.networks,
            _ => continue,
        };
        map.entry(label.text.clone()).or_insert(label.span);
    }
    d
}

fn parse_var(ty: &str, value: &str) -> Option<VarValue> {
    match ty {
        "string" => Some(VarValue::Str(value.to_string())),
        "number" => value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(VarValue::Num),
        "bool" => match value.trim() {
            "true" => Some(VarValue::Bool(true)),
            "false" => Some(VarValue::Bool(false)),
            _ => None,
        },
        _ => None,
    }
}

/// Cross-project network declarations, collected before any project is lowered.
pub(crate) fn shared_networks(
    projects: &BTreeMap<String, &Block>,
) -> BTreeMap<(String, String), SharedDecl> {
    let mut out = BTreeMap::new();
    for (project, block) in projects {
        for (_, b) in block
            .body
            .blocks()
            .filter(|(_, b)| b.kind.text == "network")
        {
            let Some(label) = &b.label else { continue };
            let shared_with = lower::attr(&b.body, "shared_with")
                .map(|e| match &e.kind {
                    crate::syntax::ExprKind::List(l) => l
                        .elements
                        .iter()
                        .filter_map(|el| match &el.value.kind {
                            crate::syntax::ExprKind::Str(s) => s.as_plain(),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                })
                .unwrap_or_default();
            out.insert(
                (project.clone(), label.text.clone()),
                SharedDecl {
                    shared_with,
                    span: label.span,
                },
            );
        }
    }
    out
}
