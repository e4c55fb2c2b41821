//! The public-execution stage component: `cairn_protocol::stages::execute_block` against the
//! host's snapshot.

wit_bindgen::generate!({ path: "../../wit", world: "public-execution" });

use cairn::pipeline::types::{BlockContext, ModuleIdentity, Rejection, TxIn};
use cairn_guest::cairn_protocol::stages::{self, ValidTx};
use cairn_guest::cairn_protocol::tx::Tx;

cairn_guest::crypto_adapter!();
cairn_guest::state_adapter!();

struct Stage;

impl exports::cairn::pipeline::identity::Guest for Stage {
    fn identity() -> ModuleIdentity {
        ModuleIdentity {
            stage: "public-execution".into(),
            name: env!("CARGO_PKG_NAME").into(),
            version: if cfg!(feature = "v2") {
                "1.1.0".into()
            } else {
                env!("CARGO_PKG_VERSION").into()
            },
            wit_version: "0.1.0".into(),
        }
    }
}

impl exports::cairn::pipeline::execution::Guest for Stage {
    fn execute(ctx: BlockContext, txs: Vec<TxIn>) -> Vec<Result<Vec<u8>, Rejection>> {
        let ctx = cairn_guest::context_of!(ctx);
        let decoded: Vec<Option<ValidTx>> = txs
            .iter()
            .map(|t| {
                Tx::decode(&t.bytes).ok().map(|tx| ValidTx {
                    hash: tx.hash(),
                    note_root: cairn_guest::fr_of(&t.note_root),
                    tx,
                })
            })
            .collect();
        let ok: Vec<ValidTx> = decoded.iter().flatten().cloned().collect();
        let mut results = stages::execute_block(&ok, &ctx, &HostState).into_iter();
        decoded
            .iter()
            .map(|d| match d {
                None => Err(Rejection {
                    code: "malformed".into(),
                    message: "malformed: not a canonical tx".into(),
                }),
                Some(_) => match results.next() {
                    Some(Ok(e)) => Ok(e.encode()),
                    Some(Err(e)) => Err(Rejection {
                        code: e.code().into(),
                        message: e.to_string(),
                    }),
                    None => Err(Rejection {
                        code: "internal".into(),
                        message: "missing result".into(),
                    }),
                },
            })
            .collect()
    }
}

export!(Stage);
