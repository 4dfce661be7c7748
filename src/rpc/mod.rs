//! plexus's binary RPC protocol: gRPC's semantics on a hand-written framing.
//!
//! Four call kinds (unary, server-streaming, client-streaming, bidi), deadlines, cancellation, gRPC status codes
//! and metadata, with many calls multiplexed on one TCP connection and served by the same single-threaded reactor
//! as the KV server. The wire format is specified in `docs/rpc-protocol.md`; the design choices (what we took from
//! HTTP/2 + gRPC, Finagle Mux and Thrift, and what we dropped) are in `docs/rpc.md`.
//!
//! How bytes flow through this module:
//!
//! ```text
//! socket -> reactor -> input BytesMut -> frame::FrameDecoder -> Frame -> (connection state machine, later)
//!        -> frame::MessageAssembler -> message bytes -> (serde/postcard -> handler, later)
//! handler -> Status / message bytes -> frame::encode / frame::encode_message -> output BytesMut -> reactor -> socket
//! ```
//!
//! - [`frame`]: frame types, encoder, resumable limit-enforcing decoder, message reassembly, typed errors and what
//!   the peer gets for each.
//! - [`status`]: the gRPC status code space and the `Status` every call ends with.

pub mod frame;
pub mod status;

pub use frame::{Call, CallKind, Frame, FrameDecoder, FrameError, Metadata, Role, Settings};
pub use status::{Code, Status};
