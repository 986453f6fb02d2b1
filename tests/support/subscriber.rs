//! A plain MQTT 3.1.1 subscriber on a blocking socket, using rumqttc's codec. `connect` returns
//! once the broker has acknowledged the subscription, so nothing published after it is missed.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::codec::{read_packet, write_packet};
use rumqttc::{Connect, Login, Packet, PubAck, PubComp, PubRec, QoS, Subscribe, SubscribeFilter};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
}

pub struct Subscriber {
    stream: TcpStream,
    buffer: BytesMut,
}

impl Subscriber {
    /// Subscribe to `filters` at QoS 2 (so each message arrives at the QoS it was sent with).
    pub fn connect(port: u16, filters: &[&str]) -> Self {
        Self::connect_as(port, None, filters)
    }

    pub fn connect_as(port: u16, login: Option<(&str, &str)>, filters: &[&str]) -> Self {
        Self::connect_with(port, login, filters, QoS::ExactlyOnce)
    }

    /// Subscribe at QoS 0: the broker forwards without per-client inflight limits, so a
    /// subscriber that reads fast enough sees every message of a large batch.
    pub fn connect_qos0(port: u16, filters: &[&str]) -> Self {
        Self::connect_with(port, None, filters, QoS::AtMostOnce)
    }

    fn connect_with(port: u16, login: Option<(&str, &str)>, filters: &[&str], qos: QoS) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("subscriber connects");
        stream.set_nodelay(true).expect("nodelay");
        let mut subscriber = Subscriber {
            stream,
            buffer: BytesMut::new(),
        };
        let mut connect = Connect::new(format!("test-sub-{}", std::process::id()));
        connect.clean_session = true;
        connect.keep_alive = 60;
        if let Some((user, password)) = login {
            connect.login = Some(Login::new(user, password));
        }
        subscriber.send(Packet::Connect(connect));
        match subscriber.read(Duration::from_secs(5)) {
            Some(Packet::ConnAck(ack)) => assert_eq!(ack.code, rumqttc::ConnectReturnCode::Success),
            other => panic!("subscriber expected CONNACK, got {other:?}"),
        }
        let filters = filters
            .iter()
            .map(|f| SubscribeFilter::new((*f).to_string(), qos))
            .collect::<Vec<_>>();
        let mut subscribe = Subscribe::new_many(filters);
        subscribe.pkid = 1;
        subscriber.send(Packet::Subscribe(subscribe));
        match subscriber.read(Duration::from_secs(5)) {
            Some(Packet::SubAck(_)) => {}
            other => panic!("subscriber expected SUBACK, got {other:?}"),
        }
        subscriber
    }

    fn send(&mut self, packet: Packet) {
        write_packet(&mut self.stream, packet).expect("subscriber write");
    }

    /// The next packet, or None when `wait` passes first (or the broker closed).
    fn read(&mut self, wait: Duration) -> Option<Packet> {
        let wait = wait.max(Duration::from_millis(1));
        self.stream.set_read_timeout(Some(wait)).expect("timeout");
        match read_packet(&mut self.stream, &mut self.buffer) {
            Ok(packet) => packet,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
            // The broker went away (a test that kills it).
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) =>
            {
                None
            }
            Err(e) => panic!("subscriber read failed: {e}"),
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
                        QoS::AtLeastOnce => self.send(Packet::PubAck(PubAck::new(publish.pkid))),
                        QoS::ExactlyOnce => self.send(Packet::PubRec(PubRec::new(publish.pkid))),
                    }
                    return Some(Message {
                        topic: publish.topic,
                        payload: publish.payload.to_vec(),
                        qos: publish.qos as u8,
                        retain: publish.retain,
                    });
                }
                Packet::PubRel(rel) => self.send(Packet::PubComp(PubComp::new(rel.pkid))),
                _ => {}
            }
        }
    }

    /// Every message until none has arrived for `idle`.
    pub fn drain(&mut self, idle: Duration) -> Vec<Message> {
        let mut all = Vec::new();
        while let Some(message) = self.next(idle) {
            all.push(message);
        }
        all
    }

    /// Collect on a thread of its own while the test runs mqtt-send: a subscriber that does not
    /// read makes the broker drop what it cannot queue. Collects until no message has arrived
    /// for `idle`, after a first one (waited for up to 60 s).
    pub fn collect(mut self, idle: Duration) -> std::thread::JoinHandle<Vec<Message>> {
        std::thread::spawn(move || {
            let Some(first) = self.next(Duration::from_secs(60)) else {
                return Vec::new();
            };
            let mut all = vec![first];
            all.extend(self.drain(idle));
            all
        })
    }

    /// The next message, which must arrive within 5 s.
    pub fn expect_message(&mut self) -> Message {
        self.next(Duration::from_secs(5))
            .expect("a message reaches the subscriber")
    }
}
