//! The attestation stage component: `cairn_protocol::stages::attest`. It computes the digest;
//! the host signs it with the attester's key, which never enters a module.

wit_bindgen::generate!({ path: "../../wit", world: "attestation-stage" });

use cairn::pipeline::types::ModuleIdentity;
use cairn_guest::cairn_protocol::stages::{self, BlockHeader};

cairn_guest::crypto_adapter!();

struct Stage;

impl exports::cairn::pipeline::identity::Guest for Stage {
    fn identity() -> ModuleIdentity {
        ModuleIdentity {
            stage: "attestation".into(),
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
            wit_version: "0.1.0".into(),
        }
    }
}

impl exports::cairn::pipeline::attestation::Guest for Stage {
    fn attest(proposal: Vec<u8>, local: Vec<u8>) -> Result<Vec<u8>, String> {
        let local =
            BlockHeader::decode(&local).ok_or_else(|| "malformed local header".to_string())?;
        stages::attest(&proposal, &local, &HostCrypto)
            .map(|d| d.to_vec())
            .map_err(|e| e.to_string())
    }
}

export!(Stage);
