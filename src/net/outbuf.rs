//! A connection's pending output: replies queued by the protocol, drained into the socket with `writev`.
//!
//! Small replies (`+OK`, integers, short bulks) are appended to one contiguous `tail` buffer, so a pipeline of a
//! thousand `GET`s becomes one buffer and one system call. A large payload (a 1 MB value) is queued as its own
//! [`Bytes`] chunk without copying. A write gathers up to [`MAX_IOVECS`] chunks plus the tail into a single
//! vectored write and then consumes exactly what the kernel took, so partial writes need no special case.
//!
//! ```text
//!  protocol --push(Bytes)--> chunks: [1 MB value][...]   \
//!  protocol --buf().put()--> tail:   "+OK\r\n:1\r\n..."  /--> write_to(socket) --writev--> kernel
//! ```
//!
//! Redis keeps a fixed 16 KB reply buffer per client plus a list of reply blocks; this is the same idea with
//! reference-counted chunks in place of copies.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use bytes::{Buf, Bytes, BytesMut};

/// Payloads shorter than this are copied into the tail instead of queued as a chunk: one more iovec costs more
/// than copying a few KiB.
const COPY_BELOW_BYTES: usize = 4 * 1024;

/// The tail's first allocation. Enough for a pipeline of small replies; it grows on demand.
const TAIL_INITIAL_BYTES: usize = 4 * 1024;

/// Linux's `IOV_MAX` is 1024; a few dozen slices already amortise the system call.
const MAX_IOVECS: usize = 64;

/// What one [`OutBuf::write_to`] call achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Bytes the kernel accepted.
    pub written: usize,
    /// The socket buffer is full (`WouldBlock`): wait for a writable event before trying again.
    pub blocked: bool,
}

/// See [`OutBuf::shape`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutShape {
    /// Bytes appended in place (Redis's fixed reply buffer: `obl`).
    pub buffered: usize,
    /// Payloads queued by reference behind it (Redis's reply list: `oll`), and their bytes (`omem`).
    pub chunks: usize,
    pub chunk_bytes: usize,
    /// Memory the output holds.
    pub allocated: usize,
}

/// Pending output of one connection.
#[derive(Debug, Default)]
pub struct OutBuf {
    /// Older output, oldest first. Each chunk is written before anything behind it.
    chunks: VecDeque<Bytes>,
    /// Total bytes in `chunks`, kept so `len()` is O(1).
    chunked: usize,
    /// Newest output: small replies appended in place. Always written after every chunk.
    tail: BytesMut,
}

impl OutBuf {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes waiting to be written.
    pub fn len(&self) -> usize {
        self.chunked + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer to append small replies to. Allocated on first use and released once written, so an idle
    /// connection holds no output memory.
    pub fn buf(&mut self) -> &mut BytesMut {
        if self.tail.capacity() == 0 {
            self.tail.reserve(TAIL_INITIAL_BYTES);
        }
        &mut self.tail
    }

    /// Appends bytes by copying them.
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        self.buf().extend_from_slice(data);
    }

    /// Queues a payload. Large payloads are queued by reference, not copied.
    pub fn push(&mut self, data: Bytes) {
        if data.len() < COPY_BELOW_BYTES {
            self.extend_from_slice(&data);
            return;
        }
        if !self.tail.is_empty() {
            // Keep order: what the tail holds now was queued before `data`.
            let older = self.tail.split().freeze();
            self.chunked += older.len();
            self.chunks.push_back(older);
        }
        self.chunked += data.len();
        self.chunks.push_back(data);
    }

    /// How the pending output is held, in the terms of Redis's `CLIENT LIST`: `obl`, `oll`, `omem`.
    pub fn shape(&self) -> OutShape {
        OutShape {
            buffered: self.tail.len(),
            chunks: self.chunks.len(),
            chunk_bytes: self.chunked,
            allocated: self.tail.capacity() + self.chunked,
        }
    }

    /// Drops everything queued (used when a connection is closed without flushing).
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.chunked = 0;
        self.tail = BytesMut::new();
    }

    /// Writes as much as the writer accepts, up to about `budget` bytes (a fairness cap: one connection with
    /// megabytes queued must not hold up the others for a whole tick). `WouldBlock` is not an error here: it is
    /// reported as [`WriteOutcome::blocked`]. Any other error is returned, and the connection is beyond saving.
    pub fn write_to<W: Write>(&mut self, w: &mut W, budget: usize) -> io::Result<WriteOutcome> {
        let mut written = 0;
        while !self.is_empty() && written < budget {
            let n = {
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS + 1];
                let mut count = 0;
                for chunk in self.chunks.iter().take(MAX_IOVECS) {
                    slices[count] = IoSlice::new(chunk);
                    count += 1;
                }
                if count < MAX_IOVECS && !self.tail.is_empty() {
                    slices[count] = IoSlice::new(&self.tail);
                    count += 1;
                }
                match w.write_vectored(&slices[..count]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        return Ok(WriteOutcome { written, blocked: true });
                    }
                    Err(e) => return Err(e),
                }
            };
            self.consume(n);
            written += n;
        }
        self.release_if_empty();
        Ok(WriteOutcome { written, blocked: false })
    }

    /// Removes `n` written bytes from the front.
    fn consume(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else { break };
            if n < front.len() {
                front.advance(n);
                self.chunked -= n;
                return;
            }
            n -= front.len();
            self.chunked -= front.len();
            self.chunks.pop_front();
        }
        if n > 0 {
            self.tail.advance(n);
        }
    }

    /// Gives memory back once everything is written, keeping idle connections small.
    fn release_if_empty(&mut self) {
        if self.is_empty() {
            self.tail = BytesMut::new();
            if self.chunks.capacity() > 0 {
                self.chunks = VecDeque::new();
            }
        }
    }

    /// Iterates over the queued bytes in write order (for tests and debugging).
    pub fn iter_chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.chunks.iter().map(|c| &c[..]).chain(std::iter::once(&self.tail[..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that accepts at most `cap` bytes per call and then `WouldBlock` after `calls` calls.
    struct Trickle {
        got: Vec<u8>,
        cap: usize,
        calls_left: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            if self.calls_left == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.calls_left -= 1;
            let mut n = 0;
            for b in bufs {
                let take = (self.cap - n).min(b.len());
                self.got.extend_from_slice(&b[..take]);
                n += take;
                if n == self.cap {
                    break;
                }
            }
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn keeps_order_across_small_and_large_pushes_and_partial_writes() {
        let mut out = OutBuf::new();
        let big = Bytes::from(vec![b'x'; 10_000]);
        let mut expected = Vec::new();
        out.extend_from_slice(b"+OK\r\n");
        expected.extend_from_slice(b"+OK\r\n");
        out.push(big.clone());
        expected.extend_from_slice(&big);
        out.push(Bytes::from_static(b":1\r\n"));
        expected.extend_from_slice(b":1\r\n");
        assert_eq!(out.len(), expected.len());

        let mut w = Trickle { got: Vec::new(), cap: 7, calls_left: usize::MAX };
        while !out.is_empty() {
            out.write_to(&mut w, 13).unwrap();
        }
        assert_eq!(w.got, expected);
    }

    #[test]
    fn would_block_keeps_the_rest() {
        let mut out = OutBuf::new();
        out.extend_from_slice(b"hello world");
        let mut w = Trickle { got: Vec::new(), cap: 5, calls_left: 1 };
        assert_eq!(out.write_to(&mut w, usize::MAX).unwrap(), WriteOutcome { written: 5, blocked: true });
        assert_eq!(out.len(), 6);
        assert_eq!(out.write_to(&mut w, usize::MAX).unwrap(), WriteOutcome { written: 0, blocked: true });
        assert_eq!(out.iter_chunks().flatten().copied().collect::<Vec<u8>>(), b" world");
    }

    #[test]
    fn releases_memory_when_drained() {
        let mut out = OutBuf::new();
        out.extend_from_slice(&[1u8; 100]);
        let mut w = Trickle { got: Vec::new(), cap: usize::MAX, calls_left: usize::MAX };
        out.write_to(&mut w, usize::MAX).unwrap();
        assert!(out.is_empty());
        assert_eq!(out.tail.capacity(), 0);
    }
}
