//! Every code of the importer and the exporter, produced by a small compose file (or a
//! configuration) that breaks its rule, with the message naming the key. The list is the one
//! `crates/lang/tests/common/codes.rs` exempts from the language's fixtures.

use berth_compose::{export::export, import, Fs, ImportOptions};
use berth_lang::Code;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A directory in memory: `/p/compose.yaml` and whatever else a case needs.
struct Files(BTreeMap<&'static str, &'static str>);

impl Fs for Files {
    fn read(&self, path: &Path) -> Option<String> {
        self.0.get(path.to_str()?).map(|s| s.to_string())
    }
    fn is_file(&self, path: &Path) -> bool {
        path.to_str().is_some_and(|p| self.0.contains_key(p))
    }
}

fn codes_of(compose: &'static str, extra: &[(&'static str, &'static str)]) -> Vec<(Code, String)> {
    let mut files = BTreeMap::from([("/p/compose.yaml", compose)]);
    files.extend(extra.iter().copied());
    let out = import(
        &[PathBuf::from("/p/compose.yaml")],
        &Files(files),
        &ImportOptions {
            project: Some("shop".into()),
            domain: Some("example.com".into()),
        },
    );
    out.diagnostics
        .into_iter()
        .map(|d| (d.code, d.message))
        .collect()
}

/// Files beside the compose file.
type Extra = &'static [(&'static str, &'static str)];

/// (code, compose file, other files, a word the message must hold)
const CASES: &[(Code, &str, Extra, &str)] = &[
    (Code::ComposeUnreadable, "services:\n  web: [\n", &[], "YAML"),
    (Code::ComposeShape, "services: [web]\n", &[], "services"),
    (Code::ComposeInterpolation, "services:\n  web:\n    image: a:${TAG\n", &[], "${"),
    (Code::ComposeInterpolation, "services:\n  web:\n    image: a:1\n    deploy:\n      replicas: ${N}\n", &[], "N"),
    (Code::ComposeNoEquivalent, "services:\n  web:\n    image: a:1\n    privileged: true\n", &[], "privileged"),
    (Code::ComposeNoEquivalent, "services:\n  web:\n    image: a:1\n    network_mode: host\n", &[], "network_mode"),
    (Code::ComposeNoEquivalent, "services:\n  web:\n    image: a:1\n    pid: host\n", &[], "pid"),
    (Code::ComposeNoEquivalent, "services:\n  web:\n    image: a:1\n    devices: [/dev/sda]\n", &[], "devices"),
    (Code::ComposeBindMount, "services:\n  web:\n    image: a:1\n    volumes: [/var/run/docker.sock:/var/run/docker.sock]\n", &[], "docker.sock"),
    (Code::ComposeBuildOnly, "services:\n  web:\n    build: .\n", &[], "build"),
    (Code::ComposeExtends, "services:\n  web:\n    extends: base\n", &[], "base"),
    (Code::ComposeName, "services:\n  9web:\n    image: a:1\n", &[], "9web"),
    (Code::ComposeUnknownKey, "services:\n  web:\n    image: a:1\n    enviroment: {A: b}\n", &[], "enviroment"),
    (Code::ComposeFileOutside, "services:\n  web:\n    image: a:1\nsecrets:\n  s:\n    file: ../../etc/shadow\n", &[], "shadow"),
    (Code::ComposeUnsupportedValue, "services:\n  web:\n    image: a:1\n    ports: [\"1-2000:1-2000\"]\n", &[], "port"),
    (Code::ComposeChanged, "services:\n  my_web:\n    image: a:1\n", &[], "my-web"),
    (Code::ComposeTraefikLabel, "services:\n  web:\n    image: a:1\n    labels: [traefik.http.middlewares.auth.basicauth.users=x]\n", &[], "basicauth"),
    (Code::ComposeDropped, "services:\n  web:\n    image: a:1\n    container_name: web\n", &[], "container_name"),
    (Code::ComposeFixedValue, "services:\n  web:\n    image: a:1\n    deploy:\n      replicas: ${N:-2}\n", &[], "2"),
    (Code::ComposeProfile, "services:\n  web:\n    image: a:1\n    profiles: [debug]\n", &[], "debug"),
];

#[test]
fn every_import_code_is_produced_with_the_key_it_is_about() {
    for (code, compose, extra, word) in CASES {
        let got = codes_of(compose, extra);
        let hit = got.iter().find(|(c, _)| c == code);
        assert!(
            hit.is_some(),
            "{code} not produced by:\n{compose}\ngot {got:?}"
        );
        let (_, message) = hit.unwrap();
        assert!(
            message.contains(word),
            "{code}: `{message}` does not name `{word}`"
        );
    }
}

/// A configuration whose export the stack file format cannot say in full.
#[test]
fn export_warns_what_it_changes() {
    let text = "project shop {\n  secret key {\n    env = \"BERTH_SHOP_KEY\"\n  }\n  config site {\n    content = \"x\"\n  }\n  service web {\n    image = \"a:1\"\n    env {\n      KEY_FILE = secret.key\n    }\n    mount {\n      source = config.site\n      target = \"/etc/site\"\n    }\n    resources {\n      limits {\n        pids = 10\n      }\n    }\n  }\n}\n";
    let analysis = berth_lang::analyze(
        "x",
        vec![berth_lang::Input {
            name: "shop.berth".into(),
            bytes: text.as_bytes().to_vec(),
        }],
        &berth_lang::Options::default(),
    );
    let config = analysis.config.expect("valid");
    let digests = berth_planner::digests_needed(&config.deployments, None)
        .into_iter()
        .map(|a| (a.to_string(), "0".repeat(64)))
        .collect();
    let desired =
        berth_planner::compile_deployments(&config.deployments, &config.platform, &digests)
            .unwrap();
    let out = export(&config.deployments[0], &desired);
    let messages: Vec<&str> = out
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::ExportChanged)
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("BERTH_SHOP_KEY")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("inline content")),
        "{messages:?}"
    );
    assert!(messages.iter().any(|m| m.contains("pids")), "{messages:?}");
    assert!(out.yaml.contains("external: true"), "{}", out.yaml);
}

/// The codes of this crate, as `crates/lang/tests/common/codes.rs` lists them.
#[test]
fn the_list_of_import_and_export_codes_is_the_languages() {
    let lang = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../lang/tests/common/codes.rs"),
    )
    .unwrap();
    let list = lang
        .split("const IMPORT_EXPORT_CODES")
        .nth(1)
        .and_then(|rest| rest.split("];").next())
        .expect("common/codes.rs lists IMPORT_EXPORT_CODES");
    let listed: Vec<String> = list
        .split("Code::")
        .skip(1)
        .map(|s| {
            s.split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut ours: Vec<String> = CASES.iter().map(|c| format!("{:?}", c.0)).collect();
    ours.push(format!("{:?}", Code::ExportChanged));
    ours.dedup();
    let mut a = listed.clone();
    a.sort();
    let mut b = ours.clone();
    b.sort();
    b.dedup();
    assert_eq!(
        a, b,
        "the codes produced here are the ones the language exempts"
    );
}
