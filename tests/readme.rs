//! Every meta object printed in the README is what a real run of the same kind prints: the same
//! exit code, the same keys in the same order, and the same message (with the broker's address
//! as the README shows it). Each is rerun here against a mosquitto set up as the README says.

use std::fs;

use serde_json::{Map, Value};

use crate::support::responder::Responder;
use crate::support::shadow::{Behaviour, ShadowService};
use crate::support::{Mosquitto, mqtt_send, run};

/// The meta objects in the README, in order.
fn readme_meta_objects() -> Vec<Map<String, Value>> {
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    readme
        .lines()
        .filter(|line| line.starts_with("{\"exit-code\""))
        .map(|line| match serde_json::from_str(line) {
            Ok(Value::Object(meta)) => meta,
            other => panic!("not a meta object in the README: {line} ({other:?})"),
        })
        .collect()
}

/// Compare a README meta object with a real run's.
#[track_caller]
fn same_as_a_real_run(shown: &Map<String, Value>, real: &Value, broker: &str) {
    let real = real.as_object().expect("a meta object");
    let keys = |meta: &Map<String, Value>| meta.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(shown),
        keys(real),
        "the README's keys differ from a real run's"
    );
    assert_eq!(shown["exit-code"], real["exit-code"]);
    let readme_broker = shown["broker"].as_str().unwrap();
    let message = real["message"]
        .as_str()
        .unwrap()
        .replace(broker, readme_broker);
    assert_eq!(shown["message"].as_str().unwrap(), message);
}

#[test]
fn every_meta_object_in_the_readme_is_what_a_real_run_prints() {
    let shown = readme_meta_objects();
    assert_eq!(
        shown.len(),
        6,
        "a meta object was added to the README: check it here too"
    );

    // In the README's order: the quick start; the shadow update accepted and rejected, and a
    // request's response (checked below, with their broker); the MQTT 5 ACL refusal; max_qos.
    // The quick start.
    let broker = Mosquitto::start();
    let result = run(mqtt_send().args([
        "-b",
        &broker.url(),
        "-t",
        "sensors/room1",
        "-m",
        r#"{"temp":21.5}"#,
        "-i",
        "quickstart",
    ]));
    same_as_a_real_run(&shown[0], &result.meta, &broker.url());

    // A QoS 1 publish to a topic the broker's ACL closes (MQTT 5).
    let broker = Mosquitto::with_listener("allow_anonymous true\nacl_file {dir}/acl\n", |dir| {
        fs::write(dir.join("acl"), "topic read closed/#\n").unwrap();
    });
    let result =
        run(mqtt_send().args(["-b", &broker.url(), "-t", "closed/x", "-m", "x", "-q", "1"]));
    same_as_a_real_run(&shown[4], &result.meta, &broker.url());

    // A QoS 2 publish to a listener with max_qos 1.
    let broker = Mosquitto::with_listener("allow_anonymous true\nmax_qos 1\n", |_| {});
    let result = run(mqtt_send().args([
        "-b",
        &broker.url(),
        "-i",
        "qos2-demo",
        "-t",
        "t",
        "-m",
        "x",
        "-q",
        "2",
    ]));
    same_as_a_real_run(&shown[5], &result.meta, &broker.url());

    // A shadow update the shadow service accepts, then one it rejects (a stale version).
    let broker = Mosquitto::start();
    let _service = ShadowService::start(broker.port, Behaviour::Aws);
    let update = |document: &str| {
        let mut command = mqtt_send();
        command.args(["-b", &broker.url(), "-i", "ci-thing", "--shadow", "update"]);
        run(command.args(["-m", document]))
    };
    let accepted = update(r#"{"state":{"reported":{"deployed":"4f2a9c1"}}}"#);
    same_as_a_real_run(&shown[1], &accepted.meta, &broker.url());
    let rejected = update(r#"{"state":{"reported":{"deployed":"4f2a9c1"}},"version":7}"#);
    same_as_a_real_run(&shown[2], &rejected.meta, &broker.url());

    // A request and its response (MQTT 5).
    let _responder = Responder::v5(broker.port, "svc/ping", |_| b"pong".to_vec(), false);
    let mut command = mqtt_send();
    command.args([
        "-b",
        &broker.url(),
        "-i",
        "rr-demo",
        "-q",
        "1",
        "-t",
        "svc/ping",
        "-m",
        "ping",
    ]);
    let answered = run(command.args(["--response-topic", "svc/pong", "--wait-response"]));
    same_as_a_real_run(&shown[3], &answered.meta, &broker.url());
}
