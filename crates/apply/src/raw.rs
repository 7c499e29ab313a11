//! Berth's one HTTP client to the Docker Engine, and raw reads through it. bollard's types follow
//! Docker's swagger file, which names a container's health check `HealthCheck` while the engine
//! answers `Healthcheck`; read through bollard, every health check would vanish and plan as a
//! change forever. So the list calls that feed the planner fetch Docker's JSON as it is, the same
//! bytes the planner's fixtures hold.
//!
//! The client is hyper-util's pooled client over a connector that opens the run's
//! [`EngineEndpoint`] (the unix socket, TCP, or TCP with the endpoint's TLS configuration),
//! whatever the request's URI says. bollard is given the same client as its transport
//! ([`Client::docker`]), so typed calls and raw reads share connections and certificates.

use crate::endpoint::{EngineEndpoint, Transport};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::http::{header, Request, StatusCode, Uri};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The request body bollard sends (its `BodyType`, which it does not name publicly).
type Body = http_body_util::Either<
    http_body_util::Full<Bytes>,
    http_body_util::StreamBody<
        Pin<
            Box<
                dyn futures_util::Stream<Item = Result<hyper::body::Frame<Bytes>, std::io::Error>>
                    + Send,
            >,
        >,
    >,
>;

/// How long bollard waits for any one of its requests, as with its own transports.
const BOLLARD_TIMEOUT_SECS: u64 = 120;

/// The pooled HTTP client to the engine; cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct Client {
    http: hyper_util::client::legacy::Client<Connector, Body>,
}

impl Client {
    pub fn new(endpoint: &EngineEndpoint) -> Client {
        let connector = Connector {
            transport: Arc::new(endpoint.transport.clone()),
        };
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Client { http }
    }

    /// A bollard client whose requests go through this client (at `client_version`, until
    /// bollard negotiates another).
    pub fn docker(&self) -> Result<bollard::Docker, bollard::errors::Error> {
        let http = self.http.clone();
        bollard::Docker::connect_with_custom_transport(
            move |request: bollard::BollardRequest| {
                let response = http.request(request);
                async move { response.await.map_err(bollard::errors::Error::from) }
            },
            Some("http://docker"),
            BOLLARD_TIMEOUT_SECS,
            bollard::API_DEFAULT_VERSION,
        )
    }
}

/// A failed raw read: the HTTP status when the engine answered, and its message.
#[derive(Debug, thiserror::Error)]
pub struct RawError {
    pub path: String,
    /// The engine's status code; `None` when it did not answer (connection, timeout).
    pub status: Option<u16>,
    /// The engine's `message` when it answered with one, else what went wrong.
    pub message: String,
}

impl std::fmt::Display for RawError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(f, "GET {}: HTTP {status}: {}", self.path, self.message),
            None => write!(f, "GET {}: {}", self.path, self.message),
        }
    }
}

/// GETs `path` (e.g. `/v1.41/services?status=true`) within `timeout` and returns the body of a
/// successful answer as text.
pub async fn get(client: &Client, path: &str, timeout: Duration) -> Result<String, RawError> {
    let err = |status: Option<u16>, message: String| RawError {
        path: path.to_string(),
        status,
        message,
    };
    let request = Request::get(format!("http://docker{path}"))
        .header(header::USER_AGENT, "berth")
        .header(header::ACCEPT, "application/json")
        .body(bollard::body_full(Bytes::new()))
        .map_err(|e| err(None, e.to_string()))?;
    let exchange = async {
        let response = client.http.request(request).await.map_err(|e| chain(&e))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| chain(&e))?
            .to_bytes();
        Ok::<_, String>((status, body))
    };
    let (status, body) = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| err(None, format!("no answer within {timeout:?}")))?
        .map_err(|message| err(None, message))?;
    if !status.is_success() {
        return Err(err(Some(status.as_u16()), engine_message(status, &body)));
    }
    String::from_utf8(body.to_vec()).map_err(|_| err(None, "the answer is not UTF-8".into()))
}

/// The `message` of the engine's error body (`{"message": "..."}`), else the body itself.
fn engine_message(status: StatusCode, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Answer {
        message: String,
    }
    match serde_json::from_slice::<Answer>(body) {
        Ok(answer) => answer.message,
        Err(_) if body.trim_ascii().is_empty() => status.to_string(),
        Err(_) => String::from_utf8_lossy(body.trim_ascii()).into_owned(),
    }
}

/// An error and its sources, joined: hyper's own message ("client error (Connect)") says
/// little without the cause beneath it.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
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

/// Opens the endpoint's transport, whatever URI hyper asks for.
#[derive(Clone)]
struct Connector {
    transport: Arc<Transport>,
}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<Stream>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<TokioIo<Stream>>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let transport = self.transport.clone();
        Box::pin(async move { open(&transport).await.map(TokioIo::new) })
    }
}

async fn open(transport: &Transport) -> std::io::Result<Stream> {
    Ok(match transport {
        Transport::Unix(path) => Stream(Box::pin(tokio::net::UnixStream::connect(path).await?)),
        Transport::Tcp { addr } => {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            Stream(Box::pin(tcp))
        }
        Transport::Tls {
            addr,
            server_name,
            config,
        } => {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            let tls = tokio_rustls::TlsConnector::from(config.clone())
                .connect(server_name.clone(), tcp)
                .await?;
            Stream(Box::pin(tls))
        }
    })
}

trait Io: AsyncRead + AsyncWrite + Send {}
impl<T: AsyncRead + AsyncWrite + Send> Io for T {}

/// A connection to the engine, over whichever transport.
struct Stream(Pin<Box<dyn Io>>);

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.0.as_mut().poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.0.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.0.as_mut().poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.0.as_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_filters_and_reads_the_engines_message() {
        assert_eq!(
            encode("{\"label\":[\"a=b\"]}"),
            "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D"
        );
        assert_eq!(
            engine_message(
                StatusCode::NOT_FOUND,
                br#"{"message":"service x not found"}"#
            ),
            "service x not found"
        );
        assert_eq!(
            engine_message(StatusCode::BAD_GATEWAY, b"upstream gone\n"),
            "upstream gone"
        );
        assert_eq!(
            engine_message(StatusCode::SERVICE_UNAVAILABLE, b""),
            "503 Service Unavailable"
        );
    }
}
