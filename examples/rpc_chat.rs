//! Example: bidirectional streaming. Both sides send whenever they like on one call.
//!
//! Teaches: a bidi handler answering each message as it arrives, a client sending and receiving on the same call,
//! and `close_send()` (HALF_CLOSE) letting the server end the call with STATUS(OK).
//!
//! Run: `cargo run --example rpc_chat` (chats three lines, exits 0).

use std::time::Duration;

use plexus::rpc::demo::{demo_router, methods, ChatMessage};
use plexus::rpc::{BackgroundServer, CallOptions, Client, ServerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = BackgroundServer::start("127.0.0.1:0".parse()?, demo_router, ServerConfig::default())?;
    let client = Client::connect(server.addr())?;

    let mut chat =
        client.bidi::<ChatMessage, ChatMessage>(methods::ECHO, CallOptions::new().timeout(Duration::from_secs(5)))?;
    for line in ["hi", "how are streams?", "bye"] {
        chat.send(&ChatMessage { text: line.into() })?;
        let answer = chat.recv()?.ok_or("stream ended early")?;
        println!("> {line}\n< {}", answer.text);
    }
    chat.close_send()?;
    assert!(chat.recv()?.is_none(), "the server ends the call with OK after our half-close");
    println!("chat closed cleanly");

    drop(client);
    server.stop();
    Ok(())
}
