//! The corpus of real compose files (`tests/corpus/`, `SOURCES.md` says where each comes from):
//! every one is imported; the result validates (warnings allowed) with every service kept, or
//! the import is refused with coded errors. No input panics. A handful are snapshots.

use berth_compose::{check, import, ImportOptions, RealFs};
use berth_lang::render::{self, Style};
use berth_lang::{Diagnostic, Severity};
use std::path::{Path, PathBuf};

/// The refused cases whose diagnostics, as a person reads them, are a snapshot.
const REFUSED_SNAPSHOTS: [&str; 2] = ["voting-app", "swarmprom"];

/// The cases whose generated berth text is a snapshot.
const SNAPSHOTS: [&str; 5] = [
    "ac-wordpress-mysql",
    "voting-app-stack",
    "n8n-postgres-worker",
    "umami",
    "ac-gitea-postgres",
];

fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn compose_file(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        1,
        "{}: one compose file per case",
        dir.display()
    );
    files.remove(0)
}

/// The compose file's service names.
fn services(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    v["services"]
        .as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// What one case came to: the generated text, or the refusal's diagnostics.
struct Outcome {
    text: Option<String>,
    report: String,
    /// One line: imported or refused, with the codes of its diagnostics.
    summary: String,
}

fn codes(diags: &[Diagnostic]) -> String {
    let mut codes: Vec<&str> = diags.iter().map(|d| d.code.as_str()).collect();
    codes.sort();
    codes.dedup();
    codes.join(" ")
}

fn run(dir: &Path) -> Outcome {
    let file = compose_file(dir);
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let imported = import(
        std::slice::from_ref(&file),
        &RealFs,
        &ImportOptions {
            project: Some(name.clone()),
            domain: Some("example.com".into()),
        },
    );
    let style = Style {
        color: false,
        width: 100,
    };
    let mut report = render::human(&imported.diagnostics, &imported.sources, style);
    for d in &imported.diagnostics {
        assert!(!d.code.as_str().is_empty());
    }
    let Some(text) = imported.text.clone() else {
        assert!(
            imported.diagnostics.iter().any(Diagnostic::is_error),
            "{name}: refused without an error"
        );
        // Every refusal names what it refuses: a key or value in backquotes.
        for d in imported.diagnostics.iter().filter(|d| d.is_error()) {
            assert!(
                d.message.contains('`'),
                "{name}: {} names no key",
                d.message
            );
        }
        let summary = format!("{name}: refused ({})", codes(&imported.diagnostics));
        if REFUSED_SNAPSHOTS.contains(&name.as_str()) {
            let root = format!("{}/", env!("CARGO_MANIFEST_DIR"));
            insta::assert_snapshot!(format!("refused__{name}"), report.replace(&root, ""));
        }
        return Outcome {
            text: None,
            report,
            summary,
        };
    };
    // Written as `berth fmt` writes it.
    let formatted =
        berth_lang::fmt::format_source(berth_lang::FileId(0), &text).expect("it parses");
    assert_eq!(
        formatted, text,
        "{name}: the generated project is not formatted"
    );
    let analysis = check(&imported.file_name(), &text, &imported.project, Vec::new());
    let errors: Vec<&Diagnostic> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    report.push_str(&render::human(
        &analysis.diagnostics,
        &analysis.sources,
        style,
    ));
    assert!(
        errors.is_empty(),
        "{name}: the generated project does not validate:\n{text}\n{report}"
    );
    let config = analysis.config.expect("a valid configuration has a model");
    let d = config
        .deployments
        .iter()
        .find(|d| d.project == imported.project)
        .expect("the project is deployed");
    let mut got: Vec<String> = d.services.iter().map(|s| s.name.clone()).collect();
    got.sort();
    let mut want: Vec<String> = services(&file)
        .iter()
        .map(|s| s.to_ascii_lowercase().replace(['_', '.'], "-"))
        .collect();
    want.sort();
    // A service in a profile is deployed disabled, so it is not in the model; it is in the text.
    for w in &want {
        assert!(
            got.contains(w) || text.contains(&format!("service {w} {{")),
            "{name}: service {w} was not kept:\n{text}"
        );
    }
    let mut all = imported.diagnostics.clone();
    all.extend(analysis.diagnostics.iter().cloned());
    let summary = format!(
        "{name}: imported, {} services ({})",
        want.len(),
        codes(&all)
    );
    Outcome {
        text: Some(text),
        report,
        summary,
    }
}

#[test]
fn every_corpus_file_imports_or_is_refused_with_codes() {
    let cases = corpus();
    assert!(
        cases.len() >= 25,
        "the corpus has at least 25 real compose files"
    );
    let mut imported = 0;
    let mut failed = Vec::new();
    let mut summary = Vec::new();
    for dir in &cases {
        let Ok(outcome) = std::panic::catch_unwind(|| run(dir)) else {
            failed.push(dir.display().to_string());
            continue;
        };
        if let Some(text) = &outcome.text {
            imported += 1;
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            if SNAPSHOTS.contains(&name.as_str()) {
                insta::assert_snapshot!(format!("generated__{name}"), text);
            }
        }
        summary.push(outcome.summary.clone());
        if std::env::var_os("BERTH_CORPUS_PRINT").is_some() {
            println!(
                "=== {}\n{}\n{}",
                dir.display(),
                outcome.text.unwrap_or_default(),
                outcome.report
            );
        }
    }
    assert!(failed.is_empty(), "failed: {failed:?}");
    assert!(imported >= 9, "only {imported} of {} imported", cases.len());
    insta::assert_snapshot!("outcomes", summary.join("\n"));
}
