//! Pebble, Let's Encrypt's test CA (Debian's `pebble`), as a child process killed when dropped.
//!
//! It listens on the gateway address of `docker_gwbridge` (on-link from the proxy's task) with a
//! listener certificate of a CA made here, and its management interface (which gives the root it
//! issues under) on 127.0.0.1. It runs without validation (`PEBBLE_VA_ALWAYS_VALID=1`: the
//! proxy's ports are not where pebble would look), without artificial delays, and without nonce
//! rejections.

use crate::certs;
use crate::client::{https_get, roots, until_status};
use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Pebble {
    child: Child,
    dir: PathBuf,
    /// Where the proxy reaches its ACME directory: `https://<gateway>:<port>/dir`.
    pub directory: String,
    /// The CA of the listener's certificate (PEM): what the proxy's ACME client must trust.
    pub listener_ca: String,
    /// The root pebble issues certificates under (PEM), from its management interface.
    pub root: String,
}

/// A free TCP port on `ip` (bound and released; the caller starts its listener right after).
pub fn free_port(ip: IpAddr) -> Result<u16, String> {
    Ok(TcpListener::bind((ip, 0))
        .map_err(|e| format!("no free port on {ip}: {e}"))?
        .local_addr()
        .map_err(|e| e.to_string())?
        .port())
}

/// The IPv4 gateway of `docker_gwbridge`: an address of this machine that every task with
/// published host ports has on-link.
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
        .map_err(|e| format!("docker: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find_map(|a| a.parse::<IpAddr>().ok().filter(IpAddr::is_ipv4))
        .ok_or_else(|| {
            format!(
                "docker_gwbridge has no IPv4 gateway: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

impl Pebble {
    /// Starts pebble on `gateway`, keeping its files under `parent` (removed when dropped), and
    /// waits (bounded) until its management interface gives its root.
    pub fn start(gateway: IpAddr, parent: &Path) -> Result<Pebble, String> {
        let dir = parent.join(format!("pebble-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let localhost: IpAddr = [127, 0, 0, 1].into();
        certs::ca(&dir, "ca", "berth test pebble listener CA")?;
        certs::signed(
            &dir,
            "ca",
            "listener",
            &certs::server_extensions(&[], &[gateway, localhost]),
        )?;
        let (port, management) = (free_port(gateway)?, free_port(localhost)?);
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
        std::fs::write(dir.join("pebble.json"), config.to_string()).map_err(|e| e.to_string())?;
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
            .map_err(|e| format!("pebble does not run ({e}); apt-get install pebble"))?;
        let listener_ca = std::fs::read_to_string(dir.join("ca.pem")).map_err(|e| e.to_string())?;
        let mut pebble = Pebble {
            child,
            dir,
            directory: format!("https://{gateway}:{port}/dir"),
            listener_ca,
            root: String::new(),
        };
        // Its management interface, verified against the listener's CA, gives the root.
        let trust = roots(&pebble.listener_ca)?;
        let (_, answer) = until_status(Duration::from_secs(20), 200, || {
            https_get(management, "127.0.0.1", "/roots/0", &trust, None)
        })
        .map_err(|e| {
            format!(
                "pebble's management interface did not answer: {e}\n{}",
                pebble.log()
            )
        })?;
        pebble.root = answer.body;
        Ok(pebble)
    }

    /// What pebble logged so far.
    pub fn log(&self) -> String {
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
