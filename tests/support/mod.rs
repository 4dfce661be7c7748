//! Shared test helper: run one of the `examples/` servers as a child process.
//!
//! Flow: `spawn_example("02_mio_echo")` starts the already-built example binary
//! with the argument `127.0.0.1:0`, reads its first stdout line
//! (`listening on <addr>`, the convention every example follows) to learn the
//! real port, and hands back an [`Example`]. Dropping the `Example` kills the
//! child, so a failing test never leaks a server. The child's stderr is kept and
//! printed only if the test panics, so server logs show up exactly when needed.
//!
//! Locating the binary: `cargo test` builds every example into
//! `target/<profile>/examples/`, and a test binary runs from
//! `target/<profile>/deps/`, so the example is `<dir of current_exe>/../examples/<name>`.
//! Only a plain `cargo test` builds examples: `cargo test --test examples` does not, and would
//! silently run an old binary. So `spawn_example` refuses a binary older than its sources
//! (`examples/<name>.rs` or `examples/<name>/`, and `src/`) and says what to run instead.
#![allow(dead_code)] // Each test crate that includes this module uses a different part.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime};

/// How long a server may take to print its `listening on` line. Generous,
/// because the machine may be busy building; a server that never starts fails
/// the test instead of hanging it.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Keep at most this much of the child's stderr (the tail), 64 KiB, so a chatty
/// server cannot grow test memory without bound.
const STDERR_KEEP_BYTES: usize = 64 * 1024;

/// A running example server. Killed (and reaped) on drop.
pub struct Example {
    name: String,
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Joined on drop, after the child is reaped, so the kept stderr is complete.
    stderr_reader: Option<thread::JoinHandle<()>>,
}

/// Where `cargo test` put the binary of example `name`.
pub fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("test binary has a directory");
    deps.join("..").join("examples").join(name)
}

/// The newest modification time of `path`, or of any file under it if it is a
/// directory. `None` if it does not exist.
fn newest_mtime(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path).ok()?.filter_map(|entry| newest_mtime(&entry.ok()?.path())).max()
}

/// Panic unless the example binary exists and is newer than every source it is
/// built from (see the module doc for why this matters).
fn assert_fresh(name: &str, binary: &Path) {
    let hint = "run a plain `cargo test` (it builds the examples), \
                or `cargo build --examples` before `cargo test --test ...`";
    let built = newest_mtime(binary).unwrap_or_else(|| panic!("{}: example not built; {hint}", binary.display()));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources =
        [root.join("examples").join(format!("{name}.rs")), root.join("examples").join(name), root.join("src")];
    if let Some(newest) = sources.iter().filter_map(|p| newest_mtime(p)).max() {
        assert!(newest <= built, "{}: older than its sources; {hint}", binary.display());
    }
}

/// Start example `name` on `127.0.0.1:0` and wait for its `listening on` line.
/// Panics (failing the test) if the binary is missing or stale, exits, or stays
/// silent for [`STARTUP_TIMEOUT`].
pub fn spawn_example(name: &str) -> Example {
    let path = example_path(name);
    assert_fresh(name, &path);
    let mut child = Command::new(&path)
        .arg("127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));

    // Read the first line on a thread so a silent child cannot hang the test.
    // The thread then keeps draining stdout, so the child never gets EPIPE.
    let stdout = child.stdout.take().expect("stdout is piped");
    let (line_tx, line_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = line_tx.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });

    let stderr = Arc::new(Mutex::new(Vec::new()));
    let mut child_stderr = child.stderr.take().expect("stderr is piped");
    let kept = Arc::clone(&stderr);
    let stderr_reader = thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = child_stderr.read(&mut chunk) {
            let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
            kept.extend_from_slice(&chunk[..n]);
            if kept.len() > STDERR_KEEP_BYTES {
                let excess = kept.len() - STDERR_KEEP_BYTES;
                kept.drain(..excess);
            }
        }
    });

    // Build the guard before waiting, so a failed start still kills the child.
    let mut example = Example {
        name: name.to_string(),
        child,
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        stderr,
        stderr_reader: Some(stderr_reader),
    };
    let line = line_rx
        .recv_timeout(STARTUP_TIMEOUT)
        .unwrap_or_else(|_| panic!("{name}: no `listening on` line within {STARTUP_TIMEOUT:?}"));
    let addr = line
        .trim_end()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{name}: first stdout line was {line:?}, want `listening on <addr>`"));
    example.addr = addr;
    example
}

impl Example {
    /// The address the server really bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Panic if the server has exited: call at the end of a test to prove the
    /// server survived whatever the test did to it.
    pub fn assert_running(&mut self) {
        match self.child.try_wait() {
            Ok(None) => {}
            Ok(Some(status)) => panic!("{} exited early: {status}", self.name),
            Err(e) => panic!("{}: cannot query child status: {e}", self.name),
        }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        if thread::panicking() {
            let kept = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
            if !kept.is_empty() {
                eprintln!("--- stderr of {} ---\n{}", self.name, String::from_utf8_lossy(&kept));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// KV server helpers, for `tests/kv.rs` and `tests/kv_tools.rs`.
//
// Every test talks to a [`TestServer`] through [`TestServer::raw`] (exact bytes), [`TestServer::redis`] (the
// `redis` crate) or its port (external tools). How the server is run is decided in one place, [`start_server`],
// from the [`IoModel`] under test, so the same suite can later run against a second I/O model by adding a variant
// there and nothing in the tests.
// ---------------------------------------------------------------------------------------------------------------

use std::io::{self, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::ops::{Deref, DerefMut};
use std::time::Instant;

/// Upper bound on one blocking read or write against a KV server. A correct server answers in microseconds; this
/// only turns a hang into a failure on a busy 2-core machine.
pub const KV_IO_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an external tool (`redis-cli`, `redis-benchmark`, Python) may run before it is killed and the test
/// fails.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// Bytes asked of the kernel per read while waiting for a reply.
const RAW_READ_CHUNK_BYTES: usize = 64 * 1024;

/// The I/O model serving the KV engine in the tests.
///
/// Chosen by env `PLEXUS_TEST_IO` (`reactor` or `threads`); without it, by the test binary: the suites in
/// `tests/suites/` are compiled twice, as `tests/kv*.rs` (reactor) and as `tests/threads.rs` (thread per
/// connection), so one `cargo test` runs every suite against both models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoModel {
    /// The epoll reactor (`src/reactor/`), the default.
    Reactor,
    /// Thread per connection with blocking sockets (`--io threads`), the baseline.
    Threads,
}

impl IoModel {
    /// The model named by `PLEXUS_TEST_IO`, or the reactor. An unknown name fails loudly rather than quietly
    /// testing the wrong thing.
    pub fn from_env() -> IoModel {
        match std::env::var("PLEXUS_TEST_IO").as_deref() {
            Ok("reactor") => IoModel::Reactor,
            Ok("threads") => IoModel::Threads,
            Err(_) | Ok("") => {
                let exe = std::env::current_exe().unwrap_or_default();
                let name = exe.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                if name.starts_with("threads-") {
                    IoModel::Threads
                } else {
                    IoModel::Reactor
                }
            }
            Ok(other) => panic!("PLEXUS_TEST_IO={other:?}: unknown I/O model (known: reactor, threads)"),
        }
    }
}

/// A KV server running in this process on 127.0.0.1 with a free port. Stopped on drop.
pub struct TestServer {
    server: Option<plexus::app::Server>,
    addr: SocketAddr,
    io: IoModel,
}

/// Starts a server with `opts` (its `bind` and `port` are replaced: 127.0.0.1, a free port) under the I/O model
/// being tested.
pub fn start_server(opts: plexus::app::ServerOptions) -> TestServer {
    start_server_with_clock(opts, Arc::new(plexus::kv::clock::SystemClock))
}

/// [`start_server`] with an injected clock (a [`plexus::kv::clock::ManualClock`] for expiry tests).
pub fn start_server_with_clock(
    opts: plexus::app::ServerOptions,
    clock: Arc<dyn plexus::kv::clock::Clock>,
) -> TestServer {
    let io = IoModel::from_env();
    let server = match io {
        IoModel::Reactor => plexus::app::Server::start_with_clock(opts, clock),
        IoModel::Threads => plexus::app::Server::start_threads_with_clock(opts, clock),
    }
    .unwrap_or_else(|e| panic!("cannot start the KV server ({io:?}): {e}"));
    TestServer { addr: server.addr, server: Some(server), io }
}

/// Server options with a password.
pub fn opts_with_password(password: &str) -> plexus::app::ServerOptions {
    plexus::app::ServerOptions::default().with("requirepass", password)
}

impl TestServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn io_model(&self) -> IoModel {
        self.io
    }

    /// A new raw connection, with read and write timeouts and `TCP_NODELAY`.
    pub fn raw(&self) -> RawConn {
        RawConn::connect(self.addr)
    }

    /// A new `redis` crate connection speaking RESP2, without a password.
    pub fn redis(&self) -> redis::Connection {
        self.redis_with(None, false)
    }

    /// A new `redis` crate connection: `password` for the default user, `resp3` to open with `HELLO 3`.
    pub fn redis_with(&self, password: Option<&str>, resp3: bool) -> redis::Connection {
        redis_connect(&redis_url(self.addr, password, resp3))
            .unwrap_or_else(|e| panic!("redis crate cannot connect to {}: {e}", self.addr))
    }

    /// Stops the server and waits for its thread, failing the test if it ended with an error.
    pub fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().unwrap_or_else(|e| panic!("server stopped with an error: {e}"));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.stop();
        }
    }
}

/// A `redis://` URL for a server at `addr`.
pub fn redis_url(addr: SocketAddr, password: Option<&str>, resp3: bool) -> String {
    let auth = password.map(|p| format!(":{p}@")).unwrap_or_default();
    let query = if resp3 { "?protocol=resp3" } else { "" };
    format!("redis://{auth}{addr}/{query}")
}

/// Opens a `redis` crate connection with [`KV_IO_TIMEOUT`] on connect, reads and writes.
pub fn redis_connect(url: &str) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(url)?;
    let con = client.get_connection_with_timeout(KV_IO_TIMEOUT)?;
    con.set_read_timeout(Some(KV_IO_TIMEOUT))?;
    con.set_write_timeout(Some(KV_IO_TIMEOUT))?;
    Ok(con)
}

/// Encodes a command as a RESP multibulk request.
pub fn cmd(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// [`cmd`] for text arguments split on spaces: `cmdline("CLIENT SETNAME app")`.
pub fn cmdline(line: &str) -> Vec<u8> {
    let args: Vec<&[u8]> = line.split(' ').filter(|a| !a.is_empty()).map(str::as_bytes).collect();
    cmd(&args)
}

/// RESP bytes shown with `\r`, `\n` and non-printable bytes escaped, shortened past 2 KiB, for failure messages.
pub fn show(bytes: &[u8]) -> String {
    const SHOW_MAX_BYTES: usize = 2048;
    let mut text: String =
        bytes.iter().take(SHOW_MAX_BYTES).flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect();
    if bytes.len() > SHOW_MAX_BYTES {
        text.push_str(&format!("... ({} bytes in all)", bytes.len()));
    }
    text
}

/// A raw client connection for exact-byte tests: what was sent and what must come back, byte for byte. Bytes read
/// past one expectation are kept for the next, so pipelined replies can be checked one at a time. Derefs to the
/// `TcpStream` for anything else (`shutdown`, `try_clone`, `local_addr`).
pub struct RawConn {
    stream: TcpStream,
    /// Received and not yet consumed by an `expect`/`read_*`.
    pending: Vec<u8>,
}

impl RawConn {
    /// Connects with [`KV_IO_TIMEOUT`] on reads and writes, and `TCP_NODELAY` so single-byte writes leave at once.
    pub fn connect(addr: SocketAddr) -> RawConn {
        let stream = TcpStream::connect_timeout(&addr, KV_IO_TIMEOUT)
            .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
        stream.set_read_timeout(Some(KV_IO_TIMEOUT)).expect("set_read_timeout");
        stream.set_write_timeout(Some(KV_IO_TIMEOUT)).expect("set_write_timeout");
        stream.set_nodelay(true).expect("set_nodelay");
        RawConn { stream, pending: Vec::new() }
    }

    /// Writes all of `bytes`.
    #[track_caller]
    pub fn send(&mut self, bytes: &[u8]) {
        if let Err(e) = self.stream.write_all(bytes) {
            panic!("write of {} bytes failed: {e}", bytes.len());
        }
    }

    /// Reads exactly `want.len()` bytes and asserts they are `want`. On a mismatch, timeout or early EOF, shows
    /// both sides.
    #[track_caller]
    pub fn expect(&mut self, want: &[u8]) {
        let got = match self.try_read_n(want.len()) {
            Ok(got) => got,
            Err((e, got)) => {
                panic!("{e} after {} of {} bytes\n want: {}\n  got: {}", got.len(), want.len(), show(want), show(&got))
            }
        };
        if got != want {
            let at = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(0);
            panic!("reply differs at byte {at}\n want: {}\n  got: {}", show(want), show(&got));
        }
    }

    /// Sends `request` and expects exactly `reply`.
    #[track_caller]
    pub fn call(&mut self, request: &[u8], reply: &[u8]) {
        self.send(request);
        self.expect(reply);
    }

    /// Reads exactly `n` bytes.
    #[track_caller]
    pub fn read_n(&mut self, n: usize) -> Vec<u8> {
        match self.try_read_n(n) {
            Ok(got) => got,
            Err((e, got)) => panic!("{e} after {} of {n} bytes; got: {}", got.len(), show(&got)),
        }
    }

    /// Reads exactly `n` bytes, or returns the error with what did arrive.
    fn try_read_n(&mut self, n: usize) -> Result<Vec<u8>, (String, Vec<u8>)> {
        while self.pending.len() < n {
            match self.fill() {
                Ok(0) => return Err(("connection closed".into(), std::mem::take(&mut self.pending))),
                Ok(_) => {}
                Err(e) => return Err((format!("read failed ({e})"), std::mem::take(&mut self.pending))),
            }
        }
        let rest = self.pending.split_off(n);
        Ok(std::mem::replace(&mut self.pending, rest))
    }

    /// Reads one more chunk into `pending`; `Ok(0)` at EOF.
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = vec![0u8; RAW_READ_CHUNK_BYTES];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.pending.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads through the next `\r\n` (included).
    #[track_caller]
    fn read_line(&mut self) -> Vec<u8> {
        loop {
            if let Some(i) = self.pending.windows(2).position(|w| w == b"\r\n") {
                let rest = self.pending.split_off(i + 2);
                return std::mem::replace(&mut self.pending, rest);
            }
            match self.fill() {
                Ok(0) => panic!("connection closed inside a reply line; got: {}", show(&self.pending)),
                Ok(_) => {}
                Err(e) => panic!("read failed inside a reply line ({e}); got: {}", show(&self.pending)),
            }
        }
    }

    /// Reads one complete RESP2 or RESP3 reply and returns its raw bytes.
    #[track_caller]
    /// Everything the server sends until it closes: bytes already buffered here first, then the socket to EOF (a
    /// reset counts as the end).
    pub fn read_until_close(&mut self) -> Vec<u8> {
        use std::io::Read;
        let mut out = std::mem::take(&mut self.pending);
        match self.stream.read_to_end(&mut out) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("reading to the close failed: {e}"),
        }
        out
    }

    pub fn read_frame(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_frame_into(&mut out);
        out
    }

    #[track_caller]
    fn read_frame_into(&mut self, out: &mut Vec<u8>) {
        let line = self.read_line();
        out.extend_from_slice(&line);
        let header = &line[1..line.len() - 2];
        let count = || -> i64 {
            std::str::from_utf8(header)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("bad length in reply header {}", show(&line)))
        };
        match line[0] {
            // Blob types: a length, then that many bytes and CRLF.
            b'$' | b'=' | b'!' => {
                let len = count();
                if len >= 0 {
                    out.extend(self.read_n(len as usize + 2));
                }
            }
            // Aggregates of n elements.
            b'*' | b'~' | b'>' => {
                for _ in 0..count().max(0) {
                    self.read_frame_into(out);
                }
            }
            // Maps of n pairs.
            b'%' => {
                for _ in 0..count().max(0) * 2 {
                    self.read_frame_into(out);
                }
            }
            // An attribute map precedes the reply it annotates.
            b'|' => {
                for _ in 0..count().max(0) * 2 {
                    self.read_frame_into(out);
                }
                self.read_frame_into(out);
            }
            b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => {}
            other => panic!("unknown RESP type byte {:?} in {}", other as char, show(&line)),
        }
    }

    /// Asserts the server closed the connection: a read returns EOF (or a reset, which is how a close with unread
    /// input arrives) and no further bytes came first.
    #[track_caller]
    pub fn expect_eof(&mut self) {
        assert!(self.pending.is_empty(), "expected EOF, but these bytes are still unread: {}", show(&self.pending));
        match self.fill() {
            Ok(0) => {}
            Ok(_) => panic!("expected EOF, got more bytes: {}", show(&self.pending)),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("expected EOF, read failed: {e}"),
        }
    }
}

impl Deref for RawConn {
    type Target = TcpStream;
    fn deref(&self) -> &TcpStream {
        &self.stream
    }
}

impl DerefMut for RawConn {
    fn deref_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}

/// This process's resident set size in bytes (`VmRSS` of `/proc/self/status`).
pub fn vm_rss_bytes() -> u64 {
    proc_status_kib("/proc/self/status", "VmRSS:") * 1024
}

/// A `kB` field of a `/proc/<pid>/status` file.
pub fn proc_status_kib(path: &str, field: &str) -> u64 {
    let status = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{path} has no {field} line"))
}

/// A port below 32768 that was free a moment ago. Linux hands out ephemeral ports from 32768 up
/// (`ip_local_port_range`), so a port below that cannot be taken by some outgoing connection between this check and
/// the child binding it; another test picking the same port still can, so callers retry on a bind failure.
pub fn free_low_port() -> u16 {
    use std::sync::atomic::{AtomicU64, Ordering};
    const LOW_PORT_FIRST: u64 = 20_000;
    const LOW_PORT_SPAN: u64 = 12_000;
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos() as u64);
    // Never zero, which xorshift would keep forever.
    let mut seed = (nanos ^ (u64::from(std::process::id()) << 20) ^ (CALLS.fetch_add(1, Ordering::Relaxed) * 7919)) | 1;
    for _ in 0..1000 {
        // A xorshift step: spreads parallel tests over the range without a rand dependency.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let port = (LOW_PORT_FIRST + seed % LOW_PORT_SPAN) as u16;
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below 32768 after 1000 tries");
}

/// Waits up to `timeout` for a child to exit, polling; `None` if it is still running.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    const POLL: Duration = Duration::from_millis(10);
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(POLL);
    }
}

/// Collects a child's stderr on a thread, keeping the last [`STDERR_KEEP_BYTES`], and reports each complete line
/// on the returned channel (for readiness lines).
fn collect_stderr(child: &mut Child) -> (Arc<Mutex<Vec<u8>>>, mpsc::Receiver<String>, thread::JoinHandle<()>) {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr is piped");
    let sink = Arc::clone(&kept);
    let reader = thread::spawn(move || {
        for line in BufReader::new(stderr).split(b'\n') {
            let Ok(line) = line else { break };
            let mut kept = sink.lock().unwrap_or_else(|p| p.into_inner());
            kept.extend_from_slice(&line);
            kept.push(b'\n');
            if kept.len() > STDERR_KEEP_BYTES {
                let excess = kept.len() - STDERR_KEEP_BYTES;
                kept.drain(..excess);
            }
            let _ = tx.send(String::from_utf8_lossy(&line).into_owned());
        }
    });
    (kept, rx, reader)
}

/// The `plexus server` flags that select `io`.
fn io_model_args(io: IoModel) -> &'static [&'static str] {
    match io {
        IoModel::Reactor => &[],
        IoModel::Threads => &["--io", "threads"],
    }
}

/// The `plexus` binary (`plexus server ...`) running as a child on 127.0.0.1. Killed and reaped on drop; its stderr
/// is printed if the test failed.
pub struct PlexusProcess {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_reader: Option<thread::JoinHandle<()>>,
}

/// Runs `plexus server --port <free port> <args>` with `env` (and no other `PLEXUS_*` variable from the test's
/// environment) and waits for its `ready to accept connections` log line. Retries on another port if the first
/// one was taken meanwhile.
pub fn spawn_plexus(args: &[&str], env: &[(&str, &str)]) -> PlexusProcess {
    const ATTEMPTS: usize = 5;
    let mut last_stderr = String::new();
    for _ in 0..ATTEMPTS {
        let port = free_low_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_plexus"));
        command.arg("server").arg("--port").arg(port.to_string()).args(io_model_args(IoModel::from_env())).args(args);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PLEXUS_") {
                command.env_remove(&key);
            }
        }
        command.envs(env.iter().copied()).env("NO_COLOR", "1");
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", env!("CARGO_BIN_EXE_plexus")));
        let (stderr, lines, reader) = collect_stderr(&mut child);
        let mut process = PlexusProcess { child, port, stderr, stderr_reader: Some(reader) };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.contains("ready to accept connections") => return process,
                Ok(_) => continue,
                // stderr closed: the child exited (most likely the port was taken); try another port.
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("plexus: not ready within {STARTUP_TIMEOUT:?}; stderr:\n{}", process.stderr_text())
                }
            }
        }
        let status = wait_timeout(&mut process.child, STARTUP_TIMEOUT);
        last_stderr = process.stderr_text();
        if !last_stderr.contains("in use") {
            panic!("plexus exited before it was ready ({status:?}); stderr:\n{last_stderr}");
        }
    }
    panic!("plexus could not bind a port in {ATTEMPTS} attempts; last stderr:\n{last_stderr}");
}

impl PlexusProcess {
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A new raw connection to the child.
    pub fn raw(&self) -> RawConn {
        RawConn::connect(self.addr())
    }

    /// Sends a signal to the child.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) has no memory-safety preconditions. The child has not been reaped (we hold its `Child`
        // and only reap on drop or in `wait_exit`), so the pid still names our child and not a recycled process.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed: {}", io::Error::last_os_error());
    }

    /// Waits for the child to exit on its own, failing the test after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        wait_timeout(&mut self.child, timeout)
            .unwrap_or_else(|| panic!("plexus still running after {timeout:?}; stderr:\n{}", self.stderr_text()))
    }

    /// What the child wrote to stderr so far (the last 64 KiB).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Drop for PlexusProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        if thread::panicking() {
            eprintln!("--- stderr of plexus ---\n{}", self.stderr_text());
        }
    }
}

/// Whether env `PLEXUS_REQUIRE_REDIS_TOOLS=1` asks that missing Redis tools fail tests instead of skipping them
/// (`.ci/run` sets it).
pub fn redis_tools_required() -> bool {
    std::env::var("PLEXUS_REQUIRE_REDIS_TOOLS").is_ok_and(|v| v == "1")
}

/// Skips the calling test (prints `SKIPPED: <what>` to stderr and returns) unless tools are required, in which
/// case it fails.
#[track_caller]
pub fn skip_or_fail(what: &str) {
    if redis_tools_required() {
        panic!("{what}, and PLEXUS_REQUIRE_REDIS_TOOLS=1");
    }
    eprintln!("SKIPPED: {what}");
}

/// The path of executable `name` on `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// A Redis tool (`redis-cli`, `redis-benchmark`, `redis-server`) from `PATH`. If it is missing the test should
/// return at once: this prints `SKIPPED: <name> not installed`, or panics when `PLEXUS_REQUIRE_REDIS_TOOLS=1`.
#[track_caller]
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = find_on_path(name);
    if found.is_none() {
        skip_or_fail(&format!("{name} not installed"));
    }
    found
}

/// What a finished tool run produced.
#[derive(Debug)]
pub struct ToolOutput {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ToolOutput {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Kills and reaps a child on drop, so a test that fails mid-run leaves no process behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `command` to completion with `stdin` as its input, capturing stdout and stderr, and fails the test if it
/// takes longer than `timeout` (the child is killed).
pub fn run_with_timeout(mut command: Command, stdin: &[u8], timeout: Duration) -> ToolOutput {
    let mut child = KillOnDrop(
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}")),
    );
    let mut input = child.0.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_vec();
    // Feeding stdin and draining both outputs on threads keeps a chatty child from blocking on a full pipe.
    let writer = thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let drain = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut out = Vec::new();
            let _ = r.read_to_end(&mut out);
            out
        })
    };
    let out = drain(Box::new(child.0.stdout.take().expect("stdout is piped")));
    let err = drain(Box::new(child.0.stderr.take().expect("stderr is piped")));
    let Some(status) = wait_timeout(&mut child.0, timeout) else {
        let _ = child.0.kill();
        let _ = child.0.wait();
        let stdout = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        panic!(
            "{command:?} still running after {timeout:?}; killed\n--- stdout ---\n{}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
    };
    let _ = writer.join();
    ToolOutput { status, stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default() }
}
