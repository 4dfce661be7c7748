//! Example: client streaming. Many requests, one response.
//!
//! Teaches: per-call state on the server (`impl Inbound`, one value per call) receiving each message, flow control
//! pacing the upload (the server returns credit as it consumes), and `finish()` half-closing and waiting.
//!
//! Run: `cargo run --example rpc_upload_sum` (uploads 10,000 numbers, prints their sum, exits 0).

use std::time::Duration;

use plexus::rpc::demo::{demo_router, methods, Number, SumReply};
use plexus::rpc::{BackgroundServer, CallOptions, Client, ServerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = BackgroundServer::start("127.0.0.1:0".parse()?, demo_router, ServerConfig::default())?;
    let client = Client::connect(server.addr())?;

    let mut upload = client
        .client_streaming::<Number, SumReply>(methods::SUM, CallOptions::new().timeout(Duration::from_secs(10)))?;
    for value in 1..=10_000 {
        upload.send(&Number { value })?;
    }
    let reply = upload.finish()?;
    println!("server summed {} numbers: {}", reply.count, reply.total);
    assert_eq!(reply, SumReply { total: 50_005_000, count: 10_000 });

    drop(client);
    server.stop();
    Ok(())
}
