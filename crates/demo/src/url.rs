//! Parsing of the `http://host:port/path` URLs given to `check` and `get`.
//!
//! The binary has no dependencies, so it cannot use the `url` crate. It only ever speaks plain
//! HTTP to loopback or to containers on the same overlay network, so this parser accepts exactly
//! that: the `http` scheme, a host name or IP literal, an optional port and an optional path.

use std::fmt;

/// A parsed `http://` URL, reduced to what an HTTP/1.1 request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The host without brackets, for example `127.0.0.1`, `::1` or `demo`.
    pub host: String,
    /// The TCP port, 80 when the URL names none.
    pub port: u16,
    /// The request target: the path and query, always starting with `/`, without any fragment.
    pub path: String,
}

/// Why a URL was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// The URL does not start with `http://`; `https` is not supported either.
    Scheme,
    /// The authority has no host.
    EmptyHost,
    /// The URL carries `user:password@`, which a health check never needs.
    UserInfo,
    /// The port is not a number from 1 to 65535.
    Port(String),
    /// A bracketed IPv6 literal is not closed, or something follows the bracket.
    Ipv6Literal,
    /// The URL contains whitespace or a control character.
    InvalidCharacter,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::Scheme => write!(f, "only http:// URLs are supported"),
            UrlError::EmptyHost => write!(f, "the URL has no host"),
            UrlError::UserInfo => write!(f, "user information in URLs is not supported"),
            UrlError::Port(port) => write!(f, "invalid port {port:?}"),
            UrlError::Ipv6Literal => write!(f, "malformed IPv6 literal"),
            UrlError::InvalidCharacter => {
                write!(f, "the URL contains whitespace or control characters")
            }
        }
    }
}

impl Url {
    /// Parses `http://host[:port][/path][?query][#fragment]`.
    pub fn parse(input: &str) -> Result<Url, UrlError> {
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::InvalidCharacter);
        }
        let rest = strip_prefix_ignore_case(input, "http://").ok_or(UrlError::Scheme)?;
        let rest = rest.split('#').next().unwrap_or("");
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(UrlError::UserInfo);
        }
        let (host, port) = split_host_port(authority)?;
        if host.is_empty() {
            return Err(UrlError::EmptyHost);
        }
        let path = match target.chars().next() {
            None => "/".to_string(),
            Some('?') => format!("/{target}"),
            Some(_) => target.to_string(),
        };
        Ok(Url {
            host: host.to_string(),
            port,
            path,
        })
    }

    /// The value for the `Host` header: the host, bracketed when it is an IPv6 literal, followed
    /// by the port unless it is the default.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority(), self.path)
    }
}

/// Splits an authority such as `example:8080` or `[::1]:8080` into host and port.
fn split_host_port(authority: &str) -> Result<(&str, u16), UrlError> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let close = bracketed.find(']').ok_or(UrlError::Ipv6Literal)?;
        let after = &bracketed[close + 1..];
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(UrlError::Ipv6Literal)?),
        };
        (&bracketed[..close], port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        // RFC 3986 allows an empty port after the colon; it means the scheme's default.
        None | Some("") => 80,
        Some(text) => parse_port(text)?,
    };
    Ok((host, port))
}

fn parse_port(text: &str) -> Result<u16, UrlError> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::Port(text.to_string()));
    }
    match text.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(UrlError::Port(text.to_string())),
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(host: &str, port: u16, path: &str) -> Url {
        Url {
            host: host.to_string(),
            port,
            path: path.to_string(),
        }
    }

    #[test]
    fn parses_host_port_and_path() {
        assert_eq!(
            Url::parse("http://127.0.0.1:8080/health"),
            Ok(url("127.0.0.1", 8080, "/health"))
        );
        assert_eq!(
            Url::parse("http://demo:8080/a/b?x=1"),
            Ok(url("demo", 8080, "/a/b?x=1"))
        );
    }

    #[test]
    fn defaults_port_and_path() {
        assert_eq!(Url::parse("http://demo"), Ok(url("demo", 80, "/")));
        assert_eq!(Url::parse("http://demo/"), Ok(url("demo", 80, "/")));
        assert_eq!(Url::parse("http://demo:"), Ok(url("demo", 80, "/")));
        assert_eq!(Url::parse("http://demo?q=1"), Ok(url("demo", 80, "/?q=1")));
    }

    #[test]
    fn scheme_is_case_insensitive_and_fragment_is_dropped() {
        assert_eq!(
            Url::parse("HTTP://Demo:81/x#frag"),
            Ok(url("Demo", 81, "/x"))
        );
    }

    #[test]
    fn parses_ipv6_literals() {
        assert_eq!(
            Url::parse("http://[::1]:8080/health"),
            Ok(url("::1", 8080, "/health"))
        );
        assert_eq!(Url::parse("http://[::1]"), Ok(url("::1", 80, "/")));
        assert_eq!(Url::parse("http://[::1/"), Err(UrlError::Ipv6Literal));
        assert_eq!(Url::parse("http://[::1]x/"), Err(UrlError::Ipv6Literal));
    }

    #[test]
    fn rejects_what_it_cannot_serve() {
        assert_eq!(Url::parse("https://demo/"), Err(UrlError::Scheme));
        assert_eq!(Url::parse("demo:8080/"), Err(UrlError::Scheme));
        assert_eq!(Url::parse("http:/demo"), Err(UrlError::Scheme));
        assert_eq!(Url::parse("http://:8080/"), Err(UrlError::EmptyHost));
        assert_eq!(Url::parse("http:///x"), Err(UrlError::EmptyHost));
        assert_eq!(Url::parse("http://u:p@demo/"), Err(UrlError::UserInfo));
        assert_eq!(
            Url::parse("http://demo:0/"),
            Err(UrlError::Port("0".into()))
        );
        assert_eq!(
            Url::parse("http://demo:65536/"),
            Err(UrlError::Port("65536".into()))
        );
        assert_eq!(
            Url::parse("http://demo:+80/"),
            Err(UrlError::Port("+80".into()))
        );
        assert_eq!(
            Url::parse("http://demo/a b"),
            Err(UrlError::InvalidCharacter)
        );
    }

    #[test]
    fn authority_omits_default_port_and_brackets_ipv6() {
        assert_eq!(url("demo", 80, "/").authority(), "demo");
        assert_eq!(url("demo", 8080, "/").authority(), "demo:8080");
        assert_eq!(url("::1", 8080, "/").authority(), "[::1]:8080");
        assert_eq!(url("::1", 8080, "/x").to_string(), "http://[::1]:8080/x");
    }
}
