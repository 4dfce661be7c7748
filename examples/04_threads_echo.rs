//! Example 4: the baseline. One OS thread per connection, blocking `std::net`.
//!
//! What it teaches: the model every event loop is measured against. Each client
//! gets a thread that blocks in `read` and `write`; the kernel scheduler is the
//! "event loop", and each thread's stack is the per-connection state. It is the
//! simplest correct echo server here: no readiness, no output buffer, no
//! interest sets. Partial writes are handled by `write_all`, which loops in the
//! thread, and a slow reader simply blocks its own thread (that is its
//! backpressure: the thread stops reading while it is stuck writing).
//! The cost is one thread per connection: a stack (virtual memory, mostly
//! untouched, see [`THREAD_STACK_BYTES`]), a kernel task, and a context switch
//! on every wake-up. Compare examples 1-3, where one thread serves every client.
//! The chapter behind it is `docs/reactor.md`.
//!
//! Try it: `cargo run --example 04_threads_echo` then `nc 127.0.0.1 7004`.
//! Pass an address to bind elsewhere: `cargo run --example 04_threads_echo -- 127.0.0.1:0`.
//!
//! Data flow: main thread blocks in `accept` -> spawns a thread per client ->
//! that thread loops `read` (blocks until bytes arrive) -> `write_all` (blocks
//! until the kernel took every byte) -> on EOF shuts down its write side and
//! exits, which closes the socket.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;

/// Stack reserved per connection thread: 64 KiB. Rust's default is 2 MiB
/// (`RUST_MIN_STACK`); that is virtual address space and only touched pages
/// cost RAM, but 10 000 clients would still reserve 20 GiB of address space
/// and map a guard page each. An echo loop needs little stack: the read buffer
/// is on the heap, and the deepest call is `eprintln!`. Choosing the size
/// explicitly is part of the lesson: thread-per-connection servers must budget
/// stack x connections.
const THREAD_STACK_BYTES: usize = 64 * 1024;

/// Bytes per `read` call. On the heap (see `THREAD_STACK_BYTES`).
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// The default address: port 700N for example N.
const DEFAULT_ADDR: &str = "127.0.0.1:7004";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args().nth(1).unwrap_or_else(|| DEFAULT_ADDR.to_string()).parse()?;
    let listener = TcpListener::bind(addr)?;

    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;

    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                // E.g. EMFILE: out of file descriptors. Log and keep serving; a
                // production server would also back off for a moment.
                eprintln!("accept: {e}");
                continue;
            }
        };
        let spawned =
            thread::Builder::new().name("echo-conn".to_string()).stack_size(THREAD_STACK_BYTES).spawn(move || {
                if let Err(e) = echo(stream) {
                    eprintln!("connection: {e}");
                }
            });
        if let Err(e) = spawned {
            // Out of threads or memory: this client is dropped (its socket is
            // closed when the closure is dropped), everyone else carries on. This
            // is the failure mode the event-loop examples do not have.
            eprintln!("spawn: {e}");
        }
    }
    Ok(())
}

/// Echo one client until it finishes sending, then close.
fn echo(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut chunk = vec![0u8; READ_CHUNK_BYTES];
    loop {
        let n = match stream.read(&mut chunk) {
            // EOF: the peer shut down its write side (half-close) or closed.
            // Everything it sent has already been echoed by `write_all` below.
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        // Blocks until the kernel has taken every byte: partial writes are
        // retried inside `write_all`, so nothing is ever dropped.
        stream.write_all(&chunk[..n])?;
    }
    // Send our FIN explicitly so a half-closed peer sees EOF now. Dropping the
    // stream would do it too; this says it. An error here (the peer already
    // vanished) changes nothing, so it is ignored.
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}
