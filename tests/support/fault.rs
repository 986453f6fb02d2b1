//! A scripted fault broker: a TCP server speaking just enough MQTT 3.1.1 to misbehave on cue,
//! where a real broker cannot. It records what each client sent, so tests can check, e.g.,
//! that nothing was sent or that a DISCONNECT arrived.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rumqttc::{Packet, PubAck, PubComp, PubRec, QoS};

use super::codec::{read_packet, write_packet};

/// How the broker misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Accept the TCP connection and close it at once.
    CloseAtOnce,
    /// Answer like a web server.
    Http,
    /// Read CONNECT and never answer it.
    NoConnAck,
    /// Answer CONNECT with this CONNACK return code, then close.
    ConnAckCode(u8),
    /// CONNACK, then bytes that are no MQTT packet.
    GarbageAfterConnAck,
    /// CONNACK, then close the connection when the PUBLISH arrives.
    CloseOnPublish,
    /// CONNACK, then never acknowledge the PUBLISH (no PUBACK, no PUBREC).
    NoAck,
    /// QoS 2: PUBREC, then close the connection.
    PubRecThenClose,
    /// QoS 2: PUBREC, then never PUBCOMP.
    NoPubComp,
    /// A well-behaved broker that waits this long before each answer.
    Slow(Duration),
    /// Acknowledge this many PUBLISH packets, then close the connection.
    AckThenClose(usize),
}

/// What one connection sent us, by packet name ("CONNECT", "PUBLISH", "DISCONNECT", ...).
pub type Transcript = Vec<&'static str>;

pub struct FaultBroker {
    pub port: u16,
    /// Per connection: what it sent, and whether its handler has finished.
    transcripts: Arc<Mutex<Vec<(Transcript, bool)>>>,
}

impl FaultBroker {
    pub fn start(fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        Self::serve(listener, fault)
    }

    /// Serve on an already-bound listener (e.g. one bound later, on a reserved port).
    pub fn serve(listener: TcpListener, fault: Fault) -> Self {
        let port = listener.local_addr().expect("addr").port();
        let transcripts = Arc::new(Mutex::new(Vec::new()));
        let all = Arc::clone(&transcripts);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let index = {
                    let mut all = all.lock().unwrap();
                    all.push((Vec::new(), false));
                    all.len() - 1
                };
                let record = Arc::clone(&all);
                thread::spawn(move || {
                    let mut log = |name: &'static str| record.lock().unwrap()[index].0.push(name);
                    let _ = behave(stream, fault, &mut log);
                    record.lock().unwrap()[index].1 = true;
                });
            }
        });
        FaultBroker { port, transcripts }
    }

    pub fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// One transcript per TCP connection accepted so far.
    pub fn transcripts(&self) -> Vec<Transcript> {
        // mqtt-send may exit before our handler has read its last packet: wait (up to 5 s) for
        // every connection's handler to finish; each ends when its client closes.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let all = self.transcripts.lock().unwrap();
            if all.iter().all(|(_, done)| *done) || Instant::now() >= deadline {
                return all
                    .iter()
                    .map(|(transcript, _)| transcript.clone())
                    .collect();
            }
            drop(all);
            thread::sleep(Duration::from_millis(5));
        }
    }
}

fn name(packet: &Packet) -> &'static str {
    match packet {
        Packet::Connect(_) => "CONNECT",
        Packet::Publish(_) => "PUBLISH",
        Packet::PubRel(_) => "PUBREL",
        Packet::Disconnect => "DISCONNECT",
        Packet::PingReq => "PINGREQ",
        _ => "OTHER",
    }
}

fn behave(
    mut stream: TcpStream,
    fault: Fault,
    log: &mut impl FnMut(&'static str),
) -> std::io::Result<()> {
    let mut buffer = BytesMut::new();
    if fault == Fault::CloseAtOnce {
        return Ok(());
    }
    if fault == Fault::Http {
        let mut request = [0u8; 1024];
        let _ = stream.read(&mut request)?;
        stream.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    }
    let delay = match fault {
        Fault::Slow(delay) => delay,
        _ => Duration::ZERO,
    };
    let mut acknowledged = 0;
    while let Some(packet) = read_packet(&mut stream, &mut buffer)? {
        log(name(&packet));
        thread::sleep(delay);
        match (packet, fault) {
            (Packet::Connect(_), Fault::NoConnAck) => {}
            (Packet::Connect(_), Fault::ConnAckCode(code)) => {
                stream.write_all(&[0x20, 2, 0, code])?;
                return Ok(());
            }
            (Packet::Connect(_), Fault::GarbageAfterConnAck) => {
                stream.write_all(&[0x20, 2, 0, 0])?;
                stream.write_all(&[0xf0, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00])?;
            }
            (Packet::Connect(_), _) => stream.write_all(&[0x20, 2, 0, 0])?,
            (Packet::Publish(_), Fault::CloseOnPublish) => return Ok(()),
            (Packet::Publish(_), Fault::NoAck) => {}
            (Packet::Publish(_), Fault::AckThenClose(limit)) if acknowledged == limit => {
                // Close the way a broker's close arrives whole: FIN first, then read what the
                // client still sends, so no reset discards the acknowledgements in flight.
                stream.shutdown(std::net::Shutdown::Write)?;
                while read_packet(&mut stream, &mut buffer)?.is_some() {}
                return Ok(());
            }
            (Packet::Publish(publish), _) => {
                acknowledged += 1;
                match publish.qos {
                    QoS::AtMostOnce => {}
                    QoS::AtLeastOnce => {
                        write_packet(&mut stream, Packet::PubAck(PubAck::new(publish.pkid)))?
                    }
                    QoS::ExactlyOnce => {
                        write_packet(&mut stream, Packet::PubRec(PubRec::new(publish.pkid)))?;
                        if fault == Fault::PubRecThenClose {
                            return Ok(());
                        }
                    }
                }
            }
            (Packet::PubRel(_), Fault::NoPubComp) => {}
            (Packet::PubRel(rel), _) => {
                write_packet(&mut stream, Packet::PubComp(PubComp::new(rel.pkid)))?
            }
            (Packet::Disconnect, _) => return Ok(()),
            _ => {}
        }
    }
    Ok(())
}
