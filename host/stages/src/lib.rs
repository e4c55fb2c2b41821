//! The pipeline stage components a `cairn` binary runs by default.
//!
//! The build script compiles the four stage crates of `modules/` for wasm32-unknown-unknown and
//! embeds the core modules; [`component`] wraps one as a component (the import-only adapter
//! `cairn_engine::componentize` adds), ready for `Pipeline::load`. Embedding rather than
//! shipping files next to the binary means a node can never run stages built for another host
//! version, and `cairn start` needs nothing but its own binary.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use cairn_engine::{LoadError, Stage};

macro_rules! core_module {
    ($file:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $file))
    };
}

/// The core wasm module (not yet a component) embedded for `stage`.
pub fn core(stage: Stage) -> &'static [u8] {
    match stage {
        Stage::Validation => core_module!("cairn_stage_tx_validation.wasm"),
        Stage::Proofs => core_module!("cairn_stage_proof_verification.wasm"),
        Stage::Execution => core_module!("cairn_stage_public_execution.wasm"),
        Stage::Attestation => core_module!("cairn_stage_attestation.wasm"),
    }
}

/// The embedded stage as a component.
pub fn component(stage: Stage) -> Result<Vec<u8>, LoadError> {
    cairn_engine::componentize(core(stage))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_engine::{Engine, EngineConfig};

    #[test]
    fn every_embedded_stage_loads_as_itself() {
        let engine = Engine::new(EngineConfig::default()).expect("engine");
        for s in Stage::ALL {
            let c = component(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            let m = engine.load(s, &c).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(m.identity.stage, s.name());
        }
    }
}
