//! TLS with rustls and the ring provider: the trust roots, the client certificate, ALPN, SNI —
//! built before any network I/O so that a bad file is exit 2 naming it — and the translation of
//! TLS failures into sentences (exit 4).

use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{AlertDescription, CertificateError, ClientConfig, InconsistentKeys, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::broker::{Broker, Host};
use crate::config::TlsOptions;
use crate::error::{TlsProblem, TlsSetupError};
use crate::files::io_reason;
use crate::log::verbose;
use crate::values::TlsVersion;

/// What AWS IoT Core wants on port 443 to speak MQTT with a client certificate.
pub const AWS_IOT_ALPN: &str = "x-amzn-mqtt-ca";
/// What `wss://` offers unless `--alpn` says otherwise.
pub const WSS_ALPN: &str = "http/1.1";

/// A ready TLS client: the rustls configuration plus what error messages need to say.
pub struct Tls {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    /// "ca.pem" or "the system trust store", for "not signed by any CA in …".
    trust: String,
    sends_client_certificate: bool,
}

/// The ALPN protocols to offer: those given, else `x-amzn-mqtt-ca` on port 443 with a client
/// certificate (AWS IoT Core serves MQTT on 443 only with it), else none.
pub fn alpn_protocols(given: &[String], port: u16, client_certificate: bool) -> Vec<String> {
    if !given.is_empty() {
        given.to_vec()
    } else if port == 443 && client_certificate {
        vec![AWS_IOT_ALPN.to_string()]
    } else {
        Vec::new()
    }
}

impl Tls {
    /// Read the CA bundle (or the system store), the client certificate and key, and build the
    /// client configuration. Every problem here is a usage error (2) naming the file.
    pub fn new(options: &TlsOptions, broker: &Broker) -> Result<Self, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        let mut trusted = Vec::new();
        if let Some(path) = &options.root_ca_crt {
            roots.roots.extend(roots_from_file(path)?.roots);
            trusted.push(path.display().to_string());
        }
        if let Some(dir) = &options.capath {
            roots.roots.extend(roots_from_dir(dir)?.roots);
            trusted.push(dir.display().to_string());
        }
        if options.system_roots || trusted.is_empty() {
            roots.roots.extend(system_roots()?.roots);
            trusted.push("the system trust store".to_string());
        }
        let trust = trusted.join(" and ");
        let versions: &[&rustls::SupportedProtocolVersion] = match options.version {
            Some(TlsVersion::Only13) => &[&rustls::version::TLS13],
            Some(TlsVersion::From12) | None => rustls::DEFAULT_VERSIONS,
        };
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .expect("ring supports TLS 1.2 and 1.3")
            .with_root_certificates(roots);

        let mut config = if options.use_certificate {
            let (Some(cert_path), Some(key_path)) = (&options.certificate, &options.private_key)
            else {
                return Err(TlsSetupError::CertificateAndKeyNeeded);
            };
            let chain = certificate_chain(cert_path)?;
            let key = private_key(key_path)?;
            let certified = certified_key(&provider, chain, key, cert_path, key_path)?;
            builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified)))
        } else {
            if options.certificate.is_some() || options.private_key.is_some() {
                verbose!(
                    "a certificate/private key is configured but use-certificate is false: no \
                     client certificate is sent"
                );
            }
            builder.with_no_client_auth()
        };

        let alpn = if broker.websocket.is_some() && options.alpn.is_empty() {
            // wss: HTTP/1.1 carries the upgrade (AWS IoT serves WebSockets on 443 without
            // x-amzn-mqtt-ca).
            vec![WSS_ALPN.to_string()]
        } else {
            alpn_protocols(&options.alpn, broker.port, options.use_certificate)
        };
        if !alpn.is_empty() {
            verbose!("offering ALPN {}", alpn.join(", "));
        }
        config.alpn_protocols = alpn.into_iter().map(String::into_bytes).collect();

        let server_name = match &broker.host {
            Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
            Host::Unix(path) => {
                return Err(TlsSetupError::InvalidServerName {
                    host: path.display().to_string(),
                });
            }
            Host::Name(name) => ServerName::try_from(name.clone())
                .map_err(|_| TlsSetupError::InvalidServerName { host: name.clone() })?,
        };
        Ok(Tls {
            config: Arc::new(config),
            server_name,
            trust,
            sends_client_certificate: options.use_certificate,
        })
    }

    /// The TLS handshake over a connected stream; on failure, the error and the stream back
    /// (which may tell whether the server said anything at all).
    pub async fn connect<IO: AsyncRead + AsyncWrite + Unpin>(
        &self,
        io: IO,
    ) -> Result<TlsStream<IO>, (io::Error, IO)> {
        let connector = TlsConnector::from(Arc::clone(&self.config));
        let stream = connector
            .connect(self.server_name.clone(), io)
            .into_fallible()
            .await?;
        let (_, session) = stream.get_ref();
        verbose!(
            "TLS handshake done: {:?}, {:?}, ALPN {}, SNI {}",
            session.protocol_version(),
            session.negotiated_cipher_suite().map(|s| s.suite()),
            session
                .alpn_protocol()
                .map_or("none".to_string(), |p| String::from_utf8_lossy(p)
                    .into_owned()),
            match &self.server_name {
                ServerName::DnsName(name) => name.as_ref().to_string(),
                _ => "none (IP address)".to_string(),
            }
        );
        Ok(stream)
    }

    /// What went wrong with TLS (exit 4). `error` is from the handshake, or from a read or
    /// write after it (a server that rejects our certificate says so after the handshake).
    pub fn problem(&self, broker: &Broker, error: &io::Error) -> TlsProblem {
        match rustls_error(error) {
            Some(tls_error) => self.explain(broker, tls_error),
            None if matches!(
                error.kind(),
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionAborted
            ) =>
            {
                TlsProblem::ClosedInHandshake {
                    reason: io_reason(error),
                    port: broker.port,
                }
            }
            None => TlsProblem::Other(io_reason(error)),
        }
    }

    fn explain(&self, broker: &Broker, error: &rustls::Error) -> TlsProblem {
        match error {
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer => TlsProblem::UnknownIssuer {
                    trust: self.trust.clone(),
                },
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    TlsProblem::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    TlsProblem::NotValidYet
                }
                CertificateError::NotValidForName => TlsProblem::WrongHost {
                    host: broker.host.to_string(),
                    names: None,
                },
                CertificateError::NotValidForNameContext { presented, .. } => {
                    TlsProblem::WrongHost {
                        host: broker.host.to_string(),
                        names: Some(
                            presented
                                .iter()
                                .map(|name| plain_name(name).to_string())
                                .collect(),
                        ),
                    }
                }
                CertificateError::Revoked => TlsProblem::Revoked,
                other => TlsProblem::BadCertificate(certificate_problem(other)),
            },
            rustls::Error::AlertReceived(alert) => match alert {
                AlertDescription::CertificateRequired => TlsProblem::CertificateRequired,
                AlertDescription::HandshakeFailure if !self.sends_client_certificate => {
                    TlsProblem::HandshakeFailure
                }
                AlertDescription::BadCertificate
                | AlertDescription::UnknownCA
                | AlertDescription::CertificateUnknown
                | AlertDescription::UnsupportedCertificate
                | AlertDescription::CertificateExpired
                | AlertDescription::CertificateRevoked
                | AlertDescription::AccessDenied
                    if self.sends_client_certificate =>
                {
                    TlsProblem::ClientCertificateRejected(alert_name(*alert))
                }
                AlertDescription::NoApplicationProtocol => TlsProblem::AlpnRefused {
                    offered: self.offered_alpn(),
                },
                other => TlsProblem::Alert(alert_name(*other)),
            },
            rustls::Error::NoApplicationProtocol => TlsProblem::AlpnRefused {
                offered: self.offered_alpn(),
            },
            other => TlsProblem::Other(other.to_string()),
        }
    }

    fn offered_alpn(&self) -> String {
        let offered: Vec<String> = self
            .config
            .alpn_protocols
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        if offered.is_empty() {
            "none".to_string()
        } else {
            offered.join(", ")
        }
    }
}

/// A certificate problem in words (rustls's own words where it has them, not a debug dump).
fn certificate_problem(error: &CertificateError) -> String {
    match error {
        CertificateError::BadEncoding => "it is not a well-formed certificate".to_string(),
        CertificateError::BadSignature => "its signature does not verify".to_string(),
        CertificateError::UnhandledCriticalExtension => {
            "it has a critical extension that cannot be checked".to_string()
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "it is not meant for a TLS server (its extended key usage)".to_string()
        }
        CertificateError::UnsupportedSignatureAlgorithmContext { .. } => {
            "it is signed with an algorithm that is not supported".to_string()
        }
        CertificateError::UnknownRevocationStatus => "its revocation status is unknown".to_string(),
        other => other.to_string(),
    }
}

/// A TLS alert as the TLS specification names it (`bad_certificate`), not as Rust spells it.
fn alert_name(alert: AlertDescription) -> String {
    let mut name = String::new();
    for (i, c) in format!("{alert:?}").chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    name
}

/// rustls names a certificate's names as `DnsName("host")` / `IpAddress(..)`: show the name.
fn plain_name(presented: &str) -> &str {
    match (presented.find("(\""), presented.rfind("\")")) {
        (Some(start), Some(end)) if start + 2 <= end => &presented[start + 2..end],
        _ => presented,
    }
}

/// The rustls error inside an I/O error, if any. An `io::Error`'s `source()` skips the error it
/// wraps, so look at `get_ref()` first and then walk the chain.
pub fn rustls_error(error: &io::Error) -> Option<&rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = error.get_ref().map(|e| e as _);
    while let Some(inner) = current {
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            current = io.get_ref().map(|e| e as _);
            continue;
        }
        current = inner.source();
    }
    None
}

fn read_pem_file(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsSetupError> {
    let unreadable = |reason: String| TlsSetupError::Unreadable {
        what,
        path: path.to_path_buf(),
        reason,
    };
    if path.is_dir() {
        return Err(unreadable("it is a directory".to_string()));
    }
    fs::read(path).map_err(|e| unreadable(io_reason(&e)))
}

fn pem_problem(path: &Path, what: &'static str, error: &pem::Error) -> TlsSetupError {
    match error {
        pem::Error::NoItemsFound => TlsSetupError::NoCertificate {
            what,
            path: path.to_path_buf(),
        },
        other => TlsSetupError::NotPem {
            what,
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    }
}

fn certificates(
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let bytes = read_pem_file(path, what)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_problem(path, what, &e))?;
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificate {
            what,
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

fn roots_from_file(path: &Path) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for (index, cert) in certificates(path, "CA bundle")?.into_iter().enumerate() {
        roots.add(cert).map_err(|e| TlsSetupError::NotCa {
            path: path.to_path_buf(),
            index: index + 1,
            reason: e.to_string(),
        })?;
    }
    verbose!(
        "trusting {} CA certificate(s) from {}",
        roots.len(),
        path.display()
    );
    Ok(roots)
}

/// Every CA certificate in the PEM files of a directory (mosquitto_pub's --capath: OpenSSL's
/// hashed names, or any names). Files that hold no certificate are passed over (said with -v);
/// a directory with none at all is an error.
fn roots_from_dir(dir: &Path) -> Result<RootCertStore, TlsSetupError> {
    const WHAT: &str = "CA directory";
    let unreadable = |e: std::io::Error| TlsSetupError::Unreadable {
        what: WHAT,
        path: dir.to_path_buf(),
        reason: io_reason(&e),
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    let mut roots = RootCertStore::empty();
    for path in paths {
        let Ok(bytes) = std::fs::read(&path) else {
            verbose!("{}: cannot be read, passed over", path.display());
            continue;
        };
        let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
            .filter_map(Result::ok)
            .collect();
        let (added, ignored) = roots.add_parsable_certificates(certs);
        verbose!(
            "{}: {added} CA certificate(s) trusted, {ignored} unusable",
            path.display()
        );
    }
    if roots.is_empty() {
        return Err(TlsSetupError::NoCertificate {
            what: WHAT,
            path: dir.to_path_buf(),
        });
    }
    Ok(roots)
}

/// The system trust store. A store that partly fails to load is used for what loads; what
/// did not is said with -v. Only an empty result is an error.
fn system_roots() -> Result<RootCertStore, TlsSetupError> {
    let loaded = rustls_native_certs::load_native_certs();
    for error in &loaded.errors {
        verbose!("system trust store: {error}");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
    verbose!("trusting {added} CA certificate(s) from the system trust store ({ignored} unusable)");
    if roots.is_empty() {
        return Err(TlsSetupError::NoSystemRoots);
    }
    Ok(roots)
}

fn certificate_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let chain = certificates(path, "certificate")?;
    verbose!(
        "client certificate chain from {}: {} certificate(s)",
        path.display(),
        chain.len()
    );
    Ok(chain)
}

/// The client certificate and its key, checked to belong together. rustls cannot read the key
/// out of an X.509 v1 certificate (what `openssl x509 -req` makes without extensions), which
/// brokers accept: such a pair is sent unchecked, and the broker judges it.
fn certified_key(
    provider: &CryptoProvider,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    cert_path: &Path,
    key_path: &Path,
) -> Result<CertifiedKey, TlsSetupError> {
    let signing_key =
        provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| TlsSetupError::UnusableKey {
                path: key_path.to_path_buf(),
                reason: e.to_string(),
            })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            return Err(TlsSetupError::KeyMismatch {
                key: key_path.to_path_buf(),
                certificate: cert_path.to_path_buf(),
            });
        }
        Err(e) => verbose!(
            "cannot check that {} belongs to {} ({e}; an X.509 v1 certificate?): sending \
             them as they are, the broker will check",
            key_path.display(),
            cert_path.display()
        ),
    }
    Ok(certified)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    let what = "private key";
    let bytes = read_pem_file(path, what)?;
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(TlsSetupError::EncryptedKey {
            path: path.to_path_buf(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsSetupError::NoKey {
            path: path.to_path_buf(),
        },
        other => pem_problem(path, what, &other),
    })?;
    let kind = match &key {
        PrivateKeyDer::Pkcs1(_) => "PKCS#1 RSA",
        PrivateKeyDer::Pkcs8(_) => "PKCS#8",
        PrivateKeyDer::Sec1(_) => "SEC1 EC",
        _ => "unknown",
    };
    verbose!("private key from {}: {kind}", path.display());
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_443_with_a_client_certificate_offers_the_aws_alpn() {
        assert_eq!(
            alpn_protocols(&[], 443, true),
            vec![AWS_IOT_ALPN.to_string()]
        );
    }

    #[test]
    fn no_alpn_elsewhere_or_without_a_client_certificate() {
        assert!(alpn_protocols(&[], 8883, true).is_empty());
        assert!(alpn_protocols(&[], 443, false).is_empty());
    }

    #[test]
    fn given_alpn_wins() {
        let given = vec!["mqtt".to_string(), "x".to_string()];
        assert_eq!(alpn_protocols(&given, 443, true), given);
        assert_eq!(alpn_protocols(&given, 8883, false), given);
    }

    #[test]
    fn alerts_are_named_as_tls_names_them() {
        assert_eq!(
            alert_name(AlertDescription::BadCertificate),
            "bad_certificate"
        );
        assert_eq!(
            alert_name(AlertDescription::CertificateRequired),
            "certificate_required"
        );
        assert_eq!(alert_name(AlertDescription::AccessDenied), "access_denied");
    }

    #[test]
    fn certificate_problems_are_words_not_debug_dumps() {
        for error in [
            CertificateError::BadEncoding,
            CertificateError::BadSignature,
            CertificateError::UnhandledCriticalExtension,
            CertificateError::InvalidPurpose,
        ] {
            let words = certificate_problem(&error);
            assert!(words.starts_with("it"), "{words}");
            assert!(!words.contains(&format!("{error:?}")), "{words}");
        }
    }

    #[test]
    fn presented_names_are_shown_plainly() {
        assert_eq!(plain_name("DnsName(\"localhost\")"), "localhost");
        assert_eq!(plain_name("10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn rustls_errors_are_found_inside_io_errors() {
        let inner = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
        );
        assert!(matches!(
            rustls_error(&inner),
            Some(rustls::Error::AlertReceived(
                AlertDescription::CertificateRequired
            ))
        ));
        let wrapped = io::Error::other(inner);
        assert!(rustls_error(&wrapped).is_some());
        assert!(rustls_error(&io::Error::from(io::ErrorKind::ConnectionReset)).is_none());
    }
}
