//! Field elements: conversions between BN254 `Fr`, bytes and hex, with canonical-range checks.

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};

/// 32-byte big-endian encoding of a field element.
pub fn fr_to_bytes(x: &Fr) -> [u8; 32] {
    let v = x.into_bigint().to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - v.len()..].copy_from_slice(&v);
    out
}

/// Parses 32 big-endian bytes; `None` unless the value is canonical (below r).
pub fn fr_from_bytes(b: &[u8; 32]) -> Option<Fr> {
    let x = Fr::from_be_bytes_mod_order(b);
    (fr_to_bytes(&x) == *b).then_some(x)
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
}
