//! Checks the bindings in `cairn_consensus::abi` against the published contract ABIs.
//!
//! The ABIs come from `@aztec/l1-artifacts` under `tools/node_modules` (installed by the tools
//! setup). When that package is absent the tests print a note and pass, so the crate still tests
//! on a bare checkout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alloy_json_abi::JsonAbi;
use alloy_sol_types::{SolCall, SolEvent, SolStruct, SolType, TopicList};
use cairn_consensus::abi::{self, IInbox, IRollupConsensus};

/// `out/` of the l1-contracts build inside the npm package, relative to this crate.
fn artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tools/node_modules/@aztec/l1-artifacts/l1-contracts/out")
}

/// The `abi` of a Foundry artifact, or `None` (with a note) when the package is not installed.
#[allow(
    clippy::disallowed_methods,
    reason = "a host-side test reading a build artifact, not runtime code"
)]
fn load_abi(contract: &str) -> Option<JsonAbi> {
    let path = artifacts_dir().join(format!("{contract}.sol/{contract}.json"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!(
            "skipping: {} not found (install tools/ to check the ABI)",
            path.display()
        );
        return None;
    };
    let artifact: serde_json::Value = serde_json::from_str(&text).expect("artifact is JSON");
    let abi = artifact.get("abi").expect("artifact has an abi").clone();
    Some(serde_json::from_value(abi).expect("abi parses"))
}

/// Canonical tuple forms of the structs our functions return, derived from the bindings'
/// EIP-712 root types ("Name(type name,...)" → "(type,...)").
fn struct_forms() -> BTreeMap<&'static str, String> {
    fn form(root: &str) -> String {
        let inner = &root[root.find('(').expect("(") + 1..root.len() - 1];
        let types: Vec<&str> = inner
            .split(',')
            .map(|field| field.split(' ').next().expect("type"))
            .collect();
        format!("({})", types.join(","))
    }
    BTreeMap::from([
        (
            abi::ChainTips::NAME,
            form(&abi::ChainTips::eip712_root_type()),
        ),
        (
            abi::FeeHeader::NAME,
            form(&abi::FeeHeader::eip712_root_type()),
        ),
        (
            abi::CheckpointLog::NAME,
            form(&abi::CheckpointLog::eip712_root_type()),
        ),
    ])
}

/// Replaces struct names in a Solidity type string with their tuple forms, recursively.
fn expand(ty: &str, structs: &BTreeMap<&'static str, String>) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        match structs.get(word.as_str()) {
            Some(form) => out.push_str(&expand(form, structs)),
            None => out.push_str(word),
        }
        word.clear();
    };
    for c in ty.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The ABI's canonical output tuple of a function, e.g. `((uint256,uint256))`.
fn abi_outputs(f: &alloy_json_abi::Function) -> String {
    let outs: Vec<String> = f
        .outputs
        .iter()
        .map(|p| p.selector_type().into_owned())
        .collect();
    format!("({})", outs.join(","))
}

/// Asserts that call `C` exists in `abi` with the same input signature and output types.
fn check_call<C: SolCall>(abi: &JsonAbi, structs: &BTreeMap<&'static str, String>) {
    let f = abi
        .functions()
        .find(|f| f.selector() == C::SELECTOR)
        .unwrap_or_else(|| {
            panic!(
                "{} (0x{}) is not in the ABI",
                C::SIGNATURE,
                hex::encode(C::SELECTOR)
            )
        });
    assert_eq!(f.signature(), C::SIGNATURE);
    let ours = expand(<C::ReturnTuple<'_> as SolType>::SOL_NAME, structs);
    assert_eq!(ours, abi_outputs(f), "outputs of {}", C::SIGNATURE);
}

/// Asserts that event `E` exists in `abi` with the same topic 0 and the same indexed inputs.
fn check_event<E: SolEvent>(abi: &JsonAbi, indexed: &[bool]) {
    let e = abi
        .events()
        .find(|e| e.selector() == E::SIGNATURE_HASH)
        .unwrap_or_else(|| panic!("event {} is not in the ABI", E::SIGNATURE));
    let abi_indexed: Vec<bool> = e.inputs.iter().map(|p| p.indexed).collect();
    assert_eq!(abi_indexed, indexed, "indexed inputs of {}", E::SIGNATURE);
    // The binding puts exactly the indexed inputs in topics 1.. .
    let topics = 1 + indexed.iter().filter(|&&i| i).count();
    assert_eq!(
        <E::TopicList as TopicList>::COUNT,
        topics,
        "topics of {}",
        E::SIGNATURE
    );
}

#[test]
fn rollup_functions_match_the_published_abi() {
    let Some(abi) = load_abi("Rollup") else {
        return;
    };
    let s = struct_forms();
    use IRollupConsensus::*;
    check_call::<proposeCall>(&abi, &s);
    check_call::<submitEpochRootProofCall>(&abi, &s);
    check_call::<invalidateInsufficientAttestationsCall>(&abi, &s);
    check_call::<invalidateBadAttestationCall>(&abi, &s);
    check_call::<pruneCall>(&abi, &s);
    check_call::<getGenesisTimeCall>(&abi, &s);
    check_call::<getSlotDurationCall>(&abi, &s);
    check_call::<getEpochDurationCall>(&abi, &s);
    check_call::<getTargetCommitteeSizeCall>(&abi, &s);
    check_call::<getTimestampForSlotCall>(&abi, &s);
    check_call::<getEpochCommitteeCall>(&abi, &s);
    check_call::<getCommitteeAtCall>(&abi, &s);
    check_call::<getSampleSeedAtCall>(&abi, &s);
    check_call::<getProposerAtCall>(&abi, &s);
    check_call::<canProposeAtTimeCall>(&abi, &s);
    check_call::<getManaMinFeeAtCall>(&abi, &s);
    check_call::<getManaLimitCall>(&abi, &s);
    check_call::<getTipsCall>(&abi, &s);
    check_call::<archiveCall>(&abi, &s);
    check_call::<archiveAtCall>(&abi, &s);
    check_call::<getCheckpointCall>(&abi, &s);
    check_call::<getEpochForCheckpointCall>(&abi, &s);
    check_call::<canPruneAtTimeCall>(&abi, &s);
    check_call::<getInboxCall>(&abi, &s);
    // Every declared function was checked above.
    assert_eq!(IRollupConsensusCalls::SELECTORS.len(), 24);
    for selector in IRollupConsensusCalls::SELECTORS {
        assert!(
            abi.functions().any(|f| f.selector() == *selector),
            "0x{} is not in the ABI",
            hex::encode(selector)
        );
    }
}

#[test]
fn rollup_events_match_the_published_abi() {
    let Some(abi) = load_abi("Rollup") else {
        return;
    };
    use IRollupConsensus::*;
    check_event::<CheckpointProposed>(&abi, &[true, true, false, false, false]);
    check_event::<L2ProofVerified>(&abi, &[true, true]);
    check_event::<PrunedPending>(&abi, &[false, false]);
    check_event::<CheckpointInvalidated>(&abi, &[true]);
}

#[test]
fn inbox_functions_match_the_published_abi() {
    let Some(abi) = load_abi("Inbox") else {
        return;
    };
    check_call::<IInbox::getRootCall>(&abi, &struct_forms());
    assert_eq!(IInbox::IInboxCalls::SELECTORS.len(), 1);
}

#[test]
fn struct_expansion_is_recursive() {
    let s = struct_forms();
    assert_eq!(expand("(ChainTips)", &s), "((uint256,uint256))");
    assert_eq!(
        expand("(CheckpointLog)", &s),
        "((bytes32,bytes32,bytes32,bytes32,bytes32,bytes32,uint256,\
         (uint256,uint256,uint256,uint256,uint256)))"
    );
}
