//! `plexus bench rpc`: unary calls per second and latency on one RPC connection, with 1 and with many calls in
//! flight, and bidirectional streaming throughput in MB/s, against the RPC demo service.
//!
//! ```text
//!  client (reactor thread, one connection) --CALL/DATA--> server (its own reactor thread, demo router)
//!  window of N pending calls: wait for the oldest, start a new one --> calls/s, latency per call (hdrhistogram)
//! ```
//!
//! The server runs in-process on its own reactor thread unless `--target` names one. Both ends share the 2-core
//! machine, so the figure is a whole-system one: client encoding, two loops, loopback TCP.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::rpc::demo::{demo_router, methods, ChatMessage, HelloReply, HelloRequest};
use crate::rpc::{BackgroundServer, CallOptions, Client, ServerConfig};

/// One measurement.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RpcResult {
    pub mode: String,
    pub in_flight: usize,
    pub calls: u64,
    pub seconds: f64,
    pub calls_per_sec: f64,
    pub mb_per_sec: Option<f64>,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

/// Unary `demo.Greeter/Hello` with `in_flight` calls outstanding for `duration`.
pub fn unary(addr: SocketAddr, in_flight: usize, duration: Duration) -> Result<RpcResult, String> {
    let client = Client::connect(addr).map_err(|e| e.to_string())?;
    let request = HelloRequest { name: "bench".into() };
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?;
    let mut pending = VecDeque::with_capacity(in_flight);
    let start = |pending: &mut VecDeque<_>| -> Result<(), String> {
        let call = client
            .start_unary::<_, HelloReply>(methods::HELLO, &request, CallOptions::new())
            .map_err(|e| e.to_string())?;
        pending.push_back((Instant::now(), call));
        Ok(())
    };
    let began = Instant::now();
    let mut calls = 0u64;
    if in_flight == 1 {
        // One at a time: the plain blocking call, as an application would make it.
        while began.elapsed() < duration {
            let sent = Instant::now();
            client.unary::<_, HelloReply>(methods::HELLO, &request, CallOptions::new()).map_err(|e| e.to_string())?;
            let _ = hist.record(sent.elapsed().as_micros().max(1) as u64);
            calls += 1;
        }
    }
    while in_flight > 1 && began.elapsed() < duration {
        while pending.len() < in_flight {
            start(&mut pending)?;
        }
        let (sent, call) = pending.pop_front().ok_or("no call in flight")?;
        call.wait().map_err(|e| e.to_string())?;
        let _ = hist.record(sent.elapsed().as_micros().max(1) as u64);
        calls += 1;
    }
    for (_, call) in pending {
        let _ = call.wait();
    }
    let seconds = began.elapsed().as_secs_f64();
    Ok(summary("unary", in_flight, calls, seconds, None, &hist))
}

/// Bidirectional streaming on `demo.Chat/Echo`: `message_bytes` messages, `window` sent ahead of the replies.
pub fn streaming(
    addr: SocketAddr,
    message_bytes: usize,
    window: usize,
    duration: Duration,
) -> Result<RpcResult, String> {
    let client = Client::connect(addr).map_err(|e| e.to_string())?;
    let mut chat =
        client.bidi::<ChatMessage, ChatMessage>(methods::ECHO, CallOptions::new()).map_err(|e| e.to_string())?;
    let message = ChatMessage { text: "x".repeat(message_bytes) };
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?;
    let mut sent_at = VecDeque::new();
    let began = Instant::now();
    let (mut messages, mut bytes) = (0u64, 0u64);
    while began.elapsed() < duration {
        while sent_at.len() < window {
            chat.send(&message).map_err(|e| e.to_string())?;
            sent_at.push_back(Instant::now());
        }
        let reply = chat.recv().map_err(|e| e.to_string())?.ok_or("the stream ended early")?;
        let sent = sent_at.pop_front().ok_or("reply without a request")?;
        let _ = hist.record(sent.elapsed().as_micros().max(1) as u64);
        messages += 1;
        bytes += (message_bytes + reply.text.len()) as u64;
    }
    let _ = chat.close_send();
    while !sent_at.is_empty() {
        match chat.recv() {
            Ok(Some(_)) => {
                sent_at.pop_front();
            }
            _ => break,
        }
    }
    let seconds = began.elapsed().as_secs_f64();
    let mb = bytes as f64 / seconds / 1_000_000.0;
    Ok(summary("bidi-stream", window, messages, seconds, Some(mb), &hist))
}

fn summary(mode: &str, in_flight: usize, calls: u64, seconds: f64, mb: Option<f64>, h: &Histogram<u64>) -> RpcResult {
    RpcResult {
        mode: mode.into(),
        in_flight,
        calls,
        seconds,
        calls_per_sec: calls as f64 / seconds,
        mb_per_sec: mb,
        p50_us: h.value_at_quantile(0.50),
        p99_us: h.value_at_quantile(0.99),
        p999_us: h.value_at_quantile(0.999),
        max_us: h.max(),
    }
}

/// Runs the standard RPC measurements: unary with 1 and 128 in flight, then 64 KiB bidirectional streaming.
pub fn run(target: Option<SocketAddr>, duration: Duration) -> Result<Vec<RpcResult>, String> {
    let server = match target {
        Some(_) => None,
        None => Some(
            BackgroundServer::start(
                "127.0.0.1:0".parse().map_err(|_| "bad address")?,
                demo_router,
                ServerConfig::default(),
            )
            .map_err(|e| e.to_string())?,
        ),
    };
    let addr = target.or(server.as_ref().map(|s| s.addr())).ok_or("no target")?;
    let results = vec![
        unary(addr, 1, duration)?,
        unary(addr, 128, duration)?,
        // Two messages ahead: the echo service refuses a client whose unread echoes pass its 256 KiB queue.
        streaming(addr, 64 * 1024, 2, duration)?,
    ];
    if let Some(s) = server {
        s.stop();
    }
    Ok(results)
}
