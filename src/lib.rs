//! plexus: an epoll reactor and the servers it drives.
pub mod app;
pub mod echo;
pub mod kv;
pub mod net;
pub mod reactor;
pub mod rpc;
