//! The tx-validation stage component: `cairn_protocol::stages::validate` over host imports.

wit_bindgen::generate!({ path: "../../wit", world: "tx-validation" });

use cairn::pipeline::types::{BlockContext, ModuleIdentity, Rejection, Validated};
use cairn_guest::cairn_protocol::stages;

cairn_guest::crypto_adapter!();
cairn_guest::state_adapter!();

struct Stage;

impl exports::cairn::pipeline::identity::Guest for Stage {
    fn identity() -> ModuleIdentity {
        ModuleIdentity {
            stage: "tx-validation".into(),
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
            wit_version: "0.1.0".into(),
        }
    }
}

impl exports::cairn::pipeline::validation::Guest for Stage {
    fn validate(ctx: BlockContext, txs: Vec<Vec<u8>>) -> Vec<Result<Validated, Rejection>> {
        let ctx = cairn_guest::context_of!(ctx);
        txs.iter()
            .map(|b| {
                stages::validate(b, &ctx, &HostState, &HostCrypto)
                    .map(|v| Validated {
                        hash: v.hash.to_vec(),
                        note_root: cairn_guest::fr_bytes(&v.note_root),
                    })
                    .map_err(|e| Rejection {
                        code: e.code().into(),
                        message: e.to_string(),
                    })
            })
            .collect()
    }
}

export!(Stage);
