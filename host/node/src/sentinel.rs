//! Per-validator statistics over recent slots (`node_getValidatorsStats`), in the shape of
//! Aztec's sentinel: for every committee member, the proposals it made and missed and the
//! attestations it made and missed, with streaks and the last slot it was seen.
//!
//! Built on demand from what the node already holds: the checkpoints (each with its packed
//! attestations, whose bitmap says which committee members signed) and each slot's committee and
//! proposer (read from the Rollup, cached).

use std::collections::BTreeMap;

use alloy_primitives::Address;
use alloy_sol_types::SolValue;
use cairn_consensus::abi;
use serde_json::{json, Value};

use crate::node::Node;

/// Slots looked back by default.
pub const DEFAULT_WINDOW: u64 = 64;
/// Most slots a request may look back (each older slot may cost an L1 read).
pub const MAX_WINDOW: u64 = 512;

/// One past slot as the sentinel sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRecord {
    /// The slot.
    pub slot: u64,
    /// Its proposer.
    pub proposer: Address,
    /// The epoch's committee.
    pub committee: Vec<Address>,
    /// Members whose attestations are on L1 for this slot's checkpoint; `None`: no checkpoint.
    pub signers: Option<Vec<Address>>,
}

#[derive(Default)]
struct Tally {
    count: u64,
    total: u64,
    streak: u64,
}

impl Tally {
    fn record(&mut self, missed: bool) {
        self.total += 1;
        if missed {
            self.count += 1;
            self.streak += 1;
        } else {
            self.streak = 0;
        }
    }

    fn json(&self) -> Value {
        let rate = if self.total == 0 {
            0.0
        } else {
            self.count as f64 / self.total as f64
        };
        json!({"count": self.count, "total": self.total, "rate": rate, "currentStreak": self.streak})
    }
}

#[derive(Default)]
struct Stats {
    proposals: Tally,
    attestations: Tally,
    last_proposal: Option<u64>,
    last_attestation: Option<u64>,
    history: Vec<(u64, &'static str)>,
}

/// The statistics for `records` (oldest first), keyed by address.
pub fn stats(records: &[SlotRecord]) -> Value {
    let mut by: BTreeMap<Address, Stats> = BTreeMap::new();
    for r in records {
        let s = by.entry(r.proposer).or_default();
        let mined = r.signers.is_some();
        s.proposals.record(!mined);
        if mined {
            s.last_proposal = Some(r.slot);
        }
        s.history
            .push((r.slot, if mined { "block-mined" } else { "block-missed" }));
        // Attestations count only for checkpoints that exist: with no checkpoint nobody could
        // have attested to it on L1.
        let Some(signers) = &r.signers else { continue };
        for m in &r.committee {
            if *m == r.proposer {
                continue;
            }
            let s = by.entry(*m).or_default();
            let signed = signers.contains(m);
            s.attestations.record(!signed);
            if signed {
                s.last_attestation = Some(r.slot);
            }
            s.history.push((
                r.slot,
                if signed {
                    "attestation-sent"
                } else {
                    "attestation-missed"
                },
            ));
        }
    }
    let stats: serde_json::Map<String, Value> = by
        .into_iter()
        .map(|(a, s)| {
            let key = a.to_checksum(None);
            let last_seen = s.last_proposal.max(s.last_attestation);
            (
                key.clone(),
                json!({
                    "address": key,
                    "proposalsMade": s.proposals.total - s.proposals.count,
                    "missedProposals": s.proposals.json(),
                    "attestationsMade": s.attestations.total - s.attestations.count,
                    "missedAttestations": s.attestations.json(),
                    "lastProposal": s.last_proposal.map(|slot| json!({"slot": slot})),
                    "lastAttestation": s.last_attestation.map(|slot| json!({"slot": slot})),
                    "lastSeenSlot": last_seen,
                    "history": s.history.iter().rev().take(32).map(|(slot, status)| json!({"slot": slot, "status": status})).collect::<Vec<_>>(),
                }),
            )
        })
        .collect();
    json!({
        "stats": stats,
        "initialSlot": records.first().map(|r| r.slot),
        "lastProcessedSlot": records.last().map(|r| r.slot),
        "slotWindow": records.len(),
    })
}

impl Node {
    /// `node_getValidatorsStats` over the last `window` finished slots.
    pub fn validators_stats(&self, window: u64) -> Result<Value, crate::error::NodeError> {
        let window = window.clamp(1, MAX_WINDOW);
        let now = self.l1.latest_timestamp()?;
        let current = self.timing.slot_at(now);
        // Slots whose checkpoint can no longer land: up to the previous one.
        let last = current.saturating_sub(1);
        let first = last.saturating_sub(window - 1).max(1);
        let mut signed: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        {
            let chain = self.chain.snapshot();
            for n in (1..=chain.tip()).rev() {
                let Some(b) = chain.block(n) else { break };
                if b.header.slot < first {
                    break;
                }
                signed.insert(b.header.slot, b.attestations.clone());
            }
        }
        let mut records = Vec::new();
        // Epochs before the validator set was large enough have no committee: the Rollup
        // reverts, and those slots are not counted. Any other L1 failure is an error.
        let mut has_committee: BTreeMap<u64, bool> = BTreeMap::new();
        for slot in first..=last {
            let epoch = self.timing.epoch_of_slot(slot);
            if !*has_committee.entry(epoch).or_insert_with(|| {
                !matches!(
                    self.l1.call(
                        self.config().rollup,
                        &abi::IRollupConsensus::getEpochCommitteeCall {
                            _epoch: alloy_primitives::U256::from(epoch),
                        },
                    ),
                    Err(cairn_l1::L1Error::Reverted { .. })
                )
            }) {
                continue;
            }
            let (committee, proposer) = self.slot_proposer(slot)?;
            let Some(proposer) = proposer else { continue };
            let signers = match signed.get(&slot) {
                None => None,
                Some(bytes) => {
                    let att = abi::CommitteeAttestations::abi_decode(bytes).map_err(|e| {
                        crate::error::NodeError::Invalid(format!(
                            "stored attestations of slot {slot} do not decode: {e}"
                        ))
                    })?;
                    let bitmap = att.signatureIndices;
                    Some(
                        committee
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| {
                                bitmap
                                    .get(i / 8)
                                    .is_some_and(|byte| byte & (0x80 >> (i % 8)) != 0)
                            })
                            .map(|(_, m)| *m)
                            .collect(),
                    )
                }
            };
            records.push(SlotRecord {
                slot,
                proposer,
                committee,
                signers,
            });
        }
        Ok(stats(&records))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposals_and_attestations_made_and_missed() {
        let [a, b, c, d] = [1u8, 2, 3, 4].map(Address::repeat_byte);
        let committee = vec![a, b, c, d];
        let records = vec![
            SlotRecord {
                slot: 10,
                proposer: a,
                committee: committee.clone(),
                signers: Some(vec![a, b, c]),
            },
            SlotRecord {
                slot: 11,
                proposer: d,
                committee: committee.clone(),
                signers: None,
            },
            SlotRecord {
                slot: 12,
                proposer: b,
                committee,
                signers: Some(vec![a, b, c]),
            },
        ];
        let v = stats(&records);
        let s = |x: Address| v["stats"][x.to_checksum(None)].clone();
        assert_eq!(s(a)["proposalsMade"], 1);
        assert_eq!(s(a)["attestationsMade"], 1);
        assert_eq!(s(a)["lastSeenSlot"], 12);
        assert_eq!(s(d)["missedProposals"]["count"], 1);
        assert_eq!(s(d)["missedProposals"]["currentStreak"], 1);
        // d missed both attestations it could have made; streak 2.
        assert_eq!(s(d)["missedAttestations"]["count"], 2);
        assert_eq!(s(d)["missedAttestations"]["currentStreak"], 2);
        assert_eq!(s(d)["missedAttestations"]["rate"], 1.0);
        assert_eq!(s(d)["lastSeenSlot"], Value::Null);
        assert_eq!(s(c)["attestationsMade"], 2);
        assert_eq!(v["initialSlot"], 10);
        assert_eq!(v["lastProcessedSlot"], 12);
        assert_eq!(s(d)["history"][0]["status"], "attestation-missed");
    }
}
