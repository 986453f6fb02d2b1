//! AWS Signature Version 4, as much of it as a presigned WebSocket URL needs, on `ring`
//! (HMAC-SHA256, SHA-256). Why not the `aws-sigv4` crate: it brings about 39 crates into the
//! build (the smithy runtime, http types, time, ...) and its newest release needs a newer Rust
//! than our rust-version (1.88), for what is some 100 lines here, checked against AWS's published
//! test suite (the tests below) and an independent implementation (tests/sigv4.py).

use std::time::{SystemTime, UNIX_EPOCH};

use ring::{digest, hmac};

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// A request to sign: the method, the path as sent, the query pairs (not encoded), the headers
/// to sign (names in any case), and the hex SHA-256 of the body.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    pub headers: &'a [(&'a str, &'a str)],
    pub payload_hash: &'a str,
}

/// The date and time of a signature: `20150830T123600Z` and its date `20150830`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub datetime: String,
}

impl Stamp {
    pub fn at(time: SystemTime) -> Self {
        let seconds = time
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let days = (seconds / 86_400) as i64;
        let (year, month, day) = civil_from_days(days);
        let rest = seconds % 86_400;
        Stamp {
            datetime: format!(
                "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
                rest / 3600,
                rest % 3600 / 60,
                rest % 60
            ),
        }
    }

    pub fn date(&self) -> &str {
        &self.datetime[..8]
    }
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// RFC 3986 percent-encoding as SigV4 wants it: everything but `A-Z a-z 0-9 - . _ ~` (and `/`
/// when `keep_slash`), in upper-case hex.
pub fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && byte == b'/')
        {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

/// The query as SigV4 signs it: each key and value encoded, sorted by key then value.
pub fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical request and the signed-headers list.
pub fn canonical_request(request: &Request<'_>) -> (String, String) {
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| {
            let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
            (name.to_ascii_lowercase(), value)
        })
        .collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let signed: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
    let signed = signed.join(";");
    let creq = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed}\n{}",
        request.method,
        uri_encode(request.path, true),
        canonical_query(request.query),
        request.payload_hash
    );
    (creq, signed)
}

/// `date/region/service/aws4_request`.
pub fn scope(stamp: &Stamp, region: &str, service: &str) -> String {
    format!("{}/{region}/{service}/aws4_request", stamp.date())
}

pub fn string_to_sign(stamp: &Stamp, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}\n{scope}\n{}",
        stamp.datetime,
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The hex signature of `string_to_sign` with the key derived from the secret.
pub fn signature(
    secret: &str,
    stamp: &Stamp,
    region: &str,
    service: &str,
    string_to_sign: &str,
) -> String {
    let step = |key: &[u8], data: &str| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
    };
    let date = step(format!("AWS4{secret}").as_bytes(), stamp.date());
    let region = step(date.as_ref(), region);
    let service = step(region.as_ref(), service);
    let signing = step(service.as_ref(), "aws4_request");
    hex(step(signing.as_ref(), string_to_sign).as_ref())
}

/// The `Authorization` header of a request signed with `access_key`/`secret` (what AWS's test
/// suite checks; a presigned URL carries the same signature in its query).
#[cfg(test)]
pub fn authorization(
    request: &Request<'_>,
    access_key: &str,
    secret: &str,
    stamp: &Stamp,
    region: &str,
    service: &str,
) -> String {
    let (creq, signed) = canonical_request(request);
    let scope = scope(stamp, region, service);
    let sts = string_to_sign(stamp, &scope, &creq);
    let signature = signature(secret, stamp, region, service, &sts);
    format!(
        "{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
}

/// The keys a signature is made with.
pub struct Keys<'a> {
    pub access_key: &'a str,
    pub secret: &'a str,
    pub session_token: Option<&'a str>,
}

/// A presigned `GET path?query` for `host` (the query authenticates; only `host` is signed;
/// `path` is in URL form, percent-encoded where it needs to be), as AWS IoT takes for MQTT over
/// WebSockets. The session token, when there is one, is appended
/// after signing, as AWS IoT wants it.
pub fn presign(
    path: &str,
    host: &str,
    keys: &Keys<'_>,
    stamp: &Stamp,
    region: &str,
    service: &str,
) -> String {
    let Keys {
        access_key,
        secret,
        session_token,
    } = *keys;
    let scope = scope(stamp, region, service);
    let credential = format!("{access_key}/{scope}");
    let query = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", credential.as_str()),
        ("X-Amz-Date", stamp.datetime.as_str()),
        ("X-Amz-SignedHeaders", "host"),
    ];
    let request = Request {
        method: "GET",
        path,
        query: &query,
        headers: &[("host", host)],
        payload_hash: &sha256_hex(b""),
    };
    let (creq, _) = canonical_request(&request);
    let sts = string_to_sign(stamp, &scope, &creq);
    let signature = signature(secret, stamp, region, service, &sts);
    // The path goes out as the URL gives it (already in URL form); only the canonical request
    // encodes it (again), as AWS does for every service but S3.
    let mut target = format!(
        "{path}?{}&X-Amz-Signature={signature}",
        canonical_query(&query)
    );
    if let Some(token) = session_token {
        target.push_str("&X-Amz-Security-Token=");
        target.push_str(&uri_encode(token, false));
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    // AWS's Signature Version 4 test suite (aws-sig-v4-test-suite): credentials, date, region
    // and service of every case, and the expected Authorization headers.
    const KEY: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const AUTHZ: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=";

    fn stamp() -> Stamp {
        Stamp {
            datetime: "20150830T123600Z".into(),
        }
    }

    fn suite(method: &str, path: &str, query: &[(&str, &str)]) -> (String, String) {
        let request = Request {
            method,
            path,
            query,
            headers: &[
                ("Host", "example.amazonaws.com"),
                ("X-Amz-Date", "20150830T123600Z"),
            ],
            payload_hash: EMPTY,
        };
        (
            canonical_request(&request).0,
            authorization(&request, KEY, SECRET, &stamp(), "us-east-1", "service"),
        )
    }

    #[test]
    fn aws_test_suite_get_vanilla() {
        let (creq, authz) = suite("GET", "/", &[]);
        assert_eq!(
            creq,
            format!(
                "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
                 host;x-amz-date\n{EMPTY}"
            )
        );
        assert_eq!(
            authz,
            format!("{AUTHZ}5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        );
        let (_, authz) = suite("POST", "/", &[]);
        assert_eq!(
            authz,
            format!("{AUTHZ}5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
        );
    }

    #[test]
    fn aws_test_suite_query_order_key_case() {
        let (creq, authz) = suite("GET", "/", &[("Param2", "value2"), ("Param1", "value1")]);
        assert!(creq.contains("\nParam1=value1&Param2=value2\n"), "{creq}");
        assert_eq!(
            authz,
            format!("{AUTHZ}b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
        );
    }

    #[test]
    fn aws_test_suite_query_unreserved_and_utf8() {
        let unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let (creq, authz) = suite("GET", "/", &[(unreserved, unreserved)]);
        assert!(
            creq.contains(&format!("\n{unreserved}={unreserved}\n")),
            "{creq}"
        );
        assert_eq!(
            authz,
            format!("{AUTHZ}9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197")
        );
        let (creq, authz) = suite("GET", "/", &[("ሴ", "bar")]);
        assert!(creq.contains("\n%E1%88%B4=bar\n"), "{creq}");
        assert_eq!(
            authz,
            format!("{AUTHZ}2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04")
        );
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        let at = |secs: u64| Stamp::at(UNIX_EPOCH + std::time::Duration::from_secs(secs)).datetime;
        assert_eq!(at(0), "19700101T000000Z");
        assert_eq!(at(1_440_938_160), "20150830T123600Z");
        assert_eq!(at(951_782_400), "20000229T000000Z");
        assert_eq!(at(4_102_444_799), "20991231T235959Z");
    }

    #[test]
    fn a_presigned_url_appends_the_token_after_the_signature() {
        let target = presign(
            "/mqtt",
            "example.iot.us-east-1.amazonaws.com",
            &Keys {
                access_key: KEY,
                secret: SECRET,
                session_token: Some("tok/en+="),
            },
            &stamp(),
            "us-east-1",
            "iotdevicegateway",
        );
        let (path, query) = target.split_once('?').unwrap();
        assert_eq!(path, "/mqtt");
        let names: Vec<&str> = query
            .split('&')
            .map(|p| p.split('=').next().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "X-Amz-Algorithm",
                "X-Amz-Credential",
                "X-Amz-Date",
                "X-Amz-SignedHeaders",
                "X-Amz-Signature",
                "X-Amz-Security-Token"
            ]
        );
        assert!(query.contains(
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fiotdevicegateway%2Faws4_request"
        ));
        assert!(
            query.ends_with("&X-Amz-Security-Token=tok%2Fen%2B%3D"),
            "{query}"
        );
        // Without a token the signature is the same: the token is not signed.
        let bare = presign(
            "/mqtt",
            "example.iot.us-east-1.amazonaws.com",
            &Keys {
                access_key: KEY,
                secret: SECRET,
                session_token: None,
            },
            &stamp(),
            "us-east-1",
            "iotdevicegateway",
        );
        assert!(target.starts_with(&bare), "{target}\n{bare}");
    }
}
