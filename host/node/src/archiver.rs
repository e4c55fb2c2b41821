//! The archiver: follows the Rollup on L1 (checkpoints, prunes, proofs), rebuilds each block
//! it did not build from the blobs, re-executes it on a snapshot and hands it to the chain
//! service; while its L1 sync is paused it follows peers instead (blocks by req/resp, each
//! checked against the archive root L1 holds). It also answers peers' req/resp requests.

use std::sync::atomic::Ordering;

use alloy_primitives::{B256, U256};
use alloy_sol_types::{SolCall, SolEvent, SolValue};
use cairn_consensus::abi::IRollupConsensus as R;
use cairn_consensus::blob;
use cairn_l1::blob::BlobBundle;
use cairn_protocol::stages::BlockHeader;
use cairn_protocol::tx::Tx;

use crate::chain::{decode_checkpoint_body, Block};
use crate::error::NodeError;
use crate::node::Node;

/// More blocks than any timetable puts in one checkpoint: a peer's run of blocks that has not
/// reached the checkpoint's archive by then is refused.
const MAX_BLOCKS_PER_CHECKPOINT: usize = 256;

/// A number the Rollup returned, as a `u64` (an out-of-range answer is an error, not 0).
fn l1_number(v: U256, what: &str) -> Result<u64, NodeError> {
    v.try_into()
        .map_err(|_| NodeError::Invalid(format!("the Rollup's {what} {v} is out of range")))
}

impl Node {
    /// One pass of the archiver task: from L1, or from peers while the L1 sync is paused;
    /// then tells the p2p service what this node now holds.
    pub(crate) fn archiver_pass(&self) {
        if !self.sync_paused.load(Ordering::Relaxed) {
            match self.sync_once() {
                Ok(()) => self.l1_ok(),
                Err(e) => self.l1_err(&e),
            }
        } else if let Err(e) = self.sync_from_peers() {
            tracing::warn!(error = %e, "catching up from peers failed");
        }
        if let Some(net) = self.network.get() {
            // What this node can serve that L1 holds: proposed blocks are not offered.
            let chain = self.chain.snapshot();
            let tip = chain.checkpointed_tip();
            net.set_status(tip, chain.archive_at(tip), chain.proven);
        }
    }

    /// One archiver pass: rolls back what L1 no longer has, appends what it has that we do
    /// not, and marks proven blocks.
    pub fn sync_once(&self) -> Result<(), NodeError> {
        let rollup = self.rollup();
        // Our tip before L1's: the sequencer marks a checkpoint checkpointed only after L1 has
        // mined it, so whatever we hold as checkpointed now is covered by the L1 reading
        // below. Read the other way round, a checkpoint marked in between would look like one
        // L1 had dropped and be rolled back.
        let chain = self.chain.snapshot();
        let proposed = chain.proposed();
        let mut local = match proposed.first() {
            Some(b) => b.checkpoint - 1,
            None => chain.checkpoint_tip(),
        };
        drop(chain);
        // L1's time before its tips: if that time is already past a proposed checkpoint's
        // slot, every L1 block of the slot is in the tips read after it.
        let now = self.l1.latest_timestamp()?;
        let tips = self.l1.call(rollup, &R::getTipsCall {})?;
        let pending = l1_number(tips.pending, "pending checkpoint")?;
        let proven = l1_number(tips.proven, "proven checkpoint")?;
        // After the proof window passes, L1 treats the unproven checkpoints as gone even
        // before anyone calls prune().
        let prunable = self.l1.call(
            rollup,
            &R::canPruneAtTimeCall {
                _ts: U256::from(now),
            },
        )?;
        let effective = if prunable { proven } else { pending };
        // The proposed blocks of the newest checkpoint: on L1 now, gone, or still in their
        // slot.
        if let (Some(first), Some(last)) = (proposed.first(), proposed.last()) {
            let c = first.checkpoint;
            let gone = if effective >= c {
                let on_l1 = self.l1.call(
                    rollup,
                    &R::archiveAtCall {
                        _checkpointNumber: U256::from(c),
                    },
                )?;
                if on_l1 == last.archive {
                    let (l1_tx, attestations) = self.checkpoint_event(c, on_l1)?;
                    let marked = self.chain.mark_checkpointed(c, l1_tx, attestations)?;
                    if marked > 0 {
                        tracing::info!(
                            checkpoint = c,
                            blocks = marked,
                            "proposed blocks checkpointed on L1"
                        );
                    }
                    local = c;
                    None
                } else {
                    Some(format!("L1 holds another checkpoint {c}"))
                }
            } else if self.timing.slot_at(now) > first.header.slot {
                Some(format!(
                    "checkpoint {c} did not reach L1 within its slot {}",
                    first.header.slot
                ))
            } else {
                None
            };
            if let Some(reason) = gone {
                let dropped = self
                    .chain
                    .roll_back(first.header.block_number - 1, &reason)?;
                self.metrics
                    .proposed_rolled_back
                    .fetch_add(dropped as u64, Ordering::Relaxed);
                tracing::warn!(
                    checkpoint = c,
                    blocks = dropped,
                    reason = %reason,
                    "proposed blocks rolled back; their txs are back in the pool"
                );
            }
        }
        // Reorg/prune: walk back while our archive differs from L1's.
        let mut keep = local.min(effective);
        let chain = self.chain.snapshot();
        while keep > 0 {
            let on_l1 = self.l1.call(
                rollup,
                &R::archiveAtCall {
                    _checkpointNumber: U256::from(keep),
                },
            )?;
            if Some(on_l1) == chain.checkpoint_archive(keep) {
                break;
            }
            keep -= 1;
        }
        if keep < local {
            let to = chain
                .last_block_of(keep)
                .ok_or_else(|| format!("checkpoint {keep} is not held"))?;
            drop(chain);
            let dropped = self
                .chain
                .roll_back(to, "L1 dropped its checkpoint (prune or reorg)")?;
            tracing::warn!(
                checkpoint = keep,
                block = to,
                dropped,
                "rolled back to L1; their txs are back in the pool"
            );
        } else {
            drop(chain);
        }
        for n in keep + 1..=effective {
            self.fetch_checkpoint(n)?;
        }
        self.metrics.proven.store(proven, Ordering::Relaxed);
        self.metrics
            .checkpointed
            .store(effective, Ordering::Relaxed);
        // Every block of the proven checkpoints this node holds; the rest are marked when
        // they arrive (next pass).
        let chain = self.chain.snapshot();
        let upto = chain.last_block_of(proven).unwrap_or(chain.tip());
        drop(chain);
        self.chain.mark_proven(upto)?;
        Ok(())
    }

    /// The `CheckpointProposed` event of checkpoint `n` whose archive is the one L1 holds now
    /// (numbers are reused after a prune), and its `propose` call.
    fn checkpoint_log(
        &self,
        n: u64,
        archive: B256,
    ) -> Result<(cairn_l1::Log, R::CheckpointProposed, R::proposeCall), NodeError> {
        let topic = B256::from(U256::from(n));
        let logs = self.l1.logs(
            self.rollup(),
            R::CheckpointProposed::SIGNATURE_HASH,
            Some(topic),
            0,
            None,
            100_000,
        )?;
        let (log, ev) = logs
            .into_iter()
            .rev()
            .filter_map(|l| l.decode::<R::CheckpointProposed>().map(|e| (l, e)))
            .find(|(_, e)| e.archive == archive)
            .ok_or_else(|| format!("no CheckpointProposed event for checkpoint {n}"))?;
        let (_, input) = self.l1.transaction_input(log.tx_hash)?;
        let call = R::proposeCall::abi_decode(&input)
            .map_err(|e| format!("checkpoint {n}: propose calldata does not decode: {e}"))?;
        Ok((log, ev, call))
    }

    /// Checkpoint `n`'s L1 transaction and the attestations posted with it.
    fn checkpoint_event(&self, n: u64, archive: B256) -> Result<(B256, Vec<u8>), NodeError> {
        let (log, _, call) = self.checkpoint_log(n, archive)?;
        Ok((log.tx_hash, call._attestations.abi_encode()))
    }

    /// Fetches checkpoint `n` from L1 (event, calldata, blobs), re-executes it and appends it.
    fn fetch_checkpoint(&self, n: u64) -> Result<(), NodeError> {
        let archive = self.l1.call(
            self.rollup(),
            &R::archiveAtCall {
                _checkpointNumber: U256::from(n),
            },
        )?;
        let (log, ev, call) = self.checkpoint_log(n, archive)?;
        let beacon_urls = self.config().beacon_urls;
        let blobs = if beacon_urls.is_empty() {
            self.l1.blobs_of_tx(log.tx_hash)?
        } else {
            let (_, ts) = self.l1.block_at(log.block_number)?;
            cairn_l1::beacon::Beacon::new(&beacon_urls)
                .blobs_at(ts, &ev.versionedBlobHashes)
                .map_err(|e| format!("checkpoint {n}: {e}"))?
        };
        if blobs.len() != ev.versionedBlobHashes.len() {
            return Err(format!(
                "checkpoint {n}: {} blobs for {} hashes",
                blobs.len(),
                ev.versionedBlobHashes.len()
            )
            .into());
        }
        for (b, h) in blobs.iter().zip(&ev.versionedBlobHashes) {
            BlobBundle::verify_blob(b, h).map_err(|e| format!("checkpoint {n}: {e}"))?;
        }
        let refs: Vec<&blob::Blob> = blobs.iter().map(|b| &**b).collect();
        let body = blob::decode_blobs(&refs).map_err(|e| format!("checkpoint {n}: {e}"))?;
        let blocks = decode_checkpoint_body(&body)
            .ok_or_else(|| format!("checkpoint {n}: blob body does not parse"))?;
        let count = blocks.len();
        if self.append_verified(
            n,
            blocks,
            archive,
            log.tx_hash,
            call._attestations.abi_encode(),
        )? {
            tracing::info!(checkpoint = n, blocks = count, "synced checkpoint from L1");
        }
        Ok(())
    }

    /// Re-executes checkpoint `n` (its blocks' headers and txs) on the tip's state and appends
    /// its blocks if they reproduce their headers and the last one L1's `archive`; false if the
    /// tip moved past it meanwhile.
    fn append_verified(
        &self,
        n: u64,
        blocks: Vec<(BlockHeader, Vec<Vec<u8>>)>,
        archive: B256,
        l1_tx: B256,
        attestations: Vec<u8>,
    ) -> Result<bool, NodeError> {
        let chain = self.chain.snapshot();
        if chain.checkpoint_tip() + 1 != n {
            return Ok(false); // the sequencer appended it meanwhile
        }
        let replayed = self.replay_checkpoint(&chain, n, blocks)?;
        drop(chain);
        if replayed.last().map(|r| r.block.archive) != Some(archive) {
            return Err(format!(
                "checkpoint {n}: re-execution does not reproduce the archive L1 holds"
            )
            .into());
        }
        let mut appended = false;
        for r in replayed {
            let mut block = r.block;
            block.l1_tx = l1_tx;
            block.attestations = attestations.clone();
            appended |= self.chain.append(block, r.state, r.parent, Vec::new())?;
        }
        Ok(appended)
    }

    /// Catches up with the checkpoints on L1: from L1 itself, or, while the L1 archiver is
    /// paused (`nodeAdmin_pauseSync`), from peers over req/resp.
    pub(crate) fn catch_up(&self) -> Result<(), NodeError> {
        if self.sync_paused.load(Ordering::Relaxed) && self.network.get().is_some() {
            self.sync_from_peers().map(|_| ())
        } else {
            self.sync_once()
        }
    }

    /// Fetches blocks after the tip from the best peer, re-executes each checkpoint and appends
    /// its blocks when the last reproduces the archive root L1 holds for that checkpoint (a
    /// peer cannot make this node accept anything L1 does not hold). Returns how many blocks
    /// were appended.
    pub fn sync_from_peers(&self) -> Result<usize, NodeError> {
        let Some(net) = self.network.get() else {
            return Ok(0);
        };
        let l1_tip = l1_number(
            self.l1.call(self.rollup(), &R::getTipsCall {})?.pending,
            "pending checkpoint",
        )?;
        let mut added = 0;
        // The blocks of the checkpoint being assembled (a response may end inside one).
        let mut pending: Vec<Block> = Vec::new();
        loop {
            let chain = self.chain.snapshot();
            if !chain.proposed().is_empty() {
                // Peers serve what L1 holds; this node's unpublished blocks go first (the
                // sequencer rolls them back when their checkpoint fails).
                return Ok(added);
            }
            let (tip, cp) = (chain.tip(), chain.checkpoint_tip());
            drop(chain);
            if cp >= l1_tip {
                return Ok(added);
            }
            let from = tip + 1 + pending.len() as u64;
            let blocks = net.fetch_blocks(from, cairn_wire::reqresp::MAX_BLOCKS_PER_REQUEST)?;
            if blocks.is_empty() {
                return Ok(added);
            }
            for (i, bytes) in blocks.iter().enumerate() {
                let n = from + i as u64;
                let b = Block::decode(bytes)
                    .ok_or_else(|| format!("block {n} from a peer does not decode"))?;
                if b.header.block_number != n {
                    return Err(
                        format!("a peer answered block {} for {n}", b.header.block_number).into(),
                    );
                }
                let c = cp + 1;
                if b.checkpoint != c {
                    return Err(format!(
                        "block {n} from a peer claims checkpoint {}, expected {c}",
                        b.checkpoint
                    )
                    .into());
                }
                let on_l1 = self.l1.call(
                    self.rollup(),
                    &R::archiveAtCall {
                        _checkpointNumber: U256::from(c),
                    },
                )?;
                let last = on_l1 == b.archive;
                pending.push(b);
                if !last {
                    if pending.len() > MAX_BLOCKS_PER_CHECKPOINT {
                        return Err(format!(
                            "peer blocks {}..={n} never reach the archive L1 holds for checkpoint {c}",
                            tip + 1
                        )
                        .into());
                    }
                    continue;
                }
                let group = std::mem::take(&mut pending);
                let count = group.len();
                let (l1_tx, attestations) = (group[0].l1_tx, group[0].attestations.clone());
                let blocks = group.into_iter().map(|b| (b.header, b.txs)).collect();
                if self.append_verified(c, blocks, on_l1, l1_tx, attestations)? {
                    added += count;
                    self.metrics
                        .blocks_from_peers
                        .fetch_add(count as u64, Ordering::Relaxed);
                    tracing::info!(
                        checkpoint = c,
                        blocks = count,
                        "synced checkpoint from a peer"
                    );
                }
                // The rest of this response follows the checkpoint just appended.
                break;
            }
        }
    }

    /// Answers a peer's request for blocks or txs.
    pub fn serve(&self, request: &cairn_wire::reqresp::Request) -> cairn_wire::reqresp::Response {
        use cairn_wire::reqresp::{Request, Response};
        match request {
            Request::BlocksByNumber { from, count } => {
                let chain = self.chain.snapshot();
                let blocks = (*from..from.saturating_add(u64::from(*count)))
                    .map_while(|n| {
                        // Only what L1 holds: a proposed block may still be rolled back.
                        chain
                            .block(n)
                            .filter(|b| b.status != crate::chain::Status::Proposed)
                            .map(|b| b.encode())
                    })
                    .collect();
                Response::Blocks(blocks)
            }
            Request::TxsByHash(hashes) => {
                // The pool first; a tx already in a proposed block has left it, and validators
                // re-executing that block's proposal are the ones asking.
                let mut txs: Vec<Option<Vec<u8>>> = hashes
                    .iter()
                    .map(|h| self.store.pool_get(h).ok().flatten())
                    .collect();
                if txs.iter().any(Option::is_none) {
                    let chain = self.chain.snapshot();
                    let proposed = chain.proposed();
                    let held: std::collections::BTreeMap<[u8; 32], &Vec<u8>> = proposed
                        .iter()
                        .flat_map(|b| b.txs.iter())
                        .filter_map(|t| Some((Tx::decode(t).ok()?.hash(), t)))
                        .collect();
                    for (slot, h) in txs.iter_mut().zip(hashes) {
                        if slot.is_none() {
                            *slot = held.get(h).map(|t| (*t).clone());
                        }
                    }
                }
                Response::Txs(txs.into_iter().flatten().collect())
            }
            Request::Status(_) => Response::Error("status is answered by the p2p service".into()),
        }
    }
}
