//! String commands: GET, SET and its variants, MGET/MSET, the INCR family, APPEND, STRLEN, GETRANGE/SETRANGE.
//!
//! ```text
//!  argv --handler--> parse numbers/options (num.rs, errors before any lookup, as Redis orders them)
//!       --> Db lookup: read lookups count keyspace hits/misses (Redis's lookupKeyRead), write lookups do not
//!       --> Value::Str edited in place (INCR, APPEND, SETRANGE keep the TTL) or replaced (SET clears it)
//!       --> cx.modified + cx.notify once per changed key --> Reply
//! ```
//!
//! Replies and errors follow Redis 7.0's `t_string.c` byte for byte, including the order in which errors are
//! detected (e.g. `GETEX` checks the key's type before it validates the expire time, `SET` the other way round).
//! Values are always copied out of `argv`: the arguments are slices of the connection's read buffer.
//!
//! Simplifications against Redis:
//! * `proto-max-bulk-len` is fixed at its default, 512 MB ([`PROTO_MAX_BULK_LEN`]); Redis lets `CONFIG SET`
//!   change it.
//! * `LCS` is not implemented.

use super::cmd::{flag::*, Command};
use super::error::{err, CmdError, CmdResult};
use super::exec::{Ctx, Engine, Notify};
use super::num::{self, parse_i64, parse_long_double, LongDouble};
use super::reply::Reply;
use super::value::{Str, Value};

/// Largest string `APPEND` and `SETRANGE` may build, in bytes: Redis's default `proto-max-bulk-len` (512 MB), the
/// same cap the request decoder puts on one bulk argument.
pub const PROTO_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;

/// Values at least this long are replied by sharing the stored buffer instead of copying it. Below it the output
/// buffer copies anyway (`OutBuf` copies payloads under 4 KiB), so a reference count would only add work.
const SHARE_REPLY_MIN_BYTES: usize = 4 * 1024;

/// Complexity text Redis documents for `GETRANGE` and `SUBSTR`.
const GETRANGE_COMPLEXITY: &str = "O(N) where N is the length of the returned string. The complexity is ultimately \
determined by the returned length, but because creating a substring from an existing string is very cheap, it can \
be considered O(1) for small strings.";

pub static COMMANDS: &[Command] = &[
    Command::new("get", 2, READONLY | FAST, (1, 1, 1), "string", "1.0.0", "O(1)", "Get the value of a key", "key", get)
        .with_acl("@string"),
    Command::new(
        "set",
        -3,
        WRITE | DENYOOM,
        (1, 1, 1),
        "string",
        "1.0.0",
        "O(1)",
        "Set the string value of a key",
        "key value [NX|XX] [GET] [EX seconds:integer|PX milliseconds:integer|EXAT unix-time-seconds:unix-time|PXAT \
         unix-time-milliseconds:unix-time|KEEPTTL]",
        set,
    )
    .with_acl("@string"),
    Command::new(
        "setnx",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "1.0.0",
        "O(1)",
        "Set the value of a key, only if the key does not exist",
        "key value",
        setnx,
    )
    .with_acl("@string"),
    Command::new(
        "setex",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "string",
        "2.0.0",
        "O(1)",
        "Set the value and expiration of a key",
        "key seconds:integer value",
        setex,
    )
    .with_acl("@string"),
    Command::new(
        "psetex",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "string",
        "2.6.0",
        "O(1)",
        "Set the value and expiration in milliseconds of a key",
        "key milliseconds:integer value",
        psetex,
    )
    .with_acl("@string"),
    Command::new(
        "mget",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        "string",
        "1.0.0",
        "O(N) where N is the number of keys to retrieve.",
        "Get the values of all the given keys",
        "key [key ...]",
        mget,
    )
    .with_acl("@string"),
    Command::new(
        "mset",
        -3,
        WRITE | DENYOOM,
        (1, -1, 2),
        "string",
        "1.0.1",
        "O(N) where N is the number of keys to set.",
        "Set multiple keys to multiple values",
        "(key value)...",
        mset,
    )
    .with_acl("@string"),
    Command::new(
        "msetnx",
        -3,
        WRITE | DENYOOM,
        (1, -1, 2),
        "string",
        "1.0.1",
        "O(N) where N is the number of keys to set.",
        "Set multiple keys to multiple values, only if none of the keys exist",
        "(key value)...",
        msetnx,
    )
    .with_acl("@string"),
    Command::new(
        "getset",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "1.0.0",
        "O(1)",
        "Set the string value of a key and return its old value",
        "key value",
        getset,
    )
    .with_acl("@string"),
    Command::new(
        "getdel",
        2,
        WRITE | FAST,
        (1, 1, 1),
        "string",
        "6.2.0",
        "O(1)",
        "Get the value of a key and delete the key",
        "key",
        getdel,
    )
    .with_acl("@string"),
    Command::new(
        "getex",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        "string",
        "6.2.0",
        "O(1)",
        "Get the value of a key and optionally set its expiration",
        "key [EX seconds:integer|PX milliseconds:integer|EXAT unix-time-seconds:unix-time|PXAT \
         unix-time-milliseconds:unix-time|PERSIST]",
        getex,
    )
    .with_acl("@string"),
    Command::new(
        "append",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "2.0.0",
        "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present \
         value is of any size, since the dynamic string library used by Redis will double the free space available \
         on every reallocation.",
        "Append a value to a key",
        "key value",
        append,
    )
    .with_acl("@string"),
    Command::new(
        "strlen",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "string",
        "2.2.0",
        "O(1)",
        "Get the length of the value stored in a key",
        "key",
        strlen,
    )
    .with_acl("@string"),
    Command::new(
        "incr",
        2,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "1.0.0",
        "O(1)",
        "Increment the integer value of a key by one",
        "key",
        incr,
    )
    .with_acl("@string"),
    Command::new(
        "decr",
        2,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "1.0.0",
        "O(1)",
        "Decrement the integer value of a key by one",
        "key",
        decr,
    )
    .with_acl("@string"),
    Command::new(
        "incrby",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "1.0.0",
        "O(1)",
        "Increment the integer value of a key by the given amount",
        "key increment:integer",
        incrby,
    )
    .with_acl("@string"),
    Command::new(
        "decrby",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "1.0.0",
        "O(1)",
        "Decrement the integer value of a key by the given number",
        "key decrement:integer",
        decrby,
    )
    .with_acl("@string"),
    Command::new(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        "2.6.0",
        "O(1)",
        "Increment the float value of a key by the given amount",
        "key increment:double",
        incrbyfloat,
    )
    .with_acl("@string"),
    Command::new(
        "getrange",
        4,
        READONLY,
        (1, 1, 1),
        "string",
        "2.4.0",
        GETRANGE_COMPLEXITY,
        "Get a substring of the string stored at a key",
        "key start:integer end:integer",
        getrange,
    )
    .with_acl("@string"),
    Command::new(
        "substr",
        4,
        READONLY,
        (1, 1, 1),
        "string",
        "1.0.0",
        GETRANGE_COMPLEXITY,
        "Get a substring of the string stored at a key",
        "key start:integer end:integer",
        getrange,
    )
    .with_acl("@string"),
    Command::new(
        "setrange",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "string",
        "2.2.0",
        "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so \
         the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value \
         argument.",
        "Overwrite part of a string at key starting at the specified offset",
        "key offset:integer value",
        setrange,
    )
    .with_acl("@string"),
];

// ---------------------------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------------------------

/// Redis's `lookupKeyRead`: the live value under `key`, counting a keyspace hit or miss. Write paths use
/// `Db::get`/`Db::contains` directly, which count nothing, as `lookupKeyWrite` does.
fn lookup_read<'e>(engine: &'e mut Engine, db: usize, key: &[u8], now_ms: u64) -> Option<&'e Value> {
    let found = engine.dbs[db].get(key, now_ms);
    if found.is_some() {
        engine.stats.keyspace_hits += 1;
    } else {
        engine.stats.keyspace_misses += 1;
    }
    found
}

/// A stored string as a bulk reply: small values are copied into the output buffer, large ones shared.
fn reply_str(reply: &mut Reply<'_>, s: &Str) {
    if s.len() >= SHARE_REPLY_MIN_BYTES {
        reply.bulk_shared(s.to_bytes());
    } else {
        reply.bulk(s.as_bytes());
    }
}

/// Redis's `getGenericCommand`: replies with the string under `key` or null; a non-string is `WRONGTYPE` and no
/// reply, so callers (`GETSET`, `GETDEL`, `SET .. GET`) stop before writing anything.
fn get_generic(cx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    match lookup_read(cx.engine, cx.db, key, cx.now_ms) {
        None => cx.reply.null(),
        Some(Value::Str(s)) => reply_str(&mut cx.reply, s),
        Some(_) => return Err(CmdError::WrongType),
    }
    Ok(())
}

/// Redis's `checkStringLength`: a string of `offset + len` bytes must fit `proto-max-bulk-len`.
fn check_string_length(offset: u64, len: usize) -> CmdResult {
    match offset.checked_add(len as u64) {
        Some(total) if total <= PROTO_MAX_BULK_LEN => Ok(()),
        _ => Err(err("ERR string exceeds maximum allowed size (proto-max-bulk-len)")),
    }
}

/// An integer argument with `string2ll` rules.
fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Which expire option `SET`/`GETEX` was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExpireKind {
    /// `EX seconds`, relative.
    Ex,
    /// `PX milliseconds`, relative.
    Px,
    /// `EXAT unix-seconds`, absolute.
    ExAt,
    /// `PXAT unix-milliseconds`, absolute.
    PxAt,
}

impl ExpireKind {
    fn in_seconds(self) -> bool {
        matches!(self, ExpireKind::Ex | ExpireKind::ExAt)
    }

    fn is_relative(self) -> bool {
        matches!(self, ExpireKind::Ex | ExpireKind::Px)
    }
}

/// Redis's `getExpireMillisecondsOrReply`: the absolute deadline (Unix ms) an expire option asks for. `cmd` is the
/// command's table name, which Redis puts in the error text. The value must be positive, seconds must not overflow
/// when scaled to milliseconds, and a relative time must not overflow when `now` is added.
fn expire_deadline(arg: &[u8], kind: ExpireKind, now_ms: u64, cmd: &'static str) -> Result<u64, CmdError> {
    let mut ms = int_arg(arg)?;
    if ms <= 0 || (kind.in_seconds() && ms > i64::MAX / 1000) {
        return Err(CmdError::InvalidExpire(cmd));
    }
    if kind.in_seconds() {
        ms *= 1000;
    }
    if kind.is_relative() {
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
        ms = ms.checked_add(now).ok_or(CmdError::InvalidExpire(cmd))?;
    }
    // `ms` is positive here, so the conversion is exact.
    Ok(ms.unsigned_abs())
}

/// Which command is parsing options: `SET` accepts NX/XX/GET/KEEPTTL, `GETEX` accepts PERSIST.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OptsFor {
    Set,
    GetEx,
}

/// Options of `SET` and `GETEX`.
#[derive(Default)]
struct StrOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    /// The expire option and its unparsed argument; validated later, at the point Redis validates it.
    expire: Option<(ExpireKind, &'a [u8])>,
}

/// Redis compares options as C strings, so an argument with an embedded NUL matches on what precedes it
/// (`"NX\0junk"` is `NX`). Kept for byte-for-byte compatibility.
fn c_str(arg: &[u8]) -> &[u8] {
    arg.split(|&b| b == 0).next().unwrap_or(arg)
}

/// Redis's `parseExtendedStringArgumentsOrReply`. Each option is accepted only when it does not conflict with
/// one already seen (NX/XX; KEEPTTL or PERSIST against any expire; one expire kind against another). Repeating
/// an option is allowed, and for an expire option the last value wins. Anything else, including an expire option
/// without its value, is `ERR syntax error`.
fn parse_opts<'a>(args: &[&'a [u8]], family: OptsFor) -> Result<StrOpts<'a>, CmdError> {
    let mut o = StrOpts::default();
    let is_set = family == OptsFor::Set;
    let mut i = 0;
    while i < args.len() {
        let opt = c_str(args[i]);
        let next = args.get(i + 1).copied();
        let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        let kind = if is("EX") {
            Some(ExpireKind::Ex)
        } else if is("PX") {
            Some(ExpireKind::Px)
        } else if is("EXAT") {
            Some(ExpireKind::ExAt)
        } else if is("PXAT") {
            Some(ExpireKind::PxAt)
        } else {
            None
        };
        if is_set && is("NX") && !o.xx {
            o.nx = true;
        } else if is_set && is("XX") && !o.nx {
            o.xx = true;
        } else if is_set && is("GET") {
            o.get = true;
        } else if is_set && is("KEEPTTL") && !o.persist && o.expire.is_none() {
            o.keepttl = true;
        } else if !is_set && is("PERSIST") && o.expire.is_none() && !o.keepttl {
            o.persist = true;
        } else if let (Some(kind), Some(value)) = (kind, next) {
            // Accepted when no other expire kind, and neither KEEPTTL nor PERSIST, was given.
            if o.keepttl || o.persist || matches!(o.expire, Some((k, _)) if k != kind) {
                return Err(CmdError::Syntax);
            }
            o.expire = Some((kind, value));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

// ---------------------------------------------------------------------------------------------------------------
// GET, SET and variants
// ---------------------------------------------------------------------------------------------------------------

fn get(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    get_generic(cx, argv[1])
}

/// What `SET` replies when it writes and when NX/XX stops it: `+OK`/null for `SET`, `:1`/`:0` for `SETNX`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetReplies {
    OkOrNull,
    OneOrZero,
}

/// How one `SET`-like command writes.
#[derive(Default)]
struct SetHow {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    /// Absolute deadline in Unix ms, already validated.
    deadline: Option<u64>,
}

/// Redis's `setGenericCommand`, after the expire time has been validated: the optional GET, the NX/XX condition,
/// the write (clearing the TTL unless KEEPTTL), then the new TTL.
///
/// A deadline already in the past (`EXAT`/`PXAT`) is stored as given, as Redis 7.0 does: the key is gone for every
/// later lookup and is reported as expired by the first one (or by active expiry).
fn set_generic(cx: &mut Ctx<'_>, key: &[u8], value: &[u8], how: &SetHow, replies: SetReplies) -> CmdResult {
    if how.get {
        get_generic(cx, key)?;
    }
    let (db, now) = (cx.db, cx.now_ms);
    let found = cx.db().contains(key, now);
    if (how.nx && found) || (how.xx && !found) {
        if !how.get {
            match replies {
                SetReplies::OkOrNull => cx.reply.null(),
                SetReplies::OneOrZero => cx.reply.int(0),
            }
        }
        return Ok(());
    }
    // Copied: `value` points into the connection's read buffer.
    let stored = Value::str(value);
    if how.keepttl {
        cx.db().insert_keep_ttl(key, stored, now);
    } else {
        cx.db().insert(key, stored, now);
    }
    cx.modified(db, key);
    cx.notify(Notify::String, "set", db, key);
    if let Some(at) = how.deadline {
        cx.db().set_expire(key, at, now);
        cx.notify(Notify::Generic, "expire", db, key);
    }
    if !how.get {
        match replies {
            SetReplies::OkOrNull => cx.reply.ok(),
            SetReplies::OneOrZero => cx.reply.int(1),
        }
    }
    Ok(())
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL]`
fn set(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let o = parse_opts(&argv[3..], OptsFor::Set)?;
    let deadline = match o.expire {
        Some((kind, arg)) => Some(expire_deadline(arg, kind, cx.now_ms, "set")?),
        None => None,
    };
    let how = SetHow { nx: o.nx, xx: o.xx, get: o.get, keepttl: o.keepttl, deadline };
    set_generic(cx, argv[1], argv[2], &how, SetReplies::OkOrNull)
}

fn setnx(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let how = SetHow { nx: true, ..SetHow::default() };
    set_generic(cx, argv[1], argv[2], &how, SetReplies::OneOrZero)
}

/// `SETEX`/`PSETEX key time value`.
fn set_with_ttl(cx: &mut Ctx<'_>, argv: &[&[u8]], kind: ExpireKind, cmd: &'static str) -> CmdResult {
    let deadline = Some(expire_deadline(argv[2], kind, cx.now_ms, cmd)?);
    let how = SetHow { deadline, ..SetHow::default() };
    set_generic(cx, argv[1], argv[3], &how, SetReplies::OkOrNull)
}

fn setex(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    set_with_ttl(cx, argv, ExpireKind::Ex, "setex")
}

fn psetex(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    set_with_ttl(cx, argv, ExpireKind::Px, "psetex")
}

fn getset(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    get_generic(cx, key)?;
    let (db, now) = (cx.db, cx.now_ms);
    cx.db().insert(key, Value::str(argv[2]), now);
    cx.modified(db, key);
    cx.notify(Notify::String, "set", db, key);
    Ok(())
}

fn getdel(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    get_generic(cx, key)?;
    let (db, now) = (cx.db, cx.now_ms);
    if cx.db().remove(key, now).is_some() {
        cx.modified(db, key);
        cx.notify(Notify::Generic, "del", db, key);
    }
    Ok(())
}

/// `GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST]`. Redis validates the expire time only after finding the key
/// and checking its type, so `GETEX missing EX 0` is a null reply, not an error.
fn getex(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let o = parse_opts(&argv[2..], OptsFor::GetEx)?;
    let key = argv[1];
    let (db, now) = (cx.db, cx.now_ms);
    let deadline = match lookup_read(cx.engine, db, key, now) {
        None => {
            cx.reply.null();
            return Ok(());
        }
        Some(Value::Str(s)) => {
            let deadline = match o.expire {
                Some((kind, arg)) => Some((kind, expire_deadline(arg, kind, now, "getex")?)),
                None => None,
            };
            // Replied before the key is possibly deleted below.
            reply_str(&mut cx.reply, s);
            deadline
        }
        Some(_) => return Err(CmdError::WrongType),
    };
    match deadline {
        // Redis's `checkAlreadyExpired`: an absolute time not after now deletes the key at once.
        Some((kind, at)) if !kind.is_relative() && at <= now => {
            cx.db().remove(key, now);
            cx.modified(db, key);
            cx.notify(Notify::Generic, "del", db, key);
        }
        Some((_, at)) => {
            cx.db().set_expire(key, at, now);
            cx.modified(db, key);
            cx.notify(Notify::Generic, "expire", db, key);
        }
        // Only a key that had a TTL counts as changed.
        None if o.persist && cx.db().persist(key, now) => {
            cx.modified(db, key);
            cx.notify(Notify::Generic, "persist", db, key);
        }
        None => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// MGET, MSET, MSETNX
// ---------------------------------------------------------------------------------------------------------------

/// Missing keys and keys of other types are both null: `MGET` never fails with `WRONGTYPE`.
fn mget(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let keys = &argv[1..];
    cx.reply.array(keys.len());
    for key in keys {
        match lookup_read(cx.engine, cx.db, key, cx.now_ms) {
            Some(Value::Str(s)) => reply_str(&mut cx.reply, s),
            _ => cx.reply.null(),
        }
    }
    Ok(())
}

/// Stores every pair, clearing TTLs; later pairs win when a key repeats.
fn mset_pairs(cx: &mut Ctx<'_>, pairs: &[&[u8]]) {
    let (db, now) = (cx.db, cx.now_ms);
    for pair in pairs.chunks_exact(2) {
        cx.db().insert(pair[0], Value::str(pair[1]), now);
        cx.modified(db, pair[0]);
        cx.notify(Notify::String, "set", db, pair[0]);
    }
}

fn mset(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    if argv.len() % 2 == 0 {
        return Err(CmdError::Arity("mset".into()));
    }
    mset_pairs(cx, &argv[1..]);
    cx.reply.ok();
    Ok(())
}

/// All or nothing: if any key exists, nothing is written and the reply is 0.
fn msetnx(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    if argv.len() % 2 == 0 {
        return Err(CmdError::Arity("msetnx".into()));
    }
    let now = cx.now_ms;
    let pairs = &argv[1..];
    if pairs.chunks_exact(2).any(|pair| cx.db().contains(pair[0], now)) {
        cx.reply.int(0);
        return Ok(());
    }
    mset_pairs(cx, pairs);
    cx.reply.int(1);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// INCR family
// ---------------------------------------------------------------------------------------------------------------

/// Redis's `incrDecrCommand`: adds `delta` to the integer under `key` (0 if missing). The value is rewritten in
/// place, so the key keeps its TTL.
fn incr_decr(cx: &mut Ctx<'_>, key: &[u8], delta: i64) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    let store = &mut cx.engine.dbs[db];
    let new = match store.get_mut(key, now) {
        Some(Value::Str(s)) => {
            let old = parse_i64(s.as_bytes()).ok_or(CmdError::NotInteger)?;
            let new = old.checked_add(delta).ok_or(CmdError::Overflow)?;
            *s = Str::from_i64(new);
            new
        }
        Some(_) => return Err(CmdError::WrongType),
        None => {
            store.insert(key, Value::Str(Str::from_i64(delta)), now);
            delta
        }
    };
    cx.modified(db, key);
    cx.notify(Notify::String, "incrby", db, key);
    cx.reply.int(new);
    Ok(())
}

fn incr(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    incr_decr(cx, argv[1], 1)
}

fn decr(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    incr_decr(cx, argv[1], -1)
}

fn incrby(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let delta = int_arg(argv[2])?;
    incr_decr(cx, argv[1], delta)
}

fn decrby(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let delta = int_arg(argv[2])?;
    // i64::MIN has no negation; Redis words this one differently from the overflow in the addition.
    let delta = delta.checked_neg().ok_or(err("ERR decrement would overflow"))?;
    incr_decr(cx, argv[1], delta)
}

/// The stored result is the human-friendly decimal text (`10.5`, never `1.05e1`), which is also the reply: a bulk
/// string in RESP2 and RESP3 alike. The key keeps its TTL.
fn incrbyfloat(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let (db, now) = (cx.db, cx.now_ms);
    // Redis checks the type, then parses the stored value, then the increment.
    let (current, existed) = match cx.db().get(key, now) {
        Some(Value::Str(s)) => (parse_long_double(s.as_bytes()).ok_or(CmdError::NotFloat)?, true),
        Some(_) => return Err(CmdError::WrongType),
        None => (LongDouble::ZERO, false),
    };
    let incr = parse_long_double(argv[2]).ok_or(CmdError::NotFloat)?;
    let sum = current + incr;
    if !sum.is_finite() {
        return Err(err("ERR increment would produce NaN or Infinity"));
    }
    let text = num::format_human(sum);
    let stored = Value::Str(Str::from(&text[..]));
    if existed {
        cx.db().insert_keep_ttl(key, stored, now);
    } else {
        cx.db().insert(key, stored, now);
    }
    cx.modified(db, key);
    cx.notify(Notify::String, "incrbyfloat", db, key);
    cx.reply.bulk(&text);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// APPEND, STRLEN, GETRANGE, SETRANGE
// ---------------------------------------------------------------------------------------------------------------

/// Appends in place (the key keeps its TTL); a missing key is created with the argument as its value.
fn append(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (key, tail) = (argv[1], argv[2]);
    let (db, now) = (cx.db, cx.now_ms);
    let store = &mut cx.engine.dbs[db];
    let total = match store.get_mut(key, now) {
        Some(Value::Str(s)) => {
            check_string_length(s.len() as u64, tail.len())?;
            s.append(tail)
        }
        Some(_) => return Err(CmdError::WrongType),
        None => {
            store.insert(key, Value::str(tail), now);
            tail.len()
        }
    };
    cx.modified(db, key);
    cx.notify(Notify::String, "append", db, key);
    cx.reply.int(total as i64);
    Ok(())
}

fn strlen(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let len = match lookup_read(cx.engine, cx.db, argv[1], cx.now_ms) {
        Some(Value::Str(s)) => s.len(),
        Some(_) => return Err(CmdError::WrongType),
        None => 0,
    };
    cx.reply.int(len as i64);
    Ok(())
}

/// The byte range `GETRANGE start end` selects from a string of `len` bytes, with Redis 7.0's rules: negative
/// indices count from the end, both ends are clamped into the string, and an empty or inverted range (including
/// two negative indices with `start > end`) selects nothing.
fn substr_range(start: i64, end: i64, len: usize) -> Option<std::ops::RangeInclusive<usize>> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let resolve = |i: i64| if i < 0 { (i + len).max(0) } else { i };
    let start = resolve(start);
    let end = resolve(end).min(len - 1);
    if len == 0 || start > end {
        return None;
    }
    // Both are in 0..len here.
    Some(start.unsigned_abs() as usize..=end.unsigned_abs() as usize)
}

/// `GETRANGE` and its old name `SUBSTR`. A missing key is the empty string, not null.
fn getrange(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let start = int_arg(argv[2])?;
    let end = int_arg(argv[3])?;
    match lookup_read(cx.engine, cx.db, argv[1], cx.now_ms) {
        None => cx.reply.bulk(b""),
        Some(Value::Str(s)) => match substr_range(start, end, s.len()) {
            None => cx.reply.bulk(b""),
            Some(range) if range.end() - range.start() + 1 >= SHARE_REPLY_MIN_BYTES => {
                cx.reply.bulk_shared(s.to_bytes().slice(range));
            }
            Some(range) => cx.reply.bulk(&s.as_bytes()[range]),
        },
        Some(_) => return Err(CmdError::WrongType),
    }
    Ok(())
}

/// Overwrites from `offset`, zero-padding a gap; replies with the new length. An empty value writes nothing, not
/// even a missing key.
fn setrange(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (key, data) = (argv[1], argv[3]);
    let offset = int_arg(argv[2])?;
    if offset < 0 {
        return Err(err("ERR offset is out of range"));
    }
    let offset = offset.unsigned_abs();
    let (db, now) = (cx.db, cx.now_ms);
    let store = &mut cx.engine.dbs[db];
    let len = match store.get_mut(key, now) {
        Some(Value::Str(s)) => {
            if data.is_empty() {
                cx.reply.int(s.len() as i64);
                return Ok(());
            }
            check_string_length(offset, data.len())?;
            // In range: the check above bounds offset by 512 MB.
            s.set_range(offset as usize, data)
        }
        Some(_) => return Err(CmdError::WrongType),
        None => {
            if data.is_empty() {
                cx.reply.int(0);
                return Ok(());
            }
            check_string_length(offset, data.len())?;
            let mut s = Str::empty();
            let len = s.set_range(offset as usize, data);
            store.insert(key, Value::Str(s), now);
            len
        }
    };
    cx.modified(db, key);
    cx.notify(Notify::String, "setrange", db, key);
    cx.reply.int(len as i64);
    Ok(())
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::kv::testing::{NOT_FLOAT, NOT_INT, NULL2, SYNTAX, T, T0, WRONGTYPE};

    /// Helpers only this family's tests need, on the shared harness.
    trait StringsExt {
        fn make_list(&mut self, key: &str);
        fn is_list(&mut self, key: &str) -> bool;
    }

    impl StringsExt for T {
        fn make_list(&mut self, key: &str) {
            let now = self.now();
            self.e.dbs[0].insert(key.as_bytes(), Value::new_list(), now);
        }

        fn is_list(&mut self, key: &str) -> bool {
            let now = self.now();
            matches!(self.e.dbs[0].get(key.as_bytes(), now), Some(Value::List(_)))
        }
    }

    fn bulk(s: &str) -> String {
        format!("${}\r\n{s}\r\n", s.len())
    }

    fn int(n: i64) -> String {
        format!(":{n}\r\n")
    }

    #[test]
    fn get_and_set_round_trip() {
        let mut t = T::new();
        assert_eq!(t.call(&["GET", "k"]), NULL2);
        assert_eq!(t.call(&["SET", "k", "v"]), "+OK\r\n");
        assert_eq!(t.call(&["get", "k"]), bulk("v"));
        assert_eq!(t.call(&["SET", "k", ""]), "+OK\r\n");
        assert_eq!(t.call(&["GET", "k"]), "$0\r\n\r\n");
        t.resp3();
        assert_eq!(t.call(&["GET", "missing"]), "_\r\n");
        assert_eq!(t.call(&["GET", "k"]), "$0\r\n\r\n");
    }

    #[test]
    fn values_and_keys_are_binary_safe() {
        let mut t = T::new();
        let key: &[u8] = b"k\x00\xff";
        let value: &[u8] = b"a\r\nb\x00\xfe";
        assert_eq!(t.raw(&[b"SET", key, value]), b"+OK\r\n");
        assert_eq!(t.raw(&[b"GET", key]), b"$6\r\na\r\nb\x00\xfe\r\n");
        assert_eq!(t.raw(&[b"STRLEN", key]), b":6\r\n");
        assert_eq!(t.raw(&[b"GET", b"k"]), b"$-1\r\n");
    }

    #[test]
    fn large_values_are_returned_intact() {
        let mut t = T::new();
        let value: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(t.raw(&[b"SET", b"big", &value]), b"+OK\r\n");
        let mut want = b"$100000\r\n".to_vec();
        want.extend_from_slice(&value);
        want.extend_from_slice(b"\r\n");
        assert_eq!(t.raw(&[b"GET", b"big"]), want);
        assert_eq!(t.raw(&[b"MGET", b"big"]), [&b"*1\r\n"[..], &want].concat());
        // A large range is shared, a small one copied; both exact.
        let mut want = b"$90000\r\n".to_vec();
        want.extend_from_slice(&value[10_000..]);
        want.extend_from_slice(b"\r\n");
        assert_eq!(t.raw(&[b"GETRANGE", b"big", b"10000", b"-1"]), want);
        assert_eq!(t.raw(&[b"GETRANGE", b"big", b"1", b"3"]), b"$3\r\n\x01\x02\x03\r\n");
    }

    #[test]
    fn wrong_type_errors_and_writes_nothing() {
        let mut t = T::new();
        t.make_list("l");
        let failing: &[&[&str]] = &[
            &["GET", "l"],
            &["SET", "l", "v", "GET"],
            &["GETSET", "l", "v"],
            &["GETDEL", "l"],
            &["GETEX", "l"],
            &["GETEX", "l", "PERSIST"],
            &["APPEND", "l", "x"],
            &["STRLEN", "l"],
            &["INCR", "l"],
            &["DECR", "l"],
            &["INCRBY", "l", "2"],
            &["DECRBY", "l", "2"],
            &["INCRBYFLOAT", "l", "1.5"],
            &["GETRANGE", "l", "0", "-1"],
            &["SUBSTR", "l", "0", "-1"],
            &["SETRANGE", "l", "0", "x"],
            &["SETRANGE", "l", "0", ""],
        ];
        let dirty = t.dirty();
        for argv in failing {
            assert_eq!(t.call(argv), WRONGTYPE, "{argv:?}");
            assert!(t.is_list("l"), "{argv:?} must not write");
        }
        assert_eq!(t.dirty(), dirty);
        // MGET answers null for a non-string instead of failing.
        assert_eq!(t.call(&["MGET", "l"]), format!("*1\r\n{NULL2}"));
        // A plain SET replaces whatever was there.
        assert_eq!(t.call(&["SET", "l", "v"]), "+OK\r\n");
        assert_eq!(t.call(&["GET", "l"]), bulk("v"));
    }

    #[test]
    fn set_nx_xx_and_get() {
        let mut t = T::new();
        assert_eq!(t.call(&["SET", "k", "v1", "NX"]), "+OK\r\n");
        assert_eq!(t.call(&["SET", "k", "v2", "NX"]), NULL2);
        assert_eq!(t.call(&["GET", "k"]), bulk("v1"));
        assert_eq!(t.call(&["SET", "other", "v", "XX"]), NULL2);
        assert!(!t.exists("other"));
        assert_eq!(t.call(&["SET", "k", "v3", "xx"]), "+OK\r\n");
        assert_eq!(t.call(&["GET", "k"]), bulk("v3"));
        // GET replies with the old value (or null) instead of OK.
        assert_eq!(t.call(&["SET", "k", "v4", "GET"]), bulk("v3"));
        assert_eq!(t.call(&["SET", "new", "v", "GET"]), NULL2);
        assert_eq!(t.call(&["GET", "new"]), bulk("v"));
        // Redis 7.0 allows NX with GET: the old value is returned and nothing is written.
        assert_eq!(t.call(&["SET", "k", "v5", "NX", "GET"]), bulk("v4"));
        assert_eq!(t.call(&["GET", "k"]), bulk("v4"));
        assert_eq!(t.call(&["SET", "nx-get", "v", "GET", "NX"]), NULL2);
        assert_eq!(t.call(&["GET", "nx-get"]), bulk("v"));
        assert_eq!(t.call(&["SET", "absent", "v", "XX", "GET"]), NULL2);
        assert!(!t.exists("absent"));
        t.resp3();
        assert_eq!(t.call(&["SET", "k", "v", "NX"]), "_\r\n");
        assert_eq!(t.call(&["SET", "missing", "v", "GET"]), "_\r\n");
    }

    #[test]
    fn set_option_conflicts_are_syntax_errors() {
        let mut t = T::new();
        let bad: &[&[&str]] = &[
            &["NX", "XX"],
            &["XX", "NX"],
            &["EX", "10", "PX", "100"],
            &["PX", "100", "EX", "10"],
            &["EX", "10", "EXAT", "2000000000"],
            &["EXAT", "2000000000", "PXAT", "2000000000000"],
            &["PXAT", "2000000000000", "EX", "1"],
            &["EX", "10", "KEEPTTL"],
            &["KEEPTTL", "PX", "10"],
            &["KEEPTTL", "EXAT", "2000000000"],
            &["EX"],
            &["NX", "PX"],
            &["PERSIST"],
            &["FOO"],
            &["NXX"],
            &[""],
            // The conflict is detected before the bad expire value is looked at.
            &["EX", "0", "NX", "XX"],
        ];
        for opts in bad {
            let argv: Vec<&str> = ["SET", "k", "v"].iter().chain(opts.iter()).copied().collect();
            assert_eq!(t.call(&argv), SYNTAX, "{opts:?}");
            assert!(!t.exists("k"), "{opts:?}");
        }
        let good: &[&[&str]] = &[
            &["NX", "NX"],
            &["xx", "XX"],
            &["GET", "get"],
            &["KEEPTTL", "keepttl"],
            &["ex", "10", "EX", "20"],
            &["NX", "GET", "EX", "10"],
        ];
        for opts in good {
            let argv: Vec<&str> = ["SET", "k", "v"].iter().chain(opts.iter()).copied().collect();
            assert!(!t.call(&argv).starts_with('-'), "{opts:?}");
        }
        // With EX repeated, the last value wins.
        t.call(&["SET", "k", "v", "EX", "10", "EX", "20"]);
        assert_eq!(t.deadline("k"), Some(T0 + 20_000));
        // Options compare as C strings, as in Redis: "NX\0junk" is NX.
        assert_eq!(t.raw(&[b"SET", b"k", b"v", b"NX\x00junk"]), b"$-1\r\n");
    }

    #[test]
    fn set_expire_validation() {
        let mut t = T::new();
        let invalid = "-ERR invalid expire time in 'set' command\r\n";
        let cases: &[(&[&str], &str)] = &[
            (&["EX", "0"], invalid),
            (&["EX", "-1"], invalid),
            (&["PX", "0"], invalid),
            (&["EXAT", "0"], invalid),
            (&["PXAT", "-5"], invalid),
            // Seconds that overflow when scaled to ms.
            (&["EX", "9223372036854776"], invalid),
            (&["EXAT", "9223372036854776"], invalid),
            // Relative times that overflow when now is added.
            (&["PX", "9223372036854775807"], invalid),
            (&["EX", "9223372036854775"], invalid),
            (&["EX", "abc"], NOT_INT),
            (&["PX", "1.5"], NOT_INT),
            (&["EX", " 10"], NOT_INT),
        ];
        for (opts, want) in cases {
            let argv: Vec<&str> = ["SET", "k", "v"].iter().chain(opts.iter()).copied().collect();
            assert_eq!(t.call(&argv), *want, "{opts:?}");
            assert!(!t.exists("k"), "{opts:?}");
        }
        // The largest absolute deadlines are fine.
        assert_eq!(t.call(&["SET", "k", "v", "PXAT", "9223372036854775807"]), "+OK\r\n");
        assert_eq!(t.deadline("k"), Some(i64::MAX as u64));
        assert_eq!(t.call(&["SET", "k", "v", "EXAT", "9223372036854775"]), "+OK\r\n");
        assert_eq!(t.deadline("k"), Some(9_223_372_036_854_775_000));
        // The expire time is validated before GET looks at the key's type.
        t.make_list("l");
        assert_eq!(t.call(&["SET", "l", "v", "GET", "EX", "0"]), invalid);
        // SETEX and PSETEX name themselves in the error.
        assert_eq!(t.call(&["SETEX", "k", "0", "v"]), "-ERR invalid expire time in 'setex' command\r\n");
        assert_eq!(t.call(&["PSETEX", "k", "-1", "v"]), "-ERR invalid expire time in 'psetex' command\r\n");
        assert_eq!(t.call(&["SETEX", "k", "x", "v"]), NOT_INT);
        assert_eq!(t.call(&["SETEX", "k", "9223372036854776", "v"]), "-ERR invalid expire time in 'setex' command\r\n");
    }

    #[test]
    fn set_ttl_interplay() {
        let mut t = T::new();
        assert_eq!(t.call(&["SET", "k", "v", "EX", "10"]), "+OK\r\n");
        assert_eq!(t.deadline("k"), Some(T0 + 10_000));
        // A plain SET clears the TTL.
        t.call(&["SET", "k", "v2"]);
        assert_eq!(t.deadline("k"), None);
        // KEEPTTL keeps it.
        t.call(&["SET", "k", "v", "PX", "500"]);
        assert_eq!(t.call(&["SET", "k", "v3", "KEEPTTL"]), "+OK\r\n");
        assert_eq!(t.deadline("k"), Some(T0 + 500));
        assert_eq!(t.call(&["GET", "k"]), bulk("v3"));
        // KEEPTTL on a new key gives no TTL.
        t.call(&["SET", "fresh", "v", "KEEPTTL"]);
        assert_eq!(t.deadline("fresh"), None);
        // Absolute deadlines.
        t.call(&["SET", "a", "v", "EXAT", "1800000000"]);
        assert_eq!(t.deadline("a"), Some(1_800_000_000_000));
        t.call(&["SET", "b", "v", "PXAT", "1800000000123"]);
        assert_eq!(t.deadline("b"), Some(1_800_000_000_123));
        // SETEX/PSETEX set value and TTL; a later SETEX replaces the TTL.
        assert_eq!(t.call(&["SETEX", "s", "5", "v"]), "+OK\r\n");
        assert_eq!(t.deadline("s"), Some(T0 + 5_000));
        assert_eq!(t.call(&["PSETEX", "p", "250", "v"]), "+OK\r\n");
        assert_eq!(t.deadline("p"), Some(T0 + 250));
        // Alive through the deadline millisecond, gone one after.
        t.clock.set_ms(T0 + 500);
        assert_eq!(t.call(&["GET", "k"]), bulk("v3"));
        assert_eq!(t.call(&["GET", "p"]), NULL2);
        t.clock.set_ms(T0 + 501);
        assert_eq!(t.call(&["GET", "k"]), NULL2);
        assert_eq!(t.e.stats.expired_keys, 2);
    }

    #[test]
    fn set_with_a_deadline_in_the_past_leaves_no_key() {
        let mut t = T::new();
        t.call(&["SET", "k", "old"]);
        assert_eq!(t.call(&["SET", "k", "v", "EXAT", "1"]), "+OK\r\n");
        assert_eq!(t.call(&["GET", "k"]), NULL2);
        assert_eq!(t.e.stats.expired_keys, 1);
        let past = (T0 - 1).to_string();
        assert_eq!(t.call(&["SET", "k", "v", "PXAT", &past]), "+OK\r\n");
        assert!(!t.exists("k"));
        assert_eq!(t.call(&["MGET", "k"]), format!("*1\r\n{NULL2}"));
    }

    #[test]
    fn setnx_replies_with_integers() {
        let mut t = T::new();
        assert_eq!(t.call(&["SETNX", "k", "a"]), int(1));
        assert_eq!(t.call(&["SETNX", "k", "b"]), int(0));
        assert_eq!(t.call(&["GET", "k"]), bulk("a"));
        t.make_list("l");
        assert_eq!(t.call(&["SETNX", "l", "x"]), int(0));
        assert_eq!(t.call(&["SETNX", "k"]), "-ERR wrong number of arguments for 'setnx' command\r\n");
    }

    #[test]
    fn getset_returns_old_value_and_clears_ttl() {
        let mut t = T::new();
        assert_eq!(t.call(&["GETSET", "k", "a"]), NULL2);
        t.call(&["SET", "k", "a", "EX", "100"]);
        assert_eq!(t.call(&["GETSET", "k", "b"]), bulk("a"));
        assert_eq!(t.call(&["GET", "k"]), bulk("b"));
        assert_eq!(t.deadline("k"), None);
        t.resp3();
        assert_eq!(t.call(&["GETSET", "new", "x"]), "_\r\n");
    }

    #[test]
    fn getdel_returns_and_deletes() {
        let mut t = T::new();
        t.call(&["SET", "k", "v"]);
        let dirty = t.dirty();
        assert_eq!(t.call(&["GETDEL", "k"]), bulk("v"));
        assert!(!t.exists("k"));
        assert_eq!(t.dirty(), dirty + 1);
        assert_eq!(t.call(&["GETDEL", "k"]), NULL2);
        assert_eq!(t.dirty(), dirty + 1);
        t.resp3();
        assert_eq!(t.call(&["GETDEL", "k"]), "_\r\n");
    }

    #[test]
    fn getex_sets_and_removes_ttl() {
        let mut t = T::new();
        t.call(&["SET", "k", "v"]);
        let dirty = t.dirty();
        // Without options it is a GET that touches nothing.
        assert_eq!(t.call(&["GETEX", "k"]), bulk("v"));
        assert_eq!(t.dirty(), dirty);
        assert_eq!(t.call(&["GETEX", "k", "EX", "100"]), bulk("v"));
        assert_eq!(t.deadline("k"), Some(T0 + 100_000));
        assert_eq!(t.call(&["GETEX", "k", "px", "100"]), bulk("v"));
        assert_eq!(t.deadline("k"), Some(T0 + 100));
        assert_eq!(t.call(&["GETEX", "k", "EXAT", "1800000000"]), bulk("v"));
        assert_eq!(t.deadline("k"), Some(1_800_000_000_000));
        assert_eq!(t.call(&["GETEX", "k", "PXAT", "1800000000001"]), bulk("v"));
        assert_eq!(t.deadline("k"), Some(1_800_000_000_001));
        assert_eq!(t.dirty(), dirty + 4);
        assert_eq!(t.call(&["GETEX", "k", "PERSIST"]), bulk("v"));
        assert_eq!(t.deadline("k"), None);
        assert_eq!(t.dirty(), dirty + 5);
        // PERSIST on a key without a TTL changes nothing.
        assert_eq!(t.call(&["GETEX", "k", "PERSIST"]), bulk("v"));
        assert_eq!(t.dirty(), dirty + 5);
        // An absolute time not after now deletes the key, after replying with its value.
        let now = T0.to_string();
        assert_eq!(t.call(&["GETEX", "k", "PXAT", &now]), bulk("v"));
        assert!(!t.exists("k"));
        assert_eq!(t.e.stats.expired_keys, 0, "deleted, not expired");
        t.call(&["SET", "k", "v"]);
        assert_eq!(t.call(&["GETEX", "k", "EXAT", "1"]), bulk("v"));
        assert!(!t.exists("k"));
        t.resp3();
        assert_eq!(t.call(&["GETEX", "k"]), "_\r\n");
    }

    #[test]
    fn getex_errors_in_redis_order() {
        let mut t = T::new();
        let invalid = "-ERR invalid expire time in 'getex' command\r\n";
        // The expire time is only validated once the key is found: a missing key is null.
        assert_eq!(t.call(&["GETEX", "missing", "EX", "0"]), NULL2);
        assert_eq!(t.call(&["GETEX", "missing", "EX", "abc"]), NULL2);
        t.make_list("l");
        assert_eq!(t.call(&["GETEX", "l", "EX", "0"]), WRONGTYPE);
        t.call(&["SET", "k", "v"]);
        assert_eq!(t.call(&["GETEX", "k", "EX", "0"]), invalid);
        assert_eq!(t.call(&["GETEX", "k", "PXAT", "-1"]), invalid);
        assert_eq!(t.call(&["GETEX", "k", "EX", "9223372036854775"]), invalid);
        assert_eq!(t.call(&["GETEX", "k", "EX", "1e3"]), NOT_INT);
        // Syntax errors come first, even for a missing key.
        for opts in [
            &["PERSIST", "EX", "10"][..],
            &["EX", "10", "PERSIST"],
            &["EX", "10", "PX", "10"],
            &["NX"],
            &["XX"],
            &["GET"],
            &["KEEPTTL"],
            &["EX"],
            &["BOGUS"],
        ] {
            let argv: Vec<&str> = ["GETEX", "missing"].iter().chain(opts.iter()).copied().collect();
            assert_eq!(t.call(&argv), SYNTAX, "{opts:?}");
        }
        assert_eq!(t.call(&["GETEX", "k", "PERSIST", "PERSIST"]), bulk("v"));
        assert_eq!(t.deadline("k"), None);
    }

    #[test]
    fn mget_mixes_values_and_nulls() {
        let mut t = T::new();
        t.call(&["MSET", "a", "1", "b", "22"]);
        t.make_list("l");
        let want = format!("*4\r\n{}{}{NULL2}{NULL2}", bulk("1"), bulk("22"));
        assert_eq!(t.call(&["MGET", "a", "b", "l", "nope"]), want);
        t.resp3();
        assert_eq!(t.call(&["MGET", "nope", "a"]), format!("*2\r\n_\r\n{}", bulk("1")));
    }

    #[test]
    fn mset_and_msetnx() {
        let mut t = T::new();
        let dirty = t.dirty();
        assert_eq!(t.call(&["MSET", "a", "1", "b", "2", "a", "3"]), "+OK\r\n");
        assert_eq!(t.dirty(), dirty + 3);
        assert_eq!(t.call(&["MGET", "a", "b"]), format!("*2\r\n{}{}", bulk("3"), bulk("2")));
        assert_eq!(t.call(&["MSET", "a", "1", "b"]), "-ERR wrong number of arguments for 'mset' command\r\n");
        assert_eq!(t.call(&["MSET", "a"]), "-ERR wrong number of arguments for 'mset' command\r\n");
        // MSET clears TTLs.
        t.call(&["SET", "t", "v", "EX", "10"]);
        t.call(&["MSET", "t", "w"]);
        assert_eq!(t.deadline("t"), None);

        assert_eq!(t.call(&["MSETNX", "x", "1", "a", "9"]), int(0));
        assert!(!t.exists("x"), "all or nothing");
        assert_eq!(t.call(&["GET", "a"]), bulk("3"));
        assert_eq!(t.call(&["MSETNX", "x", "1", "y", "2"]), int(1));
        assert_eq!(t.call(&["MGET", "x", "y"]), format!("*2\r\n{}{}", bulk("1"), bulk("2")));
        assert_eq!(t.call(&["MSETNX", "p", "1", "q"]), "-ERR wrong number of arguments for 'msetnx' command\r\n");
        // A key of another type counts as existing.
        t.make_list("l");
        assert_eq!(t.call(&["MSETNX", "l", "1"]), int(0));
        // An expired key does not.
        t.call(&["SET", "e", "v", "PX", "10"]);
        t.clock.advance_ms(11);
        assert_eq!(t.call(&["MSETNX", "e", "new"]), int(1));
        assert_eq!(t.deadline("e"), None);
    }

    #[test]
    fn incr_family() {
        let mut t = T::new();
        assert_eq!(t.call(&["INCR", "n"]), int(1));
        assert_eq!(t.call(&["INCRBY", "n", "41"]), int(42));
        assert_eq!(t.call(&["DECR", "n"]), int(41));
        assert_eq!(t.call(&["DECRBY", "n", "50"]), int(-9));
        assert_eq!(t.call(&["DECRBY", "n", "-9"]), int(0));
        assert_eq!(t.call(&["GET", "n"]), bulk("0"));
        assert_eq!(t.call(&["DECR", "fresh"]), int(-1));
        assert_eq!(t.call(&["INCRBY", "fresh2", "-5"]), int(-5));
        assert_eq!(t.call(&["DECRBY", "fresh3", "5"]), int(-5));
    }

    #[test]
    fn incr_rejects_what_string2ll_rejects() {
        let mut t = T::new();
        for bad in ["abc", " 1", "1 ", "+1", "01", "-0", "1.0", "", "9223372036854775808"] {
            t.call(&["SET", "n", bad]);
            assert_eq!(t.call(&["INCR", "n"]), NOT_INT, "{bad:?}");
            assert_eq!(t.call(&["GET", "n"]), bulk(bad), "{bad:?} unchanged");
        }
        for bad in ["abc", "1.5", "+1", "", "99999999999999999999"] {
            assert_eq!(t.call(&["INCRBY", "m", bad]), NOT_INT, "{bad:?}");
            assert_eq!(t.call(&["DECRBY", "m", bad]), NOT_INT, "{bad:?}");
        }
        assert!(!t.exists("m"));
    }

    #[test]
    fn incr_overflow() {
        let mut t = T::new();
        let overflow = "-ERR increment or decrement would overflow\r\n";
        t.call(&["SET", "n", "9223372036854775807"]);
        assert_eq!(t.call(&["INCR", "n"]), overflow);
        assert_eq!(t.call(&["INCRBY", "n", "1"]), overflow);
        assert_eq!(t.call(&["DECRBY", "n", "-1"]), overflow);
        assert_eq!(t.call(&["GET", "n"]), bulk("9223372036854775807"));
        t.call(&["SET", "n", "-9223372036854775808"]);
        assert_eq!(t.call(&["DECR", "n"]), overflow);
        assert_eq!(t.call(&["INCRBY", "n", "-1"]), overflow);
        assert_eq!(t.call(&["INCRBY", "n", "9223372036854775807"]), int(-1));
        // Negating i64::MIN is its own error, checked before the key is looked at.
        assert_eq!(t.call(&["DECRBY", "n", "-9223372036854775808"]), "-ERR decrement would overflow\r\n");
        assert_eq!(t.call(&["DECRBY", "z", "-9223372036854775808"]), "-ERR decrement would overflow\r\n");
        assert_eq!(t.call(&["INCRBY", "z", "-9223372036854775808"]), int(i64::MIN));
    }

    #[test]
    fn incr_keeps_the_ttl() {
        let mut t = T::new();
        t.call(&["SET", "n", "10", "EX", "100"]);
        assert_eq!(t.call(&["INCR", "n"]), int(11));
        assert_eq!(t.call(&["INCRBYFLOAT", "n", "0.5"]), bulk("11.5"));
        assert_eq!(t.call(&["APPEND", "n", "0"]), int(5));
        assert_eq!(t.call(&["SETRANGE", "n", "0", "2"]), int(5));
        assert_eq!(t.call(&["GET", "n"]), bulk("21.50"));
        assert_eq!(t.deadline("n"), Some(T0 + 100_000));
        // An expired counter starts again from zero, without the old TTL.
        t.clock.set_ms(T0 + 100_001);
        assert_eq!(t.call(&["INCR", "n"]), int(1));
        assert_eq!(t.deadline("n"), None);
    }

    #[test]
    fn incrbyfloat() {
        let mut t = T::new();
        assert_eq!(t.call(&["INCRBYFLOAT", "f", "10.5"]), bulk("10.5"));
        assert_eq!(t.call(&["INCRBYFLOAT", "f", "0.1"]), bulk("10.6"));
        assert_eq!(t.call(&["INCRBYFLOAT", "f", "-5"]), bulk("5.6"));
        assert_eq!(t.call(&["GET", "f"]), bulk("5.6"));
        t.call(&["SET", "f", "5.0e3"]);
        assert_eq!(t.call(&["INCRBYFLOAT", "f", "2.0e2"]), bulk("5200"));
        t.call(&["SET", "f", "3"]);
        assert_eq!(t.call(&["INCRBYFLOAT", "f", "-3"]), bulk("0"));
        assert_eq!(t.call(&["INCRBYFLOAT", "h", "0x10"]), bulk("16"));
        // A bulk string in RESP3 too, not a double.
        t.resp3();
        assert_eq!(t.call(&["INCRBYFLOAT", "g", "1.5"]), bulk("1.5"));
    }

    #[test]
    fn incrbyfloat_errors() {
        let mut t = T::new();
        let nan_inf = "-ERR increment would produce NaN or Infinity\r\n";
        // 1e400 would overflow an f64 but fits Redis's long double; 1e5000 fits neither.
        for bad in ["abc", "", " 1", "1 ", "nan", "1e5000", "1.2.3"] {
            assert_eq!(t.call(&["INCRBYFLOAT", "f", bad]), NOT_FLOAT, "{bad:?}");
        }
        assert!(!t.exists("f"));
        t.call(&["SET", "s", "abc"]);
        assert_eq!(t.call(&["INCRBYFLOAT", "s", "1"]), NOT_FLOAT);
        assert_eq!(t.call(&["GET", "s"]), bulk("abc"));
        // "inf" parses; only the result is refused.
        assert_eq!(t.call(&["INCRBYFLOAT", "f", "inf"]), nan_inf);
        t.call(&["SET", "f", "1.1e4932"]);
        assert_eq!(t.call(&["INCRBYFLOAT", "f", "1.1e4932"]), nan_inf);
        assert_eq!(t.call(&["GET", "f"]), bulk("1.1e4932"));
        // Computed as Redis's 80-bit long double, not f64: no binary noise in the text.
        t.call(&["SET", "f", "0.1"]);
        assert_eq!(t.call(&["INCRBYFLOAT", "f", "0.2"]), bulk("0.3"));
    }

    #[test]
    fn append_and_strlen() {
        let mut t = T::new();
        assert_eq!(t.call(&["STRLEN", "k"]), int(0));
        assert_eq!(t.call(&["APPEND", "k", "Hello"]), int(5));
        assert_eq!(t.call(&["APPEND", "k", " World"]), int(11));
        assert_eq!(t.call(&["GET", "k"]), bulk("Hello World"));
        assert_eq!(t.call(&["STRLEN", "k"]), int(11));
        // Appending nothing still counts as a write, and creates the key if missing.
        let dirty = t.dirty();
        assert_eq!(t.call(&["APPEND", "k", ""]), int(11));
        assert_eq!(t.call(&["APPEND", "e", ""]), int(0));
        assert!(t.exists("e"));
        assert_eq!(t.dirty(), dirty + 2);
        // Growing past the inline size and beyond.
        let chunk = "x".repeat(1000);
        for i in 1..=10 {
            assert_eq!(t.call(&["APPEND", "big", &chunk]), int(i * 1000));
        }
        assert_eq!(t.call(&["STRLEN", "big"]), int(10_000));
        t.call(&["SET", "n", "12"]);
        assert_eq!(t.call(&["APPEND", "n", "3"]), int(3));
        assert_eq!(t.call(&["INCR", "n"]), int(124));
    }

    #[test]
    fn string_length_limit() {
        let limit = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
        assert!(check_string_length(PROTO_MAX_BULK_LEN - 1, 1).is_ok());
        assert!(check_string_length(0, PROTO_MAX_BULK_LEN as usize).is_ok());
        assert_eq!(check_string_length(PROTO_MAX_BULK_LEN, 1).unwrap_err().to_string(), limit);
        assert_eq!(check_string_length(u64::MAX, 1).unwrap_err().to_string(), limit);
        // Through SETRANGE, without allocating 512 MB.
        let mut t = T::new();
        let want = format!("-{limit}\r\n");
        assert_eq!(t.call(&["SETRANGE", "k", "536870912", "x"]), want);
        assert!(!t.exists("k"));
        t.call(&["SET", "k", "v"]);
        assert_eq!(t.call(&["SETRANGE", "k", "536870911", "xy"]), want);
        assert_eq!(t.call(&["SETRANGE", "k", "9223372036854775807", "x"]), want);
        assert_eq!(t.call(&["GET", "k"]), bulk("v"));
    }

    #[test]
    fn getrange_and_substr() {
        let mut t = T::new();
        t.call(&["SET", "k", "This is a string"]);
        let cases: &[(&str, &str, &str)] = &[
            ("0", "3", "This"),
            ("-3", "-1", "ing"),
            ("0", "-1", "This is a string"),
            ("10", "100", "string"),
            ("-100", "3", "This"),
            // Redis 7.0 clamps both ends to 0 here and returns the first byte (Redis 8 returns "").
            ("-100", "-100", "T"),
            ("-1", "-5", ""),
            ("5", "3", ""),
            ("16", "20", ""),
            ("15", "15", "g"),
            ("-9223372036854775808", "9223372036854775807", "This is a string"),
        ];
        for &(start, end, want) in cases {
            assert_eq!(t.call(&["GETRANGE", "k", start, end]), bulk(want), "{start} {end}");
            assert_eq!(t.call(&["SUBSTR", "k", start, end]), bulk(want), "{start} {end}");
        }
        // A missing key and an empty value are both the empty string, never null (RESP3 too).
        t.call(&["SET", "empty", ""]);
        assert_eq!(t.call(&["GETRANGE", "empty", "0", "-1"]), "$0\r\n\r\n");
        assert_eq!(t.call(&["GETRANGE", "missing", "0", "-1"]), "$0\r\n\r\n");
        t.resp3();
        assert_eq!(t.call(&["GETRANGE", "missing", "0", "-1"]), "$0\r\n\r\n");
        // Indices are parsed before the key is looked up.
        assert_eq!(t.call(&["GETRANGE", "missing", "a", "1"]), NOT_INT);
        assert_eq!(t.call(&["GETRANGE", "k", "0", "1.0"]), NOT_INT);
        assert_eq!(t.call(&["SUBSTR", "k", "0", "9223372036854775808"]), NOT_INT);
        assert_eq!(t.call(&["GETRANGE", "k", "0"]), "-ERR wrong number of arguments for 'getrange' command\r\n");
    }

    #[test]
    fn setrange() {
        let mut t = T::new();
        t.call(&["SET", "k", "Hello World"]);
        assert_eq!(t.call(&["SETRANGE", "k", "6", "Redis"]), int(11));
        assert_eq!(t.call(&["GET", "k"]), bulk("Hello Redis"));
        assert_eq!(t.call(&["SETRANGE", "k", "11", "!!"]), int(13));
        assert_eq!(t.call(&["GET", "k"]), bulk("Hello Redis!!"));
        // A gap is zero-padded, on a new key as on an old one.
        assert_eq!(t.call(&["SETRANGE", "pad", "3", "ab"]), int(5));
        assert_eq!(t.raw(&[b"GET", b"pad"]), b"$5\r\n\x00\x00\x00ab\r\n");
        // An empty value writes nothing: a missing key stays missing.
        let dirty = t.dirty();
        assert_eq!(t.call(&["SETRANGE", "none", "5", ""]), int(0));
        assert!(!t.exists("none"));
        assert_eq!(t.call(&["SETRANGE", "k", "100", ""]), int(13));
        assert_eq!(t.call(&["STRLEN", "k"]), int(13));
        assert_eq!(t.dirty(), dirty);
        assert_eq!(t.call(&["SETRANGE", "k", "-1", "x"]), "-ERR offset is out of range\r\n");
        assert_eq!(t.call(&["SETRANGE", "missing", "-1", ""]), "-ERR offset is out of range\r\n");
        assert_eq!(t.call(&["SETRANGE", "k", "x", "x"]), NOT_INT);
        // An integer value is edited as text.
        t.call(&["SET", "n", "1234"]);
        assert_eq!(t.call(&["SETRANGE", "n", "1", "9"]), int(4));
        assert_eq!(t.call(&["INCR", "n"]), int(1935));
    }

    #[test]
    fn read_lookups_count_keyspace_hits_and_misses() {
        let mut t = T::new();
        t.call(&["SET", "a", "1"]);
        t.call(&["INCR", "a"]);
        t.call(&["APPEND", "b", "x"]);
        t.call(&["SETRANGE", "c", "0", "x"]);
        assert_eq!((t.e.stats.keyspace_hits, t.e.stats.keyspace_misses), (0, 0), "write lookups count nothing");
        t.call(&["GET", "a"]);
        t.call(&["GET", "zz"]);
        t.call(&["MGET", "a", "b", "zz", "yy"]);
        t.call(&["STRLEN", "a"]);
        t.call(&["GETRANGE", "zz", "0", "1"]);
        t.call(&["SET", "a", "2", "GET"]);
        t.call(&["GETSET", "zz", "1"]);
        t.call(&["GETDEL", "zz"]); // GETSET created it: a hit
        t.call(&["GETEX", "nope"]);
        assert_eq!(t.e.stats.keyspace_hits, 6);
        assert_eq!(t.e.stats.keyspace_misses, 6);
    }

    #[test]
    fn every_write_marks_its_keys_once() {
        let mut t = T::new();
        let steps: &[(&[&str], u64)] = &[
            (&["SET", "a", "1"], 1),
            (&["SET", "a", "1", "NX"], 0),
            (&["SET", "a", "1", "XX", "EX", "10"], 1),
            (&["SETNX", "b", "1"], 1),
            (&["SETEX", "c", "10", "1"], 1),
            (&["PSETEX", "c", "10", "1"], 1),
            (&["MSET", "a", "1", "b", "2", "c", "3"], 3),
            (&["MSETNX", "a", "1", "z", "2"], 0),
            (&["MSETNX", "y", "1", "z", "2"], 2),
            (&["GETSET", "a", "2"], 1),
            (&["INCR", "a"], 1),
            (&["DECRBY", "a", "2"], 1),
            (&["INCRBYFLOAT", "a", "1.5"], 1),
            (&["APPEND", "a", "x"], 1),
            (&["SETRANGE", "a", "0", "y"], 1),
            (&["GETEX", "a", "EX", "10"], 1),
            (&["GETEX", "a", "PERSIST"], 1),
            (&["GETEX", "a"], 0),
            (&["GET", "a"], 0),
            (&["GETDEL", "a"], 1),
            (&["GETDEL", "a"], 0),
            (&["INCR", "a"], 1),
        ];
        for (argv, n) in steps {
            let before = t.dirty();
            let reply = t.call(argv);
            assert!(!reply.starts_with('-'), "{argv:?}: {reply}");
            assert_eq!(t.dirty() - before, *n, "{argv:?}");
        }
    }

    #[test]
    fn table_entries() {
        let table = crate::kv::cmd::Table::get();
        let names = [
            "get",
            "set",
            "setnx",
            "setex",
            "psetex",
            "mget",
            "mset",
            "msetnx",
            "getset",
            "getdel",
            "getex",
            "append",
            "strlen",
            "incr",
            "decr",
            "incrby",
            "decrby",
            "incrbyfloat",
            "getrange",
            "substr",
            "setrange",
        ];
        assert_eq!(COMMANDS.len(), names.len());
        for name in names {
            let cmd = table.lookup(name.as_bytes()).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(cmd.group, "string", "{name}");
            assert_eq!(cmd.acl, "@string", "{name}");
            assert!(cmd.has(WRITE) != cmd.has(READONLY), "{name}: exactly one of write/readonly");
            crate::kv::cmd::syntax::parse(cmd.syntax).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let set = table.lookup(b"SET").unwrap();
        assert_eq!((set.arity, set.keys), (-3, (1, 1, 1)));
        assert_eq!(table.lookup(b"mset").unwrap().keys, (1, -1, 2));
        assert_eq!(table.lookup(b"mget").unwrap().keys, (1, -1, 1));
        assert!(table.lookup(b"getex").unwrap().has(WRITE | FAST));
    }
}
