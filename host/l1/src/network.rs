//! Network presets and address discovery (spec/aztec-l1-staking.md §7).
//!
//! A preset gives the chain id and the Registry / StakingRegistry addresses; the rollup, GSE
//! and staking asset are then discovered on chain from the Registry (canonical rollup) unless
//! a flag or environment variable overrides them.

use std::path::PathBuf;
use std::str::FromStr;

use alloy_primitives::{address, Address};

use crate::abi::{IRegistry, IRollup, IStakingRegistry};
use crate::client::{L1Error, L1};
use crate::manifest::{Manifest, ManifestError};
use crate::rpc::RpcClient;

/// A named network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// The local devnet started by `cairn devnet l1` (addresses from its manifest).
    Devnet,
    /// Aztec's public testnet on Sepolia.
    Testnet,
    /// Aztec mainnet on Ethereum.
    Mainnet,
}

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "devnet" | "local" => Ok(Network::Devnet),
            "testnet" | "sepolia" => Ok(Network::Testnet),
            "mainnet" | "ignition" => Ok(Network::Mainnet),
            other => Err(format!(
                "unknown network `{other}`: use devnet, testnet or mainnet"
            )),
        }
    }
}

/// Fixed facts of a public network.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// L1 chain id.
    pub chain_id: u64,
    /// Governance Registry.
    pub registry: Address,
    /// Delegated-stake StakingRegistry.
    pub staking_registry: Address,
}

impl Network {
    /// The preset of a public network (`None` for the devnet, which has a manifest).
    pub fn preset(self) -> Option<Preset> {
        match self {
            Network::Mainnet => Some(Preset {
                chain_id: 1,
                registry: address!("35b22e09ee0390539439e24f06da43d83f90e298"),
                staking_registry: address!("042dF8f42790d6943F41C25C2132400fd727f452"),
            }),
            Network::Testnet => Some(Preset {
                chain_id: 11_155_111,
                registry: address!("a0bfb1b494fb49041e5c6e8c2c1be09cd171c6ba"),
                staking_registry: address!("C6EcC1832c8BF6a41c927BEb4E9ec610FBeDd1C2"),
            }),
            Network::Devnet => None,
        }
    }

    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Network::Devnet => "devnet",
            Network::Testnet => "testnet",
            Network::Mainnet => "mainnet",
        }
    }
}

/// What the user gave (flags, with environment fallbacks applied by the CLI).
#[derive(Debug, Clone, Default)]
pub struct NetworkArgs {
    /// `--network`.
    pub network: Option<Network>,
    /// `--l1-rpc-urls` / `ETHEREUM_HOSTS`.
    pub rpc_urls: Vec<String>,
    /// `--l1-chain-id` / `L1_CHAIN_ID`.
    pub chain_id: Option<u64>,
    /// `--registry` / `REGISTRY_CONTRACT_ADDRESS`.
    pub registry: Option<Address>,
    /// `--rollup` / `ROLLUP_CONTRACT_ADDRESS`.
    pub rollup: Option<Address>,
    /// `--staking-registry` / `STAKING_REGISTRY_CONTRACT_ADDRESS`.
    pub staking_registry: Option<Address>,
    /// `--devnet-manifest` / `CAIRN_DEVNET_MANIFEST`.
    pub devnet_manifest: Option<PathBuf>,
}

/// A connected network with its contracts located.
pub struct Resolved {
    /// The connection.
    pub l1: L1,
    /// The network name (or `custom`).
    pub name: String,
    /// Governance Registry (if known).
    pub registry: Option<Address>,
    /// Rollup used.
    pub rollup: Address,
    /// StakingRegistry, if the network has one.
    pub staking_registry: Option<Address>,
    /// The devnet manifest, when on the devnet.
    pub manifest: Option<Manifest>,
}

/// Why a network could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// Devnet manifest problem.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// L1 problem.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// Not enough information.
    #[error("{0}")]
    Incomplete(String),
}

/// The default devnet manifest path: `$CAIRN_HOME/devnet/manifest.json` or `~/.cairn/devnet/manifest.json`.
pub fn default_manifest_path() -> PathBuf {
    let home = std::env::var_os("CAIRN_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cairn")))
        .unwrap_or_else(|| PathBuf::from(".cairn"));
    home.join("devnet").join("manifest.json")
}

impl NetworkArgs {
    /// Connects and locates the contracts. `need_staking_registry` makes a missing one an error.
    pub fn resolve(&self, need_staking_registry: bool) -> Result<Resolved, NetworkError> {
        let mut manifest = None;
        let (name, mut chain_id, mut registry, mut staking_registry, mut rollup, mut urls) =
            match self.network {
                Some(Network::Devnet) => {
                    let path = self
                        .devnet_manifest
                        .clone()
                        .unwrap_or_else(default_manifest_path);
                    let m = Manifest::load(&path)?;
                    let r = (
                        "devnet".to_string(),
                        Some(m.chain_id),
                        Some(m.address("registry", &path)?),
                        m.addresses.get("stakingRegistry").copied(),
                        Some(m.address("rollup", &path)?),
                        vec![m.rpc_url.clone()],
                    );
                    manifest = Some(m);
                    r
                }
                Some(n) => {
                    let p = n
                        .preset()
                        .ok_or_else(|| NetworkError::Incomplete("no preset".into()))?;
                    (
                        n.name().to_string(),
                        Some(p.chain_id),
                        Some(p.registry),
                        Some(p.staking_registry),
                        None,
                        vec![],
                    )
                }
                None => ("custom".to_string(), None, None, None, None, vec![]),
            };
        // Explicit flags and environment win over the preset.
        if !self.rpc_urls.is_empty() {
            urls = self.rpc_urls.clone();
        }
        if self.chain_id.is_some() {
            chain_id = self.chain_id;
        }
        if self.registry.is_some() {
            registry = self.registry;
        }
        if self.staking_registry.is_some() {
            staking_registry = self.staking_registry;
        }
        if self.rollup.is_some() {
            rollup = self.rollup;
        }
        if urls.is_empty() {
            return Err(NetworkError::Incomplete(
                "no L1 RPC URL: pass --l1-rpc-urls (or set ETHEREUM_HOSTS)".into(),
            ));
        }
        let rpc = RpcClient::new(&urls).map_err(L1Error::from)?;
        let l1 = L1::connect(rpc, chain_id)?;
        // A StakingRegistry names the governance Registry it stakes through, so it is enough
        // to find the rollup.
        if rollup.is_none() && registry.is_none() {
            if let Some(sr) = staking_registry {
                if l1.code(sr)?.is_empty() {
                    return Err(NetworkError::Incomplete(format!(
                        "no contract at StakingRegistry address {sr} on chain {}: wrong --staking-registry?",
                        l1.chain_id()
                    )));
                }
                registry = Some(
                    l1.call(sr, &IStakingRegistry::ROLLUP_REGISTRYCall {})
                        .map_err(|e| {
                            NetworkError::Incomplete(format!(
                                "{sr} does not answer ROLLUP_REGISTRY() as a StakingRegistry does ({e}); pass --registry or --rollup"
                            ))
                        })?,
                );
            }
        }
        let rollup = match (rollup, registry) {
            (Some(r), _) => r,
            (None, Some(reg)) => l1.call(reg, &IRegistry::getCanonicalRollupCall {})?,
            (None, None) => {
                return Err(NetworkError::Incomplete(
                    "cannot find the rollup: pass --network, --registry, --rollup or --staking-registry (or REGISTRY_CONTRACT_ADDRESS / ROLLUP_CONTRACT_ADDRESS / STAKING_REGISTRY_CONTRACT_ADDRESS)".into(),
                ))
            }
        };
        if l1.code(rollup)?.is_empty() {
            return Err(NetworkError::Incomplete(format!(
                "no contract at rollup address {rollup} on chain {}: wrong --rollup or --network?",
                l1.chain_id()
            )));
        }
        // A cheap identity check: a Rollup answers getVersion().
        l1.call(rollup, &IRollup::getVersionCall {})?;
        if need_staking_registry && staking_registry.is_none() {
            return Err(NetworkError::Incomplete(
                "no StakingRegistry for this network: pass --staking-registry (or STAKING_REGISTRY_CONTRACT_ADDRESS)".into(),
            ));
        }
        Ok(Resolved {
            l1,
            name,
            registry,
            rollup,
            staking_registry,
            manifest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_names() {
        assert_eq!("devnet".parse::<Network>(), Ok(Network::Devnet));
        assert_eq!("Mainnet".parse::<Network>(), Ok(Network::Mainnet));
        assert_eq!("sepolia".parse::<Network>(), Ok(Network::Testnet));
        assert!("moon"
            .parse::<Network>()
            .unwrap_err()
            .contains("devnet, testnet or mainnet"));
        assert_eq!(Network::Mainnet.preset().map(|p| p.chain_id), Some(1));
        assert_eq!(
            Network::Testnet.preset().map(|p| p.chain_id),
            Some(11_155_111)
        );
        assert!(Network::Devnet.preset().is_none());
    }

    #[test]
    fn missing_inputs_are_named() {
        let e = NetworkArgs::default()
            .resolve(false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("--l1-rpc-urls"), "{e}");
        let e = NetworkArgs {
            network: Some(Network::Devnet),
            devnet_manifest: Some(PathBuf::from("/nonexistent/manifest.json")),
            ..Default::default()
        }
        .resolve(false)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            e.contains("no devnet manifest") && e.contains("cairn devnet l1"),
            "{e}"
        );
    }
}
