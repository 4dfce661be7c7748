//! Turning Rust values into message bytes and back: the "IDL" of plexus RPC is a serde type.
//!
//! ```text
//! handler's Resp --Message::encode (postcard)--> Bytes --DATA frames--> peer
//! DATA frames --MessageAssembler--> Bytes --Message::decode (postcard)--> handler's Req
//! ```
//!
//! Every `Serialize + DeserializeOwned` type is a [`Message`] through a blanket impl, so declaring a method's types
//! is one `#[derive(Serialize, Deserialize)]`. [`Raw`] opts out of serialisation and carries the bytes as they
//! are, for proxies, benchmarks, or a client written in another language that does its own encoding.
//!
//! Simplification against gRPC: gRPC negotiates a codec per call (`content-type: application/grpc+proto`) and
//! may compress each message; we have exactly one codec and no compression, so nothing about it travels on the wire.

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::status::Status;

/// A value that can travel as one RPC message.
pub trait Message: Sized + Send + 'static {
    /// The message's bytes. A failure is the sender's bug, so the framework reports it as `INTERNAL`.
    fn encode(&self) -> Result<Bytes, Status>;
    /// Parses a message received from the peer. Failures are `INTERNAL` (spec section 10: "a message failed to
    /// deserialise"); the bytes came from a peer, so this must never panic.
    fn decode(bytes: Bytes) -> Result<Self, Status>;
}

impl<T: Serialize + DeserializeOwned + Send + 'static> Message for T {
    /// A message that fits what is left of this thread's arena block is written straight into it and handed out as
    /// a slice of it (no allocation of its own). One that does not is measured with postcard's `Size` flavor and
    /// then written into a fresh block, or, past [`ARENA_MESSAGE_MAX_BYTES`], into a buffer of exactly its size.
    /// `to_allocvec` would grow a `Vec` several times, and a `Vec` with spare capacity costs `Bytes::from` a second
    /// allocation for its shared header; an exact-length one converts for free.
    fn encode(&self) -> Result<Bytes, Status> {
        if let Some(bytes) = ARENA.with(|arena| encode_in_arena(self, &mut arena.borrow_mut())) {
            return Ok(bytes);
        }
        let size =
            postcard::serialize_with_flavor(self, postcard::ser_flavors::Size::default()).map_err(encode_error)?;
        if size <= ARENA_MESSAGE_MAX_BYTES {
            return ARENA.with(|arena| {
                let mut block = arena.borrow_mut();
                *block = fresh_block();
                encode_in_arena(self, &mut block).ok_or_else(|| Status::internal("cannot encode message"))
            });
        }
        let mut buf = vec![0u8; size];
        postcard::to_slice(self, &mut buf).map_err(encode_error)?;
        Ok(Bytes::from(buf))
    }

    // Inlined into each handler's decode-call-encode closure (`Router::unary`): left to LLVM, whether the
    // request's deserialiser is inlined there flipped with unrelated changes elsewhere (about 100 instructions
    // per call either way, callgrind).
    #[inline]
    fn decode(bytes: Bytes) -> Result<Self, Status> {
        postcard::from_bytes(&bytes).map_err(|e| Status::internal(format!("cannot decode message: {e}")))
    }
}

fn encode_error(e: postcard::Error) -> Status {
    Status::internal(format!("cannot encode message: {e}"))
}

/// Bytes of one encode arena block. Small messages are written one after another into a block and handed out as
/// slices of it: a reference-count bump each instead of a `malloc` and a `free` (with a hundred calls in flight,
/// glibc's per-thread cache overflows and each pair costs about 300 instructions, callgrind). A block is freed when
/// its last message has been written to the peer, so a small message stuck in a slow stream's queue pins at most
/// this much; idle connections hold none.
const ARENA_BLOCK_BYTES: usize = 4 * 1024;
/// Largest message a fresh block is started for; a bigger one that does not fit what is left of the current block
/// gets an allocation of its own (the per-message cost is small next to its size, and such messages would use up
/// blocks fast).
const ARENA_MESSAGE_MAX_BYTES: usize = 512;

thread_local! {
    /// The unused rest of this thread's current block: the next message is written at its front. Its bytes are
    /// initialised (zeroed when the block is made) so postcard can write into it as a plain slice with no measuring
    /// pass first: measuring every message cost about 75 instructions, and sizing the slice for it 40 more
    /// (callgrind). A failed attempt leaves stale bytes behind, which is harmless: only what a message wrote is
    /// ever handed out.
    static ARENA: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

fn fresh_block() -> BytesMut {
    BytesMut::zeroed(ARENA_BLOCK_BYTES)
}

/// Writes `value` at the front of `block` and splits it off; `None` if it does not fit what is left (postcard
/// stops at the end of the slice, having written only into the block's unused rest).
fn encode_in_arena<T: Serialize>(value: &T, block: &mut BytesMut) -> Option<Bytes> {
    let used = postcard::to_slice(value, &mut block[..]).ok()?.len();
    Some(block.split_to(used).freeze())
}

/// Message bytes passed through untouched (no postcard). Zero-copy both ways.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Raw(pub Bytes);

impl Message for Raw {
    fn encode(&self) -> Result<Bytes, Status> {
        Ok(self.0.clone())
    }

    fn decode(bytes: Bytes) -> Result<Self, Status> {
        Ok(Raw(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::status::Code;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Hello {
        name: String,
        times: u32,
    }

    #[test]
    fn serde_types_round_trip_through_postcard() {
        let value = Hello { name: "ada".into(), times: 3 };
        let bytes = value.encode().unwrap();
        // postcard: varint length 3, "ada", varint 3.
        assert_eq!(&bytes[..], b"\x03ada\x03");
        assert_eq!(Hello::decode(bytes).unwrap(), value);
    }

    #[test]
    fn garbage_from_a_peer_is_an_internal_status_not_a_panic() {
        let err = Hello::decode(Bytes::from_static(b"\xff\xff\xff")).unwrap_err();
        assert_eq!(err.code, Code::Internal);
    }

    #[test]
    fn small_messages_share_an_arena_block_and_stay_intact() {
        let a = Hello { name: "ada".into(), times: 1 }.encode().unwrap();
        let b = Hello { name: "grace".into(), times: 2 }.encode().unwrap();
        assert_eq!(&a[..], b"\x03ada\x01");
        assert_eq!(&b[..], b"\x05grace\x02");
        assert_eq!(Hello::decode(a).unwrap(), Hello { name: "ada".into(), times: 1 });
        // A message bigger than the arena limit is encoded on its own, and correctly.
        let big = Hello { name: "x".repeat(ARENA_MESSAGE_MAX_BYTES * 2), times: 3 };
        assert_eq!(Hello::decode(big.encode().unwrap()).unwrap(), big);
        // A block's remainder is not enough for a message: a fresh block is started.
        let many: Vec<Bytes> = (0..100).map(|i| Hello { name: "y".repeat(100), times: i }.encode().unwrap()).collect();
        for (i, bytes) in many.into_iter().enumerate() {
            assert_eq!(Hello::decode(bytes).unwrap().times, i as u32);
        }
    }

    #[test]
    fn raw_is_not_copied() {
        let bytes = Bytes::from(vec![7u8; 100]);
        let raw = Raw::decode(bytes.clone()).unwrap();
        assert_eq!(raw.encode().unwrap().as_ptr(), bytes.as_ptr());
    }
}
