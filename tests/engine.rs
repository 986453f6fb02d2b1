//! Engine defects, each reproduced as a user meets it: the exit status, the meta object, what a
//! real subscriber received and what a scripted broker saw. Every test asserts the correct
//! behaviour.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::Duration;

use rumqttc::QoS;

use crate::support::broker::free_port;
use crate::support::cmd::{Run, run_with_open_stdin};
use crate::support::fault::{Fault, FaultBroker};
use crate::support::{Mosquitto, Subscriber, mqtt_send, run, run_with_stdin};

/// Three NDJSON messages to topics e/1, e/2 and e/3.
const NDJSON: &str = concat!(
    r#"{"topic": "e/1", "content": "one"}"#,
    "\n",
    r#"{"topic": "e/2", "content": "two"}"#,
    "\n",
    r#"{"topic": "e/3", "content": "three"}"#,
    "\n",
);

/// Each of the three NDJSON messages reached the subscriber, and the run counted them.
fn every_ndjson_line_arrived(result: &Run, sub: &mut Subscriber) {
    result.expect(0);
    assert_eq!(result.meta["messages"], 3, "{:#?}", result.meta);
    assert_eq!(result.meta["acknowledged"], 3, "{:#?}", result.meta);
    let mut seen: Vec<(String, Vec<u8>)> = std::iter::from_fn(|| sub.next(Duration::from_secs(2)))
        .map(|m| (m.topic, m.payload))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("e/1".to_string(), b"one".to_vec()),
            ("e/2".to_string(), b"two".to_vec()),
            ("e/3".to_string(), b"three".to_vec()),
        ]
    );
}

/// Defect 1 (named FIFO): the up-front NDJSON check reads the FIFO to its end; the send pass
/// opens it again, and with no writer left that open waits until the deadline: nothing is
/// published. Every line must be published, exactly once.
#[test]
fn ndjson_from_a_named_fifo_publishes_every_line() {
    let broker = Mosquitto::start();
    let mut sub = Subscriber::connect(broker.port, &["e/#"]);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("input.ndjson");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success(), "mkfifo failed");
    // Opening a FIFO to write waits for a reader. The writer writes the three lines once and
    // closes; if nobody opens the FIFO it stays blocked and is left behind (not joined).
    {
        let fifo = fifo.clone();
        thread::spawn(move || {
            let mut pipe = fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            pipe.write_all(NDJSON.as_bytes()).unwrap();
        });
    }
    let result = run(mqtt_send()
        .args([
            "-b",
            &broker.url(),
            "-q",
            "1",
            "--ndjson",
            "--timeout",
            "5",
            "-f",
        ])
        .arg(&fifo));
    every_ndjson_line_arrived(&result, &mut sub);
}

/// Defect 1 (`-f /dev/stdin` on a pipe): the up-front check drains the pipe, the send pass
/// reopens `/dev/stdin`, finds it empty and reports 0 messages with exit 0. Every line must be
/// published.
#[test]
fn ndjson_from_dev_stdin_on_a_pipe_publishes_every_line() {
    let broker = Mosquitto::start();
    let mut sub = Subscriber::connect(broker.port, &["e/#"]);
    let result = run_with_stdin(
        mqtt_send().args([
            "-b",
            &broker.url(),
            "-q",
            "1",
            "--ndjson",
            "--timeout",
            "5",
            "-f",
            "/dev/stdin",
        ]),
        Some(NDJSON.as_bytes()),
    );
    every_ndjson_line_arrived(&result, &mut sub);
}

/// Defect 2: NDJSON lines at `"qos": 0` while `--qos` is the default 2, against a broker that
/// closes right after CONNACK. The DISCONNECT after the QoS 0 messages fails (broken pipe: the
/// broker reset the connection), yet the run exits 0, because success is decided by the run's
/// `--qos`, not by each message's own QoS. Correct: 7, as for a single `-q 0` message on the
/// same broker (checked first: that path already gets it right).
#[test]
fn ndjson_qos_0_lines_on_a_connection_closed_after_connack_are_7() {
    let broker = FaultBroker::start(Fault::ConnAckThenClose);
    run(mqtt_send().args([
        "-b",
        &broker.url(),
        "-t",
        "t",
        "-m",
        "x",
        "-q",
        "0",
        "--timeout",
        "3",
    ]))
    .expect(7);

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("qos0.ndjson");
    fs::write(
        &input,
        concat!(
            r#"{"topic": "t", "content": "one", "qos": 0}"#,
            "\n",
            r#"{"topic": "t", "content": "two", "qos": 0}"#,
            "\n",
        ),
    )
    .unwrap();
    let result = run(mqtt_send()
        .args(["-b", &broker.url(), "--ndjson", "--timeout", "3", "-f"])
        .arg(&input));
    result.expect(7);
}

/// Defect 3: acknowledgements that sat in the receive buffer before the PUBLISH they name was
/// written are taken as its acknowledgement. An ack counts only for a packet id in flight when
/// the ack is read: the broker below never saw a PUBLISH, so the run must time out (6).
#[test]
fn acks_received_before_the_publish_do_not_count() {
    for (fault, qos, waiting) in [
        (Fault::AckInAdvance(QoS::AtLeastOnce, 1), "1", "PUBACK"),
        (Fault::AckInAdvance(QoS::ExactlyOnce, 1), "2", "PUBREC"),
    ] {
        let broker = FaultBroker::start(fault);
        let result = run(mqtt_send().args([
            "-b",
            &broker.url(),
            "-t",
            "t",
            "-m",
            "x",
            "-q",
            qos,
            "--timeout",
            "2",
        ]));
        result
            .expect(6)
            .expect_message(&format!("waiting for {waiting}"));
    }
}

/// Defect 3, batch: PUBACK 1..10 arrive with the CONNACK, before any of the ten PUBLISH
/// packets; none of them acknowledges anything.
#[test]
fn batch_acks_received_before_the_publishes_do_not_count() {
    let broker = FaultBroker::start(Fault::AckInAdvance(QoS::AtLeastOnce, 10));
    let lines: String = (1..=10).map(|n| format!("line {n}\n")).collect();
    let result = run(mqtt_send().args([
        "-b",
        &broker.url(),
        "-t",
        "t",
        "-q",
        "1",
        "--lines",
        "-m",
        &lines,
        "--timeout",
        "2",
    ]));
    result.expect(6);
    assert_eq!(result.meta["messages"], 10, "{:#?}", result.meta);
    assert_eq!(result.meta["acknowledged"], 0, "{:#?}", result.meta);
    assert_eq!(result.meta["resume-from-line"], 1, "{:#?}", result.meta);
}

/// Defect 4: `--lines -f -` holds the lines it has read until 64 KiB or the end of the input,
/// so a slow producer's lines are not sent. Each line must be written and acknowledged as soon
/// as it is read; the run then ends at the deadline (6) with both counted.
#[test]
fn lines_from_a_slow_stdin_are_sent_as_they_are_read() {
    let broker = Mosquitto::start();
    let mut sub = Subscriber::connect(broker.port, &["t"]);
    let result = run_with_open_stdin(
        mqtt_send().args([
            "-b",
            &broker.url(),
            "-t",
            "t",
            "-q",
            "1",
            "--lines",
            "-f",
            "-",
            "--timeout",
            "3",
        ]),
        b"a\nb\n",
    );
    result.expect(6);
    assert_eq!(result.meta["messages"], 2, "{:#?}", result.meta);
    assert_eq!(result.meta["acknowledged"], 2, "{:#?}", result.meta);
    assert_eq!(result.meta["resume-from-line"], 3, "{:#?}", result.meta);
    let received: Vec<Vec<u8>> = std::iter::from_fn(|| sub.next(Duration::from_secs(1)))
        .map(|m| m.payload)
        .collect();
    assert_eq!(received, [b"a".to_vec(), b"b".to_vec()]);
}

/// Defect 5: a write that fails mid-batch is reported before the acknowledgements already
/// received are read, so `acknowledged` is low and a resume would publish again what the
/// broker acknowledged. The broker acknowledges the first 50 messages; the 51st is a 32 MiB
/// line the client is still writing when the broker resets the connection, with the 50 PUBACKs
/// unread in the client's receive buffer (Linux keeps them readable after the reset).
#[test]
fn a_write_failing_mid_batch_still_counts_the_acks_received() {
    const ACKED: usize = 50;
    let broker = FaultBroker::start(Fault::AckThenReset(ACKED));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines.txt");
    write_batch(&input, ACKED);
    let result = lines_at_qos_1(&broker.url(), &input);
    result.expect(7);
    assert_eq!(result.meta["acknowledged"], ACKED, "{:#?}", result.meta);
    assert_eq!(
        result.meta["resume-from-line"],
        ACKED + 1,
        "{:#?}",
        result.meta
    );
}

/// `small` numbered lines, one line of 32 MiB (more than any socket buffers hold), then 100
/// more numbered lines.
/// `--lines -f input` at QoS 1 to `broker`, with a 5 s deadline.
fn lines_at_qos_1(broker: &str, input: &Path) -> Run {
    run(mqtt_send()
        .args([
            "-b",
            broker,
            "-t",
            "t",
            "-q",
            "1",
            "--lines",
            "--timeout",
            "5",
            "-f",
        ])
        .arg(input))
}

fn write_batch(path: &Path, small: usize) {
    let mut file = std::io::BufWriter::new(fs::File::create(path).unwrap());
    for n in 1..=small {
        writeln!(file, "line {n}").unwrap();
    }
    let chunk = vec![b'y'; 1024 * 1024];
    for _ in 0..32 {
        file.write_all(&chunk).unwrap();
    }
    file.write_all(b"\n").unwrap();
    for n in small + 2..small + 102 {
        writeln!(file, "line {n}").unwrap();
    }
    file.flush().unwrap();
}

/// Defect 6: a batch line too large for any MQTT packet is found only after connecting, and
/// reported as an internal error (1). A single message that large is 2 before connecting;
/// a batch line must be too.
#[test]
fn a_batch_line_over_the_mqtt_packet_limit_is_2_before_connecting() {
    let broker = FaultBroker::start(Fault::Slow(Duration::ZERO));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("huge.txt");
    // 268 435 456 bytes: one more than MQTT's largest remaining length, before any header.
    let mut file = std::io::BufWriter::new(fs::File::create(&input).unwrap());
    let chunk = vec![b'z'; 1024 * 1024];
    for _ in 0..256 {
        file.write_all(&chunk).unwrap();
    }
    file.write_all(b"\n").unwrap();
    file.flush().unwrap();
    drop(file);
    assert_eq!(fs::metadata(&input).unwrap().len(), 268_435_457);
    let result = lines_at_qos_1(&broker.url(), &input);
    result.expect(2);
    broker.assert_untouched();
}

/// Defect 7: `--lines -f` with a file that does not exist is found only after connecting:
/// with a broker up it is 2 after CONNECT/CONNACK, with a broker down it is 3 ("could not
/// connect") after every retry. Correct: 2, naming the file, before any network I/O.
#[test]
fn a_missing_batch_file_is_2_before_connecting() {
    let broker = FaultBroker::start(Fault::Slow(Duration::ZERO));
    let down = format!("tcp://127.0.0.1:{}", free_port());
    for url in [broker.url(), down] {
        let result = run(mqtt_send().args([
            "-b",
            &url,
            "-t",
            "t",
            "--lines",
            "-f",
            "/missing/file",
            "--retries",
            "2",
            "--timeout",
            "5",
        ]));
        result.expect(2).expect_message("/missing/file");
        broker.assert_untouched();
    }
}
