//! The page's logic compiled to wasm and run by `wasm-bindgen-test-runner` (node): the same
//! requests the worker serves must give the same answers as the CLI, including the V1 known
//! answer. The page is tested only as wasm, the form it runs in; its crate is not part of the
//! native test build.
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

#[wasm_bindgen_test]
fn generate_register_verify_batch() {
    let g = call(
        json!({"op": "generate", "mnemonic": M1, "count": "2", "accountIndex": "",
        "addressIndex": 0, "feeRecipient": format!("0x{}", "11".repeat(32))}),
    );
    assert_eq!(g["ok"], true, "{g}");
    let r = call(json!({"op": "register", "keystore": g["keystore"], "password": "", "files": {}}));
    assert_eq!(r["registration"], g["registration"]);
    let v = call(json!({"op": "verify", "registration": r["registration"]}));
    assert_eq!(v["report"]["ok"], true);
    let b = call(
        json!({"op": "batches", "registration": r["registration"], "providerId": "7",
        "batchSize": "1", "registry": "0x00000000000000000000000000000000000000aa"}),
    );
    assert_eq!(b["batches"].as_array().unwrap().len(), 2);
}

#[wasm_bindgen_test]
fn errors_are_messages() {
    let e = call(
        json!({"op": "register", "keystore": "{\"schemaVersion\":1,\"validators\":[],\"x\":1}"}),
    );
    assert_eq!(e["ok"], false);
    assert!(e["error"].as_str().unwrap().contains("'x'"));
    let e = call(json!({"op": "generate", "mnemonic": M1, "count": "two", "feeRecipient": "0x"}));
    assert!(e["error"].as_str().unwrap().contains("count"));
    assert_eq!(call(json!({"op": "nope"}))["ok"], false);
    let raw: Value = serde_json::from_str(&handle("not json", &mut |_, _| {})).unwrap();
    assert_eq!(raw["ok"], false);
}
