//! The stage module registry: modules loaded through the admin API are recorded under
//! `DATA_DIRECTORY/modules` (and the store's meta table) so a restart runs them again, and
//! become active only between blocks.

use crate::error::{NodeError, StartError};
use crate::node::Node;

impl Node {
    /// Loads a stage module (link, identity, self-check; active from the next block) and
    /// records it in the module registry under `DATA_DIRECTORY/modules`, so a restart runs it
    /// again.
    pub fn load_module(
        &self,
        stage: cairn_engine::Stage,
        bytes: &[u8],
    ) -> Result<cairn_engine::SwapReport, NodeError> {
        let report = self
            .pipeline
            .load(stage, bytes)
            .map_err(|e| NodeError::Module(e.to_string()))?;
        let dir = self.config().data_dir.join("modules");
        std::fs::create_dir_all(&dir)?;
        let name = format!(
            "{}-{}.wasm",
            stage.name(),
            hex::encode(&cairn_engine::content_hash(bytes)[..8])
        );
        let tmp = dir.join(format!("{name}.tmp"));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, dir.join(&name))?;
        let mut list = self.module_history(stage);
        list.push(name);
        self.save_module_history(stage, &list)?;
        Ok(report)
    }

    /// Rolls a stage back to its previous module and updates the registry.
    pub fn rollback_module(&self, stage: cairn_engine::Stage) -> Result<String, NodeError> {
        let label = self
            .pipeline
            .rollback(stage)
            .map_err(|e| NodeError::Module(e.to_string()))?;
        let mut list = self.module_history(stage);
        list.pop();
        self.save_module_history(stage, &list)?;
        Ok(label)
    }

    fn save_module_history(
        &self,
        stage: cairn_engine::Stage,
        list: &[String],
    ) -> Result<(), NodeError> {
        self.store
            .set_meta(
                &format!("modules.{}", stage.name()),
                &serde_json::to_vec(list).unwrap_or_default(),
            )
            .map_err(NodeError::from)
    }

    fn module_history(&self, stage: cairn_engine::Stage) -> Vec<String> {
        self.store
            .meta(&format!("modules.{}", stage.name()))
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Re-loads the modules the registry records (the newest per stage) and activates them.
    pub(crate) fn restore_modules(&self) -> Result<(), StartError> {
        let dir = self.config().data_dir.join("modules");
        for stage in cairn_engine::Stage::ALL {
            if let Some(name) = self.module_history(stage).last() {
                let bytes = std::fs::read(dir.join(name)).map_err(|e| {
                    StartError::Other(format!("module registry: cannot read {name}: {e}; roll it back or restore the file"))
                })?;
                let r = self.pipeline.load(stage, &bytes).map_err(|e| {
                    StartError::Other(format!("module registry: {name} no longer loads: {e}"))
                })?;
                tracing::info!(stage = %stage, module = %r.module, "restored module from the registry");
            }
        }
        let next = self.chain.tip() + 1;
        self.block_boundary(next);
        Ok(())
    }

    /// Activates pending stage modules before block `n` is built or re-executed, and records
    /// which block each stage's module first ran for (`node_getNodeInfo`'s `sinceBlock`).
    pub(crate) fn block_boundary(&self, n: u64) {
        let swapped = self.pipeline.block_boundary();
        if swapped.is_empty() {
            return;
        }
        if let Ok(mut a) = self.activated.lock() {
            for s in &swapped {
                a.insert(*s, n);
            }
        }
        tracing::info!(stages = ?swapped, block = n, "activated new stage modules at the block boundary");
    }

    /// The active module of each stage and the first block it ran for (`None`: since start,
    /// before any block).
    pub fn stages(&self) -> Vec<(cairn_engine::Stage, String, Option<u64>)> {
        let activated = self.activated.lock().map(|a| a.clone()).unwrap_or_default();
        self.pipeline
            .active()
            .into_iter()
            .map(|(s, m)| (s, m, activated.get(&s).copied()))
            .collect()
    }
}
