//! The broker address: `tcp://` `mqtt://` (plain, port 1883), `ssl://` `mqtts://` `tls://`
//! (TLS, port 8883), `ws://` (MQTT over WebSockets, port 80) and `wss://` (over TLS, port 443)
//! with an optional path (`/mqtt` by default), or a bare `host[:port]` meaning tcp. IPv6
//! literals go in brackets.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use crate::error::{RedactedUrl, UrlError};

pub const DEFAULT_BROKER: &str = "tcp://localhost:1883";
const PLAIN_PORT: u16 = 1883;
pub const TLS_PORT: u16 = 8883;
const WS_PORT: u16 = 80;
const WSS_PORT: u16 = 443;
/// The path of a WebSocket URL that gives none: what mosquitto, EMQX, HiveMQ and AWS IoT serve.
pub const WS_DEFAULT_PATH: &str = "/mqtt";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub tls: bool,
    pub host: Host,
    pub port: u16,
    /// `ws://` / `wss://`: MQTT over WebSockets, with the HTTP path of the upgrade request
    /// (one pointer: a broker is in most errors, which clippy keeps small).
    pub websocket: Option<Arc<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Name(String),
    Ip(IpAddr),
    /// `unix:///PATH` (mosquitto_pub's `--unix PATH`): a Unix socket; the port means nothing.
    Unix(Arc<std::path::PathBuf>),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Host::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

impl fmt::Display for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Host::Unix(path) = &self.host {
            return write!(f, "unix://{}", path.display());
        }
        let scheme = match (self.tls, &self.websocket) {
            (false, None) => "tcp",
            (true, None) => "ssl",
            (false, Some(_)) => "ws",
            (true, Some(_)) => "wss",
        };
        write!(f, "{scheme}://{}:{}", self.host, self.port)?;
        match &self.websocket {
            Some(path) => f.write_str(path),
            None => Ok(()),
        }
    }
}

impl Broker {
    /// `host:port` (brackets around IPv6), for resolving and connecting.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The broker at a Unix socket (`unix:///PATH`, `--unix PATH`).
    pub fn unix(path: std::path::PathBuf) -> Broker {
        Broker {
            tls: false,
            host: Host::Unix(Arc::new(path)),
            port: 0,
            websocket: None,
        }
    }

    /// An AWS IoT Core endpoint (`….amazonaws.com`): QoS 0 and 1 only, 128 KB payloads,
    /// policies that close the connection.
    pub fn is_aws(&self) -> bool {
        matches!(&self.host, Host::Name(name) if name.ends_with(".amazonaws.com"))
    }
}

/// Parse a broker URL. The error holds the URL only redacted: it never repeats credentials
/// that someone put into the URL.
pub fn parse(url: &str) -> Result<Broker, UrlError> {
    let trimmed = url.trim();
    if trimmed.is_empty() {
        return Err(UrlError::Empty);
    }
    let shown = || RedactedUrl::new(trimmed);
    if trimmed.contains('@') {
        return Err(UrlError::Credentials { url: shown() });
    }
    // Before anything is taken apart: no piece of a query (`?password=...`) is ever shown.
    if trimmed.contains(['?', '#']) {
        return Err(UrlError::QueryOrFragment { url: shown() });
    }
    if let Some(("unix", path)) = trimmed.split_once("://") {
        return match path.starts_with('/') {
            true => Ok(Broker::unix(std::path::PathBuf::from(path))),
            false => Err(UrlError::UnixPath { url: shown() }),
        };
    }
    let (Scheme { tls, websocket }, rest) = match trimmed.split_once("://") {
        Some((scheme, rest)) => (scheme_of(scheme, shown)?, rest),
        None => (
            Scheme {
                tls: false,
                websocket: false,
            },
            trimmed,
        ),
    };
    let (authority, path) = match rest.split_once('/') {
        Some((authority, "")) => (authority, None),
        Some((authority, path)) if websocket => (authority, Some(path)),
        Some(_) => return Err(UrlError::Path { url: shown() }),
        None => (rest, None),
    };
    let websocket = match path {
        _ if !websocket => None,
        None => Some(Arc::new(WS_DEFAULT_PATH.to_string())),
        Some(path) if path.bytes().all(is_path_byte) => Some(Arc::new(format!("/{path}"))),
        Some(_) => return Err(UrlError::Path { url: shown() }),
    };
    let (host, port) = split_host_port(authority, shown)?;
    let port = match port {
        None => match (tls, websocket.is_some()) {
            (false, false) => PLAIN_PORT,
            (true, false) => TLS_PORT,
            (false, true) => WS_PORT,
            (true, true) => WSS_PORT,
        },
        Some(text) => parse_port(text, shown)?,
    };
    Ok(Broker {
        tls,
        host,
        port,
        websocket,
    })
}

/// A byte RFC 3986 allows in a path as it is (unreserved, sub-delims, `:`, `@`, `/`, and `%` of
/// a percent-encoded byte).
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%".contains(&b)
}

struct Scheme {
    tls: bool,
    websocket: bool,
}

fn scheme_of(scheme: &str, shown: impl Fn() -> RedactedUrl) -> Result<Scheme, UrlError> {
    let (tls, websocket) = match scheme.to_ascii_lowercase().as_str() {
        "tcp" | "mqtt" => (false, false),
        "ssl" | "mqtts" | "tls" => (true, false),
        "ws" => (false, true),
        "wss" => (true, true),
        _ => {
            return Err(UrlError::UnknownScheme {
                url: shown(),
                scheme: scheme.to_string(),
            });
        }
    };
    Ok(Scheme { tls, websocket })
}

fn split_host_port(
    authority: &str,
    shown: impl Fn() -> RedactedUrl,
) -> Result<(Host, Option<&str>), UrlError> {
    if let Some(inside) = authority.strip_prefix('[') {
        let Some((literal, after)) = inside.split_once(']') else {
            return Err(UrlError::UnclosedBracket { url: shown() });
        };
        let ip: Ipv6Addr = literal.parse().map_err(|_| UrlError::NotIpv6 {
            url: shown(),
            literal: literal.to_string(),
        })?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| UrlError::AfterIpv6 {
                url: shown(),
                after: after.to_string(),
            })?),
        };
        return Ok((Host::Ip(IpAddr::V6(ip)), port));
    }
    let (host, port) = match authority.matches(':').count() {
        0 => (authority, None),
        1 => {
            let (host, port) = authority.split_once(':').unwrap_or((authority, ""));
            (host, Some(port))
        }
        _ => return Err(UrlError::BareIpv6 { url: shown() }),
    };
    if host.is_empty() {
        return Err(UrlError::NoHost { url: shown() });
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok((Host::Ip(ip), port));
    }
    match host_name(host) {
        Some(name) => Ok((name, port)),
        None => Err(UrlError::InvalidHost {
            url: shown(),
            host: host.to_string(),
        }),
    }
}

/// A host on its own, as `--host` takes it: a name, an IPv4 address, or an IPv6 address with or
/// without brackets (`::1`, `[::1]`).
pub fn parse_host(text: &str) -> Option<Host> {
    let text = text.trim();
    if let Some(inside) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return inside.parse().ok().map(|ip| Host::Ip(IpAddr::V6(ip)));
    }
    match text.parse::<IpAddr>() {
        Ok(ip) => Some(Host::Ip(ip)),
        Err(_) => host_name(text),
    }
}

/// A DNS name: dot-separated labels of letters, digits, `-` and `_`, lowercased.
fn host_name(host: &str) -> Option<Host> {
    let valid = host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    valid.then(|| Host::Name(host.to_ascii_lowercase()))
}

fn parse_port(text: &str, shown: impl Fn() -> RedactedUrl) -> Result<u16, UrlError> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(UrlError::Port {
            url: shown(),
            port: text.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(url: &str) -> (bool, String, u16) {
        let broker = parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        (broker.tls, broker.host.to_string(), broker.port)
    }

    #[test]
    fn schemes_and_default_ports() {
        assert_eq!(ok("tcp://localhost"), (false, "localhost".into(), 1883));
        assert_eq!(
            ok("mqtt://broker.example:1884"),
            (false, "broker.example".into(), 1884)
        );
        assert_eq!(ok("ssl://h.example"), (true, "h.example".into(), 8883));
        assert_eq!(ok("mqtts://h.example:443"), (true, "h.example".into(), 443));
        assert_eq!(
            ok("TLS://H.Example:8884/"),
            (true, "h.example".into(), 8884)
        );
        assert_eq!(ok(DEFAULT_BROKER), (false, "localhost".into(), 1883));
    }

    #[test]
    fn websocket_urls_take_a_path() {
        let ws = |url: &str| {
            let broker = parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            (
                broker.tls,
                broker.port,
                broker.websocket.map(|p| p.to_string()).unwrap_or_default(),
            )
        };
        assert_eq!(ws("ws://h.example"), (false, 80, "/mqtt".into()));
        assert_eq!(ws("WSS://h.example/"), (true, 443, "/mqtt".into()));
        assert_eq!(ws("ws://h:8080/"), (false, 8080, "/mqtt".into()));
        assert_eq!(ws("wss://h:8443/a/b~c"), (true, 8443, "/a/b~c".into()));
        assert_eq!(parse("ssl://h").unwrap().websocket, None);
        for url in ["ws://h:80/mqtt", "wss://[::1]:443/x/y"] {
            assert_eq!(parse(url).unwrap().to_string(), url);
        }
    }

    #[test]
    fn unix_urls_name_an_absolute_socket_path() {
        let broker = parse("unix:///run/mosquitto.sock").unwrap();
        assert_eq!(broker.to_string(), "unix:///run/mosquitto.sock");
        assert!(!broker.tls);
        assert!(matches!(
            parse("unix://relative.sock"),
            Err(UrlError::UnixPath { .. })
        ));
    }

    #[test]
    fn bare_host_means_tcp() {
        assert_eq!(ok("localhost"), (false, "localhost".into(), 1883));
        assert_eq!(ok("127.0.0.1:1999"), (false, "127.0.0.1".into(), 1999));
        assert_eq!(
            ok("a1b2c3-ats.iot.us-east-1.amazonaws.com:8883"),
            (false, "a1b2c3-ats.iot.us-east-1.amazonaws.com".into(), 8883)
        );
    }

    #[test]
    fn ipv6_in_brackets() {
        assert_eq!(ok("tcp://[::1]:1884"), (false, "[::1]".into(), 1884));
        assert_eq!(ok("ssl://[fe80::1]"), (true, "[fe80::1]".into(), 8883));
        assert_eq!(ok("[::1]"), (false, "[::1]".into(), 1883));
        assert_eq!(parse("tcp://[::1]:1884").unwrap().address(), "[::1]:1884");
    }

    #[test]
    fn a_host_on_its_own_is_a_name_or_an_address() {
        let host = |text| parse_host(text).map(|host| host.to_string());
        assert_eq!(host("Broker.LAN").as_deref(), Some("broker.lan"));
        assert_eq!(host("10.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(host("::1").as_deref(), Some("[::1]"));
        assert_eq!(host("[fe80::1]").as_deref(), Some("[fe80::1]"));
        for bad in ["", "a b", "h:1883", "[h]", "tcp://h", "u@h", "[::1"] {
            assert_eq!(host(bad), None, "{bad}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_broker() {
        for (url, needle) in [
            ("", "empty"),
            ("http://localhost", "unknown scheme \"http\""),
            ("wss://h/a b", "has a path"),
            ("tcp://", "no host"),
            ("tcp://:1883", "no host"),
            ("tcp://localhost:0", "port \"0\""),
            ("tcp://localhost:65536", "port \"65536\""),
            ("tcp://localhost:abc", "port \"abc\""),
            ("tcp://localhost:", "port \"\""),
            ("tcp://[::1", "never closes"),
            ("tcp://[not-ip]:1883", "not an IPv6 address"),
            ("tcp://[::1]x", "after the IPv6 address"),
            ("::1", "brackets"),
            ("tcp://localhost/topic", "has a path"),
            ("tcp://local host", "invalid host name"),
            ("tcp://bad..name", "invalid host name"),
            ("tcp://host?x=1", "query"),
        ] {
            let error = parse(url).expect_err(url).to_string();
            assert!(error.contains(needle), "{url}: {error}");
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_and_never_echoed() {
        let error = parse("tcp://user:hunter2@localhost:1883").unwrap_err();
        assert!(
            matches!(&error, UrlError::Credentials { url } if url.to_string() == "tcp://***@localhost:1883")
        );
        let error = error.to_string();
        assert!(error.contains("credentials"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        assert!(error.contains("***@localhost:1883"), "{error}");
    }

    #[test]
    fn a_query_is_refused_and_never_echoed() {
        for url in [
            "tcp://localhost?password=hunter2",
            "tcp://localhost:1883/?password=hunter2",
            "tcp://localhost#hunter2",
            "tcp?hunter2://localhost",
            "tcp://[::1?hunter2]",
        ] {
            let error = parse(url).unwrap_err();
            assert!(matches!(error, UrlError::QueryOrFragment { .. }), "{url}");
            let error = error.to_string();
            assert!(error.contains("query"), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn display_is_a_url_that_parses_back() {
        for url in [
            "tcp://localhost:1883",
            "ssl://[::1]:8883",
            "ssl://10.0.0.1:443",
        ] {
            assert_eq!(parse(url).unwrap().to_string(), url);
        }
    }
}
