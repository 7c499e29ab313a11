//! Pebble, Let's Encrypt's test CA (Debian's `pebble`), for the certificate measurement of
//! `berth-bench edge`, and a TLS client that trusts only a given root.
//!
//! Pebble listens on the gateway address of `docker_gwbridge`, an address of this machine that
//! the proxy's task has on-link, with a listener certificate made here by the openssl CLI; its
//! management interface (which gives the root it issues under) listens on 127.0.0.1. It runs
//! without validation (`PEBBLE_VA_ALWAYS_VALID=1`) and is killed when dropped.

use base64::Engine;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Pebble {
    child: Child,
    dir: PathBuf,
    /// `https://<gateway>:<port>/dir`.
    pub directory: String,
    /// The CA of the listener's certificate (PEM): what the proxy's ACME client must trust.
    pub listener_ca: String,
    /// The root pebble issues under (PEM).
    pub root: String,
}

fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("openssl: {e} (apt-get install openssl)"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The IPv4 gateway of `docker_gwbridge`.
pub fn gwbridge_gateway() -> Result<IpAddr, String> {
    let out = Command::new("docker")
        .args([
            "network",
            "inspect",
            "docker_gwbridge",
            "--format",
            "{{range .IPAM.Config}}{{.Gateway}} {{end}}",
        ])
        .output()
        .map_err(|e| e.to_string())?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find_map(|a| a.parse::<IpAddr>().ok().filter(IpAddr::is_ipv4))
        .ok_or_else(|| "docker_gwbridge has no IPv4 gateway".to_string())
}

fn free_port(ip: IpAddr) -> Result<u16, String> {
    Ok(TcpListener::bind((ip, 0))
        .map_err(|e| format!("no free port on {ip}: {e}"))?
        .local_addr()
        .map_err(|e| e.to_string())?
        .port())
}

impl Pebble {
    pub fn start(gateway: IpAddr, dir: &Path) -> Result<Pebble, String> {
        let dir = dir.join("pebble");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=berth-bench pebble listener CA",
        ]);
        ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
        openssl(&dir, &ca)?;
        let mut req = vec!["req", "-new"];
        req.extend(ec);
        req.extend(["-nodes", "-subj", "/CN=pebble", "-keyout", "listener.key"]);
        req.extend(["-out", "listener.csr"]);
        openssl(&dir, &req)?;
        std::fs::write(
            dir.join("listener.ext"),
            format!("subjectAltName=IP:{gateway},IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"),
        )
        .map_err(|e| e.to_string())?;
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "listener.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                "listener.ext",
                "-out",
                "listener.pem",
            ],
        )?;
        let localhost: IpAddr = [127, 0, 0, 1].into();
        let (port, management) = (free_port(gateway)?, free_port(localhost)?);
        let config = format!(
            r#"{{"pebble": {{"listenAddress": "{gateway}:{port}", "managementListenAddress": "127.0.0.1:{management}", "certificate": "{}", "privateKey": "{}", "httpPort": 5002, "tlsPort": 5001, "ocspResponderURL": "", "externalAccountBindingRequired": false}}}}"#,
            dir.join("listener.pem").display(),
            dir.join("listener.key").display()
        );
        std::fs::write(dir.join("pebble.json"), config).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("pebble.log")).map_err(|e| e.to_string())?;
        let child = Command::new("pebble")
            .arg("-config")
            .arg(dir.join("pebble.json"))
            .env("PEBBLE_VA_ALWAYS_VALID", "1")
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(Stdio::from(log.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("pebble: {e} (apt-get install pebble)"))?;
        let listener_ca = std::fs::read_to_string(dir.join("ca.pem")).map_err(|e| e.to_string())?;
        let mut pebble = Pebble {
            child,
            dir,
            directory: format!("https://{gateway}:{port}/dir"),
            listener_ca,
            root: String::new(),
        };
        let trust = roots(&pebble.listener_ca)?;
        let start = Instant::now();
        loop {
            match get(management, "127.0.0.1", "/roots/0", &trust) {
                Ok((200, body)) => {
                    pebble.root = body;
                    return Ok(pebble);
                }
                _ if start.elapsed() < Duration::from_secs(20) => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                other => return Err(format!("pebble's management interface: {other:?}")),
            }
        }
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A root store of the PEM certificates of `pem`.
pub fn roots(pem: &str) -> Result<Arc<RootCertStore>, String> {
    let mut store = RootCertStore::empty();
    let mut body: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        match line {
            "-----BEGIN CERTIFICATE-----" => body = Some(String::new()),
            "-----END CERTIFICATE-----" => {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(body.take().unwrap_or_default())
                    .map_err(|e| e.to_string())?;
                store
                    .add(CertificateDer::from(der))
                    .map_err(|e| e.to_string())?;
            }
            _ => {
                if let Some(b) = body.as_mut() {
                    b.push_str(line)
                }
            }
        }
    }
    if store.is_empty() {
        return Err("no certificate in the PEM text".into());
    }
    Ok(Arc::new(store))
}

/// `GET path` over TLS to 127.0.0.1:`port`, SNI and Host `name`, trusting `roots` only and
/// checking the certificate's name: (status, body).
pub fn get(
    port: u16,
    name: &str,
    path: &str,
    roots: &Arc<RootCertStore>,
) -> Result<(u16, String), String> {
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
    let server = ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), server).map_err(|e| e.to_string())?;
    let mut sock = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(5),
    )
    .map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    tls.write_all(format!("GET {path} HTTP/1.0\r\nHost: {name}\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e.to_string()),
    }
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP answer")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    Ok((status, body.to_string()))
}
