//! The RPC client: a reactor-driven connection that multiplexes calls, and a blocking facade over it.
//!
//! ```text
//! any thread: Client::unary(..) --Handle::run--> RpcClient (on its own reactor thread)
//!                                                  | CALL + DATA through the fair writer (flow.rs)
//!                                                  v
//!                                                socket <--> server
//!                                                  | DATA / STATUS, per stream
//!             call handle <--crossbeam channel-----+ (one channel per call: messages, then the final status)
//!             recv() consumes a message --> credit counted; past half a window --> Handle --> WINDOW_UPDATE
//! ```
//!
//! - One connection carries any number of calls; stream ids are assigned on the loop, in order, and calls beyond
//!   the server's `MAX_CONCURRENT_STREAMS` wait in a local queue (so a correct client never gets refused).
//! - Each call's timeout travels as the CALL's relative deadline and is also enforced locally: the client fails the
//!   call with `DEADLINE_EXCEEDED` and sends `CANCEL(DEADLINE_EXCEEDED)`.
//! - Dropping a call handle before its status arrived sends `CANCEL(CANCELLED)`: the server frees the stream.
//! - Flow control on receive: credit goes back when the application takes a message out of the call handle, not
//!   when bytes arrive, so a caller that stops reading stops the server after one window.
//! - A lost connection, a keepalive timeout, or GOAWAY (for calls above its last stream id) fail calls with
//!   `UNAVAILABLE`.
//!
//! Simplification against gRPC clients: no name resolution, load balancing, automatic retries or reconnects; a
//! [`Client`] is one connection to one address, and a call on a dead connection fails with `UNAVAILABLE`.

use std::collections::VecDeque;
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::fastmap::FastMap;
use super::flow::{add_credit, put_data, HasOut, OutItem, RecvWindow, SendScheduler, StreamOut};
use super::frame::{
    self, CallKind, ErrorAction, Frame, FrameDecoder, GoAwayCode, MessageAssembler, Metadata, Role, Settings, PREFACE,
    PROTOCOL_VERSION,
};
use super::message::Message;
use super::service::Ctx;
use super::status::{Code, Status};
use crate::reactor::{CloseReason, Config, ConnId, Core, Handle, ListenerId, Protocol, Reactor, TimerId};

/// Client policy. Defaults follow `docs/rpc-protocol.md` section 11.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Our HELLO: what we accept from the server.
    pub settings: Settings,
    /// While calls are open, PING after this long without a frame from the server. Spec: 60 s.
    pub keepalive_interval: Duration,
    /// Close the connection if nothing arrives within this after a PING. Spec: 20 s.
    pub keepalive_timeout: Duration,
    /// Give up connecting (TCP + HELLO exchange) after this long.
    pub connect_timeout: Duration,
    /// Most bytes one stream writes per writer turn (fairness among our own streams). 16 KiB.
    pub write_quantum_bytes: usize,
    /// Request bytes a streaming call may queue beyond the server's window before `send` waits. 256 KiB.
    pub max_queued_bytes_per_stream: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            settings: Settings::default(),
            keepalive_interval: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            write_quantum_bytes: 16 * 1024,
            max_queued_bytes_per_stream: 256 * 1024,
        }
    }
}

/// Per-call options: timeout and metadata.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Sent as the CALL's `timeout_ms` and enforced locally. `None`: no deadline.
    pub timeout: Option<Duration>,
    /// Leading metadata (e.g. `authorization`, `trace-id`).
    pub metadata: Metadata,
}

impl CallOptions {
    pub fn new() -> CallOptions {
        CallOptions::default()
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> CallOptions {
        self.timeout = Some(timeout);
        self
    }

    /// Adds a metadata entry; invalid keys (not lowercase `a-z0-9-_.`) are ignored with a warning.
    pub fn metadata(mut self, key: &'static str, value: impl Into<Bytes>) -> CallOptions {
        if self.metadata.insert(key, value).is_err() {
            tracing::warn!(key, "invalid metadata key ignored");
        }
        self
    }

    /// `authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> CallOptions {
        self.metadata("authorization", format!("Bearer {token}"))
    }

    /// Options for a call made while serving `ctx`: the same `trace-id`, and the time the caller has left as the
    /// timeout, so a chain of calls gives up together (spec section 7, "Propagation").
    pub fn child_of(ctx: &Ctx) -> CallOptions {
        let mut options = CallOptions { timeout: ctx.remaining(), metadata: Metadata::new() };
        let _ = options.metadata.insert("trace-id", ctx.trace_id().clone());
        options
    }
}

/// What a call handle receives.
#[derive(Debug)]
enum CallEvent {
    /// A response message and the DATA bytes it used (credited when the application takes it).
    Message(Bytes, usize),
    Status(Status),
}

/// State shared between a call handle and its stream on the loop.
#[derive(Debug, Default)]
struct CallShared {
    /// Bytes taken by the application whose stream credit has not been returned.
    unreturned: AtomicUsize,
    /// Request bytes handed to the loop and not yet written.
    queued: AtomicUsize,
}

/// State shared by every handle of one connection.
#[derive(Debug, Default)]
struct ConnShared {
    /// Bytes taken by the application whose connection credit has not been returned.
    unreturned: AtomicUsize,
}

/// A command for the client loop, posted from call handles.
pub struct ClientCmd(CmdKind);

impl std::fmt::Debug for ClientCmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientCmd")
    }
}

enum CmdKind {
    Start(Box<StartCall>),
    Send { key: ConnKey, call: u64, bytes: Bytes, end: bool },
    CloseSend { key: ConnKey, call: u64 },
    Cancel { key: ConnKey, call: u64 },
    Credit { key: ConnKey, call: u64 },
}

struct StartCall {
    key: ConnKey,
    call: u64,
    kind: CallKind,
    method: Bytes,
    options: CallOptions,
    /// The request of a unary or server-streaming call.
    request: Option<Bytes>,
    events: CallSink,
    /// The handle's shared state; `None` for loop calls, which have no handle.
    shared: Option<Arc<CallShared>>,
    /// When the caller started the call: the deadline counts from here, queueing included.
    started: Instant,
    /// Requests sent (and a half-close) while the call still waited for a stream slot. An `Option`, so the common
    /// case (none) drops as a tag check: an empty `Vec` still runs its drop (with the loop over the items it
    /// had, about 20 instructions per call, callgrind).
    early: Option<Vec<OutItem>>,
}

/// A connection's identity: slab key plus the never-reused serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ConnKey {
    id: ConnId,
    serial: u64,
}

/// Timers the client arms.
#[derive(Debug)]
pub struct ClientTimer {
    key: ConnKey,
    kind: ClientTimerKind,
}

#[derive(Debug)]
enum ClientTimerKind {
    /// The call's deadline; the stream id finds it without `by_call` (which loop calls are not in).
    Deadline {
        call: u64,
        stream: u32,
    },
    Keepalive,
}

struct ClientStream {
    call: u64,
    kind: CallKind,
    events: CallSink,
    /// Shared with the call's handle; `None` for a loop call, which has no handle to share it with: nothing reads
    /// its counters (credit goes back at once, and no `send` waits on `queued`), so it is not kept at all (an
    /// `Arc` taken from a spare list, reset and given back cost about 30 instructions per call, callgrind).
    shared: Option<Arc<CallShared>>,
    assembler: MessageAssembler,
    recv: RecvWindow,
    out: StreamOut,
    responses: u32,
    deadline_timer: Option<TimerId>,
}

impl HasOut for ClientStream {
    fn out(&mut self) -> &mut StreamOut {
        &mut self.out
    }
}

/// Where a call's events go.
enum CallSink {
    /// A call handle of the blocking facade, on another thread.
    Channel(Sender<CallEvent>),
    /// A unary call started on the loop ([`RpcClient::start_unary_on_loop`]): the response is kept here until the
    /// STATUS arrives, then the outcome goes to [`ClientDriver::unary_done`] with the caller's `tag`.
    Loop { tag: u64, response: Option<Bytes> },
}

impl CallSink {
    /// Hands over a response message. A loop call's message counts as consumed at once (the driver gets it in the
    /// same tick), so it returns `true`: the caller gives the credit back instead of waiting for a handle.
    fn message(&mut self, bytes: Bytes, n: usize) -> bool {
        match self {
            CallSink::Channel(tx) => {
                let _ = tx.send(CallEvent::Message(bytes, n));
                false
            }
            CallSink::Loop { response, .. } => {
                *response = Some(bytes);
                true
            }
        }
    }

    /// Ends the call: the handle gets the status, or a loop call's outcome is queued for the driver in `done`.
    fn status(self, status: Status, done: &mut Vec<LoopDone>) {
        match self {
            CallSink::Channel(tx) => {
                let _ = tx.send(CallEvent::Status(status));
            }
            CallSink::Loop { tag, response } => {
                let result = match (status.is_ok(), response) {
                    (true, Some(bytes)) => Ok(bytes),
                    (true, None) => Err(Status::unimplemented("cardinality violation: no response")),
                    (false, _) => Err(status),
                };
                done.push(LoopDone::Unary(tag, result));
            }
        }
    }
}

/// Who waits for a connection's handshake.
enum ReadyWaiter {
    /// [`Client::connect_with`], blocked on the other end.
    Channel(Sender<Result<(ConnKey, Arc<ConnShared>), Status>>),
    /// [`RpcClient::connect_on_loop`]: the driver learns it through [`ClientDriver::ready`].
    Loop,
}

impl ReadyWaiter {
    fn send(self, key: ConnKey, result: Result<Arc<ConnShared>, Status>, done: &mut Vec<LoopDone>) {
        match self {
            ReadyWaiter::Channel(tx) => {
                let _ = tx.send(result.map(|shared| (key, shared)));
            }
            ReadyWaiter::Loop => done.push(LoopDone::Ready(result.map(|_| LoopConn(key)))),
        }
    }
}

/// An outcome owed to the [`ClientDriver`]. Outcomes are queued while a connection's state is borrowed and handed to
/// the driver once the client is free again, so the driver may start the next call from inside its callback.
enum LoopDone {
    Ready(Result<LoopConn, Status>),
    Unary(u64, Result<Bytes, Status>),
}

/// A connection opened with [`RpcClient::connect_on_loop`], for calls started on the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopConn(ConnKey);

/// Application code that runs on the client's own loop: it starts calls there and gets their outcomes there, so a
/// call costs no thread hand-off (no channel, no eventfd wake-up), only the socket.
///
/// ```text
/// Reactor<RpcClient>: started -> driver.started -> connect_on_loop
///                     HELLO   -> driver.ready(conn) -> start_unary_on_loop(conn, .., tag) x N
///                     STATUS  -> driver.unary_done(tag, result) -> start_unary_on_loop(..)   (same tick)
/// ```
///
/// The blocking [`Client`] is the other way to use [`RpcClient`]; both can share one loop. gRPC's closest equivalent
/// is its callback API (`grpc::ClientUnaryReactor`), which also completes calls on the library's own threads.
pub trait ClientDriver: Send + 'static {
    /// The loop is running: connect here with [`RpcClient::connect_on_loop`].
    fn started(&mut self, _client: &mut RpcClient, _cx: &mut Core<RpcClient>) {}
    /// A connection from [`RpcClient::connect_on_loop`] finished its handshake, or failed.
    fn ready(&mut self, client: &mut RpcClient, cx: &mut Core<RpcClient>, conn: Result<LoopConn, Status>);
    /// A unary call from [`RpcClient::start_unary_on_loop`] ended: its response bytes, or its failure.
    fn unary_done(&mut self, client: &mut RpcClient, cx: &mut Core<RpcClient>, tag: u64, result: Result<Bytes, Status>);
}

struct ClientConn {
    id: ConnId,
    serial: u64,
    decoder: FrameDecoder,
    /// The server's HELLO; calls wait in `pending` until it arrives.
    peer: Option<Settings>,
    ready_waiters: Vec<ReadyWaiter>,
    /// Outcomes for the driver, queued while this connection is borrowed; [`RpcClient::run_driver`] hands them on.
    done: Vec<LoopDone>,
    next_stream: u32,
    streams: FastMap<u32, ClientStream>,
    /// Call id -> stream id, for commands from handles.
    by_call: FastMap<u64, u32>,
    /// Unboxed: loop calls start here without a `Box` of their own (commands from handles arrive boxed and are
    /// moved out of it).
    pending: VecDeque<StartCall>,
    sched: SendScheduler,
    recv: RecvWindow,
    shared: Arc<ConnShared>,
    /// GOAWAY received with this last stream id: no new calls here.
    goaway: Option<u32>,
    last_frame: Instant,
    ping_sent: Option<Instant>,
    keepalive: Option<TimerId>,
    failed: bool,
    /// Emptied send queues of finished streams, reused by new ones (a call whose request waits for the writer
    /// would otherwise allocate and free one). Never more than the stream map has room for.
    spare: Vec<VecDeque<OutItem>>,
}

/// Largest send queue (entries) a finished stream hands on to the next; a unary call needs 1.
const SPARE_QUEUE_MAX_ENTRIES: usize = 16;

/// Loop-call ids live above this bit, so they never meet the ids a [`Client`] hands out on the same loop.
const LOOP_CALL_BASE: u64 = 1 << 63;

/// The client protocol; driven by [`Client`] on its own reactor thread, or by a [`ClientDriver`] on the loop.
pub struct RpcClient {
    config: ClientConfig,
    conns: FastMap<ConnId, ClientConn>,
    /// Application code on the loop; taken out while one of its callbacks runs.
    driver: Option<Box<dyn ClientDriver>>,
    /// Outcomes waiting for the driver (moved here from the connections', plus failures with no connection).
    done: Vec<LoopDone>,
    next_loop_call: u64,
}

impl RpcClient {
    pub fn new(config: ClientConfig) -> RpcClient {
        RpcClient { config, conns: FastMap::default(), driver: None, done: Vec::new(), next_loop_call: LOOP_CALL_BASE }
    }

    /// A client whose calls are made on its loop by `driver` (see [`ClientDriver`]).
    pub fn with_driver(config: ClientConfig, driver: impl ClientDriver) -> RpcClient {
        RpcClient { driver: Some(Box::new(driver)), ..RpcClient::new(config) }
    }

    /// Opens a connection from the loop; [`ClientDriver::ready`] reports the handshake's outcome.
    pub fn connect_on_loop(&mut self, cx: &mut Core<Self>, addr: SocketAddr) {
        self.connect(cx, addr, ReadyWaiter::Loop);
    }

    /// Starts a unary call from the loop; [`ClientDriver::unary_done`] gets the outcome with `tag`, never sooner than
    /// the end of the current callback. `request` is the encoded message ([`Message::encode`]).
    pub fn start_unary_on_loop(
        &mut self,
        cx: &mut Core<Self>,
        conn: LoopConn,
        method: Bytes,
        request: Bytes,
        options: CallOptions,
        tag: u64,
    ) {
        let call = self.next_loop_call;
        self.next_loop_call += 1;
        let start = StartCall {
            key: conn.0,
            call,
            kind: CallKind::Unary,
            method,
            options,
            request: Some(request),
            events: CallSink::Loop { tag, response: None },
            shared: None,
            started: cx.now(),
            early: None,
        };
        self.start_call(cx, start);
    }

    /// Queues a call on its connection and starts it if a stream slot is free.
    fn start_call(&mut self, cx: &mut Core<Self>, start: StartCall) {
        let key = start.key;
        // Fields borrowed apart, so the config is read in place rather than cloned (about 15 instructions per
        // call, callgrind).
        let config = &self.config;
        let Some(conn) = self.conns.get_mut(&key.id).filter(|c| c.serial == key.serial) else {
            start.events.status(Status::unavailable("connection lost"), &mut self.done);
            return;
        };
        // Most calls open at once: skip the round trip through the pending queue (two moves of a StartCall).
        match conn.peer {
            Some(peer) if conn.can_open_now() => conn.open_stream(cx, key, config, &peer, start),
            _ => {
                conn.pending.push_back(start);
                conn.start_pending(cx, key, config);
            }
        }
        conn.pump(cx, key.id);
        conn.arm_keepalive(cx, key, config);
    }

    /// Hands queued outcomes to the driver until none is left (its callbacks may cause more, e.g. a call that
    /// fails at once). Without a driver they are dropped: only loop calls produce them.
    fn run_driver(&mut self, cx: &mut Core<Self>) {
        for conn in self.conns.values_mut() {
            if !conn.done.is_empty() {
                self.done.append(&mut conn.done);
            }
        }
        if self.done.is_empty() {
            return;
        }
        let Some(mut driver) = self.driver.take() else {
            self.done.clear();
            return;
        };
        let mut batch = Vec::new();
        while !self.done.is_empty() {
            std::mem::swap(&mut batch, &mut self.done);
            for outcome in batch.drain(..) {
                match outcome {
                    LoopDone::Ready(result) => driver.ready(self, cx, result),
                    LoopDone::Unary(tag, result) => driver.unary_done(self, cx, tag, result),
                }
            }
            for conn in self.conns.values_mut() {
                if !conn.done.is_empty() {
                    self.done.append(&mut conn.done);
                }
            }
        }
        // Keep the larger allocation for next time.
        if batch.capacity() > self.done.capacity() {
            self.done = batch;
        }
        self.driver = Some(driver);
    }

    fn connect(&mut self, cx: &mut Core<Self>, addr: SocketAddr, ready: ReadyWaiter) {
        let id = match cx.connect(addr, ()) {
            Ok(id) => id,
            Err(e) => {
                let status = Status::unavailable(format!("connect to {addr}: {e}"));
                let key = ConnKey { id: ConnId(usize::MAX), serial: 0 };
                ready.send(key, Err(status), &mut self.done);
                return;
            }
        };
        let Some(conn) = cx.conn(id) else { return };
        let serial = conn.serial();
        let local = self.config.settings;
        let shared = Arc::new(ConnShared::default());
        let conn = ClientConn {
            id,
            serial,
            decoder: FrameDecoder::new(Role::Client, &local),
            peer: None,
            ready_waiters: vec![ready],
            done: Vec::new(),
            next_stream: 1,
            streams: FastMap::default(),
            by_call: FastMap::default(),
            pending: VecDeque::new(),
            sched: SendScheduler::new(0, local.max_frame_payload, self.config.write_quantum_bytes),
            recv: RecvWindow::new(local.initial_connection_window),
            shared,
            goaway: None,
            last_frame: cx.now(),
            ping_sent: None,
            keepalive: None,
            failed: false,
            spare: Vec::new(),
        };
        self.conns.insert(id, conn);
        // The preface and HELLO go out as soon as the connect completes (output queued before then is kept).
        if let Some(c) = cx.conn_mut(id) {
            c.out.extend_from_slice(&PREFACE);
            let _ = frame::encode(&Frame::Hello { version: PROTOCOL_VERSION, settings: local }, c.out.buf());
        }
    }

    fn conn(&mut self, key: ConnKey) -> Option<&mut ClientConn> {
        self.conns.get_mut(&key.id).filter(|c| c.serial == key.serial)
    }

    fn command(&mut self, cx: &mut Core<Self>, cmd: CmdKind) {
        let config = self.config.clone();
        match cmd {
            CmdKind::Start(start) => self.start_call(cx, *start),
            CmdKind::Send { key, call, bytes, end } => {
                let Some(conn) = self.conn(key) else { return };
                let Some(stream_id) = conn.by_call.get(&call).copied() else {
                    // Not started yet (waiting for a stream slot): keep it with the pending call.
                    if let Some(start) = conn.pending.iter_mut().find(|s| s.call == call) {
                        start.early.get_or_insert_with(Vec::new).push(OutItem::Message {
                            bytes,
                            sent: 0,
                            end_stream: end,
                        });
                    }
                    return;
                };
                if let Some(s) = conn.streams.get_mut(&stream_id) {
                    s.out.push(OutItem::Message { bytes, sent: 0, end_stream: end });
                    conn.sched.schedule(stream_id, &mut s.out);
                }
                conn.pump(cx, key.id);
            }
            CmdKind::CloseSend { key, call } => {
                let Some(conn) = self.conn(key) else { return };
                let Some(stream_id) = conn.by_call.get(&call).copied() else {
                    if let Some(start) = conn.pending.iter_mut().find(|s| s.call == call) {
                        start.early.get_or_insert_with(Vec::new).push(OutItem::HalfClose);
                    }
                    return;
                };
                if let Some(s) = conn.streams.get_mut(&stream_id) {
                    s.out.push(OutItem::HalfClose);
                    conn.sched.schedule(stream_id, &mut s.out);
                }
                conn.pump(cx, key.id);
            }
            CmdKind::Cancel { key, call } => {
                let Some(conn) = self.conn(key) else { return };
                conn.pending.retain(|s| s.call != call);
                let Some(stream_id) = conn.by_call.get(&call).copied() else { return };
                conn.finish(cx, stream_id, Status::cancelled("cancelled by the caller"), Some(Code::Cancelled));
                conn.start_pending(cx, key, &config);
                conn.pump(cx, key.id);
            }
            CmdKind::Credit { key, call } => {
                let Some(conn) = self.conn(key) else { return };
                conn.return_credit(cx, key.id, call);
            }
        }
    }
}

impl ClientConn {
    fn send_frame(cx: &mut Core<RpcClient>, id: ConnId, frame: &Frame) {
        if let Some(conn) = cx.conn_mut(id) {
            if let Err(e) = frame::encode(frame, conn.out.buf()) {
                tracing::error!(error = %e, "failed to encode an RPC frame");
            }
        }
    }

    /// Opens streams for waiting calls while the server's concurrency limit allows.
    fn start_pending(&mut self, cx: &mut Core<RpcClient>, key: ConnKey, config: &ClientConfig) {
        let Some(peer) = self.peer else { return };
        while self.streams.len() < peer.max_concurrent_streams as usize {
            let Some(start) = self.pending.pop_front() else { return };
            self.open_stream(cx, key, config, &peer, start);
        }
    }

    /// Whether a new call can open its stream at once: nothing queued ahead of it (calls open in order) and a
    /// free stream under the server's limit.
    fn can_open_now(&self) -> bool {
        self.pending.is_empty()
            && self.peer.is_some_and(|peer| self.streams.len() < peer.max_concurrent_streams as usize)
    }

    /// Sends the CALL for `start` and opens its stream (or fails it, if the connection cannot take it).
    fn open_stream(
        &mut self,
        cx: &mut Core<RpcClient>,
        key: ConnKey,
        config: &ClientConfig,
        peer: &Settings,
        start: StartCall,
    ) {
        if self.goaway.is_some() || self.failed {
            return start.events.status(Status::unavailable("connection is going away"), &mut self.done);
        }
        if self.next_stream > frame::MAX_STREAM_ID {
            return start.events.status(Status::unavailable("stream ids exhausted"), &mut self.done);
        }
        let now = cx.now();
        let remaining = match start.options.timeout {
            Some(t) => {
                let left = t.saturating_sub(now.saturating_duration_since(start.started));
                if left.is_zero() {
                    return start.events.status(Status::deadline_exceeded("deadline exceeded"), &mut self.done);
                }
                Some(left)
            }
            None => None,
        };
        let stream_id = self.next_stream;
        self.next_stream += 2;
        let timeout_ms = remaining.map_or(0, |d| d.as_millis().clamp(1, u128::from(u32::MAX)) as u32);
        let mut request = start.request;
        let mut window = i64::from(peer.initial_stream_window);
        let limit = cx.config().high_watermark_bytes;
        if let Some(conn) = cx.conn_mut(key.id) {
            let (method, metadata) = (&start.method, &start.options.metadata);
            if let Err(e) = frame::encode_call(stream_id, start.kind, timeout_ms, method, metadata, conn.out.buf()) {
                tracing::error!(error = %e, "failed to encode an RPC frame");
            }
            // The request follows its CALL at once when the fair writer's next turn would write it whole anyway:
            // no other stream waits in its ring (this one would go first), the output is under the writer's limit,
            // and the message fits one frame, one quantum and both windows. The bytes are the ones `pump` would
            // write (one DATA frame, END_STREAM unless the client streams); only their place among other streams'
            // frames of the same tick can differ, which the protocol leaves free. Queueing, scheduling and pumping
            // a unary request cost about 235 instructions per call more (callgrind).
            let direct = start.early.is_none()
                && !self.sched.has_ready()
                && conn.out.len() < limit
                && request.as_ref().is_some_and(|bytes| {
                    let len = bytes.len();
                    len <= self.sched.max_frame
                        && len <= self.sched.quantum
                        && len as i64 <= window.min(self.sched.conn_window).max(0)
                });
            if let Some(bytes) = request.take_if(|_| direct) {
                let len = bytes.len() as i64;
                put_data(
                    &mut conn.out,
                    stream_id,
                    bytes,
                    if start.kind.client_streams() { 0 } else { frame::FLAG_END_STREAM },
                );
                window -= len;
                self.sched.conn_window -= len;
            }
        }
        let deadline_timer = remaining.map(|d| {
            cx.set_timer(
                now + d,
                ClientTimer { key, kind: ClientTimerKind::Deadline { call: start.call, stream: stream_id } },
            )
        });
        // A stream that will never queue anything (its request went out at once, and the client does not stream)
        // takes no spare queue: `StreamOut::default()` holds an empty one that never allocates, where `with_queue`
        // drops that default queue to put the spare in (about 35 instructions per call, callgrind).
        let never_queues = request.is_none() && start.early.is_none() && !start.kind.client_streams();
        let queue = (!never_queues).then(|| self.spare.pop().unwrap_or_default());
        // Only handles send commands by call id; a loop call never needs the lookup (or its insert and remove).
        if matches!(start.events, CallSink::Channel(_)) {
            self.by_call.insert(start.call, stream_id);
        }
        // Built in its map slot: building it on the stack and inserting moved the whole state once more.
        let stream = self.streams.entry(stream_id).or_insert_with(|| ClientStream {
            call: start.call,
            kind: start.kind,
            events: start.events,
            shared: start.shared,
            assembler: MessageAssembler::new(config.settings.max_message_size as usize),
            recv: RecvWindow::new(config.settings.initial_stream_window),
            // Built here too: a `StreamOut` made before and moved in was copied twice (about 40 instructions per
            // call, callgrind).
            out: match queue {
                Some(queue) => StreamOut::with_queue(0, queue),
                None => StreamOut::default(),
            },
            responses: 0,
            deadline_timer,
        });
        // The peer's initial window, less a request written at once.
        stream.out.window = window;
        if let Some(request) = request {
            let end = !start.kind.client_streams();
            stream.out.push(OutItem::Message { bytes: request, sent: 0, end_stream: end });
        }
        if let Some(early) = start.early {
            for item in early {
                stream.out.push(item);
            }
        }
        self.sched.schedule(stream_id, &mut stream.out);
    }

    fn pump(&mut self, cx: &mut Core<RpcClient>, id: ConnId) {
        if self.failed || self.peer.is_none() || !self.sched.has_ready() {
            return;
        }
        let limit = cx.config().high_watermark_bytes;
        let Some(conn) = cx.conn_mut(id) else { return };
        self.sched.run(&mut self.streams, &mut conn.out, limit, |_, s, written| {
            if let (true, Some(shared)) = (written.data_bytes > 0, &s.shared) {
                let q = &shared.queued;
                q.fetch_sub(written.data_bytes.min(q.load(Ordering::Acquire)), Ordering::AcqRel);
            }
        });
    }

    /// Ends a call: tells its handle, frees the stream, and sends CANCEL with `cancel` if the server must stop.
    fn finish(&mut self, cx: &mut Core<RpcClient>, stream_id: u32, status: Status, cancel: Option<Code>) {
        let Some(s) = self.streams.remove(&stream_id) else { return };
        if matches!(s.events, CallSink::Channel(_)) {
            self.by_call.remove(&s.call);
        }
        if let Some(timer) = s.deadline_timer {
            cx.cancel_timer(timer);
        }
        if let Some(code) = cancel {
            Self::send_frame(cx, self.id, &Frame::Cancel { stream_id, code });
        }
        s.events.status(status, &mut self.done);
        let mut queue = s.out.queue;
        if queue.capacity() == 0 {
            // Never allocated (a unary request written at once): nothing to keep and nothing to free. Forgetting it
            // skips `VecDeque`'s drop, which walks its empty slices all the same (about 35 instructions per call,
            // callgrind); a deque without capacity holds no items and no memory, so nothing leaks.
            std::mem::forget(queue);
        } else if queue.capacity() <= SPARE_QUEUE_MAX_ENTRIES && self.spare.len() < self.streams.capacity().max(1) {
            // Normally empty already (`clear` costs about 18 instructions even then).
            if !queue.is_empty() {
                queue.clear();
            }
            self.spare.push(queue);
        }
    }

    fn fail_all(&mut self, cx: &mut Core<RpcClient>, status: &Status) {
        let ids: Vec<u32> = self.streams.keys().copied().collect();
        for id in ids {
            self.finish(cx, id, status.clone(), None);
        }
        for start in self.pending.drain(..) {
            start.events.status(status.clone(), &mut self.done);
        }
        let key = ConnKey { id: self.id, serial: self.serial };
        for waiter in self.ready_waiters.drain(..) {
            waiter.send(key, Err(status.clone()), &mut self.done);
        }
    }

    /// The application took messages: return the credit it freed.
    fn return_credit(&mut self, cx: &mut Core<RpcClient>, id: ConnId, call: u64) {
        let conn_bytes = self.shared.unreturned.swap(0, Ordering::AcqRel);
        if conn_bytes > 0 {
            if let Some(increment) = self.recv.release(conn_bytes) {
                Self::send_frame(cx, id, &Frame::WindowUpdate { stream_id: 0, increment });
            }
        }
        let Some(stream_id) = self.by_call.get(&call).copied() else { return };
        let Some(s) = self.streams.get_mut(&stream_id) else { return };
        let n = s.shared.as_ref().map_or(0, |shared| shared.unreturned.swap(0, Ordering::AcqRel));
        if n > 0 {
            if let Some(increment) = s.recv.release(n) {
                Self::send_frame(cx, id, &Frame::WindowUpdate { stream_id, increment });
            }
        }
    }

    fn connection_error(&mut self, cx: &mut Core<RpcClient>, id: ConnId, code: GoAwayCode, message: Bytes) {
        if self.failed {
            return;
        }
        self.failed = true;
        tracing::debug!(code = ?code, message = %String::from_utf8_lossy(&message), "RPC client connection error");
        Self::send_frame(cx, id, &Frame::GoAway { last_stream_id: 0, code, message });
        self.fail_all(cx, &Status::unavailable("connection error"));
        cx.close_after_flush(id);
    }

    fn on_input(&mut self, cx: &mut Core<RpcClient>, key: ConnKey, input: &mut BytesMut, config: &ClientConfig) {
        while !self.failed {
            match self.decoder.decode(input) {
                Ok(Some(frame)) => {
                    self.last_frame = cx.now();
                    self.ping_sent = None;
                    self.on_frame(cx, key, frame, config);
                }
                Ok(None) => break,
                Err(error) => match error.action() {
                    ErrorAction::CloseConnection { code, message } => self.connection_error(cx, key.id, code, message),
                    ErrorAction::FailStream { stream_id, status } => {
                        if self.streams.contains_key(&stream_id) {
                            self.finish(cx, stream_id, status, Some(Code::Cancelled));
                        }
                    }
                },
            }
        }
        if self.failed {
            input.clear();
        }
    }

    /// Whether a stream id was ever opened by us.
    fn opened(&self, stream_id: u32) -> bool {
        stream_id < self.next_stream
    }

    fn on_frame(&mut self, cx: &mut Core<RpcClient>, key: ConnKey, frame: Frame, config: &ClientConfig) {
        let id = key.id;
        match frame {
            Frame::Hello { settings, .. } => {
                self.peer = Some(settings);
                self.sched = SendScheduler::new(
                    settings.initial_connection_window,
                    settings.max_frame_payload,
                    config.write_quantum_bytes,
                );
                for waiter in self.ready_waiters.drain(..) {
                    waiter.send(key, Ok(self.shared.clone()), &mut self.done);
                }
                self.start_pending(cx, key, config);
            }
            Frame::Data { stream_id, payload, continues, .. } => {
                let n = payload.len();
                if !self.recv.receive(n) {
                    let message = Bytes::from_static(b"DATA exceeds the connection window");
                    return self.connection_error(cx, id, GoAwayCode::FlowControlError, message);
                }
                let Some(s) = self.streams.get_mut(&stream_id) else {
                    if !self.opened(stream_id) {
                        let message = Bytes::from(format!("DATA on stream {stream_id}, which was never opened"));
                        return self.connection_error(cx, id, GoAwayCode::ProtocolError, message);
                    }
                    // A race with our CANCEL: the bytes are discarded, so the credit goes back at once.
                    self.shared.unreturned.fetch_add(n, Ordering::AcqRel);
                    return self.return_credit(cx, id, 0);
                };
                if !s.recv.receive(n) {
                    let message = Bytes::from(format!("DATA exceeds the window of stream {stream_id}"));
                    return self.connection_error(cx, id, GoAwayCode::FlowControlError, message);
                }
                match s.assembler.push(stream_id, payload, continues) {
                    Err(error) => {
                        self.shared.unreturned.fetch_add(n, Ordering::AcqRel);
                        let ErrorAction::FailStream { status, .. } = error.action() else { return };
                        self.finish(cx, stream_id, status, Some(Code::Cancelled));
                    }
                    Ok(None) => {
                        if let Some(shared) = &s.shared {
                            shared.unreturned.fetch_add(n, Ordering::AcqRel);
                        }
                        self.shared.unreturned.fetch_add(n, Ordering::AcqRel);
                        let call = s.call;
                        self.return_credit(cx, id, call);
                    }
                    Ok(Some(message)) => {
                        s.responses += 1;
                        if !s.kind.server_streams() && s.responses > 1 {
                            self.shared.unreturned.fetch_add(n, Ordering::AcqRel);
                            let status = Status::unimplemented("cardinality violation: more than one response");
                            return self.finish(cx, stream_id, status, Some(Code::Cancelled));
                        }
                        if s.events.message(message, n) {
                            // Taken at once (a loop call): count the connection credit as consumed, batched to
                            // half a window like the server does (spec section 8). The stream's credit does not
                            // matter, as a unary response is its stream's last message.
                            if let Some(increment) = self.recv.consume(n) {
                                Self::send_frame(cx, id, &Frame::WindowUpdate { stream_id: 0, increment });
                            }
                        }
                    }
                }
            }
            Frame::Status { stream_id, status } => {
                let Some(s) = self.streams.get(&stream_id) else {
                    if !self.opened(stream_id) {
                        let message = Bytes::from(format!("STATUS on stream {stream_id}, which was never opened"));
                        self.connection_error(cx, id, GoAwayCode::ProtocolError, message);
                    }
                    return;
                };
                let status = if status.is_ok() && !s.kind.server_streams() && s.responses == 0 {
                    Status::unimplemented("cardinality violation: no response")
                } else {
                    status
                };
                self.finish(cx, stream_id, status, None);
                self.start_pending(cx, key, config);
            }
            Frame::WindowUpdate { stream_id: 0, increment } => {
                if self.sched.conn_credit(increment, &mut self.streams).is_err() {
                    let message = Bytes::from_static(b"connection window overflow");
                    self.connection_error(cx, id, GoAwayCode::FlowControlError, message);
                }
            }
            Frame::WindowUpdate { stream_id, increment } => {
                if let Some(s) = self.streams.get_mut(&stream_id) {
                    if add_credit(&mut s.out.window, increment).is_err() {
                        let message = Bytes::from_static(b"stream window overflow");
                        return self.connection_error(cx, id, GoAwayCode::FlowControlError, message);
                    }
                    self.sched.schedule(stream_id, &mut s.out);
                } else if !self.opened(stream_id) {
                    let message = Bytes::from(format!("WINDOW_UPDATE on stream {stream_id}, which was never opened"));
                    self.connection_error(cx, id, GoAwayCode::ProtocolError, message);
                }
            }
            Frame::Ping { payload } => Self::send_frame(cx, id, &Frame::Pong { payload }),
            Frame::Pong { .. } => {}
            Frame::GoAway { last_stream_id, code, message } => {
                tracing::debug!(last_stream_id, ?code, message = %String::from_utf8_lossy(&message), "GOAWAY received");
                self.goaway = Some(last_stream_id);
                let refused: Vec<u32> = self.streams.keys().copied().filter(|&s| s > last_stream_id).collect();
                for stream_id in refused {
                    self.finish(cx, stream_id, Status::unavailable("server is draining; call was not processed"), None);
                }
                for start in self.pending.drain(..) {
                    start.events.status(Status::unavailable("connection is going away"), &mut self.done);
                }
            }
            Frame::Call(_) | Frame::HalfClose { .. } | Frame::Cancel { .. } => {
                // The decoder refuses these from a server; kept for completeness.
                let message = Bytes::from_static(b"frame type may not be sent by a server");
                self.connection_error(cx, id, GoAwayCode::ProtocolError, message);
            }
        }
    }

    fn arm_keepalive(&mut self, cx: &mut Core<RpcClient>, key: ConnKey, config: &ClientConfig) {
        if self.keepalive.is_none() && !self.streams.is_empty() {
            let at = cx.now() + config.keepalive_interval.min(config.keepalive_timeout);
            self.keepalive = Some(cx.set_timer(at, ClientTimer { key, kind: ClientTimerKind::Keepalive }));
        }
    }

    fn keepalive(&mut self, cx: &mut Core<RpcClient>, key: ConnKey, config: &ClientConfig) {
        self.keepalive = None;
        let now = cx.now();
        if let Some(sent) = self.ping_sent {
            if now >= sent + config.keepalive_timeout {
                self.failed = true;
                self.fail_all(cx, &Status::unavailable("keepalive timeout"));
                cx.close(key.id);
                return;
            }
        } else if !self.streams.is_empty() && now >= self.last_frame + config.keepalive_interval {
            self.ping_sent = Some(now);
            Self::send_frame(cx, key.id, &Frame::Ping { payload: [0; 8] });
        }
        self.arm_keepalive(cx, key, config);
    }
}

impl Protocol for RpcClient {
    type Session = ();
    type Timer = ClientTimer;
    type Message = ClientCmd;

    /// The client never listens.
    fn accept(&mut self, _listener: ListenerId) {}

    fn started(&mut self, cx: &mut Core<Self>) {
        if let Some(mut driver) = self.driver.take() {
            driver.started(self, cx);
            self.driver = Some(driver);
        }
        self.run_driver(cx);
    }

    fn data(&mut self, cx: &mut Core<Self>, id: ConnId, input: &mut BytesMut) {
        let config = self.config.clone();
        let Some(conn) = self.conns.get_mut(&id) else {
            input.clear();
            return;
        };
        let key = ConnKey { id, serial: conn.serial };
        conn.on_input(cx, key, input, &config);
        conn.pump(cx, id);
        self.run_driver(cx);
    }

    fn connected(&mut self, cx: &mut Core<Self>, id: ConnId, result: io::Result<()>) {
        if let (Err(e), Some(conn)) = (result, self.conns.get_mut(&id)) {
            let key = ConnKey { id, serial: conn.serial };
            for waiter in conn.ready_waiters.drain(..) {
                waiter.send(key, Err(Status::unavailable(format!("connect failed: {e}"))), &mut conn.done);
            }
        }
        self.run_driver(cx);
    }

    fn timer(&mut self, cx: &mut Core<Self>, timer: ClientTimer) {
        let config = self.config.clone();
        let key = timer.key;
        let Some(conn) = self.conn(key) else { return };
        match timer.kind {
            ClientTimerKind::Deadline { call, stream: stream_id } => {
                // Stream ids are never reused on a connection, but check the call anyway.
                let Some(s) = conn.streams.get_mut(&stream_id).filter(|s| s.call == call) else { return };
                s.deadline_timer = None;
                let status = Status::deadline_exceeded("deadline exceeded");
                conn.finish(cx, stream_id, status, Some(Code::DeadlineExceeded));
                conn.start_pending(cx, key, &config);
                conn.pump(cx, key.id);
            }
            ClientTimerKind::Keepalive => conn.keepalive(cx, key, &config),
        }
        self.run_driver(cx);
    }

    fn message(&mut self, cx: &mut Core<Self>, cmd: ClientCmd) {
        self.command(cx, cmd.0);
        self.run_driver(cx);
    }

    /// Catches outcomes queued outside the entry points above (e.g. a loop call started from a `Handle::run`
    /// closure whose connection was already gone).
    fn before_sleep(&mut self, cx: &mut Core<Self>) {
        self.run_driver(cx);
    }

    fn closed(&mut self, cx: &mut Core<Self>, id: ConnId, _session: (), reason: CloseReason) {
        if let Some(mut conn) = self.conns.remove(&id) {
            let status = Status::unavailable(format!("connection lost ({reason:?})"));
            conn.fail_all(cx, &status);
            self.done.append(&mut conn.done);
        }
        self.run_driver(cx);
    }
}

/// The client reactor thread; stopped and joined when the last [`Client`] clone is dropped.
struct ClientThread {
    handle: Handle<RpcClient>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for ClientThread {
    fn drop(&mut self) {
        let _ = self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A blocking client for one connection. Cheap to clone; clones share the connection and its reactor thread, and
/// may be used from many threads at once (calls are multiplexed).
#[derive(Clone)]
pub struct Client {
    handle: Handle<RpcClient>,
    key: ConnKey,
    conn: Arc<ConnShared>,
    config: Arc<ClientConfig>,
    next_call: Arc<AtomicUsize>,
    _thread: Arc<ClientThread>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("conn", &self.key.id).finish()
    }
}

impl Client {
    /// Connects with default settings: starts a reactor thread, opens the TCP connection, exchanges HELLO.
    pub fn connect(addr: SocketAddr) -> Result<Client, Status> {
        Client::connect_with(addr, ClientConfig::default())
    }

    pub fn connect_with(addr: SocketAddr, config: ClientConfig) -> Result<Client, Status> {
        let reactor_config = Config { connect_timeout: config.connect_timeout, ..Config::default() };
        let mut reactor = Reactor::new(RpcClient::new(config.clone()), reactor_config)
            .map_err(|e| Status::unavailable(format!("cannot start client reactor: {e}")))?;
        let handle = reactor.handle();
        let thread = thread::Builder::new()
            .name("rpc-client".into())
            .spawn(move || {
                if let Err(e) = reactor.run() {
                    tracing::error!(error = %e, "RPC client reactor failed");
                }
            })
            .map_err(|e| Status::unavailable(format!("cannot start client thread: {e}")))?;
        let client_thread = Arc::new(ClientThread { handle: handle.clone(), thread: Some(thread) });
        let (tx, rx) = crossbeam_channel::bounded(1);
        handle
            .run(move |client: &mut RpcClient, cx: &mut Core<RpcClient>| {
                client.connect(cx, addr, ReadyWaiter::Channel(tx))
            })
            .map_err(|_| Status::unavailable("client reactor stopped"))?;
        let (key, conn) = match rx.recv_timeout(config.connect_timeout + Duration::from_secs(1)) {
            Ok(result) => result?,
            Err(_) => return Err(Status::unavailable(format!("connect to {addr} timed out"))),
        };
        Ok(Client {
            handle,
            key,
            conn,
            config: Arc::new(config),
            next_call: Arc::new(AtomicUsize::new(1)),
            _thread: client_thread,
        })
    }

    fn start(
        &self,
        kind: CallKind,
        method: &str,
        request: Option<Bytes>,
        options: CallOptions,
    ) -> Result<CallHandle, Status> {
        let (events, rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(CallShared::default());
        let call = self.next_call.fetch_add(1, Ordering::Relaxed) as u64;
        let timeout = options.timeout;
        let start = StartCall {
            key: self.key,
            call,
            kind,
            method: Bytes::copy_from_slice(method.as_bytes()),
            options,
            request,
            events: CallSink::Channel(events),
            shared: Some(shared.clone()),
            started: Instant::now(),
            early: None,
        };
        self.post(CmdKind::Start(Box::new(start)))?;
        Ok(CallHandle { client: self.clone(), call, shared, rx, done: false, stash: VecDeque::new(), timeout })
    }

    fn post(&self, cmd: CmdKind) -> Result<(), Status> {
        self.handle.post(ClientCmd(cmd)).map_err(|_| Status::unavailable("client reactor stopped"))
    }

    /// Starts a unary call without waiting: many can be in flight on the connection at once.
    pub fn start_unary<Req: Message, Resp: Message>(
        &self,
        method: &str,
        request: &Req,
        options: CallOptions,
    ) -> Result<PendingUnary<Resp>, Status> {
        let bytes = request.encode()?;
        let call = self.start(CallKind::Unary, method, Some(bytes), options)?;
        Ok(PendingUnary { call, _resp: PhantomData })
    }

    /// A unary call: one request, one response.
    pub fn unary<Req: Message, Resp: Message>(
        &self,
        method: &str,
        request: &Req,
        options: CallOptions,
    ) -> Result<Resp, Status> {
        self.start_unary(method, request, options)?.wait()
    }

    /// A server-streaming call: iterate the responses.
    pub fn server_streaming<Req: Message, Resp: Message>(
        &self,
        method: &str,
        request: &Req,
        options: CallOptions,
    ) -> Result<Responses<Resp>, Status> {
        let bytes = request.encode()?;
        let call = self.start(CallKind::ServerStreaming, method, Some(bytes), options)?;
        Ok(Responses { call, _resp: PhantomData })
    }

    /// A client-streaming call: `send` requests, then `finish` for the response.
    pub fn client_streaming<Req: Message, Resp: Message>(
        &self,
        method: &str,
        options: CallOptions,
    ) -> Result<Upload<Req, Resp>, Status> {
        let call = self.start(CallKind::ClientStreaming, method, None, options)?;
        Ok(Upload { call, _types: PhantomData })
    }

    /// A bidirectional call: `send` and `recv` independently, `close_send` when done sending.
    pub fn bidi<Req: Message, Resp: Message>(
        &self,
        method: &str,
        options: CallOptions,
    ) -> Result<Bidi<Req, Resp>, Status> {
        let call = self.start(CallKind::Bidi, method, None, options)?;
        Ok(Bidi { call, _types: PhantomData })
    }
}

/// The untyped part of every call handle.
struct CallHandle {
    client: Client,
    call: u64,
    shared: Arc<CallShared>,
    rx: Receiver<CallEvent>,
    /// The final status was received (or handed out): nothing to cancel on drop.
    done: bool,
    /// Responses taken off the channel while `send` waited for credit, in order.
    stash: VecDeque<CallEvent>,
    timeout: Option<Duration>,
}

impl CallHandle {
    /// Next message (`Ok(Some)`), the end of a successful call (`Ok(None)`), or its failure.
    fn recv(&mut self) -> Result<Option<Bytes>, Status> {
        if self.done {
            return Ok(None);
        }
        let event = match self.stash.pop_front().map(Ok).unwrap_or_else(|| self.rx.try_recv()) {
            Ok(event) => event,
            Err(_) => {
                // About to wait: return any credit held back by batching, or a small window could stall us.
                self.request_credit();
                // The loop enforces the deadline; the extra second only guards against a stuck loop.
                let wait = self.timeout.map(|t| t + Duration::from_secs(1));
                let got = match wait {
                    Some(w) => self.rx.recv_timeout(w),
                    None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
                match got {
                    Ok(event) => event,
                    Err(RecvTimeoutError::Timeout) => {
                        return Err(self.fail(Status::deadline_exceeded("no answer from the client loop")))
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        return Err(self.fail(Status::unavailable("client reactor stopped")))
                    }
                }
            }
        };
        match event {
            CallEvent::Message(bytes, n) => {
                self.consumed(n);
                Ok(Some(bytes))
            }
            CallEvent::Status(status) => {
                self.done = true;
                if status.is_ok() {
                    Ok(None)
                } else {
                    Err(status)
                }
            }
        }
    }

    fn fail(&mut self, status: Status) -> Status {
        self.cancel();
        status
    }

    /// Counts `n` consumed bytes; asks the loop to return credit once half a window is owed.
    fn consumed(&mut self, n: usize) {
        let settings = &self.client.config.settings;
        let stream_half = (settings.initial_stream_window / 2).max(1) as usize;
        let conn_half = (settings.initial_connection_window / 2).max(1) as usize;
        let s = self.shared.unreturned.fetch_add(n, Ordering::AcqRel) + n;
        let c = self.client.conn.unreturned.fetch_add(n, Ordering::AcqRel) + n;
        if (s >= stream_half && s - n < stream_half) || (c >= conn_half && c - n < conn_half) {
            self.request_credit();
        }
    }

    fn request_credit(&self) {
        if self.shared.unreturned.load(Ordering::Acquire) > 0 || self.client.conn.unreturned.load(Ordering::Acquire) > 0
        {
            let _ = self.client.post(CmdKind::Credit { key: self.client.key, call: self.call });
        }
    }

    fn send(&mut self, bytes: Bytes, end: bool) -> Result<(), Status> {
        if self.done {
            return Err(Status::unavailable("the call is over"));
        }
        // Backpressure: wait while more than the cap waits for the server's credit. The loop drains `queued` as it
        // writes; polling it every millisecond keeps this simple (a condition variable would avoid the polling).
        let cap = self.client.config.max_queued_bytes_per_stream;
        let started = Instant::now();
        while self.shared.queued.load(Ordering::Acquire) > cap {
            match self.rx.try_recv() {
                // The call ended while we waited (e.g. the server failed it early).
                Ok(CallEvent::Status(status)) => {
                    self.done = true;
                    return Err(if status.is_ok() { Status::unavailable("the call is over") } else { status });
                }
                // A bidi response: keep it for the next `recv`.
                Ok(message) => self.stash.push_back(message),
                Err(_) => {}
            }
            if self.timeout.is_some_and(|t| started.elapsed() > t + Duration::from_secs(1)) {
                return Err(self.fail(Status::deadline_exceeded("send blocked past the deadline")));
            }
            thread::sleep(Duration::from_millis(1));
        }
        self.shared.queued.fetch_add(bytes.len(), Ordering::AcqRel);
        self.client.post(CmdKind::Send { key: self.client.key, call: self.call, bytes, end })
    }

    fn close_send(&mut self) -> Result<(), Status> {
        self.client.post(CmdKind::CloseSend { key: self.client.key, call: self.call })
    }

    fn cancel(&mut self) {
        if !self.done {
            self.done = true;
            let _ = self.client.post(CmdKind::Cancel { key: self.client.key, call: self.call });
        }
    }
}

impl Drop for CallHandle {
    /// Dropping an unfinished call cancels it on the server.
    fn drop(&mut self) {
        self.cancel();
        // Messages never taken still hold connection credit: give it back.
        let n: usize = self
            .stash
            .drain(..)
            .chain(self.rx.try_iter())
            .map(|e| if let CallEvent::Message(_, n) = e { n } else { 0 })
            .sum();
        if n > 0 {
            self.client.conn.unreturned.fetch_add(n, Ordering::AcqRel);
            let _ = self.client.post(CmdKind::Credit { key: self.client.key, call: self.call });
        }
    }
}

/// A unary call in flight.
pub struct PendingUnary<Resp> {
    call: CallHandle,
    _resp: PhantomData<fn() -> Resp>,
}

impl<Resp: Message> PendingUnary<Resp> {
    /// Waits for the response.
    pub fn wait(mut self) -> Result<Resp, Status> {
        let response = self.call.recv()?;
        let status = self.call.recv();
        match (response, status) {
            (Some(bytes), Ok(None)) => Resp::decode(bytes),
            (_, Err(status)) => Err(status),
            (None, Ok(_)) | (Some(_), Ok(Some(_))) => Err(Status::unimplemented("cardinality violation")),
        }
    }

    /// Cancels the call (the same as dropping it).
    pub fn cancel(mut self) {
        self.call.cancel();
    }
}

/// The responses of a server-streaming call.
pub struct Responses<Resp> {
    call: CallHandle,
    _resp: PhantomData<fn() -> Resp>,
}

impl<Resp: Message> Responses<Resp> {
    /// The next response, `Ok(None)` once the call ended with OK, or the call's failure.
    pub fn recv(&mut self) -> Result<Option<Resp>, Status> {
        match self.call.recv()? {
            Some(bytes) => Resp::decode(bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Cancels the call (the same as dropping it).
    pub fn cancel(mut self) {
        self.call.cancel();
    }
}

impl<Resp: Message> Iterator for Responses<Resp> {
    type Item = Result<Resp, Status>;

    fn next(&mut self) -> Option<Self::Item> {
        self.recv().transpose()
    }
}

/// A client-streaming call.
pub struct Upload<Req, Resp> {
    call: CallHandle,
    _types: PhantomData<fn(Req) -> Resp>,
}

impl<Req: Message, Resp: Message> Upload<Req, Resp> {
    /// Sends one request; waits while too much is queued for the server's credit.
    pub fn send(&mut self, request: &Req) -> Result<(), Status> {
        let bytes = request.encode()?;
        self.call.send(bytes, false)
    }

    /// Ends the request stream and waits for the response.
    pub fn finish(mut self) -> Result<Resp, Status> {
        self.call.close_send()?;
        PendingUnary { call: self.call, _resp: PhantomData }.wait()
    }
}

/// A bidirectional streaming call.
pub struct Bidi<Req, Resp> {
    call: CallHandle,
    _types: PhantomData<fn(Req) -> Resp>,
}

impl<Req: Message, Resp: Message> Bidi<Req, Resp> {
    pub fn send(&mut self, request: &Req) -> Result<(), Status> {
        let bytes = request.encode()?;
        self.call.send(bytes, false)
    }

    /// No more requests.
    pub fn close_send(&mut self) -> Result<(), Status> {
        self.call.close_send()
    }

    /// The next response, `Ok(None)` once the call ended with OK, or the call's failure.
    pub fn recv(&mut self) -> Result<Option<Resp>, Status> {
        match self.call.recv()? {
            Some(bytes) => Resp::decode(bytes).map(Some),
            None => Ok(None),
        }
    }

    pub fn cancel(mut self) {
        self.call.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::OutBuf;
    use crate::rpc::demo::{demo_router, methods, HelloReply, HelloRequest};
    use crate::rpc::server::{BackgroundServer, ServerConfig};

    /// Every outcome in arrival order, and the connect failure if there was one.
    type Report = (Vec<(u64, Result<Bytes, Status>)>, Option<Status>);

    /// Records every outcome; starts one follow-up call from inside the first completion, then stops the loop once
    /// `expected` outcomes arrived.
    struct Recorder {
        addr: SocketAddr,
        conn: Option<LoopConn>,
        outcomes: Vec<(u64, Result<Bytes, Status>)>,
        ready_error: Option<Status>,
        expected: usize,
        report: Sender<Report>,
    }

    impl Recorder {
        fn hello(client: &mut RpcClient, cx: &mut Core<RpcClient>, conn: LoopConn, method: &'static str, tag: u64) {
            let request = HelloRequest { name: format!("call {tag}") }.encode().unwrap();
            client.start_unary_on_loop(
                cx,
                conn,
                Bytes::from_static(method.as_bytes()),
                request,
                CallOptions::new(),
                tag,
            );
        }

        fn report(&mut self, client: &mut RpcClient, cx: &mut Core<RpcClient>) {
            let _ = self.report.send((std::mem::take(&mut self.outcomes), self.ready_error.take()));
            cx.stop(client);
        }
    }

    impl ClientDriver for Recorder {
        fn started(&mut self, client: &mut RpcClient, cx: &mut Core<RpcClient>) {
            client.connect_on_loop(cx, self.addr);
        }

        fn ready(&mut self, client: &mut RpcClient, cx: &mut Core<RpcClient>, conn: Result<LoopConn, Status>) {
            match conn {
                Ok(conn) => {
                    self.conn = Some(conn);
                    Self::hello(client, cx, conn, methods::HELLO, 1);
                    Self::hello(client, cx, conn, "demo.Greeter/Nope", 2);
                }
                Err(status) => {
                    self.ready_error = Some(status);
                    self.report(client, cx);
                }
            }
        }

        fn unary_done(
            &mut self,
            client: &mut RpcClient,
            cx: &mut Core<RpcClient>,
            tag: u64,
            result: Result<Bytes, Status>,
        ) {
            self.outcomes.push((tag, result));
            if tag == 1 {
                // Chained from inside the callback, on the same loop.
                Self::hello(client, cx, self.conn.unwrap(), methods::HELLO, 3);
            }
            if self.outcomes.len() == self.expected {
                self.report(client, cx);
            }
        }
    }

    fn drive(addr: SocketAddr, expected: usize) -> Report {
        let (tx, rx) = crossbeam_channel::unbounded();
        let driver = Recorder { addr, conn: None, outcomes: Vec::new(), ready_error: None, expected, report: tx };
        let mut reactor =
            Reactor::new(RpcClient::with_driver(ClientConfig::default(), driver), Config::default()).unwrap();
        reactor.run().unwrap();
        rx.try_recv().expect("the driver reported before the loop stopped")
    }

    #[test]
    fn loop_calls_complete_on_the_loop_and_can_chain() {
        let server =
            BackgroundServer::start("127.0.0.1:0".parse().unwrap(), demo_router, ServerConfig::default()).unwrap();
        let (outcomes, ready_error) = drive(server.addr(), 3);
        assert!(ready_error.is_none());
        let tags: Vec<u64> = outcomes.iter().map(|(tag, _)| *tag).collect();
        assert_eq!(tags, [1, 2, 3], "responses come back in call order on one connection");
        let reply = HelloReply::decode(outcomes[0].1.clone().unwrap()).unwrap();
        assert_eq!(reply.message, "hello, call 1");
        assert_eq!(outcomes[1].1.as_ref().unwrap_err().code, Code::Unimplemented);
        let reply = HelloReply::decode(outcomes[2].1.clone().unwrap()).unwrap();
        assert_eq!(reply.message, "hello, call 3");
    }

    /// Starts one `Work` call that outlasts its timeout and reports its outcome.
    struct DeadlineDriver {
        addr: SocketAddr,
        report: Sender<Result<Bytes, Status>>,
    }

    impl ClientDriver for DeadlineDriver {
        fn started(&mut self, client: &mut RpcClient, cx: &mut Core<RpcClient>) {
            client.connect_on_loop(cx, self.addr);
        }

        fn ready(&mut self, client: &mut RpcClient, cx: &mut Core<RpcClient>, conn: Result<LoopConn, Status>) {
            let request = crate::rpc::demo::WorkRequest { millis: 5_000 }.encode().unwrap();
            let options = CallOptions::new().timeout(Duration::from_millis(50));
            client.start_unary_on_loop(
                cx,
                conn.unwrap(),
                Bytes::from_static(methods::WORK.as_bytes()),
                request,
                options,
                7,
            );
        }

        fn unary_done(
            &mut self,
            client: &mut RpcClient,
            cx: &mut Core<RpcClient>,
            tag: u64,
            result: Result<Bytes, Status>,
        ) {
            assert_eq!(tag, 7);
            let _ = self.report.send(result);
            cx.stop(client);
        }
    }

    #[test]
    fn a_loop_call_past_its_deadline_fails_with_deadline_exceeded() {
        let server =
            BackgroundServer::start("127.0.0.1:0".parse().unwrap(), demo_router, ServerConfig::default()).unwrap();
        let (tx, rx) = crossbeam_channel::unbounded();
        let driver = DeadlineDriver { addr: server.addr(), report: tx };
        let mut reactor =
            Reactor::new(RpcClient::with_driver(ClientConfig::default(), driver), Config::default()).unwrap();
        reactor.run().unwrap();
        let result = rx.try_recv().expect("the driver reported before the loop stopped");
        assert_eq!(result.unwrap_err().code, Code::DeadlineExceeded);
    }

    /// A stream type for driving the fair writer by hand.
    struct Out(StreamOut);

    impl HasOut for Out {
        fn out(&mut self) -> &mut StreamOut {
            &mut self.0
        }
    }

    #[test]
    fn a_whole_message_is_written_as_the_fair_writer_writes_it() {
        // Empty, copied into the tail, and large enough to be queued by reference.
        for len in [0, 27, 64 * 1024] {
            for end_stream in [true, false] {
                let bytes = Bytes::from(vec![7u8; len]);
                let mut direct = OutBuf::new();
                direct.extend_from_slice(b"CALL");
                put_data(&mut direct, 5, bytes.clone(), if end_stream { frame::FLAG_END_STREAM } else { 0 });

                let mut sched = SendScheduler::new(1 << 20, 1 << 20, 1 << 20);
                let mut out = StreamOut::with_queue(1 << 20, VecDeque::new());
                out.push(OutItem::Message { bytes, sent: 0, end_stream });
                sched.schedule(5, &mut out);
                let mut streams = FastMap::default();
                streams.insert(5, Out(out));
                let mut written = OutBuf::new();
                written.extend_from_slice(b"CALL");
                sched.run(&mut streams, &mut written, usize::MAX, |_, _, _| {});

                let flat = |b: &OutBuf| b.iter_chunks().flatten().copied().collect::<Vec<u8>>();
                assert_eq!(flat(&direct), flat(&written), "{len} bytes, end_stream {end_stream}");
                assert_eq!(direct.shape(), written.shape(), "the same bytes copied, the same queued by reference");
            }
        }
    }

    #[test]
    fn a_failed_connect_reaches_the_driver() {
        // Bind and drop a listener: its port refuses connections.
        let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let (outcomes, ready_error) = drive(addr, 1);
        assert!(outcomes.is_empty());
        assert_eq!(ready_error.expect("connect failed").code, Code::Unavailable);
    }
}
