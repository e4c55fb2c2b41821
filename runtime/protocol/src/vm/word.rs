//! The VM's 256-bit word.

use ark_bn254::Fr;
use ark_ff::PrimeField;

/// An unsigned 256-bit word (big-endian semantics for bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Word(pub [u64; 4]); // little-endian limbs

impl Ord for Word {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        // Most significant limb first: the limbs are stored least significant first.
        self.0.iter().rev().cmp(o.0.iter().rev())
    }
}

impl PartialOrd for Word {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl From<u64> for Word {
    fn from(v: u64) -> Self {
        Word([v, 0, 0, 0])
    }
}

impl Word {
    /// Zero.
    pub const ZERO: Word = Word([0; 4]);
    /// One.
    pub const ONE: Word = Word([1, 0, 0, 0]);

    /// From up to 32 big-endian bytes.
    pub fn from_be_slice(b: &[u8]) -> Word {
        let mut full = [0u8; 32];
        let n = b.len().min(32);
        full[32 - n..].copy_from_slice(&b[b.len() - n..]);
        Word::from_be_bytes(&full)
    }

    /// From 32 big-endian bytes.
    pub fn from_be_bytes(b: &[u8; 32]) -> Word {
        let mut l = [0u64; 4];
        for (i, limb) in l.iter_mut().enumerate() {
            let s = 32 - 8 * (i + 1);
            *limb = u64::from_be_bytes(b[s..s + 8].try_into().unwrap_or([0; 8]));
        }
        Word(l)
    }

    /// 32 big-endian bytes.
    pub fn to_be_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        for i in 0..4 {
            let s = 32 - 8 * (i + 1);
            b[s..s + 8].copy_from_slice(&self.0[i].to_be_bytes());
        }
        b
    }

    /// The shortest big-endian encoding (at least one byte).
    pub fn min_be_bytes(&self) -> Vec<u8> {
        let b = self.to_be_bytes();
        let first = b.iter().position(|x| *x != 0).unwrap_or(31);
        b[first..].to_vec()
    }

    /// Parses hex digits (no prefix), up to 64.
    pub fn from_hex(h: &str) -> Option<Word> {
        if h.is_empty() || h.len() > 64 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let padded = format!("{h:0>64}");
        let b: [u8; 32] = hex::decode(padded).ok()?.try_into().ok()?;
        Some(Word::from_be_bytes(&b))
    }

    /// Parses a decimal number below 2^256.
    pub fn from_dec(s: &str) -> Option<Word> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let mut w = Word::ZERO;
        for c in s.bytes() {
            w = w
                .checked_mul(Word::from(10))?
                .checked_add(Word::from(u64::from(c - b'0')))?;
        }
        Some(w)
    }

    /// Whether the value fits a u64.
    pub fn fits_u64(&self) -> bool {
        self.0[1] == 0 && self.0[2] == 0 && self.0[3] == 0
    }

    /// Low 64 bits.
    pub fn low_u64(&self) -> u64 {
        self.0[0]
    }

    /// True if zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 4]
    }

    /// Checked addition.
    pub fn checked_add(self, o: Word) -> Option<Word> {
        let mut r = [0u64; 4];
        let mut carry = 0u128;
        for (i, limb) in r.iter_mut().enumerate() {
            let s = u128::from(self.0[i]) + u128::from(o.0[i]) + carry;
            *limb = s as u64;
            carry = s >> 64;
        }
        (carry == 0).then_some(Word(r))
    }

    /// Checked subtraction.
    pub fn checked_sub(self, o: Word) -> Option<Word> {
        if self < o {
            return None;
        }
        let mut r = [0u64; 4];
        let mut borrow = 0i128;
        for (i, limb) in r.iter_mut().enumerate() {
            let mut d = i128::from(self.0[i]) - i128::from(o.0[i]) - borrow;
            borrow = 0;
            if d < 0 {
                d += 1i128 << 64;
                borrow = 1;
            }
            *limb = d as u64;
        }
        Some(Word(r))
    }

    /// Checked multiplication.
    pub fn checked_mul(self, o: Word) -> Option<Word> {
        let mut r = [0u128; 8];
        for i in 0..4 {
            let mut carry = 0u128;
            for j in 0..4 {
                let cur = r[i + j] + u128::from(self.0[i]) * u128::from(o.0[j]) + carry;
                r[i + j] = cur & u128::from(u64::MAX);
                carry = cur >> 64;
            }
            r[i + 4] += carry;
        }
        if r[4..].iter().any(|x| *x != 0) {
            return None;
        }
        Some(Word([r[0] as u64, r[1] as u64, r[2] as u64, r[3] as u64]))
    }

    fn shl1(self) -> Word {
        let mut r = [0u64; 4];
        let mut carry = 0;
        for (i, limb) in r.iter_mut().enumerate() {
            *limb = (self.0[i] << 1) | carry;
            carry = self.0[i] >> 63;
        }
        Word(r)
    }

    fn bit(&self, i: usize) -> bool {
        (self.0[i / 64] >> (i % 64)) & 1 == 1
    }

    /// Quotient and remainder; `None` on division by zero.
    pub fn div_rem(self, d: Word) -> Option<(Word, Word)> {
        if d.is_zero() {
            return None;
        }
        if d == Word::ONE {
            return Some((self, Word::ZERO));
        }
        let mut q = Word::ZERO;
        let mut r = Word::ZERO;
        for i in (0..256).rev() {
            r = r.shl1();
            if self.bit(i) {
                r.0[0] |= 1;
            }
            if r >= d {
                r = r.checked_sub(d)?;
                q.0[i / 64] |= 1 << (i % 64);
            }
        }
        Some((q, r))
    }

    /// Bitwise and/or/xor/not.
    pub fn and(self, o: Word) -> Word {
        Word([
            self.0[0] & o.0[0],
            self.0[1] & o.0[1],
            self.0[2] & o.0[2],
            self.0[3] & o.0[3],
        ])
    }
    /// Bitwise or.
    pub fn or(self, o: Word) -> Word {
        Word([
            self.0[0] | o.0[0],
            self.0[1] | o.0[1],
            self.0[2] | o.0[2],
            self.0[3] | o.0[3],
        ])
    }
    /// Bitwise xor.
    pub fn xor(self, o: Word) -> Word {
        Word([
            self.0[0] ^ o.0[0],
            self.0[1] ^ o.0[1],
            self.0[2] ^ o.0[2],
            self.0[3] ^ o.0[3],
        ])
    }
    /// Bitwise not.
    pub fn bit_not(self) -> Word {
        Word([!self.0[0], !self.0[1], !self.0[2], !self.0[3]])
    }

    /// As a field element, if below r.
    pub fn to_fr(&self) -> Option<Fr> {
        // Range check on the limbs, then one Montgomery conversion (the canonical-bytes route
        // costs two more).
        let big = ark_ff::BigInt::<4>(self.0);
        if big >= ark_bn254::Fr::MODULUS {
            return None;
        }
        ark_bn254::Fr::from_bigint(big)
    }

    /// A field element as a word.
    pub fn from_fr(x: &Fr) -> Word {
        Word(x.into_bigint().0)
    }

    /// `0x` + minimal hex.
    pub fn to_hex_min(&self) -> String {
        format!("0x{}", hex::encode(self.min_be_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn arithmetic_matches_u128(a in proptest::num::u128::ANY, b in proptest::num::u128::ANY) {
            let w = |x: u128| Word::from_be_slice(&x.to_be_bytes());
            proptest::prop_assert_eq!(w(a).checked_add(w(b)), Some(w(0).checked_add(w(a)).unwrap()).and_then(|x| x.checked_add(w(b))));
            if let Some(s) = a.checked_add(b) { proptest::prop_assert_eq!(w(a).checked_add(w(b)), Some(w(s))); }
            proptest::prop_assert_eq!(w(a).checked_sub(w(b)), a.checked_sub(b).map(w));
            if b != 0 { proptest::prop_assert_eq!(w(a).div_rem(w(b)), Some((w(a / b), w(a % b)))); }
            let m = w(a).checked_mul(w(b)).unwrap();
            let (q, r) = m.div_rem(w(b.max(1))).unwrap();
            if b != 0 { proptest::prop_assert_eq!((q, r), (w(a), Word::ZERO)); }
            proptest::prop_assert_eq!(w(a) < w(b), a < b);
        }
    }

    #[test]
    fn overflow_and_parsing() {
        let max = Word([u64::MAX; 4]);
        assert_eq!(max.checked_add(Word::ONE), None);
        assert_eq!(max.checked_mul(Word::from(2)), None);
        assert_eq!(Word::ZERO.checked_sub(Word::ONE), None);
        assert_eq!(
            Word::from_dec(
                "115792089237316195423570985008687907853269984665640564039457584007913129639935"
            ),
            Some(max)
        );
        assert_eq!(
            Word::from_dec(
                "115792089237316195423570985008687907853269984665640564039457584007913129639936"
            ),
            None
        );
        assert_eq!(Word::from_hex("ff"), Some(Word::from(255)));
        assert_eq!(Word::ZERO.min_be_bytes(), vec![0]);
        assert_eq!(Word::from(0x1234).min_be_bytes(), vec![0x12, 0x34]);
    }
}
