//! Proves the benchmark lab: the thread-per-connection server behaves like the reactor server on a representative
//! subset of the KV suite (both models run every test here), `plexus bench` runs against both and writes
//! well-formed JSON and SVG, and the open-loop generator sees a 200 ms server stall that a closed loop hides.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use plexus::app::{Io, Server, ServerOptions};
use plexus::bench::client::{self, ClientOptions, PhaseSpec, Stop};
use plexus::bench::workload::{KeyDist, Workload};

/// Bound on any blocking read in these tests: turns a hang into a failure on a busy 2-core machine.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

const MODELS: [Io; 2] = [Io::Reactor, Io::Threads];

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Sends `request` and reads exactly `want.len()` bytes, which must equal `want`.
fn expect(s: &mut TcpStream, request: &[u8], want: &[u8]) {
    s.write_all(request).unwrap();
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
}

/// Reads until the server closes; returns what came before.
fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    all
}

#[test]
fn both_models_speak_the_same_resp_through_a_real_client() {
    for io in MODELS {
        let server = Server::start_io(io, ServerOptions::default()).unwrap();
        let client = redis::Client::open(format!("redis://{}/", server.addr)).unwrap();
        let mut con = client.get_connection_with_timeout(IO_TIMEOUT).unwrap();
        let _: () = redis::cmd("SET").arg(b"k\x00bin").arg(b"v\r\n").query(&mut con).unwrap();
        let v: Vec<u8> = redis::cmd("GET").arg(b"k\x00bin").query(&mut con).unwrap();
        assert_eq!(v, b"v\r\n", "{io}");
        let n: i64 = redis::cmd("INCRBY").arg("counter").arg(41).query(&mut con).unwrap();
        assert_eq!(n, 41, "{io}");
        let (a, b): (i64, Option<String>) =
            redis::pipe().cmd("INCR").arg("counter").cmd("GET").arg("missing").query(&mut con).unwrap();
        assert_eq!((a, b), (42, None), "{io}");
        server.stop().unwrap();
    }
}

#[test]
fn pipelines_split_at_every_byte_are_answered_in_order() {
    let request =
        b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$2\r\n12\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\nPING\r\n*1\r\n$4\r\nPING\r\n";
    let want = b"+OK\r\n:13\r\n+PONG\r\n+PONG\r\n";
    for io in MODELS {
        let server = Server::start_io(io, ServerOptions::default()).unwrap();
        let mut s = connect(server.addr);
        for cut in [1, 7, 19, 30, request.len() - 1] {
            s.write_all(&request[..cut]).unwrap();
            thread::sleep(Duration::from_millis(2)); // only to split the bytes into separate reads
            expect(&mut s, &request[cut..], want);
        }
        server.stop().unwrap();
    }
}

#[test]
fn wrong_arity_keeps_the_connection_and_protocol_errors_close_it() {
    for io in MODELS {
        let server = Server::start_io(io, ServerOptions::default()).unwrap();
        let mut s = connect(server.addr);
        expect(&mut s, b"GET\r\n", b"-ERR wrong number of arguments for 'get' command\r\n");
        expect(&mut s, b"PING\r\n", b"+PONG\r\n");
        s.write_all(b"*1\r\n$x\r\n").unwrap();
        let rest = read_to_close(&mut s);
        assert_eq!(rest, b"-ERR Protocol error: invalid bulk length\r\n", "{io}");
        server.stop().unwrap();
    }
}

#[test]
fn quit_replies_then_closes() {
    for io in MODELS {
        let server = Server::start_io(io, ServerOptions::default()).unwrap();
        let mut s = connect(server.addr);
        s.write_all(b"QUIT\r\nPING\r\n").unwrap();
        assert_eq!(read_to_close(&mut s), b"+OK\r\n", "{io}: nothing after QUIT runs");
        server.stop().unwrap();
    }
}

#[test]
fn requirepass_is_enforced() {
    for io in MODELS {
        let server = Server::start_io(io, ServerOptions::default().with("requirepass", "sesame")).unwrap();
        let mut s = connect(server.addr);
        expect(&mut s, b"GET k\r\n", b"-NOAUTH Authentication required.\r\n");
        expect(&mut s, b"AUTH wrong\r\n", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
        expect(&mut s, b"AUTH sesame\r\n", b"+OK\r\n");
        expect(&mut s, b"GET k\r\n", b"$-1\r\n");
        server.stop().unwrap();
    }
}

#[test]
fn maxclients_rejects_with_the_redis_error_and_serves_the_rest() {
    for io in MODELS {
        let server = Server::start_io(io, ServerOptions::default().with("maxclients", "2")).unwrap();
        let mut a = connect(server.addr);
        let mut b = connect(server.addr);
        expect(&mut a, b"PING\r\n", b"+PONG\r\n");
        expect(&mut b, b"PING\r\n", b"+PONG\r\n");
        let mut c = connect(server.addr);
        assert_eq!(read_to_close(&mut c), b"-ERR max number of clients reached\r\n", "{io}");
        drop(a);
        // Once a slot is free, a new client gets in (the server notices the close asynchronously).
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            let mut d = connect(server.addr);
            d.write_all(b"PING\r\n").unwrap();
            let mut got = [0u8; 7];
            if d.read_exact(&mut got).is_ok() && &got == b"+PONG\r\n" {
                break;
            }
            assert!(Instant::now() < deadline, "{io}: a freed slot was never reused");
            thread::sleep(Duration::from_millis(10));
        }
        expect(&mut b, b"PING\r\n", b"+PONG\r\n");
        server.stop().unwrap();
    }
}

#[test]
fn client_kill_and_shutdown_work_across_connections() {
    for io in MODELS {
        let server = Server::start_io(io, ServerOptions::default()).unwrap();
        let mut victim = connect(server.addr);
        expect(&mut victim, b"CLIENT SETNAME victim\r\n", b"+OK\r\n");
        let victim_addr = victim.local_addr().unwrap();
        let mut admin = connect(server.addr);
        expect(&mut admin, format!("CLIENT KILL {victim_addr}\r\n").as_bytes(), b"+OK\r\n");
        assert_eq!(read_to_close(&mut victim), b"", "{io}: the victim is closed");
        admin.write_all(b"SHUTDOWN NOSAVE\r\n").unwrap();
        read_to_close(&mut admin);
        server.stop().unwrap();
    }
}

#[test]
fn threads_server_gives_each_connection_its_own_thread() {
    let server = Server::start_threads(ServerOptions::default()).unwrap();
    let threads = || plexus::bench::system::sample(std::process::id()).unwrap().threads;
    let before = threads();
    let mut conns: Vec<TcpStream> = (0..20).map(|_| connect(server.addr)).collect();
    for c in &mut conns {
        expect(c, b"PING\r\n", b"+PONG\r\n");
    }
    // Other tests run in parallel in this process, so only a lower bound can be asserted.
    assert!(threads() >= before + 20, "20 connections, 20 more threads ({} -> {})", before, threads());
    drop(conns);
    server.stop().unwrap();
}

/// Runs the `plexus` binary with `args` and returns its stdout; fails the test if it fails.
fn plexus(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_plexus")).args(args).output().unwrap();
    assert!(out.status.success(), "plexus {args:?} failed: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn plexus_bench_measures_both_servers_and_writes_json_and_svg() {
    let dir = std::env::temp_dir().join(format!("plexus-bench-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for server in ["reactor", "threads"] {
        let json = dir.join(format!("{server}.json"));
        let svg = dir.join(format!("{server}.svg"));
        let table = plexus(&[
            "bench",
            "--spawn",
            server,
            "--no-pin",
            "--quiet",
            "--connections",
            "1,8",
            "--pipeline",
            "4",
            "--requests",
            "400",
            "--warmup",
            "0",
            "--workload",
            "mixed",
            "--keyspace",
            "100",
            "--prefill",
            "--json",
            json.to_str().unwrap(),
            "--svg",
            svg.to_str().unwrap(),
        ]);
        assert!(table.contains(server) && table.contains("p99"), "table:\n{table}");
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let records = v["records"].as_array().unwrap();
        assert_eq!(records.len(), 2, "{server}: one record per connection level");
        for (r, conns) in records.iter().zip([1, 8]) {
            assert_eq!(r["server"], server);
            assert_eq!(r["connections_reached"], conns);
            assert!(r["requests"].as_u64().unwrap() >= 400);
            assert_eq!(r["errors"], 0);
            assert!(r["throughput_rps"].as_f64().unwrap() > 0.0);
            let lat = &r["latency_us"];
            assert!(lat["p50"].as_f64().unwrap() <= lat["p99"].as_f64().unwrap());
            assert!(lat["p99"].as_f64().unwrap() <= lat["max"].as_f64().unwrap());
            let rss = r["server_rss_bytes"].as_u64().unwrap();
            assert!(rss > 0);
            assert!(r["server_rss_over_data_bytes"].as_u64().unwrap() < rss, "the baseline was read");
            assert!(r["server_threads"].as_u64().unwrap() >= 1);
        }
        let threads_at_8 = records[1]["server_threads"].as_u64().unwrap();
        if server == "threads" {
            assert!(threads_at_8 >= 8, "a thread per connection, got {threads_at_8}");
        }
        let svg = std::fs::read_to_string(&svg).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("throughput") && svg.contains(server));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A tiny PONG server that stalls once: after `stall_after` requests it sleeps `stall` before answering. It records
/// in `deepest` the most requests one read ever brought (the client's effective pipeline depth, as it answers each
/// request before reading again).
fn stalling_pong_server(stall_after: usize, stall: Duration, deepest: Arc<AtomicUsize>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else { return };
        let _ = s.set_nodelay(true);
        const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let mut answered = 0;
        let mut stalled = false;
        loop {
            let n = match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            let complete = buf.len() / PING.len();
            buf.drain(..complete * PING.len());
            deepest.fetch_max(complete, Ordering::Relaxed);
            for _ in 0..complete {
                if !stalled && answered == stall_after {
                    stalled = true;
                    thread::sleep(stall);
                }
                if s.write_all(b"+PONG\r\n").is_err() {
                    return;
                }
                answered += 1;
            }
        }
    });
    addr
}

fn ping_run(addr: SocketAddr, rate: Option<f64>) -> client::PhaseResult {
    let opts = ClientOptions {
        addr,
        connections: 1,
        keyspace: 1,
        value_size: 1,
        keys: KeyDist::Uniform,
        prefill: false,
        server_pid: None,
        progress: false,
        seed: 1,
    };
    let phase = PhaseSpec {
        workload: Workload::Ping,
        pipeline: 1,
        warmup: Duration::ZERO,
        stop: Stop::Duration(Duration::from_millis(1500)),
        rate,
    };
    let mut result = client::run(opts, vec![phase], None).unwrap();
    assert_eq!(result.connected, 1);
    result.phases.pop().unwrap()
}

#[test]
fn open_loop_sees_a_stall_that_closed_loop_hides() {
    const STALL: Duration = Duration::from_millis(200);
    // Open loop, 1000 requests per second: the 200 ms stall delays the ~200 requests due during it, by up to
    // 200 ms each, which is well over 1% of the ~1500 requests.
    let open = ping_run(stalling_pong_server(100, STALL, Arc::default()), Some(1000.0));
    let p99 = Duration::from_nanos(open.latency.value_at_quantile(0.99));
    assert!(open.completed > 1000, "open loop completed {}", open.completed);
    assert!(p99 >= Duration::from_millis(100), "open-loop p99 {p99:?} must show the stall");
    assert!(Duration::from_nanos(open.latency.max()) >= Duration::from_millis(190));

    // Closed loop against the same stall: one request waits 200 ms, and the generator, waiting with it, sends
    // nothing else meanwhile, so the stall is a single sample among thousands (coordinated omission).
    let deepest = Arc::new(AtomicUsize::new(0));
    let closed = ping_run(stalling_pong_server(100, STALL, deepest.clone()), None);
    assert_eq!(deepest.load(Ordering::Relaxed), 1, "pipeline 1 means one request in flight, never two");
    assert!(Duration::from_nanos(closed.latency.max()) >= Duration::from_millis(190), "the one slow request");
    let closed_slow = closed.latency.count_between(100_000_000, u64::MAX);
    let open_slow = open.latency.count_between(100_000_000, u64::MAX);
    assert!(closed_slow <= 2, "closed loop records the stall once, not {closed_slow} times");
    assert!(open_slow >= 50, "open loop records every request the stall delayed, got {open_slow}");
}

#[test]
fn idle_mode_reports_memory_per_connection() {
    let json = std::env::temp_dir().join(format!("plexus-idle-test-{}.json", std::process::id()));
    let out = plexus(&[
        "bench",
        "idle",
        "--spawn",
        "threads",
        "--connections",
        "50",
        "--quiet-secs",
        "0.2",
        "--no-pin",
        "--quiet",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(out.contains("bytes per connection"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let r = &v[0];
    assert_eq!(r["connections_reached"], 50);
    // A thread per connection (plus the acceptor and the cron) is visible in the server's thread count.
    assert!(r["threads_after"].as_u64().unwrap() >= 52, "{r}");
    assert!(r["rss_after_bytes"].as_u64().unwrap() > r["rss_before_bytes"].as_u64().unwrap());
    std::fs::remove_file(&json).unwrap();
}

#[test]
fn plexus_bench_hiccups_reports_one_line_per_watched_cpu() {
    let out = plexus(&["bench", "hiccups", "--seconds", "0.2", "--cpus", "0"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "a header and CPU 0: {out}");
    let fields: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(fields[0], "0");
    let over_100us: u64 = fields[1].parse().unwrap();
    let over_1ms: u64 = fields[2].parse().unwrap();
    assert!(over_1ms <= over_100us, "{out}");
    assert!(fields[3].ends_with("ms") && fields[4].ends_with('%'), "{out}");
}
