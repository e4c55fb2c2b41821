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
