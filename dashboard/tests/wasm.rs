//! The page's logic compiled to wasm and run by `wasm-bindgen-test-runner` (node): the same
//! requests the worker serves must give the same answers as the native build, including the
//! V1 known answer.
#![cfg(target_arch = "wasm32")]

use cairn_dashboard::flow::handle;
use serde_json::{json, Value};
use wasm_bindgen_test::wasm_bindgen_test;

const M1: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn call(req: Value) -> Value {
    let mut steps = 0;
    let out = handle(&req.to_string(), &mut |_, _| steps += 1);
    serde_json::from_str(&out).unwrap()
}

#[wasm_bindgen_test]
fn v1_known_answer_in_wasm() {
    let g = call(
        json!({"op": "generate", "mnemonic": M1, "count": 1, "accountIndex": 0,
        "addressIndex": 0, "feeRecipient": format!("0x{}", "11".repeat(32))}),
    );
    assert_eq!(g["ok"], true, "{g}");
    let reg: Value = serde_json::from_str(g["registration"].as_str().unwrap()).unwrap();
    assert_eq!(
        reg[0]["attester"],
        "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
    );
    assert_eq!(
        reg[0]["proofOfPossession"]["x"],
        "0x2f4e8b861d4d575a1d5861362a489c3759ef195ff5336428d59a75c08325b82"
    );
    let ks: Value = serde_json::from_str(g["keystore"].as_str().unwrap()).unwrap();
    assert_eq!(
        ks["validators"][0]["attester"]["bls"],
        "0x1dc2e5095a3b78b2beceabc9a418087e6a9dc7bac00e510c6c9e8a06ae2524e0"
    );
    let v = call(json!({"op": "verify", "registration": g["registration"]}));
    assert_eq!(v["report"]["ok"], true);
}

#[wasm_bindgen_test]
fn errors_in_wasm() {
    let e = call(json!({"op": "register", "keystore": "{", "files": {}}));
    assert_eq!(e["ok"], false);
    assert!(e["error"].as_str().unwrap().contains("not valid"));
}
