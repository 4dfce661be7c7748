//! The `plexus server` application: the pieces assembled into a running server.
//!
//! ```text
//!  ServerOptions (flags, PLEXUS_* env, config file) --> Engine + KvServer --> Reactor
//!      listeners: TCP on each --bind address, optional Unix socket
//! ```
//!
//! Tests use [`Server::start`] to run the same server in-process on an ephemeral port.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::kv::clock::{Clock, SystemClock};
use crate::kv::exec::{Engine, Settings};
use crate::kv::server::KvServer;
use crate::net::{bind_tcp, bind_unix, TcpOptions};
use crate::reactor::{Config, Handle, Reactor};

/// Everything needed to start a server.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    pub bind: Vec<IpAddr>,
    /// 0 picks a free port (tests); Redis would not listen on TCP at all.
    pub port: u16,
    pub unixsocket: Option<PathBuf>,
    pub settings: Settings,
    /// Idle seconds before a client is closed; 0 = never.
    pub timeout_secs: u64,
    pub handle_signals: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            bind: vec![IpAddr::from([127, 0, 0, 1])],
            port: 6379,
            unixsocket: None,
            settings: Settings::default(),
            timeout_secs: 0,
            handle_signals: false,
        }
    }
}

/// Builds the reactor with its listeners; returns it with the bound TCP addresses.
pub fn build(opts: &ServerOptions, clock: Arc<dyn Clock>) -> io::Result<(Reactor<KvServer>, Vec<SocketAddr>)> {
    let engine = Engine::new(opts.settings.clone(), clock);
    let config = Config {
        handle_signals: opts.handle_signals,
        idle_timeout: (opts.timeout_secs > 0).then(|| Duration::from_secs(opts.timeout_secs)),
        ..Config::default()
    };
    let mut reactor = Reactor::new(KvServer::new(engine), config)?;
    let mut addrs = Vec::new();
    for ip in &opts.bind {
        let lid = reactor.listen(bind_tcp(SocketAddr::new(*ip, opts.port), &TcpOptions::default())?)?;
        addrs.extend(reactor.local_addr(lid));
    }
    if let Some(path) = &opts.unixsocket {
        reactor.listen(bind_unix(path)?)?;
    }
    Ok((reactor, addrs))
}

/// A server running on a background thread, for tests and embedding. Shut down on drop.
pub struct Server {
    pub addr: SocketAddr,
    pub handle: Handle<KvServer>,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

impl Server {
    /// Starts a server on 127.0.0.1 with a free port and the system clock.
    pub fn start(opts: ServerOptions) -> io::Result<Server> {
        Self::start_with_clock(opts, Arc::new(SystemClock))
    }

    /// Starts a server with an injected clock (expiry tests).
    pub fn start_with_clock(mut opts: ServerOptions, clock: Arc<dyn Clock>) -> io::Result<Server> {
        opts.port = 0;
        opts.bind = vec![IpAddr::from([127, 0, 0, 1])];
        let (tx, rx) = crossbeam_channel::bounded(1);
        let thread = thread::spawn(move || {
            let (mut reactor, addrs) = match build(&opts, clock) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return Ok(());
                }
            };
            let _ = tx.send(Ok((addrs[0], reactor.handle())));
            reactor.run()
        });
        let (addr, handle) = rx.recv().map_err(|_| io::Error::other("server thread died"))??;
        Ok(Server { addr, handle, thread: Some(thread) })
    }

    /// Stops the server and waits for it.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        let Some(t) = self.thread.take() else { return Ok(()) };
        let _ = self.handle.shutdown();
        t.join().map_err(|_| io::Error::other("server thread panicked"))?
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
