//! The baseline I/O model: one OS thread per connection, blocking `std::net` sockets, and the very same
//! [`Engine`] the reactor drives, behind one `Mutex`.
//!
//! This is the design the reactor is measured against (`plexus server --io threads`, `plexus bench compare`), so
//! it is kept deliberately naive and honest: no thread pool, no sharding of the store, no lock-free tricks. Only
//! the I/O model differs from [`super::server`]: the RESP decoder, the command table, the store, the limits and
//! the replies are shared code.
//!
//! ```text
//!  accept thread (one per listener) --accept--> maxclients check --spawn (64 KiB stack)--> connection thread
//!
//!  connection thread:
//!    read(2) blocks --> BytesMut --> resp::Decoder --+
//!    lock(engine) ----------------------------------+--> Engine::execute per complete command --> local OutBuf
//!                                                    \-> effects: bytes for other clients go to *their* queue
//!    unlock(engine) --> flush own queue (writev, blocking) --> flush the queues of clients it sent to
//!
//!  cron thread (the caller of `run`): every 100 ms, lock(engine) --> active expiry, rehash, stats
//! ```
//!
//! # Locking
//!
//! The engine lock is taken once per *batch*: every complete command that one `read(2)` made available runs under
//! a single acquisition. Unpipelined clients therefore lock once per command; a pipeline of P commands locks once
//! per read instead of P times. That is the friendlier of the two naive choices (per command would add P-1 lock
//! round trips, each a chance to bounce the cache line between cores), and it mirrors the reactor, which also
//! runs every complete command in the buffer before moving on. A batch is bounded by what one read returns
//! ([`READ_CHUNK_BYTES`]), so no client holds the lock for long.
//!
//! Lock order, always: engine, then the registry, then one client's `out` queue, then its `limits`; (after the
//! engine lock is released) one client's write lock, then its `out` queue. Nothing ever waits for a socket while
//! holding the engine lock.
//!
//! # Reaching other clients
//!
//! Pub/Sub messages, `MONITOR` lines and unblocked replies are [`Effect::Send`]s to another client. Each client
//! has a [`Peer`] in a registry: an output queue and the write half of its socket. Under the engine lock, bytes
//! are only *appended* to the target's queue, so every client sees its output in the order the engine produced
//! it (a message can never overtake the `SUBSCRIBE` confirmation before it). After the lock is released, whoever
//! appended drains the queue into the socket while holding the target's write lock. Writing to another client's
//! socket while holding the engine lock would let one slow subscriber stall the whole server; writing without a
//! queue could reorder replies. A slow subscriber still stalls the *publishing* thread (blocking `write`), which
//! is the classic cost of this model. A subscriber's queue is bounded by `client-output-buffer-limit pubsub`:
//! past the hard limit, or past the soft limit for its time, it is disconnected, as in Redis. As in Redis the
//! limits are checked when a message is queued; the reactor also checks quiet connections from its cron.
//!
//! # Blocking commands
//!
//! `BLPOP` and friends park a client ([`Effect::Block`]): its thread stops running input and waits on a condition
//! variable, with the command's timeout. Whichever thread serves the key queues the reply and signals
//! [`Effect::Unblock`]; on timeout the parked thread itself asks the engine for the null reply. Either way the
//! commands pipelined behind the blocking one then run, before the next read.
//!
//! # Stack size
//!
//! Each connection thread gets [`CONN_STACK_BYTES`] (64 KiB) of stack instead of Rust's 2 MiB default. The deepest
//! path is decode, dispatch, handler, reply encoding: a dozen frames of a few hundred bytes, no recursion on
//! peer-controlled depth (RESP requests are flat arrays; `SORT`-like recursion does not exist here), and every
//! large buffer lives on the heap. 64 KiB leaves an order of magnitude of headroom, while 10,000 connections
//! reserve 640 MiB of address space rather than 20 GiB; only the touched pages (a few KiB) count towards RSS.
//!
//! What runs out first is not memory but memory *mappings*: each thread costs [`MAPS_PER_THREAD`] of the
//! `vm.max_map_count` (65,530) allowed per process, so about 15,900 connections fit. Past that budget a new client
//! gets `-ERR max number of clients reached`, as past `maxclients`, because Rust's runtime would abort the whole
//! process on a thread whose signal stack it cannot map. The reactor holds 19,000 and more on one thread.
//!
//! Simplifications against the reactor: no read budget or output watermarks (a blocking `write` is the
//! backpressure), and the idle timeout is a socket read timeout.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use smallvec::SmallVec;
use socket2::{Domain, Protocol, Socket, Type};

use super::clock::Clock;
use super::config::Config;
use super::exec::{is_client_command, Effect, Engine, IoStats};
use super::resp::{Decoder, Encoder, Limits, Resp};
use super::server::{pubsub_output_limits, CRON_INTERVAL};
use crate::net::{OutBuf, OutShape};
use crate::reactor::OutputLimits;

/// Stack of each connection thread. See the module doc for why 64 KiB is enough.
pub const CONN_STACK_BYTES: usize = 64 * 1024;

/// Memory mappings one connection thread costs: its stack and the stack's guard page, plus the alternate signal
/// stack Rust's runtime installs for stack-overflow reports and its guard page. Linux caps mappings per process at
/// `vm.max_map_count` (65,530 by default), so this, not memory, is what stops thread-per-connection near 16,000.
const MAPS_PER_THREAD: usize = 4;

/// Mappings left for everything else: the binary, libraries, malloc arenas, the keyspace's large allocations.
const MAP_RESERVE: usize = 2048;

/// `vm.max_map_count` when `/proc` cannot tell (the kernel's default).
const DEFAULT_MAX_MAP_COUNT: usize = 65_530;

/// Bytes asked of `read(2)` at a time, which also bounds one locked batch of pipelined commands.
pub const READ_CHUNK_BYTES: usize = 16 * 1024;

/// Active-expiry rounds and rehash steps per cron run: the same work per tick as the reactor's cron
/// (`server.rs`), so both models keep the store in the same shape.
const EXPIRE_ROUNDS_PER_CRON: usize = 16;
const REHASH_STEPS_PER_CRON: usize = 100;

/// How long a lingering close waits for the peer to close its side (the reactor's `LINGER`).
const LINGER: Duration = Duration::from_secs(2);

/// How often a thread parked by a blocking command checks whether its client hung up.
const BLOCKED_LIVENESS_CHECK: Duration = Duration::from_millis(50);

/// After `EMFILE`, wait this long before accepting again, as the reactor does (retrying at once would spin).
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// After a shutdown request, how long connections may take to finish before their sockets are shut down hard
/// (the reactor's `shutdown_grace`).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A connected socket, TCP or Unix-domain, in blocking mode.
#[derive(Debug)]
enum Sock {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Sock {
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Sock::Tcp(s) => s.shutdown(how),
            Sock::Unix(s) => s.shutdown(how),
        }
    }

    /// Whether the peer has closed its side: a peek that neither blocks nor consumes (`MSG_PEEK | MSG_DONTWAIT`,
    /// so the socket stays in blocking mode for the threads that write to it). Pending data or "nothing yet"
    /// both mean the client is still there.
    fn hung_up(&self) -> bool {
        let mut byte = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        let flags = libc::MSG_PEEK | libc::MSG_DONTWAIT;
        let result = match self {
            Sock::Tcp(s) => socket2::SockRef::from(s).recv_with_flags(&mut byte, flags),
            Sock::Unix(s) => socket2::SockRef::from(s).recv_with_flags(&mut byte, flags),
        };
        matches!(result, Ok(0))
    }

    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Sock::Tcp(s) => s.set_read_timeout(t),
            Sock::Unix(s) => s.set_read_timeout(t),
        }
    }
}

// Reading and writing through a shared reference, as `&TcpStream` allows: one descriptor per connection, read
// by its own thread while other threads write to it (under the peer's write lock) or shut it down.
impl Read for &Sock {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => (&*s).read(buf),
            Sock::Unix(s) => (&*s).read(buf),
        }
    }
}

impl Write for &Sock {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => (&*s).write(buf),
            Sock::Unix(s) => (&*s).write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => (&*s).write_vectored(bufs),
            Sock::Unix(s) => (&*s).write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One client as other threads can reach it.
#[derive(Debug)]
struct Peer {
    /// Bytes owed to the client, appended (under the engine lock) in the order the engine produced them.
    out: Mutex<OutBuf>,
    /// The connection's one descriptor: read by the owning thread, written under `writing`, shut down by any
    /// thread (`CLIENT KILL`, server shutdown). Cloning it per role would triple the descriptors per connection,
    /// and 10,000 connections would then need 30,000.
    sock: Sock,
    /// Holding this lock is the right to drain `out` into the socket.
    writing: Mutex<()>,
    /// Set by `CLIENT KILL`: the owning thread runs no further commands, flushes and closes.
    killed: AtomicBool,
    /// Parked by a blocking command (`BLPOP`...): the owning thread waits on `wake` instead of reading.
    block: Mutex<BlockState>,
    /// Signalled on unblock, kill and shutdown.
    wake: Condvar,
    /// Subscribed to Pub/Sub: no idle timeout (Redis never times out a subscriber).
    idle_exempt: AtomicBool,
    /// Pub/Sub output limits (unlimited for other clients), checked when a message is queued, and when output
    /// first went over the soft limit.
    limits: Mutex<(OutputLimits, Option<Instant>)>,
}

/// Whether a client waits for a blocking command, and until when.
#[derive(Debug, Default)]
struct BlockState {
    blocked: bool,
    /// `None`: no timeout (`BLPOP q 0`).
    deadline: Option<Instant>,
}

impl Peer {
    fn new(sock: Sock) -> Peer {
        Peer {
            out: Mutex::new(OutBuf::new()),
            sock,
            writing: Mutex::new(()),
            killed: AtomicBool::new(false),
            block: Mutex::new(BlockState::default()),
            wake: Condvar::new(),
            idle_exempt: AtomicBool::new(false),
            limits: Mutex::new((OutputLimits::UNLIMITED, None)),
        }
    }

    /// Wakes the owning thread if it waits for an unblock.
    fn notify(&self) {
        let _guard = lock(&self.block);
        self.wake.notify_all();
    }

    /// Drains the queue into the socket. Whoever holds the write lock writes, in queue order, until the queue is
    /// empty, so bytes appended meanwhile by other threads go out too, after the earlier ones.
    fn flush(&self, bytes_out: &AtomicU64) -> io::Result<()> {
        let _writing = lock(&self.writing);
        let mut sock = &self.sock;
        loop {
            let mut pending = std::mem::take(&mut *lock(&self.out));
            if pending.is_empty() {
                return Ok(());
            }
            // A blocking socket writes everything (or fails): `write_to` only stops early on `WouldBlock`.
            let outcome = pending.write_to(&mut sock, usize::MAX)?;
            bytes_out.fetch_add(outcome.written as u64, Ordering::Relaxed);
        }
    }
}

/// The engine and what is derived from its configuration, guarded together.
struct State {
    engine: Engine,
    limits: Limits,
}

/// Everything the threads share.
struct Shared {
    state: Mutex<State>,
    /// Engine client key -> peer. Entries are added before a connection's thread starts and removed when it ends.
    peers: Mutex<HashMap<usize, Arc<Peer>>>,
    /// The idle timeout in milliseconds (0: none), read by connection threads before each `read`.
    idle_ms: AtomicU64,
    /// A shutdown has begun: accept nothing, run nothing more.
    stopping: AtomicBool,
    /// Wakes the cron thread early when a shutdown begins.
    stop_signal: (Mutex<bool>, Condvar),
    /// Connection threads alive; `run` waits for zero before returning.
    live: (Mutex<usize>, Condvar),
    /// Set by SIGINT/SIGTERM when the server handles signals.
    signalled: Arc<AtomicBool>,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    /// Where to connect to wake each blocked `accept(2)` on shutdown.
    wake: Vec<WakeAddr>,
    /// Threads that could not be spawned (the connection was closed instead).
    spawn_failures: AtomicUsize,
    /// Most connection threads this process can map (see [`thread_budget`]).
    thread_budget: usize,
}

#[derive(Clone, Debug)]
enum WakeAddr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

enum AnyListener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// The thread-per-connection server, bound and ready to [`ThreadsServer::run`].
pub struct ThreadsServer {
    shared: Arc<Shared>,
    listeners: Vec<AnyListener>,
    addrs: Vec<SocketAddr>,
}

/// Stops a running [`ThreadsServer`] from another thread.
#[derive(Clone)]
pub struct ThreadsHandle {
    shared: Arc<Shared>,
}

impl ThreadsHandle {
    /// Begins a graceful shutdown: listeners stop, connections finish their current batch and close.
    pub fn shutdown(&self) {
        begin_shutdown(&self.shared);
    }
}

/// Locks a mutex, ignoring poisoning: a panicking connection thread must not take the whole server down, and
/// every critical section here leaves the data consistent between commands.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Decoder limits from `proto-max-bulk-len` and `client-query-buffer-limit` (as `KvServer` computes them).
fn decoder_limits(config: &Config) -> Limits {
    let clamp = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    Limits {
        max_bulk_len: clamp(config.proto_max_bulk_len()),
        max_query_buffer: clamp(config.client_query_buffer_limit()),
        ..Limits::default()
    }
}

fn idle_ms(config: &Config) -> u64 {
    config.idle_timeout().map_or(0, |d| d.as_millis().max(1) as u64)
}

impl ThreadsServer {
    /// Binds the listeners the configuration names (`bind` x `port`, `unixsocket`). `ephemeral`: bind only this
    /// address on a free port instead (tests). `handle_signals`: SIGINT/SIGTERM begin a graceful shutdown.
    pub fn bind(
        config: &Config,
        clock: Arc<dyn Clock>,
        ephemeral: Option<std::net::IpAddr>,
        handle_signals: bool,
    ) -> io::Result<ThreadsServer> {
        let binds: Vec<SocketAddr> = match ephemeral {
            Some(ip) => vec![SocketAddr::new(ip, 0)],
            None if config.port() == 0 => Vec::new(),
            None => config
                .bind()
                .iter()
                .map(|b| {
                    let ip: std::net::IpAddr = b.trim_start_matches('-').parse().map_err(|_| {
                        io::Error::new(io::ErrorKind::InvalidInput, format!("invalid bind address '{b}'"))
                    })?;
                    Ok(SocketAddr::new(ip, config.port()))
                })
                .collect::<io::Result<_>>()?,
        };
        let mut listeners = Vec::new();
        let mut addrs = Vec::new();
        let mut wake = Vec::new();
        for addr in binds {
            // The same socket options as `net::bind_tcp`, but left blocking.
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
            socket.set_reuse_address(true)?;
            if addr.is_ipv6() {
                socket.set_only_v6(true)?;
            }
            socket.bind(&addr.into())?;
            socket.listen(config.tcp_backlog() as i32)?;
            let l: TcpListener = socket.into();
            let bound = l.local_addr()?;
            addrs.push(bound);
            let mut reach = bound;
            if reach.ip().is_unspecified() {
                reach.set_ip(if reach.is_ipv6() { [0u16, 0, 0, 0, 0, 0, 0, 1].into() } else { [127, 0, 0, 1].into() });
            }
            wake.push(WakeAddr::Tcp(reach));
            listeners.push(AnyListener::Tcp(l));
        }
        if let Some(path) = config.unixsocket() {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            listeners.push(AnyListener::Unix(UnixListener::bind(&path)?));
            wake.push(WakeAddr::Unix(path));
        }
        let signalled = Arc::new(AtomicBool::new(false));
        if handle_signals {
            signal_hook::flag::register(signal_hook::consts::SIGINT, signalled.clone())?;
            signal_hook::flag::register(signal_hook::consts::SIGTERM, signalled.clone())?;
        }
        let engine = Engine::new(config.clone(), clock);
        let shared = Arc::new(Shared {
            state: Mutex::new(State { limits: decoder_limits(&engine.config), engine }),
            peers: Mutex::new(HashMap::new()),
            idle_ms: AtomicU64::new(idle_ms(config)),
            stopping: AtomicBool::new(false),
            stop_signal: (Mutex::new(false), Condvar::new()),
            live: (Mutex::new(0), Condvar::new()),
            signalled,
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            wake,
            spawn_failures: AtomicUsize::new(0),
            thread_budget: thread_budget(),
        });
        Ok(ThreadsServer { shared, listeners, addrs })
    }

    /// The bound TCP addresses, with real ports.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    pub fn handle(&self) -> ThreadsHandle {
        ThreadsHandle { shared: self.shared.clone() }
    }

    /// Serves until a shutdown (`SHUTDOWN`, a signal, [`ThreadsHandle::shutdown`]), then waits for every
    /// connection thread. The calling thread runs the cron.
    pub fn run(self) -> io::Result<()> {
        let mut acceptors = Vec::new();
        for listener in self.listeners {
            let shared = self.shared.clone();
            acceptors.push(thread::Builder::new().name("accept".into()).spawn(move || accept_loop(shared, listener))?);
        }
        let shared = &self.shared;
        loop {
            {
                let (m, cv) = &shared.stop_signal;
                let stopped = lock(m);
                if !*stopped {
                    let _ = cv.wait_timeout(stopped, CRON_INTERVAL).unwrap_or_else(|p| p.into_inner());
                }
            }
            if shared.signalled.load(Ordering::Relaxed) {
                tracing::info!("signal received, shutting down");
                begin_shutdown(shared);
            }
            if shared.stopping.load(Ordering::Acquire) {
                break;
            }
            cron(shared);
        }
        for a in acceptors {
            let _ = a.join();
        }
        // Connections were asked to finish (their read side is shut). Give them the grace period, then cut them.
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        let (m, cv) = &shared.live;
        let mut live = lock(m);
        while *live > 0 {
            let now = Instant::now();
            if now >= deadline {
                for peer in lock(&shared.peers).values() {
                    let _ = peer.sock.shutdown(Shutdown::Both);
                }
            }
            let wait = deadline.saturating_duration_since(now).max(Duration::from_millis(10));
            live = cv.wait_timeout(live, wait).unwrap_or_else(|p| p.into_inner()).0;
        }
        Ok(())
    }
}

/// Redis's `serverCron` work, as in the reactor: active expiry, incremental rehash, byte counters.
fn cron(shared: &Shared) {
    let mut st = lock(&shared.state);
    let now_ms = st.engine.clock.now_ms();
    for db in st.engine.dbs.iter_mut() {
        if db.expires_len() > 0 {
            db.active_expire_cycle(now_ms, EXPIRE_ROUNDS_PER_CRON);
        }
        db.rehash_steps(REHASH_STEPS_PER_CRON);
    }
    st.engine.reap_expired();
    st.engine.stats.net_input_bytes = shared.bytes_in.load(Ordering::Relaxed);
    st.engine.stats.net_output_bytes = shared.bytes_out.load(Ordering::Relaxed);
    // Expiry can produce effects (keyspace notifications once Pub/Sub lands); deliver them like any others.
    let effects = std::mem::take(&mut st.engine.effects);
    let mut touched = Vec::new();
    let after = apply_effects(shared, &st, effects, usize::MAX, &mut touched);
    drop(st);
    finish_effects(shared, touched, after);
}

fn begin_shutdown(shared: &Shared) {
    if shared.stopping.swap(true, Ordering::AcqRel) {
        return;
    }
    {
        let (m, cv) = &shared.stop_signal;
        *lock(m) = true;
        cv.notify_all();
    }
    // Each acceptor is blocked in accept(2): a connection of our own wakes it, and it sees `stopping`.
    for w in &shared.wake {
        match w {
            WakeAddr::Tcp(a) => drop(TcpStream::connect_timeout(a, Duration::from_secs(1))),
            WakeAddr::Unix(p) => drop(UnixStream::connect(p)),
        }
    }
    // Connections finish what they are doing: a shut read side turns their blocking read into end-of-file.
    for peer in lock(&shared.peers).values() {
        let _ = peer.sock.shutdown(Shutdown::Read);
        peer.notify();
    }
}

fn accept_loop(shared: Arc<Shared>, listener: AnyListener) {
    loop {
        let accepted = match &listener {
            AnyListener::Tcp(l) => l.accept().map(|(s, a)| {
                // As in the reactor: replies are written once per batch already, Nagle would only add latency.
                let _ = s.set_nodelay(true);
                let laddr = s.local_addr().map(|a| a.to_string()).unwrap_or_default();
                (Sock::Tcp(s), a.to_string(), laddr)
            }),
            AnyListener::Unix(l) => {
                l.accept().map(|(s, _)| (Sock::Unix(s), "/unixsocket:0".to_string(), String::new()))
            }
        };
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        match accepted {
            Ok((sock, addr, laddr)) => admit(&shared, sock, addr, laddr),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                // EMFILE and friends: existing clients go on; try again shortly.
                tracing::warn!(error = %e, "accept failed; retrying shortly");
                thread::sleep(ACCEPT_RETRY);
            }
        }
    }
}

/// Registers a new connection, applies `maxclients`, and starts its thread.
fn admit(shared: &Arc<Shared>, sock: Sock, addr: String, laddr: String) {
    let peer = Arc::new(Peer::new(sock));
    let key = {
        let mut st = lock(&shared.state);
        let key = st.engine.add_client(usize::MAX);
        let over = st.engine.clients.len() > st.engine.config.maxclients() as usize;
        // Past the mapping budget a new thread would not fail cleanly: Rust's runtime aborts the whole process when
        // it cannot map a thread's signal stack. Refusing the one client keeps the others served.
        let out_of_threads = *lock(&shared.live.0) >= shared.thread_budget;
        if over || out_of_threads {
            if out_of_threads && shared.spawn_failures.fetch_add(1, Ordering::Relaxed) == 0 {
                tracing::warn!(threads = shared.thread_budget, "vm.max_map_count reached; refusing new connections");
            }
            // Redis accepts, replies and closes, so the client learns why; and no thread is spent on it.
            st.engine.stats.rejected_connections += 1;
            st.engine.remove_client(key);
            drop(st);
            let _ = (&peer.sock).write_all(b"-ERR max number of clients reached\r\n");
            // Linger on a throwaway thread, so the accept loop goes on; without a thread (or with no mappings left
            // for one), just close.
            if !out_of_threads {
                let _ = thread::Builder::new().stack_size(CONN_STACK_BYTES).spawn(move || linger(&peer.sock));
            }
            return;
        }
        let c = &mut st.engine.clients[key];
        c.io = key;
        c.addr = addr;
        c.laddr = laddr;
        lock(&shared.peers).insert(key, peer.clone());
        key
    };
    *lock(&shared.live.0) += 1;
    let thread_shared = shared.clone();
    let spawned = thread::Builder::new().stack_size(CONN_STACK_BYTES).spawn(move || serve(&thread_shared, key, &peer));
    if let Err(e) = spawned {
        // Out of threads or memory: this is where the model runs out first. Close this client, keep the rest.
        if shared.spawn_failures.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::warn!(error = %e, "cannot start a connection thread; closing the connection");
        }
        forget(shared, key);
    }
}

/// How many connection threads fit under `vm.max_map_count`, leaving [`MAP_RESERVE`] mappings for the rest.
fn thread_budget() -> usize {
    let max_maps = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(DEFAULT_MAX_MAP_COUNT);
    max_maps.saturating_sub(MAP_RESERVE) / MAPS_PER_THREAD
}

/// Removes a client from the engine and the registry, and counts its thread out.
fn forget(shared: &Shared, key: usize) {
    {
        let mut st = lock(&shared.state);
        st.engine.remove_client(key);
        lock(&shared.peers).remove(&key);
    }
    let (m, cv) = &shared.live;
    *lock(m) -= 1;
    cv.notify_all();
}

/// A connection thread's whole life.
fn serve(shared: &Shared, key: usize, me: &Arc<Peer>) {
    let mut sock = &me.sock;
    let mut input = BytesMut::new();
    let mut decoder = Decoder::new();
    let mut scratch = vec![0u8; READ_CHUNK_BYTES];
    let mut idle = 0;
    // Whether the client closed first (then there is nothing left to linger for).
    let mut peer_closed = false;
    'conn: loop {
        let want = if me.idle_exempt.load(Ordering::Relaxed) { 0 } else { shared.idle_ms.load(Ordering::Relaxed) };
        if want != idle {
            idle = want;
            let _ = sock.set_read_timeout((idle > 0).then(|| Duration::from_millis(idle)));
        }
        let (n, eof) = match sock.read(&mut scratch) {
            Ok(0) => (0, true),
            Ok(n) => (n, false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                tracing::debug!(client = key, "idle timeout");
                break;
            }
            Err(_) => {
                peer_closed = true;
                break;
            }
        };
        peer_closed |= eof;
        if shared.stopping.load(Ordering::Acquire) || me.killed.load(Ordering::Acquire) {
            break;
        }
        input.extend_from_slice(&scratch[..n]);
        shared.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
        loop {
            let batch = run_batch(shared, key, me, &mut decoder, &mut input);
            if me.flush(&shared.bytes_out).is_err() || batch.close {
                break 'conn;
            }
            if !batch.blocked {
                break;
            }
            // Parked by a blocking command: wait for the unblock (or the timeout), then run the commands that
            // were pipelined behind it before reading more.
            if !wait_while_blocked(shared, key, me) {
                break 'conn;
            }
        }
        if eof {
            break;
        }
        if input.is_empty() && input.capacity() > READ_CHUNK_BYTES {
            // Give back the memory of a large request once it is done, as the reactor drops empty buffers.
            input = BytesMut::new();
        }
    }
    let _ = me.flush(&shared.bytes_out);
    if !peer_closed {
        linger(sock);
    }
    let _ = sock.shutdown(Shutdown::Both);
    forget(shared, key);
}

/// Lingering close, as the reactor does it (nginx's `lingering_close`): closing a socket whose peer is still
/// sending makes the kernel answer with RST, which can destroy the last reply (a protocol error, `-ERR max number
/// of clients reached`) before the peer reads it. So: send FIN, discard what still arrives until the peer closes
/// too, for [`LINGER`] at most.
fn linger(mut sock: &Sock) {
    if sock.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let deadline = Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || sock.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match sock.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Waits while the client is blocked. Returns `false` if the connection must close instead (killed, shutdown,
/// or the client went away).
///
/// The thread waits on a condition variable, not in `read(2)`, so it checks every [`BLOCKED_LIVENESS_CHECK`]
/// whether the client hung up (a non-blocking peek that returns end-of-file), to forget it as Redis does. Redis
/// and the reactor notice at once, since they keep reading from blocked clients.
fn wait_while_blocked(shared: &Shared, key: usize, me: &Peer) -> bool {
    let mut state = lock(&me.block);
    loop {
        if shared.stopping.load(Ordering::Acquire) || me.killed.load(Ordering::Acquire) {
            return false;
        }
        if !state.blocked {
            return true;
        }
        if me.sock.hung_up() {
            return false;
        }
        let now = Instant::now();
        match state.deadline {
            Some(deadline) if now >= deadline => {
                // Timed out: the engine answers null and unblocks (which clears `blocked` through the effects).
                drop(state);
                let mut st = lock(&shared.state);
                if st.engine.clients.get(key).is_some_and(|c| c.blocked.is_some()) {
                    st.engine.block_timed_out(key);
                } else {
                    lock(&me.block).blocked = false;
                }
                let effects = std::mem::take(&mut st.engine.effects);
                let mut touched = Vec::new();
                let after = apply_effects(shared, &st, effects, key, &mut touched);
                drop(st);
                finish_effects(shared, touched, after);
                if me.flush(&shared.bytes_out).is_err() {
                    return false;
                }
                state = lock(&me.block);
            }
            deadline => {
                let wait = deadline.map_or(BLOCKED_LIVENESS_CHECK, |d| (d - now).min(BLOCKED_LIVENESS_CHECK));
                state = me.wake.wait_timeout(state, wait).unwrap_or_else(|p| p.into_inner()).0;
            }
        }
    }
}

/// What to do after the engine lock is released.
#[derive(Default)]
struct After {
    /// Killed clients: shut their read side, they flush and close.
    kill: Vec<Arc<Peer>>,
    /// Clients over an output limit: shut both sides at once.
    cut: Vec<Arc<Peer>>,
    shutdown: bool,
}

/// How a batch ended.
struct Batch {
    /// Close after flushing (QUIT, protocol error, killed).
    close: bool,
    /// A blocking command parked the client; the rest of the input waits.
    blocked: bool,
}

/// Runs every complete command in `input` under one engine lock.
fn run_batch(shared: &Shared, key: usize, me: &Arc<Peer>, decoder: &mut Decoder, input: &mut BytesMut) -> Batch {
    let mut replies = OutBuf::new();
    let mut touched: Vec<Arc<Peer>> = Vec::new();
    let mut after = After::default();
    let mut close = false;
    let mut blocked = false;
    let mut st = lock(&shared.state);
    loop {
        if me.killed.load(Ordering::Acquire) {
            close = true;
            break;
        }
        if st.engine.clients[key].blocked.is_some() {
            blocked = true;
            break;
        }
        let authenticated = st.engine.clients[key].authenticated;
        match decoder.decode(input, &st.limits, authenticated) {
            Ok(Some(n)) => {
                {
                    let argv: SmallVec<[&[u8]; 8]> = decoder.args(input).iter().collect();
                    if is_client_command(&argv) {
                        let mine = (input.len() - n, input.capacity() - input.len());
                        snapshot_io(shared, &mut st, key, mine, replies.shape());
                    }
                    st.engine.execute(key, &argv, &mut replies);
                }
                input.advance(n);
                if !st.engine.effects.is_empty() {
                    // Our own replies so far go first, so an effect aimed at us lands after them, in engine order.
                    append(&mut lock(&me.out), &mut replies);
                    let effects = std::mem::take(&mut st.engine.effects);
                    let more = apply_effects(shared, &st, effects, key, &mut touched);
                    after.kill.extend(more.kill);
                    after.shutdown |= more.shutdown;
                }
                if !st.engine.config_changed.is_empty() {
                    apply_config(shared, &mut st);
                }
                if st.engine.clients[key].close_after_reply {
                    close = true;
                    break;
                }
            }
            Ok(None) => {
                if let Some(want) = decoder.wanted() {
                    input.reserve(want);
                }
                break;
            }
            Err(e) => {
                if e.replies() {
                    Encoder::new(replies.buf(), Resp::V2).error(&e.message());
                }
                tracing::debug!(client = key, error = %e, "protocol error");
                close = true;
                break;
            }
        }
    }
    append(&mut lock(&me.out), &mut replies);
    drop(st);
    finish_effects(shared, touched, after);
    Batch { close: close || me.killed.load(Ordering::Acquire), blocked }
}

/// Moves `from` to the back of `to`: a swap when `to` is empty (the common case), else a copy.
fn append(to: &mut OutBuf, from: &mut OutBuf) {
    if from.is_empty() {
        return;
    }
    if to.is_empty() {
        std::mem::swap(to, from);
        return;
    }
    for chunk in from.iter_chunks() {
        to.extend_from_slice(chunk);
    }
    from.clear();
}

/// Refreshes every client's buffer sizes for `CLIENT LIST` / `CLIENT INFO`. Output is what waits in each client's
/// queue (the caller's: its replies so far in this batch); another thread's unread input is on that thread's
/// stack, out of reach, so it shows as 0 (simplification against Redis and the reactor).
fn snapshot_io(shared: &Shared, st: &mut State, me: usize, mine: (usize, usize), my_out: OutShape) {
    let peers = lock(&shared.peers);
    for (key, client) in st.engine.clients.iter_mut() {
        client.buffers = if key == me {
            IoStats::new(mine, my_out)
        } else {
            match peers.get(&key) {
                Some(peer) => IoStats::new((0, 0), lock(&peer.out).shape()),
                None => IoStats::default(),
            }
        };
    }
}

/// Applies effects under the engine lock: bytes are queued to their targets (who are remembered in `touched`
/// for flushing later), kills are marked. Socket work is returned for after the lock.
fn apply_effects(shared: &Shared, st: &State, effects: Vec<Effect>, me: usize, touched: &mut Vec<Arc<Peer>>) -> After {
    let mut after = After::default();
    let peers = lock(&shared.peers);
    for effect in effects {
        match effect {
            Effect::Send { client, bytes } => {
                if !st.engine.clients.contains(client) {
                    continue;
                }
                let Some(peer) = peers.get(&client) else { continue };
                let mut out = lock(&peer.out);
                let over = {
                    let (limits, soft_since) = &mut *lock(&peer.limits);
                    limits.exceeded(out.len() + bytes.len(), soft_since, Instant::now())
                };
                if over {
                    // A subscriber past its output limits is disconnected, as Redis does; shutting both
                    // directions also frees a publisher stuck writing to it.
                    drop(out);
                    if !peer.killed.swap(true, Ordering::AcqRel) {
                        after.cut.push(peer.clone());
                    }
                    continue;
                }
                out.push(bytes);
                drop(out);
                if client != me && !touched.iter().any(|p| Arc::ptr_eq(p, peer)) {
                    touched.push(peer.clone());
                }
            }
            Effect::Kill { client } => {
                let Some(peer) = peers.get(&client) else { continue };
                peer.killed.store(true, Ordering::Release);
                peer.wake.notify_all();
                if client != me {
                    after.kill.push(peer.clone());
                }
            }
            Effect::Shutdown => after.shutdown = true,
            Effect::Block { client, timeout_ms } => {
                let Some(peer) = peers.get(&client) else { continue };
                let deadline = (timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms));
                *lock(&peer.block) = BlockState { blocked: true, deadline };
            }
            Effect::Unblock { client } => {
                let Some(peer) = peers.get(&client) else { continue };
                lock(&peer.block).blocked = false;
                peer.wake.notify_all();
            }
            Effect::PubSubMode { client, subscribed } => {
                let Some(peer) = peers.get(&client) else { continue };
                peer.idle_exempt.store(subscribed, Ordering::Relaxed);
                let limits = if subscribed { pubsub_output_limits(&st.engine.config) } else { OutputLimits::UNLIMITED };
                *lock(&peer.limits) = (limits, None);
            }
        }
    }
    after
}

/// Socket work of effects, with no lock held: write what was queued to other clients, wake killed clients.
fn finish_effects(shared: &Shared, touched: Vec<Arc<Peer>>, after: After) {
    for peer in touched {
        if peer.flush(&shared.bytes_out).is_err() {
            // The target's own thread will see the broken socket on its next read and clean up.
            let _ = peer.sock.shutdown(Shutdown::Both);
        }
    }
    for peer in after.kill {
        // The victim's blocking read returns end-of-file; it sees `killed`, flushes what it owes and closes.
        let _ = peer.sock.shutdown(Shutdown::Read);
        peer.notify();
    }
    for peer in after.cut {
        let _ = peer.sock.shutdown(Shutdown::Both);
        peer.notify();
    }
    if after.shutdown {
        begin_shutdown(shared);
    }
}

/// Applies `CONFIG SET` changes that live outside the engine.
fn apply_config(shared: &Shared, st: &mut State) {
    for name in std::mem::take(&mut st.engine.config_changed) {
        match name {
            "proto-max-bulk-len" | "client-query-buffer-limit" => st.limits = decoder_limits(&st.engine.config),
            "timeout" => shared.idle_ms.store(idle_ms(&st.engine.config), Ordering::Relaxed),
            "client-output-buffer-limit" => {
                let limits = pubsub_output_limits(&st.engine.config);
                for (key, peer) in lock(&shared.peers).iter() {
                    if st.engine.is_subscribed(*key) {
                        lock(&peer.limits).0 = limits;
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::clock::SystemClock;

    fn start(config: Config) -> (SocketAddr, ThreadsHandle, thread::JoinHandle<io::Result<()>>) {
        let server = ThreadsServer::bind(&config, Arc::new(SystemClock), Some([127, 0, 0, 1].into()), false).unwrap();
        let addr = server.local_addrs()[0];
        let handle = server.handle();
        (addr, handle, thread::spawn(move || server.run()))
    }

    fn connect(addr: SocketAddr) -> TcpStream {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    fn read_exactly(s: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        s.read_exact(&mut buf).unwrap();
        buf
    }

    #[test]
    fn pipelined_commands_are_answered_in_order() {
        let (addr, handle, t) = start(Config::new());
        let mut s = connect(addr);
        s.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n").unwrap();
        assert_eq!(read_exactly(&mut s, 5 + 7 + 7), b"+OK\r\n$1\r\nv\r\n+PONG\r\n");
        handle.shutdown();
        t.join().unwrap().unwrap();
    }

    #[test]
    fn client_kill_closes_the_other_connection() {
        let (addr, handle, t) = start(Config::new());
        let mut victim = connect(addr);
        victim.write_all(b"PING\r\n").unwrap();
        assert_eq!(read_exactly(&mut victim, 7), b"+PONG\r\n");
        let victim_addr = victim.local_addr().unwrap().to_string();
        let mut killer = connect(addr);
        killer.write_all(format!("CLIENT KILL {victim_addr}\r\n").as_bytes()).unwrap();
        assert_eq!(read_exactly(&mut killer, 5), b"+OK\r\n");
        let mut rest = Vec::new();
        assert_eq!(victim.read_to_end(&mut rest).unwrap(), 0, "the victim sees end-of-file");
        handle.shutdown();
        t.join().unwrap().unwrap();
    }

    #[test]
    fn past_the_thread_budget_new_clients_are_refused_and_the_rest_served() {
        let mut server =
            ThreadsServer::bind(&Config::new(), Arc::new(SystemClock), Some([127, 0, 0, 1].into()), false).unwrap();
        // As if vm.max_map_count left room for two connection threads.
        Arc::get_mut(&mut server.shared).unwrap().thread_budget = 2;
        let addr = server.local_addrs()[0];
        let handle = server.handle();
        let t = thread::spawn(move || server.run());
        let mut held: Vec<TcpStream> = (0..2).map(|_| connect(addr)).collect();
        for s in &mut held {
            s.write_all(b"PING\r\n").unwrap();
            assert_eq!(read_exactly(s, 7), b"+PONG\r\n");
        }
        let mut refused = connect(addr);
        let mut reply = Vec::new();
        let _ = refused.read_to_end(&mut reply);
        assert_eq!(reply, b"-ERR max number of clients reached\r\n");
        held[0].write_all(b"PING\r\n").unwrap();
        assert_eq!(read_exactly(&mut held[0], 7), b"+PONG\r\n", "the server is still up");
        assert!(thread_budget() > 1000, "the real budget comes from vm.max_map_count");
        handle.shutdown();
        t.join().unwrap().unwrap();
    }

    #[test]
    fn shutdown_command_stops_the_server() {
        let (addr, _handle, t) = start(Config::new());
        let mut s = connect(addr);
        s.write_all(b"SHUTDOWN NOSAVE\r\n").unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        t.join().unwrap().unwrap();
        assert!(TcpStream::connect(addr).is_err(), "nothing listens after SHUTDOWN");
    }
}
