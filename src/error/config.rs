//! Configuration errors: a bad flag value, config file, environment variable or password file,
//! or options that cannot work together. The variants hold the facts; the words are in the
//! `Display` impls at the end of this file, and nowhere else.

use std::fmt;
use std::io;
use std::path::PathBuf;

use serde_json::Value;

use crate::files::{Size, io_reason};

/// What is wrong with the configuration of a run. Nothing has been sent when one arises.
#[derive(Debug)]
pub enum ConfigError {
    /// The config file cannot be read.
    ConfigUnreadable { path: PathBuf, error: io::Error },
    /// The config file holds more than `cap` bytes (see `config::CONFIG_FILE_CAP`).
    ConfigTooLarge { path: PathBuf, cap: u64 },
    /// The config file holds nothing but white space.
    ConfigEmpty { path: PathBuf },
    /// The config file is not JSON.
    ConfigNotJson {
        path: PathBuf,
        error: serde_json::Error,
    },
    /// The config file is JSON, but not an object.
    ConfigNotObject { path: PathBuf, found: JsonType },
    /// A key that the config file holds more than once.
    DuplicateKey { key: String, path: PathBuf },
    /// A key of the config file that is no config key; `closest` is the known key it most
    /// resembles, if any is close; `known` lists them all.
    UnknownKey {
        key: String,
        path: PathBuf,
        closest: Option<String>,
        known: Vec<String>,
    },
    /// A JSON value of the wrong type (a string where a number belongs). `list`: the key also
    /// takes a list of such values.
    WrongType {
        origin: Origin,
        expected: Kind,
        list: bool,
        found: JsonType,
    },
    /// A value that breaks its rule. `got` is the value as given, unless it is a secret.
    Invalid {
        origin: Origin,
        got: Option<Got>,
        problem: Problem,
    },
    /// An environment variable that is not UTF-8.
    NotUnicode { var: &'static str },
    /// The password file cannot be read.
    PasswordFileUnreadable { path: PathBuf, error: io::Error },
    /// The password file holds more than `cap` bytes (see `config::PASSWORD_FILE_CAP`).
    PasswordFileTooLarge { path: PathBuf, cap: u64 },
    /// The password file is not UTF-8 text.
    PasswordFileNotText { path: PathBuf },
    /// The password file's first line is empty.
    PasswordFileEmpty { path: PathBuf },
    /// Both `--lines` and `--ndjson`.
    TwoBatchModes,
    /// No topic from anywhere, and no `--ndjson` whose lines could name one.
    NoTopic,
    /// No message from anywhere.
    NoContent,
    /// `--shadow` and a topic: the shadow operation decides the topic.
    ShadowWithTopic { topic: Origin },
    /// `--shadow` with neither `--thing` nor a `--client-id` to take the thing name from.
    ShadowNeedsThing,
    /// `--thing` or `--shadow-name` (by `origin`) without `--shadow`.
    ThingWithoutShadow { origin: Origin },
    /// A request (`--shadow`, `--wait-response`) in a batch: a request is one message.
    RequestInBatch {
        request: &'static str,
        /// The option that makes it more than one message: `--lines`, `-l`, `--repeat`, ...
        batch: &'static str,
    },
    /// `--wait-response` with `--shadow`, which already waits for the shadow service.
    WaitResponseWithShadow,
    /// `--shadow` with a QoS other than 1 given (AWS IoT takes 0 and 1; a request needs 1).
    ShadowQos { qos: u8, origin: Origin },
    /// `--shadow` with `--retain`: AWS IoT refuses retained messages on shadow topics.
    ShadowRetain,
    /// `--wait-response` without `--response-topic`.
    WaitResponseNeedsTopic,
    /// `--wait-response` with the response topic the request goes to: the subscription would
    /// bring the request back, taken for its own reply.
    ResponseTopicIsTopic { topic: String },
    /// `use-certificate` with a broker URL that is not TLS.
    CertificateWithoutTls {
        broker: String,
        host: String,
        /// `ws://`: its path, for the `wss://` to suggest.
        websocket: Option<String>,
    },
    /// A mosquitto_pub option mqtt-send does not take, and what to do instead.
    Unsupported {
        flag: &'static str,
        instead: &'static str,
    },
    /// `--proxy` with a Unix socket, which no HTTP proxy can reach.
    ProxyForUnix,
    /// `--unix` with a CA or a client certificate: no TLS over a Unix socket.
    TlsOverUnix,
    /// `--repeat` with a batch, where every line is already a message.
    RepeatInBatch,
    /// A will option (its payload, QoS, retain flag or properties) without `--will-topic`.
    WillWithoutTopic { origin: Origin },
    /// An MQTT 5 property (from `property`) with MQTT 3.1.1 asked for (by `version`; by a flag
    /// or a config key that `Origin::Value` does not say).
    NeedsMqtt5 { property: Origin, version: Origin },
    /// clap refused a value for a reason no rule of ours names (its own words, in `reason`).
    Unparsed {
        origin: Option<Origin>,
        reason: String,
    },
    /// `--aws-sigv4` with a broker URL that is not `wss://`.
    AwsSigv4NeedsWss { broker: String },
    /// `--aws-sigv4` without credentials or a region.
    AwsMissing(AwsMissing),
}

/// What `--aws-sigv4` could not find.
#[derive(Debug)]
pub enum AwsMissing {
    /// One of the two key variables is set, the other not.
    Variable {
        missing: &'static str,
        set: &'static str,
    },
    /// No key variables, and no static keys for `profile` in `file` (`why`).
    Credentials {
        profile: String,
        file: Option<PathBuf>,
        why: String,
    },
    /// No region variable, and `host` is not an AWS IoT endpoint that names one.
    Region { host: String },
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag, by its long name (`--qos`, also when `-q` was typed).
    Flag(String),
    /// An environment variable.
    Env(&'static str),
    /// A key of the config file: the key, the file.
    Key(String, PathBuf),
    /// A field of a line of an `--ndjson` batch: the field, the line number.
    Line(&'static str, u64),
    /// The file that `--password-file` names.
    PasswordFile(PathBuf),
    /// mqtt-send's own default.
    Default,
    /// A value on its own, before anyone has said where it came from.
    Value,
}

impl Origin {
    /// A value written in JSON, where a number and a string of digits differ.
    fn is_json(&self) -> bool {
        matches!(self, Origin::Key(..) | Origin::Line(..))
    }
}

/// A value as the user wrote it: text, or a number in JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    Text(String),
    Number(String),
}

/// The kind of value an option takes; for a config key, it decides which JSON values it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true` or `false`.
    Bool,
    /// 0, 1 or 2: a JSON number, or a string of one digit.
    Qos,
    /// A number of seconds.
    Seconds,
    /// A whole number.
    Count,
    /// A file name; in a config file, relative to the file's folder.
    Path,
    /// Any string.
    Text,
    /// An MQTT version: 5 or 3.1.1, a JSON number or a string.
    Version,
    /// MQTT 5 user properties: in JSON, an object of strings or a list of `[key, value]` pairs.
    UserProperties,
}

/// The type of a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl JsonType {
    pub fn of(value: &Value) -> Self {
        match value {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Bool,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }
}

/// A string that MQTT carries in a packet (at most 65535 bytes, no NUL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Topic,
    ClientId,
    Username,
    Password,
    UserPropertyKey,
    UserPropertyValue,
    ContentType,
    CorrelationData,
    ReasonString,
    WillPayload,
}

/// What a rule (see `values`) found wrong with one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not 0, 1 or 2.
    Qos,
    /// Not a number of seconds greater than 0 and at most a year.
    Seconds,
    /// Not a whole number from 0 to `max`.
    Retries {
        max: u64,
    },
    /// Not a broker URL (boxed: it is the largest problem, and errors travel by value).
    Url(Box<UrlError>),
    /// Not a host name or an IP address (shown redacted: someone may try `user:pw@host`).
    Host {
        shown: RedactedUrl,
    },
    /// Not a port number from 1 to 65535.
    Port,
    TopicEmpty,
    /// A topic with `+` or `#`.
    TopicWildcard,
    TooLong {
        field: Field,
        len: usize,
        max: usize,
    },
    /// A NUL character, which MQTT strings may not hold.
    Nul {
        field: Field,
    },
    /// An ALPN protocol name that is empty or longer than 255 bytes.
    Alpn,
    /// An empty custom authorizer name or signature.
    Authorizer,
    /// A custom authorizer token that is not `KEY=VALUE`.
    AuthorizerToken,
    /// Not an HTTP proxy URL (shown redacted: it may hold credentials); `what` is wrong.
    Proxy {
        shown: Box<RedactedUrl>,
        what: &'static str,
    },
    /// An empty file name.
    EmptyPath,
    /// An action other than `send`.
    Action,
    /// Not an MQTT version mqtt-send speaks.
    ProtocolVersion,
    /// A user property without `=`.
    UserPropertyForm,
    /// A user property whose key is empty or holds `=`.
    UserPropertyKey,
    /// JSON: an entry of a user-property object whose value is not a string.
    UserPropertyNotString {
        key: String,
        found: JsonType,
    },
    /// JSON: an item of a user-property list that is not a pair of strings (1-based).
    UserPropertyNotPair {
        item: usize,
    },
    /// Not a whole number of seconds from 1 to `max`.
    MessageExpiry {
        max: u32,
    },
    /// A payload format other than `utf8`.
    PayloadFormat,
    /// Not update, get or delete.
    ShadowOperation,
    /// Not a thing or shadow name AWS IoT takes (1 to `max` of `A-Za-z0-9:_-`).
    AwsName {
        max: usize,
    },
    /// Not a keep-alive from 0 to `max` seconds.
    Keepalive {
        max: u32,
    },
    /// Not a Session Expiry Interval.
    SessionExpiry,
    /// Not a number of repeats from 1 to `max`.
    Repeat {
        max: u64,
    },
    /// Not a pause of 0 seconds to a year.
    Delay,
    /// Not tlsv1.3, tlsv1.2 or tlsv1.1.
    TlsVersion,
    /// `-D` with fewer than three words.
    PropertyForm,
    /// `-D` for a packet other than connect, publish, will or disconnect.
    PropertyPacket,
    /// A `-D` property that `names` (the packet's) does not hold.
    PropertyName {
        packet: &'static str,
    },
    /// A `-D` property mqtt-send does not send.
    PropertyRefused {
        why: PropertyRefusal,
    },
    /// A `-D` property with the wrong number of values (`arity`).
    PropertyValues {
        arity: usize,
    },
    /// A `-D` number out of its range (1 to `max`, or 0 to `max`).
    PropertyNumber {
        max: u64,
    },
    /// A `-L` URL that is not `mqtt(s)://[USER@]HOST[:PORT]/TOPIC`.
    MqttUrl {
        what: MqttUrlProblem,
    },
}

/// What is wrong with a `-L` URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MqttUrlProblem {
    /// Not mqtt:// or mqtts://.
    Scheme,
    /// No topic after the host.
    Topic,
    /// `user:password@`.
    Password,
}

/// The `-D` properties MQTT defines for a client and mqtt-send does not send, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyRefusal {
    /// `topic-alias`: mqtt-send sends the topic in every PUBLISH.
    TopicAlias,
    /// `authentication-method`, `authentication-data`: extended authentication (AUTH).
    Authentication,
}

impl PropertyRefusal {
    pub fn of(name: &str) -> Option<Self> {
        match name {
            "topic-alias" => Some(PropertyRefusal::TopicAlias),
            "authentication-method" | "authentication-data" => {
                Some(PropertyRefusal::Authentication)
            }
            _ => None,
        }
    }
}

impl std::error::Error for Problem {}

/// What is wrong with a broker URL. The URL itself is only ever held redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    Empty,
    /// `unix://` with a path that is not absolute.
    UnixPath {
        url: RedactedUrl,
    },
    /// `user:password@` in the URL.
    Credentials {
        url: RedactedUrl,
    },
    UnknownScheme {
        url: RedactedUrl,
        scheme: String,
    },
    /// Something after `host:port/`.
    Path {
        url: RedactedUrl,
    },
    QueryOrFragment {
        url: RedactedUrl,
    },
    /// `[` with no `]`.
    UnclosedBracket {
        url: RedactedUrl,
    },
    /// Something in brackets that is not an IPv6 address.
    NotIpv6 {
        url: RedactedUrl,
        literal: String,
    },
    /// Something after `[...]` that is not `:port`.
    AfterIpv6 {
        url: RedactedUrl,
        after: String,
    },
    /// An IPv6 address without brackets.
    BareIpv6 {
        url: RedactedUrl,
    },
    NoHost {
        url: RedactedUrl,
    },
    InvalidHost {
        url: RedactedUrl,
        host: String,
    },
    /// A port that is not a number from 1 to 65535.
    Port {
        url: RedactedUrl,
        port: String,
    },
}

/// A broker URL as it may be shown: whatever stands before its last `@` (a user name and
/// password) and whatever follows its first `?` or `#` (a query such as `?password=...`) are
/// replaced by `***`; a scheme at the start (`tcp://`) stays. Where the two overlap
/// (`tcp://h?password=a@b`), neither side is shown. The only way to put a URL into an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactedUrl(String);

impl RedactedUrl {
    pub fn new(url: &str) -> Self {
        let (scheme, rest) = match url.split_once("://") {
            Some((scheme, rest)) if is_scheme(scheme) => (Some(scheme), rest),
            _ => (None, url),
        };
        let from = rest.rfind('@').map(|at| at + 1);
        let query = rest.find(['?', '#']);
        let mut shown = String::new();
        if let Some(scheme) = scheme {
            shown.push_str(scheme);
            shown.push_str("://");
        }
        if from.is_some() {
            shown.push_str("***@");
        }
        let (from, to) = (from.unwrap_or(0), query.unwrap_or(rest.len()));
        if from <= to {
            shown.push_str(&rest[from..to]);
        }
        if let Some(at) = query {
            shown.push_str(&rest[at..at + 1]);
            shown.push_str("***");
        }
        RedactedUrl(shown)
    }
}

/// A URL scheme as RFC 3986 spells it: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

// The words.

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ConfigUnreadable { path, error } => write!(
                f,
                "cannot read the config file {}: {}",
                path.display(),
                io_reason(error)
            ),
            ConfigError::ConfigTooLarge { path, cap } => write!(
                f,
                "the config file {} is larger than {}, the most mqtt-send reads from a config \
                 file; a Flint config is a few hundred bytes (give a large message with \
                 --content-file)",
                path.display(),
                Size(*cap)
            ),
            ConfigError::ConfigEmpty { path } => write!(
                f,
                "the config file {} is empty; it must hold a JSON object such as \
                 {{\"broker\": \"tcp://localhost:1883\", \"topic\": \"a/b\"}}",
                path.display()
            ),
            ConfigError::ConfigNotJson { path, error } => write!(
                f,
                "the config file {} is not valid JSON: {error}",
                path.display()
            ),
            ConfigError::ConfigNotObject { path, found } => write!(
                f,
                "the config file {} must hold a JSON object {{...}}, not {found}",
                path.display()
            ),
            ConfigError::UnknownKey {
                key,
                path,
                closest,
                known,
            } => {
                write!(f, "unknown key \"{key}\" in {}", path.display())?;
                match closest {
                    Some(closest) => write!(f, "; did you mean \"{closest}\"?"),
                    None => write!(f, "; known keys: {}", known.join(", ")),
                }
            }
            ConfigError::DuplicateKey { key, path } => write!(
                f,
                "the key \"{key}\" appears more than once in the config file {}; give each key \
                 once",
                path.display()
            ),
            ConfigError::WrongType {
                origin,
                expected,
                list,
                found,
            } => {
                write!(f, "{origin} must be ")?;
                match (expected, list) {
                    (Kind::UserProperties, _) => f.write_str(expected_words(*expected))?,
                    (Kind::Path | Kind::Text, true) => {
                        f.write_str("a string or a list of strings")?
                    }
                    (kind, true) => write!(f, "{}, or a list of them", expected_words(*kind))?,
                    (kind, false) => f.write_str(expected_words(*kind))?,
                }
                write!(f, ", got {found}")
            }
            ConfigError::Invalid {
                origin,
                got,
                problem,
            } => invalid(f, origin, got.as_ref(), problem),
            ConfigError::NotUnicode { var } => write!(f, "{var} is not valid UTF-8"),
            ConfigError::PasswordFileUnreadable { path, error } => write!(
                f,
                "cannot read the password file {}: {}",
                path.display(),
                io_reason(error)
            ),
            ConfigError::PasswordFileTooLarge { path, cap } => write!(
                f,
                "the password file {} is larger than {}, the most mqtt-send reads from a \
                 password file; its first line is the password",
                path.display(),
                Size(*cap)
            ),
            ConfigError::PasswordFileNotText { path } => write!(
                f,
                "the password file {} is not valid UTF-8 text",
                path.display()
            ),
            ConfigError::PasswordFileEmpty { path } => write!(
                f,
                "the password file {} is empty; its first line is the password",
                path.display()
            ),
            ConfigError::TwoBatchModes => f.write_str(
                "--lines and --ndjson both ask for a batch: choose one (--ndjson reads every \
                 line as a JSON message; --lines sends every line as it is)",
            ),
            ConfigError::NoTopic => {
                f.write_str("no topic: give --topic TOPIC or \"topic\" in the config file")
            }
            ConfigError::NoContent => f.write_str(
                "no message: give --content TEXT, --content-file PATH (- for stdin), or \
                 \"content\" in the config file",
            ),
            ConfigError::ShadowWithTopic { topic } => write!(
                f,
                "{topic} and --shadow both say where the message goes: --shadow publishes to \
                 $aws/things/<thing>/shadow/<operation>; leave out the topic"
            ),
            ConfigError::ShadowNeedsThing => f.write_str(
                "--shadow needs the thing's name: give --thing NAME (or --client-id, since AWS \
                 IoT policies usually make the client id the thing name)",
            ),
            ConfigError::ThingWithoutShadow { origin } => write!(
                f,
                "{origin} names a shadow, but no --shadow operation is given: add --shadow \
                 update, get or delete"
            ),
            ConfigError::RequestInBatch { request, batch } => write!(
                f,
                "{request} waits for the answer to one message and cannot be used with {batch}"
            ),
            ConfigError::WaitResponseWithShadow => f.write_str(
                "--wait-response with --shadow: a shadow request already waits for the shadow \
                 service's answer; leave out --wait-response",
            ),
            ConfigError::ShadowQos { qos, origin } => write!(
                f,
                "{origin} is {qos}, but a shadow request goes at QoS 1 (AWS IoT takes QoS 0 and \
                 1, and the answer needs the acknowledgement): leave out the QoS or use 1"
            ),
            ConfigError::ShadowRetain => f.write_str(
                "--retain with --shadow: AWS IoT refuses retained messages on shadow topics; \
                 leave out --retain",
            ),
            ConfigError::WaitResponseNeedsTopic => {
                f.write_str("--wait-response needs --response-topic TOPIC: where the reply comes")
            }
            ConfigError::ResponseTopicIsTopic { topic } => write!(
                f,
                "--response-topic {topic} is the topic the request goes to: mqtt-send would \
                 receive its own request as the reply; give the topic the responder answers on"
            ),
            ConfigError::CertificateWithoutTls {
                broker,
                host,
                websocket: Some(path),
            } => write!(
                f,
                "use-certificate is true but the broker {broker} is not a TLS URL: client \
                 certificates are sent only over TLS; use wss://{host}{path}"
            ),
            ConfigError::CertificateWithoutTls { broker, host, .. } => write!(
                f,
                "use-certificate is true but the broker {broker} is not a TLS URL: client \
                 certificates are sent only over TLS; use ssl://{host}:8883 (or mqtts://, tls://)"
            ),
            ConfigError::Unsupported { flag, instead } => write!(
                f,
                "{flag} (a mosquitto_pub option) is not supported by mqtt-send: {instead}"
            ),
            ConfigError::ProxyForUnix => f.write_str(
                "--proxy cannot reach a Unix socket (--unix, unix://): it is on this machine; \
                 leave the proxy out",
            ),
            ConfigError::TlsOverUnix => f.write_str(
                "--unix with a CA or a client certificate (--cafile, --capath, --cert, \
                 --tls-use-os-certs): mqtt-send does not speak TLS over a Unix socket \
                 (mosquitto_pub does); leave the TLS options out, or connect over TCP",
            ),
            ConfigError::RepeatInBatch => f.write_str(
                "--repeat publishes one message several times; with --lines, -l or --ndjson \
                 every line is already a message: leave --repeat out or repeat the lines",
            ),
            ConfigError::WillWithoutTopic { origin } => write!(
                f,
                "{origin} sets the will, which needs a topic: give --will-topic TOPIC"
            ),
            ConfigError::NeedsMqtt5 { property, version } => {
                write!(f, "{property} needs MQTT 5; drop ")?;
                match version {
                    Origin::Key(key, path) => write!(f, "\"{key}\" from {}", path.display()),
                    Origin::Flag(_) => f.write_str("-V 3.1.1"),
                    _ => f.write_str("-V 3.1.1 (or \"protocol-version\" from the config file)"),
                }
            }
            ConfigError::Unparsed {
                origin: Some(origin),
                reason,
            } => write!(f, "{origin}: {reason}"),
            ConfigError::Unparsed {
                origin: None,
                reason,
            } => f.write_str(reason),
            ConfigError::AwsSigv4NeedsWss { broker } => write!(
                f,
                "--aws-sigv4 signs a WebSocket URL, and the broker {broker} is not one: use \
                 wss://<endpoint>/mqtt (AWS IoT Core serves MQTT over WebSockets on port 443)"
            ),
            ConfigError::AwsMissing(AwsMissing::Variable { missing, set }) => write!(
                f,
                "--aws-sigv4: {set} is set but {missing} is not; set both (and \
                 AWS_SESSION_TOKEN for temporary credentials)"
            ),
            ConfigError::AwsMissing(AwsMissing::Credentials { profile, file, why }) => {
                write!(
                    f,
                    "--aws-sigv4 found no AWS credentials: AWS_ACCESS_KEY_ID and \
                     AWS_SECRET_ACCESS_KEY are not set, and profile \"{profile}\" "
                )?;
                match file {
                    Some(file) => write!(f, "in {}: {why}", file.display())?,
                    None => write!(f, "cannot be looked up: {why}")?,
                }
                f.write_str(
                    "; in GitHub Actions, run aws-actions/configure-aws-credentials before \
                     mqtt-send",
                )
            }
            ConfigError::AwsMissing(AwsMissing::Region { host }) => write!(
                f,
                "--aws-sigv4 needs a region: set AWS_REGION (or AWS_DEFAULT_REGION); {host} is \
                 not an AWS IoT endpoint (…iot.<region>.amazonaws.com) that names one"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// "must be ..." for a JSON value of the wrong type.
fn expected_words(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "true or false",
        Kind::Qos => "0, 1 or 2",
        Kind::Seconds => "a number of seconds",
        Kind::Count => "a whole number",
        Kind::Path | Kind::Text => "a string",
        Kind::Version => "5, \"3.1.1\" or 3.1 (a number, or a string)",
        Kind::UserProperties => {
            "an object {\"key\": \"value\", ...} or a list of [\"key\", \"value\"] pairs"
        }
    }
}

/// A value that breaks its rule, in words.
fn invalid(
    f: &mut fmt::Formatter<'_>,
    origin: &Origin,
    got: Option<&Got>,
    problem: &Problem,
) -> fmt::Result {
    // ", got 3" where the value may be shown.
    let got_it = |f: &mut fmt::Formatter<'_>| match got {
        Some(got) => write!(f, ", got {got}"),
        None => Ok(()),
    };
    // " \"a/#\"" where the value may be shown.
    let the_value = |f: &mut fmt::Formatter<'_>| match got {
        Some(got) => write!(f, " {got}"),
        None => Ok(()),
    };
    match problem {
        Problem::Qos if origin.is_json() => {
            write!(
                f,
                "{origin} must be 0, 1 or 2 (a number, or a string of one digit)"
            )?;
            got_it(f)
        }
        Problem::Qos => {
            write!(f, "{origin} must be 0, 1 or 2")?;
            got_it(f)
        }
        Problem::Seconds => {
            write!(
                f,
                "{origin} must be a number of seconds greater than 0 (at most one year)"
            )?;
            got_it(f)
        }
        Problem::Retries { max } => {
            write!(f, "{origin} must be a whole number from 0 to {max}")?;
            got_it(f)
        }
        Problem::Url(error) => write!(f, "{origin}: {error}"),
        Problem::Host { shown } => write!(
            f,
            "{origin}: \"{shown}\" is not a host name or an IP address (the port goes in \
             --port, the scheme in --broker)"
        ),
        Problem::Port => {
            write!(f, "{origin} must be a port number from 1 to 65535")?;
            got_it(f)
        }
        Problem::TopicEmpty => write!(f, "{origin}: the topic is empty"),
        Problem::TopicWildcard => {
            write!(f, "{origin}: the topic")?;
            the_value(f)?;
            f.write_str(
                " contains a wildcard (+ or #); a message is published to one concrete topic",
            )
        }
        Problem::TooLong {
            field: Field::Password,
            len,
            max,
        } => write!(
            f,
            "the password from {origin} is {len} bytes; MQTT allows at most {max}"
        ),
        Problem::TooLong { field, len, max } => write!(
            f,
            "{origin}: the {field} is {len} bytes; MQTT allows at most {max}"
        ),
        Problem::Nul { field } => write!(
            f,
            "{origin}: the {field} contains a NUL character, which MQTT does not allow"
        ),
        Problem::Authorizer => write!(f, "{origin} is empty"),
        Problem::AuthorizerToken => write!(
            f,
            "{origin} must be KEY=VALUE: the authorizer's token key name, =, and the token"
        ),
        Problem::Proxy { shown, what } => write!(f, "{origin}: the proxy \"{shown}\" {what}"),
        Problem::Alpn => {
            write!(f, "{origin}: an ALPN protocol name is 1 to 255 bytes")?;
            got_it(f)
        }
        Problem::EmptyPath => write!(f, "{origin} is an empty path"),
        Problem::ProtocolVersion => {
            write!(
                f,
                "{origin} must be 5, 3.1.1 or 3.1 (or mosquitto_pub's mqttv5, 311, mqttv311, 31, \
                 mqttv31)"
            )?;
            got_it(f)
        }
        Problem::UserPropertyForm => {
            write!(f, "{origin} must be KEY=VALUE")?;
            got_it(f)
        }
        Problem::UserPropertyKey => {
            write!(
                f,
                "{origin}: a user property's key must not be empty nor hold \"=\" (KEY=VALUE \
                 splits at the first =)"
            )?;
            got_it(f)
        }
        Problem::UserPropertyNotString { key, found } => write!(
            f,
            "{origin}: the user property \"{key}\" must have a string value, got {found}"
        ),
        Problem::UserPropertyNotPair { item } => write!(
            f,
            "{origin}: item {item} of the list is not a [\"key\", \"value\"] pair of strings"
        ),
        Problem::MessageExpiry { max } => {
            write!(
                f,
                "{origin} must be a whole number of seconds from 1 to {max} (leave it out for \
                 no expiry)"
            )?;
            got_it(f)
        }
        Problem::PayloadFormat => {
            write!(
                f,
                "{origin} must be utf8 (the payload is UTF-8 text; leave it out for any other \
                 payload)"
            )?;
            got_it(f)
        }
        Problem::Keepalive { max } => {
            write!(
                f,
                "{origin} must be a whole number of seconds from 0 (no keep-alive) to {max}"
            )?;
            got_it(f)
        }
        Problem::SessionExpiry => {
            write!(
                f,
                "{origin} must be a whole number of seconds from 0 to 4294967295, or -1 (or ∞) \
                 for a session that never expires"
            )?;
            got_it(f)
        }
        Problem::Repeat { max } => {
            write!(f, "{origin} must be a whole number from 1 to {max}")?;
            got_it(f)
        }
        Problem::Delay => {
            write!(
                f,
                "{origin} must be a number of seconds from 0 to a year (fractions allowed)"
            )?;
            got_it(f)
        }
        Problem::TlsVersion => {
            write!(
                f,
                "{origin} must be tlsv1.3 or tlsv1.2 (tlsv1.1 means the same as tlsv1.2: \
                 mqtt-send speaks TLS 1.2 and 1.3)"
            )?;
            got_it(f)
        }
        Problem::PropertyForm => write!(
            f,
            "{origin} takes a packet, a property and its value: -D publish content-type \
             text/plain, -D publish user-property KEY VALUE"
        ),
        Problem::PropertyPacket => write!(
            f,
            "{origin}: the packet must be connect, publish, will or disconnect"
        ),
        Problem::PropertyName { packet } => write!(
            f,
            "{origin}: {packet} takes the properties {}",
            crate::values::PROPERTIES_OF
                .iter()
                .find(|(name, _)| name == packet)
                .map(|(_, names)| names.join(", "))
                .unwrap_or_default()
        ),
        Problem::PropertyRefused {
            why: PropertyRefusal::TopicAlias,
        } => {
            write!(
                f,
                "{origin}: mqtt-send does not use topic aliases (it sends the topic in every \
                 PUBLISH; a broker need not accept aliases); leave it out"
            )
        }
        Problem::PropertyRefused {
            why: PropertyRefusal::Authentication,
        } => write!(
            f,
            "{origin}: MQTT 5 extended authentication (AUTH) is not supported; authenticate \
             with a username and password or a client certificate"
        ),
        Problem::PropertyValues { arity: 2 } => {
            write!(f, "{origin}: a user property takes a key and a value")
        }
        Problem::PropertyValues { .. } => write!(f, "{origin}: this property takes one value"),
        Problem::PropertyNumber { max } => {
            write!(f, "{origin}: the value must be a whole number up to {max}")?;
            got_it(f)
        }
        // The URL is never repeated: it may hold a password.
        Problem::MqttUrl { what } => {
            write!(f, "{origin}: ")?;
            match what {
                MqttUrlProblem::Scheme => f.write_str(
                    "the URL must be mqtt://[USER@]HOST[:PORT]/TOPIC (or mqtts:// for TLS)",
                ),
                MqttUrlProblem::Topic => {
                    f.write_str("the URL has no topic: mqtt://[USER@]HOST[:PORT]/TOPIC")
                }
                MqttUrlProblem::Password => write!(
                    f,
                    "the URL holds a password, which every user of this machine can read in \
                     the process list (ps); leave it out of the URL and give it with \
                     MQTT_SEND_PASSWORD or --password-file"
                ),
            }
        }
        Problem::ShadowOperation => {
            write!(f, "{origin} must be update, get or delete")?;
            got_it(f)
        }
        Problem::AwsName { max } => {
            write!(
                f,
                "{origin} must be 1 to {max} letters, digits, ':', '_' or '-' (what AWS IoT \
                 takes in a name)"
            )?;
            got_it(f)
        }
        Problem::Action => {
            write!(f, "{origin} is")?;
            the_value(f)?;
            f.write_str("; mqtt-send only performs the \"send\" action")
        }
    }
}

/// A problem on its own (clap would show it this way; `config` always adds where the value
/// came from instead).
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        invalid(f, &Origin::Value, None, self)
    }
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::Empty => f.write_str(
                "the broker URL is empty; use e.g. tcp://localhost:1883 or ssl://host:8883",
            ),
            UrlError::Credentials { url } => write!(
                f,
                "the broker URL \"{url}\" contains credentials; give them with --username and \
                 MQTT_SEND_PASSWORD or --password-file instead"
            ),
            UrlError::UnknownScheme { url, scheme } => write!(
                f,
                "the broker URL \"{url}\" has an unknown scheme \"{scheme}\"; use tcp://, \
                 mqtt://, ssl://, mqtts://, tls://, ws://, wss:// or unix://"
            ),
            UrlError::UnixPath { url } => write!(
                f,
                "the broker URL \"{url}\" names no absolute path: a Unix socket is \
                 unix:///PATH, e.g. unix:///run/mosquitto/mosquitto.sock"
            ),
            UrlError::Path { url } => write!(
                f,
                "the broker URL \"{url}\" has a path; give only scheme://host[:port] and the \
                 topic with --topic (only ws:// and wss:// URLs take a path, of the characters a \
                 URL path allows)"
            ),
            UrlError::QueryOrFragment { url } => write!(
                f,
                "the broker URL \"{url}\" has a query or fragment; give only scheme://host[:port]"
            ),
            UrlError::UnclosedBracket { url } => write!(
                f,
                "the broker URL \"{url}\" opens an IPv6 address with [ but never closes it"
            ),
            UrlError::NotIpv6 { url, literal } => write!(
                f,
                "the broker URL \"{url}\" has \"{literal}\" in brackets, which is not an IPv6 \
                 address"
            ),
            UrlError::AfterIpv6 { url, after } => write!(
                f,
                "the broker URL \"{url}\" has \"{after}\" after the IPv6 address; expected :port"
            ),
            UrlError::BareIpv6 { url } => write!(
                f,
                "the broker URL \"{url}\" looks like a bare IPv6 address; put it in brackets, \
                 e.g. tcp://[::1]:1883"
            ),
            UrlError::NoHost { url } => write!(f, "the broker URL \"{url}\" has no host name"),
            UrlError::InvalidHost { url, host } => write!(
                f,
                "the broker URL \"{url}\" has an invalid host name \"{host}\""
            ),
            UrlError::Port { url, port } => write!(
                f,
                "the broker URL \"{url}\" has port \"{port}\"; a port is a number from 1 to 65535"
            ),
        }
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => f.write_str(flag),
            Origin::Env(var) => f.write_str(var),
            Origin::Key(key, file) => write!(f, "\"{key}\" in {}", file.display()),
            Origin::Line(key, line) => write!(f, "\"{key}\" on line {line}"),
            Origin::PasswordFile(path) => write!(f, "--password-file {}", path.display()),
            Origin::Default => f.write_str("the default"),
            Origin::Value => f.write_str("the value"),
        }
    }
}

impl fmt::Display for Got {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Got::Text(text) => write!(f, "\"{text}\""),
            Got::Number(number) => f.write_str(number),
        }
    }
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonType::Null => "null",
            JsonType::Bool => "a boolean",
            JsonType::Number => "a number",
            JsonType::String => "a string",
            JsonType::Array => "an array",
            JsonType::Object => "an object",
        })
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Topic => "topic",
            Field::ClientId => "client id",
            Field::Username => "username",
            Field::Password => "password",
            Field::UserPropertyKey => "user property's key",
            Field::UserPropertyValue => "user property's value",
            Field::ContentType => "content type",
            Field::CorrelationData => "correlation data",
            Field::ReasonString => "reason string",
            Field::WillPayload => "will's message",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redacted_url_keeps_no_credentials() {
        for (url, shown) in [
            (
                "tcp://user:hunter2@localhost:1883",
                "tcp://***@localhost:1883",
            ),
            ("user:hunter2@localhost", "***@localhost"),
            ("user:hunter2@host://x", "***@host://x"),
            ("tcp://localhost", "tcp://localhost"),
            ("hunter2@tcp://localhost", "***@tcp://localhost"),
            ("user:hun://ter2@localhost", "***@localhost"),
            ("tcp://localhost?password=hunter2", "tcp://localhost?***"),
            ("tcp://localhost:1883/#hunter2", "tcp://localhost:1883/#***"),
            ("tcp://localhost?password=hun@ter2", "tcp://***@?***"),
            ("tcp://u:hun?ter2@localhost", "tcp://***@?***"),
            ("hun?ter2://localhost", "hun?***"),
        ] {
            assert_eq!(RedactedUrl::new(url).to_string(), shown, "{url}");
        }
    }

    #[test]
    fn where_a_value_came_from_leads_its_sentence() {
        let problem = Problem::Qos;
        let sentence = |origin, got| {
            ConfigError::Invalid {
                origin,
                got,
                problem: problem.clone(),
            }
            .to_string()
        };
        assert_eq!(
            sentence(Origin::Flag("--qos".into()), Some(Got::Text("3".into()))),
            "--qos must be 0, 1 or 2, got \"3\""
        );
        assert_eq!(
            sentence(
                Origin::Key("qos".into(), "c.json".into()),
                Some(Got::Number("3".into()))
            ),
            "\"qos\" in c.json must be 0, 1 or 2 (a number, or a string of one digit), got 3"
        );
    }

    #[test]
    fn a_secret_is_never_shown() {
        let error = ConfigError::Invalid {
            origin: Origin::Env("MQTT_SEND_PASSWORD"),
            got: None,
            problem: Problem::TooLong {
                field: Field::Password,
                len: 70_000,
                max: 65_535,
            },
        };
        assert_eq!(
            error.to_string(),
            "the password from MQTT_SEND_PASSWORD is 70000 bytes; MQTT allows at most 65535"
        );
    }
}
