//! Flags and helpers shared by the commands that talk to L1.

use std::path::PathBuf;

use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use anyhow::{anyhow, bail, Context, Result};
use cairn_crypto::{G1Words, G2Words};
use cairn_keys::registration::Registration;
use cairn_l1::abi::{G1Point, G2Point, KeyStore};
use cairn_l1::network::{Network, NetworkArgs, Resolved};
use cairn_l1::signer_from_hex;
use clap::Args;

/// Where the L1 is and which contracts to use.
#[derive(Args, Clone, Debug)]
pub struct NetArgs {
    /// Network preset: devnet (addresses from the devnet manifest), testnet (Sepolia) or mainnet.
    #[arg(long, env = "NETWORK", value_parser = parse_network)]
    pub network: Option<Network>,
    /// L1 JSON-RPC URLs, comma-separated, tried in order.
    #[arg(
        long = "l1-rpc-urls",
        env = "ETHEREUM_HOSTS",
        value_delimiter = ',',
        value_name = "URLS"
    )]
    pub l1_rpc_urls: Vec<String>,
    /// Expected L1 chain id (the preset's by default); a different chain is refused.
    #[arg(long = "l1-chain-id", env = "L1_CHAIN_ID")]
    pub l1_chain_id: Option<u64>,
    /// Governance Registry address (the canonical rollup is discovered from it).
    #[arg(long = "registry-address", alias = "registry", env = "REGISTRY_CONTRACT_ADDRESS", value_parser = parse_addr)]
    pub registry: Option<Address>,
    /// Rollup address (default: the Registry's canonical rollup).
    #[arg(long = "rollup", alias = "rollup-address", env = "ROLLUP_CONTRACT_ADDRESS", value_parser = parse_addr)]
    pub rollup: Option<Address>,
    /// StakingRegistry address (delegated stake).
    #[arg(long = "staking-registry", env = "STAKING_REGISTRY_CONTRACT_ADDRESS", value_parser = parse_addr)]
    pub staking_registry: Option<Address>,
    /// Devnet manifest (default: ~/.cairn/devnet/manifest.json, or $CAIRN_HOME/devnet/manifest.json).
    #[arg(
        long = "devnet-manifest",
        env = "CAIRN_DEVNET_MANIFEST",
        value_name = "FILE"
    )]
    pub devnet_manifest: Option<PathBuf>,
}

/// The key that signs and pays.
#[derive(Args, Clone, Default)]
pub struct SignerArgs {
    /// Private key of the sending account (0x + 64 hex). Flags show up in `ps`: prefer
    /// --private-key-file or the L1_PRIVATE_KEY environment variable. On the devnet the
    /// manifest's deployer key is used when none is given.
    #[arg(
        long = "private-key",
        env = "L1_PRIVATE_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub private_key: Option<String>,
    /// Read the private key from this file.
    #[arg(
        long = "private-key-file",
        value_name = "FILE",
        conflicts_with = "private_key"
    )]
    pub private_key_file: Option<PathBuf>,
}

// Hand-written so that a debug print can never show the key.
impl std::fmt::Debug for SignerArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignerArgs")
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "<redacted>"),
            )
            .field("private_key_file", &self.private_key_file)
            .finish()
    }
}

/// `--json` switch.
#[derive(Args, Clone, Debug, Default)]
pub struct OutArgs {
    /// Print one JSON document on standard output instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_network(s: &str) -> Result<Network, String> {
    s.parse()
}

/// An Ethereum address flag.
pub fn parse_addr(s: &str) -> Result<Address, String> {
    let t = s.trim();
    if !(t.len() == 42 && t.starts_with("0x") && t[2..].chars().all(|c| c.is_ascii_hexdigit())) {
        return Err(format!(
            "not an Ethereum address (0x + 40 hex digits): {t:?}"
        ));
    }
    t.parse::<Address>()
        .map_err(|e| format!("invalid address {t:?}: {e}"))
}

/// A non-zero Ethereum address flag.
pub fn parse_nonzero_addr(s: &str) -> Result<Address, String> {
    let a = parse_addr(s)?;
    if a == Address::ZERO {
        return Err("the zero address is not allowed here".into());
    }
    Ok(a)
}

/// A take rate in basis points (0..=10000).
pub fn parse_take_rate(s: &str) -> Result<u16, String> {
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("take rate must be an integer number of basis points, got {s:?}"))?;
    if n > 10_000 {
        return Err(format!("take rate {n} is above 10000 basis points (100 %)"));
    }
    Ok(n as u16)
}

impl NetArgs {
    /// Connects and locates the contracts.
    pub fn resolve(&self, need_staking_registry: bool) -> Result<Resolved> {
        let args = NetworkArgs {
            network: self.network,
            rpc_urls: self.l1_rpc_urls.clone(),
            chain_id: self.l1_chain_id,
            registry: self.registry,
            rollup: self.rollup,
            staking_registry: self.staking_registry,
            devnet_manifest: self.devnet_manifest.clone(),
        };
        Ok(args.resolve(need_staking_registry)?)
    }
}

impl SignerArgs {
    /// The signer: flag, file, or (devnet only) the manifest's deployer.
    pub fn signer(&self, net: &Resolved) -> Result<PrivateKeySigner> {
        if let Some(k) = &self.private_key {
            return signer_from_hex(k).context("--private-key");
        }
        if let Some(path) = &self.private_key_file {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            );
            return signer_from_hex(text.trim())
                .with_context(|| format!("key file {}", path.display()));
        }
        if let Some(m) = &net.manifest {
            return signer_from_hex(&m.deployer_private_key).context("devnet deployer key");
        }
        bail!("no sending key: pass --private-key-file FILE (or --private-key / L1_PRIVATE_KEY)")
    }
}

/// Big-endian 32-byte word → U256.
pub fn word(w: &[u8; 32]) -> U256 {
    U256::from_be_bytes(*w)
}

/// G1 words → ABI point.
pub fn g1(p: &G1Words) -> G1Point {
    G1Point {
        x: word(&p.x),
        y: word(&p.y),
    }
}

/// G2 words → ABI point (x0/y0 real parts, as the contracts expect).
pub fn g2(p: &G2Words) -> G2Point {
    G2Point {
        x0: word(&p.x0),
        x1: word(&p.x1),
        y0: word(&p.y0),
        y1: word(&p.y1),
    }
}

/// A registration tuple as the StakingRegistry's `KeyStore`.
pub fn key_store(r: &Registration) -> Result<KeyStore> {
    Ok(KeyStore {
        attester: parse_addr(&r.attester).map_err(|e| anyhow!("attester {}: {e}", r.attester))?,
        publicKeyG1: g1(&r.pk1),
        publicKeyG2: g2(&r.pk2),
        proofOfPossession: g1(&r.pop),
    })
}

/// Formats a token amount with `decimals` (trailing zeros trimmed).
pub fn units(v: U256, decimals: u8) -> String {
    let base = U256::from(10u64).pow(U256::from(decimals));
    let whole = v / base;
    let frac = v % base;
    if frac.is_zero() {
        return whole.to_string();
    }
    let f = format!("{:0>width$}", frac.to_string(), width = decimals as usize);
    format!("{whole}.{}", f.trim_end_matches('0'))
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_parsers() {
        assert!(parse_addr("0x123").unwrap_err().contains("40 hex"));
        assert!(parse_addr("0x70997970C51812dc3A010C7d01b50e0d17dc79C8").is_ok());
        assert!(parse_nonzero_addr("0x0000000000000000000000000000000000000000").is_err());
        assert_eq!(parse_take_rate("10000"), Ok(10_000));
        assert!(parse_take_rate("10001")
            .unwrap_err()
            .contains("above 10000"));
        assert!(parse_take_rate("-1").is_err());
        assert!(parse_take_rate("5.5").is_err());
    }

    #[test]
    fn token_units() {
        let e18 = U256::from(10u64).pow(U256::from(18));
        assert_eq!(units(U256::from(100u64) * e18, 18), "100");
        assert_eq!(
            units(U256::from(15u64) * e18 / U256::from(10u64), 18),
            "1.5"
        );
        assert_eq!(units(U256::from(1u64), 18), "0.000000000000000001");
    }
}
