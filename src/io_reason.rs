//! An I/O error in a few words, for sentences that name a file: "no such file", "permission
//! denied". A leaf module, so that every module that reads a file can use it without importing
//! the module that reads another.

use std::io::{Error, ErrorKind};

/// A short reason for an I/O error, without Rust's "(os error 2)" noise.
pub fn io_reason(error: &Error) -> String {
    match error.kind() {
        ErrorKind::NotFound => "no such file".to_string(),
        ErrorKind::PermissionDenied => "permission denied".to_string(),
        ErrorKind::IsADirectory => "it is a directory".to_string(),
        _ => {
            let text = error.to_string();
            match text.find(" (os error") {
                Some(at) => text[..at].to_string(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_short() {
        assert_eq!(io_reason(&Error::from(ErrorKind::NotFound)), "no such file");
        assert_eq!(
            io_reason(&Error::from_raw_os_error(28)),
            "No space left on device"
        );
    }
}
