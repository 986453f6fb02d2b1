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
    let mut sub = Subscriber::connect(broker.port, &["flint_topic"]);
    // Only the broker differs from the example: ours is on a free port.
    run(mqtt_send()
        .arg("-c")
        .arg(example("local.json"))
        .args(["-b", &broker.url()]))
    .expect(0);
    assert_eq!(sub.expect_message().payload, b"hello from mqtt-send");
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
