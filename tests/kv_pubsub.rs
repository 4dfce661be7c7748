//! Proves Pub/Sub end to end on a real server: exact RESP2/RESP3 bytes for subscriptions and messages, patterns,
//! shard channels, PUBSUB introspection, a slow reader's pending output in CLIENT LIST, the RESP2 subscribed-mode
//! rule, keyspace notifications (active expiry included), a slow subscriber dropped at its output limit while a
//! fast one gets every message, and the idle-timeout exemption.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use plexus::app::{Server, ServerOptions};
use plexus::kv::clock::ManualClock;

/// Every read waits at most this long, so a missing message fails the test instead of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A raw RESP connection: send commands, then compare the bytes that come back.
struct Conn {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Conn {
    fn open(server: &Server) -> Conn {
        let s = TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        Conn { r: BufReader::new(s.try_clone().unwrap()), w: s }
    }

    fn send(&mut self, args: &[&str]) {
        let mut buf = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            buf.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        self.w.write_all(&buf).unwrap();
    }

    /// Reads exactly `expected.len()` bytes and compares them.
    fn expect(&mut self, expected: &str) {
        let mut got = vec![0u8; expected.len()];
        self.r.read_exact(&mut got).unwrap_or_else(|e| panic!("waiting for {expected:?}: {e}"));
        assert_eq!(String::from_utf8_lossy(&got), expected);
    }

    fn cmd(&mut self, args: &[&str], expected: &str) {
        self.send(args);
        self.expect(expected);
    }

    /// One complete frame of any RESP2/RESP3 type, as raw text (to skip replies whose exact bytes do not matter).
    fn frame(&mut self) -> String {
        let mut out = Vec::new();
        self.read_value(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn read_value(&mut self, out: &mut Vec<u8>) {
        let mut line = Vec::new();
        self.r.read_until(b'\n', &mut line).unwrap();
        assert!(line.ends_with(b"\r\n"), "truncated frame {:?}", String::from_utf8_lossy(&line));
        out.extend_from_slice(&line);
        let n: i64 = std::str::from_utf8(&line[1..line.len() - 2]).unwrap_or("0").parse().unwrap_or(0);
        match line[0] {
            b'$' | b'=' | b'!' if n >= 0 => {
                let mut body = vec![0u8; n as usize + 2];
                self.r.read_exact(&mut body).unwrap();
                out.extend_from_slice(&body);
            }
            b'*' | b'~' | b'>' => (0..n.max(0)).for_each(|_| self.read_value(out)),
            b'%' | b'|' => (0..2 * n.max(0)).for_each(|_| self.read_value(out)),
            _ => {}
        }
    }

    /// Switches to RESP3 (the HELLO reply itself is skipped).
    fn resp3(&mut self) {
        self.send(&["HELLO", "3"]);
        assert!(self.frame().starts_with("%"));
    }
}

fn start() -> Server {
    Server::start(ServerOptions::default()).unwrap()
}

fn redis_client(server: &Server) -> redis::Connection {
    let client = redis::Client::open(format!("redis://{}/", server.addr)).unwrap();
    let con = client.get_connection().unwrap();
    con.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    con
}

#[test]
fn resp2_subscribe_publish_unsubscribe_exact_bytes() {
    let server = start();
    let mut sub = Conn::open(&server);
    let mut publisher = Conn::open(&server);
    sub.send(&["SUBSCRIBE", "news", "sport"]);
    sub.expect("*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$5\r\nsport\r\n:2\r\n");

    publisher.cmd(&["PUBLISH", "news", "hello"], ":1\r\n");
    sub.expect("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
    publisher.cmd(&["PUBLISH", "weather", "rain"], ":0\r\n");

    sub.cmd(&["UNSUBSCRIBE", "news"], "*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:1\r\n");
    publisher.cmd(&["PUBLISH", "news", "gone"], ":0\r\n");
    sub.cmd(&["UNSUBSCRIBE"], "*3\r\n$11\r\nunsubscribe\r\n$5\r\nsport\r\n:0\r\n");
    sub.cmd(&["UNSUBSCRIBE"], "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    // Out of subscribed mode: ordinary replies again, and no stray message was queued in between.
    sub.cmd(&["PING"], "+PONG\r\n");
}

#[test]
fn resp3_subscriptions_and_messages_are_push_frames() {
    let server = start();
    let mut sub = Conn::open(&server);
    sub.resp3();
    let mut publisher = Conn::open(&server);
    sub.cmd(&["SUBSCRIBE", "ch"], ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    sub.cmd(&["PSUBSCRIBE", "c*"], ">3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:2\r\n");
    publisher.cmd(&["PUBLISH", "ch", "bin\u{0}ary"], ":2\r\n");
    sub.expect(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$7\r\nbin\u{0}ary\r\n");
    sub.expect(">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$7\r\nbin\u{0}ary\r\n");
    // RESP3 clients may run any command while subscribed, and get ordinary replies.
    sub.cmd(&["SET", "k", "v"], "+OK\r\n");
    sub.cmd(&["PING"], "+PONG\r\n");
    // Publishing to itself: the message comes before the reply, as in Redis 7.0.
    sub.cmd(&["PUBLISH", "ch", "me"], ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nme\r\n");
    sub.expect(">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nme\r\n:2\r\n");
    sub.cmd(&["PUNSUBSCRIBE"], ">3\r\n$12\r\npunsubscribe\r\n$2\r\nc*\r\n:1\r\n");
    sub.cmd(&["UNSUBSCRIBE"], ">3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n");
    sub.cmd(&["UNSUBSCRIBE"], ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
}

#[test]
fn shard_channels_are_a_namespace_of_their_own() {
    let server = start();
    let mut sub = Conn::open(&server);
    let mut publisher = Conn::open(&server);
    sub.send(&["SSUBSCRIBE", "orders", "stock"]);
    sub.expect("*3\r\n$10\r\nssubscribe\r\n$6\r\norders\r\n:1\r\n*3\r\n$10\r\nssubscribe\r\n$5\r\nstock\r\n:2\r\n");
    // A channel and a pattern subscription: not counted by the shard confirmations, and not reached by SPUBLISH.
    sub.cmd(&["SUBSCRIBE", "orders"], "*3\r\n$9\r\nsubscribe\r\n$6\r\norders\r\n:1\r\n");
    sub.cmd(&["PSUBSCRIBE", "o*"], "*3\r\n$10\r\npsubscribe\r\n$2\r\no*\r\n:2\r\n");

    publisher.cmd(&["SPUBLISH", "orders", "42"], ":1\r\n");
    sub.expect("*3\r\n$8\r\nsmessage\r\n$6\r\norders\r\n$2\r\n42\r\n");
    publisher.cmd(&["PUBLISH", "orders", "7"], ":2\r\n");
    sub.expect("*3\r\n$7\r\nmessage\r\n$6\r\norders\r\n$1\r\n7\r\n");
    sub.expect("*4\r\n$8\r\npmessage\r\n$2\r\no*\r\n$6\r\norders\r\n$1\r\n7\r\n");

    publisher.cmd(&["PUBSUB", "SHARDCHANNELS", "s*"], "*1\r\n$5\r\nstock\r\n");
    publisher.cmd(&["PUBSUB", "SHARDNUMSUB", "orders", "none"], "*4\r\n$6\r\norders\r\n:1\r\n$4\r\nnone\r\n:0\r\n");
    publisher.cmd(&["PUBSUB", "NUMSUB", "stock"], "*2\r\n$5\r\nstock\r\n:0\r\n");

    sub.cmd(&["SUNSUBSCRIBE", "orders"], "*3\r\n$12\r\nsunsubscribe\r\n$6\r\norders\r\n:1\r\n");
    sub.cmd(&["SUNSUBSCRIBE"], "*3\r\n$12\r\nsunsubscribe\r\n$5\r\nstock\r\n:0\r\n");
    sub.cmd(&["SUNSUBSCRIBE"], "*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n");
    publisher.cmd(&["SPUBLISH", "stock", "x"], ":0\r\n");
    // Still subscribed to the channel and the pattern: the RESP2 subscribed-mode rule holds.
    sub.send(&["GET", "k"]);
    assert!(sub.frame().starts_with("-ERR Can't execute 'get'"));
    sub.cmd(&["RESET"], "+RESET\r\n");
    sub.cmd(&["GET", "k"], "$-1\r\n");
}

#[test]
fn patterns_deliver_pmessages_to_each_matching_subscription() {
    let server = start();
    let mut sub = Conn::open(&server);
    let mut publisher = redis_client(&server);
    sub.send(&["PSUBSCRIBE", "news.*", "*.tech", "h[ae]llo"]);
    sub.expect("*3\r\n$10\r\npsubscribe\r\n$6\r\nnews.*\r\n:1\r\n");
    sub.expect("*3\r\n$10\r\npsubscribe\r\n$6\r\n*.tech\r\n:2\r\n");
    sub.expect("*3\r\n$10\r\npsubscribe\r\n$8\r\nh[ae]llo\r\n:3\r\n");

    let n: i64 = redis::cmd("PUBLISH").arg("news.tech").arg("x").query(&mut publisher).unwrap();
    assert_eq!(n, 2, "one message per matching pattern");
    sub.expect("*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$9\r\nnews.tech\r\n$1\r\nx\r\n");
    sub.expect("*4\r\n$8\r\npmessage\r\n$6\r\n*.tech\r\n$9\r\nnews.tech\r\n$1\r\nx\r\n");
    let n: i64 = redis::cmd("PUBLISH").arg("hillo").arg("y").query(&mut publisher).unwrap();
    assert_eq!(n, 0);
    let n: i64 = redis::cmd("PUBLISH").arg("hallo").arg("z").query(&mut publisher).unwrap();
    assert_eq!(n, 1);
    sub.expect("*4\r\n$8\r\npmessage\r\n$8\r\nh[ae]llo\r\n$5\r\nhallo\r\n$1\r\nz\r\n");
    sub.cmd(&["PUNSUBSCRIBE", "news.*"], "*3\r\n$12\r\npunsubscribe\r\n$6\r\nnews.*\r\n:2\r\n");
    let n: i64 = redis::cmd("PUBLISH").arg("news.sport").arg("w").query(&mut publisher).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn the_redis_crate_receives_messages() {
    let server = start();
    let mut con = redis_client(&server);
    let mut publisher = redis_client(&server);
    let mut pubsub = con.as_pubsub();
    pubsub.subscribe("orders").unwrap();
    pubsub.psubscribe("ord*").unwrap();
    let n: i64 = redis::cmd("PUBLISH").arg("orders").arg("42").query(&mut publisher).unwrap();
    assert_eq!(n, 2);
    let msg = pubsub.get_message().unwrap();
    assert_eq!((msg.get_channel_name(), msg.get_payload::<String>().unwrap()), ("orders", "42".to_string()));
    let msg = pubsub.get_message().unwrap();
    assert_eq!(msg.get_pattern::<String>().unwrap(), "ord*");
    assert_eq!(msg.get_payload_bytes(), b"42");
}

#[test]
fn pubsub_introspection() {
    let server = start();
    let mut a = Conn::open(&server);
    let mut b = Conn::open(&server);
    let mut q = redis_client(&server);
    a.send(&["SUBSCRIBE", "news", "sport"]);
    a.frame();
    a.frame();
    b.send(&["SUBSCRIBE", "news"]);
    b.frame();
    b.send(&["PSUBSCRIBE", "n*", "s*"]);
    b.frame();
    b.frame();
    a.send(&["PSUBSCRIBE", "n*"]);
    a.frame();

    let mut channels: Vec<String> = redis::cmd("PUBSUB").arg("CHANNELS").query(&mut q).unwrap();
    channels.sort();
    assert_eq!(channels, ["news", "sport"]);
    let channels: Vec<String> = redis::cmd("PUBSUB").arg("CHANNELS").arg("s*").query(&mut q).unwrap();
    assert_eq!(channels, ["sport"]);
    let numsub: Vec<redis::Value> =
        redis::cmd("PUBSUB").arg("NUMSUB").arg("news").arg("sport").arg("none").query(&mut q).unwrap();
    let numsub: Vec<String> = numsub
        .iter()
        .map(|v| match v {
            redis::Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
            redis::Value::Int(n) => n.to_string(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(numsub, ["news", "2", "sport", "1", "none", "0"]);
    let numpat: i64 = redis::cmd("PUBSUB").arg("NUMPAT").query(&mut q).unwrap();
    assert_eq!(numpat, 2);

    let info: String = redis::cmd("INFO").arg("stats").query(&mut q).unwrap();
    assert!(info.contains("pubsub_channels:2\r\n") && info.contains("pubsub_patterns:2\r\n"), "{info}");
    let list: String = redis::cmd("CLIENT").arg("LIST").arg("TYPE").arg("pubsub").query(&mut q).unwrap();
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(list.contains(" flags=P ") && list.contains(" sub=2 psub=1 ") && list.contains(" sub=1 psub=2 "), "{list}");

    // A subscriber that disconnects leaves nothing behind.
    drop(a);
    drop(b);
    let mut c = Conn::open(&server);
    let deadline = std::time::Instant::now() + IO_TIMEOUT;
    loop {
        c.send(&["PUBSUB", "NUMPAT"]);
        if c.frame() == ":0\r\n" {
            break;
        }
        // The server notices the close on its next loop turn; asking again is the event we wait for.
        assert!(std::time::Instant::now() < deadline, "subscriptions of closed clients were not removed");
        thread::yield_now();
    }
    c.cmd(&["PUBSUB", "CHANNELS"], "*0\r\n");
}

#[test]
fn resp2_subscribed_mode_refuses_other_commands() {
    let server = start();
    let mut sub = Conn::open(&server);
    sub.cmd(&["SUBSCRIBE", "a"], "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
    sub.cmd(
        &["GET", "k"],
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this \
         context\r\n",
    );
    sub.cmd(
        &["CONFIG", "GET", "timeout"],
        "-ERR Can't execute 'config|get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in \
         this context\r\n",
    );
    sub.cmd(&["PING"], "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    sub.cmd(&["PING", "hi"], "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    sub.cmd(&["PSUBSCRIBE", "x*"], "*3\r\n$10\r\npsubscribe\r\n$2\r\nx*\r\n:2\r\n");
    sub.cmd(&["QUIT"], "+OK\r\n");
    let mut rest = Vec::new();
    sub.r.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

#[test]
fn keyspace_notifications_for_set_del_expire() {
    let server = start();
    let mut sub = Conn::open(&server);
    let mut w = Conn::open(&server);
    w.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"], "+OK\r\n");
    sub.cmd(&["PSUBSCRIBE", "__key*@0__:*"], "*3\r\n$10\r\npsubscribe\r\n$12\r\n__key*@0__:*\r\n:1\r\n");
    let space = |key: &str, event: &str| {
        format!(
            "*4\r\n$8\r\npmessage\r\n$12\r\n__key*@0__:*\r\n${}\r\n__keyspace@0__:{key}\r\n${}\r\n{event}\r\n",
            15 + key.len(),
            event.len()
        )
    };
    let event = |key: &str, event: &str| {
        format!(
            "*4\r\n$8\r\npmessage\r\n$12\r\n__key*@0__:*\r\n${}\r\n__keyevent@0__:{event}\r\n${}\r\n{key}\r\n",
            15 + event.len(),
            key.len()
        )
    };

    w.cmd(&["SET", "user", "v"], "+OK\r\n");
    sub.expect(&space("user", "set"));
    sub.expect(&event("user", "set"));
    w.cmd(&["EXPIRE", "user", "100"], ":1\r\n");
    sub.expect(&space("user", "expire"));
    sub.expect(&event("user", "expire"));
    w.cmd(&["DEL", "user"], ":1\r\n");
    sub.expect(&space("user", "del"));
    sub.expect(&event("user", "del"));

    // Only keyevent, only generic commands: SET is filtered out, DEL is not.
    w.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Eg"], "+OK\r\n");
    w.cmd(&["SET", "k2", "v"], "+OK\r\n");
    w.cmd(&["DEL", "k2"], ":1\r\n");
    sub.expect(&event("k2", "del"));
    // Notifications off again: nothing more arrives, which the next PING reply proves (it would come after).
    w.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""], "+OK\r\n");
    w.cmd(&["SET", "k3", "v"], "+OK\r\n");
    w.cmd(&["DEL", "k3"], ":1\r\n");
    sub.cmd(&["PING"], "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

#[test]
fn active_expiry_publishes_expired_events() {
    let clock = ManualClock::new(1_700_000_000_000);
    let server = Server::start_with_clock(ServerOptions::default(), Arc::new(clock.clone())).unwrap();
    let mut sub = Conn::open(&server);
    let mut w = Conn::open(&server);
    w.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Ex"], "+OK\r\n");
    sub.cmd(
        &["SUBSCRIBE", "__keyevent@0__:expired"],
        "*3\r\n$9\r\nsubscribe\r\n$22\r\n__keyevent@0__:expired\r\n:1\r\n",
    );
    w.cmd(&["SET", "session", "v", "PX", "500"], "+OK\r\n");
    // Nobody touches the key: only the server's cron (active expiry) can find it expired.
    clock.advance_ms(1_000);
    sub.expect("*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:expired\r\n$7\r\nsession\r\n");
    w.cmd(&["EXISTS", "session"], ":0\r\n");
}

/// The service-registry recipe of `docs/kv.md` section 8, step by step: leases, heartbeats, discovery, watching.
#[test]
fn the_registry_recipe_in_the_kv_doc_works() {
    let clock = ManualClock::new(1_700_000_000_000);
    let server = Server::start_with_clock(ServerOptions::default(), Arc::new(clock.clone())).unwrap();
    let mut watcher = Conn::open(&server);
    let mut r = redis_client(&server);
    let _: () = redis::cmd("CONFIG").arg("SET").arg("notify-keyspace-events").arg("K$gx").query(&mut r).unwrap();
    watcher.send(&["PSUBSCRIBE", "__keyspace@0__:svc:greeter:*"]);
    watcher.frame();
    let event = |w: &mut Conn, key: &str, what: &str| {
        let channel = format!("__keyspace@0__:{key}");
        w.expect(&format!(
            "*4\r\n$8\r\npmessage\r\n$28\r\n__keyspace@0__:svc:greeter:*\r\n${}\r\n{channel}\r\n${}\r\n{what}\r\n",
            channel.len(),
            what.len()
        ));
    };
    let (a, b) = ("svc:greeter:10.0.0.5:7000", "svc:greeter:10.0.0.6:7000");
    // Register with a 10 s lease; SET .. EX reports `set`, then `expire`.
    let _: () = redis::cmd("SET").arg(a).arg(r#"{"zone":"a"}"#).arg("EX").arg(10).query(&mut r).unwrap();
    event(&mut watcher, a, "set");
    event(&mut watcher, a, "expire");
    let _: () = redis::cmd("SET").arg(b).arg(r#"{"zone":"b"}"#).arg("EX").arg(10).query(&mut r).unwrap();
    event(&mut watcher, b, "set");
    event(&mut watcher, b, "expire");
    // Discover.
    let mut found: Vec<String> = redis::cmd("SCAN")
        .arg(0)
        .arg("MATCH")
        .arg("svc:greeter:*")
        .arg("COUNT")
        .arg(100)
        .query::<(u64, Vec<String>)>(&mut r)
        .unwrap()
        .1;
    found.sort();
    assert_eq!(found, [a, b]);
    // `a` heartbeats, `b` crashes: after 8 s `a` renews, after 12 s only `b`'s lease has run out.
    clock.advance_ms(8_000);
    let _: i64 = redis::cmd("EXPIRE").arg(a).arg(10).query(&mut r).unwrap();
    event(&mut watcher, a, "expire");
    clock.advance_ms(4_000);
    event(&mut watcher, b, "expired");
    let alive: Vec<String> = redis::cmd("KEYS").arg("svc:greeter:*").query(&mut r).unwrap();
    assert_eq!(alive, [a]);
    // A clean shutdown deregisters at once.
    let _: i64 = redis::cmd("DEL").arg(a).query(&mut r).unwrap();
    event(&mut watcher, a, "del");
}

#[test]
fn client_list_shows_a_slow_readers_pending_output() {
    /// 4 MiB in all: more than the kernel buffers for a socket nobody reads, far below the pubsub limits.
    const MESSAGE_BYTES: usize = 64 * 1024;
    const MESSAGES: usize = 64;
    let server = start();
    let mut slow = Conn::open(&server);
    slow.cmd(&["CLIENT", "SETNAME", "slow"], "+OK\r\n");
    slow.cmd(&["SUBSCRIBE", "firehose"], "*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n");
    let mut publisher = redis_client(&server);
    let payload = vec![b'x'; MESSAGE_BYTES];
    for _ in 0..MESSAGES {
        let n: i64 = redis::cmd("PUBLISH").arg("firehose").arg(&payload).query(&mut publisher).unwrap();
        assert_eq!(n, 1);
    }
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut publisher).unwrap();
    let line = list.lines().find(|l| l.contains(" name=slow ")).expect("the slow subscriber is listed");
    let num = |name: &str| -> usize {
        let field = line.split(' ').find_map(|f| f.strip_prefix(&format!("{name}="))).unwrap();
        field.parse().unwrap()
    };
    let pending = num("obl") + num("omem");
    assert!(pending > MESSAGE_BYTES, "output waits in the server: {line}");
    assert!(num("tot-mem") >= pending, "{line}");
    assert!(num("oll") > 0, "large messages are queued by reference: {line}");
}

#[test]
fn slow_subscriber_is_dropped_while_a_fast_one_gets_everything() {
    /// 64 KiB messages, 16 MiB in all: far past the 1 MiB hard limit plus whatever the kernel buffers for the
    /// slow subscriber's socket.
    const MESSAGE_BYTES: usize = 64 * 1024;
    const MESSAGES: usize = 256;

    let server = start();
    let mut admin = Conn::open(&server);
    admin.cmd(&["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 512kb 1"], "+OK\r\n");

    let mut slow = Conn::open(&server);
    slow.cmd(&["SUBSCRIBE", "firehose"], "*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n");

    let mut fast_con = redis_client(&server);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let fast = thread::spawn(move || {
        let mut pubsub = fast_con.as_pubsub();
        pubsub.subscribe("firehose").unwrap();
        ready_tx.send(()).unwrap();
        for i in 0..MESSAGES {
            let msg = pubsub.get_message().unwrap();
            let payload = msg.get_payload_bytes();
            assert_eq!(payload.len(), MESSAGE_BYTES);
            assert_eq!(payload[0], (i % 251) as u8, "messages arrive in order");
        }
        // Stay subscribed until the main thread has checked the server's view (dropping PubSub unsubscribes).
        ready_tx.send(()).unwrap();
        let _ = done_rx.recv();
    });
    ready_rx.recv().unwrap();

    let mut publisher = redis_client(&server);
    let mut receivers = Vec::new();
    for i in 0..MESSAGES {
        let payload = vec![(i % 251) as u8; MESSAGE_BYTES];
        let n: i64 = redis::cmd("PUBLISH").arg("firehose").arg(payload).query(&mut publisher).unwrap();
        receivers.push(n);
    }
    ready_rx.recv().expect("the fast subscriber got every message");
    assert_eq!(receivers[0], 2);
    assert_eq!(*receivers.last().unwrap(), 1, "the slow subscriber was disconnected: {receivers:?}");

    // The slow subscriber finds its connection closed after whatever was sent before the limit hit.
    let mut drained = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match slow.r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => drained += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("slow subscriber was not disconnected: {e}"),
        }
    }
    assert!(drained < MESSAGES * MESSAGE_BYTES, "got {drained} bytes");
    let info: String = redis::cmd("INFO").arg("clients").query(&mut publisher).unwrap();
    assert!(info.contains("pubsub_clients:1\r\n"), "{info}");
    done_tx.send(()).unwrap();
    fast.join().unwrap();
}

#[test]
fn subscribers_are_exempt_from_the_idle_timeout() {
    let server = Server::start(ServerOptions::default().with("timeout", "1")).unwrap();
    let mut sub = Conn::open(&server);
    sub.cmd(&["SUBSCRIBE", "quiet"], "*3\r\n$9\r\nsubscribe\r\n$5\r\nquiet\r\n:1\r\n");
    // Two ordinary clients that connect later and go quiet are closed for idling; waiting for their close (an
    // event, not a sleep) guarantees the older, idle subscriber has been past the timeout through full sweeps.
    for _ in 0..2 {
        let mut idle = Conn::open(&server);
        idle.cmd(&["PING"], "+PONG\r\n");
        let mut rest = Vec::new();
        idle.r.read_to_end(&mut rest).unwrap();
    }
    sub.cmd(&["PING"], "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}
