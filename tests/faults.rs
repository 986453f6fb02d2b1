//! A broker that misbehaves on cue: every run ends by the deadline with the right exit code, one
//! meta object and no panic (the `run` helper checks those two on every run).

use std::time::Duration;

use crate::support::fault::{Fault, FaultBroker};
use crate::support::{mqtt_send, mqtt_send_to, run};

/// Runs with `--timeout 2`: "quick" outcomes come well before it, timeouts right after it.
const TIMEOUT: &str = "2";
const QUICK: Duration = Duration::from_millis(1500);
const DEADLINE_MIN: Duration = Duration::from_millis(1900);
const DEADLINE_MAX: Duration = Duration::from_millis(3500);

fn publish(fault: Fault, qos: &str) -> crate::support::cmd::Run {
    let broker = FaultBroker::start(fault);
    run(mqtt_send().args([
        "-b",
        &broker.url(),
        "-t",
        "t",
        "-m",
        "payload",
        "-q",
        qos,
        "--timeout",
        TIMEOUT,
    ]))
}

#[test]
fn broker_that_closes_at_once_is_3() {
    let result = publish(Fault::CloseAtOnce, "1");
    result
        .expect(3)
        .expect_message("closed the connection before answering CONNECT");
    result.took(..QUICK);
}

#[test]
fn http_server_is_3() {
    let result = publish(Fault::Http, "1");
    result.expect(3).expect_message("is this an MQTT");
    result.took(..QUICK);
}

#[test]
fn no_connack_is_6_at_the_deadline() {
    let result = publish(Fault::NoConnAck, "1");
    result
        .expect(6)
        .expect_message("sent no CONNACK")
        .expect_message("nothing was published");
    result.took(DEADLINE_MIN..DEADLINE_MAX);
}

#[test]
fn connack_refusals_are_5_naming_code_and_meaning() {
    for (code, meaning) in [
        (1, "unacceptable protocol version"),
        (2, "identifier rejected"),
        (3, "server unavailable"),
        (4, "bad user name or password"),
        (5, "not authorized"),
        (7, "a code MQTT 3.1.1 does not define (7)"),
    ] {
        let result = publish(Fault::ConnAckCode(code), "1");
        result
            .expect(5)
            .expect_message(&format!("CONNACK return code {code} ("))
            .expect_message(meaning);
        result.took(..QUICK);
    }
}

#[test]
fn garbage_after_connack_is_7() {
    let result = publish(Fault::GarbageAfterConnAck, "1");
    result.expect(7).expect_message("malformed packet");
    result.took(..QUICK);
}

#[test]
fn closing_on_publish_is_7_at_qos_1_and_2() {
    for (qos, hint) in [("1", "rejected the publish"), ("2", "try --qos 1")] {
        let result = publish(Fault::CloseOnPublish, qos);
        result
            .expect(7)
            .expect_message("not acknowledged")
            .expect_message(hint);
        result.took(..QUICK);
    }
}

#[test]
fn no_puback_is_6_at_the_deadline() {
    let result = publish(Fault::NoAck, "1");
    result
        .expect(6)
        .expect_message("waiting for PUBACK")
        .expect_message("may or may not");
    result.took(DEADLINE_MIN..DEADLINE_MAX);
}

#[test]
fn no_pubrec_is_6_at_the_deadline() {
    let result = publish(Fault::NoAck, "2");
    result.expect(6).expect_message("waiting for PUBREC");
    result.took(DEADLINE_MIN..DEADLINE_MAX);
}

#[test]
fn pubrec_then_close_is_7() {
    let result = publish(Fault::PubRecThenClose, "2");
    result.expect(7).expect_message("not acknowledged");
    result.took(..QUICK);
}

#[test]
fn pubrec_without_pubcomp_is_6_at_the_deadline() {
    let result = publish(Fault::NoPubComp, "2");
    result.expect(6).expect_message("waiting for PUBCOMP");
    result.took(DEADLINE_MIN..DEADLINE_MAX);
}

#[test]
fn a_slow_broker_within_the_deadline_is_0() {
    for qos in ["0", "1", "2"] {
        let result = publish(Fault::Slow(Duration::from_millis(300)), qos);
        result.expect(0);
        result.took(..DEADLINE_MIN);
    }
}

#[test]
fn a_timed_out_run_still_says_goodbye() {
    // After CONNACK, a deadline that passes still ends the session with DISCONNECT.
    let broker = FaultBroker::start(Fault::NoAck);
    run(mqtt_send_to(&broker.url()).args(["-q", "1", "--timeout", "0.5"])).expect(6);
    assert_eq!(broker.transcripts(), [["CONNECT", "PUBLISH", "DISCONNECT"]]);
}
