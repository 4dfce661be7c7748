//! A small demo service with one method of each call kind, plus offloaded ones. `plexus server --rpc-port N`
//! serves it, the `rpc_*` examples and `tests/rpc.rs` call it.
//!
//! | Method | Kind | What it shows |
//! |---|---|---|
//! | `demo.Greeter/Hello` | unary | the smallest handler: request in, response out, on the loop thread |
//! | `demo.Ticker/Ticks` | server-streaming | responses sent later from reactor timers (`Ctx::after`) through a sink |
//! | `demo.Math/Sum` | client-streaming | per-call state receiving a stream of requests, one response at the end |
//! | `demo.Chat/Echo` | bidi | answering each message as it arrives, ending when the client half-closes |
//! | `demo.Slow/Work` | unary, offloaded | blocking work on a worker thread; the loop keeps serving other calls |
//! | `demo.Slow/Relay` | unary, offloaded | a handler calling another server with the trace id and remaining deadline |
//!
//! ```text
//! Hello:  CALL, DATA(req) -> handler returns -> DATA(resp), STATUS(OK)
//! Ticks:  CALL, DATA(req) -> handler schedules a timer -> timer sends a tick, re-arms ... -> finish(OK)
//! Work:   CALL, DATA(req) -> handler moves (req, sink) to the pool -> worker sleeps -> sink.reply -> Handle -> loop
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::client::{CallOptions, Client};
use super::offload::WorkerPool;
use super::service::{Ctx, Inbound, Router, SendError, ServerStream};
use super::status::Status;

/// Method names, so callers do not retype strings.
pub mod methods {
    pub const HELLO: &str = "demo.Greeter/Hello";
    pub const TICKS: &str = "demo.Ticker/Ticks";
    pub const SUM: &str = "demo.Math/Sum";
    pub const ECHO: &str = "demo.Chat/Echo";
    pub const WORK: &str = "demo.Slow/Work";
    pub const RELAY: &str = "demo.Slow/Relay";
}

/// Most ticks one call may ask for: a bound on the work one request can cause.
pub const MAX_TICKS: u32 = 100_000;
/// Longest a `Work` call may ask to block a worker, milliseconds.
pub const MAX_WORK_MS: u64 = 10_000;
/// Worker threads of the demo's pool; the queue holds this many times 16 jobs before `Work` is refused.
const DEMO_WORKERS: usize = 4;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelloRequest {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelloReply {
    pub message: String,
    /// The trace id the server saw (so propagation can be checked). Bytes, like every metadata value: the handler
    /// hands back the call's own buffer, no copy and no UTF-8 check (on the wire it is the same as a string).
    pub trace_id: Bytes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickRequest {
    pub count: u32,
    pub interval_ms: u32,
    /// Bytes of padding per tick, to make responses large (flow-control tests); 0 normally.
    pub padding: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    pub n: u32,
    pub padding: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Number {
    pub value: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SumReply {
    pub total: i64,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkRequest {
    /// How long the worker blocks, milliseconds (at most [`MAX_WORK_MS`]).
    pub millis: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkReply {
    pub slept_ms: u64,
    pub worker: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayRequest {
    /// The server to call `Hello` on.
    pub addr: String,
    pub name: String,
}

/// The demo service, every method registered. Interceptors can be added with [`Router::layer`].
pub fn demo_router() -> Router {
    let pool = Arc::new(WorkerPool::new(DEMO_WORKERS, DEMO_WORKERS * 16));
    let relay_pool = pool.clone();
    Router::new()
        .unary(methods::HELLO, hello)
        .server_streaming(methods::TICKS, ticks)
        .client_streaming(methods::SUM, |_ctx: &mut Ctx, reply| Sum { total: 0, count: 0, reply })
        .bidi(methods::ECHO, |_ctx: &mut Ctx, out| Echo { out, seen: 0 })
        .unary_deferred(methods::WORK, move |_ctx: &mut Ctx, req: WorkRequest, reply: ServerStream<WorkReply>| {
            let millis = req.millis.min(MAX_WORK_MS);
            let job_reply = reply.clone();
            let job = move || {
                // Blocking is fine here: this is a worker thread. Check for cancellation between slices so a
                // cancelled or timed-out call frees its worker early.
                let slice = Duration::from_millis(5);
                let mut slept = Duration::ZERO;
                while slept < Duration::from_millis(millis) && !job_reply.is_cancelled() {
                    std::thread::sleep(slice.min(Duration::from_millis(millis) - slept));
                    slept += slice;
                }
                let worker = std::thread::current().name().unwrap_or("worker").to_string();
                job_reply.reply(Ok(WorkReply { slept_ms: millis, worker }));
            };
            if pool.spawn(job).is_err() {
                reply.reply(Err(Status::resource_exhausted("all workers busy")));
            }
        })
        .unary_deferred(methods::RELAY, move |ctx: &mut Ctx, req: RelayRequest, reply: ServerStream<HelloReply>| {
            // Built on the loop thread from the call's context: same trace id, the remaining time as timeout.
            let options = CallOptions::child_of(ctx);
            let job = {
                let reply = reply.clone();
                move || {
                    let result = req
                        .addr
                        .parse::<SocketAddr>()
                        .map_err(|e| Status::new(super::status::Code::InvalidArgument, format!("bad addr: {e}")))
                        .and_then(Client::connect)
                        .and_then(|client| client.unary(methods::HELLO, &HelloRequest { name: req.name }, options));
                    reply.reply(result);
                }
            };
            if relay_pool.spawn(job).is_err() {
                reply.reply(Err(Status::resource_exhausted("all workers busy")));
            }
        })
}

/// The greeting's fixed part.
const GREETING: &str = "hello, ";

/// Built with one exact-capacity `String` and `push_str` rather than `format!`, and the trace id handed back as the
/// call's own `Bytes`: this handler is what `bench rpc` measures, and the formatting machinery cost it about 1,000
/// instructions per call, a checked copy of the trace id about 200 more (callgrind).
fn hello(ctx: &mut Ctx, req: HelloRequest) -> Result<HelloReply, Status> {
    let mut message = String::with_capacity(GREETING.len() + req.name.len());
    message.push_str(GREETING);
    message.push_str(&req.name);
    Ok(HelloReply { message, trace_id: ctx.trace_id().clone() })
}

fn ticks(ctx: &mut Ctx, req: TickRequest, out: ServerStream<Tick>) {
    if req.count > MAX_TICKS {
        return out.finish(Status::new(super::status::Code::InvalidArgument, "too many ticks"));
    }
    let interval = Duration::from_millis(u64::from(req.interval_ms.max(1)));
    let padding = vec![0u8; req.padding.min(1 << 20) as usize];
    schedule_tick(ctx, out, 0, req.count, interval, padding);
}

/// Sends tick `n` after `interval`, then schedules the next: a loop made of reactor timers, no thread.
fn schedule_tick(ctx: &mut Ctx, out: ServerStream<Tick>, n: u32, count: u32, interval: Duration, padding: Vec<u8>) {
    if n == count {
        return out.finish(Status::ok());
    }
    ctx.after(interval, move |ctx| match out.send(&Tick { n, padding: padding.clone() }) {
        Ok(()) => schedule_tick(ctx, out, n + 1, count, interval, padding),
        // The client is not reading: try the same tick again later instead of queueing without bound.
        Err(SendError::Full) => schedule_tick(ctx, out, n, count, interval, padding),
        Err(_) => {}
    });
}

/// Per-call state of `Sum`.
struct Sum {
    total: i64,
    count: u64,
    reply: ServerStream<SumReply>,
}

impl Inbound<Number> for Sum {
    fn on_message(&mut self, _ctx: &mut Ctx, req: Number) -> Result<(), Status> {
        self.total = self
            .total
            .checked_add(req.value)
            .ok_or_else(|| Status::new(super::status::Code::OutOfRange, "sum overflows i64"))?;
        self.count += 1;
        Ok(())
    }

    fn on_end(&mut self, _ctx: &mut Ctx) -> Result<(), Status> {
        self.reply.reply(Ok(SumReply { total: self.total, count: self.count }));
        Ok(())
    }
}

/// Per-call state of `Echo`.
struct Echo {
    out: ServerStream<ChatMessage>,
    seen: u64,
}

impl Inbound<ChatMessage> for Echo {
    fn on_message(&mut self, _ctx: &mut Ctx, req: ChatMessage) -> Result<(), Status> {
        self.seen += 1;
        match self.out.send(&ChatMessage { text: format!("echo #{}: {}", self.seen, req.text) }) {
            Ok(()) => Ok(()),
            Err(SendError::Full) => Err(Status::resource_exhausted("client is not reading its echoes")),
            Err(e) => Err(Status::internal(e.to_string())),
        }
    }

    fn on_end(&mut self, _ctx: &mut Ctx) -> Result<(), Status> {
        self.out.finish(Status::ok());
        Ok(())
    }
}
