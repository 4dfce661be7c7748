//! The RPC server: one state machine per connection, many calls per connection, all on the reactor thread.
//!
//! ```text
//! socket -> reactor -> data(input) -> FrameDecoder -> Frame -> ServerConn::on_frame
//!     CALL          -> interceptors.before -> Router -> stream state (per-call handler state, windows, queues)
//!     DATA          -> MessageAssembler -> inbox -> handler (credit returned when the handler took the message)
//!     HALF_CLOSE    -> unary/server-streaming handler runs / Inbound::on_end
//!     CANCEL        -> stream freed at once, handler cancelled
//!     WINDOW_UPDATE -> send windows grow -> writer
//! handler -> return value, or ServerStream::send/finish -> Handle::post -> on_event -> stream queue
//! stream queues -> SendScheduler (round robin, quantum per stream, windows) -> conn.out -> reactor flush
//! timers (reactor TimerQueue): per-call deadline, Ctx::after closures, one per-connection housekeeping timer
//!     (handshake timeout, keepalive PING and its timeout, idle timeout, max connection age, drain deadline)
//! ```
//!
//! # Composing with another protocol on the same reactor
//!
//! [`RpcServer`] implements [`Protocol`] for a reactor that serves only RPC. Everything it does is also available
//! as `on_*` methods generic over a host protocol implementing [`ServerHost`] (two conversions: our timer and our
//! cross-thread event into the host's types), so a host that serves RESP and RPC on one loop forwards the calls:
//! `data` for an RPC connection to [`RpcServer::on_data`], its timer variant to [`RpcServer::on_timer`], and so on.
//! Connection state lives inside `RpcServer` (keyed by `ConnId`, checked against the connection's serial), so the
//! host's session type stays its own.
//!
//! # Memory one connection can pin (server side, default settings)
//!
//! | What | Bound |
//! |---|---|
//! | frame being decoded | 10 + `max_frame_payload` (64 KiB) |
//! | request bytes received, not yet consumed by handlers | `initial_connection_window` (1 MiB), enforced by flow control |
//! | messages being reassembled | `max_concurrent_streams` x `max_message_size` (100 x 4 MiB; lower both for untrusted clients) |
//! | call metadata | `max_concurrent_streams` x `max_metadata_size` (100 x 8 KiB) |
//! | responses queued by handlers, waiting for client credit | `max_concurrent_streams` x (`max_queued_bytes_per_stream` + one message) |
//! | output handed to the reactor | the reactor's high watermark (1 MiB) + one quantum: the writer stops filling there |
//!
//! A client that stops reading therefore costs at most these bounds: its windows close, handlers see
//! [`SendError::Full`](super::service::SendError::Full), and nothing grows.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::fastmap::FastMap;
use super::flow::{add_credit, HasOut, OutItem, RecvWindow, SendScheduler, StreamOut};
use super::frame::{
    self, Call, CallKind, ErrorAction, Frame, FrameDecoder, FrameError, GoAwayCode, MessageAssembler, Metadata, Role,
    Settings, PROTOCOL_VERSION,
};
use super::service::{
    CallInfo, Ctx, ErasedInbound, EventKind, Handler, Poster, RawSink, Route, Router, ServerEvent, SinkShared, TimerFn,
};
use super::status::Status;
use crate::reactor::{CloseReason, ConnId, Core, ListenerId, Protocol, TimerId};

/// Largest queue (in entries) a finished stream hands on to the next one. Unary calls need 2; a streaming call
/// that queued thousands of messages gives its big queue back to the allocator instead.
const SPARE_QUEUE_MAX_ENTRIES: usize = 16;

/// Generated trace ids made at once, into one shared buffer: each call then takes a 16-byte slice of it (a
/// reference-count bump) instead of allocating and freeing its own 16 bytes (about 200 instructions, callgrind).
/// 64 ids are 1 KiB, kept alive until the last call using one of them ends.
const TRACE_IDS_PER_BLOCK: usize = 64;

/// Longest status message we send, bytes: keeps STATUS within any peer's `max_metadata_size` (at least 256).
const MAX_STATUS_MESSAGE_BYTES: usize = 200;

/// Policy knobs of the server. Defaults follow `docs/rpc-protocol.md` section 11 (gRPC's defaults where it has one).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Our HELLO: what we accept from clients.
    pub settings: Settings,
    /// Close a connection whose preface + HELLO have not arrived within this. Spec: 10 s.
    pub handshake_timeout: Duration,
    /// Send a keepalive PING after this long without any frame from the client. Spec: 2 h (gRPC server default).
    pub keepalive_interval: Duration,
    /// Close the connection if nothing arrives within this after a keepalive PING. Spec: 20 s.
    pub keepalive_timeout: Duration,
    /// A client PING sooner than this after the previous one, with no DATA/STATUS sent in between, is a strike.
    /// Spec: 30 s.
    pub min_ping_interval: Duration,
    /// Strikes tolerated; the next one gets GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings"). Spec: 2 (third closes).
    pub max_ping_strikes: u32,
    /// Drain a connection with no open call for this long. Spec: 5 min. `None`: never.
    pub idle_timeout: Option<Duration>,
    /// Drain every connection after this age, +/- `max_age_jitter_percent`. Spec: 30 min. `None`: never.
    pub max_connection_age: Option<Duration>,
    /// Jitter on the maximum age, percent, so connections opened together do not all reconnect together. Spec: 10.
    pub max_age_jitter_percent: u32,
    /// After GOAWAY, how long in-flight calls may take before the connection is closed anyway. Spec: 30 s.
    pub drain_grace: Duration,
    /// Most bytes one stream writes per writer turn before the next ready stream gets its turn. 16 KiB: small
    /// enough that a short response behind a 100 MiB one waits microseconds, large enough that headers are noise.
    pub write_quantum_bytes: usize,
    /// Response bytes a handler may queue on one stream beyond what the client's window lets out before
    /// `ServerStream::send` answers `Full`. 256 KiB, the default stream window: one window's worth in flight and one
    /// waiting.
    pub max_queued_bytes_per_stream: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            settings: Settings::default(),
            handshake_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(2 * 60 * 60),
            keepalive_timeout: Duration::from_secs(20),
            min_ping_interval: Duration::from_secs(30),
            max_ping_strikes: 2,
            idle_timeout: Some(Duration::from_secs(5 * 60)),
            max_connection_age: Some(Duration::from_secs(30 * 60)),
            max_age_jitter_percent: 10,
            drain_grace: Duration::from_secs(30),
            write_quantum_bytes: 16 * 1024,
            max_queued_bytes_per_stream: 256 * 1024,
        }
    }
}

/// What a host protocol provides so the RPC server can run inside it (see the module doc).
pub trait ServerHost: Protocol {
    /// Wraps an RPC timer into the host's timer type; the host hands it back to [`RpcServer::on_timer`].
    fn rpc_timer(timer: ServerTimer) -> Self::Timer;
    /// Wraps an RPC event into the host's message type; the host hands it back to [`RpcServer::on_event`].
    fn rpc_event(event: ServerEvent) -> Self::Message;
}

/// A timer the RPC server armed on the reactor.
#[derive(Debug)]
pub struct ServerTimer(TimerKind);

#[derive(Debug)]
enum TimerKind {
    /// Connection housekeeping: handshake, keepalive, idle, max age, drain deadline.
    Conn { conn: ConnId, serial: u64 },
    /// A call's deadline.
    Deadline { conn: ConnId, serial: u64, stream: u32 },
    /// A `Ctx::after` closure.
    User { conn: ConnId, serial: u64, key: u64 },
}

/// Counters for tests and `INFO`-style reporting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Connections that completed the handshake.
    pub connections: u64,
    /// Calls accepted (a stream was opened for them).
    pub calls: u64,
    /// Calls refused before they started: draining, too many streams.
    pub refused: u64,
    /// Connections closed with a GOAWAY carrying an error code.
    pub connection_errors: u64,
    /// Calls ended by their deadline.
    pub deadlines: u64,
    /// Calls cancelled by the client.
    pub cancels: u64,
}

/// The RPC server protocol: a router plus per-connection state machines.
pub struct RpcServer {
    router: Router,
    config: ServerConfig,
    conns: FastMap<ConnId, ServerConn>,
    poster: Option<Poster>,
    stats: ServerStats,
    /// xorshift state for trace ids and max-age jitter; no cryptographic needs here.
    rng: u64,
    /// Trace ids generated ahead, [`TRACE_IDS_PER_BLOCK`] at a time, 16 hex digits each.
    trace_ids: Bytes,
}

impl std::fmt::Debug for RpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcServer").field("router", &self.router).field("connections", &self.conns.len()).finish()
    }
}

impl RpcServer {
    /// A server with the default policy.
    pub fn new(router: Router) -> RpcServer {
        RpcServer::with_config(router, ServerConfig::default())
    }

    pub fn with_config(router: Router, config: ServerConfig) -> RpcServer {
        let seed = Instant::now().elapsed().as_nanos() as u64 ^ (std::process::id() as u64).rotate_left(32);
        RpcServer {
            router,
            config,
            conns: FastMap::default(),
            poster: None,
            stats: ServerStats::default(),
            rng: seed | 1,
            trace_ids: Bytes::new(),
        }
    }

    pub fn stats(&self) -> ServerStats {
        self.stats
    }

    /// Open calls over all connections.
    pub fn open_calls(&self) -> usize {
        self.conns.values().map(|c| c.streams.len()).sum()
    }

    /// Response bytes queued in stream queues (not yet handed to the reactor), over all connections.
    pub fn queued_bytes(&self) -> usize {
        self.conns.values().flat_map(|c| c.streams.values()).map(|s| s.out.queued_bytes).sum()
    }

    fn next_random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn env<'a, P: ServerHost>(
        &'a mut self,
        cx: &'a mut Core<P>,
        id: ConnId,
    ) -> Option<(&'a mut ServerConn, Env<'a, P>)> {
        let poster = self.poster.get_or_insert_with(|| {
            let handle = cx.handle();
            Arc::new(move |event| handle.post(P::rpc_event(event)).is_ok())
        });
        let conn = self.conns.get_mut(&id)?;
        Some((
            conn,
            Env {
                cx,
                router: &mut self.router,
                config: &self.config,
                poster,
                stats: &mut self.stats,
                rng: &mut self.rng,
                trace_ids: &mut self.trace_ids,
                id,
            },
        ))
    }

    /// A connection was accepted (or, on a shared port, identified as RPC).
    pub fn on_opened<P: ServerHost>(&mut self, cx: &mut Core<P>, id: ConnId) {
        let Some(conn) = cx.conn(id) else { return };
        let serial = conn.serial();
        let peer = match conn.peer() {
            crate::net::PeerAddr::Tcp(addr) => Some(*addr),
            _ => None,
        };
        let now = cx.now();
        let jitter = self.next_random();
        let max_age_at = self.config.max_connection_age.map(|age| {
            let spread = age.as_millis() as u64 * u64::from(self.config.max_age_jitter_percent) / 100;
            let offset = if spread == 0 { 0 } else { jitter % (2 * spread + 1) };
            now + age - Duration::from_millis(spread) + Duration::from_millis(offset)
        });
        let conn = ServerConn::new(serial, &self.config, now, peer, max_age_at);
        self.conns.insert(id, conn);
        if let Some((conn, mut env)) = self.env(cx, id) {
            conn.rearm(&mut env);
        }
    }

    /// Input arrived on an RPC connection.
    pub fn on_data<P: ServerHost>(&mut self, cx: &mut Core<P>, id: ConnId, input: &mut BytesMut) {
        if !self.conns.contains_key(&id) {
            self.on_opened(cx, id);
        }
        let Some((conn, mut env)) = self.env(cx, id) else {
            input.clear();
            return;
        };
        conn.on_input(&mut env, input);
        conn.pump(&mut env);
        conn.rearm(&mut env);
    }

    /// One of our timers fired.
    pub fn on_timer<P: ServerHost>(&mut self, cx: &mut Core<P>, timer: ServerTimer) {
        let (id, serial) = match timer.0 {
            TimerKind::Conn { conn, serial }
            | TimerKind::Deadline { conn, serial, .. }
            | TimerKind::User { conn, serial, .. } => (conn, serial),
        };
        let Some((conn, mut env)) = self.env(cx, id) else { return };
        if conn.serial != serial {
            return;
        }
        match timer.0 {
            TimerKind::Conn { .. } => {
                conn.wake = None;
                conn.housekeeping(&mut env);
            }
            TimerKind::Deadline { stream, .. } => {
                if let Some(s) = conn.streams.get_mut(&stream) {
                    s.deadline_timer = None;
                    if !s.finished {
                        env.stats.deadlines += 1;
                        let ms = s.info.deadline.map(|d| d.duration_since(s.info.received).as_millis()).unwrap_or(0);
                        let status = Status::deadline_exceeded(format!("deadline of {ms} ms exceeded"));
                        conn.end_call(&mut env, stream, status, End::Framework);
                    }
                }
            }
            TimerKind::User { key, .. } => {
                if let Some((stream, f)) = conn.user_timers.remove(&key) {
                    conn.run_timer(&mut env, stream, key, f);
                }
            }
        }
        conn.pump(&mut env);
        conn.rearm(&mut env);
    }

    /// A sink posted something for one of our streams.
    pub fn on_event<P: ServerHost>(&mut self, cx: &mut Core<P>, event: ServerEvent) {
        let Some((conn, mut env)) = self.env(cx, event.conn) else { return };
        if conn.serial != event.serial {
            return;
        }
        conn.on_event(&mut env, event.stream, event.kind);
        conn.pump(&mut env);
        conn.rearm(&mut env);
    }

    /// The connection is gone: cancel its calls.
    pub fn on_closed<P: ServerHost>(&mut self, cx: &mut Core<P>, id: ConnId) {
        let Some((conn, mut env)) = self.env(cx, id) else { return };
        let ids: Vec<u32> = conn.streams.keys().copied().collect();
        for stream in ids {
            conn.end_call(&mut env, stream, Status::unavailable("connection lost"), End::Cancel);
        }
        if let Some((timer, _)) = conn.wake.take() {
            env.cx.cancel_timer(timer);
        }
        self.conns.remove(&id);
    }

    /// Graceful shutdown: GOAWAY everywhere, finish calls in flight, refuse new ones, close when done.
    pub fn on_shutdown<P: ServerHost>(&mut self, cx: &mut Core<P>) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            let Some((conn, mut env)) = self.env(cx, id) else { continue };
            if conn.peer.is_none() {
                env.cx.close(id);
            } else {
                conn.start_drain(&mut env, "server shutting down");
                conn.rearm(&mut env);
            }
        }
    }
}

impl Protocol for RpcServer {
    type Session = ();
    type Timer = ServerTimer;
    type Message = ServerEvent;

    fn accept(&mut self, _listener: ListenerId) {}

    fn opened(&mut self, cx: &mut Core<Self>, id: ConnId) {
        self.on_opened(cx, id);
    }

    fn data(&mut self, cx: &mut Core<Self>, id: ConnId, input: &mut BytesMut) {
        self.on_data(cx, id, input);
    }

    fn timer(&mut self, cx: &mut Core<Self>, timer: ServerTimer) {
        self.on_timer(cx, timer);
    }

    fn message(&mut self, cx: &mut Core<Self>, event: ServerEvent) {
        self.on_event(cx, event);
    }

    fn closed(&mut self, cx: &mut Core<Self>, id: ConnId, _session: (), _reason: CloseReason) {
        self.on_closed(cx, id);
    }

    fn shutdown(&mut self, cx: &mut Core<Self>) {
        self.on_shutdown(cx);
    }
}

impl ServerHost for RpcServer {
    fn rpc_timer(timer: ServerTimer) -> ServerTimer {
        timer
    }

    fn rpc_event(event: ServerEvent) -> ServerEvent {
        event
    }
}

/// Everything a connection's state machine needs besides itself.
struct Env<'a, P: Protocol> {
    cx: &'a mut Core<P>,
    router: &'a mut Router,
    config: &'a ServerConfig,
    poster: &'a Poster,
    stats: &'a mut ServerStats,
    rng: &'a mut u64,
    trace_ids: &'a mut Bytes,
    id: ConnId,
}

impl<P: ServerHost> Env<'_, P> {
    fn send_frame(&mut self, frame: &Frame) {
        if let Some(conn) = self.cx.conn_mut(self.id) {
            // Frames we build are valid by construction; an encode error would be our bug, and dropping the frame
            // is safer than panicking on the loop.
            if let Err(e) = frame::encode(frame, conn.out.buf()) {
                tracing::error!(error = %e, "failed to encode an RPC frame");
            }
        }
    }

    fn set_timer(&mut self, at: Instant, kind: TimerKind) -> TimerId {
        self.cx.set_timer(at, P::rpc_timer(ServerTimer(kind)))
    }

    /// 16 lowercase hex digits, written by hand: `format!` costs several hundred instructions per call.
    fn trace_id(&mut self) -> Bytes {
        if self.trace_ids.len() < 16 {
            let mut block = BytesMut::with_capacity(16 * TRACE_IDS_PER_BLOCK);
            for _ in 0..TRACE_IDS_PER_BLOCK {
                *self.rng ^= *self.rng << 13;
                *self.rng ^= *self.rng >> 7;
                *self.rng ^= *self.rng << 17;
                block.extend_from_slice(&hex16(*self.rng));
            }
            // Frozen once per block: splitting a `Bytes` is a reference-count bump, a `BytesMut` split and freeze
            // about 20 instructions more (callgrind).
            *self.trace_ids = block.freeze();
        }
        self.trace_ids.split_to(16)
    }
}

/// How a call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The handler produced the status: queued messages go out first.
    Handler,
    /// The framework ended it (deadline, bad request, limits): the handler is cancelled, queued messages are
    /// dropped, the client gets the STATUS.
    Framework,
    /// The client cancelled or the connection went: the handler is cancelled and the stream freed at once, with
    /// nothing sent.
    Cancel,
}

/// Where a call's handler is.
enum Phase {
    /// Unary or server-streaming: waiting for the one request and the end of the client's stream.
    AwaitRequest { route: Arc<Route>, request: Option<(Bytes, usize)> },
    /// Client-streaming or bidi: the per-call state receives each message.
    Streaming { state: Box<dyn ErasedInbound>, end_delivered: bool },
    /// The handler has the call (single-request kinds) or the call is over.
    Running,
}

/// Whole request messages waiting for the handler, each with the DATA bytes whose credit it holds.
type Inbox = VecDeque<(Bytes, usize)>;

struct ServerStreamState {
    info: Arc<CallInfo>,
    phase: Phase,
    /// The client sent END_STREAM or HALF_CLOSE.
    half_closed: bool,
    /// A STATUS is queued: the call is over, only the writer still needs the stream.
    finished: bool,
    assembler: MessageAssembler,
    recv: RecvWindow,
    /// Whole messages not yet taken by the handler, with the DATA bytes whose credit they hold.
    inbox: Inbox,
    /// The handler asked not to get more messages for now.
    paused: bool,
    out: StreamOut,
    /// Shared with the call's sinks; `None` for calls that never get one (sync unary, unknown method).
    sink: Option<Arc<SinkShared>>,
    /// Responses queued so far (cardinality checks).
    responses: u32,
    /// How many interceptors ran `before` (their `after` runs at the end).
    interceptors_ran: usize,
    deadline_timer: Option<TimerId>,
    user_timers: Vec<(TimerId, u64)>,
}

impl ServerStreamState {
    /// A fresh state, as `reset` leaves one; `on_call` fills in the call.
    fn new(local: &Settings, now: Instant) -> ServerStreamState {
        ServerStreamState {
            info: Arc::new(CallInfo::empty(now)),
            phase: Phase::Running,
            half_closed: false,
            finished: false,
            assembler: MessageAssembler::new(local.max_message_size as usize),
            recv: RecvWindow::new(local.initial_stream_window),
            inbox: Inbox::new(),
            paused: false,
            out: StreamOut::default(),
            sink: None,
            responses: 0,
            interceptors_ran: 0,
            deadline_timer: None,
            user_timers: Vec::new(),
        }
    }

    /// Empties a finished stream's state for reuse, keeping its allocations (`info` must be uniquely owned).
    fn reset(&mut self, local: &Settings) {
        if !matches!(self.phase, Phase::Running) {
            self.phase = Phase::Running;
        }
        self.half_closed = false;
        self.finished = false;
        self.assembler.reset();
        self.recv = RecvWindow::new(local.initial_stream_window);
        // Normally empty already (`clear` costs about 18 instructions even then).
        if !self.inbox.is_empty() {
            self.inbox.clear();
        }
        self.paused = false;
        self.out.reset();
        self.sink = None;
        self.responses = 0;
        self.interceptors_ran = 0;
        self.deadline_timer = None;
        self.user_timers.clear();
    }

    /// `n` response bytes left the sinks' accounting (written, or dropped).
    fn unqueue(&self, n: usize) {
        if let Some(sink) = &self.sink {
            sink.queued.fetch_sub(n.min(sink.queued.load(Ordering::Acquire)), Ordering::AcqRel);
        }
    }
}

impl HasOut for ServerStreamState {
    fn out(&mut self) -> &mut StreamOut {
        &mut self.out
    }
}

/// What we know about a stream id.
enum Known<'a> {
    /// Never opened (above the highest id seen).
    Idle,
    /// Opened earlier and closed (or finished and only waiting for its STATUS to go out).
    Closed,
    /// Open: its state, so the caller needs no second lookup.
    Open(&'a mut ServerStreamState),
}

struct ServerConn {
    serial: u64,
    decoder: FrameDecoder,
    peer_addr: Option<SocketAddr>,
    /// The client's HELLO; `None` until the handshake completes.
    peer: Option<Settings>,
    /// Our limits (as sent in our HELLO).
    local: Settings,
    highest: u32,
    /// Boxed, so the map moves a pointer rather than a few hundred bytes on every insert and remove, and a
    /// finished stream's box (with its queues and `CallInfo`) can be kept in `spare` for the next call.
    streams: FastMap<u32, Box<ServerStreamState>>,
    sched: SendScheduler,
    recv: RecvWindow,
    /// GOAWAY(NO_ERROR) sent with this last stream id: calls above it are refused.
    draining: Option<u32>,
    /// A connection error was sent; ignore all further input.
    failed: bool,
    created: Instant,
    last_frame: Instant,
    /// When the last call ended (or the connection opened); `None` while calls are open.
    idle_since: Option<Instant>,
    max_age_at: Option<Instant>,
    drain_deadline: Option<Instant>,
    /// Keepalive PING in flight: when it was sent.
    ping_sent: Option<Instant>,
    ping_counter: u64,
    last_ping_received: Option<Instant>,
    ping_strikes: u32,
    /// DATA or STATUS sent since the client's last PING.
    sent_since_ping: bool,
    /// The housekeeping timer and when it fires.
    wake: Option<(TimerId, Instant)>,
    user_timers: FastMap<u64, (u32, TimerFn)>,
    next_timer_key: u64,
    /// States of finished streams, emptied, reused by new calls: the box itself, its `CallInfo` (when nothing else
    /// still references it) and its send queue and inbox. Without them a unary call allocates and frees the box,
    /// the `CallInfo` and two `VecDeque`s (about 900 instructions, callgrind). At most `max_concurrent_streams` are
    /// kept.
    #[allow(clippy::vec_box)] // The boxes are the point: each goes back into `streams` as it is.
    spare: Vec<Box<ServerStreamState>>,
    /// Streams whose STATUS the last pump wrote; kept to reuse its allocation.
    done: Vec<u32>,
    /// The route of the last call that found one (or `None`): a one-entry cache in front of the router.
    last_route: Option<Arc<Route>>,
}

impl ServerConn {
    fn new(
        serial: u64,
        config: &ServerConfig,
        now: Instant,
        peer_addr: Option<SocketAddr>,
        max_age_at: Option<Instant>,
    ) -> ServerConn {
        let local = config.settings;
        ServerConn {
            serial,
            decoder: FrameDecoder::new(Role::Server, &local),
            peer_addr,
            peer: None,
            local,
            highest: 0,
            streams: FastMap::default(),
            sched: SendScheduler::new(0, local.max_frame_payload, config.write_quantum_bytes),
            recv: RecvWindow::new(local.initial_connection_window),
            draining: None,
            failed: false,
            created: now,
            last_frame: now,
            idle_since: Some(now),
            max_age_at,
            drain_deadline: None,
            ping_sent: None,
            ping_counter: 0,
            last_ping_received: None,
            ping_strikes: 0,
            sent_since_ping: false,
            wake: None,
            user_timers: FastMap::default(),
            next_timer_key: 0,
            spare: Vec::new(),
            done: Vec::new(),
            last_route: None,
        }
    }

    fn on_input<P: ServerHost>(&mut self, env: &mut Env<P>, input: &mut BytesMut) {
        // Every frame of one read arrives at the tick's `now`: noted once, not per frame.
        let mut got_frame = false;
        while !self.failed {
            match self.decoder.decode(input) {
                Ok(Some(frame)) => {
                    got_frame = true;
                    self.on_frame(env, frame);
                }
                Ok(None) => break,
                Err(error) => self.on_decode_error(env, error),
            }
        }
        if got_frame {
            self.last_frame = env.cx.now();
        }
        if self.failed {
            input.clear();
        }
    }

    fn on_decode_error<P: ServerHost>(&mut self, env: &mut Env<P>, error: FrameError) {
        match error.action() {
            ErrorAction::CloseConnection { code, message } => {
                if matches!(error, FrameError::BadPreface) || self.peer.is_none() {
                    // Before the handshake there is nothing to drain; the GOAWAY still tells a human why.
                    tracing::debug!(conn = env.id.0, %error, "rejecting connection during handshake");
                }
                self.connection_error(env, code, message);
            }
            ErrorAction::FailStream { stream_id, status } => {
                let is_call = matches!(error, FrameError::MalformedCall { .. })
                    || matches!(error, FrameError::MetadataTooLarge { .. });
                if is_call {
                    // A CALL we could not read still uses up its id.
                    if stream_id <= self.highest {
                        self.reused_id(env, stream_id);
                        return;
                    }
                    self.highest = stream_id;
                    self.status_only(env, stream_id, status);
                } else if self.streams.contains_key(&stream_id) {
                    self.end_call(env, stream_id, status, End::Framework);
                }
            }
        }
    }

    fn reused_id<P: ServerHost>(&mut self, env: &mut Env<P>, stream_id: u32) {
        let message = format!("stream id {stream_id} reused: highest id so far is {}", self.highest);
        self.connection_error(env, GoAwayCode::ProtocolError, Bytes::from(message));
    }

    /// GOAWAY with an error code, flush, close; every call is cancelled.
    fn connection_error<P: ServerHost>(&mut self, env: &mut Env<P>, code: GoAwayCode, message: Bytes) {
        if self.failed {
            return;
        }
        self.failed = true;
        env.stats.connection_errors += 1;
        tracing::debug!(conn = env.id.0, code = ?code, message = %String::from_utf8_lossy(&message), "RPC connection error");
        env.send_frame(&Frame::GoAway { last_stream_id: self.highest, code, message });
        let ids: Vec<u32> = self.streams.keys().copied().collect();
        for id in ids {
            self.end_call(env, id, Status::unavailable("connection error"), End::Cancel);
        }
        env.cx.close_after_flush(env.id);
    }

    fn known(&mut self, stream_id: u32) -> Known<'_> {
        let highest = self.highest;
        match self.streams.get_mut(&stream_id) {
            Some(s) if !s.finished => Known::Open(s),
            None if stream_id > highest => Known::Idle,
            Some(_) | None => Known::Closed,
        }
    }

    fn idle_stream_error<P: ServerHost>(&mut self, env: &mut Env<P>, what: &str, stream_id: u32) {
        let message = format!("{what} on stream {stream_id}, which was never opened");
        self.connection_error(env, GoAwayCode::ProtocolError, Bytes::from(message));
    }

    fn on_frame<P: ServerHost>(&mut self, env: &mut Env<P>, frame: Frame) {
        match frame {
            Frame::Hello { settings, .. } => {
                self.peer = Some(settings);
                self.sched = SendScheduler::new(
                    settings.initial_connection_window,
                    settings.max_frame_payload,
                    env.config.write_quantum_bytes,
                );
                env.stats.connections += 1;
                env.send_frame(&Frame::Hello { version: PROTOCOL_VERSION, settings: self.local });
            }
            Frame::Call(call) => self.on_call(env, call),
            Frame::Data { stream_id, payload, end_stream, continues } => {
                self.on_data_frame(env, stream_id, payload, end_stream, continues)
            }
            Frame::HalfClose { stream_id } => match self.known(stream_id) {
                Known::Idle => self.idle_stream_error(env, "HALF_CLOSE", stream_id),
                Known::Closed => {}
                Known::Open(_) => self.half_close(env, stream_id),
            },
            Frame::Cancel { stream_id, .. } => match self.known(stream_id) {
                Known::Idle => self.idle_stream_error(env, "CANCEL", stream_id),
                Known::Closed | Known::Open(_) => {
                    if self.streams.contains_key(&stream_id) {
                        env.stats.cancels += 1;
                        self.end_call(env, stream_id, Status::cancelled("cancelled by the client"), End::Cancel);
                    }
                }
            },
            Frame::WindowUpdate { stream_id: 0, increment } => {
                if self.sched.conn_credit(increment, &mut self.streams).is_err() {
                    let message = Bytes::from_static(b"connection window overflow");
                    self.connection_error(env, GoAwayCode::FlowControlError, message);
                }
            }
            Frame::WindowUpdate { stream_id, increment } => {
                if stream_id > self.highest {
                    return self.idle_stream_error(env, "WINDOW_UPDATE", stream_id);
                }
                let Some(s) = self.streams.get_mut(&stream_id) else { return };
                if add_credit(&mut s.out.window, increment).is_err() {
                    let message = Bytes::from(format!("stream {stream_id} window overflow"));
                    return self.connection_error(env, GoAwayCode::FlowControlError, message);
                }
                self.sched.schedule(stream_id, &mut s.out);
            }
            Frame::Ping { payload } => self.on_ping(env, payload),
            Frame::Pong { payload } => {
                if self.ping_sent.is_some() && payload == self.ping_counter.to_be_bytes() {
                    self.ping_sent = None;
                }
            }
            Frame::GoAway { .. } => {
                // The client is leaving: it starts no new calls. Finish what is open, then close.
                if self.draining.is_none() {
                    self.draining = Some(self.highest);
                }
                if self.streams.is_empty() {
                    env.cx.close_after_flush(env.id);
                }
            }
            Frame::Status { .. } => {
                // The decoder already refuses STATUS from a client; kept for completeness.
                let message = Bytes::from_static(b"STATUS may not be sent by this side");
                self.connection_error(env, GoAwayCode::ProtocolError, message);
            }
        }
    }

    fn on_ping<P: ServerHost>(&mut self, env: &mut Env<P>, payload: [u8; 8]) {
        let now = env.cx.now();
        if let Some(last) = self.last_ping_received {
            if now.duration_since(last) < env.config.min_ping_interval && !self.sent_since_ping {
                self.ping_strikes += 1;
                if self.ping_strikes > env.config.max_ping_strikes {
                    let message = Bytes::from_static(b"too_many_pings");
                    return self.connection_error(env, GoAwayCode::EnhanceYourCalm, message);
                }
            }
        }
        self.last_ping_received = Some(now);
        self.sent_since_ping = false;
        // Straight into the output: ahead of any DATA still waiting in stream queues.
        env.send_frame(&Frame::Pong { payload });
    }

    /// Answers a call we will not start with a bare STATUS (no stream state kept).
    fn status_only<P: ServerHost>(&mut self, env: &mut Env<P>, stream_id: u32, mut status: Status) {
        env.stats.refused += 1;
        clamp_status(&mut status);
        env.send_frame(&Frame::Status { stream_id, status });
    }

    fn on_call<P: ServerHost>(&mut self, env: &mut Env<P>, call: Call) {
        let stream_id = call.stream_id;
        if stream_id <= self.highest {
            return self.reused_id(env, stream_id);
        }
        self.highest = stream_id;
        if self.draining.is_some_and(|last| stream_id > last) {
            return self.status_only(env, stream_id, Status::unavailable("server is draining"));
        }
        if self.streams.len() >= self.local.max_concurrent_streams as usize {
            return self.status_only(env, stream_id, Status::unavailable("too many concurrent streams"));
        }
        let now = env.cx.now();
        let trace_id = match call.metadata.get(b"trace-id") {
            Some(id) if !id.is_empty() => id.clone(),
            _ => env.trace_id(),
        };
        let deadline = (call.timeout_ms > 0).then(|| now + Duration::from_millis(u64::from(call.timeout_ms)));
        // A spare state is reused in place, its `CallInfo` written field by field: building either on the stack and
        // moving it in cost a copy of a few hundred bytes plus a drop of the old value (callgrind). `make_mut` only
        // clones if a handler still holds the spare's `CallInfo` (`remove_stream` replaces such ones).
        let mut state = match self.spare.pop() {
            Some(spare) => spare,
            None => Box::new(ServerStreamState::new(&self.local, now)),
        };
        let slot = Arc::make_mut(&mut state.info);
        slot.method = call.method;
        slot.kind = call.kind;
        slot.metadata = call.metadata;
        slot.trace_id = trace_id;
        slot.deadline = deadline;
        slot.received = now;
        slot.peer = self.peer_addr;
        slot.stream_id = stream_id;
        // Interceptors first, so an unauthenticated caller learns nothing, not even which methods exist.
        let mut verdict = Ok(());
        let mut ran = 0;
        for interceptor in env.router.interceptors.iter_mut() {
            ran += 1;
            verdict = interceptor.before(slot, now);
            if verdict.is_err() {
                break;
            }
        }
        // Calls on one connection mostly repeat a method: a one-entry cache saves hashing the name each time.
        let info = &state.info;
        let route = match &self.last_route {
            Some(route) if *route.method == *info.method => Some(route.clone()),
            _ => {
                let route = env.router.route(&info.method);
                self.last_route.clone_from(&route);
                route
            }
        };
        let peer = self.peer.unwrap_or_default();
        env.stats.calls += 1;
        let needs_sink = route.as_ref().is_some_and(|r| !matches!(r.handler, Handler::Unary(_)));
        let sink = needs_sink.then(|| Arc::new(SinkShared::default()));
        let deadline_timer = deadline
            .map(|at| env.set_timer(at, TimerKind::Deadline { conn: env.id, serial: self.serial, stream: stream_id }));
        self.idle_since = None;
        // A unary or single-request route that passed every check starts out awaiting its request: the phase is
        // set before inserting, as setting it afterwards cost a second lookup (callgrind).
        let awaiting = verdict.is_ok()
            && route
                .as_ref()
                .is_some_and(|r| r.kind == info.kind && matches!(r.handler, Handler::Unary(_) | Handler::Single(_)));
        let (phase, route) = match route {
            Some(route) if awaiting => (Phase::AwaitRequest { route, request: None }, None),
            route => (Phase::Running, route),
        };
        state.phase = phase;
        state.out.window = i64::from(peer.initial_stream_window);
        state.sink.clone_from(&sink);
        state.interceptors_ran = ran;
        state.deadline_timer = deadline_timer;
        if awaiting {
            self.streams.insert(stream_id, state);
            return;
        }
        let info = state.info.clone();
        self.streams.insert(stream_id, state);
        if let Err(status) = verdict {
            return self.end_call(env, stream_id, status, End::Framework);
        }
        let Some(route) = route else {
            let status = Status::unimplemented(format!("unknown method {}", String::from_utf8_lossy(&info.method)));
            return self.end_call(env, stream_id, status, End::Framework);
        };
        if route.kind != info.kind {
            let status = Status::unimplemented(format!(
                "method {} is {}, the CALL asked for {}",
                String::from_utf8_lossy(&info.method),
                kind_name(route.kind),
                kind_name(info.kind)
            ));
            return self.end_call(env, stream_id, status, End::Framework);
        }
        match &route.handler {
            // Built above already awaiting the request.
            Handler::Unary(_) | Handler::Single(_) => {}
            Handler::Streaming(factory) => {
                let Some(sink) = sink else { return };
                let raw = self.raw_sink(env, stream_id, info.kind, sink);
                let mut ctx = Ctx::new(info, now);
                let state = factory(&mut ctx, raw);
                if let Some(s) = self.streams.get_mut(&stream_id) {
                    s.phase = Phase::Streaming { state, end_delivered: false };
                }
                self.apply_ctx(env, stream_id, ctx);
            }
        }
    }

    fn raw_sink<P: ServerHost>(
        &self,
        env: &Env<P>,
        stream_id: u32,
        kind: CallKind,
        shared: Arc<SinkShared>,
    ) -> RawSink {
        RawSink::new(
            shared,
            env.poster.clone(),
            env.id,
            self.serial,
            stream_id,
            kind,
            env.config.max_queued_bytes_per_stream,
        )
    }

    fn on_data_frame<P: ServerHost>(
        &mut self,
        env: &mut Env<P>,
        stream_id: u32,
        payload: Bytes,
        end_stream: bool,
        continues: bool,
    ) {
        let n = payload.len();
        if !self.recv.receive(n) {
            let message = Bytes::from(format!("DATA of {n} bytes exceeds the connection window"));
            return self.connection_error(env, GoAwayCode::FlowControlError, message);
        }
        // The stream `known` found is kept for what follows: a second lookup is about 25 instructions (callgrind).
        let s = match self.known(stream_id) {
            Known::Open(s) => s,
            Known::Idle => return self.idle_stream_error(env, "DATA", stream_id),
            Known::Closed => return self.return_conn_credit(env, n),
        };
        if s.half_closed {
            self.return_conn_credit(env, n);
            return self.end_call(env, stream_id, Status::internal("data after end of stream"), End::Framework);
        }
        if !s.recv.receive(n) {
            let message = Bytes::from(format!("DATA of {n} bytes exceeds the window of stream {stream_id}"));
            return self.connection_error(env, GoAwayCode::FlowControlError, message);
        }
        match s.assembler.push(stream_id, payload, continues) {
            Err(error) => {
                self.return_conn_credit(env, n);
                let ErrorAction::FailStream { status, .. } = error.action() else { return };
                return self.end_call(env, stream_id, status, End::Framework);
            }
            Ok(None) => {
                // A piece went into the reassembly buffer (bounded by max_message_size): credit it now, or a
                // message larger than the window could never complete. (Never END_STREAM: the decoder refuses it
                // together with MESSAGE_CONTINUES.)
                let update = s.recv.consume(n);
                if let Some(increment) = update {
                    env.send_frame(&Frame::WindowUpdate { stream_id, increment });
                }
                self.return_conn_credit(env, n);
            }
            Ok(Some(message)) => {
                s.inbox.push_back((message, n));
                s.half_closed |= end_stream;
            }
        }
        self.deliver(env, stream_id);
    }

    fn half_close<P: ServerHost>(&mut self, env: &mut Env<P>, stream_id: u32) {
        let Some(s) = self.streams.get_mut(&stream_id) else { return };
        if s.half_closed {
            return self.end_call(env, stream_id, Status::internal("data after end of stream"), End::Framework);
        }
        s.half_closed = true;
        self.deliver(env, stream_id);
    }

    fn return_conn_credit<P: ServerHost>(&mut self, env: &mut Env<P>, n: usize) {
        if let Some(increment) = self.recv.consume(n) {
            env.send_frame(&Frame::WindowUpdate { stream_id: 0, increment });
        }
    }

    /// The handler took a message of `n` DATA bytes: its credit may go back to the client.
    fn consumed<P: ServerHost>(&mut self, env: &mut Env<P>, stream_id: u32, n: usize, stream_credit: bool) {
        if stream_credit {
            if let Some(s) = self.streams.get_mut(&stream_id) {
                if !s.finished {
                    if let Some(increment) = s.recv.consume(n) {
                        env.send_frame(&Frame::WindowUpdate { stream_id, increment });
                    }
                }
            }
        }
        self.return_conn_credit(env, n);
    }

    /// Hands queued messages (and the end of the client's stream) to the handler, as far as it is ready.
    fn deliver<P: ServerHost>(&mut self, env: &mut Env<P>, stream_id: u32) {
        loop {
            let Some(s) = self.streams.get_mut(&stream_id) else { return };
            if s.finished {
                return;
            }
            let now = env.cx.now();
            match &mut s.phase {
                Phase::AwaitRequest { request, .. } => {
                    while let Some(message) = s.inbox.pop_front() {
                        if request.is_some() {
                            let status = Status::unimplemented("cardinality violation: more than one request");
                            return self.end_call(env, stream_id, status, End::Framework);
                        }
                        *request = Some(message);
                    }
                    if !s.half_closed {
                        return;
                    }
                    // The route moves out with the phase: no reference-count traffic.
                    let Phase::AwaitRequest { route, request } = std::mem::replace(&mut s.phase, Phase::Running) else {
                        return;
                    };
                    let Some((message, n)) = request else {
                        let status = Status::unimplemented("cardinality violation: no request");
                        return self.end_call(env, stream_id, status, End::Framework);
                    };
                    let (info, shared) = (s.info.clone(), s.sink.clone());
                    let kind = info.kind;
                    let mut ctx = Ctx::new(info, now);
                    let outcome = match (&route.handler, shared) {
                        (Handler::Unary(handler), _) => Some(handler(&mut ctx, message)),
                        (Handler::Single(handler), Some(shared)) => {
                            let raw = self.raw_sink(env, stream_id, kind, shared);
                            handler(&mut ctx, message, raw)
                        }
                        _ => return,
                    };
                    // Single-request calls need no stream credit back: the client sends nothing more.
                    self.consumed(env, stream_id, n, false);
                    self.apply_ctx(env, stream_id, ctx);
                    match outcome {
                        None => {}
                        Some(Ok(response)) => {
                            self.queue_response(env, stream_id, response);
                            self.end_call(env, stream_id, Status::ok(), End::Handler);
                        }
                        Some(Err(status)) => self.end_call(env, stream_id, status, End::Handler),
                    }
                    return;
                }
                Phase::Streaming { state, end_delivered } => {
                    if s.paused {
                        return;
                    }
                    let mut ctx = Ctx::new(s.info.clone(), now);
                    let (result, consumed) = if let Some((message, n)) = s.inbox.pop_front() {
                        (state.message(&mut ctx, message), Some(n))
                    } else if s.half_closed && !*end_delivered {
                        *end_delivered = true;
                        (state.end(&mut ctx), None)
                    } else {
                        return;
                    };
                    if ctx.paused {
                        s.paused = true;
                    }
                    if let Some(n) = consumed {
                        self.consumed(env, stream_id, n, true);
                    }
                    self.apply_ctx(env, stream_id, ctx);
                    if let Err(status) = result {
                        return self.end_call(env, stream_id, status, End::Handler);
                    }
                }
                Phase::Running => return,
            }
        }
    }

    /// Arms the timers a handler asked for with `Ctx::after`. Inlined, so the common case (none) neither moves the
    /// context into a call nor drops it there (about 50 instructions per call, callgrind).
    #[inline]
    fn apply_ctx<P: ServerHost>(&mut self, env: &mut Env<P>, stream_id: u32, ctx: Ctx) {
        if !ctx.scheduled.is_empty() {
            self.arm_user_timers(env, stream_id, ctx);
        }
    }

    fn arm_user_timers<P: ServerHost>(&mut self, env: &mut Env<P>, stream_id: u32, ctx: Ctx) {
        let Some(s) = self.streams.get_mut(&stream_id) else { return };
        if s.finished {
            return;
        }
        for (delay, f) in ctx.scheduled {
            let key = self.next_timer_key;
            self.next_timer_key += 1;
            let timer = env.set_timer(ctx.now + delay, TimerKind::User { conn: env.id, serial: self.serial, key });
            s.user_timers.push((timer, key));
            self.user_timers.insert(key, (stream_id, f));
        }
    }

    fn run_timer<P: ServerHost>(&mut self, env: &mut Env<P>, stream_id: u32, key: u64, f: TimerFn) {
        let Some(s) = self.streams.get_mut(&stream_id) else { return };
        s.user_timers.retain(|(_, k)| *k != key);
        if s.finished {
            return;
        }
        let mut ctx = Ctx::new(s.info.clone(), env.cx.now());
        f(&mut ctx);
        if ctx.paused {
            if let Some(s) = self.streams.get_mut(&stream_id) {
                s.paused = true;
            }
        }
        self.apply_ctx(env, stream_id, ctx);
    }

    fn queue_response<P: ServerHost>(&mut self, env: &mut Env<P>, stream_id: u32, bytes: Bytes) {
        let Some(s) = self.streams.get_mut(&stream_id) else { return };
        let limit = self.peer.map_or(u32::MAX, |p| p.max_message_size) as usize;
        if bytes.len() > limit {
            let status = Status::resource_exhausted(format!(
                "response of {} bytes exceeds the client's max_message_size {limit}",
                bytes.len()
            ));
            s.unqueue(bytes.len());
            return self.end_call(env, stream_id, status, End::Framework);
        }
        s.responses += 1;
        s.out.push(OutItem::Message { bytes, sent: 0, end_stream: false });
        self.sched.schedule(stream_id, &mut s.out);
    }

    fn on_event<P: ServerHost>(&mut self, env: &mut Env<P>, stream_id: u32, kind: EventKind) {
        let Some(s) = self.streams.get_mut(&stream_id) else { return };
        match kind {
            EventKind::Send(bytes) => {
                if s.finished {
                    s.unqueue(bytes.len());
                    return;
                }
                self.queue_response(env, stream_id, bytes);
            }
            EventKind::Finish(status) => {
                if !s.finished {
                    self.end_call(env, stream_id, status, End::Handler);
                }
            }
            EventKind::Resume => {
                s.paused = false;
                self.deliver(env, stream_id);
            }
        }
    }

    /// Ends a call; see [`End`] for the three ways.
    fn end_call<P: ServerHost>(&mut self, env: &mut Env<P>, stream_id: u32, status: Status, how: End) {
        let Some(s) = self.streams.get_mut(&stream_id) else { return };
        let mut status = status;
        if s.finished {
            if how != End::Cancel {
                return;
            }
        } else {
            s.finished = true;
            if let Some(sink) = &s.sink {
                sink.finished.store(true, Ordering::Release);
                if how != End::Handler {
                    sink.cancelled.store(true, Ordering::Release);
                }
            }
            if how != End::Handler {
                if let Phase::Streaming { state, .. } = &mut s.phase {
                    state.cancel();
                }
            } else if status.is_ok() && !s.info.kind.server_streams() && s.responses != 1 {
                // Our own handler broke the call's cardinality; do not pass the violation on to the client.
                status = Status::internal("handler finished without exactly one response");
            }
            // Guarded: assigning over `Running` still calls its out-of-line drop (callgrind).
            if !matches!(s.phase, Phase::Running) {
                s.phase = Phase::Running;
            }
            if let Some(timer) = s.deadline_timer.take() {
                env.cx.cancel_timer(timer);
            }
            for (timer, key) in s.user_timers.drain(..) {
                env.cx.cancel_timer(timer);
                self.user_timers.remove(&key);
            }
            if s.interceptors_ran > 0 {
                // Only measured when someone listens: the Instant arithmetic is most of 40 instructions per call.
                let elapsed = env.cx.now().saturating_duration_since(s.info.received);
                for interceptor in env.router.interceptors[..s.interceptors_ran].iter_mut().rev() {
                    interceptor.after(&s.info, &status, elapsed);
                }
            }
        }
        // Unconsumed requests will never be consumed: their connection credit goes back now.
        let held: usize = s.inbox.drain(..).map(|(_, n)| n).sum();
        if how == End::Cancel {
            let queued = s.out.queued_bytes;
            s.unqueue(queued);
            self.remove_stream(stream_id);
            self.after_stream_removed(env);
        } else {
            if how == End::Framework {
                let queued = s.out.queued_bytes;
                s.out.drop_messages();
                s.unqueue(queued);
            }
            // Clamped in place: passing the status through by value moved it twice more (callgrind).
            clamp_status(&mut status);
            s.out.push(OutItem::Status(status));
            self.sched.schedule(stream_id, &mut s.out);
        }
        if held > 0 {
            self.return_conn_credit(env, held);
        }
    }

    /// Frees a stream's state, keeping the emptied box for the next stream.
    fn remove_stream(&mut self, stream_id: u32) {
        let Some(mut s) = self.streams.remove(&stream_id) else { return };
        let small = s.out.queue.capacity() <= SPARE_QUEUE_MAX_ENTRIES && s.inbox.capacity() <= SPARE_QUEUE_MAX_ENTRIES;
        if !small || self.spare.len() >= self.local.max_concurrent_streams as usize {
            return;
        }
        match Arc::get_mut(&mut s.info) {
            Some(info) => {
                // Drop what it references now (the method and metadata are slices of an input buffer).
                info.method = Bytes::new();
                info.metadata = Metadata::default();
                info.trace_id = Bytes::new();
            }
            // A handler kept its context: leave that `CallInfo` to it.
            None => s.info = Arc::new(CallInfo::empty(s.info.received)),
        }
        s.reset(&self.local);
        self.spare.push(s);
    }

    fn after_stream_removed<P: ServerHost>(&mut self, env: &mut Env<P>) {
        if self.streams.is_empty() {
            self.idle_since = Some(env.cx.now());
            if self.draining.is_some() {
                env.cx.close_after_flush(env.id);
            }
        }
    }

    /// Moves queued responses into the connection's output, fairly, within windows and the output bound.
    fn pump<P: ServerHost>(&mut self, env: &mut Env<P>) {
        if self.failed || self.peer.is_none() || !self.sched.has_ready() {
            return;
        }
        let limit = env.cx.config().high_watermark_bytes;
        let Some(conn) = env.cx.conn_mut(env.id) else { return };
        // Reused across calls: a fresh list grew (and was freed) on every pump.
        let mut done = std::mem::take(&mut self.done);
        let mut sent = false;
        self.sched.run(&mut self.streams, &mut conn.out, limit, |id, s, written| {
            if written.data_bytes > 0 {
                s.unqueue(written.data_bytes);
            }
            if written.status {
                done.push(id);
            }
            sent |= written.messages > 0 || written.status;
        });
        if sent {
            self.sent_since_ping = true;
            self.ping_strikes = 0;
        }
        for id in done.drain(..) {
            self.remove_stream(id);
        }
        self.done = done;
        self.after_stream_removed(env);
    }

    /// Sends GOAWAY(NO_ERROR): no calls above the current highest id; close once the open ones finish.
    fn start_drain<P: ServerHost>(&mut self, env: &mut Env<P>, reason: &'static str) {
        if self.draining.is_some() || self.failed {
            return;
        }
        let last = self.highest;
        self.draining = Some(last);
        self.drain_deadline = Some(env.cx.now() + env.config.drain_grace);
        env.send_frame(&Frame::GoAway {
            last_stream_id: last,
            code: GoAwayCode::NoError,
            message: Bytes::from_static(reason.as_bytes()),
        });
        if self.streams.is_empty() {
            env.cx.close_after_flush(env.id);
        }
    }

    /// The per-connection timer fired: check every time-based rule.
    fn housekeeping<P: ServerHost>(&mut self, env: &mut Env<P>) {
        if self.failed {
            return;
        }
        let now = env.cx.now();
        let config = env.config;
        if self.peer.is_none() {
            if now >= self.created + config.handshake_timeout {
                tracing::debug!(conn = env.id.0, "RPC handshake timeout");
                env.cx.close(env.id);
                self.failed = true;
            }
            return;
        }
        if let Some(sent) = self.ping_sent {
            if self.last_frame > sent {
                self.ping_sent = None;
            } else if now >= sent + config.keepalive_timeout {
                tracing::debug!(conn = env.id.0, "keepalive timeout; closing");
                self.failed = true;
                let ids: Vec<u32> = self.streams.keys().copied().collect();
                for id in ids {
                    self.end_call(env, id, Status::unavailable("keepalive timeout"), End::Cancel);
                }
                env.cx.close(env.id);
                return;
            }
        }
        if self.ping_sent.is_none() && now >= self.last_frame + config.keepalive_interval {
            self.ping_counter += 1;
            self.ping_sent = Some(now);
            env.send_frame(&Frame::Ping { payload: self.ping_counter.to_be_bytes() });
        }
        if let (Some(since), Some(idle)) = (self.idle_since, config.idle_timeout) {
            if self.streams.is_empty() && now >= since + idle {
                self.start_drain(env, "idle timeout");
            }
        }
        if self.max_age_at.is_some_and(|at| now >= at) {
            self.max_age_at = None;
            self.start_drain(env, "max connection age");
        }
        if self.drain_deadline.is_some_and(|at| now >= at) {
            // Calls still open end with UNAVAILABLE on the client when the connection goes.
            env.cx.close(env.id);
            self.failed = true;
        }
    }

    /// When the housekeeping timer must next fire.
    fn next_wake(&self, config: &ServerConfig) -> Option<Instant> {
        if self.failed {
            return None;
        }
        if self.peer.is_none() {
            return Some(self.created + config.handshake_timeout);
        }
        let mut next = match self.ping_sent {
            Some(sent) => sent + config.keepalive_timeout,
            None => self.last_frame + config.keepalive_interval,
        };
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = next.min(t);
            }
        };
        if self.streams.is_empty() && self.draining.is_none() {
            consider(self.idle_since.zip(config.idle_timeout).map(|(s, d)| s + d));
        }
        if self.draining.is_none() {
            consider(self.max_age_at);
        }
        consider(self.drain_deadline);
        Some(next)
    }

    /// Makes sure the housekeeping timer fires no later than needed. A timer that fires early just re-arms.
    fn rearm<P: ServerHost>(&mut self, env: &mut Env<P>) {
        let Some(next) = self.next_wake(env.config) else { return };
        if let Some((timer, at)) = self.wake {
            if at <= next {
                return;
            }
            env.cx.cancel_timer(timer);
        }
        let timer = env.set_timer(next, TimerKind::Conn { conn: env.id, serial: self.serial });
        self.wake = Some((timer, next));
    }
}

/// `n` as 16 lowercase hex digits, most significant first (what `format!("{n:016x}")` gives).
///
/// Eight digits at a time in a `u64` ("SWAR"): a digit-by-digit table loop cost about 70 instructions per
/// generated trace id, one per call whose client sent none (callgrind).
fn hex16(n: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&hex8((n >> 32) as u32));
    out[8..].copy_from_slice(&hex8(n as u32));
    out
}

/// `x` as 8 lowercase hex digits, most significant first.
fn hex8(x: u32) -> [u8; 8] {
    // Spread the 8 nibbles into the 8 bytes of a u64, least significant nibble in the lowest byte.
    let mut v = u64::from(x);
    v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
    v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
    v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    // Per byte (no carries cross bytes, every sum stays below 0x80): 1 where the nibble is 10..=15.
    let letters = ((v + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    // '0' + nibble, plus ('a' - '0' - 10) = 39 more for letters.
    (v + 0x3030_3030_3030_3030 + letters * 39).to_be_bytes()
}

fn kind_name(kind: CallKind) -> &'static str {
    match kind {
        CallKind::Unary => "unary",
        CallKind::ServerStreaming => "server-streaming",
        CallKind::ClientStreaming => "client-streaming",
        CallKind::Bidi => "bidi",
    }
}

/// Keeps a STATUS within every peer's metadata limit (which is at least 256 bytes).
#[inline]
fn clamp_status(status: &mut Status) {
    if status.message.len() > MAX_STATUS_MESSAGE_BYTES {
        status.message = status.message.slice(..MAX_STATUS_MESSAGE_BYTES);
    }
    if 4 + status.message.len() + status.metadata.encoded_len() > 256 {
        status.metadata = frame::Metadata::new();
    }
}

/// An RPC server on its own reactor thread: for examples, tests and tools that need a server next to a client in
/// one process. Shut down gracefully (GOAWAY, drain) and joined on [`BackgroundServer::stop`] or drop.
pub struct BackgroundServer {
    addr: SocketAddr,
    handle: crate::reactor::Handle<RpcServer>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for BackgroundServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundServer").field("addr", &self.addr).finish()
    }
}

impl BackgroundServer {
    /// Binds `addr` (port 0 picks a free port) and serves the router `make_router` builds on the reactor thread.
    pub fn start(
        addr: SocketAddr,
        make_router: impl FnOnce() -> Router + Send + 'static,
        config: ServerConfig,
    ) -> std::io::Result<BackgroundServer> {
        Self::start_on(addr, make_router, config, crate::reactor::Config::default())
    }

    /// [`BackgroundServer::start`] on a reactor with settings of its own (e.g. `busy_poll` for a benchmark).
    pub fn start_on(
        addr: SocketAddr,
        make_router: impl FnOnce() -> Router + Send + 'static,
        config: ServerConfig,
        reactor_config: crate::reactor::Config,
    ) -> std::io::Result<BackgroundServer> {
        let listener = crate::net::bind_tcp(addr, &crate::net::TcpOptions::default())?;
        let (tx, rx) = crossbeam_channel::bounded(1);
        let thread = std::thread::Builder::new().name("rpc-server".into()).spawn(move || {
            let setup = (|| {
                let mut reactor =
                    crate::reactor::Reactor::new(RpcServer::with_config(make_router(), config), reactor_config)?;
                let lid = reactor.listen(listener)?;
                let addr = reactor.local_addr(lid).ok_or_else(|| std::io::Error::other("listener has no address"))?;
                Ok::<_, std::io::Error>((reactor, addr))
            })();
            match setup {
                Ok((mut reactor, addr)) => {
                    let _ = tx.send(Ok((addr, reactor.handle())));
                    if let Err(e) = reactor.run() {
                        tracing::error!(error = %e, "RPC server reactor failed");
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        })?;
        let (addr, handle) = rx.recv().map_err(|_| std::io::Error::other("server thread died"))??;
        Ok(BackgroundServer { addr, handle, thread: Some(thread) })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The reactor's handle, e.g. to run a closure on the loop.
    pub fn handle(&self) -> &crate::reactor::Handle<RpcServer> {
        &self.handle
    }

    /// Graceful shutdown; waits for the reactor thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = self.handle.shutdown();
            let _ = thread.join();
        }
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex16_matches_format() {
        for n in [0u64, 1, 9, 10, 15, 0xdead_beef, u64::MAX, 0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210] {
            assert_eq!(hex16(n), format!("{n:016x}").as_bytes(), "{n:x}");
        }
        // Every digit value in every position, and a spread of xorshift-like values.
        let mut n = 0x9e37_79b9_7f4a_7c15u64;
        for shift in 0..64 {
            assert_eq!(hex16(0xfu64.rotate_left(shift)), format!("{:016x}", 0xfu64.rotate_left(shift)).as_bytes());
            n ^= n << 13;
            n ^= n >> 7;
            n ^= n << 17;
            assert_eq!(hex16(n), format!("{n:016x}").as_bytes(), "{n:x}");
        }
    }
}
