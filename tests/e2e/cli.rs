//! The language commands through the binary: exit codes, JSON diagnostics, explain, fmt.

use crate::harness::{expect_code, stdout, text};
use std::process::Command;

fn berth(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn examples() -> String {
    format!("{}/examples", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_example_validates() {
    expect_code(
        &berth(&[
            "validate",
            &format!("{}/quickstart", examples()),
            "--deny-warnings",
        ]),
        0,
    );
    expect_code(
        &berth(&[
            "validate",
            &format!("{}/tenants", examples()),
            "--var",
            "pr=7",
            "--deny-warnings",
        ]),
        0,
    );
    // A value for a variable the configuration does not declare is an error.
    expect_code(
        &berth(&[
            "validate",
            &format!("{}/quickstart", examples()),
            "--var",
            "pr=7",
        ]),
        1,
    );
}

#[test]
fn invalid_input_exits_1_with_json_diagnostics() {
    let dir = tempdir("invalid");
    std::fs::write(
        dir.join("a.berth"),
        "project shop {\n  service web {\n    image = \"x:1\"\n    replcas = 2\n  }\n}\n",
    )
    .unwrap();
    let out = berth(&["validate", dir.to_str().unwrap(), "--format", "json"]);
    expect_code(&out, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON on stdout");
    assert_eq!(json["errors"], 1, "{}", text(&out));
    let error = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["severity"] == "error")
        .expect("one error");
    assert_eq!(error["code"], "E0101");
    assert_eq!(error["location"]["line"], 4);
    assert_eq!(error["help"], "did you mean `replicas`?");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn usage_errors_exit_64_and_explain_knows_every_code() {
    expect_code(&berth(&["validate", "--no-such-flag"]), 64);
    let out = berth(&["explain", "E0153"]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("Traefik would silently drop"),
        "{}",
        text(&out)
    );
    expect_code(&berth(&["explain", "E9999"]), 1);
    let list = stdout(&berth(&["explain"]));
    assert!(list.lines().count() >= 50, "{list}");
}

#[test]
fn fmt_check_reports_and_fmt_rewrites() {
    let dir = tempdir("fmt");
    let file = dir.join("a.berth");
    std::fs::write(
        &file,
        "project shop {\n# keep me\nservice web { image = \"x:1\", replicas = 2 }\n}\n",
    )
    .unwrap();
    expect_code(&berth(&["fmt", "--check", dir.to_str().unwrap()]), 1);
    expect_code(&berth(&["fmt", dir.to_str().unwrap()]), 0);
    let formatted = std::fs::read_to_string(&file).unwrap();
    assert!(formatted.contains("  # keep me\n"), "{formatted}");
    assert!(formatted.contains("    replicas = 2\n"), "{formatted}");
    expect_code(&berth(&["fmt", "--check", dir.to_str().unwrap()]), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_project_plan_does_not_need_the_platforms_keys() {
    let dir = tempdir("platformkeys");
    std::fs::write(
        dir.join("main.berth"),
        "platform {\n  domain = \"keys.test\"\n\n  certificate shop {\n    cert    = \"shop.pem\"\n    key_env = \"BERTH_E2E_UNSET_TLS_KEY\"\n  }\n}\n\nproject shop {\n  service web {\n    image = \"berth/demo:1\"\n    resources {\n      limits {\n        memory = 16M\n      }\n    }\n  }\n}\n",
    )
    .unwrap();
    std::fs::write(dir.join("shop.pem"), "not read for a project plan\n").unwrap();
    let state = dir.join("state");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "plan",
            "--refresh=false",
            "--state-dir",
            state.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.push(dir.to_str().unwrap());
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(&args)
            .env("NO_COLOR", "1")
            .env_remove("BERTH_E2E_UNSET_TLS_KEY")
            .output()
            .unwrap()
    };
    // The tenant's plan leaves the platform out, and with it the platform's key.
    let project = run(&["--project", "shop"]);
    expect_code(&project, 0);
    assert!(
        !stdout(&project).contains("platform/"),
        "{}",
        text(&project)
    );
    // The whole configuration includes the platform, whose key must then be readable.
    let whole = run(&[]);
    expect_code(&whole, 1);
    assert!(
        text(&whole).contains("BERTH_E2E_UNSET_TLS_KEY"),
        "{}",
        text(&whole)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A secret file that is a symbolic link out of the project's directory is refused where the
/// files are read (`validate`, `plan`), and a missing source is a warning of `validate`.
#[test]
fn a_link_out_of_the_projects_directory_is_refused_and_missing_sources_are_named() {
    let dir = tempdir("sourcelinks");
    std::fs::create_dir_all(dir.join("shop")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", dir.join("shop/key.txt")).unwrap();
    let config = |file: &str| {
        format!("project shop {{\n  secret key {{\n    file = \"{file}\"\n  }}\n\n  service web {{\n    image = \"berth/demo:1\"\n\n    env {{\n      KEY_FILE = secret.key\n    }}\n\n    resources {{\n      limits {{\n        memory = 16M\n      }}\n    }}\n  }}\n}}\n")
    };
    std::fs::write(dir.join("main.berth"), config("shop/key.txt")).unwrap();
    let d = dir.to_str().unwrap();
    let out = berth(&["validate", d]);
    expect_code(&out, 1);
    let said = text(&out);
    assert!(
        said.contains("E0174") && said.contains("/etc/hostname"),
        "{said}"
    );
    let state = dir.join("state");
    let out = berth(&[
        "plan",
        "--refresh=false",
        "--state-dir",
        state.to_str().unwrap(),
        "--project",
        "shop",
        d,
    ]);
    expect_code(&out, 1);
    assert!(text(&out).contains("E0174"), "{}", text(&out));

    std::fs::write(dir.join("main.berth"), config("shop/absent.txt")).unwrap();
    let out = berth(&["validate", d]);
    expect_code(&out, 0);
    let said = text(&out);
    assert!(
        said.contains("W0005") && said.contains("shop/absent.txt"),
        "{said}"
    );
    expect_code(&berth(&["validate", "--deny-warnings", d]), 1);
    std::fs::remove_dir_all(dir).unwrap();
}
