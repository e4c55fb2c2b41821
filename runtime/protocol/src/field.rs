//! Field elements: conversions between BN254 `Fr`, bytes and hex, with canonical-range checks.

use ark_bn254::Fr;
use ark_ff::PrimeField;

/// 32-byte big-endian encoding of a field element.
pub fn fr_to_bytes(x: &Fr) -> [u8; 32] {
    let limbs = x.into_bigint().0;
    let mut out = [0u8; 32];
    // Limb 0 is the least significant, so it fills the last 8 bytes.
    for (chunk, limb) in out.rchunks_exact_mut(8).zip(limbs) {
        chunk.copy_from_slice(&limb.to_be_bytes());
    }
    out
}

/// Parses 32 big-endian bytes; `None` unless the value is canonical (below r). Every stored
/// tree node is read through this, so it converts limb by limb instead of reducing.
pub fn fr_from_bytes(b: &[u8; 32]) -> Option<Fr> {
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(b.rchunks_exact(8)) {
        *limb = u64::from_be_bytes(chunk.try_into().ok()?);
    }
    Fr::from_bigint(ark_ff::BigInt(limbs))
}

/// `0x` + 64 hex digits.
pub fn fr_to_hex(x: &Fr) -> String {
    format!("0x{}", hex::encode(fr_to_bytes(x)))
}

/// Parses `0x`-hex (up to 64 digits); `None` if malformed or not below r.
pub fn fr_from_hex(s: &str) -> Option<Fr> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    if h.is_empty() || h.len() > 64 {
        return None;
    }
    let padded = format!("{h:0>64}");
    let b: [u8; 32] = hex::decode(padded).ok()?.try_into().ok()?;
    fr_from_bytes(&b)
}

/// A `u64` as a field element.
pub fn fr(n: u64) -> Fr {
    Fr::from(n)
}

/// The boundary form of a field element between the host and the stage components: the four
/// little-endian 64-bit limbs of its Montgomery representation (x·2²⁵⁶ mod r). Converting to
/// and from it costs nothing, where canonical bytes cost a Montgomery reduction each way —
/// significant inside wasm, which has no 64×64→128-bit multiply.
pub fn fr_to_raw(x: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, limb) in (x.0).0.iter().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&limb.to_le_bytes());
    }
    out
}

/// Inverse of [`fr_to_raw`]; `None` unless the limbs are a canonical Montgomery form (below r).
pub fn fr_from_raw(b: &[u8]) -> Option<Fr> {
    if b.len() != 32 {
        return None;
    }
    let mut limbs = [0u64; 4];
    for (i, l) in limbs.iter_mut().enumerate() {
        *l = u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().ok()?);
    }
    let big = ark_ff::BigInt::<4>(limbs);
    (big < Fr::MODULUS).then(|| Fr::new_unchecked(big))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::BigInteger;

    #[test]
    fn raw_form_round_trips_and_rejects_out_of_range() {
        for x in [
            Fr::from(0u64),
            Fr::from(1u64),
            -Fr::from(1u64),
            Fr::from(123456789u64),
        ] {
            assert_eq!(fr_from_raw(&fr_to_raw(&x)), Some(x));
        }
        assert_eq!(fr_from_raw(&[0xff; 32]), None);
        assert_eq!(fr_from_raw(&[0; 31]), None);
    }

    proptest::proptest! {
        /// The limb-wise conversions agree with arkworks' own big-endian ones, and only
        /// values below r parse.
        #[test]
        fn bytes_agree_with_arkworks(b in proptest::array::uniform32(proptest::prelude::any::<u8>()), top in 0u8..0x40) {
            let mut b = b;
            // Half the cases below 2^254, where most values are canonical.
            b[0] = if b[1] & 1 == 0 { top } else { b[0] };
            let x = Fr::from_be_bytes_mod_order(&b);
            let canonical = x.into_bigint().to_bytes_be() == b;
            proptest::prop_assert_eq!(fr_from_bytes(&b), canonical.then_some(x));
            proptest::prop_assert_eq!(fr_to_bytes(&x).to_vec(), x.into_bigint().to_bytes_be());
        }
    }

    #[test]
    fn bytes_at_the_edges() {
        let r_minus_1 = -Fr::from(1u64);
        let b = fr_to_bytes(&r_minus_1);
        assert_eq!(fr_from_bytes(&b), Some(r_minus_1));
        // r itself and everything above it are refused.
        let r = Fr::MODULUS.to_bytes_be();
        assert_eq!(fr_from_bytes(&r.clone().try_into().unwrap()), None);
        assert_eq!(fr_from_bytes(&[0xff; 32]), None);
        assert_eq!(fr_from_bytes(&[0; 32]), Some(Fr::from(0u64)));
        assert_eq!(fr_to_bytes(&Fr::from(258u64))[30..], [1, 2]);
    }
}
