//! Pure cryptography for cairn.
//!
//! Everything here is deterministic and free of I/O so that the same code runs in the node, inside
//! pipeline components and in the browser. Randomness, where an operation needs it, is a parameter.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bls;
pub mod bn254;
pub mod eth;
pub mod hex32;

pub use bls::{BlsSecretKey, PopError, PopGasEstimate, ProofOfPossession, POP_GAS_CAP};
pub use bn254::{G1Words, G2Words, PointError, Word};
pub use eth::{Address, AddressError, EthSecretKey, EthSignature};

/// Keccak-256 as Ethereum uses it (the original Keccak padding, not SHA3-256).
pub fn keccak256(data: impl AsRef<[u8]>) -> [u8; 32] {
    use sha3::{Digest, Keccak256};
    Keccak256::digest(data.as_ref()).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keccak_empty_known_answer() {
        assert_eq!(
            hex::encode(super::keccak256([])),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }
}
