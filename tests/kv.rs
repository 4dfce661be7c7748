//! Proves the KV server's protocol and connection handling against raw bytes and a real client (the `redis`
//! crate): exact replies of the connection commands, HELLO and RESP3, every hostile input of Redis's
//! `tests/unit/protocol.tcl`, inline commands, pipelining, AUTH, `maxclients`, backpressure, half-close, and the
//! `plexus` binary itself (flags, environment, SIGTERM).
//!
//! Servers run in-process through `support::start_server`, which picks the I/O model under test, so every test
//! here runs unchanged against another I/O model. Expected replies are Redis 7.0's, byte for byte; where plexus
//! differs from Redis the test says so. Every socket has timeouts and every child process dies with its test.

mod support;

include!("suites/kv.rs");
