//! A real mosquitto, started per test on a free port with its own config file, killed on drop.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use tempfile::TempDir;

use super::certs::Pair;

pub struct Mosquitto {
    child: Child,
    /// The listener under test.
    pub port: u16,
    /// A plain anonymous listener on the same broker, for a test subscriber to watch from.
    pub observer: u16,
    pub dir: TempDir,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Mosquitto {
    /// An anonymous plain-TCP broker.
    pub fn start() -> Self {
        Self::with_listener("allow_anonymous true\n", |_| {})
    }

    /// A broker that wants `user`/`password` (a mosquitto password_file).
    pub fn with_password(user: &str, password: &str) -> Self {
        Self::with_listener(
            "allow_anonymous false\npassword_file {dir}/passwd\n",
            |dir| {
                let file = dir.join("passwd");
                let status = Command::new("mosquitto_passwd")
                    .args(["-b", "-c"])
                    .arg(&file)
                    .args([user, password])
                    .status()
                    .expect("mosquitto_passwd runs");
                assert!(status.success(), "mosquitto_passwd failed");
            },
        )
    }

    /// A broker whose listener gets `settings` (with `{dir}` replaced by its folder); `prepare`
    /// writes whatever files those settings name.
    pub fn with_listener(settings: &str, prepare: impl Fn(&Path)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        prepare(dir.path());
        let settings = settings.replace("{dir}", &dir.path().display().to_string());
        // A port can be taken between our probe and mosquitto's bind: try a few.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let observer = free_port();
            let config = dir.path().join("mosquitto.conf");
            let log = dir.path().join("mosquitto.log");
            fs::write(
                &config,
                format!(
                    "user root\npersistence false\nlog_dest file {log}\nlog_type all\n\
                     per_listener_settings true\nlistener {port} 127.0.0.1\n{settings}\n\
                     listener {observer} 127.0.0.1\nallow_anonymous true\n",
                    log = log.display()
                ),
            )
            .expect("write mosquitto.conf");
            let mut child = Command::new("mosquitto")
                .arg("-c")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("mosquitto is installed (scripts/test installs it)");
            // mosquitto opens its listeners in the config's order, all before it serves any:
            // once the observer (the last) accepts, both do. (Probing the first one let a
            // subscriber reach the observer before it was listening.)
            if super::listening(&mut child, observer) {
                return Mosquitto {
                    child,
                    port,
                    observer,
                    dir,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("mosquitto did not start; its log:\n{last_log}");
    }

    pub fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// A TLS listener with `server`'s certificate; `extra` adds settings (e.g.
    /// `require_certificate true`). Clients are checked against `ca`.
    pub fn with_tls(ca: &Path, server: &Pair, extra: &str) -> Self {
        let settings = format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n{extra}\n",
            ca.display(),
            server.cert.display(),
            server.key.display()
        );
        Self::with_listener(&settings, |_| {})
    }

    /// `ssl://localhost:PORT`, matching a server certificate for `localhost`.
    pub fn tls_url(&self) -> String {
        format!("ssl://localhost:{}", self.port)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("mosquitto.log")
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// TCP connections the broker has seen, not counting the fixture's own readiness probe.
    pub fn connections(&self) -> usize {
        self.log()
            .matches("New connection from")
            .count()
            .saturating_sub(1)
    }

    /// Stop the broker now (for tests of a broker that goes away).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}
