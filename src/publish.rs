//! One run: read the message, connect, CONNECT/CONNACK, PUBLISH and its acknowledgement
//! (PUBACK for QoS 1, PUBREC/PUBREL/PUBCOMP for QoS 2), DISCONNECT. One deadline covers all of
//! it; every failure is classified where it arises and becomes the run's [`Outcome`].

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use rumqttc::{Connect, Login, Packet, PubRel, Publish, QoS};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::batch::{self, Lines, Message};
use crate::broker::Host;
use crate::config::{Mode, Settings};
use crate::io_reason::io_reason;
use crate::log::verbose;
use crate::outcome::{Class, Details, Failure, Outcome};
use crate::signals::{Signal, Signals};
use crate::tls::{Tls, rustls_error};
use crate::wire::{MAX_PACKET, Received, Transport, Wire, WireError};

/// Packet id of the single message.
const PACKET_ID: u16 = 1;

/// Where an attempt is, so a deadline or a signal can say what we were waiting for.
#[derive(Debug, Clone)]
enum Step {
    Reading,
    Resolving,
    Connecting(SocketAddr),
    TlsHandshake,
    AwaitingConnAck,
    Sending,
    AwaitingAck(&'static str),
    /// Sending a batch (`--lines`, `--ndjson`); the counts are in `Progress::batch`.
    Batch,
    /// The message is delivered (QoS 1/2: acknowledged); we are closing the connection.
    Closing {
        delivered: String,
    },
}

impl Step {
    /// Whether the broker has accepted the connection (CONNACK) in this step.
    fn connected(&self) -> bool {
        matches!(
            self,
            Step::Sending | Step::AwaitingAck(_) | Step::Batch | Step::Closing { .. }
        )
    }
}

#[derive(Debug)]
struct Progress {
    step: Step,
    batch: batch::Tally,
}

/// What the whole run (all attempts) has done, for the meta object.
#[derive(Debug, Default)]
struct Tally {
    bytes: Option<usize>,
    attempts: u32,
    /// The batch's counts (batch mode only).
    batch: Option<batch::Tally>,
}

/// How long a goodbye (DISCONNECT) may take after a deadline or a signal.
const GOODBYE: Duration = Duration::from_millis(100);
/// The first retry waits this long; each next one twice as long (plus jitter).
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// Publish as `settings` say and report what happened.
pub async fn run(settings: &Settings) -> Outcome {
    let started = Instant::now();
    let mut tally = Tally::default();
    let result = publish_with_retries(settings, started + settings.timeout, &mut tally).await;
    let details = Details {
        broker: Some(settings.broker.to_string()),
        client_id: Some(settings.client_id.clone()),
        topic: settings.topic.clone(),
        qos: Some(settings.qos as u8),
        retain: Some(settings.retain),
        bytes: tally.bytes,
        elapsed_ms: Some(started.elapsed().as_millis() as u64),
        attempts: (tally.attempts > 0).then_some(tally.attempts),
        ..Details::default()
    };
    let details = match &tally.batch {
        Some(batch) => Details {
            messages: Some(batch.messages),
            acknowledged: Some(batch.acknowledged),
            bytes: Some(batch.bytes as usize),
            resume_from_line: result.is_err().then(|| batch.resume_from_line()),
            ..details
        },
        None => details,
    };
    match result {
        Ok(message) => Outcome::success(message, details),
        Err(failure) => Outcome::failure(failure, details),
    }
}

/// Read the message, then attempt the publish until it succeeds, fails in a way a retry cannot
/// fix, the retries run out, or the deadline or a signal ends the run.
async fn publish_with_retries(
    settings: &Settings,
    deadline: Instant,
    tally: &mut Tally,
) -> Result<String, Failure> {
    warn_about_aws_qos2(settings);
    let tls = prepare_tls(settings)?;
    let mut signals = Signals::listen();

    let mut progress = Progress {
        step: Step::Reading,
        batch: batch::Tally::default(),
    };
    let prepare = prepare_work(settings);
    let work = tokio::select! {
        work = tokio::time::timeout_at(deadline, prepare) => match work {
            Ok(work) => work?,
            Err(_elapsed) => return deadline_passed(settings, &progress),
        },
        signal = signals.recv() => return Err(interrupted(settings, &progress, signal)),
    };
    if let Work::Single(message) = &work {
        tally.bytes = Some(message.payload.len());
    }

    loop {
        tally.attempts += 1;
        let retries_left = settings.retries.saturating_sub(tally.attempts - 1);
        let connect_by = connect_deadline(deadline, retries_left);
        progress.step = Step::Resolving;
        let mut wire = None;
        let outcome = {
            let attempt = attempt(
                settings,
                tls.as_ref(),
                &work,
                &mut progress,
                &mut wire,
                connect_by,
            );
            tokio::select! {
                result = tokio::time::timeout_at(deadline, attempt) => Ok(result),
                signal = signals.recv() => Err(signal),
            }
        };
        let result = match outcome {
            Ok(Ok(result)) => result,
            Ok(Err(_elapsed)) => deadline_passed(settings, &progress),
            Err(signal) => Err(interrupted(settings, &progress, signal)),
        };
        if settings.mode != Mode::Single {
            tally.batch = Some(std::mem::take(&mut progress.batch));
        }
        // Cut short after CONNACK (deadline, signal, or a failed goodbye): still say goodbye.
        if let Some(wire) = wire
            .as_mut()
            .filter(|_| result.is_err() && progress.step.connected())
        {
            wire.goodbye(GOODBYE).await;
        }
        let failure = match result {
            Ok(delivered) => return Ok(delivered),
            Err(failure) => failure,
        };
        if retries_left == 0 || !retryable(&failure, &progress) {
            return Err(give_up(failure, tally.attempts, "no retries left"));
        }
        let pause = backoff(tally.attempts);
        if Instant::now() + pause >= deadline {
            return Err(give_up(
                failure,
                tally.attempts,
                "the next retry would pass the deadline",
            ));
        }
        verbose!(
            "attempt {} failed ({}); retrying in {} ms",
            tally.attempts,
            failure.message,
            pause.as_millis()
        );
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            signal = signals.recv() => {
                progress.step = Step::Resolving;
                return Err(interrupted(settings, &progress, signal));
            }
        }
    }
}

/// What an attempt sends: one message (read now, once: stdin cannot be read twice), or a
/// batch whose lines are read as they are sent.
enum Work {
    Single(Message),
    Batch,
}

async fn prepare_work(settings: &Settings) -> Result<Work, Failure> {
    match settings.mode {
        Mode::Single => {
            let payload = settings.content.read().await?;
            let topic = settings.topic.clone().unwrap_or_default();
            check_size(&topic, payload.len(), settings)?;
            verbose!(
                "read {} bytes from {}",
                payload.len(),
                settings.content.describe()
            );
            Ok(Work::Single(Message {
                topic,
                payload: Bytes::from(payload),
                qos: settings.qos,
                retain: settings.retain,
            }))
        }
        Mode::Lines => Ok(Work::Batch),
        Mode::Ndjson => {
            batch::check_ndjson(settings).await?;
            Ok(Work::Batch)
        }
    }
}

/// Only failures where nothing was published are retried: could not connect (3), and a
/// deadline before CONNACK (6). Never usage (2), TLS (4), refused (5) or dropped (7).
fn retryable(failure: &Failure, progress: &Progress) -> bool {
    match failure.class {
        Class::Connect => true,
        Class::Timeout => !progress.step.connected(),
        _ => false,
    }
}

/// The deadline for one attempt's connect phase (DNS, TCP, TLS, CONNACK): with retries left,
/// a share of the time left, so that a broker that never answers still leaves room to retry.
fn connect_deadline(deadline: Instant, retries_left: u32) -> Instant {
    let left = deadline.saturating_duration_since(Instant::now());
    let share = left / (retries_left + 1);
    Instant::now() + share.max(left.min(Duration::from_secs(1)))
}

/// Exponential backoff from 0.5 s, doubling, with up to +50 % jitter so that many cron jobs do
/// not retry in step.
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let base = FIRST_BACKOFF * 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
    let jitter = (RandomState::new().hash_one(attempt) % 1000) as f64 / 2000.0;
    base.mul_f64(1.0 + jitter)
}

fn give_up(failure: Failure, attempts: u32, why: &str) -> Failure {
    if attempts <= 1 {
        return failure;
    }
    Failure::new(
        failure.class,
        format!(
            "{} (gave up after {attempts} attempts: {why})",
            failure.message
        ),
    )
}

/// The TLS client, built before any network I/O (a bad file is exit 2), when the URL is TLS.
fn prepare_tls(settings: &Settings) -> Result<Option<Tls>, Failure> {
    if settings.broker.tls {
        return Tls::new(&settings.tls, &settings.broker).map(Some);
    }
    let options = &settings.tls;
    if options.root_ca_crt.is_some()
        || options.certificate.is_some()
        || options.private_key.is_some()
        || !options.alpn.is_empty()
    {
        verbose!(
            "TLS settings are ignored: the broker URL {} is not a TLS URL",
            settings.broker
        );
    }
    Ok(None)
}

/// AWS IoT Core takes QoS 0 and 1 only and drops the connection on a QoS 2 PUBLISH.
fn warn_about_aws_qos2(settings: &Settings) {
    let aws = matches!(&settings.broker.host, Host::Name(name) if name.ends_with(".amazonaws.com"));
    if aws && settings.qos == QoS::ExactlyOnce {
        eprintln!(
            "mqtt-send: warning: AWS IoT Core supports QoS 0 and 1 only and closes the connection \
             on a QoS 2 publish (QoS 2 is the default): use --qos 1"
        );
    }
}

/// One connection: connect (by `connect_by`), CONNECT/CONNACK, PUBLISH and its acks,
/// DISCONNECT. The connection goes into `slot` as soon as it exists, so that the caller can
/// still say goodbye if this future is cut short.
async fn attempt(
    settings: &Settings,
    tls: Option<&Tls>,
    work: &Work,
    progress: &mut Progress,
    slot: &mut Option<Wire>,
    connect_by: Instant,
) -> Result<String, Failure> {
    let share = connect_by.saturating_duration_since(Instant::now());
    let connecting = async {
        let tcp = connect_tcp(settings, &mut *progress).await?;
        let stream = match tls {
            Some(tls) => {
                progress.step = Step::TlsHandshake;
                Transport::Tls(Box::new(tls.connect(tcp, &settings.broker).await?))
            }
            None => Transport::Plain(tcp),
        };
        let wire = slot.insert(Wire::new(stream));
        handshake(settings, tls, wire, &mut *progress).await?;
        Ok::<_, Failure>(wire)
    };
    let wire = match tokio::time::timeout_at(connect_by, connecting).await {
        Ok(connected) => connected?,
        Err(_elapsed) => return Err(timed_out(settings, progress, share)),
    };
    let delivered = match work {
        Work::Single(message) => publish(settings, wire, progress, message).await?,
        Work::Batch => {
            progress.step = Step::Batch;
            let mut lines = Lines::open(settings).await?;
            let lost = |doing: &str, error| after_connack(settings, doing, error);
            batch::send(wire, &mut lines, &mut progress.batch, lost).await?
        }
    };
    progress.step = Step::Closing {
        delivered: delivered.clone(),
    };
    disconnect(settings, wire).await.map(|()| delivered)
}

/// MQTT frames a packet of at most 268 435 455 bytes after its fixed header.
fn check_size(topic: &str, payload: usize, settings: &Settings) -> Result<(), Failure> {
    let packet = 5 + 2 + topic.len() + 2 + payload;
    if packet > MAX_PACKET {
        return Err(Failure::usage(format!(
            "the message from {} is {payload} bytes; an MQTT packet holds at most 268435455",
            settings.content.describe()
        )));
    }
    Ok(())
}

async fn connect_tcp(settings: &Settings, progress: &mut Progress) -> Result<TcpStream, Failure> {
    let broker = &settings.broker;
    progress.step = Step::Resolving;
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host(broker.address())
        .await
        .map_err(|e| {
            Failure::new(
                Class::Connect,
                format!(
                    "cannot resolve the broker host {} ({}): check the host name in the broker URL {broker}",
                    broker.host,
                    io_reason(&e)
                ),
            )
        })?
        .collect();
    let mut last_error = None;
    for address in addresses {
        progress.step = Step::Connecting(address);
        verbose!("connecting to {address}");
        match TcpStream::connect(address).await {
            Ok(stream) => {
                // One small packet at a time, each answered: Nagle would only add delay.
                if let Err(e) = stream.set_nodelay(true) {
                    verbose!("could not set TCP_NODELAY: {e}");
                }
                verbose!("TCP connected to {address}");
                return Ok(stream);
            }
            Err(e) => {
                verbose!("TCP connect to {address} failed: {e}");
                last_error = Some((address, e));
            }
        }
    }
    Err(match last_error {
        Some((address, e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Failure::new(
            Class::Connect,
            format!(
                "connection refused by {address} ({broker}): is the broker running and \
                 listening on port {}?",
                broker.port
            ),
        ),
        Some((address, e)) => Failure::new(
            Class::Connect,
            format!("cannot connect to {address} ({broker}): {}", io_reason(&e)),
        ),
        None => Failure::new(
            Class::Connect,
            format!(
                "the broker host {} has no address to connect to",
                broker.host
            ),
        ),
    })
}

/// CONNECT, then wait for CONNACK and read its return code.
async fn handshake(
    settings: &Settings,
    tls: Option<&Tls>,
    wire: &mut Wire,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let broker = &settings.broker;
    let mut connect = Connect::new(settings.client_id.as_str());
    connect.clean_session = true;
    connect.keep_alive = keep_alive(settings.timeout);
    let password = settings.password.as_ref().map(|p| p.expose()).unwrap_or("");
    match &settings.username {
        Some(username) => connect.login = Some(Login::new(username.as_str(), password)),
        None if settings.password.is_some() => eprintln!(
            "mqtt-send: warning: a password was given but no username; MQTT 3.1.1 sends a \
             password only with a username, so none is sent"
        ),
        None => {}
    }
    verbose!(
        "sending CONNECT: client-id {:?}, clean session, keep-alive {} s, username {}, password {}",
        settings.client_id,
        connect.keep_alive,
        settings
            .username
            .as_deref()
            .map_or("none".to_string(), |u| format!("{u:?}")),
        if connect
            .login
            .as_ref()
            .is_some_and(|l| !l.password.is_empty())
        {
            "given"
        } else {
            "none"
        },
    );
    progress.step = Step::AwaitingConnAck;
    let sent = match wire.queue(&Packet::Connect(connect)) {
        Ok(()) => wire.flush().await,
        Err(e) => Err(e),
    };
    sent.map_err(|e| before_connack(settings, tls, e))?;
    match wire
        .receive()
        .await
        .map_err(|e| before_connack(settings, tls, e))?
    {
        Received::ConnAck { code: 0 } => {
            verbose!("received CONNACK: accepted");
            Ok(())
        }
        Received::ConnAck { code } => Err(Failure::new(
            Class::Refused,
            format!(
                "{broker} refused the connection: CONNACK return code {code} ({}); nothing was published",
                connack_meaning(code)
            ),
        )),
        Received::Packet(packet) => Err(Failure::new(
            Class::Connect,
            format!(
                "{broker} answered CONNECT with {} instead of CONNACK: is this an MQTT 3.1.1 broker port?",
                packet_name(&packet)
            ),
        )),
    }
}

/// The broker disconnects a client that is silent for 1.5 × keep-alive. We send nothing
/// between our packets, so keep-alive covers the whole deadline (at least 60 s).
fn keep_alive(timeout: Duration) -> u16 {
    let seconds = timeout.as_secs_f64().ceil() as u64;
    seconds.clamp(60, u64::from(u16::MAX)) as u16
}

/// What a CONNACK return code means, in words a user can act on.
pub fn connack_meaning(code: u8) -> String {
    match code {
        1 => "unacceptable protocol version: the broker does not speak MQTT 3.1.1".into(),
        2 => "identifier rejected: the broker does not accept this client id; try another --client-id".into(),
        3 => "server unavailable: the broker is up but not taking connections; try again later".into(),
        4 => "bad user name or password: check --username and the password".into(),
        5 => "not authorized: check the username and password, or the client certificate and \
              the broker's access rules"
            .into(),
        other => format!("a code MQTT 3.1.1 does not define ({other}); see the broker's documentation"),
    }
}

/// PUBLISH, then wait for its acknowledgement. Returns the success sentence.
async fn publish(
    settings: &Settings,
    wire: &mut Wire,
    progress: &mut Progress,
    message: &Message,
) -> Result<String, Failure> {
    let bytes = message.payload.len();
    let mut publish =
        Publish::from_bytes(message.topic.as_str(), message.qos, message.payload.clone());
    publish.retain = message.retain;
    if message.qos != QoS::AtMostOnce {
        publish.pkid = PACKET_ID;
    }
    let sent = format!(
        "published {bytes} bytes to {} at QoS {}",
        message.topic, message.qos as u8
    );
    progress.step = Step::Sending;
    wire.queue(&Packet::Publish(publish)).map_err(|e| {
        Failure::new(
            Class::Internal,
            format!("cannot encode the PUBLISH packet: {e:?}"),
        )
    })?;
    wire.flush()
        .await
        .map_err(|e| after_connack(settings, "sending the PUBLISH", e))?;
    verbose!(
        "sent PUBLISH: packet id {}, QoS {}, retain {}, {bytes} bytes",
        if settings.qos == QoS::AtMostOnce {
            0
        } else {
            PACKET_ID
        },
        settings.qos as u8,
        settings.retain
    );
    match settings.qos {
        QoS::AtMostOnce => Ok(format!(
            "{sent}: written to the connection, which closed cleanly (QoS 0 has no acknowledgement)"
        )),
        QoS::AtLeastOnce => {
            await_ack(settings, wire, progress, "PUBACK").await?;
            Ok(format!("{sent}: acknowledged (PUBACK)"))
        }
        QoS::ExactlyOnce => {
            await_ack(settings, wire, progress, "PUBREC").await?;
            wire.queue(&Packet::PubRel(PubRel::new(PACKET_ID)))
                .map_err(|e| {
                    Failure::new(Class::Internal, format!("cannot encode PUBREL: {e:?}"))
                })?;
            wire.flush()
                .await
                .map_err(|e| after_connack(settings, "sending PUBREL", e))?;
            verbose!("sent PUBREL: packet id {PACKET_ID}");
            await_ack(settings, wire, progress, "PUBCOMP").await?;
            Ok(format!("{sent}: acknowledged (PUBCOMP)"))
        }
    }
}

/// Read packets until the named acknowledgement for our packet id arrives.
async fn await_ack(
    settings: &Settings,
    wire: &mut Wire,
    progress: &mut Progress,
    expected: &'static str,
) -> Result<(), Failure> {
    progress.step = Step::AwaitingAck(expected);
    loop {
        let received = wire
            .receive()
            .await
            .map_err(|e| after_connack(settings, &format!("waiting for {expected}"), e))?;
        let packet = match received {
            Received::Packet(packet) => packet,
            Received::ConnAck { code } => {
                verbose!("ignoring an unexpected second CONNACK (code {code})");
                continue;
            }
        };
        let pkid = match (&packet, expected) {
            (Packet::PubAck(ack), "PUBACK") => ack.pkid,
            (Packet::PubRec(ack), "PUBREC") => ack.pkid,
            (Packet::PubComp(ack), "PUBCOMP") => ack.pkid,
            (Packet::Disconnect, _) => {
                return Err(Failure::new(
                    Class::Dropped,
                    format!(
                        "{} sent DISCONNECT instead of {expected}: the message was not acknowledged",
                        settings.broker
                    ),
                ));
            }
            _ => {
                verbose!(
                    "ignoring {} while waiting for {expected}",
                    packet_name(&packet)
                );
                continue;
            }
        };
        if pkid == PACKET_ID {
            verbose!("received {expected}: packet id {pkid}");
            return Ok(());
        }
        verbose!("ignoring {expected} for packet id {pkid} (ours is {PACKET_ID})");
    }
}

/// DISCONNECT, flushed, then close our side. For QoS 1/2 the message is already acknowledged,
/// so a failure here is only logged; for QoS 0 a clean close is what "published" means.
async fn disconnect(settings: &Settings, wire: &mut Wire) -> Result<(), Failure> {
    match wire.disconnect().await {
        Ok(()) => {
            verbose!("sent DISCONNECT and closed the connection");
            Ok(())
        }
        Err(e) if settings.qos == QoS::AtMostOnce => {
            Err(after_connack(settings, "closing the connection", e))
        }
        Err(e) => {
            verbose!("closing the connection after the acknowledgement failed: {e:?}");
            Ok(())
        }
    }
}

/// A failure before CONNACK: nothing was published, the broker never accepted us. A TLS error
/// here (a client certificate the broker wanted or rejected) is a TLS failure, not a closed
/// connection: TLS 1.3 reports it after the handshake, on our first read.
fn before_connack(settings: &Settings, tls: Option<&Tls>, error: WireError) -> Failure {
    let broker = &settings.broker;
    if let (Some(tls), WireError::Io(e)) = (tls, &error) {
        if rustls_error(e).is_some() {
            return tls.failure(broker, e);
        }
    }
    let error = peer_closed(error);
    let turned_away = if settings.tls.use_certificate {
        " (on AWS IoT Core: a certificate that is not active, or a policy that does not allow \
         iot:Connect for this client id)"
    } else {
        ""
    };
    match error {
        WireError::Closed { mid_packet: true } => Failure::new(
            Class::Connect,
            format!(
                "{broker} sent part of a packet and closed the connection before CONNACK: is \
                 this an MQTT port?"
            ),
        ),
        WireError::Closed { mid_packet: false } => Failure::new(
            Class::Connect,
            format!(
                "{broker} closed the connection before answering CONNECT: wrong port, a TLS \
                 port reached with tcp://, or the broker turned this client away{turned_away}; \
                 nothing was published"
            ),
        ),
        WireError::Malformed(what) => Failure::new(
            Class::Connect,
            format!(
                "{broker} answered CONNECT with something that is not MQTT ({what}): is this \
                 an MQTT port?"
            ),
        ),
        WireError::Io(e) => Failure::new(
            Class::Connect,
            format!(
                "the connection to {broker} failed before CONNACK: {}",
                io_reason(&e)
            ),
        ),
    }
}

/// A reset, a broken pipe or an aborted connection is the peer closing on us, as far as a user
/// is concerned: report it as closed.
fn peer_closed(error: WireError) -> WireError {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
    match error {
        WireError::Io(e)
            if matches!(e.kind(), ConnectionReset | BrokenPipe | ConnectionAborted) =>
        {
            verbose!("the connection ended: {e}");
            WireError::Closed { mid_packet: false }
        }
        other => other,
    }
}

/// A failure after the broker accepted the connection: the publish was not acknowledged.
fn after_connack(settings: &Settings, doing: &str, error: WireError) -> Failure {
    let broker = &settings.broker;
    let error = peer_closed(error);
    let what = match error {
        WireError::Closed { mid_packet: false } => {
            format!("{broker} closed the connection while we were {doing}")
        }
        WireError::Closed { mid_packet: true } => {
            format!(
                "{broker} closed the connection in the middle of a packet while we were {doing}"
            )
        }
        WireError::Malformed(detail) => {
            format!("{broker} sent a malformed packet while we were {doing} ({detail})")
        }
        WireError::Io(e) => format!(
            "the connection to {broker} failed while we were {doing}: {}",
            io_reason(&e)
        ),
    };
    if settings.mode != Mode::Single {
        // The batch adds how many were acknowledged and where to resume.
        return Failure::new(Class::Dropped, what);
    }
    let hint = match settings.qos {
        QoS::ExactlyOnce => {
            "; brokers that allow at most QoS 1 (AWS IoT Core, mosquitto with max_qos 1) close \
             the connection on a QoS 2 PUBLISH: try --qos 1"
        }
        QoS::AtLeastOnce => {
            "; the broker rejected the publish (on AWS IoT Core: a policy that denies \
             iot:Publish on this topic, or a payload over 128 KB)"
        }
        QoS::AtMostOnce => "",
    };
    Failure::new(
        Class::Dropped,
        format!("{what}: the message was not acknowledged{hint}"),
    )
}

/// What we were doing at `step`, and whether anything was published, as the end of a sentence
/// that starts "timed out after 2 s" or "interrupted by SIGINT".
fn situation(settings: &Settings, progress: &Progress) -> String {
    let broker = &settings.broker;
    match &progress.step {
        Step::Reading => format!(
            "reading the message from {}; nothing was sent",
            settings.content.describe()
        ),
        Step::Resolving => format!("resolving {}; nothing was sent", broker.host),
        Step::Connecting(address) => format!(
            "connecting to {address} ({broker}): no answer (a firewall, or the wrong host or \
             port); nothing was sent"
        ),
        Step::TlsHandshake => {
            format!("in the TLS handshake with {broker} (is this a TLS port?); nothing was sent")
        }
        Step::AwaitingConnAck => format!(
            "waiting for CONNACK: {broker} accepted the connection but sent no CONNACK (is it \
             an MQTT broker, and does it expect TLS on this port?); nothing was published"
        ),
        Step::Sending => {
            format!("sending the message to {broker}; the broker may or may not have it")
        }
        Step::Batch => format!("sending a batch to {broker}; {}", progress.batch.status()),
        Step::AwaitingAck(ack) => {
            format!("waiting for {ack} from {broker}; the broker may or may not have the message")
        }
        Step::Closing { .. } => {
            format!("closing the connection to {broker}; the QoS 0 message may not have arrived")
        }
    }
}

/// The deadline, or (with retries left) an attempt's share of it, after `waited`.
fn timed_out(settings: &Settings, progress: &Progress, waited: Duration) -> Failure {
    let total = settings.timeout.as_secs_f64();
    let after = if waited < settings.timeout.saturating_sub(Duration::from_millis(50)) {
        format!(
            "{:.1} s (this attempt's share of the {total} s --timeout)",
            waited.as_secs_f64()
        )
    } else {
        format!("{total} s")
    };
    Failure::new(
        Class::Timeout,
        format!("timed out after {after} {}", situation(settings, progress)),
    )
}

/// The deadline passed. Once a QoS 1/2 message is acknowledged, only the goodbye was left:
/// that is still a success.
fn deadline_passed(settings: &Settings, progress: &Progress) -> Result<String, Failure> {
    match &progress.step {
        Step::Closing { delivered } if settings.qos != QoS::AtMostOnce => {
            verbose!("the deadline passed while closing the connection after the acknowledgement");
            Ok(delivered.clone())
        }
        _ => Err(timed_out(settings, progress, settings.timeout)),
    }
}

fn interrupted(settings: &Settings, progress: &Progress, signal: Signal) -> Failure {
    Failure::new(
        signal.class(),
        format!(
            "interrupted by {} {}",
            signal.name(),
            situation(settings, progress)
        ),
    )
}

fn packet_name(packet: &Packet) -> &'static str {
    match packet {
        Packet::Connect(_) => "CONNECT",
        Packet::ConnAck(_) => "CONNACK",
        Packet::Publish(_) => "PUBLISH",
        Packet::PubAck(_) => "PUBACK",
        Packet::PubRec(_) => "PUBREC",
        Packet::PubRel(_) => "PUBREL",
        Packet::PubComp(_) => "PUBCOMP",
        Packet::Subscribe(_) => "SUBSCRIBE",
        Packet::SubAck(_) => "SUBACK",
        Packet::Unsubscribe(_) => "UNSUBSCRIBE",
        Packet::UnsubAck(_) => "UNSUBACK",
        Packet::PingReq => "PINGREQ",
        Packet::PingResp => "PINGRESP",
        Packet::Disconnect => "DISCONNECT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alive_outlasts_the_deadline() {
        assert_eq!(keep_alive(Duration::from_secs(2)), 60);
        assert_eq!(keep_alive(Duration::from_millis(90_500)), 91);
        assert_eq!(keep_alive(Duration::from_secs(10_000_000)), u16::MAX);
    }

    #[test]
    fn connack_codes_have_meanings() {
        assert!(connack_meaning(4).contains("bad user name or password"));
        assert!(connack_meaning(5).contains("not authorized"));
        assert!(connack_meaning(7).contains("does not define (7)"));
    }
}
