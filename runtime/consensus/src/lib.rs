//! The L1 consensus rules of Aztec's Rollup v4 (checkpoint model: one or more L2 blocks per checkpoint)
//! that a sequencer must reproduce bit for bit: slot and epoch time, committee sampling and the
//! proposer choice, the checkpoint header hash, what attesters sign and how their signatures are
//! packed, the blob layout and blob hashes, and typed ABI bindings for the Rollup and Inbox calls.
//!
//! Everything here is pure and deterministic (no I/O, no clock, no randomness) and builds for
//! `wasm32-unknown-unknown`. Reading L1 state, signing and KZG commitments belong to the host.
//! The reference is `@aztec/l1-artifacts@4.1.2`; see the crate README for the sources.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod abi;
pub mod attest;
pub mod blob;
pub mod committee;
pub mod constants;
pub mod header;
pub mod kzg;
pub mod time;
pub mod timetable;

pub use alloy_primitives::{Address, B256, I256, U256};

/// Aztec's `Hash.sha256ToField`: `0x00 ‖ sha256(data)[0..31]`, a value below the BN254 modulus.
pub fn sha256_to_field(data: &[u8]) -> B256 {
    let digest = sha256(data);
    let mut out = [0u8; 32];
    out[1..].copy_from_slice(&digest[..31]);
    B256::from(out)
}

/// Plain SHA-256, shared by the header and blob hashes.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::b256;

    #[test]
    fn sha256_to_field_drops_the_last_byte_and_prefixes_zero() {
        // sha256("") = e3b0c442…7852b855; the field form keeps the first 31 bytes.
        assert_eq!(
            sha256_to_field(b""),
            b256!("00e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8")
        );
    }
}
