//! The tenant boundary against what runs (the planner's check), through the real binary: a
//! project in another team's directory whose name imitates a service host of a project that runs
//! is refused by `berth plan --project` (also from the recorded state alone), by `berth apply
//! --project`, and by `berth apply` of a plan saved before the other project ran, and none of
//! these creates anything.

use crate::harness::{docker, expect_code, flat, text, World};

/// One unrouted service, so the proxy is not involved.
fn project(name: &str) -> String {
    format!(
        r#"project {name} {{
  service web {{
    image = "berth/demo:1"

    resources {{
      limits {{
        cpu    = 0.1
        memory = 16M
      }}
    }}
  }}
}}
"#
    )
}

/// How many objects of any kind carry the project's label.
fn objects_of(project: &str) -> usize {
    let filter = format!("label=berth.project={project}");
    ["service", "network", "secret", "config", "volume"]
        .iter()
        .map(|kind| {
            let out = docker(&[kind, "ls", "-q", "--filter", &filter]);
            String::from_utf8_lossy(&out.stdout).lines().count()
        })
        .sum()
}

#[test]
fn a_project_imitating_a_running_one_is_refused_before_anything_changes() {
    let mut w = World::new();
    let owner = w.project("own");
    // `api-<owner>`: the derived host of a service `api` of the running project. (A name like
    // `<owner>-staging` is refused by the language alone, E0170, whatever runs.)
    let squatter = format!("api-{owner}");
    w.projects.push(squatter.clone());
    // Two teams' directories: the squatter's configuration does not hold the running project.
    w.write("owner/main.berth", &project(&owner));
    w.write("squatter/main.berth", &project(&squatter));
    let owner_dir = w.dir.join("owner");
    let squatter_dir = w.dir.join("squatter");
    let (owner_dir, squatter_dir) = (owner_dir.to_str().unwrap(), squatter_dir.to_str().unwrap());

    // Planned and saved while nothing of the other project runs: nothing to refuse yet.
    let saved = w.dir.join("squatter.plan");
    let saved = saved.to_str().unwrap();
    expect_code(
        &w.berth(&["plan", "--project", &squatter, "--out", saved, squatter_dir]),
        0,
    );

    let applied = w.berth(&["apply", "--auto-approve", "--project", &owner, owner_dir]);
    expect_code(&applied, 0);

    let refused = |out: &std::process::Output| {
        expect_code(out, 1);
        let stderr = flat(&String::from_utf8_lossy(&out.stderr));
        assert!(
            stderr.contains("E0208")
                && stderr.contains(&format!(
                    "looks like service `api` of the running project `{owner}`"
                )),
            "{}",
            text(out)
        );
    };
    refused(&w.berth(&["plan", "--project", &squatter, squatter_dir]));
    // CI without the cluster plans against every recorded state: refused too.
    refused(&w.berth(&[
        "plan",
        "--refresh=false",
        "--project",
        &squatter,
        squatter_dir,
    ]));
    refused(&w.berth(&[
        "apply",
        "--auto-approve",
        "--project",
        &squatter,
        squatter_dir,
    ]));
    // The plan saved earlier is fresh (nothing of its scope changed), but the boundary is held
    // again against what runs now.
    refused(&w.berth(&[
        "apply",
        "--auto-approve",
        "--config-dir",
        squatter_dir,
        saved,
    ]));
    assert_eq!(objects_of(&squatter), 0, "a refused apply created objects");
    assert!(objects_of(&owner) > 0);
}
