//! MQTT over WebSockets (`ws://`, `wss://`) against a real mosquitto websockets listener, plain
//! and TLS; HTTP answers other than 101 from a scripted server.

use std::time::Duration;

use crate::support::certs::Ca;
use crate::support::ws::{header, http_server, switching};
use crate::support::{
    Mosquitto, SilentServer, Subscriber, mqtt_send, numbered_lines, run, run_and_signal,
};

fn ws_broker() -> Mosquitto {
    Mosquitto::with_listener("protocol websockets\nallow_anonymous true\n", |_| {})
}

#[test]
fn ws_delivers_at_every_qos() {
    let broker = ws_broker();
    let mut sub = Subscriber::connect(broker.observer, &["ws/#"]);
    for qos in ["0", "1", "2"] {
        let topic = format!("ws/{qos}");
        let result = run(mqtt_send().args([
            "-b",
            &format!("ws://127.0.0.1:{}", broker.port),
            "-t",
            &topic,
            "-m",
            &format!("over websockets at {qos}"),
            "-q",
            qos,
        ]));
        result.expect(0);
        assert_eq!(
            result.meta["broker"],
            format!("ws://127.0.0.1:{}/mqtt", broker.port)
        );
        let message = sub.expect_message();
        assert_eq!(message.topic, topic);
        assert_eq!(
            message.payload,
            format!("over websockets at {qos}").as_bytes()
        );
        assert_eq!(message.qos.to_string(), qos);
    }
    // MQTT 3.1.1 too.
    run(mqtt_send().args([
        "-b",
        &format!("ws://127.0.0.1:{}/", broker.port),
        "-t",
        "ws/v3",
        "-m",
        "old",
        "-q",
        "1",
        "-V",
        "3.1.1",
    ]))
    .expect(0);
    assert_eq!(sub.expect_message().payload, b"old");
}

#[test]
fn ws_carries_a_batch_of_lines() {
    let broker = ws_broker();
    let sub =
        Subscriber::connect_qos0(broker.observer, &["batch"]).collect(Duration::from_millis(1500));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines.txt");
    numbered_lines(&input, 5_000);
    let result = run(mqtt_send()
        .args([
            "-b",
            &format!("ws://127.0.0.1:{}/mqtt", broker.port),
            "-t",
            "batch",
            "-q",
            "1",
            "--lines",
            "--timeout",
            "60",
            "-f",
        ])
        .arg(&input));
    result.expect(0).expect_message("all acknowledged");
    assert_eq!(result.meta["acknowledged"], 5_000);
    let received = sub.join().unwrap();
    assert_eq!(received.len(), 5_000);
    assert_eq!(received[4_999].payload, b"line 5000");
}

#[test]
fn wss_is_tls_as_ssl_is_with_client_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "ca");
    let server = ca.server("server", &["localhost"]);
    let client = ca.client(
        "client",
        "ws-device",
        crate::support::certs::KeyFormat::EcPkcs8,
    );
    let broker = Mosquitto::with_listener(
        &format!(
            "protocol websockets\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n\
             use_identity_as_username true\nallow_anonymous false\n",
            ca.pem.display(),
            server.cert.display(),
            server.key.display()
        ),
        |_| {},
    );
    let url = format!("wss://localhost:{}/mqtt", broker.port);
    let mut sub = Subscriber::connect(broker.observer, &["wss"]);
    let result = run(mqtt_send().args([
        "-b",
        &url,
        "-t",
        "wss",
        "-m",
        "secure",
        "-q",
        "2",
        "--root-ca-crt",
        ca.pem.to_str().unwrap(),
        "--certificate",
        client.cert.to_str().unwrap(),
        "--private-key",
        client.key.to_str().unwrap(),
        "--use-certificate",
        "-v",
    ]));
    result.expect(0).expect_message("PUBCOMP");
    assert!(result.stderr.contains("ALPN http/1.1"), "{}", result.stderr);
    assert_eq!(sub.expect_message().payload, b"secure");
    assert!(broker.log().contains("u'ws-device'"), "{}", broker.log());

    // The listener wants a client certificate: without one, the alert is a TLS failure (4).
    run(mqtt_send().args([
        "-b",
        &url,
        "-t",
        "wss",
        "-m",
        "x",
        "--root-ca-crt",
        ca.pem.to_str().unwrap(),
    ]))
    .expect(4);

    // Verification is on: a CA that did not sign the server's certificate is exit 4.
    let other = Ca::new(dir.path(), "other");
    run(mqtt_send().args([
        "-b",
        &url,
        "-t",
        "wss",
        "-m",
        "x",
        "--root-ca-crt",
        other.pem.to_str().unwrap(),
    ]))
    .expect(4)
    .expect_message("not signed by any CA in");
}

#[test]
fn the_upgrade_asks_for_mqtt_at_the_path() {
    let server = http_server(|request| switching(request, Some("mqtt")));
    // The server accepts the upgrade and then says nothing: no CONNACK within the deadline.
    let result = run(mqtt_send().args([
        "-b",
        &format!("ws://127.0.0.1:{}/some/path", server.port),
        "-t",
        "t",
        "-m",
        "x",
        "--timeout",
        "1",
    ]));
    result.expect(6).expect_message("CONNACK");
    let requests = server.transcripts();
    let request = &requests[0][0];
    assert!(
        request.starts_with("GET /some/path HTTP/1.1\r\n"),
        "{request}"
    );
    assert_eq!(
        header(request, "host"),
        Some(format!("127.0.0.1:{}", server.port).as_str())
    );
    assert_eq!(header(request, "sec-websocket-protocol"), Some("mqtt"));
    assert_eq!(header(request, "sec-websocket-version"), Some("13"));
    assert_eq!(header(request, "upgrade"), Some("websocket"));
}

fn answered(answer: &'static str) -> crate::support::cmd::Run {
    let server = http_server(move |_| answer.to_string());
    let result = run(mqtt_send().args([
        "-b",
        &format!("ws://127.0.0.1:{}", server.port),
        "-t",
        "t",
        "-m",
        "x",
        "--retries",
        "0",
    ]));
    assert_eq!(server.transcripts().len(), 1, "one attempt");
    result
}

#[test]
fn unauthorized_and_forbidden_are_refusals() {
    for (answer, status) in [
        (
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
            "401 Unauthorized",
        ),
        (
            "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
            "403 Forbidden",
        ),
    ] {
        let result = answered(answer);
        result
            .expect(5)
            .expect_message("refused the connection")
            .expect_message(status);
    }
}

#[test]
fn another_status_is_a_connect_failure_naming_it() {
    answered("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        .expect(3)
        .expect_message("HTTP 404 Not Found")
        .expect_message("is /mqtt its WebSocket path?");
    answered("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
        .expect(3)
        .expect_message("HTTP 200 OK instead of 101");
    // Not HTTP at all (an MQTT port reached with ws://).
    answered("\x20\x02\x00\x00")
        .expect(3)
        .expect_message("did not answer the WebSocket upgrade in HTTP");
}

#[test]
fn a_server_that_does_not_choose_mqtt_is_refused() {
    for (subprotocol, needle) in [
        (
            Some("mqttv3.1"),
            "with the subprotocol \"mqttv3.1\" instead of \"mqtt\"",
        ),
        (None, "without the subprotocol \"mqtt\""),
    ] {
        let server = http_server(move |request| switching(request, subprotocol));
        run(mqtt_send().args([
            "-b",
            &format!("ws://127.0.0.1:{}", server.port),
            "-t",
            "t",
            "-m",
            "x",
        ]))
        .expect(3)
        .expect_message(needle);
    }
}

#[test]
fn a_server_that_never_answers_the_upgrade_meets_the_deadline() {
    let server = SilentServer::start();
    run(mqtt_send().args([
        "-b",
        &format!("ws://127.0.0.1:{}", server.port),
        "-t",
        "t",
        "-m",
        "x",
        "--timeout",
        "1",
    ]))
    .expect(6)
    .expect_message("waiting for the answer to the WebSocket upgrade");
}

#[test]
fn a_signal_during_the_upgrade_is_130_naming_it() {
    let server = SilentServer::start();
    run_and_signal(
        mqtt_send().args([
            "-b",
            &format!("ws://127.0.0.1:{}", server.port),
            "-t",
            "t",
            "-m",
            "x",
        ]),
        "INT",
        Duration::from_millis(500),
    )
    .expect(130)
    .expect_message("interrupted by SIGINT waiting for the answer to the WebSocket upgrade");
}

#[test]
fn a_client_certificate_with_ws_points_to_wss() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "ca");
    let client = ca.client(
        "client",
        "device",
        crate::support::certs::KeyFormat::EcPkcs8,
    );
    run(mqtt_send().args([
        "-b",
        "ws://broker.example/mqtt",
        "--certificate",
        client.cert.to_str().unwrap(),
        "--private-key",
        client.key.to_str().unwrap(),
        "--use-certificate",
        "-t",
        "t",
        "-m",
        "x",
    ]))
    .expect(2)
    .expect_message("client certificates are sent only over TLS; use wss://broker.example/mqtt");
}
