//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! ```text
//!  MULTI --> client.multi = Some([])          commands --> checked, then queued: +QUEUED
//!  a rejected command (unknown, arity, NOAUTH) --> multi_rejected --> EXEC: -EXECABORT
//!  WATCH k --> watched_keys[(db,k)] += client  any write/expiry/flush of k --> client.dirty_cas
//!  EXEC --> dirty_cas? null array : run each queued command, replies in one array
//! ```
//!
//! Like Redis, a runtime error inside EXEC (e.g. WRONGTYPE) is just that command's reply: the others still run.
//! The loop is single-threaded, so the queued commands run back to back with nothing interleaved.

use bytes::Bytes;

use super::cmd::{flag::*, Command};
use super::error::{err, CmdError, CmdResult};
use super::exec::{run, Ctx, Engine};

pub static COMMANDS: &[Command] = &[
    Command::new(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        "transactions",
        "1.2.0",
        "O(1)",
        "Mark the start of a transaction block",
        "",
        multi,
    ),
    Command::new(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        (0, 0, 0),
        "transactions",
        "1.2.0",
        "Depends on commands in the transaction",
        "Execute all commands issued after MULTI",
        "",
        exec,
    ),
    Command::new(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        "transactions",
        "2.0.0",
        "O(N), when N is the number of queued commands",
        "Discard all commands issued after MULTI",
        "",
        discard,
    ),
    Command::new(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (1, -1, 1),
        "transactions",
        "2.2.0",
        "O(1) for every key.",
        "Watch the given keys to determine execution of the MULTI/EXEC block",
        "key [key ...]",
        watch,
    ),
    Command::new(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        "transactions",
        "2.2.0",
        "O(1)",
        "Forget about all watched keys",
        "",
        unwatch,
    ),
];

/// Commands that act on the transaction itself run at once inside MULTI; everything else is queued.
pub(crate) fn runs_inside_multi(cmd: &Command) -> bool {
    matches!(cmd.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// Queues a checked command for EXEC.
pub(crate) fn queue(cx: &mut Ctx<'_>, argv: &[&[u8]]) {
    let owned: Vec<Bytes> = argv.iter().map(|a| Bytes::copy_from_slice(a)).collect();
    if let Some(queue) = cx.client().multi.as_mut() {
        queue.push(owned);
    }
    cx.reply.simple("QUEUED");
}

fn multi(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    let client = cx.client();
    if client.multi.is_some() {
        return Err(err("ERR MULTI calls can not be nested"));
    }
    client.multi = Some(Vec::new());
    client.multi_rejected = false;
    cx.reply.ok();
    Ok(())
}

fn discard(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    if cx.client().multi.take().is_none() {
        return Err(err("ERR DISCARD without MULTI"));
    }
    end_transaction(cx.engine, cx.client);
    cx.reply.ok();
    Ok(())
}

/// Leaves any transaction and forgets watched keys (`RESET`).
pub(crate) fn reset(engine: &mut Engine, client: usize) {
    end_transaction(engine, client);
    unwatch_all(engine, client);
}

/// Leaves transaction state and forgets watched keys, as EXEC and DISCARD both do.
fn end_transaction(engine: &mut Engine, client: usize) {
    let c = &mut engine.clients[client];
    c.multi = None;
    c.multi_rejected = false;
    unwatch_all(engine, client);
}

fn exec(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    let Some(queued) = cx.client().multi.take() else {
        return Err(err("ERR EXEC without MULTI"));
    };
    if cx.client().multi_rejected {
        end_transaction(cx.engine, cx.client);
        return Err(err("EXECABORT Transaction discarded because of previous errors."));
    }
    // A watched key that has expired since WATCH counts as modified: look each one up so lazy expiry runs now.
    let watched = cx.client().watched.clone();
    for (db, key) in &watched {
        let now = cx.now_ms;
        cx.engine.dbs[*db].contains(key, now);
    }
    cx.engine.reap_expired();
    if cx.client().dirty_cas {
        end_transaction(cx.engine, cx.client);
        cx.reply.null_array();
        return Ok(());
    }
    end_transaction(cx.engine, cx.client);
    cx.reply.array(queued.len());
    cx.engine.in_exec = true;
    for argv in &queued {
        let argv: Vec<&[u8]> = argv.iter().map(|a| &a[..]).collect();
        // Each command was checked when queued; resolve again to run it (the table does not change).
        let result = super::cmd::resolve(&argv).and_then(|(cmd, sub)| run(cx, sub.unwrap_or(cmd), &argv));
        if let Err(e) = result {
            cx.reply.error(&e);
        }
    }
    cx.engine.in_exec = false;
    Ok(())
}

fn watch(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    if cx.client().multi.is_some() {
        return Err(err("ERR WATCH inside MULTI is not allowed"));
    }
    let db = cx.db;
    for key in &argv[1..] {
        // Expire a logically expired key now, so its removal cannot dirty this fresh watch later.
        let now = cx.now_ms;
        cx.engine.dbs[db].contains(key, now);
        cx.engine.reap_expired();
        let client = cx.client;
        let c = &mut cx.engine.clients[client];
        if c.watched.iter().any(|(d, k)| *d == db && &k[..] == *key) {
            continue;
        }
        let boxed: Box<[u8]> = (*key).into();
        c.watched.push((db, boxed.clone()));
        cx.engine.watched_keys.entry((db, boxed)).or_default().push(client);
    }
    cx.reply.ok();
    Ok(())
}

fn unwatch(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    unwatch_all(cx.engine, cx.client);
    cx.client().dirty_cas = false;
    cx.reply.ok();
    Ok(())
}

/// Forgets every key a client watches.
pub(crate) fn unwatch_all(engine: &mut Engine, client: usize) {
    let watched = std::mem::take(&mut engine.clients[client].watched);
    for (db, key) in watched {
        let slot = (db, key);
        if let Some(watchers) = engine.watched_keys.get_mut(&slot) {
            watchers.retain(|&c| c != client);
            if watchers.is_empty() {
                engine.watched_keys.remove(&slot);
            }
        }
    }
    engine.clients[client].dirty_cas = false;
}

/// A key changed: every client watching it will fail its EXEC.
pub(crate) fn touch_watched(engine: &mut Engine, db: usize, key: &[u8]) {
    let slot: (usize, Box<[u8]>) = (db, key.into());
    if let Some(watchers) = engine.watched_keys.get(&slot) {
        for &c in watchers {
            engine.clients[c].dirty_cas = true;
        }
    }
}

/// A database was flushed: every client watching a key in it will fail its EXEC.
pub(crate) fn touch_watched_db(engine: &mut Engine, db: usize) {
    let watchers: Vec<usize> =
        engine.watched_keys.iter().filter(|((d, _), _)| *d == db).flat_map(|(_, cs)| cs.iter().copied()).collect();
    for c in watchers {
        engine.clients[c].dirty_cas = true;
    }
}

/// Error text shared by callers that must refuse to run inside a transaction.
pub fn not_in_multi() -> CmdError {
    err("ERR Command not allowed inside a transaction")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::kv::clock::ManualClock;
    use crate::kv::config::Config;
    use crate::kv::exec::Engine;

    fn call(e: &mut Engine, c: usize, args: &[&str]) -> String {
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        String::from_utf8(e.call(c, &argv)).unwrap()
    }

    fn engine() -> (Engine, ManualClock) {
        let clock = ManualClock::new(1_000_000);
        (Engine::new(Config::new(), Arc::new(clock.clone())), clock)
    }

    #[test]
    fn exec_runs_queued_commands_and_keeps_going_after_a_runtime_error() {
        let (mut e, _) = engine();
        let c = e.add_client(0);
        assert_eq!(call(&mut e, c, &["MULTI"]), "+OK\r\n");
        assert_eq!(call(&mut e, c, &["SET", "a", "1"]), "+QUEUED\r\n");
        assert_eq!(call(&mut e, c, &["INCR", "a"]), "+QUEUED\r\n");
        assert_eq!(call(&mut e, c, &["GET", "a"]), "+QUEUED\r\n");
        assert_eq!(call(&mut e, c, &["APPEND", "a", "x"]), "+QUEUED\r\n");
        assert_eq!(call(&mut e, c, &["INCR", "a"]), "+QUEUED\r\n");
        assert_eq!(call(&mut e, c, &["GET", "a"]), "+QUEUED\r\n");
        let not_int = "-ERR value is not an integer or out of range\r\n";
        assert_eq!(call(&mut e, c, &["EXEC"]), format!("*6\r\n+OK\r\n:2\r\n$1\r\n2\r\n:2\r\n{not_int}$2\r\n2x\r\n"));
        assert_eq!(call(&mut e, c, &["EXEC"]), "-ERR EXEC without MULTI\r\n");
    }

    #[test]
    fn a_queueing_error_aborts_the_transaction() {
        let (mut e, _) = engine();
        let c = e.add_client(0);
        call(&mut e, c, &["MULTI"]);
        assert_eq!(call(&mut e, c, &["SET", "a", "1"]), "+QUEUED\r\n");
        assert!(call(&mut e, c, &["NOSUCH"]).starts_with("-ERR unknown command 'NOSUCH'"));
        assert_eq!(call(&mut e, c, &["GET"]), "-ERR wrong number of arguments for 'get' command\r\n");
        assert_eq!(call(&mut e, c, &["EXEC"]), "-EXECABORT Transaction discarded because of previous errors.\r\n");
        assert_eq!(call(&mut e, c, &["GET", "a"]), "$-1\r\n", "nothing ran");
    }

    #[test]
    fn nesting_discard_and_watch_inside_multi() {
        let (mut e, _) = engine();
        let c = e.add_client(0);
        assert_eq!(call(&mut e, c, &["DISCARD"]), "-ERR DISCARD without MULTI\r\n");
        call(&mut e, c, &["MULTI"]);
        assert_eq!(call(&mut e, c, &["MULTI"]), "-ERR MULTI calls can not be nested\r\n");
        assert_eq!(call(&mut e, c, &["WATCH", "x"]), "-ERR WATCH inside MULTI is not allowed\r\n");
        call(&mut e, c, &["SET", "a", "1"]);
        assert_eq!(call(&mut e, c, &["DISCARD"]), "+OK\r\n");
        assert_eq!(call(&mut e, c, &["GET", "a"]), "$-1\r\n");
    }

    #[test]
    fn a_write_by_another_client_fails_exec_with_a_null_array() {
        let (mut e, _) = engine();
        let (a, b) = (e.add_client(0), e.add_client(1));
        call(&mut e, a, &["SET", "k", "1"]);
        assert_eq!(call(&mut e, a, &["WATCH", "k"]), "+OK\r\n");
        call(&mut e, b, &["SET", "k", "2"]);
        call(&mut e, a, &["MULTI"]);
        call(&mut e, a, &["SET", "k", "3"]);
        assert_eq!(call(&mut e, a, &["EXEC"]), "*-1\r\n");
        assert_eq!(call(&mut e, a, &["GET", "k"]), "$1\r\n2\r\n");
        // The watch ended with EXEC: the next transaction succeeds.
        call(&mut e, a, &["MULTI"]);
        call(&mut e, a, &["SET", "k", "3"]);
        assert_eq!(call(&mut e, a, &["EXEC"]), "*1\r\n+OK\r\n");
    }

    #[test]
    fn expiry_flush_and_unwatch() {
        let (mut e, clock) = engine();
        let a = e.add_client(0);
        call(&mut e, a, &["SET", "k", "1", "PX", "100"]);
        call(&mut e, a, &["WATCH", "k"]);
        clock.advance_ms(200);
        call(&mut e, a, &["MULTI"]);
        call(&mut e, a, &["PING"]);
        assert_eq!(call(&mut e, a, &["EXEC"]), "*-1\r\n", "expiry counts as a modification");

        call(&mut e, a, &["SET", "k", "1"]);
        call(&mut e, a, &["WATCH", "k"]);
        call(&mut e, a, &["FLUSHDB"]);
        call(&mut e, a, &["MULTI"]);
        assert_eq!(call(&mut e, a, &["EXEC"]), "*-1\r\n", "FLUSHDB counts as a modification");

        call(&mut e, a, &["WATCH", "k"]);
        call(&mut e, a, &["SET", "k", "2"]);
        assert_eq!(call(&mut e, a, &["UNWATCH"]), "+OK\r\n");
        call(&mut e, a, &["MULTI"]);
        assert_eq!(call(&mut e, a, &["EXEC"]), "*0\r\n");
        assert!(e.watched_keys.is_empty());
    }
}
