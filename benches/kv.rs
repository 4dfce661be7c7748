//! The command path without sockets: `Engine::execute` (table lookup, arity, auth, handler, store, reply into an
//! `OutBuf`) for the commands the network benchmarks send, plus what the thread-per-connection model adds (an
//! uncontended `Mutex` around the engine). Glob matching and raw RESP encoding are in `benches/resp.rs`.
//!
//! Run with `cargo bench --bench kv -- --warm-up-time 1 --measurement-time 3`.
use std::hint::black_box;
use std::sync::{Arc, Mutex};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use plexus::kv::clock::SystemClock;
use plexus::kv::config::Config;
use plexus::kv::exec::Engine;
use plexus::net::OutBuf;

/// Keys in the store: large enough that lookups miss the CPU caches, as the 1M-key network runs do.
const KEYSPACE: usize = 200_000;

/// Distinct keys the GET/SET loops cycle through (a stride over the keyspace, so successive lookups are far apart).
const ROTATION: usize = 4096;

/// A value as large as a socket read: the reply is then dominated by copying, or by not copying.
const LARGE_VALUE_BYTES: usize = 16 * 1024;

fn key(i: usize) -> Vec<u8> {
    format!("key:{i:012}").into_bytes()
}

/// An engine holding `KEYSPACE` keys with 3-byte values, and one client.
fn loaded_engine() -> (Engine, usize) {
    let mut engine = Engine::new(Config::new(), Arc::new(SystemClock));
    let client = engine.add_client(0);
    let mut out = OutBuf::new();
    for i in 0..KEYSPACE {
        let k = key(i);
        engine.execute(client, &[b"SET", &k, b"xxx"], &mut out);
        out.clear();
    }
    (engine, client)
}

fn rotation_keys() -> Vec<Vec<u8>> {
    (0..ROTATION).map(|i| key(i * (KEYSPACE / ROTATION) + 7)).collect()
}

fn commands(c: &mut Criterion) {
    let (mut engine, client) = loaded_engine();
    let keys = rotation_keys();
    let mut out = OutBuf::new();
    let mut group = c.benchmark_group("execute");
    group.throughput(Throughput::Elements(1));

    group.bench_function("ping", |b| {
        b.iter(|| {
            engine.execute(client, black_box(&[b"PING".as_slice()]), &mut out);
            out.clear();
        })
    });

    let mut i = 0;
    group.bench_function("get_hit", |b| {
        b.iter(|| {
            i = (i + 1) % ROTATION;
            engine.execute(client, &[b"GET", &keys[i]], &mut out);
            out.clear();
        })
    });

    group.bench_function("get_miss", |b| {
        b.iter(|| {
            engine.execute(client, black_box(&[b"GET".as_slice(), b"no-such-key"]), &mut out);
            out.clear();
        })
    });

    group.bench_function("set_overwrite", |b| {
        b.iter(|| {
            i = (i + 1) % ROTATION;
            engine.execute(client, &[b"SET", &keys[i], b"yyy"], &mut out);
            out.clear();
        })
    });

    group.bench_function("incr", |b| {
        b.iter(|| {
            engine.execute(client, black_box(&[b"INCR".as_slice(), b"counter"]), &mut out);
            out.clear();
        })
    });

    // MGET of 10 keys: ten lookups and an array reply, the reply-encoding side of the command path.
    let mget: Vec<&[u8]> = std::iter::once(b"MGET".as_slice()).chain(keys[..10].iter().map(|k| k.as_slice())).collect();
    group.bench_function("mget_10", |b| {
        b.iter(|| {
            engine.execute(client, &mget, &mut out);
            out.clear();
        })
    });

    // A large value: shows whether the reply copies the value or shares it.
    let large = vec![b'v'; LARGE_VALUE_BYTES];
    engine.execute(client, &[b"SET", b"large", &large], &mut out);
    out.clear();
    group.throughput(Throughput::Bytes(LARGE_VALUE_BYTES as u64));
    group.bench_function("get_16k_value", |b| {
        b.iter(|| {
            engine.execute(client, &[b"GET".as_slice(), b"large"], &mut out);
            out.clear();
        })
    });
    group.finish();
}

/// What `--io threads` pays per command even without contention: taking and releasing the engine lock.
fn locking(c: &mut Criterion) {
    let (engine, client) = loaded_engine();
    let engine = Mutex::new(engine);
    let keys = rotation_keys();
    let mut out = OutBuf::new();
    let mut group = c.benchmark_group("threads_model");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("get_hit_under_mutex", |b| {
        b.iter(|| {
            i = (i + 1) % ROTATION;
            let mut e = engine.lock().unwrap();
            e.execute(client, &[b"GET", &keys[i]], &mut out);
            drop(e);
            out.clear();
        })
    });
    // Sixteen pipelined GETs under one lock (the threads server's batch) against sixteen acquisitions.
    group.throughput(Throughput::Elements(16));
    group.bench_function("get_x16_one_lock", |b| {
        b.iter_batched_ref(
            OutBuf::new,
            |out| {
                let mut e = engine.lock().unwrap();
                for _ in 0..16 {
                    i = (i + 1) % ROTATION;
                    e.execute(client, &[b"GET", &keys[i]], out);
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("get_x16_sixteen_locks", |b| {
        b.iter_batched_ref(
            OutBuf::new,
            |out| {
                for _ in 0..16 {
                    i = (i + 1) % ROTATION;
                    engine.lock().unwrap().execute(client, &[b"GET", &keys[i]], out);
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, commands, locking);
criterion_main!(benches);
