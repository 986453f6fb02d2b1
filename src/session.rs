//! One MQTT session over a connected transport: CONNECT and CONNACK, then every message of the
//! input (a single publish is a batch of one), each acknowledged as its own QoS asks, then
//! DISCONNECT. The in-flight state decides what may be sent and what is delivered; this module
//! does the I/O and turns what goes wrong into [`Error`]s.

use std::future::Future;

use crate::codec::{Delivery, Hello, Incoming, Limits, Outgoing, Reply};
use crate::config::Settings;
use crate::error::{Cause, Doing, Ending, Error, Hint, LARGE_PAYLOAD, Limit, Step, Unconfirmed};
use crate::input::Input;
use crate::log::verbose;
use crate::message::{Message, Qos, Version};
use crate::request::{Answer, Expect};
use crate::state::{Ack, Awaiting, InFlight, Reaction, Window};
use crate::tls::{Tls, rustls_error};
use crate::wire::{Received, Wire, WireError};

/// Write to the connection once this much is queued (or the window is full, or the input
/// would block).
const FLUSH_AT: usize = 64 * 1024;
/// After DISCONNECT with a QoS 0 message sent, how long the broker may take to close the
/// connection (mosquitto closes at once) before we close it ourselves.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// What the broker said in CONNACK, for the rest of the session and the meta object.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub version: Version,
    pub limits: Limits,
}

/// CONNECT, then wait for CONNACK and read its return code (and, under MQTT 5, the limits the
/// broker sets).
/// `silence`: how long a CONNACK may take before the broker counts as one that ignores this
/// protocol version (only when falling back to 3.1.1 is allowed).
pub async fn handshake(
    settings: &Settings,
    tls: Option<&Tls>,
    wire: &mut Wire,
    step: &mut Step,
    silence: Option<std::time::Duration>,
) -> Result<Accepted, Error> {
    let broker = &settings.broker;
    let version = wire.version();
    let password = settings.password.as_ref().map(|p| p.expose());
    if version != Version::V5 && settings.username.is_none() && password.is_some() {
        crate::log::say!(
            "warning: a password was given but no username; MQTT 3.1.1 sends a \
             password only with a username, so none is sent"
        );
    }
    let hello = Hello {
        client_id: &settings.client_id,
        keep_alive: settings
            .keep_alive
            .unwrap_or_else(|| keep_alive(settings.timeout)),
        username: settings.username.as_deref(),
        password: match version {
            Version::V31 | Version::V311 => settings.username.as_ref().and(password),
            Version::V5 => password,
        },
        will: settings.will.as_ref(),
        properties: &settings.connect,
    };
    wire.farewell(settings.disconnect.clone());
    verbose!(
        "sending CONNECT (MQTT {}): client-id {:?}, clean session, keep-alive {} s, username {}, \
         password {}",
        version.name(),
        settings.client_id,
        hello.keep_alive,
        hello.username.map_or("none".to_string(), |u| {
            match u.split_once('?') {
                // A custom authorizer's token is a credential: only the part before it is shown.
                Some((user, _)) => format!("{user:?} and a custom authorizer's query"),
                None => format!("{u:?}"),
            }
        }),
        if hello.password.is_some_and(|p| !p.is_empty()) {
            "given"
        } else {
            "none"
        },
    );
    *step = Step::AwaitingConnAck;
    wire.queue(Outgoing::Connect(hello))
        .map_err(|e| Error::Internal(format!("cannot encode CONNECT: {e}")))?;
    let before_connack = |e| before_connack(settings, tls, e);
    wire.flush().await.map_err(before_connack)?;
    let answer = match silence {
        Some(silence) => match tokio::time::timeout(silence, wire.receive()).await {
            Ok(answer) => answer,
            Err(_elapsed) => {
                return Err(Error::SilentToMqtt5 {
                    broker: broker.clone(),
                    waited: silence,
                });
            }
        },
        None => wire.receive().await,
    };
    let connack = match answer.map_err(before_connack)? {
        (Incoming::ConnAck(connack), _) => connack,
        (
            Incoming::Disconnect {
                reason,
                reason_string,
                server_reference,
            },
            _,
        ) => {
            return Err(Error::Refused {
                broker: broker.clone(),
                code: reason,
                version,
                reason_string,
                server_reference,
            });
        }
        (packet, _) => {
            return Err(Error::NotConnAck {
                broker: broker.clone(),
                packet: packet.name(),
            });
        }
    };
    // A 3.1.1 broker answers a v5 CONNECT in 3.1.1 terms (code 1: unacceptable version).
    let answered_in = if connack.legacy {
        Version::V311
    } else {
        version
    };
    if connack.code != 0 {
        return Err(Error::Refused {
            broker: broker.clone(),
            code: connack.code,
            version: answered_in,
            reason_string: connack.limits.reason_string,
            server_reference: connack.limits.server_reference,
        });
    }
    verbose!("received CONNACK: accepted");
    if version == Version::V5 {
        verbose!("the broker's limits: {}", advertised(&connack.limits));
    }
    *step = Step::Sending;
    Ok(Accepted {
        version,
        limits: connack.limits,
    })
}

/// What a v5 broker advertised in CONNACK, for `-v`.
fn advertised(limits: &Limits) -> String {
    let mut said = Vec::new();
    if let Some(n) = limits.receive_maximum {
        said.push(format!("receive maximum {n}"));
    }
    if let Some(qos) = limits.maximum_qos {
        said.push(format!("maximum QoS {qos}"));
    }
    if let Some(retain) = limits.retain_available {
        said.push(format!("retain available {retain}"));
    }
    if let Some(size) = limits.maximum_packet_size {
        said.push(format!("maximum packet size {size}"));
    }
    if let Some(id) = &limits.assigned_client_id {
        said.push(format!("assigned client id {id:?}"));
    }
    if let Some(seconds) = limits.server_keep_alive {
        said.push(format!("server keep alive {seconds} s"));
    }
    if let Some(n) = limits.topic_alias_maximum {
        said.push(format!("topic alias maximum {n}"));
    }
    if said.is_empty() {
        "none (MQTT 5's defaults)".to_string()
    } else {
        said.join(", ")
    }
}

/// The window the broker's Receive Maximum allows. Under MQTT 3.1.1 a broker cannot say how
/// many QoS 2 messages it holds, so ours stays small (see [`Window::DEFAULT`]); under MQTT 5 the
/// broker says it, and answers any excess with a reason code instead of dropping it.
pub fn window(accepted: &Accepted) -> Window {
    match accepted.version {
        Version::V31 | Version::V311 => Window::DEFAULT,
        Version::V5 => {
            let most = usize::from(accepted.limits.receive_maximum.unwrap_or(u16::MAX));
            Window {
                total: Window::DEFAULT.total.min(most),
                exactly_once: Window::DEFAULT.total.min(most),
            }
        }
    }
}

/// Queue `message` as PUBLISH `pkid`, unless the limits the broker set in CONNACK forbid it:
/// then nothing is queued and the limit is the answer.
fn queue_publish(
    wire: &mut Wire,
    accepted: &Accepted,
    message: &Message,
    pkid: u16,
) -> Result<Result<(), Limit>, Error> {
    let size = wire
        .queue(Outgoing::Publish { pkid, message })
        .map_err(|e| Error::Internal(format!("cannot encode a PUBLISH: {e}")))?;
    match refused_by_limits(&accepted.limits, message, size) {
        Some(limit) => {
            wire.unqueue(size);
            Ok(Err(limit))
        }
        None => Ok(Ok(())),
    }
}

/// Why `message` may not be sent on this connection, if the broker's limits forbid it.
fn refused_by_limits(limits: &Limits, message: &Message, size: usize) -> Option<Limit> {
    if let Some(max) = limits.maximum_qos.filter(|max| message.qos.level() > *max) {
        return Some(Limit::Qos {
            asked: message.qos.level(),
            max,
        });
    }
    if message.retain && limits.retain_available == Some(false) {
        return Some(Limit::Retain);
    }
    match limits.maximum_packet_size {
        Some(max) if size > max as usize => Some(Limit::PacketSize { size, max }),
        _ => None,
    }
}

/// The broker disconnects a client that is silent for 1.5 × keep-alive. We send nothing
/// between our packets, so keep-alive covers the whole deadline (at least 60 s).
fn keep_alive(timeout: std::time::Duration) -> u16 {
    let seconds = timeout.as_secs_f64().ceil() as u64;
    seconds.clamp(60, u64::from(u16::MAX)) as u16
}

/// Whether a future is ready at once; it is dropped if not (so it must be cancel-safe).
async fn ready_now<F: Future>(future: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        output = future => Some(output),
        () = std::future::ready(()) => None,
    }
}

/// Publish every message of `input` and wait until each is acknowledged (QoS 1 and 2) or
/// written (QoS 0), within what the broker `accepted`. `state` is kept up to date for the meta
/// object, whatever happens.
pub async fn publish(
    settings: &Settings,
    accepted: &Accepted,
    wire: &mut Wire,
    input: &mut Input,
    state: &mut InFlight,
) -> Result<(), Error> {
    let single = !settings.batch();
    let mut exhausted = false;
    // Read more input only once half the window is free again: then each write carries many
    // messages instead of one per acknowledgement.
    let mut refill = true;
    // A bad line, a message the broker's limits forbid or one it rejected: nothing more is
    // sent, but the acknowledgements already due are collected so that the counts are exact.
    let mut stopped: Option<Error> = None;
    // A broker that set a Server Keep Alive disconnects a client silent for 1.5 times that: a
    // batch waiting on a slow input pings it.
    let ping_every = accepted
        .limits
        .server_keep_alive
        .or(settings.keep_alive)
        .filter(|seconds| *seconds > 0)
        .map(|seconds| std::time::Duration::from_secs(u64::from(seconds)) / 2);
    let mut last_write = tokio::time::Instant::now();
    loop {
        refill |= state.half_empty();
        while refill && !exhausted && wire.queued() < FLUSH_AT {
            let next = match ready_now(input.next()).await {
                // The input would block: write what we have.
                None => break,
                Some(Ok(Some(next))) => next,
                Some(Ok(None)) => {
                    exhausted = true;
                    break;
                }
                Some(Err(error)) => {
                    stopped = Some(Error::Input(error));
                    exhausted = true;
                    break;
                }
            };
            let (line, message) = next;
            // A connection that fell back to 3.1.1 cannot carry a line's own properties.
            if accepted.version != Version::V5 && !message.properties.is_empty() {
                stopped = Some(Error::NeedsMqtt5 {
                    broker: settings.broker.clone(),
                    properties: message.properties.names(),
                    refusal: None,
                    line: (!single).then_some(line),
                });
                input.put_back(line, message);
                exhausted = true;
                break;
            }
            if !state.has_room(message.qos) {
                input.put_back(line, message);
                refill = false;
                break;
            }
            let pkid = state.next_pkid(message.qos);
            if let Err(limit) = queue_publish(wire, accepted, &message, pkid)? {
                input.put_back(line, message);
                stopped = Some(Error::Limit {
                    broker: settings.broker.clone(),
                    limit,
                    line: (!single).then_some(line),
                });
                exhausted = true;
                break;
            }
            state.publish(line, &message, pkid);
            if single {
                verbose!(
                    "sent PUBLISH: {}, QoS {}, retain {}, {} bytes",
                    match pkid {
                        0 => "no packet id (QoS 0)".to_string(),
                        pkid => format!("packet id {pkid}"),
                    },
                    message.qos,
                    message.retain,
                    message.payload.len()
                );
            }
        }
        if wire.queued() > 0 {
            let doing = match (single, state.awaiting_one()) {
                (false, _) => Doing::SendingBatch,
                (true, Some(Awaiting::PubComp)) => Doing::SendingPubRel,
                (true, _) => Doing::SendingPublish,
            };
            if let Err(error) = wire.flush().await {
                // What the broker acknowledged before the connection failed still counts.
                wire.read_what_arrived().await;
                let _ = take_acknowledgements(settings, wire, state, &mut stopped);
                return Err(lost(settings, doing, error, state, input.first()));
            }
            last_write = tokio::time::Instant::now();
            state.written(wire.read_so_far());
        }
        if exhausted && state.idle() {
            break;
        }
        let want_input = refill && !exhausted;
        let want_acks = state.in_flight() > 0;
        let ping_at = ping_every.map(|every| last_write + every);
        tokio::select! {
            received = wire.receive(), if want_acks || ping_at.is_some() => {
                let waiting = match state.awaiting_one().filter(|_| single) {
                    Some(awaiting) => Doing::WaitingFor(awaiting.name()),
                    None => Doing::WaitingForAcknowledgements,
                };
                let first = input.first();
                let received = received.map_err(|e| lost(settings, waiting, e, state, first))?;
                acknowledge(settings, received, state, wire, &mut stopped)?;
                take_acknowledgements(settings, wire, state, &mut stopped)
                    .map_err(|e| lost(settings, waiting, e, state, first))??;
                if stopped.is_some() {
                    exhausted = true;
                }
            }
            next = input.next(), if want_input => match next {
                Ok(Some((line, message))) => input.put_back(line, message),
                Ok(None) => exhausted = true,
                Err(error) => {
                    stopped = Some(Error::Input(error));
                    exhausted = true;
                }
            },
            () = tokio::time::sleep_until(ping_at.unwrap_or(last_write)), if ping_at.is_some() => {
                verbose!("sending PINGREQ (the broker's keep alive)");
                wire.queue(Outgoing::PingReq)
                    .map_err(|e| Error::Internal(format!("cannot encode PINGREQ: {e}")))?;
            }
            else => return Err(Error::Internal("the session has nothing to wait for".into())),
        }
    }
    match stopped {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Every acknowledgement already received, without reading the connection.
fn take_acknowledgements(
    settings: &Settings,
    wire: &mut Wire,
    state: &mut InFlight,
    stopped: &mut Option<Error>,
) -> Result<Result<(), Error>, WireError> {
    while let Some(received) = wire.buffered()? {
        if let Err(error) = acknowledge(settings, received, state, wire, stopped) {
            return Ok(Err(error));
        }
    }
    Ok(Ok(()))
}

/// Apply one packet from the broker to the state. A message the broker rejected (a reason
/// code of 0x80 or more) stops the session: it goes into `stopped`, once.
fn acknowledge(
    settings: &Settings,
    (packet, read): Received,
    state: &mut InFlight,
    wire: &mut Wire,
    stopped: &mut Option<Error>,
) -> Result<(), Error> {
    let single = !settings.batch();
    let (ack, reply) = match packet {
        Incoming::PubAck(reply) => (Ack::PubAck(reply.pkid), reply),
        Incoming::PubRec(reply) => (Ack::PubRec(reply.pkid), reply),
        Incoming::PubComp(reply) => (Ack::PubComp(reply.pkid), reply),
        Incoming::Disconnect {
            reason,
            reason_string,
            ..
        } => {
            return Err(Error::Disconnected {
                broker: settings.broker.clone(),
                awaiting: state.awaiting_one().filter(|_| single).map(Awaiting::name),
                reason: (wire.version() == Version::V5).then_some(reason),
                reason_string,
            });
        }
        Incoming::ConnAck(connack) => {
            verbose!(
                "ignoring an unexpected second CONNACK (code {})",
                connack.code
            );
            return Ok(());
        }
        Incoming::Other(name) => {
            verbose!("ignoring {name} while publishing");
            return Ok(());
        }
        Incoming::SubAck(_) | Incoming::Publish(_) => {
            verbose!("ignoring {} while publishing", packet.name());
            return Ok(());
        }
    };
    let Reply {
        pkid,
        reason,
        reason_string,
    } = reply;
    let name = match ack {
        Ack::PubAck(_) => "PUBACK",
        Ack::PubRec(_) => "PUBREC",
        Ack::PubComp(_) => "PUBCOMP",
    };
    match state.acknowledge(ack, reason, read) {
        Reaction::Delivered { at_qos1, .. } => {
            if single {
                verbose!("received {name}: packet id {pkid}{}", reason_note(reason));
            }
            if at_qos1 && state.tally().taken_at_qos1 == 1 {
                crate::log::say!(
                    "warning: {} answered a QoS 2 PUBLISH with PUBACK: it took the message at \
                     QoS 1 (a broker without QoS 2, such as RabbitMQ, does this)",
                    settings.broker
                );
            }
        }
        Reaction::Release(pkid) => {
            if single {
                verbose!("received {name}: packet id {pkid}{}", reason_note(reason));
            }
            wire.queue(Outgoing::PubRel(pkid))
                .map_err(|e| Error::Internal(format!("cannot encode PUBREL: {e}")))?;
            if single {
                verbose!("sent PUBREL: packet id {pkid}");
            }
        }
        Reaction::Rejected { line } => {
            verbose!("received {name}: packet id {pkid}{}", reason_note(reason));
            if stopped.is_none() {
                *stopped = Some(Error::Rejected {
                    broker: settings.broker.clone(),
                    packet: name,
                    reason,
                    reason_string,
                    line: (!single).then_some(line),
                });
            }
        }
        Reaction::Ignored(why) => verbose!("ignoring {name} for packet id {pkid}: {why}"),
    }
    Ok(())
}

/// ", reason 0x10 (no matching subscribers)" for `-v`; nothing for success.
fn reason_note(reason: u8) -> String {
    match reason {
        0 => String::new(),
        code => format!(
            ", reason 0x{code:02x} ({})",
            crate::error::reason_name(code)
        ),
    }
}

/// A request that waits for an answer: subscribe to where the answer comes (QoS 1) and wait
/// for SUBACK, publish the one message of `input`, then wait until the answer arrives. The
/// answer is final whenever it comes, before the acknowledgement too (brokers do not order a
/// forwarded message after the PUBACK); the acknowledgement is still what `state` counts.
pub async fn request(
    settings: &Settings,
    accepted: &Accepted,
    wire: &mut Wire,
    input: &Input,
    state: &mut InFlight,
    expect: &Expect,
) -> Result<Answer, Error> {
    let version = accepted.version;
    let Some(message) = input.first() else {
        return Err(Error::Internal("a request without its message".into()));
    };
    let message = expect.dress(message, version);
    let first = Some(&message);
    let filters = expect.filters();
    // The SUBACK comes before the PUBLISH is sent: the packet id is free again by then.
    let pkid = state.next_pkid(Qos::AtLeastOnce);
    wire.queue(Outgoing::Subscribe {
        pkid,
        filters: &filters,
        qos: Qos::AtLeastOnce,
    })
    .map_err(|e| Error::Internal(format!("cannot encode SUBSCRIBE: {e}")))?;
    verbose!("sent SUBSCRIBE: {} at QoS 1", filters.join(", "));
    // Nothing is published yet: no hints about the message, no "not acknowledged".
    let subscribing = |error| Error::Lost {
        broker: settings.broker.clone(),
        doing: Doing::Subscribing,
        cause: cause(error),
        single: false,
        hints: Box::default(),
    };
    wire.flush().await.map_err(subscribing)?;
    loop {
        let received = wire.receive().await.map_err(subscribing)?;
        match received {
            (Incoming::SubAck(suback), _) if suback.pkid == pkid => {
                let refused = suback
                    .codes
                    .iter()
                    .zip(&filters)
                    .find(|(code, _)| **code >= 0x80);
                if let Some((code, filter)) = refused {
                    return Err(Error::SubscribeRefused {
                        broker: settings.broker.clone(),
                        filter: filter.clone(),
                        code: *code,
                        version,
                        reason_string: suback.reason_string,
                    });
                }
                verbose!("received SUBACK: granted QoS {:?}", suback.codes);
                break;
            }
            (Incoming::Publish(delivery), _) => {
                // Subscribed a moment ago and nothing published yet: not our answer.
                take_delivery(wire, &delivery)?;
                verbose!("ignoring a message on {} before SUBACK", delivery.topic);
            }
            (
                Incoming::Disconnect {
                    reason,
                    reason_string,
                    ..
                },
                _,
            ) => {
                return Err(Error::Disconnected {
                    broker: settings.broker.clone(),
                    awaiting: Some("SUBACK"),
                    reason: (version == Version::V5).then_some(reason),
                    reason_string,
                });
            }
            (packet, _) => verbose!("ignoring {} while waiting for SUBACK", packet.name()),
        }
        if wire.queued() > 0 {
            wire.flush().await.map_err(subscribing)?;
        }
    }

    let pkid = state.next_pkid(message.qos);
    if let Err(limit) = queue_publish(wire, accepted, &message, pkid)? {
        return Err(Error::Limit {
            broker: settings.broker.clone(),
            limit,
            line: None,
        });
    }
    state.publish(1, &message, pkid);
    verbose!(
        "sent PUBLISH: packet id {pkid}, QoS {}, {} bytes, to {}",
        message.qos,
        message.payload.len(),
        message.topic
    );
    wire.flush()
        .await
        .map_err(|e| lost(settings, Doing::SendingPublish, e, state, first))?;
    state.written(wire.read_so_far());
    verbose!("waiting for {}", expect.waiting_for());
    // Once acknowledged, a connection that ends before the answer leaves the request
    // unconfirmed: it may still take effect (exit 6, never published again).
    let unconfirmed = |ending: Ending| {
        Error::Unconfirmed(Box::new(Unconfirmed {
            broker: settings.broker.clone(),
            what: expect.what(),
            ack: ack_name(message.qos),
            waiting_for: expect.waiting_for(),
            ending,
        }))
    };
    // At QoS 0 the request, written, is as far as it gets without an answer.
    let qos0 = message.qos == Qos::AtMostOnce;
    let mut stopped = None;
    loop {
        let received = match wire.receive().await {
            Ok(received) => received,
            Err(error) if qos0 || state.tally().acknowledged > 0 => {
                return Err(unconfirmed(Ending::Lost(cause(error))));
            }
            Err(error) => return Err(lost(settings, Doing::WaitingForAnswer, error, state, first)),
        };
        match received {
            (Incoming::Publish(delivery), _) => {
                take_delivery(wire, &delivery)?;
                if let Some(answer) = expect.answer(&delivery, version) {
                    if !state.idle() {
                        verbose!("the answer came before the acknowledgement");
                    }
                    verbose!("received the answer on {}", delivery.topic);
                    return Ok(answer);
                }
            }
            (
                Incoming::Disconnect {
                    reason,
                    reason_string,
                    ..
                },
                _,
            ) if qos0 || state.tally().acknowledged > 0 => {
                let ending = Ending::Disconnect {
                    reason: (version == Version::V5).then_some(reason),
                    reason_string,
                };
                return Err(unconfirmed(ending));
            }
            received => {
                let packet = match &received.0 {
                    Incoming::PubRec(_) => "PUBREC",
                    _ => "PUBACK",
                };
                acknowledge(settings, received, state, wire, &mut stopped)?;
                if let Some(error) = stopped {
                    return Err(error);
                }
                // No subscriber took the request (and, not retained, none will): a response
                // cannot come.
                if let Expect::Response { .. } = expect
                    && state.tally().no_subscribers > 0
                    && !message.retain
                {
                    return Err(Error::NoResponder {
                        broker: settings.broker.clone(),
                        packet,
                        topic: message.topic.clone(),
                        waiting_for: expect.waiting_for(),
                    });
                }
            }
        }
        if wire.queued() > 0 {
            if let Err(error) = wire.flush().await {
                return Err(match state.tally().acknowledged {
                    0 if !qos0 => lost(settings, Doing::WaitingForAnswer, error, state, first),
                    _ => unconfirmed(Ending::Lost(cause(error))),
                });
            }
            // A PUBREL counts as written from here: its PUBCOMP must come after it.
            state.written(wire.read_so_far());
        }
    }
}

/// The acknowledgement that completes a message at `qos` (QoS 0 has none: it is written).
pub fn ack_name(qos: Qos) -> &'static str {
    match qos {
        Qos::AtMostOnce => crate::error::QOS0_WRITTEN,
        Qos::AtLeastOnce => "PUBACK",
        Qos::ExactlyOnce => "PUBCOMP",
    }
}

/// A message the broker forwards: QoS 1 wants its PUBACK (queued), QoS 2 is never asked for.
fn take_delivery(wire: &mut Wire, delivery: &Delivery) -> Result<(), Error> {
    if delivery.qos == 1 {
        wire.queue(Outgoing::PubAck(delivery.pkid))
            .map_err(|e| Error::Internal(format!("cannot encode PUBACK: {e}")))?;
    }
    Ok(())
}

/// DISCONNECT, written, then close our side. Messages at QoS 1 and 2 are already
/// acknowledged, so a failure here is only logged. For QoS 0, nothing else says the broker took
/// the message: the close must be clean, and the broker must close its side too (a broker that
/// threw the message away, e.g. rumqttd over its size limit, resets the connection instead).
pub async fn close(
    settings: &Settings,
    wire: &mut Wire,
    state: &InFlight,
    first: Option<&Message>,
) -> Result<(), Error> {
    let written = wire.disconnect().await;
    if !state.tally().any_qos0 {
        match written {
            Ok(()) => verbose!("sent DISCONNECT and closed the connection"),
            Err(error) => {
                verbose!("closing the connection after the acknowledgement failed: {error:?}")
            }
        }
        return Ok(());
    }
    written.map_err(|e| lost(settings, Doing::Closing, e, state, first))?;
    verbose!("sent DISCONNECT; waiting for the broker to close the connection (QoS 0)");
    match tokio::time::timeout(CLOSE_GRACE, wire.until_closed()).await {
        Ok(Ok(())) => {
            verbose!("the broker closed the connection");
            Ok(())
        }
        Ok(Err(WireError::Io(e))) if e.kind() == std::io::ErrorKind::ConnectionReset => {
            Err(Error::ResetAfterDisconnect {
                broker: settings.broker.clone(),
            })
        }
        Ok(Err(error)) => Err(lost(settings, Doing::Closing, error, state, first)),
        Err(_) => {
            verbose!(
                "the broker kept the connection open {} ms after DISCONNECT; closing it",
                CLOSE_GRACE.as_millis()
            );
            Ok(())
        }
    }
}

/// How the connection failed, in the user's terms: a reset, a broken pipe or an aborted
/// connection is the peer closing on us.
fn cause(error: WireError) -> Cause {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
    match error {
        WireError::Closed { mid_packet } => Cause::Closed { mid_packet },
        WireError::Malformed(what) => Cause::Malformed(what),
        WireError::Io(e)
            if matches!(e.kind(), ConnectionReset | BrokenPipe | ConnectionAborted) =>
        {
            verbose!("the connection ended: {e}");
            Cause::Closed { mid_packet: false }
        }
        WireError::Io(e) => Cause::Io(crate::files::io_reason(&e)),
    }
}

/// A failure before CONNACK: nothing was published, the broker never accepted us. A TLS error
/// here (a client certificate the broker wanted or rejected) is a TLS failure, not a closed
/// connection: TLS 1.3 reports it after the handshake, on our first read.
fn before_connack(settings: &Settings, tls: Option<&Tls>, error: WireError) -> Error {
    let broker = settings.broker.clone();
    if let (Some(tls), WireError::Io(e)) = (tls, &error)
        && rustls_error(e).is_some()
    {
        let problem = tls.problem(&broker, e);
        return Error::Tls { broker, problem };
    }
    Error::BeforeConnAck {
        broker,
        cause: cause(error),
        certificate: settings.tls.use_certificate,
    }
}

/// A failure after CONNACK: what is in flight was not acknowledged. `first` is the message of
/// a single publish.
fn lost(
    settings: &Settings,
    doing: Doing,
    error: WireError,
    state: &InFlight,
    first: Option<&Message>,
) -> Error {
    let single = !settings.batch();
    let hints = match first.filter(|_| single) {
        Some(message) => hints(settings, state.awaiting_one(), message),
        None => Vec::new(),
    };
    Error::Lost {
        broker: settings.broker.clone(),
        doing,
        cause: cause(error),
        single,
        hints: hints.into(),
    }
}

/// Why a broker may have closed the connection before acknowledging `message`, which waits for
/// `awaiting` (`None`: QoS 0, or not sent yet): only the causes the facts leave open.
fn hints(settings: &Settings, awaiting: Option<Awaiting>, message: &Message) -> Vec<Hint> {
    let aws = settings.broker.is_aws();
    // After PUBREC the broker has the message: neither its QoS, its size nor the topic's rules
    // closed the connection.
    let not_taken = awaiting != Some(Awaiting::PubComp);
    let bytes = message.payload.len();
    let mut hints = Vec::new();
    if awaiting == Some(Awaiting::PubRec) {
        hints.push(Hint::QosTooHigh);
    }
    if not_taken && bytes > LARGE_PAYLOAD {
        hints.push(Hint::TooLarge { bytes, aws });
    }
    if not_taken && awaiting.is_some() {
        hints.push(Hint::NotAllowed { aws });
    }
    if settings.client_id_given {
        hints.push(Hint::SameClientId {
            client_id: settings.client_id.clone(),
        });
    }
    hints
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn keep_alive_outlasts_the_deadline() {
        assert_eq!(keep_alive(Duration::from_secs(2)), 60);
        assert_eq!(keep_alive(Duration::from_millis(90_500)), 91);
        assert_eq!(keep_alive(Duration::from_secs(10_000_000)), u16::MAX);
    }

    #[test]
    fn resets_and_broken_pipes_read_as_the_broker_closing() {
        for kind in [
            std::io::ErrorKind::ConnectionReset,
            std::io::ErrorKind::BrokenPipe,
        ] {
            assert_eq!(
                cause(WireError::Io(kind.into())),
                Cause::Closed { mid_packet: false }
            );
        }
        assert!(matches!(
            cause(WireError::Io(std::io::ErrorKind::TimedOut.into())),
            Cause::Io(_)
        ));
    }
}
