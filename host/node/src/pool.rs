//! The tx pool: txs from this node's JSON-RPC and from gossip, admitted after the validation
//! and proof stages against a chain snapshot, persisted before the sender hears "accepted", and
//! bounded (`P2P_MAX_PENDING_TX_COUNT`): a full pool evicts its lowest fee per mana for a
//! higher-paying tx and refuses the rest. The chain service removes txs when their block
//! commits (in the same store transaction as the block) and puts them back on a rollback.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use cairn_protocol::stages::StateView;
use cairn_protocol::tx::Tx;
use serde_json::json;

use crate::error::NodeError;
use crate::node::{context, Node};
use crate::store::{Store, StoreError};

/// Why a tx was not admitted (the JSON-RPC error's `reason` is [`code`](Self::code)).
#[derive(Debug, thiserror::Error)]
pub enum TxRejected {
    /// The bytes are not a tx.
    #[error("malformed tx: {0}")]
    Malformed(String),
    /// In the pool or already settled.
    #[error("tx already known")]
    Duplicate,
    /// A stage refused it (validation or proof).
    #[error("{message}")]
    Stage {
        /// The stage's reject code.
        code: String,
        /// What is wrong with the tx.
        message: String,
    },
    /// The pool is full of txs paying at least as much.
    #[error("the pool holds {max} txs (P2P_MAX_PENDING_TX_COUNT) paying at least this fee per mana; retry later or with a higher max fee")]
    Full {
        /// The bound.
        max: usize,
    },
    /// The node could not store it; not the sender's fault.
    #[error("internal: {0}")]
    Internal(#[from] StoreError),
}

impl TxRejected {
    /// The machine-readable reason.
    pub fn code(&self) -> &str {
        match self {
            TxRejected::Malformed(_) => "malformed",
            TxRejected::Duplicate => "duplicate",
            TxRejected::Stage { code, .. } => code,
            TxRejected::Full { .. } => "pool-full",
            TxRejected::Internal(_) => "internal",
        }
    }

    /// Whether the sender is at fault (a gossiping peer is penalised), rather than the tx
    /// merely being of no use here now.
    pub fn senders_fault(&self) -> bool {
        matches!(self, TxRejected::Malformed(_) | TxRejected::Stage { .. })
    }
}

/// The pool's writer side: one admission at a time past the stage checks, so the bound holds.
pub struct TxPool {
    store: Arc<Store>,
    admitting: Mutex<()>,
}

impl TxPool {
    /// The pool kept in `store`.
    pub fn new(store: Arc<Store>) -> TxPool {
        TxPool {
            store,
            admitting: Mutex::new(()),
        }
    }

    /// Whether `hash` is pending or settled.
    fn known(&self, hash: &[u8; 32]) -> Result<bool, StoreError> {
        Ok(self.store.pool_get(hash)?.is_some() || self.store.receipt(hash)?.is_some())
    }

    /// Inserts a checked tx, evicting the lowest-paying one when the pool holds `max`.
    fn insert(&self, tx: &Tx, bytes: &[u8], max: usize) -> Result<[u8; 32], TxRejected> {
        let hash = tx.hash();
        // A poisoned lock only means another admission panicked; the store is consistent.
        let _admitting = self.admitting.lock().unwrap_or_else(|p| p.into_inner());
        if self.known(&hash)? {
            return Err(TxRejected::Duplicate);
        }
        if self.store.pool_len()? as usize >= max {
            let fee = tx.gas.max_fee_per_mana;
            let lowest = self
                .store
                .pool()?
                .into_iter()
                .filter_map(|(h, b)| Tx::decode(&b).ok().map(|t| (t.gas.max_fee_per_mana, h)))
                .min();
            match lowest {
                Some((low, victim)) if low < fee => {
                    let receipt = json!({"status": "dropped", "code": "evicted", "error": format!("the pool is full (P2P_MAX_PENDING_TX_COUNT = {max}) and a tx paying a higher fee per mana arrived; resend with a higher max fee")});
                    self.store
                        .settle(&[(victim, serde_json::to_vec(&receipt).unwrap_or_default())])?;
                    tracing::debug!(evicted = %hex::encode(victim), "pool full: lowest-fee tx evicted");
                }
                _ => return Err(TxRejected::Full { max }),
            }
        }
        self.store.pool_add(&hash, bytes)?;
        Ok(hash)
    }

    /// Up to `limit` pending txs, in hash order (deterministic blocks).
    pub fn candidates(&self, limit: usize) -> Result<Vec<Vec<u8>>, NodeError> {
        Ok(self
            .store
            .pool()?
            .into_iter()
            .take(limit)
            .map(|(_, t)| t)
            .collect())
    }

    /// A pending tx.
    pub fn get(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.pool_get(hash)
    }

    /// How many txs are pending.
    pub fn pending(&self) -> Result<u64, StoreError> {
        self.store.pool_len()
    }
}

impl Node {
    /// Accepts a tx from this node's RPC into the pool (see [`admit_tx`](Self::admit_tx)) and
    /// gossips it.
    pub fn submit_tx(&self, bytes: &[u8]) -> Result<[u8; 32], TxRejected> {
        let hash = self.admit_tx(bytes)?;
        if let Some(n) = self
            .network
            .get()
            .filter(|_| !crate::sequencer::switch_on("keep-txs-local"))
        {
            n.announce_tx(bytes);
        }
        Ok(hash)
    }

    /// Accepts a tx into the pool after the validation and proof stages against the current
    /// state; persisted before this returns. A gossiped tx comes in here directly: the p2p
    /// service forwards it only once this accepted it.
    pub fn admit_tx(&self, bytes: &[u8]) -> Result<[u8; 32], TxRejected> {
        let tx = Tx::decode(bytes).map_err(|e| TxRejected::Malformed(e.to_string()))?;
        if self.pool.known(&tx.hash())? {
            return Err(TxRejected::Duplicate);
        }
        let chain = self.chain.snapshot();
        let ctx = context(
            chain.tip() + 1,
            self.l1.chain_id(),
            self.config().rollup_version,
            0,
            [0; 20],
        );
        let st: Arc<dyn StateView + Send + Sync> = chain.state.clone();
        drop(chain);
        self.pipeline
            .admit(st, &ctx, bytes)
            .map_err(|(_, r)| TxRejected::Stage {
                code: r.code,
                message: r.message,
            })?;
        let hash = self
            .pool
            .insert(&tx, bytes, self.config().max_pending_txs.max(1))?;
        self.metrics.txs_received.fetch_add(1, Ordering::Relaxed);
        Ok(hash)
    }
}
