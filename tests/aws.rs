//! AWS IoT Core without a device certificate: SigV4-presigned WebSocket URLs checked by a local
//! wss server that verifies each signature with an independent implementation (tests/sigv4.py),
//! then speaks MQTT; what is missing (credentials, region) is exit 2; custom authorizers.

use std::process::Command;

use crate::support::certs::{Ca, Pair};
use crate::support::proxy::Forwarder;
use crate::support::tls_server::TlsServer;
use crate::support::{mqtt_send, run};

const KEY_ID: &str = "AKIDMQTTSENDTEST";
const SECRET: &str = "aws-secret-5d1c";
const TOKEN: &str = "aws-token-8b3f/with+slash=";
const REGION: &str = "eu-west-1";

struct Pki {
    _dir: tempfile::TempDir,
    ca: Ca,
    server: Pair,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "ca");
    let server = ca.server("server", &["localhost"]);
    Pki {
        _dir: dir,
        ca,
        server,
    }
}

/// The independent check: tests/sigv4.py, with the secret the server knows.
fn python_verifies(target: &str, host: &str) -> Result<String, String> {
    let output = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sigv4.py"))
        .args(["verify", target, host, SECRET, REGION])
        .output()
        .expect("python3 runs (scripts/test needs it)");
    let said = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if output.status.success() {
        Ok(said)
    } else {
        Err(said)
    }
}

fn signed_server(pki: &Pki) -> TlsServer {
    TlsServer::websocket(&pki.server, &pki.ca.pem, python_verifies).unwrap()
}

fn publish(server: &TlsServer, pki: &Pki, env: &[(&str, &str)]) -> crate::support::cmd::Run {
    run(mqtt_send()
        .args([
            "-b",
            &format!("wss://localhost:{}/mqtt", server.port),
            "--aws-sigv4",
            "--root-ca-crt",
            pki.ca.pem.to_str().unwrap(),
            "-q",
            "1",
            "-t",
            "$aws/things/ci/shadow/update",
            "-m",
            "{\"state\":{}}",
            "-v",
        ])
        .envs(env.iter().copied()))
}

#[test]
fn the_independent_check_passes_aws_s_own_test_case() {
    let output = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sigv4.py"))
        .arg("selftest")
        .output()
        .expect("python3 runs");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "ok");
}

#[test]
fn a_presigned_url_from_the_environment_is_accepted_and_the_message_published() {
    let pki = pki();
    let server = signed_server(&pki);
    let result = publish(
        &server,
        &pki,
        &[
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", TOKEN),
            ("AWS_REGION", REGION),
        ],
    );
    result.expect(0).expect_message("PUBACK");
    assert!(!result.stderr.contains("aws-token"), "{}", result.stderr);
    let seen = server.seen();
    let (target, host, verdict) = seen[0].upgrade.clone().unwrap();
    assert_eq!(verdict, Ok(format!("ok {KEY_ID} {TOKEN}")), "{target}");
    assert_eq!(host, format!("localhost:{}", server.port));
    assert!(
        target.starts_with("/mqtt?X-Amz-Algorithm=AWS4-HMAC-SHA256&"),
        "{target}"
    );
    assert_eq!(seen[0].published, vec![b"{\"state\":{}}".to_vec()]);
    // wss: SNI as for ssl://, and ALPN http/1.1 by default.
    assert_eq!(seen[0].sni.as_deref(), Some("localhost"));
    assert_eq!(seen[0].alpn, vec!["http/1.1".to_string()]);
}

#[test]
fn a_websocket_path_is_sent_as_the_url_gives_it_and_signed_as_aws_encodes_it() {
    // The URL's path is already in URL form: it goes out unchanged, and SigV4 encodes it once
    // more in the canonical request, as AWS's SDKs do for every service but S3.
    let pki = pki();
    let server = signed_server(&pki);
    run(mqtt_send()
        .args([
            "-b",
            &format!("wss://localhost:{}/mqtt;v=1%20x", server.port),
            "--aws-sigv4",
            "--root-ca-crt",
            pki.ca.pem.to_str().unwrap(),
            "-q",
            "1",
            "-t",
            "t",
            "-m",
            "x",
        ])
        .envs([
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_REGION", REGION),
        ]))
    .expect(0);
    let (target, _, verdict) = server.seen()[0].upgrade.clone().unwrap();
    assert!(
        target.starts_with("/mqtt;v=1%20x?X-Amz-Algorithm="),
        "{target}"
    );
    assert_eq!(verdict, Ok(format!("ok {KEY_ID} -")), "{target}");
}

#[test]
fn a_profile_s_static_keys_sign_too() {
    let pki = pki();
    let server = signed_server(&pki);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        format!(
            "[default]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = other\n\n\
             [ci]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
        ),
    )
    .unwrap();
    publish(
        &server,
        &pki,
        &[
            ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
            ("AWS_PROFILE", "ci"),
            ("AWS_DEFAULT_REGION", REGION),
        ],
    )
    .expect(0);
    let (_, _, verdict) = server.seen()[0].upgrade.clone().unwrap();
    assert_eq!(verdict, Ok(format!("ok {KEY_ID} -")));
}

#[test]
fn a_session_token_in_the_environment_is_not_paired_with_a_profile_s_keys() {
    // AWS's SDKs read AWS_SESSION_TOKEN only with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY;
    // a token left from another role would make AWS refuse the profile's keys.
    let pki = pki();
    let server = signed_server(&pki);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        format!("[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"),
    )
    .unwrap();
    publish(
        &server,
        &pki,
        &[
            ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
            ("AWS_SESSION_TOKEN", TOKEN),
            ("AWS_REGION", REGION),
        ],
    )
    .expect(0);
    let (target, _, verdict) = server.seen()[0].upgrade.clone().unwrap();
    assert_eq!(verdict, Ok(format!("ok {KEY_ID} -")), "{target}");
}

#[test]
fn a_wrong_secret_is_refused_by_the_server_as_aws_refuses_it() {
    let pki = pki();
    let server = signed_server(&pki);
    publish(
        &server,
        &pki,
        &[
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", "aws-wrong-secret-77e0"),
            ("AWS_REGION", REGION),
        ],
    )
    .expect(5)
    .expect_message("refused the connection: HTTP 403 Forbidden");
    let (_, _, verdict) = server.seen()[0].upgrade.clone().unwrap();
    assert_eq!(verdict, Err("signature mismatch".to_string()));
    // The wrong region is caught the same way.
    publish(
        &server,
        &pki,
        &[
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_REGION", "us-east-1"),
        ],
    )
    .expect(5);
}

#[test]
fn missing_credentials_or_region_is_exit_2_before_any_connection() {
    let pki = pki();
    let server = signed_server(&pki);
    for (env, needle) in [
        (
            vec![("AWS_REGION", REGION), ("HOME", "/nonexistent")],
            "--aws-sigv4 found no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
             are not set, and profile \"default\" in /nonexistent/.aws/credentials: the file \
             does not exist",
        ),
        (
            vec![("AWS_ACCESS_KEY_ID", KEY_ID), ("AWS_REGION", REGION)],
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
        ),
        (
            vec![
                ("AWS_ACCESS_KEY_ID", KEY_ID),
                ("AWS_SECRET_ACCESS_KEY", SECRET),
            ],
            "--aws-sigv4 needs a region: set AWS_REGION",
        ),
    ] {
        publish(&server, &pki, &env)
            .expect(2)
            .expect_message(needle);
    }
    run(mqtt_send()
        .args([
            "-b",
            "ssl://localhost:8883",
            "--aws-sigv4",
            "-t",
            "t",
            "-m",
            "x",
        ])
        .envs([
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_REGION", REGION),
        ]))
    .expect(2)
    .expect_message("--aws-sigv4 signs a WebSocket URL");
    assert!(server.seen().is_empty(), "nobody connected");
}

#[test]
fn a_custom_authorizer_is_named_in_the_username() {
    let pki = pki();
    let server = TlsServer::start(0, &pki.server, &pki.ca.pem, &[]).unwrap();
    let result = run(mqtt_send().args([
        "-b",
        &format!("ssl://localhost:{}", server.port),
        "--root-ca-crt",
        pki.ca.pem.to_str().unwrap(),
        "-V",
        "3.1.1",
        "-u",
        "device-7",
        "--aws-authorizer",
        "ci authorizer",
        "--aws-authorizer-token",
        "x-token=authz-token-2c9a",
        "--aws-authorizer-signature",
        "c2lnbmF0dXJl+/==",
        "-q",
        "1",
        "-t",
        "t",
        "-m",
        "x",
        "-v",
    ]));
    result.expect(0);
    assert!(
        result
            .stderr
            .contains("username \"device-7\" and a custom authorizer's query"),
        "{}",
        result.stderr
    );
    let seen = server.seen();
    assert_eq!(
        seen[0].username.as_deref(),
        Some(
            "device-7?x-amz-customauthorizer-name=ci%20authorizer\
             &x-amz-customauthorizer-signature=c2lnbmF0dXJl%2B%2F%3D%3D&x-token=authz-token-2c9a"
        )
    );
    // Not port 443: no ALPN unless asked.
    assert!(seen[0].alpn.is_empty(), "{:?}", seen[0].alpn);
}

#[test]
fn a_token_without_an_authorizer_name_goes_to_the_default_authorizer() {
    // AWS: "If omitted, the default authorizer is used". The token and signature were dropped.
    let pki = pki();
    let server = TlsServer::start(0, &pki.server, &pki.ca.pem, &[]).unwrap();
    run(mqtt_send().args([
        "-b",
        &format!("ssl://localhost:{}", server.port),
        "--root-ca-crt",
        pki.ca.pem.to_str().unwrap(),
        "-V",
        "3.1.1",
        "--aws-authorizer-token",
        "x-token=authz-token-2c9a",
        "--aws-authorizer-signature",
        "c2ln",
        "-q",
        "1",
        "-t",
        "t",
        "-m",
        "x",
        // The harness checks that -v does not show the token.
        "-v",
    ]))
    .expect(0);
    assert_eq!(
        server.seen()[0].username.as_deref(),
        Some("?x-amz-customauthorizer-signature=c2ln&x-token=authz-token-2c9a")
    );
}

#[test]
fn a_custom_authorizer_on_443_offers_alpn_mqtt() {
    // The broker URL says 443, where the ALPN is decided; a CONNECT proxy takes the connection
    // to the test server on its free port, so that nothing needs to bind 443.
    let pki = pki();
    let server = TlsServer::start(0, &pki.server, &pki.ca.pem, &["mqtt"]).unwrap();
    let proxy = Forwarder::to(server.port);
    run(mqtt_send().args([
        "-b",
        "ssl://localhost:443",
        "--proxy",
        &proxy.url(),
        "--root-ca-crt",
        pki.ca.pem.to_str().unwrap(),
        "--aws-authorizer",
        "a",
        "-t",
        "t",
        "-m",
        "x",
        "-q",
        "1",
    ]))
    .expect(0);
    assert_eq!(proxy.targets(), ["localhost:443"]);
    assert_eq!(server.seen()[0].alpn, vec!["mqtt".to_string()]);
    // With --alpn, that is what is offered.
    let server = TlsServer::start(0, &pki.server, &pki.ca.pem, &["other"]).unwrap();
    let proxy = Forwarder::to(server.port);
    run(mqtt_send().args([
        "-b",
        "ssl://localhost:443",
        "--proxy",
        &proxy.url(),
        "--root-ca-crt",
        pki.ca.pem.to_str().unwrap(),
        "--aws-authorizer",
        "a",
        "--alpn",
        "other",
        "-t",
        "t",
        "-m",
        "x",
        "-q",
        "1",
    ]))
    .expect(0);
    assert_eq!(server.seen()[0].alpn, vec!["other".to_string()]);
}
