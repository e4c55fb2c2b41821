//! Shared guest code. `crypto_adapter!()` and `state_adapter!()` are expanded inside each stage
//! crate, after its `wit_bindgen::generate!`, because the import bindings are generated per
//! crate: they define `HostCrypto` (the protocol's `Crypto`) and `HostState` (`StateView` and
//! `VmState`) over the imports. The stage logic itself is `cairn_protocol::stages`, unchanged.

// The adapters deliberately refer to the *calling* crate's generated bindings.
#![allow(clippy::crate_in_macro_def)]

pub use ark_bn254::Fr;
pub use cairn_protocol;

/// A field element in the boundary form (Montgomery limbs, see `cairn_protocol::field::fr_to_raw`).
pub fn fr_bytes(x: &Fr) -> Vec<u8> {
    cairn_protocol::field::fr_to_raw(x).to_vec()
}

/// Field elements concatenated in the boundary form, 32 bytes each.
pub fn frs_bytes(xs: &[Fr]) -> Vec<u8> {
    let mut v = Vec::with_capacity(32 * xs.len());
    for x in xs {
        v.extend_from_slice(&cairn_protocol::field::fr_to_raw(x));
    }
    v
}

/// A field element from the host's boundary form (zero if the host sent something malformed).
pub fn fr_of(b: &[u8]) -> Fr {
    cairn_protocol::field::fr_from_raw(b).unwrap_or_default()
}

/// Expands the host adapters in a stage crate.
#[macro_export]
macro_rules! crypto_adapter {
    () => {
        /// The host's crypto imports as the protocol's `Crypto`.
        pub struct HostCrypto;

        impl $crate::cairn_protocol::crypto::Crypto for HostCrypto {
            fn keccak256(&self, data: &[u8]) -> [u8; 32] {
                let v = crate::cairn::pipeline::crypto::keccak256(data);
                <[u8; 32]>::try_from(v.as_slice()).unwrap_or([0; 32])
            }
            fn ecrecover(&self, hash: &[u8; 32], sig: &[u8; 65]) -> Option<[u8; 20]> {
                crate::cairn::pipeline::crypto::ecrecover(hash, sig)
                    .and_then(|a| <[u8; 20]>::try_from(a.as_slice()).ok())
            }
            fn poseidon(&self, domain: u64, inputs: &[$crate::Fr]) -> $crate::Fr {
                $crate::fr_of(&crate::cairn::pipeline::crypto::poseidon(
                    domain,
                    &$crate::frs_bytes(inputs),
                ))
            }
            fn msm_g1(&self, points: &[[u8; 32]], scalars: &[$crate::Fr]) -> Option<[u8; 32]> {
                crate::cairn::pipeline::crypto::msm_g1(
                    &points.concat(),
                    &$crate::frs_bytes(scalars),
                )
                .and_then(|r| <[u8; 32]>::try_from(r.as_slice()).ok())
            }
            fn pairing_check(&self, g1: &[[u8; 32]], g2: &[[u8; 64]]) -> Option<bool> {
                crate::cairn::pipeline::crypto::pairing_check(&g1.concat(), &g2.concat())
            }
        }
    };
}

/// Expands `HostState`: the snapshot reads as the protocol's `StateView`.
#[macro_export]
macro_rules! state_adapter {
    () => {
        /// The host's state imports as the protocol's `StateView`.
        pub struct HostState;

        impl $crate::cairn_protocol::vm::VmState for HostState {
            fn public_read(&self, slot: &$crate::Fr) -> $crate::Fr {
                $crate::fr_of(&crate::cairn::pipeline::state::public_read(
                    &$crate::fr_bytes(slot),
                ))
            }
            fn nullifier_exists(&self, n: &$crate::Fr) -> bool {
                crate::cairn::pipeline::state::nullifier_exists(&$crate::fr_bytes(n))
            }
            fn contract_code(&self, a: &$crate::cairn_protocol::vm::Word) -> Option<Vec<u8>> {
                crate::cairn::pipeline::state::contract_code(&a.to_be_bytes())
            }
            fn poseidon(&self, domain: u64, inputs: &[$crate::Fr]) -> $crate::Fr {
                <HostCrypto as $crate::cairn_protocol::crypto::Crypto>::poseidon(
                    &HostCrypto,
                    domain,
                    inputs,
                )
            }
        }

        impl $crate::cairn_protocol::stages::StateView for HostState {
            fn anchor_note_root(&self, anchor: &$crate::Fr) -> Option<$crate::Fr> {
                crate::cairn::pipeline::state::anchor_note_root(&$crate::fr_bytes(anchor))
                    .map(|b| $crate::fr_of(&b))
            }
            fn verification_key(&self, s: u8) -> Option<Vec<u8>> {
                crate::cairn::pipeline::state::verification_key(s)
            }
        }
    };
}

/// Converts the WIT block context.
#[macro_export]
macro_rules! context_of {
    ($c:expr) => {{
        let c = $c;
        let mut coinbase = [0u8; 20];
        if c.coinbase.len() == 20 {
            coinbase.copy_from_slice(&c.coinbase);
        }
        $crate::cairn_protocol::stages::BlockContext {
            chain_id: c.chain_id,
            rollup_version: c.rollup_version,
            block_number: c.block_number,
            fee_per_mana: ((c.fee_per_mana_hi as u128) << 64) | c.fee_per_mana_lo as u128,
            coinbase,
        }
    }};
}
