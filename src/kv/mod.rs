//! The Redis-compatible key-value store: the in-memory data layer (keyspace, expiry, value types).
pub mod clock;
pub mod db;
pub mod dict;
pub mod value;
pub mod zset;
