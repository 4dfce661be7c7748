//! The Redis-compatible key-value server: its commands, store and configuration.
pub mod config;
