//! mqtt-send as a drop-in for mosquitto_pub: the same command line, run once as
//! `mosquitto_pub …` and once as `mqtt-send …` against the same real mosquitto, must deliver the
//! same messages (topic, bytes, QoS, retain flag, MQTT 5 properties) to a subscriber. And the
//! mosquitto_pub options mqtt-send does not take are refused by name, never ignored.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::certs::{Ca, KeyFormat};
use crate::support::cmd::{SECRETS, spawn};
use crate::support::subscriber5::{Message, Subscriber5};
use crate::support::{Mosquitto, Subscriber, mqtt_send, run, run_with_stdin};

const PASSWORD: &str = SECRETS[0];

/// One mosquitto_pub command line (`{…}` filled in by [`Setup::fill`]; `{t}` is the row's own
/// topic), what it reads on stdin, and how many messages it publishes.
struct Row {
    args: &'static str,
    stdin: Option<&'static [u8]>,
    messages: usize,
}

const fn row(args: &'static str, messages: usize) -> Row {
    Row {
        args,
        stdin: None,
        messages,
    }
}

const fn piped(args: &'static str, stdin: &'static [u8], messages: usize) -> Row {
    Row {
        args,
        stdin: Some(stdin),
        messages,
    }
}

/// Every option of the issue's list, in short and long form, with TLS, client certificates,
/// MQTT 5 properties and the stdin forms. Each names its QoS: the defaults differ (see
/// `the_defaults_that_differ_are_the_documented_ones`).
const ROWS: &[Row] = &[
    row("-p {port} -t {t} -m hello -q 1", 1),
    row("-p {port} -t {t} -m hello -q 2", 1),
    row("-p {port} -t {t} -m hello -q 0", 1),
    row("--port {port} --topic {t} --message long-forms --qos 1", 1),
    row("-h localhost -p {port} -t {t} -m by-name -q 1", 1),
    row("--host 127.0.0.1 -p {port} -t {t} -m by-address -q 2", 1),
    row("-p {port} -t {t} -f {file} -q 1", 1),
    row("-p {port} -t {t} --file {file} -q 2", 1),
    piped("-p {port} -t {t} -s -q 1", b"all of\nstdin\n", 1),
    piped("-p {port} -t {t} --stdin-file -q 2", b"\x00\xffbinary", 1),
    piped("-p {port} -t {t} -l -q 1", b"one\ntwo\nthree\n", 3),
    piped("-p {port} -t {t} --stdin-line -q 2", b"a\n\nb\r\nlast", 4),
    row("-p {port} -t {t} -n -q 1", 1),
    row("-p {port} -t {t} --null-message -r -q 1", 1),
    row("-p {port} -t {t} -m kept -r -q 1", 1),
    row("-p {port} -t {t} -m kept --retain -q 2", 1),
    row("-p {port} -t {t} -m id -i fixed-id -q 1", 1),
    row("-p {port} -t {t} -m id --id fixed-id-2 -q 1", 1),
    row("-p {port} -t {t} -m prefix -I mp- -q 1", 1),
    row("-p {port} -t {t} -m prefix --id-prefix mp- -q 2", 1),
    row("-p {port} -t {t} -m alive -k 30 -q 1", 1),
    row("-p {port} -t {t} -m alive --keepalive 5 -q 1", 1),
    row("-p {port} -t {t} -m v311 -V mqttv311 -q 2", 1),
    row("-p {port} -t {t} -m v5 -V mqttv5 -q 2", 1),
    row("-p {port} -t {t} -m v5 --protocol-version 5 -q 1", 1),
    row("-p {port} -t {t} -m v31 -V mqttv31 -q 2", 1),
    row(
        "-p {pw} -t {t} -m v31 -V mqttv31 -q 1 -u alice -P {password} --will-topic {t}/will",
        1,
    ),
    row(
        "-p {port} -t {t} -m props -V mqttv5 -q 1 -D publish user-property k1 v1 \
         -D publish user-property k1 v2 -D publish content-type text/plain",
        1,
    ),
    row(
        "-p {port} -t {t} -m props -V mqttv5 -q 2 --property publish response-topic mp/reply \
         --property publish correlation-data abc -D publish message-expiry-interval 60 \
         -D publish payload-format-indicator 1",
        1,
    ),
    row(
        "-p {port} -t {t} -m session -V mqttv5 -q 1 -x 30 -D connect user-property who test \
         -D connect receive-maximum 10 -D disconnect reason-string bye",
        1,
    ),
    row(
        "-p {port} -t {t} -m session -V mqttv5 -q 1 -x 0 \
         -D connect maximum-packet-size 100000 -D disconnect user-property why done",
        1,
    ),
    row("-p {pw} -t {t} -m login -u alice -P {password} -q 1", 1),
    row(
        "-p {pw} -t {t} -m login --username alice --pw {password} -q 2",
        1,
    ),
    row("-L mqtt://localhost:{port}/{t} -m url -q 1", 1),
    row(
        "--url mqtt://alice@localhost:{pw}/{t} -P {password} -m url -q 1",
        1,
    ),
    row("--cafile {ca} -h localhost -p {tls} -t {t} -m tls -q 1", 1),
    row(
        "--capath {capath} -h localhost -p {tls} -t {t} -m capath -q 2",
        1,
    ),
    row(
        "--cafile {ca} --tls-version tlsv1.2 -h localhost -p {tls} -t {t} -m tls12 -q 1",
        1,
    ),
    row(
        "--cafile {ca} --tls-version tlsv1.3 --tls-alpn mqtt -h localhost -p {tls} -t {t} \
         -m tls13 -q 1",
        1,
    ),
    row(
        "--cafile {ca} --cert {cert} --key {key} -h localhost -p {mtls} -t {t} -m mtls -q 1",
        1,
    ),
    row(
        "-L mqtts://localhost:{mtls}/{t} --cafile {ca} --cert {cert} --key {key} -m mtls -q 2",
        1,
    ),
    // mqtt:// with a CA is TLS, as with -h and -p.
    row(
        "-L mqtt://localhost:{tls}/{t} --cafile {ca} -m tls-url -q 1",
        1,
    ),
    row("-p {port} -t {t} -m again --repeat 3 -q 1", 3),
    row(
        "-p {port} -t {t} -m again --repeat 2 --repeat-delay 0.2 -q 2",
        2,
    ),
    row(
        "-p {port} -t {t} -m will --will-topic {t}/will --will-payload gone --will-qos 1 \
         --will-retain -q 1",
        1,
    ),
    row("-p {port} -t {t} -m debug -d -q 1", 1),
    row("-p {port} -t {t} -m debug --debug -q 1", 1),
    row("-p {port} -t {t} -m quiet --quiet -q 1", 1),
    row("-p {port} -t {t} -m nodelay --nodelay -q 1", 1),
    row("--unix {sock} -t {t} -m socket -q 1", 1),
    row("--unix {sock} -t {t} -m socket -q 2 -V mqttv311", 1),
];

/// One mosquitto with every listener the rows need, a subscriber on its observer listener,
/// and the files the rows name.
struct Setup {
    broker: Mosquitto,
    subscriber: Subscriber5,
    pw: u16,
    tls: u16,
    mtls: u16,
    ca: String,
    capath: String,
    cert: String,
    key: String,
    file: String,
    _dir: tempfile::TempDir,
}

impl Setup {
    fn start() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(dir.path(), "ca");
        let server = ca.server("server", &["localhost", "127.0.0.1"]);
        let client = ca.client("client", "alice", KeyFormat::EcPkcs8);
        // --capath: OpenSSL looks certificates up by their subject hash.
        let capath = dir.path().join("capath");
        fs::create_dir(&capath).unwrap();
        let hash = Command::new("openssl")
            .args(["x509", "-hash", "-noout", "-in"])
            .arg(&ca.pem)
            .output()
            .expect("openssl runs");
        let hash = String::from_utf8(hash.stdout).unwrap();
        fs::copy(&ca.pem, capath.join(format!("{}.0", hash.trim()))).unwrap();
        let file = dir.path().join("payload.bin");
        fs::write(&file, b"file \x00 bytes\n\xfe").unwrap();

        let (pw, tls, mtls) = (free(), free(), free());
        let tls_files = format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            ca.pem.display(),
            server.cert.display(),
            server.key.display()
        );
        let settings = format!(
            "allow_anonymous true\n\
             listener {pw} 127.0.0.1\nallow_anonymous false\npassword_file {{dir}}/passwd\n\
             listener {tls} 127.0.0.1\nallow_anonymous true\n{tls_files}\
             listener {mtls} 127.0.0.1\nallow_anonymous true\n{tls_files}\
             require_certificate true\nuse_identity_as_username true\n\
             listener 0 {{dir}}/mqtt.sock\nallow_anonymous true\n"
        );
        let broker = Mosquitto::with_listener(&settings, |dir| {
            let status = Command::new("mosquitto_passwd")
                .args(["-b", "-c"])
                .arg(dir.join("passwd"))
                .args(["alice", PASSWORD])
                .status()
                .expect("mosquitto_passwd runs");
            assert!(status.success());
        });
        let subscriber = Subscriber5::connect(broker.observer, "mp/#");
        let text = |path: &Path| path.display().to_string();
        Setup {
            subscriber,
            pw,
            tls,
            mtls,
            ca: text(&ca.pem),
            capath: text(&capath),
            cert: text(&client.cert),
            key: text(&client.key),
            file: text(&file),
            broker,
            _dir: dir,
        }
    }

    /// The row's words with every `{…}` filled in.
    fn fill(&self, args: &str, topic: &str) -> Vec<String> {
        args.replace("{t}", topic)
            .replace("{port}", &self.broker.port.to_string())
            .replace("{pw}", &self.pw.to_string())
            .replace("{tls}", &self.tls.to_string())
            .replace("{mtls}", &self.mtls.to_string())
            .replace("{ca}", &self.ca)
            .replace("{capath}", &self.capath)
            .replace("{cert}", &self.cert)
            .replace("{key}", &self.key)
            .replace("{file}", &self.file)
            .replace(
                "{sock}",
                &self
                    .broker
                    .dir
                    .path()
                    .join("mqtt.sock")
                    .display()
                    .to_string(),
            )
            .replace("{password}", PASSWORD)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    /// What the subscriber received of `count` messages (and anything more that came).
    fn received(&mut self, count: usize) -> Vec<Message> {
        self.subscriber.take(count, Duration::from_millis(100))
    }
}

fn free() -> u16 {
    crate::support::broker::free_port()
}

/// Run mosquitto_pub itself; it must succeed.
fn mosquitto_pub(args: &[String], stdin: Option<&[u8]>) {
    let mut command = Command::new("mosquitto_pub");
    command.args(args);
    let output = feed(spawn(&mut command, stdin.is_some()), stdin);
    assert!(
        output.status.success(),
        "mosquitto_pub {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Run mqtt-send with the same words; it must succeed, and say so (unless told to be quiet).
fn mqtt_send_as(args: &[String], stdin: Option<&[u8]>) {
    let mut command = mqtt_send();
    command.args(args);
    if args.iter().any(|arg| arg == "--quiet") {
        let child = spawn(&mut command, stdin.is_some());
        let output = feed(child, stdin);
        assert_eq!(output.status.code(), Some(0), "mqtt-send {args:?}");
        assert!(
            output.stdout.is_empty() && output.stderr.is_empty(),
            "--quiet prints nothing: {output:?}"
        );
        return;
    }
    let outcome = run_with_stdin(&mut command, stdin);
    assert_eq!(outcome.code, 0, "mqtt-send {args:?}: {outcome:#?}");
}

fn feed(mut child: std::process::Child, stdin: Option<&[u8]>) -> std::process::Output {
    if let Some(bytes) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

#[test]
fn each_mosquitto_pub_command_line_delivers_the_same_messages_as_mqtt_send() {
    assert!(ROWS.len() >= 25);
    let mut setup = Setup::start();
    for (index, row) in ROWS.iter().enumerate() {
        let topic = format!("mp/{index}");
        let args = setup.fill(row.args, &topic);
        mosquitto_pub(&args, row.stdin);
        let theirs = setup.received(row.messages);
        mqtt_send_as(&args, row.stdin);
        let ours = setup.received(row.messages);
        assert_eq!(
            theirs.len(),
            row.messages,
            "mosquitto_pub {}: {theirs:#?}",
            row.args
        );
        assert_eq!(
            ours, theirs,
            "mqtt-send {} delivered otherwise than mosquitto_pub",
            row.args
        );
        assert!(theirs.iter().all(|message| message.topic == topic));
    }
}

#[test]
fn the_defaults_that_differ_are_the_documented_ones() {
    // Without -q, mosquitto_pub publishes at QoS 0 and mqtt-send at QoS 2 (it waits for the
    // broker's PUBCOMP); everything else arrives the same.
    let mut setup = Setup::start();
    let args = setup.fill("-p {port} -t {t} -m default", "mp/default");
    mosquitto_pub(&args, None);
    let theirs = setup.received(1);
    mqtt_send_as(&args, None);
    let ours = setup.received(1);
    assert_eq!((theirs.len(), ours.len()), (1, 1));
    assert_eq!((theirs[0].qos, ours[0].qos), (0, 2));
    assert_eq!(
        Message {
            qos: 0,
            ..ours[0].clone()
        },
        theirs[0]
    );
}

#[test]
fn a_killed_publisher_leaves_its_will_behind() {
    let broker = Mosquitto::start();
    let mut subscriber = Subscriber5::connect(broker.observer, "mp/#");
    let port = broker.port.to_string();
    let args = [
        "-p",
        &port,
        "-t",
        "mp/line",
        "-l",
        "-q",
        "1",
        "--will-topic",
        "mp/will",
        "--will-payload",
        "gone",
        "--will-qos",
        "1",
    ];
    let mut wills = Vec::new();
    for program in ["mosquitto_pub", env!("CARGO_BIN_EXE_mqtt-send")] {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        use std::io::Write;
        stdin.write_all(b"first\n").unwrap();
        stdin.flush().unwrap();
        // Connected and publishing: the first line arrived.
        let first = subscriber
            .next(Duration::from_secs(5))
            .expect("the first line");
        assert_eq!(
            (first.topic.as_str(), &first.payload[..]),
            ("mp/line", &b"first"[..])
        );
        child.kill().unwrap();
        child.wait().unwrap();
        drop(stdin);
        let will = subscriber.next(Duration::from_secs(5)).expect("the will");
        wills.push((will.topic, will.payload, will.qos));
    }
    assert_eq!(wills[0], ("mp/will".to_string(), b"gone".to_vec(), 1));
    assert_eq!(wills[1], wills[0]);
}

#[test]
fn mosquitto_pub_options_mqtt_send_does_not_take_are_refused_by_name() {
    let cases: &[(&[&str], &str, &str)] = &[
        (&["--insecure"], "--insecure", "--cafile"),
        (&["-A", "127.0.0.1"], "-A", "bind address"),
        (&["-M", "10"], "-M", "Receive Maximum"),
        (&["--ciphers", "HIGH"], "--ciphers", "--tls-version"),
        (
            &["--psk", "deadbeef", "--psk-identity", "me"],
            "--psk",
            "certificates",
        ),
        (&["--tls-engine", "pkcs11"], "--tls-engine", "--key"),
        (&["--keyform", "engine"], "--keyform", "--key"),
        (
            &["--disable-clean-session"],
            "--disable-clean-session",
            "-x",
        ),
    ];
    for (extra, flag, instead) in cases {
        let mut command = mqtt_send();
        command.args(["-p", "1", "-t", "t", "-m", "x"]).args(*extra);
        let outcome = run(&mut command);
        outcome
            .expect(2)
            .expect_message(&format!("{flag} (a mosquitto_pub option) is not supported"))
            .expect_message(instead);
    }
}

#[test]
fn a_url_with_a_password_is_refused_without_showing_it() {
    let url = format!("mqtt://alice:{}@localhost/t", SECRETS[7]);
    let outcome = run(mqtt_send().args(["-L", &url, "-m", "x"]));
    outcome
        .expect(2)
        .expect_message("--url: the URL holds a password")
        .expect_message("MQTT_SEND_PASSWORD");
}

#[test]
fn a_will_option_without_a_will_topic_is_a_usage_error() {
    let outcome = run(mqtt_send().args(["-t", "t", "-m", "x", "--will-payload", "gone"]));
    outcome
        .expect(2)
        .expect_message("--will-payload sets the will, which needs a topic");
}

#[test]
fn d_properties_name_what_is_wrong() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["-D", "publish", "topic-alias", "1"],
            "does not use topic aliases",
        ),
        (
            &["-D", "connect", "authentication-method", "SCRAM"],
            "extended authentication",
        ),
        (
            &["-D", "publish", "session-expiry-interval", "5"],
            "publish takes the properties payload-format-indicator",
        ),
        (
            &["-D", "subscribe", "user-property", "a"],
            "connect, publish, will or disconnect",
        ),
        (
            &["-D", "connect", "receive-maximum", "0"],
            "a whole number up to 65535",
        ),
    ];
    for (extra, words) in cases {
        let outcome = run(mqtt_send().args(["-t", "t", "-m", "x"]).args(*extra));
        outcome.expect(2).expect_message(words);
    }
    let outcome = run(mqtt_send().args([
        "-t",
        "t",
        "-m",
        "x",
        "-V",
        "3.1.1",
        "-D",
        "publish",
        "content-type",
        "a/b",
    ]));
    outcome
        .expect(2)
        .expect_message("-D publish content-type needs MQTT 5");
}

#[test]
fn an_empty_stdin_with_s_is_refused_as_mosquitto_pub_refuses_it() {
    // mosquitto_pub -s says "Zero length input" and publishes nothing; an empty message with
    // -r would have cleared the topic's retained message.
    let broker = Mosquitto::start();
    let port = broker.port.to_string();
    mosquitto_pub(
        &["-p", &port, "-t", "mp/kept", "-m", "keep", "-r", "-q", "1"].map(String::from),
        None,
    );
    let args = ["-p", &port, "-t", "mp/kept", "-s", "-r", "-q", "1"];
    let theirs = feed(
        spawn(Command::new("mosquitto_pub").args(args), true),
        Some(b""),
    );
    assert!(!theirs.status.success(), "{theirs:?}");
    let ours = run_with_stdin(mqtt_send().args(args), Some(b""));
    ours.expect(2).expect_message("stdin is empty");
    let kept = Subscriber::connect(broker.observer, &["mp/kept"]).expect_message();
    assert_eq!((kept.payload.as_slice(), kept.retain), (&b"keep"[..], true));
    // -f - sends what stdin holds, nothing included, and -n the empty message.
    run_with_stdin(
        mqtt_send().args(["-p", &port, "-t", "mp/e", "-f", "-"]),
        Some(b""),
    )
    .expect(0);
}

#[test]
fn unix_with_a_broker_url_on_the_command_line_is_refused_and_over_the_configs_it_rules() {
    let broker =
        Mosquitto::with_listener("listener 0 {dir}/mqtt.sock\nallow_anonymous true\n", |_| {});
    let socket = broker.dir.path().join("mqtt.sock");
    let socket = socket.to_str().unwrap();
    // Two places to connect to on one command line: one of them was silently ignored.
    let unreachable = "tcp://127.0.0.1:1";
    let both =
        run(mqtt_send().args(["-b", unreachable, "--unix", socket, "-t", "mp/u", "-m", "x"]));
    both.expect(2)
        .expect_message("cannot be used with")
        .expect_message("--unix");
    // A config file's broker is overridden by --unix, as by -b.
    let config = broker.dir.path().join("unix.json");
    fs::write(&config, format!(r#"{{"broker":"{unreachable}"}}"#)).unwrap();
    let config = config.to_str().unwrap();
    let ours = run(mqtt_send().args(["-c", config, "--unix", socket, "-t", "mp/u", "-m", "x"]));
    ours.expect(0);
    assert_eq!(ours.meta["broker"], format!("unix://{socket}"));
    // mosquitto_pub speaks TLS over the socket when given a CA; mqtt-send does not, and says so
    // rather than publishing in the clear.
    let ca = broker.dir.path().join("mosquitto.conf");
    let tls = run(mqtt_send()
        .args(["--unix", socket, "--cafile"])
        .arg(&ca)
        .args(["-t", "mp/u", "-m", "x"]));
    tls.expect(2).expect_message("--unix").expect_message("TLS");
}

#[test]
fn a_will_payload_longer_than_mqtt_carries_is_a_usage_error() {
    // Its length did not fit CONNECT's two bytes: the broker got a malformed CONNECT and closed
    // the connection (exit 3, "wrong port, or a TLS port"), after a second try with 3.1.1.
    let broker = Mosquitto::start();
    let long = "w".repeat(70_000);
    let port = broker.port.to_string();
    let args = [
        "-p",
        &port,
        "-t",
        "mp/w",
        "-m",
        "x",
        "--will-topic",
        "mp/will",
    ];
    let run = run(mqtt_send().args(args).args(["--will-payload", &long]));
    run.expect(2).expect_message(
        "--will-payload: the will's message is 70000 bytes; MQTT allows at most 65535",
    );
    assert!(
        !run.stdout.contains(&long[..100]),
        "the payload is not echoed"
    );
}
