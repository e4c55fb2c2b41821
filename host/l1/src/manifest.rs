//! The devnet manifest: what `cairn devnet l1` deployed, where, and with which settings.

use std::collections::BTreeMap;
use std::path::Path;

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

/// A funded devnet account (anvil's well-known test keys; never use them elsewhere).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Address.
    #[serde(with = "checksum")]
    pub address: Address,
    /// 0x-hex private key.
    pub private_key: String,
}

/// `manifest.json` in the devnet's data dir.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// L1 chain id (31337).
    pub chain_id: u64,
    /// Loopback RPC URL.
    pub rpc_url: String,
    /// Deployer (anvil account 0) key; owns the Aztec deployment and mints the staking asset.
    pub deployer_private_key: String,
    /// Deployer address.
    #[serde(with = "checksum")]
    pub deployer_address: Address,
    /// Every deployed contract by name (`registry`, `rollup`, `gse`, `stakingAsset`,
    /// `stakingRegistry`, `pullSplitFactory`, `splitsWarehouse`, …).
    #[serde(with = "checksum_map")]
    pub addresses: BTreeMap<String, Address>,
    /// The rollup's version as registered in the Registry.
    pub rollup_version: u64,
    /// Funded test accounts (anvil accounts 1..), each holding staking asset.
    #[serde(default)]
    pub accounts: Vec<Account>,
    /// The deployment settings in force (`AZTEC_*`), numbers as strings where they exceed 2^53.
    #[serde(default)]
    pub config: BTreeMap<String, serde_json::Value>,
    /// Values derived after deployment (GSE's PoP checker address, rollup genesis time).
    #[serde(default)]
    pub derived: BTreeMap<String, serde_json::Value>,
    /// Seconds from start to manifest.
    #[serde(default)]
    pub startup_seconds: f64,
}

/// Why a manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// No file.
    #[error(
        "no devnet manifest at {0}: start one with `cairn devnet l1` (or pass --devnet-manifest)"
    )]
    Missing(String),
    /// Unreadable or malformed.
    #[error("devnet manifest {path} is unreadable: {detail}")]
    Bad {
        /// File.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A needed contract is not in it.
    #[error("devnet manifest {path} has no `{name}` address; restart the devnet with this cairn version")]
    NoAddress {
        /// File.
        path: String,
        /// Missing key.
        name: String,
    },
}

impl Manifest {
    /// Reads and parses a manifest.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ManifestError::Missing(path.display().to_string())
            } else {
                ManifestError::Bad {
                    path: path.display().to_string(),
                    detail: e.to_string(),
                }
            }
        })?;
        serde_json::from_str(&text).map_err(|e| ManifestError::Bad {
            path: path.display().to_string(),
            detail: e.to_string(),
        })
    }

    /// A named address, or a clear error.
    pub fn address(&self, name: &str, path: &Path) -> Result<Address, ManifestError> {
        self.addresses
            .get(name)
            .copied()
            .ok_or_else(|| ManifestError::NoAddress {
                path: path.display().to_string(),
                name: name.to_string(),
            })
    }
}

// Addresses are written EIP-55 checksummed, as operators copy them into other tools.
mod checksum {
    use alloy_primitives::Address;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(a: &Address, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&a.to_checksum(None))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
        Address::deserialize(d)
    }
}

mod checksum_map {
    use std::collections::BTreeMap;

    use alloy_primitives::Address;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        m: &BTreeMap<String, Address>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(m.iter().map(|(k, v)| (k, v.to_checksum(None))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Address>, D::Error> {
        BTreeMap::<String, Address>::deserialize(d)
    }
}
