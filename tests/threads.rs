//! The KV integration suites again, against the thread-per-connection server (`plexus server --io threads`): the
//! baseline must give the same replies as the reactor, with the same limits; only the I/O model differs. The suites
//! live in `tests/suites/` and are compiled once per model; `support::IoModel` picks the model from this binary's
//! name, so nothing in the suites changes.

mod support;

mod kv {
    use super::support;
    include!("suites/kv.rs");
}

mod kv_blocking {
    use super::support;
    include!("suites/kv_blocking.rs");
}

mod kv_types {
    use super::support;
    include!("suites/kv_types.rs");
}
