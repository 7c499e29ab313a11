//! Access roles at the edge. The rule is `berth_lang::access`; this module supplies its facts
//! (the actor's name, what is in scope) and says what it decided: the refusals of `berth apply`
//! and `berth destroy` (E0210–E0212, exit 1), the warnings about what anyone may change, and
//! `berth access codeowners`.

use super::session::Failure;
use super::{load, ConfigArgs, EXIT_ERROR};
use berth_lang::access::{self, Action, Open, Target, Verdict};
use berth_lang::model::{Config, ConfigSource, Environment, SecretSource};
use berth_lang::SourceMap;
use berth_planner::DeploymentId;
use clap::{Args, Subcommand};
use std::cell::Cell;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args, Clone, Default)]
pub struct ActorArgs {
    /// Who is acting: an owner or admin of each project environment in scope that declares
    /// access roles, and one of the platform's `admins` when the platform is in scope and
    /// declares some. berth cannot authenticate this name; it trusts whoever gives it, so let
    /// CI set BERTH_ACTOR from its own identity of who triggered the run.
    #[arg(long, env = "BERTH_ACTOR", value_name = "NAME")]
    pub actor: Option<String>,
}

/// Decides, for one apply or destroy, whether its actor may act on what is in scope.
pub struct Gate<'a> {
    /// The configuration the roles come from, and its sources for rendering refusals; `None`
    /// when the directory holds no configuration (a destroy needs none).
    roles: Option<(&'a Config, &'a SourceMap)>,
    actor: Option<&'a str>,
    action: Action,
    /// The note that berth acted on the given name without authenticating it, said once.
    noted: Cell<bool>,
}

impl<'a> Gate<'a> {
    pub fn new(
        config: &'a Config,
        sources: &'a SourceMap,
        actor: &'a ActorArgs,
        action: Action,
    ) -> Self {
        Gate {
            roles: Some((config, sources)),
            actor: actor.actor.as_deref(),
            action,
            noted: Cell::new(false),
        }
    }

    /// A gate for a configuration that is not there: nothing declares roles.
    pub fn without_configuration(actor: &'a ActorArgs, action: Action) -> Self {
        Gate {
            roles: None,
            actor: actor.actor.as_deref(),
            action,
            noted: Cell::new(false),
        }
    }

    fn verdict<'i>(&self, ids: impl IntoIterator<Item = &'i DeploymentId>) -> Verdict {
        let ids: Vec<&DeploymentId> = ids.into_iter().collect();
        let Some((config, _)) = self.roles else {
            return Verdict {
                open: ids.iter().map(|id| (name(id), Open::Undeclared)).collect(),
                ..Verdict::default()
            };
        };
        let targets: Vec<Target> = ids.iter().map(|id| target(id)).collect();
        access::authorize(config, &targets, self.actor, self.action)
    }

    /// Refuses, showing why and who may, unless the actor may act on every one of `ids`;
    /// warns about those anyone may act on.
    pub fn check<'i>(
        &self,
        ids: impl IntoIterator<Item = &'i DeploymentId>,
    ) -> Result<(), Failure> {
        let verdict = self.verdict(ids);
        if let (false, Some((_, sources))) = (verdict.allowed(), self.roles) {
            let style = berth_lang::render::Style {
                color: super::output::color_stderr(),
                width: 100,
            };
            eprint!(
                "{}",
                berth_lang::render::human(&verdict.refusals, sources, style)
            );
            return Err(Failure::Refused);
        }
        let verb = self.action.verb();
        for (why, names) in group(&verdict.open) {
            let reason = match (why, self.roles.is_some()) {
                (Open::NoRoles, _) if names.len() == 1 => {
                    "it declares no access roles (give it an `access` block with an `owner`)"
                }
                (Open::NoRoles, _) => {
                    "they declare no access roles (give each an `access` block with an `owner`)"
                }
                (Open::NoPlatformAdmins, _) => "the platform declares no `admins`",
                (Open::Undeclared, true) => {
                    "the configuration does not declare it and the platform declares no `admins`"
                }
                (Open::Undeclared, false) => {
                    "there is no configuration here, so berth knows no access roles"
                }
            };
            eprintln!(
                "warning: anyone who can run berth may {verb} {}: {reason}",
                names.join(", ")
            );
        }
        if verdict.admitted && !self.noted.replace(true) {
            eprintln!(
                "note: acting as `{}` (--actor or BERTH_ACTOR); berth cannot authenticate this name and trusts whoever gave it",
                self.actor.unwrap_or_default()
            );
        }
        Ok(())
    }

    /// Whether the actor may apply or destroy the platform, said nowhere.
    pub fn allows_platform(&self) -> bool {
        self.verdict([&DeploymentId::platform()]).allowed()
    }
}

fn name(id: &DeploymentId) -> String {
    if id.is_platform() {
        "the platform".into()
    } else {
        id.to_string()
    }
}

fn target(id: &DeploymentId) -> Target<'_> {
    if id.is_platform() {
        return Target::Platform;
    }
    Target::Environment {
        project: &id.project,
        environment: Environment::parse(id.environment_label()),
        name: id.to_string(),
    }
}

/// The open targets grouped by why, in the order first met.
fn group(open: &[(String, Open)]) -> Vec<(Open, Vec<String>)> {
    let mut out: Vec<(Open, Vec<String>)> = Vec::new();
    for (name, why) in open {
        match out.iter_mut().find(|(w, _)| w == why) {
            Some((_, names)) => names.push(name.clone()),
            None => out.push((*why, vec![name.clone()])),
        }
    }
    out
}

/// The roles a destroy is checked against: the configuration of `args.dir` checked as
/// `validate` checks it (every environment, previews too, with no variable required), or
/// `None` when the directory holds no `.berth` file.
pub fn roles_for_destroy(args: &ConfigArgs) -> Result<Option<(Config, SourceMap)>, Failure> {
    if load::berth_files(&args.dir)?.is_empty() {
        return Ok(None);
    }
    let analysis = load::analyze(args, false)?;
    match analysis.config {
        Some(config) if !analysis.has_errors() => Ok(Some((config, analysis.sources))),
        _ => Err(Failure::invalid(
            analysis.diagnostics,
            std::sync::Arc::new(analysis.sources),
        )),
    }
}

/// The projects of `config` that declare developers, whose role berth cannot enforce.
pub fn unenforced_developers(config: &Config) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for d in &config.deployments {
        if !d.access.developer.is_empty() && !out.contains(&d.project.as_str()) {
            out.push(&d.project);
        }
    }
    out
}

#[derive(Debug, Args)]
pub struct AccessArgs {
    #[command(subcommand)]
    pub command: AccessCommand,
}

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Print a CODEOWNERS file (GitHub and GitLab syntax): each project's owners and admins
    /// review `<project>.berth` and `<project>/`, the platform's admins `platform.berth`, the
    /// platform's files and everything else.
    Codeowners(CodeownersArgs),
}

#[derive(Debug, Args)]
pub struct CodeownersArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The repository's root, which CODEOWNERS paths start from (default: the configuration
    /// directory).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Print nothing; exit 1, showing the difference, when FILE is not what would be printed
    /// (for CI).
    #[arg(long, value_name = "FILE")]
    pub check: Option<PathBuf>,
}

pub fn run(args: &AccessArgs) -> Result<ExitCode, Failure> {
    match &args.command {
        AccessCommand::Codeowners(args) => codeowners(args),
    }
}

fn codeowners(args: &CodeownersArgs) -> Result<ExitCode, Failure> {
    let analysis = load::analyze(&args.config, false)?;
    if analysis.has_errors() {
        load::report(&analysis, super::Format::Human);
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    let config = analysis
        .config
        .as_ref()
        .expect("a configuration without errors has a model");
    let root = args.root.as_deref().unwrap_or(&args.config.dir);
    let prefix = match prefix(&args.config.dir, root) {
        Ok(p) => p,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(ExitCode::from(EXIT_ERROR));
        }
    };
    for warning in layout_warnings(config, &analysis.sources) {
        eprintln!("warning: {warning}");
    }
    let text = render(config, &prefix);
    let Some(file) = &args.check else {
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    };
    let shown = load::display(file);
    let current = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read `{shown}`: {e}");
            eprintln!("help: write it with `berth access codeowners > {shown}`");
            return Ok(ExitCode::from(EXIT_ERROR));
        }
    };
    if current == text {
        eprintln!("`{shown}` is up to date with the access roles.");
        return Ok(ExitCode::SUCCESS);
    }
    let diff = similar::TextDiff::from_lines(&current, &text);
    print!(
        "{}",
        diff.unified_diff()
            .header(&shown, &format!("{shown} (from the access roles)"))
    );
    eprintln!("error: `{shown}` is not what the access roles give");
    eprintln!("help: regenerate it with `berth access codeowners > {shown}` (same directory and --root) and have it reviewed");
    Ok(ExitCode::from(EXIT_ERROR))
}

/// Where the configuration directory is, relative to the repository's root: `` or `deploy/`.
fn prefix(dir: &Path, root: &Path) -> Result<String, String> {
    let canonical = |p: &Path| {
        p.canonicalize()
            .map_err(|e| format!("cannot read `{}`: {e}", p.display()))
    };
    let (dir_abs, root_abs) = (canonical(dir)?, canonical(root)?);
    let relative = dir_abs.strip_prefix(&root_abs).map_err(|_| {
        format!(
            "the configuration directory `{}` is not inside the repository root `{}`",
            dir.display(),
            root.display()
        )
    })?;
    let mut out = String::new();
    for c in relative.components() {
        let Component::Normal(part) = c else { continue };
        let part = part.to_str().unwrap_or("");
        let plain = !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !plain {
            return Err(format!(
                "the directory name `{}` cannot be written into CODEOWNERS as it is: use letters, digits, `.`, `_` and `-`",
                part.escape_debug()
            ));
        }
        out.push_str(part);
        out.push('/');
    }
    Ok(out)
}

/// The CODEOWNERS text. GitHub and GitLab both let the last matching pattern win, so the
/// catch-all comes first and the platform's lines (its files, and this file's usual places)
/// last: no project directory can claim them.
pub fn render(config: &Config, prefix: &str) -> String {
    let owners = access::code_owners(config);
    let mut out = String::from(
        "# Generated by `berth access codeowners` from the configuration's access roles: each\n\
         # project's owners and admins review its files, the platform's admins everything else.\n\
         # Regenerate it when an `access` block or the platform's `admins` change (`--check` fails\n\
         # in CI when it is out of date). Each project lives in `<project>.berth`, with its secret\n\
         # and config files under `<project>/`. The last matching pattern wins, so the platform's\n\
         # lines come last.\n\n",
    );
    let admins = owners.platform.join(" ");
    if admins.is_empty() {
        out.push_str("# The platform declares no `admins`: the catch-all, the platform's files and\n# this file have no code owners.\n\n");
    } else {
        out.push_str(&format!("* {admins}\n\n"));
    }
    for (project, names) in &owners.projects {
        if names.is_empty() {
            out.push_str(&format!("# {project} declares no owner or admin: the catch-all's owners review its files.\n\n"));
            continue;
        }
        let names = names.join(" ");
        out.push_str(&format!(
            "# {project}\n/{prefix}{project}.berth {names}\n/{prefix}{project}/ {names}\n\n"
        ));
    }
    if admins.is_empty() {
        return out.trim_end().to_string() + "\n";
    }
    out.push_str("# The platform, its files, and this file wherever it is kept.\n");
    out.push_str(&format!("/{prefix}platform.berth {admins}\n"));
    for file in platform_files(config) {
        out.push_str(&format!("/{prefix}{file} {admins}\n"));
    }
    for place in [
        "CODEOWNERS",
        ".github/CODEOWNERS",
        ".gitlab/CODEOWNERS",
        "docs/CODEOWNERS",
    ] {
        out.push_str(&format!("/{place} {admins}\n"));
    }
    out
}

/// The files the platform reads (certificates, keys, the ACME CA, the dashboard's users),
/// relative to the configuration, each once, when they can be written as CODEOWNERS paths.
fn platform_files(config: &Config) -> Vec<String> {
    let p = &config.platform;
    let mut files: Vec<&str> = Vec::new();
    files.extend(p.acme_ca_certificate.as_deref());
    for c in &p.certificates {
        files.push(&c.cert);
        if let SecretSource::File(key) = &c.key {
            files.push(key);
        }
    }
    if let Some(SecretSource::File(users)) = &p.proxy.dashboard_users {
        files.push(users);
    }
    let mut out: Vec<String> = Vec::new();
    for f in files {
        if let Some(path) = relative_path(f) {
            if !out.contains(&path) {
                out.push(path);
            }
        }
    }
    out
}

/// `path` (relative to the configuration) as a CODEOWNERS path, when it stays inside the
/// configuration and has no character CODEOWNERS would read as a pattern or separator.
fn relative_path(path: &str) -> Option<String> {
    let plain = |p: &str| {
        p.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    berth_lang::check::boundary::relative_path(path).filter(|p| p.split('/').all(plain))
}

/// What the CODEOWNERS file cannot express about this configuration, said on stderr: files
/// where the layout assumption does not hold, and entries no forge takes as an owner.
fn layout_warnings(config: &Config, sources: &SourceMap) -> Vec<String> {
    let mut out = Vec::new();
    let file_of = |span: berth_lang::Span| {
        let name = &sources.get(span.file).name;
        Path::new(name)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| name.clone())
    };
    if let Some(span) = config.platform.span {
        let file = file_of(span);
        if file != "platform.berth" {
            out.push(format!("the platform is declared in `{file}`, not `platform.berth`: its lines name `platform.berth`, and `{file}` falls to the catch-all"));
        }
    }
    for a in &config.platform.admins {
        if let Some(w) = owner_warning(a) {
            out.push(format!("the platform's admin {w}"));
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for d in &config.deployments {
        let project = d.project.as_str();
        let first = !seen.contains(&project);
        if first {
            seen.push(project);
            let file = file_of(d.span);
            if file != format!("{project}.berth") {
                out.push(format!("project `{project}` is declared in `{file}`, not `{project}.berth`: its lines name `{project}.berth`, and `{file}` falls to the catch-all"));
            }
        }
        let sources = d
            .secrets
            .iter()
            .filter_map(|s| match &s.source {
                SecretSource::File(f) => Some(("secret", &s.name, f)),
                SecretSource::Env(_) => None,
            })
            .chain(d.configs.iter().filter_map(|c| match &c.source {
                ConfigSource::File(f) => Some(("config", &c.name, f)),
                ConfigSource::Content(_) => None,
            }));
        for (kind, name, file) in sources {
            let inside = relative_path(file).is_some_and(|p| p.starts_with(&format!("{project}/")));
            let warning = format!("project `{project}`'s {kind} `{name}` reads `{file}`, outside `{project}/`: the catch-all's owners review it, not the project's");
            if !inside && !out.contains(&warning) {
                out.push(warning);
            }
        }
        for name in d.access.deployers() {
            if let Some(w) = owner_warning(name) {
                let warning = format!("project `{project}`'s {w}");
                if !out.contains(&warning) {
                    out.push(warning);
                }
            }
        }
    }
    out
}

/// Why GitHub and GitLab would not take `entry` as a code owner, if they would not.
fn owner_warning(entry: &str) -> Option<String> {
    let email = entry
        .split_once('@')
        .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'));
    (!entry.starts_with('@') && !email).then(|| {
        format!("`{entry}` is not a code owner GitHub or GitLab know: write `@{entry}` for a user, `@org/team` or an e-mail")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> (Config, SourceMap) {
        let analysis = berth_lang::analyze(
            "test",
            vec![berth_lang::Input {
                name: "cfg/main.berth".into(),
                bytes: text.as_bytes().to_vec(),
            }],
            &berth_lang::Options::default(),
        );
        assert!(!analysis.has_errors(), "{:?}", analysis.diagnostics);
        (analysis.config.unwrap(), analysis.sources)
    }

    const SERVICE: &str =
        "service web {\n  image = \"berth/demo:1\"\n  resources {\n    limits {\n      memory = 16M\n    }\n  }\n}\n";

    #[test]
    fn platform_lines_come_after_every_project_and_use_the_prefix() {
        let (c, _) = config(&format!(
            "platform {{\n  admins = [\"@acme/platform\"]\n  certificate shop {{\n    cert = \"certs/shop.pem\"\n    key = \"./certs/shop.key\"\n  }}\n}}\n\
             project docs {{\n  access {{\n    owner = [\"@writer\"]\n  }}\n  {SERVICE}}}\n\
             project open {{\n  {SERVICE}}}\n"
        ));
        let text = render(&c, "deploy/");
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        assert_eq!(
            lines,
            [
                "* @acme/platform",
                "/deploy/docs.berth @writer",
                "/deploy/docs/ @writer",
                "/deploy/platform.berth @acme/platform",
                "/deploy/certs/shop.pem @acme/platform",
                "/deploy/certs/shop.key @acme/platform",
                // A project named `docs` does not own docs/CODEOWNERS: this line comes later.
                "/CODEOWNERS @acme/platform",
                "/.github/CODEOWNERS @acme/platform",
                "/.gitlab/CODEOWNERS @acme/platform",
                "/docs/CODEOWNERS @acme/platform",
            ],
            "{text}"
        );
        assert!(text.contains("# open declares no owner or admin"), "{text}");
    }

    #[test]
    fn without_platform_admins_only_projects_have_owners() {
        let (c, _) = config(&format!(
            "project shop {{\n  access {{\n    owner = [\"alice@example.com\"]\n  }}\n  {SERVICE}}}\n"
        ));
        let text = render(&c, "");
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        assert_eq!(
            lines,
            ["/shop.berth alice@example.com", "/shop/ alice@example.com"]
        );
        assert!(text.contains("declares no `admins`"), "{text}");
    }

    #[test]
    fn files_outside_the_layout_and_unknown_owners_are_warned_about() {
        let (c, sources) = config(&format!(
            "platform {{\n  admins = [\"ops\"]\n  grant shop {{\n    files = \"secrets/shop\"\n  }}\n}}\n\
             project shop {{\n  access {{\n    owner = [\"alice@example.com\"]\n    admin = [\"deploy-bot\"]\n  }}\n  secret b {{\n    file = \"secrets/shop/b.txt\"\n  }}\n  {SERVICE}}}\n"
        ));
        let warnings = layout_warnings(&c, &sources);
        let has = |s: &str| warnings.iter().any(|w| w.contains(s));
        assert!(
            has("the platform is declared in `main.berth`"),
            "{warnings:?}"
        );
        assert!(
            has("project `shop` is declared in `main.berth`"),
            "{warnings:?}"
        );
        // A grant's `files` directory outside `shop/` is reviewed by the catch-all's owners.
        assert!(has("secret `b` reads `secrets/shop/b.txt`"), "{warnings:?}");
        assert!(has("admin `ops` is not a code owner"), "{warnings:?}");
        assert!(has("`deploy-bot` is not a code owner"), "{warnings:?}");
        assert!(!has("alice"), "{warnings:?}");
    }

    #[test]
    fn paths_that_would_be_patterns_are_not_written() {
        assert_eq!(
            relative_path("./certs/a.pem").as_deref(),
            Some("certs/a.pem")
        );
        assert_eq!(relative_path("../a.pem"), None);
        assert_eq!(relative_path("/etc/a.pem"), None);
        assert_eq!(relative_path("certs/*.pem"), None);
        assert_eq!(relative_path("my certs/a.pem"), None);
    }

    #[test]
    fn the_prefix_is_the_configuration_directory_below_the_root() {
        let base = std::env::temp_dir().join(format!("berth-prefix-{}", std::process::id()));
        let dir = base.join("deploy").join("prod");
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(prefix(&dir, &base).unwrap(), "deploy/prod/");
        assert_eq!(prefix(&dir, &dir).unwrap(), "");
        assert!(prefix(&base, &dir).unwrap_err().contains("not inside"));
        std::fs::remove_dir_all(&base).unwrap();
    }
}
