//! Blocking commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, and the machinery behind them.
//!
//! This is the clearest "A waits while B is served" in the project. A client whose `BLPOP` finds every list empty
//! is *parked*: no thread waits for it. The loop records which keys it waits on and goes on serving everyone else:
//!
//! ```text
//!  A: BLPOP q 0     --> q empty --> blocking_keys[q] = [A]; Effect::Block (reactor: stop reading A, arm timer)
//!  B: RPUSH q job   --> push --> signal_key_ready(q) --> ready_keys = [q]
//!     end of B's command: serve_ready_keys: q non-empty --> unblock A, re-run A's BLPOP --> pops "job"
//!                     --> Effect::Send(A, reply) + Effect::Unblock (reactor: cancel timer, resume A's input)
//!  timer fires first --> timeout(A) --> null reply, unblock
//! ```
//!
//! Clients blocked on a key are served in arrival order (FIFO per key), as Redis guarantees. A push inside
//! `MULTI`/`EXEC` is served when the whole `EXEC` finishes, because the ready-keys pass runs after each top-level
//! command, never inside one. Inside a transaction a blocking command does not block: it behaves as if it timed out.

use std::collections::VecDeque;

use bytes::Bytes;

use super::cmd::{flag::*, Command};
use super::error::{err, CmdError, CmdResult};
use super::exec::{Ctx, Effect, Engine};
use super::lists::{self, End};
use super::num::parse_f64;
use super::zsets::{self, PopEnd};
use crate::net::OutBuf;

pub static COMMANDS: &[Command] = &[
    Command::new("blpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), "list", "2.0.0", "O(N) where N is the number of provided keys.", "Remove and get the first element in a list, or block until one is available", "key [key ...] timeout:double", blpop).with_acl("@list"),
    Command::new("brpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), "list", "2.0.0", "O(N) where N is the number of provided keys.", "Remove and get the last element in a list, or block until one is available", "key [key ...] timeout:double", brpop).with_acl("@list"),
    Command::new("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, (1, 2, 1), "list", "2.2.0", "O(1)", "Pop an element from a list, push it to another list and return it; or block until one is available", "source destination timeout:double", brpoplpush).with_acl("@list"),
    Command::new("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, (1, 2, 1), "list", "6.2.0", "O(1)", "Pop an element from a list, push it to another list and return it; or block until one is available", "source destination LEFT|RIGHT LEFT|RIGHT timeout:double", blmove).with_acl("@list"),
    Command::new("blmpop", -5, WRITE | BLOCKING, (0, 0, 0), "list", "7.0.0", "O(N+M) where N is the number of provided keys and M the number of elements returned.", "Pop elements from a list, or block until one is available", "timeout:double numkeys:integer key [key ...] LEFT|RIGHT [COUNT count:integer]", blmpop).with_acl("@list"),
    Command::new("bzpopmin", -3, WRITE | NOSCRIPT | FAST | BLOCKING, (1, -2, 1), "sorted-set", "5.0.0", "O(log(N)) with N being the number of elements in the sorted set.", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", "key [key ...] timeout:double", bzpopmin).with_acl("@sortedset"),
    Command::new("bzpopmax", -3, WRITE | NOSCRIPT | FAST | BLOCKING, (1, -2, 1), "sorted-set", "5.0.0", "O(log(N)) with N being the number of elements in the sorted set.", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", "key [key ...] timeout:double", bzpopmax).with_acl("@sortedset"),
];

/// What kind of value unblocks a client: a list push does not serve a client waiting on a sorted set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitsFor {
    List,
    ZSet,
}

/// A parked client's state.
#[derive(Debug)]
pub struct Blocked {
    pub db: usize,
    pub keys: Vec<Box<[u8]>>,
    /// The command, re-run when one of the keys becomes ready.
    pub argv: Vec<Bytes>,
    pub waits_for: WaitsFor,
}

/// Parses a blocking timeout in seconds (a double, as Redis 7.0 allows) into milliseconds; 0 = forever.
pub fn parse_timeout(arg: &[u8]) -> Result<u64, CmdError> {
    let secs = parse_f64(arg).filter(|s| s.is_finite()).ok_or(err("ERR timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err(err("ERR timeout is negative"));
    }
    let ms = secs * 1000.0;
    if ms > (i64::MAX / 2) as f64 {
        return Err(err("ERR timeout is out of range"));
    }
    Ok(ms.ceil() as u64)
}

impl Engine {
    /// Parks `client` on `keys` until one becomes ready or `timeout_ms` passes (0 = forever).
    pub fn block(&mut self, client: usize, blocked: Blocked, timeout_ms: u64) {
        for key in &blocked.keys {
            self.blocking_keys.entry((blocked.db, key.clone())).or_default().push_back(client);
        }
        self.clients[client].blocked = Some(Box::new(blocked));
        self.stats.blocked_clients += 1;
        self.effects.push(Effect::Block { client, timeout_ms });
    }

    /// Whether a command may park the client: not inside `EXEC`, where it must answer at once.
    pub fn may_block(&self) -> bool {
        !self.in_exec
    }

    /// Removes a client from every wait list. Returns its blocked state, if it was blocked.
    pub fn unblock(&mut self, client: usize) -> Option<Box<Blocked>> {
        let blocked = self.clients.get_mut(client)?.blocked.take()?;
        for key in &blocked.keys {
            let slot = (blocked.db, key.clone());
            if let Some(waiters) = self.blocking_keys.get_mut(&slot) {
                waiters.retain(|&c| c != client);
                if waiters.is_empty() {
                    self.blocking_keys.remove(&slot);
                }
            }
        }
        self.stats.blocked_clients = self.stats.blocked_clients.saturating_sub(1);
        Some(blocked)
    }

    /// A list or sorted-set key received elements (Redis's `signalKeyAsReady`): clients waiting on it get a
    /// chance once the current command finishes. Free when nobody is blocked.
    pub fn signal_key_ready(&mut self, db: usize, key: &[u8]) {
        if self.blocking_keys.is_empty() {
            return;
        }
        let slot: (usize, Box<[u8]>) = (db, key.into());
        if self.blocking_keys.contains_key(&slot) && !self.ready_keys.contains(&slot) {
            self.ready_keys.push(slot);
        }
    }

    /// The timeout of a blocked client fired: answer with a null array and unblock it. Redis 7.0 answers every
    /// blocking command's timeout this way, `BLMOVE` and `BRPOPLPUSH` included (`replyToBlockedClientTimedOut`).
    pub fn block_timed_out(&mut self, client: usize) {
        if self.unblock(client).is_none() {
            return;
        }
        let resp = self.clients[client].resp;
        let mut out = OutBuf::new();
        super::reply::Reply::new(&mut out, resp).null_array();
        self.send_to(client, out);
        self.effects.push(Effect::Unblock { client });
    }

    /// Serves clients blocked on keys that became ready, in arrival order per key, until no ready key is left
    /// (serving one client can make another key ready, e.g. BLMOVE's destination).
    pub fn serve_ready_keys(&mut self) {
        while !self.ready_keys.is_empty() {
            for (db, key) in std::mem::take(&mut self.ready_keys) {
                self.serve_key(db, &key);
            }
        }
    }

    fn serve_key(&mut self, db: usize, key: &[u8]) {
        let slot: (usize, Box<[u8]>) = (db, key.into());
        loop {
            let Some(&client) = self.blocking_keys.get(&slot).and_then(VecDeque::front) else { return };
            let waits_for = match self.clients[client].blocked.as_deref() {
                Some(b) => b.waits_for,
                None => return,
            };
            let now = self.clock.now_ms();
            let ready = match self.dbs[db].get(key, now) {
                Some(super::value::Value::List(l)) => waits_for == WaitsFor::List && !l.is_empty(),
                Some(super::value::Value::ZSet(z)) => waits_for == WaitsFor::ZSet && !z.is_empty(),
                _ => false,
            };
            if !ready {
                return;
            }
            let Some(blocked) = self.unblock(client) else { return };
            // Re-run the client's own command: the key now has data, so it completes without blocking.
            let argv: Vec<&[u8]> = blocked.argv.iter().map(|a| &a[..]).collect();
            let saved_db = self.clients[client].db;
            self.clients[client].db = blocked.db;
            let mut out = OutBuf::new();
            self.execute_inner(client, &argv, &mut out);
            if let Some(c) = self.clients.get_mut(client) {
                c.db = saved_db;
            }
            self.send_to(client, out);
            self.effects.push(Effect::Unblock { client });
        }
    }

    /// Queues an `OutBuf`'s bytes for another client.
    fn send_to(&mut self, client: usize, out: OutBuf) {
        let bytes: Vec<u8> = out.iter_chunks().flatten().copied().collect();
        if !bytes.is_empty() {
            self.effects.push(Effect::Send { client, bytes: Bytes::from(bytes) });
        }
    }
}

/// Parks the current client on `keys`, or, where it may not block (inside `EXEC`), answers at once: a null bulk
/// for `BLMOVE`/`BRPOPLPUSH`, a null array for the others, as Redis 7.0 does for a client that cannot block.
fn park(cx: &mut Ctx<'_>, argv: &[&[u8]], keys: &[&[u8]], waits_for: WaitsFor, timeout_ms: u64, null_bulk: bool) {
    if !cx.engine.may_block() {
        if null_bulk {
            cx.reply.null();
        } else {
            cx.reply.null_array();
        }
        return;
    }
    let blocked = Blocked {
        db: cx.db,
        keys: keys.iter().map(|k| Box::<[u8]>::from(*k)).collect(),
        argv: argv.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
        waits_for,
    };
    let client = cx.client;
    cx.engine.block(client, blocked, timeout_ms);
}

fn blpop(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    bpop(cx, argv, End::Left)
}

fn brpop(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    bpop(cx, argv, End::Right)
}

/// `BLPOP`/`BRPOP key [key ...] timeout`: `[key, element]` from the first non-empty list, else block.
fn bpop(cx: &mut Ctx<'_>, argv: &[&[u8]], end: End) -> CmdResult {
    let timeout = parse_timeout(argv[argv.len() - 1])?;
    let keys = &argv[1..argv.len() - 1];
    if let Some((key, elements)) = lists::pop_first(cx, keys, end, 1)? {
        cx.reply.array(2);
        cx.reply.bulk(key);
        lists::reply_element(&mut cx.reply, &elements[0]);
        return Ok(());
    }
    park(cx, argv, keys, WaitsFor::List, timeout, false);
    Ok(())
}

fn brpoplpush(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let timeout = parse_timeout(argv[3])?;
    bmove(cx, argv, End::Right, End::Left, timeout)
}

fn blmove(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let from = lists::parse_direction(argv[3])?;
    let to = lists::parse_direction(argv[4])?;
    let timeout = parse_timeout(argv[5])?;
    bmove(cx, argv, from, to, timeout)
}

/// `BLMOVE`/`BRPOPLPUSH`: move one element, or block on the source.
fn bmove(cx: &mut Ctx<'_>, argv: &[&[u8]], from: End, to: End, timeout: u64) -> CmdResult {
    match lists::do_lmove(cx, argv[1], argv[2], from, to)? {
        Some(element) => lists::reply_element(&mut cx.reply, &element),
        None => park(cx, argv, &argv[1..2], WaitsFor::List, timeout, true),
    }
    Ok(())
}

/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`.
fn blmpop(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let timeout = parse_timeout(argv[1])?;
    let args = lists::parse_mpop(argv, 2)?;
    if let Some((key, elements)) = lists::pop_first(cx, args.keys, args.end, args.count)? {
        lists::reply_key_elements(&mut cx.reply, key, &elements);
        return Ok(());
    }
    park(cx, argv, args.keys, WaitsFor::List, timeout, false);
    Ok(())
}

fn bzpopmin(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    bzpop(cx, argv, PopEnd::Min)
}

fn bzpopmax(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    bzpop(cx, argv, PopEnd::Max)
}

/// `BZPOPMIN`/`BZPOPMAX key [key ...] timeout`: `[key, member, score]` from the first non-empty sorted set.
fn bzpop(cx: &mut Ctx<'_>, argv: &[&[u8]], end: PopEnd) -> CmdResult {
    let timeout = parse_timeout(argv[argv.len() - 1])?;
    let keys = &argv[1..argv.len() - 1];
    for key in keys {
        let (db, now) = (cx.db, cx.now_ms);
        if let Some(popped) = zsets::pop_from_key(cx.engine, db, key, end, 1, now)? {
            if let Some((member, score)) = popped.first() {
                cx.reply.array(3);
                cx.reply.bulk(key);
                cx.reply.bulk(member);
                cx.reply.double(*score);
                return Ok(());
            }
        }
    }
    park(cx, argv, keys, WaitsFor::ZSet, timeout, false);
    Ok(())
}
