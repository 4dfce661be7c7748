//! Throughput of the RPC frame codec: encode + decode of a small unary call's frames, and of a 1 MiB message split
//! into 64 KiB DATA frames and reassembled.
//!
//! Both benches run the full round trip (encode into a `BytesMut`, decode it back, reassemble), because that is what
//! one call costs a connection in CPU; there is no socket here, so the figures are the codec's ceiling.
use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

use plexus::rpc::frame::{
    encode, encode_message, Call, CallKind, Frame, FrameDecoder, MessageAssembler, Metadata, Role, Settings, PREFACE,
    PROTOCOL_VERSION,
};
use plexus::rpc::Status;

/// A decoder past the handshake, so the bench measures steady-state frames only.
fn ready_decoder() -> FrameDecoder {
    let mut decoder = FrameDecoder::new(Role::Server, &Settings::default());
    let mut buf = BytesMut::from(&PREFACE[..]);
    encode(&Frame::Hello { version: PROTOCOL_VERSION, settings: Settings::default() }, &mut buf).unwrap();
    decoder.decode(&mut buf).unwrap().unwrap();
    decoder
}

fn unary_call(c: &mut Criterion) {
    let mut metadata = Metadata::new();
    metadata.insert("trace-id", "4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let call = Frame::Call(Call {
        stream_id: 1,
        kind: CallKind::Unary,
        timeout_ms: 1000,
        method: Bytes::from_static(b"kv.Store/Get"),
        metadata,
    });
    let request = Frame::Data { stream_id: 1, payload: Bytes::from(vec![7u8; 64]), end_stream: true, continues: false };
    // What the server sends back, encoded the same way (decoded with a client decoder below).
    let response =
        Frame::Data { stream_id: 1, payload: Bytes::from(vec![9u8; 128]), end_stream: false, continues: false };
    let status = Frame::Status { stream_id: 1, status: Status::ok() };
    let client_frames = [call, request];
    let server_frames = [response, status];
    let bytes: usize = client_frames.iter().chain(&server_frames).map(Frame::encoded_len).sum();

    let mut group = c.benchmark_group("rpc_codec/unary_call");
    for (name, throughput) in [("frames", Throughput::Elements(4)), ("bytes", Throughput::Bytes(bytes as u64))] {
        group.throughput(throughput);
        group.bench_function(name, |b| {
            let mut server = ready_decoder();
            let mut client = FrameDecoder::new(Role::Client, &Settings::default());
            let mut hello = BytesMut::new();
            encode(&Frame::Hello { version: PROTOCOL_VERSION, settings: Settings::default() }, &mut hello).unwrap();
            client.decode(&mut hello).unwrap().unwrap();
            let mut to_server = BytesMut::with_capacity(4096);
            let mut to_client = BytesMut::with_capacity(4096);
            b.iter(|| {
                for frame in &client_frames {
                    encode(frame, &mut to_server).unwrap();
                }
                for frame in &server_frames {
                    encode(frame, &mut to_client).unwrap();
                }
                while let Some(frame) = server.decode(&mut to_server).unwrap() {
                    black_box(frame);
                }
                while let Some(frame) = client.decode(&mut to_client).unwrap() {
                    black_box(frame);
                }
            });
        });
    }
    group.finish();
}

fn one_mib_message(c: &mut Criterion) {
    const MESSAGE_BYTES: usize = 1024 * 1024;
    const FRAME_PAYLOAD: usize = 64 * 1024;
    let message: Vec<u8> = (0..MESSAGE_BYTES).map(|i| i as u8).collect();
    let frames = MESSAGE_BYTES / FRAME_PAYLOAD;

    let mut group = c.benchmark_group("rpc_codec/1MiB_message_in_64KiB_frames");
    for (name, throughput) in
        [("frames", Throughput::Elements(frames as u64)), ("bytes", Throughput::Bytes(MESSAGE_BYTES as u64))]
    {
        group.throughput(throughput);
        group.bench_function(name, |b| {
            let mut decoder = ready_decoder();
            let mut assembler = MessageAssembler::new(4 * 1024 * 1024);
            let mut wire = BytesMut::with_capacity(MESSAGE_BYTES + frames * 16);
            b.iter(|| {
                encode_message(1, &message, FRAME_PAYLOAD, true, &mut wire).unwrap();
                let mut whole = None;
                while let Some(frame) = decoder.decode(&mut wire).unwrap() {
                    if let Frame::Data { stream_id, payload, continues, .. } = frame {
                        whole = assembler.push(stream_id, payload, continues).unwrap();
                    }
                }
                black_box(whole.expect("message complete"));
            });
        });
    }
    group.finish();
}

criterion_group!(benches, unary_call, one_mib_message);
criterion_main!(benches);
