// The body of the `kv_blocking` suite: compiled by `tests/kv_blocking.rs` (reactor) and `tests/threads.rs` (thread per
// connection). See those files.


use std::time::{Duration, Instant};

use plexus::app::ServerOptions;
use support::*;

fn server() -> TestServer {
    start_server(ServerOptions::default())
}

/// Gives the server time to park a client that just sent a blocking command, by round-tripping on it through
/// another connection (CLIENT LIST shows `cmd=blpop` once it has run).
fn wait_until_blocked(observer: &mut RawConn, how_many: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        observer.send(&cmdline("INFO clients"));
        let info = String::from_utf8(observer.read_frame()).unwrap();
        if info.contains(&format!("blocked_clients:{how_many}\r\n")) {
            return;
        }
        assert!(Instant::now() < deadline, "clients never blocked: {info}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_waits_while_b_is_served_and_waiters_are_served_in_arrival_order() {
    let s = server();
    let mut first = s.raw();
    let mut second = s.raw();
    let mut pusher = s.raw();
    first.send(&cmdline("BLPOP q 0"));
    wait_until_blocked(&mut pusher, 1);
    second.send(&cmdline("BLPOP q 0"));
    wait_until_blocked(&mut pusher, 2);
    // The loop keeps serving others while two clients wait.
    pusher.call(&cmdline("SET other value"), b"+OK\r\n");
    pusher.call(&cmdline("RPUSH q one two"), b":2\r\n");
    first.expect(b"*2\r\n$1\r\nq\r\n$3\r\none\r\n");
    second.expect(b"*2\r\n$1\r\nq\r\n$3\r\ntwo\r\n");
    pusher.call(&cmdline("LLEN q"), b":0\r\n");
}

#[test]
fn a_timeout_answers_null_and_the_client_goes_on() {
    let s = server();
    let mut c = s.raw();
    let started = Instant::now();
    // A pipelined PING behind the blocking command runs only after the timeout.
    c.send(&[cmdline("BLPOP empty 0.2"), cmdline("PING")].concat());
    c.expect(b"*-1\r\n+PONG\r\n");
    assert!(started.elapsed() >= Duration::from_millis(190), "timed out after {:?}", started.elapsed());
    c.call(&cmdline("BRPOPLPUSH empty dst 0.05"), b"*-1\r\n");
    c.call(&cmdline("BZPOPMIN zempty 0.05"), b"*-1\r\n");
    c.call(&cmdline("BLPOP empty -1"), b"-ERR timeout is negative\r\n");
    c.call(&cmdline("BLPOP empty nope"), b"-ERR timeout is not a float or out of range\r\n");
}

#[test]
fn a_client_that_disconnects_while_blocked_is_forgotten() {
    let s = server();
    let mut gone = s.raw();
    let mut other = s.raw();
    gone.send(&cmdline("BLPOP q 0"));
    wait_until_blocked(&mut other, 1);
    drop(gone);
    wait_until_blocked(&mut other, 0);
    other.call(&cmdline("RPUSH q kept"), b":1\r\n");
    other.call(&cmdline("LRANGE q 0 -1"), b"*1\r\n$4\r\nkept\r\n");
}

#[test]
fn a_push_inside_multi_wakes_the_waiter_after_exec() {
    let s = server();
    let mut waiter = s.raw();
    let mut tx = s.raw();
    waiter.send(&cmdline("BLPOP q 0"));
    wait_until_blocked(&mut tx, 1);
    tx.call(&cmdline("MULTI"), b"+OK\r\n");
    tx.call(&cmdline("RPUSH q a"), b"+QUEUED\r\n");
    tx.call(&cmdline("RPUSH q b"), b"+QUEUED\r\n");
    tx.call(&cmdline("LLEN q"), b"+QUEUED\r\n");
    // Inside EXEC both pushes happen before anyone is served: LLEN sees 2.
    tx.call(&cmdline("EXEC"), b"*3\r\n:1\r\n:2\r\n:2\r\n");
    waiter.expect(b"*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    tx.call(&cmdline("LRANGE q 0 -1"), b"*1\r\n$1\r\nb\r\n");
    // A blocking command inside EXEC does not block.
    tx.call(&cmdline("MULTI"), b"+OK\r\n");
    tx.call(&cmdline("BLPOP nothing 0"), b"+QUEUED\r\n");
    tx.call(&cmdline("BLMOVE nothing x LEFT RIGHT 0"), b"+QUEUED\r\n");
    tx.call(&cmdline("EXEC"), b"*2\r\n*-1\r\n$-1\r\n");
}

#[test]
fn blmove_blmpop_and_bzpop_are_served_too() {
    let s = server();
    let mut mover = s.raw();
    let mut mpop = s.raw();
    let mut zpop = s.raw();
    let mut feeder = s.raw();
    mover.send(&cmdline("BLMOVE src dst RIGHT LEFT 0"));
    mpop.send(&cmdline("BLMPOP 0 2 l1 l2 LEFT COUNT 2"));
    zpop.send(&cmdline("BZPOPMAX z 0"));
    wait_until_blocked(&mut feeder, 3);
    feeder.call(&cmdline("RPUSH src x"), b":1\r\n");
    mover.expect(b"$1\r\nx\r\n");
    feeder.call(&cmdline("RPUSH l2 a b c"), b":3\r\n");
    mpop.expect(b"*2\r\n$2\r\nl2\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    feeder.call(&cmdline("ZADD z 1 low 5 high"), b":2\r\n");
    zpop.expect(b"*3\r\n$1\r\nz\r\n$4\r\nhigh\r\n$1\r\n5\r\n");
    feeder.call(&cmdline("LRANGE dst 0 -1"), b"*1\r\n$1\r\nx\r\n");
}
