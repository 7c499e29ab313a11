//! Where a project's secret and config files really are. The language checks that a source path
//! is relative and inside the project's directory as written; only the file system knows where a
//! symbolic link leads. This module resolves each path and refuses one that leads out of the
//! project's directory, so that a tenant cannot read the CI machine's files (or another
//! tenant's) through a link it committed. It reads metadata only, never a secret's bytes.

use berth_lang::model::{ConfigSource, Deployment, SecretSource};
use berth_lang::Span;
use std::path::{Path, PathBuf};

/// Why a source cannot be used as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceProblem {
    /// The path, once links are followed, lies outside the project's directory.
    #[error("`{path}` leads to `{resolved}`, outside project `{project}`'s directory `{root}`")]
    Escapes {
        project: String,
        path: String,
        resolved: PathBuf,
        root: PathBuf,
    },
    /// No file at the path.
    #[error("`{path}` does not exist (looked for `{resolved}`)")]
    MissingFile { path: String, resolved: PathBuf },
    /// The environment variable is not set in berth's environment.
    #[error("the environment variable `{var}` is not set")]
    UnsetVariable { var: String },
}

/// A problem and the span of the secret or config it concerns.
#[derive(Debug, Clone)]
pub struct Located {
    /// The span of the `file` or `env` value.
    pub span: Span,
    /// `secret` or `config`.
    pub kind: &'static str,
    pub name: String,
    pub problem: SourceProblem,
}

/// The directory a project's files must be in: its grant's `files`, else its name.
pub fn project_root(config_dir: &Path, d: &Deployment) -> PathBuf {
    let rel = d
        .grant
        .as_ref()
        .map_or(d.project.as_str(), |g| g.files.as_str());
    config_dir.join(rel)
}

/// Resolves `path` (relative to `config_dir`) and checks that it stays inside the project's
/// directory once every symbolic link is followed. `Ok` holds the resolved path.
pub fn resolve(config_dir: &Path, d: &Deployment, path: &str) -> Result<PathBuf, SourceProblem> {
    let joined = config_dir.join(path);
    // A missing file is named by the absolute path berth looked for, not one relative to
    // wherever berth was started.
    let resolved = std::fs::canonicalize(&joined).map_err(|_| SourceProblem::MissingFile {
        path: path.to_string(),
        resolved: std::path::absolute(&joined).unwrap_or_else(|_| joined.clone()),
    })?;
    let root = project_root(config_dir, d);
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    if resolved.starts_with(&root) {
        Ok(resolved)
    } else {
        Err(SourceProblem::Escapes {
            project: d.project.clone(),
            path: path.to_string(),
            resolved,
            root,
        })
    }
}

/// Every problem with the sources of `deployments`: links out of a project's directory, files
/// that do not exist and variables that are not set. Nothing is read but metadata and whether
/// a variable is set.
pub fn check(config_dir: &Path, deployments: &[&Deployment]) -> Vec<Located> {
    let mut out = Vec::new();
    for d in deployments {
        let mut files: Vec<(Span, &'static str, &String, &String)> = Vec::new();
        for s in &d.secrets {
            match &s.source {
                SecretSource::File(p) => files.push((s.source_span, "secret", &s.name, p)),
                SecretSource::Env(var) => {
                    // Only whether it is set: the value is dropped unread.
                    if std::env::var_os(var).is_none() {
                        out.push(Located {
                            span: s.source_span,
                            kind: "secret",
                            name: s.name.clone(),
                            problem: SourceProblem::UnsetVariable { var: var.clone() },
                        });
                    }
                }
            }
        }
        for c in &d.configs {
            if let ConfigSource::File(p) = &c.source {
                files.push((c.source_span, "config", &c.name, p));
            }
        }
        for (span, kind, name, path) in files {
            if let Err(problem) = resolve(config_dir, d, path) {
                out.push(Located {
                    span,
                    kind,
                    name: name.clone(),
                    problem,
                });
            }
        }
    }
    // One problem per source, also when several environments share it.
    out.sort_by_key(|l| (l.span.file, l.span.start, l.name.clone()));
    out.dedup_by(|a, b| a.span == b.span && a.problem == b.problem);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_lang::{analyze, Input, Options};

    fn deployment(dir: &Path, file: &str) -> Deployment {
        let text = format!(
            "project shop {{\n  secret key {{ file = \"{file}\" }}\n  service web {{\n    image = \"x/y:1\"\n    env {{ KEY = secret.key }}\n    resources {{ limits {{ memory = 16M }} }}\n  }}\n}}\n"
        );
        let a = analyze(
            dir.to_str().unwrap(),
            vec![Input {
                name: "main.berth".into(),
                bytes: text.into_bytes(),
            }],
            &Options::default(),
        );
        assert!(!a.has_errors(), "{:?}", a.diagnostics);
        a.config.unwrap().deployments.remove(0)
    }

    #[test]
    fn a_link_out_of_the_projects_directory_is_refused_and_one_inside_is_not() {
        let dir = std::env::temp_dir().join(format!("berth-sources-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("shop")).unwrap();
        std::fs::create_dir_all(dir.join("billing")).unwrap();
        std::fs::write(dir.join("shop/key.txt"), "k").unwrap();
        std::fs::write(dir.join("billing/key.txt"), "theirs").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.join("shop/host")).unwrap();
        std::os::unix::fs::symlink("../billing/key.txt", dir.join("shop/theirs")).unwrap();
        std::os::unix::fs::symlink("key.txt", dir.join("shop/mine")).unwrap();

        let d = deployment(&dir, "shop/key.txt");
        assert!(check(&dir, &[&d]).is_empty());
        let d = deployment(&dir, "shop/mine");
        assert!(
            check(&dir, &[&d]).is_empty(),
            "a link inside the directory is fine"
        );
        for link in ["shop/host", "shop/theirs"] {
            let d = deployment(&dir, link);
            let problems = check(&dir, &[&d]);
            assert_eq!(problems.len(), 1, "{link}: {problems:?}");
            assert!(
                matches!(problems[0].problem, SourceProblem::Escapes { .. }),
                "{link}: {problems:?}"
            );
        }
        let d = deployment(&dir, "shop/absent.txt");
        assert!(matches!(
            check(&dir, &[&d])[0].problem,
            SourceProblem::MissingFile { .. }
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
