//! The command line, as clap sees it. Only the shape of the arguments lives here (no I/O), so
//! completions and the man page can be generated from it. Values are checked in `config`,
//! where flag, environment and config file meet.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

const EXAMPLES: &str = "\
Examples:
  mqtt-send -t sensors/room1 -m '{\"temp\":21.5}'
  mqtt-send -c connector.json -m '{\"state\":{\"reported\":{\"on\":true}}}'
  MQTT_SEND_PASSWORD=secret mqtt-send -b tcp://broker:1883 -u alice -t jobs/done -m ok -q 1
  mqtt-send -t logs/raw -f payload.bin

Exit status: 0 published (acknowledged), 2 usage/config, 3 could not connect, 4 TLS,
5 refused by the broker, 6 timed out, 7 publish dropped by the broker, 1 internal error.
One JSON meta object ({\"exit-code\":N,\"message\":...}) is printed on stdout.";

const DESCRIPTION: &str = "\
Publish an MQTT message, wait for the broker's acknowledgement, and report it as JSON.

mqtt-send connects to an MQTT 3.1.1 broker (plain TCP or TLS, with a username and password or a \
client certificate), publishes the message, waits for the broker's acknowledgement (PUBACK for \
QoS 1, PUBCOMP for QoS 2), disconnects cleanly, prints one JSON meta object on stdout and exits \
with the status that object names. One --timeout covers the whole run. The connection can come \
from a Flint-style JSON config file (-c); flags override it. With --lines or --ndjson every \
line of the input is one message, over one connection.";

/// Publish an MQTT message, wait for the broker's acknowledgement, and report it as JSON.
#[derive(Debug, Default, Parser)]
#[command(name = "mqtt-send", version, long_about = DESCRIPTION, after_long_help = EXAMPLES)]
pub struct Cli {
    /// Flint-style JSON config file (keys: broker, client-id, topic, qos, content, ...)
    #[arg(short = 'c', long, value_name = "FILE", help_heading = "Connection")]
    pub config: Option<PathBuf>,

    /// Broker URL: tcp:// mqtt:// (1883), ssl:// mqtts:// tls:// (8883), or host[:port]
    /// [config: broker] [default: tcp://localhost:1883]
    #[arg(short = 'b', long, value_name = "URL", help_heading = "Connection")]
    pub broker: Option<String>,

    /// MQTT client identifier [config: client-id] [default: mqtt-send-<8 random hex digits>]
    #[arg(short = 'i', long, value_name = "ID", help_heading = "Connection")]
    pub client_id: Option<String>,

    /// Topic to publish to (no + or #) [config: topic]
    #[arg(short = 't', long, value_name = "TOPIC", help_heading = "Message")]
    pub topic: Option<String>,

    /// Quality of service: 0, 1 or 2 [config: qos] [default: 2]
    #[arg(
        short = 'q',
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Message"
    )]
    pub qos: Option<String>,

    /// The message [config: content]
    #[arg(
        short = 'm',
        long,
        value_name = "TEXT",
        conflicts_with = "content_file",
        help_heading = "Message"
    )]
    pub content: Option<OsString>,

    /// Read the message from a file, byte for byte; - reads stdin
    #[arg(short = 'f', long, value_name = "PATH", help_heading = "Message")]
    pub content_file: Option<PathBuf>,

    /// Ask the broker to retain the message [config: retain] [default: false]
    #[arg(short = 'r', long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          help_heading = "Message")]
    pub retain: Option<bool>,

    /// Username [config: username]
    #[arg(
        short = 'u',
        long,
        value_name = "NAME",
        help_heading = "Authentication"
    )]
    pub username: Option<String>,

    /// Password; visible to ps, prefer MQTT_SEND_PASSWORD or --password-file [config: password]
    #[arg(
        short = 'P',
        long,
        value_name = "PASS",
        conflicts_with = "password_file",
        help_heading = "Authentication"
    )]
    pub password: Option<String>,

    /// Read the password from the first line of a file
    #[arg(long, value_name = "PATH", help_heading = "Authentication")]
    pub password_file: Option<PathBuf>,

    /// PEM CA bundle that signs the broker's certificate [config: root-ca-crt]
    /// [default: system trust store]
    #[arg(long, value_name = "PATH", help_heading = "TLS")]
    pub root_ca_crt: Option<PathBuf>,

    /// PEM client certificate (chain) [config: certificate]
    #[arg(long, value_name = "PATH", help_heading = "TLS")]
    pub certificate: Option<PathBuf>,

    /// PEM private key: PKCS#1, PKCS#8 or SEC1 [config: private-key]
    #[arg(long, value_name = "PATH", help_heading = "TLS")]
    pub private_key: Option<PathBuf>,

    /// Authenticate with the client certificate [config: use-certificate] [default: false]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          help_heading = "TLS")]
    pub use_certificate: Option<bool>,

    /// ALPN protocol to offer, repeatable [config: alpn]
    /// [default on port 443 with a client certificate: x-amzn-mqtt-ca]
    #[arg(long, value_name = "PROTO", help_heading = "TLS")]
    pub alpn: Vec<String>,

    /// One deadline for the whole run, in seconds [config: timeout] [default: 30]
    #[arg(
        long,
        value_name = "SECONDS",
        allow_negative_numbers = true,
        help_heading = "Behaviour"
    )]
    pub timeout: Option<String>,

    /// Retry connection failures where nothing was published [config: retries] [default: 0]
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Behaviour"
    )]
    pub retries: Option<String>,

    /// Batch: every line of the content is one message to --topic, over one connection; empty
    /// lines are skipped [config: lines]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          help_heading = "Behaviour")]
    pub lines: Option<bool>,

    /// Batch: every line is {"topic","content","qos","retain"}; missing fields come from the
    /// flags; empty lines are skipped [config: ndjson]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          help_heading = "Behaviour")]
    pub ndjson: Option<bool>,

    /// Log protocol events and decisions on stderr (never a secret)
    #[arg(short = 'v', long, help_heading = "Behaviour")]
    pub verbose: bool,

    /// Write the shell completions and the man page under DIR (for packagers and developers)
    #[arg(long, value_name = "DIR", hide = true)]
    pub generate: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
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
    fn content_and_content_file_conflict() {
        assert!(Cli::try_parse_from(["mqtt-send", "-m", "x", "-f", "y"]).is_err());
        assert!(Cli::try_parse_from(["mqtt-send", "-P", "x", "--password-file", "y"]).is_err());
    }
}
