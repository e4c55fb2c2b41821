//! cairn's L1 commands against a devnet running Aztec's real contracts and cairn's own
//! StakingRegistry: keys → deposit → VALIDATING, failed deposits and refunds, the whole provider
//! lifecycle, and the bad inputs an operator will try.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use alloy_primitives::{Address, U256};
use cairn_l1::abi::{IStakingRegistry, IERC20};
use cairn_tests::{run_cairn, Devnet};
use serde_json::{json, Value};

const FEE: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";
const E18: u128 = 1_000_000_000_000_000_000;

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "command failed:\n{}", text(&o));
    o
}

fn fails(o: Output, needle: &str) -> String {
    let t = text(&o);
    assert!(
        !o.status.success(),
        "expected a failure mentioning {needle:?}, got success:\n{t}"
    );
    assert!(t.contains(needle), "expected {needle:?} in:\n{t}");
    t
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(o)))
}

struct Env<'a> {
    devnet: &'a Devnet,
    dir: &'a Path,
}

impl Env<'_> {
    fn cairn(&self, a: &[&str]) -> Output {
        run_cairn(self.dir, &args(a), &self.devnet.env())
    }

    fn key_file(&self, name: &str, key: &str) -> String {
        let p = self.dir.join(name);
        fs::write(&p, key).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        p.display().to_string()
    }

    fn keys(&self, sub: &str, count: u32) -> (String, String) {
        let d = self.dir.join(sub).display().to_string();
        ok(self.cairn(&[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--count",
            &count.to_string(),
            "--data-dir",
            &d,
            "--staker-output",
        ]));
        (
            format!("{d}/key1.json"),
            format!("{d}/key1_staker_output.json"),
        )
    }

    fn l1(&self) -> cairn_l1::L1 {
        let rpc = cairn_l1::RpcClient::new(&[self.devnet.rpc()]).unwrap();
        cairn_l1::L1::connect(rpc, Some(31337)).unwrap()
    }

    fn token_balance(&self, who: &str) -> U256 {
        let token: Address = self.devnet.address("stakingAsset").parse().unwrap();
        self.l1()
            .call(
                token,
                &IERC20::balanceOfCall {
                    owner: who.parse().unwrap(),
                },
            )
            .unwrap()
    }
}

fn attesters(registration: &str) -> Vec<String> {
    let doc: Value = serde_json::from_str(&fs::read_to_string(registration).unwrap()).unwrap();
    doc.as_array()
        .unwrap()
        .iter()
        .map(|e| e["attester"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn devnet_comes_up_with_every_contract_and_rollup_info_reads_it() {
    let devnet = Devnet::start();
    // The figure the README quotes is measured by the devnet itself (anvil start → manifest).
    assert!(
        devnet.startup_seconds > 0.0 && devnet.startup_seconds < 30.0,
        "{}",
        devnet.startup_seconds
    );
    for name in [
        "registry",
        "rollup",
        "gse",
        "stakingAsset",
        "stakingRegistry",
        "pullSplitFactory",
        "splitsWarehouse",
    ] {
        assert!(devnet.address(name).starts_with("0x"), "{name}");
    }
    assert_eq!(devnet.manifest["accounts"].as_array().unwrap().len(), 9);
    let mode = fs::metadata(devnet.manifest_path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the manifest holds test keys");

    let tmp = tempfile::tempdir().unwrap();
    let env = Env {
        devnet: &devnet,
        dir: tmp.path(),
    };
    let info = json(&ok(env.cairn(&["rollup", "info", "--json"])));
    assert_eq!(
        info["rollup"].as_str().unwrap().to_lowercase(),
        devnet.address("rollup").to_lowercase()
    );
    assert_eq!(info["canonicalRollup"], info["rollup"]);
    assert_eq!(
        info["gse"].as_str().unwrap().to_lowercase(),
        devnet.address("gse").to_lowercase()
    );
    assert_eq!(info["activationThreshold"], (100 * E18).to_string());
    assert_eq!(info["entryQueueLength"], "0");
    assert_eq!(info["activeAttesters"], "0");
    assert_eq!(info["slotDurationSeconds"], "12");
    assert_eq!(info["targetCommitteeSize"], "4");
    assert_eq!(info["stakingAssetSymbol"], "STK");
    // With no validators the committee cannot be sampled; the reason is decoded by name.
    assert!(
        info["committee"]["error"]
            .as_str()
            .unwrap()
            .contains("ValidatorSelection__InsufficientValidatorSetSize"),
        "{info}"
    );
    // The registry the devnet deployed is wired to this deployment.
    let l1 = env.l1();
    let sr: Address = devnet.address("stakingRegistry").parse().unwrap();
    let reg = l1
        .call(sr, &IStakingRegistry::ROLLUP_REGISTRYCall {})
        .unwrap();
    assert_eq!(reg, devnet.address("registry").parse::<Address>().unwrap());
    assert_eq!(
        l1.call(sr, &IStakingRegistry::nextProviderIdentifierCall {})
            .unwrap(),
        U256::from(1)
    );

    // Flags override the devnet's defaults.
    let custom = Devnet::start_with(&[
        "--slot-duration",
        "24",
        "--committee-size",
        "2",
        "--activation-threshold",
        "200",
    ]);
    let env2 = Env {
        devnet: &custom,
        dir: tmp.path(),
    };
    let info = json(&ok(env2.cairn(&["rollup", "info", "--json"])));
    assert_eq!(info["slotDurationSeconds"], "24");
    assert_eq!(info["targetCommitteeSize"], "2");
    assert_eq!(info["activationThreshold"], (200 * E18).to_string());
}

#[test]
fn keys_from_cairn_become_validating_through_add_l1_validator() {
    let devnet = Devnet::start();
    let tmp = tempfile::tempdir().unwrap();
    let env = Env {
        devnet: &devnet,
        dir: tmp.path(),
    };
    let (keystore, registration) = env.keys("k", 3);
    let deployer = devnet.manifest["deployerAddress"]
        .as_str()
        .unwrap()
        .to_string();
    let before = env.token_balance(&deployer);

    let out = json(&ok(env.cairn(&[
        "add-l1-validator",
        "--from-keystore",
        &keystore,
        "--wait",
        "--json",
    ])));
    let vals = out["validators"].as_array().unwrap();
    assert_eq!(vals.len(), 3);
    let expected = attesters(&registration);
    for (v, a) in vals.iter().zip(&expected) {
        assert_eq!(v["attester"].as_str().unwrap(), a);
        assert_eq!(v["status"], "VALIDATING", "{out}");
    }
    // approve was needed (the reference forgets it) and exactly 3 × 100 left the account.
    assert!(out["approveTx"].is_string());
    assert_eq!(before - env.token_balance(&deployer), U256::from(300 * E18));

    let st = json(&ok(env.cairn(&[
        "attester",
        "status",
        "--json",
        &expected[0],
        &expected[1],
    ])));
    assert_eq!(st[0]["status"], "VALIDATING");
    assert_eq!(st[0]["effectiveBalance"], (100 * E18).to_string());
    assert_eq!(
        st[0]["withdrawer"].as_str().unwrap().to_lowercase(),
        deployer.to_lowercase()
    );
    assert!(st[0]["publicKeyG1"]["x"]
        .as_str()
        .unwrap()
        .starts_with("0x"));
    let info = json(&ok(env.cairn(&["rollup", "info", "--json"])));
    assert_eq!(info["activeAttesters"], "3");

    // The same attester a second time is refused before any transaction.
    fails(
        env.cairn(&["add-l1-validator", "--registration", &registration]),
        "already has status VALIDATING",
    );

    // The seed's flag form: --attester + --bls-secret-key, explicit withdrawer and key, no wait.
    let (acct, key) = devnet.account(2);
    let kf = env.key_file("funder.key", &key);
    let bls = "0x2c5ef7d8e5d3b8ee6d6a1c0e0b7e9b7c1a1f6f3e2d1c0b0a09080706050403a1";
    let attester = "0x1000000000000000000000000000000000000001";
    let out = json(&ok(env.cairn(&[
        "add-l1-validator",
        "--private-key-file",
        &kf,
        "--attester",
        attester,
        "--withdrawer",
        &acct,
        "--bls-secret-key",
        bls,
        "--json",
    ])));
    assert_eq!(out["validators"][0]["status"], "QUEUED");
    let flushed = json(&ok(env.cairn(&[
        "flush-entry-queue",
        "--private-key-file",
        &kf,
        "--json",
    ])));
    assert_eq!(
        flushed["deposited"][0].as_str().unwrap().to_lowercase(),
        attester
    );
    let again = ok(env.cairn(&["flush-entry-queue", "--private-key-file", &kf]));
    assert!(text(&again).contains("entry queue is empty"));

    // Exit, end to end: the keystore's second attester (its withdrawer is the deployer, the
    // devnet's default key).
    let leaving = expected[1].clone();
    let recipient = "0x2000000000000000000000000000000000000002";
    // Another key is refused before anything is sent, with the Rollup's own error.
    let e = fails(
        env.cairn(&[
            "withdraw",
            "initiate",
            "--private-key-file",
            &kf,
            "--attester",
            &leaving,
            "--recipient",
            recipient,
        ]),
        "only the withdrawer",
    );
    assert!(e.contains("Staking__NotWithdrawer"), "{e}");
    let fails_finalize = |needle: &str| {
        fails(
            env.cairn(&["withdraw", "finalize", "--attester", &leaving]),
            needle,
        )
    };
    fails_finalize("is not exiting (status VALIDATING)");
    let exit = json(&ok(env.cairn(&[
        "withdraw",
        "initiate",
        "--attester",
        &leaving,
        "--recipient",
        recipient,
        "--json",
    ])));
    assert_eq!(exit["status"], "EXITING", "{exit}");
    assert_eq!(exit["amount"], (100 * E18).to_string());
    assert_eq!(
        exit["recipient"].as_str().unwrap().to_lowercase(),
        recipient
    );
    let at = exit["finalizableAt"].as_u64().unwrap();
    assert!(at >= exit["exitableAt"].as_u64().unwrap());
    let st = json(&ok(env.cairn(&["attester", "status", "--json", &leaving])));
    assert_eq!(st[0]["status"], "EXITING");
    assert_eq!(st[0]["exit"]["isRecipient"], true);
    fails(
        env.cairn(&[
            "withdraw",
            "initiate",
            "--attester",
            &leaving,
            "--recipient",
            recipient,
        ]),
        "already exiting",
    );
    // Too early: refused, naming the delay that holds it.
    let e = fails_finalize("not exitable yet");
    assert!(e.contains("delay"), "{e}");
    // The keystore check and the node flag the exiting attester.
    let check = env.cairn(&["validator-keys", "check", &keystore, "--json"]);
    let report = json(&ok(check));
    let flagged: Vec<&Value> = report["attesters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| !a["exit"].is_null())
        .collect();
    assert_eq!(flagged.len(), 1, "{report}");
    assert_eq!(
        flagged[0]["attester"].as_str().unwrap().to_lowercase(),
        leaving.to_lowercase()
    );
    // Past both delays (L1 time moved by the test), anyone finalizes and the recipient is paid.
    let rpc = cairn_l1::RpcClient::new(&[devnet.rpc()]).unwrap();
    rpc.call("evm_setNextBlockTimestamp", json!([at + 1]))
        .unwrap();
    rpc.call("evm_mine", json!([])).unwrap();
    let done = json(&ok(env.cairn(&[
        "withdraw",
        "finalize",
        "--private-key-file",
        &kf,
        "--attester",
        &leaving,
        "--json",
    ])));
    assert_eq!(done["amount"], (100 * E18).to_string(), "{done}");
    assert_eq!(env.token_balance(recipient), U256::from(100 * E18));
    fails_finalize("is not exiting");
    // Exited for good: still flagged, the key can never be staked again.
    let out = ok(env.cairn(&["validator-keys", "check", &keystore]));
    assert!(text(&out).contains("EXITED"), "{}", text(&out));
}

#[test]
fn a_corrupted_proof_of_possession_is_reported_as_failed_deposit_with_the_refund() {
    let devnet = Devnet::start();
    let tmp = tempfile::tempdir().unwrap();
    let env = Env {
        devnet: &devnet,
        dir: tmp.path(),
    };
    let (_, registration) = env.keys("k", 1);
    let mut doc: Value = serde_json::from_str(&fs::read_to_string(&registration).unwrap()).unwrap();
    doc[0]["proofOfPossession"]["x"] = Value::String("0x1".into());
    doc[0]["proofOfPossession"]["y"] = Value::String("0x2".into());
    let bad = tmp.path().join("bad.json");
    fs::write(&bad, serde_json::to_string(&doc).unwrap()).unwrap();
    let bad = bad.display().to_string();

    // Refused locally, nothing sent.
    let deployer = devnet.manifest["deployerAddress"]
        .as_str()
        .unwrap()
        .to_string();
    let before = env.token_balance(&deployer);
    fails(
        env.cairn(&["add-l1-validator", "--registration", &bad, "--wait"]),
        "pairing check failed",
    );
    assert_eq!(env.token_balance(&deployer), before);

    // Forced: the real GSE rejects it at the flush and refunds the withdrawer.
    let (withdrawer, _) = devnet.account(4);
    let w_before = env.token_balance(&withdrawer);
    let t = fails(
        env.cairn(&[
            "add-l1-validator",
            "--registration",
            &bad,
            "--wait",
            "--force",
            "--withdrawer",
            &withdrawer,
        ]),
        "FAILED_DEPOSIT",
    );
    assert!(
        t.contains(&format!("100 refunded to withdrawer {withdrawer}")),
        "{t}"
    );
    assert!(t.contains("locally: pairing check failed"), "{t}");
    assert_eq!(
        env.token_balance(&withdrawer) - w_before,
        U256::from(100 * E18)
    );
    assert_eq!(before - env.token_balance(&deployer), U256::from(100 * E18));
    let st = json(&ok(env.cairn(&[
        "attester",
        "status",
        "--json",
        attesters(&registration)[0].as_str(),
    ])));
    assert_eq!(st[0]["status"], "NONE");
}

/// A one-shot HTTP server that records the bodies POSTed to it.
fn webhook_sink() -> (String, std::sync::mpsc::Receiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            if let Ok(v) = serde_json::from_slice(&body) {
                let _ = tx.send(v);
            }
        }
    });
    (url, rx)
}

#[test]
fn provider_lifecycle_from_registration_to_coinbases_and_alerts() {
    let devnet = Devnet::start();
    let tmp = tempfile::tempdir().unwrap();
    let env = Env {
        devnet: &devnet,
        dir: tmp.path(),
    };
    let (admin, admin_key) = devnet.account(0);
    let admin_kf = env.key_file("admin.key", &admin_key);
    let (recipient, _) = devnet.account(5);

    let reg = json(&ok(env.cairn(&[
        "provider",
        "register",
        "--private-key-file",
        &admin_kf,
        "--take-rate",
        "500",
        "--rewards-recipient",
        &recipient,
        "--json",
    ])));
    let id = reg["providerIdentifier"].as_str().unwrap().to_string();
    assert_eq!(id, "1");
    // An RPC URL and the StakingRegistry are enough: it names the Registry, which names the
    // rollup (no --network, no --registry).
    let bare = run_cairn(
        tmp.path(),
        &args(&[
            "provider",
            "show",
            "--l1-rpc-urls",
            &devnet.rpc(),
            "--staking-registry",
            &devnet.address("stakingRegistry"),
            "--provider-id",
            &id,
            "--json",
        ]),
        &[],
    );
    let shown = json(&ok(bare));
    assert_eq!(shown["takeRate"], 500, "{shown}");

    // 250 keys in batches of 100: three transactions.
    let (keystore, registration) = env.keys("p", 250);
    let added = json(&ok(env.cairn(&[
        "provider",
        "add-keys",
        "--private-key-file",
        &admin_kf,
        "--provider-id",
        &id,
        "--from",
        &registration,
        "--batch-size",
        "100",
        "--json",
    ])));
    assert_eq!(
        added["transactions"].as_array().unwrap().len(),
        3,
        "{added}"
    );
    assert_eq!(added["queueLength"], "250");
    // Re-running is a no-op: everything is already queued.
    let again = json(&ok(env.cairn(&[
        "provider",
        "add-keys",
        "--private-key-file",
        &admin_kf,
        "--provider-id",
        &id,
        "--from",
        &registration,
        "--json",
    ])));
    assert_eq!(again["added"], 0);
    assert_eq!(again["skipped"], 250);
    let q = json(&ok(env.cairn(&[
        "provider",
        "queue",
        "--provider-id",
        &id,
        "--limit",
        "2",
        "--json",
    ])));
    assert_eq!(q["length"], "250");
    let all = attesters(&registration);
    assert_eq!(q["entries"][0]["attester"].as_str().unwrap(), all[0]);
    assert_eq!(q["entries"][0]["index"], "1");

    // A delegator stakes: the head key is dequeued into the rollup and a split is created.
    let (delegator, dkey) = devnet.account(1);
    let dkf = env.key_file("delegator.key", &dkey);
    let staked = json(&ok(env.cairn(&[
        "stake",
        "--private-key-file",
        &dkf,
        "--provider-id",
        &id,
        "--json",
    ])));
    let s0 = &staked["stakes"][0];
    assert_eq!(s0["attester"].as_str().unwrap(), all[0]);
    let split = s0["split"].as_str().unwrap().to_string();
    assert_eq!(staked["takeRate"], 500);
    let show = json(&ok(env.cairn(&[
        "provider",
        "show",
        "--provider-id",
        &id,
        "--json",
    ])));
    assert_eq!(show["queueLength"], "249");
    assert_eq!(show["admin"].as_str().unwrap(), admin);
    // The stake sits in the rollup's entry queue; a flush activates it.
    ok(env.cairn(&["flush-entry-queue"]));
    let st = json(&ok(env.cairn(&["attester", "status", "--json", &all[0]])));
    assert_eq!(st[0]["status"], "VALIDATING");
    assert_eq!(st[0]["withdrawer"].as_str().unwrap(), delegator);

    // Provider mode: the split becomes that validator's coinbase in the keystore.
    let dry = json(&ok(env.cairn(&[
        "provider",
        "coinbases",
        "--provider-id",
        &id,
        "--keystore",
        &keystore,
        "--json",
    ])));
    assert_eq!(dry["coinbases"][0]["split"].as_str().unwrap(), split);
    assert_eq!(dry["written"], false);
    let original = fs::read_to_string(&keystore).unwrap();
    let wrote = json(&ok(env.cairn(&[
        "provider",
        "coinbases",
        "--provider-id",
        &id,
        "--keystore",
        &keystore,
        "--write",
        "--json",
    ])));
    assert_eq!(wrote["keystoreChanges"].as_array().unwrap().len(), 1);
    let ks: Value = serde_json::from_str(&fs::read_to_string(&keystore).unwrap()).unwrap();
    assert_eq!(ks["validators"][0]["coinbase"].as_str().unwrap(), split);
    assert_ne!(ks["validators"][1]["coinbase"].as_str().unwrap(), split);
    assert_eq!(
        fs::read_to_string(format!("{keystore}.bak")).unwrap(),
        original
    );
    assert_eq!(
        fs::metadata(&keystore).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The node-side check still loads the edited keystore.
    ok(env.cairn(&["validator-keys", "check", &keystore]));
    let noop = json(&ok(env.cairn(&[
        "provider",
        "coinbases",
        "--provider-id",
        &id,
        "--keystore",
        &keystore,
        "--write",
        "--json",
    ])));
    assert_eq!(noop["keystoreChanges"].as_array().unwrap().len(), 0);

    // Rewards that reached the split (as `rewards claim` sends them) are paid out by
    // `provider distribute`: each recipient gets exactly what the split's own rounding gives —
    // the split keeps 1 wei, each share is floor(amount × allocation / total), and the
    // warehouse keeps 1 wei of each share.
    {
        let l1 = env.l1();
        let rollup: Address = devnet.address("rollup").parse().unwrap();
        let fee: Address = l1
            .call(rollup, &cairn_l1::abi::IRollup::getFeeAssetCall {})
            .unwrap();
        let deployer =
            cairn_l1::signer_from_hex(devnet.manifest["deployerPrivateKey"].as_str().unwrap())
                .unwrap();
        let split_addr: Address = split.parse().unwrap();
        let rewards = U256::from(7 * E18 + 12_345);
        l1.send_call(
            &deployer,
            "mint fee asset",
            fee,
            &IERC20::mintCall {
                to: split_addr,
                amount: rewards,
            },
        )
        .unwrap();
        let listed = json(&ok(env.cairn(&[
            "provider",
            "coinbases",
            "--provider-id",
            &id,
            "--json",
        ])));
        assert_eq!(listed["coinbases"][0]["pending"], rewards.to_string());
        // The split as created, from the factory's event (not from cairn's answer).
        let sr: Address = devnet.address("stakingRegistry").parse().unwrap();
        let p = cairn_tests::split_created(&l1, sr, split_addr);
        let fee_balance =
            |who: Address| l1.call(fee, &IERC20::balanceOfCall { owner: who }).unwrap();
        let before: Vec<U256> = p.recipients.iter().map(|r| fee_balance(*r)).collect();
        let out = json(&ok(env.cairn(&[
            "provider",
            "distribute",
            "--provider-id",
            &id,
            "--json",
        ])));
        let moved = rewards - U256::from(1);
        assert_eq!(out["splits"][0]["distributed"], moved.to_string(), "{out}");
        for (i, r) in p.recipients.iter().enumerate() {
            let share = moved * p.allocations[i] / p.totalAllocation;
            let expected = share - U256::from(1);
            assert_eq!(fee_balance(*r) - before[i], expected, "recipient {r}");
            assert_eq!(
                out["splits"][0]["paid"][i]["amount"],
                expected.to_string(),
                "{out}"
            );
        }
        assert_eq!(fee_balance(split_addr), U256::from(1));
        // Again: nothing left to move; an address that is not one of its splits is refused.
        let again = json(&ok(env.cairn(&[
            "provider",
            "distribute",
            "--provider-id",
            &id,
            "--json",
        ])));
        assert_eq!(again["splits"][0]["distributed"], "0");
        fails(
            env.cairn(&[
                "provider",
                "distribute",
                "--provider-id",
                &id,
                "--split",
                "0x00000000000000000000000000000000000000b2",
            ]),
            "is not a split made by",
        );
    }

    // Monitoring: one-shot exits non-zero below the threshold, zero above it.
    fails(
        env.cairn(&[
            "provider",
            "monitor",
            "--provider-id",
            &id,
            "--threshold",
            "300",
        ]),
        "running low: only 249",
    );
    ok(env.cairn(&[
        "provider",
        "monitor",
        "--provider-id",
        &id,
        "--threshold",
        "10",
    ]));
    // Daemon mode posts one alert per crossing, not one per check.
    let (url, rx) = webhook_sink();
    ok(env.cairn(&[
        "provider",
        "monitor",
        "--provider-id",
        &id,
        "--threshold",
        "300",
        "--webhook",
        &url,
        "--interval",
        "1",
        "--max-checks",
        "3",
    ]));
    let alert = rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("an alert");
    assert_eq!(alert["queueLength"], 249);
    assert_eq!(alert["threshold"], 300);
    assert!(alert["text"]
        .as_str()
        .unwrap()
        .contains("provider 1 has 249 key(s) left"));
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(500))
            .is_err(),
        "alerted twice for one crossing"
    );

    // Administration.
    ok(env.cairn(&[
        "provider",
        "update-take-rate",
        "--private-key-file",
        &admin_kf,
        "--provider-id",
        &id,
        "--take-rate",
        "700",
    ]));
    fails(
        env.cairn(&[
            "provider",
            "update-take-rate",
            "--private-key-file",
            &admin_kf,
            "--provider-id",
            &id,
            "--take-rate",
            "700",
        ]),
        "already has take rate 700",
    );
    // A delegator who expected the old rate is protected.
    fails(
        env.cairn(&[
            "stake",
            "--private-key-file",
            &dkf,
            "--provider-id",
            &id,
            "--expected-take-rate",
            "500",
        ]),
        "charges 700 bps, not the expected 500",
    );
    let (r2, _) = devnet.account(6);
    ok(env.cairn(&[
        "provider",
        "update-rewards-recipient",
        "--private-key-file",
        &admin_kf,
        "--provider-id",
        &id,
        "--rewards-recipient",
        &r2,
    ]));
    let dripped = json(&ok(env.cairn(&[
        "provider",
        "drip",
        "--private-key-file",
        &admin_kf,
        "--provider-id",
        &id,
        "--count",
        "2",
        "--json",
    ])));
    assert_eq!(dripped["dripped"][0].as_str().unwrap(), all[1]);
    let (new_admin, nkey) = devnet.account(7);
    let nkf = env.key_file("new-admin.key", &nkey);
    fails(
        env.cairn(&[
            "provider",
            "accept-admin",
            "--private-key-file",
            &nkf,
            "--provider-id",
            &id,
        ]),
        "not the pending admin",
    );
    ok(env.cairn(&[
        "provider",
        "update-admin",
        "--private-key-file",
        &admin_kf,
        "--provider-id",
        &id,
        "--new-admin",
        &new_admin,
    ]));
    let show = json(&ok(env.cairn(&[
        "provider",
        "show",
        "--provider-id",
        &id,
        "--json",
    ])));
    assert_eq!(show["pendingAdmin"].as_str().unwrap(), new_admin);
    assert_eq!(
        show["admin"].as_str().unwrap(),
        admin,
        "the admin changes only on accept"
    );
    ok(env.cairn(&[
        "provider",
        "accept-admin",
        "--private-key-file",
        &nkf,
        "--provider-id",
        &id,
    ]));
    let show = json(&ok(env.cairn(&[
        "provider",
        "show",
        "--provider-id",
        &id,
        "--json",
    ])));
    assert_eq!(show["admin"].as_str().unwrap(), new_admin);
    assert_eq!(show["takeRate"], 700);
    assert_eq!(show["rewardsRecipient"].as_str().unwrap(), r2);
    assert_eq!(show["queueLength"], "247");
    // The old admin has lost control.
    fails(
        env.cairn(&[
            "provider",
            "drip",
            "--private-key-file",
            &admin_kf,
            "--provider-id",
            &id,
        ]),
        "is not the admin of provider 1",
    );
}

#[test]
fn bad_inputs_get_clear_errors_and_send_nothing() {
    // A poorly funded devnet: 150 tokens per account, 100 per validator.
    let devnet = Devnet::start_with(&["--fund", "150"]);
    let tmp = tempfile::tempdir().unwrap();
    let env = Env {
        devnet: &devnet,
        dir: tmp.path(),
    };
    let rpc = devnet.rpc();

    // Wrong network: the testnet preset against the devnet's chain.
    fails(
        run_cairn(
            tmp.path(),
            &args(&[
                "rollup",
                "info",
                "--network",
                "testnet",
                "--l1-rpc-urls",
                &rpc,
            ]),
            &[],
        ),
        "serves chain id 31337, but the network expects 11155111",
    );
    fails(
        run_cairn(
            tmp.path(),
            &args(&["rollup", "info", "--network", "moon"]),
            &[],
        ),
        "use devnet, testnet or mainnet",
    );
    // A rollup address with no contract behind it.
    fails(
        run_cairn(
            tmp.path(),
            &args(&[
                "rollup",
                "info",
                "--l1-rpc-urls",
                &rpc,
                "--rollup",
                "0x00000000000000000000000000000000000000aa",
            ]),
            &[],
        ),
        "no contract at rollup address",
    );
    // Unreachable RPC: bounded retries, then a clear error.
    let t = fails(
        run_cairn(
            tmp.path(),
            &args(&[
                "rollup",
                "info",
                "--l1-rpc-urls",
                "http://127.0.0.1:9",
                "--rollup",
                "0x00000000000000000000000000000000000000aa",
            ]),
            &[],
        ),
        "unreachable",
    );
    assert!(t.contains("127.0.0.1:9") && t.contains("attempt"), "{t}");
    // No devnet manifest.
    fails(
        run_cairn(
            tmp.path(),
            &args(&[
                "rollup",
                "info",
                "--network",
                "devnet",
                "--devnet-manifest",
                "/nonexistent.json",
            ]),
            &[],
        ),
        "no devnet manifest",
    );

    // Take rate above 10000 never reaches the chain.
    let (admin, admin_key) = devnet.account(0);
    let admin_kf = env.key_file("admin.key", &admin_key);
    fails(
        env.cairn(&[
            "provider",
            "register",
            "--private-key-file",
            &admin_kf,
            "--take-rate",
            "10001",
            "--rewards-recipient",
            &admin,
        ]),
        "above 10000",
    );
    let reg = json(&ok(env.cairn(&[
        "provider",
        "register",
        "--private-key-file",
        &admin_kf,
        "--take-rate",
        "10000",
        "--rewards-recipient",
        &admin,
        "--json",
    ])));
    let id = reg["providerIdentifier"].as_str().unwrap().to_string();
    // Empty queue.
    let (_, dkey) = devnet.account(1);
    let dkf = env.key_file("d.key", &dkey);
    fails(
        env.cairn(&["stake", "--private-key-file", &dkf, "--provider-id", &id]),
        "queue is empty or short",
    );
    fails(
        env.cairn(&[
            "provider",
            "drip",
            "--private-key-file",
            &admin_kf,
            "--provider-id",
            &id,
        ]),
        "holds 0 key(s)",
    );
    // Not the admin.
    let (_, registration) = env.keys("k", 2);
    fails(
        env.cairn(&[
            "provider",
            "add-keys",
            "--private-key-file",
            &dkf,
            "--provider-id",
            &id,
            "--from",
            &registration,
        ]),
        "is not the admin of provider",
    );
    // Unknown provider.
    fails(
        env.cairn(&["provider", "show", "--provider-id", "42"]),
        "provider 42 is not registered",
    );
    fails(
        env.cairn(&["provider", "show", "--provider-id", "0"]),
        "provider ids start at 1",
    );
    // Keys that fail verification, and duplicates, are refused unless forced.
    let mut doc: Value = serde_json::from_str(&fs::read_to_string(&registration).unwrap()).unwrap();
    let first = doc[0].clone();
    doc.as_array_mut().unwrap().push(first);
    let dup = tmp.path().join("dup.json");
    fs::write(&dup, serde_json::to_string(&doc).unwrap()).unwrap();
    fails(
        env.cairn(&[
            "provider",
            "add-keys",
            "--private-key-file",
            &admin_kf,
            "--provider-id",
            &id,
            "--from",
            &dup.display().to_string(),
        ]),
        "verify",
    );
    // Insufficient staking asset: two validators need 200, the account holds 150.
    fails(
        env.cairn(&[
            "add-l1-validator",
            "--private-key-file",
            &dkf,
            "--registration",
            &registration,
        ]),
        "insufficient staking asset",
    );
    let st = json(&ok(env.cairn(&[
        "attester",
        "status",
        "--json",
        attesters(&registration)[0].as_str(),
    ])));
    assert_eq!(st[0]["status"], "NONE");
    ok(env.cairn(&[
        "provider",
        "add-keys",
        "--private-key-file",
        &admin_kf,
        "--provider-id",
        &id,
        "--from",
        &registration,
    ]));
    fails(
        env.cairn(&[
            "stake",
            "--private-key-file",
            &dkf,
            "--provider-id",
            &id,
            "--count",
            "2",
        ]),
        "insufficient staking asset",
    );
    // Malformed key material.
    fails(
        env.cairn(&[
            "provider",
            "show",
            "--provider-id",
            &id,
            "--staking-registry",
            "0x12",
        ]),
        "not an Ethereum address",
    );
    let t = fails(
        env.cairn(&[
            "provider",
            "drip",
            "--private-key",
            "0xnothex",
            "--provider-id",
            &id,
        ]),
        "not 32 bytes of hex",
    );
    assert!(!t.contains("nothex"), "the key is echoed: {t}");
    fails(
        env.cairn(&[
            "flush-entry-queue",
            "--private-key-file",
            "/nonexistent.key",
        ]),
        "cannot read /nonexistent.key",
    );
}

#[test]
fn reverts_are_decoded_to_the_contracts_custom_errors() {
    let devnet = Devnet::start();
    let rpc = cairn_l1::RpcClient::new(&[devnet.rpc()]).unwrap();
    let l1 = cairn_l1::L1::connect(rpc, Some(31337)).unwrap();
    let signer =
        cairn_l1::signer_from_hex(devnet.manifest["deployerPrivateKey"].as_str().unwrap()).unwrap();
    let sr: Address = devnet.address("stakingRegistry").parse().unwrap();
    let e = l1
        .send_call(
            &signer,
            "registerProvider",
            sr,
            &IStakingRegistry::registerProviderCall {
                _providerAdmin: signer.address(),
                _providerTakeRate: 10_001,
                _providerRewardsRecipient: signer.address(),
            },
        )
        .unwrap_err();
    assert_eq!(e.revert_name(), Some("StakingRegistry__InvalidTakeRate"));
    assert!(
        e.to_string()
            .contains("StakingRegistry__InvalidTakeRate(takeRate=10001)"),
        "{e}"
    );
    let e = l1
        .send_call(
            &signer,
            "drip",
            sr,
            &IStakingRegistry::dripProviderQueueCall {
                _providerIdentifier: U256::from(9),
                _numberOfKeysToDrip: U256::from(1),
            },
        )
        .unwrap_err();
    assert_eq!(e.revert_name(), Some("StakingRegistry__NotProviderAdmin"));
    // An Aztec contract's error, from the artifact catalog: the Registry's unknown version.
    let reg: Address = devnet.address("registry").parse().unwrap();
    let e = l1
        .call(
            reg,
            &cairn_l1::abi::IRegistry::getRollupCall {
                version: U256::from(7),
            },
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("Registry__RollupNotRegistered(7)")
            || e.to_string()
                .contains("Registry__RollupNotRegistered(version=7)"),
        "{e}"
    );
    // A token error with arguments: transfer more than the balance.
    let token: Address = devnet.address("stakingAsset").parse().unwrap();
    let e = l1
        .send_call(
            &signer,
            "transfer",
            token,
            &IERC20::transferCall {
                to: Address::repeat_byte(1),
                amount: U256::MAX,
            },
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("ERC20InsufficientBalance(sender=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
        "{e}"
    );
}
