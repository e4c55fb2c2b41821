//! BN254 BLS keys and the proof of possession (PoP) exactly as Aztec's GSE contract checks it.
//!
//! The message signed for a PoP is the G1 public key itself, mapped to G1 by `BN254Lib.hashToPoint`
//! (try-and-increment over keccak with the `AZTEC_BLS_POP_BN254_V1` domain). The verifier below
//! performs the contract's γ-randomised check `e(σ + γ·pk1, −G2) · e(D + γ·G1, pk2) == 1`, so a
//! registration that passes here passes `GSE.deposit` unless its gas exceeds the contract's cap.

use ark_bn254::{Bn254, Fq, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{pairing::Pairing, AffineRepr, CurveGroup};
use ark_ff::{Field, One, PrimeField, Zero};
use thiserror::Error;

use crate::bn254::{bigint_from_word, fr_to_word, G1Words, G2Words, PointError, Word};
use crate::keccak256;

/// `bytes32("AZTEC_BLS_POP_BN254_V1")`: the string right-padded with zeros.
pub const POP_DOMAIN: Word = {
    let mut out = [0u8; 32];
    let s = b"AZTEC_BLS_POP_BN254_V1";
    let mut i = 0;
    while i < s.len() {
        out[i] = s[i];
        i += 1;
    }
    out
};

/// The GSE's default `proofOfPossessionGasLimit`: a PoP check needing more gas fails the deposit.
pub const POP_GAS_CAP: u64 = 250_000;

/// A BN254 BLS secret scalar, non-zero and reduced modulo the group order r.
#[derive(Clone, PartialEq, Eq)]
pub struct BlsSecretKey(Fr);

impl std::fmt::Debug for BlsSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlsSecretKey(<redacted>)")
    }
}

impl Drop for BlsSecretKey {
    fn drop(&mut self) {
        // Best effort: arkworks field elements are plain limbs, so overwrite them in place.
        self.0 = Fr::zero();
        std::hint::black_box(&self.0);
    }
}

/// Why bytes are not a usable BLS secret key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlsKeyError {
    /// The scalar is zero modulo r.
    #[error("BLS secret key is zero modulo the BN254 group order")]
    Zero,
}

impl BlsSecretKey {
    /// Reads a big-endian word, reducing it modulo r as Aztec's tooling does before multiplying.
    pub fn from_word(w: &Word) -> Result<Self, BlsKeyError> {
        Self::from_scalar(Fr::from_be_bytes_mod_order(w))
    }

    /// Reduces a big-endian integer of any length modulo r (used by key derivation, which
    /// reduces a 512-bit HMAC output).
    pub fn from_be_bytes_mod_order(bytes: &[u8]) -> Result<Self, BlsKeyError> {
        Self::from_scalar(Fr::from_be_bytes_mod_order(bytes))
    }

    /// Wraps a scalar, rejecting zero.
    pub fn from_scalar(s: Fr) -> Result<Self, BlsKeyError> {
        if s.is_zero() {
            Err(BlsKeyError::Zero)
        } else {
            Ok(Self(s))
        }
    }

    /// The secret as a big-endian word (already reduced).
    pub fn to_word(&self) -> Word {
        fr_to_word(&self.0)
    }

    /// pk1 = sk·G1.
    pub fn public_g1(&self) -> G1Words {
        G1Words::from_affine(&(G1Affine::generator() * self.0).into_affine())
    }

    /// pk2 = sk·G2.
    pub fn public_g2(&self) -> G2Words {
        G2Words::from_affine(&(G2Affine::generator() * self.0).into_affine())
    }

    /// The full registration tuple: both public keys and σ = sk·hashToPoint(pk1).
    pub fn proof_of_possession(&self) -> ProofOfPossession {
        let pk1 = self.public_g1();
        let h = hash_to_point(&pk1);
        let sigma = G1Words::from_affine(&(h.point * self.0).into_affine());
        ProofOfPossession {
            pk1,
            pk2: self.public_g2(),
            sigma,
            gas: PopGasEstimate::new(h.attempts, h.sqrt_calls),
        }
    }
}

/// A registration tuple with the estimated gas of its on-chain check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofOfPossession {
    /// Public key in G1.
    pub pk1: G1Words,
    /// Public key in G2.
    pub pk2: G2Words,
    /// σ = sk·hashToPoint(pk1), in G1.
    pub sigma: G1Words,
    /// What the contract will spend checking it.
    pub gas: PopGasEstimate,
}

/// The result of `hashToPoint` with the work it took, which drives its gas cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashToPoint {
    /// The digest point in G1.
    pub point: G1Affine,
    /// keccak candidates tried, including the successful one.
    pub attempts: u32,
    /// Candidates below p, each of which costs the contract a MODEXP square root.
    pub sqrt_calls: u32,
}

/// `BN254Lib.hashToPoint(STAKING_DOMAIN_SEPARATOR, abi.encodePacked(pk1.x, pk1.y))`.
///
/// The preimage of each candidate is `abi.encode(bytes32 domain, bytes m, uint256 n)`: 192 bytes.
/// Candidates `>= p` are rejected (not reduced); the sign of y comes from the candidate with
/// `n = 2^256 - 1`, so it does not depend on the attempt.
pub fn hash_to_point(pk1: &G1Words) -> HashToPoint {
    let mut preimage = [0u8; 192];
    preimage[..32].copy_from_slice(&POP_DOMAIN);
    preimage[63] = 0x60;
    preimage[127] = 64;
    preimage[128..160].copy_from_slice(&pk1.x);
    preimage[160..192].copy_from_slice(&pk1.y);

    preimage[64..96].fill(0xff);
    let sign_odd = keccak256(preimage)[31] & 1 == 1;

    let mut attempts: u32 = 0;
    let mut sqrt_calls: u32 = 0;
    loop {
        let n = attempts;
        attempts += 1;
        preimage[64..96].fill(0);
        preimage[92..96].copy_from_slice(&n.to_be_bytes());
        let candidate = keccak256(preimage);
        let Some(x) = Fq::from_bigint(bigint_from_word(&candidate)) else {
            continue;
        };
        sqrt_calls += 1;
        let t = x * x * x + Fq::from(3u64);
        let Some(y) = t.sqrt() else {
            continue;
        };
        let neg = -y;
        let (small, large) = if y.into_bigint() <= neg.into_bigint() {
            (y, neg)
        } else {
            (neg, y)
        };
        let y = if sign_odd { large } else { small };
        return HashToPoint {
            point: G1Affine::new_unchecked(x, y),
            attempts,
            sqrt_calls,
        };
    }
}

/// `GSE.getRegistrationDigest(pk1)`, computed locally.
pub fn registration_digest(pk1: &G1Words) -> G1Words {
    G1Words::from_affine(&hash_to_point(pk1).point)
}

/// Gas the on-chain PoP check is expected to use, from the shape of its `hashToPoint` loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PopGasEstimate {
    /// keccak candidates tried.
    pub attempts: u32,
    /// Square roots (MODEXP calls) computed.
    pub sqrt_calls: u32,
    /// Least gas `Bn254LibWrapper.proofOfPossession` needs to succeed (compare with the GSE's cap).
    pub gas: u64,
}

// The model predicts the least gas `Bn254LibWrapper.proofOfPossession` must be given to succeed,
// which is what the GSE's cap is compared against: the gas it uses plus ~1,733, because
// `bn254Pairing` forwards `gas() - 2000` to the pairing precompile. Fitted on the devnet's real
// contracts over 300 keys with 1–98 attempts (`tests/data/pop_gas.md`): it never underestimates
// and overestimates by at most 91 gas there; slopes are rounded up so it stays safe beyond.
/// Fixed part: two scalar multiplications, two additions, the 2-pair pairing, the γ hash, the
/// pairing reserve.
const POP_GAS_BASE: u64 = 132_694;
/// Per candidate: one keccak over the 192-byte preimage plus loop bookkeeping.
const POP_GAS_PER_ATTEMPT: u64 = 515;
/// Per square root: a MODEXP precompile call with a 254-bit exponent plus the squaring check.
const POP_GAS_PER_SQRT: u64 = 4_580;
/// Each attempt allocates 7 memory words that are never freed, so memory expansion grows
/// quadratically: ⌊49·A²/512⌋.
fn memory_gas(attempts: u64) -> u64 {
    49 * attempts * attempts / 512
}

impl PopGasEstimate {
    /// Estimates from the loop counts.
    pub fn new(attempts: u32, sqrt_calls: u32) -> Self {
        let a = u64::from(attempts);
        let gas = POP_GAS_BASE
            + POP_GAS_PER_ATTEMPT * a
            + POP_GAS_PER_SQRT * u64::from(sqrt_calls)
            + memory_gas(a);
        Self {
            attempts,
            sqrt_calls,
            gas,
        }
    }

    /// Estimates for a public key without needing its secret.
    pub fn for_key(pk1: &G1Words) -> Self {
        let h = hash_to_point(pk1);
        Self::new(h.attempts, h.sqrt_calls)
    }

    /// True when the estimate exceeds `cap` (the deposit would be refunded with `FailedDeposit`).
    pub fn exceeds(&self, cap: u64) -> bool {
        self.gas > cap
    }
}

/// Why a registration tuple fails the contract's proof-of-possession check.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PopError {
    /// pk1 is zero, out of range or off the curve.
    #[error("public key in G1: {0}")]
    PublicKeyG1(PointError),
    /// pk2 is zero, out of range, off the curve or outside the subgroup.
    #[error("public key in G2: {0}")]
    PublicKeyG2(PointError),
    /// σ is zero, out of range or off the curve.
    #[error("proof of possession point: {0}")]
    Signature(PointError),
    /// The contract reverts with `GammaZero` (probability 2^-254).
    #[error("the randomiser gamma is zero (contract error GammaZero)")]
    GammaZero,
    /// The pairing equation does not hold.
    #[error("pairing check failed: the proof of possession does not match the public keys")]
    PairingFailed,
}

/// `BN254Lib.proofOfPossession(pk1, pk2, σ)`: the check `GSE.deposit` runs for every registration.
/// On success returns the gas estimate for the same check on chain.
pub fn verify_pop(
    pk1: &G1Words,
    pk2: &G2Words,
    sigma: &G1Words,
) -> Result<PopGasEstimate, PopError> {
    // The contract rejects zero points before anything else.
    if pk1.is_zero() {
        return Err(PopError::PublicKeyG1(PointError::Infinity));
    }
    if pk2.is_zero() {
        return Err(PopError::PublicKeyG2(PointError::Infinity));
    }
    if sigma.is_zero() {
        return Err(PopError::Signature(PointError::Infinity));
    }
    let p1 = pk1.to_affine().map_err(PopError::PublicKeyG1)?;
    let p2 = pk2.to_affine().map_err(PopError::PublicKeyG2)?;
    let s = sigma.to_affine().map_err(PopError::Signature)?;

    let h = hash_to_point(pk1);
    let gamma = pop_gamma(pk1, pk2, sigma);
    if gamma.is_zero() {
        return Err(PopError::GammaZero);
    }
    let left: G1Projective = G1Projective::from(s) + p1 * gamma;
    let right: G1Projective = G1Projective::from(h.point) + G1Affine::generator() * gamma;
    let out = Bn254::multi_pairing(
        [left.into_affine(), right.into_affine()],
        [-G2Affine::generator(), p2],
    );
    if out.0.is_one() {
        Ok(PopGasEstimate::new(h.attempts, h.sqrt_calls))
    } else {
        Err(PopError::PairingFailed)
    }
}

/// γ = keccak256(abi.encode(pk1.x, pk1.y, pk2.x0, pk2.x1, pk2.y0, pk2.y1, σ.x, σ.y)) mod r.
fn pop_gamma(pk1: &G1Words, pk2: &G2Words, sigma: &G1Words) -> Fr {
    let mut buf = [0u8; 256];
    let words = [
        pk1.x, pk1.y, pk2.x0, pk2.x1, pk2.y0, pk2.y1, sigma.x, sigma.y,
    ];
    for (chunk, w) in buf.chunks_exact_mut(32).zip(words.iter()) {
        chunk.copy_from_slice(w);
    }
    Fr::from_be_bytes_mod_order(&keccak256(buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex32::{parse, parse_decimal};

    fn w(s: &str) -> Word {
        parse(s).unwrap()
    }

    /// Vector V1 of spec/aztec-keys.md §4.2 (mnemonic "abandon ×11 about", path m/12381/3600/0/0/0).
    fn v1() -> BlsSecretKey {
        BlsSecretKey::from_word(&w(
            "0x1dc2e5095a3b78b2beceabc9a418087e6a9dc7bac00e510c6c9e8a06ae2524e0",
        ))
        .unwrap()
    }

    #[test]
    fn domain_constant() {
        assert_eq!(
            hex::encode(POP_DOMAIN),
            "415a5445435f424c535f504f505f424e3235345f563100000000000000000000"
        );
    }

    #[test]
    fn v1_public_keys() {
        let sk = v1();
        let pk1 = sk.public_g1();
        assert_eq!(
            pk1.x,
            w("0x19b85154eae381ef1a1e4d220087bf487c009c73c26621ad46dfe6d589fa946b")
        );
        assert_eq!(
            pk1.y,
            w("0x18108504679ed2a6f0173c28f3ae1852a2c62c6b591b19c142e2edb0838eb745")
        );
        assert_eq!(
            hex::encode(pk1.compress()),
            "99b85154eae381ef1a1e4d220087bf487c009c73c26621ad46dfe6d589fa946b"
        );
        let pk2 = sk.public_g2();
        assert_eq!(
            pk2.x0,
            w("0x13a53060b4f71673b2f95a075e1b17e487ae17cad007a3270d08031d21199920")
        );
        assert_eq!(
            pk2.x1,
            w("0x1a44cb36d0104c15583c111fb7e9d7a0d2a620c2b935163eb0a68ff296ab2e2e")
        );
        assert_eq!(
            pk2.y0,
            w("0x2d03b5e45d1c4c27ae1dea060aad4bdec8b931c0981581725d64fd946d55c1d0")
        );
        assert_eq!(
            pk2.y1,
            w("0x19f1361b57b94c0619dd1eb94d5ad1b10c8b032b1e29d0b70115512b19039a34")
        );
    }

    #[test]
    fn v1_digest_and_pop() {
        let sk = v1();
        let pk1 = sk.public_g1();
        let h = hash_to_point(&pk1);
        assert_eq!(h.attempts, 2, "found on attempt #2 (n = 1)");
        assert_eq!(h.sqrt_calls, 1, "n = 0 was >= p and rejected");
        let d = G1Words::from_affine(&h.point);
        assert_eq!(
            d.x,
            w("0x0e70636ed81925a65cfa7428a53468fd5431fc9f56106c6e714f36f335eb5bd1")
        );
        assert_eq!(
            d.y,
            w("0x293d2a28ade93be7d6d07adba1d89ce6dbc146e6f353bf40cbd3cf762958dc95")
        );
        let pop = sk.proof_of_possession();
        assert_eq!(
            crate::hex32::minimal(&pop.sigma.x),
            "0x2f4e8b861d4d575a1d5861362a489c3759ef195ff5336428d59a75c08325b82"
        );
        assert_eq!(
            crate::hex32::minimal(&pop.sigma.y),
            "0x1389edfcec50834027389eaa9627d4922aefea74e87f2b16d7d7b31dd4d952b1"
        );
        verify_pop(&pop.pk1, &pop.pk2, &pop.sigma).unwrap();
    }

    #[test]
    fn hash_to_point_internals_v1() {
        // keccak of the n = 0 preimage, which is >= p and must be rejected, not reduced.
        let pk1 = v1().public_g1();
        let mut pre = [0u8; 192];
        pre[..32].copy_from_slice(&POP_DOMAIN);
        pre[63] = 0x60;
        pre[127] = 64;
        pre[128..160].copy_from_slice(&pk1.x);
        pre[160..].copy_from_slice(&pk1.y);
        assert_eq!(
            hex::encode(keccak256(pre)),
            "e6943945338fa74f5173f8c5f67f48e2cc710522bb95e67b203628f4fcddce3d"
        );
        pre[64..96].fill(0xff);
        assert_eq!(
            hex::encode(keccak256(pre)),
            "c1d7171dd236eedf7d7845968eb55ac8db693ff76219e110f03fc60b91f71f9f"
        );
    }

    #[test]
    fn contract_fixture_keys() {
        // l1-contracts/test/fixtures/bn254_constants.json, samples 0 and 1 (sk = 0x7777777 + i).
        let d = |s: &str| parse_decimal(s).unwrap();
        let sk = BlsSecretKey::from_word(&d("125269879")).unwrap();
        let pk1 = sk.public_g1();
        assert_eq!(
            pk1.x,
            d("14040631920337037677709966437409651072288616613076825157749168159693185460400")
        );
        assert_eq!(
            pk1.y,
            d("6284788440647112615638144926617266520775230953679255923656986669548279761148")
        );
        let pk2 = sk.public_g2();
        assert_eq!(
            pk2.x0,
            d("17931071651819835067098563222910421513876328033572114834306979690881549564414")
        );
        assert_eq!(
            pk2.x1,
            d("12000187580290590047264785709963395816646295176893602234201956783324175839805")
        );
        assert_eq!(
            pk2.y0,
            d("9611549517545166944736557219282359806761534888544046901025233666228290030286")
        );
        assert_eq!(
            pk2.y1,
            d("3847186948811352011829434621581350901968531448585779990319356482934947911409")
        );
        let sk = BlsSecretKey::from_word(&d("125269880")).unwrap();
        assert_eq!(
            sk.public_g2().y1,
            d("1704085713435781855679875194940441881575791539304334691717517685575457481975")
        );
    }

    #[test]
    fn contract_registration_data_entries_verify() {
        // l1-contracts/script/registration_data.json entries 0 and 1 (no secrets there).
        let e0 = (
            G1Words {
                x: w("0x0d8fd0af4f057a4ab0e7c55b80bcb1e624a0d319edc890a94e32ff8a49b17fd0"),
                y: w("0x288a165b8f273e46b18d308bd94980511ff1ab31cf7977524cc5100a81c639ba"),
            },
            G2Words {
                x0: w("0x189965ba927f0bdf8a00df57ca5c2f9fbb08a1c1e5ffe492d4b4c15ecefe3c16"),
                x1: w("0x0041dc6e43f797479233619b2f6da70fd3a0a6bf097a8fa256b9bc83bc309f17"),
                y0: w("0x08b4c50b72aa8ff1205d5d849d10614731fc4e17edfa920e4ee59baf96889661"),
                y1: w("0x167947af5ae7f4277b0c1f6d915c8dd6485b1898d524c5caee08da68c77fa1e1"),
            },
            G1Words {
                x: w("0x133f0503586cdaa1a23f00739cd060f78f461454880b299bf8851f6a53729624"),
                y: w("0x1f083545d8cfe01fb185fc93cda3fbc271cf43e3e52dce949d6401b583a549d0"),
            },
        );
        let digest = registration_digest(&e0.0);
        assert_eq!(
            digest.x,
            w("0x03da30dd1f67729f176cb52a2a045ded0b6ee8fb57fc55da3a4e0dce23244083")
        );
        assert_eq!(
            digest.y,
            w("0x255e09ac48bcf370e419eb7d286a37e047fe1c54db22f6ffc3271395a79068b2")
        );
        verify_pop(&e0.0, &e0.1, &e0.2).unwrap();

        let e1 = (
            G1Words {
                x: w("0x13c228ed66d3336ba3a9cdd09f17dd72ebe04ee91d3b96009308e5feee87a4a9"),
                y: w("0x21b3da7ed72d72776844138fabb21537913956816338a2988916f349b40868f6"),
            },
            G2Words {
                x0: w("0x11dbb4bd7204d4c626cc09ba1a5dfdea248acc892464f379860e4d1d9b687d54"),
                x1: w("0x2ac8ad0079bbf89f1496dee77a2f33410d7d78ca48ab4a1eb9846b2ae584fe53"),
                y0: w("0x229713c0ee5720acaa5747d8e73361dfea8dd78533d59f28f76e2f94599ec9ae"),
                y1: w("0x295e82aa97fda4d7cfd6bd2b3100956825bb8c1a76432d82aa5b7600d4e7824a"),
            },
            G1Words {
                x: w("0x2ef064d854d5c39496cb690452793ed32c9ffb627224a292982f76c246618e34"),
                y: w("0x1d775e918da60416ca47e9a47f88c2d5d73cf06f716f2c26fb5e7421a0e4c00d"),
            },
        );
        verify_pop(&e1.0, &e1.1, &e1.2).unwrap();
        // Entry 0's PoP against entry 1's keys must fail.
        assert_eq!(
            verify_pop(&e1.0, &e1.1, &e0.2),
            Err(PopError::PairingFailed)
        );
    }

    #[test]
    fn gas_model_matches_the_devnet_measurements() {
        // tests/data/pop_gas.json: 300 cairn-generated keys measured against the real contracts
        // (scripts/calibrate-pop-gas.sh). The loop counts must match exactly, and the estimate
        // must never be below the least gas the check needs, nor far above it.
        let text = include_str!("../../../tests/data/pop_gas.json");
        let rows: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
        let mut max_attempts = 0;
        for row in &rows {
            let pk1 = G1Words {
                x: w(row["g1x"].as_str().unwrap()),
                y: w(row["g1y"].as_str().unwrap()),
            };
            let attempts = row["attempts"].as_u64().unwrap() as u32;
            let sqrt = row["sqrtCalls"].as_u64().unwrap() as u32;
            let needed = row["minGasLimit"].as_u64().unwrap();
            let h = hash_to_point(&pk1);
            assert_eq!(
                (h.attempts, h.sqrt_calls),
                (attempts, sqrt),
                "loop counts for {row}"
            );
            let est = PopGasEstimate::new(attempts, sqrt).gas;
            assert!(
                est >= needed,
                "underestimate: {est} < {needed} at A={attempts} S={sqrt}"
            );
            assert!(
                est - needed <= 100,
                "loose estimate: {est} vs {needed} at A={attempts}"
            );
            max_attempts = max_attempts.max(attempts);
        }
        let rows = rows.len();
        assert!(
            rows >= 100 && max_attempts >= 90,
            "{rows} rows, max attempts {max_attempts}"
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn sk_strategy() -> impl Strategy<Value = BlsSecretKey> {
            any::<[u8; 32]>().prop_filter_map("zero scalar", |b| BlsSecretKey::from_word(&b).ok())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(24))]

            #[test]
            fn pop_verifies_for_random_keys(sk in sk_strategy()) {
                let pop = sk.proof_of_possession();
                let gas = verify_pop(&pop.pk1, &pop.pk2, &pop.sigma).unwrap();
                prop_assert_eq!(gas, pop.gas);
                prop_assert!(gas.attempts >= gas.sqrt_calls && gas.sqrt_calls >= 1);
            }

            #[test]
            fn tampered_pop_fails(sk in sk_strategy(), bump in 1u64..1000) {
                let pop = sk.proof_of_possession();
                // Move σ to another valid curve point: still a point, wrong signature.
                let s = pop.sigma.to_affine().unwrap();
                let other = G1Words::from_affine(&(s + G1Affine::generator() * Fr::from(bump)).into_affine());
                prop_assert_eq!(verify_pop(&pop.pk1, &pop.pk2, &other), Err(PopError::PairingFailed));
                // Flip a bit in σ.x: almost always off the curve.
                let mut flipped = pop.sigma;
                flipped.x[31] ^= 1;
                prop_assert!(verify_pop(&pop.pk1, &pop.pk2, &flipped).is_err());
            }

            #[test]
            fn swapped_g2_limbs_fail(sk in sk_strategy()) {
                let pop = sk.proof_of_possession();
                let swapped = G2Words { x0: pop.pk2.x1, x1: pop.pk2.x0, y0: pop.pk2.y1, y1: pop.pk2.y0 };
                prop_assert!(matches!(
                    verify_pop(&pop.pk1, &swapped, &pop.sigma),
                    Err(PopError::PublicKeyG2(_))
                ));
            }

            #[test]
            fn other_keys_pop_fails(a in sk_strategy(), b in sk_strategy()) {
                prop_assume!(a != b);
                let pa = a.proof_of_possession();
                let pb = b.proof_of_possession();
                prop_assert_eq!(verify_pop(&pa.pk1, &pa.pk2, &pb.sigma), Err(PopError::PairingFailed));
                prop_assert_eq!(verify_pop(&pa.pk1, &pb.pk2, &pa.sigma), Err(PopError::PairingFailed));
            }
        }
    }
}
