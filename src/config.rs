//! Flags, environment and the Flint-style JSON config file, merged into one validated
//! [`Settings`]. Precedence: flag > environment > config file > default. Every error names the
//! flag, the key (and its file) or the file that is wrong.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rumqttc::QoS;
use serde_json::{Map, Value};

use crate::broker::{self, Broker, DEFAULT_BROKER};
use crate::cli::Cli;
use crate::io_reason::io_reason;
use crate::outcome::Failure;
use crate::payload::Source;

pub const PASSWORD_ENV: &str = "MQTT_SEND_PASSWORD";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_TIMEOUT_SECS: f64 = 365.0 * 24.0 * 3600.0;
const MAX_RETRIES: u64 = 1000;
/// MQTT 3.1.1 strings (topic, client id, username, password) are at most 65535 bytes.
const MAX_MQTT_STRING: usize = 65_535;

/// A config key, with what the man page and `--help` say of it.
pub struct Key {
    pub name: &'static str,
    pub kind: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

/// The config keys we accept (Flint's, plus ours from SPEC.md), in alphabetical order.
pub const KEYS: &[Key] = &[
    Key {
        name: "action",
        kind: "string",
        default: "send",
        meaning: "Flint's action name; only \"send\" is accepted",
    },
    Key {
        name: "alpn",
        kind: "string or list of strings",
        default: "none; x-amzn-mqtt-ca on port 443 with a client certificate",
        meaning: "ALPN protocol(s) to offer in the TLS handshake",
    },
    Key {
        name: "broker",
        kind: "string",
        default: "tcp://localhost:1883",
        meaning: "broker URL: tcp:// mqtt:// (1883), ssl:// mqtts:// tls:// (8883), or host[:port]",
    },
    Key {
        name: "certificate",
        kind: "path",
        default: "none",
        meaning: "PEM client certificate (chain); relative to the config file's folder",
    },
    Key {
        name: "client-id",
        kind: "string",
        default: "mqtt-send- and 8 random hex digits",
        meaning: "MQTT client identifier (AWS IoT Core: the thing name)",
    },
    Key {
        name: "content",
        kind: "string",
        default: "none",
        meaning: "the message (--content-file replaces it)",
    },
    Key {
        name: "lines",
        kind: "boolean",
        default: "false",
        meaning: "batch: every non-empty line of the content is one message",
    },
    Key {
        name: "ndjson",
        kind: "boolean",
        default: "false",
        meaning: "batch: every non-empty line is {\"topic\",\"content\",\"qos\",\"retain\"}",
    },
    Key {
        name: "password",
        kind: "string",
        default: "none",
        meaning: "password; prefer MQTT_SEND_PASSWORD or --password-file",
    },
    Key {
        name: "private-key",
        kind: "path",
        default: "none",
        meaning: "PEM private key (PKCS#1, PKCS#8 or SEC1, not encrypted); relative to the config file's folder",
    },
    Key {
        name: "qos",
        kind: "0, 1 or 2 (number or one-digit string)",
        default: "2",
        meaning: "quality of service (AWS IoT Core: 0 or 1)",
    },
    Key {
        name: "retain",
        kind: "boolean",
        default: "false",
        meaning: "ask the broker to retain the message",
    },
    Key {
        name: "retries",
        kind: "whole number, 0 to 1000",
        default: "0",
        meaning: "retry failures where nothing was published, with backoff, inside the deadline",
    },
    Key {
        name: "root-ca-crt",
        kind: "path",
        default: "the system trust store",
        meaning: "PEM CA bundle that signs the broker's certificate; relative to the config file's folder",
    },
    Key {
        name: "timeout",
        kind: "seconds (number > 0)",
        default: "30",
        meaning: "one deadline for the whole run (or batch)",
    },
    Key {
        name: "topic",
        kind: "string",
        default: "none (required, except with ndjson)",
        meaning: "topic to publish to: no + or #, not empty",
    },
    Key {
        name: "use-certificate",
        kind: "boolean",
        default: "false",
        meaning: "authenticate with the client certificate (TLS only)",
    },
    Key {
        name: "username",
        kind: "string",
        default: "none",
        meaning: "user name",
    },
];

/// One message, or a batch of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The content is one message.
    Single,
    /// `--lines`: every non-empty line of the content is one message to the topic.
    Lines,
    /// `--ndjson`: every non-empty line is `{"topic","content","qos","retain"}`.
    Ndjson,
}

/// Everything a run needs, validated. Built once; read by everything after.
#[derive(Debug, Clone)]
pub struct Settings {
    pub broker: Broker,
    pub client_id: String,
    /// The topic; `None` only with `--ndjson`, where every line then names its own.
    pub topic: Option<String>,
    pub mode: Mode,
    pub qos: QoS,
    pub retain: bool,
    pub content: Source,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub tls: TlsOptions,
    pub timeout: Duration,
    pub retries: u32,
}

/// TLS material and choices, as given (paths already resolved against the config's folder).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    pub root_ca_crt: Option<PathBuf>,
    pub certificate: Option<PathBuf>,
    pub private_key: Option<PathBuf>,
    pub use_certificate: bool,
    pub alpn: Vec<String>,
}

/// A password. Its `Debug` never shows it, so it cannot leak through a log line or a panic.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What we take from the process environment (read once in `main`, passed in for tests).
#[derive(Debug, Default)]
pub struct Env {
    pub password: Option<Result<String, ()>>,
}

impl Env {
    pub fn from_process() -> Self {
        let password = match std::env::var(PASSWORD_ENV) {
            Ok(value) if value.is_empty() => None,
            Ok(value) => Some(Ok(value)),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => Some(Err(())),
        };
        Env { password }
    }
}

/// Where a value came from, for error messages: `--qos`, `"qos" in connector.json`, or
/// `"qos" on line 7` of an `--ndjson` batch.
#[derive(Clone, Copy)]
pub enum Origin<'a> {
    Flag(&'static str),
    Key(&'static str, &'a Path),
    Line(&'static str, u64),
    Default,
}

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "{flag}"),
            Origin::Key(key, file) => write!(f, "\"{key}\" in {}", file.display()),
            Origin::Line(key, line) => write!(f, "\"{key}\" on line {line}"),
            Origin::Default => f.write_str("the default"),
        }
    }
}

/// The config file's values, type-checked; paths resolved against the file's folder.
#[derive(Debug, Default)]
pub struct FileConfig {
    path: PathBuf,
    broker: Option<String>,
    client_id: Option<String>,
    topic: Option<String>,
    qos: Option<QoS>,
    content: Option<String>,
    retain: Option<bool>,
    username: Option<String>,
    password: Option<String>,
    root_ca_crt: Option<PathBuf>,
    certificate: Option<PathBuf>,
    private_key: Option<PathBuf>,
    use_certificate: Option<bool>,
    alpn: Option<Vec<String>>,
    timeout: Option<Duration>,
    retries: Option<u32>,
    lines: Option<bool>,
    ndjson: Option<bool>,
}

/// Merge flags, environment and config file into validated settings.
pub fn settings(cli: Cli, env: Env) -> Result<Settings, Failure> {
    let file = match &cli.config {
        Some(path) => load(path)?,
        None => FileConfig::default(),
    };
    let key = |name: &'static str| Origin::Key(name, &file.path);

    let (broker_text, origin) = pick(
        cli.broker,
        Origin::Flag("--broker"),
        file.broker.clone(),
        key("broker"),
    )
    .unwrap_or_else(|| (DEFAULT_BROKER.to_string(), Origin::Default));
    let broker =
        broker::parse(&broker_text).map_err(|e| Failure::usage(format!("{origin}: {e}")))?;

    let client_id = match pick(
        cli.client_id,
        Origin::Flag("--client-id"),
        file.client_id.clone(),
        key("client-id"),
    ) {
        Some((id, origin)) => validate_client_id(id, origin)?,
        None => random_client_id(),
    };

    let lines = cli.lines.or(file.lines).unwrap_or(false);
    let ndjson = cli.ndjson.or(file.ndjson).unwrap_or(false);
    let mode = match (lines, ndjson) {
        (false, false) => Mode::Single,
        (true, false) => Mode::Lines,
        (false, true) => Mode::Ndjson,
        (true, true) => {
            return Err(Failure::usage(
                "--lines and --ndjson both ask for a batch: choose one (--ndjson reads every \
                 line as a JSON message; --lines sends every line as it is)",
            ));
        }
    };
    let topic = match pick(
        cli.topic,
        Origin::Flag("--topic"),
        file.topic.clone(),
        key("topic"),
    ) {
        Some((topic, origin)) => Some(validate_topic(topic, origin)?),
        None if mode == Mode::Ndjson => None,
        None => {
            return Err(Failure::usage(
                "no topic: give --topic TOPIC or \"topic\" in the config file",
            ));
        }
    };

    let qos = match cli.qos {
        Some(text) => qos_from_text(&text, Origin::Flag("--qos"))?,
        None => file.qos.unwrap_or(QoS::ExactlyOnce),
    };
    let retain = cli.retain.or(file.retain).unwrap_or(false);

    let content = match (cli.content_file, cli.content, file.content.clone()) {
        (Some(path), _, _) if path.as_os_str() == "-" => Source::Stdin,
        (Some(path), _, _) => Source::File(path),
        (None, Some(text), _) => Source::Inline(os_bytes(text)),
        (None, None, Some(text)) => Source::Inline(text.into_bytes()),
        (None, None, None) => {
            return Err(Failure::usage(
                "no message: give --content TEXT, --content-file PATH (- for stdin), or \
                 \"content\" in the config file",
            ));
        }
    };

    let username = match pick(
        cli.username,
        Origin::Flag("--username"),
        file.username.clone(),
        key("username"),
    ) {
        Some((name, origin)) => Some(validate_mqtt_string(name, origin, "username")?),
        None => None,
    };
    let password = password(cli.password, cli.password_file, env, &file)?;

    let tls = TlsOptions {
        root_ca_crt: cli.root_ca_crt.or(file.root_ca_crt.clone()),
        certificate: cli.certificate.or(file.certificate.clone()),
        private_key: cli.private_key.or(file.private_key.clone()),
        use_certificate: cli
            .use_certificate
            .or(file.use_certificate)
            .unwrap_or(false),
        alpn: if cli.alpn.is_empty() {
            file.alpn.clone().unwrap_or_default()
        } else {
            validate_alpn(cli.alpn, Origin::Flag("--alpn"))?
        },
    };

    let timeout = match cli.timeout {
        Some(text) => timeout_from_text(&text, Origin::Flag("--timeout"))?,
        None => file.timeout.unwrap_or(DEFAULT_TIMEOUT),
    };
    let retries = match cli.retries {
        Some(text) => retries_from_text(&text, Origin::Flag("--retries"))?,
        None => file.retries.unwrap_or(0),
    };
    if tls.use_certificate && !broker.tls {
        return Err(Failure::usage(format!(
            "use-certificate is true but the broker {broker} is not a TLS URL: client \
             certificates are sent only over TLS; use ssl://{}:8883 (or mqtts://, tls://)",
            broker.host
        )));
    }

    Ok(Settings {
        broker,
        client_id,
        topic,
        mode,
        qos,
        retain,
        content,
        username,
        password,
        tls,
        timeout,
        retries,
    })
}

/// Flag beats config file; each value keeps its origin for error messages.
fn pick<'a, T>(
    flag: Option<T>,
    flag_origin: Origin<'a>,
    file: Option<T>,
    file_origin: Origin<'a>,
) -> Option<(T, Origin<'a>)> {
    flag.map(|v| (v, flag_origin))
        .or_else(|| file.map(|v| (v, file_origin)))
}

#[cfg(unix)]
fn os_bytes(text: std::ffi::OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    text.into_vec()
}

#[cfg(not(unix))]
fn os_bytes(text: std::ffi::OsString) -> Vec<u8> {
    text.to_string_lossy().into_owned().into_bytes()
}

/// The password: --password / --password-file > MQTT_SEND_PASSWORD > config file.
fn password(
    flag: Option<String>,
    file_flag: Option<PathBuf>,
    env: Env,
    file: &FileConfig,
) -> Result<Option<Secret>, Failure> {
    let (text, origin) = if let Some(text) = flag {
        (text, "--password".to_string())
    } else if let Some(path) = file_flag {
        (
            read_password_file(&path)?,
            format!("--password-file {}", path.display()),
        )
    } else if let Some(from_env) = env.password {
        let text =
            from_env.map_err(|()| Failure::usage(format!("{PASSWORD_ENV} is not valid UTF-8")))?;
        (text, PASSWORD_ENV.to_string())
    } else if let Some(text) = &file.password {
        (
            text.clone(),
            format!("\"password\" in {}", file.path.display()),
        )
    } else {
        return Ok(None);
    };
    if text.len() > MAX_MQTT_STRING {
        return Err(Failure::usage(format!(
            "the password from {origin} is {} bytes; MQTT allows at most {MAX_MQTT_STRING}",
            text.len()
        )));
    }
    Ok(Some(Secret(text)))
}

fn read_password_file(path: &Path) -> Result<String, Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::usage(format!(
            "cannot read the password file {}: {}",
            path.display(),
            io_reason(&e)
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Failure::usage(format!(
            "the password file {} is not valid UTF-8 text",
            path.display()
        ))
    })?;
    let first = text.lines().next().unwrap_or("");
    if first.is_empty() {
        return Err(Failure::usage(format!(
            "the password file {} is empty; its first line is the password",
            path.display()
        )));
    }
    Ok(first.to_string())
}

/// Read and type-check the config file.
fn load(path: &Path) -> Result<FileConfig, Failure> {
    let shown = path.display();
    if path.is_dir() {
        return Err(Failure::usage(format!(
            "cannot read the config file {shown}: it is a directory"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::usage(format!(
            "cannot read the config file {shown}: {}",
            io_reason(&e)
        ))
    })?;
    parse_file(path, &bytes)
}

/// Parse and type-check the bytes of the config file at `path`.
pub fn parse_file(path: &Path, bytes: &[u8]) -> Result<FileConfig, Failure> {
    let shown = path.display();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::usage(format!(
            "the config file {shown} is empty; it must hold a JSON object such as \
             {{\"broker\": \"{DEFAULT_BROKER}\", \"topic\": \"a/b\"}}"
        )));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| Failure::usage(format!("the config file {shown} is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(Failure::usage(format!(
            "the config file {shown} must hold a JSON object {{...}}, not {}",
            type_name(&value)
        )));
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    parse_keys(path, &dir, map)
}

fn parse_keys(path: &Path, dir: &Path, map: Map<String, Value>) -> Result<FileConfig, Failure> {
    let mut config = FileConfig {
        path: path.to_path_buf(),
        ..FileConfig::default()
    };
    for (name, value) in map {
        let Some(key) = KEYS.iter().map(|k| k.name).find(|k| *k == name) else {
            return Err(unknown_key(&name, path));
        };
        if value.is_null() {
            continue; // `"username": null` means "not set", as in Flint's own configs.
        }
        let origin = Origin::Key(key, path);
        match key {
            "action" => {
                let action = string(value, origin)?;
                if action != "send" {
                    return Err(Failure::usage(format!(
                        "{origin} is \"{action}\"; mqtt-send only performs the \"send\" action"
                    )));
                }
            }
            "alpn" => config.alpn = Some(alpn_list(value, origin)?),
            "broker" => config.broker = Some(string(value, origin)?),
            "certificate" => config.certificate = Some(file_path(value, origin, dir)?),
            "client-id" => config.client_id = Some(string(value, origin)?),
            "content" => config.content = Some(string(value, origin)?),
            "lines" => config.lines = Some(boolean(value, origin)?),
            "ndjson" => config.ndjson = Some(boolean(value, origin)?),
            "password" => config.password = Some(string(value, origin)?),
            "private-key" => config.private_key = Some(file_path(value, origin, dir)?),
            "qos" => config.qos = Some(qos_from_json(value, origin)?),
            "retain" => config.retain = Some(boolean(value, origin)?),
            "retries" => config.retries = Some(retries_from_json(value, origin)?),
            "root-ca-crt" => config.root_ca_crt = Some(file_path(value, origin, dir)?),
            "timeout" => config.timeout = Some(timeout_from_json(value, origin)?),
            "topic" => config.topic = Some(string(value, origin)?),
            "use-certificate" => config.use_certificate = Some(boolean(value, origin)?),
            "username" => config.username = Some(string(value, origin)?),
            _ => return Err(unknown_key(&name, path)),
        }
    }
    Ok(config)
}

fn unknown_key(name: &str, path: &Path) -> Failure {
    let closest = KEYS
        .iter()
        .map(|k| (edit_distance(&name.to_ascii_lowercase(), k.name), k.name))
        .min()
        .filter(|(distance, _)| *distance <= 3.max(name.len() / 3));
    let hint = match closest {
        Some((_, key)) => format!("; did you mean \"{key}\"?"),
        None => format!(
            "; known keys: {}",
            KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
        ),
    };
    Failure::usage(format!(
        "unknown key \"{name}\" in {}{hint}",
        path.display()
    ))
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub fn wrong_type(origin: Origin<'_>, expected: &str, value: &Value) -> Failure {
    Failure::usage(format!(
        "{origin} must be {expected}, got {}",
        type_name(value)
    ))
}

pub fn string(value: Value, origin: Origin<'_>) -> Result<String, Failure> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(wrong_type(origin, "a string", &other)),
    }
}

pub fn boolean(value: Value, origin: Origin<'_>) -> Result<bool, Failure> {
    match value {
        Value::Bool(flag) => Ok(flag),
        other => Err(wrong_type(origin, "true or false", &other)),
    }
}

fn file_path(value: Value, origin: Origin<'_>, dir: &Path) -> Result<PathBuf, Failure> {
    let text = string(value, origin)?;
    if text.is_empty() {
        return Err(Failure::usage(format!("{origin} is an empty path")));
    }
    let path = PathBuf::from(text);
    Ok(if path.is_relative() {
        dir.join(path)
    } else {
        path
    })
}

fn alpn_list(value: Value, origin: Origin<'_>) -> Result<Vec<String>, Failure> {
    let expected = "a string or a list of strings";
    let list = match value {
        Value::String(one) => vec![one],
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(text) => Ok(text),
                other => Err(wrong_type(origin, expected, &other)),
            })
            .collect::<Result<_, _>>()?,
        other => return Err(wrong_type(origin, expected, &other)),
    };
    validate_alpn(list, origin)
}

fn validate_alpn(list: Vec<String>, origin: Origin<'_>) -> Result<Vec<String>, Failure> {
    if let Some(bad) = list.iter().find(|p| p.is_empty() || p.len() > 255) {
        return Err(Failure::usage(format!(
            "{origin}: an ALPN protocol name is 1 to 255 bytes, got \"{bad}\""
        )));
    }
    Ok(list)
}

fn qos_from_text(text: &str, origin: Origin<'_>) -> Result<QoS, Failure> {
    match text.trim() {
        "0" => Ok(QoS::AtMostOnce),
        "1" => Ok(QoS::AtLeastOnce),
        "2" => Ok(QoS::ExactlyOnce),
        _ => Err(Failure::usage(format!(
            "{origin} must be 0, 1 or 2, got \"{text}\""
        ))),
    }
}

pub fn qos_from_json(value: Value, origin: Origin<'_>) -> Result<QoS, Failure> {
    match &value {
        Value::String(text) if text.len() == 1 => qos_from_text(text, origin),
        Value::Number(n) => match n.as_u64() {
            Some(level @ 0..=2) => qos_from_text(&level.to_string(), origin),
            _ => Err(Failure::usage(format!(
                "{origin} must be 0, 1 or 2, got {n}"
            ))),
        },
        Value::String(text) => Err(Failure::usage(format!(
            "{origin} must be 0, 1 or 2 (a number, or a string of one digit), got \"{text}\""
        ))),
        other => Err(wrong_type(origin, "0, 1 or 2", other)),
    }
}

fn timeout_from_seconds(
    seconds: f64,
    shown: &str,
    origin: Origin<'_>,
) -> Result<Duration, Failure> {
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= MAX_TIMEOUT_SECS) {
        return Err(Failure::usage(format!(
            "{origin} must be a number of seconds greater than 0 (at most one year), got {shown}"
        )));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn timeout_from_text(text: &str, origin: Origin<'_>) -> Result<Duration, Failure> {
    let seconds: f64 = text.trim().parse().map_err(|_| {
        Failure::usage(format!(
            "{origin} must be a number of seconds greater than 0, got \"{text}\""
        ))
    })?;
    timeout_from_seconds(seconds, &format!("\"{text}\""), origin)
}

fn timeout_from_json(value: Value, origin: Origin<'_>) -> Result<Duration, Failure> {
    match &value {
        Value::Number(n) => {
            timeout_from_seconds(n.as_f64().unwrap_or(f64::NAN), &n.to_string(), origin)
        }
        other => Err(wrong_type(origin, "a number of seconds", other)),
    }
}

fn retries_from_number(n: Option<u64>, shown: &str, origin: Origin<'_>) -> Result<u32, Failure> {
    match n {
        Some(count) if count <= MAX_RETRIES => Ok(count as u32),
        _ => Err(Failure::usage(format!(
            "{origin} must be a whole number from 0 to {MAX_RETRIES}, got {shown}"
        ))),
    }
}

fn retries_from_text(text: &str, origin: Origin<'_>) -> Result<u32, Failure> {
    retries_from_number(text.trim().parse().ok(), &format!("\"{text}\""), origin)
}

fn retries_from_json(value: Value, origin: Origin<'_>) -> Result<u32, Failure> {
    match &value {
        Value::Number(n) => retries_from_number(n.as_u64(), &n.to_string(), origin),
        other => Err(wrong_type(origin, "a whole number", other)),
    }
}

fn validate_mqtt_string(text: String, origin: Origin<'_>, what: &str) -> Result<String, Failure> {
    if text.len() > MAX_MQTT_STRING {
        return Err(Failure::usage(format!(
            "{origin}: the {what} is {} bytes; MQTT allows at most {MAX_MQTT_STRING}",
            text.len()
        )));
    }
    if text.contains('\0') {
        return Err(Failure::usage(format!(
            "{origin}: the {what} contains a NUL character, which MQTT does not allow"
        )));
    }
    Ok(text)
}

fn validate_client_id(id: String, origin: Origin<'_>) -> Result<String, Failure> {
    if id.is_empty() {
        return Err(Failure::usage(format!(
            "{origin}: the client id is empty; leave it out to get a generated one"
        )));
    }
    validate_mqtt_string(id, origin, "client id")
}

/// A topic we may publish to: not empty, no wildcards, no NUL, at most 65535 bytes.
pub fn validate_topic(topic: String, origin: Origin<'_>) -> Result<String, Failure> {
    if topic.is_empty() {
        return Err(Failure::usage(format!("{origin}: the topic is empty")));
    }
    if topic.contains(['+', '#']) {
        return Err(Failure::usage(format!(
            "{origin}: the topic \"{topic}\" contains a wildcard (+ or #); a message is \
             published to one concrete topic"
        )));
    }
    validate_mqtt_string(topic, origin, "topic")
}

fn random_client_id() -> String {
    use std::hash::{BuildHasher, RandomState};
    // RandomState is seeded from the OS's randomness; mixing in pid and time keeps two ids
    // from the same process (and two processes) apart without a rand dependency.
    let seed = (std::process::id(), std::time::SystemTime::now());
    let bits = RandomState::new().hash_one(seed);
    format!("mqtt-send-{:08x}", bits as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::io::Write;

    fn cli(args: &[&str]) -> Cli {
        let mut argv = vec!["mqtt-send"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap()
    }

    fn config_file(json: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
        file.write_all(json.as_bytes()).unwrap();
        file
    }

    fn merge(args: &[&str], env: Env) -> Result<Settings, Failure> {
        settings(cli(args), env)
    }

    fn error(args: &[&str]) -> String {
        let failure = merge(args, Env::default()).expect_err("expected a usage error");
        assert_eq!(failure.class.exit_code(), 2, "{}", failure.message);
        failure.message
    }

    #[test]
    fn defaults() {
        let s = merge(&["-t", "a/b", "-m", "hi"], Env::default()).unwrap();
        assert_eq!(s.broker.to_string(), "tcp://localhost:1883");
        assert_eq!(s.qos, QoS::ExactlyOnce);
        assert!(!s.retain);
        assert_eq!(s.timeout, Duration::from_secs(30));
        assert_eq!(s.retries, 0);
        assert!(s.client_id.starts_with("mqtt-send-"));
        assert_eq!(s.client_id.len(), "mqtt-send-".len() + 8);
        assert!(s.client_id[10..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(s.content, Source::Inline(b"hi".to_vec()));
        assert!(s.username.is_none() && s.password.is_none());
    }

    #[test]
    fn generated_client_ids_differ() {
        assert_ne!(random_client_id(), random_client_id());
    }

    #[test]
    fn config_values_are_used_and_flags_override_them() {
        let file = config_file(
            r#"{"broker":"tcp://example.org:1884","client-id":"flint","topic":"t/file",
                "qos":"1","content":"from file","retain":true,"username":"u","password":"p",
                "timeout":2.5,"action":"send"}"#,
        );
        let path = file.path().to_str().unwrap();
        let s = merge(&["-c", path], Env::default()).unwrap();
        assert_eq!(s.broker.to_string(), "tcp://example.org:1884");
        assert_eq!(s.client_id, "flint");
        assert_eq!(s.topic.as_deref(), Some("t/file"));
        assert_eq!(s.qos, QoS::AtLeastOnce);
        assert_eq!(s.content, Source::Inline(b"from file".to_vec()));
        assert!(s.retain);
        assert_eq!(s.username.as_deref(), Some("u"));
        assert_eq!(s.password.as_ref().map(Secret::expose), Some("p"));
        assert_eq!(s.timeout, Duration::from_millis(2500));

        let s = merge(
            &[
                "-c",
                path,
                "-b",
                "mqtt://other:1999",
                "-i",
                "cli",
                "-t",
                "t/flag",
                "-q",
                "0",
                "-m",
                "from flag",
                "--retain",
                "false",
                "-u",
                "v",
                "-P",
                "q",
                "--timeout",
                "7",
            ],
            Env::default(),
        )
        .unwrap();
        assert_eq!(s.broker.to_string(), "tcp://other:1999");
        assert_eq!(s.client_id, "cli");
        assert_eq!(s.topic.as_deref(), Some("t/flag"));
        assert_eq!(s.qos, QoS::AtMostOnce);
        assert_eq!(s.content, Source::Inline(b"from flag".to_vec()));
        assert!(!s.retain);
        assert_eq!(s.username.as_deref(), Some("v"));
        assert_eq!(s.password.as_ref().map(Secret::expose), Some("q"));
        assert_eq!(s.timeout, Duration::from_secs(7));
    }

    #[test]
    fn password_precedence_is_flag_then_env_then_config() {
        let file = config_file(r#"{"topic":"t","content":"c","password":"from-config"}"#);
        let path = file.path().to_str().unwrap();
        let env = || Env {
            password: Some(Ok("from-env".into())),
        };
        let pw = |s: Settings| s.password.unwrap().expose().to_string();
        assert_eq!(
            pw(merge(&["-c", path], Env::default()).unwrap()),
            "from-config"
        );
        assert_eq!(pw(merge(&["-c", path], env()).unwrap()), "from-env");
        assert_eq!(
            pw(merge(&["-c", path, "-P", "from-flag"], env()).unwrap()),
            "from-flag"
        );

        let mut secret = tempfile::NamedTempFile::new().unwrap();
        writeln!(secret, "from-file\nsecond line ignored").unwrap();
        let secret_path = secret.path().to_str().unwrap();
        assert_eq!(
            pw(merge(&["-c", path, "--password-file", secret_path], env()).unwrap()),
            "from-file"
        );
    }

    #[test]
    fn content_file_flag_beats_config_content() {
        let file = config_file(r#"{"topic":"t","content":"c"}"#);
        let path = file.path().to_str().unwrap();
        let s = merge(&["-c", path, "-f", "-"], Env::default()).unwrap();
        assert_eq!(s.content, Source::Stdin);
        let s = merge(&["-c", path, "-f", "x.bin"], Env::default()).unwrap();
        assert_eq!(s.content, Source::File("x.bin".into()));
    }

    #[test]
    fn empty_content_is_allowed_when_explicit() {
        let s = merge(&["-t", "t", "-m", ""], Env::default()).unwrap();
        assert_eq!(s.content, Source::Inline(Vec::new()));
    }

    #[test]
    fn relative_paths_resolve_against_the_config_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connector.json");
        std::fs::write(
            &path,
            r#"{"topic":"t","content":"c","root-ca-crt":"ca.pem","certificate":"/abs/cert.pem"}"#,
        )
        .unwrap();
        let file = load(&path).unwrap();
        assert_eq!(file.root_ca_crt, Some(dir.path().join("ca.pem")));
        assert_eq!(file.certificate, Some(PathBuf::from("/abs/cert.pem")));
    }

    #[test]
    fn tls_options_come_from_flags_over_config() {
        let file = config_file(
            r#"{"broker":"ssl://example.org","topic":"t","content":"c","root-ca-crt":"/ca.pem",
                "certificate":"/c.pem","private-key":"/k.pem","use-certificate":true,
                "alpn":["a","b"]}"#,
        );
        let path = file.path().to_str().unwrap();
        let s = merge(&["-c", path], Env::default()).unwrap();
        assert!(s.broker.tls);
        assert_eq!(s.broker.port, 8883);
        assert_eq!(s.tls.root_ca_crt, Some(PathBuf::from("/ca.pem")));
        assert!(s.tls.use_certificate);
        assert_eq!(s.tls.alpn, ["a", "b"]);
        let s = merge(
            &[
                "-c",
                path,
                "--root-ca-crt",
                "other.pem",
                "--use-certificate",
                "false",
                "--alpn",
                "x",
            ],
            Env::default(),
        )
        .unwrap();
        assert_eq!(s.tls.root_ca_crt, Some(PathBuf::from("other.pem")));
        assert!(!s.tls.use_certificate);
        assert_eq!(s.tls.alpn, ["x"]);
    }

    #[test]
    fn client_certificates_need_a_tls_broker() {
        let message = error(&["-t", "t", "-m", "c", "-b", "tcp://h", "--use-certificate"]);
        assert!(message.contains("not a TLS URL"), "{message}");
    }

    #[test]
    fn qos_accepts_numbers_and_one_digit_strings_only() {
        let origin = Origin::Flag("--qos");
        assert_eq!(
            qos_from_json(Value::from(0), origin).unwrap(),
            QoS::AtMostOnce
        );
        assert_eq!(
            qos_from_json(Value::from("2"), origin).unwrap(),
            QoS::ExactlyOnce
        );
        for bad in [
            Value::from(3),
            Value::from(-1),
            Value::from(1.5),
            Value::from("two"),
            Value::from("12"),
            Value::from(true),
        ] {
            assert!(qos_from_json(bad.clone(), origin).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_values_name_their_flag_or_key() {
        assert!(error(&["-t", "t", "-m", "c", "-q", "3"]).contains("--qos"));
        assert!(error(&["-t", "t", "-m", "c", "--timeout", "0"]).contains("--timeout"));
        assert!(error(&["-t", "t", "-m", "c", "--timeout", "-1"]).contains("--timeout"));
        assert!(error(&["-t", "t", "-m", "c", "--timeout", "soon"]).contains("--timeout"));
        assert!(error(&["-t", "t", "-m", "c", "--retries", "-2"]).contains("--retries"));
        assert!(error(&["-t", "t", "-m", "c", "-b", "http://x"]).contains("--broker"));
        assert!(error(&["-t", "", "-m", "c"]).contains("empty"));
        assert!(error(&["-t", "a/+", "-m", "c"]).contains("wildcard"));
        assert!(error(&["-t", "a/#", "-m", "c"]).contains("wildcard"));
        assert!(error(&["-t", "a\0b", "-m", "c"]).contains("NUL"));
        let long = "x".repeat(70_000);
        assert!(error(&["-t", &long, "-m", "c"]).contains("65535"));
        assert!(error(&["-t", "t", "-m", "c", "-i", &long]).contains("client id"));
        assert!(error(&["-m", "c"]).contains("no topic"));
        assert!(error(&["-t", "t"]).contains("no message"));
    }

    #[test]
    fn config_type_errors_name_the_key_and_the_file() {
        for (json, needle) in [
            (r#"{"topic": 5}"#, "\"topic\" in"),
            (r#"{"qos": "two"}"#, "\"qos\" in"),
            (r#"{"qos": 1.5}"#, "\"qos\" in"),
            (r#"{"retain": "yes"}"#, "\"retain\" in"),
            (r#"{"use-certificate": 1}"#, "\"use-certificate\" in"),
            (r#"{"timeout": "10"}"#, "\"timeout\" in"),
            (r#"{"timeout": -1}"#, "\"timeout\" in"),
            (r#"{"retries": 1.5}"#, "\"retries\" in"),
            (r#"{"alpn": [1]}"#, "\"alpn\" in"),
            (
                r#"{"action": "receive"}"#,
                "only performs the \"send\" action",
            ),
            (r#"{"brokr": "x"}"#, "did you mean \"broker\""),
            (r#"{"clientid": "x"}"#, "did you mean \"client-id\""),
            (r#"{"zzzzzzzzzzzzzzzzz": 1}"#, "known keys"),
            (r#"[]"#, "not an array"),
            (r#"{"topic": "#, "not valid JSON"),
            ("", "is empty"),
        ] {
            let file = config_file(json);
            let path = file.path().to_str().unwrap().to_string();
            let message = error(&["-c", &path, "-t", "t", "-m", "c"]);
            assert!(message.contains(needle), "{json}: {message}");
            assert!(
                message.contains(&path) || json.is_empty(),
                "{json}: {message}"
            );
        }
    }

    #[test]
    fn missing_config_file_is_named() {
        let message = error(&["-c", "/nonexistent/connector.json", "-t", "t", "-m", "c"]);
        assert!(message.contains("/nonexistent/connector.json"), "{message}");
        assert!(message.contains("no such file"), "{message}");
    }

    #[test]
    fn null_values_mean_not_set() {
        let file = config_file(r#"{"topic":"t","content":"c","username":null}"#);
        let s = merge(&["-c", file.path().to_str().unwrap()], Env::default()).unwrap();
        assert!(s.username.is_none());
    }

    #[test]
    fn password_never_appears_in_debug_output() {
        let s = merge(&["-t", "t", "-m", "c", "-P", "hunter2"], Env::default()).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn edit_distance_is_levenshtein() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("broker", "broker"), 0);
    }
}
