//! Test support shared by the command families' unit tests: an engine with one client and a clock the test moves
//! by hand, and commands run as text with their replies returned as the exact RESP bytes.

use std::sync::Arc;

use super::clock::ManualClock;
use super::config::Config;
use super::exec::Engine;
use super::reply::Resp;
use super::value::Value;

/// 2023-11-14T22:13:20Z in Unix ms: any fixed "now" works.
pub const T0: u64 = 1_700_000_000_000;

/// Replies several families' tests expect, byte for byte.
pub const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
pub const SYNTAX: &str = "-ERR syntax error\r\n";
pub const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
pub const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";
/// The RESP2 null bulk string and the empty array.
pub const NULL2: &str = "$-1\r\n";
pub const EMPTY: &str = "*0\r\n";

/// An engine with one client (`c`) on database 0.
pub struct T {
    pub e: Engine,
    pub c: usize,
    pub clock: ManualClock,
}

impl T {
    pub fn new() -> T {
        let clock = ManualClock::new(T0);
        let mut e = Engine::new(Config::new(), Arc::new(clock.clone()));
        let c = e.add_client(0);
        T { e, c, clock }
    }

    /// Switches the client to RESP3, as `HELLO 3` would.
    pub fn resp3(&mut self) {
        self.e.clients[self.c].resp = Resp::V3;
    }

    /// Runs a command given as text arguments; returns the reply bytes as text.
    pub fn call(&mut self, args: &[&str]) -> String {
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.raw_text(&argv)
    }

    /// Runs a command written as space-separated words.
    pub fn cmd(&mut self, line: &str) -> String {
        let argv: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        self.raw_text(&argv)
    }

    /// Runs a command given as binary arguments.
    pub fn raw(&mut self, argv: &[&[u8]]) -> Vec<u8> {
        self.e.call(self.c, argv)
    }

    pub fn raw_text(&mut self, argv: &[&[u8]]) -> String {
        String::from_utf8(self.raw(argv)).expect("utf-8 reply")
    }

    pub fn now(&self) -> u64 {
        self.e.clock.now_ms()
    }

    pub fn exists(&mut self, key: &str) -> bool {
        let now = self.now();
        self.e.dbs[0].contains(key.as_bytes(), now)
    }

    /// The value under `key` in database 0.
    pub fn value(&mut self, key: &str) -> Option<&Value> {
        let now = self.now();
        self.e.dbs[0].get(key.as_bytes(), now)
    }

    /// What `OBJECT ENCODING` would say, or "none".
    pub fn encoding(&mut self, key: &str) -> &'static str {
        self.value(key).map_or("none", Value::encoding)
    }

    /// The key's deadline in Unix ms, if it has one.
    pub fn deadline(&mut self, key: &str) -> Option<u64> {
        let now = self.now();
        self.e.dbs[0].expire_at(key.as_bytes(), now)
    }

    /// Milliseconds left before the key expires, if it has a TTL.
    pub fn ttl_ms(&mut self, key: &str) -> Option<u64> {
        let now = self.now();
        self.deadline(key).map(|at| at - now)
    }

    /// Writes counted so far (`rdb_changes_since_last_save`).
    pub fn dirty(&self) -> u64 {
        self.e.stats.dirty
    }
}

impl Default for T {
    fn default() -> Self {
        Self::new()
    }
}
