//! Generic keyspace commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX, COPY, MOVE,
//! TOUCH, the EXPIRE family, the TTL family, PERSIST and OBJECT.
//!
//! These commands work on keys whatever their type, so they talk to [`Db`](super::db::Db) directly and never match on a value's
//! variant (except COPY, which must duplicate it).
//!
//! ```text
//!  argv --handler--> parse options (Redis's order, so the first error wins as in Redis)
//!       --> Db (every call takes now_ms: an expired key is deleted before it can be seen)
//!       --> Ctx::modified + Ctx::notify for each key written --> Reply
//! ```
//!
//! Replies and error texts follow Redis 7.0's `db.c`, `expire.c` and `object.c`. Simplifications against Redis,
//! each marked where it happens:
//! - No per-key access clock or LFU counter is kept (Redis keeps 24 bits of either in every object; adding one
//!   means touching every lookup in `db.rs`). So `OBJECT IDLETIME` answers 0 and, under an LFU
//!   `maxmemory-policy`, `OBJECT FREQ` answers 5 (Redis's `LFU_INIT_VAL`): every key looks freshly created. The
//!   errors Redis gives when the policy does not track one or the other are kept, so under the default
//!   `noeviction` IDLETIME answers and FREQ errors, as in Redis. TOUCH only counts keys.
//! - `UNLINK` frees memory synchronously, exactly like `DEL`: there is no background free thread.
//! - A `keymiss` keyspace event is not published on read misses (no such notification class here yet).

use super::cmd::{flag::*, sanitize, Command};
use super::connection::container;
use super::dict::Key;
use super::error::{err, CmdError, CmdResult};
use super::exec::{Ctx, Engine, Notify};
use super::glob::glob_match;
use super::num::parse_i64;
use super::value::{HashValue, SetValue, Value, HASH_MAX_LISTPACK_VALUE};
use super::zset::ZSet;

/// MOVE and COPY onto the very same key (Redis's `shared.sameobjecterr`).
const SAME_OBJECT: CmdError = err("ERR source and destination objects are the same");

/// Redis's `OBJECT FREQ` error when the eviction policy is not an LFU one (the default `noeviction` is not).
const FREQ_NOT_TRACKED: CmdError = err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");

/// Redis's `OBJECT IDLETIME` error under an LFU eviction policy.
const IDLETIME_NOT_TRACKED: CmdError = err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");

/// What Redis's LFU counter starts at for a new key (`LFU_INIT_VAL`); see the module docs.
const LFU_INIT_VAL: i64 = 5;

/// `SCAN` without `COUNT` (Redis's default in `scanGenericCommand`).
const SCAN_DEFAULT_COUNT: usize = 10;

/// Redis shares one object for each integer string in `0..10000` (`OBJ_SHARED_INTEGERS`) unless a `maxmemory`
/// limit with an LRU/LFU policy needs per-object access data; `OBJECT REFCOUNT` then reports `OBJ_SHARED_REFCOUNT`
/// (`INT_MAX`) for them.
const SHARED_INTEGERS: i64 = 10_000;
const SHARED_REFCOUNT: i64 = i32::MAX as i64;

pub static COMMANDS: &[Command] = &[
    Command::new(
        "del",
        -2,
        WRITE,
        (1, -1, 1),
        "generic",
        "1.0.0",
        "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).",
        "Delete a key",
        "key [key ...]",
        del,
    )
    .with_acl("@keyspace"),
    Command::new(
        "unlink",
        -2,
        WRITE | FAST,
        (1, -1, 1),
        "generic",
        "4.0.0",
        "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.",
        "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
        "key [key ...]",
        del,
    )
    .with_acl("@keyspace"),
    Command::new(
        "exists",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        "generic",
        "1.0.0",
        "O(N) where N is the number of keys to check.",
        "Determine if a key exists",
        "key [key ...]",
        exists,
    )
    .with_acl("@keyspace"),
    Command::new(
        "type",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "1.0.0",
        "O(1)",
        "Determine the type stored at key",
        "key",
        type_cmd,
    )
    .with_acl("@keyspace"),
    Command::new(
        "keys",
        2,
        READONLY,
        (0, 0, 0),
        "generic",
        "1.0.0",
        "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
        "Find all keys matching the given pattern",
        "pattern",
        keys,
    )
    .with_acl("@keyspace @dangerous"),
    Command::new(
        "scan",
        -2,
        READONLY,
        (0, 0, 0),
        "generic",
        "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
        "Incrementally iterate the keys space",
        "cursor:integer [MATCH pattern] [COUNT count:integer] [TYPE type]",
        scan,
    )
    .with_acl("@keyspace"),
    Command::new(
        "randomkey",
        1,
        READONLY,
        (0, 0, 0),
        "generic",
        "1.0.0",
        "O(1)",
        "Return a random key from the keyspace",
        "",
        randomkey,
    )
    .with_acl("@keyspace"),
    Command::new(
        "rename",
        3,
        WRITE,
        (1, 2, 1),
        "generic",
        "1.0.0",
        "O(1)",
        "Rename a key",
        "key newkey",
        rename,
    )
    .with_acl("@keyspace"),
    Command::new(
        "renamenx",
        3,
        WRITE | FAST,
        (1, 2, 1),
        "generic",
        "1.0.0",
        "O(1)",
        "Rename a key, only if the new key does not exist",
        "key newkey",
        renamenx,
    )
    .with_acl("@keyspace"),
    Command::new(
        "copy",
        -3,
        WRITE | DENYOOM,
        (1, 2, 1),
        "generic",
        "6.2.0",
        "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
        "Copy a key",
        "source destination [DB destination-db:integer] [REPLACE]",
        copy,
    )
    .with_acl("@keyspace"),
    Command::new(
        "move",
        3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "1.0.0",
        "O(1)",
        "Move a key to another database",
        "key db:integer",
        move_cmd,
    )
    .with_acl("@keyspace"),
    Command::new(
        "touch",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        "generic",
        "3.2.1",
        "O(N) where N is the number of keys that will be touched.",
        "Alters the last access time of a key(s). Returns the number of existing keys specified.",
        "key [key ...]",
        touch,
    )
    .with_acl("@keyspace"),
    Command::new(
        "expire",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "1.0.0",
        "O(1)",
        "Set a key's time to live in seconds",
        "key seconds:integer [NX|XX|GT|LT]",
        expire,
    )
    .with_acl("@keyspace"),
    Command::new(
        "pexpire",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "2.6.0",
        "O(1)",
        "Set a key's time to live in milliseconds",
        "key milliseconds:integer [NX|XX|GT|LT]",
        pexpire,
    )
    .with_acl("@keyspace"),
    Command::new(
        "expireat",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "1.2.0",
        "O(1)",
        "Set the expiration for a key as a UNIX timestamp",
        "key unix-time-seconds:unix-time [NX|XX|GT|LT]",
        expireat,
    )
    .with_acl("@keyspace"),
    Command::new(
        "pexpireat",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "2.6.0",
        "O(1)",
        "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        "key unix-time-milliseconds:unix-time [NX|XX|GT|LT]",
        pexpireat,
    )
    .with_acl("@keyspace"),
    Command::new(
        "ttl",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "1.0.0",
        "O(1)",
        "Get the time to live for a key in seconds",
        "key",
        ttl,
    )
    .with_acl("@keyspace"),
    Command::new(
        "pttl",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "2.6.0",
        "O(1)",
        "Get the time to live for a key in milliseconds",
        "key",
        pttl,
    )
    .with_acl("@keyspace"),
    Command::new(
        "expiretime",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "7.0.0",
        "O(1)",
        "Get the expiration Unix timestamp for a key",
        "key",
        expiretime,
    )
    .with_acl("@keyspace"),
    Command::new(
        "pexpiretime",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "7.0.0",
        "O(1)",
        "Get the expiration Unix timestamp for a key in milliseconds",
        "key",
        pexpiretime,
    )
    .with_acl("@keyspace"),
    Command::new(
        "persist",
        2,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "2.2.0",
        "O(1)",
        "Remove the expiration from a key",
        "key",
        persist,
    )
    .with_acl("@keyspace"),
    // Redis gives the container itself no categories beyond @slow, and no flags.
    Command::new(
        "object",
        -2,
        0,
        (0, 0, 0),
        "generic",
        "2.2.3",
        "Depends on subcommand.",
        "A container for object introspection commands",
        "",
        container,
    )
    .with_subcommands(OBJECT),
];

static OBJECT: &[Command] = &[
    Command::new(
        "object|encoding",
        3,
        READONLY,
        (2, 2, 1),
        "generic",
        "2.2.3",
        "O(1)",
        "Inspect the internal encoding of a Redis object",
        "key",
        object_encoding,
    )
    .with_acl("@keyspace"),
    Command::new(
        "object|freq",
        3,
        READONLY,
        (2, 2, 1),
        "generic",
        "4.0.0",
        "O(1)",
        "Get the logarithmic access frequency counter of a Redis object",
        "key",
        object_freq,
    )
    .with_acl("@keyspace"),
    Command::new(
        "object|idletime",
        3,
        READONLY,
        (2, 2, 1),
        "generic",
        "2.2.3",
        "O(1)",
        "Get the time since a Redis object was last accessed",
        "key",
        object_idletime,
    )
    .with_acl("@keyspace"),
    Command::new(
        "object|refcount",
        3,
        READONLY,
        (2, 2, 1),
        "generic",
        "2.2.3",
        "O(1)",
        "Get the number of references to the value of the key",
        "key",
        object_refcount,
    )
    .with_acl("@keyspace"),
    Command::new(
        "object|help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "generic",
        "6.2.0",
        "O(1)",
        "Show helpful text about the different subcommands",
        "",
        object_help,
    )
    .with_acl("@keyspace"),
];

/// `OBJECT HELP`, as Redis 7.0's `objectCommand` words it (the header and the `HELP` lines are `addReplyHelp`'s).
const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Print this help.",
];

/// Redis's `lookupKeyRead`: the live value under `key`, counting a keyspace hit or miss for `INFO stats`. Write
/// paths use [`Db::contains`](super::db::Db::contains) instead, which (like Redis's `lookupKeyWrite`) counts neither.
fn lookup_read<'e>(engine: &'e mut Engine, db: usize, key: &[u8], now_ms: u64) -> Option<&'e Value> {
    let value = engine.dbs[db].get(key, now_ms);
    if value.is_some() {
        engine.stats.keyspace_hits += 1;
    } else {
        engine.stats.keyspace_misses += 1;
    }
    value
}

/// DEL and UNLINK. Simplification: UNLINK frees synchronously; Redis hands large values to a background thread.
fn del(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    let mut deleted = 0;
    for &key in &argv[1..] {
        if cx.engine.dbs[db].remove(key, now).is_some() {
            cx.modified(db, key);
            cx.notify(Notify::Generic, "del", db, key);
            deleted += 1;
        }
    }
    cx.reply.int(deleted);
    Ok(())
}

/// EXISTS: a key named twice counts twice, as in Redis.
fn exists(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    let count = argv[1..].iter().filter(|key| lookup_read(cx.engine, db, key, now).is_some()).count();
    cx.reply.int(count as i64);
    Ok(())
}

/// TOUCH: Redis updates each key's LRU clock; with no access clock here it only counts the live keys.
fn touch(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    exists(cx, argv)
}

fn type_cmd(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    let name = lookup_read(cx.engine, db, argv[1], now).map_or("none", Value::type_name);
    cx.reply.simple(name);
    Ok(())
}

/// KEYS: one O(n) pass over the keyspace, skipping (not deleting) expired keys, as Redis does. `*` short-cuts the
/// matcher, which matters beyond speed: the glob `*` does not match the empty key, but `KEYS *` lists it.
fn keys(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let pattern = argv[1];
    let all = pattern == b"*";
    let now = cx.now_ms;
    let db = &cx.engine.dbs[cx.db];
    let matched: Vec<&[u8]> =
        db.iter(now).map(|(key, _)| key).filter(|key| all || glob_match(pattern, key, false)).collect();
    cx.reply.array(matched.len());
    for key in matched {
        cx.reply.bulk(key);
    }
    Ok(())
}

/// Parses a SCAN cursor the way Redis's `parseScanCursorOrReply` does with `strtoul`: the argument is read as a C
/// string (up to its first NUL byte), may not start with white space, takes an optional sign (a negative cursor
/// wraps, as `strtoul` does), and must be all digits after it, without overflowing 64 bits. The empty string is
/// cursor 0. Shared by `SCAN` and the per-type scans (`ZSCAN`, ...).
pub(crate) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let text = arg.split(|&b| b == 0).next().unwrap_or_default();
    let (negative, digits) = match text.first() {
        None => return Some(0),
        // C's isspace() in the "C" locale.
        Some(b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') => return None,
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        Some(_) => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(if negative { value.wrapping_neg() } else { value })
}

/// The options after a scan cursor: `[MATCH pattern] [COUNT count] [TYPE type]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanOpts<'a> {
    /// Roughly how many entries to return per call (a hint, as in Redis).
    pub count: usize,
    /// `None` when there is no pattern or the pattern is exactly `*`.
    pub pattern: Option<&'a [u8]>,
    /// `TYPE`: only for the keyspace `SCAN`.
    pub type_name: Option<&'a [u8]>,
}

/// Redis's `scanGenericCommand` step 1, shared by `SCAN` and the per-type scans: parses `opts` (the arguments after
/// the cursor) in Redis's order, so the first error wins as in Redis. `TYPE` is accepted only when `keyspace` (Redis
/// accepts it only when no object is being scanned); elsewhere it is a syntax error.
pub(crate) fn parse_scan_opts<'a>(opts: &[&'a [u8]], keyspace: bool) -> Result<ScanOpts<'a>, CmdError> {
    let mut o = ScanOpts { count: SCAN_DEFAULT_COUNT, pattern: None, type_name: None };
    let mut i = 0;
    while i < opts.len() {
        let has_value = opts.len() - i >= 2;
        let opt = opts[i];
        if opt.eq_ignore_ascii_case(b"count") && has_value {
            let n = parse_i64(opts[i + 1]).ok_or(CmdError::NotInteger)?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            o.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if opt.eq_ignore_ascii_case(b"match") && has_value {
            // Exactly "*" matches everything, so Redis switches matching off (and so lists the empty key).
            o.pattern = Some(opts[i + 1]).filter(|p| *p != b"*");
        } else if keyspace && opt.eq_ignore_ascii_case(b"type") && has_value {
            o.type_name = Some(opts[i + 1]);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(o)
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: options are parsed before any work, in Redis's order, and
/// [`Db::scan`](super::db::Db::scan) does the cursor walk, whose guarantee (every key present for the whole iteration is returned at
/// least once, across resizes) comes from `Dict::scan`.
fn scan(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(argv[1]).ok_or(err("ERR invalid cursor"))?;
    let ScanOpts { count, pattern, type_name } = parse_scan_opts(&argv[2..], true)?;
    let now = cx.now_ms;
    let mut found: Vec<Key> = Vec::new();
    let next = cx.engine.dbs[cx.db].scan(cursor, count, now, |key, value| {
        if pattern.is_some_and(|p| !glob_match(p, key, false)) {
            return;
        }
        // Redis compares type names with strcasecmp.
        if type_name.is_some_and(|t| !value.type_name().as_bytes().eq_ignore_ascii_case(t)) {
            return;
        }
        found.push(Key::from_slice(key));
    });
    let mut digits = itoa::Buffer::new();
    cx.reply.array(2);
    cx.reply.bulk(digits.format(next).as_bytes());
    cx.reply.array(found.len());
    for key in &found {
        cx.reply.bulk(key.as_bytes());
    }
    Ok(())
}

fn randomkey(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    let now = cx.now_ms;
    match cx.db().random_key(now) {
        Some(key) => cx.reply.bulk(key.as_bytes()),
        None => cx.reply.null(),
    }
    Ok(())
}

fn rename(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    rename_generic(cx, argv, false)
}

fn renamenx(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    rename_generic(cx, argv, true)
}

/// Redis's `renameGenericCommand`: a missing source is an error even when both names are the same; renaming a key
/// to itself changes nothing (RENAME replies OK, RENAMENX 0). The destination's old value and TTL are replaced
/// without a `del` event, as in Redis.
fn rename_generic(cx: &mut Ctx<'_>, argv: &[&[u8]], nx: bool) -> CmdResult {
    let (from, to) = (argv[1], argv[2]);
    let (db, now) = (cx.db, cx.now_ms);
    let store = &mut cx.engine.dbs[db];
    if !store.contains(from, now) {
        return Err(CmdError::NoSuchKey);
    }
    if from == to {
        if nx {
            cx.reply.int(0);
        } else {
            cx.reply.ok();
        }
        return Ok(());
    }
    if nx && store.contains(to, now) {
        cx.reply.int(0);
        return Ok(());
    }
    store.rename(from, to, now);
    cx.modified(db, from);
    cx.modified(db, to);
    cx.notify(Notify::Generic, "rename_from", db, from);
    cx.notify(Notify::Generic, "rename_to", db, to);
    if nx {
        cx.reply.int(1);
    } else {
        cx.reply.ok();
    }
    Ok(())
}

/// A database index argument of MOVE and COPY, with Redis's `getIntFromObjectOrReply` errors, then
/// `selectDb`'s range check.
fn parse_db_index(engine: &Engine, arg: &[u8]) -> Result<usize, CmdError> {
    let n = parse_i64(arg).ok_or(CmdError::NotInteger)?;
    if i32::try_from(n).is_err() {
        return Err(CmdError::msg(format!(
            "ERR value is out of range, value must between {} and {}",
            i32::MIN,
            i32::MAX
        )));
    }
    usize::try_from(n).ok().filter(|&i| i < engine.dbs.len()).ok_or(CmdError::DbIndexOutOfRange)
}

/// COPY source destination [DB destination-db] [REPLACE], after Redis's `copyCommand`. Only the destination is
/// written, so only it is signalled (`copy_to`); the source is read like any read command.
fn copy(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (src_key, dst_key) = (argv[1], argv[2]);
    let src = cx.db;
    let mut dst = cx.db;
    let mut replace = false;
    let mut j = 3;
    while j < argv.len() {
        if argv[j].eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if argv[j].eq_ignore_ascii_case(b"db") && j + 1 < argv.len() {
            dst = parse_db_index(cx.engine, argv[j + 1])?;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if src == dst && src_key == dst_key {
        return Err(SAME_OBJECT);
    }
    let now = cx.now_ms;
    if lookup_read(cx.engine, src, src_key, now).is_none() {
        cx.reply.int(0);
        return Ok(());
    }
    let expire = cx.engine.dbs[src].expire_at(src_key, now);
    // Checked before duplicating, so a refused COPY of a large value costs nothing.
    if cx.engine.dbs[dst].contains(dst_key, now) && !replace {
        cx.reply.int(0);
        return Ok(());
    }
    let Some(value) = cx.engine.dbs[src].peek(src_key, now).map(duplicate) else {
        cx.reply.int(0);
        return Ok(());
    };
    let target = &mut cx.engine.dbs[dst];
    target.insert(dst_key, value, now);
    if let Some(at) = expire {
        target.set_expire(dst_key, at, now);
    }
    cx.modified(dst, dst_key);
    cx.notify(Notify::Generic, "copy_to", dst, dst_key);
    cx.reply.int(1);
    Ok(())
}

/// A deep copy of a value (Redis's `dupStringObject`, `listTypeDup`, `hashTypeDup`, `setTypeDup`, `zsetDup`),
/// keeping the encoding `OBJECT ENCODING` reports. List elements and large strings are immutable `Bytes`, so the
/// copy shares their buffers; every later edit replaces or copies them.
fn duplicate(value: &Value) -> Value {
    match value {
        Value::Str(s) => Value::Str(s.clone()),
        Value::List(list) => Value::List(list.clone()),
        Value::Hash(hash) => {
            let mut copy = HashValue::new();
            for (field, v) in hash.iter() {
                copy.insert(field, v.clone());
            }
            if copy.encoding() != hash.encoding() {
                // The source once outgrew a listpack and kept the hashtable encoding after shrinking; Redis's copy
                // keeps it too. The encoding flag is sticky and set only by the listpack rules, so trip them with a
                // field longer than any listpack field: an unpromoted copy cannot already hold one.
                let probe = [0u8; HASH_MAX_LISTPACK_VALUE + 1];
                copy.insert(&probe, super::value::Str::empty());
                copy.remove(&probe);
            }
            Value::Hash(Box::new(copy))
        }
        Value::Set(set) => {
            let mut copy = SetValue::new();
            for member in set.iter() {
                copy.insert(member);
            }
            if copy.encoding() != set.encoding() {
                // As for hashes: an intset holds only integers, so a non-integer probe is never a member.
                copy.insert(b"x");
                copy.remove(b"x");
            }
            Value::Set(Box::new(copy))
        }
        Value::ZSet(zset) => {
            let mut copy = ZSet::new();
            for (member, score) in zset.iter() {
                copy.insert(member, score);
            }
            if copy.encoding() != zset.encoding() {
                let probe = [0u8; super::zset::MAX_LISTPACK_VALUE + 1];
                copy.insert(&probe, 0.0);
                copy.remove(&probe);
            }
            Value::ZSet(Box::new(copy))
        }
    }
}

/// MOVE key db, after Redis's `moveCommand`: the value and its TTL leave this database for the other one, unless
/// the key already exists there.
fn move_cmd(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let src = cx.db;
    let dst = parse_db_index(cx.engine, argv[2])?;
    if src == dst {
        return Err(SAME_OBJECT);
    }
    let now = cx.now_ms;
    if !cx.engine.dbs[src].contains(key, now) {
        cx.reply.int(0);
        return Ok(());
    }
    let expire = cx.engine.dbs[src].expire_at(key, now);
    if cx.engine.dbs[dst].contains(key, now) {
        cx.reply.int(0);
        return Ok(());
    }
    let Some(value) = cx.engine.dbs[src].remove(key, now) else {
        cx.reply.int(0);
        return Ok(());
    };
    let target = &mut cx.engine.dbs[dst];
    target.insert(key, value, now);
    if let Some(at) = expire {
        target.set_expire(key, at, now);
    }
    cx.modified(src, key);
    cx.modified(dst, key);
    cx.notify(Notify::Generic, "move_from", src, key);
    cx.notify(Notify::Generic, "move_to", dst, key);
    cx.reply.int(1);
    Ok(())
}

/// The NX/XX/GT/LT options of the EXPIRE family.
#[derive(Clone, Copy, Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// Redis's `parseExtendedExpireArgumentsOrReply`: options come after the time and are checked before it is parsed.
fn parse_expire_flags(opts: &[&[u8]]) -> Result<ExpireFlags, CmdError> {
    let mut f = ExpireFlags::default();
    for &opt in opts {
        if opt.eq_ignore_ascii_case(b"nx") {
            f.nx = true;
        } else if opt.eq_ignore_ascii_case(b"xx") {
            f.xx = true;
        } else if opt.eq_ignore_ascii_case(b"gt") {
            f.gt = true;
        } else if opt.eq_ignore_ascii_case(b"lt") {
            f.lt = true;
        } else {
            return Err(CmdError::msg(format!("ERR Unsupported option {}", sanitize(opt, opt.len()))));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(err("ERR NX and XX, GT or LT options at the same time are not compatible"));
    }
    if f.gt && f.lt {
        return Err(err("ERR GT and LT options at the same time are not compatible"));
    }
    Ok(f)
}

fn expire(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let now = cx.now_ms;
    expire_generic(cx, argv, now, true, "expire")
}

fn pexpire(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let now = cx.now_ms;
    expire_generic(cx, argv, now, false, "pexpire")
}

fn expireat(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    expire_generic(cx, argv, 0, true, "expireat")
}

fn pexpireat(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    expire_generic(cx, argv, 0, false, "pexpireat")
}

/// Redis's `expireGenericCommand`. `base_ms` is now for the relative forms and 0 for the `AT` forms; `seconds`
/// says the argument is in seconds. The deadline is computed in signed milliseconds exactly as Redis does, so
/// negative and past times are allowed, and only overflow is an error. A deadline not after now deletes the key
/// (event `del`, as Redis rewrites the command to a DEL); otherwise the TTL is set (event `expire`).
///
/// GT and LT treat a key without a TTL as having an infinite one: GT never succeeds on it, LT always does.
fn expire_generic(cx: &mut Ctx<'_>, argv: &[&[u8]], base_ms: u64, seconds: bool, name: &'static str) -> CmdResult {
    let key = argv[1];
    let flags = parse_expire_flags(&argv[3..])?;
    let mut when = parse_i64(argv[2]).ok_or(CmdError::NotInteger)?;
    if seconds {
        when = when.checked_mul(1000).ok_or(CmdError::InvalidExpire(name))?;
    }
    // Unix milliseconds fit an i64 for the next 290 million years.
    let base = i64::try_from(base_ms).unwrap_or(i64::MAX);
    when = when.checked_add(base).ok_or(CmdError::InvalidExpire(name))?;

    let (db, now) = (cx.db, cx.now_ms);
    let store = &mut cx.engine.dbs[db];
    if !store.contains(key, now) {
        cx.reply.int(0);
        return Ok(());
    }
    let current = store.expire_at(key, now).map(|at| i64::try_from(at).unwrap_or(i64::MAX));
    let refused = (flags.nx && current.is_some())
        || (flags.xx && current.is_none())
        || (flags.gt && current.map_or(true, |cur| when <= cur))
        || (flags.lt && current.is_some_and(|cur| when >= cur));
    if refused {
        cx.reply.int(0);
        return Ok(());
    }
    let now_signed = i64::try_from(now).unwrap_or(i64::MAX);
    if when <= now_signed {
        store.remove(key, now);
        cx.modified(db, key);
        cx.notify(Notify::Generic, "del", db, key);
    } else {
        // `when > now >= 0` here, so the cast is exact.
        store.set_expire(key, when as u64, now);
        cx.modified(db, key);
        cx.notify(Notify::Generic, "expire", db, key);
    }
    cx.reply.int(1);
    Ok(())
}

fn ttl(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(cx, argv, false, false)
}

fn pttl(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(cx, argv, true, false)
}

fn expiretime(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(cx, argv, false, true)
}

fn pexpiretime(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(cx, argv, true, true)
}

/// Redis's `ttlGenericCommand`: -2 for no key, -1 for no TTL, else the remaining (or absolute) time. Seconds are
/// rounded to nearest (`(ms + 500) / 1000`), so a key with 1.5 s left reports a TTL of 2.
fn ttl_generic(cx: &mut Ctx<'_>, argv: &[&[u8]], millis: bool, absolute: bool) -> CmdResult {
    let key = argv[1];
    let (db, now) = (cx.db, cx.now_ms);
    if lookup_read(cx.engine, db, key, now).is_none() {
        cx.reply.int(-2);
        return Ok(());
    }
    let Some(at) = cx.engine.dbs[db].expire_at(key, now) else {
        cx.reply.int(-1);
        return Ok(());
    };
    let at = i64::try_from(at).unwrap_or(i64::MAX);
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let ms = if absolute { at } else { at - now }.max(0);
    // Saturating where Redis's C arithmetic would overflow (a deadline within 500 ms of i64::MAX).
    cx.reply.int(if millis { ms } else { ms.saturating_add(500) / 1000 });
    Ok(())
}

fn persist(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let (db, now) = (cx.db, cx.now_ms);
    let store = &mut cx.engine.dbs[db];
    if store.contains(key, now) && store.persist(key, now) {
        cx.modified(db, key);
        cx.notify(Notify::Generic, "persist", db, key);
        cx.reply.int(1);
    } else {
        cx.reply.int(0);
    }
    Ok(())
}

fn object_encoding(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    match lookup_read(cx.engine, db, argv[2], now).map(Value::encoding) {
        Some(encoding) => cx.reply.bulk(encoding.as_bytes()),
        None => cx.reply.null(),
    }
    Ok(())
}

/// True under an LFU `maxmemory-policy` (Redis's `MAXMEMORY_FLAG_LFU`).
fn lfu_policy(engine: &Engine) -> bool {
    engine.config.maxmemory_policy().ends_with("-lfu")
}

/// Whether Redis would store small integers as its shared objects: unless a `maxmemory` limit is set with an LRU or
/// LFU policy (`MAXMEMORY_FLAG_NO_SHARED_INTEGERS`), which needs an access clock in each object. Simplification:
/// Redis decides when the value is written; this asks the current configuration.
fn shares_integers(engine: &Engine) -> bool {
    let policy = engine.config.maxmemory_policy();
    engine.config.maxmemory() == 0 || !(policy.ends_with("-lru") || policy.ends_with("-lfu"))
}

/// What Redis 7.0 reports as a value's reference count. Nothing is shared here, so the answer is 1, except for
/// the strings Redis *would* share: integers in `0..10000` point to one of its preallocated shared objects, whose
/// count is pinned at `INT_MAX`.
fn refcount(value: &Value, shared_integers: bool) -> i64 {
    match value.as_str() {
        Some(s)
            if shared_integers
                && s.encoding() == "int"
                && s.as_i64().is_some_and(|n| (0..SHARED_INTEGERS).contains(&n)) =>
        {
            SHARED_REFCOUNT
        }
        _ => 1,
    }
}

fn object_refcount(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    let shared = shares_integers(cx.engine);
    match lookup_read(cx.engine, db, argv[2], now).map(|v| refcount(v, shared)) {
        Some(n) => cx.reply.int(n),
        None => cx.reply.null(),
    }
    Ok(())
}

/// The key is looked up first (a missing key is a null even when the policy would refuse), then the policy is
/// checked, as in Redis. Simplification: the idle time is always 0 (see the module docs).
fn object_idletime(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    if lookup_read(cx.engine, db, argv[2], now).is_none() {
        cx.reply.null();
        return Ok(());
    }
    if lfu_policy(cx.engine) {
        return Err(IDLETIME_NOT_TRACKED);
    }
    cx.reply.int(0);
    Ok(())
}

/// FREQ is only answered under an LFU policy; under the default `noeviction` an existing key gets Redis's error.
/// Simplification: the counter is always Redis's initial value (see the module docs).
fn object_freq(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    if lookup_read(cx.engine, db, argv[2], now).is_none() {
        cx.reply.null();
        return Ok(());
    }
    if !lfu_policy(cx.engine) {
        return Err(FREQ_NOT_TRACKED);
    }
    cx.reply.int(LFU_INIT_VAL);
    Ok(())
}

fn object_help(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    cx.reply.array(OBJECT_HELP.len());
    for line in OBJECT_HELP {
        cx.reply.simple(line);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::clock::{Clock, ManualClock};
    use crate::kv::config::Config;
    use crate::kv::value::Str;
    use bytes::Bytes;
    use std::collections::{HashSet, VecDeque};
    use std::sync::Arc;

    const T0: u64 = 1_700_000_000_000;

    /// An engine with one client and a clock the test moves.
    struct Harness {
        engine: Engine,
        client: usize,
        clock: ManualClock,
    }

    impl Harness {
        fn new() -> Self {
            let clock = ManualClock::new(T0);
            let mut engine = Engine::new(Config::new(), Arc::new(clock.clone()));
            let client = engine.add_client(0);
            Harness { engine, client, clock }
        }

        /// Runs a command given as raw arguments; returns the raw reply.
        fn call(&mut self, argv: &[&[u8]]) -> Vec<u8> {
            self.engine.call(self.client, argv)
        }

        /// Runs a command written as space-separated words; returns the reply as text.
        fn cmd(&mut self, line: &str) -> String {
            let argv: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
            String::from_utf8_lossy(&self.call(&argv)).into_owned()
        }

        fn now(&self) -> u64 {
            self.clock.now_ms()
        }

        fn put(&mut self, db: usize, key: &[u8], value: Value) {
            let now = self.now();
            self.engine.dbs[db].insert(key, value, now);
        }

        fn set(&mut self, db: usize, key: &str, value: &str) {
            self.put(db, key.as_bytes(), Value::str(value.as_bytes()));
        }

        fn dirty(&self) -> u64 {
            self.engine.stats.dirty
        }
    }

    fn list(items: &[&str]) -> Value {
        Value::List(Box::new(items.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect::<VecDeque<_>>()))
    }

    fn hash(pairs: &[(&str, &str)]) -> Value {
        let mut h = HashValue::new();
        for (f, v) in pairs {
            h.insert(f.as_bytes(), Str::from(v.as_bytes()));
        }
        Value::Hash(Box::new(h))
    }

    fn set_of(members: &[&str]) -> Value {
        let mut s = SetValue::new();
        for m in members {
            s.insert(m.as_bytes());
        }
        Value::Set(Box::new(s))
    }

    fn zset(pairs: &[(&str, f64)]) -> Value {
        let mut z = ZSet::new();
        for (m, score) in pairs {
            z.insert(m.as_bytes(), *score);
        }
        Value::ZSet(Box::new(z))
    }

    /// A parsed reply: just enough RESP2 for these tests.
    #[derive(Debug, PartialEq)]
    enum R {
        Bulk(Vec<u8>),
        Array(Vec<R>),
        Line(Vec<u8>),
    }

    fn parse_one(b: &[u8]) -> (R, &[u8]) {
        let end = b.windows(2).position(|w| w == b"\r\n").expect("CRLF");
        let head = std::str::from_utf8(&b[1..end]).expect("ascii header");
        let rest = &b[end + 2..];
        match b[0] {
            b'$' => {
                let n: usize = head.parse().expect("bulk length");
                (R::Bulk(rest[..n].to_vec()), &rest[n + 2..])
            }
            b'*' => {
                let n: usize = head.parse().expect("array length");
                let mut items = Vec::new();
                let mut rest = rest;
                for _ in 0..n {
                    let (item, more) = parse_one(rest);
                    items.push(item);
                    rest = more;
                }
                (R::Array(items), rest)
            }
            _ => (R::Line(b[..end].to_vec()), rest),
        }
    }

    fn parse(b: &[u8]) -> R {
        let (r, rest) = parse_one(b);
        assert!(rest.is_empty(), "trailing bytes: {:?}", rest.escape_ascii().to_string());
        r
    }

    /// The elements of an array of bulk strings, sorted (KEYS order is hash order).
    fn sorted_bulks(r: R) -> Vec<Vec<u8>> {
        let R::Array(items) = r else { panic!("not an array: {r:?}") };
        let mut out: Vec<Vec<u8>> = items
            .into_iter()
            .map(|i| match i {
                R::Bulk(b) => b,
                other => panic!("not a bulk: {other:?}"),
            })
            .collect();
        out.sort();
        out
    }

    /// `[cursor, [keys]]` from a SCAN reply.
    fn scan_reply(bytes: &[u8]) -> (String, Vec<Vec<u8>>) {
        let R::Array(mut parts) = parse(bytes) else { panic!("not an array") };
        assert_eq!(parts.len(), 2);
        let keys = sorted_bulks(parts.pop().expect("keys"));
        let R::Bulk(cursor) = parts.pop().expect("cursor") else { panic!("cursor is not a bulk") };
        (String::from_utf8(cursor).expect("ascii cursor"), keys)
    }

    fn strs(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn table_has_every_generic_command() {
        let table = crate::kv::cmd::Table::get();
        for name in [
            "del",
            "unlink",
            "exists",
            "type",
            "keys",
            "scan",
            "randomkey",
            "rename",
            "renamenx",
            "copy",
            "move",
            "touch",
            "expire",
            "pexpire",
            "expireat",
            "pexpireat",
            "ttl",
            "pttl",
            "expiretime",
            "pexpiretime",
            "persist",
            "object",
        ] {
            let cmd = table.lookup(name.as_bytes()).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(cmd.group, "generic", "{name}");
            if name != "object" {
                assert!(cmd.acl.contains("@keyspace"), "{name}");
            }
        }
        let object = table.lookup(b"object").expect("object");
        let subs: Vec<&str> = object.subcommands.iter().map(|c| c.name).collect();
        assert_eq!(subs, ["object|encoding", "object|freq", "object|idletime", "object|refcount", "object|help"]);
        let keys = table.lookup(b"keys").expect("keys");
        assert_eq!(crate::kv::cmd::acl_categories(keys), ["@read", "@slow", "@keyspace", "@dangerous"]);
    }

    #[test]
    fn del_unlink_exists_count_keys() {
        let mut h = Harness::new();
        h.set(0, "a", "1");
        h.set(0, "b", "2");
        h.set(0, "c", "3");
        assert_eq!(h.cmd("EXISTS a a b nope"), ":3\r\n", "duplicates count");
        let dirty = h.dirty();
        assert_eq!(h.cmd("DEL a nope a"), ":1\r\n");
        assert_eq!(h.dirty(), dirty + 1);
        assert_eq!(h.cmd("UNLINK b c"), ":2\r\n");
        assert_eq!(h.cmd("EXISTS a b c"), ":0\r\n");
        assert_eq!(h.cmd("DEL"), "-ERR wrong number of arguments for 'del' command\r\n");
        assert_eq!(h.cmd("UNLINK"), "-ERR wrong number of arguments for 'unlink' command\r\n");
        assert_eq!(h.cmd("EXISTS"), "-ERR wrong number of arguments for 'exists' command\r\n");
        // An expired key is gone for DEL too.
        h.set(0, "t", "v");
        assert_eq!(h.cmd("PEXPIRE t 10"), ":1\r\n");
        h.clock.advance_ms(11);
        assert_eq!(h.cmd("DEL t"), ":0\r\n");
        assert_eq!(h.engine.stats.expired_keys, 1);
    }

    #[test]
    fn exists_counts_keyspace_hits_and_misses() {
        let mut h = Harness::new();
        h.set(0, "a", "1");
        h.cmd("EXISTS a b a");
        assert_eq!((h.engine.stats.keyspace_hits, h.engine.stats.keyspace_misses), (2, 1));
    }

    #[test]
    fn binary_keys_are_kept_as_bytes() {
        let mut h = Harness::new();
        let key: &[u8] = b"\xff\x00k\r\n";
        h.put(0, key, Value::str(b"v"));
        assert_eq!(h.call(&[b"EXISTS", key]), b":1\r\n");
        assert_eq!(h.call(&[b"RENAME", key, b"\xfe"]), b"+OK\r\n");
        assert_eq!(h.call(&[b"KEYS", b"*"]), b"*1\r\n$1\r\n\xfe\r\n");
        assert_eq!(h.call(&[b"KEYS", b"\xfe"]), b"*1\r\n$1\r\n\xfe\r\n");
        assert_eq!(h.call(&[b"DEL", b"\xfe"]), b":1\r\n");
    }

    #[test]
    fn type_names_every_value_kind() {
        let mut h = Harness::new();
        h.set(0, "s", "v");
        h.put(0, b"l", list(&["a"]));
        h.put(0, b"h", hash(&[("f", "v")]));
        h.put(0, b"st", set_of(&["m"]));
        h.put(0, b"z", zset(&[("m", 1.0)]));
        assert_eq!(h.cmd("TYPE s"), "+string\r\n");
        assert_eq!(h.cmd("TYPE l"), "+list\r\n");
        assert_eq!(h.cmd("TYPE h"), "+hash\r\n");
        assert_eq!(h.cmd("TYPE st"), "+set\r\n");
        assert_eq!(h.cmd("TYPE z"), "+zset\r\n");
        assert_eq!(h.cmd("TYPE nope"), "+none\r\n");
        assert_eq!(h.cmd("TYPE a b"), "-ERR wrong number of arguments for 'type' command\r\n");
    }

    #[test]
    fn keys_matches_globs_and_skips_expired() {
        let mut h = Harness::new();
        for k in ["a1", "a2", "b1", "hello", "hallo", "hxllo"] {
            h.set(0, k, "v");
        }
        h.put(0, b"", Value::str(b"empty key"));
        assert_eq!(sorted_bulks(parse(h.cmd("KEYS a*").as_bytes())), strs(&["a1", "a2"]));
        assert_eq!(sorted_bulks(parse(h.cmd("KEYS h[ae]llo").as_bytes())), strs(&["hallo", "hello"]));
        assert_eq!(sorted_bulks(parse(h.cmd("KEYS h?llo").as_bytes())), strs(&["hallo", "hello", "hxllo"]));
        assert_eq!(h.cmd("KEYS zz*"), "*0\r\n");
        // `*` lists the empty key although the glob `*` does not match it.
        assert_eq!(sorted_bulks(parse(h.cmd("KEYS *").as_bytes())).len(), 7);
        assert_eq!(sorted_bulks(parse(h.cmd("KEYS **").as_bytes())).len(), 6);
        h.cmd("PEXPIRE a1 5");
        h.clock.advance_ms(6);
        assert_eq!(sorted_bulks(parse(h.cmd("KEYS a*").as_bytes())), strs(&["a2"]));
        assert_eq!(h.engine.dbs[0].len(), 7, "KEYS skips expired keys without deleting them, as Redis");
    }

    #[test]
    fn scan_cursor_parsing_follows_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b"123"), Some(123));
        assert_eq!(parse_cursor(b"007"), Some(7));
        assert_eq!(parse_cursor(b"+5"), Some(5));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"12\x00junk"), Some(12), "C string: stops at NUL");
        for bad in [&b" 1"[..], b"\t1", b"1 ", b"abc", b"1a", b"-", b"+", b"18446744073709551616", b"0x10"] {
            assert_eq!(parse_cursor(bad), None, "{:?}", bad.escape_ascii().to_string());
        }
    }

    #[test]
    fn scan_errors_match_redis() {
        let mut h = Harness::new();
        assert_eq!(h.cmd("SCAN abc"), "-ERR invalid cursor\r\n");
        assert_eq!(h.cmd("SCAN 18446744073709551616"), "-ERR invalid cursor\r\n");
        assert_eq!(h.cmd("SCAN 0 COUNT 0"), "-ERR syntax error\r\n");
        assert_eq!(h.cmd("SCAN 0 COUNT -5"), "-ERR syntax error\r\n");
        assert_eq!(h.cmd("SCAN 0 COUNT x"), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(h.cmd("SCAN 0 COUNT"), "-ERR syntax error\r\n");
        assert_eq!(h.cmd("SCAN 0 MATCH"), "-ERR syntax error\r\n");
        assert_eq!(h.cmd("SCAN 0 NOPE 1"), "-ERR syntax error\r\n");
        // The cursor is checked before the options.
        assert_eq!(h.cmd("SCAN x NOPE"), "-ERR invalid cursor\r\n");
        assert_eq!(h.cmd("SCAN"), "-ERR wrong number of arguments for 'scan' command\r\n");
        assert_eq!(h.cmd("SCAN 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    }

    /// Runs a whole SCAN iteration with `opts`; returns every key seen.
    fn scan_all(h: &mut Harness, opts: &str) -> Vec<Vec<u8>> {
        let mut cursor = "0".to_string();
        let mut seen = HashSet::new();
        loop {
            let line = if opts.is_empty() { format!("SCAN {cursor}") } else { format!("SCAN {cursor} {opts}") };
            let (next, keys) = scan_reply(h.cmd(&line).as_bytes());
            seen.extend(keys);
            if next == "0" {
                break;
            }
            cursor = next;
        }
        let mut out: Vec<Vec<u8>> = seen.into_iter().collect();
        out.sort();
        out
    }

    #[test]
    fn scan_filters_by_match_and_type() {
        let mut h = Harness::new();
        for i in 0..50 {
            h.set(0, &format!("str:{i}"), "v");
            h.put(0, format!("list:{i}").as_bytes(), list(&["x"]));
        }
        h.put(0, b"", Value::str(b"empty"));
        assert_eq!(scan_all(&mut h, "COUNT 7").len(), 101);
        assert_eq!(scan_all(&mut h, "MATCH *").len(), 101, "MATCH * is no filter, so the empty key shows");
        assert_eq!(
            scan_all(&mut h, "MATCH str:1*"),
            strs(&[
                "str:1", "str:10", "str:11", "str:12", "str:13", "str:14", "str:15", "str:16", "str:17", "str:18",
                "str:19"
            ])
        );
        let lists = scan_all(&mut h, "TYPE LiSt COUNT 3");
        assert_eq!(lists.len(), 50);
        assert!(lists.iter().all(|k| k.starts_with(b"list:")));
        assert_eq!(scan_all(&mut h, "MATCH list:4* TYPE list").len(), 11);
        assert_eq!(scan_all(&mut h, "TYPE hash"), Vec::<Vec<u8>>::new());
        // Later options win, as in Redis's left-to-right parse.
        assert_eq!(scan_all(&mut h, "MATCH nothing* MATCH str:2").len(), 1);
    }

    #[test]
    fn scan_skips_and_reaps_expired_keys() {
        let mut h = Harness::new();
        for i in 0..20 {
            h.set(0, &format!("k{i}"), "v");
        }
        for i in 0..5 {
            h.cmd(&format!("PEXPIRE k{i} 10"));
        }
        h.clock.advance_ms(11);
        assert_eq!(scan_all(&mut h, "").len(), 15);
        assert_eq!(h.engine.dbs[0].len(), 15);
    }

    #[test]
    fn scan_returns_every_stable_key_while_the_table_grows() {
        let mut h = Harness::new();
        const N: usize = 10_000;
        let key = |i: usize| format!("key:{i}").into_bytes();
        for i in 0..N {
            h.put(0, &key(i), Value::str(b"v"));
        }
        let buckets_before = h.engine.dbs[0].main_dict().bucket_count();
        let mut deleted = HashSet::new();
        let mut seen = HashSet::new();
        let mut saw_rehash = false;
        let mut added = 0usize;
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let (next, keys) = scan_reply(&h.call(&[b"SCAN", cursor.as_bytes()]));
            seen.extend(keys);
            calls += 1;
            // Between calls: 25 inserts (enough to force two doublings over the scan) and 2 deletes.
            let now = h.now();
            for _ in 0..25 {
                h.engine.dbs[0].insert(format!("new:{added}").as_bytes(), Value::str(b"n"), now);
                added += 1;
            }
            for d in 0..2 {
                let victim = (calls * 7 + d * 3_331) % N;
                h.engine.dbs[0].remove(&key(victim), now);
                deleted.insert(victim);
            }
            saw_rehash |= h.engine.dbs[0].main_dict().is_rehashing();
            if next == "0" {
                break;
            }
            cursor = next;
            assert!(calls < 100_000, "SCAN does not terminate");
        }
        assert!(saw_rehash, "the test must exercise a resize in progress");
        assert!(h.engine.dbs[0].main_dict().bucket_count() >= 4 * buckets_before);
        let missing: Vec<usize> = (0..N).filter(|i| !deleted.contains(i) && !seen.contains(&key(*i))).collect();
        assert!(
            missing.is_empty(),
            "{} keys present throughout were not returned: {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        );
    }

    #[test]
    fn randomkey_returns_a_live_key_or_null() {
        let mut h = Harness::new();
        assert_eq!(h.cmd("RANDOMKEY"), "$-1\r\n");
        h.set(0, "only", "v");
        assert_eq!(h.cmd("RANDOMKEY"), "$4\r\nonly\r\n");
        h.cmd("PEXPIRE only 1");
        h.clock.advance_ms(2);
        assert_eq!(h.cmd("RANDOMKEY"), "$-1\r\n");
        assert_eq!(h.cmd("RANDOMKEY x"), "-ERR wrong number of arguments for 'randomkey' command\r\n");
    }

    #[test]
    fn rename_and_renamenx() {
        let mut h = Harness::new();
        assert_eq!(h.cmd("RENAME nope x"), "-ERR no such key\r\n");
        assert_eq!(h.cmd("RENAMENX nope x"), "-ERR no such key\r\n");
        assert_eq!(h.cmd("RENAME nope nope"), "-ERR no such key\r\n", "missing key errors even onto itself");
        h.set(0, "a", "1");
        h.cmd("PEXPIRE a 5000");
        let dirty = h.dirty();
        assert_eq!(h.cmd("RENAME a a"), "+OK\r\n");
        assert_eq!(h.cmd("RENAMENX a a"), ":0\r\n");
        assert_eq!(h.dirty(), dirty, "renaming onto itself writes nothing");
        h.set(0, "b", "2");
        assert_eq!(h.cmd("RENAMENX a b"), ":0\r\n");
        assert_eq!(h.cmd("RENAME a b"), "+OK\r\n");
        assert_eq!(h.dirty(), dirty + 2, "both keys are signalled");
        assert_eq!(h.cmd("EXISTS a"), ":0\r\n");
        assert_eq!(h.cmd("PTTL b"), ":5000\r\n", "the TTL travels with the value");
        assert_eq!(h.cmd("RENAMENX b c"), ":1\r\n");
        assert_eq!(h.cmd("PTTL c"), ":5000\r\n");
        // A destination's TTL does not survive being overwritten.
        h.set(0, "plain", "p");
        assert_eq!(h.cmd("RENAME plain c"), "+OK\r\n");
        assert_eq!(h.cmd("TTL c"), ":-1\r\n");
        let now = h.now();
        assert_eq!(h.engine.dbs[0].get(b"c", now).and_then(Value::as_str).map(Str::as_bytes), Some(&b"p"[..]));
        assert_eq!(h.cmd("RENAME c"), "-ERR wrong number of arguments for 'rename' command\r\n");
    }

    #[test]
    fn copy_within_and_across_databases() {
        let mut h = Harness::new();
        assert_eq!(h.cmd("COPY a a"), "-ERR source and destination objects are the same\r\n");
        assert_eq!(h.cmd("COPY a a DB 0"), "-ERR source and destination objects are the same\r\n");
        assert_eq!(h.cmd("COPY a b DB 16"), "-ERR DB index is out of range\r\n");
        assert_eq!(h.cmd("COPY a b DB -1"), "-ERR DB index is out of range\r\n");
        assert_eq!(h.cmd("COPY a b DB x"), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(
            h.cmd("COPY a b DB 2147483648"),
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
        );
        assert_eq!(h.cmd("COPY a b DB"), "-ERR syntax error\r\n");
        assert_eq!(h.cmd("COPY a b NOPE"), "-ERR syntax error\r\n");
        assert_eq!(h.cmd("COPY a"), "-ERR wrong number of arguments for 'copy' command\r\n");
        assert_eq!(h.cmd("COPY missing b"), ":0\r\n");

        h.put(0, b"l", list(&["x", "y"]));
        h.cmd("PEXPIRE l 9000");
        let dirty = h.dirty();
        assert_eq!(h.cmd("COPY l l2"), ":1\r\n");
        assert_eq!(h.dirty(), dirty + 1, "only the destination is written");
        assert_eq!(h.cmd("PTTL l2"), ":9000\r\n");
        assert_eq!(h.cmd("COPY l l2"), ":0\r\n", "destination exists");
        // The copy is independent of the source.
        let now = h.now();
        if let Some(Value::List(items)) = h.engine.dbs[0].get_mut(b"l", now) {
            items.push_back(Bytes::from_static(b"z"));
        }
        match h.engine.dbs[0].get(b"l2", now) {
            Some(Value::List(items)) => assert_eq!(items.len(), 2),
            other => panic!("{other:?}"),
        }

        h.set(0, "s", "new");
        assert_eq!(h.cmd("COPY s l2 REPLACE"), ":1\r\n");
        assert_eq!(h.cmd("TYPE l2"), "+string\r\n");
        assert_eq!(h.cmd("TTL l2"), ":-1\r\n", "REPLACE drops the old destination's TTL");

        // Across databases, including the same key name, with options in any order and case.
        assert_eq!(h.cmd("COPY s s db 3"), ":1\r\n");
        assert_eq!(h.cmd("COPY s s replace DB 3"), ":1\r\n");
        assert_eq!(h.cmd("COPY s s DB 3"), ":0\r\n");
        assert_eq!(h.cmd("SELECT 3"), "+OK\r\n");
        assert_eq!(h.cmd("TYPE s"), "+string\r\n");
        assert_eq!(h.cmd("COPY s s DB 0 REPLACE"), ":1\r\n");
        assert_eq!(h.cmd("COPY s s"), "-ERR source and destination objects are the same\r\n");
    }

    #[test]
    fn copy_keeps_every_type_and_its_encoding() {
        let mut h = Harness::new();
        h.set(0, "int", "12345");
        h.set(0, "raw", &"r".repeat(100));
        h.put(0, b"h", hash(&[("f", "v")]));
        h.put(0, b"st", set_of(&["1", "2"]));
        h.put(0, b"z", zset(&[("a", 1.0), ("b", 2.0)]));
        // Aggregates that outgrew their compact encoding and then shrank keep the big one, in Redis and in copies.
        let fields: Vec<(String, String)> = (0..200).map(|i| (format!("f{i}"), "v".to_string())).collect();
        let refs: Vec<(&str, &str)> = fields.iter().map(|(f, v)| (f.as_str(), v.as_str())).collect();
        h.put(0, b"bighash", hash(&refs));
        h.put(0, b"bigset", set_of(&["1", "not-an-int"]));
        h.put(0, b"bigz", zset(&[("m".repeat(80).as_str(), 1.0), ("a", 2.0)]));
        for i in 1..200 {
            if let Some(Value::Hash(hv)) = h.engine.dbs[0].get_mut(b"bighash", T0) {
                hv.remove(format!("f{i}").as_bytes());
            }
        }
        if let Some(Value::Set(sv)) = h.engine.dbs[0].get_mut(b"bigset", T0) {
            sv.remove(b"not-an-int");
        }
        if let Some(Value::ZSet(zv)) = h.engine.dbs[0].get_mut(b"bigz", T0) {
            zv.remove("m".repeat(80).as_bytes());
        }
        for (key, encoding) in [
            ("int", "int"),
            ("raw", "raw"),
            ("h", "listpack"),
            ("st", "intset"),
            ("z", "listpack"),
            ("bighash", "hashtable"),
            ("bigset", "hashtable"),
            ("bigz", "skiplist"),
        ] {
            assert_eq!(h.cmd(&format!("COPY {key} {key}.copy")), ":1\r\n");
            let expected = format!("${}\r\n{encoding}\r\n", encoding.len());
            assert_eq!(h.cmd(&format!("OBJECT ENCODING {key}")), expected, "{key}");
            assert_eq!(h.cmd(&format!("OBJECT ENCODING {key}.copy")), expected, "{key}.copy");
        }
        match h.engine.dbs[0].get(b"z.copy", T0) {
            Some(Value::ZSet(z)) => {
                let items: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
                assert_eq!(items, vec![(b"a".to_vec(), 1.0), (b"b".to_vec(), 2.0)]);
            }
            other => panic!("{other:?}"),
        }
        match h.engine.dbs[0].get(b"bighash.copy", T0) {
            Some(Value::Hash(hv)) => assert_eq!(hv.len(), 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn move_between_databases() {
        let mut h = Harness::new();
        assert_eq!(h.cmd("MOVE a 0"), "-ERR source and destination objects are the same\r\n");
        assert_eq!(h.cmd("MOVE a 16"), "-ERR DB index is out of range\r\n");
        assert_eq!(h.cmd("MOVE a -1"), "-ERR DB index is out of range\r\n");
        assert_eq!(h.cmd("MOVE a x"), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(
            h.cmd("MOVE a -2147483649"),
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
        );
        assert_eq!(h.cmd("MOVE a 1"), ":0\r\n");
        h.set(0, "a", "1");
        h.cmd("PEXPIRE a 7000");
        h.set(1, "b", "other");
        h.set(0, "b", "mine");
        assert_eq!(h.cmd("MOVE b 1"), ":0\r\n", "exists in the target");
        assert_eq!(h.cmd("EXISTS b"), ":1\r\n");
        let dirty = h.dirty();
        assert_eq!(h.cmd("MOVE a 1"), ":1\r\n");
        assert_eq!(h.dirty(), dirty + 2, "the key is signalled in both databases");
        assert_eq!(h.cmd("EXISTS a"), ":0\r\n");
        assert_eq!(h.cmd("SELECT 1"), "+OK\r\n");
        assert_eq!(h.cmd("PTTL a"), ":7000\r\n");
        assert_eq!(h.cmd("MOVE a 0"), ":1\r\n");
        assert_eq!(h.cmd("MOVE a 0"), ":0\r\n");
        assert_eq!(h.cmd("MOVE a"), "-ERR wrong number of arguments for 'move' command\r\n");
    }

    #[test]
    fn touch_counts_live_keys() {
        let mut h = Harness::new();
        h.set(0, "a", "1");
        h.set(0, "b", "1");
        assert_eq!(h.cmd("TOUCH a b c a"), ":3\r\n");
        assert_eq!(h.cmd("TOUCH"), "-ERR wrong number of arguments for 'touch' command\r\n");
    }

    #[test]
    fn expire_option_matrix() {
        // (current TTL in s or none, new TTL in s, option, reply)
        let cases: &[(Option<u64>, i64, &str, i64)] = &[
            (None, 50, "NX", 1),
            (None, 50, "XX", 0),
            (None, 50, "GT", 0),
            (None, 50, "LT", 1),
            (Some(100), 50, "NX", 0),
            (Some(100), 50, "XX", 1),
            (Some(100), 50, "GT", 0),
            (Some(100), 50, "LT", 1),
            (Some(100), 200, "XX", 1),
            (Some(100), 200, "GT", 1),
            (Some(100), 200, "LT", 0),
            (Some(100), 100, "GT", 0),
            (Some(100), 100, "LT", 0),
            (Some(100), 200, "XX GT", 1),
            (Some(100), 50, "XX GT", 0),
            (Some(100), 50, "xx lt", 1),
            (Some(100), 50, "GT GT", 0),
            (None, 50, "XX LT", 0),
            (None, 50, "", 1),
        ];
        for &(current, new, opts, reply) in cases {
            let mut h = Harness::new();
            h.set(0, "k", "v");
            if let Some(ttl) = current {
                h.cmd(&format!("EXPIRE k {ttl}"));
            }
            let line = if opts.is_empty() { format!("EXPIRE k {new}") } else { format!("EXPIRE k {new} {opts}") };
            assert_eq!(h.cmd(&line), format!(":{reply}\r\n"), "{current:?} {line}");
            let expected_ttl = match (reply, current) {
                (1, _) => new,
                (_, Some(ttl)) => ttl as i64,
                (_, None) => -1,
            };
            assert_eq!(h.cmd("TTL k"), format!(":{expected_ttl}\r\n"), "{current:?} {line}");
        }
    }

    #[test]
    fn expire_errors_match_redis() {
        let mut h = Harness::new();
        h.set(0, "k", "v");
        let nx = "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
        assert_eq!(h.cmd("EXPIRE k 10 NX XX"), nx);
        assert_eq!(h.cmd("EXPIRE k 10 NX GT"), nx);
        assert_eq!(h.cmd("PEXPIRE k 10 LT NX"), nx);
        assert_eq!(h.cmd("EXPIRE k 10 GT LT"), "-ERR GT and LT options at the same time are not compatible\r\n");
        assert_eq!(h.cmd("EXPIRE k 10 FOO"), "-ERR Unsupported option FOO\r\n");
        assert_eq!(h.cmd("EXPIRE k 10 NX FOO"), "-ERR Unsupported option FOO\r\n");
        // Options are checked before the time.
        assert_eq!(h.cmd("EXPIRE k abc FOO"), "-ERR Unsupported option FOO\r\n");
        assert_eq!(h.cmd("EXPIRE k abc"), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(h.cmd("EXPIRE k 1.5"), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(h.cmd("EXPIRE k"), "-ERR wrong number of arguments for 'expire' command\r\n");
        // Overflow, by unit conversion or by adding the base time; reported even for a missing key.
        assert_eq!(h.cmd("EXPIRE k 9223372036854776"), "-ERR invalid expire time in 'expire' command\r\n");
        assert_eq!(h.cmd("EXPIRE nope -9223372036854776"), "-ERR invalid expire time in 'expire' command\r\n");
        assert_eq!(h.cmd("EXPIRE k 9223372036854775"), "-ERR invalid expire time in 'expire' command\r\n");
        assert_eq!(h.cmd("PEXPIRE k 9223372036854775807"), "-ERR invalid expire time in 'pexpire' command\r\n");
        assert_eq!(h.cmd("EXPIREAT k 9223372036854776"), "-ERR invalid expire time in 'expireat' command\r\n");
        assert_eq!(h.cmd("TTL k"), ":-1\r\n", "no error changed the key");
        // The largest representable deadline is fine for the absolute form.
        assert_eq!(h.cmd("PEXPIREAT k 9223372036854775807"), ":1\r\n");
        assert_eq!(h.cmd("PEXPIRETIME k"), ":9223372036854775807\r\n");
        assert_eq!(h.cmd("EXPIREAT k 9223372036854775"), ":1\r\n");
        assert_eq!(h.cmd("EXPIRETIME k"), ":9223372036854775\r\n");
    }

    #[test]
    fn expire_in_the_past_deletes() {
        let mut h = Harness::new();
        assert_eq!(h.cmd("EXPIRE nope 10"), ":0\r\n");
        assert_eq!(h.cmd("EXPIRE nope -10"), ":0\r\n");
        for line in ["EXPIRE k -1", "PEXPIRE k 0", "EXPIREAT k 0", "PEXPIREAT k -5", "EXPIRE k 0 NX", "EXPIRE k -1 LT"]
        {
            h.set(0, "k", "v");
            let dirty = h.dirty();
            assert_eq!(h.cmd(line), ":1\r\n", "{line}");
            assert_eq!(h.cmd("EXISTS k"), ":0\r\n", "{line}");
            assert_eq!(h.dirty(), dirty + 1, "{line}");
        }
        // A deadline of exactly now is already past for EXPIRE (Redis: `when <= now`).
        h.set(0, "k", "v");
        let now = h.now();
        assert_eq!(h.cmd(&format!("PEXPIREAT k {now}")), ":1\r\n");
        assert_eq!(h.cmd("EXISTS k"), ":0\r\n");
        // GT against an infinite TTL fails even with a past time, so the key survives.
        h.set(0, "k", "v");
        assert_eq!(h.cmd("EXPIRE k -1 GT"), ":0\r\n");
        assert_eq!(h.cmd("EXISTS k"), ":1\r\n");
        // Not counted as an expiry: Redis turns it into a DEL.
        assert_eq!(h.engine.stats.expired_keys, 0);
    }

    #[test]
    fn ttl_family_follows_the_clock() {
        let mut h = Harness::new();
        for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            assert_eq!(h.cmd(&format!("{c} nope")), ":-2\r\n", "{c}");
        }
        h.set(0, "k", "v");
        for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            assert_eq!(h.cmd(&format!("{c} k")), ":-1\r\n", "{c}");
        }
        assert_eq!(h.cmd("PEXPIRE k 1500"), ":1\r\n");
        assert_eq!(h.cmd("PTTL k"), ":1500\r\n");
        assert_eq!(h.cmd("TTL k"), ":2\r\n", "seconds round to nearest");
        assert_eq!(h.cmd("PEXPIRETIME k"), format!(":{}\r\n", T0 + 1500));
        assert_eq!(h.cmd("EXPIRETIME k"), format!(":{}\r\n", (T0 + 1500 + 500) / 1000));
        h.clock.advance_ms(1000);
        assert_eq!(h.cmd("PTTL k"), ":500\r\n");
        assert_eq!(h.cmd("TTL k"), ":1\r\n");
        h.clock.advance_ms(499);
        assert_eq!(h.cmd("PTTL k"), ":1\r\n");
        assert_eq!(h.cmd("TTL k"), ":0\r\n");
        h.clock.advance_ms(1);
        assert_eq!(h.cmd("PTTL k"), ":0\r\n", "alive through its deadline millisecond");
        h.clock.advance_ms(1);
        assert_eq!(h.cmd("PTTL k"), ":-2\r\n");
        assert_eq!(h.engine.stats.expired_keys, 1);

        h.set(0, "s", "v");
        assert_eq!(h.cmd("EXPIRE s 100"), ":1\r\n");
        assert_eq!(h.cmd("TTL s"), ":100\r\n");
        assert_eq!(h.cmd(&format!("EXPIREAT s {}", T0 / 1000 + 3_000)), ":1\r\n");
        assert_eq!(h.cmd("EXPIRETIME s"), format!(":{}\r\n", T0 / 1000 + 3_000));
        assert_eq!(h.cmd("TTL k x"), "-ERR wrong number of arguments for 'ttl' command\r\n");
    }

    #[test]
    fn persist_removes_a_ttl() {
        let mut h = Harness::new();
        assert_eq!(h.cmd("PERSIST nope"), ":0\r\n");
        h.set(0, "k", "v");
        assert_eq!(h.cmd("PERSIST k"), ":0\r\n");
        h.cmd("EXPIRE k 100");
        let dirty = h.dirty();
        assert_eq!(h.cmd("PERSIST k"), ":1\r\n");
        assert_eq!(h.dirty(), dirty + 1);
        assert_eq!(h.cmd("TTL k"), ":-1\r\n");
        h.clock.advance_ms(200_000);
        assert_eq!(h.cmd("EXISTS k"), ":1\r\n");
    }

    #[test]
    fn object_subcommands() {
        let mut h = Harness::new();
        h.set(0, "emb", "hello");
        h.set(0, "int", "100");
        h.set(0, "bigint", "10000");
        h.set(0, "neg", "-1");
        h.set(0, "raw", &"x".repeat(45));
        h.put(0, b"l", list(&["a"]));
        assert_eq!(h.cmd("OBJECT ENCODING emb"), "$6\r\nembstr\r\n");
        assert_eq!(h.cmd("object encoding int"), "$3\r\nint\r\n");
        assert_eq!(h.cmd("OBJECT ENCODING raw"), "$3\r\nraw\r\n");
        assert_eq!(h.cmd("OBJECT ENCODING l"), "$9\r\nquicklist\r\n");
        assert_eq!(h.cmd("OBJECT ENCODING nope"), "$-1\r\n");
        assert_eq!(h.cmd("OBJECT REFCOUNT emb"), ":1\r\n");
        assert_eq!(h.cmd("OBJECT REFCOUNT int"), ":2147483647\r\n", "Redis's shared integer");
        assert_eq!(h.cmd("OBJECT REFCOUNT bigint"), ":1\r\n");
        assert_eq!(h.cmd("OBJECT REFCOUNT neg"), ":1\r\n");
        assert_eq!(h.cmd("OBJECT REFCOUNT l"), ":1\r\n");
        assert_eq!(h.cmd("OBJECT REFCOUNT nope"), "$-1\r\n");
        assert_eq!(h.cmd("OBJECT IDLETIME emb"), ":0\r\n");
        assert_eq!(h.cmd("OBJECT IDLETIME nope"), "$-1\r\n");
        assert_eq!(
            h.cmd("OBJECT FREQ emb"),
            "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
        );
        assert_eq!(h.cmd("OBJECT FREQ nope"), "$-1\r\n");
        assert_eq!(h.cmd("CONFIG SET maxmemory-policy allkeys-lfu"), "+OK\r\n");
        assert_eq!(h.cmd("OBJECT FREQ emb"), ":5\r\n");
        assert_eq!(
            h.cmd("OBJECT IDLETIME emb"),
            "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
        );
        assert_eq!(h.cmd("OBJECT IDLETIME nope"), "$-1\r\n");
        assert_eq!(h.cmd("OBJECT REFCOUNT int"), ":2147483647\r\n", "no maxmemory: integers still shared");
        assert_eq!(h.cmd("CONFIG SET maxmemory 100mb"), "+OK\r\n");
        assert_eq!(h.cmd("OBJECT REFCOUNT int"), ":1\r\n", "an LFU limit turns sharing off");
        assert_eq!(h.cmd("CONFIG SET maxmemory-policy volatile-lru"), "+OK\r\n");
        assert_eq!(h.cmd("OBJECT IDLETIME emb"), ":0\r\n");
        assert_eq!(h.cmd("OBJECT REFCOUNT int"), ":1\r\n");
        assert_eq!(h.cmd("CONFIG SET maxmemory-policy noeviction"), "+OK\r\n");
        assert_eq!(h.cmd("OBJECT REFCOUNT int"), ":2147483647\r\n");
        assert_eq!(h.cmd("OBJECT NOPE k"), "-ERR unknown subcommand 'NOPE'. Try OBJECT HELP.\r\n");
        assert_eq!(h.cmd("OBJECT ENCODING"), "-ERR wrong number of arguments for 'object|encoding' command\r\n");
        assert_eq!(h.cmd("OBJECT ENCODING a b"), "-ERR wrong number of arguments for 'object|encoding' command\r\n");
        assert_eq!(h.cmd("OBJECT"), "-ERR wrong number of arguments for 'object' command\r\n");
        assert_eq!(h.cmd("OBJECT HELP x"), "-ERR wrong number of arguments for 'object|help' command\r\n");
        // RESP3 clients get the RESP3 null.
        h.cmd("HELLO 3");
        assert_eq!(h.cmd("OBJECT ENCODING nope"), "_\r\n");
    }

    #[test]
    fn object_help_is_redis_text() {
        let mut h = Harness::new();
        let expected = "*15\r\n\
            +OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n\
            +ENCODING <key>\r\n\
            +    Return the kind of internal representation used in order to store the value\r\n\
            +    associated with a <key>.\r\n\
            +FREQ <key>\r\n\
            +    Return the access frequency index of the <key>. The returned integer is\r\n\
            +    proportional to the logarithm of the recent access frequency of the key.\r\n\
            +IDLETIME <key>\r\n\
            +    Return the idle time of the <key>, that is the approximated number of\r\n\
            +    seconds elapsed since the last access to the key.\r\n\
            +REFCOUNT <key>\r\n\
            +    Return the number of references of the value associated with the specified\r\n\
            +    <key>.\r\n\
            +HELP\r\n\
            +    Print this help.\r\n";
        assert_eq!(h.cmd("OBJECT HELP"), expected);
        assert_eq!(h.cmd("object help"), expected);
    }
}
