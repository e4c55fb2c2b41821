//! Provider batch calldata from cairn against Foundry's own ABI encoder (`cast calldata`), on
//! registrations cairn generated.

use std::process::Command;

use cairn_keys::provider::batches;
use cairn_keys::registration::parse_document;
use cairn_tests::{repo_root, run_cairn};

#[test]
fn add_keys_calldata_matches_cast() {
    let cast = repo_root().join("tools/node_modules/.bin/cast");
    assert!(
        cast.exists(),
        "the L1 tools are not installed: run scripts/setup.sh"
    );
    let t = tempfile::tempdir().unwrap();
    let d = t.path().to_string_lossy().to_string();
    let args: Vec<String> = [
        "validator-keys",
        "new",
        "--fee-recipient",
        "0x1111111111111111111111111111111111111111111111111111111111111111",
        "--mnemonic",
        "test test test test test test test test test test test junk",
        "--count",
        "5",
        "--staker-output",
        "--data-dir",
        &d,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = run_cairn(t.path(), &args, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(t.path().join("key1_staker_output.json")).unwrap();
    let regs = parse_document(&text).unwrap();
    let b = batches("0x00000000000000000000000000000000000000aa", 42, &regs, 2).unwrap();
    assert_eq!(b.len(), 3);
    for batch in &b {
        let out = Command::new(&cast)
            .arg("calldata")
            .args(&batch.cast_args)
            .output()
            .expect("run cast");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(format!("0x{}", hex::encode(&batch.calldata)), theirs);
    }
}
