//! Sequencer rewards: `rewards show` (what each coinbase has accrued in the Rollup, and whether
//! it can be claimed yet) and `rewards claim` (anyone releases a coinbase's rewards from the
//! Rollup to the coinbase itself, once governance made rewards claimable).

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use anyhow::{bail, Context, Result};
use cairn_l1::abi::{IRollup, IERC20};
use cairn_l1::network::Resolved;
use cairn_l1::TxRequest;
use clap::{Args, Subcommand};
use serde_json::json;

use super::l1::{parse_nonzero_addr, print_json, units, NetArgs, OutArgs, SignerArgs};

/// `cairn rewards …`.
#[derive(Subcommand)]
pub enum RewardsCommand {
    /// Accrued sequencer rewards per coinbase, and whether they are claimable yet (and why not).
    Show(ShowArgs),
    /// Release each coinbase's rewards from the Rollup to the coinbase (any funded key may send
    /// it; the rewards never go to the sender).
    Claim(ClaimArgs),
}

/// `cairn rewards show`.
#[derive(Args)]
pub struct ShowArgs {
    #[command(flatten)]
    net: NetArgs,
    /// Coinbase addresses (the keystore's `coinbase`, or a provider's split contracts).
    #[arg(long = "coinbase", value_parser = parse_nonzero_addr, required = true, num_args = 1..)]
    coinbases: Vec<Address>,
    #[command(flatten)]
    out: OutArgs,
}

/// `cairn rewards claim`.
#[derive(Args)]
pub struct ClaimArgs {
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    signer: SignerArgs,
    /// Coinbase addresses to release rewards for.
    #[arg(long = "coinbase", value_parser = parse_nonzero_addr, required = true, num_args = 1..)]
    coinbases: Vec<Address>,
    #[command(flatten)]
    out: OutArgs,
}

/// Runs a `rewards` subcommand.
pub fn run(cmd: RewardsCommand) -> Result<()> {
    match cmd {
        RewardsCommand::Show(a) => show(a),
        RewardsCommand::Claim(a) => claim(a),
    }
}

/// Whether the Rollup lets rewards out now; `Err(reason)` says why not.
fn claimable(net: &Resolved) -> Result<std::result::Result<(), String>> {
    if net
        .l1
        .call(net.rollup, &IRollup::isRewardsClaimableCall {})?
    {
        return Ok(Ok(()));
    }
    let earliest = net.l1.call(
        net.rollup,
        &IRollup::getEarliestRewardsClaimableTimestampCall {},
    )?;
    let now = net.l1.latest_timestamp()?;
    let when = if earliest > U256::from(now) {
        format!("not before {earliest} (L1 time now {now}), and then ")
    } else {
        String::new()
    };
    Ok(Err(format!(
        "rewards on rollup {} are locked: they become claimable {when}only when the Rollup's owner (governance) calls setRewardsClaimable(true){}",
        net.rollup,
        if net.manifest.is_some() {
            "; on the devnet, `cairn devnet unlock-rewards` does that"
        } else {
            ""
        }
    )))
}

fn show(a: ShowArgs) -> Result<()> {
    let net = a.net.resolve(false)?;
    let token = net.l1.call(net.rollup, &IRollup::getFeeAssetCall {})?;
    let symbol = net
        .l1
        .call(token, &IERC20::symbolCall {})
        .unwrap_or_else(|_| "tokens".into());
    let state = claimable(&net)?;
    let mut rows = Vec::new();
    for c in &a.coinbases {
        let accrued = net
            .l1
            .call(
                net.rollup,
                &IRollup::getSequencerRewardsCall { _coinbase: *c },
            )
            .with_context(|| format!("reading the rewards of {c}"))?;
        rows.push((*c, accrued));
    }
    if a.out.json {
        print_json(&json!({
            "rollup": net.rollup.to_checksum(None),
            "feeAsset": token.to_checksum(None),
            "claimable": state.is_ok(),
            "reason": state.as_ref().err(),
            "coinbases": rows.iter().map(|(c, r)| json!({"coinbase": c.to_checksum(None), "accrued": r.to_string()})).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    for (c, r) in &rows {
        println!("{c}  {} {symbol}", units(*r, 18));
    }
    match state {
        Ok(()) => println!("claimable now: `cairn rewards claim --coinbase …`"),
        Err(why) => println!("not claimable: {why}"),
    }
    Ok(())
}

fn claim(a: ClaimArgs) -> Result<()> {
    let net = a.net.resolve(false)?;
    let signer = a.signer.signer(&net)?;
    if let Err(why) = claimable(&net)? {
        bail!("{why}");
    }
    let token = net.l1.call(net.rollup, &IRollup::getFeeAssetCall {})?;
    let mut rows = Vec::new();
    for c in &a.coinbases {
        let accrued = net.l1.call(
            net.rollup,
            &IRollup::getSequencerRewardsCall { _coinbase: *c },
        )?;
        if accrued.is_zero() {
            bail!(
                "nothing to claim for {c}: it has no sequencer rewards on rollup {} (rewards accrue to the coinbase of proven checkpoints; check the address with `cairn rewards show`)",
                net.rollup
            );
        }
        let before = net.l1.call(token, &IERC20::balanceOfCall { owner: *c })?;
        let call = IRollup::claimSequencerRewardsCall { _coinbase: *c };
        net.l1
            .call_from(Some(signer.address()), net.rollup, &call)
            .with_context(|| format!("claimSequencerRewards({c}) (simulated)"))?;
        let r = net
            .l1
            .send(
                &signer,
                "claimSequencerRewards",
                TxRequest {
                    to: Some(net.rollup),
                    data: call.abi_encode(),
                    value: U256::ZERO,
                    gas: None,
                },
            )
            .with_context(|| format!("claimSequencerRewards({c})"))?;
        let after = net.l1.call(token, &IERC20::balanceOfCall { owner: *c })?;
        rows.push((*c, after.saturating_sub(before), after, r.hash));
    }
    if a.out.json {
        print_json(&json!({
            "claimed": rows.iter().map(|(c, paid, bal, tx)| json!({"coinbase": c.to_checksum(None), "amount": paid.to_string(), "balance": bal.to_string(), "tx": format!("{tx:#x}")})).collect::<Vec<_>>(),
        }));
    } else {
        for (c, paid, bal, tx) in rows {
            println!(
                "{c}: released {} (balance {}), tx {tx:#x}",
                units(paid, 18),
                units(bal, 18)
            );
        }
    }
    Ok(())
}
