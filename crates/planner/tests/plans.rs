//! Snapshot tests of rendered plans, one per phase of a project's life, each planned against
//! observed state captured from the real Docker Engine (`tests/fixtures/observed/<scenario>/`).
//! Every fixture directory and every snapshot file must be used by a case here: a test fails
//! otherwise, so no fixture or snapshot goes stale unnoticed.

mod support;

use berth_lang::model::{Deployment, EnvValue, Environment, MountSource};
use berth_planner::render::{self, RenderOptions};
use berth_planner::{compile, plan, DeploymentId, Observed, Plan, PlanErrors, PlanOptions, Scope};
use std::collections::BTreeSet;
use std::path::Path;
use support::*;

fn run(
    deployments: &[Deployment],
    observed: &Observed,
    options: &PlanOptions,
) -> Result<Plan, PlanErrors> {
    run_gen(deployments, observed, options, 1)
}

fn run_gen(
    deployments: &[Deployment],
    observed: &Observed,
    options: &PlanOptions,
    generation: u32,
) -> Result<Plan, PlanErrors> {
    let desired = compile(deployments, &platform(), &digests(deployments, generation))?;
    plan(&desired, observed, options)
}

fn human(p: &Plan) -> String {
    render::human(p, &RenderOptions::default())
}

fn shop_prod() -> Deployment {
    shop(Environment::Production, None)
}

fn web(d: &mut Deployment) -> &mut berth_lang::model::Service {
    d.services.iter_mut().find(|s| s.name == "web").unwrap()
}

/// The snapshots every case below writes, by case name and format; `every_snapshot_is_used`
/// checks the snapshot directory against it.
const SNAPSHOTS: &[(&str, &[&str])] = &[
    ("from_nothing", &["human", "markdown", "json"]),
    ("no_change", &["human", "markdown", "json"]),
    ("scaling", &["human"]),
    ("image_change", &["human", "json"]),
    ("env_change", &["human"]),
    ("drift", &["human"]),
    ("network_option_change", &["human", "json"]),
    ("secret_rotation", &["human", "markdown", "json"]),
    ("config_change", &["human"]),
    ("volume_removal_refused", &["errors"]),
    ("volume_removal_allowed", &["human"]),
    ("quota_violation", &["errors"]),
    ("capacity_violation", &["errors"]),
    ("orphan_deletion", &["human"]),
    ("route_collision", &["errors"]),
    ("tenant_boundary", &["errors"]),
    ("preview_creation", &["human", "markdown"]),
    ("preview_removal", &["human", "json"]),
    ("colour", &["human"]),
    ("units", &["human", "markdown"]),
];

/// The fixture directories the cases use.
const FIXTURES: &[&str] = &["empty", "shop", "drift", "preview", "tenants"];

fn snap(case: &str, format: &str, text: &str) {
    assert!(
        SNAPSHOTS
            .iter()
            .any(|(c, f)| *c == case && f.contains(&format)),
        "snapshot {case}@{format} is not listed in SNAPSHOTS"
    );
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(format!("{case}@{format}"), text);
    });
}

fn all_formats(case: &str, p: &Plan) {
    for (c, formats) in SNAPSHOTS {
        if *c != case {
            continue;
        }
        for f in *formats {
            let text = match *f {
                "human" => human(p),
                "markdown" => render::markdown(p, &RenderOptions::default()),
                "json" => render::json(p, &RenderOptions::default()),
                other => panic!("no renderer {other}"),
            };
            snap(case, f, &text);
        }
    }
}

fn errors(case: &str, e: &PlanErrors) {
    snap(case, "errors", &format!("{e}\n"));
}

#[test]
fn from_nothing() {
    let p = run(&[shop_prod()], &observed("empty"), &PlanOptions::default()).unwrap();
    let s = p.summary();
    assert_eq!((s.change, s.destroy), (0, 0));
    assert!(s.add > 0);
    all_formats("from_nothing", &p);
}

#[test]
fn no_change() {
    let p = run(&[shop_prod()], &observed("shop"), &PlanOptions::default()).unwrap();
    assert!(p.is_empty(), "{}", human(&p));
    let text = human(&p);
    assert!(text.starts_with("No changes. Your infrastructure matches the configuration."));
    all_formats("no_change", &p);
}

#[test]
fn scaling() {
    let mut d = shop_prod();
    web(&mut d).mode = berth_lang::model::ServiceMode::Replicated { replicas: 4 };
    let p = run(&[d], &observed("shop"), &PlanOptions::default()).unwrap();
    let changed: Vec<_> = p.actionable().collect();
    assert_eq!(changed.len(), 1);
    assert!(!changed[0].restarts_tasks, "scaling keeps running tasks");
    all_formats("scaling", &p);
}

#[test]
fn image_change() {
    let mut d = shop_prod();
    web(&mut d).image = "berth/demo:2".into();
    let p = run(&[d], &observed("shop"), &PlanOptions::default()).unwrap();
    let changed: Vec<_> = p.actionable().collect();
    assert_eq!(changed.len(), 1);
    assert!(changed[0].restarts_tasks);
    all_formats("image_change", &p);
}

#[test]
fn env_change() {
    let mut d = shop_prod();
    web(&mut d)
        .env
        .insert("GREETING".into(), EnvValue::Plain("bonjour".into()));
    web(&mut d).env.insert(
        "FEATURE_FLAGS".into(),
        EnvValue::Plain("checkout-v2".into()),
    );
    let p = run(&[d], &observed("shop"), &PlanOptions::default()).unwrap();
    assert_eq!(p.summary().change, 1);
    all_formats("env_change", &p);
}

#[test]
fn drift() {
    // Someone ran `docker service update --replicas 3` on web and `--env-add DEBUG=1` on api:
    // the plan puts both back.
    let p = run(&[shop_prod()], &observed("drift"), &PlanOptions::default()).unwrap();
    assert_eq!(p.summary().change, 2, "{}", human(&p));
    all_formats("drift", &p);
}

#[test]
fn network_option_change() {
    let mut d = shop_prod();
    d.networks[0].encrypted = true;
    let p = run(&[d], &observed("shop"), &PlanOptions::default()).unwrap();
    let net = p
        .actionable()
        .find(|c| c.address.kind == berth_planner::Kind::Network)
        .unwrap();
    assert_eq!(net.action, berth_planner::Action::Replace);
    assert_eq!(
        net.replace_paths,
        vec![vec!["Options".to_string(), "encrypted".to_string()]]
    );
    all_formats("network_option_change", &p);
}

#[test]
fn secret_rotation() {
    let d = shop_prod();
    let p = run_gen(&[d], &observed("shop"), &PlanOptions::default(), 2).unwrap();
    let secret = p
        .actionable()
        .find(|c| c.address.kind == berth_planner::Kind::Secret)
        .unwrap();
    assert!(secret.create_before_destroy);
    let text = human(&p);
    assert!(text.contains("(sensitive value)"));
    assert!(
        !text.contains("not-a-real-password"),
        "a secret value leaked"
    );
    all_formats("secret_rotation", &p);
}

/// The planned secret's old and new digests, and the plan in every format.
fn rotated() -> (Vec<String>, Vec<(&'static str, String)>) {
    let d = [shop_prod()];
    let p = run_gen(&d, &observed("shop"), &PlanOptions::default(), 2).unwrap();
    let digests: Vec<String> = [1, 2]
        .into_iter()
        .flat_map(|generation| digests(&d, generation).into_values())
        .collect();
    let options = RenderOptions::default();
    let texts = vec![
        ("human", human(&p)),
        (
            "human in colour",
            render::human(
                &p,
                &RenderOptions {
                    color: true,
                    ..RenderOptions::default()
                },
            ),
        ),
        ("markdown", render::markdown(&p, &options)),
        ("json", render::json(&p, &options)),
    ];
    (digests, texts)
}

#[test]
fn rendered_plans_show_no_secret_digest() {
    // A digest, or the 10 hex digits of one in a content name, lets a reader test guesses of
    // a short value. Every plan format shows only that the value changes.
    let (digests, texts) = rotated();
    assert_eq!(digests.len(), 2);
    assert_ne!(digests[0], digests[1]);
    for (format, text) in &texts {
        for digest in &digests {
            // Every 10 hex digits of the digest, not only its first: no part of it shows.
            for start in 0..=digest.len() - 10 {
                let part = &digest[start..start + 10];
                assert!(
                    !text.contains(part),
                    "the {format} plan shows `{part}` of the digest {digest}:\n{text}"
                );
            }
        }
        assert!(
            text.contains("berthfx-shop_db_password_…"),
            "the {format} plan does not name the secret:\n{text}"
        );
    }
    let text = |format: &str| &texts.iter().find(|(f, _)| *f == format).unwrap().1;
    // ... but each says that the value changes.
    for format in ["human", "markdown"] {
        let t = text(format);
        assert!(t.contains("# berthfx-shop/production/secret.db_password must be replaced"));
        assert!(t.contains("~ Data = (sensitive value) # forces replacement"));
        // The digest label repeats what `Data` and `Name` say, and is left out.
        assert!(!t.contains("berth.digest"), "{t}");
        assert!(t.contains("~ Name = \"berthfx-shop_db_password_…\" # forces replacement"));
    }
    assert!(text("markdown").contains("<code>+/- secret.db_password</code> replace"));
    let json: serde_json::Value = serde_json::from_str(text("json")).unwrap();
    let secret = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "berthfx-shop/production/secret.db_password")
        .unwrap();
    assert_eq!(
        secret["change"]["actions"],
        serde_json::json!(["create", "delete"])
    );
    assert_eq!(secret["action_reason"], "replace_because_content_changed");
    assert_eq!(secret["name"], "berthfx-shop_db_password_…");
    assert_eq!(
        secret["change"]["after"]["Labels"]["berth.digest"],
        "(sensitive value)"
    );
    // Configs are not secret: their names keep the digest.
    assert!(text("json").contains(&format!(
        "berthfx-shop_app_{}",
        &berth_planner::units::sha256_hex(b"listen = 8080\ngreeting = hello\nlog_level = info\n")
            [..10]
    )));
    // The same plan renders the same text every time.
    let (_, again) = rotated();
    assert_eq!(texts, again);
}

#[test]
fn config_change() {
    let mut d = shop_prod();
    d.configs[0].source = berth_lang::model::ConfigSource::Content(
        "listen = 8080\ngreeting = bonjour\nlog_level = info\n".into(),
    );
    let p = run(&[d], &observed("shop"), &PlanOptions::default()).unwrap();
    all_formats("config_change", &p);
}

fn without_volume() -> Deployment {
    let mut d = shop_prod();
    d.volumes.clear();
    let db = d.services.iter_mut().find(|s| s.name == "db").unwrap();
    db.mounts
        .retain(|m| !matches!(m.source, MountSource::Volume(_)));
    d
}

#[test]
fn volume_removal_refused() {
    let e = run(
        &[without_volume()],
        &observed("shop"),
        &PlanOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e.0[0], berth_planner::PlanError::DataLoss { .. }));
    errors("volume_removal_refused", &e);
}

#[test]
fn volume_removal_allowed() {
    let options = PlanOptions {
        allow_data_loss: true,
        ..Default::default()
    };
    let p = run(&[without_volume()], &observed("shop"), &options).unwrap();
    assert!(p.changes.iter().any(|c| c.data_loss));
    all_formats("volume_removal_allowed", &p);
}

#[test]
fn quota_violation() {
    let mut d = shop_prod();
    web(&mut d).mode = berth_lang::model::ServiceMode::Replicated { replicas: 12 };
    let e = run(&[d], &observed("shop"), &PlanOptions::default()).unwrap_err();
    errors("quota_violation", &e);
}

#[test]
fn capacity_violation() {
    let mut d = shop_prod();
    d.quota = Default::default();
    let db = d.services.iter_mut().find(|s| s.name == "db").unwrap();
    db.resources.reservations.memory_bytes = Some(64 << 30);
    web(&mut d).mode = berth_lang::model::ServiceMode::Replicated { replicas: 8 };
    web(&mut d).resources.reservations.nano_cpus = Some(300_000_000);
    let e = run(&[d], &observed("shop"), &PlanOptions::default()).unwrap_err();
    errors("capacity_violation", &e);
}

#[test]
fn orphan_deletion() {
    let mut d = shop_prod();
    d.services.retain(|s| s.name != "api");
    web(&mut d).depends_on.clear();
    let p = run(&[d], &observed("shop"), &PlanOptions::default()).unwrap();
    assert_eq!(p.summary().destroy, 1);
    all_formats("orphan_deletion", &p);
}

/// A drift check's restore plan deletes what the recorded state lacks; it says so instead of
/// blaming the configuration, which it was not made from (issue 14).
#[test]
fn a_restore_plan_says_a_delete_is_missing_from_the_recorded_state() {
    let mut d = shop_prod();
    d.services.retain(|s| s.name != "api");
    web(&mut d).depends_on.clear();
    let p = run(&[d], &observed("shop"), &PlanOptions::default()).unwrap();
    let restore = render::human(
        &p,
        &RenderOptions {
            restore: true,
            ..RenderOptions::default()
        },
    );
    assert!(
        restore.contains("service.api is not in the recorded state)"),
        "{restore}"
    );
    assert!(!restore.contains("not in configuration"), "{restore}");
    assert!(human(&p).contains("service.api is not in configuration)"));
}

#[test]
fn route_collision() {
    // Within the deployments given (blog routes the shop's host), and against a running
    // service outside the scope (planning blog alone).
    let mut b = blog();
    b.services[0].routes[0].host = "berthfx-shop.example.test".into();
    b.services[0].routes[0].tls = true;
    let both = run(
        &[shop_prod(), b.clone()],
        &observed("shop"),
        &PlanOptions::default(),
    )
    .unwrap_err();
    let scope = Scope::deployments([DeploymentId::new(
        "berthfx-blog",
        Environment::Production,
        None,
    )]);
    let alone = run(
        &[b],
        &observed("shop"),
        &PlanOptions {
            scope,
            ..Default::default()
        },
    )
    .unwrap_err();
    // Another environment of the same project, running outside the scope, with the same host
    // and path: a route collision (another project's host would be E0206, tested with the
    // tenant boundary).
    let mut d = shop_prod();
    web(&mut d).routes[0].host = "berthfx-shop-pr-7.example.test".into();
    let production = Scope::deployments([DeploymentId::new(
        "berthfx-shop",
        Environment::Production,
        None,
    )]);
    let same_project = run(
        &[d],
        &observed("preview"),
        &PlanOptions {
            scope: production,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(same_project
        .0
        .iter()
        .all(|e| matches!(e, berth_planner::PlanError::RouteTaken { .. })));
    let text = format!(
        "# within the configuration\n{both}\n\n# against the cluster\n{alone}\n\n# against another environment of the project\n{same_project}"
    );
    snap("route_collision", "errors", &format!("{text}\n"));
}

#[test]
fn tenant_boundary() {
    // Planned alone, as `--project` does, next to the running berthfx-shop and berthfx-blog
    // (and berthfx-shop's preview): each squat of another project is refused, with its code.
    // `tests/boundary.rs` covers each rule and what is not refused.
    let alone = |d: Deployment, scenario: &str| {
        let scope = Scope::deployments([DeploymentId::new(&d.project, d.environment, d.pr)]);
        run(
            &[d],
            &observed(scenario),
            &PlanOptions {
                scope,
                ..Default::default()
            },
        )
        .unwrap_err()
    };
    let renamed = |project: &str| {
        let mut d = blog();
        d.project = project.into();
        d.stack = project.into();
        d.services[0].routes[0].host = format!("{project}.example.test");
        d
    };
    let mut b = blog();
    let mut r = b.services[0].routes[0].clone();
    r.host = "api-berthfx-shop.example.test".into();
    b.services[0].routes.push(r);
    let cases = [
        (
            "a stack of berthfx-shop",
            alone(renamed("berthfx-shop-pr-7"), "preview"),
        ),
        (
            "a host of berthfx-shop, on another path",
            alone(b, "tenants"),
        ),
        (
            "berthfx-shop's staging",
            alone(renamed("berthfx-shop-staging"), "tenants"),
        ),
        (
            "a service host of berthfx-blog",
            alone(renamed("admin-berthfx-blog"), "tenants"),
        ),
    ];
    let mut text = String::new();
    for (what, e) in cases {
        text.push_str(&format!("# {what}\n"));
        for err in &e.0 {
            text.push_str(&format!("{}: {err}\n", err.code()));
        }
        text.push('\n');
    }
    snap("tenant_boundary", "errors", &text);
}

fn preview() -> Deployment {
    shop(Environment::Preview, Some(7))
}

#[test]
fn preview_creation() {
    let scope = Scope::deployments([DeploymentId::new(
        "berthfx-shop",
        Environment::Preview,
        Some(7),
    )]);
    let p = run(
        &[shop_prod(), preview()],
        &observed("shop"),
        &PlanOptions {
            scope,
            ..Default::default()
        },
    )
    .unwrap();
    // Nothing of production or of the platform changes: the preview claims a free edge slot.
    for c in p.actionable() {
        assert!(c.address.deployment.env != "production", "{}", c.address);
    }
    assert!(p
        .changes
        .iter()
        .all(|c| !c.address.deployment.is_platform()));
    all_formats("preview_creation", &p);
}

#[test]
fn preview_removal() {
    let scope = Scope::deployments([DeploymentId::new(
        "berthfx-shop",
        Environment::Preview,
        Some(7),
    )]);
    let options = PlanOptions {
        scope,
        allow_data_loss: true,
        ..Default::default()
    };
    let p = run(&[shop_prod()], &observed("preview"), &options).unwrap();
    for c in p.actionable() {
        assert!(c.address.deployment.env != "production", "{}", c.address);
    }
    assert!(p
        .actionable()
        .filter(|c| c.address.deployment.env == "preview-7")
        .all(|c| c.action == berth_planner::Action::Delete));
    all_formats("preview_removal", &p);
}

#[test]
fn colour() {
    let mut d = shop_prod();
    web(&mut d).image = "berth/demo:2".into();
    let p = run(&[d], &observed("shop"), &PlanOptions::default()).unwrap();
    let text = render::human(
        &p,
        &RenderOptions {
            color: true,
            ..RenderOptions::default()
        },
    );
    assert!(text.contains("\x1b[33m~\x1b[0m"));
    snap("colour", "human", &text);
}

/// Sizes, durations and cpu read as the language writes them in the human and markdown plans,
/// a changed value is a removed and an added line in markdown's `diff` block, and the JSON
/// plan keeps Docker's exact numbers.
#[test]
fn units() {
    let mut d = shop_prod();
    let w = web(&mut d);
    w.resources.limits.memory_bytes = Some(192 << 20);
    w.resources.limits.nano_cpus = Some(250_000_000);
    if let Some(h) = w.health.as_mut() {
        h.interval_ns = 2_000_000_000;
    }
    let p = run(&[d], &observed("shop"), &PlanOptions::default()).unwrap();
    let text = human(&p);
    assert!(text.contains("MemoryBytes = 128MiB -> 192MiB"), "{text}");
    assert!(text.contains("NanoCPUs    = 0.5 -> 0.25"), "{text}");
    assert!(text.contains("Interval = 5s -> 2s"), "{text}");
    for raw in ["201326592", "250000000", "2000000000"] {
        assert!(!text.contains(raw), "{raw} in {text}");
    }
    let md = render::markdown(&p, &RenderOptions::default());
    assert!(
        md.contains("\n-") && md.contains("MemoryBytes = 128MiB\n+"),
        "{md}"
    );
    assert!(!md.contains("->"), "{md}");
    let json = render::json_value(&p);
    let web = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "berthfx-shop/production/service.web")
        .unwrap();
    let limits = &web["change"]["after"]["TaskTemplate"]["Resources"]["Limits"];
    assert_eq!(limits["MemoryBytes"], 201_326_592u64);
    assert_eq!(limits["NanoCPUs"], 250_000_000u64);
    // ... and gives the formatted form beside them, by JSON pointer.
    let shown = &web["change"]["after_units"];
    assert_eq!(
        shown["/TaskTemplate/Resources/Limits/MemoryBytes"],
        "192MiB"
    );
    assert_eq!(shown["/TaskTemplate/Resources/Limits/NanoCPUs"], "0.25");
    assert_eq!(
        shown["/TaskTemplate/ContainerSpec/Healthcheck/Interval"],
        "2s"
    );
    assert_eq!(
        web["change"]["before_units"]["/TaskTemplate/Resources/Limits/MemoryBytes"],
        "128MiB"
    );
    all_formats("units", &p);
}

/// A two-service environment's first plan is short enough to read: what berth derives (its own
/// labels, a volume's labels in each mount, the routes' Traefik labels but rule and port) is
/// left out of the human plan and kept in the JSON plan.
#[test]
fn a_first_plan_is_short_and_leaves_out_what_berth_derives() {
    let mut d = shop_prod();
    d.services.retain(|s| s.name != "api");
    assert_eq!(d.services.len(), 2);
    let p = run(&[d], &observed("empty"), &PlanOptions::default()).unwrap();
    let text = human(&p);
    // The project environment's part (the platform's first apply comes with it here).
    let own: Vec<&str> = text
        .split("\n\n")
        .filter(|block| block.trim_start().starts_with("# berthfx-shop/production/"))
        .collect();
    assert_eq!(own.len(), 8, "{text}");
    let lines: usize = own.iter().map(|b| b.lines().count()).sum();
    assert!(lines <= 150, "{lines} lines:\n{}", own.join("\n\n"));
    for derived in [
        "berth.address",
        "berth.managed",
        "com.docker.stack.namespace",
        "VolumeOptions",
        "traefik.enable",
        "berth.digest",
    ] {
        assert!(
            !own.iter().any(|b| b.contains(derived)),
            "{derived} in\n{text}"
        );
    }
    assert!(text.contains(".rule"), "{text}");
    let json = render::json(&p, &RenderOptions::default());
    for derived in ["berth.address", "VolumeOptions", "traefik.enable"] {
        assert!(
            json.contains(derived),
            "{derived} missing from the JSON plan"
        );
    }
}

#[test]
fn every_fixture_is_used() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let used: BTreeSet<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        on_disk, used,
        "fixture directories and the cases' FIXTURES differ"
    );
    let captured: BTreeSet<String> = SCENARIOS.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        captured, used,
        "the capture's SCENARIOS and the cases' FIXTURES differ"
    );
    for dir in FIXTURES {
        for file in [
            "services", "networks", "volumes", "secrets", "configs", "nodes", "tasks",
        ] {
            assert!(
                fixtures().join(dir).join(format!("{file}.json")).exists(),
                "{dir}/{file}.json is missing"
            );
        }
        let extra: Vec<_> = std::fs::read_dir(fixtures().join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| {
                ![
                    "services", "networks", "volumes", "secrets", "configs", "nodes", "tasks",
                ]
                .iter()
                .any(|n| *f == format!("{n}.json"))
            })
            .collect();
        assert!(extra.is_empty(), "unused fixture files in {dir}: {extra:?}");
    }
}

#[test]
fn every_snapshot_is_used() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
            continue;
        }
        let stem = name
            .strip_suffix(".snap")
            .unwrap_or_else(|| panic!("unexpected file {name} in tests/snapshots"));
        let (case, format) = stem
            .split_once('@')
            .unwrap_or_else(|| panic!("unexpected snapshot {name}"));
        assert!(
            SNAPSHOTS
                .iter()
                .any(|(c, f)| *c == case && f.contains(&format)),
            "snapshot {name} is used by no case: remove it"
        );
    }
}

#[test]
fn json_plans_match_the_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/plan.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is valid");
    let mut rotated = shop_prod();
    rotated.networks[0].encrypted = true;
    let plans = [
        run(&[shop_prod()], &observed("empty"), &PlanOptions::default()).unwrap(),
        run(&[shop_prod()], &observed("shop"), &PlanOptions::default()).unwrap(),
        run_gen(&[rotated], &observed("drift"), &PlanOptions::default(), 2).unwrap(),
        run(
            &[shop_prod()],
            &observed("preview"),
            &PlanOptions {
                allow_data_loss: true,
                scope: Scope::deployments([DeploymentId::new(
                    "berthfx-shop",
                    Environment::Preview,
                    Some(7),
                )]),
                ..Default::default()
            },
        )
        .unwrap(),
    ];
    for p in &plans {
        let value: serde_json::Value =
            serde_json::from_str(&render::json(p, &RenderOptions::default())).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // The schema rejects what it should: an unknown action, and a secret's name with its
    // digest part.
    let mut bad: serde_json::Value =
        serde_json::from_str(&render::json(&plans[0], &RenderOptions::default())).unwrap();
    bad["resource_changes"][0]["change"]["actions"] = serde_json::json!(["explode"]);
    assert!(!validator.is_valid(&bad));
    let mut bad: serde_json::Value =
        serde_json::from_str(&render::json(&plans[0], &RenderOptions::default())).unwrap();
    let secret = bad["resource_changes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["type"] == "secret")
        .unwrap();
    assert!(secret["name"].as_str().unwrap().ends_with("_…"));
    secret["name"] = serde_json::json!("berthfx-shop_db_password_149df9ba22");
    assert!(!validator.is_valid(&bad));
}
