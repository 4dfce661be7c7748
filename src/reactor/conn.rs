//! One connection's state as the reactor keeps it in its slab.
//!
//! The reactor owns the socket and the buffers; the protocol owns `session` and appends to `out`. Flags record
//! where the connection stands in the loop (queued for a write, paused by backpressure, closing) so that every
//! list the reactor keeps is O(1) to update and never holds a connection twice.

use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::net::{OutBuf, PeerAddr, Stream};

use super::timer::TimerId;
use super::ListenerId;

/// A connection's place in the slab, which is also its mio `Token`. Reused after the connection is removed, so
/// protocols that keep ids (subscribers, blocked clients) must forget them in [`super::Protocol::closed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub usize);

/// Output limits, in the spirit of Redis's `client-output-buffer-limit <class> <hard> <soft> <soft-seconds>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputLimits {
    /// Pending output above this closes the connection at once. 0 = no hard limit.
    pub hard_bytes: usize,
    /// Pending output above this for longer than `soft_secs` closes the connection. 0 = no soft limit.
    pub soft_bytes: usize,
    pub soft_millis: u64,
}

impl OutputLimits {
    /// No limit at all (Redis's default for normal clients). Backpressure alone then bounds memory for clients
    /// that only get replies to their own requests.
    pub const UNLIMITED: OutputLimits = OutputLimits { hard_bytes: 0, soft_bytes: 0, soft_millis: 0 };

    pub(crate) fn over_hard(&self, pending: usize) -> bool {
        self.hard_bytes != 0 && pending > self.hard_bytes
    }

    pub(crate) fn over_soft(&self, pending: usize) -> bool {
        self.soft_bytes != 0 && pending > self.soft_bytes
    }

    /// Whether `pending` bytes of output have been over the soft limit for `soft_millis` or longer. `soft_since`
    /// is the caller's memory of when output first went over it, cleared here as soon as it is back under.
    pub fn soft_expired(&self, pending: usize, soft_since: &mut Option<Instant>, now: Instant) -> bool {
        if !self.over_soft(pending) {
            *soft_since = None;
            return false;
        }
        let since = *soft_since.get_or_insert(now);
        now.duration_since(since) >= Duration::from_millis(self.soft_millis)
    }

    /// Whether a connection with `pending` bytes of output must be closed: over the hard limit, or over the soft
    /// limit for too long (see [`OutputLimits::soft_expired`]).
    pub fn exceeded(&self, pending: usize, soft_since: &mut Option<Instant>, now: Instant) -> bool {
        self.over_hard(pending) || self.soft_expired(pending, soft_since, now)
    }
}

/// Why a connection closed, for the protocol's bookkeeping and for logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed its side and everything owed was sent.
    PeerClosed,
    /// A socket error, such as a reset.
    Io(std::io::ErrorKind),
    /// The protocol asked for it ([`super::Core::close`] or [`super::Core::close_after_flush`]).
    Requested,
    /// Output limit exceeded: the peer does not read its replies fast enough.
    OutputLimit,
    /// Input beyond the reactor's safety cap.
    InputLimit,
    /// No traffic for longer than the idle timeout.
    Idle,
    /// An outbound connect failed or timed out.
    ConnectFailed,
    /// The reactor is shutting down.
    Shutdown,
}

/// A connection in the reactor's slab.
#[derive(Debug)]
pub struct Conn<S> {
    pub(crate) stream: Stream,
    /// Protocol state for this connection (a RESP client, an RPC connection, ...).
    pub session: S,
    /// Replies waiting to be written. Protocols append here; the reactor drains it before sleeping.
    pub out: OutBuf,
    /// Bytes read but not yet consumed by the protocol. Empty, and unallocated, while the connection is idle.
    pub(crate) input: BytesMut,
    pub(crate) peer: PeerAddr,
    pub(crate) listener: Option<ListenerId>,
    /// Monotonic id, never reused (Redis's client id). Slab keys are reused; this is not.
    pub(crate) serial: u64,
    pub(crate) created: Instant,
    pub(crate) last_active: Instant,
    pub(crate) limits: OutputLimits,
    /// When output first went over the soft limit, if it still is.
    pub(crate) soft_since: Option<Instant>,
    pub(crate) connect_timer: Option<TimerId>,
    pub(crate) flags: Flags,
}

/// Loop bookkeeping, one bit each.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Flags {
    /// In `Core::write_queue`.
    pub write_queued: bool,
    /// In `Core::run_queue`.
    pub run_queued: bool,
    /// Readable but not drained (read budget hit, or paused by backpressure).
    pub read_ready: bool,
    /// Output reached the high watermark: neither read nor handed to the protocol until it drains to the low one.
    pub paused: bool,
    /// WRITABLE interest is registered with epoll.
    pub writable_registered: bool,
    /// The peer shut down its write side (read returned 0).
    pub peer_closed: bool,
    /// Stop reading; close once output is flushed.
    pub close_after_flush: bool,
    /// Marked for removal after this event batch; no more events are processed.
    pub closing: bool,
    /// Outbound connect still in progress.
    pub connecting: bool,
    /// Not subject to the idle timeout (e.g. a blocked or subscribed client, as in Redis).
    pub idle_exempt: bool,
}

impl<S> Conn<S> {
    /// Never reused, unlike the slab key: suitable as a client id.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    pub fn peer(&self) -> &PeerAddr {
        &self.peer
    }

    /// The local address of a TCP connection.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.stream.local_addr()
    }

    /// The listener that accepted this connection; `None` for outbound connections.
    pub fn listener(&self) -> Option<ListenerId> {
        self.listener
    }

    pub fn created(&self) -> Instant {
        self.created
    }

    /// When bytes last arrived from the peer.
    pub fn last_active(&self) -> Instant {
        self.last_active
    }

    /// Bytes read and not yet consumed by the protocol.
    pub fn input_len(&self) -> usize {
        self.input.len()
    }

    /// Allocated capacity of the input buffer (Redis's `qbuf-free` + `qbuf`).
    pub fn input_capacity(&self) -> usize {
        self.input.capacity()
    }

    pub fn is_closing(&self) -> bool {
        self.flags.closing || self.flags.close_after_flush
    }

    /// The peer has shut down its sending side.
    pub fn peer_closed(&self) -> bool {
        self.flags.peer_closed
    }

    pub fn limits(&self) -> OutputLimits {
        self.limits
    }

    pub fn set_limits(&mut self, limits: OutputLimits) {
        self.limits = limits;
    }

    /// Bytes read and not yet consumed, and the input buffer's capacity (Redis's `qbuf`, `qbuf-free`). Inside
    /// [`Protocol::data`](super::Protocol::data) the buffer is lent to the protocol, and this shows it empty.
    pub fn input_shape(&self) -> (usize, usize) {
        (self.input.len(), self.input.capacity() - self.input.len())
    }

    /// Exempts the connection from the idle timeout (Redis exempts blocked and Pub/Sub clients).
    pub fn set_idle_exempt(&mut self, exempt: bool) {
        self.flags.idle_exempt = exempt;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_limits_close_over_hard_at_once_and_over_soft_after_its_time() {
        let limits = OutputLimits { hard_bytes: 1000, soft_bytes: 100, soft_millis: 50 };
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut since = None;
        assert!(!limits.exceeded(100, &mut since, at(0)), "at the soft limit is not over it");
        assert!(since.is_none());
        assert!(!limits.exceeded(101, &mut since, at(10)), "over soft: the clock starts");
        assert_eq!(since, Some(at(10)));
        assert!(!limits.exceeded(500, &mut since, at(59)));
        assert!(limits.exceeded(500, &mut since, at(60)), "over soft for 50 ms");
        assert!(!limits.exceeded(50, &mut since, at(61)), "back under: forgiven");
        assert!(since.is_none());
        assert!(!limits.exceeded(101, &mut since, at(100)), "a new stretch starts from zero");
        assert!(limits.exceeded(1001, &mut None, at(0)), "over hard: at once");
        assert!(!OutputLimits::UNLIMITED.exceeded(usize::MAX, &mut None, at(1_000_000)));
    }
}
