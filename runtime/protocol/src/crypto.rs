//! The cryptographic primitives the stages use, behind a trait: natively they are computed
//! here; inside a component they are host imports (priced in gas) backed by this same code.
//!
//! Curve points cross the trait in arkworks' compressed encoding (G1 32 bytes, G2 64 bytes) so
//! a component never decompresses or checks points itself: the host does, natively.

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{One, PrimeField};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use sha3::{Digest, Keccak256};

/// A compressed G1 point.
pub type G1Bytes = [u8; 32];
/// A compressed G2 point.
pub type G2Bytes = [u8; 64];

/// Primitives available to the stages.
pub trait Crypto {
    /// keccak-256.
    fn keccak256(&self, data: &[u8]) -> [u8; 32] {
        Keccak256::digest(data).into()
    }
    /// The address that signed `hash` (r ‖ s ‖ v, v ∈ {0, 1, 27, 28}); `None` if invalid.
    fn ecrecover(&self, hash: &[u8; 32], sig: &[u8; 65]) -> Option<[u8; 20]>;
    /// Poseidon with cairn's parameters.
    fn poseidon(&self, domain: u64, inputs: &[Fr]) -> Fr;
    /// Σ scalarᵢ·pointᵢ over G1; `None` if a point is invalid or the lengths differ.
    fn msm_g1(&self, points: &[G1Bytes], scalars: &[Fr]) -> Option<G1Bytes>;
    /// Whether Π e(g1ᵢ, g2ᵢ) = 1; `None` if a point is invalid or the lengths differ.
    fn pairing_check(&self, g1: &[G1Bytes], g2: &[G2Bytes]) -> Option<bool>;
}

/// The primitives computed in this process.
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeCrypto;

/// Decodes a compressed G1 point (checked: on the curve; BN254 G1 has cofactor 1).
pub fn g1_from_bytes(b: &G1Bytes) -> Option<G1Affine> {
    G1Affine::deserialize_compressed(&b[..]).ok()
}

/// Decodes a compressed G2 point (checked: on the twist and in the subgroup).
pub fn g2_from_bytes(b: &G2Bytes) -> Option<G2Affine> {
    G2Affine::deserialize_compressed(&b[..]).ok()
}

/// Compressed encoding of a G1 point.
pub fn g1_to_bytes(p: &G1Affine) -> G1Bytes {
    let mut out = [0u8; 32];
    // Writing into a fixed buffer of the exact size cannot fail.
    let _ = p.serialize_compressed(&mut out[..]);
    out
}

/// Compressed encoding of a G2 point.
pub fn g2_to_bytes(p: &G2Affine) -> G2Bytes {
    let mut out = [0u8; 64];
    let _ = p.serialize_compressed(&mut out[..]);
    out
}

impl Crypto for NativeCrypto {
    fn ecrecover(&self, hash: &[u8; 32], sig: &[u8; 65]) -> Option<[u8; 20]> {
        let v = match sig[64] {
            0 | 27 => 0,
            1 | 28 => 1,
            _ => return None,
        };
        let s = Signature::from_slice(&sig[..64]).ok()?;
        let id = RecoveryId::from_byte(v)?;
        let key = VerifyingKey::recover_from_prehash(hash, &s, id).ok()?;
        let point = key.to_encoded_point(false);
        let h: [u8; 32] = Keccak256::digest(&point.as_bytes()[1..]).into();
        let mut a = [0u8; 20];
        a.copy_from_slice(&h[12..]);
        Some(a)
    }

    fn poseidon(&self, domain: u64, inputs: &[Fr]) -> Fr {
        crate::poseidon::hash(domain, inputs)
    }

    fn msm_g1(&self, points: &[G1Bytes], scalars: &[Fr]) -> Option<G1Bytes> {
        if points.len() != scalars.len() {
            return None;
        }
        let bases: Vec<G1Affine> = points.iter().map(g1_from_bytes).collect::<Option<_>>()?;
        let bigints: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
        let r = G1Projective::msm_bigint(&bases, &bigints);
        Some(g1_to_bytes(&r.into_affine()))
    }

    fn pairing_check(&self, g1: &[G1Bytes], g2: &[G2Bytes]) -> Option<bool> {
        if g1.len() != g2.len() {
            return None;
        }
        let a: Vec<G1Affine> = g1.iter().map(g1_from_bytes).collect::<Option<_>>()?;
        let b: Vec<G2Affine> = g2.iter().map(g2_from_bytes).collect::<Option<_>>()?;
        Some(Bn254::multi_pairing(a, b).0.is_one())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::AffineRepr;

    #[test]
    fn ecrecover_matches_cairn_crypto() {
        let sk = cairn_crypto_key();
        let hash = [7u8; 32];
        let sig = sk.sign_hash(&hash);
        let mut raw = [0u8; 65];
        raw.copy_from_slice(&sig.0);
        assert_eq!(NativeCrypto.ecrecover(&hash, &raw), Some(sk.address().0));
        raw[64] = 5;
        assert_eq!(NativeCrypto.ecrecover(&hash, &raw), None);
    }

    fn cairn_crypto_key() -> cairn_crypto::EthSecretKey {
        cairn_crypto::EthSecretKey::from_bytes(&[0x11; 32]).unwrap()
    }

    #[test]
    fn pairing_and_msm() {
        let g1 = G1Affine::generator();
        let g2 = G2Affine::generator();
        let two = NativeCrypto
            .msm_g1(&[g1_to_bytes(&g1)], &[Fr::from(2u64)])
            .unwrap();
        let neg2: G1Affine = (-(g1 + g1)).into_affine();
        // e(2G, H) · e(-2G, H) = 1
        assert_eq!(
            NativeCrypto.pairing_check(
                &[two, g1_to_bytes(&neg2)],
                &[g2_to_bytes(&g2), g2_to_bytes(&g2)]
            ),
            Some(true)
        );
        assert_eq!(
            NativeCrypto.pairing_check(&[two, two], &[g2_to_bytes(&g2), g2_to_bytes(&g2)]),
            Some(false)
        );
        assert_eq!(
            NativeCrypto.pairing_check(&[[0xff; 32]], &[g2_to_bytes(&g2)]),
            None
        );
        assert_eq!(NativeCrypto.msm_g1(&[two], &[]), None);
    }
}
