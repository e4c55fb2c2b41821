//! `cairn devnet l1`: a local L1 with the exact contracts Aztec deploys.
//!
//! anvil on loopback → Aztec's own forge deploy script from `@aztec/l1-artifacts@4.1.2` →
//! cairn's StakingRegistry, SplitsWarehouse and PullSplitFactory (`contracts/`, compiled with
//! solc-js 0.8.30 and embedded here) → staking asset minted to test accounts → `manifest.json`.
//! The npm tools come from the project-local `tools/node_modules` installed by `scripts/setup.sh`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod deploy;
mod tools;

pub use deploy::{start, stop, Devnet, DevnetConfig, DevnetError};
pub use tools::Tools;
