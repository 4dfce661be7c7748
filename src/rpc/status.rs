//! Call outcomes: the gRPC status code space and the `Status` a call ends with.
//!
//! Every call ends with exactly one [`Status`]: the server sends it in a STATUS frame, or the client makes one up
//! locally when the call fails before the server could answer (deadline, lost connection, GOAWAY). The numbering is
//! gRPC's, so logs, dashboards and HTTP gateways that already understand gRPC codes understand ours; see
//! `docs/rpc-protocol.md` ("Status codes") for which codes the framework itself emits and when.
//!
//! Data flow: frame decoder -> `Code::from_wire` (unknown numbers become `UNKNOWN`, as gRPC requires) ->
//! `Status` handed to the caller; in the other direction a handler's `Status` -> STATUS frame encoder.

use std::fmt;

use bytes::Bytes;

use super::frame::Metadata;

/// A gRPC status code. The discriminants are the wire values.
///
/// Descriptions follow `google.rpc.Code`; the HTTP column of `docs/errors.md` is generated from
/// [`Code::http_status`] by hand, so keep the two in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Code {
    /// Not an error: the call succeeded.
    Ok = 0,
    /// The call was cancelled, usually by the caller (CANCEL frame, or the client dropped the call).
    Cancelled = 1,
    /// An error with no better code; also what an unknown code number received from a peer becomes.
    Unknown = 2,
    /// The client sent a bad argument, independent of the server's state.
    InvalidArgument = 3,
    /// The deadline passed before the call finished. The call may still have taken effect.
    DeadlineExceeded = 4,
    /// The requested entity does not exist.
    NotFound = 5,
    /// The entity the client tried to create already exists.
    AlreadyExists = 6,
    /// The caller is known but not allowed to do this.
    PermissionDenied = 7,
    /// A quota or limit was hit (message too large, metadata too large, rate limit).
    ResourceExhausted = 8,
    /// The system is not in a state where this call can run (retrying will not help until it changes).
    FailedPrecondition = 9,
    /// A concurrency conflict; retry at a higher level (re-read, then re-try the whole transaction).
    Aborted = 10,
    /// The request went past a valid range (e.g. reading past the end).
    OutOfRange = 11,
    /// The method does not exist, or was called with the wrong call kind / message count.
    Unimplemented = 12,
    /// An invariant broke: a malformed call frame, a message that failed to deserialise.
    Internal = 13,
    /// The service is (transiently) unavailable: draining, overloaded, connection lost. Retryable.
    Unavailable = 14,
    /// Unrecoverable data loss or corruption.
    DataLoss = 15,
    /// The caller is not authenticated (missing or bad credentials in metadata).
    Unauthenticated = 16,
}

impl Code {
    /// Every code, in wire order; handy for tables and exhaustive tests.
    pub const ALL: [Code; 17] = [
        Code::Ok,
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    /// The code for a wire value, or `None` if the number is not one of gRPC's 17.
    pub fn from_u16(value: u16) -> Option<Code> {
        Code::ALL.get(usize::from(value)).copied()
    }

    /// The code for a wire value received from a peer. Unknown numbers map to `UNKNOWN`, exactly as gRPC
    /// prescribes, so a newer peer's code degrades instead of failing the call in a second way.
    pub fn from_wire(value: u16) -> Code {
        Code::from_u16(value).unwrap_or(Code::Unknown)
    }

    /// The wire value.
    pub fn as_u16(self) -> u16 {
        self as u16
    }

    /// The canonical upper-case name, as gRPC and `google.rpc.Code` spell it (`DEADLINE_EXCEEDED`).
    pub fn name(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// Whether the code means "transient: try the same call again, with backoff".
    ///
    /// Only `UNAVAILABLE` qualifies. When the framework emits it for a refused call (server draining, too many
    /// streams) the server guarantees it did not start the call, so any method may be retried; when it reports a
    /// connection lost mid-call, the call may have run, so only idempotent methods should be (gRPC gives the same
    /// advice). Other codes are retryable only with knowledge the framework lacks, so they answer `false`:
    /// `ABORTED` means "redo the whole read-modify-write", `RESOURCE_EXHAUSTED` may be a quota that refills or a
    /// message that will never fit, `DEADLINE_EXCEEDED` may already have taken effect.
    pub fn is_retryable(self) -> bool {
        matches!(self, Code::Unavailable)
    }

    /// The HTTP status an HTTP/JSON gateway returns for this code, per the mapping documented in
    /// `google/rpc/code.proto` (499 is nginx's "Client Closed Request").
    pub fn http_status(self) -> u16 {
        match self {
            Code::Ok => 200,
            Code::Cancelled => 499,
            Code::Unknown => 500,
            Code::InvalidArgument => 400,
            Code::DeadlineExceeded => 504,
            Code::NotFound => 404,
            Code::AlreadyExists => 409,
            Code::PermissionDenied => 403,
            Code::ResourceExhausted => 429,
            Code::FailedPrecondition => 400,
            Code::Aborted => 409,
            Code::OutOfRange => 400,
            Code::Unimplemented => 501,
            Code::Internal => 500,
            Code::Unavailable => 503,
            Code::DataLoss => 500,
            Code::Unauthenticated => 401,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a call ended: a code, a human-readable message and trailing metadata.
///
/// The message is bytes, not `String`: it crosses the wire, and a peer that sends invalid UTF-8 must not make us
/// fail (or allocate to repair it). It SHOULD be UTF-8 text meant for developers, not end users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// What happened.
    pub code: Code,
    /// Developer-facing detail; may be empty. At most `u16::MAX` bytes on the wire.
    pub message: Bytes,
    /// Trailing metadata (e.g. `retry-after-ms`, debug info), sent with the STATUS frame.
    pub metadata: Metadata,
}

impl Status {
    /// A status with this code and message and no trailing metadata.
    pub fn new(code: Code, message: impl Into<Bytes>) -> Status {
        Status { code, message: message.into(), metadata: Metadata::new() }
    }

    /// The successful outcome.
    pub fn ok() -> Status {
        Status::new(Code::Ok, Bytes::new())
    }

    /// `CANCELLED` with this message.
    pub fn cancelled(message: impl Into<Bytes>) -> Status {
        Status::new(Code::Cancelled, message)
    }

    /// `DEADLINE_EXCEEDED` with this message.
    pub fn deadline_exceeded(message: impl Into<Bytes>) -> Status {
        Status::new(Code::DeadlineExceeded, message)
    }

    /// `RESOURCE_EXHAUSTED` with this message.
    pub fn resource_exhausted(message: impl Into<Bytes>) -> Status {
        Status::new(Code::ResourceExhausted, message)
    }

    /// `UNIMPLEMENTED` with this message.
    pub fn unimplemented(message: impl Into<Bytes>) -> Status {
        Status::new(Code::Unimplemented, message)
    }

    /// `INTERNAL` with this message.
    pub fn internal(message: impl Into<Bytes>) -> Status {
        Status::new(Code::Internal, message)
    }

    /// `UNAVAILABLE` with this message.
    pub fn unavailable(message: impl Into<Bytes>) -> Status {
        Status::new(Code::Unavailable, message)
    }

    /// Whether the call succeeded.
    pub fn is_ok(&self) -> bool {
        self.code == Code::Ok
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, String::from_utf8_lossy(&self.message))
    }
}

impl std::error::Error for Status {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_are_grpcs() {
        for (i, code) in Code::ALL.iter().enumerate() {
            assert_eq!(usize::from(code.as_u16()), i);
            assert_eq!(Code::from_u16(code.as_u16()), Some(*code));
        }
        assert_eq!(Code::DeadlineExceeded.as_u16(), 4);
        assert_eq!(Code::Unauthenticated.as_u16(), 16);
        assert_eq!(Code::from_u16(17), None);
        assert_eq!(Code::from_u16(u16::MAX), None);
    }

    #[test]
    fn unknown_wire_codes_become_unknown() {
        assert_eq!(Code::from_wire(17), Code::Unknown);
        assert_eq!(Code::from_wire(999), Code::Unknown);
        assert_eq!(Code::from_wire(14), Code::Unavailable);
    }

    #[test]
    fn names_are_canonical() {
        assert_eq!(Code::DeadlineExceeded.name(), "DEADLINE_EXCEEDED");
        assert_eq!(Code::Ok.to_string(), "OK");
        assert_eq!(Code::Cancelled.name(), "CANCELLED");
        for code in Code::ALL {
            let name = code.name();
            assert!(name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "{name}");
        }
    }

    #[test]
    fn only_unavailable_is_blindly_retryable() {
        let retryable: Vec<Code> = Code::ALL.into_iter().filter(|c| c.is_retryable()).collect();
        assert_eq!(retryable, vec![Code::Unavailable]);
    }

    #[test]
    fn http_mapping_matches_google_rpc_code() {
        let expected: [u16; 17] = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];
        for (code, http) in Code::ALL.iter().zip(expected) {
            assert_eq!(code.http_status(), http, "{code}");
        }
    }

    #[test]
    fn status_display_is_code_then_message() {
        let status = Status::unavailable("server draining");
        assert_eq!(status.to_string(), "UNAVAILABLE: server draining");
        assert!(!status.is_ok());
        assert!(Status::ok().is_ok());
        // Invalid UTF-8 from a peer is shown, not rejected.
        let odd = Status::new(Code::Internal, Bytes::from_static(b"\xffbad"));
        assert_eq!(odd.to_string(), "INTERNAL: \u{fffd}bad");
    }
}
