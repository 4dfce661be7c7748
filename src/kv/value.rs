//! The five Redis value types and what `TYPE` and `OBJECT ENCODING` say about them.
//!
//! A [`Value`] is what the keyspace ([`crate::kv::db::Db`]) maps a key to. Commands match on it
//! and reply `-WRONGTYPE` when the variant is not theirs. The enum is 24 bytes: small strings sit
//! inline, everything else is one pointer to its own allocation, so the common "short string
//! under a short key" entry costs a single 64-byte allocation (see [`crate::kv::dict`]).
//!
//! # Strings
//! [`Str`] is binary-safe bytes in one of two forms:
//! * **inline**, for up to [`INLINE_BYTES`] (22) bytes: no allocation at all, the analogue of
//!   Redis's "embstr" (one allocation for object and bytes) but cheaper still;
//! * **shared**, a boxed [`Bytes`]: `GET` of a large value hands the reply path a reference-counted
//!   [`Bytes`] (via [`Str::to_bytes`]) instead of copying it, and a large value taken from the
//!   decoder as `Bytes` is stored without a copy. Two allocations (the box and the buffer), like
//!   Redis's "raw" encoding (the `robj` and the SDS).
//!
//! `APPEND` and `SETRANGE` turn the buffer back into a `Vec` (free when nobody else holds it),
//! edit it with amortised growth, and freeze it again, so appending n bytes in small pieces costs
//! O(n) overall, like Redis's SDS preallocation.
//!
//! # Encodings
//! Redis picks compact encodings for small aggregates (listpack, intset) and converts to real
//! tables once they grow. We always use the real structure (a [`Dict`], a [`ZSet`], a
//! `VecDeque`) but report the encoding Redis 7.0 would, using its default thresholds, so that
//! `OBJECT ENCODING` answers like Redis. Redis never converts back to the compact form when an
//! aggregate shrinks, so each aggregate keeps a sticky `promoted` flag.
//! Simplifications: string encodings are computed from the current contents, so a value built by
//! `APPEND`/`SETRANGE` may report "int"/"embstr" where Redis says "raw"; and sets are iterated in
//! hash order even while they report "intset" (Redis returns intset members sorted).

use std::collections::VecDeque;
use std::io::Write;

use bytes::Bytes;

pub use crate::kv::dict::INLINE_BYTES;
use crate::kv::dict::{Dict, Inline, Key};
use crate::kv::zset::ZSet;

/// Strings up to this many bytes are "embstr" in Redis (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
pub const EMBSTR_MAX_BYTES: usize = 44;
/// Longest string Redis will try to encode as "int": 20 chars covers `-9223372036854775808`.
pub const INT_MAX_CHARS: usize = 20;
/// Hash fields above which Redis 7.0 converts a listpack to a hashtable (`hash-max-listpack-entries`).
pub const HASH_MAX_LISTPACK_ENTRIES: usize = 128;
/// Field or value length in bytes above which Redis 7.0 converts (`hash-max-listpack-value`).
pub const HASH_MAX_LISTPACK_VALUE: usize = 64;
/// Members above which Redis 7.0 converts an intset to a hashtable (`set-max-intset-entries`).
pub const SET_MAX_INTSET_ENTRIES: usize = 512;

/// A value stored under a key.
#[derive(Debug)]
pub enum Value {
    Str(Str),
    /// Boxed so the enum stays 24 bytes (a `VecDeque` is 32). Each element is a `Bytes` (32 B
    /// plus its buffer) so `LRANGE`/`LPOP` replies share rather than copy; Redis's quicklist
    /// packs small elements into listpacks and is far denser. As with [`Str`], push copies of
    /// small elements (`Bytes::copy_from_slice`), not slices of the socket read buffer, or each
    /// element keeps the whole read buffer alive.
    List(Box<VecDeque<Bytes>>),
    Hash(Box<HashValue>),
    Set(Box<SetValue>),
    ZSet(Box<ZSet>),
}

impl Value {
    /// A string value, copying `bytes`.
    pub fn str(bytes: &[u8]) -> Self {
        Value::Str(Str::from(bytes))
    }

    /// An empty list.
    pub fn new_list() -> Self {
        Value::List(Box::default())
    }

    /// An empty hash.
    pub fn new_hash() -> Self {
        Value::Hash(Box::default())
    }

    /// An empty set.
    pub fn new_set() -> Self {
        Value::Set(Box::default())
    }

    /// An empty sorted set.
    pub fn new_zset() -> Self {
        Value::ZSet(Box::default())
    }

    /// What `TYPE` replies.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// What Redis 7.0's `OBJECT ENCODING` would reply for the same contents and history.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            // Redis 7.0 reports quicklist for every list, however short.
            Value::List(_) => "quicklist",
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&Str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// True for an aggregate with no elements. Redis deletes such keys; commands that remove
    /// elements check this and remove the key.
    pub fn is_empty_aggregate(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }
}

/// Redis's `string2ll` rules decide whether a string is an integer ("int" encoding, intset membership).
pub use crate::kv::num::parse_i64 as parse_redis_int;

/// A binary-safe string value; see the module docs for its two representations.
#[derive(Clone)]
pub struct Str(StrRepr);

#[derive(Clone)]
enum StrRepr {
    Inline(Inline),
    Shared(Box<Bytes>),
}

impl Str {
    /// The empty string.
    pub fn empty() -> Self {
        Str::from(&b""[..])
    }

    /// The decimal form of `n` (what `INCR` stores).
    pub fn from_i64(n: i64) -> Self {
        let mut buf = [0u8; INT_MAX_CHARS];
        let mut cursor = &mut buf[..];
        // 20 bytes hold every i64 in decimal, so the write cannot fail.
        let _ = write!(cursor, "{n}");
        let written = INT_MAX_CHARS - cursor.len();
        Str::from(&buf[..written])
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            StrRepr::Inline(inline) => inline.as_bytes(),
            StrRepr::Shared(bytes) => bytes,
        }
    }

    /// Length in bytes (`STRLEN`).
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as [`Bytes`] for the reply path: a reference-count increment for large values,
    /// a copy of at most [`INLINE_BYTES`] bytes for small ones.
    pub fn to_bytes(&self) -> Bytes {
        match &self.0 {
            StrRepr::Inline(inline) => Bytes::copy_from_slice(inline.as_bytes()),
            StrRepr::Shared(bytes) => Bytes::clone(bytes),
        }
    }

    /// The integer value if Redis would treat the string as one (`INCR` and friends).
    pub fn as_i64(&self) -> Option<i64> {
        parse_redis_int(self.as_bytes())
    }

    /// `APPEND`: adds `tail`, returns the new length. Amortised O(`tail.len()`).
    pub fn append(&mut self, tail: &[u8]) -> usize {
        if let StrRepr::Inline(inline) = &self.0 {
            if let Some(joined) = inline_concat(inline.as_bytes(), tail) {
                self.0 = StrRepr::Inline(joined);
                return self.len();
            }
        }
        let mut buf = self.take_vec(tail.len());
        buf.extend_from_slice(tail);
        *self = Str::from(buf);
        self.len()
    }

    /// `SETRANGE`: overwrites from `offset`, zero-padding any gap; returns the new length. The
    /// caller enforces Redis's 512 MB `proto-max-bulk-len` limit on `offset + data.len()` first.
    /// As in Redis, an empty `data` changes nothing (not even padding).
    pub fn set_range(&mut self, offset: usize, data: &[u8]) -> usize {
        if data.is_empty() {
            return self.len();
        }
        let end = offset + data.len();
        let mut buf = self.take_vec(end.saturating_sub(self.len()));
        if buf.len() < end {
            buf.resize(end, 0);
        }
        buf[offset..end].copy_from_slice(data);
        *self = Str::from(buf);
        self.len()
    }

    /// `OBJECT ENCODING` for this string: "int", "embstr" or "raw".
    pub fn encoding(&self) -> &'static str {
        let bytes = self.as_bytes();
        if parse_redis_int(bytes).is_some() {
            "int"
        } else if bytes.len() <= EMBSTR_MAX_BYTES {
            "embstr"
        } else {
            "raw"
        }
    }

    /// Moves the contents into a `Vec` with room for `extra` more bytes; copies only when the
    /// buffer is shared (e.g. a `GET` reply still holds it).
    fn take_vec(&mut self, extra: usize) -> Vec<u8> {
        match std::mem::replace(&mut self.0, StrRepr::Inline(Inline::EMPTY)) {
            StrRepr::Inline(inline) => {
                let mut v = Vec::with_capacity(inline.as_bytes().len() + extra);
                v.extend_from_slice(inline.as_bytes());
                v
            }
            StrRepr::Shared(bytes) => {
                let mut v = Vec::from(*bytes);
                v.reserve(extra);
                v
            }
        }
    }
}

fn inline_concat(a: &[u8], b: &[u8]) -> Option<Inline> {
    if a.len() + b.len() > INLINE_BYTES {
        return None;
    }
    let mut buf = [0u8; INLINE_BYTES];
    buf[..a.len()].copy_from_slice(a);
    buf[a.len()..a.len() + b.len()].copy_from_slice(b);
    Inline::new(&buf[..a.len() + b.len()])
}

impl From<&[u8]> for Str {
    /// Copies; small strings go inline.
    fn from(bytes: &[u8]) -> Self {
        match Inline::new(bytes) {
            Some(inline) => Str(StrRepr::Inline(inline)),
            None => Str(StrRepr::Shared(Box::new(Bytes::copy_from_slice(bytes)))),
        }
    }
}

impl From<Vec<u8>> for Str {
    /// Takes the buffer without copying (small strings go inline).
    fn from(bytes: Vec<u8>) -> Self {
        match Inline::new(&bytes) {
            Some(inline) => Str(StrRepr::Inline(inline)),
            None => Str(StrRepr::Shared(Box::new(Bytes::from(bytes)))),
        }
    }
}

impl From<Bytes> for Str {
    /// Keeps a large `Bytes` as it is, without copying. The caller should not pass a small
    /// slice of a large shared buffer (such as a 16 KB socket read buffer): the stored value
    /// would keep the whole buffer alive. Redis has the same trade-off and only adopts the
    /// query buffer for bulk arguments of 32 KB and more, which the decoder reads into a buffer
    /// of their own size.
    fn from(bytes: Bytes) -> Self {
        match Inline::new(&bytes) {
            Some(inline) => Str(StrRepr::Inline(inline)),
            None => Str(StrRepr::Shared(Box::new(bytes))),
        }
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for Str {}

impl std::fmt::Debug for Str {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Str(\"{}\")", self.as_bytes().escape_ascii())
    }
}

/// A hash: field -> string value, with the listpack/hashtable encoding Redis would report.
#[derive(Debug, Default)]
pub struct HashValue {
    fields: Dict<Str>,
    /// Sticky: past Redis's listpack limits at some point.
    promoted: bool,
}

impl HashValue {
    /// An empty hash.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of fields (`HLEN`).
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True with no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&Str> {
        self.fields.get(field)
    }

    /// Mutable access to the value of `field` (for `HINCRBY` and the like). Changing its length
    /// bypasses the encoding bookkeeping, so callers that grow a value should use `insert`.
    pub fn get_mut(&mut self, field: &[u8]) -> Option<&mut Str> {
        self.fields.get_mut(field)
    }

    /// True when `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.fields.contains_key(field)
    }

    /// Sets `field`; returns the previous value (`None` means a new field, as `HSET` counts).
    pub fn insert(&mut self, field: &[u8], value: Str) -> Option<Str> {
        if field.len() > HASH_MAX_LISTPACK_VALUE || value.len() > HASH_MAX_LISTPACK_VALUE {
            self.promoted = true;
        }
        let old = self.fields.insert(field, value);
        if self.fields.len() > HASH_MAX_LISTPACK_ENTRIES {
            self.promoted = true;
        }
        old
    }

    /// Removes `field`; returns its value.
    pub fn remove(&mut self, field: &[u8]) -> Option<Str> {
        self.fields.remove(field)
    }

    /// Every field and value, in hash order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Str)> + '_ {
        self.fields.iter()
    }

    /// A random field and value (`HRANDFIELD`).
    pub fn random_entry(&self) -> Option<(&[u8], &Str)> {
        self.fields.random_entry()
    }

    /// The underlying table, e.g. for `HSCAN` via [`Dict::scan`].
    pub fn dict(&self) -> &Dict<Str> {
        &self.fields
    }

    /// "listpack" or "hashtable".
    pub fn encoding(&self) -> &'static str {
        if self.promoted {
            "hashtable"
        } else {
            "listpack"
        }
    }
}

/// A set of binary members, with the intset/hashtable encoding Redis 7.0 would report.
#[derive(Debug, Default)]
pub struct SetValue {
    members: Dict<()>,
    /// Sticky: a non-integer member or more than 512 members was seen.
    promoted: bool,
}

impl SetValue {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of members (`SCARD`).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True with no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// True when `member` is in the set (`SISMEMBER`).
    pub fn contains(&self, member: &[u8]) -> bool {
        self.members.contains_key(member)
    }

    /// Adds `member`; true if it was new (`SADD` counts these).
    pub fn insert(&mut self, member: &[u8]) -> bool {
        if !self.promoted && parse_redis_int(member).is_none() {
            self.promoted = true;
        }
        let added = self.members.insert(member, ()).is_none();
        if self.members.len() > SET_MAX_INTSET_ENTRIES {
            self.promoted = true;
        }
        added
    }

    /// Removes `member`; true if it was present (`SREM`).
    pub fn remove(&mut self, member: &[u8]) -> bool {
        self.members.remove(member).is_some()
    }

    /// Every member, in hash order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.members.iter().map(|(m, _)| m)
    }

    /// A random member (`SRANDMEMBER`).
    pub fn random_member(&self) -> Option<&[u8]> {
        self.members.random_entry().map(|(m, _)| m)
    }

    /// Removes and returns a random member (`SPOP`).
    pub fn pop_random(&mut self) -> Option<Key> {
        let member = Key::from_slice(self.random_member()?);
        self.members.remove_entry(&member).map(|(k, _)| k)
    }

    /// The underlying table, e.g. for `SSCAN` via [`Dict::scan`].
    pub fn dict(&self) -> &Dict<()> {
        &self.members
    }

    /// "intset" or "hashtable".
    pub fn encoding(&self) -> &'static str {
        if self.promoted {
            "hashtable"
        } else {
            "intset"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_stays_small() {
        assert_eq!(std::mem::size_of::<Str>(), 24);
        assert_eq!(std::mem::size_of::<Value>(), 24);
    }

    #[test]
    fn type_names() {
        assert_eq!(Value::str(b"x").type_name(), "string");
        assert_eq!(Value::new_list().type_name(), "list");
        assert_eq!(Value::new_hash().type_name(), "hash");
        assert_eq!(Value::new_set().type_name(), "set");
        assert_eq!(Value::new_zset().type_name(), "zset");
        assert_eq!(Value::new_list().encoding(), "quicklist");
        assert!(Value::new_set().is_empty_aggregate());
        assert!(!Value::str(b"").is_empty_aggregate());
    }

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_redis_int(b"0"), Some(0));
        assert_eq!(parse_redis_int(b"-1"), Some(-1));
        assert_eq!(parse_redis_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_redis_int(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1.0",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"123456789012345678901",
            b"1a",
        ] {
            assert_eq!(parse_redis_int(bad), None, "{:?}", bad.escape_ascii().to_string());
        }
    }

    #[test]
    fn string_encodings_follow_redis_thresholds() {
        assert_eq!(Str::from(&b"12345"[..]).encoding(), "int");
        assert_eq!(Str::from(&b"-9223372036854775808"[..]).encoding(), "int");
        assert_eq!(Str::from(&b"012"[..]).encoding(), "embstr");
        assert_eq!(Str::from(&[b'a'; EMBSTR_MAX_BYTES][..]).encoding(), "embstr");
        assert_eq!(Str::from(&[b'a'; EMBSTR_MAX_BYTES + 1][..]).encoding(), "raw");
        assert_eq!(Str::from_i64(-42).as_bytes(), b"-42");
        assert_eq!(Str::from_i64(i64::MIN).as_i64(), Some(i64::MIN));
    }

    #[test]
    fn large_strings_are_shared_not_copied() {
        let big = Bytes::from(vec![7u8; 1_000]);
        let s = Str::from(big.clone());
        let out = s.to_bytes();
        assert_eq!(out.as_ptr(), big.as_ptr(), "GET of a large value must not copy");
        assert_eq!(s.as_bytes(), &big[..]);
    }

    #[test]
    fn append_across_the_inline_limit() {
        let mut s = Str::empty();
        let mut model = Vec::new();
        for i in 0..2_000u32 {
            let piece = i.to_string().into_bytes();
            model.extend_from_slice(&piece);
            assert_eq!(s.append(&piece), model.len());
            assert_eq!(s.as_bytes(), &model[..]);
        }
        // A reader holding the old buffer keeps its snapshot.
        let snapshot = s.to_bytes();
        s.append(b"!");
        assert_eq!(snapshot.len() + 1, s.len());
        assert_eq!(&snapshot[..], &model[..]);
    }

    #[test]
    fn set_range_pads_and_overwrites() {
        let mut s = Str::from(&b"Hello World"[..]);
        assert_eq!(s.set_range(6, b"Redis"), 11);
        assert_eq!(s.as_bytes(), b"Hello Redis");
        let mut s = Str::empty();
        assert_eq!(s.set_range(3, b"ab"), 5);
        assert_eq!(s.as_bytes(), b"\0\0\0ab");
        assert_eq!(s.set_range(100, b""), 5);
        let mut s = Str::from(vec![1u8; 30]);
        s.set_range(28, &[2u8; 10]);
        assert_eq!(s.len(), 38);
        assert_eq!(&s.as_bytes()[26..30], &[1, 1, 2, 2]);
    }

    #[test]
    fn hash_encoding_is_sticky() {
        let mut h = HashValue::new();
        for i in 0..HASH_MAX_LISTPACK_ENTRIES {
            assert!(h.insert(format!("f{i}").as_bytes(), Str::from_i64(i as i64)).is_none());
        }
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"extra", Str::empty());
        assert_eq!(h.encoding(), "hashtable");
        h.remove(b"extra");
        assert_eq!(h.encoding(), "hashtable");

        let mut h = HashValue::new();
        h.insert(b"f", Str::from(&[b'v'; HASH_MAX_LISTPACK_VALUE][..]));
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"f", Str::from(&[b'v'; HASH_MAX_LISTPACK_VALUE + 1][..]));
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn set_encoding_and_ops() {
        let mut s = SetValue::new();
        for i in 0..SET_MAX_INTSET_ENTRIES {
            assert!(s.insert(i.to_string().as_bytes()));
        }
        assert!(!s.insert(b"7"));
        assert_eq!(s.encoding(), "intset");
        s.insert(b"513");
        assert_eq!(s.encoding(), "hashtable");

        let mut s = SetValue::new();
        s.insert(b"1");
        s.insert(b"a");
        assert_eq!(s.encoding(), "hashtable");
        s.remove(b"a");
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"1"));
        assert_eq!(s.pop_random().as_deref(), Some(&b"1"[..]));
        assert!(s.is_empty());
        assert!(s.pop_random().is_none());
    }
}
