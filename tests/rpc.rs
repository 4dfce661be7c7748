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
            let reactor_config = Config { shutdown_grace: Duration::from_secs(2), ..Config::default() };
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
        // The reactor may already be gone if the test shut it down itself.
        let _ = self.handle.shutdown();
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

#[test]
fn server_streaming_ticks_arrive_in_order() {
    let server = Server::start(demo::demo_router);
    let client = server.client();
    let req = TickRequest { count: 5, interval_ms: 1, padding: 0 };
    let ticks: Vec<Tick> = client.server_streaming(methods::TICKS, &req, opts()).unwrap().map(Result::unwrap).collect();
    assert_eq!(ticks.iter().map(|t| t.n).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
}

#[test]
fn client_streaming_sum_of_a_thousand_numbers() {
    let server = Server::start(demo::demo_router);
    let client = server.client();
    let mut upload = client.client_streaming::<Number, SumReply>(methods::SUM, opts()).unwrap();
    for value in 1..=1000 {
        upload.send(&Number { value }).unwrap();
    }
    assert_eq!(upload.finish().unwrap(), SumReply { total: 500_500, count: 1000 });
    // No requests at all is a valid client stream too.
    let empty = client.client_streaming::<Number, SumReply>(methods::SUM, opts()).unwrap();
    assert_eq!(empty.finish().unwrap(), SumReply { total: 0, count: 0 });
}

#[test]
fn bidi_echo_answers_each_message_including_a_large_one() {
    let server = Server::start(demo::demo_router);
    let client = server.client();
    let mut chat = client.bidi::<ChatMessage, ChatMessage>(methods::ECHO, opts()).unwrap();
    for i in 0..3 {
        chat.send(&ChatMessage { text: format!("m{i}") }).unwrap();
        assert_eq!(chat.recv().unwrap().unwrap().text, format!("echo #{}: m{i}", i + 1));
    }
    // 1 MiB: split into MESSAGE_CONTINUES pieces both ways, bigger than a stream window's half.
    let big = "x".repeat(1 << 20);
    chat.send(&ChatMessage { text: big.clone() }).unwrap();
    assert_eq!(chat.recv().unwrap().unwrap().text, format!("echo #4: {big}"));
    chat.close_send().unwrap();
    assert_eq!(chat.recv().unwrap(), None, "OK after the half-close");
}

#[test]
fn unknown_method_and_wrong_call_kind_are_unimplemented() {
    let server = Server::start(demo::demo_router);
    let client = server.client();
    let err = client.unary::<_, HelloReply>("demo.Nope/Nothing", &HelloRequest { name: "x".into() }, opts());
    assert_eq!(err.unwrap_err().code, Code::Unimplemented);
    // Hello is unary; calling it as server-streaming is refused.
    let mut stream =
        client.server_streaming::<_, HelloReply>(methods::HELLO, &HelloRequest { name: "x".into() }, opts()).unwrap();
    let err = stream.recv().unwrap_err();
    assert_eq!(err.code, Code::Unimplemented);
    assert!(String::from_utf8_lossy(&err.message).contains("is unary"), "{err}");
    // A request the server cannot decode is INTERNAL.
    let err = client.unary::<_, HelloReply>(methods::HELLO, &plexus::rpc::Raw(Bytes::from_static(b"\xff")), opts());
    assert_eq!(err.unwrap_err().code, Code::Internal);
}

/// Replies after the number of milliseconds in the request, from a reactor timer.
fn delayed_echo_router(order: Arc<std::sync::Mutex<Vec<u32>>>) -> Router {
    Router::new().unary_deferred("test.Delay/Echo", move |ctx: &mut Ctx, req: (u32, u32), out: ServerStream<u32>| {
        let order = order.clone();
        ctx.after(Duration::from_millis(u64::from(req.1)), move |_| {
            order.lock().unwrap().push(req.0);
            out.reply(Ok(req.0));
        });
    })
}

#[test]
fn a_thousand_interleaved_calls_on_one_connection_are_answered_out_of_order() {
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let server_order = order.clone();
    let server = Server::start(move || delayed_echo_router(server_order));
    let client = server.client();
    // More calls than the server's 100 concurrent streams: the client queues the rest locally.
    let pending: Vec<_> = (0..1000u32)
        .map(|i| client.start_unary::<_, u32>("test.Delay/Echo", &(i, (1000 - i) % 20), opts()).unwrap())
        .collect();
    for (i, call) in pending.into_iter().enumerate() {
        assert_eq!(call.wait().unwrap(), i as u32);
    }
    let order = order.lock().unwrap();
    assert_eq!(order.len(), 1000);
    assert!(order.windows(2).any(|w| w[0] > w[1]), "answers came back in call order; expected interleaving");
}

/// A handler that never answers; it parks the call's sink where the test can inspect it.
fn hanging_router(parked: Arc<std::sync::Mutex<Vec<ServerStream<()>>>>) -> Router {
    Router::new().unary_deferred("test.Hang/Forever", move |_ctx: &mut Ctx, _: (), out: ServerStream<()>| {
        parked.lock().unwrap().push(out);
    })
}

#[test]
fn a_client_deadline_fails_the_call_and_cancels_it_on_the_server() {
    let parked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let server_parked = parked.clone();
    let server = Server::start(move || hanging_router(server_parked));
    let client = server.client();
    let started = Instant::now();
    let err = client.unary::<_, ()>("test.Hang/Forever", &(), CallOptions::new().timeout(Duration::from_millis(100)));
    assert_eq!(err.unwrap_err().code, Code::DeadlineExceeded);
    assert!(started.elapsed() < Duration::from_secs(5));
    // The client's CANCEL (or the server's own deadline, whichever came first) freed the stream and told the
    // handler's sink.
    wait_until(&server, |s| s.open_calls() == 0);
    assert!(parked.lock().unwrap()[0].is_cancelled());
}

/// Polls the server's state on its own thread until `done` holds (bounded: fails after `IO_TIMEOUT`).
fn wait_until(server: &Server, done: impl Fn(&RpcServer) -> bool + Send + Clone + 'static) {
    let give_up = Instant::now() + IO_TIMEOUT;
    loop {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let check = done.clone();
        server.handle.run(move |s: &mut RpcServer, _| tx.send(check(s)).unwrap()).unwrap();
        if rx.recv_timeout(IO_TIMEOUT).unwrap() {
            return;
        }
        assert!(Instant::now() < give_up, "condition not reached in time");
        thread::sleep(Duration::from_millis(5));
    }
}

fn server_stats(server: &Server) -> plexus::rpc::server::ServerStats {
    let (tx, rx) = crossbeam_channel::bounded(1);
    server.handle.run(move |s: &mut RpcServer, _| tx.send(s.stats()).unwrap()).unwrap();
    rx.recv_timeout(IO_TIMEOUT).unwrap()
}

#[test]
fn dropping_a_call_cancels_it_on_the_server() {
    let server = Server::start(demo::demo_router);
    let client = server.client();
    let req = TickRequest { count: 100_000, interval_ms: 2, padding: 0 };
    let mut ticks = client.server_streaming::<_, Tick>(methods::TICKS, &req, opts()).unwrap();
    assert_eq!(ticks.recv().unwrap().unwrap().n, 0);
    assert_eq!(ticks.recv().unwrap().unwrap().n, 1);
    drop(ticks);
    wait_until(&server, |s| s.open_calls() == 0 && s.stats().cancels == 1);
    // The connection is still fine.
    let reply: HelloReply = client.unary(methods::HELLO, &HelloRequest { name: "b".into() }, opts()).unwrap();
    assert_eq!(reply.message, "hello, b");
}

#[test]
fn a_reader_that_stops_consuming_stops_the_server_from_buffering() {
    const MESSAGE: usize = 16 * 1024;
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let server = Server::start(move || {
        Router::new().server_streaming(
            "test.Flood/Go",
            move |ctx: &mut Ctx, total: u32, out: ServerStream<plexus::rpc::Raw>| {
                fn pump(ctx: &mut Ctx, out: ServerStream<plexus::rpc::Raw>, left: u32, counter: Arc<AtomicUsize>) {
                    let mut left = left;
                    while left > 0 {
                        match out.send(&plexus::rpc::Raw(Bytes::from(vec![7u8; MESSAGE]))) {
                            Ok(()) => {
                                counter.fetch_add(1, Ordering::SeqCst);
                                left -= 1;
                            }
                            Err(SendError::Full) => break,
                            Err(_) => return,
                        }
                    }
                    if left == 0 {
                        return out.finish(Status::ok());
                    }
                    ctx.after(Duration::from_millis(2), move |ctx| pump(ctx, out, left, counter));
                }
                pump(ctx, out, total, counter.clone());
            },
        )
    });
    let client = server.client();
    let total = 400u32; // 6.4 MiB of responses
    let mut stream = client.server_streaming::<_, plexus::rpc::Raw>("test.Flood/Go", &total, opts()).unwrap();
    // Read nothing for a while: the server may only get one stream window ahead, plus its queue cap.
    thread::sleep(Duration::from_millis(300));
    let sent_while_stalled = accepted.load(Ordering::SeqCst) * MESSAGE;
    let window = Settings::default().initial_stream_window as usize;
    let cap = ServerConfig::default().max_queued_bytes_per_stream;
    assert!(sent_while_stalled <= window + cap + MESSAGE, "server accepted {sent_while_stalled} bytes");
    wait_until(&server, move |s| s.queued_bytes() <= cap + MESSAGE);
    // Now read everything: credit flows back and the call completes.
    let mut got = 0;
    while let Some(msg) = stream.recv().unwrap() {
        assert_eq!(msg.0.len(), MESSAGE);
        got += 1;
    }
    assert_eq!(got, total);
}

/// A hand-driven client connection: raw frames in and out, for protocol-violation tests.
struct RawConn {
    socket: TcpStream,
    decoder: FrameDecoder,
    buf: BytesMut,
}

impl RawConn {
    /// Connects and completes the handshake.
    fn open(addr: SocketAddr) -> RawConn {
        let mut conn = RawConn::connect(addr);
        conn.socket.write_all(&PREFACE).unwrap();
        conn.send(&Frame::Hello { version: PROTOCOL_VERSION, settings: Settings::default() });
        assert!(matches!(conn.next(), Some(Frame::Hello { .. })), "server HELLO");
        conn
    }

    /// Connects without sending anything.
    fn connect(addr: SocketAddr) -> RawConn {
        let socket = TcpStream::connect(addr).unwrap();
        socket.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        socket.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        RawConn { socket, decoder: FrameDecoder::new(Role::Client, &Settings::default()), buf: BytesMut::new() }
    }

    fn send(&mut self, frame: &Frame) {
        let mut out = BytesMut::new();
        frame::encode(frame, &mut out).unwrap();
        self.socket.write_all(&out).unwrap();
    }

    fn send_bytes(&mut self, bytes: &[u8]) {
        self.socket.write_all(bytes).unwrap();
    }

    fn call(&mut self, stream_id: u32, method: &str, timeout_ms: u32) {
        self.send(&Frame::Call(frame::Call {
            stream_id,
            kind: CallKind::Unary,
            timeout_ms,
            method: Bytes::copy_from_slice(method.as_bytes()),
            metadata: Metadata::new(),
        }));
    }

    fn data(&mut self, stream_id: u32, payload: Bytes, end_stream: bool) {
        self.send(&Frame::Data { stream_id, payload, end_stream, continues: false });
    }

    /// A whole unary Hello call on `stream_id`.
    fn hello(&mut self, stream_id: u32) {
        self.call(stream_id, methods::HELLO, 0);
        let req = plexus::rpc::Message::encode(&HelloRequest { name: "raw".into() }).unwrap();
        self.data(stream_id, req, true);
    }

    /// The next frame, or `None` at EOF. The first frame from the server is its HELLO.
    fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buf).unwrap() {
                return Some(frame);
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.socket.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// Reads until the STATUS of `stream_id` (skipping DATA, WINDOW_UPDATE...).
    fn status_of(&mut self, stream_id: u32) -> Status {
        loop {
            match self.next() {
                Some(Frame::Status { stream_id: id, status }) if id == stream_id => return status,
                Some(_) => continue,
                None => panic!("connection closed before the STATUS of stream {stream_id}"),
            }
        }
    }

    /// Expects a GOAWAY (after skipping other frames), then EOF.
    fn expect_goaway(&mut self) -> (u32, GoAwayCode, String) {
        loop {
            match self.next() {
                Some(Frame::GoAway { last_stream_id, code, message }) => {
                    assert_eq!(self.next(), None, "the server closes after an error GOAWAY");
                    return (last_stream_id, code, String::from_utf8_lossy(&message).into_owned());
                }
                Some(_) => continue,
                None => panic!("connection closed without GOAWAY"),
            }
        }
    }
}

/// After a violation: a fresh connection still gets service.
fn assert_server_up(server: &Server) {
    let mut raw = RawConn::open(server.addr);
    raw.hello(1);
    assert!(raw.status_of(1).is_ok());
}

#[test]
fn a_raw_unary_call_matches_the_spec_sequence() {
    let server = Server::start(demo::demo_router);
    let mut raw = RawConn::open(server.addr);
    raw.hello(1);
    let Some(Frame::Data { stream_id: 1, payload, end_stream: false, continues: false }) = raw.next() else {
        panic!("expected one DATA")
    };
    let reply: HelloReply = plexus::rpc::Message::decode(payload).unwrap();
    assert_eq!(reply.message, "hello, raw");
    assert_eq!(raw.next(), Some(Frame::Status { stream_id: 1, status: Status::ok() }));
}

#[test]
fn an_oversized_frame_gets_goaway_frame_size_error_and_the_server_stays_up() {
    let server = Server::start(demo::demo_router);
    let mut raw = RawConn::open(server.addr);
    // A DATA header announcing 70,000 bytes (> 64 KiB max_frame_payload); no payload needed.
    raw.send_bytes(&[0, 1, 0x11, 0x70, 0, 0, 0, 1, 2, 0]);
    let (_, code, message) = raw.expect_goaway();
    assert_eq!(code, GoAwayCode::FrameSizeError);
    assert!(message.contains("exceeds max_frame_payload"), "{message}");
    assert_server_up(&server);
}

#[test]
fn an_oversized_message_fails_only_its_stream() {
    let config =
        ServerConfig { settings: Settings { max_message_size: 1000, ..Settings::default() }, ..Default::default() };
    let server = Server::start_with(demo::demo_router, config);
    let mut raw = RawConn::open(server.addr);
    raw.call(1, methods::HELLO, 0);
    raw.send(&Frame::Data { stream_id: 1, payload: Bytes::from(vec![0u8; 600]), end_stream: false, continues: true });
    raw.send(&Frame::Data { stream_id: 1, payload: Bytes::from(vec![0u8; 600]), end_stream: true, continues: false });
    let status = raw.status_of(1);
    assert_eq!(status.code, Code::ResourceExhausted, "{status}");
    // Same connection, next call: fine.
    raw.hello(3);
    assert!(raw.status_of(3).is_ok());
}

#[test]
fn oversized_call_metadata_fails_only_its_stream() {
    let server = Server::start(demo::demo_router);
    let mut raw = RawConn::open(server.addr);
    let mut metadata = Metadata::new();
    metadata.insert("big", vec![b'x'; 9000]).unwrap();
    raw.send(&Frame::Call(frame::Call {
        stream_id: 1,
        kind: CallKind::Unary,
        timeout_ms: 0,
        method: Bytes::from_static(methods::HELLO.as_bytes()),
        metadata,
    }));
    assert_eq!(raw.status_of(1).code, Code::ResourceExhausted);
    raw.hello(3);
    assert!(raw.status_of(3).is_ok());
}

#[test]
fn unknown_frame_types_are_ignored() {
    let server = Server::start(demo::demo_router);
    let mut raw = RawConn::open(server.addr);
    // Type 0x42 on stream 0 with a 3-byte payload, then a normal call.
    raw.send_bytes(&[0, 0, 0, 3, 0, 0, 0, 0, 0x42, 0, 1, 2, 3]);
    raw.hello(1);
    assert!(raw.status_of(1).is_ok());
}

#[test]
fn reusing_a_closed_stream_id_is_a_protocol_error() {
    let server = Server::start(demo::demo_router);
    let mut raw = RawConn::open(server.addr);
    raw.hello(5);
    assert!(raw.status_of(5).is_ok());
    raw.hello(3);
    let (last, code, message) = raw.expect_goaway();
    assert_eq!((last, code), (5, GoAwayCode::ProtocolError));
    assert!(message.contains("reused"), "{message}");
    assert_server_up(&server);
}

#[test]
fn frames_for_a_never_opened_stream_and_a_bad_preface_are_connection_errors() {
    let server = Server::start(demo::demo_router);
    let mut raw = RawConn::open(server.addr);
    raw.data(7, Bytes::from_static(b"x"), false);
    let (_, code, message) = raw.expect_goaway();
    assert_eq!(code, GoAwayCode::ProtocolError);
    assert!(message.contains("never opened"), "{message}");

    // A wrong preface byte: GOAWAY(PROTOCOL_ERROR) is the server's only frame (no HELLO), then it closes.
    let mut raw = RawConn::connect(server.addr);
    raw.send_bytes(b"\x89PLY");
    let mut wire = Vec::new();
    raw.socket.read_to_end(&mut wire).unwrap();
    assert_eq!(wire[8], 0x9, "frame type GOAWAY");
    assert_eq!(&wire[14..16], &[0, 1], "code PROTOCOL_ERROR");
    assert_eq!(&wire[16..], b"bad connection preface");
    assert_server_up(&server);
}

#[test]
fn the_server_enforces_the_deadline_itself() {
    let parked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let server_parked = parked.clone();
    let server = Server::start(move || hanging_router(server_parked));
    let mut raw = RawConn::open(server.addr);
    // This raw client never gives up on its own; only the server's timer can end the call.
    raw.call(1, "test.Hang/Forever", 50);
    raw.data(1, plexus::rpc::Message::encode(&()).unwrap(), true);
    let status = raw.status_of(1);
    assert_eq!(status.code, Code::DeadlineExceeded, "{status}");
    assert!(parked.lock().unwrap()[0].is_cancelled(), "the handler's sink sees the cancellation");
    assert_eq!(server_stats(&server).deadlines, 1);
}

#[test]
fn data_after_end_of_stream_fails_the_call() {
    let parked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let server_parked = parked.clone();
    let server = Server::start(move || hanging_router(server_parked));
    let mut raw = RawConn::open(server.addr);
    raw.call(1, "test.Hang/Forever", 0);
    raw.data(1, plexus::rpc::Message::encode(&()).unwrap(), true);
    raw.data(1, Bytes::from_static(b"late"), false);
    let status = raw.status_of(1);
    assert_eq!((status.code, &status.message[..]), (Code::Internal, &b"data after end of stream"[..]));
}

#[test]
fn a_ping_flood_gets_enhance_your_calm() {
    let server = Server::start(demo::demo_router);
    let mut raw = RawConn::open(server.addr);
    for i in 0..4u8 {
        raw.send(&Frame::Ping { payload: [i; 8] });
    }
    let mut pongs = 0;
    let (_, code, message) = loop {
        match raw.next() {
            Some(Frame::Pong { .. }) => pongs += 1,
            Some(Frame::GoAway { code, message, last_stream_id }) => {
                break (last_stream_id, code, String::from_utf8_lossy(&message).into_owned())
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    // PING 1 is free; PINGs 2 and 3 are strikes one and two; PING 4 is the third strike.
    assert_eq!(pongs, 3);
    assert_eq!((code, message.as_str()), (GoAwayCode::EnhanceYourCalm, "too_many_pings"));
}

#[test]
fn too_many_concurrent_streams_are_refused_with_unavailable() {
    let parked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let server_parked = parked.clone();
    let config =
        ServerConfig { settings: Settings { max_concurrent_streams: 2, ..Settings::default() }, ..Default::default() };
    let server = Server::start_with(move || hanging_router(server_parked), config);
    let mut raw = RawConn::open(server.addr);
    for id in [1, 3, 5] {
        raw.call(id, "test.Hang/Forever", 0);
    }
    let status = raw.status_of(5);
    assert_eq!((status.code, &status.message[..]), (Code::Unavailable, &b"too many concurrent streams"[..]));
}

#[test]
fn an_idle_connection_is_drained_with_goaway_no_error() {
    let config = ServerConfig { idle_timeout: Some(Duration::from_millis(50)), ..Default::default() };
    let server = Server::start_with(demo::demo_router, config);
    let mut raw = RawConn::open(server.addr);
    raw.hello(1);
    assert!(raw.status_of(1).is_ok());
    let (last, code, message) = raw.expect_goaway();
    assert_eq!((last, code, message.as_str()), (1, GoAwayCode::NoError, "idle timeout"));
}

#[test]
fn max_connection_age_drains_after_calls_finish() {
    let config = ServerConfig {
        max_connection_age: Some(Duration::from_millis(100)),
        max_age_jitter_percent: 10,
        ..Default::default()
    };
    let server = Server::start_with(demo::demo_router, config);
    let client = server.client();
    // A call that spans the max age still completes: GOAWAY(NO_ERROR) only stops new calls.
    let req = TickRequest { count: 20, interval_ms: 10, padding: 0 };
    let ticks: Vec<Tick> = client.server_streaming(methods::TICKS, &req, opts()).unwrap().map(Result::unwrap).collect();
    assert_eq!(ticks.len(), 20);
    let err = client.unary::<_, HelloReply>(methods::HELLO, &HelloRequest { name: "late".into() }, opts()).unwrap_err();
    assert_eq!(err.code, Code::Unavailable, "{err}");
}

#[test]
fn shutdown_drains_calls_in_flight_and_refuses_new_ones() {
    let server = Server::start(demo::demo_router);
    let client = server.client();
    let slow =
        client.start_unary::<_, demo::WorkReply>(methods::WORK, &demo::WorkRequest { millis: 300 }, opts()).unwrap();
    // Make sure the slow call has reached the server before the shutdown.
    wait_until(&server, |s| s.open_calls() == 1);
    server.handle.shutdown().unwrap();
    // The GOAWAY reaches the client; a new call is refused (locally, or by the server if it raced the GOAWAY).
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        match client.unary::<_, HelloReply>(methods::HELLO, &HelloRequest { name: "x".into() }, opts()) {
            Err(status) if status.code == Code::Unavailable => break,
            Err(status) => panic!("unexpected {status}"),
            Ok(_) => assert!(Instant::now() < deadline, "never refused"),
        }
    }
    // The call in flight still completes.
    assert_eq!(slow.wait().unwrap().slept_ms, 300);
    let stopped = server.stop();
    assert_eq!(stopped.open_calls(), 0);
    assert!(stopped.stats().calls >= 1);
}

#[test]
fn auth_rejects_missing_and_bad_tokens() {
    let metrics = Metrics::new();
    let server_metrics = metrics.clone();
    let server = Server::start(move || {
        demo::demo_router().layer(TraceLog).layer(server_metrics).layer(TokenAuth::new(["s3cret"]))
    });
    let client = server.client();
    let hello = HelloRequest { name: "x".into() };
    let err = client.unary::<_, HelloReply>(methods::HELLO, &hello, opts()).unwrap_err();
    assert_eq!(err.code, Code::Unauthenticated);
    let err = client.unary::<_, HelloReply>(methods::HELLO, &hello, opts().bearer("guess")).unwrap_err();
    assert_eq!(err.code, Code::Unauthenticated);
    // Unknown methods are not revealed to unauthenticated callers.
    let err = client.unary::<_, HelloReply>("demo.Hidden/Method", &hello, opts()).unwrap_err();
    assert_eq!(err.code, Code::Unauthenticated);
    let ok: HelloReply = client.unary(methods::HELLO, &hello, opts().bearer("s3cret")).unwrap();
    assert_eq!(ok.message, "hello, x");
    let stats = &metrics.snapshot()[methods::HELLO];
    assert_eq!((stats.calls, stats.errors), (3, 2));
    assert_eq!(stats.by_code["UNAUTHENTICATED"], 2);
}

#[test]
fn the_rate_limit_answers_resource_exhausted_with_retry_after() {
    let server = Server::start(|| demo::demo_router().layer(RateLimit::new(1, 3)));
    let client = server.client();
    let hello = HelloRequest { name: "x".into() };
    for _ in 0..3 {
        client.unary::<_, HelloReply>(methods::HELLO, &hello, opts()).unwrap();
    }
    let err = client.unary::<_, HelloReply>(methods::HELLO, &hello, opts()).unwrap_err();
    assert_eq!(err.code, Code::ResourceExhausted);
    let retry: u64 = std::str::from_utf8(err.metadata.get(b"retry-after-ms").unwrap()).unwrap().parse().unwrap();
    assert!((1..=1000).contains(&retry), "{retry}");
}

#[test]
fn a_slow_offloaded_call_does_not_delay_fast_calls_on_the_same_connection() {
    let server = Server::start(demo::demo_router);
    let client = server.client();
    let started = Instant::now();
    let slow =
        client.start_unary::<_, demo::WorkReply>(methods::WORK, &demo::WorkRequest { millis: 500 }, opts()).unwrap();
    for i in 0..50 {
        let reply: HelloReply =
            client.unary(methods::HELLO, &HelloRequest { name: format!("fast {i}") }, opts()).unwrap();
        assert_eq!(reply.message, format!("hello, fast {i}"));
    }
    let fast_done = started.elapsed();
    let work = slow.wait().unwrap();
    let slow_done = started.elapsed();
    assert!(work.worker.starts_with("rpc-worker"), "ran on {}", work.worker);
    assert!(fast_done < Duration::from_millis(400), "50 fast calls took {fast_done:?}");
    assert!(slow_done >= Duration::from_millis(500));
}

#[test]
fn a_handler_propagates_the_trace_id_into_its_own_calls() {
    let server = Server::start(demo::demo_router);
    let client = server.client();
    let req = demo::RelayRequest { addr: server.addr.to_string(), name: "relay".into() };
    let reply: HelloReply = client.unary(methods::RELAY, &req, opts().metadata("trace-id", "abc123")).unwrap();
    assert_eq!((reply.message.as_str(), &reply.trace_id[..]), ("hello, relay", &b"abc123"[..]));
}

#[test]
fn a_lost_connection_fails_pending_calls_with_unavailable() {
    let parked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let server_parked = parked.clone();
    let server = Server::start(move || hanging_router(server_parked));
    let client = server.client();
    let pending = client.start_unary::<_, ()>("test.Hang/Forever", &(), opts()).unwrap();
    wait_until(&server, |s| s.open_calls() == 1);
    // Stop the server hard: its reactor closes every connection after the grace period; the call is still open.
    drop(server);
    assert_eq!(pending.wait().unwrap_err().code, Code::Unavailable);
}

#[test]
fn the_examples_run_to_completion() {
    for name in ["rpc_hello", "rpc_ticker", "rpc_upload_sum", "rpc_chat", "rpc_offload"] {
        let path = support::example_path(name);
        let mut child = std::process::Command::new(&path)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e} (run a plain `cargo test` to build the examples)", path.display()));
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{name} did not finish");
            }
            thread::sleep(Duration::from_millis(10));
        };
        assert!(status.success(), "{name} exited with {status}");
    }
}
