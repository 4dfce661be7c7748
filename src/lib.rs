//! plexus: an epoll reactor and the servers it drives.
pub mod echo;
pub mod kv;
pub mod net;
pub mod reactor;
