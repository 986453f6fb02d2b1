//! An AWS IoT shadow service, as AWS's documentation describes it: it keeps a version and a
//! state per thing and shadow, answers update, get and delete on `…/accepted` or `…/rejected`,
//! echoes the request's `clientToken`, and rejects a stale `version` (409), a bad document
//! (400), a missing shadow (404). It runs as a client of a real mosquitto (`ShadowService`), and,
//! for what a real broker cannot do on cue (forward the answer before the PUBACK, refuse the
//! SUBSCRIBE), inside a scripted broker (`ScriptedAws`).

use std::collections::HashMap;
use std::io::{ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use rumqttc::{Connect, Packet, PubAck, Publish, QoS, Subscribe, SubscribeFilter};
use serde_json::{Map, Value, json};

use super::codec::{read_frame, read_packet, write_packet};
use super::servers::Recorder;

/// How the service answers, besides as AWS does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// As AWS documents it.
    Aws,
    /// Every request: 429, too many requests.
    Throttle,
    /// First an answer (a 409 rejection) for another client's token, then the real one.
    OtherTokenFirst,
    /// The answer, this long after the request.
    Delay(Duration),
    /// No answer at all.
    Never,
}

/// The shadows, by request topic prefix (`$aws/things/T/shadow[/name/N]`): version and state.
#[derive(Default)]
pub struct Shadows {
    documents: HashMap<String, (u64, Map<String, Value>)>,
    /// Every request: its topic and payload.
    pub requests: Vec<(String, Vec<u8>)>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn rejected(code: u16, message: &str, token: Option<&Value>) -> Value {
    let mut answer = json!({"code": code, "message": message, "timestamp": now()});
    if let Some(token) = token {
        answer["clientToken"] = token.clone();
    }
    answer
}

impl Shadows {
    /// The answers to a message on `topic` (topic and payload, in order); none when it is not
    /// a request (an answer of ours coming back, through `$aws/things/+/shadow/#`).
    pub fn answer(
        &mut self,
        topic: &str,
        payload: &[u8],
        behaviour: Behaviour,
    ) -> Vec<(String, Vec<u8>)> {
        let Some((shadow, operation)) = topic.rsplit_once('/') else {
            return Vec::new();
        };
        if !["update", "get", "delete"].contains(&operation) || !shadow.starts_with("$aws/things/")
        {
            return Vec::new();
        }
        self.requests.push((topic.to_string(), payload.to_vec()));
        if behaviour == Behaviour::Never {
            return Vec::new();
        }
        let request: Option<Map<String, Value>> = match serde_json::from_slice(payload) {
            Ok(Value::Object(map)) => Some(map),
            _ if payload.is_empty() && operation != "update" => Some(Map::new()),
            _ => None,
        };
        let token = request.as_ref().and_then(|r| r.get("clientToken")).cloned();
        let (accepted, answer) = match (request, behaviour) {
            (None, _) => (false, rejected(400, "Payload contains invalid json", None)),
            (Some(_), Behaviour::Throttle) => {
                (false, rejected(429, "Too Many Requests", token.as_ref()))
            }
            (Some(request), _) => self.apply(shadow, operation, &request, token.as_ref()),
        };
        let mut answers = Vec::new();
        if behaviour == Behaviour::OtherTokenFirst {
            let other = rejected(409, "Version conflict", Some(&json!("another-client")));
            answers.push((format!("{topic}/rejected"), other.to_string().into_bytes()));
        }
        let verdict = if accepted { "accepted" } else { "rejected" };
        answers.push((
            format!("{topic}/{verdict}"),
            answer.to_string().into_bytes(),
        ));
        answers
    }

    fn apply(
        &mut self,
        shadow: &str,
        operation: &str,
        request: &Map<String, Value>,
        token: Option<&Value>,
    ) -> (bool, Value) {
        let with_token = |mut answer: Value| {
            if let Some(token) = token {
                answer["clientToken"] = token.clone();
            }
            answer
        };
        let missing = || rejected(404, "No shadow exists with name: 'shadow'", token);
        match operation {
            "get" => match self.documents.get(shadow) {
                Some((version, state)) => (
                    true,
                    with_token(
                        json!({"state": state, "metadata": {}, "version": version, "timestamp": now()}),
                    ),
                ),
                None => (false, missing()),
            },
            "delete" => match self.documents.remove(shadow) {
                Some((version, _)) => (
                    true,
                    with_token(json!({"version": version, "timestamp": now()})),
                ),
                None => (false, missing()),
            },
            _ => {
                let Some(Value::Object(state)) = request.get("state") else {
                    return (false, rejected(400, "Missing required node: state", token));
                };
                if let Some(node) = state
                    .keys()
                    .find(|k| !["desired", "reported"].contains(&k.as_str()))
                {
                    let message = format!("State contains an invalid node: '{node}'");
                    return (false, rejected(400, &message, token));
                }
                let (version, stored) = self.documents.entry(shadow.to_string()).or_default();
                if let Some(asked) = request.get("version").and_then(Value::as_u64)
                    && asked != *version
                {
                    return (false, rejected(409, "Version conflict", token));
                }
                for (section, value) in state {
                    let merged = stored.entry(section.clone()).or_insert_with(|| json!({}));
                    if let (Some(merged), Value::Object(value)) = (merged.as_object_mut(), value) {
                        for (key, value) in value {
                            match value {
                                Value::Null => merged.remove(key),
                                value => merged.insert(key.clone(), value.clone()),
                            };
                        }
                    }
                }
                *version += 1;
                (
                    true,
                    with_token(
                        json!({"state": state, "metadata": {}, "version": *version, "timestamp": now()}),
                    ),
                )
            }
        }
    }
}

/// The shadow service as a client of a real broker: subscribed to `$aws/things/+/shadow/#`
/// (MQTT 3.1.1, QoS 1), answering at QoS 1.
pub struct ShadowService {
    shadows: Arc<Mutex<Shadows>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ShadowService {
    pub fn start(port: u16, behaviour: Behaviour) -> Self {
        let mut stream =
            TcpStream::connect(("127.0.0.1", port)).expect("the shadow service connects");
        stream.set_nodelay(true).unwrap();
        let mut buffer = BytesMut::new();
        let mut connect = Connect::new(format!("shadow-service-{}", std::process::id()));
        connect.clean_session = true;
        connect.keep_alive = 60;
        write_packet(&mut stream, Packet::Connect(connect)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert!(matches!(
            read_packet(&mut stream, &mut buffer),
            Ok(Some(Packet::ConnAck(_)))
        ));
        let filter = SubscribeFilter::new("$aws/things/+/shadow/#".into(), QoS::AtLeastOnce);
        let mut subscribe = Subscribe::new_many([filter]);
        subscribe.pkid = 1;
        write_packet(&mut stream, Packet::Subscribe(subscribe)).unwrap();
        assert!(matches!(
            read_packet(&mut stream, &mut buffer),
            Ok(Some(Packet::SubAck(_)))
        ));
        let shadows = Arc::new(Mutex::new(Shadows::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shadows, stop) = (Arc::clone(&shadows), Arc::clone(&stop));
            std::thread::spawn(move || serve(stream, buffer, &shadows, &stop, behaviour))
        };
        ShadowService {
            shadows,
            stop,
            thread: Some(thread),
        }
    }

    /// The requests the service received: topic and payload.
    pub fn requests(&self) -> Vec<(String, Vec<u8>)> {
        self.shadows.lock().unwrap().requests.clone()
    }
}

impl Drop for ShadowService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    mut stream: TcpStream,
    mut buffer: BytesMut,
    shadows: &Mutex<Shadows>,
    stop: &AtomicBool,
    behaviour: Behaviour,
) {
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut pkid = 1u16;
    while !stop.load(Ordering::Relaxed) {
        let publish = match read_packet(&mut stream, &mut buffer) {
            Ok(Some(Packet::Publish(publish))) => publish,
            Ok(Some(_)) => continue,
            Ok(None) => return,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return,
        };
        if publish.qos == QoS::AtLeastOnce {
            write_packet(&mut stream, Packet::PubAck(PubAck::new(publish.pkid))).unwrap();
        }
        let answers = shadows
            .lock()
            .unwrap()
            .answer(&publish.topic, &publish.payload, behaviour);
        if let Behaviour::Delay(delay) = behaviour
            && !answers.is_empty()
        {
            std::thread::sleep(delay);
        }
        for (topic, payload) in answers {
            pkid += 1;
            let mut answer = Publish::new(topic, QoS::AtLeastOnce, payload);
            answer.pkid = pkid;
            write_packet(&mut stream, Packet::Publish(answer)).unwrap();
        }
    }
}

/// What the scripted AWS does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suback {
    /// Grants the SUBSCRIBE; the answer to a request comes before its PUBACK.
    Granted,
    /// This return code (3.1.1: 0x80) or reason code (5) for every filter.
    Refused(u8),
    /// Grants the SUBSCRIBE, acknowledges the request and closes the connection: no answer.
    ClosesAfterPuback,
    /// Closes the connection on SUBSCRIBE (AWS IoT Core does, under MQTT 3.1.1, when the policy
    /// does not allow iot:Subscribe).
    ClosesOnSubscribe,
    /// MQTT 5: answers SUBSCRIBE with DISCONNECT, this reason code, and closes.
    DisconnectsOnSubscribe(u8),
}

/// A scripted AWS IoT endpoint (MQTT 3.1.1 and 5, plain TCP): SUBACK as scripted, and the
/// shadow service's answer to a request written *before* its PUBACK, which AWS allows (it does
/// not order messages and acknowledgements) and mosquitto never does. Records the packets each
/// connection sent ("CONNECT 5", "SUBSCRIBE", "PUBLISH", "PUBACK", "DISCONNECT").
pub type ScriptedAws = Recorder<String>;

pub fn scripted_aws(suback: Suback) -> ScriptedAws {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let shadows = Arc::new(Mutex::new(Shadows::default()));
    Recorder::serve(listener, move |stream, log| {
        let _ = serve_scripted(stream, suback, &shadows, log);
    })
}

fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    let mut length = body.len();
    loop {
        let byte = (length % 128) as u8;
        length /= 128;
        out.push(if length > 0 { byte | 0x80 } else { byte });
        if length == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

/// A variable byte integer at the front of `bytes`: its value and its length.
fn varint(bytes: &[u8]) -> (usize, usize) {
    let mut value = 0;
    for (index, byte) in bytes.iter().take(4).enumerate() {
        value |= usize::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return (value, index + 1);
        }
    }
    (value, 4)
}

fn serve_scripted(
    mut stream: TcpStream,
    suback: Suback,
    shadows: &Mutex<Shadows>,
    log: &mut dyn FnMut(String),
) -> std::io::Result<()> {
    let Some((0x10, connect)) = read_frame(&mut stream)? else {
        return Ok(());
    };
    let v5 = connect.get(6) == Some(&5);
    log(format!("CONNECT {}", if v5 { "5" } else { "3.1.1" }));
    stream.write_all(if v5 {
        &[0x20, 3, 0, 0, 0]
    } else {
        &[0x20, 2, 0, 0]
    })?;
    while let Some((first, body)) = read_frame(&mut stream)? {
        match first >> 4 {
            8 => {
                log("SUBSCRIBE".into());
                if suback == Suback::ClosesOnSubscribe {
                    return Ok(());
                }
                if let Suback::DisconnectsOnSubscribe(code) = suback {
                    return stream.write_all(&[0xe0, 1, code]);
                }
                let mut at = 2;
                if v5 {
                    let (length, size) = varint(&body[2..]);
                    at += size + length;
                }
                let mut codes = Vec::new();
                while at < body.len() {
                    let length = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
                    at += 2 + length + 1;
                    codes.push(match suback {
                        Suback::Refused(code) => code,
                        _ => 1,
                    });
                }
                let mut answer = body[..2].to_vec();
                if v5 {
                    answer.push(0);
                }
                answer.extend(codes);
                stream.write_all(&frame(0x90, &answer))?;
            }
            3 => {
                log("PUBLISH".into());
                let qos = (first >> 1) & 3;
                let length = usize::from(u16::from_be_bytes([body[0], body[1]]));
                let topic = String::from_utf8_lossy(&body[2..2 + length]).to_string();
                let mut at = 2 + length;
                let pkid = if qos > 0 {
                    [body[at], body[at + 1]]
                } else {
                    [0, 0]
                };
                if qos > 0 {
                    at += 2;
                }
                if v5 {
                    let (length, size) = varint(&body[at..]);
                    at += size + length;
                }
                let payload = Bytes::copy_from_slice(&body[at..]);
                let behaviour = match suback {
                    Suback::ClosesAfterPuback => Behaviour::Never,
                    _ => Behaviour::Aws,
                };
                let answers = shadows.lock().unwrap().answer(&topic, &payload, behaviour);
                // The answer first, QoS 0, then the PUBACK.
                for (topic, payload) in answers {
                    let mut out = (topic.len() as u16).to_be_bytes().to_vec();
                    out.extend_from_slice(topic.as_bytes());
                    if v5 {
                        out.push(0);
                    }
                    out.extend_from_slice(&payload);
                    stream.write_all(&frame(0x30, &out))?;
                }
                if qos > 0 {
                    stream.write_all(&[0x40, 2, pkid[0], pkid[1]])?;
                }
                if suback == Suback::ClosesAfterPuback {
                    return Ok(());
                }
            }
            4 => log("PUBACK".into()),
            12 => stream.write_all(&[0xd0, 0])?,
            14 => {
                log("DISCONNECT".into());
                return Ok(());
            }
            other => log(format!("packet type {other}")),
        }
    }
    Ok(())
}
