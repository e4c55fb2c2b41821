//! Where a Groth16 verification's time goes, part by part, next to the yardstick the pipeline
//! goal compares it with (a plain 3-pair multi-pairing of affine points). Whole verifications
//! are measured by `cairn bench pipeline`, on statements the process has not seen: repeating
//! one here would let the host's memo of recurring pairs skip work production never skips.

use ark_bn254::{Bn254, Fr, G1Affine, G2Affine};
use ark_ec::pairing::{MillerLoopOutput, Pairing};
use ark_ec::{AffineRepr, CurveGroup};
use cairn_protocol::crypto::{self, g1_to_bytes, g2_to_bytes, NativeCrypto};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn g1(k: u64) -> G1Affine {
    (G1Affine::generator() * Fr::from(k)).into_affine()
}
fn g2(k: u64) -> G2Affine {
    (G2Affine::generator() * Fr::from(k)).into_affine()
}

fn parts(c: &mut Criterion) {
    let a = [g1(11), g1(12), g1(13)];
    let b = [g2(21), g2(22), g2(23)];
    let mut g = c.benchmark_group("groth16-parts");
    g.bench_function("yardstick: 3-pair multi-pairing", |x| {
        x.iter(|| crypto::multi_pairing_is_one(black_box(&a), black_box(&b)))
    });
    let prepared: Vec<<Bn254 as Pairing>::G2Prepared> = b.iter().map(|q| (*q).into()).collect();
    g.bench_function("G2 preparation", |x| {
        x.iter(|| <Bn254 as Pairing>::G2Prepared::from(black_box(b[0])))
    });
    g.bench_function("G2 preparation with the folded G2 membership test", |x| {
        x.iter(|| crypto::prepare_in_g2(black_box(&b[0])))
    });
    g.bench_function("3-pair Miller loop (prepared)", |x| {
        x.iter(|| Bn254::multi_miller_loop(black_box(a), prepared.clone()))
    });
    let fixed = [1, 2].map(|i| crypto::FixedG2::new(&prepared[i]).expect("not infinity"));
    g.bench_function("3-pair Miller loop, 2 as normalised lines", |x| {
        x.iter(|| {
            crypto::multi_miller_loop(
                &[(black_box(a[0]), &prepared[0])],
                &[(a[1], &fixed[0]), (a[2], &fixed[1])],
            )
        })
    });
    let ml = Bn254::multi_miller_loop(a, prepared.clone());
    g.bench_function("final exponentiation", |x| {
        x.iter(|| Bn254::final_exponentiation(MillerLoopOutput(black_box(ml.0))))
    });
    let a_bytes = g1_to_bytes(&a[0]);
    let b_bytes = g2_to_bytes(&b[0]);
    let ic: Vec<crypto::G1Bytes> = (1..=6u64).map(|k| g1_to_bytes(&g1(k + 100))).collect();
    let xs: Vec<Fr> = (1..=6u64)
        .map(|k| -Fr::from(k * 0x1234_5678_9abc_def1))
        .collect();
    for _ in 0..100 {
        crypto::Crypto::msm_g1(&NativeCrypto, &ic, &xs); // tables built, as for a warm key
    }
    g.bench_function("6-point MSM (warm fixed-base tables)", |x| {
        x.iter(|| crypto::Crypto::msm_g1(&NativeCrypto, black_box(&ic), &xs))
    });
    g.bench_function("G1 decode (compressed)", |x| {
        x.iter(|| crypto::g1_from_bytes(black_box(&a_bytes)))
    });
    g.bench_function("G2 decode (compressed, subgroup check)", |x| {
        x.iter(|| crypto::g2_from_bytes(black_box(&b_bytes)))
    });
    g.bench_function(
        "G2 subgroup check alone (psi-based, off the hot path)",
        |x| x.iter(|| crypto::in_g2(black_box(&b[0]))),
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = parts
}
criterion_main!(benches);
