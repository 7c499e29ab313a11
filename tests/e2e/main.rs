//! berth's end-to-end tests: the real binary against the real Docker Engine in swarm mode. One
//! test binary; a test fails if a file of this directory is not one of its modules.

mod boundary;
mod cli;
mod edge;
mod everyday;
mod examples;
mod harness;
mod hints;
mod import;
mod lifecycle;
mod noswarm;
mod release;
mod remote;
mod running;
mod sources;
mod state;
mod tls;
mod truth;

#[test]
fn every_file_is_a_module() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(module) = name.strip_suffix(".rs") {
            if module != "main" {
                assert!(
                    main.contains(&format!("mod {module};")),
                    "tests/e2e/{name} is not included in main.rs"
                );
            }
        }
    }
}

/// Modules stay small (issue 11): no Rust source file of the workspace, tests included, is
/// over 900 lines.
#[test]
fn no_source_file_is_over_900_lines() {
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, usize)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | ".git" | "fixtures" | "snapshots") {
                    walk(&path, out);
                }
            } else if name.ends_with(".rs") {
                let lines = std::fs::read_to_string(&path).unwrap().lines().count();
                if lines > 900 {
                    out.push((path.display().to_string(), lines));
                }
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut over = Vec::new();
    for dir in ["src", "crates", "tests", "fuzz"] {
        if root.join(dir).is_dir() {
            walk(&root.join(dir), &mut over);
        }
    }
    assert!(over.is_empty(), "files over 900 lines: {over:?}");
}
