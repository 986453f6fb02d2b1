//! Where the messages come from: `--content`, the config file's `content`, a file, or stdin;
//! the whole of it as one message, or every line as one (`--lines`), or every line as a JSON
//! message (`--ndjson`). One [`Input`] yields `(line, message)` for all of them, reading each
//! byte once, as the session asks, so memory does not grow with the input and a pipe that
//! pauses still gets what it already wrote published.
//!
//! Bytes are read as they are (no UTF-8 conversion), and never more than a message can hold:
//! past that the input is refused without reading further.

use bytes::Bytes;
use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};

use crate::config::{self, Mode, Origin, Settings, Source};
use crate::error::{ConfigError, InputError, LineProblem};
use crate::json::Json;
use crate::log::verbose;
use crate::message::{self, Message, Properties, Qos, Version};
use crate::values;

const READ_BUFFER: usize = 256 * 1024;

/// The keys of an `--ndjson` line: the message and the config keys (and flags) that say how to
/// send it, then its MQTT 5 properties (the options under `cli::PROPERTIES`, by their keys).
const MESSAGE_KEYS: &[&str] = &["topic", "content", "qos", "retain"];
const PROPERTY_KEYS: &[&str] = &[
    "user-property",
    "content-type",
    "message-expiry",
    "response-topic",
    "correlation-data",
    "payload-format",
];

/// Every key a line may hold.
fn line_keys() -> impl Iterator<Item = &'static str> {
    MESSAGE_KEYS.iter().chain(PROPERTY_KEYS).copied()
}

/// What a line (or the whole content) turns into: the flags and config give the defaults.
#[derive(Debug, Clone)]
struct Template {
    mode: Mode,
    topic: Option<String>,
    qos: Qos,
    retain: bool,
    properties: Properties,
    /// The version asked for, if one was: 3.1.1 carries no properties.
    protocol: Option<Version>,
    /// `-l`: lines as mosquitto_pub reads them (see [`Settings::raw_lines`]).
    raw_lines: bool,
}

impl Template {
    fn new(settings: &Settings) -> Self {
        Template {
            mode: settings.mode,
            topic: settings.topic.clone(),
            qos: settings.qos,
            retain: settings.retain,
            properties: settings.properties.clone(),
            protocol: settings.protocol,
            raw_lines: settings.raw_lines,
        }
    }

    /// The most bytes a raw line (or the whole content) may have: a payload as large as a
    /// packet allows. An NDJSON line holds its payload as JSON text, which may be longer.
    fn limit(&self) -> usize {
        match (&self.topic, self.mode) {
            (Some(topic), Mode::Single | Mode::Lines) => message::max_payload(topic, self.qos),
            _ => message::MAX_REMAINING_LENGTH,
        }
    }

    /// The message on `line` (its bytes without the line ending). An NDJSON line's values
    /// follow the config file's rules for the same keys, and override the flags' and config's
    /// for this message (its user properties replace theirs).
    fn message(&self, line: u64, text: Bytes) -> Result<Message, LineProblem> {
        if self.mode != Mode::Ndjson {
            return Ok(Message {
                topic: self.topic.clone().unwrap_or_default(),
                payload: text,
                qos: self.qos,
                retain: self.retain,
                properties: self.properties.clone(),
            });
        }
        // As written, so that user properties keep their order (and a repeated key).
        let value: Json =
            serde_json::from_slice(&text).map_err(|e| LineProblem::NotJson(e.to_string()))?;
        let Json::Object(fields) = value else {
            return Err(LineProblem::NotObject(value.json_type()));
        };
        let mut topic = self.topic.clone();
        let mut content = None;
        let mut qos = self.qos;
        let mut retain = self.retain;
        let mut properties = self.properties.clone();
        for (key, value) in fields {
            let Some(key) = line_keys().find(|known| *known == key) else {
                return Err(LineProblem::UnknownKey {
                    key,
                    known: line_keys().collect(),
                });
            };
            if value.is_null() {
                continue;
            }
            let origin = Origin::Line(key, line);
            if self.protocol.is_some_and(|version| version != Version::V5)
                && PROPERTY_KEYS.contains(&key)
            {
                return Err(LineProblem::Value(ConfigError::NeedsMqtt5 {
                    property: origin,
                    version: Origin::Value,
                }));
            }
            if key == "user-property" {
                properties.user = config::user_properties(value, origin)?
                    .into_iter()
                    .map(|pair| (pair.key, pair.value))
                    .collect();
                continue;
            }
            let value = value.into_value();
            match key {
                "topic" => topic = Some(config::string(value, origin)?),
                "content" => {
                    content = Some(match value {
                        Value::String(text) => Bytes::from(text),
                        // A JSON document (e.g. a shadow update) is sent as its JSON text.
                        other => Bytes::from(other.to_string()),
                    })
                }
                "qos" => qos = config::qos_from_json(value, origin)?,
                "retain" => retain = config::boolean(value, origin)?,
                "content-type" => {
                    properties.content_type =
                        Some(config::text(value, origin, values::content_type)?)
                }
                "message-expiry" => {
                    properties.message_expiry =
                        Some(config::whole_number(value, origin, values::message_expiry)?)
                }
                "response-topic" => {
                    properties.response_topic =
                        Some(config::text(value, origin, values::response_topic)?)
                }
                "correlation-data" => {
                    let data = config::text(value, origin, values::correlation_data)?;
                    properties.correlation_data = Some(Bytes::from(data));
                }
                "payload-format" => {
                    config::text(value, origin, values::payload_format)?;
                    properties.payload_utf8 = true;
                }
                _ => unreachable!("every line key has its arm"),
            }
        }
        let topic = topic.ok_or(LineProblem::NoTopic)?;
        let topic = config::validate_topic(topic, Origin::Line("topic", line))?;
        let payload = content.ok_or(LineProblem::NoContent)?;
        let limit = message::max_payload(&topic, qos);
        if payload.len() > limit {
            return Err(LineProblem::TooLarge { limit });
        }
        Ok(Message {
            topic,
            payload,
            qos,
            retain,
            properties,
        })
    }
}

/// Strip the line ending.
fn line_text(raw: &[u8]) -> &[u8] {
    let text = raw.strip_suffix(b"\n").unwrap_or(raw);
    text.strip_suffix(b"\r").unwrap_or(text)
}

/// The messages of the content, in order.
pub struct Input {
    reader: Box<dyn AsyncBufRead + Unpin + Send>,
    template: Template,
    source: Source,
    /// The number of the last line read (1-based; empty lines count).
    line: u64,
    /// The bytes of the line being read; kept here so that [`Input::next`] can be cancelled
    /// and called again without losing any.
    partial: Vec<u8>,
    /// A message read and not yet taken (the first one is read before connecting).
    peeked: Option<(u64, Message)>,
    /// A single message, kept for the report (and for a retry, and `--repeat`).
    first: Option<Message>,
    finished: bool,
    /// `--repeat`: how many more times the single message is to be sent.
    repeats_left: u32,
    /// `--repeat-delay`, and when the next repetition may go.
    delay: Option<std::time::Duration>,
    next_at: Option<tokio::time::Instant>,
}

impl Input {
    /// Open the content. With a batch whose content can be read twice (a regular file, or
    /// inline), every line is checked now, so that a bad line 90 000 is exit 2 with nothing
    /// published; a pipe is read once, and checked as it is sent.
    pub async fn open(settings: &Settings) -> Result<Input, InputError> {
        let mut input = Self::open_once(settings).await?;
        if settings.mode != Mode::Single && input.can_be_read_twice().await {
            let mut check = Self::open_once(settings).await?;
            let mut messages = 0u64;
            while check.next().await?.is_some() {
                messages += 1;
            }
            verbose!(
                "checked {messages} message(s) in {}",
                settings.content.describe()
            );
        }
        // The first message is read now: an input that cannot be read, or whose first message
        // cannot be sent, is a usage error before any network I/O.
        input.peeked = input.next().await?;
        if settings.mode == Mode::Single {
            input.first = input.peeked.as_ref().map(|(_, message)| message.clone());
        }
        if settings.stdin_file && input.first.as_ref().is_some_and(|m| m.payload.is_empty()) {
            return Err(InputError::EmptyStdin);
        }
        Ok(input)
    }

    async fn open_once(settings: &Settings) -> Result<Input, InputError> {
        let source = settings.content.clone();
        let reader: Box<dyn AsyncBufRead + Unpin + Send> = match &source {
            Source::Inline(bytes) => Box::new(std::io::Cursor::new(bytes.clone())),
            Source::File(path) => {
                if tokio::fs::metadata(path).await.is_ok_and(|m| m.is_dir()) {
                    return Err(InputError::Directory { source });
                }
                let file = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| InputError::read(&source, None, &e))?;
                Box::new(BufReader::with_capacity(READ_BUFFER, file))
            }
            Source::Stdin => Box::new(BufReader::with_capacity(READ_BUFFER, tokio::io::stdin())),
        };
        Ok(Input {
            reader,
            template: Template::new(settings),
            source,
            line: 0,
            partial: Vec::new(),
            peeked: None,
            first: None,
            finished: false,
            repeats_left: settings.repeat.saturating_sub(1),
            delay: settings.repeat_delay,
            next_at: None,
        })
    }

    async fn can_be_read_twice(&self) -> bool {
        match &self.source {
            Source::Inline(_) => true,
            Source::File(path) => tokio::fs::metadata(path).await.is_ok_and(|m| m.is_file()),
            Source::Stdin => false,
        }
    }

    /// The first line not yet taken by [`Input::next`]: where a batch that stops now resumes.
    pub fn next_line(&self) -> u64 {
        match &self.peeked {
            Some((line, _)) => *line,
            None => self.line + 1,
        }
    }

    /// Give back a message taken with [`Input::next`] and not sent (the window was full): the
    /// next call returns it again.
    pub fn put_back(&mut self, line: u64, message: Message) {
        self.peeked = Some((line, message));
    }

    /// The next message, read and not yet taken (the first one, before connecting).
    pub fn peek(&self) -> Option<&Message> {
        self.peeked.as_ref().map(|(_, message)| message)
    }

    /// Make `message` the single message (a request rewrites the one it read).
    pub fn replace_first(&mut self, message: Message) {
        if let Some((_, peeked)) = self.peeked.as_mut() {
            *peeked = message.clone();
        }
        self.first = Some(message);
    }

    /// The message of a single publish (not a batch), read before connecting.
    pub fn first(&self) -> Option<&Message> {
        self.first.as_ref()
    }

    /// The next message and its line number; `None` at the end of the input. Cancel-safe: a
    /// call cut short loses nothing, and the next call goes on where it stopped.
    pub async fn next(&mut self) -> Result<Option<(u64, Message)>, InputError> {
        if let Some(peeked) = self.peeked.take() {
            self.next_at = self.delay.map(|delay| tokio::time::Instant::now() + delay);
            return Ok(Some(peeked));
        }
        if self.finished && self.repeats_left > 0 {
            if let Some(at) = self.next_at {
                // Cancel-safe: the time to wait for is kept, not the timer.
                tokio::time::sleep_until(at).await;
            }
            if let Some(message) = self.first.clone() {
                self.repeats_left -= 1;
                self.line += 1;
                self.next_at = self.delay.map(|delay| tokio::time::Instant::now() + delay);
                return Ok(Some((self.line, message)));
            }
        }
        while !self.finished {
            let Some(raw) = self.read_line().await? else {
                break;
            };
            let text = if self.template.raw_lines {
                raw.strip_suffix(b"\n").unwrap_or(&raw)
            } else {
                line_text(&raw)
            };
            if self.template.mode != Mode::Single && text.is_empty() && !self.template.raw_lines {
                continue; // empty lines are skipped
            }
            let text = if self.template.mode == Mode::Single {
                Bytes::from(raw)
            } else {
                Bytes::copy_from_slice(text)
            };
            let line = self.line;
            return match self.template.message(line, text) {
                // --payload-format utf8 promises the receivers UTF-8: keep the promise here.
                Ok(message)
                    if message.properties.payload_utf8
                        && std::str::from_utf8(&message.payload).is_err() =>
                {
                    self.finished = true;
                    Err(InputError::NotUtf8 {
                        source: self.source.clone(),
                        line: (self.template.mode != Mode::Single).then_some(line),
                    })
                }
                Ok(message) => Ok(Some((line, message))),
                Err(problem) => {
                    // Nothing is read after a bad line, which is where a resumed batch starts.
                    self.line -= 1;
                    self.finished = true;
                    Err(InputError::Line { line, problem })
                }
            };
        }
        Ok(None)
    }

    /// The next raw line with its line ending (the whole content in single mode); `None` at
    /// the end.
    async fn read_line(&mut self) -> Result<Option<Vec<u8>>, InputError> {
        let single = self.template.mode == Mode::Single;
        let limit = self.template.limit();
        loop {
            let available = match self.reader.fill_buf().await {
                Ok(available) => available,
                Err(e) => {
                    let line = (!single).then_some(self.line + 1);
                    return Err(InputError::read(&self.source, line, &e));
                }
            };
            if available.is_empty() {
                self.finished = true;
                if self.partial.is_empty() && !(single && self.line == 0) {
                    return Ok(None);
                }
                self.line += 1;
                return Ok(Some(std::mem::take(&mut self.partial)));
            }
            let (taken, complete) = match memchr::memchr(b'\n', available) {
                Some(at) if !single => (at + 1, true),
                _ => (available.len(), false),
            };
            // The line ending does not count against the limit.
            let body = self.partial.len() + taken - usize::from(complete);
            if body > limit + usize::from(!single && !complete) {
                let line = (!single).then_some(self.line + 1);
                return Err(InputError::TooLarge {
                    source: self.source.clone(),
                    line,
                    limit,
                });
            }
            self.partial.extend_from_slice(&available[..taken]);
            self.reader.consume(taken);
            if complete {
                self.line += 1;
                return Ok(Some(std::mem::take(&mut self.partial)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(mode: Mode) -> Template {
        Template {
            mode,
            topic: Some("default/topic".into()),
            qos: Qos::AtLeastOnce,
            retain: false,
            properties: Properties::default(),
            protocol: None,
            raw_lines: false,
        }
    }

    fn message(text: &[u8]) -> Result<Message, LineProblem> {
        template(Mode::Ndjson).message(7, Bytes::copy_from_slice(text))
    }

    #[test]
    fn line_endings_are_stripped() {
        assert_eq!(line_text(b"abc\n"), b"abc");
        assert_eq!(line_text(b"abc\r\n"), b"abc");
        assert_eq!(line_text(b"abc"), b"abc");
        assert_eq!(line_text(b"\r\n"), b"");
    }

    #[test]
    fn ndjson_fields_default_to_the_flags() {
        let m = message(br#"{"content":"x"}"#).unwrap();
        assert_eq!(
            (m.topic.as_str(), &m.payload[..], m.qos, m.retain),
            ("default/topic", &b"x"[..], Qos::AtLeastOnce, false)
        );
        let m =
            message(br#"{"topic":"a/b","content":{"state":1},"qos":"2","retain":true}"#).unwrap();
        assert_eq!(
            (m.topic.as_str(), &m.payload[..], m.qos, m.retain),
            ("a/b", &br#"{"state":1}"#[..], Qos::ExactlyOnce, true)
        );
    }

    #[test]
    fn bad_ndjson_lines_say_what_is_wrong() {
        assert!(matches!(message(b"not json"), Err(LineProblem::NotJson(_))));
        assert!(matches!(message(b"[1]"), Err(LineProblem::NotObject(_))));
        assert!(matches!(
            message(br#"{"topic":"a"}"#),
            Err(LineProblem::NoContent)
        ));
        match message(br#"{"content":"x","colour":1}"#) {
            Err(LineProblem::UnknownKey { key, known }) => {
                assert_eq!(key, "colour");
                assert_eq!(known, line_keys().collect::<Vec<_>>());
            }
            other => panic!("{other:?}"),
        }
        let error = InputError::Line {
            line: 7,
            problem: message(br#"{"content":"x","colour":1}"#).unwrap_err(),
        };
        assert_eq!(
            error.to_string(),
            "line 7 has an unknown key \"colour\"; a line holds \"topic\", \"content\", \"qos\", \
             \"retain\", \"user-property\", \"content-type\", \"message-expiry\", \
             \"response-topic\", \"correlation-data\" and \"payload-format\""
        );
        // Values follow the config file's rules, and name their line.
        for (text, needle) in [
            (&br#"{"content":"x","qos":5}"#[..], "\"qos\" on line 7"),
            (br#"{"content":"x","topic":"a/#"}"#, "\"topic\" on line 7"),
            (br#"{"content":"x","retain":"yes"}"#, "\"retain\" on line 7"),
        ] {
            match message(text) {
                Err(LineProblem::Value(error)) => {
                    assert!(error.to_string().contains(needle), "{error}")
                }
                other => panic!("{other:?}"),
            }
        }
        let no_default = Template {
            topic: None,
            ..template(Mode::Ndjson)
        };
        assert!(matches!(
            no_default.message(2, Bytes::from_static(br#"{"content":"x"}"#)),
            Err(LineProblem::NoTopic)
        ));
    }

    #[test]
    fn the_line_keys_are_config_keys_and_the_properties_are_clis() {
        let command = crate::cli::command();
        let config_keys: Vec<&str> = crate::cli::config_keys(&command)
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        for key in line_keys() {
            assert!(config_keys.contains(&key), "{key}");
        }
        assert_eq!(PROPERTY_KEYS, crate::cli::property_keys(&command));
    }

    fn with_properties() -> Template {
        Template {
            properties: Properties {
                user: vec![("from".into(), "flags".into())],
                content_type: Some("text/plain".into()),
                ..Properties::default()
            },
            ..template(Mode::Ndjson)
        }
    }

    #[test]
    fn a_lines_properties_override_the_flags_for_its_message() {
        let m = with_properties()
            .message(1, Bytes::from_static(br#"{"content":"x"}"#))
            .unwrap();
        assert_eq!(m.properties, with_properties().properties);
        let line = br#"{"content":"x","user-property":[["b","2"],["a","1"],["b","3"]],
            "content-type":"application/json","message-expiry":60,"response-topic":"r/1",
            "correlation-data":"id-7","payload-format":"utf8"}"#;
        let m = with_properties()
            .message(2, Bytes::copy_from_slice(line))
            .unwrap();
        assert_eq!(
            m.properties,
            Properties {
                user: vec![
                    ("b".into(), "2".into()),
                    ("a".into(), "1".into()),
                    ("b".into(), "3".into())
                ],
                content_type: Some("application/json".into()),
                message_expiry: Some(60),
                response_topic: Some("r/1".into()),
                correlation_data: Some(Bytes::from_static(b"id-7")),
                payload_utf8: true,
            }
        );
        // An object keeps its order; an empty one clears the flags' user properties; null
        // keeps the flags' value.
        let m = with_properties()
            .message(
                3,
                Bytes::from_static(br#"{"content":"x","user-property":{"z":"1","a":"2"}}"#),
            )
            .unwrap();
        assert_eq!(
            m.properties.user,
            [("z".to_string(), "1".to_string()), ("a".into(), "2".into())]
        );
        let m = with_properties()
            .message(
                4,
                Bytes::from_static(br#"{"content":"x","user-property":{},"content-type":null}"#),
            )
            .unwrap();
        assert!(m.properties.user.is_empty());
        assert_eq!(m.properties.content_type.as_deref(), Some("text/plain"));
    }

    #[test]
    fn a_lines_properties_follow_the_config_keys_rules() {
        for (text, needle) in [
            (
                &br#"{"content":"x","message-expiry":0}"#[..],
                "\"message-expiry\" on line 7 must be a whole number of seconds from 1",
            ),
            (
                br#"{"content":"x","message-expiry":"60"}"#,
                "\"message-expiry\" on line 7 must be a whole number, got a string",
            ),
            (
                br#"{"content":"x","response-topic":"r/+"}"#,
                "\"response-topic\" on line 7: the topic \"r/+\" contains a wildcard",
            ),
            (
                br#"{"content":"x","payload-format":"binary"}"#,
                "\"payload-format\" on line 7 must be utf8",
            ),
            (
                br#"{"content":"x","content-type":1}"#,
                "\"content-type\" on line 7 must be a string, got a number",
            ),
            (
                br#"{"content":"x","user-property":"a=1"}"#,
                "\"user-property\" on line 7 must be an object",
            ),
            (
                br#"{"content":"x","user-property":[["a"]]}"#,
                "item 1 of the list is not a [\"key\", \"value\"] pair of strings",
            ),
            (
                br#"{"content":"x","user-property":{"a":1}}"#,
                "the user property \"a\" must have a string value, got a number",
            ),
            (
                br#"{"content":"x","user-property":{"a=b":"c"}}"#,
                "a user property's key must not be empty nor hold \"=\"",
            ),
        ] {
            match message(text) {
                Err(LineProblem::Value(error)) => {
                    assert!(error.to_string().contains(needle), "{error}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_line_with_properties_under_mqtt_3_1_1_is_refused() {
        let pinned = Template {
            protocol: Some(Version::V311),
            ..template(Mode::Ndjson)
        };
        assert!(
            pinned
                .message(1, Bytes::from_static(br#"{"content":"x","qos":0}"#))
                .is_ok()
        );
        match pinned.message(
            5,
            Bytes::from_static(br#"{"content":"x","content-type":"a/b"}"#),
        ) {
            Err(LineProblem::Value(error)) => assert_eq!(
                error.to_string(),
                "\"content-type\" on line 5 needs MQTT 5; drop -V 3.1.1 (or \"protocol-version\" \
                 from the config file)"
            ),
            other => panic!("{other:?}"),
        }
    }

    fn input(mode: Mode, bytes: &[u8], topic: &str) -> Input {
        Input {
            reader: Box::new(std::io::Cursor::new(bytes.to_vec())),
            template: Template {
                topic: Some(topic.into()),
                ..template(mode)
            },
            source: Source::Inline(bytes.to_vec()),
            line: 0,
            partial: Vec::new(),
            peeked: None,
            first: None,
            finished: false,
            repeats_left: 0,
            delay: None,
            next_at: None,
        }
    }

    async fn all(mut input: Input) -> Result<Vec<(u64, Vec<u8>)>, InputError> {
        let mut out = Vec::new();
        while let Some((line, message)) = input.next().await? {
            out.push((line, message.payload.to_vec()));
        }
        Ok(out)
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn lines_are_numbered_and_empty_ones_skipped() {
        let got = block_on(all(input(Mode::Lines, b"a\n\nb\r\nc", "t"))).unwrap();
        assert_eq!(
            got,
            [(1, b"a".to_vec()), (3, b"b".to_vec()), (4, b"c".to_vec())]
        );
    }

    #[test]
    fn single_mode_is_the_whole_content_even_when_empty() {
        let got = block_on(all(input(Mode::Single, b"a\nb\n", "t"))).unwrap();
        assert_eq!(got, [(1, b"a\nb\n".to_vec())]);
        let got = block_on(all(input(Mode::Single, b"", "t"))).unwrap();
        assert_eq!(got, [(1, Vec::new())]);
    }

    #[test]
    fn a_line_over_the_limit_is_refused() {
        let mut too_long = input(Mode::Lines, b"ok\nabcdef\n", "t");
        too_long.template.mode = Mode::Lines;
        // A limit of 5 bytes: the topic's length decides it, so use a Template with a long
        // topic instead of patching the limit.
        let topic = "x".repeat(message::MAX_REMAINING_LENGTH - 2 - 2 - 5);
        too_long.template.topic = Some(topic);
        let error = block_on(all(too_long)).unwrap_err();
        assert!(
            matches!(
                error,
                InputError::TooLarge {
                    line: Some(2),
                    limit: 5,
                    ..
                }
            ),
            "{error:?}"
        );
    }
}
