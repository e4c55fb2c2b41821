//! Direct staking on the Rollup: `add-l1-validator`, `flush-entry-queue`, `rollup info`,
//! `attester status`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use anyhow::{anyhow, bail, Context, Result};
use cairn_crypto::{BlsSecretKey, PopGasEstimate, POP_GAS_CAP};
use cairn_keys::registration::Registration;
use cairn_l1::abi::{status_name, IRegistry, IRollup, IERC20};
use cairn_l1::{L1Error, TxRequest, L1};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::l1::{
    g1, g2, parse_addr, parse_nonzero_addr, print_json, units, NetArgs, OutArgs, SignerArgs,
};
use crate::secret::PasswordArgs;

/// `cairn add-l1-validator`.
#[derive(Args)]
pub struct AddL1ValidatorArgs {
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    signer: SignerArgs,
    /// Attester address (with --bls-secret-key).
    #[arg(long, value_parser = parse_nonzero_addr, required_unless_present_any = ["from_keystore", "registration"])]
    attester: Option<Address>,
    /// Withdrawer address: receives the stake back on exit or on a failed deposit (default: the sender).
    #[arg(long, value_parser = parse_nonzero_addr)]
    withdrawer: Option<Address>,
    /// BN254 BLS secret key of the attester (0x hex). Prefer --from-keystore: flags show in `ps`.
    #[arg(
        long = "bls-secret-key",
        env = "BLS_SECRET_KEY",
        hide_env_values = true,
        requires = "attester",
        conflicts_with = "from_keystore"
    )]
    bls_secret_key: Option<String>,
    /// Take attesters and BLS keys from this keystore (every validator that has both).
    #[arg(
        long = "from-keystore",
        value_name = "FILE",
        conflicts_with = "registration"
    )]
    from_keystore: Option<PathBuf>,
    /// Take registration tuples from a `validator-keys staker` output file (no secrets needed).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["attester", "bls_secret_key"])]
    registration: Option<PathBuf>,
    #[command(flatten)]
    password: PasswordArgs,
    /// Book the stake on the bonus instance so it follows the latest rollup.
    #[arg(long = "move-with-latest-rollup", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    move_with_latest_rollup: bool,
    /// Follow the entry queue (flushing it when possible) until VALIDATING or FailedDeposit.
    #[arg(long)]
    wait: bool,
    /// Seconds to wait with --wait.
    #[arg(long = "wait-timeout", default_value_t = 600, value_name = "SECONDS")]
    wait_timeout: u64,
    /// With --wait, only watch: never call flushEntryQueue.
    #[arg(long = "no-flush")]
    no_flush: bool,
    /// Send even if the key fails the local proof-of-possession or gas check.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    out: OutArgs,
}

/// `cairn flush-entry-queue`.
#[derive(Args)]
pub struct FlushArgs {
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    signer: SignerArgs,
    /// Flush at most this many entries (default: all the epoch's budget allows).
    #[arg(long)]
    count: Option<u64>,
    #[command(flatten)]
    out: OutArgs,
}

/// `cairn rollup …`.
#[derive(Subcommand)]
pub enum RollupCommand {
    /// Canonical rollup, GSE, assets, thresholds, queue, attesters, epoch, slot, committee.
    Info {
        #[command(flatten)]
        net: NetArgs,
        #[command(flatten)]
        out: OutArgs,
    },
}

/// `cairn attester …`.
#[derive(Subcommand)]
pub enum AttesterCommand {
    /// The Rollup's view of attesters: status, effective balance, exit, withdrawer, G1 key.
    Status {
        #[command(flatten)]
        net: NetArgs,
        /// Attester addresses.
        #[arg(required = true, value_parser = parse_addr)]
        attesters: Vec<Address>,
        #[command(flatten)]
        out: OutArgs,
    },
}

/// Gas given per flushed entry. The GSE runs the PoP check under its own 250k cap, and a
/// transaction short of gas makes that check fail *inside a try* (a FailedDeposit and refund
/// of a good key) instead of reverting, so estimates cannot be trusted here.
pub const FLUSH_GAS_PER_ENTRY: u64 = 1_000_000;
/// Entries per flush transaction (keeps a transaction well under a 30M block).
pub const FLUSH_BATCH: u64 = 16;

/// What a flush did.
#[derive(Debug, Default)]
pub struct FlushReport {
    /// Transactions sent.
    pub txs: Vec<B256>,
    /// Attesters that became active.
    pub deposited: Vec<Address>,
    /// Attesters whose deposit failed (refunded to the withdrawer).
    pub failed: Vec<(Address, Address)>,
}

/// Flushes up to `max` entries (bounded by the queue and the epoch budget) in batches.
pub fn flush(
    l1: &L1,
    signer: &PrivateKeySigner,
    rollup: Address,
    max: Option<u64>,
) -> Result<FlushReport> {
    let mut report = FlushReport::default();
    loop {
        let queued = l1
            .call(rollup, &IRollup::getEntryQueueLengthCall {})?
            .to::<u64>();
        let available = l1
            .call(rollup, &IRollup::getAvailableValidatorFlushesCall {})?
            .to::<u64>();
        let done = (report.deposited.len() + report.failed.len()) as u64;
        let left = max.map(|m| m.saturating_sub(done)).unwrap_or(u64::MAX);
        let n = queued.min(available).min(left).min(FLUSH_BATCH);
        if n == 0 {
            return Ok(report);
        }
        let data = alloy_sol_types::SolCall::abi_encode(&IRollup::flushEntryQueue_1Call {
            _toAdd: U256::from(n),
        });
        let r = l1.send(
            signer,
            "flushEntryQueue",
            TxRequest {
                to: Some(rollup),
                data,
                value: U256::ZERO,
                gas: Some(200_000 + FLUSH_GAS_PER_ENTRY * n),
            },
        )?;
        report.txs.push(r.hash);
        report.deposited.extend(
            r.events::<IRollup::Deposit>()
                .into_iter()
                .map(|(_, e)| e.attester),
        );
        report.failed.extend(
            r.events::<IRollup::FailedDeposit>()
                .into_iter()
                .map(|(_, e)| (e.attester, e.withdrawer)),
        );
        if r.events::<IRollup::Deposit>().is_empty()
            && r.events::<IRollup::FailedDeposit>().is_empty()
        {
            return Ok(report);
        }
    }
}

/// Checks the sender's token balance and approves `spender` if its allowance is short.
pub fn ensure_allowance(
    l1: &L1,
    signer: &PrivateKeySigner,
    token: Address,
    spender: Address,
    amount: U256,
) -> Result<Option<B256>> {
    let me = signer.address();
    let balance = l1.call(token, &IERC20::balanceOfCall { owner: me })?;
    if balance < amount {
        bail!(
            "insufficient staking asset: {me} holds {} but needs {} (token {token}); fund the account or use another --private-key-file",
            units(balance, 18),
            units(amount, 18)
        );
    }
    let allowance = l1.call(token, &IERC20::allowanceCall { owner: me, spender })?;
    if allowance >= amount {
        return Ok(None);
    }
    let r = l1.send_call(
        signer,
        "approve staking asset",
        token,
        &IERC20::approveCall { spender, amount },
    )?;
    Ok(Some(r.hash))
}

fn registrations(a: &AddL1ValidatorArgs) -> Result<Vec<Registration>> {
    if let Some(path) = &a.registration {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let regs = cairn_keys::registration::parse_document(&text)
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        if regs.is_empty() {
            bail!("{} holds no registrations", path.display());
        }
        return Ok(regs);
    }
    if let Some(path) = &a.from_keystore {
        let ks = super::keys::load_keystore_file(&path.display().to_string())?;
        let pw = a.password.resolve(false)?;
        let regs = super::keys::keystore_registrations(&ks, pw.as_deref().map(String::as_str))?;
        if regs.is_empty() {
            bail!("{} has no validator with both an attester and a BLS key (encrypted keys need --password / --password-file)", path.display());
        }
        return Ok(regs);
    }
    let attester = a
        .attester
        .ok_or_else(|| anyhow!("--attester is required"))?;
    let sk_hex = a
        .bls_secret_key
        .as_deref()
        .ok_or_else(|| anyhow!("--bls-secret-key (or --from-keystore) is required"))?;
    let t = sk_hex.trim();
    let bytes = hex::decode(t.strip_prefix("0x").unwrap_or(t))
        .ok()
        .filter(|b| b.len() <= 32 && !b.is_empty())
        .ok_or_else(|| anyhow!("--bls-secret-key is not hex of at most 32 bytes"))?;
    let mut w = [0u8; 32];
    w[32 - bytes.len()..].copy_from_slice(&bytes);
    let sk = BlsSecretKey::from_word(&w).map_err(|_| {
        anyhow!(
            "--bls-secret-key is not a valid BN254 secret key (zero or not below the group order)"
        )
    })?;
    Ok(vec![Registration::new(
        attester.to_checksum(None),
        &sk.proof_of_possession(),
    )])
}

/// `add-l1-validator`.
pub fn add_l1_validator(a: AddL1ValidatorArgs) -> Result<()> {
    let regs = registrations(&a)?;
    for r in &regs {
        if a.force {
            continue;
        }
        if let Err(e) = cairn_crypto::bls::verify_pop(&r.pk1, &r.pk2, &r.pop) {
            bail!("attester {}: {e}; the GSE would reject the deposit and refund the stake (use --force to send anyway)", r.attester);
        }
        let gas = PopGasEstimate::for_key(&r.pk1);
        if gas.exceeds(POP_GAS_CAP) {
            bail!(
                "attester {}: verifying this key's proof of possession needs about {} gas, above the GSE's cap of {POP_GAS_CAP}: the deposit would fail in the entry queue (FailedDeposit). Use another key (or --force)",
                r.attester,
                gas.gas
            );
        }
    }
    let net = a.net.resolve(false)?;
    let signer = a.signer.signer(&net)?;
    let l1 = &net.l1;
    let rollup = net.rollup;
    let withdrawer = a.withdrawer.unwrap_or(signer.address());
    let threshold = l1.call(rollup, &IRollup::getActivationThresholdCall {})?;
    let asset = l1.call(rollup, &IRollup::getStakingAssetCall {})?;
    let mut attesters = Vec::new();
    for r in &regs {
        let attester = parse_addr(&r.attester).map_err(|e| anyhow!(e))?;
        let status = l1.call(
            rollup,
            &IRollup::getStatusCall {
                _attester: attester,
            },
        )?;
        if status != 0 {
            bail!("attester {attester} already has status {} on rollup {rollup}; an attester address can be deposited only once", status_name(status));
        }
        attesters.push(attester);
    }
    let total = threshold * U256::from(regs.len());
    let approve = ensure_allowance(l1, &signer, asset, rollup, total)?;
    let mut deposits = Vec::new();
    let mut first_block = u64::MAX;
    for (r, attester) in regs.iter().zip(&attesters) {
        let call = IRollup::depositCall {
            _attester: *attester,
            _withdrawer: withdrawer,
            _publicKeyInG1: g1(&r.pk1),
            _publicKeyInG2: g2(&r.pk2),
            _proofOfPossession: g1(&r.pop),
            _moveWithLatestRollup: a.move_with_latest_rollup,
        };
        let rc = l1.send_call(&signer, &format!("deposit for {attester}"), rollup, &call)?;
        first_block = first_block.min(rc.block_number);
        if !a.out.json {
            eprintln!(
                "queued {attester} (deposit tx {:#x}, {} staked)",
                rc.hash,
                units(threshold, 18)
            );
        }
        deposits.push((*attester, rc.hash));
    }
    let mut results: Vec<Value> = Vec::new();
    let mut failed = 0;
    if a.wait {
        let outcome = wait_for(
            l1,
            &signer,
            rollup,
            &attesters,
            first_block,
            a.wait_timeout,
            !a.no_flush,
        )?;
        let mut outcome = outcome;
        for ((_, state), r) in outcome.iter_mut().zip(&regs) {
            // Name the likely cause from the tuple itself.
            if state.starts_with("FAILED_DEPOSIT") {
                if let Err(e) = cairn_crypto::bls::verify_pop(&r.pk1, &r.pk2, &r.pop) {
                    state.push_str(&format!("; locally: {e}"));
                }
            }
        }
        for (attester, state) in &outcome {
            if state != "VALIDATING" {
                failed += 1;
            }
            if !a.out.json {
                match state.as_str() {
                    "VALIDATING" => println!("{attester} VALIDATING"),
                    other => println!("{attester} {other}"),
                }
            }
        }
        for ((attester, tx), (_, state)) in deposits.iter().zip(&outcome) {
            results.push(json!({"attester": attester.to_checksum(None), "depositTx": format!("{tx:#x}"), "status": state}));
        }
    } else {
        for (attester, tx) in &deposits {
            if !a.out.json {
                println!("{attester} QUEUED");
            }
            results.push(json!({"attester": attester.to_checksum(None), "depositTx": format!("{tx:#x}"), "status": "QUEUED"}));
        }
    }
    if a.out.json {
        print_json(&json!({
            "rollup": rollup.to_checksum(None),
            "withdrawer": withdrawer.to_checksum(None),
            "stake": threshold.to_string(),
            "approveTx": approve.map(|h| format!("{h:#x}")),
            "validators": results,
        }));
    }
    if failed > 0 {
        bail!(
            "{failed} of {} deposit(s) did not become VALIDATING",
            deposits.len()
        );
    }
    Ok(())
}

/// Follows the entry queue until every attester is VALIDATING or has a FailedDeposit; returns
/// one state per attester (`VALIDATING`, or `FAILED_DEPOSIT: …`).
fn wait_for(
    l1: &L1,
    signer: &PrivateKeySigner,
    rollup: Address,
    attesters: &[Address],
    from_block: u64,
    timeout: u64,
    do_flush: bool,
) -> Result<Vec<(Address, String)>> {
    let start = Instant::now();
    let threshold = l1.call(rollup, &IRollup::getActivationThresholdCall {})?;
    loop {
        let mut states: Vec<(Address, Option<String>)> = Vec::new();
        for a in attesters {
            let status = l1.call(rollup, &IRollup::getStatusCall { _attester: *a })?;
            if status == 1 {
                states.push((*a, Some("VALIDATING".into())));
                continue;
            }
            let topic = B256::left_padding_from(a.as_slice());
            let failed = l1.logs(
                rollup,
                <IRollup::FailedDeposit as alloy_sol_types::SolEvent>::SIGNATURE_HASH,
                Some(topic),
                from_block,
                None,
                50_000,
            )?;
            if let Some(log) = failed.first() {
                let e = log.decode::<IRollup::FailedDeposit>();
                let withdrawer = e.map(|e| e.withdrawer).unwrap_or_default();
                states.push((
                    *a,
                    Some(format!(
                        "FAILED_DEPOSIT: the GSE rejected the deposit in tx {:#x} (invalid proof of possession, key already used, or not the latest rollup); {} refunded to withdrawer {withdrawer}",
                        log.tx_hash,
                        units(threshold, 18)
                    )),
                ));
                continue;
            }
            states.push((*a, None));
        }
        if states.iter().all(|(_, s)| s.is_some()) {
            return Ok(states
                .into_iter()
                .map(|(a, s)| (a, s.unwrap_or_default()))
                .collect());
        }
        if start.elapsed() > Duration::from_secs(timeout) {
            let pending: Vec<String> = states
                .iter()
                .filter(|(_, s)| s.is_none())
                .map(|(a, _)| a.to_string())
                .collect();
            bail!(
                "still in the entry queue after {timeout} s: {}. The queue admits a limited number per epoch; check `cairn rollup info` and run `cairn flush-entry-queue` later",
                pending.join(", ")
            );
        }
        if do_flush {
            flush(l1, signer, rollup, None)?;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `flush-entry-queue`.
pub fn flush_cmd(a: FlushArgs) -> Result<()> {
    let net = a.net.resolve(false)?;
    let signer = a.signer.signer(&net)?;
    let l1 = &net.l1;
    let queued = l1.call(net.rollup, &IRollup::getEntryQueueLengthCall {})?;
    let available = l1.call(net.rollup, &IRollup::getAvailableValidatorFlushesCall {})?;
    if queued.is_zero() || available.is_zero() {
        let why = if queued.is_zero() {
            "the entry queue is empty".to_string()
        } else {
            let next = l1.call(net.rollup, &IRollup::getNextFlushableEpochCall {})?;
            format!("{queued} queued but no flushes are available this epoch (next flushable epoch {next})")
        };
        if a.out.json {
            print_json(&json!({"flushed": 0, "queued": queued.to_string(), "reason": why}));
        } else {
            println!("nothing to flush: {why}");
        }
        return Ok(());
    }
    let report = flush(l1, &signer, net.rollup, a.count)?;
    if a.out.json {
        print_json(&json!({
            "flushed": report.deposited.len() + report.failed.len(),
            "deposited": report.deposited.iter().map(|a| a.to_checksum(None)).collect::<Vec<_>>(),
            "failed": report.failed.iter().map(|(a, w)| json!({"attester": a.to_checksum(None), "refundedTo": w.to_checksum(None)})).collect::<Vec<_>>(),
            "txs": report.txs.iter().map(|h| format!("{h:#x}")).collect::<Vec<_>>(),
        }));
    } else {
        for a in &report.deposited {
            println!("{a} VALIDATING");
        }
        for (a, w) in &report.failed {
            println!("{a} FAILED_DEPOSIT (stake refunded to {w})");
        }
        println!(
            "flushed {} entr{} in {} transaction(s)",
            report.deposited.len() + report.failed.len(),
            if report.deposited.len() + report.failed.len() == 1 {
                "y"
            } else {
                "ies"
            },
            report.txs.len()
        );
    }
    Ok(())
}

fn opt<T, F: FnOnce() -> std::result::Result<T, L1Error>>(f: F) -> std::result::Result<T, String> {
    f().map_err(|e| e.to_string())
}

/// `rollup info`.
pub fn rollup_info(net: NetArgs, out: OutArgs) -> Result<()> {
    let net = net.resolve(false)?;
    let l1 = &net.l1;
    let r = net.rollup;
    let u = |v: U256| v.to_string();
    let gse = l1.call(r, &IRollup::getGSECall {})?;
    let asset = l1.call(r, &IRollup::getStakingAssetCall {})?;
    let fee = l1.call(r, &IRollup::getFeeAssetCall {})?;
    let symbol = l1
        .call(asset, &IERC20::symbolCall {})
        .unwrap_or_else(|_| "?".into());
    let activation = l1.call(r, &IRollup::getActivationThresholdCall {})?;
    let ejection = l1.call(r, &IRollup::getEjectionThresholdCall {})?;
    let local = l1.call(r, &IRollup::getLocalEjectionThresholdCall {})?;
    let exit_delay = l1.call(r, &IRollup::getExitDelayCall {})?;
    let version = l1.call(r, &IRollup::getVersionCall {})?;
    let queue = l1.call(r, &IRollup::getEntryQueueLengthCall {})?;
    let flush_size = l1.call(r, &IRollup::getEntryQueueFlushSizeCall {})?;
    let available = l1.call(r, &IRollup::getAvailableValidatorFlushesCall {})?;
    let active = l1.call(r, &IRollup::getActiveAttesterCountCall {})?;
    let bootstrapped = l1.call(r, &IRollup::getIsBootstrappedCall {})?;
    let epoch = l1.call(r, &IRollup::getCurrentEpochCall {})?;
    let slot = l1.call(r, &IRollup::getCurrentSlotCall {})?;
    let slot_s = l1.call(r, &IRollup::getSlotDurationCall {})?;
    let epoch_slots = l1.call(r, &IRollup::getEpochDurationCall {})?;
    let committee_size = l1.call(r, &IRollup::getTargetCommitteeSizeCall {})?;
    let pending = l1.call(r, &IRollup::getPendingCheckpointNumberCall {})?;
    let proven = l1.call(r, &IRollup::getProvenCheckpointNumberCall {})?;
    let committee = opt(|| l1.call(r, &IRollup::getCurrentEpochCommitteeCall {}));
    let canonical = net
        .registry
        .map(|reg| opt(|| l1.call(reg, &IRegistry::getCanonicalRollupCall {})));
    let versions = net
        .registry
        .map(|reg| opt(|| l1.call(reg, &IRegistry::numberOfVersionsCall {})));
    if out.json {
        print_json(&json!({
            "network": net.name,
            "chainId": l1.chain_id(),
            "registry": net.registry.map(|a| a.to_checksum(None)),
            "canonicalRollup": canonical.as_ref().map(|c| c.as_ref().map(|a| a.to_checksum(None)).unwrap_or_else(|e| e.clone())),
            "registryVersions": versions.as_ref().and_then(|v| v.as_ref().ok()).map(|v| v.to_string()),
            "rollup": r.to_checksum(None),
            "rollupVersion": u(version),
            "gse": gse.to_checksum(None),
            "stakingAsset": asset.to_checksum(None),
            "stakingAssetSymbol": symbol,
            "feeAsset": fee.to_checksum(None),
            "activationThreshold": u(activation),
            "ejectionThreshold": u(ejection),
            "localEjectionThreshold": u(local),
            "exitDelaySeconds": u(exit_delay),
            "entryQueueLength": u(queue),
            "entryQueueFlushSize": u(flush_size),
            "availableValidatorFlushes": u(available),
            "activeAttesters": u(active),
            "bootstrapped": bootstrapped,
            "currentEpoch": u(epoch),
            "currentSlot": u(slot),
            "slotDurationSeconds": u(slot_s),
            "epochDurationSlots": u(epoch_slots),
            "targetCommitteeSize": u(committee_size),
            "pendingCheckpoint": u(pending),
            "provenCheckpoint": u(proven),
            "committee": match &committee { Ok(c) => json!(c.iter().map(|a| a.to_checksum(None)).collect::<Vec<_>>()), Err(e) => json!({"error": e}) },
            "stakingRegistry": net.staking_registry.map(|a| a.to_checksum(None)),
        }));
        return Ok(());
    }
    println!("network             {} (chain {})", net.name, l1.chain_id());
    if let Some(reg) = net.registry {
        println!("registry            {reg}");
    }
    if let Some(c) = &canonical {
        match c {
            Ok(a) => println!(
                "canonical rollup    {a}{}",
                if *a == r {
                    ""
                } else {
                    "  (not the rollup used here)"
                }
            ),
            Err(e) => println!("canonical rollup    unavailable: {e}"),
        }
    }
    println!("rollup              {r} (version {version})");
    println!("GSE                 {gse}");
    println!("staking asset       {asset} ({symbol})");
    println!("fee asset           {fee}");
    println!("activation          {} {symbol}", units(activation, 18));
    println!(
        "ejection            {} {symbol} (local {})",
        units(ejection, 18),
        units(local, 18)
    );
    println!("exit delay          {exit_delay} s");
    println!("entry queue         {queue} queued, {available} flushable now (flush size {flush_size}), bootstrapped {bootstrapped}");
    println!("active attesters    {active}");
    println!("epoch / slot        {epoch} / {slot} ({epoch_slots} slots of {slot_s} s)");
    println!("checkpoints         pending {pending}, proven {proven}");
    match committee {
        Ok(c) if c.is_empty() => {
            println!("committee           (empty; target size {committee_size})")
        }
        Ok(c) => {
            println!(
                "committee           {} member(s), target {committee_size}:",
                c.len()
            );
            for m in c {
                println!("  {m}");
            }
        }
        Err(e) => println!("committee           unavailable: {e}"),
    }
    if let Some(sr) = net.staking_registry {
        println!("staking registry    {sr}");
    }
    Ok(())
}

/// Whether `attester` has exited or is exiting on `rollup`, and what that means for its keys:
/// `None` while it is staked, queued or was never deposited. An attester the GSE has a key
/// for but no stake left has exited for good: the GSE never clears a registered key, so that
/// address and its BLS key can never be deposited again.
pub fn exit_note(l1: &L1, rollup: Address, attester: Address) -> Result<Option<String>, L1Error> {
    let v = l1.call(
        rollup,
        &IRollup::getAttesterViewCall {
            _attester: attester,
        },
    )?;
    let registered = !(v.config.publicKey.x.is_zero() && v.config.publicKey.y.is_zero());
    Ok(match status_name(v.status) {
        "EXITING" => Some(format!(
            "exiting (exitable at {}): it no longer attests, and this address and its BLS key can never be deposited again",
            v.exit.exitableAt
        )),
        "ZOMBIE" => Some(
            "ejected (slashed below the local ejection threshold): its withdrawer must run `cairn withdraw initiate`; this address and its BLS key can never be deposited again".to_string(),
        ),
        "NONE" if registered => Some(
            "exited: this address and its BLS key can never be deposited again (make new keys)".to_string(),
        ),
        _ => None,
    })
}

/// `attester status`.
pub fn attester_status(net: NetArgs, attesters: Vec<Address>, out: OutArgs) -> Result<()> {
    let net = net.resolve(false)?;
    let mut rows = Vec::new();
    for a in attesters {
        let v = net
            .l1
            .call(net.rollup, &IRollup::getAttesterViewCall { _attester: a })
            .with_context(|| format!("reading attester {a}"))?;
        let key = if v.config.publicKey.x.is_zero() && v.config.publicKey.y.is_zero() {
            Value::Null
        } else {
            json!({"x": format!("{:#066x}", v.config.publicKey.x), "y": format!("{:#066x}", v.config.publicKey.y)})
        };
        rows.push(json!({
            "attester": a.to_checksum(None),
            "status": status_name(v.status),
            "effectiveBalance": v.effectiveBalance.to_string(),
            "withdrawer": if v.config.withdrawer == Address::ZERO { Value::Null } else { json!(v.config.withdrawer.to_checksum(None)) },
            "publicKeyG1": key,
            "exit": if v.exit.exists { json!({
                "withdrawalId": v.exit.withdrawalId.to_string(),
                "amount": v.exit.amount.to_string(),
                "exitableAt": v.exit.exitableAt.to_string(),
                "recipientOrWithdrawer": v.exit.recipientOrWithdrawer.to_checksum(None),
                "isRecipient": v.exit.isRecipient,
            }) } else { Value::Null },
        }));
    }
    if out.json {
        print_json(&json!(rows));
        return Ok(());
    }
    for r in rows {
        println!(
            "{}  {}  balance {}  withdrawer {}{}",
            r["attester"].as_str().unwrap_or_default(),
            r["status"].as_str().unwrap_or_default(),
            units(
                r["effectiveBalance"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_default(),
                18
            ),
            r["withdrawer"].as_str().unwrap_or("-"),
            if r["exit"].is_null() {
                String::new()
            } else {
                format!(
                    "  exit: {} exitable at {}",
                    r["exit"]["amount"], r["exit"]["exitableAt"]
                )
            }
        );
    }
    Ok(())
}
