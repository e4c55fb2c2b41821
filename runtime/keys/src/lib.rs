//! Validator keys, keystores and staking registration JSON, byte-compatible with Aztec's CLI
//! (`aztec validator-keys new|add|staker`, `generate-bls-keypair`).
//!
//! Pure code: no filesystem, no clock, no randomness. The CLI and the browser page supply I/O and
//! entropy and get identical bytes.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bls_derive;
pub mod dir;
pub mod encrypted;
pub mod flows;
pub mod generate;
pub mod hd;
pub mod mnemonic;
pub mod paths;
pub mod protect;
pub mod provider;
pub mod registration;
pub mod schema;
pub mod staker;
