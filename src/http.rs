//! The little HTTP/1.1 a connection needs before MQTT: reading the head of an answer (to a
//! WebSocket upgrade or a proxy's CONNECT), and base64 for the headers that carry it.

use std::io;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// An answer's head larger than this is not an answer to us.
const MAX_HEAD: usize = 16 * 1024;

/// The status line and headers of an HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    /// The reason phrase ("Unauthorized"), possibly empty.
    pub reason: String,
    headers: Vec<(String, String)>,
}

/// Why no HTTP answer could be read.
#[derive(Debug)]
pub enum HeadError {
    /// The peer closed the connection before the head was complete.
    Closed,
    /// The bytes are not an HTTP/1.x answer (the first line, shown safely).
    NotHttp(String),
    Io(io::Error),
}

impl Head {
    /// The value of the header `name` (case-insensitive), the first if there are several.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether the comma-separated header `name` lists `token` (case-insensitive).
    pub fn lists(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .flat_map(|(_, value)| value.split(','))
            .any(|item| item.trim().eq_ignore_ascii_case(token))
    }

    /// "401 Unauthorized" (or "401" when the server gave no reason phrase).
    pub fn status_line(&self) -> String {
        if self.reason.is_empty() {
            self.status.to_string()
        } else {
            format!("{} {}", self.status, self.reason)
        }
    }
}

/// Read an answer's head from `io`; `buffer` keeps whatever came after it (the first bytes of
/// the protocol that follows).
pub async fn read_head<IO: AsyncRead + Unpin>(
    io: &mut IO,
    buffer: &mut BytesMut,
) -> Result<Head, HeadError> {
    loop {
        if let Some(end) = find_end(buffer) {
            let head = parse_head(&buffer[..end])?;
            buffer.advance(end + 4);
            return Ok(head);
        }
        if buffer.len() > MAX_HEAD {
            return Err(HeadError::NotHttp(first_line(buffer)));
        }
        // Early: a peer that does not speak HTTP at all (an MQTT or TLS port) says so in its
        // first bytes, and may then wait for more from us.
        let start = buffer.len().min(5);
        if buffer[..start] != b"HTTP/"[..start] {
            return Err(HeadError::NotHttp(first_line(buffer)));
        }
        buffer.reserve(2048);
        match io.read_buf(buffer).await {
            Ok(0) if buffer.is_empty() => return Err(HeadError::Closed),
            Ok(0) if buffer.starts_with(b"HTTP/") => return Err(HeadError::Closed),
            Ok(0) => return Err(HeadError::NotHttp(first_line(buffer))),
            Ok(_) => {}
            Err(e) => return Err(HeadError::Io(e)),
        }
    }
}

fn find_end(buffer: &[u8]) -> Option<usize> {
    buffer.windows(4).position(|w| w == b"\r\n\r\n")
}

fn parse_head(bytes: &[u8]) -> Result<Head, HeadError> {
    let text = std::str::from_utf8(bytes).map_err(|_| HeadError::NotHttp(first_line(bytes)))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let not_http = || HeadError::NotHttp(first_line(bytes));
    let rest = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .ok_or_else(not_http)?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let status = match code.parse::<u16>() {
        Ok(status) if code.len() == 3 => status,
        _ => return Err(not_http()),
    };
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(not_http)?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    Ok(Head {
        status,
        reason: printable(reason, 80),
        headers,
    })
}

/// The first line of what the peer sent, printable and short, for an error message.
fn first_line(bytes: &[u8]) -> String {
    let line = bytes
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    printable(&String::from_utf8_lossy(line), 60)
}

/// `text` with anything but printable ASCII as `?`, cut at `max` characters.
fn printable(text: &str, max: usize) -> String {
    let mut shown: String = text
        .chars()
        .take(max)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if text.chars().count() > max {
        shown.push('…');
    }
    shown
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_rfc_4648() {
        // RFC 4648 §10's test vectors.
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    fn read(bytes: &[u8]) -> (Result<Head, HeadError>, BytesMut) {
        let mut buffer = BytesMut::new();
        let mut io = bytes;
        let head = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(read_head(&mut io, &mut buffer));
        (head, buffer)
    }

    #[test]
    fn a_head_and_what_follows_it() {
        let (head, rest) = read(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive, \
              Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n\x82\x02\x20\x02",
        );
        let head = head.unwrap();
        assert_eq!(head.status, 101);
        assert_eq!(head.status_line(), "101 Switching Protocols");
        assert_eq!(head.header("sec-websocket-protocol"), Some("mqtt"));
        assert!(head.lists("connection", "upgrade"));
        assert!(!head.lists("connection", "close"));
        assert_eq!(&rest[..], b"\x82\x02\x20\x02");
    }

    #[test]
    fn what_is_not_an_answer() {
        assert!(matches!(read(b"").0, Err(HeadError::Closed)));
        assert!(matches!(
            read(b"HTTP/1.1 200 OK\r\nX: y\r\n").0,
            Err(HeadError::Closed)
        ));
        match read(b"\x20\x02\x00\x00").0 {
            Err(HeadError::NotHttp(line)) => assert_eq!(line, " ???"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read(b"HTTP/1.1 2000 OK\r\n\r\n").0,
            Err(HeadError::NotHttp(_))
        ));
    }
}
