//! Proves plexus works with the real Redis tools and clients: `redis-cli` (one-shot, stdin, `--pipe`),
//! `redis-benchmark`, redis-py (`tests/redis_py_smoke.py`), and `redis-server` itself as the reference, comparing
//! replies byte for byte.
//!
//! A missing tool prints `SKIPPED: <name> not installed` and the test returns, unless `PLEXUS_REQUIRE_REDIS_TOOLS=1`
//! (set by `.ci/run`) turns that into a failure. Every tool runs with a time limit and is killed on failure; servers
//! run in-process through `support::start_server` (so a second I/O model runs the same tests), or as the `plexus`
//! binary where the flags matter.

mod support;

use std::net::Shutdown;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use plexus::app::ServerOptions;
use plexus::kv::connection::REDIS_VERSION;
use support::{
    cmd, find_on_path, free_low_port, opts_with_password, run_with_timeout, show, skip_or_fail, spawn_plexus,
    start_server, tool, RawConn, TestServer, ToolOutput, TOOL_TIMEOUT,
};

fn server() -> TestServer {
    start_server(ServerOptions::default())
}

/// Runs `redis-cli -h 127.0.0.1 -p <port> <args>` with `stdin`.
fn redis_cli(cli: &Path, port: u16, args: &[&str], stdin: &[u8]) -> ToolOutput {
    let mut command = Command::new(cli);
    command.args(["-h", "127.0.0.1", "-p", &port.to_string()]).args(args);
    run_with_timeout(command, stdin, TOOL_TIMEOUT)
}

/// Asserts a tool exited with success, showing its output if not.
fn assert_success(what: &str, out: &ToolOutput) {
    assert!(
        out.status.success(),
        "{what} exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        out.stdout_text(),
        out.stderr_text()
    );
}

// ----------------------------------------------------------------------------------------------------------------
// redis-cli
// ----------------------------------------------------------------------------------------------------------------

#[test]
fn redis_cli_one_shot_commands() {
    let Some(cli) = tool("redis-cli") else { return };
    let s = server();
    let cases: &[(&[&str], &str)] = &[
        (&["ping"], "PONG\n"),
        (&["PING", "hello world"], "hello world\n"),
        (&["echo", "hello"], "hello\n"),
        (&["client", "setname", "cli"], "OK\n"),
        (&["client", "getname"], "\n"),
        (&["select", "99"], "ERR DB index is out of range\n\n"),
        (&["nosuch", "a"], "ERR unknown command 'nosuch', with args beginning with: 'a' \n\n"),
    ];
    for (args, want) in cases {
        let out = redis_cli(&cli, s.port(), args, b"");
        assert_success(&format!("redis-cli {args:?}"), &out);
        assert_eq!(out.stdout_text(), *want, "redis-cli {args:?}; stderr: {}", out.stderr_text());
    }
    // `-3` opens with HELLO 3 and prints the map reply as key-value lines.
    let out = redis_cli(&cli, s.port(), &["-3", "hello", "3"], b"");
    assert_success("redis-cli -3 hello 3", &out);
    let want = format!("server redis\nversion {REDIS_VERSION}\nproto 3\n");
    assert!(out.stdout_text().starts_with(&want), "redis-cli -3 hello 3 printed:\n{}", out.stdout_text());
}

#[test]
fn redis_cli_reads_commands_from_stdin() {
    let Some(cli) = tool("redis-cli") else { return };
    let s = server();
    let out = redis_cli(&cli, s.port(), &[], b"PING\nECHO \"two words\"\nCLIENT SETNAME piped\nCLIENT GETNAME\n");
    assert_success("redis-cli < commands", &out);
    assert_eq!(out.stdout_text(), "PONG\ntwo words\nOK\npiped\n");
}

#[test]
fn redis_cli_with_a_password_against_the_binary() {
    let Some(cli) = tool("redis-cli") else { return };
    let p = spawn_plexus(&["--requirepass", "clipass"], &[]);
    let out = redis_cli(&cli, p.port(), &["-a", "clipass", "--no-auth-warning", "ping"], b"");
    assert_success("redis-cli -a", &out);
    assert_eq!(out.stdout_text(), "PONG\n");
    let out = redis_cli(&cli, p.port(), &["ping"], b"");
    assert_eq!(out.stdout_text(), "NOAUTH Authentication required.\n\n", "stderr: {}", out.stderr_text());
    let out = redis_cli(&cli, p.port(), &["-a", "wrong", "--no-auth-warning", "ping"], b"");
    assert!(
        (out.stdout_text() + &out.stderr_text()).contains("WRONGPASS"),
        "stdout: {}\nstderr: {}",
        out.stdout_text(),
        out.stderr_text()
    );
}

/// Keys written by the mass insertion test.
const MASS_INSERT_KEYS: usize = 100_000;

#[test]
fn redis_cli_pipe_mass_insertion() {
    let Some(cli) = tool("redis-cli") else { return };
    let s = server();
    let mut input = Vec::with_capacity(MASS_INSERT_KEYS * 48);
    for i in 0..MASS_INSERT_KEYS {
        input.extend(cmd(&[b"SET", format!("key:{i}").as_bytes(), format!("value:{i}").as_bytes()]));
    }
    let out = redis_cli(&cli, s.port(), &["--pipe"], &input);
    assert_success("redis-cli --pipe", &out);
    let summary = format!("errors: 0, replies: {MASS_INSERT_KEYS}");
    assert!(out.stdout_text().contains(&summary), "want {summary:?} in:\n{}", out.stdout_text());
    let mut con = s.redis();
    for i in [0, 1, MASS_INSERT_KEYS / 2, MASS_INSERT_KEYS - 1] {
        let value: Vec<u8> = redis::cmd("GET").arg(format!("key:{i}")).query(&mut con).unwrap();
        assert_eq!(value, format!("value:{i}").into_bytes());
    }
}

// ----------------------------------------------------------------------------------------------------------------
// redis-benchmark
// ----------------------------------------------------------------------------------------------------------------

/// Runs redis-benchmark against a fresh server with `args` and checks it finished with every named test and no error.
fn redis_benchmark(args: &[&str], expected_tests: &[&str]) {
    let Some(bench) = tool("redis-benchmark") else { return };
    let s = server();
    let mut command = Command::new(bench);
    command.args(["-h", "127.0.0.1", "-p", &s.port().to_string()]).args(args);
    let out = run_with_timeout(command, b"", TOOL_TIMEOUT);
    assert_success("redis-benchmark", &out);
    let all = out.stdout_text() + &out.stderr_text();
    assert!(!all.contains("ERR") && !all.contains("Error"), "redis-benchmark reported errors:\n{all}");
    for test in expected_tests {
        assert!(out.stdout_text().contains(test), "no {test} line in:\n{}", out.stdout_text());
    }
}

#[test]
fn redis_benchmark_runs_without_errors() {
    redis_benchmark(&["-t", "set,get,incr,mset", "-n", "20000", "-q"], &["SET:", "GET:", "INCR:", "MSET"]);
}

#[test]
fn redis_benchmark_default_suite_runs_without_errors() {
    // Every test redis-benchmark runs by default: strings, lists, sets, hashes, sorted sets, LRANGE, MSET.
    let every_default_test = [
        "PING_INLINE:",
        "PING_MBULK:",
        "SET:",
        "GET:",
        "INCR:",
        "LPUSH:",
        "RPUSH:",
        "LPOP:",
        "RPOP:",
        "SADD:",
        "HSET:",
        "SPOP:",
        "ZADD:",
        "ZPOPMIN:",
        "LRANGE_100",
        "LRANGE_300",
        "LRANGE_500",
        "LRANGE_600",
        "MSET",
    ];
    redis_benchmark(&["-n", "10000", "-q"], &every_default_test);
}

// ----------------------------------------------------------------------------------------------------------------
// COMMAND DOCS (what redis-cli's interactive hints are built from)
// ----------------------------------------------------------------------------------------------------------------

#[test]
fn command_docs_is_a_map_once_it_exists() {
    let s = server();
    let mut c = s.raw();
    c.send(&cmd(&[b"HELLO", b"3"]));
    c.read_frame();
    c.send(&cmd(&[b"COMMAND", b"DOCS", b"ping"]));
    let reply = c.read_frame();
    if reply.starts_with(b"-ERR unknown command") || reply.starts_with(b"-ERR unknown subcommand") {
        eprintln!("SKIPPED: COMMAND DOCS is not implemented yet ({})", show(&reply));
        return;
    }
    assert!(reply.starts_with(b"%1\r\n$4\r\nping\r\n%"), "COMMAND DOCS ping: {}", show(&reply));
    assert!(reply.windows(9).any(|w| w == b"\r\nsummary"), "no summary in {}", show(&reply));
    // The whole table, as redis-cli fetches it at start-up.
    c.send(&cmd(&[b"COMMAND", b"DOCS"]));
    let reply = c.read_frame();
    assert!(reply.starts_with(b"%"), "COMMAND DOCS: {}", show(&reply[..reply.len().min(200)]));
}

// ----------------------------------------------------------------------------------------------------------------
// redis-py
// ----------------------------------------------------------------------------------------------------------------

/// A Python interpreter that can `import redis`: env `PLEXUS_PYTHON` (set by `.ci/run`), else `python3` if redis-py
/// is installed for it. `None` (after printing why) if there is none.
fn python_with_redis() -> Option<PathBuf> {
    if let Some(python) = std::env::var_os("PLEXUS_PYTHON").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(python));
    }
    let Some(python) = find_on_path("python3") else {
        skip_or_fail("python3 not installed");
        return None;
    };
    let mut probe = Command::new(&python);
    probe.args(["-c", "import redis"]);
    if !run_with_timeout(probe, b"", TOOL_TIMEOUT).status.success() {
        skip_or_fail("redis-py not installed for python3 (set PLEXUS_PYTHON to an interpreter that has it)");
        return None;
    }
    Some(python)
}

#[test]
fn redis_py_smoke() {
    let Some(python) = python_with_redis() else { return };
    let s = server();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("redis_py_smoke.py");
    let mut command = Command::new(&python);
    command.arg(&script).arg("127.0.0.1").arg(s.port().to_string());
    let out = run_with_timeout(command, b"", TOOL_TIMEOUT);
    assert_success(&format!("{} {}", python.display(), script.display()), &out);
    assert!(out.stdout_text().contains("redis-py smoke: ok"), "stdout:\n{}", out.stdout_text());
    // Say what was skipped inside the script, so a green run does not hide it.
    for line in out.stdout_text().lines().filter(|l| l.contains("SKIPPED")) {
        eprintln!("redis_py_smoke: {line}");
    }
}

// ----------------------------------------------------------------------------------------------------------------
// Byte-for-byte comparison with redis-server
// ----------------------------------------------------------------------------------------------------------------

/// How long redis-server may take to answer its first PING.
const REDIS_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// A real `redis-server` on 127.0.0.1, persistence off, in its own temporary directory. Killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    fn start(binary: &Path, extra: &[&str]) -> RedisServer {
        const ATTEMPTS: usize = 5;
        for _ in 0..ATTEMPTS {
            let port = free_low_port();
            let dir = std::env::temp_dir().join(format!("plexus-redis-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("create redis-server dir");
            let child = Command::new(binary)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .args(["--daemonize", "no", "--logfile", "", "--dir"])
                .arg(&dir)
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut server = RedisServer { child, port, dir };
            if server.wait_ready() {
                return server;
            }
        }
        panic!("redis-server did not start in {ATTEMPTS} attempts");
    }

    /// Polls until the server accepts a connection; false if it exited (port taken) or never came up.
    fn wait_ready(&mut self) -> bool {
        const POLL: Duration = Duration::from_millis(10);
        let deadline = Instant::now() + REDIS_STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            thread::sleep(POLL);
        }
        false
    }

    fn raw(&self) -> RawConn {
        RawConn::connect(std::net::SocketAddr::from(([127, 0, 0, 1], self.port)))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One exchange on a fresh connection: `input` is sent in one write, `replies` RESP replies are read, and if
/// `closes` the rest of the stream up to the server's close is read too (raw, so malformed bytes still compare).
struct Case {
    input: Vec<u8>,
    replies: usize,
    closes: bool,
}

/// A case of inline commands, one reply each.
fn inline(lines: &[&str]) -> Case {
    Case {
        input: lines.iter().flat_map(|l| format!("{l}\r\n").into_bytes()).collect(),
        replies: lines.len(),
        closes: false,
    }
}

/// A case of multibulk commands, one reply each.
fn multibulk(commands: &[&[&[u8]]]) -> Case {
    Case { input: commands.iter().flat_map(|c| cmd(c)).collect(), replies: commands.len(), closes: false }
}

/// Raw bytes that make the server reply `replies` times and then close.
fn closing(input: &[u8], replies: usize) -> Case {
    Case { input: input.to_vec(), replies, closes: true }
}

/// Client ids differ between servers: `$2\r\nid\r\n:<n>` in a HELLO reply becomes `:<id>`.
fn mask_ids(transcript: &[u8]) -> Vec<u8> {
    const ID_FIELD: &[u8] = b"$2\r\nid\r\n:";
    let mut out = Vec::with_capacity(transcript.len());
    let mut rest = transcript;
    while let Some(at) = rest.windows(ID_FIELD.len()).position(|w| w == ID_FIELD) {
        out.extend_from_slice(&rest[..at + ID_FIELD.len()]);
        out.extend_from_slice(b"<id>");
        rest = &rest[at + ID_FIELD.len()..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        rest = &rest[digits..];
    }
    out.extend_from_slice(rest);
    out
}

/// What a server sends back for `case`, ids masked.
fn transcript(mut c: RawConn, case: &Case) -> Vec<u8> {
    c.send(&case.input);
    let mut out = Vec::new();
    for _ in 0..case.replies {
        out.extend(c.read_frame());
    }
    if case.closes {
        let _ = c.shutdown(Shutdown::Write);
        // Replies can arrive together (plexus answers a whole pipeline at once): include what is already buffered.
        out.extend(c.read_until_close());
        out.extend_from_slice(b"<EOF>");
    }
    mask_ids(&out)
}

/// Runs every case against both servers and fails listing every difference.
fn assert_same_as_redis(plexus: &TestServer, redis: &RedisServer, cases: &[Case]) {
    let mut differences = Vec::new();
    for case in cases {
        let want = transcript(redis.raw(), case);
        let got = transcript(plexus.raw(), case);
        if want != got {
            differences.push(format!(
                "input: {}\n  redis:  {}\n  plexus: {}",
                show(&case.input),
                show(&want),
                show(&got)
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} cases differ:\n{}",
        differences.len(),
        cases.len(),
        differences.join("\n")
    );
}

/// Exchanges whose replies are deterministic and the same in Redis 7.0.15 and plexus (no ids, addresses or
/// timings; nothing from Redis 7.2 such as `CLIENT SETINFO`).
fn common_cases() -> Vec<Case> {
    vec![
        inline(&["PING", "PING hello", "ping \"two words\"", "PING a b"]),
        multibulk(&[&[b"ECHO", b"bin\0\r\nary"], &[b"ECHO"], &[b"echo", b""], &[b"ECHO", b"a", b"b"]]),
        inline(&["SELECT 15", "SELECT 16", "SELECT -1", "SELECT abc", "SELECT 1.5", "SELECT 99999999999999999999"]),
        inline(&["SELECT", "SELECT 0 1"]),
        inline(&["foo", "foo bar baz", "CLIENT", "CLIENT nope", "CLIENT ID x", "client getname x"]),
        multibulk(&[&[b"x\r\ny", b"a\nb"]]),
        inline(&["CLIENT GETNAME", "CLIENT SETNAME app", "CLIENT GETNAME", "CLIENT SETNAME \"a b\"", "CLIENT GETNAME"]),
        inline(&[
            "CLIENT SETNAME \"\"",
            "CLIENT GETNAME",
            "CLIENT SETNAME \"\\x7f\"",
            "CLIENT SETNAME \"caf\\xc3\\xa9\"",
        ]),
        inline(&["CLIENT KILL 1.2.3.4:5", "CLIENT KILL ID 999999", "CLIENT KILL ID 0", "CLIENT KILL ID abc"]),
        inline(&["CLIENT KILL USER bob", "CLIENT KILL SKIPME maybe", "CLIENT KILL ID", "CLIENT KILL ID 1 ADDR"]),
        inline(&["CLIENT KILL ADDR 1.1.1.1:1", "CLIENT KILL LADDR 1.1.1.1:1 SKIPME no", "CLIENT KILL TYPE foo"]),
        inline(&["CLIENT LIST TYPE replica", "CLIENT LIST TYPE master", "CLIENT LIST ID abc", "CLIENT LIST TYPE foo"]),
        inline(&["CLIENT NO-EVICT on", "CLIENT NO-EVICT maybe", "CLIENT NO-EVICT off"]),
        inline(&["HELLO 4", "HELLO 1", "HELLO abc", "HELLO 3 FOO", "HELLO 3 AUTH default", "HELLO 3 SETNAME"]),
        inline(&["HELLO 3 SETNAME \"a b\"", "CLIENT GETNAME"]),
        // RESP3 and back: the nulls change with the protocol.
        inline(&["HELLO 3", "CLIENT GETNAME", "PING", "HELLO", "HELLO 2", "CLIENT GETNAME"]),
        inline(&["HELLO 3 SETNAME resp3", "CLIENT GETNAME", "HELLO 2 AUTH default anything"]),
        inline(&["AUTH x", "AUTH default x", "AUTH nobody x", "AUTH a b c", "AUTH"]),
        inline(&["SELECT 2", "SET k v", "CLIENT SETNAME n", "HELLO 3", "MULTI", "RESET", "EXEC", "GET k"]),
        inline(&["CLIENT GETNAME", "SUBSCRIBE a b", "PSUBSCRIBE p*", "RESET", "PING", "RESET x", "SELECT 2", "DEL k"]),
        inline(&["SSUBSCRIBE a b", "SUBSCRIBE a", "SUNSUBSCRIBE b", "SUNSUBSCRIBE", "SUNSUBSCRIBE", "UNSUBSCRIBE"]),
        inline(&["SPUBLISH a x", "SPUBLISH a", "SSUBSCRIBE", "PUBSUB SHARDCHANNELS", "PUBSUB SHARDNUMSUB a b"]),
        inline(&["COMMAND INFO ssubscribe sunsubscribe spublish reset", "COMMAND DOCS spublish reset"]),
        inline(&[
            "SET f 0.1",
            "INCRBYFLOAT f 0.2",
            "INCRBYFLOAT f 1e-15",
            "INCRBYFLOAT f -3000.5",
            "INCRBYFLOAT f 1e400",
        ]),
        inline(&["INCRBYFLOAT f 1e5000", "INCRBYFLOAT f inf", "HSET h x 1.1", "HINCRBYFLOAT h x 2.2", "DEL f h"]),
        inline(&["HELLO 3", "SSUBSCRIBE s", "SPUBLISH s me", "PUBSUB SHARDCHANNELS", "PUBSUB SHARDNUMSUB s", "RESET"]),
        // Inline parsing: quotes, escapes, blank lines, white space.
        inline(&["ECHO \"\\x41\\n\\t\\\\\"", "ECHO 'it\\'s \\n'", "ECHO \"\\x4g\"", "  ECHO \t spaced  "]),
        Case { input: b"\r\n\n  \r\n*0\r\n*-1\r\n*-10\r\nPING\r\nPING\n".to_vec(), replies: 2, closes: false },
        closing(b"QUIT\r\nPING\r\n", 1),
        closing(&cmd(&[b"QUIT", b"extra", b"args"]), 1),
    ]
}

#[test]
fn replies_match_redis_server_byte_for_byte() {
    let Some(binary) = tool("redis-server") else { return };
    let redis = RedisServer::start(&binary, &[]);
    let plexus = server();
    assert_same_as_redis(&plexus, &redis, &common_cases());
}

#[test]
fn replies_with_a_password_match_redis_server_byte_for_byte() {
    let Some(binary) = tool("redis-server") else { return };
    let redis = RedisServer::start(&binary, &["--requirepass", "s3cret"]);
    let plexus = start_server(opts_with_password("s3cret"));
    let cases = vec![
        inline(&["PING", "ECHO x", "CLIENT ID", "SELECT 1", "CLIENT SETNAME x", "foo", "ECHO"]),
        inline(&["AUTH wrong", "AUTH default wrong", "AUTH nobody s3cret", "PING", "AUTH s3cret", "PING", "AUTH x"]),
        inline(&["HELLO 2 AUTH default wrong", "PING", "HELLO 3 AUTH default s3cret SETNAME app", "CLIENT GETNAME"]),
        inline(&["AUTH default s3cret", "HELLO 3", "CLIENT GETNAME"]),
        inline(&["RESET", "AUTH s3cret", "PING", "RESET", "PING", "MULTI", "AUTH s3cret", "MULTI", "RESET", "PING"]),
        closing(b"QUIT\r\n", 1),
    ];
    assert_same_as_redis(&plexus, &redis, &cases);
}

#[test]
fn protocol_errors_match_redis_server_byte_for_byte() {
    let Some(binary) = tool("redis-server") else { return };
    let redis = RedisServer::start(&binary, &[]);
    let plexus = server();
    let cases = vec![
        closing(b"*3000000000\r\n", 0),
        closing(b"*abc\r\n", 0),
        closing(b"*1\r\n$2000000000\r\n", 0),
        closing(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", 0),
        closing(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n", 0),
        closing(b"*2\r\n$4\r\nECHO\r\n$536870913\r\n", 0),
        closing(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", 0),
        closing(b"*1\r\nfoo\r\n", 0),
        closing(b"*1\r\n\r\n", 0),
        closing(b"ECHO \"a b\r\n", 0),
        closing(b"ECHO \"a\"b\r\n", 0),
        closing(&[&b"ECHO 'x'\r\n"[..], &vec![b'a'; 70 * 1024]].concat(), 1),
        closing(b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n*1\r\n+foo\r\n", 2),
    ];
    assert_same_as_redis(&plexus, &redis, &cases);
}

#[test]
fn known_differences_match_redis_server_byte_for_byte() {
    let Some(binary) = tool("redis-server") else { return };
    let a = "a".repeat(107);
    let b = "b".repeat(40);
    let redis = RedisServer::start(&binary, &[]);
    let plexus = server();
    assert_same_as_redis(&plexus, &redis, &[multibulk(&[&[b"foo", a.as_bytes(), b.as_bytes(), b"ccc"]])]);
    let redis = RedisServer::start(&binary, &["--requirepass", "s3cret"]);
    let plexus = start_server(opts_with_password("s3cret"));
    assert_same_as_redis(&plexus, &redis, &[inline(&["HELLO 3"])]);
}
