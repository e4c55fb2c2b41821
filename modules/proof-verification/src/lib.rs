//! The proof-verification stage component: `cairn_protocol::stages::verify_proofs` with the
//! pairing and MSM as host calls.

wit_bindgen::generate!({ path: "../../wit", world: "proof-verification" });

use cairn::pipeline::types::{ModuleIdentity, Rejection, TxIn};
use cairn_guest::cairn_protocol::stages::{self, ValidTx};
use cairn_guest::cairn_protocol::tx::Tx;

cairn_guest::crypto_adapter!();
cairn_guest::state_adapter!();

struct Stage;

impl exports::cairn::pipeline::identity::Guest for Stage {
    fn identity() -> ModuleIdentity {
        ModuleIdentity {
            stage: "proof-verification".into(),
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
            wit_version: "0.1.0".into(),
        }
    }
}

impl exports::cairn::pipeline::proofs::Guest for Stage {
    fn verify(txs: Vec<TxIn>) -> Vec<Result<(), Rejection>> {
        // Decode failures cannot happen for validated txs; keep their slot as a rejection.
        let decoded: Vec<Result<ValidTx, Rejection>> = txs
            .iter()
            .map(|t| {
                Tx::decode(&t.bytes)
                    .map(|tx| ValidTx {
                        hash: tx.hash(),
                        note_root: cairn_guest::fr_of(&t.note_root),
                        tx,
                    })
                    .map_err(|e| Rejection {
                        code: "malformed".into(),
                        message: format!("malformed: {e}"),
                    })
            })
            .collect();
        let ok: Vec<ValidTx> = decoded
            .iter()
            .filter_map(|r| r.as_ref().ok().cloned())
            .collect();
        let mut verdicts = stages::verify_proofs(&ok, &HostState, &HostCrypto).into_iter();
        decoded
            .into_iter()
            .map(|r| match r {
                Err(e) => Err(e),
                Ok(_) => verdicts.next().unwrap_or(Ok(())).map_err(|e| Rejection {
                    code: e.code().into(),
                    message: e.to_string(),
                }),
            })
            .collect()
    }
}

export!(Stage);
