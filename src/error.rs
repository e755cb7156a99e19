//! Errors for input that cannot be read at all. Everything else is a finding in the report.

use std::fmt;

/// Why an archive could not be read. Each variant says what and where, in one sentence.
#[derive(Debug)]
pub enum Error {
    /// The bytes are not a tar archive (nor a compressed one).
    NotTar { detail: String },
    /// A tar, but not an image archive (no manifest.json, index.json or repositories).
    NotImageArchive { detail: String },
    /// The archive ends in the middle of something.
    Truncated { entry: Option<String>, offset: u64, detail: String },
    /// A format strata knows of but cannot read (bzip2, ...).
    Unsupported { detail: String },
    /// A hard limit was hit (entry count, JSON size), to protect memory.
    Limit { detail: String },
    /// The source itself failed (disk error, Blob read error).
    Io { offset: Option<u64>, source: std::io::Error },
    /// A request named something that is not there (an image, a path, a blob).
    NotFound { what: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotTar { detail } => write!(f, "not a tar archive: {detail}"),
            Error::NotImageArchive { detail } => write!(f, "not an image archive: {detail}"),
            Error::Truncated { entry: Some(e), offset, detail } => {
                write!(f, "archive is truncated in entry {e:?} at byte {offset}: {detail}")
            }
            Error::Truncated { entry: None, offset, detail } => {
                write!(f, "archive is truncated at byte {offset}: {detail}")
            }
            Error::Unsupported { detail } => write!(f, "unsupported: {detail}"),
            Error::Limit { detail } => write!(f, "limit exceeded: {detail}"),
            Error::Io { offset: Some(o), source } => write!(f, "read error at byte {o}: {source}"),
            Error::Io { offset: None, source } => write!(f, "read error: {source}"),
            Error::NotFound { what } => write!(f, "not found: {what}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io { offset: None, source }
    }
}
