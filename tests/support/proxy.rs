//! A real HTTP proxy, tinyproxy, started per test on a free port with its own config file
//! (`Allow`, `BasicAuth`, `ConnectPort` as the test asks), killed on drop.

use std::fs;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::broker::free_port;

pub struct Tinyproxy {
    child: Child,
    pub port: u16,
    dir: TempDir,
}

impl Tinyproxy {
    /// A proxy for 127.0.0.1 with `settings` added to its config (e.g. `BasicAuth user pass`,
    /// `ConnectPort 443`; without a ConnectPort line tinyproxy allows CONNECT to every port).
    pub fn start(settings: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let log = dir.path().join("tinyproxy.log");
            let config = dir.path().join("tinyproxy.conf");
            fs::write(
                &config,
                format!(
                    "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\nLogFile \"{}\"\n\
                     LogLevel Connect\nAllow 127.0.0.1\n{settings}\n",
                    log.display()
                ),
            )
            .expect("write tinyproxy.conf");
            let mut child = Command::new("tinyproxy")
                .arg("-d")
                .arg("-c")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("tinyproxy is installed (scripts/test installs it)");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Tinyproxy { child, port, dir };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("tinyproxy did not start; its log:\n{last_log}");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the proxy logged (each CONNECT it was asked for).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("tinyproxy.log")).unwrap_or_default()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
