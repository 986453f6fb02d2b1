//! AWS IoT shadows, confirmed (issue 13): mqtt-send subscribes to `…/accepted` and
//! `…/rejected`, publishes the request with a clientToken, and the shadow service's answer for
//! that token decides the exit code. The service is an emulator of AWS's documented behaviour,
//! a client of a real mosquitto; a scripted endpoint stands in where the answer must come
//! before the PUBACK, or the SUBSCRIBE must be refused.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::cmd::Run;
use crate::support::shadow::{Behaviour, ShadowService, Suback, scripted_aws};
use crate::support::{Mosquitto, SilentServer, mqtt_send, run};

const ON: &str = r#"{"state":{"reported":{"on":true}}}"#;

/// `mqtt-send -b URL --shadow OPERATION --thing lamp ARGS...`.
fn shadow(url: &str, operation: &str, args: &[&str]) -> Run {
    let mut command = mqtt_send();
    command.args([
        "-b",
        url,
        "--shadow",
        operation,
        "--thing",
        "lamp",
        "--timeout",
        "10",
    ]);
    command.args(args);
    run(&mut command)
}

#[track_caller]
fn document(request: &[u8]) -> Value {
    serde_json::from_slice(request).expect("a JSON request")
}

#[test]
fn an_accepted_update_is_exit_0_with_the_new_version_and_state() {
    let broker = Mosquitto::start();
    let service = ShadowService::start(broker.port, Behaviour::Aws);
    let first = shadow(&broker.url(), "update", &["-m", ON]);
    first
        .expect(0)
        .expect_message("accepted the update of the classic shadow of thing \"lamp\" (version 1)");
    let meta = &first.meta;
    assert_eq!(meta["topic"], "$aws/things/lamp/shadow/update");
    assert_eq!(
        meta["qos"], 1,
        "a shadow request is QoS 1 whatever the default"
    );
    assert_eq!(meta["shadow"]["version"], 1);
    assert_eq!(meta["shadow"]["state"], json!({"reported": {"on": true}}));
    assert!(meta["shadow"]["timestamp"].is_u64());
    // The clientToken mqtt-send added is the one the service saw, and the one it answered.
    let requests = service.requests();
    assert_eq!(requests.len(), 1);
    let sent = document(&requests[0].1);
    assert_eq!(meta["shadow"]["client-token"], sent["clientToken"]);
    assert_eq!(sent["state"], json!({"reported": {"on": true}}));
    let second = shadow(
        &broker.url(),
        "update",
        &["-m", r#"{"state":{"desired":{"on":false}}}"#, "-V", "3.1.1"],
    );
    second.expect(0);
    assert_eq!(second.meta["shadow"]["version"], 2);
    assert_eq!(second.meta["protocol"], "3.1.1");
    assert_ne!(
        second.meta["shadow"]["client-token"], meta["shadow"]["client-token"],
        "a fresh token each run"
    );
}

#[test]
fn a_given_client_token_is_kept() {
    let broker = Mosquitto::start();
    let service = ShadowService::start(broker.port, Behaviour::Aws);
    let given = r#"{"state":{"reported":{"on":true}},"clientToken":"ci-run-42"}"#;
    let run = shadow(&broker.url(), "update", &["-m", given]);
    run.expect(0);
    assert_eq!(run.meta["shadow"]["client-token"], "ci-run-42");
    assert_eq!(
        document(&service.requests()[0].1)["clientToken"],
        "ci-run-42"
    );
}

#[test]
fn a_stale_version_is_rejected_with_409_and_exit_8() {
    let broker = Mosquitto::start();
    let _service = ShadowService::start(broker.port, Behaviour::Aws);
    shadow(&broker.url(), "update", &["-m", ON]).expect(0);
    let stale = r#"{"state":{"reported":{"on":false}},"version":7}"#;
    let run = shadow(&broker.url(), "update", &["-m", stale]);
    run.expect(8).expect_message(
        "rejected the update of the classic shadow of thing \"lamp\": 409 Version conflict",
    );
    let meta = &run.meta;
    assert_eq!(meta["shadow"]["code"], 409);
    assert_eq!(meta["shadow"]["message"], "Version conflict");
    assert!(meta["shadow"].get("state").is_none());
    assert!(meta["message"].as_str().unwrap().contains("--shadow get"));
    // With the current version the update goes through.
    let current = r#"{"state":{"reported":{"on":false}},"version":1}"#;
    let run = shadow(&broker.url(), "update", &["-m", current]);
    run.expect(0);
    assert_eq!(run.meta["shadow"]["version"], 2);
}

#[test]
fn a_document_the_service_refuses_is_400_and_exit_8() {
    let broker = Mosquitto::start();
    let _service = ShadowService::start(broker.port, Behaviour::Aws);
    let run = shadow(
        &broker.url(),
        "update",
        &["-m", r#"{"state":{"wanted":{"on":true}}}"#],
    );
    run.expect(8);
    assert_eq!(run.meta["shadow"]["code"], 400);
    assert_eq!(
        run.meta["shadow"]["message"],
        "State contains an invalid node: 'wanted'"
    );
}

#[test]
fn throttling_is_429_and_exit_8() {
    let broker = Mosquitto::start();
    let _service = ShadowService::start(broker.port, Behaviour::Throttle);
    let run = shadow(&broker.url(), "update", &["-m", ON]);
    run.expect(8)
        .expect_message("429 Too Many Requests; too many requests in flight");
    assert_eq!(run.meta["shadow"]["code"], 429);
}

#[test]
fn an_answer_for_another_token_is_ignored() {
    let broker = Mosquitto::start();
    let _service = ShadowService::start(broker.port, Behaviour::OtherTokenFirst);
    let run = shadow(&broker.url(), "update", &["-m", ON]);
    // The 409 for "another-client" came first; ours was accepted.
    run.expect(0);
    assert_eq!(run.meta["shadow"]["version"], 1);
    assert_ne!(run.meta["shadow"]["client-token"], "another-client");
}

#[test]
fn a_late_answer_within_the_deadline_counts() {
    let broker = Mosquitto::start();
    let _service = ShadowService::start(broker.port, Behaviour::Delay(Duration::from_millis(700)));
    let run = shadow(&broker.url(), "update", &["-m", ON]);
    run.expect(0);
    assert_eq!(run.meta["shadow"]["version"], 1);
}

#[test]
fn no_answer_is_exit_6_acknowledged_but_not_confirmed_and_never_published_again() {
    let broker = Mosquitto::start();
    let service = ShadowService::start(broker.port, Behaviour::Never);
    let mut command = mqtt_send();
    command.args([
        "-b",
        &broker.url(),
        "--shadow",
        "update",
        "--thing",
        "lamp",
        "-m",
        ON,
    ]);
    command.args(["--timeout", "1.5", "--retries", "3"]);
    let run = run(&mut command);
    run.expect(6)
        .expect_message("acknowledged the shadow update (PUBACK) but it was not confirmed")
        .expect_message("publishing it again is not safe");
    assert_eq!(run.meta["attempts"], 1);
    assert!(run.meta.get("shadow").is_none());
    assert_eq!(
        service.requests().len(),
        1,
        "--retries never publishes the request again"
    );
}

#[test]
fn get_and_delete_report_the_shadow_and_a_missing_one_is_404() {
    let broker = Mosquitto::start();
    let _service = ShadowService::start(broker.port, Behaviour::Aws);
    let missing = shadow(&broker.url(), "get", &[]);
    missing.expect(8);
    assert_eq!(missing.meta["shadow"]["code"], 404);
    shadow(&broker.url(), "update", &["-m", ON]).expect(0);
    let got = shadow(&broker.url(), "get", &[]);
    got.expect(0).expect_message("accepted the get of");
    assert_eq!(
        got.meta["shadow"]["state"],
        json!({"reported": {"on": true}})
    );
    assert_eq!(got.meta["shadow"]["version"], 1);
    let deleted = shadow(&broker.url(), "delete", &[]);
    deleted.expect(0);
    assert!(deleted.meta["shadow"].get("state").is_none());
    shadow(&broker.url(), "get", &[]).expect(8);
}

#[test]
fn a_named_shadow_has_its_own_topics_and_versions() {
    let broker = Mosquitto::start();
    let service = ShadowService::start(broker.port, Behaviour::Aws);
    shadow(&broker.url(), "update", &["-m", ON]).expect(0);
    let named = shadow(
        &broker.url(),
        "update",
        &["-m", ON, "--shadow-name", "config"],
    );
    named
        .expect(0)
        .expect_message("the shadow \"config\" of thing \"lamp\"");
    assert_eq!(
        named.meta["topic"],
        "$aws/things/lamp/shadow/name/config/update"
    );
    assert_eq!(named.meta["shadow"]["version"], 1);
    assert_eq!(
        service.requests()[1].0,
        "$aws/things/lamp/shadow/name/config/update"
    );
}

#[test]
fn the_thing_defaults_to_the_client_id() {
    let broker = Mosquitto::start();
    let _service = ShadowService::start(broker.port, Behaviour::Aws);
    let mut command = mqtt_send();
    command.args([
        "-b",
        &broker.url(),
        "-i",
        "pump-7",
        "--shadow",
        "update",
        "-m",
        ON,
    ]);
    let run = run(&mut command);
    run.expect(0);
    assert_eq!(run.meta["topic"], "$aws/things/pump-7/shadow/update");
}

#[test]
fn the_answer_before_the_puback_is_final() {
    for version in ["5", "3.1.1"] {
        let aws = scripted_aws(Suback::Granted);
        let run = shadow(&aws.url(), "update", &["-m", ON, "-V", version, "-v"]);
        run.expect(0);
        assert_eq!(run.meta["shadow"]["version"], 1, "MQTT {version}");
        assert!(
            run.stderr
                .contains("the answer came before the acknowledgement"),
            "{}",
            run.stderr
        );
        let transcripts = aws.transcripts();
        assert_eq!(
            transcripts[0][1..3],
            ["SUBSCRIBE".to_string(), "PUBLISH".to_string()],
            "SUBACK before the PUBLISH; MQTT {version}"
        );
    }
}

#[test]
fn a_refused_subscription_publishes_nothing() {
    for (version, code) in [("5", 0x87), ("3.1.1", 0x80)] {
        let aws = scripted_aws(Suback::Refused(code));
        let run = shadow(&aws.url(), "update", &["-m", ON, "-V", version]);
        run.expect(7)
            .expect_message("refused the subscription to $aws/things/lamp/shadow/update/accepted")
            .expect_message("nothing was published");
        let transcripts = aws.transcripts();
        assert!(
            !transcripts[0].contains(&"PUBLISH".to_string()),
            "{transcripts:?}"
        );
    }
}

#[test]
fn a_connection_closed_at_the_subscribe_publishes_nothing() {
    let aws = scripted_aws(Suback::ClosesOnSubscribe);
    let run = shadow(&aws.url(), "update", &["-m", ON, "-V", "3.1.1"]);
    run.expect(7)
        .expect_message("closed the connection while we were subscribing")
        .expect_message("iot:Subscribe")
        .expect_message("nothing was published");
    assert!(
        !run.message().contains("not acknowledged"),
        "{}",
        run.message()
    );
}

#[test]
fn a_disconnect_at_the_subscribe_publishes_nothing_and_says_so() {
    let aws = scripted_aws(Suback::DisconnectsOnSubscribe(0x87));
    let run = shadow(&aws.url(), "update", &["-m", ON, "-V", "5"]);
    run.expect(7)
        .expect_message("sent DISCONNECT (not authorized (0x87)")
        .expect_message("instead of SUBACK: nothing was published");
    assert!(
        !run.message().contains("not acknowledged"),
        "{}",
        run.message()
    );
}

#[test]
fn a_connection_lost_after_the_puback_leaves_the_update_unconfirmed() {
    let aws = scripted_aws(Suback::ClosesAfterPuback);
    let mut command = mqtt_send();
    command.args([
        "-b",
        &aws.url(),
        "--shadow",
        "update",
        "--thing",
        "lamp",
        "-m",
        ON,
    ]);
    let run = run(command.args(["--retries", "2"]));
    run.expect(6)
        .expect_message("acknowledged the shadow update (PUBACK), then closed the connection")
        .expect_message("publishing it again is not safe");
    assert_eq!(run.meta["attempts"], 1);
    assert_eq!(
        aws.transcripts().len(),
        1,
        "one connection: never published again"
    );
}

#[test]
fn documents_aws_would_reject_are_exit_2_before_connecting() {
    let nobody = SilentServer::start();
    let deep = r#"{"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}}}"#;
    let token = format!(r#"{{"state":{{}},"clientToken":"{}"}}"#, "t".repeat(65));
    let large = format!(
        r#"{{"state":{{"reported":{{"log":"{}"}}}}}}"#,
        "x".repeat(9000)
    );
    for (content, words) in [
        (
            deep,
            "nests state.desired 7 levels deep; AWS IoT takes at most 6",
        ),
        (
            token.as_str(),
            "\"clientToken\" of 65 bytes; AWS IoT takes at most 64",
        ),
        (large.as_str(), "AWS IoT takes at most 8192 (8 KB)"),
        (r#"{"reported":{"on":true}}"#, "has no \"state\""),
        ("on", "is not JSON"),
    ] {
        let run = shadow(&nobody.url(), "update", &["-m", content]);
        run.expect(2)
            .expect_message(words)
            .expect_message("nothing was sent");
    }
}

#[test]
fn shadow_options_that_cannot_go_together_are_exit_2() {
    let nobody = SilentServer::start();
    let url = nobody.url();
    for (args, words) in [
        (
            vec!["--shadow", "update", "--thing", "x", "-t", "a", "-m", ON],
            "leave out the topic",
        ),
        (
            vec!["--shadow", "update", "-m", ON],
            "--shadow needs the thing's name",
        ),
        (
            vec!["--shadow", "update", "--thing", "x", "-q", "2", "-m", ON],
            "a shadow request goes at QoS 1",
        ),
        (
            vec!["--shadow", "update", "--thing", "x", "-r", "-m", ON],
            "leave out --retain",
        ),
        (
            vec!["--shadow", "update", "--thing", "x", "--lines", "-m", ON],
            "cannot be used with --lines",
        ),
        (
            vec!["--thing", "x", "-t", "a", "-m", ON],
            "no --shadow operation is given",
        ),
        (
            vec!["--shadow", "list", "--thing", "x"],
            "must be update, get or delete",
        ),
        (
            vec!["--shadow", "get", "--thing", "a/b"],
            "what AWS IoT takes in a name",
        ),
        (vec!["--shadow", "update", "--thing", "x"], "no message"),
    ] {
        let mut command = mqtt_send();
        command.args(["-b", &url]).args(&args);
        run(&mut command).expect(2).expect_message(words);
    }
}

#[test]
fn mosquitto_pub_ways_of_giving_a_topic_or_more_messages_are_exit_2_with_shadow() {
    // -L's URL holds a topic, which --shadow silently replaced; --repeat and -l were refused
    // in the words of --lines.
    let nobody = SilentServer::start();
    let url = format!("mqtt://127.0.0.1:{}/some/topic", nobody.port);
    for (args, words) in [
        (
            vec!["-L", url.as_str(), "-m", ON],
            "--url and --shadow both say where",
        ),
        (
            vec!["-b", &nobody.url(), "-m", ON, "--repeat", "2"],
            "cannot be used with --repeat",
        ),
    ] {
        let mut command = mqtt_send();
        command
            .args(["--shadow", "update", "--thing", "x"])
            .args(&args);
        run(&mut command).expect(2).expect_message(words);
    }
    let mut command = mqtt_send();
    command.args(["-b", &nobody.url(), "--shadow", "get", "--thing", "x", "-l"]);
    run(&mut command)
        .expect(2)
        .expect_message("cannot be used with -l");
    let mut command = mqtt_send();
    command.args(["-b", &nobody.url(), "--shadow", "get", "--thing", "x"]);
    command.args(["--response-topic", "r", "--wait-response"]);
    run(&mut command).expect(2).expect_message(
        "a shadow request already waits for the shadow service's answer; leave out --wait-response",
    );
}
