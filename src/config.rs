//! Flags, environment and the Flint-style JSON config file, merged into one validated
//! [`Settings`]. Every source becomes arguments of the one clap command of `cli`: a config key
//! is its long flag name (`"qos": 1` is `--qos=1`), `MQTT_SEND_PASSWORD` is `--password`, and
//! the defaults are a source too. So every value passes the same parser whatever its source,
//! and precedence (flag > environment > config file > default) is one loop, [`Sources::merge`].
//! Every error names the flag, the key (and its file) or the file that is wrong.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::log::verbose;
use crate::message::{ConnectProperties, DisconnectProperties, Properties, Qos, Version, Will};
use bytes::Bytes;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Command, FromArgMatches};
use serde_json::Value;

use crate::broker::{Broker, TLS_PORT};
use crate::cli::{self, Cli, Fallback};
use crate::error::{ConfigError, Field, Got, JsonType, Kind, Problem};
use crate::files::{ReadError, read_capped};
use crate::json::Json;
use crate::redact;
use crate::request::Ask;
use crate::shadow::{Operation, Shadow};
use crate::values::{self, Packet, Property, TlsVersion, UserProperty};

pub use crate::error::Origin;
pub use crate::values::Secret;

pub const PASSWORD_ENV: &str = "MQTT_SEND_PASSWORD";

/// The most a config file may hold. A Flint config is a few hundred bytes; 1 MiB leaves room for
/// an inline `"content"` of about as much (a larger message belongs in `--content-file`, which
/// is streamed), and bounds what a wrong path (a log, an image, `/dev/zero`) can cost.
pub const CONFIG_FILE_CAP: u64 = 1 << 20;
/// The most a password file may hold: one line of the longest password MQTT carries (65535
/// bytes) and its newline. A larger file is not a password file.
pub const PASSWORD_FILE_CAP: u64 = 64 << 10;

/// One message, or a batch of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The content is one message.
    Single,
    /// `--lines`: every non-empty line of the content is one message to the topic.
    Lines,
    /// `--ndjson`: every non-empty line is a JSON object `{"topic","content",...}`.
    Ndjson,
}

/// Where the bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--content TEXT` or `"content"` in the config file.
    Inline(Vec<u8>),
    /// `--content-file PATH`.
    File(PathBuf),
    /// `--content-file -`.
    Stdin,
}

impl Source {
    /// What to call this source in messages and `-v` logs.
    pub fn describe(&self) -> String {
        match self {
            Source::Inline(_) => "the content given".to_string(),
            Source::File(path) => format!("the content file {}", path.display()),
            Source::Stdin => "stdin".to_string(),
        }
    }
}

/// Everything a run needs, validated. Built once; read by everything after.
#[derive(Debug, Clone)]
pub struct Settings {
    pub broker: Broker,
    pub client_id: String,
    /// The client id was given (flag or config), not generated: parallel runs share it.
    pub client_id_given: bool,
    /// The topic; `None` only with `--ndjson`, where every line then names its own.
    pub topic: Option<String>,
    pub mode: Mode,
    pub qos: Qos,
    pub retain: bool,
    pub content: Source,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub tls: TlsOptions,
    /// The protocol version to speak; `None`: MQTT 5, falling back to 3.1.1 once when the
    /// broker does not speak 5.
    pub protocol: Option<Version>,
    /// MQTT 5 properties of every message (an NDJSON line may set its own).
    pub properties: Properties,
    /// MQTT 5 properties of CONNECT (`-x`, `-D connect`).
    pub connect: ConnectProperties,
    /// `--will-topic` and the rest of the will.
    pub will: Option<Will>,
    /// MQTT 5 properties of DISCONNECT (`-D disconnect`).
    pub disconnect: DisconnectProperties,
    /// `--keepalive`; `None`: as long as the deadline (see `session`).
    pub keep_alive: Option<u16>,
    /// `-l`: every line is a message as mosquitto_pub reads it: only the `\n` is taken off (a
    /// `\r` stays), and an empty line is an empty message. (`--lines` takes `\r\n` off and
    /// skips empty lines.)
    pub raw_lines: bool,
    /// `-s`: all of stdin is the message, and an empty stdin is none (mosquitto_pub refuses
    /// it: "Zero length input"; with `-r` an empty message would clear the retained one).
    pub stdin_file: bool,
    /// `--repeat`: how many times the (single) message is published; 1 without it.
    pub repeat: u32,
    /// `--repeat-delay`: the pause between two of them.
    pub repeat_delay: Option<Duration>,
    pub timeout: Duration,
    pub retries: u32,
    /// The HTTP proxy to tunnel through: `--proxy` (or the config key), else the environment's.
    pub proxy: Option<crate::proxy::Proxy>,
    /// `--aws-sigv4`: the credentials and region to sign the WebSocket URL with.
    pub aws_sigv4: Option<crate::aws::Sigv4>,
    /// A request that waits for its answer (`--shadow`, `--wait-response`).
    pub ask: Option<Ask>,
}

impl Settings {
    /// Whether more than one message may be sent: a batch of lines, or a repeated message.
    pub fn batch(&self) -> bool {
        self.mode != Mode::Single || self.repeat > 1
    }

    /// What this run asks of MQTT 5 beyond the messages' properties (which 3.1.1 would drop),
    /// by name.
    pub fn mqtt5_only(&self) -> Vec<&'static str> {
        let connect = ConnectProperties {
            session_expiry: None,
            ..self.connect.clone()
        };
        let will = self.will.as_ref();
        [
            (
                "session-expiry-interval",
                self.connect.session_expiry.is_some(),
            ),
            (
                "connect properties",
                connect != ConnectProperties::default(),
            ),
            (
                "will properties",
                will.is_some_and(|will| !will.properties.is_empty() || will.delay.is_some()),
            ),
            ("disconnect properties", !self.disconnect.is_empty()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// TLS material and choices, as given (paths already resolved against the config's folder).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    pub root_ca_crt: Option<PathBuf>,
    pub certificate: Option<PathBuf>,
    pub private_key: Option<PathBuf>,
    /// `--capath`: a directory of CA certificates.
    pub capath: Option<PathBuf>,
    /// `--tls-use-os-certs`: the system trust store, besides any CA given.
    pub system_roots: bool,
    pub use_certificate: bool,
    pub alpn: Vec<String>,
    /// `--tls-version`; `None`: TLS 1.2 and 1.3.
    pub version: Option<TlsVersion>,
}

/// What we take from the process environment (read once in `main`, passed in for tests).
#[derive(Debug, Default)]
pub struct Env {
    pub password: Option<Result<String, ()>>,
    /// HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY and their lower-case forms.
    pub proxy: crate::env::Vars,
    /// AWS_ACCESS_KEY_ID, ..., AWS_REGION, HOME (for `--aws-sigv4`).
    pub aws: crate::env::Vars,
}

impl Env {
    pub fn from_process() -> Self {
        let password = match std::env::var(PASSWORD_ENV) {
            Ok(value) if value.is_empty() => None,
            Ok(value) => Some(Ok(value)),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => Some(Err(())),
        };
        Env {
            password,
            proxy: crate::env::read(crate::proxy::ENV_VARS),
            aws: crate::env::read(crate::aws::ENV_VARS),
        }
    }
}

/// The `--timeout` when neither the flag nor the config file gives one (from `cli::DEFAULTS`).
pub fn default_timeout() -> Duration {
    match cli::default_of("timeout") {
        Some(cli::Fallback::Value(text)) => values::seconds(text).ok(),
        _ => None,
    }
    .unwrap_or(Duration::from_secs(30))
}

/// Why the command line was not parsed: a value that one of our rules refused (a
/// [`ConfigError`] naming the flag, reported like any other), or anything else, which clap
/// reports in its own words (an unknown flag, `--help`).
#[derive(Debug)]
pub enum Refusal {
    Config(ConfigError),
    Clap(clap::Error),
}

/// Parse the command line (`args` starts with the program name) with `command`
/// ([`cli::command`], built once and used for every source).
pub fn command_line(
    command: &mut Command,
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> Result<ArgMatches, Refusal> {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let matches = command
        .try_get_matches_from_mut(&args)
        .map_err(|error| refusal(command, &Layer::Flags, &args, error))?;
    // mosquitto_pub's options that we do not take are parsed (so that their values are not
    // taken for other arguments) and refused by name.
    if let Some(unsupported) = cli::UNSUPPORTED.iter().find(|unsupported| {
        matches.value_source(unsupported.id()) == Some(ValueSource::CommandLine)
    }) {
        return Err(Refusal::Config(ConfigError::Unsupported {
            flag: unsupported.flag,
            instead: unsupported.instead,
        }));
    }
    Ok(matches)
}

/// Merge the command line, the environment and the config file into validated settings.
pub fn settings(
    command: &mut Command,
    command_line: &ArgMatches,
    env: Env,
) -> Result<Settings, ConfigError> {
    let sources = Sources::gather(command, command_line, &env)?;
    let cli = sources.merge()?;
    // The defaults are a source, so every option that has one has a value here.
    const DEFAULTED: &str = "cli::DEFAULTS gives this option a value";

    let ask = ask(&sources, &cli)?;
    // mosquitto_pub's -I: a prefix and the process id, so that parallel runs differ.
    let client_id_given = cli.client_id.is_some() && cli.id_prefix.is_none();
    let given_broker = !matches!(sources.origin("broker"), None | Some(Origin::Default))
        || cli.url.is_some()
        || cli.unix.is_some();
    // --host and --port replace the URL's host and port, whichever source gave the URL; the
    // scheme and the port it implies stay (`-b ssl://a -h b` is ssl://b:8883). mosquitto_pub's
    // -L gives the broker, the username and the topic at once, and overrides the config's.
    let mut broker = match (&cli.url, &cli.unix) {
        (Some(url), _) => url.broker.clone(),
        (None, Some(path)) => {
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            Broker::unix(absolute)
        }
        (None, None) => cli.broker.expect(DEFAULTED),
    };
    // As with mosquitto_pub, a CA or a client certificate without a broker URL means TLS, on
    // port 8883 unless --port says otherwise.
    let wants_tls = cli.root_ca_crt.is_some()
        || cli.capath.is_some()
        || cli.certificate.is_some()
        || cli.tls_use_os_certs == Some(true);
    if wants_tls && !given_broker && !broker.tls {
        verbose!("a CA or a client certificate is given without a broker URL: TLS on port 8883");
        broker.tls = true;
        broker.port = TLS_PORT;
    }
    // mosquitto_pub's -L mqtt://... with a CA or a certificate is TLS too, on the URL's port.
    if wants_tls && cli.url.is_some() && !broker.tls {
        verbose!("a CA or a client certificate is given with an mqtt:// URL: TLS, as mqtts://");
        broker.tls = true;
    }
    // mosquitto_pub speaks TLS over a Unix socket when given a CA; mqtt-send does not, and
    // must not publish in the clear instead.
    if wants_tls && cli.unix.is_some() {
        return Err(ConfigError::TlsOverUnix);
    }
    if let Some(host) = cli.host {
        broker.host = host;
    }
    if let Some(port) = cli.port {
        broker.port = port;
    }
    let client_id = match (&cli.id_prefix, cli.client_id) {
        (Some(prefix), _) => format!("{prefix}{}", std::process::id()),
        (None, Some(id)) => id,
        (None, None) => random_client_id(),
    };
    let mode = match (
        cli.lines.expect(DEFAULTED) || cli.stdin_line,
        cli.ndjson.expect(DEFAULTED),
    ) {
        (false, false) => Mode::Single,
        (true, false) => Mode::Lines,
        (false, true) => Mode::Ndjson,
        (true, true) => return Err(ConfigError::TwoBatchModes),
    };
    let topic = match (&ask, &cli.url, cli.topic) {
        (Some(Ask::Shadow(shadow)), _, _) => Some(shadow.topic()),
        (_, Some(url), _) => Some(url.topic.clone()),
        (_, None, None) if mode != Mode::Ndjson => return Err(ConfigError::NoTopic),
        (_, None, topic) => topic,
    };
    if let (Some(Ask::Response { topic: answer }), Some(topic)) = (&ask, &topic)
        && answer == topic
    {
        return Err(ConfigError::ResponseTopicIsTopic {
            topic: topic.clone(),
        });
    }
    // mosquitto_pub's -s, -l and -n are flags, which override a config file's "content".
    let content = match (cli.content_file, cli.content) {
        _ if cli.stdin_file || cli.stdin_line => Source::Stdin,
        _ if cli.null_message => Source::Inline(Vec::new()),
        (Some(path), _) if path.as_os_str() == "-" => Source::Stdin,
        (Some(path), _) => Source::File(path),
        (None, Some(text)) => Source::Inline(os_bytes(text)),
        // A shadow get or delete needs no document: its clientToken is the request.
        (None, None) if matches!(&ask, Some(Ask::Shadow(shadow)) if shadow.operation != Operation::Update) => {
            Source::Inline(Vec::new())
        }
        (None, None) => return Err(ConfigError::NoContent),
    };
    let repeat = cli.repeat.unwrap_or(1);
    if mode != Mode::Single && (repeat > 1 || cli.repeat_delay.is_some()) {
        return Err(ConfigError::RepeatInBatch);
    }

    // --password > --password-file > MQTT_SEND_PASSWORD > "password" in the config file.
    let password = match (sources.origin("password"), cli.password_file) {
        (Some(Origin::Flag(_)), _) => cli.password,
        (_, Some(path)) => Some(read_password_file(&path)?),
        _ if matches!(env.password, Some(Err(()))) => {
            return Err(ConfigError::NotUnicode { var: PASSWORD_ENV });
        }
        _ => cli.password,
    };
    // The -L URL's username, unless --username is given on the command line.
    let username = match (&cli.url, sources.origin("username")) {
        (Some(url), origin)
            if url.username.is_some() && !matches!(origin, Some(Origin::Flag(_))) =>
        {
            url.username.clone()
        }
        _ => cli.username,
    };

    let mut properties = Properties {
        user: cli
            .user_property
            .into_iter()
            .map(|UserProperty { key, value }| (key, value))
            .collect(),
        content_type: cli.content_type,
        message_expiry: cli.message_expiry,
        // With --wait-response the request carries it (MQTT 5 only): see `request::Expect`.
        response_topic: cli
            .response_topic
            .filter(|_| !matches!(ask, Some(Ask::Response { .. }))),
        correlation_data: cli.correlation_data.map(Bytes::from),
        payload_utf8: cli.payload_format.is_some(),
    };
    let mut connect = ConnectProperties {
        session_expiry: cli.session_expiry_interval,
        ..ConnectProperties::default()
    };
    let mut will_properties = Properties::default();
    let mut will_delay = None;
    let mut disconnect = DisconnectProperties::default();
    // -D's values, three or four per occurrence; a flag, never a config key.
    let property_words: Vec<Vec<String>> = sources
        .flags()
        .get_occurrences::<String>("property")
        .map(|occurrences| occurrences.map(|words| words.cloned().collect()).collect())
        .unwrap_or_default();
    for words in &property_words {
        let (packet, property) =
            values::property(words).map_err(|problem| ConfigError::Invalid {
                origin: Origin::Flag(format!("-D {}", words[..words.len().min(2)].join(" "))),
                got: words.get(2).map(|value| Got::Text(value.clone())),
                problem,
            })?;
        apply_property(
            packet,
            property,
            &mut properties,
            &mut connect,
            (&mut will_properties, &mut will_delay),
            &mut disconnect,
        );
    }

    // An explicit version is the only one tried; without one, MQTT 5 and 3.1.1 once.
    let protocol = cli.protocol_version;
    if protocol.is_some_and(|version| version != Version::V5) {
        let version = sources
            .origin("protocol-version")
            .unwrap_or(Origin::Default);
        // --wait-response subscribes to the response topic; under 3.1.1 it is not sent.
        let waits = matches!(ask, Some(Ask::Response { .. }));
        let property = cli::property_keys(sources.command)
            .into_iter()
            .filter(|key| !(waits && *key == "response-topic"))
            .chain(["session-expiry-interval"])
            .find_map(|key| sources.origin(key))
            .or_else(|| {
                property_words
                    .first()
                    .map(|words| Origin::Flag(format!("-D {}", words[..2].join(" "))))
            });
        if let Some(property) = property {
            return Err(ConfigError::NeedsMqtt5 { property, version });
        }
    }

    let will_payload = cli.will_payload.map(os_bytes).unwrap_or_default();
    // CONNECT gives the will's message a two-byte length.
    if will_payload.len() > values::MAX_MQTT_STRING {
        return Err(ConfigError::Invalid {
            origin: sources
                .origin("will-payload")
                .unwrap_or(Origin::Flag("--will-payload".to_string())),
            got: None,
            problem: Problem::TooLong {
                field: Field::WillPayload,
                len: will_payload.len(),
                max: values::MAX_MQTT_STRING,
            },
        });
    }
    let will = match cli.will_topic {
        Some(topic) => Some(Will {
            topic,
            payload: Bytes::from(will_payload),
            qos: cli.will_qos.unwrap_or(Qos::AtMostOnce),
            retain: cli.will_retain.unwrap_or(false),
            properties: will_properties,
            delay: will_delay,
        }),
        None => {
            let origin = ["will-payload", "will-qos", "will-retain"]
                .into_iter()
                .find_map(|key| sources.origin(key))
                .filter(|origin| *origin != Origin::Default)
                .or_else(|| {
                    (!will_properties.is_empty() || will_delay.is_some())
                        .then(|| Origin::Flag("-D will".to_string()))
                });
            if let Some(origin) = origin {
                return Err(ConfigError::WillWithoutTopic { origin });
            }
            None
        }
    };

    // A client certificate on the command line is meant to be used (mosquitto_pub's --cert);
    // in a config file, "use-certificate" says so, as in Flint.
    let use_certificate = match sources.origin("use-certificate") {
        Some(Origin::Default) | None => {
            matches!(sources.origin("certificate"), Some(Origin::Flag(_)))
        }
        Some(_) => cli.use_certificate.expect(DEFAULTED),
    };
    let tls = TlsOptions {
        root_ca_crt: cli.root_ca_crt,
        capath: cli.capath,
        system_roots: cli.tls_use_os_certs.expect(DEFAULTED),
        certificate: cli.certificate,
        private_key: cli.private_key,
        use_certificate,
        alpn: cli.alpn,
        version: cli.tls_version,
    };
    if tls.use_certificate && !broker.tls {
        return Err(ConfigError::CertificateWithoutTls {
            broker: broker.to_string(),
            host: broker.host.to_string(),
            websocket: broker.websocket.as_deref().cloned(),
        });
    }

    // --repeat with a delay takes that long on top of the default deadline; a --timeout given
    // rules as it is.
    let timeout = match (sources.origin("timeout"), cli.repeat_delay) {
        (Some(Origin::Default), Some(delay)) => {
            cli.timeout.expect(DEFAULTED) + delay * repeat.saturating_sub(1)
        }
        _ => cli.timeout.expect(DEFAULTED),
    };
    let aws_sigv4 = match cli.aws_sigv4.expect(DEFAULTED) {
        true => Some(crate::aws::sigv4(&env.aws, &broker)?),
        false => None,
    };
    // A custom authorizer is named in the username, and served on 443 with ALPN "mqtt".
    let mut username = username;
    let mut tls = tls;
    // A token or signature without a name is for the account's default authorizer.
    if cli.aws_authorizer.is_some()
        || cli.aws_authorizer_token.is_some()
        || cli.aws_authorizer_signature.is_some()
    {
        username = Some(crate::aws::authorizer_username(
            username.as_deref(),
            cli.aws_authorizer.as_deref(),
            cli.aws_authorizer_token
                .as_ref()
                .map(|t| (t.key.as_str(), t.value.as_str())),
            cli.aws_authorizer_signature.as_deref(),
        ));
        if tls.alpn.is_empty() && broker.port == 443 && broker.websocket.is_none() {
            tls.alpn = vec!["mqtt".to_string()];
        }
    }
    let proxy = match cli.proxy {
        Some(_) if matches!(broker.host, crate::broker::Host::Unix(_)) => {
            return Err(ConfigError::ProxyForUnix);
        }
        Some(mut proxy) => {
            if matches!(sources.origin("proxy"), Some(Origin::Key(..))) {
                proxy.from = "\"proxy\" in the config file";
            }
            Some(proxy)
        }
        None => crate::proxy::from_env(&env.proxy, &broker)?,
    };

    Ok(Settings {
        aws_sigv4,
        proxy,
        broker,
        client_id,
        client_id_given,
        protocol,
        properties,
        connect,
        will,
        disconnect,
        keep_alive: cli.keepalive.map(|seconds| seconds as u16),
        topic,
        mode,
        qos: match ask {
            Some(Ask::Shadow(_)) => Qos::AtLeastOnce,
            _ => cli.qos.expect(DEFAULTED),
        },
        retain: cli.retain.expect(DEFAULTED),
        ask,
        content,
        raw_lines: cli.stdin_line,
        stdin_file: cli.stdin_file,
        repeat,
        repeat_delay: cli.repeat_delay,
        username,
        password,
        tls,
        timeout,
        retries: cli.retries.expect(DEFAULTED),
    })
}

/// Put a `-D` property where it belongs.
fn apply_property(
    packet: Packet,
    property: Property,
    publish: &mut Properties,
    connect: &mut ConnectProperties,
    (will, will_delay): (&mut Properties, &mut Option<u32>),
    disconnect: &mut DisconnectProperties,
) {
    let message = match packet {
        Packet::Publish => Some(publish),
        Packet::Will => Some(will),
        Packet::Connect | Packet::Disconnect => None,
    };
    match (packet, property, message) {
        (_, Property::PayloadFormat(indicator), Some(message)) => {
            // 0 says "unspecified bytes", which is what no indicator says too.
            message.payload_utf8 = indicator == 1;
        }
        (_, Property::MessageExpiry(seconds), Some(message)) => {
            message.message_expiry = Some(seconds)
        }
        (_, Property::ContentType(text), Some(message)) => message.content_type = Some(text),
        (_, Property::ResponseTopic(topic), Some(message)) => message.response_topic = Some(topic),
        (_, Property::CorrelationData(data), Some(message)) => {
            message.correlation_data = Some(Bytes::from(data))
        }
        (_, Property::User(key, value), Some(message)) => message.user.push((key, value)),
        (Packet::Will, Property::WillDelay(seconds), _) => *will_delay = Some(seconds),
        (Packet::Connect, Property::SessionExpiry(seconds), _) => {
            connect.session_expiry = Some(seconds)
        }
        (Packet::Connect, Property::ReceiveMaximum(n), _) => connect.receive_maximum = Some(n),
        (Packet::Connect, Property::MaximumPacketSize(n), _) => {
            connect.maximum_packet_size = Some(n)
        }
        (Packet::Connect, Property::TopicAliasMaximum(n), _) => {
            connect.topic_alias_maximum = Some(n)
        }
        (Packet::Connect, Property::RequestResponseInformation(n), _) => {
            connect.request_response_information = Some(n)
        }
        (Packet::Connect, Property::RequestProblemInformation(n), _) => {
            connect.request_problem_information = Some(n)
        }
        (Packet::Connect, Property::User(key, value), _) => connect.user.push((key, value)),
        (Packet::Disconnect, Property::SessionExpiry(seconds), _) => {
            disconnect.session_expiry = Some(seconds)
        }
        (Packet::Disconnect, Property::ReasonString(text), _) => {
            disconnect.reason_string = Some(text)
        }
        (Packet::Disconnect, Property::User(key, value), _) => disconnect.user.push((key, value)),
        (packet, property, _) => {
            unreachable!("values::property allows {property:?} on {packet:?} only if it has an arm")
        }
    }
}

/// The request the settings ask for, if any: a shadow operation (whose thing is `--thing`, or
/// the client id when one is given), or `--wait-response`; each is one message.
fn ask(sources: &Sources<'_>, cli: &Cli) -> Result<Option<Ask>, ConfigError> {
    let waits = cli.wait_response == Some(true);
    // What makes it more than one message, by the option the user gave.
    let batch = [
        (cli.stdin_line, "-l"),
        (cli.lines == Some(true), "--lines"),
        (cli.ndjson == Some(true), "--ndjson"),
        (cli.repeat.is_some_and(|times| times > 1), "--repeat"),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag));
    let Some(operation) = cli.shadow else {
        if let Some(origin) = ["thing", "shadow-name"]
            .into_iter()
            .find_map(|key| sources.origin(key))
        {
            return Err(ConfigError::ThingWithoutShadow { origin });
        }
        if !waits {
            return Ok(None);
        }
        if let Some(batch) = batch {
            return Err(ConfigError::RequestInBatch {
                request: "--wait-response",
                batch,
            });
        }
        let topic = cli
            .response_topic
            .clone()
            .ok_or(ConfigError::WaitResponseNeedsTopic)?;
        return Ok(Some(Ask::Response { topic }));
    };
    if let Some(batch) = batch {
        return Err(ConfigError::RequestInBatch {
            request: "--shadow",
            batch,
        });
    }
    if waits {
        return Err(ConfigError::WaitResponseWithShadow);
    }
    if let Some(topic) = sources.origin("topic") {
        return Err(ConfigError::ShadowWithTopic { topic });
    }
    // mosquitto_pub's -L names a topic too.
    if cli.url.is_some() {
        return Err(ConfigError::ShadowWithTopic {
            topic: Origin::Flag("--url".to_string()),
        });
    }
    if cli.retain == Some(true) {
        return Err(ConfigError::ShadowRetain);
    }
    if let (Some(qos), Some(origin)) = (cli.qos, sources.origin("qos"))
        && origin != Origin::Default
        && qos != Qos::AtLeastOnce
    {
        return Err(ConfigError::ShadowQos {
            qos: qos.level(),
            origin,
        });
    }
    let thing = match (&cli.thing, &cli.client_id) {
        (Some(thing), _) => thing.clone(),
        (None, Some(client_id)) => {
            values::thing_name(client_id).map_err(|_| ConfigError::ShadowNeedsThing)?
        }
        (None, None) => return Err(ConfigError::ShadowNeedsThing),
    };
    Ok(Some(Ask::Shadow(Shadow {
        operation,
        thing,
        name: cli.shadow_name.clone(),
    })))
}

/// Where a layer of arguments came from, to say where a value came from.
#[derive(Debug)]
enum Layer {
    /// `cli::DEFAULTS`.
    Defaults,
    /// The config file; `numbers`: the keys whose JSON value was a number (shown unquoted).
    File {
        path: PathBuf,
        numbers: BTreeSet<String>,
    },
    /// The process environment.
    Env,
    /// The command line.
    Flags,
}

impl Layer {
    fn origin(&self, key: &str) -> Origin {
        match self {
            Layer::Defaults => Origin::Default,
            Layer::File { path, .. } => Origin::Key(key.to_string(), path.clone()),
            Layer::Env => Origin::Env(PASSWORD_ENV),
            Layer::Flags => Origin::Flag(format!("--{key}")),
        }
    }

    /// The value as the user gave it, for an error message.
    fn got(&self, key: &str, text: String) -> Got {
        match self {
            Layer::File { numbers, .. } if numbers.contains(key) => Got::Number(text),
            _ => Got::Text(text),
        }
    }
}

/// The sources of option values, each parsed by the same clap command, lowest precedence first.
struct Sources<'a> {
    command: &'a Command,
    layers: Vec<(Layer, ArgMatches)>,
}

impl<'a> Sources<'a> {
    fn gather(
        command: &'a mut Command,
        command_line: &ArgMatches,
        env: &Env,
    ) -> Result<Self, ConfigError> {
        let mut layers = Vec::new();
        let defaults = cli::DEFAULTS
            .iter()
            .filter_map(|(key, fallback)| match fallback {
                Fallback::Value(text) => Some(argument(key, OsStr::new(text))),
                Fallback::Described(_) => None,
            });
        layers.push(parse(&mut *command, Layer::Defaults, defaults.collect())?);
        let flags = Cli::from_arg_matches(command_line).map_err(|e| unparsed(None, &e))?;
        if let Some(path) = &flags.config {
            let bytes = read_config_file(path)?;
            let (layer, args) = parse_file(command, path, &bytes)?;
            layers.push(parse(&mut *command, layer, args)?);
        }
        if let Some(Ok(password)) = &env.password {
            let args = vec![argument("password", OsStr::new(password))];
            layers.push(parse(&mut *command, Layer::Env, args)?);
        }
        layers.push((Layer::Flags, command_line.clone()));
        Ok(Sources {
            command: &*command,
            layers,
        })
    }

    /// The command line's matches.
    fn flags(&self) -> &ArgMatches {
        &self.layers.last().expect("the command line is a layer").1
    }

    /// Precedence, in one place: each source overrides the ones before it, option by option.
    fn merge(&self) -> Result<Cli, ConfigError> {
        let mut cli = Cli::default();
        for (_, matches) in &self.layers {
            cli.update_from_arg_matches(matches)
                .map_err(|e| unparsed(None, &e))?;
        }
        Ok(cli)
    }

    /// Where the value of the option with this long name came from, if anywhere.
    fn origin(&self, key: &str) -> Option<Origin> {
        let arg = self
            .command
            .get_arguments()
            .find(|arg| arg.get_long() == Some(key))?;
        self.layers
            .iter()
            .rev()
            .find(|(_, matches)| {
                matches.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine)
            })
            .map(|(layer, _)| layer.origin(key))
    }
}

/// `--key=value`: one argument, so that a value that starts with `-` stays a value.
fn argument(key: &str, value: &OsStr) -> OsString {
    let mut argument = OsString::from(format!("--{key}="));
    argument.push(value);
    argument
}

/// Parse the arguments of one layer with the command.
fn parse(
    command: &mut Command,
    layer: Layer,
    args: Vec<OsString>,
) -> Result<(Layer, ArgMatches), ConfigError> {
    let argv: Vec<OsString> = std::iter::once(OsString::from("mqtt-send"))
        .chain(args)
        .collect();
    match command.try_get_matches_from_mut(&argv) {
        Ok(matches) => Ok((layer, matches)),
        Err(error) => Err(match refusal(command, &layer, &argv, error) {
            Refusal::Config(error) => error,
            Refusal::Clap(error) => {
                let origin = refused_arg(command, &error)
                    .and_then(Arg::get_long)
                    .map(|key| layer.origin(key));
                unparsed(origin, &error)
            }
        }),
    }
}

/// A clap error about `args` (the program name first) as a [`Refusal`]: a [`Problem`] that one
/// of our value parsers found becomes a [`ConfigError`] saying where the value came from and,
/// unless it is a secret, what it was; anything else stays clap's error. Either way, no word of
/// `args` that is or may be a password shows in it (see [`redact`]): every source is parsed
/// through here.
fn refusal(command: &Command, layer: &Layer, args: &[OsString], error: clap::Error) -> Refusal {
    let secrets = redact::secret_words(command, args);
    let problem = match error.kind() {
        ErrorKind::ValueValidation => std::error::Error::source(&error)
            .and_then(|source| source.downcast_ref::<Problem>())
            .cloned(),
        _ => None,
    };
    let Some((problem, arg, key)) = problem.and_then(|problem| {
        let arg = refused_arg(command, &error)?;
        Some((problem, arg, arg.get_long()?))
    }) else {
        return Refusal::Clap(redact::clap_error(error, &secrets));
    };
    let got = match error.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(text)) if !cli::is_secret(arg) => {
            Some(layer.got(key, redact::text(text, &secrets)))
        }
        _ => None,
    };
    Refusal::Config(ConfigError::Invalid {
        origin: layer.origin(key),
        got,
        problem,
    })
}

/// The argument a clap error is about: its context names it as `--qos <N>`.
fn refused_arg<'c>(command: &'c Command, error: &clap::Error) -> Option<&'c Arg> {
    let Some(ContextValue::String(shown)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = shown.split([' ', '=']).next()?.strip_prefix("--")?;
    command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long))
}

/// A clap error no rule of ours names, in clap's words (its first line).
fn unparsed(origin: Option<Origin>, error: &clap::Error) -> ConfigError {
    let rendered = error.render().to_string();
    let reason = rendered
        .lines()
        .next()
        .unwrap_or("invalid value")
        .trim_start_matches("error: ")
        .to_string();
    ConfigError::Unparsed { origin, reason }
}

#[cfg(unix)]
fn os_bytes(text: OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    text.into_vec()
}

#[cfg(not(unix))]
fn os_bytes(text: OsString) -> Vec<u8> {
    text.to_string_lossy().into_owned().into_bytes()
}

/// The first line of the file `--password-file` names.
fn read_password_file(path: &Path) -> Result<Secret, ConfigError> {
    let bytes = read_capped(path, PASSWORD_FILE_CAP).map_err(|error| match error {
        ReadError::Io(error) => ConfigError::PasswordFileUnreadable {
            path: path.to_path_buf(),
            error,
        },
        ReadError::TooLarge { cap } => ConfigError::PasswordFileTooLarge {
            path: path.to_path_buf(),
            cap,
        },
    })?;
    let text = String::from_utf8(bytes).map_err(|_| ConfigError::PasswordFileNotText {
        path: path.to_path_buf(),
    })?;
    let first = text.lines().next().unwrap_or("");
    if first.is_empty() {
        return Err(ConfigError::PasswordFileEmpty {
            path: path.to_path_buf(),
        });
    }
    values::password(first).map_err(|problem| ConfigError::Invalid {
        origin: Origin::PasswordFile(path.to_path_buf()),
        got: None,
        problem,
    })
}

fn read_config_file(path: &Path) -> Result<Vec<u8>, ConfigError> {
    read_capped(path, CONFIG_FILE_CAP).map_err(|error| match error {
        ReadError::Io(error) => ConfigError::ConfigUnreadable {
            path: path.to_path_buf(),
            error,
        },
        ReadError::TooLarge { cap } => ConfigError::ConfigTooLarge {
            path: path.to_path_buf(),
            cap,
        },
    })
}

/// The UTF-8 byte order mark that some Windows editors put at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The config file at `path`, whose bytes are `bytes`, as arguments of `command`: each key is
/// checked to be a config key, given once, and to hold the JSON its option takes (see
/// [`cli::kind`]); paths are resolved against the file's folder; `null` means "not set".
fn parse_file(
    command: &Command,
    path: &Path,
    bytes: &[u8],
) -> Result<(Layer, Vec<OsString>), ConfigError> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ConfigError::ConfigEmpty {
            path: path.to_path_buf(),
        });
    }
    // As written: a key given twice is kept twice, to be refused below.
    let top: Json = serde_json::from_slice(bytes).map_err(|error| ConfigError::ConfigNotJson {
        path: path.to_path_buf(),
        error,
    })?;
    let entries = match top {
        Json::Object(entries) => entries,
        other => {
            return Err(ConfigError::ConfigNotObject {
                path: path.to_path_buf(),
                found: other.json_type(),
            });
        }
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let keys = cli::config_keys(command);
    let mut seen = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    let mut args = Vec::new();
    for (name, value) in entries {
        if !seen.insert(name.clone()) {
            return Err(ConfigError::DuplicateKey {
                key: name,
                path: path.to_path_buf(),
            });
        }
        let Some((key, arg)) = keys.iter().find(|(key, _)| *key == name) else {
            return Err(unknown_key(&name, path, &keys));
        };
        if matches!(value, Json::Scalar(Value::Number(_))) {
            numbers.insert(name.clone());
        }
        let origin = || Origin::Key(name.clone(), path.to_path_buf());
        for text in json_values(arg, value, dir, origin)? {
            args.push(argument(key, &text));
        }
    }
    let layer = Layer::File {
        path: path.to_path_buf(),
        numbers,
    };
    Ok((layer, args))
}

/// The values a config key's JSON gives its option, as text for its value parser. Which JSON
/// a key takes follows from its option: see [`cli::kind`] and [`cli::is_list`].
fn json_values(
    arg: &Arg,
    value: Json,
    dir: &Path,
    origin: impl Fn() -> Origin,
) -> Result<Vec<OsString>, ConfigError> {
    let (kind, list) = (cli::kind(arg), cli::is_list(arg));
    if value.is_null() {
        return Ok(Vec::new()); // `"username": null` means "not set", as in Flint's configs
    }
    if kind == Kind::UserProperties {
        // Each one `--user-property KEY=VALUE`: its rule keeps `=` out of the key, so the
        // argument splits where the JSON did.
        return Ok(user_properties(value, origin())?
            .into_iter()
            .map(|UserProperty { key, value }| format!("{key}={value}").into())
            .collect());
    }
    let items = match value.into_value() {
        Value::Array(items) if list => items,
        one => vec![one],
    };
    let wrong_type = |found: &Value| ConfigError::WrongType {
        origin: origin(),
        expected: kind,
        list,
        found: JsonType::of(found),
    };
    items
        .into_iter()
        .map(|item| match (kind, item) {
            (Kind::Bool, Value::Bool(flag)) => Ok(flag.to_string().into()),
            (Kind::Qos | Kind::Seconds | Kind::Count | Kind::Version, Value::Number(n)) => {
                Ok(n.to_string().into())
            }
            // A QoS may be a string of one digit ("qos": "1", as Flint writes it).
            (Kind::Qos, Value::String(text)) if text.chars().count() == 1 => Ok(text.into()),
            (Kind::Qos, Value::String(text)) => Err(ConfigError::Invalid {
                origin: origin(),
                got: Some(Got::Text(text)),
                problem: Problem::Qos,
            }),
            (Kind::Path, Value::String(text)) if text.is_empty() => Err(ConfigError::Invalid {
                origin: origin(),
                got: None,
                problem: Problem::EmptyPath,
            }),
            // Relative to the config file's folder (an absolute path stays as it is).
            (Kind::Path, Value::String(text)) => Ok(dir.join(text).into_os_string()),
            (Kind::Text | Kind::Version, Value::String(text)) => Ok(text.into()),
            (_, other) => Err(wrong_type(&other)),
        })
        .collect()
}

fn unknown_key(name: &str, path: &Path, keys: &[(&str, &Arg)]) -> ConfigError {
    let similar = || {
        keys.iter()
            .map(|(key, _)| (edit_distance(&name.to_ascii_lowercase(), key), *key))
            .min()
            .filter(|(distance, _)| *distance <= 3.max(name.len() / 3))
            .map(|(_, key)| key)
    };
    let closest = cli::config_key_instead_of(name)
        .or_else(similar)
        .map(str::to_string);
    ConfigError::UnknownKey {
        key: name.to_string(),
        path: path.to_path_buf(),
        closest,
        known: keys.iter().map(|(key, _)| key.to_string()).collect(),
    }
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

/// Check that the bytes of a config file make a valid config (for the fuzz tests).
#[cfg(test)]
pub fn check_file(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    let mut command = cli::command();
    let (layer, args) = parse_file(&command, path, bytes)?;
    parse(&mut command, layer, args).map(drop)
}

// The values of an `--ndjson` line are JSON too, and follow the same rules.

pub fn string(value: Value, origin: Origin) -> Result<String, ConfigError> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(ConfigError::WrongType {
            origin,
            expected: Kind::Text,
            list: false,
            found: JsonType::of(&other),
        }),
    }
}

pub fn boolean(value: Value, origin: Origin) -> Result<bool, ConfigError> {
    match value {
        Value::Bool(flag) => Ok(flag),
        other => Err(ConfigError::WrongType {
            origin,
            expected: Kind::Bool,
            list: false,
            found: JsonType::of(&other),
        }),
    }
}

/// A QoS in JSON: a number, or a string of one digit.
pub fn qos_from_json(value: Value, origin: Origin) -> Result<Qos, ConfigError> {
    let (text, got) = match value {
        Value::Number(n) => (n.to_string(), Got::Number(n.to_string())),
        Value::String(text) if text.chars().count() == 1 => (text.clone(), Got::Text(text)),
        Value::String(text) => (String::new(), Got::Text(text)),
        other => {
            return Err(ConfigError::WrongType {
                origin,
                expected: Kind::Qos,
                list: false,
                found: JsonType::of(&other),
            });
        }
    };
    values::qos(&text).map_err(|problem| ConfigError::Invalid {
        origin,
        got: Some(got),
        problem,
    })
}

/// A topic we may publish to: not empty, no wildcards, no NUL, at most 65535 bytes.
pub fn validate_topic(topic: String, origin: Origin) -> Result<String, ConfigError> {
    text(Value::String(topic), origin, values::topic)
}

/// A string that follows `rule` (the value parser of the option with the same key).
pub fn text<T>(
    value: Value,
    origin: Origin,
    rule: fn(&str) -> Result<T, Problem>,
) -> Result<T, ConfigError> {
    let text = string(value, origin.clone())?;
    rule(&text).map_err(|problem| ConfigError::Invalid {
        origin,
        got: Some(Got::Text(text)),
        problem,
    })
}

/// A whole number that follows `rule` (the value parser of the option with the same key).
pub fn whole_number<T>(
    value: Value,
    origin: Origin,
    rule: fn(&str) -> Result<T, Problem>,
) -> Result<T, ConfigError> {
    let Value::Number(number) = value else {
        return Err(ConfigError::WrongType {
            origin,
            expected: Kind::Count,
            list: false,
            found: JsonType::of(&value),
        });
    };
    let text = number.to_string();
    rule(&text).map_err(|problem| ConfigError::Invalid {
        origin,
        got: Some(Got::Number(text)),
        problem,
    })
}

/// MQTT 5 user properties in JSON: an object `{"key": "value", ...}` (its entries in their
/// order), or a list of `["key", "value"]` pairs, where a key may repeat. Each follows the rule
/// of `--user-property`.
pub fn user_properties(value: Json, origin: Origin) -> Result<Vec<UserProperty>, ConfigError> {
    let invalid = |problem| ConfigError::Invalid {
        origin: origin.clone(),
        got: None,
        problem,
    };
    let pairs: Vec<(String, String)> = match value {
        Json::Object(entries) => entries
            .into_iter()
            .map(|(key, value)| match value {
                Json::Scalar(Value::String(text)) => Ok((key, text)),
                other => Err(invalid(Problem::UserPropertyNotString {
                    found: other.json_type(),
                    key,
                })),
            })
            .collect::<Result<_, _>>()?,
        Json::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| match item {
                Json::Array(pair) => match <[Json; 2]>::try_from(pair) {
                    Ok(
                        [
                            Json::Scalar(Value::String(key)),
                            Json::Scalar(Value::String(text)),
                        ],
                    ) => Ok((key, text)),
                    _ => Err(invalid(Problem::UserPropertyNotPair { item: index + 1 })),
                },
                _ => Err(invalid(Problem::UserPropertyNotPair { item: index + 1 })),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(ConfigError::WrongType {
                origin,
                expected: Kind::UserProperties,
                list: true,
                found: other.json_type(),
            });
        }
    };
    pairs
        .into_iter()
        .map(|(key, value)| {
            values::user_property_pair(&key, &value).map_err(|problem| ConfigError::Invalid {
                origin: origin.clone(),
                got: Some(Got::Text(key)),
                problem,
            })
        })
        .collect()
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
    use crate::error::Error;
    use crate::error::{Field, UrlError};
    use std::io::Write;

    fn config_file(json: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
        file.write_all(json.as_bytes()).unwrap();
        file
    }

    /// The settings for a command line (without the program name) and an environment.
    fn merge(args: &[&str], env: Env) -> Result<Settings, ConfigError> {
        let argv = std::iter::once(&"mqtt-send").chain(args);
        let mut command = cli::command();
        match command_line(&mut command, argv) {
            Ok(matches) => settings(&mut command, &matches, env),
            Err(Refusal::Config(error)) => Err(error),
            Err(Refusal::Clap(error)) => panic!("clap refused {args:?}: {error}"),
        }
    }

    /// The configuration error of a command line.
    fn refused(args: &[&str]) -> ConfigError {
        merge(args, Env::default()).expect_err("expected a configuration error")
    }

    /// The words of the configuration error of a command line, which is a usage error (exit 2).
    fn error(args: &[&str]) -> String {
        let failure = Error::from(refused(args));
        assert_eq!(failure.class().exit_code(), 2, "{failure}");
        failure.to_string()
    }

    #[test]
    fn defaults() {
        let s = merge(&["-t", "a/b", "-m", "hi"], Env::default()).unwrap();
        assert_eq!(s.broker.to_string(), "tcp://localhost:1883");
        assert_eq!(s.qos, Qos::ExactlyOnce);
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
        assert_eq!(s.qos, Qos::AtLeastOnce);
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
        assert_eq!(s.qos, Qos::AtMostOnce);
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
            ..Env::default()
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
        let s = merge(&["-c", path.to_str().unwrap()], Env::default()).unwrap();
        assert_eq!(s.tls.root_ca_crt, Some(dir.path().join("ca.pem")));
        assert_eq!(s.tls.certificate, Some(PathBuf::from("/abs/cert.pem")));
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
        let origin = Origin::Line("qos", 1);
        assert_eq!(
            qos_from_json(Value::from(0), origin.clone()).unwrap(),
            Qos::AtMostOnce
        );
        assert_eq!(
            qos_from_json(Value::from("2"), origin.clone()).unwrap(),
            Qos::ExactlyOnce
        );
        for bad in [
            Value::from(3),
            Value::from(-1),
            Value::from(1.5),
            Value::from("two"),
            Value::from("12"),
            Value::from(true),
        ] {
            assert!(qos_from_json(bad.clone(), origin.clone()).is_err(), "{bad}");
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

    #[test]
    fn a_bad_flag_value_is_invalid_from_that_flag() {
        match refused(&["-t", "t", "-m", "c", "-q", "3"]) {
            ConfigError::Invalid {
                origin: Origin::Flag(flag),
                got: Some(Got::Text(got)),
                problem: Problem::Qos,
            } => assert_eq!((flag.as_str(), got.as_str()), ("--qos", "3")),
            other => panic!("{other:?}"),
        }
        match refused(&["-t", "t", "-m", "c", "-b", "tcp://u:pw@h"]) {
            ConfigError::Invalid {
                origin: Origin::Flag(flag),
                problem: Problem::Url(error),
                ..
            } => {
                assert_eq!(flag, "--broker");
                assert!(
                    matches!(&*error, UrlError::Credentials { url } if url.to_string() == "tcp://***@h")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bad_config_value_is_invalid_from_its_key_and_file() {
        let file = config_file(r#"{"qos": 3}"#);
        match refused(&["-c", file.path().to_str().unwrap(), "-t", "t", "-m", "c"]) {
            ConfigError::Invalid {
                origin: Origin::Key(key, path),
                got: Some(Got::Number(got)),
                problem: Problem::Qos,
            } => {
                assert_eq!((key.as_str(), got.as_str()), ("qos", "3"));
                assert_eq!(path, file.path());
            }
            other => panic!("{other:?}"),
        }
        let file = config_file(r#"{"qos": "12", "root-ca-crt": ""}"#);
        let path = file.path().to_str().unwrap();
        assert!(matches!(
            refused(&["-c", path, "-t", "t", "-m", "c"]),
            ConfigError::Invalid { got: Some(Got::Text(got)), problem: Problem::Qos, .. } if got == "12"
        ));
        let file = config_file(r#"{"root-ca-crt": ""}"#);
        let path = file.path().to_str().unwrap();
        assert!(matches!(
            refused(&["-c", path, "-t", "t", "-m", "c"]),
            ConfigError::Invalid { origin: Origin::Key(key, _), problem: Problem::EmptyPath, .. }
                if key == "root-ca-crt"
        ));
    }

    #[test]
    fn a_wrong_json_type_names_the_kind_the_key_takes() {
        for (json, key, kind, takes_list, found) in [
            (
                r#"{"retain": "yes"}"#,
                "retain",
                Kind::Bool,
                false,
                JsonType::String,
            ),
            (
                r#"{"timeout": "10"}"#,
                "timeout",
                Kind::Seconds,
                false,
                JsonType::String,
            ),
            (
                r#"{"retries": "3"}"#,
                "retries",
                Kind::Count,
                false,
                JsonType::String,
            ),
            (r#"{"qos": true}"#, "qos", Kind::Qos, false, JsonType::Bool),
            (
                r#"{"certificate": 1}"#,
                "certificate",
                Kind::Path,
                false,
                JsonType::Number,
            ),
            (
                r#"{"alpn": [1]}"#,
                "alpn",
                Kind::Text,
                true,
                JsonType::Number,
            ),
            (
                r#"{"alpn": {}}"#,
                "alpn",
                Kind::Text,
                true,
                JsonType::Object,
            ),
            (
                r#"{"topic": ["a"]}"#,
                "topic",
                Kind::Text,
                false,
                JsonType::Array,
            ),
            (
                r#"{"action": 1}"#,
                "action",
                Kind::Text,
                false,
                JsonType::Number,
            ),
        ] {
            let file = config_file(json);
            match refused(&["-c", file.path().to_str().unwrap(), "-t", "t", "-m", "c"]) {
                ConfigError::WrongType {
                    origin: Origin::Key(name, path),
                    expected,
                    list,
                    found: got,
                } => {
                    assert_eq!(name, key, "{json}");
                    assert_eq!(path, file.path(), "{json}");
                    assert_eq!((expected, list, got), (kind, takes_list, found), "{json}");
                }
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_unknown_key_comes_with_the_closest_known_one() {
        let file = config_file(r#"{"client_id": "x"}"#);
        match refused(&["-c", file.path().to_str().unwrap(), "-t", "t", "-m", "c"]) {
            ConfigError::UnknownKey {
                key,
                path,
                closest,
                known,
            } => {
                assert_eq!(key, "client_id");
                assert_eq!(path, file.path());
                assert_eq!(closest.as_deref(), Some("client-id"));
                // Every config key, and only those.
                let keys: Vec<String> = cli::config_keys(&cli::command())
                    .iter()
                    .map(|(key, _)| key.to_string())
                    .collect();
                assert_eq!(known, keys);
                assert!(known.is_sorted());
            }
            other => panic!("{other:?}"),
        }
        let file = config_file(r#"{"verbose": true, "zzzzzzzzzzzzzzzzz": 1}"#);
        assert!(matches!(
            refused(&["-c", file.path().to_str().unwrap(), "-t", "t", "-m", "c"]),
            ConfigError::UnknownKey { key, .. } if key == "verbose"
        ));
        let file = config_file(r#"{"zzzzzzzzzzzzzzzzz": 1}"#);
        assert!(matches!(
            refused(&["-c", file.path().to_str().unwrap(), "-t", "t", "-m", "c"]),
            ConfigError::UnknownKey { closest: None, .. }
        ));
    }

    #[test]
    fn a_password_is_never_part_of_an_error() {
        let long = "x".repeat(70_000);
        let too_long = |error: ConfigError| match error {
            ConfigError::Invalid {
                origin,
                got: None,
                problem:
                    Problem::TooLong {
                        field: Field::Password,
                        len,
                        ..
                    },
            } if len > values::MAX_MQTT_STRING => origin,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            too_long(refused(&["-t", "t", "-m", "c", "-P", &long])),
            Origin::Flag("--password".into())
        );
        let env = Env {
            password: Some(Ok(long.clone())),
            ..Env::default()
        };
        assert_eq!(
            too_long(merge(&["-t", "t", "-m", "c"], env).unwrap_err()),
            Origin::Env(PASSWORD_ENV)
        );
        let file = config_file(&format!(r#"{{"password": "{long}"}}"#));
        let path = file.path().to_str().unwrap();
        assert_eq!(
            too_long(refused(&["-c", path, "-t", "t", "-m", "c"])),
            Origin::Key("password".into(), file.path().into())
        );
        // A password file holds at most 64 KiB: one byte too many for MQTT, and no newline.
        let mut secret = tempfile::NamedTempFile::new().unwrap();
        write!(secret, "{}", "x".repeat(PASSWORD_FILE_CAP as usize)).unwrap();
        let secret_path = secret.path().to_str().unwrap();
        assert_eq!(
            too_long(refused(&[
                "-t",
                "t",
                "-m",
                "c",
                "--password-file",
                secret_path
            ])),
            Origin::PasswordFile(secret.path().into())
        );
    }

    #[test]
    fn an_environment_password_that_is_not_utf8_is_refused_only_when_it_is_used() {
        let env = || Env {
            password: Some(Err(())),
            ..Env::default()
        };
        assert!(matches!(
            merge(&["-t", "t", "-m", "c"], env()).unwrap_err(),
            ConfigError::NotUnicode { var: PASSWORD_ENV }
        ));
        assert!(merge(&["-t", "t", "-m", "c", "-P", "p"], env()).is_ok());
    }

    #[test]
    fn what_is_missing_or_cannot_work_together_is_its_own_error() {
        assert!(matches!(refused(&["-m", "c"]), ConfigError::NoTopic));
        assert!(matches!(refused(&["-t", "t"]), ConfigError::NoContent));
        assert!(matches!(
            refused(&["-t", "t", "-m", "c", "--lines", "--ndjson"]),
            ConfigError::TwoBatchModes
        ));
        match refused(&["-t", "t", "-m", "c", "-b", "tcp://h", "--use-certificate"]) {
            ConfigError::CertificateWithoutTls { broker, host, .. } => {
                assert_eq!((broker.as_str(), host.as_str()), ("tcp://h:1883", "h"));
            }
            other => panic!("{other:?}"),
        }
        assert!(merge(&["-m", "c", "--ndjson"], Env::default()).is_ok());
    }

    #[test]
    fn a_config_file_that_is_no_config_names_the_file() {
        let file_error = |json: &str| {
            let file = config_file(json);
            (
                refused(&["-c", file.path().to_str().unwrap(), "-t", "t", "-m", "c"]),
                file,
            )
        };
        assert!(
            matches!(file_error(" \n"), (ConfigError::ConfigEmpty { path }, f) if path == f.path())
        );
        assert!(
            matches!(file_error("{"), (ConfigError::ConfigNotJson { path, .. }, f) if path == f.path())
        );
        assert!(matches!(
            file_error("[]"),
            (ConfigError::ConfigNotObject { found: JsonType::Array, path }, f) if path == f.path()
        ));
        assert!(matches!(
            refused(&["-c", "/nonexistent/c.json", "-t", "t", "-m", "c"]),
            ConfigError::ConfigUnreadable { error, .. } if error.kind() == std::io::ErrorKind::NotFound
        ));
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            refused(&["-c", dir.path().to_str().unwrap(), "-t", "t", "-m", "c"]),
            ConfigError::ConfigUnreadable { error, .. } if error.kind() == std::io::ErrorKind::IsADirectory
        ));
    }

    #[test]
    fn a_key_given_twice_is_an_error_naming_it_and_the_file() {
        let file = config_file(r#"{"topic": "a", "qos": 1, "topic": "b"}"#);
        let message = error(&["-c", file.path().to_str().unwrap(), "-m", "c"]);
        assert_eq!(
            message,
            format!(
                "the key \"topic\" appears more than once in the config file {}; give each key \
                 once",
                file.path().display()
            )
        );
        // Keys are compared as written: "Topic" is another (unknown) key, not a duplicate.
        let file = config_file(r#"{"topic": "a", "Topic": "b"}"#);
        assert!(matches!(
            refused(&["-c", file.path().to_str().unwrap(), "-m", "c"]),
            ConfigError::UnknownKey { key, .. } if key == "Topic"
        ));
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let file = config_file("\u{FEFF}{\"topic\": \"t\", \"content\": \"c\"}");
        let s = merge(&["-c", file.path().to_str().unwrap()], Env::default()).unwrap();
        assert_eq!(s.topic.as_deref(), Some("t"));
        let file = config_file("\u{FEFF}\n");
        assert!(matches!(
            refused(&["-c", file.path().to_str().unwrap(), "-t", "t", "-m", "c"]),
            ConfigError::ConfigEmpty { .. }
        ));
    }

    #[test]
    fn an_explicit_empty_client_id_is_kept() {
        let s = merge(&["-t", "t", "-m", "c", "-i", ""], Env::default()).unwrap();
        assert_eq!(s.client_id, "");
        let file = config_file(r#"{"topic": "t", "content": "c", "client-id": ""}"#);
        let s = merge(&["-c", file.path().to_str().unwrap()], Env::default()).unwrap();
        assert_eq!(s.client_id, "");
    }

    #[test]
    fn host_and_port_replace_the_broker_urls_keeping_its_scheme_and_port() {
        let broker = |args: &[&str]| {
            let mut all = vec!["-t", "t", "-m", "c"];
            all.extend(args);
            merge(&all, Env::default()).unwrap().broker.to_string()
        };
        assert_eq!(broker(&["-h", "b"]), "tcp://b:1883");
        assert_eq!(broker(&["-b", "ssl://a", "-h", "b"]), "ssl://b:8883");
        assert_eq!(broker(&["-b", "ssl://a:9999", "-h", "b"]), "ssl://b:9999");
        assert_eq!(broker(&["-p", "8884"]), "tcp://localhost:8884");
        assert_eq!(broker(&["-b", "mqtts://a", "-p", "443"]), "ssl://a:443");
        assert_eq!(broker(&["-h", "::1"]), "tcp://[::1]:1883");
        assert_eq!(
            broker(&["--host", "[fe80::1]", "--port", "2"]),
            "tcp://[fe80::1]:2"
        );
        let file = config_file(r#"{"broker": "ssl://a"}"#);
        assert_eq!(
            broker(&["-c", file.path().to_str().unwrap(), "-h", "b"]),
            "ssl://b:8883"
        );
    }

    #[test]
    fn a_bad_host_or_port_names_its_flag() {
        assert_eq!(
            error(&["-t", "t", "-m", "c", "-h", "broker:1883"]),
            "--host: \"broker:1883\" is not a host name or an IP address (the port goes in \
             --port, the scheme in --broker)"
        );
        assert_eq!(
            error(&["-t", "t", "-m", "c", "--port", "-1"]),
            "--port must be a port number from 1 to 65535, got \"-1\""
        );
        assert!(error(&["-t", "t", "-m", "c", "-p", "0"]).starts_with("--port must be"));
        // Not config keys: a config file says "broker".
        for key in ["host", "port"] {
            let file = config_file(&format!(r#"{{"{key}": "x"}}"#));
            assert!(matches!(
                refused(&["-c", file.path().to_str().unwrap(), "-t", "t", "-m", "c"]),
                ConfigError::UnknownKey { key: k, closest: Some(closest), .. }
                    if k == key && closest == "broker"
            ));
        }
    }

    #[test]
    fn config_values_that_look_like_flags_stay_values() {
        let file = config_file(r#"{"topic":"-t","content":"--help","client-id":"-v"}"#);
        let s = merge(&["-c", file.path().to_str().unwrap()], Env::default()).unwrap();
        assert_eq!(s.topic.as_deref(), Some("-t"));
        assert_eq!(s.content, Source::Inline(b"--help".to_vec()));
        assert_eq!(s.client_id, "-v");
    }

    #[test]
    fn mqtt_5_with_its_fallback_unless_a_version_is_given() {
        let protocol = |args: &[&str]| {
            let mut all = vec!["-t", "t", "-m", "c"];
            all.extend(args);
            merge(&all, Env::default()).unwrap().protocol
        };
        assert_eq!(protocol(&[]), None);
        assert_eq!(protocol(&["-V", "5"]), Some(Version::V5));
        assert_eq!(protocol(&["-V", "mqttv311"]), Some(Version::V311));
        assert_eq!(
            protocol(&["--protocol-version", "311"]),
            Some(Version::V311)
        );
        for json in [
            r#"{"protocol-version": 311}"#,
            r#"{"protocol-version": "3.1.1"}"#,
        ] {
            let file = config_file(json);
            let path = file.path().to_str().unwrap();
            assert_eq!(protocol(&["-c", path]), Some(Version::V311), "{json}");
            assert_eq!(
                protocol(&["-c", path, "-V", "5"]),
                Some(Version::V5),
                "{json}"
            );
        }
        assert_eq!(
            error(&["-t", "t", "-m", "c", "-V", "3.2"]),
            "--protocol-version must be 5, 3.1.1 or 3.1 (or mosquitto_pub's mqttv5, 311, \
             mqttv311, 31, mqttv31), got \"3.2\""
        );
        let file = config_file(r#"{"protocol-version": 4}"#);
        let path = file.path().to_str().unwrap();
        assert_eq!(
            error(&["-c", path, "-t", "t", "-m", "c"]),
            format!(
                "\"protocol-version\" in {path} must be 5, 3.1.1 or 3.1 (or mosquitto_pub's \
                 mqttv5, 311, mqttv311, 31, mqttv31), got 4"
            )
        );
        let file = config_file(r#"{"protocol-version": true}"#);
        let path = file.path().to_str().unwrap();
        assert_eq!(
            error(&["-c", path, "-t", "t", "-m", "c"]),
            format!(
                "\"protocol-version\" in {path} must be 5, \"3.1.1\" or 3.1 (a number, or a \
                 string), got a boolean"
            )
        );
    }

    #[test]
    fn properties_come_from_flags_over_config() {
        let s = merge(&["-t", "t", "-m", "c"], Env::default()).unwrap();
        assert!(s.properties.is_empty());
        let file = config_file(
            r#"{"topic":"t","content":"c","user-property":{"z":"1","a":"x=y"},
                "content-type":"text/plain","message-expiry":300,"response-topic":"r/1",
                "correlation-data":"id","payload-format":"utf8"}"#,
        );
        let path = file.path().to_str().unwrap();
        let s = merge(&["-c", path], Env::default()).unwrap();
        assert_eq!(
            s.properties,
            Properties {
                user: vec![("z".into(), "1".into()), ("a".into(), "x=y".into())],
                content_type: Some("text/plain".into()),
                message_expiry: Some(300),
                response_topic: Some("r/1".into()),
                correlation_data: Some(Bytes::from_static(b"id")),
                payload_utf8: true,
            }
        );
        let s = merge(
            &[
                "-c",
                path,
                "--user-property",
                "k=v",
                "--user-property",
                "k=w",
                "--content-type",
                "application/json",
                "--message-expiry",
                "5",
            ],
            Env::default(),
        )
        .unwrap();
        assert_eq!(
            s.properties.user,
            [("k".to_string(), "v".to_string()), ("k".into(), "w".into())]
        );
        assert_eq!(
            s.properties.content_type.as_deref(),
            Some("application/json")
        );
        assert_eq!(s.properties.message_expiry, Some(5));
        assert_eq!(s.properties.response_topic.as_deref(), Some("r/1"));
        // The list form keeps order and repeated keys.
        let file = config_file(r#"{"user-property":[["b","1"],["a","2"],["b","3"]]}"#);
        let path = file.path().to_str().unwrap();
        let s = merge(&["-c", path, "-t", "t", "-m", "c"], Env::default()).unwrap();
        let keys: Vec<&str> = s.properties.user.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "b"]);
    }

    #[test]
    fn bad_property_values_name_their_flag_or_key() {
        let flag = |args: &[&str]| {
            let mut all = vec!["-t", "t", "-m", "c"];
            all.extend(args);
            error(&all)
        };
        assert_eq!(
            flag(&["--user-property", "novalue"]),
            "--user-property must be KEY=VALUE, got \"novalue\""
        );
        assert!(
            flag(&["--user-property", "=v"]).starts_with("--user-property: a user property's key")
        );
        assert_eq!(
            flag(&["--message-expiry", "0"]),
            "--message-expiry must be a whole number of seconds from 1 to 4294967295 (leave it \
             out for no expiry), got \"0\""
        );
        assert!(flag(&["--message-expiry", "-1"]).starts_with("--message-expiry must be"));
        assert!(flag(&["--response-topic", "a/#"]).contains("wildcard"));
        assert!(flag(&["--payload-format", "UTF-8"]).starts_with("--payload-format must be utf8"));
        assert!(flag(&["--correlation-data", &"x".repeat(70_000)]).contains("65535"));
        for (json, needle) in [
            (
                r#"{"user-property": "a=1"}"#,
                "must be an object {\"key\": \"value\", ...} or a list of [\"key\", \"value\"] pairs, got a string",
            ),
            (
                r#"{"user-property": [["a", "1", "2"]]}"#,
                "item 1 of the list is not a",
            ),
            (
                r#"{"user-property": ["a=1"]}"#,
                "item 1 of the list is not a",
            ),
            (
                r#"{"user-property": {"a": null}}"#,
                "the user property \"a\" must have a string value, got null",
            ),
            (
                r#"{"user-property": {"": "v"}}"#,
                "a user property's key must not be empty",
            ),
            (
                r#"{"message-expiry": "60"}"#,
                "must be a whole number, got a string",
            ),
            (
                r#"{"message-expiry": 1.5}"#,
                "must be a whole number of seconds from 1",
            ),
            (r#"{"payload-format": "binary"}"#, "must be utf8"),
            (r#"{"response-topic": ""}"#, "the topic is empty"),
        ] {
            let file = config_file(json);
            let path = file.path().to_str().unwrap().to_string();
            let message = error(&["-c", &path, "-t", "t", "-m", "c"]);
            assert!(message.contains(needle), "{json}: {message}");
            assert!(message.contains(&path), "{json}: {message}");
        }
    }

    #[test]
    fn a_property_with_mqtt_3_1_1_is_an_error_naming_both() {
        assert_eq!(
            error(&["-t", "t", "-m", "c", "-V", "3.1.1", "--content-type", "x"]),
            "--content-type needs MQTT 5; drop -V 3.1.1"
        );
        assert_eq!(
            error(&[
                "-t",
                "t",
                "-m",
                "c",
                "-V",
                "311",
                "--payload-format",
                "utf8"
            ]),
            "--payload-format needs MQTT 5; drop -V 3.1.1"
        );
        let file = config_file(r#"{"protocol-version": "3.1.1", "user-property": {"a": "1"}}"#);
        let path = file.path().to_str().unwrap();
        assert_eq!(
            error(&["-c", path, "-t", "t", "-m", "c"]),
            format!(
                "\"user-property\" in {path} needs MQTT 5; drop \"protocol-version\" from {path}"
            )
        );
        // A flag that asks for 5 wins over the file's 3.1.1; an empty list sets nothing.
        assert!(
            merge(
                &["-c", path, "-t", "t", "-m", "c", "-V", "5"],
                Env::default()
            )
            .is_ok()
        );
        let file = config_file(r#"{"protocol-version": 311, "user-property": []}"#);
        let path = file.path().to_str().unwrap();
        assert!(merge(&["-c", path, "-t", "t", "-m", "c"], Env::default()).is_ok());
    }

    #[test]
    fn each_source_overrides_the_ones_below_it_option_by_option() {
        let file = config_file(r#"{"topic":"t","content":"c","qos":1,"retries":3,"alpn":"a"}"#);
        let path = file.path().to_str().unwrap();
        let s = merge(&["-c", path, "--retries", "5"], Env::default()).unwrap();
        assert_eq!(
            (s.qos, s.retries, s.timeout),
            (Qos::AtLeastOnce, 5, Duration::from_secs(30))
        );
        assert_eq!(s.tls.alpn, ["a"]);
    }
}
