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

    pub fn from_level(level: u8) -> Option<Qos> {
        match level {
            0 => Some(Qos::AtMostOnce),
            1 => Some(Qos::AtLeastOnce),
            2 => Some(Qos::ExactlyOnce),
            _ => None,
        }
    }
}

impl fmt::Display for Qos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.level())
    }
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub payload: Bytes,
    pub qos: Qos,
    pub retain: bool,
}

/// The largest payload a PUBLISH to `topic` at `qos` can carry: the remaining length holds the
/// topic (2-byte length + bytes), the packet id (QoS 1 and 2) and the payload.
pub fn max_payload(topic: &str, qos: Qos) -> usize {
    let packet_id = if qos == Qos::AtMostOnce { 0 } else { 2 };
    MAX_REMAINING_LENGTH.saturating_sub(2 + topic.len() + packet_id)
}

/// MQTT strings (topic, client id, username, password) are at most 65535 bytes.
pub const MAX_STRING: usize = 65_535;

/// Why a topic cannot be published to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicProblem {
    Empty,
    /// It contains `+` or `#`.
    Wildcard,
    Nul,
    /// Its length in bytes, over [`MAX_STRING`].
    TooLong(usize),
}

/// A topic we may publish to: not empty, no wildcards, no NUL, at most 65535 bytes.
pub fn check_topic(topic: &str) -> Result<(), TopicProblem> {
    if topic.is_empty() {
        Err(TopicProblem::Empty)
    } else if topic.contains(['+', '#']) {
        Err(TopicProblem::Wildcard)
    } else if topic.contains('\0') {
        Err(TopicProblem::Nul)
    } else if topic.len() > MAX_STRING {
        Err(TopicProblem::TooLong(topic.len()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos_levels_round_trip() {
        for level in 0..=2 {
            assert_eq!(Qos::from_level(level).map(Qos::level), Some(level));
        }
        assert_eq!(Qos::from_level(3), None);
    }

    #[test]
    fn the_payload_limit_leaves_room_for_topic_and_packet_id() {
        assert_eq!(max_payload("t", Qos::AtMostOnce), MAX_REMAINING_LENGTH - 3);
        assert_eq!(max_payload("t", Qos::ExactlyOnce), MAX_REMAINING_LENGTH - 5);
    }

    #[test]
    fn topics_are_checked() {
        assert_eq!(check_topic("a/b"), Ok(()));
        assert_eq!(check_topic(""), Err(TopicProblem::Empty));
        assert_eq!(check_topic("a/+"), Err(TopicProblem::Wildcard));
        assert_eq!(check_topic("a/#"), Err(TopicProblem::Wildcard));
        assert_eq!(check_topic("a\0b"), Err(TopicProblem::Nul));
        assert_eq!(
            check_topic(&"x".repeat(70_000)),
            Err(TopicProblem::TooLong(70_000))
        );
    }
}
