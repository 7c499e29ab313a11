//! `berth-bench state`: reading and writing the state of one project environment of N services
//! (100 by default), on the cluster backend (Swarm configs, the default) against the local
//! directory. A write is what an apply does after every resource (a checkpoint); a read is what
//! every plan and apply does first. The cluster objects are removed afterwards.

use crate::report;
use berth_apply::state::{State, StateResource, Store};
use berth_planner::docker::ServiceSpec;
use berth_planner::{Address, DeploymentId, Kind, Spec};
use std::time::{Duration, Instant};

/// A state like an apply records: N services with an image, environment, labels and limits.
fn state(d: &DeploymentId, services: usize) -> State {
    let mut s = State::new(d.clone());
    s.serial = 1;
    for i in 0..services {
        let mut spec = ServiceSpec {
            name: format!("{}_s{i}", d.project),
            ..ServiceSpec::default()
        };
        let c = &mut spec.task_template.container_spec;
        c.image = "berth/demo:1".into();
        c.env = (0..8)
            .map(|k| format!("SETTING_{k}=value-{i}-{k}"))
            .collect();
        for (k, v) in [
            ("berth.managed", "true".to_string()),
            ("berth.project", d.project.clone()),
            ("berth.environment", d.env.clone()),
            ("berth.address", format!("{d}/service.s{i}")),
            ("com.docker.stack.namespace", d.project.clone()),
        ] {
            spec.labels.insert(k.into(), v);
        }
        let spec = Spec::Service(Box::new(spec));
        s.resources.push(StateResource {
            address: Address {
                deployment: d.clone(),
                kind: Kind::Service,
                name: format!("s{i}"),
            },
            id: format!("{i:025}"),
            version: Some(i as u64),
            digest: berth_apply::state::spec_digest(&spec),
            spec,
        });
    }
    s
}

fn measure(
    store: &Store,
    d: &DeploymentId,
    services: usize,
    iterations: usize,
) -> (report::Summary, report::Summary, usize) {
    let mut s = state(d, services);
    let bytes = serde_json::to_vec(&s).map(|v| v.len()).unwrap_or(0);

    let (mut writes, mut reads) = (Vec::new(), Vec::new());
    for i in 0..iterations {
        // Checkpoints change the state a little each time, as an apply does.
        s.resources[i % services].version = Some(1000 + i as u64);
        let t = Instant::now();
        store.save(&s).expect("the state is written");
        writes.push(t.elapsed());
        let t = Instant::now();
        let back = store.load(d).expect("the state reads").expect("a state");
        reads.push(t.elapsed());
        assert_eq!(back, s, "the state reads back as written");
    }
    (report::summarize(writes), report::summarize(reads), bytes)
}

pub fn run(args: &[String]) -> i32 {
    let services = report::flag(args, "--services", 100usize).max(1);
    let iterations = report::flag(args, "--iterations", 20usize).max(1);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let d = DeploymentId {
        project: format!("bench{:x}{nanos:x}", std::process::id()),
        env: "production".into(),
    };
    let dir = std::env::temp_dir().join(format!("berth-bench-state-{}", d.project));
    let local = Store::new(&dir);
    let cluster = Store::cluster(berth_apply::state::DEFAULT_RETENTION);
    let (lw, lr, bytes) = measure(&local, &d, services, iterations);
    let (cw, cr, _) = measure(&cluster, &d, services, iterations);
    // Clean up: an empty state may be forgotten.
    let mut empty = State::new(d.clone());
    empty.serial = 1;
    let _ = cluster.save(&empty);
    let _ = cluster.remove(&d);
    let _ = std::fs::remove_dir_all(&dir);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let parts = berth_apply::backend::cluster::encode(&state(&d, services));
    println!(
        "state of {services} services ({} KiB of JSON, {} KiB gzipped in {} config(s)), {iterations} iterations:",
        bytes / 1024,
        parts.iter().map(Vec::len).sum::<usize>() / 1024,
        parts.len()
    );
    println!(
        "  write (checkpoint): local median {:.1} ms, cluster median {:.1} ms (min {:.1} ms)",
        ms(lw.median),
        ms(cw.median),
        ms(cw.min)
    );
    println!(
        "  read:               local median {:.1} ms, cluster median {:.1} ms (min {:.1} ms)",
        ms(lr.median),
        ms(cr.median),
        ms(cr.min)
    );
    0
}
