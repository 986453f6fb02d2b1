//! Test helpers: the command under test, a real mosquitto, a subscriber, misbehaving servers.

#![allow(dead_code)] // each test module uses a different part of the kit

pub mod broker;
pub mod certs;
pub mod cmd;
pub mod codec;
pub mod fault;
pub mod fault5;
pub mod proxy;
pub mod responder;
pub mod servers;
pub mod shadow;
pub mod subscriber;
pub mod subscriber5;
pub mod tls_server;
pub mod ws;

pub use broker::Mosquitto;
pub use cmd::{mqtt_send, mqtt_send_to, run, run_and_signal, run_with_stdin, run_within};
pub use servers::SilentServer;
pub use subscriber::Subscriber;

/// A file of `count` lines, "line 1" to "line COUNT", for batches.
pub fn numbered_lines(path: &std::path::Path, count: usize) {
    let mut text = String::with_capacity(count * 12);
    for n in 1..=count {
        text.push_str(&format!("line {n}\n"));
    }
    std::fs::write(path, text).unwrap();
}

/// Wait, up to 10 s, until something accepts connections on `port`, or `child` (the server
/// meant to) exits: whether it listens.
pub fn listening(child: &mut std::process::Child, port: u16) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}
