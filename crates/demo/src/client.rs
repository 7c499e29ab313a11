//! Outgoing TCP and HTTP for the `check`, `get` and `connect` commands.
//!
//! A scratch image has no curl, wget or netcat, yet Docker health checks and berth's isolation and
//! routing tests need to make requests from inside containers. URLs are parsed by `http::Uri`,
//! requests go through hyper's HTTP/1.1 client connection, every operation has a deadline so that
//! a health check or a test can never hang, and response bodies are size-limited.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderValue};
use hyper::Uri;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The largest response body that is kept in memory.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Why a connection attempt or a request failed.
#[derive(Debug)]
pub enum ClientError {
    /// The host name did not resolve to any address.
    Resolve(String),
    /// No TCP connection could be opened; the text says why.
    Connect(String),
    /// The deadline passed.
    Timeout,
    /// The peer did not speak HTTP/1.x as expected, or the connection broke.
    Protocol(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Resolve(reason) => write!(f, "cannot resolve {reason}"),
            ClientError::Connect(reason) => f.write_str(reason),
            ClientError::Timeout => f.write_str("timed out"),
            ClientError::Protocol(reason) => write!(f, "protocol error: {reason}"),
        }
    }
}

/// A URL given to `check` or `get`: `http://host[:port][/path][?query]`.
#[derive(Debug, Clone)]
pub struct Target {
    uri: Uri,
    /// `host:port` to connect to (the host bracketed when it is an IPv6 literal).
    address: String,
}

impl Target {
    /// Parses a URL; only plain `http://` without user information is accepted, as a health
    /// check never needs more.
    pub fn parse(input: &str) -> Result<Target, String> {
        let uri: Uri = input.parse().map_err(|e| format!("not a URL: {e}"))?;
        if uri.scheme() != Some(&hyper::http::uri::Scheme::HTTP) {
            return Err("only http:// URLs are supported".into());
        }
        let authority = uri.authority().ok_or("the URL has no host")?;
        if authority.as_str().contains('@') {
            return Err("user information in URLs is not supported".into());
        }
        if authority.host().is_empty() {
            return Err("the URL has no host".into());
        }
        // What follows the host is empty or `:port`; `Authority::port` hides a bad port.
        let port = match &authority.as_str()[authority.host().len()..] {
            "" => 80,
            after => match after[1..].parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(format!("invalid port {:?}", &after[1..])),
            },
        };
        let address = format!("{}:{port}", authority.host());
        Ok(Target { uri, address })
    }

    /// The `Host` header: the URL's authority as written.
    fn authority(&self) -> &str {
        self.uri.authority().map_or("", |a| a.as_str())
    }

    /// The request target: the path and query, `/` when the URL has none.
    fn path_and_query(&self) -> &str {
        self.uri.path_and_query().map_or("/", |p| p.as_str())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority(), self.path_and_query())
    }
}

/// Opens a TCP connection to `target` (`host:port`), trying each resolved address in turn until
/// the deadline.
/// How long a name may take to resolve, apart from the connection's own deadline.
const RESOLVE_LIMIT: Duration = Duration::from_secs(15);

pub async fn connect(target: &str, deadline: Instant) -> Result<TcpStream, ClientError> {
    // A name the network does not know is an answer, "cannot resolve", not a timeout, even when
    // the engine's resolver takes longer than the connection's deadline to give it (it asks its
    // upstream servers first): resolution has its own, longer bound.
    let resolve = tokio::net::lookup_host(target);
    let addresses: Vec<SocketAddr> = tokio::time::timeout(RESOLVE_LIMIT, resolve)
        .await
        .map_err(|_| ClientError::Resolve(format!("{target}: no answer within {RESOLVE_LIMIT:?}")))?
        .map_err(|e| ClientError::Resolve(format!("{target}: {e}")))?
        .collect();
    if addresses.is_empty() {
        return Err(ClientError::Resolve(format!("{target}: no addresses")));
    }
    let mut last = ClientError::Timeout;
    for address in addresses {
        let left = remaining(deadline)?;
        match tokio::time::timeout(left, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => last = ClientError::Connect(describe_connect_error(&e)),
            Err(_) => last = ClientError::Timeout,
        }
    }
    Err(last)
}

/// A short, stable description of a failed connection attempt, for `closed: <reason>`.
fn describe_connect_error(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timed out".to_string(),
        io::ErrorKind::HostUnreachable => "host unreachable".to_string(),
        io::ErrorKind::NetworkUnreachable => "network unreachable".to_string(),
        _ => error.to_string(),
    }
}

/// The time left until `deadline`, or a timeout error when none is left.
fn remaining(deadline: Instant) -> Result<Duration, ClientError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(ClientError::Timeout)
    } else {
        Ok(left)
    }
}

/// A received response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Makes GET requests to one URL, reusing the connection while the server keeps it open, so that
/// long request loops do not use up local ports.
pub struct HttpClient {
    target: Target,
    host_header: HeaderValue,
    timeout: Duration,
    connection: Option<SendRequest<Empty<Bytes>>>,
}

/// How an exchange failed, and whether retrying on a new connection is safe.
enum ExchangeError {
    /// The connection was closed before any byte of a response arrived.
    Stale(String),
    Failed(ClientError),
}

impl HttpClient {
    /// `host_header` replaces the URL's authority in the `Host` header, to reach a virtual host
    /// through a proxy such as Traefik.
    pub fn new(
        target: Target,
        host_header: Option<String>,
        timeout: Duration,
    ) -> Result<HttpClient, String> {
        let host = host_header.unwrap_or_else(|| target.authority().to_string());
        let host_header =
            HeaderValue::from_str(&host).map_err(|_| format!("{host:?} is not a host"))?;
        Ok(HttpClient {
            target,
            host_header,
            timeout,
            connection: None,
        })
    }

    /// Sends one GET request and reads the whole response, within the client's timeout.
    pub async fn get(&mut self) -> Result<Reply, ClientError> {
        let deadline = Instant::now() + self.timeout;
        match tokio::time::timeout(self.timeout, self.get_within(deadline)).await {
            Ok(result) => result,
            Err(_) => {
                self.connection = None;
                Err(ClientError::Timeout)
            }
        }
    }

    async fn get_within(&mut self, deadline: Instant) -> Result<Reply, ClientError> {
        if let Some(mut sender) = self.connection.take() {
            if sender.ready().await.is_ok() {
                match self.exchange(&mut sender).await {
                    Ok(reply) => {
                        self.connection = Some(sender);
                        return Ok(reply);
                    }
                    Err(ExchangeError::Failed(e)) => return Err(e),
                    // GET is idempotent, so a request lost to a closed idle connection is retried.
                    Err(ExchangeError::Stale(_)) => {}
                }
            }
        }
        let stream = connect(&self.target.address, deadline).await?;
        let _ = stream.set_nodelay(true);
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        // The connection is driven on the runtime; it ends when the sender is dropped.
        tokio::spawn(connection);
        match self.exchange(&mut sender).await {
            Ok(reply) => {
                self.connection = Some(sender);
                Ok(reply)
            }
            Err(ExchangeError::Stale(reason)) => Err(ClientError::Protocol(reason)),
            Err(ExchangeError::Failed(e)) => Err(e),
        }
    }

    async fn exchange(
        &self,
        sender: &mut SendRequest<Empty<Bytes>>,
    ) -> Result<Reply, ExchangeError> {
        let request = hyper::Request::get(self.target.path_and_query())
            .header(header::HOST, self.host_header.clone())
            .header(
                header::USER_AGENT,
                concat!("berth-demo/", env!("CARGO_PKG_VERSION")),
            )
            .header(header::ACCEPT, "*/*")
            .body(Empty::new())
            .map_err(|e| ExchangeError::Failed(ClientError::Protocol(e.to_string())))?;
        let response = sender.send_request(request).await.map_err(|e| {
            if e.is_canceled() || e.is_incomplete_message() {
                ExchangeError::Stale("connection closed before a response".into())
            } else {
                ExchangeError::Failed(ClientError::Protocol(e.to_string()))
            }
        })?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| ExchangeError::Failed(ClientError::Protocol(e.to_string())))?
            .to_bytes();
        Ok(Reply {
            status,
            body: body.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn parses_the_urls_a_health_check_uses() {
        let t = Target::parse("http://127.0.0.1:8080/health?x=1").unwrap();
        assert_eq!(t.address, "127.0.0.1:8080");
        assert_eq!(t.authority(), "127.0.0.1:8080");
        assert_eq!(t.path_and_query(), "/health?x=1");
        let t = Target::parse("http://demo").unwrap();
        assert_eq!((t.address.as_str(), t.path_and_query()), ("demo:80", "/"));
        let t = Target::parse("http://[::1]:9/").unwrap();
        assert_eq!(t.address, "[::1]:9");
        assert_eq!(t.to_string(), "http://[::1]:9/");
    }

    #[test]
    fn refuses_what_a_health_check_never_needs() {
        for bad in [
            "https://127.0.0.1/",
            "ftp://a/",
            "http://user:pw@a/",
            "http:///path",
            "http://a:99999/",
            "http://a b/",
            "127.0.0.1:8080",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
