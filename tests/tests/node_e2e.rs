//! The node end to end on the devnet with the real Aztec contracts: four validators registered
//! through `add-l1-validator` (the GSE checks every proof of possession), one `cairn start`
//! holding them, blocks proposed to the Rollup with committee attestations in blobs, the mock
//! verifier advancing the proven tip, txs reaching receipts with their effects, typed errors for
//! bad input, kill -9 and restart without double-signing, a fresh archiver rebuilding the same
//! state from L1 alone, and a stage hot-swapped through the admin API while blocks continue.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use cairn_consensus::abi::IRollupConsensus as R;
use cairn_consensus::attest;
use cairn_l1::{RpcClient, L1};
use cairn_tests::node::{cli, NodeProc, ADMIN_KEY};
use cairn_tests::{components, run_cairn, Devnet};
use serde_json::{json, Value};

const M: &str = "test test test test test test test test test test test junk";
const FEE: &str = "0x0000000000000000000000000000000000000000000000000000000000000001";
/// The devnet's L1: the raw RPC (for anvil's clock and reorg calls), typed calls, the Rollup.
struct Chain1 {
    rpc: RpcClient,
    l1: L1,
    rollup: Address,
}

impl Chain1 {
    fn of(net: &Devnet) -> Chain1 {
        let rpc = RpcClient::new(&[net.rpc()]).unwrap();
        Chain1 {
            l1: L1::connect(rpc.clone(), Some(31337)).unwrap(),
            rpc,
            rollup: net.address("rollup").parse().unwrap(),
        }
    }

    /// Seconds in an epoch.
    fn epoch_seconds(&self) -> u64 {
        let epoch: u64 = self
            .l1
            .call(self.rollup, &R::getEpochDurationCall {})
            .unwrap()
            .to();
        let slot: u64 = self
            .l1
            .call(self.rollup, &R::getSlotDurationCall {})
            .unwrap()
            .to();
        epoch * slot
    }

    /// Mines the next L1 block at `ts` (anvil's clock continues from there).
    fn warp_to(&self, ts: u64) {
        self.rpc
            .call("evm_setNextBlockTimestamp", json!([ts]))
            .unwrap();
        self.rpc.call("evm_mine", json!([])).unwrap();
    }
}

/// `cairn tx transfer` (public) of `amount`; with `wait` seconds it waits for the receipt.
/// Its output (the tx hash on the first line).
fn transfer(
    net: &Devnet,
    dir: &Path,
    rpc: &str,
    from: usize,
    to: usize,
    amount: u64,
    wait: u64,
) -> String {
    let (from, to, amount, wait) = (
        from.to_string(),
        to.to_string(),
        amount.to_string(),
        wait.to_string(),
    );
    cli(
        net,
        dir,
        &[
            "tx",
            "transfer",
            "--node-url",
            rpc,
            "--from",
            &from,
            "--to",
            &to,
            "--amount",
            &amount,
            "--wait",
            &wait,
        ],
    )
}

/// `cairn tx transfer` (public) that must reach a checkpointed receipt within 90 s; its output.
fn transfer_checkpointed(
    net: &Devnet,
    dir: &Path,
    rpc: &str,
    from: usize,
    to: usize,
    amount: u64,
) -> String {
    let out = transfer(net, dir, rpc, from, to, amount, 90);
    assert!(out.contains("\"checkpointed\""), "{out}");
    out
}

/// Registers 4 validators and warps L1 to the first epoch whose committee includes them.
fn validators(net: &Devnet, tmp: &Path) -> PathBuf {
    let keys = cairn_tests::node::register_four_validators(net, tmp, M, FEE);
    let ks = tmp.join("keystore");
    std::fs::create_dir_all(&ks).unwrap();
    std::fs::rename(keys.join("key1.json"), ks.join("key1.json")).unwrap();
    // A validator flushed at t is sampled for epochs ≥ 2 + ceil((t − genesis) / epoch): jump
    // straight to the start of epoch 3 (devnet only: anvil's clock).
    let c = Chain1::of(net);
    let genesis: u64 = c.l1.call(c.rollup, &R::getGenesisTimeCall {}).unwrap().to();
    c.warp_to(genesis + 3 * c.epoch_seconds());
    ks
}

/// A staking provider's validators: the provider registers (5 % take rate, rewards to L1
/// account 7) and queues the 4 keys; a delegator (L1 account 8) stakes all 4, which creates
/// one split per validator; `provider coinbases --write` makes each split its validator's
/// coinbase in the keystore. Returns the keystore directory, the provider id and the splits.
fn provider_validators(net: &Devnet, tmp: &Path) -> (PathBuf, String, Vec<String>) {
    let keys = tmp.join("keys");
    let ks = tmp.join("keystore");
    std::fs::create_dir_all(&ks).unwrap();
    cli(
        net,
        tmp,
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M,
            "--count",
            "4",
            "--staker-output",
            "--data-dir",
            &keys.to_string_lossy(),
        ],
    );
    let key_file = |name: &str, key: &str| {
        let p = tmp.join(name);
        std::fs::write(&p, key).unwrap();
        p.to_string_lossy().to_string()
    };
    let admin_kf = key_file("admin.key", &net.account(0).1);
    let (recipient, _) = net.account(7);
    let reg: Value = serde_json::from_str(&cli(
        net,
        tmp,
        &[
            "provider",
            "register",
            "--private-key-file",
            &admin_kf,
            "--take-rate",
            "500",
            "--rewards-recipient",
            &recipient,
            "--json",
        ],
    ))
    .unwrap();
    let id = reg["providerIdentifier"].as_str().unwrap().to_string();
    let registration = keys.join("key1_staker_output.json");
    cli(
        net,
        tmp,
        &[
            "provider",
            "add-keys",
            "--private-key-file",
            &admin_kf,
            "--provider-id",
            &id,
            "--from",
            &registration.to_string_lossy(),
        ],
    );
    let delegator_kf = key_file("delegator.key", &net.account(8).1);
    let staked: Value = serde_json::from_str(&cli(
        net,
        tmp,
        &[
            "stake",
            "--private-key-file",
            &delegator_kf,
            "--provider-id",
            &id,
            "--count",
            "4",
            "--json",
        ],
    ))
    .unwrap();
    let splits: Vec<String> = staked["stakes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["split"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(splits.len(), 4, "{staked}");
    cli(net, tmp, &["flush-entry-queue"]);
    std::fs::rename(keys.join("key1.json"), ks.join("key1.json")).unwrap();
    let keystore = ks.join("key1.json");
    cli(
        net,
        tmp,
        &[
            "provider",
            "coinbases",
            "--provider-id",
            &id,
            "--keystore",
            &keystore.to_string_lossy(),
            "--write",
        ],
    );
    // The keystore directory holds exactly one keystore: the editor's backup goes elsewhere.
    let _ = std::fs::remove_file(ks.join("key1.json.bak"));
    let c = Chain1::of(net);
    let genesis: u64 = c.l1.call(c.rollup, &R::getGenesisTimeCall {}).unwrap().to();
    c.warp_to(genesis + 3 * c.epoch_seconds());
    (ks, id, splits)
}

fn balance(net: &Devnet, node: &NodeProc, account: usize) -> u128 {
    let out = cli(
        net,
        Path::new("."),
        &[
            "tx",
            "balance",
            "--node-url",
            &node.rpc,
            "--account",
            &account.to_string(),
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    v["token"].as_str().unwrap().parse().unwrap()
}

/// Checks on L1 that block `n` was proposed with valid attestations from the committee.
fn attestations_valid(net: &Devnet, node: &NodeProc, n: u64) -> usize {
    let block = node.call("node_getBlock", json!([n])).unwrap();
    let Chain1 { l1, rollup, .. } = Chain1::of(net);
    let (_, input) = l1
        .transaction_input(block["l1Tx"].as_str().unwrap().parse().unwrap())
        .unwrap();
    let call = R::proposeCall::abi_decode(&input).expect("a propose call");
    let stored = l1
        .call(
            rollup,
            &R::getCheckpointCall {
                _checkpointNumber: U256::from(n),
            },
        )
        .unwrap();
    let header_hash = cairn_consensus::header::ProposedHeader::try_from(&call._args.header)
        .unwrap()
        .hash();
    assert_eq!(stored.headerHash, header_hash, "L1 stored our header hash");
    let digest = attest::payload_digest(
        call._args.archive,
        call._args.oracleInput.feeAssetPriceModifier,
        header_hash,
    );
    assert_eq!(stored.payloadDigest, digest);
    let epoch = l1
        .call(
            rollup,
            &R::getEpochForCheckpointCall {
                _checkpointNumber: U256::from(n),
            },
        )
        .unwrap();
    let committee = l1
        .call(rollup, &R::getEpochCommitteeCall { _epoch: epoch })
        .unwrap();
    let att = attest::CommitteeAttestations {
        signature_indices: call._attestations.signatureIndices.to_vec(),
        signatures_or_addresses: call._attestations.signaturesOrAddresses.to_vec(),
    };
    let (members, sigs) = attest::unpack(&att, &call._signers, committee.len()).unwrap();
    assert_eq!(members, committee, "packed in committee order");
    let eth_hash = attest::eth_signed_message_hash(digest);
    let mut valid = 0;
    for (m, s) in members.iter().zip(&sigs) {
        if let Some(s) = s {
            let mut rsv = [0u8; 65];
            rsv[..64].copy_from_slice(&s[1..]);
            rsv[64] = s[0];
            let who =
                cairn_crypto::eth::recover_hash(&eth_hash.0, &cairn_crypto::EthSignature(rsv))
                    .unwrap();
            assert_eq!(
                Address::from(who.0),
                *m,
                "signature recovers to its committee member"
            );
            valid += 1;
        }
    }
    assert!(valid >= cairn_consensus::committee::attestation_threshold(committee.len()));
    valid
}

#[test]
fn node_proposes_attests_proves_restarts_and_rebuilds_from_l1() {
    let net = Devnet::start();
    let tmp = tempfile::tempdir().unwrap();
    let (ks, provider, splits) = provider_validators(&net, tmp.path());
    let data = tmp.path().join("data");
    let mut node = NodeProc::start(&net, &data, Some(&ks), None, tmp.path().join("node1.log"));

    // Blocks land on L1 and the proven tip follows.
    node.wait_for("two blocks and a proof", 180, |n| {
        n.tips().is_some_and(|(l, p)| l >= 2 && p >= 1)
    });
    assert_eq!(
        attestations_valid(&net, &node, 1),
        4,
        "all four local members attested"
    );

    // Rewards accrued to the proposer's coinbase with the proof. Locked until the Rollup's owner
    // lets them out (on the devnet: `devnet unlock-rewards`); then anyone releases them to the
    // coinbase, and the coinbase's fee-asset balance grows by exactly what was released.
    let coinbase = node.call("node_getBlock", json!([1])).unwrap()["coinbase"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        splits.iter().any(|s| s.eq_ignore_ascii_case(&coinbase)),
        "block 1's coinbase {coinbase} is one of the provider's splits {splits:?}"
    );
    let shown: Value = serde_json::from_str(&cli(
        &net,
        tmp.path(),
        &["rewards", "show", "--coinbase", &coinbase, "--json"],
    ))
    .unwrap();
    assert_eq!(shown["claimable"], false, "{shown}");
    assert!(
        shown["reason"]
            .as_str()
            .unwrap()
            .contains("devnet unlock-rewards"),
        "{shown}"
    );
    let accrued: U256 = shown["coinbases"][0]["accrued"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(accrued > U256::ZERO, "{shown}");
    let claim = |who: &str| {
        run_cairn(
            tmp.path(),
            &["rewards", "claim", "--coinbase", who, "--json"].map(String::from),
            &net.env(),
        )
    };
    let locked = claim(&coinbase);
    assert!(!locked.status.success());
    assert!(
        String::from_utf8_lossy(&locked.stderr).contains("locked"),
        "{}",
        String::from_utf8_lossy(&locked.stderr)
    );
    cli(&net, tmp.path(), &["devnet", "unlock-rewards"]);
    let nobody = claim("0x00000000000000000000000000000000000000a1");
    assert!(
        String::from_utf8_lossy(&nobody.stderr).contains("nothing to claim"),
        "{}",
        String::from_utf8_lossy(&nobody.stderr)
    );
    let l1 = L1::connect(RpcClient::new(&[net.rpc()]).unwrap(), Some(31337)).unwrap();
    let rollup: Address = net.address("rollup").parse().unwrap();
    let fee_asset = l1
        .call(rollup, &cairn_l1::abi::IRollup::getFeeAssetCall {})
        .unwrap();
    let cb: Address = coinbase.parse().unwrap();
    let fee_balance = || {
        l1.call(
            fee_asset,
            &cairn_l1::abi::IERC20::balanceOfCall { owner: cb },
        )
        .unwrap()
    };
    let before = fee_balance();
    let out = claim(&coinbase);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let claimed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let amount: U256 = claimed["claimed"][0]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // A later proof may have added to it between show and claim.
    assert!(amount >= accrued, "{claimed}");
    assert_eq!(fee_balance() - before, amount);

    // The split pays the provider's rewards recipient its take rate and the delegator the rest,
    // exactly as the split's own rounding gives for the split as created (read from the
    // factory's event, not from cairn): the split keeps 1 wei, each share is
    // floor(moved × allocation / total), and the warehouse keeps 1 wei of each.
    {
        let sr: Address = net.address("stakingRegistry").parse().unwrap();
        let p = cairn_tests::split_created(&l1, sr, cb);
        let (provider_recipient, _) = net.account(7);
        let (delegator, _) = net.account(8);
        let mut recipients: Vec<String> = p.recipients.iter().map(|r| format!("{r:#x}")).collect();
        recipients.sort();
        let mut want = vec![provider_recipient.to_lowercase(), delegator.to_lowercase()];
        want.sort();
        assert_eq!(
            recipients, want,
            "the split pays the provider and the delegator"
        );
        let token = |who: Address| {
            l1.call(
                fee_asset,
                &cairn_l1::abi::IERC20::balanceOfCall { owner: who },
            )
            .unwrap()
        };
        let in_split = token(cb);
        let before: Vec<U256> = p.recipients.iter().map(|r| token(*r)).collect();
        let out: Value = serde_json::from_str(&cli(
            &net,
            tmp.path(),
            &[
                "provider",
                "distribute",
                "--provider-id",
                &provider,
                "--split",
                &coinbase,
                "--json",
            ],
        ))
        .unwrap();
        let moved = in_split - U256::from(1);
        assert_eq!(out["splits"][0]["distributed"], moved.to_string(), "{out}");
        for (i, r) in p.recipients.iter().enumerate() {
            let share = moved * p.allocations[i] / p.totalAllocation;
            assert_eq!(
                token(*r) - before[i],
                share - U256::from(1),
                "recipient {r}"
            );
        }
        assert_eq!(token(cb), U256::from(1));
    }
    let status = ureq::get(&format!("{}/status", node.rpc)).call().unwrap();
    assert_eq!(status.status(), 200);
    let metrics = ureq::get(&format!("{}/metrics", node.rpc))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        metrics.contains("cairn_sequencer_attestations_required 3"),
        "{metrics}"
    );
    cairn_tests::node::promtool_check(&metrics);

    // A transfer reaches a checkpointed receipt with its effects.
    let before = (balance(&net, &node, 2), balance(&net, &node, 3));
    transfer_checkpointed(&net, tmp.path(), &node.rpc, 2, 3, 25);
    assert_eq!(balance(&net, &node, 2), before.0 - 25);
    assert_eq!(balance(&net, &node, 3), before.1 + 25);

    // Its fee reaches L1 with the epoch proof: the fee juice portal has paid out exactly the
    // fees of the proven checkpoints (each its mana × fee per mana), and they are not zero.
    let (with_fee, _) = node.tips().unwrap();
    node.wait_for("the transfer's block proven", 180, |n| {
        n.tips().is_some_and(|(_, p)| p >= with_fee)
    });
    let portal = l1
        .call(rollup, &cairn_l1::abi::IRollup::getFeeAssetPortalCall {})
        .unwrap();
    let proven_on_l1 = || -> u64 {
        l1.call(
            rollup,
            &cairn_l1::abi::IRollup::getProvenCheckpointNumberCall {},
        )
        .unwrap()
        .to()
    };
    let (proven, paid_out) = loop {
        let p = proven_on_l1();
        let held = l1
            .call(
                fee_asset,
                &cairn_l1::abi::IERC20::balanceOfCall { owner: portal },
            )
            .unwrap();
        if proven_on_l1() == p {
            let funded: U256 = net.manifest["derived"]["feeJuicePortalInitialBalance"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            break (p, funded - held);
        }
    };
    let mut fees = U256::ZERO;
    for n in 1..=proven {
        let b = node.call("node_getBlock", json!([n])).unwrap();
        let fee_per_mana: u128 = b["feePerMana"].as_str().unwrap().parse().unwrap();
        fees += U256::from(b["gasUsed"].as_u64().unwrap()) * U256::from(fee_per_mana);
    }
    assert!(fees > U256::ZERO, "the transfer paid a fee");
    assert_eq!(
        paid_out, fees,
        "the portal paid the proven checkpoints' fees"
    );

    // A private transfer: the wallet proves the note spend against the node's witness; the
    // nullifier lands, so spending the same note again is a typed double spend.
    let args = [
        "tx",
        "transfer",
        "--node-url",
        &node.rpc,
        "--private",
        "--from",
        "8",
        "--to",
        "9",
        "--amount",
        "300",
        "--wait",
        "90",
    ];
    let out = cli(&net, tmp.path(), &args);
    assert!(out.contains("\"checkpointed\""), "{out}");
    let again = run_cairn(
        tmp.path(),
        &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        &net.env(),
    );
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("double-spend"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // Bad input gets typed JSON-RPC errors.
    let e = node.call("node_sendTx", json!(["0x0102"])).unwrap_err();
    assert!(e.contains("malformed"), "{e}");
    let e = node.call("node_noSuchMethod", json!([])).unwrap_err();
    assert!(e.contains("-32601"), "{e}");
    let raw = ureq::post(&node.rpc)
        .send_string("{not json")
        .unwrap()
        .into_string()
        .unwrap();
    assert!(raw.contains("-32700"), "{raw}");
    let mut wrong = cairn_zk::scenario::Scenario::new(4).transfer(0, 1, 1, 1);
    wrong.chain_id = 1;
    let e = node
        .call(
            "node_sendTx",
            json!([format!("0x{}", hex::encode(wrong.encode()))]),
        )
        .unwrap_err();
    assert!(e.contains("wrong-chain-id"), "{e}");
    // Bound to the right chain but another rollup version (the scenario's 1, not the Rollup's).
    let other = cairn_zk::scenario::Scenario::new(4).transfer(0, 1, 1, 2);
    let e = node
        .call(
            "node_sendTx",
            json!([format!("0x{}", hex::encode(other.encode()))]),
        )
        .unwrap_err();
    assert!(e.contains("wrong-rollup-version"), "{e}");
    // The admin API wants its key.
    let denied = ureq::post(&node.admin)
        .send_json(json!({"jsonrpc": "2.0", "id": 1, "method": "nodeAdmin_getConfig"}));
    assert!(matches!(denied, Err(ureq::Error::Status(401, _))));
    let cfg = node.admin_call("nodeAdmin_getConfig", json!([]));
    assert_eq!(cfg["result"]["sequencer"], true);
    // No tx cap unless the operator sets one (the blobs, the mana limit and the build time
    // decide); a cap can be set and removed at run time, and a zero cap is refused.
    assert_eq!(cfg["result"]["maxTxsPerBlock"], Value::Null);
    let cap = |v: Value| node.admin_call("nodeAdmin_setConfig", json!([{ "maxTxsPerBlock": v }]));
    let current =
        || node.admin_call("nodeAdmin_getConfig", json!([]))["result"]["maxTxsPerBlock"].clone();
    assert_eq!(cap(json!(700))["result"], true);
    assert_eq!(current(), json!(700));
    assert!(cap(json!(0))["error"]["message"]
        .as_str()
        .unwrap()
        .contains("maxTxsPerBlock"));
    assert_eq!(current(), json!(700));
    assert_eq!(cap(Value::Null)["result"], true);
    assert_eq!(current(), Value::Null);

    // kill -9 at a fixed point of a proposal (the test build's fault switch parks the duty
    // there): after the slashing guard recorded the slot's payload, before anything was
    // published. Nothing acknowledged is lost, and the slot is never signed differently.
    let pending_hash = cli(
        &net,
        tmp.path(),
        &[
            "tx",
            "transfer",
            "--node-url",
            &node.rpc,
            "--from",
            "4",
            "--to",
            "5",
            "--amount",
            "3",
        ],
    )
    .trim()
    .to_string();
    let (tip_before, _) = node.tips().unwrap();
    let crash1 = crash_at(&mut node, "after-guard-record");
    // From here the node reaches L1 through a proxy that can cut the line.
    let proxy = cairn_tests::Proxy::start(net.rpc().trim_start_matches("http://"));
    let node2 = NodeProc::start(
        &net,
        &data,
        Some(&ks),
        Some(proxy.url.as_str()),
        tmp.path().join("node2.log"),
    );
    node2.wait_for("blocks after restart", 120, |n| {
        n.tips().is_some_and(|(l, _)| l >= tip_before + 2)
    });
    node2.wait_for("the acknowledged tx", 90, |n| {
        n.call("node_getTxReceipt", json!([pending_hash]))
            .is_ok_and(|r| r["status"] == "checkpointed")
    });
    let log2 = std::fs::read_to_string(&node2.log).unwrap();
    assert!(
        !log2.contains("SlotAlreadyInChain"),
        "a slot was proposed twice:\n{log2}"
    );
    assert_only_signed(&net, &crash1);

    // An L1 outage: /status turns 500 with the reason, and the node recovers when L1 returns.
    let status = |n: &NodeProc| -> (u16, String) {
        match ureq::get(&format!("{}/status", n.rpc)).call() {
            Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap_or_default()),
            Err(e) => (0, e.to_string()),
        }
    };
    proxy.set_up(false);
    node2.wait_for("/status 500 during the outage", 60, |n| {
        let (c, body) = status(n);
        c == 500 && body.contains("L1")
    });
    proxy.set_up(true);
    let (at_recovery, _) = node2.tips().unwrap();
    node2.wait_for("recovery after the outage", 120, |n| {
        status(n).0 == 200 && n.tips().is_some_and(|(l, _)| l > at_recovery)
    });

    // Hot swap on the live node through the admin API (public-execution 1.1.0) while txs
    // stream in: every tx gets exactly one receipt and lands in exactly one block, some before
    // the swap and some after it.
    let (stream_from, _) = node2.tips().unwrap();
    let hashes = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let refused = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let streaming = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sender = {
        let (hashes, refused, streaming) = (hashes.clone(), refused.clone(), streaming.clone());
        let (rpc, env, dir) = (node2.rpc.clone(), net.env(), tmp.path().to_path_buf());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while streaming.load(std::sync::atomic::Ordering::SeqCst) {
                let args: Vec<String> = [
                    "tx",
                    "transfer",
                    "--node-url",
                    &rpc,
                    "--from",
                    &(12 + i % 4).to_string(),
                    "--to",
                    "1",
                    "--amount",
                    "1",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                let out = run_cairn(&dir, &args, &env);
                if out.status.success() {
                    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
                    hashes.lock().unwrap().push(hash);
                } else {
                    refused
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&out.stderr).to_string());
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(400));
            }
        })
    };
    // A tx the node refuses mid-stream (say, for an anchor it rolled back) fails the test at
    // once, with the node's answer.
    let no_refusals = || {
        let r = refused.lock().unwrap();
        assert!(r.is_empty(), "the node refused streamed txs: {r:?}");
    };
    let receipt = |n: &NodeProc, h: &str| n.call("node_getTxReceipt", json!([h])).ok();
    node2.wait_for("a streamed tx checkpointed before the swap", 90, |n| {
        no_refusals();
        let first = hashes.lock().unwrap().first().cloned();
        first.is_some_and(|h| receipt(n, &h).is_some_and(|r| r["status"] == "checkpointed"))
    });
    let comps = components();
    let v2 = tmp.path().join("public-execution-v1.1.0.wasm");
    std::fs::write(&v2, &comps["public-execution-v2"]).unwrap();
    let load: Value = ureq::post(&node2.admin)
        .set("Authorization", &format!("Bearer {ADMIN_KEY}"))
        .send_json(json!({"jsonrpc": "2.0", "id": 1, "method": "nodeAdmin_loadModule", "params": ["public-execution", v2.to_string_lossy()]}))
        .unwrap()
        .into_json()
        .unwrap();
    assert!(load.get("error").is_none(), "{load}");
    let since = |n: &NodeProc| -> Option<u64> {
        let info = n.call("node_getNodeInfo", json!([])).ok()?;
        info["stages"].as_array()?.iter().find_map(|s| {
            (s["stage"] == "public-execution" && s["module"].as_str()?.ends_with("@1.1.0"))
                .then(|| s["sinceBlock"].as_u64())?
        })
    };
    node2.wait_for("the swap to take effect at a block boundary", 90, |n| {
        since(n).is_some()
    });
    let swapped_at = since(&node2).unwrap();
    // A few more txs after the boundary, then stop and let everything land.
    let sent_at_swap = hashes.lock().unwrap().len();
    node2.wait_for("txs sent after the swap", 30, |_| {
        no_refusals();
        hashes.lock().unwrap().len() >= sent_at_swap + 3
    });
    streaming.store(false, std::sync::atomic::Ordering::SeqCst);
    sender.join().unwrap();
    no_refusals();
    let sent = hashes.lock().unwrap().clone();
    node2.wait_for("every streamed tx checkpointed", 120, |n| {
        sent.iter()
            .all(|h| receipt(n, h).is_some_and(|r| r["status"] == "checkpointed"))
    });
    let (stream_to, _) = node2.tips().unwrap();
    let mut seen = std::collections::BTreeMap::<String, Vec<u64>>::new();
    for b in stream_from..=stream_to {
        let block = node2.call("node_getBlock", json!([b])).unwrap();
        for h in block["txHashes"].as_array().unwrap() {
            seen.entry(h.as_str().unwrap().to_string())
                .or_default()
                .push(b);
        }
    }
    let mut before_swap = 0;
    let mut after_swap = 0;
    for h in &sent {
        let blocks = seen.get(h).cloned().unwrap_or_default();
        assert_eq!(blocks.len(), 1, "tx {h} is in blocks {blocks:?}");
        let r = receipt(&node2, h).unwrap();
        assert_eq!(r["blockNumber"].as_u64(), Some(blocks[0]), "{r}");
        if blocks[0] < swapped_at {
            before_swap += 1;
        } else {
            after_swap += 1;
        }
    }
    assert!(
        before_swap > 0 && after_swap > 0,
        "the swap at block {swapped_at} did not happen mid-stream ({before_swap} txs before, {after_swap} after)"
    );

    // A fresh node that never swapped (no keys, the built-in 1.0.0 stages) rebuilds the same
    // chain from L1 alone (events, calldata, blobs): the same roots before and after the swap.
    let fresh = NodeProc::start(
        &net,
        &tmp.path().join("fresh"),
        None,
        None,
        tmp.path().join("fresh.log"),
    );
    let (latest, _) = node2.tips().unwrap();
    fresh.wait_for("fresh node sync", 120, |n| {
        n.tips().is_some_and(|(l, _)| l >= latest)
    });
    let fresh_stages = fresh.call("node_getNodeInfo", json!([])).unwrap()["stages"].to_string();
    assert!(!fresh_stages.contains("1.1.0"), "{fresh_stages}");
    for n in [1, swapped_at - 1, swapped_at, latest] {
        let a = node2.call("node_getBlock", json!([n])).unwrap();
        let b = fresh.call("node_getBlock", json!([n])).unwrap();
        for k in [
            "archive",
            "noteRoot",
            "nullifierRoot",
            "publicDataRoot",
            "txHashes",
        ] {
            assert_eq!(a[k], b[k], "block {n} {k}");
        }
    }
    for account in [1, 3, 12, 13, 14, 15] {
        assert_eq!(
            balance(&net, &fresh, account),
            balance(&net, &node2, account)
        );
    }
    drop(fresh);
    assert_no_fallbacks(&node2);

    // kill -9 after the propose transaction was mined and before the node's store committed
    // the block: the restart takes the checkpoint from L1 and signs nothing else for the slot.
    let mut node2 = node2;
    let crash2 = crash_at(&mut node2, "after-publish");
    drop(node2);
    let node3 = NodeProc::start(&net, &data, Some(&ks), None, tmp.path().join("node3.log"));
    node3.wait_for(
        "the restarted node past the published checkpoint",
        120,
        |n| {
            n.tips()
                .is_some_and(|(l, _)| l >= crash2.checkpoint.unwrap_or(u64::MAX))
        },
    );
    let n = crash2.checkpoint.unwrap();
    let c = Chain1::of(&net);
    let theirs =
        c.l1.call(
            c.rollup,
            &R::archiveAtCall {
                _checkpointNumber: U256::from(n),
            },
        )
        .unwrap();
    let ours = node3.call("node_getBlock", json!([n])).unwrap();
    assert_eq!(ours["archive"].as_str().unwrap(), format!("{theirs:#x}"));
    assert_only_signed(&net, &crash2);

    // The module registry survives a restart; a rollback through the admin API returns to 1.0.0.
    let stages = node3.call("node_getNodeInfo", json!([])).unwrap()["stages"].to_string();
    assert!(stages.contains("1.1.0"), "registry not restored: {stages}");
    let rb = node3.admin_call("nodeAdmin_rollbackModule", json!(["public-execution"]));
    assert!(rb.get("error").is_none(), "{rb}");
    let stages = node3.call("node_getNodeInfo", json!([])).unwrap()["stages"].to_string();
    assert!(!stages.contains("1.1.0"), "rollback did not take: {stages}");
    assert!(
        stages.contains("cairn-stage-public-execution@1.0.0"),
        "not back on the built-in component: {stages}"
    );

    // The node's own store: the guard still holds exactly the payloads signed before each crash.
    drop(node3);
    let store = cairn_node::store::Store::open(&data).unwrap();
    for crash in [&crash1, &crash2] {
        let duties = store.duties(crash.slot).unwrap();
        assert!(!duties.is_empty(), "slot {}: no duty recorded", crash.slot);
        for (kind, _, _, digest) in duties {
            // The publish signature is over the packed attestations, not the payload.
            if kind != cairn_node::store::DutyKind::AttestationsAndSigners {
                assert_eq!(digest, crash.digest, "slot {} {}", crash.slot, kind.name());
            }
        }
    }
    drop(store);

    // kill -9 while the chain service commits a block (the block and its tree writes in the
    // open database transaction), then right after such a commit: each restart opens the
    // stored state in place and checks it against the tip's header, and the node goes on to
    // build blocks on it that the Rollup accepts, with the archives L1 holds.
    let mut node = NodeProc::start(&net, &data, Some(&ks), None, tmp.path().join("node4.log"));
    for (i, point) in ["mid-block-commit", "after-block-commit"]
        .iter()
        .enumerate()
    {
        node.wait_for("the node's API", 60, |n| n.tips().is_some());
        let crash = crash_at(&mut node, point);
        // The fault point names the block being committed.
        let block = crash.slot;
        drop(node);
        node = NodeProc::start(
            &net,
            &data,
            Some(&ks),
            None,
            tmp.path().join(format!("node{}.log", 5 + i)),
        );
        node.wait_for(
            &format!("blocks on the state recovered from {point}"),
            120,
            |n| n.tips().is_some_and(|(l, _)| l >= block + 2),
        );
        let log = std::fs::read_to_string(&node.log).unwrap();
        assert!(log.contains("chain and world state opened"), "{log}");
        assert!(
            !log.contains("from the stored blocks"),
            "the restart rebuilt the state instead of opening it:\n{log}"
        );
        let c = Chain1::of(&net);
        for n in [block, block + 1, block + 2] {
            let theirs =
                c.l1.call(
                    c.rollup,
                    &R::archiveAtCall {
                        _checkpointNumber: U256::from(n),
                    },
                )
                .unwrap();
            let ours = node.call("node_getBlock", json!([n])).unwrap();
            assert_eq!(
                ours["archive"].as_str().unwrap(),
                format!("{theirs:#x}"),
                "{point}: block {n}"
            );
        }
    }

    // A damaged state (a tree's root node overwritten, as a bad disk would): the node refuses
    // to start and names the way out; `cairn db rebuild` recovers it and the node goes on.
    let (tip, _) = node.tips().unwrap();
    drop(node);
    cairn_node::store::Store::open(&data)
        .unwrap()
        .damage_state_for_test()
        .unwrap();
    let mut refused = NodeProc::start(&net, &data, Some(&ks), None, tmp.path().join("node7.log"));
    assert!(!refused.wait_exit(90).success());
    let log = std::fs::read_to_string(&refused.log).unwrap();
    assert!(
        log.contains("does not match block") && log.contains("cairn db rebuild"),
        "{log}"
    );
    let out = run_cairn(
        tmp.path(),
        &[
            "db".to_string(),
            "rebuild".to_string(),
            "--data-directory".to_string(),
            data.display().to_string(),
        ],
        &net.env(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let node = NodeProc::start(&net, &data, Some(&ks), None, tmp.path().join("node8.log"));
    node.wait_for("blocks after the rebuild", 120, |n| {
        n.tips().is_some_and(|(l, _)| l >= tip + 2)
    });
}

/// Where a node was crashed by a fault point: the slot, the payload digest it had recorded
/// for it, and the checkpoint number (after publishing).
struct Crash {
    slot: u64,
    digest: [u8; 32],
    checkpoint: Option<u64>,
}

/// Arms `point` through the admin API (test builds only), waits until the node's duty is
/// parked there, and kills the node with SIGKILL.
fn crash_at(node: &mut NodeProc, point: &str) -> Crash {
    let armed = node.admin_call("nodeAdmin_armFaultPoint", json!([point]));
    assert_eq!(armed["result"], point, "{armed}");
    let log_path = node.log.clone();
    let line = || {
        std::fs::read_to_string(&log_path)
            .ok()?
            .lines()
            .find(|l| l.contains("fault point reached") && l.contains(point))
            .map(str::to_string)
    };
    node.wait_for(&format!("the fault point {point}"), 120, |_| {
        line().is_some()
    });
    node.kill9();
    let line = line().unwrap();
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k} in {line}"))
            .to_string()
    };
    let digest = hex::decode(field("digest").trim_start_matches("0x")).unwrap();
    Crash {
        slot: field("slot").parse().unwrap(),
        digest: digest.try_into().unwrap(),
        checkpoint: (point == "after-publish").then(|| field("checkpoint").parse().unwrap()),
    }
}

/// On L1, every checkpoint of the crashed slot carries the payload signed before the crash.
fn assert_only_signed(net: &Devnet, crash: &Crash) {
    let c = Chain1::of(net);
    let pending = c.l1.call(c.rollup, &R::getTipsCall {}).unwrap().pending;
    let mut found = 0;
    for n in 1..=pending.to::<u64>() {
        let log =
            c.l1.call(
                c.rollup,
                &R::getCheckpointCall {
                    _checkpointNumber: U256::from(n),
                },
            )
            .unwrap();
        if log.slotNumber == U256::from(crash.slot) {
            assert_eq!(log.payloadDigest.0, crash.digest, "checkpoint {n}");
            found += 1;
        }
    }
    assert_eq!(
        found,
        usize::from(crash.checkpoint.is_some()),
        "checkpoints on L1 for slot {}",
        crash.slot
    );
}

/// Every stage ran as a component and none fell back to native code.
fn assert_no_fallbacks(node: &NodeProc) {
    cairn_tests::assert_no_native_fallbacks(&node.rpc);
    let info = node.call("node_getNodeInfo", json!([])).unwrap();
    for s in info["stages"].as_array().unwrap() {
        assert_eq!(s["component"], true, "{info}");
    }
}

#[test]
fn an_expired_proof_window_prunes_and_the_node_rebuilds_from_the_proven_tip() {
    let net = Devnet::start();
    let tmp = tempfile::tempdir().unwrap();
    let ks = validators(&net, tmp.path());
    // No prover, and publishers in order: an empty account (skipped: balance watched), then a
    // funded one.
    let (_, funded) = net.account(6);
    let empty = "0x00000000000000000000000000000000000000000000000000000000000000aa".to_string();
    let node = NodeProc::start_with(
        &net,
        &tmp.path().join("data"),
        Some(&ks),
        None,
        tmp.path().join("noprover.log"),
        false,
        &[("SEQ_PUBLISHER_PRIVATE_KEYS", format!("{empty},{funded}"))],
    );
    node.wait_for("two unproven blocks", 120, |n| {
        n.tips().is_some_and(|(l, p)| l >= 2 && p == 0)
    });
    let log = std::fs::read_to_string(&node.log).unwrap();
    assert!(
        log.contains("publisher balance low"),
        "the empty publisher was not skipped"
    );
    let metrics = ureq::get(&format!("{}/metrics", node.rpc))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        metrics.contains("cairn_l1_publisher_balance_wei 0\n"),
        "{metrics}"
    );
    let before = balance(&net, &node, 10);
    let out = transfer_checkpointed(&net, tmp.path(), &node.rpc, 11, 10, 9);
    let hash = out.lines().next().unwrap().trim().to_string();
    assert_eq!(balance(&net, &node, 10), before + 9);
    // Nobody proves: move L1 past the proof window. Every pending checkpoint is now prunable.
    let c = Chain1::of(&net);
    let (l1, rollup) = (&c.l1, c.rollup);
    let now = l1.latest_timestamp().unwrap();
    let later = now + 3 * c.epoch_seconds();
    c.warp_to(later);
    assert!(l1
        .call(
            rollup,
            &R::canPruneAtTimeCall {
                _ts: U256::from(later)
            }
        )
        .unwrap());
    // The node rolls back to the proven tip (0) and builds a new chain on the proven archive
    // (the first proposal prunes on L1 and reuses the numbers). The transfer's anchor was on
    // the pruned chain: it is not lost silently, its receipt says why, and a resubmission lands.
    node.wait_for("the transfer dropped with its reason", 120, |n| {
        n.call("node_getTxReceipt", json!([hash]))
            .is_ok_and(|r| r["status"] == "dropped" && r["code"] == "unknown-anchor")
    });
    let log = std::fs::read_to_string(&node.log).unwrap();
    assert!(log.contains("rolled back to L1"), "no rollback logged");
    assert_eq!(balance(&net, &node, 10), before);
    transfer_checkpointed(&net, tmp.path(), &node.rpc, 11, 10, 9);
    let (latest, _) = node.tips().unwrap();
    let tips = l1.call(rollup, &R::getTipsCall {}).unwrap();
    assert!(
        tips.pending >= U256::from(latest),
        "L1 pending {} < node {latest}",
        tips.pending
    );
    let ours = node.call("node_getBlock", json!([latest])).unwrap();
    let theirs = l1
        .call(
            rollup,
            &R::archiveAtCall {
                _checkpointNumber: U256::from(latest),
            },
        )
        .unwrap();
    assert_eq!(ours["archive"].as_str().unwrap(), format!("{theirs:#x}"));
    // The transfer counts exactly once.
    assert_eq!(balance(&net, &node, 10), before + 9);
}

#[test]
fn an_l1_reorg_that_drops_checkpoints_rolls_the_node_back_and_it_proposes_again() {
    let net = Devnet::start();
    let tmp = tempfile::tempdir().unwrap();
    let ks = validators(&net, tmp.path());
    let node = NodeProc::start_with(
        &net,
        &tmp.path().join("data"),
        Some(&ks),
        None,
        tmp.path().join("reorg.log"),
        false,
        &[],
    );
    node.wait_for("three blocks", 120, |n| {
        n.tips().is_some_and(|(l, _)| l >= 3)
    });
    let Chain1 { rpc, l1, rollup } = Chain1::of(&net);
    let before = l1.call(rollup, &R::getTipsCall {}).unwrap().pending;
    // Replace the last blocks (one slot's worth and more) with empty ones: the newest
    // checkpoint's propose disappears from L1.
    let depth = 14u64;
    rpc.call("anvil_reorg", json!([depth, []])).unwrap();
    let after = l1.call(rollup, &R::getTipsCall {}).unwrap().pending;
    assert!(
        after < before,
        "the reorg did not remove a checkpoint ({before} → {after})"
    );
    let log_path = node.log.clone();
    node.wait_for("the rollback", 60, |_| {
        std::fs::read_to_string(&log_path).is_ok_and(|l| l.contains("rolled back to L1"))
    });
    // It proposes again on what L1 now holds, and agrees with L1 checkpoint by checkpoint. The
    // agreement is a condition to reach, not a snapshot: around the reorg the node's view can
    // run briefly ahead of L1 (once seen in CI: a checkpoint the node held that L1 no longer
    // had), and what must hold is that the archiver brings it back in line.
    let target: u64 = after.to::<u64>() + 2;
    let agrees = |n: &NodeProc| -> Result<u64, String> {
        let (latest, _) = n.tips().ok_or("no tips")?;
        for k in 1..=latest {
            let ours = n.call("node_getBlock", json!([k]))?;
            let theirs = l1
                .call(
                    rollup,
                    &R::archiveAtCall {
                        _checkpointNumber: U256::from(k),
                    },
                )
                .map_err(|e| e.to_string())?;
            if ours["archive"].as_str() != Some(format!("{theirs:#x}").as_str()) {
                return Err(format!(
                    "checkpoint {k}: {} vs L1 {theirs:#x}",
                    ours["archive"]
                ));
            }
        }
        Ok(latest)
    };
    node.wait_for(
        "new checkpoints after the reorg, agreeing with L1",
        180,
        |n| agrees(n).is_ok_and(|latest| latest >= target),
    );
}

#[test]
fn a_tx_sent_to_one_node_reaches_the_pool_of_a_node_it_gossips_with() {
    let net = Devnet::start();
    let tmp = tempfile::tempdir().unwrap();
    let p2p = |boot: Option<String>| {
        let mut env = vec![
            ("P2P_ENABLED", "true".to_string()),
            ("P2P_PORT", "0".to_string()),
            ("P2P_LISTEN_ADDR", "127.0.0.1".to_string()),
        ];
        if let Some(b) = boot {
            env.push(("BOOTSTRAP_NODES", b));
        }
        env
    };
    let start = |name: &str, env: &[(&str, String)]| {
        NodeProc::start_with(
            &net,
            &tmp.path().join(name),
            None,
            None,
            tmp.path().join(format!("{name}.log")),
            false,
            env,
        )
    };
    let a = start("a", &p2p(None));
    a.wait_for("node A", 60, |n| {
        n.call("node_getNodeInfo", json!([])).is_ok()
    });
    let info = a.call("node_getNodeInfo", json!([])).unwrap();
    let peer_id = info["peerId"].as_str().unwrap().to_string();
    let listen = info["listenAddresses"][0].as_str().unwrap().to_string();
    assert!(listen.starts_with("/ip4/127.0.0.1/tcp/"), "{info}");
    assert!(!listen.ends_with("/tcp/0"), "the real port: {info}");
    let b = start("b", &p2p(Some(format!("{listen}/p2p/{peer_id}"))));
    let peers = |n: &NodeProc| -> Vec<Value> {
        n.call("p2p_getPeers", json!([]))
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    };
    b.wait_for("B connected to A", 60, |n| {
        peers(n)
            .iter()
            .any(|p| p["id"] == peer_id.as_str() && p["direction"] == "outbound")
    });
    a.wait_for("A sees B", 60, |n| {
        peers(n).iter().any(|p| p["direction"] == "inbound")
    });
    let send = |from: u32| -> String {
        cli(
            &net,
            tmp.path(),
            &[
                "tx",
                "transfer",
                "--node-url",
                &a.rpc,
                "--from",
                &from.to_string(),
                "--to",
                "1",
                "--amount",
                "1",
            ],
        )
        .trim()
        .to_string()
    };
    let in_pool = |n: &NodeProc, h: &str| {
        n.call("node_getTxReceipt", json!([h]))
            .is_ok_and(|r| r["status"] == "pending")
    };
    // Gossip subscriptions settle just after connecting: the first tx that arrives proves the
    // path; every tx after it must arrive too.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let h = send(2);
        let arrived = (0..20).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            in_pool(&b, &h)
        });
        if arrived {
            break;
        }
        assert!(Instant::now() < deadline, "no tx reached B");
    }
    for from in 3..6 {
        let h = send(from);
        b.wait_for("the tx in B's pool", 30, |n| in_pool(n, &h));
    }
    // Off by default: a node without P2P_ENABLED has no p2p.
    let c = start("c", &[("P2P_MAX_PENDING_TX_COUNT", "2".to_string())]);
    c.wait_for("node C", 60, |n| {
        n.call("node_getNodeInfo", json!([])).is_ok()
    });
    let err = c.call("p2p_getPeers", json!([])).unwrap_err();
    assert!(err.contains("P2P_ENABLED"), "{err}");

    // Requests are served concurrently: two clients stalled half-way through their bodies
    // hold two workers, and /status still answers at once.
    let stalled: Vec<std::net::TcpStream> = (0..2)
        .map(|_| {
            use std::io::Write;
            let mut s = std::net::TcpStream::connect(c.rpc.trim_start_matches("http://")).unwrap();
            s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\"")
                .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    let st = ureq::get(&format!("{}/status", c.rpc))
        .timeout(Duration::from_secs(5))
        .call();
    assert!(
        st.is_ok() || matches!(st, Err(ureq::Error::Status(..))),
        "{st:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(5));
    drop(stalled);

    // C's pool holds 2 txs: a third at the same fee is refused, one paying more evicts the
    // lowest-paying tx, which gets a receipt that says so.
    let send_c = |from: u32, fee: Option<&str>| {
        let from = from.to_string();
        let mut args = vec![
            "tx",
            "transfer",
            "--node-url",
            &c.rpc,
            "--from",
            &from,
            "--to",
            "1",
            "--amount",
            "1",
        ];
        if let Some(f) = fee {
            args.extend(["--max-fee-per-mana", f]);
        }
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        run_cairn(tmp.path(), &args, &net.env())
    };
    let low = String::from_utf8_lossy(&send_c(2, Some("1000")).stdout)
        .trim()
        .to_string();
    let mid = send_c(3, Some("2000"));
    assert!(
        mid.status.success(),
        "{}",
        String::from_utf8_lossy(&mid.stderr)
    );
    let refused = send_c(4, Some("500"));
    assert!(!refused.status.success());
    let e = String::from_utf8_lossy(&refused.stderr);
    assert!(e.contains("P2P_MAX_PENDING_TX_COUNT"), "{e}");
    let high = send_c(5, Some("5000"));
    assert!(
        high.status.success(),
        "{}",
        String::from_utf8_lossy(&high.stderr)
    );
    let r = c.call("node_getTxReceipt", json!([low])).unwrap();
    assert_eq!(r["status"], "dropped", "{r}");
    assert_eq!(r["code"], "evicted", "{r}");
    let m = c
        .call(
            "node_getTxReceipt",
            json!([String::from_utf8_lossy(&mid.stdout).trim()]),
        )
        .unwrap();
    assert_eq!(m["status"], "pending", "{m}");
}

/// A devnet whose Rollup was deployed with Aztec's genesis archive stands in for Aztec's
/// networks: `cairn start --sequencer` refuses before writing anything and says why, while a
/// read-only node still follows it.
#[test]
fn a_node_refuses_to_sequence_on_a_rollup_deployed_for_another_l2() {
    let aztec = format!(
        "{:#x}",
        cairn_consensus::constants::AZTEC_GENESIS_ARCHIVE_ROOT
    );
    let net = Devnet::start_with(&["--genesis-archive-root", &aztec]);
    assert_eq!(
        net.manifest["derived"]["genesisArchiveRoot"],
        aztec.as_str()
    );
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    cli(
        &net,
        tmp.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M,
            "--count",
            "1",
            "--data-dir",
            &keys.to_string_lossy(),
        ],
    );
    let data = tmp.path().join("data");
    let mut node = NodeProc::start(&net, &data, Some(&keys), None, tmp.path().join("seq.log"));
    let status = node.wait_exit(120);
    let log = std::fs::read_to_string(&node.log).unwrap();
    assert!(!status.success(), "{log}");
    let rollup = net.address("rollup").to_lowercase();
    for needle in [
        "refusing to sequence on rollup",
        rollup.as_str(),
        aztec.as_str(),
        "Aztec's genesis",
        "without --sequencer",
    ] {
        assert!(
            log.to_lowercase().contains(&needle.to_lowercase()),
            "{needle:?} in:\n{log}"
        );
    }
    assert!(
        !data.join("node.redb").exists(),
        "nothing written before the refusal"
    );

    // Following it read-only stays allowed.
    let follower = NodeProc::start(&net, &data, None, None, tmp.path().join("follow.log"));
    follower.wait_for("the read-only node to answer", 60, |n| n.tips().is_some());
}

/// `cairn tx transfer` without waiting; the tx hash it prints.
fn send_transfer(net: &Devnet, dir: &Path, rpc: &str, from: usize, to: usize) -> String {
    let out = transfer(net, dir, rpc, from, to, 1, 0);
    out.lines().next().unwrap().trim().to_string()
}

/// A sequencer holding the 4 validators, building a block every 2 s (three per 12 s slot) of
/// at most one tx, so txs waiting make checkpoints of several blocks without timing luck;
/// returned once its first checkpoint is on L1. `prover` adds the epoch prover.
fn several_blocks_node(net: &Devnet, tmp: &Path, prover: bool) -> NodeProc {
    let ks = validators(net, tmp);
    let node = NodeProc::start_with(
        net,
        &tmp.join("data"),
        Some(&ks),
        None,
        tmp.join("node.log"),
        prover,
        &[
            ("SEQ_BLOCK_DURATION_MS", "2000".to_string()),
            ("SEQ_MAX_TX_PER_BLOCK", "1".to_string()),
        ],
    );
    node.wait_for("the first checkpoint", 180, |n| {
        n.tips().is_some_and(|(l, _)| l >= 1)
    });
    node
}

#[test]
fn checkpoints_of_several_blocks_land_on_l1_are_proven_and_rebuilt_from_l1_alone() {
    let net = Devnet::start();
    let tmp = tempfile::tempdir().unwrap();
    // Six txs waiting make two checkpoints of three blocks.
    let node = several_blocks_node(&net, tmp.path(), true);
    let hashes: Vec<String> = (0..6)
        .map(|i| send_transfer(&net, tmp.path(), &node.rpc, i, 10))
        .collect();
    let receipt = |n: &NodeProc, h: &str| n.call("node_getTxReceipt", json!([h])).unwrap();
    node.wait_for("all six txs checkpointed", 150, |n| {
        hashes.iter().all(|h| {
            let s = &receipt(n, h)["status"];
            s == "checkpointed" || s == "proven"
        })
    });
    for h in &hashes {
        let r = receipt(&node, h);
        assert!(
            r["status"] == "checkpointed" || r["status"] == "proven",
            "{h}: {r}"
        );
    }
    // The txs' blocks, grouped by checkpoint: every block of a checkpoint is in the same slot
    // and L1 transaction, numbered on from the one before.
    let tips = node.call("node_getL2Tips", json!([])).unwrap();
    let latest = tips["latest"]["number"].as_u64().unwrap();
    let checkpoint_tip = tips["checkpointed"]["checkpoint"]["number"]
        .as_u64()
        .unwrap();
    assert!(checkpoint_tip < latest, "{tips}");
    let blocks: Vec<Value> = (1..=latest)
        .map(|n| node.call("node_getBlock", json!([n])).unwrap())
        .collect();
    let mut by_checkpoint: std::collections::BTreeMap<u64, Vec<&Value>> = Default::default();
    for b in &blocks {
        by_checkpoint
            .entry(b["checkpoint"].as_u64().unwrap())
            .or_default()
            .push(b);
    }
    let several: Vec<u64> = by_checkpoint
        .iter()
        .filter(|(_, bs)| bs.len() >= 2)
        .map(|(c, _)| *c)
        .collect();
    assert!(
        !several.is_empty(),
        "no checkpoint of several blocks: {by_checkpoint:?}"
    );
    for (c, bs) in &by_checkpoint {
        for (i, b) in bs.iter().enumerate() {
            assert_eq!(b["indexWithinCheckpoint"], i as u64, "checkpoint {c}: {b}");
            assert_eq!(b["slot"], bs[0]["slot"], "checkpoint {c}");
            assert_eq!(b["l1Tx"], bs[0]["l1Tx"], "checkpoint {c}");
        }
        let txs: usize = bs
            .iter()
            .map(|b| b["txHashes"].as_array().unwrap().len())
            .sum();
        if bs.len() > 1 {
            assert!(
                bs.iter().all(|b| b["txCount"].as_u64().unwrap() <= 1),
                "the cap of one tx per block: checkpoint {c}"
            );
            assert!(txs >= 2, "checkpoint {c}");
        }
        // L1 holds each checkpoint's last block's archive.
        let c1 = Chain1::of(&net);
        let on_l1 = c1
            .l1
            .call(
                c1.rollup,
                &R::archiveAtCall {
                    _checkpointNumber: U256::from(*c),
                },
            )
            .unwrap();
        assert_eq!(
            format!("{on_l1:#x}"),
            bs.last().unwrap()["archive"].as_str().unwrap(),
            "checkpoint {c}"
        );
    }
    // The proven tip moves over the multi-block checkpoints.
    let last_several = *several.last().unwrap();
    let end_of = |c: u64| {
        by_checkpoint[&c].last().unwrap()["number"]
            .as_u64()
            .unwrap()
    };
    node.wait_for("a proof over the multi-block checkpoints", 180, |n| {
        n.tips().is_some_and(|(_, p)| p >= end_of(last_several))
    });
    assert_eq!(
        node.call("node_getBlock", json!([end_of(last_several)]))
            .unwrap()["status"],
        "proven"
    );

    // A fresh node, L1 only, splits every checkpoint back into the same blocks.
    let fresh = NodeProc::start(
        &net,
        &tmp.path().join("fresh"),
        None,
        None,
        tmp.path().join("fresh.log"),
    );
    fresh.wait_for("fresh node sync", 120, |n| {
        n.tips().is_some_and(|(l, _)| l >= latest)
    });
    for (n, a) in (1..=latest).zip(&blocks) {
        let b = fresh.call("node_getBlock", json!([n])).unwrap();
        for k in [
            "archive",
            "checkpoint",
            "indexWithinCheckpoint",
            "noteRoot",
            "nullifierRoot",
            "publicDataRoot",
            "txHashes",
        ] {
            assert_eq!(a[k], b[k], "block {n} {k}");
        }
    }
    for account in [0, 1, 5, 10] {
        assert_eq!(
            balance(&net, &fresh, account),
            balance(&net, &node, account)
        );
    }
}

#[test]
fn a_checkpoint_that_misses_l1_rolls_its_proposed_blocks_back_and_its_txs_land_later() {
    let net = Devnet::start();
    let tmp = tempfile::tempdir().unwrap();
    let node = several_blocks_node(&net, tmp.path(), false);
    let hashes: Vec<String> = (0..3)
        .map(|i| send_transfer(&net, tmp.path(), &node.rpc, i, 10))
        .collect();
    let receipt = |h: &str| node.call("node_getTxReceipt", json!([h])).unwrap();
    // The first block with one of them is proposed, in the chain before L1 has it: the
    // receipt says so and the `proposed` tip is ahead of `latest`.
    let mut proposed = None;
    node.wait_for("a tx in a proposed block", 60, |n| {
        let Some(h) = hashes.iter().find(|h| receipt(h)["status"] == "proposed") else {
            return false;
        };
        let tips = n.call("node_getL2Tips", json!([])).unwrap();
        proposed = Some((h.clone(), receipt(h), tips));
        true
    });
    // Its checkpoint will not reach L1: the next publish fails (test fault point). Blocks of
    // one tx every 2 s leave seconds between this block and the publish.
    assert_eq!(
        node.admin_call("nodeAdmin_armFaultPoint", json!(["publish-fails"]))["result"],
        "publish-fails"
    );
    let (h, r, tips) = proposed.unwrap();
    let block = r["blockNumber"].as_u64().unwrap();
    assert!(
        tips["proposed"]["number"].as_u64().unwrap() > tips["latest"]["number"].as_u64().unwrap(),
        "{tips}"
    );
    assert_eq!(
        node.call("node_getBlock", json!([block])).unwrap()["status"],
        "proposed"
    );
    // Rolled back: the tx is pending again, and its receipt says from which block and why.
    node.wait_for("the proposed blocks rolled back", 60, |_| {
        receipt(&h)["rolledBack"].is_object()
    });
    let back = receipt(&h);
    assert_eq!(back["status"], "pending", "{back}");
    assert_eq!(back["rolledBack"]["blockNumber"], block, "{back}");
    assert!(
        back["rolledBack"]["reason"]
            .as_str()
            .unwrap()
            .contains("publish-fails"),
        "{back}"
    );
    // They land later, in checkpoints that L1 accepted; block numbers are reused.
    node.wait_for("all three txs checkpointed", 120, |_| {
        hashes
            .iter()
            .all(|h| receipt(h)["status"] == "checkpointed")
    });
    let again = node.call("node_getBlock", json!([block])).unwrap();
    assert_eq!(again["status"], "checkpointed", "{again}");
    let c1 = Chain1::of(&net);
    let on_l1 = c1
        .l1
        .call(
            c1.rollup,
            &R::archiveAtCall {
                _checkpointNumber: U256::from(again["checkpoint"].as_u64().unwrap()),
            },
        )
        .unwrap();
    let cp = again["checkpoint"].as_u64().unwrap();
    let last = node.call("node_getL2Tips", json!([])).unwrap();
    assert!(
        last["checkpointed"]["checkpoint"]["number"]
            .as_u64()
            .unwrap()
            >= cp
    );
    let blocks_of_cp: Vec<Value> = (block.saturating_sub(3)..=block + 3)
        .filter_map(|n| node.call("node_getBlock", json!([n])).ok())
        .filter(|b| b["checkpoint"] == cp)
        .collect();
    assert_eq!(
        format!("{on_l1:#x}"),
        blocks_of_cp.last().unwrap()["archive"].as_str().unwrap()
    );
    let log = std::fs::read_to_string(&node.log).unwrap();
    assert!(
        log.contains("proposed blocks rolled back"),
        "no roll back logged"
    );
}
