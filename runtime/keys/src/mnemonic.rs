//! BIP-39 mnemonics as `@scure/bip39` (and so viem and Aztec's CLI) treat them.
//!
//! The reference never validates the checksum or the word list: any NFKD-normalised phrase of
//! 12, 15, 18, 21 or 24 space-separated words yields a seed. cairn derives the same keys from the
//! same bytes, and separately reports what a careful tool would flag ([`MnemonicWarning`]).

use hmac::Hmac;
use sha2::Sha512;
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// Word counts BIP-39 allows.
pub const WORD_COUNTS: [usize; 5] = [12, 15, 18, 21, 24];

/// Why a phrase cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MnemonicError {
    /// The phrase does not split into an allowed number of words.
    #[error(
        "invalid mnemonic: expected 12, 15, 18, 21 or 24 words separated by single spaces, found {0}"
    )]
    WordCount(usize),
}

/// Something a careful operator should hear about, although the reference accepts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MnemonicWarning {
    /// A word outside the English BIP-39 list (1-based position).
    UnknownWord(usize),
    /// All words are in the list but the checksum does not match: probably a typo.
    BadChecksum,
}

impl std::fmt::Display for MnemonicWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MnemonicWarning::UnknownWord(i) => write!(
                f,
                "word {i} of the mnemonic is not in the BIP-39 English word list"
            ),
            MnemonicWarning::BadChecksum => {
                f.write_str("the mnemonic's BIP-39 checksum does not match (check for a typo)")
            }
        }
    }
}

/// A 64-byte BIP-39 seed, wiped on drop.
pub type Seed = Zeroizing<[u8; 64]>;

/// NFKD-normalises and checks the word count the way `@scure/bip39` does (split on single spaces,
/// no trimming). Returns the normalised phrase.
pub fn normalize(phrase: &str) -> Result<Zeroizing<String>, MnemonicError> {
    let nfkd: Zeroizing<String> = Zeroizing::new(phrase.nfkd().collect());
    let words = nfkd.split(' ').count();
    if !WORD_COUNTS.contains(&words) {
        return Err(MnemonicError::WordCount(words));
    }
    Ok(nfkd)
}

/// The BIP-39 seed with an empty passphrase (Aztec's CLI never passes one on).
pub fn to_seed(phrase: &str) -> Result<Seed, MnemonicError> {
    let nfkd = normalize(phrase)?;
    let mut seed = Zeroizing::new([0u8; 64]);
    pbkdf2::pbkdf2::<Hmac<Sha512>>(nfkd.as_bytes(), b"mnemonic", 2048, seed.as_mut())
        .expect("HMAC accepts keys of any length");
    Ok(seed)
}

/// What a strict BIP-39 parser would object to.
pub fn warnings(phrase: &str) -> Vec<MnemonicWarning> {
    let Ok(nfkd) = normalize(phrase) else {
        return Vec::new();
    };
    let list = bip39::Language::English.word_list();
    let unknown: Vec<MnemonicWarning> = nfkd
        .split(' ')
        .enumerate()
        .filter(|(_, w)| list.binary_search(w).is_err())
        .map(|(i, _)| MnemonicWarning::UnknownWord(i + 1))
        .collect();
    if !unknown.is_empty() {
        return unknown;
    }
    match bip39::Mnemonic::parse_in_normalized(bip39::Language::English, &nfkd) {
        Ok(_) => Vec::new(),
        Err(_) => vec![MnemonicWarning::BadChecksum],
    }
}

/// A 12-word English mnemonic from 16 bytes of entropy (the caller supplies the randomness).
pub fn from_entropy(entropy: &[u8; 16]) -> Zeroizing<String> {
    let m = bip39::Mnemonic::from_entropy_in(bip39::Language::English, entropy)
        .expect("16 bytes is a valid BIP-39 entropy length");
    Zeroizing::new(m.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const M1: &str =
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    #[test]
    fn bip39_reference_seed() {
        // Trezor's BIP-39 vector with an empty passphrase (the reference never uses one).
        let seed = to_seed(M1).unwrap();
        assert_eq!(
            hex::encode(seed.as_ref()),
            "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4"
        );
        assert!(warnings(M1).is_empty());
    }

    #[test]
    fn no_checksum_validation_but_a_warning() {
        let bad = ["abandon"; 12].join(" ");
        assert!(to_seed(&bad).is_ok());
        assert_eq!(warnings(&bad), vec![MnemonicWarning::BadChecksum]);
        let typo = M1.replace("about", "abuot");
        assert!(to_seed(&typo).is_ok());
        assert_eq!(warnings(&typo), vec![MnemonicWarning::UnknownWord(12)]);
    }

    #[test]
    fn word_count_is_checked_without_trimming() {
        assert_eq!(
            to_seed(&["abandon"; 11].join(" ")).unwrap_err(),
            MnemonicError::WordCount(11)
        );
        // A trailing space adds an empty word, exactly as in the reference.
        assert_eq!(
            to_seed(&format!("{M1} ")).unwrap_err(),
            MnemonicError::WordCount(13)
        );
        assert!(to_seed(&["zoo"; 24].join(" ")).is_ok());
    }

    #[test]
    fn entropy_round_trip() {
        let m = from_entropy(&[0u8; 16]);
        assert_eq!(m.as_str(), M1);
        assert!(warnings(&from_entropy(&[0x7f; 16])).is_empty());
    }
}
