//! No password, ever, in stdout or stderr: every outcome, every way of giving the password, with
//! -v on; clap's own errors about the words around a password; broker URLs that hold one.
//! (The `run` helper fails any run that prints one of the test passwords.)

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
        // A short deadline only where it is the outcome (no CONNACK); elsewhere a loaded
        // machine must not turn the expected outcome into a timeout.
        let timeout = if *code == 6 { "1" } else { "10" };
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
                timeout,
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

/// clap's errors quote the argument they are about: never a word of the password.
#[test]
fn no_clap_error_shows_a_word_of_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("password");
    fs::write(&password_file, "p\n").unwrap();
    let password_file = password_file.to_str().unwrap();
    let stray = "pw-stray-2b7d";
    let cases: Vec<Vec<&str>> = vec![
        // An unquoted password with spaces: clap complains about its second word.
        vec!["-P", "two", stray],
        vec!["--password", "two", stray],
        vec!["--password=two", stray],
        vec!["-Ptwo", stray],
        vec!["-P=two", stray],
        vec!["-vP", "two", stray],
        vec!["-P", "one", "two", stray, "-q", "1"],
        vec!["-P", "two", stray, "-P", "again"],
        // A password that starts with '-' is a value; what clap refuses after it is not shown
        // with it.
        vec!["-P", "--pw-stray-2b7d", "--no-such-flag"],
        vec!["--password", "-pw-stray-2b7d", "-q", "7"],
        // Errors about the password flag itself.
        vec!["-P", stray, "--password-file", password_file],
        vec!["-P", stray, "-P", "again"],
    ];
    for case in cases {
        let result = run(mqtt_send().args(["-t", "t", "-m", "x"]).args(&case));
        assert_eq!(result.code, 2, "{case:?}: {result:#?}");
    }
    let result = run(mqtt_send().args(["-t", "t", "-m", "x", "-P", "two", stray]));
    result.expect_message("unexpected argument '***' found");
    assert!(
        result.stderr.contains("quote a password"),
        "{}",
        result.stderr
    );
}

/// A broker URL is shown without whatever stands before an `@` or after a `?` or `#`.
#[test]
fn no_broker_url_error_shows_a_password_in_the_url() {
    let secret = "pw-url-6c0a";
    let urls = [
        format!("tcp://localhost?password={secret}"),
        format!("tcp://localhost:1883/?password={secret}"),
        format!("tcp://localhost#{secret}"),
        format!("{secret}@tcp://localhost"),
        format!("user:{secret}@localhost"),
        format!("tcp://user:{secret}@localhost"),
        format!("user:{secret}://x@localhost"),
        format!("tcp://localhost?password=a@{secret}"),
        format!("tcp?{secret}://localhost"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for url in &urls {
        let result = run(mqtt_send().args(["-b", url, "-t", "t", "-m", "x"]));
        assert_eq!(result.code, 2, "{url}: {result:#?}");
        let config = dir.path().join("connector.json");
        fs::write(
            &config,
            serde_json::json!({ "broker": url, "topic": "t" }).to_string(),
        )
        .unwrap();
        let result = run(mqtt_send().arg("-c").arg(&config).args(["-m", "x"]));
        assert_eq!(result.code, 2, "{url} in a config file: {result:#?}");
    }
}
