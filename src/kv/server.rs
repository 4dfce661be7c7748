//! The KV server on the reactor: a [`Protocol`] that feeds each connection's bytes to its RESP decoder and every
//! complete command to the [`Engine`].
//!
//! ```text
//!  reactor --data(input)--> Decoder::decode --> argv --> Engine::execute --> conn.out
//!                                                     \-> effects --> other connections (Pub/Sub, CLIENT KILL)
//!                                                                  \-> pubsub output limits, idle exemption
//!  reactor --timer(Cron)--> active expiry, incremental rehash, stats   (Redis's serverCron, hz 10)
//! ```
//!
//! Pipelining falls out of the loop: every complete command in the input buffer runs before the reactor flushes,
//! so a pipeline of N commands costs one read and one `writev`. Backpressure is respected between commands: once
//! a client's pending output passes the reactor's high watermark, its remaining commands wait in the input buffer
//! until the output drains (Redis keeps executing and lets the output grow; this is what keeps a slow reader that
//! pipelines `GET`s of a large value from growing the server without bound).

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use smallvec::SmallVec;

use super::config::Config;
use super::dict::PREFETCH_MAX_KEYS;
use super::exec::{is_client_command, Effect, Engine, IoStats};
use super::resp::{peek_second_args, Encoder, Limits, Resp};
use crate::reactor::{CloseReason, ConnId, Core, ListenerId, OutputLimits, Protocol, TimerId};

/// `client-output-buffer-limit pubsub` as output limits, for both I/O models: a subscriber that does not read its
/// messages is disconnected above the hard limit at once, or above the soft limit for the soft time.
///
/// A reactor client that unsubscribes from everything goes back to the reactor's limits for every connection, not
/// to the `normal` class (Redis's default `normal 0 0 0` means unlimited; the reactor keeps a hard cap instead, and
/// backpressure bounds what a normal client's own replies can pile up).
pub(crate) fn pubsub_output_limits(config: &Config) -> OutputLimits {
    let l = config.client_output_buffer_limits().pubsub;
    let clamp = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    OutputLimits {
        hard_bytes: clamp(l.hard_limit_bytes),
        soft_bytes: clamp(l.soft_limit_bytes),
        soft_millis: l.soft_limit_seconds.saturating_mul(1000),
    }
}

/// How often the cron runs (Redis's default `hz 10`).
pub const CRON_INTERVAL: Duration = Duration::from_millis(100);

/// Time the cron may spend on active expiry per run: 25% of a cron period, Redis's `ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC`.
const EXPIRE_ROUNDS_PER_CRON: usize = 16;

/// Buckets of incremental rehashing per database per cron run (Redis spends 1 ms; this is the same order).
const REHASH_STEPS_PER_CRON: usize = 100;

/// Timers of the KV server.
#[derive(Debug, Clone, Copy)]
pub enum KvTimer {
    Cron,
    /// A blocked client's timeout: `client` is the engine key, `id` its never-reused client id (the key may have
    /// been reused by the time the timer fires).
    BlockTimeout {
        client: usize,
        id: u64,
    },
}

/// The Redis-compatible server as a reactor protocol.
pub struct KvServer {
    pub engine: Engine,
    pub limits: Limits,
    /// Timeout timers of blocked clients, by engine key.
    block_timers: HashMap<usize, TimerId>,
}

impl KvServer {
    pub fn new(engine: Engine) -> Self {
        let mut server = KvServer { engine, limits: Limits::default(), block_timers: HashMap::new() };
        server.limits = server.decoder_limits();
        server
    }

    /// Decoder limits from `proto-max-bulk-len` and `client-query-buffer-limit`.
    fn decoder_limits(&self) -> Limits {
        let clamp = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        Limits {
            max_bulk_len: clamp(self.engine.config.proto_max_bulk_len()),
            max_query_buffer: clamp(self.engine.config.client_query_buffer_limit()),
            ..Limits::default()
        }
    }

    /// Applies `CONFIG SET` changes that live outside the engine: decoder limits, the idle timeout.
    fn apply_config<P: KvHost>(&mut self, cx: &mut Core<P>) {
        for name in std::mem::take(&mut self.engine.config_changed) {
            match name {
                "proto-max-bulk-len" | "client-query-buffer-limit" => self.limits = self.decoder_limits(),
                "timeout" => cx.set_idle_timeout(self.engine.config.idle_timeout()),
                // Redis checks the limits against the current configuration on every write, so a change
                // reaches existing subscribers too.
                "client-output-buffer-limit" => {
                    let limits = pubsub_output_limits(&self.engine.config);
                    let subscribers: Vec<usize> = self
                        .engine
                        .clients
                        .iter()
                        .filter(|(k, _)| self.engine.is_subscribed(*k))
                        .map(|(_, c)| c.io)
                        .collect();
                    for io in subscribers {
                        if let Some(conn) = cx.conn_mut(ConnId(io)) {
                            conn.set_limits(limits);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Carries out what commands asked to be done to other connections.
    fn apply_effects<P: KvHost>(&mut self, cx: &mut Core<P>) {
        for effect in std::mem::take(&mut self.engine.effects) {
            match effect {
                Effect::Send { client, bytes } => {
                    let Some(c) = self.engine.clients.get(client) else { continue };
                    if let Some(conn) = cx.conn_mut(ConnId(c.io)) {
                        // Past its hard limit a connection is closed at the flush phase; queueing more for it
                        // until then would only let one slow subscriber grow the server without bound.
                        let limits = conn.limits();
                        let over_hard = limits.hard_bytes != 0 && conn.out.len() > limits.hard_bytes;
                        if !conn.is_closing() && !over_hard {
                            conn.out.push(bytes);
                        }
                    }
                }
                Effect::PubSubMode { client, subscribed } => {
                    let Some(c) = self.engine.clients.get(client) else { continue };
                    let limits =
                        if subscribed { pubsub_output_limits(&self.engine.config) } else { cx.config().output_limits };
                    if let Some(conn) = cx.conn_mut(ConnId(c.io)) {
                        conn.set_limits(limits);
                        // Redis never times out a Pub/Sub client: it may legitimately wait for hours.
                        conn.set_idle_exempt(subscribed);
                    }
                }
                Effect::Kill { client } => {
                    let Some(c) = self.engine.clients.get(client) else { continue };
                    cx.close_after_flush(ConnId(c.io));
                }
                // Through the loop's own handle: the composed protocol hosting us decides how to shut down.
                Effect::Shutdown => {
                    let _ = cx.handle().shutdown();
                }
                Effect::Block { client, timeout_ms } => {
                    let Some(c) = self.engine.clients.get(client) else { continue };
                    let (conn, id) = (ConnId(c.io), c.id);
                    if let Some(conn) = cx.conn_mut(conn) {
                        // Redis exempts blocked clients from the idle timeout.
                        conn.set_idle_exempt(true);
                    }
                    if timeout_ms > 0 {
                        let at = cx.now() + Duration::from_millis(timeout_ms);
                        let timer = cx.set_timer(at, P::kv_timer(KvTimer::BlockTimeout { client, id }));
                        self.block_timers.insert(client, timer);
                    }
                }
                Effect::Unblock { client } => {
                    if let Some(timer) = self.block_timers.remove(&client) {
                        cx.cancel_timer(timer);
                    }
                    let Some(c) = self.engine.clients.get(client) else { continue };
                    let conn = ConnId(c.io);
                    if let Some(c) = cx.conn_mut(conn) {
                        c.set_idle_exempt(false);
                    }
                    // Commands pipelined behind the blocking one have waited in the input buffer: run them now.
                    cx.resume(conn);
                }
            }
        }
    }

    fn cron<P: KvHost>(&mut self, cx: &mut Core<P>) {
        let now_ms = self.engine.clock.now_ms();
        for db in self.engine.dbs.iter_mut() {
            if db.expires_len() > 0 {
                db.active_expire_cycle(now_ms, EXPIRE_ROUNDS_PER_CRON);
            }
            db.rehash_steps(REHASH_STEPS_PER_CRON);
        }
        self.engine.reap_expired();
        let stats = cx.stats();
        self.engine.stats.net_input_bytes = stats.bytes_read;
        self.engine.stats.net_output_bytes = stats.bytes_written;
        self.apply_effects(cx);
        cx.set_timer(cx.now() + CRON_INTERVAL, P::kv_timer(KvTimer::Cron));
    }

    /// Arms the cron (call from [`Protocol::started`]).
    pub fn on_started<P: KvHost>(&mut self, cx: &mut Core<P>) {
        cx.set_timer(cx.now() + CRON_INTERVAL, P::kv_timer(KvTimer::Cron));
    }

    /// Registers a new client; its key goes into the connection's session.
    pub fn on_accept(&mut self) -> usize {
        self.engine.add_client(usize::MAX)
    }

    /// The connection is registered: record its addresses, refuse it past `maxclients`.
    pub fn on_opened<P: KvHost>(&mut self, cx: &mut Core<P>, id: ConnId) {
        let Some(conn) = cx.conn(id) else { return };
        let Some(key) = P::kv_client(&conn.session) else { return };
        let addr = conn.peer().to_string();
        let laddr = conn.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let client = &mut self.engine.clients[key];
        client.io = id.0;
        client.addr = addr;
        client.laddr = laddr;
        if self.engine.clients.len() > self.engine.config.maxclients() as usize {
            // Redis accepts, replies, and closes: the client learns why instead of seeing a bare reset.
            self.engine.stats.rejected_connections += 1;
            if let Some(conn) = cx.conn_mut(id) {
                conn.out.extend_from_slice(b"-ERR max number of clients reached\r\n");
            }
            cx.close_after_flush(id);
        }
    }

    /// Runs every complete command in `input`.
    pub fn on_data<P: KvHost>(&mut self, cx: &mut Core<P>, id: ConnId, input: &mut BytesMut) {
        let Some(key) = cx.conn(id).and_then(|c| P::kv_client(&c.session)) else { return };
        let high_watermark = cx.config().high_watermark_bytes;
        // The decoder is borrowed out of the client so its argument slices can live while the engine runs.
        let mut decoder = std::mem::take(&mut self.engine.clients[key].decoder);
        self.engine.begin_batch();
        // Commands at the front of `input` whose keys the last prefetch hint covered.
        let mut hinted = 0usize;
        while let Some(conn) = cx.conn_mut(id) {
            if conn.is_closing() || conn.out.len() >= high_watermark || self.engine.clients[key].blocked.is_some() {
                break;
            }
            if hinted == 0 {
                hinted = prefetch_keys(&self.engine, key, input);
            }
            let authenticated = self.engine.clients[key].authenticated;
            match decoder.decode(input, &self.limits, authenticated) {
                Ok(Some(n)) => {
                    {
                        let argv: SmallVec<[&[u8]; 8]> = decoder.args(input).iter().collect();
                        // Only a CLIENT command gives up the connection borrow (to read every connection's
                        // buffers) and looks it up again; every other command writes through the one it has.
                        let out = if is_client_command(&argv) {
                            // The caller's own input is lent to us: what follows this command is its query buffer.
                            let mine = (input.len() - n, input.capacity() - input.len());
                            self.snapshot_io(cx, key, mine);
                            match cx.conn_mut(id) {
                                Some(conn) => &mut conn.out,
                                None => break,
                            }
                        } else {
                            &mut conn.out
                        };
                        self.engine.execute(key, &argv, out);
                    }
                    input.advance(n);
                    hinted = hinted.saturating_sub(1);
                    if !self.engine.effects.is_empty() {
                        self.apply_effects(cx);
                    }
                    if !self.engine.config_changed.is_empty() {
                        self.apply_config(cx);
                    }
                    if self.engine.clients.get(key).is_some_and(|c| c.close_after_reply) {
                        cx.close_after_flush(id);
                        break;
                    }
                }
                Ok(None) => {
                    if let Some(want) = decoder.wanted() {
                        // A large bulk is on its way: grow the buffer once rather than by doubling.
                        input.reserve(want);
                    }
                    break;
                }
                Err(e) => {
                    // A protocol error is the client's fault: tell it why (unless Redis would not), then close
                    // only this connection.
                    if e.replies() {
                        Encoder::new(conn.out.buf(), Resp::V2).error(&e.message());
                    }
                    tracing::debug!(conn = id.0, error = %e, "protocol error");
                    cx.close_after_flush(id);
                    break;
                }
            }
        }
        self.engine.end_batch();
        if let Some(client) = self.engine.clients.get_mut(key) {
            client.decoder = decoder;
        }
    }

    /// Refreshes every client's buffer sizes for `CLIENT LIST` / `CLIENT INFO`; `mine` is the running client's
    /// input, which the reactor has lent to [`KvServer::on_data`].
    fn snapshot_io<P: KvHost>(&mut self, cx: &Core<P>, me: usize, mine: (usize, usize)) {
        for (key, client) in self.engine.clients.iter_mut() {
            if let Some(conn) = cx.conn(ConnId(client.io)) {
                client.buffers = IoStats::new(if key == me { mine } else { conn.input_shape() }, conn.out.shape());
            }
        }
    }

    pub fn on_timer<P: KvHost>(&mut self, cx: &mut Core<P>, timer: KvTimer) {
        match timer {
            KvTimer::Cron => self.cron(cx),
            KvTimer::BlockTimeout { client, id } => {
                if self.engine.clients.get(client).is_some_and(|c| c.id == id) {
                    self.block_timers.remove(&client);
                    self.engine.block_timed_out(client);
                    self.apply_effects(cx);
                }
            }
        }
    }

    /// The client's connection is gone.
    pub fn on_closed<P: KvHost>(&mut self, cx: &mut Core<P>, key: usize) {
        if let Some(timer) = self.block_timers.remove(&key) {
            cx.cancel_timer(timer);
        }
        self.engine.remove_client(key);
    }
}

/// Warms the cache for the keys of the next pipelined commands in `input` (up to [`PREFETCH_MAX_KEYS`]), so their
/// lookups overlap their cache misses instead of taking them one after another (see [`Dict::prefetch`]): with a
/// keyspace much larger than the CPU caches this is most of what a pipelined `GET` costs. Returns how many
/// commands the hint covered, at least 1 so that a lone or unusual command is not looked at again before it runs.
/// A single command gets no hint: there is nothing to overlap its misses with.
///
/// [`Dict::prefetch`]: super::dict::Dict::prefetch
fn prefetch_keys(engine: &Engine, client: usize, input: &[u8]) -> usize {
    let mut keys: SmallVec<[&[u8]; PREFETCH_MAX_KEYS]> = SmallVec::new();
    let commands = peek_second_args(input, PREFETCH_MAX_KEYS, |k| keys.push(k));
    if commands > 1 {
        engine.prefetch(client, &keys);
    }
    commands.max(1)
}

/// A reactor protocol that hosts the KV server: [`KvServer`] itself, or a composition that serves KV and RPC on
/// one loop (`app.rs`). The KV logic is generic over its host so it runs unchanged in both.
pub trait KvHost: Protocol {
    /// Wraps a KV timer in the host's timer type; the host hands it back to [`KvServer::on_timer`].
    fn kv_timer(timer: KvTimer) -> Self::Timer;
    /// The engine client behind a connection, if that connection speaks RESP.
    fn kv_client(session: &Self::Session) -> Option<usize>;
}

impl KvHost for KvServer {
    fn kv_timer(timer: KvTimer) -> KvTimer {
        timer
    }

    fn kv_client(session: &usize) -> Option<usize> {
        Some(*session)
    }
}

impl Protocol for KvServer {
    type Session = usize;
    type Timer = KvTimer;
    type Message = ();

    fn started(&mut self, cx: &mut Core<Self>) {
        self.on_started(cx);
    }

    fn accept(&mut self, _listener: ListenerId) -> usize {
        self.on_accept()
    }

    fn opened(&mut self, cx: &mut Core<Self>, id: ConnId) {
        self.on_opened(cx, id);
    }

    fn data(&mut self, cx: &mut Core<Self>, id: ConnId, input: &mut BytesMut) {
        self.on_data(cx, id, input);
    }

    fn timer(&mut self, cx: &mut Core<Self>, timer: KvTimer) {
        self.on_timer(cx, timer);
    }

    fn closed(&mut self, cx: &mut Core<Self>, _id: ConnId, key: usize, _reason: CloseReason) {
        self.on_closed(cx, key);
    }
}
