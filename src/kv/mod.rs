//! The Redis-compatible key-value store: the in-memory data layer (keyspace, expiry, value types).
pub mod clock;
pub mod dict;
