//! Command errors, each with the exact text Redis 7.0 replies with.
//!
//! Handlers return `Err(CmdError)`; the dispatcher writes it as a RESP error (`-ERR ...`, `-WRONGTYPE ...`). Keeping
//! the texts in one enum means one place to compare against Redis, and `docs/errors.md` lists them.

use std::borrow::Cow;
use std::fmt;

/// An error reply. `Display` renders the full text after the `-`, prefix included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmdError {
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`
    WrongType,
    /// `ERR value is not an integer or out of range`
    NotInteger,
    /// `ERR value is not a valid float`
    NotFloat,
    /// `ERR syntax error`
    Syntax,
    /// `ERR increment or decrement would overflow`
    Overflow,
    /// `ERR no such key`
    NoSuchKey,
    /// `ERR index out of range`
    IndexOutOfRange,
    /// `ERR invalid expire time in '<cmd>' command`
    InvalidExpire(&'static str),
    /// `ERR DB index is out of range`
    DbIndexOutOfRange,
    /// `NOAUTH Authentication required.`
    NoAuth,
    /// `WRONGPASS invalid username-password pair or user is disabled.`
    WrongPass,
    /// `ERR wrong number of arguments for '<cmd>' command`
    Arity(String),
    /// Any other error, with its full text including the prefix (e.g. `ERR ...`, `EXECABORT ...`).
    Other(Cow<'static, str>),
}

/// Shorthand for an `ERR ...` error with a fixed text.
pub const fn err(text: &'static str) -> CmdError {
    CmdError::Other(Cow::Borrowed(text))
}

/// Result of a command handler.
pub type CmdResult = Result<(), CmdError>;

impl CmdError {
    /// An error with a formatted text. The text must start with its prefix (`ERR`, `EXECABORT`, ...).
    pub fn msg(text: impl Into<String>) -> CmdError {
        CmdError::Other(Cow::Owned(text.into()))
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmdError::WrongType => f.write_str("WRONGTYPE Operation against a key holding the wrong kind of value"),
            CmdError::NotInteger => f.write_str("ERR value is not an integer or out of range"),
            CmdError::NotFloat => f.write_str("ERR value is not a valid float"),
            CmdError::Syntax => f.write_str("ERR syntax error"),
            CmdError::Overflow => f.write_str("ERR increment or decrement would overflow"),
            CmdError::NoSuchKey => f.write_str("ERR no such key"),
            CmdError::IndexOutOfRange => f.write_str("ERR index out of range"),
            CmdError::InvalidExpire(cmd) => write!(f, "ERR invalid expire time in '{cmd}' command"),
            CmdError::DbIndexOutOfRange => f.write_str("ERR DB index is out of range"),
            CmdError::NoAuth => f.write_str("NOAUTH Authentication required."),
            CmdError::WrongPass => f.write_str("WRONGPASS invalid username-password pair or user is disabled."),
            CmdError::Arity(cmd) => write!(f, "ERR wrong number of arguments for '{cmd}' command"),
            CmdError::Other(text) => f.write_str(text),
        }
    }
}
