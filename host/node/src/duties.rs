//! The one way the node signs a duty. Three layers, in order, each able to say no:
//!
//! 1. the local slashing guard (the store's duty table, fsynced before anything is signed);
//! 2. with HA signing on (`VALIDATOR_HA_SIGNING_ENABLED`), the shared PostgreSQL table
//!    ([`cairn_ha`]): the first node of the pair to insert the duty's row signs it, the other
//!    skips it — even if the winner died holding it;
//! 3. the attester's signer (a local key or a remote signer).
//!
//! A signature leaves this module only once every layer has recorded it: with HA on, a
//! signature whose row could not be marked `signed` is thrown away, so every signature a node
//! of the pair ever used is in the table.

use std::time::Instant;

use alloy_primitives::{Address, B256};
use cairn_consensus::attest::RawSignature;
use cairn_ha::{Claim, DutyType, HaError};

use crate::node::Node;
use crate::signer::{AttesterSigner, SignError};
use crate::store::{Duty, DutyKind, Guard, StoreError};

/// Why a duty was not signed. Only [`Skip::Ha`] (the database) and [`Skip::Sign`] (the signer)
/// are faults of this node; the others are protection working as meant.
#[derive(Debug, thiserror::Error)]
pub enum Skip {
    /// This node already signed another payload for the duty.
    #[error("slashing protection: this node already signed another payload for this duty")]
    LocalConflict,
    /// The local guard could not be written, so nothing may be signed.
    #[error("slashing protection unavailable: {0}")]
    Store(#[from] StoreError),
    /// Another node of the HA pair signed this duty (the same payload).
    #[error("another node of the HA pair ({node_id}) signed this duty")]
    SignedElsewhere {
        /// The node that did.
        node_id: String,
    },
    /// Another node of the HA pair held the duty past the signing timeout (it may have died
    /// signing): the duty is skipped, never signed twice.
    #[error("another node of the HA pair ({node_id}) holds this duty; skipping it")]
    HeldElsewhere {
        /// The node that holds it.
        node_id: String,
    },
    /// The HA table refused or could not be reached (a conflict with another payload, the
    /// database down).
    #[error(transparent)]
    Ha(#[from] HaError),
    /// The signer failed (the duty was given back to the pair).
    #[error(transparent)]
    Sign(#[from] SignError),
}

impl Skip {
    /// Whether another node of the HA pair has this duty: a proposer stops its slot.
    pub fn other_node_has_it(&self) -> bool {
        matches!(
            self,
            Skip::SignedElsewhere { .. }
                | Skip::HeldElsewhere { .. }
                | Skip::Ha(HaError::Conflict { .. })
        )
    }
}

/// The table's duty type for a local duty kind.
fn duty_type(k: DutyKind) -> DutyType {
    match k {
        DutyKind::BlockProposal => DutyType::BlockProposal,
        DutyKind::CheckpointProposal => DutyType::CheckpointProposal,
        DutyKind::Attestation => DutyType::Attestation,
        DutyKind::AttestationsAndSigners => DutyType::AttestationsAndSigners,
    }
}

/// The layers a duty passes, borrowed from their owners (the node's, or a benchmark's).
pub struct DutyGuards<'a> {
    /// The local slashing guard.
    pub store: &'a crate::store::Store,
    /// The HA table, when HA signing is on.
    pub ha: Option<&'a cairn_ha::HaSigner>,
    /// Where signer and database failures are reported (`/status`).
    pub health: &'a crate::metrics::Health,
    /// The Rollup the duties are for.
    pub rollup: Address,
    /// Where the last claim's duration goes (`cairn_ha_claim_seconds`).
    pub claim_ms: Option<&'a std::sync::atomic::AtomicU64>,
}

impl DutyGuards<'_> {
    /// Signs `digest` for `duty` as `signer` through the local guard, the HA table (when on)
    /// and the signer. `checkpoint` is the checkpoint (and, one block per checkpoint, block)
    /// number the duty is about.
    pub fn sign(
        &self,
        duty: Duty,
        checkpoint: u64,
        digest: B256,
        signer: &AttesterSigner,
    ) -> Result<RawSignature, Skip> {
        match self.store.guard(&duty, &digest.0)? {
            Guard::Conflict => return Err(Skip::LocalConflict),
            Guard::Recorded | Guard::Same => {}
        }
        let Some(ha) = self.ha else {
            return self.sign_now(signer, &digest);
        };
        let t0 = Instant::now();
        let row = cairn_ha::Duty {
            rollup: self.rollup,
            validator: Address::from(duty.validator),
            slot: duty.slot,
            kind: duty_type(duty.kind),
            block_index: duty.block_index,
            block_number: checkpoint,
            checkpoint_number: checkpoint,
        };
        let claimed = ha.claim(&row, digest);
        if let Some(m) = self.claim_ms {
            m.store(
                t0.elapsed().as_millis() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        let lock = match claimed {
            Ok(Claim::Mine(lock)) => {
                self.health.ha_ok();
                lock
            }
            Ok(Claim::SignedElsewhere { node_id }) => {
                self.health.ha_ok();
                return Err(Skip::SignedElsewhere { node_id });
            }
            Ok(Claim::HeldElsewhere { node_id }) => {
                self.health.ha_ok();
                return Err(Skip::HeldElsewhere { node_id });
            }
            Err(e) => {
                if matches!(e, HaError::Unreachable { .. } | HaError::Query(_)) {
                    self.health.ha_failed(&e);
                }
                return Err(Skip::Ha(e));
            }
        };
        crate::sequencer::fault_point("after-ha-claim", duty.slot, checkpoint, &digest);
        let sig = match self.sign_now(signer, &digest) {
            Ok(s) => s,
            Err(e) => {
                // Give the duty back: the other node may still sign it in time.
                if let Err(r) = ha.release(lock) {
                    tracing::warn!(slot = duty.slot, error = %r, "cannot release an HA duty after a signing failure; it stays held until the stuck-duty cleanup");
                }
                return Err(e);
            }
        };
        // The table keeps signatures as Aztec's nodes write them: r ‖ s ‖ v.
        let mut rsv = [0u8; 65];
        rsv[..64].copy_from_slice(&sig[1..]);
        rsv[64] = sig[0];
        if let Err(e) = ha.complete(lock, &rsv) {
            // Not recorded as signed: the signature is never used (the row stays `signing`, so
            // the other node cannot sign this duty either).
            if matches!(e, HaError::Unreachable { .. } | HaError::Query(_)) {
                self.health.ha_failed(&e);
            }
            return Err(Skip::Ha(e));
        }
        Ok(sig)
    }

    fn sign_now(&self, signer: &AttesterSigner, digest: &B256) -> Result<RawSignature, Skip> {
        match signer.sign_digest(&digest.0) {
            Ok(s) => {
                self.health.signer_ok();
                Ok(s)
            }
            Err(e) => {
                self.health.signer_failed(&e);
                Err(Skip::Sign(e))
            }
        }
    }
}

impl Node {
    /// Signs a duty through the node's guards (see [`DutyGuards::sign`]).
    pub(crate) fn sign_duty(
        &self,
        duty: Duty,
        checkpoint: u64,
        digest: B256,
        signer: &AttesterSigner,
    ) -> Result<RawSignature, Skip> {
        DutyGuards {
            store: &self.store,
            ha: self.ha.as_ref(),
            health: &self.health,
            rollup: self.rollup(),
            claim_ms: Some(&self.metrics.ha_claim_ms),
        }
        .sign(duty, checkpoint, digest, signer)
    }

    /// The HA table's housekeeping (each slot): this node's rows stuck in `signing` past the
    /// configured age (left by a crash), `signed` rows past the retention age; and whether the
    /// database answers, for `/status`.
    pub fn ha_housekeeping(&self) {
        let Some(ha) = self.ha.as_ref() else {
            return;
        };
        let r = ha.cleanup_own_stuck().and_then(|stuck| {
            if stuck > 0 {
                tracing::warn!(
                    rows = stuck,
                    node_id = ha.node_id(),
                    "deleted this node's HA duties left `signing` by a crash"
                );
            }
            ha.cleanup_old()
        });
        match r {
            Ok(old) => {
                if old > 0 {
                    tracing::info!(rows = old, "deleted signed HA duties past their retention");
                }
                self.health.ha_ok();
            }
            Err(e) => {
                // Once per outage at warn (every pass repeats it otherwise).
                let fresh = self.health.ha.lock().map(|g| g.is_none()).unwrap_or(true);
                if fresh {
                    tracing::warn!(error = %e, "HA signing database");
                } else {
                    tracing::debug!(error = %e, "HA signing database still failing");
                }
                self.health.ha_failed(&e);
            }
        }
    }
}
