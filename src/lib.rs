//! plexus: an epoll reactor and the servers it drives.
pub mod net;
pub mod reactor;
