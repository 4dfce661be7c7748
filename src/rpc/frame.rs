//! The RPC wire format: frame types, the encoder and a resumable, limit-enforcing decoder.
//!
//! `docs/rpc-protocol.md` is the specification; this file is its executable form, and a unit test checks the
//! spec's worked hex dump against [`encode`], so the two cannot drift apart.
//!
//! Data flow on the receive side:
//!
//! ```text
//! socket -> reactor read into BytesMut -> FrameDecoder::decode -> Frame (payload = zero-copy Bytes slice)
//!        -> connection state machine (later brief) -> MessageAssembler (DATA pieces -> whole message) -> handler
//! ```
//!
//! and on the send side `Frame` -> [`encode`] / [`encode_message`] -> the connection's output `BytesMut`.
//!
//! Every frame is a fixed 10-byte header followed by `length` payload bytes:
//!
//! ```text
//! +----------------+----------------+--------+--------+=================+
//! | length: u32 BE | stream id: u32 | type:u8| flags:u8| payload (length) |
//! +----------------+----------------+--------+--------+=================+
//! ```
//!
//! The decoder is in the style of a RESP decoder that never rescans: it keeps its position (preface bytes matched,
//! the parsed header of the frame whose payload is still arriving, bytes left to skip) in `self`, so each input byte
//! is looked at a bounded number of times however the stream is split. "Not enough bytes yet" is `Ok(None)`. Every
//! limit is checked from the header, *before* the payload arrives, so a peer announcing a 4 GiB frame is refused
//! without buffering a byte of it.
//!
//! Errors are typed ([`FrameError`]) and each maps to what the peer gets ([`FrameError::action`]): a STATUS on one
//! stream (the decoder stays usable) or a GOAWAY and close (the decoder is poisoned and repeats the error).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::status::{Code, Status};

/// The 8 bytes a client sends before anything else. The first byte, 0x89, is not ASCII, so it can never begin a
/// RESP request (those start with `*` or with a printable inline command): one byte tells the shared port which
/// protocol is speaking. The rest follows PNG's signature: `PLX` names us, CR LF and LF catch line-ending
/// translation, 0x1A stops a stray `type` on DOS.
pub const PREFACE: [u8; 8] = *b"\x89PLX\r\n\x1a\n";

/// The protocol version carried in HELLO. A peer with another version gets GOAWAY(PROTOCOL_ERROR).
pub const PROTOCOL_VERSION: u16 = 1;

/// Size of the fixed frame header in bytes: length (4) + stream id (4) + type (1) + flags (1).
pub const HEADER_LEN: usize = 10;

/// Largest stream id; the top bit of the 32-bit field is reserved and must be zero (as in HTTP/2).
pub const MAX_STREAM_ID: u32 = (1 << 31) - 1;

/// Largest flow-control window and WINDOW_UPDATE increment, in bytes (2^31 - 1, as in HTTP/2), so window
/// arithmetic fits an `i64` with room to go negative after a settings change.
pub const MAX_WINDOW: u32 = (1 << 31) - 1;

/// Smallest `max_frame_payload` a peer may advertise, in bytes: below this, CALL frames with ordinary metadata
/// would not fit.
pub const MIN_FRAME_PAYLOAD_LIMIT: u32 = 1024;

/// Largest `max_frame_payload` a peer may advertise, in bytes (16 MiB - 1, HTTP/2's ceiling). Larger frames would
/// let one stream hog the connection for too long.
pub const MAX_FRAME_PAYLOAD_LIMIT: u32 = (1 << 24) - 1;

/// Smallest `max_metadata_size` a peer may advertise, in bytes: room for a method name and a trace id.
pub const MIN_METADATA_LIMIT: u32 = 256;

/// DATA flag: this frame ends the sender's message stream (client -> server only; the server ends with STATUS).
pub const FLAG_END_STREAM: u8 = 0x01;
/// DATA flag: this frame is a piece of a message and more pieces follow in later DATA frames on the same stream.
pub const FLAG_MESSAGE_CONTINUES: u8 = 0x02;

/// The frame types, with their wire values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameType {
    /// Connection settings and protocol version; first frame in each direction (stream 0).
    Hello = 0x0,
    /// Opens a call: method, call kind, timeout, metadata (client -> server).
    Call = 0x1,
    /// A message, or a piece of one.
    Data = 0x2,
    /// The client has no more messages for this call (client -> server).
    HalfClose = 0x3,
    /// Terminal status with trailing metadata (server -> client).
    Status = 0x4,
    /// The client abandons the call (client -> server).
    Cancel = 0x5,
    /// Flow-control credit for one stream, or the connection (stream 0).
    WindowUpdate = 0x6,
    /// Liveness probe with an 8-byte opaque payload (stream 0).
    Ping = 0x7,
    /// Answer to a PING, echoing its payload (stream 0).
    Pong = 0x8,
    /// The sender is closing the connection: no new calls above `last_stream_id` (stream 0).
    GoAway = 0x9,
}

impl FrameType {
    /// The type for a wire value, or `None` for a type this version does not know (such frames are skipped).
    pub fn from_u8(value: u8) -> Option<FrameType> {
        Some(match value {
            0x0 => FrameType::Hello,
            0x1 => FrameType::Call,
            0x2 => FrameType::Data,
            0x3 => FrameType::HalfClose,
            0x4 => FrameType::Status,
            0x5 => FrameType::Cancel,
            0x6 => FrameType::WindowUpdate,
            0x7 => FrameType::Ping,
            0x8 => FrameType::Pong,
            0x9 => FrameType::GoAway,
            _ => return None,
        })
    }

    /// The spec's upper-case name (`WINDOW_UPDATE`).
    pub fn name(self) -> &'static str {
        match self {
            FrameType::Hello => "HELLO",
            FrameType::Call => "CALL",
            FrameType::Data => "DATA",
            FrameType::HalfClose => "HALF_CLOSE",
            FrameType::Status => "STATUS",
            FrameType::Cancel => "CANCEL",
            FrameType::WindowUpdate => "WINDOW_UPDATE",
            FrameType::Ping => "PING",
            FrameType::Pong => "PONG",
            FrameType::GoAway => "GOAWAY",
        }
    }

    /// What the stream id of this frame type must be.
    fn stream_rule(self) -> StreamRule {
        match self {
            FrameType::Hello | FrameType::Ping | FrameType::Pong | FrameType::GoAway => StreamRule::Zero,
            FrameType::Call => StreamRule::Odd,
            FrameType::Data | FrameType::HalfClose | FrameType::Status | FrameType::Cancel => StreamRule::NonZero,
            FrameType::WindowUpdate => StreamRule::Any,
        }
    }

    /// Which side may send this frame type.
    fn sender(self) -> Sender {
        match self {
            FrameType::Call | FrameType::HalfClose | FrameType::Cancel => Sender::Client,
            FrameType::Status => Sender::Server,
            _ => Sender::Either,
        }
    }

    /// The only legal payload length, for fixed-size frames.
    fn fixed_len(self) -> Option<u32> {
        match self {
            FrameType::HalfClose => Some(0),
            FrameType::Cancel => Some(2),
            FrameType::WindowUpdate => Some(4),
            FrameType::Ping | FrameType::Pong => Some(8),
            _ => None,
        }
    }
}

enum StreamRule {
    Zero,
    NonZero,
    Odd,
    Any,
}

enum Sender {
    Client,
    Server,
    Either,
}

/// Checks a stream id against a frame type's rule; shared by the encoder and the decoder so that `encode` never
/// produces a frame our own decoder would reject.
fn stream_id_ok(frame_type: FrameType, stream_id: u32) -> bool {
    if stream_id > MAX_STREAM_ID {
        return false;
    }
    match frame_type.stream_rule() {
        StreamRule::Zero => stream_id == 0,
        StreamRule::NonZero => stream_id != 0,
        StreamRule::Odd => stream_id % 2 == 1,
        StreamRule::Any => true,
    }
}

/// The four call kinds, gRPC's, as carried in the CALL frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CallKind {
    /// One request, one response.
    Unary = 0,
    /// One request, a stream of responses.
    ServerStreaming = 1,
    /// A stream of requests, one response.
    ClientStreaming = 2,
    /// Both sides stream, independently.
    Bidi = 3,
}

impl CallKind {
    /// The kind for a wire value, or `None`.
    pub fn from_u8(value: u8) -> Option<CallKind> {
        Some(match value {
            0 => CallKind::Unary,
            1 => CallKind::ServerStreaming,
            2 => CallKind::ClientStreaming,
            3 => CallKind::Bidi,
            _ => return None,
        })
    }

    /// Whether the client may send more than one request message.
    pub fn client_streams(self) -> bool {
        matches!(self, CallKind::ClientStreaming | CallKind::Bidi)
    }

    /// Whether the server may send more than one response message.
    pub fn server_streams(self) -> bool {
        matches!(self, CallKind::ServerStreaming | CallKind::Bidi)
    }
}

/// Why a connection is going away, carried in GOAWAY. A separate space from [`Code`]: these describe the
/// transport, not a call (HTTP/2 keeps the same split between its error codes and gRPC statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GoAwayCode {
    /// Graceful: drain, idle timeout, max connection age. In-flight calls at or below `last_stream_id` finish.
    NoError,
    /// The peer broke the protocol (bad preface, bad stream id, malformed frame...).
    ProtocolError,
    /// The sender hit an internal fault.
    InternalError,
    /// The peer sent more DATA than its window allowed, or overflowed a window.
    FlowControlError,
    /// A frame was larger than the receiver's `max_frame_payload`, or a fixed-size frame had the wrong size.
    FrameSizeError,
    /// The peer is abusive (e.g. a ping flood); gRPC's `too_many_pings` uses HTTP/2's ENHANCE_YOUR_CALM.
    EnhanceYourCalm,
    /// A code this version does not know; kept so it can be logged. Treat as `InternalError`.
    Other(u16),
}

impl GoAwayCode {
    /// The wire value.
    pub fn as_u16(self) -> u16 {
        match self {
            GoAwayCode::NoError => 0,
            GoAwayCode::ProtocolError => 1,
            GoAwayCode::InternalError => 2,
            GoAwayCode::FlowControlError => 3,
            GoAwayCode::FrameSizeError => 4,
            GoAwayCode::EnhanceYourCalm => 5,
            GoAwayCode::Other(value) => value,
        }
    }

    /// The code for a wire value; never fails (unknown values become `Other`).
    pub fn from_u16(value: u16) -> GoAwayCode {
        match value {
            0 => GoAwayCode::NoError,
            1 => GoAwayCode::ProtocolError,
            2 => GoAwayCode::InternalError,
            3 => GoAwayCode::FlowControlError,
            4 => GoAwayCode::FrameSizeError,
            5 => GoAwayCode::EnhanceYourCalm,
            other => GoAwayCode::Other(other),
        }
    }
}

/// Setting identifiers in HELLO (u16 on the wire).
pub mod setting {
    /// Largest frame payload the sender accepts, bytes.
    pub const MAX_FRAME_PAYLOAD: u16 = 0x1;
    /// Largest whole message the sender accepts, bytes.
    pub const MAX_MESSAGE_SIZE: u16 = 0x2;
    /// Most calls the sender lets the peer have open at once.
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    /// Largest CALL or STATUS payload (method + metadata, or message + trailers) the sender accepts, bytes.
    pub const MAX_METADATA_SIZE: u16 = 0x4;
    /// Initial per-stream flow-control window the sender grants, bytes.
    pub const INITIAL_STREAM_WINDOW: u16 = 0x5;
    /// Initial connection-wide flow-control window the sender grants, bytes.
    pub const INITIAL_CONNECTION_WINDOW: u16 = 0x6;
}

/// One side's receive limits, announced in its HELLO. Absent settings take these defaults, so a HELLO that
/// carries no pairs means "all defaults".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Largest frame payload I accept, bytes. Default 64 KiB: big enough that the 10-byte header is noise
    /// (0.015%), small enough that one big message cannot block other streams for long (64 KiB is ~50 us at 10
    /// Gbit/s).
    pub max_frame_payload: u32,
    /// Largest reassembled message I accept, bytes. Default 4 MiB, gRPC's default receive limit.
    pub max_message_size: u32,
    /// Most concurrently open calls I accept. Default 100, the value HTTP/2 recommends as a minimum.
    pub max_concurrent_streams: u32,
    /// Largest CALL / STATUS payload I accept, bytes. Default 8 KiB, like common HTTP header limits.
    pub max_metadata_size: u32,
    /// Flow-control credit each new stream starts with, bytes. Default 256 KiB: half a millisecond of 4 Gbit/s.
    pub initial_stream_window: u32,
    /// Flow-control credit the connection starts with, bytes. Default 1 MiB, about the bandwidth-delay product of
    /// a 10 Gbit/s link at 0.8 ms RTT; it is also the cap on un-consumed DATA one connection can pin in my memory.
    pub initial_connection_window: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            max_frame_payload: 64 * 1024,
            max_message_size: 4 * 1024 * 1024,
            max_concurrent_streams: 100,
            max_metadata_size: 8 * 1024,
            initial_stream_window: 256 * 1024,
            initial_connection_window: 1024 * 1024,
        }
    }
}

impl Settings {
    /// The settings as `(id, value)` pairs, in id order.
    pub fn pairs(&self) -> [(u16, u32); 6] {
        [
            (setting::MAX_FRAME_PAYLOAD, self.max_frame_payload),
            (setting::MAX_MESSAGE_SIZE, self.max_message_size),
            (setting::MAX_CONCURRENT_STREAMS, self.max_concurrent_streams),
            (setting::MAX_METADATA_SIZE, self.max_metadata_size),
            (setting::INITIAL_STREAM_WINDOW, self.initial_stream_window),
            (setting::INITIAL_CONNECTION_WINDOW, self.initial_connection_window),
        ]
    }

    /// Applies one received pair. Unknown ids are ignored (so later versions can add settings); known ids are
    /// range-checked.
    fn apply(&mut self, id: u16, value: u32) -> Result<(), FrameError> {
        let bad = || FrameError::InvalidSetting { id, value };
        match id {
            setting::MAX_FRAME_PAYLOAD => {
                if !(MIN_FRAME_PAYLOAD_LIMIT..=MAX_FRAME_PAYLOAD_LIMIT).contains(&value) {
                    return Err(bad());
                }
                self.max_frame_payload = value;
            }
            setting::MAX_MESSAGE_SIZE => self.max_message_size = value,
            setting::MAX_CONCURRENT_STREAMS => self.max_concurrent_streams = value,
            setting::MAX_METADATA_SIZE => {
                if value < MIN_METADATA_LIMIT {
                    return Err(bad());
                }
                self.max_metadata_size = value;
            }
            setting::INITIAL_STREAM_WINDOW => {
                if value > MAX_WINDOW {
                    return Err(bad());
                }
                self.initial_stream_window = value;
            }
            setting::INITIAL_CONNECTION_WINDOW => {
                if value > MAX_WINDOW {
                    return Err(bad());
                }
                self.initial_connection_window = value;
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks every range, including the cross-field rule `max_metadata_size <= max_frame_payload` (a CALL must
    /// fit in one frame). Returns the first offending pair.
    pub fn validate(&self) -> Result<(), FrameError> {
        let mut check = Settings::default();
        for (id, value) in self.pairs() {
            check.apply(id, value)?;
        }
        if self.max_metadata_size > self.max_frame_payload {
            return Err(FrameError::InvalidSetting { id: setting::MAX_METADATA_SIZE, value: self.max_metadata_size });
        }
        Ok(())
    }

    /// The pairs that differ from the defaults: all HELLO needs to carry.
    fn non_default_pairs(&self) -> impl Iterator<Item = (u16, u32)> {
        let defaults = Settings::default().pairs();
        self.pairs().into_iter().zip(defaults).filter(|(mine, default)| mine != default).map(|(mine, _)| mine)
    }
}

/// Why a metadata entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataError {
    /// Keys are 1..=255 bytes of `a-z 0-9 - _ .`.
    InvalidKey,
    /// Values are at most 65535 bytes.
    ValueTooLong,
}

/// Largest metadata key, bytes (its length is a u8 on the wire).
pub const MAX_METADATA_KEY: usize = u8::MAX as usize;
/// Largest metadata value, bytes (its length is a u16 on the wire).
pub const MAX_METADATA_VALUE: usize = u16::MAX as usize;

/// Whether `key` is a legal metadata key: 1..=255 bytes of lowercase ASCII letters, digits, `-`, `_`, `.`.
/// Lowercase-only makes lookups a byte comparison, with no case folding (gRPC inherits the same rule from HTTP/2).
pub fn is_valid_metadata_key(key: &[u8]) -> bool {
    !key.is_empty()
        && key.len() <= MAX_METADATA_KEY
        && key.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'))
}

/// Call metadata: an ordered list of key/value pairs; keys may repeat. Keys are validated on insert, so every
/// `Metadata` value can be encoded.
///
/// A `Vec`, not a map: calls carry a handful of entries, and a linear scan of 2-5 short keys beats hashing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    entries: Vec<(Bytes, Bytes)>,
}

impl Metadata {
    /// Empty metadata.
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// Appends an entry after checking the key and value sizes.
    pub fn insert(&mut self, key: impl Into<Bytes>, value: impl Into<Bytes>) -> Result<(), MetadataError> {
        let key = key.into();
        let value = value.into();
        if !is_valid_metadata_key(&key) {
            return Err(MetadataError::InvalidKey);
        }
        if value.len() > MAX_METADATA_VALUE {
            return Err(MetadataError::ValueTooLong);
        }
        self.entries.push((key, value));
        Ok(())
    }

    /// The first value for `key`.
    pub fn get(&self, key: &[u8]) -> Option<&Bytes> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Every value for `key`, in order.
    pub fn get_all<'a>(&'a self, key: &'a [u8]) -> impl Iterator<Item = &'a Bytes> + 'a {
        self.entries.iter().filter(move |(k, _)| k == key).map(|(_, v)| v)
    }

    /// All entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes these entries take on the wire: per entry 1 (key length) + key + 2 (value length) + value.
    pub fn encoded_len(&self) -> usize {
        self.entries.iter().map(|(k, v)| 3 + k.len() + v.len()).sum()
    }

    // Inlined: most frames carry no metadata, and the call alone cost 18 instructions (callgrind).
    #[inline]
    fn encode(&self, dst: &mut BytesMut) {
        for (key, value) in &self.entries {
            // Lengths fit: `insert` and the decoder both enforce the key and value bounds.
            dst.put_u8(key.len() as u8);
            dst.put_slice(key);
            dst.put_u16(value.len() as u16);
            dst.put_slice(value);
        }
    }

    /// Parses entries until the reader is empty.
    #[inline]
    fn decode(reader: &mut Reader) -> Result<Metadata, &'static str> {
        if reader.remaining() == 0 {
            // Most calls and statuses carry none: no call to the parser (about 30 instructions, callgrind).
            return Ok(Metadata::new());
        }
        Self::decode_entries(reader)
    }

    fn decode_entries(reader: &mut Reader) -> Result<Metadata, &'static str> {
        let mut metadata = Metadata::new();
        while reader.remaining() > 0 {
            let key_len = reader.u8().ok_or("truncated metadata key length")?;
            let key = reader.bytes(usize::from(key_len)).ok_or("truncated metadata key")?;
            if !is_valid_metadata_key(&key) {
                return Err("invalid metadata key");
            }
            let value_len = reader.u16().ok_or("truncated metadata value length")?;
            let value = reader.bytes(usize::from(value_len)).ok_or("truncated metadata value")?;
            metadata.entries.push((key, value));
        }
        Ok(metadata)
    }
}

/// The contents of a CALL frame: a new call on `stream_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The new stream: odd, and greater than every id the client used before on this connection.
    pub stream_id: u32,
    /// Which of the four call kinds.
    pub kind: CallKind,
    /// Relative deadline in milliseconds from when the server receives the CALL; 0 = no deadline.
    pub timeout_ms: u32,
    /// `pkg.Service/Method`, ASCII; at most `u16::MAX` bytes, never empty.
    pub method: Bytes,
    /// Leading metadata: trace id, auth token, ...
    pub metadata: Metadata,
}

/// One frame. Payload-carrying fields are `Bytes` slices of the decoder's input: no copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Stream 0. The first frame each side sends (after the client's preface).
    Hello {
        /// Must be [`PROTOCOL_VERSION`].
        version: u16,
        /// The sender's receive limits.
        settings: Settings,
    },
    /// Opens a call.
    Call(Call),
    /// A message, or a piece of one.
    Data {
        /// The call.
        stream_id: u32,
        /// Message bytes (the whole message, or the next piece of it).
        payload: Bytes,
        /// `END_STREAM`: the client's last message (never set by a server).
        end_stream: bool,
        /// `MESSAGE_CONTINUES`: more pieces of this message follow.
        continues: bool,
    },
    /// The client will send no more messages on this call.
    HalfClose {
        /// The call.
        stream_id: u32,
    },
    /// The call's outcome; closes the stream.
    Status {
        /// The call.
        stream_id: u32,
        /// Code, message and trailing metadata.
        status: Status,
    },
    /// The client abandons the call.
    Cancel {
        /// The call.
        stream_id: u32,
        /// Why: `CANCELLED` (caller gave up) or `DEADLINE_EXCEEDED` (the client's deadline fired).
        code: Code,
    },
    /// Flow-control credit: the receiver has consumed `increment` more bytes.
    WindowUpdate {
        /// The stream, or 0 for the connection window.
        stream_id: u32,
        /// Bytes of credit, 1..=2^31-1.
        increment: u32,
    },
    /// Liveness probe.
    Ping {
        /// Opaque; echoed in the PONG.
        payload: [u8; 8],
    },
    /// Answer to a PING.
    Pong {
        /// The PING's payload.
        payload: [u8; 8],
    },
    /// The sender is shutting the connection down.
    GoAway {
        /// Highest stream id the sender accepted; calls above it were not processed and may be retried.
        last_stream_id: u32,
        /// Why.
        code: GoAwayCode,
        /// Human-readable detail (UTF-8 by convention).
        message: Bytes,
    },
}

impl Frame {
    /// This frame's type.
    pub fn frame_type(&self) -> FrameType {
        match self {
            Frame::Hello { .. } => FrameType::Hello,
            Frame::Call(_) => FrameType::Call,
            Frame::Data { .. } => FrameType::Data,
            Frame::HalfClose { .. } => FrameType::HalfClose,
            Frame::Status { .. } => FrameType::Status,
            Frame::Cancel { .. } => FrameType::Cancel,
            Frame::WindowUpdate { .. } => FrameType::WindowUpdate,
            Frame::Ping { .. } => FrameType::Ping,
            Frame::Pong { .. } => FrameType::Pong,
            Frame::GoAway { .. } => FrameType::GoAway,
        }
    }

    /// The stream id in the header (0 for connection frames).
    pub fn stream_id(&self) -> u32 {
        match self {
            Frame::Call(call) => call.stream_id,
            Frame::Data { stream_id, .. }
            | Frame::HalfClose { stream_id }
            | Frame::Status { stream_id, .. }
            | Frame::Cancel { stream_id, .. }
            | Frame::WindowUpdate { stream_id, .. } => *stream_id,
            Frame::Hello { .. } | Frame::Ping { .. } | Frame::Pong { .. } | Frame::GoAway { .. } => 0,
        }
    }

    fn flags(&self) -> u8 {
        match self {
            Frame::Data { end_stream, continues, .. } => {
                (if *end_stream { FLAG_END_STREAM } else { 0 }) | (if *continues { FLAG_MESSAGE_CONTINUES } else { 0 })
            }
            _ => 0,
        }
    }

    /// Payload length in bytes (what the header's length field will say).
    pub fn payload_len(&self) -> usize {
        match self {
            Frame::Hello { settings, .. } => 2 + 6 * settings.non_default_pairs().count(),
            Frame::Call(call) => 1 + 4 + 2 + call.method.len() + call.metadata.encoded_len(),
            Frame::Data { payload, .. } => payload.len(),
            Frame::HalfClose { .. } => 0,
            Frame::Status { status, .. } => 2 + 2 + status.message.len() + status.metadata.encoded_len(),
            Frame::Cancel { .. } => 2,
            Frame::WindowUpdate { .. } => 4,
            Frame::Ping { .. } | Frame::Pong { .. } => 8,
            Frame::GoAway { message, .. } => 4 + 2 + message.len(),
        }
    }

    /// Total bytes on the wire: header + payload. Callers compare this with the *peer's* limits before encoding.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload_len()
    }
}

/// Why a frame could not be encoded. `dst` is untouched when this is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// A variable-length field is longer than its length prefix can say.
    FieldTooLong {
        /// Which field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// The stream id breaks the frame type's rule (reserved bit, 0 vs non-zero, CALL ids odd).
    BadStreamId {
        /// The frame type.
        frame_type: FrameType,
        /// The offending id.
        stream_id: u32,
    },
    /// A field value our own decoder would reject (e.g. END_STREAM with MESSAGE_CONTINUES, a zero increment,
    /// out-of-range settings, an empty method, a reserved bit in GOAWAY's last stream id).
    Invalid(&'static str),
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::FieldTooLong { field, len } => {
                write!(f, "{field} is too long ({len} bytes)")
            }
            EncodeError::BadStreamId { frame_type, stream_id } => {
                write!(f, "stream id {stream_id} is not valid for {}", frame_type.name())
            }
            EncodeError::Invalid(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for EncodeError {}

fn check_u16_len(field: &'static str, len: usize) -> Result<(), EncodeError> {
    if len > usize::from(u16::MAX) {
        return Err(EncodeError::FieldTooLong { field, len });
    }
    Ok(())
}

/// Checks everything that could make `encode` write something the decoder rejects, before writing anything.
/// Returns the payload length.
fn validate_for_encode(frame: &Frame) -> Result<u32, EncodeError> {
    let frame_type = frame.frame_type();
    let stream_id = frame.stream_id();
    if !stream_id_ok(frame_type, stream_id) {
        return Err(EncodeError::BadStreamId { frame_type, stream_id });
    }
    match frame {
        Frame::Hello { version, settings } => {
            if *version != PROTOCOL_VERSION {
                return Err(EncodeError::Invalid("HELLO version is not PROTOCOL_VERSION"));
            }
            if settings.validate().is_err() {
                return Err(EncodeError::Invalid("HELLO settings out of range"));
            }
        }
        Frame::Data { end_stream: true, continues: true, .. } => {
            return Err(EncodeError::Invalid("DATA with both END_STREAM and MESSAGE_CONTINUES"));
        }
        Frame::WindowUpdate { increment, .. } if *increment == 0 || *increment > MAX_WINDOW => {
            return Err(EncodeError::Invalid("WINDOW_UPDATE increment out of 1..=2^31-1"));
        }
        Frame::GoAway { last_stream_id, .. } if *last_stream_id > MAX_STREAM_ID => {
            return Err(EncodeError::Invalid("GOAWAY last stream id has the reserved bit set"));
        }
        _ => {}
    }
    // Computed once here and handed back, so `encode` does not walk the metadata twice.
    let payload_len = frame.payload_len();
    u32::try_from(payload_len).map_err(|_| EncodeError::FieldTooLong { field: "payload", len: payload_len })
}

/// A frame header as bytes. Written with one `put_slice`: a `put_*` per field costs a capacity check and a length
/// update each (about 40 instructions per frame, callgrind).
pub(crate) fn header_bytes(len: u32, stream_id: u32, frame_type: u8, flags: u8) -> [u8; HEADER_LEN] {
    let [l0, l1, l2, l3] = len.to_be_bytes();
    let [s0, s1, s2, s3] = stream_id.to_be_bytes();
    [l0, l1, l2, l3, s0, s1, s2, s3, frame_type, flags]
}

/// Appends one frame to `dst`.
///
/// Validates first and writes nothing on error. It does not know the peer's limits: the caller checks
/// [`Frame::encoded_len`] against the peer's `max_frame_payload` / `max_metadata_size`, and splits messages with
/// [`encode_message`].
pub fn encode(frame: &Frame, dst: &mut BytesMut) -> Result<(), EncodeError> {
    // The two frames of every call have encoders of their own, which the hot paths call directly.
    match frame {
        Frame::Call(c) => return encode_call(c.stream_id, c.kind, c.timeout_ms, &c.method, &c.metadata, dst),
        Frame::Status { stream_id, status } => return encode_status(*stream_id, status, dst),
        _ => {}
    }
    let payload_len = validate_for_encode(frame)?;
    dst.reserve(HEADER_LEN + payload_len as usize);
    dst.put_slice(&header_bytes(payload_len, frame.stream_id(), frame.frame_type() as u8, frame.flags()));
    match frame {
        Frame::Hello { version, settings } => {
            dst.put_u16(*version);
            for (id, value) in settings.non_default_pairs() {
                dst.put_u16(id);
                dst.put_u32(value);
            }
        }
        // Written by `encode_call` and `encode_status` above.
        Frame::Call(_) | Frame::Status { .. } => {}
        Frame::Data { payload, .. } => dst.put_slice(payload),
        Frame::HalfClose { .. } => {}
        Frame::Cancel { code, .. } => dst.put_u16(code.as_u16()),
        Frame::WindowUpdate { increment, .. } => dst.put_u32(*increment),
        Frame::Ping { payload } | Frame::Pong { payload } => dst.put_slice(payload),
        Frame::GoAway { last_stream_id, code, message } => {
            dst.put_u32(*last_stream_id);
            dst.put_u16(code.as_u16());
            dst.put_slice(message);
        }
    }
    Ok(())
}

/// Appends the CALL frame that opens `stream_id`, from the call's own fields (what `encode(&Frame::Call(..))` uses
/// too). The client calls it directly: building a `Frame::Call` meant moving the method and metadata into it and
/// dropping the frame again (about 145 instructions per call, callgrind). Validates first and writes nothing on
/// error.
#[inline]
pub fn encode_call(
    stream_id: u32,
    kind: CallKind,
    timeout_ms: u32,
    method: &[u8],
    metadata: &Metadata,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    if !stream_id_ok(FrameType::Call, stream_id) {
        return Err(EncodeError::BadStreamId { frame_type: FrameType::Call, stream_id });
    }
    if method.is_empty() {
        return Err(EncodeError::Invalid("CALL method is empty"));
    }
    check_u16_len("CALL method", method.len())?;
    let payload_len = 1 + 4 + 2 + method.len() + metadata.encoded_len();
    let len =
        u32::try_from(payload_len).map_err(|_| EncodeError::FieldTooLong { field: "payload", len: payload_len })?;
    dst.reserve(HEADER_LEN + payload_len);
    dst.put_slice(&header_bytes(len, stream_id, FrameType::Call as u8, 0));
    let [t0, t1, t2, t3] = timeout_ms.to_be_bytes();
    let [m0, m1] = (method.len() as u16).to_be_bytes();
    dst.put_slice(&[kind as u8, t0, t1, t2, t3, m0, m1]);
    dst.put_slice(method);
    metadata.encode(dst);
    Ok(())
}

/// Appends a STATUS frame for `stream_id` (what `encode(&Frame::Status { .. })` uses too). The fair writer calls
/// it directly rather than build (and then drop) a `Frame` around a status it already owns (about 45 instructions
/// per call, callgrind). Validates first and writes nothing on error.
pub fn encode_status(stream_id: u32, status: &Status, dst: &mut BytesMut) -> Result<(), EncodeError> {
    if !stream_id_ok(FrameType::Status, stream_id) {
        return Err(EncodeError::BadStreamId { frame_type: FrameType::Status, stream_id });
    }
    check_u16_len("STATUS message", status.message.len())?;
    let payload_len = 2 + 2 + status.message.len() + status.metadata.encoded_len();
    let len =
        u32::try_from(payload_len).map_err(|_| EncodeError::FieldTooLong { field: "payload", len: payload_len })?;
    dst.reserve(HEADER_LEN + payload_len);
    dst.put_slice(&header_bytes(len, stream_id, FrameType::Status as u8, 0));
    let [c0, c1] = status.code.as_u16().to_be_bytes();
    let [m0, m1] = (status.message.len() as u16).to_be_bytes();
    dst.put_slice(&[c0, c1, m0, m1]);
    dst.put_slice(&status.message);
    status.metadata.encode(dst);
    Ok(())
}

/// Appends one message as DATA frames of at most `max_frame_payload` bytes each, setting MESSAGE_CONTINUES on all
/// but the last and END_STREAM on the last if asked. An empty message is one empty DATA frame. Returns the number
/// of frames written.
///
/// The message is copied once, into `dst` (the connection's output buffer); the caller has already checked it
/// against the peer's `max_message_size` and flow-control window.
pub fn encode_message(
    stream_id: u32,
    message: &[u8],
    max_frame_payload: usize,
    end_stream: bool,
    dst: &mut BytesMut,
) -> Result<usize, EncodeError> {
    if !stream_id_ok(FrameType::Data, stream_id) {
        return Err(EncodeError::BadStreamId { frame_type: FrameType::Data, stream_id });
    }
    if max_frame_payload == 0 {
        return Err(EncodeError::Invalid("max_frame_payload is zero"));
    }
    let frames = message.len().div_ceil(max_frame_payload).max(1);
    dst.reserve(message.len() + frames * HEADER_LEN);
    let mut chunks = message.chunks(max_frame_payload);
    for i in 0..frames {
        let chunk = chunks.next().unwrap_or(&[]);
        let last = i + 1 == frames;
        let flags = if last {
            if end_stream {
                FLAG_END_STREAM
            } else {
                0
            }
        } else {
            FLAG_MESSAGE_CONTINUES
        };
        // A chunk is at most `max_frame_payload`, which the caller got from a validated u32 setting; guard anyway.
        let len = u32::try_from(chunk.len())
            .map_err(|_| EncodeError::FieldTooLong { field: "DATA payload", len: chunk.len() })?;
        dst.put_u32(len);
        dst.put_u32(stream_id);
        dst.put_u8(FrameType::Data as u8);
        dst.put_u8(flags);
        dst.put_slice(chunk);
    }
    Ok(frames)
}

/// Which end of the connection a decoder sits on. It decides whether a preface is expected and which frame types
/// the peer may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Decodes what a client sends: expects the preface, then HELLO; accepts CALL/HALF_CLOSE/CANCEL, not STATUS.
    Server,
    /// Decodes what a server sends: no preface, HELLO first; accepts STATUS, not CALL/HALF_CLOSE/CANCEL.
    Client,
}

/// Everything that can go wrong decoding, each with a fixed consequence ([`FrameError::action`]).
///
/// Connection-level errors mean the peer's framing or protocol state can no longer be trusted: GOAWAY + close.
/// Stream-level errors (`MetadataTooLarge`, `MalformedCall`, `MessageTooLarge`) affect one call; the frame
/// boundary is still known, so the connection and decoder carry on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The first 8 bytes from a client were not [`PREFACE`].
    BadPreface,
    /// The first frame was not HELLO.
    ExpectedHello {
        /// The raw type byte received instead.
        frame_type: u8,
    },
    /// A second HELLO on the same connection.
    DuplicateHello,
    /// HELLO carried a version we do not speak.
    UnsupportedVersion {
        /// The peer's version.
        version: u16,
    },
    /// A known setting had an out-of-range value.
    InvalidSetting {
        /// Setting id.
        id: u16,
        /// The value.
        value: u32,
    },
    /// The header announced a payload larger than our `max_frame_payload`.
    FrameTooLarge {
        /// Raw type byte (may be an unknown type).
        frame_type: u8,
        /// Announced payload length.
        len: u32,
        /// Our limit.
        max: u32,
    },
    /// A fixed-size frame (PING, PONG, CANCEL, WINDOW_UPDATE, HALF_CLOSE) or HELLO had an impossible length.
    BadFrameSize {
        /// The frame type.
        frame_type: FrameType,
        /// Announced payload length.
        len: u32,
    },
    /// The stream id breaks the frame type's rule.
    BadStreamId {
        /// The frame type.
        frame_type: FrameType,
        /// The id.
        stream_id: u32,
    },
    /// The peer sent a frame type only the other side may send (e.g. a client sending STATUS).
    WrongDirection {
        /// The frame type.
        frame_type: FrameType,
    },
    /// A forbidden flag combination: END_STREAM with MESSAGE_CONTINUES, or END_STREAM on a server's DATA.
    BadFlags {
        /// The frame type.
        frame_type: FrameType,
        /// The flags byte.
        flags: u8,
    },
    /// WINDOW_UPDATE with increment 0 or with the reserved bit set.
    InvalidWindowIncrement {
        /// The raw increment.
        increment: u32,
    },
    /// A payload whose inner lengths do not add up (HELLO, STATUS, GOAWAY).
    Malformed {
        /// The frame type.
        frame_type: FrameType,
        /// What was wrong.
        reason: &'static str,
    },
    /// Stream-level: a CALL or STATUS payload larger than our `max_metadata_size`. The payload is skipped without
    /// being buffered.
    MetadataTooLarge {
        /// The call.
        stream_id: u32,
        /// CALL or STATUS.
        frame_type: FrameType,
        /// Announced payload length.
        len: u32,
        /// Our limit.
        max: u32,
    },
    /// Stream-level: a CALL payload that does not parse (unknown call kind, bad metadata key, truncated field).
    MalformedCall {
        /// The call.
        stream_id: u32,
        /// What was wrong.
        reason: &'static str,
    },
    /// Stream-level: a reassembled message would exceed our `max_message_size` (from [`MessageAssembler`]).
    MessageTooLarge {
        /// The call.
        stream_id: u32,
        /// Bytes the message would have reached.
        len: usize,
        /// Our limit.
        max: usize,
    },
}

/// What the connection does about a [`FrameError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorAction {
    /// End this one call with `status`: a server sends it in a STATUS frame; a client completes the call locally
    /// with it (and sends CANCEL if the stream is still open). The connection carries on.
    FailStream {
        /// The call.
        stream_id: u32,
        /// Its outcome.
        status: Status,
    },
    /// Send GOAWAY with this code and message, flush, close. Every open call fails with `UNAVAILABLE`.
    CloseConnection {
        /// Why.
        code: GoAwayCode,
        /// Detail for the peer's logs.
        message: Bytes,
    },
}

impl FrameError {
    /// Whether the whole connection must go (GOAWAY + close), as opposed to one stream.
    pub fn is_connection_error(&self) -> bool {
        !matches!(
            self,
            FrameError::MetadataTooLarge { .. } | FrameError::MalformedCall { .. } | FrameError::MessageTooLarge { .. }
        )
    }

    /// What the spec says the peer gets for this error.
    pub fn action(&self) -> ErrorAction {
        let message = Bytes::from(self.to_string());
        match self {
            FrameError::MetadataTooLarge { stream_id, .. } | FrameError::MessageTooLarge { stream_id, .. } => {
                ErrorAction::FailStream { stream_id: *stream_id, status: Status::resource_exhausted(message) }
            }
            FrameError::MalformedCall { stream_id, .. } => {
                ErrorAction::FailStream { stream_id: *stream_id, status: Status::internal(message) }
            }
            FrameError::FrameTooLarge { .. } | FrameError::BadFrameSize { .. } => {
                ErrorAction::CloseConnection { code: GoAwayCode::FrameSizeError, message }
            }
            _ => ErrorAction::CloseConnection { code: GoAwayCode::ProtocolError, message },
        }
    }
}

fn type_name(raw: u8) -> String {
    match FrameType::from_u8(raw) {
        Some(t) => t.name().to_string(),
        None => format!("unknown type 0x{raw:02x}"),
    }
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::BadPreface => f.write_str("bad connection preface"),
            FrameError::ExpectedHello { frame_type } => {
                write!(f, "expected HELLO as the first frame, got {}", type_name(*frame_type))
            }
            FrameError::DuplicateHello => f.write_str("HELLO received twice"),
            FrameError::UnsupportedVersion { version } => {
                write!(f, "unsupported protocol version {version}; this peer speaks {PROTOCOL_VERSION}")
            }
            FrameError::InvalidSetting { id, value } => {
                write!(f, "setting 0x{id:x} has invalid value {value}")
            }
            FrameError::FrameTooLarge { frame_type, len, max } => {
                write!(f, "{} frame payload of {len} bytes exceeds max_frame_payload {max}", type_name(*frame_type))
            }
            FrameError::BadFrameSize { frame_type, len } => {
                write!(f, "{} frame with invalid payload length {len}", frame_type.name())
            }
            FrameError::BadStreamId { frame_type, stream_id } => {
                write!(f, "stream id {stream_id} is not valid for {}", frame_type.name())
            }
            FrameError::WrongDirection { frame_type } => {
                write!(f, "{} may not be sent by this side", frame_type.name())
            }
            FrameError::BadFlags { frame_type, flags } => {
                write!(f, "invalid flags 0x{flags:02x} on {}", frame_type.name())
            }
            FrameError::InvalidWindowIncrement { increment } => {
                write!(f, "WINDOW_UPDATE increment {increment} is not in 1..=2^31-1")
            }
            FrameError::Malformed { frame_type, reason } => {
                write!(f, "malformed {}: {reason}", frame_type.name())
            }
            FrameError::MetadataTooLarge { frame_type, len, max, .. } => {
                write!(f, "{} metadata of {len} bytes exceeds max_metadata_size {max}", frame_type.name())
            }
            FrameError::MalformedCall { reason, .. } => write!(f, "malformed CALL: {reason}"),
            FrameError::MessageTooLarge { len, max, .. } => {
                write!(f, "message of at least {len} bytes exceeds max_message_size {max}")
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// A parsed frame header whose payload has not fully arrived yet.
#[derive(Debug, Clone, Copy)]
struct Header {
    len: u32,
    stream_id: u32,
    frame_type: FrameType,
    flags: u8,
}

/// Where the decoder is. Every state stores enough to resume without looking at consumed bytes again.
#[derive(Debug)]
enum State {
    /// Matching the client preface; `matched` bytes of it have been consumed.
    Preface { matched: usize },
    /// Waiting for a 10-byte header.
    Header,
    /// Header parsed and validated; waiting for its whole payload.
    Payload(Header),
    /// Discarding the payload of an unknown-type frame or an over-limit CALL/STATUS.
    Skip { remaining: usize },
    /// A connection-level error happened; it is returned again on every call.
    Failed(FrameError),
}

/// Resumable, limit-enforcing frame decoder for one connection.
///
/// Feed it the connection's input buffer after every read. It consumes whole frames from the front of `buf` and
/// leaves a partial frame's payload in place (after consuming its header), so the reactor can keep appending.
#[derive(Debug)]
pub struct FrameDecoder {
    role: Role,
    /// Our own `max_frame_payload`, bytes: what we advertised, so what we enforce.
    max_frame_payload: u32,
    /// Our own `max_metadata_size`, bytes.
    max_metadata_size: u32,
    seen_hello: bool,
    state: State,
}

impl FrameDecoder {
    /// A decoder that enforces `local` (the settings this side advertises in its own HELLO).
    pub fn new(role: Role, local: &Settings) -> FrameDecoder {
        FrameDecoder {
            role,
            max_frame_payload: local.max_frame_payload,
            max_metadata_size: local.max_metadata_size,
            seen_hello: false,
            state: match role {
                Role::Server => State::Preface { matched: 0 },
                Role::Client => State::Header,
            },
        }
    }

    /// Decodes the next frame from the front of `buf`.
    ///
    /// - `Ok(Some(frame))`: one frame, consumed from `buf`.
    /// - `Ok(None)`: not enough bytes yet; call again after the next read. Never an error.
    /// - `Err(e)` with `e.is_connection_error()`: GOAWAY and close; the decoder returns `e` from now on.
    /// - `Err(e)` otherwise: fail that one stream; keep calling `decode`.
    ///
    /// Unknown frame types are skipped silently (after the size check), as HTTP/2 does.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        loop {
            match self.state {
                State::Failed(ref error) => return Err(error.clone()),
                State::Preface { matched } => {
                    let take = buf.len().min(PREFACE.len() - matched);
                    if buf[..take] != PREFACE[matched..matched + take] {
                        return Err(self.fail(FrameError::BadPreface));
                    }
                    buf.advance(take);
                    if matched + take < PREFACE.len() {
                        self.state = State::Preface { matched: matched + take };
                        return Ok(None);
                    }
                    self.state = State::Header;
                }
                State::Header => {
                    if buf.len() < HEADER_LEN {
                        return Ok(None);
                    }
                    // Read in place and consumed with one `advance`: four `get_*` calls cost four advances
                    // (about 60 instructions per frame, callgrind).
                    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
                    let stream_id = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
                    let (raw_type, flags) = (buf[8], buf[9]);
                    buf.advance(HEADER_LEN);
                    match self.check_header(len, stream_id, raw_type, flags) {
                        Ok(Some(header)) if buf.len() >= len as usize => {
                            // The whole frame is here, as it nearly always is: parse it now rather than park the
                            // header in `State::Payload` and go round the loop (about 40 instructions per frame,
                            // callgrind).
                            return self.take_payload(header, buf);
                        }
                        Ok(Some(header)) => {
                            // Bounded by max_frame_payload, so reserving cannot be abused.
                            buf.reserve((len as usize).saturating_sub(buf.len()));
                            self.state = State::Payload(header);
                        }
                        Ok(None) => self.state = State::Skip { remaining: len as usize },
                        Err(error) if error.is_connection_error() => return Err(self.fail(error)),
                        Err(error) => {
                            self.state = State::Skip { remaining: len as usize };
                            return Err(error);
                        }
                    }
                }
                State::Payload(header) => {
                    if buf.len() < header.len as usize {
                        return Ok(None);
                    }
                    self.state = State::Header;
                    return self.take_payload(header, buf);
                }
                State::Skip { remaining } => {
                    let take = remaining.min(buf.len());
                    buf.advance(take);
                    if take < remaining {
                        self.state = State::Skip { remaining: remaining - take };
                        return Ok(None);
                    }
                    self.state = State::Header;
                }
            }
        }
    }

    /// Consumes a checked header's payload, which has fully arrived, from the front of `buf` and parses it.
    fn take_payload(&mut self, header: Header, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let len = header.len as usize;
        let parsed = match parse_in_place(header, &buf[..len]) {
            // No byte field to hand out: no payload `Bytes` split off the input and dropped again (about 90
            // instructions per frame, callgrind; an OK STATUS ends every call).
            Some(parsed) => {
                buf.advance(len);
                parsed
            }
            None => {
                let payload = buf.split_to(len).freeze();
                self.parse_payload(header, payload)
            }
        };
        match parsed {
            Ok(frame) => Ok(Some(frame)),
            Err(error) if error.is_connection_error() => Err(self.fail(error)),
            Err(error) => Err(error),
        }
    }

    fn fail(&mut self, error: FrameError) -> FrameError {
        self.state = State::Failed(error.clone());
        error
    }

    /// Validates a header before any of its payload is buffered. `Ok(None)` means "skip this payload".
    fn check_header(&self, len: u32, stream_id: u32, raw_type: u8, flags: u8) -> Result<Option<Header>, FrameError> {
        let known = FrameType::from_u8(raw_type);
        if !self.seen_hello && known != Some(FrameType::Hello) {
            return Err(FrameError::ExpectedHello { frame_type: raw_type });
        }
        if len > self.max_frame_payload {
            return Err(FrameError::FrameTooLarge { frame_type: raw_type, len, max: self.max_frame_payload });
        }
        let Some(frame_type) = known else {
            return Ok(None);
        };
        let wrong_direction =
            matches!((frame_type.sender(), self.role), (Sender::Client, Role::Client) | (Sender::Server, Role::Server));
        if wrong_direction {
            return Err(FrameError::WrongDirection { frame_type });
        }
        if !stream_id_ok(frame_type, stream_id) {
            return Err(FrameError::BadStreamId { frame_type, stream_id });
        }
        if let Some(fixed) = frame_type.fixed_len() {
            if len != fixed {
                return Err(FrameError::BadFrameSize { frame_type, len });
            }
        }
        match frame_type {
            FrameType::Hello => {
                if self.seen_hello {
                    return Err(FrameError::DuplicateHello);
                }
                if len < 2 || (len - 2) % 6 != 0 {
                    return Err(FrameError::BadFrameSize { frame_type, len });
                }
            }
            FrameType::Data => {
                let end = flags & FLAG_END_STREAM != 0;
                if end && (flags & FLAG_MESSAGE_CONTINUES != 0 || self.role == Role::Client) {
                    return Err(FrameError::BadFlags { frame_type, flags });
                }
            }
            FrameType::Call | FrameType::Status if len > self.max_metadata_size => {
                return Err(FrameError::MetadataTooLarge { stream_id, frame_type, len, max: self.max_metadata_size });
            }
            _ => {}
        }
        Ok(Some(Header { len, stream_id, frame_type, flags }))
    }

    /// Parses a complete payload whose header already passed `check_header`.
    fn parse_payload(&mut self, header: Header, payload: Bytes) -> Result<Frame, FrameError> {
        let Header { stream_id, frame_type, flags, .. } = header;
        let malformed = |reason| FrameError::Malformed { frame_type, reason };
        let mut reader = Reader::new(payload);
        Ok(match frame_type {
            FrameType::Hello => {
                let version = reader.u16().ok_or(malformed("missing version"))?;
                if version != PROTOCOL_VERSION {
                    return Err(FrameError::UnsupportedVersion { version });
                }
                let mut settings = Settings::default();
                while reader.remaining() > 0 {
                    // The header check guaranteed whole 6-byte pairs.
                    let id = reader.u16().ok_or(malformed("truncated setting"))?;
                    let value = reader.u32().ok_or(malformed("truncated setting"))?;
                    settings.apply(id, value)?;
                }
                settings.validate()?;
                self.seen_hello = true;
                Frame::Hello { version, settings }
            }
            FrameType::Call => {
                let bad = |reason| FrameError::MalformedCall { stream_id, reason };
                let kind = reader.u8().ok_or(bad("truncated call kind"))?;
                let kind = CallKind::from_u8(kind).ok_or(bad("unknown call kind"))?;
                let timeout_ms = reader.u32().ok_or(bad("truncated timeout"))?;
                let method_len = reader.u16().ok_or(bad("truncated method length"))?;
                if method_len == 0 {
                    return Err(bad("empty method"));
                }
                let method = reader.bytes(usize::from(method_len)).ok_or(bad("truncated method"))?;
                let metadata = Metadata::decode(&mut reader).map_err(bad)?;
                Frame::Call(Call { stream_id, kind, timeout_ms, method, metadata })
            }
            FrameType::Data => Frame::Data {
                stream_id,
                payload: reader.rest(),
                end_stream: flags & FLAG_END_STREAM != 0,
                continues: flags & FLAG_MESSAGE_CONTINUES != 0,
            },
            // `take_payload` parses these in place; `check_header` let through only their fixed sizes.
            FrameType::HalfClose | FrameType::Cancel | FrameType::WindowUpdate | FrameType::Ping | FrameType::Pong => {
                return Err(malformed("wrong size"));
            }
            FrameType::Status => {
                let code = Code::from_wire(reader.u16().ok_or(malformed("truncated code"))?);
                let message_len = reader.u16().ok_or(malformed("truncated message length"))?;
                let message = reader.bytes(usize::from(message_len)).ok_or(malformed("truncated message"))?;
                let metadata = Metadata::decode(&mut reader).map_err(malformed)?;
                Frame::Status { stream_id, status: Status { code, message, metadata } }
            }
            FrameType::GoAway => {
                let last_stream_id = reader.u32().ok_or(malformed("truncated last stream id"))?;
                if last_stream_id > MAX_STREAM_ID {
                    return Err(malformed("reserved bit set in last stream id"));
                }
                let code = GoAwayCode::from_u16(reader.u16().ok_or(malformed("truncated code"))?);
                Frame::GoAway { last_stream_id, code, message: reader.rest() }
            }
        })
    }
}

/// Parses, straight from the input, a frame that has no byte field to hand out: the fixed-size frames, and a
/// STATUS with an empty message and no metadata (how every successful call ends). `None`: not such a frame (or
/// not of its fixed size, which `check_header` already refuses).
fn parse_in_place(header: Header, payload: &[u8]) -> Option<Result<Frame, FrameError>> {
    let stream_id = header.stream_id;
    let frame = match (header.frame_type, payload) {
        (FrameType::HalfClose, []) => Frame::HalfClose { stream_id },
        (FrameType::Cancel, &[c0, c1]) => {
            Frame::Cancel { stream_id, code: Code::from_wire(u16::from_be_bytes([c0, c1])) }
        }
        (FrameType::WindowUpdate, &[i0, i1, i2, i3]) => {
            let increment = u32::from_be_bytes([i0, i1, i2, i3]);
            if increment == 0 || increment > MAX_WINDOW {
                return Some(Err(FrameError::InvalidWindowIncrement { increment }));
            }
            Frame::WindowUpdate { stream_id, increment }
        }
        (FrameType::Ping, eight) => Frame::Ping { payload: eight.try_into().ok()? },
        (FrameType::Pong, eight) => Frame::Pong { payload: eight.try_into().ok()? },
        (FrameType::Status, &[c0, c1, 0, 0]) => Frame::Status {
            stream_id,
            status: Status {
                code: Code::from_wire(u16::from_be_bytes([c0, c1])),
                message: Bytes::new(),
                metadata: Metadata::new(),
            },
        },
        _ => return None,
    };
    Some(Ok(frame))
}

/// Bounds-checked big-endian reads over a payload; every read returns `None` instead of panicking, and byte
/// fields are zero-copy slices of the payload.
struct Reader {
    buf: Bytes,
}

impl Reader {
    fn new(buf: Bytes) -> Reader {
        Reader { buf }
    }

    fn remaining(&self) -> usize {
        self.buf.len()
    }

    fn u8(&mut self) -> Option<u8> {
        (self.buf.remaining() >= 1).then(|| self.buf.get_u8())
    }

    fn u16(&mut self) -> Option<u16> {
        (self.buf.remaining() >= 2).then(|| self.buf.get_u16())
    }

    fn u32(&mut self) -> Option<u32> {
        (self.buf.remaining() >= 4).then(|| self.buf.get_u32())
    }

    fn bytes(&mut self, n: usize) -> Option<Bytes> {
        (self.buf.remaining() >= n).then(|| self.buf.split_to(n))
    }

    fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.buf)
    }
}

/// Reassembles one stream's messages from DATA frames and enforces `max_message_size`.
///
/// A message that fits one frame is returned as that frame's payload, with no copy. Only a message split with
/// MESSAGE_CONTINUES is copied, once, into a contiguous buffer (the deserialiser needs one slice). The limit is
/// checked as each piece arrives, so an oversized message is refused at the first piece that crosses the limit,
/// not after buffering it.
#[derive(Debug)]
pub struct MessageAssembler {
    max_message_size: usize,
    partial: BytesMut,
    in_progress: bool,
}

impl MessageAssembler {
    /// An assembler enforcing our own `max_message_size` in bytes.
    pub fn new(max_message_size: usize) -> MessageAssembler {
        MessageAssembler { max_message_size, partial: BytesMut::new(), in_progress: false }
    }

    /// Forgets a partial message and any buffer kept from one, ready for another stream.
    pub fn reset(&mut self) {
        if self.partial.capacity() > 0 {
            self.partial = BytesMut::new();
        }
        self.in_progress = false;
    }

    /// Bytes of the message currently being reassembled (held in memory, already credited back to the peer).
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }

    /// Adds one DATA payload. Returns the whole message once its last piece arrives.
    ///
    /// On `MessageTooLarge` the partial message is dropped; the caller fails the stream with RESOURCE_EXHAUSTED
    /// and ignores the stream's later DATA.
    pub fn push(&mut self, stream_id: u32, payload: Bytes, continues: bool) -> Result<Option<Bytes>, FrameError> {
        let len = self.partial.len() + payload.len();
        if len > self.max_message_size {
            self.partial = BytesMut::new();
            self.in_progress = false;
            return Err(FrameError::MessageTooLarge { stream_id, len, max: self.max_message_size });
        }
        if !self.in_progress && !continues {
            return Ok(Some(payload));
        }
        self.partial.extend_from_slice(&payload);
        if continues {
            self.in_progress = true;
            return Ok(None);
        }
        self.in_progress = false;
        Ok(Some(self.partial.split().freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(pairs: &[(&'static str, &'static [u8])]) -> Metadata {
        let mut m = Metadata::new();
        for (k, v) in pairs {
            m.insert(Bytes::from_static(k.as_bytes()), Bytes::from_static(v)).unwrap();
        }
        m
    }

    /// One of every frame type, with non-trivial contents, legal for the given direction.
    fn client_frames() -> Vec<Frame> {
        vec![
            Frame::Hello {
                version: PROTOCOL_VERSION,
                settings: Settings { max_concurrent_streams: 7, initial_stream_window: 1000, ..Settings::default() },
            },
            Frame::Call(Call {
                stream_id: 1,
                kind: CallKind::Bidi,
                timeout_ms: 250,
                method: Bytes::from_static(b"kv.Store/Watch"),
                metadata: md(&[("trace-id", b"abc"), ("authorization", b"\x00\xffbin"), ("trace-id", b"")]),
            }),
            Frame::Data { stream_id: 1, payload: Bytes::from_static(b"part"), end_stream: false, continues: true },
            Frame::Data { stream_id: 1, payload: Bytes::new(), end_stream: true, continues: false },
            Frame::HalfClose { stream_id: 3 },
            Frame::Cancel { stream_id: 5, code: Code::DeadlineExceeded },
            Frame::WindowUpdate { stream_id: 0, increment: MAX_WINDOW },
            Frame::WindowUpdate { stream_id: 9, increment: 1 },
            Frame::Ping { payload: *b"12345678" },
            Frame::Pong { payload: [0xff; 8] },
            Frame::GoAway { last_stream_id: 0, code: GoAwayCode::Other(77), message: Bytes::from_static(b"bye") },
        ]
    }

    fn server_frames() -> Vec<Frame> {
        let mut status = Status::new(Code::ResourceExhausted, "slow down");
        status.metadata.insert("retry-after-ms", "100").unwrap();
        vec![
            Frame::Hello { version: PROTOCOL_VERSION, settings: Settings::default() },
            Frame::Data { stream_id: 1, payload: Bytes::from_static(b"reply"), end_stream: false, continues: false },
            Frame::Status { stream_id: 1, status },
            Frame::Status { stream_id: 3, status: Status::ok() },
            Frame::WindowUpdate { stream_id: 1, increment: 4096 },
            Frame::Ping { payload: [0; 8] },
            Frame::GoAway {
                last_stream_id: MAX_STREAM_ID,
                code: GoAwayCode::NoError,
                message: Bytes::from_static(b"draining"),
            },
        ]
    }

    #[test]
    fn the_call_and_status_encoders_refuse_what_decode_would_reject_and_write_nothing() {
        let long_status = Status::internal("x".repeat(usize::from(u16::MAX) + 1));
        for (stream_id, status) in [(7, long_status), (0, Status::ok())] {
            let mut dst = BytesMut::new();
            assert!(encode_status(stream_id, &status, &mut dst).is_err());
            assert!(dst.is_empty());
        }
        let long = vec![b'm'; usize::from(u16::MAX) + 1];
        for (stream_id, method) in [(0, &b"a/b"[..]), (2, b"a/b"), (MAX_STREAM_ID + 2, b"a/b"), (3, b""), (3, &long)] {
            let mut dst = BytesMut::from(&b"before"[..]);
            let got = encode_call(stream_id, CallKind::Unary, 0, method, &Metadata::new(), &mut dst);
            assert!(got.is_err(), "stream {stream_id}, method of {} bytes", method.len());
            assert_eq!(dst, b"before"[..]);
        }
        // The longest legal method still encodes, and decodes back.
        let method = Bytes::from(vec![b'm'; usize::from(u16::MAX)]);
        let call =
            Call { stream_id: 9, kind: CallKind::ClientStreaming, timeout_ms: 1, method, metadata: Metadata::new() };
        let settings = Settings {
            max_frame_payload: MAX_FRAME_PAYLOAD_LIMIT,
            max_metadata_size: MAX_FRAME_PAYLOAD_LIMIT,
            ..Settings::default()
        };
        let mut decoder = FrameDecoder::new(Role::Server, &settings);
        let mut encoded = BytesMut::new();
        encode(&Frame::Call(call.clone()), &mut encoded).unwrap();
        let mut wire = BytesMut::from(&after_hello(&encoded)[..]);
        let mut frames = Vec::new();
        drain(&mut decoder, &mut wire, &mut frames).unwrap();
        assert_eq!(frames.last(), Some(&Frame::Call(call)));
    }

    fn encode_all(frames: &[Frame]) -> BytesMut {
        let mut out = BytesMut::new();
        for frame in frames {
            let before = out.len();
            encode(frame, &mut out).unwrap();
            assert_eq!(out.len() - before, frame.encoded_len(), "{frame:?}");
        }
        out
    }

    fn wire(role: Role, frames: &[Frame]) -> Vec<u8> {
        let mut out = Vec::new();
        if role == Role::Server {
            out.extend_from_slice(&PREFACE);
        }
        out.extend_from_slice(&encode_all(frames));
        out
    }

    /// Decodes everything in `buf`; stops at the first error.
    fn drain(decoder: &mut FrameDecoder, buf: &mut BytesMut, out: &mut Vec<Frame>) -> Result<(), FrameError> {
        while let Some(frame) = decoder.decode(buf)? {
            out.push(frame);
        }
        Ok(())
    }

    fn decode_whole(role: Role, bytes: &[u8]) -> Result<Vec<Frame>, FrameError> {
        let mut decoder = FrameDecoder::new(role, &Settings::default());
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        drain(&mut decoder, &mut buf, &mut out)?;
        Ok(out)
    }

    fn hello_bytes() -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(&Frame::Hello { version: PROTOCOL_VERSION, settings: Settings::default() }, &mut out).unwrap();
        out.to_vec()
    }

    /// Bytes a server decoder sees: preface, HELLO, then `rest`.
    fn after_hello(rest: &[u8]) -> Vec<u8> {
        let mut out = PREFACE.to_vec();
        out.extend_from_slice(&hello_bytes());
        out.extend_from_slice(rest);
        out
    }

    fn raw_frame(len: u32, stream_id: u32, frame_type: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&stream_id.to_be_bytes());
        out.push(frame_type);
        out.push(flags);
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn every_frame_type_round_trips() {
        for (role, frames) in [(Role::Server, client_frames()), (Role::Client, server_frames())] {
            let bytes = wire(role, &frames);
            assert_eq!(decode_whole(role, &bytes).unwrap(), frames);
        }
        let mut seen: Vec<FrameType> = client_frames().iter().chain(&server_frames()).map(Frame::frame_type).collect();
        seen.sort_by_key(|t| *t as u8);
        seen.dedup();
        assert_eq!(seen.len(), 10, "every frame type is covered");
    }

    #[test]
    fn every_split_point_gives_the_same_frames() {
        for (role, frames) in [(Role::Server, client_frames()), (Role::Client, server_frames())] {
            let bytes = wire(role, &frames);
            for split in 0..=bytes.len() {
                let mut decoder = FrameDecoder::new(role, &Settings::default());
                let mut buf = BytesMut::from(&bytes[..split]);
                let mut out = Vec::new();
                drain(&mut decoder, &mut buf, &mut out).unwrap();
                buf.extend_from_slice(&bytes[split..]);
                drain(&mut decoder, &mut buf, &mut out).unwrap();
                assert_eq!(out, frames, "split at {split}");
                assert!(buf.is_empty());
            }
        }
    }

    #[test]
    fn byte_at_a_time_gives_the_same_frames() {
        let bytes = wire(Role::Server, &client_frames());
        let mut decoder = FrameDecoder::new(Role::Server, &Settings::default());
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for &b in &bytes {
            buf.extend_from_slice(&[b]);
            drain(&mut decoder, &mut buf, &mut out).unwrap();
        }
        assert_eq!(out, client_frames());
    }

    #[test]
    fn payloads_are_zero_copy_slices_of_the_input() {
        let frame =
            Frame::Data { stream_id: 1, payload: Bytes::from(vec![7u8; 1000]), end_stream: true, continues: false };
        let mut buf = BytesMut::from(&after_hello(&encode_all(&[frame]))[..]);
        let mut decoder = FrameDecoder::new(Role::Server, &Settings::default());
        decoder.decode(&mut buf).unwrap().unwrap(); // HELLO
        let input_start = buf.as_ptr() as usize;
        let Some(Frame::Data { payload, .. }) = decoder.decode(&mut buf).unwrap() else { panic!("expected DATA") };
        assert_eq!(payload.as_ptr() as usize, input_start + HEADER_LEN);
    }

    #[test]
    fn hello_carries_only_non_default_settings() {
        // All defaults: just the version.
        assert_eq!(hello_bytes(), [0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
        let settings = Settings { max_message_size: 1 << 20, ..Settings::default() };
        let frame = Frame::Hello { version: PROTOCOL_VERSION, settings };
        let bytes = encode_all(std::slice::from_ref(&frame));
        // Version, then the one pair (id 2, 1 MiB).
        assert_eq!(&bytes[HEADER_LEN..], [0, 1, 0, 2, 0, 0x10, 0, 0]);
        let decoded = decode_whole(Role::Server, &[&PREFACE[..], &bytes].concat()).unwrap();
        assert_eq!(decoded, vec![frame]);
    }

    #[test]
    fn unknown_settings_are_ignored_and_known_ones_range_checked() {
        let mut payload = vec![0, 1];
        payload.extend_from_slice(&[0x12, 0x34, 0, 0, 0, 9]); // unknown id 0x1234
        payload.extend_from_slice(&[0, 3, 0, 0, 0, 5]); // MAX_CONCURRENT_STREAMS = 5
        let mut bytes = PREFACE.to_vec();
        bytes.extend_from_slice(&raw_frame(payload.len() as u32, 0, 0, 0, &payload));
        let frames = decode_whole(Role::Server, &bytes).unwrap();
        let Frame::Hello { settings, .. } = &frames[0] else { panic!() };
        assert_eq!(settings.max_concurrent_streams, 5);

        let bad = [0, 1, 0, 1, 0, 0, 0, 10]; // MAX_FRAME_PAYLOAD = 10 < 1024
        let mut bytes = PREFACE.to_vec();
        bytes.extend_from_slice(&raw_frame(8, 0, 0, 0, &bad));
        assert_eq!(decode_whole(Role::Server, &bytes), Err(FrameError::InvalidSetting { id: 1, value: 10 }));

        // Metadata limit above the frame limit: a CALL could never fit.
        let settings = Settings { max_frame_payload: 2048, max_metadata_size: 4096, ..Settings::default() };
        assert!(settings.validate().is_err());
        assert!(encode(&Frame::Hello { version: 1, settings }, &mut BytesMut::new()).is_err());
    }

    #[test]
    fn bad_preface_is_refused_at_the_first_wrong_byte() {
        for input in [&b"*1\r\n$4\r\nPING\r\n"[..], b"PING\r\n", b"\x89PNG\r\n\x1a\n", b"\x89PLX\n"] {
            let mut decoder = FrameDecoder::new(Role::Server, &Settings::default());
            let mut buf = BytesMut::from(input);
            assert_eq!(decoder.decode(&mut buf), Err(FrameError::BadPreface));
            // Poisoned: the same error again, whatever follows.
            buf.extend_from_slice(&PREFACE);
            assert_eq!(decoder.decode(&mut buf), Err(FrameError::BadPreface));
        }
        // A partial, so-far-correct preface is just "not enough bytes".
        let mut decoder = FrameDecoder::new(Role::Server, &Settings::default());
        let mut buf = BytesMut::from(&PREFACE[..3]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert!(buf.is_empty());
        let action = FrameError::BadPreface.action();
        assert!(matches!(action, ErrorAction::CloseConnection { code: GoAwayCode::ProtocolError, .. }));
    }

    #[test]
    fn first_frame_must_be_hello_and_only_once() {
        let ping = raw_frame(8, 0, FrameType::Ping as u8, 0, &[0; 8]);
        let mut bytes = PREFACE.to_vec();
        bytes.extend_from_slice(&ping);
        assert_eq!(decode_whole(Role::Server, &bytes), Err(FrameError::ExpectedHello { frame_type: 7 }));
        // Even an unknown type may not come first.
        let mut bytes = PREFACE.to_vec();
        bytes.extend_from_slice(&raw_frame(0, 0, 0x42, 0, &[]));
        assert_eq!(decode_whole(Role::Server, &bytes), Err(FrameError::ExpectedHello { frame_type: 0x42 }));
        assert_eq!(decode_whole(Role::Server, &after_hello(&hello_bytes())), Err(FrameError::DuplicateHello));
        // A server sends no preface: a client decoder starts at HELLO.
        assert_eq!(decode_whole(Role::Client, &hello_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn unsupported_version_is_a_connection_error() {
        let mut bytes = PREFACE.to_vec();
        bytes.extend_from_slice(&raw_frame(2, 0, 0, 0, &[0, 2]));
        let err = decode_whole(Role::Server, &bytes).unwrap_err();
        assert_eq!(err, FrameError::UnsupportedVersion { version: 2 });
        assert!(err.is_connection_error());
    }

    #[test]
    fn oversized_frame_is_refused_from_its_header_alone() {
        // Only the header arrives; the 4 GiB payload never does, and nothing is buffered for it.
        let mut buf = BytesMut::from(&after_hello(&raw_frame(u32::MAX, 1, FrameType::Data as u8, 0, &[]))[..]);
        let mut decoder = FrameDecoder::new(Role::Server, &Settings::default());
        decoder.decode(&mut buf).unwrap();
        let err = decoder.decode(&mut buf).unwrap_err();
        assert_eq!(err, FrameError::FrameTooLarge { frame_type: 2, len: u32::MAX, max: 65536 });
        assert!(matches!(err.action(), ErrorAction::CloseConnection { code: GoAwayCode::FrameSizeError, .. }));
        assert!(buf.capacity() < 1 << 20, "no buffer was reserved for the payload");
        // Exactly the limit is fine.
        let limit = raw_frame(65536, 1, FrameType::Data as u8, 0, &vec![0; 65536]);
        assert_eq!(decode_whole(Role::Server, &after_hello(&limit)).unwrap().len(), 2);
        let over = raw_frame(65537, 1, FrameType::Data as u8, 0, &[]);
        assert!(matches!(decode_whole(Role::Server, &after_hello(&over)), Err(FrameError::FrameTooLarge { .. })));
    }

    #[test]
    fn oversized_metadata_fails_only_that_stream_and_is_skipped() {
        let settings = Settings::default();
        let mut big = md(&[]);
        big.insert("blob", vec![b'x'; 9000]).unwrap();
        let call = Frame::Call(Call {
            stream_id: 1,
            kind: CallKind::Unary,
            timeout_ms: 0,
            method: Bytes::from_static(b"a.B/C"),
            metadata: big,
        });
        let ok = Frame::Ping { payload: [1; 8] };
        let bytes = after_hello(&encode_all(&[call, ok.clone()]));
        let mut decoder = FrameDecoder::new(Role::Server, &settings);
        // Feed only preface + HELLO + the CALL header: the error comes before the payload.
        let header_end = PREFACE.len() + 12 + HEADER_LEN;
        let mut buf = BytesMut::from(&bytes[..header_end]);
        decoder.decode(&mut buf).unwrap();
        let err = decoder.decode(&mut buf).unwrap_err();
        assert!(matches!(
            err,
            FrameError::MetadataTooLarge { stream_id: 1, frame_type: FrameType::Call, max: 8192, .. }
        ));
        assert!(!err.is_connection_error());
        let ErrorAction::FailStream { stream_id: 1, status } = err.action() else { panic!() };
        assert_eq!(status.code, Code::ResourceExhausted);
        // The rest of the payload is skipped as it arrives, and decoding carries on.
        buf.extend_from_slice(&bytes[header_end..]);
        assert_eq!(decoder.decode(&mut buf), Ok(Some(ok)));
    }

    #[test]
    fn unknown_frame_types_are_skipped() {
        let unknown = raw_frame(5, 3, 0xee, 0xff, b"hello");
        let ping = raw_frame(8, 0, FrameType::Ping as u8, 0, b"abcdefgh");
        let frames = decode_whole(Role::Server, &after_hello(&[unknown, ping].concat())).unwrap();
        assert_eq!(frames[1], Frame::Ping { payload: *b"abcdefgh" });
        assert_eq!(frames.len(), 2);
    }

    #[test]
    fn unknown_flag_bits_are_ignored() {
        let data = raw_frame(1, 1, FrameType::Data as u8, 0xf0, b"x");
        let frames = decode_whole(Role::Server, &after_hello(&data)).unwrap();
        assert_eq!(
            frames[1],
            Frame::Data { stream_id: 1, payload: Bytes::from_static(b"x"), end_stream: false, continues: false }
        );
    }

    /// Each case: who decodes, the offending frame (after a valid preface + HELLO), and the error's text.
    #[test]
    fn connection_errors_from_headers() {
        use FrameType as T;
        let (srv, cli) = (Role::Server, Role::Client);
        let cases: Vec<(Role, Vec<u8>, &str)> = vec![
            (srv, raw_frame(8, 1, T::Ping as u8, 0, &[0; 8]), "stream id 1 is not valid for PING"),
            (srv, raw_frame(0, 0, T::HalfClose as u8, 0, &[]), "stream id 0 is not valid for HALF_CLOSE"),
            (srv, raw_frame(7, 2, T::Call as u8, 0, &[0; 7]), "stream id 2 is not valid for CALL"),
            (srv, raw_frame(0, 1 << 31 | 1, T::Data as u8, 0, &[]), "stream id 2147483649 is not valid for DATA"),
            (srv, raw_frame(4, 1, T::Status as u8, 0, &[0; 4]), "STATUS may not be sent by this side"),
            (cli, raw_frame(0, 1, T::HalfClose as u8, 0, &[]), "HALF_CLOSE may not be sent by this side"),
            (cli, raw_frame(2, 1, T::Cancel as u8, 0, &[0, 1]), "CANCEL may not be sent by this side"),
            (srv, raw_frame(7, 0, T::Ping as u8, 0, &[0; 7]), "PING frame with invalid payload length 7"),
            (srv, raw_frame(1, 1, T::HalfClose as u8, 0, &[0]), "HALF_CLOSE frame with invalid payload length 1"),
            (srv, raw_frame(3, 1, T::Cancel as u8, 0, &[0; 3]), "CANCEL frame with invalid payload length 3"),
            (
                srv,
                raw_frame(5, 0, T::WindowUpdate as u8, 0, &[0; 5]),
                "WINDOW_UPDATE frame with invalid payload length 5",
            ),
            (srv, raw_frame(0, 1, T::Data as u8, 3, &[]), "invalid flags 0x03 on DATA"),
            (cli, raw_frame(0, 1, T::Data as u8, 1, &[]), "invalid flags 0x01 on DATA"),
            (srv, raw_frame(4, 0, T::WindowUpdate as u8, 0, &[0; 4]), "WINDOW_UPDATE increment 0 is not in 1..=2^31-1"),
            (
                srv,
                raw_frame(4, 0, T::WindowUpdate as u8, 0, &[0x80, 0, 0, 1]),
                "WINDOW_UPDATE increment 2147483649 is not in 1..=2^31-1",
            ),
            (srv, raw_frame(5, 0, T::GoAway as u8, 0, &[0; 5]), "malformed GOAWAY: truncated code"),
            (
                srv,
                raw_frame(6, 0, T::GoAway as u8, 0, &[0x80, 0, 0, 0, 0, 0]),
                "malformed GOAWAY: reserved bit set in last stream id",
            ),
            (cli, raw_frame(3, 1, T::Status as u8, 0, &[0; 3]), "malformed STATUS: truncated message length"),
            (cli, raw_frame(5, 1, T::Status as u8, 0, &[0, 0, 0, 2, b'x']), "malformed STATUS: truncated message"),
            (
                cli,
                raw_frame(6, 1, T::Status as u8, 0, &[0, 0, 0, 0, 2, b'a']),
                "malformed STATUS: truncated metadata key",
            ),
            (
                cli,
                raw_frame(7, 1, T::Status as u8, 0, &[0, 0, 0, 0, 1, b'A', 0]),
                "malformed STATUS: invalid metadata key",
            ),
            (srv, raw_frame(2, 0, T::Hello as u8, 0, &[0, 1]), "HELLO received twice"),
        ];
        for (role, frame, expected) in cases {
            let bytes = match role {
                Role::Server => after_hello(&frame),
                Role::Client => [hello_bytes(), frame].concat(),
            };
            let err = decode_whole(role, &bytes).unwrap_err();
            assert_eq!(err.to_string(), expected);
            assert!(err.is_connection_error(), "{err}");
            let ErrorAction::CloseConnection { message, .. } = err.action() else { panic!("{err}") };
            assert_eq!(message, expected);
        }
        // A HELLO of impossible length (not 2 + 6n) is a frame-size error.
        let mut bytes = PREFACE.to_vec();
        bytes.extend_from_slice(&raw_frame(3, 0, 0, 0, &[0, 1, 0]));
        let err = decode_whole(Role::Server, &bytes).unwrap_err();
        assert_eq!(err, FrameError::BadFrameSize { frame_type: FrameType::Hello, len: 3 });
    }

    #[test]
    fn malformed_call_fails_only_its_stream() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "truncated call kind"),
            (vec![9, 0, 0, 0, 0, 0, 1, b'm'], "unknown call kind"),
            (vec![0, 0, 0], "truncated timeout"),
            (vec![0, 0, 0, 0, 0, 0], "truncated method length"),
            (vec![0, 0, 0, 0, 0, 0, 0], "empty method"),
            (vec![0, 0, 0, 0, 0, 0, 5, b'm'], "truncated method"),
            (vec![0, 0, 0, 0, 0, 0, 1, b'm', 2, b'U', b'P', 0, 0], "invalid metadata key"),
            (vec![0, 0, 0, 0, 0, 0, 1, b'm', 0, 0, 0], "invalid metadata key"),
            (vec![0, 0, 0, 0, 0, 0, 1, b'm', 1, b'k', 0], "truncated metadata value length"),
            (vec![0, 0, 0, 0, 0, 0, 1, b'm', 1, b'k', 0, 3, b'v'], "truncated metadata value"),
        ];
        for (payload, reason) in cases {
            let call = raw_frame(payload.len() as u32, 7, FrameType::Call as u8, 0, &payload);
            let ping = raw_frame(8, 0, FrameType::Ping as u8, 0, &[2; 8]);
            let mut decoder = FrameDecoder::new(Role::Server, &Settings::default());
            let mut buf = BytesMut::from(&after_hello(&[call, ping].concat())[..]);
            decoder.decode(&mut buf).unwrap();
            let err = decoder.decode(&mut buf).unwrap_err();
            assert_eq!(err, FrameError::MalformedCall { stream_id: 7, reason });
            let ErrorAction::FailStream { stream_id: 7, status } = err.action() else { panic!() };
            assert_eq!(status.code, Code::Internal);
            assert_eq!(decoder.decode(&mut buf), Ok(Some(Frame::Ping { payload: [2; 8] })), "{reason}");
        }
    }

    #[test]
    fn unknown_status_and_cancel_codes_become_unknown() {
        let status = raw_frame(4, 1, FrameType::Status as u8, 0, &[0, 99, 0, 0]);
        let frames = decode_whole(Role::Client, &[hello_bytes(), status].concat()).unwrap();
        assert_eq!(frames[1], Frame::Status { stream_id: 1, status: Status::new(Code::Unknown, Bytes::new()) });
        let cancel = raw_frame(2, 1, FrameType::Cancel as u8, 0, &[1, 0]);
        let frames = decode_whole(Role::Server, &after_hello(&cancel)).unwrap();
        assert_eq!(frames[1], Frame::Cancel { stream_id: 1, code: Code::Unknown });
    }

    #[test]
    fn encode_refuses_what_decode_would_reject() {
        let mut out = BytesMut::new();
        let data =
            |stream_id, end_stream, continues| Frame::Data { stream_id, payload: Bytes::new(), end_stream, continues };
        assert!(encode(&data(0, false, false), &mut out).is_err());
        assert!(encode(&data(1, true, true), &mut out).is_err());
        assert!(encode(&data(MAX_STREAM_ID + 1, false, false), &mut out).is_err());
        let call = Call {
            stream_id: 2,
            kind: CallKind::Unary,
            timeout_ms: 0,
            method: Bytes::from_static(b"m"),
            metadata: Metadata::new(),
        };
        assert!(matches!(encode(&Frame::Call(call.clone()), &mut out), Err(EncodeError::BadStreamId { .. })));
        let empty_method = Call { stream_id: 1, method: Bytes::new(), ..call.clone() };
        assert!(encode(&Frame::Call(empty_method), &mut out).is_err());
        let long_method = Call { stream_id: 1, method: Bytes::from(vec![b'm'; 70_000]), ..call };
        assert_eq!(
            encode(&Frame::Call(long_method), &mut out),
            Err(EncodeError::FieldTooLong { field: "CALL method", len: 70_000 })
        );
        assert!(encode(&Frame::WindowUpdate { stream_id: 0, increment: 0 }, &mut out).is_err());
        assert!(encode(&Frame::Ping { payload: [0; 8] }, &mut out).is_ok());
        let long_message = Status::new(Code::Internal, vec![b'x'; 70_000]);
        assert!(encode(&Frame::Status { stream_id: 1, status: long_message }, &mut out).is_err());
        assert_eq!(out.len(), HEADER_LEN + 8, "failed encodes wrote nothing");
    }

    #[test]
    fn metadata_keys_are_validated() {
        let mut m = Metadata::new();
        assert_eq!(m.insert("Trace-Id", "x"), Err(MetadataError::InvalidKey));
        assert_eq!(m.insert("", "x"), Err(MetadataError::InvalidKey));
        assert_eq!(m.insert("a b", "x"), Err(MetadataError::InvalidKey));
        assert_eq!(m.insert(vec![b'a'; 256], "x"), Err(MetadataError::InvalidKey));
        assert_eq!(m.insert("k", vec![0; 65536]), Err(MetadataError::ValueTooLong));
        m.insert(vec![b'a'; 255], vec![0; 65535]).unwrap();
        m.insert("x-1_2.3", "v1").unwrap();
        m.insert("x-1_2.3", "v2").unwrap();
        assert_eq!(m.get(b"x-1_2.3").unwrap(), "v1");
        assert_eq!(m.get_all(b"x-1_2.3").collect::<Vec<_>>(), ["v1", "v2"]);
        assert_eq!(m.len(), 3);
        assert_eq!(m.encoded_len(), (3 + 255 + 65535) + 2 * (3 + 7 + 2));
    }

    #[test]
    fn messages_split_into_frames_and_reassemble() {
        let message: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let mut out = BytesMut::new();
        let frames = encode_message(3, &message, 65536, true, &mut out).unwrap();
        assert_eq!(frames, 4);
        assert_eq!(out.len(), message.len() + 4 * HEADER_LEN);
        let mut decoder = FrameDecoder::new(Role::Server, &Settings::default());
        let mut buf = BytesMut::from(&after_hello(&out)[..]);
        decoder.decode(&mut buf).unwrap();
        let mut assembler = MessageAssembler::new(4 << 20);
        let mut whole = None;
        for i in 0..frames {
            let Some(Frame::Data { stream_id: 3, payload, end_stream, continues }) = decoder.decode(&mut buf).unwrap()
            else {
                panic!()
            };
            assert_eq!(continues, i + 1 < frames);
            assert_eq!(end_stream, i + 1 == frames);
            whole = assembler.push(3, payload, continues).unwrap();
            assert_eq!(whole.is_some(), i + 1 == frames);
        }
        assert_eq!(whole.unwrap(), message);
        assert_eq!(assembler.buffered(), 0);
        // An empty message is one empty DATA frame.
        let mut out = BytesMut::new();
        assert_eq!(encode_message(1, &[], 65536, false, &mut out).unwrap(), 1);
        assert_eq!(&out[..], &raw_frame(0, 1, FrameType::Data as u8, 0, &[])[..]);
    }

    #[test]
    fn single_frame_messages_are_not_copied() {
        let payload = Bytes::from(vec![1u8; 100]);
        let mut assembler = MessageAssembler::new(1000);
        let out = assembler.push(1, payload.clone(), false).unwrap().unwrap();
        assert_eq!(out.as_ptr(), payload.as_ptr());
    }

    #[test]
    fn oversized_message_is_refused_at_the_crossing_piece() {
        let mut assembler = MessageAssembler::new(10);
        assert_eq!(assembler.push(5, Bytes::from_static(b"123456"), true), Ok(None));
        let err = assembler.push(5, Bytes::from_static(b"78901"), true).unwrap_err();
        assert_eq!(err, FrameError::MessageTooLarge { stream_id: 5, len: 11, max: 10 });
        let ErrorAction::FailStream { stream_id: 5, status } = err.action() else { panic!() };
        assert_eq!(status.code, Code::ResourceExhausted);
        assert_eq!(assembler.buffered(), 0, "the partial message was dropped");
        // Exactly the limit is fine.
        assert_eq!(assembler.push(5, Bytes::from_static(b"1234567890"), false).unwrap().unwrap(), "1234567890");
    }

    /// The spec's worked example, parsed from `docs/rpc-protocol.md`, must equal what the codec produces, and must
    /// decode back to the same frames: the doc cannot go stale.
    #[test]
    fn worked_example_in_the_spec_matches_the_codec() {
        let doc = include_str!("../../docs/rpc-protocol.md");
        let start = doc.find("<!-- worked-example:begin -->").expect("begin marker");
        let end = doc.find("<!-- worked-example:end -->").expect("end marker");
        let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
        let mut client_speaking = true;
        for line in doc[start..end].lines() {
            let line = line.trim();
            if line.starts_with("C->S") {
                client_speaking = true;
            } else if line.starts_with("S->C") {
                client_speaking = false;
            } else if let Some((hex, _annotation)) = line.split_once('|') {
                let out = if client_speaking { &mut to_server } else { &mut to_client };
                for byte in hex.split_whitespace() {
                    out.push(u8::from_str_radix(byte, 16).expect("hex byte"));
                }
            }
        }

        let mut metadata = Metadata::new();
        metadata.insert("trace-id", "4bf92f35").unwrap();
        let client_frames = vec![
            Frame::Hello { version: PROTOCOL_VERSION, settings: Settings::default() },
            Frame::Call(Call {
                stream_id: 1,
                kind: CallKind::Unary,
                timeout_ms: 1000,
                method: Bytes::from_static(b"kv.Store/Get"),
                metadata,
            }),
            Frame::Data { stream_id: 1, payload: Bytes::from_static(b"\x03foo"), end_stream: true, continues: false },
        ];
        let server_frames = vec![
            Frame::Hello {
                version: PROTOCOL_VERSION,
                settings: Settings { max_concurrent_streams: 64, ..Settings::default() },
            },
            Frame::Data { stream_id: 1, payload: Bytes::from_static(b"\x03bar"), end_stream: false, continues: false },
            Frame::Status { stream_id: 1, status: Status::ok() },
        ];
        let expected_to_server = wire(Role::Server, &client_frames);
        let expected_to_client = wire(Role::Client, &server_frames);
        assert_eq!(hex(&to_server), hex(&expected_to_server), "client -> server bytes in the spec");
        assert_eq!(hex(&to_client), hex(&expected_to_client), "server -> client bytes in the spec");
        assert_eq!((to_server.len(), to_client.len()), (82, 46), "byte counts quoted in the spec");
        assert_eq!(decode_whole(Role::Server, &to_server).unwrap(), client_frames);
        assert_eq!(decode_whole(Role::Client, &to_client).unwrap(), server_frames);
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
    }

    /// xorshift64*: a tiny seeded generator so the fuzz loop is reproducible without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Random bytes and mutated valid streams, fed in random chunks with small limits: nothing may panic, every
    /// error must be typed, and a poisoned decoder must stay poisoned.
    #[test]
    fn random_input_never_panics() {
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        let small = Settings { max_frame_payload: 1024, max_metadata_size: 256, ..Settings::default() };
        let valid_client = wire(Role::Server, &client_frames());
        let valid_server = wire(Role::Client, &server_frames());
        for iteration in 0..100_000 {
            let role = if iteration % 2 == 0 { Role::Server } else { Role::Client };
            let mut input = match iteration % 4 {
                // Pure noise after a correct start, so the header parser is exercised.
                0 | 1 => {
                    let mut v = match role {
                        Role::Server => after_hello(&[]),
                        Role::Client => hello_bytes(),
                    };
                    let n = rng.below(64);
                    v.extend((0..n).map(|_| rng.next() as u8));
                    v
                }
                // A valid stream with a few bytes flipped.
                _ => {
                    let mut v = if role == Role::Server { valid_client.clone() } else { valid_server.clone() };
                    for _ in 0..1 + rng.below(4) {
                        let at = rng.below(v.len());
                        v[at] = rng.next() as u8;
                    }
                    v
                }
            };
            if iteration % 16 == 0 {
                input.truncate(rng.below(input.len() + 1));
            }
            let settings = if iteration % 3 == 0 { small } else { Settings::default() };
            let mut decoder = FrameDecoder::new(role, &settings);
            let mut buf = BytesMut::new();
            let mut rest = &input[..];
            'feed: while !rest.is_empty() {
                let take = 1 + rng.below(rest.len().min(40));
                buf.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                loop {
                    match decoder.decode(&mut buf) {
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(error) if error.is_connection_error() => {
                            assert_eq!(decoder.decode(&mut buf), Err(error));
                            break 'feed;
                        }
                        Err(_) => {}
                    }
                }
            }
        }
    }
}
