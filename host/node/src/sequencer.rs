//! The sequencer: the slot timer's duty. When a local attester proposes in the current slot it
//! builds a block from the pool through the pipeline (on a snapshot, off the reactor),
//! re-executes it, records its duties in the slashing guard, gossips the proposal, collects
//! attestations until quorum or the slot's deadline, publishes the checkpoint to the Rollup as
//! a blob transaction and hands the block to the chain service.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, Bytes, B256, I256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolValue};
use cairn_consensus::abi::{self as cabi, IRollupConsensus as R};
use cairn_consensus::timetable::Timetable;
use cairn_consensus::{attest, blob, committee, constants, header::ProposedHeader};
use cairn_l1::blob::BlobBundle;
use cairn_l1::L1Error;
use cairn_protocol::stages::BlockHeader;
use cairn_protocol::tx::Tx;
use serde_json::json;

use crate::chain::{block_headers_hash, encode_body, Block, Status};
use crate::config::{Attester, NodeConfig};
use crate::consensus::PUBLISH_RESERVE;
use crate::error::NodeError;
use crate::node::{context, seal, Node};
use crate::store::{Duty, DutyKind};

/// What the checkpoint needs of a block built for it (the block itself is in the chain).
struct Built {
    header: BlockHeader,
    body: Vec<u8>,
    /// How proposals name it.
    block_ref: cairn_wire::BlockRef,
    tx_count: usize,
    archive: B256,
}

impl Node {
    /// One pass of the slot loop: if a local attester proposes in the slot the next L1 block
    /// falls in, build, attest and publish.
    pub fn slot_once(&self) -> Result<(), NodeError> {
        let now = self.l1.latest_timestamp()?;
        let slot = self.timing.slot_at(now);
        if slot <= self.last_slot.load(Ordering::Relaxed) {
            return Ok(());
        }
        let slot_start = self.timing.slot_start(slot).unwrap_or(now);
        // Too late in the slot to land a transaction inside it.
        if now + 2 >= slot_start + self.timing.slot_duration() {
            return Ok(());
        }
        self.last_slot.store(slot, Ordering::Relaxed);
        let epoch = self.timing.epoch_of_slot(slot);
        let cfg = self.config();
        let committee = match self.committee(epoch) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(epoch, error = %e, "no committee yet");
                return Ok(());
            }
        };
        let proposer = if committee.is_empty() {
            cfg.attesters.first().map(|a| a.signer.address())
        } else {
            self.slot_proposer(slot)?.1
        };
        let Some(proposer) = proposer else {
            return Ok(());
        };
        let Some(me) = cfg
            .attesters
            .iter()
            .find(|a| a.signer.address() == proposer)
            .cloned()
        else {
            return Ok(());
        };
        // Synced: our tip is L1's effective pending tip.
        self.catch_up()?;
        if self.store.signed_slot(slot)? {
            tracing::warn!(
                slot,
                "already signed a proposal for this slot (restart?); not proposing again"
            );
            return Ok(());
        }
        if self.consensus.equivocated(slot) {
            tracing::error!(
                slot,
                proposer = %proposer,
                "two different proposals signed with this node's proposer key for this slot were seen on the network: the key may be compromised; not proposing"
            );
            self.metrics.missed.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        match self.propose(slot, epoch, &committee, &me, &cfg) {
            Ok(None) => Ok(()),
            Ok(Some(n)) => {
                self.metrics.proposed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(slot, checkpoint = n, "proposed");
                Ok(())
            }
            Err(e) => {
                self.metrics.missed.fetch_add(1, Ordering::Relaxed);
                Err(NodeError::Duty(format!("slot {slot}: {e}")))
            }
        }
    }

    /// Builds the slot's checkpoint (its blocks join the chain as proposed as they are built),
    /// attests and publishes it; if it is not published, its proposed blocks are rolled back
    /// and their txs return to the pool.
    fn propose(
        &self,
        slot: u64,
        epoch: u64,
        committee: &[Address],
        me: &Attester,
        cfg: &NodeConfig,
    ) -> Result<Option<u64>, NodeError> {
        let result = self.propose_checkpoint(slot, epoch, committee, me, cfg);
        let reason = match &result {
            Ok(Some(_)) => return result,
            Ok(None) => "another node of this HA pair has the slot".to_string(),
            Err(e) => format!("its checkpoint was not published: {e}"),
        };
        let chain = self.chain.snapshot();
        if let Some(first) = chain.proposed().first().filter(|b| b.header.slot == slot) {
            let to = first.header.block_number - 1;
            drop(chain);
            match self.chain.roll_back(to, &reason) {
                Ok(n) => {
                    self.metrics
                        .proposed_rolled_back
                        .fetch_add(n as u64, Ordering::Relaxed);
                    tracing::warn!(slot, blocks = n, reason = %reason, "proposed blocks rolled back; their txs are back in the pool");
                }
                Err(e) => {
                    tracing::error!(slot, error = %e, "rolling back the unpublished proposed blocks failed; the archiver retries once the slot is over");
                }
            }
        }
        result
    }

    fn propose_checkpoint(
        &self,
        slot: u64,
        epoch: u64,
        committee: &[Address],
        me: &Attester,
        cfg: &NodeConfig,
    ) -> Result<Option<u64>, NodeError> {
        let rollup = cfg.rollup;
        let t0 = Instant::now();
        let slot_start = self.timing.slot_start(slot).unwrap_or(0);
        // Views at `latest` must see a block inside the slot.
        let waited = Instant::now();
        let latest = loop {
            let ts = self.l1.latest_timestamp()?;
            if ts >= slot_start {
                break ts;
            }
            if waited.elapsed() > Duration::from_secs(self.timing.slot_duration()) {
                return Err(NodeError::Duty(
                    "L1 time is not advancing (no new L1 block for a whole slot)".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        // The slot's start on this machine's clock, from L1's (whole seconds, so up to a second
        // early: deadlines err on the safe side).
        let slot_t0 = Instant::now()
            .checked_sub(Duration::from_secs(latest - slot_start))
            .unwrap_or_else(Instant::now);
        let fee = self.current_min_fee()?;
        let mana_limit = self.mana_limit()?;
        // Only a snapshot of the state and the parent's archive are needed.
        let (mut parent, first, last_archive, n) = {
            let c = self.chain.snapshot();
            // The sync before the duty rolled back any older slot's unpublished blocks.
            if let Some(b) = c.proposed().first() {
                return Err(NodeError::Duty(format!(
                    "the chain still holds proposed blocks of checkpoint {} (slot {}); the archiver rolls them back once their slot is over",
                    b.checkpoint, b.header.slot
                )));
            }
            (
                c.state.clone(),
                c.tip() + 1,
                c.archive_at(c.tip()),
                c.checkpoint_tip() + 1,
            )
        };
        let coinbase: [u8; 20] = me.coinbase.0 .0;
        let timetable = Timetable::devnet(
            self.timing.slot_duration() * 1000,
            cfg.block_duration.map(|d| d.as_millis() as u64),
        );
        let at = |ms: u64| slot_t0 + Duration::from_millis(ms);
        // Past the last block's deadline (a late start, a slow sync) the checkpoint could not
        // be attested and published inside the slot any more.
        if cfg.block_duration.is_some()
            && Instant::now() > at(timetable.block_deadline_ms(timetable.blocks() - 1))
        {
            tracing::info!(
                slot,
                "too late in the slot for its blocks; proposing from the next one"
            );
            return Ok(None);
        }
        // The checkpoint's blocks, each on the one before, each in the chain as proposed once
        // built (its txs leave the pool; refused ones get their `dropped` receipts).
        let mut built: Vec<Built> = Vec::new();
        // A block proposal the test switch `gossip-blocks-out-of-order` holds back.
        let mut held_back: Option<Vec<u8>> = None;
        let mut parent_archive = last_archive;
        let (mut used_bytes, mut used_mana) = (0usize, 0u128);
        for i in 0..timetable.blocks() {
            let deadline = at(timetable.block_deadline_ms(i));
            if i > 0 {
                let start = at(timetable.block_start_ms(i));
                let now = Instant::now();
                if start > now {
                    std::thread::sleep(start - now);
                }
                if self.shutdown_token().is_cancelled() {
                    return Err(NodeError::Stopped);
                }
                if Instant::now() >= deadline {
                    tracing::warn!(
                        slot,
                        block = i,
                        "block deadline passed before it could start; closing the checkpoint"
                    );
                    break;
                }
            }
            let number = first + built.len() as u64;
            // Modules loaded through the admin API become active here, between blocks.
            self.block_boundary(number);
            let ctx = context(
                number,
                self.l1.chain_id(),
                cfg.rollup_version,
                fee,
                coinbase,
            );
            // The operator's cap and the build time this block has, then what the
            // checkpoint's blobs still carry: a block that does not fit could not be
            // published at all.
            let build_started = Instant::now();
            let budget = match cfg.block_duration {
                Some(_) => deadline.saturating_duration_since(build_started),
                None => Duration::from_secs(self.timing.slot_duration())
                    .mul_f64(crate::chain::BUILD_SHARE_OF_SLOT),
            };
            let limit = crate::chain::build_limit(cfg.max_txs_per_block, &self.build_cost, budget);
            let mut candidates = self.pool.candidates(limit)?;
            candidates.truncate(crate::chain::txs_fitting_blobs(used_bytes, &candidates));
            // Every checkpoint has a first block, even an empty one; later blocks need txs.
            if candidates.is_empty() && !built.is_empty() {
                continue;
            }
            let run = self.run_block(&parent, &ctx, &candidates)?;
            let dropped: Vec<([u8; 32], Vec<u8>)> = run
                .rejected
                .iter()
                .map(|(bytes, stage, r)| {
                    let hash = Tx::decode(bytes).map(|t| t.hash()).unwrap_or([0; 32]);
                    let receipt = json!({"status": "dropped", "stage": stage.name(), "code": r.code, "error": r.message});
                    (hash, serde_json::to_vec(&receipt).unwrap_or_default())
                })
                .collect();
            let (mut txs, mut effects, mut eff_bytes) = (run.txs, run.effects, run.effect_bytes);
            // The Rollup's mana limit covers the checkpoint: txs past it stay in the pool for
            // the next one (each tx's effects depend only on the ones before it, so cutting the
            // tail keeps the rest valid).
            let keep =
                crate::chain::txs_within_mana(&effects, mana_limit.saturating_sub(used_mana));
            if keep < txs.len() {
                tracing::info!(
                    kept = keep,
                    left = txs.len() - keep,
                    "checkpoint at the Rollup's mana limit"
                );
                txs.truncate(keep);
                effects.truncate(keep);
                eff_bytes.truncate(keep);
            }
            if txs.is_empty() && !built.is_empty() {
                continue;
            }
            let header0 = BlockHeader {
                chain_id: ctx.chain_id,
                rollup_version: ctx.rollup_version,
                block_number: number,
                slot,
                fee_per_mana: fee,
                coinbase,
                previous_archive: [0; 32],
                note_root: [0; 32],
                nullifier_root: [0; 32],
                public_data_root: [0; 32],
                effects_hash: [0; 32],
                tx_count: 0,
                gas_used: 0,
            };
            let (header, archive, post_state) = seal(&parent, header0.clone(), &effects);

            // Re-execution for the committee: the block again on the parent state, then the
            // attestation stage compares headers.
            let again = self.run_block(&parent, &ctx, &txs)?;
            // Sealing is a pure function of the parent state and the effects: the same effects
            // give the same header, so only different ones need sealing again (to be compared).
            let local = if again.effect_bytes == eff_bytes {
                header.clone()
            } else {
                seal(&parent, header0, &again.effects).0
            };
            // A module fault is counted and logged by the pipeline; the native twin gave the
            // verdict.
            let (verdict, _) = self.pipeline.attest(&header.encode(), &local);
            verdict.map_err(|e| format!("re-execution disagrees with the built block: {e}"))?;
            used_bytes +=
                crate::chain::BLOCK_BODY_OVERHEAD + txs.iter().map(|t| 4 + t.len()).sum::<usize>();
            used_mana += u128::from(header.gas_used);
            let block = Block {
                header,
                txs,
                effects: eff_bytes,
                archive,
                l1_tx: B256::ZERO,
                status: Status::Proposed,
                attestations: Vec::new(),
                checkpoint: n,
            };
            // The block's part of the checkpoint body (`encode_checkpoint_body` is these, in
            // order), kept before the block moves into the chain.
            let body = encode_body(&block.header, &block.txs);
            let block_ref =
                crate::chain::block_ref(&block.header, &block.txs).ok_or_else(|| {
                    NodeError::Duty(format!("block {number} holds a tx that does not decode"))
                })?;
            let (header, tx_count) = (block.header.clone(), block.txs.len());
            if !self
                .chain
                .append(block, post_state, parent_archive, dropped)?
            {
                return Err(NodeError::Duty(format!(
                    "the chain moved while block {number} of checkpoint {n} was built"
                )));
            }
            // The block is built once it is in the store: its commit grows with its txs as much
            // as its execution does, so the estimate that sizes the next block counts both.
            let took = build_started.elapsed();
            self.build_cost.record(tx_count, took);
            self.metrics
                .last_build_ms
                .store(took.as_millis() as u64, Ordering::Relaxed);
            tracing::info!(
                slot,
                checkpoint = n,
                block = number,
                txs = tx_count,
                build_ms = took.as_millis() as u64,
                "block proposed"
            );
            let now = Instant::now();
            if now > deadline {
                self.metrics
                    .block_deadline_misses
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    slot,
                    block = number,
                    txs = tx_count,
                    limit,
                    budget_ms = budget.as_millis() as u64,
                    build_ms = took.as_millis() as u64,
                    late_ms = (now - deadline).as_millis() as u64,
                    "block finished after its deadline"
                );
            }
            // Validators re-execute it now rather than at the end of the slot. As in Aztec's
            // protocol the timetable's last block travels only inside the checkpoint proposal
            // (so a checkpoint of one block has no block proposal). Signed through the guards
            // like every duty: with an HA pair, the node that signs the first has the slot.
            let network = self.network.get().filter(|_| i + 1 < timetable.blocks());
            if let Some(net) = network {
                let index = built.len() as u32;
                let mut gossiped = block_ref.clone();
                if fault_fails("gossip-bad-block") {
                    // A block whose header does not match its txs (test fault point).
                    let mut h = header.clone();
                    h.gas_used += 1;
                    gossiped.header = h.encode();
                }
                let mut proposal = cairn_wire::BlockProposal {
                    slot,
                    checkpoint: n,
                    index,
                    parent_archive,
                    archive,
                    block: gossiped,
                    signature: [0; attest::SIGNATURE_LEN],
                };
                let duty = Duty {
                    slot,
                    kind: DutyKind::BlockProposal,
                    block_index: index,
                    validator: me.signer.address().0 .0,
                };
                match self.sign_duty(duty, n, proposal.digest(), &me.signer) {
                    Ok(sig) => {
                        proposal.signature = sig;
                        if index == 0 && switch_on("gossip-blocks-out-of-order") {
                            held_back = Some(proposal.encode());
                        } else {
                            net.publish(cairn_wire::Topic::BlockProposal, proposal.encode());
                            if let Some(first) = held_back.take() {
                                tracing::warn!(slot, "test switch: block proposal 0 sent after 1");
                                net.publish(cairn_wire::Topic::BlockProposal, first);
                                fault_fails("gossip-blocks-out-of-order");
                            }
                        }
                    }
                    Err(skip) if skip.other_node_has_it() => {
                        tracing::info!(slot, checkpoint = n, reason = %skip, "standing by: another node of this HA pair has the slot");
                        return Ok(None);
                    }
                    Err(skip) => {
                        return Err(NodeError::Duty(format!(
                            "cannot sign block proposal {index}: {skip}"
                        )));
                    }
                }
            }
            parent_archive = archive;
            // The next block reads the state the chain service just committed.
            parent = self.chain.snapshot().state.clone();
            built.push(Built {
                header,
                body,
                block_ref,
                tx_count,
                archive,
            });
        }
        if let (Some(first), Some(net)) = (held_back.take(), self.network.get()) {
            // No second block came: the first goes out late rather than not at all.
            net.publish(cairn_wire::Topic::BlockProposal, first);
        }
        self.metrics
            .last_checkpoint_build_ms
            .store(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
        let Some(last) = built.last() else {
            return Err(NodeError::Duty(
                "no block was built for the checkpoint".into(),
            ));
        };
        let archive = last.archive;

        // The L1 header over every block.
        let body = built
            .iter()
            .map(|b| b.body.as_slice())
            .collect::<Vec<_>>()
            .concat();
        let blobs = blob::encode_blobs(&body).map_err(|e| NodeError::Invalid(e.to_string()))?;
        let bundle = BlobBundle::new(blobs)?;
        let in_hash = self.in_hash(n)?;
        let ph = ProposedHeader {
            last_archive_root: last_archive,
            block_headers_hash: block_headers_hash(built.iter().map(|b| &b.header)),
            blobs_hash: blob::blobs_hash(&bundle.versioned_hashes),
            in_hash,
            out_hash: constants::EMPTY_EPOCH_OUT_HASH,
            slot_number: slot,
            timestamp: slot_start,
            coinbase: me.coinbase,
            fee_recipient: me.fee_recipient,
            fee_per_da_gas: 0,
            fee_per_l2_gas: fee,
            total_mana_used: used_mana,
        };
        let payload = cairn_wire::SignedPayload {
            header: ph,
            archive,
            fee_asset_price_modifier: I256::ZERO,
        };
        let digest = payload.digest();
        // Every signature through the guards (local, then the HA table): the proposal first —
        // if another node of an HA pair has it, this node stops its slot — then an attestation
        // for every local committee member (the proposer's own included).
        let duty = |kind, who: Address| Duty {
            slot,
            kind,
            block_index: 0,
            validator: who.0 .0,
        };
        let me_addr = me.signer.address();
        let proposer_sig = match self.sign_duty(
            duty(DutyKind::CheckpointProposal, me_addr),
            n,
            digest,
            &me.signer,
        ) {
            Ok(s) => s,
            Err(skip) if skip.other_node_has_it() => {
                tracing::info!(slot, checkpoint = n, reason = %skip, "standing by: another node of this HA pair has the slot");
                return Ok(None);
            }
            Err(skip) => {
                return Err(NodeError::Duty(format!("cannot sign the proposal: {skip}")));
            }
        };
        let mut sigs: Vec<Option<attest::RawSignature>> = Vec::with_capacity(committee.len());
        for m in committee {
            let Some(a) = cfg.attesters.iter().find(|a| a.signer.address() == *m) else {
                sigs.push(None);
                continue;
            };
            sigs.push(
                match self.sign_duty(duty(DutyKind::Attestation, *m), n, digest, &a.signer) {
                    Ok(s) => {
                        tracing::info!(slot, checkpoint = n, attester = %m, "attested");
                        Some(s)
                    }
                    Err(skip) => {
                        tracing::warn!(slot, attester = %m, reason = %skip, "own attestation not signed");
                        None
                    }
                },
            );
        }
        fault_point("after-guard-record", slot, n, &digest);
        let needed = committee::attestation_threshold(committee.len());
        let local = sigs.iter().filter(|s| s.is_some()).count();
        self.metrics
            .att_required
            .store(needed as u64, Ordering::Relaxed);
        if local < needed {
            if let Some(net) = self.network.get() {
                let proposal = cairn_wire::CheckpointProposal {
                    payload,
                    checkpoint: n,
                    blocks: built.iter().map(|b| b.block_ref.clone()).collect(),
                    signature: proposer_sig,
                    blob_proofs: bundle
                        .commitments
                        .iter()
                        .copied()
                        .zip(bundle.proofs.iter().copied())
                        .collect(),
                };
                net.publish(cairn_wire::Topic::CheckpointProposal, proposal.encode());
                // Collect until quorum or the last moment that still lands inside the slot.
                let now = self.l1.latest_timestamp()?;
                let slot_end = slot_start + self.timing.slot_duration();
                let left = Duration::from_secs(slot_end.saturating_sub(now))
                    .saturating_sub(PUBLISH_RESERVE);
                tracing::info!(
                    slot,
                    checkpoint = n,
                    needed,
                    local,
                    "proposal gossiped; collecting attestations"
                );
                fault_point("in-attestation-round", slot, n, &digest);
                self.collect_attestations(
                    slot,
                    digest,
                    committee,
                    &mut sigs,
                    needed,
                    Instant::now() + left,
                );
                tracing::info!(
                    slot,
                    checkpoint = n,
                    txs = built.iter().map(|b| b.tx_count).sum::<usize>(),
                    collected = sigs.iter().filter(|s| s.is_some()).count(),
                    needed,
                    ms = self.metrics.attestation_round_ms.load(Ordering::Relaxed),
                    "attestation round over"
                );
            }
        }
        let collected = sigs.iter().filter(|s| s.is_some()).count();
        self.metrics
            .att_collected
            .store(collected as u64, Ordering::Relaxed);
        if let Ok(mut q) = self.health.quorum.lock() {
            *q = (collected < needed).then(|| {
                (
                    Instant::now(),
                    format!("slot {slot}: {collected} of {needed} attestations"),
                )
            });
        }
        if collected < needed {
            let net = if self.network.get().is_some() {
                format!("{} from the network by the deadline", collected - local)
            } else {
                "p2p is off (P2P_ENABLED), so only local attesters sign".to_string()
            };
            return Err(NodeError::Duty(format!(
                "only {collected} of {needed} attestations (this node holds {local} of the {} committee members; {net}); not publishing an under-attested checkpoint",
                committee.len()
            )));
        }
        let (att, signers) =
            attest::pack(committee, &sigs).map_err(|e| NodeError::Invalid(e.to_string()))?;
        let as_digest = attest::attestations_and_signers_digest(&att, &signers);
        let as_sig = self
            .sign_duty(
                duty(DutyKind::AttestationsAndSigners, me_addr),
                n,
                as_digest,
                &me.signer,
            )
            .map_err(|skip| {
                NodeError::Duty(format!(
                    "cannot sign the attestations for publishing: {skip}"
                ))
            })?;
        let call = R::proposeCall {
            _args: cabi::ProposeArgs {
                archive,
                oracleInput: cabi::OracleInput {
                    feeAssetPriceModifier: I256::ZERO,
                },
                header: ph.to_sol(),
            },
            _attestations: att.to_sol(),
            _signers: signers,
            _attestationsAndSignersSignature: attest::signature_to_sol(&as_sig),
            _blobInput: Bytes::from(
                blob::blob_input(&bundle.commitments)
                    .map_err(|e| NodeError::Invalid(e.to_string()))?,
            ),
        };
        let data = call.abi_encode();
        // A propose that is not mined within the slot is worth nothing: wait at most that long.
        let l1 = self
            .l1
            .clone()
            .with_receipt_timeout(Duration::from_secs(self.timing.slot_duration()));
        let mut receipt = None;
        let mut last_err = String::new();
        for publisher in self.publishers_by_preference(cfg)? {
            l1.dry_run_blob(
                "propose (dry run)",
                publisher.address(),
                rollup,
                &data,
                &bundle.versioned_hashes,
            )?;
            if fault_fails("publish-fails") {
                return Err(NodeError::Duty(
                    "publishing failed (test fault point publish-fails)".into(),
                ));
            }
            tracing::debug!(slot, checkpoint = n, publisher = %publisher.address(), "sending propose");
            match l1.send_blob_tx(
                &publisher,
                "propose",
                rollup,
                data.clone(),
                3_000_000,
                &bundle,
            ) {
                Ok(r) => {
                    receipt = Some(r);
                    break;
                }
                // Mined and reverted: another publisher would revert the same way.
                Err(e @ L1Error::TxFailed { .. }) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(publisher = %publisher.address(), error = %e, "publisher failed; rotating to the next one");
                    last_err = e.to_string();
                }
            }
        }
        let receipt = receipt.ok_or(last_err)?;
        fault_point("after-publish", slot, n, &digest);
        // The archiver may have marked them from L1 already; then this is a no-op.
        let count = built.len();
        self.chain
            .mark_checkpointed(n, receipt.hash, call._attestations.abi_encode())?;
        tracing::info!(
            slot,
            epoch,
            checkpoint = n,
            blocks = count,
            attestations = collected,
            gas = receipt.gas_used,
            "checkpoint proposed"
        );
        Ok(Some(n))
    }

    /// Publishers with enough balance, in configured order (the first is the preferred one).
    fn publishers_by_preference(
        &self,
        cfg: &NodeConfig,
    ) -> Result<Vec<PrivateKeySigner>, NodeError> {
        let mut last = String::from("no publisher key configured");
        let mut out = Vec::new();
        for (i, p) in cfg.publishers.iter().enumerate() {
            match self.l1.balance(p.address()) {
                Ok(b) => {
                    if i == 0 {
                        if let Ok(mut m) = self.metrics.publisher_balance.lock() {
                            *m = b;
                        }
                    }
                    if b >= cfg.min_publisher_balance {
                        out.push(p.clone());
                        continue;
                    }
                    tracing::warn!(publisher = %p.address(), balance = %b, "publisher balance low; trying the next one");
                    last = format!(
                        "publisher {} balance {b} wei is below the minimum; top it up",
                        p.address()
                    );
                }
                Err(e) => last = e.to_string(),
            }
        }
        if out.is_empty() {
            Err(last.into())
        } else {
            Ok(out)
        }
    }
}

/// The fixed points in a duty where a test can crash the node (feature `fault-injection`).
pub const FAULT_POINTS: [&str; 6] = [
    "after-ha-claim",
    "after-guard-record",
    "in-attestation-round",
    "after-publish",
    // The chain service, committing a block: its block and tree writes are in the open
    // database transaction, not yet committed; then committed but not yet published.
    "mid-block-commit",
    "after-block-commit",
];

/// Test points where the next duty that reaches them fails instead of parking (feature
/// `fault-injection`): `publish-fails` makes the next `propose` fail before it is sent;
/// `gossip-bad-block` makes the next gossiped block proposal carry a header its txs do not
/// give (signed, as a faulty or hostile proposer would).
pub const FAIL_POINTS: [&str; 2] = ["publish-fails", "gossip-bad-block"];

/// Test switches that stay on until `"none"` is armed (feature `fault-injection`):
/// `keep-txs-local` stops this node gossiping the txs its RPC accepts, so validators must
/// fetch them by hash when it proposes; `gossip-blocks-out-of-order` makes the proposer hold
/// its first block proposal back and send it after the second (then it disarms).
pub const SWITCHES: [&str; 2] = ["keep-txs-local", "gossip-blocks-out-of-order"];

#[cfg(feature = "fault-injection")]
static ARMED_FAULT: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Arms one of [`FAULT_POINTS`] (test builds only, through `nodeAdmin_armFaultPoint`): the
/// next duty that reaches it logs that it got there and parks its thread for good, so the test
/// can kill -9 the process exactly at that point. `"none"` disarms; `false` for an unknown
/// point.
#[cfg(feature = "fault-injection")]
pub fn arm_fault_point(point: &str) -> bool {
    let armed = match point {
        "none" => None,
        p if FAULT_POINTS.contains(&p) || FAIL_POINTS.contains(&p) || SWITCHES.contains(&p) => {
            Some(p.to_string())
        }
        _ => return false,
    };
    if let Ok(mut a) = ARMED_FAULT.lock() {
        *a = armed;
    }
    true
}

/// Without the `fault-injection` feature this is empty and compiles away.
pub(crate) fn fault_point(point: &str, slot: u64, checkpoint: u64, digest: &B256) {
    #[cfg(feature = "fault-injection")]
    if ARMED_FAULT
        .lock()
        .is_ok_and(|a| a.as_deref() == Some(point))
    {
        tracing::error!(point, slot, checkpoint, digest = %digest, "fault point reached; waiting to be killed");
        loop {
            std::thread::park();
        }
    }
    #[cfg(not(feature = "fault-injection"))]
    let _ = (point, slot, checkpoint, digest);
}

/// Whether the switch `point` (one of [`SWITCHES`]) is on. Without the `fault-injection`
/// feature always false.
pub(crate) fn switch_on(point: &str) -> bool {
    #[cfg(feature = "fault-injection")]
    if ARMED_FAULT
        .lock()
        .is_ok_and(|a| a.as_deref() == Some(point))
    {
        return true;
    }
    let _ = point;
    false
}

/// Whether the armed point is `point` (one of [`FAIL_POINTS`]); disarms it, so it fails once.
/// Without the `fault-injection` feature always false.
pub(crate) fn fault_fails(point: &str) -> bool {
    #[cfg(feature = "fault-injection")]
    if let Ok(mut a) = ARMED_FAULT.lock() {
        if a.as_deref() == Some(point) {
            *a = None;
            tracing::warn!(point, "test fault point: failing this duty");
            return true;
        }
    }
    let _ = point;
    false
}
