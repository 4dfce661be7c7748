//! The reply encoder: appends RESP2 or RESP3 replies to a connection's output buffer.
//!
//! Data flow: a command handler wraps the connection's output `BytesMut` in an [`Encoder`] for the protocol the
//! client chose with `HELLO`, and calls one method per reply element (`array(2)`, then `bulk(..)` twice, say).
//! Nothing is flushed here; the reactor writes the buffer out once per loop tick.
//!
//! RESP3 types that RESP2 lacks are sent in their RESP2 form, as Redis 7.0 does:
//!
//! | reply        | RESP3                  | RESP2                        |
//! |--------------|------------------------|------------------------------|
//! | null         | `_\r\n`                | `$-1\r\n`                    |
//! | null array   | `_\r\n`                | `*-1\r\n`                    |
//! | map of n     | `%n\r\n`               | `*2n\r\n` (flat key, value)  |
//! | set of n     | `~n\r\n`               | `*n\r\n`                     |
//! | push of n    | `>n\r\n`               | `*n\r\n`                     |
//! | double       | `,1.5\r\n`             | `$3\r\n1.5\r\n`              |
//! | boolean      | `#t\r\n` / `#f\r\n`    | `:1\r\n` / `:0\r\n`          |
//! | verbatim     | `=8\r\ntxt:text\r\n`   | `$4\r\ntext\r\n`             |
//! | big number   | `(123...\r\n`          | `$n\r\n123...\r\n`           |
//!
//! Speed: headers for lengths below 32 come from precomputed tables (Redis keeps shared `*N`/`$N` headers for
//! the same range), integers are printed by `itoa`, and each method reserves once and copies once.

use crate::kv::num::format_double;
use bytes::{BufMut, BytesMut};

/// The protocol version a client speaks (`HELLO 2` / `HELLO 3`). New connections speak RESP2.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Resp {
    /// RESP2, the default.
    #[default]
    V2,
    /// RESP3, after `HELLO 3`.
    V3,
}

/// Lengths below this have a precomputed header, as Redis's `OBJ_SHARED_BULKHDR_LEN` (32).
const SHARED_HEADERS: usize = 32;

/// A header such as `*12\r\n`: at most 5 bytes for lengths below 100.
#[derive(Clone, Copy)]
struct Header {
    bytes: [u8; 5],
    len: u8,
}

impl Header {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

const fn header_table(prefix: u8) -> [Header; SHARED_HEADERS] {
    let mut table = [Header { bytes: [0; 5], len: 0 }; SHARED_HEADERS];
    let mut n = 0;
    while n < SHARED_HEADERS {
        let mut bytes = [prefix, 0, 0, 0, 0];
        let mut at = 1;
        if n >= 10 {
            bytes[at] = b'0' + (n / 10) as u8;
            at += 1;
        }
        bytes[at] = b'0' + (n % 10) as u8;
        bytes[at + 1] = b'\r';
        bytes[at + 2] = b'\n';
        table[n] = Header { bytes, len: (at + 3) as u8 };
        n += 1;
    }
    table
}

static ARRAY_HEADERS: [Header; SHARED_HEADERS] = header_table(b'*');
static BULK_HEADERS: [Header; SHARED_HEADERS] = header_table(b'$');
static MAP_HEADERS: [Header; SHARED_HEADERS] = header_table(b'%');
static SET_HEADERS: [Header; SHARED_HEADERS] = header_table(b'~');
static PUSH_HEADERS: [Header; SHARED_HEADERS] = header_table(b'>');

/// Longest header: a type byte, 20 digits of `u64`, CRLF.
const MAX_HEADER_BYTES: usize = 1 + 20 + 2;

/// Writes replies for one client into its output buffer.
#[derive(Debug)]
pub struct Encoder<'a> {
    out: &'a mut BytesMut,
    resp: Resp,
}

impl<'a> Encoder<'a> {
    /// An encoder appending to `out` in protocol `resp`.
    pub fn new(out: &'a mut BytesMut, resp: Resp) -> Self {
        Encoder { out, resp }
    }

    /// The protocol this encoder speaks.
    pub fn resp(&self) -> Resp {
        self.resp
    }

    /// `+text\r\n`. The text must not contain CR or LF (status replies are fixed strings in practice).
    pub fn simple(&mut self, text: &[u8]) {
        self.out.reserve(text.len() + 3);
        self.out.put_u8(b'+');
        self.out.extend_from_slice(text);
        self.out.extend_from_slice(b"\r\n");
    }

    /// `+OK\r\n`.
    pub fn ok(&mut self) {
        self.out.extend_from_slice(b"+OK\r\n");
    }

    /// An error reply. As in Redis's `addReplyError`, a message that starts with `-` carries its own code
    /// (`-WRONGTYPE ...`) and is sent as is; any other message gets `-ERR ` in front. CR and LF in the message
    /// become spaces (as `addReplyErrorFormat` does), since messages may quote client input and the reply must
    /// stay one line.
    pub fn error(&mut self, message: &[u8]) {
        self.out.reserve(message.len() + 7);
        if message.first() != Some(&b'-') {
            self.out.extend_from_slice(b"-ERR ");
        }
        if message.iter().any(|&b| b == b'\r' || b == b'\n') {
            self.out.extend(message.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        } else {
            self.out.extend_from_slice(message);
        }
        self.out.extend_from_slice(b"\r\n");
    }

    /// `:n\r\n`.
    pub fn integer(&mut self, n: i64) {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(n).as_bytes();
        self.out.reserve(digits.len() + 3);
        self.out.put_u8(b':');
        self.out.extend_from_slice(digits);
        self.out.extend_from_slice(b"\r\n");
    }

    /// `$len\r\nbytes\r\n`.
    pub fn bulk(&mut self, bytes: &[u8]) {
        self.out.reserve(MAX_HEADER_BYTES + bytes.len() + 2);
        self.header(b'$', &BULK_HEADERS, bytes.len());
        self.out.extend_from_slice(bytes);
        self.out.extend_from_slice(b"\r\n");
    }

    /// A missing value (`GET` of a missing key): `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        self.out.extend_from_slice(match self.resp {
            Resp::V2 => b"$-1\r\n",
            Resp::V3 => b"_\r\n",
        });
    }

    /// A missing array (`BLPOP` timeout, aborted `EXEC`): `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        self.out.extend_from_slice(match self.resp {
            Resp::V2 => b"*-1\r\n",
            Resp::V3 => b"_\r\n",
        });
    }

    /// Header of an array of `len` elements, which the caller writes next.
    pub fn array(&mut self, len: usize) {
        self.header(b'*', &ARRAY_HEADERS, len);
    }

    /// Header of a map of `pairs` key/value pairs, which the caller writes next as 2 * `pairs` elements. RESP2
    /// sees a flat array of 2 * `pairs` elements.
    pub fn map(&mut self, pairs: usize) {
        match self.resp {
            Resp::V2 => self.header(b'*', &ARRAY_HEADERS, pairs.saturating_mul(2)),
            Resp::V3 => self.header(b'%', &MAP_HEADERS, pairs),
        }
    }

    /// Header of a set of `len` elements. RESP2 sees an array.
    pub fn set(&mut self, len: usize) {
        match self.resp {
            Resp::V2 => self.header(b'*', &ARRAY_HEADERS, len),
            Resp::V3 => self.header(b'~', &SET_HEADERS, len),
        }
    }

    /// Header of an out-of-band push (pub/sub messages) of `len` elements. RESP2 sees an array.
    pub fn push(&mut self, len: usize) {
        match self.resp {
            Resp::V2 => self.header(b'*', &ARRAY_HEADERS, len),
            Resp::V3 => self.header(b'>', &PUSH_HEADERS, len),
        }
    }

    /// A double, printed as Redis 7.0 does (`%.17g`, `inf`, `-inf`; see [`format_double`]). RESP2 gets it as a
    /// bulk string.
    pub fn double(&mut self, d: f64) {
        let text = format_double(d);
        match self.resp {
            Resp::V2 => self.bulk(text.as_bytes()),
            Resp::V3 => {
                self.out.reserve(text.as_bytes().len() + 3);
                self.out.put_u8(b',');
                self.out.extend_from_slice(text.as_bytes());
                self.out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, the integer 1/0 in RESP2.
    pub fn boolean(&mut self, b: bool) {
        self.out.extend_from_slice(match (self.resp, b) {
            (Resp::V2, true) => b":1\r\n",
            (Resp::V2, false) => b":0\r\n",
            (Resp::V3, true) => b"#t\r\n",
            (Resp::V3, false) => b"#f\r\n",
        });
    }

    /// A verbatim string with its three-letter format (`txt`, `mkd`): `=len\r\nfmt:text\r\n` in RESP3, a plain
    /// bulk string of the text in RESP2.
    pub fn verbatim(&mut self, format: &[u8; 3], text: &[u8]) {
        match self.resp {
            Resp::V2 => self.bulk(text),
            Resp::V3 => {
                let len = text.len() + 4;
                self.out.reserve(MAX_HEADER_BYTES + len + 2);
                self.header_uncached(b'=', len);
                self.out.extend_from_slice(format);
                self.out.put_u8(b':');
                self.out.extend_from_slice(text);
                self.out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// A big number given as its decimal digits (optional leading `-`): `(digits\r\n` in RESP3, a bulk string in
    /// RESP2.
    pub fn big_number(&mut self, digits: &[u8]) {
        match self.resp {
            Resp::V2 => self.bulk(digits),
            Resp::V3 => {
                self.out.reserve(digits.len() + 3);
                self.out.put_u8(b'(');
                self.out.extend_from_slice(digits);
                self.out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Appends raw, already encoded RESP (a cached reply, say).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn header(&mut self, prefix: u8, table: &[Header; SHARED_HEADERS], len: usize) {
        match table.get(len) {
            Some(header) => self.out.extend_from_slice(header.as_bytes()),
            None => self.header_uncached(prefix, len),
        }
    }

    fn header_uncached(&mut self, prefix: u8, len: usize) {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(len).as_bytes();
        self.out.reserve(digits.len() + 3);
        self.out.put_u8(prefix);
        self.out.extend_from_slice(digits);
        self.out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(resp: Resp, f: impl FnOnce(&mut Encoder<'_>)) -> Vec<u8> {
        let mut out = BytesMut::new();
        f(&mut Encoder::new(&mut out, resp));
        out.to_vec()
    }

    fn both(f: impl Fn(&mut Encoder<'_>)) -> (Vec<u8>, Vec<u8>) {
        (encode(Resp::V2, &f), encode(Resp::V3, &f))
    }

    fn pair(v2: &[u8], v3: &[u8]) -> (Vec<u8>, Vec<u8>) {
        (v2.to_vec(), v3.to_vec())
    }

    #[test]
    fn simple_types() {
        assert_eq!(both(|e| e.simple(b"PONG")), pair(b"+PONG\r\n", b"+PONG\r\n"));
        assert_eq!(both(|e| e.ok()), pair(b"+OK\r\n", b"+OK\r\n"));
        assert_eq!(both(|e| e.integer(0)), pair(b":0\r\n", b":0\r\n"));
        assert_eq!(encode(Resp::V2, |e| e.integer(-42)), b":-42\r\n");
        assert_eq!(encode(Resp::V2, |e| e.integer(i64::MIN)), b":-9223372036854775808\r\n");
        assert_eq!(encode(Resp::V2, |e| e.integer(i64::MAX)), b":9223372036854775807\r\n");
    }

    #[test]
    fn errors() {
        assert_eq!(encode(Resp::V2, |e| e.error(b"syntax error")), b"-ERR syntax error\r\n");
        assert_eq!(
            encode(Resp::V3, |e| e.error(b"-WRONGTYPE Operation against a key holding the wrong kind of value")),
            b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        );
        assert_eq!(encode(Resp::V2, |e| e.error(b"unknown command 'a\r\nb'")), b"-ERR unknown command 'a  b'\r\n");
        assert_eq!(encode(Resp::V2, |e| e.error(b"")), b"-ERR \r\n");
    }

    #[test]
    fn bulk_strings() {
        assert_eq!(both(|e| e.bulk(b"")), pair(b"$0\r\n\r\n", b"$0\r\n\r\n"));
        assert_eq!(encode(Resp::V2, |e| e.bulk(b"hello")), b"$5\r\nhello\r\n");
        assert_eq!(encode(Resp::V2, |e| e.bulk(b"a\r\nb")), b"$4\r\na\r\nb\r\n");
        for len in [9, 10, 31, 32, 99, 100, 1000, 100_000] {
            let value = vec![b'x'; len];
            let mut want = format!("${len}\r\n").into_bytes();
            want.extend(&value);
            want.extend(b"\r\n");
            assert_eq!(encode(Resp::V2, |e| e.bulk(&value)), want, "len {len}");
        }
    }

    #[test]
    fn nulls() {
        assert_eq!(both(|e| e.null()), pair(b"$-1\r\n", b"_\r\n"));
        assert_eq!(both(|e| e.null_array()), pair(b"*-1\r\n", b"_\r\n"));
    }

    #[test]
    fn aggregate_headers() {
        for n in [0usize, 1, 9, 10, 31, 32, 33, 1000, 1 << 40] {
            assert_eq!(encode(Resp::V2, |e| e.array(n)), format!("*{n}\r\n").into_bytes());
            assert_eq!(both(|e| e.map(n)), (format!("*{}\r\n", 2 * n).into_bytes(), format!("%{n}\r\n").into_bytes()));
            assert_eq!(both(|e| e.set(n)), (format!("*{n}\r\n").into_bytes(), format!("~{n}\r\n").into_bytes()));
            assert_eq!(both(|e| e.push(n)), (format!("*{n}\r\n").into_bytes(), format!(">{n}\r\n").into_bytes()));
        }
    }

    #[test]
    fn nested_reply() {
        let got = both(|e| {
            e.map(2);
            e.bulk(b"server");
            e.bulk(b"plexus");
            e.bulk(b"modules");
            e.array(0);
        });
        assert_eq!(
            got,
            pair(
                b"*4\r\n$6\r\nserver\r\n$6\r\nplexus\r\n$7\r\nmodules\r\n*0\r\n",
                b"%2\r\n$6\r\nserver\r\n$6\r\nplexus\r\n$7\r\nmodules\r\n*0\r\n"
            )
        );
    }

    #[test]
    fn doubles() {
        assert_eq!(both(|e| e.double(1.5)), pair(b"$3\r\n1.5\r\n", b",1.5\r\n"));
        assert_eq!(both(|e| e.double(1.1)), pair(b"$18\r\n1.1000000000000001\r\n", b",1.1000000000000001\r\n"));
        assert_eq!(both(|e| e.double(3.0)), pair(b"$1\r\n3\r\n", b",3\r\n"));
        assert_eq!(both(|e| e.double(f64::INFINITY)), pair(b"$3\r\ninf\r\n", b",inf\r\n"));
        assert_eq!(both(|e| e.double(f64::NEG_INFINITY)), pair(b"$4\r\n-inf\r\n", b",-inf\r\n"));
        assert_eq!(
            both(|e| e.double(1e300)),
            pair(b"$23\r\n1.0000000000000001e+300\r\n", b",1.0000000000000001e+300\r\n")
        );
    }

    #[test]
    fn booleans_verbatim_big_numbers() {
        assert_eq!(both(|e| e.boolean(true)), pair(b":1\r\n", b"#t\r\n"));
        assert_eq!(both(|e| e.boolean(false)), pair(b":0\r\n", b"#f\r\n"));
        assert_eq!(
            both(|e| e.verbatim(b"txt", b"Some string")),
            pair(b"$11\r\nSome string\r\n", b"=15\r\ntxt:Some string\r\n")
        );
        assert_eq!(
            both(|e| e.big_number(b"1234567999999999999999999999999999999")),
            pair(b"$37\r\n1234567999999999999999999999999999999\r\n", b"(1234567999999999999999999999999999999\r\n")
        );
    }

    #[test]
    fn shared_header_tables_are_right() {
        for n in 0..SHARED_HEADERS {
            assert_eq!(ARRAY_HEADERS[n].as_bytes(), format!("*{n}\r\n").as_bytes());
            assert_eq!(BULK_HEADERS[n].as_bytes(), format!("${n}\r\n").as_bytes());
        }
    }
}
