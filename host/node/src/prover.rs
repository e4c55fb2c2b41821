//! The devnet epoch prover: proves the longest provable prefix of the oldest unproven epoch
//! (the devnet's verifier accepts any proof bytes; every public input is real and checked by
//! the Rollup). Reads a chain snapshot; writes nothing but its L1 transaction.

use std::sync::atomic::Ordering;

use alloy_primitives::{Bytes, B256, U256};
use alloy_sol_types::{SolCall, SolValue};
use cairn_consensus::abi::{self as cabi, IRollupConsensus as R};
use cairn_consensus::{blob, constants};
use cairn_l1::blob::BlobBundle;

use crate::chain::encode_checkpoint_body;
use crate::error::NodeError;
use crate::node::Node;

impl Node {
    /// Proves the longest provable prefix of the oldest unproven epoch (mock verifier: the
    /// proof bytes are empty; every public input is real and checked by the Rollup).
    pub fn prove_once(&self) -> Result<(), NodeError> {
        let Some(prover) = self.config().prover else {
            return Ok(());
        };
        let rollup = self.rollup();
        let tips = self.l1.call(rollup, &R::getTipsCall {})?;
        let tip = |v: U256, which: &str| -> Result<u64, NodeError> {
            v.try_into().map_err(|_| {
                NodeError::Invalid(format!("the Rollup's {which} tip {v} is out of range"))
            })
        };
        let pending = tip(tips.pending, "pending")?;
        let proven = tip(tips.proven, "proven")?;
        if pending <= proven {
            return Ok(());
        }
        let chain = self.chain.snapshot();
        // Only checkpointed blocks carry the attestations L1 took: proposed ones (a checkpoint
        // L1 has just taken, not yet marked) wait for the next pass.
        let held = chain
            .block(chain.checkpointed_tip())
            .map_or(0, |b| b.checkpoint);
        if held < pending {
            return Ok(()); // the archiver has not caught up
        }
        // Checkpoint numbers from here on; a checkpoint's blocks share its slot.
        let epoch_of = |c: u64| -> u64 {
            chain
                .last_block_of(c)
                .and_then(|n| chain.block(n))
                .map(|b| self.timing.epoch_of_slot(b.header.slot))
                .unwrap_or(0)
        };
        let e = epoch_of(proven + 1);
        let mut start = proven + 1;
        while start > 1 && epoch_of(start - 1) == e {
            start -= 1;
        }
        let mut end = proven + 1;
        while end < pending && epoch_of(end + 1) == e {
            end += 1;
        }
        let held = |c: u64| {
            let blocks = chain.checkpoint_blocks(c);
            if blocks.is_empty() {
                Err(NodeError::Invalid(format!("checkpoint {c} is not held")))
            } else {
                Ok(blocks)
            }
        };
        let last = held(end)?;
        let stored = self.l1.call(
            rollup,
            &R::getCheckpointCall {
                _checkpointNumber: U256::from(end),
            },
        )?;
        let att = <cabi::CommitteeAttestations as SolValue>::abi_decode(&last[0].attestations)
            .map_err(|e| format!("stored attestations of checkpoint {end} do not decode: {e}"))?;
        // (coinbase, fee) per checkpoint: the Rollup pays each fee out of the fee juice portal,
        // burns the congestion part and splits the rest between prover and coinbase.
        let mut fees = vec![B256::ZERO; constants::PROOF_FEES_ENTRIES];
        for c in start..=end {
            let blocks = held(c)?;
            let k = 2 * (c - start) as usize;
            if k + 1 < fees.len() {
                let mut w = [0u8; 32];
                w[12..].copy_from_slice(&blocks[0].header.coinbase);
                fees[k] = B256::from(w);
                fees[k + 1] =
                    B256::from(U256::from(checkpoint_fee(blocks.iter().map(|b| &b.header))));
            }
        }
        let body = encode_checkpoint_body(last.iter().map(|b| (&b.header, b.txs.as_slice())));
        let bundle = BlobBundle::new(
            blob::encode_blobs(&body).map_err(|e| NodeError::Invalid(e.to_string()))?,
        )?;
        let archive = |c: u64| {
            chain
                .checkpoint_archive(c)
                .ok_or_else(|| NodeError::Invalid(format!("checkpoint {c} is not held")))
        };
        let call = R::submitEpochRootProofCall {
            _args: cabi::SubmitEpochRootProofArgs {
                start: U256::from(start),
                end: U256::from(end),
                args: cabi::PublicInputArgs {
                    previousArchive: archive(start - 1)?,
                    endArchive: archive(end)?,
                    outHash: stored.outHash,
                    proverId: prover.address(),
                },
                fees,
                attestations: att,
                blobInputs: Bytes::from(bundle.point_evaluation_input(0, [0u8; 32])?),
                proof: Bytes::new(),
            },
        };
        let r = self.l1.send(
            &prover,
            "submitEpochRootProof",
            cairn_l1::TxRequest {
                to: Some(rollup),
                data: call.abi_encode(),
                value: U256::ZERO,
                gas: Some(3_000_000),
            },
        )?;
        self.metrics.proofs.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            start,
            end,
            epoch = e,
            gas = r.gas_used,
            "epoch proof accepted"
        );
        Ok(())
    }
}

/// A checkpoint's fee as the epoch proof reports it: every tx pays its gas used at its block's
/// fee per mana (`docs/protocol.md` §7), summed over the checkpoint's blocks.
pub(crate) fn checkpoint_fee<'a>(
    headers: impl IntoIterator<Item = &'a cairn_protocol::stages::BlockHeader>,
) -> u128 {
    headers.into_iter().fold(0u128, |sum, h| {
        sum.saturating_add(u128::from(h.gas_used).saturating_mul(h.fee_per_mana))
    })
}
