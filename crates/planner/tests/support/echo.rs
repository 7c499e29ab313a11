//! Docker's answers for objects that were created from compiled specs, built the way the Engine
//! (and the docker CLI) report them: IDs instead of network names, secret and config IDs filled
//! in, a digest pinned to the image, fields Swarm adds (`Isolation`, `ForceUpdate`, `Runtime`,
//! `Endpoint`, allocated subnets, `vxlanid_list`), engine-owned labels, null for empty maps, and
//! env vars, constraints and mounts in another order. Each transformation is one observed in
//! the captured fixtures or made by `docker stack deploy` / `docker service update`; `seed`
//! picks which ones apply, so a property test covers their combinations.

use berth_planner::{Desired, DockerSnapshot, Spec};
use serde_json::{json, Value};
use std::collections::BTreeMap;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn chance(&mut self) -> bool {
        self.next().is_multiple_of(2)
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() as usize) % (i + 1);
            items.swap(i, j);
        }
    }
}

fn id(kind: &str, name: &str) -> String {
    let digest = berth_planner::units::sha256_hex(format!("{kind}/{name}").as_bytes());
    digest[..25].to_string()
}

pub fn snapshot(desired: &Desired, seed: u64) -> DockerSnapshot {
    let mut rng = Rng(seed);
    let mut networks = Vec::new();
    let mut volumes = Vec::new();
    let mut secrets = Vec::new();
    let mut configs = Vec::new();
    let mut services = Vec::new();
    let mut net_ids = BTreeMap::new();
    for r in desired.resources.values() {
        if let Spec::Network(n) = &r.spec {
            net_ids.insert(n.name.clone(), id("network", &n.name));
        }
    }
    for (i, r) in desired.resources.values().enumerate() {
        let created = "2026-11-27T03:29:20.164542855Z";
        match &r.spec {
            Spec::Network(n) => {
                let mut options = serde_json::to_value(&n.options).unwrap();
                options["com.docker.network.driver.overlay.vxlanid_list"] = json!(format!("{}", 4097 + i));
                networks.push(json!({
                    "Name": n.name, "Id": net_ids[&n.name], "Created": created, "Scope": "swarm",
                    "Driver": n.driver, "EnableIPv6": false,
                    "IPAM": { "Driver": "default", "Options": null,
                              "Config": [{ "Subnet": format!("10.208.{}.0/22", (i * 4) % 256), "Gateway": format!("10.208.{}.1", (i * 4) % 256) }] },
                    "Internal": n.internal, "Attachable": n.attachable, "Ingress": false,
                    "ConfigFrom": { "Network": "" }, "ConfigOnly": false, "Containers": null,
                    "Options": options, "Labels": n.labels,
                }));
            }
            Spec::Volume(v) => {
                let opts = if v.driver_opts.is_empty() { Value::Null } else { serde_json::to_value(&v.driver_opts).unwrap() };
                volumes.push(json!({
                    "CreatedAt": "2026-11-27T03:29:20Z", "Driver": v.driver, "Labels": v.labels,
                    "Mountpoint": format!("/var/lib/docker/volumes/{}/_data", v.name),
                    "Name": v.name, "Options": opts, "Scope": "local",
                }));
            }
            Spec::Secret(s) => secrets.push(json!({
                "ID": id("secret", &s.name), "Version": { "Index": 10 + i }, "CreatedAt": created, "UpdatedAt": created,
                "Spec": serde_json::to_value(s).unwrap(),
            })),
            Spec::Config(c) => {
                let mut spec = serde_json::to_value(c).unwrap();
                if spec.get("Data").is_none() {
                    // A config read from a file: apply sent its bytes.
                    spec["Data"] = json!(berth_planner::units::base64_encode(b"from a file\n"));
                }
                configs.push(json!({
                    "ID": id("config", &c.name), "Version": { "Index": 10 + i }, "CreatedAt": created, "UpdatedAt": created,
                    "Spec": spec,
                }))
            }
            Spec::Service(s) => {
                let mut s = (**s).clone();
                let c = &mut s.task_template.container_spec;
                for r in &mut c.secrets {
                    r.secret_id = id("secret", &r.secret_name);
                }
                for r in &mut c.configs {
                    r.config_id = id("config", &r.config_name);
                }
                if rng.chance() {
                    rng.shuffle(&mut c.env);
                }
                if rng.chance() {
                    rng.shuffle(&mut c.mounts);
                }
                let mut spec = serde_json::to_value(&s).unwrap();
                let cs = &mut spec["TaskTemplate"]["ContainerSpec"];
                cs["Isolation"] = json!("default");
                if rng.chance() && !s.task_template.container_spec.image.contains('@') {
                    let digest = berth_planner::units::sha256_hex(s.task_template.container_spec.image.as_bytes());
                    cs["Image"] = json!(format!("{}@sha256:{digest}", s.task_template.container_spec.image));
                }
                if rng.chance() {
                    spec["Labels"]["com.docker.stack.image"] = json!(s.task_template.container_spec.image);
                }
                let tt = &mut spec["TaskTemplate"];
                tt["ForceUpdate"] = json!(0);
                tt["Runtime"] = json!("container");
                if let Some(nets) = tt["Networks"].as_array_mut() {
                    for n in nets.iter_mut() {
                        let name = n["Target"].as_str().unwrap().to_string();
                        if let Some(id) = net_ids.get(&name) {
                            n["Target"] = json!(id);
                        }
                    }
                }
                if let Some(cons) = tt["Placement"]["Constraints"].as_array_mut() {
                    for c in cons.iter_mut() {
                        if rng.chance() {
                            *c = json!(c.as_str().unwrap().replace(" == ", "==").replace(" != ", "!="));
                        }
                    }
                    cons.reverse();
                }
                if rng.chance() && tt.get("Resources").is_none() {
                    tt["Resources"] = json!({ "Limits": {}, "Reservations": {} });
                }
                let sid = id("service", &s.name);
                let endpoint = json!({ "Spec": spec["EndpointSpec"].clone() });
                services.push(json!({
                    "ID": sid, "Version": { "Index": 100 + i }, "CreatedAt": created, "UpdatedAt": created,
                    "Spec": spec, "Endpoint": endpoint,
                }));
            }
        }
    }
    rng.shuffle(&mut services);
    rng.shuffle(&mut networks);
    DockerSnapshot {
        services: Value::Array(services).to_string(),
        networks: Value::Array(networks).to_string(),
        volumes: json!({ "Volumes": volumes, "Warnings": null }).to_string(),
        secrets: Value::Array(secrets).to_string(),
        configs: Value::Array(configs).to_string(),
        nodes: String::new(),
        tasks: String::new(),
    }
}
