//! `plexus server --rpc-port`: the KV server and the RPC demo service on one reactor thread. RPC works on its own
//! port and, told apart by its first byte, on the KV port too, while Redis clients on the KV port are unaffected.

mod support;

use std::time::Duration;

use plexus::app::{Server, ServerOptions};
use plexus::rpc::demo::{methods, HelloReply, HelloRequest};
use plexus::rpc::{CallOptions, Client};

fn hello(addr: std::net::SocketAddr, name: &str) -> String {
    let client = Client::connect(addr).unwrap();
    let options = CallOptions::new().timeout(Duration::from_secs(5));
    let reply: HelloReply = client.unary(methods::HELLO, &HelloRequest { name: name.into() }, options).unwrap();
    reply.message
}

#[test]
fn rpc_and_resp_share_one_reactor_and_even_one_port() {
    let server = Server::start(ServerOptions { rpc_port: Some(0), ..ServerOptions::default() }).unwrap();
    let rpc_addr = server.rpc_addr.expect("an RPC port");

    let mut redis = redis::Client::open(format!("redis://{}/", server.addr))
        .unwrap()
        .get_connection_with_timeout(Duration::from_secs(10))
        .unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut redis).unwrap();

    assert_eq!(hello(rpc_addr, "rpc port"), "hello, rpc port");
    // The KV port sniffs the first byte: 0x89 is the RPC preface, '*' or a letter is RESP.
    assert_eq!(hello(server.addr, "kv port"), "hello, kv port");

    let v: String = redis::cmd("GET").arg("k").query(&mut redis).unwrap();
    assert_eq!(v, "v");
    server.stop().unwrap();
}

#[test]
fn without_rpc_the_kv_port_treats_the_preface_as_an_inline_command() {
    use std::io::{Read, Write};
    let server = Server::start(ServerOptions::default()).unwrap();
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"\x89PLX\r\n\x1a\n").unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"-ERR unknown command"), "{:?}", String::from_utf8_lossy(&buf[..n]));
}

#[test]
fn a_server_that_busy_polls_serves_both_protocols_and_its_timers() {
    // `--busy-poll-us` keeps the loop polling after each event; replies and timers must not notice.
    let process = support::spawn_plexus(&["--rpc-port", "0", "--busy-poll-us", "200"], &[]);
    let mut conn = process.raw();
    conn.call(&support::cmdline("SET k v"), b"+OK\r\n");
    assert_eq!(hello(process.addr(), "busy"), "hello, busy");
    // BLPOP's timeout is a reactor timer: it must fire while the loop polls rather than sleeps.
    conn.call(&support::cmdline("BLPOP missing 0.05"), b"*-1\r\n");
    conn.call(&support::cmdline("GET k"), b"$1\r\nv\r\n");
}
