//! Usage and configuration errors: exit 2, a message naming the culprit, and nothing sent.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::support::{Mosquitto, Subscriber, mqtt_send, run, run_with_stdin, run_within};

/// Each case: config file text (None = no config), extra flags, and what the message must name.
#[test]
fn bad_config_and_flags_exit_2_and_send_nothing() {
    let broker = Mosquitto::start();
    let url = broker.url();
    let dir = tempfile::tempdir().unwrap();
    let good = |rest: &str| format!(r#"{{"broker":"{url}","topic":"t","content":"c"{rest}}}"#);
    let cases: Vec<(Option<String>, Vec<&str>, &str)> = vec![
        (Some("{\"broker\": ".into()), vec![], "is not valid JSON"),
        (Some("[1, 2]".into()), vec![], "must hold a JSON object"),
        (Some(String::new()), vec![], "is empty"),
        (
            Some(good(r#","brokerr":"x""#)),
            vec![],
            "unknown key \"brokerr\"",
        ),
        (
            Some(good(r#","brokerr":"x""#)),
            vec![],
            "did you mean \"broker\"",
        ),
        (Some(good(r#","qos":"two""#)), vec![], "\"qos\" in"),
        (Some(good(r#","qos":3"#)), vec![], "\"qos\" in"),
        (Some(good(r#","retain":"yes""#)), vec![], "\"retain\" in"),
        (Some(good(r#","timeout":"soon""#)), vec![], "\"timeout\" in"),
        (
            Some(good(r#","action":"receive""#)),
            vec![],
            "\"action\" in",
        ),
        (Some(good("")), vec!["-q", "5"], "--qos"),
        (Some(good("")), vec!["-t", "a/+/b"], "wildcard"),
        (Some(good("")), vec!["-t", ""], "topic is empty"),
        (Some(good("")), vec!["-b", "http://localhost"], "--broker"),
        (
            Some(good("")),
            vec!["-b", "tcp://localhost:99999"],
            "port \"99999\"",
        ),
        (
            Some(good("")),
            vec!["-f", "/no/such/payload.bin"],
            "/no/such/payload.bin",
        ),
        (
            Some(good("")),
            vec!["--password-file", "/no/such/password"],
            "/no/such/password",
        ),
        (None, vec!["-b", &url, "-m", "c"], "no topic"),
        (None, vec!["-b", &url, "-t", "t"], "no message"),
        (
            Some(r#"{"topic":"t","content":"c","broker":5}"#.into()),
            vec![],
            "\"broker\" in",
        ),
    ];
    for (index, (config, flags, needle)) in cases.iter().enumerate() {
        let mut command = mqtt_send();
        if let Some(text) = config {
            let path = dir.path().join(format!("case{index}.json"));
            fs::write(&path, text).unwrap();
            command.arg("-c").arg(&path);
        }
        command.args(flags);
        let result = run(&mut command);
        assert_eq!(result.code, 2, "case {index} ({needle}): {result:#?}");
        result.expect_message(needle);
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(
        broker.connections(),
        0,
        "a usage error connected:\n{}",
        broker.log()
    );
}

#[test]
fn missing_config_file_is_named() {
    let result = run(mqtt_send().args(["-c", "/no/such/connector.json"]));
    result.expect(2).expect_message("/no/such/connector.json");
}

#[test]
fn unknown_flag_is_2_with_clap_message_and_a_meta_object() {
    let result = run(mqtt_send().args(["--no-such-flag"]));
    result.expect(2).expect_message("--no-such-flag");
    assert!(
        result.stderr.contains("--no-such-flag"),
        "{}",
        result.stderr
    );
}

#[test]
fn help_and_version_print_and_exit_0_without_meta() {
    for flag in ["--help", "--version"] {
        let output = mqtt_send().arg(flag).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{flag}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            !stdout.trim_start().starts_with('{'),
            "{flag} prints no meta object: {stdout}"
        );
        assert!(stdout.contains("mqtt-send"), "{flag}: {stdout}");
    }
}

#[test]
fn help_lists_every_exit_status() {
    let output = mqtt_send().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    let summary = help
        .split_once("Exit status:")
        .map(|(_, s)| s)
        .unwrap_or_default();
    for code in ["0", "1", "2", "3", "4", "5", "6", "7", "130", "143"] {
        assert!(
            summary
                .split(|c: char| !c.is_ascii_digit())
                .any(|word| word == code),
            "--help's exit status summary lacks {code}: {summary}"
        );
    }
}

/// mosquitto_pub's -h and -V are not help and version: a script that means them must not get
/// exit 0 for a run that published nothing.
#[test]
fn short_h_and_v_are_no_help_or_version() {
    // -V is mosquitto_pub's protocol version.
    let result = run(mqtt_send().arg("-V"));
    result
        .expect(2)
        .expect_message("a value is required for '--protocol-version <VERSION>'");
    run(mqtt_send().args(["-V", "mqttv4", "-t", "t", "-m", "x"]))
        .expect(2)
        .expect_message("--protocol-version must be 5, 3.1.1 or 3.1");
    run(mqtt_send().arg("-h"))
        .expect(2)
        .expect_message("a value is required for '--host <HOST>'");
}

#[test]
fn password_never_appears_in_errors() {
    // The run() helper asserts no test password is printed; these paths all see one.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.json");
    fs::write(
        &config,
        r#"{"password":"pw-config-5e10","topic":"a/#","content":"c"}"#,
    )
    .unwrap();
    run(mqtt_send().arg("-c").arg(&config).arg("-v")).expect(2);
    run(mqtt_send().args(["-b", "tcp://u:pw-flag-9f2c@localhost", "-t", "t", "-m", "c"])).expect(2);
    run(mqtt_send().args([
        "-P",
        "pw-flag-9f2c",
        "-t",
        "t",
        "-m",
        "c",
        "-b",
        "tcp://127.0.0.1:1",
        "-v",
    ]))
    .expect(3);
}

/// A file of 100 MB that takes no room on disk: NUL bytes all through.
fn sparse_file(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::File::create(&path).unwrap().set_len(100 << 20).unwrap();
    path
}

#[test]
fn a_config_file_past_1_mib_is_refused_naming_the_file_and_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let huge = sparse_file(dir.path(), "huge.json");
    for path in [huge.as_path(), Path::new("/dev/zero")] {
        let result = run_within(
            mqtt_send().arg("-c").arg(path).args(["-t", "t", "-m", "x"]),
            Duration::from_secs(10),
        );
        result.expect(2).expect_message(&format!(
            "the config file {} is larger than 1 MiB",
            path.display()
        ));
    }
}

#[test]
fn a_password_file_past_64_kib_is_refused_naming_the_file_and_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let huge = sparse_file(dir.path(), "password");
    for path in [huge.as_path(), Path::new("/dev/zero")] {
        let result = run_within(
            mqtt_send()
                .args(["-b", "tcp://127.0.0.1:1", "-t", "t", "-m", "x", "-u", "u"])
                .arg("--password-file")
                .arg(path),
            Duration::from_secs(10),
        );
        result.expect(2).expect_message(&format!(
            "the password file {} is larger than 64 KiB",
            path.display()
        ));
    }
}

#[test]
fn a_config_or_password_file_that_is_a_pipe_is_read() {
    let broker = Mosquitto::with_password("alice", "pw-file-33de");
    let mut sub = Subscriber::connect(broker.observer, &["piped"]);
    let config = format!(
        r#"{{"broker": "{}", "topic": "piped", "username": "alice", "password": "pw-file-33de"}}"#,
        broker.url()
    );
    let result = run_with_stdin(
        mqtt_send().args(["-c", "/dev/stdin", "-m", "from a pipe"]),
        Some(config.as_bytes()),
    );
    result.expect(0);
    assert_eq!(sub.expect_message().payload, b"from a pipe");
    let result = run_with_stdin(
        mqtt_send().args([
            "-b",
            &broker.url(),
            "-u",
            "alice",
            "--password-file",
            "/dev/stdin",
            "-t",
            "piped",
            "-m",
            "password from a pipe",
        ]),
        Some(b"pw-file-33de\n"),
    );
    result.expect(0);
    assert_eq!(sub.expect_message().payload, b"password from a pipe");
}
