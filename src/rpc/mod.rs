//! plexus's binary RPC protocol: gRPC's semantics on a hand-written framing, served by the reactor.
//!
//! Four call kinds (unary, server-streaming, client-streaming, bidi), deadlines, cancellation, gRPC status codes
//! and metadata, with many calls multiplexed on one TCP connection and served by the same single-threaded reactor
//! as the KV server. The wire format is specified in `docs/rpc-protocol.md`; the design choices (what we took from
//! HTTP/2 + gRPC, Finagle Mux and Thrift, and what we dropped) are in `docs/rpc.md`.
//!
//! How bytes flow through this module, server side:
//!
//! ```text
//! socket -> reactor -> input BytesMut -> frame::FrameDecoder -> Frame -> server::ServerConn (per-stream states)
//!        -> frame::MessageAssembler -> message bytes -> message::Message::decode (postcard) -> service handler
//! handler -> return value / service::ServerStream (any thread, via the reactor Handle) -> stream queue
//!        -> flow::SendScheduler (round robin within windows) -> conn.out -> reactor -> socket
//! ```
//!
//! and client side `client::Client` (blocking facade, any thread) -> `Handle` -> `client::RpcClient` (its own
//! reactor) -> frames -> server, with responses back through crossbeam channels.
//!
//! - [`frame`]: frame types, encoder, resumable limit-enforcing decoder, message reassembly, typed errors and what
//!   the peer gets for each.
//! - [`status`]: the gRPC status code space and the `Status` every call ends with.
//! - [`message`]: serde + postcard messages, or [`message::Raw`] bytes.
//! - [`flow`] (internal): flow-control windows and the fair writer shared by both ends.
//! - [`service`]: the [`Router`] that declares a service, handler contexts and response sinks.
//! - [`middleware`]: interceptors: trace logging, token auth, rate limit, metrics.
//! - [`offload`]: a worker pool for blocking work.
//! - [`server`]: the server protocol ([`RpcServer`]).
//! - [`client`]: the reactor-driven client and its blocking facade.
//! - [`demo`]: a small service exercising every call kind.

pub mod client;
pub mod demo;
mod fastmap;
mod flow;
pub mod frame;
pub mod message;
pub mod middleware;
pub mod offload;
pub mod server;
pub mod service;
pub mod status;

pub use client::{CallOptions, Client, ClientConfig, RpcClient};
pub use frame::{Call, CallKind, Frame, FrameDecoder, FrameError, Metadata, Role, Settings};
pub use message::{Message, Raw};
pub use middleware::{Interceptor, Metrics, RateLimit, TokenAuth, TraceLog};
pub use offload::WorkerPool;
pub use server::{BackgroundServer, RpcServer, ServerConfig, ServerHost, ServerTimer};
pub use service::ServerEvent;
pub use service::{Ctx, Inbound, Router, SendError, ServerStream};
pub use status::{Code, Status};
