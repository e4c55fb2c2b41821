//! `--password`: which keys of a keystore get encrypted into separate files, and under which
//! names, as Aztec's CLI does it.
//!
//! Every plaintext 66-character Ethereum key in an attester or publisher position becomes a
//! Web3 Secret Storage v3 file and every plaintext BLS key a BN254 keystore; the keystore keeps
//! `{ "path": …, "password": … }` in their place. Planning is separate from encrypting so the
//! host can run the expensive KDFs in parallel.

use serde_json::{json, Value};
use zeroize::Zeroizing;

/// Which format a key is encrypted into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// secp256k1 key → JSON-V3.
    Eth,
    /// BN254 key → BN254 keystore.
    Bls,
}

/// One key to encrypt.
pub struct EncryptJob {
    /// JSON pointer of the plaintext key inside the keystore document.
    pub pointer: String,
    /// Target format.
    pub kind: KeyKind,
    /// The plaintext key (`0x` + 64 hex).
    pub secret: Zeroizing<String>,
    /// File path to write (`out_dir` joined with the reference's file name).
    pub path: String,
}

fn is_plain_key(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 66 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
    })
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Lists the keys to encrypt in a keystore document, with their target file paths.
/// `bls_pubkey_hex` maps a BLS secret to the hex of its compressed public key (no `0x`), which
/// the file name embeds; the caller provides it so this module needs no curve arithmetic.
pub fn plan(
    keystore: &Value,
    out_dir: &str,
    bls_pubkey_hex: &dyn Fn(&str) -> Option<String>,
) -> Vec<EncryptJob> {
    let mut jobs = Vec::new();
    let Some(validators) = keystore.get("validators").and_then(Value::as_array) else {
        return jobs;
    };
    for (i, v) in validators.iter().enumerate() {
        let n = i + 1;
        let base = format!("/validators/{i}");
        let mut eth = |pointer: String, value: &Value, label: String| {
            if is_plain_key(value) {
                let s = value.as_str().expect("checked");
                let name = sanitize(&format!("keystore-eth-{label}_{}", &s[2..10]));
                jobs.push(EncryptJob {
                    pointer,
                    kind: KeyKind::Eth,
                    secret: Zeroizing::new(s.to_string()),
                    path: crate::paths::join(out_dir, &format!("{name}.json")),
                });
            }
        };
        match v.get("attester") {
            Some(a @ Value::String(_)) => {
                eth(format!("{base}/attester"), a, format!("attester_{n}"))
            }
            Some(Value::Object(o)) => {
                if let Some(e) = o.get("eth") {
                    eth(format!("{base}/attester/eth"), e, format!("attester_{n}"));
                }
            }
            _ => {}
        }
        match v.get("publisher") {
            Some(p @ Value::String(_)) => {
                eth(format!("{base}/publisher"), p, format!("publisher_{n}"))
            }
            Some(Value::Array(ps)) => {
                for (j, p) in ps.iter().enumerate() {
                    eth(
                        format!("{base}/publisher/{j}"),
                        p,
                        format!("publisher_{n}_{}", j + 1),
                    );
                }
            }
            _ => {}
        }
        if let Some(b) = v.get("attester").and_then(|a| a.get("bls")) {
            if is_plain_key(b) {
                let s = b.as_str().expect("checked");
                if let Some(pk) = bls_pubkey_hex(s).filter(|pk| pk.len() >= 16) {
                    let name = sanitize(&format!("keystore-{n}_{}", &pk[..16]));
                    jobs.push(EncryptJob {
                        pointer: format!("{base}/attester/bls"),
                        kind: KeyKind::Bls,
                        secret: Zeroizing::new(s.to_string()),
                        path: crate::paths::join(out_dir, &format!("{name}.json")),
                    });
                }
            }
        }
    }
    jobs
}

/// Replaces each planned key with its `{path, password}` reference.
pub fn apply(keystore: &mut Value, jobs: &[EncryptJob], password: &str) {
    for job in jobs {
        if let Some(slot) = keystore.pointer_mut(&job.pointer) {
            *slot = json!({"path": job.path, "password": password});
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_names_like_the_reference() {
        let k1 = format!("0xabcdef01{}", "1".repeat(56));
        let k2 = format!("0x12345678{}", "2".repeat(56));
        let k3 = format!("0x9abcdef0{}", "3".repeat(56));
        let mut ks = json!({"schemaVersion": 1, "validators": [
            {"attester": {"eth": k1, "bls": k2}, "publisher": [k2, k3], "feeRecipient": "0x00", "coinbase": "0x00"},
            {"attester": {"eth": {"address": "0x00", "remoteSignerUrl": "http://x"}, "bls": k3}, "publisher": k1}
        ]});
        let jobs = plan(&ks, "/out", &|_| Some("99b85154eae381ef1a1e".into()));
        let paths: Vec<&str> = jobs.iter().map(|j| j.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/out/keystore-eth-attester_1_abcdef01.json",
                "/out/keystore-eth-publisher_1_1_12345678.json",
                "/out/keystore-eth-publisher_1_2_9abcdef0.json",
                "/out/keystore-1_99b85154eae381ef.json",
                "/out/keystore-eth-publisher_2_abcdef01.json",
                "/out/keystore-2_99b85154eae381ef.json",
            ]
        );
        apply(&mut ks, &jobs, "pw");
        assert_eq!(
            ks["validators"][0]["attester"]["eth"],
            json!({"path": "/out/keystore-eth-attester_1_abcdef01.json", "password": "pw"})
        );
        assert!(ks["validators"][1]["attester"]["eth"]["remoteSignerUrl"].is_string());
        // Paths are joined as Node's path.join does, because the reference writes them.
        let fresh = json!({"validators": [{"attester": {"eth": k1, "bls": k2}}]});
        let jobs = plan(&fresh, "./enc/", &|_| Some("99b85154eae381ef".into()));
        assert_eq!(jobs.len(), 2);
        assert!(jobs.iter().all(|j| j.path.starts_with("enc/keystore-")));
    }
}
