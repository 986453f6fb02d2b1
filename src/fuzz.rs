//! Property tests (fuzzing with proptest) for everything that parses user input: the broker
//! URL, the config file bytes, and the whole flag + config merge. No input may panic.
//! CI runs proptest's default 256 cases per property; for a long run:
//! `PROPTEST_CASES=100000 cargo test --release fuzz`.

use std::path::Path;

use proptest::collection::{hash_map, vec};
use proptest::prelude::*;
use serde_json::Value;

use crate::broker;
use crate::cli;
use crate::config::{self, Env, Refusal};
use crate::error::Error;

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "0",
            "1",
            "2",
            "send",
            "tcp://h",
            "ssl://h:443",
            "-1",
            "1e999"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            hash_map(".{0,8}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A config object: mostly known keys (so values reach the type checks), some unknown ones.
fn config_object() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        4 => prop::sample::select(config_keys()),
        1 => ".{0,10}",
    ];
    hash_map(key, json(), 0..8).prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn config_keys() -> Vec<String> {
    let command = cli::command();
    let keys = cli::config_keys(&command);
    keys.into_iter().map(|(key, _)| key.to_string()).collect()
}

/// Text that looks like a broker URL more often than random text does.
fn urlish() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "(tcp|mqtt|ssl|mqtts|tls|ws|http|TCP)?(://)?\\[?[a-z0-9:.\\-_@]{0,20}\\]?(:[0-9a-z]{0,7})?/?",
    ]
}

fn flag() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![".{0,16}", "-?[0-9.e]{0,6}", urlish()])
}

proptest! {
    #[test]
    fn fuzz_broker_urls_never_panic_and_round_trip(url in urlish()) {
        if let Ok(parsed) = broker::parse(&url) {
            prop_assert_eq!(broker::parse(&parsed.to_string()), Ok(parsed));
        }
    }

    #[test]
    fn fuzz_config_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        let _ = config::check_file(Path::new("fuzz.json"), &bytes);
    }

    #[test]
    fn fuzz_config_objects_never_panic(object in config_object()) {
        let bytes = serde_json::to_vec(&object).unwrap();
        if let Err(error) = config::check_file(Path::new("fuzz.json"), &bytes) {
            let failure = Error::from(error);
            prop_assert_eq!(failure.class().exit_code(), 2);
            prop_assert!(failure.to_string().contains("fuzz.json"), "{}", failure);
        }
    }

    #[test]
    fn fuzz_no_clap_error_quotes_a_word_after_the_password(
        password in "[^-].{0,12}", stray in "[^-].{0,12}",
    ) {
        let argv = ["mqtt-send", "-t", "t", "-m", "x", "-P", &password, &stray];
        let mut command = cli::command();
        let shown = match config::command_line(&mut command, argv) {
            Err(Refusal::Clap(error)) => error.render().to_string(),
            Err(Refusal::Config(error)) => Error::from(error).to_string(),
            Ok(_) => return Err(TestCaseError::fail("a stray word was accepted")),
        };
        prop_assert!(!shown.contains(&format!("'{stray}'")), "{}", shown);
        prop_assert!(!shown.contains(&format!("'{password}'")), "{}", shown);
    }

    #[test]
    fn fuzz_flags_never_panic(
        broker in flag(), client_id in flag(), topic in flag(), qos in flag(), timeout in flag(),
        retries in flag(), content in flag(), alpn in vec(".{0,8}", 0..3), retain in any::<Option<bool>>(),
        use_certificate in any::<Option<bool>>(), password in flag(), host in flag(),
        port in flag(),
    ) {
        let mut argv = vec!["mqtt-send".to_string()];
        let options = [
            ("broker", broker), ("client-id", client_id), ("topic", topic), ("qos", qos),
            ("timeout", timeout), ("retries", retries), ("content", content), ("password", password),
            ("host", host), ("port", port),
            ("retain", retain.map(|b| b.to_string())),
            ("use-certificate", use_certificate.map(|b| b.to_string())),
        ];
        for (flag, value) in options {
            if let Some(value) = value {
                argv.push(format!("--{flag}={value}"));
            }
        }
        argv.extend(alpn.into_iter().map(|proto| format!("--alpn={proto}")));
        let mut command = cli::command();
        let result = match config::command_line(&mut command, argv) {
            Ok(matches) => config::settings(&mut command, &matches, Env::default()),
            Err(Refusal::Config(error)) => Err(error),
            Err(Refusal::Clap(error)) => return Err(TestCaseError::fail(format!("clap refused: {error}"))),
        };
        if let Err(error) = result {
            prop_assert_eq!(Error::from(error).class().exit_code(), 2);
        }
    }
}
