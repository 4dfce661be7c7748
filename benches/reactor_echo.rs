//! Loopback echo round trips through the plexus reactor, at 1 and 64 concurrent connections.
//!
//! One iteration = every connection sends a 64-byte message and reads it back. With 64 connections the reactor
//! sees 64 requests per tick, which is where batching the flush phase pays off.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use plexus::echo::Echo;
use plexus::net::{bind_tcp, TcpOptions};
use plexus::reactor::{Config, Reactor};

const MESSAGE_BYTES: usize = 64;

fn start_server() -> (SocketAddr, plexus::reactor::Handle<Echo>, thread::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = thread::spawn(move || {
        let mut reactor = Reactor::new(Echo::default(), Config::default()).unwrap();
        let lid = reactor.listen(bind_tcp("127.0.0.1:0".parse().unwrap(), &TcpOptions::default()).unwrap()).unwrap();
        tx.send((reactor.local_addr(lid).unwrap(), reactor.handle())).unwrap();
        reactor.run().unwrap();
    });
    let (addr, handle) = rx.recv().unwrap();
    (addr, handle, t)
}

fn echo_round_trip(c: &mut Criterion) {
    let (addr, handle, server) = start_server();
    let mut group = c.benchmark_group("reactor_echo");
    for conns in [1usize, 64] {
        let mut socks: Vec<TcpStream> = (0..conns)
            .map(|_| {
                let s = TcpStream::connect(addr).unwrap();
                s.set_nodelay(true).unwrap();
                s
            })
            .collect();
        let msg = [b'x'; MESSAGE_BYTES];
        let mut back = [0u8; MESSAGE_BYTES];
        group.throughput(Throughput::Elements(conns as u64));
        group.bench_function(format!("{conns}_connections"), |b| {
            b.iter(|| {
                for s in socks.iter_mut() {
                    s.write_all(&msg).unwrap();
                }
                for s in socks.iter_mut() {
                    s.read_exact(&mut back).unwrap();
                }
            })
        });
    }
    group.finish();
    handle.shutdown().unwrap();
    server.join().unwrap();
}

criterion_group!(benches, echo_round_trip);
criterion_main!(benches);
