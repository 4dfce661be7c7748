//! The smallest protocol the reactor can run: every byte received is sent back.
//!
//! It exists to exercise the reactor on its own (tests, the loopback echo benchmark, and the third teaching
//! example) and shows the whole [`Protocol`] contract in a dozen lines:
//!
//! ```text
//!  socket --read--> input --data()--> out.extend(input); input.clear() --flush phase--> socket
//! ```

use bytes::BytesMut;

use crate::reactor::{ConnId, Core, ListenerId, Protocol};

/// Echoes input back. Counts what it echoed, for tests and benchmarks.
#[derive(Debug, Default)]
pub struct Echo {
    pub echoed_bytes: u64,
}

impl Protocol for Echo {
    type Session = ();
    type Timer = ();
    type Message = ();

    fn accept(&mut self, _listener: ListenerId) {}

    fn data(&mut self, cx: &mut Core<Self>, id: ConnId, input: &mut BytesMut) {
        let Some(conn) = cx.conn_mut(id) else { return };
        // Copying is the simplest correct move; the reactor has already bounded `input` by its read budget, and
        // backpressure stops reading once `out` is over the high watermark.
        conn.out.extend_from_slice(input);
        self.echoed_bytes += input.len() as u64;
        input.clear();
    }
}
