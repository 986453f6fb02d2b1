//! The in-flight state of a publishing session, kept apart from I/O (as rumqttc's `state.rs`
//! does) so that it can be tested without sockets: which packet id waits for which
//! acknowledgement, whether there is room to send more, and the counts a script needs.
//!
//! A packet counts as sent only once it has been written to the connection ([`InFlight::written`]),
//! and an acknowledgement counts only if it was read after the packet it acknowledges was
//! written: a broker cannot acknowledge what it has not received, so an "acknowledgement" that
//! was already in our receive buffer is not one.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::message::{Message, Qos};

/// How many messages may wait for acknowledgement at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// QoS 1 and 2 together.
    pub total: usize,
    /// QoS 2 (waiting for PUBREC or PUBCOMP).
    pub exactly_once: usize,
}

impl Window {
    /// mosquitto acknowledges QoS 1 as it reads, so 1024 only bounds what the broker holds for
    /// us, far below a stock broker's limits. A broker keeps each QoS 2 message until PUBREL, and
    /// mosquitto takes at most `max_inflight_messages` (default 20) of them per client: past
    /// that, under MQTT 3.1.1, it still answers PUBREC and PUBCOMP but drops the message.
    /// Measured on mosquitto 2.0.11, 50 000 lines: 20 in flight, all delivered; 21, 278 lost;
    /// 1000, 98 % lost. Hence 16.
    pub const DEFAULT: Window = Window {
        total: 1024,
        exactly_once: 16,
    };
}

/// The acknowledgement a message in flight waits for.
#[allow(clippy::enum_variant_names)] // MQTT's packet names
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaiting {
    PubAck,
    PubRec,
    PubComp,
}

impl Awaiting {
    pub fn name(self) -> &'static str {
        match self {
            Awaiting::PubAck => "PUBACK",
            Awaiting::PubRec => "PUBREC",
            Awaiting::PubComp => "PUBCOMP",
        }
    }
}

/// An acknowledgement from the broker.
#[allow(clippy::enum_variant_names)] // MQTT's packet names
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    PubAck(u16),
    PubRec(u16),
    PubComp(u16),
}

/// What to do about an acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// The message from `line` is delivered; `at_qos1`: a QoS 2 message the broker answered
    /// with PUBACK, so took at QoS 1 (RabbitMQ has no QoS 2 and does this).
    Delivered { line: u64, at_qos1: bool },
    /// PUBREC for a QoS 2 message: send PUBREL for this packet id.
    Release(u16),
    /// The broker refused the message from `line` (a reason code of 0x80 or more, MQTT 5): it
    /// stays unacknowledged.
    Rejected { line: u64 },
    /// Not for a packet in flight, or not now; the reason, for `-v`.
    Ignored(&'static str),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    line: u64,
    awaiting: Awaiting,
    /// How many bytes we had read from the connection when the packet that this entry waits
    /// on an answer to (PUBLISH, or PUBREL) was written; `None` until it is written.
    written_at: Option<u64>,
}

/// A packet queued and not yet written.
#[derive(Debug, Clone, Copy)]
enum Unwritten {
    /// A PUBLISH (`pkid` 0 for QoS 0).
    Publish {
        line: u64,
        pkid: u16,
        bytes: usize,
    },
    PubRel(u16),
}

/// How many distinct topics the summary counts before it says "more than".
const TOPICS_COUNTED: usize = 1000;

/// What the session has done, for the meta object and the outcome.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Messages written to the connection.
    pub messages: u64,
    /// Messages acknowledged (QoS 1 and 2; QoS 0 has no acknowledgement).
    pub acknowledged: u64,
    /// Of those, QoS 2 messages the broker answered with PUBACK: taken at QoS 1.
    pub taken_at_qos1: u64,
    /// Of those, messages the broker said no one subscribes to (reason 0x10, MQTT 5).
    pub no_subscribers: u64,
    /// Payload bytes written.
    pub bytes: u64,
    /// Whether a QoS 0 message was written: then only a clean close means delivered.
    pub any_qos0: bool,
    topics: HashSet<String>,
    more_topics: bool,
}

impl Tally {
    /// The topic, or how many topics.
    pub fn topics(&self) -> TopicSummary {
        match (self.topics.len(), self.more_topics) {
            (1, false) => TopicSummary::One(self.topics.iter().next().cloned().unwrap_or_default()),
            (count, more) => TopicSummary::Many { count, more },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicSummary {
    One(String),
    Many { count: usize, more: bool },
}

/// Packet ids and what each waits for, the window, and the tally.
#[derive(Debug)]
pub struct InFlight {
    window: Window,
    entries: HashMap<u16, Entry>,
    exactly_once: usize,
    last_pkid: u16,
    unwritten: Vec<Unwritten>,
    /// Lines queued (or written) and not yet acknowledged.
    outstanding: BTreeSet<u64>,
    tally: Tally,
}

impl InFlight {
    pub fn new(window: Window) -> Self {
        InFlight {
            window,
            entries: HashMap::new(),
            exactly_once: 0,
            last_pkid: 0,
            unwritten: Vec::new(),
            outstanding: BTreeSet::new(),
            tally: Tally::default(),
        }
    }

    /// The window the broker allows (its CONNACK is read before anything is sent).
    pub fn set_window(&mut self, window: Window) {
        self.window = window;
    }

    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Messages waiting for an acknowledgement.
    pub fn in_flight(&self) -> usize {
        self.entries.len()
    }

    /// Nothing waits for an acknowledgement and nothing is left to write.
    pub fn idle(&self) -> bool {
        self.entries.is_empty() && self.unwritten.is_empty()
    }

    /// Whether a message at `qos` may be sent now.
    pub fn has_room(&self, qos: Qos) -> bool {
        match qos {
            Qos::AtMostOnce => true,
            Qos::AtLeastOnce => self.entries.len() < self.window.total,
            Qos::ExactlyOnce => {
                self.entries.len() < self.window.total
                    && self.exactly_once < self.window.exactly_once
            }
        }
    }

    /// Room for a slice of the window (an eighth of it, at least one message): the moment to
    /// read more input, so that a large window's writes carry many messages each instead of one
    /// per acknowledgement, while a small one (an MQTT 5 broker's Receive Maximum of 20) is
    /// kept full.
    pub fn half_empty(&self) -> bool {
        let slice = |size: usize| (size / 8).max(1);
        self.entries.len() + slice(self.window.total) <= self.window.total
            && self.exactly_once + slice(self.window.exactly_once) <= self.window.exactly_once
    }

    /// What the only message in flight waits for (a single publish), if exactly one is.
    pub fn awaiting_one(&self) -> Option<Awaiting> {
        let mut entries = self.entries.values();
        match (entries.next(), entries.next()) {
            (Some(entry), None) => Some(entry.awaiting),
            _ => None,
        }
    }

    /// The first input line that is not known to be acknowledged, given that `unqueued` is the
    /// first line not handed to [`InFlight::publish`]: a script resumes there (`tail -n +LINE`).
    pub fn resume_from_line(&self, unqueued: u64) -> u64 {
        self.outstanding.first().copied().unwrap_or(unqueued).max(1)
    }

    /// The packet id the next message at `qos` goes out with (0 for QoS 0).
    pub fn next_pkid(&mut self, qos: Qos) -> u16 {
        match qos {
            Qos::AtMostOnce => 0,
            _ => self.free_pkid(),
        }
    }

    /// Queue the message from `line` with `pkid` (from [`InFlight::next_pkid`]). Call only when
    /// [`InFlight::has_room`] says so.
    pub fn publish(&mut self, line: u64, message: &Message, pkid: u16) {
        let awaiting = match message.qos {
            Qos::AtMostOnce => None,
            Qos::AtLeastOnce => Some(Awaiting::PubAck),
            Qos::ExactlyOnce => Some(Awaiting::PubRec),
        };
        match awaiting {
            None => {}
            Some(awaiting) => {
                self.last_pkid = pkid;
                self.entries.insert(
                    pkid,
                    Entry {
                        line,
                        awaiting,
                        written_at: None,
                    },
                );
                if message.qos == Qos::ExactlyOnce {
                    self.exactly_once += 1;
                }
            }
        }
        self.unwritten.push(Unwritten::Publish {
            line,
            pkid,
            bytes: message.payload.len(),
        });
        self.outstanding.insert(line);
        if self.tally.topics.len() < TOPICS_COUNTED {
            if !self.tally.topics.contains(&message.topic) {
                self.tally.topics.insert(message.topic.clone());
            }
        } else if !self.tally.topics.contains(&message.topic) {
            self.tally.more_topics = true;
        }
    }

    /// A packet id not in use (never 0), for the next message: the window is far below 65535,
    /// so one is free.
    fn free_pkid(&self) -> u16 {
        let mut pkid = self.last_pkid;
        loop {
            pkid = pkid.wrapping_add(1).max(1);
            if !self.entries.contains_key(&pkid) {
                return pkid;
            }
        }
    }

    /// Everything queued has been written; `read` is how many bytes we had read from the
    /// connection by then. QoS 0 messages are now delivered as far as a QoS 0 message can be.
    pub fn written(&mut self, read: u64) {
        for unwritten in self.unwritten.drain(..) {
            let pkid = match unwritten {
                Unwritten::Publish { line, pkid, bytes } => {
                    self.tally.messages += 1;
                    self.tally.bytes += bytes as u64;
                    if pkid == 0 {
                        // Written is all a QoS 0 message gets: it is no longer outstanding.
                        self.tally.any_qos0 = true;
                        self.outstanding.remove(&line);
                        continue;
                    }
                    pkid
                }
                Unwritten::PubRel(pkid) => pkid,
            };
            if let Some(entry) = self.entries.get_mut(&pkid) {
                entry.written_at = Some(read);
            }
        }
    }

    /// An acknowledgement with its reason code (0 under MQTT 3.1.1) whose last byte was byte
    /// number `read` of what we read.
    pub fn acknowledge(&mut self, ack: Ack, reason: u8, read: u64) -> Reaction {
        let (pkid, kind) = match ack {
            Ack::PubAck(pkid) => (pkid, Awaiting::PubAck),
            Ack::PubRec(pkid) => (pkid, Awaiting::PubRec),
            Ack::PubComp(pkid) => (pkid, Awaiting::PubComp),
        };
        let Some(entry) = self.entries.get_mut(&pkid) else {
            return Reaction::Ignored("no message with this packet id is in flight");
        };
        match entry.written_at {
            None => return Reaction::Ignored("the packet it answers has not been written yet"),
            Some(written_at) if read <= written_at => {
                return Reaction::Ignored(
                    "it arrived before the packet it answers was written, so it cannot answer it",
                );
            }
            Some(_) => {}
        }
        if reason >= 0x80 && (kind == entry.awaiting || kind == Awaiting::PubAck) {
            // Refused: no PUBREL follows a refusing PUBREC; the message stays outstanding.
            let line = entry.line;
            if entry.awaiting != Awaiting::PubAck {
                self.exactly_once -= 1;
            }
            self.entries.remove(&pkid);
            return Reaction::Rejected { line };
        }
        if reason == 0x10 {
            self.tally.no_subscribers += 1;
        }
        if kind == Awaiting::PubAck && entry.awaiting == Awaiting::PubRec {
            // PUBACK for a QoS 2 PUBLISH: the broker took it at QoS 1, and will send nothing
            // more for it.
            let line = entry.line;
            self.entries.remove(&pkid);
            self.exactly_once -= 1;
            self.delivered(line);
            self.tally.taken_at_qos1 += 1;
            return Reaction::Delivered {
                line,
                at_qos1: true,
            };
        }
        if kind != entry.awaiting {
            return Reaction::Ignored("this packet id waits for another acknowledgement");
        }
        match kind {
            Awaiting::PubRec => {
                entry.awaiting = Awaiting::PubComp;
                entry.written_at = None;
                self.unwritten.push(Unwritten::PubRel(pkid));
                Reaction::Release(pkid)
            }
            Awaiting::PubAck | Awaiting::PubComp => {
                let line = entry.line;
                self.entries.remove(&pkid);
                if kind == Awaiting::PubComp {
                    self.exactly_once -= 1;
                }
                self.delivered(line);
                Reaction::Delivered {
                    line,
                    at_qos1: false,
                }
            }
        }
    }

    fn delivered(&mut self, line: u64) {
        if self.outstanding.remove(&line) {
            self.tally.acknowledged += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    /// Queue a message at `qos` from `line`, as the session does; its packet id.
    fn send(state: &mut InFlight, line: u64, qos: Qos) -> u16 {
        let pkid = state.next_pkid(qos);
        state.publish(line, &message(qos), pkid);
        pkid
    }

    fn message(qos: Qos) -> Message {
        Message {
            topic: "t".into(),
            payload: Bytes::from_static(b"abc"),
            qos,
            retain: false,
            properties: crate::message::Properties::default(),
        }
    }

    #[test]
    fn qos_1_is_delivered_by_its_puback() {
        let mut state = InFlight::new(Window::DEFAULT);
        let pkid = send(&mut state, 1, Qos::AtLeastOnce);
        assert_eq!(pkid, 1);
        assert_eq!(state.awaiting_one(), Some(Awaiting::PubAck));
        state.written(0);
        assert_eq!(state.tally().messages, 1);
        assert_eq!(
            state.acknowledge(Ack::PubAck(1), 0, 4),
            Reaction::Delivered {
                line: 1,
                at_qos1: false
            }
        );
        assert!(state.idle());
        assert_eq!(state.tally().acknowledged, 1);
        assert_eq!(state.resume_from_line(2), 2);
    }

    #[test]
    fn qos_2_goes_pubrec_pubrel_pubcomp() {
        let mut state = InFlight::new(Window::DEFAULT);
        let pkid = send(&mut state, 3, Qos::ExactlyOnce);
        state.written(10);
        assert_eq!(
            state.acknowledge(Ack::PubRec(pkid), 0, 14),
            Reaction::Release(pkid)
        );
        assert_eq!(state.awaiting_one(), Some(Awaiting::PubComp));
        assert!(!state.idle(), "PUBREL is queued");
        assert!(
            matches!(
                state.acknowledge(Ack::PubComp(pkid), 0, 18),
                Reaction::Ignored(_)
            ),
            "PUBCOMP before PUBREL was written"
        );
        state.written(14);
        assert_eq!(
            state.acknowledge(Ack::PubComp(pkid), 0, 18),
            Reaction::Delivered {
                line: 3,
                at_qos1: false
            }
        );
        assert!(state.idle());
    }

    #[test]
    fn acknowledgements_read_before_the_publish_was_written_do_not_count() {
        let mut state = InFlight::new(Window::DEFAULT);
        let pkid = send(&mut state, 1, Qos::AtLeastOnce);
        // Not written yet.
        assert!(matches!(
            state.acknowledge(Ack::PubAck(pkid), 0, 8),
            Reaction::Ignored(_)
        ));
        // Written when 8 bytes (CONNACK and that PUBACK) had been read: a PUBACK ending at or
        // before byte 8 was read before the PUBLISH was written.
        state.written(8);
        assert!(matches!(
            state.acknowledge(Ack::PubAck(pkid), 0, 8),
            Reaction::Ignored(_)
        ));
        assert_eq!(state.tally().acknowledged, 0);
        assert_eq!(
            state.acknowledge(Ack::PubAck(pkid), 0, 12),
            Reaction::Delivered {
                line: 1,
                at_qos1: false
            }
        );
    }

    #[test]
    fn unknown_and_mismatched_acknowledgements_are_ignored() {
        let mut state = InFlight::new(Window::DEFAULT);
        let pkid = send(&mut state, 1, Qos::AtLeastOnce);
        state.written(0);
        assert!(matches!(
            state.acknowledge(Ack::PubAck(99), 0, 4),
            Reaction::Ignored(_)
        ));
        assert!(matches!(
            state.acknowledge(Ack::PubComp(pkid), 0, 4),
            Reaction::Ignored(_)
        ));
        assert_eq!(state.in_flight(), 1);
    }

    #[test]
    fn qos_0_is_done_once_written_and_asks_for_a_clean_close() {
        let mut state = InFlight::new(Window::DEFAULT);
        assert_eq!(send(&mut state, 1, Qos::AtMostOnce), 0);
        assert!(!state.idle());
        state.written(0);
        assert!(state.idle());
        assert_eq!(state.tally().messages, 1);
        assert_eq!(
            state.tally().acknowledged,
            0,
            "QoS 0 has no acknowledgement"
        );
        assert_eq!(state.resume_from_line(2), 2);
        assert!(state.tally().any_qos0);
    }

    #[test]
    fn a_puback_for_qos_2_means_the_broker_took_it_at_qos_1() {
        let mut state = InFlight::new(Window::DEFAULT);
        let pkid = send(&mut state, 1, Qos::ExactlyOnce);
        state.written(0);
        assert_eq!(
            state.acknowledge(Ack::PubAck(pkid), 0, 4),
            Reaction::Delivered {
                line: 1,
                at_qos1: true
            }
        );
        assert!(state.idle());
        assert!(state.has_room(Qos::ExactlyOnce));
        assert_eq!(
            (state.tally().acknowledged, state.tally().taken_at_qos1),
            (1, 1)
        );
        // After PUBREC the message is QoS 2 for good: a PUBACK then is not its answer.
        let pkid = send(&mut state, 2, Qos::ExactlyOnce);
        state.written(4);
        assert_eq!(
            state.acknowledge(Ack::PubRec(pkid), 0, 8),
            Reaction::Release(pkid)
        );
        state.written(8);
        assert!(matches!(
            state.acknowledge(Ack::PubAck(pkid), 0, 12),
            Reaction::Ignored(_)
        ));
    }

    #[test]
    fn the_window_bounds_qos_1_and_qos_2_separately() {
        let mut state = InFlight::new(Window {
            total: 4,
            exactly_once: 2,
        });
        send(&mut state, 1, Qos::ExactlyOnce);
        send(&mut state, 2, Qos::ExactlyOnce);
        assert!(!state.has_room(Qos::ExactlyOnce));
        assert!(state.has_room(Qos::AtLeastOnce));
        send(&mut state, 3, Qos::AtLeastOnce);
        send(&mut state, 4, Qos::AtLeastOnce);
        assert!(!state.has_room(Qos::AtLeastOnce));
        assert!(state.has_room(Qos::AtMostOnce));
        assert!(!state.half_empty());
    }

    #[test]
    fn packet_ids_skip_zero_and_busy_ones() {
        let mut state = InFlight::new(Window::DEFAULT);
        assert_eq!(send(&mut state, 1, Qos::AtLeastOnce), 1);
        assert_eq!(send(&mut state, 2, Qos::AtLeastOnce), 2);
        state.last_pkid = u16::MAX - 1;
        assert_eq!(send(&mut state, 3, Qos::AtLeastOnce), u16::MAX);
        assert_eq!(
            send(&mut state, 4, Qos::AtLeastOnce),
            3,
            "wraps past 0 and the busy 1 and 2"
        );
    }

    #[test]
    fn a_rejected_message_stays_unacknowledged_and_frees_its_place() {
        let mut state = InFlight::new(Window {
            total: 4,
            exactly_once: 1,
        });
        let one = send(&mut state, 1, Qos::AtLeastOnce);
        let two = send(&mut state, 2, Qos::ExactlyOnce);
        state.written(0);
        assert_eq!(
            state.acknowledge(Ack::PubAck(one), 0x87, 4),
            Reaction::Rejected { line: 1 }
        );
        assert_eq!(
            state.acknowledge(Ack::PubRec(two), 0x97, 8),
            Reaction::Rejected { line: 2 }
        );
        assert!(state.idle());
        assert!(state.has_room(Qos::ExactlyOnce));
        assert_eq!(state.tally().acknowledged, 0);
        assert_eq!(state.resume_from_line(3), 1);
        // No matching subscribers (0x10) is a success, counted.
        let three = send(&mut state, 3, Qos::AtLeastOnce);
        state.written(8);
        assert_eq!(
            state.acknowledge(Ack::PubAck(three), 0x10, 12),
            Reaction::Delivered {
                line: 3,
                at_qos1: false
            }
        );
        assert_eq!(state.tally().no_subscribers, 1);
    }

    #[test]
    fn resume_line_is_the_first_unacknowledged_line() {
        let mut state = InFlight::new(Window::DEFAULT);
        for line in [1, 2, 4, 5] {
            send(&mut state, line, Qos::AtLeastOnce);
        }
        state.written(0);
        state.acknowledge(Ack::PubAck(1), 0, 4);
        state.acknowledge(Ack::PubAck(3), 0, 8);
        assert_eq!(state.resume_from_line(6), 2);
        state.acknowledge(Ack::PubAck(2), 0, 12);
        state.acknowledge(Ack::PubAck(4), 0, 16);
        assert_eq!(state.resume_from_line(6), 6);
        assert_eq!(state.tally().acknowledged, 4);
        assert_eq!(state.resume_from_line(0), 1, "lines start at 1");
    }
}
