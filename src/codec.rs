//! MQTT packets as bytes. This is the only module that names rumqttc's types: it turns our
//! packets into bytes with rumqttc's public MQTT 3.1.1 codec and bytes into our [`Incoming`],
//! so another protocol version slots in here beside this one.
//!
//! CONNACK is read by hand so that any return code, including ones MQTT 3.1.1 does not define
//! (AWS documents 7), reaches the user as a number.

use bytes::BytesMut;
use rumqttc::mqttbytes::{self, PacketType};
use rumqttc::{Connect, Login, Packet, PubRel, Publish, QoS};

use crate::message::{MAX_REMAINING_LENGTH, Message, Qos};

/// The largest packet MQTT can frame: the remaining length plus up to 5 header bytes.
const MAX_PACKET: usize = MAX_REMAINING_LENGTH + 5;
/// What we accept from the broker: acknowledgements are 4 bytes; anything larger than this is
/// not meant for a publisher.
const MAX_INCOMING: usize = 1024 * 1024;

/// What CONNECT says about us.
#[derive(Debug, Clone, Copy)]
pub struct Hello<'a> {
    pub client_id: &'a str,
    pub keep_alive: u16,
    pub username: Option<&'a str>,
    /// Sent only with a username (MQTT 3.1.1 §3.1.2.9).
    pub password: Option<&'a str>,
}

/// A packet we send.
#[derive(Debug, Clone, Copy)]
pub enum Outgoing<'a> {
    Connect(Hello<'a>),
    /// `pkid` is 0 for QoS 0.
    Publish {
        pkid: u16,
        message: &'a Message,
    },
    PubRel(u16),
    Disconnect,
}

/// A packet the broker sent, as far as a publisher cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    ConnAck {
        code: u8,
    },
    PubAck(u16),
    PubRec(u16),
    PubComp(u16),
    Disconnect,
    /// Any other packet, by name (a publisher has no use for it).
    Other(&'static str),
}

impl Incoming {
    pub fn name(&self) -> &'static str {
        match self {
            Incoming::ConnAck { .. } => "CONNACK",
            Incoming::PubAck(_) => "PUBACK",
            Incoming::PubRec(_) => "PUBREC",
            Incoming::PubComp(_) => "PUBCOMP",
            Incoming::Disconnect => "DISCONNECT",
            Incoming::Other(name) => name,
        }
    }
}

fn rumqttc_qos(qos: Qos) -> QoS {
    match qos {
        Qos::AtMostOnce => QoS::AtMostOnce,
        Qos::AtLeastOnce => QoS::AtLeastOnce,
        Qos::ExactlyOnce => QoS::ExactlyOnce,
    }
}

/// Append `packet` to `out`. The error names what the codec refused.
pub fn encode(packet: Outgoing<'_>, out: &mut BytesMut) -> Result<(), String> {
    let packet = match packet {
        Outgoing::Connect(hello) => {
            let mut connect = Connect::new(hello.client_id);
            connect.clean_session = true;
            connect.keep_alive = hello.keep_alive;
            connect.login = hello
                .username
                .map(|username| Login::new(username, hello.password.unwrap_or("")));
            Packet::Connect(connect)
        }
        Outgoing::Publish { pkid, message } => {
            let mut publish = Publish::from_bytes(
                message.topic.as_str(),
                rumqttc_qos(message.qos),
                message.payload.clone(),
            );
            publish.retain = message.retain;
            publish.pkid = pkid;
            Packet::Publish(publish)
        }
        Outgoing::PubRel(pkid) => Packet::PubRel(PubRel::new(pkid)),
        Outgoing::Disconnect => Packet::Disconnect,
    };
    packet
        .write(out, MAX_PACKET)
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

/// The next whole packet at the front of `buffer` (taken out of it), `None` while it is
/// incomplete. The error says why the bytes are not MQTT.
pub fn decode(buffer: &mut BytesMut) -> Result<Option<Incoming>, String> {
    let header = match mqttbytes::check(buffer.iter(), MAX_INCOMING) {
        Ok(header) => header,
        Err(mqttbytes::Error::InsufficientBytes(_)) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if header.packet_type().map_err(|e| e.to_string())? == PacketType::ConnAck {
        let frame = buffer.split_to(header.frame_length());
        return match frame[..] {
            [0x20, 2, _flags, code] => Ok(Some(Incoming::ConnAck { code })),
            _ => Err(format!("a CONNACK of {} bytes (expected 4)", frame.len())),
        };
    }
    let packet = Packet::read(buffer, MAX_INCOMING).map_err(|e| e.to_string())?;
    Ok(Some(match packet {
        Packet::PubAck(ack) => Incoming::PubAck(ack.pkid),
        Packet::PubRec(ack) => Incoming::PubRec(ack.pkid),
        Packet::PubComp(ack) => Incoming::PubComp(ack.pkid),
        Packet::Disconnect => Incoming::Disconnect,
        Packet::ConnAck(_) => Incoming::Other("CONNACK"),
        Packet::Connect(_) => Incoming::Other("CONNECT"),
        Packet::Publish(_) => Incoming::Other("PUBLISH"),
        Packet::PubRel(_) => Incoming::Other("PUBREL"),
        Packet::Subscribe(_) => Incoming::Other("SUBSCRIBE"),
        Packet::SubAck(_) => Incoming::Other("SUBACK"),
        Packet::Unsubscribe(_) => Incoming::Other("UNSUBSCRIBE"),
        Packet::UnsubAck(_) => Incoming::Other("UNSUBACK"),
        Packet::PingReq => Incoming::Other("PINGREQ"),
        Packet::PingResp => Incoming::Other("PINGRESP"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn message(qos: Qos) -> Message {
        Message {
            topic: "a/b".into(),
            payload: Bytes::from_static(b"hi"),
            qos,
            retain: true,
        }
    }

    #[test]
    fn publish_encodes_topic_packet_id_and_flags() {
        let mut out = BytesMut::new();
        let m = message(Qos::AtLeastOnce);
        encode(
            Outgoing::Publish {
                pkid: 7,
                message: &m,
            },
            &mut out,
        )
        .unwrap();
        // PUBLISH, QoS 1, retain; remaining 9: topic "a/b", packet id 7, "hi".
        assert_eq!(&out[..], b"\x33\x09\x00\x03a/b\x00\x07hi");
    }

    #[test]
    fn acknowledgements_and_connack_decode_and_partial_packets_wait() {
        let mut buffer =
            BytesMut::from(&b"\x20\x02\x00\x07\x40\x02\x00\x01\x50\x02\x00\x02\x70"[..]);
        assert_eq!(decode(&mut buffer), Ok(Some(Incoming::ConnAck { code: 7 })));
        assert_eq!(decode(&mut buffer), Ok(Some(Incoming::PubAck(1))));
        assert_eq!(decode(&mut buffer), Ok(Some(Incoming::PubRec(2))));
        assert_eq!(decode(&mut buffer), Ok(None), "half a PUBCOMP");
        buffer.extend_from_slice(b"\x02\x00\x03\xe0\x00");
        assert_eq!(decode(&mut buffer), Ok(Some(Incoming::PubComp(3))));
        assert_eq!(decode(&mut buffer), Ok(Some(Incoming::Disconnect)));
    }

    #[test]
    fn bytes_that_are_not_mqtt_are_an_error() {
        // Packet type 15 does not exist in MQTT 3.1.1.
        let mut buffer = BytesMut::from(&b"\xf0\x00"[..]);
        assert!(decode(&mut buffer).is_err());
        let mut buffer = BytesMut::from(&b"\x20\x03\x00\x00\x00"[..]);
        assert!(
            decode(&mut buffer)
                .unwrap_err()
                .contains("CONNACK of 5 bytes")
        );
    }
}
