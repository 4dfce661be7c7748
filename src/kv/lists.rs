//! List commands: LPUSH/RPUSH and their X variants, LPOP/RPOP (with a count), LLEN, LRANGE, LINDEX, LSET, LREM,
//! LTRIM, LINSERT, LPOS, LMOVE, RPOPLPUSH and LMPOP.
//!
//! ```text
//!  argv --handler--> parse numbers/options (in Redis's order, so the first error is Redis's first error)
//!       --> Db lookup: read commands count keyspace hits/misses (lookupKeyRead), writes do not
//!       --> Value::List(VecDeque<Bytes>) edited in place; a list emptied by a pop/trim/remove is deleted
//!       --> cx.modified + cx.notify (own event, then `del` if emptied)
//!       --> after a push: Engine::signal_key_ready, so a blocked BLPOP/BLMOVE/BLMPOP can be served
//!       --> Reply (elements of 4 KiB or more are shared with the output buffer, not copied)
//! ```
//!
//! The pop and move logic is split into small `pub(crate)` functions (`pop_n`, `pop_from_key`, `pop_first`,
//! `do_lmove`, `parse_direction`, `parse_mpop`, `reply_key_elements`) so the blocking variants (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
//! BLMPOP) run exactly the same code, with the same events, when they find data or are woken up.
//!
//! Replies and errors follow Redis 7.0's `t_list.c` byte for byte. Elements are always copied out of `argv`: the
//! arguments are slices of the connection's read buffer, and a stored slice would pin that whole buffer.
//!
//! Simplifications against Redis:
//! * A list is one `VecDeque<Bytes>` whatever its size; Redis 7.0 uses a quicklist (a linked list of listpacks),
//!   which is far denser for small elements. `OBJECT ENCODING` still reports `quicklist`, as Redis 7.0 does for
//!   every list. Index access is O(1) here where Redis walks nodes.
//! * `rdb_changes_since_last_save` grows by one per key a command writes ([`Ctx::modified`]); Redis adds one per
//!   element pushed, popped or removed.
//! * LMPOP has no `movablekeys` flag in `COMMAND INFO` (the table has no such flag yet); its legacy key triple
//!   is `0 0 0`, as in Redis.
//! * Redis 7.0 negates `LPOS .. RANK -9223372036854775808` in a C `long`, which overflows and behaves as
//!   `RANK -1`; we reproduce that result rather than the error later versions give. `LREM key
//!   -9223372036854775808` likewise removes every match, as 7.0's overflow does.

use std::collections::VecDeque;

use bytes::Bytes;

use super::cmd::{flag::*, Command};
use super::error::{err, CmdError, CmdResult};
use super::exec::{Ctx, Engine, Notify};
use super::num::parse_i64;
use super::reply::Reply;
use super::value::Value;

/// Elements at least this long are replied by sharing the stored buffer instead of copying it. Below it the
/// output buffer copies anyway (`OutBuf` copies payloads under 4 KiB), so a reference count would only add work.
const SHARE_REPLY_MIN_BYTES: usize = 4 * 1024;

/// Complexity Redis documents for every push command.
const PUSH_COMPLEXITY: &str = "O(1) for each element added, so O(N) to add N elements when the command is called \
with multiple arguments.";

/// `LPOS .. RANK 0`.
const RANK_ZERO: CmdError = err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
or use negative to start from the end of the list");
/// `LPOS .. COUNT -1` (and a COUNT that is not an integer: Redis uses the one message for both).
const COUNT_NEGATIVE: CmdError = err("ERR COUNT can't be negative");
/// `LPOS .. MAXLEN -1` (and a MAXLEN that is not an integer).
const MAXLEN_NEGATIVE: CmdError = err("ERR MAXLEN can't be negative");
/// `LPOP key -1` (and a count that is not an integer): Redis's `getPositiveLongFromObjectOrReply` default.
const MUST_BE_POSITIVE: CmdError = err("ERR value is out of range, must be positive");
/// `LMPOP 0 ..` (and a numkeys that is not an integer).
const NUMKEYS_NOT_POSITIVE: CmdError = err("ERR numkeys should be greater than 0");
/// `LMPOP .. COUNT 0` (and a count that is not an integer).
const COUNT_NOT_POSITIVE: CmdError = err("ERR count should be greater than 0");

pub static COMMANDS: &[Command] = &[
    Command::new(
        "lpush",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "list",
        "1.0.0",
        PUSH_COMPLEXITY,
        "Prepend one or multiple elements to a list",
        "key element [element ...]",
        lpush,
    )
    .with_acl("@list"),
    Command::new(
        "rpush",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "list",
        "1.0.0",
        PUSH_COMPLEXITY,
        "Append one or multiple elements to a list",
        "key element [element ...]",
        rpush,
    )
    .with_acl("@list"),
    Command::new(
        "lpushx",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "list",
        "2.2.0",
        PUSH_COMPLEXITY,
        "Prepend an element to a list, only if the list exists",
        "key element [element ...]",
        lpushx,
    )
    .with_acl("@list"),
    Command::new(
        "rpushx",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "list",
        "2.2.0",
        PUSH_COMPLEXITY,
        "Append an element to a list, only if the list exists",
        "key element [element ...]",
        rpushx,
    )
    .with_acl("@list"),
    Command::new(
        "lpop",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        "list",
        "1.0.0",
        "O(N) where N is the number of elements returned",
        "Remove and get the first elements in a list",
        "key [count:integer]",
        lpop,
    )
    .with_acl("@list"),
    Command::new(
        "rpop",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        "list",
        "1.0.0",
        "O(N) where N is the number of elements returned",
        "Remove and get the last elements in a list",
        "key [count:integer]",
        rpop,
    )
    .with_acl("@list"),
    Command::new(
        "llen",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "list",
        "1.0.0",
        "O(1)",
        "Get the length of a list",
        "key",
        llen,
    )
    .with_acl("@list"),
    Command::new(
        "lrange",
        4,
        READONLY,
        (1, 1, 1),
        "list",
        "1.0.0",
        "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) \
         for large lists; and N is the number of elements in the specified range.",
        "Get a range of elements from a list",
        "key start:integer stop:integer",
        lrange,
    )
    .with_acl("@list"),
    Command::new(
        "lindex",
        3,
        READONLY,
        (1, 1, 1),
        "list",
        "1.0.0",
        "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for \
         the first or the last element of the list O(1).",
        "Get an element from a list by its index",
        "key index:integer",
        lindex,
    )
    .with_acl("@list"),
    Command::new(
        "lset",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "list",
        "1.0.0",
        "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).",
        "Set the value of an element in a list by its index",
        "key index:integer element",
        lset,
    )
    .with_acl("@list"),
    Command::new(
        "lrem",
        4,
        WRITE,
        (1, 1, 1),
        "list",
        "1.0.0",
        "O(N+M) where N is the length of the list and M is the number of elements removed.",
        "Remove elements from a list",
        "key count:integer element",
        lrem,
    )
    .with_acl("@list"),
    Command::new(
        "ltrim",
        4,
        WRITE,
        (1, 1, 1),
        "list",
        "1.0.0",
        "O(N) where N is the number of elements to be removed by the operation.",
        "Trim a list to the specified range",
        "key start:integer stop:integer",
        ltrim,
    )
    .with_acl("@list"),
    Command::new(
        "linsert",
        5,
        WRITE | DENYOOM,
        (1, 1, 1),
        "list",
        "2.2.0",
        "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that \
         inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on \
         the right end (tail) is O(N).",
        "Insert an element before or after another element in a list",
        "key BEFORE|AFTER pivot element",
        linsert,
    )
    .with_acl("@list"),
    Command::new(
        "lpos",
        -3,
        READONLY,
        (1, 1, 1),
        "list",
        "6.0.6",
        "O(N) where N is the number of elements in the list, for the average case. When searching for elements near \
         the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant \
         time.",
        "Return the index of matching elements on a list",
        "key element [RANK rank:integer] [COUNT num-matches:integer] [MAXLEN len:integer]",
        lpos,
    )
    .with_acl("@list"),
    Command::new(
        "lmove",
        5,
        WRITE | DENYOOM,
        (1, 2, 1),
        "list",
        "6.2.0",
        "O(1)",
        "Pop an element from a list, push it to another list and return it",
        "source destination LEFT|RIGHT LEFT|RIGHT",
        lmove,
    )
    .with_acl("@list"),
    Command::new(
        "rpoplpush",
        3,
        WRITE | DENYOOM,
        (1, 2, 1),
        "list",
        "1.2.0",
        "O(1)",
        "Remove the last element in a list, prepend it to another list and return it",
        "source destination",
        rpoplpush,
    )
    .with_acl("@list"),
    Command::new(
        "lmpop",
        -4,
        WRITE,
        (0, 0, 0),
        "list",
        "7.0.0",
        "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
        "Pop elements from a list",
        "numkeys:integer key [key ...] LEFT|RIGHT [COUNT count:integer]",
        lmpop,
    )
    .with_acl("@list"),
];

// ---------------------------------------------------------------------------------------------------------------
// Building blocks, shared with the blocking commands
// ---------------------------------------------------------------------------------------------------------------

/// Which end of a list a command works on: Redis's `LIST_HEAD` (LEFT) and `LIST_TAIL` (RIGHT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    Left,
    Right,
}

impl End {
    /// The keyspace event a pop from this end fires.
    pub(crate) fn pop_event(self) -> &'static str {
        match self {
            End::Left => "lpop",
            End::Right => "rpop",
        }
    }

    /// The keyspace event a push to this end fires.
    pub(crate) fn push_event(self) -> &'static str {
        match self {
            End::Left => "lpush",
            End::Right => "rpush",
        }
    }
}

/// `LEFT` or `RIGHT`, case-insensitively (LMOVE, LMPOP, BLMOVE, BLMPOP); anything else is `ERR syntax error`
/// (Redis's `getListPositionFromObjectOrReply`).
pub(crate) fn parse_direction(arg: &[u8]) -> Result<End, CmdError> {
    let arg = c_str(arg);
    if arg.eq_ignore_ascii_case(b"left") {
        Ok(End::Left)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Ok(End::Right)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Pushes one element at `end`.
pub(crate) fn push(list: &mut VecDeque<Bytes>, end: End, value: Bytes) {
    match end {
        End::Left => list.push_front(value),
        End::Right => list.push_back(value),
    }
}

/// Removes up to `count` elements from `end` and returns them in pop order (so `RPOP key 2` on `a b c` gives
/// `c b`, as Redis replies). `count` may exceed the length: it is capped before anything is allocated.
pub(crate) fn pop_n(list: &mut VecDeque<Bytes>, end: End, count: usize) -> Vec<Bytes> {
    let n = count.min(list.len());
    match end {
        End::Left => list.drain(..n).collect(),
        End::Right => {
            let start = list.len() - n;
            list.drain(start..).rev().collect()
        }
    }
}

/// Pops up to `count` (at least 1) elements from the list under `key` in the current database, with Redis's
/// housekeeping (`listElementsRemoved`): the `lpop`/`rpop` event, then deletion and `del` if the list is now
/// empty, then `modified`. `Ok(None)` when there is no such key (or, defensively, an empty list); `WRONGTYPE`
/// when the key holds something else. Nothing is replied: LPOP, LMPOP, BLPOP and BLMPOP shape their own replies.
pub(crate) fn pop_from_key(
    cx: &mut Ctx<'_>,
    key: &[u8],
    end: End,
    count: usize,
) -> Result<Option<Vec<Bytes>>, CmdError> {
    let (db, now) = (cx.db, cx.now_ms);
    let Some(list) = list_mut(cx.engine, db, key, now)? else {
        return Ok(None);
    };
    if list.is_empty() {
        return Ok(None);
    }
    let popped = pop_n(list, end, count);
    let emptied = list.is_empty();
    cx.notify(Notify::List, end.pop_event(), db, key);
    if emptied {
        cx.engine.dbs[db].remove(key, now);
        cx.notify(Notify::Generic, "del", db, key);
    }
    cx.modified(db, key);
    Ok(Some(popped))
}

/// The key a multi-key pop took elements from, and the elements in pop order.
pub(crate) type KeyElements<'k> = (&'k [u8], Vec<Bytes>);

/// LMPOP/BLMPOP's scan (Redis's `mpopGenericCommand`): pops from the first key, in order, that holds a
/// non-empty list. Missing keys are skipped; a key of another type met before a list is `WRONGTYPE`. Returns the
/// key popped from and the elements, or `None` when every key is missing.
pub(crate) fn pop_first<'k>(
    cx: &mut Ctx<'_>,
    keys: &[&'k [u8]],
    end: End,
    count: usize,
) -> Result<Option<KeyElements<'k>>, CmdError> {
    for &key in keys {
        if let Some(popped) = pop_from_key(cx, key, end, count)? {
            return Ok(Some((key, popped)));
        }
    }
    Ok(None)
}

/// LMOVE/RPOPLPUSH (and BLMOVE/BRPOPLPUSH once data is there), Redis's `lmoveGenericCommand` without the reply:
/// pops from `from` of `src`, pushes to `to` of `dst`, and returns the element moved. `Ok(None)` when `src` does
/// not exist; the destination's type is only checked once the source is known to hold a list, as in Redis, and a
/// wrong-typed destination changes nothing. `src == dst` rotates the list (a one-element list is never deleted).
///
/// Events in Redis's order: the destination's `lpush`/`rpush`, then the source's `lpop`/`rpop` (and `del` if it
/// was emptied). The destination is signalled ready, so a client blocked on it can be served.
pub(crate) fn do_lmove(
    cx: &mut Ctx<'_>,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<Option<Bytes>, CmdError> {
    let (db, now) = (cx.db, cx.now_ms);
    match cx.engine.dbs[db].get(src, now) {
        None => return Ok(None),
        Some(Value::List(l)) if l.is_empty() => return Ok(None),
        Some(Value::List(_)) => {}
        Some(_) => return Err(CmdError::WrongType),
    }
    if let Some(v) = cx.engine.dbs[db].get(dst, now) {
        if !matches!(v, Value::List(_)) {
            return Err(CmdError::WrongType);
        }
    }
    let value = match list_mut(cx.engine, db, src, now)?.and_then(|l| pop_n(l, from, 1).pop()) {
        Some(v) => v,
        None => return Ok(None),
    };
    match cx.engine.dbs[db].get_or_insert_with(dst, now, Value::new_list) {
        Value::List(l) => push(l, to, value.clone()),
        // Checked above; unreachable, but never worth a panic.
        _ => return Err(CmdError::WrongType),
    }
    cx.modified(db, dst);
    cx.notify(Notify::List, to.push_event(), db, dst);
    cx.engine.signal_key_ready(db, dst);

    let emptied = matches!(cx.engine.dbs[db].get(src, now), Some(Value::List(l)) if l.is_empty());
    cx.notify(Notify::List, from.pop_event(), db, src);
    if emptied {
        cx.engine.dbs[db].remove(src, now);
        cx.notify(Notify::Generic, "del", db, src);
    }
    cx.modified(db, src);
    Ok(Some(value))
}

/// Parsed arguments of LMPOP/BLMPOP.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct MpopArgs<'a> {
    pub keys: &'a [&'a [u8]],
    pub end: End,
    /// At least 1; 1 when COUNT is not given.
    pub count: usize,
}

/// Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` starting at `argv[numkeys_idx]` (1 for LMPOP, 2 for
/// BLMPOP, whose timeout comes first and is parsed by the caller afterwards, as Redis does). Errors in Redis's
/// order: numkeys, then the direction (a numkeys that runs past the arguments is a syntax error), then COUNT,
/// which may appear once.
pub(crate) fn parse_mpop<'a>(argv: &'a [&'a [u8]], numkeys_idx: usize) -> Result<MpopArgs<'a>, CmdError> {
    let numkeys = match argv.get(numkeys_idx).and_then(|a| parse_i64(a)) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(NUMKEYS_NOT_POSITIVE),
    };
    let first = numkeys_idx + 1;
    // numkeys comes from the peer: compare in u64 so a huge value cannot overflow the index.
    let where_idx = first as u64 + numkeys;
    if where_idx >= argv.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let end = parse_direction(argv[where_idx])?;
    let mut count = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        if count.is_none() && more && c_str(argv[j]).eq_ignore_ascii_case(b"count") {
            j += 1;
            count = match parse_i64(argv[j]) {
                Some(n) if n >= 1 => Some(n as usize),
                _ => return Err(COUNT_NOT_POSITIVE),
            };
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(MpopArgs { keys: &argv[first..where_idx], end, count: count.unwrap_or(1) })
}

/// One element as a bulk reply: small elements are copied into the output buffer, large ones shared.
pub(crate) fn reply_element(reply: &mut Reply<'_>, e: &Bytes) {
    if e.len() >= SHARE_REPLY_MIN_BYTES {
        reply.bulk_shared(e.clone());
    } else {
        reply.bulk(e);
    }
}

/// Elements as an array reply.
pub(crate) fn reply_elements<'e>(reply: &mut Reply<'_>, elems: impl ExactSizeIterator<Item = &'e Bytes>) {
    reply.array(elems.len());
    for e in elems {
        reply_element(reply, e);
    }
}

/// LMPOP/BLMPOP's reply: `[key, [elements]]`.
pub(crate) fn reply_key_elements(reply: &mut Reply<'_>, key: &[u8], elems: &[Bytes]) {
    reply.array(2);
    reply.bulk(key);
    reply_elements(reply, elems.iter());
}

// ---------------------------------------------------------------------------------------------------------------
// Private helpers
// ---------------------------------------------------------------------------------------------------------------

/// The list under `key` for reading (Redis's `lookupKeyRead` + `checkType`): counts a keyspace hit or miss, then
/// `WRONGTYPE` for another type. Redis counts the hit before the type check, and so do we.
fn list_read<'e>(
    engine: &'e mut Engine,
    db: usize,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'e VecDeque<Bytes>>, CmdError> {
    let found = engine.dbs[db].get(key, now_ms);
    if found.is_some() {
        engine.stats.keyspace_hits += 1;
    } else {
        engine.stats.keyspace_misses += 1;
    }
    match found {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The list under `key` for writing (Redis's `lookupKeyWrite` + `checkType`; no hit/miss counting).
fn list_mut<'e>(
    engine: &'e mut Engine,
    db: usize,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'e mut VecDeque<Bytes>>, CmdError> {
    match engine.dbs[db].get_mut(key, now_ms) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Redis compares keywords as C strings, so an argument with an embedded NUL matches on what precedes it
/// (`"LEFT\0junk"` is `LEFT`). Kept for byte-for-byte compatibility.
fn c_str(arg: &[u8]) -> &[u8] {
    arg.split(|&b| b == 0).next().unwrap_or(arg)
}

/// An integer argument with `string2ll` rules.
fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// A non-negative integer, with one error text for both "not an integer" and "negative", as Redis's
/// `getPositiveLongFromObjectOrReply` gives when passed a message.
fn non_negative(arg: &[u8], error: CmdError) -> Result<u64, CmdError> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(error),
    }
}

/// A possibly negative index into a list of `len` (LINDEX, LSET): `-1` is the last element.
fn resolve_index(len: usize, index: i64) -> Option<usize> {
    if index < 0 {
        let back = usize::try_from(index.unsigned_abs()).ok()?;
        len.checked_sub(back)
    } else {
        usize::try_from(index).ok().filter(|&i| i < len)
    }
}

/// LRANGE/LTRIM's `start stop` (inclusive, negative from the end, clamped) as an index range; `None` when empty.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    // A list never holds i64::MAX elements, and len + a negative i64 cannot overflow.
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

/// Removes elements equal to `elem`: all of them for `count == 0`, the first `count` from the head for a positive
/// count, the last `-count` from the tail for a negative one. Returns how many went. One O(n) pass to find the
/// cut-off, one O(n) `retain`.
fn remove_matches(list: &mut VecDeque<Bytes>, elem: &[u8], count: i64) -> usize {
    let len = list.len();
    let matches = |e: &Bytes| e[..] == *elem;
    // Positions [lo, hi) whose matches are removed.
    let (lo, hi) = if count > 0 {
        let want = count as usize;
        let hi = list.iter().enumerate().filter(|(_, e)| matches(e)).nth(want - 1).map_or(len, |(i, _)| i + 1);
        (0, hi)
    } else if count < 0 && count != i64::MIN {
        // i64::MIN stays negative when Redis 7.0 negates it, so its "removed == toremove" never holds: all go.
        let want = count.unsigned_abs() as usize;
        let lo = list.iter().enumerate().rev().filter(|(_, e)| matches(e)).nth(want - 1).map_or(0, |(i, _)| i);
        (lo, len)
    } else {
        (0, len)
    };
    let mut i = 0;
    list.retain(|e| {
        let remove = i >= lo && i < hi && matches(e);
        i += 1;
        !remove
    });
    len - list.len()
}

// ---------------------------------------------------------------------------------------------------------------
// Push
// ---------------------------------------------------------------------------------------------------------------

/// Redis's `pushGenericCommand`: pushes every element in argument order (so `LPUSH k a b c` leaves `c b a`) and
/// replies with the new length. `only_if_exists` is LPUSHX/RPUSHX, which reply 0 for a missing key.
fn push_generic(cx: &mut Ctx<'_>, argv: &[&[u8]], end: End, only_if_exists: bool) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    let key = argv[1];
    let store = &mut cx.engine.dbs[db];
    let slot = if only_if_exists {
        store.get_mut(key, now)
    } else {
        Some(store.get_or_insert_with(key, now, Value::new_list))
    };
    let list = match slot {
        None => {
            cx.reply.int(0);
            return Ok(());
        }
        Some(Value::List(l)) => l,
        Some(_) => return Err(CmdError::WrongType),
    };
    let elems = &argv[2..];
    list.reserve(elems.len());
    for e in elems {
        push(list, end, Bytes::copy_from_slice(e));
    }
    let len = list.len();
    cx.reply.int(len as i64);
    cx.modified(db, key);
    cx.notify(Notify::List, end.push_event(), db, key);
    cx.engine.signal_key_ready(db, key);
    Ok(())
}

fn lpush(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    push_generic(cx, argv, End::Left, false)
}

fn rpush(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    push_generic(cx, argv, End::Right, false)
}

fn lpushx(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    push_generic(cx, argv, End::Left, true)
}

fn rpushx(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    push_generic(cx, argv, End::Right, true)
}

/// `LINSERT key BEFORE|AFTER pivot element`: the direction is checked before the key; 0 for a missing key, -1
/// when the pivot is not found, else the new length.
fn linsert(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let where_ = c_str(argv[2]);
    let after = if where_.eq_ignore_ascii_case(b"after") {
        true
    } else if where_.eq_ignore_ascii_case(b"before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let (db, now) = (cx.db, cx.now_ms);
    let key = argv[1];
    let Some(list) = list_mut(cx.engine, db, key, now)? else {
        cx.reply.int(0);
        return Ok(());
    };
    let Some(pos) = list.iter().position(|e| e[..] == *argv[3]) else {
        cx.reply.int(-1);
        return Ok(());
    };
    list.insert(if after { pos + 1 } else { pos }, Bytes::copy_from_slice(argv[4]));
    let len = list.len();
    cx.modified(db, key);
    cx.notify(Notify::List, "linsert", db, key);
    cx.engine.signal_key_ready(db, key);
    cx.reply.int(len as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Pop and move
// ---------------------------------------------------------------------------------------------------------------

/// Redis's `popGenericCommand`. Without a count: a bulk string, or null for a missing key. With a count: an
/// array, a null *array* for a missing key, and an empty array for a count of 0 on an existing list (which then
/// pops nothing). The count is validated before the key is looked up.
fn pop_command(cx: &mut Ctx<'_>, argv: &[&[u8]], end: End, name: &str) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Arity(name.to_string()));
    }
    let count = match argv.get(2) {
        Some(arg) => Some(non_negative(arg, MUST_BE_POSITIVE)?),
        None => None,
    };
    let key = argv[1];
    if count == Some(0) {
        // Redis still looks the key up (null array if missing, WRONGTYPE if not a list) but pops nothing.
        match cx.engine.dbs[cx.db].get(key, cx.now_ms) {
            None => cx.reply.null_array(),
            Some(Value::List(_)) => cx.reply.array(0),
            Some(_) => return Err(CmdError::WrongType),
        }
        return Ok(());
    }
    // A count beyond usize (32-bit targets) can only mean "all of them".
    let n = count.map_or(1, |c| usize::try_from(c).unwrap_or(usize::MAX));
    match (pop_from_key(cx, key, end, n)?, count) {
        (None, None) => cx.reply.null(),
        (None, Some(_)) => cx.reply.null_array(),
        (Some(popped), None) => match popped.first() {
            Some(e) => reply_element(&mut cx.reply, e),
            None => cx.reply.null(),
        },
        (Some(popped), Some(_)) => reply_elements(&mut cx.reply, popped.iter()),
    }
    Ok(())
}

fn lpop(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    pop_command(cx, argv, End::Left, "lpop")
}

fn rpop(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    pop_command(cx, argv, End::Right, "rpop")
}

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`: both directions are parsed before any key is touched.
fn lmove(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let from = parse_direction(argv[3])?;
    let to = parse_direction(argv[4])?;
    lmove_reply(cx, argv[1], argv[2], from, to)
}

/// `RPOPLPUSH source destination` is `LMOVE source destination RIGHT LEFT`.
fn rpoplpush(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    lmove_reply(cx, argv[1], argv[2], End::Right, End::Left)
}

fn lmove_reply(cx: &mut Ctx<'_>, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult {
    match do_lmove(cx, src, dst, from, to)? {
        Some(e) => reply_element(&mut cx.reply, &e),
        None => cx.reply.null(),
    }
    Ok(())
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`: `[key, [elements]]` from the first non-empty list, or
/// a null array.
fn lmpop(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let args = parse_mpop(argv, 1)?;
    match pop_first(cx, args.keys, args.end, args.count)? {
        Some((key, popped)) => reply_key_elements(&mut cx.reply, key, &popped),
        None => cx.reply.null_array(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Read
// ---------------------------------------------------------------------------------------------------------------

fn llen(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let len = list_read(cx.engine, cx.db, argv[1], cx.now_ms)?.map_or(0, |l| l.len());
    cx.reply.int(len as i64);
    Ok(())
}

/// The range is parsed before the key is looked up, as in Redis.
fn lrange(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let start = int_arg(argv[2])?;
    let stop = int_arg(argv[3])?;
    let Some(list) = list_read(cx.engine, cx.db, argv[1], cx.now_ms)? else {
        cx.reply.array(0);
        return Ok(());
    };
    match clamp_range(start, stop, list.len()) {
        Some((a, b)) => reply_elements(&mut cx.reply, list.range(a..=b)),
        None => cx.reply.array(0),
    }
    Ok(())
}

/// Unlike LRANGE, the key is looked up (and type-checked) before the index is parsed, as in Redis: a missing key
/// is null whatever the index says.
fn lindex(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let Some(list) = list_read(cx.engine, cx.db, argv[1], cx.now_ms)? else {
        cx.reply.null();
        return Ok(());
    };
    let index = int_arg(argv[2])?;
    match resolve_index(list.len(), index).and_then(|i| list.get(i)) {
        Some(e) => reply_element(&mut cx.reply, e),
        None => cx.reply.null(),
    }
    Ok(())
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`. Options are parsed first (each may repeat,
/// the last wins); then a missing key is null, or an empty array when COUNT was given. RANK n starts at the n-th
/// match (negative: from the tail); COUNT 0 means every match; MAXLEN 0 means the whole list. Indexes are always
/// counted from the head.
fn lpos(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let elem = argv[2];
    let mut rank: i64 = 1;
    let mut count: Option<u64> = None;
    let mut maxlen: u64 = 0;
    let mut j = 3;
    while j < argv.len() {
        let opt = c_str(argv[j]);
        let more = j + 1 < argv.len();
        if more && opt.eq_ignore_ascii_case(b"rank") {
            j += 1;
            rank = int_arg(argv[j])?;
            if rank == 0 {
                return Err(RANK_ZERO);
            }
        } else if more && opt.eq_ignore_ascii_case(b"count") {
            j += 1;
            count = Some(non_negative(argv[j], COUNT_NEGATIVE)?);
        } else if more && opt.eq_ignore_ascii_case(b"maxlen") {
            j += 1;
            maxlen = non_negative(argv[j], MAXLEN_NEGATIVE)?;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let from_tail = rank < 0;
    // See the module docs: Redis 7.0's negation of i64::MIN overflows and acts as RANK -1.
    let rank = if rank == i64::MIN { 1 } else { rank.unsigned_abs() };

    let Some(list) = list_read(cx.engine, cx.db, argv[1], cx.now_ms)? else {
        match count {
            Some(_) => cx.reply.array(0),
            None => cx.reply.null(),
        }
        return Ok(());
    };
    let len = list.len();
    let limit = if maxlen == 0 { len } else { usize::try_from(maxlen).map_or(len, |m| m.min(len)) };
    let mut found: Vec<i64> = Vec::new();
    let mut matches: u64 = 0;
    for scanned in 0..limit {
        let index = if from_tail { len - 1 - scanned } else { scanned };
        if list[index][..] != *elem {
            continue;
        }
        matches += 1;
        if matches < rank {
            continue;
        }
        found.push(index as i64);
        match count {
            None => break,
            Some(c) if c != 0 && found.len() as u64 >= c => break,
            Some(_) => {}
        }
    }
    match count {
        Some(_) => {
            cx.reply.array(found.len());
            for i in found {
                cx.reply.int(i);
            }
        }
        None => match found.first() {
            Some(&i) => cx.reply.int(i),
            None => cx.reply.null(),
        },
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// In-place edits
// ---------------------------------------------------------------------------------------------------------------

/// `LSET key index element`: `ERR no such key` for a missing key, checked before the index is parsed.
fn lset(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    let key = argv[1];
    let Some(list) = list_mut(cx.engine, db, key, now)? else {
        return Err(CmdError::NoSuchKey);
    };
    let index = int_arg(argv[2])?;
    let Some(slot) = resolve_index(list.len(), index).and_then(|i| list.get_mut(i)) else {
        return Err(CmdError::IndexOutOfRange);
    };
    *slot = Bytes::copy_from_slice(argv[3]);
    cx.reply.ok();
    cx.modified(db, key);
    cx.notify(Notify::List, "lset", db, key);
    Ok(())
}

/// `LREM key count element`: replies with the number removed; events only when something was.
fn lrem(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let count = int_arg(argv[2])?;
    let (db, now) = (cx.db, cx.now_ms);
    let key = argv[1];
    let Some(list) = list_mut(cx.engine, db, key, now)? else {
        cx.reply.int(0);
        return Ok(());
    };
    let removed = remove_matches(list, argv[3], count);
    let emptied = list.is_empty();
    if removed > 0 {
        cx.notify(Notify::List, "lrem", db, key);
        if emptied {
            cx.engine.dbs[db].remove(key, now);
            cx.notify(Notify::Generic, "del", db, key);
        }
        cx.modified(db, key);
    }
    cx.reply.int(removed as i64);
    Ok(())
}

/// `LTRIM key start stop`: keeps only the range. Redis fires `ltrim` and signals the key even when nothing was
/// removed, and so do we.
fn ltrim(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let start = int_arg(argv[2])?;
    let stop = int_arg(argv[3])?;
    let (db, now) = (cx.db, cx.now_ms);
    let key = argv[1];
    let Some(list) = list_mut(cx.engine, db, key, now)? else {
        cx.reply.ok();
        return Ok(());
    };
    match clamp_range(start, stop, list.len()) {
        Some((a, b)) => {
            list.truncate(b + 1);
            list.drain(..a);
        }
        None => list.clear(),
    }
    let emptied = list.is_empty();
    cx.notify(Notify::List, "ltrim", db, key);
    if emptied {
        cx.engine.dbs[db].remove(key, now);
        cx.notify(Notify::Generic, "del", db, key);
    }
    cx.modified(db, key);
    cx.reply.ok();
    Ok(())
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::kv::testing::{EMPTY, NOT_INT, NULL2, SYNTAX, T, T0, WRONGTYPE};

    const NULL_ARRAY2: &str = "*-1\r\n";
    const NULL3: &str = "_\r\n";
    const OK: &str = "+OK\r\n";

    /// Helpers only this family's tests need, on the shared harness.
    trait ListsExt {
        fn list(&mut self, key: &str) -> Vec<String>;
    }

    impl ListsExt for T {
        fn list(&mut self, key: &str) -> Vec<String> {
            let now = self.e.clock.now_ms();
            match self.e.dbs[0].get(key.as_bytes(), now) {
                Some(Value::List(l)) => l.iter().map(|e| String::from_utf8_lossy(e).into_owned()).collect(),
                Some(_) => panic!("{key} is not a list"),
                None => Vec::new(),
            }
        }
    }

    fn bulk(s: &str) -> String {
        format!("${}\r\n{s}\r\n", s.len())
    }

    fn int(n: i64) -> String {
        format!(":{n}\r\n")
    }

    fn arr(items: &[&str]) -> String {
        let mut out = format!("*{}\r\n", items.len());
        for i in items {
            out.push_str(&bulk(i));
        }
        out
    }

    fn ints(items: &[i64]) -> String {
        let mut out = format!("*{}\r\n", items.len());
        for &i in items {
            out.push_str(&int(i));
        }
        out
    }

    #[test]
    fn push_order_and_lengths() {
        let mut t = T::new();
        assert_eq!(t.call(&["LPUSH", "k", "a", "b", "c"]), int(3));
        assert_eq!(t.list("k"), ["c", "b", "a"]);
        assert_eq!(t.call(&["RPUSH", "k", "x", "y"]), int(5));
        assert_eq!(t.call(&["LRANGE", "k", "0", "-1"]), arr(&["c", "b", "a", "x", "y"]));
        assert_eq!(t.call(&["LLEN", "k"]), int(5));
        assert_eq!(t.call(&["LLEN", "missing"]), int(0));
        assert_eq!(t.e.dbs[0].get(b"k", T0).map(Value::encoding), Some("quicklist"));
    }

    #[test]
    fn pushx_only_on_existing_lists() {
        let mut t = T::new();
        assert_eq!(t.call(&["LPUSHX", "k", "a"]), int(0));
        assert_eq!(t.call(&["RPUSHX", "k", "a", "b"]), int(0));
        assert!(!t.exists("k"), "PUSHX must not create the key");
        t.call(&["RPUSH", "k", "m"]);
        assert_eq!(t.call(&["LPUSHX", "k", "a", "b"]), int(3));
        assert_eq!(t.call(&["RPUSHX", "k", "z"]), int(4));
        assert_eq!(t.list("k"), ["b", "a", "m", "z"]);
        t.call(&["SET", "s", "v"]);
        assert_eq!(t.call(&["LPUSHX", "s", "a"]), WRONGTYPE);
    }

    #[test]
    fn elements_are_binary_safe_and_large_ones_intact() {
        let mut t = T::new();
        let odd: &[u8] = b"a\r\n\x00\xff";
        assert_eq!(t.raw(&[b"RPUSH", b"k\x00", odd]), b":1\r\n");
        assert_eq!(t.raw(&[b"LINDEX", b"k\x00", b"0"]), b"$5\r\na\r\n\x00\xff\r\n");
        let big: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        t.raw(&[b"RPUSH", b"k\x00", &big]);
        let mut want = b"$50000\r\n".to_vec();
        want.extend_from_slice(&big);
        want.extend_from_slice(b"\r\n");
        assert_eq!(t.raw(&[b"LINDEX", b"k\x00", b"-1"]), want);
        assert_eq!(t.raw(&[b"RPOP", b"k\x00"]), want);
    }

    #[test]
    fn pop_single_and_counted() {
        let mut t = T::new();
        t.call(&["RPUSH", "k", "a", "b", "c", "d", "e"]);
        assert_eq!(t.call(&["LPOP", "k"]), bulk("a"));
        assert_eq!(t.call(&["RPOP", "k"]), bulk("e"));
        assert_eq!(t.call(&["LPOP", "k", "2"]), arr(&["b", "c"]));
        t.call(&["RPUSH", "k", "x", "y"]);
        // RPOP with a count replies tail first.
        assert_eq!(t.call(&["RPOP", "k", "2"]), arr(&["y", "x"]));
        assert_eq!(t.call(&["LPOP", "k", "0"]), EMPTY, "count 0 on an existing list: empty array, nothing popped");
        assert_eq!(t.list("k"), ["d"]);
        assert_eq!(t.call(&["RPOP", "k", "100"]), arr(&["d"]));
        assert!(!t.exists("k"), "an emptied list is deleted");
    }

    #[test]
    fn pop_null_rules_resp2_and_resp3() {
        let mut t = T::new();
        assert_eq!(t.call(&["LPOP", "missing"]), NULL2);
        assert_eq!(t.call(&["RPOP", "missing", "1"]), NULL_ARRAY2);
        assert_eq!(t.call(&["LPOP", "missing", "0"]), NULL_ARRAY2);
        t.resp3();
        assert_eq!(t.call(&["LPOP", "missing"]), NULL3);
        assert_eq!(t.call(&["LPOP", "missing", "2"]), NULL3);
        assert_eq!(t.call(&["LPOP", "missing", "0"]), NULL3);
    }

    #[test]
    fn pop_errors() {
        let mut t = T::new();
        t.call(&["RPUSH", "k", "a"]);
        let positive = "-ERR value is out of range, must be positive\r\n";
        assert_eq!(t.call(&["LPOP", "k", "-1"]), positive);
        assert_eq!(t.call(&["LPOP", "k", "x"]), positive);
        assert_eq!(t.call(&["LPOP", "missing", "-1"]), positive, "count checked before the key");
        assert_eq!(t.call(&["RPOP", "k", "1", "2"]), "-ERR wrong number of arguments for 'rpop' command\r\n");
        assert_eq!(t.call(&["LPOP"]), "-ERR wrong number of arguments for 'lpop' command\r\n");
        t.call(&["SET", "s", "v"]);
        assert_eq!(t.call(&["LPOP", "s"]), WRONGTYPE);
        assert_eq!(t.call(&["LPOP", "s", "0"]), WRONGTYPE);
        assert_eq!(t.call(&["RPOP", "s", "3"]), WRONGTYPE);
        assert_eq!(t.list("k"), ["a"]);
    }

    #[test]
    fn lrange_index_rules() {
        let mut t = T::new();
        t.call(&["RPUSH", "k", "a", "b", "c", "d"]);
        assert_eq!(t.call(&["LRANGE", "k", "1", "2"]), arr(&["b", "c"]));
        assert_eq!(t.call(&["LRANGE", "k", "-2", "-1"]), arr(&["c", "d"]));
        assert_eq!(t.call(&["LRANGE", "k", "-100", "100"]), arr(&["a", "b", "c", "d"]));
        assert_eq!(t.call(&["LRANGE", "k", "2", "1"]), EMPTY);
        assert_eq!(t.call(&["LRANGE", "k", "4", "10"]), EMPTY);
        assert_eq!(t.call(&["LRANGE", "k", "0", "-5"]), EMPTY);
        assert_eq!(t.call(&["LRANGE", "k", "-9223372036854775808", "9223372036854775807"]), arr(&["a", "b", "c", "d"]));
        assert_eq!(t.call(&["LRANGE", "missing", "0", "-1"]), EMPTY);
        assert_eq!(t.call(&["LRANGE", "missing", "x", "-1"]), NOT_INT, "range parsed before the lookup");
        t.call(&["SET", "s", "v"]);
        assert_eq!(t.call(&["LRANGE", "s", "0", "-1"]), WRONGTYPE);
        t.resp3();
        assert_eq!(t.call(&["LRANGE", "missing", "0", "-1"]), EMPTY);
    }

    #[test]
    fn lindex_rules() {
        let mut t = T::new();
        t.call(&["RPUSH", "k", "a", "b", "c"]);
        assert_eq!(t.call(&["LINDEX", "k", "0"]), bulk("a"));
        assert_eq!(t.call(&["LINDEX", "k", "-1"]), bulk("c"));
        assert_eq!(t.call(&["LINDEX", "k", "-3"]), bulk("a"));
        assert_eq!(t.call(&["LINDEX", "k", "-4"]), NULL2);
        assert_eq!(t.call(&["LINDEX", "k", "3"]), NULL2);
        assert_eq!(t.call(&["LINDEX", "k", "-9223372036854775808"]), NULL2);
        assert_eq!(t.call(&["LINDEX", "k", "x"]), NOT_INT);
        assert_eq!(t.call(&["LINDEX", "missing", "x"]), NULL2, "key looked up before the index is parsed");
        t.call(&["SET", "s", "v"]);
        assert_eq!(t.call(&["LINDEX", "s", "x"]), WRONGTYPE);
        t.resp3();
        assert_eq!(t.call(&["LINDEX", "k", "5"]), NULL3);
    }

    #[test]
    fn lset_rules() {
        let mut t = T::new();
        assert_eq!(t.call(&["LSET", "missing", "0", "x"]), "-ERR no such key\r\n");
        assert_eq!(t.call(&["LSET", "missing", "x", "x"]), "-ERR no such key\r\n");
        t.call(&["RPUSH", "k", "a", "b", "c"]);
        assert_eq!(t.call(&["LSET", "k", "1", "B"]), OK);
        assert_eq!(t.call(&["LSET", "k", "-1", "C"]), OK);
        assert_eq!(t.list("k"), ["a", "B", "C"]);
        assert_eq!(t.call(&["LSET", "k", "3", "x"]), "-ERR index out of range\r\n");
        assert_eq!(t.call(&["LSET", "k", "-4", "x"]), "-ERR index out of range\r\n");
        assert_eq!(t.call(&["LSET", "k", "x", "x"]), NOT_INT);
        t.call(&["SET", "s", "v"]);
        assert_eq!(t.call(&["LSET", "s", "0", "x"]), WRONGTYPE);
    }

    #[test]
    fn lrem_directions_and_counts() {
        let mut t = T::new();
        let fill = |t: &mut T| {
            t.call(&["DEL", "k"]);
            t.call(&["RPUSH", "k", "x", "a", "x", "b", "x", "c", "x"]);
        };
        fill(&mut t);
        assert_eq!(t.call(&["LREM", "k", "2", "x"]), int(2));
        assert_eq!(t.list("k"), ["a", "b", "x", "c", "x"]);
        fill(&mut t);
        assert_eq!(t.call(&["LREM", "k", "-2", "x"]), int(2));
        assert_eq!(t.list("k"), ["x", "a", "x", "b", "c"]);
        fill(&mut t);
        assert_eq!(t.call(&["LREM", "k", "0", "x"]), int(4));
        assert_eq!(t.list("k"), ["a", "b", "c"]);
        fill(&mut t);
        assert_eq!(t.call(&["LREM", "k", "100", "x"]), int(4));
        fill(&mut t);
        assert_eq!(t.call(&["LREM", "k", "-9223372036854775808", "x"]), int(4), "7.0's overflow removes all");
        assert_eq!(t.call(&["LREM", "k", "1", "nothere"]), int(0));
        assert_eq!(t.call(&["LREM", "missing", "1", "x"]), int(0));
        assert_eq!(t.call(&["LREM", "missing", "y", "x"]), NOT_INT, "count parsed before the lookup");
        t.call(&["DEL", "k"]);
        t.call(&["RPUSH", "k", "x", "x"]);
        assert_eq!(t.call(&["LREM", "k", "0", "x"]), int(2));
        assert!(!t.exists("k"), "emptied by LREM: deleted");
        t.call(&["SET", "s", "v"]);
        assert_eq!(t.call(&["LREM", "s", "0", "x"]), WRONGTYPE);
    }

    #[test]
    fn ltrim_rules() {
        let mut t = T::new();
        t.call(&["RPUSH", "k", "a", "b", "c", "d", "e"]);
        assert_eq!(t.call(&["LTRIM", "k", "1", "-2"]), OK);
        assert_eq!(t.list("k"), ["b", "c", "d"]);
        assert_eq!(t.call(&["LTRIM", "k", "-100", "100"]), OK);
        assert_eq!(t.list("k"), ["b", "c", "d"]);
        assert_eq!(t.call(&["LTRIM", "k", "1", "1"]), OK);
        assert_eq!(t.list("k"), ["c"]);
        assert_eq!(t.call(&["LTRIM", "k", "2", "1"]), OK);
        assert!(!t.exists("k"), "an empty range deletes the key");
        assert_eq!(t.call(&["LTRIM", "missing", "0", "1"]), OK);
        assert_eq!(t.call(&["LTRIM", "missing", "a", "1"]), NOT_INT);
        t.call(&["SET", "s", "v"]);
        assert_eq!(t.call(&["LTRIM", "s", "0", "1"]), WRONGTYPE);
    }

    #[test]
    fn linsert_rules() {
        let mut t = T::new();
        assert_eq!(t.call(&["LINSERT", "missing", "BEFORE", "p", "x"]), int(0));
        assert_eq!(t.call(&["LINSERT", "missing", "MIDDLE", "p", "x"]), SYNTAX, "direction checked first");
        t.call(&["RPUSH", "k", "a", "p", "b", "p"]);
        assert_eq!(t.call(&["LINSERT", "k", "before", "p", "x"]), int(5));
        assert_eq!(t.call(&["LINSERT", "k", "AFTER", "p", "y"]), int(6));
        assert_eq!(t.list("k"), ["a", "x", "p", "y", "b", "p"]);
        assert_eq!(t.call(&["LINSERT", "k", "AFTER", "nothere", "y"]), int(-1));
        assert_eq!(t.call(&["LINSERT", "k", "AFTER", "b", "tail"]), int(7));
        t.call(&["SET", "s", "v"]);
        assert_eq!(t.call(&["LINSERT", "s", "AFTER", "p", "y"]), WRONGTYPE);
        assert_eq!(t.call(&["LINSERT", "s", "ASIDE", "p", "y"]), SYNTAX);
    }

    #[test]
    fn lpos_rank_count_maxlen() {
        let mut t = T::new();
        // index:                 0    1    2    3    4    5    6    7
        t.call(&["RPUSH", "k", "a", "b", "c", "1", "2", "3", "c", "c"]);
        assert_eq!(t.call(&["LPOS", "k", "c"]), int(2));
        assert_eq!(t.call(&["LPOS", "k", "c", "RANK", "2"]), int(6));
        assert_eq!(t.call(&["LPOS", "k", "c", "RANK", "-1"]), int(7));
        assert_eq!(t.call(&["LPOS", "k", "c", "RANK", "-3"]), int(2));
        assert_eq!(t.call(&["LPOS", "k", "c", "RANK", "4"]), NULL2);
        assert_eq!(t.call(&["LPOS", "k", "c", "COUNT", "2"]), ints(&[2, 6]));
        assert_eq!(t.call(&["LPOS", "k", "c", "COUNT", "0"]), ints(&[2, 6, 7]));
        assert_eq!(t.call(&["LPOS", "k", "c", "RANK", "-1", "COUNT", "2"]), ints(&[7, 6]));
        assert_eq!(t.call(&["LPOS", "k", "c", "RANK", "2", "COUNT", "0"]), ints(&[6, 7]));
        assert_eq!(t.call(&["LPOS", "k", "c", "COUNT", "0", "MAXLEN", "7"]), ints(&[2, 6]));
        assert_eq!(t.call(&["LPOS", "k", "c", "MAXLEN", "2"]), NULL2);
        assert_eq!(t.call(&["LPOS", "k", "c", "RANK", "-1", "MAXLEN", "1"]), int(7));
        assert_eq!(t.call(&["LPOS", "k", "z", "COUNT", "5"]), EMPTY);
        assert_eq!(t.call(&["lpos", "k", "c", "rank", "5", "rank", "1"]), int(2), "last RANK wins");
        assert_eq!(t.call(&["LPOS", "k", "c", "RANK", "-9223372036854775808"]), int(7), "7.0: acts as RANK -1");
        assert_eq!(t.call(&["LPOS", "missing", "c"]), NULL2);
        assert_eq!(t.call(&["LPOS", "missing", "c", "COUNT", "1"]), EMPTY);
        t.resp3();
        assert_eq!(t.call(&["LPOS", "missing", "c"]), NULL3);
        assert_eq!(t.call(&["LPOS", "k", "zz"]), NULL3);
    }

    #[test]
    fn lpos_errors() {
        let mut t = T::new();
        t.call(&["RPUSH", "k", "a"]);
        let rank0 = "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use \
                     negative to start from the end of the list\r\n";
        assert_eq!(t.call(&["LPOS", "k", "a", "RANK", "0"]), rank0);
        assert_eq!(t.call(&["LPOS", "k", "a", "RANK", "x"]), NOT_INT);
        assert_eq!(t.call(&["LPOS", "k", "a", "COUNT", "-1"]), "-ERR COUNT can't be negative\r\n");
        assert_eq!(t.call(&["LPOS", "k", "a", "COUNT", "x"]), "-ERR COUNT can't be negative\r\n");
        assert_eq!(t.call(&["LPOS", "k", "a", "MAXLEN", "-1"]), "-ERR MAXLEN can't be negative\r\n");
        assert_eq!(t.call(&["LPOS", "k", "a", "MAXLEN", "1.5"]), "-ERR MAXLEN can't be negative\r\n");
        assert_eq!(t.call(&["LPOS", "k", "a", "RANK"]), SYNTAX);
        assert_eq!(t.call(&["LPOS", "k", "a", "FOO", "1"]), SYNTAX);
        assert_eq!(t.call(&["LPOS", "missing", "a", "RANK", "0"]), rank0, "options parsed before the lookup");
        t.call(&["SET", "s", "v"]);
        assert_eq!(t.call(&["LPOS", "s", "a"]), WRONGTYPE);
    }

    #[test]
    fn lmove_all_directions() {
        let mut t = T::new();
        t.call(&["RPUSH", "src", "a", "b", "c"]);
        assert_eq!(t.call(&["LMOVE", "src", "dst", "LEFT", "RIGHT"]), bulk("a"));
        assert_eq!(t.call(&["LMOVE", "src", "dst", "right", "left"]), bulk("c"));
        assert_eq!(t.list("dst"), ["c", "a"]);
        assert_eq!(t.call(&["LMOVE", "src", "dst", "LEFT", "LEFT"]), bulk("b"));
        assert!(!t.exists("src"), "source emptied by the move is deleted");
        assert_eq!(t.list("dst"), ["b", "c", "a"]);
        assert_eq!(t.call(&["LMOVE", "src", "dst", "LEFT", "LEFT"]), NULL2);
        assert_eq!(t.call(&["RPOPLPUSH", "dst", "other"]), bulk("a"));
        assert_eq!(t.list("other"), ["a"]);
        assert_eq!(t.call(&["RPOPLPUSH", "nothing", "other"]), NULL2);
        t.resp3();
        assert_eq!(t.call(&["RPOPLPUSH", "nothing", "other"]), NULL3);
    }

    #[test]
    fn lmove_onto_itself_rotates() {
        let mut t = T::new();
        t.call(&["RPUSH", "k", "a", "b", "c"]);
        assert_eq!(t.call(&["LMOVE", "k", "k", "LEFT", "RIGHT"]), bulk("a"));
        assert_eq!(t.list("k"), ["b", "c", "a"]);
        assert_eq!(t.call(&["RPOPLPUSH", "k", "k"]), bulk("a"));
        assert_eq!(t.list("k"), ["a", "b", "c"]);
        t.call(&["DEL", "k"]);
        t.call(&["RPUSH", "k", "only"]);
        assert_eq!(t.call(&["RPOPLPUSH", "k", "k"]), bulk("only"));
        assert_eq!(t.list("k"), ["only"], "a one-element rotation keeps the key");
    }

    #[test]
    fn lmove_errors_change_nothing() {
        let mut t = T::new();
        t.call(&["RPUSH", "src", "a"]);
        t.call(&["SET", "s", "v"]);
        assert_eq!(t.call(&["LMOVE", "src", "dst", "UP", "LEFT"]), SYNTAX);
        assert_eq!(t.call(&["LMOVE", "src", "dst", "LEFT", "DOWN"]), SYNTAX);
        assert_eq!(t.call(&["LMOVE", "src", "s", "LEFT", "LEFT"]), WRONGTYPE);
        assert_eq!(t.list("src"), ["a"], "a wrong-typed destination pops nothing");
        assert_eq!(t.call(&["LMOVE", "s", "dst", "LEFT", "LEFT"]), WRONGTYPE);
        assert_eq!(t.call(&["LMOVE", "missing", "s", "LEFT", "LEFT"]), NULL2, "destination unchecked without source");
        assert_eq!(t.call(&["RPOPLPUSH", "src", "s"]), WRONGTYPE);
        assert!(!t.exists("dst"));
    }

    #[test]
    fn lmpop_replies() {
        let mut t = T::new();
        t.call(&["RPUSH", "b", "1", "2", "3"]);
        t.call(&["RPUSH", "c", "x"]);
        let want = |key: &str, items: &[&str]| format!("*2\r\n{}{}", bulk(key), arr(items));
        assert_eq!(t.call(&["LMPOP", "3", "a", "b", "c", "LEFT"]), want("b", &["1"]));
        assert_eq!(t.call(&["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "5"]), want("b", &["3", "2"]));
        assert!(!t.exists("b"));
        assert_eq!(t.call(&["lmpop", "2", "b", "c", "left", "count", "1"]), want("c", &["x"]));
        assert_eq!(t.call(&["LMPOP", "2", "b", "c", "LEFT"]), NULL_ARRAY2);
        t.resp3();
        assert_eq!(t.call(&["LMPOP", "1", "b", "LEFT"]), NULL3);
    }

    #[test]
    fn lmpop_errors() {
        let mut t = T::new();
        t.call(&["RPUSH", "k", "a"]);
        t.call(&["SET", "s", "v"]);
        let numkeys = "-ERR numkeys should be greater than 0\r\n";
        let count = "-ERR count should be greater than 0\r\n";
        assert_eq!(t.call(&["LMPOP", "0", "k", "LEFT"]), numkeys);
        assert_eq!(t.call(&["LMPOP", "-1", "k", "LEFT"]), numkeys);
        assert_eq!(t.call(&["LMPOP", "x", "k", "LEFT"]), numkeys);
        assert_eq!(t.call(&["LMPOP", "2", "k", "LEFT"]), SYNTAX, "numkeys runs past the arguments");
        assert_eq!(t.call(&["LMPOP", "9223372036854775807", "k", "LEFT"]), SYNTAX);
        assert_eq!(t.call(&["LMPOP", "1", "k", "MIDDLE"]), SYNTAX);
        assert_eq!(t.call(&["LMPOP", "1", "k", "LEFT", "COUNT", "0"]), count);
        assert_eq!(t.call(&["LMPOP", "1", "k", "LEFT", "COUNT", "x"]), count);
        assert_eq!(t.call(&["LMPOP", "1", "k", "LEFT", "COUNT"]), SYNTAX);
        assert_eq!(t.call(&["LMPOP", "1", "k", "LEFT", "COUNT", "1", "COUNT", "1"]), SYNTAX);
        assert_eq!(t.call(&["LMPOP", "1", "k"]), "-ERR wrong number of arguments for 'lmpop' command\r\n");
        assert_eq!(t.call(&["LMPOP", "2", "missing", "s", "LEFT"]), WRONGTYPE);
        assert_eq!(t.list("k"), ["a"], "no error pops anything");
        // A list before the wrong-typed key is served first.
        assert_eq!(t.call(&["LMPOP", "2", "k", "s", "LEFT"]), format!("*2\r\n{}{}", bulk("k"), arr(&["a"])));
    }

    #[test]
    fn parse_mpop_for_the_blocking_variant() {
        let argv: [&[u8]; 6] = [b"BLMPOP", b"0", b"2", b"a", b"b", b"RIGHT"];
        let args = parse_mpop(&argv, 2).unwrap();
        assert_eq!(args, MpopArgs { keys: &argv[3..5], end: End::Right, count: 1 });
        assert_eq!(parse_direction(b"LeFt"), Ok(End::Left));
        assert_eq!(parse_direction(b"left\0junk"), Ok(End::Left), "compared as a C string, like Redis");
        assert_eq!(parse_direction(b"up"), Err(CmdError::Syntax));
    }

    #[test]
    fn pop_n_caps_and_orders() {
        let mut l: VecDeque<Bytes> = ["a", "b", "c"].iter().map(|s| Bytes::from_static(s.as_bytes())).collect();
        assert_eq!(pop_n(&mut l, End::Right, 2), vec![Bytes::from_static(b"c"), Bytes::from_static(b"b")]);
        assert_eq!(pop_n(&mut l, End::Left, usize::MAX), vec![Bytes::from_static(b"a")]);
        assert!(pop_n(&mut l, End::Left, 1).is_empty());
    }

    #[test]
    fn wrong_type_everywhere_writes_nothing() {
        let mut t = T::new();
        t.call(&["SET", "s", "v"]);
        let dirty = t.dirty();
        for cmd in [
            &["LPUSH", "s", "a"][..],
            &["RPUSH", "s", "a"],
            &["LLEN", "s"],
            &["LPOS", "s", "a", "COUNT", "1"],
            &["LINSERT", "s", "BEFORE", "a", "b"],
            &["LMPOP", "1", "s", "RIGHT"],
        ] {
            assert_eq!(t.call(cmd), WRONGTYPE, "{cmd:?}");
        }
        assert_eq!(t.dirty(), dirty);
        assert_eq!(t.call(&["GET", "s"]), bulk("v"));
    }

    #[test]
    fn writes_count_as_changes_and_reads_as_hits() {
        let mut t = T::new();
        let d = t.dirty();
        t.call(&["RPUSH", "k", "a", "b", "c"]);
        assert_eq!(t.dirty(), d + 1);
        t.call(&["LMOVE", "k", "j", "LEFT", "LEFT"]);
        assert_eq!(t.dirty(), d + 3, "both keys are signalled");
        t.call(&["LREM", "k", "0", "nothere"]);
        t.call(&["LINSERT", "k", "BEFORE", "nothere", "x"]);
        t.call(&["LPUSHX", "missing", "x"]);
        assert_eq!(t.dirty(), d + 3, "no-ops write nothing");
        let (h, m) = (t.e.stats.keyspace_hits, t.e.stats.keyspace_misses);
        t.call(&["LRANGE", "k", "0", "-1"]);
        t.call(&["LLEN", "missing"]);
        t.call(&["LINDEX", "k", "0"]);
        t.call(&["LPOS", "missing", "a"]);
        assert_eq!((t.e.stats.keyspace_hits - h, t.e.stats.keyspace_misses - m), (2, 2));
    }

    #[test]
    fn expired_lists_are_gone() {
        let mut t = T::new();
        t.call(&["RPUSH", "k", "a"]);
        t.call(&["PEXPIRE", "k", "10"]);
        t.clock.advance_ms(11);
        assert_eq!(t.call(&["LLEN", "k"]), int(0));
        assert_eq!(t.call(&["LPUSHX", "k", "a"]), int(0));
        t.call(&["RPUSH", "k", "a"]);
        t.call(&["PEXPIRE", "k", "10"]);
        t.call(&["RPUSH", "k", "b"]);
        assert!(t.e.dbs[0].expire_at(b"k", T0 + 11).is_some(), "a push keeps the key's TTL");
    }
}
