//! TLS at the platform edge on the real Swarm, through a real Traefik: a certificate from a real
//! ACME CA (Debian's `pebble`, started by the test), custom certificates from the
//! configuration's files and environment chosen by SNI, and the dashboard behind basic
//! authentication.
//!
//! These tests share the proxy with the other edge tests, so they take the same locks and
//! create and remove the platform the same way ([`Edge`]).
//!
//! Network rule: the test's own requests go to 127.0.0.1 only. Pebble listens on the gateway
//! address of `docker_gwbridge`, an address of this machine that is on-link from the proxy's
//! task (the test checks there is no `via` route to it), and its management interface on
//! 127.0.0.1. Every loop is bounded.

use crate::edge::{container_of, ip_in, pid_of, Edge, HEALTH, HTTPS_PORT, PROXY};
use crate::harness::{docker, expect_code, read_tree, stdout, text};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Certificates made with the openssl CLI
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI runs (apt-get install openssl)");
    assert!(out.status.success(), "openssl {args:?}: {}", text(&out));
}

/// A self-signed end-entity certificate (not a CA) for `names`: `<stem>.pem` and `<stem>.key`.
fn self_signed(dir: &Path, stem: &str, names: &[&str]) {
    let san = names
        .iter()
        .map(|n| format!("DNS:{n}"))
        .collect::<Vec<_>>()
        .join(",");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            &format!("/CN={}", names[0]),
            "-addext",
            &format!("subjectAltName={san}"),
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
            &format!("{stem}.key"),
            "-out",
            &format!("{stem}.pem"),
        ],
    );
}

/// A CA (`ca.pem`) and a server certificate it signed for IP addresses (`<stem>.pem`, `.key`).
fn ca_and_server(dir: &Path, stem: &str, ips: &[IpAddr]) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=berth e2e pebble listener CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=pebble",
            "-keyout",
            &format!("{stem}.key"),
            "-out",
            &format!("{stem}.csr"),
        ],
    );
    let san = ips
        .iter()
        .map(|ip| format!("IP:{ip}"))
        .collect::<Vec<_>>()
        .join(",");
    std::fs::write(
        dir.join(format!("{stem}.ext")),
        format!("subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{stem}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            &format!("{stem}.ext"),
            "-out",
            &format!("{stem}.pem"),
        ],
    );
}

/// The DER certificates of a PEM text.
fn pem_certificates(pem: &str) -> Vec<CertificateDer<'static>> {
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in pem.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            let b64 = body.take().expect("END without BEGIN");
            let der = berth_planner::units::base64_decode(&b64).expect("PEM is base64");
            out.push(CertificateDer::from(der));
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    assert!(!out.is_empty(), "no certificate in {pem:?}");
    out
}

fn roots(pem: &str) -> Arc<RootCertStore> {
    let mut store = RootCertStore::empty();
    for c in pem_certificates(pem) {
        store.add(c).expect("a usable root");
    }
    Arc::new(store)
}

// ---------------------------------------------------------------------------------------------
// A TLS client
// ---------------------------------------------------------------------------------------------

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What an HTTPS request saw.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
}

/// `GET path` over TLS to `127.0.0.1:port` with SNI and Host `name`, verifying the chain
/// against `roots` only and the certificate's name against `name` (a DNS name or an IP).
fn https_get(
    port: u16,
    name: &str,
    path: &str,
    roots: &Arc<RootCertStore>,
    authorization: Option<&str>,
) -> Result<Answer, String> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
    let server = ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), server).map_err(|e| e.to_string())?;
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut sock = TcpStream::connect_timeout(&address, Duration::from_secs(5))
        .map_err(|e| format!("connect: {e}"))?;
    sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
    sock.set_write_timeout(Some(Duration::from_secs(10))).ok();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let auth = authorization
        .map(|a| {
            format!(
                "Authorization: Basic {}\r\n",
                berth_planner::units::base64_encode(a.as_bytes())
            )
        })
        .unwrap_or_default();
    tls.write_all(
        format!("GET {path} HTTP/1.0\r\nHost: {name}\r\nUser-Agent: berth-e2e\r\n{auth}\r\n")
            .as_bytes(),
    )
    .map_err(|e| format!("TLS: {e}"))?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        // Servers may close without close_notify; what was read is the answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(format!("TLS: {e}")),
    }
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP answer: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    Ok(Answer {
        status,
        body: body.to_string(),
    })
}

/// Retries `https_get` until it answers `status` (bounded by `limit`), returning how long it
/// took, or the last error.
fn until_status(
    limit: Duration,
    status: u16,
    mut get: impl FnMut() -> Result<Answer, String>,
) -> Result<(Duration, Answer), String> {
    let start = Instant::now();
    let mut last = String::from("not tried");
    while start.elapsed() < limit {
        match get() {
            Ok(a) if a.status == status => return Ok((start.elapsed(), a)),
            Ok(a) => last = format!("answered {}: {:?}", a.status, a.body),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(last)
}

// ---------------------------------------------------------------------------------------------
// Pebble
// ---------------------------------------------------------------------------------------------

/// A free TCP port on `ip` (bound and released; the test starts its listener right after).
fn free_port(ip: IpAddr) -> u16 {
    TcpListener::bind((ip, 0))
        .expect("a free port")
        .local_addr()
        .unwrap()
        .port()
}

/// The gateway address of `docker_gwbridge`: an address of this machine that every task with
/// published host ports or outside connectivity has on-link.
fn gwbridge_gateway() -> IpAddr {
    let out = docker(&[
        "network",
        "inspect",
        "docker_gwbridge",
        "--format",
        "{{range .IPAM.Config}}{{.Gateway}} {{end}}",
    ]);
    let text = stdout(&out);
    text.split_whitespace()
        .find_map(|a| a.parse::<IpAddr>().ok().filter(IpAddr::is_ipv4))
        .unwrap_or_else(|| {
            panic!(
                "docker_gwbridge has no IPv4 gateway: {}",
                crate::harness::text(&out)
            )
        })
}

/// Pebble, Let's Encrypt's test CA, as a child process; killed when dropped.
struct Pebble {
    child: Child,
    dir: PathBuf,
    /// Where the proxy reaches its ACME directory: `https://<gateway>:<port>/dir`.
    directory: String,
    /// The CA of pebble's listener certificate (PEM), which the proxy must trust.
    listener_ca: String,
    /// The root pebble issues certificates under (PEM), from its management interface.
    root: String,
}

impl Pebble {
    fn start(gateway: IpAddr) -> Pebble {
        let dir = std::env::temp_dir().join(format!(
            "berth-pebble-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let localhost: IpAddr = [127, 0, 0, 1].into();
        ca_and_server(&dir, "listener", &[gateway, localhost]);
        let (port, management) = (free_port(gateway), free_port(localhost));
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("{gateway}:{port}"),
                "managementListenAddress": format!("127.0.0.1:{management}"),
                "certificate": dir.join("listener.pem"),
                "privateKey": dir.join("listener.key"),
                "httpPort": 5002,
                "tlsPort": 5001,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
            }
        });
        std::fs::write(dir.join("pebble.json"), config.to_string()).unwrap();
        let log = std::fs::File::create(dir.join("pebble.log")).unwrap();
        let child = Command::new("pebble")
            .arg("-config")
            .arg(dir.join("pebble.json"))
            // No validation (the proxy's ports are not where pebble would look), no artificial
            // delays, and no nonce rejections.
            .env("PEBBLE_VA_ALWAYS_VALID", "1")
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("pebble runs (apt-get install pebble; scripts/test.sh installs it)");
        let listener_ca = std::fs::read_to_string(dir.join("ca.pem")).unwrap();
        let mut pebble = Pebble {
            child,
            directory: format!("https://{gateway}:{port}/dir"),
            listener_ca,
            root: String::new(),
            dir,
        };
        // Its management interface, verified against the listener's CA, gives the root.
        let trust = roots(&pebble.listener_ca);
        match until_status(Duration::from_secs(20), 200, || {
            https_get(management, "127.0.0.1", "/roots/0", &trust, None)
        }) {
            Ok((_, a)) => pebble.root = a.body,
            Err(e) => panic!(
                "pebble's management interface did not answer: {e}\n{}",
                std::fs::read_to_string(pebble.dir.join("pebble.log")).unwrap_or_default()
            ),
        }
        pebble
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pebble.log")).unwrap_or_default()
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One routed demo service, HTTPS by the platform's default or by `tls = true`.
fn routed(name: &str, tls: &str) -> String {
    format!(
        r#"project {name} {{
  service web {{
    image = "berth/demo:1"

    env {{
      BERTH_DEMO_PROJECT = "{name}"
    }}

{HEALTH}
    route {{
      primary = true
      port    = 8080{tls}
    }}
  }}
}}
"#
    )
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn a_routed_host_gets_a_certificate_from_pebble() {
    let mut e = Edge::new();
    let name = e.world.project("acme");
    let gateway = gwbridge_gateway();
    let pebble = Pebble::start(gateway);
    e.world.write("pebble-listener-ca.pem", &pebble.listener_ca);
    e.world.write(
        "main.berth",
        &format!(
            r#"platform {{
  domain              = "{domain}"
  acme_email          = "ops@{domain}"
  acme_ca             = "{directory}"
  acme_ca_certificate = "pebble-listener-ca.pem"

  proxy {{
    http_port  = 18080
    https_port = {HTTPS_PORT}
    edge_slots = 8
  }}
}}

{project}"#,
            domain = e.domain,
            directory = pebble.directory,
            project = routed(&name, ""),
        ),
    );
    let host = e.host(&name);

    let start = Instant::now();
    let out = e.apply(&name, "production", &[]);
    let applied = start.elapsed();
    expect_code(&out, 0);
    // Berth's own check waited for the certificate, so it warns of no default certificate.
    let said = text(&out);
    assert!(
        said.contains(&format!("Route https://{host}:{HTTPS_PORT}/ answers (200)")),
        "{said}"
    );
    assert!(!said.contains("default certificate"), "{said}");

    // Pebble is on-link from the proxy's task: no gateway between them.
    let proxy_pid = pid_of(&container_of(PROXY));
    let route = ip_in(&proxy_pid, &["route", "get", &gateway.to_string()]);
    assert!(
        route.status.success() && !stdout(&route).contains(" via "),
        "{}",
        text(&route)
    );

    // A client that trusts pebble's root alone verifies the chain and the name.
    let trust = roots(&pebble.root);
    let verified = until_status(Duration::from_secs(60), 200, || {
        https_get(HTTPS_PORT, &host, "/", &trust, None)
    });
    let total = start.elapsed();
    let (_, answer) = verified.unwrap_or_else(|err| {
        let logs = docker(&["service", "logs", "--tail", "40", PROXY]);
        panic!(
            "no certificate from pebble for {host}: {err}\n--- proxy:\n{}\n--- pebble:\n{}",
            text(&logs),
            pebble.log()
        )
    });
    assert!(
        answer.body.contains(&format!("project={name}")),
        "{answer:?}"
    );
    eprintln!(
        "tls: certificate from pebble: apply (with its route check) {:.1}s, valid certificate {:.1}s after the apply started",
        applied.as_secs_f64(),
        total.as_secs_f64()
    );
    // A client trusting only the listener's CA (not pebble's root) refuses it: the trust comes
    // from the certificate pebble issued.
    let other = roots(&pebble.listener_ca);
    let refused = https_get(HTTPS_PORT, &host, "/", &other, None);
    assert!(refused.is_err(), "{refused:?}");
    drop(e);
    drop(pebble);
}

#[test]
fn custom_certificates_and_the_dashboard_behind_basic_auth() {
    let mut e = Edge::new();
    let name = e.world.project("custom");
    let host = e.host(&name);
    let dashboard = format!("traefik.{}", e.domain);
    let uncovered = e.host("uncovered");
    // The certificate covers the project's host and the dashboard's; its key comes from the
    // environment, the chain from a file.
    self_signed(&e.world.dir, "shop", &[&host, &dashboard]);
    let key = std::fs::read_to_string(e.world.dir.join("shop.key")).unwrap();
    std::fs::remove_file(e.world.dir.join("shop.key")).unwrap();
    let cert = std::fs::read_to_string(e.world.dir.join("shop.pem")).unwrap();
    let password = format!("pw-{}", e.world.id);
    let hash = Command::new("openssl")
        .args(["passwd", "-apr1", &password])
        .output()
        .expect("openssl runs");
    assert!(hash.status.success(), "{}", text(&hash));
    e.world.write(
        "dashboard.htpasswd",
        &format!("admin:{}", stdout(&hash).trim()),
    );
    e.world.write(
        "main.berth",
        &format!(
            r#"platform {{
  domain = "{domain}"

  certificate shop {{
    cert    = "shop.pem"
    key_env = "BERTH_E2E_SHOP_KEY"
  }}

  proxy {{
    http_port       = 18080
    https_port      = {HTTPS_PORT}
    edge_slots      = 8
    dashboard       = true
    dashboard_users = "dashboard.htpasswd"
  }}
}}

{project}"#,
            domain = e.domain,
            project = routed(&name, "\n      tls     = true"),
        ),
    );
    let env = [("BERTH_E2E_SHOP_KEY", key.as_str())];
    let plan = e.world.berth_env(&["plan", e.world.dir_str()], &env);
    expect_code(&plan, 0);
    let out = e.world.berth_env(
        &[
            "apply",
            "--auto-approve",
            "--project",
            &name,
            "--env",
            "production",
            e.world.dir_str(),
        ],
        &env,
    );
    expect_code(&out, 0);
    let said = text(&out);
    assert!(
        said.contains(&format!("Route https://{host}:{HTTPS_PORT}/ answers (200)")),
        "{said}"
    );
    assert!(!said.contains("default certificate"), "{said}");

    // A client that trusts only this certificate gets it for the host, chosen by SNI.
    let trust = roots(&cert);
    let (_, answer) = until_status(Duration::from_secs(30), 200, || {
        https_get(HTTPS_PORT, &host, "/", &trust, None)
    })
    .unwrap_or_else(|err| panic!("{host} with the custom certificate: {err}"));
    assert!(
        answer.body.contains(&format!("project={name}")),
        "{answer:?}"
    );
    // A host it does not cover gets Traefik's default certificate, which that client refuses.
    let refused = https_get(HTTPS_PORT, &uncovered, "/", &trust, None);
    assert!(refused.is_err(), "{refused:?}");

    // The dashboard: 401 without credentials or with wrong ones, 200 with them.
    let (_, denied) = until_status(Duration::from_secs(30), 401, || {
        https_get(HTTPS_PORT, &dashboard, "/dashboard/", &trust, None)
    })
    .unwrap_or_else(|err| panic!("the dashboard at {dashboard} without credentials: {err}"));
    assert_eq!(denied.status, 401);
    let wrong = https_get(
        HTTPS_PORT,
        &dashboard,
        "/api/overview",
        &trust,
        Some("admin:wrong"),
    )
    .unwrap();
    assert_eq!(wrong.status, 401, "{wrong:?}");
    let credentials = format!("admin:{password}");
    let ok = https_get(
        HTTPS_PORT,
        &dashboard,
        "/api/overview",
        &trust,
        Some(&credentials),
    )
    .unwrap();
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(ok.body.contains("\"http\""), "{ok:?}");
    let page = https_get(
        HTTPS_PORT,
        &dashboard,
        "/dashboard/",
        &trust,
        Some(&credentials),
    )
    .unwrap();
    assert_eq!(page.status, 200, "{page:?}");

    // The key never appears in plans, state or berth's output: only digests do.
    let key_line = key
        .lines()
        .find(|l| !l.starts_with("-----") && l.len() > 20)
        .expect("a base64 line of the key");
    for (what, text) in [
        ("plan", crate::harness::text(&plan)),
        ("apply", said),
        ("state", read_tree(&e.world.state)),
    ] {
        assert!(!text.contains(key_line), "the key appears in the {what}");
    }
    let secrets = docker(&[
        "secret",
        "ls",
        "--filter",
        "label=berth.project=platform",
        "--format",
        "{{.Name}}",
    ]);
    let secrets = stdout(&secrets);
    assert!(secrets.contains("platform_tls-shop-key_"), "{secrets}");
    assert!(secrets.contains("platform_dashboard-users_"), "{secrets}");
}
