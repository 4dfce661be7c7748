//! One logical database (`SELECT n`): the keyspace, key expiry, and the expiry bookkeeping the
//! server needs for keyspace events and `WATCH`.
//!
//! ```text
//!   command ──(key, now_ms)──► Db ──► expire_if_needed ──► main: Dict<Value>
//!                                          │                 expires: Dict<u64>  (only keys with a TTL)
//!                                          └──► expired: Vec<Key> ──► take_expired() ──► server
//!   server cron ──► active_expire_cycle(now_ms, budget) ──► samples `expires`, deletes, records
//! ```
//!
//! As in Redis, the TTLs live in a second table keyed by the same keys, so a key without a TTL
//! pays nothing for the feature, and the active expiry cycle can sample keys that have a TTL
//! without wading through those that do not.
//!
//! Expiry is applied two ways, exactly as Redis does:
//! * **lazily**: every operation that names a key first deletes that key if its deadline has
//!   passed, so no command can ever observe an expired key;
//! * **actively**: [`Db::active_expire_cycle`] samples keys with a TTL and deletes the expired
//!   ones, so keys that are never touched again still free their memory.
//!
//! Every key deleted by expiry is appended to a list the server drains with
//! [`Db::take_expired`] after each command and cron tick, to fire `expired` keyspace events and
//! invalidate `WATCH`es. When nothing expired the list is empty and draining it allocates nothing.
//!
//! Time is passed in as `now_ms` (Unix milliseconds) on every call rather than read here, so
//! a whole command, `MULTI` block or script sees one consistent "now" and tests control time
//! (see [`crate::kv::clock`]). A key whose deadline is `at` is still alive at `now == at` and gone
//! from `at + 1` on (Redis's `now > when`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::kv::dict::{Dict, Key};
use crate::kv::value::Value;

/// Keys sampled per active-expiry round (Redis's `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`).
pub const EXPIRE_KEYS_PER_ROUND: usize = 20;
/// Keep sampling while more than this percentage of a round had expired (Redis 6+'s
/// `ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE`; Redis 5 and earlier used 25%).
pub const EXPIRE_ACCEPTABLE_STALE_PERCENT: usize = 10;
/// Buckets a round may visit per key it wants, so a sparse expires table cannot stall a round
/// (Redis visits at most `num * 20` buckets).
const EXPIRE_BUCKETS_PER_KEY: usize = 20;
/// Random picks `RANDOMKEY` tries before falling back to a linear search for a live key.
const RANDOM_KEY_TRIES: usize = 100;
/// `SCAN` visits at most `count * 10` buckets per call, so a sparse table cannot make one call
/// walk the whole keyspace (Redis's `maxiterations`).
const SCAN_BUCKETS_PER_COUNT: usize = 10;

/// What one [`Db::active_expire_cycle`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpireStats {
    /// Sampling rounds run.
    pub rounds: usize,
    /// Keys with a TTL looked at.
    pub sampled: usize,
    /// Keys deleted because their deadline had passed.
    pub expired: usize,
    /// True when the cycle stopped because `max_rounds` ran out while the last round was still
    /// finding more than 10% stale keys: the server should run another cycle soon (Redis's
    /// `timelimit_exit`, which makes it run the fast cycle in `beforeSleep`).
    pub budget_exhausted: bool,
}

/// One logical database; see the module docs.
#[derive(Debug, Default)]
pub struct Db {
    main: Dict<Value>,
    /// key -> deadline in Unix ms, only for keys with a TTL.
    expires: Dict<u64>,
    /// Keys deleted by expiry since the last [`Db::take_expired`].
    expired: Vec<Key>,
    /// Raised whenever `expired` gains a key. The server shares one flag among all its databases, so that
    /// "did any command expire anything?" is one load per command instead of a look at every database.
    expired_signal: Arc<AtomicBool>,
    /// Where active expiry resumes its walk over `expires` (a `SCAN` cursor, so it stays valid
    /// across resizes and covers every key over successive cycles).
    expire_cursor: u64,
}

impl Db {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty database that raises `signal` whenever expiry deletes a key (see [`Db::take_expired`]).
    pub fn with_expired_signal(signal: Arc<AtomicBool>) -> Self {
        Self { expired_signal: signal, ..Self::default() }
    }

    /// Keys stored, including expired ones not yet deleted (what `DBSIZE` reports in Redis).
    pub fn len(&self) -> usize {
        self.main.len()
    }

    /// True when no keys are stored.
    pub fn is_empty(&self) -> bool {
        self.main.is_empty()
    }

    /// Keys with a TTL (the `expires=` of `INFO keyspace`).
    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// Warms the cache for lookups of `keys` that are about to follow (see [`Dict::prefetch`]); changes nothing.
    pub fn prefetch(&self, keys: &[&[u8]]) {
        self.main.prefetch(keys);
        if !self.expires.is_empty() {
            self.expires.prefetch(keys);
        }
    }

    /// The value under `key`, deleting it first if it has expired.
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&Value> {
        self.expire_if_needed(key, now_ms);
        // Lookups advance a pending resize, as Redis's `dictFind` does.
        self.main.rehash_steps(1);
        self.main.get(key)
    }

    /// Mutable access to the value under `key`, deleting it first if it has expired. A command
    /// that empties an aggregate must [`Db::remove`] the key, as Redis never stores empty ones.
    pub fn get_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Value> {
        self.expire_if_needed(key, now_ms);
        self.main.get_mut(key)
    }

    /// Read-only lookup that treats an expired key as absent without deleting it, for contexts
    /// that only hold `&Db` (Redis's `lookupKeyReadWithFlags(.., LOOKUP_NOEXPIRE)`).
    pub fn peek(&self, key: &[u8], now_ms: u64) -> Option<&Value> {
        if self.is_expired(key, now_ms) {
            return None;
        }
        self.main.get(key)
    }

    /// True when `key` exists and has not expired (deleting it if it has).
    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.expire_if_needed(key, now_ms);
        self.main.contains_key(key)
    }

    /// The value under `key`, creating it with `make()` (and no TTL) if absent or expired; for
    /// `LPUSH`, `HSET`, `SADD`, `ZADD`, which create their key on demand.
    pub fn get_or_insert_with(&mut self, key: &[u8], now_ms: u64, make: impl FnOnce() -> Value) -> &mut Value {
        self.expire_if_needed(key, now_ms);
        self.main.get_or_insert_with(key, make)
    }

    /// Stores `value` under `key` and clears any TTL (`SET` without `KEEPTTL`). Returns the
    /// previous live value.
    pub fn insert(&mut self, key: &[u8], value: Value, now_ms: u64) -> Option<Value> {
        self.expire_if_needed(key, now_ms);
        if !self.expires.is_empty() {
            self.expires.remove(key);
        }
        self.main.insert(key, value)
    }

    /// Stores `value` under `key`, keeping a live key's TTL (`SET .. KEEPTTL`, and commands that
    /// rewrite a value in place). An expired key is deleted first, so its TTL is not inherited.
    pub fn insert_keep_ttl(&mut self, key: &[u8], value: Value, now_ms: u64) -> Option<Value> {
        self.expire_if_needed(key, now_ms);
        self.main.insert(key, value)
    }

    /// Deletes `key` (`DEL`); returns its value if it was live. Deleting an expired key reports
    /// it as expired and returns `None`, as `DEL` on it returns 0 in Redis.
    pub fn remove(&mut self, key: &[u8], now_ms: u64) -> Option<Value> {
        if self.expire_if_needed(key, now_ms) {
            return None;
        }
        if !self.expires.is_empty() {
            self.expires.remove(key);
        }
        self.main.remove(key)
    }

    /// Sets `key`'s deadline to `at_ms` (Unix ms); false if the key does not exist. A deadline in
    /// the past is stored as given: the command layer deletes the key instead, as Redis's
    /// `EXPIRE` does when `checkAlreadyExpired` holds.
    pub fn set_expire(&mut self, key: &[u8], at_ms: u64, now_ms: u64) -> bool {
        if !self.contains(key, now_ms) {
            return false;
        }
        self.expires.insert(key, at_ms);
        true
    }

    /// Removes `key`'s TTL (`PERSIST`); true if it had one.
    pub fn persist(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.expire_if_needed(key, now_ms);
        self.expires.remove(key).is_some()
    }

    /// `key`'s deadline in Unix ms, if it is live and has one (`PEXPIRETIME`; `TTL` subtracts
    /// `now_ms`). Use [`Db::contains`] to tell "no key" (-2) from "no TTL" (-1).
    pub fn expire_at(&mut self, key: &[u8], now_ms: u64) -> Option<u64> {
        self.expire_if_needed(key, now_ms);
        self.expires.get(key).copied()
    }

    /// `RENAME from to`: moves the value and its TTL, replacing whatever `to` held (and `to`'s
    /// TTL). False if `from` does not exist. Renaming a key to itself succeeds without change.
    pub fn rename(&mut self, from: &[u8], to: &[u8], now_ms: u64) -> bool {
        if !self.contains(from, now_ms) {
            return false;
        }
        if from == to {
            return true;
        }
        // Expire `to` properly first so an expired destination fires its event.
        self.expire_if_needed(to, now_ms);
        let deadline = if self.expires.is_empty() { None } else { self.expires.remove(from) };
        let Some(value) = self.main.remove(from) else {
            return false;
        };
        self.main.insert(to, value);
        match deadline {
            Some(at) => {
                self.expires.insert(to, at);
            }
            None => {
                if !self.expires.is_empty() {
                    self.expires.remove(to);
                }
            }
        }
        true
    }

    /// Deletes every key (`FLUSHDB`). Not reported as expiry: the server invalidates all
    /// `WATCH`es on this database itself, as Redis's `touchAllWatchedKeysInDb` does.
    pub fn clear(&mut self) {
        self.main.clear();
        self.expires.clear();
        self.expire_cursor = 0;
    }

    /// One `SCAN` call: visits about `count` keys from `cursor` on, calling `visit` for each live
    /// one, and returns the next cursor (0 when the scan is complete). Expired keys met on the
    /// way are deleted (and reported) instead of visited, as Redis's `SCAN` does. The caller
    /// applies `MATCH` and `TYPE` in `visit`. See [`Dict::scan`] for the guarantees.
    pub fn scan(&mut self, cursor: u64, count: usize, now_ms: u64, mut visit: impl FnMut(&[u8], &Value)) -> u64 {
        let count = count.max(1);
        let mut budget = count.saturating_mul(SCAN_BUCKETS_PER_COUNT);
        let mut emitted = 0usize;
        let mut stale: Vec<Key> = Vec::new();
        let mut cursor = cursor;
        let expires = &self.expires;
        loop {
            cursor = self.main.scan(cursor, |key, value| {
                if is_expired_in(expires, key, now_ms) {
                    stale.push(Key::from_slice(key));
                } else {
                    visit(key, value);
                    emitted += 1;
                }
            });
            budget -= 1;
            if cursor == 0 || budget == 0 || emitted >= count {
                break;
            }
        }
        for key in stale {
            self.delete_expired(&key);
        }
        cursor
    }

    /// A random live key (`RANDOMKEY`). Expired keys picked on the way are deleted. After
    /// 100 expired picks in a row it falls back to a linear search, so a
    /// keyspace that is mostly expired costs O(n) once rather than an unbounded loop.
    pub fn random_key(&mut self, now_ms: u64) -> Option<Key> {
        for _ in 0..RANDOM_KEY_TRIES {
            let (key, expired) = {
                let (key, _) = self.main.random_entry()?;
                (Key::from_slice(key), self.is_expired(key, now_ms))
            };
            if !expired {
                return Some(key);
            }
            self.delete_expired(&key);
        }
        self.iter(now_ms).next().map(|(k, _)| Key::from_slice(k))
    }

    /// Every live key and value, in table order, without deleting expired ones (`KEYS`, which in
    /// Redis also skips rather than deletes). O(n): blocks the server on a large keyspace,
    /// exactly like `KEYS` in Redis.
    pub fn iter(&self, now_ms: u64) -> impl Iterator<Item = (&[u8], &Value)> + '_ {
        self.main.iter().filter(move |(key, _)| !self.is_expired(key, now_ms))
    }

    /// Redis's `activeExpireCycle` for one database, with the time limit replaced by a round
    /// budget so callers (and tests) control the cost deterministically.
    ///
    /// Each round visits buckets of the expires table from where the previous round stopped
    /// until it has sampled 20 keys with a TTL (or visited 400 buckets), and deletes the
    /// expired ones. Another round follows while more than 10% of the sample had expired, since
    /// then a sizeable part of memory is likely held by dead keys; otherwise the cycle stops
    /// early because more work would reclaim little. At most `max_rounds` rounds run.
    pub fn active_expire_cycle(&mut self, now_ms: u64, max_rounds: usize) -> ExpireStats {
        let mut stats = ExpireStats::default();
        let mut batch: Vec<Key> = Vec::new();
        while stats.rounds < max_rounds {
            if self.expires.is_empty() {
                return stats;
            }
            stats.rounds += 1;
            let want = EXPIRE_KEYS_PER_ROUND.min(self.expires.len());
            let mut buckets_left = want * EXPIRE_BUCKETS_PER_KEY;
            let mut sampled = 0usize;
            while sampled < want && buckets_left > 0 {
                buckets_left -= 1;
                self.expire_cursor = self.expires.scan(self.expire_cursor, |key, &at| {
                    sampled += 1;
                    if now_ms > at {
                        batch.push(Key::from_slice(key));
                    }
                });
            }
            let expired = batch.len();
            for key in batch.drain(..) {
                self.delete_expired(&key);
            }
            stats.sampled += sampled;
            stats.expired += expired;
            let keep_going = sampled == 0 || expired * 100 / sampled > EXPIRE_ACCEPTABLE_STALE_PERCENT;
            if !keep_going {
                return stats;
            }
        }
        stats.budget_exhausted = !self.expires.is_empty();
        stats
    }

    /// Keys deleted by lazy or active expiry since the last call, oldest first. Free when
    /// nothing expired. The server must drain this after every command and cron tick (it fires
    /// `expired` keyspace events and invalidates `WATCH`es), otherwise it grows without bound.
    pub fn take_expired(&mut self) -> Vec<Key> {
        std::mem::take(&mut self.expired)
    }

    /// Whether lazy or active expiry removed keys that [`Db::take_expired`] has not handed out yet.
    pub fn has_expired(&self) -> bool {
        !self.expired.is_empty()
    }

    /// Moves up to `n` buckets of any pending resize of either table; true while work remains.
    /// Called from the server cron (Redis's `incrementallyRehash`).
    pub fn rehash_steps(&mut self, n: usize) -> bool {
        let main = self.main.rehash_steps(n);
        let expires = self.expires.rehash_steps(n);
        main || expires
    }

    /// The key table, for statistics (`DEBUG HTSTATS`-like reporting).
    pub fn main_dict(&self) -> &Dict<Value> {
        &self.main
    }

    fn is_expired(&self, key: &[u8], now_ms: u64) -> bool {
        is_expired_in(&self.expires, key, now_ms)
    }

    /// Deletes `key` if its deadline has passed; true if it did.
    fn expire_if_needed(&mut self, key: &[u8], now_ms: u64) -> bool {
        if !self.is_expired(key, now_ms) {
            return false;
        }
        self.delete_expired(key);
        true
    }

    /// Deletes a key known to be expired and records it for [`Db::take_expired`].
    fn delete_expired(&mut self, key: &[u8]) {
        self.expires.remove(key);
        if let Some((key, _)) = self.main.remove_entry(key) {
            self.expired.push(key);
            self.expired_signal.store(true, Ordering::Relaxed);
        }
    }
}

/// The common case (no key in this database has a TTL) costs one length check.
fn is_expired_in(expires: &Dict<u64>, key: &[u8], now_ms: u64) -> bool {
    !expires.is_empty() && expires.get(key).is_some_and(|&at| now_ms > at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::clock::{Clock, ManualClock};
    use std::collections::HashSet;

    const T0: u64 = 1_700_000_000_000;

    fn s(v: &Value) -> &[u8] {
        v.as_str().expect("string").as_bytes()
    }

    fn key(i: usize) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    #[test]
    fn lazy_expiry_on_get() {
        let clock = ManualClock::new(T0);
        let mut db = Db::new();
        db.insert(b"k", Value::str(b"v"), clock.now_ms());
        assert!(db.set_expire(b"k", T0 + 100, clock.now_ms()));
        assert_eq!(db.expires_len(), 1);

        clock.advance_ms(100);
        // Alive through its deadline millisecond, as in Redis.
        assert_eq!(db.get(b"k", clock.now_ms()).map(s), Some(&b"v"[..]));
        assert!(db.take_expired().is_empty());

        clock.advance_ms(1);
        assert!(db.peek(b"k", clock.now_ms()).is_none());
        assert_eq!(db.len(), 1, "peek does not delete");
        assert!(db.get(b"k", clock.now_ms()).is_none());
        assert_eq!((db.len(), db.expires_len()), (0, 0));
        let expired = db.take_expired();
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].as_bytes(), b"k");
        assert!(db.take_expired().is_empty());
    }

    #[test]
    fn every_accessor_applies_expiry() {
        let now = T0;
        let mut db = Db::new();
        for k in [&b"a"[..], b"b", b"c", b"d", b"e", b"f"] {
            db.insert(k, Value::str(b"old"), now);
            db.set_expire(k, now + 10, now);
        }
        let later = now + 11;
        assert!(!db.contains(b"a", later));
        assert!(db.remove(b"b", later).is_none());
        assert!(db.get_mut(b"c", later).is_none());
        assert!(!db.set_expire(b"d", later + 100, later));
        assert_eq!(db.expire_at(b"e", later), None);
        assert!(!db.persist(b"f", later));
        assert!(db.is_empty());
        assert_eq!(db.take_expired().len(), 6);
    }

    #[test]
    fn insert_clears_ttl_keep_ttl_keeps_it() {
        let now = T0;
        let mut db = Db::new();
        db.insert(b"k", Value::str(b"1"), now);
        db.set_expire(b"k", now + 1_000, now);
        assert!(db.insert_keep_ttl(b"k", Value::str(b"2"), now).is_some());
        assert_eq!(db.expire_at(b"k", now), Some(now + 1_000));
        let old = db.insert(b"k", Value::str(b"3"), now);
        assert_eq!(old.as_ref().map(s), Some(&b"2"[..]));
        assert_eq!(db.expire_at(b"k", now), None);
        assert_eq!(db.expires_len(), 0);
        // KEEPTTL on an expired key must not resurrect its TTL.
        db.set_expire(b"k", now + 5, now);
        assert!(db.insert_keep_ttl(b"k", Value::str(b"4"), now + 6).is_none());
        assert_eq!(db.expire_at(b"k", now + 6), None);
        assert_eq!(db.get(b"k", now + 1_000_000).map(s), Some(&b"4"[..]));
    }

    #[test]
    fn persist_and_get_or_insert() {
        let now = T0;
        let mut db = Db::new();
        assert!(!db.persist(b"k", now));
        match db.get_or_insert_with(b"k", now, Value::new_list) {
            Value::List(l) => l.push_back(bytes::Bytes::from_static(b"x")),
            other => panic!("{other:?}"),
        }
        db.set_expire(b"k", now + 5, now);
        assert!(db.persist(b"k", now));
        assert!(!db.persist(b"k", now));
        assert_eq!(db.get(b"k", now + 100).map(Value::type_name), Some("list"));
        // An expired key is replaced by a fresh one without a TTL.
        db.set_expire(b"k", now + 5, now);
        let v = db.get_or_insert_with(b"k", now + 6, Value::new_set);
        assert_eq!(v.type_name(), "set");
        assert_eq!(db.expire_at(b"k", now + 6), None);
    }

    #[test]
    fn rename_moves_value_and_ttl() {
        let now = T0;
        let mut db = Db::new();
        db.insert(b"src", Value::str(b"v"), now);
        db.set_expire(b"src", now + 50, now);
        db.insert(b"dst", Value::str(b"old"), now);
        db.set_expire(b"dst", now + 9_999, now);
        assert!(db.rename(b"src", b"dst", now));
        assert!(!db.contains(b"src", now));
        assert_eq!(db.get(b"dst", now).map(s), Some(&b"v"[..]));
        assert_eq!(db.expire_at(b"dst", now), Some(now + 50));
        assert_eq!(db.expires_len(), 1);

        db.insert(b"plain", Value::str(b"p"), now);
        assert!(db.rename(b"plain", b"dst", now));
        assert_eq!(db.expire_at(b"dst", now), None, "destination TTL must not survive");
        assert!(db.rename(b"dst", b"dst", now));
        assert!(!db.rename(b"missing", b"x", now));
    }

    #[test]
    fn active_expiry_removes_untouched_keys() {
        let clock = ManualClock::new(T0);
        let mut db = Db::new();
        for i in 0..10_000 {
            db.insert(&key(i), Value::str(b"v"), clock.now_ms());
            // Half expire at +1s, half at +1h; plus keys without a TTL.
            let ttl = if i % 2 == 0 { 1_000 } else { 3_600_000 };
            db.set_expire(&key(i), clock.now_ms() + ttl, clock.now_ms());
            db.insert(format!("plain:{i}").as_bytes(), Value::str(b"p"), clock.now_ms());
        }
        // Nothing has expired yet: one round, nothing deleted, stop early.
        let stats = db.active_expire_cycle(clock.now_ms(), 100);
        assert_eq!((stats.rounds, stats.expired), (1, 0));
        assert!(!stats.budget_exhausted);

        clock.advance_ms(1_001);
        let mut cycles = 0;
        let mut total = 0;
        while db.expires_len() > 5_000 {
            let stats = db.active_expire_cycle(clock.now_ms(), 16);
            total += stats.expired;
            cycles += 1;
            assert!(stats.rounds <= 16);
            assert!(cycles < 10_000, "active expiry makes no progress");
        }
        // Stale share falls to 0 once the short-TTL half is gone, so cycles stop being busy.
        let stats = db.active_expire_cycle(clock.now_ms(), 16);
        assert_eq!((stats.rounds, stats.expired), (1, 0));
        assert_eq!(total, 5_000);
        assert_eq!(db.len(), 15_000);
        assert_eq!(db.take_expired().len(), 5_000);

        clock.advance_ms(3_600_000);
        while db.expires_len() > 0 {
            db.active_expire_cycle(clock.now_ms(), 16);
        }
        assert_eq!(db.len(), 10_000, "keys without TTL are never touched");
        let gone: HashSet<Vec<u8>> = db.take_expired().iter().map(|k| k.to_vec()).collect();
        assert_eq!(gone.len(), 5_000);
        assert!(db.get(&key(1), clock.now_ms()).is_none());
    }

    #[test]
    fn active_expiry_honours_the_round_budget() {
        let mut db = Db::new();
        for i in 0..1_000 {
            db.insert(&key(i), Value::str(b"v"), T0);
            db.set_expire(&key(i), T0, T0);
        }
        let stats = db.active_expire_cycle(T0 + 1, 3);
        assert_eq!(stats.rounds, 3);
        assert!(stats.budget_exhausted);
        assert!(stats.expired >= 3 * EXPIRE_KEYS_PER_ROUND);
        assert_eq!(stats.expired, stats.sampled);
        assert_eq!(db.len(), 1_000 - stats.expired);
        let stats = db.active_expire_cycle(T0 + 1, 0);
        assert_eq!((stats.rounds, stats.budget_exhausted), (0, true));
    }

    #[test]
    fn scan_skips_and_deletes_expired_keys() {
        let now = T0;
        let mut db = Db::new();
        for i in 0..1_000 {
            db.insert(&key(i), Value::str(b"v"), now);
            if i % 3 == 0 {
                db.set_expire(&key(i), now + 10, now);
            }
        }
        let later = now + 11;
        let mut seen = HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = db.scan(cursor, 10, later, |k, v| {
                assert_eq!(v.type_name(), "string");
                seen.insert(k.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        let live: HashSet<Vec<u8>> = (0..1_000).filter(|i| i % 3 != 0).map(key).collect();
        assert_eq!(seen, live);
        assert_eq!(db.len(), live.len());
        assert_eq!(db.take_expired().len(), 334);
    }

    #[test]
    fn scan_count_bounds_work_per_call() {
        let mut db = Db::new();
        for i in 0..1_000 {
            db.insert(&key(i), Value::str(b"v"), T0);
        }
        let mut n = 0;
        let cursor = db.scan(0, 5, T0, |_, _| n += 1);
        assert_ne!(cursor, 0);
        // Whole buckets are returned, so a little over COUNT is normal, as in Redis.
        assert!((5..20).contains(&n), "{n}");
    }

    #[test]
    fn random_key_skips_expired() {
        let now = T0;
        let mut db = Db::new();
        assert!(db.random_key(now).is_none());
        for i in 0..200 {
            db.insert(&key(i), Value::str(b"v"), now);
            if i != 17 {
                db.set_expire(&key(i), now, now);
            }
        }
        for _ in 0..20 {
            assert_eq!(db.random_key(now + 1).unwrap().as_bytes(), key(17));
        }
        assert_eq!(db.len(), 1 + (199 - db.take_expired().len()));
        db.set_expire(&key(17), now, now);
        assert!(db.random_key(now + 1).is_none());
    }

    #[test]
    fn iter_hides_expired_without_deleting() {
        let mut db = Db::new();
        db.insert(b"a", Value::str(b"1"), T0);
        db.insert(b"b", Value::str(b"2"), T0);
        db.set_expire(b"b", T0, T0);
        let keys: Vec<&[u8]> = db.iter(T0 + 1).map(|(k, _)| k).collect();
        assert_eq!(keys, vec![&b"a"[..]]);
        assert_eq!(db.len(), 2);
        db.clear();
        assert_eq!((db.len(), db.expires_len()), (0, 0));
        assert!(db.take_expired().is_empty());
    }

    /// RSS per key for 1M keys of 16 bytes holding 16-byte strings. Run with
    /// `cargo test --release --lib kv::db::tests::memory_per_key -- --ignored --nocapture`.
    #[test]
    #[ignore = "measures process RSS; run alone, in release mode"]
    fn memory_per_key() {
        fn rss_bytes() -> u64 {
            let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
            let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("resident pages");
            pages * 4096
        }
        const N: usize = 1_000_000;
        let before = rss_bytes();
        let mut db = Db::new();
        for i in 0..N {
            let k = format!("key:{i:012}");
            let v = format!("val:{i:012}");
            assert_eq!((k.len(), v.len()), (16, 16));
            db.insert(k.as_bytes(), Value::str(v.as_bytes()), T0);
        }
        while db.rehash_steps(1_000) {}
        let after = rss_bytes();
        let per_key = (after - before) as f64 / N as f64;
        println!(
            "1M keys: RSS {} -> {} bytes, {per_key:.1} bytes/key ({} buckets)",
            before,
            after,
            db.main_dict().bucket_count()
        );
        assert!(per_key < 88.0, "{per_key:.1} bytes/key exceeds Redis's ~88");
    }
}
