//! An MQTT 5 subscriber on a blocking socket, using rumqttc's v5 codec: it sees what a 3.1.1
//! subscriber cannot, a message's properties and (with Retain As Published) the retain flag
//! it was published with. `connect` returns once the broker has acknowledged the
//! subscription, so nothing published after it is missed.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{
    Connect, Filter, Packet, PubAck, PubComp, PubRec, RetainForwardRule, Subscribe,
};

/// A message as it arrived, with everything the publisher could set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    pub user_properties: Vec<(String, String)>,
    pub content_type: Option<String>,
    pub response_topic: Option<String>,
    pub correlation_data: Option<Vec<u8>>,
    pub payload_format: Option<u8>,
    /// Whether a Message Expiry Interval came with it (the broker counts it down).
    pub expires: bool,
}

pub struct Subscriber5 {
    stream: TcpStream,
    buffer: BytesMut,
}

impl Subscriber5 {
    /// Subscribe to `filter` at QoS 2 with Retain As Published, on a plain listener.
    pub fn connect(port: u16, filter: &str) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("subscriber connects");
        stream.set_nodelay(true).expect("nodelay");
        let mut subscriber = Subscriber5 {
            stream,
            buffer: BytesMut::new(),
        };
        let connect = Connect {
            keep_alive: 60,
            client_id: format!("test-sub5-{}", std::process::id()),
            clean_start: true,
            properties: None,
        };
        let mut out = BytesMut::new();
        connect
            .write(&None, &None, &mut out)
            .expect("encode CONNECT");
        subscriber.write(&out);
        match subscriber.read(Duration::from_secs(5)) {
            Some(Packet::ConnAck(_)) => {}
            other => panic!("subscriber expected CONNACK, got {other:?}"),
        }
        let subscribe = Subscribe {
            pkid: 1,
            filters: vec![Filter {
                path: filter.to_string(),
                qos: QoS::ExactlyOnce,
                nolocal: false,
                preserve_retain: true,
                retain_forward_rule: RetainForwardRule::Never,
            }],
            properties: None,
        };
        subscriber.send(Packet::Subscribe(subscribe));
        match subscriber.read(Duration::from_secs(5)) {
            Some(Packet::SubAck(_)) => {}
            other => panic!("subscriber expected SUBACK, got {other:?}"),
        }
        subscriber
    }

    fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("subscriber write");
    }

    fn send(&mut self, packet: Packet) {
        let mut out = BytesMut::new();
        packet.write(&mut out, None).expect("encode a packet");
        self.write(&out);
    }

    /// The next packet, or None when `wait` passes first (or the broker closed).
    fn read(&mut self, wait: Duration) -> Option<Packet> {
        let deadline = Instant::now() + wait;
        loop {
            match Packet::read(&mut self.buffer, None) {
                Ok(packet) => return Some(packet),
                Err(rumqttc::v5::mqttbytes::Error::InsufficientBytes(_)) => {}
                Err(e) => panic!("subscriber cannot read what the broker sent: {e:?}"),
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("timeout");
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(read) => self.buffer.extend_from_slice(&chunk[..read]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return None;
                }
                Err(e) => panic!("subscriber read failed: {e}"),
            }
        }
    }

    /// The next message, acknowledged as its QoS requires; None if none arrives within `wait`.
    pub fn next(&mut self, wait: Duration) -> Option<Message> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.read(left)? {
                Packet::Publish(publish) => {
                    match publish.qos {
                        QoS::AtMostOnce => {}
                        QoS::AtLeastOnce => {
                            self.send(Packet::PubAck(PubAck::new(publish.pkid, None)))
                        }
                        QoS::ExactlyOnce => {
                            self.send(Packet::PubRec(PubRec::new(publish.pkid, None)))
                        }
                    }
                    let properties = publish.properties.unwrap_or_default();
                    return Some(Message {
                        topic: String::from_utf8_lossy(&publish.topic).into_owned(),
                        payload: publish.payload.to_vec(),
                        qos: publish.qos as u8,
                        retain: publish.retain,
                        user_properties: properties.user_properties,
                        content_type: properties.content_type,
                        response_topic: properties.response_topic,
                        correlation_data: properties.correlation_data.map(|data| data.to_vec()),
                        payload_format: properties.payload_format_indicator,
                        expires: properties.message_expiry_interval.is_some(),
                    });
                }
                Packet::PubRel(rel) => self.send(Packet::PubComp(PubComp::new(rel.pkid, None))),
                _ => {}
            }
        }
    }

    /// `count` messages (each within 5 s of the one before), then whatever else arrives within
    /// `idle`.
    pub fn take(&mut self, count: usize, idle: Duration) -> Vec<Message> {
        let mut all = Vec::new();
        while all.len() < count {
            match self.next(Duration::from_secs(5)) {
                Some(message) => all.push(message),
                None => break,
            }
        }
        while let Some(message) = self.next(idle) {
            all.push(message);
        }
        all
    }
}
