//! Where the message bytes come from: the command line, the config file, a file, or stdin.
//! Files and stdin are read byte for byte (no UTF-8 conversion), inside the run's deadline, so
//! a stdin that never closes cannot hang a cron job.

use std::path::PathBuf;

use tokio::io::AsyncReadExt;

use crate::io_reason::io_reason;
use crate::outcome::Failure;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--content TEXT` or `"content"` in the config file.
    Inline(Vec<u8>),
    /// `--content-file PATH`.
    File(PathBuf),
    /// `--content-file -`.
    Stdin,
}

impl Source {
    /// What to call this source in messages and `-v` logs.
    pub fn describe(&self) -> String {
        match self {
            Source::Inline(_) => "the content given".to_string(),
            Source::File(path) => format!("the content file {}", path.display()),
            Source::Stdin => "stdin".to_string(),
        }
    }

    /// All the bytes of the message.
    pub async fn read(&self) -> Result<Vec<u8>, Failure> {
        match self {
            Source::Inline(bytes) => Ok(bytes.clone()),
            Source::File(path) => {
                if path.is_dir() {
                    return Err(Failure::usage(format!(
                        "cannot read the content file {}: it is a directory",
                        path.display()
                    )));
                }
                tokio::fs::read(path).await.map_err(|e| {
                    Failure::usage(format!(
                        "cannot read the content file {}: {}",
                        path.display(),
                        io_reason(&e)
                    ))
                })
            }
            Source::Stdin => {
                let mut bytes = Vec::new();
                tokio::io::stdin()
                    .read_to_end(&mut bytes)
                    .await
                    .map_err(|e| {
                        Failure::usage(format!(
                            "cannot read the message from stdin: {}",
                            io_reason(&e)
                        ))
                    })?;
                Ok(bytes)
            }
        }
    }
}
