//! Example: one unary RPC, end to end, in one process.
//!
//! Teaches: declaring a service with a `Router` (no code generator: the Rust types are the schema), serving it on
//! the reactor, and calling it with the blocking `Client`. Watch the wire with `RUST_LOG=debug`.
//!
//! Run: `cargo run --example rpc_hello` (starts a server on 127.0.0.1:0, calls it, exits 0).

use std::time::Duration;

use plexus::rpc::demo::{demo_router, methods, HelloReply, HelloRequest};
use plexus::rpc::{BackgroundServer, CallOptions, Client, ServerConfig, Status};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = BackgroundServer::start("127.0.0.1:0".parse()?, demo_router, ServerConfig::default())?;
    println!("server listening on {}", server.addr());

    let client = Client::connect(server.addr())?;
    let options = CallOptions::new().timeout(Duration::from_secs(5)).metadata("trace-id", "example-hello");
    let reply: HelloReply = client.unary(methods::HELLO, &HelloRequest { name: "world".into() }, options)?;
    println!("{} (trace id {})", reply.message, String::from_utf8_lossy(&reply.trace_id));
    assert_eq!(reply.message, "hello, world");

    // Errors are statuses: an unknown method is UNIMPLEMENTED.
    let err: Status = client
        .unary::<_, HelloReply>("demo.Greeter/Nope", &HelloRequest { name: "x".into() }, CallOptions::new())
        .unwrap_err();
    println!("unknown method -> {err}");

    drop(client);
    server.stop();
    Ok(())
}
