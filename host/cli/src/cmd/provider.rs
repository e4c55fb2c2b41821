//! Delegated stake through the StakingRegistry: provider administration, key queue, monitoring,
//! coinbase mapping, and the delegator's `stake`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolEvent;
use anyhow::{anyhow, bail, Context, Result};
use cairn_keys::registration::{self, Registration};
use cairn_l1::abi::{
    IPullSplit, IPullSplitFactory, IRollup, ISplitsWarehouse, IStakingRegistry, KeyStore, Split,
    IERC20,
};
use cairn_l1::network::Resolved;
use cairn_l1::L1;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::l1::{
    key_store, parse_nonzero_addr, parse_take_rate, print_json, units, NetArgs, OutArgs, SignerArgs,
};
use super::staking::ensure_allowance;

/// Provider id and the connection.
#[derive(Args)]
pub struct Target {
    #[command(flatten)]
    net: NetArgs,
    /// Provider identifier (from `provider register`).
    #[arg(long = "provider-id", value_parser = parse_provider_id)]
    provider_id: u64,
}

fn parse_provider_id(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("provider ids start at 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("provider id must be a positive integer, got {s:?}")),
    }
}

/// `cairn provider …`.
#[derive(Subcommand)]
pub enum ProviderCommand {
    /// Register a provider; prints its providerIdentifier.
    Register {
        #[command(flatten)]
        net: NetArgs,
        #[command(flatten)]
        signer: SignerArgs,
        /// Provider admin (default: the sender).
        #[arg(long, value_parser = parse_nonzero_addr)]
        admin: Option<Address>,
        /// Commission in basis points (0..=10000).
        #[arg(long = "take-rate", value_parser = parse_take_rate)]
        take_rate: u16,
        /// Receives the provider's share of every split.
        #[arg(long = "rewards-recipient", value_parser = parse_nonzero_addr)]
        rewards_recipient: Address,
        #[command(flatten)]
        out: OutArgs,
    },
    /// Queue registration tuples (a `validator-keys staker` file) for delegators, in batches.
    /// Re-running after a partial failure skips attesters already queued.
    AddKeys {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: SignerArgs,
        /// Registration JSON (array of {attester, publicKeyG1, publicKeyG2, proofOfPossession}).
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Keys per transaction (the docs advise at most 100).
        #[arg(long = "batch-size", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=500))]
        batch_size: u64,
        /// Queue keys that fail verification, duplicates, and attesters already on the rollup.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        out: OutArgs,
    },
    /// Queue length and entries.
    Queue {
        #[command(flatten)]
        target: Target,
        /// List at most this many entries from the head.
        #[arg(long, default_value_t = 20)]
        limit: u64,
        #[command(flatten)]
        out: OutArgs,
    },
    /// Admin, take rate, rewards recipient, pending admin, queue length.
    Show {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        out: OutArgs,
    },
    /// Start an admin transfer (the new admin must accept).
    UpdateAdmin {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: SignerArgs,
        /// The new admin.
        #[arg(long = "new-admin", value_parser = parse_nonzero_addr)]
        new_admin: Address,
        #[command(flatten)]
        out: OutArgs,
    },
    /// Accept a pending admin transfer (sent by the new admin).
    AcceptAdmin {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        out: OutArgs,
    },
    /// Change the rewards recipient (future splits only).
    UpdateRewardsRecipient {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: SignerArgs,
        /// The new recipient.
        #[arg(long = "rewards-recipient", value_parser = parse_nonzero_addr)]
        rewards_recipient: Address,
        #[command(flatten)]
        out: OutArgs,
    },
    /// Change the take rate (immediately, for new stakes).
    UpdateTakeRate {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: SignerArgs,
        /// New commission in basis points (0..=10000).
        #[arg(long = "take-rate", value_parser = parse_take_rate)]
        take_rate: u16,
        #[command(flatten)]
        out: OutArgs,
    },
    /// Drop keys from the head of the queue (skip a bad or duplicate key).
    Drip {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: SignerArgs,
        /// Keys to drop.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        count: u64,
        #[command(flatten)]
        out: OutArgs,
    },
    /// Alert when the key queue runs low. One check by default (exit 1 below the threshold);
    /// with --interval, keeps watching and posts one alert per crossing.
    Monitor {
        #[command(flatten)]
        target: Target,
        /// Alert when fewer keys than this remain.
        #[arg(long)]
        threshold: u64,
        /// POST a JSON alert here (Slack/Discord-style `text` and `content` fields).
        #[arg(long)]
        webhook: Option<String>,
        /// Seconds between checks (daemon mode).
        #[arg(long)]
        interval: Option<u64>,
        /// Stop after this many checks (daemon mode; for tests and cron-like use).
        #[arg(long = "max-checks", hide = true)]
        max_checks: Option<u64>,
        #[command(flatten)]
        out: OutArgs,
    },
    /// Pay out the rewards sitting in the provider's split contracts: each split's fee-asset
    /// balance is distributed to its recipients (the provider's take rate to its rewards
    /// recipient, the rest to the delegator's) and withdrawn from the warehouse to them.
    /// Anyone may send it; nothing goes to the sender.
    Distribute {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: SignerArgs,
        /// Only these splits (default: every split of the provider's delegations).
        #[arg(long = "split", value_parser = parse_nonzero_addr)]
        splits: Vec<Address>,
        /// First L1 block to scan for StakedWithProvider and SplitCreated events.
        #[arg(long = "from-block", default_value_t = 0)]
        from_block: u64,
        #[command(flatten)]
        out: OutArgs,
    },
    /// Map each delegated attester to its split contract (the coinbase it must use);
    /// with --keystore --write, set those coinbases in a keystore (backup kept).
    Coinbases {
        #[command(flatten)]
        target: Target,
        /// First L1 block to scan for StakedWithProvider events.
        #[arg(long = "from-block", default_value_t = 0)]
        from_block: u64,
        /// Keystore whose validators' coinbases to update.
        #[arg(long, value_name = "FILE")]
        keystore: Option<PathBuf>,
        /// Write the keystore (otherwise only show what would change).
        #[arg(long, requires = "keystore")]
        write: bool,
        #[command(flatten)]
        out: OutArgs,
    },
}

/// The provider's splits, from its StakedWithProvider events: attester → split.
fn provider_splits(c: &Ctx, from_block: u64) -> Result<BTreeMap<Address, Address>> {
    let logs = c.net.l1.logs(
        c.registry,
        IStakingRegistry::StakedWithProvider::SIGNATURE_HASH,
        Some(B256::from(c.id)),
        from_block,
        None,
        50_000,
    )?;
    Ok(logs
        .iter()
        .filter_map(|l| l.decode::<IStakingRegistry::StakedWithProvider>())
        .map(|e| (e.attester, e.coinbaseSplitContractAddress))
        .collect())
}

/// A split's parameters as created (its SplitCreated event): `distribute` must be given them.
fn split_params(c: &Ctx, split: Address, from_block: u64) -> Result<Split> {
    let factory = c
        .net
        .l1
        .call(c.registry, &IStakingRegistry::PULL_SPLIT_FACTORYCall {})?;
    let mut topic = [0u8; 32];
    topic[12..].copy_from_slice(split.as_slice());
    let logs = c.net.l1.logs(
        factory,
        IPullSplitFactory::SplitCreated::SIGNATURE_HASH,
        Some(B256::from(topic)),
        from_block,
        None,
        50_000,
    )?;
    logs.iter()
        .filter_map(|l| l.decode::<IPullSplitFactory::SplitCreated>())
        .map(|e| e.splitParams)
        .next_back()
        .ok_or_else(|| {
            anyhow!(
                "{split} is not a split made by the StakingRegistry's split factory {factory} (no SplitCreated event since block {from_block}): check --split and --from-block"
            )
        })
}

fn distribute(
    target: Target,
    signer: SignerArgs,
    only: Vec<Address>,
    from_block: u64,
    out: OutArgs,
) -> Result<()> {
    let c = ctx(&target)?;
    config(&c)?;
    let sender = signer.signer(&c.net)?;
    let l1 = &c.net.l1;
    let splits: BTreeSet<Address> = if only.is_empty() {
        let all: BTreeSet<Address> = provider_splits(&c, from_block)?.into_values().collect();
        if all.is_empty() {
            bail!(
                "provider {} has no delegations yet, so no splits to distribute",
                c.id
            );
        }
        all
    } else {
        only.into_iter().collect()
    };
    let token = l1.call(c.net.rollup, &IRollup::getFeeAssetCall {})?;
    let mut reports = Vec::new();
    for split in splits {
        let params = split_params(&c, split, from_block)?;
        let pending = l1.call(token, &IERC20::balanceOfCall { owner: split })?;
        // A split keeps 1 wei (as 0xSplits does): nothing below 2 wei moves.
        if pending <= U256::from(1) {
            reports.push(json!({"split": split.to_checksum(None), "distributed": "0", "paid": [], "note": "nothing to distribute (claim the coinbase's rewards first: `cairn rewards claim`)"}));
            continue;
        }
        let before: Vec<U256> = params
            .recipients
            .iter()
            .map(|r| l1.call(token, &IERC20::balanceOfCall { owner: *r }))
            .collect::<Result<_, _>>()?;
        let call = IPullSplit::distributeCall {
            _split: params.clone(),
            _token: token,
            _distributor: sender.address(),
        };
        l1.call_from(Some(sender.address()), split, &call)
            .with_context(|| format!("distribute on split {split} (simulated)"))?;
        let r = l1
            .send_call(&sender, "distribute", split, &call)
            .with_context(|| format!("distribute on split {split}"))?;
        let mut txs = vec![format!("{:#x}", r.hash)];
        let warehouse = l1.call(split, &IPullSplit::SPLITS_WAREHOUSECall {})?;
        let id = U256::from_be_slice(token.as_slice());
        for rcpt in &params.recipients {
            let held = l1.call(
                warehouse,
                &ISplitsWarehouse::balanceOfCall { owner: *rcpt, id },
            )?;
            if held > U256::from(1) {
                let w = l1
                    .send_call(
                        &sender,
                        "withdraw",
                        warehouse,
                        &ISplitsWarehouse::withdrawCall {
                            _owner: *rcpt,
                            _token: token,
                        },
                    )
                    .with_context(|| format!("warehouse withdraw for {rcpt}"))?;
                txs.push(format!("{:#x}", w.hash));
            }
        }
        let mut paid = Vec::new();
        for (rcpt, b) in params.recipients.iter().zip(before) {
            let after = l1.call(token, &IERC20::balanceOfCall { owner: *rcpt })?;
            paid.push(json!({"recipient": rcpt.to_checksum(None), "amount": after.saturating_sub(b).to_string()}));
        }
        reports.push(json!({"split": split.to_checksum(None), "distributed": (pending - U256::from(1)).to_string(), "paid": paid, "txs": txs}));
    }
    if out.json {
        print_json(
            &json!({"providerIdentifier": c.id.to_string(), "token": token.to_checksum(None), "splits": reports}),
        );
        return Ok(());
    }
    for r in &reports {
        println!(
            "{}: distributed {}",
            r["split"].as_str().unwrap_or_default(),
            units(
                r["distributed"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_default(),
                18
            )
        );
        for p in r["paid"].as_array().into_iter().flatten() {
            println!(
                "  {} received {}",
                p["recipient"].as_str().unwrap_or_default(),
                units(
                    p["amount"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or_default(),
                    18
                )
            );
        }
        if let Some(n) = r["note"].as_str() {
            println!("  {n}");
        }
    }
    Ok(())
}

/// `cairn stake`: delegate to a provider from a wallet.
#[derive(Args)]
pub struct StakeArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    signer: SignerArgs,
    /// Rollup version (default: the canonical rollup's).
    #[arg(long = "rollup-version")]
    rollup_version: Option<u64>,
    /// Withdrawer (default: the sender).
    #[arg(long, value_parser = parse_nonzero_addr)]
    withdrawer: Option<Address>,
    /// Receives the delegator's share of rewards (default: the sender).
    #[arg(long = "rewards-recipient", value_parser = parse_nonzero_addr)]
    rewards_recipient: Option<Address>,
    /// Refuse unless the provider's take rate is exactly this (front-running guard;
    /// default: the current rate, shown before sending).
    #[arg(long = "expected-take-rate", value_parser = parse_take_rate)]
    expected_take_rate: Option<u16>,
    /// Validators to stake (one key and one activation threshold each).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100))]
    count: u64,
    /// Book the stake on the bonus instance so it follows the latest rollup.
    #[arg(long = "move-with-latest-rollup", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    move_with_latest_rollup: bool,
    #[command(flatten)]
    out: OutArgs,
}

struct Ctx {
    net: Resolved,
    registry: Address,
    id: U256,
}

fn ctx(t: &Target) -> Result<Ctx> {
    let net = t.net.resolve(true)?;
    let registry = net
        .staking_registry
        .ok_or_else(|| anyhow!("no StakingRegistry"))?;
    if net.l1.code(registry)?.is_empty() {
        bail!("no contract at StakingRegistry address {registry} on chain {}: wrong --staking-registry or --network?", net.l1.chain_id());
    }
    Ok(Ctx {
        net,
        registry,
        id: U256::from(t.provider_id),
    })
}

struct Config {
    admin: Address,
    take_rate: u16,
    recipient: Address,
}

fn config(c: &Ctx) -> Result<Config> {
    let r = c.net.l1.call(
        c.registry,
        &IStakingRegistry::providerConfigurationsCall { id: c.id },
    )?;
    if r.providerAdmin == Address::ZERO {
        bail!(
            "provider {} is not registered in the StakingRegistry at {}",
            c.id,
            c.registry
        );
    }
    Ok(Config {
        admin: r.providerAdmin,
        take_rate: r.providerTakeRate,
        recipient: r.providerRewardsRecipient,
    })
}

fn require_admin(c: &Ctx, signer: &PrivateKeySigner) -> Result<Config> {
    let cfg = config(c)?;
    if cfg.admin != signer.address() {
        bail!(
            "{} is not the admin of provider {} (the admin is {}); sign with the admin's key",
            signer.address(),
            c.id,
            cfg.admin
        );
    }
    Ok(cfg)
}

fn tx_line(json_out: bool, what: &str, hash: B256) {
    if !json_out {
        println!("{what} (tx {hash:#x})");
    }
}

fn queue_entries(
    l1: &L1,
    registry: Address,
    id: U256,
    first: u128,
    last: u128,
) -> Result<Vec<KeyStore>> {
    use alloy_sol_types::SolCall;
    let params: Vec<Value> = (first..last)
        .map(|i| {
            let data = IStakingRegistry::getValueAtIndexInQueueCall { _providerIdentifier: id, _index: i }.abi_encode();
            json!([{"to": format!("{registry:#x}"), "data": format!("0x{}", hex::encode(data))}, "latest"])
        })
        .collect();
    let mut out = Vec::with_capacity(params.len());
    for r in l1.rpc().batch("eth_call", params, 100)? {
        let raw = cairn_l1::rpc::parse_bytes("eth_call", &r?)?;
        out.push(
            IStakingRegistry::getValueAtIndexInQueueCall::abi_decode_returns(&raw)
                .map_err(|e| anyhow!("queue entry: unexpected answer ({e})"))?,
        );
    }
    Ok(out)
}

/// Runs a provider subcommand.
pub fn run(cmd: ProviderCommand) -> Result<()> {
    match cmd {
        ProviderCommand::Register {
            net,
            signer,
            admin,
            take_rate,
            rewards_recipient,
            out,
        } => {
            let net = net.resolve(true)?;
            let registry = net
                .staking_registry
                .ok_or_else(|| anyhow!("no StakingRegistry"))?;
            let s = signer.signer(&net)?;
            let admin = admin.unwrap_or(s.address());
            let r = net.l1.send_call(
                &s,
                "registerProvider",
                registry,
                &IStakingRegistry::registerProviderCall {
                    _providerAdmin: admin,
                    _providerTakeRate: take_rate,
                    _providerRewardsRecipient: rewards_recipient,
                },
            )?;
            let ev = r
                .events::<IStakingRegistry::ProviderRegistered>()
                .into_iter()
                .find(|(a, _)| *a == registry)
                .map(|(_, e)| e)
                .ok_or_else(|| anyhow!("registerProvider succeeded but emitted no ProviderRegistered event (tx {:#x}); is {registry} a StakingRegistry?", r.hash))?;
            if out.json {
                print_json(
                    &json!({"providerIdentifier": ev.providerIdentifier.to_string(), "admin": admin.to_checksum(None), "takeRate": take_rate, "rewardsRecipient": rewards_recipient.to_checksum(None), "tx": format!("{:#x}", r.hash)}),
                );
            } else {
                println!("providerIdentifier {}", ev.providerIdentifier);
                println!(
                    "registered provider {} (admin {admin}, take rate {take_rate} bps, tx {:#x})",
                    ev.providerIdentifier, r.hash
                );
            }
            Ok(())
        }
        ProviderCommand::AddKeys {
            target,
            signer,
            from,
            batch_size,
            force,
            out,
        } => add_keys(target, signer, &from, batch_size, force, out),
        ProviderCommand::Queue { target, limit, out } => {
            let c = ctx(&target)?;
            config(&c)?;
            let l1 = &c.net.l1;
            let first = l1.call(
                c.registry,
                &IStakingRegistry::getFirstIndexInQueueCall {
                    _providerIdentifier: c.id,
                },
            )?;
            let last = l1.call(
                c.registry,
                &IStakingRegistry::getLastIndexInQueueCall {
                    _providerIdentifier: c.id,
                },
            )?;
            let shown_last = last.min(first.saturating_add(limit as u128));
            let entries = queue_entries(l1, c.registry, c.id, first, shown_last)?;
            if out.json {
                print_json(&json!({
                    "providerIdentifier": c.id.to_string(),
                    "length": (last - first).to_string(),
                    "first": first.to_string(),
                    "last": last.to_string(),
                    "entries": entries.iter().enumerate().map(|(i, k)| json!({"index": (first + i as u128).to_string(), "attester": k.attester.to_checksum(None)})).collect::<Vec<_>>(),
                }));
            } else {
                println!("queue length {} (indices {first}..{last})", last - first);
                for (i, k) in entries.iter().enumerate() {
                    println!("  {}  {}", first + i as u128, k.attester);
                }
                if shown_last < last {
                    println!("  … {} more (use --limit)", last - shown_last);
                }
            }
            Ok(())
        }
        ProviderCommand::Show { target, out } => {
            let c = ctx(&target)?;
            let cfg = config(&c)?;
            let l1 = &c.net.l1;
            let len = l1.call(
                c.registry,
                &IStakingRegistry::getProviderQueueLengthCall {
                    _providerIdentifier: c.id,
                },
            )?;
            let pending = l1.call(
                c.registry,
                &IStakingRegistry::pendingProviderAdminsCall { id: c.id },
            )?;
            let pending = (pending != Address::ZERO).then_some(pending);
            if out.json {
                print_json(&json!({
                    "providerIdentifier": c.id.to_string(),
                    "admin": cfg.admin.to_checksum(None),
                    "takeRate": cfg.take_rate,
                    "rewardsRecipient": cfg.recipient.to_checksum(None),
                    "pendingAdmin": pending.map(|a| a.to_checksum(None)),
                    "queueLength": len.to_string(),
                    "stakingRegistry": c.registry.to_checksum(None),
                }));
            } else {
                println!("provider           {}", c.id);
                println!("admin              {}", cfg.admin);
                println!(
                    "take rate          {} bps ({}.{:02} %)",
                    cfg.take_rate,
                    cfg.take_rate / 100,
                    cfg.take_rate % 100
                );
                println!("rewards recipient  {}", cfg.recipient);
                println!(
                    "pending admin      {}",
                    pending.map(|a| a.to_string()).unwrap_or_else(|| "-".into())
                );
                println!("queue length       {len}");
            }
            Ok(())
        }
        ProviderCommand::UpdateAdmin {
            target,
            signer,
            new_admin,
            out,
        } => {
            let c = ctx(&target)?;
            let s = signer.signer(&c.net)?;
            let cfg = require_admin(&c, &s)?;
            if cfg.admin == new_admin {
                bail!("{new_admin} is already the admin of provider {}", c.id);
            }
            let r = c.net.l1.send_call(
                &s,
                "updateProviderAdmin",
                c.registry,
                &IStakingRegistry::updateProviderAdminCall {
                    _providerIdentifier: c.id,
                    _newAdmin: new_admin,
                },
            )?;
            done(out.json, &format!("admin transfer to {new_admin} started; it takes effect when {new_admin} runs `cairn provider accept-admin --provider-id {}`", c.id), r.hash);
            Ok(())
        }
        ProviderCommand::AcceptAdmin {
            target,
            signer,
            out,
        } => {
            let c = ctx(&target)?;
            let s = signer.signer(&c.net)?;
            config(&c)?;
            let pending = c.net.l1.call(
                c.registry,
                &IStakingRegistry::pendingProviderAdminsCall { id: c.id },
            )?;
            if pending != s.address() {
                bail!(
                    "{} is not the pending admin of provider {} ({}); the current admin must run update-admin first",
                    s.address(),
                    c.id,
                    if pending == Address::ZERO { "no transfer is pending".to_string() } else { format!("pending: {pending}") }
                );
            }
            let r = c.net.l1.send_call(
                &s,
                "acceptProviderAdmin",
                c.registry,
                &IStakingRegistry::acceptProviderAdminCall {
                    _providerIdentifier: c.id,
                },
            )?;
            done(
                out.json,
                &format!("{} is now the admin of provider {}", s.address(), c.id),
                r.hash,
            );
            Ok(())
        }
        ProviderCommand::UpdateRewardsRecipient {
            target,
            signer,
            rewards_recipient,
            out,
        } => {
            let c = ctx(&target)?;
            let s = signer.signer(&c.net)?;
            require_admin(&c, &s)?;
            let r = c.net.l1.send_call(
                &s,
                "updateProviderRewardsRecipient",
                c.registry,
                &IStakingRegistry::updateProviderRewardsRecipientCall {
                    _providerIdentifier: c.id,
                    _newRewardsRecipient: rewards_recipient,
                },
            )?;
            done(out.json, &format!("rewards recipient of provider {} is now {rewards_recipient} (existing splits keep the old one)", c.id), r.hash);
            Ok(())
        }
        ProviderCommand::UpdateTakeRate {
            target,
            signer,
            take_rate,
            out,
        } => {
            let c = ctx(&target)?;
            let s = signer.signer(&c.net)?;
            let cfg = require_admin(&c, &s)?;
            if cfg.take_rate == take_rate {
                bail!("provider {} already has take rate {take_rate}", c.id);
            }
            let r = c.net.l1.send_call(
                &s,
                "updateProviderTakeRate",
                c.registry,
                &IStakingRegistry::updateProviderTakeRateCall {
                    _providerIdentifier: c.id,
                    _newTakeRate: take_rate,
                },
            )?;
            done(
                out.json,
                &format!(
                    "take rate of provider {} changed from {} to {take_rate} bps (new stakes only)",
                    c.id, cfg.take_rate
                ),
                r.hash,
            );
            Ok(())
        }
        ProviderCommand::Distribute {
            target,
            signer,
            splits,
            from_block,
            out,
        } => distribute(target, signer, splits, from_block, out),
        ProviderCommand::Drip {
            target,
            signer,
            count,
            out,
        } => {
            let c = ctx(&target)?;
            let s = signer.signer(&c.net)?;
            require_admin(&c, &s)?;
            let len = c.net.l1.call(
                c.registry,
                &IStakingRegistry::getProviderQueueLengthCall {
                    _providerIdentifier: c.id,
                },
            )?;
            if len < U256::from(count) {
                bail!(
                    "provider {}'s queue holds {len} key(s); cannot drop {count}",
                    c.id
                );
            }
            let r = c.net.l1.send_call(
                &s,
                "dripProviderQueue",
                c.registry,
                &IStakingRegistry::dripProviderQueueCall {
                    _providerIdentifier: c.id,
                    _numberOfKeysToDrip: U256::from(count),
                },
            )?;
            let dropped: Vec<String> = r
                .events::<IStakingRegistry::ProviderQueueDripped>()
                .into_iter()
                .map(|(_, e)| e.attester.to_checksum(None))
                .collect();
            if out.json {
                print_json(&json!({"dripped": dropped, "tx": format!("{:#x}", r.hash)}));
            } else {
                for a in &dropped {
                    println!("dropped {a}");
                }
                println!("dropped {} key(s) (tx {:#x})", dropped.len(), r.hash);
            }
            Ok(())
        }
        ProviderCommand::Monitor {
            target,
            threshold,
            webhook,
            interval,
            max_checks,
            out,
        } => monitor(target, threshold, webhook, interval, max_checks, out),
        ProviderCommand::Coinbases {
            target,
            from_block,
            keystore,
            write,
            out,
        } => coinbases(target, from_block, keystore, write, out),
    }
}

fn done(json_out: bool, msg: &str, hash: B256) {
    if json_out {
        print_json(&json!({"message": msg, "tx": format!("{hash:#x}")}));
    } else {
        tx_line(false, msg, hash);
    }
}

fn add_keys(
    target: Target,
    signer: SignerArgs,
    from: &Path,
    batch_size: u64,
    force: bool,
    out: OutArgs,
) -> Result<()> {
    let text =
        std::fs::read_to_string(from).with_context(|| format!("cannot read {}", from.display()))?;
    let regs: Vec<Registration> =
        registration::parse_document(&text).map_err(|e| anyhow!("{}: {e}", from.display()))?;
    if regs.is_empty() {
        bail!("{} holds no registrations", from.display());
    }
    if !force {
        let report = registration::verify_document(&text);
        if !report.ok() {
            use registration::Status;
            let mut bad: Vec<String> = report
                .document
                .iter()
                .filter(|c| c.status == Status::Fail)
                .map(|c| format!("document: {}", c.detail))
                .collect();
            for e in &report.entries {
                for ch in e.checks.iter().filter(|c| c.status == Status::Fail) {
                    bad.push(format!(
                        "entry {} ({}): {}",
                        e.index + 1,
                        e.attester.as_deref().unwrap_or("?"),
                        ch.detail
                    ));
                }
            }
            let n = bad.len();
            bad.truncate(8);
            bail!(
                "{n} problem(s) found by `cairn validator-keys verify`; these keys would be refunded at the entry queue:\n  {}\nfix or remove them (or pass --force)",
                bad.join("\n  ")
            );
        }
    }
    let c = ctx(&target)?;
    let s = signer.signer(&c.net)?;
    require_admin(&c, &s)?;
    let l1 = &c.net.l1;
    let stores: Vec<KeyStore> = regs.iter().map(key_store).collect::<Result<_>>()?;
    // Duplicates in the file.
    let mut seen = BTreeSet::new();
    let mut dups = Vec::new();
    for k in &stores {
        if !seen.insert(k.attester) {
            dups.push(k.attester);
        }
    }
    if !dups.is_empty() && !force {
        bail!("{} lists attester(s) more than once: {}; the registry does not check duplicates and the second deposit would fail", from.display(), dups.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "));
    }
    // Resumability: skip attesters already in this provider's queue.
    let first = l1.call(
        c.registry,
        &IStakingRegistry::getFirstIndexInQueueCall {
            _providerIdentifier: c.id,
        },
    )?;
    let last = l1.call(
        c.registry,
        &IStakingRegistry::getLastIndexInQueueCall {
            _providerIdentifier: c.id,
        },
    )?;
    let queued: BTreeSet<Address> = queue_entries(l1, c.registry, c.id, first, last)?
        .into_iter()
        .map(|k| k.attester)
        .collect();
    let mut todo: Vec<KeyStore> = Vec::new();
    let mut skipped = 0usize;
    let mut seen = BTreeSet::new();
    for k in stores {
        if queued.contains(&k.attester) || (!force && !seen.insert(k.attester)) {
            skipped += 1;
            continue;
        }
        todo.push(k);
    }
    if !force && !todo.is_empty() {
        // Attesters already known to the rollup can never be deposited again.
        let mut on_chain = Vec::new();
        for k in &todo {
            let st = l1.call(
                c.net.rollup,
                &IRollup::getStatusCall {
                    _attester: k.attester,
                },
            )?;
            if st != 0 {
                on_chain.push(format!(
                    "{} ({})",
                    k.attester,
                    cairn_l1::abi::status_name(st)
                ));
            }
        }
        if !on_chain.is_empty() {
            bail!("attester(s) already registered on the rollup, whose deposit would fail: {} (remove them or pass --force)", on_chain.join(", "));
        }
    }
    if !out.json && skipped > 0 {
        eprintln!(
            "skipping {skipped} attester(s) already queued for provider {}",
            c.id
        );
    }
    let mut txs = Vec::new();
    let total = todo.len();
    for (i, chunk) in todo.chunks(batch_size as usize).enumerate() {
        let r = l1.send_call(
            &s,
            &format!("addKeysToProvider batch {}", i + 1),
            c.registry,
            &IStakingRegistry::addKeysToProviderCall { _providerIdentifier: c.id, _keyStores: chunk.to_vec() },
        )
        .with_context(|| format!("batch {} failed; {} key(s) were queued before it. Re-run the same command to resume", i + 1, i * batch_size as usize))?;
        if !out.json {
            eprintln!(
                "batch {}: queued {} key(s) (tx {:#x}, gas {})",
                i + 1,
                chunk.len(),
                r.hash,
                r.gas_used
            );
        }
        txs.push(r.hash);
    }
    let len = l1.call(
        c.registry,
        &IStakingRegistry::getProviderQueueLengthCall {
            _providerIdentifier: c.id,
        },
    )?;
    if out.json {
        print_json(
            &json!({"added": total, "skipped": skipped, "transactions": txs.iter().map(|h| format!("{h:#x}")).collect::<Vec<_>>(), "queueLength": len.to_string()}),
        );
    } else {
        println!(
            "added {total} key(s) in {} transaction(s); skipped {skipped}; queue length {len}",
            txs.len()
        );
    }
    Ok(())
}

fn post_webhook(url: &str, body: &Value) -> Result<()> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    agent
        .post(url)
        .send_json(body.clone())
        .map_err(|e| anyhow!("webhook {url}: {e}"))?;
    Ok(())
}

fn monitor(
    target: Target,
    threshold: u64,
    webhook: Option<String>,
    interval: Option<u64>,
    max_checks: Option<u64>,
    out: OutArgs,
) -> Result<()> {
    let c = ctx(&target)?;
    config(&c)?;
    let check = || -> Result<u64> {
        Ok(c.net
            .l1
            .call(
                c.registry,
                &IStakingRegistry::getProviderQueueLengthCall {
                    _providerIdentifier: c.id,
                },
            )?
            .to::<u64>())
    };
    let alert = |len: u64| -> Value {
        let text = format!(
            "Keystore queue low: provider {} has {len} key(s) left (threshold {threshold}) on {}",
            c.id, c.net.name
        );
        json!({"text": text, "content": text, "providerIdentifier": c.id.to_string(), "queueLength": len, "threshold": threshold, "network": c.net.name, "chainId": c.net.l1.chain_id(), "stakingRegistry": c.registry.to_checksum(None)})
    };
    let Some(every) = interval else {
        let len = check()?;
        let low = len < threshold;
        if out.json {
            print_json(&json!({"queueLength": len, "threshold": threshold, "low": low}));
        } else {
            println!("Queue length: {len}");
        }
        if low {
            if let Some(url) = &webhook {
                post_webhook(url, &alert(len))?;
            }
            bail!(
                "keystore queue running low: only {len} key(s) remaining (threshold {threshold})"
            );
        }
        return Ok(());
    };
    let every = Duration::from_secs(every.max(1));
    let mut alerted = false;
    let mut checks = 0u64;
    loop {
        match check() {
            Ok(len) => {
                let low = len < threshold;
                tracing::info!(len, threshold, "provider queue checked");
                if out.json {
                    println!(
                        "{}",
                        json!({"queueLength": len, "threshold": threshold, "low": low})
                    );
                } else {
                    println!(
                        "Queue length: {len}{}",
                        if low { " (below threshold)" } else { "" }
                    );
                }
                if low && !alerted {
                    if let Some(url) = &webhook {
                        // Keep watching even if the webhook is down; try again next check.
                        match post_webhook(url, &alert(len)) {
                            Ok(()) => alerted = true,
                            Err(e) => eprintln!("warning: {e}"),
                        }
                    } else {
                        eprintln!(
                            "WARNING: keystore queue running low: only {len} key(s) remaining"
                        );
                        alerted = true;
                    }
                } else if !low {
                    alerted = false;
                }
            }
            // A flaky RPC must not kill the monitor.
            Err(e) => eprintln!("warning: check failed: {e:#}"),
        }
        checks += 1;
        if max_checks.is_some_and(|m| checks >= m) {
            return Ok(());
        }
        std::thread::sleep(every);
    }
}

fn coinbases(
    target: Target,
    from_block: u64,
    keystore: Option<PathBuf>,
    write: bool,
    out: OutArgs,
) -> Result<()> {
    let c = ctx(&target)?;
    config(&c)?;
    let map = provider_splits(&c, from_block)?;
    // What each split holds now (rewards claimed to it, not yet distributed).
    let token = c.net.l1.call(c.net.rollup, &IRollup::getFeeAssetCall {})?;
    let mut pending: BTreeMap<Address, U256> = BTreeMap::new();
    for s in map.values() {
        pending.insert(
            *s,
            c.net.l1.call(token, &IERC20::balanceOfCall { owner: *s })?,
        );
    }
    let mut changes: Vec<Value> = Vec::new();
    if let Some(path) = &keystore {
        changes = super::coinbase::apply(path, &map, write)?;
    }
    if out.json {
        print_json(&json!({
            "providerIdentifier": c.id.to_string(),
            "coinbases": map.iter().map(|(a, s)| json!({"attester": a.to_checksum(None), "split": s.to_checksum(None), "pending": pending.get(s).map(|p| p.to_string())})).collect::<Vec<_>>(),
            "keystoreChanges": changes,
            "written": write && !changes.is_empty(),
        }));
        return Ok(());
    }
    if map.is_empty() {
        println!("no delegations to provider {} yet", c.id);
    }
    for (a, s) in &map {
        println!(
            "{a} -> {s}  (pending {})",
            units(pending.get(s).copied().unwrap_or_default(), 18)
        );
    }
    if let Some(path) = &keystore {
        for ch in &changes {
            println!(
                "validator {}: coinbase {} -> {}",
                ch["validator"],
                ch["from"].as_str().unwrap_or("(attester)"),
                ch["to"].as_str().unwrap_or_default()
            );
        }
        if changes.is_empty() {
            println!(
                "{}: every delegated attester already has its split as coinbase",
                path.display()
            );
        } else if write {
            println!(
                "updated {} validator(s) in {} (previous version kept as {}.bak)",
                changes.len(),
                path.display(),
                path.display()
            );
        } else {
            println!("(dry run: add --write to update {})", path.display());
        }
    }
    Ok(())
}

/// `stake`.
pub fn stake(a: StakeArgs) -> Result<()> {
    let c = ctx(&a.target)?;
    let s = a.signer.signer(&c.net)?;
    let cfg = config(&c)?;
    let l1 = &c.net.l1;
    if let Some(want) = a.expected_take_rate {
        if want != cfg.take_rate {
            bail!(
                "provider {} charges {} bps, not the expected {want}; re-check before staking",
                c.id,
                cfg.take_rate
            );
        }
    }
    let len = l1.call(
        c.registry,
        &IStakingRegistry::getProviderQueueLengthCall {
            _providerIdentifier: c.id,
        },
    )?;
    if len < U256::from(a.count) {
        bail!("provider {} has {len} key(s) queued, fewer than the {} stake(s) asked for: its queue is empty or short; ask the provider to add keys", c.id, a.count);
    }
    let version = match a.rollup_version {
        Some(v) => U256::from(v),
        None => l1.call(c.net.rollup, &IRollup::getVersionCall {})?,
    };
    let threshold = l1.call(
        c.registry,
        &IStakingRegistry::getActivationThresholdCall {
            _rollupVersion: version,
        },
    )?;
    let asset = l1.call(c.registry, &IStakingRegistry::STAKING_ASSETCall {})?;
    let total = threshold * U256::from(a.count);
    let approve = ensure_allowance(l1, &s, asset, c.registry, total)?;
    let withdrawer = a.withdrawer.unwrap_or(s.address());
    let recipient = a.rewards_recipient.unwrap_or(s.address());
    let mut stakes = Vec::new();
    for i in 0..a.count {
        let r = l1.send_call(
            &s,
            &format!("stake {}", i + 1),
            c.registry,
            &IStakingRegistry::stakeCall {
                _providerIdentifier: c.id,
                _rollupVersion: version,
                _withdrawalAddress: withdrawer,
                _expectedProviderTakeRate: cfg.take_rate,
                _userRewardsRecipient: recipient,
                _moveWithLatestRollup: a.move_with_latest_rollup,
            },
        )?;
        for (_, e) in r.events::<IStakingRegistry::StakedWithProvider>() {
            if !a.out.json {
                println!(
                    "staked {} with provider {}: attester {} coinbase split {} (tx {:#x})",
                    units(threshold, 18),
                    c.id,
                    e.attester,
                    e.coinbaseSplitContractAddress,
                    r.hash
                );
            }
            stakes.push(json!({"attester": e.attester.to_checksum(None), "split": e.coinbaseSplitContractAddress.to_checksum(None), "rollup": e.rollupAddress.to_checksum(None), "tx": format!("{:#x}", r.hash)}));
        }
    }
    if a.out.json {
        print_json(
            &json!({"providerIdentifier": c.id.to_string(), "takeRate": cfg.take_rate, "amountEach": threshold.to_string(), "approveTx": approve.map(|h| format!("{h:#x}")), "stakes": stakes}),
        );
    } else {
        println!("the stake(s) enter the rollup's entry queue; `cairn attester status` shows when they are VALIDATING");
    }
    Ok(())
}
