//! MQTT 5: the broker says why, and mqtt-send passes it on (issue 11). Against a real mosquitto
//! (ACLs, max_qos, retain_available, max_packet_size, max_inflight_messages, a v5 subscriber
//! for the properties) and the scripted v5 broker for what mosquitto cannot do on cue.

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::fault5::{Broker5, Reply, Script};
use crate::support::{Mosquitto, Subscriber, mqtt_send, mqtt_send_to, run};

/// A v5 mosquitto_sub on the observer listener, printing each message as one line of `format`.
struct Sub5 {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Sub5 {
    fn start(port: u16, topic: &str, format: &str) -> Sub5 {
        let mut child = Command::new("mosquitto_sub")
            .args([
                "-V",
                "5",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-q",
                "2",
            ])
            .args(["-t", topic, "-F", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mosquitto_sub runs");
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        // mosquitto_sub has subscribed once the broker logs it; give it a moment.
        std::thread::sleep(Duration::from_millis(300));
        Sub5 { child, lines }
    }

    fn next(&mut self) -> String {
        match self.lines.recv_timeout(Duration::from_secs(5)) {
            Ok(line) => line,
            Err(error) => {
                let _ = self.child.kill();
                let status = self.child.wait();
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                panic!("the v5 subscriber received no message ({error}): {status:?}, {stderr}")
            }
        }
    }
}

impl Drop for Sub5 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn mqtt_5_is_the_default_and_the_meta_object_says_so() {
    let broker = Mosquitto::start();
    let result = run(mqtt_send_to(&broker.url()).args(["-q", "1"]));
    result.expect(0);
    assert_eq!(result.meta["protocol"], "5");
    assert!(broker.log().contains("(p5, c1"), "{}", broker.log());
    let result = run(mqtt_send_to(&broker.url()).args(["-q", "1", "-V", "mqttv311"]));
    result.expect(0);
    assert_eq!(result.meta["protocol"], "3.1.1");
}

#[test]
fn a_3_1_1_broker_gets_3_1_1_once_and_an_explicit_version_never_falls_back() {
    let broker = Broker5::start(Script::V311Only);
    let result = run(mqtt_send_to(&broker.url()).args(["-q", "2", "-v"]));
    result.expect(0);
    assert_eq!(result.meta["protocol"], "3.1.1");
    assert!(
        result.stderr.contains("connecting again with 3.1.1"),
        "{}",
        result.stderr
    );
    assert_eq!(
        broker.transcripts(),
        [
            vec!["CONNECT 5"],
            vec!["CONNECT 3.1.1", "PUBLISH", "PUBREL", "DISCONNECT"]
        ]
    );

    let pinned = Broker5::start(Script::V311Only);
    let result = run(mqtt_send_to(&pinned.url()).args(["-V", "5"]));
    result
        .expect(5)
        .expect_message("unacceptable protocol version");
    assert_eq!(pinned.transcripts().len(), 1);
}

#[test]
fn a_3_1_1_broker_that_ignores_mqtt_5_gets_3_1_1_after_3_s() {
    // amqtt 0.12.1 neither answers nor closes on an MQTT 5 CONNECT (seen in scripts/interop).
    let broker = Broker5::start(Script::IgnoresV5);
    let result = run(mqtt_send_to(&broker.url()).args(["-q", "1", "--timeout", "10"]));
    result.expect(0);
    result.took(Duration::from_millis(2900)..Duration::from_secs(6));
    assert_eq!(result.meta["protocol"], "3.1.1");
    assert_eq!(
        broker.transcripts(),
        [
            vec!["CONNECT 5"],
            vec!["CONNECT 3.1.1", "PUBLISH", "DISCONNECT"]
        ]
    );
    // Pinned to 5, silence is just silence: the deadline decides.
    let pinned = Broker5::start(Script::IgnoresV5);
    let result = run(mqtt_send_to(&pinned.url()).args(["-V", "5", "--timeout", "2"]));
    result.expect(6).expect_message("sent no CONNACK");
}

#[test]
fn connack_reason_codes_are_5_and_only_the_transient_ones_are_retried() {
    let busy = Broker5::start(Script::Refuse(0x89));
    let result = run(mqtt_send_to(&busy.url()).args(["--retries", "2", "--timeout", "10"]));
    result
        .expect(5)
        .expect_message("server busy (0x89)")
        .expect_message("\"scripted refusal\"")
        .expect_message("gave up after 3 attempts");
    assert_eq!(result.meta["reason-code"], 0x89);
    assert_eq!(result.meta["reason"], "server busy");
    assert_eq!(busy.transcripts().len(), 3);

    let denied = Broker5::start(Script::Refuse(0x87));
    let result = run(mqtt_send_to(&denied.url()).args(["--retries", "2"]));
    result.expect(5).expect_message("not authorized (0x87)");
    assert_eq!(denied.transcripts().len(), 1);
}

fn serve(reply: Reply) -> Broker5 {
    Broker5::start(Script::Serve {
        connack: Vec::new(),
        reply,
    })
}

#[test]
fn a_puback_reason_code_is_the_brokers_word_on_the_message() {
    let broker = serve(Reply::Ack(0x87, Some("ACL says no")));
    for qos in ["1", "2"] {
        let result = run(mqtt_send_to(&broker.url()).args(["-q", qos]));
        result
            .expect(7)
            .expect_message("rejected the message")
            .expect_message("not authorized (0x87)")
            .expect_message("\"ACL says no\"");
        assert_eq!(result.meta["reason-code"], 0x87);
    }
    // 0x10, no matching subscribers: published all the same.
    let broker = serve(Reply::Ack(0x10, None));
    let result = run(mqtt_send_to(&broker.url()).args(["-q", "1"]));
    result.expect(0);
    assert_eq!(result.meta["reason-code"], 0x10);
    assert_eq!(result.meta["reason"], "no matching subscribers");
}

#[test]
fn a_rejected_line_is_where_a_batch_resumes() {
    let broker = serve(Reply::Ack(0x97, None));
    let result = run(mqtt_send()
        .args(["-b", &broker.url(), "-t", "t", "-q", "1", "--lines", "-m"])
        .arg("a\nb\nc\n"));
    result
        .expect(7)
        .expect_message("rejected the message on line 1")
        .expect_message("quota exceeded (0x97)")
        .expect_message("the batch stopped there");
    assert_eq!(result.meta["acknowledged"], 0);
    assert_eq!(result.meta["resume-from-line"], 1);
}

#[test]
fn a_disconnect_in_each_of_its_forms_says_why() {
    for (bytes, words) in [
        (vec![0xe0, 1, 0x8e], "session taken over (0x8e)"),
        (
            vec![0xe0, 2, 0x8e, 0],
            "another connection used the same client id",
        ),
        (vec![0xe0, 1, 0x9b], "QoS not supported (0x9b)"),
        (vec![0xe0, 0], "sent DISCONNECT"),
    ] {
        let broker = serve(Reply::Bytes(bytes.clone()));
        let result = run(mqtt_send_to(&broker.url()).args(["-q", "1"]));
        result
            .expect(7)
            .expect_message(words)
            .expect_message("not acknowledged");
    }
}

#[test]
fn malformed_v5_packets_are_7_never_a_hang_or_a_panic() {
    for bytes in [
        vec![0x40, 5, 0, 1, 0x87, 9, 0], // a property list that overruns
        vec![0x40, 4, 0, 1, 0x87, 0x05], // property length past the end
        vec![0x40, 6, 0, 1, 0x87, 2, 0x7f, 0], // an unknown property
        vec![0xf5, 0],                   // AUTH with bad flags is still AUTH: ignored
    ] {
        let broker = serve(Reply::Bytes(bytes.clone()));
        let result = run(mqtt_send_to(&broker.url()).args(["-q", "1", "--timeout", "3"]));
        assert!(matches!(result.code, 6 | 7), "{bytes:?}: {result:#?}");
        result.took(..Duration::from_secs(5));
    }
}

#[test]
fn a_server_keep_alive_is_kept_with_pings() {
    // Server Keep Alive 1 s (property 0x13): a batch that waits 2.5 s for its input pings.
    let broker = Broker5::start(Script::Serve {
        connack: vec![0x13, 0, 1],
        reply: Reply::Ack(0, None),
    });
    let mut child = crate::support::cmd::spawn(
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
        ]),
        true,
    );
    let mut stdin = child.stdin.take().unwrap();
    use std::io::Write;
    stdin.write_all(b"one\n").unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    stdin.write_all(b"two\n").unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let transcript = broker.transcripts().remove(0);
    assert!(transcript.iter().any(|p| p == "PINGREQ"), "{transcript:?}");
}

/// A mosquitto whose tested listener gets `settings` (v5 limits, ACLs).
fn mosquitto(settings: &str) -> Mosquitto {
    Mosquitto::with_listener(settings, |dir| {
        fs::write(
            dir.join("acl"),
            "topic readwrite open/#\ntopic read closed/#\n",
        )
        .unwrap();
    })
}

#[test]
fn mosquitto_says_not_authorized_for_a_denied_topic() {
    let broker = mosquitto("allow_anonymous true\nacl_file {dir}/acl\n");
    for qos in ["1", "2"] {
        let result =
            run(mqtt_send().args(["-b", &broker.url(), "-t", "closed/x", "-m", "x", "-q", qos]));
        result.expect(7).expect_message("not authorized (0x87)");
        assert_eq!(result.meta["reason"], "not authorized");
    }
    run(mqtt_send().args(["-b", &broker.url(), "-t", "open/x", "-m", "x"])).expect(0);
}

#[test]
fn connack_limits_are_honoured_before_anything_is_sent() {
    let broker = mosquitto("allow_anonymous true\nmax_qos 1\nretain_available false\n");
    let result = run(mqtt_send_to(&broker.url()).args(["-q", "2"]));
    result
        .expect(7)
        .expect_message("takes QoS 1 at most")
        .expect_message("nothing was published")
        .expect_message("try --qos 1");
    let result = run(mqtt_send_to(&broker.url()).args(["-q", "1", "-r"]));
    result
        .expect(7)
        .expect_message("does not support retained messages");
    assert!(
        !broker.log().contains("Received PUBLISH"),
        "a PUBLISH went out:\n{}",
        broker.log()
    );
    run(mqtt_send_to(&broker.url()).args(["-q", "1"])).expect(0);

    let small = mosquitto("allow_anonymous true\nmax_packet_size 100\n");
    // mqtt_send_to gives "-m x" already: the large message needs its own command line.
    let result = run(mqtt_send()
        .args(["-b", &small.url(), "-t", "t", "-q", "1", "-m"])
        .arg("x".repeat(200)));
    result
        .expect(2)
        .expect_message("takes packets of at most 100 bytes");
}

#[test]
fn a_qos_2_batch_fits_the_brokers_receive_maximum_and_every_line_arrives() {
    let broker = mosquitto("allow_anonymous true\nmax_inflight_messages 5\n");
    let sub =
        Subscriber::connect_qos0(broker.observer, &["window"]).collect(Duration::from_secs(2));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines.txt");
    crate::support::numbered_lines(&input, 10_000);
    let started = Instant::now();
    let result = run(mqtt_send()
        .args([
            "-b",
            &broker.url(),
            "-t",
            "window",
            "-q",
            "2",
            "--lines",
            "--timeout",
            "120",
            "-f",
        ])
        .arg(&input));
    result.expect(0);
    assert_eq!(result.meta["acknowledged"], 10_000);
    let received = sub.join().unwrap();
    assert_eq!(received.len(), 10_000, "after {:?}", started.elapsed());
}

#[test]
fn properties_arrive_at_a_v5_subscriber_exactly() {
    let broker = Mosquitto::start();
    let mut sub = Sub5::start(broker.observer, "props", "%P|%C|%E|%R|%D|%F|%p");
    let result = run(mqtt_send().args([
        "-b",
        &broker.url(),
        "-t",
        "props",
        "-m",
        "héllo",
        "-q",
        "1",
        "--user-property",
        "a=1",
        "--user-property",
        "b=two words",
        "--content-type",
        "text/plain",
        "--message-expiry",
        "300",
        "--response-topic",
        "replies/x",
        "--correlation-data",
        "req-42",
        "--payload-format",
        "utf8",
    ]));
    result.expect(0);
    let line = sub.next();
    assert!(line.starts_with("a:1 b:two words|text/plain|"), "{line}");
    assert!(line.contains("|replies/x|req-42|1|héllo"), "{line}");
    let expiry: u32 = line.split('|').nth(2).unwrap().parse().unwrap();
    assert!((295..=300).contains(&expiry), "{line}");
}

#[test]
fn properties_need_mqtt_5_and_utf8_is_checked() {
    let result =
        run(mqtt_send_to("tcp://127.0.0.1:1").args(["-V", "3.1.1", "--content-type", "x"]));
    result.expect(2).expect_message("--content-type");
    let dir = tempfile::tempdir().unwrap();
    let latin1 = dir.path().join("latin1.txt");
    fs::write(&latin1, b"caf\xe9").unwrap();
    let broker = Broker5::start(Script::V311Only);
    let result = run(mqtt_send()
        .args([
            "-b",
            &broker.url(),
            "-t",
            "t",
            "--payload-format",
            "utf8",
            "-f",
        ])
        .arg(&latin1));
    result.expect(2).expect_message("not UTF-8");
    broker.assert_untouched();
}

#[test]
fn properties_are_never_dropped_by_the_fallback_to_3_1_1() {
    // Properties for every message: no fallback, exit 5 naming them, one connection only.
    let broker = Broker5::start(Script::V311Only);
    let result = run(mqtt_send_to(&broker.url()).args([
        "--content-type",
        "text/plain",
        "--user-property",
        "a=1",
    ]));
    result
        .expect(5)
        .expect_message("unacceptable protocol version")
        .expect_message("did not fall back to MQTT 3.1.1")
        .expect_message("(content-type, user-property)");
    assert_eq!(result.meta.get("protocol"), None);
    assert_eq!(broker.transcripts(), [vec!["CONNECT 5"]]);

    // A batch whose first line sets none falls back; the first line that sets one stops it.
    let broker = Broker5::start(Script::V311Only);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines.ndjson");
    fs::write(
        &input,
        "{\"content\":\"a\"}\n{\"content\":\"b\",\"message-expiry\":60}\n{\"content\":\"c\"}\n",
    )
    .unwrap();
    let result = run(mqtt_send()
        .args(["-b", &broker.url(), "-t", "t", "-q", "1", "--ndjson", "-f"])
        .arg(&input));
    result
        .expect(5)
        .expect_message("speaks MQTT 3.1.1 only")
        .expect_message("the message on line 2 sets MQTT 5 properties (message-expiry)")
        .expect_message("the batch stopped there");
    assert_eq!(result.meta["protocol"], "3.1.1");
    assert_eq!(result.meta["acknowledged"], 1);
    assert_eq!(result.meta["resume-from-line"], 2);
    assert_eq!(
        broker.transcripts(),
        [
            vec!["CONNECT 5"],
            vec!["CONNECT 3.1.1", "PUBLISH", "DISCONNECT"]
        ]
    );
}

#[test]
fn properties_from_the_config_file_and_ndjson_lines_arrive_exactly() {
    let broker = Mosquitto::start();
    let mut sub = Sub5::start(broker.observer, "lines/#", "%t|%P|%C|%R|%D|%p");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.json");
    fs::write(
        &config,
        format!(
            r#"{{"broker": "{}", "topic": "lines/default", "qos": 1, "ndjson": true,
                 "user-property": [["k", "1"], ["k", "2"]], "content-type": "text/plain"}}"#,
            broker.url()
        ),
    )
    .unwrap();
    let lines = concat!(
        "{\"content\":\"from the config\"}\n",
        "{\"topic\":\"lines/own\",\"content\":{\"n\":1},\"user-property\":{\"z\":\"9\",\"a\":\"8\"},",
        "\"content-type\":\"application/json\",\"response-topic\":\"r/1\",",
        "\"correlation-data\":\"id-7\"}\n",
    );
    let input = dir.path().join("lines.ndjson");
    fs::write(&input, lines).unwrap();
    let result = run(mqtt_send().arg("-c").arg(&config).arg("-f").arg(&input));
    result.expect(0);
    assert_eq!(
        sub.next(),
        "lines/default|k:1 k:2|text/plain|||from the config"
    );
    assert_eq!(
        sub.next(),
        "lines/own|z:9 a:8|application/json|r/1|id-7|{\"n\":1}"
    );
}

#[test]
fn mosquitto_pub_connect_will_and_disconnect_properties_are_never_dropped_by_the_fallback() {
    for (extra, named) in [
        (&["-x", "60"][..], "session-expiry-interval"),
        (
            &["-D", "connect", "user-property", "k", "v"][..],
            "connect properties",
        ),
        (
            &[
                "--will-topic",
                "w",
                "-D",
                "will",
                "will-delay-interval",
                "5",
            ][..],
            "will properties",
        ),
        (
            &["-D", "disconnect", "reason-string", "bye"][..],
            "disconnect properties",
        ),
    ] {
        let broker = Broker5::start(Script::V311Only);
        let result = run(mqtt_send_to(&broker.url()).args(extra));
        result
            .expect(5)
            .expect_message("did not fall back to MQTT 3.1.1")
            .expect_message(named);
        assert_eq!(broker.transcripts(), [vec!["CONNECT 5"]], "{extra:?}");
    }
}
