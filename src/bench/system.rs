//! The machine around a benchmark: the server process under test (spawned, pinned, sampled, stopped), CPU
//! affinity, and the descriptor limit.
//!
//! ```text
//!  pin self to --server-cpu --> spawn `plexus server --io X` / `redis-server` (inherits the mask) --> pin self
//!  back to --client-cpu --> wait until it accepts --> ... runs, sampling /proc/<pid>/{stat,status} ...
//!  --> SHUTDOWN NOSAVE --> wait (kill if it will not go)
//! ```
//!
//! Affinity is set through `nix`'s safe wrappers around `sched_setaffinity(2)`; the child inherits the mask at
//! `fork`, so no `pre_exec` (and no `unsafe`) is needed, and no thread of the server ever runs unpinned.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::resource::{getrlimit, getrusage, setrlimit, Resource, UsageWho};
use nix::unistd::Pid;

/// How long a spawned server may take to accept its first connection.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a server may take to exit after `SHUTDOWN`.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Ports for spawned servers are drawn below Linux's ephemeral range (32768-60999), so they never collide with
/// the generator's own 10,000 outgoing connections.
const PORT_RANGE: std::ops::Range<u16> = 20_000..32_768;

/// The server a benchmark can start by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerKind {
    Reactor,
    Threads,
    Redis,
}

impl ServerKind {
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Reactor => "reactor",
            ServerKind::Threads => "threads",
            ServerKind::Redis => "redis",
        }
    }

    /// Whether this server can be started here (`redis-server` may not be installed).
    pub fn available(self) -> bool {
        match self {
            ServerKind::Redis => which("redis-server"),
            _ => true,
        }
    }
}

impl std::str::FromStr for ServerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "reactor" => Ok(ServerKind::Reactor),
            "threads" => Ok(ServerKind::Threads),
            "redis" => Ok(ServerKind::Redis),
            _ => Err(format!("unknown server '{s}' (reactor, threads or redis)")),
        }
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// Pins the calling thread (and whatever it spawns later) to one CPU. Fails when the CPU does not exist.
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    let mut set = CpuSet::new();
    set.set(cpu).map_err(io::Error::from)?;
    sched_setaffinity(Pid::from_raw(0), &set).map_err(io::Error::from)
}

/// What [`watch_hiccups`] saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hiccups {
    /// Clock reads further apart than 100 us, and than 1 ms: times this thread was not running.
    pub over_100us: u64,
    pub over_1ms: u64,
    pub max: Duration,
    /// The sum of the gaps over 100 us.
    pub lost: Duration,
}

/// Spins on the monotonic clock for `watch` and records every gap between two reads. A spinning thread that is
/// never preempted reads the clock every few tens of nanoseconds; a longer gap is time it was not running:
/// an interrupt, another task, or (on a virtual machine) the host running something else on this vCPU.
pub fn watch_hiccups(watch: Duration) -> Hiccups {
    /// Gaps shorter than this are ordinary interrupts and are not counted.
    const NOTICEABLE: Duration = Duration::from_micros(100);
    const LONG: Duration = Duration::from_millis(1);
    let start = Instant::now();
    let mut last = start;
    let mut h = Hiccups::default();
    loop {
        let now = Instant::now();
        let gap = now - last;
        if gap > NOTICEABLE {
            h.over_100us += 1;
            h.over_1ms += u64::from(gap > LONG);
            h.lost += gap;
        }
        h.max = h.max.max(gap);
        last = now;
        if now - start >= watch {
            return h;
        }
    }
}

/// The CPUs a process may run on.
pub fn affinity_of(pid: u32) -> Vec<usize> {
    let Ok(set) = sched_getaffinity(Pid::from_raw(pid as i32)) else { return Vec::new() };
    (0..CpuSet::count()).filter(|&c| set.is_set(c).unwrap_or(false)).collect()
}

/// Raises the soft descriptor limit as far as the hard limit allows; returns the limit now in force.
pub fn raise_nofile_limit(wanted: u64) -> u64 {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else { return 0 };
    let target = wanted.min(hard);
    if target > soft && setrlimit(Resource::RLIMIT_NOFILE, target, hard).is_ok() {
        return target;
    }
    soft
}

/// CPU time (user + system) this process has used, all threads.
pub fn self_cpu_time() -> Duration {
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(u) => {
            let tv = |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
            tv(u.user_time()) + tv(u.system_time())
        }
        Err(_) => Duration::ZERO,
    }
}

/// A reading of a process from `/proc`.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct ProcSample {
    /// Resident set size (`VmRSS`).
    pub rss_bytes: u64,
    pub threads: u64,
    /// utime + stime, all threads, dead ones included. Resolution: one clock tick (10 ms at USER_HZ 100).
    pub cpu_ns: u64,
}

/// Clock ticks per second for `/proc/<pid>/stat`. Linux has reported times in USER_HZ = 100 on every
/// architecture since 2.6, whatever the kernel's internal HZ (`sysconf(_SC_CLK_TCK)` returns the same 100).
const USER_HZ: u64 = 100;

/// Reads RSS, thread count and CPU time of `pid`; `None` if it is gone.
pub fn sample(pid: u32) -> Option<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line[name.len()..].split_whitespace().next()?.parse().ok()
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: count fields after the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the name (state is the 1st).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(ProcSample {
        rss_bytes: field("VmRSS:")? * 1024,
        threads: field("Threads:")?,
        cpu_ns: (utime + stime) * (1_000_000_000 / USER_HZ),
    })
}

/// A server process started for a benchmark; stopped on drop.
pub struct Spawned {
    pub kind: ServerKind,
    pub addr: SocketAddr,
    pub pid: u32,
    child: Child,
}

/// Finds a port below the ephemeral range that nothing listens on right now.
fn free_port() -> io::Result<u16> {
    let seed = std::process::id() as u64 ^ Instant::now().elapsed().as_nanos() as u64 ^ 0x9e37_79b9;
    let span = (PORT_RANGE.end - PORT_RANGE.start) as u64;
    for i in 0..200u64 {
        let port = PORT_RANGE.start + ((seed.wrapping_mul(2_654_435_761).wrapping_add(i * 7919)) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(io::Error::new(io::ErrorKind::AddrInUse, "no free port below 32768"))
}

/// Options for [`spawn`].
#[derive(Clone, Debug)]
pub struct SpawnOptions {
    /// The `plexus` binary (for reactor and threads).
    pub plexus: std::path::PathBuf,
    pub server_cpu: Option<usize>,
    /// Pinning to restore on the calling thread after the spawn.
    pub client_cpu: Option<usize>,
    /// `maxclients` for the server: room for the largest sweep level plus a few control connections.
    pub maxclients: usize,
}

/// Starts a server on 127.0.0.1 and a free port, pinned to `server_cpu`, and waits until it accepts.
pub fn spawn(kind: ServerKind, opts: &SpawnOptions) -> io::Result<Spawned> {
    let port = free_port()?;
    let maxclients = opts.maxclients.to_string();
    let port_s = port.to_string();
    let mut cmd = match kind {
        ServerKind::Reactor | ServerKind::Threads => {
            let mut c = Command::new(&opts.plexus);
            c.args(["server", "--io", if kind == ServerKind::Reactor { "reactor" } else { "threads" }]);
            c.args(["--bind", "127.0.0.1", "--port", &port_s, "--maxclients", &maxclients, "--loglevel", "warning"]);
            c
        }
        ServerKind::Redis => {
            let mut c = Command::new("redis-server");
            c.args(["--bind", "127.0.0.1", "--port", &port_s, "--maxclients", &maxclients]);
            // No persistence, no background saves: only the request path is measured.
            c.args(["--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"]);
            c
        }
    };
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    if let Some(cpu) = opts.server_cpu {
        pin_current_thread(cpu)?;
    }
    let spawned = cmd.spawn();
    if let Some(cpu) = opts.client_cpu {
        pin_current_thread(cpu)?;
    }
    let child = spawned.map_err(|e| io::Error::new(e.kind(), format!("cannot start {}: {e}", kind.name())))?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = Spawned { kind, addr, pid: child.id(), child };
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(io::Error::other(format!("{} exited at start: {status}", kind.name())));
        }
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            if round_trip(&mut s, b"PING\r\n").is_ok() {
                return Ok(server);
            }
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, format!("{} did not start", kind.name())));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends one inline command and reads one line back (control connections only; the load goes through the
/// reactor client).
pub fn round_trip(s: &mut TcpStream, request: &[u8]) -> io::Result<Vec<u8>> {
    s.set_read_timeout(Some(STARTUP_TIMEOUT))?;
    s.write_all(request)?;
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\r\n") {
        if s.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        reply.push(byte[0]);
    }
    Ok(reply)
}

/// `connected_clients` from `INFO clients`, over a fresh control connection (counted in the figure).
pub fn connected_clients(addr: SocketAddr) -> io::Result<u64> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    let header = round_trip(&mut s, b"INFO clients\r\n")?;
    let len: usize = std::str::from_utf8(&header[1..header.len() - 2])
        .ok()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "INFO did not answer with a bulk string"))?;
    let mut body = vec![0u8; len + 2];
    s.read_exact(&mut body)?;
    let text = String::from_utf8_lossy(&body);
    text.lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no connected_clients in INFO"))
}

/// Waits until the server has let go of the previous run's connections (only the control connection left), so
/// the next level is not rejected by `maxclients` while the old ones are still being torn down. A server that
/// does not answer INFO is not waited for.
pub fn wait_for_quiet_server(addr: SocketAddr, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match connected_clients(addr) {
            Ok(n) if n > 1 => std::thread::sleep(Duration::from_millis(50)),
            _ => return,
        }
    }
}

impl Spawned {
    pub fn sample(&self) -> Option<ProcSample> {
        sample(self.pid)
    }

    /// `SHUTDOWN NOSAVE`, then wait; kill if it does not exit in time.
    pub fn stop(&mut self) {
        if let Ok(mut s) = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)) {
            let _ = s.write_all(b"SHUTDOWN NOSAVE\r\n");
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process() {
        let s = sample(std::process::id()).expect("/proc of self");
        assert!(s.rss_bytes > 0 && s.threads >= 1);
    }

    #[test]
    fn free_ports_are_below_the_ephemeral_range() {
        let p = free_port().unwrap();
        assert!(PORT_RANGE.contains(&p));
    }
}
