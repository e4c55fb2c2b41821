//! Eight permutations at once with AVX-512 IFMA, for the Merkle updates that hash thousands of
//! independent nodes per block (docs/protocol.md §2, "implementation").
//!
//! The scalar permutation spends its time in 4×64-bit Montgomery multiplications whose carry
//! chains leave most of the core idle. Here each field element is five 52-bit limbs, one lane
//! per permutation, and `vpmadd52{lo,hi}uq` multiply all eight lanes' limbs at once; the
//! multiplication is Montgomery's with R = 2^260, operand by operand.
//!
//! Reduction is lazy. With r < 2^254, the Montgomery product of two values below 8r is below
//! 2r, so sums of a few products go straight into the next multiplication; only the two
//! accumulators of the partial rounds, which would otherwise grow by a product per round, are
//! brought back below 2r by a conditional subtraction. The rounds are the ones of the scalar
//! [`super::permute`] (sparse partial rounds), so both compute the same function, which the
//! tests check lane by lane.

use std::arch::x86_64::*;
use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::{BigInt, BigInteger, Field, PrimeField};

use super::{fast, params, FULL_ROUNDS, PARTIAL_ROUNDS, T};

/// One element as five 52-bit limbs, least significant first.
type Limbs = [u64; 5];

const MASK: u64 = (1 << 52) - 1;

/// Eight elements, limb `j` of every lane in `.0[j]`.
#[derive(Clone, Copy)]
struct F8([__m512i; 5]);

/// The constants, in this module's Montgomery form (x·2^260 mod r) unless noted.
struct Consts {
    /// r itself (plain).
    p: Limbs,
    /// 2r (plain), the bound the partial rounds' accumulators are kept under.
    p2: Limbs,
    /// −r⁻¹ mod 2^52.
    pinv: u64,
    /// 2^264 mod r (plain): multiplying arkworks' form (x·2^256) by it gives x·2^260.
    to_ours: Limbs,
    /// 2^256 mod r (plain): multiplying x·2^260 by it gives arkworks' form back.
    to_ark: Limbs,
    full_rc: [[Limbs; T]; FULL_ROUNDS],
    mds: [[Limbs; T]; T],
    k: [Limbs; PARTIAL_ROUNDS],
    row: [[Limbs; 2]; PARTIAL_ROUNDS],
    col: [[Limbs; 2]; PARTIAL_ROUNDS],
    last: [[Limbs; 2]; 2],
}

fn split(x: &BigInt<4>) -> Limbs {
    let x = x.0;
    [
        x[0] & MASK,
        ((x[0] >> 52) | (x[1] << 12)) & MASK,
        ((x[1] >> 40) | (x[2] << 24)) & MASK,
        ((x[2] >> 28) | (x[3] << 36)) & MASK,
        x[3] >> 16,
    ]
}

/// The inverse of [`split`] for normalised limbs of a value below 2^256.
fn join(l: &Limbs) -> BigInt<4> {
    BigInt([
        l[0] | (l[1] << 52),
        (l[1] >> 12) | (l[2] << 40),
        (l[2] >> 24) | (l[3] << 28),
        (l[3] >> 36) | (l[4] << 16),
    ])
}

fn consts() -> &'static Consts {
    static C: OnceLock<Consts> = OnceLock::new();
    C.get_or_init(|| {
        let r = Fr::MODULUS;
        let two = Fr::from(2u64);
        let r260 = two.pow([260u64]);
        let ours = |x: &Fr| split(&(*x * r260).into_bigint());
        let plain = |x: &Fr| split(&x.into_bigint());
        let mut r2 = r;
        r2.mul2();
        // r is odd: Newton's iteration doubles the correct low bits of r⁻¹ mod 2^64 each step.
        let mut inv = 1u64;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(r.0[0].wrapping_mul(inv)));
        }
        let p = params();
        let f = fast();
        Consts {
            p: split(&r),
            p2: split(&r2),
            pinv: inv.wrapping_neg() & MASK,
            to_ours: plain(&two.pow([264u64])),
            to_ark: plain(&two.pow([256u64])),
            full_rc: f.full_rc.map(|rc| rc.map(|c| ours(&c))),
            mds: p.mds.map(|row| row.map(|c| ours(&c))),
            k: f.k.map(|c| ours(&c)),
            row: f.row.map(|rc| rc.map(|c| ours(&c))),
            col: f.col.map(|rc| rc.map(|c| ours(&c))),
            last: f.last.map(|rc| rc.map(|c| ours(&c))),
        }
    })
}

/// Whether this CPU can run [`permute8`].
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512ifma")
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn splat(l: &Limbs) -> F8 {
    F8([
        _mm512_set1_epi64(l[0] as i64),
        _mm512_set1_epi64(l[1] as i64),
        _mm512_set1_epi64(l[2] as i64),
        _mm512_set1_epi64(l[3] as i64),
        _mm512_set1_epi64(l[4] as i64),
    ])
}

/// Carries every limb's excess into the next, leaving limbs 0..4 below 2^52.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn normalise(mut t: [__m512i; 5]) -> F8 {
    let mask = _mm512_set1_epi64(MASK as i64);
    for j in 0..4 {
        let c = _mm512_srli_epi64::<52>(t[j]);
        t[j] = _mm512_and_si512(t[j], mask);
        t[j + 1] = _mm512_add_epi64(t[j + 1], c);
    }
    F8(t)
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn add(a: &F8, b: &F8) -> F8 {
    let mut t = a.0;
    for (x, y) in t.iter_mut().zip(&b.0) {
        *x = _mm512_add_epi64(*x, *y);
    }
    normalise(t)
}

/// `a − k` where `a ≥ k`, else `a`; `k` is a plain constant.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn sub_if_above(a: &F8, k: &Limbs) -> F8 {
    let mask = _mm512_set1_epi64(MASK as i64);
    let mut d = a.0;
    for (x, y) in d.iter_mut().zip(k) {
        *x = _mm512_sub_epi64(*x, _mm512_set1_epi64(*y as i64));
    }
    // Arithmetic shifts carry the borrows; the top limb is then negative exactly when a < k.
    for j in 0..4 {
        let c = _mm512_srai_epi64::<52>(d[j]);
        d[j] = _mm512_and_si512(d[j], mask);
        d[j + 1] = _mm512_add_epi64(d[j + 1], c);
    }
    let below = _mm512_cmplt_epi64_mask(d[4], _mm512_setzero_si512());
    for (x, y) in d.iter_mut().zip(&a.0) {
        *x = _mm512_mask_blend_epi64(below, *x, *y);
    }
    F8(d)
}

/// What every multiplication needs, broadcast once per batch.
struct Ctx {
    p: F8,
    pinv: __m512i,
}

/// Montgomery product a·b·2^−260 mod r, below 2r when both inputs are below 8r.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn mul(x: &Ctx, a: &F8, b: &F8) -> F8 {
    let (p, pinv) = (&x.p, x.pinv);
    let zero = _mm512_setzero_si512();
    let mut t = [zero; 6];
    for i in 0..5 {
        let ai = a.0[i];
        for j in 0..5 {
            t[j] = _mm512_madd52lo_epu64(t[j], ai, b.0[j]);
            t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], ai, b.0[j]);
        }
        // m makes the lowest limb a multiple of 2^52 once m·r is added.
        let m = _mm512_madd52lo_epu64(zero, t[0], pinv);
        for j in 0..5 {
            t[j] = _mm512_madd52lo_epu64(t[j], m, p.0[j]);
            t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], m, p.0[j]);
        }
        let carry = _mm512_srli_epi64::<52>(t[0]);
        t = [_mm512_add_epi64(t[1], carry), t[2], t[3], t[4], t[5], zero];
    }
    normalise([t[0], t[1], t[2], t[3], t[4]])
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn sbox(c: &Ctx, x: &F8) -> F8 {
    let x2 = mul(c, x, x);
    let x4 = mul(c, &x2, &x2);
    mul(c, &x4, x)
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn full_round(x: &Ctx, s: &mut [F8; T], rc: &[Limbs; T], mds: &[[Limbs; T]; T]) {
    let v = [
        sbox(x, &add(&s[0], &splat(&rc[0]))),
        sbox(x, &add(&s[1], &splat(&rc[1]))),
        sbox(x, &add(&s[2], &splat(&rc[2]))),
    ];
    for (i, out) in s.iter_mut().enumerate() {
        let a = mul(x, &v[0], &splat(&mds[i][0]));
        let b = mul(x, &v[1], &splat(&mds[i][1]));
        let c = mul(x, &v[2], &splat(&mds[i][2]));
        *out = add(&add(&a, &b), &c);
    }
}

/// Each lane's limbs.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn lanes(x: &F8) -> [Limbs; 8] {
    let mut out = [[0u64; 5]; 8];
    for (j, limb) in x.0.iter().enumerate() {
        let lo = _mm512_extracti64x4_epi64::<0>(*limb);
        let hi = _mm512_extracti64x4_epi64::<1>(*limb);
        out[0][j] = _mm256_extract_epi64::<0>(lo) as u64;
        out[1][j] = _mm256_extract_epi64::<1>(lo) as u64;
        out[2][j] = _mm256_extract_epi64::<2>(lo) as u64;
        out[3][j] = _mm256_extract_epi64::<3>(lo) as u64;
        out[4][j] = _mm256_extract_epi64::<0>(hi) as u64;
        out[5][j] = _mm256_extract_epi64::<1>(hi) as u64;
        out[6][j] = _mm256_extract_epi64::<2>(hi) as u64;
        out[7][j] = _mm256_extract_epi64::<3>(hi) as u64;
    }
    out
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn gather(x: &[Limbs; 8]) -> F8 {
    let mut v = [_mm512_setzero_si512(); 5];
    for (j, limb) in v.iter_mut().enumerate() {
        *limb = _mm512_set_epi64(
            x[7][j] as i64,
            x[6][j] as i64,
            x[5][j] as i64,
            x[4][j] as i64,
            x[3][j] as i64,
            x[2][j] as i64,
            x[1][j] as i64,
            x[0][j] as i64,
        );
    }
    F8(v)
}

/// The permutation of each of eight states, exactly [`super::permute`]'s result.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn permute8(states: &mut [[Fr; T]; 8]) {
    let c = consts();
    let x = Ctx {
        p: splat(&c.p),
        pinv: _mm512_set1_epi64(c.pinv as i64),
    };
    let x = &x;
    // Fr's own limbs are its Montgomery form x·2^256 (< r): one multiplication each way
    // converts, with no trip through the canonical integer.
    let to_ours = splat(&c.to_ours);
    let mut s = [to_ours; T];
    for (e, v) in s.iter_mut().enumerate() {
        let limbs: [Limbs; 8] = std::array::from_fn(|l| split(&states[l][e].0));
        *v = mul(x, &gather(&limbs), &to_ours);
    }
    let half = FULL_ROUNDS / 2;
    for rc in &c.full_rc[..half] {
        full_round(x, &mut s, rc, &c.mds);
    }
    // Entering the partial rounds the state is below 4r; the accumulators u1, u2 are kept
    // below 2r from here on.
    let m00 = splat(&c.mds[0][0]);
    let [mut u0, u1, u2] = s;
    let mut u1 = sub_if_above(&u1, &c.p2);
    let mut u2 = sub_if_above(&u2, &c.p2);
    for i in 0..PARTIAL_ROUNDS {
        let v0 = sbox(x, &add(&u0, &splat(&c.k[i])));
        let a = mul(x, &v0, &m00);
        let b = mul(x, &u1, &splat(&c.row[i][0]));
        let d = mul(x, &u2, &splat(&c.row[i][1]));
        u0 = add(&add(&a, &b), &d);
        u1 = sub_if_above(&add(&u1, &mul(x, &v0, &splat(&c.col[i][0]))), &c.p2);
        u2 = sub_if_above(&add(&u2, &mul(x, &v0, &splat(&c.col[i][1]))), &c.p2);
    }
    let l = &c.last;
    s = [
        u0,
        add(
            &mul(x, &u1, &splat(&l[0][0])),
            &mul(x, &u2, &splat(&l[0][1])),
        ),
        add(
            &mul(x, &u1, &splat(&l[1][0])),
            &mul(x, &u2, &splat(&l[1][1])),
        ),
    ];
    for rc in &c.full_rc[half..] {
        full_round(x, &mut s, rc, &c.mds);
    }
    let to_ark = splat(&c.to_ark);
    for (e, v) in s.iter().enumerate() {
        // Below 2r after the multiplication: one subtraction makes it canonical.
        for (l, limbs) in lanes(&mul(x, v, &to_ark)).iter().enumerate() {
            let mut b = join(limbs);
            if b >= Fr::MODULUS {
                b.sub_with_borrow(&Fr::MODULUS);
            }
            states[l][e] = Fr::new_unchecked(b);
        }
    }
}
