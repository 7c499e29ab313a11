//! The language commands through the binary: exit codes, JSON diagnostics, explain, fmt; and
//! access roles: who may apply and destroy, and the CODEOWNERS file they give.

use crate::harness::{docker, expect_code, flat, stdout, text, World};
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
        text(&whole).contains("BERTH_E2E_UNSET_TLS_KEY")
            && text(&whole).contains("E0416")
            && text(&whole).contains("main.berth:6:15"),
        "{}",
        text(&whole)
    );
    // validate, which a tenant's CI runs without the platform's key, passes and says what a
    // plan of the platform will need.
    let validate = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["validate", dir.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .env_remove("BERTH_E2E_UNSET_TLS_KEY")
        .output()
        .unwrap();
    expect_code(&validate, 0);
    assert!(
        text(&validate).contains("`BERTH_E2E_UNSET_TLS_KEY` is not set; a plan or apply of the platform needs it (E0416)"),
        "{}",
        text(&validate)
    );
    // Drawing the graph reads no secret, not even the platform's key.
    std::fs::remove_file(dir.join("shop.pem")).unwrap();
    let graph = berth(&["graph", dir.to_str().unwrap()]);
    expect_code(&graph, 0);
    assert!(
        stdout(&graph).contains("digraph") && stdout(&graph).contains("platform/proxy"),
        "{}",
        text(&graph)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A secret file that is a symbolic link out of the project's directory is refused where the
/// files are read (`validate`, `plan`), and a missing source is an error of `validate` (E0416)
/// that `--deny-warnings` does not change.
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
    expect_code(&out, 1);
    let said = text(&out);
    assert!(
        said.contains("E0416") && said.contains("shop/absent.txt") && !said.contains("W0005"),
        "{said}"
    );
    expect_code(&berth(&["validate", "--deny-warnings", d]), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A project `name` with one small unrouted service, and `access` as written.
fn guarded_project(name: &str, access: &str) -> String {
    format!(
        "project {name} {{\n{access}\n  service web {{\n    image = \"berth/demo:1\"\n\n    resources {{\n      limits {{\n        memory = 16M\n      }}\n    }}\n  }}\n}}\n"
    )
}

const ROLES: &str = "  access {\n    owner     = [\"owner@example.com\"]\n    admin     = [\"@admin\"]\n    developer = [\"dev@example.com\"]\n    viewer    = [\"viewer@example.com\"]\n  }\n";

/// berth with `BERTH_ACTOR` set to `actor`, or unset.
fn as_actor(world: &World, args: &[&str], actor: Option<&str>) -> std::process::Output {
    let mut cmd = world.command(args);
    cmd.env_remove("BERTH_ACTOR");
    if let Some(a) = actor {
        cmd.env("BERTH_ACTOR", a);
    }
    cmd.output().unwrap()
}

/// The IDs of the project's services and networks, as docker lists them by berth's label.
fn objects(project: &str) -> String {
    let filter = format!("label=berth.project={project}");
    let mut out = String::new();
    for kind in ["service", "network", "secret", "config", "volume"] {
        out.push_str(&stdout(&docker(&[kind, "ls", "-q", "--filter", &filter])));
    }
    out
}

#[test]
fn access_roles_refuse_an_apply_without_an_actor_or_by_a_viewer_and_admit_an_owner() {
    let mut world = World::new();
    let guarded = world.project("acl");
    let open = world.project("open");
    world.write(
        "main.berth",
        &format!(
            "{}\n{}",
            guarded_project(&guarded, ROLES),
            guarded_project(&open, "")
        ),
    );
    let dir = world.dir_str().to_string();
    let nothing_exists = |why: &str| {
        for p in [&guarded, &open] {
            assert_eq!(objects(p), "", "{why}: nothing of {p} is created");
        }
        assert!(
            !world.state.join(&guarded).exists(),
            "{why}: no state or lock is written"
        );
    };

    // No actor: refused, naming the project environment and who may.
    let out = as_actor(
        &world,
        &["apply", "--auto-approve", "--project", &guarded, &dir],
        None,
    );
    expect_code(&out, 1);
    let said = text(&out);
    assert!(said.contains("E0210"), "{said}");
    assert!(said.contains(&format!("{guarded}/production")), "{said}");
    assert!(
        said.contains("`owner@example.com`, `@admin` may apply it"),
        "{said}"
    );
    nothing_exists("no actor");

    // A viewer and a developer may not apply.
    for (args, actor, role) in [
        (vec!["--actor", "viewer@example.com"], None, "is a viewer"),
        (vec![], Some("dev@example.com"), "is a developer"),
    ] {
        let mut full = vec!["apply", "--auto-approve", "--project", &guarded];
        full.extend(args);
        full.push(&dir);
        let out = as_actor(&world, &full, actor);
        expect_code(&out, 1);
        let said = text(&out);
        assert!(said.contains("E0211"), "{said}");
        assert!(said.contains(role), "{said}");
        assert!(said.contains("owner@example.com"), "{said}");
        nothing_exists(role);
    }

    // A whole-configuration apply without an actor creates nothing, not even the open project.
    let out = as_actor(&world, &["apply", "--auto-approve", &dir], None);
    expect_code(&out, 1);
    assert!(text(&out).contains("E0210"), "{}", text(&out));
    nothing_exists("whole configuration, no actor");

    // Viewers may plan: planning needs no actor.
    expect_code(&as_actor(&world, &["plan", &dir], None), 0);

    // The owner applies the whole configuration; the open project is applied with a warning.
    let out = as_actor(
        &world,
        &[
            "apply",
            "--auto-approve",
            "--actor",
            "owner@example.com",
            &dir,
        ],
        None,
    );
    expect_code(&out, 0);
    let said = text(&out);
    assert!(
        said.contains(&format!(
            "warning: anyone who can run berth may apply {open}/production"
        )),
        "{said}"
    );
    assert!(
        said.contains("acting as `owner@example.com`") && said.contains("cannot authenticate"),
        "{said}"
    );
    for p in [&guarded, &open] {
        assert!(
            docker(&["service", "inspect", &format!("{p}_web")])
                .status
                .success(),
            "{p}_web exists:\n{said}"
        );
    }

    // Destroying needs an owner or admin too.
    let destroy = [
        "destroy",
        "--auto-approve",
        "--project",
        &guarded,
        "--env",
        "production",
        &dir,
    ];
    let out = as_actor(&world, &destroy, None);
    expect_code(&out, 1);
    assert!(text(&out).contains("E0210"), "{}", text(&out));
    assert!(
        docker(&["service", "inspect", &format!("{guarded}_web")])
            .status
            .success(),
        "a refused destroy leaves the service"
    );
    // `@admin` is the admin `admin` (a CI identity without the `@`).
    let out = as_actor(&world, &destroy, Some("admin"));
    expect_code(&out, 0);
    assert!(
        !docker(&["service", "inspect", &format!("{guarded}_web")])
            .status
            .success(),
        "the admin's destroy removes the service:\n{}",
        text(&out)
    );
    let out = as_actor(
        &world,
        &[
            "destroy",
            "--auto-approve",
            "--project",
            &open,
            "--env",
            "production",
            &dir,
        ],
        None,
    );
    expect_code(&out, 0);
    assert!(
        text(&out).contains("warning: anyone who can run berth may destroy"),
        "{}",
        text(&out)
    );
}

/// A rendered diagnostic's text without its frame and line breaks, to search for a sentence.
#[test]
fn the_platforms_admins_and_saved_plans_are_checked_before_the_cluster_is_reached() {
    let mut world = World::new();
    let project = world.project("plat");
    world.write(
        "main.berth",
        &format!(
            "platform {{\n  admins = [\"ops@example.com\"]\n}}\n\n{}",
            guarded_project(
                &project,
                "  access {\n    owner = [\"alice@example.com\"]\n  }\n"
            )
        ),
    );
    let dir = world.dir_str().to_string();
    // No engine answers here: whatever berth did with the cluster would fail differently.
    let unreachable = |args: &[&str], actor: Option<&str>| {
        let mut cmd = world.command(args);
        cmd.env_remove("BERTH_ACTOR")
            .env("DOCKER_HOST", "unix:///nonexistent/berth-e2e-access.sock");
        if let Some(a) = actor {
            cmd.env("BERTH_ACTOR", a);
        }
        cmd.output().unwrap()
    };
    let refused = |args: &[&str], actor: Option<&str>, code: &str| {
        let out = unreachable(args, actor);
        expect_code(&out, 1);
        let said = text(&out);
        assert!(said.contains(code), "{args:?} as {actor:?}: {said}");
        assert!(
            !said.contains("cannot reach the Docker Engine"),
            "{args:?} as {actor:?} is refused before the engine is reached: {said}"
        );
        said
    };

    // The whole configuration includes the platform: its admins only.
    let said = refused(
        &["apply", "--auto-approve", &dir],
        Some("alice@example.com"),
        "E0212",
    );
    assert!(said.contains("`ops@example.com`"), "{said}");
    // A platform admin is no project owner.
    refused(
        &["apply", "--auto-approve", &dir],
        Some("ops@example.com"),
        "E0211",
    );
    refused(
        &["destroy", "--auto-approve", "--platform", &dir],
        None,
        "E0210",
    );
    refused(
        &["destroy", "--auto-approve", "--platform", &dir],
        Some("alice@example.com"),
        "E0212",
    );
    // A project the configuration does not declare is the platform admins' to destroy.
    let gone = format!("{}-gone", world.id);
    let said = refused(
        &[
            "destroy",
            "--auto-approve",
            "--project",
            &gone,
            "--env",
            "production",
            &dir,
        ],
        Some("alice@example.com"),
        "E0212",
    );
    assert!(
        flat(&said)
            .contains("the configuration does not declare it, so only the platform's admins may"),
        "{said}"
    );
    // Admitted, berth goes on and only then finds no engine.
    let out = unreachable(
        &["destroy", "--auto-approve", "--platform", &dir],
        Some("ops@example.com"),
    );
    expect_code(&out, 1);
    assert!(
        flat(&text(&out)).contains("cannot reach the Docker Engine"),
        "{}",
        text(&out)
    );

    // A saved plan (made from recorded state alone) is checked like a plan made now.
    let plan = world.dir.join("plan.json");
    let out = unreachable(
        &[
            "plan",
            "--refresh=false",
            "--project",
            &project,
            "--out",
            plan.to_str().unwrap(),
            &dir,
        ],
        None,
    );
    expect_code(&out, 0);
    let saved = [
        "apply",
        "--auto-approve",
        plan.to_str().unwrap(),
        "--config-dir",
        &dir,
    ];
    refused(&saved, None, "E0210");
    refused(&saved, Some("ops@example.com"), "E0211");
    let out = unreachable(&saved, Some("alice@example.com"));
    expect_code(&out, 1);
    assert!(
        flat(&text(&out)).contains("cannot reach the Docker Engine"),
        "{}",
        text(&out)
    );
}

/// `berth access codeowners examples/tenants`, as the example's roles give it.
const TENANTS_CODEOWNERS: &str = "\
# Generated by `berth access codeowners` from the configuration's access roles: each
# project's owners and admins review its files, the platform's admins everything else.
# Regenerate it when an `access` block or the platform's `admins` change (`--check` fails
# in CI when it is out of date). Each project lives in `<project>.berth`, with its secret
# and config files under `<project>/`. The last matching pattern wins, so the platform's
# lines come last.

* ops@example.com

# billing
/billing.berth carol@example.com dave@example.com ops@example.com
/billing/ carol@example.com dave@example.com ops@example.com

# shop
/shop.berth alice@example.com ops@example.com
/shop/ alice@example.com ops@example.com

# studio
/studio.berth erin@example.com ops@example.com
/studio/ erin@example.com ops@example.com

# The platform, its files, and this file wherever it is kept.
/platform.berth ops@example.com
/CODEOWNERS ops@example.com
/.github/CODEOWNERS ops@example.com
/.gitlab/CODEOWNERS ops@example.com
/docs/CODEOWNERS ops@example.com
";

#[test]
fn codeowners_of_the_tenants_example_and_its_check() {
    let tenants = format!("{}/tenants", examples());
    let out = berth(&["access", "codeowners", &tenants]);
    expect_code(&out, 0);
    assert_eq!(stdout(&out), TENANTS_CODEOWNERS, "{}", text(&out));
    // Every project keeps its files under its directory: nothing to warn about.
    assert!(out.stderr.is_empty(), "{}", text(&out));

    // Paths from the repository's root.
    let out = berth(&[
        "access",
        "codeowners",
        &tenants,
        "--root",
        env!("CARGO_MANIFEST_DIR"),
    ]);
    expect_code(&out, 0);
    let from_root = stdout(&out);
    assert!(
        from_root.contains("\n/examples/tenants/shop/ alice@example.com ops@example.com\n")
            && from_root.contains("\n/examples/tenants/platform.berth ops@example.com\n")
            && from_root.contains("\n/.github/CODEOWNERS ops@example.com\n"),
        "{from_root}"
    );

    // `--check` for CI: 0 when up to date, 1 with the difference when not or when missing.
    let dir = tempdir("codeowners");
    let file = dir.join("CODEOWNERS");
    let check = |file: &std::path::Path| {
        berth(&[
            "access",
            "codeowners",
            &tenants,
            "--check",
            file.to_str().unwrap(),
        ])
    };
    std::fs::write(&file, TENANTS_CODEOWNERS).unwrap();
    expect_code(&check(&file), 0);
    std::fs::write(
        &file,
        TENANTS_CODEOWNERS.replace(
            "/shop/ alice@example.com ops@example.com",
            "/shop/ @mallory",
        ),
    )
    .unwrap();
    let out = check(&file);
    expect_code(&out, 1);
    assert!(
        stdout(&out).contains("-/shop/ @mallory")
            && stdout(&out).contains("+/shop/ alice@example.com ops@example.com"),
        "{}",
        text(&out)
    );
    expect_code(&check(&dir.join("absent")), 1);
    std::fs::remove_dir_all(dir).unwrap();

    // `developer` is declared there, and berth says once that it cannot enforce it.
    let out = berth(&["validate", &tenants]);
    expect_code(&out, 0);
    assert!(
        text(&out).contains("the `developer` role (shop, studio) is not enforced"),
        "{}",
        text(&out)
    );
}

/// A planner error is a diagnostic like the language's: a task that reserves more memory than
/// the node (read from the real engine) has is shown with its code and a snippet of the
/// reservation, and `--format json` carries it with its location.
#[test]
fn a_task_too_large_for_any_node_is_shown_at_its_reservation_in_both_forms() {
    let mut world = World::new();
    let project = world.project("big");
    world.write(
        "big.berth",
        &format!(
            "project {project} {{\n  service web {{\n    image = \"berth/demo:1\"\n\n    resources {{\n      reservations {{\n        memory = 4096G\n      }}\n\n      limits {{\n        memory = 4096G\n      }}\n    }}\n  }}\n}}\n"
        ),
    );
    let out = world.berth(&["plan", world.dir_str()]);
    expect_code(&out, 1);
    let said = flat(&text(&out));
    assert!(
        said.contains("E0224") && said.contains("one task reserves 4TiB of memory"),
        "{}",
        text(&out)
    );
    assert!(
        said.contains("7 memory = 4096G"),
        "the snippet shows the reservation's line: {}",
        text(&out)
    );
    let json = world.berth(&["plan", "--format", "json", world.dir_str()]);
    expect_code(&json, 1);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout)
        .unwrap_or_else(|e| panic!("one JSON document on stdout ({e}): {}", text(&json)));
    let d = v["diagnostics"]
        .as_array()
        .and_then(|l| l.iter().find(|d| d["code"] == "E0224"))
        .unwrap_or_else(|| panic!("no E0224 in {v}"));
    assert_eq!(d["location"]["line"], 7, "{d}");
    assert_eq!(d["severity"], "error");
    assert!(d["help"].is_string(), "{d}");
}
