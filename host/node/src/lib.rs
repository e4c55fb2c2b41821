//! cairn's sequencer node. Effects live here (L1, disk, sockets); the protocol and consensus
//! rules it applies are the pure `runtime/` crates, and the pipeline stages run through
//! `cairn-engine`.
//!
//! Threads: the slot loop (propose when a local attester is the slot's proposer: build through
//! the pipeline, re-execute, attest with every local committee member, publish a blob
//! transaction to `Rollup.propose`), the archiver (follow the Rollup: checkpoints, proofs,
//! prunes; rebuild blocks from blobs it did not build), the epoch prover (devnet: the mock
//! verifier), and the HTTP servers.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod chain;
pub mod consensus;
pub mod node;
pub mod rpc;
pub mod sentinel;
pub mod store;

pub use node::{Attester, Network, NetworkError, Node, NodeConfig, Roles};
