//! The adversarial corpus of the tenant boundary (docs/SECURITY.md).
//!
//! `tests/fixtures/boundary/base/` holds a platform and a victim tenant, `shop`. Each file of
//! `tests/fixtures/boundary/cases/` is the file of an attacking tenant (`evil.berth`, or the
//! name its `# file:` line gives) that tries to reach, read, hijack or starve the victim, the
//! proxy, the host or the CI machine. Its header says what it tries (`# class:` and the first
//! line) and which codes refuse it (`# expect:`); lines ending in `# attack` are the attack.
//!
//! For every case:
//! - the configuration with the attack is refused with exactly the expected error codes, and
//!   every error points into the attacker's file;
//! - the control, the same configuration without the `# attack` lines, is valid;
//! - where the platform may allow what the attack does (`# granted:` gives the grant's lines,
//!   `|` for a new line), the attack is valid once granted;
//! - the human rendering is an insta snapshot in `tests/fixtures/boundary/snapshots/`, and
//!   no snapshot is left without its case.

use berth_lang::render::{self, Style};
use berth_lang::{analyze, Analysis, Code, Input, Options};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const STYLE: Style = Style {
    color: false,
    width: 100,
};
const CLASSES: [&str; 9] = [
    "hijack",
    "escape",
    "ci-secrets",
    "variables",
    "starve",
    "hosts",
    "names",
    "ports",
    "files",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/boundary")
}

struct Case {
    name: String,
    class: String,
    description: String,
    expect: BTreeSet<Code>,
    granted: Option<String>,
    file: String,
    text: String,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("cases"))
        .expect("the cases directory")
        .map(|e| e.expect("an entry").path())
        .collect();
    paths.sort();
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            path.extension().and_then(|e| e.to_str()),
            Some("berth"),
            "{name}: the cases directory holds .berth files only"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
        let directive = |key: &str| {
            header
                .iter()
                .find_map(|l| l.strip_prefix(&format!("# {key}:")))
                .map(|v| v.trim().to_string())
        };
        let expect = directive("expect")
            .unwrap_or_else(|| panic!("{name}: no `# expect:` line"))
            .split(',')
            .map(|c| Code::parse(c).unwrap_or_else(|| panic!("{name}: unknown code {c}")))
            .collect();
        out.push(Case {
            class: directive("class").unwrap_or_else(|| panic!("{name}: no `# class:` line")),
            description: header[0].trim_start_matches('#').trim().to_string(),
            expect,
            granted: directive("granted").map(|g| g.replace(" | ", "\n")),
            file: directive("file").unwrap_or_else(|| "evil.berth".into()),
            name,
            text,
        });
    }
    out
}

fn base(grant: Option<&str>) -> Vec<Input> {
    let dir = root().join("base");
    ["platform.berth", "shop.berth"]
        .into_iter()
        .map(|f| {
            let mut text = std::fs::read_to_string(dir.join(f)).unwrap();
            if let Some(g) = grant {
                text = text.replace("    # GRANT\n", &format!("{g}\n"));
            }
            Input {
                name: f.to_string(),
                bytes: text.into_bytes(),
            }
        })
        .collect()
}

/// The configuration of a case: with or without its attack, with or without its grant.
fn check(case: &Case, attack: bool, granted: bool) -> Analysis {
    // The control drops the attack's lines and takes the lines written `#! ...` (comments in
    // the attack), so a case whose attack is its project's name has a control named `evil`.
    let (text, file): (String, &str) = if attack {
        (case.text.clone(), &case.file)
    } else {
        let text = case
            .text
            .lines()
            .filter(|l| !l.trim_end().ends_with("# attack"))
            .map(|l| format!("{}\n", l.strip_prefix("#! ").unwrap_or(l)))
            .collect();
        (text, "evil.berth")
    };
    let mut inputs = base(granted.then_some(case.granted.as_deref()).flatten());
    inputs.push(Input {
        name: file.to_string(),
        bytes: text.into_bytes(),
    });
    analyze("boundary", inputs, &Options::default())
}

fn errors(a: &Analysis) -> Vec<String> {
    a.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{} {}", d.code, d.message))
        .collect()
}

#[test]
fn the_corpus_has_at_least_60_attacks_in_every_class() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let classes: BTreeSet<&str> = cases.iter().map(|c| c.class.as_str()).collect();
    for class in CLASSES {
        assert!(classes.contains(class), "no case of class {class}");
    }
    for c in &cases {
        assert!(
            CLASSES.contains(&c.class.as_str()),
            "{}: unknown class {}",
            c.name,
            c.class
        );
        assert!(
            c.text.lines().any(|l| l.trim_end().ends_with("# attack")),
            "{}: no `# attack` line, so its control is the attack itself",
            c.name
        );
    }
}

#[test]
fn every_attack_is_refused_with_its_codes_pointing_into_the_attackers_file() {
    let mut problems = Vec::new();
    for case in cases() {
        let a = check(&case, true, false);
        let codes: BTreeSet<Code> = a
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect();
        if codes != case.expect {
            problems.push(format!(
                "{}: expected {:?}, got {:?}",
                case.name,
                case.expect,
                errors(&a)
            ));
        }
        if a.config.is_some() {
            problems.push(format!("{}: refused but a model was produced", case.name));
        }
        for d in a.diagnostics.iter().filter(|d| d.is_error()) {
            let Some(span) = d.span else {
                problems.push(format!("{}: `{}` has no span", case.name, d.code));
                continue;
            };
            let file = &a.sources.get(span.file).name;
            if *file != case.file {
                problems.push(format!(
                    "{}: `{} {}` points into {file}, not the attacker's {}",
                    case.name, d.code, d.message, case.file
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_control_without_the_attack_is_valid() {
    let mut problems = Vec::new();
    for case in cases() {
        let a = check(&case, false, false);
        if a.has_errors() || a.config.is_none() {
            problems.push(format!(
                "{}: control has errors {:?}",
                case.name,
                errors(&a)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn what_the_platform_may_grant_is_allowed_once_granted() {
    let mut problems = Vec::new();
    let mut granted = 0;
    for case in cases().into_iter().filter(|c| c.granted.is_some()) {
        granted += 1;
        let a = check(&case, true, true);
        if a.has_errors() {
            problems.push(format!("{}: granted, still {:?}", case.name, errors(&a)));
        }
    }
    assert!(granted >= 15, "only {granted} cases show a grant");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_refusal_is_snapshotted_and_no_snapshot_is_orphaned() {
    let dir = root().join("snapshots");
    let cases = cases();
    for case in &cases {
        let a = check(case, true, false);
        let human = render::human(&a.diagnostics, &a.sources, STYLE);
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(&dir);
        settings.set_prepend_module_to_snapshot(false);
        settings.set_description(format!("{} ({})", case.description, case.class));
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!(case.name.clone(), human));
    }
    let names: BTreeSet<String> = cases.iter().map(|c| format!("{}.snap", c.name)).collect();
    if std::env::var("INSTA_UPDATE").as_deref() == Ok("always") {
        return;
    }
    for entry in std::fs::read_dir(&dir).expect("the snapshots directory") {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            names.contains(&file),
            "snapshots/{file} has no case in cases/"
        );
    }
}

/// One tenant's broken file never blocks a plan of another tenant: its errors leave it out.
#[test]
fn a_broken_tenant_is_left_out_of_another_tenants_plan() {
    let mut inputs = base(None);
    inputs.push(Input {
        name: "evil.berth".into(),
        bytes: b"project evil {\n  variable needed { type = \"string\" }\n  service web {\n    image = \"evil/web:${var.needed}\"\n    replicas = = 2\n  }\n}\n".to_vec(),
    });
    let options = |project: &str| Options {
        strict: true,
        project: Some(project.into()),
        vars: vec![berth_lang::VarInput {
            name: "pr".into(),
            value: "1".into(),
            origin: "--var".into(),
        }],
        ..Options::default()
    };
    let shop = analyze("boundary", inputs.clone(), &options("shop"));
    assert!(!shop.has_errors(), "{:?}", errors(&shop));
    let config = shop.config.expect("shop is planned without evil");
    assert!(config.deployments.iter().all(|d| d.project == "shop"));
    assert!(!config.deployments.is_empty());
    assert_eq!(shop.left_out.len(), 1);
    assert_eq!(shop.left_out[0].0, "evil");

    // The broken project itself still fails, and so does a whole-configuration check.
    let evil = analyze("boundary", inputs.clone(), &options("evil"));
    assert!(evil.has_errors() && evil.config.is_none());
    let whole = analyze("boundary", inputs, &Options::default());
    assert!(whole.has_errors() && whole.config.is_none());
}

/// A project's own variable without a value blocks only that project.
#[test]
fn a_variable_without_a_value_blocks_only_its_project() {
    let mut inputs = base(None);
    inputs.push(Input {
        name: "evil.berth".into(),
        bytes: b"project evil {\n  variable needed { type = \"string\" }\n  service web {\n    image = \"evil/web:${var.needed}\"\n  }\n}\n".to_vec(),
    });
    let options = Options {
        strict: true,
        project: Some("shop".into()),
        ..Options::default()
    };
    let shop = analyze("boundary", inputs, &options);
    assert!(!shop.has_errors(), "{:?}", errors(&shop));
    assert!(shop.config.is_some());
}
