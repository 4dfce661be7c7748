//! # 03: an echo server on the plexus reactor
//!
//! Examples 01 and 02 wrote the event loop by hand. Here the loop is [`plexus::reactor::Reactor`], and the
//! server is only a protocol: [`plexus::echo::Echo`] appends whatever arrives to the connection's output, and the
//! reactor does the rest (draining edge-triggered readiness, one `writev` per connection per tick, WRITABLE
//! interest only while output is pending, backpressure, deferred close, graceful shutdown on Ctrl-C).
//!
//! Try it:
//!
//! ```text
//! cargo run --example 03_reactor_echo          # listens on 127.0.0.1:7003
//! nc 127.0.0.1 7003                             # type lines; they come back
//! ```

use std::io::Write;
use std::net::SocketAddr;

use plexus::echo::Echo;
use plexus::net::{bind_tcp, TcpOptions};
use plexus::reactor::{Config, Reactor};

fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7003".into())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("bad address: {e}")))?;
    let mut reactor = Reactor::new(Echo::default(), Config { handle_signals: true, ..Config::default() })?;
    let listener = reactor.listen(bind_tcp(addr, &TcpOptions::default())?)?;
    let bound = reactor.local_addr(listener).expect("a TCP listener has an address");
    println!("listening on {bound}");
    std::io::stdout().flush()?;
    reactor.run()
}
