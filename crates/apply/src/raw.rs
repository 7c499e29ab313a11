//! Raw reads of the Engine API. bollard's types follow Docker's swagger file, which names a
//! container's health check `HealthCheck` while the engine answers `Healthcheck`; read through
//! bollard, every health check would vanish and plan as a change forever. So the list calls that
//! feed the planner fetch Docker's JSON as it is, the same bytes the planner's fixtures hold.
//!
//! This is a small HTTP/1.0 client (the engine then answers without chunking and closes) for
//! `unix://` and plain `tcp://` endpoints. Over TLS (`DOCKER_TLS_VERIFY`), reads go through
//! bollard instead, with the health check caveat above.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone)]
pub enum Endpoint {
    Unix(String),
    Tcp(String),
}

impl Endpoint {
    /// The endpoint of `DOCKER_HOST` (default: the local socket), unless it needs TLS.
    pub fn from_env() -> Option<Endpoint> {
        let host =
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
        if let Some(path) = host.strip_prefix("unix://") {
            return Some(Endpoint::Unix(path.to_string()));
        }
        let tls = std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty());
        match host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))
        {
            Some(addr) if !tls => Some(Endpoint::Tcp(addr.trim_end_matches('/').to_string())),
            _ => None,
        }
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
                let mut s = tokio::net::UnixStream::connect(socket).await?;
                s.write_all(request.as_bytes()).await?;
                s.read_to_end(&mut response).await?;
            }
            Endpoint::Tcp(addr) => {
                let mut s = tokio::net::TcpStream::connect(addr).await?;
                s.write_all(request.as_bytes()).await?;
                s.read_to_end(&mut response).await?;
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
