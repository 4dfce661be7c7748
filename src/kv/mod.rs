//! The Redis-compatible key-value server: everything above the reactor.
//!
//! ```text
//!  input bytes --resp::Decoder--> argv (slices of the input buffer)
//!     --exec::Engine::execute--> cmd::Table (dispatch, arity, auth) --> handler (strings.rs, keys.rs, ...)
//!     --> db::Db (dict.rs + expiry, value.rs, zset.rs) --> reply::Reply (resp::encode) --> output buffer
//! ```
//!
//! [`server`] plugs the engine into the reactor as a [`crate::reactor::Protocol`]. [`num`] holds Redis's exact
//! number parsing and printing rules, [`glob`] its `KEYS`/`SCAN MATCH`/`PSUBSCRIBE` pattern matcher, and
//! [`clock`] the injectable time source that keeps expiry testable without sleeping.
pub mod blocking;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod connection;
pub mod db;
pub mod dict;
pub mod error;
pub mod exec;
pub mod glob;
pub mod hashes;
pub mod keys;
pub mod lists;
pub mod num;
pub mod pubsub;
pub mod reply;
pub mod resp;
pub mod server;
pub mod server_cmds;
pub mod sets;
pub mod strings;
#[cfg(test)]
pub(crate) mod testing;
pub mod threads;
pub mod tx;
pub mod value;
pub mod zset;
pub mod zsets;
