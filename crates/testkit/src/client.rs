//! An HTTPS client for tests: one `GET` over TLS to 127.0.0.1, with SNI and Host set to a name,
//! verifying the chain against the given roots only and the certificate's name.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A root store holding the certificates of a PEM text.
pub fn roots(pem: &str) -> Result<Arc<RootCertStore>, String> {
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("PEM: {e}"))?;
        store.add(cert).map_err(|e| format!("a root: {e}"))?;
    }
    if store.is_empty() {
        return Err("no certificate in the PEM text".into());
    }
    Ok(Arc::new(store))
}

/// What an HTTPS request saw.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// `GET path` over TLS to `127.0.0.1:port` with SNI and Host `name` (a DNS name or an IP),
/// trusting `roots` only; `authorization` is `user:password` for basic authentication.
pub fn https_get(
    port: u16,
    name: &str,
    path: &str,
    roots: &Arc<RootCertStore>,
    authorization: Option<&str>,
) -> Result<Answer, String> {
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
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
        .map(|a| format!("Authorization: Basic {}\r\n", STANDARD.encode(a)))
        .unwrap_or_default();
    tls.write_all(
        format!("GET {path} HTTP/1.0\r\nHost: {name}\r\nUser-Agent: berth-test\r\n{auth}\r\n")
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
    answer(&raw)
}

/// `GET path` in plain HTTP to `127.0.0.1:port` with Host `host`, bounded by `timeout`.
pub fn http_get(port: u16, host: &str, path: &str, timeout: Duration) -> Result<Answer, String> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream =
        TcpStream::connect_timeout(&address, timeout).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(timeout)).ok();
    stream.set_write_timeout(Some(timeout)).ok();
    stream
        .write_all(
            format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: berth-test\r\n\r\n")
                .as_bytes(),
        )
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read: {e}"))?;
    answer(&raw)
}

/// The status and body of an HTTP/1.0 answer read to its end.
fn answer(raw: &[u8]) -> Result<Answer, String> {
    let text = String::from_utf8_lossy(raw);
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

/// Repeats `get` until it answers `status` (bounded by `limit`): how long that took and the
/// answer, or the last thing seen.
pub fn until_status(
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

#[cfg(test)]
mod tests {
    #[test]
    fn answers_are_read_as_status_and_body() {
        let a = super::answer(b"HTTP/1.0 404 Not Found\r\nX: y\r\n\r\nnot found\n").unwrap();
        assert_eq!((a.status, a.body.as_str()), (404, "not found\n"));
        assert!(super::answer(b"garbage").is_err());
    }

    #[test]
    fn roots_refuse_text_without_a_certificate() {
        assert!(super::roots("not a certificate").is_err());
    }
}
