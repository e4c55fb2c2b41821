//! A tx-validation component that misbehaves on purpose (see Cargo features).

wit_bindgen::generate!({ path: "../../wit", world: "tx-validation" });

use cairn::pipeline::types::{BlockContext, ModuleIdentity, Rejection, Validated};

struct Stage;

impl exports::cairn::pipeline::identity::Guest for Stage {
    fn identity() -> ModuleIdentity {
        let version = if cfg!(feature = "downgrade") {
            "0.9.0"
        } else {
            "6.6.6"
        };
        ModuleIdentity {
            stage: "tx-validation".into(),
            name: "cairn-stage-hostile".into(),
            version: version.into(),
            wit_version: "0.1.0".into(),
        }
    }
}

#[inline(never)]
fn recurse(n: u64, acc: &mut [u64; 64]) -> u64 {
    acc[(n % 64) as usize] = n;
    if n == u64::MAX {
        return 0;
    }
    recurse(n + 1, acc) + acc[0]
}

impl exports::cairn::pipeline::validation::Guest for Stage {
    fn validate(_ctx: BlockContext, txs: Vec<Vec<u8>>) -> Vec<Result<Validated, Rejection>> {
        if cfg!(feature = "spin") {
            let mut x = 0u64;
            loop {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                if x == 42 {
                    break;
                }
            }
        }
        if cfg!(feature = "memory") {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                if hoard.len() == usize::MAX {
                    break;
                }
            }
        }
        if cfg!(feature = "stack") {
            let mut acc = [0u64; 64];
            let _ = recurse(0, &mut acc);
        }
        if cfg!(feature = "trap") && !txs.is_empty() {
            panic!("hostile module traps");
        }
        txs.iter()
            .map(|_| {
                Err(Rejection {
                    code: "hostile".into(),
                    message: "hostile module".into(),
                })
            })
            .collect()
    }
}

export!(Stage);
