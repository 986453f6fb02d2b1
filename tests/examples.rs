//! The config files in examples/ stay valid.

use std::path::Path;

use crate::support::{Mosquitto, Subscriber, mqtt_send, run};

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

#[test]
fn local_example_publishes() {
    let broker = Mosquitto::start();
    let mut sub = Subscriber::connect(broker.port, &["sensors/room1"]);
    // Only the broker differs from the example: ours is on a free port.
    let result = run(mqtt_send()
        .arg("-c")
        .arg(example("local.json"))
        .args(["-b", &broker.url()]));
    result.expect(0);
    // The quick start's message, and no fixed client id: parallel runs cannot take each
    // other's session over.
    assert_eq!(sub.expect_message().payload, br#"{"temp":21.5}"#);
    let client_id = result.meta["client-id"].as_str().unwrap();
    assert!(client_id.starts_with("mqtt-send-"), "{client_id}");
}

#[test]
fn aws_example_is_valid_and_looks_for_its_files_beside_it() {
    // The certificate files are the user's own; without them the run stops (2) at the first
    // one, named with the example's folder, before any network I/O.
    let result = run(mqtt_send()
        .arg("-c")
        .arg(example("aws-iot.json"))
        .args(["-m", "{}"]));
    result
        .expect(2)
        .expect_message(example("AmazonRootCA1.pem").to_str().unwrap());
    assert!(
        !result.stderr.contains("QoS 0 and 1 only"),
        "the example uses QoS 1"
    );
}

#[test]
fn aws_shadow_example_updates_the_things_shadow_and_waits_for_the_answer() {
    use crate::support::shadow::{Behaviour, ShadowService};
    // As the AWS example: the user's certificate files are looked for beside it.
    let result = run(mqtt_send()
        .arg("-c")
        .arg(example("aws-shadow.json"))
        .args(["-m", r#"{"state":{"reported":{"on":true}}}"#]));
    result
        .expect(2)
        .expect_message(example("AmazonRootCA1.pem").to_str().unwrap());
    // Against the shadow emulator (no TLS here): the thing is the client id, the update is
    // confirmed, and --shadow get on the command line reads it back.
    let broker = Mosquitto::start();
    let _service = ShadowService::start(broker.port, Behaviour::Aws);
    let locally = |args: &[&str]| {
        let mut command = mqtt_send();
        command.arg("-c").arg(example("aws-shadow.json"));
        command.args(["-b", &broker.url(), "--use-certificate", "false"]);
        run(command.args(args))
    };
    let updated = locally(&["-m", r#"{"state":{"reported":{"on":true}}}"#]);
    updated.expect(0);
    assert_eq!(
        updated.meta["topic"],
        "$aws/things/thing-name/shadow/update"
    );
    let got = locally(&["--shadow", "get"]);
    got.expect(0);
    assert_eq!(got.meta["shadow"]["state"]["reported"]["on"], true);
}
