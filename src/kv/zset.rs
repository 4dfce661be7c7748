//! Sorted sets: a skip list with spans for order and rank, plus a member -> score [`Dict`].
//!
//! The same two structures as Redis's `t_zset.c` "skiplist" encoding:
//!
//! ```text
//!   ZSCORE / ZADD lookup ──► dict: member -> score                      O(1)
//!   ZRANK / ZRANGE* / ZCOUNT / ZREMRANGE* ──► skip list ordered by (score, member bytes)
//!
//!   level 2  HEAD ─────────────(3)──────────────► c ─────(2)────► NIL
//!   level 1  HEAD ──(1)──► a ──────(2)──────────► c ──(1)──► d ──► NIL
//!   level 0  HEAD ──(1)──► a ──(1)──► b ──(1)──► c ──(1)──► d ──► NIL   (+ backward links)
//! ```
//!
//! Every forward link records its *span*, the number of level-0 steps it skips, so a descent from
//! the head can add up spans and know the rank of wherever it stops. That gives O(log n) rank,
//! O(log n) "element at rank k", and O(log n) "how many elements sort before bound b". Every range
//! operation is built from those: a range by score or lex is turned into a rank interval with two
//! descents, and walking the interval costs O(m). So `ZRANGEBYSCORE .. LIMIT offset count` is
//! O(log n + count), where Redis walks the `offset` skipped elements one by one.
//!
//! Nodes live in an arena (`Vec`) and link to each other by `u32` index, which keeps the list free
//! of `unsafe` and of `Rc<RefCell<..>>` overhead; freed slots are recycled through a free list.
//!
//! Simplifications against Redis:
//! * Small sorted sets are not stored as a listpack; [`ZSet::encoding`] still reports what
//!   Redis 7.0 would ("listpack" until a set exceeds 128 members or a member exceeds 64 bytes,
//!   then "skiplist" for good, as Redis never converts back).
//! * Members are stored twice (in the dict and in the node); Redis shares one SDS.

use crate::kv::dict::{random_u64, Dict, Key};

/// Highest level a node can have (Redis's `ZSKIPLIST_MAXLEVEL`); with p = 1/4 that is enough for
/// 2^64 elements.
const MAX_LEVEL: usize = 32;

/// Members above which Redis 7.0 converts a listpack zset to a skiplist (`zset-max-listpack-entries`).
pub const MAX_LISTPACK_ENTRIES: usize = 128;
/// Member length in bytes above which Redis 7.0 converts (`zset-max-listpack-value`).
pub const MAX_LISTPACK_VALUE: usize = 64;

/// "No node" in a link.
const NIL: u32 = u32::MAX;
/// The head sentinel always lives in arena slot 0.
const HEAD: u32 = 0;

#[derive(Clone, Copy)]
struct Level {
    forward: u32,
    /// Level-0 steps from this node to `forward` (0 when `forward` is NIL from the head).
    span: u32,
}

struct Node {
    member: Key,
    score: f64,
    /// Previous node at level 0; NIL for the first node (Redis also skips the head here).
    backward: u32,
    levels: Box<[Level]>,
}

/// One end of a score range: `value` itself included unless `exclusive` (`(1.5` in Redis syntax).
/// Infinite values express `-inf` and `+inf`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

impl ScoreBound {
    /// `[value`: the bound is part of the range.
    pub fn inclusive(value: f64) -> Self {
        Self { value, exclusive: false }
    }

    /// `(value`: the bound is not part of the range.
    pub fn exclusive(value: f64) -> Self {
        Self { value, exclusive: true }
    }
}

/// One end of a lexicographic range, as in `ZRANGEBYLEX key [a (b` / `-` / `+`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexBound<'a> {
    /// `-`: before every member.
    NegInf,
    /// `+`: after every member.
    PosInf,
    /// `[member`
    Inclusive(&'a [u8]),
    /// `(member`
    Exclusive(&'a [u8]),
}

impl<'a> LexBound<'a> {
    /// Parses Redis lex-range syntax; `None` for anything else (the caller replies
    /// `-ERR min or max not valid string range item`).
    pub fn parse(arg: &'a [u8]) -> Option<Self> {
        match arg {
            b"-" => Some(Self::NegInf),
            b"+" => Some(Self::PosInf),
            [b'[', rest @ ..] => Some(Self::Inclusive(rest)),
            [b'(', rest @ ..] => Some(Self::Exclusive(rest)),
            _ => None,
        }
    }

    /// True when `member` is at or after this bound used as a minimum.
    fn admits_as_min(&self, member: &[u8]) -> bool {
        match *self {
            Self::NegInf => true,
            Self::PosInf => false,
            Self::Inclusive(b) => member >= b,
            Self::Exclusive(b) => member > b,
        }
    }

    /// True when `member` is at or before this bound used as a maximum.
    fn admits_as_max(&self, member: &[u8]) -> bool {
        match *self {
            Self::NegInf => false,
            Self::PosInf => true,
            Self::Inclusive(b) => member <= b,
            Self::Exclusive(b) => member < b,
        }
    }
}

/// Turns Redis-style `start`/`stop` (inclusive, negative counts from the end) into a 0-based
/// inclusive index pair within `len`, or `None` when the range is empty (as `ZRANGE`/`LRANGE` do).
pub fn normalize_rank_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = i64::try_from(len).ok()?;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let stop = if stop < 0 { len + stop } else { stop.min(len - 1) };
    if start > stop || start >= len || stop < 0 {
        return None;
    }
    Some((start as usize, stop as usize))
}

/// A sorted set; see the module docs.
pub struct ZSet {
    /// Arena of nodes; slot 0 is the head sentinel with [`MAX_LEVEL`] levels.
    nodes: Vec<Node>,
    /// Recycled arena slots.
    free: Vec<u32>,
    /// Last node at level 0, NIL when empty; `ZREVRANGE` starts here.
    tail: u32,
    /// Levels in use (>= 1).
    level: usize,
    /// member -> score, for O(1) `ZSCORE` and to find a member's node by (score, member).
    dict: Dict<f64>,
    /// Sticky: once Redis would have converted to "skiplist" it never goes back.
    promoted: bool,
}

impl Default for ZSet {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(|(m, s)| (m.escape_ascii().to_string(), s))).finish()
    }
}

/// Strict (score, member) order as Redis compares skip-list nodes.
fn sorts_before(score: f64, member: &[u8], other_score: f64, other_member: &[u8]) -> bool {
    score < other_score || (score == other_score && member < other_member)
}

/// Level for a new node: each extra level with probability 1/4 (Redis's `ZSKIPLIST_P`). Two
/// random bits per level, taken from the trailing zeros of one random word.
fn random_level() -> usize {
    (1 + random_u64().trailing_zeros() as usize / 2).min(MAX_LEVEL)
}

impl ZSet {
    /// An empty sorted set.
    pub fn new() -> Self {
        let head = Node {
            member: Key::from_slice(b""),
            score: 0.0,
            backward: NIL,
            levels: vec![Level { forward: NIL, span: 0 }; MAX_LEVEL].into_boxed_slice(),
        };
        Self { nodes: vec![head], free: Vec::new(), tail: NIL, level: 1, dict: Dict::new(), promoted: false }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    /// True when there are no members.
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// What Redis 7.0's `OBJECT ENCODING` reports for this set: "listpack" or "skiplist".
    pub fn encoding(&self) -> &'static str {
        if self.promoted {
            "skiplist"
        } else {
            "listpack"
        }
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.dict.get(member).copied()
    }

    /// Adds `member` or moves it to `score`; returns the previous score. `score` must not be NaN
    /// (the command layer rejects NaN, as Redis does with "resulting score is not a number").
    pub fn insert(&mut self, member: &[u8], score: f64) -> Option<f64> {
        debug_assert!(!score.is_nan());
        if let Some(old) = self.score(member) {
            if old != score {
                self.update_score(member, old, score);
                if let Some(s) = self.dict.get_mut(member) {
                    *s = score;
                }
            }
            return Some(old);
        }
        self.list_insert(Key::from_slice(member), score, self.len());
        self.dict.insert(member, score);
        if self.len() > MAX_LISTPACK_ENTRIES || member.len() > MAX_LISTPACK_VALUE {
            self.promoted = true;
        }
        None
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.dict.remove(member)?;
        let mut update = [HEAD; MAX_LEVEL];
        self.path_to(score, member, &mut update);
        let x = self.links(update[0])[0].forward;
        debug_assert!(x != NIL && self.node(x).member.as_bytes() == member);
        self.unlink(x, &update);
        self.free_node(x);
        Some(score)
    }

    /// 0-based rank of `member` in ascending order, or in descending order when `reverse`.
    pub fn rank(&self, member: &[u8], reverse: bool) -> Option<usize> {
        let score = self.score(member)?;
        // Count the elements sorting at or before (score, member): that is its 1-based rank.
        let rank = self.count_prefix(|n| !sorts_before(score, member, n.score, &n.member));
        Some(if reverse { self.len() - rank } else { rank - 1 })
    }

    /// Members ranked `start..=stop` (0-based, already normalised, e.g. by
    /// [`normalize_rank_range`]); with `reverse`, ranks count from the highest score
    /// (`ZREVRANGE`). Out-of-range parts are clipped.
    pub fn range_by_rank(&self, start: usize, stop: usize, reverse: bool) -> RangeIter<'_> {
        let hi = stop.saturating_add(1).min(self.len());
        if start >= hi {
            return self.empty_iter();
        }
        // Reverse ranks r map to ascending ranks len-1-r.
        let (lo, hi) = if reverse { (self.len() - hi, self.len() - start) } else { (start, hi) };
        self.rank_iter(lo, hi, reverse, 0, usize::MAX)
    }

    /// Members with `min <= score <= max` (each end exclusive if asked), ascending, or descending
    /// when `reverse`; after skipping `offset` of them, at most `limit` (`LIMIT offset count`;
    /// pass `usize::MAX` for no limit). O(log n + returned).
    pub fn range_by_score(
        &self,
        min: ScoreBound,
        max: ScoreBound,
        reverse: bool,
        offset: usize,
        limit: usize,
    ) -> RangeIter<'_> {
        let (lo, hi) = self.score_ranks(min, max);
        self.rank_iter(lo, hi, reverse, offset, limit)
    }

    /// Members between lex bounds, like [`ZSet::range_by_score`]. As in Redis, the result is
    /// only meaningful when all members have the same score.
    pub fn range_by_lex(
        &self,
        min: LexBound<'_>,
        max: LexBound<'_>,
        reverse: bool,
        offset: usize,
        limit: usize,
    ) -> RangeIter<'_> {
        let (lo, hi) = self.lex_ranks(min, max);
        self.rank_iter(lo, hi, reverse, offset, limit)
    }

    /// `ZCOUNT`: members with a score in range, in O(log n).
    pub fn count_in_score(&self, min: ScoreBound, max: ScoreBound) -> usize {
        let (lo, hi) = self.score_ranks(min, max);
        hi - lo
    }

    /// `ZLEXCOUNT`: members in a lex range, in O(log n).
    pub fn count_in_lex(&self, min: LexBound<'_>, max: LexBound<'_>) -> usize {
        let (lo, hi) = self.lex_ranks(min, max);
        hi - lo
    }

    /// `ZREMRANGEBYRANK` with normalised, ascending 0-based inclusive ranks; returns how many
    /// were removed.
    pub fn remove_range_by_rank(&mut self, start: usize, stop: usize) -> usize {
        let hi = stop.saturating_add(1).min(self.len());
        self.remove_ranks(start, hi)
    }

    /// `ZREMRANGEBYSCORE`; returns how many were removed.
    pub fn remove_range_by_score(&mut self, min: ScoreBound, max: ScoreBound) -> usize {
        let (lo, hi) = self.score_ranks(min, max);
        self.remove_ranks(lo, hi)
    }

    /// `ZREMRANGEBYLEX`; returns how many were removed.
    pub fn remove_range_by_lex(&mut self, min: LexBound<'_>, max: LexBound<'_>) -> usize {
        let (lo, hi) = self.lex_ranks(min, max);
        self.remove_ranks(lo, hi)
    }

    /// Removes and returns the member with the lowest (score, member) (`ZPOPMIN`).
    pub fn pop_min(&mut self) -> Option<(Key, f64)> {
        let first = self.links(HEAD)[0].forward;
        self.pop_node(first)
    }

    /// Removes and returns the member with the highest (score, member) (`ZPOPMAX`).
    pub fn pop_max(&mut self) -> Option<(Key, f64)> {
        self.pop_node(self.tail)
    }

    /// All members in ascending order.
    pub fn iter(&self) -> RangeIter<'_> {
        self.rank_iter(0, self.len(), false, 0, usize::MAX)
    }

    /// A random member and its score (`ZRANDMEMBER`); see [`Dict::random_entry`].
    pub fn random_entry(&self) -> Option<(&[u8], f64)> {
        self.dict.random_entry().map(|(m, s)| (m, *s))
    }

    /// The member -> score map, e.g. for `ZSCAN` (its cursor keeps the `SCAN` guarantees).
    pub fn dict(&self) -> &Dict<f64> {
        &self.dict
    }

    // ----- skip-list internals -----

    fn node(&self, i: u32) -> &Node {
        &self.nodes[i as usize]
    }

    fn links(&self, i: u32) -> &[Level] {
        &self.nodes[i as usize].levels
    }

    fn links_mut(&mut self, i: u32) -> &mut [Level] {
        &mut self.nodes[i as usize].levels
    }

    fn empty_iter(&self) -> RangeIter<'_> {
        RangeIter { zset: self, cur: NIL, remaining: 0, reverse: false }
    }

    /// Number of elements for which `before` holds, where `before` holds for a prefix of the
    /// list (it is monotone in list order). One descent: O(log n).
    fn count_prefix(&self, before: impl Fn(&Node) -> bool) -> usize {
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let Level { forward, span } = self.links(x)[i];
                if forward == NIL || !before(self.node(forward)) {
                    break;
                }
                traversed += span as usize;
                x = forward;
            }
        }
        traversed
    }

    /// Ascending rank interval `[lo, hi)` of the members within a score range.
    fn score_ranks(&self, min: ScoreBound, max: ScoreBound) -> (usize, usize) {
        let lo = self.count_prefix(|n| if min.exclusive { n.score <= min.value } else { n.score < min.value });
        let hi = self.count_prefix(|n| if max.exclusive { n.score < max.value } else { n.score <= max.value });
        (lo, hi.max(lo))
    }

    /// Ascending rank interval `[lo, hi)` of the members within a lex range.
    fn lex_ranks(&self, min: LexBound<'_>, max: LexBound<'_>) -> (usize, usize) {
        let lo = self.count_prefix(|n| !min.admits_as_min(&n.member));
        let hi = self.count_prefix(|n| max.admits_as_max(&n.member));
        (lo, hi.max(lo))
    }

    /// Iterator over ascending ranks `[lo, hi)`, in the requested direction, after `offset`.
    fn rank_iter(&self, lo: usize, hi: usize, reverse: bool, offset: usize, limit: usize) -> RangeIter<'_> {
        let count = (hi - lo).saturating_sub(offset).min(limit);
        if count == 0 {
            return self.empty_iter();
        }
        let first = if reverse { hi - 1 - offset } else { lo + offset };
        RangeIter { zset: self, cur: self.node_at(first), remaining: count, reverse }
    }

    /// The node at 0-based ascending rank `rank` (< len). O(log n).
    fn node_at(&self, rank: usize) -> u32 {
        let target = rank + 1;
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let Level { forward, span } = self.links(x)[i];
                if forward == NIL || traversed + span as usize > target {
                    break;
                }
                traversed += span as usize;
                x = forward;
            }
            if traversed == target {
                return x;
            }
        }
        NIL
    }

    /// Fills `update[i]` with the last node at level `i` sorting before (score, member), and
    /// returns the rank (number of nodes) of `update[0]`; `rank[i]` likewise per level.
    fn path_to_with_ranks(
        &self,
        score: f64,
        member: &[u8],
        update: &mut [u32; MAX_LEVEL],
        rank: &mut [usize; MAX_LEVEL],
    ) {
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let Level { forward, span } = self.links(x)[i];
                if forward == NIL {
                    break;
                }
                let f = self.node(forward);
                if !sorts_before(f.score, &f.member, score, member) {
                    break;
                }
                rank[i] += span as usize;
                x = forward;
            }
            update[i] = x;
        }
    }

    fn path_to(&self, score: f64, member: &[u8], update: &mut [u32; MAX_LEVEL]) {
        let mut rank = [0usize; MAX_LEVEL];
        self.path_to_with_ranks(score, member, update, &mut rank);
    }

    /// `update[i]` = last node at level `i` with ascending 0-based rank < `rank`.
    fn path_to_rank(&self, rank: usize, update: &mut [u32; MAX_LEVEL]) {
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let Level { forward, span } = self.links(x)[i];
                if forward == NIL || traversed + span as usize > rank {
                    break;
                }
                traversed += span as usize;
                x = forward;
            }
            update[i] = x;
        }
    }

    /// Links a new node; the member must not be in the list, which holds `list_len` nodes
    /// (the dict may already count it during a score update). Redis's `zslInsert`.
    fn list_insert(&mut self, member: Key, score: f64, list_len: usize) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0usize; MAX_LEVEL];
        self.path_to_with_ranks(score, &member, &mut update, &mut rank);
        let level = random_level();
        if level > self.level {
            let len = list_len as u32;
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.links_mut(HEAD)[i].span = len;
            }
            self.level = level;
        }
        let x = self.alloc_node(Node {
            member,
            score,
            backward: if update[0] == HEAD { NIL } else { update[0] },
            levels: vec![Level { forward: NIL, span: 0 }; level].into_boxed_slice(),
        });
        for i in 0..level {
            let prev = self.links(update[i])[i];
            let steps_to_x = (rank[0] - rank[i]) as u32;
            self.links_mut(x)[i] = Level { forward: prev.forward, span: prev.span - steps_to_x };
            self.links_mut(update[i])[i] = Level { forward: x, span: steps_to_x + 1 };
        }
        // Levels above the new node now skip one more element.
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            self.links_mut(u)[i].span += 1;
        }
        match self.links(x)[0].forward {
            NIL => self.tail = x,
            next => self.nodes[next as usize].backward = x,
        }
    }

    /// Unlinks node `x` given its predecessors (Redis's `zslDeleteNode`). Does not free it.
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let ul = self.links(u)[i];
            if ul.forward == x {
                let xl = self.links(x)[i];
                self.links_mut(u)[i] = Level { forward: xl.forward, span: ul.span + xl.span - 1 };
            } else {
                self.links_mut(u)[i].span -= 1;
            }
        }
        let backward = self.node(x).backward;
        match self.links(x)[0].forward {
            NIL => self.tail = backward,
            next => self.nodes[next as usize].backward = backward,
        }
        while self.level > 1 && self.links(HEAD)[self.level - 1].forward == NIL {
            self.level -= 1;
        }
    }

    /// Moves `member` from `old` to `new` score (Redis's `zslUpdateScore`): in place when the
    /// node keeps its position, otherwise unlink and re-insert.
    fn update_score(&mut self, member: &[u8], old: f64, new: f64) {
        let mut update = [HEAD; MAX_LEVEL];
        self.path_to(old, member, &mut update);
        let x = self.links(update[0])[0].forward;
        let back = self.node(x).backward;
        let next = self.links(x)[0].forward;
        let after_prev = back == NIL || {
            let p = self.node(back);
            sorts_before(p.score, &p.member, new, member)
        };
        let before_next = next == NIL || {
            let n = self.node(next);
            sorts_before(new, member, n.score, &n.member)
        };
        if after_prev && before_next {
            self.nodes[x as usize].score = new;
            return;
        }
        self.unlink(x, &update);
        let node = self.free_node(x);
        self.list_insert(node.member, new, self.len() - 1);
    }

    /// Removes ascending ranks `[lo, hi)` in one descent plus O(removed) (Redis's
    /// `zslDeleteRangeByRank`): every removed node has the same predecessors `update`.
    fn remove_ranks(&mut self, lo: usize, hi: usize) -> usize {
        if lo >= hi {
            return 0;
        }
        let mut update = [HEAD; MAX_LEVEL];
        self.path_to_rank(lo, &mut update);
        let mut x = self.links(update[0])[0].forward;
        for _ in lo..hi {
            let next = self.links(x)[0].forward;
            self.unlink(x, &update);
            let node = self.free_node(x);
            self.dict.remove(&node.member);
            x = next;
        }
        hi - lo
    }

    fn pop_node(&mut self, x: u32) -> Option<(Key, f64)> {
        if x == NIL {
            return None;
        }
        let (score, member) = {
            let n = self.node(x);
            (n.score, n.member.clone())
        };
        let mut update = [HEAD; MAX_LEVEL];
        self.path_to(score, &member, &mut update);
        self.unlink(x, &update);
        self.free_node(x);
        self.dict.remove(&member);
        Some((member, score))
    }

    fn alloc_node(&mut self, node: Node) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                // The arena is indexed by u32 with u32::MAX reserved for NIL; four billion
                // members is far beyond what the server's memory allows.
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Returns a node's slot to the free list, handing back its contents.
    fn free_node(&mut self, x: u32) -> Node {
        self.free.push(x);
        std::mem::replace(
            &mut self.nodes[x as usize],
            Node { member: Key::from_slice(b""), score: 0.0, backward: NIL, levels: Box::new([]) },
        )
    }
}

/// Members and scores of a range, in order; see the `range_*` methods of [`ZSet`].
pub struct RangeIter<'a> {
    zset: &'a ZSet,
    cur: u32,
    remaining: usize,
    reverse: bool,
}

impl<'a> Iterator for RangeIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 || self.cur == NIL {
            return None;
        }
        let node = self.zset.node(self.cur);
        self.remaining -= 1;
        self.cur = if self.reverse { node.backward } else { node.levels[0].forward };
        Some((node.member.as_bytes(), node.score))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for RangeIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obviously-correct model: a Vec kept sorted by (score, member).
    #[derive(Default)]
    struct Model(Vec<(f64, Vec<u8>)>);

    impl Model {
        fn insert(&mut self, m: &[u8], s: f64) -> Option<f64> {
            let old = self.remove(m);
            let pos = self.0.partition_point(|(ps, pm)| sorts_before(*ps, pm, s, m));
            self.0.insert(pos, (s, m.to_vec()));
            old
        }
        fn remove(&mut self, m: &[u8]) -> Option<f64> {
            let i = self.0.iter().position(|(_, pm)| pm == m)?;
            Some(self.0.remove(i).0)
        }
        fn in_score(s: f64, min: ScoreBound, max: ScoreBound) -> bool {
            (if min.exclusive { s > min.value } else { s >= min.value })
                && (if max.exclusive { s < max.value } else { s <= max.value })
        }
    }

    fn collect(it: RangeIter<'_>) -> Vec<(f64, Vec<u8>)> {
        it.map(|(m, s)| (s, m.to_vec())).collect()
    }

    fn member(i: u64) -> Vec<u8> {
        format!("m{i:03}").into_bytes()
    }

    fn random_bound(r: u64) -> ScoreBound {
        let v = match r % 7 {
            0 => f64::NEG_INFINITY,
            1 => f64::INFINITY,
            _ => ((r >> 3) % 24) as f64 - 2.0,
        };
        if (r >> 8) & 1 == 1 {
            ScoreBound::exclusive(v)
        } else {
            ScoreBound::inclusive(v)
        }
    }

    fn check_structure(z: &ZSet, model: &Model) {
        assert_eq!(z.len(), model.0.len());
        assert_eq!(collect(z.iter()), model.0);
        let mut rev = model.0.clone();
        rev.reverse();
        assert_eq!(collect(z.range_by_rank(0, usize::MAX, true)), rev);
        // Spans at every level, including the last link's distance to the end, add up to the
        // length, and each link's span is the true rank difference.
        for i in 0..z.level {
            let mut x = HEAD;
            let mut rank = 0;
            loop {
                let Level { forward, span } = z.links(x)[i];
                rank += span as usize;
                if forward == NIL {
                    break;
                }
                assert_eq!(z.node_at(rank - 1), forward, "level {i}");
                x = forward;
            }
            assert_eq!(rank, z.len(), "level {i}");
        }
    }

    #[test]
    fn random_operations_match_a_sorted_vec() {
        let mut z = ZSet::new();
        let mut model = Model::default();
        for step in 0..6_000u64 {
            let r = random_u64();
            let m = member(r % 150);
            // Few distinct scores, so ties (ordered by member) are common.
            let s = ((r >> 16) % 20) as f64 - 2.0;
            match (r >> 40) % 12 {
                0..=4 => assert_eq!(z.insert(&m, s), model.insert(&m, s)),
                5 => assert_eq!(z.remove(&m), model.remove(&m)),
                6 => {
                    let expect = model.0.iter().position(|(_, pm)| *pm == m);
                    assert_eq!(z.rank(&m, false), expect);
                    let rev = expect.map(|p| model.0.len() - 1 - p);
                    assert_eq!(z.rank(&m, true), rev);
                    assert_eq!(z.score(&m), expect.map(|p| model.0[p].0));
                }
                7 => {
                    let (a, b) = ((r >> 8) % 160, (r >> 20) % 160);
                    let (a, b) = (a.min(b) as usize, a.max(b) as usize);
                    let fwd: Vec<_> = model.0.iter().skip(a).take(b + 1 - a).cloned().collect();
                    assert_eq!(collect(z.range_by_rank(a, b, false)), fwd);
                    let rev: Vec<_> = model.0.iter().rev().skip(a).take(b + 1 - a).cloned().collect();
                    assert_eq!(collect(z.range_by_rank(a, b, true)), rev);
                }
                8 => {
                    let (min, max) = (random_bound(r >> 8), random_bound(r >> 24));
                    let (offset, limit) = ((r >> 44) as usize % 5, (r >> 50) as usize % 30);
                    let all: Vec<_> = model.0.iter().filter(|(s, _)| Model::in_score(*s, min, max)).cloned().collect();
                    assert_eq!(z.count_in_score(min, max), all.len());
                    let fwd: Vec<_> = all.iter().skip(offset).take(limit).cloned().collect();
                    assert_eq!(collect(z.range_by_score(min, max, false, offset, limit)), fwd);
                    let rev: Vec<_> = all.iter().rev().skip(offset).take(limit).cloned().collect();
                    assert_eq!(collect(z.range_by_score(min, max, true, offset, limit)), rev);
                }
                9 if step % 10 == 0 => {
                    let (min, max) = (random_bound(r >> 8), random_bound(r >> 24));
                    let before = model.0.len();
                    model.0.retain(|(s, _)| !Model::in_score(*s, min, max));
                    assert_eq!(z.remove_range_by_score(min, max), before - model.0.len());
                }
                10 if step % 10 == 0 => {
                    let (a, b) = ((r >> 8) % 40, (r >> 20) % 40);
                    let (a, b) = (a.min(b) as usize, a.max(b) as usize);
                    let before = model.0.len();
                    if a < before {
                        model.0.drain(a..(b + 1).min(before));
                    }
                    assert_eq!(z.remove_range_by_rank(a, b), before - model.0.len());
                }
                11 => {
                    if (r >> 8) & 1 == 0 {
                        let expect = (!model.0.is_empty()).then(|| model.0.remove(0));
                        let got = z.pop_min().map(|(m, s)| (s, m.to_vec()));
                        assert_eq!(got, expect);
                    } else {
                        let got = z.pop_max().map(|(m, s)| (s, m.to_vec()));
                        assert_eq!(got, model.0.pop());
                    }
                }
                _ => {}
            }
            if step % 500 == 0 {
                check_structure(&z, &model);
            }
        }
        check_structure(&z, &model);
    }

    fn random_lex_bound(r: u64) -> (Vec<u8>, u8) {
        // Returns the raw argument so parsing is exercised too.
        match r % 6 {
            0 => (b"-".to_vec(), 0),
            1 => (b"+".to_vec(), 0),
            2 | 3 => {
                let mut v = b"[".to_vec();
                v.extend(member((r >> 3) % 120));
                (v, 0)
            }
            _ => {
                let mut v = b"(".to_vec();
                v.extend(member((r >> 3) % 120));
                // A prefix that is not itself a member, e.g. "(m1".
                if (r >> 12) & 1 == 1 {
                    v.truncate(3);
                }
                (v, 0)
            }
        }
    }

    #[test]
    fn lex_ranges_match_a_sorted_vec() {
        let mut z = ZSet::new();
        let mut model = Model::default();
        for step in 0..3_000u64 {
            let r = random_u64();
            let m = member(r % 100);
            if (r >> 60) < 12 {
                assert_eq!(z.insert(&m, 0.0), model.insert(&m, 0.0));
            } else {
                assert_eq!(z.remove(&m), model.remove(&m));
            }
            let (a, _) = random_lex_bound(r >> 8);
            let (b, _) = random_lex_bound(r >> 24);
            let (min, max) = (LexBound::parse(&a).unwrap(), LexBound::parse(&b).unwrap());
            let all: Vec<_> =
                model.0.iter().filter(|(_, pm)| min.admits_as_min(pm) && max.admits_as_max(pm)).cloned().collect();
            assert_eq!(z.count_in_lex(min, max), all.len());
            let (offset, limit) = ((r >> 40) as usize % 4, (r >> 44) as usize % 50);
            let fwd: Vec<_> = all.iter().skip(offset).take(limit).cloned().collect();
            assert_eq!(collect(z.range_by_lex(min, max, false, offset, limit)), fwd);
            let rev: Vec<_> = all.iter().rev().skip(offset).take(limit).cloned().collect();
            assert_eq!(collect(z.range_by_lex(min, max, true, offset, limit)), rev);
            if step % 50 == 0 {
                model.0.retain(|(_, pm)| !(min.admits_as_min(pm) && max.admits_as_max(pm)));
                assert_eq!(z.remove_range_by_lex(min, max), all.len());
                check_structure(&z, &model);
            }
        }
    }

    #[test]
    fn lex_bound_parsing() {
        assert_eq!(LexBound::parse(b"-"), Some(LexBound::NegInf));
        assert_eq!(LexBound::parse(b"+"), Some(LexBound::PosInf));
        assert_eq!(LexBound::parse(b"[a"), Some(LexBound::Inclusive(b"a")));
        assert_eq!(LexBound::parse(b"("), Some(LexBound::Exclusive(b"")));
        assert_eq!(LexBound::parse(b"a"), None);
        assert_eq!(LexBound::parse(b""), None);
        assert_eq!(LexBound::parse(b"-a"), None);
    }

    #[test]
    fn normalize_matches_redis_index_rules() {
        assert_eq!(normalize_rank_range(0, -1, 5), Some((0, 4)));
        assert_eq!(normalize_rank_range(-2, -1, 5), Some((3, 4)));
        assert_eq!(normalize_rank_range(-100, 100, 5), Some((0, 4)));
        assert_eq!(normalize_rank_range(3, 1, 5), None);
        assert_eq!(normalize_rank_range(5, 10, 5), None);
        assert_eq!(normalize_rank_range(0, -6, 5), None);
        assert_eq!(normalize_rank_range(0, 0, 0), None);
    }

    #[test]
    fn update_in_place_and_reposition() {
        let mut z = ZSet::new();
        for (i, m) in [b"a", b"b", b"c"].iter().enumerate() {
            z.insert(*m, i as f64);
        }
        assert_eq!(z.insert(b"b", 1.5), Some(1.0)); // stays between a and c
        assert_eq!(z.insert(b"a", 10.0), Some(0.0)); // moves to the end
        assert_eq!(z.insert(b"a", 10.0), Some(10.0)); // no-op
        let order: Vec<_> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(order, vec![(b"b".to_vec(), 1.5), (b"c".to_vec(), 2.0), (b"a".to_vec(), 10.0)]);
        assert_eq!(z.rank(b"a", false), Some(2));
        assert_eq!(z.rank(b"a", true), Some(0));
        assert_eq!(z.rank(b"zz", false), None);
    }

    #[test]
    fn infinite_scores_and_bounds() {
        let mut z = ZSet::new();
        z.insert(b"lo", f64::NEG_INFINITY);
        z.insert(b"mid", 0.0);
        z.insert(b"hi", f64::INFINITY);
        let all = (ScoreBound::inclusive(f64::NEG_INFINITY), ScoreBound::inclusive(f64::INFINITY));
        assert_eq!(z.count_in_score(all.0, all.1), 3);
        let open = (ScoreBound::exclusive(f64::NEG_INFINITY), ScoreBound::exclusive(f64::INFINITY));
        assert_eq!(collect(z.range_by_score(open.0, open.1, false, 0, usize::MAX)).len(), 1);
        // min > max is an empty range, not an error.
        assert_eq!(z.count_in_score(ScoreBound::inclusive(1.0), ScoreBound::inclusive(0.0)), 0);
    }

    #[test]
    fn encoding_is_sticky_like_redis() {
        let mut z = ZSet::new();
        for i in 0..MAX_LISTPACK_ENTRIES as u64 {
            z.insert(&member(i), i as f64);
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"one-more", 0.0);
        assert_eq!(z.encoding(), "skiplist");
        z.remove(b"one-more");
        assert_eq!(z.encoding(), "skiplist");

        let mut z = ZSet::new();
        z.insert(&[b'x'; MAX_LISTPACK_VALUE], 1.0);
        assert_eq!(z.encoding(), "listpack");
        z.insert(&[b'x'; MAX_LISTPACK_VALUE + 1], 1.0);
        assert_eq!(z.encoding(), "skiplist");
    }

    #[test]
    fn arena_slots_are_reused() {
        let mut z = ZSet::new();
        for round in 0..10 {
            for i in 0..100 {
                z.insert(&member(i), (i + round) as f64);
            }
            while z.pop_min().is_some() {}
        }
        assert!(z.nodes.len() <= 101, "arena grew to {}", z.nodes.len());
        assert!(z.is_empty());
        assert_eq!(z.level, 1);
    }
}
