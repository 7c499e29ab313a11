//! Captures the observed-state fixtures from the local Docker Engine: for each scenario it creates
//! the objects berth compiles (POSTing the compiled specs to the Engine API 1.41 over
//! `/var/run/docker.sock`), makes the scenario's changes by hand with the `docker` CLI, saves
//! Docker's answers to the list endpoints under `tests/fixtures/observed/<scenario>/`, and
//! removes everything it created, also when it fails. It talks to nothing but the local socket.
//!
//! `cargo run -p berth-planner --example capture -- [scenario ...]` (default: all scenarios).
//! See `tests/fixtures/README.md`.

#[path = "../tests/support/mod.rs"]
mod support;

use berth_planner::resource::label;
use berth_planner::{units, Kind, Spec};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const SOCKET: &str = "/var/run/docker.sock";

fn request(method: &str, path: &str, body: Option<&str>) -> Result<(u16, String), String> {
    let mut stream =
        UnixStream::connect(SOCKET).map_err(|e| format!("cannot connect to {SOCKET}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let body = body.unwrap_or("");
    let head = format!(
        "{method} /v1.41{path} HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(body.as_bytes()))
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or("malformed HTTP answer")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    Ok((status, body.to_string()))
}

fn call(method: &str, path: &str, body: Option<&str>) -> Result<String, String> {
    let (status, text) = request(method, path, body)?;
    if status >= 300 {
        return Err(format!("{method} {path}: HTTP {status}: {}", text.trim()));
    }
    Ok(text)
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn label_filter() -> String {
    encode(&format!(r#"{{"label":["{}=true"]}}"#, label::MANAGED))
}

/// Objects of the fixture projects: any left over means an earlier capture did not clean up.
fn fixture_project(labels: &Value) -> bool {
    labels
        .get(label::PROJECT)
        .and_then(Value::as_str)
        .is_some_and(|p| p.starts_with("berthfx-"))
}

/// Docker's ID of a listed object (a volume's is its name).
fn id_of(item: &Value) -> &str {
    item.get("ID")
        .or(item.get("Id"))
        .or(item.get("Name"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn name_of(item: &Value) -> &str {
    item["Spec"]["Name"]
        .as_str()
        .or(item["Name"].as_str())
        .unwrap_or("?")
}

fn labels_of(item: &Value) -> &Value {
    if item.get("Spec").is_some() {
        &item["Spec"]["Labels"]
    } else {
        &item["Labels"]
    }
}

/// What this run created, removed in reverse on drop (so also after an error or a panic).
#[derive(Default)]
struct Created {
    items: Vec<(Kind, String)>,
}

impl Created {
    fn cleanup(&mut self) {
        // Services first, then wait for their tasks to go, so networks and volumes are free.
        let mut rest = Vec::new();
        for (kind, id) in self.items.drain(..).rev() {
            if kind == Kind::Service {
                let _ = request("DELETE", &format!("/services/{id}"), None);
            } else {
                rest.push((kind, id));
            }
        }
        for (kind, id) in rest {
            let path = match kind {
                Kind::Network => format!("/networks/{id}"),
                Kind::Volume => format!("/volumes/{}", encode(&id)),
                Kind::Secret => format!("/secrets/{id}"),
                Kind::Config => format!("/configs/{id}"),
                Kind::Service => unreachable!(),
            };
            for attempt in 0..30 {
                match request("DELETE", &path, None) {
                    Ok((s, _)) if s < 300 || s == 404 => break,
                    other if attempt == 29 => eprintln!("could not remove {kind} {id}: {other:?}"),
                    _ => std::thread::sleep(Duration::from_millis(500)),
                }
            }
        }
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        self.cleanup();
    }
}

fn docker(args: &[&str]) -> Result<(), String> {
    let status = Command::new("docker")
        .args(args)
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("docker {} failed", args.join(" ")))
    }
}

/// Refuses to start when a fixture project's objects exist (an earlier capture left them), or
/// when an object this run would create exists under its name (another berth platform, such
/// as an end-to-end test's, is running here: wait for it to finish).
fn check_clean(names: &BTreeSet<String>) -> Result<(), String> {
    for endpoint in ["services", "networks", "volumes", "secrets", "configs"] {
        let text = call("GET", &format!("/{endpoint}"), None)?;
        let value: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        // `GET /volumes` answers with an object holding `Volumes`; creating a volume whose
        // name exists would silently reuse (and the cleanup remove) someone else's.
        let items = match value {
            Value::Array(items) => items,
            Value::Object(mut o) => match o.remove("Volumes") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        if let Some(item) = items.iter().find(|i| fixture_project(labels_of(i))) {
            return Err(format!(
                "leftover fixture object in /{endpoint}: {} (remove it)",
                name_of(item)
            ));
        }
        if let Some(item) = items.iter().find(|i| names.contains(name_of(i))) {
            return Err(format!(
                "/{endpoint} already has `{}`, which this capture would create: another berth platform is running here; wait until it is gone",
                name_of(item)
            ));
        }
    }
    Ok(())
}

fn capture(scenario: &str, out_dir: &PathBuf) -> Result<(), String> {
    let deployments = support::scenario(scenario);
    // The specs successive applies of the scenario's deployments would create, edge slots
    // assigned in order.
    let desired = support::applied(&deployments, 1);
    let include_platform = scenario != "empty";
    let names: BTreeSet<String> = desired
        .resources
        .values()
        .filter(|r| include_platform || !r.address.deployment.is_platform())
        .map(|r| r.name().to_string())
        .collect();
    check_clean(&names)?;
    let mut created = Created::default();
    let mut ids = std::collections::BTreeMap::new();
    let order = berth_planner::DepGraph::build(&desired)
        .create_order()
        .map_err(|e| e.to_string())?;
    for address in order {
        if address.deployment.is_platform() && !include_platform {
            continue;
        }
        let r = &desired.resources[&address];
        let (path, body) = match &r.spec {
            Spec::Network(n) => {
                let mut v = serde_json::to_value(n).unwrap();
                v["CheckDuplicate"] = Value::Bool(true);
                ("/networks/create", v)
            }
            Spec::Volume(v) => ("/volumes/create", serde_json::to_value(v).unwrap()),
            Spec::Secret(s) => {
                let mut v = serde_json::to_value(s).unwrap();
                let value = support::secret_value(&address, 1);
                v["Data"] = Value::String(units::base64_encode(value.as_bytes()));
                ("/secrets/create", v)
            }
            Spec::Config(c) => ("/configs/create", serde_json::to_value(c).unwrap()),
            Spec::Service(s) => {
                let mut s = (**s).clone();
                for r in &mut s.task_template.container_spec.secrets {
                    r.secret_id = ids
                        .get(&r.secret_name)
                        .cloned()
                        .ok_or("secret not created")?;
                }
                for r in &mut s.task_template.container_spec.configs {
                    r.config_id = ids
                        .get(&r.config_name)
                        .cloned()
                        .ok_or("config not created")?;
                }
                ("/services/create", serde_json::to_value(&s).unwrap())
            }
        };
        let answer = call("POST", path, Some(&body.to_string()))?;
        let answer: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
        let id = answer["ID"]
            .as_str()
            .or(answer["Id"].as_str())
            .or(answer["Name"].as_str())
            .unwrap_or_default()
            .to_string();
        ids.insert(r.name().to_string(), id.clone());
        created.items.push((address.kind, id));
        eprintln!("created {address} ({})", r.name());
    }
    if scenario == "drift" {
        docker(&[
            "service",
            "update",
            "--detach",
            "--replicas",
            "3",
            "berthfx-shop_web",
        ])?;
        docker(&[
            "service",
            "update",
            "--detach",
            "--env-add",
            "DEBUG=1",
            "berthfx-shop_api",
        ])?;
    }
    // Let Swarm create tasks, so /tasks answers with real ones.
    std::thread::sleep(Duration::from_secs(3));

    std::fs::create_dir_all(out_dir).map_err(|e| e.to_string())?;
    let service_ids: Vec<String> = created
        .items
        .iter()
        .filter(|(k, _)| *k == Kind::Service)
        .map(|(_, id)| format!("\"{id}\""))
        .collect();
    let task_filter = encode(&format!(r#"{{"service":[{}]}}"#, service_ids.join(",")));
    let mine: BTreeSet<&str> = created.items.iter().map(|(_, id)| id.as_str()).collect();
    let endpoints = [
        ("services", format!("/services?filters={}", label_filter())),
        ("networks", format!("/networks?filters={}", label_filter())),
        ("volumes", format!("/volumes?filters={}", label_filter())),
        ("secrets", format!("/secrets?filters={}", label_filter())),
        ("configs", format!("/configs?filters={}", label_filter())),
        ("nodes", "/nodes".to_string()),
        (
            "tasks",
            if service_ids.is_empty() {
                String::new()
            } else {
                format!("/tasks?filters={task_filter}")
            },
        ),
    ];
    for (name, path) in endpoints {
        let value: Value = if path.is_empty() {
            Value::Array(Vec::new())
        } else {
            serde_json::from_str(&call("GET", &path, None)?).map_err(|e| e.to_string())?
        };
        // Keep only the objects this run created: other berth projects (and platforms) may
        // exist on this engine.
        let value = match value {
            Value::Array(items) if name != "nodes" && name != "tasks" => Value::Array(
                items
                    .into_iter()
                    .filter(|i| mine.contains(id_of(i)))
                    .collect(),
            ),
            Value::Object(mut o) if name == "volumes" => {
                if let Some(Value::Array(items)) = o.get_mut("Volumes") {
                    items.retain(|i| mine.contains(id_of(i)));
                }
                Value::Object(o)
            }
            other => other,
        };
        let text = serde_json::to_string_pretty(&value).unwrap() + "\n";
        std::fs::write(out_dir.join(format!("{name}.json")), text).map_err(|e| e.to_string())?;
    }
    created.cleanup();
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scenarios: Vec<&str> = if args.is_empty() {
        support::SCENARIOS.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/observed");
    for s in scenarios {
        eprintln!("== capturing {s}");
        if let Err(e) = capture(s, &root.join(s)) {
            eprintln!("error: capturing {s}: {e}");
            std::process::exit(1);
        }
    }
}
