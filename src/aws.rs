//! AWS IoT Core without a device certificate: MQTT over WebSockets presigned with SigV4 from IAM
//! credentials (`--aws-sigv4`: the environment a CI job's role step exports, or a profile's
//! static keys), and custom authorizers (`--aws-authorizer`: the username AWS documents).

use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::broker::{Broker, Host};
use crate::error::{AwsMissing, ConfigError};
use crate::log::verbose;
use crate::sigv4::{self, Keys, Stamp};
use crate::values::Secret;

/// The SigV4 service name of AWS IoT's MQTT (data plane) endpoint.
pub const SERVICE: &str = "iotdevicegateway";

/// The variables read, once, in `main` (tests pass their own).
pub const ENV_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "HOME",
];

use crate::env::Vars as EnvVars;

/// IAM credentials and the region to sign for. The secret key and the session token are
/// secrets: `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct Sigv4 {
    access_key: String,
    secret: Secret,
    session_token: Option<Secret>,
    pub region: String,
    /// Where the credentials came from, for `-v`.
    pub from: String,
}

impl fmt::Debug for Sigv4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Sigv4({}, {}, from {})",
            self.access_key, self.region, self.from
        )
    }
}

impl Sigv4 {
    /// The request target (`/mqtt?X-Amz-...`) of the WebSocket upgrade to `host`, signed now.
    pub fn presign(&self, path: &str, host: &str, now: SystemTime) -> String {
        let stamp = Stamp::at(now);
        verbose!(
            "signing the WebSocket URL with SigV4: access key {}, region {}, service {SERVICE}, \
             {}{} (credentials from {})",
            self.access_key,
            self.region,
            stamp.datetime,
            if self.session_token.is_some() {
                ", session token appended"
            } else {
                ""
            },
            self.from
        );
        sigv4::presign(
            path,
            host,
            &Keys {
                access_key: &self.access_key,
                secret: self.secret.expose(),
                session_token: self.session_token.as_ref().map(Secret::expose),
            },
            &stamp,
            &self.region,
            SERVICE,
        )
    }
}

fn get<'a>(vars: &'a EnvVars, var: &'static str) -> Result<Option<&'a str>, ConfigError> {
    match vars.iter().find(|(name, _)| *name == var) {
        None => Ok(None),
        Some((_, Ok(value))) => Ok(Some(value.trim())),
        Some((_, Err(()))) => Err(ConfigError::NotUnicode { var }),
    }
}

/// The credentials and region for `--aws-sigv4` with `broker`, or what is missing (exit 2).
pub fn sigv4(vars: &EnvVars, broker: &Broker) -> Result<Sigv4, ConfigError> {
    if !(broker.tls && broker.websocket.is_some()) {
        return Err(ConfigError::AwsSigv4NeedsWss {
            broker: broker.to_string(),
        });
    }
    let (access_key, secret, session_token, from) = credentials(vars)?;
    let region = match (get(vars, "AWS_REGION")?, get(vars, "AWS_DEFAULT_REGION")?) {
        (Some(region), _) | (None, Some(region)) => region.to_string(),
        (None, None) => region_of(&broker.host).ok_or_else(|| {
            ConfigError::AwsMissing(AwsMissing::Region {
                host: broker.host.to_string(),
            })
        })?,
    };
    Ok(Sigv4 {
        access_key,
        secret,
        session_token,
        region,
        from,
    })
}

type Credentials = (String, Secret, Option<Secret>, String);

fn credentials(vars: &EnvVars) -> Result<Credentials, ConfigError> {
    let token = get(vars, "AWS_SESSION_TOKEN")?.map(|t| Secret::new(t.to_string()));
    match (
        get(vars, "AWS_ACCESS_KEY_ID")?,
        get(vars, "AWS_SECRET_ACCESS_KEY")?,
    ) {
        (Some(id), Some(secret)) => {
            return Ok((
                id.to_string(),
                Secret::new(secret.to_string()),
                token,
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
            ));
        }
        (Some(_), None) => {
            return Err(ConfigError::AwsMissing(AwsMissing::Variable {
                missing: "AWS_SECRET_ACCESS_KEY",
                set: "AWS_ACCESS_KEY_ID",
            }));
        }
        (None, Some(_)) => {
            return Err(ConfigError::AwsMissing(AwsMissing::Variable {
                missing: "AWS_ACCESS_KEY_ID",
                set: "AWS_SECRET_ACCESS_KEY",
            }));
        }
        (None, None) => {}
    }
    let profile = get(vars, "AWS_PROFILE")?.unwrap_or("default").to_string();
    let file = match (
        get(vars, "AWS_SHARED_CREDENTIALS_FILE")?,
        get(vars, "HOME")?,
    ) {
        (Some(file), _) => PathBuf::from(file),
        (None, Some(home)) => PathBuf::from(home).join(".aws").join("credentials"),
        (None, None) => {
            return Err(ConfigError::AwsMissing(AwsMissing::Credentials {
                profile,
                file: None,
                why: "HOME is not set".into(),
            }));
        }
    };
    let missing = |why: String| {
        ConfigError::AwsMissing(AwsMissing::Credentials {
            profile: profile.clone(),
            file: Some(file.clone()),
            why,
        })
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(missing("the file does not exist".into()));
        }
        Err(e) => {
            return Err(missing(format!(
                "it cannot be read: {}",
                crate::files::io_reason(&e)
            )));
        }
    };
    let Some(keys) = profile_keys(&text, &profile) else {
        return Err(missing(format!("it has no [{profile}] section")));
    };
    let key = |name: &str| {
        keys.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    match (key("aws_access_key_id"), key("aws_secret_access_key")) {
        (Some(id), Some(secret)) => Ok((
            id,
            Secret::new(secret),
            // Not AWS_SESSION_TOKEN: as in AWS's SDKs, it goes only with the key variables.
            key("aws_session_token").map(Secret::new),
            format!("profile {profile} in {}", file.display()),
        )),
        _ => Err(missing(format!(
            "its [{profile}] section has no static keys (aws_access_key_id and \
             aws_secret_access_key; SSO, role and process profiles are not read)"
        ))),
    }
}

/// The `key = value` lines of `[profile]` in an AWS credentials file (INI).
fn profile_keys(text: &str, profile: &str) -> Option<Vec<(String, String)>> {
    let mut inside = false;
    let mut found = false;
    let mut keys = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = section.trim() == profile;
            found |= inside;
            continue;
        }
        if inside && let Some((key, value)) = line.split_once('=') {
            keys.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    found.then_some(keys)
}

/// The region of an AWS IoT endpoint, `….iot.<region>.amazonaws.com` (or `.com.cn`).
pub fn region_of(host: &Host) -> Option<String> {
    let Host::Name(name) = host else {
        return None;
    };
    let rest = name
        .strip_suffix(".amazonaws.com")
        .or_else(|| name.strip_suffix(".amazonaws.com.cn"))?;
    let (_, region) = rest.rsplit_once(".iot.")?;
    (!region.is_empty() && !region.contains('.')).then(|| region.to_string())
}

/// The username AWS IoT reads a custom authorizer from: `[username]?x-amz-customauthorizer-
/// name=NAME[&x-amz-customauthorizer-signature=SIG][&TOKENKEY=TOKEN]`, each value URL-encoded.
pub fn authorizer_username(
    username: Option<&str>,
    name: Option<&str>,
    token: Option<(&str, &str)>,
    signature: Option<&str>,
) -> String {
    let encode = |text: &str| sigv4::uri_encode(text, false);
    // Without a name, AWS IoT calls the account's default authorizer.
    let mut query = Vec::new();
    if let Some(name) = name {
        query.push(format!("x-amz-customauthorizer-name={}", encode(name)));
    }
    if let Some(signature) = signature {
        query.push(format!(
            "x-amz-customauthorizer-signature={}",
            encode(signature)
        ));
    }
    if let Some((key, value)) = token {
        query.push(format!("{}={}", encode(key), encode(value)));
    }
    format!("{}?{}", username.unwrap_or_default(), query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&'static str, &str)]) -> EnvVars {
        pairs.iter().map(|(k, v)| (*k, Ok(v.to_string()))).collect()
    }

    fn wss(host: &str) -> Broker {
        crate::broker::parse(&format!("wss://{host}/mqtt")).unwrap()
    }

    const ENDPOINT: &str = "a1b2c3-ats.iot.eu-west-1.amazonaws.com";

    #[test]
    fn region_from_the_endpoint_or_the_environment() {
        let keys = [
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ];
        assert_eq!(
            sigv4(&vars(&keys), &wss(ENDPOINT)).unwrap().region,
            "eu-west-1"
        );
        let mut with = keys.to_vec();
        with.push(("AWS_DEFAULT_REGION", "us-east-2"));
        assert_eq!(
            sigv4(&vars(&with), &wss(ENDPOINT)).unwrap().region,
            "us-east-2"
        );
        with.push(("AWS_REGION", "ap-south-1"));
        assert_eq!(
            sigv4(&vars(&with), &wss(ENDPOINT)).unwrap().region,
            "ap-south-1"
        );
        let error = sigv4(&vars(&keys), &wss("broker.example"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("AWS_REGION"), "{error}");
        assert_eq!(
            region_of(&Host::Name("x.iot.cn-north-1.amazonaws.com.cn".into())).as_deref(),
            Some("cn-north-1")
        );
    }

    #[test]
    fn what_is_missing_is_named_and_no_secret_shown() {
        let error = |pairs: &[(&'static str, &str)], url: &str| {
            sigv4(&vars(pairs), &crate::broker::parse(url).unwrap())
                .unwrap_err()
                .to_string()
        };
        let url = format!("wss://{ENDPOINT}/mqtt");
        let e = error(&[("AWS_ACCESS_KEY_ID", "AKID")], &url);
        assert!(e.contains("AWS_SECRET_ACCESS_KEY"), "{e}");
        let e = error(&[("AWS_SECRET_ACCESS_KEY", "sk-secret-1")], &url);
        assert!(
            e.contains("AWS_ACCESS_KEY_ID") && !e.contains("sk-secret-1"),
            "{e}"
        );
        let e = error(&[("HOME", "/nonexistent")], &url);
        assert!(e.contains("/nonexistent/.aws/credentials"), "{e}");
        assert!(e.contains("AWS_ACCESS_KEY_ID"), "{e}");
        let e = error(
            &[
                ("AWS_ACCESS_KEY_ID", "AKID"),
                ("AWS_SECRET_ACCESS_KEY", "s"),
            ],
            &format!("ssl://{ENDPOINT}:443"),
        );
        assert!(e.contains("wss://"), "{e}");
    }

    #[test]
    fn a_profile_with_static_keys() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials");
        std::fs::write(
            &file,
            "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n\
             # a comment\n[ci]\naws_access_key_id=AKIDCI\naws_secret_access_key=s2\n\
             aws_session_token=t2\n[sso]\nsso_session = x\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let load = |profile: Option<&str>| {
            let mut pairs = vec![("AWS_SHARED_CREDENTIALS_FILE", path)];
            if let Some(profile) = profile {
                pairs.push(("AWS_PROFILE", profile));
            }
            sigv4(&vars(&pairs), &wss(ENDPOINT))
        };
        let default = load(None).unwrap();
        assert_eq!(default.access_key, "AKIDDEFAULT");
        assert_eq!(default.secret.expose(), "s1");
        assert!(default.session_token.is_none());
        let ci = load(Some("ci")).unwrap();
        assert_eq!(
            (
                ci.access_key.as_str(),
                ci.session_token.as_ref().map(|t| t.expose().to_string())
            ),
            ("AKIDCI", Some("t2".to_string()))
        );
        assert!(format!("{ci:?}").contains("AKIDCI") && !format!("{ci:?}").contains("s2"));
        let e = load(Some("sso")).unwrap_err().to_string();
        assert!(e.contains("no static keys"), "{e}");
        let e = load(Some("nope")).unwrap_err().to_string();
        assert!(e.contains("no [nope] section"), "{e}");
    }

    #[test]
    fn the_custom_authorizer_username() {
        assert_eq!(
            authorizer_username(None, Some("my-authorizer"), None, None),
            "?x-amz-customauthorizer-name=my-authorizer"
        );
        assert_eq!(
            authorizer_username(
                Some("device1"),
                Some("my authorizer"),
                Some(("token", "a/b+c")),
                Some("sig=="),
            ),
            "device1?x-amz-customauthorizer-name=my%20authorizer\
             &x-amz-customauthorizer-signature=sig%3D%3D&token=a%2Fb%2Bc"
        );
        assert_eq!(
            authorizer_username(None, None, Some(("token", "t")), None),
            "?token=t"
        );
    }
}
