//! Each data-type family through a real client (the `redis` crate) over a socket, RESP2 and RESP3: the unit tests
//! next to each family check exact bytes; these check that a real client library sees Redis's types and values.

mod support;

include!("suites/kv_types.rs");
