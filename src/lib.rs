//! plexus: an epoll reactor and the servers it drives.
pub mod kv;
pub mod net;
pub mod reactor;
