//! RESP layer throughput: request decoding (pipelined small commands and one large bulk), reply encoding, and
//! glob matching. Run with `cargo bench --bench resp -- --warm-up-time 1 --measurement-time 3`.
use bytes::{Buf, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use plexus::kv::glob::glob_match;
use plexus::kv::resp::{Decoder, Encoder, Limits, Resp};
use std::hint::black_box;

/// Commands in the pipelined buffer: a busy client's pipeline depth.
const PIPELINE_COMMANDS: usize = 1_000;

/// Size of the single large value.
const LARGE_BULK_BYTES: usize = 1024 * 1024;

/// A read-sized slice of the large value, as the reactor would append it.
const READ_BYTES: usize = 16 * 1024;

/// Half `GET key:NNNNNN`, half `SET key:NNNNNN <16-byte value>`, encoded as a client library would.
fn pipeline() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..PIPELINE_COMMANDS {
        if i % 2 == 0 {
            out.extend(format!("*2\r\n$3\r\nGET\r\n$10\r\nkey:{i:06}\r\n").as_bytes());
        } else {
            out.extend(format!("*3\r\n$3\r\nSET\r\n$10\r\nkey:{i:06}\r\n$16\r\nvalue-{i:010}\r\n").as_bytes());
        }
    }
    out
}

/// Decodes every command in `buf`, touching each argument so the work cannot be skipped.
fn drain(dec: &mut Decoder, buf: &mut BytesMut, limits: &Limits) -> usize {
    let mut total = 0;
    while let Ok(Some(n)) = dec.decode(buf, limits, true) {
        total += dec.args(buf).iter().map(<[u8]>::len).sum::<usize>();
        buf.advance(n);
    }
    total
}

fn decode(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("decode");

    let input = pipeline();
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("pipelined_get_set_1000", |b| {
        let mut dec = Decoder::new();
        let mut buf = BytesMut::with_capacity(input.len());
        b.iter(|| {
            buf.clear();
            buf.extend_from_slice(&input);
            black_box(drain(&mut dec, &mut buf, &limits))
        })
    });

    let mut large = format!("*3\r\n$3\r\nSET\r\n$5\r\nlarge\r\n${LARGE_BULK_BYTES}\r\n").into_bytes();
    large.extend(std::iter::repeat(b'v').take(LARGE_BULK_BYTES));
    large.extend(b"\r\n");
    group.throughput(Throughput::Bytes(large.len() as u64));
    group.bench_function("large_bulk_1mb_in_16k_reads", |b| {
        let mut dec = Decoder::new();
        let mut buf = BytesMut::with_capacity(large.len());
        b.iter(|| {
            buf.clear();
            let mut total = 0;
            for chunk in large.chunks(READ_BYTES) {
                buf.extend_from_slice(chunk);
                total += drain(&mut dec, &mut buf, &limits);
            }
            black_box(total)
        })
    });
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    let value = [b'v'; 16];
    // An MGET-style reply of 100 bulks, then integers and nested arrays: the reply shapes commands produce most.
    let mut out = BytesMut::with_capacity(64 * 1024);
    let encode_all = |out: &mut BytesMut| {
        out.clear();
        let mut e = Encoder::new(out, Resp::V2);
        e.array(100);
        for _ in 0..100 {
            e.bulk(&value);
        }
        for i in 0..100 {
            e.integer(i * 1_000_003);
        }
        e.array(50);
        for _ in 0..50 {
            e.array(2);
            e.bulk(b"field");
            e.integer(7);
        }
        out.len()
    };
    let bytes = encode_all(&mut out);
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("bulk_integer_array_mix", |b| b.iter(|| black_box(encode_all(&mut out))));

    // ZRANGE ... WITHSCORES: doubles need exact 17-digit formatting, the slowest reply element.
    let scores: Vec<f64> = (0..100).map(|i| f64::from(i) * 1.1 + 0.3).collect();
    let encode_scores = |out: &mut BytesMut| {
        out.clear();
        let mut e = Encoder::new(out, Resp::V3);
        e.array(100);
        for &s in &scores {
            e.double(black_box(s));
        }
        out.len()
    };
    let bytes = encode_scores(&mut out);
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("doubles_100", |b| b.iter(|| black_box(encode_scores(&mut out))));
    group.finish();
}

fn glob(c: &mut Criterion) {
    let mut group = c.benchmark_group("glob");
    let keys: Vec<Vec<u8>> = (0..1000).map(|i| format!("user:{i}:session:{}", i * 7).into_bytes()).collect();
    let total: usize = keys.iter().map(Vec::len).sum();
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function("user_star_session_star_1000_keys", |b| {
        b.iter(|| keys.iter().filter(|k| glob_match(black_box(b"user:*:session:1*"), k, false)).count())
    });
    let long_a = vec![b'a'; 10_000];
    group.throughput(Throughput::Bytes(long_a.len() as u64));
    group.bench_function("hostile_a_star_10k", |b| {
        b.iter(|| glob_match(black_box(b"a*a*a*a*a*a*a*a*a*a*b"), &long_a, false))
    });
    group.finish();
}

criterion_group!(benches, decode, encode, glob);
criterion_main!(benches);
