//! BIP-32 secp256k1 derivation for Ethereum accounts (`m/44'/60'/A'/0/i`).
//!
//! Bulk generation derives the account node `m/44'/60'/A'/0` once and then one child per
//! validator, which costs one HMAC and one point multiplication per key.

use cairn_crypto::EthSecretKey;
use hmac::{Hmac, Mac};
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::elliptic_curve::PrimeField;
use k256::{NonZeroScalar, Scalar};
use sha2::Sha512;
use thiserror::Error;
use zeroize::Zeroizing;

const HARDENED: u32 = 1 << 31;

/// BIP-32 derivation failures (probability about 2^-127 per step).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HdError {
    /// The derived scalar is zero or not below the curve order.
    #[error("BIP-32 derivation produced an invalid key at index {0}; use another index")]
    InvalidChild(u32),
    /// An index at or above 2^31 was given where a plain index is expected.
    #[error("BIP-32 index {0} is out of range (must be below 2^31)")]
    IndexOutOfRange(u64),
}

/// An extended private key.
#[derive(Clone)]
pub struct HdNode {
    secret: NonZeroScalar,
    chain_code: Zeroizing<[u8; 32]>,
    public: [u8; 33],
}

impl HdNode {
    /// The master node of a BIP-39 seed.
    pub fn master(seed: &[u8]) -> Result<Self, HdError> {
        let mut mac = Hmac::<Sha512>::new_from_slice(b"Bitcoin seed").expect("any key length");
        mac.update(seed);
        let out = Zeroizing::new(<[u8; 64]>::from(mac.finalize().into_bytes()));
        Self::from_parts(&out, 0)
    }

    fn from_parts(il_ir: &[u8; 64], index: u32) -> Result<Self, HdError> {
        let secret = scalar(&il_ir[..32])
            .and_then(|s| Option::from(NonZeroScalar::new(s)))
            .ok_or(HdError::InvalidChild(index))?;
        let mut chain_code = Zeroizing::new([0u8; 32]);
        chain_code.copy_from_slice(&il_ir[32..]);
        Ok(Self {
            public: compressed(&secret),
            secret,
            chain_code,
        })
    }

    /// CKDpriv. `index >= 2^31` is a hardened child.
    pub fn child(&self, index: u32) -> Result<Self, HdError> {
        let mut mac =
            Hmac::<Sha512>::new_from_slice(self.chain_code.as_ref()).expect("32-byte key");
        if index >= HARDENED {
            mac.update(&[0]);
            mac.update(&self.secret.to_repr());
        } else {
            mac.update(&self.public);
        }
        mac.update(&index.to_be_bytes());
        let out = Zeroizing::new(<[u8; 64]>::from(mac.finalize().into_bytes()));
        let il = scalar(&out[..32]).ok_or(HdError::InvalidChild(index))?;
        let child = Option::<NonZeroScalar>::from(NonZeroScalar::new(il + *self.secret))
            .ok_or(HdError::InvalidChild(index))?;
        let mut chain_code = Zeroizing::new([0u8; 32]);
        chain_code.copy_from_slice(&out[32..]);
        Ok(Self {
            public: compressed(&child),
            secret: child,
            chain_code,
        })
    }

    /// The node's key as an Ethereum account key.
    pub fn eth_key(&self) -> EthSecretKey {
        let bytes: [u8; 32] = self.secret.to_repr().into();
        EthSecretKey::from_bytes(&bytes).expect("a non-zero scalar is a valid key")
    }
}

fn scalar(bytes: &[u8]) -> Option<Scalar> {
    let mut repr = k256::FieldBytes::default();
    repr.copy_from_slice(bytes);
    Option::from(Scalar::from_repr(repr))
}

fn compressed(secret: &NonZeroScalar) -> [u8; 33] {
    let point = (k256::ProjectivePoint::GENERATOR * **secret).to_affine();
    let enc = point.to_encoded_point(true);
    let mut out = [0u8; 33];
    out.copy_from_slice(enc.as_bytes());
    out
}

/// Checks that an index fits BIP-32's non-hardened range.
pub fn check_index(index: u64) -> Result<u32, HdError> {
    u32::try_from(index)
        .ok()
        .filter(|i| *i < HARDENED)
        .ok_or(HdError::IndexOutOfRange(index))
}

/// Derives Ethereum keys `m/44'/60'/account'/0/i` for many `i` from one cached parent.
#[derive(Clone)]
pub struct EthAccountDeriver {
    parent: HdNode,
}

impl EthAccountDeriver {
    /// Prepares `m/44'/60'/account'/0`.
    pub fn new(seed: &[u8], account: u32) -> Result<Self, HdError> {
        let parent = HdNode::master(seed)?
            .child(44 | HARDENED)?
            .child(60 | HARDENED)?
            .child(check_index(account.into())? | HARDENED)?
            .child(0)?;
        Ok(Self { parent })
    }

    /// The key at address index `index`.
    pub fn key(&self, index: u32) -> Result<EthSecretKey, HdError> {
        Ok(self.parent.child(check_index(index.into())?)?.eth_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_anvil_accounts() {
        let seed = crate::mnemonic::to_seed(
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
        )
        .unwrap();
        let d = EthAccountDeriver::new(seed.as_ref(), 0).unwrap();
        let k = d.key(0).unwrap();
        assert_eq!(
            hex::encode(k.to_bytes()),
            "1ab42cc412b618bdea3a599e3c9bae199ebf030895b039e9db1e30dafb12b727"
        );
        assert_eq!(
            k.address().to_checksum(),
            "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
        );

        let seed =
            crate::mnemonic::to_seed("test test test test test test test test test test test junk")
                .unwrap();
        let d = EthAccountDeriver::new(seed.as_ref(), 0).unwrap();
        assert_eq!(
            hex::encode(d.key(0).unwrap().to_bytes()),
            "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        );
        assert_eq!(
            d.key(1).unwrap().address().to_checksum(),
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        );
    }

    #[test]
    fn bip32_test_vector_1() {
        // BIP-32 test vector 1, chain m/0'/1: checks hardened and normal steps.
        let seed = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
        let m = HdNode::master(&seed).unwrap();
        assert_eq!(
            hex::encode(m.secret.to_repr()),
            "e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35"
        );
        let c = m.child(HARDENED).unwrap().child(1).unwrap();
        assert_eq!(
            hex::encode(c.secret.to_repr()),
            "3c6cb8d0f6a264c91ea8b5030fadaa8e538b020f0a387421a12de9319dc93368"
        );
    }

    #[test]
    fn index_range() {
        assert!(check_index(u64::from(HARDENED)).is_err());
        assert_eq!(check_index(5).unwrap(), 5);
    }
}
