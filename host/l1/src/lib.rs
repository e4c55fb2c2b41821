//! L1 access: JSON-RPC transport and typed contract calls.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod gse;
pub mod rpc;

pub use rpc::{RpcClient, RpcError};
