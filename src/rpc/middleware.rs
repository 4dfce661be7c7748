//! Interceptors: code run before and after every call, in a chain, on the reactor thread.
//!
//! ```text
//! CALL --> before(1) --> before(2) --> ... --> handler ... call ends --> after(n) ... after(2) --> after(1)
//!              \--Err(status)--> STATUS(status) (the handler never runs; after() of the earlier ones still runs)
//! ```
//!
//! `before` runs as soon as the CALL frame arrives (before any request message), so a bad token or an exhausted
//! quota is answered without reading the body. `after` sees the final status and the call's duration; it runs
//! for every call whose `before` ran, whatever ended it (handler, error, deadline, cancel, lost connection).
//!
//! Shipped: [`TraceLog`] (structured `tracing` events with the trace id), [`TokenAuth`] (UNAUTHENTICATED),
//! [`RateLimit`] (token bucket, RESOURCE_EXHAUSTED with `retry-after-ms`), [`Metrics`] (per-method counters).
//! None of them ever logs message contents or tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::service::CallInfo;
use super::status::{Code, Status};

/// A hook around every call.
pub trait Interceptor: Send + 'static {
    /// Runs when the CALL arrives. `Err` refuses the call with that status.
    fn before(&mut self, _call: &mut CallInfo, _now: Instant) -> Result<(), Status> {
        Ok(())
    }

    /// Runs once the call is over, with its final status and how long it took.
    fn after(&mut self, _call: &CallInfo, _status: &Status, _elapsed: Duration) {}
}

/// Logs one `tracing` event when a call starts and one when it ends, both carrying the trace id, the method and
/// (at the end) the status code and latency. Message bodies, metadata values and tokens are never logged.
#[derive(Debug, Default)]
pub struct TraceLog;

impl Interceptor for TraceLog {
    fn before(&mut self, call: &mut CallInfo, _now: Instant) -> Result<(), Status> {
        tracing::debug!(
            trace_id = %String::from_utf8_lossy(&call.trace_id),
            method = %String::from_utf8_lossy(&call.method),
            stream = call.stream_id,
            kind = ?call.kind,
            "rpc call started"
        );
        Ok(())
    }

    fn after(&mut self, call: &CallInfo, status: &Status, elapsed: Duration) {
        tracing::info!(
            trace_id = %String::from_utf8_lossy(&call.trace_id),
            method = %String::from_utf8_lossy(&call.method),
            code = status.code.name(),
            elapsed_us = elapsed.as_micros() as u64,
            "rpc call finished"
        );
    }
}

/// Requires `authorization: Bearer <token>` with one of the configured tokens; else `UNAUTHENTICATED`.
///
/// Tokens are compared in constant time (no early exit on the first differing byte), so response timing does not
/// reveal how much of a guess was right. A real deployment would verify a signed token (JWT) or use mTLS instead of
/// a static list.
#[derive(Debug)]
pub struct TokenAuth {
    tokens: Vec<Bytes>,
}

impl TokenAuth {
    pub fn new<I, T>(tokens: I) -> TokenAuth
    where
        I: IntoIterator<Item = T>,
        T: Into<Bytes>,
    {
        TokenAuth { tokens: tokens.into_iter().map(Into::into).collect() }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Interceptor for TokenAuth {
    fn before(&mut self, call: &mut CallInfo, _now: Instant) -> Result<(), Status> {
        let Some(value) = call.metadata.get(b"authorization") else {
            return Err(Status::new(Code::Unauthenticated, "missing authorization metadata"));
        };
        let Some(token) = value.strip_prefix(b"Bearer ") else {
            return Err(Status::new(Code::Unauthenticated, "authorization must be `Bearer <token>`"));
        };
        // Check every token even after a match, so the time taken does not depend on which one matched.
        let matched = self.tokens.iter().fold(false, |found, t| constant_time_eq(t, token) | found);
        if matched {
            Ok(())
        } else {
            Err(Status::new(Code::Unauthenticated, "invalid token"))
        }
    }
}

/// A token bucket shared by all calls the router serves: `burst` calls at once, refilled at `per_second`.
/// Refused calls get `RESOURCE_EXHAUSTED` with trailing metadata `retry-after-ms`.
///
/// Simplification: one bucket per server. Production limiters key buckets by caller (token, peer address) and
/// share them across servers (Redis is a common store for that).
#[derive(Debug)]
pub struct RateLimit {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl RateLimit {
    pub fn new(per_second: u32, burst: u32) -> RateLimit {
        let capacity = f64::from(burst.max(1));
        RateLimit { capacity, per_second: f64::from(per_second), tokens: capacity, last: None }
    }

    /// Takes one token at `now`; on refusal, returns how long until one is available. Time comes in as an
    /// argument so tests control it.
    pub fn try_acquire(&mut self, now: Instant) -> Result<(), Duration> {
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        if self.per_second <= 0.0 {
            return Err(Duration::from_secs(3600));
        }
        Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_second))
    }
}

impl Interceptor for RateLimit {
    fn before(&mut self, _call: &mut CallInfo, now: Instant) -> Result<(), Status> {
        self.try_acquire(now).map_err(|wait| {
            let mut status = Status::resource_exhausted("rate limit exceeded");
            let ms = wait.as_millis().max(1).to_string();
            let _ = status.metadata.insert("retry-after-ms", ms);
            status
        })
    }
}

/// Counters for one method.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodStats {
    /// Calls that ended (any status).
    pub calls: u64,
    /// Calls that ended with a status other than OK.
    pub errors: u64,
    /// Calls per final status code name.
    pub by_code: HashMap<&'static str, u64>,
    /// Sum of call durations, microseconds (divide by `calls` for the mean).
    pub total_latency_us: u64,
    /// Slowest call, microseconds.
    pub max_latency_us: u64,
    /// Latency histogram: `latency_buckets[i]` counts calls that took under `LATENCY_BUCKETS_US[i]`; the last
    /// bucket counts everything slower.
    pub latency_buckets: [u64; LATENCY_BUCKETS_US.len() + 1],
}

/// Upper bounds of the latency histogram buckets, microseconds (100 us .. 10 s, roughly x10 per step).
pub const LATENCY_BUCKETS_US: [u64; 6] = [100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// Per-method call, error and latency counters. Clone the `Metrics` before adding it to a router to read the
/// counters from another thread (the interceptor and its clones share one table).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    table: Arc<Mutex<HashMap<String, MethodStats>>>,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// A copy of the counters, by method name.
    pub fn snapshot(&self) -> HashMap<String, MethodStats> {
        self.table.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Interceptor for Metrics {
    fn after(&mut self, call: &CallInfo, status: &Status, elapsed: Duration) {
        let us = elapsed.as_micros().min(u128::from(u64::MAX)) as u64;
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let method = String::from_utf8_lossy(&call.method);
        let stats = match table.get_mut(method.as_ref()) {
            Some(stats) => stats,
            None => table.entry(method.into_owned()).or_default(),
        };
        stats.calls += 1;
        if !status.is_ok() {
            stats.errors += 1;
        }
        *stats.by_code.entry(status.code.name()).or_default() += 1;
        stats.total_latency_us += us;
        stats.max_latency_us = stats.max_latency_us.max(us);
        let bucket = LATENCY_BUCKETS_US.iter().position(|&b| us < b).unwrap_or(LATENCY_BUCKETS_US.len());
        stats.latency_buckets[bucket] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::frame::{CallKind, Metadata};

    fn call(metadata: Metadata) -> CallInfo {
        CallInfo {
            method: Bytes::from_static(b"demo.Greeter/Hello"),
            kind: CallKind::Unary,
            metadata,
            trace_id: Bytes::from_static(b"t"),
            deadline: None,
            received: Instant::now(),
            peer: None,
            stream_id: 1,
        }
    }

    #[test]
    fn token_auth_wants_a_known_bearer_token() {
        let mut auth = TokenAuth::new(["s3cret", "other"]);
        let now = Instant::now();
        let err = auth.before(&mut call(Metadata::new()), now).unwrap_err();
        assert_eq!(err.code, Code::Unauthenticated);
        let mut md = Metadata::new();
        md.insert("authorization", "Bearer wrong!").unwrap();
        assert_eq!(auth.before(&mut call(md), now).unwrap_err().code, Code::Unauthenticated);
        let mut md = Metadata::new();
        md.insert("authorization", "s3cret").unwrap();
        assert_eq!(auth.before(&mut call(md), now).unwrap_err().code, Code::Unauthenticated);
        let mut md = Metadata::new();
        md.insert("authorization", "Bearer other").unwrap();
        assert!(auth.before(&mut call(md), now).is_ok());
    }

    #[test]
    fn token_bucket_allows_a_burst_then_refills_with_time() {
        let mut limit = RateLimit::new(10, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limit.try_acquire(t0).is_ok());
        }
        let wait = limit.try_acquire(t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        // 50 ms later half a token has accrued: still refused, 50 ms to go.
        let wait = limit.try_acquire(t0 + Duration::from_millis(50)).unwrap_err();
        assert!(wait.as_millis().abs_diff(50) <= 1, "{wait:?}");
        assert!(limit.try_acquire(t0 + Duration::from_millis(100)).is_ok());
        // A long pause refills only up to the burst.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(limit.try_acquire(later).is_ok());
        }
        assert!(limit.try_acquire(later).is_err());
        let status = limit.before(&mut call(Metadata::new()), later).unwrap_err();
        assert_eq!(status.code, Code::ResourceExhausted);
        assert_eq!(status.metadata.get(b"retry-after-ms").unwrap(), "100");
    }

    #[test]
    fn metrics_count_calls_errors_and_latency_per_method() {
        let metrics = Metrics::new();
        let mut m = metrics.clone();
        let c = call(Metadata::new());
        m.after(&c, &Status::ok(), Duration::from_micros(50));
        m.after(&c, &Status::internal("x"), Duration::from_millis(5));
        let snap = metrics.snapshot();
        let s = &snap["demo.Greeter/Hello"];
        assert_eq!((s.calls, s.errors, s.total_latency_us, s.max_latency_us), (2, 1, 5050, 5000));
        assert_eq!(s.by_code["OK"], 1);
        assert_eq!(s.by_code["INTERNAL"], 1);
        assert_eq!(s.latency_buckets, [1, 0, 1, 0, 0, 0, 0]);
    }
}
