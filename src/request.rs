//! Requests that wait for an answer after the broker's acknowledgement: a shadow operation
//! (`--shadow`), or a message whose reply comes on `--response-topic` (`--wait-response`).
//! What to subscribe to, what the PUBLISH carries, and which incoming message is the answer.

use bytes::Bytes;
use serde_json::Value;

use crate::codec::Delivery;
use crate::json::Json;
use crate::log::verbose;
use crate::message::{Message, Qos, Version};
use crate::shadow::{DocumentProblem, Shadow, Verdict};

/// What the settings ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    Shadow(Shadow),
    /// `--wait-response`: the reply comes on `topic`.
    Response {
        topic: String,
    },
}

/// A request ready to go: its message is final, and the answer can be recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Shadow {
        shadow: Shadow,
        token: String,
    },
    Response {
        topic: String,
        /// Sent as Correlation Data (MQTT 5) and matched in the reply: the user's
        /// `--correlation-data` when given, else a fresh one.
        correlation: Bytes,
    },
}

/// The answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Shadow(Verdict),
    Response(Delivery),
}

impl Expect {
    /// Make `message` the request (a shadow document gets its topic, QoS 1 and its
    /// clientToken) and say how its answer is recognised. Before connecting: a document AWS
    /// would reject is a usage error.
    pub fn prepare(ask: &Ask, message: &mut Message) -> Result<Expect, DocumentProblem> {
        match ask {
            Ask::Shadow(shadow) => {
                let (payload, token) = shadow.prepare(&message.payload)?;
                message.topic = shadow.topic();
                message.payload = payload;
                // AWS IoT takes QoS 0 and 1; the request and its answer are QoS 1.
                message.qos = Qos::AtLeastOnce;
                message.retain = false;
                verbose!(
                    "shadow request on {} with clientToken {token:?}",
                    message.topic
                );
                Ok(Expect::Shadow {
                    shadow: shadow.clone(),
                    token,
                })
            }
            Ask::Response { topic } => {
                let correlation = message
                    .properties
                    .correlation_data
                    .clone()
                    .unwrap_or_else(|| Bytes::from(crate::shadow::fresh_token()));
                Ok(Expect::Response {
                    topic: topic.clone(),
                    correlation,
                })
            }
        }
    }

    /// The topic filters to subscribe to before publishing.
    pub fn filters(&self) -> Vec<String> {
        match self {
            Expect::Shadow { shadow, .. } => vec![shadow.accepted(), shadow.rejected()],
            Expect::Response { topic, .. } => vec![topic.clone()],
        }
    }

    /// The message as it goes out on a connection that speaks `version`: under MQTT 5 a
    /// request for a response carries the Response Topic and the Correlation Data; MQTT 3.1.1
    /// has neither, and the responder must know where to answer.
    pub fn dress(&self, message: &Message, version: Version) -> Message {
        let mut message = message.clone();
        if let (Expect::Response { topic, correlation }, Version::V5) = (self, version) {
            message.properties.response_topic = Some(topic.clone());
            message.properties.correlation_data = Some(correlation.clone());
        }
        message
    }

    /// The answer, if `delivery` is it. A retained message is an old one, never the answer.
    pub fn answer(&self, delivery: &Delivery, version: Version) -> Option<Answer> {
        if delivery.retain {
            verbose!("ignoring a retained message on {}", delivery.topic);
            return None;
        }
        match self {
            Expect::Shadow { shadow, token } => shadow.verdict(token, delivery).map(Answer::Shadow),
            Expect::Response { topic, correlation } => {
                if delivery.topic != *topic {
                    return None;
                }
                // MQTT 3.1.1 carries no correlation data: the first message is the reply.
                let ours = version == Version::V311
                    || delivery.properties.correlation_data.as_ref() == Some(correlation);
                if !ours {
                    verbose!(
                        "ignoring a message on {topic} with other correlation data ({:?})",
                        delivery.properties.correlation_data
                    );
                }
                ours.then(|| Answer::Response(delivery.clone()))
            }
        }
    }

    /// What is asked, for messages: "the update", "the request".
    pub fn what(&self) -> String {
        match self {
            Expect::Shadow { shadow, .. } => format!("the shadow {}", shadow.operation.name()),
            Expect::Response { .. } => "the request".to_string(),
        }
    }

    /// What the request waits for, for messages: "the shadow service's answer (…/accepted or
    /// …/rejected)", "a response on TOPIC".
    pub fn waiting_for(&self) -> String {
        match self {
            Expect::Shadow { shadow, .. } => format!(
                "the shadow service's answer on {} or {}",
                shadow.accepted(),
                shadow.rejected()
            ),
            Expect::Response { topic, .. } => format!("a response on {topic}"),
        }
    }
}

/// The meta object's view of a response: its payload (`response` when UTF-8, else
/// `response-base64`), topic and MQTT 5 properties, in that order.
pub fn response_meta(delivery: &Delivery) -> Json {
    let text = |text: String| Json::Scalar(Value::String(text));
    let mut meta = Vec::new();
    match std::str::from_utf8(&delivery.payload) {
        Ok(payload) => meta.push(("response".to_string(), text(payload.into()))),
        Err(_) => meta.push((
            "response-base64".to_string(),
            text(base64(&delivery.payload)),
        )),
    };
    meta.push(("response-topic".to_string(), text(delivery.topic.clone())));
    let given = &delivery.properties;
    let mut properties = Vec::new();
    if let Some(content_type) = &given.content_type {
        properties.push(("content-type".to_string(), text(content_type.clone())));
    }
    if let Some(data) = &given.correlation_data {
        let data = match std::str::from_utf8(data) {
            Ok(data) => data.to_string(),
            Err(_) => base64(data),
        };
        properties.push(("correlation-data".to_string(), text(data)));
    }
    if let Some(seconds) = given.message_expiry {
        properties.push((
            "message-expiry".to_string(),
            Json::Scalar(Value::from(seconds)),
        ));
    }
    if given.payload_utf8 {
        properties.push(("payload-format".to_string(), text("utf8".into())));
    }
    if !given.user.is_empty() {
        let pairs = given
            .user
            .iter()
            .map(|(key, value)| text(format!("{key}={value}")))
            .collect();
        properties.push(("user-property".to_string(), Json::Array(pairs)));
    }
    if !properties.is_empty() {
        meta.push(("response-properties".to_string(), Json::Object(properties)));
    }
    Json::Object(meta)
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, byte)| n | u32::from(*byte) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Properties;

    fn delivery(topic: &str, payload: &[u8], correlation: Option<&str>) -> Delivery {
        Delivery {
            topic: topic.into(),
            qos: 0,
            pkid: 0,
            retain: false,
            payload: Bytes::copy_from_slice(payload),
            properties: Properties {
                correlation_data: correlation.map(|c| Bytes::from(c.to_string())),
                ..Properties::default()
            },
        }
    }

    #[test]
    fn base64_as_rfc_4648_spells_it() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn a_response_matches_by_correlation_data_under_v5_and_comes_first_under_311() {
        let expect = Expect::Response {
            topic: "r".into(),
            correlation: Bytes::from_static(b"c1"),
        };
        let other = delivery("r", b"x", Some("c0"));
        assert_eq!(expect.answer(&other, Version::V5), None);
        assert!(expect.answer(&other, Version::V311).is_some());
        assert!(
            expect
                .answer(&delivery("r", b"x", Some("c1")), Version::V5)
                .is_some()
        );
        let mut retained = delivery("r", b"x", Some("c1"));
        retained.retain = true;
        assert_eq!(expect.answer(&retained, Version::V5), None);
    }

    #[test]
    fn the_response_goes_into_the_meta_object_as_text_or_base64() {
        let meta = response_meta(&delivery("r", b"ok", Some("c1")));
        assert_eq!(
            serde_json::to_string(&meta).unwrap(),
            r#"{"response":"ok","response-topic":"r","response-properties":{"correlation-data":"c1"}}"#
        );
        let meta = response_meta(&delivery("r", &[0xff, 0], None)).into_value();
        assert_eq!(meta["response-base64"], "/wA=");
    }
}
