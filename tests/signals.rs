//! SIGINT and SIGTERM: stop promptly, say goodbye if connected, print the meta object, exit
//! 130 / 143.

use std::time::Duration;

use crate::support::fault::{Fault, FaultBroker};
use crate::support::{mqtt_send, mqtt_send_to, run_and_signal};

#[test]
fn sigint_while_connecting_is_130() {
    let broker = FaultBroker::start(Fault::NoConnAck);
    let result = run_and_signal(
        mqtt_send_to(&broker.url()).args(["--timeout", "30"]),
        "INT",
        Duration::from_millis(500),
    );
    result
        .expect(130)
        .expect_message("interrupted by SIGINT waiting for CONNACK");
    result.took(..Duration::from_secs(3));
}

#[test]
fn sigterm_while_waiting_for_the_ack_is_143_and_disconnects() {
    let broker = FaultBroker::start(Fault::NoAck);
    let result = run_and_signal(
        mqtt_send_to(&broker.url()).args(["-q", "1", "--timeout", "30"]),
        "TERM",
        Duration::from_millis(500),
    );
    result
        .expect(143)
        .expect_message("interrupted by SIGTERM waiting for PUBACK");
    result.took(..Duration::from_secs(3));
    assert_eq!(broker.transcripts(), [["CONNECT", "PUBLISH", "DISCONNECT"]]);
}

#[test]
fn sigint_while_reading_stdin_is_130() {
    // stdin stays open and empty: the run waits for it until the signal.
    let result = run_and_signal(
        mqtt_send().args(["-t", "t", "-f", "-", "--timeout", "30"]),
        "INT",
        Duration::from_millis(500),
    );
    result
        .expect(130)
        .expect_message("reading the message from stdin; nothing was sent");
}
