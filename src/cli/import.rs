//! `berth import compose FILE...`: translates compose files into one berth project, checked as
//! `berth validate` would check it inside the `--out` configuration (its platform and grants),
//! and writes it there, or prints it. Nothing is written when anything is refused.

use super::failure::Failure;
use super::load;
use berth_compose::{ImportOptions, RealFs};
use berth_lang::{Code, Diagnostic};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub what: ImportWhat,
}

#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// Translate compose files (merged in order, like `docker compose -f A -f B`) into one berth
    /// project; docs/IMPORT.md lists what each key becomes.
    Compose(ImportCompose),
}

#[derive(Debug, Args)]
pub struct ImportCompose {
    /// The compose files; the first one's directory holds `.env` and the files they name.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The project's name (default: the compose file's `name`, else its directory's name).
    #[arg(long, short = 'p')]
    pub project: Option<String>,
    /// The configuration directory to write `<project>.berth` (and `<project>/`, the files its
    /// secrets and configs read) into; it is checked together with the files already there.
    /// Without it the project is printed.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The project's `domain`, that routes without a host of their own derive theirs from
    /// (default: the platform's); written only when such a route exists.
    #[arg(long)]
    pub domain: Option<String>,
}

pub fn run(args: &ImportArgs) -> Result<ExitCode, Failure> {
    let ImportWhat::Compose(args) = &args.what;
    let options = ImportOptions {
        project: args.project.clone(),
        domain: args.domain.clone(),
    };
    let imported = berth_compose::import(&args.files, &RealFs, &options);
    let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) = imported
        .diagnostics
        .iter()
        .cloned()
        .partition(Diagnostic::is_error);
    let sources = Arc::new(imported.sources.clone());
    let Some(text) = imported.text.clone() else {
        load::report_human(&warnings, &sources);
        return Err(Failure::invalid(errors, sources));
    };
    load::report_human(&warnings, &sources);

    let name = imported.file_name();
    if let Some(dir) = &args.out {
        let target = dir.join(&name);
        let mut writes = vec![(target.clone(), None)];
        for f in &imported.files {
            writes.push((dir.join(&f.to), Some(f.from.clone())));
        }
        for (path, _) in &writes {
            if path.exists() {
                return Err(Failure::Found(Box::new(
                    Diagnostic::unlocated(
                        Code::ImportOutputExists,
                        format!(
                            "`{}` exists; the import would overwrite it",
                            load::display(path)
                        ),
                    )
                    .with_help("remove it, or import with another `--out` or `--project`"),
                )));
            }
        }
    }
    let existing = match &args.out {
        Some(dir) if dir.is_dir() => load::read_inputs(dir)?,
        _ => Vec::new(),
    };
    let analysis = berth_compose::check(&name, &text, &imported.project, existing);
    let located_here = |d: &Diagnostic| {
        d.span
            .is_none_or(|s| analysis.sources.get(s.file).name == name || d.is_error())
    };
    let shown: Vec<Diagnostic> = analysis
        .diagnostics
        .iter()
        .filter(|d| located_here(d))
        .cloned()
        .collect();
    let refused = analysis.has_errors()
        || analysis
            .config
            .as_ref()
            .is_none_or(|c| !c.deployments.iter().any(|d| d.project == imported.project));
    if refused {
        let mut diagnostics = vec![Diagnostic::unlocated(
            Code::ImportRefused,
            format!(
                "the project `{}` imported from the compose file does not validate{}; nothing was written",
                imported.project,
                args.out
                    .as_ref()
                    .map(|d| format!(" in `{}`", load::display(d)))
                    .unwrap_or_default()
            ),
        )
        .with_help("the diagnostics below point at the generated project; change the compose file (or the grant) and import again")];
        diagnostics.extend(shown);
        return Err(Failure::invalid(diagnostics, Arc::new(analysis.sources)));
    }
    load::report_human(&shown, &analysis.sources);

    let Some(dir) = &args.out else {
        print!("{text}");
        for f in &imported.files {
            eprintln!(
                "note: the project reads `{}`: copy `{}` there",
                f.to,
                f.from.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    };
    let io = |path: &PathBuf, source: std::io::Error| {
        Failure::Load(load::LoadError::Io {
            path: path.clone(),
            source,
        })
    };
    let target = dir.join(&name);
    let mut writes = vec![(target.clone(), None)];
    for f in &imported.files {
        writes.push((dir.join(&f.to), Some(f.from.clone())));
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    for (path, from) in &writes {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(&parent.to_path_buf(), e))?;
        }
        match from {
            None => std::fs::write(path, &text).map_err(|e| io(path, e))?,
            Some(from) => {
                std::fs::copy(from, path).map_err(|e| io(from, e))?;
            }
        }
    }
    eprintln!(
        "Imported project `{}` into {}{}. Review it, then `berth validate {}`.",
        imported.project,
        load::display(&target),
        if imported.files.is_empty() {
            String::new()
        } else {
            format!(
                " (and {} file(s) into {}/)",
                imported.files.len(),
                imported.project
            )
        },
        load::display(dir)
    );
    Ok(ExitCode::SUCCESS)
}
