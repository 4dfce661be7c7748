//! Hash commands: HSET, HSETNX, HMSET, HGET, HMGET, HDEL, HLEN, HSTRLEN, HEXISTS, HKEYS, HVALS, HGETALL, HINCRBY,
//! HINCRBYFLOAT, HRANDFIELD and HSCAN.
//!
//! ```text
//!  argv --handler--> parse numbers and options (num.rs; before the lookup where Redis parses them first)
//!       --> Db lookup: reads count keyspace hits/misses (keys::lookup_read), writes create the hash on demand
//!       --> HashValue (a Dict<Str> plus the listpack/hashtable encoding Redis would report)
//!       --> cx.modified + cx.notify ("hset", "hdel", ...; then "del" if the hash became empty) --> Reply
//! ```
//!
//! Replies and errors follow Redis 7.0's `t_hash.c`: `HGETALL` is a map (`%` in RESP3), `HKEYS`/`HVALS` arrays,
//! `HRANDFIELD .. WITHVALUES` a flat array in RESP2 and an array of `[field, value]` pairs in RESP3. Fields and
//! values are copied out of `argv` (it points into the socket buffer).
//!
//! Simplifications against Redis:
//! * Redis keeps a small hash as a listpack, which iterates in insertion order; we always use a hash table, so
//!   `HGETALL`, `HKEYS`, `HVALS` and a one-shot `HSCAN` list a small hash in hash order instead.
//! * `HRANDFIELD` with a negative count (repeats allowed) refuses counts beyond [`MAX_RANDOM_REPEATS`] with
//!   `ERR value is out of range`: Redis would try to build the whole reply and can run out of memory.
//! * Random picks are close to uniform ([`Dict::random_entry`](super::dict::Dict::random_entry)), not Redis's
//!   exact sampling.

use bytes::Bytes;

use super::cmd::{flag::*, Command};
use super::error::{err, CmdError, CmdResult};
use super::exec::{remove_elements, Ctx, Elements, Notify};
use super::keys::{lookup_read, parse_cursor, parse_scan_opts, scan_collection, scan_reply};
use super::num::{self, parse_i64, parse_long_double, LongDouble};
use super::reply::{Reply, Resp};
use super::sets::distinct_sample;
use super::value::{HashValue, Str, Value};

/// Values at least this long are replied by sharing the stored buffer instead of copying it (the output buffer
/// copies smaller payloads anyway).
const SHARE_REPLY_MIN_BYTES: usize = 4 * 1024;

/// Largest |count| a negative `HRANDFIELD`/`SRANDMEMBER` count may ask for: each pick is one more reply element,
/// and 16 Mi small elements is already a reply of hundreds of MB. Redis has no cap and relies on
/// `client-output-buffer-limit`, which is unlimited for normal clients by default.
pub const MAX_RANDOM_REPEATS: u64 = 1 << 24;

/// Redis's `getRangeLongFromObjectOrReply(.., -LONG_MAX, LONG_MAX, ..)` text for the one value outside that range.
pub(crate) const RANDOM_COUNT_RANGE: CmdError =
    err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");

const HASH_NOT_INTEGER: CmdError = err("ERR hash value is not an integer");
const HASH_NOT_FLOAT: CmdError = err("ERR hash value is not a float");

/// Complexity text Redis documents for the SCAN family.
const SCAN_COMPLEXITY: &str = "O(1) for every call. O(N) for a complete iteration, including enough command calls \
for the cursor to return back to 0. N is the number of elements inside the collection..";

pub static COMMANDS: &[Command] = &[
    Command::new(
        "hdel",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "O(N) where N is the number of fields to be removed.",
        "Delete one or more hash fields",
        "key field [field ...]",
        hdel,
    )
    .with_acl("@hash"),
    Command::new(
        "hexists",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "O(1)",
        "Determine if a hash field exists",
        "key field",
        hexists,
    )
    .with_acl("@hash"),
    Command::new(
        "hget",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "O(1)",
        "Get the value of a hash field",
        "key field",
        hget,
    )
    .with_acl("@hash"),
    Command::new(
        "hgetall",
        2,
        READONLY,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "O(N) where N is the size of the hash.",
        "Get all the fields and values in a hash",
        "key",
        hgetall,
    )
    .with_acl("@hash"),
    Command::new(
        "hincrby",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "O(1)",
        "Increment the integer value of a hash field by the given number",
        "key field increment:integer",
        hincrby,
    )
    .with_acl("@hash"),
    Command::new(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "hash",
        "2.6.0",
        "O(1)",
        "Increment the float value of a hash field by the given amount",
        "key field increment:double",
        hincrbyfloat,
    )
    .with_acl("@hash"),
    Command::new(
        "hkeys",
        2,
        READONLY,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "O(N) where N is the size of the hash.",
        "Get all the fields in a hash",
        "key",
        hkeys,
    )
    .with_acl("@hash"),
    Command::new(
        "hlen",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "O(1)",
        "Get the number of fields in a hash",
        "key",
        hlen,
    )
    .with_acl("@hash"),
    Command::new(
        "hmget",
        -3,
        READONLY | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "O(N) where N is the number of fields being requested.",
        "Get the values of all the given hash fields",
        "key field [field ...]",
        hmget,
    )
    .with_acl("@hash"),
    Command::new(
        "hmset",
        -4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "O(N) where N is the number of fields being set.",
        "Set multiple hash fields to multiple values",
        "key (field value)...",
        hmset,
    )
    .with_acl("@hash"),
    Command::new(
        "hrandfield",
        -2,
        READONLY,
        (1, 1, 1),
        "hash",
        "6.2.0",
        "O(N) where N is the number of fields returned",
        "Get one or multiple random fields from a hash",
        "key [count:integer [WITHVALUES]]",
        hrandfield,
    )
    .with_acl("@hash"),
    Command::new(
        "hscan",
        -3,
        READONLY,
        (1, 1, 1),
        "hash",
        "2.8.0",
        SCAN_COMPLEXITY,
        "Incrementally iterate hash fields and associated values",
        "key cursor:integer [MATCH pattern] [COUNT count:integer]",
        hscan,
    )
    .with_acl("@hash"),
    Command::new(
        "hset",
        -4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with \
         multiple field/value pairs.",
        "Set the string value of a hash field",
        "key (field value)...",
        hset,
    )
    .with_acl("@hash"),
    Command::new(
        "hsetnx",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "O(1)",
        "Set the value of a hash field, only if the field does not exist",
        "key field value",
        hsetnx,
    )
    .with_acl("@hash"),
    Command::new(
        "hstrlen",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "hash",
        "3.2.0",
        "O(1)",
        "Get the length of the value of a hash field",
        "key field",
        hstrlen,
    )
    .with_acl("@hash"),
    Command::new(
        "hvals",
        2,
        READONLY,
        (1, 1, 1),
        "hash",
        "2.0.0",
        "O(N) where N is the size of the hash.",
        "Get all the values in a hash",
        "key",
        hvals,
    )
    .with_acl("@hash"),
];

// ---------------------------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------------------------

/// Records a write that changed `n` elements of `key`: one `WATCH` invalidation, and `n` towards
/// `rdb_changes_since_last_save`, as Redis's `server.dirty += n` counts elements rather than commands.
pub(crate) fn modified_n(cx: &mut Ctx<'_>, db: usize, key: &[u8], n: usize) {
    cx.modified(db, key);
    cx.engine.stats.dirty += (n as u64).saturating_sub(1);
}

/// Parses the count of `HRANDFIELD`/`SRANDMEMBER` (Redis's `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)`).
pub(crate) fn parse_random_count(arg: &[u8]) -> Result<i64, CmdError> {
    match parse_i64(arg) {
        None => Err(CmdError::NotInteger),
        Some(i64::MIN) => Err(RANDOM_COUNT_RANGE),
        Some(n) => Ok(n),
    }
}

/// A stored string as a bulk reply: small values are copied, large ones shared.
fn reply_str(reply: &mut Reply<'_>, s: &Str) {
    if s.len() >= SHARE_REPLY_MIN_BYTES {
        reply.bulk_shared(s.to_bytes());
    } else {
        reply.bulk(s.as_bytes());
    }
}

/// The hash under `key` for a read command (counting a keyspace hit or miss); `WRONGTYPE` for another type.
fn read_hash<'e>(cx: &'e mut Ctx<'_>, key: &[u8]) -> Result<Option<&'e HashValue>, CmdError> {
    match lookup_read(cx.engine, cx.db, key, cx.now_ms) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Redis's `hashTypeLookupWriteOrCreate`: the hash under `key`, created empty if the key is missing. Callers must
/// not fail after this when they created the key (Redis's callers cannot: a new hash has no field to object to).
fn hash_for_write<'e>(cx: &'e mut Ctx<'_>, key: &[u8]) -> Result<&'e mut HashValue, CmdError> {
    let now = cx.now_ms;
    match cx.engine.dbs[cx.db].get_or_insert_with(key, now, Value::new_hash) {
        Value::Hash(h) => Ok(h),
        _ => Err(CmdError::WrongType),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------------------------------

/// Redis's `hsetCommand`, shared by HSET (replies with the number of new fields) and HMSET (replies OK).
fn hset_generic(cx: &mut Ctx<'_>, argv: &[&[u8]], name: &str) -> CmdResult {
    // The table's arity (-4) lets through an odd number of arguments; a field without a value is an arity error.
    if argv.len() % 2 == 1 {
        return Err(CmdError::Arity(name.to_string()));
    }
    let key = argv[1];
    let db = cx.db;
    let hash = hash_for_write(cx, key)?;
    let mut created = 0;
    for pair in argv[2..].chunks_exact(2) {
        if hash.insert(pair[0], Str::from(pair[1])).is_none() {
            created += 1;
        }
    }
    let pairs = (argv.len() - 2) / 2;
    modified_n(cx, db, key, pairs);
    cx.notify(Notify::Hash, "hset", db, key);
    if name == "hset" {
        cx.reply.int(created);
    } else {
        cx.reply.ok();
    }
    Ok(())
}

fn hset(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    hset_generic(cx, argv, "hset")
}

/// Deprecated since 4.0 in favour of HSET with several pairs; kept for its `+OK` reply.
fn hmset(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    hset_generic(cx, argv, "hmset")
}

fn hsetnx(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (key, field, value) = (argv[1], argv[2], argv[3]);
    let db = cx.db;
    let hash = hash_for_write(cx, key)?;
    if hash.contains(field) {
        cx.reply.int(0);
        return Ok(());
    }
    hash.insert(field, Str::from(value));
    cx.modified(db, key);
    cx.notify(Notify::Hash, "hset", db, key);
    cx.reply.int(1);
    Ok(())
}

/// Removes fields; a hash left empty is deleted (`hdel`, then `del`).
fn hdel(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    remove_elements(cx, argv, Notify::Hash, "hdel", |v| match v {
        Value::Hash(h) => Some(&mut **h),
        _ => None,
    })
}

impl Elements for HashValue {
    fn remove_element(&mut self, field: &[u8]) -> bool {
        self.remove(field).is_some()
    }

    fn is_empty(&self) -> bool {
        HashValue::is_empty(self)
    }
}

/// Adds to an integer field (0 if missing). The increment is parsed before the key is looked up, as in Redis.
fn hincrby(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (key, field) = (argv[1], argv[2]);
    let incr = parse_i64(argv[3]).ok_or(CmdError::NotInteger)?;
    let db = cx.db;
    let hash = hash_for_write(cx, key)?;
    let old = match hash.get(field) {
        Some(v) => parse_i64(v.as_bytes()).ok_or(HASH_NOT_INTEGER)?,
        None => 0,
    };
    let new = old.checked_add(incr).ok_or(CmdError::Overflow)?;
    hash.insert(field, Str::from_i64(new));
    cx.modified(db, key);
    cx.notify(Notify::Hash, "hincrby", db, key);
    cx.reply.int(new);
    Ok(())
}

/// Adds to a float field (0 if missing) and stores the human-friendly decimal text, which is also the reply (a bulk
/// string in RESP2 and RESP3). An infinite increment is refused before the key is touched (Redis 7.0.5+), so a
/// failing call never leaves an empty hash behind.
fn hincrbyfloat(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (key, field) = (argv[1], argv[2]);
    let incr = parse_long_double(argv[3]).ok_or(CmdError::NotFloat)?;
    if !incr.is_finite() {
        return Err(err("ERR value is NaN or Infinity"));
    }
    let db = cx.db;
    let hash = hash_for_write(cx, key)?;
    let old = match hash.get(field) {
        Some(v) => parse_long_double(v.as_bytes()).ok_or(HASH_NOT_FLOAT)?,
        None => LongDouble::ZERO,
    };
    let sum = old + incr;
    if !sum.is_finite() {
        return Err(err("ERR increment would produce NaN or Infinity"));
    }
    let text = num::format_human(sum);
    hash.insert(field, Str::from(&text[..]));
    cx.modified(db, key);
    cx.notify(Notify::Hash, "hincrbyfloat", db, key);
    cx.reply.bulk(&text);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------------------------

fn hget(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let found = read_hash(cx, argv[1])?.and_then(|h| h.get(argv[2])).cloned();
    match found {
        Some(v) => reply_str(&mut cx.reply, &v),
        None => cx.reply.null(),
    }
    Ok(())
}

/// A missing key is an empty hash: every field replies null.
fn hmget(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    let hash = match lookup_read(cx.engine, db, argv[1], now) {
        None => None,
        Some(Value::Hash(h)) => Some(&**h),
        Some(_) => return Err(CmdError::WrongType),
    };
    cx.reply.array(argv.len() - 2);
    for field in &argv[2..] {
        match hash.and_then(|h| h.get(field)) {
            Some(v) => reply_str(&mut cx.reply, v),
            None => cx.reply.null(),
        }
    }
    Ok(())
}

fn hlen(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let len = read_hash(cx, argv[1])?.map_or(0, HashValue::len);
    cx.reply.int(len as i64);
    Ok(())
}

fn hstrlen(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let len = read_hash(cx, argv[1])?.and_then(|h| h.get(argv[2])).map_or(0, Str::len);
    cx.reply.int(len as i64);
    Ok(())
}

fn hexists(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let exists = read_hash(cx, argv[1])?.is_some_and(|h| h.contains(argv[2]));
    cx.reply.int(i64::from(exists));
    Ok(())
}

/// What HKEYS, HVALS and HGETALL list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    Fields,
    Values,
    Both,
}

/// Redis's `genericHgetallCommand`: a map for HGETALL (`%` in RESP3, a flat array in RESP2), arrays otherwise.
fn hgetall_generic(cx: &mut Ctx<'_>, key: &[u8], parts: Parts) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    let hash = match lookup_read(cx.engine, db, key, now) {
        None => None,
        Some(Value::Hash(h)) => Some(&**h),
        Some(_) => return Err(CmdError::WrongType),
    };
    let len = hash.map_or(0, HashValue::len);
    if parts == Parts::Both {
        cx.reply.map(len);
    } else {
        cx.reply.array(len);
    }
    for (field, value) in hash.into_iter().flat_map(HashValue::iter) {
        if parts != Parts::Values {
            cx.reply.bulk(field);
        }
        if parts != Parts::Fields {
            reply_str(&mut cx.reply, value);
        }
    }
    Ok(())
}

fn hkeys(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    hgetall_generic(cx, argv[1], Parts::Fields)
}

fn hvals(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    hgetall_generic(cx, argv[1], Parts::Values)
}

fn hgetall(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    hgetall_generic(cx, argv[1], Parts::Both)
}

/// HRANDFIELD key [count [WITHVALUES]], after Redis's `hrandfieldCommand`: the count and `WITHVALUES` are checked
/// before the key. Without a count: one field or null. With a count: an array (empty for a missing key); a
/// negative count picks |count| times with repeats, a positive one returns distinct fields, at most all of them.
fn hrandfield(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    if argv.len() == 2 {
        let field = read_hash(cx, argv[1])?.and_then(HashValue::random_entry).map(|(f, _)| Bytes::copy_from_slice(f));
        match field {
            Some(f) => cx.reply.bulk(&f),
            None => cx.reply.null(),
        }
        return Ok(());
    }
    let count = parse_random_count(argv[2])?;
    let with_values = match argv.get(3) {
        _ if argv.len() > 4 => return Err(CmdError::Syntax),
        Some(opt) if opt.eq_ignore_ascii_case(b"withvalues") => true,
        Some(_) => return Err(CmdError::Syntax),
        None => false,
    };
    // Twice |count| elements must still fit a `long` in RESP2's flat reply.
    if with_values && count.unsigned_abs() > (i64::MAX / 2) as u64 {
        return Err(err("ERR value is out of range"));
    }
    let resp = cx.reply.resp();
    let (db, now) = (cx.db, cx.now_ms);
    let hash = match lookup_read(cx.engine, db, argv[1], now) {
        None => {
            cx.reply.array(0);
            return Ok(());
        }
        Some(Value::Hash(h)) => &**h,
        Some(_) => return Err(CmdError::WrongType),
    };
    let reply = &mut cx.reply;
    let picks: Vec<(&[u8], &Str)> = if count < 0 {
        let n = count.unsigned_abs();
        if n > MAX_RANDOM_REPEATS {
            return Err(err("ERR value is out of range"));
        }
        (0..n).filter_map(|_| hash.random_entry()).collect()
    } else {
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        if n >= hash.len() {
            hash.iter().collect()
        } else {
            distinct_sample(hash.dict(), n)
        }
    };
    // RESP3 nests each pair in its own array; RESP2 flattens them.
    if with_values && resp == Resp::V2 {
        reply.array(picks.len() * 2);
    } else {
        reply.array(picks.len());
    }
    for (field, value) in picks {
        if with_values && resp != Resp::V2 {
            reply.array(2);
        }
        reply.bulk(field);
        if with_values {
            reply_str(reply, value);
        }
    }
    Ok(())
}

/// HSCAN key cursor [MATCH pattern] [COUNT count], after Redis's `hscanCommand`: the cursor is checked first, then
/// the key (a missing key replies an empty scan without looking at the options), then the options. Elements come
/// as field, value, field, value...
fn hscan(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(argv[2]).ok_or(err("ERR invalid cursor"))?;
    let (db, now) = (cx.db, cx.now_ms);
    let hash = match lookup_read(cx.engine, db, argv[1], now) {
        None => {
            scan_reply::<&[u8]>(&mut cx.reply, 0, &[]);
            return Ok(());
        }
        Some(Value::Hash(h)) => &**h,
        Some(_) => return Err(CmdError::WrongType),
    };
    let opts = parse_scan_opts(&argv[3..], false)?;
    let compact = hash.encoding() == "listpack";
    let (next, items) = scan_collection(hash.dict(), compact, cursor, &opts, |field, value, out| {
        out.push(Bytes::copy_from_slice(field));
        out.push(value.to_bytes());
    });
    scan_reply(&mut cx.reply, next, &items);
    Ok(())
}

#[cfg(test)]
mod tests {

    use crate::kv::testing::{NOT_INT, SYNTAX, T, WRONGTYPE};

    use std::collections::{HashMap, HashSet};

    fn bulk(s: &str) -> String {
        format!("${}\r\n{s}\r\n", s.len())
    }

    fn int(n: i64) -> String {
        format!(":{n}\r\n")
    }

    /// The bulk strings of a reply, in order, without its header lines (test values never start with `$` or `*`).
    fn bulks(reply: &str) -> Vec<String> {
        let lines: Vec<&str> = reply.split("\r\n").collect();
        lines.iter().skip(1).filter(|l| !l.starts_with(['$', '*']) && !l.is_empty()).map(|l| l.to_string()).collect()
    }

    #[test]
    fn hset_hget_and_counts() {
        let mut t = T::new();
        assert_eq!(t.call(&["HSET", "h", "a", "1", "b", "2"]), int(2));
        assert_eq!(t.call(&["HSET", "h", "a", "10", "c", "3"]), int(1), "only c is new");
        assert_eq!(t.call(&["HGET", "h", "a"]), bulk("10"));
        assert_eq!(t.call(&["HGET", "h", "zz"]), "$-1\r\n");
        assert_eq!(t.call(&["HGET", "nokey", "a"]), "$-1\r\n");
        assert_eq!(t.call(&["HLEN", "h"]), int(3));
        assert_eq!(t.call(&["HLEN", "nokey"]), int(0));
        assert_eq!(t.call(&["HSTRLEN", "h", "a"]), int(2));
        assert_eq!(t.call(&["HSTRLEN", "h", "nope"]), int(0));
        assert_eq!(t.call(&["HEXISTS", "h", "b"]), int(1));
        assert_eq!(t.call(&["HEXISTS", "h", "x"]), int(0));
        assert_eq!(t.call(&["HEXISTS", "nokey", "x"]), int(0));
        assert_eq!(t.call(&["HMSET", "h", "d", "4"]), "+OK\r\n");
        assert_eq!(t.call(&["HLEN", "h"]), int(4));
    }

    #[test]
    fn hset_arity_errors_name_the_command() {
        let mut t = T::new();
        assert_eq!(t.call(&["HSET", "h", "a", "1", "b"]), "-ERR wrong number of arguments for 'hset' command\r\n");
        assert_eq!(t.call(&["HMSET", "h", "a", "1", "b"]), "-ERR wrong number of arguments for 'hmset' command\r\n");
        assert_eq!(t.call(&["HSET", "h", "a"]), "-ERR wrong number of arguments for 'hset' command\r\n");
        assert!(!t.exists("h"), "a refused HSET creates nothing");
    }

    #[test]
    fn hset_counts_every_pair_as_a_change() {
        let mut t = T::new();
        let before = t.dirty();
        t.call(&["HSET", "h", "a", "1", "b", "2", "a", "3"]);
        assert_eq!(t.dirty() - before, 3, "Redis's server.dirty += pairs");
        assert_eq!(t.call(&["HGET", "h", "a"]), bulk("3"), "later pairs win");
    }

    #[test]
    fn values_are_binary_safe_and_large_values_intact() {
        let mut t = T::new();
        let big = vec![b'x'; 100_000];
        let argv: Vec<&[u8]> = vec![b"HSET", b"h\0k", b"f\r\n", b"v\0\xff", b"big", &big];
        assert_eq!(t.e.call(t.c, &argv), b":2\r\n");
        assert_eq!(t.e.call(t.c, &[b"HGET", b"h\0k", b"f\r\n"]), b"$3\r\nv\0\xff\r\n");
        let got = t.e.call(t.c, &[b"HGET", b"h\0k", b"big"]);
        assert_eq!(&got[..9], b"$100000\r\n");
        assert_eq!(got.len(), 9 + 100_000 + 2);
    }

    #[test]
    fn hsetnx_only_sets_missing_fields() {
        let mut t = T::new();
        assert_eq!(t.call(&["HSETNX", "h", "f", "1"]), int(1));
        assert_eq!(t.call(&["HSETNX", "h", "f", "2"]), int(0));
        assert_eq!(t.call(&["HGET", "h", "f"]), bulk("1"));
    }

    #[test]
    fn hmget_mixes_values_and_nulls() {
        let mut t = T::new();
        t.call(&["HSET", "h", "a", "1"]);
        assert_eq!(t.call(&["HMGET", "h", "a", "b"]), "*2\r\n$1\r\n1\r\n$-1\r\n");
        assert_eq!(t.call(&["HMGET", "nokey", "a"]), "*1\r\n$-1\r\n");
        t.resp3();
        assert_eq!(t.call(&["HMGET", "h", "b", "a"]), "*2\r\n_\r\n$1\r\n1\r\n");
    }

    #[test]
    fn hdel_removes_and_deletes_the_emptied_key() {
        let mut t = T::new();
        t.call(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(t.call(&["HDEL", "h", "a", "a", "zz"]), int(1));
        assert_eq!(t.call(&["HDEL", "nokey", "a"]), int(0));
        let before = t.dirty();
        assert_eq!(t.call(&["HDEL", "h", "b", "c", "b"]), int(2));
        assert_eq!(t.dirty() - before, 2);
        assert!(!t.exists("h"));
        assert_eq!(t.call(&["HLEN", "h"]), int(0));
    }

    #[test]
    fn hkeys_hvals_hgetall_in_both_protocols() {
        let mut t = T::new();
        assert_eq!(t.call(&["HGETALL", "nokey"]), "*0\r\n");
        assert_eq!(t.call(&["HKEYS", "nokey"]), "*0\r\n");
        t.call(&["HSET", "h", "f", "v"]);
        assert_eq!(t.call(&["HGETALL", "h"]), "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
        assert_eq!(t.call(&["HKEYS", "h"]), "*1\r\n$1\r\nf\r\n");
        assert_eq!(t.call(&["HVALS", "h"]), "*1\r\n$1\r\nv\r\n");
        t.resp3();
        assert_eq!(t.call(&["HGETALL", "h"]), "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
        assert_eq!(t.call(&["HGETALL", "nokey"]), "%0\r\n");
        assert_eq!(t.call(&["HKEYS", "h"]), "*1\r\n$1\r\nf\r\n");
        assert_eq!(t.call(&["HVALS", "nokey"]), "*0\r\n");

        let mut t = T::new();
        for i in 0..50 {
            t.call(&["HSET", "h", &format!("f{i}"), &format!("v{i}")]);
        }
        let all = bulks(&t.call(&["HGETALL", "h"]));
        let pairs: HashMap<&str, &str> = all.chunks(2).map(|p| (p[0].as_str(), p[1].as_str())).collect();
        assert_eq!(pairs.len(), 50);
        assert!(pairs.iter().all(|(f, v)| f[1..] == v[1..]), "fields and values stay paired");
        let keys = bulks(&t.call(&["HKEYS", "h"]));
        let vals = bulks(&t.call(&["HVALS", "h"]));
        let expect_vals: Vec<String> = keys.iter().map(|k| format!("v{}", &k[1..])).collect();
        assert_eq!(vals, expect_vals, "HKEYS and HVALS list in the same order");
    }

    #[test]
    fn hincrby() {
        let mut t = T::new();
        assert_eq!(t.call(&["HINCRBY", "h", "n", "5"]), int(5));
        assert_eq!(t.call(&["HINCRBY", "h", "n", "-7"]), int(-2));
        assert_eq!(t.call(&["HGET", "h", "n"]), bulk("-2"));
        t.call(&["HSET", "h", "s", "abc", "sp", " 1", "max", "9223372036854775807"]);
        assert_eq!(t.call(&["HINCRBY", "h", "s", "1"]), "-ERR hash value is not an integer\r\n");
        assert_eq!(t.call(&["HINCRBY", "h", "sp", "1"]), "-ERR hash value is not an integer\r\n");
        assert_eq!(t.call(&["HINCRBY", "h", "max", "1"]), "-ERR increment or decrement would overflow\r\n");
        assert_eq!(t.call(&["HINCRBY", "h", "n", "x"]), NOT_INT);
        assert_eq!(t.call(&["HINCRBY", "h", "n", "1.5"]), NOT_INT);
        // The increment is parsed before the key is looked up.
        t.call(&["SET", "str", "1"]);
        assert_eq!(t.call(&["HINCRBY", "str", "f", "x"]), NOT_INT);
        assert_eq!(t.call(&["HINCRBY", "str", "f", "1"]), WRONGTYPE);
        assert_eq!(t.call(&["HINCRBY", "h", "min", "-9223372036854775808"]), int(i64::MIN));
        assert_eq!(t.call(&["HINCRBY", "h", "min", "-1"]), "-ERR increment or decrement would overflow\r\n");
    }

    #[test]
    fn hincrbyfloat() {
        let mut t = T::new();
        assert_eq!(t.call(&["HINCRBYFLOAT", "h", "f", "10.5"]), bulk("10.5"));
        assert_eq!(t.call(&["HINCRBYFLOAT", "h", "f", "0.1"]), bulk("10.6"));
        assert_eq!(t.call(&["HINCRBYFLOAT", "h", "f", "-10.6"]), bulk("0"));
        assert_eq!(t.call(&["HINCRBYFLOAT", "h", "g", "5.0e3"]), bulk("5000"));
        t.call(&["HSET", "h", "s", "abc"]);
        assert_eq!(t.call(&["HINCRBYFLOAT", "h", "s", "1"]), "-ERR hash value is not a float\r\n");
        assert_eq!(t.call(&["HINCRBYFLOAT", "h", "f", "x"]), "-ERR value is not a valid float\r\n");
        assert_eq!(t.call(&["HINCRBYFLOAT", "new", "f", "inf"]), "-ERR value is NaN or Infinity\r\n");
        assert!(!t.exists("new"), "a refused increment creates no key");
        t.call(&["HSET", "h", "big", "1.1e4932"]);
        assert_eq!(
            t.call(&["HINCRBYFLOAT", "h", "big", "1.1e4932"]),
            "-ERR increment would produce NaN or Infinity\r\n"
        );
        t.resp3();
        assert_eq!(t.call(&["HINCRBYFLOAT", "h", "g", "1"]), bulk("5001"), "a bulk string in RESP3 too");
    }

    #[test]
    fn wrong_type_everywhere() {
        let mut t = T::new();
        t.call(&["SET", "s", "x"]);
        for cmd in [
            &["HSET", "s", "f", "v"][..],
            &["HSETNX", "s", "f", "v"],
            &["HMSET", "s", "f", "v"],
            &["HGET", "s", "f"],
            &["HMGET", "s", "f"],
            &["HDEL", "s", "f"],
            &["HLEN", "s"],
            &["HSTRLEN", "s", "f"],
            &["HEXISTS", "s", "f"],
            &["HKEYS", "s"],
            &["HVALS", "s"],
            &["HGETALL", "s"],
            &["HINCRBY", "s", "f", "1"],
            &["HINCRBYFLOAT", "s", "f", "1"],
            &["HRANDFIELD", "s"],
            &["HRANDFIELD", "s", "2"],
            &["HSCAN", "s", "0"],
        ] {
            assert_eq!(t.call(cmd), WRONGTYPE, "{cmd:?}");
        }
        assert_eq!(t.call(&["GET", "s"]), bulk("x"), "the string is untouched");
    }

    #[test]
    fn hrandfield_without_count() {
        let mut t = T::new();
        assert_eq!(t.call(&["HRANDFIELD", "nokey"]), "$-1\r\n");
        t.call(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        let mut seen = HashSet::new();
        for _ in 0..200 {
            seen.insert(t.call(&["HRANDFIELD", "h"]));
        }
        assert_eq!(seen, [bulk("a"), bulk("b"), bulk("c")].into_iter().collect());
        t.resp3();
        assert_eq!(t.call(&["HRANDFIELD", "nokey"]), "_\r\n");
    }

    #[test]
    fn hrandfield_count_semantics() {
        let mut t = T::new();
        assert_eq!(t.call(&["HRANDFIELD", "nokey", "5"]), "*0\r\n");
        assert_eq!(t.call(&["HRANDFIELD", "nokey", "-5", "WITHVALUES"]), "*0\r\n");
        for i in 0..10 {
            t.call(&["HSET", "h", &format!("f{i}"), &format!("v{i}")]);
        }
        assert_eq!(t.call(&["HRANDFIELD", "h", "0"]), "*0\r\n");
        // Positive: distinct, at most the whole hash.
        for n in [1usize, 3, 7, 9, 10, 20] {
            let got = bulks(&t.call(&["HRANDFIELD", "h", &n.to_string()]));
            assert_eq!(got.len(), n.min(10));
            assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len(), "distinct for {n}");
        }
        // Negative: exactly |count|, repeats allowed (and, with 30 picks out of 10, certain).
        let got = bulks(&t.call(&["HRANDFIELD", "h", "-30"]));
        assert_eq!(got.len(), 30);
        assert!(got.iter().collect::<HashSet<_>>().len() < 30);
        assert!(got.iter().all(|f| f.starts_with('f')));
        // WITHVALUES: RESP2 is flat, pairs stay together.
        let got = bulks(&t.call(&["HRANDFIELD", "h", "-6", "withvalues"]));
        assert_eq!(got.len(), 12);
        assert!(got.chunks(2).all(|p| p[0][1..] == p[1][1..]));
        let reply = t.call(&["HRANDFIELD", "h", "3", "WITHVALUES"]);
        assert!(reply.starts_with("*6\r\n"), "{reply}");
    }

    #[test]
    fn hrandfield_resp3_nests_pairs() {
        let mut t = T::new();
        t.call(&["HSET", "h", "f", "v"]);
        t.resp3();
        assert_eq!(t.call(&["HRANDFIELD", "h", "1", "WITHVALUES"]), "*1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
        assert_eq!(
            t.call(&["HRANDFIELD", "h", "-2", "WITHVALUES"]),
            "*2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
        );
        assert_eq!(t.call(&["HRANDFIELD", "h", "5"]), "*1\r\n$1\r\nf\r\n");
    }

    #[test]
    fn hrandfield_errors_in_redis_order() {
        let mut t = T::new();
        t.call(&["SET", "s", "x"]);
        assert_eq!(t.call(&["HRANDFIELD", "s", "x"]), NOT_INT, "count before the key");
        assert_eq!(t.call(&["HRANDFIELD", "s", "1", "nope"]), SYNTAX);
        assert_eq!(t.call(&["HRANDFIELD", "s", "1", "WITHVALUES", "x"]), SYNTAX);
        assert_eq!(
            t.call(&["HRANDFIELD", "h", "-9223372036854775808"]),
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
        );
        assert_eq!(
            t.call(&["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"]),
            "-ERR value is out of range\r\n"
        );
        assert_eq!(t.call(&["HRANDFIELD", "h", "4611686018427387903", "WITHVALUES"]), "*0\r\n");
        t.call(&["HSET", "h", "f", "v"]);
        assert_eq!(t.call(&["HRANDFIELD", "h", "-100000000"]), "-ERR value is out of range\r\n");
    }

    /// Runs HSCAN to completion; returns the field -> value pairs seen and the number of calls.
    fn hscan_all(t: &mut T, key: &str, opts: &[&str]) -> (HashMap<String, String>, usize) {
        let mut cursor = "0".to_string();
        let mut seen = HashMap::new();
        let mut calls = 0;
        loop {
            let mut args = vec!["HSCAN", key, cursor.as_str()];
            args.extend_from_slice(opts);
            let reply = t.call(&args);
            calls += 1;
            let parts = bulks(&reply);
            // parts[0] is the cursor; the rest are field/value pairs.
            let next = parts[0].clone();
            for pair in parts[1..].chunks(2) {
                seen.insert(pair[0].clone(), pair[1].clone());
            }
            if next == "0" {
                return (seen, calls);
            }
            cursor = next;
        }
    }

    #[test]
    fn hscan_small_hash_returns_everything_at_once() {
        let mut t = T::new();
        assert_eq!(t.call(&["HSCAN", "nokey", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        assert_eq!(t.call(&["HSCAN", "nokey", "0", "COUNT", "x"]), "*2\r\n$1\r\n0\r\n*0\r\n", "options unread");
        t.call(&["HSET", "h", "f", "v"]);
        assert_eq!(t.call(&["HSCAN", "h", "0"]), "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
        assert_eq!(t.call(&["HSCAN", "h", "12345"]), "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
        for i in 0..50 {
            t.call(&["HSET", "h", &format!("k{i}"), &i.to_string()]);
        }
        assert_eq!(t.encoding("h"), "listpack");
        let (seen, calls) = hscan_all(&mut t, "h", &["COUNT", "1"]);
        assert_eq!((seen.len(), calls), (51, 1));
        let (seen, _) = hscan_all(&mut t, "h", &["MATCH", "k1*"]);
        let mut fields: Vec<_> = seen.keys().cloned().collect();
        fields.sort();
        assert_eq!(fields, ["k1", "k10", "k11", "k12", "k13", "k14", "k15", "k16", "k17", "k18", "k19"]);
        assert_eq!(seen["k12"], "12");
        t.resp3();
        assert!(t.call(&["HSCAN", "h", "0", "MATCH", "f"]).starts_with("*2\r\n$1\r\n0\r\n*2\r\n"), "arrays in RESP3");
    }

    #[test]
    fn hscan_large_hash_iterates_with_a_cursor() {
        let mut t = T::new();
        for i in 0..1_000 {
            t.call(&["HSET", "h", &format!("k{i}"), &format!("v{i}")]);
        }
        assert_eq!(t.encoding("h"), "hashtable");
        let (seen, calls) = hscan_all(&mut t, "h", &[]);
        assert_eq!(seen.len(), 1_000);
        assert!(seen.iter().all(|(f, v)| f[1..] == v[1..]));
        assert!(calls > 50, "COUNT 10 (5 pairs) per call: {calls} calls");
        let (seen, _) = hscan_all(&mut t, "h", &["MATCH", "k99*", "COUNT", "100"]);
        assert_eq!(seen.len(), 11);
        // A single step returns about COUNT elements (two per pair), never the whole table.
        let parts = bulks(&t.call(&["HSCAN", "h", "0", "COUNT", "20"]));
        assert!(parts.len() > 1 && parts.len() < 200, "{}", parts.len());
    }

    #[test]
    fn hscan_survives_growth_between_calls() {
        let mut t = T::new();
        for i in 0..300 {
            t.call(&["HSET", "h", &format!("stable{i}"), "x"]);
        }
        let mut cursor = "0".to_string();
        let mut seen = HashSet::new();
        let mut added = 0;
        loop {
            let parts = bulks(&t.call(&["HSCAN", "h", &cursor]));
            for pair in parts[1..].chunks(2) {
                seen.insert(pair[0].clone());
            }
            // Grow the table (and force rehashing) between calls.
            for _ in 0..20 {
                t.call(&["HSET", "h", &format!("new{added}"), "y"]);
                added += 1;
            }
            if parts[0] == "0" {
                break;
            }
            cursor = parts[0].clone();
        }
        assert!(added > 1_000, "the table grew several times: {added}");
        assert!((0..300).all(|i| seen.contains(&format!("stable{i}"))));
    }

    #[test]
    fn hscan_errors() {
        let mut t = T::new();
        t.call(&["HSET", "h", "f", "v"]);
        assert_eq!(t.call(&["HSCAN", "h", "x"]), "-ERR invalid cursor\r\n");
        assert_eq!(t.call(&["HSCAN", "nokey", "x"]), "-ERR invalid cursor\r\n", "cursor before the key");
        assert_eq!(t.call(&["HSCAN", "h", "0", "COUNT", "0"]), SYNTAX);
        assert_eq!(t.call(&["HSCAN", "h", "0", "COUNT", "x"]), NOT_INT);
        assert_eq!(t.call(&["HSCAN", "h", "0", "TYPE", "hash"]), SYNTAX, "TYPE is SCAN's only");
        assert_eq!(t.call(&["HSCAN", "h", "0", "MATCH"]), SYNTAX);
    }

    #[test]
    fn encoding_follows_listpack_limits() {
        let mut t = T::new();
        t.call(&["HSET", "h", "f", "v"]);
        assert_eq!(t.encoding("h"), "listpack");
        t.call(&["HSET", "h", "long", &"x".repeat(65)]);
        assert_eq!(t.encoding("h"), "hashtable");
    }
}
