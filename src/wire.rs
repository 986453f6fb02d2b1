//! MQTT 3.1.1 packets over any byte stream (TCP or TLS), using rumqttc's codec. We own the
//! socket so that every error is classified where it happens and one deadline rules the run.

use std::io;

use bytes::BytesMut;
use rumqttc::Packet;
use rumqttc::mqttbytes::{self, PacketType};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The largest packet MQTT can frame (remaining length 268 435 455 + 5 header bytes).
pub const MAX_PACKET: usize = 268_435_460;
/// What we accept from the broker: acks are 4 bytes; anything larger than this is not for us.
const MAX_INCOMING: usize = 1024 * 1024;

/// The connection: plain TCP or TLS over TCP. The TCP socket stays reachable so that we can
/// set TCP_QUICKACK on it.
pub enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Transport {
    fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Plain(tcp) => tcp,
            Transport::Tls(tls) => tls.get_ref().0,
        }
    }

    /// Acknowledge what arrives at once instead of after the kernel's delayed-ACK timer (up to
    /// 40 ms). A broker with Nagle on (mosquitto's default) holds its next small packet, e.g.
    /// the last PUBACKs of a burst or the CONNACK behind TLS 1.3 session tickets, until our ACK
    /// of its previous one; Linux leaves quick-ACK mode on its own, so this is set before each
    /// read. Elsewhere it does nothing.
    fn quickack(&self) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let _ = socket2::SockRef::from(self.tcp()).set_tcp_quickack(true);
        }
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A packet from the broker. CONNACK is read by hand so that any return code, including ones
/// MQTT 3.1.1 does not define (AWS documents 7), reaches the user as a number.
#[derive(Debug)]
pub enum Received {
    ConnAck { code: u8 },
    Packet(Packet),
}

#[derive(Debug)]
pub enum WireError {
    /// The peer closed the connection (`mid_packet`: in the middle of a packet).
    Closed {
        mid_packet: bool,
    },
    /// The bytes are not MQTT.
    Malformed(String),
    Io(io::Error),
}

impl From<io::Error> for WireError {
    fn from(error: io::Error) -> Self {
        WireError::Io(error)
    }
}

pub struct Wire {
    stream: Transport,
    incoming: BytesMut,
    outgoing: BytesMut,
    /// A write was cut off (the run was cancelled mid-flush): the stream may hold half a
    /// packet, so nothing more may be written to it.
    torn: bool,
}

impl Wire {
    pub fn new(stream: Transport) -> Self {
        Wire {
            stream,
            incoming: BytesMut::with_capacity(4096),
            outgoing: BytesMut::with_capacity(4096),
            torn: false,
        }
    }

    /// Encode a packet into the send buffer; `flush` writes it out.
    pub fn queue(&mut self, packet: &Packet) -> Result<(), WireError> {
        packet
            .write(&mut self.outgoing, MAX_PACKET)
            .map(|_| ())
            .map_err(|e| WireError::Malformed(e.to_string()))
    }

    /// Write everything queued to the socket.
    pub async fn flush(&mut self) -> Result<(), WireError> {
        self.torn = true;
        self.stream.write_all(&self.outgoing).await?;
        self.outgoing.clear();
        self.stream.flush().await?;
        self.torn = false;
        Ok(())
    }

    /// End a session that was cut short (deadline or signal) after CONNACK: DISCONNECT if the
    /// stream is between packets, then close, all within `grace`. Best effort: the outcome is
    /// already decided.
    pub async fn goodbye(&mut self, grace: std::time::Duration) {
        let farewell = async {
            if self.torn {
                return self.close().await;
            }
            self.outgoing.clear();
            self.disconnect().await
        };
        let _ = tokio::time::timeout(grace, farewell).await;
    }

    /// Bytes of packets queued and not yet flushed.
    pub fn queued(&self) -> usize {
        self.outgoing.len()
    }

    /// The next packet from the broker.
    pub async fn receive(&mut self) -> Result<Received, WireError> {
        loop {
            if let Some(received) = self.buffered()? {
                return Ok(received);
            }
            self.stream.quickack();
            let read = match self.stream.read_buf(&mut self.incoming).await {
                Ok(read) => read,
                // TLS reports a close without close_notify as UnexpectedEof.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => 0,
                Err(e) => return Err(e.into()),
            };
            if read == 0 {
                return Err(WireError::Closed {
                    mid_packet: !self.incoming.is_empty(),
                });
            }
        }
    }

    /// The next packet if it has already arrived in full, without reading the socket.
    pub fn buffered(&mut self) -> Result<Option<Received>, WireError> {
        let header = match mqttbytes::check(self.incoming.iter(), MAX_INCOMING) {
            Ok(header) => header,
            Err(mqttbytes::Error::InsufficientBytes(_)) => return Ok(None),
            Err(e) => return Err(WireError::Malformed(e.to_string())),
        };
        let packet_type = header
            .packet_type()
            .map_err(|e| WireError::Malformed(e.to_string()))?;
        if packet_type == PacketType::ConnAck {
            let frame = self.incoming.split_to(header.frame_length());
            return match frame[..] {
                [0x20, 2, _flags, code] => Ok(Some(Received::ConnAck { code })),
                _ => Err(WireError::Malformed(format!(
                    "a CONNACK of {} bytes (expected 4)",
                    frame.len()
                ))),
            };
        }
        Packet::read(&mut self.incoming, MAX_INCOMING)
            .map(|packet| Some(Received::Packet(packet)))
            .map_err(|e| WireError::Malformed(e.to_string()))
    }

    /// DISCONNECT, flushed, then close our side.
    pub async fn disconnect(&mut self) -> Result<(), WireError> {
        self.queue(&Packet::Disconnect)?;
        self.flush().await?;
        self.close().await
    }

    /// Close our side: TCP FIN (after a TLS close_notify on TLS).
    pub async fn close(&mut self) -> Result<(), WireError> {
        self.stream.shutdown().await?;
        Ok(())
    }
}
