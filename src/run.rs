//! One run: read the configuration, the TLS files and the input, then attempt the session until
//! it succeeds, fails in a way a retry cannot fix, the retries run out, or the deadline or a
//! signal ends it. One deadline covers everything, and SIGINT/SIGTERM are handled from the
//! first moment: every read of user input (the config file, the password file, PEM files, the
//! system trust store, the content) can be a FIFO that never ends, and none of them may hang the
//! run or kill it without a meta object. What the run did becomes its [`Outcome`].

use std::time::Duration;

use tokio::time::Instant;

use crate::config::{Mode, Settings};
use crate::error::{
    BatchStatus, ConfigError, Error, GaveUp, InputError, Pending, Situation, Step, Waited,
};
use crate::input::Input;
use crate::log::verbose;
use crate::message::{Qos, Version};
use crate::outcome::{Class, Delivered, Details, Outcome};
use crate::request::{Answer, Ask, Expect};
use crate::session::{self, Accepted};
use crate::signals::{Signal, Signals};
use crate::state::{InFlight, Window};
use crate::tls::Tls;
use crate::transport;
use crate::wire::Wire;

/// How long a goodbye (DISCONNECT) may take after a deadline or a signal.
const GOODBYE: Duration = Duration::from_millis(100);
/// How long a broker may stay silent after an MQTT 5 CONNECT before mqtt-send takes it for a
/// 3.1.1 broker that ignores MQTT 5 (when it may fall back): brokers answer CONNECT in
/// milliseconds; one that says nothing for this long does not speak MQTT 5.
const MQTT5_SILENCE: Duration = Duration::from_secs(3);
/// The first retry waits this long; each next one twice as long (plus jitter).
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// What the run has done, for the meta object, whatever happens.
struct Progress {
    step: Step,
    input: Option<Input>,
    state: InFlight,
    attempts: u32,
    /// The protocol version the next (or last) attempt speaks.
    version: Version,
    /// What the broker said in its CONNACK, once it accepted us.
    accepted: Option<Accepted>,
    /// A request's message is ready and its answer can be recognised.
    expect: Option<Expect>,
    /// A request's answer.
    answer: Option<Answer>,
}

/// Read the configuration with `configure` (within `first_deadline` of `started`: the
/// `--timeout` of the command line, or the default, since the config file may change it), then
/// publish as it says and report what happened.
pub async fn run(
    started: std::time::Instant,
    mut signals: Signals,
    first_deadline: Duration,
    reads_files: bool,
    configure: impl FnOnce() -> Result<Settings, ConfigError> + Send + 'static,
) -> Outcome {
    let started = Instant::from_std(started);
    // Without a file to read, configuring cannot block: no thread for it (a thread costs about
    // 0.3 ms of a 2 ms publish).
    if !reads_files {
        return match configure() {
            Ok(settings) => publish(&settings, started, signals).await,
            Err(error) => Outcome::failure(error, Details::default()),
        };
    }
    let configuring = tokio::task::spawn_blocking(configure);
    let situation = Situation {
        broker: None,
        step: Step::Configuring,
    };
    let error = match bounded(&mut signals, started + first_deadline, configuring).await {
        Ok(Ok(settings)) => return publish(&settings, started, signals).await,
        Ok(Err(error)) => Error::from(error),
        Err(Ended::Deadline) => Error::TimedOut {
            after: Waited {
                waited: first_deadline,
                timeout: first_deadline,
            },
            situation,
        },
        Err(Ended::Signal(signal)) => Error::Interrupted { signal, situation },
        Err(Ended::Failed(error)) => error,
    };
    Outcome::failure(error, Details::default())
}

/// Why a bounded wait ended without the result.
enum Ended {
    Deadline,
    Signal(Signal),
    /// The blocking task failed (a bug).
    Failed(Error),
}

/// A blocking task, raced against the deadline and the signals. A task still blocked when the
/// run ends is left behind: the process exits without waiting for it.
async fn bounded<T: Send + 'static>(
    signals: &mut Signals,
    deadline: Instant,
    task: tokio::task::JoinHandle<T>,
) -> Result<T, Ended> {
    tokio::select! {
        done = tokio::time::timeout_at(deadline, task) => match done {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(join)) => Err(Ended::Failed(Error::Internal(format!("a blocking read failed: {join}")))),
            Err(_elapsed) => Err(Ended::Deadline),
        },
        signal = signals.recv() => Err(Ended::Signal(signal)),
    }
}

/// Publish as `settings` say and report what happened.
async fn publish(settings: &Settings, started: Instant, mut signals: Signals) -> Outcome {
    let mut progress = Progress {
        step: Step::Reading(settings.content.clone()),
        input: None,
        state: InFlight::new(Window::DEFAULT),
        attempts: 0,
        version: settings.protocol.unwrap_or(Version::V5),
        accepted: None,
        expect: None,
        answer: None,
    };
    let deadline = started + settings.timeout;
    let result = publish_with_retries(settings, deadline, &mut progress, &mut signals).await;
    // The answer decides a request, however the goodbye after it went.
    let result = result.and_then(|()| rejection(settings, &progress));
    let tally = progress.state.tally();
    let batch = settings.batch();
    let assigned = progress
        .accepted
        .as_ref()
        .and_then(|accepted| accepted.limits.assigned_client_id.clone());
    let reason_code = match &result {
        Err(error) => error.reason_code(),
        Ok(()) if !batch && tally.no_subscribers > 0 => Some(0x10),
        Ok(()) => None,
    };
    let details = Details {
        broker: Some(settings.broker.to_string()),
        client_id: Some(assigned.unwrap_or_else(|| settings.client_id.clone())),
        protocol: progress
            .accepted
            .as_ref()
            .map(|accepted| accepted.version.name()),
        reason_code,
        reason: reason_code.map(crate::error::reason_name),
        no_matching_subscribers: (batch && tally.no_subscribers > 0)
            .then_some(tally.no_subscribers),
        topic: settings.topic.clone(),
        qos: Some(
            single_message(&progress)
                .map_or(settings.qos, |m| m.qos)
                .level(),
        ),
        retain: Some(settings.retain),
        bytes: if batch {
            Some(tally.bytes as usize)
        } else {
            single_message(&progress).map(|m| m.payload.len())
        },
        elapsed_ms: Some(started.elapsed().as_millis() as u64),
        attempts: (progress.attempts > 0).then_some(progress.attempts),
        acknowledged_qos: (tally.taken_at_qos1 > 0).then_some(1),
        messages: batch.then_some(tally.messages),
        acknowledged: batch.then_some(tally.acknowledged),
        resume_from_line: (batch && result.is_err())
            .then(|| batch_status(&progress).resume_from_line),
        shadow: match (&progress.answer, &settings.ask) {
            (Some(Answer::Shadow(verdict)), Some(Ask::Shadow(shadow))) => {
                Some(verdict.meta(shadow.operation))
            }
            _ => None,
        },
        response: match &progress.answer {
            Some(Answer::Response(delivery)) => Some(crate::request::response_meta(delivery)),
            _ => None,
        },
    };
    match result {
        Ok(()) => Outcome::success(delivered(settings, &progress), details),
        Err(error) => Outcome::failure(error, details),
    }
}

/// The single message, read before connecting.
fn single_message(progress: &Progress) -> Option<&crate::message::Message> {
    progress.input.as_ref().and_then(Input::first)
}

/// A shadow request the service rejected: exit 8.
fn rejection(settings: &Settings, progress: &Progress) -> Result<(), Error> {
    match (&progress.answer, &settings.ask) {
        (Some(Answer::Shadow(verdict)), Some(Ask::Shadow(shadow))) if !verdict.accepted => {
            Err(Error::ServiceRejected {
                broker: settings.broker.clone(),
                request: format!("the {} of {}", shadow.operation.name(), shadow.describe()),
                code: verdict.code(),
                message: verdict.message().map(str::to_string),
            })
        }
        _ => Ok(()),
    }
}

/// What was delivered, for the success message.
fn delivered(settings: &Settings, progress: &Progress) -> Delivered {
    let tally = progress.state.tally();
    match (&progress.answer, &settings.ask, single_message(progress)) {
        (Some(Answer::Shadow(verdict)), Some(Ask::Shadow(shadow)), _) => {
            return Delivered::Shadow {
                operation: shadow.operation.name(),
                shadow: shadow.describe(),
                version: verdict.version(),
            };
        }
        (Some(Answer::Response(delivery)), _, Some(message)) => {
            return Delivered::Response {
                bytes: message.payload.len(),
                topic: message.topic.clone(),
                response_topic: delivery.topic.clone(),
                response_bytes: delivery.payload.len(),
            };
        }
        _ => {}
    }
    match (settings.batch(), single_message(progress)) {
        (false, Some(message)) => Delivered::One {
            bytes: message.payload.len(),
            topic: message.topic.clone(),
            qos: message.qos,
            taken_at_qos1: tally.taken_at_qos1 > 0,
        },
        _ => Delivered::Batch {
            messages: tally.messages,
            bytes: tally.bytes,
            topics: tally.topics(),
            qos: (settings.mode != Mode::Ndjson).then_some(settings.qos),
            any_qos0: tally.any_qos0,
            taken_at_qos1: tally.taken_at_qos1,
        },
    }
}

fn batch_status(progress: &Progress) -> BatchStatus {
    let tally = progress.state.tally();
    let unqueued = progress.input.as_ref().map_or(1, Input::next_line);
    BatchStatus {
        acknowledged: tally.acknowledged,
        messages: tally.messages,
        resume_from_line: progress.state.resume_from_line(unqueued),
    }
}

/// Where the run is, in the terms of a single message or of a batch.
fn situation(settings: &Settings, progress: &Progress) -> Situation {
    if let (Step::Sending, Some(expect)) = (&progress.step, &progress.expect) {
        let tally = progress.state.tally();
        return Situation {
            broker: Some(settings.broker.clone()),
            step: Step::Request(Box::new(Pending {
                what: expect.what(),
                ack: session::ack_name(single_message(progress).map_or(settings.qos, |m| m.qos)),
                waiting_for: expect.waiting_for(),
                sent: tally.messages > 0,
                acknowledged: tally.acknowledged > 0,
            })),
        };
    }
    let step = match &progress.step {
        Step::Sending if settings.batch() => Step::Batch(batch_status(progress)),
        Step::Sending => match progress.state.awaiting_one() {
            Some(awaiting) if progress.state.tally().messages > 0 => {
                Step::AwaitingAck(awaiting.name())
            }
            _ => Step::Sending,
        },
        other => other.clone(),
    };
    Situation {
        broker: Some(settings.broker.clone()),
        step,
    }
}

async fn publish_with_retries(
    settings: &Settings,
    deadline: Instant,
    progress: &mut Progress,
    signals: &mut Signals,
) -> Result<(), Error> {
    warn_about_aws_qos2(settings);
    progress.step = Step::PreparingTls;
    let tls = match prepare_tls(settings) {
        Some(preparing) => match bounded(signals, deadline, preparing).await {
            Ok(tls) => Some(tls?),
            Err(Ended::Deadline) => return Err(timed_out(settings, progress, settings.timeout)),
            Err(Ended::Signal(signal)) => return Err(interrupted(settings, progress, signal)),
            Err(Ended::Failed(error)) => return Err(error),
        },
        None => None,
    };

    progress.step = Step::Reading(settings.content.clone());
    let open = Input::open(settings);
    tokio::select! {
        input = tokio::time::timeout_at(deadline, open) => match input {
            Ok(input) => progress.input = Some(input?),
            Err(_elapsed) => return Err(timed_out(settings, progress, settings.timeout)),
        },
        signal = signals.recv() => return Err(interrupted(settings, progress, signal)),
    }
    if let Some(message) = single_message(progress) {
        verbose!(
            "read {} bytes from {}",
            message.payload.len(),
            settings.content.describe()
        );
    }
    if let (Some(ask), Some(input)) = (&settings.ask, progress.input.as_mut()) {
        let Some(mut message) = input.first().cloned() else {
            return Err(Error::Internal("a request without its message".into()));
        };
        let expect = Expect::prepare(ask, &mut message).map_err(|problem| {
            Error::Input(InputError::Document {
                source: settings.content.clone(),
                problem,
            })
        })?;
        input.replace_first(message);
        progress.expect = Some(expect);
    }

    loop {
        progress.attempts += 1;
        // The one fallback to 3.1.1 is not a retry.
        let fell_back = u32::from(progress.version == Version::V311 && settings.protocol.is_none());
        let retries_left = settings
            .retries
            .saturating_sub(progress.attempts - 1 - fell_back);
        let connect_by = connect_deadline(deadline, retries_left);
        progress.step = Step::Resolving;
        let mut wire = None;
        let outcome = {
            let attempt = attempt(settings, tls.as_ref(), progress, &mut wire, connect_by);
            tokio::select! {
                result = tokio::time::timeout_at(deadline, attempt) => Ok(result),
                signal = signals.recv() => Err(signal),
            }
        };
        let result = match outcome {
            Ok(Ok(result)) => result,
            Ok(Err(_elapsed)) => deadline_passed(settings, progress),
            Err(signal) => Err(interrupted(settings, progress, signal)),
        };
        // Cut short after CONNACK (deadline, signal, or a failure): still say goodbye.
        if let Some(wire) = wire
            .as_mut()
            .filter(|_| result.is_err() && progress.step.connected())
        {
            wire.goodbye(GOODBYE).await;
        }
        let mut error = match result {
            Ok(()) => return Ok(()),
            Err(error) => in_batch_terms(settings, progress, error),
        };
        // MQTT 5 by default, and 3.1.1 once when the broker does not speak 5, unless that would
        // drop the MQTT 5 properties asked for.
        if settings.protocol.is_none()
            && progress.version == Version::V5
            && error.protocol_refused()
        {
            let properties = mqtt5_properties(settings, progress);
            if properties.is_empty() {
                verbose!("the broker does not speak MQTT 5 ({error}); connecting again with 3.1.1");
                progress.version = Version::V311;
                continue;
            }
            verbose!("the broker may not speak MQTT 5 ({error}); 3.1.1 would drop the properties");
            error = Error::NeedsMqtt5 {
                broker: settings.broker.clone(),
                properties,
                refusal: Some(Box::new(error)),
                line: None,
            };
        }
        if retries_left == 0 || !retryable(&error, &progress.step) {
            return Err(give_up(error, progress.attempts, GaveUp::NoRetriesLeft));
        }
        let pause = backoff(progress.attempts);
        if Instant::now() + pause >= deadline {
            return Err(give_up(error, progress.attempts, GaveUp::PastTheDeadline));
        }
        verbose!(
            "attempt {} failed ({error}); retrying in {} ms",
            progress.attempts,
            pause.as_millis()
        );
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            signal = signals.recv() => {
                progress.step = Step::Resolving;
                return Err(interrupted(settings, progress, signal));
            }
        }
    }
}

/// One connection: connect (by `connect_by`), CONNECT/CONNACK, the messages and their
/// acknowledgements, DISCONNECT. The connection goes into `slot` as soon as it exists, so that
/// the caller can still say goodbye if this future is cut short.
async fn attempt(
    settings: &Settings,
    tls: Option<&Tls>,
    progress: &mut Progress,
    slot: &mut Option<Wire>,
    connect_by: Instant,
) -> Result<(), Error> {
    let share = connect_by.saturating_duration_since(Instant::now());
    let version = progress.version;
    // Some 3.1.1 brokers (amqtt 0.12.1, seen in scripts/interop) neither answer nor close on an
    // MQTT 5 CONNECT: when falling back is allowed, silence counts as "does not speak 5".
    let silence = (settings.protocol.is_none()
        && version == Version::V5
        && mqtt5_properties(settings, progress).is_empty())
    .then_some(MQTT5_SILENCE);
    let step = &mut progress.step;
    let connecting = async {
        let stream = transport::connect(
            &settings.broker,
            tls,
            settings.proxy.as_ref(),
            settings.aws_sigv4.as_ref(),
            step,
        )
        .await?;
        let wire = slot.insert(Wire::new(stream, version));
        let accepted = session::handshake(settings, tls, wire, step, silence).await?;
        Ok::<_, Error>((wire, accepted))
    };
    let (wire, accepted) = match tokio::time::timeout_at(connect_by, connecting).await {
        Ok(connected) => connected?,
        Err(_elapsed) => return Err(timed_out(settings, progress, share)),
    };
    progress.state.set_window(session::window(&accepted));
    let accepted = progress.accepted.insert(accepted);
    let Some(input) = progress.input.as_mut() else {
        return Err(Error::Internal("the input was not opened".into()));
    };
    if let Some(expect) = &progress.expect {
        let answer =
            session::request(settings, accepted, wire, input, &mut progress.state, expect).await?;
        progress.answer = Some(answer);
        progress.step = Step::Closing;
        let first = progress.input.as_ref().and_then(Input::first);
        return session::close(settings, wire, &progress.state, first).await;
    }
    session::publish(settings, accepted, wire, input, &mut progress.state).await?;
    progress.step = Step::Closing;
    let first = progress.input.as_ref().and_then(Input::first);
    session::close(settings, wire, &progress.state, first).await
}

/// The MQTT 5 properties every message gets, and those of the first message (an NDJSON line
/// may set its own), by name.
fn mqtt5_properties(settings: &Settings, progress: &Progress) -> Vec<&'static str> {
    let mut names = settings.properties.names();
    names.extend(settings.mqtt5_only());
    if let Some(first) = progress.input.as_ref().and_then(Input::peek) {
        names.extend(first.properties.names());
    }
    names.sort_unstable();
    names.dedup();
    names
}

/// In a batch, a failure after CONNACK says how far the batch got.
fn in_batch_terms(settings: &Settings, progress: &Progress, error: Error) -> Error {
    let connected = progress.step.connected();
    if !settings.batch()
        || !connected
        || matches!(error, Error::TimedOut { .. } | Error::Interrupted { .. })
    {
        return error;
    }
    let stopped = matches!(
        error,
        Error::Input(_) | Error::Rejected { .. } | Error::Limit { .. } | Error::NeedsMqtt5 { .. }
    );
    Error::Batch {
        error: Box::new(error),
        status: batch_status(progress),
        stopped,
    }
}

/// Only failures where nothing was published are retried: could not connect (3), and a
/// deadline before CONNACK (6). Never usage (2), TLS (4), refused (5) or dropped (7).
fn retryable(error: &Error, step: &Step) -> bool {
    match error.class() {
        Class::Connect => true,
        Class::Timeout => !step.connected(),
        Class::Refused => error.transient_refusal(),
        _ => false,
    }
}

/// The deadline for one attempt's connect phase (DNS, TCP, TLS, CONNACK): with retries left,
/// a share of the time left, so that a broker that never answers still leaves room to retry.
fn connect_deadline(deadline: Instant, retries_left: u32) -> Instant {
    let left = deadline.saturating_duration_since(Instant::now());
    let share = left / (retries_left + 1);
    Instant::now() + share.max(left.min(Duration::from_secs(1)))
}

/// Exponential backoff from 0.5 s, doubling, with up to +50 % jitter so that many cron jobs do
/// not retry in step.
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let base = FIRST_BACKOFF * 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
    let jitter = (RandomState::new().hash_one(attempt) % 1000) as f64 / 2000.0;
    base.mul_f64(1.0 + jitter)
}

fn give_up(error: Error, attempts: u32, why: GaveUp) -> Error {
    if attempts <= 1 {
        return error;
    }
    Error::GaveUp {
        error: Box::new(error),
        attempts,
        why,
    }
}

/// The TLS client, built before any network I/O (a bad file is exit 2), when the URL is TLS:
/// its files (and the system trust store) are read on a blocking thread, so that the deadline
/// and the signals still rule.
type PreparingTls = tokio::task::JoinHandle<Result<Tls, crate::error::TlsSetupError>>;

fn prepare_tls(settings: &Settings) -> Option<PreparingTls> {
    if settings.broker.tls {
        let (options, broker) = (settings.tls.clone(), settings.broker.clone());
        return Some(tokio::task::spawn_blocking(move || {
            Tls::new(&options, &broker)
        }));
    }
    let options = &settings.tls;
    if options.root_ca_crt.is_some()
        || options.capath.is_some()
        || options.certificate.is_some()
        || options.private_key.is_some()
        || !options.alpn.is_empty()
    {
        verbose!(
            "TLS settings are ignored: the broker URL {} is not a TLS URL",
            settings.broker
        );
    }
    None
}

/// AWS IoT Core takes QoS 0 and 1 only and drops the connection on a QoS 2 PUBLISH.
fn warn_about_aws_qos2(settings: &Settings) {
    if settings.broker.is_aws() && settings.qos == Qos::ExactlyOnce {
        crate::log::say!(
            "warning: AWS IoT Core supports QoS 0 and 1 only and closes the connection \
             on a QoS 2 publish (QoS 2 is the default): use --qos 1"
        );
    }
}

/// The deadline, or (with retries left) an attempt's share of it, after `waited`.
fn timed_out(settings: &Settings, progress: &Progress, waited: Duration) -> Error {
    Error::TimedOut {
        after: Waited {
            waited,
            timeout: settings.timeout,
        },
        situation: situation(settings, progress),
    }
}

/// The deadline passed. Once every message is acknowledged, only the goodbye was left: that
/// is still a success, unless a QoS 0 message needed the clean close.
fn deadline_passed(settings: &Settings, progress: &Progress) -> Result<(), Error> {
    if progress.step == Step::Closing && !progress.state.tally().any_qos0 {
        verbose!("the deadline passed while closing the connection after the acknowledgement");
        return Ok(());
    }
    Err(timed_out(settings, progress, settings.timeout))
}

fn interrupted(settings: &Settings, progress: &Progress, signal: Signal) -> Error {
    Error::Interrupted {
        signal,
        situation: situation(settings, progress),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_at_most_half_again_of_jitter() {
        for attempt in 1..6 {
            let base = FIRST_BACKOFF * 2u32.pow(attempt - 1);
            let pause = backoff(attempt);
            assert!(
                pause >= base && pause <= base.mul_f64(1.5),
                "{attempt}: {pause:?}"
            );
        }
    }

    #[test]
    fn only_failures_before_anything_was_published_are_retried() {
        let broker = crate::broker::parse("tcp://127.0.0.1:1883").unwrap();
        let refused = Error::TcpRefused {
            broker: broker.clone(),
            address: "127.0.0.1:1883".parse().unwrap(),
        };
        assert!(retryable(
            &refused,
            &Step::Connecting(vec!["127.0.0.1:1883".parse().unwrap()])
        ));
        let timed_out = |step: Step| Error::TimedOut {
            after: Waited {
                waited: Duration::from_secs(1),
                timeout: Duration::from_secs(1),
            },
            situation: Situation {
                broker: Some(broker.clone()),
                step,
            },
        };
        assert!(retryable(
            &timed_out(Step::AwaitingConnAck),
            &Step::AwaitingConnAck
        ));
        assert!(!retryable(&timed_out(Step::Sending), &Step::Sending));
        let refused = |code, version| Error::Refused {
            broker: broker.clone(),
            code,
            version,
            reason_string: None,
            server_reference: None,
        };
        assert!(!retryable(
            &refused(5, Version::V311),
            &Step::AwaitingConnAck
        ));
        assert!(!retryable(
            &refused(0x87, Version::V5),
            &Step::AwaitingConnAck
        ));
        for busy in [0x88, 0x89, 0x9f] {
            assert!(retryable(
                &refused(busy, Version::V5),
                &Step::AwaitingConnAck
            ));
        }
    }
}
