//! The node's counters, gauges and health record, written by the services that own each
//! value and read by `/metrics` and `/status`. Names are documented in docs/node.md.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use alloy_primitives::U256;

/// Counters and gauges exported on `/metrics` (names documented in docs/node.md).
#[derive(Default)]
pub struct Metrics {
    /// `cairn_sequencer_blocks_proposed_total`.
    pub proposed: AtomicU64,
    /// `cairn_sequencer_slots_missed_total`: our slot, no checkpoint landed.
    pub missed: AtomicU64,
    /// `cairn_sequencer_attestations_required`.
    pub att_required: AtomicU64,
    /// `cairn_sequencer_attestations_collected`.
    pub att_collected: AtomicU64,
    /// `cairn_l1_publisher_balance_wei` (first publisher).
    pub publisher_balance: Mutex<U256>,
    /// `cairn_archiver_checkpointed_height`.
    pub checkpointed: AtomicU64,
    /// `cairn_archiver_proven_height`.
    pub proven: AtomicU64,
    /// `cairn_prover_epoch_proofs_total`.
    pub proofs: AtomicU64,
    /// `cairn_txpool_received_total`.
    pub txs_received: AtomicU64,
    /// `cairn_sequencer_block_build_seconds` of the last block (kept in ms).
    pub last_build_ms: AtomicU64,
    /// `cairn_sequencer_checkpoint_build_seconds` of the last checkpoint (kept in ms).
    pub last_checkpoint_build_ms: AtomicU64,
    /// `cairn_sequencer_block_deadline_misses_total`.
    pub block_deadline_misses: AtomicU64,
    /// `cairn_consensus_proposals_received_total`: gossiped proposals from the slot's proposer.
    pub proposals_received: AtomicU64,
    /// `cairn_consensus_block_proposals_received_total`: gossiped block proposals from the
    /// slot's proposer.
    pub block_proposals_received: AtomicU64,
    /// `cairn_consensus_txs_fetched_total`: txs a proposal named that this node lacked and
    /// fetched from peers.
    pub txs_fetched: AtomicU64,
    /// `cairn_consensus_attestations_received_total`: gossiped attestations from committee members.
    pub attestations_received: AtomicU64,
    /// `cairn_consensus_attestations_made_total`: attestations local attesters signed for
    /// other nodes' proposals.
    pub attestations_made: AtomicU64,
    /// `cairn_consensus_equivocations_total`: slots whose proposer signed two proposals.
    pub equivocations: AtomicU64,
    /// `cairn_sequencer_attestation_round_seconds` (kept in ms): the last round, proposal to
    /// quorum or deadline.
    pub attestation_round_ms: AtomicU64,
    /// `cairn_p2p_blocks_received_total`: blocks appended from peers' req/resp answers.
    pub blocks_from_peers: AtomicU64,
    /// `cairn_chain_proposed_blocks_rolled_back_total`: proposed blocks dropped because their
    /// checkpoint missed L1.
    pub proposed_rolled_back: AtomicU64,
    /// `cairn_ha_claim_seconds` (kept in ms): the last duty's claim in the HA table, insert to
    /// verdict (includes waiting on the other node's `signing` row).
    pub ha_claim_ms: AtomicU64,
}

/// Why the node is unhealthy.
#[derive(Default)]
pub struct Health {
    /// Last L1 error and when.
    pub l1_error: Mutex<Option<(Instant, String)>>,
    /// Last successful L1 read.
    pub l1_ok: Mutex<Option<Instant>>,
    /// The last proposal of this node that did not reach quorum, and when (cleared by one
    /// that does).
    pub quorum: Mutex<Option<(Instant, String)>>,
    /// The last remote-signer failure, cleared by the next signature that succeeds.
    pub signer: Mutex<Option<(Instant, String)>>,
    /// The last HA-database failure, cleared by the next query that succeeds.
    pub ha: Mutex<Option<(Instant, String)>>,
}

impl Health {
    /// A signature failed (the remote signer is down or refused).
    pub fn signer_failed(&self, e: &crate::signer::SignError) {
        if let Ok(mut g) = self.signer.lock() {
            *g = Some((Instant::now(), e.to_string()));
        }
    }

    /// A signature succeeded.
    pub fn signer_ok(&self) {
        if let Ok(mut g) = self.signer.lock() {
            *g = None;
        }
    }

    /// The HA signing database failed (down, unreachable, a query refused).
    pub fn ha_failed(&self, e: &cairn_ha::HaError) {
        if let Ok(mut g) = self.ha.lock() {
            *g = Some((Instant::now(), e.to_string()));
        }
    }

    /// The HA signing database answered.
    pub fn ha_ok(&self) {
        if let Ok(mut g) = self.ha.lock() {
            *g = None;
        }
    }
}

/// A stage, its active module and its native fallbacks so far.
pub type StageStats = (cairn_engine::Stage, String, u64);

/// The Prometheus text exposition: every metric with its `# HELP` and `# TYPE` lines. `pool`
/// is `None` when the store could not be read (the gauge is left out rather than shown as 0).
pub fn render(
    m: &Metrics,
    tip: u64,
    pool: Option<u64>,
    stages: &[StageStats],
    network: Option<&crate::network::NetworkStats>,
) -> String {
    let bal = m
        .publisher_balance
        .lock()
        .map(|b| b.to_string())
        .unwrap_or_default();
    let lines: Vec<(&str, &str, &str, String)> = vec![
        (
            "cairn_sequencer_blocks_proposed_total",
            "Checkpoints this node proposed that landed on L1.",
            "counter",
            m.proposed.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_sequencer_slots_missed_total",
            "Slots this node was proposer for without a checkpoint landing.",
            "counter",
            m.missed.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_sequencer_attestations_required",
            "Attestations the last proposal needed (floor(2n/3)+1).",
            "gauge",
            m.att_required.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_sequencer_attestations_collected",
            "Attestations the last proposal collected.",
            "gauge",
            m.att_collected.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_sequencer_block_build_seconds",
            "Time to build the last proposed block: from taking its txs to its commit (execution, state update, the re-execution check, the store).",
            "gauge",
            seconds(m.last_build_ms.load(Ordering::Relaxed)),
        ),
        (
            "cairn_sequencer_checkpoint_build_seconds",
            "Time from the last proposer duty's start to its last block: every block of the checkpoint and the waits between them.",
            "gauge",
            seconds(m.last_checkpoint_build_ms.load(Ordering::Relaxed)),
        ),
        (
            "cairn_sequencer_block_deadline_misses_total",
            "Blocks this node finished building after their deadline in the slot's timetable.",
            "counter",
            m.block_deadline_misses.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_l1_publisher_balance_wei",
            "Balance of the first publisher account, in wei.",
            "gauge",
            bal,
        ),
        (
            "cairn_archiver_block_height",
            "Latest L2 block this node holds.",
            "gauge",
            tip.to_string(),
        ),
        (
            "cairn_archiver_checkpointed_height",
            "Latest checkpoint seen on L1.",
            "gauge",
            m.checkpointed.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_archiver_proven_height",
            "Latest proven checkpoint on L1.",
            "gauge",
            m.proven.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_prover_epoch_proofs_total",
            "Epoch proofs this node submitted.",
            "counter",
            m.proofs.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_txpool_received_total",
            "Txs accepted into the pool.",
            "counter",
            m.txs_received.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_sequencer_attestation_round_seconds",
            "The last attestation round, from gossiping the proposal to quorum or the deadline.",
            "gauge",
            seconds(m.attestation_round_ms.load(Ordering::Relaxed)),
        ),
        (
            "cairn_ha_claim_seconds",
            "The last duty's claim in the HA signing table (0 with HA signing off).",
            "gauge",
            seconds(m.ha_claim_ms.load(Ordering::Relaxed)),
        ),
        (
            "cairn_consensus_proposals_received_total",
            "Gossiped checkpoint proposals signed by their slot's proposer.",
            "counter",
            m.proposals_received.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_consensus_block_proposals_received_total",
            "Gossiped block proposals signed by the slot's proposer (checked before re-execution).",
            "counter",
            m.block_proposals_received.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_consensus_txs_fetched_total",
            "Txs a proposal named that this node lacked and fetched from peers by hash.",
            "counter",
            m.txs_fetched.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_consensus_attestations_received_total",
            "Gossiped attestations from committee members.",
            "counter",
            m.attestations_received.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_consensus_attestations_made_total",
            "Attestations local attesters signed for other nodes' proposals.",
            "counter",
            m.attestations_made.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_p2p_blocks_received_total",
            "Blocks appended from peers' req/resp answers (catching up while L1 sync is paused).",
            "counter",
            m.blocks_from_peers.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_chain_proposed_blocks_rolled_back_total",
            "Proposed blocks rolled back because their checkpoint did not reach L1 (their txs went back to the pool).",
            "counter",
            m.proposed_rolled_back.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_consensus_equivocations_total",
            "Slots whose proposer signed two different checkpoint proposals.",
            "counter",
            m.equivocations.load(Ordering::Relaxed).to_string(),
        ),
    ];
    let mut lines = lines;
    if let Some(pool) = pool {
        lines.push((
            "cairn_txpool_pending",
            "Txs waiting in the pool.",
            "gauge",
            pool.to_string(),
        ));
    }
    let mut out = String::new();
    for (name, help, kind, v) in lines {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
        ));
    }
    if let Some(n) = network {
        let name = "cairn_p2p_peers";
        out.push_str(&format!(
            "# HELP {name} Connected p2p peers.\n# TYPE {name} gauge\n{name} {}\n",
            n.peers
        ));
        let name = "cairn_p2p_gossip_received_total";
        out.push_str(&format!("# HELP {name} Gossip messages handed to the node for validation, per topic.\n# TYPE {name} counter\n"));
        for t in &n.topics {
            out.push_str(&format!("{name}{{topic=\"{}\"}} {}\n", t.topic, t.received));
        }
        let name = "cairn_p2p_gossip_validated_total";
        out.push_str(&format!("# HELP {name} The node's verdicts on gossip messages, per topic: accept (forwarded), reject (sender penalised), ignore.\n# TYPE {name} counter\n"));
        for t in &n.topics {
            for (result, v) in [
                ("accept", t.accepted),
                ("reject", t.rejected),
                ("ignore", t.ignored),
            ] {
                out.push_str(&format!(
                    "{name}{{topic=\"{}\",result=\"{result}\"}} {v}\n",
                    t.topic
                ));
            }
        }
    }
    let name = "cairn_pipeline_native_fallbacks_total";
    out.push_str(&format!("# HELP {name} Stage calls whose module faulted, answered by the native twin instead.\n# TYPE {name} counter\n"));
    for (s, _, n) in stages {
        out.push_str(&format!("{name}{{stage=\"{}\"}} {n}\n", s.name()));
    }
    let name = "cairn_pipeline_stage_info";
    out.push_str(&format!("# HELP {name} The module running each stage (native: the in-process twin).\n# TYPE {name} gauge\n"));
    for (s, m, _) in stages {
        out.push_str(&format!(
            "{name}{{stage=\"{}\",module=\"{m}\"}} 1\n",
            s.name()
        ));
    }
    out
}

/// Milliseconds as seconds, the unit Prometheus names carry.
fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::network::{NetworkStats, TopicStats};

    /// The exposition format's rules a scraper relies on (what `promtool check metrics`
    /// checks): every family has HELP and TYPE before its samples, counters end in `_total`,
    /// names are snake_case in base units, every sample parses as a number.
    #[test]
    fn every_family_has_help_and_type_and_follows_the_naming_conventions() {
        let m = Metrics::default();
        m.last_build_ms.store(1234, Ordering::Relaxed);
        m.last_checkpoint_build_ms.store(5678, Ordering::Relaxed);
        m.block_deadline_misses.store(2, Ordering::Relaxed);
        let stages = [(cairn_engine::Stage::Validation, "native".to_string(), 2)];
        let net = NetworkStats {
            peers: 3,
            topics: vec![TopicStats {
                topic: "tx",
                received: 5,
                accepted: 3,
                rejected: 1,
                ignored: 1,
            }],
        };
        let text = render(&m, 7, Some(4), &stages, Some(&net));
        let mut help = BTreeMap::new();
        let mut kind = BTreeMap::new();
        let mut samples = 0;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, h) = rest.split_once(' ').unwrap();
                assert!(!h.is_empty());
                assert!(help.insert(name.to_string(), h).is_none(), "{name} twice");
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, t) = rest.split_once(' ').unwrap();
                assert!(["counter", "gauge"].contains(&t), "{line}");
                assert!(help.contains_key(name), "TYPE before HELP: {name}");
                kind.insert(name.to_string(), t);
            } else {
                let (series, value) = line.rsplit_once(' ').unwrap();
                let name = series.split('{').next().unwrap();
                assert!(kind.contains_key(name), "sample before TYPE: {line}");
                assert!(value.parse::<f64>().is_ok(), "{line}");
                samples += 1;
            }
        }
        for (name, t) in &kind {
            assert!(name.starts_with("cairn_"), "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name}"
            );
            assert_eq!(*t == "counter", name.ends_with("_total"), "{name} is a {t}");
            for unit in ["_ms", "_millis", "_milliseconds", "_kb", "_mb"] {
                assert!(!name.contains(unit), "{name}: use base units");
            }
        }
        assert!(samples > 20);
        assert!(text.contains("cairn_sequencer_block_build_seconds 1.234\n"));
        assert!(text.contains("cairn_sequencer_checkpoint_build_seconds 5.678\n"));
        assert!(text.contains("cairn_sequencer_block_deadline_misses_total 2\n"));
        assert!(text.contains("cairn_txpool_pending 4\n"));
        assert!(
            text.contains("cairn_p2p_gossip_validated_total{topic=\"tx\",result=\"reject\"} 1\n")
        );
        // A store that cannot be read leaves the pool gauge out rather than reporting 0.
        assert!(!render(&m, 7, None, &stages, None).contains("cairn_txpool_pending"));
    }
}
