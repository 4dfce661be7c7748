//! Expiry through a running server with an injected clock: lazy expiry on access, and active expiry removing keys
//! that nobody touches again, with no sleeping for TTLs (the clock jumps; only the 100 ms cron is waited for).

use std::sync::Arc;
use std::time::{Duration, Instant};

use plexus::app::{Server, ServerOptions};
use plexus::kv::clock::ManualClock;

const START_MS: u64 = 1_700_000_000_000;

fn start() -> (Server, ManualClock, redis::Connection) {
    let clock = ManualClock::new(START_MS);
    let server = Server::start_with_clock(ServerOptions::default(), Arc::new(clock.clone())).unwrap();
    let client = redis::Client::open(format!("redis://{}/", server.addr)).unwrap();
    let con = client.get_connection_with_timeout(Duration::from_secs(10)).unwrap();
    (server, clock, con)
}

fn cmd<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> T {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).unwrap()
}

#[test]
fn lazy_expiry_hides_a_key_the_moment_its_ttl_passes() {
    let (_server, clock, mut con) = start();
    let _: () = cmd(&mut con, &["SET", "k", "v", "PX", "1500"]);
    assert_eq!(cmd::<i64>(&mut con, &["PTTL", "k"]), 1500);
    // Redis's rule: a key is expired once the clock is *past* its deadline, so it still lives at the deadline.
    clock.advance_ms(1500);
    assert_eq!(cmd::<Option<String>>(&mut con, &["GET", "k"]).as_deref(), Some("v"));
    clock.advance_ms(1);
    assert_eq!(cmd::<Option<String>>(&mut con, &["GET", "k"]), None);
    assert_eq!(cmd::<i64>(&mut con, &["TTL", "k"]), -2);
}

#[test]
fn active_expiry_removes_keys_that_are_never_touched_again() {
    let (_server, clock, mut con) = start();
    let mut pipe = redis::pipe();
    for i in 0..5000 {
        pipe.cmd("SET").arg(format!("ttl:{i}")).arg("x").arg("EX").arg(10).ignore();
    }
    for i in 0..100 {
        pipe.cmd("SET").arg(format!("keep:{i}")).arg("x").ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    assert_eq!(cmd::<i64>(&mut con, &["DBSIZE"]), 5100);
    clock.advance_ms(11_000);
    // Only DBSIZE from now on: it reads no key, so only the cron's active expiry can remove them.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n: i64 = cmd(&mut con, &["DBSIZE"]);
        if n == 100 {
            break;
        }
        assert!(Instant::now() < deadline, "active expiry stalled at {n} keys");
        std::thread::sleep(Duration::from_millis(50));
    }
    let info: String = cmd(&mut con, &["INFO", "stats"]);
    assert!(info.contains("expired_keys:5000"), "{info}");
}
