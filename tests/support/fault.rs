//! A scripted fault broker: a TCP server speaking just enough MQTT 3.1.1 to misbehave on cue,
//! where a real broker cannot. It records what each client sent, so tests can check, e.g.,
//! that nothing was sent or that a DISCONNECT arrived.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use bytes::BytesMut;
use rumqttc::{Packet, PubAck, PubComp, PubRec, QoS};

use super::codec::{encode, read_packet, write_packet};
use super::servers::Recorder;

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
    /// Answer CONNECT with CONNACK and close the connection at once, before the client can
    /// read the CONNACK: the client's first write after it (its PUBLISH) still succeeds, and is
    /// answered with a reset, so its next write (a DISCONNECT) fails.
    ConnAckThenClose,
    /// Acknowledge packet ids 1..=n before any PUBLISH exists: in the same write as the
    /// CONNACK, PUBACK for each (QoS 1) or PUBREC and PUBCOMP for each (QoS 2). Then never read
    /// or answer anything again (the connection stays open for 30 s).
    AckInAdvance(QoS, u16),
    /// Acknowledge (PUBACK, QoS 1) this many PUBLISH packets as they arrive, then stop
    /// reading: the client, still writing, fills the connection; 200 ms later (the PUBACKs
    /// have arrived and sit unread in the client's receive buffer) reset the connection, so
    /// the client's write fails.
    AckThenReset(usize),
    /// A broker without QoS 2 (RabbitMQ): answers a QoS 2 PUBLISH with PUBACK.
    PubAckForQos2,
    /// Behaves until the client's DISCONNECT, then resets the connection instead of closing
    /// it (as rumqttd does to a QoS 0 message over its size limit).
    ResetOnDisconnect,
}

/// What one connection sent us, by packet name ("CONNECT", "PUBLISH", "DISCONNECT", ...).
pub type Transcript = Vec<&'static str>;

/// A broker that misbehaves as its [`Fault`] says.
pub type FaultBroker = Recorder<&'static str>;

impl Recorder<&'static str> {
    pub fn start(fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        Self::serve_fault(listener, fault)
    }

    /// Serve on an already-bound listener (e.g. one bound later, on a reserved port).
    pub fn serve_fault(listener: TcpListener, fault: Fault) -> Self {
        Recorder::serve(listener, move |stream, log| {
            let _ = behave(stream, fault, log);
        })
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
    log: &mut dyn FnMut(&'static str),
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
    if let Fault::AckInAdvance(qos, count) = fault {
        return ack_in_advance(stream, qos, count, log);
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
            (Packet::Connect(_), Fault::ConnAckThenClose) => {
                // Corked, the CONNACK leaves only with the FIN that close sends: the socket is
                // closed before the client can read the CONNACK, so whatever the client writes
                // next is answered with a reset, never read by us.
                socket2::SockRef::from(&stream).set_tcp_cork(true)?;
                stream.write_all(&[0x20, 2, 0, 0])?;
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
                        write_packet(&mut stream, Packet::PubAck(PubAck::new(publish.pkid)))?;
                        if fault == Fault::AckThenReset(acknowledged) {
                            // The client is still writing what we no longer read: let the
                            // PUBACKs arrive, then close with a reset (SO_LINGER 0).
                            thread::sleep(Duration::from_millis(200));
                            socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
                            return Ok(());
                        }
                    }
                    QoS::ExactlyOnce if fault == Fault::PubAckForQos2 => {
                        write_packet(&mut stream, Packet::PubAck(PubAck::new(publish.pkid)))?;
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
            (Packet::Disconnect, Fault::ResetOnDisconnect) => {
                socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
                return Ok(());
            }
            (Packet::Disconnect, _) => return Ok(()),
            _ => {}
        }
    }
    Ok(())
}

/// [`Fault::AckInAdvance`]: read CONNECT, answer CONNACK and the acknowledgements in one write,
/// then hold the connection without reading it.
fn ack_in_advance(
    mut stream: TcpStream,
    qos: QoS,
    count: u16,
    log: &mut dyn FnMut(&'static str),
) -> std::io::Result<()> {
    let mut buffer = BytesMut::new();
    match read_packet(&mut stream, &mut buffer)? {
        Some(packet @ Packet::Connect(_)) => log(name(&packet)),
        Some(packet) => {
            log(name(&packet));
            return Ok(());
        }
        None => return Ok(()),
    }
    let mut reply = vec![0x20, 2, 0, 0];
    for pkid in 1..=count {
        match qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => reply.extend(encode(Packet::PubAck(PubAck::new(pkid)))),
            QoS::ExactlyOnce => {
                reply.extend(encode(Packet::PubRec(PubRec::new(pkid))));
                reply.extend(encode(Packet::PubComp(PubComp::new(pkid))));
            }
        }
    }
    stream.write_all(&reply)?;
    thread::sleep(Duration::from_secs(30));
    Ok(())
}
