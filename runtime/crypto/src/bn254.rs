//! BN254 (alt_bn128) points in the word layout Aztec's contracts and JSON files use.
//!
//! Coordinates cross every boundary as 32-byte big-endian words. G2 coordinates are ordered
//! `x0, x1, y0, y1` with `x0`/`y0` the real parts (`c0` in arkworks), which is the order of the
//! contracts' `G2Point` struct and of the registration JSON; only the EIP-197 precompile input
//! puts the imaginary part first.

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, BigInteger, Field, PrimeField};
use thiserror::Error;

/// A 256-bit big-endian word, as in the EVM.
pub type Word = [u8; 32];

/// A G1 point as two words `(x, y)`; `(0, 0)` encodes the point at infinity, as in EIP-196.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct G1Words {
    /// x coordinate.
    pub x: Word,
    /// y coordinate.
    pub y: Word,
}

/// A G2 point as four words, real parts first (`x0 = x.c0`, `x1 = x.c1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct G2Words {
    /// Real part of x.
    pub x0: Word,
    /// Imaginary part of x.
    pub x1: Word,
    /// Real part of y.
    pub y0: Word,
    /// Imaginary part of y.
    pub y1: Word,
}

/// Why words do not describe a usable point.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PointError {
    /// A coordinate is not below the base field modulus p.
    #[error("{0} coordinate is not below the BN254 field modulus")]
    CoordinateOutOfRange(&'static str),
    /// The coordinates do not satisfy the curve equation.
    #[error("point is not on the BN254 {0} curve")]
    NotOnCurve(&'static str),
    /// The point is on the curve but not in the prime-order subgroup (G2 only; G1 has cofactor 1).
    #[error("G2 point is not in the prime-order subgroup")]
    NotInSubgroup,
    /// All coordinates are zero.
    #[error("point at infinity is not allowed")]
    Infinity,
    /// A compressed key whose x has no point on the curve.
    #[error("compressed G1 key does not decompress to a curve point")]
    BadCompressed,
}

/// Reads a big-endian word as a base-field element, rejecting values `>= p`.
pub fn fq_from_word(w: &Word, which: &'static str) -> Result<Fq, PointError> {
    Fq::from_bigint(bigint_from_word(w)).ok_or(PointError::CoordinateOutOfRange(which))
}

/// Big-endian word of a base-field element.
pub fn fq_to_word(f: &Fq) -> Word {
    to_word(f.into_bigint().to_bytes_be())
}

/// Big-endian word of a scalar.
pub fn fr_to_word(f: &Fr) -> Word {
    to_word(f.into_bigint().to_bytes_be())
}

/// The integer behind a word, as arkworks limbs.
pub fn bigint_from_word(w: &Word) -> BigInt<4> {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let start = 32 - 8 * (i + 1);
        let mut b = [0u8; 8];
        b.copy_from_slice(&w[start..start + 8]);
        *limb = u64::from_be_bytes(b);
    }
    BigInt::new(limbs)
}

fn to_word(bytes: Vec<u8>) -> Word {
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    out
}

impl G1Words {
    /// Words of an affine point; infinity becomes `(0, 0)`.
    pub fn from_affine(p: &G1Affine) -> Self {
        match p.xy() {
            Some((x, y)) => Self {
                x: fq_to_word(&x),
                y: fq_to_word(&y),
            },
            None => Self {
                x: [0; 32],
                y: [0; 32],
            },
        }
    }

    /// True when both words are zero (the contracts' "infinity").
    pub fn is_zero(&self) -> bool {
        self.x == [0; 32] && self.y == [0; 32]
    }

    /// Checks range and curve membership and returns the affine point. Infinity is rejected:
    /// no Aztec key or signature may be the identity.
    pub fn to_affine(&self) -> Result<G1Affine, PointError> {
        if self.is_zero() {
            return Err(PointError::Infinity);
        }
        let x = fq_from_word(&self.x, "G1 x")?;
        let y = fq_from_word(&self.y, "G1 y")?;
        let p = G1Affine::new_unchecked(x, y);
        if !p.is_on_curve() {
            return Err(PointError::NotOnCurve("G1"));
        }
        Ok(p)
    }

    /// The compressed form Aztec's CLI prints: big-endian x with bit 255 set iff y is odd.
    pub fn compress(&self) -> Word {
        let mut out = self.x;
        if self.y[31] & 1 == 1 {
            out[0] |= 0x80;
        }
        out
    }

    /// Inverse of [`G1Words::compress`].
    pub fn decompress(c: &Word) -> Result<Self, PointError> {
        let odd = c[0] & 0x80 != 0;
        let mut xw = *c;
        xw[0] &= 0x7f;
        let x = fq_from_word(&xw, "compressed x")?;
        let t = x * x * x + Fq::from(3u64);
        let mut y = t.sqrt().ok_or(PointError::BadCompressed)?;
        if (fq_to_word(&y)[31] & 1 == 1) != odd {
            y = -y;
        }
        Ok(Self {
            x: xw,
            y: fq_to_word(&y),
        })
    }
}

impl G2Words {
    /// Words of an affine point in `x0, x1, y0, y1` order; infinity becomes all zeros.
    pub fn from_affine(p: &G2Affine) -> Self {
        match p.xy() {
            Some((x, y)) => Self {
                x0: fq_to_word(&x.c0),
                x1: fq_to_word(&x.c1),
                y0: fq_to_word(&y.c0),
                y1: fq_to_word(&y.c1),
            },
            None => Self {
                x0: [0; 32],
                x1: [0; 32],
                y0: [0; 32],
                y1: [0; 32],
            },
        }
    }

    /// True when all four words are zero.
    pub fn is_zero(&self) -> bool {
        [self.x0, self.x1, self.y0, self.y1]
            .iter()
            .all(|w| *w == [0; 32])
    }

    /// Checks range, curve and subgroup membership (the pairing precompile does all three).
    pub fn to_affine(&self) -> Result<G2Affine, PointError> {
        if self.is_zero() {
            return Err(PointError::Infinity);
        }
        let x = Fq2::new(
            fq_from_word(&self.x0, "G2 x0")?,
            fq_from_word(&self.x1, "G2 x1")?,
        );
        let y = Fq2::new(
            fq_from_word(&self.y0, "G2 y0")?,
            fq_from_word(&self.y1, "G2 y1")?,
        );
        let p = G2Affine::new_unchecked(x, y);
        if !p.is_on_curve() {
            return Err(PointError::NotOnCurve("G2"));
        }
        if !p.is_in_correct_subgroup_assuming_on_curve() {
            return Err(PointError::NotInSubgroup);
        }
        Ok(p)
    }

    /// The words in EVM ABI order as they appear in a `G2Point` struct.
    pub fn abi_words(&self) -> [Word; 4] {
        [self.x0, self.x1, self.y0, self.y1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;

    fn w(s: &str) -> Word {
        crate::hex32::parse(s).unwrap()
    }

    #[test]
    fn g2_generator_words_match_eip197_in_real_first_order() {
        let g = G2Words::from_affine(&G2Affine::generator());
        let dec = |s: &str| crate::hex32::parse_decimal(s).unwrap();
        assert_eq!(
            g.x0,
            dec("10857046999023057135944570762232829481370756359578518086990519993285655852781")
        );
        assert_eq!(
            g.x1,
            dec("11559732032986387107991004021392285783925812861821192530917403151452391805634")
        );
        assert_eq!(
            g.y0,
            dec("8495653923123431417604973247489272438418190587263600148770280649306958101930")
        );
        assert_eq!(
            g.y1,
            dec("4082367875863433681332203403145435568316851327593401208105741076214120093531")
        );
        // Swapping the limbs must fail the curve equation.
        let swapped = G2Words {
            x0: g.x1,
            x1: g.x0,
            y0: g.y1,
            y1: g.y0,
        };
        assert!(swapped.to_affine().is_err());
    }

    #[test]
    fn compression_round_trips() {
        let g = G1Affine::generator();
        for k in 1u64..50 {
            let p = (g * Fr::from(k)).into_affine();
            let words = G1Words::from_affine(&p);
            let c = words.compress();
            assert_eq!(G1Words::decompress(&c).unwrap(), words);
        }
    }

    #[test]
    fn rejects_out_of_range_and_off_curve() {
        let p_minus_1 = w("0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd46");
        let p = w("0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47");
        assert!(fq_from_word(&p_minus_1, "x").is_ok());
        assert_eq!(
            fq_from_word(&p, "x"),
            Err(PointError::CoordinateOutOfRange("x"))
        );
        let bad = G1Words {
            x: w("0x1"),
            y: w("0x3"),
        };
        assert_eq!(bad.to_affine(), Err(PointError::NotOnCurve("G1")));
        let zero = G1Words {
            x: [0; 32],
            y: [0; 32],
        };
        assert_eq!(zero.to_affine(), Err(PointError::Infinity));
    }
}
