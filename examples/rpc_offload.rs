//! Example: offloading a slow handler to a worker pool while fast calls on the same connection complete first.
//!
//! Teaches: the reactor thread never blocks. `demo.Slow/Work` moves its blocking work and the call's sink to a
//! worker thread, which replies through the reactor's `Handle`; meanwhile fast `Hello` calls multiplexed on the
//! same TCP connection are answered at once. Without offloading, every call behind the slow one would wait.
//!
//! Run: `cargo run --example rpc_offload` (prints the completion order, exits 0).

use std::time::{Duration, Instant};

use plexus::rpc::demo::{demo_router, methods, HelloReply, HelloRequest, WorkReply, WorkRequest};
use plexus::rpc::{BackgroundServer, CallOptions, Client, ServerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = BackgroundServer::start("127.0.0.1:0".parse()?, demo_router, ServerConfig::default())?;
    let client = Client::connect(server.addr())?;
    let options = || CallOptions::new().timeout(Duration::from_secs(5));

    let started = Instant::now();
    let slow = client.start_unary::<_, WorkReply>(methods::WORK, &WorkRequest { millis: 500 }, options())?;
    println!("{:>6.1?}  started slow call (500 ms of blocking work)", started.elapsed());
    for i in 0..5 {
        let reply: HelloReply =
            client.unary(methods::HELLO, &HelloRequest { name: format!("fast #{i}") }, options())?;
        println!("{:>6.1?}  {}", started.elapsed(), reply.message);
    }
    let fast_done = started.elapsed();
    let work = slow.wait()?;
    println!("{:>6.1?}  slow call done on {}", started.elapsed(), work.worker);
    assert!(fast_done < Duration::from_millis(500), "fast calls finished before the slow one");

    drop(client);
    server.stop();
    Ok(())
}
