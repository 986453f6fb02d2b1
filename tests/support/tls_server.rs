//! A TLS server made with rustls that records what the client offered (SNI, ALPN, a client
//! certificate) and then acts as a minimal MQTT broker: CONNACK, then PUBACK/PUBREC/PUBCOMP.
//! mosquitto has no server-side ALPN, so this is how we see what mqtt-send offers.

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
}

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
                let _ = serve(stream, &config, &record);
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
    let mut buffer = BytesMut::new();
    let mut v5 = false;
    while let Some(packet) = read_packet(&mut tls, &mut buffer)? {
        seen.client_certificate = tls.conn.peer_certificates().is_some();
        let reply = match packet {
            Packet::Connect(connect) => {
                v5 = connect.protocol == Protocol::V5;
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
                tls.write_all(&bytes)?;
                tls.flush()?;
            }
            None => break,
        }
    }
    Ok(())
}
