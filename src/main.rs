//! The `plexus` binary: `plexus server` runs the Redis-compatible server on the reactor (or, with `--io threads`,
//! on one thread per connection).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use plexus::app::{build, Io, ServerOptions};
use plexus::kv::clock::SystemClock;
use plexus::kv::config::Config;
use plexus::kv::threads::ThreadsServer;

#[derive(Parser)]
#[command(name = "plexus", version, about = "An epoll reactor driving a Redis-compatible server and an RPC protocol")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Redis-compatible key-value server.
    ///
    /// Settings come from, in increasing precedence: Redis 7.0 defaults, the config file (redis.conf syntax),
    /// PLEXUS_<NAME> environment variables for any parameter (e.g. PLEXUS_MAXMEMORY_POLICY), and these flags.
    Server(ServerArgs),
    /// Load-test a RESP server with a generator built on the plexus reactor (see docs/benchmarks.md).
    Bench(plexus::bench::cli::BenchCmd),
}

#[derive(clap::Args)]
struct ServerArgs {
    /// A configuration file in redis.conf syntax, as with `redis-server /path/to/redis.conf`.
    config_file: Option<PathBuf>,
    /// Address(es) to listen on, space-separated [default: 127.0.0.1].
    #[arg(long)]
    bind: Option<String>,
    /// TCP port; 0 disables TCP [default: 6379].
    #[arg(long)]
    port: Option<String>,
    /// Also listen on this Unix-domain socket.
    #[arg(long)]
    unixsocket: Option<String>,
    /// Require clients to AUTH with this password.
    #[arg(long)]
    requirepass: Option<String>,
    /// Maximum simultaneous clients [default: 10000].
    #[arg(long)]
    maxclients: Option<String>,
    /// Number of databases [default: 16].
    #[arg(long)]
    databases: Option<String>,
    /// Close clients idle for this many seconds; 0 = never [default: 0].
    #[arg(long)]
    timeout: Option<String>,
    /// debug, verbose, notice or warning [default: notice].
    #[arg(long)]
    loglevel: Option<String>,
    /// Also serve the RPC demo service on this port, on the same reactor thread. The KV port then accepts RPC
    /// connections too (told apart by their first byte).
    #[arg(long, env = "PLEXUS_RPC_PORT")]
    rpc_port: Option<u16>,
    /// I/O model: `reactor` (epoll, one thread) or `threads` (one blocking thread per connection, the
    /// benchmark baseline). Same commands, limits and replies either way.
    #[arg(long, default_value = "reactor")]
    io: Io,
    /// Keep polling this many microseconds after the last event before the reactor sleeps in epoll_wait: under
    /// load the loop never sleeps, so it is never woken (see docs/reactor.md). Costs that much spinning after each
    /// burst when idle. 0 (the default): sleep at once.
    #[arg(long, env = "PLEXUS_BUSY_POLL_US", default_value_t = 0)]
    busy_poll_us: u64,
}

fn init_logging(config: &Config) {
    let filter = match config.get_value(b"loglevel").as_deref() {
        Some(b"debug") => "debug",
        Some(b"warning") => "warn",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PLEXUS_LOG").unwrap_or_else(|_| filter.into()))
        .with_writer(std::io::stderr)
        .init();
}

/// Defaults, then the file, then `PLEXUS_*` variables, then flags.
fn load_config(args: &ServerArgs) -> Result<Config, String> {
    let mut config = Config::new();
    if let Some(path) = &args.config_file {
        config.load_file(path).map_err(|e| e.to_string())?;
    }
    let mut env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("PLEXUS_")).collect();
    env.sort();
    for (var, value) in env {
        // Other PLEXUS_* variables belong to the test suite and tools (PLEXUS_LOG, PLEXUS_REQUIRE_REDIS_TOOLS...).
        let Some(name) = Config::name_for_env_var(&var) else { continue };
        config.set_from_cli(name, &value).map_err(|e| format!("{var}: {e}"))?;
    }
    let flags = [
        ("bind", &args.bind),
        ("port", &args.port),
        ("unixsocket", &args.unixsocket),
        ("requirepass", &args.requirepass),
        ("maxclients", &args.maxclients),
        ("databases", &args.databases),
        ("timeout", &args.timeout),
        ("loglevel", &args.loglevel),
    ];
    for (name, value) in flags {
        if let Some(value) = value {
            config.set_from_cli(name, value).map_err(|e| format!("--{name}: {e}"))?;
        }
    }
    Ok(config)
}

fn server(args: ServerArgs) -> Result<(), String> {
    let config = load_config(&args)?;
    init_logging(&config);
    let busy_poll = std::time::Duration::from_micros(args.busy_poll_us);
    let opts = ServerOptions { config, handle_signals: true, rpc_port: args.rpc_port, busy_poll };
    if args.io == Io::Threads {
        if opts.rpc_port.is_some() {
            return Err("--rpc-port needs --io reactor: the threads baseline serves only the KV protocol".into());
        }
        let server = ThreadsServer::bind(&opts.config, Arc::new(SystemClock), None, true).map_err(|e| e.to_string())?;
        for addr in server.local_addrs() {
            tracing::info!(%addr, io = "threads", "ready to accept connections");
        }
        server.run().map_err(|e| e.to_string())?;
        tracing::info!("bye");
        return Ok(());
    }
    let (mut reactor, addrs) = build(&opts, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
    for addr in &addrs {
        tracing::info!(%addr, "ready to accept connections");
    }
    reactor.run().map_err(|e| e.to_string())?;
    tracing::info!("bye");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Server(args) => server(args),
        Command::Bench(cmd) => plexus::bench::cli::main(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plexus: {e}");
            ExitCode::FAILURE
        }
    }
}
