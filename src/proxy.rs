//! HTTP proxies: `--proxy http://[user:password@]host[:port]`, or the environment as curl and Go
//! read it (`HTTPS_PROXY` for TLS and wss, `HTTP_PROXY` for ws, `ALL_PROXY` for all of them,
//! `NO_PROXY` for the hosts to reach directly), and the CONNECT tunnel through one. The proxy
//! resolves the broker's name; TLS, the WebSocket upgrade and MQTT then run through the tunnel.

use std::fmt;
use std::net::IpAddr;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::broker::{self, Broker, Host};
use crate::error::{ConfigError, Origin, Problem, ProxyProblem, RedactedUrl};
use crate::http::{self, HeadError};
use crate::log::verbose;
use crate::values::Secret;

/// The variables read, in the order they are looked at (upper case first, as Go does).
pub const ENV_VARS: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// An HTTP proxy. Its credentials are a secret: `Display` and `Debug` never show them.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    pub host: Host,
    pub port: u16,
    credentials: Option<(String, Secret)>,
    /// Where it came from: "--proxy" (or the config key) or the environment variable.
    pub from: &'static str,
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}:{}", self.host, self.port)
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Proxy({self}{})",
            if self.credentials.is_some() {
                ", with credentials"
            } else {
                ""
            }
        )
    }
}

impl Proxy {
    /// `host:port`, to connect to.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Parse a proxy URL: `http://[user[:password]@]host[:port]` (port 80 by default, as Go has
/// it), or without `http://` as the environment often gives it. Only HTTP proxies.
pub fn parse(text: &str) -> Result<Proxy, Problem> {
    let trimmed = text.trim();
    let problem = |what: &'static str| Problem::Proxy {
        shown: Box::new(RedactedUrl::new(trimmed)),
        what,
    };
    let rest = match trimmed.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some(_) => {
            return Err(problem(
                "is not an HTTP proxy; mqtt-send speaks to http:// proxies (HTTP CONNECT)",
            ));
        }
        None => trimmed,
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#']) {
        return Err(problem(
            "has a path or a query; give http://[user:password@]host:port",
        ));
    }
    let (userinfo, authority) = match rest.rsplit_once('@') {
        Some((userinfo, authority)) => (Some(userinfo), authority),
        None => (None, rest),
    };
    let credentials = match userinfo {
        None => None,
        Some(userinfo) => {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let (Some(user), Some(password)) = (percent_decode(user), percent_decode(password))
            else {
                return Err(problem("has a badly percent-encoded user name or password"));
            };
            Some((user, Secret::new(password)))
        }
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let Some(host) = broker::parse_host(host).filter(|_| !host.is_empty()) else {
        return Err(problem(
            "has no valid host; give http://[user:password@]host:port",
        ));
    };
    let port = match port {
        None => 80,
        Some(port) => match port.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => return Err(problem("has a port that is not a number from 1 to 65535")),
        },
    };
    Ok(Proxy {
        host,
        port,
        credentials,
        from: "--proxy",
    })
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

use crate::env::Vars as EnvVars;

/// The proxy the environment gives for `broker`, if any: `HTTPS_PROXY` (TLS and wss) or
/// `HTTP_PROXY` (ws), else `ALL_PROXY` (the only one for plain `tcp://`: MQTT over TCP is not
/// HTTP, and a CI job's `HTTP_PROXY`, meant for its web traffic, must not turn away a broker it
/// reaches directly; curl too takes only `ALL_PROXY` for schemes other than HTTP's); none for a
/// loopback destination (Go's rule) or one that `NO_PROXY` lists.
pub fn from_env(vars: &EnvVars, broker: &Broker) -> Result<Option<Proxy>, ConfigError> {
    let get = |var: &str| vars.iter().find(|(name, _)| *name == var);
    let wanted: &[&'static str] = match (broker.tls, broker.websocket.is_some()) {
        (true, _) => &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"],
        (false, true) => &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"],
        (false, false) => &["ALL_PROXY", "all_proxy"],
    };
    let Some((var, value)) = wanted.iter().find_map(|var| get(var)) else {
        return Ok(None);
    };
    let value = value
        .as_ref()
        .map_err(|()| ConfigError::NotUnicode { var })?;
    if loopback(&broker.host) {
        verbose!(
            "{var} is not used for {}: a loopback destination is reached directly",
            broker.host
        );
        return Ok(None);
    }
    let no_proxy = match get("NO_PROXY").or_else(|| get("no_proxy")) {
        Some((no_var, Ok(list))) => Some((*no_var, list.as_str())),
        Some((no_var, Err(()))) => return Err(ConfigError::NotUnicode { var: no_var }),
        None => None,
    };
    if let Some((no_var, list)) = no_proxy
        && bypassed(list, broker)
    {
        verbose!("{var} is not used for {}: {no_var} lists it", broker.host);
        return Ok(None);
    }
    let mut proxy = parse(value).map_err(|problem| ConfigError::Invalid {
        origin: Origin::Env(var),
        got: None,
        problem,
    })?;
    proxy.from = var;
    Ok(Some(proxy))
}

fn loopback(host: &Host) -> bool {
    match host {
        Host::Ip(ip) => ip.is_loopback(),
        Host::Name(name) => name == "localhost" || name.ends_with(".localhost"),
        // A Unix socket is on this machine, and cannot be tunnelled.
        Host::Unix(_) => true,
    }
}

/// Whether `NO_PROXY` (comma- or space-separated) lists the broker: `*`; an IP address or a
/// CIDR block holding the broker's address; a name equal to the broker's or a domain it is in
/// (`example.com` and `.example.com` both cover `a.example.com`); each with an optional
/// `:port` that must then match.
fn bypassed(list: &str, broker: &Broker) -> bool {
    list.split([',', ' '])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let (entry, port) = split_port(entry);
            if port.is_some_and(|port| port != broker.port) {
                return false;
            }
            match &broker.host {
                Host::Ip(ip) => match entry.split_once('/') {
                    Some((net, bits)) => in_cidr(*ip, net, bits),
                    None => entry.trim_matches(['[', ']']).parse::<IpAddr>().ok() == Some(*ip),
                },
                Host::Name(name) => {
                    let domain = entry.trim_start_matches("*.").trim_start_matches('.');
                    let domain = domain.to_ascii_lowercase();
                    !domain.is_empty() && (*name == domain || name.ends_with(&format!(".{domain}")))
                }
                Host::Unix(_) => true,
            }
        })
}

/// `host:port` → (host, port); an IPv6 address without brackets has no port.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(inside) = entry.strip_prefix('[')
        && let Some((ip, rest)) = inside.split_once(']')
    {
        return (ip, rest.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn in_cidr(ip: IpAddr, net: &str, bits: &str) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Ask the proxy on `stream` for a tunnel to the broker (`CONNECT host:port`): the proxy
/// resolves the name. Any 2xx opens it.
pub async fn tunnel(
    stream: &mut TcpStream,
    proxy: &Proxy,
    broker: &Broker,
) -> Result<(), ProxyProblem> {
    let target = broker.address();
    let mut request = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: mqtt-send/{}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some((user, password)) = &proxy.credentials {
        let token = http::base64(format!("{user}:{}", password.expose()).as_bytes());
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    verbose!(
        "asking the proxy {proxy} (from {}) for a tunnel: CONNECT {target}{}",
        proxy.from,
        if proxy.credentials.is_some() {
            " with credentials"
        } else {
            ""
        }
    );
    let io = |e: std::io::Error| ProxyProblem::Io(crate::files::io_reason(&e));
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    let mut buffer = BytesMut::with_capacity(1024);
    let head = match http::read_head(stream, &mut buffer).await {
        Ok(head) => head,
        Err(HeadError::Closed) => return Err(ProxyProblem::Closed),
        Err(HeadError::NotHttp(line)) => return Err(ProxyProblem::NotHttp(line)),
        Err(HeadError::Io(e)) => return Err(io(e)),
    };
    if !(200..300).contains(&head.status) {
        return Err(ProxyProblem::Status {
            status: head.status,
            line: head.status_line(),
        });
    }
    if !buffer.is_empty() {
        return Err(ProxyProblem::NotHttp(
            "bytes after its answer to CONNECT".into(),
        ));
    }
    verbose!("the proxy opened the tunnel: HTTP {}", head.status_line());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(url: &str) -> Broker {
        broker::parse(url).unwrap()
    }

    fn vars(pairs: &[(&'static str, &str)]) -> EnvVars {
        pairs.iter().map(|(k, v)| (*k, Ok(v.to_string()))).collect()
    }

    fn chosen(pairs: &[(&'static str, &str)], url: &str) -> Option<String> {
        from_env(&vars(pairs), &broker(url))
            .unwrap()
            .map(|proxy| format!("{proxy} {}", proxy.from))
    }

    #[test]
    fn proxy_urls() {
        let proxy = parse("http://alice:s%3Acret@proxy.corp:3128/").unwrap();
        assert_eq!(proxy.to_string(), "http://proxy.corp:3128");
        assert_eq!(
            proxy
                .credentials
                .as_ref()
                .map(|(u, p)| (u.as_str(), p.expose())),
            Some(("alice", "s:cret"))
        );
        assert_eq!(
            format!("{proxy:?}"),
            "Proxy(http://proxy.corp:3128, with credentials)"
        );
        assert_eq!(
            parse("proxy.corp").unwrap().to_string(),
            "http://proxy.corp:80"
        );
        assert_eq!(
            parse("[::1]:8080").unwrap().to_string(),
            "http://[::1]:8080"
        );
        assert_eq!(parse("HTTP://10.0.0.1:3128").unwrap().port, 3128);
        for bad in [
            "socks5://u:pw-secret@h:1080",
            "https://h:443",
            "http://h:0",
            "http://h:x",
            "http://",
            "http://u:pw-secret@",
            "http://h/path",
            "http://u:%zz@h:1",
        ] {
            let error = parse(bad).unwrap_err();
            let shown = format!("{:?}", error);
            assert!(!shown.contains("pw-secret"), "{shown}");
        }
    }

    #[test]
    fn the_environment_by_scheme_with_no_proxy_and_loopback() {
        let all = [
            ("HTTPS_PROXY", "http://secure:1"),
            ("http_proxy", "http://plain:2"),
            ("ALL_PROXY", "http://any:3"),
        ];
        assert_eq!(
            chosen(&all, "ssl://b.example").as_deref(),
            Some("http://secure:1 HTTPS_PROXY")
        );
        assert_eq!(
            chosen(&all, "wss://b.example").as_deref(),
            Some("http://secure:1 HTTPS_PROXY")
        );
        assert_eq!(
            chosen(&all, "ws://b.example").as_deref(),
            Some("http://plain:2 http_proxy")
        );
        // Plain MQTT is not HTTP: only ALL_PROXY.
        assert_eq!(
            chosen(&all, "tcp://b.example").as_deref(),
            Some("http://any:3 ALL_PROXY")
        );
        assert_eq!(chosen(&all[..2], "tcp://b.example"), None);
        assert_eq!(
            chosen(&all[2..], "tcp://b.example").as_deref(),
            Some("http://any:3 ALL_PROXY")
        );
        assert_eq!(chosen(&all[..1], "tcp://b.example"), None);
        // Upper case first.
        assert_eq!(
            chosen(
                &[("HTTPS_PROXY", "up:1"), ("https_proxy", "low:2")],
                "ssl://b.example"
            )
            .as_deref(),
            Some("http://up:1 HTTPS_PROXY")
        );
        // Loopback destinations go direct.
        for url in [
            "ssl://localhost",
            "ssl://127.0.0.1",
            "ssl://[::1]",
            "ssl://a.localhost",
        ] {
            assert_eq!(chosen(&all, url), None, "{url}");
        }
        // NO_PROXY.
        for (list, url, direct) in [
            ("*", "ssl://b.example", true),
            ("example", "ssl://b.example", true),
            ("b.example", "ssl://b.example", true),
            (".example", "ssl://b.example", true),
            ("example", "ssl://example", true),
            ("other.org, .example", "ssl://a.b.example", true),
            ("ample", "ssl://b.example", false),
            ("b.example:8883", "ssl://b.example", true),
            ("b.example:443", "ssl://b.example", false),
            ("10.1.2.3", "ssl://10.1.2.3", true),
            ("10.0.0.0/8", "ssl://10.1.2.3", true),
            ("10.0.0.0/16", "ssl://10.1.2.3", false),
            ("fd00::/8", "ssl://[fd00::5]", true),
            ("[fd00::5]:8883", "ssl://[fd00::5]", true),
        ] {
            let pairs = [("HTTPS_PROXY", "http://p:1"), ("no_proxy", list)];
            assert_eq!(chosen(&pairs, url).is_none(), direct, "{list} {url}");
        }
    }

    #[test]
    fn a_bad_proxy_variable_is_a_usage_error_naming_it() {
        let error = from_env(
            &vars(&[("HTTPS_PROXY", "socks5://u:pw-secret@h:1080")]),
            &broker("ssl://b.example"),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("HTTPS_PROXY"), "{error}");
        assert!(error.contains("http://"), "{error}");
        assert!(!error.contains("pw-secret"), "{error}");
    }
}
