//! The `plexus` binary: `plexus server` runs the Redis-compatible server on the reactor.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use plexus::app::{build, ServerOptions};
use plexus::kv::clock::SystemClock;
use plexus::kv::exec::Settings;

#[derive(Parser)]
#[command(name = "plexus", version, about = "An epoll reactor driving a Redis-compatible server and an RPC protocol")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Redis-compatible key-value server.
    Server(ServerArgs),
}

#[derive(clap::Args)]
struct ServerArgs {
    /// Address(es) to listen on.
    #[arg(long, env = "PLEXUS_BIND", value_delimiter = ' ', default_value = "127.0.0.1")]
    bind: Vec<IpAddr>,
    /// TCP port.
    #[arg(long, env = "PLEXUS_PORT", default_value_t = 6379)]
    port: u16,
    /// Also listen on this Unix-domain socket.
    #[arg(long, env = "PLEXUS_UNIXSOCKET")]
    unixsocket: Option<PathBuf>,
    /// Require clients to AUTH with this password.
    #[arg(long, env = "PLEXUS_REQUIREPASS", hide_env_values = true)]
    requirepass: Option<String>,
    /// Maximum simultaneous clients.
    #[arg(long, env = "PLEXUS_MAXCLIENTS", default_value_t = 10_000)]
    maxclients: usize,
    /// Number of databases.
    #[arg(long, env = "PLEXUS_DATABASES", default_value_t = 16)]
    databases: usize,
    /// Close clients idle for this many seconds (0 = never).
    #[arg(long, env = "PLEXUS_TIMEOUT", default_value_t = 0)]
    timeout: u64,
    /// Log level: debug, verbose, notice, warning (Redis's names) or a tracing filter.
    #[arg(long, env = "PLEXUS_LOGLEVEL", default_value = "notice")]
    loglevel: String,
}

fn init_logging(level: &str) {
    let filter = match level {
        "debug" => "debug",
        "verbose" => "info",
        "notice" => "info",
        "warning" => "warn",
        other => other,
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
}

fn server(args: ServerArgs) -> std::io::Result<()> {
    init_logging(&args.loglevel);
    let opts = ServerOptions {
        bind: args.bind,
        port: args.port,
        unixsocket: args.unixsocket,
        settings: Settings {
            requirepass: args.requirepass.filter(|p| !p.is_empty()).map(String::into_bytes),
            databases: args.databases,
            maxclients: args.maxclients,
        },
        timeout_secs: args.timeout,
        handle_signals: true,
    };
    let (mut reactor, addrs) = build(&opts, Arc::new(SystemClock))?;
    for addr in &addrs {
        tracing::info!(%addr, "ready to accept connections");
    }
    reactor.run()?;
    tracing::info!("bye");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Server(args) => server(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plexus: {e}");
            ExitCode::FAILURE
        }
    }
}
