//! cairn's sequencer node. Effects live here (L1, disk, sockets); the protocol and consensus
//! rules it applies are the pure `runtime/` crates, and the pipeline stages run through
//! `cairn-engine`.
//!
//! Services, each owning its state: the chain service ([`world`]: the only writer of the chain,
//! the world state and the block table, all in one database ([`store`], [`statedb`]); readers
//! take snapshots that read through to it), the archiver ([`archiver`]:
//! follows L1, or peers while paused), the sequencer ([`sequencer`]: the slot's proposal,
//! attestation collection with a deadline, publishing), the validator client ([`consensus`]:
//! re-executes and attests to gossiped proposals through the slashing guard), the tx pool
//! ([`pool`]), the devnet prover ([`prover`]) and the HTTP servers ([`rpc`], written against
//! [`api`]'s traits). [`service`] runs them as tokio tasks with one shutdown token; the p2p
//! service is its own crate, plugged in through [`network::Network`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
mod archiver;
pub mod chain;
pub mod config;
pub mod consensus;
pub mod duties;
pub mod error;
pub mod metrics;
mod modules;
pub mod network;
pub mod node;
pub mod pool;
mod prover;
pub mod rpc;
pub mod sentinel;
pub mod sequencer;
pub mod service;
pub mod signer;
pub mod statedb;
pub mod store;
pub mod world;

pub use config::{Attester, NodeConfig, Roles};
pub use duties::Skip;
pub use error::{NodeError, StartError};
pub use network::{Network, NetworkError};
pub use node::Node;
pub use pool::TxRejected;
