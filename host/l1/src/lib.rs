//! L1 access for cairn: a JSON-RPC transport with failover and bounded retries, typed
//! bindings for the Aztec staking contracts (alloy `sol!`), signed transactions, and revert
//! decoding by custom-error name. Everything here performs I/O; pure logic lives in `runtime/`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod abi;
pub mod beacon;
pub mod blob;
pub mod client;
pub mod gse;
pub mod manifest;
pub mod network;
pub mod revert;
pub mod rpc;

pub use blob::BlobBundle;
pub use client::{signer_from_hex, L1Error, Log, Receipt, TxRequest, L1};
pub use manifest::Manifest;
pub use network::{Network, NetworkArgs, Resolved};
pub use rpc::{RpcClient, RpcError};
