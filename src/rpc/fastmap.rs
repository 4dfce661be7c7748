//! Hash maps for the per-call hot path: keys are stream ids, call ids, connection ids and method names.
//!
//! ```text
//! key --FastHasher (rotate, xor, multiply per word)--> u64 --hashbrown--> slot
//! ```
//!
//! std's default SipHash-1-3 costs about a hundred instructions per small key, and a unary call does several map
//! operations on each side (open the stream, find it for every frame, remove it). SipHash exists to stop a peer from
//! choosing keys that collide; here that risk is bounded instead: the maps a peer can fill (stream ids) hold at most
//! `MAX_CONCURRENT_STREAMS` entries (100 by default), the server accepts only increasing stream ids, and the router
//! is built by the server, so a peer can only look names up in it. Worst case is a linear probe over 100 entries, not
//! an unbounded blow-up. Redis makes a similar trade: its dict uses SipHash for keys a client can create in the
//! keyspace, but plain integer hashing for internal tables.
//!
//! The mixing step (rotate, xor in the word, multiply by an odd constant) is the well-known "Fx" scheme; it spreads
//! consecutive integers over hashbrown's control bytes, which an identity hash would not.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// 2^64 / golden ratio, rounded to odd: multiplying by it moves low-bit differences into the high bits.
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// A fast, non-cryptographic hasher for small keys; see the module doc for why it is safe enough here.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.mix(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.mix(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.mix(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash_of<T: Hash>(value: T) -> u64 {
        BuildHasherDefault::<FastHasher>::default().hash_one(value)
    }

    #[test]
    fn consecutive_stream_ids_spread_over_the_top_bits() {
        // hashbrown picks groups with the low bits and tags entries with the top 7: both must vary.
        let tops: std::collections::HashSet<u64> = (1..200u32).step_by(2).map(|id| hash_of(id) >> 57).collect();
        assert!(tops.len() > 50, "only {} distinct tags for 100 ids", tops.len());
        let lows: std::collections::HashSet<u64> = (1..200u32).step_by(2).map(|id| hash_of(id) & 127).collect();
        assert!(lows.len() > 50, "only {} distinct low bits for 100 ids", lows.len());
    }

    #[test]
    fn byte_keys_differ_in_their_tails() {
        assert_ne!(hash_of(&b"demo.Greeter/Hello"[..]), hash_of(&b"demo.Greeter/Hellp"[..]));
        assert_ne!(hash_of(&b"a"[..]), hash_of(&b"a\0"[..]));
    }

    #[test]
    fn a_fast_map_works_as_a_map() {
        let mut map: FastMap<u32, &str> = FastMap::default();
        map.insert(1, "one");
        map.insert(3, "three");
        assert_eq!(map.get(&3), Some(&"three"));
        assert_eq!(map.remove(&1), Some("one"));
        assert_eq!(map.len(), 1);
    }
}
