//! The type checker: from parsed files to the checked [`Config`], reporting every independent
//! problem. It runs in phases: reading (encoding, size), parsing, structure against the schema,
//! variables, the platform, then each project environment (overlay merge, lowering, rules), and
//! finally the rules that span the whole configuration (route collisions, unused variables).

pub mod boundary;
pub mod grant;
pub mod lower;
pub mod overlay;
pub mod ownership;
mod platform;
pub mod rules;
pub mod schema;
pub mod scope;
pub mod structure;
pub mod value;
mod variables;

use crate::codes::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::model::{Config, Environment, Grant};
use crate::naming;
use crate::parser;
use crate::span::{SourceFile, SourceMap, Span};
use crate::syntax::{Block, Body, File, ItemKind};
use ownership::{file_project, others_to_leave_out, owner, shared, without_projects};
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
    /// The one project a plan or apply is for. Errors that belong to other projects alone then
    /// leave those projects out instead of failing the run: one tenant's broken file never
    /// blocks another tenant's plan.
    pub project: Option<String>,
    /// Projects left out of the check (their errors were reported); their names still count
    /// for the names and hosts other projects may use.
    pub exclude: BTreeSet<String>,
}

/// The file that, when a configuration has it, alone may declare the platform, its grants and
/// its variables; every other file `<name>.berth` belongs to project `<name>`.
pub const PLATFORM_FILE: &str = "platform.berth";

/// Everything a run learned: the sources (for rendering), the syntax, the model when the
/// configuration is valid, and the diagnostics in a deterministic order.
#[derive(Debug)]
pub struct Analysis {
    pub sources: SourceMap,
    pub files: Vec<File>,
    pub config: Option<Config>,
    pub diagnostics: Vec<Diagnostic>,
    /// Projects left out because of their own errors (only with [`Options::project`]), with
    /// how many errors each has.
    pub left_out: Vec<(String, usize)>,
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
    let parsed_ok = !sink.has_errors();
    let config = if parsed_ok {
        Checker::new(&mut sources, &mut sink).run(&files, options)
    } else {
        None
    };
    let diagnostics = sink.into_sorted();
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    if let (true, Some(selected)) = (has_errors, &options.project) {
        if let Some(exclude) = others_to_leave_out(&diagnostics, &files, &sources, selected) {
            let mut left_out: BTreeMap<String, usize> = BTreeMap::new();
            for d in diagnostics.iter().filter(|d| d.is_error()) {
                if let Some(owner) = d.span.and_then(|span| owner(span, &files, &sources)) {
                    *left_out.entry(owner).or_default() += 1;
                }
            }
            let mut options = options.clone();
            options.exclude.extend(exclude.iter().cloned());
            let kept: Vec<File> = files
                .iter()
                .map(|f| without_projects(f, &exclude, &sources))
                .collect();
            let mut sink = Sink::new();
            let config = Checker::new(&mut sources, &mut sink).run(&kept, &options);
            let diagnostics = sink.into_sorted();
            let config = if diagnostics.iter().any(Diagnostic::is_error) {
                None
            } else {
                config
            };
            return Analysis {
                sources,
                files,
                config,
                diagnostics,
                left_out: left_out.into_iter().collect(),
            };
        }
    }
    Analysis {
        sources,
        files,
        config: if has_errors { None } else { config },
        diagnostics,
        left_out: Vec::new(),
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

impl VarDecl<'_> {
    /// Where the variable is declared: its name.
    fn span(&self) -> Span {
        self.block
            .label
            .as_ref()
            .map_or(self.block.kind.span, |l| l.span)
    }
}

impl<'a> Checker<'a> {
    fn new(sources: &'a mut SourceMap, sink: &'a mut Sink) -> Self {
        Checker { sources, sink }
    }

    fn run(&mut self, files: &[File], options: &Options) -> Option<Config> {
        let mut platforms: Vec<&Block> = Vec::new();
        let mut variables: BTreeMap<String, VarDecl> = BTreeMap::new();
        let mut projects: BTreeMap<String, &Block> = BTreeMap::new();
        let shared = shared(files, self.sources);
        for file in files {
            let owner = if shared {
                file_project(file, self.sources)
            } else {
                None
            };
            self.top_level(
                &file.body,
                owner.as_deref(),
                &mut platforms,
                &mut variables,
                &mut projects,
            );
        }
        let all_projects: BTreeSet<String> = projects
            .keys()
            .cloned()
            .chain(options.exclude.iter().cloned())
            .collect();
        let named: Vec<(String, Span)> = projects
            .iter()
            .map(|(n, b)| (n.clone(), b.label.as_ref().map_or(b.kind.span, |l| l.span)))
            .collect();
        boundary::project_names(&named, &all_projects, self.sink);
        let mut globals = Globals {
            projects: projects.keys().cloned().collect(),
            networks: shared_networks(&projects),
            ..Globals::default()
        };
        let platform = platform::lower(self.sink, platforms.first().copied());
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

        // Every variable name declared anywhere, plain and qualified (`shop.name`).
        let mut own_decls: BTreeMap<String, BTreeMap<String, VarDecl>> = BTreeMap::new();
        for (name, block) in &projects {
            let mut decls = BTreeMap::new();
            for (_, b) in block
                .body
                .blocks()
                .filter(|(_, b)| b.kind.text == "variable")
            {
                self.declare_variable(&mut decls, b);
            }
            own_decls.insert(name.clone(), decls);
        }
        let mut known: BTreeSet<String> = BTreeSet::new();
        for (project, decls) in &own_decls {
            for name in decls.keys() {
                known.insert(name.clone());
                known.insert(format!("{project}.{name}"));
            }
        }
        let vars = self.variables(&variables, options, uses_preview, None, &known);
        let mut own_values: BTreeMap<String, (BTreeMap<String, VarValue>, BTreeSet<String>)> =
            BTreeMap::new();
        for (project, decls) in &own_decls {
            let values = self.variables(decls, options, None, Some(project), &known);
            let failed = decls
                .keys()
                .filter(|n| !values.contains_key(*n))
                .cloned()
                .collect();
            own_values.insert(project.clone(), (values, failed));
        }
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
        let mut used_own: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        // Under a platform every project has a grant: its own, or the default one.
        let has_platform = !platforms.is_empty();
        let mut grants: BTreeMap<String, Grant> = BTreeMap::new();
        if has_platform {
            for (name, block) in &projects {
                let grant = match platform.grants.get(name) {
                    Some(g) => g.clone(),
                    None => {
                        if platform.require_grants {
                            self.sink.push(
                                Diagnostic::new(
                                    Code::GrantRequired,
                                    block.label.as_ref().map_or(block.kind.span, |l| l.span),
                                    format!("project `{name}` has no grant, and the platform requires one"),
                                )
                                .with_label("no `grant` in the platform")
                                .with_help(format!("the platform's owners add `grant {name} {{ ... }}` to the platform block")),
                            );
                        }
                        Grant::default_for(name)
                    }
                };
                grants.insert(name.clone(), grant);
            }
        }
        let boundary_cx = boundary::Cx {
            platform: &platform,
            projects: &all_projects,
        };
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
            if let Some((values, failed)) = own_values.get(name) {
                scope.own_vars = values.clone();
                scope.own_failed = failed.clone();
            }
            let grant = grants.get(name);
            if has_platform {
                let mut visible: BTreeSet<String> = grant
                    .map(|g| g.variables.iter().cloned().collect())
                    .unwrap_or_default();
                visible.insert("pr".into());
                scope.visible = Some(visible);
            }
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
                grant,
            };
            let mut deployment = lower::deployment(&merged, &mut scope, &cx, self.sink);
            boundary::deployment(&merged, &mut deployment, &boundary_cx, self.sink);
            used_vars.extend(scope.used_vars);
            used_own
                .entry(name.to_string())
                .or_default()
                .extend(scope.used_own);
            rules::quotas(&deployment, self.sink);
            rules::cycles(&deployment, self.sink);
            rules::name_lengths(&deployment, self.sink);
            deployments.push(deployment);
        }
        rules::route_collisions(&deployments, self.sink);
        if !has_platform {
            boundary::shared_hosts(&deployments, self.sink);
        }
        boundary::totals(&deployments, self.sink);
        if uses_preview.is_some() {
            used_vars.insert("pr".into());
        }
        for (project, decls) in &own_decls {
            let used = used_own.get(project);
            for (name, decl) in decls {
                if !used.is_some_and(|u| u.contains(name)) {
                    let span = decl.span();
                    self.sink.push(
                        Diagnostic::new(
                            Code::UnusedVariable,
                            span,
                            format!("variable `{name}` of project `{project}` is never used"),
                        )
                        .with_label("declared here")
                        .with_help(format!("refer to it as `var.{name}`, or remove it")),
                    );
                }
            }
        }
        for (name, decl) in &variables {
            if !used_vars.contains(name) {
                let span = decl.span();
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
        owner: Option<&str>,
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
                    let parents: Vec<String> = schema::BLOCKS
                        .iter()
                        .filter(|s| s.blocks.contains(&kind))
                        .map(|s| format!("`{}`", s.kind))
                        .collect();
                    d = match parents.is_empty() {
                        false => d.with_help(format!(
                            "`{kind}` blocks belong in {} blocks",
                            parents.join(" or ")
                        )),
                        true => d.with_help(
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
            if let Some(owner) = owner {
                let misplaced = match kind {
                    "platform" | "variable" => Some(format!(
                        "`{owner}.berth` is project `{owner}`'s file; `{kind}` blocks belong in `{PLATFORM_FILE}`"
                    )),
                    _ => b.label.as_ref().filter(|l| l.text != owner).map(|l| {
                        format!(
                            "project `{}` is declared in `{owner}.berth`, which is project `{owner}`'s file",
                            l.text
                        )
                    }),
                };
                if let Some(message) = misplaced {
                    let help = if kind == "project" {
                        format!(
                            "declare project `{}` in its own file `{}.berth`",
                            b.label.as_ref().map_or("", |l| l.text.as_str()),
                            b.label.as_ref().map_or("", |l| l.text.as_str())
                        )
                    } else if kind == "variable" {
                        format!("declare the variable inside `project {owner} {{ ... }}`, where it is this project's own")
                    } else {
                        "only the platform's owners declare the platform and its grants".to_string()
                    };
                    self.sink.push(
                        Diagnostic::new(Code::MisplacedDeclaration, b.kind.span, message)
                            .with_label("not this file's to declare")
                            .with_help(help),
                    );
                    continue;
                }
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
                    self.declare_variable(variables, b);
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

    /// Adds a variable declaration to `decls`, or reports it as a duplicate.
    fn declare_variable<'f>(&mut self, decls: &mut BTreeMap<String, VarDecl<'f>>, b: &'f Block) {
        let Some(label) = &b.label else { return };
        if let Some(first) = decls.get(&label.text) {
            let first = first.span();
            self.duplicate("variable", &label.text, label.span, first);
            return;
        }
        let ty = self.var_type(b);
        decls.insert(label.text.clone(), VarDecl { block: b, ty });
    }

    /// A variable's declared type: `type = number` (as in Terraform) or `type = "number"`.
    fn var_type(&mut self, b: &Block) -> Option<&'static str> {
        let ty = lower::attr(&b.body, "type").and_then(|e| match &e.kind {
            crate::syntax::ExprKind::Str(s) => s.as_plain(),
            crate::syntax::ExprKind::Ref(r) if r.segments.len() == 1 => {
                Some(r.segments[0].text.clone())
            }
            _ => None,
        });
        let ty = ty.and_then(|t| ["string", "number", "bool"].into_iter().find(|c| *c == t));
        if let Some(e) = lower::attr(&b.body, "type") {
            if ty.is_none() {
                self.sink.push(
                    Diagnostic::new(
                        Code::InvalidEnumValue,
                        e.span,
                        "a variable's type is `string`, `number` or `bool`",
                    )
                    .with_label("unknown type")
                    .suggest(&self.sources_snippet(e.span), ["string", "number", "bool"]),
                );
            }
        }
        ty
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
                k @ ("service" | "job" | "network") => {
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
}

/// Names declared in a (merged) project body.
fn declared(body: &Body) -> Declared {
    let mut d = Declared::default();
    for (_, b) in body.blocks() {
        let Some(label) = &b.label else { continue };
        let map = match b.kind.text.as_str() {
            // Jobs are services that run to completion: one namespace, one Swarm name each.
            "service" | "job" => &mut d.services,
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
