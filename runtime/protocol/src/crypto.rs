//! The cryptographic primitives the stages use, behind a trait: natively they are computed
//! here; inside a component they are host imports (priced in gas) backed by this same code.
//!
//! Curve points cross the trait in arkworks' compressed encoding (G1 32 bytes, G2 64 bytes) so
//! a component never decompresses or checks points itself: the host does, natively.

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{AdditiveGroup, One, PrimeField};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use sha3::{Digest, Keccak256};

mod g2check;
mod miller;
pub use g2check::in_g2;
pub use miller::{multi_miller_loop, prepare_in_g2, FixedG2};

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
        let mut frs = Vec::new();
        for (p, x) in points.iter().zip(scalars) {
            let (pt, hits) = cached_g1_count(p)?;
            // A table costs ~45 000 additions (~20 ms) to build: only for bases that keep
            // coming back (verification-key points), never for per-proof points.
            match (hits >= TABLE_AFTER_HITS)
                .then(|| fixed_base_table(p, &pt))
                .flatten()
            {
                Some(t) => acc += t.mul(x),
                None => {
                    bases.push(pt);
                    frs.push(*x);
                }
            }
        }
        match bases.len() {
            0 => {}
            // One point (a 128-bit batch weight times a proof's A): double-and-add walks the
            // weight's 128 bits, where a one-point Pippenger walks all 254.
            1 => acc += bases[0] * frs[0],
            _ => acc += G1Projective::msm_unchecked(&bases, &frs),
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
        // verification) have their Miller loop memoised; recurring G2 points (γ, δ) enter the
        // loop as normalised lines (`miller`). A proof's own points are seen a few times at
        // most (batch, then a re-check), far below either threshold.
        let mut pairs = Vec::with_capacity(g1.len());
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
                let ml = Bn254::multi_miller_loop([pa], [qb.prep.clone()]).0;
                if let Ok(mut c) = caches().ml.lock() {
                    c.put(key, ml);
                }
                acc *= ml;
                continue;
            }
            pairs.push((pa, qb, hits2 >= LINES_AFTER_HITS));
        }
        let var: Vec<(G1Affine, &G2Prep)> = pairs
            .iter()
            .filter(|(_, q, fixed)| !fixed || q.lines().is_none())
            .map(|(p, q, _)| (*p, &q.prep))
            .collect();
        let fixed: Vec<(G1Affine, &FixedG2)> = pairs
            .iter()
            .filter(|(_, _, fixed)| *fixed)
            .filter_map(|(p, q, _)| Some((*p, q.lines()?)))
            .collect();
        if !pairs.is_empty() {
            acc *= multi_miller_loop(&var, &fixed);
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
/// through without evicting a verification key's. Among the least-hit, the oldest goes first:
/// a newcomer (a new key's point) must get the chance to collect hits, or a cache full of
/// one-off proof points would evict it on the next insert, forever.
struct Hot<K, V> {
    map: std::collections::BTreeMap<K, (V, u64, u64)>,
    cap: usize,
    seq: u64,
}

impl<K: Ord + Clone, V: Clone> Hot<K, V> {
    fn new(cap: usize) -> Self {
        Self {
            map: std::collections::BTreeMap::new(),
            cap,
            seq: 0,
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
            // Evict the least-hit entry, the oldest among equals (deterministic).
            if let Some(victim) = self
                .map
                .iter()
                .min_by_key(|(_, (_, hits, seq))| (*hits, *seq))
                .map(|(k, _)| k.clone())
            {
                self.map.remove(&victim);
            }
        }
        self.seq += 1;
        self.map.insert(k, (v, 1, self.seq));
    }
}

/// Signed 12-bit windows of a fixed base: `j·4096^w·P` for j = 1..=2048 and w = 0..22, so a
/// scalar multiplication is at most 22 mixed additions (a verification key's IC points;
/// ~3 MiB and ~20 ms to build per point, once).
struct FixedBase(Vec<Vec<G1Affine>>);

const WINDOW_BITS: usize = 12;
const WINDOWS: usize = 22; // 22 · 12 ≥ 254 bits plus the last carry
const HALF: usize = 1 << (WINDOW_BITS - 1);

impl FixedBase {
    fn new(p: &G1Affine) -> Self {
        let mut windows = Vec::with_capacity(WINDOWS);
        let mut base = G1Projective::from(*p);
        for _ in 0..WINDOWS {
            let mut row = Vec::with_capacity(HALF);
            let mut m = base;
            for _ in 0..HALF {
                row.push(m);
                m += base;
            }
            windows.push(G1Projective::normalize_batch(&row));
            base = row[HALF - 1].double(); // 2·2048·base = 4096·base
        }
        FixedBase(windows)
    }

    fn mul(&self, x: &Fr) -> G1Projective {
        let limbs = x.into_bigint().0;
        let bits = |at: usize| -> usize {
            let (i, o) = (at / 64, at % 64);
            let lo = limbs.get(i).map_or(0, |l| l >> o);
            let hi = match (o, limbs.get(i + 1)) {
                (0, _) | (_, None) => 0,
                (_, Some(h)) => h << (64 - o),
            };
            ((lo | hi) as usize) & ((1 << WINDOW_BITS) - 1)
        };
        let mut acc = G1Projective::default();
        let mut carry = 0;
        for (w, row) in self.0.iter().enumerate() {
            let v = bits(w * WINDOW_BITS) + carry;
            // Digits in [−2047, 2048]: a table of 2048 multiples serves both signs.
            if v > HALF {
                // v − 4096 ∈ [−2047, 0] (v = 4096 when a carry meets an all-ones window).
                let neg = (1 << WINDOW_BITS) - v;
                if neg != 0 {
                    acc -= row[neg - 1];
                }
                carry = 1;
            } else {
                if v != 0 {
                    acc += row[v - 1];
                }
                carry = 0;
            }
        }
        acc
    }
}

/// The fixed-base tables in use, at most [`MAX_TABLES`] (~3 MiB each). A table is replaced
/// only by evicting one idle for [`TABLE_IDLE`] lookups: with more recurring bases than
/// tables, the extra ones take the variable-base path rather than evicting a busy table and
/// rebuilding it (~20 ms) on every verification; a rotated-out key's tables go idle and make
/// room for the new key's.
struct Tables<V> {
    map: std::collections::BTreeMap<G1Bytes, (V, u64)>,
    clock: u64,
}

const MAX_TABLES: usize = 16;
const TABLE_IDLE: u64 = 4096;

impl<V: Clone> Tables<V> {
    fn new() -> Self {
        Tables {
            map: std::collections::BTreeMap::new(),
            clock: 0,
        }
    }

    /// The table for `b` (`Ok`), or whether one may be built for it (`Err(true)`).
    fn lookup(&mut self, b: &G1Bytes) -> Result<V, bool> {
        self.clock += 1;
        let now = self.clock;
        if let Some((t, last)) = self.map.get_mut(b) {
            *last = now;
            return Ok(t.clone());
        }
        Err(self.map.len() < MAX_TABLES || self.idle().is_some())
    }

    fn idle(&self) -> Option<G1Bytes> {
        self.map
            .iter()
            .filter(|(_, (_, last))| self.clock - last > TABLE_IDLE)
            .min_by_key(|(_, (_, last))| *last)
            .map(|(k, _)| *k)
    }

    /// Keeps a freshly built table if there is room (or an idle one to evict).
    fn insert(&mut self, b: G1Bytes, t: V) {
        if self.map.contains_key(&b) {
            return;
        }
        if self.map.len() >= MAX_TABLES {
            match self.idle() {
                Some(k) => {
                    self.map.remove(&k);
                }
                None => return,
            }
        }
        self.map.insert(b, (t, self.clock));
    }
}

fn fixed_base_table(b: &G1Bytes, p: &G1Affine) -> Option<std::sync::Arc<FixedBase>> {
    match caches().tables.lock().ok()?.lookup(b) {
        Ok(t) => return Some(t),
        Err(false) => return None,
        Err(true) => {}
    }
    // Built outside the lock so other verifications go on meanwhile (two threads may build
    // the same table once; the second is dropped).
    let t = std::sync::Arc::new(FixedBase::new(p));
    caches().tables.lock().ok()?.insert(*b, t.clone());
    Some(t)
}

type G2Prep = <Bn254 as Pairing>::G2Prepared;
type MillerOut = <Bn254 as Pairing>::TargetField;

/// A decoded G2 point: arkworks' prepared form, and its normalised lines once it recurs.
struct G2Entry {
    prep: G2Prep,
    lines: std::sync::OnceLock<Option<FixedG2>>,
}

impl G2Entry {
    fn lines(&self) -> Option<&FixedG2> {
        self.lines.get_or_init(|| FixedG2::new(&self.prep)).as_ref()
    }
}

struct Caches {
    g1: std::sync::Mutex<Hot<G1Bytes, G1Affine>>,
    g2: std::sync::Mutex<Hot<G2Bytes, std::sync::Arc<G2Entry>>>,
    ml: std::sync::Mutex<Hot<(G1Bytes, G2Bytes), MillerOut>>,
    tables: std::sync::Mutex<Tables<std::sync::Arc<FixedBase>>>,
}

fn caches() -> &'static Caches {
    static C: std::sync::OnceLock<Caches> = std::sync::OnceLock::new();
    C.get_or_init(|| Caches {
        g1: std::sync::Mutex::new(Hot::new(256)),
        g2: std::sync::Mutex::new(Hot::new(64)),
        ml: std::sync::Mutex::new(Hot::new(16)),
        tables: std::sync::Mutex::new(Tables::new()),
    })
}

/// Uses of a G1 base before it gets a fixed-base table. Verification-key points reach it
/// after a few dozen verifications; a proof's own points (used two or three times: batch,
/// re-check) never do, so their tables are never built and never evict a key's.
const TABLE_AFTER_HITS: u64 = 64;

/// Uses of both points of a pair before its Miller loop is memoised.
const MEMO_AFTER_HITS: u64 = 64;

/// Uses of a G2 point before it enters Miller loops as normalised lines (87 𝔽_{p²}
/// inversions, batched: ~20 µs once).
const LINES_AFTER_HITS: u64 = 64;

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

fn cached_g2(b: &G2Bytes) -> Option<(std::sync::Arc<G2Entry>, u64)> {
    if let Some(hit) = caches().g2.lock().ok().and_then(|mut c| c.get_hits(b)) {
        return Some(hit);
    }
    // Decoding, preparing and the subgroup check in one pass (`miller::prepare_in_g2`).
    let e = std::sync::Arc::new(G2Entry {
        prep: miller::prepare_in_g2(&g2check::g2_decode_on_twist(b)?)?,
        lines: std::sync::OnceLock::new(),
    });
    if let Ok(mut c) = caches().g2.lock() {
        c.put(*b, e.clone());
    }
    Some((e, 1))
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
    fn recurring_g2_points_switch_to_normalised_lines_with_the_same_answers() {
        use ark_ec::CurveGroup;
        // Fresh G1 points against two recurring G2 points, like proofs against a key's γ, δ.
        let h1 = (G2Affine::generator() * Fr::from(31337u64)).into_affine();
        let h2 = (G2Affine::generator() * Fr::from(4242u64)).into_affine();
        let (b1, b2) = (g2_to_bytes(&h1), g2_to_bytes(&h2));
        for k in 1..=LINES_AFTER_HITS + 8 {
            // e(a·G, h1) · e(b·G, h2) = e(G, H)^(31337·a + 4242·b): 1 for these a, b.
            let a = Fr::from(4242u64 * k);
            let b = -Fr::from(31337u64 * k);
            let p = g1_to_bytes(&(G1Affine::generator() * a).into_affine());
            let q = g1_to_bytes(&(G1Affine::generator() * b).into_affine());
            let r = g1_to_bytes(&(G1Affine::generator() * (b + Fr::from(1u64))).into_affine());
            assert_eq!(
                NativeCrypto.pairing_check(&[p, q], &[b1, b2]),
                Some(true),
                "k={k}"
            );
            assert_eq!(
                NativeCrypto.pairing_check(&[p, r], &[b1, b2]),
                Some(false),
                "k={k}"
            );
        }
        let c = caches().g2.lock().unwrap();
        let entry = &c.map.get(&b1).unwrap().0;
        assert!(entry.lines.get().is_some_and(|l| l.is_some()));
    }

    #[test]
    fn a_newcomer_survives_a_flood_of_one_off_entries() {
        // A full cache of one-off entries (proof points); a new key's point with the smallest
        // key arrives and is used once per round while a fresh one-off entry arrives each round.
        let mut c: Hot<u32, ()> = Hot::new(4);
        for junk in 100..104 {
            c.put(junk, ());
        }
        c.put(0, ());
        for round in 0..100u32 {
            assert!(c.get(&0).is_some(), "round {round}: evicted");
            c.put(1000 + round, ());
        }
        // The most-hit entry stays even when it is the oldest.
        assert!(c.map.contains_key(&0) && c.map.len() == 4);
    }

    #[test]
    fn more_recurring_bases_than_tables_do_not_thrash() {
        let key = |i: usize| -> G1Bytes {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&(i as u64).to_le_bytes());
            k
        };
        let mut t: Tables<usize> = Tables::new();
        let mut builds = 0;
        // MAX_TABLES + 1 bases used round after round, like a key with too many inputs.
        for _round in 0..50 {
            for i in 0..=MAX_TABLES {
                match t.lookup(&key(i)) {
                    Ok(v) => assert_eq!(v, i),
                    Err(true) => {
                        builds += 1;
                        t.insert(key(i), i);
                    }
                    Err(false) => {}
                }
            }
        }
        assert_eq!(
            builds, MAX_TABLES,
            "each table built once, the extra base never"
        );
        // A new key's bases get tables once the old ones have gone idle.
        let fresh = key(1000);
        assert_eq!(t.lookup(&fresh), Err(false));
        for _ in 0..TABLE_IDLE {
            let _ = t.lookup(&fresh);
        }
        assert_eq!(t.lookup(&fresh), Err(true));
        t.insert(fresh, 1000);
        assert_eq!(t.lookup(&fresh), Ok(1000));
        assert_eq!(t.map.len(), MAX_TABLES);
    }

    #[test]
    fn signed_window_tables_multiply_exactly() {
        use ark_ff::UniformRand;
        let mut rng = <ark_std::rand::rngs::StdRng as ark_std::rand::SeedableRng>::seed_from_u64(4);
        let p = (G1Affine::generator() * Fr::from(99u64)).into_affine();
        let t = FixedBase::new(&p);
        // Edge digits: 0, ±1, the window's top (2048 → carry), −1 = r − 1, and random scalars.
        let mut xs = vec![
            Fr::from(0u64),
            Fr::from(1u64),
            -Fr::from(1u64),
            Fr::from(2048u64),
            Fr::from(2049u64),
            Fr::from(4095u64),
            Fr::from((4095u64 << 12) | 4095),
            Fr::from(u64::MAX),
        ];
        xs.extend((0..200).map(|_| Fr::rand(&mut rng)));
        for x in xs {
            assert_eq!(t.mul(&x), p * x, "{x}");
        }
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
        // A point on the twist but outside G2 is refused, however often it comes back.
        let off = {
            use ark_ff::UniformRand;
            let mut rng =
                <ark_std::rand::rngs::StdRng as ark_std::rand::SeedableRng>::seed_from_u64(9);
            loop {
                let x = ark_bn254::Fq2::rand(&mut rng);
                if let Some(p) = G2Affine::get_point_from_x_unchecked(x, false) {
                    break g2_to_bytes(&p);
                }
            }
        };
        for _ in 0..LINES_AFTER_HITS + 2 {
            assert_eq!(NativeCrypto.pairing_check(&[two], &[off]), None);
        }
    }
}
