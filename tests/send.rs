//! Sending for real: what a subscriber on a real mosquitto receives, and what mqtt-send says.

use std::fs;
use std::time::Duration;

use crate::support::{
    Mosquitto, SilentServer, Subscriber, mqtt_send, mqtt_send_to, run, run_with_stdin,
};

const QUIET: Duration = Duration::from_millis(300);

#[test]
fn each_qos_is_delivered_and_acknowledged() {
    let broker = Mosquitto::start();
    let mut sub = Subscriber::connect(broker.port, &["q/#"]);
    for (qos, ack) in [
        ("0", "no acknowledgement"),
        ("1", "PUBACK"),
        ("2", "PUBCOMP"),
    ] {
        let topic = format!("q/{qos}");
        let content = format!("hello at {qos}");
        let result =
            run(mqtt_send().args(["-b", &broker.url(), "-t", &topic, "-m", &content, "-q", qos]));
        result.expect(0).expect_message(ack);
        assert_eq!(result.meta["qos"], qos.parse::<u64>().unwrap());
        assert_eq!(result.meta["bytes"], content.len());
        assert_eq!(result.meta["topic"], topic.as_str());
        let message = sub.expect_message();
        assert_eq!(message.topic, topic);
        assert_eq!(message.payload, content.as_bytes());
        assert_eq!(message.qos.to_string(), qos);
        assert!(!message.retain);
    }
    assert!(
        sub.next(QUIET).is_none(),
        "each message arrives exactly once"
    );
}

#[test]
fn default_qos_is_2() {
    let broker = Mosquitto::start();
    let mut sub = Subscriber::connect(broker.port, &["d"]);
    let result = run(mqtt_send().args(["-b", &broker.url(), "-t", "d", "-m", "x"]));
    result
        .expect(0)
        .expect_message("QoS 2: acknowledged (PUBCOMP)");
    assert_eq!(result.meta["qos"], 2);
    assert_eq!(sub.expect_message().qos, 2);
}

#[test]
fn clean_disconnect_is_seen_by_the_broker() {
    let broker = Mosquitto::start();
    run(mqtt_send().args([
        "-b",
        &broker.url(),
        "-t",
        "c",
        "-m",
        "x",
        "-i",
        "tidy-client",
        "-q",
        "0",
    ]))
    .expect(0);
    std::thread::sleep(Duration::from_millis(200));
    let log = broker.log();
    assert!(
        log.contains("Received DISCONNECT from tidy-client"),
        "{log}"
    );
    assert!(
        !log.contains("Client tidy-client closed its connection"),
        "{log}"
    );
}

#[test]
fn config_file_alone_is_enough() {
    let broker = Mosquitto::start();
    let mut sub = Subscriber::connect(broker.port, &["flint/topic"]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("connector.json");
    fs::write(
        &config,
        format!(
            r#"{{"broker": "{}", "client-id": "flint_mqtt", "qos": 1, "topic": "flint/topic",
                "content": "from the config", "action": "send"}}"#,
            broker.url()
        ),
    )
    .unwrap();
    let result = run(mqtt_send().arg("-c").arg(&config));
    result.expect(0).expect_message("PUBACK");
    assert_eq!(result.meta["client-id"], "flint_mqtt");
    let message = sub.expect_message();
    assert_eq!(message.payload, b"from the config");
    assert_eq!(message.qos, 1);
    assert!(broker.log().contains("as flint_mqtt"));
}

#[test]
fn every_flag_overrides_its_config_key() {
    let broker = Mosquitto::with_password("alice", "pw-flag-9f2c");
    let mut sub = Subscriber::connect_as(broker.port, Some(("alice", "pw-flag-9f2c")), &["#"]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("connector.json");
    // Every value in the file is wrong for this broker; the flags put each one right.
    fs::write(
        &config,
        r#"{"broker": "tcp://127.0.0.1:1", "client-id": "from-config", "topic": "config/topic",
            "qos": 0, "content": "config content", "retain": true, "username": "mallory",
            "password": "pw-config-5e10", "timeout": 0.001}"#,
    )
    .unwrap();
    let result = run(mqtt_send().arg("-c").arg(&config).args([
        "-b",
        &broker.url(),
        "-i",
        "from-flag",
        "-t",
        "flag/topic",
        "-q",
        "2",
        "-m",
        "flag content",
        "--retain",
        "false",
        "-u",
        "alice",
        "-P",
        "pw-flag-9f2c",
        "--timeout",
        "10",
    ]));
    result.expect(0).expect_message("PUBCOMP");
    assert_eq!(result.meta["client-id"], "from-flag");
    assert_eq!(result.meta["retain"], false);
    let message = sub.expect_message();
    assert_eq!(
        (
            message.topic.as_str(),
            message.payload.as_slice(),
            message.qos,
            message.retain
        ),
        ("flag/topic", b"flag content".as_slice(), 2, false)
    );
    assert!(broker.log().contains("as from-flag"));

    // --content-file overrides "content" too.
    let body = dir.path().join("body.txt");
    fs::write(&body, "file content").unwrap();
    run(mqtt_send()
        .arg("-c")
        .arg(&config)
        .arg("-f")
        .arg(&body)
        .args([
            "-b",
            &broker.url(),
            "-t",
            "flag/topic",
            "-u",
            "alice",
            "-P",
            "pw-flag-9f2c",
            "--timeout",
            "10",
        ]))
    .expect(0);
    assert_eq!(sub.expect_message().payload, b"file content");
}

#[test]
fn content_file_and_stdin_keep_binary_bytes_intact() {
    let broker = Mosquitto::start();
    let mut sub = Subscriber::connect(broker.port, &["bin"]);
    let bytes: Vec<u8> = (0..=255u8)
        .chain([0xff, 0xfe, 0x00, 0x80, b'\n', b'\r'])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("payload.bin");
    fs::write(&file, &bytes).unwrap();

    let result = run(mqtt_send()
        .args(["-b", &broker.url(), "-t", "bin", "-f"])
        .arg(&file));
    result.expect(0);
    assert_eq!(result.meta["bytes"], bytes.len());
    assert_eq!(sub.expect_message().payload, bytes);

    let result = run_with_stdin(
        mqtt_send().args(["-b", &broker.url(), "-t", "bin", "-f", "-"]),
        Some(&bytes),
    );
    result.expect(0);
    assert_eq!(sub.expect_message().payload, bytes);
}

#[test]
fn empty_content_is_sent_when_given_explicitly() {
    let broker = Mosquitto::start();
    let mut sub = Subscriber::connect(broker.port, &["empty"]);
    run(mqtt_send().args(["-b", &broker.url(), "-t", "empty", "-m", ""])).expect(0);
    assert_eq!(sub.expect_message().payload, b"");
}

#[test]
fn an_empty_client_id_is_sent_empty_and_the_broker_assigns_one() {
    let broker = Mosquitto::start();
    let mut sub = Subscriber::connect(broker.port, &["anonymous"]);
    let result =
        run(mqtt_send().args(["-b", &broker.url(), "-t", "anonymous", "-m", "x", "-i", ""]));
    result.expect(0);
    assert_eq!(sub.expect_message().payload, b"x");
    // mosquitto names a client that sent an empty id "auto-<uuid>"; under MQTT 5 its CONNACK
    // says so (Assigned Client Identifier), and the meta object names it.
    let assigned = result.meta["client-id"].as_str().unwrap();
    assert!(assigned.starts_with("auto-"), "{assigned}");
    assert!(
        broker.log().contains(&format!(" as {assigned} ")),
        "{}",
        broker.log()
    );
    // MQTT 3.1.1 has no way to say it: the meta object names the id sent.
    let result = run(mqtt_send().args([
        "-b",
        &broker.url(),
        "-t",
        "anonymous",
        "-m",
        "y",
        "-i",
        "",
        "-V",
        "3.1.1",
    ]));
    result.expect(0);
    assert_eq!(result.meta["client-id"], "");
    assert_eq!(sub.expect_message().payload, b"y");
}

#[test]
fn a_config_file_saved_with_a_byte_order_mark_is_read() {
    let broker = Mosquitto::start();
    let mut sub = Subscriber::connect(broker.port, &["bom"]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("connector.json");
    let json = format!(
        r#"{{"broker": "{}", "topic": "bom", "content": "c"}}"#,
        broker.url()
    );
    fs::write(&config, [b"\xEF\xBB\xBF", json.as_bytes()].concat()).unwrap();
    run(mqtt_send().arg("-c").arg(&config)).expect(0);
    assert_eq!(sub.expect_message().payload, b"c");
}

#[test]
fn values_that_start_with_a_hyphen_are_values() {
    let broker = Mosquitto::with_password("-alice", "--pw-dash-8e1f");
    let mut sub = Subscriber::connect(broker.observer, &["#"]);
    let result = run(mqtt_send().args([
        "-b",
        &broker.url(),
        "-t",
        "-temp",
        "-m",
        "-3.2",
        "-i",
        "-client",
        "-u",
        "-alice",
        "-P",
        "--pw-dash-8e1f",
    ]));
    result.expect(0);
    assert_eq!(result.meta["client-id"], "-client");
    let message = sub.expect_message();
    assert_eq!(
        (message.topic.as_str(), message.payload.as_slice()),
        ("-temp", b"-3.2".as_slice())
    );
}

#[test]
fn host_and_port_flags_name_the_broker_as_in_mosquitto_pub() {
    let broker = Mosquitto::start();
    let port = broker.port.to_string();
    let mut sub = Subscriber::connect(broker.port, &["hp/#"]);
    let result = run(mqtt_send().args(["-h", "127.0.0.1", "-p", &port, "-t", "hp/1", "-m", "a"]));
    result.expect(0);
    assert_eq!(result.meta["broker"], format!("tcp://127.0.0.1:{port}"));
    assert_eq!(sub.expect_message().payload, b"a");
    // Over the broker URL of a config file: the port only, then the host only.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("connector.json");
    fs::write(
        &config,
        r#"{"broker": "tcp://127.0.0.1:1", "topic": "hp/2"}"#,
    )
    .unwrap();
    run(mqtt_send()
        .arg("-c")
        .arg(&config)
        .args(["-p", &port, "-m", "b"]))
    .expect(0);
    assert_eq!(sub.expect_message().payload, b"b");
    let url = format!("tcp://no-such-host.invalid:{port}");
    run(mqtt_send().args(["-b", &url, "--host", "127.0.0.1", "-t", "hp/3", "-m", "c"])).expect(0);
    assert_eq!(sub.expect_message().payload, b"c");
}

#[test]
fn a_256_kb_payload_goes_through() {
    let broker = Mosquitto::start();
    let mut sub = Subscriber::connect(broker.port, &["big"]);
    let bytes: Vec<u8> = (0..256 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    fs::write(&file, &bytes).unwrap();
    let result = run(mqtt_send()
        .args(["-b", &broker.url(), "-t", "big", "-q", "1", "-f"])
        .arg(&file));
    result.expect(0);
    assert_eq!(result.meta["bytes"], 256 * 1024);
    assert_eq!(sub.expect_message().payload, bytes);
}

#[test]
fn retained_message_reaches_a_later_subscriber() {
    let broker = Mosquitto::start();
    run(mqtt_send().args([
        "-b",
        &broker.url(),
        "-t",
        "kept",
        "-m",
        "remember me",
        "-r",
        "-q",
        "1",
    ]))
    .expect(0);
    let mut late = Subscriber::connect(broker.port, &["kept"]);
    let message = late.expect_message();
    assert_eq!(message.payload, b"remember me");
    assert!(message.retain, "delivered from the broker's retained store");

    run(mqtt_send().args(["-b", &broker.url(), "-t", "not-kept", "-m", "x", "-q", "1"])).expect(0);
    let mut later = Subscriber::connect(broker.port, &["not-kept"]);
    assert!(
        later.next(QUIET).is_none(),
        "without --retain nothing is kept"
    );
}

#[test]
fn password_from_flag_env_file_and_config() {
    let broker = Mosquitto::with_password("alice", "pw-env-71ab");
    let mut sub = Subscriber::connect_as(broker.port, Some(("alice", "pw-env-71ab")), &["auth/#"]);
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("password");
    fs::write(&secret_file, "pw-env-71ab\n").unwrap();
    let config = dir.path().join("connector.json");
    fs::write(
        &config,
        format!(
            r#"{{"broker": "{}", "username": "alice", "password": "pw-env-71ab"}}"#,
            broker.url()
        ),
    )
    .unwrap();
    let base = ["-b", &broker.url(), "-u", "alice", "-q", "1"];

    run(mqtt_send()
        .args(base)
        .args(["-t", "auth/flag", "-m", "1", "-P", "pw-env-71ab"]))
    .expect(0);
    run(mqtt_send()
        .args(base)
        .args(["-t", "auth/env", "-m", "2"])
        .env("MQTT_SEND_PASSWORD", "pw-env-71ab"))
    .expect(0);
    run(mqtt_send()
        .args(base)
        .args(["-t", "auth/file", "-m", "3", "--password-file"])
        .arg(&secret_file))
    .expect(0);
    run(mqtt_send()
        .arg("-c")
        .arg(&config)
        .args(["-t", "auth/config", "-m", "4", "-q", "1"]))
    .expect(0);

    let topics: Vec<String> = (0..4).map(|_| sub.expect_message().topic).collect();
    assert_eq!(
        topics,
        ["auth/flag", "auth/env", "auth/file", "auth/config"]
    );
}

#[test]
fn flag_password_beats_the_environment() {
    let broker = Mosquitto::with_password("alice", "pw-flag-9f2c");
    run(mqtt_send()
        .args([
            "-b",
            &broker.url(),
            "-u",
            "alice",
            "-P",
            "pw-flag-9f2c",
            "-t",
            "t",
            "-m",
            "x",
        ])
        .env("MQTT_SEND_PASSWORD", "pw-wrong-0c4d"))
    .expect(0);
}

#[test]
fn wrong_password_is_refused_with_5() {
    let broker = Mosquitto::with_password("alice", "pw-file-33de");
    for extra in [&["-P", "pw-wrong-0c4d"][..], &[][..]] {
        let result = run(mqtt_send()
            .args([
                "-b",
                &broker.url(),
                "-u",
                "alice",
                "-t",
                "t",
                "-m",
                "x",
                "-v",
            ])
            .args(extra));
        result
            .expect(5)
            .expect_message("refused the connection: not authorized (0x87)");
        assert_eq!(result.meta["reason-code"], 0x87);
        // The same in MQTT 3.1.1's terms.
        let result = run(mqtt_send()
            .args(["-b", &broker.url(), "-u", "alice", "-t", "t", "-m", "x"])
            .args(["-V", "3.1.1"])
            .args(extra));
        result
            .expect(5)
            .expect_message("refused the connection: CONNACK return code 5 (not authorized");
        assert_eq!(result.meta.get("reason-code"), None);
    }
    let anonymous = run(&mut mqtt_send_to(&broker.url()));
    anonymous.expect(5);
}

#[test]
fn closed_port_is_3() {
    let port = crate::support::broker::free_port();
    let result = run(&mut mqtt_send_to(&format!("127.0.0.1:{port}")));
    result.expect(3).expect_message("connection refused");
    result.took(..Duration::from_secs(5));
}

#[test]
fn unresolvable_host_is_3() {
    let result = run(mqtt_send_to("tcp://no-such-host.invalid:1883").args(["--timeout", "10"]));
    result
        .expect(3)
        .expect_message("cannot resolve the broker host no-such-host.invalid");
}

#[test]
fn silent_server_times_out_with_6_within_the_deadline() {
    let server = SilentServer::start();
    let result = run(mqtt_send_to(&server.url()).args(["--timeout", "1.5"]));
    result.expect(6).expect_message("sent no CONNACK");
    result.took(Duration::from_millis(1400)..);
    result.took(..Duration::from_millis(3000));
}

#[test]
fn timeout_flag_overrides_config_timeout() {
    let server = SilentServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.json");
    fs::write(
        &config,
        format!(
            r#"{{"broker":"{}","topic":"t","content":"x","timeout":60}}"#,
            server.url()
        ),
    )
    .unwrap();
    let result = run(mqtt_send()
        .arg("-c")
        .arg(&config)
        .args(["--timeout", "0.5"]));
    result.expect(6);
    result.took(..Duration::from_secs(3));
}

#[test]
fn verbose_logs_protocol_on_stderr_only() {
    let broker = Mosquitto::with_password("alice", "pw-config-5e10");
    let result = run(mqtt_send()
        .args([
            "-b",
            &broker.url(),
            "-u",
            "alice",
            "-t",
            "v",
            "-m",
            "x",
            "-v",
        ])
        .env("MQTT_SEND_PASSWORD", "pw-config-5e10"));
    result.expect(0);
    for event in [
        "sending CONNECT",
        "password given",
        "received CONNACK",
        "sent PUBLISH",
        "received PUBREC",
        "sent PUBREL",
        "received PUBCOMP",
        "sent DISCONNECT",
    ] {
        assert!(
            result.stderr.contains(event),
            "no {event:?} in {}",
            result.stderr
        );
    }
}
