//! What mqtt-send publishes: a message, its quality of service, and the sizes MQTT allows.
//! Plain data, shared by the input, the in-flight state and the codec.

use std::fmt;

use bytes::Bytes;

/// The most an MQTT packet can carry after its fixed header (remaining length, MQTT 3.1.1
/// §2.2.3 and MQTT 5 §1.5.5).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// Quality of service: how hard the broker and we work to deliver a message.
#[allow(clippy::enum_variant_names)] // the names MQTT gives the levels
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Qos {
    /// 0: sent once, no acknowledgement.
    AtMostOnce,
    /// 1: PUBACK.
    AtLeastOnce,
    /// 2: PUBREC, PUBREL, PUBCOMP.
    ExactlyOnce,
}

impl Qos {
    pub fn level(self) -> u8 {
        match self {
            Qos::AtMostOnce => 0,
            Qos::AtLeastOnce => 1,
            Qos::ExactlyOnce => 2,
        }
    }
}

impl fmt::Display for Qos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.level())
    }
}

/// The MQTT protocol version a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// MQTT 3.1 (protocol name MQIsdp), only when asked for with `-V mqttv31`.
    V31,
    V311,
    V5,
}

impl Version {
    /// As the meta object and `-v` name it.
    pub fn name(self) -> &'static str {
        match self {
            Version::V31 => "3.1",
            Version::V311 => "3.1.1",
            Version::V5 => "5",
        }
    }
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub payload: Bytes,
    pub qos: Qos,
    pub retain: bool,
    /// MQTT 5 only.
    pub properties: Properties,
}

/// The MQTT 5 properties a publisher sets on a PUBLISH.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    /// User properties, in order (a key may repeat).
    pub user: Vec<(String, String)>,
    pub content_type: Option<String>,
    /// Message Expiry Interval, in seconds.
    pub message_expiry: Option<u32>,
    pub response_topic: Option<String>,
    pub correlation_data: Option<Bytes>,
    /// Payload Format Indicator 1: the payload is UTF-8 (checked before sending).
    pub payload_utf8: bool,
}

impl Properties {
    pub fn is_empty(&self) -> bool {
        *self == Properties::default()
    }

    /// The properties set, by the names of their options (and config keys).
    pub fn names(&self) -> Vec<&'static str> {
        [
            ("user-property", !self.user.is_empty()),
            ("content-type", self.content_type.is_some()),
            ("message-expiry", self.message_expiry.is_some()),
            ("response-topic", self.response_topic.is_some()),
            ("correlation-data", self.correlation_data.is_some()),
            ("payload-format", self.payload_utf8),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// The will: the message the broker publishes for us if the connection ends without a
/// DISCONNECT (mqtt-send always disconnects, so only when it is killed or the network fails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    pub topic: String,
    pub payload: Bytes,
    pub qos: Qos,
    pub retain: bool,
    /// MQTT 5 only, like a message's; and the Will Delay Interval.
    pub properties: Properties,
    pub delay: Option<u32>,
}

/// The MQTT 5 properties of CONNECT a user may set (`-x`, `-D connect ...`). Those not set are
/// mqtt-send's own choices (see `codec`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectProperties {
    pub session_expiry: Option<u32>,
    pub receive_maximum: Option<u16>,
    pub maximum_packet_size: Option<u32>,
    pub topic_alias_maximum: Option<u16>,
    pub request_response_information: Option<u8>,
    pub request_problem_information: Option<u8>,
    pub user: Vec<(String, String)>,
}

/// The MQTT 5 properties of DISCONNECT a user may set (`-D disconnect ...`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisconnectProperties {
    pub session_expiry: Option<u32>,
    pub reason_string: Option<String>,
    pub user: Vec<(String, String)>,
}

impl DisconnectProperties {
    pub fn is_empty(&self) -> bool {
        *self == DisconnectProperties::default()
    }
}

/// The largest payload a PUBLISH to `topic` at `qos` can carry: the remaining length holds the
/// topic (2-byte length + bytes), the packet id (QoS 1 and 2) and the payload.
pub fn max_payload(topic: &str, qos: Qos) -> usize {
    let packet_id = if qos == Qos::AtMostOnce { 0 } else { 2 };
    MAX_REMAINING_LENGTH.saturating_sub(2 + topic.len() + packet_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_named_as_their_options() {
        assert!(Properties::default().names().is_empty());
        let properties = Properties {
            user: vec![("a".into(), "1".into())],
            payload_utf8: true,
            ..Properties::default()
        };
        assert_eq!(properties.names(), ["user-property", "payload-format"]);
    }

    #[test]
    fn the_payload_limit_leaves_room_for_topic_and_packet_id() {
        assert_eq!(max_payload("t", Qos::AtMostOnce), MAX_REMAINING_LENGTH - 3);
        assert_eq!(max_payload("t", Qos::ExactlyOnce), MAX_REMAINING_LENGTH - 5);
    }
}
