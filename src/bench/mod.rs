//! The benchmark lab: `plexus bench`, a load generator built on the plexus reactor itself, and the comparisons
//! behind `docs/benchmarks.md` (reactor vs thread-per-connection vs the real Redis).
//!
//! ```text
//!  cli (flags) --> Target: --target HOST:PORT, or system::spawn (pinned to --server-cpu, generator on --client-cpu)
//!     --> sweep: for each connection level: client::run (one reactor thread, every connection, phases)
//!            --> PhaseResult (HdrHistogram latency, /proc samples) --> report::Record
//!     --> report: terminal table, --json, --svg (throughput, p99, RSS against connections)
//!  compare: repetitions x servers (interleaved) x levels x {GET, SET} x {P=1, P=16} --> medians [min, max]
//!  idle:    N connections, one round trip each, quiet, RSS delta / N
//! ```
//!
//! | module | what it is |
//! |---|---|
//! | [`workload`] | keys (uniform, Zipfian), request encoding, reply scanning |
//! | [`client`] | the generator as a reactor [`crate::reactor::Protocol`]; closed and open loop |
//! | [`system`] | spawning and pinning servers, `/proc` samples, descriptor limits |
//! | [`report`] | records, summaries, table, JSON, SVG |
//! | [`cli`] | the `plexus bench` flags and the three modes |

pub mod cli;
pub mod client;
pub mod report;
pub mod rpc;
pub mod system;
pub mod workload;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use client::{ClientOptions, PhaseSpec};
use report::Record;
use workload::KeyDist;

/// Descriptors kept free beyond the benchmark connections (stdio, the reactor's epoll and waker, control sockets).
pub const SPARE_DESCRIPTORS: usize = 32;

/// Connections that load the data set before the measured levels (pipelined SETs, so a few suffice).
const PREFILL_CONNECTIONS: usize = 16;

/// Longest wait for a server to close the previous level's connections (10,000 threads take a while to exit).
const QUIET_SERVER_TIMEOUT: Duration = Duration::from_secs(30);

/// What is being measured.
#[derive(Clone, Debug)]
pub struct Target {
    /// Label in tables and charts (`reactor`, `threads`, `redis`, or the address).
    pub name: String,
    pub addr: SocketAddr,
    /// The server process, when known, for RSS, threads and CPU time.
    pub pid: Option<u32>,
}

/// How a sweep over connection levels runs.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    pub connections: Vec<usize>,
    pub phases: Vec<PhaseSpec>,
    pub keyspace: u64,
    pub value_size: usize,
    pub keys: KeyDist,
    /// SET the whole keyspace before the first level, over connections of its own (the server keeps it for
    /// every level).
    pub prefill: bool,
    pub progress: bool,
    pub seed: u64,
}

/// The most connections this process can open, after raising the descriptor limit as far as allowed.
pub fn reachable_connections(wanted: usize) -> usize {
    let limit = system::raise_nofile_limit((wanted + SPARE_DESCRIPTORS) as u64) as usize;
    wanted.min(limit.saturating_sub(SPARE_DESCRIPTORS))
}

/// Runs every phase at every connection level against `target`. Levels the descriptor limit cannot reach run
/// at the most it allows, and say so (in the record's note and on stderr).
pub fn sweep(target: &Target, opts: &SweepOptions, repetition: usize) -> io::Result<Vec<Record>> {
    let mut records = Vec::new();
    if opts.prefill {
        prefill(target, opts)?;
    }
    // With the data set loaded and no connection open: the reading each level's RSS is compared with.
    system::wait_for_quiet_server(target.addr, QUIET_SERVER_TIMEOUT);
    let baseline = target.pid.and_then(system::sample).map(|s| s.rss_bytes);
    for (i, &wanted) in opts.connections.iter().enumerate() {
        if i > 0 {
            system::wait_for_quiet_server(target.addr, QUIET_SERVER_TIMEOUT);
        }
        let conns = reachable_connections(wanted);
        if conns < wanted {
            eprintln!(
                "plexus bench: {wanted} connections cannot be reached (descriptor hard limit); running {conns}. \
                 Raise it with `ulimit -Hn` (as root) to go further."
            );
        }
        let client = ClientOptions {
            addr: target.addr,
            connections: conns,
            keyspace: opts.keyspace,
            value_size: opts.value_size,
            keys: opts.keys,
            prefill: false,
            server_pid: target.pid,
            progress: opts.progress,
            seed: opts.seed.wrapping_add(repetition as u64 * 1000 + i as u64),
        };
        let result = client::run(client, opts.phases.clone(), None)?;
        if let Some(e) = &result.connect_error {
            eprintln!("plexus bench: {} at {} connections: {e}", target.name, wanted);
        }
        for p in &result.phases {
            let mut r = Record::from_phase(&target.name, wanted, result.connected, repetition, p);
            r.server_rss_over_data_bytes = r.server_rss_bytes.zip(baseline).map(|(rss, base)| rss.saturating_sub(base));
            if result.connected < wanted && r.note.is_none() {
                r.note = Some(format!("only {} of {wanted} connections opened", result.connected));
            }
            records.push(r);
        }
    }
    Ok(records)
}

/// SETs the whole keyspace over its own connections, which then close, so the first level starts from the same
/// state as the later ones and the baseline RSS reading has the data set but no connection in it.
fn prefill(target: &Target, opts: &SweepOptions) -> io::Result<()> {
    let client = ClientOptions {
        addr: target.addr,
        connections: PREFILL_CONNECTIONS,
        keyspace: opts.keyspace,
        value_size: opts.value_size,
        keys: opts.keys,
        prefill: true,
        server_pid: target.pid,
        progress: opts.progress,
        seed: opts.seed,
    };
    let result = client::run(client, Vec::new(), None)?;
    match (result.connected, result.connect_error) {
        (0, e) => Err(io::Error::other(format!("prefill: {}", e.unwrap_or_else(|| "no connection opened".into())))),
        _ => Ok(()),
    }
}

/// Result of the idle-memory procedure.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IdleResult {
    pub server: String,
    pub connections: usize,
    pub connections_reached: usize,
    pub quiet_seconds: f64,
    pub rss_before_bytes: u64,
    pub rss_after_bytes: u64,
    pub threads_after: u64,
    /// (after - before) / connections reached.
    pub bytes_per_connection: f64,
}

/// Opens `connections` to the target, does one round trip on each, waits `quiet`, and reads the server's RSS.
pub fn idle(target: &Target, connections: usize, quiet: Duration, progress: bool) -> io::Result<IdleResult> {
    let pid =
        target.pid.ok_or_else(|| io::Error::other("idle mode needs the server's pid (--spawn or --server-pid)"))?;
    let conns = reachable_connections(connections);
    if conns < connections {
        eprintln!("plexus bench: {connections} connections cannot be reached (descriptor hard limit); running {conns}");
    }
    let before = system::sample(pid).ok_or_else(|| io::Error::other("the server is gone"))?;
    let client = ClientOptions {
        addr: target.addr,
        connections: conns,
        keyspace: 1,
        value_size: 1,
        keys: KeyDist::Uniform,
        prefill: false,
        server_pid: Some(pid),
        progress,
        seed: 1,
    };
    let result = client::run(client, Vec::new(), Some(quiet))?;
    let after = result.server_idle.ok_or_else(|| {
        io::Error::other(
            result.connect_error.clone().unwrap_or_else(|| "no server sample after the quiet period".into()),
        )
    })?;
    let reached = result.connected.max(1);
    Ok(IdleResult {
        server: target.name.clone(),
        connections,
        connections_reached: result.connected,
        quiet_seconds: quiet.as_secs_f64(),
        rss_before_bytes: before.rss_bytes,
        rss_after_bytes: after.rss_bytes,
        threads_after: after.threads,
        bytes_per_connection: (after.rss_bytes as f64 - before.rss_bytes as f64) / reached as f64,
    })
}

/// Machine facts recorded next to results: CPUs and the load average (others share this machine).
#[derive(Clone, Debug, serde::Serialize)]
pub struct HostInfo {
    pub cpus: usize,
    pub loadavg_before: String,
    pub loadavg_after: String,
    pub kernel: String,
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// CPUs online on the machine (not the ones this thread may use: the generator pins itself to one).
pub fn online_cpus() -> usize {
    std::fs::read_to_string("/proc/stat")
        .map(|s| {
            s.lines().filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit)).count()
        })
        .unwrap_or(1)
        .max(1)
}

pub fn host_info(loadavg_before: String) -> HostInfo {
    HostInfo {
        cpus: online_cpus(),
        loadavg_before,
        loadavg_after: loadavg(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()).unwrap_or_default(),
    }
}
