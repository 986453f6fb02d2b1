//! AWS IoT device shadows: the topics of an operation, the request document (checked against
//! what AWS documents it rejects, before connecting), its `clientToken`, and the service's
//! answer on `…/accepted` or `…/rejected`, matched by that token.

use std::fmt;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::codec::Delivery;
use crate::json::Json;

/// Nesting levels AWS IoT takes in `state.desired` or `state.reported`.
pub const MAX_DEPTH: usize = 6;
/// Bytes of a `clientToken`.
pub const MAX_TOKEN: usize = 64;
/// Bytes of `state.desired` or `state.reported` (without white space).
pub const MAX_SECTION: usize = 8 * 1024;

/// A shadow operation (`--shadow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Update,
    Get,
    Delete,
}

impl Operation {
    /// The values `--shadow` takes.
    pub const NAMES: &'static [&'static str] = &["update", "get", "delete"];

    pub fn name(self) -> &'static str {
        match self {
            Operation::Update => "update",
            Operation::Get => "get",
            Operation::Delete => "delete",
        }
    }

    pub fn parse(text: &str) -> Option<Operation> {
        match text {
            "update" => Some(Operation::Update),
            "get" => Some(Operation::Get),
            "delete" => Some(Operation::Delete),
            _ => None,
        }
    }
}

/// Which shadow, and what to do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadow {
    pub operation: Operation,
    pub thing: String,
    /// A named shadow; `None`: the classic (unnamed) shadow.
    pub name: Option<String>,
}

impl Shadow {
    /// `$aws/things/<thing>/shadow[/name/<name>]/<operation>`: where the request goes.
    pub fn topic(&self) -> String {
        let mut topic = format!("$aws/things/{}/shadow", self.thing);
        if let Some(name) = &self.name {
            topic.push_str("/name/");
            topic.push_str(name);
        }
        topic.push('/');
        topic.push_str(self.operation.name());
        topic
    }

    pub fn accepted(&self) -> String {
        format!("{}/accepted", self.topic())
    }

    pub fn rejected(&self) -> String {
        format!("{}/rejected", self.topic())
    }

    /// "the classic shadow of thing \"lamp\"", for messages.
    pub fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("the shadow \"{name}\" of thing \"{}\"", self.thing),
            None => format!("the classic shadow of thing \"{}\"", self.thing),
        }
    }

    /// The request document to publish, and its `clientToken`: `payload` checked as AWS checks
    /// it (an update needs a JSON object with a `state` object; get and delete take an empty
    /// payload or an object), with a fresh token added when it has none.
    pub fn prepare(&self, payload: &[u8]) -> Result<(Bytes, String), DocumentProblem> {
        let empty = payload.iter().all(u8::is_ascii_whitespace);
        let mut document = if empty && self.operation != Operation::Update {
            Map::new()
        } else {
            match serde_json::from_slice::<Value>(payload) {
                Ok(Value::Object(map)) => map,
                Ok(other) => return Err(DocumentProblem::NotObject(kind(&other))),
                Err(e) => return Err(DocumentProblem::NotJson(e.to_string())),
            }
        };
        if self.operation == Operation::Update {
            match document.get("state") {
                Some(Value::Object(state)) => check_state(state)?,
                Some(other) => return Err(DocumentProblem::StateNotObject(kind(other))),
                None => return Err(DocumentProblem::NoState),
            }
        }
        let token = match document.get("clientToken") {
            Some(Value::String(token)) if token.len() > MAX_TOKEN => {
                return Err(DocumentProblem::TokenTooLong { bytes: token.len() });
            }
            Some(Value::String(token)) => token.clone(),
            Some(other) => return Err(DocumentProblem::TokenNotString(kind(other))),
            None => {
                let token = fresh_token();
                document.insert("clientToken".into(), Value::String(token.clone()));
                token
            }
        };
        let bytes = serde_json::to_vec(&Value::Object(document))
            .map_err(|e| DocumentProblem::NotJson(e.to_string()))?;
        Ok((Bytes::from(bytes), token))
    }

    /// The service's answer to the request with `token`, if `delivery` is it. Answers for other
    /// tokens (another client's requests, an earlier run's) are not.
    pub fn verdict(&self, token: &str, delivery: &Delivery) -> Option<Verdict> {
        let accepted = if delivery.topic == self.accepted() {
            true
        } else if delivery.topic == self.rejected() {
            false
        } else {
            return None;
        };
        // As written (for the meta object), and as a map (to read it).
        let answer = serde_json::from_slice::<Json>(&delivery.payload).ok();
        let Some(Value::Object(document)) = answer.clone().map(Json::into_value) else {
            crate::log::verbose!(
                "ignoring a message on {} that is not a JSON object",
                delivery.topic
            );
            return None;
        };
        match document.get("clientToken").and_then(Value::as_str) {
            Some(theirs) if theirs == token => Some(Verdict {
                accepted,
                document,
                answer: answer.unwrap_or(Json::Object(Vec::new())),
            }),
            other => {
                crate::log::verbose!(
                    "ignoring an answer on {} for another request (clientToken {other:?})",
                    delivery.topic
                );
                None
            }
        }
    }
}

/// The shadow service's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub accepted: bool,
    pub document: Map<String, Value>,
    /// The same answer as AWS wrote it, its keys in their order.
    pub answer: Json,
}

impl Verdict {
    /// `version` of an accepted answer.
    pub fn version(&self) -> Option<u64> {
        self.document.get("version").and_then(Value::as_u64)
    }

    /// `code` of a rejection (409 for a version conflict, ...).
    pub fn code(&self) -> Option<i64> {
        self.document.get("code").and_then(Value::as_i64)
    }

    /// `message` of a rejection, AWS's words.
    pub fn message(&self) -> Option<&str> {
        self.document.get("message").and_then(Value::as_str)
    }

    /// The meta object's `shadow`: version, timestamp and (get, update) the state when
    /// accepted; code, message and timestamp when rejected; the clientToken either way.
    /// In the order AWS wrote them.
    pub fn meta(&self, operation: Operation) -> Json {
        let wanted: &[&str] = match (self.accepted, operation) {
            (true, Operation::Delete) => &["version", "timestamp", "clientToken"],
            (true, _) => &["state", "version", "timestamp", "clientToken"],
            (false, _) => &["code", "message", "timestamp", "clientToken"],
        };
        let mut meta: Vec<(String, Json)> = Vec::new();
        let Json::Object(entries) = &self.answer else {
            return Json::Object(meta);
        };
        for (key, value) in entries
            .iter()
            .filter(|(key, _)| wanted.contains(&key.as_str()))
        {
            let key = match key.as_str() {
                "clientToken" => "client-token",
                key => key,
            };
            // A key given twice: the last one, as in `document`.
            match meta.iter_mut().find(|(name, _)| name == key) {
                Some((_, kept)) => *kept = value.clone(),
                None => meta.push((key.to_string(), value.clone())),
            }
        }
        Json::Object(meta)
    }
}

/// Why a request document cannot go to the shadow service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentProblem {
    NotJson(String),
    NotObject(&'static str),
    NoState,
    StateNotObject(&'static str),
    TooDeep { section: String, depth: usize },
    SectionTooLarge { section: String, bytes: usize },
    TokenTooLong { bytes: usize },
    TokenNotString(&'static str),
}

impl fmt::Display for DocumentProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocumentProblem::NotJson(error) => write!(f, "is not JSON ({error})"),
            DocumentProblem::NotObject(found) => {
                write!(f, "is {found}, not a JSON object")
            }
            DocumentProblem::NoState => f.write_str(
                "has no \"state\": a shadow update is {\"state\":{\"desired\":{...}}} or \
                 {\"state\":{\"reported\":{...}}}",
            ),
            DocumentProblem::StateNotObject(found) => {
                write!(f, "has a \"state\" that is {found}, not a JSON object")
            }
            DocumentProblem::TooDeep { section, depth } => write!(
                f,
                "nests {section} {depth} levels deep; AWS IoT takes at most {MAX_DEPTH} and \
                 rejects the update (400)"
            ),
            DocumentProblem::SectionTooLarge { section, bytes } => write!(
                f,
                "has a {section} of {bytes} bytes (without white space); AWS IoT takes at most \
                 {MAX_SECTION} (8 KB) and rejects the update (413)"
            ),
            DocumentProblem::TokenTooLong { bytes } => write!(
                f,
                "has a \"clientToken\" of {bytes} bytes; AWS IoT takes at most {MAX_TOKEN} and \
                 rejects the request (400)"
            ),
            DocumentProblem::TokenNotString(found) => {
                write!(f, "has a \"clientToken\" that is {found}, not a string")
            }
        }
    }
}

/// Each section of `state` (desired, reported, ...) within AWS's depth and size limits.
fn check_state(state: &Map<String, Value>) -> Result<(), DocumentProblem> {
    for (key, value) in state {
        let section = format!("state.{key}");
        let depth = depth(value);
        if depth > MAX_DEPTH {
            return Err(DocumentProblem::TooDeep { section, depth });
        }
        let bytes = serde_json::to_vec(value).map_or(0, |bytes| bytes.len());
        if bytes > MAX_SECTION {
            return Err(DocumentProblem::SectionTooLarge { section, bytes });
        }
    }
    Ok(())
}

/// Levels of objects and arrays: `1` is 0, `{"a":1}` is 1, `{"a":{"b":1}}` is 2.
fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A token no other request has: "mqtt-send-" and 16 hex digits.
pub fn fresh_token() -> String {
    use std::hash::{BuildHasher, RandomState};
    // RandomState is seeded from the OS's randomness; pid and time keep two tokens apart.
    let seed = (std::process::id(), std::time::SystemTime::now());
    format!("mqtt-send-{:016x}", RandomState::new().hash_one(seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shadow(operation: Operation, name: Option<&str>) -> Shadow {
        Shadow {
            operation,
            thing: "lamp".into(),
            name: name.map(str::to_string),
        }
    }

    fn delivery(topic: &str, payload: &str) -> Delivery {
        Delivery {
            topic: topic.into(),
            qos: 1,
            pkid: 1,
            retain: false,
            payload: Bytes::from(payload.to_string()),
            properties: crate::message::Properties::default(),
        }
    }

    #[test]
    fn topics_follow_aws() {
        assert_eq!(
            shadow(Operation::Update, None).topic(),
            "$aws/things/lamp/shadow/update"
        );
        assert_eq!(
            shadow(Operation::Get, Some("cfg")).accepted(),
            "$aws/things/lamp/shadow/name/cfg/get/accepted"
        );
        assert_eq!(
            shadow(Operation::Delete, None).rejected(),
            "$aws/things/lamp/shadow/delete/rejected"
        );
    }

    #[test]
    fn a_token_is_added_when_absent_and_kept_when_given() {
        let update = shadow(Operation::Update, None);
        let (bytes, token) = update
            .prepare(br#"{"state":{"reported":{"on":true}}}"#)
            .unwrap();
        assert!(token.starts_with("mqtt-send-") && token.len() <= MAX_TOKEN);
        let sent: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(sent["clientToken"], token.as_str());
        assert_eq!(sent["state"]["reported"]["on"], true);
        let (_, token) = update
            .prepare(br#"{"state":{"desired":{}},"clientToken":"mine"}"#)
            .unwrap();
        assert_eq!(token, "mine");
        let (bytes, _) = shadow(Operation::Get, None).prepare(b"").unwrap();
        let sent: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(sent.as_object().unwrap().len(), 1, "{sent}");
    }

    #[test]
    fn documents_aws_rejects_are_refused_with_the_limit() {
        let update = shadow(Operation::Update, None);
        let problem = |text: &str| update.prepare(text.as_bytes()).unwrap_err();
        assert!(matches!(problem("{"), DocumentProblem::NotJson(_)));
        assert_eq!(problem("[1]"), DocumentProblem::NotObject("an array"));
        assert_eq!(problem("{}"), DocumentProblem::NoState);
        assert_eq!(
            problem(r#"{"state":3}"#),
            DocumentProblem::StateNotObject("a number")
        );
        let deep = r#"{"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}}}"#;
        assert_eq!(
            problem(deep),
            DocumentProblem::TooDeep {
                section: "state.desired".into(),
                depth: 7
            }
        );
        let six = r#"{"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}}}"#;
        assert!(update.prepare(six.as_bytes()).is_ok());
        let big = format!(
            r#"{{"state":{{"reported":{{"x":"{}"}}}}}}"#,
            "a".repeat(8200)
        );
        assert!(matches!(
            problem(&big),
            DocumentProblem::SectionTooLarge { bytes: 8208, .. }
        ));
        let long = format!(r#"{{"state":{{}},"clientToken":"{}"}}"#, "t".repeat(65));
        assert_eq!(problem(&long), DocumentProblem::TokenTooLong { bytes: 65 });
        assert!(problem(&long).to_string().contains("at most 64"));
    }

    #[test]
    fn only_the_answer_with_our_token_counts() {
        let update = shadow(Operation::Update, None);
        let accepted = update.accepted();
        assert_eq!(
            update.verdict("t1", &delivery(&accepted, r#"{"clientToken":"t0"}"#)),
            None
        );
        assert_eq!(
            update.verdict(
                "t1",
                &delivery("$aws/things/other/shadow/update/accepted", "{}")
            ),
            None
        );
        let rejected = update
            .verdict(
                "t1",
                &delivery(
                    &update.rejected(),
                    r#"{"code":409,"message":"Version conflict","clientToken":"t1","timestamp":5}"#,
                ),
            )
            .unwrap();
        assert!(!rejected.accepted);
        assert_eq!(rejected.code(), Some(409));
        assert_eq!(
            serde_json::to_string(&rejected.meta(Operation::Update)).unwrap(),
            r#"{"code":409,"message":"Version conflict","client-token":"t1","timestamp":5}"#
        );
        let accepted = update
            .verdict(
                "t1",
                &delivery(
                    &accepted,
                    r#"{"state":{"reported":{"on":true,"level":3}},"metadata":{},"version":7,"timestamp":5,"clientToken":"t1"}"#,
                ),
            )
            .unwrap();
        assert_eq!(
            serde_json::to_string(&accepted.meta(Operation::Update)).unwrap(),
            r#"{"state":{"reported":{"on":true,"level":3}},"version":7,"timestamp":5,"client-token":"t1"}"#,
            "AWS's order, not sorted"
        );
    }
}
