//! berth against a remote engine: `DOCKER_HOST=tcp://...` with `DOCKER_TLS_VERIFY` and
//! `DOCKER_CERT_PATH`, as the docker CLI reads them. The remote engine is the local one behind a
//! TLS endpoint the test starts on loopback (`support/tls_proxy.py`), with a CA, a server and a
//! client certificate made by openssl (`berth-testkit`) for this test alone.
//!
//! What it guards: reads over TLS must see exactly what reads over the socket see (health checks
//! included), so a configuration applied through the socket plans nothing through TLS, and an
//! apply through TLS converges.

use crate::harness::{expect_code, text, World};
use berth_testkit::certs;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The TLS endpoint's process, killed when dropped.
struct Endpoint {
    child: Child,
    port: u16,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA (`ca.pem`), a server certificate for 127.0.0.1 (`server.pem`, `server.key`) and a
/// client certificate (`cert.pem`, `key.pem`): the names `DOCKER_CERT_PATH` holds.
fn certificates(dir: &Path, ca_name: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let localhost: std::net::IpAddr = [127, 0, 0, 1].into();
    certs::ca(dir, "ca", ca_name)
        .and_then(|_| {
            certs::signed(
                dir,
                "ca",
                "server",
                &certs::server_extensions(&["localhost"], &[localhost]),
            )
        })
        .and_then(|_| certs::signed(dir, "ca", "cert", certs::CLIENT_EXTENSIONS))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(dir.join("cert.key"), dir.join("key.pem")).unwrap();
}

fn start_endpoint(cert_dir: &Path) -> Endpoint {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/support/tls_proxy.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(cert_dir.join("ca.pem"))
        .arg(cert_dir.join("server.pem"))
        .arg(cert_dir.join("server.key"))
        .arg("/var/run/docker.sock")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("the TLS endpoint did not say its port: {line:?}")
    });
    Endpoint { child, port }
}

fn project(name: &str, replicas: u32) -> String {
    format!(
        "project {name} {{\n  service web {{\n    image    = \"berth/demo:1\"\n    replicas = {replicas}\n\n    resources {{\n      limits {{\n        memory = 16M\n      }}\n    }}\n\n    health {{\n      command  = [\"/berth-demo\", \"check\", \"http://127.0.0.1:8080/health\"]\n      interval = 2s\n      timeout  = 1s\n    }}\n  }}\n}}\n"
    )
}

#[test]
fn over_tcp_with_tls_berth_reads_what_the_socket_shows_and_applies() {
    let mut world = World::new();
    let name = world.project("tls");
    let cert_dir: PathBuf = world.dir.join("certs");
    certificates(&cert_dir, "berth-e2e-ca");
    let endpoint = start_endpoint(&cert_dir);
    let host = format!("tcp://127.0.0.1:{}", endpoint.port);
    let remote = |args: &[&str], cert_path: &Path| {
        world.berth_env(
            args,
            &[
                ("DOCKER_HOST", host.as_str()),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", cert_path.to_str().unwrap()),
            ],
        )
    };

    // Applied through the socket, planned through TLS: nothing to change, health check and all.
    world.write("main.berth", &project(&name, 1));
    expect_code(
        &world.berth(&["apply", "--auto-approve", world.dir_str()]),
        0,
    );
    let plan = remote(&["plan", "--detailed-exitcode", world.dir_str()], &cert_dir);
    expect_code(&plan, 0);

    // An apply through TLS converges, and the socket agrees afterwards.
    world.write("main.berth", &project(&name, 2));
    expect_code(
        &remote(&["apply", "--auto-approve", world.dir_str()], &cert_dir),
        0,
    );
    expect_code(
        &world.berth(&["plan", "--detailed-exitcode", world.dir_str()]),
        0,
    );
    let status = remote(&["status", "--format", "json", world.dir_str()], &cert_dir);
    expect_code(&status, 0);
    assert!(
        text(&status).contains("\"running\": 2"),
        "{}",
        text(&status)
    );

    // A client whose CA does not know the server is refused, and says where to look.
    let strangers = world.dir.join("other-certs");
    certificates(&strangers, "another-ca");
    let refused = remote(&["plan", world.dir_str()], &strangers);
    expect_code(&refused, 1);
    assert!(
        text(&refused).contains("DOCKER_CERT_PATH"),
        "{}",
        text(&refused)
    );
}
