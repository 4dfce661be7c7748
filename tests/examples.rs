//! Proves every teaching echo server in `examples/` is correct under load: many concurrent clients,
//! a 1 MB payload, 16 MB to a small-window client, a one-write burst, half-close and vanishing peers, each against the real example binary.
//!
//! Each example runs as a child process on `127.0.0.1:0` (see `support::spawn_example`). Every
//! scenario is written once as a plain function taking the example's name; `echo_server_tests!`
//! stamps out one `#[test]` per scenario per example, so adding a server is one line in the list
//! at the bottom. Every socket has read and write timeouts, so a broken server fails a test
//! instead of hanging it.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use support::spawn_example;

/// Upper bound on any single blocking read or write in these tests. Far above what a correct
/// server needs even on a busy 2-core machine; it only turns a hang into a failure.
const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// Clients connected at the same time in the concurrency test, and messages each one echoes.
const CLIENTS: usize = 200;
const MESSAGES_PER_CLIENT: usize = 100;

/// The large-payload size: far more than any socket buffer plus the servers' output high-water
/// marks, so partial writes and backpressure are certainly exercised.
const LARGE_PAYLOAD_BYTES: usize = 1024 * 1024;

/// Small enough that client and server socket buffers can hold all of it even if the client
/// reads nothing until it has sent everything (the half-close test does exactly that).
const HALF_CLOSE_PAYLOAD_BYTES: usize = 32 * 1024;

/// Bursts sent with one `write` each. Larger than the servers' 16 KiB read chunk, so one burst
/// needs several reads, and small enough for socket buffers to hold a whole burst while the client
/// is still writing it.
const BURST_BYTES: [usize; 3] = [20_000, 48 * 1024, 60_000];

/// Payload for the small-window client. Linux autotunes a socket's send buffer up to
/// `net.ipv4.tcp_wmem` max (4 MiB by default), so the server's kernel alone can swallow a few
/// megabytes of echo; 16 MiB is what it takes for the server's own writes to come back short
/// (`WouldBlock`) and its output buffer to fill. Measured: about 0.3 s on loopback.
const SMALL_WINDOW_PAYLOAD_BYTES: usize = 16 * 1024 * 1024;

/// Receive buffer of the small-window client: 4 KiB (Linux doubles it for bookkeeping and
/// enforces a small minimum), so at most a few KiB are in flight towards the client.
const SMALL_RECV_BUFFER_BYTES: usize = 4 * 1024;

/// Client send buffer for the burst test, comfortably above the largest burst.
const CLIENT_SEND_BUFFER_BYTES: usize = 256 * 1024;

/// Small stack for the many client threads; they hold a few short strings.
const CLIENT_THREAD_STACK_BYTES: usize = 64 * 1024;

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("set read timeout");
    stream.set_write_timeout(Some(IO_TIMEOUT)).expect("set write timeout");
    stream.set_nodelay(true).expect("set nodelay");
    stream
}

/// Like [`connect`], but with the receive buffer shrunk before the handshake, so the window
/// the client advertises stays small and the server's writes back up.
fn connect_small_window(addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(SMALL_RECV_BUFFER_BYTES).expect("set receive buffer");
    socket.connect(&addr.into()).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("set read timeout");
    stream.set_write_timeout(Some(IO_TIMEOUT)).expect("set write timeout");
    stream
}

/// Deterministic pseudo-random bytes (a 64-bit LCG), so reordered, duplicated or dropped chunks
/// show up as a mismatch, which a repeating pattern could hide.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect()
}

/// Like `assert_eq!` on byte buffers, but reports the first difference instead of printing
/// a megabyte.
fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    if let Some(i) = got.iter().zip(want).position(|(g, w)| g != w) {
        panic!("{what}: first difference at byte {i} (got {}, want {})", got[i], want[i]);
    }
    assert_eq!(got.len(), want.len(), "{what}: length differs");
}

/// Read until the server closes its side, failing on a timeout or error.
fn read_until_eof(stream: &mut TcpStream, what: &str) -> Vec<u8> {
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap_or_else(|e| panic!("{what}: reading the echo after {} bytes: {e}", got.len()));
    got
}

/// 200 clients connect first (so the server holds them all at once), then all talk
/// concurrently, each sending 100 distinct messages and checking every echo.
fn many_clients_each_echo_100_messages(example: &str) {
    let mut server = spawn_example(example);
    let streams: Vec<TcpStream> = (0..CLIENTS).map(|_| connect(server.addr())).collect();
    let start = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(client, mut stream)| {
            let start = Arc::clone(&start);
            thread::Builder::new()
                .stack_size(CLIENT_THREAD_STACK_BYTES)
                .spawn(move || {
                    start.wait();
                    let mut echo = Vec::new();
                    for message in 0..MESSAGES_PER_CLIENT {
                        let sent = format!("client {client} message {message}\n");
                        stream.write_all(sent.as_bytes()).expect("send message");
                        echo.resize(sent.len(), 0);
                        stream.read_exact(&mut echo).expect("read echo");
                        assert_eq!(echo, sent.as_bytes(), "client {client} message {message}");
                    }
                })
                .expect("spawn client thread")
        })
        .collect();
    for client in clients {
        if let Err(panic) = client.join() {
            std::panic::resume_unwind(panic);
        }
    }
    server.assert_running();
}

/// 1 MB sent by one thread while another reads: the echo comes back byte for byte, then EOF
/// after the client's half-close. Neither side can deadlock on full socket buffers.
fn one_megabyte_echoes_intact(example: &str) {
    let mut server = spawn_example(example);
    echo_payload(connect(server.addr()), LARGE_PAYLOAD_BYTES);
    server.assert_running();
}

/// A larger payload, to a client whose receive window is tiny, so the server's writes are
/// certainly partial and its output backs up: it must keep every unsent byte, stop reading
/// (or block) instead of buffering without bound, and still finish echoing after the FIN.
fn large_payload_to_a_small_window_client(example: &str) {
    let mut server = spawn_example(example);
    echo_payload(connect_small_window(server.addr()), SMALL_WINDOW_PAYLOAD_BYTES);
    server.assert_running();
}

/// Send `len` bytes from one thread and half-close; read the echo to EOF on this one; compare.
fn echo_payload(mut reader: TcpStream, len: usize) {
    let mut writer = reader.try_clone().expect("clone stream");
    let payload = pattern(len, 1);
    let to_send = payload.clone();
    let sender = thread::spawn(move || {
        // An odd write size, so the server sees reads that straddle its chunk size.
        for piece in to_send.chunks(7_919) {
            writer.write_all(piece).expect("send payload");
        }
        writer.shutdown(Shutdown::Write).expect("half-close");
    });
    let got = read_until_eof(&mut reader, "large echo");
    sender.join().expect("sender thread");
    assert_same_bytes(&got, &payload, "large echo");
}

/// A burst that lands in the server's socket all at once, followed by silence, must be echoed
/// in full. This is the edge-triggered trap: one readiness event for many reads' worth of bytes.
/// A server that reads once per event and forgets the rest leaves bytes in the socket that no
/// later event will report, and this test times out reading the echo.
fn one_write_burst_is_fully_echoed(example: &str) {
    let mut server = spawn_example(example);
    let mut stream = connect(server.addr());
    // A send buffer big enough for a whole burst, so the kernel can ship it as one segment
    // (loopback's MTU is 64 KiB) instead of metering it out as the default 16 KiB buffer drains.
    socket2::SockRef::from(&stream).set_send_buffer_size(CLIENT_SEND_BUFFER_BYTES).expect("set send buffer");
    for (round, &len) in BURST_BYTES.iter().enumerate() {
        let burst = pattern(len, 10 + round as u64);
        stream.write_all(&burst).expect("send burst");
        let mut echo = vec![0u8; len];
        stream.read_exact(&mut echo).unwrap_or_else(|e| panic!("burst of {len} bytes: reading the echo: {e}"));
        assert_same_bytes(&echo, &burst, "burst echo");
    }
    server.assert_running();
}

/// The client sends everything, shuts down its write side, and only then starts reading: the
/// server must echo every byte it received before the FIN, and then close.
fn half_close_gets_every_byte_back(example: &str) {
    let mut server = spawn_example(example);
    let mut stream = connect(server.addr());
    let payload = pattern(HALF_CLOSE_PAYLOAD_BYTES, 2);
    for piece in payload.chunks(1_000) {
        stream.write_all(piece).expect("send");
    }
    stream.shutdown(Shutdown::Write).expect("half-close");
    let got = read_until_eof(&mut stream, "half-close echo");
    assert_same_bytes(&got, &payload, "half-close echo");
    server.assert_running();
}

/// Peers that close without reading their echo (a FIN with unread data, then an RST when the
/// server writes) and peers that reset outright must cost the server only those connections.
fn vanishing_peers_do_not_hurt_others(example: &str) {
    let mut server = spawn_example(example);
    let mut survivor = connect(server.addr());
    for round in 0..20 {
        let mut quitter = connect(server.addr());
        quitter.write_all(&pattern(8 * 1024, round)).expect("send before quitting");
        if round % 2 == 0 {
            // Close with a reset (SO_LINGER 0) instead of a FIN.
            socket2::SockRef::from(&quitter).set_linger(Some(Duration::ZERO)).expect("set linger");
        }
        drop(quitter);
    }
    let sent = b"still there?\n";
    survivor.write_all(sent).expect("survivor send");
    let mut echo = [0u8; 13];
    survivor.read_exact(&mut echo).expect("survivor echo");
    assert_eq!(&echo, sent);
    // And a brand-new client is served too.
    let mut late = connect(server.addr());
    late.write_all(sent).expect("late send");
    late.shutdown(Shutdown::Write).expect("late half-close");
    assert_eq!(read_until_eof(&mut late, "late client"), sent);
    server.assert_running();
}

/// One module per example, one `#[test]` per scenario in each.
macro_rules! echo_server_tests {
    ($($module:ident => $example:literal,)*) => {$(
        mod $module {
            #[test]
            fn many_clients_each_echo_100_messages() {
                super::many_clients_each_echo_100_messages($example);
            }
            #[test]
            fn one_megabyte_echoes_intact() {
                super::one_megabyte_echoes_intact($example);
            }
            #[test]
            fn large_payload_to_a_small_window_client() {
                super::large_payload_to_a_small_window_client($example);
            }
            #[test]
            fn one_write_burst_is_fully_echoed() {
                super::one_write_burst_is_fully_echoed($example);
            }
            #[test]
            fn half_close_gets_every_byte_back() {
                super::half_close_gets_every_byte_back($example);
            }
            #[test]
            fn vanishing_peers_do_not_hurt_others() {
                super::vanishing_peers_do_not_hurt_others($example);
            }
        }
    )*};
}

// The example servers under test: one line each (example 3 joins as `ex03_... => "03_...",`).
echo_server_tests! {
    ex01_raw_epoll => "01_raw_epoll_echo",
    ex02_mio => "02_mio_echo",
    ex03_reactor => "03_reactor_echo",
    ex04_threads => "04_threads_echo",
}
