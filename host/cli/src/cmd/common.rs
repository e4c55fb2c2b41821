//! Flag parsers shared by the key commands. They accept exactly what the reference accepts and
//! say precisely what is wrong otherwise.

use cairn_crypto::Address;
use cairn_keys::mnemonic;

/// `--count`: the reference reads it as a JavaScript `Number` that must be an integer
/// (`0x2`, `2e0` and the empty string are accepted; `2.5` and `abc` are not).
pub fn parse_js_integer(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let invalid = || format!("invalid value {s:?}: expected an integer");
    if t.is_empty() {
        return Ok(0);
    }
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(digits) = t.strip_prefix(prefix) {
            return i64::from_str_radix(digits, radix).map_err(|_| invalid());
        }
    }
    let f: f64 = t.parse().map_err(|_| invalid())?;
    if !f.is_finite() || f.fract() != 0.0 || f.abs() > 9.0e15 {
        return Err(invalid());
    }
    Ok(f as i64)
}

/// A non-negative integer below 2^31 (BIP-32 indices and counts).
pub fn parse_index(s: &str) -> Result<u32, String> {
    let n = parse_js_integer(s)?;
    if n < 0 {
        return Err(format!("invalid value {s:?}: must not be negative"));
    }
    u32::try_from(n)
        .ok()
        .filter(|n| *n < 1 << 31)
        .ok_or_else(|| format!("invalid value {s:?}: must be below 2^31 (a BIP-32 index)"))
}

/// `--fee-recipient`: an Aztec address, i.e. 32 bytes of hex below the BN254 scalar modulus.
/// Like the reference (Node's `Buffer.from(hex)`), a 65th hex digit is ignored.
pub fn parse_fee_recipient(s: &str) -> Result<String, String> {
    cairn_keys::generate::parse_fee_recipient(s).map(|b| format!("0x{}", hex::encode(b)))
}

/// `--coinbase`: an Ethereum address (lowercase, uppercase or EIP-55), written lowercase.
pub fn parse_address(s: &str) -> Result<Address, String> {
    Address::parse(s).map_err(|e| {
        format!(
            "invalid Ethereum address {}: {e}",
            cairn_keys::schema::shown(s)
        )
    })
}

/// `--ikm`: hex (optional lowercase `0x`) of at least 32 bytes.
pub fn parse_ikm(s: &str) -> Result<String, String> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("invalid IKM: expected a hex string (0x optional)".into());
    }
    if digits.len() < 64 {
        return Err(format!(
            "invalid IKM: {} hex characters given, at least 64 (32 bytes) are required",
            digits.len()
        ));
    }
    Ok(s.to_string())
}

/// `--publishers`: comma-separated private keys, `0x` added when missing.
pub fn parse_publishers(s: &str) -> anyhow::Result<Vec<String>> {
    s.split(',')
        .enumerate()
        .map(|(i, k)| {
            let k = k.trim();
            let k = if k.starts_with("0x") {
                k.to_string()
            } else {
                format!("0x{k}")
            };
            if k.len() == 66 && k[2..].bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(k)
            } else {
                anyhow::bail!(
                    "invalid publisher private key #{} in --publishers: must be 32 bytes of hex with 0x prefix",
                    i + 1
                )
            }
        })
        .collect()
}

/// Prints what a strict BIP-39 parser would object to, without refusing (the reference accepts
/// such phrases and operators may depend on the keys they produce).
pub fn warn_mnemonic(phrase: &str) {
    for w in mnemonic::warnings(phrase) {
        eprintln!("warning: {w}; keys are derived from it anyway, as Aztec's CLI does");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_integers() {
        assert_eq!(parse_js_integer("3"), Ok(3));
        assert_eq!(parse_js_integer("0x2"), Ok(2));
        assert_eq!(parse_js_integer("2e0"), Ok(2));
        assert_eq!(parse_js_integer(""), Ok(0));
        assert_eq!(parse_js_integer("-1"), Ok(-1));
        assert!(parse_js_integer("2.5").is_err());
        assert!(parse_js_integer("abc").is_err());
        assert!(parse_js_integer("Infinity").is_err());
    }

    #[test]
    fn indices_and_ikm() {
        assert!(parse_index("-1").is_err());
        assert!(parse_index("2147483648").is_err());
        assert_eq!(parse_index("2147483647"), Ok(2147483647));
        assert!(parse_ikm(&"00".repeat(32)).is_ok());
        assert!(parse_ikm(&format!("0X{}", "00".repeat(32))).is_err());
        assert!(parse_ikm("0x1234").is_err());
    }

    #[test]
    fn publishers() {
        let k = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        assert_eq!(
            parse_publishers(&format!("0x{k}, {k}")).unwrap(),
            vec![format!("0x{k}"), format!("0x{k}")]
        );
        assert!(parse_publishers("").is_err());
        assert!(parse_publishers("0x12").is_err());
    }
}
