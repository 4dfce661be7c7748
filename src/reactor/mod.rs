//! The reactor: one thread, one `mio::Poll`, a `Slab` of connections, and a protocol plugged in through a trait.
//!
//! # One tick of the loop
//!
//! ```text
//!        +--> poll(timeout = time to the nearest timer, or 0 if work is queued)
//!        |      |
//!        |      v
//!        |   for each event:   listener -> accept until WouldBlock -> Protocol::accept / opened
//!        |                     waker    -> drain the channel -> Protocol::message / closures / shutdown
//!        |                     signal   -> graceful shutdown
//!        |                     conn     -> read until WouldBlock (within a budget) -> Protocol::data
//!        |                                 writable -> queue for the flush phase
//!        |   run queue:        connections with unread input or a resume request -> Protocol::data
//!        |   timers:           everything due -> Protocol::timer (and internal cron, retries, timeouts)
//!        |   before sleep:     Protocol::before_sleep
//!        |   flush:            every connection with output -> writev, capped per connection;
//!        |                     WRITABLE interest only where the socket buffer filled up
//!        |   reap:             remove closed connections from the slab -> Protocol::closed
//!        +------+
//! ```
//!
//! # Rules the loop keeps
//!
//! - **Protocols never touch sockets.** They consume input and append replies to [`Conn::out`]. All writes
//!   happen in the flush phase, once per tick, so a pipeline of a thousand commands costs one `writev`.
//! - **Edge-triggered readiness is always drained** (mio only offers edge triggering): reads continue until
//!   `WouldBlock` or a short read, accepts until `WouldBlock`. A connection that hits its per-event read budget is
//!   put on the run queue and finished next tick, so one busy client cannot starve the rest.
//! - **Backpressure:** a connection whose pending output passes the high watermark is not read (its requests
//!   wait in the kernel, which in turn slows the client) until output drains below the low watermark. A hard
//!   output limit closes it; a soft limit closes it when exceeded for too long.
//! - **Close late:** closing only marks a connection. It is removed from the slab after the whole batch, so an
//!   event for a closed connection is skipped and a reused slab key can never receive a stale event.
//! - **A connection's failure stays with that connection.** Only a failure of `epoll_wait` itself ends [`Reactor::run`].

mod conn;
mod handle;
mod timer;

pub use conn::{CloseReason, Conn, ConnId, OutputLimits};
pub use handle::{Handle, LoopFn, Stopped};
pub use timer::{TimerId, TimerQueue};

use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use crossbeam_channel::Receiver;
use mio::{Events, Interest, Poll, Registry, Token};
use slab::Slab;
use tracing::{debug, warn};

use crate::net::{self, Listener, PeerAddr, Stream};
use handle::{Envelope, WakeState};

/// Identifies one of the reactor's listeners.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListenerId(pub usize);

/// Token of the cross-thread waker. Special tokens sit at the top of the range, far above any slab key.
const WAKER_TOKEN: Token = Token(usize::MAX);
/// Token of the SIGINT/SIGTERM source.
const SIGNAL_TOKEN: Token = Token(usize::MAX - 1);
/// Listener `i` has token `LISTENER_TOKEN_BASE + i`.
const LISTENER_TOKEN_BASE: usize = usize::MAX - 1 - MAX_LISTENERS;
/// More listeners than any server needs; it bounds the special token range.
const MAX_LISTENERS: usize = 1024;

/// How long to wait before accepting again after `EMFILE`/`ENFILE`. Retrying sooner would spin, since the
/// pending connection keeps the listener readable; a freed descriptor (a closed connection) retries at once.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// How long a lingering close waits for the peer to close its side before closing anyway.
const LINGER: Duration = Duration::from_secs(2);

/// Lingering sockets have tokens `LINGER_TOKEN_BASE + k`, between the slab's keys and the listeners'.
const LINGER_TOKEN_BASE: usize = usize::MAX / 2;

/// Size of the read scratch buffer: the most one `read(2)` can return. Bytes are copied from it into the
/// connection's own input buffer, which is therefore only as large as the unconsumed input.
const READ_SCRATCH_BYTES: usize = 64 * 1024;

/// The cron visits every connection once per this many ticks (idle timeouts, soft output limits), a slice per
/// tick as Redis's `clientsCron` does, so 10,000 connections never cost one long pause.
const CRON_SLICES: usize = 10;

/// Tunables of the loop. The defaults suit a server; tests shrink them to reach limits quickly.
#[derive(Clone, Debug)]
pub struct Config {
    /// Events fetched per `epoll_wait`.
    pub events_capacity: usize,
    /// Most bytes read from one connection per readiness event before moving on (fairness).
    pub read_budget_bytes: usize,
    /// Most bytes written to one connection per tick before moving on (Redis: `NET_MAX_WRITES_PER_EVENT`, 64 KiB).
    pub write_budget_bytes: usize,
    /// Stop reading a connection whose pending output reaches this.
    pub high_watermark_bytes: usize,
    /// Resume reading once pending output drains to this.
    pub low_watermark_bytes: usize,
    /// Output limits given to every new connection (a protocol may change them per connection).
    pub output_limits: OutputLimits,
    /// Unconsumed input beyond this closes the connection. Protocols enforce their own, tighter limits.
    pub max_input_bytes: usize,
    /// Close connections silent for this long (Redis's `timeout`). `None`: never.
    pub idle_timeout: Option<Duration>,
    /// Give up on an outbound connect after this long.
    pub connect_timeout: Duration,
    /// After a shutdown request, how long to let connections drain before closing them anyway.
    pub shutdown_grace: Duration,
    /// Period of the internal cron (Redis's `hz 10` is 100 ms).
    pub cron_interval: Duration,
    /// Handle SIGINT and SIGTERM as a graceful shutdown. Off for reactors embedded in tests.
    pub handle_signals: bool,
    /// Busy-poll instead of sleeping when the nearest timer is closer than this. `epoll_wait` counts its timeout in
    /// whole milliseconds (mio rounds up), so a timer due in 100 us fires up to 1 ms late; a load generator that
    /// paces requests to the microsecond trades a core's idle time for that precision. Zero (the default): always
    /// sleep, as a server should.
    pub timer_spin: Duration,
    /// After the loop last had something to do, keep polling for events without sleeping for this long before
    /// going to sleep in `epoll_wait`. A loop that sleeps must be woken when data arrives, and on a virtual machine
    /// waking a halted vCPU is an inter-processor interrupt through the hypervisor, tens of microseconds; a loop
    /// that is still polling sees the data at its next poll. Under steady load the loop then never sleeps; idle,
    /// it costs this much spinning after each burst. The same trade as Linux's `net.core.busy_poll` and io_uring's
    /// `sq_thread_idle`. Zero (the default): sleep as soon as there is nothing to do. `Duration::MAX`: never sleep,
    /// for a load generator on a core of its own.
    pub busy_poll: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            events_capacity: 1024,
            read_budget_bytes: 256 * 1024,
            write_budget_bytes: 256 * 1024,
            high_watermark_bytes: 1024 * 1024,
            low_watermark_bytes: 256 * 1024,
            output_limits: OutputLimits { hard_bytes: 256 * 1024 * 1024, soft_bytes: 0, soft_millis: 0 },
            max_input_bytes: 1024 * 1024 * 1024 + 64 * 1024,
            idle_timeout: None,
            connect_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
            cron_interval: Duration::from_millis(100),
            handle_signals: false,
            timer_spin: Duration::ZERO,
            busy_poll: Duration::ZERO,
        }
    }
}

/// Counters for `INFO stats` and benchmarks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub connections_accepted: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub closed_output_limit: u64,
    pub accept_backoffs: u64,
}

/// A protocol served by the reactor. All callbacks run on the loop thread and must not block.
///
/// A protocol reads requests from the `input` it is handed in [`Protocol::data`], consuming (advancing past)
/// what it handled and leaving a partial request in place for the next call, and appends replies to
/// [`Conn::out`] through [`Core::conn_mut`]. It never reads or writes sockets itself.
pub trait Protocol: Sized + 'static {
    /// Per-connection state, stored in the slab next to the socket.
    type Session;
    /// Payload of the protocol's own timers.
    type Timer;
    /// Messages posted from other threads through a [`Handle`].
    type Message: Send + 'static;

    /// Called once when [`Reactor::run`] starts, e.g. to arm periodic timers.
    fn started(&mut self, _cx: &mut Core<Self>) {}

    /// A listener accepted a connection: create its session.
    fn accept(&mut self, listener: ListenerId) -> Self::Session;

    /// The connection is in the slab and registered. It may already be closed here (e.g. "max clients reached").
    fn opened(&mut self, _cx: &mut Core<Self>, _id: ConnId) {}

    /// New input arrived, or the connection was resumed. Consume complete requests from the front of `input`.
    /// Also called once when the peer has closed its side ([`Conn::peer_closed`]), to finish what is owed.
    fn data(&mut self, cx: &mut Core<Self>, id: ConnId, input: &mut BytesMut);

    /// An outbound connection from [`Core::connect`] finished connecting, or failed (it is then closed).
    fn connected(&mut self, _cx: &mut Core<Self>, _id: ConnId, _result: io::Result<()>) {}

    /// One of the protocol's timers fired.
    fn timer(&mut self, _cx: &mut Core<Self>, _timer: Self::Timer) {}

    /// A message posted through a [`Handle`].
    fn message(&mut self, _cx: &mut Core<Self>, _msg: Self::Message) {}

    /// Once per tick, after events and timers, before output is flushed (Redis's `beforeSleep`).
    fn before_sleep(&mut self, _cx: &mut Core<Self>) {}

    /// The connection has been removed from the slab; its id may be reused from now on.
    fn closed(&mut self, _cx: &mut Core<Self>, _id: ConnId, _session: Self::Session, _reason: CloseReason) {}

    /// A graceful shutdown began: listeners are already closed. The default closes every connection once its
    /// output is flushed; a protocol with calls in flight can drain them first. The reactor stops when no
    /// connection is left, or when [`Config::shutdown_grace`] runs out.
    fn shutdown(&mut self, cx: &mut Core<Self>) {
        cx.close_all_after_flush();
    }
}

/// Timer payloads: the protocol's, and the reactor's own.
enum Due<T> {
    User(T),
    Cron,
    AcceptRetry(ListenerId),
    ConnectTimeout(ConnId, u64),
    /// A lingering socket's time is up: slab key and the socket's serial.
    Linger(usize, u64),
    ShutdownDeadline,
}

struct ListenerSlot {
    listener: Listener,
    /// Accepting is suspended after `EMFILE`; a retry timer (or a freed descriptor) resumes it.
    backing_off: bool,
}

/// Everything the loop owns except the protocol. Protocol callbacks receive it as their context.
pub struct Core<P: Protocol> {
    conns: Slab<Conn<P::Session>>,
    timers: TimerQueue<Due<P::Timer>>,
    registry: Registry,
    listeners: Vec<Option<ListenerSlot>>,
    /// Connections with output to flush this tick.
    write_queue: Vec<ConnId>,
    /// Connections to read or hand to the protocol again without waiting for a new event.
    run_queue: Vec<ConnId>,
    /// Connections to remove after this batch.
    closing: Vec<(ConnId, CloseReason)>,
    /// Closed connections whose sockets are still draining the peer's input (lingering close), with the serial of
    /// the connection they belonged to.
    lingering: Slab<(Stream, u64)>,
    /// Time at the start of this tick. Protocols use it instead of calling the clock per request.
    now: Instant,
    /// Start of the last tick whose poll returned events: `Config::busy_poll` counts from here.
    last_busy: Instant,
    config: Config,
    next_serial: u64,
    handle: Handle<P>,
    /// Set once a graceful shutdown has begun.
    stopping: bool,
    /// The shutdown grace period ran out.
    stop_now: bool,
    /// An `EMFILE` warning was logged since the last successful accept.
    accept_error_logged: bool,
    /// Next slab slot the cron looks at.
    cron_cursor: usize,
    stats: Stats,
}

/// The event loop. Build it, add listeners, then [`Reactor::run`].
pub struct Reactor<P: Protocol> {
    poll: Poll,
    events: Events,
    proto: P,
    core: Core<P>,
    rx: Receiver<Envelope<P>>,
    wake: Arc<WakeState>,
    signals: Option<signal_hook_mio::v1_0::Signals>,
    scratch: Box<[u8]>,
}

impl<P: Protocol> Reactor<P> {
    pub fn new(proto: P, config: Config) -> io::Result<Self> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        let wake = Arc::new(WakeState { waker, pending: AtomicBool::new(false) });
        let (tx, rx) = crossbeam_channel::unbounded();
        let handle = Handle { tx, wake: wake.clone() };
        let signals = if config.handle_signals {
            let mut signals =
                signal_hook_mio::v1_0::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM])?;
            poll.registry().register(&mut signals, SIGNAL_TOKEN, Interest::READABLE)?;
            Some(signals)
        } else {
            None
        };
        let core = Core {
            conns: Slab::new(),
            timers: TimerQueue::new(),
            registry,
            listeners: Vec::new(),
            write_queue: Vec::new(),
            run_queue: Vec::new(),
            closing: Vec::new(),
            lingering: Slab::new(),
            now: Instant::now(),
            last_busy: Instant::now(),
            next_serial: 1,
            handle,
            stopping: false,
            stop_now: false,
            accept_error_logged: false,
            cron_cursor: 0,
            stats: Stats::default(),
            config,
        };
        Ok(Reactor {
            poll,
            events: Events::with_capacity(core.config.events_capacity),
            proto,
            core,
            rx,
            wake,
            signals,
            scratch: vec![0u8; READ_SCRATCH_BYTES].into_boxed_slice(),
        })
    }
}

impl<P: Protocol> Reactor<P> {
    /// Starts serving a listener with this reactor's protocol.
    pub fn listen(&mut self, mut listener: Listener) -> io::Result<ListenerId> {
        let index = self.core.listeners.len();
        if index >= MAX_LISTENERS {
            return Err(io::Error::other("too many listeners"));
        }
        self.core.registry.register(&mut listener, Token(LISTENER_TOKEN_BASE + index), Interest::READABLE)?;
        self.core.listeners.push(Some(ListenerSlot { listener, backing_off: false }));
        Ok(ListenerId(index))
    }

    /// A handle for other threads.
    pub fn handle(&self) -> Handle<P> {
        self.core.handle.clone()
    }

    pub fn protocol(&self) -> &P {
        &self.proto
    }

    pub fn protocol_mut(&mut self) -> &mut P {
        &mut self.proto
    }

    /// Gives the protocol back, e.g. to inspect its state after [`Reactor::run`] returned.
    pub fn into_protocol(self) -> P {
        self.proto
    }

    pub fn core(&self) -> &Core<P> {
        &self.core
    }

    pub fn core_mut(&mut self) -> &mut Core<P> {
        &mut self.core
    }

    /// The bound address of a TCP listener.
    pub fn local_addr(&self, id: ListenerId) -> Option<SocketAddr> {
        self.core.local_addr(id)
    }

    /// Runs until a graceful shutdown completes ([`Handle::shutdown`], SIGINT/SIGTERM, [`Core::stop`]).
    /// Only a failure of the poll itself is returned as an error.
    pub fn run(&mut self) -> io::Result<()> {
        self.core.now = Instant::now();
        let first_cron = self.core.now + self.core.config.cron_interval;
        self.core.timers.insert(first_cron, Due::Cron);
        self.proto.started(&mut self.core);
        while !self.core.finished() {
            self.turn()?;
        }
        self.core.close_everything(&mut self.proto);
        Ok(())
    }

    /// One tick: poll, dispatch events, run queued work, fire timers, flush, reap. Public for tests that step the
    /// loop by hand.
    pub fn turn(&mut self) -> io::Result<()> {
        let timeout = self.poll_timeout();
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if net::interrupted(&e) => {}
            Err(e) => return Err(e),
        }
        let core = &mut self.core;
        let proto = &mut self.proto;
        core.now = Instant::now();
        if !self.events.is_empty() {
            core.last_busy = core.now;
        }

        for event in self.events.iter() {
            let token = event.token();
            match token {
                WAKER_TOKEN => {
                    self.wake.pending.store(false, Ordering::Release);
                    for env in self.rx.try_iter() {
                        match env {
                            Envelope::Message(msg) => proto.message(core, msg),
                            Envelope::Call(f) => f(proto, core),
                            Envelope::Shutdown => core.begin_shutdown(proto),
                        }
                    }
                }
                SIGNAL_TOKEN => {
                    if let Some(signals) = self.signals.as_mut() {
                        if signals.pending().next().is_some() {
                            tracing::info!("signal received, shutting down");
                            core.begin_shutdown(proto);
                        }
                    }
                }
                Token(t) if t >= LISTENER_TOKEN_BASE => core.accept_all(proto, ListenerId(t - LISTENER_TOKEN_BASE)),
                Token(t) if t >= LINGER_TOKEN_BASE => core.linger_readable(t - LINGER_TOKEN_BASE, &mut self.scratch),
                Token(t) => {
                    let id = ConnId(t);
                    let Some(conn) = core.conns.get_mut(t) else { continue };
                    if conn.flags.closing {
                        continue;
                    }
                    if conn.flags.connecting {
                        core.finish_connect(proto, id);
                        continue;
                    }
                    if event.is_writable() {
                        core.queue_write(id);
                    }
                    if event.is_readable() || event.is_read_closed() || event.is_error() {
                        core.read_and_deliver(proto, id, &mut self.scratch, !event.is_read_closed());
                    }
                }
            }
        }

        // Work carried over from earlier ticks: budget-limited reads, resumed connections.
        for id in std::mem::take(&mut core.run_queue) {
            let Some(conn) = core.conns.get_mut(id.0) else { continue };
            conn.flags.run_queued = false;
            if conn.flags.read_ready {
                core.read_and_deliver(proto, id, &mut self.scratch, false);
            } else {
                core.deliver(proto, id);
            }
        }

        while let Some(due) = core.timers.pop_due(core.now) {
            match due {
                Due::User(t) => proto.timer(core, t),
                Due::Cron => core.cron(),
                Due::AcceptRetry(lid) => core.accept_all(proto, lid),
                Due::ConnectTimeout(id, serial) => core.connect_timed_out(proto, id, serial),
                Due::Linger(key, serial) => {
                    if core.lingering.get(key).is_some_and(|(_, s)| *s == serial) {
                        let (mut stream, _) = core.lingering.remove(key);
                        let _ = core.registry.deregister(&mut stream);
                    }
                }
                Due::ShutdownDeadline => core.stop_now = true,
            }
        }

        proto.before_sleep(core);
        core.flush_all();
        core.reap(proto);
        Ok(())
    }

    /// Whether `Config::busy_poll` says to poll without sleeping now.
    fn busy_polling(&self) -> bool {
        let budget = self.core.config.busy_poll;
        !budget.is_zero() && (budget == Duration::MAX || self.core.now.duration_since(self.core.last_busy) < budget)
    }

    /// How long the next poll may sleep: not at all if work is queued, else until the nearest timer.
    pub fn poll_timeout(&mut self) -> Option<Duration> {
        if self.busy_polling()
            || !self.core.run_queue.is_empty()
            || !self.core.write_queue.is_empty()
            || !self.core.closing.is_empty()
        {
            return Some(Duration::ZERO);
        }
        let deadline = self.core.timers.next_deadline()?;
        let wait = deadline.saturating_duration_since(Instant::now());
        // Sleep to within `timer_spin` of the deadline (rounded up to a millisecond by epoll), then poll without
        // sleeping until it passes.
        Some(wait.saturating_sub(self.core.config.timer_spin))
    }
}

impl<P: Protocol> Core<P> {
    /// Time at the start of the current tick.
    pub fn now(&self) -> Instant {
        self.now
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Changes the idle timeout for every connection, existing ones included (Redis's `CONFIG SET timeout`).
    pub fn set_idle_timeout(&mut self, timeout: Option<Duration>) {
        self.config.idle_timeout = timeout;
    }

    /// A handle for other threads.
    pub fn handle(&self) -> Handle<P> {
        self.handle.clone()
    }

    /// The bound address of a TCP listener.
    pub fn local_addr(&self, id: ListenerId) -> Option<SocketAddr> {
        self.listeners.get(id.0)?.as_ref()?.listener.local_addr()
    }

    /// Number of connections in the slab.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    pub fn conn(&self, id: ConnId) -> Option<&Conn<P::Session>> {
        self.conns.get(id.0)
    }

    /// Mutable access to a connection, to update its session or append to its output. The connection is queued
    /// for the flush phase, so whatever is appended goes out before the loop sleeps.
    pub fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn<P::Session>> {
        let conn = self.conns.get_mut(id.0)?;
        if !conn.flags.write_queued {
            conn.flags.write_queued = true;
            self.write_queue.push(id);
        }
        Some(conn)
    }

    /// All connections, in slab order.
    pub fn iter(&self) -> impl Iterator<Item = (ConnId, &Conn<P::Session>)> {
        self.conns.iter().map(|(k, c)| (ConnId(k), c))
    }

    /// Hands the connection to [`Protocol::data`] again this tick or the next, without new input: for a
    /// protocol that stopped consuming (a blocked client) and can now go on.
    pub fn resume(&mut self, id: ConnId) {
        if let Some(conn) = self.conns.get_mut(id.0) {
            if !conn.flags.run_queued && !conn.flags.closing {
                conn.flags.run_queued = true;
                self.run_queue.push(id);
            }
        }
    }

    /// Closes a connection now, dropping unsent output. It leaves the slab after this event batch.
    pub fn close(&mut self, id: ConnId) {
        self.close_with(id, CloseReason::Requested);
    }

    /// Stops reading from the connection, sends what is queued, then closes it (Redis's `CLOSE_AFTER_REPLY`).
    pub fn close_after_flush(&mut self, id: ConnId) {
        if let Some(conn) = self.conns.get_mut(id.0) {
            conn.flags.close_after_flush = true;
        }
        self.queue_write(id);
    }

    /// [`Core::close_after_flush`] for every connection.
    pub fn close_all_after_flush(&mut self) {
        let ids: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for k in ids {
            self.close_after_flush(ConnId(k));
        }
    }

    /// Arms a timer; [`Protocol::timer`] receives `payload` at `deadline`.
    pub fn set_timer(&mut self, deadline: Instant, payload: P::Timer) -> TimerId {
        self.timers.insert(deadline, Due::User(payload))
    }

    /// Disarms a timer, returning its payload if it had not fired yet.
    pub fn cancel_timer(&mut self, id: TimerId) -> Option<P::Timer> {
        match self.timers.cancel(id)? {
            Due::User(t) => Some(t),
            _ => None,
        }
    }

    /// Begins a graceful shutdown from the loop thread.
    pub fn stop(&mut self, proto: &mut P) {
        self.begin_shutdown(proto);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping
    }

    /// Opens an outbound TCP connection without blocking. [`Protocol::connected`] reports the outcome; output
    /// appended before then is sent once connected.
    pub fn connect(&mut self, addr: SocketAddr, session: P::Session) -> io::Result<ConnId> {
        let stream = net::connect_tcp(addr)?;
        let id = self.insert(stream, PeerAddr::Tcp(addr), None, session);
        let conn = &mut self.conns[id.0];
        conn.flags.connecting = true;
        conn.flags.writable_registered = true;
        if let Err(e) = self.registry.register(&mut conn.stream, Token(id.0), Interest::READABLE | Interest::WRITABLE) {
            self.conns.remove(id.0);
            return Err(e);
        }
        let serial = conn.serial;
        let deadline = self.now + self.config.connect_timeout;
        self.conns[id.0].connect_timer = Some(self.timers.insert(deadline, Due::ConnectTimeout(id, serial)));
        Ok(id)
    }

    fn insert(&mut self, stream: Stream, peer: PeerAddr, listener: Option<ListenerId>, session: P::Session) -> ConnId {
        let serial = self.next_serial;
        self.next_serial += 1;
        let key = self.conns.insert(Conn {
            stream,
            session,
            out: net::OutBuf::new(),
            input: BytesMut::new(),
            peer,
            listener,
            serial,
            created: self.now,
            last_active: self.now,
            limits: self.config.output_limits,
            soft_since: None,
            connect_timer: None,
            flags: Default::default(),
        });
        ConnId(key)
    }

    fn queue_write(&mut self, id: ConnId) {
        if let Some(conn) = self.conns.get_mut(id.0) {
            if !conn.flags.write_queued {
                conn.flags.write_queued = true;
                self.write_queue.push(id);
            }
        }
    }

    fn queue_run(&mut self, id: ConnId) {
        self.resume(id);
    }

    fn close_with(&mut self, id: ConnId, reason: CloseReason) {
        if let Some(conn) = self.conns.get_mut(id.0) {
            if !conn.flags.closing {
                conn.flags.closing = true;
                self.closing.push((id, reason));
            }
        }
    }

    fn is_paused(&self, conn: &Conn<P::Session>) -> bool {
        conn.out.len() >= self.config.high_watermark_bytes
    }

    fn accept_all(&mut self, proto: &mut P, lid: ListenerId) {
        loop {
            let Some(Some(slot)) = self.listeners.get_mut(lid.0) else { return };
            match slot.listener.accept() {
                Ok((stream, peer)) => {
                    slot.backing_off = false;
                    self.accept_error_logged = false;
                    self.stats.connections_accepted += 1;
                    let session = proto.accept(lid);
                    let id = self.insert(stream, peer, Some(lid), session);
                    let conn = &mut self.conns[id.0];
                    if let Err(e) = self.registry.register(&mut conn.stream, Token(id.0), Interest::READABLE) {
                        debug!(error = %e, "register failed; dropping connection");
                        let conn = self.conns.remove(id.0);
                        proto.closed(self, id, conn.session, CloseReason::Io(e.kind()));
                        continue;
                    }
                    proto.opened(self, id);
                }
                Err(e) if net::would_block(&e) => return,
                Err(e) if net::interrupted(&e) => continue,
                Err(e) => {
                    // EMFILE and friends, or anything unexpected: back off instead of spinning on a listener
                    // that stays readable. Existing connections keep being served meanwhile.
                    if !self.accept_error_logged {
                        warn!(error = %e, "accept failed; pausing accepts (existing clients are still served)");
                        self.accept_error_logged = true;
                    }
                    if !slot.backing_off {
                        slot.backing_off = true;
                        self.stats.accept_backoffs += 1;
                        self.timers.insert(self.now + ACCEPT_RETRY, Due::AcceptRetry(lid));
                    }
                    return;
                }
            }
        }
    }

    fn finish_connect(&mut self, proto: &mut P, id: ConnId) {
        let conn = &mut self.conns[id.0];
        let result = match net::finish_connect(&conn.stream) {
            Ok(false) => return,
            Ok(true) => Ok(()),
            Err(e) => Err(e),
        };
        conn.flags.connecting = false;
        if let Some(t) = conn.connect_timer.take() {
            self.timers.cancel(t);
        }
        match result {
            Ok(()) => {
                // Keep WRITABLE registered only if output is already waiting; the flush phase sorts it out.
                self.queue_write(id);
                proto.connected(self, id, Ok(()));
            }
            Err(e) => {
                let kind = e.kind();
                proto.connected(self, id, Err(e));
                self.close_with(id, CloseReason::Io(kind));
            }
        }
    }

    fn connect_timed_out(&mut self, proto: &mut P, id: ConnId, serial: u64) {
        match self.conns.get(id.0) {
            Some(conn) if conn.serial == serial && conn.flags.connecting && !conn.flags.closing => {}
            _ => return,
        }
        self.conns[id.0].flags.connecting = false;
        proto.connected(self, id, Err(io::ErrorKind::TimedOut.into()));
        self.close_with(id, CloseReason::ConnectFailed);
    }

    /// Reads what the socket has (within the budget), then hands the input to the protocol.
    ///
    /// `short_read_drains`: a short read may be taken to mean the socket is drained, saving the `read(2)` that
    /// would return `EAGAIN`. That holds for data (a later arrival raises a new edge) but not for a FIN that came
    /// in with the last data: the event then says "read closed", and we must read on until the 0 that reports it,
    /// or the close would never be seen.
    fn read_and_deliver(&mut self, proto: &mut P, id: ConnId, scratch: &mut [u8], short_read_drains: bool) {
        let paused = self.conns[id.0].flags.paused || self.is_paused(&self.conns[id.0]);
        let budget = self.config.read_budget_bytes;
        let conn = &mut self.conns[id.0];
        if conn.flags.close_after_flush || conn.flags.peer_closed {
            return;
        }
        if paused {
            // Backpressure: leave the bytes in the kernel. The flush phase resumes us below the low watermark.
            conn.flags.read_ready = true;
            conn.flags.paused = true;
            return;
        }
        let mut total = 0;
        conn.flags.read_ready = false;
        loop {
            match conn.stream.read(scratch) {
                Ok(0) => {
                    conn.flags.peer_closed = true;
                    break;
                }
                Ok(n) => {
                    conn.input.extend_from_slice(&scratch[..n]);
                    total += n;
                    if short_read_drains && n < scratch.len() {
                        break;
                    }
                    if total >= budget {
                        conn.flags.read_ready = true;
                        break;
                    }
                }
                Err(e) if net::would_block(&e) => break,
                Err(e) if net::interrupted(&e) => continue,
                Err(e) => {
                    debug!(conn = id.0, error = %e, "read failed");
                    self.close_with(id, CloseReason::Io(e.kind()));
                    return;
                }
            }
        }
        if total > 0 {
            conn.last_active = self.now;
            self.stats.bytes_read += total as u64;
        }
        if conn.input.len() > self.config.max_input_bytes {
            self.close_with(id, CloseReason::InputLimit);
            return;
        }
        if conn.flags.read_ready {
            self.queue_run(id);
        }
        self.deliver(proto, id);
    }

    /// Hands buffered input to the protocol, then applies backpressure and half-close rules.
    fn deliver(&mut self, proto: &mut P, id: ConnId) {
        let Some(conn) = self.conns.get_mut(id.0) else { return };
        if conn.flags.closing {
            return;
        }
        if !conn.input.is_empty() || conn.flags.peer_closed {
            let mut input = std::mem::take(&mut conn.input);
            proto.data(self, id, &mut input);
            let Some(conn) = self.conns.get_mut(id.0) else { return };
            // An empty buffer is dropped, not kept: idle connections should cost no input memory.
            if !input.is_empty() {
                conn.input = input;
            }
        }
        let paused = self.is_paused(&self.conns[id.0]);
        let conn = &mut self.conns[id.0];
        if paused {
            conn.flags.read_ready = true;
            conn.flags.paused = true;
        }
        if conn.flags.peer_closed && !conn.flags.closing && !conn.flags.close_after_flush {
            // Half-close: the peer sent everything it will send. Finish the replies owed, then close, unless
            // backpressure is holding requests back, in which case the flush phase will resume us.
            if !paused || conn.input.is_empty() {
                self.close_after_flush(id);
            }
        }
    }

    /// The flush phase: write every queued connection's output, capped per connection.
    fn flush_all(&mut self) {
        let queue = std::mem::take(&mut self.write_queue);
        for id in queue {
            let Some(conn) = self.conns.get_mut(id.0) else { continue };
            conn.flags.write_queued = false;
            if conn.flags.closing || conn.flags.connecting {
                continue;
            }
            let pending = conn.out.len();
            if conn.limits.exceeded(pending, &mut conn.soft_since, self.now) {
                debug!(conn = id.0, pending, "output limit reached; closing");
                self.stats.closed_output_limit += 1;
                self.close_with(id, CloseReason::OutputLimit);
                continue;
            }
            let conn = &mut self.conns[id.0];
            if pending > 0 {
                match conn.out.write_to(&mut conn.stream, self.config.write_budget_bytes) {
                    Err(e) => {
                        debug!(conn = id.0, error = %e, "write failed");
                        self.close_with(id, CloseReason::Io(e.kind()));
                        continue;
                    }
                    Ok(outcome) => {
                        self.stats.bytes_written += outcome.written as u64;
                        if outcome.blocked {
                            if !conn.flags.writable_registered {
                                conn.flags.writable_registered = true;
                                let interest = Interest::READABLE | Interest::WRITABLE;
                                if let Err(e) = self.registry.reregister(&mut conn.stream, Token(id.0), interest) {
                                    self.close_with(id, CloseReason::Io(e.kind()));
                                    continue;
                                }
                            }
                        } else if !conn.out.is_empty() {
                            // Budget spent: continue next tick, after everyone else had a turn.
                            conn.flags.write_queued = true;
                            self.write_queue.push(id);
                        }
                    }
                }
            }
            let conn = &mut self.conns[id.0];
            if conn.out.is_empty() {
                conn.soft_since = None;
                if conn.flags.writable_registered {
                    conn.flags.writable_registered = false;
                    if let Err(e) = self.registry.reregister(&mut conn.stream, Token(id.0), Interest::READABLE) {
                        self.close_with(id, CloseReason::Io(e.kind()));
                        continue;
                    }
                }
                if conn.flags.close_after_flush {
                    let reason = if conn.flags.peer_closed { CloseReason::PeerClosed } else { CloseReason::Requested };
                    self.close_with(id, reason);
                    continue;
                }
            }
            if conn.flags.paused && conn.out.len() <= self.config.low_watermark_bytes {
                // Backpressure released: read what waited in the kernel and run what waited in the buffer.
                conn.flags.paused = false;
                self.queue_run(id);
            }
        }
    }

    /// Periodic housekeeping over a slice of the slab: idle timeouts and soft output limits of connections that
    /// have gone quiet.
    fn cron(&mut self) {
        let capacity = self.conns.capacity();
        let slice = capacity / CRON_SLICES + 1;
        for _ in 0..slice.min(capacity) {
            let key = self.cron_cursor % capacity.max(1);
            self.cron_cursor = key + 1;
            let Some(conn) = self.conns.get_mut(key) else { continue };
            if conn.flags.closing || conn.flags.connecting {
                continue;
            }
            if let Some(timeout) = self.config.idle_timeout {
                if !conn.flags.idle_exempt && self.now.duration_since(conn.last_active) > timeout {
                    debug!(conn = key, "idle timeout");
                    self.close_with(ConnId(key), CloseReason::Idle);
                    continue;
                }
            }
            if conn.limits.soft_bytes != 0 && conn.limits.soft_expired(conn.out.len(), &mut conn.soft_since, self.now) {
                self.stats.closed_output_limit += 1;
                self.close_with(ConnId(key), CloseReason::OutputLimit);
            }
        }
        self.timers.insert(self.now + self.config.cron_interval, Due::Cron);
    }

    /// Removes closed connections from the slab, after the batch, so no stale event can reach a reused key.
    fn reap(&mut self, proto: &mut P) {
        let mut freed = false;
        while !self.closing.is_empty() {
            for (id, reason) in std::mem::take(&mut self.closing) {
                let mut conn = self.conns.remove(id.0);
                debug!(conn = id.0, ?reason, "closed");
                freed = true;
                if reason == CloseReason::Requested && !conn.flags.peer_closed && !self.stopping {
                    self.linger(conn.stream, conn.serial);
                } else {
                    let _ = self.registry.deregister(&mut conn.stream);
                }
                proto.closed(self, id, conn.session, reason);
            }
        }
        if freed {
            // A descriptor was freed: if accepting was suspended for lack of descriptors, try again now.
            for index in 0..self.listeners.len() {
                if matches!(&self.listeners[index], Some(slot) if slot.backing_off) {
                    self.accept_all(proto, ListenerId(index));
                }
            }
        }
    }

    /// Lingering close (nginx's `lingering_close`). Closing a socket whose peer is still sending makes the kernel
    /// answer with RST, and an RST can destroy the last reply (a protocol error, `-ERR max number of clients
    /// reached`) before the peer reads it. So the connection is closed for the protocol at once, but its socket
    /// sends FIN, discards what still arrives until the peer closes too, and is dropped after [`LINGER`] at most.
    fn linger(&mut self, mut stream: Stream, serial: u64) {
        if stream.shutdown(std::net::Shutdown::Write).is_err() {
            let _ = self.registry.deregister(&mut stream);
            return;
        }
        let key = self.lingering.vacant_key();
        if self.registry.reregister(&mut stream, Token(LINGER_TOKEN_BASE + key), Interest::READABLE).is_err() {
            let _ = self.registry.deregister(&mut stream);
            return;
        }
        self.lingering.insert((stream, serial));
        self.timers.insert(self.now + LINGER, Due::Linger(key, serial));
    }

    /// Drains a lingering socket; drops it at EOF or on error.
    fn linger_readable(&mut self, key: usize, scratch: &mut [u8]) {
        let Some((stream, _)) = self.lingering.get_mut(key) else { return };
        loop {
            match stream.read(scratch) {
                Ok(n) if n > 0 => continue,
                Err(e) if net::interrupted(&e) => continue,
                Err(e) if net::would_block(&e) => return,
                _ => break,
            }
        }
        let (mut stream, _) = self.lingering.remove(key);
        let _ = self.registry.deregister(&mut stream);
    }

    fn begin_shutdown(&mut self, proto: &mut P) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        for slot in self.listeners.iter_mut() {
            if let Some(mut slot) = slot.take() {
                let _ = self.registry.deregister(&mut slot.listener);
            }
        }
        self.timers.insert(self.now + self.config.shutdown_grace, Due::ShutdownDeadline);
        proto.shutdown(self);
    }

    fn finished(&self) -> bool {
        self.stop_now || (self.stopping && self.conns.is_empty())
    }

    fn close_everything(&mut self, proto: &mut P) {
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for k in keys {
            self.close_with(ConnId(k), CloseReason::Shutdown);
        }
        self.flush_all();
        self.reap(proto);
    }
}
