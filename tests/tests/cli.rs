//! The `cairn` CLI beyond what the golden cases cover: cairn's own flags, each class of bad input
//! (non-zero exit, a message naming the problem, nothing half-written, no secret echoed), and
//! file permissions.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use cairn_tests::run_cairn;
use serde_json::Value;

const M1: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const FEE: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";

fn cairn(dir: &Path, args: &[&str]) -> Output {
    cairn_env(dir, args, &[])
}

fn cairn_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    run_cairn(dir, &args, &env)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Files under `dir`, ignoring the fake home.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .to_string();
            if rel.starts_with(".home") {
                continue;
            }
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

fn assert_fails(o: &Output, needles: &[&str]) {
    assert!(
        !o.status.success(),
        "expected failure, got success:\n{}",
        stdout(o)
    );
    let e = stderr(o);
    for n in needles {
        assert!(e.contains(n), "error message lacks {n:?}:\n{e}");
    }
    assert!(!e.contains("panicked"), "cairn panicked:\n{e}");
}

fn new_keystore(dir: &Path, extra: &[&str]) -> Output {
    let d = dir.to_string_lossy().to_string();
    let mut args = vec![
        "validator-keys",
        "new",
        "--fee-recipient",
        FEE,
        "--mnemonic",
        M1,
        "--data-dir",
        &d,
    ];
    args.extend_from_slice(extra);
    cairn(dir, &args)
}

#[test]
fn key_files_are_private() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("fresh/keys");
    let d = data.to_string_lossy().to_string();
    let o = cairn(
        t.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--data-dir",
            &d,
            "--password",
            "pw",
            "--staker-output",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for f in fs::read_dir(&data).unwrap().flatten() {
        let mode = f.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", f.path().display());
    }
    for dir in [&data, &t.path().join("fresh")] {
        let mode = fs::metadata(dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{} has mode {mode:o}", dir.display());
    }
}

#[test]
fn bad_mnemonic_word_count() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().to_string_lossy().to_string();
    let eleven = ["zoo"; 11].join(" ");
    let o = cairn(
        t.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            &eleven,
            "--data-dir",
            &d,
        ],
    );
    assert_fails(&o, &["mnemonic", "found 11"]);
    assert!(
        !stderr(&o).contains("zoo"),
        "the mnemonic must not be echoed"
    );
    assert!(files(t.path()).is_empty());
}

#[test]
fn bad_hex_inputs_name_the_flag() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().to_string_lossy().to_string();
    let o = cairn(
        t.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            "0x12zz",
            "--mnemonic",
            M1,
            "--data-dir",
            &d,
        ],
    );
    assert_fails(&o, &["--fee-recipient"]);
    let o = cairn(
        t.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--ikm",
            "0xnothex",
            "--data-dir",
            &d,
        ],
    );
    assert_fails(&o, &["--ikm", "hex"]);
    let o = cairn(
        t.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--publishers",
            "0x1234",
            "--data-dir",
            &d,
        ],
    );
    assert_fails(&o, &["publisher private key #1"]);
    let o = cairn(
        t.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--coinbase",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",
            "--data-dir",
            &d,
        ],
    );
    assert_fails(&o, &["--coinbase", "checksum"]);
    assert!(files(t.path()).is_empty());
}

#[test]
fn wrong_password_is_reported_and_not_echoed() {
    let t = tempfile::tempdir().unwrap();
    assert!(new_keystore(t.path(), &["--password", "right-horse"])
        .status
        .success());
    let from = t.path().join("key1.json").to_string_lossy().to_string();
    let before = files(t.path());
    let o = cairn(
        t.path(),
        &[
            "validator-keys",
            "staker",
            "--from",
            &from,
            "--password",
            "wrong-battery",
        ],
    );
    assert_fails(&o, &["wrong password"]);
    assert!(!stderr(&o).contains("wrong-battery") && !stderr(&o).contains("right-horse"));
    assert_eq!(files(t.path()), before, "nothing written on failure");
}

#[test]
fn password_sources() {
    // --password-file (trailing newline removed) and the environment give the same encryption.
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("pw.txt"), "s3cret\n").unwrap();
    let pw_file = t.path().join("pw.txt").to_string_lossy().to_string();
    let a = t.path().join("a");
    fs::create_dir_all(&a).unwrap();
    let o = new_keystore(&a, &["--password-file", &pw_file]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ks: Value =
        serde_json::from_str(&fs::read_to_string(a.join("key1.json")).unwrap()).unwrap();
    assert_eq!(ks["validators"][0]["attester"]["bls"]["password"], "s3cret");

    let b = t.path().join("b");
    fs::create_dir_all(&b).unwrap();
    let d = b.to_string_lossy().to_string();
    let o = cairn_env(
        &b,
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--data-dir",
            &d,
        ],
        &[("AZTEC_KEYSTORE_PASSWORD", "from-env")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ks: Value =
        serde_json::from_str(&fs::read_to_string(b.join("key1.json")).unwrap()).unwrap();
    assert_eq!(
        ks["validators"][0]["attester"]["eth"]["password"],
        "from-env"
    );

    // The staker reads the stored password and gives the same registration either way.
    let reg = |dir: &Path| {
        let from = dir.join("key1.json").to_string_lossy().to_string();
        let o = cairn(dir, &["validator-keys", "staker", "--from", &from]);
        assert!(o.status.success(), "{}", stderr(&o));
        fs::read_to_string(dir.join("key1_staker_output.json")).unwrap()
    };
    assert_eq!(reg(&a), reg(&b));

    // A prompt with no terminal is refused, not hung.
    let c = t.path().join("c");
    fs::create_dir_all(&c).unwrap();
    let o = new_keystore(&c, &["--password-prompt"]);
    assert_fails(&o, &["not a terminal"]);
    assert!(files(&c).is_empty());
}

#[test]
fn unknown_keystore_field_is_named_with_its_path() {
    let t = tempfile::tempdir().unwrap();
    let ks = format!(
        r#"{{"schemaVersion":1,"validators":[{{"attester":"0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80","feeRecipient":"{FEE}","feeRecipent":"{FEE}"}}]}}"#
    );
    fs::write(t.path().join("key1.json"), ks).unwrap();
    let from = t.path().join("key1.json").to_string_lossy().to_string();
    let o = cairn(t.path(), &["validator-keys", "staker", "--from", &from]);
    assert_fails(&o, &["'feeRecipent'", "validators.0"]);
    let o = cairn(t.path(), &["validator-keys", "check", &from]);
    assert_fails(&o, &["'feeRecipent'"]);
}

#[test]
fn check_loads_a_directory_like_the_node() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("keystores");
    let enc = t.path().join("enc").to_string_lossy().to_string();
    let d = dir.to_string_lossy().to_string();
    // Two files: plaintext and encrypted (key files kept outside the directory).
    let o = cairn(
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
            "--data-dir",
            &d,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cairn(
        t.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--address-index",
            "2",
            "--data-dir",
            &d,
            "--password",
            "pw",
            "--encrypted-keystore-dir",
            &enc,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cairn(t.path(), &["validator-keys", "check", &d, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["files"], 2);
    let attesters: Vec<&str> = v["attesters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attester"].as_str().unwrap())
        .collect();
    assert_eq!(attesters.len(), 3);
    assert_eq!(attesters[0], "0x9858EfFD232B4033E47d90003D41EC34EcaEda94");

    // The same attester in a third file: refused, naming both files.
    let o = cairn(
        t.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--data-dir",
            &d,
            "--file",
            "dup.json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cairn(t.path(), &["validator-keys", "check", &d]);
    assert_fails(
        &o,
        &[
            "Duplicate attester 0x9858EfFD232B4033E47d90003D41EC34EcaEda94",
            "dup.json",
            "key1.json",
        ],
    );
    fs::remove_file(dir.join("dup.json")).unwrap();

    // An encrypted key file inside the directory is not a keystore: the node would refuse.
    fs::copy(
        fs::read_dir(t.path().join("enc"))
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path(),
        dir.join("stray.json"),
    )
    .unwrap();
    let o = cairn(t.path(), &["validator-keys", "check", &d]);
    assert_fails(&o, &["stray.json", "Schema validation failed"]);
    fs::remove_file(dir.join("stray.json")).unwrap();

    // An empty directory is an error, not an empty node.
    let empty = t.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    let o = cairn(
        t.path(),
        &["validator-keys", "check", &empty.to_string_lossy()],
    );
    assert_fails(&o, &["no keystore"]);
}

#[test]
fn unwritable_output_leaves_nothing_behind() {
    let t = tempfile::tempdir().unwrap();
    // A regular file where a directory should be: even root cannot write under it.
    fs::write(t.path().join("blocker"), "x").unwrap();
    let d = t.path().join("blocker/keys").to_string_lossy().to_string();
    let o = cairn(
        t.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--data-dir",
            &d,
            "--password",
            "pw",
            "--staker-output",
        ],
    );
    assert_fails(&o, &["blocker"]);
    assert_eq!(files(t.path()), vec!["blocker".to_string()]);

    // Encrypted files are staged first; if the keystore cannot be placed, none of them remain.
    let enc = t.path().join("enc").to_string_lossy().to_string();
    let o = cairn(
        t.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--data-dir",
            &d,
            "--password",
            "pw",
            "--encrypted-keystore-dir",
            &enc,
        ],
    );
    assert_fails(&o, &["blocker"]);
    assert!(
        !t.path().join("enc").exists(),
        "encrypted files left behind"
    );
}

#[test]
fn existing_keystore_is_not_overwritten_without_force() {
    let t = tempfile::tempdir().unwrap();
    assert!(new_keystore(t.path(), &[]).status.success());
    let before = fs::read(t.path().join("key1.json")).unwrap();
    let o = new_keystore(t.path(), &["--file", "key1.json", "--count", "2"]);
    assert_fails(&o, &["refusing to overwrite", "--force"]);
    assert_eq!(fs::read(t.path().join("key1.json")).unwrap(), before);
    let o = new_keystore(
        t.path(),
        &["--file", "key1.json", "--count", "2", "--force"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ks: Value =
        serde_json::from_str(&fs::read_to_string(t.path().join("key1.json")).unwrap()).unwrap();
    assert_eq!(ks["validators"].as_array().unwrap().len(), 2);
}

#[test]
fn max_pop_gas_skips_expensive_indices() {
    let t = tempfile::tempdir().unwrap();
    // A limit below the cheapest possible check (one attempt, one square root) skips nothing
    // cheaper than it; pick one between the typical and the expensive keys.
    let o = new_keystore(
        t.path(),
        &[
            "--count",
            "40",
            "--staker-output",
            "--max-pop-gas",
            "140000",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let skipped = stderr(&o).matches("skipped derivation index").count();
    assert!(
        skipped > 0,
        "expected some indices above 140000 gas among the first 40+:\n{}",
        stderr(&o)
    );
    let report = cairn(
        t.path(),
        &[
            "validator-keys",
            "verify",
            "key1_staker_output.json",
            "--json",
        ],
    );
    assert!(report.status.success(), "{}", stdout(&report));
    let v: Value = serde_json::from_str(&stdout(&report)).unwrap();
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 40);
    assert!(entries
        .iter()
        .all(|e| e["popGas"].as_u64().unwrap() <= 140_000));
    // The keystore skips the same indices: 40 validators spread over 40 + skipped indices.
    let ks: Value =
        serde_json::from_str(&fs::read_to_string(t.path().join("key1.json")).unwrap()).unwrap();
    assert_eq!(ks["validators"].as_array().unwrap().len(), 40);
}

#[test]
fn verify_reports_every_failure() {
    let t = tempfile::tempdir().unwrap();
    assert!(new_keystore(t.path(), &["--count", "2", "--staker-output"])
        .status
        .success());
    let mut doc: Value = serde_json::from_str(
        &fs::read_to_string(t.path().join("key1_staker_output.json")).unwrap(),
    )
    .unwrap();
    doc[1] = doc[0].clone();
    fs::write(t.path().join("dup.json"), doc.to_string()).unwrap();
    let o = cairn(t.path(), &["validator-keys", "verify", "dup.json"]);
    assert!(!o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("[FAIL] unique-attesters") && out.contains("[FAIL] unique-keys"),
        "{out}"
    );
    assert!(out.contains("FAILED"), "{out}");
    fs::write(t.path().join("garbage.json"), "{not json").unwrap();
    let o = cairn(t.path(), &["validator-keys", "verify", "garbage.json"]);
    assert!(!o.status.success());
    assert!(stdout(&o).contains("not valid JSON"));
    let o = cairn(t.path(), &["validator-keys", "verify", "missing.json"]);
    assert_fails(&o, &["missing.json"]);
}

#[test]
fn bulk_generation_is_consistent() {
    let t = tempfile::tempdir().unwrap();
    let o = new_keystore(t.path(), &["--count", "200", "--staker-output"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ks: Value =
        serde_json::from_str(&fs::read_to_string(t.path().join("key1.json")).unwrap()).unwrap();
    let vs = ks["validators"].as_array().unwrap();
    assert_eq!(vs.len(), 200);
    let mut keys: Vec<&str> = vs
        .iter()
        .map(|v| v["attester"]["eth"].as_str().unwrap())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 200, "parallel derivation produced duplicates");
    // Validator 137 is the same key a single-validator run at address index 137 produces.
    let single = tempfile::tempdir().unwrap();
    assert!(new_keystore(single.path(), &["--address-index", "137"])
        .status
        .success());
    let one: Value =
        serde_json::from_str(&fs::read_to_string(single.path().join("key1.json")).unwrap())
            .unwrap();
    assert_eq!(one["validators"][0]["attester"], vs[137]["attester"]);
    let o = cairn(
        t.path(),
        &["validator-keys", "verify", "key1_staker_output.json"],
    );
    assert!(o.status.success(), "{}", stdout(&o));
}

/// spec/aztec-keys.md §4.1: the contracts' own fixtures, through the CLI's files rather than the
/// library: a keystore holding fixture secret 0x7777777 (sample 0 of bn254_constants.json) gives
/// the fixture's public keys in the registration JSON, and registration_data.json entries 0 and 1
/// pass `verify`.
#[test]
fn contract_fixtures_through_the_cli() {
    let t = tempfile::tempdir().unwrap();
    let ks = format!(
        r#"{{"schemaVersion":1,"validators":[{{"attester":{{"eth":"0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80","bls":"0x{:064x}"}},"feeRecipient":"{FEE}"}}]}}"#,
        0x7777777u64
    );
    fs::write(t.path().join("fixture.json"), ks).unwrap();
    let o = cairn(
        t.path(),
        &["validator-keys", "staker", "--from", "fixture.json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out: Value = serde_json::from_str(
        &fs::read_to_string(t.path().join("fixture_staker_output.json")).unwrap(),
    )
    .unwrap();
    let dec = |field: &Value| {
        let w = cairn_crypto::hex32::parse(field.as_str().unwrap()).unwrap();
        // Compare as hex against the fixture's decimal via the library's decimal parser.
        hex::encode(w)
    };
    let fix = |d: &str| hex::encode(cairn_crypto::hex32::parse_decimal(d).unwrap());
    assert_eq!(
        out[0]["attester"],
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    );
    assert_eq!(
        dec(&out[0]["publicKeyG1"]["x"]),
        fix("14040631920337037677709966437409651072288616613076825157749168159693185460400")
    );
    assert_eq!(
        dec(&out[0]["publicKeyG1"]["y"]),
        fix("6284788440647112615638144926617266520775230953679255923656986669548279761148")
    );
    assert_eq!(
        dec(&out[0]["publicKeyG2"]["x0"]),
        fix("17931071651819835067098563222910421513876328033572114834306979690881549564414")
    );
    assert_eq!(
        dec(&out[0]["publicKeyG2"]["x1"]),
        fix("12000187580290590047264785709963395816646295176893602234201956783324175839805")
    );
    assert_eq!(
        dec(&out[0]["publicKeyG2"]["y0"]),
        fix("9611549517545166944736557219282359806761534888544046901025233666228290030286")
    );
    assert_eq!(
        dec(&out[0]["publicKeyG2"]["y1"]),
        fix("3847186948811352011829434621581350901968531448585779990319356482934947911409")
    );

    let entries = r#"[
  {"attester": "0xdEc08eb67aEa96cd8C2F576aEFD5b9F6bA4bc973",
   "publicKeyInG1": {"x": "0x0d8fd0af4f057a4ab0e7c55b80bcb1e624a0d319edc890a94e32ff8a49b17fd0", "y": "0x288a165b8f273e46b18d308bd94980511ff1ab31cf7977524cc5100a81c639ba"},
   "publicKeyInG2": {"x0": "0x189965ba927f0bdf8a00df57ca5c2f9fbb08a1c1e5ffe492d4b4c15ecefe3c16", "x1": "0x0041dc6e43f797479233619b2f6da70fd3a0a6bf097a8fa256b9bc83bc309f17",
                     "y0": "0x08b4c50b72aa8ff1205d5d849d10614731fc4e17edfa920e4ee59baf96889661", "y1": "0x167947af5ae7f4277b0c1f6d915c8dd6485b1898d524c5caee08da68c77fa1e1"},
   "proofOfPossession": {"x": "0x133f0503586cdaa1a23f00739cd060f78f461454880b299bf8851f6a53729624", "y": "0x1f083545d8cfe01fb185fc93cda3fbc271cf43e3e52dce949d6401b583a549d0"}},
  {"attester": "0x65Df7Fe8A2Fd26805ab8d9487D548Dd70262B371",
   "publicKeyInG1": {"x": "0x13c228ed66d3336ba3a9cdd09f17dd72ebe04ee91d3b96009308e5feee87a4a9", "y": "0x21b3da7ed72d72776844138fabb21537913956816338a2988916f349b40868f6"},
   "publicKeyInG2": {"x0": "0x11dbb4bd7204d4c626cc09ba1a5dfdea248acc892464f379860e4d1d9b687d54", "x1": "0x2ac8ad0079bbf89f1496dee77a2f33410d7d78ca48ab4a1eb9846b2ae584fe53",
                     "y0": "0x229713c0ee5720acaa5747d8e73361dfea8dd78533d59f28f76e2f94599ec9ae", "y1": "0x295e82aa97fda4d7cfd6bd2b3100956825bb8c1a76432d82aa5b7600d4e7824a"},
   "proofOfPossession": {"x": "0x2ef064d854d5c39496cb690452793ed32c9ffb627224a292982f76c246618e34", "y": "0x1d775e918da60416ca47e9a47f88c2d5d73cf06f716f2c26fb5e7421a0e4c00d"}}
]"#;
    fs::write(t.path().join("fixtures.json"), entries).unwrap();
    let o = cairn(t.path(), &["validator-keys", "verify", "fixtures.json"]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("OK: "), "{}", stdout(&o));
}

#[test]
fn invalid_private_key_in_a_keystore_is_an_error_not_a_crash() {
    let t = tempfile::tempdir().unwrap();
    let zero = format!("0x{}", "0".repeat(64));
    fs::write(
        t.path().join("key1.json"),
        format!(
            r#"{{"schemaVersion":1,"validators":[{{"attester":"{zero}","feeRecipient":"{FEE}"}}]}}"#
        ),
    )
    .unwrap();
    let o = cairn(
        t.path(),
        &["validator-keys", "check", &t.path().to_string_lossy()],
    );
    assert_fails(&o, &["key1.json", "validator 1"]);
}

#[test]
fn add_refuses_to_repeat_keys_or_overwrite_files() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().to_string_lossy().to_string();
    // new skipped index 2132 (over the gas cap); add would derive from index 1 = count of existing.
    let o = new_keystore(
        t.path(),
        &[
            "--address-index",
            "2131",
            "--count",
            "2",
            "--max-pop-gas",
            "250000",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("skipped derivation index 2132"));
    let before = fs::read(t.path().join("key1.json")).unwrap();
    let o = cairn(
        t.path(),
        &[
            "validator-keys",
            "add",
            "key1.json",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--address-index",
            "2133",
            "--data-dir",
            &d,
        ],
    );
    assert_fails(
        &o,
        &["already the attester of validator 2", "--address-index"],
    );
    assert_eq!(fs::read(t.path().join("key1.json")).unwrap(), before);

    // --file pointing at another existing keystore is refused without --force.
    assert!(
        new_keystore(t.path(), &["--file", "other.json", "--address-index", "9"])
            .status
            .success()
    );
    let other = fs::read(t.path().join("other.json")).unwrap();
    let o = cairn(
        t.path(),
        &[
            "validator-keys",
            "add",
            "key1.json",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--address-index",
            "50",
            "--data-dir",
            &d,
            "--file",
            "other.json",
        ],
    );
    assert_fails(&o, &["other.json", "already exists"]);
    assert_eq!(fs::read(t.path().join("other.json")).unwrap(), other);
    assert_eq!(fs::read(t.path().join("key1.json")).unwrap(), before);

    // generate-bls-keypair --out does not replace a key file either.
    fs::write(t.path().join("bls.json"), "precious").unwrap();
    let o = cairn(
        t.path(),
        &[
            "generate-bls-keypair",
            "--mnemonic",
            M1,
            "--out",
            "bls.json",
        ],
    );
    assert_fails(&o, &["bls.json", "--force"]);
    assert_eq!(
        fs::read_to_string(t.path().join("bls.json")).unwrap(),
        "precious"
    );
}

#[test]
fn max_pop_gas_below_any_key_is_refused_at_once() {
    let t = tempfile::tempdir().unwrap();
    let o = new_keystore(t.path(), &["--max-pop-gas", "100000"]);
    assert_fails(&o, &["--max-pop-gas 100000", "cheapest"]);
    assert!(files(t.path()).is_empty());
}

#[test]
fn exported_password_never_conflicts_with_flags() {
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("pw.txt"), "from-file\n").unwrap();
    let d = t.path().join("k").to_string_lossy().to_string();
    let pw = t.path().join("pw.txt").to_string_lossy().to_string();
    let o = cairn_env(
        t.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M1,
            "--data-dir",
            &d,
            "--password-file",
            &pw,
        ],
        &[("AZTEC_KEYSTORE_PASSWORD", "from-env")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ks: Value =
        serde_json::from_str(&fs::read_to_string(t.path().join("k/key1.json")).unwrap()).unwrap();
    assert_eq!(
        ks["validators"][0]["attester"]["eth"]["password"],
        "from-file"
    );
}

#[test]
fn start_refuses_bad_keystores_before_touching_l1() {
    let tmp = tempfile::tempdir().unwrap();
    let ks = tmp.path().join("ks");
    fs::create_dir_all(&ks).unwrap();
    let d = tmp.path().join("data");
    let (ks_s, d_s) = (
        ks.to_string_lossy().to_string(),
        d.to_string_lossy().to_string(),
    );
    let start = |extra: &[&str]| {
        let mut a = vec![
            "start",
            "--node",
            "--sequencer",
            "--data-directory",
            &d_s,
            "--key-store-directory",
            &ks_s,
        ];
        a.extend_from_slice(extra);
        // No L1 anywhere: the keystore must be rejected first.
        cairn_env(
            tmp.path(),
            &a,
            &[
                ("ETHEREUM_HOSTS", "http://127.0.0.1:9"),
                ("NETWORK", "devnet"),
                ("CAIRN_DEVNET_MANIFEST", "/nonexistent"),
            ],
        )
    };
    assert_fails(&start(&[]), &["no keystore"]);
    fs::write(ks.join("broken.json"), "{ not json").unwrap();
    assert_fails(&start(&[]), &["broken.json"]);
    fs::write(
        ks.join("broken.json"),
        r#"{"schemaVersion": 1, "validators": [{"attester": "0x12"}]}"#,
    )
    .unwrap();
    assert_fails(&start(&[]), &["broken.json"]);
    fs::remove_file(ks.join("broken.json")).unwrap();
    assert_fails(
        &cairn(tmp.path(), &["start", "--data-directory", &d_s]),
        &["nothing to run"],
    );
    assert_fails(
        &cairn(
            tmp.path(),
            &["start", "--node", "--sequencer", "--data-directory", &d_s],
        ),
        &["KEY_STORE_DIRECTORY"],
    );
}

#[test]
fn devnet_up_refuses_node_counts_it_cannot_staff_before_starting_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("dn").to_string_lossy().to_string();
    for (nodes, validators) in [("0", "4"), ("5", "4")] {
        let o = cairn(
            tmp.path(),
            &[
                "devnet",
                "up",
                "--dir",
                &d,
                "--nodes",
                nodes,
                "--validators",
                validators,
            ],
        );
        assert_fails(&o, &["--nodes must be between 1 and --validators (4)"]);
    }
    assert!(!tmp.path().join("dn").join("manifest.json").exists());
}

#[test]
fn start_with_remote_signer_keystores_checks_publishers_and_the_signer_first() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data").to_string_lossy().to_string();
    let ks = tmp.path().join("ks");
    std::fs::create_dir_all(&ks).unwrap();
    // What `validator-keys new --remote-signer` writes, pointing at a signer that is down.
    std::fs::write(
        ks.join("key1.json"),
        r#"{"schemaVersion":1,"validators":[{"attester":{"eth":{"address":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","remoteSignerUrl":"http://127.0.0.1:9"}},"feeRecipient":"0x0000000000000000000000000000000000000000000000000000000000000001"}]}"#,
    )
    .unwrap();
    let ks = ks.to_string_lossy().to_string();
    let start = |env: &[(&str, &str)]| {
        let mut all = vec![
            ("ETHEREUM_HOSTS", "http://127.0.0.1:9"),
            ("NETWORK", "devnet"),
            ("CAIRN_DEVNET_MANIFEST", "/nonexistent"),
        ];
        all.extend_from_slice(env);
        cairn_env(
            tmp.path(),
            &[
                "start",
                "--node",
                "--sequencer",
                "--data-directory",
                &d,
                "--key-store-directory",
                &ks,
            ],
            &all,
        )
    };
    assert_fails(
        &start(&[]),
        &[
            "remote signer http://127.0.0.1:9",
            "EIP-4844",
            "SEQ_PUBLISHER_PRIVATE_KEYS",
        ],
    );
    assert_fails(
        &start(&[(
            "SEQ_PUBLISHER_PRIVATE_KEYS",
            "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        )]),
        &[
            "remote signer http://127.0.0.1:9",
            "eth_accounts",
            "unreachable",
        ],
    );
    // Without a keystore, as Aztec's node: VALIDATOR_ADDRESSES signed by WEB3_SIGNER_URL.
    let env_start = |env: &[(&str, &str)]| {
        let mut all = vec![
            ("ETHEREUM_HOSTS", "http://127.0.0.1:9"),
            ("NETWORK", "devnet"),
            ("CAIRN_DEVNET_MANIFEST", "/nonexistent"),
            (
                "SEQ_PUBLISHER_PRIVATE_KEYS",
                "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
            ),
        ];
        all.extend_from_slice(env);
        cairn_env(
            tmp.path(),
            &["start", "--node", "--sequencer", "--data-directory", &d],
            &all,
        )
    };
    let who = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    assert_fails(
        &env_start(&[("VALIDATOR_ADDRESSES", who)]),
        &["VALIDATOR_ADDRESSES needs WEB3_SIGNER_URL"],
    );
    assert_fails(
        &env_start(&[
            ("VALIDATOR_ADDRESSES", "0x12"),
            ("WEB3_SIGNER_URL", "http://127.0.0.1:9"),
        ]),
        &["--validator-addresses"],
    );
    assert_fails(
        &env_start(&[
            ("VALIDATOR_ADDRESSES", who),
            ("WEB3_SIGNER_URL", "http://127.0.0.1:9"),
        ]),
        &["remote signer http://127.0.0.1:9", "unreachable"],
    );
}

#[test]
fn start_refuses_bad_p2p_settings_before_touching_l1() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data").to_string_lossy().to_string();
    let start = |env: &[(&str, &str)]| {
        let mut all = vec![
            ("ETHEREUM_HOSTS", "http://127.0.0.1:9"),
            ("NETWORK", "devnet"),
            ("CAIRN_DEVNET_MANIFEST", "/nonexistent"),
            ("P2P_ENABLED", "true"),
        ];
        all.extend_from_slice(env);
        cairn_env(
            tmp.path(),
            &["start", "--node", "--data-directory", &d],
            &all,
        )
    };
    assert_fails(
        &start(&[(
            "BOOTSTRAP_NODES",
            "/ip4/127.0.0.1/tcp/40400,not-a-multiaddr",
        )]),
        &["BOOTSTRAP_NODES", "not-a-multiaddr"],
    );
    assert_fails(&start(&[("P2P_IP", "10.0.0.300")]), &["--p2p-ip"]);
    assert_fails(
        &start(&[("P2P_LISTEN_ADDR", "everywhere")]),
        &["--p2p-listen-addr"],
    );
    assert_fails(&start(&[("P2P_PORT", "70000")]), &["--p2p-port"]);
    assert_fails(&start(&[("P2P_MAX_PEERS", "0")]), &["--p2p-max-peers"]);
    assert_fails(
        &start(&[("P2P_MAX_PENDING_TX_COUNT", "0")]),
        &["--p2p-max-pending-tx-count"],
    );
    assert_fails(
        &start(&[("P2P_MIN_PEERS", "5"), ("P2P_MAX_PEERS", "2")]),
        &["P2P_MIN_PEERS (5) is above P2P_MAX_PEERS (2)"],
    );
    assert_fails(
        &start(&[("P2P_ENABLED", "false"), ("P2P_MIN_PEERS", "1")]),
        &["P2P_MIN_PEERS is 1 but P2P_ENABLED is off"],
    );
    assert_fails(
        &start(&[("P2P_ENABLED", "false"), ("CAIRN_L1_SYNC_PAUSED", "true")]),
        &["CAIRN_L1_SYNC_PAUSED needs P2P_ENABLED"],
    );
    assert_fails(
        &start(&[("CAIRN_L1_SYNC_PAUSED", "sometimes")]),
        &["--l1-sync-paused"],
    );
}
