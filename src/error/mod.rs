//! Failures as data. Each error type holds the facts of what went wrong (the file, the key, the
//! flag, the value where it is not a secret); its one `Display` turns them into the sentence a
//! user reads. Code that finds a problem builds a variant and never a sentence.

mod config;

pub use config::{ConfigError, Field, Got, JsonType, Kind, Origin, Problem, RedactedUrl, UrlError};

use crate::outcome::Failure;

/// Every configuration error is a usage error (exit 2): nothing was sent.
impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        Failure::usage(error.to_string())
    }
}
