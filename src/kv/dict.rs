//! A Redis-style chained hash table with incremental rehashing and a resize-safe `SCAN` cursor.
//!
//! Every keyspace in the store (the main key -> value table, the expires table, the fields of a
//! hash, the members of a set, the member -> score map of a sorted set) is a [`Dict`]. It is built
//! the way Redis's `dict.c` is built, because the guarantees of `SCAN`, `HSCAN` and `SSCAN` depend
//! on the shape of the table:
//!
//! ```text
//!   insert/remove/get_mut ──► rehash one bucket (if resizing) ──► operate on table[0] / table[1]
//!
//!   table[0]  [b0]─►node─►node   [b1]   [b2]─►node   [b3] ...   (power-of-two buckets, chaining)
//!   table[1]  only during a resize: buckets of table[0] below `rehash_idx` have moved here
//! ```
//!
//! * **Power-of-two bucket arrays with chaining.** A node never moves between buckets of the same
//!   table, which is what makes the `SCAN` cursor meaningful. Open addressing (std `HashMap`,
//!   hashbrown) shuffles entries on insert and delete and cannot give the guarantee.
//! * **Incremental rehashing.** The table grows when the load factor reaches 1 and shrinks when it
//!   falls under 10% (Redis's `HASHTABLE_MIN_FILL`). Instead of moving every entry at once (a
//!   multi-millisecond stall for a big keyspace on a single-threaded server), a second table is
//!   allocated and every mutating operation moves one bucket. [`Dict::rehash_steps`] lets the
//!   server's cron move more while idle, as Redis's `databasesCron` does.
//!   Simplification: Redis also steps the rehash on plain lookups; our `get` takes `&self` so only
//!   `&mut self` operations (including [`Dict::get_mut`]) make progress.
//! * **Reverse-binary `SCAN` cursor.** [`Dict::scan`] visits one bucket per call and increments the
//!   cursor in bit-reversed order, so the buckets already visited in a table of size `2^n` map
//!   exactly onto buckets already visited in a table of size `2^(n±k)`. An element present for the
//!   whole scan is therefore returned at least once even if the table grows or shrinks between
//!   calls (it may be returned more than once after a shrink).
//!
//! # Hashing
//! foldhash (its `quality` variant: a folded 64x64->128-bit multiply per 8-16 bytes plus a final
//! avalanche, so the low bits we mask with are as good as the high ones), keyed once per process
//! from std's OS-random [`RandomState`]. A keyed hash matters because keys come from peers: with a
//! fixed, public hash function an attacker can put every key in one chain and turn O(1) lookups
//! into O(n). Redis uses SipHash-1-2 with a per-process seed for the same reason.
//! Trade-off against Redis: foldhash is only "minimally" DoS resistant. Its seed is secret and
//! random, so colliding keys cannot be precomputed, but unlike SipHash it makes no claim against
//! an attacker who studies timings to recover the seed. We took that for the speed: std's
//! SipHash-1-3 cost ~230 instructions for a 16-byte key, foldhash ~25, and the keyspace is hashed
//! on every command (measured with callgrind, 1M keys, `GET` pipelined 16 deep).
//!
//! # Memory layout (what a key costs)
//! One heap allocation per entry, plus a pointer-sized bucket slot:
//!
//! ```text
//!   bucket slot   8 B   Option<Box<Node>> (load factor 0.5..1, so 8-16 B per entry)
//!   Node:         next 8 B + Key 24 B + V
//!   Key:          keys of <= 22 bytes are stored inline in the node (no allocation);
//!                 longer keys spill to a Box<[u8]> (one extra allocation of the key length)
//! ```
//!
//! For the main keyspace `V` is [`crate::kv::value::Value`] (24 bytes, strings of <= 22 bytes
//! inline), so a node is 56 bytes, which glibc serves from a 64-byte chunk. A key of <= 22 bytes
//! holding a string of <= 22 bytes therefore costs 64 + 8..16 = 72..80 bytes with no other
//! allocation. Measured (`kv::db::tests::memory_per_key`): 1M 16-byte keys with 16-byte values
//! take 72.4 bytes/key of RSS. redis-server 7.0.15 (jemalloc) holds the same data in 120
//! bytes/key of `used_memory` (127 of RSS): a 24-byte `dictEntry`, an SDS key and an embstr
//! `robj` in three jemalloc size classes of 32, 32 and 48 bytes, plus the bucket slot.
//! Keys with a TTL also pay an expires-table node (40 B -> a 48-byte chunk) holding a second
//! copy of the key (Redis shares the key's SDS between the two tables; we do not, to stay free
//! of reference counting and `unsafe`).

use std::cell::Cell;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::mem;
use std::ops::Deref;
use std::sync::OnceLock;

use foldhash::quality::SeedableRandomState;
use foldhash::SharedSeed;

/// Buckets in a table when the first entry arrives (Redis's `DICT_HT_INITIAL_SIZE`).
const INITIAL_BUCKETS: usize = 4;

/// Shrink when fewer than this percentage of buckets would be used (Redis's `HASHTABLE_MIN_FILL`).
/// Low enough that a table does not flap between sizes around the grow threshold.
const MIN_FILL_PERCENT: usize = 10;

/// Empty buckets a single rehash step may skip before giving up, per bucket it was asked to move,
/// so that one step stays O(1) even in a sparse table (Redis uses the same factor of 10).
const REHASH_EMPTY_VISITS_PER_STEP: usize = 10;

/// Keys one [`Dict::prefetch`] call warms: about the loads a core keeps in flight at once (Zen and recent Intel
/// cores track 16-24 outstanding L1 misses); the rest of a longer slice is ignored.
pub const PREFETCH_MAX_KEYS: usize = 16;

/// Entries [`Dict::random_entry`] samples before picking one (Redis's `GETFAIR_NUM_ENTRIES`).
const FAIR_RANDOM_SAMPLE: usize = 20;

/// Bytes a key or small string can hold without a heap allocation. 22 bytes of data plus a length
/// byte plus the enum tag make 24 bytes, the same size as a `Vec` and 8 more than a `Box<[u8]>`,
/// which keeps a node at 56 bytes; most real keys (`user:1000:session`) fit.
pub const INLINE_BYTES: usize = 22;

/// Up to [`INLINE_BYTES`] bytes stored in place. Shared by [`Key`] and the string value type.
#[derive(Clone, Copy)]
pub(crate) struct Inline {
    len: u8,
    buf: [u8; INLINE_BYTES],
}

impl Inline {
    pub(crate) const EMPTY: Inline = Inline { len: 0, buf: [0; INLINE_BYTES] };

    /// `None` when `bytes` is too long to inline.
    pub(crate) fn new(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > INLINE_BYTES {
            return None;
        }
        let mut buf = [0u8; INLINE_BYTES];
        buf[..bytes.len()].copy_from_slice(bytes);
        Some(Self { len: bytes.len() as u8, buf })
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

/// A binary-safe key owned by a [`Dict`]: inline when short, boxed when long.
///
/// Compares, hashes and orders as its bytes (memcmp order, as Redis's `sdscmp`).
#[derive(Clone)]
pub struct Key(KeyRepr);

#[derive(Clone)]
enum KeyRepr {
    Inline(Inline),
    Heap(Box<[u8]>),
}

impl Key {
    /// Copies `bytes` into a new key.
    pub fn from_slice(bytes: &[u8]) -> Self {
        match Inline::new(bytes) {
            Some(inline) => Key(KeyRepr::Inline(inline)),
            None => Key(KeyRepr::Heap(bytes.into())),
        }
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            KeyRepr::Inline(inline) => inline.as_bytes(),
            KeyRepr::Heap(boxed) => boxed,
        }
    }
}

impl Deref for Key {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<&[u8]> for Key {
    fn from(bytes: &[u8]) -> Self {
        Key::from_slice(bytes)
    }
}

impl From<Vec<u8>> for Key {
    /// Reuses the vector's buffer for long keys (after trimming spare capacity).
    fn from(bytes: Vec<u8>) -> Self {
        match Inline::new(&bytes) {
            Some(inline) => Key(KeyRepr::Inline(inline)),
            None => Key(KeyRepr::Heap(bytes.into_boxed_slice())),
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for Key {}

impl PartialEq<[u8]> for Key {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(\"{}\")", self.as_bytes().escape_ascii())
    }
}

/// The process-wide keyed hash of a key (see "Hashing" in the module docs).
fn hash_key(key: &[u8]) -> u64 {
    static STATE: OnceLock<SeedableRandomState> = OnceLock::new();
    STATE
        .get_or_init(|| {
            // std's RandomState draws its SipHash keys from the OS; hashing two constants with it turns them
            // into two secret 64-bit seeds for foldhash.
            let os = RandomState::new();
            let shared: &'static SharedSeed = Box::leak(Box::new(SharedSeed::from_u64(os.hash_one(1u64))));
            SeedableRandomState::with_seed(os.hash_one(2u64), shared)
        })
        .hash_one(key)
}

/// A fast, non-cryptographic random `u64` (xorshift64*, one state per thread, randomly seeded).
///
/// Used for sampling (RANDOMKEY, SPOP, SRANDMEMBER, expiry sampling, skip-list levels), where
/// speed matters and unpredictability to peers does not beyond the seed.
pub fn random_u64() -> u64 {
    thread_local! {
        // `| 1`: xorshift has a fixed point at zero.
        static STATE: Cell<u64> = Cell::new(RandomState::new().hash_one(0x5eed_u64) | 1);
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

type Link<V> = Option<Box<Node<V>>>;

/// `repr(C)` so that [`Dict::prefetch`] knows where the fields sit: the key first and the `next` link last, so
/// touching both warms every cache line of a node, whichever way the allocator aligned it.
#[repr(C)]
struct Node<V> {
    key: Key,
    value: V,
    next: Link<V>,
}

/// One power-of-two bucket array. An empty table has no buckets at all (no allocation).
struct Table<V> {
    buckets: Box<[Link<V>]>,
    used: usize,
}

impl<V> Table<V> {
    fn empty() -> Self {
        Self { buckets: Box::new([]), used: 0 }
    }

    fn with_buckets(n: usize) -> Self {
        debug_assert!(n.is_power_of_two());
        Self { buckets: std::iter::repeat_with(|| None).take(n).collect(), used: 0 }
    }

    fn size(&self) -> usize {
        self.buckets.len()
    }

    /// Bucket index for hash `h`; the table must not be empty.
    fn index(&self, h: u64) -> usize {
        (h as usize) & (self.buckets.len() - 1)
    }
}

/// A chained hash table from binary keys to `V`; see the module docs for the design.
pub struct Dict<V> {
    /// `tables[1]` is non-empty only while a resize is in progress.
    tables: [Table<V>; 2],
    /// Next bucket of `tables[0]` to move into `tables[1]`; `None` when not resizing.
    rehash_idx: Option<usize>,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: fmt::Debug> fmt::Debug for Dict<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter().map(|(k, v)| (k.escape_ascii().to_string(), v))).finish()
    }
}

impl<V> Dict<V> {
    /// An empty dict; allocates nothing until the first insert.
    pub fn new() -> Self {
        Self { tables: [Table::empty(), Table::empty()], rehash_idx: None }
    }

    /// An empty dict presized so that `n` inserts cause no resize (like Redis's `dictExpand`
    /// before loading a known number of entries).
    pub fn with_capacity(n: usize) -> Self {
        let mut dict = Self::new();
        if n > 0 {
            dict.tables[0] = Table::with_buckets(n.next_power_of_two().max(INITIAL_BUCKETS));
        }
        dict
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.tables[0].used + self.tables[1].used
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while a resize is moving buckets from the old table to the new one.
    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    /// Bucket slots allocated across both tables (for `MEMORY`/`DEBUG HTSTATS`-style reporting).
    pub fn bucket_count(&self) -> usize {
        self.tables[0].size() + self.tables[1].size()
    }

    /// The value for `key`. Does not advance a pending rehash (it only has `&self`).
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        let (t, b) = self.locate(hash_key(key), key)?;
        let mut cur = self.tables[t].buckets[b].as_deref();
        while let Some(node) = cur {
            if node.key.as_bytes() == key {
                return Some(&node.value);
            }
            cur = node.next.as_deref();
        }
        None
    }

    /// Brings the bucket slots and first chain nodes of `keys` into the cache ahead of their lookups; a hint only,
    /// nothing observable changes.
    ///
    /// A lookup in a big table is two dependent cache misses (the bucket slot, then the node), and a single lookup
    /// cannot overlap them. When the next few keys are known (a pipelined batch), loading all their slots in one
    /// tight loop and then all their nodes in a second one lets the CPU keep one miss per key in flight at once,
    /// so the lookups that follow hit the cache. Safe Rust has no prefetch instruction, so these are ordinary
    /// loads whose results are discarded; the loops are short enough (a few instructions per key) that the
    /// out-of-order window covers all of them. Valkey 8 batch-prefetches pipelined keys the same way; Redis 7.0
    /// takes the misses one by one.
    pub fn prefetch(&self, keys: &[&[u8]]) {
        if self.is_empty() {
            return;
        }
        let mut slots: [Option<&Link<V>>; PREFETCH_MAX_KEYS] = [None; PREFETCH_MAX_KEYS];
        for (slot, key) in slots.iter_mut().zip(keys) {
            let h = hash_key(key);
            // During a resize a key lives in the new table if its old bucket has already moved.
            let old = &self.tables[0];
            let t = match self.rehash_idx {
                Some(moved) if old.size() == 0 || old.index(h) < moved => &self.tables[1],
                _ => old,
            };
            if t.size() > 0 {
                *slot = Some(&t.buckets[t.index(h)]);
            }
        }
        let heads: [Option<&Node<V>>; PREFETCH_MAX_KEYS] = slots.map(|s| s.and_then(|link| link.as_deref()));
        let mut touched = 0usize;
        for node in heads.iter().flatten() {
            touched = touched.wrapping_add(node.key.len()).wrapping_add(usize::from(node.next.is_some()));
        }
        std::hint::black_box(touched);
    }

    /// The stored key and value for `key` (the stored [`Key`] can be cloned without re-copying
    /// through a slice).
    pub fn get_key_value(&self, key: &[u8]) -> Option<(&Key, &V)> {
        let (t, b) = self.locate(hash_key(key), key)?;
        let mut cur = self.tables[t].buckets[b].as_deref();
        while let Some(node) = cur {
            if node.key.as_bytes() == key {
                return Some((&node.key, &node.value));
            }
            cur = node.next.as_deref();
        }
        None
    }

    /// True when `key` is present.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.locate(hash_key(key), key).is_some()
    }

    /// Mutable access to the value for `key`; advances a pending rehash by one bucket.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.rehash_step();
        let h = hash_key(key);
        let (t, b) = self.locate(h, key)?;
        chain_find_mut(&mut self.tables[t].buckets[b], key).map(|node| &mut node.value)
    }

    /// Inserts or replaces; returns the previous value. The key is copied only when it is new.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        self.rehash_step();
        let h = hash_key(key);
        if let Some((t, b)) = self.locate(h, key) {
            let node = chain_find_mut(&mut self.tables[t].buckets[b], key)?;
            return Some(mem::replace(&mut node.value, value));
        }
        self.add_new(h, Key::from_slice(key), value);
        None
    }

    /// Like [`Dict::insert`], but takes an already-owned [`Key`] (no copy when it is new).
    pub fn insert_key(&mut self, key: Key, value: V) -> Option<V> {
        self.rehash_step();
        let h = hash_key(&key);
        if let Some((t, b)) = self.locate(h, &key) {
            let node = chain_find_mut(&mut self.tables[t].buckets[b], &key)?;
            return Some(mem::replace(&mut node.value, value));
        }
        self.add_new(h, key, value);
        None
    }

    /// The value for `key`, inserting `make()` first if it is absent (one hash computation).
    pub fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        self.rehash_step();
        let h = hash_key(key);
        match self.locate(h, key) {
            Some((t, b)) => match chain_find_mut(&mut self.tables[t].buckets[b], key) {
                Some(node) => &mut node.value,
                // `locate` just found it in this chain.
                None => unreachable!("dict: located key vanished from its chain"),
            },
            None => self.add_new(h, Key::from_slice(key), make()),
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        self.remove_entry(key).map(|(_, v)| v)
    }

    /// Removes `key`; returns the stored key and value (the key can be reused without a copy).
    pub fn remove_entry(&mut self, key: &[u8]) -> Option<(Key, V)> {
        self.rehash_step();
        let (t, b) = self.locate(hash_key(key), key)?;
        let node = chain_unlink(&mut self.tables[t].buckets[b], key)?;
        self.tables[t].used -= 1;
        self.shrink_if_sparse();
        let Node { key, value, .. } = *node;
        Some((key, value))
    }

    /// Drops every entry and frees the bucket arrays (Redis's `dictEmpty`).
    pub fn clear(&mut self) {
        self.tables = [Table::empty(), Table::empty()];
        self.rehash_idx = None;
    }

    /// Iterates every entry in bucket order (unspecified but stable while the dict is unchanged).
    pub fn iter(&self) -> Iter<'_, V> {
        Iter { dict: self, table: 0, bucket: 0, node: None, remaining: self.len() }
    }

    /// Moves up to `n` buckets of a pending resize (Redis's `dictRehash`). Returns true while
    /// more work remains. The server calls this from its cron so that an idle, read-only dict
    /// still finishes resizing and frees the old table.
    pub fn rehash_steps(&mut self, n: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else {
            return false;
        };
        let mut empty_visits = n.saturating_mul(REHASH_EMPTY_VISITS_PER_STEP);
        for _ in 0..n {
            if self.tables[0].used == 0 {
                break;
            }
            // `used > 0` guarantees a non-empty bucket at or after `idx`.
            while self.tables[0].buckets[idx].is_none() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehash_idx = Some(idx);
                    return true;
                }
            }
            let mut chain = self.tables[0].buckets[idx].take();
            while let Some(mut node) = chain {
                chain = node.next.take();
                let new_table = &mut self.tables[1];
                let b = new_table.index(hash_key(&node.key));
                node.next = new_table.buckets[b].take();
                new_table.buckets[b] = Some(node);
                new_table.used += 1;
                self.tables[0].used -= 1;
            }
            idx += 1;
        }
        if self.tables[0].used == 0 {
            self.tables[0] = mem::replace(&mut self.tables[1], Table::empty());
            self.rehash_idx = None;
            // Deletes during a shrink may have left the new table sparse too; re-check now
            // rather than wait for the next delete (Redis's cron re-checks periodically).
            self.shrink_if_sparse();
            return self.rehash_idx.is_some();
        }
        self.rehash_idx = Some(idx);
        true
    }

    /// One step of `SCAN`: calls `visit` for every entry in the bucket(s) under `cursor` and
    /// returns the next cursor; 0 means the scan is complete. Start with cursor 0.
    ///
    /// Guarantee (as Redis's `dictScan`): every entry present from the first call to the last is
    /// visited at least once, even if the dict grows, shrinks or is mid-resize between calls.
    /// Entries may be visited more than once; entries added or removed meanwhile may or may not
    /// be. One call costs O(chain length), except mid-resize from small to large tables where it
    /// also visits every bucket of the large table that the small bucket expands into.
    pub fn scan(&self, cursor: u64, mut visit: impl FnMut(&[u8], &V)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor;
        let mut emit = |link: &Link<V>| {
            let mut cur = link.as_deref();
            while let Some(node) = cur {
                visit(&node.key, &node.value);
                cur = node.next.as_deref();
            }
        };
        if self.rehash_idx.is_none() {
            let t = &self.tables[0];
            let m0 = (t.size() - 1) as u64;
            emit(&t.buckets[(v & m0) as usize]);
            v = next_cursor(v, m0);
        } else {
            let (small, large) = if self.tables[0].size() <= self.tables[1].size() {
                (&self.tables[0], &self.tables[1])
            } else {
                (&self.tables[1], &self.tables[0])
            };
            let m0 = (small.size() - 1) as u64;
            let m1 = (large.size() - 1) as u64;
            emit(&small.buckets[(v & m0) as usize]);
            // Visit every bucket of the large table that the small bucket splits into: they share
            // the low bits `v & m0` and differ in the bits `m0 ^ m1`.
            loop {
                emit(&large.buckets[(v & m1) as usize]);
                v = next_cursor(v, m1);
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v
    }

    /// A random entry, close to uniform: samples a run of up to 20 entries from a random position
    /// and picks one of them (Redis's `dictGetFairRandomKey`), which avoids the bias towards
    /// entries in short chains that picking a random bucket and then a random chain element has.
    pub fn random_entry(&self) -> Option<(&[u8], &V)> {
        let sample = self.sample(FAIR_RANDOM_SAMPLE);
        if sample.is_empty() {
            return self.random_entry_by_bucket();
        }
        Some(sample[(random_u64() % sample.len() as u64) as usize])
    }

    /// Up to `n` entries from consecutive buckets starting at a random one (Redis's
    /// `dictGetSomeKeys`). Cheap (O(n) bucket visits, bounded at `10 n`), not uniform, and may
    /// return fewer than `n` entries, or, after it jumps away from a long empty stretch, the same
    /// entry twice. Meant for eviction/expiry sampling and as the basis of [`Dict::random_entry`].
    pub fn sample(&self, n: usize) -> Vec<(&[u8], &V)> {
        let count = n.min(self.len());
        let mut out = Vec::with_capacity(count);
        if count == 0 {
            return out;
        }
        let tables = if self.rehash_idx.is_some() { 2 } else { 1 };
        let max_mask = self.tables[0].size().max(self.tables[1].size()) - 1;
        let rehash_idx = self.rehash_idx.unwrap_or(0);
        let mut i = (random_u64() as usize) & max_mask;
        let mut empty_run = 0usize;
        let mut steps = count * 10;
        while out.len() < count && steps > 0 {
            steps -= 1;
            for t in 0..tables {
                // Buckets of the old table below `rehash_idx` are empty: they have moved.
                if tables == 2 && t == 0 && i < rehash_idx {
                    if i >= self.tables[1].size() {
                        i = rehash_idx;
                    } else {
                        continue;
                    }
                }
                let table = &self.tables[t];
                if i >= table.size() {
                    continue;
                }
                let mut cur = table.buckets[i].as_deref();
                if cur.is_none() {
                    empty_run += 1;
                    if empty_run >= 5 && empty_run > count {
                        i = (random_u64() as usize) & max_mask;
                        empty_run = 0;
                    }
                    continue;
                }
                empty_run = 0;
                while let Some(node) = cur {
                    out.push((node.key.as_bytes(), &node.value));
                    if out.len() == count {
                        return out;
                    }
                    cur = node.next.as_deref();
                }
            }
            i = (i + 1) & max_mask;
        }
        out
    }

    /// Random non-empty bucket, then a random element of its chain (Redis's `dictGetRandomKey`).
    fn random_entry_by_bucket(&self) -> Option<(&[u8], &V)> {
        if self.is_empty() {
            return None;
        }
        // The loop ends with probability 1: the dict is non-empty, and its fill stays above
        // MIN_FILL_PERCENT outside of a resize.
        let bucket = loop {
            let link = match self.rehash_idx {
                Some(idx) => {
                    let s0 = self.tables[0].size();
                    let span = (s0 + self.tables[1].size() - idx) as u64;
                    let h = idx + (random_u64() % span) as usize;
                    if h >= s0 {
                        &self.tables[1].buckets[h - s0]
                    } else {
                        &self.tables[0].buckets[h]
                    }
                }
                None => {
                    let t = &self.tables[0];
                    &t.buckets[(random_u64() as usize) & (t.size() - 1)]
                }
            };
            if let Some(node) = link.as_deref() {
                break node;
            }
        };
        let mut chain_len = 0u64;
        let mut cur = Some(bucket);
        while let Some(node) = cur {
            chain_len += 1;
            cur = node.next.as_deref();
        }
        let mut node = bucket;
        for _ in 0..random_u64() % chain_len {
            node = node.next.as_deref()?;
        }
        Some((&node.key, &node.value))
    }

    /// Where `key` lives: (table, bucket).
    fn locate(&self, h: u64, key: &[u8]) -> Option<(usize, usize)> {
        let tables = if self.rehash_idx.is_some() { 2 } else { 1 };
        for t in 0..tables {
            let table = &self.tables[t];
            if table.size() == 0 {
                continue;
            }
            let b = table.index(h);
            let mut cur = table.buckets[b].as_deref();
            while let Some(node) = cur {
                if node.key.as_bytes() == key {
                    return Some((t, b));
                }
                cur = node.next.as_deref();
            }
        }
        None
    }

    /// Links a key known to be absent at the head of its bucket.
    fn add_new(&mut self, h: u64, key: Key, value: V) -> &mut V {
        self.grow_if_full();
        // New entries go to the new table during a resize so the old one only ever drains.
        let table = &mut self.tables[usize::from(self.rehash_idx.is_some())];
        let b = table.index(h);
        let next = table.buckets[b].take();
        table.used += 1;
        let node = table.buckets[b].insert(Box::new(Node { next, key, value }));
        &mut node.value
    }

    fn rehash_step(&mut self) {
        if self.rehash_idx.is_some() {
            self.rehash_steps(1);
        }
    }

    /// Grows at load factor 1 (Redis's `_dictExpandIfNeeded`), to the next power of two.
    fn grow_if_full(&mut self) {
        if self.tables[0].size() == 0 {
            self.tables[0] = Table::with_buckets(INITIAL_BUCKETS);
            return;
        }
        if self.rehash_idx.is_none() && self.tables[0].used >= self.tables[0].size() {
            self.start_resize((self.tables[0].used + 1).next_power_of_two());
        }
    }

    /// Shrinks below 10% fill to the smallest power of two holding every entry at load <= 1
    /// (what Redis's cron does via `htNeedsResize` + `dictResize`; we do it on delete).
    fn shrink_if_sparse(&mut self) {
        let t0 = &self.tables[0];
        if self.rehash_idx.is_none() && t0.size() > INITIAL_BUCKETS && t0.used * 100 / t0.size() < MIN_FILL_PERCENT {
            self.start_resize(t0.used.next_power_of_two().max(INITIAL_BUCKETS));
        }
    }

    fn start_resize(&mut self, buckets: usize) {
        if buckets == self.tables[0].size() {
            return;
        }
        self.tables[1] = Table::with_buckets(buckets);
        self.rehash_idx = Some(0);
    }
}

/// Advances a reverse-binary cursor for a table with mask `mask`: set the bits above the mask so
/// the increment carries through them, then add one to the bit-reversed value.
fn next_cursor(v: u64, mask: u64) -> u64 {
    (v | !mask).reverse_bits().wrapping_add(1).reverse_bits()
}

fn chain_find_mut<'a, V>(link: &'a mut Link<V>, key: &[u8]) -> Option<&'a mut Node<V>> {
    let mut cur = link.as_deref_mut();
    while let Some(node) = cur {
        if node.key.as_bytes() == key {
            return Some(node);
        }
        cur = node.next.as_deref_mut();
    }
    None
}

fn chain_unlink<V>(mut link: &mut Link<V>, key: &[u8]) -> Option<Box<Node<V>>> {
    loop {
        match link {
            None => return None,
            Some(node) if node.key.as_bytes() == key => break,
            Some(node) => link = &mut node.next,
        }
    }
    let mut node = link.take()?;
    *link = node.next.take();
    Some(node)
}

/// Iterator over a [`Dict`]'s entries; see [`Dict::iter`].
pub struct Iter<'a, V> {
    dict: &'a Dict<V>,
    table: usize,
    bucket: usize,
    node: Option<&'a Node<V>>,
    remaining: usize,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a [u8], &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(node) = self.node {
                self.node = node.next.as_deref();
                self.remaining -= 1;
                return Some((&node.key, &node.value));
            }
            if self.remaining == 0 || self.table >= 2 {
                return None;
            }
            let table = &self.dict.tables[self.table];
            if self.bucket >= table.size() {
                self.table += 1;
                self.bucket = 0;
                continue;
            }
            self.node = table.buckets[self.bucket].as_deref();
            self.bucket += 1;
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<V> ExactSizeIterator for Iter<'_, V> {}

impl<'a, V> IntoIterator for &'a Dict<V> {
    type Item = (&'a [u8], &'a V);
    type IntoIter = Iter<'a, V>;
    fn into_iter(self) -> Iter<'a, V> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};

    fn key(i: u32) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    #[test]
    fn layout_is_as_documented() {
        assert_eq!(mem::size_of::<Key>(), 24);
        assert_eq!(mem::size_of::<Node<[u8; 24]>>(), 56);
        assert_eq!(mem::size_of::<Link<u64>>(), 8);
    }

    #[test]
    fn prefetch_is_only_a_hint() {
        let mut d = Dict::new();
        d.prefetch(&[b"nothing yet"]);
        let long = [b'k'; 40];
        let mut keys: Vec<Vec<u8>> = (0..40u32).map(key).collect();
        keys.push(long.to_vec());
        let slices: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let mut saw_rehash = false;
        for (i, k) in keys.iter().enumerate() {
            d.insert(k, i);
            saw_rehash |= d.is_rehashing();
            // Before and during resizes, with present and absent keys, more keys than one call takes.
            d.prefetch(&slices);
            d.prefetch(&[]);
        }
        assert!(saw_rehash);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(d.get(k), Some(&i));
        }
        assert_eq!(d.len(), keys.len());
    }

    #[test]
    fn key_inline_and_heap_compare_as_bytes() {
        let short = Key::from_slice(b"abc");
        let long = Key::from_slice(&[b'x'; 40]);
        assert_eq!(short.as_bytes(), b"abc");
        assert_eq!(long.len(), 40);
        assert!(short < long);
        assert_eq!(Key::from(b"abc".to_vec()), short);
        assert_eq!(Key::from_slice(b""), Key::from_slice(b""));
        assert_eq!(Key::from_slice(&[0, 255, 10]).as_bytes(), &[0, 255, 10]);
        assert_eq!(format!("{:?}", Key::from_slice(b"a\n")), "Key(\"a\\n\")");
    }

    #[test]
    fn insert_get_remove_through_incremental_rehash() {
        let mut d = Dict::new();
        let mut saw_rehash = false;
        for i in 0..5_000u32 {
            assert_eq!(d.insert(&key(i), i), None);
            saw_rehash |= d.is_rehashing();
            // Everything inserted so far is reachable mid-resize.
            if i % 97 == 0 {
                for j in 0..=i {
                    assert_eq!(d.get(&key(j)), Some(&j), "lost {j} at size {i}");
                }
            }
        }
        assert!(saw_rehash);
        assert_eq!(d.len(), 5_000);
        assert_eq!(d.insert(&key(7), 70), Some(7));
        *d.get_mut(&key(8)).unwrap() = 80;
        assert_eq!(d.get(&key(8)), Some(&80));
        assert_eq!(d.len(), 5_000);

        let mut saw_shrink = false;
        for i in 0..4_990u32 {
            let expect = match i {
                7 => 70,
                8 => 80,
                _ => i,
            };
            assert_eq!(d.remove(&key(i)), Some(expect));
            assert_eq!(d.remove(&key(i)), None);
            saw_shrink |= d.is_rehashing();
            if i % 101 == 0 {
                for j in i + 1..5_000 {
                    assert!(d.contains_key(&key(j)));
                }
            }
        }
        assert!(saw_shrink);
        assert_eq!(d.len(), 10);
        while d.rehash_steps(100) {}
        assert!(d.bucket_count() <= 16, "shrunk to {}", d.bucket_count());
        let mut rest: Vec<u32> = d.iter().map(|(_, v)| *v).collect();
        rest.sort_unstable();
        assert_eq!(rest, (4_990..5_000).collect::<Vec<_>>());
        d.clear();
        assert!(d.is_empty());
        assert_eq!(d.get(&key(4_999)), None);
    }

    #[test]
    fn matches_a_btreemap_under_random_operations() {
        let mut d = Dict::new();
        let mut model = BTreeMap::new();
        for step in 0..50_000u64 {
            let r = random_u64();
            let k = key((r % 2_000) as u32);
            match (r >> 32) % 4 {
                0 | 1 => assert_eq!(d.insert(&k, step), model.insert(k.clone(), step)),
                2 => assert_eq!(d.remove(&k), model.remove(&k)),
                _ => assert_eq!(d.get(&k), model.get(&k)),
            }
            assert_eq!(d.len(), model.len());
        }
        let mut all: Vec<(Vec<u8>, u64)> = d.iter().map(|(k, v)| (k.to_vec(), *v)).collect();
        all.sort();
        assert_eq!(all, model.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn get_or_insert_with_inserts_once() {
        let mut d: Dict<Vec<u8>> = Dict::new();
        d.get_or_insert_with(b"k", Vec::new).push(1);
        d.get_or_insert_with(b"k", || unreachable!()).push(2);
        assert_eq!(d.get(b"k"), Some(&vec![1, 2]));
        let (k, v) = d.remove_entry(b"k").unwrap();
        assert_eq!((k.as_bytes(), v), (&b"k"[..], vec![1, 2]));
    }

    #[test]
    fn binary_and_long_keys() {
        let mut d = Dict::new();
        let long = vec![0u8; 1_000];
        d.insert(&long, 1);
        d.insert(b"\0\r\n", 2);
        d.insert(b"", 3);
        assert_eq!(d.get(&long), Some(&1));
        assert_eq!(d.get(b"\0\r\n"), Some(&2));
        assert_eq!(d.get(b""), Some(&3));
        assert_eq!(d.get(&long[..999]), None);
    }

    /// Runs a full scan, applying `between` before each call; returns every key seen.
    fn full_scan(d: &mut Dict<u32>, mut between: impl FnMut(&mut Dict<u32>, usize)) -> HashSet<u32> {
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            between(d, calls);
            cursor = d.scan(cursor, |_, v| {
                seen.insert(*v);
            });
            calls += 1;
            assert!(calls < 1_000_000, "scan does not terminate");
            if cursor == 0 {
                return seen;
            }
        }
    }

    #[test]
    fn scan_without_changes_sees_everything() {
        let mut d = Dict::new();
        for i in 0..1_000 {
            d.insert(&key(i), i);
        }
        while d.rehash_steps(100) {}
        let seen = full_scan(&mut d, |_, _| {});
        assert_eq!(seen.len(), 1_000);
        assert_eq!(Dict::<u32>::new().scan(0, |_, _| panic!()), 0);
    }

    #[test]
    fn scan_survives_growth() {
        // Keys 0..500 stay for the whole scan while 20,000 more are added between calls, so the
        // table grows several times (and is often mid-resize) during the scan.
        let mut d = Dict::new();
        for i in 0..500 {
            d.insert(&key(i), i);
        }
        let mut next = 500;
        let seen = full_scan(&mut d, |d, _| {
            for _ in 0..40 {
                if next < 20_500 {
                    d.insert(&key(next), next);
                    next += 1;
                }
            }
        });
        assert!(next > 10_000, "table did not grow much during the scan");
        for i in 0..500 {
            assert!(seen.contains(&i), "missed {i}");
        }
    }

    #[test]
    fn scan_survives_shrinking() {
        // Keys 0..300 stay; 30,000 others are deleted between calls, shrinking the table.
        let mut d = Dict::new();
        for i in 0..30_300 {
            d.insert(&key(i), i);
        }
        while d.rehash_steps(1_000) {}
        let big = d.bucket_count();
        let mut next = 300;
        let seen = full_scan(&mut d, |d, _| {
            for _ in 0..200 {
                if next < 30_300 {
                    d.remove(&key(next));
                    next += 1;
                }
            }
        });
        while d.rehash_steps(1_000) {}
        assert!(d.bucket_count() < big / 8, "{} -> {}", big, d.bucket_count());
        for i in 0..300 {
            assert!(seen.contains(&i), "missed {i}");
        }
    }

    #[test]
    fn scan_survives_grow_and_shrink_cycles() {
        let mut d = Dict::new();
        for i in 0..200 {
            d.insert(&key(i), i);
        }
        let seen = full_scan(&mut d, |d, call| {
            // Alternate phases of growth and deletion of the transient keys 1_000..9_000.
            let phase = (call / 20) % 2;
            for j in 0..400 {
                let k = 1_000 + ((call * 400 + j) % 8_000) as u32;
                if phase == 0 {
                    d.insert(&key(k), k);
                } else {
                    d.remove(&key(k));
                }
            }
        });
        for i in 0..200 {
            assert!(seen.contains(&i), "missed {i}");
        }
    }

    #[test]
    fn random_entry_reaches_every_element() {
        let mut d = Dict::new();
        for i in 0..100 {
            d.insert(&key(i), i);
        }
        let mut hits = [0u32; 100];
        for _ in 0..20_000 {
            let (k, v) = d.random_entry().unwrap();
            assert_eq!(k, key(*v));
            hits[*v as usize] += 1;
        }
        // Uniform would be 200 each; demand every element is reachable and none starved.
        assert!(hits.iter().all(|&h| h > 20), "{hits:?}");
        assert!(Dict::<u32>::new().random_entry().is_none());
    }

    #[test]
    fn random_entry_works_mid_resize_and_when_sparse() {
        let mut d = Dict::new();
        for i in 0..10_000 {
            d.insert(&key(i), i);
        }
        for i in 0..9_995 {
            d.remove(&key(i));
        }
        let mut seen = HashSet::new();
        for _ in 0..2_000 {
            seen.insert(*d.random_entry().unwrap().1);
        }
        assert_eq!(seen, (9_995..10_000).collect());
        for _ in 0..200 {
            seen.insert(*d.random_entry_by_bucket().unwrap().1);
        }
        assert_eq!(seen.len(), 5);
    }

    #[test]
    fn sample_returns_distinct_live_entries() {
        let mut d = Dict::new();
        for i in 0..1_000 {
            d.insert(&key(i), i);
        }
        let s = d.sample(20);
        assert_eq!(s.len(), 20);
        for (k, v) in &s {
            assert_eq!(*k, key(**v));
        }
        assert_eq!(d.sample(5_000).len(), 1_000);
        assert!(d.sample(0).is_empty());
    }

    #[test]
    fn with_capacity_avoids_resizing() {
        let mut d = Dict::with_capacity(1_000);
        let buckets = d.bucket_count();
        for i in 0..1_000 {
            d.insert(&key(i), i);
            assert!(!d.is_rehashing());
        }
        assert_eq!(d.bucket_count(), buckets);
    }
}
