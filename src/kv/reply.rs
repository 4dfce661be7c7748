//! The reply writer handlers use: RESP2 or RESP3, chosen per client by `HELLO`.
//!
//! A [`Reply`] borrows the client's [`OutBuf`] and appends encoded frames to it; the reactor sends them in its flush
//! phase. Aggregate types degrade the way Redis degrades them for RESP2 clients: a map becomes a flat array of
//! key/value pairs, a set an array, a double a bulk string, a boolean an integer, a push an array, a null `$-1`.

use bytes::Bytes;

use super::error::CmdError;
use super::resp::Encoder;
use crate::net::OutBuf;

pub use super::resp::Resp;

/// Appends replies to one client's output.
pub struct Reply<'a> {
    out: &'a mut OutBuf,
    resp: Resp,
}

impl<'a> Reply<'a> {
    pub fn new(out: &'a mut OutBuf, resp: Resp) -> Self {
        Reply { out, resp }
    }

    /// An encoder over the output's small-reply buffer; free to create.
    fn enc(&mut self) -> Encoder<'_> {
        Encoder::new(self.out.buf(), self.resp)
    }

    /// The protocol version this client speaks.
    pub fn resp(&self) -> Resp {
        self.resp
    }

    /// Switches protocol version mid-command (`HELLO` replies in the version it selects).
    pub fn set_resp(&mut self, resp: Resp) {
        self.resp = resp;
    }

    /// Bytes queued so far, for backpressure decisions.
    pub fn pending(&self) -> usize {
        self.out.len()
    }

    pub fn ok(&mut self) {
        self.out.extend_from_slice(b"+OK\r\n");
    }

    pub fn simple(&mut self, s: &str) {
        self.enc().simple(s.as_bytes());
    }

    /// An error reply. The text carries its own code (`ERR ...`, `WRONGTYPE ...`), so it is sent after a `-` as is
    /// (the encoder would otherwise put a second `ERR ` in front). Newlines in the text would break the protocol,
    /// so the encoder turns them into spaces, as Redis does.
    pub fn error(&mut self, e: &CmdError) {
        let text = format!("-{e}");
        self.enc().error(text.as_bytes());
    }

    pub fn int(&mut self, n: i64) {
        self.enc().integer(n);
    }

    pub fn bulk(&mut self, b: &[u8]) {
        self.enc().bulk(b);
    }

    /// A bulk string from shared bytes: large values are queued without copying.
    pub fn bulk_shared(&mut self, b: Bytes) {
        let mut digits = itoa::Buffer::new();
        let buf = self.out.buf();
        buf.extend_from_slice(b"$");
        buf.extend_from_slice(digits.format(b.len()).as_bytes());
        buf.extend_from_slice(b"\r\n");
        self.out.push(b);
        self.out.extend_from_slice(b"\r\n");
    }

    /// The null reply: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        self.enc().null();
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        self.enc().null_array();
    }

    pub fn array(&mut self, len: usize) {
        self.enc().array(len);
    }

    /// A map header for `len` pairs (a flat array of `2 * len` in RESP2).
    pub fn map(&mut self, len: usize) {
        self.enc().map(len);
    }

    /// A set header (an array in RESP2).
    pub fn set(&mut self, len: usize) {
        self.enc().set(len);
    }

    /// A push header (an array in RESP2), for Pub/Sub messages.
    pub fn push(&mut self, len: usize) {
        self.enc().push(len);
    }

    /// A double (`,` in RESP3, a bulk string in RESP2), formatted as Redis 7.0 does (`%.17g`).
    pub fn double(&mut self, d: f64) {
        self.enc().double(d);
    }

    /// A boolean (`#t`/`#f` in RESP3, `:1`/`:0` in RESP2).
    pub fn boolean(&mut self, b: bool) {
        self.enc().boolean(b);
    }

    /// A verbatim string (`=` with a 3-letter format in RESP3, a bulk string in RESP2): `INFO`, `CLIENT LIST`.
    pub fn verbatim(&mut self, text: &[u8]) {
        self.enc().verbatim(b"txt", text);
    }

    /// Raw, already encoded bytes.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
}
