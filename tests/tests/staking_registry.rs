//! cairn's devnet StakingRegistry and split contracts (contracts/src) behave as
//! spec/aztec-l1-staking.md §2 and §4.2 describe Aztec's: ids from 1, absolute queue indices
//! starting at 1, checks in the documented order with the documented errors, one split per
//! stake with [takeRate, 10000 - takeRate], and pull-split distribution through the warehouse.

use alloy_primitives::{Address, U256};
use cairn_l1::abi::*;
use cairn_l1::{signer_from_hex, L1};
use cairn_tests::Devnet;

fn key(seed: u8) -> KeyStore {
    // Any values: the registry does not validate keys (spec §2.3).
    let w = |n: u64| U256::from(n) + U256::from(seed) * U256::from(1000u64);
    KeyStore {
        attester: Address::repeat_byte(seed),
        publicKeyG1: G1Point { x: w(1), y: w(2) },
        publicKeyG2: G2Point {
            x0: w(3),
            x1: w(4),
            y0: w(5),
            y1: w(6),
        },
        proofOfPossession: G1Point { x: w(7), y: w(8) },
    }
}

#[test]
fn registry_queue_and_split_semantics() {
    let devnet = Devnet::start();
    let l1 = L1::connect(
        cairn_l1::RpcClient::new(&[devnet.rpc()]).unwrap(),
        Some(31337),
    )
    .unwrap();
    let admin = signer_from_hex(&devnet.account(0).1).unwrap();
    let other = signer_from_hex(&devnet.account(1).1).unwrap();
    let sr: Address = devnet.address("stakingRegistry").parse().unwrap();
    let token: Address = devnet.address("stakingAsset").parse().unwrap();
    let recipient = Address::repeat_byte(0xee);

    let r = l1
        .send_call(
            &admin,
            "register",
            sr,
            &IStakingRegistry::registerProviderCall {
                _providerAdmin: admin.address(),
                _providerTakeRate: 2500,
                _providerRewardsRecipient: recipient,
            },
        )
        .unwrap();
    let ev = &r.events::<IStakingRegistry::ProviderRegistered>()[0].1;
    assert_eq!(ev.providerIdentifier, U256::from(1));
    assert_eq!(ev.providerTakeRate, 2500);
    let id = U256::from(1);
    assert_eq!(
        l1.call(
            sr,
            &IStakingRegistry::getFirstIndexInQueueCall {
                _providerIdentifier: id
            }
        )
        .unwrap(),
        1
    );
    assert_eq!(
        l1.call(
            sr,
            &IStakingRegistry::getLastIndexInQueueCall {
                _providerIdentifier: id
            }
        )
        .unwrap(),
        1
    );

    // Zero addresses are refused; anyone may register.
    let e = l1
        .send_call(
            &other,
            "register",
            sr,
            &IStakingRegistry::registerProviderCall {
                _providerAdmin: Address::ZERO,
                _providerTakeRate: 1,
                _providerRewardsRecipient: recipient,
            },
        )
        .unwrap_err();
    assert_eq!(e.revert_name(), Some("StakingRegistry__ZeroAddress"));

    // An empty batch is accepted and emits an empty list.
    let r = l1
        .send_call(
            &admin,
            "add none",
            sr,
            &IStakingRegistry::addKeysToProviderCall {
                _providerIdentifier: id,
                _keyStores: vec![],
            },
        )
        .unwrap();
    assert!(r.events::<IStakingRegistry::AttestersAddedToProvider>()[0]
        .1
        .attesters
        .is_empty());
    let r = l1
        .send_call(
            &admin,
            "add",
            sr,
            &IStakingRegistry::addKeysToProviderCall {
                _providerIdentifier: id,
                _keyStores: vec![key(1), key(2), key(3)],
            },
        )
        .unwrap();
    assert_eq!(
        r.events::<IStakingRegistry::AttestersAddedToProvider>()[0]
            .1
            .attesters
            .len(),
        3
    );
    assert_eq!(
        l1.call(
            sr,
            &IStakingRegistry::getValueAtIndexInQueueCall {
                _providerIdentifier: id,
                _index: 2
            }
        )
        .unwrap(),
        key(2)
    );
    let e = l1
        .call(
            sr,
            &IStakingRegistry::getValueAtIndexInQueueCall {
                _providerIdentifier: id,
                _index: 4,
            },
        )
        .unwrap_err();
    assert_eq!(e.revert_name(), Some("QueueIndexOutOfBounds"));

    // Admin changes are two-step; same-value updates are refused.
    let e = l1
        .send_call(
            &admin,
            "same admin",
            sr,
            &IStakingRegistry::updateProviderAdminCall {
                _providerIdentifier: id,
                _newAdmin: admin.address(),
            },
        )
        .unwrap_err();
    assert_eq!(
        e.revert_name(),
        Some("StakingRegistry__UpdatedProviderAdminToSameAddress")
    );
    let e = l1
        .send_call(
            &admin,
            "same rate",
            sr,
            &IStakingRegistry::updateProviderTakeRateCall {
                _providerIdentifier: id,
                _newTakeRate: 2500,
            },
        )
        .unwrap_err();
    assert_eq!(
        e.revert_name(),
        Some("StakingRegistry__UpdatedProviderTakeRateToSameValue")
    );
    let e = l1
        .send_call(
            &other,
            "accept",
            sr,
            &IStakingRegistry::acceptProviderAdminCall {
                _providerIdentifier: id,
            },
        )
        .unwrap_err();
    assert_eq!(
        e.revert_name(),
        Some("StakingRegistry__NotPendingProviderAdmin")
    );

    // Drip one: the head advances; the dripped entry is no longer addressable.
    let r = l1
        .send_call(
            &admin,
            "drip",
            sr,
            &IStakingRegistry::dripProviderQueueCall {
                _providerIdentifier: id,
                _numberOfKeysToDrip: U256::from(1),
            },
        )
        .unwrap();
    assert_eq!(
        r.events::<IStakingRegistry::ProviderQueueDripped>()[0]
            .1
            .attester,
        key(1).attester
    );
    let e = l1
        .call(
            sr,
            &IStakingRegistry::getValueAtIndexInQueueCall {
                _providerIdentifier: id,
                _index: 1,
            },
        )
        .unwrap_err();
    assert_eq!(e.revert_name(), Some("QueueIndexOutOfBounds"));

    // Stake: take-rate guard first, then the head key goes to the rollup with a split.
    let rollup: Address = devnet.address("rollup").parse().unwrap();
    let version = l1.call(rollup, &IRollup::getVersionCall {}).unwrap();
    let threshold = l1
        .call(rollup, &IRollup::getActivationThresholdCall {})
        .unwrap();
    l1.send_call(
        &other,
        "approve",
        token,
        &IERC20::approveCall {
            spender: sr,
            amount: threshold,
        },
    )
    .unwrap();
    let stake = |rate: u16| IStakingRegistry::stakeCall {
        _providerIdentifier: id,
        _rollupVersion: version,
        _withdrawalAddress: other.address(),
        _expectedProviderTakeRate: rate,
        _userRewardsRecipient: other.address(),
        _moveWithLatestRollup: true,
    };
    let e = l1.send_call(&other, "stake", sr, &stake(100)).unwrap_err();
    assert!(
        e.to_string().contains(
            "StakingRegistry__UnexpectedTakeRate(expectedTakeRate=100, providerTakeRate=2500)"
        ),
        "{e}"
    );
    let e = l1
        .send_call(
            &other,
            "stake",
            sr,
            &IStakingRegistry::stakeCall {
                _providerIdentifier: U256::from(9),
                ..stake(2500)
            },
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("StakingRegistry__InvalidProviderIdentifier"),
        "{e}"
    );
    let r = l1.send_call(&other, "stake", sr, &stake(2500)).unwrap();
    let staked = &r.events::<IStakingRegistry::StakedWithProvider>()[0].1;
    assert_eq!(staked.attester, key(2).attester);
    assert_eq!(staked.rollupAddress, rollup);
    assert_eq!(staked.stakerImplementation, other.address());
    let queued = &r.events::<IRollup::ValidatorQueued>()[0].1;
    assert_eq!(queued.attester, key(2).attester);
    let created = &r.events::<IPullSplitFactory::SplitCreated>()[0].1;
    assert_eq!(created.split, staked.coinbaseSplitContractAddress);
    assert_eq!(
        created.splitParams.recipients,
        vec![recipient, other.address()]
    );
    assert_eq!(
        created.splitParams.allocations,
        vec![U256::from(2500), U256::from(7500)]
    );
    assert_eq!(created.splitParams.totalAllocation, U256::from(10_000));
    assert_eq!(created.owner, Address::ZERO);
    assert_eq!(created.creator, sr);

    // Rewards paid to the split are distributed 25/75 through the warehouse, minus 1 wei dust.
    let split = staked.coinbaseSplitContractAddress;
    l1.send_call(
        &admin,
        "fund split",
        token,
        &IERC20::transferCall {
            to: split,
            amount: U256::from(10_001u64),
        },
    )
    .unwrap();
    let params = created.splitParams.clone();
    l1.send_call(
        &admin,
        "distribute",
        split,
        &IPullSplit::distributeCall {
            _split: params.clone(),
            _token: token,
            _distributor: admin.address(),
        },
    )
    .unwrap();
    let wh = l1
        .call(split, &IPullSplit::SPLITS_WAREHOUSECall {})
        .unwrap();
    assert_eq!(
        wh,
        devnet
            .address("splitsWarehouse")
            .parse::<Address>()
            .unwrap()
    );
    let id_token = U256::from_be_slice(token.as_slice());
    let bal = |who: Address| {
        l1.call(
            wh,
            &ISplitsWarehouse::balanceOfCall {
                owner: who,
                id: id_token,
            },
        )
        .unwrap()
    };
    assert_eq!(bal(recipient), U256::from(2500));
    assert_eq!(bal(other.address()), U256::from(7500));
    // A different split struct is refused by the split (it stores only the hash).
    let mut wrong = params;
    wrong.allocations = vec![U256::from(10_000), U256::ZERO];
    let e = l1
        .send_call(
            &admin,
            "distribute",
            split,
            &IPullSplit::distributeCall {
                _split: wrong,
                _token: token,
                _distributor: admin.address(),
            },
        )
        .unwrap_err();
    assert_eq!(e.revert_name(), Some("InvalidSplit"));

    // Drain the queue: the next stake finds it empty.
    l1.send_call(
        &admin,
        "drip",
        sr,
        &IStakingRegistry::dripProviderQueueCall {
            _providerIdentifier: id,
            _numberOfKeysToDrip: U256::from(1),
        },
    )
    .unwrap();
    let e = l1.send_call(&other, "stake", sr, &stake(2500)).unwrap_err();
    assert_eq!(e.revert_name(), Some("QueueIsEmpty"));
    let e = l1
        .send_call(
            &admin,
            "drip",
            sr,
            &IStakingRegistry::dripProviderQueueCall {
                _providerIdentifier: id,
                _numberOfKeysToDrip: U256::from(1),
            },
        )
        .unwrap_err();
    assert_eq!(e.revert_name(), Some("QueueIsEmpty"));
}
