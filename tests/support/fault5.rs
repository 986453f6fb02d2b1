//! A scripted broker that speaks MQTT 5 (and 3.1.1) in raw bytes, for what a real mosquitto
//! cannot do on cue: refuse MQTT 5 like a 3.1.1-only broker, answer with chosen reason codes,
//! send DISCONNECT in each of its legal forms, send malformed packets. It records what each
//! connection sent ("CONNECT 5", "CONNECT 3.1.1", "PUBLISH", "PUBREL", "PINGREQ", ...).

use std::io::Write;
use std::net::{TcpListener, TcpStream};

use super::codec::read_frame;
use super::servers::Recorder;

/// What the broker does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// Speaks only MQTT 3.1.1: a v5 CONNECT gets the 3.1.1 refusal `20 02 00 01`; a 3.1.1
    /// session is served normally.
    V311Only,
    /// Speaks only MQTT 3.1.1 and ignores a v5 CONNECT: no answer, the connection left open
    /// (amqtt 0.12.1 does this); a 3.1.1 session is served normally.
    IgnoresV5,
    /// A v5 CONNACK with this reason code (and a reason string), then close.
    Refuse(u8),
    /// A v5 CONNACK with these property bytes (the list, without its length); then every
    /// PUBLISH gets `reply`.
    Serve { connack: Vec<u8>, reply: Reply },
}

/// How a v5 broker answers a PUBLISH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// PUBACK (QoS 1) or PUBREC then, on PUBREL, PUBCOMP (QoS 2), with this reason code and
    /// reason string when given (the short forms when neither is).
    Ack(u8, Option<&'static str>),
    /// These bytes (a DISCONNECT, or something malformed), then close.
    Bytes(Vec<u8>),
    /// Nothing at all.
    Silence,
}

/// The scripted v5 broker.
pub type Broker5 = Recorder<String>;

impl Recorder<String> {
    pub fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        Recorder::serve(listener, move |stream, log| {
            let _ = serve(stream, &script, log);
        })
    }
}

/// A v5 packet of `kind` with `body`, framed (bodies here are shorter than 128 bytes).
fn packet(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind, body.len() as u8];
    out.extend_from_slice(body);
    out
}

/// A reason string property list (with its length), or an empty one.
fn reason_properties(reason_string: Option<&str>) -> Vec<u8> {
    match reason_string {
        None => vec![0],
        Some(text) => {
            let mut list = vec![0x1f, 0, text.len() as u8];
            list.extend_from_slice(text.as_bytes());
            let mut out = vec![list.len() as u8];
            out.extend(list);
            out
        }
    }
}

fn ack(kind: u8, pkid: u16, reason: u8, reason_string: Option<&str>) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    if reason != 0 || reason_string.is_some() {
        body.push(reason);
        body.extend(reason_properties(reason_string));
    }
    packet(kind, &body)
}

fn serve(
    mut stream: TcpStream,
    script: &Script,
    log: &mut dyn FnMut(String),
) -> std::io::Result<()> {
    let Some((0x10, connect)) = read_frame(&mut stream)? else {
        return Ok(());
    };
    // Protocol name (2 + 4 bytes), then the level: 4 is 3.1.1, 5 is MQTT 5.
    let v5 = connect.get(6) == Some(&5);
    log(format!("CONNECT {}", if v5 { "5" } else { "3.1.1" }));
    let reply = match (script, v5) {
        (Script::V311Only, true) => {
            stream.write_all(&[0x20, 2, 0, 1])?;
            return Ok(());
        }
        (Script::IgnoresV5, true) => {
            // Hold the connection, saying nothing, until the client gives up on it.
            while read_frame(&mut stream)?.is_some() {}
            return Ok(());
        }
        (Script::V311Only | Script::IgnoresV5, false) => {
            stream.write_all(&[0x20, 2, 0, 0])?;
            Reply::Ack(0, None)
        }
        (Script::Refuse(code), _) => {
            let mut body = vec![0, *code];
            body.extend(reason_properties(Some("scripted refusal")));
            stream.write_all(&packet(0x20, &body))?;
            return Ok(());
        }
        (Script::Serve { connack, reply }, _) => {
            let mut body = vec![0, 0, connack.len() as u8];
            body.extend_from_slice(connack);
            stream.write_all(&packet(0x20, &body))?;
            reply.clone()
        }
    };
    while let Some((first, body)) = read_frame(&mut stream)? {
        match first >> 4 {
            3 => {
                log("PUBLISH".to_string());
                let qos = (first >> 1) & 3;
                let topic = usize::from(u16::from_be_bytes([body[0], body[1]]));
                let pkid = if qos > 0 {
                    u16::from_be_bytes([body[2 + topic], body[3 + topic]])
                } else {
                    0
                };
                match &reply {
                    Reply::Ack(reason, reason_string) => {
                        let kind = match qos {
                            0 => continue,
                            1 => 0x40,
                            _ => 0x50,
                        };
                        let (reason, words) = if v5 {
                            (*reason, *reason_string)
                        } else {
                            (0, None)
                        };
                        stream.write_all(&ack(kind, pkid, reason, words))?;
                    }
                    Reply::Bytes(bytes) => {
                        stream.write_all(bytes)?;
                        return Ok(());
                    }
                    Reply::Silence => {}
                }
            }
            6 => {
                log("PUBREL".to_string());
                let pkid = u16::from_be_bytes([body[0], body[1]]);
                stream.write_all(&ack(0x70, pkid, 0, None))?;
            }
            8 => {
                // A request's SUBSCRIBE to one filter: granted at QoS 1.
                log("SUBSCRIBE".to_string());
                let mut suback = body[..2].to_vec();
                if v5 {
                    suback.push(0);
                }
                suback.push(1);
                stream.write_all(&packet(0x90, &suback))?;
            }
            12 => {
                log("PINGREQ".to_string());
                stream.write_all(&[0xd0, 0])?;
            }
            14 => {
                log("DISCONNECT".to_string());
                return Ok(());
            }
            other => log(format!("packet type {other}")),
        }
    }
    Ok(())
}
