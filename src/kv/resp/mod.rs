//! RESP, the Redis wire protocol: requests in, replies out. Pure byte work, no I/O.
//!
//! ```text
//!  socket --read--> BytesMut --Decoder::decode--> Args (slices of that BytesMut)
//!                                                   |
//!                                                command
//!                                                   v
//!  socket <-write-- BytesMut <--Encoder::bulk/...-- reply
//! ```
//!
//! The [`Decoder`] parses requests exactly as Redis 7.0's `processInputBuffer` does (multibulk `*N\r\n$L\r\n...`
//! and telnet-style inline lines), but keeps its parse position between calls so that a request arriving in many
//! small reads is scanned once. The [`Encoder`] writes RESP2 or RESP3 replies, picking each type's RESP2 fallback
//! (a map becomes a flat array, a double a bulk string, ...) the way Redis does for `HELLO 2` clients.
mod decode;
mod encode;

pub use decode::{peek_second_args, split_args, Args, Decoder, Limits, ProtocolError};
pub use encode::{Encoder, Resp};
