//! Every way a run can fail, as data: each variant carries the facts (the broker, the file, the
//! line, what we were waiting for), its class (and so its exit code) is decided here, and the
//! sentences a user reads are written here and nowhere else.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::broker::Broker;
use crate::config::Source;
use crate::files::io_reason;
use crate::message::{MAX_REMAINING_LENGTH, Qos};
use crate::outcome::Class;
use crate::signals::Signal;

mod config;
mod tls;

pub use config::{ConfigError, Field, Got, JsonType, Kind, Origin, Problem, RedactedUrl, UrlError};
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
    Tls {
        broker: Broker,
        problem: TlsProblem,
    },
    /// The connection failed before the broker accepted us.
    BeforeConnAck {
        broker: Broker,
        cause: Cause,
        /// A client certificate was sent (the broker may have turned it away).
        certificate: bool,
    },
    /// The broker answered CONNECT with another packet.
    NotConnAck {
        broker: Broker,
        packet: &'static str,
    },
    /// CONNACK with a non-zero return code.
    Refused {
        broker: Broker,
        code: u8,
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
        /// A single message: its QoS, for a hint at why. `None` in a batch.
        single: Option<Qos>,
    },
    /// The broker sent DISCONNECT while something was still to be acknowledged.
    Disconnected {
        broker: Broker,
        /// A single message: the acknowledgement it waited for. `None` in a batch.
        awaiting: Option<&'static str>,
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
    /// The last of several attempts failed.
    GaveUp {
        error: Box<Error>,
        attempts: u32,
        why: GaveUp,
    },
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
            | Error::BeforeConnAck { .. }
            | Error::NotConnAck { .. } => Class::Connect,
            Error::Tls { .. } => Class::Tls,
            Error::Refused { .. } => Class::Refused,
            Error::TimedOut { .. } => Class::Timeout,
            Error::Lost { .. } | Error::Disconnected { .. } => Class::Dropped,
            Error::Interrupted { signal, .. } => signal.class(),
            Error::Batch { error, .. } | Error::GaveUp { error, .. } => error.class(),
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

/// What we were doing when the connection failed after CONNACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doing {
    SendingPublish,
    SendingPubRel,
    WaitingFor(&'static str),
    SendingBatch,
    WaitingForAcknowledgements,
    Closing,
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
    pub broker: Broker,
    pub step: Step,
}

/// A step of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Reading(Source),
    Resolving,
    Connecting(SocketAddr),
    TlsHandshake,
    AwaitingConnAck,
    /// A single message is being written.
    Sending,
    /// A single message waits for this acknowledgement.
    AwaitingAck(&'static str),
    /// A batch is under way.
    Batch(BatchStatus),
    /// Everything is delivered; we are saying goodbye.
    Closing,
}

impl Step {
    /// Whether the broker has accepted the connection (CONNACK) by this step.
    pub fn connected(&self) -> bool {
        matches!(
            self,
            Step::Sending | Step::AwaitingAck(_) | Step::Batch(_) | Step::Closing
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
    /// A batch line that is not a message.
    Line {
        line: u64,
        problem: LineProblem,
    },
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
    UnknownKey(String),
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
        1 => "unacceptable protocol version: the broker does not speak MQTT 3.1.1".into(),
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
            Error::Tls { broker, problem } => write!(f, "TLS with {broker} failed: {problem}"),
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
            Error::NotConnAck { broker, packet } => write!(
                f,
                "{broker} answered CONNECT with {packet} instead of CONNACK: is this an MQTT \
                 3.1.1 broker port?"
            ),
            Error::Refused { broker, code } => write!(
                f,
                "{broker} refused the connection: CONNACK return code {code} ({}); nothing was \
                 published",
                connack_meaning(*code)
            ),
            Error::TimedOut { after, situation } => {
                write!(f, "timed out after {after} {situation}")
            }
            Error::Lost {
                broker,
                doing,
                cause,
                single,
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
                let Some(qos) = single else {
                    return Ok(());
                };
                f.write_str(": the message was not acknowledged")?;
                f.write_str(match qos {
                    Qos::ExactlyOnce => {
                        "; brokers that allow at most QoS 1 (AWS IoT Core, mosquitto with \
                         max_qos 1) close the connection on a QoS 2 PUBLISH: try --qos 1"
                    }
                    Qos::AtLeastOnce => {
                        "; the broker rejected the publish (on AWS IoT Core: a policy that \
                         denies iot:Publish on this topic, or a payload over 128 KB)"
                    }
                    Qos::AtMostOnce => "",
                })
            }
            Error::Disconnected { broker, awaiting } => match awaiting {
                Some(ack) => write!(
                    f,
                    "{broker} sent DISCONNECT instead of {ack}: the message was not acknowledged"
                ),
                None => write!(f, "the broker sent DISCONNECT in the middle of the batch"),
            },
            Error::Interrupted { signal, situation } => {
                write!(f, "interrupted by {} {situation}", signal.name())
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

impl fmt::Display for Doing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Doing::SendingPublish => f.write_str("sending the PUBLISH"),
            Doing::SendingPubRel => f.write_str("sending PUBREL"),
            Doing::WaitingFor(ack) => write!(f, "waiting for {ack}"),
            Doing::SendingBatch => f.write_str("sending the batch"),
            Doing::WaitingForAcknowledgements => f.write_str("waiting for acknowledgements"),
            Doing::Closing => f.write_str("closing the connection"),
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

impl fmt::Display for Situation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let broker = &self.broker;
        match &self.step {
            Step::Reading(source) => write!(
                f,
                "reading the message from {}; nothing was sent",
                source.describe()
            ),
            Step::Resolving => write!(f, "resolving {}; nothing was sent", broker.host),
            Step::Connecting(address) => write!(
                f,
                "connecting to {address} ({broker}): no answer (a firewall, or the wrong host \
                 or port); nothing was sent"
            ),
            Step::TlsHandshake => write!(
                f,
                "in the TLS handshake with {broker} (is this a TLS port?); nothing was sent"
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
            InputError::Line { line, problem } => match problem {
                LineProblem::NotJson(detail) => {
                    write!(f, "line {line} is not valid JSON: {detail}")
                }
                LineProblem::NotObject(got) => write!(
                    f,
                    "line {line} must be a JSON object {{\"topic\", \"content\", \"qos\", \
                     \"retain\"}}, not {got}"
                ),
                LineProblem::UnknownKey(key) => write!(
                    f,
                    "line {line} has an unknown key \"{key}\"; a line holds \"topic\", \
                     \"content\", \"qos\" and \"retain\""
                ),
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
                },
                5,
            ),
            (
                Error::Lost {
                    broker: broker.clone(),
                    doing: Doing::SendingBatch,
                    cause: Cause::Closed { mid_packet: false },
                    single: None,
                },
                7,
            ),
            (
                Error::Interrupted {
                    signal: Signal::Terminate,
                    situation: Situation {
                        broker: broker.clone(),
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
