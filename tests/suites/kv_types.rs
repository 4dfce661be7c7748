// The body of the `kv_types` suite: compiled by `tests/kv_types.rs` (reactor) and `tests/threads.rs` (thread per
// connection). See those files.


use std::collections::{HashMap, HashSet};

use plexus::app::ServerOptions;
use redis::Commands;
use support::*;

fn connections() -> (TestServer, redis::Connection, redis::Connection) {
    let s = start_server(ServerOptions::default());
    let v2 = s.redis();
    let v3 = s.redis_with(None, true);
    (s, v2, v3)
}

#[test]
fn lists() {
    let (_s, mut c, mut c3) = connections();
    for con in [&mut c, &mut c3] {
        let _: () = con.del("l").unwrap();
        let n: usize = con.rpush("l", &["a", "b", "c", "d"]).unwrap();
        assert_eq!(n, 4);
        let n: usize = con.lpush("l", "z").unwrap();
        assert_eq!(n, 5);
        let all: Vec<String> = con.lrange("l", 0, -1).unwrap();
        assert_eq!(all, ["z", "a", "b", "c", "d"]);
        let popped: Vec<String> = con.lpop("l", std::num::NonZeroUsize::new(2)).unwrap();
        assert_eq!(popped, ["z", "a"]);
        let moved: String = con.lmove("l", "l2", redis::Direction::Right, redis::Direction::Left).unwrap();
        assert_eq!(moved, "d");
        let pos: Option<usize> = con.lpos("l", "c", redis::LposOptions::default()).unwrap();
        assert_eq!(pos, Some(1));
        let _: () = con.ltrim("l", 0, 0).unwrap();
        let len: usize = con.llen("l").unwrap();
        assert_eq!(len, 1);
        let err = con.incr::<_, _, i64>("l", 1).unwrap_err();
        assert!(err.to_string().contains("WRONGTYPE"), "{err}");
    }
}

#[test]
fn hashes() {
    let (_s, mut c, mut c3) = connections();
    for con in [&mut c, &mut c3] {
        let _: () = con.del("h").unwrap();
        let added: usize = con.hset_multiple("h", &[("f1", "1"), ("f2", "two")]).map(|()| 2).unwrap();
        assert_eq!(added, 2);
        let all: HashMap<String, String> = con.hgetall("h").unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all["f2"], "two");
        let n: i64 = con.hincr("h", "f1", 41).unwrap();
        assert_eq!(n, 42);
        let f: f64 = con.hincr("h", "f1", 0.5).unwrap();
        assert_eq!(f, 42.5);
        let removed: usize = con.hdel("h", &["f1", "f2"]).unwrap();
        assert_eq!(removed, 2);
        let exists: bool = con.exists("h").unwrap();
        assert!(!exists, "an emptied hash deletes its key");
    }
}

#[test]
fn sets() {
    let (_s, mut c, mut c3) = connections();
    for con in [&mut c, &mut c3] {
        let _: () = con.del(&["s1", "s2", "dst"]).unwrap();
        let _: () = con.sadd("s1", &["a", "b", "c"]).unwrap();
        let _: () = con.sadd("s2", &["b", "c", "d"]).unwrap();
        let inter: HashSet<String> = con.sinter(&["s1", "s2"]).unwrap();
        assert_eq!(inter, HashSet::from(["b".to_string(), "c".to_string()]));
        let union: HashSet<String> = con.sunion(&["s1", "s2"]).unwrap();
        assert_eq!(union.len(), 4);
        let n: usize = con.sdiffstore("dst", &["s1", "s2"]).unwrap();
        assert_eq!(n, 1);
        let member: bool = con.sismember("dst", "a").unwrap();
        assert!(member);
        let random: Vec<String> = con.srandmember_multiple("s1", -5).unwrap();
        assert_eq!(random.len(), 5, "a negative count allows repeats");
    }
}

#[test]
fn sorted_sets() {
    let (_s, mut c, mut c3) = connections();
    for con in [&mut c, &mut c3] {
        let _: () = con.del("z").unwrap();
        let _: () = con.zadd_multiple("z", &[(1.5, "a"), (2.0, "b"), (3.0, "c")]).unwrap();
        let rank: Option<usize> = con.zrank("z", "c").unwrap();
        assert_eq!(rank, Some(2));
        let with_scores: Vec<(String, f64)> = con.zrange_withscores("z", 0, -1).unwrap();
        assert_eq!(with_scores, [("a".into(), 1.5), ("b".into(), 2.0), ("c".into(), 3.0)]);
        let by_score: Vec<String> = con.zrangebyscore("z", "(1.5", "+inf").unwrap();
        assert_eq!(by_score, ["b", "c"]);
        let score: f64 = con.zincr("z", "a", 10).unwrap();
        assert_eq!(score, 11.5);
        let popped: Vec<(String, f64)> = con.zpopmin("z", 1).unwrap();
        assert_eq!(popped, [("b".to_string(), 2.0)]);
        let n: usize = con.zcount("z", "-inf", "+inf").unwrap();
        assert_eq!(n, 2);
    }
}

#[test]
fn transactions_and_a_watch_race() {
    let s = start_server(ServerOptions::default());
    let mut a = s.redis();
    let mut b = s.redis();
    let _: () = a.set("counter", 10).unwrap();
    // A's optimistic transaction loses the race to B's write, retries, and then succeeds.
    let mut attempts = 0;
    let result: (i64,) = redis::transaction(&mut a, &["counter"], |con, pipe| {
        attempts += 1;
        let value: i64 = con.get("counter")?;
        if attempts == 1 {
            let _: () = b.set("counter", 100)?;
        }
        pipe.set("counter", value + 1).ignore().get("counter").query(con)
    })
    .unwrap();
    assert_eq!(attempts, 2, "the first EXEC saw the watched key change and returned nil");
    assert_eq!(result.0, 101);
    // A queue-time error aborts the whole transaction.
    let err = redis::pipe().atomic().set("x", 1).cmd("NOSUCHCOMMAND").query::<()>(&mut a).unwrap_err();
    assert!(err.to_string().contains("EXECABORT") || err.to_string().contains("unknown command"), "{err}");
    let x: Option<i64> = a.get("x").unwrap();
    assert_eq!(x, None);
}
