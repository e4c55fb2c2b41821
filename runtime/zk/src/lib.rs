//! The note-spend statement (docs/protocol.md §6) as a Groth16 circuit over BN254.
//!
//! Public inputs, in order: note-hash root, nullifier, out note hash 0, out note hash 1,
//! binding. Private: the owner's secret, the spent note (token, value, randomness), its Merkle
//! path, and the two new notes. The circuit proves the spent note is in the tree under the
//! root, is owned by the secret, is nullified by `nullifier`, and that the new notes carry the
//! same token and the same total value (64-bit values, no wraparound). The binding input is
//! constrained so a proof is tied to its transaction.
//!
//! Setup here is deterministic from a public seed: a devnet convenience with no security (anyone
//! can recompute the toxic waste). A network would run a ceremony and register its key.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod circuit;
mod gadgets;
pub mod scenario;
mod wallet;

pub use circuit::{NoteSpend, SpendWitness};
pub use wallet::{keys, prove_spend, Keys, Note, SpendRequest, ZkError};
