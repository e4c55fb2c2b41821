//! Hex forms of 256-bit words as the Aztec tooling writes them.

use thiserror::Error;

/// Why a hex string was not accepted as a 256-bit word.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HexError {
    /// The string does not start with `0x`.
    #[error("expected a 0x-prefixed hex string")]
    MissingPrefix,
    /// The string has characters outside `[0-9a-fA-F]` or is empty.
    #[error("not a hex number")]
    NotHex,
    /// More than 64 hex digits after stripping leading zeros.
    #[error("more than 256 bits")]
    TooLong,
}

/// `0x` followed by 64 lowercase hex digits.
pub fn padded(word: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(word))
}

/// `0x` followed by the minimal lowercase hex digits (`0x0` for zero), as JavaScript's
/// `bigint.toString(16)` writes it.
pub fn minimal(word: &[u8; 32]) -> String {
    let s = hex::encode(word);
    let trimmed = s.trim_start_matches('0');
    if trimmed.is_empty() {
        "0x0".to_string()
    } else {
        format!("0x{trimmed}")
    }
}

/// Parses a `0x`-prefixed hex number of any length up to 256 bits (padded or not) into a
/// big-endian word.
pub fn parse(s: &str) -> Result<[u8; 32], HexError> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or(HexError::MissingPrefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(HexError::NotHex);
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > 64 {
        return Err(HexError::TooLong);
    }
    let padded = format!("{digits:0>64}");
    let mut out = [0u8; 32];
    hex::decode_to_slice(padded, &mut out).map_err(|_| HexError::NotHex)?;
    Ok(out)
}

/// Parses a decimal number of up to 256 bits into a big-endian word.
pub fn parse_decimal(s: &str) -> Option<[u8; 32]> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for digit in s.bytes() {
        // out = out * 10 + digit, with overflow detection on the top byte.
        let mut carry = u32::from(digit - b'0');
        for byte in out.iter_mut().rev() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        if carry != 0 {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_and_padded() {
        let mut w = [0u8; 32];
        assert_eq!(minimal(&w), "0x0");
        w[31] = 0x0a;
        assert_eq!(minimal(&w), "0xa");
        assert_eq!(padded(&w), format!("0x{}0a", "0".repeat(62)));
        w[0] = 0x02;
        assert!(minimal(&w).starts_with("0x2000"));
    }

    #[test]
    fn parse_accepts_unpadded_and_rejects_garbage() {
        assert_eq!(parse("0xa").unwrap()[31], 0x0a);
        assert_eq!(parse(&format!("0x{}", "00".repeat(40))).unwrap(), [0u8; 32]);
        assert_eq!(parse("a"), Err(HexError::MissingPrefix));
        assert_eq!(parse("0x"), Err(HexError::NotHex));
        assert_eq!(parse("0xzz"), Err(HexError::NotHex));
        assert_eq!(
            parse(&format!("0x1{}", "0".repeat(64))),
            Err(HexError::TooLong)
        );
    }

    #[test]
    fn decimal() {
        assert_eq!(parse_decimal("255").unwrap()[31], 255);
        assert_eq!(parse_decimal("256").unwrap()[30], 1);
        assert!(parse_decimal("").is_none());
        assert!(parse_decimal("12a").is_none());
        // 2^256 overflows.
        assert!(parse_decimal(
            "115792089237316195423570985008687907853269984665640564039457584007913129639936"
        )
        .is_none());
    }
}
