//! Item 7 of issue 14, on the real engine: a secret or config source that does not exist fails
//! `validate`, `plan` and `apply` alike, with the path berth looked for or the variable's name.

use crate::harness::{docker, expect_code, flat, stdout, text};
use crate::truth::{project, Truth};
use std::process::Output;

/// Item 7, validate: a secret whose file does not exist, and one whose variable is not set, fail
/// `validate` (E0416, exit 1) with the absolute path berth looked for, the variable's name and a
/// span on each `file` / `env` value; `plan` and `apply` refuse with the same diagnostics and
/// create nothing. With the file written and the variable set, all three pass.
#[test]
fn validate_names_missing_sources_and_plan_and_apply_refuse_them() {
    let t = Truth::new("sources");
    let var = format!(
        "BERTH_{}_KEY",
        t.name.to_ascii_uppercase().replace('-', "_")
    );
    let text_now = project(&t.name, "berth/demo:1", "info").replace(
        "  volume data {}",
        &format!(
            "  secret token {{\n    file = \"{}/token.txt\"\n  }}\n\n  secret key {{\n    env = \"{var}\"\n  }}\n\n  volume data {{}}",
            t.name
        ),
    );
    t.world.write("main.berth", &text_now);
    // Where each value starts, as `file:line:column`.
    let at = |needle: &str| {
        let (n, line) = text_now
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(needle))
            .unwrap();
        format!("main.berth:{}:{}", n + 1, line.find('"').unwrap() + 1)
    };
    let (file_at, env_at) = (at("file = "), at("env = "));
    let looked = t.world.dir.join(&t.name).join("token.txt");
    let names_both = |out: &Output, what: &str| {
        let said = flat(&text(out));
        // miette wraps long lines: compare without whitespace.
        let compact: String = said.split_whitespace().collect();
        assert!(
            said.matches("E0416").count() == 2
                && compact.contains(&format!("lookedfor`{}`", looked.display()))
                && said.contains(&format!("`{var}` is not set"))
                && said.contains(&file_at)
                && said.contains(&env_at)
                && !said.contains("W0005"),
            "{what} does not name both missing sources at their spans ({file_at}, {env_at}): {said}"
        );
    };
    // Run from elsewhere with a relative directory: the path shown is still the absolute one.
    let parent = t.world.dir.parent().unwrap();
    let relative = t.world.dir.file_name().unwrap().to_str().unwrap();
    let validate = |set: bool| {
        let mut cmd = t.world.command(&["validate", relative]);
        cmd.current_dir(parent).env_remove(&var);
        if set {
            cmd.env(&var, "k3y-value");
        }
        cmd.output().unwrap()
    };
    let out = validate(false);
    expect_code(&out, 1);
    names_both(&out, "validate");
    assert!(
        !text(&out).contains("is valid"),
        "validate calls the configuration valid without its sources: {}",
        text(&out)
    );
    for args in [
        &["plan", "--refresh=false", "-p", &t.name, "-e", "production"][..],
        &["plan", "-p", &t.name, "-e", "production"][..],
        &["apply", "--auto-approve", "-p", &t.name, "-e", "production"][..],
    ] {
        let mut full = args.to_vec();
        full.push(t.world.dir_str());
        let out = t.world.command(&full).env_remove(&var).output().unwrap();
        expect_code(&out, 1);
        names_both(&out, args[0]);
    }
    let services = docker(&[
        "service",
        "ls",
        "-q",
        "--filter",
        &format!("label=berth.project={}", t.name),
    ]);
    assert_eq!(
        stdout(&services).trim(),
        "",
        "a refused apply created services"
    );

    // Followed: the file written and the variable set, all three pass.
    t.world
        .write(&format!("{}/token.txt", t.name), "t0ken-value");
    expect_code(&validate(true), 0);
    let plan = t.world.berth_env(
        &[
            "plan",
            "--refresh=false",
            "-p",
            &t.name,
            "-e",
            "production",
            t.world.dir_str(),
        ],
        &[(&var, "k3y-value")],
    );
    expect_code(&plan, 0);
    assert!(
        !text(&plan).contains("t0ken-value") && !text(&plan).contains("k3y-value"),
        "a plan shows a secret's value: {}",
        text(&plan)
    );
}
