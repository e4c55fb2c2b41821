//! cairn against the recorded outputs of Aztec's CLI (`@aztec/cli@4.1.2`), case by case.
//!
//! Each case in `tests/golden/data/<name>/case.json` is replayed with cairn in a fresh directory:
//! the same setup, the same command. Then:
//! - the exit status must agree (success or failure);
//! - on success, standard output must be byte-identical after the scratch path becomes `{DIR}`,
//!   and every file the reference wrote must exist with identical bytes — except the random parts
//!   the case names: encrypted files are compared field by field and by their decrypted key, and
//!   generated mnemonics are checked for consistency with the keys written;
//! - on failure, nothing may be left behind;
//! - chain cases (`"chain": true`, the reference asked a GSE) run without the chain: cairn computes
//!   the digest locally, so its output must still equal the reference's.
//!
//! Cases where cairn deliberately differs are listed in `DIVERGENCES` with the reason and the
//! behaviour cairn must show instead.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use cairn_tests::{repo_root, run_cairn};
use serde_json::Value;

/// Cases where cairn is stricter or more capable than the reference, on purpose.
const DIVERGENCES: &[(&str, Expect, &str)] = &[
    (
        "add_address_index_0",
        Expect::FailKeepingFiles,
        "the reference appends a second copy of an attester already in the keystore, which the node then refuses to load; cairn refuses up front",
    ),
    (
        "add_after_derived_publishers",
        Expect::FailKeepingFiles,
        "the reference derives new attesters at the address indices of existing publishers (same keys in two roles); cairn refuses and asks for --address-index",
    ),
    (
        "add_password",
        Expect::FailKeepingFiles,
        "as add_after_derived_publishers: the new attester would reuse an existing publisher key",
    ),
    (
        "new_file_overwrite",
        Expect::FailKeepingFiles,
        "the reference silently replaces an existing keystore given with --file, destroying its keys; cairn refuses without --force",
    ),
    (
        "new_staker_output_missing_gse",
        Expect::Succeed,
        "cairn computes the registration digest locally, so --staker-output needs no GSE address",
    ),
    (
        "new_staker_output_missing_rpc",
        Expect::Succeed,
        "cairn computes the registration digest locally, so --staker-output needs no L1 RPC",
    ),
    (
        "staker_missing_gse",
        Expect::Succeed,
        "cairn computes the registration digest locally, so staker needs no GSE address",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Exit non-zero and leave every file as it was.
    FailKeepingFiles,
    /// Exit zero (outputs not compared: the reference produced none).
    Succeed,
}

fn data_dir() -> PathBuf {
    repo_root().join("tests/golden/data")
}

/// An L1 with the real GSE: `(rpc, gse)`.
type Chain<'a> = Option<&'a (String, String)>;

fn subst_chain(s: &str, dir: &Path, chain: Chain) -> String {
    let mut s = s.replace("{DIR}", &dir.to_string_lossy());
    if let Some((rpc, gse)) = chain {
        s = s.replace("{RPC}", rpc).replace("{GSE}", gse);
    }
    s
}

fn subst(s: &str, dir: &Path) -> String {
    subst_chain(s, dir, None)
}

/// Without an L1, chain cases run with the chain flags removed: cairn computes the digest
/// locally, so everything but the reference's "Calling GSE contract" line must still match.
fn drop_chain_flags(args: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "--gse-address" || a == "--l1-rpc-urls" {
            it.next();
        } else {
            out.push(a);
        }
    }
    out
}

fn unsubst(s: &str, dir: &Path) -> String {
    s.replace(&*dir.to_string_lossy(), "{DIR}")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn env_of(case: &Value, dir: &Path) -> Vec<(String, String)> {
    case["env"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), subst(v.as_str().unwrap_or_default(), dir)))
                .collect()
        })
        .unwrap_or_default()
}

fn list_files(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
            if rel.starts_with(".home") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(rel);
            }
        }
    }
    out
}

fn setup(case: &Value, dir: &Path) -> Result<(), String> {
    for step in case["setup"].as_array().into_iter().flatten() {
        if let Some(run) = step.get("run") {
            let args: Vec<String> = strings(run).iter().map(|a| subst(a, dir)).collect();
            let out = run_cairn(dir, &args, &env_of(step, dir));
            if !out.status.success() {
                return Err(format!(
                    "setup `cairn {}` failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        } else if let Some(name) = step.get("write").and_then(Value::as_str) {
            let path = dir.join(subst(name, dir));
            let text = match (step.get("text"), step.get("json")) {
                (Some(t), _) => subst(t.as_str().unwrap_or_default(), dir),
                (None, Some(j)) => subst(&serde_json::to_string_pretty(j).unwrap(), dir),
                _ => return Err(format!("setup write without content: {step}")),
            };
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        } else if let Some(r) = step.get("replace") {
            let path = dir.join(subst(r["file"].as_str().unwrap_or_default(), dir));
            let from = subst(r["from"].as_str().unwrap_or_default(), dir);
            let to = subst(r["to"].as_str().unwrap_or_default(), dir);
            let text = fs::read_to_string(&path).map_err(|e| format!("setup replace: {e}"))?;
            if !text.contains(&from) {
                return Err(format!(
                    "setup replace: {from:?} not found in {}",
                    path.display()
                ));
            }
            fs::write(path, text.replace(&from, &to)).unwrap();
        } else if let Some(d) = step.get("delete_key") {
            let path = dir.join(subst(d["file"].as_str().unwrap_or_default(), dir));
            let key = d["key"].as_str().unwrap_or_default();
            let mut v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap())
                .map_err(|e| format!("setup delete_key: {e}"))?;
            delete_key(&mut v, key);
            fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
        } else if let Some(name) = step.get("mkdir").and_then(Value::as_str) {
            fs::create_dir_all(dir.join(subst(name, dir))).unwrap();
        } else {
            return Err(format!("unknown setup step {step}"));
        }
    }
    Ok(())
}

fn delete_key(v: &mut Value, key: &str) {
    match v {
        Value::Object(o) => {
            o.remove(key);
            o.values_mut().for_each(|x| delete_key(x, key));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| delete_key(x, key)),
        _ => {}
    }
}

/// Output whose mnemonic and keys are random: hex becomes `<hex>`, the mnemonic `<mnemonic>`.
fn random_shape(out: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut after_header = 0;
    for l in out.lines() {
        if after_header == 2 {
            lines.push("<mnemonic>".into());
        } else if l.trim_start().starts_with("\"generatedMnemonic\"") {
            lines.push("  \"generatedMnemonic\": <mnemonic>".into());
        } else {
            lines.push(shape_with(l, false));
        }
        after_header = match (l, after_header) {
            ("Using new mnemonic:", _) => 1,
            (_, 1) => 2,
            _ => 0,
        };
    }
    lines.join("\n")
}

/// Blanks the random fields of an encrypted key file so the rest can be compared.
fn blank_random(v: &mut Value) {
    const RANDOM: &[&str] = &["salt", "iv", "ciphertext", "mac", "message", "id", "uuid"];
    match v {
        Value::Object(o) => {
            for (k, val) in o.iter_mut() {
                if RANDOM.contains(&k.as_str())
                    && val.is_string()
                    && !val.as_str().unwrap().is_empty()
                {
                    *val = Value::String("<random>".into());
                } else {
                    blank_random(val);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(blank_random),
        _ => {}
    }
}

/// Replaces every hex run with its length, for comparing documents whose keys are random.
fn shape(text: &str) -> String {
    shape_with(text, true)
}

/// Like [`shape`]; without lengths when values are random and printed unpadded (PoP coordinates).
fn shape_with(text: &str, lengths: bool) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '0' && chars.peek() == Some(&'x') {
            chars.next();
            let mut n = 0;
            while chars.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                chars.next();
                n += 1;
            }
            if lengths {
                out.push_str(&format!("<hex{n}>"));
            } else {
                out.push_str("<hex>");
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn password_of(case: &Value) -> Option<String> {
    let cmd = strings(&case["cmd"]);
    cmd.iter()
        .position(|a| a == "--password")
        .and_then(|i| cmd.get(i + 1).cloned())
}

/// Compares one encrypted key file: identical apart from random fields, same secret inside.
fn compare_encrypted(name: &str, ours: &str, theirs: &str, password: &str) -> Result<(), String> {
    let mut a: Value =
        serde_json::from_str(ours).map_err(|e| format!("{name}: ours is not JSON: {e}"))?;
    let mut b: Value = serde_json::from_str(theirs).unwrap();
    let is_v3 = b.get("version") == Some(&Value::from(3));
    let (sa, sb) = if is_v3 {
        let k1 = cairn_keys::encrypted::decrypt_v3(ours, password)
            .map_err(|e| format!("{name}: {e}"))?;
        let k2 = cairn_keys::encrypted::decrypt_v3(theirs, password)
            .map_err(|e| format!("{name}: golden: {e}"))?;
        (k1.to_bytes(), k2.to_bytes())
    } else {
        let k1 = cairn_keys::encrypted::decrypt_bn254(ours, password)
            .map_err(|e| format!("{name}: {e}"))?;
        let k2 = cairn_keys::encrypted::decrypt_bn254(theirs, password)
            .map_err(|e| format!("{name}: golden: {e}"))?;
        (k1.to_word(), k2.to_word())
    };
    if sa != sb {
        return Err(format!("{name}: decrypts to a different key"));
    }
    // Same layout: compact for JSON-V3, pretty for BN254, and the same fields in the same order.
    if shape(&ours.replace(char::is_alphanumeric, ""))
        != shape(&theirs.replace(char::is_alphanumeric, ""))
    {
        return Err(format!("{name}: formatting differs"));
    }
    blank_random(&mut a);
    blank_random(&mut b);
    if serde_json::to_string(&a).unwrap() != serde_json::to_string(&b).unwrap() {
        return Err(format!("{name}: fields differ:\n ours   {a}\n theirs {b}"));
    }
    Ok(())
}

fn check_case(name: &str, case: &Value, chain: Chain) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    setup(case, &dir)?;
    let before = list_files(&dir);
    let snapshot: Vec<(String, Vec<u8>)> = before
        .iter()
        .map(|f| (f.clone(), fs::read(dir.join(f)).unwrap()))
        .collect();
    let chain_case = case["chain"] == true;
    let mut args: Vec<String> = strings(&case["cmd"])
        .iter()
        .map(|a| subst_chain(a, &dir, chain))
        .collect();
    if chain_case && chain.is_none() {
        args = drop_chain_flags(args);
    }
    let out = run_cairn(&dir, &args, &env_of(case, &dir));
    let stdout = unsubst(&String::from_utf8_lossy(&out.stdout), &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ctx = || format!("\n--- cairn stdout\n{stdout}\n--- cairn stderr\n{stderr}");

    if let Some((_, expect, _)) = DIVERGENCES.iter().find(|(n, _, _)| *n == name) {
        return match expect {
            Expect::Succeed if out.status.success() => {
                // These cases exist to produce registration JSON; it must be there and valid.
                let regs: Vec<String> = list_files(&dir)
                    .into_iter()
                    .filter(|f| f.ends_with("_staker_output.json"))
                    .collect();
                if regs.is_empty() {
                    return Err(format!("no registration JSON written{}", ctx()));
                }
                for f in regs {
                    let text = fs::read_to_string(dir.join(&f)).unwrap();
                    if !cairn_keys::registration::verify_document(&text).ok() {
                        return Err(format!("{f} fails verify{}", ctx()));
                    }
                }
                Ok(())
            }
            Expect::FailKeepingFiles
                if !out.status.success()
                    && snapshot
                        .iter()
                        .all(|(f, bytes)| fs::read(dir.join(f)).ok().as_ref() == Some(bytes))
                    && list_files(&dir) == before =>
            {
                Ok(())
            }
            _ => Err(format!("divergence {expect:?} not met{}", ctx())),
        };
    }

    let golden_dir = data_dir().join(name);
    let expected_ok = case["exit_code"] == 0;
    if out.status.success() != expected_ok {
        return Err(format!(
            "exit status: reference {}, cairn {}{}",
            case["exit_code"],
            out.status,
            ctx()
        ));
    }
    if !expected_ok {
        let after = list_files(&dir);
        if after != before {
            return Err(format!(
                "failed but left files behind: {:?}",
                after.difference(&before).collect::<Vec<_>>()
            ));
        }
        return Ok(());
    }
    let random = strings(&case["random"]);
    // Exactly the files the reference wrote, no more.
    let written: BTreeSet<String> = list_files(&dir).difference(&before).cloned().collect();
    let expected: BTreeSet<String> = strings(&case["files"])
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if written != expected {
        return Err(format!(
            "wrote {written:?}, the reference wrote {expected:?}{}",
            ctx()
        ));
    }
    let mut golden_stdout = fs::read_to_string(golden_dir.join("stdout.txt")).unwrap_or_default();
    if chain_case {
        if let Some((rpc, gse)) = chain {
            // The reference prints the GSE address lowercase.
            golden_stdout = golden_stdout
                .replace("{RPC}", rpc)
                .replace("{GSE}", &gse.to_lowercase());
        } else {
            golden_stdout = golden_stdout
                .lines()
                .filter(|l| !l.starts_with("Calling GSE contract "))
                .map(|l| format!("{l}\n"))
                .collect();
        }
    }
    // Encryption randomises file contents, not what is printed; only generated mnemonics do.
    let random_stdout = random.iter().any(|r| r == "mnemonic");
    if !random_stdout {
        if stdout != golden_stdout {
            return Err(format!(
                "stdout differs\n--- reference\n{golden_stdout}{}",
                ctx()
            ));
        }
    } else if random_shape(&stdout) != random_shape(&golden_stdout) {
        return Err(format!(
            "stdout shape differs\n--- reference\n{golden_stdout}{}",
            ctx()
        ));
    }
    let password = password_of(case);
    for f in strings(&case["files"]) {
        let ours =
            fs::read_to_string(dir.join(&f)).map_err(|_| format!("missing file {f}{}", ctx()))?;
        let ours = unsubst(&ours, &dir);
        let theirs = fs::read_to_string(golden_dir.join("files").join(&f)).unwrap();
        if f.ends_with("_staker_output.json") {
            let report = cairn_keys::registration::verify_document(&ours);
            if !report.ok() {
                return Err(format!(
                    "{f}: cairn's registration JSON fails its own checklist: {:?}",
                    report
                ));
            }
        }
        let is_encrypted = f.contains("keystore-");
        if is_encrypted {
            let pw = password
                .clone()
                .ok_or_else(|| format!("{f}: encrypted file but no --password in the case"))?;
            compare_encrypted(&f, &ours, &theirs, &pw)?;
        } else if random.iter().any(|r| r == "mnemonic") {
            if shape_with(&ours, false) != shape_with(&theirs, false) {
                return Err(format!(
                    "{f}: structure differs\n--- reference\n{theirs}\n--- cairn\n{ours}"
                ));
            }
        } else if ours != theirs {
            return Err(format!(
                "{f} differs\n--- reference\n{theirs}\n--- cairn\n{ours}"
            ));
        }
    }
    if random.iter().any(|r| r == "mnemonic") {
        check_generated_mnemonic(&stdout, &dir)?;
    }
    Ok(())
}

/// The printed mnemonic must be the one the written keys come from.
fn check_generated_mnemonic(stdout: &str, dir: &Path) -> Result<(), String> {
    let phrase = if let Ok(v) = serde_json::from_str::<Value>(stdout) {
        v["generatedMnemonic"].as_str().map(str::to_string)
    } else {
        let lines: Vec<&str> = stdout.lines().collect();
        lines
            .iter()
            .position(|l| *l == "Using new mnemonic:")
            .and_then(|i| lines.get(i + 2).map(|s| s.to_string()))
    };
    let Some(phrase) = phrase else {
        // `add` generates a mnemonic it never prints, like the reference.
        return Ok(());
    };
    let ks: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("key1.json")).unwrap()).unwrap();
    let seed = cairn_keys::mnemonic::to_seed(&phrase).map_err(|e| e.to_string())?;
    let key = cairn_keys::hd::EthAccountDeriver::new(seed.as_ref(), 0)
        .unwrap()
        .key(0)
        .unwrap();
    let written = ks["validators"][0]["attester"]["eth"]
        .as_str()
        .unwrap_or_default();
    if written != format!("0x{}", hex::encode(key.to_bytes())) {
        return Err("the printed mnemonic does not derive the written attester key".into());
    }
    if !cairn_keys::mnemonic::warnings(&phrase).is_empty() {
        return Err("the generated mnemonic is not a valid BIP-39 phrase".into());
    }
    Ok(())
}

fn case_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(data_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("case.json").is_file())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

fn run_cases(chain: Chain, only_chain_cases: bool) {
    let names = case_names();
    assert!(
        names.len() > 100,
        "golden data missing: {} cases",
        names.len()
    );
    let filter = std::env::var("GOLDEN_ONLY").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for name in &names {
        if filter
            .as_deref()
            .is_some_and(|f| !f.split(',').any(|x| x == name))
        {
            continue;
        }
        let case: Value = serde_json::from_str(
            &fs::read_to_string(data_dir().join(name).join("case.json")).unwrap(),
        )
        .unwrap();
        if only_chain_cases && case["chain"] != true {
            continue;
        }
        ran += 1;
        if let Err(e) = check_case(name, &case, chain) {
            failures.push(format!("=== {name}: {e}"));
        }
    }
    println!("{ran} golden cases, {} failed", failures.len());
    assert!(ran > 0, "no golden case ran");
    assert!(
        failures.is_empty(),
        "{}\n\n{} of {ran} golden cases differ",
        failures.join("\n\n"),
        failures.len()
    );
}

#[test]
fn golden_cases_match_the_reference() {
    run_cases(None, false);
}

/// The cases where the reference asked a GSE, replayed with cairn asking the real GSE too.
#[test]
fn golden_chain_cases_match_with_a_real_gse() {
    let devnet = cairn_tests::Devnet::start();
    let chain = (devnet.rpc(), devnet.address("gse"));
    run_cases(Some(&chain), true);
}

/// Files cairn wrote that the reference then read (`regen.sh --cross`): cairn must read them
/// the same way, giving the registration JSON the reference gave.
#[test]
fn reference_reads_cairns_files_as_cairn_does() {
    let cross = data_dir().join("cross");
    let mut checked = 0;
    for e in fs::read_dir(&cross).unwrap().flatten() {
        let case_path = e.path().join("case.json");
        let Ok(text) = fs::read_to_string(&case_path) else {
            continue;
        };
        let case: Value = serde_json::from_str(&text).unwrap();
        let input = e.path().join("input");
        let files = e.path().join("files");
        // Replay: copy cairn's recorded input files into a scratch dir, run cairn's staker.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().canonicalize().unwrap();
        if !input.is_dir() || !files.is_dir() {
            continue;
        }
        copy_tree(&input, &dir, &dir);
        let mut args: Vec<String> = strings(&case["cmd"])
            .iter()
            .map(|a| subst(a, &dir))
            .collect();
        if case["chain"] == true {
            args = drop_chain_flags(args);
        }
        let out = run_cairn(&dir, &args, &env_of(&case, &dir));
        // The reference's `add` reused a publisher key as the new attester here; cairn refuses
        // (see `add_after_derived_publishers` in DIVERGENCES).
        if e.file_name() == "cross_reference_add" {
            assert!(!out.status.success(), "cairn accepted a repeated key");
            assert!(String::from_utf8_lossy(&out.stderr).contains("already the publisher"));
            checked += 1;
            continue;
        }
        assert_eq!(
            out.status.success(),
            case["exit_code"] == 0,
            "{}: {}",
            e.path().display(),
            String::from_utf8_lossy(&out.stderr)
        );
        for f in strings(&case["files"]) {
            let ours = unsubst(&fs::read_to_string(dir.join(&f)).unwrap_or_default(), &dir);
            let theirs = fs::read_to_string(files.join(&f)).unwrap();
            if f.contains("keystore-") {
                let pw = password_of(&case).expect("an encrypted file implies --password");
                compare_encrypted(&f, &ours, &theirs, &pw)
                    .unwrap_or_else(|err| panic!("{}: {err}", e.path().display()));
            } else {
                assert_eq!(ours, theirs, "{}: {f}", e.path().display());
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no cross case was checked");
}

fn copy_tree(from: &Path, to: &Path, dir: &Path) {
    for e in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&e.path(), &target, dir);
        } else {
            let text = fs::read_to_string(e.path()).unwrap();
            fs::write(&target, subst(&text, dir)).unwrap();
        }
    }
}
