//! No password, ever, in stdout or stderr: every outcome, every way of giving the password, with
//! -v on. (The `run` helper fails any run that prints one of the test passwords.)

use std::fs;

use crate::support::fault::{Fault, FaultBroker};
use crate::support::{Mosquitto, mqtt_send, run};

const PASSWORD: &str = "pw-config-5e10";

/// The ways a user can give the password.
#[derive(Debug, Clone, Copy)]
enum Source {
    Flag,
    Env,
    File,
    Config,
}

#[test]
fn no_outcome_prints_the_password_from_any_source() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("password");
    fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let config = dir.path().join("connector.json");
    fs::write(&config, format!(r#"{{"password": "{PASSWORD}"}}"#)).unwrap();
    let good = Mosquitto::with_password("alice", PASSWORD);
    let faults = [
        (FaultBroker::start(Fault::ConnAckCode(4)), "ConnAckCode", 5),
        (FaultBroker::start(Fault::NoConnAck), "NoConnAck", 6),
        (
            FaultBroker::start(Fault::CloseOnPublish),
            "CloseOnPublish",
            7,
        ),
        (FaultBroker::start(Fault::GarbageAfterConnAck), "Garbage", 7),
    ];
    let dead = format!("tcp://127.0.0.1:{}", crate::support::broker::free_port());
    let tls_to_plain = format!("ssl://localhost:{}", faults[0].0.port);

    // (broker URL, extra flags, expected exit code)
    let mut paths: Vec<(String, Vec<&str>, i32)> = vec![
        (good.url(), vec![], 0),
        (good.url(), vec!["-q", "7"], 2),
        (dead.clone(), vec![], 3),
        (tls_to_plain, vec!["--root-ca-crt", "/etc/hostname"], 2),
        (dead, vec!["--retries", "1"], 3),
    ];
    for (broker, _, code) in &faults {
        paths.push((broker.url(), vec![], *code));
    }
    for (url, extra, code) in &paths {
        for source in [Source::Flag, Source::Env, Source::File, Source::Config] {
            let mut command = mqtt_send();
            command.args([
                "-b",
                url,
                "-u",
                "alice",
                "-t",
                "t",
                "-m",
                "x",
                "-q",
                "1",
                "-v",
                "--timeout",
                "1",
            ]);
            command.args(extra);
            match source {
                Source::Flag => command.args(["-P", PASSWORD]),
                Source::Env => command.env("MQTT_SEND_PASSWORD", PASSWORD),
                Source::File => command.arg("--password-file").arg(&password_file),
                Source::Config => command.arg("-c").arg(&config),
            };
            let result = run(&mut command);
            assert_eq!(
                result.code, *code,
                "{url} {extra:?} {source:?}: {result:#?}"
            );
            // Where CONNECT went out, the password really was in it (so the check above bites).
            if matches!(code, 0 | 5 | 6 | 7) {
                assert!(
                    result.stderr.contains("password given"),
                    "{}",
                    result.stderr
                );
            }
        }
    }
}
