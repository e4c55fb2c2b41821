//! The cryptographic primitives the stages use, behind a trait: natively they are computed
//! here; inside a component they are host imports (priced in gas) backed by this same code.
//!
//! Curve points cross the trait in arkworks' compressed encoding (G1 32 bytes, G2 64 bytes) so
//! a component never decompresses or checks points itself: the host does, natively.

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, One, PrimeField};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use sha3::{Digest, Keccak256};

mod g2check;
pub use g2check::in_g2;

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
    g2check::g2_decode(b)
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
        // Recurring bases (a verification key's IC points) use precomputed fixed-base tables;
        // the rest a variable-base MSM.
        let mut acc = G1Projective::default();
        let mut bases = Vec::new();
        let mut bigints = Vec::new();
        for (p, x) in points.iter().zip(scalars) {
            let (pt, hits) = cached_g1_count(p)?;
            // A table costs ~8000 additions (a few ms) to build: only for bases that keep
            // coming back (verification-key points), never for per-proof points.
            match (hits >= TABLE_AFTER_HITS)
                .then(|| fixed_base_table(p, &pt))
                .flatten()
            {
                Some(t) => acc += t.mul(x),
                None => {
                    bases.push(pt);
                    bigints.push(x.into_bigint());
                }
            }
        }
        if !bases.is_empty() {
            acc += G1Projective::msm_bigint(&bases, &bigints);
        }
        // The result usually goes straight into a pairing check: remember its decoding.
        let out = acc.into_affine();
        let b = g1_to_bytes(&out);
        if let Ok(mut c) = caches().g1.lock() {
            if !c.map.contains_key(&b) {
                c.put(b, out);
            }
        }
        Some(b)
    }

    fn pairing_check(&self, g1: &[G1Bytes], g2: &[G2Bytes]) -> Option<bool> {
        if g1.len() != g2.len() {
            return None;
        }
        // Pairs whose points both keep recurring (a verification key's α and −β, seen on every
        // verification) have their Miller loop memoised; recurring G2 points (γ, δ) are kept
        // prepared. A proof's own points are seen a few times at most (batch, then a re-check),
        // far below the memo threshold.
        let mut a = Vec::with_capacity(g1.len());
        let mut b = Vec::with_capacity(g2.len());
        let mut acc = <Bn254 as Pairing>::TargetField::one();
        for (p, q) in g1.iter().zip(g2) {
            let key = (*p, *q);
            if let Some(ml) = caches().ml.lock().ok().and_then(|mut c| c.get(&key)) {
                acc *= ml;
                continue;
            }
            let (pa, hits1) = cached_g1_count(p)?;
            let (qb, hits2) = cached_g2(q)?;
            if hits1 >= MEMO_AFTER_HITS && hits2 >= MEMO_AFTER_HITS {
                let ml = Bn254::multi_miller_loop([pa], [qb.clone()]).0;
                if let Ok(mut c) = caches().ml.lock() {
                    c.put(key, ml);
                }
                acc *= ml;
                continue;
            }
            a.push(pa);
            b.push(qb);
        }
        if !a.is_empty() {
            acc *= Bn254::multi_miller_loop(a, b).0;
        }
        let out = Bn254::final_exponentiation(ark_ec::pairing::MillerLoopOutput(acc))?;
        Some(out.0.is_one())
    }
}

/// A plain multi-pairing check on affine points (no decoding, no caching): the yardstick the
/// benchmarks compare Groth16 verification with.
pub fn multi_pairing_is_one(g1: &[G1Affine], g2: &[G2Affine]) -> bool {
    Bn254::multi_pairing(g1.iter().copied(), g2.iter().copied())
        .0
        .is_one()
}

/// A small most-used cache: keeps the entries hit most often, so that per-proof points pass
/// through without evicting a verification key's.
struct Hot<K, V> {
    map: std::collections::BTreeMap<K, (V, u64)>,
    cap: usize,
}

impl<K: Ord + Clone, V: Clone> Hot<K, V> {
    fn new(cap: usize) -> Self {
        Self {
            map: std::collections::BTreeMap::new(),
            cap,
        }
    }

    fn get(&mut self, k: &K) -> Option<V> {
        self.get_hits(k).map(|(v, _)| v)
    }

    fn get_hits(&mut self, k: &K) -> Option<(V, u64)> {
        let e = self.map.get_mut(k)?;
        e.1 += 1;
        Some((e.0.clone(), e.1))
    }

    fn put(&mut self, k: K, v: V) {
        if self.map.len() >= self.cap {
            // Evict the least-hit entry (ties: the smallest key, deterministically).
            if let Some(victim) = self
                .map
                .iter()
                .min_by_key(|(_, (_, h))| *h)
                .map(|(k, _)| k.clone())
            {
                self.map.remove(&victim);
            }
        }
        self.map.insert(k, (v, 1));
    }
}

/// Multiples `d·256^w·P` for every byte value d and window w: a scalar multiplication becomes
/// at most 32 mixed additions (a verification key's IC points; 520 KiB per point).
struct FixedBase(Vec<Vec<G1Affine>>);

impl FixedBase {
    fn new(p: &G1Affine) -> Self {
        let mut windows = Vec::with_capacity(32);
        let mut base = G1Projective::from(*p);
        for _ in 0..32 {
            let mut row = Vec::with_capacity(255);
            let mut m = base;
            for _ in 0..255 {
                row.push(m);
                m += base;
            }
            windows.push(G1Projective::normalize_batch(&row));
            base = m; // 256·base
        }
        FixedBase(windows)
    }

    fn mul(&self, x: &Fr) -> G1Projective {
        let bytes = x.into_bigint().to_bytes_le();
        let mut acc = G1Projective::default();
        for (row, d) in self.0.iter().zip(bytes) {
            if d != 0 {
                acc += row[d as usize - 1];
            }
        }
        acc
    }
}

fn fixed_base_table(b: &G1Bytes, p: &G1Affine) -> Option<std::sync::Arc<FixedBase>> {
    let mut c = caches().tables.lock().ok()?;
    if let Some(t) = c.get(b) {
        return Some(t);
    }
    let t = std::sync::Arc::new(FixedBase::new(p));
    c.put(*b, t.clone());
    Some(t)
}

type G2Prep = <Bn254 as Pairing>::G2Prepared;
type MillerOut = <Bn254 as Pairing>::TargetField;

struct Caches {
    g1: std::sync::Mutex<Hot<G1Bytes, G1Affine>>,
    g2: std::sync::Mutex<Hot<G2Bytes, G2Prep>>,
    ml: std::sync::Mutex<Hot<(G1Bytes, G2Bytes), MillerOut>>,
    tables: std::sync::Mutex<Hot<G1Bytes, std::sync::Arc<FixedBase>>>,
}

fn caches() -> &'static Caches {
    static C: std::sync::OnceLock<Caches> = std::sync::OnceLock::new();
    C.get_or_init(|| Caches {
        g1: std::sync::Mutex::new(Hot::new(256)),
        g2: std::sync::Mutex::new(Hot::new(64)),
        ml: std::sync::Mutex::new(Hot::new(16)),
        tables: std::sync::Mutex::new(Hot::new(16)),
    })
}

/// Uses of a G1 base before it gets a fixed-base table. Verification-key points reach it
/// after a few dozen verifications; a proof's own points (used two or three times: batch,
/// re-check) never do, so their tables are never built and never evict a key's.
const TABLE_AFTER_HITS: u64 = 64;

/// Uses of both points of a pair before its Miller loop is memoised.
const MEMO_AFTER_HITS: u64 = 64;

fn cached_g1_count(b: &G1Bytes) -> Option<(G1Affine, u64)> {
    if let Some((p, hits)) = caches().g1.lock().ok().and_then(|mut c| c.get_hits(b)) {
        return Some((p, hits));
    }
    let p = g1_from_bytes(b)?;
    if let Ok(mut c) = caches().g1.lock() {
        c.put(*b, p);
    }
    Some((p, 1))
}

fn cached_g2(b: &G2Bytes) -> Option<(G2Prep, u64)> {
    if let Some(hit) = caches().g2.lock().ok().and_then(|mut c| c.get_hits(b)) {
        return Some(hit);
    }
    let p: G2Prep = g2_from_bytes(b)?.into();
    if let Ok(mut c) = caches().g2.lock() {
        c.put(*b, p.clone());
    }
    Some((p, 1))
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
    fn cached_paths_give_the_same_answers() {
        use ark_ec::CurveGroup;
        let pts: Vec<G1Affine> = (1..=4u64)
            .map(|k| (G1Affine::generator() * Fr::from(k * 7919)).into_affine())
            .collect();
        let bytes: Vec<G1Bytes> = pts.iter().map(g1_to_bytes).collect();
        let xs = [
            Fr::from(3u64),
            -Fr::from(1u64),
            Fr::from(u64::MAX),
            Fr::from(0u64),
        ];
        let want = g1_to_bytes(
            &pts.iter()
                .zip(&xs)
                .map(|(p, x)| *p * x)
                .sum::<G1Projective>()
                .into_affine(),
        );
        // Cold, warm and hot (fixed-base tables) must agree.
        for _ in 0..TABLE_AFTER_HITS + 4 {
            assert_eq!(NativeCrypto.msm_g1(&bytes, &xs), Some(want));
        }
        assert!(caches().tables.lock().unwrap().map.contains_key(&bytes[0]));
        let g2 = g2_to_bytes(&G2Affine::generator());
        let neg = g1_to_bytes(&(-pts[0]));
        for _ in 0..MEMO_AFTER_HITS + 4 {
            assert_eq!(
                NativeCrypto.pairing_check(&[bytes[0], neg], &[g2, g2]),
                Some(true)
            );
            assert_eq!(
                NativeCrypto.pairing_check(&[bytes[0], bytes[1]], &[g2, g2]),
                Some(false)
            );
        }
        assert!(caches()
            .ml
            .lock()
            .unwrap()
            .map
            .contains_key(&(bytes[0], g2)));
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
