//! Batch mode (`--lines`, `--ndjson`): many messages over one connection. The input is read as
//! a stream, so memory does not grow with it; a bounded window of unacknowledged messages keeps
//! a stock broker from kicking us; and the counts say exactly what the broker acknowledged and
//! from which input line a script can resume.

use std::collections::{BTreeSet, HashSet};

use bytes::Bytes;
use rumqttc::{Packet, PubRel, Publish, QoS};
use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};

use crate::config::{self, Mode, Origin, Settings};
use crate::io_reason::io_reason;
use crate::log::verbose;
use crate::outcome::{Class, Failure};
use crate::payload::Source;
use crate::wire::{Received, Wire, WireError};

/// Messages sent but not yet acknowledged, at most. mosquitto acknowledges QoS 1 as it reads,
/// so this only bounds what the broker holds for us, far from a stock broker's limits.
const WINDOW: usize = 1024;
/// QoS 2 messages sent but not yet completed (PUBCOMP), at most. A broker keeps each one until
/// PUBREL, and mosquitto takes at most `max_inflight_messages` (default 20) of them per client:
/// past that it still answers PUBREC and PUBCOMP but drops the message, and MQTT 3.1.1 gives a
/// client no way to tell. Measured on mosquitto 2.0.11, 50 000 lines: 20 in flight, all
/// delivered; 21, 278 lost; 1000, 98 % lost.
const QOS2_WINDOW: usize = 16;
/// Write to the socket once this much is queued (or the window is full, or the input ends).
const FLUSH_AT: usize = 64 * 1024;
/// How many distinct topics the summary counts before it says "more than".
const TOPICS_COUNTED: usize = 1000;
const READ_BUFFER: usize = 256 * 1024;

/// One message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
}

/// What a line turns into: the flags and config give the defaults.
#[derive(Debug, Clone)]
struct Template {
    ndjson: bool,
    topic: Option<String>,
    qos: QoS,
    retain: bool,
}

impl Template {
    fn new(settings: &Settings) -> Self {
        Template {
            ndjson: settings.mode == Mode::Ndjson,
            topic: settings.topic.clone(),
            qos: settings.qos,
            retain: settings.retain,
        }
    }

    /// The message on `line` (its text without the line ending).
    fn message(&self, line: u64, text: &[u8]) -> Result<Message, Failure> {
        if !self.ndjson {
            let topic = self.topic.clone().unwrap_or_default();
            return Ok(Message {
                topic,
                payload: Bytes::copy_from_slice(text),
                qos: self.qos,
                retain: self.retain,
            });
        }
        let value: Value = serde_json::from_slice(text)
            .map_err(|e| Failure::usage(format!("line {line} is not valid JSON: {e}")))?;
        let Value::Object(fields) = value else {
            return Err(Failure::usage(format!(
                "line {line} must be a JSON object {{\"topic\", \"content\", \"qos\", \"retain\"}}, not {}",
                config::type_name(&value)
            )));
        };
        let mut message = Message {
            topic: String::new(),
            payload: Bytes::new(),
            qos: self.qos,
            retain: self.retain,
        };
        let mut topic = self.topic.clone();
        let mut content = None;
        for (key, value) in fields {
            match key.as_str() {
                "topic" => topic = Some(config::string(value, Origin::Line("topic", line))?),
                "content" => {
                    content = Some(match value {
                        Value::String(text) => Bytes::from(text),
                        // A JSON document (e.g. a shadow update) is sent as its JSON text.
                        other => Bytes::from(other.to_string()),
                    })
                }
                "qos" => message.qos = config::qos_from_json(value, Origin::Line("qos", line))?,
                "retain" => message.retain = config::boolean(value, Origin::Line("retain", line))?,
                other => {
                    return Err(Failure::usage(format!(
                        "line {line} has an unknown key \"{other}\"; a line holds \"topic\", \
                         \"content\", \"qos\" and \"retain\""
                    )));
                }
            }
        }
        let Some(topic) = topic else {
            return Err(Failure::usage(format!(
                "line {line} has no \"topic\" and no --topic gives a default"
            )));
        };
        message.topic = config::validate_topic(topic, Origin::Line("topic", line))?;
        message.payload =
            content.ok_or_else(|| Failure::usage(format!("line {line} has no \"content\"")))?;
        Ok(message)
    }
}

/// Strip the line ending; `None` for a line that is empty (skipped).
fn line_text(raw: &[u8]) -> Option<&[u8]> {
    let text = raw.strip_suffix(b"\n").unwrap_or(raw);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    (!text.is_empty()).then_some(text)
}

/// The input of a batch, read line by line.
pub struct Lines {
    reader: Box<dyn AsyncBufRead + Unpin + Send>,
    template: Template,
    source: String,
    /// The number of the last line read (1-based; empty lines count).
    line: u64,
    buffer: Vec<u8>,
}

impl Lines {
    pub async fn open(settings: &Settings) -> Result<Self, Failure> {
        let reader: Box<dyn AsyncBufRead + Unpin + Send> = match &settings.content {
            Source::Inline(bytes) => Box::new(std::io::Cursor::new(bytes.clone())),
            Source::File(path) => {
                let file = tokio::fs::File::open(path).await.map_err(|e| {
                    Failure::usage(format!(
                        "cannot read the content file {}: {}",
                        path.display(),
                        io_reason(&e)
                    ))
                })?;
                Box::new(BufReader::with_capacity(READ_BUFFER, file))
            }
            Source::Stdin => Box::new(BufReader::with_capacity(READ_BUFFER, tokio::io::stdin())),
        };
        Ok(Lines {
            reader,
            template: Template::new(settings),
            source: settings.content.describe(),
            line: 0,
            buffer: Vec::new(),
        })
    }

    /// The next message and its line number; `None` at the end of the input.
    pub async fn next(&mut self) -> Result<Option<(u64, Message)>, Failure> {
        loop {
            self.buffer.clear();
            let read = self
                .reader
                .read_until(b'\n', &mut self.buffer)
                .await
                .map_err(|e| {
                    Failure::usage(format!(
                        "cannot read line {} of {}: {}",
                        self.line + 1,
                        self.source,
                        io_reason(&e)
                    ))
                })?;
            if read == 0 {
                return Ok(None);
            }
            self.line += 1;
            if let Some(text) = line_text(&self.buffer) {
                return self
                    .template
                    .message(self.line, text)
                    .map(|m| Some((self.line, m)));
            }
        }
    }
}

/// With `--ndjson` and a file (or inline content), check every line before anything is sent,
/// so a bad line 90 000 is exit 2 with nothing published. Stdin can be read once only: its
/// lines are checked as they are sent.
pub async fn check_ndjson(settings: &Settings) -> Result<(), Failure> {
    if settings.content == Source::Stdin {
        return Ok(());
    }
    let mut lines = Lines::open(settings).await?;
    let mut messages = 0u64;
    while lines.next().await?.is_some() {
        messages += 1;
    }
    verbose!("checked {messages} NDJSON message(s) in {}", lines.source);
    Ok(())
}

/// What a batch has done so far. It outlives a batch cut short, for the meta object.
#[derive(Debug, Default)]
pub struct Tally {
    pub messages: u64,
    pub acknowledged: u64,
    pub bytes: u64,
    /// Lines sent (or queued) and not yet acknowledged.
    outstanding: BTreeSet<u64>,
    /// The first line not read yet.
    next_line: u64,
    topics: HashSet<String>,
    more_topics: bool,
}

impl Tally {
    /// The first input line that is not known to be acknowledged: a script resumes there
    /// (`tail -n +LINE`).
    pub fn resume_from_line(&self) -> u64 {
        self.outstanding
            .first()
            .copied()
            .unwrap_or(self.next_line.max(1))
    }

    fn sent(&mut self, line: u64, message: &Message) {
        self.messages += 1;
        self.bytes += message.payload.len() as u64;
        self.outstanding.insert(line);
        if self.topics.len() < TOPICS_COUNTED {
            self.topics.insert(message.topic.clone());
        } else if !self.topics.contains(&message.topic) {
            self.more_topics = true;
        }
    }

    fn acknowledged(&mut self, line: u64) {
        if self.outstanding.remove(&line) {
            self.acknowledged += 1;
        }
    }

    /// "12 of 100 messages acknowledged; resume from line 13".
    pub fn status(&self) -> String {
        format!(
            "{} of {} message(s) sent were acknowledged; resume from line {}",
            self.acknowledged,
            self.messages,
            self.resume_from_line()
        )
    }

    fn topics(&self) -> String {
        match (self.topics.len(), self.more_topics) {
            (1, false) => self.topics.iter().next().cloned().unwrap_or_default(),
            (count, false) => format!("{count} topics"),
            (count, true) => format!("more than {count} topics"),
        }
    }
}

/// The state of one packet id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Free,
    /// QoS 1, waiting for PUBACK; the message came from `line`.
    PubAck(u64),
    /// QoS 2, waiting for PUBREC.
    PubRec(u64),
    /// QoS 2, PUBREL sent, waiting for PUBCOMP.
    PubComp(u64),
}

/// Packet ids 1..=65535 and what each is waiting for.
struct Slots {
    slots: Vec<Slot>,
    next: u16,
    in_use: usize,
    /// Of those, QoS 2 ones (waiting for PUBREC or PUBCOMP).
    exactly_once: usize,
}

impl Slots {
    fn new() -> Self {
        Slots {
            slots: vec![Slot::Free; usize::from(u16::MAX) + 1],
            next: 0,
            in_use: 0,
            exactly_once: 0,
        }
    }

    /// A free packet id (never 0), now holding `slot`. The window is far below 65535, so one
    /// is always free.
    fn take(&mut self, slot: Slot) -> u16 {
        loop {
            self.next = self.next.wrapping_add(1).max(1);
            if self.slots[usize::from(self.next)] == Slot::Free {
                self.set(self.next, slot);
                return self.next;
            }
        }
    }

    fn get(&self, pkid: u16) -> Slot {
        self.slots[usize::from(pkid)]
    }

    fn set(&mut self, pkid: u16, slot: Slot) {
        let old = std::mem::replace(&mut self.slots[usize::from(pkid)], slot);
        let busy = |slot: Slot| usize::from(slot != Slot::Free);
        let qos2 = |slot: Slot| usize::from(matches!(slot, Slot::PubRec(_) | Slot::PubComp(_)));
        self.in_use = self.in_use + busy(slot) - busy(old);
        self.exactly_once = self.exactly_once + qos2(slot) - qos2(old);
    }
}

/// Send every message of `lines` over `wire` and wait until each is acknowledged (QoS 1/2) or
/// written (QoS 0). `tally` is kept up to date for the meta object, whatever happens.
pub async fn send(
    wire: &mut Wire,
    lines: &mut Lines,
    tally: &mut Tally,
    lost: impl Fn(&str, WireError) -> Failure,
) -> Result<String, Failure> {
    let mut slots = Slots::new();
    let mut written_qos0 = Vec::new();
    let mut any_qos0 = false;
    let mut exhausted = false;
    let mut stopped: Option<Failure> = None;
    // A QoS 2 message read while the QoS 2 window was full, sent first next time.
    let mut held: Option<(u64, Message)> = None;
    loop {
        // Refill only once half a window is acknowledged: writes then carry many messages each,
        // instead of one per acknowledgement.
        let refill = slots.in_use <= WINDOW / 2 && slots.exactly_once <= QOS2_WINDOW / 2;
        while refill && !exhausted && slots.in_use < WINDOW && wire.queued() < FLUSH_AT {
            let next = match held.take() {
                Some(next) => Ok(Some(next)),
                None => lines.next().await,
            };
            let (line, message) = match next {
                Ok(Some((line, message)))
                    if message.qos == QoS::ExactlyOnce && slots.exactly_once >= QOS2_WINDOW =>
                {
                    held = Some((line, message));
                    break;
                }
                Ok(Some(next)) => next,
                Ok(None) => {
                    exhausted = true;
                    break;
                }
                // A bad line (or a read error) mid-stream: send nothing more, but collect the
                // acknowledgements already due so the counts are exact.
                Err(failure) => {
                    stopped = Some(failure);
                    exhausted = true;
                    break;
                }
            };
            tally.sent(line, &message);
            let mut publish = Publish::from_bytes(message.topic, message.qos, message.payload);
            publish.retain = message.retain;
            publish.pkid = match message.qos {
                QoS::AtMostOnce => {
                    written_qos0.push(line);
                    any_qos0 = true;
                    0
                }
                QoS::AtLeastOnce => slots.take(Slot::PubAck(line)),
                QoS::ExactlyOnce => slots.take(Slot::PubRec(line)),
            };
            wire.queue(&Packet::Publish(publish)).map_err(|e| {
                Failure::new(Class::Internal, format!("cannot encode a PUBLISH: {e:?}"))
            })?;
        }
        tally.next_line = lines.line + 1;
        if wire.queued() > 0 {
            wire.flush()
                .await
                .map_err(|e| with_status(lost("sending the batch", e), tally))?;
            for line in written_qos0.drain(..) {
                tally.acknowledged(line);
            }
        }
        if slots.in_use == 0 {
            if exhausted {
                break;
            }
            continue;
        }
        // Wait for one acknowledgement, then take every one already received.
        let waiting = "waiting for acknowledgements";
        let mut next = Some(
            wire.receive()
                .await
                .map_err(|e| with_status(lost(waiting, e), tally))?,
        );
        while let Some(received) = next {
            acknowledge(received, &mut slots, tally, wire)?;
            next = wire
                .buffered()
                .map_err(|e| with_status(lost(waiting, e), tally))?;
        }
    }
    if let Some(failure) = stopped {
        tally.next_line = lines.line;
        return Err(Failure::new(
            failure.class,
            format!(
                "{}; the batch stopped there: {}",
                failure.message,
                tally.status()
            ),
        ));
    }
    let at_qos = if lines.template.ndjson {
        String::new()
    } else {
        format!(" at QoS {}", lines.template.qos as u8)
    };
    let note = if tally.messages == 0 {
        " (the input had no messages)"
    } else if any_qos0 {
        " (QoS 0 messages: written, and the connection closed cleanly)"
    } else {
        ""
    };
    Ok(format!(
        "published {} message(s), {} bytes, to {}{at_qos}: all acknowledged{note}",
        tally.messages,
        tally.bytes,
        tally.topics()
    ))
}

/// A failure mid-batch, with the counts a script needs to resume.
fn with_status(failure: Failure, tally: &Tally) -> Failure {
    Failure::new(
        failure.class,
        format!("{}; {}", failure.message, tally.status()),
    )
}

fn acknowledge(
    received: Received,
    slots: &mut Slots,
    tally: &mut Tally,
    wire: &mut Wire,
) -> Result<(), Failure> {
    let Received::Packet(packet) = received else {
        return Ok(());
    };
    match packet {
        Packet::PubAck(ack) => {
            if let Slot::PubAck(line) = slots.get(ack.pkid) {
                slots.set(ack.pkid, Slot::Free);
                tally.acknowledged(line);
            }
        }
        Packet::PubRec(rec) => {
            if let Slot::PubRec(line) = slots.get(rec.pkid) {
                slots.set(rec.pkid, Slot::PubComp(line));
                wire.queue(&Packet::PubRel(PubRel::new(rec.pkid)))
                    .map_err(|e| {
                        Failure::new(Class::Internal, format!("cannot encode PUBREL: {e:?}"))
                    })?;
            }
        }
        Packet::PubComp(comp) => {
            if let Slot::PubComp(line) = slots.get(comp.pkid) {
                slots.set(comp.pkid, Slot::Free);
                tally.acknowledged(line);
            }
        }
        Packet::Disconnect => {
            return Err(Failure::new(
                Class::Dropped,
                format!(
                    "the broker sent DISCONNECT in the middle of the batch; {}",
                    tally.status()
                ),
            ));
        }
        other => verbose!("ignoring {other:?} during the batch"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(ndjson: bool) -> Template {
        Template {
            ndjson,
            topic: Some("default/topic".into()),
            qos: QoS::AtLeastOnce,
            retain: false,
        }
    }

    #[test]
    fn line_endings_are_stripped_and_empty_lines_skipped() {
        assert_eq!(line_text(b"abc\n"), Some(&b"abc"[..]));
        assert_eq!(line_text(b"abc\r\n"), Some(&b"abc"[..]));
        assert_eq!(line_text(b"abc"), Some(&b"abc"[..]));
        assert_eq!(line_text(b"\n"), None);
        assert_eq!(line_text(b"\r\n"), None);
    }

    #[test]
    fn ndjson_fields_default_to_the_flags() {
        let t = template(true);
        let m = t.message(3, br#"{"content":"x"}"#).unwrap();
        assert_eq!(
            (m.topic.as_str(), &m.payload[..], m.qos, m.retain),
            ("default/topic", &b"x"[..], QoS::AtLeastOnce, false)
        );
        let m = t
            .message(
                3,
                br#"{"topic":"a/b","content":{"state":1},"qos":"2","retain":true}"#,
            )
            .unwrap();
        assert_eq!(
            (m.topic.as_str(), &m.payload[..], m.qos, m.retain),
            ("a/b", &br#"{"state":1}"#[..], QoS::ExactlyOnce, true)
        );
    }

    #[test]
    fn bad_ndjson_lines_name_their_line() {
        let t = template(true);
        for (text, needle) in [
            (&b"not json"[..], "line 7 is not valid JSON"),
            (b"[1]", "line 7 must be a JSON object"),
            (br#"{"topic":"a"}"#, "line 7 has no \"content\""),
            (br#"{"content":"x","qos":5}"#, "\"qos\" on line 7"),
            (br#"{"content":"x","topic":"a/#"}"#, "\"topic\" on line 7"),
            (
                br#"{"content":"x","colour":1}"#,
                "line 7 has an unknown key \"colour\"",
            ),
        ] {
            let error = t.message(7, text).unwrap_err();
            assert!(error.message.contains(needle), "{}", error.message);
        }
        let no_default = Template {
            topic: None,
            ..template(true)
        };
        assert!(
            no_default
                .message(2, br#"{"content":"x"}"#)
                .unwrap_err()
                .message
                .contains("no \"topic\"")
        );
    }

    #[test]
    fn packet_ids_skip_zero_and_busy_ones() {
        let mut slots = Slots::new();
        assert_eq!(slots.take(Slot::PubAck(1)), 1);
        assert_eq!(slots.take(Slot::PubAck(2)), 2);
        slots.next = u16::MAX - 1;
        assert_eq!(slots.take(Slot::PubAck(3)), u16::MAX);
        assert_eq!(
            slots.take(Slot::PubAck(4)),
            3,
            "wraps past 0 and the busy 1 and 2"
        );
        assert_eq!(slots.in_use, 4);
        slots.set(1, Slot::Free);
        assert_eq!(slots.in_use, 3);
        let qos2 = slots.take(Slot::PubRec(5));
        assert_eq!((slots.in_use, slots.exactly_once), (4, 1));
        slots.set(qos2, Slot::PubComp(5));
        assert_eq!((slots.in_use, slots.exactly_once), (4, 1));
        slots.set(qos2, Slot::Free);
        assert_eq!((slots.in_use, slots.exactly_once), (3, 0));
    }

    #[test]
    fn resume_line_is_the_first_unacknowledged_line() {
        let mut tally = Tally::default();
        let m = template(false).message(1, b"x").unwrap();
        for line in [1, 2, 4, 5] {
            tally.sent(line, &m);
        }
        tally.next_line = 6;
        tally.acknowledged(1);
        tally.acknowledged(4);
        assert_eq!(tally.resume_from_line(), 2);
        tally.acknowledged(2);
        tally.acknowledged(5);
        assert_eq!(tally.resume_from_line(), 6);
        assert_eq!(tally.acknowledged, 4);
    }
}
