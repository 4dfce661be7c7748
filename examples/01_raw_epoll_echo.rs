//! Example 1: an echo server on raw `epoll`, level-triggered, with no mio.
//!
//! What it teaches: the four system calls every Linux event loop is built on
//! (`epoll_create1`, `epoll_ctl` ADD/MOD/DEL, `epoll_wait`, and non-blocking
//! `accept`/`read`/`write`), and the bookkeeping a server needs around them: a
//! per-connection output buffer, and `EPOLLOUT` interest only while that buffer
//! holds bytes. This is the shape of Redis's `ae.c` + `ae_epoll.c`, minus the
//! timers. The chapter behind it is `docs/reactor.md`.
//!
//! Try it: `cargo run --example 01_raw_epoll_echo` then, in another terminal,
//! `nc 127.0.0.1 7001` and type lines. Pass an address to bind elsewhere:
//! `cargo run --example 01_raw_epoll_echo -- 127.0.0.1:0` (port 0 = any free port).
//!
//! Data flow: `epoll_wait` says "fd 7 is readable" -> one `read` of up to
//! [`READ_CHUNK_BYTES`] -> the bytes go to fd 7's output buffer -> one `write`
//! attempt right away -> whatever the kernel did not take stays buffered and we
//! ask for `EPOLLOUT` -> when `epoll_wait` says "fd 7 is writable", write more ->
//! buffer empty: drop `EPOLLOUT` again.
//!
//! Why std's `TcpListener`/`TcpStream` instead of raw `socket`/`bind`/`listen`:
//! the lesson here is epoll. std already gives a correct bind/listen, owns and
//! closes each file descriptor, retries nothing behind our back once the socket is
//! non-blocking, and reports errors as `io::Error`. We take each socket's raw fd
//! (`as_raw_fd`) and hand it to epoll ourselves; that is all epoll needs.
//! Because of that choice, the only `unsafe` in this file is the epoll calls.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};

/// Bytes taken from a socket per readable event. Level-triggered epoll will tell
/// us again on the next `epoll_wait` if more is waiting, so one read per wake-up
/// is enough and keeps one busy client from hogging the loop (Redis reads
/// `PROTO_IOBUF_LEN` = 16 KiB per event for the same reason).
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// Stop reading from a client once this many echoed bytes wait for it. A client
/// that sends without reading would otherwise make us buffer without bound.
/// Level-triggered epoll makes this easy: drop `EPOLLIN` from the interest set and
/// the kernel stops reporting the socket readable; TCP flow control then pushes
/// back on the sender. Redis has no such stop for normal clients by default (see
/// `docs/reactor.md`, "Backpressure").
const OUTPUT_HIGH_WATER_BYTES: usize = 64 * 1024;

/// Upper bound on connections accepted per listener wake-up, so a connection
/// storm cannot starve clients that are already connected. Level-triggered: if
/// more are queued, `epoll_wait` reports the listener again. Redis uses
/// `MAX_ACCEPTS_PER_CALL` = 1000 in the same way.
const MAX_ACCEPTS_PER_WAKEUP: usize = 256;

/// How many ready fds one `epoll_wait` may return. More ready fds are not lost:
/// they stay on the kernel's ready list for the next call.
const MAX_EVENTS_PER_WAIT: usize = 1024;

/// The default address: port 700N for example N.
const DEFAULT_ADDR: &str = "127.0.0.1:7001";

/// One client. The table of these is indexed by file descriptor (see [`Conns`]).
struct Conn {
    stream: TcpStream,
    /// Bytes read but not yet written back. `out_start` is how far the kernel has
    /// taken them: writing is `out[out_start..]`, and the buffer is compacted
    /// only when it empties, so a partial write never shifts memory.
    out: Vec<u8>,
    out_start: usize,
    /// The peer shut down its write side (`read` returned 0). We must still echo
    /// what is buffered, then close. This is TCP half-close.
    read_closed: bool,
    /// The interest set currently registered with epoll, so we only call
    /// `epoll_ctl(MOD)` when it really changes (each call is a system call).
    registered: u32,
}

impl Conn {
    fn pending(&self) -> usize {
        self.out.len() - self.out_start
    }

    /// The interest set this connection needs right now. This one function is
    /// the whole policy: read while the peer may send and we are not too far
    /// behind; ask for writability only while there is something to write.
    /// Asking for `EPOLLOUT` with nothing to write would be a busy loop: an idle
    /// socket is almost always writable, and level-triggered epoll would wake us
    /// on every `epoll_wait`.
    fn wanted_interest(&self) -> u32 {
        let mut interest = 0;
        if !self.read_closed && self.pending() < OUTPUT_HIGH_WATER_BYTES {
            interest |= libc::EPOLLIN as u32;
        }
        if self.pending() > 0 {
            interest |= libc::EPOLLOUT as u32;
        }
        interest
    }

    /// True once there is nothing more to do: the peer will send nothing and
    /// every byte it sent has been echoed.
    fn finished(&self) -> bool {
        self.read_closed && self.pending() == 0
    }
}

/// Connections indexed by fd, the way `ae.c` keeps `eventLoop->events[fd]`.
/// The kernel hands out the lowest free fd, so the table stays dense.
///
/// Is keying by fd safe when fds are reused? A closed fd can be handed to the next
/// accepted socket. But `epoll_wait` reports each fd at most once per batch, and
/// in this server a handler only ever closes its own fd, so no later event in the
/// same batch can name a closed-and-reused fd. Servers where one connection can
/// close another (Redis `CLIENT KILL`) must defer the close; see example 2.
type Conns = Vec<Option<Conn>>;

/// A thin safe wrapper over the epoll instance: one `unsafe` call per method.
struct Epoll {
    fd: RawFd,
}

impl Epoll {
    fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes only a flags integer and touches no memory
        // of ours. EPOLL_CLOEXEC keeps the fd from leaking into child processes.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Epoll { fd })
    }

    /// `epoll_ctl`: add, change or remove one fd in the kernel's interest list
    /// (a red-black tree keyed by fd). `data` comes back verbatim in every event
    /// for this fd; we store the fd itself.
    fn ctl(&self, op: libc::c_int, fd: RawFd, interest: u32) -> io::Result<()> {
        let mut event = libc::epoll_event { events: interest, u64: fd as u64 };
        // SAFETY: `self.fd` is an epoll fd we own; `event` is a valid, initialised
        // epoll_event that lives across the call (the kernel copies it; it keeps
        // no pointer). For EPOLL_CTL_DEL the kernel ignores the event.
        let rc = unsafe { libc::epoll_ctl(self.fd, op, fd, &mut event) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Block until at least one fd is ready, and fill the front of `events`.
    /// Returns how many entries were filled. `EINTR` (a signal arrived) is
    /// reported as `ErrorKind::Interrupted`; the caller just waits again.
    fn wait(&self, events: &mut [libc::epoll_event]) -> io::Result<usize> {
        let max = libc::c_int::try_from(events.len()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `events` is a valid, writable buffer of at least `max` entries,
        // and the kernel writes at most `max` of them. Timeout -1 = block until
        // something is ready (this server has no timers).
        let n = unsafe { libc::epoll_wait(self.fd, events.as_mut_ptr(), max, -1) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: we own `self.fd` and nothing else closes it.
        unsafe { libc::close(self.fd) };
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args().nth(1).unwrap_or_else(|| DEFAULT_ADDR.to_string()).parse()?;
    let listener = TcpListener::bind(addr)?;
    // Non-blocking is the heart of it: `accept`/`read`/`write` now return
    // `WouldBlock` instead of putting the whole server to sleep on one socket.
    listener.set_nonblocking(true)?;

    // The one line on stdout (a convention shared by all examples): the tests
    // read it to learn the real port when we bind port 0.
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;

    let epoll = Epoll::new()?;
    let listen_fd = listener.as_raw_fd();
    epoll.ctl(libc::EPOLL_CTL_ADD, listen_fd, libc::EPOLLIN as u32)?;

    let mut conns: Conns = Vec::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS_PER_WAIT];

    loop {
        let ready = match epoll.wait(&mut events) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        for event in &events[..ready] {
            // `epoll_event` is a packed struct on x86-64: copy the fields out
            // rather than take references to them.
            let (flags, fd) = (event.events, event.u64 as RawFd);
            if fd == listen_fd {
                accept_some(&listener, &epoll, &mut conns);
            } else {
                handle_conn_event(&epoll, &mut conns, fd, flags);
            }
        }
    }
}

/// Accept queued connections until `WouldBlock` or the per-wake-up cap.
fn accept_some(listener: &TcpListener, epoll: &Epoll, conns: &mut Conns) {
    for _ in 0..MAX_ACCEPTS_PER_WAKEUP {
        let stream = match listener.accept() {
            Ok((stream, _peer)) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // E.g. EMFILE (out of fds) or ECONNABORTED (the client gave up
                // while queued). Neither is a reason to stop serving everyone
                // else. Level-triggered: if connections are still queued, we will
                // be told again.
                eprintln!("accept: {e}");
                return;
            }
        };
        if let Err(e) = register(stream, epoll, conns) {
            eprintln!("register: {e}");
        }
    }
}

fn register(stream: TcpStream, epoll: &Epoll, conns: &mut Conns) -> io::Result<()> {
    stream.set_nonblocking(true)?;
    // Echo is latency-sensitive and we already batch writes ourselves.
    stream.set_nodelay(true)?;
    let fd = stream.as_raw_fd();
    let interest = libc::EPOLLIN as u32;
    epoll.ctl(libc::EPOLL_CTL_ADD, fd, interest)?;
    let slot = fd as usize;
    if conns.len() <= slot {
        conns.resize_with(slot + 1, || None);
    }
    conns[slot] = Some(Conn { stream, out: Vec::new(), out_start: 0, read_closed: false, registered: interest });
    Ok(())
}

fn handle_conn_event(epoll: &Epoll, conns: &mut Conns, fd: RawFd, flags: u32) {
    let Some(conn) = conns.get_mut(fd as usize).and_then(Option::as_mut) else {
        // Cannot happen in this server (see `Conns`), but an event for an fd we
        // no longer track must never crash the loop.
        return;
    };
    match service(conn, flags) {
        Ok(()) if !conn.finished() => {
            let wanted = conn.wanted_interest();
            if wanted != conn.registered {
                match epoll.ctl(libc::EPOLL_CTL_MOD, fd, wanted) {
                    Ok(()) => conn.registered = wanted,
                    Err(e) => {
                        eprintln!("epoll_ctl MOD fd {fd}: {e}");
                        close(epoll, conns, fd);
                    }
                }
            }
        }
        Ok(()) => close(epoll, conns, fd),
        Err(e) => {
            // One client's error (reset, broken pipe) closes that client only.
            eprintln!("fd {fd}: {e}");
            close(epoll, conns, fd);
        }
    }
}

/// Do the I/O one event allows: at most one read, then write what we can.
fn service(conn: &mut Conn, flags: u32) -> io::Result<()> {
    // EPOLLHUP and EPOLLERR are always reported, whatever we asked for. We do not
    // decode them: the next read or write returns the real condition (0 bytes, or
    // ECONNRESET), and that is the single place we handle it.
    let hangup = flags & (libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0;
    let readable = flags & libc::EPOLLIN as u32 != 0 || hangup;

    if readable && conn.wanted_interest() & libc::EPOLLIN as u32 != 0 {
        read_once(conn)?;
    }
    // Write right away rather than waiting for EPOLLOUT: the socket is almost
    // always writable, so this usually saves an epoll_ctl and a whole loop turn.
    // (Redis does the same: it writes in `beforeSleep` and installs a write
    // handler only for what is left.)
    if conn.pending() > 0 {
        write_some(conn)?;
    }
    Ok(())
}

/// One `read`. Level-triggered epoll reports the fd again next time if more
/// bytes wait, so there is no need to loop until `WouldBlock` here (compare
/// example 2, where there is).
fn read_once(conn: &mut Conn) -> io::Result<()> {
    let mut chunk = [0u8; READ_CHUNK_BYTES];
    match conn.stream.read(&mut chunk) {
        Ok(0) => conn.read_closed = true, // peer sent FIN: no more input, ever
        // Echo: the input simply becomes output.
        Ok(n) => conn.out.extend_from_slice(&chunk[..n]),
        // A spurious wake-up or a signal: nothing lost, epoll will report again.
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Write as much pending output as the kernel takes. A partial write is normal
/// (the socket send buffer is full); the rest stays in `out` for `EPOLLOUT`.
fn write_some(conn: &mut Conn) -> io::Result<()> {
    while conn.pending() > 0 {
        match conn.stream.write(&conn.out[conn.out_start..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => conn.out_start += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    if conn.pending() == 0 {
        // Everything went out: reuse the allocation from the start.
        conn.out.clear();
        conn.out_start = 0;
    }
    Ok(())
}

fn close(epoll: &Epoll, conns: &mut Conns, fd: RawFd) {
    // Remove from the interest list before closing. Closing alone would also
    // remove it (when no other fd refers to the same socket), but saying so
    // makes the lifecycle explicit: ADD on accept, MOD as needs change, DEL here.
    if let Err(e) = epoll.ctl(libc::EPOLL_CTL_DEL, fd, 0) {
        eprintln!("epoll_ctl DEL fd {fd}: {e}");
    }
    // Dropping the TcpStream closes the fd, which sends our FIN to the peer.
    conns[fd as usize] = None;
}
