//! The load generator itself: a client [`Protocol`] on the plexus reactor, holding every benchmark connection in
//! one thread with [`Core::connect`] (no thread per connection on this side either).
//!
//! ```text
//!  Connecting (at most CONNECT_WINDOW handshakes in flight; a connection counts once a PING came back)
//!    --> Prefill (optional: SET every key once, deep pipeline)
//!    --> for each phase:  Warmup --> Measure --> Drain (no new requests until every reply is in)
//!    --> Done (the reactor stops)
//!
//!  per connection: send request --> remember its send time (closed loop) or its *intended* time (open loop)
//!                  in a FIFO --> reply_len finds the reply --> pop the FIFO --> latency into the histogram
//! ```
//!
//! **Closed loop** (no `--rate`): each connection keeps `pipeline` requests in flight and sends a new one as each
//! reply arrives. Throughput is what the server (or the client) can sustain; latency is measured from the real send.
//!
//! **Open loop** (`--rate R`): requests are due at a fixed schedule, R/C per second per connection, whatever the
//! server does. At most `pipeline` are in flight per connection; a request that could not go out on time (the
//! server is stalled, the window is full) is sent as soon as it can, and its latency counts from when it *should*
//! have been sent. A closed-loop client that stops sending while the server stalls records one slow request and
//! then a run of fast ones, hiding the stall ("coordinated omission", Gil Tene); counting from the intended time
//! puts every request that the stall delayed into the histogram, as wrk2 does.
//!
//! Timers come from the reactor, and `epoll_wait` sleeps in whole milliseconds, so an open-loop request can leave up
//! to ~1 ms late. That lateness is counted in its latency (honest, and it is what such a client would see) and
//! reported separately as the schedule lag.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use hdrhistogram::Histogram;

use super::system::{self, ProcSample};
use super::workload::{self, KeyDist, KeyGen, Workload};
use crate::reactor::{CloseReason, Config as ReactorConfig, ConnId, Core, ListenerId, Protocol, Reactor};

/// Most connection handshakes in flight at once. Opening 10,000 at once would overflow the server's accept
/// backlog (511 by default), and a dropped SYN costs a one-second retransmission.
const CONNECT_WINDOW: usize = 256;

/// Requests in flight per connection while prefilling the keyspace.
const PREFILL_PIPELINE: usize = 64;

/// How often the progress bar is refreshed.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);

/// A phase whose replies have not all arrived this long after it ended gives up on them (a dead server).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How close to an open-loop send the generator stops sleeping and polls instead: two of epoll's milliseconds, so
/// the rounded-up sleep before it still ends ahead of the deadline.
const OPEN_LOOP_TIMER_SPIN: Duration = Duration::from_millis(2);

/// Highest latency the histograms hold: one minute, in nanoseconds. Longer ones are clamped to it.
const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// When a phase ends.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stop {
    /// After this many measured replies.
    Requests(u64),
    /// After this long measuring.
    Duration(Duration),
}

/// One measured run over the connections already open.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PhaseSpec {
    pub workload: Workload,
    pub pipeline: usize,
    pub warmup: Duration,
    pub stop: Stop,
    /// Total requests per second across all connections (open loop), or `None` (closed loop).
    pub rate: Option<f64>,
}

/// What the generator sends and where.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub addr: SocketAddr,
    pub connections: usize,
    pub keyspace: u64,
    pub value_size: usize,
    pub keys: KeyDist,
    /// SET every key of the keyspace once before the first phase, so GETs hit.
    pub prefill: bool,
    /// The server process to sample at the edges of each measurement.
    pub server_pid: Option<u32>,
    pub progress: bool,
    pub seed: u64,
}

/// What one phase measured.
#[derive(Clone, Debug)]
pub struct PhaseResult {
    pub spec: PhaseSpec,
    /// Latency of measured requests, nanoseconds.
    pub latency: Histogram<u64>,
    /// Open loop only: how late requests left against their schedule, nanoseconds.
    pub lag: Histogram<u64>,
    pub completed: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub server_before: Option<ProcSample>,
    pub server_after: Option<ProcSample>,
    pub client_cpu: Duration,
}

/// What a whole client run measured.
#[derive(Debug)]
pub struct RunResult {
    pub phases: Vec<PhaseResult>,
    /// Connections that completed their handshake.
    pub connected: usize,
    /// First connect error, if any connection failed.
    pub connect_error: Option<String>,
    /// Connections the server closed during the run.
    pub lost: usize,
    /// Server sample after every connection was open and had done one round trip (idle-memory mode).
    pub server_idle: Option<ProcSample>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Connecting,
    Prefill,
    Warmup(usize),
    Measure(usize),
    Drain(usize),
    /// Idle-memory mode: every connection has done its round trip; quiet until the timer.
    Idle,
    Done,
}

/// Timers of the generator.
#[derive(Clone, Copy, Debug)]
pub enum BenchTimer {
    /// Open loop: connection `usize`'s next request is due.
    Pace(usize),
    /// The stage with this serial ends (warmup over, duration reached, drain or idle wait over).
    StageEnd(u64),
    Progress,
}

#[derive(Debug)]
struct ConnState {
    id: Option<ConnId>,
    up: bool,
    /// Send (closed loop) or intended (open loop) times of requests in flight, oldest first.
    inflight: VecDeque<Instant>,
    /// Open loop: when the next request is due.
    next_due: Instant,
    pace_armed: bool,
    /// Replies still owed in the current stage that are not measured (handshake PING, prefill).
    untracked: usize,
}

/// The generator as a reactor protocol.
pub struct BenchClient {
    opts: ClientOptions,
    phases: Vec<PhaseSpec>,
    conns: Vec<ConnState>,
    stage: Stage,
    stage_serial: u64,
    /// Next connection index to open.
    next_connect: usize,
    connecting: usize,
    connected: usize,
    failed: usize,
    connect_error: Option<String>,
    lost: usize,
    keys: KeyGen,
    value_header: Vec<u8>,
    value: Vec<u8>,
    prefill_next: u64,
    prefill_done: u64,
    measure_start: Instant,
    client_cpu_start: Duration,
    current: Option<PhaseResult>,
    results: Vec<PhaseResult>,
    idle_wait: Option<Duration>,
    server_idle: Option<ProcSample>,
    progress: Option<indicatif::ProgressBar>,
}

fn histogram() -> Histogram<u64> {
    // Three significant digits: 0.1% resolution at every magnitude, a few tens of KiB of counters.
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).unwrap_or_else(|_| Histogram::new(3).expect("valid precision"))
}

fn record(h: &mut Histogram<u64>, d: Duration) {
    let ns = (d.as_nanos() as u64).clamp(1, MAX_LATENCY_NS);
    let _ = h.record(ns);
}

impl BenchClient {
    fn new(opts: ClientOptions, phases: Vec<PhaseSpec>, idle_wait: Option<Duration>) -> BenchClient {
        let now = Instant::now();
        let conns = (0..opts.connections)
            .map(|_| ConnState {
                id: None,
                up: false,
                inflight: VecDeque::new(),
                next_due: now,
                pace_armed: false,
                untracked: 0,
            })
            .collect();
        let progress = opts.progress.then(|| {
            let pb = indicatif::ProgressBar::new(0);
            pb.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg:40} [{elapsed_precise}] {pos} replies")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            pb
        });
        BenchClient {
            keys: KeyGen::new(opts.keyspace, opts.keys, opts.seed),
            value_header: format!("${}\r\n", opts.value_size).into_bytes(),
            value: vec![b'x'; opts.value_size],
            opts,
            phases,
            conns,
            stage: Stage::Connecting,
            stage_serial: 0,
            next_connect: 0,
            connecting: 0,
            connected: 0,
            failed: 0,
            connect_error: None,
            lost: 0,
            prefill_next: 0,
            prefill_done: 0,
            measure_start: now,
            client_cpu_start: Duration::ZERO,
            current: None,
            results: Vec::new(),
            idle_wait,
            server_idle: None,
            progress,
        }
    }

    fn status(&self, msg: String) {
        if let Some(pb) = &self.progress {
            pb.set_message(msg);
        }
    }

    fn open_more(&mut self, cx: &mut Core<Self>) {
        while self.connecting < CONNECT_WINDOW && self.next_connect < self.conns.len() {
            let idx = self.next_connect;
            self.next_connect += 1;
            match cx.connect(self.opts.addr, idx) {
                Ok(id) => {
                    self.conns[idx].id = Some(id);
                    self.connecting += 1;
                }
                Err(e) => {
                    self.failed += 1;
                    self.connect_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        if self.stage == Stage::Connecting && self.connecting == 0 && self.next_connect == self.conns.len() {
            self.all_connected(cx);
        }
    }

    fn all_connected(&mut self, cx: &mut Core<Self>) {
        if self.connected == 0 {
            self.finish(cx);
            return;
        }
        if let Some(quiet) = self.idle_wait {
            // Every connection has done its round trip (the handshake PING): now stay quiet.
            let serial = self.next_stage(Stage::Idle);
            self.status(format!("idle: {} connections quiet for {quiet:?}", self.connected));
            cx.set_timer(cx.now() + quiet, BenchTimer::StageEnd(serial));
            return;
        }
        if self.opts.prefill {
            self.stage = Stage::Prefill;
            self.status(format!("prefill: {} keys", self.opts.keyspace));
            for idx in 0..self.conns.len() {
                self.prefill_send(cx, idx);
            }
            self.check_prefill_done(cx);
            return;
        }
        self.start_phase(cx, 0);
    }

    fn prefill_send(&mut self, cx: &mut Core<Self>, idx: usize) {
        let (true, Some(id)) = (self.conns[idx].up, self.conns[idx].id) else { return };
        let Some(conn) = cx.conn_mut(id) else { return };
        let state = &mut self.conns[idx];
        while state.untracked < PREFILL_PIPELINE && self.prefill_next < self.opts.keyspace {
            workload::encode_set(conn.out.buf(), self.prefill_next, &self.value_header, &self.value);
            self.prefill_next += 1;
            state.untracked += 1;
        }
    }

    fn check_prefill_done(&mut self, cx: &mut Core<Self>) {
        if self.stage == Stage::Prefill && self.prefill_done >= self.opts.keyspace {
            self.start_phase(cx, 0);
        }
    }

    fn next_stage(&mut self, stage: Stage) -> u64 {
        self.stage = stage;
        self.stage_serial += 1;
        self.stage_serial
    }

    fn start_phase(&mut self, cx: &mut Core<Self>, index: usize) {
        let Some(spec) = self.phases.get(index).cloned() else {
            self.finish(cx);
            return;
        };
        self.status(format!("{} P={} C={}: warmup", spec.workload.name(), spec.pipeline, self.connected));
        let serial = self.next_stage(Stage::Warmup(index));
        let now = cx.now();
        let open: Vec<usize> = (0..self.conns.len()).filter(|&i| self.conns[i].up).collect();
        match spec.rate {
            None => {
                for &idx in &open {
                    self.send(cx, idx, spec.pipeline, None);
                }
            }
            Some(rate) => {
                // Spread the connections' schedules evenly over one interval, so C connections do not fire together.
                let per_conn = rate / open.len().max(1) as f64;
                let interval = Duration::from_secs_f64(1.0 / per_conn.max(1e-9));
                for (n, &idx) in open.iter().enumerate() {
                    self.conns[idx].next_due = now + interval.mul_f64(n as f64 / open.len() as f64);
                    self.pace(cx, idx, &spec, interval);
                }
            }
        }
        if spec.warmup.is_zero() {
            self.begin_measure(cx, index);
        } else {
            cx.set_timer(now + spec.warmup, BenchTimer::StageEnd(serial));
        }
    }

    fn begin_measure(&mut self, cx: &mut Core<Self>, index: usize) {
        let spec = self.phases[index].clone();
        let serial = self.next_stage(Stage::Measure(index));
        self.status(format!("{} P={} C={}: measuring", spec.workload.name(), spec.pipeline, self.connected));
        self.measure_start = Instant::now();
        self.client_cpu_start = system::self_cpu_time();
        if let Stop::Duration(d) = spec.stop {
            cx.set_timer(cx.now() + d, BenchTimer::StageEnd(serial));
        }
        if let (Some(pb), Stop::Requests(n)) = (&self.progress, spec.stop) {
            pb.set_length(n);
        }
        self.current = Some(PhaseResult {
            spec,
            latency: histogram(),
            lag: histogram(),
            completed: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            server_before: self.opts.server_pid.and_then(system::sample),
            server_after: None,
            client_cpu: Duration::ZERO,
        });
        if let Some(pb) = &self.progress {
            pb.set_position(0);
        }
    }

    fn end_measure(&mut self, cx: &mut Core<Self>, index: usize) {
        let serial = self.next_stage(Stage::Drain(index));
        if let Some(mut r) = self.current.take() {
            r.elapsed = self.measure_start.elapsed();
            r.server_after = self.opts.server_pid.and_then(system::sample);
            r.client_cpu = system::self_cpu_time().saturating_sub(self.client_cpu_start);
            self.results.push(r);
        }
        cx.set_timer(cx.now() + DRAIN_TIMEOUT, BenchTimer::StageEnd(serial));
        self.check_drained(cx);
    }

    fn check_drained(&mut self, cx: &mut Core<Self>) {
        let Stage::Drain(index) = self.stage else { return };
        if self.conns.iter().all(|c| !c.up || c.inflight.is_empty()) {
            self.start_phase(cx, index + 1);
        }
    }

    fn finish(&mut self, cx: &mut Core<Self>) {
        if self.stage == Stage::Done {
            return;
        }
        self.stage = Stage::Done;
        if let Some(pb) = &self.progress {
            pb.finish_and_clear();
        }
        cx.stop(self);
    }

    /// Sends `n` requests of the current workload on connection `idx`. `intended`: open-loop schedule time.
    fn send(&mut self, cx: &mut Core<Self>, idx: usize, n: usize, intended: Option<Instant>) {
        let workload = match self.stage {
            Stage::Warmup(i) | Stage::Measure(i) => self.phases[i].workload,
            _ => return,
        };
        let (true, Some(id)) = (self.conns[idx].up, self.conns[idx].id) else { return };
        let Some(conn) = cx.conn_mut(id) else { return };
        let now = Instant::now();
        if let (Some(t), Some(r)) = (intended, self.current.as_mut()) {
            record(&mut r.lag, now.saturating_duration_since(t));
        }
        let out = conn.out.buf();
        for _ in 0..n {
            encode(out, workload, &mut self.keys, &self.value_header, &self.value);
            self.conns[idx].inflight.push_back(intended.unwrap_or(now));
        }
    }

    /// Open loop: sends every request that is due and fits the window, then arms the timer for the next one.
    fn pace(&mut self, cx: &mut Core<Self>, idx: usize, spec: &PhaseSpec, interval: Duration) {
        let now = Instant::now();
        while self.conns[idx].up && self.conns[idx].next_due <= now && self.conns[idx].inflight.len() < spec.pipeline {
            let due = self.conns[idx].next_due;
            self.send(cx, idx, 1, Some(due));
            self.conns[idx].next_due = due + interval;
        }
        let c = &mut self.conns[idx];
        if c.up && !c.pace_armed && c.inflight.len() < spec.pipeline {
            c.pace_armed = true;
            cx.set_timer(c.next_due, BenchTimer::Pace(idx));
        }
    }

    fn interval(&self, spec: &PhaseSpec) -> Option<Duration> {
        let rate = spec.rate?;
        let per_conn = rate / self.connected.max(1) as f64;
        Some(Duration::from_secs_f64(1.0 / per_conn.max(1e-9)))
    }

    /// One reply arrived on `idx`.
    fn on_reply(&mut self, cx: &mut Core<Self>, idx: usize, is_error: bool, now: Instant) {
        match self.stage {
            Stage::Prefill => {
                self.conns[idx].untracked = self.conns[idx].untracked.saturating_sub(1);
                self.prefill_done += 1;
                self.prefill_send(cx, idx);
                self.check_prefill_done(cx);
                return;
            }
            Stage::Connecting => {
                // The handshake PING came back: the server really accepted this connection, unless it answered
                // with an error (`-ERR max number of clients reached`), which refuses it.
                self.conns[idx].untracked = self.conns[idx].untracked.saturating_sub(1);
                self.connecting = self.connecting.saturating_sub(1);
                if is_error {
                    self.failed += 1;
                    self.connect_error.get_or_insert_with(|| "the server refused a connection".into());
                    self.conns[idx].up = false;
                    if let Some(id) = self.conns[idx].id {
                        cx.close(id);
                    }
                } else {
                    self.connected += 1;
                }
                self.open_more(cx);
                return;
            }
            _ => {}
        }
        let Some(sent) = self.conns[idx].inflight.pop_front() else { return };
        if let (Stage::Measure(index), Some(r)) = (self.stage, self.current.as_mut()) {
            record(&mut r.latency, now.saturating_duration_since(sent));
            r.completed += 1;
            r.errors += is_error as u64;
            if let Stop::Requests(n) = r.spec.stop {
                if r.completed >= n {
                    self.end_measure(cx, index);
                }
            }
        }
    }

    /// After a batch of replies on `idx`: keep the window full (closed loop) or catch up with the schedule.
    fn refill(&mut self, cx: &mut Core<Self>, idx: usize, replies: usize) {
        match self.stage {
            Stage::Warmup(i) | Stage::Measure(i) => {
                let spec = self.phases[i].clone();
                match self.interval(&spec) {
                    None if replies > 0 => self.send(cx, idx, replies, None),
                    None => {}
                    Some(interval) => self.pace(cx, idx, &spec, interval),
                }
            }
            Stage::Drain(_) => self.check_drained(cx),
            _ => {}
        }
    }
}

fn encode(out: &mut BytesMut, workload: Workload, keys: &mut KeyGen, value_header: &[u8], value: &[u8]) {
    match workload {
        Workload::Get => workload::encode_get(out, keys.next_key()),
        Workload::Set => workload::encode_set(out, keys.next_key(), value_header, value),
        Workload::Ping => workload::encode_ping(out),
        Workload::Mixed { ratio } => {
            if keys.unit() < ratio {
                workload::encode_get(out, keys.next_key());
            } else {
                workload::encode_set(out, keys.next_key(), value_header, value);
            }
        }
    }
}

impl Protocol for BenchClient {
    type Session = usize;
    type Timer = BenchTimer;
    type Message = ();

    fn started(&mut self, cx: &mut Core<Self>) {
        self.status(format!("connecting {} to {}", self.conns.len(), self.opts.addr));
        if self.progress.is_some() {
            cx.set_timer(cx.now() + PROGRESS_INTERVAL, BenchTimer::Progress);
        }
        self.open_more(cx);
    }

    fn accept(&mut self, _listener: ListenerId) -> usize {
        usize::MAX // the generator listens on nothing
    }

    fn connected(&mut self, cx: &mut Core<Self>, id: ConnId, result: io::Result<()>) {
        let Some(idx) = cx.conn(id).map(|c| c.session) else { return };
        match result {
            Ok(()) => {
                // Connected is not accepted: the kernel completes handshakes into the listen backlog before the
                // server calls accept(2), and a backlog overflow silently drops them. A connection counts once a
                // PING has come back; until then it holds its place in the window of handshakes in flight.
                self.conns[idx].up = true;
                self.conns[idx].untracked += 1;
                if let Some(conn) = cx.conn_mut(id) {
                    workload::encode_ping(conn.out.buf());
                }
            }
            Err(e) => {
                self.connecting = self.connecting.saturating_sub(1);
                self.failed += 1;
                self.connect_error.get_or_insert_with(|| e.to_string());
                self.open_more(cx);
            }
        }
    }

    fn data(&mut self, cx: &mut Core<Self>, id: ConnId, input: &mut BytesMut) {
        let Some(idx) = cx.conn(id).map(|c| c.session) else { return };
        let now = cx.now();
        let mut replies = 0;
        // Replies to load requests only: a handshake or prefill reply that starts a phase must not also be
        // "replaced" by a load request, or the first connection would run one request deeper than asked.
        let mut load_replies = 0;
        loop {
            match workload::reply_len(input) {
                Ok(Some((len, is_error))) => {
                    input.advance(len);
                    replies += 1;
                    if matches!(self.stage, Stage::Warmup(_) | Stage::Measure(_)) {
                        load_replies += 1;
                    }
                    self.on_reply(cx, idx, is_error, now);
                }
                Ok(None) => break,
                Err(_) => {
                    self.connect_error.get_or_insert_with(|| "the server sent a malformed reply".into());
                    cx.close(id);
                    return;
                }
            }
        }
        if replies > 0 {
            self.refill(cx, idx, load_replies);
        }
    }

    fn timer(&mut self, cx: &mut Core<Self>, timer: BenchTimer) {
        match timer {
            BenchTimer::Pace(idx) => {
                self.conns[idx].pace_armed = false;
                if let Stage::Warmup(i) | Stage::Measure(i) = self.stage {
                    let spec = self.phases[i].clone();
                    if let Some(interval) = self.interval(&spec) {
                        self.pace(cx, idx, &spec, interval);
                    }
                }
            }
            BenchTimer::StageEnd(serial) if serial == self.stage_serial => match self.stage {
                Stage::Warmup(i) => self.begin_measure(cx, i),
                Stage::Measure(i) => self.end_measure(cx, i),
                Stage::Drain(i) => {
                    // Replies that never came: drop them and go on (the run reports the phase as measured).
                    for c in &mut self.conns {
                        c.inflight.clear();
                    }
                    self.start_phase(cx, i + 1);
                }
                Stage::Idle => {
                    self.server_idle = self.opts.server_pid.and_then(system::sample);
                    self.finish(cx);
                }
                _ => {}
            },
            BenchTimer::StageEnd(_) => {}
            BenchTimer::Progress => {
                if let (Some(pb), Some(r)) = (&self.progress, &self.current) {
                    pb.set_position(r.completed);
                }
                if let Some(pb) = &self.progress {
                    pb.tick();
                }
                if self.stage != Stage::Done {
                    cx.set_timer(cx.now() + PROGRESS_INTERVAL, BenchTimer::Progress);
                }
            }
        }
    }

    fn closed(&mut self, cx: &mut Core<Self>, _id: ConnId, idx: usize, reason: CloseReason) {
        if idx >= self.conns.len() || self.stage == Stage::Done {
            return;
        }
        let c = &mut self.conns[idx];
        if c.up {
            c.up = false;
            self.lost += 1;
            // Requests owed on a lost connection will never be answered.
            let owed = c.inflight.len() + c.untracked;
            c.inflight.clear();
            c.untracked = 0;
            if let Some(r) = self.current.as_mut() {
                r.errors += owed as u64;
            }
            match self.stage {
                Stage::Connecting if owed > 0 => {
                    // Closed before its handshake PING came back: a failed connect, not a lost connection.
                    self.lost -= 1;
                    self.failed += 1;
                    self.connecting = self.connecting.saturating_sub(1);
                    self.open_more(cx);
                }
                // Keys whose SET was lost are left unset; GETs of them miss, which the run survives.
                Stage::Prefill => self.prefill_done += owed as u64,
                _ => {}
            }
            self.connect_error.get_or_insert_with(|| format!("the server closed a connection ({reason:?})"));
            if self.stage != Stage::Connecting && self.conns.iter().all(|c| !c.up) {
                self.finish(cx);
                return;
            }
        }
        self.check_prefill_done(cx);
        self.check_drained(cx);
    }

    fn shutdown(&mut self, cx: &mut Core<Self>) {
        cx.close_all_after_flush();
    }
}

/// Opens `opts.connections` connections, then runs the phases in order over them. With `idle_wait`, runs the
/// idle-memory procedure instead: one round trip per connection, quiet for `idle_wait`, one server sample.
pub fn run(opts: ClientOptions, phases: Vec<PhaseSpec>, idle_wait: Option<Duration>) -> io::Result<RunResult> {
    let config = ReactorConfig {
        // Client connections do not time out while a phase is running, whatever the server's idle timeout.
        idle_timeout: None,
        connect_timeout: Duration::from_secs(30),
        shutdown_grace: Duration::from_secs(2),
        // Open-loop requests leave on schedule to the microsecond, not to epoll's millisecond; the generator has a
        // core of its own to spend on it.
        timer_spin: if phases.iter().any(|p| p.rate.is_some()) { OPEN_LOOP_TIMER_SPIN } else { Duration::ZERO },
        ..ReactorConfig::default()
    };
    let client = BenchClient::new(opts, phases, idle_wait);
    let mut reactor = Reactor::new(client, config)?;
    reactor.run()?;
    let client = reactor.into_protocol();
    Ok(RunResult {
        connected: client.connected,
        connect_error: client.connect_error,
        lost: client.lost,
        server_idle: client.server_idle,
        phases: client.results,
    })
}
