//! MQTT packets over blocking streams, for the test peers (subscriber, TLS server, fault broker).

use std::io::{self, Read, Write};

use bytes::BytesMut;
use rumqttc::Packet;

/// The next packet, or None when the peer closed. Read errors (including a read timeout) are
/// returned as they are.
pub fn read_packet(stream: &mut impl Read, buffer: &mut BytesMut) -> io::Result<Option<Packet>> {
    loop {
        match Packet::read(buffer, usize::MAX) {
            Ok(packet) => return Ok(Some(packet)),
            Err(rumqttc::Error::InsufficientBytes(_)) => {}
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
        }
        let mut chunk = [0u8; 64 * 1024];
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

pub fn encode(packet: Packet) -> Vec<u8> {
    let mut out = BytesMut::new();
    packet
        .write(&mut out, usize::MAX)
        .expect("encode a test packet");
    out.to_vec()
}

pub fn write_packet(stream: &mut impl Write, packet: Packet) -> io::Result<()> {
    stream.write_all(&encode(packet))?;
    stream.flush()
}
