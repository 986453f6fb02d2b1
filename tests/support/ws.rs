//! HTTP answers on cue for WebSocket upgrades: a server that reads the upgrade request, records
//! it, and answers as a test says (a refusal, a wrong subprotocol, ...). Its own SHA-1/base64
//! (from `ring` and a few lines here), independent of mqtt-send's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

use super::servers::Recorder;

/// Read an HTTP request head (up to the empty line) from `stream`.
pub fn read_request(stream: &mut TcpStream) -> String {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return head,
            Ok(_) => {}
        }
        if line == "\r\n" {
            return head;
        }
        head.push_str(&line);
    }
}

/// The value of header `name` in a request head.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// `Sec-WebSocket-Accept` for a client's key (RFC 6455 §4.2.2).
pub fn accept(key: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
    );
    base64(digest.as_ref())
}

fn base64(bytes: &[u8]) -> String {
    let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = String::new();
    for &byte in bytes {
        bits = (bits << 8) | u32::from(byte);
        count += 8;
        while count >= 6 {
            count -= 6;
            out.push(table[((bits >> count) & 63) as usize] as char);
        }
    }
    if count > 0 {
        out.push(table[((bits << (6 - count)) & 63) as usize] as char);
    }
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// A server that answers every upgrade request with `answer(request)` (the whole HTTP answer)
/// and then waits for the client to close; it records each request head.
pub fn http_server(answer: impl Fn(&str) -> String + Send + Sync + 'static) -> Recorder<String> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    Recorder::serve(listener, move |mut stream, log| {
        let request = read_request(&mut stream);
        log(request.clone());
        let _ = stream.write_all(answer(&request).as_bytes());
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    })
}

/// A 101 answer that accepts the request's key, choosing `subprotocol` (or none).
pub fn switching(request: &str, subprotocol: Option<&str>) -> String {
    let key = header(request, "sec-websocket-key").unwrap_or_default();
    let protocol = subprotocol
        .map(|p| format!("Sec-WebSocket-Protocol: {p}\r\n"))
        .unwrap_or_default();
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{protocol}\r\n",
        accept(key)
    )
}
