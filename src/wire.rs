//! MQTT packets over the transport: a send buffer written out on `flush`, a receive buffer
//! decoded packet by packet, and a count of the bytes read so far, so that the in-flight state
//! can tell an acknowledgement read after its packet was written from one read before.

use std::io;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::codec::{self, Incoming, Outgoing};
use crate::message::{DisconnectProperties, Version};
use crate::transport::Transport;

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

/// A packet from the broker and the count of bytes read up to its last byte.
pub type Received = (Incoming, u64);

pub struct Wire {
    stream: Transport,
    version: Version,
    incoming: BytesMut,
    outgoing: BytesMut,
    /// Bytes read from the connection so far.
    read: u64,
    /// A write was cut off (the run was cancelled mid-flush): the stream may hold half a
    /// packet, so nothing more may be written to it.
    torn: bool,
    /// What DISCONNECT says (`-D disconnect ...`).
    farewell: DisconnectProperties,
}

impl Wire {
    pub fn new(stream: Transport, version: Version) -> Self {
        Wire {
            stream,
            version,
            incoming: BytesMut::with_capacity(4096),
            outgoing: BytesMut::with_capacity(4096),
            read: 0,
            torn: false,
            farewell: DisconnectProperties::default(),
        }
    }

    /// The properties of our DISCONNECT (MQTT 5).
    pub fn farewell(&mut self, properties: DisconnectProperties) {
        self.farewell = properties;
    }

    /// The protocol version this connection speaks.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Encode a packet into the send buffer, for `flush` to write; its size in bytes.
    pub fn queue(&mut self, packet: Outgoing<'_>) -> Result<usize, String> {
        let before = self.outgoing.len();
        codec::encode(packet, self.version, &mut self.outgoing)?;
        Ok(self.outgoing.len() - before)
    }

    /// Take back the last `size` bytes queued (a packet that must not be sent after all).
    pub fn unqueue(&mut self, size: usize) {
        let keep = self.outgoing.len().saturating_sub(size);
        self.outgoing.truncate(keep);
    }

    /// Bytes of packets queued and not yet written.
    pub fn queued(&self) -> usize {
        self.outgoing.len()
    }

    /// Bytes read from the connection so far.
    pub fn read_so_far(&self) -> u64 {
        self.read
    }

    /// Write everything queued to the connection.
    pub async fn flush(&mut self) -> Result<(), WireError> {
        self.torn = true;
        self.stream.write_all(&self.outgoing).await?;
        self.outgoing.clear();
        self.stream.flush().await?;
        self.torn = false;
        Ok(())
    }

    /// The next packet from the broker. Cancel-safe: bytes read stay in the buffer.
    pub async fn receive(&mut self) -> Result<Received, WireError> {
        loop {
            if let Some(received) = self.buffered()? {
                return Ok(received);
            }
            self.read_more().await?;
        }
    }

    /// Read once from the connection into the receive buffer.
    async fn read_more(&mut self) -> Result<(), WireError> {
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
        self.read += read as u64;
        Ok(())
    }

    /// The next packet if it has already arrived in full, without reading the connection.
    pub fn buffered(&mut self) -> Result<Option<Received>, WireError> {
        let packet =
            codec::decode(&mut self.incoming, self.version).map_err(WireError::Malformed)?;
        Ok(packet.map(|packet| (packet, self.read - self.incoming.len() as u64)))
    }

    /// Read what the connection already holds, without waiting: after a write failed, the
    /// acknowledgements that arrived before are still there to count.
    pub async fn read_what_arrived(&mut self) {
        loop {
            tokio::select! {
                biased;
                result = self.read_more() => if result.is_err() { return },
                () = std::future::ready(()) => return,
            }
        }
    }

    /// Read until the broker closes the connection, throwing away what it still sends: `Ok` when
    /// it closes cleanly, the error when it resets the connection.
    pub async fn until_closed(&mut self) -> Result<(), WireError> {
        loop {
            match self.read_more().await {
                Ok(()) => self.incoming.clear(),
                Err(WireError::Closed { .. }) => return Ok(()),
                Err(error) => return Err(error),
            }
        }
    }

    /// DISCONNECT, written, then close our side.
    pub async fn disconnect(&mut self) -> Result<(), WireError> {
        codec::encode(
            Outgoing::Disconnect(&self.farewell),
            self.version,
            &mut self.outgoing,
        )
        .map_err(WireError::Malformed)?;
        self.flush().await?;
        self.close().await
    }

    /// End a session that was cut short (deadline or signal) after CONNACK: DISCONNECT if the
    /// stream is between packets, then close, all within `grace`. Best effort: the outcome is
    /// already decided.
    pub async fn goodbye(&mut self, grace: Duration) {
        let farewell = async {
            if self.torn {
                return self.close().await;
            }
            self.outgoing.clear();
            self.disconnect().await
        };
        let _ = tokio::time::timeout(grace, farewell).await;
    }

    /// Close our side: TCP FIN (after a TLS close_notify on TLS).
    pub async fn close(&mut self) -> Result<(), WireError> {
        self.stream.shutdown().await?;
        Ok(())
    }
}
