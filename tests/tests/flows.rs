//! The staking page's flows (`cairn_keys::flows`) against the CLI, byte for byte: what the page
//! offers for download must equal what `cairn validator-keys` writes for the same input.

use std::collections::BTreeMap;
use std::fs;

use cairn_keys::flows::{self, GenerateRequest};
use cairn_tests::run_cairn;

const M1: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const FEE: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";

fn cairn(dir: &std::path::Path, args: &[&str]) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let o = run_cairn(dir, &args, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn generation_matches_new_with_staker_output() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().to_string_lossy().to_string();
    cairn(
        t.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--count",
            "5",
            "--address-index",
            "3",
            "--staker-output",
            "--data-dir",
            &d,
        ],
    );
    let out = flows::generate(
        &GenerateRequest {
            mnemonic: M1.to_string().into(),
            count: 5,
            account_index: 0,
            address_index: 3,
            fee_recipient: FEE.into(),
        },
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(
        *out.keystore,
        fs::read_to_string(t.path().join("key1.json")).unwrap()
    );
    assert_eq!(
        out.registration,
        fs::read_to_string(t.path().join("key1_staker_output.json")).unwrap()
    );
}

#[test]
fn registration_from_encrypted_keystore_matches_staker() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().to_string_lossy().to_string();
    let enc = t.path().join("enc");
    cairn(
        t.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--count",
            "2",
            "--password",
            "pässword",
            "--encrypted-keystore-dir",
            &enc.to_string_lossy(),
            "--data-dir",
            &d,
        ],
    );
    cairn(
        t.path(),
        &[
            "validator-keys",
            "staker",
            "--from",
            &format!("{d}/key1.json"),
        ],
    );
    let expected = fs::read_to_string(t.path().join("key1_staker_output.json")).unwrap();
    // The browser only knows the names of dropped files, not where they were.
    let files: BTreeMap<String, String> = fs::read_dir(&enc)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().to_string(),
                fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    let keystore = fs::read_to_string(t.path().join("key1.json")).unwrap();
    let mut progress = Vec::new();
    let out = flows::registration_from_keystore(&keystore, None, &files, &mut |d, n| {
        progress.push((d, n))
    })
    .unwrap();
    assert_eq!(out.json, expected);
    assert_eq!(progress.last(), Some(&(2, 2)));
    // A typed password overrides the stored one; a wrong one is a clear error.
    let out =
        flows::registration_from_keystore(&keystore, Some("pässword"), &files, &mut |_, _| {})
            .unwrap();
    assert_eq!(out.json, expected);
    let e = flows::registration_from_keystore(&keystore, Some("wrong"), &files, &mut |_, _| {})
        .unwrap_err();
    assert!(e.to_string().contains("wrong password"), "{e}");
}
