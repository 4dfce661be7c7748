//! # plexus
//!
//! An epoll reactor and I/O-multiplexing runtime, and the two servers it drives: a Redis-compatible key-value
//! server and a framed RPC protocol. One thread, one `epoll` instance, a slab of connections.
//!
//! ## Layout
//!
//! | module | what it is | knows about |
//! |---|---|---|
//! | [`reactor`] | the event loop: `mio::Poll`, `Slab` of connections, timers, cross-thread [`reactor::Handle`], backpressure, deferred close | sockets, bytes |
//! | [`net`] | listeners (`socket2`), streams, non-blocking connect, the `writev` output buffer | sockets, bytes |
//! | [`kv`] | the Redis-compatible server: RESP codec, command table, store, expiry, configuration | RESP |
//! | [`rpc`] | the framed RPC protocol: frames, streams, deadlines, status codes | RPC frames |
//! | [`echo`] | the smallest protocol, for tests, benchmarks and the third teaching example | nothing |
//! | [`app`] | `plexus server` assembled: configuration, listeners, reactor | everything |
//! | [`bench`] | `plexus bench`: a load generator on the reactor, and the reactor-vs-threads-vs-Redis lab | RESP replies, `/proc` |
//!
//! Dependencies point one way: `reactor` and `net` know nothing of RESP or RPC; `kv` and `rpc` plug into the
//! reactor through the [`reactor::Protocol`] trait; `app` and the binary sit on top.
//!
//! ## How bytes flow (a `GET` on the KV server)
//!
//! ```text
//!  socket --read (until WouldBlock)--> Conn input buffer                          [reactor]
//!     --Protocol::data--> resp::Decoder (resumable, zero-copy argv)               [kv::server, kv::resp]
//!     --> cmd::Table lookup + arity + auth --> strings::get(ctx, argv)           [kv::exec, kv::cmd]
//!     --> db::Db lookup (lazy expiry) --> reply::Reply appends `$5\r\nhello\r\n`  [kv::db, kv::reply]
//!     --> Conn::out (OutBuf) --flush phase, once per tick--> writev --> socket    [reactor, net]
//! ```
//!
//! Start reading at [`reactor`] (the loop and its rules), then [`kv::server`] (how a protocol uses it). The
//! `examples/` directory builds up to the reactor from raw `epoll`, and `docs/reactor.md` explains why.
pub mod app;
pub mod bench;
pub mod echo;
pub mod kv;
pub mod net;
pub mod reactor;
pub mod rpc;
pub mod server;
