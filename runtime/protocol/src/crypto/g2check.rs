//! G2 subgroup membership for BN254 with one 63-bit scalar multiplication instead of the
//! 127-bit one arkworks uses (ψ(Q) = [6x²]Q).
//!
//! Scott, "A note on group membership tests for G1, G2 and GT on BLS pairing-friendly curves"
//! (eprint 2021/1130, §5 for BN curves): a point Q on the twist is in G2 iff
//! [x+1]Q + ψ([x]Q) + ψ²([x]Q) = ψ³([2x]Q), with x the BN parameter and ψ the untwist–
//! Frobenius–twist endomorphism; about half the cost of arkworks' check (differential test
//! below). Points headed for a pairing skip it: `miller::prepare_in_g2` folds an exact test
//! into the line preparation they need anyway.

use ark_bn254::{Fq, Fq2, G2Affine, G2Projective};
use ark_ec::{AdditiveGroup, AffineRepr};
use ark_ff::{BigInteger, Field, MontFp, PrimeField};
use std::sync::OnceLock;

/// The BN254 curve parameter x (positive).
const X: u64 = 4965661367192848881;

/// ψ's coefficients: ξ^((p−1)/3) and ξ^((p−1)/2) with ξ = 9 + u, computed once.
fn coeffs() -> &'static (Fq2, Fq2) {
    static C: OnceLock<(Fq2, Fq2)> = OnceLock::new();
    C.get_or_init(|| {
        let xi = Fq2::new(MontFp!("9"), Fq::ONE);
        let p_minus_1 = {
            let mut m = Fq::MODULUS;
            m.sub_with_borrow(&1u64.into());
            m
        };
        // Exact division of the 4-limb (p − 1) by a small number.
        let div = |mut n: <Fq as PrimeField>::BigInt, d: u64| {
            let mut rem: u128 = 0;
            for limb in n.0.iter_mut().rev() {
                let cur = (rem << 64) | *limb as u128;
                *limb = (cur / d as u128) as u64;
                rem = cur % d as u128;
            }
            n
        };
        let third = div(p_minus_1, 3);
        let half = div(p_minus_1, 2);
        (xi.pow(third), xi.pow(half))
    })
}

/// ψ on Jacobian coordinates: Frobenius commutes with the coordinate divisions, so it acts on
/// X, Y, Z directly.
fn psi(p: &G2Projective) -> G2Projective {
    let (c0, c1) = coeffs();
    let conj = |mut a: Fq2| {
        a.conjugate_in_place();
        a
    };
    let mut out = *p;
    out.x = conj(p.x) * c0;
    out.y = conj(p.y) * c1;
    out.z = conj(p.z);
    out
}

/// X in non-adjacent form, most significant digit first.
fn x_naf() -> &'static [i8] {
    static N: OnceLock<Vec<i8>> = OnceLock::new();
    N.get_or_init(|| {
        let mut k = X as i128;
        let mut digits = Vec::new();
        while k != 0 {
            let d = if k & 1 == 1 { 2 - (k & 3) as i8 } else { 0 };
            k = (k - d as i128) >> 1;
            digits.push(d);
        }
        digits.reverse();
        digits
    })
}

/// [x]q by NAF double-and-add with mixed additions (q stays affine).
fn mul_x(q: &G2Affine) -> G2Projective {
    let neg = -*q;
    let mut acc = G2Projective::default();
    for &d in x_naf() {
        acc.double_in_place();
        match d {
            1 => acc += q,
            -1 => acc += &neg,
            _ => {}
        }
    }
    acc
}

/// Whether `q` (assumed on the twist) is in the order-r subgroup G2.
pub fn in_g2(q: &G2Affine) -> bool {
    if q.is_zero() {
        return true;
    }
    let xq = mul_x(q);
    let lhs = xq + q + psi(&xq) + psi(&psi(&xq));
    let rhs = psi(&psi(&psi(&xq.double())));
    lhs == rhs
}

/// Decodes a compressed G2 point: on the twist and in G2, like arkworks' checked decoding.
pub fn g2_decode(b: &[u8; 64]) -> Option<G2Affine> {
    g2_decode_on_twist(b).filter(in_g2)
}

/// Decodes a compressed point of the twist without the subgroup check, for callers that check
/// membership another way (`miller::prepare_in_g2`).
pub(crate) fn g2_decode_on_twist(b: &[u8; 64]) -> Option<G2Affine> {
    use ark_serialize::CanonicalDeserialize;
    let p = G2Affine::deserialize_compressed_unchecked(&b[..]).ok()?;
    p.is_on_curve().then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::Fr;
    use ark_ec::short_weierstrass::SWCurveConfig;
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::UniformRand;
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn naf_multiplication_is_multiplication_by_x() {
        let mut rng = StdRng::seed_from_u64(5);
        let q = (G2Projective::generator() * Fr::rand(&mut rng)).into_affine();
        assert_eq!(mul_x(&q), q * Fr::from(X));
        assert!(x_naf().windows(2).all(|w| w[0] == 0 || w[1] == 0));
    }

    #[test]
    fn psi_matches_the_curve_relation_on_g2() {
        // On G2, ψ acts as multiplication by p mod r = 6x² (arkworks' own check).
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..20 {
            let q = G2Projective::generator() * Fr::rand(&mut rng);
            let six_x2 = (6u128 * X as u128 * X as u128).to_le_bytes();
            let k = [
                u64::from_le_bytes(six_x2[..8].try_into().unwrap()),
                u64::from_le_bytes(six_x2[8..].try_into().unwrap()),
            ];
            assert_eq!(psi(&q), q.mul_bigint(k));
        }
    }

    #[test]
    fn agrees_with_arkworks_on_subgroup_and_twist_points() {
        let mut rng = StdRng::seed_from_u64(11);
        let (mut inside, mut outside) = (0, 0);
        for i in 0..400 {
            let p = if i % 2 == 0 {
                (G2Projective::generator() * Fr::rand(&mut rng)).into_affine()
            } else {
                // A random point on the twist: almost never in G2 (cofactor ≈ 2^254).
                loop {
                    let x = Fq2::rand(&mut rng);
                    if let Some(p) = G2Affine::get_point_from_x_unchecked(x, i % 4 == 1) {
                        break p;
                    }
                }
            };
            let ark = ark_bn254::g2::Config::is_in_correct_subgroup_assuming_on_curve(&p);
            assert_eq!(in_g2(&p), ark, "point {i}");
            if ark {
                inside += 1
            } else {
                outside += 1
            }
            // Cofactor-cleared twist points are in G2.
            let cleared = p.clear_cofactor();
            assert!(in_g2(&cleared));
        }
        assert_eq!((inside, outside), (200, 200));
        assert!(in_g2(&G2Affine::zero()));
    }

    #[test]
    fn decode_rejects_off_subgroup_points() {
        let mut rng = StdRng::seed_from_u64(3);
        let p = loop {
            if let Some(p) = G2Affine::get_point_from_x_unchecked(Fq2::rand(&mut rng), true) {
                break p;
            }
        };
        let bytes = super::super::g2_to_bytes(&p);
        assert!(g2_decode(&bytes).is_none());
        let good = super::super::g2_to_bytes(&p.clear_cofactor());
        assert_eq!(g2_decode(&good), Some(p.clear_cofactor()));
    }
}
