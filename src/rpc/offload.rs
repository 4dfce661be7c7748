//! A small worker pool for blocking work, so the reactor thread never blocks.
//!
//! ```text
//! handler (loop thread) --pool.spawn(job)--> crossbeam channel --> worker thread runs job
//!                                                                    \--> sink.reply(result)
//!                                                                          --> Handle::post --> loop writes it
//! ```
//!
//! A handler that would block (disk, a slow computation, a call to another service with a blocking client) moves
//! the work and the call's [`ServerStream`](super::service::ServerStream) into a job; the worker completes the call
//! through the sink, which posts back to the loop. Meanwhile the loop serves every other call on every connection.
//!
//! The queue is bounded: when every worker is busy and the queue is full, `spawn` refuses the job, and the handler
//! answers `RESOURCE_EXHAUSTED` instead of letting a backlog grow without limit (load shedding).

use std::fmt;
use std::thread;

use crossbeam_channel::{Sender, TrySendError};

type Job = Box<dyn FnOnce() + Send>;

/// Fixed-size pool of worker threads fed by a bounded channel. Dropping it finishes queued jobs, then joins.
pub struct WorkerPool {
    tx: Option<Sender<Job>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerPool").field("threads", &self.threads.len()).finish()
    }
}

/// The pool's queue is full (or the pool is shutting down); the job was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl fmt::Display for Busy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("worker pool is busy")
    }
}

impl std::error::Error for Busy {}

impl WorkerPool {
    /// `threads` workers and room for `queue` waiting jobs.
    pub fn new(threads: usize, queue: usize) -> WorkerPool {
        let (tx, rx) = crossbeam_channel::bounded::<Job>(queue);
        let threads = (0..threads.max(1))
            .map(|i| {
                let rx = rx.clone();
                thread::Builder::new()
                    .name(format!("rpc-worker-{i}"))
                    .spawn(move || {
                        for job in rx {
                            job();
                        }
                    })
                    .expect("spawn worker thread")
            })
            .collect();
        WorkerPool { tx: Some(tx), threads }
    }

    /// Queues `job` without blocking; `Err(Busy)` if the queue is full.
    pub fn spawn(&self, job: impl FnOnce() + Send + 'static) -> Result<(), Busy> {
        let tx = self.tx.as_ref().ok_or(Busy)?;
        tx.try_send(Box::new(job)).map_err(|e| match e {
            TrySendError::Full(_) | TrySendError::Disconnected(_) => Busy,
        })
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.tx = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_on_workers_and_a_full_queue_refuses() {
        let pool = WorkerPool::new(1, 1);
        let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
        let (done_tx, done_rx) = crossbeam_channel::unbounded();
        // The first job blocks the only worker until we open the gate.
        let d = done_tx.clone();
        pool.spawn(move || {
            gate_rx.recv().unwrap();
            d.send(1).unwrap();
        })
        .unwrap();
        // Wait until the worker has taken it, so the queue is empty again.
        let d = done_tx.clone();
        let mut queued = pool.spawn(move || d.send(2).unwrap());
        while queued.is_err() {
            std::thread::yield_now();
            let d = done_tx.clone();
            queued = pool.spawn(move || d.send(2).unwrap());
        }
        assert_eq!(pool.spawn(|| {}), Err(Busy), "one running, one queued: full");
        gate_tx.send(()).unwrap();
        let mut got: Vec<i32> = done_rx.iter().take(2).collect();
        got.sort();
        assert_eq!(got, [1, 2]);
    }
}
