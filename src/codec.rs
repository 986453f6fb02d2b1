//! MQTT packets as bytes, for MQTT 3.1.1 and MQTT 5. This is the only module that names
//! rumqttc's types: CONNECT and PUBLISH are encoded with rumqttc's public codecs, and everything
//! a publisher reads is read here by hand. rumqttc 0.25.1's v5 decoder cannot read what brokers
//! really send (a DISCONNECT with a reason code and no property length, `e0 01 9b`, as mosquitto
//! sends it; a zero-length DISCONNECT; AUTH; a 3.1.1 refusal `20 02 00 01` answering a v5
//! CONNECT; reason codes it has no name for), and CONNACK codes MQTT 3.1.1 does not define
//! (AWS documents 7) must reach the user as numbers.

use bytes::{Bytes, BytesMut};

pub use crate::message::Version;
use crate::message::{
    ConnectProperties, DisconnectProperties, MAX_REMAINING_LENGTH, Message, Properties, Qos, Will,
};

/// The largest packet MQTT can frame: the remaining length plus up to 5 header bytes.
const MAX_PACKET: usize = MAX_REMAINING_LENGTH + 5;
/// What we accept from the broker: acknowledgements are a few bytes (a reason string more);
/// anything larger than this is not meant for a publisher.
pub const MAX_INCOMING: usize = 1024 * 1024;

/// What CONNECT says about us.
#[derive(Debug, Clone, Copy)]
pub struct Hello<'a> {
    pub client_id: &'a str,
    pub keep_alive: u16,
    pub username: Option<&'a str>,
    /// Sent only with a username under MQTT 3.1.1 (§3.1.2.9); MQTT 5 allows it alone.
    pub password: Option<&'a str>,
    pub will: Option<&'a Will>,
    /// MQTT 5 only.
    pub properties: &'a ConnectProperties,
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
    PingReq,
    /// With its MQTT 5 properties (none under 3.1.1).
    Disconnect(&'a DisconnectProperties),
    /// SUBSCRIBE to `filters`, each at `qos`. Under MQTT 5 retained messages are not sent
    /// (Retain Handling 2): a request waits for an answer to itself, not for an old one.
    Subscribe {
        pkid: u16,
        filters: &'a [String],
        qos: Qos,
    },
    /// PUBACK for a QoS 1 PUBLISH the broker sent us.
    PubAck(u16),
}

/// What the broker's CONNACK says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnAck {
    /// The return code (3.1.1) or reason code (5): 0 is accepted.
    pub code: u8,
    pub session_present: bool,
    /// MQTT 5 only: what the broker allows and tells us.
    pub limits: Limits,
    /// A 3.1.1 CONNACK (no properties) answering a v5 CONNECT: the broker speaks 3.1.1 only.
    pub legacy: bool,
}

/// The CONNACK properties of MQTT 5 that bind a publisher, and the broker's words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub receive_maximum: Option<u16>,
    pub maximum_qos: Option<u8>,
    pub retain_available: Option<bool>,
    pub maximum_packet_size: Option<u32>,
    pub assigned_client_id: Option<String>,
    pub server_keep_alive: Option<u16>,
    pub topic_alias_maximum: Option<u16>,
    pub reason_string: Option<String>,
    pub server_reference: Option<String>,
}

/// A packet the broker sent, as far as a publisher cares. Reason codes are 0 (success) under
/// MQTT 3.1.1, which has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    ConnAck(ConnAck),
    PubAck(Reply),
    PubRec(Reply),
    PubComp(Reply),
    /// SUBACK: one return code (3.1.1) or reason code (5) per filter; 0x80 and above refuse.
    SubAck(SubAck),
    /// A message the broker forwards to us (what we subscribed to).
    Publish(Delivery),
    Disconnect {
        reason: u8,
        reason_string: Option<String>,
        server_reference: Option<String>,
    },
    /// Any other packet, by name (a publisher has no use for it).
    Other(&'static str),
}

/// An acknowledgement: its packet id, reason code and reason string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub pkid: u16,
    pub reason: u8,
    pub reason_string: Option<String>,
}

/// What SUBACK says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    pub pkid: u16,
    /// One per filter, in the order subscribed: the QoS granted, or 0x80 and above (refused).
    pub codes: Vec<u8>,
    pub reason_string: Option<String>,
}

/// A PUBLISH from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub topic: String,
    pub qos: u8,
    /// 0 for QoS 0.
    pub pkid: u16,
    pub retain: bool,
    pub payload: Bytes,
    /// MQTT 5 only (the Subscription Identifier and Topic Alias are read and dropped).
    pub properties: Properties,
}

impl Incoming {
    pub fn name(&self) -> &'static str {
        match self {
            Incoming::SubAck(_) => "SUBACK",
            Incoming::Publish(_) => "PUBLISH",
            Incoming::ConnAck(_) => "CONNACK",
            Incoming::PubAck(_) => "PUBACK",
            Incoming::PubRec(_) => "PUBREC",
            Incoming::PubComp(_) => "PUBCOMP",
            Incoming::Disconnect { .. } => "DISCONNECT",
            Incoming::Other(name) => name,
        }
    }
}

/// Append `packet` to `out`. The error names what the codec refused.
pub fn encode(packet: Outgoing<'_>, version: Version, out: &mut BytesMut) -> Result<(), String> {
    match (packet, version) {
        (Outgoing::PubRel(pkid), _) => {
            // 3.1.1 and 5 alike: success needs no reason code (MQTT 5 §3.6.2.1).
            out.extend_from_slice(&[0x62, 2]);
            out.extend_from_slice(&pkid.to_be_bytes());
            Ok(())
        }
        (Outgoing::PingReq, _) => {
            out.extend_from_slice(&[0xc0, 0]);
            Ok(())
        }
        (Outgoing::Disconnect(properties), Version::V5) if !properties.is_empty() => {
            // Reason 0 (normal disconnection), then the properties (MQTT 5 §3.14.2.2).
            let mut listed = BytesMut::new();
            if let Some(seconds) = properties.session_expiry {
                listed.extend_from_slice(&[0x11]);
                listed.extend_from_slice(&seconds.to_be_bytes());
            }
            if let Some(reason) = &properties.reason_string {
                listed.extend_from_slice(&[0x1f]);
                put_string(&mut listed, reason)?;
            }
            for (key, value) in &properties.user {
                listed.extend_from_slice(&[0x26]);
                put_string(&mut listed, key)?;
                put_string(&mut listed, value)?;
            }
            let mut body = BytesMut::from(&[0u8][..]);
            put_length(&mut body, listed.len());
            body.extend_from_slice(&listed);
            out.extend_from_slice(&[0xe0]);
            put_length(out, body.len());
            out.extend_from_slice(&body);
            Ok(())
        }
        (Outgoing::Disconnect(_), _) => {
            // Normal disconnection: remaining length 0 in both versions (MQTT 5 §3.14.2.1).
            out.extend_from_slice(&[0xe0, 0]);
            Ok(())
        }
        (Outgoing::PubAck(pkid), _) => {
            // Success needs no reason code under MQTT 5 either (§3.4.2.1).
            out.extend_from_slice(&[0x40, 2]);
            out.extend_from_slice(&pkid.to_be_bytes());
            Ok(())
        }
        (Outgoing::Subscribe { pkid, filters, qos }, version) => {
            subscribe(pkid, filters, qos, version, out);
            Ok(())
        }
        (Outgoing::Connect(hello), Version::V31) => v31_connect(&hello, out),
        (packet, Version::V31 | Version::V311) => v311::encode(packet, out),
        (packet, Version::V5) => v5::encode(packet, out),
    }
}

/// A variable byte integer (MQTT 5 §1.5.5).
fn put_length(out: &mut BytesMut, mut length: usize) {
    loop {
        let mut byte = (length % 128) as u8;
        length /= 128;
        if length > 0 {
            byte |= 0x80;
        }
        out.extend_from_slice(&[byte]);
        if length == 0 {
            return;
        }
    }
}

/// A UTF-8 string: its length in two bytes, then its bytes.
fn put_string(out: &mut BytesMut, text: &str) -> Result<(), String> {
    let length =
        u16::try_from(text.len()).map_err(|_| format!("{} bytes is too long", text.len()))?;
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// An MQTT 3.1 CONNECT (protocol name "MQIsdp", level 3), which rumqttc does not write. Every
/// other packet a publisher sends or reads is the same in 3.1 and 3.1.1.
fn v31_connect(hello: &Hello<'_>, out: &mut BytesMut) -> Result<(), String> {
    let mut body = BytesMut::new();
    put_string(&mut body, "MQIsdp")?;
    let mut flags = 0x02; // clean session
    if let Some(will) = hello.will {
        flags |= 0x04 | (will.qos.level() << 3);
        if will.retain {
            flags |= 0x20;
        }
    }
    let password = hello.username.and(hello.password);
    if password.is_some() {
        flags |= 0x40;
    }
    if hello.username.is_some() {
        flags |= 0x80;
    }
    body.extend_from_slice(&[3, flags]);
    body.extend_from_slice(&hello.keep_alive.to_be_bytes());
    put_string(&mut body, hello.client_id)?;
    if let Some(will) = hello.will {
        put_string(&mut body, &will.topic)?;
        let length = u16::try_from(will.payload.len())
            .map_err(|_| format!("a will of {} bytes is too long", will.payload.len()))?;
        body.extend_from_slice(&length.to_be_bytes());
        body.extend_from_slice(&will.payload);
    }
    for text in [hello.username, password].into_iter().flatten() {
        put_string(&mut body, text)?;
    }
    out.extend_from_slice(&[0x10]);
    put_length(out, body.len());
    out.extend_from_slice(&body);
    Ok(())
}

mod v311 {
    use bytes::BytesMut;
    use rumqttc::{Connect, LastWill, Login, Packet, Publish, QoS};

    use super::{MAX_PACKET, Outgoing};
    use crate::message::Qos;

    pub fn qos(qos: Qos) -> QoS {
        match qos {
            Qos::AtMostOnce => QoS::AtMostOnce,
            Qos::AtLeastOnce => QoS::AtLeastOnce,
            Qos::ExactlyOnce => QoS::ExactlyOnce,
        }
    }

    pub fn encode(packet: Outgoing<'_>, out: &mut BytesMut) -> Result<(), String> {
        let packet = match packet {
            Outgoing::Connect(hello) => {
                let mut connect = Connect::new(hello.client_id);
                connect.clean_session = true;
                connect.keep_alive = hello.keep_alive;
                connect.login = hello
                    .username
                    .map(|username| Login::new(username, hello.password.unwrap_or("")));
                connect.last_will = hello.will.map(|will| LastWill {
                    topic: will.topic.clone(),
                    message: will.payload.clone(),
                    qos: qos(will.qos),
                    retain: will.retain,
                });
                Packet::Connect(connect)
            }
            Outgoing::Publish { pkid, message } => {
                let mut publish = Publish::from_bytes(
                    message.topic.as_str(),
                    qos(message.qos),
                    message.payload.clone(),
                );
                publish.retain = message.retain;
                publish.pkid = pkid;
                Packet::Publish(publish)
            }
            Outgoing::PubRel(_)
            | Outgoing::PingReq
            | Outgoing::Disconnect(_)
            | Outgoing::PubAck(_)
            | Outgoing::Subscribe { .. } => {
                unreachable!("encoded by hand")
            }
        };
        packet
            .write(out, MAX_PACKET)
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }
}

mod v5 {
    use bytes::{Bytes, BytesMut};
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::mqttbytes::v5::{
        Connect, ConnectProperties, LastWill, LastWillProperties, Login, Publish, PublishProperties,
    };

    use super::{MAX_INCOMING, Outgoing};
    use crate::message::{Properties, Qos, Will};

    fn qos(qos: Qos) -> QoS {
        match qos {
            Qos::AtMostOnce => QoS::AtMostOnce,
            Qos::AtLeastOnce => QoS::AtLeastOnce,
            Qos::ExactlyOnce => QoS::ExactlyOnce,
        }
    }

    fn properties(given: &Properties) -> Option<PublishProperties> {
        if given.is_empty() {
            return None;
        }
        Some(PublishProperties {
            payload_format_indicator: given.payload_utf8.then_some(1),
            message_expiry_interval: given.message_expiry,
            topic_alias: None,
            response_topic: given.response_topic.clone(),
            correlation_data: given.correlation_data.clone(),
            user_properties: given.user.clone(),
            subscription_identifiers: Vec::new(),
            content_type: given.content_type.clone(),
        })
    }

    fn will_properties(will: &Will) -> Option<LastWillProperties> {
        let given = &will.properties;
        if given.is_empty() && will.delay.is_none() {
            return None;
        }
        Some(LastWillProperties {
            delay_interval: will.delay,
            payload_format_indicator: given.payload_utf8.then_some(1),
            message_expiry_interval: given.message_expiry,
            content_type: given.content_type.clone(),
            response_topic: given.response_topic.clone(),
            correlation_data: given.correlation_data.clone(),
            user_properties: given.user.clone(),
        })
    }

    pub fn encode(packet: Outgoing<'_>, out: &mut BytesMut) -> Result<(), String> {
        match packet {
            Outgoing::Connect(hello) => {
                let asked = hello.properties;
                let mut properties = ConnectProperties::new();
                // Session Expiry 0 unless asked (-x): nothing is kept for us after we leave.
                properties.session_expiry_interval = asked.session_expiry;
                // Tell the broker how large a packet we take.
                properties.max_packet_size =
                    Some(asked.maximum_packet_size.unwrap_or(MAX_INCOMING as u32));
                properties.receive_maximum = asked.receive_maximum;
                properties.topic_alias_max = asked.topic_alias_maximum;
                properties.request_response_info = asked.request_response_information;
                properties.request_problem_info = asked.request_problem_information;
                properties.user_properties = asked.user.clone();
                let connect = Connect {
                    keep_alive: hello.keep_alive,
                    client_id: hello.client_id.to_string(),
                    clean_start: true,
                    properties: Some(properties),
                };
                let login = match (hello.username, hello.password) {
                    (None, None) => None,
                    (username, password) => {
                        Some(Login::new(username.unwrap_or(""), password.unwrap_or("")))
                    }
                };
                let will = hello.will.map(|will| LastWill {
                    topic: Bytes::copy_from_slice(will.topic.as_bytes()),
                    message: will.payload.clone(),
                    qos: qos(will.qos),
                    retain: will.retain,
                    properties: will_properties(will),
                });
                connect
                    .write(&will, &login, out)
                    .map(|_| ())
                    .map_err(|e| format!("{e:?}"))
            }
            Outgoing::Publish { pkid, message } => {
                let publish = Publish {
                    dup: false,
                    qos: qos(message.qos),
                    retain: message.retain,
                    topic: Bytes::copy_from_slice(message.topic.as_bytes()),
                    pkid,
                    payload: message.payload.clone(),
                    properties: properties(&message.properties),
                };
                publish.write(out).map(|_| ()).map_err(|e| format!("{e:?}"))
            }
            Outgoing::PubRel(_)
            | Outgoing::PingReq
            | Outgoing::Disconnect(_)
            | Outgoing::PubAck(_)
            | Outgoing::Subscribe { .. } => {
                unreachable!("encoded by hand")
            }
        }
    }
}

/// SUBSCRIBE, by hand (rumqttc's v5 encoder cannot set Retain Handling): the packet id, the
/// properties (none, MQTT 5), then each filter with its options byte.
fn subscribe(pkid: u16, filters: &[String], qos: Qos, version: Version, out: &mut BytesMut) {
    let mut body = Vec::new();
    body.extend_from_slice(&pkid.to_be_bytes());
    if version == Version::V5 {
        body.push(0);
    }
    for filter in filters {
        body.extend_from_slice(&(filter.len() as u16).to_be_bytes());
        body.extend_from_slice(filter.as_bytes());
        let options = match version {
            Version::V31 | Version::V311 => qos.level(),
            // Retain Handling 2: no retained messages for this subscription (MQTT 5 §3.8.3.1).
            Version::V5 => qos.level() | 2 << 4,
        };
        body.push(options);
    }
    // 0x82: SUBSCRIBE with the reserved flags 0010 (MQTT 3.1.1 §3.8.1).
    out.extend_from_slice(&[0x82]);
    let mut length = body.len();
    loop {
        let byte = (length % 128) as u8;
        length /= 128;
        if length == 0 {
            out.extend_from_slice(&[byte]);
            break;
        }
        out.extend_from_slice(&[byte | 0x80]);
    }
    out.extend_from_slice(&body);
}

/// The next whole packet at the front of `buffer` (taken out of it), `None` while it is
/// incomplete. The error says why the bytes are not MQTT.
pub fn decode(buffer: &mut BytesMut, version: Version) -> Result<Option<Incoming>, String> {
    let Some((header_length, remaining)) = frame(buffer)? else {
        return Ok(None);
    };
    let first = buffer[0];
    let mut frame = buffer.split_to(header_length + remaining).freeze();
    let body = frame.split_off(header_length);
    let mut reader = Reader { bytes: &body };
    let packet_type = first >> 4;
    let packet = match packet_type {
        2 => Incoming::ConnAck(connack(&mut reader, version)?),
        4 => Incoming::PubAck(reply(&mut reader, version, "PUBACK")?),
        5 => Incoming::PubRec(reply(&mut reader, version, "PUBREC")?),
        7 => Incoming::PubComp(reply(&mut reader, version, "PUBCOMP")?),
        14 => disconnect(&mut reader, version)?,
        3 => Incoming::Publish(publish(first & 0x0f, &body, version)?),
        9 => Incoming::SubAck(suback(&mut reader, version)?),
        1 => Incoming::Other("CONNECT"),
        6 => Incoming::Other("PUBREL"),
        8 => Incoming::Other("SUBSCRIBE"),
        10 => Incoming::Other("UNSUBSCRIBE"),
        11 => Incoming::Other("UNSUBACK"),
        12 => Incoming::Other("PINGREQ"),
        13 => Incoming::Other("PINGRESP"),
        15 if version == Version::V5 => Incoming::Other("AUTH"),
        other => return Err(format!("packet type {other} does not exist")),
    };
    Ok(Some(packet))
}

/// The fixed header at the front of `buffer`: its length and the remaining length, once the
/// whole packet is there.
fn frame(buffer: &[u8]) -> Result<Option<(usize, usize)>, String> {
    let mut remaining = 0usize;
    for (index, byte) in buffer.iter().skip(1).take(4).enumerate() {
        remaining |= usize::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            let header = index + 2;
            if remaining > MAX_INCOMING {
                return Err(format!(
                    "a packet of {remaining} bytes, more than the {MAX_INCOMING} we take"
                ));
            }
            return Ok((buffer.len() >= header + remaining).then_some((header, remaining)));
        }
    }
    if buffer.len() >= 5 {
        return Err("a remaining length longer than 4 bytes".to_string());
    }
    Ok(None)
}

/// Reads the fields of one packet's body.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn u8(&mut self) -> Result<u8, String> {
        let (&first, rest) = self.bytes.split_first().ok_or("a packet ends early")?;
        self.bytes = rest;
        Ok(first)
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes([
            self.u8()?,
            self.u8()?,
            self.u8()?,
            self.u8()?,
        ]))
    }

    fn varint(&mut self) -> Result<usize, String> {
        let mut value = 0usize;
        for shift in [0, 7, 14, 21] {
            let byte = self.u8()?;
            value |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a variable byte integer longer than 4 bytes".to_string())
    }

    fn take(&mut self, length: usize) -> Result<&[u8], String> {
        if self.bytes.len() < length {
            return Err("a packet ends early".to_string());
        }
        let (taken, rest) = self.bytes.split_at(length);
        self.bytes = rest;
        Ok(taken)
    }

    fn binary(&mut self) -> Result<&[u8], String> {
        let length = usize::from(self.u16()?);
        self.take(length)
    }

    fn string(&mut self) -> Result<String, String> {
        let bytes = self.binary()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "a string that is not UTF-8".to_string())
    }
}

/// The MQTT 5 properties a publisher reads, whichever packet they come in.
#[derive(Default)]
struct Props {
    limits: Limits,
    /// Those of a PUBLISH.
    message: Properties,
}

/// Read a property list (its length first), keeping what a publisher uses.
fn properties(reader: &mut Reader<'_>) -> Result<Props, String> {
    let length = reader.varint()?;
    let mut list = Reader {
        bytes: reader.take(length)?,
    };
    let mut props = Props::default();
    let limits = &mut props.limits;
    let message = &mut props.message;
    while !list.is_empty() {
        match list.varint()? {
            0x01 => message.payload_utf8 = list.u8()? == 1,
            0x02 => message.message_expiry = Some(list.u32()?),
            0x03 => message.content_type = Some(list.string()?),
            0x08 => message.response_topic = Some(list.string()?),
            0x09 => message.correlation_data = Some(Bytes::copy_from_slice(list.binary()?)),
            0x26 => message.user.push((list.string()?, list.string()?)),
            0x17 | 0x19 | 0x28 | 0x29 | 0x2a => {
                list.u8()?;
            }
            0x24 => limits.maximum_qos = Some(list.u8()?),
            0x25 => limits.retain_available = Some(list.u8()? == 1),
            0x11 | 0x18 => {
                list.u32()?;
            }
            0x27 => limits.maximum_packet_size = Some(list.u32()?),
            0x15 | 0x1a => {
                list.string()?;
            }
            0x12 => limits.assigned_client_id = Some(list.string()?),
            0x1c => limits.server_reference = Some(list.string()?),
            0x1f => limits.reason_string = Some(list.string()?),
            0x16 => {
                list.binary()?;
            }
            0x0b => {
                list.varint()?;
            }
            0x13 => limits.server_keep_alive = Some(list.u16()?),
            0x21 => limits.receive_maximum = Some(list.u16()?),
            0x22 => limits.topic_alias_maximum = Some(list.u16()?),
            0x23 => {
                list.u16()?;
            }
            other => return Err(format!("an unknown property 0x{other:02x}")),
        }
    }
    Ok(props)
}

fn connack(reader: &mut Reader<'_>, version: Version) -> Result<ConnAck, String> {
    let flags = reader.u8()?;
    let code = reader.u8()?;
    let mut connack = ConnAck {
        code,
        session_present: flags & 1 == 1,
        limits: Limits::default(),
        legacy: version == Version::V5 && reader.is_empty(),
    };
    // A 3.1.1 broker answers a v5 CONNECT with a 3.1.1 CONNACK (`20 02 00 01`): no properties.
    if version == Version::V5 && !reader.is_empty() {
        connack.limits = properties(reader)?.limits;
    }
    if !reader.is_empty() {
        return Err(format!(
            "a CONNACK with {} bytes too many",
            reader.bytes.len()
        ));
    }
    Ok(connack)
}

fn reply(reader: &mut Reader<'_>, version: Version, name: &str) -> Result<Reply, String> {
    let pkid = reader.u16()?;
    let mut reply = Reply {
        pkid,
        reason: 0,
        reason_string: None,
    };
    if version == Version::V5 && !reader.is_empty() {
        reply.reason = reader.u8()?;
        if !reader.is_empty() {
            reply.reason_string = properties(reader)?.limits.reason_string;
        }
    }
    if !reader.is_empty() {
        return Err(format!(
            "a {name} with {} bytes too many",
            reader.bytes.len()
        ));
    }
    Ok(reply)
}

/// A PUBLISH: `flags` are the low 4 bits of its first byte (DUP, QoS, RETAIN).
fn publish(flags: u8, body: &Bytes, version: Version) -> Result<Delivery, String> {
    let qos = (flags >> 1) & 3;
    if qos == 3 {
        return Err("a PUBLISH with QoS 3".to_string());
    }
    let mut reader = Reader { bytes: &body[..] };
    let topic = reader.string()?;
    let pkid = if qos > 0 { reader.u16()? } else { 0 };
    let properties = match version {
        Version::V5 => properties(&mut reader)?.message,
        Version::V31 | Version::V311 => Properties::default(),
    };
    let payload = body.slice(body.len() - reader.bytes.len()..);
    Ok(Delivery {
        topic,
        qos,
        pkid,
        retain: flags & 1 == 1,
        payload,
        properties,
    })
}

fn suback(reader: &mut Reader<'_>, version: Version) -> Result<SubAck, String> {
    let pkid = reader.u16()?;
    let reason_string = match version {
        Version::V5 => properties(reader)?.limits.reason_string,
        Version::V31 | Version::V311 => None,
    };
    if reader.is_empty() {
        return Err("a SUBACK without a return code".to_string());
    }
    Ok(SubAck {
        pkid,
        codes: reader.bytes.to_vec(),
        reason_string,
    })
}

fn disconnect(reader: &mut Reader<'_>, version: Version) -> Result<Incoming, String> {
    let mut reason = 0;
    let mut limits = Limits::default();
    if version == Version::V5 && !reader.is_empty() {
        reason = reader.u8()?;
        // The property length may be left out (`e0 01 9b`): MQTT 5 §3.14.2.2.1.
        if !reader.is_empty() {
            limits = properties(reader)?.limits;
        }
    }
    if !reader.is_empty() {
        return Err(format!(
            "a DISCONNECT with {} bytes too many",
            reader.bytes.len()
        ));
    }
    Ok(Incoming::Disconnect {
        reason,
        reason_string: limits.reason_string,
        server_reference: limits.server_reference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mqtt_3_1_connect_names_mqisdp_level_3() {
        let will = Will {
            topic: "w".into(),
            payload: bytes::Bytes::from_static(b"bye"),
            qos: crate::message::Qos::AtLeastOnce,
            retain: true,
            properties: crate::message::Properties::default(),
            delay: None,
        };
        let hello = Hello {
            client_id: "id",
            keep_alive: 60,
            username: Some("u"),
            password: Some("p"),
            will: Some(&will),
            properties: &ConnectProperties::default(),
        };
        let mut out = BytesMut::new();
        encode(Outgoing::Connect(hello), Version::V31, &mut out).unwrap();
        assert_eq!(
            &out[..],
            b"\x10\x1e\x00\x06MQIsdp\x03\xee\x00\x3c\x00\x02id\x00\x01w\x00\x03bye\x00\x01u\x00\x01p"
        );
    }
    use crate::message::{Properties, Qos};
    use bytes::Bytes;

    fn message(qos: Qos, properties: Properties) -> Message {
        Message {
            topic: "a/b".into(),
            payload: Bytes::from_static(b"hi"),
            qos,
            retain: true,
            properties,
        }
    }

    fn decoded(bytes: &[u8], version: Version) -> Vec<Incoming> {
        let mut buffer = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(packet) = decode(&mut buffer, version).unwrap() {
            out.push(packet);
        }
        assert!(buffer.is_empty(), "left over: {buffer:?}");
        out
    }

    fn ack(pkid: u16, reason: u8, reason_string: Option<&str>) -> Reply {
        Reply {
            pkid,
            reason,
            reason_string: reason_string.map(str::to_string),
        }
    }

    #[test]
    fn publish_encodes_topic_packet_id_and_flags() {
        let mut out = BytesMut::new();
        let m = message(Qos::AtLeastOnce, Properties::default());
        let publish = Outgoing::Publish {
            pkid: 7,
            message: &m,
        };
        encode(publish, Version::V311, &mut out).unwrap();
        // PUBLISH, QoS 1, retain; remaining 9: topic "a/b", packet id 7, "hi".
        assert_eq!(&out[..], b"\x33\x09\x00\x03a/b\x00\x07hi");
        out.clear();
        encode(publish, Version::V5, &mut out).unwrap();
        // MQTT 5: a property length of 0 between the packet id and the payload.
        assert_eq!(&out[..], b"\x33\x0a\x00\x03a/b\x00\x07\x00hi");
    }

    #[test]
    fn v5_publish_properties_are_encoded() {
        let mut out = BytesMut::new();
        let properties = Properties {
            user: vec![("k".into(), "v".into())],
            content_type: Some("text/plain".into()),
            payload_utf8: true,
            ..Properties::default()
        };
        let m = message(Qos::AtMostOnce, properties);
        encode(
            Outgoing::Publish {
                pkid: 0,
                message: &m,
            },
            Version::V5,
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("text/plain") && text.contains('k') && text.contains('v'));
        assert_eq!(out[0], 0x31, "QoS 0, retain");
    }

    #[test]
    fn pubrel_and_disconnect_are_the_short_forms() {
        for version in [Version::V311, Version::V5] {
            let mut out = BytesMut::new();
            encode(Outgoing::PubRel(0x0102), version, &mut out).unwrap();
            encode(
                Outgoing::Disconnect(&DisconnectProperties::default()),
                version,
                &mut out,
            )
            .unwrap();
            assert_eq!(&out[..], b"\x62\x02\x01\x02\xe0\x00");
        }
    }

    #[test]
    fn v311_acknowledgements_and_connack_decode_and_partial_packets_wait() {
        let mut buffer =
            BytesMut::from(&b"\x20\x02\x00\x07\x40\x02\x00\x01\x50\x02\x00\x02\x70"[..]);
        let v = Version::V311;
        let connack = |code| {
            Incoming::ConnAck(ConnAck {
                code,
                ..ConnAck::default()
            })
        };
        assert_eq!(decode(&mut buffer, v), Ok(Some(connack(7))));
        assert_eq!(
            decode(&mut buffer, v),
            Ok(Some(Incoming::PubAck(ack(1, 0, None))))
        );
        assert_eq!(
            decode(&mut buffer, v),
            Ok(Some(Incoming::PubRec(ack(2, 0, None))))
        );
        assert_eq!(decode(&mut buffer, v), Ok(None), "half a PUBCOMP");
        buffer.extend_from_slice(b"\x02\x00\x03\xe0\x00");
        assert_eq!(
            decode(&mut buffer, v),
            Ok(Some(Incoming::PubComp(ack(3, 0, None))))
        );
        assert!(matches!(
            decode(&mut buffer, v),
            Ok(Some(Incoming::Disconnect { reason: 0, .. }))
        ));
    }

    #[test]
    fn mosquittos_v5_connack_decodes_with_its_limits() {
        // mosquitto 2.0.11's default listener: Topic Alias Maximum 10, Receive Maximum 20.
        let got = decoded(b"\x20\x09\x00\x00\x06\x22\x00\x0a\x21\x00\x14", Version::V5);
        let Incoming::ConnAck(connack) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(connack.code, 0);
        assert_eq!(connack.limits.topic_alias_maximum, Some(10));
        assert_eq!(connack.limits.receive_maximum, Some(20));
        assert_eq!(connack.limits.maximum_qos, None);
    }

    #[test]
    fn a_v311_refusal_of_a_v5_connect_is_read() {
        let got = decoded(b"\x20\x02\x00\x01", Version::V5);
        assert_eq!(
            got,
            [Incoming::ConnAck(ConnAck {
                code: 1,
                legacy: true,
                ..ConnAck::default()
            })]
        );
    }

    #[test]
    fn v5_acknowledgements_in_every_form() {
        let got = decoded(
            b"\x40\x02\x00\x01\x40\x03\x00\x02\x87\x50\x04\x00\x03\x97\x00\
              \x40\x0a\x00\x04\x87\x06\x1f\x00\x03n/a",
            Version::V5,
        );
        assert_eq!(
            got,
            [
                Incoming::PubAck(ack(1, 0, None)),
                Incoming::PubAck(ack(2, 0x87, None)),
                Incoming::PubRec(ack(3, 0x97, None)),
                Incoming::PubAck(ack(4, 0x87, Some("n/a"))),
            ]
        );
    }

    #[test]
    fn v5_disconnects_as_brokers_send_them() {
        let got = decoded(
            b"\xe0\x00\xe0\x01\x9b\xe0\x02\x8e\x00\xe0\x07\x95\x05\x1f\x00\x02hi",
            Version::V5,
        );
        let reasons: Vec<(u8, Option<String>)> = got
            .into_iter()
            .map(|packet| match packet {
                Incoming::Disconnect {
                    reason,
                    reason_string,
                    ..
                } => (reason, reason_string),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            reasons,
            [
                (0, None),
                (0x9b, None),
                (0x8e, None),
                (0x95, Some("hi".into()))
            ]
        );
        assert_eq!(decoded(b"\xf0\x00", Version::V5), [Incoming::Other("AUTH")]);
    }

    #[test]
    fn subscribe_and_puback_are_encoded_by_hand() {
        let filters = ["a/accepted".to_string(), "b".to_string()];
        let mut out = BytesMut::new();
        let subscribe = Outgoing::Subscribe {
            pkid: 3,
            filters: &filters,
            qos: Qos::AtLeastOnce,
        };
        encode(subscribe, Version::V311, &mut out).unwrap();
        assert_eq!(
            &out[..],
            b"\x82\x13\x00\x03\x00\x0aa/accepted\x01\x00\x01b\x01"
        );
        out.clear();
        encode(subscribe, Version::V5, &mut out).unwrap();
        // A property length of 0; options: QoS 1, Retain Handling 2.
        assert_eq!(
            &out[..],
            b"\x82\x14\x00\x03\x00\x00\x0aa/accepted\x21\x00\x01b\x21"
        );
        out.clear();
        encode(Outgoing::PubAck(0x0102), Version::V5, &mut out).unwrap();
        assert_eq!(&out[..], b"\x40\x02\x01\x02");
        // A long filter list needs a two-byte remaining length.
        let many: Vec<String> = (0..20).map(|n| format!("topic/{n:02}")).collect();
        out.clear();
        let subscribe = Outgoing::Subscribe {
            pkid: 1,
            filters: &many,
            qos: Qos::AtMostOnce,
        };
        encode(subscribe, Version::V311, &mut out).unwrap();
        assert_eq!(&out[1..3], &[0xde, 0x01], "2 + 20 * 11 = 222 bytes");
    }

    #[test]
    fn subacks_decode_with_their_codes() {
        assert_eq!(
            decoded(b"\x90\x04\x00\x03\x01\x80", Version::V311),
            [Incoming::SubAck(SubAck {
                pkid: 3,
                codes: vec![1, 0x80],
                reason_string: None
            })]
        );
        assert_eq!(
            decoded(b"\x90\x0a\x00\x03\x05\x1f\x00\x02no\x87\x01", Version::V5),
            [Incoming::SubAck(SubAck {
                pkid: 3,
                codes: vec![0x87, 1],
                reason_string: Some("no".into())
            })]
        );
        assert!(decode(&mut BytesMut::from(&b"\x90\x02\x00\x03"[..]), Version::V311).is_err());
    }

    #[test]
    fn publishes_from_the_broker_decode_with_their_properties() {
        // 3.1.1, QoS 1, retain: topic "a/b", packet id 9, payload "hi".
        assert_eq!(
            decoded(b"\x33\x09\x00\x03a/b\x00\x09hi", Version::V311),
            [Incoming::Publish(Delivery {
                topic: "a/b".into(),
                qos: 1,
                pkid: 9,
                retain: true,
                payload: Bytes::from_static(b"hi"),
                properties: Properties::default(),
            })]
        );
        // 5, QoS 0: correlation data "c1", a user property k=v, content type "t", a
        // subscription identifier 1; payload "ok".
        let got = decoded(
            b"\x30\x18\x00\x01r\x12\x09\x00\x02c1\x26\x00\x01k\x00\x01v\x03\x00\x01t\x0b\x01ok",
            Version::V5,
        );
        let [Incoming::Publish(delivery)] = &got[..] else {
            panic!("{got:?}")
        };
        assert_eq!(
            (delivery.topic.as_str(), delivery.qos, delivery.pkid),
            ("r", 0, 0)
        );
        assert_eq!(&delivery.payload[..], b"ok");
        assert_eq!(
            delivery.properties,
            Properties {
                user: vec![("k".into(), "v".into())],
                content_type: Some("t".into()),
                correlation_data: Some(Bytes::from_static(b"c1")),
                ..Properties::default()
            }
        );
        assert!(
            decode(
                &mut BytesMut::from(&b"\x36\x03\x00\x01r"[..]),
                Version::V311
            )
            .is_err()
        );
    }

    #[test]
    fn bytes_that_are_not_mqtt_are_an_error() {
        // Packet type 15 does not exist in MQTT 3.1.1.
        assert!(decode(&mut BytesMut::from(&b"\xf0\x00"[..]), Version::V311).is_err());
        let mut buffer = BytesMut::from(&b"\x20\x03\x00\x00\x00"[..]);
        assert!(decode(&mut buffer, Version::V311).is_err());
        let mut buffer = BytesMut::from(&b"\x40\x05\x00\x01\x87\x09\x00"[..]);
        assert!(
            decode(&mut buffer, Version::V5).is_err(),
            "a property list that overruns"
        );
        let mut buffer = BytesMut::from(&b"\x40\xff\xff\xff\xff\x7f"[..]);
        assert!(decode(&mut buffer, Version::V5).is_err());
    }
}
