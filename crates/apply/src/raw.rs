//! Raw reads of the Engine API. bollard's types follow Docker's swagger file, which names a
//! container's health check `HealthCheck` while the engine answers `Healthcheck`; read through
//! bollard, every health check would vanish and plan as a change forever. So the list calls that
//! feed the planner fetch Docker's JSON as it is, the same bytes the planner's fixtures hold.
//!
//! This is a small HTTP/1.0 client (the engine then answers without chunking and closes) for
//! `unix://`, plain `tcp://`, and `tcp://` with TLS (`DOCKER_TLS_VERIFY`, with `ca.pem`,
//! `cert.pem` and `key.pem` from `DOCKER_CERT_PATH` or `~/.docker`, as the docker CLI reads
//! them): the server is verified against that CA alone, and berth authenticates with the client
//! certificate.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::rustls;

#[derive(Debug, Clone)]
pub enum Endpoint {
    Unix(String),
    Tcp(String),
    /// `host:port`, and the directory holding `ca.pem`, `cert.pem` and `key.pem`.
    Tls {
        addr: String,
        certs: PathBuf,
    },
}

impl Endpoint {
    /// The endpoint of `DOCKER_HOST` (default: the local socket); `None` for schemes berth
    /// reads through bollard only (e.g. `npipe://`, `ssh://`).
    pub fn from_env() -> Option<Endpoint> {
        let host =
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
        if let Some(path) = host.strip_prefix("unix://") {
            return Some(Endpoint::Unix(path.to_string()));
        }
        let tls = std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty());
        let addr = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))
            .or_else(|| host.strip_prefix("https://"))?
            .trim_end_matches('/')
            .to_string();
        if !tls {
            return Some(Endpoint::Tcp(addr));
        }
        let certs = match std::env::var_os("DOCKER_CERT_PATH").filter(|p| !p.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => PathBuf::from(std::env::var_os("HOME")?).join(".docker"),
        };
        Some(Endpoint::Tls { addr, certs })
    }
}

/// The client side of a TLS endpoint: trusts only the endpoint's CA, presents its certificate.
fn tls_config(certs: &std::path::Path) -> Result<rustls::ClientConfig, String> {
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

/// Sends the request and reads the whole answer (the server closes after an HTTP/1.0 answer).
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
    response: &mut Vec<u8>,
) -> std::io::Result<()> {
    stream.write_all(request).await?;
    match stream.read_to_end(response).await {
        // A TLS server may close without a close_notify once it has answered in full.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => Ok(()),
        other => other.map(|_| ()),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("GET {path}: {message}")]
pub struct RawError {
    pub path: String,
    pub message: String,
}

/// GETs `path` (e.g. `/v1.41/services?status=true`) and returns the body of a 200 answer.
pub async fn get(endpoint: &Endpoint, path: &str, timeout: Duration) -> Result<String, RawError> {
    let err = |message: String| RawError {
        path: path.to_string(),
        message,
    };
    let request = format!("GET {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: berth\r\nAccept: application/json\r\n\r\n");
    let mut response = Vec::new();
    let io = async {
        match endpoint {
            Endpoint::Unix(socket) => {
                let s = tokio::net::UnixStream::connect(socket).await?;
                exchange(s, request.as_bytes(), &mut response).await?;
            }
            Endpoint::Tcp(addr) => {
                let s = tokio::net::TcpStream::connect(addr).await?;
                exchange(s, request.as_bytes(), &mut response).await?;
            }
            Endpoint::Tls { addr, certs } => {
                let config = tls_config(certs).map_err(std::io::Error::other)?;
                let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
                let name = rustls::pki_types::ServerName::try_from(
                    host.trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_string(),
                )
                .map_err(std::io::Error::other)?;
                let tcp = tokio::net::TcpStream::connect(addr).await?;
                let s = tokio_rustls::TlsConnector::from(Arc::new(config))
                    .connect(name, tcp)
                    .await?;
                exchange(s, request.as_bytes(), &mut response).await?;
            }
        }
        Ok::<_, std::io::Error>(())
    };
    tokio::time::timeout(timeout, io)
        .await
        .map_err(|_| err("timed out".into()))?
        .map_err(|e| err(e.to_string()))?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| err("malformed HTTP answer".into()))?;
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let body = String::from_utf8(response[split + 4..].to_vec())
        .map_err(|_| err("the answer is not UTF-8".into()))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(err(format!("HTTP {status}: {}", body.trim())));
    }
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Ok(dechunk(&body));
    }
    Ok(body)
}

/// Decodes a chunked body (in case a server chunks even an HTTP/1.0 answer).
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// Percent-encodes a query value (filters are JSON).
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dechunks_and_encodes() {
        assert_eq!(
            super::dechunk("4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"),
            "Wikipedia"
        );
        assert_eq!(
            super::encode("{\"label\":[\"a=b\"]}"),
            "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D"
        );
    }
}
