//! Flow control and the fair writer, shared by the server and the client connection.
//!
//! Send side: every stream has a queue of outgoing items ([`StreamOut`]) and a send window (the peer's credit for
//! that stream); the connection has one more window. The [`SendScheduler`] moves bytes from stream queues into the
//! connection's output buffer:
//!
//! ```text
//!  handler --queue--> StreamOut(7)  \
//!  handler --queue--> StreamOut(9)   >-- ready ring (round robin, <= quantum bytes per stream per turn) --> OutBuf
//!  handler --queue--> StreamOut(11) /      limited by min(stream window, connection window, peer frame size)
//! ```
//!
//! A stream with a 100 MiB response therefore gets one quantum, then every other ready stream gets one, and so on:
//! it cannot starve a small call that arrived after it. A stream out of credit leaves the ring and comes back when
//! a WINDOW_UPDATE arrives. The scheduler stops filling the output buffer at a caller-given limit, so what sits in
//! the reactor's buffer is bounded too; the rest waits in the stream queues, which their producers bound.
//!
//! Receive side: [`RecvWindow`] counts the credit we granted and the bytes the application consumed, and says
//! when to send a WINDOW_UPDATE (batched at half the initial window, as the spec asks).
//!
//! Simplification against HTTP/2: no priorities (RFC 9113 deprecated them); every ready stream is equal.

use std::collections::VecDeque;

use bytes::{Buf, BufMut, Bytes};

use super::fastmap::FastMap;
use super::frame::{self, Frame, FrameType, FLAG_END_STREAM, FLAG_MESSAGE_CONTINUES, MAX_WINDOW};
use super::status::Status;
use crate::net::OutBuf;

/// One thing a stream wants to send, in order.
#[derive(Debug)]
pub(crate) enum OutItem {
    /// A whole message; `sent` bytes of it are already written (as DATA pieces with MESSAGE_CONTINUES).
    Message { bytes: Bytes, sent: usize, end_stream: bool },
    /// Client only: no more messages.
    HalfClose,
    /// Server only: the call's outcome. Always the last item.
    Status(Status),
}

/// A stream's send queue and send window.
#[derive(Debug, Default)]
pub(crate) struct StreamOut {
    /// Credit the peer gave this stream, bytes.
    pub window: i64,
    pub queue: VecDeque<OutItem>,
    /// Message bytes queued and not yet written.
    pub queued_bytes: usize,
    /// In the scheduler's ready ring.
    scheduled: bool,
}

impl StreamOut {
    #[cfg(test)]
    pub fn new(window: u32) -> StreamOut {
        StreamOut { window: i64::from(window), ..StreamOut::default() }
    }

    /// A stream's output, reusing an empty queue from a finished stream (both ends keep a few spares).
    pub fn with_queue(window: u32, queue: VecDeque<OutItem>) -> StreamOut {
        debug_assert!(queue.is_empty());
        // Every field named: `..StreamOut::default()` would build an empty queue only to drop it (about 35
        // instructions, callgrind).
        StreamOut { window: i64::from(window), queue, queued_bytes: 0, scheduled: false }
    }

    /// Empties a finished stream's queue for reuse by another stream, keeping its allocation.
    pub fn reset(&mut self) {
        // Normally empty already (`clear` costs about 18 instructions even then).
        if !self.queue.is_empty() {
            self.queue.clear();
        }
        self.window = 0;
        self.queued_bytes = 0;
        self.scheduled = false;
    }

    pub fn push(&mut self, item: OutItem) {
        if let OutItem::Message { bytes, .. } = &item {
            self.queued_bytes += bytes.len();
        }
        self.queue.push_back(item);
    }

    /// Drops queued messages (not a queued STATUS), e.g. when a deadline makes them pointless.
    pub fn drop_messages(&mut self) {
        self.queue.retain(|item| !matches!(item, OutItem::Message { .. }));
        self.queued_bytes = 0;
    }

    /// Whether the front item can be written now.
    fn can_progress(&self, conn_window: i64) -> bool {
        match self.queue.front() {
            None => false,
            Some(OutItem::Message { bytes, sent, .. }) => bytes.len() == *sent || (self.window > 0 && conn_window > 0),
            Some(_) => true,
        }
    }
}

/// Gives the scheduler a stream's [`StreamOut`] inside the caller's own stream type.
pub(crate) trait HasOut {
    fn out(&mut self) -> &mut StreamOut;
}

impl<T: HasOut> HasOut for Box<T> {
    fn out(&mut self) -> &mut StreamOut {
        (**self).out()
    }
}

/// What one scheduler turn wrote for a stream.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Written {
    /// DATA payload bytes written.
    pub data_bytes: usize,
    /// Whole messages finished.
    pub messages: usize,
    /// The STATUS went out: the stream is closed.
    pub status: bool,
}

/// Round-robin writer over the ready streams of one connection.
#[derive(Debug)]
pub(crate) struct SendScheduler {
    /// Credit the peer gave the whole connection, bytes.
    pub conn_window: i64,
    /// The peer's `max_frame_payload`.
    pub max_frame: usize,
    /// Most bytes one stream writes per turn before the next ready stream goes.
    pub quantum: usize,
    ready: VecDeque<u32>,
}

impl SendScheduler {
    pub fn new(conn_window: u32, max_frame: u32, quantum: usize) -> SendScheduler {
        SendScheduler {
            conn_window: i64::from(conn_window),
            max_frame: max_frame as usize,
            quantum: quantum.max(1),
            ready: VecDeque::new(),
        }
    }

    /// Puts the stream in the ready ring if it has something it can send.
    pub fn schedule(&mut self, stream_id: u32, out: &mut StreamOut) {
        if !out.scheduled && out.can_progress(self.conn_window) {
            out.scheduled = true;
            self.ready.push_back(stream_id);
        }
    }

    /// Whether any stream is waiting in the ring.
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Connection-level credit arrived: streams parked on the connection window may go again.
    pub fn conn_credit<S: HasOut>(&mut self, increment: u32, streams: &mut FastMap<u32, S>) -> Result<(), ()> {
        add_credit(&mut self.conn_window, increment)?;
        for (id, stream) in streams.iter_mut() {
            self.schedule(*id, stream.out());
        }
        Ok(())
    }

    /// Writes ready streams into `dst`, a quantum per stream per turn, until `dst` holds `limit` bytes or nothing
    /// can move. `report` hears what was written for each stream that had a turn.
    pub fn run<S: HasOut>(
        &mut self,
        streams: &mut FastMap<u32, S>,
        dst: &mut OutBuf,
        limit: usize,
        mut report: impl FnMut(u32, &mut S, Written),
    ) {
        while dst.len() < limit {
            let Some(id) = self.ready.pop_front() else { break };
            let Some(stream) = streams.get_mut(&id) else { continue };
            let out = stream.out();
            out.scheduled = false;
            let mut written = Written::default();
            let mut budget = self.quantum;
            while budget > 0 {
                match out.queue.front_mut() {
                    None => break,
                    Some(OutItem::Message { bytes, sent, end_stream }) => {
                        let remaining = bytes.len() - *sent;
                        let window = out.window.min(self.conn_window).max(0) as usize;
                        let n = remaining.min(self.max_frame).min(budget).min(window);
                        if n == 0 && remaining > 0 {
                            break; // out of credit: wait for WINDOW_UPDATE
                        }
                        let last = *sent + n == bytes.len();
                        let flags = match (last, *end_stream) {
                            (false, _) => FLAG_MESSAGE_CONTINUES,
                            (true, true) => FLAG_END_STREAM,
                            (true, false) => 0,
                        };
                        if last {
                            // The rest of the message moves into the output as it is: slicing would clone the
                            // `Bytes`, and the first clone of one built from a `Vec` allocates a shared header
                            // (about 100 instructions per unary response, callgrind).
                            let mut rest = std::mem::take(bytes);
                            rest.advance(*sent);
                            put_data(dst, id, rest, flags);
                            written.messages += 1;
                            out.queue.pop_front();
                        } else {
                            put_data(dst, id, bytes.slice(*sent..*sent + n), flags);
                            *sent += n;
                        }
                        out.window -= n as i64;
                        self.conn_window -= n as i64;
                        out.queued_bytes -= n;
                        budget = budget.saturating_sub(n.max(1));
                        written.data_bytes += n;
                    }
                    Some(OutItem::HalfClose) => {
                        let _ = frame::encode(&Frame::HalfClose { stream_id: id }, dst.buf());
                        out.queue.pop_front();
                    }
                    Some(OutItem::Status(_)) => {
                        let Some(OutItem::Status(status)) = out.queue.pop_front() else { break };
                        let _ = frame::encode_status(id, &status, dst.buf());
                        written.status = true;
                        // Normally empty already; `clear` on an empty deque still costs about 18 instructions.
                        if !out.queue.is_empty() {
                            out.queue.clear();
                        }
                        break;
                    }
                }
            }
            let again = out.can_progress(self.conn_window);
            if again {
                out.scheduled = true;
                self.ready.push_back(id);
            }
            report(id, stream, written);
        }
    }
}

/// Appends a DATA header; the payload follows as a zero-copy chunk.
/// Appends one DATA frame: the header, then the payload (copied or queued by reference, as `OutBuf::push`
/// decides). The payload is at most one frame, which the caller checked against the peer's limits and windows.
#[inline]
pub(crate) fn put_data(dst: &mut OutBuf, stream_id: u32, payload: Bytes, flags: u8) {
    dst.buf().put_slice(&frame::header_bytes(payload.len() as u32, stream_id, FrameType::Data as u8, flags));
    if !payload.is_empty() {
        dst.push(payload);
    }
}

/// Adds WINDOW_UPDATE credit to a send window; `Err` if it would pass 2^31-1 (a FLOW_CONTROL_ERROR).
pub(crate) fn add_credit(window: &mut i64, increment: u32) -> Result<(), ()> {
    let next = *window + i64::from(increment);
    if next > i64::from(MAX_WINDOW) {
        return Err(());
    }
    *window = next;
    Ok(())
}

/// One receive window (a stream's or the connection's): credit granted, and consumed bytes not yet returned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecvWindow {
    initial: u32,
    /// Credit the peer still has: bytes it may send before we return more.
    available: i64,
    /// Bytes consumed by the application whose credit has not been returned yet.
    unreturned: u32,
}

impl RecvWindow {
    pub fn new(initial: u32) -> RecvWindow {
        RecvWindow { initial, available: i64::from(initial), unreturned: 0 }
    }

    /// The peer sent `n` DATA bytes; `false` if it had no credit for them (FLOW_CONTROL_ERROR).
    pub fn receive(&mut self, n: usize) -> bool {
        let n = n as i64;
        if n > self.available {
            return false;
        }
        self.available -= n;
        true
    }

    /// The application consumed `n` bytes. Returns the WINDOW_UPDATE increment to send, once the un-returned
    /// credit reaches half the initial window (batching: not one update per frame).
    pub fn consume(&mut self, n: usize) -> Option<u32> {
        self.unreturned = self.unreturned.saturating_add(n as u32);
        if self.unreturned > 0 && self.unreturned >= (self.initial / 2).max(1) {
            return self.flush();
        }
        None
    }

    /// Counts `n` consumed bytes and returns all un-returned credit now, batching already done by the caller (the
    /// client's call handles batch on their side of the channel).
    pub fn release(&mut self, n: usize) -> Option<u32> {
        self.unreturned = self.unreturned.saturating_add(n as u32);
        self.flush()
    }

    /// Returns all un-returned credit now (the application is waiting for more).
    pub fn flush(&mut self) -> Option<u32> {
        if self.unreturned == 0 {
            return None;
        }
        let increment = self.unreturned;
        self.unreturned = 0;
        self.available += i64::from(increment);
        Some(increment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct S(StreamOut);
    impl HasOut for S {
        fn out(&mut self) -> &mut StreamOut {
            &mut self.0
        }
    }

    fn bytes_of(out: &mut OutBuf) -> Vec<u8> {
        out.iter_chunks().flatten().copied().collect()
    }

    /// Frame (stream id, payload len) pairs in order.
    fn frames(wire: &[u8]) -> Vec<(u32, usize)> {
        let mut v = Vec::new();
        let mut at = 0;
        while at < wire.len() {
            let len = u32::from_be_bytes(wire[at..at + 4].try_into().unwrap()) as usize;
            let id = u32::from_be_bytes(wire[at + 4..at + 8].try_into().unwrap());
            v.push((id, len));
            at += frame::HEADER_LEN + len;
        }
        v
    }

    #[test]
    fn a_big_stream_cannot_starve_a_small_one() {
        let mut sched = SendScheduler::new(1 << 30, 16 * 1024, 16 * 1024);
        let mut streams = FastMap::default();
        let mut big = StreamOut::new(1 << 30);
        big.push(OutItem::Message { bytes: Bytes::from(vec![1u8; 1 << 20]), sent: 0, end_stream: false });
        streams.insert(1, S(big));
        let mut small = StreamOut::new(1 << 30);
        small.push(OutItem::Message { bytes: Bytes::from_static(b"hi"), sent: 0, end_stream: false });
        small.push(OutItem::Status(Status::ok()));
        streams.insert(3, S(small));
        sched.schedule(1, &mut streams.get_mut(&1).unwrap().0);
        sched.schedule(3, &mut streams.get_mut(&3).unwrap().0);
        let mut out = OutBuf::new();
        let mut closed = Vec::new();
        sched.run(&mut streams, &mut out, usize::MAX, |id, _, w| {
            if w.status {
                closed.push(id)
            }
        });
        let f = frames(&bytes_of(&mut out));
        // One 16 KiB piece of the big message, then the small stream's message and STATUS, then the rest.
        assert_eq!(f[0], (1, 16 * 1024));
        assert_eq!(f[1], (3, 2));
        assert_eq!(f[2].0, 3);
        assert_eq!(f.len(), 2 + 64);
        assert_eq!(closed, [3]);
    }

    #[test]
    fn windows_stop_the_writer_and_credit_restarts_it() {
        let mut sched = SendScheduler::new(1000, 16 * 1024, 64 * 1024);
        let mut streams = FastMap::default();
        let mut s = StreamOut::new(300);
        s.push(OutItem::Message { bytes: Bytes::from(vec![0u8; 2000]), sent: 0, end_stream: false });
        streams.insert(5, S(s));
        sched.schedule(5, &mut streams.get_mut(&5).unwrap().0);
        let mut out = OutBuf::new();
        sched.run(&mut streams, &mut out, usize::MAX, |_, _, _| {});
        assert_eq!(frames(&bytes_of(&mut out)), [(5, 300)], "stream window");
        assert!(!sched.has_ready());
        // Stream credit beyond the connection window: the connection window (700 left) is the limit now.
        add_credit(&mut streams.get_mut(&5).unwrap().0.window, 5000).unwrap();
        sched.schedule(5, &mut streams.get_mut(&5).unwrap().0);
        let mut out = OutBuf::new();
        sched.run(&mut streams, &mut out, usize::MAX, |_, _, _| {});
        assert_eq!(frames(&bytes_of(&mut out)), [(5, 700)]);
        sched.conn_credit(10_000, &mut streams).unwrap();
        let mut out = OutBuf::new();
        sched.run(&mut streams, &mut out, usize::MAX, |_, _, _| {});
        assert_eq!(frames(&bytes_of(&mut out)), [(5, 1000)]);
        assert!(sched.conn_credit(MAX_WINDOW, &mut streams).is_err(), "overflow past 2^31-1");
    }

    #[test]
    fn empty_messages_need_no_credit() {
        let mut sched = SendScheduler::new(0, 1024, 1024);
        let mut streams = FastMap::default();
        let mut s = StreamOut::new(0);
        s.push(OutItem::Message { bytes: Bytes::new(), sent: 0, end_stream: true });
        streams.insert(1, S(s));
        sched.schedule(1, &mut streams.get_mut(&1).unwrap().0);
        let mut out = OutBuf::new();
        sched.run(&mut streams, &mut out, usize::MAX, |_, _, _| {});
        assert_eq!(bytes_of(&mut out), [0, 0, 0, 0, 0, 0, 0, 1, 2, FLAG_END_STREAM]);
    }

    #[test]
    fn credit_is_returned_in_batches_of_half_a_window() {
        let mut w = RecvWindow::new(1000);
        assert!(w.receive(600));
        assert!(!w.receive(401), "only 400 credit left");
        assert_eq!(w.consume(300), None);
        assert_eq!(w.consume(300), Some(600));
        assert!(w.receive(1000));
        assert_eq!(w.consume(10), None);
        assert_eq!(w.flush(), Some(10));
        assert_eq!(w.flush(), None);
    }
}
