//! The RPC runtime end to end over loopback: every call kind through the real client and server, multiplexing,
//! deadlines, cancellation, flow control, drain, protocol violations on raw sockets, middleware, offloading, and
//! the `rpc_*` examples.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use plexus::net::{bind_tcp, TcpOptions};
use plexus::reactor::{Config, Handle, Reactor};
use plexus::rpc::demo::{self, methods, ChatMessage, HelloReply, HelloRequest, Number, SumReply, Tick, TickRequest};
use plexus::rpc::frame::{self, Frame, FrameDecoder, GoAwayCode, Role, Settings, PREFACE, PROTOCOL_VERSION};
use plexus::rpc::{
    CallKind, CallOptions, Client, Code, Ctx, Metadata, Metrics, RateLimit, Router, RpcServer, SendError, ServerConfig,
    ServerStream, Status, TokenAuth, TraceLog,
};

/// Every blocking socket read or write in this file gives up after this long.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout given to every RPC call, so a bug fails a test instead of hanging it.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

fn opts() -> CallOptions {
    CallOptions::new().timeout(CALL_TIMEOUT)
}

/// An RPC server on its own reactor thread, shut down and joined on drop.
struct Server {
    addr: SocketAddr,
    handle: Handle<RpcServer>,
    thread: Option<thread::JoinHandle<RpcServer>>,
}

impl Server {
    fn start(make_router: impl FnOnce() -> Router + Send + 'static) -> Server {
        Server::start_with(make_router, ServerConfig::default())
    }

    fn start_with(make_router: impl FnOnce() -> Router + Send + 'static, config: ServerConfig) -> Server {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = thread::spawn(move || {
            let server = RpcServer::with_config(make_router(), config);
            let reactor_config = Config { shutdown_grace: Duration::from_secs(5), ..Config::default() };
            let mut reactor = Reactor::new(server, reactor_config).unwrap();
            let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
            let lid = reactor.listen(bind_tcp(addr, &TcpOptions::default()).unwrap()).unwrap();
            tx.send((reactor.local_addr(lid).unwrap(), reactor.handle())).unwrap();
            reactor.run().unwrap();
            reactor.into_protocol()
        });
        let (addr, handle) = rx.recv().unwrap();
        Server { addr, handle, thread: Some(thread) }
    }

    fn client(&self) -> Client {
        Client::connect(self.addr).unwrap()
    }

    /// Graceful shutdown; returns the server for inspection.
    fn stop(mut self) -> RpcServer {
        self.handle.shutdown().unwrap();
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = self.handle.shutdown();
            let _ = t.join();
        }
    }
}

#[test]
fn unary_hello() {
    let server = Server::start(demo::demo_router);
    let client = server.client();
    let reply: HelloReply = client.unary(methods::HELLO, &HelloRequest { name: "ada".into() }, opts()).unwrap();
    assert_eq!(reply.message, "hello, ada");
    assert_eq!(reply.trace_id.len(), 16, "a trace id is generated when the client sends none");
}
