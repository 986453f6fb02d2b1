//! Running mqtt-send: a clean environment every time, and the checks every run must pass.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Passwords the tests use. No run may ever print one, on stdout or stderr.
pub const SECRETS: &[&str] = &[
    "pw-flag-9f2c",
    "pw-env-71ab",
    "pw-file-33de",
    "pw-config-5e10",
    "pw-wrong-0c4d",
    "pw-dash-8e1f",
    "pw-stray-2b7d",
    "pw-url-6c0a",
    "pw-proxy-4a7e",
    "pw-proxy-wrong-19c2",
    "aws-secret-5d1c",
    "aws-token-8b3f",
    "aws-wrong-secret-77e0",
    "authz-token-2c9a",
];

/// The binary under test, with an empty environment so a developer's own MQTT_SEND_PASSWORD
/// (or anything else) cannot leak into a test.
pub fn mqtt_send() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mqtt-send"));
    command.env_clear();
    command
}

/// The usual test publish: message "x" to topic "t" on `broker`.
pub fn mqtt_send_to(broker: &str) -> Command {
    let mut command = mqtt_send();
    command.args(["-b", broker, "-t", "t", "-m", "x"]);
    command
}

/// What a user sees of one run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub meta: Value,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn message(&self) -> &str {
        self.meta["message"].as_str().unwrap_or_default()
    }

    /// Assert the exit status, showing everything the run printed if it differs.
    pub fn expect(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit status; run: {self:#?}");
        self
    }

    /// Assert how long the run took.
    pub fn took(&self, range: impl std::ops::RangeBounds<Duration> + std::fmt::Debug) -> &Self {
        assert!(
            range.contains(&self.elapsed),
            "took {:?}, expected {range:?}; run: {self:#?}",
            self.elapsed
        );
        self
    }

    pub fn expect_message(&self, needle: &str) -> &Self {
        assert!(
            self.message().contains(needle),
            "meta message lacks {needle:?}; run: {self:#?}"
        );
        self
    }
}

pub fn run(command: &mut Command) -> Run {
    run_with_stdin(command, None)
}

pub fn run_with_stdin(command: &mut Command, stdin: Option<&[u8]>) -> Run {
    let started = Instant::now();
    let mut child = spawn(command, stdin.is_some());
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(bytes).expect("write stdin");
    }
    finish(child, started)
}

/// Like [`run`], but a run that has not ended after `limit` is killed and the test fails: for
/// inputs that used to hang or eat memory.
#[track_caller]
pub fn run_within(command: &mut Command, limit: Duration) -> Run {
    let started = Instant::now();
    let mut child = spawn(command, false);
    while child
        .try_wait()
        .expect("mqtt-send can be waited for")
        .is_none()
    {
        if started.elapsed() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().expect("mqtt-send finishes");
            panic!(
                "mqtt-send still ran after {limit:?}; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    finish(child, started)
}

/// Start the run, write `bytes` to its stdin and keep the pipe open (the input never ends)
/// until the run has ended.
pub fn run_with_open_stdin(command: &mut Command, bytes: &[u8]) -> Run {
    let started = Instant::now();
    let mut child = spawn(command, true);
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(bytes).expect("write stdin");
    let run = finish(child, started);
    drop(stdin);
    run
}

/// Start the run, send it `signal` (e.g. "INT", "TERM") after `after`, and collect what it did.
/// Its stdin is a pipe that stays open (and empty) until the run ends.
pub fn run_and_signal(command: &mut Command, signal: &str, after: Duration) -> Run {
    let started = Instant::now();
    let mut child = spawn(command, true);
    let stdin = child.stdin.take();
    std::thread::sleep(after);
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} failed");
    let run = finish(child, started);
    drop(stdin);
    run
}

/// Start mqtt-send with stdout and stderr piped (collect them with `wait_with_output`).
pub fn spawn(command: &mut Command, piped_stdin: bool) -> Child {
    command
        .stdin(if piped_stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mqtt-send starts")
}

/// Wait for the run and check what every run must satisfy.
fn finish(child: Child, started: Instant) -> Run {
    let output = child.wait_with_output().expect("mqtt-send finishes");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let code = output
        .status
        .code()
        .expect("exited, not killed by a signal");

    // Exactly one line on stdout: the meta object, whose exit-code is the process status.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stdout must be one meta line; stdout={stdout:?} stderr={stderr:?}"
    );
    let meta: Value = serde_json::from_str(lines[0]).expect("stdout is JSON");
    assert!(meta.is_object(), "meta is an object: {meta}");
    assert_eq!(
        meta["exit-code"].as_i64(),
        Some(i64::from(code)),
        "meta exit-code = status; {meta}"
    );
    assert!(meta["message"].is_string(), "meta has a message: {meta}");
    for secret in SECRETS {
        assert!(
            !stdout.contains(secret),
            "stdout shows a password: {stdout}"
        );
        assert!(
            !stderr.contains(secret),
            "stderr shows a password: {stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "mqtt-send panicked: {stderr}");
    Run {
        code,
        meta,
        stdout,
        stderr,
        elapsed,
    }
}
