//! Groth16 verification over BN254 (docs/protocol.md §6), written against [`Crypto`] so the
//! same code verifies natively and inside the proof-verification component, where the pairing
//! and multi-scalar multiplication are host calls.
//!
//! Single: e(A, B) · e(vk_x, −γ) · e(C, −δ) · e(α, −β) = 1 with vk_x = IC₀ + Σ xᵢ·ICᵢ.
//! Batch of n proofs for one key, with Fiat–Shamir weights rᵢ (keccak of every proof and input):
//! Π e(rᵢ·Aᵢ, Bᵢ) · e(Σ rᵢ·vk_xᵢ, −γ) · e(Σ rᵢ·Cᵢ, −δ) · e((Σ rᵢ)·α, −β) = 1, i.e. n + 3 pairings
//! instead of 4n, and one final exponentiation instead of n.

use ark_bn254::Fr;
use ark_ff::{PrimeField, Zero};
use thiserror::Error;

use crate::crypto::{Crypto, G1Bytes, G2Bytes};
use crate::tx::PROOF_BYTES;

/// A verification key with the G2 elements negated for the check above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    /// α.
    pub alpha_g1: G1Bytes,
    /// −β.
    pub neg_beta_g2: G2Bytes,
    /// −γ.
    pub neg_gamma_g2: G2Bytes,
    /// −δ.
    pub neg_delta_g2: G2Bytes,
    /// IC₀ … ICₗ (one per public input, plus one).
    pub ic: Vec<G1Bytes>,
}

/// Why a key or proof is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Groth16Error {
    /// Malformed key bytes.
    #[error("malformed verification key")]
    BadKey,
    /// Wrong number of public inputs.
    #[error("expected {expected} public inputs, got {got}")]
    Inputs {
        /// Expected.
        expected: usize,
        /// Given.
        got: usize,
    },
    /// A point that does not decode (reported by the crypto backend).
    #[error("invalid curve point in the proof or key")]
    BadPoint,
}

impl VerifyingKey {
    /// Serialized form: α ‖ −β ‖ −γ ‖ −δ ‖ u8 n ‖ n × IC.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(32 + 192 + 1 + 32 * self.ic.len());
        v.extend_from_slice(&self.alpha_g1);
        v.extend_from_slice(&self.neg_beta_g2);
        v.extend_from_slice(&self.neg_gamma_g2);
        v.extend_from_slice(&self.neg_delta_g2);
        v.push(self.ic.len() as u8);
        for p in &self.ic {
            v.extend_from_slice(p);
        }
        v
    }

    /// Parses [`to_bytes`](Self::to_bytes) output (lengths only; points are checked by the backend).
    pub fn from_bytes(b: &[u8]) -> Result<Self, Groth16Error> {
        let fixed = 32 + 64 * 3 + 1;
        if b.len() < fixed {
            return Err(Groth16Error::BadKey);
        }
        let n = b[fixed - 1] as usize;
        if n == 0 || b.len() != fixed + 32 * n {
            return Err(Groth16Error::BadKey);
        }
        let g1 = |at: usize| -> G1Bytes { b[at..at + 32].try_into().unwrap_or([0; 32]) };
        let g2 = |at: usize| -> G2Bytes { b[at..at + 64].try_into().unwrap_or([0; 64]) };
        Ok(Self {
            alpha_g1: g1(0),
            neg_beta_g2: g2(32),
            neg_gamma_g2: g2(96),
            neg_delta_g2: g2(160),
            ic: (0..n).map(|i| g1(fixed + 32 * i)).collect(),
        })
    }
}

/// A proof split into its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof {
    /// A.
    pub a: G1Bytes,
    /// B.
    pub b: G2Bytes,
    /// C.
    pub c: G1Bytes,
}

impl Proof {
    /// Splits the 128 proof bytes: A ‖ B ‖ C.
    pub fn from_bytes(b: &[u8; PROOF_BYTES]) -> Proof {
        let mut p = Proof {
            a: [0; 32],
            b: [0; 64],
            c: [0; 32],
        };
        p.a.copy_from_slice(&b[..32]);
        p.b.copy_from_slice(&b[32..96]);
        p.c.copy_from_slice(&b[96..]);
        p
    }

    /// A ‖ B ‖ C.
    pub fn to_bytes(&self) -> [u8; PROOF_BYTES] {
        let mut out = [0u8; PROOF_BYTES];
        out[..32].copy_from_slice(&self.a);
        out[32..96].copy_from_slice(&self.b);
        out[96..].copy_from_slice(&self.c);
        out
    }
}

fn vk_x_scalars(vk: &VerifyingKey, inputs: &[Fr]) -> Result<Vec<Fr>, Groth16Error> {
    if inputs.len() + 1 != vk.ic.len() {
        return Err(Groth16Error::Inputs {
            expected: vk.ic.len() - 1,
            got: inputs.len(),
        });
    }
    let mut s = Vec::with_capacity(vk.ic.len());
    s.push(Fr::from(1u64));
    s.extend_from_slice(inputs);
    Ok(s)
}

/// Verifies one proof.
pub fn verify(
    crypto: &dyn Crypto,
    vk: &VerifyingKey,
    proof: &Proof,
    inputs: &[Fr],
) -> Result<bool, Groth16Error> {
    let scalars = vk_x_scalars(vk, inputs)?;
    let vk_x = crypto
        .msm_g1(&vk.ic, &scalars)
        .ok_or(Groth16Error::BadPoint)?;
    crypto
        .pairing_check(
            &[proof.a, vk_x, proof.c, vk.alpha_g1],
            &[proof.b, vk.neg_gamma_g2, vk.neg_delta_g2, vk.neg_beta_g2],
        )
        .ok_or(Groth16Error::BadPoint)
}

/// Fiat–Shamir weights for a batch: rᵢ = the low 128 bits of
/// keccak(keccak("cairn.groth16.batch" ‖ all proofs and inputs) ‖ i). 128 bits bound the chance
/// that a batch holding an invalid proof passes by 2⁻¹²⁸ and halve the scalar multiplications
/// of full-width weights.
fn weights(crypto: &dyn Crypto, items: &[(Proof, Vec<Fr>)]) -> Vec<Fr> {
    let mut transcript = b"cairn.groth16.batch".to_vec();
    for (p, inputs) in items {
        transcript.extend_from_slice(&p.to_bytes());
        for x in inputs {
            transcript.extend_from_slice(&crate::field::fr_to_bytes(x));
        }
    }
    let seed = crypto.keccak256(&transcript);
    (0..items.len() as u32)
        .map(|i| {
            let mut b = seed.to_vec();
            b.extend_from_slice(&i.to_be_bytes());
            // A zero weight would drop a proof from the check; 2^-128 likely, but excluded.
            let r = Fr::from_be_bytes_mod_order(&crypto.keccak256(&b)[16..]);
            if r.is_zero() {
                Fr::from(1u64)
            } else {
                r
            }
        })
        .collect()
}

/// A different proof of the same statement: A' = A/r, B' = r·(B + s·δ), C' = C + s·A.
/// Groth16 proofs are malleable this way, which is why a tx binds its effects into the public
/// inputs rather than relying on the proof bytes; benchmarks and tests use it to verify
/// proofs the process has never seen without running the prover. `r` must not be zero.
pub fn rerandomize(vk: &VerifyingKey, proof: &Proof, r: Fr, s: Fr) -> Result<Proof, Groth16Error> {
    use crate::crypto::{g1_from_bytes, g1_to_bytes, g2_from_bytes, g2_to_bytes};
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_ff::Field;
    let bad = || Groth16Error::BadPoint;
    let a = g1_from_bytes(&proof.a).ok_or_else(bad)?;
    let b = g2_from_bytes(&proof.b).ok_or_else(bad)?;
    let c = g1_from_bytes(&proof.c).ok_or_else(bad)?;
    let neg_delta = g2_from_bytes(&vk.neg_delta_g2).ok_or(Groth16Error::BadKey)?;
    let r_inv = r.inverse().ok_or_else(bad)?;
    Ok(Proof {
        a: g1_to_bytes(&(a * r_inv).into_affine()),
        b: g2_to_bytes(&((b.into_group() - neg_delta * s) * r).into_affine()),
        c: g1_to_bytes(&(c.into_group() + a * s).into_affine()),
    })
}

/// Verifies many proofs for one key at once. `Ok(true)` means every proof is valid; on
/// `Ok(false)` the caller verifies one by one to find the bad ones.
pub fn verify_batch(
    crypto: &dyn Crypto,
    vk: &VerifyingKey,
    items: &[(Proof, Vec<Fr>)],
) -> Result<bool, Groth16Error> {
    match items.len() {
        0 => return Ok(true),
        1 => return verify(crypto, vk, &items[0].0, &items[0].1),
        _ => {}
    }
    let r = weights(crypto, items);
    let mut g1 = Vec::with_capacity(items.len() + 3);
    let mut g2 = Vec::with_capacity(items.len() + 3);
    let mut ic_scalars = vec![Fr::from(0u64); vk.ic.len()];
    let mut c_points = Vec::with_capacity(items.len());
    let mut sum_r = Fr::from(0u64);
    for ((proof, inputs), ri) in items.iter().zip(&r) {
        let s = vk_x_scalars(vk, inputs)?;
        for (acc, x) in ic_scalars.iter_mut().zip(&s) {
            *acc += *ri * x;
        }
        g1.push(
            crypto
                .msm_g1(&[proof.a], &[*ri])
                .ok_or(Groth16Error::BadPoint)?,
        );
        g2.push(proof.b);
        c_points.push(proof.c);
        sum_r += ri;
    }
    g1.push(
        crypto
            .msm_g1(&vk.ic, &ic_scalars)
            .ok_or(Groth16Error::BadPoint)?,
    );
    g2.push(vk.neg_gamma_g2);
    g1.push(crypto.msm_g1(&c_points, &r).ok_or(Groth16Error::BadPoint)?);
    g2.push(vk.neg_delta_g2);
    g1.push(
        crypto
            .msm_g1(&[vk.alpha_g1], &[sum_r])
            .ok_or(Groth16Error::BadPoint)?,
    );
    g2.push(vk.neg_beta_g2);
    crypto.pairing_check(&g1, &g2).ok_or(Groth16Error::BadPoint)
}
