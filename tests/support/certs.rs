//! Certificates made at test time, so no fixture ever expires: CAs and certificates with rcgen,
//! private keys with openssl in each format a user brings (PKCS#1 RSA as AWS IoT issues, PKCS#8,
//! SEC1 EC, and an encrypted one).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SubjectPublicKeyInfo, date_time_ymd,
};

/// The on-disk format of a private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// `-----BEGIN RSA PRIVATE KEY-----`
    RsaPkcs1,
    /// `-----BEGIN PRIVATE KEY-----` (RSA inside)
    RsaPkcs8,
    /// `-----BEGIN EC PRIVATE KEY-----`
    EcSec1,
    /// `-----BEGIN PRIVATE KEY-----` (P-256 inside)
    EcPkcs8,
    /// `-----BEGIN ENCRYPTED PRIVATE KEY-----`
    EncryptedPkcs8,
}

/// A certificate and its key, as files.
#[derive(Debug, Clone)]
pub struct Pair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A certificate authority whose certificate is at `pem`.
pub struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pub pem: PathBuf,
    /// The CA's private key, for openssl to sign with.
    key_pem: PathBuf,
    dir: PathBuf,
}

fn openssl(args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A private key in `format` at `path`; returns its public key for rcgen to certify.
fn make_key(path: &Path, format: KeyFormat) -> SubjectPublicKeyInfo {
    let out = path.to_str().unwrap();
    match format {
        KeyFormat::RsaPkcs1 => openssl(&["genrsa", "-traditional", "-out", out, "2048"]),
        KeyFormat::RsaPkcs8 => openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            out,
        ]),
        KeyFormat::EcSec1 => openssl(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            out,
        ]),
        KeyFormat::EcPkcs8 => openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            out,
        ]),
        KeyFormat::EncryptedPkcs8 => openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-aes-256-cbc",
            "-pass",
            "pass:test-only",
            "-out",
            out,
        ]),
    }
    let public = path.with_extension("pub");
    let mut args = vec![
        "pkey",
        "-in",
        out,
        "-pubout",
        "-out",
        public.to_str().unwrap(),
    ];
    if format == KeyFormat::EncryptedPkcs8 {
        args.extend(["-passin", "pass:test-only"]);
    }
    openssl(&args);
    SubjectPublicKeyInfo::from_pem(&fs::read_to_string(&public).unwrap()).expect("public key")
}

impl Ca {
    pub fn new(dir: &Path, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let pem = dir.join(format!("{name}.pem"));
        fs::write(&pem, cert.pem()).unwrap();
        let key_pem = dir.join(format!("{name}-ca.key"));
        fs::write(&key_pem, key.serialize_pem()).unwrap();
        Ca {
            params,
            key,
            pem,
            key_pem,
            dir: dir.to_path_buf(),
        }
    }

    fn issue(&self, name: &str, params: CertificateParams, format: KeyFormat) -> Pair {
        let key = self.dir.join(format!("{name}.key"));
        let public = make_key(&key, format);
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&public, &issuer).unwrap();
        let cert_path = self.dir.join(format!("{name}.crt"));
        fs::write(&cert_path, cert.pem()).unwrap();
        Pair {
            cert: cert_path,
            key,
        }
    }

    /// A server certificate for `names` (DNS names or IP addresses), valid now.
    pub fn server(&self, name: &str, names: &[&str]) -> Pair {
        let params = server_params(names);
        self.issue(name, params, KeyFormat::EcPkcs8)
    }

    /// A server certificate with only a common name and no subjectAltName (what old guides
    /// made), which TLS clients no longer accept for any name.
    pub fn cn_only_server(&self, name: &str, cn: &str) -> Pair {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(name, params, KeyFormat::EcPkcs8)
    }

    /// A server certificate for `names` that expired in 2021.
    pub fn expired_server(&self, name: &str, names: &[&str]) -> Pair {
        let mut params = server_params(names);
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2021, 1, 1);
        self.issue(name, params, KeyFormat::EcPkcs8)
    }

    /// A client certificate with common name `cn` and its key in `format`.
    pub fn client(&self, name: &str, cn: &str, format: KeyFormat) -> Pair {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(name, params, format)
    }
}

impl Ca {
    /// A client certificate as `openssl x509 -req` makes one without extensions: X.509 v1,
    /// which brokers accept and rustls cannot read a key out of.
    pub fn v1_client(&self, name: &str, cn: &str) -> Pair {
        let path = |ext: &str| self.dir.join(format!("{name}.{ext}"));
        let (key, csr, cert) = (path("key"), path("csr"), path("crt"));
        let s = |p: &Path| p.to_str().unwrap().to_string();
        openssl(&["genrsa", "-traditional", "-out", &s(&key), "2048"]);
        openssl(&[
            "req",
            "-new",
            "-key",
            &s(&key),
            "-out",
            &s(&csr),
            "-subj",
            &format!("/CN={cn}"),
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            &s(&csr),
            "-CA",
            &s(&self.pem),
            "-CAkey",
            &s(&self.key_pem),
            "-CAcreateserial",
            "-out",
            &s(&cert),
            "-days",
            "2",
        ]);
        Pair { cert, key }
    }
}

fn server_params(names: &[&str]) -> CertificateParams {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params
}
