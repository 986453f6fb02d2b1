//! The command line, as clap sees it, and with it every config key: the one definition of each
//! option (no I/O here, so completions, the man page and the config-key list are generated from
//! it). `config` turns the environment and the config file into more arguments for the same
//! clap command and merges them.

use std::any::TypeId;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::Duration;

use crate::message::{Qos, Version};
use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Arg, ArgAction, Command, CommandFactory, Parser};

use crate::broker::{Broker, DEFAULT_BROKER, Host};
use crate::error::{Kind, Problem};
use crate::shadow::Operation;
use crate::values::{self, MqttUrl, PayloadFormat, Secret, TlsVersion, UserProperty};

const EXAMPLES: &str = "\
Examples:
  mqtt-send -t sensors/room1 -m '{\"temp\":21.5}'
  mqtt-send -c connector.json -m '{\"state\":{\"reported\":{\"on\":true}}}'
  MQTT_SEND_PASSWORD=secret mqtt-send -b tcp://broker:1883 -u alice -t jobs/done -m ok -q 1
  mqtt-send -t logs/raw -f payload.bin
  mqtt-send -h broker.lan -p 1884 -t sensors/room1 -m 21.5
  mqtt-send -t jobs/done -m '{\"ok\":true}' --content-type application/json --user-property job=42
  mqtt-send -c aws.json --shadow update --thing lamp -m '{\"state\":{\"desired\":{\"on\":true}}}'
  mqtt-send -t svc/ask -m ping --response-topic svc/answer --wait-response

Exit status: 0 published (acknowledged), 2 usage/config, 3 could not connect, 4 TLS,
5 refused by the broker, 6 timed out (a request: acknowledged but not answered), 7 publish
dropped by the broker, 8 the service rejected the request (the broker took the message and
the service that handles it said no), 1 internal error, 130 interrupted (SIGINT),
143 terminated (SIGTERM).
One JSON meta object ({\"exit-code\":N,\"message\":...}) is printed on stdout.";

const DESCRIPTION: &str = "\
Publish an MQTT message, wait for the broker's acknowledgement, and report it as JSON.

mqtt-send connects to an MQTT broker (MQTT 5, or 3.1.1 for a broker that does not speak 5; plain \
TCP, TLS or WebSockets, directly or through an HTTP proxy; with a username and password, a client \
certificate, or AWS SigV4 from IAM credentials), publishes the message with \
the MQTT 5 properties asked for, waits for the broker's acknowledgement (PUBACK for \
QoS 1, PUBCOMP for QoS 2), disconnects cleanly, prints one JSON meta object on stdout and exits \
with the status that object names. One --timeout covers the whole run. The connection can come \
from a Flint-style JSON config file (-c); flags override it. With --lines or --ndjson every \
line of the input is one message, over one connection.";

/// Publish an MQTT message, wait for the broker's acknowledgement, and report it as JSON.
///
/// Every option is defined here, once. Its long name is also its config-file key (unless it is
/// in [`NOT_CONFIG_KEYS`]); its value parser (in `values`) is the rule its value follows from
/// the command line, the environment and the config file alike, and decides which JSON values
/// the key takes (see [`kind`]); its default, if it has one, is in [`DEFAULTS`]. No field has a
/// clap `default_value`: `config` merges the sources with `update_from_arg_matches`, where a
/// clap default would override a config key.
///
/// The options whose value is free text (the message, the topic, the client id, the username
/// and the password) take the next argument whatever it starts with, as mosquitto_pub does:
/// `-m -3.2`, `-P --x`. The others do not: a path, a URL or an ALPN name never starts with `-`,
/// so there a `-` means a forgotten value, and an optional boolean (`-r`) must not swallow the
/// flag after it. The numbers take negative numbers, for their rule to refuse in its own words.
///
/// `-h` and `-p` are mosquitto_pub's host and port, and `-V` its protocol version, so help is
/// `--help` only and the version `--version` only.
#[derive(Debug, Default, Parser)]
#[command(name = "mqtt-send", version, long_about = DESCRIPTION, after_long_help = EXAMPLES,
          disable_help_flag = true, disable_version_flag = true)]
pub struct Cli {
    /// Flint-style JSON config file (keys: broker, client-id, topic, qos, content, ...)
    #[arg(short = 'c', long, value_name = "FILE", help_heading = "Connection")]
    pub config: Option<PathBuf>,

    /// Broker URL: tcp:// mqtt:// (1883), ssl:// mqtts:// tls:// (8883), ws:// (80) and wss:// (443)
    /// with a path (/mqtt by default), unix:///PATH, or host[:port]
    #[arg(short = 'b', long, value_name = "URL", value_parser = values::broker,
          help_heading = "Connection")]
    pub broker: Option<Broker>,

    /// Broker host name or IP address, in place of the broker URL's (scheme and port stay)
    #[arg(short = 'h', long, value_name = "HOST", value_parser = values::host,
          help_heading = "Connection")]
    pub host: Option<Host>,

    /// Broker port, in place of the broker URL's
    #[arg(short = 'p', long, value_name = "PORT", value_parser = values::port,
          allow_negative_numbers = true, help_heading = "Connection")]
    pub port: Option<u16>,

    /// MQTT client identifier (AWS IoT Core: the thing name); '' sends an empty one
    #[arg(short = 'i', long, visible_alias = "id", value_name = "ID",
          value_parser = values::client_id, allow_hyphen_values = true,
          help_heading = "Connection")]
    pub client_id: Option<String>,

    /// Client id: PREFIX and the process id (mosquitto_pub's -I)
    #[arg(short = 'I', long, value_name = "PREFIX", value_parser = values::client_id,
          allow_hyphen_values = true, conflicts_with = "client_id", help_heading = "Connection")]
    pub id_prefix: Option<String>,

    /// mosquitto_pub's URL, mqtt(s)://[USER@]HOST[:PORT]/TOPIC: the broker, username and topic
    /// (a password in it is refused: ps would show it)
    #[arg(short = 'L', long, value_name = "URL", value_parser = values::mqtt_url,
          conflicts_with_all = ["broker", "host", "port", "topic"], help_heading = "Connection")]
    pub url: Option<MqttUrl>,

    /// Connect to the broker's Unix socket PATH instead of TCP
    #[arg(long, value_name = "PATH", conflicts_with_all = ["broker", "host", "port", "url"],
          help_heading = "Connection")]
    pub unix: Option<PathBuf>,

    /// Seconds between keep-alive pings the broker may expect; 0 turns them off
    #[arg(short = 'k', long, value_name = "SECONDS", value_parser = values::keepalive,
          allow_negative_numbers = true, help_heading = "Connection")]
    pub keepalive: Option<u32>,

    /// MQTT 5 Session Expiry Interval in seconds; -1: the session never expires
    #[arg(short = 'x', long, value_name = "SECONDS", value_parser = values::session_expiry,
          allow_negative_numbers = true, help_heading = "Connection")]
    pub session_expiry_interval: Option<u32>,

    /// Accepted for mosquitto_pub: mqtt-send always turns off Nagle's algorithm
    #[arg(long, help_heading = "Connection")]
    pub nodelay: bool,

    /// MQTT version: 5, 3.1.1 or 3.1; given, no other is tried
    #[arg(short = 'V', long, value_name = "VERSION",
          value_parser = OneOf { rule: values::protocol_version, names: values::PROTOCOL_VERSIONS },
          help_heading = "Connection")]
    pub protocol_version: Option<Version>,

    /// Topic to publish to (no + or #); required, except with --ndjson
    #[arg(short = 't', long, value_name = "TOPIC", value_parser = values::topic,
          allow_hyphen_values = true, help_heading = "Message")]
    pub topic: Option<String>,

    /// Quality of service: 0, 1 or 2
    #[arg(short = 'q', long, value_name = "N",
          value_parser = OneOf { rule: values::qos, names: values::QOS_LEVELS },
          allow_negative_numbers = true, help_heading = "Message")]
    pub qos: Option<Qos>,

    /// The message
    #[arg(
        short = 'm',
        long,
        visible_alias = "message",
        value_name = "TEXT",
        allow_hyphen_values = true,
        conflicts_with_all = ["content_file", "stdin_file", "stdin_line", "null_message"],
        help_heading = "Message"
    )]
    pub content: Option<OsString>,

    /// Read the message from a file, byte for byte; - reads stdin
    #[arg(short = 'f', long, visible_alias = "file", value_name = "PATH",
          conflicts_with_all = ["stdin_file", "stdin_line", "null_message"],
          help_heading = "Message")]
    pub content_file: Option<PathBuf>,

    /// The message is all of stdin, which must not be empty (-f - takes it as it is)
    #[arg(short = 's', long, conflicts_with_all = ["stdin_line", "null_message"],
          help_heading = "Message")]
    pub stdin_file: bool,

    /// Every line of stdin is a message (--lines -f -)
    #[arg(short = 'l', long, conflicts_with_all = ["null_message", "ndjson"],
          help_heading = "Message")]
    pub stdin_line: bool,

    /// The message is empty (zero bytes)
    #[arg(short = 'n', long, help_heading = "Message")]
    pub null_message: bool,

    /// Publish the message N times over the connection
    #[arg(long, value_name = "N", value_parser = values::repeat,
          allow_negative_numbers = true, help_heading = "Message")]
    pub repeat: Option<u32>,

    /// Seconds to wait between repeated messages
    #[arg(long, value_name = "SECONDS", value_parser = values::delay,
          allow_negative_numbers = true, help_heading = "Message")]
    pub repeat_delay: Option<Duration>,

    /// Ask the broker to retain the message
    #[arg(short = 'r', long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          help_heading = "Message")]
    pub retain: Option<bool>,

    /// A user property, KEY=VALUE; repeatable, in order, a key may repeat
    #[arg(long, value_name = "KEY=VALUE", value_parser = values::user_property,
          allow_hyphen_values = true, help_heading = PROPERTIES)]
    pub user_property: Vec<UserProperty>,

    /// Content type of the message (a MIME type, such as application/json)
    #[arg(long, value_name = "TEXT", value_parser = values::content_type,
          allow_hyphen_values = true, help_heading = PROPERTIES)]
    pub content_type: Option<String>,

    /// Seconds the broker keeps the message for subscribers that have not received it yet
    #[arg(long, value_name = "SECONDS", value_parser = values::message_expiry,
          allow_negative_numbers = true, help_heading = PROPERTIES)]
    pub message_expiry: Option<u32>,

    /// Topic for a response to the message (no + or #)
    #[arg(long, value_name = "TOPIC", value_parser = values::response_topic,
          allow_hyphen_values = true, help_heading = PROPERTIES)]
    pub response_topic: Option<String>,

    /// Correlation data for a response: the bytes of TEXT
    #[arg(long, value_name = "TEXT", value_parser = values::correlation_data,
          allow_hyphen_values = true, help_heading = PROPERTIES)]
    pub correlation_data: Option<String>,

    /// utf8: the payload is UTF-8 text (checked before sending)
    #[arg(long, value_name = "FORMAT",
          value_parser = OneOf { rule: values::payload_format, names: values::PAYLOAD_FORMATS },
          help_heading = PROPERTIES)]
    pub payload_format: Option<PayloadFormat>,

    /// mosquitto_pub's -D: a property of the CONNECT, PUBLISH, will or DISCONNECT packet, e.g.
    /// -D publish user-property KEY VALUE; repeatable
    #[arg(short = 'D', long, value_names = ["PACKET", "NAME", "VALUE"], num_args = 3..=4,
          help_heading = PROPERTIES)]
    pub property: Vec<String>,

    /// Topic of the will: the message the broker publishes if mqtt-send vanishes without
    /// disconnecting
    #[arg(long, value_name = "TOPIC", value_parser = values::topic,
          allow_hyphen_values = true, help_heading = "Will")]
    pub will_topic: Option<String>,

    /// The will's message (empty if not given)
    #[arg(
        long,
        value_name = "TEXT",
        allow_hyphen_values = true,
        help_heading = "Will"
    )]
    pub will_payload: Option<OsString>,

    /// The will's QoS: 0, 1 or 2
    #[arg(long, value_name = "N",
          value_parser = OneOf { rule: values::qos, names: values::QOS_LEVELS },
          allow_negative_numbers = true, help_heading = "Will")]
    pub will_qos: Option<Qos>,

    /// Ask the broker to retain the will
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          help_heading = "Will")]
    pub will_retain: Option<bool>,

    /// Username
    #[arg(short = 'u', long, value_name = "NAME", value_parser = values::username,
          allow_hyphen_values = true, help_heading = "Authentication")]
    pub username: Option<String>,

    /// Password; visible to ps, prefer MQTT_SEND_PASSWORD or --password-file
    #[arg(
        short = 'P',
        long,
        visible_alias = "pw",
        value_name = "PASS",
        value_parser = values::password,
        allow_hyphen_values = true,
        conflicts_with = "password_file",
        help_heading = "Authentication"
    )]
    pub password: Option<Secret>,

    /// Read the password from the first line of a file
    #[arg(long, value_name = "PATH", help_heading = "Authentication")]
    pub password_file: Option<PathBuf>,

    /// PEM CA bundle that signs the broker's certificate
    #[arg(
        long,
        visible_alias = "cafile",
        value_name = "PATH",
        help_heading = "TLS"
    )]
    pub root_ca_crt: Option<PathBuf>,

    /// Directory of PEM CA certificates that sign the broker's certificate
    #[arg(long, value_name = "DIR", help_heading = "TLS")]
    pub capath: Option<PathBuf>,

    /// TLS with the system trust store (besides --root-ca-crt or --capath, if given)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          help_heading = "TLS")]
    pub tls_use_os_certs: Option<bool>,

    /// PEM client certificate (chain); on the command line it implies --use-certificate
    #[arg(
        long,
        visible_alias = "cert",
        value_name = "PATH",
        help_heading = "TLS"
    )]
    pub certificate: Option<PathBuf>,

    /// PEM private key: PKCS#1, PKCS#8 or SEC1
    #[arg(long, visible_alias = "key", value_name = "PATH", help_heading = "TLS")]
    pub private_key: Option<PathBuf>,

    /// Authenticate with the client certificate
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          help_heading = "TLS")]
    pub use_certificate: Option<bool>,

    /// ALPN protocol to offer in the TLS handshake; repeatable
    #[arg(long, visible_alias = "tls-alpn", value_name = "PROTO", value_parser = values::alpn,
          help_heading = "TLS")]
    pub alpn: Vec<String>,

    /// The oldest TLS version to accept: tlsv1.3, or tlsv1.2 (1.2 and 1.3; tlsv1.1 means the
    /// same, as mqtt-send never speaks older than 1.2)
    #[arg(long, value_name = "VERSION",
          value_parser = OneOf { rule: values::tls_version, names: values::TLS_VERSIONS },
          help_heading = "TLS")]
    pub tls_version: Option<TlsVersion>,

    /// HTTP proxy to tunnel through (CONNECT): http://[user:password@]host:port; without it,
    /// HTTPS_PROXY (TLS, wss), HTTP_PROXY (ws), ALL_PROXY (all) and NO_PROXY apply, except to
    /// loopback brokers
    #[arg(long, value_name = "URL", value_parser = values::proxy, help_heading = "Connection")]
    pub proxy: Option<crate::proxy::Proxy>,

    /// wss:// only: sign the WebSocket URL with AWS SigV4 (AWS IoT Core with IAM credentials from
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, or AWS_PROFILE's static keys;
    /// region from AWS_REGION or the endpoint)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          help_heading = "AWS")]
    pub aws_sigv4: Option<bool>,

    /// AWS IoT custom authorizer to name in the username (offers ALPN mqtt on port 443)
    #[arg(long, value_name = "NAME", value_parser = values::authorizer, help_heading = "AWS")]
    pub aws_authorizer: Option<String>,

    /// The token the custom authorizer reads, as its token key name and value
    #[arg(long, value_name = "KEY=VALUE", value_parser = values::authorizer_token,
          help_heading = "AWS")]
    pub aws_authorizer_token: Option<values::AuthorizerToken>,

    /// The token's signature, for an authorizer with token signing on
    #[arg(long, value_name = "SIG", value_parser = values::authorizer, help_heading = "AWS")]
    pub aws_authorizer_signature: Option<String>,

    /// One deadline for the whole run, in seconds
    #[arg(long, value_name = "SECONDS", value_parser = values::seconds,
          allow_negative_numbers = true, help_heading = "Behaviour")]
    pub timeout: Option<Duration>,

    /// Retry connection failures where nothing was published, at most 1000 times
    #[arg(long, value_name = "N", value_parser = values::retries,
          allow_negative_numbers = true, help_heading = "Behaviour")]
    pub retries: Option<u32>,

    /// Batch: every line of the content is one message to --topic, over one connection; empty
    /// lines are skipped
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          help_heading = "Behaviour")]
    pub lines: Option<bool>,

    /// Batch: every line is a JSON message {"topic","content","qos","retain"} that may set the
    /// MQTT 5 properties too (by their config keys); missing fields come from the flags; empty
    /// lines are skipped
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          help_heading = "Behaviour")]
    pub ndjson: Option<bool>,

    /// AWS IoT device shadow: update, get or delete the shadow of --thing and wait for the
    /// shadow service's answer (exit 8 when it rejects the request); the topic is derived
    #[arg(long, value_name = "OPERATION",
          value_parser = OneOf { rule: values::shadow_operation, names: Operation::NAMES },
          help_heading = REQUESTS)]
    pub shadow: Option<Operation>,

    /// The thing whose shadow --shadow works on
    #[arg(long, value_name = "NAME", value_parser = values::thing_name, help_heading = REQUESTS)]
    pub thing: Option<String>,

    /// A named shadow of --thing (without it: the classic shadow)
    #[arg(long, value_name = "NAME", value_parser = values::shadow_name, help_heading = REQUESTS)]
    pub shadow_name: Option<String>,

    /// Subscribe to --response-topic first, publish with it and a correlation data (MQTT 5:
    /// --correlation-data, or a fresh one), and wait for the reply; it goes into the meta object
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          help_heading = REQUESTS)]
    pub wait_response: Option<bool>,

    /// Flint's action name; only "send" is accepted
    #[arg(long, value_name = "NAME", value_parser = values::action, hide = true)]
    #[allow(dead_code)] // a config key of Flint's: its value parser is all there is to it
    pub action: Option<String>,

    /// Log protocol events and decisions on stderr (never a secret)
    #[arg(
        short = 'v',
        long,
        visible_short_alias = 'd',
        visible_alias = "debug",
        help_heading = "Behaviour"
    )]
    pub verbose: bool,

    /// Print nothing, neither the meta object nor errors: the exit status tells
    #[arg(long, conflicts_with = "verbose", help_heading = "Behaviour")]
    pub quiet: bool,

    /// Write the shell completions and the man page under DIR (for packagers and developers)
    #[arg(long, value_name = "DIR", hide = true)]
    pub generate: Option<PathBuf>,

    /// Print help
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,

    /// Print version
    #[arg(long, action = ArgAction::Version)]
    pub version: Option<bool>,
}

/// The help heading of the options that wait for an answer to the message.
pub const REQUESTS: &str = "Requests";

/// The help heading of the MQTT 5 properties of a message: these options are the properties.
pub const PROPERTIES: &str = "MQTT 5 properties";

/// The config keys (and long flag names) of the MQTT 5 properties, in the order of [`Cli`].
pub fn property_keys(command: &Command) -> Vec<&str> {
    command
        .get_arguments()
        .filter(|arg| arg.get_help_heading() == Some(PROPERTIES))
        .filter_map(config_key)
        .collect()
}

/// A mosquitto_pub option that mqtt-send does not take. It is refused by name, with what to do
/// instead (exit 2), never ignored: a script that relied on it must not half-work.
pub struct Unsupported {
    /// `--insecure`, or `-A` for an option with no long form.
    pub flag: &'static str,
    pub takes_value: bool,
    pub instead: &'static str,
}

/// mosquitto_pub 2.0's options for publishing that mqtt-send does not take.
pub const UNSUPPORTED: &[Unsupported] = &[
    Unsupported {
        flag: "--insecure",
        takes_value: false,
        instead: "mqtt-send always checks that the broker's certificate names the host it \
                  connects to; give the CA that signs it with --cafile (--root-ca-crt), and \
                  connect by a name the certificate holds",
    },
    Unsupported {
        flag: "--disable-clean-session",
        takes_value: false,
        instead: "mqtt-send publishes and leaves, with a clean session; to have the broker \
                  keep the session after it leaves, give -x SECONDS (MQTT 5). Its -c is the \
                  config file",
    },
    Unsupported {
        flag: "-A",
        takes_value: true,
        instead: "mqtt-send connects from the address the system routes to the broker; a bind \
                  address cannot be chosen",
    },
    Unsupported {
        flag: "-M",
        takes_value: true,
        instead: "mqtt-send keeps as many messages in flight as the broker's Receive Maximum \
                  allows (MQTT 5), or a number that no broker drops (3.1.1); leave -M out",
    },
    Unsupported {
        flag: "--ciphers",
        takes_value: true,
        instead: "mqtt-send offers rustls's safe cipher suites, which cannot be chosen; \
                  --tls-version tlsv1.3 limits the connection to TLS 1.3",
    },
    Unsupported {
        flag: "--psk",
        takes_value: true,
        instead: "TLS pre-shared keys are not supported (rustls has no PSK cipher suites); \
                  use certificates: --cafile for the broker's, --cert and --key for yours",
    },
    Unsupported {
        flag: "--psk-identity",
        takes_value: true,
        instead: "TLS pre-shared keys are not supported (rustls has no PSK cipher suites); \
                  use certificates: --cafile for the broker's, --cert and --key for yours",
    },
    Unsupported {
        flag: "--tls-engine",
        takes_value: true,
        instead: "OpenSSL engines are not supported: give the private key as a PEM file with \
                  --key",
    },
    Unsupported {
        flag: "--keyform",
        takes_value: true,
        instead: "OpenSSL engines are not supported: give the private key as a PEM file with \
                  --key",
    },
    Unsupported {
        flag: "--tls-engine-kpass-sha1",
        takes_value: true,
        instead: "OpenSSL engines are not supported: give the private key as a PEM file with \
                  --key",
    },
];

impl Unsupported {
    /// The id of its hidden clap argument: the flag itself.
    pub fn id(&self) -> &'static str {
        self.flag
    }

    fn arg(&self) -> Arg {
        let arg = Arg::new(self.id()).hide(true);
        let arg = match self.flag.strip_prefix("--") {
            Some(long) => arg.long(long),
            None => arg.short(self.flag.chars().nth(1).expect("-X")),
        };
        if self.takes_value {
            arg.num_args(1)
                .action(ArgAction::Set)
                .allow_hyphen_values(true)
        } else {
            arg.action(ArgAction::SetTrue)
        }
    }

    /// The unsupported option an argument stands for, if it stands for one.
    pub fn of(arg: &Arg) -> Option<&'static Unsupported> {
        UNSUPPORTED
            .iter()
            .find(|unsupported| arg.get_id() == unsupported.id())
    }
}

/// A value parser that is one of our rules (see `values`) and offers `names`, the values it
/// takes, to the help and the shell completions.
#[derive(Clone)]
pub struct OneOf<T> {
    pub rule: fn(&str) -> Result<T, Problem>,
    pub names: &'static [&'static str],
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for OneOf<T> {
    type Value = T;

    fn parse_ref(
        &self,
        command: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        self.rule.parse_ref(command, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.names.iter().map(PossibleValue::new)))
    }
}

/// The flags that are not config keys, each with the config key that says the same in a config
/// file, if one does (a config file that uses the flag's name is told to use that key instead):
/// where the config file is; the message and the password read from a file (a config file holds
/// the value itself); the host and the port, mosquitto_pub's way of saying part of what the
/// Flint config's one "broker" URL says (two ways in one file would leave the reader to guess
/// which one wins); how mqtt-send reports and documents itself.
pub const NOT_CONFIG_KEYS: &[(&str, Option<&str>)] = &[
    ("config", None),
    ("content-file", Some("content")),
    ("password-file", Some("password")),
    ("host", Some("broker")),
    ("port", Some("broker")),
    ("verbose", None),
    ("generate", None),
    // mosquitto_pub's ways of saying what the config file says with its own keys.
    ("id-prefix", Some("client-id")),
    ("url", Some("broker")),
    ("unix", Some("broker")),
    ("nodelay", None),
    ("stdin-file", Some("content")),
    ("stdin-line", Some("lines")),
    ("null-message", Some("content")),
    ("property", None),
    ("quiet", None),
];

/// The config key to use for a flag that is not one, if there is one.
pub fn config_key_instead_of(flag: &str) -> Option<&'static str> {
    NOT_CONFIG_KEYS
        .iter()
        .find(|(name, _)| *name == flag)
        .and_then(|(_, key)| *key)
}

/// What an option is when no flag, environment variable or config key sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// A value, given to the option's value parser like any other: the bottom layer of the merge.
    Value(&'static str),
    /// Decided at run time; only shown.
    Described(&'static str),
}

/// The defaults, by config key (and long flag name).
pub const DEFAULTS: &[(&str, Fallback)] = &[
    ("action", Fallback::Value("send")),
    (
        "alpn",
        Fallback::Described(
            "x-amzn-mqtt-ca on port 443 with a client certificate, mqtt with --aws-authorizer, \
             http/1.1 for wss://",
        ),
    ),
    ("aws-sigv4", Fallback::Value("false")),
    ("broker", Fallback::Value(DEFAULT_BROKER)),
    (
        "client-id",
        Fallback::Described("mqtt-send-<8 random hex digits>"),
    ),
    (
        "keepalive",
        Fallback::Described("the --timeout, at least 60 s"),
    ),
    ("lines", Fallback::Value("false")),
    ("ndjson", Fallback::Value("false")),
    (
        "protocol-version",
        Fallback::Described("5, and 3.1.1 once if the broker does not speak 5"),
    ),
    ("qos", Fallback::Value("2")),
    ("repeat", Fallback::Value("1")),
    ("repeat-delay", Fallback::Described("0")),
    ("retain", Fallback::Value("false")),
    ("retries", Fallback::Value("0")),
    ("root-ca-crt", Fallback::Described("the system trust store")),
    (
        "session-expiry-interval",
        Fallback::Described("0: the session ends with the connection"),
    ),
    ("thing", Fallback::Described("the client id")),
    ("wait-response", Fallback::Value("false")),
    ("timeout", Fallback::Value("30")),
    ("tls-use-os-certs", Fallback::Value("false")),
    ("use-certificate", Fallback::Value("false")),
    ("will-qos", Fallback::Described("0")),
    ("will-retain", Fallback::Described("false")),
];

/// The default of a config key, if it has one.
pub fn default_of(key: &str) -> Option<Fallback> {
    DEFAULTS
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, fallback)| *fallback)
}

/// The command as users see it: [`Cli`]'s, with each config key's help ending in
/// `[config: KEY]` and its default.
pub fn command() -> Command {
    let unsupported = UNSUPPORTED.iter().map(Unsupported::arg);
    Cli::command().args(unsupported).mut_args(|arg| {
        let Some(key) = config_key(&arg).map(str::to_string) else {
            return arg;
        };
        let mut note = format!(" [config: {key}]");
        if let Some(Fallback::Value(text) | Fallback::Described(text)) = default_of(&key) {
            note.push_str(&format!(" [default: {text}]"));
        }
        let help = arg.get_help().map(|help| format!("{help}{note}"));
        let long_help = arg.get_long_help().map(|help| format!("{help}{note}"));
        let arg = match help {
            Some(help) => arg.help(help),
            None => arg,
        };
        match long_help {
            Some(help) => arg.long_help(help),
            None => arg,
        }
    })
}

/// The config key an argument is, if it is one: its long name.
pub fn config_key(arg: &Arg) -> Option<&str> {
    let long = arg.get_long()?;
    let about_us = matches!(
        arg.get_action(),
        ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version
    );
    let excluded = NOT_CONFIG_KEYS.iter().any(|(name, _)| *name == long);
    (!about_us && !excluded && Unsupported::of(arg).is_none()).then_some(long)
}

/// The command as the shell completions offer it: the options a user types, without the hidden
/// ones (`--generate`, `--action`, mosquitto_pub's unsupported options).
pub fn shown_command() -> Command {
    let full = command();
    let shown: Vec<Arg> = full
        .get_arguments()
        .filter(|arg| !arg.is_hide_set())
        .cloned()
        .collect();
    Command::new("mqtt-send")
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args(shown)
}

/// Every config key of `command`, with its argument, in alphabetical order.
pub fn config_keys(command: &Command) -> Vec<(&str, &Arg)> {
    let mut keys: Vec<(&str, &Arg)> = command
        .get_arguments()
        .filter_map(|arg| Some((config_key(arg)?, arg)))
        .collect();
    keys.sort_by_key(|(key, _)| *key);
    keys
}

/// The kind of value an argument takes, from the type its value parser makes.
pub fn kind(arg: &Arg) -> Kind {
    let made = arg.get_value_parser().type_id();
    if made == TypeId::of::<bool>() {
        Kind::Bool
    } else if made == TypeId::of::<Qos>() {
        Kind::Qos
    } else if made == TypeId::of::<Duration>() {
        Kind::Seconds
    } else if made == TypeId::of::<u32>() {
        Kind::Count
    } else if made == TypeId::of::<PathBuf>() {
        Kind::Path
    } else if made == TypeId::of::<Version>() {
        Kind::Version
    } else if made == TypeId::of::<UserProperty>() {
        Kind::UserProperties
    } else {
        // String, OsString, and what a rule makes of a string (Broker, Secret, PayloadFormat).
        Kind::Text
    }
}

/// Whether an argument's value is a secret, never to be shown in a message.
pub fn is_secret(arg: &Arg) -> bool {
    arg.get_value_parser().type_id() == TypeId::of::<Secret>()
}

/// Whether an argument takes a list (repeated on the command line, a JSON array in the config).
pub fn is_list(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
    }

    #[test]
    fn optional_bool_flags_default_to_true_when_bare() {
        let cli = Cli::try_parse_from(["mqtt-send", "-r", "--use-certificate", "-t", "a"]).unwrap();
        assert_eq!(cli.retain, Some(true));
        assert_eq!(cli.use_certificate, Some(true));
        let cli = Cli::try_parse_from(["mqtt-send", "--retain", "false"]).unwrap();
        assert_eq!(cli.retain, Some(false));
    }

    #[test]
    fn free_text_values_may_start_with_a_hyphen() {
        let cli = Cli::try_parse_from([
            "mqtt-send",
            "-m",
            "-3.2",
            "-t",
            "-t",
            "-i",
            "-i",
            "-u",
            "--user",
            "-P",
            "--x",
        ])
        .unwrap();
        assert_eq!(cli.content.as_deref(), Some(std::ffi::OsStr::new("-3.2")));
        assert_eq!(cli.topic.as_deref(), Some("-t"));
        assert_eq!(cli.client_id.as_deref(), Some("-i"));
        assert_eq!(cli.username.as_deref(), Some("--user"));
        assert_eq!(
            cli.password.map(|p| p.expose().to_string()).as_deref(),
            Some("--x")
        );
        // A bare boolean does not swallow the flag after it; a path does not take a flag.
        let cli = Cli::try_parse_from(["mqtt-send", "-r", "-t", "a"]).unwrap();
        assert_eq!((cli.retain, cli.topic.as_deref()), (Some(true), Some("a")));
        assert!(Cli::try_parse_from(["mqtt-send", "--root-ca-crt", "--certificate", "c"]).is_err());
    }

    #[test]
    fn content_and_content_file_conflict() {
        assert!(Cli::try_parse_from(["mqtt-send", "-m", "x", "-f", "y"]).is_err());
        assert!(Cli::try_parse_from(["mqtt-send", "-P", "x", "--password-file", "y"]).is_err());
    }

    #[test]
    fn config_keys_are_the_long_flags_but_the_excluded_ones() {
        let command = command();
        let keys: Vec<&str> = config_keys(&command).iter().map(|(key, _)| *key).collect();
        assert!(keys.contains(&"client-id") && keys.contains(&"action"));
        for (excluded, instead) in NOT_CONFIG_KEYS {
            if let Some(key) = instead {
                assert!(keys.contains(key), "{excluded}: {key} is no config key");
            }
            assert!(
                command
                    .get_arguments()
                    .any(|a| a.get_long() == Some(excluded)),
                "{excluded} is no flag"
            );
            assert!(!keys.contains(excluded), "{excluded}");
        }
        assert!(!keys.contains(&"help") && !keys.contains(&"version"));
    }

    #[test]
    fn no_option_has_a_clap_default_that_would_override_a_config_key() {
        for arg in Cli::command().get_arguments() {
            if config_key(arg).is_some() {
                assert!(arg.get_default_values().is_empty(), "{}", arg.get_id());
            }
        }
    }

    #[test]
    fn every_default_belongs_to_a_config_key() {
        let command = command();
        let keys: Vec<&str> = config_keys(&command).iter().map(|(key, _)| *key).collect();
        for (key, _) in DEFAULTS {
            assert!(keys.contains(key), "{key}");
        }
    }

    #[test]
    fn the_kind_of_a_value_comes_from_its_parser() {
        let command = command();
        let kind_of = |key: &str| {
            let (_, arg) = config_keys(&command)
                .into_iter()
                .find(|(name, _)| *name == key)
                .unwrap();
            (kind(arg), is_list(arg))
        };
        assert_eq!(kind_of("retain"), (Kind::Bool, false));
        assert_eq!(kind_of("qos"), (Kind::Qos, false));
        assert_eq!(kind_of("timeout"), (Kind::Seconds, false));
        assert_eq!(kind_of("retries"), (Kind::Count, false));
        assert_eq!(kind_of("root-ca-crt"), (Kind::Path, false));
        assert_eq!(kind_of("broker"), (Kind::Text, false));
        assert_eq!(kind_of("alpn"), (Kind::Text, true));
        assert_eq!(kind_of("protocol-version"), (Kind::Version, false));
        assert_eq!(kind_of("user-property"), (Kind::UserProperties, true));
        assert_eq!(kind_of("message-expiry"), (Kind::Count, false));
        assert_eq!(kind_of("payload-format"), (Kind::Text, false));
        let secrets: Vec<&str> = config_keys(&command)
            .into_iter()
            .filter(|(_, arg)| is_secret(arg))
            .map(|(key, _)| key)
            .collect();
        assert_eq!(secrets, ["password"]);
    }

    #[test]
    fn the_properties_are_the_options_under_their_heading() {
        assert_eq!(
            property_keys(&command()),
            [
                "user-property",
                "content-type",
                "message-expiry",
                "response-topic",
                "correlation-data",
                "payload-format"
            ]
        );
    }

    #[test]
    fn protocol_version_and_payload_format_offer_their_values() {
        let command = command();
        let offered = |long: &str| -> Vec<String> {
            let arg = command
                .get_arguments()
                .find(|arg| arg.get_long() == Some(long))
                .unwrap();
            arg.get_possible_values()
                .iter()
                .map(|value| value.get_name().to_string())
                .collect()
        };
        assert_eq!(
            offered("protocol-version"),
            [
                "5", "mqttv5", "3.1.1", "311", "mqttv311", "3.1", "31", "mqttv31"
            ]
        );
        assert_eq!(offered("payload-format"), ["utf8"]);
        let cli = Cli::try_parse_from(["mqtt-send", "-V", "311"]).unwrap();
        assert_eq!(cli.protocol_version, Some(Version::V311));
        let refused = Cli::try_parse_from(["mqtt-send", "-V", "3.2"]).unwrap_err();
        assert_eq!(refused.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn help_names_the_config_key_and_the_default() {
        let command = command();
        let broker = command
            .get_arguments()
            .find(|arg| arg.get_long() == Some("broker"))
            .unwrap();
        assert_eq!(
            broker.get_help().unwrap().to_string(),
            "Broker URL: tcp:// mqtt:// (1883), ssl:// mqtts:// tls:// (8883), ws:// (80) and \
             wss:// (443) with a path (/mqtt by default), unix:///PATH, or host[:port] \
             [config: broker] [default: tcp://localhost:1883]"
        );
    }
}
