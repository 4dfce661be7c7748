//! Sorted-set commands: ZADD, ZINCRBY, ZSCORE, ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT, ZRANK, ZREVRANK, ZREM, the ZRANGE
//! family (ZRANGE, ZRANGEBYSCORE, ZREVRANGE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX), the ZREMRANGE family,
//! ZPOPMIN/ZPOPMAX, ZUNIONSTORE/ZINTERSTORE and ZSCAN, on top of the skip list in [`zset`](super::zset).
//!
//! ```text
//!  argv --handler--> parse options, numbers and ranges (before the key lookup, in Redis's order, so the first
//!                    error Redis would report is the one we report)
//!       --> Db lookup: reads count keyspace hits/misses (lookupKeyRead), writes do not (lookupKeyWrite)
//!       --> ZSet: a score/lex/rank range becomes a rank interval in O(log n), then an O(m) walk
//!       --> cx.notify(z...) [+ "del" when the set emptied and its key went] + cx.modified
//!           [+ signal_key_ready when elements arrived, for BZPOPMIN] --> Reply
//! ```
//!
//! Replies follow Redis 7.0's `t_zset.c`: scores are doubles ([`Reply::double`]: `%.17g` bulk strings in RESP2,
//! `,` doubles in RESP3). With `WITHSCORES`, RESP2 gets a flat `member, score, ...` array and RESP3 an array of
//! `[member, score]` pairs, as Redis's `zrangeResultEmitCBufferToClient` emits them; `ZPOPMIN key count` nests
//! pairs in RESP3 only when a count was given. `ZSCAN` replies scores as bulk strings in both protocols.
//!
//! The popping logic is shared with the blocking pops: [`pop_members`] works on a [`ZSet`], [`pop_from_key`] on a
//! key (with the notifications and the key deletion), and [`reply_popped`] writes the reply.
//!
//! Simplifications against Redis:
//! * `ZUNIONSTORE`/`ZINTERSTORE` order their inputs by size with a stable sort where Redis uses `qsort`; for
//!   inputs of equal size the order (and so, with `AGGREGATE SUM`, the floating-point summation order) can
//!   differ from Redis's in the last bit.
//! * `server.dirty` grows by one per changed key, not by one per changed element as in Redis (see
//!   [`Ctx::modified`]).

use super::cmd::{flag::*, Command};
use super::dict::{Dict, Key};
use super::error::{err, CmdError, CmdResult};
use super::exec::{remove_elements, Ctx, Elements, Engine, Notify};
use super::keys::{parse_cursor, parse_scan_opts, scan_collection, scan_reply};
use super::num::{format_double, parse_f64, parse_i64};
use super::reply::{Reply, Resp};
use super::value::{SetValue, Value};
use super::zset::{normalize_rank_range, LexBound, RangeIter, ScoreBound, ZSet};
use bytes::Bytes;

const XX_AND_NX: CmdError = err("ERR XX and NX options at the same time are not compatible");
const GT_LT_NX: CmdError = err("ERR GT, LT, and/or NX options at the same time are not compatible");
const INCR_SINGLE_PAIR: CmdError = err("ERR INCR option supports a single increment-element pair");
const NAN_SCORE: CmdError = err("ERR resulting score is not a number (NaN)");
const SCORE_RANGE: CmdError = err("ERR min or max is not a float");
const LEX_RANGE: CmdError = err("ERR min or max not valid string range item");
const LIMIT_NEEDS_BY: CmdError =
    err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
const WITHSCORES_BYLEX: CmdError = err("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
const WEIGHT_NOT_FLOAT: CmdError = err("ERR weight value is not a float");
const NOT_POSITIVE: CmdError = err("ERR value is out of range, must be positive");
const INVALID_CURSOR: CmdError = err("ERR invalid cursor");

const RANGE_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number \
of elements returned.";
const RANGE_LIMIT_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the \
number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you \
can consider it O(log(N)).";
const REMRANGE_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the \
number of elements removed by the operation.";
const POP_COMPLEXITY: &str =
    "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.";
const COUNT_COMPLEXITY: &str = "O(log(N)) with N being the number of elements in the sorted set.";
const STORE_SYNTAX: &str = "destination numkeys:integer key [key ...] [WEIGHTS weight:integer [weight:integer ...]] \
[AGGREGATE SUM|MIN|MAX]";

pub static COMMANDS: &[Command] = &[
    Command::new(
        "zadd",
        -4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        "Add one or more members to a sorted set, or update its score if it already exists",
        "key [NX|XX] [GT|LT] [CH] [INCR] (score:double member)...",
        zadd,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zincrby",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "O(log(N)) where N is the number of elements in the sorted set.",
        "Increment the score of a member in a sorted set",
        "key increment:integer member",
        zincrby,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zscore",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "O(1)",
        "Get the score associated with the given member in a sorted set",
        "key member",
        zscore,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zmscore",
        -3,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        "6.2.0",
        "O(N) where N is the number of members being requested.",
        "Get the score associated with the given members in a sorted set",
        "key member [member ...]",
        zmscore,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zcard",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "O(1)",
        "Get the number of members in a sorted set",
        "key",
        zcard,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zcount",
        4,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        COUNT_COMPLEXITY,
        "Count the members in a sorted set with scores within the given values",
        "key min:double max:double",
        zcount,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zlexcount",
        4,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        "2.8.9",
        COUNT_COMPLEXITY,
        "Count the number of members in a sorted set between a given lexicographical range",
        "key min max",
        zlexcount,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zrank",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "O(log(N))",
        "Determine the index of a member in a sorted set",
        "key member",
        zrank,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zrevrank",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "O(log(N))",
        "Determine the index of a member in a sorted set, with scores ordered from high to low",
        "key member",
        zrevrank,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zrem",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be \
         removed.",
        "Remove one or more members from a sorted set",
        "key member [member ...]",
        zrem,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zrange",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        RANGE_COMPLEXITY,
        "Return a range of members in a sorted set",
        "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset:integer count:integer] [WITHSCORES]",
        zrange,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zrangebyscore",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "1.0.5",
        RANGE_LIMIT_COMPLEXITY,
        "Return a range of members in a sorted set, by score",
        "key min:double max:double [WITHSCORES] [LIMIT offset:integer count:integer]",
        zrangebyscore,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zrevrange",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        RANGE_COMPLEXITY,
        "Return a range of members in a sorted set, by index, with scores ordered from high to low",
        "key start:integer stop:integer [WITHSCORES]",
        zrevrange,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zrevrangebyscore",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "2.2.0",
        RANGE_LIMIT_COMPLEXITY,
        "Return a range of members in a sorted set, by score, with scores ordered from high to low",
        "key max:double min:double [WITHSCORES] [LIMIT offset:integer count:integer]",
        zrevrangebyscore,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zrangebylex",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "2.8.9",
        RANGE_LIMIT_COMPLEXITY,
        "Return a range of members in a sorted set, by lexicographical range",
        "key min max [LIMIT offset:integer count:integer]",
        zrangebylex,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zrevrangebylex",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "2.8.9",
        RANGE_LIMIT_COMPLEXITY,
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
        "key max min [LIMIT offset:integer count:integer]",
        zrevrangebylex,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zremrangebyrank",
        4,
        WRITE,
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        REMRANGE_COMPLEXITY,
        "Remove all members in a sorted set within the given indexes",
        "key start:integer stop:integer",
        zremrangebyrank,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zremrangebyscore",
        4,
        WRITE,
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        REMRANGE_COMPLEXITY,
        "Remove all members in a sorted set within the given scores",
        "key min:double max:double",
        zremrangebyscore,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zremrangebylex",
        4,
        WRITE,
        (1, 1, 1),
        "sorted-set",
        "2.8.9",
        REMRANGE_COMPLEXITY,
        "Remove all members in a sorted set between the given lexicographical range",
        "key min max",
        zremrangebylex,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zpopmin",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        "sorted-set",
        "5.0.0",
        POP_COMPLEXITY,
        "Remove and return members with the lowest scores in a sorted set",
        "key [count:integer]",
        zpopmin,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zpopmax",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        "sorted-set",
        "5.0.0",
        POP_COMPLEXITY,
        "Remove and return members with the highest scores in a sorted set",
        "key [count:integer]",
        zpopmax,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zunionstore",
        -4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of \
         elements in the resulting sorted set.",
        "Add multiple sorted sets and store the resulting sorted set in a new key",
        STORE_SYNTAX,
        zunionstore,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zinterstore",
        -4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input \
         sorted sets and M being the number of elements in the resulting sorted set.",
        "Intersect multiple sorted sets and store the resulting sorted set in a new key",
        STORE_SYNTAX,
        zinterstore,
    )
    .with_acl("@sortedset"),
    Command::new(
        "zscan",
        -3,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to \
         return back to 0. N is the number of elements inside the collection..",
        "Incrementally iterate sorted sets elements and associated scores",
        "key cursor:integer [MATCH pattern] [COUNT count:integer]",
        zscan,
    )
    .with_acl("@sortedset"),
];

// ---------------------------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------------------------

/// Redis's `lookupKeyRead` + `checkType`: the sorted set under `key`, counting a keyspace hit or miss.
fn read_zset<'e>(engine: &'e mut Engine, db: usize, key: &[u8], now_ms: u64) -> Result<Option<&'e ZSet>, CmdError> {
    let found = engine.dbs[db].get(key, now_ms);
    if found.is_some() {
        engine.stats.keyspace_hits += 1;
    } else {
        engine.stats.keyspace_misses += 1;
    }
    match found {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Redis's `lookupKeyWrite` + `checkType`: the sorted set under `key`, for changing it; counts nothing.
fn write_zset<'e>(
    engine: &'e mut Engine,
    db: usize,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'e mut ZSet>, CmdError> {
    match engine.dbs[db].get_mut(key, now_ms) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Redis compares options as C strings, so an argument with an embedded NUL matches on what precedes it.
fn c_str(arg: &[u8]) -> &[u8] {
    arg.split(|&b| b == 0).next().unwrap_or(arg)
}

/// Redis's `strcasecmp(arg, name) == 0`.
fn is_opt(arg: &[u8], name: &str) -> bool {
    c_str(arg).eq_ignore_ascii_case(name.as_bytes())
}

/// An integer argument (`getLongFromObjectOrReply`).
fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// C's `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// One end of a score range, as Redis's `zslParseRange` reads it: a leading `(` makes it exclusive, and the rest
/// goes through `strtod` with only "the whole C string was consumed" and "not NaN" checked. That is more lenient
/// than a `ZADD` score ([`parse_f64`]): leading white space is skipped, an overflowing value (`1e400`) is an
/// infinity, an underflowing one is 0, an empty string is 0, and the argument ends at its first NUL byte.
fn parse_score_bound(arg: &[u8]) -> Option<ScoreBound> {
    let arg = c_str(arg);
    let (exclusive, text) = match arg.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, arg),
    };
    let value = if text.is_empty() {
        // strtod converts nothing and leaves the end pointer on the terminating NUL, which Redis accepts.
        0.0
    } else {
        let start = text.iter().position(|&b| !is_c_space(b))?;
        let body = &text[start..];
        match parse_f64(body) {
            Some(v) => v,
            None => {
                let v: f64 = std::str::from_utf8(body).ok()?.parse().ok()?;
                if v.is_nan() {
                    return None;
                }
                v
            }
        }
    };
    Some(ScoreBound { value, exclusive })
}

fn score_range(min: &[u8], max: &[u8]) -> Result<(ScoreBound, ScoreBound), CmdError> {
    match (parse_score_bound(min), parse_score_bound(max)) {
        (Some(lo), Some(hi)) => Ok((lo, hi)),
        _ => Err(SCORE_RANGE),
    }
}

fn lex_range<'a>(min: &'a [u8], max: &'a [u8]) -> Result<(LexBound<'a>, LexBound<'a>), CmdError> {
    match (LexBound::parse(min), LexBound::parse(max)) {
        (Some(lo), Some(hi)) => Ok((lo, hi)),
        _ => Err(LEX_RANGE),
    }
}

/// An empty range of `z`, for requests that select nothing.
fn nothing(z: &ZSet) -> RangeIter<'_> {
    z.range_by_rank(usize::MAX, 0, false)
}

/// Members of a range, with their scores if asked: a flat array in RESP2, `[member, score]` pairs in RESP3 (Redis's
/// `zrangeResultBeginClient` and `zrangeResultEmitCBufferToClient`).
fn reply_range(reply: &mut Reply<'_>, items: RangeIter<'_>, withscores: bool) {
    let pairs = withscores && reply.resp() == Resp::V3;
    let n = items.len();
    reply.array(if withscores && !pairs { n * 2 } else { n });
    for (member, score) in items {
        if pairs {
            reply.array(2);
        }
        reply.bulk(member);
        if withscores {
            reply.double(score);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// ZADD, ZINCRBY
// ---------------------------------------------------------------------------------------------------------------

/// The `ZADD` options that change how one element is added (Redis's `ZADD_IN_*`).
#[derive(Clone, Copy, Debug, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    incr: bool,
}

/// What adding one element did (Redis's `ZADD_OUT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Added {
    /// A new member.
    New,
    /// An existing member moved to another score.
    Updated,
    /// An existing member, asked to keep its score: processed, but nothing changed.
    Same,
    /// Not processed: NX on an existing member, XX on a missing one, or GT/LT said no.
    Skipped,
}

/// Redis's `zsetAdd` on one element: the outcome and the member's resulting score.
fn zset_add(z: &mut ZSet, member: &[u8], mut score: f64, f: AddFlags) -> Result<(Added, f64), CmdError> {
    let Some(current) = z.score(member) else {
        if f.xx {
            return Ok((Added::Skipped, score));
        }
        z.insert(member, score);
        return Ok((Added::New, score));
    };
    if f.nx {
        return Ok((Added::Skipped, current));
    }
    if f.incr {
        score += current;
        // inf + -inf
        if score.is_nan() {
            return Err(NAN_SCORE);
        }
    }
    if (f.lt && score >= current) || (f.gt && score <= current) {
        return Ok((Added::Skipped, current));
    }
    if score == current {
        return Ok((Added::Same, score));
    }
    z.insert(member, score);
    Ok((Added::Updated, score))
}

/// Redis's `zaddGenericCommand`, for ZADD and ZINCRBY (which is ZADD with INCR, and like it reads options after
/// the key: `ZINCRBY key nx member` is a syntax error in Redis too).
fn zadd_generic(cx: &mut Ctx<'_>, argv: &[&[u8]], mut f: AddFlags) -> CmdResult {
    let key = argv[1];
    let mut ch = false;
    let mut first = 2;
    while first < argv.len() {
        let opt = argv[first];
        if is_opt(opt, "nx") {
            f.nx = true;
        } else if is_opt(opt, "xx") {
            f.xx = true;
        } else if is_opt(opt, "ch") {
            ch = true;
        } else if is_opt(opt, "incr") {
            f.incr = true;
        } else if is_opt(opt, "gt") {
            f.gt = true;
        } else if is_opt(opt, "lt") {
            f.lt = true;
        } else {
            break;
        }
        first += 1;
    }
    let pairs = &argv[first..];
    if pairs.is_empty() || pairs.len() % 2 != 0 {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(XX_AND_NX);
    }
    // At most one of GT, LT and NX.
    if [f.gt, f.lt, f.nx].iter().filter(|&&on| on).count() > 1 {
        return Err(GT_LT_NX);
    }
    if f.incr && pairs.len() > 2 {
        return Err(INCR_SINGLE_PAIR);
    }
    let scores = pairs.chunks(2).map(|p| parse_f64(p[0]).ok_or(CmdError::NotFloat)).collect::<Result<Vec<_>, _>>()?;

    let (db, now) = (cx.db, cx.now_ms);
    let exists = write_zset(cx.engine, db, key, now)?.is_some();
    if !exists && f.xx {
        // Nothing can be added, and the key is not created.
        if f.incr {
            cx.reply.null();
        } else {
            cx.reply.int(0);
        }
        return Ok(());
    }
    let Value::ZSet(z) = cx.engine.dbs[db].get_or_insert_with(key, now, Value::new_zset) else {
        return Err(CmdError::WrongType);
    };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last_score = 0.0;
    let mut failure = None;
    for (pair, &score) in pairs.chunks(2).zip(&scores) {
        match zset_add(z, pair[1], score, f) {
            Ok((outcome, new_score)) => {
                match outcome {
                    Added::New => added += 1,
                    Added::Updated => updated += 1,
                    Added::Same | Added::Skipped => {}
                }
                if outcome != Added::Skipped {
                    processed += 1;
                }
                last_score = new_score;
            }
            // Only INCR can fail, and it has a single element: nothing was applied before it.
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if z.is_empty() {
        // A key created for elements none of which went in (cannot happen with Redis's rules, but an empty
        // aggregate must never stay in the keyspace).
        cx.engine.dbs[db].remove(key, now);
    }
    if added + updated > 0 {
        cx.notify(Notify::ZSet, if f.incr { "zincr" } else { "zadd" }, db, key);
        cx.modified(db, key);
    }
    if added > 0 {
        cx.engine.signal_key_ready(db, key);
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if f.incr {
        if processed > 0 {
            cx.reply.double(last_score);
        } else {
            cx.reply.null();
        }
    } else {
        cx.reply.int(if ch { added + updated } else { added });
    }
    Ok(())
}

fn zadd(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    zadd_generic(cx, argv, AddFlags::default())
}

fn zincrby(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    zadd_generic(cx, argv, AddFlags { incr: true, ..AddFlags::default() })
}

// ---------------------------------------------------------------------------------------------------------------
// Point reads: ZSCORE, ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT, ZRANK, ZREVRANK
// ---------------------------------------------------------------------------------------------------------------

fn zscore(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    match read_zset(cx.engine, db, argv[1], now)?.and_then(|z| z.score(argv[2])) {
        Some(score) => cx.reply.double(score),
        None => cx.reply.null(),
    }
    Ok(())
}

/// ZMSCORE: one score or null per member; a missing key is all nulls.
fn zmscore(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    let z = read_zset(cx.engine, db, argv[1], now)?;
    cx.reply.array(argv.len() - 2);
    for member in &argv[2..] {
        match z.and_then(|z| z.score(member)) {
            Some(score) => cx.reply.double(score),
            None => cx.reply.null(),
        }
    }
    Ok(())
}

fn zcard(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    let len = read_zset(cx.engine, db, argv[1], now)?.map_or(0, ZSet::len);
    cx.reply.int(len as i64);
    Ok(())
}

/// ZCOUNT: two descents of the skip list, O(log n) however many members are in range.
fn zcount(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (min, max) = score_range(argv[2], argv[3])?;
    let (db, now) = (cx.db, cx.now_ms);
    let n = read_zset(cx.engine, db, argv[1], now)?.map_or(0, |z| z.count_in_score(min, max));
    cx.reply.int(n as i64);
    Ok(())
}

fn zlexcount(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (min, max) = lex_range(argv[2], argv[3])?;
    let (db, now) = (cx.db, cx.now_ms);
    let n = read_zset(cx.engine, db, argv[1], now)?.map_or(0, |z| z.count_in_lex(min, max));
    cx.reply.int(n as i64);
    Ok(())
}

fn rank_generic(cx: &mut Ctx<'_>, argv: &[&[u8]], reverse: bool) -> CmdResult {
    let (db, now) = (cx.db, cx.now_ms);
    match read_zset(cx.engine, db, argv[1], now)?.and_then(|z| z.rank(argv[2], reverse)) {
        Some(rank) => cx.reply.int(rank as i64),
        None => cx.reply.null(),
    }
    Ok(())
}

fn zrank(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    rank_generic(cx, argv, false)
}

fn zrevrank(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    rank_generic(cx, argv, true)
}

// ---------------------------------------------------------------------------------------------------------------
// ZREM and the ZREMRANGE family
// ---------------------------------------------------------------------------------------------------------------

/// ZREM: stops at the member that empties the set (Redis deletes the key there and ignores the rest).
fn zrem(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    remove_elements(cx, argv, Notify::ZSet, "zrem", |v| match v {
        Value::ZSet(z) => Some(&mut **z),
        _ => None,
    })
}

impl Elements for ZSet {
    fn remove_element(&mut self, member: &[u8]) -> bool {
        self.remove(member).is_some()
    }

    fn is_empty(&self) -> bool {
        ZSet::is_empty(self)
    }
}

/// A parsed range of one of the three kinds.
enum Range<'a> {
    /// `start stop`, Redis-style (inclusive, negative from the end), not yet normalised.
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound<'a>, LexBound<'a>),
}

/// Redis's `zremrangeGenericCommand`: the range is parsed before the key is looked up.
fn zremrange_generic(cx: &mut Ctx<'_>, argv: &[&[u8]], range: Range<'_>, event: &'static str) -> CmdResult {
    let (db, now, key) = (cx.db, cx.now_ms, argv[1]);
    let Some(z) = write_zset(cx.engine, db, key, now)? else {
        cx.reply.int(0);
        return Ok(());
    };
    let removed = match range {
        Range::Rank(start, stop) => match normalize_rank_range(start, stop, z.len()) {
            Some((lo, hi)) => z.remove_range_by_rank(lo, hi),
            None => 0,
        },
        Range::Score(min, max) => z.remove_range_by_score(min, max),
        Range::Lex(min, max) => z.remove_range_by_lex(min, max),
    };
    let emptied = z.is_empty();
    if removed > 0 {
        cx.engine.removed_elements(Notify::ZSet, event, db, key, emptied, now);
    }
    cx.reply.int(removed as i64);
    Ok(())
}

fn zremrangebyrank(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let range = Range::Rank(int_arg(argv[2])?, int_arg(argv[3])?);
    zremrange_generic(cx, argv, range, "zremrangebyrank")
}

fn zremrangebyscore(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (min, max) = score_range(argv[2], argv[3])?;
    zremrange_generic(cx, argv, Range::Score(min, max), "zremrangebyscore")
}

fn zremrangebylex(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (min, max) = lex_range(argv[2], argv[3])?;
    zremrange_generic(cx, argv, Range::Lex(min, max), "zremrangebylex")
}

// ---------------------------------------------------------------------------------------------------------------
// The ZRANGE family
// ---------------------------------------------------------------------------------------------------------------

/// What a range command selects by; `Auto` until `ZRANGE`'s `BYSCORE`/`BYLEX` decide (Redis's `zrange_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum By {
    Auto,
    Rank,
    Score,
    Lex,
}

/// Redis's `zrangeGenericCommand`, behind all six range commands. `by` and `reverse` are fixed by the older
/// commands (`None` lets `ZRANGE`'s `REV` decide); an option a command has already fixed is a syntax error, so
/// `ZRANGEBYSCORE .. BYLEX` and `ZREVRANGE .. REV` fail as in Redis. Order of checks: options (including the
/// LIMIT integers), then the LIMIT/WITHSCORES combinations, then min/max, then the key.
fn zrange_generic(cx: &mut Ctx<'_>, argv: &[&[u8]], mut by: By, mut reverse: Option<bool>) -> CmdResult {
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = 4;
    while j < argv.len() {
        let opt = argv[j];
        let left = argv.len() - j - 1;
        if is_opt(opt, "withscores") {
            withscores = true;
        } else if is_opt(opt, "limit") && left >= 2 {
            offset = int_arg(argv[j + 1])?;
            limit = int_arg(argv[j + 2])?;
            j += 2;
        } else if reverse.is_none() && is_opt(opt, "rev") {
            reverse = Some(true);
        } else if by == By::Auto && is_opt(opt, "bylex") {
            by = By::Lex;
        } else if by == By::Auto && is_opt(opt, "byscore") {
            by = By::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let reverse = reverse.unwrap_or(false);
    if by == By::Auto {
        by = By::Rank;
    }
    // Redis tests the count against its "no LIMIT" value, so `LIMIT 0 -1` passes with a rank range.
    if limit != -1 && by == By::Rank {
        return Err(LIMIT_NEEDS_BY);
    }
    if withscores && by == By::Lex {
        return Err(WITHSCORES_BYLEX);
    }
    // The reversed score and lex forms take `max min`.
    let (lo, hi) = if reverse && by != By::Rank { (argv[3], argv[2]) } else { (argv[2], argv[3]) };
    let range = match by {
        By::Auto | By::Rank => Range::Rank(int_arg(lo)?, int_arg(hi)?),
        By::Score => {
            let (min, max) = score_range(lo, hi)?;
            Range::Score(min, max)
        }
        By::Lex => {
            let (min, max) = lex_range(lo, hi)?;
            Range::Lex(min, max)
        }
    };
    let (db, now) = (cx.db, cx.now_ms);
    let Some(z) = read_zset(cx.engine, db, argv[1], now)? else {
        cx.reply.array(0);
        return Ok(());
    };
    // Redis walks `offset` elements from the start of the range, so a negative offset walks off its end; a
    // negative count never runs out.
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let take = usize::try_from(limit).unwrap_or(usize::MAX);
    let items = match range {
        Range::Rank(start, stop) => match normalize_rank_range(start, stop, z.len()) {
            Some((lo, hi)) => z.range_by_rank(lo, hi, reverse),
            None => nothing(z),
        },
        Range::Score(min, max) => z.range_by_score(min, max, reverse, skip, take),
        Range::Lex(min, max) => z.range_by_lex(min, max, reverse, skip, take),
    };
    reply_range(&mut cx.reply, items, withscores);
    Ok(())
}

fn zrange(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(cx, argv, By::Auto, None)
}

fn zrangebyscore(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(cx, argv, By::Score, Some(false))
}

fn zrevrange(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(cx, argv, By::Rank, Some(true))
}

fn zrevrangebyscore(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(cx, argv, By::Score, Some(true))
}

fn zrangebylex(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(cx, argv, By::Lex, Some(false))
}

fn zrevrangebylex(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(cx, argv, By::Lex, Some(true))
}

// ---------------------------------------------------------------------------------------------------------------
// ZPOPMIN, ZPOPMAX (and the building blocks of BZPOPMIN/BZPOPMAX)
// ---------------------------------------------------------------------------------------------------------------

/// The end of a sorted set a pop takes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PopEnd {
    /// Lowest scores first (`ZPOPMIN`, `BZPOPMIN`).
    Min,
    /// Highest scores first (`ZPOPMAX`, `BZPOPMAX`).
    Max,
}

impl PopEnd {
    /// The keyspace event Redis publishes for a pop from this end.
    pub(crate) fn event(self) -> &'static str {
        match self {
            PopEnd::Min => "zpopmin",
            PopEnd::Max => "zpopmax",
        }
    }
}

/// Removes up to `count` members from `end` of `z` and returns them with their scores, in pop order (ascending
/// for [`PopEnd::Min`], descending for [`PopEnd::Max`]). O(count * log n). The caller deletes the key if the set
/// is left empty; [`pop_from_key`] does all of that.
pub(crate) fn pop_members(z: &mut ZSet, end: PopEnd, count: usize) -> Vec<(Key, f64)> {
    let n = count.min(z.len());
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let popped = match end {
            PopEnd::Min => z.pop_min(),
            PopEnd::Max => z.pop_max(),
        };
        match popped {
            Some(pair) => out.push(pair),
            None => break,
        }
    }
    out
}

/// Redis's `genericZpopCommand` without the reply: pops up to `count` members from the sorted set at `key` in
/// database `db`, then publishes `zpopmin`/`zpopmax`, invalidates `WATCH`es, and deletes the key (with a `del`
/// event) if it is now empty. `Ok(None)`: there is no such key. A `count` of 0 pops nothing and changes nothing
/// (`ZPOPMIN key 0` still checks the type). For `BZPOPMIN`/`BZPOPMAX` serving a blocked client: pass count 1 and
/// reply with the key, member and score.
pub(crate) fn pop_from_key(
    engine: &mut Engine,
    db: usize,
    key: &[u8],
    end: PopEnd,
    count: usize,
    now_ms: u64,
) -> Result<Option<Vec<(Key, f64)>>, CmdError> {
    let Some(z) = write_zset(engine, db, key, now_ms)? else {
        return Ok(None);
    };
    let popped = pop_members(z, end, count);
    let emptied = z.is_empty();
    if !popped.is_empty() {
        engine.removed_elements(Notify::ZSet, end.event(), db, key, emptied, now_ms);
    }
    Ok(Some(popped))
}

/// Writes popped members: `member, score, ...` flat, or, with `nested`, an array of `[member, score]` pairs (what
/// Redis sends a RESP3 client that gave `ZPOPMIN` a count). The caller writes any header before (`BZPOPMIN`'s key).
pub(crate) fn reply_popped(reply: &mut Reply<'_>, popped: &[(Key, f64)], nested: bool) {
    reply.array(if nested { popped.len() } else { popped.len() * 2 });
    for (member, score) in popped {
        if nested {
            reply.array(2);
        }
        reply.bulk(member.as_bytes());
        reply.double(*score);
    }
}

/// ZPOPMIN/ZPOPMAX key [count]: a missing key is an empty array; RESP3 nests pairs only when a count was given.
fn zpop_generic(cx: &mut Ctx<'_>, argv: &[&[u8]], end: PopEnd) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match argv.get(2) {
        Some(arg) => {
            let n = int_arg(arg)?;
            if n < 0 {
                return Err(NOT_POSITIVE);
            }
            Some(usize::try_from(n).unwrap_or(usize::MAX))
        }
        None => None,
    };
    let nested = count.is_some() && cx.reply.resp() == Resp::V3;
    let (db, now) = (cx.db, cx.now_ms);
    match pop_from_key(cx.engine, db, argv[1], end, count.unwrap_or(1), now)? {
        Some(popped) => reply_popped(&mut cx.reply, &popped, nested),
        None => cx.reply.array(0),
    }
    Ok(())
}

fn zpopmin(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    zpop_generic(cx, argv, PopEnd::Min)
}

fn zpopmax(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    zpop_generic(cx, argv, PopEnd::Max)
}

// ---------------------------------------------------------------------------------------------------------------
// ZUNIONSTORE, ZINTERSTORE
// ---------------------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
}

/// `AGGREGATE SUM|MIN|MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Redis's `zunionInterAggregate`: a sum that is NaN (`inf + -inf`) becomes 0; MIN and MAX keep the current value
/// when the comparison is false, which is also what happens with a NaN operand.
fn aggregate(target: &mut f64, value: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += value;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if value < *target {
                *target = value;
            }
        }
        Aggregate::Max => {
            if value > *target {
                *target = value;
            }
        }
    }
}

/// One input of a union or intersection: a missing key is an empty input, and a plain set's members score 1.
#[derive(Clone, Copy)]
enum Source<'a> {
    Missing,
    Set(&'a SetValue),
    ZSet(&'a ZSet),
}

impl<'a> Source<'a> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Set(s) => s.len(),
            Source::ZSet(z) => z.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Set(s) => s.contains(member).then_some(1.0),
            Source::ZSet(z) => z.score(member),
        }
    }

    fn entries(&self) -> Box<dyn Iterator<Item = (&'a [u8], f64)> + 'a> {
        match *self {
            Source::Missing => Box::new(std::iter::empty()),
            Source::Set(s) => Box::new(s.iter().map(|m| (m, 1.0))),
            Source::ZSet(z) => Box::new(z.iter()),
        }
    }
}

/// Weighted score of an input element; NaN (`0 * inf`) becomes 0, as in Redis.
fn weighted(score: f64, weight: f64) -> f64 {
    let s = score * weight;
    if s.is_nan() {
        0.0
    } else {
        s
    }
}

/// Union of the inputs, smallest first (Redis's order, which fixes the order aggregates are applied in).
fn union(sources: &[(Source<'_>, f64)], how: Aggregate) -> ZSet {
    let mut acc: Dict<f64> = Dict::new();
    for (src, weight) in sources {
        for (member, score) in src.entries() {
            let score = weighted(score, *weight);
            match acc.get_mut(member) {
                Some(total) => aggregate(total, score, how),
                None => {
                    acc.insert(member, score);
                }
            }
        }
    }
    let mut out = ZSet::new();
    for (member, score) in acc.iter() {
        out.insert(member, *score);
    }
    out
}

/// Intersection: walks the smallest input and looks each member up in the others. O(N*K) for the smallest input
/// of size N and K inputs.
fn inter(sources: &[(Source<'_>, f64)], how: Aggregate) -> ZSet {
    let mut out = ZSet::new();
    let Some(((first, w0), rest)) = sources.split_first() else { return out };
    'members: for (member, score) in first.entries() {
        let mut total = weighted(score, *w0);
        for (src, weight) in rest {
            match src.score(member) {
                Some(s) => aggregate(&mut total, s * weight, how),
                None => continue 'members,
            }
        }
        out.insert(member, total);
    }
    out
}

/// Redis's `zunionInterDiffGenericCommand` for the STORE forms. Order of checks: numkeys, the key count, the input
/// keys' types (so WRONGTYPE beats a bad option), then WEIGHTS/AGGREGATE.
fn store_generic(cx: &mut Ctx<'_>, argv: &[&[u8]], op: SetOp, name: &'static str) -> CmdResult {
    let dst = argv[1];
    let numkeys = int_arg(argv[2])?;
    if numkeys < 1 {
        return Err(CmdError::msg(format!("ERR at least 1 input key is needed for '{name}' command")));
    }
    let n = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if n > argv.len() - 3 {
        return Err(CmdError::Syntax);
    }
    let keys = &argv[3..3 + n];
    let (db, now) = (cx.db, cx.now_ms);
    for key in keys {
        let found = cx.engine.dbs[db].get(key, now);
        let ok = matches!(found, None | Some(Value::Set(_) | Value::ZSet(_)));
        if found.is_some() {
            cx.engine.stats.keyspace_hits += 1;
        } else {
            cx.engine.stats.keyspace_misses += 1;
        }
        if !ok {
            return Err(CmdError::WrongType);
        }
    }
    let mut weights = vec![1.0; n];
    let mut how = Aggregate::Sum;
    let mut j = 3 + n;
    while j < argv.len() {
        let remaining = argv.len() - j;
        if remaining > n && is_opt(argv[j], "weights") {
            for (w, arg) in weights.iter_mut().zip(&argv[j + 1..=j + n]) {
                *w = parse_f64(arg).ok_or(WEIGHT_NOT_FLOAT)?;
            }
            j += n + 1;
        } else if remaining >= 2 && is_opt(argv[j], "aggregate") {
            let arg = argv[j + 1];
            how = if is_opt(arg, "sum") {
                Aggregate::Sum
            } else if is_opt(arg, "min") {
                Aggregate::Min
            } else if is_opt(arg, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let result = {
        let store = &cx.engine.dbs[db];
        let mut sources: Vec<(Source<'_>, f64)> = keys
            .iter()
            .zip(weights)
            .map(|(key, w)| {
                let src = match store.peek(key, now) {
                    Some(Value::ZSet(z)) => Source::ZSet(z),
                    Some(Value::Set(s)) => Source::Set(s),
                    _ => Source::Missing,
                };
                (src, w)
            })
            .collect();
        // Redis sorts by size: the intersection walks the smallest input, and an empty one ends it at once.
        sources.sort_by_key(|(src, _)| src.len());
        match op {
            SetOp::Union => union(&sources, how),
            SetOp::Inter => inter(&sources, how),
        }
    };
    if result.is_empty() {
        cx.reply.int(0);
        if cx.engine.dbs[db].remove(dst, now).is_some() {
            cx.modified(db, dst);
            cx.notify(Notify::Generic, "del", db, dst);
        }
        return Ok(());
    }
    let len = result.len();
    // Replaces whatever `dst` held, TTL included (Redis's `setKey`).
    cx.engine.dbs[db].insert(dst, Value::ZSet(Box::new(result)), now);
    cx.modified(db, dst);
    cx.notify(Notify::ZSet, name, db, dst);
    cx.engine.signal_key_ready(db, dst);
    cx.reply.int(len as i64);
    Ok(())
}

fn zunionstore(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    store_generic(cx, argv, SetOp::Union, "zunionstore")
}

fn zinterstore(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    store_generic(cx, argv, SetOp::Inter, "zinterstore")
}

// ---------------------------------------------------------------------------------------------------------------
// ZSCAN
// ---------------------------------------------------------------------------------------------------------------

/// ZSCAN key cursor [MATCH pattern] [COUNT count]. The cursor is checked first, then the key (a missing key is
/// the empty scan, whatever the options), then the options. A set Redis would keep as a listpack is returned whole
/// in ascending order with cursor 0, as Redis does; a larger one is walked with the dictionary's reverse-binary
/// cursor. Scores are bulk strings in `%.17g` form in both protocols (Redis builds them as strings).
fn zscan(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(argv[2]).ok_or(INVALID_CURSOR)?;
    let (db, now) = (cx.db, cx.now_ms);
    let Some(z) = read_zset(cx.engine, db, argv[1], now)? else {
        scan_reply::<&[u8]>(&mut cx.reply, 0, &[]);
        return Ok(());
    };
    let opts = parse_scan_opts(&argv[3..], false)?;
    let emit = |member: &[u8], score: &f64, out: &mut Vec<Bytes>| {
        out.push(Bytes::copy_from_slice(member));
        out.push(Bytes::copy_from_slice(format_double(*score).as_bytes()));
    };
    let (next, items) = if z.encoding() == "listpack" {
        // A listpack zset is stored in score order, so Redis returns it whole in that order.
        let mut items = Vec::new();
        for (member, score) in z.iter().filter(|(m, _)| opts.matches(m)) {
            emit(member, &score, &mut items);
        }
        (0, items)
    } else {
        // The same walk over the member table as HSCAN and SSCAN.
        scan_collection(z.dict(), false, cursor, &opts, emit)
    };
    scan_reply(&mut cx.reply, next, &items);
    Ok(())
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::kv::testing::{EMPTY, NOT_FLOAT, NOT_INT, SYNTAX, T, T0, WRONGTYPE};

    const NOT_SCORE: &str = "-ERR min or max is not a float\r\n";
    const NOT_LEX: &str = "-ERR min or max not valid string range item\r\n";

    /// Helpers only this family's tests need, on the shared harness.
    trait ZsetsExt {
        fn abc(&mut self, key: &str, n: usize);
    }

    impl ZsetsExt for T {
        fn abc(&mut self, key: &str, n: usize) {
            let args: Vec<String> = (0..n).map(|i| format!("{} {}", i + 1, (b'a' + i as u8) as char)).collect();
            assert_eq!(self.cmd(&format!("ZADD {key} {}", args.join(" "))), format!(":{n}\r\n"));
        }
    }

    /// A RESP2 array of bulk strings.
    fn bulks(items: &[&str]) -> String {
        let mut out = format!("*{}\r\n", items.len());
        for i in items {
            out.push_str(&format!("${}\r\n{i}\r\n", i.len()));
        }
        out
    }

    #[test]
    fn table_has_every_command() {
        let table = crate::kv::cmd::Table::get();
        for name in [
            "zadd",
            "zincrby",
            "zscore",
            "zmscore",
            "zcard",
            "zcount",
            "zlexcount",
            "zrank",
            "zrevrank",
            "zrem",
            "zrange",
            "zrangebyscore",
            "zrevrange",
            "zrevrangebyscore",
            "zrangebylex",
            "zrevrangebylex",
            "zremrangebyrank",
            "zremrangebyscore",
            "zremrangebylex",
            "zpopmin",
            "zpopmax",
            "zunionstore",
            "zinterstore",
            "zscan",
        ] {
            let cmd = table.lookup(name.as_bytes()).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(cmd.group, "sorted-set");
            assert!(crate::kv::cmd::acl_categories(cmd).contains(&"@sortedset"), "{name}");
        }
        let mut t = T::new();
        assert_eq!(t.cmd("ZADD k 1"), "-ERR wrong number of arguments for 'zadd' command\r\n");
    }

    #[test]
    fn zadd_counts_added_or_changed() {
        let mut t = T::new();
        assert_eq!(t.cmd("ZADD z 1 a 2 b"), ":2\r\n");
        assert_eq!(t.cmd("ZADD z 1 a 5 b 3 c"), ":1\r\n", "only c is new");
        assert_eq!(t.cmd("ZADD z CH 1 a 6 b 4 d"), ":2\r\n", "b changed, d added, a unchanged");
        assert_eq!(t.cmd("ZRANGE z 0 -1 WITHSCORES"), bulks(&["a", "1", "c", "3", "d", "4", "b", "6"]));
        assert_eq!(t.cmd("ZADD z NX 9 a 7 e"), ":1\r\n");
        assert_eq!(t.cmd("ZSCORE z a"), "$1\r\n1\r\n", "NX leaves existing members alone");
        assert_eq!(t.cmd("ZADD z XX CH 9 a 8 f"), ":1\r\n");
        assert!(!t.cmd("ZRANGE z 0 -1").contains("\r\nf\r\n"), "XX adds nothing");
        // GT/LT only update in their direction; new members are still added.
        assert_eq!(t.cmd("ZADD z GT CH 5 a 1 c 0 g"), ":1\r\n", "g added; a and c only go up");
        assert_eq!(t.cmd("ZSCORE z a"), "$1\r\n9\r\n");
        assert_eq!(t.cmd("ZADD z LT CH 1 a 10 c"), ":1\r\n");
        assert_eq!(t.cmd("ZMSCORE z a c"), bulks(&["1", "3"]));
        // Options are case-insensitive and may repeat.
        assert_eq!(t.cmd("ZADD z xx Xx ch 2 a"), ":1\r\n");
        // XX on a missing key creates nothing; ZADD's lookups count no keyspace hits or misses.
        let lookups = t.e.stats.keyspace_hits + t.e.stats.keyspace_misses;
        assert_eq!(t.cmd("ZADD nokey XX 1 a"), ":0\r\n");
        assert_eq!(t.cmd("ZADD z 1 a"), ":0\r\n");
        assert!(!t.exists("nokey"));
        assert_eq!(t.e.stats.keyspace_hits + t.e.stats.keyspace_misses, lookups);
    }

    #[test]
    fn zadd_errors_in_redis_order() {
        let mut t = T::new();
        assert_eq!(t.cmd("ZADD z 1 a 2"), SYNTAX);
        assert_eq!(t.cmd("ZADD z NX 1"), SYNTAX);
        assert_eq!(t.cmd("ZADD z NX XX"), SYNTAX, "no pairs at all is a syntax error first");
        assert_eq!(t.cmd("ZADD z NX XX 1 a"), "-ERR XX and NX options at the same time are not compatible\r\n");
        let gt_lt = "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n";
        assert_eq!(t.cmd("ZADD z GT LT 1 a"), gt_lt);
        assert_eq!(t.cmd("ZADD z NX GT 1 a"), gt_lt);
        assert_eq!(t.cmd("ZADD z INCR 1 a 2 b"), "-ERR INCR option supports a single increment-element pair\r\n");
        assert_eq!(t.cmd("ZADD z 1 a x b"), NOT_FLOAT);
        assert_eq!(t.cmd("ZADD z nan a"), NOT_FLOAT);
        assert_eq!(t.cmd("ZADD z 1e400 a"), NOT_FLOAT, "string2d refuses overflow");
        assert!(!t.exists("z"), "nothing was applied");
        t.cmd("SET s x");
        assert_eq!(t.cmd("ZADD s 1 a"), WRONGTYPE);
        assert_eq!(t.cmd("ZADD s x a"), NOT_FLOAT, "scores are parsed before the type check");
    }

    #[test]
    fn zadd_incr_and_zincrby() {
        let mut t = T::new();
        assert_eq!(t.cmd("ZINCRBY z 1.5 a"), "$3\r\n1.5\r\n");
        assert_eq!(t.cmd("ZADD z INCR 1.25 a"), "$4\r\n2.75\r\n");
        assert_eq!(t.cmd("ZINCRBY z -0.25 a"), "$3\r\n2.5\r\n");
        assert_eq!(t.cmd("ZINCRBY z2 0.1 a"), "$19\r\n0.10000000000000001\r\n", "Redis 7.0 prints %.17g");
        assert_eq!(t.cmd("ZINCRBY z2 0.2 a"), "$19\r\n0.30000000000000004\r\n", "%.17g shows the binary sum");
        assert_eq!(t.cmd("ZADD z INCR NX 1 a"), "$-1\r\n", "NX on an existing member: nothing processed");
        assert_eq!(t.cmd("ZADD z INCR GT -1 a"), "$-1\r\n");
        assert_eq!(t.cmd("ZADD z INCR XX 1 nosuch"), "$-1\r\n");
        assert_eq!(t.cmd("ZADD nokey INCR XX 1 a"), "$-1\r\n");
        assert_eq!(t.cmd("ZINCRBY z 0 a"), "$3\r\n2.5\r\n", "processed even though unchanged");
        assert_eq!(t.cmd("ZINCRBY z inf b"), "$3\r\ninf\r\n");
        assert_eq!(t.cmd("ZINCRBY z -inf b"), "-ERR resulting score is not a number (NaN)\r\n");
        assert_eq!(t.cmd("ZSCORE z b"), "$3\r\ninf\r\n", "the failed increment changed nothing");
        assert_eq!(t.cmd("ZINCRBY z x a"), NOT_FLOAT);
        // ZINCRBY reads options like ZADD, so an option-looking increment leaves an odd argument count.
        assert_eq!(t.cmd("ZINCRBY z nx a"), SYNTAX);
        t.resp3();
        assert_eq!(t.cmd("ZINCRBY z 1 a"), ",3.5\r\n");
        assert_eq!(t.cmd("ZADD z INCR NX 1 a"), "_\r\n");
    }

    #[test]
    fn point_reads() {
        let mut t = T::new();
        t.abc("z", 3);
        assert_eq!(t.cmd("ZSCORE z b"), "$1\r\n2\r\n");
        assert_eq!(t.cmd("ZSCORE z x"), "$-1\r\n");
        assert_eq!(t.cmd("ZSCORE nokey x"), "$-1\r\n");
        assert_eq!(t.cmd("ZMSCORE z a x c"), "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n3\r\n");
        assert_eq!(t.cmd("ZMSCORE nokey a b"), "*2\r\n$-1\r\n$-1\r\n");
        assert_eq!(t.cmd("ZCARD z"), ":3\r\n");
        assert_eq!(t.cmd("ZCARD nokey"), ":0\r\n");
        assert_eq!(t.cmd("ZRANK z a"), ":0\r\n");
        assert_eq!(t.cmd("ZRANK z c"), ":2\r\n");
        assert_eq!(t.cmd("ZREVRANK z c"), ":0\r\n");
        assert_eq!(t.cmd("ZRANK z x"), "$-1\r\n");
        assert_eq!(t.cmd("ZREVRANK nokey x"), "$-1\r\n");
        t.cmd("ZADD z 1.1 f");
        assert_eq!(t.cmd("ZSCORE z f"), "$18\r\n1.1000000000000001\r\n", "%.17g, as Redis 7.0 replies");
        t.resp3();
        assert_eq!(t.cmd("ZSCORE z b"), ",2\r\n");
        assert_eq!(t.cmd("ZSCORE z x"), "_\r\n");
        assert_eq!(t.cmd("ZRANK z x"), "_\r\n");
        assert_eq!(t.cmd("ZMSCORE z a x"), "*2\r\n,1\r\n_\r\n");
        t.cmd("SET s x");
        for c in ["ZSCORE s a", "ZMSCORE s a", "ZCARD s", "ZRANK s a", "ZREVRANK s a", "ZCOUNT s 0 1"] {
            assert_eq!(t.cmd(c), WRONGTYPE, "{c}");
        }
        assert_eq!(t.cmd("ZLEXCOUNT s - +"), WRONGTYPE);
    }

    #[test]
    fn zcount_and_zlexcount() {
        let mut t = T::new();
        t.abc("z", 5);
        assert_eq!(t.cmd("ZCOUNT z -inf +inf"), ":5\r\n");
        assert_eq!(t.cmd("ZCOUNT z 2 4"), ":3\r\n");
        assert_eq!(t.cmd("ZCOUNT z (2 (4"), ":1\r\n");
        assert_eq!(t.cmd("ZCOUNT z 4 2"), ":0\r\n");
        assert_eq!(t.cmd("ZCOUNT z (3 3"), ":0\r\n");
        assert_eq!(t.cmd("ZCOUNT nokey 0 1"), ":0\r\n");
        assert_eq!(t.cmd("ZCOUNT z x 1"), NOT_SCORE);
        assert_eq!(t.cmd("ZCOUNT z 1 nan"), NOT_SCORE);
        assert_eq!(t.cmd("ZCOUNT nokey ( 1"), ":0\r\n", "range errors come before the lookup only when invalid");
        let mut l = T::new();
        l.cmd("ZADD l 0 a 0 b 0 c 0 d 0 e");
        assert_eq!(l.cmd("ZLEXCOUNT l - +"), ":5\r\n");
        assert_eq!(l.cmd("ZLEXCOUNT l [b (d"), ":2\r\n");
        assert_eq!(l.cmd("ZLEXCOUNT l (b [d"), ":2\r\n");
        assert_eq!(l.cmd("ZLEXCOUNT l + -"), ":0\r\n");
        assert_eq!(l.cmd("ZLEXCOUNT l b d"), NOT_LEX);
        assert_eq!(l.cmd("ZLEXCOUNT nokey - x"), NOT_LEX, "checked before the lookup");
    }

    #[test]
    fn score_bounds_follow_strtod() {
        assert_eq!(parse_score_bound(b"1.5"), Some(ScoreBound::inclusive(1.5)));
        assert_eq!(parse_score_bound(b"(1.5"), Some(ScoreBound::exclusive(1.5)));
        assert_eq!(parse_score_bound(b"-inf"), Some(ScoreBound::inclusive(f64::NEG_INFINITY)));
        assert_eq!(parse_score_bound(b"(+inf"), Some(ScoreBound::exclusive(f64::INFINITY)));
        assert_eq!(parse_score_bound(b" \t2"), Some(ScoreBound::inclusive(2.0)), "strtod skips leading space");
        assert_eq!(parse_score_bound(b"1e400"), Some(ScoreBound::inclusive(f64::INFINITY)), "HUGE_VAL");
        assert_eq!(parse_score_bound(b"1e-400"), Some(ScoreBound::inclusive(0.0)));
        assert_eq!(parse_score_bound(b""), Some(ScoreBound::inclusive(0.0)));
        assert_eq!(parse_score_bound(b"("), Some(ScoreBound::exclusive(0.0)));
        assert_eq!(parse_score_bound(b"0x10"), Some(ScoreBound::inclusive(16.0)));
        assert_eq!(parse_score_bound(b"3\0junk"), Some(ScoreBound::inclusive(3.0)), "a C string ends at NUL");
        for bad in [&b"x"[..], b"nan", b"(nan", b"1 ", b"  ", b"[1", b"((1", b"1e", b"inff"] {
            assert_eq!(parse_score_bound(bad), None, "{:?}", bad.escape_ascii().to_string());
        }
    }

    #[test]
    fn zrange_by_rank() {
        let mut t = T::new();
        t.abc("z", 4);
        assert_eq!(t.cmd("ZRANGE z 0 -1"), bulks(&["a", "b", "c", "d"]));
        assert_eq!(t.cmd("ZRANGE z 1 2"), bulks(&["b", "c"]));
        assert_eq!(t.cmd("ZRANGE z -2 100"), bulks(&["c", "d"]));
        assert_eq!(t.cmd("ZRANGE z -100 0"), bulks(&["a"]));
        assert_eq!(t.cmd("ZRANGE z 2 1"), EMPTY);
        assert_eq!(t.cmd("ZRANGE z 4 10"), EMPTY);
        assert_eq!(t.cmd("ZRANGE z 0 -5"), EMPTY);
        assert_eq!(t.cmd("ZRANGE z 0 1 REV"), bulks(&["d", "c"]));
        assert_eq!(t.cmd("ZREVRANGE z 0 1"), bulks(&["d", "c"]));
        assert_eq!(t.cmd("ZREVRANGE z -1 -1"), bulks(&["a"]));
        assert_eq!(t.cmd("ZRANGE z 0 0 WITHSCORES"), bulks(&["a", "1"]));
        assert_eq!(t.cmd("ZREVRANGE z 0 1 withscores"), bulks(&["d", "4", "c", "3"]));
        assert_eq!(t.cmd("ZRANGE nokey 0 -1"), EMPTY);
        assert_eq!(t.cmd("ZRANGE z 0 x"), NOT_INT);
        assert_eq!(t.cmd("ZRANGE z 0 1.5"), NOT_INT);
        t.resp3();
        // RESP3: WITHSCORES pairs each member with its score.
        assert_eq!(t.cmd("ZRANGE z 0 1 WITHSCORES"), "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n");
        assert_eq!(t.cmd("ZRANGE z 0 1"), bulks(&["a", "b"]));
        assert_eq!(t.cmd("ZRANGE z 5 6 WITHSCORES"), EMPTY);
    }

    #[test]
    fn zrange_by_score() {
        let mut t = T::new();
        t.abc("z", 5);
        assert_eq!(t.cmd("ZRANGEBYSCORE z 2 4"), bulks(&["b", "c", "d"]));
        assert_eq!(t.cmd("ZRANGEBYSCORE z (2 4"), bulks(&["c", "d"]));
        assert_eq!(t.cmd("ZRANGEBYSCORE z -inf (2"), bulks(&["a"]));
        assert_eq!(t.cmd("ZRANGEBYSCORE z 4 2"), EMPTY);
        assert_eq!(t.cmd("ZRANGE z 2 4 BYSCORE"), bulks(&["b", "c", "d"]));
        assert_eq!(t.cmd("ZRANGE z 4 2 BYSCORE REV"), bulks(&["d", "c", "b"]), "REV takes max first");
        assert_eq!(t.cmd("ZREVRANGEBYSCORE z 4 2"), bulks(&["d", "c", "b"]));
        assert_eq!(t.cmd("ZREVRANGEBYSCORE z +inf (4 WITHSCORES"), bulks(&["e", "5"]));
        assert_eq!(t.cmd("ZRANGEBYSCORE z -inf +inf LIMIT 1 2"), bulks(&["b", "c"]));
        assert_eq!(t.cmd("ZRANGEBYSCORE z -inf +inf LIMIT 3 -1"), bulks(&["d", "e"]), "negative count: no limit");
        assert_eq!(t.cmd("ZRANGEBYSCORE z -inf +inf LIMIT -1 2"), EMPTY, "negative offset walks off the end");
        assert_eq!(t.cmd("ZRANGEBYSCORE z -inf +inf LIMIT 5 1"), EMPTY);
        assert_eq!(t.cmd("ZRANGEBYSCORE z -inf +inf LIMIT 0 0"), EMPTY);
        assert_eq!(t.cmd("ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 1 1"), bulks(&["d", "4"]));
        assert_eq!(t.cmd("ZRANGE z (1 +inf BYSCORE LIMIT 1 2 WITHSCORES"), bulks(&["c", "3", "d", "4"]));
        assert_eq!(t.cmd("ZRANGEBYSCORE z x 1"), NOT_SCORE);
        assert_eq!(t.cmd("ZRANGEBYSCORE z 0 1 LIMIT 0"), SYNTAX, "LIMIT needs two values");
        assert_eq!(t.cmd("ZRANGEBYSCORE z 0 1 LIMIT 0 x"), NOT_INT);
        assert_eq!(t.cmd("ZRANGEBYSCORE z 0 1 REV"), SYNTAX, "the old commands fix the direction");
        assert_eq!(t.cmd("ZRANGEBYSCORE z 0 1 BYLEX"), SYNTAX);
        assert_eq!(t.cmd("ZRANGEBYSCORE nokey 0 1"), EMPTY);
        t.resp3();
        assert_eq!(t.cmd("ZRANGEBYSCORE z 5 5 WITHSCORES"), "*1\r\n*2\r\n$1\r\ne\r\n,5\r\n");
    }

    #[test]
    fn zrange_by_lex() {
        let mut t = T::new();
        t.cmd("ZADD z 0 a 0 b 0 c 0 d 0 e");
        assert_eq!(t.cmd("ZRANGEBYLEX z - +"), bulks(&["a", "b", "c", "d", "e"]));
        assert_eq!(t.cmd("ZRANGEBYLEX z [b (d"), bulks(&["b", "c"]));
        assert_eq!(t.cmd("ZRANGEBYLEX z - + LIMIT 1 2"), bulks(&["b", "c"]));
        assert_eq!(t.cmd("ZREVRANGEBYLEX z + [c"), bulks(&["e", "d", "c"]));
        assert_eq!(t.cmd("ZREVRANGEBYLEX z (d - LIMIT 1 5"), bulks(&["b", "a"]));
        assert_eq!(t.cmd("ZRANGE z [c + BYLEX"), bulks(&["c", "d", "e"]));
        assert_eq!(t.cmd("ZRANGE z + [c BYLEX REV LIMIT 0 1"), bulks(&["e"]));
        assert_eq!(t.cmd("ZRANGEBYLEX z + -"), EMPTY);
        assert_eq!(t.cmd("ZRANGEBYLEX z a +"), NOT_LEX);
        assert_eq!(t.cmd("ZRANGEBYLEX z - ++"), NOT_LEX);
        let no_scores = "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n";
        assert_eq!(t.cmd("ZRANGEBYLEX z - + WITHSCORES"), no_scores);
        assert_eq!(t.cmd("ZRANGE z - + BYLEX WITHSCORES"), no_scores);
    }

    #[test]
    fn zrange_option_errors() {
        let mut t = T::new();
        t.abc("z", 3);
        let limit = "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n";
        assert_eq!(t.cmd("ZRANGE z 0 1 LIMIT 0 1"), limit);
        assert_eq!(t.cmd("ZREVRANGE z 0 1 LIMIT 0 1"), limit);
        assert_eq!(t.cmd("ZRANGE z 0 -1 LIMIT 1 -1"), bulks(&["a", "b", "c"]), "Redis only spots count != -1");
        assert_eq!(t.cmd("ZRANGE z 0 1 BYSCORE BYLEX"), SYNTAX);
        assert_eq!(t.cmd("ZRANGE z 0 1 REV REV"), SYNTAX);
        assert_eq!(t.cmd("ZREVRANGE z 0 1 REV"), SYNTAX);
        assert_eq!(t.cmd("ZRANGE z 0 1 FOO"), SYNTAX);
        assert_eq!(t.cmd("ZRANGE z x 1 FOO"), SYNTAX, "options before min/max");
        assert_eq!(t.cmd("ZRANGE z x 1 BYSCORE"), NOT_SCORE);
        assert_eq!(t.cmd("ZRANGE z x 1 BYLEX"), NOT_LEX);
        assert_eq!(t.cmd("ZRANGE nokey x 1"), NOT_INT, "parsed before the lookup");
        t.cmd("SET s x");
        assert_eq!(t.cmd("ZRANGE s 0 1"), WRONGTYPE);
        assert_eq!(t.cmd("ZRANGEBYLEX s - +"), WRONGTYPE);
    }

    #[test]
    fn zrem_deletes_the_emptied_key() {
        let mut t = T::new();
        t.abc("z", 3);
        let dirty = t.e.stats.dirty;
        assert_eq!(t.cmd("ZREM z a x a"), ":1\r\n");
        assert_eq!(t.e.stats.dirty, dirty + 1);
        assert_eq!(t.cmd("ZREM z x"), ":0\r\n");
        assert_eq!(t.e.stats.dirty, dirty + 1, "no change, no dirty");
        assert_eq!(t.cmd("ZREM z b c b"), ":2\r\n");
        assert!(!t.exists("z"));
        assert_eq!(t.cmd("ZREM z b"), ":0\r\n");
        t.cmd("SET s x");
        assert_eq!(t.cmd("ZREM s a"), WRONGTYPE);
    }

    #[test]
    fn zremrange_family() {
        let mut t = T::new();
        t.abc("z", 6);
        assert_eq!(t.cmd("ZREMRANGEBYRANK z 0 0"), ":1\r\n");
        assert_eq!(t.cmd("ZREMRANGEBYRANK z -1 -1"), ":1\r\n");
        assert_eq!(t.cmd("ZRANGE z 0 -1"), bulks(&["b", "c", "d", "e"]));
        assert_eq!(t.cmd("ZREMRANGEBYRANK z 3 1"), ":0\r\n");
        assert_eq!(t.cmd("ZREMRANGEBYRANK z 10 20"), ":0\r\n");
        assert_eq!(t.cmd("ZREMRANGEBYSCORE z (2 3"), ":1\r\n");
        assert_eq!(t.cmd("ZREMRANGEBYSCORE z 10 +inf"), ":0\r\n");
        assert_eq!(t.cmd("ZRANGE z 0 -1"), bulks(&["b", "d", "e"]));
        assert_eq!(t.cmd("ZREMRANGEBYRANK z 0 -1"), ":3\r\n");
        assert!(!t.exists("z"));
        let mut l = T::new();
        l.cmd("ZADD l 0 a 0 b 0 c 0 d");
        assert_eq!(l.cmd("ZREMRANGEBYLEX l [b (d"), ":2\r\n");
        assert_eq!(l.cmd("ZREMRANGEBYLEX l - +"), ":2\r\n");
        assert!(!l.exists("l"));
        assert_eq!(l.cmd("ZREMRANGEBYRANK l x 1"), NOT_INT);
        assert_eq!(l.cmd("ZREMRANGEBYSCORE l x 1"), NOT_SCORE);
        assert_eq!(l.cmd("ZREMRANGEBYLEX l x 1"), NOT_LEX);
        assert_eq!(l.cmd("ZREMRANGEBYRANK nokey 0 -1"), ":0\r\n");
        l.cmd("SET s x");
        assert_eq!(l.cmd("ZREMRANGEBYSCORE s 0 1"), WRONGTYPE);
        assert_eq!(l.cmd("ZREMRANGEBYSCORE s x 1"), NOT_SCORE, "the range is parsed before the lookup");
    }

    #[test]
    fn zpop_replies_and_deletes() {
        let mut t = T::new();
        t.abc("z", 4);
        assert_eq!(t.cmd("ZPOPMIN z"), bulks(&["a", "1"]));
        assert_eq!(t.cmd("ZPOPMAX z"), bulks(&["d", "4"]));
        assert_eq!(t.cmd("ZPOPMIN z 0"), EMPTY);
        assert_eq!(t.cmd("ZPOPMAX z 10"), bulks(&["c", "3", "b", "2"]));
        assert!(!t.exists("z"));
        assert_eq!(t.cmd("ZPOPMIN z"), EMPTY);
        assert_eq!(t.cmd("ZPOPMIN z 1 2"), SYNTAX);
        assert_eq!(t.cmd("ZPOPMIN z -1"), "-ERR value is out of range, must be positive\r\n");
        assert_eq!(t.cmd("ZPOPMIN z x"), NOT_INT);
        t.cmd("SET s x");
        assert_eq!(t.cmd("ZPOPMAX s"), WRONGTYPE);
        assert_eq!(t.cmd("ZPOPMAX s 0"), WRONGTYPE, "the type is checked even for a count of 0");
        t.resp3();
        t.abc("z", 3);
        assert_eq!(t.cmd("ZPOPMIN z"), "*2\r\n$1\r\na\r\n,1\r\n", "no count: flat");
        assert_eq!(t.cmd("ZPOPMIN z 1"), "*1\r\n*2\r\n$1\r\nb\r\n,2\r\n", "a count: pairs");
        assert_eq!(t.cmd("ZPOPMAX z 0"), EMPTY);
    }

    #[test]
    fn pop_building_blocks_for_blocking_pops() {
        let mut t = T::new();
        t.abc("z", 3);
        let dirty = t.e.stats.dirty;
        let popped = pop_from_key(&mut t.e, 0, b"z", PopEnd::Max, 2, T0).unwrap().unwrap();
        let names: Vec<(&[u8], f64)> = popped.iter().map(|(m, s)| (m.as_bytes(), *s)).collect();
        assert_eq!(names, vec![(&b"c"[..], 3.0), (&b"b"[..], 2.0)]);
        assert_eq!(t.e.stats.dirty, dirty + 1);
        let popped = pop_from_key(&mut t.e, 0, b"z", PopEnd::Min, 5, T0).unwrap().unwrap();
        assert_eq!(popped.len(), 1);
        assert!(!t.exists("z"), "the emptied key is gone");
        assert!(pop_from_key(&mut t.e, 0, b"z", PopEnd::Min, 1, T0).unwrap().is_none());
        t.cmd("SET s x");
        assert_eq!(pop_from_key(&mut t.e, 0, b"s", PopEnd::Min, 1, T0), Err(CmdError::WrongType));
        let mut z = ZSet::new();
        z.insert(b"x", 1.0);
        z.insert(b"y", 2.0);
        assert_eq!(pop_members(&mut z, PopEnd::Min, 0), vec![]);
        assert_eq!(pop_members(&mut z, PopEnd::Min, 1)[0].0.as_bytes(), b"x");
        assert_eq!(PopEnd::Max.event(), "zpopmax");
    }

    #[test]
    fn zunionstore_and_zinterstore() {
        let mut t = T::new();
        t.cmd("ZADD a 1 x 2 y 3 z");
        t.cmd("ZADD b 10 y 20 z 30 w");
        assert_eq!(t.cmd("ZUNIONSTORE d 2 a b"), ":4\r\n");
        assert_eq!(t.cmd("ZRANGE d 0 -1 WITHSCORES"), bulks(&["x", "1", "y", "12", "z", "23", "w", "30"]));
        assert_eq!(t.cmd("ZINTERSTORE d 2 a b"), ":2\r\n");
        assert_eq!(t.cmd("ZRANGE d 0 -1 WITHSCORES"), bulks(&["y", "12", "z", "23"]));
        assert_eq!(t.cmd("ZINTERSTORE d 2 a b WEIGHTS 2 0.5 AGGREGATE MAX"), ":2\r\n");
        assert_eq!(t.cmd("ZRANGE d 0 -1 WITHSCORES"), bulks(&["y", "5", "z", "10"]));
        assert_eq!(t.cmd("ZUNIONSTORE d 2 a b aggregate min"), ":4\r\n");
        assert_eq!(t.cmd("ZRANGE d 0 -1 WITHSCORES"), bulks(&["x", "1", "y", "2", "z", "3", "w", "30"]));
        // Missing inputs are empty; plain sets score 1.
        t.e.dbs[0].insert(b"s", set_of(&["y", "q"]), T0);
        assert_eq!(t.cmd("ZUNIONSTORE d 3 a s nokey"), ":4\r\n");
        assert_eq!(t.cmd("ZRANGE d 0 -1 WITHSCORES"), bulks(&["q", "1", "x", "1", "y", "3", "z", "3"]));
        assert_eq!(t.cmd("ZINTERSTORE d 2 a nokey"), ":0\r\n");
        assert!(!t.exists("d"), "an empty result deletes the destination");
        // A destination's TTL and type are replaced; an input may be the destination.
        t.cmd("SET d x EX 100");
        assert_eq!(t.cmd("ZUNIONSTORE d 1 a WEIGHTS 3"), ":3\r\n");
        assert_eq!(t.cmd("TTL d"), ":-1\r\n");
        assert_eq!(t.cmd("ZUNIONSTORE d 2 d d"), ":3\r\n");
        assert_eq!(t.cmd("ZRANGE d 0 -1 WITHSCORES"), bulks(&["x", "6", "y", "12", "z", "18"]));
        // inf - inf is NaN, which SUM turns into 0; 0 * inf likewise.
        t.cmd("ZADD i inf m");
        t.cmd("ZADD j -inf m");
        assert_eq!(t.cmd("ZUNIONSTORE d 2 i j"), ":1\r\n");
        assert_eq!(t.cmd("ZSCORE d m"), "$1\r\n0\r\n");
        assert_eq!(t.cmd("ZINTERSTORE d 1 i WEIGHTS 0"), ":1\r\n");
        assert_eq!(t.cmd("ZSCORE d m"), "$1\r\n0\r\n");
    }

    fn set_of(members: &[&str]) -> Value {
        let mut s = SetValue::new();
        for m in members {
            s.insert(m.as_bytes());
        }
        Value::Set(Box::new(s))
    }

    #[test]
    fn store_errors_in_redis_order() {
        let mut t = T::new();
        t.cmd("ZADD a 1 x");
        assert_eq!(t.cmd("ZUNIONSTORE d x a"), NOT_INT);
        assert_eq!(t.cmd("ZUNIONSTORE d 0 a"), "-ERR at least 1 input key is needed for 'zunionstore' command\r\n");
        assert_eq!(t.cmd("ZINTERSTORE d -1 a"), "-ERR at least 1 input key is needed for 'zinterstore' command\r\n");
        assert_eq!(t.cmd("ZUNIONSTORE d 2 a"), SYNTAX);
        assert_eq!(t.cmd("ZUNIONSTORE d 1 a WEIGHTS"), SYNTAX);
        assert_eq!(t.cmd("ZUNIONSTORE d 1 a WEIGHTS x"), "-ERR weight value is not a float\r\n");
        assert_eq!(t.cmd("ZUNIONSTORE d 2 a a WEIGHTS 1"), SYNTAX, "WEIGHTS needs one weight per key");
        assert_eq!(t.cmd("ZUNIONSTORE d 1 a AGGREGATE AVG"), SYNTAX);
        assert_eq!(t.cmd("ZUNIONSTORE d 1 a AGGREGATE"), SYNTAX);
        assert_eq!(t.cmd("ZUNIONSTORE d 1 a WITHSCORES"), SYNTAX);
        t.cmd("SET s x");
        assert_eq!(t.cmd("ZUNIONSTORE d 2 a s WEIGHTS x y"), WRONGTYPE, "input types before options");
        assert!(!t.exists("d"));
    }

    #[test]
    fn encodings_follow_redis_thresholds() {
        let mut t = T::new();
        t.abc("z", 3);
        assert_eq!(t.encoding("z"), "listpack");
        let long = "m".repeat(65);
        t.cmd(&format!("ZADD z 1 {long}"));
        assert_eq!(t.encoding("z"), "skiplist");
        assert_eq!(t.cmd("ZUNIONSTORE d 1 z"), ":4\r\n");
        assert_eq!(t.encoding("d"), "skiplist");
        assert_eq!(t.cmd("ZINTERSTORE d 1 z WEIGHTS 1"), ":4\r\n");
        t.cmd(&format!("ZREM d {long}"));
        assert_eq!(t.cmd("ZUNIONSTORE e 1 d"), ":3\r\n");
        assert_eq!(t.encoding("e"), "listpack", "a new result converts back, as zsetConvertToListpackIfNeeded");
    }

    /// `[cursor, [member, score, ...]]` from a ZSCAN reply given as RESP2 text.
    fn scan_reply(reply: &str) -> (u64, Vec<(String, String)>) {
        let lines: Vec<&str> = reply.split("\r\n").collect();
        assert_eq!(lines[0], "*2");
        let cursor = lines[2].parse().expect("cursor");
        let n: usize = lines[3][1..].parse().expect("length");
        let items: Vec<&str> = lines[4..4 + 2 * n].iter().skip(1).step_by(2).copied().collect();
        (cursor, items.chunks(2).map(|p| (p[0].to_string(), p[1].to_string())).collect())
    }

    #[test]
    fn zscan_small_sets_come_whole() {
        let mut t = T::new();
        t.cmd("ZADD z 1.5 b 1 a 3 c");
        assert_eq!(
            t.cmd("ZSCAN z 0 COUNT 1"),
            "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n1.5\r\n$1\r\nc\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            t.cmd("ZSCAN z 12345 MATCH [ab]"),
            "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n1.5\r\n"
        );
        assert_eq!(t.cmd("ZSCAN nokey 0 BADOPT"), "*2\r\n$1\r\n0\r\n*0\r\n", "a missing key skips the options");
        assert_eq!(t.cmd("ZSCAN z x"), "-ERR invalid cursor\r\n");
        assert_eq!(t.cmd("ZSCAN z 0 TYPE zset"), SYNTAX, "TYPE is for the keyspace SCAN only");
        assert_eq!(t.cmd("ZSCAN z 0 COUNT 0"), SYNTAX);
        assert_eq!(t.cmd("ZSCAN z 0 COUNT x"), NOT_INT);
        t.cmd("SET s x");
        assert_eq!(t.cmd("ZSCAN s 0"), WRONGTYPE);
        t.resp3();
        assert!(t.cmd("ZSCAN z 0").ends_with("$1\r\nc\r\n$1\r\n3\r\n"), "scores stay bulk strings in RESP3");
    }

    #[test]
    fn zscan_large_sets_use_the_cursor() {
        let mut t = T::new();
        let pairs: Vec<String> = (0..300).map(|i| format!("{}.5 m{i}", i)).collect();
        assert_eq!(t.cmd(&format!("ZADD z {}", pairs.join(" "))), ":300\r\n");
        assert_eq!(t.encoding("z"), "skiplist");
        let mut seen = std::collections::BTreeMap::new();
        let (mut cursor, mut calls) = (0u64, 0);
        loop {
            let (next, items) = scan_reply(&t.cmd(&format!("ZSCAN z {cursor} COUNT 20 MATCH m1*")));
            calls += 1;
            for (m, s) in items {
                seen.insert(m, s);
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert!(calls > 1, "a large set is scanned in steps");
        let expected: std::collections::BTreeMap<String, String> =
            (0..300).filter(|i| i.to_string().starts_with('1')).map(|i| (format!("m{i}"), format!("{i}.5"))).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn binary_members_are_kept_as_bytes() {
        let mut t = T::new();
        let member: &[u8] = b"a\0\xff\r\nb";
        assert_eq!(t.raw_text(&[b"ZADD", b"z", b"1", member]), ":1\r\n");
        let mut want = b"*1\r\n$6\r\n".to_vec();
        want.extend_from_slice(member);
        want.extend_from_slice(b"\r\n");
        assert_eq!(t.e.call(t.c, &[b"ZRANGE", b"z", b"0", b"-1"]), want);
        assert_eq!(t.raw_text(&[b"ZSCORE", b"z", member]), "$1\r\n1\r\n");
        assert_eq!(t.raw_text(&[b"ZREM", b"z", member]), ":1\r\n");
    }
}
