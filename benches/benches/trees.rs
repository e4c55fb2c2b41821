//! The tree update's parts (criterion): one Poseidon permutation, as specified and as
//! implemented, and a 512-tx-like batch (512 new nullifiers, 1792 public writes over 50,000
//! slots) on in-memory trees, the two trees one after the other and at once. The report that
//! counts against the goals is `cairn bench state` (stored trees); this one isolates the
//! hashing from the store while working on it.

use std::hint::black_box;

use ark_bn254::Fr;
use cairn_protocol::merkle::IndexedTree;
use cairn_protocol::poseidon::{permute, permute_many, permute_reference};
use criterion::{criterion_group, criterion_main, Criterion};

fn key(i: u64) -> Fr {
    Fr::from(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 1)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("poseidon");
    let s0 = [Fr::from(1u64), Fr::from(2u64), Fr::from(3u64)];
    g.bench_function("permute", |b| {
        b.iter(|| {
            let mut s = black_box(s0);
            permute(&mut s);
            s
        })
    });
    // Eight states: one vector batch where the CPU has AVX-512 IFMA (per-state cost = time / 8).
    g.bench_function("permute_many_8", |b| {
        b.iter(|| {
            let mut s = black_box([s0; 8]);
            permute_many(&mut s);
            s
        })
    });
    g.bench_function("permute_reference", |b| {
        b.iter(|| {
            let mut s = black_box(s0);
            permute_reference(&mut s);
            s
        })
    });
    g.finish();

    let mut nullifiers = IndexedTree::new();
    for chunk in 0..30u64 {
        let items: Vec<(Fr, Fr)> = (0..1000)
            .map(|i| (key(1_000_000 + chunk * 1000 + i), Fr::from(0u64)))
            .collect();
        nullifiers.insert_batch(&items).expect("fresh keys");
    }
    let mut public = IndexedTree::new();
    let slots: Vec<(Fr, Fr)> = (1..=50_000).map(|i| (key(i), Fr::from(i))).collect();
    public.upsert_batch(&slots).expect("non-zero keys");
    let nf: Vec<(Fr, Fr)> = (0..512)
        .map(|i| (key(5_000_000 + i), Fr::from(0u64)))
        .collect();
    let writes: Vec<(Fr, Fr)> = (0..1792u64)
        .map(|i| (key(1 + (i * 7919) % 50_000), Fr::from(i)))
        .collect();

    let mut g = c.benchmark_group("block_512");
    g.sample_size(10);
    g.bench_function("trees_in_turn", |b| {
        b.iter(|| {
            let (mut a, mut p) = (nullifiers.clone(), public.clone());
            a.insert_batch(&nf).expect("fresh keys");
            p.upsert_batch(&writes).expect("non-zero keys");
            (a.root(), p.root())
        })
    });
    g.bench_function("trees_at_once", |b| {
        b.iter(|| {
            let (mut a, mut p) = (nullifiers.clone(), public.clone());
            std::thread::scope(|s| {
                s.spawn(|| a.insert_batch(&nf).expect("fresh keys"));
                p.upsert_batch(&writes).expect("non-zero keys");
            });
            (a.root(), p.root())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
