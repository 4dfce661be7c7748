//! Sockets and buffers: everything the reactor needs to move bytes, and nothing about what they mean.
//!
//! ```text
//!  listener.rs   bind (socket2: SO_REUSEADDR, SO_REUSEPORT, backlog, v4/v6, unix) -> accept -> Stream
//!  stream.rs     Stream = TCP | Unix; non-blocking connect for outbound connections
//!  outbuf.rs     queued replies (small ones coalesced, big ones zero-copy) -> writev
//! ```
//!
//! Data flows one way through this module: the reactor accepts a [`Stream`], reads bytes into the connection's
//! input buffer, the protocol appends replies to its [`OutBuf`], and the reactor drains the `OutBuf` into the
//! socket with vectored writes. Nothing here knows about RESP or RPC.

mod listener;
mod outbuf;
mod stream;

pub use listener::{bind_tcp, bind_unix, Listener, PeerAddr, TcpOptions};
pub use outbuf::{OutBuf, OutShape, WriteOutcome};
pub use stream::{connect_tcp, finish_connect, Stream};

use std::io;

/// `true` when an I/O error only means "not now": the socket has nothing to give or take until the next
/// readiness event.
pub fn would_block(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::WouldBlock
}

/// `true` when a system call was interrupted by a signal before doing anything; the call should simply be retried.
pub fn interrupted(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::Interrupted
}

/// `true` for accept(2) failures caused by running out of file descriptors or kernel memory. Retrying at once would
/// spin: the pending connection stays in the backlog, so the listener stays readable. The caller must back off.
pub fn out_of_descriptors(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM))
}
