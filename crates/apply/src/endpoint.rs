//! Where the Docker Engine is and how to reach it, read once per run: `DOCKER_HOST` (default: the
//! local socket), and for `tcp://` with `DOCKER_TLS_VERIFY` set, `ca.pem`, `cert.pem` and
//! `key.pem` from `DOCKER_CERT_PATH` (or `~/.docker`), as the docker CLI reads them. The
//! certificates are loaded here, once, into one TLS configuration: the server is verified
//! against that CA alone, and berth authenticates with the client certificate.
//!
//! **Architecture invariant:** this is the only place in berth that reads those variables;
//! [`crate::connect`] builds one HTTP client from the endpoint and hands it to bollard and to
//! [`crate::raw`] alike.

use crate::error::ApplyError;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls;

/// The socket berth uses when `DOCKER_HOST` is not set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// How to open a connection to the engine.
#[derive(Clone)]
pub enum Transport {
    Unix(PathBuf),
    Tcp {
        /// `host:port`.
        addr: String,
    },
    Tls {
        /// `host:port`.
        addr: String,
        /// The name the server's certificate must carry (the host of `addr`).
        server_name: rustls::pki_types::ServerName<'static>,
        config: Arc<rustls::ClientConfig>,
    },
}

/// The engine's connection settings of this run.
#[derive(Clone)]
pub struct EngineEndpoint {
    /// `DOCKER_HOST` as given (or [`DEFAULT_HOST`]), for messages.
    pub host: String,
    pub transport: Transport,
}

impl std::fmt::Debug for EngineEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.transport {
            Transport::Unix(_) => "unix",
            Transport::Tcp { .. } => "tcp",
            Transport::Tls { .. } => "tcp+tls",
        };
        write!(f, "EngineEndpoint({} over {kind})", self.host)
    }
}

/// The environment variables an endpoint is made from, so that parsing is tested without
/// touching the process environment.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub docker_host: Option<String>,
    pub tls_verify: bool,
    pub cert_path: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

impl Settings {
    /// Reads `DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH` and `HOME`.
    pub fn from_env() -> Settings {
        let non_empty = |v: OsString| (!v.is_empty()).then_some(v);
        Settings {
            docker_host: std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()),
            tls_verify: std::env::var_os("DOCKER_TLS_VERIFY")
                .and_then(non_empty)
                .is_some(),
            cert_path: std::env::var_os("DOCKER_CERT_PATH")
                .and_then(non_empty)
                .map(PathBuf::from),
            home: std::env::var_os("HOME")
                .and_then(non_empty)
                .map(PathBuf::from),
        }
    }
}

/// The hint of every connection failure: what to check, by kind of endpoint.
pub fn unreachable(host: &str, message: String) -> ApplyError {
    let hint = if let Some(socket) = host.strip_prefix("unix://") {
        format!("is the Docker daemon running, and may this user open {socket}? (`docker info` shows the same problem)")
    } else {
        "check DOCKER_HOST, and DOCKER_TLS_VERIFY/DOCKER_CERT_PATH for TLS; `docker info` shows the same problem".to_string()
    };
    ApplyError::Unreachable {
        endpoint: host.to_string(),
        message,
        hint,
    }
}

impl EngineEndpoint {
    /// The endpoint of this process's environment.
    pub fn from_env() -> Result<EngineEndpoint, ApplyError> {
        EngineEndpoint::from_settings(&Settings::from_env())
    }

    /// The endpoint of `settings`, with its certificates loaded when it uses TLS.
    pub fn from_settings(settings: &Settings) -> Result<EngineEndpoint, ApplyError> {
        let host = settings
            .docker_host
            .clone()
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        let fail = |message: String| unreachable(&host, message);
        if let Some(path) = host.strip_prefix("unix://") {
            return Ok(EngineEndpoint {
                transport: Transport::Unix(PathBuf::from(path)),
                host,
            });
        }
        let Some(rest) = ["tcp://", "http://", "https://"]
            .iter()
            .find_map(|scheme| host.strip_prefix(scheme))
        else {
            return Err(fail(
                "berth speaks to the engine over unix://, tcp:// and tcp:// with TLS only".into(),
            ));
        };
        let addr = rest.trim_end_matches('/').to_string();
        if addr.is_empty() {
            return Err(fail("DOCKER_HOST names no address".into()));
        }
        if !settings.tls_verify {
            return Ok(EngineEndpoint {
                transport: Transport::Tcp { addr },
                host,
            });
        }
        let certs = match (&settings.cert_path, &settings.home) {
            (Some(dir), _) => dir.clone(),
            (None, Some(home)) => home.join(".docker"),
            (None, None) => {
                return Err(fail(
                    "DOCKER_TLS_VERIFY is set, but neither DOCKER_CERT_PATH nor HOME is".into(),
                ))
            }
        };
        let name = host_of(&addr).to_string();
        let server_name = rustls::pki_types::ServerName::try_from(name)
            .map_err(|e| fail(format!("{addr} is no server name: {e}")))?;
        let config = tls_config(&certs).map_err(fail)?;
        Ok(EngineEndpoint {
            transport: Transport::Tls {
                addr,
                server_name,
                config: Arc::new(config),
            },
            host,
        })
    }

    /// Where the platform's proxy listens: the engine's host for a TCP endpoint, loopback for
    /// the local socket.
    pub fn proxy_host(&self) -> String {
        match &self.transport {
            Transport::Unix(_) => "127.0.0.1".into(),
            Transport::Tcp { addr } | Transport::Tls { addr, .. } => host_of(addr).to_string(),
        }
    }
}

/// The host of `host:port` (brackets removed from an IPv6 address).
fn host_of(addr: &str) -> &str {
    let host = match addr.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => addr,
    };
    host.trim_start_matches('[').trim_end_matches(']')
}

/// The client side of a TLS endpoint: trusts only the endpoint's CA, presents its certificate.
fn tls_config(certs: &Path) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let file = |name: &str| certs.join(name);
    let read_certs = |name: &str| -> Result<Vec<CertificateDer<'static>>, String> {
        CertificateDer::pem_file_iter(file(name))
            .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("cannot read {}: {e}", file(name).display()))
    };
    let mut roots = rustls::RootCertStore::empty();
    for ca in read_certs("ca.pem")? {
        roots
            .add(ca)
            .map_err(|e| format!("{}: {e}", file("ca.pem").display()))?;
    }
    let chain = read_certs("cert.pem")?;
    let key = PrivateKeyDer::from_pem_file(file("key.pem"))
        .map_err(|e| format!("cannot read {}: {e}", file("key.pem").display()))?;
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| format!("the client certificate: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(host: Option<&str>, tls: bool, certs: Option<&str>) -> Result<EngineEndpoint, String> {
        EngineEndpoint::from_settings(&Settings {
            docker_host: host.map(str::to_string),
            tls_verify: tls,
            cert_path: certs.map(PathBuf::from),
            home: None,
        })
        .map_err(|e| match e {
            ApplyError::Unreachable { message, hint, .. } => format!("{message} / {hint}"),
            other => other.to_string(),
        })
    }

    #[test]
    fn reads_the_schemes_berth_speaks() {
        let local = parse(None, false, None).unwrap();
        assert_eq!(local.host, DEFAULT_HOST);
        assert!(
            matches!(&local.transport, Transport::Unix(p) if p == Path::new("/var/run/docker.sock"))
        );
        assert_eq!(local.proxy_host(), "127.0.0.1");

        let tcp = parse(Some("tcp://10.0.0.5:2375/"), false, None).unwrap();
        assert!(matches!(&tcp.transport, Transport::Tcp { addr } if addr == "10.0.0.5:2375"));
        assert_eq!(tcp.proxy_host(), "10.0.0.5");

        let v6 = parse(Some("tcp://[::1]:2375"), false, None).unwrap();
        assert_eq!(v6.proxy_host(), "::1");
    }

    #[test]
    fn refuses_what_it_cannot_speak_and_says_what_to_check() {
        let ssh = parse(Some("ssh://me@host"), false, None).unwrap_err();
        assert!(ssh.contains("unix://, tcp://"), "{ssh}");
        assert!(ssh.contains("check DOCKER_HOST"), "{ssh}");

        let nothing = parse(Some("tcp://"), false, None).unwrap_err();
        assert!(nothing.contains("no address"), "{nothing}");

        let no_dir = parse(Some("tcp://h:2376"), true, None).unwrap_err();
        assert!(
            no_dir.contains("neither DOCKER_CERT_PATH nor HOME"),
            "{no_dir}"
        );
    }

    #[test]
    fn tls_without_certificates_names_the_missing_file() {
        let dir = std::env::temp_dir().join(format!("berth-endpoint-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = parse(Some("tcp://h:2376"), true, dir.to_str()).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(missing.contains("ca.pem"), "{missing}");
        assert!(missing.contains("DOCKER_CERT_PATH"), "{missing}");
    }
}
