//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE, SINTER, SINTERCARD,
//! SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE and SSCAN.
//!
//! ```text
//!  argv --handler--> parse counts and options (before the lookup where Redis parses them first)
//!       --> Db lookup: reads count keyspace hits/misses (keys::lookup_read); SADD/SMOVE create the set on demand
//!       --> SetValue (a Dict<()> plus the intset/hashtable encoding Redis would report)
//!       --> cx.modified + cx.notify ("sadd", "srem", ...; then "del" if the set became empty) --> Reply
//! ```
//!
//! Replies and errors follow Redis 7.0's `t_set.c`. `SMEMBERS`, `SINTER`, `SUNION`, `SDIFF` and `SPOP key count`
//! reply with a RESP3 set (`~`); `SRANDMEMBER key count` always replies an array, because a negative count repeats
//! members. A multi-key command checks the type of every key before it answers, even when one key is missing
//! (Redis 7.0; 6.2 returned early). The `*STORE` variants replace the destination (dropping its TTL) or, with an
//! empty result, delete it.
//!
//! Ordering: a set Redis would keep as an intset is listed in ascending numeric order, as Redis lists an intset;
//! other sets in hash order.
//!
//! Simplifications against Redis:
//! * Random picks are close to uniform ([`Dict::random_entry`]) rather than Redis's exact sampling, and `SPOP` with
//!   a large count never rebuilds the set (Redis may then re-encode a hashtable set of integers as an intset).
//! * A negative `SRANDMEMBER` count beyond [`MAX_RANDOM_REPEATS`] is refused with `ERR value is out of range`,
//!   where Redis would try to build the whole reply.

use std::collections::HashSet;

use super::cmd::{flag::*, Command};
use super::dict::{random_u64, Dict};
use super::error::{err, CmdError, CmdResult};
use super::exec::{remove_elements, Ctx, Elements, Notify};
use super::hashes::{modified_n, parse_random_count, MAX_RANDOM_REPEATS};
use super::keys::{lookup_read, parse_cursor, parse_scan_opts, scan_collection, scan_reply};
use super::num::parse_i64;
use super::value::{SetValue, Value};

use bytes::Bytes;

/// Below `count * SUB_STRATEGY_MUL` members, a distinct sample shuffles a copy of the whole set instead of drawing
/// until it has `count` different members (Redis's `SRANDMEMBER_SUB_STRATEGY_MUL`): drawing would mostly repeat.
const SUB_STRATEGY_MUL: usize = 3;

/// Redis's text when `SPOP`'s count is negative or not an integer (`getPositiveLongFromObjectOrReply`).
const MUST_BE_POSITIVE: CmdError = err("ERR value is out of range, must be positive");

/// Complexity texts Redis documents, shared by several commands.
const UNION_DIFF_COMPLEXITY: &str = "O(N) where N is the total number of elements in all given sets.";
const INTER_COMPLEXITY: &str =
    "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.";
const SCAN_COMPLEXITY: &str = "O(1) for every call. O(N) for a complete iteration, including enough command calls \
for the cursor to return back to 0. N is the number of elements inside the collection..";

pub static COMMANDS: &[Command] = &[
    Command::new(
        "sadd",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "set",
        "1.0.0",
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        "Add one or more members to a set",
        "key member [member ...]",
        sadd,
    )
    .with_acl("@set"),
    Command::new(
        "scard",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "set",
        "1.0.0",
        "O(1)",
        "Get the number of members in a set",
        "key",
        scard,
    )
    .with_acl("@set"),
    Command::new(
        "sdiff",
        -2,
        READONLY,
        (1, -1, 1),
        "set",
        "1.0.0",
        UNION_DIFF_COMPLEXITY,
        "Subtract multiple sets",
        "key [key ...]",
        sdiff,
    )
    .with_acl("@set"),
    Command::new(
        "sdiffstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        "set",
        "1.0.0",
        UNION_DIFF_COMPLEXITY,
        "Subtract multiple sets and store the resulting set in a key",
        "destination key [key ...]",
        sdiffstore,
    )
    .with_acl("@set"),
    Command::new(
        "sinter",
        -2,
        READONLY,
        (1, -1, 1),
        "set",
        "1.0.0",
        INTER_COMPLEXITY,
        "Intersect multiple sets",
        "key [key ...]",
        sinter,
    )
    .with_acl("@set"),
    // The keys follow a count, which a (first, last, step) range cannot describe: Redis reports (0, 0, 0) and the
    // movablekeys flag.
    Command::new(
        "sintercard",
        -3,
        READONLY,
        (0, 0, 0),
        "set",
        "7.0.0",
        INTER_COMPLEXITY,
        "Intersect multiple sets and return the cardinality of the result",
        "numkeys:integer key [key ...] [LIMIT limit:integer]",
        sintercard,
    )
    .with_acl("@set"),
    Command::new(
        "sinterstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        "set",
        "1.0.0",
        INTER_COMPLEXITY,
        "Intersect multiple sets and store the resulting set in a key",
        "destination key [key ...]",
        sinterstore,
    )
    .with_acl("@set"),
    Command::new(
        "sismember",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "set",
        "1.0.0",
        "O(1)",
        "Determine if a given value is a member of a set",
        "key member",
        sismember,
    )
    .with_acl("@set"),
    Command::new(
        "smembers",
        2,
        READONLY,
        (1, 1, 1),
        "set",
        "1.0.0",
        "O(N) where N is the set cardinality.",
        "Get all the members in a set",
        "key",
        smembers,
    )
    .with_acl("@set"),
    Command::new(
        "smismember",
        -3,
        READONLY | FAST,
        (1, 1, 1),
        "set",
        "6.2.0",
        "O(N) where N is the number of elements being checked for membership",
        "Returns the membership associated with the given elements for a set",
        "key member [member ...]",
        smismember,
    )
    .with_acl("@set"),
    Command::new(
        "smove",
        4,
        WRITE | FAST,
        (1, 2, 1),
        "set",
        "1.0.0",
        "O(1)",
        "Move a member from one set to another",
        "source destination member",
        smove,
    )
    .with_acl("@set"),
    Command::new(
        "spop",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        "set",
        "1.0.0",
        "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
        "Remove and return one or multiple random members from a set",
        "key [count:integer]",
        spop,
    )
    .with_acl("@set"),
    Command::new(
        "srandmember",
        -2,
        READONLY,
        (1, 1, 1),
        "set",
        "1.0.0",
        "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
        "Get one or multiple random members from a set",
        "key [count:integer]",
        srandmember,
    )
    .with_acl("@set"),
    Command::new(
        "srem",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "set",
        "1.0.0",
        "O(N) where N is the number of members to be removed.",
        "Remove one or more members from a set",
        "key member [member ...]",
        srem,
    )
    .with_acl("@set"),
    Command::new(
        "sscan",
        -3,
        READONLY,
        (1, 1, 1),
        "set",
        "2.8.0",
        SCAN_COMPLEXITY,
        "Incrementally iterate Set elements",
        "key cursor:integer [MATCH pattern] [COUNT count:integer]",
        sscan,
    )
    .with_acl("@set"),
    Command::new(
        "sunion",
        -2,
        READONLY,
        (1, -1, 1),
        "set",
        "1.0.0",
        UNION_DIFF_COMPLEXITY,
        "Add multiple sets",
        "key [key ...]",
        sunion,
    )
    .with_acl("@set"),
    Command::new(
        "sunionstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        "set",
        "1.0.0",
        UNION_DIFF_COMPLEXITY,
        "Add multiple sets and store the resulting set in a key",
        "destination key [key ...]",
        sunionstore,
    )
    .with_acl("@set"),
];

// ---------------------------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------------------------

/// Up to `n` distinct entries of `dict` in random order (all of them when `n` covers the table), for
/// `SRANDMEMBER`/`HRANDFIELD` with a positive count. As Redis does, a request close to the table's size shuffles a
/// copy of every entry (O(size)), and a small one draws random entries until it has `n` different ones (O(n)
/// expected draws, since at most a third of the table is wanted).
pub(crate) fn distinct_sample<V>(dict: &Dict<V>, n: usize) -> Vec<(&[u8], &V)> {
    let size = dict.len();
    if n >= size {
        return dict.iter().collect();
    }
    if n.saturating_mul(SUB_STRATEGY_MUL) > size {
        // A partial Fisher-Yates shuffle: the first n slots end up a uniform random choice.
        let mut all: Vec<(&[u8], &V)> = dict.iter().collect();
        for i in 0..n {
            let j = i + (random_u64() % (size - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(n);
        return all;
    }
    let mut chosen: HashSet<&[u8]> = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let Some((member, value)) = dict.random_entry() else { break };
        if chosen.insert(member) {
            out.push((member, value));
        }
    }
    out
}

/// The members in the order Redis lists them: ascending numbers while Redis would hold the set as an intset (which
/// is sorted), hash order otherwise.
fn members_in_order(set: &SetValue) -> Vec<&[u8]> {
    let mut members: Vec<&[u8]> = set.iter().collect();
    if set.encoding() == "intset" {
        // Every member of an intset-encoded set parses (a non-integer member promotes the set for good).
        members.sort_by_key(|m| parse_i64(m).unwrap_or(0));
    }
    members
}

/// The set under `key` for a read command (counting a keyspace hit or miss); `WRONGTYPE` for another type.
fn read_set<'e>(cx: &'e mut Ctx<'_>, key: &[u8]) -> Result<Option<&'e SetValue>, CmdError> {
    match lookup_read(cx.engine, cx.db, key, cx.now_ms) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Type-checks every key (counting hits and misses) and returns whether one is missing, as the first loop of
/// Redis's `sinterGenericCommand`/`sunionDiffGenericCommand` does. The sets themselves are then borrowed together
/// with [`Db::peek`](super::db::Db::peek), which needs only `&Db` (these lookups already deleted expired keys).
fn check_sets(cx: &mut Ctx<'_>, keys: &[&[u8]]) -> Result<bool, CmdError> {
    let (db, now) = (cx.db, cx.now_ms);
    let mut missing = false;
    for key in keys {
        match lookup_read(cx.engine, db, key, now) {
            None => missing = true,
            Some(Value::Set(_)) => {}
            Some(_) => return Err(CmdError::WrongType),
        }
    }
    Ok(missing)
}

/// The `*STORE` epilogue: a non-empty result replaces `dst` (and its TTL) and fires `event`; an empty one deletes
/// `dst` (a `del` event if it existed). Replies with the result's size.
fn store_result(cx: &mut Ctx<'_>, dst: &[u8], result: SetValue, event: &'static str) {
    let (db, now) = (cx.db, cx.now_ms);
    let n = result.len();
    if n > 0 {
        cx.engine.dbs[db].insert(dst, Value::Set(Box::new(result)), now);
        cx.modified(db, dst);
        cx.notify(Notify::Set, event, db, dst);
    } else if cx.engine.dbs[db].remove(dst, now).is_some() {
        cx.modified(db, dst);
        cx.notify(Notify::Generic, "del", db, dst);
    }
    cx.reply.int(n as i64);
}

/// Replies with a whole set as a RESP3 set (an array in RESP2).
fn reply_members(cx: &mut Ctx<'_>, members: &[&[u8]]) {
    cx.reply.set(members.len());
    for member in members {
        cx.reply.bulk(member);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Single-set commands
// ---------------------------------------------------------------------------------------------------------------

fn sadd(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let (db, now) = (cx.db, cx.now_ms);
    let set = match cx.engine.dbs[db].get_or_insert_with(key, now, Value::new_set) {
        Value::Set(s) => s,
        _ => return Err(CmdError::WrongType),
    };
    let added = argv[2..].iter().filter(|m| set.insert(m)).count();
    if added > 0 {
        modified_n(cx, db, key, added);
        cx.notify(Notify::Set, "sadd", db, key);
    }
    cx.reply.int(added as i64);
    Ok(())
}

/// Removes members; a set left empty is deleted (`srem`, then `del`).
fn srem(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    remove_elements(cx, argv, Notify::Set, "srem", |v| match v {
        Value::Set(s) => Some(&mut **s),
        _ => None,
    })
}

impl Elements for SetValue {
    fn remove_element(&mut self, member: &[u8]) -> bool {
        self.remove(member)
    }

    fn is_empty(&self) -> bool {
        SetValue::is_empty(self)
    }
}

fn sismember(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let member = read_set(cx, argv[1])?.is_some_and(|s| s.contains(argv[2]));
    cx.reply.int(i64::from(member));
    Ok(())
}

/// A missing key is an empty set: every member replies 0.
fn smismember(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    let set = match lookup_read(cx.engine, db, argv[1], now) {
        None => None,
        Some(Value::Set(s)) => Some(&**s),
        Some(_) => return Err(CmdError::WrongType),
    };
    cx.reply.array(argv.len() - 2);
    for member in &argv[2..] {
        cx.reply.int(i64::from(set.is_some_and(|s| s.contains(member))));
    }
    Ok(())
}

fn scard(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let len = read_set(cx, argv[1])?.map_or(0, SetValue::len);
    cx.reply.int(len as i64);
    Ok(())
}

fn smembers(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    sinter_generic(cx, &argv[1..], Inter::Reply)
}

/// SPOP key [count], after Redis's `spopCommand`/`spopWithCountCommand`. The count is parsed before the key is
/// looked up. Without a count: one member or null. With a count: a RESP3 set of the popped members (empty for a
/// missing key or a zero count); a count covering the set pops everything and deletes the key.
fn spop(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let count = match argv.len() {
        2 => None,
        3 => match parse_i64(argv[2]) {
            Some(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => return Err(MUST_BE_POSITIVE),
        },
        _ => return Err(CmdError::Syntax),
    };
    let (db, now) = (cx.db, cx.now_ms);
    let store = &mut cx.engine.dbs[db];
    let set = match store.get_mut(key, now) {
        None if count.is_none() => {
            cx.reply.null();
            return Ok(());
        }
        None => {
            cx.reply.set(0);
            return Ok(());
        }
        Some(Value::Set(s)) => s,
        Some(_) => return Err(CmdError::WrongType),
    };
    let Some(count) = count else {
        let popped = set.pop_random();
        let emptied = set.is_empty();
        if emptied {
            store.remove(key, now);
        }
        cx.notify(Notify::Set, "spop", db, key);
        match popped {
            Some(member) => cx.reply.bulk(member.as_bytes()),
            None => cx.reply.null(),
        }
        if emptied {
            cx.notify(Notify::Generic, "del", db, key);
        }
        cx.modified(db, key);
        return Ok(());
    };
    if count == 0 {
        cx.reply.set(0);
        return Ok(());
    }
    let size = set.len();
    if count >= size {
        let members: Vec<Bytes> = members_in_order(set).into_iter().map(Bytes::copy_from_slice).collect();
        store.remove(key, now);
        cx.notify(Notify::Set, "spop", db, key);
        cx.reply.set(members.len());
        for member in &members {
            cx.reply.bulk(member);
        }
        cx.notify(Notify::Generic, "del", db, key);
        modified_n(cx, db, key, size);
        return Ok(());
    }
    let popped: Vec<_> = (0..count).filter_map(|_| set.pop_random()).collect();
    cx.notify(Notify::Set, "spop", db, key);
    cx.reply.set(popped.len());
    for member in &popped {
        cx.reply.bulk(member.as_bytes());
    }
    modified_n(cx, db, key, popped.len());
    Ok(())
}

/// SRANDMEMBER key [count], after Redis's `srandmemberCommand`. Without a count: one member or null. With a count
/// (parsed before the key): an array, empty for a missing key; a negative count picks |count| times with repeats,
/// a positive one returns distinct members, at most all of them.
fn srandmember(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if argv.len() == 2 {
        let member = read_set(cx, argv[1])?.and_then(SetValue::random_member).map(Bytes::copy_from_slice);
        match member {
            Some(m) => cx.reply.bulk(&m),
            None => cx.reply.null(),
        }
        return Ok(());
    }
    let count = parse_random_count(argv[2])?;
    let (db, now) = (cx.db, cx.now_ms);
    let set = match lookup_read(cx.engine, db, argv[1], now) {
        None => {
            cx.reply.array(0);
            return Ok(());
        }
        Some(Value::Set(s)) => &**s,
        Some(_) => return Err(CmdError::WrongType),
    };
    let picks: Vec<&[u8]> = if count < 0 {
        let n = count.unsigned_abs();
        if n > MAX_RANDOM_REPEATS {
            return Err(err("ERR value is out of range"));
        }
        (0..n).filter_map(|_| set.random_member()).collect()
    } else {
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        if n >= set.len() {
            members_in_order(set)
        } else {
            distinct_sample(set.dict(), n).into_iter().map(|(m, _)| m).collect()
        }
    };
    cx.reply.array(picks.len());
    for member in picks {
        cx.reply.bulk(member);
    }
    Ok(())
}

/// SMOVE source destination member, after Redis's `smoveCommand`: a missing source replies 0 before any type check;
/// a wrong-typed destination is an error even when the member is absent; moving within one key only reports
/// membership. A source left empty is deleted.
fn smove(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (src, dst, member) = (argv[1], argv[2], argv[3]);
    let (db, now) = (cx.db, cx.now_ms);
    let store = &mut cx.engine.dbs[db];
    let dst_is_set = match store.get(dst, now) {
        None => true,
        Some(v) => matches!(v, Value::Set(_)),
    };
    let src_set = match store.get_mut(src, now) {
        None => {
            cx.reply.int(0);
            return Ok(());
        }
        Some(Value::Set(s)) => s,
        Some(_) => return Err(CmdError::WrongType),
    };
    if !dst_is_set {
        return Err(CmdError::WrongType);
    }
    if src == dst {
        let present = src_set.contains(member);
        cx.reply.int(i64::from(present));
        return Ok(());
    }
    if !src_set.remove(member) {
        cx.reply.int(0);
        return Ok(());
    }
    let emptied = src_set.is_empty();
    if emptied {
        store.remove(src, now);
    }
    let added = match store.get_or_insert_with(dst, now, Value::new_set) {
        Value::Set(s) => s.insert(member),
        // Checked above; nothing can have replaced the destination since.
        _ => return Err(CmdError::WrongType),
    };
    cx.notify(Notify::Set, "srem", db, src);
    if emptied {
        cx.notify(Notify::Generic, "del", db, src);
    }
    cx.modified(db, src);
    if added {
        cx.modified(db, dst);
        cx.notify(Notify::Set, "sadd", db, dst);
    }
    cx.reply.int(1);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Multi-set commands
// ---------------------------------------------------------------------------------------------------------------

/// Where an intersection goes.
#[derive(Clone, Copy)]
enum Inter<'a> {
    /// SINTER, SMEMBERS: reply with the members.
    Reply,
    /// SINTERCARD: reply with the count, stopping at the limit (0 = no limit).
    Card(usize),
    /// SINTERSTORE: store under this key.
    Store(&'a [u8]),
}

/// Redis's `sinterGenericCommand`: every key is type-checked first; a missing key makes the result empty at once.
/// Otherwise the smallest set is walked (in its listing order) and each member tested against the others.
fn sinter_generic(cx: &mut Ctx<'_>, keys: &[&[u8]], out: Inter<'_>) -> CmdResult {
    if check_sets(cx, keys)? {
        match out {
            Inter::Reply => cx.reply.set(0),
            Inter::Card(_) => cx.reply.int(0),
            Inter::Store(dst) => store_result(cx, dst, SetValue::new(), "sinterstore"),
        }
        return Ok(());
    }
    let (db, now) = (cx.db, cx.now_ms);
    let store = &cx.engine.dbs[db];
    let mut sets: Vec<&SetValue> = keys
        .iter()
        .filter_map(|key| match store.peek(key, now) {
            Some(Value::Set(s)) => Some(&**s),
            _ => None,
        })
        .collect();
    sets.sort_by_key(|s| s.len());
    let Some((&first, rest)) = sets.split_first() else {
        // The table's arity guarantees a key, and every key was just found to be a set.
        cx.reply.set(0);
        return Ok(());
    };
    // The same key named twice is the same set: no need to test a member against itself.
    let in_all = |m: &[u8]| rest.iter().all(|s| std::ptr::eq(*s, first) || s.contains(m));
    match out {
        Inter::Reply => {
            let members: Vec<&[u8]> = members_in_order(first).into_iter().filter(|m| in_all(m)).collect();
            cx.reply.set(members.len());
            for member in members {
                cx.reply.bulk(member);
            }
        }
        Inter::Card(limit) => {
            let mut n = 0usize;
            for member in first.iter() {
                if in_all(member) {
                    n += 1;
                    if n == limit {
                        break;
                    }
                }
            }
            cx.reply.int(n as i64);
        }
        Inter::Store(dst) => {
            let mut result = SetValue::new();
            for member in first.iter().filter(|m| in_all(m)) {
                result.insert(member);
            }
            store_result(cx, dst, result, "sinterstore");
        }
    }
    Ok(())
}

fn sinter(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    sinter_generic(cx, &argv[1..], Inter::Reply)
}

fn sinterstore(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    sinter_generic(cx, &argv[2..], Inter::Store(argv[1]))
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit], after Redis's `sinterCardCommand`.
fn sintercard(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let numkeys = match parse_i64(argv[1]) {
        Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => return Err(err("ERR numkeys should be greater than 0")),
    };
    if numkeys > argv.len() - 2 {
        return Err(err("ERR Number of keys can't be greater than number of args"));
    }
    let mut limit = 0usize;
    let mut i = 2 + numkeys;
    while i < argv.len() {
        if argv[i].eq_ignore_ascii_case(b"limit") && i + 1 < argv.len() {
            limit = match parse_i64(argv[i + 1]) {
                Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Err(err("ERR LIMIT can't be negative")),
            };
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    sinter_generic(cx, &argv[2..2 + numkeys], Inter::Card(limit))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

/// Redis's `sunionDiffGenericCommand`: every key is type-checked, missing keys are empty sets. The result is built
/// as a new set (so it gets its own encoding, as Redis's `dstset` does) and replied as a RESP3 set or stored.
fn sunion_diff_generic(cx: &mut Ctx<'_>, keys: &[&[u8]], dst: Option<&[u8]>, op: SetOp) -> CmdResult {
    check_sets(cx, keys)?;
    let (db, now) = (cx.db, cx.now_ms);
    let store = &cx.engine.dbs[db];
    let sets: Vec<Option<&SetValue>> = keys
        .iter()
        .map(|key| match store.peek(key, now) {
            Some(Value::Set(s)) => Some(&**s),
            _ => None,
        })
        .collect();
    let mut result = SetValue::new();
    match op {
        SetOp::Union => {
            for set in sets.iter().flatten() {
                for member in set.iter() {
                    result.insert(member);
                }
            }
        }
        SetOp::Diff => {
            // Naming the first key again subtracts the first set from itself.
            let same_set = keys[1..].contains(&keys[0]);
            if let Some(first) = sets.first().copied().flatten().filter(|_| !same_set) {
                for member in first.iter() {
                    if !sets[1..].iter().flatten().any(|s| s.contains(member)) {
                        result.insert(member);
                    }
                }
            }
        }
    }
    match dst {
        None => reply_members(cx, &members_in_order(&result)),
        Some(dst) => {
            let event = if op == SetOp::Union { "sunionstore" } else { "sdiffstore" };
            store_result(cx, dst, result, event);
        }
    }
    Ok(())
}

fn sunion(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    sunion_diff_generic(cx, &argv[1..], None, SetOp::Union)
}

fn sunionstore(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    sunion_diff_generic(cx, &argv[2..], Some(argv[1]), SetOp::Union)
}

fn sdiff(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    sunion_diff_generic(cx, &argv[1..], None, SetOp::Diff)
}

fn sdiffstore(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    sunion_diff_generic(cx, &argv[2..], Some(argv[1]), SetOp::Diff)
}

/// SSCAN key cursor [MATCH pattern] [COUNT count], after Redis's `sscanCommand`: cursor, then key (a missing key
/// replies an empty scan without looking at the options), then options. An intset-encoded set comes back whole,
/// sorted, with cursor 0.
fn sscan(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(argv[2]).ok_or(err("ERR invalid cursor"))?;
    let (db, now) = (cx.db, cx.now_ms);
    let set = match lookup_read(cx.engine, db, argv[1], now) {
        None => {
            scan_reply::<&[u8]>(&mut cx.reply, 0, &[]);
            return Ok(());
        }
        Some(Value::Set(s)) => &**s,
        Some(_) => return Err(CmdError::WrongType),
    };
    let opts = parse_scan_opts(&argv[3..], false)?;
    let compact = set.encoding() == "intset";
    let (next, mut items) = scan_collection(set.dict(), compact, cursor, &opts, |member, _, out| {
        out.push(Bytes::copy_from_slice(member));
    });
    if compact {
        items.sort_by_key(|m| parse_i64(m).unwrap_or(0));
    }
    scan_reply(&mut cx.reply, next, &items);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::testing::{NOT_INT, SYNTAX, T, WRONGTYPE};

    /// Helpers only this family's tests need, on the shared harness.
    trait SetsExt {
        fn members(&mut self, args: &[&str]) -> Vec<String>;
    }

    impl SetsExt for T {
        fn members(&mut self, args: &[&str]) -> Vec<String> {
            let mut m = bulks(&self.call(args));
            m.sort();
            m
        }
    }

    fn int(n: i64) -> String {
        format!(":{n}\r\n")
    }

    fn bulk(s: &str) -> String {
        format!("${}\r\n{s}\r\n", s.len())
    }

    /// The bulk strings of a reply, in order, without its header lines (test values never start with `$` or `*`).
    fn bulks(reply: &str) -> Vec<String> {
        reply
            .split("\r\n")
            .skip(1)
            .filter(|l| !l.starts_with(['$', '*']) && !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn strs(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn sadd_srem_scard_sismember() {
        let mut t = T::new();
        assert_eq!(t.call(&["SADD", "s", "a", "b", "a"]), int(2));
        assert_eq!(t.call(&["SADD", "s", "b"]), int(0));
        assert_eq!(t.call(&["SCARD", "s"]), int(2));
        assert_eq!(t.call(&["SCARD", "nokey"]), int(0));
        assert_eq!(t.call(&["SISMEMBER", "s", "a"]), int(1));
        assert_eq!(t.call(&["SISMEMBER", "s", "z"]), int(0));
        assert_eq!(t.call(&["SISMEMBER", "nokey", "z"]), int(0));
        assert_eq!(t.call(&["SMISMEMBER", "s", "a", "z", "b"]), "*3\r\n:1\r\n:0\r\n:1\r\n");
        assert_eq!(t.call(&["SMISMEMBER", "nokey", "a"]), "*1\r\n:0\r\n");
        assert_eq!(t.call(&["SREM", "s", "a", "z"]), int(1));
        assert_eq!(t.call(&["SREM", "nokey", "a"]), int(0));
        let before = t.dirty();
        assert_eq!(t.call(&["SREM", "s", "b", "b"]), int(1));
        assert_eq!(t.dirty() - before, 1);
        assert!(!t.exists("s"), "an emptied set is deleted");
    }

    #[test]
    fn sadd_counts_each_added_member_as_a_change() {
        let mut t = T::new();
        let before = t.dirty();
        t.call(&["SADD", "s", "a", "b", "c", "a"]);
        assert_eq!(t.dirty() - before, 3);
        let before = t.dirty();
        t.call(&["SADD", "s", "a"]);
        assert_eq!(t.dirty(), before, "nothing added, nothing changed");
    }

    #[test]
    fn smembers_replies_a_set_and_sorts_intsets() {
        let mut t = T::new();
        assert_eq!(t.call(&["SMEMBERS", "nokey"]), "*0\r\n");
        t.call(&["SADD", "n", "30", "-5", "100", "7"]);
        assert_eq!(t.encoding("n"), "intset");
        assert_eq!(bulks(&t.call(&["SMEMBERS", "n"])), strs(&["-5", "7", "30", "100"]));
        t.resp3();
        assert_eq!(t.call(&["SMEMBERS", "nokey"]), "~0\r\n");
        assert_eq!(t.call(&["SMEMBERS", "n"]), "~4\r\n$2\r\n-5\r\n$1\r\n7\r\n$2\r\n30\r\n$3\r\n100\r\n");
        t.call(&["SADD", "w", "x"]);
        assert_eq!(t.encoding("w"), "hashtable");
        assert_eq!(t.call(&["SMEMBERS", "w"]), "~1\r\n$1\r\nx\r\n");
    }

    #[test]
    fn binary_members() {
        let mut t = T::new();
        assert_eq!(t.e.call(t.c, &[b"SADD", b"s\0", b"\0\r\n", b""]), b":2\r\n");
        assert_eq!(t.e.call(t.c, &[b"SISMEMBER", b"s\0", b"\0\r\n"]), b":1\r\n");
        assert_eq!(t.e.call(t.c, &[b"SISMEMBER", b"s\0", b""]), b":1\r\n");
    }

    #[test]
    fn wrong_type_everywhere() {
        let mut t = T::new();
        t.call(&["SET", "str", "x"]);
        t.call(&["SADD", "s", "a"]);
        for cmd in [
            &["SADD", "str", "a"][..],
            &["SREM", "str", "a"],
            &["SMEMBERS", "str"],
            &["SISMEMBER", "str", "a"],
            &["SMISMEMBER", "str", "a"],
            &["SCARD", "str"],
            &["SPOP", "str"],
            &["SPOP", "str", "2"],
            &["SRANDMEMBER", "str"],
            &["SRANDMEMBER", "str", "2"],
            &["SMOVE", "str", "s", "a"],
            &["SMOVE", "s", "str", "a"],
            &["SMOVE", "s", "str", "notamember"],
            &["SINTER", "s", "str"],
            &["SINTER", "nokey", "str"],
            &["SINTERCARD", "2", "nokey", "str"],
            &["SINTERSTORE", "d", "nokey", "str"],
            &["SUNION", "s", "str"],
            &["SUNIONSTORE", "d", "s", "str"],
            &["SDIFF", "nokey", "str"],
            &["SDIFFSTORE", "d", "s", "str"],
            &["SSCAN", "str", "0"],
        ] {
            assert_eq!(t.call(cmd), WRONGTYPE, "{cmd:?}");
        }
        assert!(!t.exists("d"));
        assert_eq!(t.call(&["SCARD", "s"]), int(1), "the set is untouched");
    }

    #[test]
    fn spop_single() {
        let mut t = T::new();
        assert_eq!(t.call(&["SPOP", "nokey"]), "$-1\r\n");
        t.call(&["SADD", "s", "a", "b"]);
        let first = t.call(&["SPOP", "s"]);
        let second = t.call(&["SPOP", "s"]);
        let mut got = vec![first, second];
        got.sort();
        assert_eq!(got, vec![bulk("a"), bulk("b")]);
        assert!(!t.exists("s"));
        assert_eq!(t.call(&["SPOP", "s", "1", "2"]), SYNTAX);
        t.resp3();
        assert_eq!(t.call(&["SPOP", "nokey"]), "_\r\n");
    }

    #[test]
    fn spop_with_count() {
        let mut t = T::new();
        assert_eq!(t.call(&["SPOP", "nokey", "3"]), "*0\r\n");
        assert_eq!(t.call(&["SPOP", "nokey", "-1"]), "-ERR value is out of range, must be positive\r\n");
        assert_eq!(t.call(&["SPOP", "nokey", "x"]), "-ERR value is out of range, must be positive\r\n");
        for i in 0..20 {
            t.call(&["SADD", "s", &format!("m{i}")]);
        }
        assert_eq!(t.call(&["SPOP", "s", "0"]), "*0\r\n");
        let mut popped = bulks(&t.call(&["SPOP", "s", "5"]));
        assert_eq!(popped.len(), 5);
        assert_eq!(t.call(&["SCARD", "s"]), int(15));
        for m in &popped {
            assert_eq!(t.call(&["SISMEMBER", "s", m]), int(0));
        }
        popped.extend(bulks(&t.call(&["SPOP", "s", "100"])));
        popped.sort();
        popped.dedup();
        assert_eq!(popped.len(), 20, "every member popped exactly once");
        assert!(!t.exists("s"));
        t.resp3();
        t.call(&["SADD", "n", "3", "1", "2"]);
        assert_eq!(t.call(&["SPOP", "n", "3"]), "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
        assert_eq!(t.call(&["SPOP", "n", "3"]), "~0\r\n");
    }

    #[test]
    fn srandmember_count_semantics() {
        let mut t = T::new();
        assert_eq!(t.call(&["SRANDMEMBER", "nokey"]), "$-1\r\n");
        assert_eq!(t.call(&["SRANDMEMBER", "nokey", "5"]), "*0\r\n");
        assert_eq!(t.call(&["SRANDMEMBER", "nokey", "-5"]), "*0\r\n");
        assert_eq!(t.call(&["SRANDMEMBER", "nokey", "x"]), NOT_INT);
        assert_eq!(t.call(&["SRANDMEMBER", "s", "1", "2"]), SYNTAX);
        for i in 0..10 {
            t.call(&["SADD", "s", &format!("m{i}")]);
        }
        assert_eq!(t.call(&["SRANDMEMBER", "s", "0"]), "*0\r\n");
        for n in [1usize, 2, 3, 4, 9, 10, 11, 100] {
            let got = bulks(&t.call(&["SRANDMEMBER", "s", &n.to_string()]));
            assert_eq!(got.len(), n.min(10), "count {n}");
            assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len(), "distinct for {n}");
        }
        let got = bulks(&t.call(&["SRANDMEMBER", "s", "-100"]));
        assert_eq!(got.len(), 100);
        let distinct: HashSet<_> = got.iter().collect();
        assert_eq!(distinct.len(), 10, "100 picks with repeats reach every member of 10");
        assert_eq!(t.call(&["SCARD", "s"]), int(10), "nothing removed");
        let mut seen = HashSet::new();
        for _ in 0..200 {
            seen.insert(t.call(&["SRANDMEMBER", "s"]));
        }
        assert_eq!(seen.len(), 10);
        assert_eq!(
            t.call(&["SRANDMEMBER", "s", "-9223372036854775808"]),
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
        );
        assert_eq!(t.call(&["SRANDMEMBER", "s", "-100000000"]), "-ERR value is out of range\r\n");
    }

    #[test]
    fn srandmember_replies_arrays_in_resp3() {
        let mut t = T::new();
        t.call(&["SADD", "s", "a"]);
        t.resp3();
        assert_eq!(t.call(&["SRANDMEMBER", "s", "-2"]), "*2\r\n$1\r\na\r\n$1\r\na\r\n");
        assert_eq!(t.call(&["SRANDMEMBER", "s", "5"]), "*1\r\n$1\r\na\r\n");
        assert_eq!(t.call(&["SRANDMEMBER", "nokey", "5"]), "*0\r\n");
        assert_eq!(t.call(&["SRANDMEMBER", "nokey"]), "_\r\n");
    }

    #[test]
    fn distinct_sample_covers_both_strategies() {
        let mut d: Dict<()> = Dict::new();
        for i in 0..300 {
            d.insert(format!("k{i}").as_bytes(), ());
        }
        for n in [0, 1, 50, 99, 100, 101, 250, 299, 300, 1_000] {
            let got = distinct_sample(&d, n);
            assert_eq!(got.len(), n.min(300));
            let keys: HashSet<&[u8]> = got.iter().map(|(k, _)| *k).collect();
            assert_eq!(keys.len(), got.len());
        }
    }

    #[test]
    fn smove_moves_and_deletes_the_emptied_source() {
        let mut t = T::new();
        assert_eq!(t.call(&["SMOVE", "nokey", "d", "a"]), int(0));
        t.call(&["SADD", "s", "a", "b"]);
        assert_eq!(t.call(&["SMOVE", "s", "d", "z"]), int(0));
        assert_eq!(t.call(&["SMOVE", "s", "d", "a"]), int(1));
        assert_eq!(t.members(&["SMEMBERS", "d"]), strs(&["a"]));
        assert_eq!(t.call(&["SMOVE", "s", "s", "b"]), int(1), "same key: membership only");
        assert_eq!(t.call(&["SMOVE", "s", "s", "z"]), int(0));
        t.call(&["SADD", "d", "b"]);
        assert_eq!(t.call(&["SMOVE", "s", "d", "b"]), int(1), "already in the destination");
        assert!(!t.exists("s"));
        assert_eq!(t.members(&["SMEMBERS", "d"]), strs(&["a", "b"]));
        t.call(&["SET", "str", "x"]);
        assert_eq!(t.call(&["SMOVE", "nokey", "str", "a"]), int(0), "missing source wins over the type check");
    }

    #[test]
    fn sinter_family() {
        let mut t = T::new();
        t.call(&["SADD", "a", "1", "2", "3", "4", "x"]);
        t.call(&["SADD", "b", "2", "3", "x", "y"]);
        t.call(&["SADD", "c", "3", "x", "z"]);
        assert_eq!(t.members(&["SINTER", "a", "b", "c"]), strs(&["3", "x"]));
        assert_eq!(t.members(&["SINTER", "a", "a"]), strs(&["1", "2", "3", "4", "x"]));
        assert_eq!(t.call(&["SINTER", "a", "nokey"]), "*0\r\n");
        assert_eq!(t.call(&["SINTERCARD", "3", "a", "b", "c"]), int(2));
        assert_eq!(t.call(&["SINTERCARD", "2", "a", "b", "LIMIT", "2"]), int(2));
        assert_eq!(t.call(&["SINTERCARD", "2", "a", "b", "LIMIT", "0"]), int(3));
        assert_eq!(t.call(&["SINTERCARD", "1", "a", "limit", "100"]), int(5));
        assert_eq!(t.call(&["SINTERCARD", "2", "a", "nokey"]), int(0));
        assert_eq!(t.call(&["SINTERSTORE", "d", "a", "b"]), int(3));
        assert_eq!(t.members(&["SMEMBERS", "d"]), strs(&["2", "3", "x"]));
        // The destination may be a source.
        assert_eq!(t.call(&["SINTERSTORE", "d", "d", "c"]), int(2));
        assert_eq!(t.members(&["SMEMBERS", "d"]), strs(&["3", "x"]));
        t.resp3();
        assert_eq!(t.call(&["SINTER", "a", "nokey"]), "~0\r\n");
        assert!(t.call(&["SINTER", "a", "b"]).starts_with("~3\r\n"));
    }

    #[test]
    fn sintercard_errors() {
        let mut t = T::new();
        let numkeys = "-ERR numkeys should be greater than 0\r\n";
        assert_eq!(t.call(&["SINTERCARD", "0", "a"]), numkeys);
        assert_eq!(t.call(&["SINTERCARD", "-1", "a"]), numkeys);
        assert_eq!(t.call(&["SINTERCARD", "x", "a"]), numkeys);
        assert_eq!(
            t.call(&["SINTERCARD", "3", "a", "b"]),
            "-ERR Number of keys can't be greater than number of args\r\n"
        );
        let negative = "-ERR LIMIT can't be negative\r\n";
        assert_eq!(t.call(&["SINTERCARD", "1", "a", "LIMIT", "-1"]), negative);
        assert_eq!(t.call(&["SINTERCARD", "1", "a", "LIMIT", "x"]), negative);
        assert_eq!(t.call(&["SINTERCARD", "1", "a", "LIMIT"]), SYNTAX);
        assert_eq!(t.call(&["SINTERCARD", "1", "a", "b"]), SYNTAX, "more keys than numkeys says");
        assert_eq!(t.call(&["SINTERCARD", "1"]), "-ERR wrong number of arguments for 'sintercard' command\r\n");
    }

    #[test]
    fn store_variants_replace_or_delete_the_destination() {
        let mut t = T::new();
        t.call(&["SADD", "a", "1", "2"]);
        t.call(&["SADD", "b", "2", "3"]);
        t.call(&["SET", "d", "old", "PX", "100000"]);
        assert_eq!(t.ttl_ms("d"), Some(100_000));
        assert_eq!(t.call(&["SUNIONSTORE", "d", "a", "b"]), int(3));
        assert_eq!(t.ttl_ms("d"), None, "a stored result drops the old TTL");
        assert_eq!(t.members(&["SMEMBERS", "d"]), strs(&["1", "2", "3"]));
        assert_eq!(t.call(&["SDIFFSTORE", "d", "a", "b"]), int(1));
        assert_eq!(t.members(&["SMEMBERS", "d"]), strs(&["1"]));
        for cmd in [
            &["SDIFFSTORE", "d", "a", "a"][..],
            &["SINTERSTORE", "d", "a", "nokey"],
            &["SUNIONSTORE", "d", "nokey"],
            &["SINTERSTORE", "d", "a", "b", "nokey"],
        ] {
            t.call(&["SADD", "d", "keep"]);
            let before = t.dirty();
            assert_eq!(t.call(cmd), int(0), "{cmd:?}");
            assert!(!t.exists("d"), "an empty result deletes the destination: {cmd:?}");
            assert_eq!(t.dirty() - before, 1);
        }
        let before = t.dirty();
        assert_eq!(t.call(&["SINTERSTORE", "d", "nokey"]), int(0));
        assert_eq!(t.dirty(), before, "nothing to delete, nothing changed");
    }

    #[test]
    fn sunion_and_sdiff() {
        let mut t = T::new();
        t.call(&["SADD", "a", "1", "2", "3"]);
        t.call(&["SADD", "b", "3", "4"]);
        t.call(&["SADD", "w", "3", "x"]);
        assert_eq!(
            bulks(&t.call(&["SUNION", "a", "b", "nokey"])),
            strs(&["1", "2", "3", "4"]),
            "an intset result is sorted"
        );
        assert_eq!(t.members(&["SUNION", "a", "w"]), strs(&["1", "2", "3", "x"]));
        assert_eq!(t.call(&["SUNION", "nokey"]), "*0\r\n");
        assert_eq!(bulks(&t.call(&["SDIFF", "a", "b"])), strs(&["1", "2"]));
        assert_eq!(t.members(&["SDIFF", "a", "nokey", "w"]), strs(&["1", "2"]));
        assert_eq!(t.call(&["SDIFF", "nokey", "a"]), "*0\r\n");
        assert_eq!(t.call(&["SDIFF", "a", "b", "a"]), "*0\r\n", "the first set named again");
        assert_eq!(t.members(&["SDIFF", "w", "a"]), strs(&["x"]));
        t.resp3();
        assert_eq!(t.call(&["SDIFF", "a", "b"]), "~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
        assert_eq!(t.call(&["SUNION", "nokey"]), "~0\r\n");
    }

    #[test]
    fn result_encoding_follows_the_members() {
        let mut t = T::new();
        t.call(&["SADD", "w", "1", "x"]);
        t.call(&["SADD", "n", "1", "2"]);
        t.call(&["SINTERSTORE", "d", "w", "n"]);
        assert_eq!(t.encoding("w"), "hashtable");
        assert_eq!(t.encoding("d"), "intset", "the result is a new set, encoded for its own members");
    }

    /// Runs SSCAN to completion; returns every member seen and the number of calls.
    fn sscan_all(t: &mut T, key: &str, opts: &[&str]) -> (Vec<String>, usize) {
        let mut cursor = "0".to_string();
        let mut seen = Vec::new();
        let mut calls = 0;
        loop {
            let mut args = vec!["SSCAN", key, cursor.as_str()];
            args.extend_from_slice(opts);
            let parts = bulks(&t.call(&args));
            calls += 1;
            seen.extend_from_slice(&parts[1..]);
            if parts[0] == "0" {
                return (seen, calls);
            }
            cursor = parts[0].clone();
        }
    }

    #[test]
    fn sscan_intset_returns_everything_sorted_at_once() {
        let mut t = T::new();
        assert_eq!(t.call(&["SSCAN", "nokey", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        for i in (0..100).rev() {
            t.call(&["SADD", "n", &i.to_string()]);
        }
        assert_eq!(t.encoding("n"), "intset");
        let (seen, calls) = sscan_all(&mut t, "n", &["COUNT", "2"]);
        assert_eq!(calls, 1);
        assert_eq!(seen, (0..100).map(|i| i.to_string()).collect::<Vec<_>>());
        let reply = t.call(&["SSCAN", "n", "77", "MATCH", "9?"]);
        assert!(reply.starts_with("*2\r\n$1\r\n0\r\n*10\r\n$2\r\n90\r\n"), "{reply}");
    }

    #[test]
    fn sscan_hashtable_iterates_with_a_cursor() {
        let mut t = T::new();
        for i in 0..1_000 {
            t.call(&["SADD", "s", &format!("m{i}")]);
        }
        let (mut seen, calls) = sscan_all(&mut t, "s", &[]);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 1_000);
        assert!(calls > 50, "{calls}");
        let (seen, _) = sscan_all(&mut t, "s", &["MATCH", "m99*", "COUNT", "1000"]);
        assert_eq!(seen.len(), 11);
    }

    #[test]
    fn sscan_errors() {
        let mut t = T::new();
        t.call(&["SADD", "s", "a"]);
        assert_eq!(t.call(&["SSCAN", "s", "-x"]), "-ERR invalid cursor\r\n");
        assert_eq!(t.call(&["SSCAN", "s", "0", "COUNT", "0"]), SYNTAX);
        assert_eq!(t.call(&["SSCAN", "s", "0", "TYPE", "set"]), SYNTAX);
        assert_eq!(t.call(&["SSCAN", "s", "0", "COUNT", "1.5"]), NOT_INT);
    }

    #[test]
    fn expired_sets_are_missing() {
        let mut t = T::new();
        t.call(&["SADD", "s", "a"]);
        t.call(&["PEXPIRE", "s", "10"]);
        t.clock.advance_ms(11);
        assert_eq!(t.call(&["SCARD", "s"]), int(0));
        assert_eq!(t.call(&["SINTER", "s"]), "*0\r\n");
        assert_eq!(t.call(&["SADD", "s", "b"]), int(1));
        assert_eq!(t.members(&["SMEMBERS", "s"]), strs(&["b"]));
    }
}
