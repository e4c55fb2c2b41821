//! cairn's L2 protocol (docs/protocol.md) as pure, deterministic functions: no I/O, no clock,
//! no randomness. The same code runs natively in the node and inside the pipeline components.

// One audited exception: the call into the AVX-512 permutation (`poseidon::permute8`).
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod crypto;
pub mod field;
pub mod groth16;
pub mod merkle;
pub mod poseidon;
pub mod stages;
pub mod state;
pub mod tx;
pub mod vm;
