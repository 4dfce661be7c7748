//! Hash maps for the per-call hot path: keys are stream ids, call ids, connection ids and method names.
//!
//! ```text
//! key --foldhash (fast variant, per-map random seed)--> u64 --hashbrown--> slot
//! ```
//!
//! std's default SipHash-1-3 costs about a hundred instructions per small key, and a unary call does several map
//! operations on each side (open the stream, find it for every frame, remove it). These maps use foldhash, the
//! keyed folded-multiply hash the keyspace dict already uses (`kv::dict`), in its `fast` variant: a few
//! instructions per integer key. Hash flooding is bounded here anyway: the maps a peer can fill (stream ids) hold
//! at most `MAX_CONCURRENT_STREAMS` entries (100 by default), the server accepts only increasing stream ids, and
//! the router is built by the server, so a peer can only look names up in it. Redis makes a similar trade: SipHash
//! for keys a client can create in the keyspace, cheap hashing for internal tables.

use std::collections::HashMap;

/// A `HashMap` hashed with foldhash's fast variant, seeded per map.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_map_works_as_a_map() {
        let mut m: FastMap<u32, &str> = FastMap::default();
        for id in (1..2000).step_by(2) {
            m.insert(id, "stream");
        }
        assert_eq!(m.len(), 1000);
        assert_eq!(m.get(&1999), Some(&"stream"));
        assert_eq!(m.get(&2), None);
        assert_eq!(m.remove(&1), Some("stream"));
    }
}
