//! `berth import compose` and `berth export compose` on the real Swarm: a compose file with a
//! web service (`berth/demo:1`, a Traefik-labelled route and a health check) and a database
//! stand-in (`berth/busybox:1` with a named volume, keeping the image's health check) is imported into a configuration with
//! a platform, applied, answers through the proxy, and plans nothing the second time; its export
//! is a stack file `docker stack config` accepts. A directory holding only the compose file,
//! and a compose file pasted into a .berth file, get diagnostics whose import hints work when
//! followed as printed.
//!
//! It shares the edge tests' proxy (and their lock). Network rule: requests go to 127.0.0.1
//! only, through the proxy's published port, bounded in time.

use crate::edge::{get_ok, Edge};
use crate::harness::{docker, expect_code, flat, stdout, text};

fn compose(host: &str) -> String {
    format!(
        r#"# A shop as its team ran it with `docker stack deploy`.
x-limits: &limits
  resources:
    limits:
      cpus: "0.25"
      memory: 64M

services:
  web:
    image: berth/demo:1
    environment:
      BERTH_DEMO_PROJECT: ${{SHOP_NAME:-imported}}.web
      DATABASE_HOST: db
    healthcheck:
      test: ["CMD", "/berth-demo", "check", "http://127.0.0.1:8080/health"]
      interval: 2s
      timeout: 1s
      retries: 3
    depends_on:
      db:
        condition: service_started
    deploy:
      <<: *limits
      replicas: 2
      labels:
        - traefik.enable=true
        - traefik.http.routers.shop.rule=Host(`{host}`)
        - traefik.http.routers.shop.entrypoints=web
        - traefik.http.services.shop.loadbalancer.server.port=8080

  db:
    image: berth/busybox:1
    # Keeps the image's own health check (its httpd on 8080), with its data volume mounted.
    command: sh -c 'test -d /data && exec httpd -f -p 8080 -h /www'
    volumes:
      - db-data:/data
    deploy:
      <<: *limits

volumes:
  db-data:
"#
    )
}

#[test]
fn a_compose_file_imports_applies_answers_and_exports() {
    let mut edge = Edge::new();
    let project = edge.world.project("shop");
    let host = format!("{project}.{}", edge.domain);
    edge.world.write("platform.berth", &edge.platform_block());
    let compose_dir = edge.world.dir.join("compose");
    std::fs::create_dir_all(&compose_dir).unwrap();
    let file = compose_dir.join("compose.yaml");
    std::fs::write(&file, compose(&host)).unwrap();
    let file = file.to_str().unwrap();

    // A directory with the compose file and no .berth files says what to do.
    let out = edge
        .world
        .berth(&["validate", compose_dir.to_str().unwrap()]);
    expect_code(&out, 1);
    assert!(
        text(&out).contains("E0402") && text(&out).contains("berth import compose"),
        "{}",
        text(&out)
    );

    let out = edge.world.berth(&[
        "import",
        "compose",
        file,
        "--project",
        &project,
        "--out",
        edge.world.dir_str(),
    ]);
    expect_code(&out, 0);
    let written = std::fs::read_to_string(edge.world.dir.join(format!("{project}.berth"))).unwrap();
    assert!(written.contains(&format!("host = \"{host}\"")), "{written}");
    assert!(written.contains("depends_on = [db]"), "{written}");
    assert!(written.contains("\"${var.shop_name}.web\""), "{written}");

    // Importing again would overwrite the project: refused, nothing changed.
    let again = edge.world.berth(&[
        "import",
        "compose",
        file,
        "--project",
        &project,
        "--out",
        edge.world.dir_str(),
    ]);
    expect_code(&again, 1);
    assert!(text(&again).contains("E0403"), "{}", text(&again));

    let applied = edge.apply(&project, "production", &[]);
    expect_code(&applied, 0);
    let body = get_ok(&host, "/");
    assert!(body.contains("project=imported.web"), "{body}");

    let plan = edge.berth(&["plan", "--detailed-exitcode", "--project", &project]);
    expect_code(&plan, 0);
    assert!(stdout(&plan).contains("No changes"), "{}", text(&plan));

    let stack_file = edge.world.dir.join("stack.yml");
    let out = edge.world.berth(&[
        "export",
        "compose",
        edge.world.dir_str(),
        "-p",
        &project,
        "-e",
        "production",
        "--out",
        stack_file.to_str().unwrap(),
    ]);
    expect_code(&out, 0);
    let exported = std::fs::read_to_string(&stack_file).unwrap();
    assert!(exported.contains("image: berth/demo:1"), "{exported}");
    let config = docker(&["stack", "config", "-c", stack_file.to_str().unwrap()]);
    assert!(
        config.status.success(),
        "docker stack config refused the export:\n{}\n{exported}",
        text(&config)
    );
    let normalised = String::from_utf8_lossy(&config.stdout);
    assert!(
        normalised.contains("replicas: 2") && normalised.contains("db-data"),
        "{normalised}"
    );
}

/// What the grant refuses is refused at import, and nothing is written (E0510); an export of an
/// environment the configuration does not deploy is a usage error (E0400, exit 64).
#[test]
fn import_refuses_what_the_grant_refuses_and_export_what_is_not_deployed() {
    let mut world = crate::harness::World::new();
    let project = world.project("tools");
    world.write(
        "platform.berth",
        "platform {\n  domain = \"example.com\"\n}\n",
    );
    world.write(
        "compose/compose.yaml",
        "services:\n  agent:\n    image: berth/demo:1\n    cap_add: [SYS_ADMIN]\n",
    );
    let file = world.dir.join("compose/compose.yaml");
    let out = world.berth(&[
        "import",
        "compose",
        file.to_str().unwrap(),
        "--project",
        &project,
        "--out",
        world.dir_str(),
    ]);
    expect_code(&out, 1);
    let all = text(&out);
    assert!(
        all.contains("E0510") && all.contains("E0178") && all.contains("SYS_ADMIN"),
        "{all}"
    );
    assert!(
        !world.dir.join(format!("{project}.berth")).exists(),
        "a refused import wrote nothing"
    );

    // Without the capability it imports; an environment it does not deploy cannot be exported.
    world.write(
        "compose/compose.yaml",
        "services:\n  agent:\n    image: berth/demo:1\n",
    );
    let out = world.berth(&[
        "import",
        "compose",
        file.to_str().unwrap(),
        "--project",
        &project,
        "--out",
        world.dir_str(),
    ]);
    expect_code(&out, 0);
    let out = world.berth(&[
        "export",
        "compose",
        world.dir_str(),
        "-p",
        &project,
        "-e",
        "staging",
    ]);
    expect_code(&out, 64);
    assert!(text(&out).contains("E0400"), "{}", text(&out));
    let out = world.berth(&["export", "compose", world.dir_str(), "-p", &project]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("image: berth/demo:1"),
        "{}",
        text(&out)
    );

    // Importing over the project is refused (E0403); the hint, another `--out` or `--project`,
    // works when followed.
    let import = |project: &str, out: &str| {
        world.berth(&[
            "import",
            "compose",
            file.to_str().unwrap(),
            "--project",
            project,
            "--out",
            out,
        ])
    };
    let again = import(&project, world.dir_str());
    expect_code(&again, 1);
    assert!(
        text(&again).contains("E0403")
            && flat(&text(&again)).contains("another `--out` or `--project`"),
        "{}",
        text(&again)
    );
    let other = world.dir.join("other");
    expect_code(&import(&project, other.to_str().unwrap()), 0);
    assert!(other.join(format!("{project}.berth")).exists());
    let renamed = format!("{project}-two");
    expect_code(&import(&renamed, world.dir_str()), 0);
    expect_code(&world.berth(&["validate", world.dir_str()]), 0);
}

/// Compose files where berth files belong get hints that work when followed as printed: a
/// directory with only a compose file (E0402) and a compose file pasted into a .berth file
/// (E0012) are translated with `berth import compose`, and the imported configuration passes
/// `berth validate`, as the import's closing line says. Nothing reaches the engine.
#[test]
fn compose_files_where_berth_files_belong_are_imported_as_the_hints_say() {
    let world = crate::harness::World::new();
    let compose = "services:\n  agent:\n    image: berth/demo:1\n";
    world.write("only/compose.yaml", compose);
    let only = world.dir.join("only");
    let only = only.to_str().unwrap();
    let file = format!("{only}/compose.yaml");
    // miette wraps long lines, also inside a path.
    let unwrapped = |out: &std::process::Output| -> String {
        text(out).chars().filter(|c| !c.is_whitespace()).collect()
    };

    let out = world.berth(&["validate", only]);
    expect_code(&out, 1);
    let hint = format!("berth import compose {file} --out {only}");
    assert!(
        text(&out).contains("E0402") && unwrapped(&out).contains(&hint.replace(' ', "")),
        "{}",
        text(&out)
    );
    // The hint as printed: import compose FILE --out DIR, then validate as the import says.
    let out = world.berth(&["import", "compose", &file, "--out", only]);
    expect_code(&out, 0);
    let next = format!("berth validate {only}");
    assert!(
        unwrapped(&out).contains(&next.replace(' ', "")),
        "{}",
        text(&out)
    );
    expect_code(&world.berth(&["validate", only]), 0);

    // The same compose file pasted into a .berth file.
    world.write("pasted/main.berth", compose);
    let pasted = world.dir.join("pasted");
    let out = world.berth(&["validate", pasted.to_str().unwrap()]);
    expect_code(&out, 1);
    let said = flat(&text(&out));
    assert!(
        said.contains("E0012")
            && said.contains("`berth import compose FILE --out DIR`")
            && said.contains("only through `berth import compose`"),
        "{}",
        text(&out)
    );
    let translated = world.dir.join("translated");
    let translated = translated.to_str().unwrap();
    let main = pasted.join("main.berth");
    let out = world.berth(&[
        "import",
        "compose",
        main.to_str().unwrap(),
        "--out",
        translated,
    ]);
    expect_code(&out, 0);
    expect_code(&world.berth(&["validate", translated]), 0);
    assert!(
        std::fs::read_to_string(world.dir.join("translated/pasted.berth"))
            .unwrap()
            .contains("service agent"),
        "the project is named after the pasted file's directory"
    );
}
