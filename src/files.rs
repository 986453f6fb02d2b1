//! Reading the small files a user names (the config file, the password file), and an I/O error
//! in a few words for the sentences that name a file. A leaf module, so that every module that
//! reads a file can use it without importing the module that reads another.

use std::fmt;
use std::fs::File;
use std::io::{self, ErrorKind, Read};
use std::path::Path;

/// The whole of the file at `path`, if it holds at most `cap` bytes. At most `cap + 1` bytes
/// are read, so a huge file or an endless one (`/dev/zero`) costs no more than that. A file
/// that is not a regular file (a FIFO, `/dev/stdin`, a process substitution) is read like any
/// other, until its end or the cap.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let file = File::open(path).map_err(ReadError::Io)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge { cap });
    }
    Ok(bytes)
}

/// Why [`read_capped`] returned no bytes.
#[derive(Debug)]
pub enum ReadError {
    /// The file cannot be opened or read.
    Io(io::Error),
    /// The file holds more than `cap` bytes.
    TooLarge { cap: u64 },
}

/// A size in bytes as a person writes it: "64 KiB", "1 MiB", "100 bytes".
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KIB: u64 = 1024;
        match self.0 {
            n if n >= KIB * KIB && n % (KIB * KIB) == 0 => write!(f, "{} MiB", n / (KIB * KIB)),
            n if n >= KIB && n % KIB == 0 => write!(f, "{} KiB", n / KIB),
            1 => f.write_str("1 byte"),
            n => write!(f, "{n} bytes"),
        }
    }
}

/// A short reason for an I/O error, without Rust's "(os error 2)" noise.
pub fn io_reason(error: &io::Error) -> String {
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
    use std::io::Error;

    #[test]
    fn reasons_are_short() {
        assert_eq!(io_reason(&Error::from(ErrorKind::NotFound)), "no such file");
        assert_eq!(
            io_reason(&Error::from_raw_os_error(28)),
            "No space left on device"
        );
    }

    #[test]
    fn a_file_up_to_the_cap_is_read_whole_and_a_larger_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_capped(&path, 10).unwrap(), b"0123456789");
        assert!(matches!(
            read_capped(&path, 9),
            Err(ReadError::TooLarge { cap: 9 })
        ));
        assert!(matches!(
            read_capped(&dir.path().join("none"), 9),
            Err(ReadError::Io(e)) if e.kind() == ErrorKind::NotFound
        ));
        assert!(matches!(
            read_capped(dir.path(), 9),
            Err(ReadError::Io(e)) if e.kind() == ErrorKind::IsADirectory
        ));
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_file_stops_at_the_cap() {
        assert!(matches!(
            read_capped(Path::new("/dev/zero"), 1 << 20),
            Err(ReadError::TooLarge { cap }) if cap == 1 << 20
        ));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(Size(1 << 20).to_string(), "1 MiB");
        assert_eq!(Size(64 << 10).to_string(), "64 KiB");
        assert_eq!(Size(1000).to_string(), "1000 bytes");
        assert_eq!(Size(1).to_string(), "1 byte");
    }
}
