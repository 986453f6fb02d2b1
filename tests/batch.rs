//! Batch mode against a real stock mosquitto: every line arrives (counted by a subscriber), a
//! broker that goes away leaves an honest count, and memory does not grow with the input.

use std::fs;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::support::cmd::spawn;
use crate::support::fault::{Fault, FaultBroker};
use crate::support::{Mosquitto, Subscriber, mqtt_send, numbered_lines, run, run_with_stdin};

const IDLE: Duration = Duration::from_millis(1500);

/// Send `count` numbered lines at `qos` and check that a subscriber saw each, in order.
fn every_line_arrives(count: usize, qos: &str) {
    let broker = Mosquitto::start();
    let sub = Subscriber::connect_qos0(broker.port, &["batch"]).collect(IDLE);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines.txt");
    numbered_lines(&input, count);
    let result = run(mqtt_send()
        .args([
            "-b",
            &broker.url(),
            "-t",
            "batch",
            "-q",
            qos,
            "--lines",
            "--timeout",
            "120",
            "-f",
        ])
        .arg(&input));
    result.expect(0).expect_message("all acknowledged");
    assert_eq!(result.meta["messages"], count);
    assert_eq!(result.meta["acknowledged"], count);
    assert!(result.meta.get("resume-from-line").is_none());
    let received = sub.join().unwrap();
    assert_eq!(received.len(), count, "the subscriber's count");
    assert_eq!(received[0].payload, b"line 1");
    assert_eq!(
        received[count - 1].payload,
        format!("line {count}").as_bytes()
    );
    assert!(
        !broker.log().contains("out of memory"),
        "the broker kicked us"
    );
}

#[test]
fn all_100_000_lines_at_qos_1_are_received() {
    every_line_arrives(100_000, "1");
}

#[test]
fn all_50_000_lines_at_qos_2_are_received() {
    every_line_arrives(50_000, "2");
}

#[test]
fn lines_from_stdin_and_content_skip_empty_lines() {
    let broker = Mosquitto::start();
    let mut sub = Subscriber::connect(broker.port, &["t"]);
    let result = run_with_stdin(
        mqtt_send().args([
            "-b",
            &broker.url(),
            "-t",
            "t",
            "--lines",
            "-f",
            "-",
            "-q",
            "1",
        ]),
        Some(b"first\n\nsecond\r\n\n\nthird"),
    );
    result.expect(0);
    assert_eq!(result.meta["messages"], 3);
    let payloads: Vec<Vec<u8>> = (0..3).map(|_| sub.expect_message().payload).collect();
    assert_eq!(
        payloads,
        [b"first".to_vec(), b"second".to_vec(), b"third".to_vec()]
    );

    run(mqtt_send().args(["-b", &broker.url(), "-t", "t", "--lines", "-m", "a\nb\n"])).expect(0);
    assert_eq!(sub.expect_message().payload, b"a");
    assert_eq!(sub.expect_message().payload, b"b");
}

#[test]
fn ndjson_publishes_to_many_topics_in_one_connection() {
    let broker = Mosquitto::start();
    let mut sub = Subscriber::connect(broker.port, &["n/#"]);
    let input = concat!(
        r#"{"topic": "n/a", "content": "one"}"#,
        "\n",
        r#"{"topic": "n/b", "content": {"state": {"on": true}}, "qos": 2}"#,
        "\n",
        "\n",
        r#"{"content": "default topic", "retain": false}"#,
        "\n",
        r#"{"topic": "n/c", "content": "three", "qos": "0"}"#,
        "\n",
    );
    let result = run_with_stdin(
        mqtt_send().args([
            "-b",
            &broker.url(),
            "-t",
            "n/default",
            "-q",
            "1",
            "--ndjson",
            "-f",
            "-",
        ]),
        Some(input.as_bytes()),
    );
    result.expect(0).expect_message("to 4 topics");
    assert_eq!(result.meta["messages"], 4);
    let mut seen: Vec<(String, Vec<u8>, u8)> = (0..4)
        .map(|_| sub.expect_message())
        .map(|m| (m.topic, m.payload, m.qos))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("n/a".to_string(), b"one".to_vec(), 1),
            ("n/b".to_string(), br#"{"state":{"on":true}}"#.to_vec(), 2),
            ("n/c".to_string(), b"three".to_vec(), 0),
            ("n/default".to_string(), b"default topic".to_vec(), 1),
        ]
    );
    assert_eq!(
        broker.connections(),
        2,
        "one connection for the batch (plus the subscriber)"
    );
}

#[test]
fn a_bad_ndjson_line_in_a_file_stops_everything_before_sending() {
    let listener = FaultBroker::start(Fault::Slow(Duration::ZERO));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("batch.ndjson");
    fs::write(
        &input,
        "{\"topic\":\"a\",\"content\":\"x\"}\n\n{\"topic\":\"a/#\",\"content\":\"x\"}\n",
    )
    .unwrap();
    let result = run(mqtt_send()
        .args(["-b", &listener.url(), "--ndjson", "-f"])
        .arg(&input));
    result.expect(2).expect_message("\"topic\" on line 3");
    listener.assert_untouched();
}

#[test]
fn a_bad_ndjson_line_on_stdin_stops_there_with_honest_counts() {
    let broker = FaultBroker::start(Fault::Slow(Duration::ZERO));
    let input = "{\"topic\":\"a\",\"content\":\"1\"}\n{\"topic\":\"a\",\"content\":\"2\"}\nnot json\n{\"topic\":\"a\",\"content\":\"4\"}\n";
    let result = run_with_stdin(
        mqtt_send().args(["-b", &broker.url(), "-q", "1", "--ndjson", "-f", "-"]),
        Some(input.as_bytes()),
    );
    result
        .expect(2)
        .expect_message("line 3 is not valid JSON")
        .expect_message("2 of 2 message(s) sent were acknowledged");
    assert_eq!(result.meta["acknowledged"], 2);
    assert_eq!(result.meta["resume-from-line"], 3);
    assert_eq!(
        broker.transcripts(),
        [["CONNECT", "PUBLISH", "PUBLISH", "DISCONNECT"]]
    );
}

#[test]
fn a_broker_that_drops_mid_batch_leaves_an_exact_count() {
    let broker = FaultBroker::start(Fault::AckThenClose(1500));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines.txt");
    numbered_lines(&input, 10_000);
    let result = run(mqtt_send()
        .args(["-b", &broker.url(), "-t", "t", "-q", "1", "--lines", "-f"])
        .arg(&input));
    result
        .expect(7)
        .expect_message("1500 of")
        .expect_message("resume from line 1501");
    assert_eq!(result.meta["acknowledged"], 1500);
    assert_eq!(result.meta["resume-from-line"], 1501);
}

#[test]
fn a_real_broker_killed_mid_batch_is_reported_honestly() {
    let mut broker = Mosquitto::start();
    let mut sub = Subscriber::connect_qos0(broker.observer, &["batch"]);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines.txt");
    numbered_lines(&input, 2_000_000);
    let child = spawn(
        mqtt_send()
            .args([
                "-b",
                &broker.url(),
                "-t",
                "batch",
                "-q",
                "1",
                "--lines",
                "--timeout",
                "60",
                "-f",
            ])
            .arg(&input),
        false,
    );
    // Let part of the batch through, then take the broker away.
    let seen_before = sub.next(Duration::from_secs(5)).is_some();
    std::thread::sleep(Duration::from_millis(300));
    broker.kill();
    let output = child.wait_with_output().unwrap();
    assert!(seen_before, "the batch had started");
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(7), "{meta}");
    let acknowledged = meta["acknowledged"].as_u64().unwrap();
    let messages = meta["messages"].as_u64().unwrap();
    let resume = meta["resume-from-line"].as_u64().unwrap();
    assert!(acknowledged > 0 && acknowledged < 2_000_000, "{meta}");
    assert!(acknowledged <= messages, "{meta}");
    // Lines are acknowledged in order here, so the resume line follows the last one.
    assert_eq!(resume, acknowledged + 1, "{meta}");
    // What the broker acknowledged, it had received: the subscriber saw at least up to the
    // last line the broker forwarded, and never a line that was not sent.
    let rest = sub.drain(Duration::from_millis(500));
    let last_seen = rest
        .last()
        .map(|m| {
            String::from_utf8_lossy(&m.payload)
                .trim_start_matches("line ")
                .parse::<u64>()
                .unwrap()
        })
        .unwrap_or(1);
    assert!(
        last_seen <= messages,
        "the subscriber saw line {last_seen} of {messages} sent"
    );
}

#[test]
fn a_deadline_mid_batch_is_6_with_counts() {
    let broker = FaultBroker::start(Fault::NoAck);
    let result = run(mqtt_send().args([
        "-b",
        &broker.url(),
        "-t",
        "t",
        "-q",
        "1",
        "--lines",
        "-m",
        "a\nb\nc",
        "--timeout",
        "1",
    ]));
    result
        .expect(6)
        .expect_message("0 of 3 message(s) sent were acknowledged; resume from line 1");
    assert_eq!(result.meta["resume-from-line"], 1);
}

/// Peak resident memory of a running process, read until it exits.
fn peak_rss_kib(child: &mut std::process::Child) -> u64 {
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = fs::read_to_string(&status)
            && let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
            peak = peak.max(kib);
        }
        if child.try_wait().unwrap().is_some() {
            return peak;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn memory_stays_flat_over_a_large_input() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.txt");
    // 128 MiB of 16 KiB lines: a program that buffered its input would need at least that.
    let line = format!("{}\n", "y".repeat(16 * 1024 - 1));
    let mut file = std::io::BufWriter::new(fs::File::create(&input).unwrap());
    for _ in 0..8 * 1024 {
        file.write_all(line.as_bytes()).unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let started = Instant::now();
    let mut child = spawn(
        mqtt_send()
            .args([
                "-b",
                &broker.url(),
                "-t",
                "big",
                "-q",
                "1",
                "--lines",
                "--timeout",
                "120",
                "-f",
            ])
            .arg(&input),
        false,
    );
    let peak = peak_rss_kib(&mut child);
    let output = child.wait_with_output().unwrap();
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(meta["exit-code"], 0, "{meta}");
    assert_eq!(meta["messages"], 8 * 1024);
    assert!(
        peak > 0 && peak < 48 * 1024,
        "peak RSS {peak} KiB for a 128 MiB input ({:?})",
        started.elapsed()
    );
}
