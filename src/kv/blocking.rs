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

use super::error::{err, CmdError};
use super::exec::{Effect, Engine};
use super::num::parse_f64;
use crate::net::OutBuf;

/// What a blocked client answers when its timeout fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutReply {
    /// `*-1` (RESP2) / `_` (RESP3): BLPOP, BRPOP, BLMPOP, BZPOPMIN, BZPOPMAX.
    NullArray,
    /// `$-1` (RESP2) / `_` (RESP3): BLMOVE, BRPOPLPUSH.
    NullBulk,
}

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
    pub on_timeout: TimeoutReply,
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
        self.stats.blocked_clients -= 1;
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

    /// The timeout of a blocked client fired: answer null and unblock it.
    pub fn block_timed_out(&mut self, client: usize) {
        let Some(blocked) = self.unblock(client) else { return };
        let resp = self.clients[client].resp;
        let mut out = OutBuf::new();
        let mut reply = super::reply::Reply::new(&mut out, resp);
        match blocked.on_timeout {
            TimeoutReply::NullArray => reply.null_array(),
            TimeoutReply::NullBulk => reply.null(),
        }
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
