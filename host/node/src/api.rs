//! The narrow interfaces the HTTP servers are written against: what JSON-RPC, `/status` and
//! `/metrics` may read or ask ([`PublicApi`]) and what the admin namespace may change
//! ([`AdminApi`]). The node implements both; the servers see nothing else of it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use alloy_primitives::Address;
use cairn_engine::{Stage, SwapReport};
use serde_json::Value;

use crate::chain::Chain;
use crate::config::NodeConfig;
use crate::error::NodeError;
use crate::node::Node;
use crate::pool::TxRejected;
use crate::store::StoreError;

/// Where a tx is.
pub enum TxLookup {
    /// In the pool (its bytes), with the pending receipt stored for it if it was in a block
    /// that was rolled back (which says which and why).
    Pending(Vec<u8>, Option<Vec<u8>>),
    /// Settled: included, dropped or evicted (the receipt's JSON bytes).
    Settled(Vec<u8>),
    /// Never seen (or forgotten).
    Unknown,
}

/// What the node says about itself (`node_getNodeInfo`).
pub struct NodeInfo {
    /// L1 chain id.
    pub l1_chain_id: u64,
    /// The Rollup's version.
    pub rollup_version: u64,
    /// The Rollup.
    pub rollup: Address,
    /// Local attesters.
    pub attesters: Vec<Address>,
    /// Each stage's module and the first block it ran for.
    pub stages: Vec<(Stage, String, Option<u64>)>,
    /// The p2p identity and listen addresses (`None`: p2p off).
    pub p2p: Option<(String, Vec<String>)>,
}

/// The public JSON-RPC, `/status` and `/metrics`.
pub trait PublicApi: Send + Sync {
    /// The latest committed chain (blocks, state, tips).
    fn chain(&self) -> Arc<Chain>;
    /// Admits a tx from a client and gossips it.
    fn submit_tx(&self, bytes: &[u8]) -> Result<[u8; 32], TxRejected>;
    /// Where a tx is.
    fn tx(&self, hash: &[u8; 32]) -> Result<TxLookup, StoreError>;
    /// Txs waiting in the pool.
    fn pending_count(&self) -> Result<u64, StoreError>;
    /// The fee per mana of the next block (read from L1).
    fn min_fee(&self) -> Result<u128, NodeError>;
    /// Why the node is unhealthy (empty: healthy).
    fn health(&self) -> Vec<String>;
    /// Identity, versions, stages, p2p.
    fn info(&self) -> NodeInfo;
    /// Per-validator statistics over the last `window` slots.
    fn validators_stats(&self, window: u64) -> Result<Value, NodeError>;
    /// Connected peers (`None`: p2p off).
    fn peers(&self) -> Option<Vec<Value>>;
    /// The Prometheus text exposition of every metric.
    fn metrics(&self) -> String;
}

/// The admin namespace (authenticated by the servers before any of this is called).
pub trait AdminApi: Send + Sync {
    /// Why the node is unhealthy (admin's `/status`).
    fn health(&self) -> Vec<String>;
    /// The configuration now.
    fn config(&self) -> NodeConfig;
    /// Changes the hot-settable configuration.
    fn update_config(&self, f: &mut dyn FnMut(&mut NodeConfig));
    /// Pauses (true) or resumes the L1 archiver; paused, the node follows peers.
    fn pause_sync(&self, paused: bool);
    /// Each stage's module and the first block it ran for.
    fn modules(&self) -> Vec<(Stage, String, Option<u64>)>;
    /// Loads a module (active from the next block boundary) and records it.
    fn load_module(&self, stage: Stage, bytes: &[u8]) -> Result<SwapReport, NodeError>;
    /// Activates pending modules now.
    fn activate_modules(&self) -> Vec<Stage>;
    /// Rolls a stage back to its previous module.
    fn rollback_module(&self, stage: Stage) -> Result<String, NodeError>;
}

impl PublicApi for Node {
    fn chain(&self) -> Arc<Chain> {
        self.chain.snapshot()
    }

    fn submit_tx(&self, bytes: &[u8]) -> Result<[u8; 32], TxRejected> {
        Node::submit_tx(self, bytes)
    }

    fn tx(&self, hash: &[u8; 32]) -> Result<TxLookup, StoreError> {
        if let Some(t) = self.pool.get(hash)? {
            // A receipt stored for a tx in the pool is the note of a roll back, unless it is
            // from before the tx was sent again (a `dropped` one, say).
            let note = self.store.receipt(hash)?.filter(|r| {
                serde_json::from_slice::<serde_json::Value>(r)
                    .is_ok_and(|v| v["status"] == "pending")
            });
            return Ok(TxLookup::Pending(t, note));
        }
        Ok(match self.store.receipt(hash)? {
            Some(r) => TxLookup::Settled(r),
            None => TxLookup::Unknown,
        })
    }

    fn pending_count(&self) -> Result<u64, StoreError> {
        self.pool.pending()
    }

    fn min_fee(&self) -> Result<u128, NodeError> {
        self.current_min_fee()
    }

    fn health(&self) -> Vec<String> {
        self.unhealthy()
    }

    fn info(&self) -> NodeInfo {
        let cfg = self.config();
        NodeInfo {
            l1_chain_id: self.l1.chain_id(),
            rollup_version: cfg.rollup_version,
            rollup: cfg.rollup,
            attesters: cfg.attesters.iter().map(|a| a.signer.address()).collect(),
            stages: self.stages(),
            p2p: self.network.get().map(|n| (n.peer_id(), n.listen_addrs())),
        }
    }

    fn validators_stats(&self, window: u64) -> Result<Value, NodeError> {
        Node::validators_stats(self, window)
    }

    fn peers(&self) -> Option<Vec<Value>> {
        self.network.get().map(|n| n.peers())
    }

    fn metrics(&self) -> String {
        let network = self.network.get().map(|n| n.stats());
        // `active()` lists the stages in `Stage::ALL` order, as `fallbacks()` counts them.
        let stages: Vec<crate::metrics::StageStats> = self
            .pipeline
            .active()
            .into_iter()
            .zip(self.pipeline.fallbacks())
            .map(|((s, m), n)| (s, m, n))
            .collect();
        crate::metrics::render(
            &self.metrics,
            self.chain.tip(),
            self.pool.pending().ok(),
            &stages,
            network.as_ref(),
        )
    }
}

impl AdminApi for Node {
    fn health(&self) -> Vec<String> {
        self.unhealthy()
    }

    fn config(&self) -> NodeConfig {
        Node::config(self)
    }

    fn update_config(&self, f: &mut dyn FnMut(&mut NodeConfig)) {
        Node::update_config(self, f)
    }

    fn pause_sync(&self, paused: bool) {
        self.sync_paused.store(paused, Ordering::Relaxed);
    }

    fn modules(&self) -> Vec<(Stage, String, Option<u64>)> {
        self.stages()
    }

    fn load_module(&self, stage: Stage, bytes: &[u8]) -> Result<SwapReport, NodeError> {
        Node::load_module(self, stage, bytes)
    }

    fn activate_modules(&self) -> Vec<Stage> {
        self.pipeline.block_boundary()
    }

    fn rollback_module(&self, stage: Stage) -> Result<String, NodeError> {
        Node::rollback_module(self, stage)
    }
}
