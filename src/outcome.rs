//! What happened, as a script sees it: the failure classes, their exit codes, and the one JSON
//! meta object printed on stdout. Every exit status of mqtt-send is decided here and nowhere else.

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use crate::error::Error;
use crate::message::Qos;
use crate::state::TopicSummary;

/// Why a run did not publish. Each class is one exit code (see the README's exit codes), so a script can tell
/// "network down, retry" from "bad certificate, page someone".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// A bug in mqtt-send.
    Internal,
    /// Bad flag, config file, value, or unreadable input; nothing was sent.
    Usage,
    /// DNS, TCP, or a peer that closed or spoke something other than MQTT before CONNACK.
    Connect,
    /// The TLS handshake or the TLS session failed before the broker accepted us.
    Tls,
    /// The broker answered CONNECT with a non-zero CONNACK return code.
    Refused,
    /// The deadline (`--timeout`) passed first.
    Timeout,
    /// The broker dropped or rejected the publish after accepting the connection.
    Dropped,
    /// The broker took the request and the service that handles it said no (a shadow update
    /// rejected by AWS IoT's shadow service).
    Service,
    /// SIGINT (Ctrl-C).
    Interrupted,
    /// SIGTERM.
    Terminated,
}

impl Class {
    /// Every class, in exit-code order (for the man page).
    pub const ALL: [Class; 10] = [
        Class::Internal,
        Class::Usage,
        Class::Connect,
        Class::Tls,
        Class::Refused,
        Class::Timeout,
        Class::Dropped,
        Class::Service,
        Class::Interrupted,
        Class::Terminated,
    ];

    /// What the exit code tells a script (for the man page).
    pub fn meaning(self) -> &'static str {
        match self {
            Class::Internal => {
                "internal error (a bug in mqtt-send); whether anything was published is unknown"
            }
            Class::Usage => {
                "usage or configuration error: bad flag, unreadable or malformed config, invalid value, missing topic or content, unreadable or unusable CA, certificate or key; nothing was sent"
            }
            Class::Connect => {
                "could not connect: DNS, TCP refused or unreachable, the peer closed or spoke something other than MQTT before CONNACK; nothing was sent"
            }
            Class::Tls => {
                "TLS failed: untrusted, expired or wrong-host server certificate, client certificate wanted or rejected, ALPN refused; nothing was sent"
            }
            Class::Refused => {
                "the broker refused the connection (CONNACK return code: bad user name or password, not authorized, identifier rejected, server unavailable, or any other); nothing was sent"
            }
            Class::Timeout => {
                "timed out: no CONNACK, PUBACK or PUBCOMP before --timeout; the message may or may not have been published"
            }
            Class::Dropped => {
                "the broker dropped or rejected the publish after accepting the connection (e.g. QoS 2 to a broker that allows QoS 1 at most); not acknowledged"
            }
            Class::Service => {
                "the service rejected the request: the broker took the message and the service that handles it said no (an AWS IoT shadow update rejected: version conflict, bad document, too large, throttled); the meta object's \"shadow\" has its code and message"
            }
            Class::Interrupted => "interrupted by SIGINT; the meta object says how far the run got",
            Class::Terminated => "terminated by SIGTERM; the meta object says how far the run got",
        }
    }

    /// The process exit status (and the meta object's `exit-code`) for this class.
    pub fn exit_code(self) -> u8 {
        match self {
            Class::Internal => 1,
            Class::Usage => 2,
            Class::Connect => 3,
            Class::Tls => 4,
            Class::Refused => 5,
            Class::Timeout => 6,
            Class::Dropped => 7,
            Class::Service => 8,
            Class::Interrupted => 130,
            Class::Terminated => 143,
        }
    }
}

/// Facts about the run that the meta object reports next to `exit-code` and `message`.
/// Each is filled in once it is known; unknown ones are left out of the JSON.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The MQTT version spoken ("5" or "3.1.1"), once the broker accepted the connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retain: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// The reason code the broker gave (MQTT 5), and its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Batch mode, MQTT 5: messages the broker said no one subscribes to (reason 0x10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_matching_subscribers: Option<u64>,
    /// Connection attempts made (more than one with --retries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Batch mode: messages sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
    /// The QoS the broker acknowledged at, where it is lower than the one asked for (a QoS 2
    /// message answered with PUBACK).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged_qos: Option<u8>,
    /// Batch mode: messages the broker acknowledged (QoS 1 and 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<u64>,
    /// Batch mode, on failure: the first input line not known to be acknowledged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_from_line: Option<u64>,
    /// A shadow request's answer: version, timestamp, state (accepted); code, message
    /// (rejected); client-token. Nested, so AWS's "message" stays apart from ours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<crate::json::Json>,
    /// `--wait-response`: `response` (UTF-8) or `response-base64`, `response-topic` and
    /// `response-properties`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub response: Option<crate::json::Json>,
}

/// What a successful run delivered, for its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    One {
        bytes: usize,
        topic: String,
        qos: Qos,
        /// A QoS 2 message the broker answered with PUBACK: it took it at QoS 1.
        taken_at_qos1: bool,
    },
    Batch {
        messages: u64,
        bytes: u64,
        topics: TopicSummary,
        /// The QoS of every line (`--lines`); `None` when lines choose their own (`--ndjson`).
        qos: Option<Qos>,
        any_qos0: bool,
        /// QoS 2 messages the broker answered with PUBACK, taking them at QoS 1.
        taken_at_qos1: u64,
    },
    /// The shadow service accepted the request.
    Shadow {
        operation: &'static str,
        /// "the classic shadow of thing \"lamp\"".
        shadow: String,
        version: Option<u64>,
    },
    /// A request's response arrived.
    Response {
        bytes: usize,
        topic: String,
        response_topic: String,
        response_bytes: usize,
    },
}

/// "1 byte", "2 bytes".
fn bytes(count: u64) -> String {
    if count == 1 {
        "1 byte".to_string()
    } else {
        format!("{count} bytes")
    }
}

impl fmt::Display for Delivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Delivered::One {
                bytes: size,
                topic,
                qos,
                taken_at_qos1,
            } => {
                write!(
                    f,
                    "published {} to {topic} at QoS {qos}: ",
                    bytes(*size as u64)
                )?;
                f.write_str(match (qos, taken_at_qos1) {
                    (Qos::AtMostOnce, _) => {
                        "written to the connection, which closed cleanly (QoS 0 has no \
                         acknowledgement)"
                    }
                    (Qos::ExactlyOnce, true) => {
                        "acknowledged (PUBACK): the broker took it at QoS 1, not 2 (it does not \
                         support QoS 2)"
                    }
                    (Qos::AtLeastOnce, _) => "acknowledged (PUBACK)",
                    (Qos::ExactlyOnce, false) => "acknowledged (PUBCOMP)",
                })
            }
            Delivered::Batch {
                messages,
                bytes: size,
                topics,
                qos,
                any_qos0,
                taken_at_qos1,
            } => {
                write!(f, "published {messages} message(s), {}, to ", bytes(*size))?;
                match topics {
                    TopicSummary::One(topic) => f.write_str(topic)?,
                    TopicSummary::Many { count, more: false } => write!(f, "{count} topics")?,
                    TopicSummary::Many { count, more: true } => {
                        write!(f, "more than {count} topics")?
                    }
                }
                if let Some(qos) = qos {
                    write!(f, " at QoS {qos}")?;
                }
                f.write_str(": all acknowledged")?;
                if *messages == 0 {
                    f.write_str(" (the input had no messages)")?;
                } else if *any_qos0 {
                    f.write_str(" (QoS 0 messages: written, and the connection closed cleanly)")?;
                }
                if *taken_at_qos1 > 0 {
                    write!(
                        f,
                        " ({taken_at_qos1} QoS 2 message(s) taken at QoS 1: the broker does not \
                         support QoS 2)"
                    )?;
                }
                Ok(())
            }
            Delivered::Shadow {
                operation,
                shadow,
                version,
            } => {
                write!(f, "the shadow service accepted the {operation} of {shadow}")?;
                match version {
                    Some(version) => write!(f, " (version {version})"),
                    None => Ok(()),
                }
            }
            Delivered::Response {
                bytes: size,
                topic,
                response_topic,
                response_bytes,
            } => write!(
                f,
                "published {} to {topic} and received a response of {} on {response_topic}",
                bytes(*size as u64),
                bytes(*response_bytes as u64)
            ),
        }
    }
}

/// The end of a run: success or a failure, plus what we know. Printed once, then exit.
#[derive(Debug)]
pub struct Outcome {
    pub result: Result<Delivered, Error>,
    pub details: Details,
}

#[derive(Serialize)]
struct Meta<'a> {
    #[serde(rename = "exit-code")]
    exit_code: u8,
    message: &'a str,
    #[serde(flatten)]
    details: &'a Details,
}

impl Outcome {
    pub fn success(delivered: Delivered, details: Details) -> Self {
        Outcome {
            result: Ok(delivered),
            details,
        }
    }

    pub fn failure(error: impl Into<Error>, details: Details) -> Self {
        Outcome {
            result: Err(error.into()),
            details,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match &self.result {
            Ok(_) => 0,
            Err(error) => error.class().exit_code(),
        }
    }

    fn message(&self) -> String {
        match &self.result {
            Ok(delivered) => delivered.to_string(),
            Err(error) => error.to_string(),
        }
    }

    /// The meta object, one line of JSON.
    pub fn meta_json(&self) -> String {
        let message = self.message();
        let meta = Meta {
            exit_code: self.exit_code(),
            message: &message,
            details: &self.details,
        };
        serde_json::to_string(&meta).unwrap_or_else(|_| {
            // Serializing strings and numbers cannot fail; keep a valid object regardless.
            format!("{{\"exit-code\":{},\"message\":\"\"}}", self.exit_code())
        })
    }

    /// Print the meta object on stdout (the failure's sentence also on stderr, for people
    /// reading a terminal or a cron mail) and return the exit status.
    pub fn report(self) -> ExitCode {
        if let Err(error) = &self.result {
            crate::log::say!("{error}");
        }
        print_meta(&self.meta_json());
        ExitCode::from(self.exit_code())
    }
}

fn print_meta(line: &str) {
    if crate::log::silenced() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (e.g. `| head -0`) must not turn into a panic; the exit status still speaks.
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// A clap parse error (bad flag, bad value): clap's own message on stderr, exit 2, and the meta
/// object on stdout so a script that reads stdout still gets one. `--help` and `--version` print
/// and exit 0 with no meta object. The error comes from `config`, which has already taken every
/// password out of its words (`redact::clap_error`).
pub fn clap_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        _ => {
            if !crate::log::silenced() {
                let _ = error.print();
            }
            let rendered = error.render().to_string();
            let first_line = rendered
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            let outcome =
                Outcome::failure(Error::Arguments(first_line.to_string()), Details::default());
            print_meta(&outcome.meta_json());
            ExitCode::from(Class::Usage.exit_code())
        }
    }
}

/// A panic is a bug: still print one meta object (exit-code 1) and exit 1 instead of Rust's 101.
pub fn install_panic_hook() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        let outcome = Outcome::failure(Error::Panicked, Details::default());
        print_meta(&outcome.meta_json());
        std::process::exit(i32::from(Class::Internal.exit_code()));
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_the_spec_exit_code() {
        let table = [
            (Class::Internal, 1),
            (Class::Usage, 2),
            (Class::Connect, 3),
            (Class::Tls, 4),
            (Class::Refused, 5),
            (Class::Timeout, 6),
            (Class::Dropped, 7),
            (Class::Service, 8),
            (Class::Interrupted, 130),
            (Class::Terminated, 143),
        ];
        for (class, code) in table {
            assert_eq!(class.exit_code(), code, "{class:?}");
        }
    }

    #[test]
    fn meta_object_has_exit_code_first_and_omits_unknown_details() {
        let outcome = Outcome::failure(
            Error::Arguments("unexpected argument '--x'".into()),
            Details {
                topic: Some("a/b".into()),
                ..Details::default()
            },
        );
        assert_eq!(
            outcome.meta_json(),
            r#"{"exit-code":2,"message":"unexpected argument '--x' (see mqtt-send --help)","topic":"a/b"}"#
        );
    }

    #[test]
    fn success_is_exit_code_zero() {
        let delivered = Delivered::One {
            bytes: 1,
            topic: "t".into(),
            qos: Qos::AtLeastOnce,
            taken_at_qos1: false,
        };
        let outcome = Outcome::success(delivered, Details::default());
        assert_eq!(outcome.exit_code(), 0);
        assert_eq!(
            outcome.meta_json(),
            r#"{"exit-code":0,"message":"published 1 byte to t at QoS 1: acknowledged (PUBACK)"}"#
        );
    }

    #[test]
    fn a_batch_names_its_topics_and_qos() {
        let batch = |topics, qos, messages, any_qos0| Delivered::Batch {
            messages,
            bytes: 10,
            topics,
            qos,
            any_qos0,
            taken_at_qos1: 0,
        };
        assert_eq!(
            batch(
                TopicSummary::One("a".into()),
                Some(Qos::AtLeastOnce),
                2,
                false
            )
            .to_string(),
            "published 2 message(s), 10 bytes, to a at QoS 1: all acknowledged"
        );
        assert_eq!(
            batch(
                TopicSummary::Many {
                    count: 4,
                    more: false
                },
                None,
                4,
                true
            )
            .to_string(),
            "published 4 message(s), 10 bytes, to 4 topics: all acknowledged (QoS 0 messages: \
             written, and the connection closed cleanly)"
        );
        assert!(
            batch(
                TopicSummary::Many {
                    count: 0,
                    more: false
                },
                None,
                0,
                false
            )
            .to_string()
            .ends_with("(the input had no messages)")
        );
    }
}
