//! Compose files and berth, both ways. `berth import compose` reads real compose files as the
//! Compose Specification defines them and writes one idiomatic berth project; `berth export
//! compose` writes a compiled project environment as a stack file that `docker stack deploy`
//! accepts. The crate is between the language and the binary: it writes berth text and checks it
//! with `berth_lang::analyze`, and reads the planner's desired specs for an export. It never
//! talks to Docker, and reads files only through [`Fs`], which the binary gives it.
//!
//! What a compose file says that berth cannot express is never dropped in silence: it is refused
//! with a coded diagnostic naming the key, or translated with a warning that says what changed
//! (docs/IMPORT.md has the whole table).

pub mod export;
mod interp;
mod load;
mod out;
mod routes;
mod service;
mod spec;
mod top;
pub mod units;

pub use interp::{Part, Text, Var, Vars};

use berth_lang::{Analysis, Code, Diagnostic, Input, Options, SourceMap};
use load::Sources;
use serde_yaml::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// How the importer reads the files a compose file names (`.env`, `env_file`, `extends`,
/// secrets' and configs' files).
pub trait Fs {
    fn read(&self, path: &Path) -> Option<String>;
    fn is_file(&self, path: &Path) -> bool;
}

/// The real file system.
pub struct RealFs;

impl Fs for RealFs {
    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The project's name; default the compose file's `name`, else its directory's name.
    pub project: Option<String>,
    /// The project's `domain`, written when a route has no host of its own (routes then derive
    /// theirs from it); without it they derive it from the platform's. Unused otherwise.
    pub domain: Option<String>,
}

/// A file the project reads (a secret's or config's), to be copied next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFile {
    pub from: PathBuf,
    /// Relative to the output directory: `<project>/<name>`.
    pub to: String,
}

/// What an import produced.
pub struct Import {
    pub project: String,
    /// The formatted berth project (`<project>.berth`); `None` when the import was refused.
    pub text: Option<String>,
    pub files: Vec<CopyFile>,
    /// The compose files read, which the diagnostics point into.
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
}

impl Import {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The name of the file the project is written to.
    pub fn file_name(&self) -> String {
        format!("{}.berth", self.project)
    }
}

/// Reads the compose files `paths` (merged in order, as `docker compose -f a -f b` does) and
/// translates them into one berth project.
pub fn import(paths: &[PathBuf], fs: &dyn Fs, options: &ImportOptions) -> Import {
    let dir = paths
        .first()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut sources = Sources::new(dir.clone());
    let mut diags = Vec::new();
    let doc = load::read(paths, fs, &mut sources, &mut diags);
    let env_file = fs.read(&dir.join(".env")).unwrap_or_default();
    let mut cx = Cx {
        sources,
        diags,
        vars: Vars::with_env_file(&env_file),
        used_vars: BTreeSet::new(),
        project: String::new(),
        files: Vec::new(),
        volumes: BTreeMap::new(),
        secrets: BTreeMap::new(),
        configs: BTreeMap::new(),
        networks: BTreeMap::new(),
        extra_configs: Vec::new(),
        extra_volumes: Vec::new(),
        hostless_route: false,
        fs,
    };
    let text = match doc {
        Some(doc) if !cx.has_errors() => cx.project_text(doc, options),
        _ => None,
    };
    let text = text.filter(|_| !cx.has_errors());
    let project = if cx.project.is_empty() {
        options.project.clone().unwrap_or_else(|| "imported".into())
    } else {
        cx.project.clone()
    };
    Import {
        project,
        text,
        files: cx.files,
        sources: cx.sources.map,
        diagnostics: cx.diags,
    }
}

/// Checks the imported project as `berth validate` would, together with `existing`: the
/// `.berth` files of the configuration it is written into (its `platform.berth` and grants),
/// so that import refuses what the tenant boundary or the project's grant refuses. The project's
/// own file is named `name` among the inputs.
pub fn check(name: &str, text: &str, project: &str, existing: Vec<Input>) -> Analysis {
    let mut inputs: Vec<Input> = existing.into_iter().filter(|i| i.name != name).collect();
    inputs.push(Input {
        name: name.to_string(),
        bytes: text.as_bytes().to_vec(),
    });
    let options = Options {
        project: Some(project.to_string()),
        ..Options::default()
    };
    berth_lang::analyze("imported", inputs, &options)
}

/// The importer's state while it translates one project.
pub(crate) struct Cx<'f> {
    pub sources: Sources,
    pub diags: Vec<Diagnostic>,
    pub vars: Vars,
    /// Compose variables written as berth variables (declared in the project).
    pub used_vars: BTreeSet<String>,
    pub project: String,
    pub files: Vec<CopyFile>,
    /// Compose name → berth name, per kind of top-level object.
    pub volumes: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    pub configs: BTreeMap<String, String>,
    /// Compose network → berth network; `None` for networks berth leaves out (external ones,
    /// `default`).
    pub networks: BTreeMap<String, Option<String>>,
    /// Configs made from read-only bind mounts of single files: (name, file).
    pub extra_configs: Vec<(String, String)>,
    /// Named volumes made from anonymous ones.
    pub extra_volumes: Vec<String>,
    /// A route has no host of its own (it derives one from a domain).
    pub hostless_route: bool,
    pub fs: &'f dyn Fs,
}

impl Cx<'_> {
    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }

    pub fn push(
        &mut self,
        code: Code,
        path: &[&str],
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let d = self.sources.at(code, path, message);
        self.diags.push(d);
        self.diags.last_mut().expect("just pushed")
    }

    /// Interpolates a scalar as text; numbers and bools as written.
    pub fn text(&mut self, v: &Value, path: &[&str]) -> Option<Text> {
        let raw = scalar(v)?;
        match interp::parse(&raw, &mut self.vars) {
            Ok(t) => Some(t),
            Err(e) => {
                self.push(Code::ComposeInterpolation, path, e);
                None
            }
        }
    }

    /// A berth string literal of the scalar: variables become berth variables.
    pub fn string_literal(&mut self, v: &Value, path: &[&str]) -> Option<String> {
        let t = self.text(v, path)?;
        for p in &t.0 {
            if let Part::Var(name) = p {
                self.used_vars.insert(name.clone());
            }
        }
        Some(out::text(&t, &var_name))
    }

    /// The scalar with its interpolations fixed to their values (warned), for places where
    /// berth needs a fixed value.
    pub fn fixed(&mut self, v: &Value, path: &[&str]) -> Option<String> {
        let t = self.text(v, path)?;
        if !t.has_vars() {
            return t.resolve(&self.vars).ok();
        }
        match t.resolve(&self.vars) {
            Ok(s) => {
                self.push(
                    Code::ComposeFixedValue,
                    path,
                    format!(
                        "`{}` is fixed to `{s}`, the value it has at import",
                        path.join(".")
                    ),
                );
                Some(s)
            }
            Err(var) => {
                self.push(
                    Code::ComposeInterpolation,
                    path,
                    format!(
                        "`{}` needs a fixed value, and `${{{var}}}` has no default or `.env` value",
                        path.join(".")
                    ),
                )
                .help = Some(format!(
                    "write `${{{var}:-value}}`, or set `{var}` in `.env`"
                ));
                None
            }
        }
    }

    /// The berth declarations of the variables written as berth variables.
    pub fn variables(&self, out: &mut out::Out) {
        for name in &self.used_vars {
            let var = self.vars.0.get(name).cloned().unwrap_or_default();
            out.open("variable", Some(&var_name(name)));
            out.attr("type", "\"string\"");
            if let Some(d) = &var.default {
                out.attr("default", &out::string(d));
            }
            let description = match (&var.required, var.from_env_file) {
                (Some(m), _) => format!("`${name}` of the compose file (required: {m})."),
                (None, true) => format!("`${name}` of the compose file; default from its .env."),
                (None, false) => format!("`${name}` of the compose file."),
            };
            out.attr("description", &out::string(&description));
            out.close();
        }
    }
}

/// The berth name of a compose variable: lowercase.
pub(crate) fn var_name(compose: &str) -> String {
    let lower = compose.to_ascii_lowercase();
    if lower.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        lower
    } else {
        format!("v_{lower}")
    }
}

/// A scalar as compose reads it: strings as written, numbers and bools in their YAML form.
pub(crate) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar(&t.value),
        _ => None,
    }
}

pub(crate) fn get<'v>(m: &'v Mapping, key: &str) -> Option<&'v Value> {
    m.get(key).filter(|v| !v.is_null())
}

/// The string keys of a mapping, in order.
pub(crate) fn keys(m: &Mapping) -> Vec<String> {
    m.keys().filter_map(scalar).collect()
}
