//! --retries: only failures where nothing was published are retried, with backoff, inside the
//! one deadline; the meta object says how many attempts were made.

use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use crate::support::broker::free_port;
use crate::support::fault::{Fault, FaultBroker};
use crate::support::{mqtt_send, mqtt_send_to, run};

#[test]
fn a_broker_that_starts_2_s_late_is_reached() {
    let port = free_port();
    let late = thread::spawn(move || {
        thread::sleep(Duration::from_secs(2));
        FaultBroker::serve_fault(
            TcpListener::bind(("127.0.0.1", port)).unwrap(),
            Fault::Slow(Duration::ZERO),
        )
    });
    let result = run(mqtt_send_to(&format!("127.0.0.1:{port}")).args([
        "-q",
        "1",
        "--retries",
        "6",
        "--timeout",
        "20",
    ]));
    let broker = late.join().unwrap();
    result.expect(0).expect_message("PUBACK");
    let attempts = result.meta["attempts"].as_u64().unwrap();
    assert!((3..=5).contains(&attempts), "attempts: {attempts}");
    result.took(Duration::from_secs(2)..);
    assert_eq!(broker.transcripts(), [["CONNECT", "PUBLISH", "DISCONNECT"]]);
}

#[test]
fn a_dead_port_gives_up_with_3_after_backing_off() {
    let port = free_port();
    let result =
        run(mqtt_send_to(&format!("127.0.0.1:{port}")).args(["--retries", "2", "--timeout", "20"]));
    result
        .expect(3)
        .expect_message("gave up after 3 attempts: no retries left");
    assert_eq!(result.meta["attempts"], 3);
    // Two pauses: 0.5 s and 1 s at the least (jitter only adds).
    result.took(Duration::from_millis(1500)..);
    result.took(..Duration::from_millis(4000));
}

#[test]
fn retries_stop_at_the_deadline() {
    let port = free_port();
    let result = run(mqtt_send_to(&format!("127.0.0.1:{port}")).args([
        "--retries",
        "100",
        "--timeout",
        "2",
    ]));
    result
        .expect(3)
        .expect_message("the next retry would pass the deadline");
    result.took(..Duration::from_millis(2500));
}

#[test]
fn a_broker_that_never_answers_connect_is_retried_within_the_deadline() {
    let broker = FaultBroker::start(Fault::NoConnAck);
    let result = run(mqtt_send_to(&broker.url()).args(["--retries", "2", "--timeout", "6", "-v"]));
    result.expect(6).expect_message("sent no CONNACK");
    // Each attempt before the last gets a third of the time left, and says so.
    assert!(
        result.stderr.contains(
            "attempt 1 failed (timed out after 2.0 s (this attempt's share of the 6 s --timeout) \
             waiting for CONNACK"
        ),
        "{}",
        result.stderr
    );
    assert!(
        broker.transcripts().len() >= 2,
        "{:?}",
        broker.transcripts()
    );
    result.took(..Duration::from_millis(7000));
}

#[test]
fn refusals_and_dropped_publishes_are_never_retried() {
    for (fault, code) in [
        (Fault::ConnAckCode(5), 5),
        (Fault::ConnAckCode(4), 5),
        (Fault::CloseOnPublish, 7),
    ] {
        let broker = FaultBroker::start(fault);
        let result = run(mqtt_send_to(&broker.url()).args(["-q", "1", "--retries", "5"]));
        result.expect(code);
        assert_eq!(result.meta["attempts"], 1, "{fault:?}");
        assert_eq!(broker.transcripts().len(), 1, "{fault:?}");
    }
}

#[test]
fn usage_and_tls_errors_are_never_retried() {
    let broker = FaultBroker::start(Fault::CloseAtOnce);
    let dir = tempfile::tempdir().unwrap();
    // A real TLS failure: the broker's certificate is signed by a CA we were not told to trust.
    let ca = crate::support::certs::Ca::new(dir.path(), "ca");
    let stranger = crate::support::certs::Ca::new(dir.path(), "stranger");
    let tls = crate::support::Mosquitto::with_tls(
        &ca.pem,
        &ca.server("server", &["localhost"]),
        "allow_anonymous true",
    );
    let result = run(mqtt_send_to(&tls.tls_url())
        .args(["--retries", "3", "--root-ca-crt"])
        .arg(&stranger.pem));
    result.expect(4);
    assert_eq!(result.meta["attempts"], 1);
    run(mqtt_send().args([
        "-b",
        &broker.url(),
        "-t",
        "t",
        "-q",
        "9",
        "-m",
        "x",
        "--retries",
        "3",
    ]))
    .expect(2);
    assert_eq!(broker.transcripts().len(), 0);
}

#[test]
fn tls_to_a_server_that_closes_before_any_tls_byte_is_3_and_retried() {
    // Issue 10, item 9: a close before any TLS byte came back is "could not connect", as the
    // same close over tcp:// is, and a retry may find the server willing.
    let broker = FaultBroker::start(Fault::CloseAtOnce);
    let dir = tempfile::tempdir().unwrap();
    let ca = crate::support::certs::Ca::new(dir.path(), "ca");
    let result = run(mqtt_send_to(&format!("ssl://localhost:{}", broker.port))
        .args(["--retries", "2", "--timeout", "10", "--root-ca-crt"])
        .arg(&ca.pem));
    result
        .expect(3)
        .expect_message("before the TLS handshake began")
        .expect_message("gave up after 3 attempts");
    assert_eq!(result.meta["attempts"], 3);
    assert_eq!(broker.transcripts().len(), 3);
}
