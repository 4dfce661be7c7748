//! Wall-clock time for the store, behind a trait so tests never sleep.
//!
//! Expiry compares key deadlines (Unix milliseconds, as `PEXPIREAT` takes them) against
//! `Clock::now_ms()`. The server reads its clock once per command and passes the value down into
//! [`crate::kv::db::Db`], so every lookup in one command agrees on "now" (Redis 7 does the same
//! with its command time snapshot). Tests hand the store a [`ManualClock`] and advance it by hand.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of Unix time in milliseconds.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The real clock: `SystemTime`, like Redis's `mstime()`.
///
/// Simplification: wall-clock time can jump (NTP, manual changes), which makes keys expire early
/// or late. Redis has the same exposure because TTLs are absolute Unix times on disk and on the
/// wire; a monotonic clock would not survive a restart anyway.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        // A clock before 1970 is a broken host, not a peer's doing; treat it as the epoch.
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }
}

/// A clock that only moves when told to. Clones share the same time, so a test can keep one
/// handle and give another to the server.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock frozen at `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        Self { now: Arc::new(AtomicU64::new(start_ms)) }
    }

    /// Jump to an absolute time.
    pub fn set_ms(&self, ms: u64) {
        self.now.store(ms, Ordering::Relaxed);
    }

    /// Move forward by `delta_ms`; returns the new time.
    pub fn advance_ms(&self, delta_ms: u64) -> u64 {
        self.now.fetch_add(delta_ms, Ordering::Relaxed) + delta_ms
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_clones_share_time() {
        let a = ManualClock::new(1_000);
        let b = a.clone();
        assert_eq!(a.advance_ms(250), 1_250);
        assert_eq!(b.now_ms(), 1_250);
        b.set_ms(7);
        assert_eq!(a.now_ms(), 7);
    }

    #[test]
    fn system_clock_is_after_2020() {
        // 2020-01-01T00:00:00Z in ms; catches a seconds/ms mix-up.
        assert!(SystemClock.now_ms() > 1_577_836_800_000);
    }
}
