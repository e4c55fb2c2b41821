//! Keys and registrations from cairn against the real Aztec L1 contracts on a local devnet:
//! the GSE must accept what cairn produces, reject what is corrupted, and cairn's on-chain
//! cross-checks must catch a wrong contract or chain.

use std::fs;

use cairn_tests::{run_cairn, Devnet};
use serde_json::Value;

const M1: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const FEE: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn statuses(stdout: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_lowercase(), it.next()?.to_string()))
        })
        .collect()
}

#[test]
fn generated_registrations_are_accepted_by_the_real_gse() {
    let devnet = Devnet::start();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_string_lossy().to_string();
    // Encrypted keystore, then `staker` with the on-chain digest check.
    let out = run_cairn(
        tmp.path(),
        &args(&[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--count",
            "3",
            "--password",
            "pw",
            "--data-dir",
            &d,
            "--encrypted-keystore-dir",
            &format!("{d}/enc"),
        ]),
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_cairn(
        tmp.path(),
        &args(&[
            "validator-keys",
            "staker",
            "--from",
            &format!("{d}/key1.json"),
            "--gse-address",
            &devnet.address("gse"),
            "--l1-rpc-urls",
            &devnet.rpc(),
        ]),
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("checked 3 registration digest(s)"),
        "the digests were not cross-checked on chain: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let registration = tmp.path().join("key1_staker_output.json");
    let verify = run_cairn(
        tmp.path(),
        &args(&["validator-keys", "verify", &registration.to_string_lossy()]),
        &[],
    );
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );

    let reg = devnet.register(&registration);
    let st = statuses(&reg.stdout);
    assert!(
        reg.status.success(),
        "registration failed:\n{}\n{}",
        String::from_utf8_lossy(&reg.stdout),
        String::from_utf8_lossy(&reg.stderr)
    );
    let doc: Value = serde_json::from_str(&fs::read_to_string(&registration).unwrap()).unwrap();
    let attesters: Vec<String> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["attester"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(attesters.len(), 3);
    for a in &attesters {
        assert!(
            st.iter().any(|(addr, s)| addr == a && s == "VALIDATING"),
            "{a} is not VALIDATING: {st:?}"
        );
    }
}

#[test]
fn corrupted_proof_of_possession_is_refunded_as_failed_deposit() {
    let devnet = Devnet::start();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_string_lossy().to_string();
    let out = run_cairn(
        tmp.path(),
        &args(&[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--count",
            "2",
            "--staker-output",
            "--data-dir",
            &d,
        ]),
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = tmp.path().join("key1_staker_output.json");
    let mut doc: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    // Give validator 0 the proof of possession of validator 1: still a valid curve point, so
    // only the pairing check can catch it.
    doc[0]["proofOfPossession"] = doc[1]["proofOfPossession"].clone();
    let bad = Value::Array(vec![doc[0].clone()]);
    let bad_path = tmp.path().join("bad.json");
    fs::write(&bad_path, serde_json::to_string_pretty(&bad).unwrap()).unwrap();

    // cairn's own checklist refuses it before any L1 transaction.
    let verify = run_cairn(
        tmp.path(),
        &args(&["validator-keys", "verify", &bad_path.to_string_lossy()]),
        &[],
    );
    assert!(!verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("[FAIL] pop: pairing check failed"));

    // The real GSE refunds it with FailedDeposit.
    let reg = devnet.register(&bad_path);
    assert!(!reg.status.success());
    let st = statuses(&reg.stdout);
    assert_eq!(st.len(), 1);
    assert!(st[0].1.starts_with("FAILED_DEPOSIT"), "{st:?}");
    let stdout = String::from_utf8_lossy(&reg.stdout);
    assert!(stdout.contains("pairing check failed"), "{stdout}");
}

#[test]
fn on_chain_cross_checks_catch_the_wrong_contract_and_chain() {
    let devnet = Devnet::start();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_string_lossy().to_string();
    let base = [
        "validator-keys",
        "new",
        "--fee-recipient",
        FEE,
        "--mnemonic",
        M1,
        "--staker-output",
        "--data-dir",
        &d,
    ];
    // Not a GSE: the staking asset answers the call with garbage (or reverts).
    let mut a = args(&base);
    a.extend(args(&[
        "--gse-address",
        &devnet.address("stakingAsset"),
        "--l1-rpc-urls",
        &devnet.rpc(),
    ]));
    let out = run_cairn(tmp.path(), &a, &[]);
    assert!(!out.status.success());
    assert!(
        fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .all(|e| e.file_name() == ".home"),
        "files left behind"
    );

    // Wrong chain id.
    let mut a = args(&base);
    a.extend(args(&[
        "--gse-address",
        &devnet.address("gse"),
        "--l1-rpc-urls",
        &devnet.rpc(),
        "-c",
        "1",
    ]));
    let out = run_cairn(tmp.path(), &a, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("chain 31337") && err.contains("--l1-chain-id is 1"),
        "{err}"
    );

    // Unreachable RPC: bounded retries, a clear error, nothing written.
    let mut a = args(&base);
    a.extend(args(&[
        "--gse-address",
        &devnet.address("gse"),
        "--l1-rpc-urls",
        "http://127.0.0.1:9",
    ]));
    let out = run_cairn(tmp.path(), &a, &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unreachable"));
    assert!(!tmp.path().join("key1.json").exists());

    // The right GSE agrees with the local digest.
    let mut a = args(&base);
    a.extend(args(&[
        "--gse-address",
        &devnet.address("gse"),
        "--l1-rpc-urls",
        &devnet.rpc(),
    ]));
    let out = run_cairn(tmp.path(), &a, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The gas model at the cap, checked by the real GSE: mnemonic V1's address index 2132 needs an
/// estimated 260k gas (86 hashToPoint attempts, 18 square roots), above the 250k cap, so cairn
/// warns, `verify` fails, and the chain refunds the deposit; index 712 (98 attempts, estimated
/// 234.5k) is close to the cap but below it, so it is accepted.
#[test]
fn pop_gas_cap_is_enforced_as_estimated() {
    let devnet = Devnet::start();
    let tmp = tempfile::tempdir().unwrap();
    let run = |index: &str, file: &str| {
        let d = tmp.path().to_string_lossy().to_string();
        run_cairn(
            tmp.path(),
            &args(&[
                "validator-keys",
                "new",
                "--fee-recipient",
                FEE,
                "--mnemonic",
                M1,
                "--address-index",
                index,
                "--data-dir",
                &d,
                "--file",
                file,
                "--staker-output",
            ]),
            &[],
        )
    };
    let expensive = run("2132", "expensive.json");
    assert!(expensive.status.success());
    let warn = String::from_utf8_lossy(&expensive.stderr);
    assert!(
        warn.contains("260131") && warn.contains("would fail"),
        "{warn}"
    );
    let verify = run_cairn(
        tmp.path(),
        &args(&["validator-keys", "verify", "expensive_staker_output.json"]),
        &[],
    );
    assert!(!verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("[FAIL] pop-gas"));
    let reg = devnet.register(&tmp.path().join("expensive_staker_output.json"));
    assert!(!reg.status.success(), "a key over the gas cap was accepted");
    assert!(String::from_utf8_lossy(&reg.stdout).contains("FAILED_DEPOSIT"));

    let close = run("712", "close.json");
    assert!(close.status.success());
    assert!(String::from_utf8_lossy(&close.stderr).contains("close to the cap"));
    let reg = devnet.register(&tmp.path().join("close_staker_output.json"));
    assert!(
        reg.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&reg.stdout),
        String::from_utf8_lossy(&reg.stderr)
    );
    assert!(String::from_utf8_lossy(&reg.stdout).contains("VALIDATING"));

    // --max-pop-gas 250000 skips index 2132 and takes 2133 instead.
    let d = tmp.path().join("skip").to_string_lossy().to_string();
    let skip = run_cairn(
        tmp.path(),
        &args(&[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--address-index",
            "2132",
            "--data-dir",
            &d,
            "--max-pop-gas",
            "250000",
            "--staker-output",
        ]),
        &[],
    );
    assert!(skip.status.success());
    assert!(String::from_utf8_lossy(&skip.stderr).contains("skipped derivation index 2132"));
    let reg = devnet.register(&tmp.path().join("skip/key1_staker_output.json"));
    assert!(
        reg.status.success(),
        "{}",
        String::from_utf8_lossy(&reg.stderr)
    );
}
