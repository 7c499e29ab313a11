//! Outgoing TCP and HTTP for the `check`, `get` and `connect` commands.
//!
//! A scratch image has no curl, wget or netcat, yet Docker health checks and berth's isolation and
//! routing tests need to make requests from inside containers. Every operation here has a deadline
//! so that a health check or a test can never hang, and response bodies are size-limited.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::http::{self, ReadHeadError};
use crate::url::Url;

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
    /// The connection broke during the exchange.
    Io(io::Error),
    /// The peer did not speak HTTP/1.x as expected.
    Protocol(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Resolve(reason) => write!(f, "cannot resolve {reason}"),
            ClientError::Connect(reason) => f.write_str(reason),
            ClientError::Timeout => f.write_str("timed out"),
            ClientError::Io(e) => write!(f, "{e}"),
            ClientError::Protocol(reason) => write!(f, "protocol error: {reason}"),
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> ClientError {
        if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            ClientError::Timeout
        } else {
            ClientError::Io(e)
        }
    }
}

/// Opens a TCP connection to `target` (`host:port`), trying each resolved address in turn until
/// the deadline.
pub fn connect(target: &str, deadline: Instant) -> Result<TcpStream, ClientError> {
    let addresses: Vec<SocketAddr> = target
        .to_socket_addrs()
        .map_err(|e| ClientError::Resolve(format!("{target}: {e}")))?
        .collect();
    if addresses.is_empty() {
        return Err(ClientError::Resolve(format!("{target}: no addresses")));
    }
    let mut last = ClientError::Timeout;
    for address in addresses {
        let left = remaining(deadline)?;
        match TcpStream::connect_timeout(&address, left) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = ClientError::Connect(describe_connect_error(&e)),
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

/// An open connection and the bytes read from it but not consumed yet.
struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// A reader that gives every read only the time left until the deadline.
struct DeadlineReader<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
}

impl Read for DeadlineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left =
            remaining(self.deadline).map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?;
        self.stream.set_read_timeout(Some(left))?;
        let mut stream = self.stream;
        stream.read(buf)
    }
}

/// Makes GET requests to one URL, reusing the connection while the server keeps it open, so that
/// long request loops do not use up local ports.
pub struct HttpClient {
    url: Url,
    host_header: String,
    timeout: Duration,
    connection: Option<Connection>,
}

/// How an exchange failed, and whether retrying on a new connection is safe.
enum ExchangeError {
    /// A reused connection turned out to be closed before any byte of a response arrived.
    Stale,
    Failed(ClientError),
}

impl From<ClientError> for ExchangeError {
    fn from(e: ClientError) -> ExchangeError {
        ExchangeError::Failed(e)
    }
}

impl From<io::Error> for ExchangeError {
    fn from(e: io::Error) -> ExchangeError {
        ExchangeError::Failed(e.into())
    }
}

impl HttpClient {
    /// `host_header` replaces the URL's authority in the `Host` header, to reach a virtual host
    /// through a proxy such as Traefik.
    pub fn new(url: Url, host_header: Option<String>, timeout: Duration) -> HttpClient {
        let host_header = host_header.unwrap_or_else(|| url.authority());
        HttpClient {
            url,
            host_header,
            timeout,
            connection: None,
        }
    }

    /// Sends one GET request and reads the whole response, within the client's timeout.
    pub fn get(&mut self) -> Result<Reply, ClientError> {
        let deadline = Instant::now() + self.timeout;
        if let Some(connection) = self.connection.take() {
            match self.exchange(connection, deadline, true) {
                Ok(reply) => return Ok(reply),
                Err(ExchangeError::Failed(e)) => return Err(e),
                // GET is idempotent, so a request lost to a closed idle connection is retried.
                Err(ExchangeError::Stale) => {}
            }
        }
        let target = format!("{}:{}", bracket(&self.url.host), self.url.port);
        let stream = connect(&target, deadline)?;
        stream.set_nodelay(true)?;
        let connection = Connection {
            stream,
            buf: Vec::new(),
        };
        self.exchange(connection, deadline, false)
            .map_err(|e| match e {
                ExchangeError::Stale => {
                    ClientError::Protocol("connection closed before a response".into())
                }
                ExchangeError::Failed(e) => e,
            })
    }

    fn exchange(
        &mut self,
        mut conn: Connection,
        deadline: Instant,
        reused: bool,
    ) -> Result<Reply, ExchangeError> {
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: berth-demo/{}\r\nAccept: */*\r\n\r\n",
            self.url.path,
            self.host_header,
            env!("CARGO_PKG_VERSION")
        );
        conn.stream.set_write_timeout(Some(remaining(deadline)?))?;
        if let Err(e) = conn.stream.write_all(request.as_bytes()) {
            return Err(if reused {
                ExchangeError::Stale
            } else {
                e.into()
            });
        }
        let mut reader = DeadlineReader {
            stream: &conn.stream,
            deadline,
        };
        // Interim responses such as `100 Continue` precede the final one; a few are skipped.
        for _ in 0..8 {
            let head_len = match http::read_head(&mut reader, &mut conn.buf) {
                Ok(Some(len)) => len,
                Ok(None) if reused => return Err(ExchangeError::Stale),
                Err(ReadHeadError::Io(e))
                    if reused && e.kind() == io::ErrorKind::ConnectionReset =>
                {
                    return Err(ExchangeError::Stale)
                }
                Ok(None) => {
                    return Err(
                        ClientError::Protocol("connection closed before a response".into()).into(),
                    )
                }
                Err(ReadHeadError::Truncated) => {
                    return Err(ClientError::Protocol("truncated response head".into()).into())
                }
                Err(ReadHeadError::TooLarge) => {
                    return Err(ClientError::Protocol("response head too large".into()).into())
                }
                Err(ReadHeadError::Io(e)) => return Err(e.into()),
            };
            let head = http::parse_response(&conn.buf[..head_len])
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
            conn.buf.drain(..head_len);
            if (100..200).contains(&head.status) {
                continue;
            }
            let framed_length = head
                .content_length()
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
            let (body, framed) = if head.status == 204 || head.status == 304 {
                (Vec::new(), true)
            } else if head.is_chunked() {
                (read_chunked(&mut reader, &mut conn.buf)?, true)
            } else if let Some(len) = framed_length {
                (read_exact_len(&mut reader, &mut conn.buf, len)?, true)
            } else {
                (read_to_end(&mut reader, &mut conn.buf)?, false)
            };
            if framed && head.keep_alive() {
                self.connection = Some(conn);
            }
            return Ok(Reply {
                status: head.status,
                body,
            });
        }
        Err(ClientError::Protocol("too many interim responses".into()).into())
    }
}

/// Brackets an IPv6 literal so that it can be followed by `:port`.
fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Reads until `buf` holds at least `len` bytes.
fn fill(reader: &mut impl Read, buf: &mut Vec<u8>, len: usize) -> Result<(), ClientError> {
    let mut chunk = [0u8; 8192];
    while buf.len() < len {
        match reader.read(&mut chunk) {
            Ok(0) => {
                return Err(ClientError::Protocol(
                    "connection closed in the middle of a body".into(),
                ))
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn read_exact_len(
    reader: &mut impl Read,
    buf: &mut Vec<u8>,
    len: usize,
) -> Result<Vec<u8>, ClientError> {
    if len > MAX_BODY {
        return Err(ClientError::Protocol(format!(
            "response body of {len} bytes is too large"
        )));
    }
    fill(reader, buf, len)?;
    Ok(buf.drain(..len).collect())
}

fn read_to_end(reader: &mut impl Read, buf: &mut Vec<u8>) -> Result<Vec<u8>, ClientError> {
    let mut chunk = [0u8; 8192];
    loop {
        if buf.len() > MAX_BODY {
            return Err(ClientError::Protocol("response body is too large".into()));
        }
        match reader.read(&mut chunk) {
            Ok(0) => return Ok(std::mem::take(buf)),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reads one line ending in `\n` and returns it without the line end.
fn read_line(reader: &mut impl Read, buf: &mut Vec<u8>) -> Result<String, ClientError> {
    loop {
        if let Some(end) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            return Ok(String::from_utf8_lossy(&line)
                .trim_end_matches(['\r', '\n'])
                .to_string());
        }
        if buf.len() > http::MAX_HEAD {
            return Err(ClientError::Protocol("chunk line too long".into()));
        }
        let len = buf.len() + 1;
        fill(reader, buf, len)?;
    }
}

/// Decodes a body in the chunked transfer coding (RFC 9112 section 7.1), discarding trailers.
fn read_chunked(reader: &mut impl Read, buf: &mut Vec<u8>) -> Result<Vec<u8>, ClientError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader, buf)?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ClientError::Protocol(format!("invalid chunk size {size_text:?}")))?;
        if size == 0 {
            while !read_line(reader, buf)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(ClientError::Protocol("response body is too large".into()));
        }
        body.extend(read_exact_len(reader, buf, size)?);
        if !read_line(reader, buf)?.is_empty() {
            return Err(ClientError::Protocol(
                "missing line end after a chunk".into(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_chunked_bodies_with_extensions_and_trailers() {
        let mut input: &[u8] = b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        let mut buf = Vec::new();
        assert_eq!(read_chunked(&mut input, &mut buf).unwrap(), b"hello, world");
        assert_eq!(buf, b"NEXT");
    }

    #[test]
    fn rejects_bad_chunk_sizes() {
        let mut input: &[u8] = b"zz\r\n";
        assert!(matches!(
            read_chunked(&mut input, &mut Vec::new()),
            Err(ClientError::Protocol(_))
        ));
    }

    #[test]
    fn reads_exact_lengths_and_keeps_the_rest() {
        let mut input: &[u8] = b"lo";
        let mut buf = b"hel".to_vec();
        assert_eq!(read_exact_len(&mut input, &mut buf, 4).unwrap(), b"hell");
        assert_eq!(buf, b"o");
    }
}
