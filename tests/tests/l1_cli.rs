//! Flag-level errors of the L1 commands: caught before any connection, each with a message
//! that names the problem. (The devnet tests cover what needs a chain.)

use cairn_tests::run_cairn;

fn fails(a: &[&str], needle: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let args: Vec<String> = a.iter().map(|s| s.to_string()).collect();
    let o = run_cairn(tmp.path(), &args, &[]);
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success(), "{a:?} succeeded:\n{t}");
    assert!(t.contains(needle), "{a:?}: expected {needle:?} in:\n{t}");
}

const RPC: &str = "http://127.0.0.1:9";

#[test]
fn bad_flags_are_named() {
    fails(&["add-l1-validator", "--l1-rpc-urls", RPC], "--attester");
    fails(
        &[
            "add-l1-validator",
            "--attester",
            "0x1234",
            "--bls-secret-key",
            "0x01",
        ],
        "not an Ethereum address",
    );
    fails(
        &[
            "add-l1-validator",
            "--attester",
            "0x0000000000000000000000000000000000000000",
            "--bls-secret-key",
            "0x01",
        ],
        "zero address",
    );
    fails(
        &[
            "add-l1-validator",
            "--attester",
            "0x1000000000000000000000000000000000000001",
            "--bls-secret-key",
            "0xzz",
            "--l1-rpc-urls",
            RPC,
        ],
        "--bls-secret-key is not hex",
    );
    fails(
        &[
            "add-l1-validator",
            "--attester",
            "0x1000000000000000000000000000000000000001",
            "--bls-secret-key",
            "0x00",
            "--l1-rpc-urls",
            RPC,
        ],
        "not a valid BN254 secret key",
    );
    fails(
        &[
            "add-l1-validator",
            "--from-keystore",
            "/nonexistent/key1.json",
        ],
        "/nonexistent/key1.json",
    );
    fails(
        &[
            "add-l1-validator",
            "--registration",
            "/nonexistent/reg.json",
        ],
        "cannot read /nonexistent/reg.json",
    );
    fails(&["stake", "--provider-id", "1", "--count", "0"], "--count");
    fails(
        &[
            "provider",
            "add-keys",
            "--provider-id",
            "1",
            "--from",
            "x.json",
            "--batch-size",
            "0",
        ],
        "--batch-size",
    );
    fails(
        &[
            "provider",
            "register",
            "--take-rate",
            "abc",
            "--rewards-recipient",
            "0x1000000000000000000000000000000000000001",
        ],
        "integer number of basis points",
    );
    fails(
        &["provider", "monitor", "--provider-id", "1"],
        "--threshold",
    );
    fails(
        &["provider", "coinbases", "--provider-id", "1", "--write"],
        "--keystore",
    );
    fails(&["rollup", "info"], "no L1 RPC URL");
    fails(&["attester", "status"], "ATTESTERS");
    fails(
        &[
            "devnet",
            "l1",
            "--slot-duration",
            "0",
            "--dir",
            "d",
            "--tools-dir",
            "/nonexistent",
        ],
        "--slot-duration",
    );
    fails(
        &["devnet", "l1", "--activation-threshold", "1.5"],
        "whole number of tokens",
    );
    fails(
        &["devnet", "l1", "--genesis-archive-root", "0x1234"],
        "--genesis-archive-root",
    );
    fails(
        &[
            "devnet",
            "l1",
            "--genesis-accounts",
            "4",
            "--genesis-archive-root",
            "0x15684c8c3d2106918d3860f777e50555b7166adff47df13cc652e2e5a50bf5c7",
        ],
        "cannot be used with",
    );
    fails(
        &[
            "devnet",
            "l1",
            "--dir",
            "d",
            "--tools-dir",
            "/nonexistent",
            "--port",
            "1",
        ],
        "scripts/setup.sh",
    );
    let who = "0x1000000000000000000000000000000000000001";
    fails(&["withdraw", "initiate", "--attester", who], "--recipient");
    fails(
        &[
            "withdraw",
            "initiate",
            "--attester",
            who,
            "--recipient",
            "0x0000000000000000000000000000000000000000",
        ],
        "zero address",
    );
    fails(
        &["withdraw", "finalize", "--attester", "0x12"],
        "not an Ethereum address",
    );
    fails(&["completions", "tcsh"], "invalid value 'tcsh'");
    fails(&["rewards", "show"], "--coinbase");
    // The new money commands name a wrong network and an unreachable L1 like every L1 command.
    fails(
        &["rewards", "show", "--coinbase", who, "--network", "bogus"],
        "unknown network `bogus`",
    );
    for cmd in [
        &["rewards", "claim", "--coinbase", who][..],
        &["withdraw", "finalize", "--attester", who][..],
        &[
            "provider",
            "distribute",
            "--provider-id",
            "1",
            "--staking-registry",
            who,
        ][..],
    ] {
        let mut a = cmd.to_vec();
        a.extend(["--l1-rpc-urls", RPC]);
        fails(&a, "L1 RPC unreachable");
    }
    fails(
        &[
            "rewards",
            "claim",
            "--coinbase",
            "0x0000000000000000000000000000000000000000",
        ],
        "zero address",
    );
}

#[test]
fn completions_cover_the_whole_cli() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let o = run_cairn(
            tmp.path(),
            &["completions".to_string(), shell.to_string()],
            &[],
        );
        assert!(o.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&o.stdout);
        // Nested subcommands and their flags are in it.
        for word in ["validator-keys", "withdraw", "finalize", "staking-registry"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
}

#[test]
fn stopping_a_devnet_that_is_not_running_is_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run_cairn(
        tmp.path(),
        &[
            "devnet".into(),
            "l1".into(),
            "--stop".into(),
            "--dir".into(),
            "nothing-here".into(),
        ],
        &[],
    );
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("no devnet running"));
}
