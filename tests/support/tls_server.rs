//! A TLS server made with rustls that records what the client offered (SNI, ALPN, a client
//! certificate) and then acts as a minimal MQTT broker: CONNACK, then PUBACK/PUBREC/PUBCOMP.
//! mosquitto has no server-side ALPN, so this is how we see what mqtt-send offers. Started with
//! [`TlsServer::websocket`], it is a wss server: it reads the WebSocket upgrade, lets a gate
//! (e.g. a SigV4 check) accept it (101, subprotocol mqtt) or refuse it (403), then speaks MQTT
//! in WebSocket frames.

use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use bytes::BytesMut;
use rumqttc::{Packet, Protocol, PubAck, PubComp, PubRec, QoS};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{Acceptor, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};

use super::certs::Pair;
use super::codec::{encode, read_packet, v5_payload};

/// What one client offered in its ClientHello, and what it sent.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    pub client_certificate: bool,
    pub published: Vec<Vec<u8>>,
    /// The username of the CONNECT (MQTT 3.1.1 only: the MQTT 5 CONNECT is not decoded).
    pub username: Option<String>,
    /// wss: the upgrade's request target and Host header, and what the gate said.
    pub upgrade: Option<(String, String, Result<String, String>)>,
}

/// Decides on a WebSocket upgrade from its request target and Host header.
pub type Gate = dyn Fn(&str, &str) -> Result<String, String> + Send + Sync;

pub struct TlsServer {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TlsServer {
    /// Listen on `port` (0: any free port) with `server`'s certificate, accepting the ALPN
    /// protocols in `alpn` and (optionally) client certificates issued by `client_ca`.
    pub fn start(
        port: u16,
        server: &Pair,
        client_ca: &std::path::Path,
        alpn: &[&str],
    ) -> io::Result<Self> {
        Self::serving(port, server, client_ca, alpn, None)
    }

    /// A wss server on a free port whose `gate` accepts or refuses each upgrade.
    pub fn websocket(
        server: &Pair,
        client_ca: &std::path::Path,
        gate: impl Fn(&str, &str) -> Result<String, String> + Send + Sync + 'static,
    ) -> io::Result<Self> {
        Self::serving(0, server, client_ca, &[], Some(Arc::new(gate)))
    }

    fn serving(
        port: u16,
        server: &Pair,
        client_ca: &std::path::Path,
        alpn: &[&str],
        gate: Option<Arc<Gate>>,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let port = listener.local_addr()?.port();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(client_ca).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .allow_unauthenticated()
                .build()
                .unwrap();
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&server.cert)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(&server.key).unwrap();
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        let config = Arc::new(config);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &config, &record, gate.as_deref());
            }
        });
        Ok(TlsServer { port, seen })
    }

    /// Everything seen so far, one entry per connection.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    mut tcp: TcpStream,
    config: &Arc<ServerConfig>,
    record: &Mutex<Vec<Seen>>,
    gate: Option<&Gate>,
) -> io::Result<()> {
    let mut acceptor = Acceptor::default();
    let accepted = loop {
        acceptor.read_tls(&mut tcp)?;
        if let Some(accepted) = acceptor.accept().map_err(|(e, _)| io::Error::other(e))? {
            break accepted;
        }
    };
    let hello = accepted.client_hello();
    let mut seen = Seen {
        sni: hello.server_name().map(str::to_string),
        alpn: hello
            .alpn()
            .map(|list| {
                list.map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect()
            })
            .unwrap_or_default(),
        ..Seen::default()
    };
    let index = {
        let mut all = record.lock().unwrap();
        all.push(seen.clone());
        all.len() - 1
    };
    let connection: ServerConnection = accepted
        .into_connection(Arc::clone(config))
        .map_err(|(e, _)| io::Error::other(e))?;
    let mut tls = StreamOwned::new(connection, tcp);
    // Complete the handshake, so that the client's certificate (if any) is known.
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    seen.client_certificate = tls.conn.peer_certificates().is_some();
    record.lock().unwrap()[index] = seen.clone();
    let Some(gate) = gate else {
        return broker(&mut tls, &mut seen, index, record);
    };
    let request = super::ws::read_request_from(&mut tls);
    let target = request
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or_default()
        .to_string();
    let host = super::ws::header(&request, "host")
        .unwrap_or_default()
        .to_string();
    let verdict = gate(&target, &host);
    seen.upgrade = Some((target, host, verdict.clone()));
    record.lock().unwrap()[index] = seen.clone();
    if verdict.is_err() {
        tls.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")?;
        tls.flush()?;
        return Ok(());
    }
    tls.write_all(super::ws::switching(&request, Some("mqtt")).as_bytes())?;
    tls.flush()?;
    let mut framed = super::ws::Framed::new(tls);
    broker(&mut framed, &mut seen, index, record)
}

/// A minimal MQTT broker on `stream`: CONNACK, then the acknowledgements each QoS asks for.
fn broker(
    stream: &mut (impl io::Read + Write),
    seen: &mut Seen,
    index: usize,
    record: &Mutex<Vec<Seen>>,
) -> io::Result<()> {
    let mut buffer = BytesMut::new();
    let mut v5 = false;
    while let Some(packet) = read_packet(stream, &mut buffer)? {
        let reply = match packet {
            Packet::Connect(connect) => {
                v5 = connect.protocol == Protocol::V5;
                seen.username = connect.login.map(|login| login.username);
                Some(vec![0x20, 2, 0, 0])
            }
            Packet::Publish(publish) => {
                let payload = if v5 {
                    v5_payload(&publish.payload)
                } else {
                    &publish.payload
                };
                seen.published.push(payload.to_vec());
                match publish.qos {
                    QoS::AtMostOnce => Some(Vec::new()),
                    QoS::AtLeastOnce => Some(encode(Packet::PubAck(PubAck::new(publish.pkid)))),
                    QoS::ExactlyOnce => Some(encode(Packet::PubRec(PubRec::new(publish.pkid)))),
                }
            }
            Packet::PubRel(rel) => Some(encode(Packet::PubComp(PubComp::new(rel.pkid)))),
            Packet::Disconnect => None,
            _ => Some(Vec::new()),
        };
        record.lock().unwrap()[index] = seen.clone();
        match reply {
            Some(bytes) => {
                stream.write_all(&bytes)?;
                stream.flush()?;
            }
            None => break,
        }
    }
    Ok(())
}
