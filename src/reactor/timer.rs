//! Timers: a binary min-heap of deadlines with lazy cancellation.
//!
//! `insert` pushes `(deadline, seq)` onto the heap and parks the payload in a slab. `cancel` only removes the
//! payload; its heap entry stays behind and is skipped when it reaches the top (lazy cancellation), so both are
//! O(log n) with no search. The reactor asks [`TimerQueue::next_deadline`] for the poll timeout (Redis's `ae.c`
//! does the same with `aeSearchNearestTimer`, though with an O(n) list walk) and pops due timers after each poll.
//!
//! The heap is compacted when cancelled entries outnumber live ones, so a workload that arms and cancels timers
//! forever (RPC deadlines that are met) does not grow the heap without bound.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use slab::Slab;

/// Names one armed timer. Stale ids (fired or cancelled) are harmless: cancelling one is a no-op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerId {
    slot: u32,
    seq: u64,
}

/// Below this many heap entries compaction is not worth a rebuild.
const COMPACT_MIN_ENTRIES: usize = 1024;

#[derive(Debug)]
pub struct TimerQueue<T> {
    /// Deadlines in firing order; ties broken by arming order (`seq`), so equal deadlines fire FIFO.
    heap: BinaryHeap<Reverse<(Instant, u64, u32)>>,
    /// Live payloads with the `seq` that armed them; a heap entry whose `seq` no longer matches was cancelled.
    live: Slab<(u64, T)>,
    next_seq: u64,
}

impl<T> Default for TimerQueue<T> {
    fn default() -> Self {
        TimerQueue { heap: BinaryHeap::new(), live: Slab::new(), next_seq: 0 }
    }
}

impl<T> TimerQueue<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms a timer that fires at `deadline`.
    pub fn insert(&mut self, deadline: Instant, payload: T) -> TimerId {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = self.live.insert((seq, payload)) as u32;
        self.heap.push(Reverse((deadline, seq, slot)));
        TimerId { slot, seq }
    }

    /// Disarms a timer and returns its payload, or `None` if it already fired or was cancelled.
    pub fn cancel(&mut self, id: TimerId) -> Option<T> {
        match self.live.get(id.slot as usize) {
            Some((seq, _)) if *seq == id.seq => {}
            _ => return None,
        }
        let (_, payload) = self.live.remove(id.slot as usize);
        if self.heap.len() > COMPACT_MIN_ENTRIES && self.heap.len() > 2 * self.live.len() {
            self.compact();
        }
        Some(payload)
    }

    /// The earliest live deadline. Drops cancelled entries found on top, hence `&mut self`.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((deadline, seq, slot))) = self.heap.peek().copied() {
            if self.is_live(seq, slot) {
                return Some(deadline);
            }
            self.heap.pop();
        }
        None
    }

    /// Removes and returns the earliest timer whose deadline is at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<T> {
        while let Some(Reverse((deadline, seq, slot))) = self.heap.peek().copied() {
            if !self.is_live(seq, slot) {
                self.heap.pop();
                continue;
            }
            if deadline > now {
                return None;
            }
            self.heap.pop();
            return Some(self.live.remove(slot as usize).1);
        }
        None
    }

    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    fn is_live(&self, seq: u64, slot: u32) -> bool {
        matches!(self.live.get(slot as usize), Some((s, _)) if *s == seq)
    }

    fn compact(&mut self) {
        let live = &self.live;
        self.heap.retain(|Reverse((_, seq, slot))| matches!(live.get(*slot as usize), Some((s, _)) if s == seq));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fires_in_deadline_order_and_fifo_on_ties() {
        let t0 = Instant::now();
        let mut q = TimerQueue::new();
        q.insert(t0 + Duration::from_millis(30), "c");
        q.insert(t0 + Duration::from_millis(10), "a");
        q.insert(t0 + Duration::from_millis(20), "b1");
        q.insert(t0 + Duration::from_millis(20), "b2");
        assert_eq!(q.next_deadline(), Some(t0 + Duration::from_millis(10)));
        assert_eq!(q.pop_due(t0 + Duration::from_millis(5)), None);
        let fired: Vec<_> = std::iter::from_fn(|| q.pop_due(t0 + Duration::from_secs(1))).collect();
        assert_eq!(fired, ["a", "b1", "b2", "c"]);
        assert!(q.is_empty());
    }

    #[test]
    fn cancelled_timers_never_fire_and_do_not_set_the_deadline() {
        let t0 = Instant::now();
        let mut q = TimerQueue::new();
        let early = q.insert(t0 + Duration::from_millis(1), 1);
        q.insert(t0 + Duration::from_millis(50), 2);
        assert_eq!(q.cancel(early), Some(1));
        assert_eq!(q.cancel(early), None, "second cancel is a no-op");
        assert_eq!(q.next_deadline(), Some(t0 + Duration::from_millis(50)));
        assert_eq!(q.pop_due(t0 + Duration::from_secs(1)), Some(2));
        assert_eq!(q.pop_due(t0 + Duration::from_secs(1)), None);
    }

    #[test]
    fn a_reused_slot_is_not_cancelled_by_a_stale_id() {
        let t0 = Instant::now();
        let mut q = TimerQueue::new();
        let old = q.insert(t0, 'a');
        assert_eq!(q.pop_due(t0), Some('a'));
        let _new = q.insert(t0, 'b'); // reuses the slab slot
        assert_eq!(q.cancel(old), None);
        assert_eq!(q.pop_due(t0), Some('b'));
    }

    #[test]
    fn heap_stays_bounded_under_arm_and_cancel_churn() {
        let t0 = Instant::now();
        let mut q = TimerQueue::new();
        for i in 0..100_000u64 {
            let id = q.insert(t0 + Duration::from_secs(60 + i), i);
            q.cancel(id);
        }
        assert!(q.heap.len() <= 2 * COMPACT_MIN_ENTRIES + 2, "heap grew to {}", q.heap.len());
    }
}
