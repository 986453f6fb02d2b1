//! One MQTT session over a connected transport: CONNECT and CONNACK, then every message of the
//! input (a single publish is a batch of one), each acknowledged as its own QoS asks, then
//! DISCONNECT. The in-flight state decides what may be sent and what is delivered; this module
//! does the I/O and turns what goes wrong into [`Error`]s.

use std::future::Future;

use crate::codec::{Hello, Incoming, Outgoing};
use crate::config::{Mode, Settings};
use crate::error::{Cause, Doing, Error, Step};
use crate::input::Input;
use crate::log::verbose;
use crate::state::{Ack, Awaiting, InFlight, Reaction};
use crate::tls::{Tls, rustls_error};
use crate::wire::{Received, Wire, WireError};

/// Write to the connection once this much is queued (or the window is full, or the input
/// would block).
const FLUSH_AT: usize = 64 * 1024;

/// CONNECT, then wait for CONNACK and read its return code.
pub async fn handshake(
    settings: &Settings,
    tls: Option<&Tls>,
    wire: &mut Wire,
    step: &mut Step,
) -> Result<(), Error> {
    let broker = &settings.broker;
    let password = settings.password.as_ref().map(|p| p.expose());
    if settings.username.is_none() && password.is_some() {
        eprintln!(
            "mqtt-send: warning: a password was given but no username; MQTT 3.1.1 sends a \
             password only with a username, so none is sent"
        );
    }
    let hello = Hello {
        client_id: &settings.client_id,
        keep_alive: keep_alive(settings.timeout),
        username: settings.username.as_deref(),
        password: settings.username.as_ref().and(password),
    };
    verbose!(
        "sending CONNECT: client-id {:?}, clean session, keep-alive {} s, username {}, password {}",
        settings.client_id,
        hello.keep_alive,
        hello
            .username
            .map_or("none".to_string(), |u| format!("{u:?}")),
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
    match wire.receive().await.map_err(before_connack)? {
        (Incoming::ConnAck { code: 0 }, _) => {
            verbose!("received CONNACK: accepted");
            *step = Step::Sending;
            Ok(())
        }
        (Incoming::ConnAck { code }, _) => Err(Error::Refused {
            broker: broker.clone(),
            code,
        }),
        (packet, _) => Err(Error::NotConnAck {
            broker: broker.clone(),
            packet: packet.name(),
        }),
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
/// written (QoS 0). `state` is kept up to date for the meta object, whatever happens.
pub async fn publish(
    settings: &Settings,
    wire: &mut Wire,
    input: &mut Input,
    state: &mut InFlight,
) -> Result<(), Error> {
    let single = settings.mode == Mode::Single;
    let mut exhausted = false;
    // Read more input only once half the window is free again: then each write carries many
    // messages instead of one per acknowledgement.
    let mut refill = true;
    // A bad line (or a read error) mid-stream: nothing more is sent, but the acknowledgements
    // already due are collected so that the counts are exact.
    let mut stopped = None;
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
                    stopped = Some(error);
                    exhausted = true;
                    break;
                }
            };
            let (line, message) = next;
            if !state.has_room(message.qos) {
                input.put_back(line, message);
                refill = false;
                break;
            }
            let pkid = state.publish(line, &message);
            wire.queue(Outgoing::Publish {
                pkid,
                message: &message,
            })
            .map_err(|e| Error::Internal(format!("cannot encode a PUBLISH: {e}")))?;
            if single {
                verbose!(
                    "sent PUBLISH: packet id {pkid}, QoS {}, retain {}, {} bytes",
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
                let _ = take_acknowledgements(settings, wire, state);
                return Err(lost(settings, doing, error, state));
            }
            state.written(wire.read_so_far());
        }
        if exhausted && state.idle() {
            break;
        }
        let want_input = refill && !exhausted;
        let want_acks = state.in_flight() > 0;
        tokio::select! {
            received = wire.receive(), if want_acks => {
                let waiting = match state.awaiting_one().filter(|_| single) {
                    Some(awaiting) => Doing::WaitingFor(awaiting.name()),
                    None => Doing::WaitingForAcknowledgements,
                };
                let received = received.map_err(|e| lost(settings, waiting, e, state))?;
                acknowledge(settings, received, state, wire)?;
                take_acknowledgements(settings, wire, state)
                    .map_err(|e| lost(settings, waiting, e, state))??;
            }
            next = input.next(), if want_input => match next {
                Ok(Some((line, message))) => input.put_back(line, message),
                Ok(None) => exhausted = true,
                Err(error) => {
                    stopped = Some(error);
                    exhausted = true;
                }
            },
            else => return Err(Error::Internal("the session has nothing to wait for".into())),
        }
    }
    match stopped {
        Some(error) => Err(Error::Input(error)),
        None => Ok(()),
    }
}

/// Every acknowledgement already received, without reading the connection.
fn take_acknowledgements(
    settings: &Settings,
    wire: &mut Wire,
    state: &mut InFlight,
) -> Result<Result<(), Error>, WireError> {
    while let Some(received) = wire.buffered()? {
        if let Err(error) = acknowledge(settings, received, state, wire) {
            return Ok(Err(error));
        }
    }
    Ok(Ok(()))
}

/// Apply one packet from the broker to the state.
fn acknowledge(
    settings: &Settings,
    (packet, read): Received,
    state: &mut InFlight,
    wire: &mut Wire,
) -> Result<(), Error> {
    let ack = match packet {
        Incoming::PubAck(pkid) => Ack::PubAck(pkid),
        Incoming::PubRec(pkid) => Ack::PubRec(pkid),
        Incoming::PubComp(pkid) => Ack::PubComp(pkid),
        Incoming::Disconnect => {
            return Err(Error::Disconnected {
                broker: settings.broker.clone(),
                awaiting: state
                    .awaiting_one()
                    .filter(|_| settings.mode == Mode::Single)
                    .map(Awaiting::name),
            });
        }
        Incoming::ConnAck { code } => {
            verbose!("ignoring an unexpected second CONNACK (code {code})");
            return Ok(());
        }
        Incoming::Other(name) => {
            verbose!("ignoring {name} while publishing");
            return Ok(());
        }
    };
    let (name, pkid) = match ack {
        Ack::PubAck(pkid) => ("PUBACK", pkid),
        Ack::PubRec(pkid) => ("PUBREC", pkid),
        Ack::PubComp(pkid) => ("PUBCOMP", pkid),
    };
    match state.acknowledge(ack, read) {
        Reaction::Delivered { .. } => {
            if settings.mode == Mode::Single {
                verbose!("received {name}: packet id {pkid}");
            }
        }
        Reaction::Release(pkid) => {
            if settings.mode == Mode::Single {
                verbose!("received {name}: packet id {pkid}");
            }
            wire.queue(Outgoing::PubRel(pkid))
                .map_err(|e| Error::Internal(format!("cannot encode PUBREL: {e}")))?;
            if settings.mode == Mode::Single {
                verbose!("sent PUBREL: packet id {pkid}");
            }
        }
        Reaction::Ignored(why) => verbose!("ignoring {name} for packet id {pkid}: {why}"),
    }
    Ok(())
}

/// DISCONNECT, written, then close our side. Messages at QoS 1 and 2 are already
/// acknowledged, so a failure here is only logged; for QoS 0 a clean close is what "published"
/// means.
pub async fn close(settings: &Settings, wire: &mut Wire, state: &InFlight) -> Result<(), Error> {
    match wire.disconnect().await {
        Ok(()) => {
            verbose!("sent DISCONNECT and closed the connection");
            Ok(())
        }
        Err(error) if state.tally().any_qos0 => Err(lost(settings, Doing::Closing, error, state)),
        Err(error) => {
            verbose!("closing the connection after the acknowledgement failed: {error:?}");
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
    if let (Some(tls), WireError::Io(e)) = (tls, &error) {
        if rustls_error(e).is_some() {
            let problem = tls.problem(&broker, e);
            return Error::Tls { broker, problem };
        }
    }
    Error::BeforeConnAck {
        broker,
        cause: cause(error),
        certificate: settings.tls.use_certificate,
    }
}

/// A failure after CONNACK: what is in flight was not acknowledged.
fn lost(settings: &Settings, doing: Doing, error: WireError, state: &InFlight) -> Error {
    let single = (settings.mode == Mode::Single)
        .then(|| state.tally().levels.iter().next().copied())
        .flatten();
    Error::Lost {
        broker: settings.broker.clone(),
        doing,
        cause: cause(error),
        single,
    }
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
