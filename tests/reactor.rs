//! Proves the reactor's contract end to end: many connections, large payloads through partial reads and writes,
//! backpressure and output limits, half-close, timers, cross-thread wake-ups, slab-key reuse, and `EMFILE`.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use plexus::echo::Echo;
use plexus::net::{bind_tcp, TcpOptions};
use plexus::reactor::{CloseReason, Config, ConnId, Core, Handle, ListenerId, OutputLimits, Protocol, Reactor};

const IO_TIMEOUT: Duration = Duration::from_secs(20);

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A reactor on a background thread; shut down and joined on `stop` (or on drop).
struct Running<P: Protocol> {
    addr: SocketAddr,
    handle: Handle<P>,
    thread: Option<thread::JoinHandle<P>>,
}

impl<P: Protocol + Send> Running<P> {
    fn start(proto: P, config: Config) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = thread::spawn(move || {
            let mut reactor = Reactor::new(proto, config).unwrap();
            let lid = reactor.listen(bind_tcp(loopback(), &TcpOptions::default()).unwrap()).unwrap();
            tx.send((reactor.local_addr(lid).unwrap(), reactor.handle())).unwrap();
            reactor.run().unwrap();
            reactor.into_protocol()
        });
        let (addr, handle) = rx.recv().unwrap();
        Running { addr, handle, thread: Some(thread) }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        s
    }

    /// Stops the reactor and returns the protocol with whatever it recorded.
    fn stop(mut self) -> P {
        self.handle.shutdown().unwrap();
        self.thread.take().unwrap().join().unwrap()
    }
}

impl<P: Protocol> Drop for Running<P> {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = self.handle.shutdown();
            let _ = t.join();
        }
    }
}

fn echo_round_trip(s: &mut TcpStream, msg: &[u8]) {
    s.write_all(msg).unwrap();
    let mut back = vec![0u8; msg.len()];
    s.read_exact(&mut back).unwrap();
    assert_eq!(back, msg);
}

#[test]
fn a_thousand_connections_each_echo_a_hundred_messages() {
    let server = Running::start(Echo::default(), Config::default());
    const CONNS: usize = 1000;
    const THREADS: usize = 10;
    const MESSAGES: usize = 100;
    let addr = server.addr;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            thread::spawn(move || {
                let mut socks: Vec<TcpStream> = (0..CONNS / THREADS)
                    .map(|_| {
                        let s = TcpStream::connect(addr).unwrap();
                        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                        s
                    })
                    .collect();
                for m in 0..MESSAGES {
                    // Every connection has a request in flight at once, so the server multiplexes them all.
                    let msgs: Vec<Vec<u8>> =
                        (0..socks.len()).map(|c| format!("thread {t} conn {c} message {m}\n").into_bytes()).collect();
                    for (s, msg) in socks.iter_mut().zip(&msgs) {
                        s.write_all(msg).unwrap();
                    }
                    for (s, msg) in socks.iter_mut().zip(&msgs) {
                        let mut back = vec![0u8; msg.len()];
                        s.read_exact(&mut back).unwrap();
                        assert_eq!(&back, msg);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let echo = server.stop();
    let per_conn: usize = (0..MESSAGES).map(|m| format!("thread 0 conn 0 message {m}\n").len()).sum();
    assert!(echo.echoed_bytes as usize >= CONNS * per_conn);
}

#[test]
fn a_10_mb_payload_echoes_back_intact() {
    // Small budgets force many partial reads and writes.
    let config = Config { read_budget_bytes: 16 * 1024, write_budget_bytes: 8 * 1024, ..Config::default() };
    let server = Running::start(Echo::default(), config);
    let payload: Vec<u8> = (0..10 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let mut s = server.connect();
    let mut writer = s.try_clone().unwrap();
    let to_send = payload.clone();
    let w = thread::spawn(move || {
        for chunk in to_send.chunks(100_000) {
            writer.write_all(chunk).unwrap();
        }
    });
    let mut back = vec![0u8; payload.len()];
    s.read_exact(&mut back).unwrap();
    w.join().unwrap();
    assert!(back == payload, "payload corrupted");
}

#[test]
fn half_close_still_gets_every_reply() {
    let server = Running::start(Echo::default(), Config::default());
    let mut s = server.connect();
    let payload = vec![b'h'; 300_000];
    s.write_all(&payload).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut back = Vec::new();
    s.read_to_end(&mut back).unwrap(); // EOF proves the server closed after replying
    assert_eq!(back.len(), payload.len());
    assert!(back == payload);
}

/// Reads /proc/self/status VmRSS in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_client_that_never_reads_is_bounded_and_closed_while_others_are_served() {
    let limits = OutputLimits { hard_bytes: 0, soft_bytes: 256 * 1024, soft_millis: 100 };
    let config = Config {
        high_watermark_bytes: 512 * 1024,
        low_watermark_bytes: 128 * 1024,
        output_limits: limits,
        cron_interval: Duration::from_millis(20),
        ..Config::default()
    };
    let server = Running::start(Echo::default(), config);
    let rss_before = rss_kib();

    // The bad client writes without ever reading. Its writes eventually stall (the server stopped reading it), or
    // fail once the server closes it.
    let mut bad = server.connect();
    bad.set_write_timeout(Some(Duration::from_millis(200))).unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0usize;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        match bad.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
        if sent > 512 * 1024 * 1024 {
            break;
        }
    }
    assert!(sent < 512 * 1024 * 1024, "the server kept reading from a client that never reads");

    // Meanwhile a well-behaved client is served.
    let mut good = server.connect();
    echo_round_trip(&mut good, b"still here\n");

    // The bad client is disconnected at its limit: reading drains what was sent, then EOF or a reset.
    bad.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut sink = vec![0u8; 1 << 20];
    let deadline = Instant::now() + Duration::from_secs(15);
    let closed = loop {
        match bad.read(&mut sink) {
            Ok(0) | Err(_) => break true,
            Ok(_) if Instant::now() > deadline => break false,
            Ok(_) => {}
        }
    };
    assert!(closed, "the slow client was never closed");
    let grown_mib = rss_kib().saturating_sub(rss_before) / 1024;
    assert!(grown_mib < 64, "server memory grew by {grown_mib} MiB");
    echo_round_trip(&mut good, b"and still served\n");
}

/// Records what the loop did, for the timer, wake-up and slab-reuse tests.
#[derive(Default)]
struct Recorder {
    fired: Vec<&'static str>,
    messages: Vec<u32>,
    data: Vec<(ConnId, u64, Vec<u8>)>,
    closed: Vec<(ConnId, u64)>,
}

impl Protocol for Recorder {
    type Session = u64; // the connection's serial, to tell reused slab keys apart
    type Timer = &'static str;
    type Message = u32;

    fn accept(&mut self, _listener: ListenerId) -> u64 {
        0
    }

    fn opened(&mut self, cx: &mut Core<Self>, id: ConnId) {
        let serial = cx.conn(id).unwrap().serial();
        cx.conn_mut(id).unwrap().session = serial;
    }

    fn data(&mut self, cx: &mut Core<Self>, id: ConnId, input: &mut BytesMut) {
        let serial = cx.conn(id).unwrap().session;
        if !input.is_empty() {
            self.data.push((id, serial, input.to_vec()));
        }
        if input.starts_with(b"close") {
            cx.close(id);
        }
        input.clear();
        cx.conn_mut(id).unwrap().out.extend_from_slice(b"ok");
    }

    fn timer(&mut self, _cx: &mut Core<Self>, t: &'static str) {
        self.fired.push(t);
    }

    fn message(&mut self, _cx: &mut Core<Self>, msg: u32) {
        self.messages.push(msg);
    }

    fn closed(&mut self, _cx: &mut Core<Self>, id: ConnId, serial: u64, _reason: CloseReason) {
        self.closed.push((id, serial));
    }
}

#[test]
fn timers_fire_in_deadline_order_and_cancelled_ones_never_fire() {
    let mut reactor = Reactor::new(Recorder::default(), Config::default()).unwrap();
    let now = Instant::now();
    let core = reactor.core_mut();
    core.set_timer(now + Duration::from_millis(30), "third");
    core.set_timer(now + Duration::from_millis(10), "first");
    let cancelled = core.set_timer(now + Duration::from_millis(5), "cancelled");
    core.set_timer(now + Duration::from_millis(20), "second");
    assert_eq!(core.cancel_timer(cancelled), Some("cancelled"));
    while reactor.protocol().fired.len() < 3 {
        reactor.turn().unwrap();
    }
    assert_eq!(reactor.protocol().fired, ["first", "second", "third"]);
    assert!(now.elapsed() >= Duration::from_millis(30));
}

#[test]
fn the_poll_timeout_follows_the_nearest_timer() {
    let mut reactor = Reactor::new(Recorder::default(), Config::default()).unwrap();
    assert_eq!(reactor.poll_timeout(), None, "no timer: sleep until an event");
    let now = Instant::now();
    reactor.core_mut().set_timer(now + Duration::from_secs(5), "far");
    let near = reactor.core_mut().set_timer(now + Duration::from_millis(500), "near");
    let t = reactor.poll_timeout().unwrap();
    assert!(t <= Duration::from_millis(500) && t > Duration::from_millis(400), "{t:?}");
    reactor.core_mut().cancel_timer(near);
    let t = reactor.poll_timeout().unwrap();
    assert!(t > Duration::from_secs(4), "{t:?}");
}

#[test]
fn with_timer_spin_the_loop_stops_sleeping_just_before_a_timer() {
    let config = Config { timer_spin: Duration::from_millis(2), ..Config::default() };
    let mut reactor = Reactor::new(Recorder::default(), config).unwrap();
    let now = Instant::now();
    let near = reactor.core_mut().set_timer(now + Duration::from_millis(500), "near");
    let t = reactor.poll_timeout().unwrap();
    assert!(t <= Duration::from_millis(498) && t > Duration::from_millis(400), "sleeps to 2 ms short: {t:?}");
    reactor.core_mut().cancel_timer(near);
    reactor.core_mut().set_timer(now + Duration::from_micros(1500), "within the spin");
    assert_eq!(reactor.poll_timeout(), Some(Duration::ZERO), "polls without sleeping");
}

#[test]
fn with_busy_poll_the_loop_never_sleeps() {
    let config = Config { busy_poll: Duration::MAX, ..Config::default() };
    let mut reactor = Reactor::new(Recorder::default(), config).unwrap();
    assert_eq!(reactor.poll_timeout(), Some(Duration::ZERO), "no timer, no work: still no sleep");
    reactor.core_mut().set_timer(Instant::now() + Duration::from_secs(5), "far");
    assert_eq!(reactor.poll_timeout(), Some(Duration::ZERO));
}

#[test]
fn with_a_busy_poll_budget_the_loop_polls_after_activity_then_sleeps() {
    // A budget of 1 ns runs out between any two ticks, so whether the loop spins depends only on the last tick.
    let config = Config { busy_poll: Duration::from_nanos(1), ..Config::default() };
    let mut reactor = Reactor::new(Recorder::default(), config).unwrap();
    reactor.turn().unwrap();
    assert_eq!(reactor.poll_timeout(), None, "a tick with no events: back to sleeping until an event");
    reactor.handle().post(7).unwrap();
    reactor.turn().unwrap();
    assert_eq!(reactor.protocol().messages, [7]);
    assert_eq!(reactor.poll_timeout(), Some(Duration::ZERO), "right after an event: poll again without sleeping");
    reactor.turn().unwrap();
    assert_eq!(reactor.poll_timeout(), None, "a quiet tick later the budget has run out");

    // A budget longer than the test keeps the loop polling.
    let config = Config { busy_poll: Duration::from_secs(3600), ..Config::default() };
    let mut reactor = Reactor::new(Recorder::default(), config).unwrap();
    reactor.turn().unwrap();
    assert_eq!(reactor.poll_timeout(), Some(Duration::ZERO));
}

#[test]
fn a_message_from_another_thread_wakes_the_loop() {
    let server = Running::start(Recorder::default(), Config::default());
    let handle = server.handle.clone();
    let poster = thread::spawn(move || {
        for i in 0..100 {
            handle.post(i).unwrap();
        }
        // A closure runs on the loop thread with the protocol and the core.
        handle.run(|proto: &mut Recorder, _cx| proto.messages.push(1000)).unwrap();
    });
    poster.join().unwrap();
    // The loop has no timer due for a long time, so only the waker can have woken it.
    let recorder = server.stop();
    assert_eq!(recorder.messages, (0..100).chain([1000]).collect::<Vec<_>>());
}

#[test]
fn a_reused_slab_key_receives_no_stale_event() {
    let server = Running::start(Recorder::default(), Config::default());
    // A asks to be closed and keeps writing; the server must never deliver A's later bytes to anyone else.
    let mut a = server.connect();
    a.write_all(b"close").unwrap();
    let mut buf = [0u8; 16];
    let _ = a.read(&mut buf); // "ok" or EOF
    let _ = a.write_all(b"stale-bytes-from-a");
    // B and C take slab keys, one of them A's old key.
    let mut b = server.connect();
    echo_ok(&mut b, b"from-b");
    let mut c = server.connect();
    echo_ok(&mut c, b"from-c");
    drop((a, b, c));
    let rec = server.stop();

    let a_entry = rec.data.iter().find(|(_, _, d)| d.starts_with(b"close")).unwrap();
    let (a_id, a_serial) = (a_entry.0, a_entry.1);
    // Someone reused A's key (slab keys are reused), ...
    assert!(rec.data.iter().any(|(id, serial, _)| *id == a_id && *serial != a_serial), "{:?}", rec.data);
    // ... and no data event carried A's late bytes, or reached A's serial after its close.
    assert!(rec.data.iter().all(|(_, _, d)| !d.windows(5).any(|w| w == b"stale")));
    assert_eq!(rec.data.iter().filter(|(_, s, _)| *s == a_serial).count(), 1);
    assert_eq!(rec.closed.iter().filter(|(_, s)| *s == a_serial).count(), 1, "closed exactly once");
}

fn echo_ok(s: &mut TcpStream, msg: &[u8]) {
    s.write_all(msg).unwrap();
    let mut ok = [0u8; 2];
    s.read_exact(&mut ok).unwrap();
    assert_eq!(&ok, b"ok");
}

/// utime + stime of a process, in clock ticks (1/100 s on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn emfile_backs_off_without_spinning_and_resumes_when_descriptors_free_up() {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    // Example 03 is built by `cargo test`; it sits next to this test binary's directory.
    let exe = std::env::current_exe().unwrap();
    let example = exe.parent().unwrap().parent().unwrap().join("examples/03_reactor_echo");
    const FD_LIMIT: u64 = 32;
    let mut cmd = Command::new(&example);
    cmd.arg("127.0.0.1:0").stdout(Stdio::piped()).stderr(Stdio::null());
    // SAFETY: setrlimit is async-signal-safe and touches no memory shared with the parent; the closure runs in
    // the forked child before exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit { rlim_cur: FD_LIMIT, rlim_max: FD_LIMIT };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let child = Kill(child);
    let addr: SocketAddr = line.trim().strip_prefix("listening on ").unwrap().parse().unwrap();

    // Open more connections than the child has descriptors. The kernel completes the handshakes (backlog), but
    // the child can only accept some of them.
    let mut conns: Vec<TcpStream> = (0..FD_LIMIT as usize + 16)
        .map(|_| {
            let s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(150))).unwrap();
            s
        })
        .collect();
    let mut served = Vec::new();
    let mut waiting = Vec::new();
    for (i, s) in conns.iter_mut().enumerate() {
        s.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        match s.read_exact(&mut buf) {
            Ok(()) => served.push(i),
            Err(_) => waiting.push(i),
        }
    }
    assert!(!served.is_empty() && !waiting.is_empty(), "served {served:?} waiting {waiting:?}");

    // While descriptors are exhausted the server must not spin.
    let before = cpu_ticks(child.0.id());
    thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(child.0.id()) - before;
    assert!(used < 20, "server burned {used}/100 ticks of CPU while out of descriptors");

    // Free descriptors: the waiting connections get accepted and their pending "ping" is echoed.
    let freed: Vec<usize> = served.clone();
    for &i in &freed {
        conns[i].shutdown(Shutdown::Both).unwrap();
    }
    let first_waiting = waiting[0];
    conns[first_waiting].set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 4];
    conns[first_waiting].read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
}

#[test]
fn unix_domain_and_ipv6_listeners_serve_the_same_protocol() {
    use std::os::unix::net::UnixStream;
    let dir = std::env::temp_dir().join(format!("plexus-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let (tx, rx) = std::sync::mpsc::channel();
    let path2 = path.clone();
    let t = thread::spawn(move || {
        let mut reactor = Reactor::new(Echo::default(), Config::default()).unwrap();
        reactor.listen(plexus::net::bind_unix(&path2).unwrap()).unwrap();
        // IPv6 loopback may be missing in some sandboxes; the Unix socket is the part that must work.
        let v6 = bind_tcp("[::1]:0".parse().unwrap(), &TcpOptions { reuse_port: true, ..TcpOptions::default() })
            .ok()
            .map(|l| reactor.listen(l).unwrap());
        let v6_addr = v6.and_then(|lid| reactor.local_addr(lid));
        tx.send((reactor.handle(), v6_addr)).unwrap();
        reactor.run().unwrap();
    });
    let (handle, v6_addr) = rx.recv().unwrap();
    let mut u = UnixStream::connect(&path).unwrap();
    u.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    u.write_all(b"over a unix socket").unwrap();
    let mut back = [0u8; 18];
    u.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"over a unix socket");
    if let Some(addr) = v6_addr {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        echo_round_trip(&mut s, b"over ipv6");
    }
    handle.shutdown().unwrap();
    t.join().unwrap();
    assert!(!path.exists(), "the socket file is removed when the listener closes");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn idle_connections_are_closed_and_busy_ones_are_not() {
    let config = Config {
        idle_timeout: Some(Duration::from_millis(300)),
        cron_interval: Duration::from_millis(20),
        ..Config::default()
    };
    let server = Running::start(Echo::default(), config);
    let mut idle = server.connect();
    let mut busy = server.connect();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(900) {
        echo_round_trip(&mut busy, b"tick");
        thread::sleep(Duration::from_millis(50));
    }
    let mut buf = [0u8; 1];
    assert_eq!(idle.read(&mut buf).unwrap_or(0), 0, "the idle connection was closed");
    echo_round_trip(&mut busy, b"still open");
}

/// Connects out to a target on `connected`-driven state, for the outbound connect tests.
#[derive(Default)]
struct Dialer {
    outcomes: Vec<Result<(), std::io::ErrorKind>>,
    echoed: Vec<u8>,
}

impl Protocol for Dialer {
    type Session = ();
    type Timer = ();
    type Message = SocketAddr;

    fn accept(&mut self, _listener: ListenerId) {}

    fn message(&mut self, cx: &mut Core<Self>, target: SocketAddr) {
        let id = cx.connect(target, ()).unwrap();
        // Queued before the connect finishes: sent once connected.
        cx.conn_mut(id).unwrap().out.extend_from_slice(b"hello from a dialer");
    }

    fn connected(&mut self, _cx: &mut Core<Self>, _id: ConnId, result: std::io::Result<()>) {
        self.outcomes.push(result.map_err(|e| e.kind()));
    }

    fn data(&mut self, _cx: &mut Core<Self>, _id: ConnId, input: &mut BytesMut) {
        self.echoed.extend_from_slice(input);
        input.clear();
    }
}

#[test]
fn outbound_connects_succeed_fail_and_time_out() {
    let echo = Running::start(Echo::default(), Config::default());
    // A port nobody listens on: the connect is refused.
    let refused = std::net::TcpListener::bind(loopback()).unwrap().local_addr().unwrap();
    // A listener that never accepts, with its one-slot backlog filled: further SYNs are dropped, so a connect to
    // it neither succeeds nor fails until our timeout.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&loopback().into()).unwrap();
    socket.listen(0).unwrap();
    let blackhole: SocketAddr = socket.local_addr().unwrap().as_socket().unwrap();
    let fillers: Vec<TcpStream> = (0..4).filter_map(|_| connect_quickly(blackhole)).collect();

    let dialer =
        Running::start(Dialer::default(), Config { connect_timeout: Duration::from_millis(300), ..Config::default() });
    dialer.handle.post(echo.addr).unwrap();
    dialer.handle.post(refused).unwrap();
    dialer.handle.post(blackhole).unwrap();
    thread::sleep(Duration::from_millis(1500));
    let d = dialer.stop();
    drop(fillers);
    assert!(d.outcomes.contains(&Ok(())), "{:?}", d.outcomes);
    assert!(d.outcomes.contains(&Err(std::io::ErrorKind::ConnectionRefused)), "{:?}", d.outcomes);
    assert!(d.outcomes.contains(&Err(std::io::ErrorKind::TimedOut)), "{:?}", d.outcomes);
    assert_eq!(d.echoed, b"hello from a dialer");
}

fn connect_quickly(addr: SocketAddr) -> Option<TcpStream> {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()
}

#[test]
fn shutdown_flushes_pending_output_before_closing() {
    let server = Running::start(Echo::default(), Config::default());
    let mut s = server.connect();
    let payload = vec![b'z'; 2 * 1024 * 1024];
    s.write_all(&payload).unwrap();
    // Let the server read and queue (most of) it, then ask it to stop while output is pending.
    thread::sleep(Duration::from_millis(200));
    server.handle.shutdown().unwrap();
    let mut back = Vec::new();
    s.read_to_end(&mut back).unwrap();
    assert!(!back.is_empty() && back.iter().all(|&b| b == b'z'));
    drop(server);
}

#[test]
fn a_slow_reader_gets_everything_once_backpressure_releases() {
    // Small watermarks so the connection pauses and resumes many times, draining through several partial writes
    // between the marks each time.
    let config = Config {
        high_watermark_bytes: 64 * 1024,
        low_watermark_bytes: 16 * 1024,
        write_budget_bytes: 8 * 1024,
        ..Config::default()
    };
    let server = Running::start(Echo::default(), config);
    let mut s = server.connect();
    let mut writer = s.try_clone().unwrap();
    let total = 8 * 1024 * 1024;
    let w = thread::spawn(move || {
        let chunk = vec![b'q'; 256 * 1024];
        for _ in 0..total / chunk.len() {
            writer.write_all(&chunk).unwrap();
        }
    });
    let mut got = 0;
    let mut buf = vec![0u8; 32 * 1024];
    while got < total {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "server closed early after {got} bytes");
        got += n;
        if got % (1024 * 1024) < n {
            thread::sleep(Duration::from_millis(20));
        }
    }
    w.join().unwrap();
    assert_eq!(got, total);
}
