//! plexus: an epoll reactor and the servers it drives.
pub mod echo;
pub mod net;
pub mod reactor;
