//! The Redis-compatible key-value server: everything above the reactor.
//!
//! Bytes read from a connection go to the [`resp`] decoder, which yields one command's arguments at a time as
//! slices of the connection's input buffer; the command runs against the store; its reply is appended to the
//! connection's output buffer by the [`resp`] encoder. [`num`] holds Redis's exact number parsing and printing
//! rules, and [`glob`] its `KEYS`/`SCAN MATCH`/`PSUBSCRIBE` pattern matcher. Nothing in here knows about sockets.
pub mod glob;
pub mod num;
pub mod resp;
