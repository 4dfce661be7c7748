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

use bytes::Bytes;
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
    /// Two passes, one allocation: postcard's `Size` flavor measures the message, then it is written into a buffer
    /// of exactly that size. `to_allocvec` would grow a `Vec` several times, and a `Vec` with spare capacity costs
    /// `Bytes::from` a second allocation for its shared header; an exact-length one converts for free. For the small
    /// messages of a typical call the extra pass is far cheaper than the allocations it saves.
    fn encode(&self) -> Result<Bytes, Status> {
        let size = postcard::serialize_with_flavor(self, postcard::ser_flavors::Size::default())
            .map_err(|e| Status::internal(format!("cannot encode message: {e}")))?;
        let mut buf = vec![0u8; size];
        postcard::to_slice(self, &mut buf).map_err(|e| Status::internal(format!("cannot encode message: {e}")))?;
        Ok(Bytes::from(buf))
    }

    fn decode(bytes: Bytes) -> Result<Self, Status> {
        postcard::from_bytes(&bytes).map_err(|e| Status::internal(format!("cannot decode message: {e}")))
    }
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
    fn raw_is_not_copied() {
        let bytes = Bytes::from(vec![7u8; 100]);
        let raw = Raw::decode(bytes.clone()).unwrap();
        assert_eq!(raw.encode().unwrap().as_ptr(), bytes.as_ptr());
    }
}
