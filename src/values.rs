//! The rules an option's value follows: one function per kind of value, text in, the typed
//! value or the [`Problem`] out. clap calls them as value parsers for the flags, and `config`
//! runs every config-file and environment value through the same clap parser, so each rule is
//! written once and holds for every way of giving the value.

use std::fmt;
use std::time::Duration;

use crate::message::{Qos, Version};

use crate::broker::{self, Broker, Host};
use crate::error::{Field, MqttUrlProblem, Problem, PropertyRefusal, RedactedUrl};

/// The longest `--timeout`: a year.
pub const MAX_TIMEOUT_SECS: f64 = 365.0 * 24.0 * 3600.0;
pub const MAX_RETRIES: u64 = 1000;
/// MQTT 3.1.1 strings (topic, client id, username, password) are at most 65535 bytes.
pub const MAX_MQTT_STRING: usize = 65_535;
/// ALPN protocol names are 1 to 255 bytes (RFC 7301).
const MAX_ALPN: usize = 255;
/// The values `--qos` takes, for the help and the completions.
pub const QOS_LEVELS: &[&str] = &["0", "1", "2"];
/// The names `-V` takes: ours and mosquitto_pub's.
pub const PROTOCOL_VERSIONS: &[&str] = &[
    "5", "mqttv5", "3.1.1", "311", "mqttv311", "3.1", "31", "mqttv31",
];
/// The names `--tls-version` takes (mosquitto_pub's).
pub const TLS_VERSIONS: &[&str] = &["tlsv1.3", "tlsv1.2", "tlsv1.1"];
/// The longest keep-alive MQTT can say.
pub const MAX_KEEPALIVE: u32 = 65_535;
/// The most times `--repeat` publishes a message.
pub const MAX_REPEAT: u64 = 1_000_000;
/// The one payload format `--payload-format` takes.
pub const PAYLOAD_FORMATS: &[&str] = &["utf8"];

/// 0, 1 or 2.
pub fn qos(text: &str) -> Result<Qos, Problem> {
    match text.trim() {
        "0" => Ok(Qos::AtMostOnce),
        "1" => Ok(Qos::AtLeastOnce),
        "2" => Ok(Qos::ExactlyOnce),
        _ => Err(Problem::Qos),
    }
}

/// Seconds, fractions allowed: more than 0, at most a year.
pub fn seconds(text: &str) -> Result<Duration, Problem> {
    match text.trim().parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= MAX_TIMEOUT_SECS => {
            Ok(Duration::from_secs_f64(seconds))
        }
        _ => Err(Problem::Seconds),
    }
}

/// A whole number of retries, 0 to [`MAX_RETRIES`].
pub fn retries(text: &str) -> Result<u32, Problem> {
    match text.trim().parse::<u64>() {
        Ok(count) if count <= MAX_RETRIES => Ok(count as u32),
        _ => Err(Problem::Retries { max: MAX_RETRIES }),
    }
}

pub fn broker(text: &str) -> Result<Broker, Problem> {
    broker::parse(text).map_err(|error| Problem::Url(Box::new(error)))
}

/// An HTTP proxy URL for `--proxy` (its credentials never shown).
pub fn proxy(text: &str) -> Result<crate::proxy::Proxy, Problem> {
    crate::proxy::parse(text)
}

/// A custom authorizer's name or a token signature: not empty, no NUL.
pub fn authorizer(text: &str) -> Result<String, Problem> {
    if text.is_empty() {
        return Err(Problem::Authorizer);
    }
    Ok(text.to_string())
}

/// A custom authorizer's token: `KEY=VALUE`, the token key name (not empty) and the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerToken {
    pub key: String,
    pub value: String,
}

pub fn authorizer_token(text: &str) -> Result<AuthorizerToken, Problem> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok(AuthorizerToken {
            key: key.to_string(),
            value: value.to_string(),
        }),
        _ => Err(Problem::AuthorizerToken),
    }
}

/// A broker host for `--host`: a name or an IP address (IPv6 with or without brackets).
pub fn host(text: &str) -> Result<Host, Problem> {
    broker::parse_host(text).ok_or_else(|| Problem::Host {
        shown: RedactedUrl::new(text),
    })
}

/// A TCP port, 1 to 65535.
pub fn port(text: &str) -> Result<u16, Problem> {
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(Problem::Port),
    }
}

/// A topic we may publish to: not empty, no wildcards, no NUL, at most 65535 bytes.
pub fn topic(text: &str) -> Result<String, Problem> {
    if text.is_empty() {
        return Err(Problem::TopicEmpty);
    }
    if text.contains(['+', '#']) {
        return Err(Problem::TopicWildcard);
    }
    mqtt_string(text, Field::Topic)
}

/// A client id: an MQTT string. It may be empty: MQTT 3.1.1 lets the broker assign one to a
/// client that asks for a clean session, as mqtt-send always does (leave the option out to get
/// a generated one instead).
pub fn client_id(text: &str) -> Result<String, Problem> {
    mqtt_string(text, Field::ClientId)
}

pub fn username(text: &str) -> Result<String, Problem> {
    mqtt_string(text, Field::Username)
}

/// A password: at most 65535 bytes.
pub fn password(text: &str) -> Result<Secret, Problem> {
    check_length(text, Field::Password)?;
    Ok(Secret(text.to_string()))
}

/// One ALPN protocol name.
pub fn alpn(text: &str) -> Result<String, Problem> {
    if text.is_empty() || text.len() > MAX_ALPN {
        return Err(Problem::Alpn);
    }
    Ok(text.to_string())
}

/// An MQTT version, as mosquitto_pub's `-V` names it: 5, 3.1.1 or 3.1.
pub fn protocol_version(text: &str) -> Result<Version, Problem> {
    match text.trim() {
        "5" | "mqttv5" => Ok(Version::V5),
        "3.1.1" | "311" | "mqttv311" => Ok(Version::V311),
        "3.1" | "31" | "mqttv31" => Ok(Version::V31),
        _ => Err(Problem::ProtocolVersion),
    }
}

/// A user property as `KEY=VALUE`: the key is everything before the first `=`.
pub fn user_property(text: &str) -> Result<UserProperty, Problem> {
    let (key, value) = text.split_once('=').ok_or(Problem::UserPropertyForm)?;
    user_property_pair(key, value)
}

/// A user property given as a key and a value (JSON): the same rule as `KEY=VALUE`, so the key
/// is not empty and holds no `=`; both are MQTT strings.
pub fn user_property_pair(key: &str, value: &str) -> Result<UserProperty, Problem> {
    if key.is_empty() || key.contains('=') {
        return Err(Problem::UserPropertyKey);
    }
    Ok(UserProperty {
        key: mqtt_string(key, Field::UserPropertyKey)?,
        value: mqtt_string(value, Field::UserPropertyValue)?,
    })
}

/// A content type (a MIME type, by convention): an MQTT string.
pub fn content_type(text: &str) -> Result<String, Problem> {
    mqtt_string(text, Field::ContentType)
}

/// A Message Expiry Interval: 1 second to the most MQTT 5 carries (about 136 years). 0 is
/// refused: brokers differ on whether it means "never" or "at once", and leaving the option out
/// says "never".
pub fn message_expiry(text: &str) -> Result<u32, Problem> {
    match text.trim().parse::<u64>() {
        Ok(seconds) if seconds > 0 && seconds <= u64::from(u32::MAX) => Ok(seconds as u32),
        _ => Err(Problem::MessageExpiry { max: u32::MAX }),
    }
}

/// A response topic: the rules of a topic to publish to (a responder publishes to it).
pub fn response_topic(text: &str) -> Result<String, Problem> {
    topic(text)
}

/// Correlation data: the bytes of the text, at most 65535 of them.
pub fn correlation_data(text: &str) -> Result<String, Problem> {
    check_length(text, Field::CorrelationData)?;
    Ok(text.to_string())
}

/// The payload format: only `utf8` (Payload Format Indicator 1); leaving it out says nothing.
pub fn payload_format(text: &str) -> Result<PayloadFormat, Problem> {
    match text.trim() {
        "utf8" => Ok(PayloadFormat::Utf8),
        _ => Err(Problem::PayloadFormat),
    }
}

/// A keep-alive in whole seconds, 0 (off) to 65535.
pub fn keepalive(text: &str) -> Result<u32, Problem> {
    match text.trim().parse::<u32>() {
        Ok(seconds) if seconds <= MAX_KEEPALIVE => Ok(seconds),
        _ => Err(Problem::Keepalive { max: MAX_KEEPALIVE }),
    }
}

/// A Session Expiry Interval: whole seconds, with mosquitto_pub's -1 and ∞ for "never"
/// (4294967295).
pub fn session_expiry(text: &str) -> Result<u32, Problem> {
    match text.trim() {
        "-1" | "∞" => Ok(u32::MAX),
        text => text.parse::<u32>().map_err(|_| Problem::SessionExpiry),
    }
}

/// How many times `--repeat` publishes: 1 to [`MAX_REPEAT`].
pub fn repeat(text: &str) -> Result<u32, Problem> {
    match text.trim().parse::<u64>() {
        Ok(times) if (1..=MAX_REPEAT).contains(&times) => Ok(times as u32),
        _ => Err(Problem::Repeat { max: MAX_REPEAT }),
    }
}

/// A pause in seconds, fractions allowed: 0 to a year.
pub fn delay(text: &str) -> Result<Duration, Problem> {
    match text.trim().parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && (0.0..=MAX_TIMEOUT_SECS).contains(&seconds) => {
            Ok(Duration::from_secs_f64(seconds))
        }
        _ => Err(Problem::Delay),
    }
}

/// The oldest TLS version to accept, as mosquitto_pub names them. rustls speaks 1.2 and 1.3,
/// so "at least 1.1" is "1.2 or 1.3".
pub fn tls_version(text: &str) -> Result<TlsVersion, Problem> {
    match text.trim() {
        "tlsv1.3" => Ok(TlsVersion::Only13),
        "tlsv1.2" | "tlsv1.1" => Ok(TlsVersion::From12),
        _ => Err(Problem::TlsVersion),
    }
}

/// mosquitto_pub's `-L mqtt(s)://[USER@]HOST[:PORT]/TOPIC`. A password in it is refused: the
/// command line is visible to every user of the machine.
pub fn mqtt_url(text: &str) -> Result<MqttUrl, Problem> {
    let (scheme, rest) = text.split_once("://").ok_or(Problem::MqttUrl {
        what: MqttUrlProblem::Scheme,
    })?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "mqtt" => false,
        "mqtts" => true,
        _ => {
            return Err(Problem::MqttUrl {
                what: MqttUrlProblem::Scheme,
            });
        }
    };
    let (authority, topic) = rest.split_once('/').ok_or(Problem::MqttUrl {
        what: MqttUrlProblem::Topic,
    })?;
    let (username, address) = match authority.rsplit_once('@') {
        Some((login, _)) if login.contains(':') => {
            return Err(Problem::MqttUrl {
                what: MqttUrlProblem::Password,
            });
        }
        Some((user, address)) => (Some(username(user)?), address),
        None => (None, authority),
    };
    let scheme = if tls { "mqtts" } else { "mqtt" };
    let broker = broker::parse(&format!("{scheme}://{address}"))
        .map_err(|error| Problem::Url(Box::new(error)))?;
    if topic.is_empty() {
        return Err(Problem::MqttUrl {
            what: MqttUrlProblem::Topic,
        });
    }
    Ok(MqttUrl {
        broker,
        username,
        topic: self::topic(topic)?,
    })
}

/// The packet a `-D` property belongs to, as mosquitto_pub names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet {
    Connect,
    Publish,
    Will,
    Disconnect,
}

/// A property given with mosquitto_pub's `-D PACKET NAME VALUE [VALUE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
    User(String, String),
    PayloadFormat(u8),
    MessageExpiry(u32),
    ContentType(String),
    ResponseTopic(String),
    CorrelationData(String),
    SessionExpiry(u32),
    ReceiveMaximum(u16),
    MaximumPacketSize(u32),
    TopicAliasMaximum(u16),
    RequestResponseInformation(u8),
    RequestProblemInformation(u8),
    WillDelay(u32),
    ReasonString(String),
}

/// The properties `-D` takes for each packet (MQTT 5 §3), by mosquitto_pub's names.
pub const PROPERTIES_OF: &[(&str, &[&str])] = &[
    (
        "connect",
        &[
            "session-expiry-interval",
            "receive-maximum",
            "maximum-packet-size",
            "topic-alias-maximum",
            "request-response-information",
            "request-problem-information",
            "user-property",
        ],
    ),
    (
        "publish",
        &[
            "payload-format-indicator",
            "message-expiry-interval",
            "content-type",
            "response-topic",
            "correlation-data",
            "user-property",
        ],
    ),
    (
        "will",
        &[
            "will-delay-interval",
            "payload-format-indicator",
            "message-expiry-interval",
            "content-type",
            "response-topic",
            "correlation-data",
            "user-property",
        ],
    ),
    (
        "disconnect",
        &["session-expiry-interval", "reason-string", "user-property"],
    ),
];

/// mosquitto_pub's `-D PACKET NAME VALUE` (`VALUE VALUE` for a user property's key and value).
pub fn property(words: &[String]) -> Result<(Packet, Property), Problem> {
    let [packet, name, values @ ..] = words else {
        return Err(Problem::PropertyForm);
    };
    let (packet, (packet_name, names)) = match packet.as_str() {
        "connect" => (Packet::Connect, PROPERTIES_OF[0]),
        "publish" => (Packet::Publish, PROPERTIES_OF[1]),
        "will" => (Packet::Will, PROPERTIES_OF[2]),
        "disconnect" => (Packet::Disconnect, PROPERTIES_OF[3]),
        _ => return Err(Problem::PropertyPacket),
    };
    if let Some(why) = PropertyRefusal::of(name) {
        return Err(Problem::PropertyRefused { why });
    }
    if !names.contains(&name.as_str()) {
        return Err(Problem::PropertyName {
            packet: packet_name,
        });
    }
    let arity = if name == "user-property" { 2 } else { 1 };
    if values.len() != arity {
        return Err(Problem::PropertyValues { arity });
    }
    let value = values[0].as_str();
    let number = |max: u64| -> Result<u64, Problem> {
        match value.trim().parse::<u64>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(Problem::PropertyNumber { max }),
        }
    };
    let property = match name.as_str() {
        "user-property" => {
            let pair = user_property_pair(value, &values[1])?;
            Property::User(pair.key, pair.value)
        }
        "payload-format-indicator" => Property::PayloadFormat(number(1)? as u8),
        "message-expiry-interval" => Property::MessageExpiry(number(u64::from(u32::MAX))? as u32),
        "content-type" => Property::ContentType(content_type(value)?),
        "response-topic" => Property::ResponseTopic(response_topic(value)?),
        "correlation-data" => Property::CorrelationData(correlation_data(value)?),
        "session-expiry-interval" => Property::SessionExpiry(session_expiry(value)?),
        "receive-maximum" => match number(u64::from(u16::MAX))? {
            0 => return Err(Problem::PropertyNumber { max: 65_535 }),
            n => Property::ReceiveMaximum(n as u16),
        },
        "maximum-packet-size" => match number(u64::from(u32::MAX))? {
            0 => {
                return Err(Problem::PropertyNumber {
                    max: u64::from(u32::MAX),
                });
            }
            n => Property::MaximumPacketSize(n as u32),
        },
        "topic-alias-maximum" => Property::TopicAliasMaximum(number(u64::from(u16::MAX))? as u16),
        "request-response-information" => Property::RequestResponseInformation(number(1)? as u8),
        "request-problem-information" => Property::RequestProblemInformation(number(1)? as u8),
        "will-delay-interval" => Property::WillDelay(number(u64::from(u32::MAX))? as u32),
        "reason-string" => Property::ReasonString(mqtt_string(value, Field::ReasonString)?),
        _ => unreachable!("every name in PROPERTIES_OF has its arm"),
    };
    Ok((packet, property))
}

/// A shadow operation: update, get or delete.
pub fn shadow_operation(text: &str) -> Result<crate::shadow::Operation, Problem> {
    crate::shadow::Operation::parse(text.trim()).ok_or(Problem::ShadowOperation)
}

/// A thing name as AWS IoT takes it: 1 to 128 letters, digits, `:`, `_` and `-`.
pub fn thing_name(text: &str) -> Result<String, Problem> {
    aws_name(text, 128)
}

/// A shadow name as AWS IoT takes it: 1 to 64 letters, digits, `:`, `_` and `-`.
pub fn shadow_name(text: &str) -> Result<String, Problem> {
    aws_name(text, 64)
}

fn aws_name(text: &str, max: usize) -> Result<String, Problem> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-');
    if text.is_empty() || text.len() > max || !text.chars().all(allowed) {
        return Err(Problem::AwsName { max });
    }
    Ok(text.to_string())
}

/// Flint's action: mqtt-send only sends.
pub fn action(text: &str) -> Result<String, Problem> {
    match text {
        "send" => Ok(text.to_string()),
        _ => Err(Problem::Action),
    }
}

fn mqtt_string(text: &str, field: Field) -> Result<String, Problem> {
    check_length(text, field)?;
    if text.contains('\0') {
        return Err(Problem::Nul { field });
    }
    Ok(text.to_string())
}

fn check_length(text: &str, field: Field) -> Result<(), Problem> {
    if text.len() > MAX_MQTT_STRING {
        return Err(Problem::TooLong {
            field,
            len: text.len(),
            max: MAX_MQTT_STRING,
        });
    }
    Ok(())
}

/// One MQTT 5 user property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProperty {
    pub key: String,
    pub value: String,
}

/// What mosquitto_pub's `-L` URL says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttUrl {
    pub broker: Broker,
    pub username: Option<String>,
    pub topic: String,
}

/// The TLS versions `--tls-version` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.3 only.
    Only13,
    /// TLS 1.2 or 1.3 (rustls's default).
    From12,
}

/// What `--payload-format` says about the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadFormat {
    /// UTF-8 text (Payload Format Indicator 1).
    Utf8,
}

/// A password. Its `Debug` never shows it, so it cannot leak through a log line or a panic.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A secret that is not a password (a proxy's, an AWS key's).
    pub fn new(text: String) -> Self {
        Secret(text)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos_is_one_digit_0_to_2() {
        assert_eq!(qos("0"), Ok(Qos::AtMostOnce));
        assert_eq!(qos(" 2 "), Ok(Qos::ExactlyOnce));
        for bad in ["3", "-1", "1.5", "two", "12", ""] {
            assert_eq!(qos(bad), Err(Problem::Qos), "{bad}");
        }
    }

    #[test]
    fn seconds_are_positive_and_at_most_a_year() {
        assert_eq!(seconds("2.5"), Ok(Duration::from_millis(2500)));
        for bad in ["0", "-1", "soon", "inf", "NaN", "1e9", ""] {
            assert_eq!(seconds(bad), Err(Problem::Seconds), "{bad}");
        }
    }

    #[test]
    fn retries_are_whole_numbers_up_to_the_maximum() {
        assert_eq!(retries("1000"), Ok(1000));
        for bad in ["-2", "1.5", "100000", "three"] {
            assert_eq!(retries(bad), Err(Problem::Retries { max: 1000 }), "{bad}");
        }
    }

    #[test]
    fn hosts_and_ports() {
        assert_eq!(host("::1").map(|h| h.to_string()), Ok("[::1]".to_string()));
        assert_eq!(
            host("u:hunter2@h").map_err(|e| e.to_string()),
            Err(
                "the value: \"***@h\" is not a host name or an IP address (the port goes in \
                 --port, the scheme in --broker)"
                    .to_string()
            )
        );
        assert_eq!(port("8883"), Ok(8883));
        for bad in ["0", "-1", "65536", "mqtt", ""] {
            assert_eq!(port(bad), Err(Problem::Port), "{bad}");
        }
    }

    #[test]
    fn topics_are_concrete_mqtt_strings() {
        assert_eq!(topic("a/b"), Ok("a/b".to_string()));
        assert_eq!(topic(""), Err(Problem::TopicEmpty));
        assert_eq!(topic("a/+"), Err(Problem::TopicWildcard));
        assert_eq!(topic("a/#"), Err(Problem::TopicWildcard));
        assert_eq!(
            topic("a\0b"),
            Err(Problem::Nul {
                field: Field::Topic
            })
        );
        assert_eq!(
            topic(&"x".repeat(70_000)),
            Err(Problem::TooLong {
                field: Field::Topic,
                len: 70_000,
                max: 65_535
            })
        );
    }

    #[test]
    fn client_ids_usernames_passwords_alpn_and_actions() {
        assert_eq!(client_id(""), Ok(String::new()));
        assert!(matches!(
            username(&"x".repeat(70_000)),
            Err(Problem::TooLong {
                field: Field::Username,
                ..
            })
        ));
        assert!(matches!(
            password(&"x".repeat(70_000)),
            Err(Problem::TooLong {
                field: Field::Password,
                ..
            })
        ));
        assert_eq!(password("a\0b").map(|p| p.expose().len()), Ok(3));
        assert_eq!(alpn(""), Err(Problem::Alpn));
        assert_eq!(alpn(&"x".repeat(256)), Err(Problem::Alpn));
        assert_eq!(action("receive"), Err(Problem::Action));
        assert_eq!(action("send"), Ok("send".to_string()));
    }

    #[test]
    fn protocol_versions_are_mosquitto_pubs_names_for_5_3_1_1_and_3_1() {
        for name in PROTOCOL_VERSIONS {
            assert!(protocol_version(name).is_ok(), "{name}");
        }
        assert_eq!(protocol_version("mqttv5"), Ok(Version::V5));
        assert_eq!(protocol_version("311"), Ok(Version::V311));
        assert_eq!(protocol_version("mqttv31"), Ok(Version::V31));
        for bad in ["3.2", "4", "v5", "MQTTV5", ""] {
            assert_eq!(
                protocol_version(bad),
                Err(Problem::ProtocolVersion),
                "{bad}"
            );
        }
    }

    #[test]
    fn user_properties_are_key_equals_value() {
        let pair = |key: &str, value: &str| {
            Ok(UserProperty {
                key: key.into(),
                value: value.into(),
            })
        };
        assert_eq!(user_property("a=1"), pair("a", "1"));
        assert_eq!(user_property("a=b=c"), pair("a", "b=c"));
        assert_eq!(user_property("a="), pair("a", ""));
        assert_eq!(user_property("a"), Err(Problem::UserPropertyForm));
        assert_eq!(user_property("=1"), Err(Problem::UserPropertyKey));
        assert_eq!(
            user_property_pair("a=b", "c"),
            Err(Problem::UserPropertyKey)
        );
        assert_eq!(
            user_property("a=\0"),
            Err(Problem::Nul {
                field: Field::UserPropertyValue
            })
        );
    }

    #[test]
    fn the_other_properties_follow_their_rules() {
        assert_eq!(message_expiry("300"), Ok(300));
        assert_eq!(message_expiry("4294967295"), Ok(u32::MAX));
        for bad in ["0", "-1", "1.5", "4294967296", "soon"] {
            assert_eq!(
                message_expiry(bad),
                Err(Problem::MessageExpiry { max: u32::MAX }),
                "{bad}"
            );
        }
        assert_eq!(response_topic("a/#"), Err(Problem::TopicWildcard));
        assert_eq!(content_type("text/plain"), Ok("text/plain".to_string()));
        assert!(matches!(
            correlation_data(&"x".repeat(70_000)),
            Err(Problem::TooLong {
                field: Field::CorrelationData,
                ..
            })
        ));
        assert_eq!(payload_format("utf8"), Ok(PayloadFormat::Utf8));
        assert_eq!(payload_format("binary"), Err(Problem::PayloadFormat));
    }

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let secret = password("hunter2").unwrap();
        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }
}
