//! Blocking commands through a running server: A waits while B is served, waiters are served in arrival order,
//! timeouts answer null, a client that disconnects while blocked is forgotten, and a push inside MULTI/EXEC wakes
//! waiters only once the whole transaction has run.

mod support;

include!("suites/kv_blocking.rs");
