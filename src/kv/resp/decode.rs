//! The request decoder: turns the bytes a client sent into one command's arguments at a time.
//!
//! Data flow: the connection appends whatever it reads to its `BytesMut` input buffer and calls
//! [`Decoder::decode`]. That returns `Ok(Some(n))` when a whole command occupies `buf[..n]`; the connection reads
//! the arguments with [`Decoder::args`] (slices of `buf`, no copies), runs the command, then calls
//! `buf.advance(n)` and decodes again. `Ok(None)` means "not enough bytes yet": a normal outcome, not an error.
//!
//! ```text
//! let mut dec = Decoder::new();
//! while let Some(n) = dec.decode(&mut buf, &limits, authenticated)? {
//!     run(dec.args(&buf));
//!     buf.advance(n);
//! }
//! ```
//!
//! Two request forms exist, chosen by the first byte, as in Redis's `processInputBuffer`:
//! - multibulk (first byte `*`): `*<count>\r\n` then `count` times `$<len>\r\n<len bytes>\r\n`;
//! - inline (anything else): one line ending in `\n` or `\r\n`, split into words like `redis-cli` input, with
//!   `"..."` and `'...'` quoting (Redis's `sdssplitargs`).
//!
//! Never rescanning: everything learned about the current command lives in the decoder (which line it is in, how
//! far that line has been searched for its terminator, where each finished argument sits, how long the current
//! bulk is). A call resumes exactly where the previous one stopped, and a bulk body is never scanned at all, only
//! waited for by length. So a 100 MB value arriving in 16 KiB reads costs O(n) in total, and a command split at
//! any byte boundary decodes the same as when it arrives whole.
//!
//! Limits are enforced here, with Redis's error texts ([`ProtocolError`]). After any error the connection must
//! reply (unless [`ProtocolError::replies`] says not to) and close; the decoder is not reusable.
//!
//! Deliberate differences from Redis 7.0, all on malformed input:
//! - Redis finds line ends with `strchr`, which stops at a NUL byte, so a header or inline line with a NUL in it
//!   never completes and eventually fails with a "too big" error. We treat NUL as an ordinary byte (binary safe),
//!   so such a line is parsed (and usually rejected as an invalid length).
//! - Like Redis we do not check that the byte after a header's `\r` is `\n`, nor that a bulk is followed by
//!   `\r\n`: those two bytes are skipped unread. (Checking would reject input Redis accepts.)

use bytes::{Buf, BytesMut};
use std::fmt;

/// Redis refuses more than this many arguments before `AUTH` (`processMultibulkBuffer`).
const UNAUTHENTICATED_MAX_ARGS: i64 = 10;

/// Redis refuses a bulk longer than this before `AUTH`, in bytes.
const UNAUTHENTICATED_MAX_BULK_BYTES: usize = 16 * 1024;

/// Arguments reserved up front for a multibulk: Redis allocates `min(count, 1024)` slots so that a hostile
/// `*1000000\r\n` costs nothing until the arguments actually arrive.
const INITIAL_ARGS_RESERVE: usize = 1024;

/// The decoder keeps its argument table between commands to avoid allocating per command; past this many
/// entries (after a huge `MSET`, say) it gives the memory back before the next command.
const RETAINED_ARGS_CAPACITY: usize = 4 * 1024;

/// Sizes the decoder enforces. The defaults are Redis's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest bulk argument, in bytes (`proto-max-bulk-len`, default 512 MiB).
    pub max_bulk_len: usize,
    /// Most bytes a client may have buffered and not yet consumed (`client-query-buffer-limit`, default 1 GiB).
    /// Exceeding it closes the connection without a reply.
    pub max_query_buffer: usize,
    /// Longest inline request, and longest `*`/`$` header line, while its terminator has not arrived, in bytes
    /// (`PROTO_INLINE_MAX_SIZE`, 64 KiB).
    pub max_inline: usize,
    /// Most arguments in one multibulk request. Simplification against Redis: 7.0 accepts up to `INT_MAX`
    /// (2^31 - 1) and only caps what it pre-allocates; we keep the older 1,048,576 cap (Redis <= 6.0) as the
    /// default. Set it to `i32::MAX as usize` for 7.0's behaviour.
    pub max_multibulk_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_query_buffer: 1024 * 1024 * 1024,
            max_inline: 64 * 1024,
            max_multibulk_len: 1024 * 1024,
        }
    }
}

/// Why a request could not be parsed. The connection replies with `-ERR <message>` (see [`Self::message`]) and
/// then closes, except for [`ProtocolError::QueryBufferLimit`], which closes without a reply as Redis does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// An inline request grew past `max_inline` bytes without a newline.
    TooBigInline,
    /// An inline request has an unterminated quote, or a closing quote followed by something other than a space.
    UnbalancedQuotes,
    /// A `*<count>` line grew past `max_inline` bytes without a `\r`.
    TooBigMultibulkCount,
    /// The `*<count>` is not an integer, or exceeds `max_multibulk_len`.
    InvalidMultibulkLength,
    /// A `$<len>` line grew past `max_inline` bytes without a `\r`.
    TooBigBulkCount,
    /// A multibulk argument did not start with `$`; holds the byte found instead.
    ExpectedDollar(u8),
    /// The `$<len>` is not an integer, is negative, or exceeds `max_bulk_len`.
    InvalidBulkLength,
    /// More than 10 arguments from a client that has not authenticated.
    UnauthenticatedMultibulkLength,
    /// A bulk longer than 16 KiB from a client that has not authenticated.
    UnauthenticatedBulkLength,
    /// The unconsumed input exceeds `max_query_buffer`.
    QueryBufferLimit,
}

impl ProtocolError {
    /// Whether Redis sends the client an error reply before closing. Only the query buffer limit closes silently.
    pub fn replies(&self) -> bool {
        !matches!(self, ProtocolError::QueryBufferLimit)
    }

    /// The exact error text (without the `-ERR ` prefix the reply adds). Bytes, because the byte in
    /// [`ProtocolError::ExpectedDollar`] is whatever the client sent.
    pub fn message(&self) -> Vec<u8> {
        let text: &[u8] = match self {
            ProtocolError::TooBigInline => b"Protocol error: too big inline request",
            ProtocolError::UnbalancedQuotes => b"Protocol error: unbalanced quotes in request",
            ProtocolError::TooBigMultibulkCount => b"Protocol error: too big mbulk count string",
            ProtocolError::InvalidMultibulkLength => b"Protocol error: invalid multibulk length",
            ProtocolError::TooBigBulkCount => b"Protocol error: too big bulk count string",
            ProtocolError::ExpectedDollar(got) => {
                let mut text = b"Protocol error: expected '$', got '".to_vec();
                // Redis formats with addReplyErrorFormat, which turns CR and LF into spaces so the reply stays
                // one line.
                text.push(if matches!(got, b'\r' | b'\n') { b' ' } else { *got });
                text.push(b'\'');
                return text;
            }
            ProtocolError::InvalidBulkLength => b"Protocol error: invalid bulk length",
            ProtocolError::UnauthenticatedMultibulkLength => b"Protocol error: unauthenticated multibulk length",
            ProtocolError::UnauthenticatedBulkLength => b"Protocol error: unauthenticated bulk length",
            // Not sent to the client; this is what Redis logs when it drops one.
            ProtocolError::QueryBufferLimit => b"Closing client that reached max query buffer length",
        };
        text.to_vec()
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.message()))
    }
}

impl std::error::Error for ProtocolError {}

/// Where one argument lives: a byte range of the input buffer (multibulk) or of the decoder's scratch buffer
/// (inline, whose quoting and escapes may change the bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

/// Where the decoder is inside the current command. Offsets are from the start of the input buffer, which is
/// always the start of the current command (the caller advances past each command it is given).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between commands: the next byte decides the request type.
    Idle,
    /// In an inline line; `buf[..scanned]` holds no `\n`.
    Inline { scanned: usize },
    /// In the `*<count>` line; `buf[..scanned]` holds no `\r`.
    Count { scanned: usize },
    /// In a `$<len>` line starting at `pos`; `buf[pos..scanned]` holds no `\r`.
    BulkHeader { scanned: usize },
    /// Waiting for the `len` bytes of a bulk (plus its `\r\n`) starting at `pos`.
    BulkBody { len: usize },
}

/// What [`Decoder::take_body`] did.
enum BodyStep {
    /// The body is not all here yet.
    Waiting,
    /// Took the body; more arguments follow.
    Next,
    /// Took the last body; the command is `buf[..n]`.
    Done(usize),
}

/// A resumable RESP request parser. One per connection; it allocates nothing until the first command, then
/// reuses its argument table, so decoding a multibulk command allocates nothing.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    /// Offset of the next unparsed byte of the current multibulk command.
    pos: usize,
    /// Bulk arguments the current multibulk command still expects.
    remaining: usize,
    /// The current command's arguments, in order.
    spans: Vec<Span>,
    /// Whether `spans` point into `scratch` (inline command) rather than into the input buffer.
    inline: bool,
    /// Unquoted, unescaped inline arguments.
    scratch: Vec<u8>,
    /// Input length seen by the last `decode`, so `wanted` can say how much is still missing.
    buffered: usize,
    /// Bytes examined while searching for line ends: lets tests prove there is no rescanning.
    #[cfg(test)]
    scan_steps: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder at the start of a stream. Allocates nothing.
    pub fn new() -> Self {
        Decoder {
            state: State::Idle,
            pos: 0,
            remaining: 0,
            spans: Vec::new(),
            inline: false,
            scratch: Vec::new(),
            buffered: 0,
            #[cfg(test)]
            scan_steps: 0,
        }
    }

    /// Looks for one complete command at the front of `buf`.
    ///
    /// - `Ok(Some(n))`: a command occupies `buf[..n]`. Read it with [`Self::args`], then `buf.advance(n)` before
    ///   the next call (which otherwise would return the same command again).
    /// - `Ok(None)`: more bytes are needed. The parse position is kept; append to `buf` and call again.
    /// - `Err(e)`: the stream is unusable; reply if [`ProtocolError::replies`] and close.
    ///
    /// Empty requests (`*0\r\n`, `*-1\r\n`, blank inline lines) are skipped, as Redis skips them: their bytes are
    /// removed from the front of `buf` here and never reported. `authenticated` is false only while a password is
    /// required and not yet given, which tightens the argument limits as Redis does.
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
        authenticated: bool,
    ) -> Result<Option<usize>, ProtocolError> {
        if buf.len() > limits.max_query_buffer {
            return Err(ProtocolError::QueryBufferLimit);
        }
        self.buffered = buf.len();
        loop {
            match self.state {
                State::Idle => {
                    // The previous command (already advanced past by the caller) is forgotten here, so `args` can
                    // never hand out stale ranges.
                    self.start_command();
                    let Some(&first) = buf.first() else {
                        return Ok(None);
                    };
                    self.state = if first == b'*' { State::Count { scanned: 1 } } else { State::Inline { scanned: 0 } };
                }
                State::Inline { scanned } => {
                    let Some(newline) = self.find(buf, scanned, b'\n') else {
                        if buf.len() > limits.max_inline {
                            return Err(ProtocolError::TooBigInline);
                        }
                        self.state = State::Inline { scanned: buf.len() };
                        return Ok(None);
                    };
                    let mut end = newline;
                    if end > 0 && buf[end - 1] == b'\r' {
                        end -= 1;
                    }
                    self.inline = true;
                    split_inline(&buf[..end], &mut self.scratch, &mut self.spans)?;
                    self.state = State::Idle;
                    let consumed = newline + 1;
                    if self.spans.is_empty() {
                        buf.advance(consumed);
                        self.buffered = buf.len();
                        continue;
                    }
                    return Ok(Some(consumed));
                }
                State::Count { scanned } => {
                    let (parsed, consumed) = match simple_header(buf, 0, b'*') {
                        Some((n, end)) => (i64::try_from(n).ok(), end),
                        None => {
                            let Some(cr) = self.find(buf, scanned, b'\r') else {
                                if buf.len() > limits.max_inline {
                                    return Err(ProtocolError::TooBigMultibulkCount);
                                }
                                self.state = State::Count { scanned: buf.len() };
                                return Ok(None);
                            };
                            // The `\r` must not be the last byte: the `\n` has to be there too (it is skipped
                            // unread).
                            if cr + 2 > buf.len() {
                                self.state = State::Count { scanned: cr };
                                return Ok(None);
                            }
                            (crate::kv::num::parse_i64(&buf[1..cr]), cr + 2)
                        }
                    };
                    let count = parsed
                        .filter(|&n| n <= clamp_to_i64(limits.max_multibulk_len))
                        .ok_or(ProtocolError::InvalidMultibulkLength)?;
                    if count > UNAUTHENTICATED_MAX_ARGS && !authenticated {
                        return Err(ProtocolError::UnauthenticatedMultibulkLength);
                    }
                    if count <= 0 {
                        self.state = State::Idle;
                        buf.advance(consumed);
                        self.buffered = buf.len();
                        continue;
                    }
                    // count is positive and at most max_multibulk_len, so it fits in usize.
                    let count = usize::try_from(count).unwrap_or(usize::MAX);
                    self.remaining = count;
                    self.pos = consumed;
                    self.spans.reserve(count.min(INITIAL_ARGS_RESERVE));
                    self.state = State::BulkHeader { scanned: consumed };
                }
                // Headers and bodies alternate in this inner loop, so a command whose arguments are all
                // buffered goes through the state dispatch once, not once per argument.
                State::BulkHeader { mut scanned } => loop {
                    let (parsed, consumed) = match simple_header(buf, self.pos, b'$') {
                        Some((n, end)) => (Some(n), end),
                        None => {
                            let Some(cr) = self.find(buf, scanned, b'\r') else {
                                if buf.len() - self.pos > limits.max_inline {
                                    return Err(ProtocolError::TooBigBulkCount);
                                }
                                self.state = State::BulkHeader { scanned: buf.len() };
                                return Ok(None);
                            };
                            if cr + 2 > buf.len() {
                                self.state = State::BulkHeader { scanned: cr };
                                return Ok(None);
                            }
                            // cr >= pos, so this byte exists.
                            let first = buf[self.pos];
                            if first != b'$' {
                                return Err(ProtocolError::ExpectedDollar(first));
                            }
                            let parsed =
                                crate::kv::num::parse_i64(&buf[self.pos + 1..cr]).and_then(|n| u64::try_from(n).ok());
                            (parsed, cr + 2)
                        }
                    };
                    let len = parsed
                        .and_then(|n| usize::try_from(n).ok())
                        .filter(|&n| n <= limits.max_bulk_len)
                        .ok_or(ProtocolError::InvalidBulkLength)?;
                    if len > UNAUTHENTICATED_MAX_BULK_BYTES && !authenticated {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    self.pos = consumed;
                    self.state = State::BulkBody { len };
                    // Small bodies are usually already buffered: take them here, with no return to the dispatch.
                    match self.take_body(buf, len) {
                        BodyStep::Waiting => return Ok(None),
                        BodyStep::Next => scanned = self.pos,
                        BodyStep::Done(n) => return Ok(Some(n)),
                    }
                },
                State::BulkBody { len } => match self.take_body(buf, len) {
                    BodyStep::Waiting => return Ok(None),
                    BodyStep::Next => {}
                    BodyStep::Done(n) => return Ok(Some(n)),
                },
            }
        }
    }

    /// The arguments of the command the last `decode` returned. `buf` must be the buffer given to `decode`, not
    /// yet advanced. Empty if no command is pending.
    pub fn args<'a>(&'a self, buf: &'a [u8]) -> Args<'a> {
        let complete = self.state == State::Idle;
        Args { data: if self.inline { &self.scratch } else { buf }, spans: if complete { &self.spans } else { &[] } }
    }

    /// While a bulk argument is being received: how many more bytes the command needs before the bulk ends,
    /// counting from the end of the buffer last given to `decode`. Redis grows its query buffer to fit a big
    /// argument in one step; the connection can do the same with `buf.reserve(wanted)`.
    pub fn wanted(&self) -> Option<usize> {
        match self.state {
            State::BulkBody { len } => {
                Some(self.pos.saturating_add(len).saturating_add(2).saturating_sub(self.buffered))
            }
            _ => None,
        }
    }

    /// In state `BulkBody { len }`: if the body and its two terminator bytes are buffered, records the argument
    /// and moves on to the next header, or finishes the command if it was the last argument. The body is never
    /// scanned, only waited for by length: that is what makes big values O(n).
    #[inline]
    fn take_body(&mut self, buf: &[u8], len: usize) -> BodyStep {
        let end = self.pos.saturating_add(len);
        if buf.len() < end.saturating_add(2) {
            return BodyStep::Waiting;
        }
        self.spans.push(Span { start: self.pos, end });
        self.pos = end + 2;
        self.remaining -= 1;
        if self.remaining == 0 {
            self.state = State::Idle;
            return BodyStep::Done(self.pos);
        }
        self.state = State::BulkHeader { scanned: self.pos };
        BodyStep::Next
    }

    /// Forgets the previous command's arguments before a new one starts.
    fn start_command(&mut self) {
        if self.spans.capacity() > RETAINED_ARGS_CAPACITY {
            self.spans = Vec::new();
        }
        if self.scratch.capacity() > RETAINED_ARGS_CAPACITY {
            self.scratch = Vec::new();
        }
        self.spans.clear();
        self.scratch.clear();
        self.inline = false;
        self.pos = 0;
        self.remaining = 0;
    }

    /// Position of the first `byte` in `buf[from..]`.
    fn find(&mut self, buf: &[u8], from: usize, byte: u8) -> Option<usize> {
        let found = buf.get(from..)?.iter().position(|&b| b == byte).map(|i| from + i);
        #[cfg(test)]
        {
            self.scan_steps += found.map_or(buf.len() - from, |at| at + 1 - from);
        }
        found
    }
}

/// The fast path for the header shape well-behaved clients always send: `buf[start]` is `prefix`, then 1 to 18
/// digits with no leading zero, then `\r` and one more byte. Returns the number and the offset just past the
/// line. Anything else (a sign, a long or malformed number, a line not yet complete) returns `None` and takes the
/// general path, which gives the same answer for these lines, so this only saves the separate search and parse
/// passes. It reads at most 21 bytes, so trying it again on every call while a long or malformed header trickles
/// in keeps decoding O(n).
#[inline(always)]
fn simple_header(buf: &[u8], start: usize, prefix: u8) -> Option<(u64, usize)> {
    /// 18 digits stay below 10^18, so the accumulator cannot overflow.
    const MAX_FAST_DIGITS: usize = 18;
    let line = buf.get(start..)?;
    if line.first() != Some(&prefix) {
        return None;
    }
    let mut value: u64 = 0;
    let mut i = 1;
    while i < line.len() {
        let digit = line[i].wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        value = value * 10 + u64::from(digit);
        i += 1;
        if i > MAX_FAST_DIGITS + 1 {
            return None;
        }
    }
    let digits = i - 1;
    if digits == 0 || (digits > 1 && line[1] == b'0') {
        return None;
    }
    // `\r` here, and the byte after it present.
    if i + 1 >= line.len() || line[i] != b'\r' {
        return None;
    }
    Some((value, start + i + 2))
}

/// Looks ahead over the complete multibulk commands at the front of `buf`, without decoding them, and calls
/// `visit` with the second argument of each (the first key, for most commands that have one). Stops after `max`
/// commands, or at the first one that is incomplete or not in the plain shape every client library sends
/// (`*<n>` and `$<len>` headers of 1 to 18 digits), and returns how many it passed.
///
/// This is only a hint for prefetching (see `KvServer::on_data`): it never fails, never consumes anything, and the
/// real [`Decoder`] still validates every byte. It reads the headers only, so it costs O(commands), not O(bytes).
pub fn peek_second_args<'a>(buf: &'a [u8], max: usize, mut visit: impl FnMut(&'a [u8])) -> usize {
    let mut pos = 0;
    let mut commands = 0;
    while commands < max {
        let Some((argc, mut at)) = simple_header(buf, pos, b'*') else {
            break;
        };
        let mut second = None;
        for i in 0..argc {
            let Some((len, body)) = simple_header(buf, at, b'$') else {
                return commands;
            };
            let Some(end) = usize::try_from(len).ok().and_then(|len| body.checked_add(len)) else {
                return commands;
            };
            if end >= buf.len().saturating_sub(1) {
                return commands;
            }
            if i == 1 {
                second = Some(&buf[body..end]);
            }
            at = end + 2;
        }
        if let Some(arg) = second {
            visit(arg);
        }
        pos = at;
        commands += 1;
    }
    commands
}

fn clamp_to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One command's arguments, borrowed from the input buffer (or, for inline commands, from the decoder).
#[derive(Clone, Copy)]
pub struct Args<'a> {
    data: &'a [u8],
    spans: &'a [Span],
}

impl<'a> Args<'a> {
    /// Number of arguments, the command name included.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when there are no arguments (only before the first command).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Argument `i` (0 is the command name), or `None` past the end.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let span = self.spans.get(i)?;
        self.data.get(span.start..span.end)
    }

    /// The arguments in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let data = self.data;
        self.spans.iter().map(move |s| data.get(s.start..s.end).unwrap_or_default())
    }
}

impl fmt::Debug for Args<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(String::from_utf8_lossy)).finish()
    }
}

/// C's `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line into arguments with Redis's `sdssplitargs` rules (see [`split_inline`]): inline commands and
/// redis.conf lines share this one implementation. `None` for unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut spans = Vec::new();
    split_inline(line, &mut out, &mut spans).ok()?;
    Some(spans.iter().map(|s| out[s.start..s.end].to_vec()).collect())
}

/// Splits an inline request line into arguments with Redis's `sdssplitargs` rules, appending the argument bytes
/// to `out` and their ranges to `spans`:
/// - words are separated by runs of white space (`isspace`: space, `\t`, `\n`, `\v`, `\f`, `\r`); an unquoted word
///   ends at a space, `\t`, `\n` or `\r` only;
/// - `"..."` understands `\n \r \t \b \a`, `\xHH` and `\<any>` (that byte); `'...'` understands only `\'`;
/// - a quote may start mid-word (`a"b c"` is `ab c`), but a closing quote must be followed by white space or the
///   end of the line, and an unterminated quote is an error.
fn split_inline(line: &[u8], out: &mut Vec<u8>, spans: &mut Vec<Span>) -> Result<(), ProtocolError> {
    let at = |i: usize| line.get(i).copied();
    let mut i = 0;
    loop {
        while at(i).is_some_and(is_c_space) {
            i += 1;
        }
        if i >= line.len() {
            return Ok(());
        }
        let start = out.len();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let Some(c) = at(i) else {
                if in_double || in_single {
                    return Err(ProtocolError::UnbalancedQuotes);
                }
                break; // end of line ends the word
            };
            if in_double {
                if c == b'\\' && at(i + 1) == Some(b'x') {
                    if let (Some(hi), Some(lo)) = (at(i + 2).and_then(hex_value), at(i + 3).and_then(hex_value)) {
                        out.push(hi * 16 + lo);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && at(i + 1).is_some() {
                    let escaped = line[i + 1];
                    out.push(match escaped {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                    i += 2;
                } else if c == b'"' {
                    if at(i + 1).is_some_and(|b| !is_c_space(b)) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                    i += 1;
                }
            } else if in_single {
                if c == b'\\' && at(i + 1) == Some(b'\'') {
                    out.push(b'\'');
                    i += 2;
                } else if c == b'\'' {
                    if at(i + 1).is_some_and(|b| !is_c_space(b)) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                    i += 1;
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' => {
                        i += 1;
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => out.push(c),
                }
                i += 1;
            }
        }
        spans.push(Span { start, end: out.len() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    type Commands = Vec<Vec<Vec<u8>>>;

    /// Feeds `chunks` one after another into a growing buffer, decoding as much as possible after each, and
    /// returns every command decoded plus the error that stopped decoding, if any.
    fn feed<'a>(
        chunks: impl IntoIterator<Item = &'a [u8]>,
        limits: &Limits,
        authenticated: bool,
    ) -> (Commands, Option<ProtocolError>) {
        let mut dec = Decoder::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match dec.decode(&mut buf, limits, authenticated) {
                    Ok(Some(n)) => {
                        out.push(dec.args(&buf).iter().map(<[u8]>::to_vec).collect());
                        buf.advance(n);
                    }
                    Ok(None) => break,
                    Err(e) => return (out, Some(e)),
                }
            }
        }
        (out, None)
    }

    /// Decodes `input` whole, then split at every byte boundary, then one byte at a time; asserts every way
    /// gives the same result, and returns it.
    fn decode_everywhere(input: &[u8], limits: &Limits, authenticated: bool) -> (Commands, Option<ProtocolError>) {
        let whole = feed([input], limits, authenticated);
        for split in 0..=input.len() {
            let (a, b) = input.split_at(split);
            assert_eq!(feed([a, b], limits, authenticated), whole, "split at {split} of {:?}", show(input));
        }
        assert_eq!(feed(input.chunks(1), limits, authenticated), whole, "byte by byte: {:?}", show(input));
        whole
    }

    fn show(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    fn ok(input: &[u8]) -> Commands {
        let (cmds, err) = decode_everywhere(input, &Limits::default(), true);
        assert_eq!(err, None, "{:?}", show(input));
        cmds
    }

    fn err(input: &[u8]) -> ProtocolError {
        err_with(input, &Limits::default(), true)
    }

    fn err_with(input: &[u8], limits: &Limits, authenticated: bool) -> ProtocolError {
        let (_, e) = decode_everywhere(input, limits, authenticated);
        e.unwrap_or_else(|| panic!("no error for {:?}", show(input)))
    }

    fn cmd(args: &[&[u8]]) -> Vec<Vec<u8>> {
        args.iter().map(|a| a.to_vec()).collect()
    }

    #[test]
    fn multibulk_commands() {
        assert_eq!(ok(b"*1\r\n$4\r\nPING\r\n"), vec![cmd(&[b"PING"])]);
        assert_eq!(ok(b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"), vec![cmd(&[b"SET", b"key", b"value"])]);
        assert_eq!(ok(b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n"), vec![cmd(&[b"GET", b""])]);
        // Bulks are binary: CR, LF, NUL and '*' inside are data.
        assert_eq!(ok(b"*2\r\n$4\r\n\r\n\r\n\r\n$3\r\n\x00*$\r\n"), vec![cmd(&[b"\r\n\r\n", b"\x00*$"])]);
        // Incomplete input is not an error.
        assert_eq!(ok(b"*2\r\n$3\r\nGET\r\n$3\r\nke"), Commands::new());
    }

    #[test]
    fn empty_requests_are_skipped() {
        assert_eq!(ok(b"*0\r\n*-1\r\n*-10\r\n\r\n\n   \r\n \t \nPING\r\n"), vec![cmd(&[b"PING"])]);
        assert_eq!(ok(b"\r\n"), Commands::new());
        // Their bytes leave the buffer even when no command follows.
        let mut dec = Decoder::new();
        let mut buf = BytesMut::from(&b"*0\r\n\r\n*-1\r\n"[..]);
        assert_eq!(dec.decode(&mut buf, &Limits::default(), true), Ok(None));
        assert!(buf.is_empty());
    }

    #[test]
    fn peek_sees_the_keys_of_complete_commands_only() {
        let peek = |buf: &[u8], max: usize| {
            let mut seen = Vec::new();
            let n = peek_second_args(buf, max, |a| seen.push(a.to_vec()));
            (n, seen)
        };
        let pipeline = b"*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$1\r\nv\r\n";
        assert_eq!(peek(pipeline, 16), (3, vec![b"k1".to_vec(), b"k2".to_vec()]));
        assert_eq!(peek(pipeline, 1), (1, vec![b"k1".to_vec()]));
        // Cut anywhere, only the commands wholly before the cut count, and nothing panics.
        for cut in 0..pipeline.len() {
            let (n, _) = peek(&pipeline[..cut], 16);
            assert!(n <= 3);
            if cut < 21 {
                assert_eq!(n, 0, "cut at {cut}");
            }
        }
        // Inline commands, odd headers and absurd lengths end the look-ahead; the decoder deals with them.
        assert_eq!(peek(b"GET k\r\n", 16).0, 0);
        assert_eq!(peek(b"*2\r\n$3\r\nGET\r\n$999999999999999999\r\nk\r\n", 16).0, 0);
        assert_eq!(peek(b"*-1\r\n", 16).0, 0);
        assert_eq!(peek(b"*2\r\n$03\r\nGET\r\n$1\r\nk\r\n", 16).0, 0);
    }

    #[test]
    fn pipelines() {
        let mut input = Vec::new();
        let mut want = Commands::new();
        for i in 0..300 {
            let key = format!("key:{i:06}");
            if i % 3 == 0 {
                input.extend(format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes());
                want.push(cmd(&[b"GET", key.as_bytes()]));
            } else if i % 3 == 1 {
                input.extend(format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$2\r\nv{}\r\n", key.len(), i % 10).as_bytes());
                want.push(cmd(&[b"SET", key.as_bytes(), format!("v{}", i % 10).as_bytes()]));
            } else {
                input.extend(format!("incr {key}\r\n").as_bytes());
                want.push(cmd(&[b"incr", key.as_bytes()]));
            }
        }
        // The whole pipeline in one buffer and in 7-byte pieces; every split point is covered by smaller tests.
        assert_eq!(feed([&input[..]], &Limits::default(), true), (want.clone(), None));
        assert_eq!(feed(input.chunks(7), &Limits::default(), true), (want, None));
        assert_eq!(
            ok(b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nset a b\n*1\r\n$4\r\nQUIT\r\n"),
            vec![cmd(&[b"PING"]), cmd(&[b"ECHO", b"hi"]), cmd(&[b"set", b"a", b"b"]), cmd(&[b"QUIT"])]
        );
    }

    #[test]
    fn inline_commands() {
        assert_eq!(ok(b"PING\r\n"), vec![cmd(&[b"PING"])]);
        assert_eq!(ok(b"PING\n"), vec![cmd(&[b"PING"])]);
        assert_eq!(ok(b"  set   a \t b  \r\n"), vec![cmd(&[b"set", b"a", b"b"])]);
        // A lone CR inside the line separates words; \v and \f are skipped between words but not word ends.
        assert_eq!(ok(b"a\rb\r\r\n"), vec![cmd(&[b"a", b"b"])]);
        assert_eq!(ok(b"a\x0bb \x0b c\n"), vec![cmd(&[b"a\x0bb", b"c"])]);
        // '$' or anything but '*' starts an inline request.
        assert_eq!(ok(b"$3\r\n"), vec![cmd(&[b"$3"])]);
        assert_eq!(ok(b"x*1\r\n"), vec![cmd(&[b"x*1"])]);
    }

    #[test]
    fn inline_quotes_and_escapes() {
        assert_eq!(ok(b"set \"a b\" 'c d'\r\n"), vec![cmd(&[b"set", b"a b", b"c d"])]);
        assert_eq!(ok(b"\"\\x41\\x4a\\n\\r\\t\\b\\a\\\\\\\"\\q\"\n"), vec![cmd(&[b"AJ\n\r\t\x08\x07\\\"q"])]);
        // An incomplete \x escape is just an escaped 'x'.
        assert_eq!(ok(b"\"\\x4\" \"\\xg1\"\n"), vec![cmd(&[b"x4", b"xg1"])]);
        assert_eq!(ok(b"'it\\'s' 'a\\b' 'a\"b'\n"), vec![cmd(&[b"it's", b"a\\b", b"a\"b"])]);
        assert_eq!(ok(b"foo\"bar baz\" x\n"), vec![cmd(&[b"foobar baz", b"x"])]);
        assert_eq!(ok(b"\"\" ''\n"), vec![cmd(&[b"", b""])]);
        assert_eq!(ok(b"\"a\"\t\"b\"\r\r\n"), vec![cmd(&[b"a", b"b"])]);
        assert_eq!(ok(b"\"a\"\x0b1\n"), vec![cmd(&[b"a", b"1"])]);
        // Quotes do not span lines: the newline ends the request first.
        assert_eq!(err(b"set \"a\nb\"\n"), ProtocolError::UnbalancedQuotes);
    }

    #[test]
    fn inline_unbalanced_quotes() {
        for input in [&b"set \"a\r\n"[..], b"set 'a\r\n", b"\"a\"b\r\n", b"'a'b\n", b"\"a\\\"\n", b"'a\\'\n", b"\"\n"] {
            assert_eq!(err(input), ProtocolError::UnbalancedQuotes, "{:?}", show(input));
        }
        // Commands before the bad line are still delivered.
        let (cmds, e) = decode_everywhere(b"PING\r\n\"x\r\n", &Limits::default(), true);
        assert_eq!((cmds, e), (vec![cmd(&[b"PING"])], Some(ProtocolError::UnbalancedQuotes)));
    }

    #[test]
    fn large_number_of_args() {
        // protocol.tcl "test large number of args": MSET with 20,002 arguments.
        let mut input = b"*20003\r\n$4\r\nMSET\r\n".to_vec();
        for _ in 0..10_000 {
            input.extend(b"$1\r\nk\r\n$1\r\nv\r\n");
        }
        input.extend(b"$4\r\n{k}2\r\n$2\r\nv2\r\n");
        let (cmds, e) = feed(input.chunks(1000), &Limits::default(), true);
        assert_eq!(e, None);
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].len(), 20_003);
        assert_eq!(cmds[0][20_001], b"{k}2");
    }

    #[test]
    fn multibulk_length_errors() {
        for input in [
            &b"*3000000000\r\n"[..],
            b"*20000000\r\n",
            b"*abc\r\n",
            b"*\r\n",
            b"*01\r\n",
            b"*+1\r\n",
            b"* 1\r\n",
            b"*1 \r\n",
            b"*-0\r\n",
            b"*1\x00\r\n",
            b"*99999999999999999999\r\n",
        ] {
            assert_eq!(err(input), ProtocolError::InvalidMultibulkLength, "{:?}", show(input));
        }
        // With Redis 7.0's limit, twenty million is accepted (and waits for its arguments).
        let wide = Limits { max_multibulk_len: i32::MAX as usize, ..Limits::default() };
        assert_eq!(feed([&b"*20000000\r\n"[..]], &wide, true), (Commands::new(), None));
        assert_eq!(err_with(b"*3000000000\r\n", &wide, true), ProtocolError::InvalidMultibulkLength);
    }

    #[test]
    fn bulk_errors() {
        let cases: &[(&[u8], ProtocolError)] = &[
            // protocol.tcl "Wrong multibulk payload header"
            (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", ProtocolError::ExpectedDollar(b'f')),
            // "Negative multibulk payload length"
            (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", ProtocolError::InvalidBulkLength),
            // "Out of range multibulk payload length"
            (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n", ProtocolError::InvalidBulkLength),
            // "Non-number multibulk payload length"
            (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n", ProtocolError::InvalidBulkLength),
            // "Multi bulk request not followed by bulk arguments"
            (b"*1\r\nfoo\r\n", ProtocolError::ExpectedDollar(b'f')),
            (b"*1\r\n\r\n", ProtocolError::ExpectedDollar(b'\r')),
            (b"*1\r\n$\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$-1\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$-0\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$01\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$ 1\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$536870913\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$99999999999999999999\r\n", ProtocolError::InvalidBulkLength),
        ];
        for &(input, want) in cases {
            assert_eq!(err(input), want, "{:?}", show(input));
        }
        // Exactly proto-max-bulk-len is fine.
        assert_eq!(feed([&b"*1\r\n$536870912\r\n"[..]], &Limits::default(), true), (Commands::new(), None));
    }

    #[test]
    fn redis_skips_the_terminators_unread() {
        // Redis does not check that '\n' follows a header's '\r' or that "\r\n" follows a bulk.
        assert_eq!(ok(b"*2\rX$1\r\na\r\n$1\rYbXY"), vec![cmd(&[b"a", b"b"])]);
    }

    #[test]
    fn unauthenticated_limits() {
        let limits = Limits::default();
        assert_eq!(err_with(b"*11\r\n", &limits, false), ProtocolError::UnauthenticatedMultibulkLength);
        assert_eq!(
            err_with(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n", &limits, false),
            ProtocolError::UnauthenticatedBulkLength
        );
        // At the limits: accepted.
        assert_eq!(feed([&b"*10\r\n$16384\r\n"[..]], &limits, false), (Commands::new(), None));
        // Invalid lengths are reported as invalid first, as in Redis.
        assert_eq!(err_with(b"*x\r\n", &limits, false), ProtocolError::InvalidMultibulkLength);
        // Authenticated clients are not limited.
        assert_eq!(feed([&b"*11\r\n$16385\r\n"[..]], &limits, true), (Commands::new(), None));
    }

    #[test]
    fn too_big_lines() {
        let limits = Limits { max_inline: 64, ..Limits::default() };
        // Up to max_inline bytes without a terminator: wait. One more: error.
        let line = [b'a'; 64];
        assert_eq!(feed([&line[..]], &limits, true), (Commands::new(), None));
        let line = [b'a'; 65];
        assert_eq!(feed(line.chunks(10), &limits, true).1, Some(ProtocolError::TooBigInline));
        let mut count = b"*".to_vec();
        count.extend(vec![b'1'; 64]);
        assert_eq!(feed(count.chunks(10), &limits, true).1, Some(ProtocolError::TooBigMultibulkCount));
        let mut bulk = b"*1\r\n$".to_vec();
        bulk.extend(vec![b'1'; 64]);
        assert_eq!(feed(bulk.chunks(10), &limits, true).1, Some(ProtocolError::TooBigBulkCount));
        // The default limit is 64 KiB.
        let line = vec![b'a'; 64 * 1024];
        assert_eq!(feed([&line[..]], &Limits::default(), true), (Commands::new(), None));
        let line = vec![b'a'; 64 * 1024 + 1];
        assert_eq!(feed([&line[..]], &Limits::default(), true).1, Some(ProtocolError::TooBigInline));
    }

    #[test]
    fn protocol_desync_regressions() {
        // protocol.tcl "Protocol desync regression test #1..3": a bad first byte followed by an endless stream
        // without terminators must end in a protocol error, not an ever-growing buffer.
        let cases: [(&[u8], ProtocolError); 3] = [
            (b"\x00", ProtocolError::TooBigInline),
            (b"*\x00", ProtocolError::TooBigMultibulkCount),
            (b"$\x00", ProtocolError::TooBigInline),
        ];
        for (start, want) in cases {
            let payload = b"payload".repeat(1024);
            let chunks = std::iter::once(start).chain(std::iter::repeat(&payload[..]).take(100));
            assert_eq!(feed(chunks, &Limits::default(), true).1, Some(want));
        }
    }

    #[test]
    fn query_buffer_limit() {
        let limits = Limits { max_query_buffer: 100, ..Limits::default() };
        let mut dec = Decoder::new();
        let mut buf = BytesMut::from(&[b'a'; 100][..]);
        assert_eq!(dec.decode(&mut buf, &limits, true), Ok(None));
        buf.extend_from_slice(b"a");
        let e = dec.decode(&mut buf, &limits, true).unwrap_err();
        assert_eq!(e, ProtocolError::QueryBufferLimit);
        assert!(!e.replies());
        assert!(ProtocolError::TooBigInline.replies());
    }

    #[test]
    fn error_texts() {
        let cases: &[(ProtocolError, &[u8])] = &[
            (ProtocolError::TooBigInline, b"Protocol error: too big inline request"),
            (ProtocolError::UnbalancedQuotes, b"Protocol error: unbalanced quotes in request"),
            (ProtocolError::TooBigMultibulkCount, b"Protocol error: too big mbulk count string"),
            (ProtocolError::InvalidMultibulkLength, b"Protocol error: invalid multibulk length"),
            (ProtocolError::TooBigBulkCount, b"Protocol error: too big bulk count string"),
            (ProtocolError::ExpectedDollar(b'f'), b"Protocol error: expected '$', got 'f'"),
            (ProtocolError::ExpectedDollar(b'\r'), b"Protocol error: expected '$', got ' '"),
            (ProtocolError::ExpectedDollar(0xff), b"Protocol error: expected '$', got '\xff'"),
            (ProtocolError::InvalidBulkLength, b"Protocol error: invalid bulk length"),
            (ProtocolError::UnauthenticatedMultibulkLength, b"Protocol error: unauthenticated multibulk length"),
            (ProtocolError::UnauthenticatedBulkLength, b"Protocol error: unauthenticated bulk length"),
        ];
        for &(e, text) in cases {
            assert_eq!(e.message(), text);
        }
        assert_eq!(ProtocolError::ExpectedDollar(b'x').to_string(), "Protocol error: expected '$', got 'x'");
    }

    #[test]
    fn big_bulk_in_16k_reads_is_linear() {
        const VALUE_BYTES: usize = 8 * 1024 * 1024;
        const READ_BYTES: usize = 16 * 1024;
        let mut input = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${VALUE_BYTES}\r\n").into_bytes();
        let header_len = input.len();
        input.extend((0..VALUE_BYTES).map(|i| (i % 251) as u8));
        input.extend(b"\r\n*1\r\n$4\r\nPING\r\n");

        let started = Instant::now();
        let mut dec = Decoder::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut calls = 0;
        for chunk in input.chunks(READ_BYTES) {
            if let Some(wanted) = dec.wanted() {
                assert!(wanted > 0);
                buf.reserve(wanted);
            }
            buf.extend_from_slice(chunk);
            while let Some(n) = dec.decode(&mut buf, &Limits::default(), true).unwrap() {
                let args = dec.args(&buf);
                got.push((args.len(), args.get(2).map(<[u8]>::len), args.get(0).map(<[u8]>::to_vec)));
                if args.len() == 3 {
                    assert_eq!(args.get(2), Some(&input[header_len..header_len + VALUE_BYTES]));
                }
                buf.advance(n);
            }
            calls += 1;
        }
        assert_eq!(got, vec![(3, Some(VALUE_BYTES), Some(b"SET".to_vec())), (1, None, Some(b"PING".to_vec()))]);
        assert!(calls > 500);
        // Only the header lines were ever searched; the 8 MB body was waited for by length.
        assert!(dec.scan_steps < 100, "scanned {} bytes", dec.scan_steps);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn partial_lines_are_not_rescanned() {
        // A long inline line and a long header arriving a byte at a time are each searched once.
        let mut dec = Decoder::new();
        let mut buf = BytesMut::new();
        let line = [b'a'; 4000];
        for &b in &line {
            buf.extend_from_slice(&[b]);
            assert_eq!(dec.decode(&mut buf, &Limits::default(), true), Ok(None));
        }
        buf.extend_from_slice(b"\r\n");
        assert_eq!(dec.decode(&mut buf, &Limits::default(), true), Ok(Some(4002)));
        assert!(dec.scan_steps <= 4002, "scanned {} bytes", dec.scan_steps);
    }

    #[test]
    fn wanted_reports_the_rest_of_the_bulk() {
        let mut dec = Decoder::new();
        let mut buf = BytesMut::from(&b"*1\r\n$100\r\n0123456789"[..]);
        assert_eq!(dec.wanted(), None);
        assert_eq!(dec.decode(&mut buf, &Limits::default(), true), Ok(None));
        assert_eq!(dec.wanted(), Some(92));
        buf.extend_from_slice(&[b'x'; 92]);
        assert_eq!(dec.decode(&mut buf, &Limits::default(), true), Ok(Some(112)));
        assert_eq!(dec.wanted(), None);
    }

    #[test]
    fn args_accessors() {
        let mut dec = Decoder::new();
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"[..]);
        assert!(dec.args(&buf).is_empty());
        assert_eq!(dec.decode(&mut buf, &Limits::default(), true), Ok(Some(buf.len())));
        let args = dec.args(&buf);
        assert_eq!(args.len(), 2);
        assert_eq!(args.get(0), Some(&b"GET"[..]));
        assert_eq!(args.get(1), Some(&b"k"[..]));
        assert_eq!(args.get(2), None);
        assert_eq!(format!("{args:?}"), r#"["GET", "k"]"#);
    }

    #[test]
    fn argument_table_is_reused() {
        let mut dec = Decoder::new();
        let mut buf = BytesMut::new();
        for _ in 0..3 {
            buf.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
            let n = dec.decode(&mut buf, &Limits::default(), true).unwrap().unwrap();
            buf.advance(n);
        }
        let table = dec.spans.as_ptr();
        for _ in 0..100 {
            buf.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
            let n = dec.decode(&mut buf, &Limits::default(), true).unwrap().unwrap();
            buf.advance(n);
        }
        assert_eq!(dec.spans.as_ptr(), table, "no reallocation per command");
    }
}
