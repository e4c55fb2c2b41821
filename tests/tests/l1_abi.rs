//! cairn's typed bindings (host/l1/src/abi.rs) against the ABIs of the contracts they call:
//! Aztec's published artifacts (@aztec/l1-artifacts, installed by scripts/setup.sh) and
//! cairn's own compiled devnet contracts (contracts/out). A selector that drifts fails here,
//! not on chain.

use std::collections::BTreeSet;

use alloy_json_abi::JsonAbi;
use cairn_l1::abi::*;
use cairn_tests::repo_root;

fn abi(path: &str) -> JsonAbi {
    let p = repo_root().join(path);
    let text = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh)", p.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    serde_json::from_value(v["abi"].clone()).unwrap()
}

fn aztec(name: &str) -> JsonAbi {
    abi(&format!(
        "tools/node_modules/@aztec/l1-artifacts/l1-contracts/out/{name}.sol/{name}.json"
    ))
}

fn check_selectors(what: &str, abi: &JsonAbi, calls: &[[u8; 4]], events: &[[u8; 32]]) {
    let fns: BTreeSet<[u8; 4]> = abi.functions().map(|f| f.selector().0).collect();
    for s in calls {
        assert!(
            fns.contains(s),
            "{what}: binding selector 0x{} is not in the contract's ABI",
            hex::encode(s)
        );
    }
    let evs: BTreeSet<[u8; 32]> = abi.events().map(|e| e.selector().0).collect();
    for s in events {
        assert!(
            evs.contains(s),
            "{what}: binding event 0x{} is not in the contract's ABI",
            hex::encode(s)
        );
    }
}

macro_rules! check {
    ($calls:ty, $events:ty, $what:expr, $abi:expr) => {
        check_selectors($what, $abi, <$calls>::SELECTORS, <$events>::SELECTORS)
    };
    ($calls:ty, $what:expr, $abi:expr) => {
        check_selectors($what, $abi, <$calls>::SELECTORS, &[])
    };
}

#[test]
fn bindings_match_aztecs_artifacts() {
    check!(
        IRollup::IRollupCalls,
        IRollup::IRollupEvents,
        "Rollup",
        &aztec("Rollup")
    );
    check!(IRegistry::IRegistryCalls, "Registry", &aztec("Registry"));
    check!(IGSE::IGSECalls, "GSE", &aztec("GSE"));
    check!(
        IGovernance::IGovernanceCalls,
        "Governance",
        &aztec("Governance")
    );
    check!(IERC20::IERC20Calls, "TestERC20", &aztec("TestERC20"));
}

#[test]
fn bindings_match_cairns_devnet_contracts() {
    check!(
        IStakingRegistry::IStakingRegistryCalls,
        IStakingRegistry::IStakingRegistryEvents,
        "StakingRegistry",
        &abi("contracts/out/StakingRegistry.json")
    );
    check!(
        IPullSplitFactory::IPullSplitFactoryCalls,
        IPullSplitFactory::IPullSplitFactoryEvents,
        "PullSplitFactory",
        &abi("contracts/out/PullSplitFactory.json")
    );
    check!(
        IPullSplit::IPullSplitCalls,
        "PullSplit",
        &abi("contracts/out/PullSplit.json")
    );
    check!(
        ISplitsWarehouse::ISplitsWarehouseCalls,
        "SplitsWarehouse",
        &abi("contracts/out/SplitsWarehouse.json")
    );
}

#[test]
fn selectors_are_the_ones_the_spec_lists() {
    // spec/aztec-l1-staking.md §2.3, §4.2, §4.3, §5 (computed there from the signatures).
    use alloy_sol_types::SolCall;
    assert_eq!(
        IStakingRegistry::registerProviderCall::SELECTOR,
        [0xea, 0x4a, 0x1e, 0x03]
    );
    assert_eq!(
        IStakingRegistry::addKeysToProviderCall::SELECTOR,
        [0xe2, 0x53, 0x0f, 0xd1]
    );
    assert_eq!(
        IStakingRegistry::stakeCall::SELECTOR,
        [0x6f, 0xde, 0x93, 0x15]
    );
    assert_eq!(
        IStakingRegistry::getProviderQueueLengthCall::SELECTOR,
        [0x28, 0xf3, 0x4d, 0x3c]
    );
    assert_eq!(
        IStakingRegistry::dripProviderQueueCall::SELECTOR,
        [0x26, 0xf7, 0x42, 0x4f]
    );
    assert_eq!(
        IPullSplitFactory::createSplitCall::SELECTOR,
        [0x25, 0x56, 0xfa, 0x39]
    );
    assert_eq!(
        IPullSplit::distributeCall::SELECTOR,
        [0x2d, 0x3f, 0x55, 0x37]
    );
    assert_eq!(
        ISplitsWarehouse::withdrawCall::SELECTOR,
        [0xf9, 0x40, 0xe3, 0x85]
    );
    assert_eq!(IRollup::depositCall::SELECTOR, [0x69, 0x02, 0xc6, 0x7b]);
    assert_eq!(
        IRollup::flushEntryQueue_0Call::SELECTOR,
        [0x1d, 0x93, 0x49, 0x75]
    );
    assert_eq!(
        IRollup::flushEntryQueue_1Call::SELECTOR,
        [0xe1, 0x99, 0xc0, 0x59]
    );
    assert_eq!(
        IRollup::getAttesterViewCall::SELECTOR,
        [0x34, 0xa5, 0x1e, 0xd5]
    );
    assert_eq!(
        IRegistry::getCanonicalRollupCall::SELECTOR,
        [0x97, 0x1b, 0x0e, 0x6b]
    );
    use alloy_sol_types::SolEvent;
    assert_eq!(
        hex::encode(IStakingRegistry::ProviderRegistered::SIGNATURE_HASH),
        "43fe1b4477c9a580955f586c904f4670929e184ef4bef4936221c52d0a79a75b"
    );
    assert_eq!(
        hex::encode(IStakingRegistry::StakedWithProvider::SIGNATURE_HASH),
        "c91c8b4e934fb8f46c6d08a34d60ceb8dbe4ab6844a7040ca4c580e5a837d5c7"
    );
}
