//! cairn's pipeline host: the four stages run either natively (the same `cairn_protocol`
//! functions) or as WebAssembly components in wasmtime, behind one interface, with per-stage
//! hot swap (load → self-check → activate at a block boundary → rollback).
//!
//! A module is untrusted code: it gets fuel (deterministic) and a wall-clock deadline per call,
//! bounded memory, a pinned stack, host crypto charged in gas, and no WASI at all. A fault is
//! contained: the call's result is discarded, the fault is reported, and the node carries on
//! with the native twin.

#![deny(missing_docs)]

pub mod bindings;
mod engine;
pub mod host;
mod pipeline;

pub use engine::{
    componentize, content_hash, Engine, EngineConfig, Fault, Identity, LoadError, Module,
};
/// The native twins of the stages, with the components' input and output types.
pub mod native {
    pub use crate::pipeline::{
        native_execute as execute, native_validate as validate, native_verify as verify,
    };
}
pub use pipeline::{Backend, BlockOutcome, Pipeline, SwapError, SwapReport, TxOutcome};

/// The WIT package version this host implements.
pub const WIT_VERSION: &str = "0.1.0";

/// A pipeline stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Tx validation.
    Validation,
    /// Proof verification.
    Proofs,
    /// Public execution.
    Execution,
    /// Attestation.
    Attestation,
}

impl Stage {
    /// All stages in pipeline order.
    pub const ALL: [Stage; 4] = [
        Stage::Validation,
        Stage::Proofs,
        Stage::Execution,
        Stage::Attestation,
    ];

    /// The name modules report in their identity.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Validation => "tx-validation",
            Stage::Proofs => "proof-verification",
            Stage::Execution => "public-execution",
            Stage::Attestation => "attestation",
        }
    }

    /// Parses [`name`](Self::name).
    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|x| x.name() == s)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A tx that passed validation (engine-side form of the WIT record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// Tx hash.
    pub hash: [u8; 32],
    /// Anchor's note root.
    pub note_root: ark_bn254::Fr,
}

/// A typed rejection (engine-side form of the WIT record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Stable code.
    pub code: String,
    /// Explanation.
    pub message: String,
}

impl From<cairn_protocol::stages::Rejection> for Reject {
    fn from(r: cairn_protocol::stages::Rejection) -> Self {
        Reject {
            code: r.code().into(),
            message: r.to_string(),
        }
    }
}
