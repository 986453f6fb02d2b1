//! A real HTTP proxy, tinyproxy, started per test on a free port with its own config file
//! (`Allow`, `BasicAuth`, `ConnectPort` as the test asks), killed on drop.

use std::fs;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

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
            if super::listening(&mut child, port) {
                return Tinyproxy { child, port, dir };
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

/// A scripted CONNECT proxy that records each CONNECT's target and tunnels every one of them to
/// `127.0.0.1:port`, whatever it names: a broker URL can then say port 443 (where mqtt-send
/// decides on ALPN) while the server listens on a free port.
pub struct Forwarder {
    pub port: u16,
    targets: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Forwarder {
    pub fn to(port: u16) -> Self {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let own = listener.local_addr().expect("address").port();
        let targets = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = std::sync::Arc::clone(&targets);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                let record = std::sync::Arc::clone(&record);
                std::thread::spawn(move || {
                    let head = super::ws::read_request_from(&mut client);
                    let target = head.split(' ').nth(1).unwrap_or_default().to_string();
                    record.lock().unwrap().push(target);
                    let Ok(upstream) = TcpStream::connect(("127.0.0.1", port)) else {
                        return;
                    };
                    if client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                    let pipe = |mut from: TcpStream, mut to: TcpStream| {
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut from, &mut to);
                            let _ = to.shutdown(std::net::Shutdown::Write);
                        })
                    };
                    let up = pipe(client.try_clone().unwrap(), upstream.try_clone().unwrap());
                    let down = pipe(upstream, client);
                    let _ = (up.join(), down.join());
                });
            }
        });
        Forwarder { port: own, targets }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The targets of the CONNECTs received so far.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}
