//! Ethereum accounts on secp256k1: addresses, EIP-55 checksums, EIP-191 signatures.

use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use thiserror::Error;

use crate::keccak256;

/// A 20-byte Ethereum address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(pub [u8; 20]);

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

/// Why a string is not an Ethereum address.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    /// Not 40 hex digits (after an optional `0x`).
    #[error("not an Ethereum address (expected 40 hex characters, optionally 0x-prefixed)")]
    Malformed,
    /// Mixed case that is not a valid EIP-55 checksum: probably a typo.
    #[error("mixed-case address with an invalid EIP-55 checksum")]
    BadChecksum,
}

impl Address {
    /// The zero address.
    pub const ZERO: Address = Address([0; 20]);

    /// Parses an address as Aztec's keystore schema does: 40 hex characters with an optional
    /// `0x`/`0X` prefix, all lowercase, all uppercase, or a valid EIP-55 checksum.
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let digits = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AddressError::Malformed);
        }
        let mut out = [0u8; 20];
        hex::decode_to_slice(digits.to_ascii_lowercase(), &mut out)
            .map_err(|_| AddressError::Malformed)?;
        let addr = Address(out);
        let has_lower = digits.bytes().any(|b| b.is_ascii_lowercase());
        let has_upper = digits.bytes().any(|b| b.is_ascii_uppercase());
        if has_lower && has_upper && addr.to_checksum()[2..] != *digits {
            return Err(AddressError::BadChecksum);
        }
        Ok(addr)
    }

    /// `0x` + 40 lowercase hex characters.
    pub fn to_lower_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// The EIP-55 mixed-case checksum form.
    pub fn to_checksum(&self) -> String {
        let lower = hex::encode(self.0);
        let hash = keccak256(lower.as_bytes());
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, c) in lower.chars().enumerate() {
            let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
            if c.is_ascii_alphabetic() && nibble >= 8 {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// The address of an uncompressed secp256k1 public key.
    pub fn from_verifying_key(key: &VerifyingKey) -> Self {
        let point = key.to_encoded_point(false);
        let hash = keccak256(&point.as_bytes()[1..]);
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash[12..]);
        Address(out)
    }
}

/// A 65-byte `r ‖ s ‖ v` signature with `v` in {27, 28}, low-s normalised.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EthSignature(pub [u8; 65]);

impl std::fmt::Debug for EthSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

/// Why a secp256k1 operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EthKeyError {
    /// Zero or not below the curve order.
    #[error("invalid secp256k1 private key (zero or not below the curve order)")]
    InvalidSecret,
    /// The signature bytes are malformed or do not recover a key.
    #[error("invalid signature")]
    InvalidSignature,
}

/// A secp256k1 private key. Debug output never shows the secret.
#[derive(Clone)]
pub struct EthSecretKey(SigningKey);

impl std::fmt::Debug for EthSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EthSecretKey({})", self.address())
    }
}

impl EthSecretKey {
    /// From a 32-byte big-endian scalar.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, EthKeyError> {
        SigningKey::from_bytes(bytes.into())
            .map(Self)
            .map_err(|_| EthKeyError::InvalidSecret)
    }

    /// The secret scalar, big-endian.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The account address.
    pub fn address(&self) -> Address {
        Address::from_verifying_key(self.0.verifying_key())
    }

    /// Signs a 32-byte hash as it is (no prefix).
    pub fn sign_hash(&self, hash: &[u8; 32]) -> EthSignature {
        let (sig, recid) = self
            .0
            .sign_prehash_recoverable(hash)
            .expect("signing a 32-byte prehash with a valid key cannot fail");
        // k256 already returns low-s; normalise defensively and fix the parity if it flips.
        let (sig, recid) = match sig.normalize_s() {
            Some(n) => (n, RecoveryId::new(!recid.is_y_odd(), recid.is_x_reduced())),
            None => (sig, recid),
        };
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = 27 + recid.to_byte();
        EthSignature(out)
    }

    /// EIP-191 `personal_sign` of `message`.
    pub fn sign_message(&self, message: &[u8]) -> EthSignature {
        self.sign_hash(&eip191_hash(message))
    }
}

/// `keccak256("\x19Ethereum Signed Message:\n" ‖ len(message) ‖ message)`.
pub fn eip191_hash(message: &[u8]) -> [u8; 32] {
    let mut buf = format!("\x19Ethereum Signed Message:\n{}", message.len()).into_bytes();
    buf.extend_from_slice(message);
    keccak256(buf)
}

/// Recovers the signer of a hash. Accepts `v` as 0/1 or 27/28; rejects high-s like the EVM's
/// `ECDSA.recover` helpers do.
pub fn recover_hash(hash: &[u8; 32], sig: &EthSignature) -> Result<Address, EthKeyError> {
    let v = match sig.0[64] {
        0 | 27 => 0,
        1 | 28 => 1,
        _ => return Err(EthKeyError::InvalidSignature),
    };
    let signature =
        Signature::from_slice(&sig.0[..64]).map_err(|_| EthKeyError::InvalidSignature)?;
    if signature.normalize_s().is_some() {
        return Err(EthKeyError::InvalidSignature);
    }
    let recid = RecoveryId::from_byte(v).ok_or(EthKeyError::InvalidSignature)?;
    let key = VerifyingKey::recover_from_prehash(hash, &signature, recid)
        .map_err(|_| EthKeyError::InvalidSignature)?;
    Ok(Address::from_verifying_key(&key))
}

/// Recovers the signer of an EIP-191 `personal_sign` message.
pub fn recover_message(message: &[u8], sig: &EthSignature) -> Result<Address, EthKeyError> {
    recover_hash(&eip191_hash(message), sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> EthSecretKey {
        let mut b = [0u8; 32];
        hex::decode_to_slice(s.trim_start_matches("0x"), &mut b).unwrap();
        EthSecretKey::from_bytes(&b).unwrap()
    }

    #[test]
    fn anvil_keys_known_answers() {
        assert_eq!(
            key("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
                .address()
                .to_checksum(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        assert_eq!(
            key("0x1ab42cc412b618bdea3a599e3c9bae199ebf030895b039e9db1e30dafb12b727")
                .address()
                .to_checksum(),
            "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
        );
    }

    #[test]
    fn eip55_vectors() {
        // From the EIP-55 specification.
        for s in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let a = Address::parse(s).unwrap();
            assert_eq!(a.to_checksum(), s);
            assert_eq!(Address::parse(&s.to_lowercase()).unwrap(), a);
            assert_eq!(Address::parse(&s[2..].to_uppercase()).unwrap(), a);
        }
        assert_eq!(
            Address::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),
            Err(AddressError::BadChecksum)
        );
        assert_eq!(Address::parse("0x1234"), Err(AddressError::Malformed));
    }

    #[test]
    fn eip191_sign_and_recover() {
        let k = key("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
        let sig = k.sign_message(b"hello world");
        assert_eq!(recover_message(b"hello world", &sig).unwrap(), k.address());
        assert_ne!(recover_message(b"hello worle", &sig).unwrap(), k.address());
        // v as 0/1 is accepted too; any other v is not.
        let mut raw = sig;
        raw.0[64] -= 27;
        assert_eq!(recover_message(b"hello world", &raw).unwrap(), k.address());
        raw.0[64] = 5;
        assert_eq!(
            recover_message(b"hello world", &raw),
            Err(EthKeyError::InvalidSignature)
        );
        // The high-s twin of a valid signature is refused (malleability).
        use k256::elliptic_curve::PrimeField;
        let mut s_bytes = k256::FieldBytes::default();
        s_bytes.copy_from_slice(&sig.0[32..64]);
        let s_low = k256::Scalar::from_repr(s_bytes).unwrap();
        let mut high = sig;
        high.0[32..64].copy_from_slice(&(-s_low).to_bytes());
        high.0[64] ^= 1;
        assert_eq!(
            recover_message(b"hello world", &high),
            Err(EthKeyError::InvalidSignature)
        );
    }
}
