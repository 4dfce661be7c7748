//! Example 2: the echo server of example 1 on bare mio, edge-triggered.
//!
//! What it teaches: mio wraps epoll in a portable, safe API and registers every
//! source EDGE-triggered (`EPOLLET`). An edge-triggered event means "this socket
//! became ready", not "this socket is ready": after one event the kernel stays
//! silent until new data arrives. So a handler must keep reading (or accepting,
//! or writing) until the call returns `WouldBlock`, or it must remember that the
//! socket is still ready and come back by itself. Forgetting both is the classic
//! edge-triggered bug: a connection that hangs with bytes sitting in its socket.
//! It also shows the slab: connections live in a `Slab` and the slab key is the
//! mio `Token`, so lookup is an array index and keys are reused.
//! The chapter behind it is `docs/reactor.md`.
//!
//! Try it: `cargo run --example 02_mio_echo` then `nc 127.0.0.1 7002`.
//! Pass an address to bind elsewhere: `cargo run --example 02_mio_echo -- 127.0.0.1:0`.
//!
//! Data flow per event: mio reports token 5 readable -> mark connection 5
//! `readable` -> `drive` it: read until `WouldBlock` (or until its output is too
//! far behind), write until `WouldBlock` (or until the output is empty), repeat
//! while either made progress -> set mio interest to READABLE, plus WRITABLE only
//! if output remains -> closes happen after the whole batch of events.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

/// The listener's token. Connection tokens are slab keys, which start at 0 and
/// stay far below `usize::MAX`, so a special token at the top of the range never
/// collides with one (mio's own examples and plexus do the same).
const LISTENER: Token = Token(usize::MAX);

/// Bytes per `read` call. Edge-triggered code loops over these until
/// `WouldBlock`, so this is a syscall-size choice, not a fairness one.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// Stop reading from a client once this many echoed bytes wait for it, so a
/// client that sends but never reads cannot grow our memory without bound. In
/// edge-triggered mode stopping early has a catch: we did not see `WouldBlock`,
/// so no new event will come for the bytes still queued. `Conn::readable` keeps
/// that fact, and `drive` resumes reading as soon as output drains.
const OUTPUT_HIGH_WATER_BYTES: usize = 64 * 1024;

/// How many events one `poll` may return. More stay queued in the kernel.
const EVENTS_CAPACITY: usize = 1024;

/// The default address: port 700N for example N.
const DEFAULT_ADDR: &str = "127.0.0.1:7002";

/// One client. Its slab key is its `Token`.
struct Conn {
    stream: TcpStream,
    /// Bytes read and not yet echoed; `out[out_start..]` is what is left to send.
    out: Vec<u8>,
    out_start: usize,
    /// Edge-triggered readiness we have been told about and not yet used up:
    /// set by an event, cleared only when a call returns `WouldBlock`. These two
    /// flags are the whole edge-triggered discipline in two bits.
    readable: bool,
    writable: bool,
    /// The peer shut down its write side (read returned 0): echo what is left,
    /// then close (TCP half-close).
    read_closed: bool,
    /// Interest currently registered with mio, to skip needless `reregister`s.
    /// (mio has no "nothing" interest; a connection wanting nothing is closed.)
    registered: Interest,
}

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            out: Vec::new(),
            out_start: 0,
            readable: false,
            // A fresh socket's send buffer is empty, so writing will succeed.
            // Assuming so saves waiting for an event to say what we know.
            writable: true,
            read_closed: false,
            registered: Interest::READABLE,
        }
    }

    fn pending(&self) -> usize {
        self.out.len() - self.out_start
    }

    /// What we need to hear about: READABLE until the peer finishes sending,
    /// WRITABLE only while output remains. Registering WRITABLE with nothing to
    /// write is harmless under edge triggering (one event, then silence) but
    /// costs a wake-up for nothing; with level triggering it would spin.
    /// `None` means the connection is done.
    fn wanted_interest(&self) -> Option<Interest> {
        match (!self.read_closed, self.pending() > 0) {
            (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
            (true, false) => Some(Interest::READABLE),
            (false, true) => Some(Interest::WRITABLE),
            (false, false) => None,
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args().nth(1).unwrap_or_else(|| DEFAULT_ADDR.to_string()).parse()?;

    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(EVENTS_CAPACITY);
    // mio's listener is already non-blocking.
    let mut listener = TcpListener::bind(addr)?;
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;

    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;

    let mut conns: Slab<Conn> = Slab::new();
    // Keys to remove after the current batch of events (see below).
    let mut closing: Vec<usize> = Vec::new();

    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            // A signal interrupted the wait; nothing happened, wait again.
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e.into());
        }

        for event in events.iter() {
            match event.token() {
                LISTENER => accept_all(&listener, &poll, &mut conns),
                Token(key) => {
                    let Some(conn) = conns.get_mut(key) else {
                        // An event for a key we no longer hold. With deferred
                        // close below this cannot happen; never crash if it does.
                        continue;
                    };
                    // Errors and hang-ups count as "ready": the next read or
                    // write returns the real condition, and that is the one
                    // place we handle it.
                    if event.is_readable() || event.is_read_closed() || event.is_error() {
                        conn.readable = true;
                    }
                    if event.is_writable() || event.is_write_closed() || event.is_error() {
                        conn.writable = true;
                    }
                    match drive(conn).and_then(|()| update_interest(&poll, conn, Token(key))) {
                        Ok(true) => {}
                        Ok(false) => closing.push(key),
                        Err(e) => {
                            eprintln!("connection {key}: {e}");
                            closing.push(key);
                        }
                    }
                }
            }
        }

        // Deferred close: remove connections only after the whole batch. If we
        // removed key 5 in the middle of a batch, an `accept` later in the same
        // batch could reuse key 5, and an event still queued for the old
        // connection 5 would be applied to the new one. This echo server never
        // closes a connection other than the one whose event it is handling, so
        // it would get away with closing immediately, but a real server (Redis
        // `CLIENT KILL`, plexus) does not, and the habit costs nothing. Redis
        // does the same with `freeClientAsync`.
        for key in closing.drain(..) {
            if let Some(mut conn) = conns.try_remove(key) {
                // Deregister explicitly; dropping the stream then closes the fd.
                let _ = poll.registry().deregister(&mut conn.stream);
            }
        }
    }
}

/// Accept until `WouldBlock`. Edge-triggered: the listener event fired once for
/// "connections arrived"; if we accepted only one, the others would sit in the
/// backlog until yet another client happened to connect.
fn accept_all(listener: &TcpListener, poll: &Poll, conns: &mut Slab<Conn>) {
    loop {
        let stream = match listener.accept() {
            Ok((stream, _peer)) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // EMFILE (out of fds) and friends. Stopping here without
                // `WouldBlock` means queued clients wait for the next edge (a new
                // connection). A production server would retry on a timer;
                // mio's own guidance is the same.
                eprintln!("accept: {e}");
                return;
            }
        };
        if let Err(e) = stream.set_nodelay(true) {
            eprintln!("set_nodelay: {e}");
        }
        let entry = conns.vacant_entry();
        let token = Token(entry.key());
        let mut conn = Conn::new(stream);
        match poll.registry().register(&mut conn.stream, token, conn.registered) {
            Ok(()) => {
                entry.insert(conn);
            }
            Err(e) => eprintln!("register: {e}"),
        }
    }
}

/// Use up the readiness we know about. Reading fills `out`, writing empties
/// it, and each can unblock the other (writing brings output back under the
/// high-water mark, so reading may resume), so loop until neither progresses.
fn drive(conn: &mut Conn) -> io::Result<()> {
    loop {
        let read = read_available(conn)?;
        let written = write_available(conn)?;
        if !read && !written {
            return Ok(());
        }
    }
}

/// Read until `WouldBlock`, EOF, or the output backlog reaches the high-water
/// mark. Returns whether any bytes (or the EOF) were consumed.
fn read_available(conn: &mut Conn) -> io::Result<bool> {
    let mut progressed = false;
    let mut chunk = [0u8; READ_CHUNK_BYTES];
    while conn.readable && !conn.read_closed && conn.pending() < OUTPUT_HIGH_WATER_BYTES {
        match conn.stream.read(&mut chunk) {
            Ok(0) => {
                conn.read_closed = true;
                progressed = true;
            }
            Ok(n) => {
                conn.out.extend_from_slice(&chunk[..n]);
                progressed = true;
            }
            // The only way `readable` is ever cleared: the kernel said so.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => conn.readable = false,
            // A signal interrupted the call; the data is still there.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(progressed)
}

/// Write until `WouldBlock` or the output is empty. A partial write just
/// advances `out_start`; the unsent tail waits for the next WRITABLE event.
fn write_available(conn: &mut Conn) -> io::Result<bool> {
    let mut progressed = false;
    while conn.writable && conn.pending() > 0 {
        match conn.stream.write(&conn.out[conn.out_start..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                conn.out_start += n;
                progressed = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => conn.writable = false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if conn.pending() == 0 {
        conn.out.clear();
        conn.out_start = 0;
    }
    Ok(progressed)
}

/// Bring the mio registration in line with what the connection needs. Returns
/// `false` when the connection is finished and should be closed.
fn update_interest(poll: &Poll, conn: &mut Conn, token: Token) -> io::Result<bool> {
    let Some(wanted) = conn.wanted_interest() else {
        return Ok(false);
    };
    if wanted != conn.registered {
        poll.registry().reregister(&mut conn.stream, token, wanted)?;
        conn.registered = wanted;
    }
    Ok(true)
}
