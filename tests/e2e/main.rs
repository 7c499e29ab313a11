//! berth's end-to-end tests: the real binary against the real Docker Engine in swarm mode. One
//! test binary; a test fails if a file of this directory is not one of its modules.

mod boundary;
mod cli;
mod edge;
mod examples;
mod harness;
mod lifecycle;
mod remote;
mod running;
mod tls;

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
