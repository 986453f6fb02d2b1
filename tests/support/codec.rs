//! MQTT packets over blocking streams, for the test peers (subscriber, TLS server, fault broker).

use std::io::{self, Read, Write};

use bytes::{Buf, BytesMut};
use rumqttc::{Connect, Packet, Protocol};

/// The next packet, or None when the peer closed. Read errors (including a read timeout) are
/// returned as they are.
pub fn read_packet(stream: &mut impl Read, buffer: &mut BytesMut) -> io::Result<Option<Packet>> {
    loop {
        // An MQTT 5 CONNECT, which rumqttc's 3.1.1 reader refuses: the test peers answer it as
        // they answer a 3.1.1 one (everything they read after it reads the same in both, but a
        // PUBLISH's payload, which starts with its properties: see `v5_payload`).
        if let Some(length) = v5_connect(buffer) {
            buffer.advance(length);
            let mut connect = Connect::new("an MQTT 5 client");
            connect.protocol = Protocol::V5;
            return Ok(Some(Packet::Connect(connect)));
        }
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

/// The length of the MQTT 5 CONNECT at the front of `buffer`, once it is there whole.
fn v5_connect(buffer: &[u8]) -> Option<usize> {
    if buffer.first() != Some(&0x10) {
        return None;
    }
    let mut remaining = 0usize;
    let mut header = 1;
    for shift in [0, 7, 14, 21] {
        let byte = *buffer.get(header)?;
        header += 1;
        remaining |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    // Protocol name (2 + 4 bytes "MQTT"), then the level.
    let level = *buffer.get(header + 6)?;
    (level == 5 && buffer.len() >= header + remaining).then_some(header + remaining)
}

/// The payload of an MQTT 5 PUBLISH that the 3.1.1 reader read: what follows the properties
/// (their length, a variable byte integer, then the properties themselves).
pub fn v5_payload(read: &[u8]) -> &[u8] {
    let mut length = 0usize;
    let mut at = 0;
    for shift in [0, 7, 14, 21] {
        let Some(byte) = read.get(at) else {
            return &[];
        };
        at += 1;
        length |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    read.get(at + length..).unwrap_or_default()
}

/// One packet as raw bytes, for the scripted servers that read MQTT 5 by hand: its first byte
/// and its body. `None` when the client closed.
pub fn read_frame(stream: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut first = [0u8];
    if stream.read(&mut first)? == 0 {
        return Ok(None);
    }
    let mut length = 0usize;
    for shift in [0, 7, 14, 21] {
        let mut byte = [0u8];
        stream.read_exact(&mut byte)?;
        length |= usize::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            break;
        }
    }
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body)?;
    Ok(Some((first[0], body)))
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
