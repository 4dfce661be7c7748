//! `plexus bench rpc`: unary calls per second and latency on one RPC connection, with 1 and with many calls in
//! flight, and bidirectional streaming throughput in MB/s, against the RPC demo service.
//!
//! ```text
//!  client thread (pinned to --client-cpu)             server thread (pinned to --server-cpu)
//!  Reactor<RpcClient> + UnaryDriver --CALL/DATA-->    Reactor<RpcServer>, demo router
//!    unary_done(slot) on the client loop <--DATA/STATUS--
//!    -> record latency, start the slot's next call in the same tick (no thread hand-off)
//! ```
//!
//! Unary calls are made by a [`ClientDriver`] on the client's own loop, so the figure measures the RPC stack and
//! loopback TCP, not the blocking facade's thread hand-offs (which cost a channel and an eventfd wake-up per call;
//! `tests/rpc.rs` covers the facade). Each of the N slots keeps one call in flight: when its call ends, the next
//! starts at once. The streaming measurement uses the blocking [`Client`] facade (an application's view of it).
//!
//! The server runs in-process on its own reactor thread unless `--target` names one. By default the server loop
//! and the client loop each get a CPU (as the KV bench pins server and generator); the streaming client's extra
//! thread shares them. `--server-cpu N --client-cpu N` puts both loops on one CPU instead.
//!
//! Which is faster depends on the machine. On a 2-vCPU KVM guest (cpuidle driver `haltpoll`) a ping-pong across
//! two vCPUs pays a cross-vCPU wake-up per message (an IPI, which exits to the hypervisor, to a vCPU that has
//! halted), and that, not the RPC stack, sets the pace: one call in flight ran at about 5,000 calls/s with the
//! loops on CPUs 0 and 1 (0.42 CPUs busy, `perf stat`) and at about 39,000 with both on CPU 1 (0.99 busy). So a
//! client loop that has a CPU of its own busy-polls (`reactor::Config::busy_poll`): it never halts, replies never
//! need to wake it, and the split layout then ran at about 20,000. The server loop sleeps as a server should,
//! unless `--server-busy-poll-us` gives it a polling budget (what `plexus server --busy-poll-us` sets); with 1 ms
//! the split layout reached about 60,000. On bare metal with idle cores the split layout is the one that scales.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::Sender;
use hdrhistogram::Histogram;

use super::system;
use crate::reactor::{Config, Core, Reactor};
use crate::rpc::client::{ClientDriver, LoopConn};
use crate::rpc::demo::{demo_router, methods, ChatMessage, HelloRequest};
use crate::rpc::{BackgroundServer, CallOptions, Client, ClientConfig, Message, RpcClient, ServerConfig, Status};

/// One measurement.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RpcResult {
    pub mode: String,
    pub in_flight: usize,
    pub calls: u64,
    pub seconds: f64,
    pub calls_per_sec: f64,
    pub mb_per_sec: Option<f64>,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

/// Which CPUs the two loops run on; `None`: not pinned.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pinning {
    pub server_cpu: Option<usize>,
    pub client_cpu: Option<usize>,
}

/// Keeps `slots` unary calls in flight on one connection until `duration` has passed, from the client loop.
///
/// Latency runs from the tick in which a call starts to the tick in which its outcome arrives, both stamped with
/// the loop's tick clock ([`Core::now`], read once per tick right after the poll returns), in microseconds since
/// the first tick. Reading the clock for every call instead (and subtracting `Instant`s twice) cost about 120
/// instructions per call (callgrind), which belong to the bench, not to the RPC stack it measures.
///
/// Why the figures stay right: a call's request leaves when its tick flushes, and its reply was read after the
/// poll that began the reply's tick, so the whole round trip lies between the two stamps. Against a clock read at
/// the moment the driver starts or completes the call, each stamp is early by that moment's offset into its tick.
/// A slot's next call starts at the very offset at which its previous call completed, so across a run the start
/// offsets and the completion offsets are the same set of numbers: the mean latency is unchanged, and a single
/// call's figure moves by less than one tick's work (one call with one in flight; with 128, a tick handles about 100,
/// some tens of microseconds).
struct UnaryDriver {
    addr: SocketAddr,
    method: Bytes,
    request: Bytes,
    conn: Option<LoopConn>,
    /// When each slot's current call started, microseconds on the tick clock.
    sent_us: Vec<u64>,
    /// Wall time of the first call, for the calls/s figure.
    began: Instant,
    /// The tick clock's origin: the tick of the first call.
    origin: Instant,
    /// The tick `tick_us` was computed for, and its time in microseconds since `origin`.
    tick: Instant,
    tick_us: u64,
    /// How long to keep starting calls, microseconds on the tick clock (saturated).
    duration_us: u64,
    open: usize,
    calls: u64,
    /// Stop starting calls after this many (`--calls`, for instruction counts per call); `u64::MAX`: no limit.
    max_calls: u64,
    started: u64,
    hist: Histogram<u64>,
    /// Latencies on their way into `hist`; flushed before it is read.
    run: Run,
    result: Sender<Result<RpcResult, String>>,
}

/// Consecutive equal values, counted and recorded into a histogram together. Calls that start in one tick and end
/// in one tick have the same latency, so most calls cost a comparison and an increment instead of the histogram's
/// per-value work (about 70 instructions per call, callgrind).
#[derive(Debug, Default)]
struct Run {
    value: u64,
    count: u64,
}

impl Run {
    fn record(&mut self, value: u64, hist: &mut Histogram<u64>) {
        if value == self.value {
            self.count += 1;
        } else {
            self.flush(hist);
            *self = Run { value, count: 1 };
        }
    }

    fn flush(&mut self, hist: &mut Histogram<u64>) {
        let Run { value, count } = std::mem::take(self);
        if count > 0 {
            let _ = hist.record_n(value, count);
        }
    }
}

impl UnaryDriver {
    fn start(&mut self, client: &mut RpcClient, cx: &mut Core<RpcClient>, slot: usize, now_us: u64) {
        let Some(conn) = self.conn else { return };
        self.started += 1;
        self.sent_us[slot] = now_us;
        let (method, request) = (self.method.clone(), self.request.clone());
        client.start_unary_on_loop(cx, conn, method, request, CallOptions::new(), slot as u64);
    }

    /// The current tick's time in microseconds since `origin`, computed once per tick.
    fn now_us(&mut self, cx: &Core<RpcClient>) -> u64 {
        let now = cx.now();
        if now != self.tick {
            self.tick = now;
            self.tick_us = u64::try_from(now.saturating_duration_since(self.origin).as_micros()).unwrap_or(u64::MAX);
        }
        self.tick_us
    }

    fn fail(&mut self, client: &mut RpcClient, cx: &mut Core<RpcClient>, error: String) {
        let _ = self.result.send(Err(error));
        self.open = 0;
        cx.stop(client);
    }
}

impl ClientDriver for UnaryDriver {
    fn started(&mut self, client: &mut RpcClient, cx: &mut Core<RpcClient>) {
        client.connect_on_loop(cx, self.addr);
    }

    fn ready(&mut self, client: &mut RpcClient, cx: &mut Core<RpcClient>, conn: Result<LoopConn, Status>) {
        match conn {
            Ok(conn) => {
                self.conn = Some(conn);
                self.began = Instant::now();
                (self.origin, self.tick, self.tick_us) = (cx.now(), cx.now(), 0);
                self.open = self.sent_us.len().min(self.max_calls as usize);
                for slot in 0..self.open {
                    self.start(client, cx, slot, 0);
                }
                if self.open == 0 {
                    self.fail(client, cx, "no calls to make".into());
                }
            }
            Err(status) => self.fail(client, cx, status.to_string()),
        }
    }

    fn unary_done(
        &mut self,
        client: &mut RpcClient,
        cx: &mut Core<RpcClient>,
        tag: u64,
        result: Result<Bytes, Status>,
    ) {
        if self.open == 0 {
            return;
        }
        // Every reply is parsed in full, so a failed call or a malformed reply ends the run; it is only borrowed,
        // not copied into the `String`s of `HelloReply`, so the driver's own cost stays out of the RPC figures.
        if let Err(error) = result.map_err(|status| status.to_string()).and_then(|bytes| check_reply(&bytes)) {
            return self.fail(client, cx, error);
        }
        let now_us = self.now_us(cx);
        let slot = tag as usize;
        self.run.record(now_us.saturating_sub(self.sent_us[slot]).max(1), &mut self.hist);
        self.calls += 1;
        if self.started < self.max_calls && now_us < self.duration_us {
            return self.start(client, cx, slot, now_us);
        }
        self.open -= 1;
        if self.open == 0 {
            self.run.flush(&mut self.hist);
            let seconds = self.began.elapsed().as_secs_f64();
            let _ = self.result.send(Ok(summary("unary", self.sent_us.len(), self.calls, seconds, None, &self.hist)));
            cx.stop(client);
        }
    }
}

/// The name the unary bench sends; the server's greeting must end with it.
const BENCH_NAME: &str = "bench";

/// The wire shape of [`crate::rpc::demo::HelloReply`] (postcard encodes fields in order, and a string exactly like
/// a byte string: a varint length, then the bytes), borrowing both fields from the received bytes.
#[derive(serde::Deserialize)]
struct HelloReplyView<'a> {
    message: &'a [u8],
    trace_id: &'a [u8],
}

/// Checks that `bytes` is a whole `HelloReply` that greets [`BENCH_NAME`] and carries a trace id. Decoded only
/// that far: no `String`s, and no UTF-8 validation (about 240 instructions per call, callgrind), so the driver's
/// own cost stays out of the RPC figures while every reply is still checked.
fn check_reply(bytes: &[u8]) -> Result<(), String> {
    match postcard::from_bytes::<HelloReplyView>(bytes) {
        Ok(reply) if reply.message.ends_with(BENCH_NAME.as_bytes()) && !reply.trace_id.is_empty() => Ok(()),
        Ok(_) => Err("reply does not greet the bench or has no trace id".into()),
        Err(e) => Err(format!("cannot decode reply: {e}")),
    }
}

/// How long each measurement runs.
#[derive(Debug, Clone, Copy)]
pub enum Length {
    Duration(Duration),
    /// A fixed number of unary calls (streaming then runs for one second): repeatable instruction counts.
    Calls(u64),
}

/// Unary `demo.Greeter/Hello` with `in_flight` calls outstanding until `length` is reached, from a loop-driven
/// client on its own thread (pinned to `client_cpu`; with `busy_poll`, its loop never sleeps).
pub fn unary(
    addr: SocketAddr,
    in_flight: usize,
    length: Length,
    client_cpu: Option<usize>,
    busy_poll: bool,
) -> Result<RpcResult, String> {
    let (duration, max_calls) = match length {
        Length::Duration(d) => (d, u64::MAX),
        Length::Calls(n) => (Duration::MAX, n),
    };
    let in_flight = in_flight.max(1);
    let request = HelloRequest { name: BENCH_NAME.into() }.encode().map_err(|e| e.to_string())?;
    let hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?;
    let (tx, rx) = crossbeam_channel::bounded(1);
    let driver = UnaryDriver {
        addr,
        method: Bytes::from_static(methods::HELLO.as_bytes()),
        request,
        conn: None,
        sent_us: vec![0; in_flight],
        began: Instant::now(),
        origin: Instant::now(),
        tick: Instant::now(),
        tick_us: 0,
        duration_us: u64::try_from(duration.as_micros()).unwrap_or(u64::MAX),
        open: 0,
        calls: 0,
        max_calls,
        started: 0,
        hist,
        run: Run::default(),
        result: tx.clone(),
    };
    let thread = std::thread::Builder::new()
        .name("rpc-bench-client".into())
        .spawn(move || {
            if let Some(cpu) = client_cpu {
                if let Err(e) = system::pin_current_thread(cpu) {
                    let _ = tx.send(Err(format!("cannot pin to CPU {cpu}: {e}")));
                    return;
                }
            }
            let outcome = Reactor::new(
                RpcClient::with_driver(ClientConfig::default(), driver),
                Config { busy_poll: if busy_poll { Duration::MAX } else { Duration::ZERO }, ..Config::default() },
            )
            .and_then(|mut reactor| reactor.run());
            if let Err(e) = outcome {
                let _ = tx.send(Err(format!("client loop failed: {e}")));
            }
        })
        .map_err(|e| e.to_string())?;
    // The driver reports once; a loop that stopped without a word (e.g. the connection never came up) drops `tx`.
    let result = rx.recv().map_err(|_| "the client loop ended without a result".to_string());
    let _ = thread.join();
    result?
}

/// Bidirectional streaming on `demo.Chat/Echo`: `message_bytes` messages, `window` sent ahead of the replies.
pub fn streaming(
    addr: SocketAddr,
    message_bytes: usize,
    window: usize,
    duration: Duration,
) -> Result<RpcResult, String> {
    let client = Client::connect(addr).map_err(|e| e.to_string())?;
    let mut chat =
        client.bidi::<ChatMessage, ChatMessage>(methods::ECHO, CallOptions::new()).map_err(|e| e.to_string())?;
    let message = ChatMessage { text: "x".repeat(message_bytes) };
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?;
    let mut sent_at = VecDeque::new();
    let began = Instant::now();
    let (mut messages, mut bytes) = (0u64, 0u64);
    while began.elapsed() < duration {
        while sent_at.len() < window {
            chat.send(&message).map_err(|e| e.to_string())?;
            sent_at.push_back(Instant::now());
        }
        let reply = chat.recv().map_err(|e| e.to_string())?.ok_or("the stream ended early")?;
        let sent = sent_at.pop_front().ok_or("reply without a request")?;
        let _ = hist.record(sent.elapsed().as_micros().max(1) as u64);
        messages += 1;
        bytes += (message_bytes + reply.text.len()) as u64;
    }
    let _ = chat.close_send();
    while !sent_at.is_empty() {
        match chat.recv() {
            Ok(Some(_)) => {
                sent_at.pop_front();
            }
            _ => break,
        }
    }
    let seconds = began.elapsed().as_secs_f64();
    let mb = bytes as f64 / seconds / 1_000_000.0;
    Ok(summary("bidi-stream", window, messages, seconds, Some(mb), &hist))
}

fn summary(mode: &str, in_flight: usize, calls: u64, seconds: f64, mb: Option<f64>, h: &Histogram<u64>) -> RpcResult {
    RpcResult {
        mode: mode.into(),
        in_flight,
        calls,
        seconds,
        calls_per_sec: calls as f64 / seconds,
        mb_per_sec: mb,
        p50_us: h.value_at_quantile(0.50),
        p99_us: h.value_at_quantile(0.99),
        p999_us: h.value_at_quantile(0.999),
        max_us: h.max(),
    }
}

/// What [`run`] measures.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Unary calls in flight, one measurement each (standard: 1 and 128).
    pub in_flight: Vec<usize>,
    pub length: Length,
    /// Also measure 64 KiB bidirectional streaming.
    pub stream: bool,
    /// The in-process server loop's `reactor::Config::busy_poll`.
    pub server_busy_poll: Duration,
}

/// Runs the RPC measurements: unary with each in-flight count, then 64 KiB bidirectional streaming.
pub fn run(target: Option<SocketAddr>, plan: &Plan, pin: Pinning) -> Result<Vec<RpcResult>, String> {
    // "N calls in flight" should mean N on the wire: under the spec's default of 100 concurrent streams, a client
    // with 128 would hold 28 back in its own queue. A `--target` server keeps whatever limit it announces.
    let mut config = ServerConfig::default();
    let deepest = plan.in_flight.iter().copied().max().unwrap_or(0);
    config.settings.max_concurrent_streams = config.settings.max_concurrent_streams.max(deepest as u32);
    let server = match target {
        Some(_) => None,
        None => Some(
            BackgroundServer::start_on(
                "127.0.0.1:0".parse().map_err(|_| "bad address")?,
                demo_router,
                config,
                Config { busy_poll: plan.server_busy_poll, ..Config::default() },
            )
            .map_err(|e| e.to_string())?,
        ),
    };
    if let (Some(server), Some(cpu)) = (&server, pin.server_cpu) {
        // Pin the server's loop thread from inside it; the answer comes back through a channel.
        let (tx, rx) = crossbeam_channel::bounded(1);
        server
            .handle()
            .run(move |_, _| {
                let _ = tx.send(system::pin_current_thread(cpu).map_err(|e| e.to_string()));
            })
            .map_err(|e| e.to_string())?;
        rx.recv()
            .map_err(|_| "server thread gone".to_string())?
            .map_err(|e| format!("cannot pin to CPU {cpu}: {e}"))?;
    }
    let addr = target.or(server.as_ref().map(|s| s.addr())).ok_or("no target")?;
    // A client loop with a CPU of its own polls without sleeping, so replies never wait for a vCPU wake-up on
    // its side (see the module doc); sharing a CPU with the server, spinning would only steal the server's time.
    let busy_poll = pin.client_cpu.is_some() && pin.client_cpu != pin.server_cpu;
    let mut results = Vec::new();
    for &n in &plan.in_flight {
        results.push(unary(addr, n, plan.length, pin.client_cpu, busy_poll)?);
    }
    if plan.stream {
        let duration = match plan.length {
            Length::Duration(d) => d,
            Length::Calls(_) => Duration::from_secs(1),
        };
        // Two messages ahead: the echo service refuses a client whose unread echoes pass its 256 KiB queue.
        results.push(streaming(addr, 64 * 1024, 2, duration)?);
    }
    if let Some(s) = server {
        s.stop();
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::demo::HelloReply;

    #[test]
    fn runs_of_equal_values_record_what_single_records_record() {
        let new = || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        let (mut batched, mut single) = (new(), new());
        let mut run = Run::default();
        for value in [5, 5, 5, 9, 1, 1, 5, 70_000, 70_000, 1, 1] {
            run.record(value, &mut batched);
            let _ = single.record(value);
        }
        assert_eq!(batched.len(), 9, "the last run (two values) is held until flushed");
        run.flush(&mut batched);
        assert_eq!(batched, single);
        assert_eq!((batched.len(), batched.max(), batched.value_at_quantile(0.5)), (11, single.max(), 5));
        run.flush(&mut batched);
        assert_eq!(batched.len(), 11, "a second flush records nothing");
    }

    #[test]
    fn the_reply_view_accepts_exactly_what_hello_reply_encodes() {
        let reply = HelloReply { message: "hello, bench".into(), trace_id: "t-1".into() };
        let bytes = reply.encode().unwrap();
        let view: HelloReplyView = postcard::from_bytes(&bytes).unwrap();
        assert_eq!((view.message, view.trace_id), (&b"hello, bench"[..], &b"t-1"[..]));
        assert_eq!(check_reply(&bytes), Ok(()));
        assert!(check_reply(&bytes[..bytes.len() - 1]).is_err(), "a truncated reply is refused");
        let wrong = HelloReply { message: "hello, someone".into(), trace_id: "t-1".into() }.encode().unwrap();
        assert!(check_reply(&wrong).is_err(), "a greeting for another name is refused");
        let untraced = HelloReply { message: "hello, bench".into(), trace_id: Bytes::new() }.encode().unwrap();
        assert!(check_reply(&untraced).is_err(), "a reply without a trace id is refused");
    }
}
