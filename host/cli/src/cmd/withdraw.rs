//! Exits: `withdraw initiate` (the withdrawer starts an attester's exit) and `withdraw finalize`
//! (anyone, once both delays have passed: the rollup's exit delay and the Governance
//! withdrawal delay the stake waits out in Governance).

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use anyhow::{anyhow, bail, Context, Result};
use cairn_l1::abi::{status_name, IGovernance, IRollup, IERC20, IGSE};
use cairn_l1::network::Resolved;
use cairn_l1::TxRequest;
use clap::{Args, Subcommand};
use serde_json::json;

use super::l1::{parse_nonzero_addr, print_json, units, NetArgs, OutArgs, SignerArgs};

/// Gas limit for the exit calls (each uses about 0.4 M on the devnet).
const EXIT_GAS: u64 = 1_500_000;

/// `cairn withdraw …`.
#[derive(Subcommand)]
pub enum WithdrawCommand {
    /// Start an attester's exit: its whole stake leaves the validator set and becomes
    /// withdrawable to RECIPIENT after the exit delay. Signed by the attester's withdrawer.
    Initiate(InitiateArgs),
    /// Pay out an exited stake to its recipient (anyone may send it, once exitable).
    Finalize(FinalizeArgs),
}

/// `cairn withdraw initiate`.
#[derive(Args)]
pub struct InitiateArgs {
    #[command(flatten)]
    net: NetArgs,
    /// The withdrawer's key (the address recorded when the attester was deposited).
    #[command(flatten)]
    signer: SignerArgs,
    /// The attester to exit.
    #[arg(long, value_parser = parse_nonzero_addr)]
    attester: Address,
    /// Who receives the stake when the exit is finalized.
    #[arg(long, value_parser = parse_nonzero_addr)]
    recipient: Address,
    #[command(flatten)]
    out: OutArgs,
}

/// `cairn withdraw finalize`.
#[derive(Args)]
pub struct FinalizeArgs {
    #[command(flatten)]
    net: NetArgs,
    /// Any funded key (finalizing pays the recipient, never the sender).
    #[command(flatten)]
    signer: SignerArgs,
    /// The exiting attester.
    #[arg(long, value_parser = parse_nonzero_addr)]
    attester: Address,
    #[command(flatten)]
    out: OutArgs,
}

/// Runs a `withdraw` subcommand.
pub fn run(cmd: WithdrawCommand) -> Result<()> {
    match cmd {
        WithdrawCommand::Initiate(a) => initiate(a),
        WithdrawCommand::Finalize(a) => finalize(a),
    }
}

/// When an exit can be finalized, and which delay decides it.
struct Unlock {
    /// The rollup's exit delay ends here.
    exitable_at: u64,
    /// Governance releases the stake here (`None`: no Governance withdrawal recorded).
    governance_at: Option<u64>,
}

impl Unlock {
    fn read(net: &Resolved, withdrawal_id: U256, exitable_at: U256) -> Result<Unlock> {
        let gse = net.l1.call(net.rollup, &IRollup::getGSECall {})?;
        let governance = net.l1.call(gse, &IGSE::getGovernanceCall {})?;
        let w = net.l1.call(
            governance,
            &IGovernance::getWithdrawalCall {
                _withdrawalId: withdrawal_id,
            },
        )?;
        Ok(Unlock {
            exitable_at: exitable_at.saturating_to(),
            governance_at: (w.recipient != Address::ZERO).then(|| w.unlocksAt.saturating_to()),
        })
    }

    /// The later of the two.
    fn at(&self) -> u64 {
        self.exitable_at.max(self.governance_at.unwrap_or(0))
    }

    /// Why it cannot be finalized at `now`, naming the delay that holds it.
    fn holds(&self, now: u64) -> Option<String> {
        let at = self.at();
        if now >= at {
            return None;
        }
        let which = if self.governance_at.is_some_and(|g| g > self.exitable_at) {
            "the Governance withdrawal delay (votingDelay/5 + votingDuration + executionDelay), which is longer than the rollup's exit delay"
        } else {
            "the rollup's exit delay"
        };
        Some(format!(
            "not exitable yet: exitable at {at} (L1 time now {now}, {} s to go), held by {which}",
            at - now
        ))
    }
}

fn initiate(a: InitiateArgs) -> Result<()> {
    let net = a.net.resolve(false)?;
    let signer = a.signer.signer(&net)?;
    let v = net
        .l1
        .call(
            net.rollup,
            &IRollup::getAttesterViewCall {
                _attester: a.attester,
            },
        )
        .with_context(|| format!("reading attester {}", a.attester))?;
    let status = status_name(v.status);
    match status {
        "NONE" => bail!(
            "attester {} has no stake on rollup {} (status NONE): nothing to withdraw",
            a.attester,
            net.rollup
        ),
        "EXITING" => bail!(
            "attester {} is already exiting to {} (exitable at {}); run `cairn withdraw finalize --attester {}` once it is exitable",
            a.attester,
            v.exit.recipientOrWithdrawer,
            v.exit.exitableAt,
            a.attester
        ),
        _ => {}
    }
    if v.config.withdrawer != signer.address() {
        // What the Rollup answers this key (simulated, nothing is sent), with the addresses.
        let revert = net
            .l1
            .call_from(
                Some(signer.address()),
                net.rollup,
                &IRollup::initiateWithdrawCall {
                    _attester: a.attester,
                    _recipient: a.recipient,
                },
            )
            .err()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        bail!(
            "only the withdrawer of attester {} may exit it: that is {}, but the key given signs for {}{revert}; pass the withdrawer's key with --private-key-file",
            a.attester,
            v.config.withdrawer,
            signer.address()
        );
    }
    // Simulated first, so a revert is reported decoded and nothing is sent.
    net.l1
        .call_from(
            Some(signer.address()),
            net.rollup,
            &IRollup::initiateWithdrawCall {
                _attester: a.attester,
                _recipient: a.recipient,
            },
        )
        .context("initiateWithdraw (simulated)")?;
    // A fixed limit rather than the estimate: the exit calls through the GSE into Governance,
    // and an estimate of that path left the inner calls short of gas (63/64 rule) on the devnet.
    let r = net
        .l1
        .send(
            &signer,
            "initiateWithdraw",
            TxRequest {
                to: Some(net.rollup),
                data: IRollup::initiateWithdrawCall {
                    _attester: a.attester,
                    _recipient: a.recipient,
                }
                .abi_encode(),
                value: U256::ZERO,
                gas: Some(EXIT_GAS),
            },
        )
        .context("initiateWithdraw")?;
    let exit = net.l1.call(
        net.rollup,
        &IRollup::getExitCall {
            _attester: a.attester,
        },
    )?;
    let unlock = Unlock::read(&net, exit.withdrawalId, exit.exitableAt)?;
    let now = net.l1.latest_timestamp()?;
    if a.out.json {
        print_json(&json!({
            "attester": a.attester.to_checksum(None),
            "status": status_name(net.l1.call(net.rollup, &IRollup::getStatusCall { _attester: a.attester })?),
            "amount": exit.amount.to_string(),
            "recipient": exit.recipientOrWithdrawer.to_checksum(None),
            "exitableAt": unlock.exitable_at,
            "governanceUnlocksAt": unlock.governance_at,
            "finalizableAt": unlock.at(),
            "tx": format!("{:#x}", r.hash),
        }));
    } else {
        println!(
            "attester {} is exiting: {} to {}",
            a.attester,
            units(exit.amount, 18),
            exit.recipientOrWithdrawer
        );
        println!(
            "finalizable at {} (in {} s): `cairn withdraw finalize --attester {}` (anyone may send it)",
            unlock.at(),
            unlock.at().saturating_sub(now),
            a.attester
        );
        println!("tx {:#x}", r.hash);
    }
    Ok(())
}

fn finalize(a: FinalizeArgs) -> Result<()> {
    let net = a.net.resolve(false)?;
    let signer = a.signer.signer(&net)?;
    let v = net.l1.call(
        net.rollup,
        &IRollup::getAttesterViewCall {
            _attester: a.attester,
        },
    )?;
    let status = status_name(v.status);
    if !v.exit.exists {
        bail!(
            "attester {} is not exiting (status {status}): its withdrawer starts an exit with `cairn withdraw initiate`",
            a.attester
        );
    }
    if !v.exit.isRecipient {
        bail!(
            "attester {} was ejected (status {status}) and has no recipient yet: its withdrawer {} must run `cairn withdraw initiate --attester {} --recipient ADDR` first",
            a.attester,
            v.exit.recipientOrWithdrawer,
            a.attester
        );
    }
    let unlock = Unlock::read(&net, v.exit.withdrawalId, v.exit.exitableAt)?;
    let now = net.l1.latest_timestamp()?;
    if let Some(why) = unlock.holds(now) {
        bail!("attester {}: {why}", a.attester);
    }
    let recipient = v.exit.recipientOrWithdrawer;
    let token = net.l1.call(net.rollup, &IRollup::getStakingAssetCall {})?;
    let before = net
        .l1
        .call(token, &IERC20::balanceOfCall { owner: recipient })?;
    net.l1
        .call_from(
            Some(signer.address()),
            net.rollup,
            &IRollup::finalizeWithdrawCall {
                _attester: a.attester,
            },
        )
        .context("finalizeWithdraw (simulated)")?;
    let r = net
        .l1
        .send(
            &signer,
            "finalizeWithdraw",
            TxRequest {
                to: Some(net.rollup),
                data: IRollup::finalizeWithdrawCall {
                    _attester: a.attester,
                }
                .abi_encode(),
                value: U256::ZERO,
                gas: Some(EXIT_GAS),
            },
        )
        .context("finalizeWithdraw")?;
    let paid = r
        .events::<IRollup::WithdrawFinalized>()
        .into_iter()
        .map(|(_, e)| e.amount)
        .next()
        .ok_or_else(|| anyhow!("finalizeWithdraw was mined without a WithdrawFinalized event"))?;
    let after = net
        .l1
        .call(token, &IERC20::balanceOfCall { owner: recipient })?;
    if a.out.json {
        print_json(&json!({
            "attester": a.attester.to_checksum(None),
            "recipient": recipient.to_checksum(None),
            "amount": paid.to_string(),
            "recipientBalance": after.to_string(),
            "tx": format!("{:#x}", r.hash),
        }));
    } else {
        println!(
            "paid {} to {recipient} (balance {} → {})",
            units(paid, 18),
            units(before, 18),
            units(after, 18)
        );
        println!("tx {:#x}", r.hash);
    }
    Ok(())
}
