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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_limit_leaves_room_for_topic_and_packet_id() {
        assert_eq!(max_payload("t", Qos::AtMostOnce), MAX_REMAINING_LENGTH - 3);
        assert_eq!(max_payload("t", Qos::ExactlyOnce), MAX_REMAINING_LENGTH - 5);
    }
}
