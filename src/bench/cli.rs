//! `plexus bench`: flags and the three modes (a run or sweep, `compare`, `idle`).
//!
//! ```text
//!  BenchCmd --(no subcommand)--> run:     target or spawn --> sweep --> table, --json, --svg
//!           --compare-->         compare: for rep: for server: spawn --> sweep (prefill once) --> stop
//!                                         --> summaries --> table, JSON, one SVG per workload, Markdown table
//!           --idle-->            idle:    spawn --> idle() --> report
//!           --charts-->          charts:  compare.json --> the SVGs again
//! ```

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use super::client::{PhaseSpec, Stop};
use super::report::{self, Record};
use super::system::{self, ServerKind, SpawnOptions, Spawned};
use super::workload::{KeyDist, Workload};
use super::{host_info, loadavg, SweepOptions, Target};

/// `maxclients` given to spawned servers: the largest level plus room for control connections.
const SPAWN_MAXCLIENTS_SLACK: usize = 64;

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchCmd {
    #[command(subcommand)]
    pub mode: Option<BenchMode>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(clap::Subcommand, Debug)]
pub enum BenchMode {
    /// Reactor vs threads vs Redis (where installed): connections 1, 50, 1000, 10000; GET and SET, unpipelined and
    /// P=16; interleaved repetitions reported as median [min-max]. Writes JSON, SVG charts and a Markdown table.
    Compare(CompareArgs),
    /// Idle memory per connection: every connection does one round trip, then after a quiet period the server's
    /// RSS is read; reports (after - before) / N.
    Idle(IdleArgs),
    /// Redraws the charts of a `compare` run from its compare.json, without measuring again.
    Charts(ChartsArgs),
    /// The RPC protocol on one connection: unary calls/s with 1 and 128 calls in flight, and bidirectional
    /// streaming MB/s, against the demo service (in-process on its own reactor thread, or `--target`).
    Rpc(RpcArgs),
    /// How often the machine itself stops a busy thread: one thread per CPU spins on the clock and reports every
    /// gap. A latency target below the machine's own pauses cannot be met by any server.
    Hiccups(HiccupArgs),
}

#[derive(clap::Args, Debug)]
pub struct HiccupArgs {
    /// Seconds to watch.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// CPUs to watch, one spinning thread each (default: every CPU this process may use).
    #[arg(long, value_delimiter = ',')]
    pub cpus: Vec<usize>,
}

#[derive(clap::Args, Debug)]
pub struct RpcArgs {
    /// An RPC server to measure (e.g. `plexus server --rpc-port`); default: one started in-process.
    #[arg(long)]
    pub target: Option<std::net::SocketAddr>,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 3.0)]
    pub duration: f64,
    /// Unary calls per measurement instead of --duration (for repeatable instruction counts under callgrind).
    #[arg(long)]
    pub calls: Option<u64>,
    /// Unary calls in flight, one measurement each, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,128")]
    pub in_flight: Vec<usize>,
    /// Skip the streaming measurement.
    #[arg(long)]
    pub no_stream: bool,
    /// Microseconds the in-process server's loop keeps polling after its last event before it sleeps
    /// (`reactor::Config::busy_poll`, as `plexus server --busy-poll-us`); 0: sleep at once, as by default.
    #[arg(long, default_value_t = 0)]
    pub server_busy_poll_us: u64,
    /// CPUs of the in-process server's loop (--server-cpu) and the client's loop (--client-cpu).
    #[command(flatten)]
    pub pin: PinArgs,
    /// Also write the results as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct ChartsArgs {
    /// The compare.json to draw from.
    #[arg(long, default_value = "docs/bench/compare.json")]
    pub from: PathBuf,
    /// Directory for the SVG files.
    #[arg(long, default_value = "docs/bench")]
    pub out: PathBuf,
}

/// Where the server is and how processes are pinned.
#[derive(clap::Args, Debug, Clone)]
pub struct PinArgs {
    /// CPU for a spawned server.
    #[arg(long, default_value_t = 0)]
    pub server_cpu: usize,
    /// CPU for the generator.
    #[arg(long, default_value_t = 1)]
    pub client_cpu: usize,
    /// Do not pin either process.
    #[arg(long)]
    pub no_pin: bool,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// An already running server.
    #[arg(long, conflicts_with = "spawn")]
    pub target: Option<String>,
    /// Start this server (reactor, threads or redis) on a free port, measure it, stop it.
    #[arg(long)]
    pub spawn: Option<ServerKind>,
    /// The target server's pid, for RSS, threads and CPU time with --target.
    #[arg(long)]
    pub server_pid: Option<u32>,
    #[command(flatten)]
    pub pin: PinArgs,
    /// Connection counts to sweep, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "50")]
    pub connections: Vec<usize>,
    /// Requests in flight per connection.
    #[arg(long, default_value_t = 1)]
    pub pipeline: usize,
    /// Measured requests per level (instead of --duration).
    #[arg(long, conflicts_with = "duration")]
    pub requests: Option<u64>,
    /// Seconds measured per level [default: 5].
    #[arg(long)]
    pub duration: Option<f64>,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// get, set, mixed or ping.
    #[arg(long, default_value = "get")]
    pub workload: String,
    /// Share of GETs in the mixed workload.
    #[arg(long, default_value_t = 0.9)]
    pub ratio: f64,
    /// Distinct keys.
    #[arg(long, default_value_t = 1_000_000)]
    pub keyspace: u64,
    /// Bytes per value.
    #[arg(long, default_value_t = 3)]
    pub value_size: usize,
    /// uniform or zipfian.
    #[arg(long, default_value = "uniform")]
    pub keys: KeyDist,
    /// Open loop: total requests per second; latency counts from each request's intended send time.
    #[arg(long)]
    pub rate: Option<f64>,
    /// SET every key once before measuring (GETs then hit).
    #[arg(long)]
    pub prefill: bool,
    /// Write the results as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Chart throughput, p99 and RSS against connections (SVG).
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Seed of the key generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Servers, comma-separated; redis is skipped when redis-server is not installed.
    #[arg(long, value_delimiter = ',', default_value = "reactor,threads,redis")]
    pub servers: Vec<ServerKind>,
    #[arg(long, value_delimiter = ',', default_value = "1,50,1000,10000")]
    pub connections: Vec<usize>,
    /// Pipeline depths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    pub pipelines: Vec<usize>,
    /// Interleaved repetitions.
    #[arg(long, default_value_t = 3)]
    pub repetitions: usize,
    /// Seconds measured per cell.
    #[arg(long, default_value_t = 1.0)]
    pub duration: f64,
    /// Seconds of load before each measurement.
    #[arg(long, default_value_t = 0.3)]
    pub warmup: f64,
    #[arg(long, default_value_t = 1_000_000)]
    pub keyspace: u64,
    #[arg(long, default_value_t = 3)]
    pub value_size: usize,
    #[command(flatten)]
    pub pin: PinArgs,
    /// Directory for compare.json, the charts and the Markdown table.
    #[arg(long, default_value = "docs/bench")]
    pub out: PathBuf,
    #[arg(long)]
    pub quiet: bool,
}

#[derive(clap::Args, Debug)]
pub struct IdleArgs {
    #[arg(long, conflicts_with = "spawn")]
    pub target: Option<String>,
    #[arg(long)]
    pub spawn: Option<ServerKind>,
    #[arg(long)]
    pub server_pid: Option<u32>,
    #[arg(long, value_delimiter = ',', default_value = "10000")]
    pub connections: Vec<usize>,
    /// Seconds of quiet before RSS is read.
    #[arg(long, default_value_t = 10.0)]
    pub quiet_secs: f64,
    #[command(flatten)]
    pub pin: PinArgs,
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long)]
    pub quiet: bool,
}

fn parse_workload(name: &str, ratio: f64) -> Result<Workload, String> {
    match name {
        "get" => Ok(Workload::Get),
        "set" => Ok(Workload::Set),
        "ping" => Ok(Workload::Ping),
        "mixed" if (0.0..=1.0).contains(&ratio) => Ok(Workload::Mixed { ratio }),
        "mixed" => Err("--ratio must be between 0 and 1".into()),
        _ => Err(format!("unknown workload '{name}' (get, set, mixed or ping)")),
    }
}

fn resolve(target: &str) -> Result<SocketAddr, String> {
    target
        .to_socket_addrs()
        .map_err(|e| format!("--target {target}: {e}"))?
        .next()
        .ok_or_else(|| format!("--target {target}: no address"))
}

/// Whether the requested CPUs can be used: two distinct ones that exist. Says why not when it cannot pin.
fn pins_usable(pin: &PinArgs) -> bool {
    let cpus = super::online_cpus();
    let usable = !pin.no_pin && pin.server_cpu < cpus && pin.client_cpu < cpus && pin.server_cpu != pin.client_cpu;
    if !pin.no_pin && !usable {
        eprintln!(
            "plexus bench: not pinning ({cpus} CPUs; --server-cpu {} --client-cpu {})",
            pin.server_cpu, pin.client_cpu
        );
    }
    usable
}

/// Pins the generator and returns the spawn options; pinning is skipped (with a word) on a one-CPU machine.
fn pinning(pin: &PinArgs, maxclients: usize) -> Result<SpawnOptions, String> {
    let usable = pins_usable(pin);
    if usable {
        system::pin_current_thread(pin.client_cpu).map_err(|e| format!("cannot pin to CPU {}: {e}", pin.client_cpu))?;
    }
    Ok(SpawnOptions {
        plexus: std::env::current_exe().map_err(|e| e.to_string())?,
        server_cpu: usable.then_some(pin.server_cpu),
        client_cpu: usable.then_some(pin.client_cpu),
        maxclients,
    })
}

fn start(kind: ServerKind, spawn: &SpawnOptions) -> Result<(Spawned, Target), String> {
    let server = system::spawn(kind, spawn).map_err(|e| e.to_string())?;
    let target = Target { name: kind.name().into(), addr: server.addr, pid: Some(server.pid) };
    let cpus = system::affinity_of(server.pid);
    eprintln!("plexus bench: {} pid {} on {} (CPUs {:?})", kind.name(), server.pid, server.addr, cpus);
    Ok((server, target))
}

/// Runs `plexus bench` with parsed flags.
pub fn main(cmd: BenchCmd) -> Result<(), String> {
    match cmd.mode {
        None => run(cmd.run),
        Some(BenchMode::Compare(args)) => compare(args),
        Some(BenchMode::Idle(args)) => idle(args),
        Some(BenchMode::Charts(args)) => charts(args),
        Some(BenchMode::Rpc(args)) => rpc(args),
        Some(BenchMode::Hiccups(args)) => hiccups(args),
    }
}

fn hiccups(args: HiccupArgs) -> Result<(), String> {
    let cpus = if args.cpus.is_empty() { system::affinity_of(std::process::id()) } else { args.cpus };
    let watch = Duration::from_secs_f64(args.seconds);
    let handles: Vec<_> = cpus
        .iter()
        .map(|&cpu| {
            std::thread::spawn(move || -> Result<system::Hiccups, String> {
                system::pin_current_thread(cpu).map_err(|e| format!("cannot pin to CPU {cpu}: {e}"))?;
                Ok(system::watch_hiccups(watch))
            })
        })
        .collect();
    println!("{:>4} {:>12} {:>12} {:>12} {:>10}", "cpu", "gaps>100us", "gaps>1ms", "max gap", "time lost");
    for (cpu, handle) in cpus.iter().zip(handles) {
        let h = handle.join().map_err(|_| "a watcher thread panicked".to_string())??;
        println!(
            "{:>4} {:>12} {:>12} {:>10.2}ms {:>9.2}%",
            cpu,
            h.over_100us,
            h.over_1ms,
            h.max.as_secs_f64() * 1000.0,
            h.lost.as_secs_f64() * 100.0 / watch.as_secs_f64().max(1e-9)
        );
    }
    Ok(())
}

fn rpc(args: RpcArgs) -> Result<(), String> {
    // Unlike the KV bench (two processes), both loops here are threads of one process, and putting them on the same
    // CPU is a meaningful setup: on a small VM a cross-CPU wake-up per message costs more than the work itself
    // (see src/bench/rpc.rs), so `--server-cpu 1 --client-cpu 1` is allowed.
    let cpus = super::online_cpus();
    let usable = if args.pin.server_cpu == args.pin.client_cpu {
        !args.pin.no_pin && args.pin.server_cpu < cpus
    } else {
        pins_usable(&args.pin)
    };
    let pin = super::rpc::Pinning {
        // A --target server is another process: its CPUs are its own business.
        server_cpu: (usable && args.target.is_none()).then_some(args.pin.server_cpu),
        client_cpu: usable.then_some(args.pin.client_cpu),
    };
    let length = match args.calls {
        Some(n) => super::rpc::Length::Calls(n),
        None => super::rpc::Length::Duration(std::time::Duration::from_secs_f64(args.duration)),
    };
    let plan = super::rpc::Plan {
        in_flight: args.in_flight.clone(),
        length,
        stream: !args.no_stream,
        server_busy_poll: std::time::Duration::from_micros(args.server_busy_poll_us),
    };
    let results = super::rpc::run(args.target, &plan, pin)?;
    println!(
        "{:<12} {:>9} {:>12} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "mode", "in-flight", "calls/s", "MB/s", "p50 us", "p99 us", "p99.9 us", "max us"
    );
    for r in &results {
        let mb = r.mb_per_sec.map(|m| format!("{m:.1}")).unwrap_or_else(|| "-".into());
        println!(
            "{:<12} {:>9} {:>12.0} {:>10} {:>9} {:>9} {:>9} {:>9}",
            r.mode, r.in_flight, r.calls_per_sec, mb, r.p50_us, r.p99_us, r.p999_us, r.max_us
        );
    }
    if let Some(path) = args.json {
        let text = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct RunOutput<'a> {
    command: String,
    host: super::HostInfo,
    records: &'a [Record],
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn run(args: RunArgs) -> Result<(), String> {
    let load = loadavg();
    let workload = parse_workload(&args.workload, args.ratio)?;
    if args.pipeline == 0 {
        return Err("--pipeline must be at least 1".into());
    }
    let stop = match (args.requests, args.duration) {
        (Some(n), _) => Stop::Requests(n),
        (None, Some(d)) => Stop::Duration(Duration::from_secs_f64(d)),
        (None, None) => Stop::Duration(Duration::from_secs(5)),
    };
    let max_conns = args.connections.iter().copied().max().unwrap_or(1);
    let spawn_opts = pinning(&args.pin, max_conns + SPAWN_MAXCLIENTS_SLACK)?;
    let (_server, target) = match (&args.spawn, &args.target) {
        (Some(kind), _) => {
            let (s, t) = start(*kind, &spawn_opts)?;
            (Some(s), t)
        }
        (None, Some(t)) => (None, Target { name: t.clone(), addr: resolve(t)?, pid: args.server_pid }),
        (None, None) => return Err("give --target HOST:PORT or --spawn reactor|threads|redis".into()),
    };
    let opts = SweepOptions {
        connections: args.connections.clone(),
        phases: vec![PhaseSpec {
            workload,
            pipeline: args.pipeline,
            warmup: Duration::from_secs_f64(args.warmup),
            stop,
            rate: args.rate,
        }],
        keyspace: args.keyspace,
        value_size: args.value_size,
        keys: args.keys,
        prefill: args.prefill,
        progress: !args.quiet,
        seed: args.seed,
    };
    let records = super::sweep(&target, &opts, 0).map_err(|e| e.to_string())?;
    print!("{}", report::table(&records));
    if let Some(path) = &args.json {
        let out = RunOutput { command: command_line(), host: host_info(load), records: &records };
        report::write_json(path, &out).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(path) = &args.svg {
        let summaries = report::summarize(&records);
        let refs: Vec<&report::Summary> = summaries.iter().collect();
        let title = format!("{} {} P={}", target.name, workload.name(), args.pipeline);
        report::write_svg(path, &title, &report::panels_for(&refs)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct CompareOutput<'a> {
    command: String,
    host: super::HostInfo,
    duration_s: f64,
    warmup_s: f64,
    repetitions: usize,
    keyspace: u64,
    value_size: usize,
    skipped: Vec<String>,
    summary: &'a [report::Summary],
    records: &'a [Record],
}

fn compare(args: CompareArgs) -> Result<(), String> {
    let load = loadavg();
    let mut skipped = Vec::new();
    let servers: Vec<ServerKind> = args
        .servers
        .iter()
        .copied()
        .filter(|s| {
            let ok = s.available();
            if !ok {
                eprintln!("plexus bench: {} not installed; skipped", s.name());
                skipped.push(s.name().to_string());
            }
            ok
        })
        .collect();
    let max_conns = args.connections.iter().copied().max().unwrap_or(1);
    let spawn_opts = pinning(&args.pin, max_conns + SPAWN_MAXCLIENTS_SLACK)?;
    let mut phases = Vec::new();
    for &pipeline in &args.pipelines {
        for workload in [Workload::Get, Workload::Set] {
            phases.push(PhaseSpec {
                workload,
                pipeline,
                warmup: Duration::from_secs_f64(args.warmup),
                stop: Stop::Duration(Duration::from_secs_f64(args.duration)),
                rate: None,
            });
        }
    }
    let opts = SweepOptions {
        connections: args.connections.clone(),
        phases,
        keyspace: args.keyspace,
        value_size: args.value_size,
        keys: KeyDist::Uniform,
        prefill: true,
        progress: !args.quiet,
        seed: 1,
    };
    let mut records = Vec::new();
    // Repetitions interleave the servers, so a burst of load from someone else on the machine hits all of them
    // alike instead of one server's whole series.
    for rep in 0..args.repetitions {
        for &kind in &servers {
            eprintln!("plexus bench: repetition {}/{}: {}", rep + 1, args.repetitions, kind.name());
            let (mut server, target) = start(kind, &spawn_opts)?;
            let result = super::sweep(&target, &opts, rep);
            server.stop();
            records.extend(result.map_err(|e| e.to_string())?);
        }
    }
    let summaries = report::summarize(&records);
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let markdown = report::summary_markdown(&summaries);
    print!("{markdown}");
    let out = CompareOutput {
        command: command_line(),
        host: host_info(load),
        duration_s: args.duration,
        warmup_s: args.warmup,
        repetitions: args.repetitions,
        keyspace: args.keyspace,
        value_size: args.value_size,
        skipped,
        summary: &summaries,
        records: &records,
    };
    let json = args.out.join("compare.json");
    report::write_json(&json, &out).map_err(|e| format!("{}: {e}", json.display()))?;
    let md = args.out.join("compare.md");
    std::fs::write(&md, &markdown).map_err(|e| format!("{}: {e}", md.display()))?;
    write_compare_charts(&args.out, &summaries, args.keyspace, args.repetitions)?;
    eprintln!("plexus bench: wrote {}, {} and the charts in {}", json.display(), md.display(), args.out.display());
    Ok(())
}

/// One SVG per workload and pipeline depth found in the summaries: `get-p1.svg`, `set-p16.svg`, ...
fn write_compare_charts(
    out: &std::path::Path,
    summaries: &[report::Summary],
    keyspace: u64,
    repetitions: usize,
) -> Result<(), String> {
    let mut cells: Vec<(String, usize)> = summaries.iter().map(|s| (s.workload.clone(), s.pipeline)).collect();
    cells.sort();
    cells.dedup();
    for (workload, pipeline) in cells {
        let cell: Vec<&report::Summary> =
            summaries.iter().filter(|s| s.workload == workload && s.pipeline == pipeline).collect();
        let path = out.join(format!("{workload}-p{pipeline}.svg"));
        let title = format!("{} P={pipeline}, {keyspace} keys, median of {repetitions}", workload.to_uppercase());
        report::write_svg(&path, &title, &report::panels_for(&cell)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct SavedCompare {
    keyspace: u64,
    repetitions: usize,
    summary: Vec<report::Summary>,
}

fn charts(args: ChartsArgs) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.from).map_err(|e| format!("{}: {e}", args.from.display()))?;
    let saved: SavedCompare = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", args.from.display()))?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    write_compare_charts(&args.out, &saved.summary, saved.keyspace, saved.repetitions)
}

fn idle(args: IdleArgs) -> Result<(), String> {
    let max_conns = args.connections.iter().copied().max().unwrap_or(1);
    let spawn_opts = pinning(&args.pin, max_conns + SPAWN_MAXCLIENTS_SLACK)?;
    let mut results = Vec::new();
    for &n in &args.connections {
        // A fresh server per level, so the "before" reading is a server that never saw a connection.
        let (server, target) = match (&args.spawn, &args.target) {
            (Some(kind), _) => {
                let (s, t) = start(*kind, &spawn_opts)?;
                (Some(s), t)
            }
            (None, Some(t)) => (None, Target { name: t.clone(), addr: resolve(t)?, pid: args.server_pid }),
            (None, None) => return Err("give --target HOST:PORT (with --server-pid) or --spawn".into()),
        };
        let r = super::idle(&target, n, Duration::from_secs_f64(args.quiet_secs), !args.quiet)
            .map_err(|e| e.to_string())?;
        println!(
            "{:<8} {:>6} connections ({} open): RSS {:.1} MiB -> {:.1} MiB, {} threads: {:.0} bytes per connection",
            r.server,
            r.connections,
            r.connections_reached,
            r.rss_before_bytes as f64 / 1048576.0,
            r.rss_after_bytes as f64 / 1048576.0,
            r.threads_after,
            r.bytes_per_connection
        );
        results.push(r);
        drop(server);
    }
    if let Some(path) = &args.json {
        report::write_json(path, &results).map_err(|e: io::Error| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
