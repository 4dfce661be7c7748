//! The reactor's cross-thread handle: a channel into the loop plus a `mio::Waker` to interrupt `epoll_wait`.
//!
//! ```text
//!  worker thread --post(msg)--> crossbeam channel --\
//!               --wake()------> eventfd (mio::Waker) --> epoll_wait returns WAKER token --> loop drains channel
//! ```
//!
//! This is how blocking work leaves the loop and its result comes back: hand the job to a thread, and have the
//! thread `post` the answer. The loop itself never blocks.
//!
//! Wake-ups are coalesced: a flag records that a wake is already pending, so a thousand posts between two loop
//! iterations cost one `write(2)` to the eventfd, not a thousand.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::Sender;

use super::{Core, Protocol};

/// A closure run on the loop thread with the protocol and the reactor core.
pub type LoopFn<P> = Box<dyn FnOnce(&mut P, &mut Core<P>) + Send>;

/// What travels through the channel.
pub(crate) enum Envelope<P: Protocol> {
    Message(P::Message),
    Call(LoopFn<P>),
    Shutdown,
}

/// Shared between the loop and every handle.
pub(crate) struct WakeState {
    pub(crate) waker: mio::Waker,
    /// Set by the first post after the loop last drained the channel; cleared by the loop before draining.
    pub(crate) pending: AtomicBool,
}

/// Sends work into a running reactor from any thread. Cheap to clone.
pub struct Handle<P: Protocol> {
    pub(crate) tx: Sender<Envelope<P>>,
    pub(crate) wake: Arc<WakeState>,
}

impl<P: Protocol> Clone for Handle<P> {
    fn clone(&self) -> Self {
        Handle { tx: self.tx.clone(), wake: self.wake.clone() }
    }
}

impl<P: Protocol> fmt::Debug for Handle<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Handle")
    }
}

/// The reactor has stopped; the message was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the reactor has stopped")
    }
}

impl std::error::Error for Stopped {}

impl<P: Protocol> Handle<P> {
    /// Delivers `msg` to [`Protocol::message`] on the loop thread.
    pub fn post(&self, msg: P::Message) -> Result<(), Stopped> {
        self.send(Envelope::Message(msg))
    }

    /// Runs `f` on the loop thread.
    pub fn run<F>(&self, f: F) -> Result<(), Stopped>
    where
        F: FnOnce(&mut P, &mut Core<P>) + Send + 'static,
    {
        self.send(Envelope::Call(Box::new(f)))
    }

    /// Starts a graceful shutdown, as SIGTERM would: stop accepting, let the protocol drain, flush, close.
    pub fn shutdown(&self) -> Result<(), Stopped> {
        self.send(Envelope::Shutdown)
    }

    fn send(&self, env: Envelope<P>) -> Result<(), Stopped> {
        self.tx.send(env).map_err(|_| Stopped)?;
        if !self.wake.pending.swap(true, Ordering::AcqRel) {
            self.wake.waker.wake().map_err(|_| Stopped)?;
        }
        Ok(())
    }
}
