//! HTTP answers on cue for WebSocket upgrades: a server that reads the upgrade request, records
//! it, and answers as a test says (a refusal, a wrong subprotocol, ...). Its own SHA-1/base64
//! (from `ring` and a few lines here), independent of mqtt-send's.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use super::servers::Recorder;

/// Read an HTTP request head (up to the empty line) from `stream`.
pub fn read_request(stream: &mut TcpStream) -> String {
    read_request_from(stream)
}

/// Read an HTTP request head byte by byte (nothing after it is consumed).
pub fn read_request_from(stream: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    text.strip_suffix("\r\n").unwrap_or(&text).to_string()
}

/// The server's side of a WebSocket as a byte stream: client frames unmasked on read (a close
/// frame reads as the end), writes sent as unmasked binary frames.
pub struct Framed<S> {
    inner: S,
    pending: Vec<u8>,
    closed: bool,
}

impl<S: Read + Write> Framed<S> {
    pub fn new(inner: S) -> Self {
        Framed {
            inner,
            pending: Vec::new(),
            closed: false,
        }
    }

    fn next_frame(&mut self) -> std::io::Result<()> {
        let mut head = [0u8; 2];
        self.inner.read_exact(&mut head)?;
        let length = match head[1] & 0x7f {
            126 => {
                let mut two = [0u8; 2];
                self.inner.read_exact(&mut two)?;
                u64::from(u16::from_be_bytes(two))
            }
            127 => {
                let mut eight = [0u8; 8];
                self.inner.read_exact(&mut eight)?;
                u64::from_be_bytes(eight)
            }
            n => u64::from(n),
        };
        assert_ne!(head[1] & 0x80, 0, "a client frame must be masked");
        let mut mask = [0u8; 4];
        self.inner.read_exact(&mut mask)?;
        let mut payload = vec![0u8; length as usize];
        self.inner.read_exact(&mut payload)?;
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[i % 4];
        }
        match head[0] & 0x0f {
            0x0 | 0x2 => self.pending.extend_from_slice(&payload),
            0x8 => self.closed = true,
            _ => {}
        }
        Ok(())
    }
}

impl<S: Read + Write> Read for Framed<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pending.is_empty() && !self.closed {
            match self.next_frame() {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

impl<S: Read + Write> Write for Framed<S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut frame = vec![0x82];
        match buf.len() {
            n if n < 126 => frame.push(n as u8),
            n if n <= 0xffff => {
                frame.push(126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(buf);
        self.inner.write_all(&frame)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The value of header `name` in a request head.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// `Sec-WebSocket-Accept` for a client's key (RFC 6455 §4.2.2).
pub fn accept(key: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
    );
    base64(digest.as_ref())
}

fn base64(bytes: &[u8]) -> String {
    let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = String::new();
    for &byte in bytes {
        bits = (bits << 8) | u32::from(byte);
        count += 8;
        while count >= 6 {
            count -= 6;
            out.push(table[((bits >> count) & 63) as usize] as char);
        }
    }
    if count > 0 {
        out.push(table[((bits << (6 - count)) & 63) as usize] as char);
    }
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// A server that answers every upgrade request with `answer(request)` (the whole HTTP answer)
/// and then waits for the client to close; it records each request head.
pub fn http_server(answer: impl Fn(&str) -> String + Send + Sync + 'static) -> Recorder<String> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    Recorder::serve(listener, move |mut stream, log| {
        let request = read_request(&mut stream);
        log(request.clone());
        let _ = stream.write_all(answer(&request).as_bytes());
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    })
}

/// A 101 answer that accepts the request's key, choosing `subprotocol` (or none).
pub fn switching(request: &str, subprotocol: Option<&str>) -> String {
    let key = header(request, "sec-websocket-key").unwrap_or_default();
    let protocol = subprotocol
        .map(|p| format!("Sec-WebSocket-Protocol: {p}\r\n"))
        .unwrap_or_default();
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{protocol}\r\n",
        accept(key)
    )
}
