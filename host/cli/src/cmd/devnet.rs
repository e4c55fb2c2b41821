//! `cairn devnet l1`: start (or stop) the local L1 with the real Aztec contracts.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::U256;
use anyhow::{anyhow, Result};
use cairn_devnet::DevnetConfig;
use clap::{Args, Subcommand};

use super::l1::print_json;

/// `cairn devnet …`.
#[derive(Subcommand)]
pub enum DevnetCommand {
    /// Start anvil on 127.0.0.1, deploy Aztec's L1 contracts (from @aztec/l1-artifacts 4.1.2,
    /// with their own forge script) plus cairn's StakingRegistry and split factory, fund test
    /// accounts and write DIR/manifest.json. Stays in the foreground until Ctrl-C unless --detach.
    L1(L1Args),
}

fn parse_tokens(s: &str) -> Result<U256, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix("wei") {
        Some(n) => (n.trim(), 0u64),
        None => (t, 18u64),
    };
    let v = U256::from_str_radix(num, 10)
        .map_err(|_| format!("expected a whole number of tokens (or `<n>wei`), got {s:?}"))?;
    v.checked_mul(U256::from(10u64).pow(U256::from(scale)))
        .ok_or_else(|| format!("{s} is too large"))
}

/// Flags of `cairn devnet l1`.
#[derive(Args)]
pub struct L1Args {
    /// State directory (default: ~/.cairn/devnet, or $CAIRN_HOME/devnet).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// anvil port on 127.0.0.1.
    #[arg(long, default_value_t = 8545)]
    port: u16,
    /// Leave anvil running in the background and exit once the manifest is written.
    #[arg(long)]
    detach: bool,
    /// Stop the devnet recorded in --dir.
    #[arg(long, conflicts_with = "detach")]
    stop: bool,
    /// The project's tools/node_modules (default: found from the current directory or the binary).
    #[arg(long = "tools-dir", env = "CAIRN_TOOLS_DIR", value_name = "DIR")]
    tools_dir: Option<PathBuf>,
    /// L2 slot duration in seconds.
    #[arg(long = "slot-duration", default_value_t = 12)]
    slot_duration: u64,
    /// Slots per epoch.
    #[arg(long = "epoch-duration", default_value_t = 8)]
    epoch_duration: u64,
    /// Target committee size.
    #[arg(long = "committee-size", default_value_t = 4)]
    committee_size: u64,
    /// Stake per validator, in tokens (18 decimals) or `<n>wei`.
    #[arg(long = "activation-threshold", default_value = "100", value_parser = parse_tokens)]
    activation_threshold: U256,
    /// GSE ejection threshold, in tokens.
    #[arg(long = "ejection-threshold", default_value = "50", value_parser = parse_tokens)]
    ejection_threshold: U256,
    /// Rollup local ejection threshold, in tokens.
    #[arg(long = "local-ejection-threshold", default_value = "98", value_parser = parse_tokens)]
    local_ejection_threshold: U256,
    /// Exit delay in seconds.
    #[arg(long = "exit-delay", default_value_t = 120)]
    exit_delay: u64,
    /// Validators admitted per epoch by the entry queue (minimum flush size; also the maximum).
    #[arg(long = "flush-size", default_value_t = 48)]
    flush_size: u64,
    /// Entry-queue bootstrap set size (0: no bootstrap phase).
    #[arg(long = "bootstrap-validators", default_value_t = 0)]
    bootstrap_validators: u64,
    /// Seconds between empty L1 blocks (0: blocks only for transactions). Transactions are
    /// always mined at once.
    #[arg(long = "block-time", default_value_t = 1)]
    block_time: u64,
    /// Funded test accounts (anvil accounts 1..=N).
    #[arg(long, default_value_t = 9)]
    accounts: u32,
    /// Staking asset minted to each test account, in tokens.
    #[arg(long = "fund", default_value = "100000", value_parser = parse_tokens)]
    fund: U256,
    /// Print the manifest as JSON when ready.
    #[arg(long)]
    json: bool,
}

/// The default devnet state directory.
pub fn default_dir() -> PathBuf {
    cairn_l1::network::default_manifest_path()
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".cairn/devnet"))
}

/// Runs a devnet subcommand.
pub fn run(cmd: DevnetCommand) -> Result<()> {
    match cmd {
        DevnetCommand::L1(a) => l1(a),
    }
}

fn l1(a: L1Args) -> Result<()> {
    let dir = a.dir.clone().unwrap_or_else(default_dir);
    if a.stop {
        println!("devnet: {}", cairn_devnet::stop(&dir)?);
        return Ok(());
    }
    let cfg = DevnetConfig {
        dir,
        port: a.port,
        tools_dir: a.tools_dir,
        slot_duration: a.slot_duration,
        epoch_duration: a.epoch_duration,
        committee_size: a.committee_size,
        activation_threshold: a.activation_threshold,
        ejection_threshold: a.ejection_threshold,
        local_ejection_threshold: a.local_ejection_threshold,
        exit_delay: a.exit_delay,
        bootstrap_validator_set_size: a.bootstrap_validators,
        flush_size_min: a.flush_size,
        flush_size_quotient: 2,
        max_flush_size: a.flush_size,
        accounts: a.accounts,
        block_time: a.block_time,
        fund: a.fund,
        ..DevnetConfig::default()
    };
    // Installed before starting so that a Ctrl-C during deployment also stops anvil.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .map_err(|e| anyhow!("cannot install the Ctrl-C handler: {e}"))?;
    }
    let mut devnet = cairn_devnet::start(&cfg)?;
    let m = &devnet.manifest;
    if a.json {
        print_json(&serde_json::to_value(m)?);
    } else {
        println!(
            "devnet: ready in {:.1} s on {} (chain {})",
            m.startup_seconds, m.rpc_url, m.chain_id
        );
        for (name, addr) in &m.addresses {
            println!("  {name:<26} {addr}");
        }
        println!("  rollup version             {}", m.rollup_version);
        println!(
            "  funded accounts            {} (anvil accounts 1..={})",
            m.accounts.len(),
            m.accounts.len()
        );
        println!("manifest: {}", devnet.manifest_path().display());
    }
    if a.detach {
        let dir = devnet.dir.clone();
        devnet.detach();
        if !a.json {
            println!(
                "anvil left running; stop it with: cairn devnet l1 --stop --dir {}",
                dir.display()
            );
        }
        return Ok(());
    }
    if !a.json {
        println!("running in the foreground; Ctrl-C stops it");
    }
    while !stop.load(Ordering::SeqCst) {
        if !devnet.is_running() {
            devnet.shutdown();
            return Err(anyhow!(
                "anvil exited on its own (log in {})",
                cfg.dir.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    devnet.shutdown();
    println!("devnet: stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_amounts() {
        assert_eq!(
            parse_tokens("100").unwrap(),
            U256::from(100u64) * U256::from(10u64).pow(U256::from(18))
        );
        assert_eq!(parse_tokens("5wei").unwrap(), U256::from(5u64));
        assert!(parse_tokens("1.5").is_err());
        assert!(parse_tokens("-1").is_err());
    }
}
