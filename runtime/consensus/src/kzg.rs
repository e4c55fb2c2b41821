//! EIP-4844 blob proofs, verified in pure Rust (BLS12-381 from `bls12_381`), so every
//! validator checks a proposal's blob commitments with the same code on any target.
//!
//! `verify_blob_kzg_proof` follows the consensus specs' `polynomial-commitments.md`: the
//! challenge `z = sha256("FSBLOBVERIFY_V1_" ‖ 4096 as u128 BE ‖ blob ‖ commitment) mod r`, the
//! blob's polynomial evaluated at `z` in evaluation form over the bit-reversed 4096th roots of
//! unity, and one pairing check `e(C − [y]G₁, −G₂) · e(π, [τ]G₂ − [z]G₂) = 1` with `[τ]G₂`
//! from Ethereum's KZG ceremony. Commitments are made by the proposer (c-kzg, in the host);
//! checking a proof costs two Miller loops and one polynomial evaluation, far less than
//! recomputing the commitment.

use bls12_381::{multi_miller_loop, G1Affine, G1Projective, G2Affine, G2Prepared, Gt, Scalar};
use thiserror::Error;

use crate::blob::{Blob, KzgCommitment, BYTES_PER_FIELD_ELEMENT, FIELD_ELEMENTS_PER_BLOB};

/// A KZG proof, compressed G1.
pub type KzgProof = [u8; 48];

/// `[τ]G₂` of Ethereum's KZG ceremony (the setup's `g2_monomial[1]`, compressed).
const TAU_G2: [u8; 96] = hex96(
    b"b5bfd7dd8cdeb128843bc287230af38926187075cbfbefa81009a2ce615ac53d2914e5870cb452d2afaaab24f3499f72185cbfee53492714734429b7b38608e23926c911cceceac9a36851477ba4c60b087041de621000edc98edada20c1def2",
);

/// `(r − 1) / 4096` as little-endian limbs: `7^this` is the domain's primitive root of unity
/// (7 is the consensus specs' `PRIMITIVE_ROOT_OF_UNITY`).
const ROOT_EXPONENT: [u64; 4] = [
    0xbfef_ffff_fff0_0000,
    0x8055_3bda_402f_ffe5,
    0xd483_339d_8080_9a1d,
    0x0007_3eda_7532_99d7,
];

const DOMAIN: &[u8; 16] = b"FSBLOBVERIFY_V1_";

const fn hex96(s: &[u8; 192]) -> [u8; 96] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not lowercase hex"),
        }
    }
    let mut out = [0u8; 96];
    let mut i = 0;
    while i < 96 {
        out[i] = nibble(s[2 * i]) << 4 | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

/// Why a blob's proof was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KzgError {
    /// The commitment is not a valid compressed G1 point of the prime-order subgroup.
    #[error("blob {0}: the commitment is not a valid G1 point")]
    BadCommitment(usize),
    /// The proof is not a valid compressed G1 point of the prime-order subgroup.
    #[error("blob {0}: the proof is not a valid G1 point")]
    BadProof(usize),
    /// A 32-byte field element of the blob is not below the BLS12-381 scalar modulus.
    #[error("blob {0}: field element {1} is not canonical")]
    NonCanonical(usize, usize),
    /// The pairing check failed: the commitment does not commit to this blob.
    #[error("blob {0}: the proof does not open the commitment to this blob")]
    Mismatch(usize),
    /// Blobs, commitments and proofs are not one each.
    #[error("{blobs} blobs, {commitments} commitments, {proofs} proofs")]
    Count {
        /// Blobs given.
        blobs: usize,
        /// Commitments given.
        commitments: usize,
        /// Proofs given.
        proofs: usize,
    },
}

/// The 4096 roots of unity in bit-reversed order (the blob's evaluation domain).
fn domain() -> &'static [Scalar] {
    static ROOTS: std::sync::OnceLock<Vec<Scalar>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        let w = Scalar::from(7u64).pow_vartime(&ROOT_EXPONENT);
        let mut natural = Vec::with_capacity(FIELD_ELEMENTS_PER_BLOB);
        let mut x = Scalar::one();
        for _ in 0..FIELD_ELEMENTS_PER_BLOB {
            natural.push(x);
            x *= w;
        }
        let bits = FIELD_ELEMENTS_PER_BLOB.trailing_zeros();
        (0..FIELD_ELEMENTS_PER_BLOB)
            .map(|i| natural[(i as u32).reverse_bits().wrapping_shr(32 - bits) as usize])
            .collect()
    })
}

/// A big-endian 32-byte field element, if canonical.
fn scalar_be(b: &[u8]) -> Option<Scalar> {
    let mut le = [0u8; 32];
    for (d, s) in le.iter_mut().zip(b.iter().rev()) {
        *d = *s;
    }
    Option::from(Scalar::from_bytes(&le))
}

/// The Fiat–Shamir challenge of `blob` and `commitment`.
fn challenge(blob: &Blob, commitment: &KzgCommitment) -> Scalar {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update((FIELD_ELEMENTS_PER_BLOB as u128).to_be_bytes());
    h.update(blob);
    h.update(commitment);
    let digest: [u8; 32] = h.finalize().into();
    // Big-endian digest reduced modulo r.
    let mut wide = [0u8; 64];
    for (d, s) in wide.iter_mut().zip(digest.iter().rev()) {
        *d = *s;
    }
    Scalar::from_bytes_wide(&wide)
}

/// The blob's polynomial (its field elements as evaluations over [`domain`]) at `z`.
fn evaluate(values: &[Scalar], z: Scalar) -> Scalar {
    let roots = domain();
    if let Some(i) = roots.iter().position(|r| *r == z) {
        return values[i];
    }
    // Σ fᵢ·ωᵢ/(z − ωᵢ) with one inversion for all the denominators.
    let diffs: Vec<Scalar> = roots.iter().map(|r| z - r).collect();
    let mut prefix = Vec::with_capacity(diffs.len());
    let mut acc = Scalar::one();
    for d in &diffs {
        prefix.push(acc);
        acc *= d;
    }
    // No zero denominator: z is not a root (checked above).
    let mut inv = acc.invert().unwrap_or(Scalar::zero());
    let mut sum = Scalar::zero();
    for i in (0..diffs.len()).rev() {
        let inv_i = inv * prefix[i];
        inv *= diffs[i];
        sum += values[i] * roots[i] * inv_i;
    }
    let n = Scalar::from(FIELD_ELEMENTS_PER_BLOB as u64);
    let zn = z.pow_vartime(&[FIELD_ELEMENTS_PER_BLOB as u64, 0, 0, 0]);
    sum * (zn - Scalar::one()) * n.invert().unwrap_or(Scalar::zero())
}

/// Checks that `proof` opens `commitment` to `blob` (EIP-4844 `verify_blob_kzg_proof`);
/// `index` names the blob in the error.
pub fn verify_blob_proof(
    index: usize,
    blob: &Blob,
    commitment: &KzgCommitment,
    proof: &KzgProof,
) -> Result<(), KzgError> {
    let c: G1Affine = Option::from(G1Affine::from_compressed(commitment))
        .ok_or(KzgError::BadCommitment(index))?;
    let pi: G1Affine =
        Option::from(G1Affine::from_compressed(proof)).ok_or(KzgError::BadProof(index))?;
    let values = blob
        .chunks_exact(BYTES_PER_FIELD_ELEMENT)
        .enumerate()
        .map(|(i, b)| scalar_be(b).ok_or(KzgError::NonCanonical(index, i)))
        .collect::<Result<Vec<_>, _>>()?;
    let z = challenge(blob, commitment);
    let y = evaluate(&values, z);
    let tau: G2Affine = Option::from(G2Affine::from_compressed(&TAU_G2))
        .unwrap_or_else(|| unreachable!("the ceremony's point is valid"));
    let x_minus_z = G2Affine::from(tau - G2Affine::generator() * z);
    let p_minus_y = G1Affine::from(G1Projective::from(c) - G1Affine::generator() * y);
    let neg_g2 = G2Prepared::from(-G2Affine::generator());
    let x_minus_z = G2Prepared::from(x_minus_z);
    let check =
        multi_miller_loop(&[(&p_minus_y, &neg_g2), (&pi, &x_minus_z)]).final_exponentiation();
    if check == Gt::identity() {
        Ok(())
    } else {
        Err(KzgError::Mismatch(index))
    }
}

/// Checks every blob's proof against its commitment, in order.
pub fn verify_blob_proofs(
    blobs: &[&Blob],
    commitments: &[KzgCommitment],
    proofs: &[KzgProof],
) -> Result<(), KzgError> {
    if blobs.len() != commitments.len() || blobs.len() != proofs.len() {
        return Err(KzgError::Count {
            blobs: blobs.len(),
            commitments: commitments.len(),
            proofs: proofs.len(),
        });
    }
    for (i, ((b, c), p)) in blobs.iter().zip(commitments).zip(proofs).enumerate() {
        verify_blob_proof(i, b, c, p)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_is_the_4096th_roots_of_unity_bit_reversed() {
        let d = domain();
        assert_eq!(d.len(), 4096);
        assert_eq!(d[0], Scalar::one());
        // Bit-reversed: index 1 holds ω^2048 = −1.
        assert_eq!(d[1], -Scalar::one());
        let w = d[2048]; // ω^1
        assert_ne!(w.pow_vartime(&[2048, 0, 0, 0]), Scalar::one());
        assert_eq!(w.pow_vartime(&[4096, 0, 0, 0]), Scalar::one());
    }

    #[test]
    fn evaluation_at_a_domain_point_is_the_value_and_elsewhere_interpolates() {
        // The constant polynomial 5 evaluates to 5 everywhere.
        let values = vec![Scalar::from(5u64); 4096];
        assert_eq!(
            evaluate(&values, Scalar::from(123_456u64)),
            Scalar::from(5u64)
        );
        // The polynomial X: its evaluations are the domain itself.
        let x: Vec<Scalar> = domain().to_vec();
        assert_eq!(evaluate(&x, Scalar::from(77u64)), Scalar::from(77u64));
        assert_eq!(evaluate(&x, domain()[9]), domain()[9]);
    }

    #[test]
    fn the_ceremony_point_decodes_and_garbage_is_refused() {
        assert!(bool::from(G2Affine::from_compressed(&TAU_G2).is_some()));
        let blob = vec![0u8; crate::blob::BYTES_PER_BLOB];
        let blob: &Blob = blob.as_slice().try_into().unwrap();
        assert_eq!(
            verify_blob_proof(0, blob, &[0u8; 48], &[0u8; 48]),
            Err(KzgError::BadCommitment(0))
        );
        let mut high = blob.to_owned();
        high[0] = 0xff;
        // The identity (0xc0 ‖ 0…) is a valid point: the check gets to the blob.
        let mut inf = [0u8; 48];
        inf[0] = 0xc0;
        assert_eq!(
            verify_blob_proof(2, &high, &inf, &inf),
            Err(KzgError::NonCanonical(2, 0))
        );
        // The zero blob's commitment is the identity, and so is its proof.
        assert_eq!(verify_blob_proof(0, blob, &inf, &inf), Ok(()));
        assert!(verify_blob_proofs(&[blob], &[inf], &[]).is_err());
    }
}
