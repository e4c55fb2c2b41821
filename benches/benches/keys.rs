//! Validator key generation and registration, the way `cairn validator-keys new --staker-output`
//! does it (all cores), and the BLS operations behind it.

use cairn_crypto::bls::{hash_to_point, verify_pop};
use cairn_crypto::BlsSecretKey;
use cairn_keys::bls_derive::DEFAULT_BLS_PATH;
use cairn_keys::encrypted::{encrypt_bn254, encrypt_v3, Randomness};
use cairn_keys::generate::{self, Deriver, EthForm, NewParams};
use cairn_keys::registration;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rayon::prelude::*;
use zeroize::Zeroizing;

const M1: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn deriver() -> Deriver {
    Deriver::new(NewParams {
        mnemonic: Zeroizing::new(M1.into()),
        ikm: None,
        account_index: 0,
        address_index: 0,
        publisher_count: 0,
        bls_path: DEFAULT_BLS_PATH.into(),
        legacy_bls: false,
    })
    .unwrap()
}

/// Keystore JSON plus registration JSON for `n` validators: what `new --staker-output` does
/// (candidates on all cores, then the shared assembly), minus file writes. Seed derivation is
/// included, as each run starts from the mnemonic.
fn keystore_and_registration(n: u32) -> (String, String) {
    let d = deriver();
    let candidates: Vec<_> = (0..n)
        .into_par_iter()
        .map(|i| d.candidate(i).unwrap())
        .collect();
    let out = generate::assemble(
        &d,
        &candidates,
        n,
        None,
        &[0x11; 32],
        None,
        &EthForm::PrivateKeys,
    )
    .unwrap();
    (
        generate::pretty(&generate::keystore_json(out.validators)),
        registration::to_json_text(&out.registrations),
    )
}

fn bench_generation(c: &mut Criterion) {
    let mut g = c.benchmark_group("new_with_registration");
    g.sample_size(10);
    for n in [1u32, 100, 1000] {
        g.throughput(Throughput::Elements(n.into()));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| keystore_and_registration(n))
        });
    }
    g.finish();
}

fn bench_bls(c: &mut Criterion) {
    let sk = BlsSecretKey::from_word(&[7u8; 32]).unwrap();
    let pop = sk.proof_of_possession();
    let mut g = c.benchmark_group("bls");
    g.bench_function("hash_to_point", |b| b.iter(|| hash_to_point(&pop.pk1)));
    g.bench_function("pop_sign", |b| b.iter(|| sk.proof_of_possession()));
    g.bench_function("pop_verify", |b| {
        b.iter(|| verify_pop(&pop.pk1, &pop.pk2, &pop.sigma).unwrap())
    });
    g.finish();
}

fn bench_keystores(c: &mut Criterion) {
    let rnd = Randomness {
        salt: [1; 32],
        iv: [2; 16],
        uuid: [3; 16],
    };
    let d = deriver();
    let cand = d.candidate(0).unwrap();
    let mut g = c.benchmark_group("encrypt");
    g.sample_size(10);
    g.bench_function("json_v3_scrypt_2^17", |b| {
        b.iter(|| encrypt_v3(&cand.attester, "pw", &rnd))
    });
    g.bench_function("bn254_pbkdf2_262144", |b| {
        b.iter(|| encrypt_bn254(&cand.bls, "pw", DEFAULT_BLS_PATH, &rnd))
    });
    g.finish();
}

criterion_group!(benches, bench_generation, bench_bls, bench_keystores);
criterion_main!(benches);
