//! Sockets and buffers.
