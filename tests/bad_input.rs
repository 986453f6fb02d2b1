//! The bad-input corpus: config files and flags a user gets wrong. Every case exits 2 with a
//! meta object whose message names the offending key, flag or file, without a panic (the `run`
//! helper checks), and without sending anything: the broker is a listener that records every
//! connection, and it must have seen none.

use std::fs;

use crate::support::fault::{Fault, FaultBroker};
use crate::support::{mqtt_send, run};

/// What a case puts in the config file.
enum File {
    /// No config file.
    None,
    /// A valid base config (broker, topic, content) plus these extra `"key": value` pairs.
    Base(&'static str),
    /// Exactly these bytes.
    Raw(&'static [u8]),
    /// The path is a directory.
    Directory,
}

struct Case {
    file: File,
    flags: Vec<String>,
    /// Text the message must contain (the key, flag or file it names).
    names: &'static str,
}

fn case(file: File, flags: &[&str], names: &'static str) -> Case {
    Case {
        file,
        flags: flags.iter().map(|f| f.to_string()).collect(),
        names,
    }
}

fn cases(long: &str) -> Vec<Case> {
    use File::{Base, Directory, None as NoFile, Raw};
    let mut all = vec![
        // The file itself.
        case(Raw(b""), &[], "the config file CONFIG is empty"),
        case(Raw(b"  \n\t\n"), &[], "the config file CONFIG is empty"),
        case(
            Raw(b"[1, 2, 3]"),
            &[],
            "the config file CONFIG must hold a JSON object {...}, not an array",
        ),
        case(
            Raw(b"\"broker\""),
            &[],
            "CONFIG must hold a JSON object {...}, not a string",
        ),
        case(
            Raw(b"42"),
            &[],
            "CONFIG must hold a JSON object {...}, not a number",
        ),
        case(
            Raw(b"null"),
            &[],
            "CONFIG must hold a JSON object {...}, not null",
        ),
        case(
            Raw(b"{\"broker\": \"tcp://"),
            &[],
            "the config file CONFIG is not valid JSON",
        ),
        case(
            Raw(b"{} trailing"),
            &[],
            "the config file CONFIG is not valid JSON",
        ),
        case(
            Raw(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"),
            &[],
            "the config file CONFIG is not valid JSON",
        ),
        case(Directory, &[], "the config file CONFIG: it is a directory"),
        case(
            NoFile,
            &["-c", "/no/such/dir/connector.json"],
            "/no/such/dir/connector.json",
        ),
        // A wrong type for every key.
        case(Base(r#""action": 1"#), &[], "\"action\" in CONFIG"),
        case(Base(r#""alpn": 5"#), &[], "\"alpn\" in CONFIG"),
        case(
            Raw(br#"{"broker": 5, "topic": "t", "content": "c"}"#),
            &[],
            "\"broker\" in CONFIG",
        ),
        case(
            Base(r#""certificate": true"#),
            &[],
            "\"certificate\" in CONFIG",
        ),
        case(Base(r#""client-id": 7"#), &[], "\"client-id\" in CONFIG"),
        case(
            Raw(br#"{"broker": "tcp://127.0.0.1:1", "topic": "t", "content": {}}"#),
            &[],
            "\"content\" in CONFIG",
        ),
        case(Base(r#""lines": "yes""#), &[], "\"lines\" in CONFIG"),
        case(Base(r#""ndjson": 1"#), &[], "\"ndjson\" in CONFIG"),
        case(Base(r#""password": 1234"#), &[], "\"password\" in CONFIG"),
        case(
            Base(r#""private-key": []"#),
            &[],
            "\"private-key\" in CONFIG",
        ),
        case(Base(r#""qos": true"#), &[], "\"qos\" in CONFIG"),
        case(Base(r#""retain": "true""#), &[], "\"retain\" in CONFIG"),
        case(Base(r#""retries": "3""#), &[], "\"retries\" in CONFIG"),
        case(
            Base(r#""root-ca-crt": 1"#),
            &[],
            "\"root-ca-crt\" in CONFIG",
        ),
        case(Base(r#""timeout": "10""#), &[], "\"timeout\" in CONFIG"),
        case(
            Raw(br#"{"broker": "tcp://127.0.0.1:1", "topic": ["a"], "content": "c"}"#),
            &[],
            "\"topic\" in CONFIG",
        ),
        case(
            Base(r#""use-certificate": "true""#),
            &[],
            "\"use-certificate\" in CONFIG",
        ),
        case(Base(r#""username": false"#), &[], "\"username\" in CONFIG"),
        // Values out of range.
        case(Base(r#""timeout": -1"#), &[], "\"timeout\" in CONFIG"),
        case(Base(r#""timeout": 0"#), &[], "\"timeout\" in CONFIG"),
        case(Base(""), &["--timeout", "abc"], "--timeout"),
        case(Base(""), &["--timeout", "-5"], "--timeout"),
        case(Base(""), &["--timeout", "inf"], "--timeout"),
        case(Base(r#""qos": 1.5"#), &[], "\"qos\" in CONFIG"),
        case(Base(r#""qos": "two""#), &[], "\"qos\" in CONFIG"),
        case(Base(r#""qos": 3"#), &[], "\"qos\" in CONFIG"),
        case(Base(r#""qos": -1"#), &[], "\"qos\" in CONFIG"),
        case(Base(""), &["-q", "3"], "--qos"),
        case(Base(""), &["-q", "-1"], "--qos"),
        case(Base(r#""retries": 1.5"#), &[], "\"retries\" in CONFIG"),
        case(Base(""), &["--retries", "-1"], "--retries"),
        case(Base(""), &["--retries", "100000"], "--retries"),
        case(Base(r#""alpn": [""]"#), &[], "\"alpn\" in CONFIG"),
        // Topics.
        case(Base(""), &["-t", ""], "--topic: the topic is empty"),
        case(
            Raw(br#"{"broker": "tcp://127.0.0.1:1", "topic": "a\u0000b", "content": "c"}"#),
            &[],
            "\"topic\" in CONFIG: the topic contains a NUL",
        ),
        case(
            Base(""),
            &["-t", "sensors/+/temp"],
            "--topic: the topic \"sensors/+/temp\" contains a wildcard",
        ),
        case(
            Raw(br##"{"broker": "tcp://127.0.0.1:1", "topic": "sensors/#", "content": "c"}"##),
            &[],
            "\"topic\" in CONFIG: the topic \"sensors/#\" contains a wildcard",
        ),
        case(Base(""), &["-t", long], "--topic: the topic is 70000 bytes"),
        // Broker URLs.
        case(
            Base(""),
            &["-b", "http://localhost"],
            "--broker: the broker URL \"http://localhost\" has an unknown scheme",
        ),
        case(
            Base(""),
            &["-b", "ws://localhost:9001/a b"],
            "--broker: the broker URL \"ws://localhost:9001/a b\" has a path",
        ),
        case(
            Base(""),
            &["-b", "tcp://localhost:0"],
            "--broker: the broker URL \"tcp://localhost:0\" has port \"0\"",
        ),
        case(
            Base(""),
            &["-b", "tcp://localhost:70000"],
            "--broker: the broker URL \"tcp://localhost:70000\" has port \"70000\"",
        ),
        case(
            Base(""),
            &["-b", "tcp://localhost:mqtt"],
            "--broker: the broker URL \"tcp://localhost:mqtt\" has port \"mqtt\"",
        ),
        case(
            Base(""),
            &["-b", "tcp://[::1"],
            "--broker: the broker URL \"tcp://[::1\" opens an IPv6 address with [ but never closes it",
        ),
        case(
            Base(""),
            &["-b", "tcp://[fe80::zz]:1883"],
            "--broker: the broker URL \"tcp://[fe80::zz]:1883\" has \"fe80::zz\" in brackets, which is not an IPv6 address",
        ),
        case(
            Base(""),
            &["-b", "::1"],
            "--broker: the broker URL \"::1\" looks like a bare IPv6 address",
        ),
        case(
            Base(""),
            &["-b", "tcp://"],
            "--broker: the broker URL \"tcp://\" has no host name",
        ),
        case(
            Raw(br#"{"broker": "mqtt://broker/topic", "topic": "t", "content": "c"}"#),
            &[],
            "\"broker\" in CONFIG: the broker URL \"mqtt://broker/topic\" has a path",
        ),
        // Client ids.
        case(
            Base(""),
            &["-i", long],
            "--client-id: the client id is 70000 bytes",
        ),
        // Files named by flags.
        case(
            Base(""),
            &["-f", "/no/such/payload.bin"],
            "/no/such/payload.bin",
        ),
        case(
            Base(""),
            &["-f", "/"],
            "the content file /: it is a directory",
        ),
        case(
            Base(""),
            &["--password-file", "/no/such/password"],
            "/no/such/password",
        ),
        // Keys and actions.
        case(
            Base(r#""topic": "again""#),
            &[],
            "the key \"topic\" appears more than once in the config file CONFIG",
        ),
        case(
            Base(r#""brokr": "x""#),
            &[],
            "unknown key \"brokr\" in CONFIG; did you mean \"broker\"?",
        ),
        case(
            Base(r#""Topic": "x""#),
            &[],
            "unknown key \"Topic\" in CONFIG; did you mean \"topic\"?",
        ),
        case(
            Base(r#""client_id": "x""#),
            &[],
            "unknown key \"client_id\" in CONFIG; did you mean \"client-id\"?",
        ),
        case(
            Base(r#""action": "receive""#),
            &[],
            "\"action\" in CONFIG is \"receive\"; mqtt-send only performs the \"send\" action",
        ),
        // Certificates.
        case(
            NoFile,
            &[
                "-b",
                "ssl://localhost:1",
                "-t",
                "t",
                "-m",
                "c",
                "--use-certificate",
            ],
            "--certificate and --private-key",
        ),
        case(
            Base(r#""use-certificate": true"#),
            &[],
            "use-certificate is true but the broker",
        ),
        case(
            NoFile,
            &[
                "-b",
                "ssl://localhost:1",
                "-t",
                "t",
                "-m",
                "c",
                "--root-ca-crt",
                "/no/such/ca.pem",
            ],
            "/no/such/ca.pem",
        ),
        // Missing pieces.
        case(NoFile, &["-m", "c"], "no topic: give --topic"),
        case(NoFile, &["-t", "t"], "no message: give --content"),
    ];
    // An empty password file.
    all.push(case(
        Base(""),
        &["--password-file", "EMPTY_FILE"],
        "the password file EMPTY_FILE is empty",
    ));
    all
}

#[test]
fn every_bad_input_is_2_names_the_culprit_and_sends_nothing() {
    let listener = FaultBroker::start(Fault::Slow(std::time::Duration::ZERO));
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty-password");
    fs::write(&empty, "").unwrap();
    let long = "x".repeat(70_000);
    let corpus = cases(&long);
    assert!(corpus.len() >= 40, "the corpus has {} cases", corpus.len());
    for (index, case) in corpus.iter().enumerate() {
        let mut command = mqtt_send();
        let config = dir.path().join(format!("case-{index}.json"));
        match &case.file {
            File::None => {}
            File::Base(extra) => {
                let comma = if extra.is_empty() { "" } else { "," };
                fs::write(
                    &config,
                    format!(
                        r#"{{"broker": "{}", "topic": "t", "content": "c"{comma} {extra}}}"#,
                        listener.url()
                    ),
                )
                .unwrap();
                command.arg("-c").arg(&config);
            }
            File::Raw(bytes) => {
                fs::write(&config, bytes).unwrap();
                command.arg("-c").arg(&config);
            }
            File::Directory => {
                command.arg("-c").arg(dir.path());
            }
        }
        for flag in &case.flags {
            if flag == "EMPTY_FILE" {
                command.arg(&empty);
            } else {
                command.arg(flag);
            }
        }
        if matches!(case.file, File::None) && !case.flags.iter().any(|f| f == "-b") {
            command.args(["-b", &listener.url()]);
        }
        let target = if matches!(case.file, File::Directory) {
            dir.path().to_path_buf()
        } else {
            config.clone()
        };
        let names = case
            .names
            .replace("CONFIG", &target.to_string_lossy())
            .replace("EMPTY_FILE", &empty.to_string_lossy());
        let result = run(&mut command);
        assert_eq!(result.code, 2, "case {index} ({names}): {result:#?}");
        result.expect_message(&names);
    }
    listener.assert_untouched();
}
