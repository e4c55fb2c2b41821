//! What a validator pays to check a proposal's blobs: the pure-Rust EIP-4844 proof check
//! (`cairn_consensus::kzg`, what validators run) against recomputing the commitments with c-kzg
//! (what they ran before, and what the proposer still runs to make them), for a checkpoint's
//! six blobs.

use cairn_consensus::blob::{encode_blobs, Blob, MAX_PAYLOAD_LEN};
use cairn_consensus::kzg::verify_blob_proofs;
use cairn_l1::blob::BlobBundle;
use criterion::{criterion_group, criterion_main, Criterion};

fn six_blobs(c: &mut Criterion) {
    let body: Vec<u8> = (0..MAX_PAYLOAD_LEN as u32)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let blobs = encode_blobs(&body).expect("six blobs");
    let bundle = BlobBundle::new(blobs.clone()).expect("c-kzg commits");
    let refs: Vec<&Blob> = bundle.blobs.iter().map(|b| &**b).collect();
    let mut g = c.benchmark_group("kzg_6_blobs");
    g.sample_size(10);
    g.bench_function("verify_proofs_pure_rust", |b| {
        b.iter(|| verify_blob_proofs(&refs, &bundle.commitments, &bundle.proofs).expect("valid"))
    });
    g.bench_function("commit_and_prove_c_kzg", |b| {
        b.iter(|| BlobBundle::new(blobs.clone()).expect("c-kzg commits"))
    });
    g.finish();
}

criterion_group!(benches, six_blobs);
criterion_main!(benches);
