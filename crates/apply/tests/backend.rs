//! The two state backends through the store's interface. The local directory on a temporary
//! directory; the cluster backend against the real engine on this machine (swarm mode), where
//! each test uses its own project name and removes its configs: a writer killed between
//! writing parts and moving the head leaves the last complete state readable, an object that
//! only imitates state is not believed, history keeps the retention, a lease expires by the
//! engine's clock and is broken by ID, and a holder whose lock was removed stops writing.

use berth_apply::error::ApplyError;
use berth_apply::lock;
use berth_apply::state::{self, State, Store};
use berth_planner::DeploymentId;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn deployment(project: &str) -> DeploymentId {
    DeploymentId {
        project: project.into(),
        env: "production".into(),
    }
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("bk{tag}{:x}{nanos:x}", std::process::id())
}

/// A state at `serial` whose lineage is `lineage`, with one recorded output as its mark.
fn state_at(d: &DeploymentId, lineage: &str, serial: u64) -> State {
    let mut s = State::new(d.clone());
    s.lineage = lineage.into();
    s.serial = serial;
    s.outputs.routes.push(state::RouteOutput {
        service: "web".into(),
        url: format!("https://serial-{serial}.example.com"),
    });
    s
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp(tag: &str) -> TempDir {
    let dir = std::env::temp_dir().join(unique(tag));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

#[test]
fn the_local_directory_keeps_the_retention_and_never_overwrites_a_history() {
    let dir = temp("local");
    let store = Store::new(&dir.0).with_retention(3);
    let d = deployment("shop");
    for _ in 0..6 {
        let next = store.begin(&d).unwrap();
        store.save(&next).unwrap();
    }
    assert_eq!(store.load(&d).unwrap().unwrap().serial, 6);
    assert_eq!(store.history(&d).unwrap(), vec![4, 5], "three serials kept");

    // Import keeps serials and lineage, and refuses a store that has state.
    let target = temp("import");
    let to = Store::new(&target.0);
    let all = store.all_serials(&d).unwrap();
    to.import(&all).unwrap();
    assert_eq!(to.load(&d).unwrap(), store.load(&d).unwrap());
    assert_eq!(to.history(&d).unwrap(), vec![4, 5]);
    assert!(matches!(to.import(&all), Err(ApplyError::StateRefused(_))));

    // `remove` forgets only a state that holds nothing.
    let mut holding = to.begin(&d).unwrap();
    holding.resources.push(state::StateResource {
        address: "shop/production/network.default".parse().unwrap(),
        id: "n".into(),
        version: None,
        spec: berth_planner::Spec::Network(Default::default()),
        digest: "d".into(),
    });
    to.save(&holding).unwrap();
    assert!(matches!(to.remove(&d), Err(ApplyError::StateRefused(_))));
    let mut empty = to.begin(&d).unwrap();
    empty.resources.clear();
    to.save(&empty).unwrap();
    to.remove(&d).unwrap();
    assert!(to.load(&d).unwrap().is_none());
    assert!(to.history(&d).unwrap().is_empty());
}

#[test]
fn state_files_are_read_alone_or_from_a_directory() {
    let dir = temp("files");
    let a = state_at(&deployment("a"), "l", 3);
    let b = state_at(&deployment("b"), "l", 4);
    std::fs::write(dir.0.join("a.json"), serde_json::to_vec(&a).unwrap()).unwrap();
    std::fs::write(dir.0.join("b.json"), serde_json::to_vec(&b).unwrap()).unwrap();
    std::fs::write(dir.0.join("notes.txt"), "not a state").unwrap();
    assert_eq!(state::read_files(&dir.0).unwrap(), vec![a.clone(), b]);
    assert_eq!(state::read_files(&dir.0.join("a.json")).unwrap(), vec![a]);
    std::fs::write(dir.0.join("c.json"), "{}").unwrap();
    assert!(matches!(
        state::read_files(&dir.0),
        Err(ApplyError::State { .. })
    ));
}

fn swarm_active() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.Swarm.LocalNodeState}}"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "active")
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Removes every backend config of the project, whatever a test left.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let ids = docker(&[
            "config",
            "ls",
            "-q",
            "--filter",
            &format!("label=berth.store.project={}", self.0),
        ]);
        for id in ids.lines().filter(|l| !l.is_empty()) {
            docker(&["config", "rm", id]);
        }
        // The imitation carries no backend label.
        let fake = docker(&[
            "config",
            "ls",
            "-q",
            "--filter",
            &format!("label=test.fake={}", self.0),
        ]);
        for id in fake.lines().filter(|l| !l.is_empty()) {
            docker(&["config", "rm", id]);
        }
    }
}

#[test]
fn on_the_cluster_a_torn_write_or_an_imitation_never_reads_as_state() {
    assert!(swarm_active(), "this test needs the engine in swarm mode");
    let project = unique("torn");
    let _cleanup = Cleanup(project.clone());
    let d = deployment(&project);
    let store = Store::cluster(3);
    assert!(store.load(&d).unwrap().is_none());
    let first = store.begin(&d).unwrap();
    store.save(&first).unwrap();
    let mut checkpoint = first.clone();
    checkpoint.outputs = state_at(&d, "x", 1).outputs;
    store.save(&checkpoint).unwrap();
    assert_eq!(store.load(&d).unwrap().unwrap(), checkpoint);

    // A writer killed after its parts but before the head: a part of a later checkpoint exists,
    // the head still names the complete one.
    let key = berth_apply::backend::cluster::key(&d);
    let torn = berth_apply::backend::cluster::part_name(&key, 1, 99, 0);
    let labels = [
        "berth.store=state".to_string(),
        format!("berth.store.key={key}"),
        format!("berth.store.project={project}"),
        "berth.store.env=production".into(),
        "berth.store.serial=1".into(),
        "berth.store.seq=99".into(),
        "berth.store.part=0".into(),
        "berth.store.parts=2".into(),
    ];
    let mut args = vec!["config".to_string(), "create".into()];
    for l in &labels {
        args.extend(["--label".to_string(), l.clone()]);
    }
    args.extend([torn.clone(), "-".into()]);
    let mut child = Command::new("docker")
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"half").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(store.load(&d).unwrap().unwrap(), checkpoint);

    // An object named like another project environment's head, without the backend's labels,
    // is not believed.
    let imitated = deployment(&format!("{project}x"));
    let head =
        berth_apply::backend::cluster::head_name(&berth_apply::backend::cluster::key(&imitated));
    let mut child = Command::new("docker")
        .args([
            "config",
            "create",
            "--label",
            &format!("test.fake={project}"),
            &head,
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"x").unwrap();
    assert!(child.wait().unwrap().success());
    assert!(store.load(&imitated).unwrap().is_none());

    // A writer killed before its first checkpoint of serial 2 moved the head leaves a complete
    // part of serial 2: never history, never read, pruned by the next apply.
    let early = berth_apply::backend::cluster::part_name(&key, 2, 50, 0);
    let mut args = vec!["config".to_string(), "create".into()];
    for l in labels.iter().map(|l| {
        l.replace("serial=1", "serial=2")
            .replace("seq=99", "seq=50")
            .replace("parts=2", "parts=1")
    }) {
        args.extend(["--label".to_string(), l]);
    }
    args.extend([early.clone(), "-".into()]);
    let mut child = Command::new("docker")
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"never read")
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(store.history(&d).unwrap().is_empty());
    assert!(store.load_serial(&d, 2).unwrap().is_none());

    // History: every serial, up to the retention (3); the torn part is pruned.
    for _ in 0..4 {
        let next = store.begin(&d).unwrap();
        store.save(&next).unwrap();
    }
    assert_eq!(store.load(&d).unwrap().unwrap().serial, 5);
    assert_eq!(store.history(&d).unwrap(), vec![3, 4]);
    assert_eq!(store.load_serial(&d, 4).unwrap().unwrap().serial, 4);
    assert!(store.load_serial(&d, 1).unwrap().is_none());
    assert!(docker(&["config", "ls", "-q", "--filter", &format!("name={torn}")]).is_empty());
    assert!(docker(&["config", "ls", "-q", "--filter", &format!("name={early}")]).is_empty());

    // A state larger than one config holds is split, and reads back whole.
    let mut large = store.begin(&d).unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..16000 {
        let mut noise = String::new();
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            noise.push_str(&format!("{seed:016x}"));
        }
        large.outputs.routes.push(state::RouteOutput {
            service: format!("s{i}"),
            url: format!("https://{noise}.example.com"),
        });
    }
    let parts = berth_apply::backend::cluster::encode(&large).len();
    assert!(parts > 1, "the state fits one config: {parts} part(s)");
    store.save(&large).unwrap();
    assert_eq!(store.load(&d).unwrap().unwrap(), large);
}

#[test]
fn on_the_cluster_an_expired_lease_is_broken_and_a_lost_lock_stops_writes() {
    assert!(swarm_active(), "this test needs the engine in swarm mode");
    let project = unique("lease");
    let _cleanup = Cleanup(project.clone());
    let d = deployment(&project);
    let mut store = Store::cluster(10);
    store.lease = Duration::from_secs(1);
    let held = lock::acquire(&store, &d, "apply", Duration::ZERO).unwrap();
    // A live holder renews: waiting three leases, the lock is still refused to others.
    let mut other = Store::cluster(10);
    other.lease = Duration::from_secs(1);
    match lock::acquire(&other, &d, "apply", Duration::from_secs(3)) {
        Err(ApplyError::Locked { id, .. }) => assert_eq!(id, held.info.id),
        other => panic!("a renewed lease was broken: {other:?}"),
    }
    drop(held);
    // A holder that died leaves its lock unrenewed: its lease expires by the engine's clock and
    // the next run breaks it.
    let dead = unique("dead");
    let _dead_cleanup = Cleanup(dead.clone());
    let dd = deployment(&dead);
    let key = berth_apply::backend::cluster::key(&dd);
    let name = berth_apply::backend::cluster::lock_name(&key);
    let mut child = Command::new("docker")
        .args([
            "config",
            "create",
            "--label",
            "berth.store=lock",
            "--label",
            &format!("berth.store.key={key}"),
            "--label",
            &format!("berth.store.project={dead}"),
            "--label",
            "berth.store.env=production",
            "--label",
            "berth.store.lease=1",
            "--label",
            "berth.store.lock-id=0123456789abcdef",
            &name,
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"id":"0123456789abcdef","operation":"apply","holder":"ci@runner-7","host":"runner-7","pid":4242,"created":"2026-01-01T00:00:00Z"}"#)
        .unwrap();
    assert!(child.wait().unwrap().success());
    let broke = lock::acquire(&other, &dd, "apply", Duration::from_secs(10)).unwrap();
    assert_eq!(
        broke.broken.as_ref().map(|b| b.holder.as_str()),
        Some("ci@runner-7")
    );

    // Removed from under its holder (`berth state unlock`), a lock is lost at the next renewal,
    // and the holder's state writes are refused.
    lock::unlock(&other, &broke.info.id).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(broke.is_lost());
    let s = other.begin(&dd).unwrap();
    assert!(matches!(other.save(&s), Err(ApplyError::LockLost { .. })));
    drop(broke);
}
