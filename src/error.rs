//! Errors for input that cannot be read at all. Everything else is a finding in the report.

use crate::codes::{Code, Message, Params};
use std::fmt;

/// Why an archive could not be read. Each variant says what and where, in one sentence.
/// The `detail` the core words itself is a coded message (the page words it too); a
/// `String` detail comes from code that passes on what a library said.
#[derive(Debug)]
pub enum Error {
    /// The bytes are not a tar archive (nor a compressed one).
    NotTar { detail: Message },
    /// A tar, but not an image archive (no manifest.json, index.json or repositories).
    NotImageArchive { detail: Message },
    /// The archive ends in the middle of something.
    Truncated { entry: Option<String>, offset: u64, detail: String },
    /// A format strata knows of but cannot read (bzip2, ...).
    Unsupported { detail: Message },
    /// A hard limit was hit (entry count, JSON size), to protect memory.
    Limit { detail: Message },
    /// The source itself failed (disk error, Blob read error).
    Io { offset: Option<u64>, source: std::io::Error },
    /// A request named something that is not there (an image, a path, a blob).
    NotFound { what: String },
}

impl Error {
    /// The error as a code with named parameters (its English text is the `Display`).
    pub fn message(&self) -> Message {
        match self {
            Error::NotTar { detail } => Message::new(Code::NotTar).with("detail", detail.clone()),
            Error::NotImageArchive { detail } => Message::new(Code::NotImageArchive).with("detail", detail.clone()),
            Error::Truncated { entry: Some(e), offset, detail } => {
                Message::new(Code::TruncatedInEntry).with("entry", e).with("offset", *offset).with("detail", detail)
            }
            Error::Truncated { entry: None, offset, detail } => {
                Message::new(Code::Truncated).with("offset", *offset).with("detail", detail)
            }
            Error::Unsupported { detail } => Message::new(Code::Unsupported).with("detail", detail.clone()),
            Error::Limit { detail } => Message::new(Code::LimitExceeded).with("detail", detail.clone()),
            Error::Io { offset: Some(o), source } => {
                Message::new(Code::ReadErrorAt).with("offset", *o).with("detail", source.to_string())
            }
            Error::Io { offset: None, source } => Message::new(Code::ReadError).with("detail", source.to_string()),
            Error::NotFound { what } => Message::new(Code::NotFound).with("what", what),
        }
    }

    /// The stable machine code (`not_tar`, `truncated_in_entry`, `limit_exceeded`, ...).
    pub fn code(&self) -> Code {
        self.message().code
    }

    /// The named parameters of [`Error::code`]'s template.
    pub fn params(&self) -> Params {
        self.message().params
    }
}

impl From<&Error> for Message {
    fn from(e: &Error) -> Message {
        e.message()
    }
}

impl From<Error> for Message {
    fn from(e: Error) -> Message {
        e.message()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message().english())
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io { offset: None, source }
    }
}
