//! Export, then import: a compose file exported from a berth configuration imports back to an
//! equivalent configuration. **Equivalent** means: the imported project, compiled by the
//! planner with the same content digest for every secret and config, has exactly the same
//! desired resources as the original (every address, every Docker spec field, every
//! dependency). Generated configurations use what the stack file format can hold: no `pids`
//! limit, no inline config `content`, no volume `size` (each is a warning of the export).

use berth_compose::{export::export, import, Fs, ImportOptions};
use berth_lang::{analyze, Input, Options};
use berth_planner::{compile_deployments, digests_needed, Desired};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The exported stack file and nothing else: the files it names exist (their content does not
/// matter: every digest is a placeholder).
struct Stack(String);

impl Fs for Stack {
    fn read(&self, path: &Path) -> Option<String> {
        (path.file_name()? == "stack.yml").then(|| self.0.clone())
    }
    fn is_file(&self, _: &Path) -> bool {
        true
    }
}

fn compile(text: &str) -> (berth_lang::model::Deployment, Desired) {
    let analysis = analyze(
        "roundtrip",
        vec![Input {
            name: "rt.berth".into(),
            bytes: text.as_bytes().to_vec(),
        }],
        &Options::default(),
    );
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{text}\n{errors:#?}");
    let config = analysis.config.unwrap();
    let placeholder = "0".repeat(64);
    let digests = digests_needed(&config.deployments, None)
        .into_iter()
        .map(|a| (a.to_string(), placeholder.clone()))
        .collect();
    let desired = compile_deployments(&config.deployments, &config.platform, &digests).unwrap();
    (config.deployments[0].clone(), desired)
}

/// What "equivalent" compares: every resource's address, spec and dependencies.
fn resources(d: &Desired) -> BTreeMap<String, (serde_json::Value, Vec<String>)> {
    d.resources
        .values()
        .map(|r| {
            (
                r.address.to_string(),
                (
                    serde_json::to_value(&r.spec).unwrap(),
                    r.depends_on.iter().map(|a| a.to_string()).collect(),
                ),
            )
        })
        .collect()
}

#[derive(Debug, Clone)]
struct Svc {
    image: &'static str,
    global: bool,
    replicas: u8,
    env: Vec<(String, String)>,
    args: Option<Vec<String>>,
    command: Option<Vec<String>>,
    limits: Option<(u16, u16)>,
    reservation: Option<u16>,
    health: Option<(bool, u8, u8)>,
    restart: Option<(&'static str, u8)>,
    update: Option<(u8, &'static str)>,
    publish: Option<(u16, u16, &'static str)>,
    mount: bool,
    tmpfs: bool,
    secret: bool,
    read_only: bool,
    route: Option<bool>,
    label: Option<String>,
    grace: Option<u8>,
    dnsrr: bool,
    network: bool,
}

fn text_value() -> impl Strategy<Value = String> {
    // Quotes, `$`, braces, spaces and unicode: what compose's escaping must carry.
    prop::string::string_regex("[a-zA-Z0-9 $\"{}:/._é-]{0,12}").unwrap()
}

fn svc() -> impl Strategy<Value = Svc> {
    (
        (
            prop::sample::select(vec!["berth/demo:1", "nginx:1.25", "redis:7.2"]),
            prop::bool::weighted(0.15),
            0u8..4,
            prop::collection::btree_map("[A-Z][A-Z0-9_]{0,6}", text_value(), 0..3).prop_map(|m| {
                m.into_iter()
                    .filter(|(k, _)| k != "TOKEN_FILE" && k != "PREVIOUS")
                    .collect::<Vec<_>>()
            }),
            prop::option::of(prop::collection::vec(text_value(), 1..3)),
            prop::option::of(prop::collection::vec("[a-z/-]{1,8}", 1..2)),
            prop::option::of((1u16..2000, 32u16..512)),
        ),
        (
            prop::option::of(1u16..4),
            prop::option::of((any::<bool>(), 2u8..20, 1u8..5)),
            prop::option::of((
                prop::sample::select(vec!["any", "on-failure", "none"]),
                0u8..5,
            )),
            prop::option::of((
                0u8..3,
                prop::sample::select(vec!["start-first", "stop-first"]),
            )),
            prop::option::of((
                1024u16..9000,
                10000u16..20000,
                prop::sample::select(vec!["host", "ingress"]),
            )),
            any::<bool>(),
            any::<bool>(),
        ),
        (
            any::<bool>(),
            any::<bool>(),
            prop::option::of(any::<bool>()),
            prop::option::of("[a-z]{1,6}"),
            prop::option::of(1u8..60),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(|(a, b, c)| Svc {
            image: a.0,
            global: a.1,
            replicas: a.2,
            env: a.3,
            args: a.4,
            command: a.5,
            limits: a.6,
            reservation: b.0,
            health: b.1,
            restart: b.2,
            update: b.3,
            publish: b.4,
            mount: b.5,
            tmpfs: b.6,
            secret: c.0,
            read_only: c.1,
            route: c.2,
            label: c.3,
            grace: c.4,
            dnsrr: c.5,
            network: c.6,
        })
}

fn q(s: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn project(services: &[Svc], env_secret: bool) -> String {
    let mut t = String::from("project rt {\n  domain = \"example.com\"\n");
    t.push_str("  volume data {\n    labels = { team = \"shop\" }\n  }\n");
    t.push_str("  network back {\n    internal = true\n    encrypted = true\n  }\n");
    t.push_str("  secret token {\n    file = \"rt/token.txt\"\n  }\n");
    if env_secret {
        t.push_str("  secret api {\n    env = \"BERTH_RT_API\"\n  }\n");
    }
    t.push_str("  config site {\n    file = \"rt/site.conf\"\n  }\n");
    for (i, s) in services.iter().enumerate() {
        t.push_str(&format!("  service s{i} {{\n    image = {}\n", q(s.image)));
        if s.global {
            t.push_str("    mode = \"global\"\n");
        } else {
            t.push_str(&format!("    replicas = {}\n", s.replicas));
        }
        if let Some(a) = &s.args {
            t.push_str(&format!(
                "    args = [{}]\n",
                a.iter().map(|x| q(x)).collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some(c) = &s.command {
            t.push_str(&format!(
                "    command = [{}]\n",
                c.iter().map(|x| q(x)).collect::<Vec<_>>().join(", ")
            ));
        }
        if s.dnsrr {
            t.push_str("    endpoint_mode = \"dnsrr\"\n");
        }
        if let Some(g) = s.grace {
            t.push_str(&format!("    stop_grace_period = {g}s\n"));
        }
        if i > 0 {
            t.push_str(&format!("    depends_on = [s{}]\n", i - 1));
        }
        if s.network {
            t.push_str("    networks = [network.back]\n");
        }
        t.push_str("    env {\n");
        for (k, v) in &s.env {
            t.push_str(&format!("      {k} = {}\n", q(v)));
        }
        if s.secret {
            t.push_str("      TOKEN_FILE = secret.token\n");
        }
        if i > 0 {
            t.push_str(&format!("      PREVIOUS = \"${{s{}.host}}\"\n", i - 1));
        }
        t.push_str("    }\n");
        if let Some(l) = &s.label {
            t.push_str(&format!(
                "    labels = {{ \"com.example.owner\" = {} }}\n",
                q(l)
            ));
        }
        if s.limits.is_some() || s.reservation.is_some() {
            t.push_str("    resources {\n");
            if let Some((cpu, mem)) = s.limits {
                t.push_str(&format!(
                    "      limits {{\n        cpu = {cpu}m\n        memory = {mem}M\n      }}\n"
                ));
            }
            if let Some(mem) = s.reservation {
                t.push_str(&format!(
                    "      reservations {{\n        memory = {mem}M\n      }}\n"
                ));
            }
            t.push_str("    }\n");
        }
        if let Some((shell, interval, retries)) = s.health {
            let test = if shell {
                "shell = \"true\"".to_string()
            } else {
                "command = [\"/bin/true\", \"x\"]".to_string()
            };
            t.push_str(&format!("    health {{\n      {test}\n      interval = {interval}s\n      timeout = 1s\n      retries = {retries}\n    }}\n"));
        }
        if let Some((cond, attempts)) = s.restart {
            t.push_str(&format!("    restart {{\n      condition = \"{cond}\"\n      max_attempts = {attempts}\n      delay = 2s\n    }}\n"));
        }
        if let Some((par, order)) = s.update {
            t.push_str(&format!(
                "    update {{\n      parallelism = {par}\n      order = \"{order}\"\n    }}\n"
            ));
        }
        if let Some((target, published, mode)) = s.publish {
            t.push_str(&format!("    publish {{\n      target = {target}\n      published = {}\n      mode = \"{mode}\"\n    }}\n", published + i as u16));
        }
        if s.mount {
            t.push_str(
                "    mount {\n      source = volume.data\n      target = \"/data\"\n    }\n",
            );
            t.push_str("    mount {\n      source = config.site\n      target = \"/etc/site.conf\"\n    }\n");
        }
        if env_secret && i == 0 {
            t.push_str("    mount {\n      source = secret.api\n      target = \"/run/secrets/api\"\n    }\n");
        }
        if s.tmpfs {
            t.push_str("    tmpfs {\n      target = \"/tmp\"\n      size = 16M\n    }\n");
        }
        if s.read_only {
            t.push_str("    security {\n      read_only = true\n      user = \"65534:65534\"\n      cap_drop = [\"ALL\"]\n    }\n");
        }
        if let Some(primary) = s.route {
            t.push_str(&format!("    route {{\n      primary = {primary}\n      port = 8080\n      path = \"/s{i}\"\n    }}\n"));
        }
        t.push_str("  }\n");
    }
    t.push_str("}\n");
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn an_exported_configuration_imports_back_to_the_same_specs(
        services in prop::collection::vec(svc(), 1..4),
        env_secret in any::<bool>(),
    ) {
        let original = project(&services, env_secret);
        let (deployment, desired) = compile(&original);
        let exported = export(&deployment, &desired);
        let imported = import(
            &[PathBuf::from("/config/stack.yml")],
            &Stack(exported.yaml.clone()),
            &ImportOptions { project: Some("rt".into()), domain: None },
        );
        let errors: Vec<_> = imported.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.message.clone()).collect();
        prop_assert!(errors.is_empty(), "{original}\n{}\n{errors:#?}", exported.yaml);
        let text = imported.text.unwrap();
        let (_, again) = compile(&text);
        let (want, got) = (resources(&desired), resources(&again));
        for (address, spec) in &want {
            prop_assert_eq!(Some(spec), got.get(address), "{}\n{}\n{}\n{}", address, original, exported.yaml, text);
        }
        prop_assert_eq!(want.keys().collect::<Vec<_>>(), got.keys().collect::<Vec<_>>());
    }
}
