//! Never hang, never crash, never leak (issue 10, the engine's side): reads that never end,
//! signals at any moment, an unwritable stderr, brokers that answer QoS 2 with PUBACK or reset
//! the connection after DISCONNECT, and hints that fit the facts.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::certs::Ca;
use crate::support::cmd::Run;
use crate::support::fault::{Fault, FaultBroker};
use crate::support::{Mosquitto, Subscriber, mqtt_send, mqtt_send_to, run, run_and_signal};

/// A named pipe that nobody writes to: opening it to read waits for ever.
fn fifo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(status.success(), "mkfifo failed");
    path
}

#[test]
fn reads_that_never_end_are_bounded_by_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let never = fifo(dir.path(), "never");
    let broker = FaultBroker::start(Fault::Slow(Duration::ZERO));
    let cases: [(&[&str], &str, String); 3] = [
        (
            &["--password-file"],
            "reading the configuration",
            broker.url(),
        ),
        (&["-c"], "reading the configuration", broker.url()),
        (
            &["--root-ca-crt"],
            "reading the TLS files",
            format!("ssl://localhost:{}", broker.port),
        ),
    ];
    for (flag, situation, url) in cases {
        let result = run(mqtt_send_to(&url)
            .args(["-u", "u", "--timeout", "1.5"])
            .args(flag)
            .arg(&never));
        result
            .expect(6)
            .expect_message("timed out after 1.5 s")
            .expect_message(situation)
            .expect_message("nothing was sent");
        result.took(..Duration::from_secs(4));
    }
    broker.assert_untouched();
}

#[test]
fn a_signal_while_reading_files_still_prints_a_meta_object() {
    let dir = tempfile::tempdir().unwrap();
    let never = fifo(dir.path(), "never");
    let result = run_and_signal(
        mqtt_send_to("tcp://127.0.0.1:1")
            .args(["-u", "u", "--password-file"])
            .arg(&never),
        "TERM",
        Duration::from_millis(300),
    );
    result
        .expect(143)
        .expect_message("interrupted by SIGTERM reading the configuration");
    let result = run_and_signal(
        mqtt_send_to("ssl://localhost:1")
            .arg("--root-ca-crt")
            .arg(&never),
        "INT",
        Duration::from_millis(300),
    );
    result
        .expect(130)
        .expect_message("interrupted by SIGINT reading the TLS files");
}

/// Run with stderr going to `stderr`; what a script sees on stdout and the exit status.
fn run_with_stderr(command: &mut Command, stderr: Stdio) -> (i32, serde_json::Value) {
    let output = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .output()
        .expect("mqtt-send runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let meta = serde_json::from_str(stdout.trim()).expect("one meta object on stdout");
    (output.status.code().expect("exited"), meta)
}

#[test]
fn an_unwritable_stderr_changes_nothing() {
    let refused = || {
        let mut command = mqtt_send_to("tcp://127.0.0.1:1");
        command.arg("-v");
        command
    };
    let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
    let (code, meta) = run_with_stderr(&mut refused(), Stdio::from(full));
    assert_eq!(
        (code, &meta["exit-code"]),
        (3, &serde_json::json!(3)),
        "{meta}"
    );

    // A stderr pipe whose reader is gone.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let (code, meta) = run_with_stderr(&mut refused(), Stdio::from(writer));
    assert_eq!(code, 3, "{meta}");

    // And a success stays a success.
    let broker = Mosquitto::start();
    let full = File::options().write(true).open("/dev/full").unwrap();
    let (code, meta) = run_with_stderr(mqtt_send_to(&broker.url()).arg("-v"), Stdio::from(full));
    assert_eq!(code, 0, "{meta}");
}

#[test]
fn a_puback_for_qos_2_means_the_broker_took_it_at_qos_1() {
    let broker = FaultBroker::start(Fault::PubAckForQos2);
    let result = run(mqtt_send_to(&broker.url()).args(["--timeout", "5"]));
    result
        .expect(0)
        .expect_message("acknowledged (PUBACK): the broker took it at QoS 1");
    result.took(..Duration::from_secs(2));
    assert_eq!(result.meta["acknowledged-qos"], 1);
    assert!(
        result.stderr.contains("took the message at QoS 1"),
        "{}",
        result.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("lines.txt");
    crate::support::numbered_lines(&lines, 40);
    let result = run(mqtt_send()
        .args([
            "-b",
            &broker.url(),
            "-t",
            "t",
            "--lines",
            "--timeout",
            "5",
            "-f",
        ])
        .arg(&lines));
    result
        .expect(0)
        .expect_message("40 QoS 2 message(s) taken at QoS 1");
    assert_eq!(result.meta["acknowledged"], 40);
    assert_eq!(result.meta["acknowledged-qos"], 1);
}

#[test]
fn a_broker_that_resets_after_disconnect_may_have_dropped_qos_0() {
    let broker = FaultBroker::start(Fault::ResetOnDisconnect);
    let result = run(mqtt_send_to(&broker.url()).args(["-q", "0", "--timeout", "5"]));
    result
        .expect(7)
        .expect_message("reset the connection after our DISCONNECT")
        .expect_message("may have been dropped");
    // At QoS 1 the PUBACK already said it all: the reset does not matter.
    run(mqtt_send_to(&broker.url()).args(["-q", "1", "--timeout", "5"])).expect(0);
}

/// A publish to a broker that closes the connection when the PUBLISH arrives (or after PUBREC).
fn closed_on(fault: Fault, extra: &[&str]) -> Run {
    let broker = FaultBroker::start(fault);
    let result = run(mqtt_send()
        .args(["-b", &broker.url(), "-t", "t", "--timeout", "5"])
        .args(extra));
    result.expect(7).expect_message("not acknowledged");
    result
}

#[test]
fn hints_fit_the_facts_and_never_one_they_rule_out() {
    // After PUBREC the broker has the message: its QoS did not close the connection.
    let result = closed_on(Fault::PubRecThenClose, &["-m", "x", "-q", "2"]);
    assert!(
        !result.message().contains("--qos 1"),
        "{}",
        result.message()
    );
    assert!(
        !result.message().contains("rejected the publish"),
        "{}",
        result.message()
    );

    // Not AWS: no AWS policy; a generated client id: no takeover.
    let result = closed_on(Fault::CloseOnPublish, &["-m", "x", "-q", "1"]);
    let message = result.message();
    assert!(message.contains("access rule"), "{message}");
    for ruled_out in ["AWS", "iot:Publish", "client id", "bytes"] {
        assert!(!message.contains(ruled_out), "{ruled_out}: {message}");
    }

    // A fixed client id (examples/local.json has one): parallel runs take the session over.
    let result = closed_on(
        Fault::CloseOnPublish,
        &["-m", "x", "-q", "1", "-i", "flint_mqtt"],
    );
    result.expect_message("\"flint_mqtt\" took the session over");

    // 200 KB: the size is a cause that fits, and the QoS hint still fits a QoS 2 PUBLISH.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    fs::write(&big, vec![7u8; 200_000]).unwrap();
    let result = closed_on(
        Fault::CloseOnPublish,
        &["-q", "2", "-f", big.to_str().unwrap()],
    );
    result
        .expect_message("possible causes")
        .expect_message("the message is 200000 bytes")
        .expect_message("try --qos 1");
}

#[test]
fn small_words_are_right() {
    let broker = Mosquitto::start();
    run(mqtt_send_to(&broker.url()).args(["-q", "1"]))
        .expect(0)
        .expect_message("published 1 byte to t at QoS 1");

    // QoS 0 has no acknowledgement: written, not acknowledged; -v says so.
    let mut sub = Subscriber::connect(broker.port, &["zero"]);
    let result = run(mqtt_send()
        .args([
            "-b",
            &broker.url(),
            "-t",
            "zero",
            "-q",
            "0",
            "-v",
            "--lines",
            "-m",
        ])
        .arg("a\nb\n"));
    result.expect(0);
    assert_eq!(result.meta["messages"], 2);
    assert_eq!(result.meta["acknowledged"], 0);
    assert_eq!(sub.expect_message().payload, b"a");
    let single = run(mqtt_send_to(&broker.url()).args(["-q", "0", "-v"]));
    single.expect(0);
    assert!(
        single.stderr.contains("no packet id (QoS 0)"),
        "{}",
        single.stderr
    );
    assert!(!single.stderr.contains("packet id 0"), "{}", single.stderr);
}

#[test]
fn a_certificate_with_only_a_common_name_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "ca");
    let server = ca.cn_only_server("cn-only", "localhost");
    let broker = Mosquitto::with_tls(&ca.pem, &server, "allow_anonymous true");
    let result = run(mqtt_send_to(&broker.tls_url())
        .arg("--root-ca-crt")
        .arg(&ca.pem));
    result
        .expect(4)
        .expect_message("lists no host names")
        .expect_message("subjectAltName");
    assert!(
        !result.message().contains("it is for )"),
        "{}",
        result.message()
    );
}

#[test]
fn input_without_end_is_refused_at_the_cap_without_reading_further() {
    // `yes | mqtt-send -f -`: an endless message stops at what an MQTT packet holds.
    let mut yes = Command::new("yes")
        .stdout(Stdio::piped())
        .spawn()
        .expect("yes runs");
    let broker = FaultBroker::start(Fault::Slow(Duration::ZERO));
    let output = mqtt_send()
        .args(["-b", &broker.url(), "-t", "t", "-f", "-", "--timeout", "20"])
        .stdin(Stdio::from(yes.stdout.take().unwrap()))
        .output()
        .expect("mqtt-send runs");
    let _ = yes.kill();
    let _ = yes.wait();
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a meta object");
    assert_eq!(output.status.code(), Some(2), "{meta}");
    let message = meta["message"].as_str().unwrap();
    assert!(
        message.contains("the message from stdin is more than"),
        "{message}"
    );
    assert!(message.contains("nothing more was read"), "{message}");

    // `--lines -f /dev/zero`: one endless line.
    let result =
        run(mqtt_send().args(["-b", &broker.url(), "-t", "t", "--lines", "-f", "/dev/zero"]));
    result
        .expect(2)
        .expect_message("line 1 of the content file /dev/zero is more than");
    broker.assert_untouched();
}
