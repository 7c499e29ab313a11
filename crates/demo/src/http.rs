//! HTTP/1.x message framing shared by the server and the client.
//!
//! It implements just enough of RFC 9112 for curl, wrk, Traefik and Docker health checks: request
//! and status lines, headers, `Content-Length` bodies and keep-alive rules. Every size is bounded
//! so that a misbehaving peer cannot make the demo service use unbounded memory.

use std::io::{self, Read};
use std::time::{SystemTime, UNIX_EPOCH};

/// The largest request or response head (start line plus headers) that is accepted.
pub const MAX_HEAD: usize = 16 * 1024;

/// The largest number of header fields that is accepted in one message.
pub const MAX_HEADERS: usize = 100;

/// Why a message head could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The head does not follow the HTTP/1.x grammar; the text says which part is wrong.
    Malformed(&'static str),
    /// The message uses an HTTP version other than 1.0 or 1.1.
    UnsupportedVersion,
    /// The head has more than [`MAX_HEADERS`] fields.
    TooManyHeaders,
    /// The request uses `Transfer-Encoding`, which the server does not implement.
    UnsupportedTransferEncoding,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Malformed(what) => write!(f, "malformed HTTP message: {what}"),
            ParseError::UnsupportedVersion => write!(f, "unsupported HTTP version"),
            ParseError::TooManyHeaders => write!(f, "too many header fields"),
            ParseError::UnsupportedTransferEncoding => {
                write!(f, "transfer codings are not supported")
            }
        }
    }
}

/// A header field as received: the name keeps its case, and lookups ignore it.
pub type Header = (String, String);

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub target: String,
    /// The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    pub headers: Vec<Header>,
}

impl Request {
    /// The first value of the named header, compared without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Whether the client wants the connection kept open after the response: the default for
    /// HTTP/1.1 unless it sent `Connection: close`, and opt-in for HTTP/1.0.
    pub fn keep_alive(&self) -> bool {
        keep_alive(self.minor, &self.headers)
    }

    /// The length of the request body, zero when the request has none.
    pub fn content_length(&self) -> Result<usize, ParseError> {
        if self
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("transfer-encoding"))
        {
            return Err(ParseError::UnsupportedTransferEncoding);
        }
        Ok(content_length(&self.headers)?.unwrap_or(0))
    }

    /// Whether the client waits for `100 Continue` before it sends the body.
    pub fn expects_continue(&self) -> bool {
        self.minor == 1
            && self
                .header("expect")
                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    }
}

/// A parsed response head, as read by the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub minor: u8,
    pub headers: Vec<Header>,
}

impl ResponseHead {
    /// Whether the server lets the client send another request on this connection.
    pub fn keep_alive(&self) -> bool {
        keep_alive(self.minor, &self.headers)
    }

    /// Whether the body uses the chunked transfer coding.
    pub fn is_chunked(&self) -> bool {
        self.headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("transfer-encoding")
                && value
                    .rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
        })
    }

    pub fn content_length(&self) -> Result<Option<usize>, ParseError> {
        content_length(&self.headers)
    }
}

/// Returns the length of the head at the start of `buf` (up to and including the empty line that
/// ends it), or `None` when the head is not complete yet. Bare `\n` line ends are tolerated.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\n' {
            match buf.get(i + 1) {
                Some(b'\n') => return Some(i + 2),
                Some(b'\r') if buf.get(i + 2) == Some(&b'\n') => return Some(i + 3),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// What went wrong while reading a head from a stream.
#[derive(Debug)]
pub enum ReadHeadError {
    /// The peer closed the connection in the middle of a head.
    Truncated,
    /// The head grew beyond [`MAX_HEAD`] without ending.
    TooLarge,
    /// The underlying read failed, for example because its timeout expired.
    Io(io::Error),
}

/// Reads from `reader` into `buf` until `buf` starts with a complete head, and returns the head's
/// length. Returns `Ok(None)` when the peer closes the connection before sending any byte of a
/// new head. Empty lines before a head are skipped, as RFC 9112 section 2.2 recommends.
pub fn read_head(
    reader: &mut impl Read,
    buf: &mut Vec<u8>,
) -> Result<Option<usize>, ReadHeadError> {
    let mut chunk = [0u8; 4096];
    loop {
        let blank = buf
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        buf.drain(..blank);
        if let Some(end) = head_end(buf) {
            return Ok(Some(end));
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadHeadError::TooLarge);
        }
        let n = match reader.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadHeadError::Io(e)),
        };
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(ReadHeadError::Truncated)
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Parses a request head: `METHOD SP target SP HTTP/1.x` followed by header lines.
pub fn parse_request(head: &[u8]) -> Result<Request, ParseError> {
    let mut lines = lines(head);
    let start = lines.next().ok_or(ParseError::Malformed("empty request"))?;
    let mut parts = start.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::Malformed("request line"));
    };
    if method.is_empty() || !method.iter().all(|&b| is_token(b)) {
        return Err(ParseError::Malformed("method"));
    }
    if target.is_empty() || !target.iter().all(|&b| b.is_ascii_graphic()) {
        return Err(ParseError::Malformed("request target"));
    }
    let minor = parse_version(version)?;
    Ok(Request {
        method: String::from_utf8_lossy(method).into_owned(),
        target: String::from_utf8_lossy(target).into_owned(),
        minor,
        headers: parse_headers(lines)?,
    })
}

/// Parses a response head: `HTTP/1.x SP status SP reason` followed by header lines.
pub fn parse_response(head: &[u8]) -> Result<ResponseHead, ParseError> {
    let mut lines = lines(head);
    let start = lines
        .next()
        .ok_or(ParseError::Malformed("empty response"))?;
    let mut parts = start.splitn(3, |&b| b == b' ');
    let version = parts.next().unwrap_or_default();
    let status = parts.next().ok_or(ParseError::Malformed("status line"))?;
    let minor = parse_version(version)?;
    if status.len() != 3 || !status.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::Malformed("status code"));
    }
    let status = std::str::from_utf8(status)
        .ok()
        .and_then(|s| s.parse().ok());
    Ok(ResponseHead {
        status: status.ok_or(ParseError::Malformed("status code"))?,
        minor,
        headers: parse_headers(lines)?,
    })
}

/// The lines of a head without their line ends; the empty line that ends the head is dropped.
fn lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .take_while(|line| !line.is_empty())
}

fn parse_version(version: &[u8]) -> Result<u8, ParseError> {
    match version {
        b"HTTP/1.1" => Ok(1),
        b"HTTP/1.0" => Ok(0),
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Err(ParseError::UnsupportedVersion)
        }
        _ => Err(ParseError::Malformed("HTTP version")),
    }
}

fn parse_headers<'a>(lines: impl Iterator<Item = &'a [u8]>) -> Result<Vec<Header>, ParseError> {
    let mut headers = Vec::new();
    for line in lines {
        if headers.len() == MAX_HEADERS {
            return Err(ParseError::TooManyHeaders);
        }
        // A line starting with whitespace is an obsolete line folding, which RFC 9112 lets a
        // server reject; a colon is mandatory, and no whitespace may precede it.
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(ParseError::Malformed("header line"))?;
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
            return Err(ParseError::Malformed("header name"));
        }
        let value = line[colon + 1..].trim_ascii();
        if value.iter().any(|&b| b.is_ascii_control() && b != b'\t') {
            return Err(ParseError::Malformed("header value"));
        }
        headers.push((
            String::from_utf8_lossy(name).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        ));
    }
    Ok(headers)
}

/// Whether `b` may appear in a method or header name (RFC 9110 `tchar`).
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn keep_alive(minor: u8, headers: &[Header]) -> bool {
    let has_option = |wanted: &str| {
        headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, value)| value.split(','))
            .any(|option| option.trim().eq_ignore_ascii_case(wanted))
    };
    if has_option("close") {
        false
    } else {
        minor >= 1 || has_option("keep-alive")
    }
}

/// The body length from all `Content-Length` fields, which must agree (RFC 9112 section 6.3).
fn content_length(headers: &[Header]) -> Result<Option<usize>, ParseError> {
    let mut length = None;
    let values = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"));
    for value in values.flat_map(|(_, value)| value.split(',')) {
        let value = value.trim();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::Malformed("content-length"));
        }
        let parsed: usize = value
            .parse()
            .map_err(|_| ParseError::Malformed("content-length"))?;
        if length.is_some_and(|known| known != parsed) {
            return Err(ParseError::Malformed("conflicting content-length"));
        }
        length = Some(parsed);
    }
    Ok(length)
}

/// A response the server is about to send. Bodies are always small and sent with a
/// `Content-Length`, so the server never needs chunked encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A `text/plain` response.
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", "text/plain; charset=utf-8".to_string())],
            body: body.into().into_bytes(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    /// The response as bytes ready for one `write_all`, so that head and body leave in as few
    /// packets as possible. `head_only` answers a `HEAD` request: the headers still announce the
    /// length of the body that a `GET` would have received.
    pub fn to_bytes(&self, head_only: bool, keep_alive: bool, now: SystemTime) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        out.push_str(&format!("Date: {}\r\n", http_date(now)));
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        out.push_str(if keep_alive {
            "Connection: keep-alive\r\n\r\n"
        } else {
            "Connection: close\r\n\r\n"
        });
        let mut bytes = out.into_bytes();
        if !head_only {
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }
}

/// The reason phrase for the status codes this crate sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Formats a time as an IMF-fixdate, for example `Sun, 06 Nov 1994 08:49:37 GMT`, which an origin
/// server with a clock must send in `Date` (RFC 9110 section 6.6.1).
pub fn http_date(time: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Converts days since 1970-01-01 into a proleptic Gregorian (year, month, day), using Howard
/// Hinnant's `civil_from_days` algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn request(text: &str) -> Result<Request, ParseError> {
        let end = head_end(text.as_bytes()).expect("complete head");
        parse_request(&text.as_bytes()[..end])
    }

    #[test]
    fn finds_the_end_of_a_head() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest"), Some(27));
        assert_eq!(head_end(b"GET / HTTP/1.1\nHost: a\n\nrest"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n"), None);
        assert_eq!(head_end(b""), None);
    }

    #[test]
    fn parses_a_request_with_headers() {
        let req =
            request("GET /health?x=1 HTTP/1.1\r\nHost: demo:8080\r\nUser-Agent:  curl/8 \r\n\r\n")
                .unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(req.target, "/health?x=1");
        assert_eq!(req.minor, 1);
        assert_eq!(req.header("host"), Some("demo:8080"));
        assert_eq!(req.header("USER-AGENT"), Some("curl/8"));
        assert_eq!(req.header("accept"), None);
        assert_eq!(req.content_length(), Ok(0));
    }

    #[test]
    fn applies_keep_alive_defaults_per_version() {
        assert!(request("GET / HTTP/1.1\r\n\r\n").unwrap().keep_alive());
        assert!(!request("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            .unwrap()
            .keep_alive());
        assert!(
            !request("GET / HTTP/1.1\r\nConnection: Upgrade, Close\r\n\r\n")
                .unwrap()
                .keep_alive()
        );
        assert!(!request("GET / HTTP/1.0\r\n\r\n").unwrap().keep_alive());
        assert!(request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .unwrap()
            .keep_alive());
    }

    #[test]
    fn reads_content_length_and_rejects_conflicts() {
        let req = request("POST /admin/fail HTTP/1.1\r\nContent-Length: 5\r\n\r\n").unwrap();
        assert_eq!(req.content_length(), Ok(5));
        let same =
            request("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").unwrap();
        assert_eq!(same.content_length(), Ok(5));
        let conflict = request("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n").unwrap();
        assert!(matches!(
            conflict.content_length(),
            Err(ParseError::Malformed(_))
        ));
        let negative = request("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").unwrap();
        assert!(matches!(
            negative.content_length(),
            Err(ParseError::Malformed(_))
        ));
        let chunked = request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
        assert_eq!(
            chunked.content_length(),
            Err(ParseError::UnsupportedTransferEncoding)
        );
    }

    #[test]
    fn recognises_expect_continue() {
        assert!(request("POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n")
            .unwrap()
            .expects_continue());
        assert!(!request("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n")
            .unwrap()
            .expects_continue());
    }

    #[test]
    fn rejects_malformed_requests() {
        let malformed = |text: &str| matches!(request(text), Err(ParseError::Malformed(_)));
        assert!(malformed("GET /\r\n\r\n"));
        assert!(malformed("GET  / HTTP/1.1\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1 extra\r\n\r\n"));
        assert!(malformed("G(T / HTTP/1.1\r\n\r\n"));
        assert!(malformed("GET / FTP/1.1\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nNo colon here\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost : x\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"));
        assert_eq!(
            request("GET / HTTP/2.0\r\n\r\n"),
            Err(ParseError::UnsupportedVersion)
        );
    }

    #[test]
    fn limits_the_number_of_headers() {
        let mut text = String::from("GET / HTTP/1.1\r\n");
        for i in 0..=MAX_HEADERS {
            text.push_str(&format!("X-{i}: v\r\n"));
        }
        text.push_str("\r\n");
        assert_eq!(request(&text), Err(ParseError::TooManyHeaders));
    }

    #[test]
    fn reads_pipelined_heads_one_at_a_time() {
        let mut input: &[u8] = b"\r\nGET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        let mut buf = Vec::new();
        let end = read_head(&mut input, &mut buf).unwrap().unwrap();
        assert_eq!(parse_request(&buf[..end]).unwrap().target, "/a");
        buf.drain(..end);
        let end = read_head(&mut input, &mut buf).unwrap().unwrap();
        assert_eq!(parse_request(&buf[..end]).unwrap().target, "/b");
        buf.drain(..end);
        assert!(matches!(read_head(&mut input, &mut buf), Ok(None)));
    }

    #[test]
    fn reports_truncated_and_oversized_heads() {
        let mut input: &[u8] = b"GET / HTTP/1.1\r\nHost:";
        assert!(matches!(
            read_head(&mut input, &mut Vec::new()),
            Err(ReadHeadError::Truncated)
        ));
        let big = vec![b'a'; MAX_HEAD + 10];
        assert!(matches!(
            read_head(&mut big.as_slice(), &mut Vec::new()),
            Err(ReadHeadError::TooLarge)
        ));
    }

    #[test]
    fn parses_response_heads() {
        let head =
            parse_response(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 10\r\n\r\n")
                .unwrap();
        assert_eq!(head.status, 503);
        assert_eq!(head.content_length(), Ok(Some(10)));
        assert!(head.keep_alive());
        let head =
            parse_response(b"HTTP/1.0 200\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").unwrap();
        assert_eq!(head.status, 200);
        assert!(head.is_chunked());
        assert!(!head.keep_alive());
        assert!(parse_response(b"HTTP/1.1 20 OK\r\n\r\n").is_err());
    }

    #[test]
    fn serializes_responses() {
        let response = Response::text(200, "ok\n").with_header("Allow", "GET");
        let text = String::from_utf8(response.to_bytes(false, true, UNIX_EPOCH)).unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\
             Content-Type: text/plain; charset=utf-8\r\nAllow: GET\r\nContent-Length: 3\r\n\
             Connection: keep-alive\r\n\r\nok\n"
        );
        let head = String::from_utf8(response.to_bytes(true, false, UNIX_EPOCH)).unwrap();
        assert!(head.ends_with("Content-Length: 3\r\nConnection: close\r\n\r\n"));
    }

    #[test]
    fn formats_http_dates() {
        let at = |secs| http_date(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(at(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(at(1_795_000_000), "Wed, 18 Nov 2026 11:06:40 GMT");
    }
}
