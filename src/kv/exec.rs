//! The engine: all server state, and command execution independent of the I/O model.
//!
//! Both I/O models drive the same engine. The reactor server (`server.rs`) owns it on the loop thread; the
//! thread-per-connection baseline keeps it behind a lock. Either way, a decoded command becomes one call:
//!
//! ```text
//!  argv --Engine::execute--> resolve (table, arity) --> auth --> subscribed-mode check --> MULTI queue?
//!       --> handler(Ctx, argv) --> Reply (appended to the client's OutBuf)
//!       --> effects (bytes for other clients, kills, resumes) applied by the I/O layer
//! ```
//!
//! Handlers see a [`Ctx`]: the engine, the current client's key, and a [`Reply`] writer over the client's output.
//! Anything that must reach *another* client (a Pub/Sub message, an unblocked `BLPOP` reply, `CLIENT KILL`) is
//! queued as an [`Effect`], because only the I/O layer can reach other connections.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use slab::Slab;

use super::clock::Clock;
use super::cmd::{self, flag, Command};
use super::config::Config;
use super::db::Db;
use super::error::{CmdError, CmdResult};
use super::pubsub::{self, PubSub};
use super::reply::{Reply, Resp};
use super::resp::Decoder;
use super::value::Value;
use crate::net::OutBuf;

/// Something a command did that the I/O layer must carry out on another connection.
#[derive(Debug)]
pub enum Effect {
    /// Append these bytes to that client's output.
    Send { client: usize, bytes: Bytes },
    /// Close that client after its pending output (`CLIENT KILL`, output limits).
    Kill { client: usize },
    /// Shut the server down (`SHUTDOWN`).
    Shutdown,
    /// The client is parked by a blocking command: stop running its input; answer null after `timeout_ms`
    /// (0 = never) unless [`Effect::Unblock`] comes first.
    Block { client: usize, timeout_ms: u64 },
    /// The client was served or timed out: cancel its timer and run its pending input again.
    Unblock { client: usize },
    /// That client gained its first Pub/Sub subscription (`subscribed: true`) or lost its last one: switch its
    /// connection to the `pubsub` output limits and idle-timeout exemption, or back.
    PubSubMode { client: usize, subscribed: bool },
}

/// Per-client state, kept in the engine's slab so `CLIENT LIST` and friends can see every client.
#[derive(Debug)]
pub struct Client {
    /// `CLIENT ID`: monotonic, never reused.
    pub id: u64,
    /// The I/O layer's handle for this client (the reactor's connection id).
    pub io: usize,
    /// Resumable request decoder. Taken out while the I/O layer parses, then put back.
    pub decoder: Decoder,
    pub db: usize,
    pub resp: Resp,
    pub authenticated: bool,
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    /// `ip:port` of the peer and of our side, as `CLIENT LIST` prints them.
    pub addr: String,
    pub laddr: String,
    pub created_ms: u64,
    pub last_interaction_ms: u64,
    /// Full name of the last command run (`client|list`), for `CLIENT LIST cmd=`.
    pub last_cmd: &'static str,
    /// Reply to the current command, then close (`QUIT`, protocol errors).
    pub close_after_reply: bool,
    /// Buffer sizes for `CLIENT LIST`, as the I/O layer last reported them (it refreshes them before a `CLIENT`
    /// command runs).
    pub buffers: IoStats,
    /// `CLIENT KILL` chose this client and the I/O layer is closing it. Redis frees a killed client at once; here
    /// the thread-per-connection model closes it a moment later, and meanwhile it is invisible to `CLIENT LIST`
    /// and `CLIENT KILL`.
    pub killed: bool,
    pub no_evict: bool,
    /// Commands queued since `MULTI`; `None` outside a transaction.
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A command was rejected while queueing: `EXEC` answers `EXECABORT` (Redis's `CLIENT_DIRTY_EXEC`).
    pub multi_rejected: bool,
    /// Keys this client `WATCH`es, as `(db, key)`.
    pub watched: Vec<(usize, Box<[u8]>)>,
    /// A watched key changed: `EXEC` answers with a null array (Redis's `CLIENT_DIRTY_CAS`).
    pub dirty_cas: bool,
    /// Set while a blocking command has parked this client.
    pub blocked: Option<Box<super::blocking::Blocked>>,
}

/// A client's buffers in the terms of Redis's `CLIENT LIST` fields of the same names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoStats {
    pub qbuf: usize,
    pub qbuf_free: usize,
    pub obl: usize,
    pub oll: usize,
    pub omem: usize,
    pub tot_mem: usize,
}

impl IoStats {
    /// From the input buffer's `(len, free)` and the output's shape.
    pub fn new((qbuf, qbuf_free): (usize, usize), out: crate::net::OutShape) -> IoStats {
        IoStats {
            qbuf,
            qbuf_free,
            obl: out.buffered,
            oll: out.chunks,
            omem: out.chunk_bytes,
            tot_mem: qbuf + qbuf_free + out.allocated,
        }
    }
}

/// Whether a command is `CLIENT ...`, before which the I/O layer refreshes every client's [`IoStats`].
pub fn is_client_command(argv: &[&[u8]]) -> bool {
    argv.first().is_some_and(|name| name.eq_ignore_ascii_case(b"client"))
}

impl Client {
    pub fn new(id: u64, io: usize, now_ms: u64) -> Self {
        Client {
            id,
            io,
            decoder: Decoder::new(),
            db: 0,
            resp: Resp::V2,
            authenticated: false,
            name: None,
            lib_name: None,
            lib_ver: None,
            addr: String::new(),
            laddr: String::new(),
            created_ms: now_ms,
            last_interaction_ms: now_ms,
            last_cmd: "NULL",
            close_after_reply: false,
            killed: false,
            buffers: IoStats::default(),
            no_evict: false,
            multi: None,
            multi_rejected: false,
            watched: Vec::new(),
            dirty_cas: false,
            blocked: None,
        }
    }
}

/// Counters behind `INFO stats`.
#[derive(Debug, Default, Clone)]
pub struct EngineStats {
    pub commands_processed: u64,
    pub connections_received: u64,
    pub rejected_connections: u64,
    pub expired_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Writes since start (Redis's `server.dirty`, shown as `rdb_changes_since_last_save`).
    pub dirty: u64,
    /// Bytes in and out, reported by the I/O layer.
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// Error replies sent (`total_error_replies`).
    pub error_replies: u64,
    /// Clients parked by blocking commands right now (`blocked_clients`).
    pub blocked_clients: u64,
}

/// The whole server state.
pub struct Engine {
    pub dbs: Vec<Db>,
    pub clients: Slab<Client>,
    /// Every Redis configuration parameter (`CONFIG GET`/`SET`), typed accessors included.
    pub config: Config,
    /// Parameters changed by `CONFIG SET` that the I/O layer has not applied yet (idle timeout, limits).
    pub config_changed: Vec<&'static str>,
    pub clock: Arc<dyn Clock>,
    pub stats: EngineStats,
    /// Work for the I/O layer, drained after every command.
    pub effects: Vec<Effect>,
    pub started_ms: u64,
    /// 40 hex characters identifying this server run (`INFO` `run_id`).
    pub run_id: String,
    /// Clients in `MONITOR` mode, fed every command other clients run.
    pub monitors: Vec<usize>,
    /// `(db, key)` -> clients watching it, so a write finds its watchers in O(1).
    pub watched_keys: HashMap<(usize, Box<[u8]>), Vec<usize>>,
    /// `(db, key)` -> clients blocked on it, in arrival order.
    pub blocking_keys: HashMap<(usize, Box<[u8]>), std::collections::VecDeque<usize>>,
    /// Keys that received elements during the current command and have blocked clients.
    pub ready_keys: Vec<(usize, Box<[u8]>)>,
    /// `EXEC` is running its queue: blocking commands must not block.
    pub in_exec: bool,
    /// Pub/Sub subscriptions (channels and patterns), see [`pubsub`].
    pub pubsub: PubSub,
    next_client_id: u64,
    /// The time of the current batch of commands, see [`Engine::begin_batch`].
    batch_now_ms: Option<u64>,
    /// Raised by any database that expired a key since the last [`Engine::reap_expired`] (shared with every
    /// `Db`; an atomic only because the engine must be `Send` for the thread-per-connection model).
    expired_signal: Arc<AtomicBool>,
}

/// What a handler works with.
pub struct Ctx<'a> {
    pub engine: &'a mut Engine,
    /// The current client's key in `engine.clients`.
    pub client: usize,
    /// The selected database (a copy of the client's, kept in sync by `SELECT`).
    pub db: usize,
    /// Milliseconds since the Unix epoch, read once per command (Redis caches `mstime` the same way).
    pub now_ms: u64,
    pub reply: Reply<'a>,
}

/// Keyspace notification classes, as the letters of `notify-keyspace-events` name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// `g`: DEL, EXPIRE, RENAME, ... (generic commands)
    Generic,
    /// `$`: string commands
    String,
    /// `l`: list commands
    List,
    /// `s`: set commands
    Set,
    /// `h`: hash commands
    Hash,
    /// `z`: sorted set commands
    ZSet,
    /// `x`: a key expired
    Expired,
}

impl Ctx<'_> {
    /// Records that `key` in database `db` changed: invalidates `WATCH`es on it and counts towards
    /// `rdb_changes_since_last_save`. Every write command calls it once per key it changes (Redis's
    /// `signalModifiedKey` plus `server.dirty++`).
    pub fn modified(&mut self, db: usize, key: &[u8]) {
        self.engine.key_modified(db, key);
    }

    /// Publishes a keyspace notification (Redis's `notifyKeyspaceEvent`), e.g. `notify(Notify::String, "set",
    /// db, key)`. Filtering by `notify-keyspace-events` happens inside.
    pub fn notify(&mut self, class: Notify, event: &'static str, db: usize, key: &[u8]) {
        // Through the reply: a RESP3 client subscribed to its own key's events gets them before its reply.
        pubsub::notify_keyspace(self.engine, Some((self.client, &mut self.reply)), class, event, db, key);
    }

    /// The selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.engine.dbs[self.db]
    }

    /// The current client.
    pub fn client(&mut self) -> &mut Client {
        &mut self.engine.clients[self.client]
    }
}

impl Engine {
    pub fn new(config: Config, clock: Arc<dyn Clock>) -> Self {
        let started_ms = clock.now_ms();
        let expired_signal = Arc::new(AtomicBool::new(false));
        Engine {
            dbs: (0..config.databases()).map(|_| Db::with_expired_signal(expired_signal.clone())).collect(),
            clients: Slab::new(),
            config,
            config_changed: Vec::new(),
            clock,
            stats: EngineStats::default(),
            effects: Vec::new(),
            started_ms,
            run_id: (0..5).map(|_| format!("{:08x}", super::dict::random_u64() as u32)).collect(),
            monitors: Vec::new(),
            watched_keys: HashMap::new(),
            blocking_keys: HashMap::new(),
            ready_keys: Vec::new(),
            in_exec: false,
            pubsub: PubSub::new(),
            next_client_id: 1,
            batch_now_ms: None,
            expired_signal,
        }
    }

    /// Registers a new client and returns its key.
    pub fn add_client(&mut self, io: usize) -> usize {
        let id = self.next_client_id;
        self.next_client_id += 1;
        let now = self.clock.now_ms();
        let mut client = Client::new(id, io, now);
        client.authenticated = self.config.requirepass().is_none();
        self.stats.connections_received += 1;
        self.clients.insert(client)
    }

    /// Forgets a client that disconnected.
    pub fn remove_client(&mut self, key: usize) {
        self.pubsub.remove_client(key);
        if self.clients.contains(key) {
            super::tx::unwatch_all(self, key);
            self.unblock(key);
            self.clients.remove(key);
        }
        self.monitors.retain(|&m| m != key);
    }

    /// Empties one database, or all of them (`FLUSHDB`, `FLUSHALL`).
    pub fn flush(&mut self, db: Option<usize>) {
        let range = match db {
            Some(db) => db..db + 1,
            None => 0..self.dbs.len(),
        };
        for i in range {
            self.stats.dirty += self.dbs[i].len() as u64;
            if !self.watched_keys.is_empty() {
                super::tx::touch_watched_db(self, i);
            }
            self.dbs[i].clear();
        }
    }

    /// Sends a `MONITOR` line for a command to every monitoring client: `+<time> [<db> <addr>] "arg" ...`.
    fn feed_monitors(&mut self, client: usize, db: usize, argv: &[&[u8]], now_ms: u64) {
        use std::fmt::Write;
        let c = &self.clients[client];
        let mut line = format!("+{}.{:06} [{} {}]", now_ms / 1000, (now_ms % 1000) * 1000, db, c.addr);
        // Passwords never reach a log or a monitor.
        let redact = argv[0].eq_ignore_ascii_case(b"auth") || argv[0].eq_ignore_ascii_case(b"hello");
        for (i, arg) in argv.iter().enumerate() {
            line.push(' ');
            if redact && i > 0 {
                line.push_str("\"(redacted)\"");
                continue;
            }
            line.push('"');
            for &b in arg.iter() {
                match b {
                    b'\\' => line.push_str("\\\\"),
                    b'"' => line.push_str("\\\""),
                    b'\n' => line.push_str("\\n"),
                    b'\r' => line.push_str("\\r"),
                    b'\t' => line.push_str("\\t"),
                    0x07 => line.push_str("\\a"),
                    0x08 => line.push_str("\\b"),
                    0x20..=0x7e => line.push(b as char),
                    _ => {
                        let _ = write!(line, "\\x{b:02x}");
                    }
                }
            }
            line.push('"');
        }
        line.push_str("\r\n");
        let bytes = Bytes::from(line);
        for &m in &self.monitors {
            if m != client {
                self.effects.push(Effect::Send { client: m, bytes: bytes.clone() });
            }
        }
    }

    /// Bookkeeping after elements were removed from the aggregate at `key`, in Redis's order: the command's event,
    /// then, if the aggregate is now empty, the key's deletion (Redis never stores an empty aggregate) and `del`,
    /// then `WATCH` invalidation. Every family's removal path ends here.
    pub fn removed_elements(
        &mut self,
        class: Notify,
        event: &'static str,
        db: usize,
        key: &[u8],
        emptied: bool,
        now_ms: u64,
    ) {
        if emptied {
            self.dbs[db].remove(key, now_ms);
        }
        self.notify(class, event, db, key);
        if emptied {
            self.notify(Notify::Generic, "del", db, key);
        }
        self.key_modified(db, key);
    }

    /// See [`Ctx::modified`].
    pub fn key_modified(&mut self, db: usize, key: &[u8]) {
        self.stats.dirty += 1;
        if !self.watched_keys.is_empty() {
            super::tx::touch_watched(self, db, key);
        }
    }

    /// See [`Ctx::notify`]; for events outside a command (active expiry), delivered as effects.
    pub fn notify(&mut self, class: Notify, event: &'static str, db: usize, key: &[u8]) {
        pubsub::notify_keyspace(self, None, class, event, db, key);
    }

    /// Reads the clock once for a batch of commands (everything one read of a connection delivered), which
    /// [`Engine::execute`] then uses instead of reading it per command, until [`Engine::end_batch`]. Redis caches
    /// its time the same way (`server.mstime`, refreshed per event-loop iteration and per top-level command);
    /// commands of one pipelined batch are microseconds apart, far below the millisecond resolution of TTLs.
    pub fn begin_batch(&mut self) {
        self.batch_now_ms = Some(self.clock.now_ms());
    }

    /// Ends a [`Engine::begin_batch`]: commands read the clock themselves again.
    pub fn end_batch(&mut self) {
        self.batch_now_ms = None;
    }

    /// A hint that `client`'s next commands will look up `keys` in its selected database: warms the cache for
    /// them (see [`crate::kv::dict::Dict::prefetch`]). Wrong guesses (a key that is not one, a `SELECT` in
    /// between) only cost the wasted loads.
    pub fn prefetch(&self, client: usize, keys: &[&[u8]]) {
        if let Some(db) = self.clients.get(client).and_then(|c| self.dbs.get(c.db)) {
            db.prefetch(keys);
        }
    }

    /// Runs a command and returns the raw reply bytes: for tests and tools that have no connection.
    pub fn call(&mut self, client: usize, argv: &[&[u8]]) -> Vec<u8> {
        let mut out = OutBuf::new();
        self.execute(client, argv, &mut out);
        out.iter_chunks().flatten().copied().collect()
    }

    /// Runs one command for `client`, appending the reply to `out`, then serves clients that command unblocked.
    pub fn execute(&mut self, client: usize, argv: &[&[u8]], out: &mut OutBuf) {
        self.execute_inner(client, argv, out);
        if !self.ready_keys.is_empty() {
            self.serve_ready_keys();
        }
    }

    /// Runs one command without the ready-keys pass (also used to re-run a blocked client's command).
    pub(crate) fn execute_inner(&mut self, client: usize, argv: &[&[u8]], out: &mut OutBuf) {
        let now_ms = self.batch_now_ms.unwrap_or_else(|| self.clock.now_ms());
        let (db, resp) = {
            let c = &mut self.clients[client];
            c.last_interaction_ms = now_ms;
            (c.db, c.resp)
        };
        let mut cx = Ctx { engine: self, client, db, now_ms, reply: Reply::new(out, resp) };
        if let Err(e) = dispatch(&mut cx, argv) {
            cx.reply.error(&e);
            self.stats.error_replies += 1;
        }
        self.reap_expired();
    }

    /// Turns keys removed by lazy or active expiry into `expired` notifications and statistics.
    /// Runs after every command, so the common case (nothing expired) is one flag test per database.
    pub fn reap_expired(&mut self) {
        // Every database raises the shared flag when it expires a key: the common case is this one load.
        if !self.expired_signal.load(Ordering::Relaxed) {
            return;
        }
        self.expired_signal.store(false, Ordering::Relaxed);
        for db in 0..self.dbs.len() {
            if !self.dbs[db].has_expired() {
                continue;
            }
            let expired = self.dbs[db].take_expired();
            for key in expired {
                self.stats.expired_keys += 1;
                self.key_modified(db, &key);
                self.notify(Notify::Expired, "expired", db, &key);
            }
        }
    }
}

/// A collection whose elements `HDEL`, `SREM` and `ZREM` remove by name.
pub(crate) trait Elements {
    /// Removes one element; `true` if it was there.
    fn remove_element(&mut self, name: &[u8]) -> bool;
    fn is_empty(&self) -> bool;
}

/// `HDEL` / `SREM` / `ZREM key name [name ...]`: removes each named element of the collection `pick` finds at `key`
/// (`WRONGTYPE` for any other value), stopping once it is empty as Redis does (later names cannot be present),
/// deletes a key left empty (`event`, then `del`), counts every removed element as a change, and replies with how
/// many were removed.
pub(crate) fn remove_elements<C: Elements>(
    cx: &mut Ctx<'_>,
    argv: &[&[u8]],
    class: Notify,
    event: &'static str,
    pick: fn(&mut Value) -> Option<&mut C>,
) -> CmdResult {
    let (db, now, key) = (cx.db, cx.now_ms, argv[1]);
    let collection = match cx.engine.dbs[db].get_mut(key, now) {
        None => {
            cx.reply.int(0);
            return Ok(());
        }
        Some(value) => pick(value).ok_or(CmdError::WrongType)?,
    };
    let mut removed = 0u64;
    for name in &argv[2..] {
        if collection.remove_element(name) {
            removed += 1;
            if collection.is_empty() {
                break;
            }
        }
    }
    let emptied = collection.is_empty();
    if removed > 0 {
        // A present collection is never empty, so it can only have emptied if something was removed.
        cx.engine.removed_elements(class, event, db, key, emptied, now);
        // One change was counted there; Redis counts every removed element.
        cx.engine.stats.dirty += removed - 1;
    }
    cx.reply.int(removed as i64);
    Ok(())
}

/// Resolves, checks and runs one command, or queues it inside `MULTI`.
fn dispatch(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let in_multi = cx.engine.clients[cx.client].multi.is_some();
    let checked = check(cx, argv);
    let target = match checked {
        Ok(target) => target,
        Err(e) => {
            // Inside MULTI a rejected command dooms the transaction: EXEC will answer EXECABORT.
            if in_multi {
                cx.engine.clients[cx.client].multi_rejected = true;
            }
            return Err(e);
        }
    };
    if in_multi && !super::tx::runs_inside_multi(target) {
        super::tx::queue(cx, argv);
        return Ok(());
    }
    run(cx, target, argv)
}

/// What must hold before a command runs or is queued: it exists, its arity fits, the client may run it.
fn check(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> Result<&'static Command, CmdError> {
    let (cmd, sub) = cmd::resolve(argv)?;
    let target: &'static Command = sub.unwrap_or(cmd);
    let client = &cx.engine.clients[cx.client];
    if !client.authenticated && !target.has(flag::NO_AUTH) {
        return Err(CmdError::NoAuth);
    }
    if client.multi.is_some() && target.has(flag::NO_MULTI) {
        return Err(super::error::err("ERR Command not allowed inside a transaction"));
    }
    pubsub::check_subscribed_mode(cx, target)?;
    Ok(target)
}

/// Runs a checked command (also used by `EXEC` for each queued command).
pub(crate) fn run(cx: &mut Ctx<'_>, target: &'static Command, argv: &[&[u8]]) -> CmdResult {
    cx.engine.stats.commands_processed += 1;
    cx.engine.clients[cx.client].last_cmd = target.name;
    if !cx.engine.monitors.is_empty() && !target.has(flag::SKIP_MONITOR | flag::ADMIN) {
        cx.engine.feed_monitors(cx.client, cx.db, argv, cx.now_ms);
    }
    (target.run)(cx, argv)
}

impl Engine {
    /// Whether the client is in Pub/Sub subscribed mode.
    pub fn is_subscribed(&self, client: usize) -> bool {
        self.pubsub.is_subscribed(client)
    }

    /// Channel and pattern subscriptions of a client.
    pub fn subscription_counts(&self, client: usize) -> (usize, usize) {
        self.pubsub.counts(client)
    }

    /// Channels with at least one subscriber (`INFO` `pubsub_channels`).
    pub fn pubsub_channel_count(&self) -> usize {
        self.pubsub.channel_count()
    }

    /// Patterns with at least one subscriber (`INFO` `pubsub_patterns`).
    pub fn pubsub_pattern_count(&self) -> usize {
        self.pubsub.pattern_count()
    }
}
