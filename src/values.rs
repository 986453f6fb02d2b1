//! The rules an option's value follows: one function per kind of value, text in, the typed
//! value or the [`Problem`] out. clap calls them as value parsers for the flags, and `config`
//! runs every config-file and environment value through the same clap parser, so each rule is
//! written once and holds for every way of giving the value.

use std::fmt;
use std::time::Duration;

use crate::message::{Qos, Version};

use crate::broker::{self, Broker, Host};
use crate::error::{Field, Problem, RedactedUrl};

/// The longest `--timeout`: a year.
pub const MAX_TIMEOUT_SECS: f64 = 365.0 * 24.0 * 3600.0;
pub const MAX_RETRIES: u64 = 1000;
/// MQTT 3.1.1 strings (topic, client id, username, password) are at most 65535 bytes.
pub const MAX_MQTT_STRING: usize = 65_535;
/// ALPN protocol names are 1 to 255 bytes (RFC 7301).
const MAX_ALPN: usize = 255;
/// The names `-V` takes: mosquitto_pub's (which also has 3.1, which mqtt-send does not speak).
/// The values `--qos` takes, for the help and the completions.
pub const QOS_LEVELS: &[&str] = &["0", "1", "2"];
pub const PROTOCOL_VERSIONS: &[&str] = &["5", "mqttv5", "3.1.1", "311", "mqttv311"];
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

/// An MQTT version, as mosquitto_pub's `-V` names it: 5 or 3.1.1.
pub fn protocol_version(text: &str) -> Result<Version, Problem> {
    match text.trim() {
        "5" | "mqttv5" => Ok(Version::V5),
        "3.1.1" | "311" | "mqttv311" => Ok(Version::V311),
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
    fn protocol_versions_are_mosquitto_pubs_names_for_5_and_3_1_1() {
        for name in PROTOCOL_VERSIONS {
            assert!(protocol_version(name).is_ok(), "{name}");
        }
        assert_eq!(protocol_version("mqttv5"), Ok(Version::V5));
        assert_eq!(protocol_version("311"), Ok(Version::V311));
        for bad in ["3.1", "31", "mqttv31", "4", "v5", "MQTTV5", ""] {
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
