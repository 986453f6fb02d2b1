//! MQTT over WebSockets (`ws://`, `wss://`): the HTTP/1.1 upgrade with subprotocol `mqtt`, then
//! RFC 6455 client framing as a byte stream, so that the session above cannot tell it from TCP.
//! MQTT bytes go out as masked binary frames; binary and continuation frames coming in are read
//! as one stream; a ping is answered with a pong; a close is answered with a close and reads as
//! the end of the stream.
//!
//! Written here on `ring` (SHA-1 for `Sec-WebSocket-Accept`, the system random source for keys
//! and masks) rather than with tungstenite: about 60 lines of framing against a crate that
//! brings its own HTTP types, and nothing new in the dependency tree.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BufMut, BytesMut};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::error::WsProblem;
use crate::http::{self, HeadError};
use crate::log::verbose;

/// The subprotocol MQTT 3.1.1 and 5 name (both specs, §6); AWS IoT refuses `mqttv3.1`.
pub const SUBPROTOCOL: &str = "mqtt";
/// RFC 6455 §1.3.
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// The largest frame we write; a longer write is split (each piece is one frame).
const MAX_FRAME: usize = 256 * 1024;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xa;

/// A WebSocket connection over `IO` (TCP, or TLS over TCP), read and written as bytes.
pub struct WebSocket<IO> {
    inner: IO,
    /// Bytes read from `inner` and not yet taken apart.
    incoming: BytesMut,
    /// What is left of the payload of the data frame being read.
    payload_left: u64,
    /// Frames written by us and not yet handed to `inner`.
    outgoing: BytesMut,
    /// The server sent a close frame: the stream has ended.
    closed: bool,
    /// We sent (or queued) our close frame.
    close_sent: bool,
    masks: Masks,
}

/// Ask `io` to become a WebSocket: `GET target` with `Host: host`. `target` is the path and any
/// query (a SigV4 signature): it is never logged, as a query may hold a session token.
pub async fn upgrade<IO: AsyncRead + AsyncWrite + Unpin>(
    mut io: IO,
    host: &str,
    target: &str,
) -> Result<WebSocket<IO>, (WsProblem, Option<io::Error>)> {
    let mut masks = Masks::new().map_err(|e| (WsProblem::Io(e.to_string()), None))?;
    let key = http::base64(
        &masks
            .bytes::<16>()
            .map_err(|e| (WsProblem::Io(e.to_string()), None))?,
    );
    let path = target.split('?').next().unwrap_or(target);
    verbose!(
        "WebSocket upgrade: GET {path}{} Host {host}, subprotocol {SUBPROTOCOL}",
        if path.len() < target.len() {
            "?…"
        } else {
            ""
        }
    );
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: {SUBPROTOCOL}\r\nUser-Agent: mqtt-send/{}\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    let io_problem = |e: io::Error| (WsProblem::Io(crate::files::io_reason(&e)), Some(e));
    io.write_all(request.as_bytes()).await.map_err(io_problem)?;
    io.flush().await.map_err(io_problem)?;
    let mut incoming = BytesMut::with_capacity(4096);
    let head = match http::read_head(&mut io, &mut incoming).await {
        Ok(head) => head,
        Err(HeadError::Closed) => return Err((WsProblem::Closed, None)),
        Err(HeadError::NotHttp(line)) => return Err((WsProblem::NotHttp(line), None)),
        Err(HeadError::Io(e)) => return Err(io_problem(e)),
    };
    verbose!("WebSocket answer: HTTP {}", head.status_line());
    if head.status != 101 {
        return Err((
            WsProblem::Status {
                status: head.status,
                line: head.status_line(),
            },
            None,
        ));
    }
    if !head.lists("upgrade", "websocket") || !head.lists("connection", "upgrade") {
        return Err((WsProblem::NotUpgraded, None));
    }
    if head.header("sec-websocket-accept") != Some(accept_for(&key).as_str()) {
        return Err((WsProblem::BadAccept, None));
    }
    match head.header("sec-websocket-protocol") {
        Some(SUBPROTOCOL) => {}
        other => {
            return Err((
                WsProblem::Subprotocol(other.map(|p| p.chars().take(40).collect())),
                None,
            ));
        }
    }
    Ok(WebSocket {
        inner: io,
        incoming,
        payload_left: 0,
        outgoing: BytesMut::with_capacity(4096),
        closed: false,
        close_sent: false,
        masks,
    })
}

/// `Sec-WebSocket-Accept` for `key`: base64 of SHA-1 of the key and RFC 6455's GUID.
fn accept_for(key: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}{ACCEPT_GUID}").as_bytes(),
    );
    http::base64(digest.as_ref())
}

/// Masking keys from the system's random source, drawn 256 bytes at a time (RFC 6455 §5.3
/// wants them unpredictable, so that a page's script could not aim bytes at a proxy).
struct Masks {
    random: SystemRandom,
    pool: [u8; 256],
    used: usize,
}

impl Masks {
    fn new() -> io::Result<Self> {
        let mut masks = Masks {
            random: SystemRandom::new(),
            pool: [0; 256],
            used: 256,
        };
        masks.refill()?;
        Ok(masks)
    }

    fn refill(&mut self) -> io::Result<()> {
        self.random
            .fill(&mut self.pool)
            .map_err(|_| io::Error::other("the system random source failed"))?;
        self.used = 0;
        Ok(())
    }

    fn bytes<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        if self.used + N > self.pool.len() {
            self.refill()?;
        }
        let mut out = [0; N];
        out.copy_from_slice(&self.pool[self.used..self.used + N]);
        self.used += N;
        Ok(out)
    }
}

/// A frame header from the server, as far as we act on it.
#[derive(Debug, PartialEq, Eq)]
enum Frame {
    /// Binary or continuation: this many bytes of the stream follow.
    Data(u64),
    Ping(Vec<u8>),
    Pong,
    /// The close frame's status code, if it has one.
    Close(Option<u16>),
}

fn protocol_error(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("WebSocket protocol error: {what}"),
    )
}

/// The frame at the start of `bytes` and its length up to its payload (control frames: with
/// their payload), or `None` when more bytes are needed.
fn parse_frame(bytes: &[u8]) -> io::Result<Option<(usize, Frame)>> {
    if bytes.len() < 2 {
        return Ok(None);
    }
    let (first, second) = (bytes[0], bytes[1]);
    if first & 0x70 != 0 {
        return Err(protocol_error("a frame with reserved bits set"));
    }
    if second & 0x80 != 0 {
        return Err(protocol_error("the server masked a frame"));
    }
    let (length, header) = match second & 0x7f {
        126 if bytes.len() < 4 => return Ok(None),
        126 => (u64::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
        127 if bytes.len() < 10 => return Ok(None),
        127 => {
            let mut eight = [0; 8];
            eight.copy_from_slice(&bytes[2..10]);
            (u64::from_be_bytes(eight), 10)
        }
        short => (u64::from(short), 2),
    };
    let opcode = first & 0x0f;
    let control = || -> io::Result<Option<(usize, &[u8])>> {
        if first & 0x80 == 0 || length > 125 {
            return Err(protocol_error("a fragmented or long control frame"));
        }
        let end = header + length as usize;
        Ok((bytes.len() >= end).then(|| (end, &bytes[header..end])))
    };
    Ok(match opcode {
        OP_BINARY | OP_CONTINUATION => Some((header, Frame::Data(length))),
        OP_TEXT => {
            return Err(protocol_error(
                "a text frame (MQTT travels in binary frames)",
            ));
        }
        OP_PING => control()?.map(|(end, payload)| (end, Frame::Ping(payload.to_vec()))),
        OP_PONG => control()?.map(|(end, _)| (end, Frame::Pong)),
        OP_CLOSE => control()?.map(|(end, payload)| {
            let code = (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
            (end, Frame::Close(code))
        }),
        other => return Err(protocol_error(&format!("unknown opcode {other:#x}"))),
    })
}

impl<IO> WebSocket<IO> {
    pub fn get_ref(&self) -> &IO {
        &self.inner
    }

    /// Queue one masked frame.
    fn queue(&mut self, opcode: u8, payload: &[u8]) -> io::Result<()> {
        let mask = self.masks.bytes::<4>()?;
        self.outgoing.reserve(payload.len() + 14);
        self.outgoing.put_u8(0x80 | opcode);
        match payload.len() {
            n if n < 126 => self.outgoing.put_u8(0x80 | n as u8),
            n if n <= usize::from(u16::MAX) => {
                self.outgoing.put_u8(0x80 | 126);
                self.outgoing.put_u16(n as u16);
            }
            n => {
                self.outgoing.put_u8(0x80 | 127);
                self.outgoing.put_u64(n as u64);
            }
        }
        self.outgoing.put_slice(&mask);
        self.outgoing.extend(
            payload
                .iter()
                .zip(mask.iter().cycle())
                .map(|(byte, key)| byte ^ key),
        );
        Ok(())
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> WebSocket<IO> {
    /// Hand the queued frames to `inner`.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.outgoing.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.outgoing))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.outgoing.advance(n);
        }
        Poll::Ready(Ok(()))
    }

    fn answer(&mut self, frame: Frame) -> io::Result<()> {
        match frame {
            Frame::Ping(payload) => self.queue(OP_PONG, &payload),
            Frame::Close(code) => {
                verbose!(
                    "the server closed the WebSocket{}",
                    code.map_or(String::new(), |code| format!(" (status {code})"))
                );
                self.closed = true;
                if !self.close_sent {
                    self.close_sent = true;
                    self.queue(OP_CLOSE, &code.unwrap_or(1000).to_be_bytes())?;
                }
                Ok(())
            }
            Frame::Pong | Frame::Data(_) => Ok(()),
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for WebSocket<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            // A pong or a close answer goes out as soon as it can; a write not ready yet
            // waits for the next read or write.
            if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
                return Poll::Ready(Err(e));
            }
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            if this.payload_left > 0 && !this.incoming.is_empty() {
                let n = (this.payload_left.min(this.incoming.len() as u64) as usize)
                    .min(buf.remaining());
                buf.put_slice(&this.incoming[..n]);
                this.incoming.advance(n);
                this.payload_left -= n as u64;
                return Poll::Ready(Ok(()));
            }
            if this.payload_left == 0 {
                if this.closed {
                    return Poll::Ready(Ok(()));
                }
                if let Some((length, frame)) = parse_frame(&this.incoming)? {
                    this.incoming.advance(length);
                    if let Frame::Data(payload) = frame {
                        this.payload_left = payload;
                    }
                    this.answer(frame)?;
                    continue;
                }
            }
            let mut chunk = [0u8; 8192];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                // The connection ended without a close frame: the end of the stream too.
                return Poll::Ready(Ok(()));
            }
            this.incoming.extend_from_slice(read.filled());
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WebSocket<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = buf.len().min(MAX_FRAME);
        this.queue(OP_BINARY, &buf[..n])?;
        // The frame is ours now: push what `inner` takes; the rest goes with the next write
        // or the flush.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.close_sent {
            this.close_sent = true;
            this.queue(OP_CLOSE, &1000u16.to_be_bytes())?;
        }
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_is_rfc_6455s_example() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_for("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn frames_from_the_server() {
        assert_eq!(parse_frame(b"\x82").unwrap(), None);
        assert_eq!(
            parse_frame(b"\x82\x04abcd").unwrap(),
            Some((2, Frame::Data(4)))
        );
        assert_eq!(
            parse_frame(b"\x00\x7e\x01\x00").unwrap(),
            Some((4, Frame::Data(256)))
        );
        assert_eq!(
            parse_frame(b"\x02\x7f\0\0\0\0\0\x01\0\0").unwrap(),
            Some((10, Frame::Data(65536)))
        );
        assert_eq!(parse_frame(b"\x89\x02h").unwrap(), None);
        assert_eq!(
            parse_frame(b"\x89\x02hi").unwrap(),
            Some((4, Frame::Ping(b"hi".to_vec())))
        );
        assert_eq!(parse_frame(b"\x8a\x00").unwrap(), Some((2, Frame::Pong)));
        assert_eq!(
            parse_frame(b"\x88\x02\x03\xe8").unwrap(),
            Some((4, Frame::Close(Some(1000))))
        );
        assert_eq!(
            parse_frame(b"\x88\x00").unwrap(),
            Some((2, Frame::Close(None)))
        );
        for bad in [
            &b"\x81\x01a"[..],
            b"\x82\x81abcd",
            b"\xc2\x00",
            b"\x09\x00",
            b"\x89\x7e\x00\x80",
            b"\x83\x00",
        ] {
            assert_eq!(
                parse_frame(bad).unwrap_err().kind(),
                io::ErrorKind::InvalidData,
                "{bad:?}"
            );
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    /// A WebSocket over one end of an in-memory pipe, the test playing the server.
    fn pair() -> (WebSocket<tokio::io::DuplexStream>, tokio::io::DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let socket = WebSocket {
            inner: ours,
            incoming: BytesMut::new(),
            payload_left: 0,
            outgoing: BytesMut::new(),
            closed: false,
            close_sent: false,
            masks: Masks::new().unwrap(),
        };
        (socket, theirs)
    }

    /// Unmask one client frame: (opcode, fin, payload).
    fn unframe(bytes: &[u8]) -> (u8, bool, Vec<u8>, usize) {
        assert_ne!(bytes[1] & 0x80, 0, "client frames are masked");
        let (length, header) = match bytes[1] & 0x7f {
            126 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            127 => (
                u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (usize::from(n), 2),
        };
        let mask = &bytes[header..header + 4];
        let payload = bytes[header + 4..header + 4 + length]
            .iter()
            .zip(mask.iter().cycle())
            .map(|(b, k)| b ^ k)
            .collect();
        (
            bytes[0] & 0x0f,
            bytes[0] & 0x80 != 0,
            payload,
            header + 4 + length,
        )
    }

    #[test]
    fn fragments_and_pings_read_as_one_stream_and_pings_are_answered() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        block_on(async {
            let (mut socket, mut server) = pair();
            // "hello world" in a binary frame without FIN, a ping between, a continuation.
            server
                .write_all(b"\x02\x05hello\x89\x01p\x80\x06 world\x88\x02\x03\xe8")
                .await
                .unwrap();
            let mut text = Vec::new();
            socket.read_to_end(&mut text).await.unwrap();
            assert_eq!(text, b"hello world");
            let mut answers = vec![0; 64];
            let n = server.read(&mut answers).await.unwrap();
            let (opcode, fin, payload, used) = unframe(&answers[..n]);
            assert_eq!(
                (opcode, fin, payload.as_slice()),
                (OP_PONG, true, &b"p"[..])
            );
            let (opcode, _, payload, _) = unframe(&answers[used..n]);
            assert_eq!((opcode, payload.as_slice()), (OP_CLOSE, &b"\x03\xe8"[..]));
        });
    }

    #[test]
    fn writes_are_masked_binary_frames_of_any_length() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        block_on(async {
            let (mut socket, mut server) = pair();
            let big: Vec<u8> = (0..70_000u32).map(|n| n as u8).collect();
            for payload in [&b"\x10\x0c"[..], &big[..300], &big] {
                socket.write_all(payload).await.unwrap();
                socket.flush().await.unwrap();
                let header = match payload.len() {
                    n if n < 126 => 2,
                    n if n < 65536 => 4,
                    _ => 10,
                };
                let mut frame = vec![0; header + 4 + payload.len()];
                server.read_exact(&mut frame).await.unwrap();
                let (opcode, fin, data, _) = unframe(&frame);
                assert_eq!((opcode, fin), (OP_BINARY, true));
                assert_eq!(data, payload);
            }
            socket.shutdown().await.unwrap();
            let mut rest = Vec::new();
            server.read_to_end(&mut rest).await.unwrap();
            let (opcode, _, payload, _) = unframe(&rest);
            assert_eq!((opcode, payload.as_slice()), (OP_CLOSE, &b"\x03\xe8"[..]));
        });
    }
}
