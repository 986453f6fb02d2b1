//! Every way a run can fail, as data: each variant carries the facts (the broker, the file, the
//! line, what we were waiting for), its class (and so its exit code) is decided here, and the
//! sentences a user reads are written here and nowhere else.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::broker::Broker;
use crate::config::Source;
use crate::files::io_reason;
use crate::message::{MAX_REMAINING_LENGTH, Version};
use crate::outcome::Class;
use crate::signals::Signal;

mod config;
mod tls;

pub use config::{
    AwsMissing, ConfigError, Field, Got, JsonType, Kind, MqttUrlProblem, Origin, Problem,
    PropertyRefusal, RedactedUrl, UrlError,
};
pub use tls::{TlsProblem, TlsSetupError};

/// Why a run did not publish.
#[derive(Debug)]
pub enum Error {
    /// The flags, the environment or the config file (exit 2).
    Config(ConfigError),
    /// An argument clap refused (an unknown flag): clap's own first line (exit 2).
    Arguments(String),
    /// The content (exit 2).
    Input(InputError),
    /// The CA bundle, the client certificate or the key (exit 2).
    TlsSetup(TlsSetupError),
    /// A bug (exit 1).
    Internal(String),
    /// A panic: a bug (exit 1).
    Panicked,
    Resolve {
        broker: Broker,
        reason: String,
    },
    TcpRefused {
        broker: Broker,
        address: SocketAddr,
    },
    TcpFailed {
        broker: Broker,
        address: SocketAddr,
        reason: String,
    },
    NoAddress {
        broker: Broker,
    },
    /// `--unix PATH`: the socket cannot be connected to.
    UnixFailed {
        broker: Broker,
        reason: String,
    },
    Tls {
        broker: Broker,
        problem: TlsProblem,
    },
    /// `ssl://`: the server closed the connection before sending any TLS byte.
    ClosedBeforeTls {
        broker: Broker,
        reason: String,
    },
    /// The connection failed before the broker accepted us.
    BeforeConnAck {
        broker: Broker,
        cause: Cause,
        /// A client certificate was sent (the broker may have turned it away).
        certificate: bool,
    },
    /// No CONNACK within `waited` of an MQTT 5 CONNECT: a 3.1.1 broker that ignores MQTT 5.
    SilentToMqtt5 {
        broker: Broker,
        waited: Duration,
    },
    /// The broker answered CONNECT with another packet.
    NotConnAck {
        broker: Broker,
        packet: &'static str,
    },
    /// CONNACK with a non-zero return code (3.1.1) or a reason code of 0x80 or more (5).
    Refused {
        broker: Broker,
        code: u8,
        /// The version whose codes `code` is in.
        version: Version,
        reason_string: Option<String>,
        server_reference: Option<String>,
    },
    /// MQTT 5: the broker answered a message with a reason code of 0x80 or more.
    Rejected {
        broker: Broker,
        packet: &'static str,
        reason: u8,
        reason_string: Option<String>,
        /// In a batch, the message's line.
        line: Option<u64>,
    },
    /// MQTT 5 properties (by their names) that MQTT 3.1.1 cannot carry. Either the broker
    /// refused the MQTT 5 CONNECT (`refusal`) and mqtt-send did not fall back to 3.1.1, or the
    /// connection did fall back and a message (on `line` of a batch) sets properties; it was
    /// not sent.
    NeedsMqtt5 {
        broker: Broker,
        properties: Vec<&'static str>,
        refusal: Option<Box<Error>>,
        line: Option<u64>,
    },
    /// MQTT 5: the broker's CONNACK forbids sending the message; it was not sent.
    Limit {
        broker: Broker,
        limit: Limit,
        /// In a batch, the message's line.
        line: Option<u64>,
    },
    TimedOut {
        after: Waited,
        situation: Situation,
    },
    /// The connection failed after CONNACK: the message (or the batch) was not acknowledged.
    Lost {
        broker: Broker,
        doing: Doing,
        cause: Cause,
        /// A single message (a batch gives its counts instead).
        single: bool,
        /// Why the broker may have closed it: under MQTT 3.1.1 it does not say, so these are
        /// the causes that fit the facts, and never one the facts rule out.
        hints: Box<[Hint]>,
    },
    /// After our DISCONNECT, the broker reset the connection instead of closing it: what it had
    /// not processed, a QoS 0 message among it, may be lost.
    ResetAfterDisconnect {
        broker: Broker,
    },
    /// The broker sent DISCONNECT while something was still to be acknowledged.
    Disconnected {
        broker: Broker,
        /// A single message: the acknowledgement it waited for. `None` in a batch.
        awaiting: Option<&'static str>,
        /// MQTT 5: its reason code and reason string.
        reason: Option<u8>,
        reason_string: Option<String>,
    },
    Interrupted {
        signal: Signal,
        situation: Situation,
    },
    /// A failure in a batch, with the counts a script needs to resume.
    Batch {
        error: Box<Error>,
        status: BatchStatus,
        /// A bad line stopped the batch (rather than the broker or the network).
        stopped: bool,
    },
    /// The broker refused a subscription a request needs (SUBACK 0x80 and above); nothing
    /// was published.
    SubscribeRefused {
        broker: Broker,
        filter: String,
        code: u8,
        version: Version,
        reason_string: Option<String>,
    },
    /// The service behind the broker answered the request with a rejection (exit 8): the
    /// shadow service's `code` and `message`.
    ServiceRejected {
        broker: Broker,
        /// "the update of the classic shadow of thing \"lamp\"".
        request: String,
        code: Option<i64>,
        message: Option<String>,
    },
    /// A request the broker acknowledged, whose answer never came: the connection ended first
    /// (exit 6, like no answer before the deadline).
    Unconfirmed(Box<Unconfirmed>),
    /// `--wait-response`: the broker acknowledged the request with reason 0x10 (no matching
    /// subscribers): no responder received it, so no response can come.
    NoResponder {
        broker: Broker,
        /// PUBACK or PUBREC.
        packet: &'static str,
        topic: String,
        waiting_for: String,
    },
    /// The last of several attempts failed.
    GaveUp {
        error: Box<Error>,
        attempts: u32,
        why: GaveUp,
    },
    /// The HTTP proxy (shown without its credentials) did not open a tunnel to the broker.
    Proxy {
        broker: Broker,
        proxy: String,
        /// Boxed: errors travel by value, and this is a large one.
        problem: Box<ProxyProblem>,
    },
    /// `ws://` / `wss://`: the upgrade to a WebSocket failed (401 and 403: refused).
    WebSocket {
        broker: Broker,
        problem: WsProblem,
    },
}

/// What went wrong on the way through an HTTP proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyProblem {
    Resolve(String),
    Refused(SocketAddr),
    Failed(SocketAddr, String),
    NoAddress,
    /// An answer to CONNECT other than 2xx ("407 Proxy Authentication Required").
    Status {
        status: u16,
        line: String,
    },
    NotHttp(String),
    Closed,
    Io(String),
    /// The proxy opened the tunnel, and it closed before this step (the TLS handshake began,
    /// the WebSocket upgrade was answered).
    ClosedInTunnel(&'static str),
}

/// What went wrong in a WebSocket upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsProblem {
    /// An HTTP answer other than 101 (`line`: "404 Not Found").
    Status {
        status: u16,
        line: String,
    },
    /// Not an HTTP answer: its first line, made printable.
    NotHttp(String),
    /// The connection closed before a complete answer.
    Closed,
    /// 101 without `Upgrade: websocket` and `Connection: upgrade`.
    NotUpgraded,
    /// A `Sec-WebSocket-Accept` that does not match our key.
    BadAccept,
    /// The subprotocol the server chose instead of `mqtt` (or none).
    Subprotocol(Option<String>),
    Io(String),
}

impl From<ConfigError> for Error {
    fn from(error: ConfigError) -> Self {
        Error::Config(error)
    }
}

impl From<InputError> for Error {
    fn from(error: InputError) -> Self {
        Error::Input(error)
    }
}

impl From<TlsSetupError> for Error {
    fn from(error: TlsSetupError) -> Self {
        Error::TlsSetup(error)
    }
}

impl Error {
    /// The reason code the broker gave (MQTT 5), for the meta object.
    pub fn reason_code(&self) -> Option<u8> {
        match self {
            Error::Refused {
                code,
                version: Version::V5,
                ..
            } => Some(*code),
            Error::Rejected { reason, .. } => Some(*reason),
            Error::SubscribeRefused {
                code,
                version: Version::V5,
                ..
            } => Some(*code),
            Error::Disconnected { reason, .. } => *reason,
            Error::NoResponder { .. } => Some(0x10),
            Error::Unconfirmed(unconfirmed) => match unconfirmed.ending {
                Ending::Disconnect { reason, .. } => reason,
                Ending::Lost(_) => None,
            },
            Error::Batch { error, .. } | Error::GaveUp { error, .. } => error.reason_code(),
            Error::NeedsMqtt5 {
                refusal: Some(error),
                ..
            } => error.reason_code(),
            _ => None,
        }
    }

    /// Whether the broker turned the connection away for now (MQTT 5: server unavailable,
    /// server busy, connection rate exceeded): nothing was published, a retry may succeed.
    pub fn transient_refusal(&self) -> bool {
        matches!(
            self,
            Error::Refused {
                code: 0x88 | 0x89 | 0x9f,
                version: Version::V5,
                ..
            }
        )
    }

    /// Whether the broker may not speak MQTT 5: a 3.1.1 broker's "unacceptable protocol
    /// version", MQTT 5's 0x84, or the connection closed without a word in answer to CONNECT
    /// (what a 3.1.1 broker that does not follow its spec does).
    pub fn protocol_refused(&self) -> bool {
        matches!(
            self,
            Error::Refused {
                code: 1,
                version: Version::V311,
                ..
            } | Error::Refused {
                code: 0x84,
                version: Version::V5,
                ..
            } | Error::BeforeConnAck {
                cause: Cause::Closed { mid_packet: false },
                ..
            } | Error::SilentToMqtt5 { .. }
        )
    }

    /// The failure class, and so the exit code.
    pub fn class(&self) -> Class {
        match self {
            Error::Config(_) | Error::Arguments(_) | Error::Input(_) | Error::TlsSetup(_) => {
                Class::Usage
            }
            Error::Internal(_) | Error::Panicked => Class::Internal,
            Error::Resolve { .. }
            | Error::TcpRefused { .. }
            | Error::TcpFailed { .. }
            | Error::NoAddress { .. }
            | Error::UnixFailed { .. }
            | Error::ClosedBeforeTls { .. }
            | Error::SilentToMqtt5 { .. }
            | Error::BeforeConnAck { .. }
            | Error::NotConnAck { .. } => Class::Connect,
            Error::Tls { .. } => Class::Tls,
            Error::Refused { .. } => Class::Refused,
            Error::WebSocket {
                problem:
                    WsProblem::Status {
                        status: 401 | 403, ..
                    },
                ..
            } => Class::Refused,
            Error::WebSocket { .. } => Class::Connect,
            Error::Proxy { .. } => Class::Connect,
            // The broker turned MQTT 5 away (exit 5), or closed at a CONNECT (3).
            Error::NeedsMqtt5 {
                refusal: Some(error),
                ..
            } => error.class(),
            Error::NeedsMqtt5 { refusal: None, .. } => Class::Refused,
            Error::Rejected { .. } => Class::Dropped,
            Error::Limit {
                limit: Limit::PacketSize { .. },
                ..
            } => Class::Usage,
            Error::Limit { .. } => Class::Dropped,
            Error::TimedOut { .. } => Class::Timeout,
            Error::Lost { .. }
            | Error::Disconnected { .. }
            | Error::ResetAfterDisconnect { .. } => Class::Dropped,
            Error::Interrupted { signal, .. } => signal.class(),
            Error::Batch { error, .. } | Error::GaveUp { error, .. } => error.class(),
            Error::SubscribeRefused { .. } | Error::NoResponder { .. } => Class::Dropped,
            // Like a deadline while waiting for the answer: it may or may not take effect.
            Error::Unconfirmed(_) => Class::Timeout,
            Error::ServiceRejected { .. } => Class::Service,
        }
    }
}

/// How a connection failed, as far as the user is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The peer closed it (a reset or a broken pipe counts as that); `mid_packet`: in the
    /// middle of a packet.
    Closed { mid_packet: bool },
    /// The bytes are not MQTT.
    Malformed(String),
    /// Any other I/O error, in words.
    Io(String),
}

/// A cause that fits the facts of a connection closed before its message was acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// QoS 2 and no PUBREC yet: brokers that allow QoS 1 at most close the connection.
    QosTooHigh,
    /// No acknowledgement yet: the broker may not let this client publish to this topic.
    NotAllowed { aws: bool },
    /// A message of `bytes` bytes, more than some brokers take.
    TooLarge { bytes: usize, aws: bool },
    /// A client id given, not generated: another connection with it takes the session over.
    SameClientId { client_id: String },
}

/// A limit the broker's CONNACK sets (MQTT 5) that a message would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Qos { asked: u8, max: u8 },
    Retain,
    PacketSize { size: usize, max: u32 },
}

/// The name MQTT 5 gives a reason code.
pub fn reason_name(code: u8) -> &'static str {
    match code {
        0x00 => "success",
        0x04 => "disconnect with will message",
        0x10 => "no matching subscribers",
        0x80 => "unspecified error",
        0x81 => "malformed packet",
        0x82 => "protocol error",
        0x83 => "implementation specific error",
        0x84 => "unsupported protocol version",
        0x85 => "client identifier not valid",
        0x86 => "bad user name or password",
        0x87 => "not authorized",
        0x88 => "server unavailable",
        0x89 => "server busy",
        0x8a => "banned",
        0x8b => "server shutting down",
        0x8c => "bad authentication method",
        0x8d => "keep alive timeout",
        0x8e => "session taken over",
        0x8f => "topic filter invalid",
        0x90 => "topic name invalid",
        0x91 => "packet identifier in use",
        0x92 => "packet identifier not found",
        0x93 => "receive maximum exceeded",
        0x94 => "topic alias invalid",
        0x95 => "packet too large",
        0x96 => "message rate too high",
        0x97 => "quota exceeded",
        0x98 => "administrative action",
        0x99 => "payload format invalid",
        0x9a => "retain not supported",
        0x9b => "QoS not supported",
        0x9c => "use another server",
        0x9d => "server moved",
        0x9e => "shared subscriptions not supported",
        0x9f => "connection rate exceeded",
        0xa0 => "maximum connect time",
        0xa1 => "subscription identifiers not supported",
        0xa2 => "wildcard subscriptions not supported",
        _ => "a reason code MQTT 5 does not define",
    }
}

/// What to do about a reason code, where there is something to say.
fn reason_advice(code: u8) -> Option<&'static str> {
    Some(match code {
        0x84 => "the broker does not speak this MQTT version: try -V 3.1.1",
        0x85 => "try another --client-id",
        0x86 => "check --username and the password",
        0x87 => {
            "check the username and password or client certificate, and the broker's access rules for this client and topic"
        }
        0x88 | 0x89 | 0x9f => "try again later (--retries does)",
        0x8a => "the broker has banned this client",
        0x8e => {
            "another connection used the same client id (leave --client-id out for a generated one)"
        }
        0x95 => "the message is larger than the broker takes",
        0x97 => "the broker's quota for this client is used up",
        0x99 => "the payload is not what --payload-format says",
        0x9a => "leave out --retain",
        0x9b => "try a lower --qos",
        _ => return None,
    })
}

/// " (0x87): not authorized; check ..." and the broker's own words.
fn reason_words(
    f: &mut fmt::Formatter<'_>,
    code: u8,
    reason_string: &Option<String>,
) -> fmt::Result {
    write!(f, "{} (0x{code:02x})", reason_name(code))?;
    if let Some(words) = reason_string {
        write!(f, ", the broker says \"{words}\"")?;
    }
    if let Some(advice) = reason_advice(code) {
        write!(f, "; {advice}")?;
    }
    Ok(())
}

/// What to do about a shadow service's rejection code, where there is something to say.
fn service_advice(code: i64) -> Option<&'static str> {
    Some(match code {
        400 => "the document is not what the shadow service takes",
        401 | 403 => "the policy of this certificate does not allow this shadow operation",
        404 => "the thing or its shadow does not exist (check --thing and --shadow-name)",
        409 => {
            "the \"version\" in the document is not the shadow's current version: get the \
             shadow (--shadow get) and try again with its version"
        }
        413 => "the document is larger than the shadow service takes (8 KB of state)",
        429 => "too many requests in flight: try again later",
        500 | 503 => "the shadow service failed: try again later",
        _ => return None,
    })
}

/// Payloads above this many bytes get the size hint: rumqttd's shipped limit is 20 480.
pub const LARGE_PAYLOAD: usize = 16 * 1024;
/// AWS IoT Core's payload limit.
pub const AWS_MAX_PAYLOAD: usize = 128 * 1024;

/// What we were doing when the connection failed after CONNACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doing {
    SendingPublish,
    SendingPubRel,
    WaitingFor(&'static str),
    SendingBatch,
    WaitingForAcknowledgements,
    Closing,
    Subscribing,
    WaitingForAnswer,
}

/// How long we waited before a deadline ended the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Waited {
    pub waited: Duration,
    pub timeout: Duration,
}

/// Where a run was when the deadline or a signal ended it.
#[derive(Debug, Clone)]
pub struct Situation {
    /// `None` while the configuration, which names it, is being read.
    pub broker: Option<Broker>,
    pub step: Step,
}

/// A step of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The config file and the password file.
    Configuring,
    /// The CA bundle, the client certificate and key, or the system trust store.
    PreparingTls,
    Reading(Source),
    Resolving,
    /// The addresses tried so far, all still under way or failed.
    Connecting(Vec<SocketAddr>),
    TlsHandshake,
    /// The HTTP proxy's CONNECT.
    Tunnel,
    /// Resolving the HTTP proxy (shown without credentials; no addresses yet), then connecting
    /// to these of its addresses (boxed: a step is in every timeout error, kept small).
    ToProxy(Box<(String, Vec<SocketAddr>)>),
    /// `ws://` / `wss://`: the HTTP upgrade.
    WebSocketUpgrade,
    AwaitingConnAck,
    /// A single message is being written.
    Sending,
    /// A single message waits for this acknowledgement.
    AwaitingAck(&'static str),
    /// A batch is under way.
    Batch(BatchStatus),
    /// Everything is delivered; we are saying goodbye.
    Closing,
    /// A request (a shadow operation, `--wait-response`) waits for `waiting_for`: before its
    /// PUBLISH was written (`sent` false: subscribing), or after, acknowledged or not yet.
    Request(Box<Pending>),
}

/// What a request at QoS 0 got instead of an acknowledgement (`session::ack_name`): it was
/// written.
pub const QOS0_WRITTEN: &str = "written";

/// A request the broker acknowledged (or, at QoS 0, was sent), and how the connection ended
/// before its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconfirmed {
    pub broker: Broker,
    /// "the shadow update", "the request".
    pub what: String,
    /// The acknowledgement it got: PUBACK (QoS 1) or PUBCOMP (QoS 2); [`QOS0_WRITTEN`] at
    /// QoS 0.
    pub ack: &'static str,
    pub waiting_for: String,
    pub ending: Ending,
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Lost(Cause),
    /// The broker sent DISCONNECT; MQTT 5: with this reason.
    Disconnect {
        reason: Option<u8>,
        reason_string: Option<String>,
    },
}

/// A request under way: what it is ("the shadow update", "the request"), what it waits for,
/// whether its PUBLISH was written, and acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub what: String,
    /// The acknowledgement it waits for, or got: PUBACK (QoS 1) or PUBCOMP (QoS 2).
    pub ack: &'static str,
    pub waiting_for: String,
    pub sent: bool,
    pub acknowledged: bool,
}

impl Step {
    /// Whether the broker has accepted the connection (CONNACK) by this step.
    pub fn connected(&self) -> bool {
        matches!(
            self,
            Step::Sending
                | Step::AwaitingAck(_)
                | Step::Batch(_)
                | Step::Closing
                | Step::Request(_)
        )
    }
}

/// A batch's counts at the moment it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchStatus {
    pub acknowledged: u64,
    pub messages: u64,
    pub resume_from_line: u64,
}

/// Why retrying stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaveUp {
    NoRetriesLeft,
    PastTheDeadline,
}

/// The content cannot be read or used.
#[derive(Debug)]
pub enum InputError {
    Read {
        source: Source,
        /// The line being read, in a batch.
        line: Option<u64>,
        reason: String,
    },
    Directory {
        source: Source,
    },
    /// A message (or a batch line) larger than an MQTT packet holds; not read further.
    TooLarge {
        source: Source,
        line: Option<u64>,
        limit: usize,
    },
    /// `--payload-format utf8` and a payload that is not UTF-8.
    NotUtf8 {
        source: Source,
        line: Option<u64>,
    },
    /// A batch line that is not a message.
    Line {
        line: u64,
        problem: LineProblem,
    },
    /// A shadow request document that the shadow service would reject.
    Document {
        source: Source,
        problem: crate::shadow::DocumentProblem,
    },
    /// `-s` and nothing on stdin.
    EmptyStdin,
}

impl InputError {
    pub fn read(source: &Source, line: Option<u64>, error: &std::io::Error) -> Self {
        InputError::Read {
            source: source.clone(),
            line,
            reason: io_reason(error),
        }
    }
}

/// What is wrong with a line of a batch.
#[derive(Debug)]
pub enum LineProblem {
    NotJson(String),
    NotObject(JsonType),
    /// A key no line holds; `known`: the keys a line holds.
    UnknownKey {
        key: String,
        known: Vec<&'static str>,
    },
    NoTopic,
    NoContent,
    /// A value against the rule its config key follows (`"qos" on line 7 ...`).
    Value(ConfigError),
    TooLarge {
        limit: usize,
    },
}

impl From<ConfigError> for LineProblem {
    fn from(error: ConfigError) -> Self {
        LineProblem::Value(error)
    }
}

/// What a CONNACK return code means, in words a user can act on.
fn connack_meaning(code: u8) -> String {
    match code {
        1 => "unacceptable protocol version: the broker does not speak the MQTT version asked \
              for"
        .into(),
        2 => "identifier rejected: the broker does not accept this client id; try another \
              --client-id"
            .into(),
        3 => "server unavailable: the broker is up but not taking connections; try again later"
            .into(),
        4 => "bad user name or password: check --username and the password".into(),
        5 => "not authorized: check the username and password, or the client certificate and \
              the broker's access rules"
            .into(),
        other => {
            format!("a code MQTT 3.1.1 does not define ({other}); see the broker's documentation")
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(error) => write!(f, "{error}"),
            Error::Arguments(line) => write!(f, "{line} (see mqtt-send --help)"),
            Error::Panicked => f.write_str(
                "internal error (a bug in mqtt-send; please report it with the command that \
                 triggered it)",
            ),
            Error::Input(error) => write!(f, "{error}"),
            Error::TlsSetup(error) => write!(f, "{error}"),
            Error::Internal(what) => write!(f, "internal error: {what}"),
            Error::Resolve { broker, reason } => write!(
                f,
                "cannot resolve the broker host {} ({reason}): check the host name in the \
                 broker URL {broker}",
                broker.host
            ),
            Error::TcpRefused { broker, address } => write!(
                f,
                "connection refused by {address} ({broker}): is the broker running and \
                 listening on port {}?",
                broker.port
            ),
            Error::TcpFailed {
                broker,
                address,
                reason,
            } => write!(f, "cannot connect to {address} ({broker}): {reason}"),
            Error::NoAddress { broker } => write!(
                f,
                "the broker host {} has no address to connect to",
                broker.host
            ),
            Error::UnixFailed { broker, reason } => write!(
                f,
                "cannot connect to the Unix socket {} ({reason}): is the broker running and \
                 listening there (mosquitto: listener 0 {})?",
                broker.host, broker.host
            ),
            Error::Tls { broker, problem } => write!(f, "TLS with {broker} failed: {problem}"),
            Error::WebSocket { broker, problem } => websocket_words(f, broker, problem),
            Error::Proxy {
                broker,
                proxy,
                problem,
            } => proxy_words(f, broker, proxy, problem),
            Error::ClosedBeforeTls { broker, reason } => write!(
                f,
                "{broker} closed the connection before the TLS handshake began ({reason}; not a \
                 byte of TLS came back): is {} a TLS port? (plain MQTT is usually 1883: use \
                 tcp://), or the server turned this client away; nothing was sent",
                broker.port
            ),
            Error::BeforeConnAck {
                broker,
                cause,
                certificate,
            } => match cause {
                Cause::Closed { mid_packet: true } => write!(
                    f,
                    "{broker} sent part of a packet and closed the connection before CONNACK: \
                     is this an MQTT port?"
                ),
                Cause::Closed { mid_packet: false } => {
                    let turned_away = if *certificate {
                        " (on AWS IoT Core: a certificate that is not active, or a policy that \
                         does not allow iot:Connect for this client id)"
                    } else {
                        ""
                    };
                    write!(
                        f,
                        "{broker} closed the connection before answering CONNECT: wrong port, a \
                         TLS port reached with tcp://, or the broker turned this client \
                         away{turned_away}; nothing was published"
                    )
                }
                Cause::Malformed(what) => write!(
                    f,
                    "{broker} answered CONNECT with something that is not MQTT ({what}): is \
                     this an MQTT port?"
                ),
                Cause::Io(reason) => write!(
                    f,
                    "the connection to {broker} failed before CONNACK: {reason}"
                ),
            },
            Error::SilentToMqtt5 { broker, waited } => write!(
                f,
                "{broker} sent no CONNACK within {} s of an MQTT 5 CONNECT: it may speak MQTT \
                 3.1.1 only (try -V 3.1.1); nothing was published",
                waited.as_secs_f64()
            ),
            Error::NotConnAck { broker, packet } => write!(
                f,
                "{broker} answered CONNECT with {packet} instead of CONNACK: is this an MQTT \
                 3.1.1 broker port?"
            ),
            Error::Refused {
                broker,
                code,
                version: Version::V311,
                ..
            } => write!(
                f,
                "{broker} refused the connection: CONNACK return code {code} ({}); nothing was \
                 published",
                connack_meaning(*code)
            ),
            Error::Refused {
                broker,
                code,
                reason_string,
                server_reference,
                ..
            } => {
                write!(f, "{broker} refused the connection: ")?;
                reason_words(f, *code, reason_string)?;
                if let Some(other) = server_reference {
                    write!(f, "; the broker points to {other}")?;
                }
                f.write_str("; nothing was published")
            }
            Error::NeedsMqtt5 {
                refusal: Some(refusal),
                properties,
                ..
            } => write!(
                f,
                "{refusal}; mqtt-send did not fall back to MQTT 3.1.1, which cannot carry the MQTT \
                 5 properties asked for ({}): leave them out to publish over 3.1.1, or use a \
                 broker that speaks MQTT 5",
                properties.join(", ")
            ),
            Error::NeedsMqtt5 {
                broker,
                properties,
                refusal: None,
                line,
            } => {
                write!(
                    f,
                    "{broker} speaks MQTT 3.1.1 only (it refused MQTT 5) and the message"
                )?;
                if let Some(line) = line {
                    write!(f, " on line {line}")?;
                }
                write!(
                    f,
                    " sets MQTT 5 properties ({}) that 3.1.1 cannot carry: it was not sent",
                    properties.join(", ")
                )
            }
            Error::Rejected {
                broker,
                packet,
                reason,
                reason_string,
                line,
            } => {
                write!(f, "{broker} rejected the message")?;
                if let Some(line) = line {
                    write!(f, " on line {line}")?;
                }
                write!(f, " ({packet}): ")?;
                reason_words(f, *reason, reason_string)?;
                f.write_str("; it was not published")
            }
            Error::Limit {
                broker,
                limit,
                line,
            } => {
                let which = match line {
                    Some(line) => format!("the message on line {line}"),
                    None => "the message".to_string(),
                };
                match limit {
                    Limit::Qos { asked, max } => write!(
                        f,
                        "{broker} takes QoS {max} at most (its CONNACK says so) and {which} is \
                         QoS {asked}: it was not sent, nothing was published; try --qos {max}"
                    ),
                    Limit::Retain => write!(
                        f,
                        "{broker} does not support retained messages (its CONNACK says so) and \
                         {which} asks to be retained: it was not sent, nothing was published; \
                         leave out --retain"
                    ),
                    Limit::PacketSize { size, max } => write!(
                        f,
                        "{which} makes a packet of {size} bytes and {broker} takes packets of \
                         at most {max} bytes (its CONNACK says so): it was not sent"
                    ),
                }
            }
            Error::TimedOut { after, situation } => {
                write!(f, "timed out after {after} {situation}")
            }
            Error::Lost {
                broker,
                doing,
                cause,
                single,
                hints,
            } => {
                match cause {
                    Cause::Closed { mid_packet: false } => {
                        write!(f, "{broker} closed the connection while we were {doing}")?
                    }
                    Cause::Closed { mid_packet: true } => write!(
                        f,
                        "{broker} closed the connection in the middle of a packet while we were \
                         {doing}"
                    )?,
                    Cause::Malformed(detail) => write!(
                        f,
                        "{broker} sent a malformed packet while we were {doing} ({detail})"
                    )?,
                    Cause::Io(reason) => write!(
                        f,
                        "the connection to {broker} failed while we were {doing}: {reason}"
                    )?,
                }
                if !single {
                    return Ok(());
                }
                f.write_str(": the message was not acknowledged")?;
                match &hints[..] {
                    [] => Ok(()),
                    [hint] => write!(f, "; {hint}"),
                    [first, rest @ ..] => {
                        write!(f, "; possible causes: {first}")?;
                        rest.iter().try_for_each(|hint| write!(f, "; or {hint}"))
                    }
                }
            }
            Error::ResetAfterDisconnect { broker } => write!(
                f,
                "{broker} reset the connection after our DISCONNECT instead of closing it: the \
                 QoS 0 message may have been dropped (QoS 0 has no acknowledgement; use --qos 1 \
                 to know)"
            ),
            Error::Disconnected {
                broker,
                awaiting,
                reason,
                reason_string,
            } => {
                match awaiting {
                    Some(_) => write!(f, "{broker} sent DISCONNECT")?,
                    None => write!(f, "the broker sent DISCONNECT in the middle of the batch")?,
                }
                if let Some(code) = reason {
                    f.write_str(" (")?;
                    reason_words(f, *code, reason_string)?;
                    f.write_str(")")?;
                }
                match awaiting {
                    // A request subscribes before it publishes.
                    Some("SUBACK") => f.write_str(" instead of SUBACK: nothing was published"),
                    Some(ack) => write!(f, " instead of {ack}: the message was not acknowledged"),
                    None => Ok(()),
                }
            }
            Error::Interrupted { signal, situation } => {
                write!(f, "interrupted by {} {situation}", signal.name())
            }
            Error::SubscribeRefused {
                broker,
                filter,
                code,
                version,
                reason_string,
            } => {
                write!(f, "{broker} refused the subscription to {filter} (SUBACK ")?;
                match version {
                    Version::V5 => reason_words(f, *code, reason_string)?,
                    Version::V31 | Version::V311 => write!(f, "0x{code:02x}: failure")?,
                }
                f.write_str(
                    "); the answer could not be received, so nothing was published: check the \
                     broker's access rules (on AWS IoT Core, a policy allowing iot:Subscribe \
                     and iot:Receive on this topic)",
                )
            }
            Error::NoResponder {
                broker,
                packet,
                topic,
                waiting_for,
            } => write!(
                f,
                "{broker} acknowledged the request ({packet}) with no matching subscribers (0x10): \
                 nothing subscribes to {topic}, so no responder received the request and \
                 {waiting_for} cannot come; start the responder and send it again (it went \
                 nowhere)"
            ),
            Error::Unconfirmed(unconfirmed) => {
                let Unconfirmed {
                    broker,
                    what,
                    ack,
                    waiting_for,
                    ending,
                } = unconfirmed.as_ref();
                match *ack {
                    QOS0_WRITTEN => write!(
                        f,
                        "{broker} was sent {what} at QoS 0, which has no acknowledgement, then "
                    )?,
                    _ => write!(f, "{broker} acknowledged {what} ({ack}), then ")?,
                }
                match ending {
                    Ending::Lost(Cause::Closed { .. }) => f.write_str("closed the connection")?,
                    Ending::Lost(Cause::Malformed(what)) => {
                        write!(f, "sent a malformed packet ({what})")?
                    }
                    Ending::Lost(Cause::Io(reason)) => {
                        write!(f, "the connection failed ({reason})")?
                    }
                    Ending::Disconnect {
                        reason: Some(code),
                        reason_string,
                    } => {
                        f.write_str("sent DISCONNECT (")?;
                        reason_words(f, *code, reason_string)?;
                        f.write_str(")")?;
                    }
                    Ending::Disconnect { reason: None, .. } => f.write_str("sent DISCONNECT")?,
                }
                write!(
                    f,
                    " before {waiting_for} came: {what} was not confirmed; it may still take \
                     effect, so publishing it again is not safe: find out first whether it did \
                     (for a shadow, --shadow get)"
                )
            }
            Error::ServiceRejected {
                broker,
                request,
                code,
                message,
            } => {
                write!(f, "the service behind {broker} rejected {request}")?;
                match (code, message) {
                    (Some(code), Some(message)) => write!(f, ": {code} {message}")?,
                    (Some(code), None) => write!(f, ": {code}")?,
                    (None, Some(message)) => write!(f, ": {message}")?,
                    (None, None) => {}
                }
                if let Some(advice) = code.and_then(service_advice) {
                    write!(f, "; {advice}")?;
                }
                Ok(())
            }
            Error::Batch {
                error,
                status,
                stopped: true,
            } => write!(f, "{error}; the batch stopped there: {status}"),
            Error::Batch { error, status, .. } => write!(f, "{error}; {status}"),
            Error::GaveUp {
                error,
                attempts,
                why,
            } => {
                let why = match why {
                    GaveUp::NoRetriesLeft => "no retries left",
                    GaveUp::PastTheDeadline => "the next retry would pass the deadline",
                };
                write!(f, "{error} (gave up after {attempts} attempts: {why})")
            }
        }
    }
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hint::QosTooHigh => f.write_str(
                "brokers that allow at most QoS 1 (AWS IoT Core, mosquitto with max_qos 1) close \
                 the connection on a QoS 2 PUBLISH: try --qos 1",
            ),
            Hint::NotAllowed { aws: true } => f.write_str(
                "the broker rejected the publish: a policy that denies iot:Publish on this topic \
                 for this client",
            ),
            Hint::NotAllowed { aws: false } => f.write_str(
                "the broker rejected the publish: an access rule that does not let this client \
                 publish to this topic",
            ),
            Hint::TooLarge { bytes, aws: true } if *bytes > AWS_MAX_PAYLOAD => write!(
                f,
                "the message is {bytes} bytes and AWS IoT Core takes at most 131072 (128 KB)"
            ),
            Hint::TooLarge { bytes, .. } => write!(
                f,
                "the message is {bytes} bytes, more than some brokers take (AWS IoT Core 128 KB, \
                 rumqttd 20 KB by default, mosquitto's message_size_limit)"
            ),
            Hint::SameClientId { client_id } => write!(
                f,
                "another connection with the client id \"{client_id}\" took the session over (a \
                 fixed client id makes parallel runs disconnect each other: leave --client-id out \
                 for a generated one)"
            ),
        }
    }
}

impl fmt::Display for Doing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Doing::SendingPublish => f.write_str("sending the PUBLISH"),
            Doing::SendingPubRel => f.write_str("sending PUBREL"),
            Doing::WaitingFor(ack) => write!(f, "waiting for {ack}"),
            Doing::SendingBatch => f.write_str("sending the batch"),
            Doing::WaitingForAcknowledgements => f.write_str("waiting for acknowledgements"),
            Doing::Closing => f.write_str("closing the connection"),
            Doing::Subscribing => f.write_str(
                "subscribing to where the answer comes, before publishing anything (a broker \
                 that does not let this client subscribe there may close the connection: on AWS \
                 IoT Core, a policy without iot:Subscribe on the topic filter); nothing was \
                 published",
            ),
            Doing::WaitingForAnswer => f.write_str("waiting for the answer to the request"),
        }
    }
}

impl fmt::Display for Waited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.timeout.as_secs_f64();
        if self.waited < self.timeout.saturating_sub(Duration::from_millis(50)) {
            write!(
                f,
                "{:.1} s (this attempt's share of the {total} s --timeout)",
                self.waited.as_secs_f64()
            )
        } else {
            write!(f, "{total} s")
        }
    }
}

fn proxy_words(
    f: &mut fmt::Formatter<'_>,
    broker: &Broker,
    proxy: &str,
    problem: &ProxyProblem,
) -> fmt::Result {
    match problem {
        ProxyProblem::Resolve(reason) => write!(
            f,
            "cannot resolve the proxy {proxy} ({reason}): check --proxy or the proxy variable; \
             nothing was sent to {broker}"
        ),
        ProxyProblem::Refused(address) => write!(
            f,
            "the proxy {proxy} refused the connection ({address}): is it running?; nothing was \
             sent to {broker}"
        ),
        ProxyProblem::Failed(address, reason) => write!(
            f,
            "cannot connect to the proxy {proxy} at {address}: {reason}; nothing was sent to \
             {broker}"
        ),
        ProxyProblem::NoAddress => {
            write!(f, "the proxy {proxy} has no address to connect to")
        }
        ProxyProblem::Status {
            status: 401 | 407,
            line,
        } => write!(
            f,
            "the proxy {proxy} refused the tunnel to {broker}: HTTP {line}; give its user name \
             and password in the proxy URL (http://user:password@host:port); nothing was sent"
        ),
        ProxyProblem::Status { line, .. } => write!(
            f,
            "the proxy {proxy} refused the tunnel to {broker}: HTTP {line} (a proxy may allow \
             CONNECT to some ports only, e.g. 443); nothing was sent"
        ),
        ProxyProblem::NotHttp(first) => write!(
            f,
            "the proxy {proxy} did not answer CONNECT in HTTP (it sent \"{first}\"): is it an \
             HTTP proxy?; nothing was sent to {broker}"
        ),
        ProxyProblem::Closed => write!(
            f,
            "the proxy {proxy} closed the connection without answering CONNECT {}; nothing was \
             sent to {broker}",
            broker.address()
        ),
        ProxyProblem::Io(reason) => write!(
            f,
            "the connection to the proxy {proxy} failed before the tunnel to {broker} was open: \
             {reason}"
        ),
        ProxyProblem::ClosedInTunnel(step) => write!(
            f,
            "the proxy {proxy} opened the tunnel to {broker}, which then closed before {step}: \
             the proxy could not reach the broker after all, or the broker turned this client \
             away (is {} its port?); nothing was sent",
            broker.port
        ),
    }
}

fn websocket_words(
    f: &mut fmt::Formatter<'_>,
    broker: &Broker,
    problem: &WsProblem,
) -> fmt::Result {
    let path = broker.websocket.as_deref().map_or("/", String::as_str);
    match problem {
        WsProblem::Status {
            status: 401 | 403,
            line,
        } => {
            let aws = if broker.is_aws() {
                " (AWS IoT: --aws-sigv4 with credentials whose policy allows iot:Connect, or a \
                 custom authorizer)"
            } else {
                ""
            };
            write!(
                f,
                "{broker} refused the connection: HTTP {line} in answer to the WebSocket \
                 upgrade; check the credentials it wants{aws}; nothing was published"
            )
        }
        WsProblem::Status { status: 404, line } => write!(
            f,
            "{broker} answered the WebSocket upgrade with HTTP {line}: is {path} its WebSocket \
             path? (give the path in the URL, ws://host:port/path); nothing was published"
        ),
        WsProblem::Status { line, .. } => write!(
            f,
            "{broker} answered the WebSocket upgrade with HTTP {line} instead of 101 Switching \
             Protocols: is this a WebSocket port and path?; nothing was published"
        ),
        WsProblem::NotHttp(first) => write!(
            f,
            "{broker} did not answer the WebSocket upgrade in HTTP (it sent \"{first}\"): is \
             port {} a WebSocket port? (MQTT over TCP is tcp:// or ssl://); nothing was \
             published",
            broker.port
        ),
        WsProblem::Closed => write!(
            f,
            "{broker} closed the connection without answering the WebSocket upgrade: is port {} \
             a WebSocket port?; nothing was published",
            broker.port
        ),
        WsProblem::NotUpgraded => write!(
            f,
            "{broker} answered 101 without \"Upgrade: websocket\": not a WebSocket server; \
             nothing was published"
        ),
        WsProblem::BadAccept => write!(
            f,
            "{broker} answered the WebSocket upgrade with a wrong Sec-WebSocket-Accept: not a \
             WebSocket server, or something in between changed the answer; nothing was \
             published"
        ),
        WsProblem::Subprotocol(None) => write!(
            f,
            "{broker} accepted the WebSocket upgrade without the subprotocol \"mqtt\": it does \
             not serve MQTT at {path}; nothing was published"
        ),
        WsProblem::Subprotocol(Some(other)) => write!(
            f,
            "{broker} accepted the WebSocket upgrade with the subprotocol \"{other}\" instead \
             of \"mqtt\": it does not serve MQTT at {path}; nothing was published"
        ),
        WsProblem::Io(reason) => write!(
            f,
            "the connection to {broker} failed in the WebSocket upgrade: {reason}; nothing was \
             published"
        ),
    }
}

impl fmt::Display for Situation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let broker = match &self.broker {
            Some(broker) => broker.to_string(),
            None => "the broker".to_string(),
        };
        let host = match &self.broker {
            Some(broker) => broker.host.to_string(),
            None => "the broker".to_string(),
        };
        match &self.step {
            Step::Configuring => f.write_str(
                "reading the configuration (the config file, the password file); nothing was \
                 sent",
            ),
            Step::PreparingTls => f.write_str(
                "reading the TLS files (CA bundle, client certificate and key, or the system \
                 trust store); nothing was sent",
            ),
            Step::Reading(source) => write!(
                f,
                "reading the message from {}; nothing was sent",
                source.describe()
            ),
            Step::Resolving => write!(f, "resolving {host}; nothing was sent"),
            Step::Connecting(addresses) if addresses.is_empty() => {
                write!(f, "connecting to {broker}: no answer; nothing was sent")
            }
            Step::Connecting(addresses) => {
                let addresses: Vec<String> = addresses.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "connecting to {} ({broker}): no answer (a firewall, or the wrong host or \
                     port); nothing was sent",
                    addresses.join(", ")
                )
            }
            Step::TlsHandshake => write!(
                f,
                "in the TLS handshake with {broker} (is this a TLS port?); nothing was sent"
            ),
            Step::ToProxy(to) if to.1.is_empty() => write!(
                f,
                "resolving the proxy {} for {broker}; nothing was sent",
                to.0
            ),
            Step::ToProxy(to) => {
                let (proxy, addresses) = to.as_ref();
                let addresses: Vec<String> = addresses.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "connecting to the proxy {proxy} at {} for {broker}: no answer (a firewall, \
                     or the wrong proxy host or port); nothing was sent",
                    addresses.join(", ")
                )
            }
            Step::Tunnel => write!(
                f,
                "waiting for the proxy to open a tunnel to {broker}; nothing was sent"
            ),
            Step::WebSocketUpgrade => write!(
                f,
                "waiting for the answer to the WebSocket upgrade from {broker} (is this a \
                 WebSocket port?); nothing was sent"
            ),
            Step::AwaitingConnAck => write!(
                f,
                "waiting for CONNACK: {broker} accepted the connection but sent no CONNACK (is \
                 it an MQTT broker, and does it expect TLS on this port?); nothing was published"
            ),
            Step::Sending => write!(
                f,
                "sending the message to {broker}; the broker may or may not have it"
            ),
            Step::AwaitingAck(ack) => write!(
                f,
                "waiting for {ack} from {broker}; the broker may or may not have the message"
            ),
            Step::Batch(status) => write!(f, "sending a batch to {broker}; {status}"),
            Step::Closing => write!(
                f,
                "closing the connection to {broker}; the QoS 0 message may not have arrived"
            ),
            Step::Request(pending) if !pending.sent => write!(
                f,
                "subscribing to where {} comes, with {broker}; nothing was published",
                pending.waiting_for
            ),
            Step::Request(pending) => {
                let Pending {
                    what,
                    ack,
                    waiting_for,
                    acknowledged,
                    ..
                } = pending.as_ref();
                write!(f, "waiting for {waiting_for}: ")?;
                if *acknowledged {
                    write!(f, "{broker} acknowledged {what} ({ack})")?;
                } else if *ack == QOS0_WRITTEN {
                    write!(
                        f,
                        "{what} was sent to {broker} at QoS 0, which has no acknowledgement,"
                    )?;
                } else {
                    write!(f, "{what} was sent to {broker}, not yet acknowledged,")?;
                }
                f.write_str(
                    " but it was not confirmed; it may still take effect, so publishing it \
                     again is not safe: find out first whether it did (for a shadow, \
                     --shadow get)",
                )
            }
        }
    }
}

impl fmt::Display for BatchStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} message(s) sent were acknowledged; resume from line {}",
            self.acknowledged, self.messages, self.resume_from_line
        )
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Read {
                source: Source::Stdin,
                line: None,
                reason,
            } => write!(f, "cannot read the message from stdin: {reason}"),
            InputError::Read {
                source,
                line: Some(line),
                reason,
            } => write!(
                f,
                "cannot read line {line} of {}: {reason}",
                source.describe()
            ),
            InputError::Read { source, reason, .. } => {
                write!(f, "cannot read {}: {reason}", source.describe())
            }
            InputError::Directory { source } => {
                write!(f, "cannot read {}: it is a directory", source.describe())
            }
            InputError::TooLarge {
                source,
                line,
                limit,
            } => {
                match line {
                    Some(line) => write!(f, "line {line} of {}", source.describe())?,
                    None => write!(f, "the message from {}", source.describe())?,
                }
                write!(
                    f,
                    " is more than {limit} bytes; an MQTT packet holds at most \
                     {MAX_REMAINING_LENGTH} (topic and payload); nothing more was read"
                )
            }
            InputError::NotUtf8 { source, line } => {
                match line {
                    Some(line) => write!(f, "line {line} of {}", source.describe())?,
                    None => write!(f, "the message from {}", source.describe())?,
                }
                f.write_str(
                    " is not UTF-8, and --payload-format utf8 says it is: leave --payload-format \
                     out for binary payloads",
                )
            }
            InputError::EmptyStdin => f.write_str(
                "stdin is empty, and -s (--stdin-file) sends no empty message, as with \
                 mosquitto_pub; nothing was sent: -n sends an empty message, -f - whatever stdin \
                 holds",
            ),
            InputError::Document { source, problem } => write!(
                f,
                "the shadow document from {} {problem}; nothing was sent",
                source.describe()
            ),
            InputError::Line { line, problem } => match problem {
                LineProblem::NotJson(detail) => {
                    write!(f, "line {line} is not valid JSON: {detail}")
                }
                LineProblem::NotObject(got) => write!(
                    f,
                    "line {line} must be a JSON object such as {{\"topic\": \"a/b\", \
                     \"content\": \"...\"}}, not {got}"
                ),
                LineProblem::UnknownKey { key, known } => {
                    write!(f, "line {line} has an unknown key \"{key}\"; a line holds ")?;
                    let quoted: Vec<String> =
                        known.iter().map(|key| format!("\"{key}\"")).collect();
                    match quoted.split_last() {
                        Some((last, [])) => f.write_str(last),
                        Some((last, rest)) => write!(f, "{} and {last}", rest.join(", ")),
                        None => f.write_str("nothing"),
                    }
                }
                LineProblem::NoTopic => write!(
                    f,
                    "line {line} has no \"topic\" and no --topic gives a default"
                ),
                LineProblem::NoContent => write!(f, "line {line} has no \"content\""),
                LineProblem::Value(error) => write!(f, "{error}"),
                LineProblem::TooLarge { limit } => write!(
                    f,
                    "the content on line {line} is more than {limit} bytes; an MQTT packet \
                     holds at most {MAX_REMAINING_LENGTH} (topic and payload)"
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker() -> Broker {
        crate::broker::parse("tcp://127.0.0.1:1883").unwrap()
    }

    #[test]
    fn each_failure_has_its_class() {
        let broker = broker();
        let cases: Vec<(Error, u8)> = vec![
            (Error::Internal("x".into()), 1),
            (
                Error::Input(InputError::Line {
                    line: 3,
                    problem: LineProblem::NoContent,
                }),
                2,
            ),
            (
                Error::Resolve {
                    broker: broker.clone(),
                    reason: "x".into(),
                },
                3,
            ),
            (
                Error::Tls {
                    broker: broker.clone(),
                    problem: TlsProblem::Expired,
                },
                4,
            ),
            (
                Error::Refused {
                    broker: broker.clone(),
                    code: 5,
                    version: Version::V311,
                    reason_string: None,
                    server_reference: None,
                },
                5,
            ),
            (
                Error::Rejected {
                    broker: broker.clone(),
                    packet: "PUBACK",
                    reason: 0x87,
                    reason_string: None,
                    line: None,
                },
                7,
            ),
            (
                Error::Limit {
                    broker: broker.clone(),
                    limit: Limit::Qos { asked: 2, max: 1 },
                    line: None,
                },
                7,
            ),
            (
                Error::Limit {
                    broker: broker.clone(),
                    limit: Limit::PacketSize { size: 20, max: 10 },
                    line: None,
                },
                2,
            ),
            (
                Error::Lost {
                    broker: broker.clone(),
                    doing: Doing::SendingBatch,
                    cause: Cause::Closed { mid_packet: false },
                    single: false,
                    hints: Box::default(),
                },
                7,
            ),
            (
                Error::Interrupted {
                    signal: Signal::Terminate,
                    situation: Situation {
                        broker: Some(broker.clone()),
                        step: Step::Resolving,
                    },
                },
                143,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.class().exit_code(), code, "{error:?}");
            let wrapped = Error::GaveUp {
                error: Box::new(error),
                attempts: 2,
                why: GaveUp::NoRetriesLeft,
            };
            assert_eq!(wrapped.class().exit_code(), code);
        }
    }

    #[test]
    fn reason_codes_have_names_and_the_brokers_words_follow() {
        assert_eq!(reason_name(0x87), "not authorized");
        assert_eq!(reason_name(0x10), "no matching subscribers");
        assert_eq!(reason_name(0x7f), "a reason code MQTT 5 does not define");
        let broker = broker();
        let rejected = Error::Rejected {
            broker,
            packet: "PUBACK",
            reason: 0x87,
            reason_string: Some("denied by ACL".into()),
            line: Some(3),
        };
        assert_eq!(
            rejected.to_string(),
            "tcp://127.0.0.1:1883 rejected the message on line 3 (PUBACK): not authorized \
             (0x87), the broker says \"denied by ACL\"; check the username and password or \
             client certificate, and the broker's access rules for this client and topic; it \
             was not published"
        );
        assert_eq!(rejected.reason_code(), Some(0x87));
    }

    #[test]
    fn connack_codes_have_meanings() {
        assert!(connack_meaning(4).contains("bad user name or password"));
        assert!(connack_meaning(5).contains("not authorized"));
        assert!(connack_meaning(7).contains("does not define (7)"));
    }

    #[test]
    fn a_deadline_share_says_so() {
        let share = Waited {
            waited: Duration::from_secs(2),
            timeout: Duration::from_secs(6),
        };
        assert_eq!(
            share.to_string(),
            "2.0 s (this attempt's share of the 6 s --timeout)"
        );
        let whole = Waited {
            waited: Duration::from_secs(6),
            timeout: Duration::from_secs(6),
        };
        assert_eq!(whole.to_string(), "6 s");
    }
}
