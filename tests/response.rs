//! Request/response for any broker (issue 13): `--response-topic T --wait-response` subscribes
//! to T, publishes the request with MQTT 5's Response Topic and Correlation Data, and waits for
//! the reply, which goes into the meta object. Against a real mosquitto and a responder client.

use crate::support::cmd::Run;
use crate::support::fault5::{Broker5, Reply, Script};
use crate::support::responder::Responder;
use crate::support::shadow::{Suback, scripted_aws};
use crate::support::{Mosquitto, Subscriber, mqtt_send, run};

fn pong(request: &[u8]) -> Vec<u8> {
    let mut reply = b"pong:".to_vec();
    reply.extend_from_slice(request);
    reply
}

fn binary(_: &[u8]) -> Vec<u8> {
    vec![0xff, 0x00, 0x01]
}

/// `mqtt-send -b URL -t svc/ask -m ping --response-topic svc/answer --wait-response ARGS...`.
fn ask(url: &str, args: &[&str]) -> Run {
    let mut command = mqtt_send();
    command.args(["-b", url, "-t", "svc/ask", "-m", "ping", "-q", "1"]);
    command.args(["--response-topic", "svc/answer", "--wait-response"]);
    command.args(args);
    run(&mut command)
}

#[test]
fn the_v5_reply_with_our_correlation_data_goes_into_the_meta_object() {
    let broker = Mosquitto::start();
    let _responder = Responder::v5(broker.port, "svc/ask", pong, true);
    let run = ask(&broker.url(), &[]);
    run.expect(0).expect_message(
        "published 4 bytes to svc/ask and received a response of 9 bytes on svc/answer",
    );
    let meta = &run.meta;
    assert_eq!(meta["protocol"], "5");
    assert_eq!(meta["response"], "pong:ping", "not the stray reply");
    assert_eq!(meta["response-topic"], "svc/answer");
    let properties = &meta["response-properties"];
    assert!(
        properties["correlation-data"]
            .as_str()
            .unwrap()
            .starts_with("mqtt-send-")
    );
    assert_eq!(properties["user-property"][0], "served-by=responder");
    assert_eq!(properties["content-type"], "text/plain");
}

#[test]
fn given_correlation_data_is_sent_and_matched() {
    let broker = Mosquitto::start();
    let _responder = Responder::v5(broker.port, "svc/ask", pong, false);
    let run = ask(&broker.url(), &["--correlation-data", "req-42"]);
    run.expect(0);
    assert_eq!(
        run.meta["response-properties"]["correlation-data"],
        "req-42"
    );
}

#[test]
fn a_reply_that_is_not_utf8_is_base64() {
    let broker = Mosquitto::start();
    let _responder = Responder::v5(broker.port, "svc/ask", binary, false);
    let run = ask(&broker.url(), &[]);
    run.expect(0);
    assert_eq!(run.meta["response-base64"], "/wAB");
    assert!(run.meta.get("response").is_none());
}

#[test]
fn under_311_the_first_message_on_the_topic_is_the_reply() {
    let broker = Mosquitto::start();
    let _responder = Responder::v311(broker.port, "svc/ask", "svc/answer", pong);
    let run = ask(&broker.url(), &["-V", "3.1.1"]);
    run.expect(0);
    assert_eq!(run.meta["protocol"], "3.1.1");
    assert_eq!(run.meta["response"], "pong:ping");
    assert!(run.meta.get("response-properties").is_none());
}

#[test]
fn no_reply_in_time_is_exit_6() {
    let broker = Mosquitto::start();
    // Something subscribes to the request topic and never answers (with no subscriber at all,
    // the PUBACK says so: see below).
    let _silent = Subscriber::connect(broker.observer, &["svc/ask"]);
    let first = ask(&broker.url(), &["--timeout", "1"]);
    first
        .expect(6)
        .expect_message("waiting for a response on svc/answer")
        .expect_message("acknowledged the request (PUBACK) but it was not confirmed");
    assert!(first.meta.get("response").is_none());
    // At QoS 2 the acknowledgement is PUBCOMP.
    let mut command = mqtt_send();
    command.args([
        "-b",
        &broker.url(),
        "-t",
        "svc/ask",
        "-m",
        "ping",
        "-q",
        "2",
    ]);
    command.args([
        "--response-topic",
        "svc/answer",
        "--wait-response",
        "--timeout",
        "1",
    ]);
    run(&mut command)
        .expect(6)
        .expect_message("acknowledged the request (PUBCOMP) but it was not confirmed");
}

#[test]
fn wait_response_needs_a_response_topic_and_one_message() {
    let mut command = mqtt_send();
    command.args(["-t", "a", "-m", "x", "--wait-response"]);
    run(&mut command)
        .expect(2)
        .expect_message("--wait-response needs --response-topic");
    let mut command = mqtt_send();
    command.args([
        "-t",
        "a",
        "-m",
        "x",
        "--wait-response",
        "--response-topic",
        "r",
        "--lines",
    ]);
    run(&mut command)
        .expect(2)
        .expect_message("cannot be used with --lines");
}

#[test]
fn a_response_topic_that_is_the_request_topic_is_refused_not_answered_by_the_request_itself() {
    // The subscription to the response topic would bring the request back, with our own
    // correlation data: it was taken for the reply, exit 0 with no responder at all.
    let broker = Mosquitto::start();
    for version in ["5", "3.1.1"] {
        let mut command = mqtt_send();
        command.args([
            "-b",
            &broker.url(),
            "-t",
            "svc/same",
            "-m",
            "ping",
            "-q",
            "1",
        ]);
        command.args(["--response-topic", "svc/same", "--wait-response"]);
        command.args(["--timeout", "2", "-V", version]);
        let run = run(&mut command);
        run.expect(2)
            .expect_message("--response-topic svc/same is the topic the request goes to");
        assert!(run.meta.get("response").is_none(), "{run:#?}");
    }
}

#[test]
fn a_qos_0_request_is_unconfirmed_without_an_acknowledgement_to_speak_of() {
    // QoS 0 has no acknowledgement: no "not yet acknowledged", and a connection that ends
    // after the request was written leaves it unconfirmed, as at QoS 1 (not "dropped").
    let ask0 = |url: &str, timeout: &str| {
        let mut command = mqtt_send();
        command.args(["-b", url, "-t", "svc/ask", "-m", "ping", "-q", "0"]);
        command.args(["--response-topic", "svc/answer", "--wait-response"]);
        run(command.args(["--timeout", timeout]))
    };
    let broker = Mosquitto::start();
    let timed_out = ask0(&broker.url(), "1");
    timed_out
        .expect(6)
        .expect_message("the request was sent to")
        .expect_message("at QoS 0, which has no acknowledgement")
        .expect_message("publishing it again is not safe");
    assert!(
        !timed_out.message().contains("acknowledged,"),
        "{timed_out:#?}"
    );
    let aws = scripted_aws(Suback::ClosesAfterPuback);
    let closed = ask0(&aws.url(), "10");
    closed
        .expect(6)
        .expect_message("was sent the request at QoS 0, which has no acknowledgement, then closed")
        .expect_message("publishing it again is not safe");
}

#[test]
fn no_matching_subscribers_for_the_request_ends_the_wait_at_once() {
    // PUBACK 0x10: nothing is subscribed to the request topic, so no responder received it and
    // no answer can come. It was a 30 s wait ending in "it may still take effect".
    let broker = Broker5::start(Script::Serve {
        connack: Vec::new(),
        reply: Reply::Ack(0x10, None),
    });
    let scripted = ask(&broker.url(), &["--timeout", "20"]);
    scripted
        .expect(7)
        .expect_message("no matching subscribers (0x10)")
        .expect_message("no responder received the request");
    assert_eq!(scripted.meta["reason-code"], 0x10);
    assert_eq!(
        broker.transcripts()[0][..3],
        ["CONNECT 5", "SUBSCRIBE", "PUBLISH"].map(String::from)
    );
    // mosquitto 2.0.11 says so too, in PUBACK (not in PUBREC: QoS 2 waits for the deadline).
    let mosquitto = Mosquitto::start();
    let real = ask(&mosquitto.url(), &["--timeout", "20"]);
    real.expect(7)
        .expect_message("no responder received the request");
}
