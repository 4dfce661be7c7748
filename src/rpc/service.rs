//! Declaring a service without a code generator: a [`Router`] maps `"pkg.Service/Method"` to typed handlers.
//!
//! ```text
//! CALL "demo.Greeter/Hello" --Router lookup--> Route { kind, handler }
//!   unary / server-streaming:  the one request arrives --> handler(ctx, req, sink)
//!   client-streaming / bidi:   CALL arrives --> factory(ctx, sink) -> per-call state (impl Inbound)
//!                              each request --> state.on_message(ctx, req); end of requests --> state.on_end(ctx)
//! responses: return value (sync unary) or ServerStream::send / finish (everything else, any thread, any time)
//! ```
//!
//! Design for learners, stated once:
//!
//! - **Handlers run on the reactor thread** and must not block. Blocking work goes to a
//!   [`WorkerPool`](super::offload::WorkerPool) and completes the call through its [`ServerStream`].
//! - **Sending is a handle, receiving is callbacks.** A [`ServerStream`] is a cheap, cloneable, `Send` sink: keep it
//!   in a timer closure ([`Ctx::after`]), move it to a worker thread, store it in per-call state. Its messages go
//!   through the reactor's [`Handle`](crate::reactor::Handle) back to the loop, which sends them in order.
//!   Client messages arrive as calls on a per-call state object implementing [`Inbound`]: one place holds the
//!   call's state, and the framework knows exactly when a message was consumed (when `on_message` returned), which
//!   is when it returns flow-control credit. [`Ctx::pause`] holds further messages (and so the credit) back until
//!   [`ServerStream::resume`].
//! - **Call kinds are checked.** A CALL whose kind differs from the method's registered kind gets
//!   `UNIMPLEMENTED` (gRPC's answer to "wrong method shape"), as does a wrong number of requests or responses.
//!
//! Compared with gRPC: tonic generates a trait per service from a `.proto`; here the Rust types are the schema and
//! the router is built by hand (see `docs/rpc.md` for the trade-off).

use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::fastmap::FastMap;
use super::frame::{CallKind, Metadata};
use super::message::Message;
use super::middleware::Interceptor;
use super::status::Status;
use crate::reactor::ConnId;

/// What one call is: read by handlers through [`Ctx`], and by interceptors (which may add to it).
#[derive(Debug, Clone)]
pub struct CallInfo {
    /// `pkg.Service/Method`.
    pub method: Bytes,
    /// The kind the client asked for.
    pub kind: CallKind,
    /// Leading metadata from the CALL frame.
    pub metadata: Metadata,
    /// The call's trace id: the `trace-id` metadata, or one generated when the client sent none.
    pub trace_id: Bytes,
    /// When the server's deadline passes (receipt of CALL + `timeout_ms`), if the client set one.
    pub deadline: Option<Instant>,
    /// When the CALL arrived.
    pub received: Instant,
    /// The client's address.
    pub peer: Option<SocketAddr>,
    /// The stream id on its connection.
    pub stream_id: u32,
}

impl CallInfo {
    /// A blank `CallInfo` for a server to fill in when a call arrives.
    pub(crate) fn empty(now: Instant) -> CallInfo {
        CallInfo {
            method: Bytes::new(),
            kind: CallKind::Unary,
            metadata: Metadata::default(),
            trace_id: Bytes::new(),
            deadline: None,
            received: now,
            peer: None,
            stream_id: 0,
        }
    }
}

/// A closure run later on the reactor thread, see [`Ctx::after`].
pub type TimerFn = Box<dyn FnOnce(&mut Ctx) + Send>;

/// A handler's view of its call, valid for one callback.
pub struct Ctx {
    pub(crate) info: Arc<CallInfo>,
    pub(crate) now: Instant,
    pub(crate) scheduled: Vec<(Duration, TimerFn)>,
    pub(crate) paused: bool,
}

impl Ctx {
    pub(crate) fn new(info: Arc<CallInfo>, now: Instant) -> Ctx {
        Ctx { info, now, scheduled: Vec::new(), paused: false }
    }

    /// The call's description.
    pub fn info(&self) -> &CallInfo {
        &self.info
    }

    /// `pkg.Service/Method`.
    pub fn method(&self) -> &[u8] {
        &self.info.method
    }

    /// Leading metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.info.metadata
    }

    /// The trace id; pass it on to calls this handler makes (see `CallOptions::child_of`).
    pub fn trace_id(&self) -> &Bytes {
        &self.info.trace_id
    }

    /// The reactor's time at the start of this tick.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The call's deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.info.deadline
    }

    /// Time left before the deadline; `None` without a deadline. Pass it on as the timeout of further calls.
    pub fn remaining(&self) -> Option<Duration> {
        self.info.deadline.map(|d| d.saturating_duration_since(self.now))
    }

    /// Runs `f` on the reactor thread after `delay`, with a fresh `Ctx` for the same call (so it can schedule
    /// again). The timer is cancelled if the call ends first. Backed by the reactor's timer queue: no thread.
    pub fn after(&mut self, delay: Duration, f: impl FnOnce(&mut Ctx) + Send + 'static) {
        self.scheduled.push((delay, Box::new(f)));
    }

    /// Stops delivering client messages to this call after the current one; they wait (un-credited, so the client
    /// is slowed down by flow control) until [`ServerStream::resume`].
    pub fn pause(&mut self) {
        self.paused = true;
    }
}

/// Per-call state for calls whose client streams (client-streaming, bidi). One value per call.
pub trait Inbound<Req>: Send + 'static {
    /// One request message. Returning `Err` ends the call with that status.
    fn on_message(&mut self, ctx: &mut Ctx, req: Req) -> Result<(), Status>;
    /// The client half-closed: no more requests. Client-streaming handlers usually send their response here.
    fn on_end(&mut self, ctx: &mut Ctx) -> Result<(), Status>;
    /// The call was cancelled (client CANCEL, deadline, connection lost). Its sink is already closed.
    fn on_cancel(&mut self) {}
}

/// Why a send on a [`ServerStream`] did not queue the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The call is over (finished, cancelled, deadline, connection gone).
    Closed,
    /// More than the per-stream cap is waiting for the client's flow-control credit: try again later. This is how
    /// a slow reader slows its producer down instead of growing the server's memory.
    Full,
    /// A unary or client-streaming call already has its one response.
    Cardinality,
    /// The message could not be encoded.
    Encode(Status),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed => f.write_str("the call is closed"),
            SendError::Full => f.write_str("send queue full: the client is not reading"),
            SendError::Cardinality => f.write_str("this call kind allows only one response"),
            SendError::Encode(status) => write!(f, "{status}"),
        }
    }
}

impl std::error::Error for SendError {}

/// State shared between a stream on the loop and its sinks on any thread.
#[derive(Debug, Default)]
pub(crate) struct SinkShared {
    /// The call ended without the handler finishing it (cancel, deadline, lost connection).
    pub cancelled: AtomicBool,
    /// A final status was sent or queued: no more sends.
    pub finished: AtomicBool,
    /// Response bytes handed to the loop and not yet written to the connection.
    pub queued: AtomicUsize,
    /// Responses sent.
    pub sent: AtomicU32,
}

/// What a sink asks the loop to do for its stream. Delivered through the reactor's `Handle`.
#[derive(Debug)]
pub struct ServerEvent {
    pub(crate) conn: ConnId,
    pub(crate) serial: u64,
    pub(crate) stream: u32,
    pub(crate) kind: EventKind,
}

#[derive(Debug)]
pub(crate) enum EventKind {
    Send(Bytes),
    Finish(Status),
    Resume,
}

/// How sinks reach the loop: posts an event through the host reactor's `Handle`. `false`: the reactor is gone.
pub(crate) type Poster = Arc<dyn Fn(ServerEvent) -> bool + Send + Sync>;

struct SinkInner {
    shared: Arc<SinkShared>,
    poster: Poster,
    conn: ConnId,
    serial: u64,
    stream: u32,
    kind: CallKind,
    /// Most response bytes that may wait for credit before `send` says `Full`.
    cap: usize,
}

impl SinkInner {
    fn post(&self, kind: EventKind) -> bool {
        (self.poster)(ServerEvent { conn: self.conn, serial: self.serial, stream: self.stream, kind })
    }
}

impl Drop for SinkInner {
    /// The last handle went away without a status: end the call with UNKNOWN (spec section 10) rather than leave the
    /// client waiting for its deadline.
    fn drop(&mut self) {
        let shared = &self.shared;
        if !shared.cancelled.load(Ordering::Acquire) && !shared.finished.swap(true, Ordering::AcqRel) {
            self.post(EventKind::Finish(Status::new(
                super::status::Code::Unknown,
                "handler dropped the call without a status",
            )));
        }
    }
}

/// Untyped sink; [`ServerStream`] adds the message type.
#[derive(Clone)]
pub(crate) struct RawSink(Arc<SinkInner>);

impl RawSink {
    pub(crate) fn new(
        shared: Arc<SinkShared>,
        poster: Poster,
        conn: ConnId,
        serial: u64,
        stream: u32,
        kind: CallKind,
        cap: usize,
    ) -> RawSink {
        RawSink(Arc::new(SinkInner { shared, poster, conn, serial, stream, kind, cap }))
    }

    fn send_bytes(&self, bytes: Bytes) -> Result<(), SendError> {
        let inner = &self.0;
        let shared = &inner.shared;
        if shared.finished.load(Ordering::Acquire) || shared.cancelled.load(Ordering::Acquire) {
            return Err(SendError::Closed);
        }
        if !inner.kind.server_streams() && shared.sent.load(Ordering::Acquire) >= 1 {
            return Err(SendError::Cardinality);
        }
        // The first message always fits; afterwards the cap applies (so a message bigger than the cap still goes).
        if shared.queued.load(Ordering::Acquire) > 0 && shared.queued.load(Ordering::Acquire) + bytes.len() > inner.cap
        {
            return Err(SendError::Full);
        }
        shared.queued.fetch_add(bytes.len(), Ordering::AcqRel);
        shared.sent.fetch_add(1, Ordering::AcqRel);
        if inner.post(EventKind::Send(bytes)) {
            Ok(())
        } else {
            Err(SendError::Closed)
        }
    }

    fn finish(&self, status: Status) {
        if !self.0.shared.finished.swap(true, Ordering::AcqRel) {
            self.0.post(EventKind::Finish(status));
        }
    }

    /// Marks the sink finished without posting: the engine completes the call itself (synchronous unary reply).
    pub(crate) fn mark_finished(&self) {
        self.0.shared.finished.store(true, Ordering::Release);
    }
}

/// Sends responses on one call, from the loop thread or any other thread. Clone it freely.
///
/// Messages and the final status are posted to the reactor, which writes them in order, interleaved fairly with
/// other calls and within the client's flow-control credit.
pub struct ServerStream<T> {
    raw: RawSink,
    _message: PhantomData<fn(T)>,
}

impl<T> Clone for ServerStream<T> {
    fn clone(&self) -> Self {
        ServerStream { raw: self.raw.clone(), _message: PhantomData }
    }
}

impl<T: Message> ServerStream<T> {
    pub(crate) fn new(raw: RawSink) -> ServerStream<T> {
        ServerStream { raw, _message: PhantomData }
    }

    /// Queues one response. See [`SendError`] for why it may refuse.
    pub fn send(&self, message: &T) -> Result<(), SendError> {
        let bytes = message.encode().map_err(SendError::Encode)?;
        self.raw.send_bytes(bytes)
    }

    /// Ends the call with `status` (after every message sent before it). Later calls are ignored.
    pub fn finish(&self, status: Status) {
        self.raw.finish(status);
    }

    /// For unary-style completions: `Ok(resp)` sends it and finishes with OK, `Err(status)` finishes with it.
    pub fn reply(&self, result: Result<T, Status>) {
        match result.and_then(|resp| match self.send(&resp) {
            Ok(()) => Ok(()),
            Err(SendError::Encode(status)) => Err(status),
            Err(e) => Err(Status::internal(e.to_string())),
        }) {
            Ok(()) => self.finish(Status::ok()),
            Err(status) => self.finish(status),
        }
    }

    /// The call was cancelled (client CANCEL, deadline, lost connection): stop producing.
    pub fn is_cancelled(&self) -> bool {
        self.raw.0.shared.cancelled.load(Ordering::Acquire)
    }

    /// Nothing more can be sent: finished or cancelled.
    pub fn is_closed(&self) -> bool {
        self.is_cancelled() || self.raw.0.shared.finished.load(Ordering::Acquire)
    }

    /// Response bytes waiting for the client's credit.
    pub fn queued_bytes(&self) -> usize {
        self.raw.0.shared.queued.load(Ordering::Acquire)
    }

    /// Resumes delivery of client messages after [`Ctx::pause`].
    pub fn resume(&self) {
        self.raw.0.post(EventKind::Resume);
    }
}

/// Type-erased per-call state of a streaming-request call.
pub(crate) trait ErasedInbound: Send {
    fn message(&mut self, ctx: &mut Ctx, bytes: Bytes) -> Result<(), Status>;
    fn end(&mut self, ctx: &mut Ctx) -> Result<(), Status>;
    fn cancel(&mut self);
}

struct TypedInbound<H, Req> {
    handler: H,
    _req: PhantomData<fn(Req)>,
}

impl<H: Inbound<Req>, Req: Message> ErasedInbound for TypedInbound<H, Req> {
    fn message(&mut self, ctx: &mut Ctx, bytes: Bytes) -> Result<(), Status> {
        let req = Req::decode(bytes)?;
        self.handler.on_message(ctx, req)
    }
    fn end(&mut self, ctx: &mut Ctx) -> Result<(), Status> {
        self.handler.on_end(ctx)
    }
    fn cancel(&mut self) {
        self.handler.on_cancel()
    }
}

/// Handler for calls with one request: returns the response at once (`Some`) or later through the sink (`None`).
pub(crate) type SingleFn = Box<dyn Fn(&mut Ctx, Bytes, RawSink) -> Option<Result<Bytes, Status>> + Send + Sync>;
/// Factory of per-call state for calls whose requests stream.
pub(crate) type StreamingFn = Box<dyn Fn(&mut Ctx, RawSink) -> Box<dyn ErasedInbound> + Send + Sync>;

/// Handler of a plain unary call answered on the loop: no sink, so the server builds none (saving its two
/// allocations, the poster clone and their frees per call).
pub(crate) type UnaryFn = Box<dyn Fn(&mut Ctx, Bytes) -> Result<Bytes, Status> + Send + Sync>;

pub(crate) enum Handler {
    Unary(UnaryFn),
    Single(SingleFn),
    Streaming(StreamingFn),
}

/// One registered method.
pub(crate) struct Route {
    /// The method name it is registered under (lets a connection cache its last route and check a hit).
    pub method: Box<[u8]>,
    pub kind: CallKind,
    pub handler: Handler,
}

/// Maps method names to handlers, plus the interceptor chain run around every call.
#[derive(Default)]
pub struct Router {
    pub(crate) routes: FastMap<Bytes, Arc<Route>>,
    pub(crate) interceptors: Vec<Box<dyn Interceptor>>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut methods: Vec<_> = self.routes.keys().map(|m| String::from_utf8_lossy(m).into_owned()).collect();
        methods.sort();
        f.debug_struct("Router").field("methods", &methods).field("interceptors", &self.interceptors.len()).finish()
    }
}

impl Router {
    pub fn new() -> Router {
        Router::default()
    }

    fn add(mut self, method: &str, kind: CallKind, handler: Handler) -> Router {
        let route = Route { method: method.as_bytes().into(), kind, handler };
        self.routes.insert(Bytes::copy_from_slice(method.as_bytes()), Arc::new(route));
        self
    }

    /// One request, one response, computed on the loop thread.
    pub fn unary<Req, Resp, F>(self, method: &str, f: F) -> Router
    where
        Req: Message,
        Resp: Message,
        F: Fn(&mut Ctx, Req) -> Result<Resp, Status> + Send + Sync + 'static,
    {
        let unary: UnaryFn =
            Box::new(move |ctx, bytes| Req::decode(bytes).and_then(|req| f(ctx, req)).and_then(|resp| resp.encode()));
        self.add(method, CallKind::Unary, Handler::Unary(unary))
    }

    /// One request, one response, delivered later through the sink (e.g. from a worker thread).
    pub fn unary_deferred<Req, Resp, F>(self, method: &str, f: F) -> Router
    where
        Req: Message,
        Resp: Message,
        F: Fn(&mut Ctx, Req, ServerStream<Resp>) + Send + Sync + 'static,
    {
        self.add(method, CallKind::Unary, Handler::Single(single_with_sink(f)))
    }

    /// One request, a stream of responses sent through the sink; finish it to end the call.
    pub fn server_streaming<Req, Resp, F>(self, method: &str, f: F) -> Router
    where
        Req: Message,
        Resp: Message,
        F: Fn(&mut Ctx, Req, ServerStream<Resp>) + Send + Sync + 'static,
    {
        self.add(method, CallKind::ServerStreaming, Handler::Single(single_with_sink(f)))
    }

    /// A stream of requests into per-call state `H`, one response through the sink.
    pub fn client_streaming<Req, Resp, H, F>(self, method: &str, f: F) -> Router
    where
        Req: Message,
        Resp: Message,
        H: Inbound<Req>,
        F: Fn(&mut Ctx, ServerStream<Resp>) -> H + Send + Sync + 'static,
    {
        self.add(method, CallKind::ClientStreaming, Handler::Streaming(streaming(f)))
    }

    /// Both sides stream: requests into per-call state `H`, responses through the sink.
    pub fn bidi<Req, Resp, H, F>(self, method: &str, f: F) -> Router
    where
        Req: Message,
        Resp: Message,
        H: Inbound<Req>,
        F: Fn(&mut Ctx, ServerStream<Resp>) -> H + Send + Sync + 'static,
    {
        self.add(method, CallKind::Bidi, Handler::Streaming(streaming(f)))
    }

    /// Appends an interceptor. `before` hooks run in the order added, `after` hooks in reverse.
    pub fn layer(mut self, interceptor: impl Interceptor) -> Router {
        self.interceptors.push(Box::new(interceptor));
        self
    }

    /// Registered method names.
    pub fn methods(&self) -> impl Iterator<Item = &[u8]> {
        self.routes.keys().map(|m| &m[..])
    }

    pub(crate) fn route(&self, method: &[u8]) -> Option<Arc<Route>> {
        self.routes.get(method).cloned()
    }
}

fn single_with_sink<Req, Resp, F>(f: F) -> SingleFn
where
    Req: Message,
    Resp: Message,
    F: Fn(&mut Ctx, Req, ServerStream<Resp>) + Send + Sync + 'static,
{
    Box::new(move |ctx, bytes, sink| match Req::decode(bytes) {
        Ok(req) => {
            f(ctx, req, ServerStream::new(sink));
            None
        }
        Err(status) => {
            sink.mark_finished();
            Some(Err(status))
        }
    })
}

fn streaming<Req, Resp, H, F>(f: F) -> StreamingFn
where
    Req: Message,
    Resp: Message,
    H: Inbound<Req>,
    F: Fn(&mut Ctx, ServerStream<Resp>) -> H + Send + Sync + 'static,
{
    Box::new(move |ctx, sink| Box::new(TypedInbound { handler: f(ctx, ServerStream::new(sink)), _req: PhantomData }))
}
