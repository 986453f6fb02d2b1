//! A responder of the request/response pattern, a client of a real mosquitto: it subscribes to
//! a request topic and answers each request. Under MQTT 5 it answers on the request's Response
//! Topic with its Correlation Data (as MQTT 5 §4.10 describes it); under MQTT 3.1.1, which has
//! neither, on a topic agreed beforehand.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{
    Connect, Filter, Packet, PubAck, Publish, PublishProperties, Subscribe,
};

use super::codec::{read_packet, write_packet};

/// What the responder says to a request with `payload`.
pub type Answer = fn(&[u8]) -> Vec<u8>;

pub struct Responder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("the responder connects");
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    stream
}

impl Responder {
    /// MQTT 5: answer each request on `request_topic` on its Response Topic, echoing its
    /// Correlation Data, with a user property `served-by=responder`. `stray_first`: before
    /// each answer, one on the same topic with other correlation data.
    pub fn v5(port: u16, request_topic: &str, answer: Answer, stray_first: bool) -> Self {
        let mut stream = connect(port);
        let mut buffer = BytesMut::new();
        let hello = Connect {
            keep_alive: 60,
            client_id: format!("responder5-{}", std::process::id()),
            clean_start: true,
            properties: None,
        };
        send5(&mut stream, Packet::Connect(hello, None, None));
        assert!(matches!(
            read5(&mut stream, &mut buffer),
            Some(Packet::ConnAck(_))
        ));
        let mut subscribe = Subscribe::new(Filter::new(request_topic, QoS::AtLeastOnce), None);
        subscribe.pkid = 1;
        send5(&mut stream, Packet::Subscribe(subscribe));
        while !matches!(read5(&mut stream, &mut buffer), Some(Packet::SubAck(_))) {}
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut pkid = 1;
            while !done.load(Ordering::Relaxed) {
                let Some(Packet::Publish(request)) = read5(&mut stream, &mut buffer) else {
                    continue;
                };
                if request.qos == QoS::AtLeastOnce {
                    send5(&mut stream, Packet::PubAck(PubAck::new(request.pkid, None)));
                }
                let given = request.properties.unwrap_or_default();
                let Some(topic) = given.response_topic else {
                    continue;
                };
                let mut replies = Vec::new();
                if stray_first {
                    replies.push((Bytes::from_static(b"not-yours"), b"stray".to_vec()));
                }
                let correlation = given.correlation_data.unwrap_or_default();
                replies.push((correlation, answer(&request.payload)));
                for (correlation, payload) in replies {
                    pkid += 1;
                    let properties = PublishProperties {
                        correlation_data: Some(correlation),
                        user_properties: vec![("served-by".into(), "responder".into())],
                        content_type: Some("text/plain".into()),
                        ..PublishProperties::default()
                    };
                    let mut reply =
                        Publish::new(topic.clone(), QoS::AtLeastOnce, payload, Some(properties));
                    reply.pkid = pkid;
                    send5(&mut stream, Packet::Publish(reply));
                }
            }
        });
        Responder {
            stop,
            thread: Some(thread),
        }
    }

    /// MQTT 3.1.1: answer each request on `request_topic` on `reply_topic`.
    pub fn v311(port: u16, request_topic: &str, reply_topic: &str, answer: Answer) -> Self {
        let mut stream = connect(port);
        let mut buffer = BytesMut::new();
        let mut hello = rumqttc::Connect::new(format!("responder311-{}", std::process::id()));
        hello.clean_session = true;
        hello.keep_alive = 60;
        write_packet(&mut stream, rumqttc::Packet::Connect(hello)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert!(matches!(
            read_packet(&mut stream, &mut buffer),
            Ok(Some(rumqttc::Packet::ConnAck(_)))
        ));
        let filter = rumqttc::SubscribeFilter::new(request_topic.into(), rumqttc::QoS::AtLeastOnce);
        let mut subscribe = rumqttc::Subscribe::new_many([filter]);
        subscribe.pkid = 1;
        write_packet(&mut stream, rumqttc::Packet::Subscribe(subscribe)).unwrap();
        assert!(matches!(
            read_packet(&mut stream, &mut buffer),
            Ok(Some(rumqttc::Packet::SubAck(_)))
        ));
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::clone(&stop);
        let reply_topic = reply_topic.to_string();
        let thread = std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let request = match read_packet(&mut stream, &mut buffer) {
                    Ok(Some(rumqttc::Packet::Publish(request))) => request,
                    Ok(Some(_)) => continue,
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        continue;
                    }
                    _ => return,
                };
                if request.qos == rumqttc::QoS::AtLeastOnce {
                    let ack = rumqttc::PubAck::new(request.pkid);
                    write_packet(&mut stream, rumqttc::Packet::PubAck(ack)).unwrap();
                }
                let mut reply = rumqttc::Publish::new(
                    &reply_topic,
                    rumqttc::QoS::AtLeastOnce,
                    answer(&request.payload),
                );
                reply.pkid = 2;
                write_packet(&mut stream, rumqttc::Packet::Publish(reply)).unwrap();
            }
        });
        Responder {
            stop,
            thread: Some(thread),
        }
    }
}

fn send5(stream: &mut TcpStream, packet: Packet) {
    let mut out = BytesMut::new();
    packet
        .write(&mut out, None)
        .expect("encode a v5 test packet");
    stream.write_all(&out).unwrap();
}

/// The next v5 packet; `None` when none arrived within the read timeout (or it is one the
/// codec cannot read).
fn read5(stream: &mut TcpStream, buffer: &mut BytesMut) -> Option<Packet> {
    for _ in 0..100 {
        match Packet::read(buffer, None) {
            Ok(packet) => return Some(packet),
            Err(rumqttc::v5::mqttbytes::Error::InsufficientBytes(_)) => {}
            Err(_) => {
                buffer.clear();
                return None;
            }
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None;
            }
            Err(_) => return None,
        }
    }
    None
}
