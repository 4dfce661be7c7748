//! A connected, non-blocking byte stream: TCP or Unix-domain, inbound or outbound.
//!
//! Outbound connections use a non-blocking `connect(2)`: it returns at once with `EINPROGRESS`, the socket becomes
//! writable when the handshake ends, and only then does `SO_ERROR` say whether it succeeded. [`finish_connect`]
//! performs that last check.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};

use mio::event::Source;
use mio::{Interest, Registry, Token};

/// A connected socket.
#[derive(Debug)]
pub enum Stream {
    Tcp(mio::net::TcpStream),
    Unix(mio::net::UnixStream),
}

/// Starts a non-blocking TCP connect. The returned stream is not connected yet: register it for `WRITABLE` and
/// call [`finish_connect`] when it becomes writable.
pub fn connect_tcp(addr: SocketAddr) -> io::Result<Stream> {
    let stream = mio::net::TcpStream::connect(addr)?;
    let _ = stream.set_nodelay(true);
    Ok(Stream::Tcp(stream))
}

/// Checks whether a pending non-blocking connect has finished. `Ok(true)`: connected. `Ok(false)`: still in
/// progress (a spurious wake-up). `Err(e)`: the connect failed with `e` (from `SO_ERROR`).
pub fn finish_connect(stream: &Stream) -> io::Result<bool> {
    let Stream::Tcp(s) = stream else { return Ok(true) };
    if let Some(err) = s.take_error()? {
        return Err(err);
    }
    match s.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(false),
        Err(e) => Err(e),
    }
}

impl Stream {
    /// Shuts down one or both directions, e.g. the write side to tell the peer "no more replies".
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(how),
            Stream::Unix(s) => s.shutdown(how),
        }
    }

    /// The local address of a TCP stream.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Stream::Tcp(s) => s.local_addr().ok(),
            Stream::Unix(_) => None,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Source for Stream {
    fn register(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.register(registry, token, interests),
            Stream::Unix(s) => s.register(registry, token, interests),
        }
    }

    fn reregister(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.reregister(registry, token, interests),
            Stream::Unix(s) => s.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.deregister(registry),
            Stream::Unix(s) => s.deregister(registry),
        }
    }
}
