//! After an apply, berth checks that each new or changed route answers through the proxy, with
//! its Host (and, for TLS routes, its SNI), before it reports success: a route that exists in
//! labels but does not answer is a failed deployment, not a surprise for users. For TLS routes it
//! also tells whether the proxy still serves Traefik's self-signed default certificate; a route
//! that asks ACME for its certificate is given the rest of the time to get it (the CA answers
//! within seconds once the router exists), so a fresh apply reports the real outcome.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::http::{header, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A route to check.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub path: String,
    pub tls: bool,
    /// The route's certificate comes from the ACME resolver: keep checking (within the
    /// timeout) while the proxy still serves its default certificate.
    pub acme: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The service answered (any status the proxy did not make up itself).
    Answered {
        status: u16,
        default_certificate: bool,
    },
    /// Only the proxy answered (no router, or no healthy backend), or nothing did.
    NotAnswering { reason: String },
}

/// Checks one route until it answers (with its ACME certificate, for a route that asks for
/// one) or `timeout` passes (bounded: one request every 250 ms).
pub async fn route(
    proxy: &str,
    http_port: u16,
    https_port: u16,
    target: &Target,
    timeout: Duration,
) -> Outcome {
    let start = Instant::now();
    let mut last = Outcome::NotAnswering {
        reason: "not tried".into(),
    };
    while start.elapsed() < timeout {
        last = once(proxy, http_port, https_port, target).await;
        match last {
            Outcome::Answered {
                default_certificate: true,
                ..
            } if target.acme => {}
            Outcome::Answered { .. } => return last,
            Outcome::NotAnswering { .. } => {}
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    last
}

async fn once(proxy: &str, http_port: u16, https_port: u16, t: &Target) -> Outcome {
    let port = if t.tls { https_port } else { http_port };
    let connect =
        tokio::time::timeout(Duration::from_secs(3), TcpStream::connect((proxy, port))).await;
    let stream = match connect {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Outcome::NotAnswering {
                reason: format!("cannot connect to {proxy}:{port}: {e}"),
            }
        }
        Err(_) => {
            return Outcome::NotAnswering {
                reason: format!("connecting to {proxy}:{port} timed out"),
            }
        }
    };
    let exchange = async {
        if t.tls {
            let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
                tokio_rustls::rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny))
            .with_no_client_auth();
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from(t.host.clone())
                .map_err(|e| e.to_string())?;
            let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, stream)
                .await
                .map_err(|e| e.to_string())?;
            let default_certificate = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .is_some_and(|leaf| contains(leaf.as_ref(), b"TRAEFIK DEFAULT CERT"));
            let (status, body) = get(tls, t).await?;
            Ok::<_, String>((status, body, default_certificate))
        } else {
            let (status, body) = get(stream, t).await?;
            Ok((status, body, false))
        }
    };
    match tokio::time::timeout(Duration::from_secs(5), exchange).await {
        Ok(Ok((status, body, default_certificate))) => classify(status, &body, default_certificate),
        Ok(Err(e)) => Outcome::NotAnswering { reason: e },
        Err(_) => Outcome::NotAnswering {
            reason: "no answer within 5 s".into(),
        },
    }
}

/// One GET of the target's path with its Host over `io` (HTTP/1.1 through hyper), and the
/// answer's status and body.
async fn get<S>(io: S, t: &Target) -> Result<(StatusCode, Bytes), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let fail = |e: &dyn std::error::Error| format!("no HTTP answer: {}", crate::raw::chain(e));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| fail(&e))?;
    let request = Request::get(t.path.as_str())
        .header(header::HOST, t.host.as_str())
        .header(header::USER_AGENT, "berth-verify")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("cannot ask for {}{}: {e}", t.host, t.path))?;
    let exchange = async move {
        let response = sender.send_request(request).await.map_err(|e| fail(&e))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| fail(&e))?
            .to_bytes();
        Ok((status, body))
    };
    // The connection is driven beside the exchange; it ends once the exchange drops its sender.
    let (answer, _) = tokio::join!(exchange, connection);
    answer
}

/// Traefik answers 404 with this body when no router matches, and 502/503/504 when no backend
/// can take the request: those are the proxy speaking, not the service.
fn classify(status: StatusCode, body: &[u8], default_certificate: bool) -> Outcome {
    match status.as_u16() {
        404 if body == b"404 page not found\n" => Outcome::NotAnswering {
            reason: "the proxy has no router for this host yet".into(),
        },
        code @ 502..=504 => Outcome::NotAnswering {
            reason: format!(
                "the proxy answered {code}: no task behind the route answered it (none is healthy yet, or none listens on the route's `port`)"
            ),
        },
        code => Outcome::Answered {
            status: code,
            default_certificate,
        },
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Reachability, not trust: berth checks whether the route answers and which certificate it
/// serves; trusting it is the client's business.
#[derive(Debug)]
struct AcceptAny;

impl tokio_rustls::rustls::client::danger::ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &tokio_rustls::rustls::pki_types::CertificateDer<'_>,
        _: &[tokio_rustls::rustls::pki_types::CertificateDer<'_>],
        _: &tokio_rustls::rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: tokio_rustls::rustls::pki_types::UnixTime,
    ) -> Result<tokio_rustls::rustls::client::danger::ServerCertVerified, tokio_rustls::rustls::Error>
    {
        Ok(tokio_rustls::rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &tokio_rustls::rustls::pki_types::CertificateDer<'_>,
        _: &tokio_rustls::rustls::DigitallySignedStruct,
    ) -> Result<
        tokio_rustls::rustls::client::danger::HandshakeSignatureValid,
        tokio_rustls::rustls::Error,
    > {
        Ok(tokio_rustls::rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &tokio_rustls::rustls::pki_types::CertificateDer<'_>,
        _: &tokio_rustls::rustls::DigitallySignedStruct,
    ) -> Result<
        tokio_rustls::rustls::client::danger::HandshakeSignatureValid,
        tokio_rustls::rustls::Error,
    > {
        Ok(tokio_rustls::rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<tokio_rustls::rustls::SignatureScheme> {
        tokio_rustls::rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_proxy_from_the_service() {
        assert!(matches!(
            classify(StatusCode::NOT_FOUND, b"404 page not found\n", false),
            Outcome::NotAnswering { .. }
        ));
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, b"Bad Gateway", false),
            Outcome::NotAnswering { .. }
        ));
        assert_eq!(
            classify(StatusCode::OK, b"berth-demo", true),
            Outcome::Answered {
                status: 200,
                default_certificate: true
            }
        );
        assert_eq!(
            classify(StatusCode::NOT_FOUND, b"not found\n", false),
            Outcome::Answered {
                status: 404,
                default_certificate: false
            }
        );
    }
}
