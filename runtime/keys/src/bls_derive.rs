//! Aztec's BN254 secret-key derivation.
//!
//! This is not EIP-2333: the "EIP-2334 path" is only a UTF-8 label mixed into one HMAC-SHA512
//! keyed `"Aztec bn254 key"` over `0x00 ‖ seed ‖ path` (mnemonic) or `0x01 ‖ ikm ‖ path` (IKM),
//! reduced modulo r, retried with a counter byte while the result is zero.

use cairn_crypto::BlsSecretKey;
use hmac::{Hmac, Mac};
use sha2::Sha512;
use zeroize::Zeroizing;

/// The default EIP-2334-style label.
pub const DEFAULT_BLS_PATH: &str = "m/12381/3600/0/0/0";

const HMAC_KEY: &[u8] = b"Aztec bn254 key";

/// Where the BLS key material comes from.
#[derive(Clone, Copy)]
pub enum BlsSource<'a> {
    /// The 64-byte BIP-39 seed (the same seed as the Ethereum keys).
    Seed(&'a [u8; 64]),
    /// Input keying material given directly.
    Ikm(&'a [u8]),
}

/// Derives the secret key for `path` from `source`.
pub fn derive(source: BlsSource<'_>, path: &str) -> BlsSecretKey {
    let mut data = Zeroizing::new(Vec::with_capacity(1 + 64 + path.len() + 1));
    match source {
        BlsSource::Seed(seed) => {
            data.push(0x00);
            data.extend_from_slice(seed);
        }
        BlsSource::Ikm(ikm) => {
            data.push(0x01);
            data.extend_from_slice(ikm);
        }
    }
    data.extend_from_slice(path.as_bytes());
    let base_len = data.len();
    let mut counter: u8 = 0;
    loop {
        data.truncate(base_len);
        if counter != 0 {
            data.push(counter);
        }
        let mut mac = Hmac::<Sha512>::new_from_slice(HMAC_KEY).expect("any key length");
        mac.update(&data);
        let d = Zeroizing::new(<[u8; 64]>::from(mac.finalize().into_bytes()));
        if let Ok(sk) = BlsSecretKey::from_be_bytes_mod_order(d.as_ref()) {
            return sk;
        }
        counter = counter.wrapping_add(1);
    }
}

/// Decodes `--ikm` as the reference does: strip `0x`/`0X`; if at least two hex digits remain,
/// decode them (an odd count is left-padded with `0`); otherwise use the UTF-8 bytes of the
/// original string.
pub fn decode_ikm(s: &str) -> Zeroizing<Vec<u8>> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if digits.len() >= 2 && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        let padded = if digits.len() % 2 == 1 {
            Zeroizing::new(format!("0{digits}"))
        } else {
            Zeroizing::new(digits.to_string())
        };
        Zeroizing::new(hex::decode(padded.as_bytes()).expect("checked hex"))
    } else {
        Zeroizing::new(s.as_bytes().to_vec())
    }
}

/// The path validator `validator_index` (already offset by the base address index) uses.
///
/// Only the exact default path is rewritten: to `m/12381/3600/{account}/0/{index}`, or, under
/// `LEGACY_BLS_CLI`, to `m/12381/3600/{index}/0/0` (the v2.1.4 behaviour). Custom paths are
/// used unchanged.
pub fn validator_path(
    path: &str,
    account_index: u32,
    validator_index: u32,
    legacy: bool,
) -> String {
    if path != DEFAULT_BLS_PATH {
        return path.to_string();
    }
    if legacy {
        format!("m/12381/3600/{validator_index}/0/0")
    } else {
        format!("m/12381/3600/{account_index}/0/{validator_index}")
    }
}

/// Whether an environment value switches `LEGACY_BLS_CLI` on (`true`, `1`, `yes`, `y`).
pub fn legacy_flag(value: Option<&str>) -> bool {
    matches!(value, Some("true" | "1" | "yes" | "y"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_known_answer() {
        let seed = crate::mnemonic::to_seed(
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
        )
        .unwrap();
        let sk = derive(BlsSource::Seed(&seed), DEFAULT_BLS_PATH);
        assert_eq!(
            hex::encode(sk.to_word()),
            "1dc2e5095a3b78b2beceabc9a418087e6a9dc7bac00e510c6c9e8a06ae2524e0"
        );
        assert_eq!(
            hex::encode(sk.public_g1().compress()),
            "99b85154eae381ef1a1e4d220087bf487c009c73c26621ad46dfe6d589fa946b"
        );
    }

    #[test]
    fn path_rules() {
        assert_eq!(
            validator_path(DEFAULT_BLS_PATH, 5, 3, false),
            "m/12381/3600/5/0/3"
        );
        assert_eq!(
            validator_path(DEFAULT_BLS_PATH, 5, 3, true),
            "m/12381/3600/3/0/0"
        );
        assert_eq!(
            validator_path("m/12381/3600/9/9/9", 5, 3, false),
            "m/12381/3600/9/9/9"
        );
        assert!(legacy_flag(Some("y")));
        assert!(!legacy_flag(Some("TRUE")));
        assert!(!legacy_flag(None));
    }

    #[test]
    fn ikm_decoding() {
        assert_eq!(decode_ikm("0xabc").as_slice(), &[0x0a, 0xbc]);
        assert_eq!(decode_ikm("0Xff").as_slice(), &[0xff]);
        assert_eq!(decode_ikm("zz").as_slice(), b"zz");
        assert_eq!(decode_ikm("0xa").as_slice(), b"0xa");
    }

    #[test]
    fn seed_and_ikm_domains_differ() {
        let seed = [7u8; 64];
        let a = derive(BlsSource::Seed(&seed), DEFAULT_BLS_PATH);
        let b = derive(BlsSource::Ikm(&seed), DEFAULT_BLS_PATH);
        assert_ne!(a.to_word(), b.to_word());
        let c = derive(BlsSource::Seed(&seed), "m/12381/3600/0/0/1");
        assert_ne!(a.to_word(), c.to_word());
    }
}
