//! One run: read the message, connect, CONNECT/CONNACK, PUBLISH and its acknowledgement
//! (PUBACK for QoS 1, PUBREC/PUBREL/PUBCOMP for QoS 2), DISCONNECT. One deadline covers all of
//! it; every failure is classified where it arises and becomes the run's [`Outcome`].

use std::net::SocketAddr;
use std::time::Duration;

use rumqttc::{Connect, Login, Packet, PubRel, Publish, QoS};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::broker::Host;
use crate::config::{Settings, io_reason};
use crate::log::verbose;
use crate::outcome::{Class, Details, Failure, Outcome};
use crate::tls::{Tls, rustls_error};
use crate::wire::{MAX_PACKET, Received, Stream, Wire, WireError};

/// Packet id of the single message.
const PACKET_ID: u16 = 1;

/// Where the run is, so a deadline that fires can say what we were waiting for.
#[derive(Debug, Clone)]
enum Step {
    Reading,
    Resolving,
    Connecting(SocketAddr),
    TlsHandshake,
    AwaitingConnAck,
    Sending,
    AwaitingAck(&'static str),
    /// The message is delivered (QoS 1/2: acknowledged); we are closing the connection.
    Closing {
        delivered: String,
    },
}

#[derive(Debug)]
struct Progress {
    step: Step,
    bytes: Option<usize>,
}

/// Publish as `settings` say and report what happened.
pub async fn run(settings: &Settings) -> Outcome {
    let started = Instant::now();
    let mut progress = Progress {
        step: Step::Reading,
        bytes: None,
    };
    warn_about_aws_qos2(settings);
    let result = match prepare_tls(settings) {
        Err(failure) => Err(failure),
        Ok(tls) => {
            let deadline = started + settings.timeout;
            let attempt = attempt(settings, tls.as_ref(), &mut progress);
            match tokio::time::timeout_at(deadline, attempt).await {
                Ok(result) => result,
                Err(_elapsed) => deadline_passed(settings, &progress),
            }
        }
    };
    let details = Details {
        broker: Some(settings.broker.to_string()),
        client_id: Some(settings.client_id.clone()),
        topic: Some(settings.topic.clone()),
        qos: Some(settings.qos as u8),
        retain: Some(settings.retain),
        bytes: progress.bytes,
        elapsed_ms: Some(started.elapsed().as_millis() as u64),
    };
    match result {
        Ok(message) => Outcome::success(message, details),
        Err(failure) => Outcome::failure(failure, details),
    }
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

async fn attempt(
    settings: &Settings,
    tls: Option<&Tls>,
    progress: &mut Progress,
) -> Result<String, Failure> {
    let payload = settings.content.read().await?;
    check_size(settings, payload.len())?;
    progress.bytes = Some(payload.len());
    verbose!(
        "read {} bytes from {}",
        payload.len(),
        settings.content.describe()
    );

    let tcp = connect_tcp(settings, progress).await?;
    let stream: Box<dyn Stream> = match tls {
        Some(tls) => {
            progress.step = Step::TlsHandshake;
            Box::new(tls.connect(tcp, &settings.broker).await?)
        }
        None => Box::new(tcp),
    };
    let mut wire = Wire::new(stream);
    handshake(settings, tls, &mut wire, progress).await?;
    let delivered = publish(settings, &mut wire, progress, payload).await?;
    progress.step = Step::Closing {
        delivered: delivered.clone(),
    };
    disconnect(settings, &mut wire).await.map(|()| delivered)
}

/// MQTT frames a packet of at most 268 435 455 bytes after its fixed header.
fn check_size(settings: &Settings, payload: usize) -> Result<(), Failure> {
    let packet = 5 + 2 + settings.topic.len() + 2 + payload;
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
    payload: Vec<u8>,
) -> Result<String, Failure> {
    let bytes = payload.len();
    let mut publish = Publish::new(settings.topic.as_str(), settings.qos, payload);
    publish.retain = settings.retain;
    if settings.qos != QoS::AtMostOnce {
        publish.pkid = PACKET_ID;
    }
    let sent = format!(
        "published {bytes} bytes to {} at QoS {}",
        settings.topic, settings.qos as u8
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
    let closed = match wire.queue(&Packet::Disconnect) {
        Ok(()) => match wire.flush().await {
            Ok(()) => wire.close().await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match closed {
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

/// A failure after the broker accepted the connection: the publish was not acknowledged.
fn after_connack(settings: &Settings, doing: &str, error: WireError) -> Failure {
    let broker = &settings.broker;
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

fn deadline_passed(settings: &Settings, progress: &Progress) -> Result<String, Failure> {
    let after = format!("timed out after {} s", settings.timeout.as_secs_f64());
    let broker = &settings.broker;
    let message = match &progress.step {
        Step::Reading => format!(
            "{after} reading the message from {}; nothing was sent",
            settings.content.describe()
        ),
        Step::Resolving => format!("{after} resolving {}; nothing was sent", broker.host),
        Step::Connecting(address) => format!(
            "{after} connecting to {address} ({broker}): no answer (a firewall, or the wrong \
             host or port); nothing was sent"
        ),
        Step::TlsHandshake => format!(
            "{after} in the TLS handshake with {broker}: is this a TLS port?; nothing was sent"
        ),
        Step::AwaitingConnAck => format!(
            "{after}: {broker} accepted the connection but sent no CONNACK (is it an MQTT \
             broker, and does it expect TLS on this port?); nothing was published"
        ),
        Step::Sending => {
            format!("{after} sending the message to {broker}; the broker may or may not have it")
        }
        Step::AwaitingAck(ack) => format!(
            "{after} waiting for {ack} from {broker}; the broker may or may not have the message"
        ),
        Step::Closing { delivered } if settings.qos != QoS::AtMostOnce => {
            verbose!("{after} closing the connection after the acknowledgement");
            return Ok(delivered.clone());
        }
        Step::Closing { .. } => format!(
            "{after} closing the connection to {broker}; the QoS 0 message may not have arrived"
        ),
    };
    Err(Failure::new(Class::Timeout, message))
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
