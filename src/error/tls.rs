//! TLS failures: the files that set TLS up (exit 2) and the handshake with the broker (exit 4).

use std::fmt;
use std::path::PathBuf;

/// The CA bundle, the client certificate or the private key cannot be used (exit 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSetupError {
    /// `what` is "CA bundle", "certificate" or "private key".
    Unreadable {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    NotPem {
        what: &'static str,
        path: PathBuf,
        detail: String,
    },
    NoCertificate {
        what: &'static str,
        path: PathBuf,
    },
    NotCa {
        path: PathBuf,
        index: usize,
        reason: String,
    },
    NoSystemRoots,
    /// use-certificate without both files.
    CertificateAndKeyNeeded,
    EncryptedKey {
        path: PathBuf,
    },
    NoKey {
        path: PathBuf,
    },
    UnusableKey {
        path: PathBuf,
        reason: String,
    },
    KeyMismatch {
        key: PathBuf,
        certificate: PathBuf,
    },
    InvalidServerName {
        host: String,
    },
}

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsSetupError::Unreadable { what, path, reason } => {
                write!(f, "cannot read the {what} {}: {reason}", path.display())
            }
            TlsSetupError::NotPem { what, path, detail } => write!(
                f,
                "the {what} {}: it is not valid PEM ({detail})",
                path.display()
            ),
            TlsSetupError::NoCertificate { what, path } => write!(
                f,
                "the {what} {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
            TlsSetupError::NotCa {
                path,
                index,
                reason,
            } => write!(
                f,
                "the CA bundle {}: certificate #{index} cannot be used as a CA ({reason})",
                path.display()
            ),
            TlsSetupError::NoSystemRoots => f.write_str(
                "the system trust store has no usable CA certificate: give the broker's CA with \
                 --root-ca-crt (for AWS IoT Core: Amazon Root CA 1, AmazonRootCA1.pem)",
            ),
            TlsSetupError::CertificateAndKeyNeeded => f.write_str(
                "use-certificate is true but the certificate and private key are not both \
                 given: set --certificate and --private-key (config keys \"certificate\" and \
                 \"private-key\")",
            ),
            TlsSetupError::EncryptedKey { path } => write!(
                f,
                "the private key {} is encrypted (password-protected), which mqtt-send cannot \
                 use; decrypt it first, e.g. openssl pkey -in {} -out key.pem",
                path.display(),
                path.display()
            ),
            TlsSetupError::NoKey { path } => write!(
                f,
                "the private key {} holds no private key (expected -----BEGIN RSA PRIVATE \
                 KEY-----, -----BEGIN PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY-----)",
                path.display()
            ),
            TlsSetupError::UnusableKey { path, reason } => write!(
                f,
                "the private key {} cannot be used for TLS: {reason}",
                path.display()
            ),
            TlsSetupError::KeyMismatch { key, certificate } => write!(
                f,
                "the private key {} does not belong to the certificate {}: give the key that \
                 was issued with this certificate",
                key.display(),
                certificate.display()
            ),
            TlsSetupError::InvalidServerName { host } => {
                write!(f, "the broker host {host} is not a valid TLS server name")
            }
        }
    }
}

/// Why the TLS session with the broker failed (exit 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsProblem {
    /// Not signed by a CA in `trust` (a file, or "the system trust store").
    UnknownIssuer {
        trust: String,
    },
    Expired,
    NotValidYet,
    /// The certificate is not for `host`; `names` are the names it lists, where known (an
    /// empty list: it lists none, only a common name, which TLS clients do not use).
    WrongHost {
        host: String,
        names: Option<Vec<String>>,
    },
    Revoked,
    /// Another certificate problem, in words.
    BadCertificate(String),
    /// The broker wants a client certificate and got none.
    CertificateRequired,
    /// handshake_failure without a client certificate sent.
    HandshakeFailure,
    /// The broker rejected our client certificate (the alert's name).
    ClientCertificateRejected(String),
    /// The broker refused the ALPN protocols offered.
    AlpnRefused {
        offered: String,
    },
    /// Any other alert, by name.
    Alert(String),
    /// The broker closed the connection in the handshake.
    ClosedInHandshake {
        reason: String,
        port: u16,
    },
    /// Anything else, in words.
    Other(String),
}

impl fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsProblem::UnknownIssuer { trust } => write!(
                f,
                "the broker's certificate is not signed by any CA in {trust}; give the CA that \
                 signed it with --root-ca-crt"
            ),
            TlsProblem::Expired => f.write_str("the broker's certificate has expired"),
            TlsProblem::NotValidYet => f.write_str(
                "the broker's certificate is not valid yet (check this machine's clock)",
            ),
            TlsProblem::WrongHost { host, names: None } => write!(
                f,
                "the broker's certificate is not valid for the host name {host}; connect with \
                 a name the certificate lists"
            ),
            TlsProblem::WrongHost {
                host,
                names: Some(names),
            } if names.is_empty() => write!(
                f,
                "the broker's certificate is not valid for the host name {host}: it lists no \
                 host names (subjectAltName), only a common name, which TLS clients no longer \
                 use; the broker needs a certificate with a subjectAltName for {host}"
            ),
            TlsProblem::WrongHost {
                host,
                names: Some(names),
            } => write!(
                f,
                "the broker's certificate is not valid for the host name {host} (it is for \
                 {}); connect with a name the certificate lists",
                names.join(", ")
            ),
            TlsProblem::Revoked => f.write_str("the broker's certificate is revoked"),
            TlsProblem::BadCertificate(what) => {
                write!(f, "the broker's certificate is not acceptable: {what}")
            }
            TlsProblem::CertificateRequired => f.write_str(
                "the broker asked for a client certificate and we sent none: set \
                 --certificate, --private-key and --use-certificate",
            ),
            TlsProblem::HandshakeFailure => f.write_str(
                "the broker ended the handshake (handshake_failure); it may require a client \
                 certificate: set --certificate, --private-key and --use-certificate",
            ),
            TlsProblem::ClientCertificateRejected(alert) => write!(
                f,
                "the broker rejected our client certificate ({alert}): is it issued by a CA the \
                 broker trusts, and still valid?"
            ),
            TlsProblem::AlpnRefused { offered } => write!(
                f,
                "the broker refused the ALPN protocol(s) we offered ({offered}); check --alpn"
            ),
            TlsProblem::Alert(alert) => write!(f, "the broker sent the TLS alert {alert}"),
            TlsProblem::ClosedInHandshake { reason, port } => write!(
                f,
                "the server ended the connection during the TLS handshake ({reason}): is {port} \
                 a TLS port? (plain MQTT is usually 1883: use tcp://)"
            ),
            TlsProblem::Other(what) => f.write_str(what),
        }
    }
}
