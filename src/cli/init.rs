//! `berth init [DIR] [--project NAME]`: a commented starting project, one `main.berth` that
//! validates and plans as written: the platform (a domain, the proxy, what the project may use)
//! and one routed web service, each attribute explained where it is set. It never overwrites: a
//! directory that already holds `.berth` files is refused (E0421).

use super::failure::Failure;
use super::load::{self, LoadError};
use berth_lang::{Code, Diagnostic};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to write the project into (created when missing).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The project's name (default: the directory's name, as a DNS label).
    #[arg(long, short = 'p')]
    pub project: Option<String>,
}

/// The starting project; `{project}` is replaced by the project's name.
const TEMPLATE: &str = r#"# A berth configuration: `berth validate` checks it, `berth plan` shows what applying it would
# change, `berth apply` deploys it. The language reference is schema/LANGUAGE.md in berth's
# repository; `berth explain CODE` explains any diagnostic.

# The platform: the domain routes are served under, the proxy (Traefik) in front of every
# project, and what each project may use. On a shared cluster the platform team keeps this
# block in its own `platform.berth`, and each project lives in `<project>.berth`.
platform {
  # Routes are <service>-<project>.localhost, and the primary one {project}.localhost.
  domain = "localhost"

  # What project `{project}` may use, over all of its environments together. A project's own
  # `quota` may only lower it.
  grant {project} {
    quota {
      cpu          = 1
      memory       = 512M
      limit_cpu    = 2
      limit_memory = 1G
      replicas     = 8
    }
  }
}

project {project} {
  # Per environment; each environment's services must fit.
  quota {
    cpu      = 1
    memory   = 256M
    replicas = 4
  }

  service web {
    image    = "berth/demo:1" # your image, as `docker pull` names it
    replicas = 2

    env {
      GREETING = "hello from ${project.name}"
    }

    resources {
      # The most a task may use, and what Swarm sets aside for each task.
      limits {
        cpu    = 0.25 # cores
        memory = 64M
      }
      reservations {
        cpu    = 50m
        memory = 16M
      }
    }

    # A task counts as running once this command succeeds; rolling updates wait for it.
    health {
      command  = ["/berth-demo", "check", "http://127.0.0.1:8080/health"]
      interval = 2s
      timeout  = 1s
      retries  = 3
    }

    # The route through the proxy: http://{project}.localhost/ to port 8080 of the tasks.
    route {
      primary = true
      port    = 8080
    }
  }

  # Environments: production is the project as written; an environment block overrides it.
  environment production {}

  environment staging {
    service web {
      replicas = 1
    }
  }
}
"#;

/// The project file for `project`.
pub fn template(project: &str) -> String {
    TEMPLATE.replace("{project}", project)
}

/// A directory's name as a project name: lower-case letters, digits and hyphens, starting with
/// a letter, at most 20 characters (so every Swarm name berth derives from it stays short).
pub fn project_name(dir: &Path) -> String {
    let base = std::path::absolute(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut name = String::new();
    for c in base.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let name: String = name
        .trim_start_matches(|c: char| !c.is_ascii_lowercase())
        .chars()
        .take(20)
        .collect();
    let name = name.trim_end_matches('-');
    if name.is_empty() {
        "app".into()
    } else {
        name.into()
    }
}

pub fn run(args: &InitArgs) -> Result<ExitCode, Failure> {
    let write = |path: &Path, e: std::io::Error| {
        Failure::Load(LoadError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    };
    std::fs::create_dir_all(&args.dir).map_err(|e| write(&args.dir, e))?;
    let existing = load::berth_files(&args.dir)?;
    if !existing.is_empty() {
        let names: Vec<String> = existing.iter().map(|p| load::display(p)).collect();
        return Err(Failure::Found(Box::new(
            Diagnostic::unlocated(
                Code::InitWouldOverwrite,
                format!(
                    "`{}` already holds a configuration ({})",
                    load::display(&args.dir),
                    names.join(", ")
                ),
            )
            .with_help("`berth init` only writes into a directory without .berth files; give another directory"),
        )));
    }
    let project = args
        .project
        .clone()
        .unwrap_or_else(|| project_name(&args.dir));
    let path = args.dir.join("main.berth");
    std::fs::write(&path, template(&project)).map_err(|e| write(&path, e))?;
    println!(
        "Wrote {} with project `{project}`. Next: `berth validate`, then `berth plan`.",
        load::display(&path)
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_directories_are_dns_labels() {
        assert_eq!(project_name(Path::new("/tmp/My Shop_2")), "my-shop-2");
        assert_eq!(project_name(Path::new("/tmp/2fast")), "fast");
        assert_eq!(project_name(Path::new("/tmp/___")), "app");
        assert_eq!(
            project_name(Path::new("/tmp/a-very-long-directory-name-indeed")),
            "a-very-long-director"
        );
    }

    /// The starting project is valid as written, and formatted as `berth fmt` writes it.
    #[test]
    fn the_template_validates_and_is_formatted() {
        let text = template("shop");
        let analysis = berth_lang::analyze(
            "init",
            vec![berth_lang::Input {
                name: "main.berth".into(),
                bytes: text.clone().into_bytes(),
            }],
            &berth_lang::Options::default(),
        );
        assert!(analysis.config.is_some(), "{:#?}", analysis.diagnostics);
        assert!(
            analysis.diagnostics.is_empty(),
            "{:#?}",
            analysis.diagnostics
        );
    }
}
