//! Example: server streaming. One request, a stream of responses sent by reactor timers.
//!
//! Teaches: a handler that keeps the call's `ServerStream` sink and sends later from `Ctx::after` timers (no thread
//! per call), and a client iterating the responses until the server's STATUS(OK).
//!
//! Run: `cargo run --example rpc_ticker` (starts a server on 127.0.0.1:0, streams 5 ticks, exits 0).

use std::time::{Duration, Instant};

use plexus::rpc::demo::{demo_router, methods, Tick, TickRequest};
use plexus::rpc::{BackgroundServer, CallOptions, Client, ServerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = BackgroundServer::start("127.0.0.1:0".parse()?, demo_router, ServerConfig::default())?;
    let client = Client::connect(server.addr())?;

    let started = Instant::now();
    let request = TickRequest { count: 5, interval_ms: 100, padding: 0 };
    let ticks = client.server_streaming::<_, Tick>(
        methods::TICKS,
        &request,
        CallOptions::new().timeout(Duration::from_secs(5)),
    )?;
    let mut seen = 0;
    for tick in ticks {
        let tick = tick?;
        println!("tick {} at {:?}", tick.n, started.elapsed());
        seen += 1;
    }
    assert_eq!(seen, 5);
    println!("stream ended with OK after {seen} ticks");

    drop(client);
    server.stop();
    Ok(())
}
