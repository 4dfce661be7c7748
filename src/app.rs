//! The `plexus server` application: the pieces assembled into a running server.
//!
//! ```text
//!  ServerOptions (flags, PLEXUS_* env, config file) --> Engine + KvServer --> Reactor
//!      listeners: TCP on each --bind address, optional Unix socket
//! ```
//!
//! Tests use [`Server::start`] to run the same server in-process on an ephemeral port, and
//! [`Server::start_threads`] to run the thread-per-connection baseline ([`crate::kv::threads`]) the same way.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::kv::clock::{Clock, SystemClock};
use crate::kv::config::Config;
use crate::kv::exec::Engine;
use crate::kv::server::KvServer;
use crate::kv::threads::{ThreadsHandle, ThreadsServer};
use crate::net::{bind_tcp, bind_unix, TcpOptions};
use crate::reactor::{Config as ReactorConfig, Handle, Reactor};
use crate::rpc::demo::demo_router;
use crate::rpc::RpcServer;
use crate::server::PlexusServer;

/// Everything needed to start a server: the Redis configuration (from defaults, a config file, `PLEXUS_*`
/// variables and flags, in that order of precedence) plus process-level choices.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    pub config: Config,
    pub handle_signals: bool,
    /// Serve the RPC demo service on this port too, on the same reactor thread (`--rpc-port`). With RPC on, the
    /// KV port also accepts RPC connections, told apart by their first byte. `Some(0)` picks a free port.
    pub rpc_port: Option<u16>,
    /// The reactor's [`ReactorConfig::busy_poll`] (`--busy-poll-us`): keep polling this long after the last event
    /// before sleeping. Zero, the default, sleeps at once. The threads model ignores it.
    pub busy_poll: Duration,
}

impl ServerOptions {
    /// Sets one configuration parameter as a flag would; panics on an invalid value (for tests).
    pub fn with(mut self, name: &str, value: &str) -> Self {
        if let Err(e) = self.config.set_from_cli(name, value) {
            panic!("invalid test option {name}={value}: {e}");
        }
        self
    }
}

/// The I/O model serving the engine: `plexus server --io reactor|threads`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Io {
    /// One thread, epoll, every connection in a slab (the product).
    #[default]
    Reactor,
    /// One blocking OS thread per connection, the engine behind a mutex (the baseline it is measured against).
    Threads,
}

impl Io {
    pub fn name(self) -> &'static str {
        match self {
            Io::Reactor => "reactor",
            Io::Threads => "threads",
        }
    }
}

impl std::str::FromStr for Io {
    type Err = String;
    fn from_str(s: &str) -> Result<Io, String> {
        match s {
            "reactor" => Ok(Io::Reactor),
            "threads" => Ok(Io::Threads),
            _ => Err(format!("unknown I/O model '{s}' (reactor or threads)")),
        }
    }
}

impl std::fmt::Display for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Builds the reactor with its listeners; returns it with the bound TCP addresses. As in Redis, port 0 means no
/// TCP listener; [`Server::start`] instead asks the kernel for a free port.
pub fn build(opts: &ServerOptions, clock: Arc<dyn Clock>) -> io::Result<(Reactor<PlexusServer>, Vec<SocketAddr>)> {
    build_on(opts, clock, None)
}

fn build_on(
    opts: &ServerOptions,
    clock: Arc<dyn Clock>,
    ephemeral: Option<IpAddr>,
) -> io::Result<(Reactor<PlexusServer>, Vec<SocketAddr>)> {
    let cfg = &opts.config;
    let config = ReactorConfig {
        handle_signals: opts.handle_signals,
        idle_timeout: cfg.idle_timeout(),
        busy_poll: opts.busy_poll,
        ..ReactorConfig::default()
    };
    let engine = Engine::new(cfg.clone(), clock);
    let rpc = opts.rpc_port.map(|_| RpcServer::new(demo_router()));
    let mut reactor = Reactor::new(PlexusServer::new(KvServer::new(engine), rpc), config)?;
    let tcp = TcpOptions { backlog: cfg.tcp_backlog() as i32, ..TcpOptions::default() };
    let mut addrs = Vec::new();
    let binds: Vec<SocketAddr> = match ephemeral {
        Some(ip) => vec![SocketAddr::new(ip, 0)],
        None if cfg.port() == 0 => Vec::new(),
        None => {
            cfg.bind()
                .iter()
                .map(|b| {
                    // Redis's `-::1` means "this address if available"; plexus treats it as required minus the dash.
                    let ip: IpAddr = b.trim_start_matches('-').parse().map_err(|_| {
                        io::Error::new(io::ErrorKind::InvalidInput, format!("invalid bind address '{b}'"))
                    })?;
                    Ok(SocketAddr::new(ip, cfg.port()))
                })
                .collect::<io::Result<_>>()?
        }
    };
    for addr in binds {
        let lid = reactor.listen(bind_tcp(addr, &tcp)?)?;
        addrs.extend(reactor.local_addr(lid));
    }
    if let Some(path) = cfg.unixsocket() {
        reactor.listen(bind_unix(&path)?)?;
    }
    if let Some(port) = opts.rpc_port {
        let ip = match (ephemeral, addrs.first()) {
            (Some(ip), _) => ip,
            (None, Some(addr)) => addr.ip(),
            (None, None) => IpAddr::from([127, 0, 0, 1]),
        };
        let port = if ephemeral.is_some() { 0 } else { port };
        let lid = reactor.listen(bind_tcp(SocketAddr::new(ip, port), &tcp)?)?;
        reactor.protocol_mut().rpc_listener = Some(lid);
        addrs.extend(reactor.local_addr(lid));
    }
    Ok((reactor, addrs))
}

/// A server running on background threads, for tests and embedding. Shut down on drop.
pub struct Server {
    pub addr: SocketAddr,
    /// The RPC port's address, when [`ServerOptions::rpc_port`] was set (reactor only).
    pub rpc_addr: Option<SocketAddr>,
    stopper: Stopper,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

/// How to ask each I/O model to stop.
enum Stopper {
    Reactor(Handle<PlexusServer>),
    Threads(ThreadsHandle),
}

impl Server {
    /// Starts a server on 127.0.0.1 with a free port and the system clock.
    pub fn start(opts: ServerOptions) -> io::Result<Server> {
        Self::start_with_clock(opts, Arc::new(SystemClock))
    }

    /// Starts a server with an injected clock (expiry tests).
    pub fn start_with_clock(opts: ServerOptions, clock: Arc<dyn Clock>) -> io::Result<Server> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let thread = thread::spawn(move || {
            let (mut reactor, addrs) = match build_on(&opts, clock, Some(IpAddr::from([127, 0, 0, 1]))) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return Ok(());
                }
            };
            let _ = tx.send(Ok((addrs[0], addrs.get(1).copied(), reactor.handle())));
            reactor.run()
        });
        let (addr, rpc_addr, handle) = rx.recv().map_err(|_| io::Error::other("server thread died"))??;
        Ok(Server { addr, rpc_addr, stopper: Stopper::Reactor(handle), thread: Some(thread) })
    }

    /// Starts the thread-per-connection server ([`Io::Threads`]) on 127.0.0.1 with a free port.
    pub fn start_threads(opts: ServerOptions) -> io::Result<Server> {
        Self::start_threads_with_clock(opts, Arc::new(SystemClock))
    }

    /// [`Server::start_threads`] with an injected clock.
    pub fn start_threads_with_clock(opts: ServerOptions, clock: Arc<dyn Clock>) -> io::Result<Server> {
        let server = ThreadsServer::bind(&opts.config, clock, Some(IpAddr::from([127, 0, 0, 1])), false)?;
        let addr = server.local_addrs()[0];
        let stopper = Stopper::Threads(server.handle());
        let thread = thread::Builder::new().name("threads-cron".into()).spawn(move || server.run())?;
        Ok(Server { addr, rpc_addr: None, stopper, thread: Some(thread) })
    }

    /// Starts a server of either I/O model.
    pub fn start_io(io: Io, opts: ServerOptions) -> io::Result<Server> {
        match io {
            Io::Reactor => Self::start(opts),
            Io::Threads => Self::start_threads(opts),
        }
    }

    /// The reactor's handle (to post closures to the loop), or `None` for the threads model.
    pub fn handle(&self) -> Option<&Handle<PlexusServer>> {
        match &self.stopper {
            Stopper::Reactor(h) => Some(h),
            Stopper::Threads(_) => None,
        }
    }

    /// Stops the server and waits for it.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        let Some(t) = self.thread.take() else { return Ok(()) };
        match &self.stopper {
            Stopper::Reactor(h) => {
                let _ = h.shutdown();
            }
            Stopper::Threads(h) => h.shutdown(),
        }
        t.join().map_err(|_| io::Error::other("server thread panicked"))?
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
