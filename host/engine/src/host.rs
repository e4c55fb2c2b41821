//! What a component may reach: the state snapshot bound to its call, native crypto charged to a
//! gas budget, and a log. Nothing else is linked (no WASI: no clock, files, network, entropy).

use std::sync::Arc;

use cairn_protocol::crypto::{Crypto, NativeCrypto};
use cairn_protocol::field::{fr_from_raw, fr_to_raw};
use cairn_protocol::stages::StateView;
use cairn_protocol::vm::Word;
use wasmtime::StoreLimits;

use crate::bindings::cairn::pipeline::{crypto, log, state, types};

/// Gas prices of host calls (docs/pipeline.md §3). Calibrated to native cost: roughly 1 gas per
/// 20 ns on this machine class.
pub mod price {
    /// State read.
    pub const STATE_READ: u64 = 100;
    /// Base keccak plus per 32 bytes.
    pub const KECCAK: u64 = 30;
    /// Per 32 bytes hashed.
    pub const KECCAK_WORD: u64 = 6;
    /// ecrecover.
    pub const ECRECOVER: u64 = 3_000;
    /// Poseidon base and per input.
    pub const POSEIDON: u64 = 400;
    /// Per Poseidon input.
    pub const POSEIDON_INPUT: u64 = 200;
    /// MSM base and per point.
    pub const MSM: u64 = 2_000;
    /// Per MSM point.
    pub const MSM_POINT: u64 = 3_000;
    /// Pairing check base and per pair.
    pub const PAIRING: u64 = 20_000;
    /// Per pair.
    pub const PAIRING_PAIR: u64 = 20_000;
}

/// Per-store host data.
pub struct HostData {
    /// Snapshot the stage reads (absent for the attestation stage).
    pub state: Option<Arc<dyn StateView + Send + Sync>>,
    /// Host-call gas used.
    pub gas_used: u64,
    /// Host-call gas limit; exceeding it traps the call.
    pub gas_limit: u64,
    /// Memory, table and instance limits.
    pub limits: StoreLimits,
    /// Log lines from the module (capped).
    pub logs: Vec<String>,
    /// Host calls made.
    pub calls: u64,
}

/// The trap raised when host-call gas runs out.
#[derive(Debug, thiserror::Error)]
#[error("host-call gas exhausted ({used} > {limit})")]
pub struct GasExhausted {
    /// Used.
    pub used: u64,
    /// Limit.
    pub limit: u64,
}

/// A state import called by a module bound to no state.
#[derive(Debug, thiserror::Error)]
#[error("this stage has no state snapshot bound")]
pub struct NoState;

impl HostData {
    fn charge(&mut self, g: u64) -> wasmtime::Result<()> {
        self.calls += 1;
        self.gas_used = self.gas_used.saturating_add(g);
        if self.gas_used > self.gas_limit {
            return Err(GasExhausted {
                used: self.gas_used,
                limit: self.gas_limit,
            }
            .into());
        }
        Ok(())
    }

    fn view(&self) -> wasmtime::Result<&(dyn StateView + Send + Sync)> {
        self.state.as_deref().ok_or_else(|| NoState.into())
    }
}

// Field elements cross the boundary in Montgomery form (`fr_to_raw`); anything not canonical
// reads as zero, which no honest module sends.
fn fr(b: &[u8]) -> ark_bn254::Fr {
    fr_from_raw(b).unwrap_or_default()
}

impl types::Host for HostData {}

impl state::Host for HostData {
    fn public_read(&mut self, slot: Vec<u8>) -> wasmtime::Result<Vec<u8>> {
        self.charge(price::STATE_READ)?;
        Ok(fr_to_raw(&self.view()?.public_read(&fr(&slot))).to_vec())
    }
    fn nullifier_exists(&mut self, n: Vec<u8>) -> wasmtime::Result<bool> {
        self.charge(price::STATE_READ)?;
        Ok(self.view()?.nullifier_exists(&fr(&n)))
    }
    fn contract_code(&mut self, address: Vec<u8>) -> wasmtime::Result<Option<Vec<u8>>> {
        self.charge(price::STATE_READ)?;
        let a = Word::from_be_slice(&address[..address.len().min(32)]);
        Ok(self.view()?.contract_code(&a))
    }
    fn anchor_note_root(&mut self, anchor: Vec<u8>) -> wasmtime::Result<Option<Vec<u8>>> {
        self.charge(price::STATE_READ)?;
        Ok(self
            .view()?
            .anchor_note_root(&fr(&anchor))
            .map(|r| fr_to_raw(&r).to_vec()))
    }
    fn verification_key(&mut self, statement: u8) -> wasmtime::Result<Option<Vec<u8>>> {
        self.charge(price::STATE_READ)?;
        Ok(self.view()?.verification_key(statement))
    }
}

impl crypto::Host for HostData {
    fn keccak256(&mut self, data: Vec<u8>) -> wasmtime::Result<Vec<u8>> {
        self.charge(price::KECCAK + price::KECCAK_WORD * data.len().div_ceil(32) as u64)?;
        Ok(NativeCrypto.keccak256(&data).to_vec())
    }
    fn ecrecover(&mut self, hash: Vec<u8>, sig: Vec<u8>) -> wasmtime::Result<Option<Vec<u8>>> {
        self.charge(price::ECRECOVER)?;
        let (Ok(h), Ok(s)) = (
            <[u8; 32]>::try_from(hash.as_slice()),
            <[u8; 65]>::try_from(sig.as_slice()),
        ) else {
            return Ok(None);
        };
        Ok(NativeCrypto.ecrecover(&h, &s).map(|a| a.to_vec()))
    }
    fn poseidon(&mut self, domain: u64, inputs: Vec<u8>) -> wasmtime::Result<Vec<u8>> {
        let n = inputs.len() / 32;
        self.charge(price::POSEIDON + price::POSEIDON_INPUT * n as u64)?;
        // A ragged tail is ignored; the guest adapter always sends whole elements.
        let xs: Vec<_> = inputs.chunks_exact(32).map(fr).collect();
        Ok(fr_to_raw(&NativeCrypto.poseidon(domain, &xs)).to_vec())
    }

    fn msm_g1(&mut self, points: Vec<u8>, scalars: Vec<u8>) -> wasmtime::Result<Option<Vec<u8>>> {
        let n = points.len() / 32;
        self.charge(price::MSM + price::MSM_POINT * n as u64)?;
        if !points.len().is_multiple_of(32) || scalars.len() != points.len() {
            return Ok(None);
        }
        let p: Vec<[u8; 32]> = points
            .chunks_exact(32)
            .map(|c| c.try_into().unwrap_or([0; 32]))
            .collect();
        let s: Vec<_> = scalars.chunks_exact(32).map(fr).collect();
        Ok(NativeCrypto.msm_g1(&p, &s).map(|r| r.to_vec()))
    }

    fn pairing_check(&mut self, g1: Vec<u8>, g2: Vec<u8>) -> wasmtime::Result<Option<bool>> {
        let n = g1.len() / 32;
        self.charge(price::PAIRING + price::PAIRING_PAIR * n as u64)?;
        if !g1.len().is_multiple_of(32) || g2.len() != 2 * g1.len() {
            return Ok(None);
        }
        let a: Vec<[u8; 32]> = g1
            .chunks_exact(32)
            .map(|c| c.try_into().unwrap_or([0; 32]))
            .collect();
        let b: Vec<[u8; 64]> = g2
            .chunks_exact(64)
            .map(|c| c.try_into().unwrap_or([0; 64]))
            .collect();
        Ok(NativeCrypto.pairing_check(&a, &b))
    }
}

impl log::Host for HostData {
    fn log(&mut self, level: u8, message: String) -> wasmtime::Result<()> {
        // Bounded: a module cannot fill the node's memory through its log.
        if self.logs.len() < 64 {
            let m: String = message.chars().take(512).collect();
            tracing::debug!(level, module_log = %m);
            self.logs.push(m);
        }
        Ok(())
    }
}
