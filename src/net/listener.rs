//! Listening sockets, built with `socket2` so every option the kernel offers is reachable before `listen(2)`.
//!
//! A [`Listener`] is either TCP (IPv4 or IPv6) or a Unix-domain socket. Both are non-blocking: the reactor calls
//! [`Listener::accept`] until it returns `WouldBlock`, because mio is edge-triggered and a listener that is not
//! drained may never be reported readable again.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use mio::event::Source;
use mio::{Interest, Registry, Token};
use socket2::{Domain, Protocol, Socket, Type};

use super::Stream;

/// Redis's default `tcp-backlog`. The kernel silently caps it at `net.core.somaxconn`.
pub const DEFAULT_BACKLOG: i32 = 511;

/// Options applied to a TCP listener before it starts listening.
#[derive(Clone, Debug)]
pub struct TcpOptions {
    /// `SO_REUSEPORT`: lets several processes (or several reactors) accept on one port, the kernel balancing
    /// new connections between them. Off by default so a second server on the same port fails loudly.
    pub reuse_port: bool,
    /// Length of the queue of fully established connections not yet accepted.
    pub backlog: i32,
}

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions { reuse_port: false, backlog: DEFAULT_BACKLOG }
    }
}

/// Who is on the other end of an accepted connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerAddr {
    Tcp(SocketAddr),
    /// Unix-domain peers are usually unnamed; Redis prints them as the socket path.
    Unix,
}

impl std::fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerAddr::Tcp(addr) => write!(f, "{addr}"),
            PeerAddr::Unix => f.write_str("/unixsocket:0"),
        }
    }
}

/// A non-blocking listening socket.
#[derive(Debug)]
pub enum Listener {
    Tcp(mio::net::TcpListener),
    Unix { listener: mio::net::UnixListener, path: PathBuf },
}

/// Binds a TCP listener. `SO_REUSEADDR` is always set so a restarted server can bind while old connections sit
/// in `TIME_WAIT`. An IPv6 address accepts IPv6 only (`IPV6_V6ONLY`), as Redis does, so `::` and `0.0.0.0` can be
/// bound side by side.
pub fn bind_tcp(addr: SocketAddr, opts: &TcpOptions) -> io::Result<Listener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if opts.reuse_port {
        socket.set_reuse_port(true)?;
    }
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(opts.backlog)?;
    let std_listener: std::net::TcpListener = socket.into();
    Ok(Listener::Tcp(mio::net::TcpListener::from_std(std_listener)))
}

/// Binds a Unix-domain listener at `path`, first removing a stale socket file left by a previous run (Redis does
/// the same: a leftover file would make `bind(2)` fail with `EADDRINUSE` forever).
pub fn bind_unix(path: &Path) -> io::Result<Listener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = mio::net::UnixListener::bind(path)?;
    Ok(Listener::Unix { listener, path: path.to_path_buf() })
}

impl Listener {
    /// Accepts one pending connection. `TCP_NODELAY` is set on TCP streams: replies are written once per loop
    /// iteration already, so Nagle's algorithm would only add latency.
    pub fn accept(&self) -> io::Result<(Stream, PeerAddr)> {
        match self {
            Listener::Tcp(l) => {
                let (stream, addr) = l.accept()?;
                // A failure here leaves a working, if slower, connection: not worth dropping the client for.
                let _ = stream.set_nodelay(true);
                Ok((Stream::Tcp(stream), PeerAddr::Tcp(addr)))
            }
            Listener::Unix { listener, .. } => {
                let (stream, _) = listener.accept()?;
                Ok((Stream::Unix(stream), PeerAddr::Unix))
            }
        }
    }

    /// The bound TCP address (with the real port when bound to port 0), or `None` for a Unix socket.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok(),
            Listener::Unix { .. } => None,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Source for Listener {
    fn register(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.register(registry, token, interests),
            Listener::Unix { listener, .. } => listener.register(registry, token, interests),
        }
    }

    fn reregister(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.reregister(registry, token, interests),
            Listener::Unix { listener, .. } => listener.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.deregister(registry),
            Listener::Unix { listener, .. } => listener.deregister(registry),
        }
    }
}
