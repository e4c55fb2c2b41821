//! Staking registration ("staker output") JSON and its verification checklist.
//!
//! The format is what `aztec validator-keys staker` writes and what the staking dashboard and
//! `StakingRegistry.addKeysToProvider` consume: public-key coordinates padded to 64 hex digits,
//! proof-of-possession coordinates as minimal hex, G2 limbs real part first.

use std::collections::BTreeMap;

use cairn_crypto::bls::{verify_pop, PopError, PopGasEstimate, ProofOfPossession, POP_GAS_CAP};
use cairn_crypto::hex32;
use cairn_crypto::{Address, G1Words, G2Words};
use serde_json::{json, Map, Value};

/// One registration tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The attester address exactly as it will be written (EIP-55 or lowercase, per source).
    pub attester: String,
    /// Public key in G1.
    pub pk1: G1Words,
    /// Public key in G2.
    pub pk2: G2Words,
    /// Proof of possession (σ).
    pub pop: G1Words,
}

impl Registration {
    /// Builds a tuple from a freshly signed proof of possession.
    pub fn new(attester: String, pop: &ProofOfPossession) -> Self {
        Self {
            attester,
            pk1: pop.pk1,
            pk2: pop.pk2,
            pop: pop.sigma,
        }
    }

    /// The JSON object in the reference's key order and padding.
    pub fn to_json(&self) -> Value {
        json!({
            "attester": self.attester,
            "publicKeyG1": {"x": hex32::padded(&self.pk1.x), "y": hex32::padded(&self.pk1.y)},
            "publicKeyG2": {
                "x0": hex32::padded(&self.pk2.x0),
                "x1": hex32::padded(&self.pk2.x1),
                "y0": hex32::padded(&self.pk2.y0),
                "y1": hex32::padded(&self.pk2.y1)
            },
            "proofOfPossession": {"x": hex32::minimal(&self.pop.x), "y": hex32::minimal(&self.pop.y)}
        })
    }
}

/// The staker output file: a 2-space pretty JSON array with no trailing newline.
pub fn to_json_text(entries: &[Registration]) -> String {
    let arr = Value::Array(entries.iter().map(Registration::to_json).collect());
    serde_json::to_string_pretty(&arr).expect("serialising a JSON value cannot fail")
}

// ---------------------------------------------------------------------------------------------
// Verification checklist (`cairn validator-keys verify`).

/// Outcome of one checklist item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The item holds.
    Pass,
    /// Acceptable, but the operator should look.
    Warn,
    /// The registration would be rejected or is malformed.
    Fail,
}

impl Status {
    /// Lowercase name for JSON and terminal output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Stable identifier (`schema`, `pop`, …).
    pub id: &'static str,
    /// Outcome.
    pub status: Status,
    /// Human explanation.
    pub detail: String,
}

impl Check {
    fn new(id: &'static str, status: Status, detail: impl Into<String>) -> Self {
        Self {
            id,
            status,
            detail: detail.into(),
        }
    }
}

/// The checklist of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryReport {
    /// Position in the array.
    pub index: usize,
    /// The attester as written, if it was a string.
    pub attester: Option<String>,
    /// Items in checklist order.
    pub checks: Vec<Check>,
    /// Gas estimate of the on-chain PoP check, when the keys could be read.
    pub gas: Option<PopGasEstimate>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Document-level items (shape, duplicates).
    pub document: Vec<Check>,
    /// Per-entry items.
    pub entries: Vec<EntryReport>,
}

impl VerifyReport {
    /// True when no item failed.
    pub fn ok(&self) -> bool {
        self.all_checks().all(|c| c.status != Status::Fail)
    }

    /// Number of items with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.all_checks().filter(|c| c.status == status).count()
    }

    fn all_checks(&self) -> impl Iterator<Item = &Check> {
        self.document
            .iter()
            .chain(self.entries.iter().flat_map(|e| e.checks.iter()))
    }

    /// Machine-readable form.
    pub fn to_json(&self) -> Value {
        let check =
            |c: &Check| json!({"id": c.id, "status": c.status.as_str(), "detail": c.detail});
        json!({
            "ok": self.ok(),
            "document": self.document.iter().map(check).collect::<Vec<_>>(),
            "entries": self.entries.iter().map(|e| json!({
                "index": e.index,
                "attester": e.attester,
                "popGas": e.gas.map(|g| g.gas),
                "popHashAttempts": e.gas.map(|g| g.attempts),
                "popSqrtCalls": e.gas.map(|g| g.sqrt_calls),
                "checks": e.checks.iter().map(check).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// Share of the gas cap above which an estimate is flagged: the estimate is a model, and a key
/// this close may cross the cap if the deployed contract costs slightly more.
pub const POP_GAS_WARN_FRACTION_PERCENT: u64 = 90;

/// An entry's fields once their shapes are known to be right.
struct Parsed {
    pk1: G1Words,
    pk2: G2Words,
    pop: G1Words,
}

/// Runs the checklist on a registration document.
pub fn verify_document(text: &str) -> VerifyReport {
    verify_document_with(text, |items| {
        items
            .iter()
            .enumerate()
            .map(|(i, v)| check_entry(i, v))
            .collect()
    })
}

/// Like [`verify_document`], with the per-entry checks run by `check_all` (which must apply
/// [`check_entry`] to every item, in order), so a host can run the pairings in parallel.
pub fn verify_document_with(
    text: &str,
    check_all: impl FnOnce(&[Value]) -> Vec<EntryReport>,
) -> VerifyReport {
    let mut document = Vec::new();
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            document.push(Check::new(
                "json",
                Status::Fail,
                format!("not valid JSON: {e}"),
            ));
            return VerifyReport {
                document,
                entries: Vec::new(),
            };
        }
    };
    let Some(items) = value.as_array() else {
        document.push(Check::new(
            "json",
            Status::Fail,
            "expected a JSON array of registrations (the staker output file)",
        ));
        return VerifyReport {
            document,
            entries: Vec::new(),
        };
    };
    if items.is_empty() {
        document.push(Check::new("json", Status::Fail, "the array is empty"));
    } else {
        document.push(Check::new(
            "json",
            Status::Pass,
            format!("{} registration(s)", items.len()),
        ));
    }
    let entries = check_all(items);
    document.extend(duplicates(items));
    VerifyReport { document, entries }
}

fn duplicates(items: &[Value]) -> Vec<Check> {
    let mut out = Vec::new();
    let mut attesters: BTreeMap<String, usize> = BTreeMap::new();
    let mut keys: BTreeMap<String, usize> = BTreeMap::new();
    let mut dup_attesters = Vec::new();
    let mut dup_keys = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(a) = item.get("attester").and_then(Value::as_str) {
            if let Some(first) = attesters.insert(a.to_ascii_lowercase(), i) {
                dup_attesters.push(format!("entries {first} and {i} ({a})"));
            }
        }
        let g1 = item
            .get("publicKeyG1")
            .or_else(|| item.get("publicKeyInG1"));
        if let Some(g1) = g1 {
            let x = g1
                .get("x")
                .and_then(Value::as_str)
                .and_then(|s| hex32::parse(s).ok());
            let y = g1
                .get("y")
                .and_then(Value::as_str)
                .and_then(|s| hex32::parse(s).ok());
            if let (Some(x), Some(y)) = (x, y) {
                let id = format!("{}{}", hex::encode(x), hex::encode(y));
                if let Some(first) = keys.insert(id, i) {
                    dup_keys.push(format!("entries {first} and {i}"));
                }
            }
        }
    }
    out.push(if dup_attesters.is_empty() {
        Check::new(
            "unique-attesters",
            Status::Pass,
            "no attester appears twice",
        )
    } else {
        Check::new(
            "unique-attesters",
            Status::Fail,
            format!("duplicate attester: {}", dup_attesters.join("; ")),
        )
    });
    out.push(if dup_keys.is_empty() {
        Check::new("unique-keys", Status::Pass, "no BLS key appears twice")
    } else {
        Check::new(
            "unique-keys",
            Status::Fail,
            format!(
                "duplicate BLS public key (the GSE rejects the second with ProofOfPossessionAlreadySeen): {}",
                dup_keys.join("; ")
            ),
        )
    });
    out
}

/// Runs the per-entry checklist: schema, hex forms, curve and subgroup membership, the PoP
/// pairing check and the gas estimate against the GSE's cap.
pub fn check_entry(index: usize, v: &Value) -> EntryReport {
    let mut checks = Vec::new();
    let attester = v
        .get("attester")
        .and_then(Value::as_str)
        .map(str::to_string);
    let parsed = match entry_shape(v) {
        Ok((parsed, unknown)) => {
            if unknown.is_empty() {
                checks.push(Check::new("schema", Status::Pass, "all fields present"));
            } else {
                checks.push(Check::new(
                    "schema",
                    Status::Warn,
                    format!("unexpected field(s) {}", unknown.join(", ")),
                ));
            }
            Some(parsed)
        }
        Err(problems) => {
            checks.push(Check::new("schema", Status::Fail, problems.join("; ")));
            None
        }
    };
    match attester.as_deref().map(Address::parse) {
        Some(Ok(_)) => checks.push(Check::new("attester", Status::Pass, "valid address")),
        Some(Err(e)) => checks.push(Check::new("attester", Status::Fail, e.to_string())),
        None => checks.push(Check::new(
            "attester",
            Status::Fail,
            "missing attester address",
        )),
    }
    let mut gas = None;
    if let Some(p) = parsed {
        checks.push(match p.pk1.to_affine() {
            Ok(_) => Check::new(
                "g1-on-curve",
                Status::Pass,
                "public key in G1 is on the curve",
            ),
            Err(e) => Check::new("g1-on-curve", Status::Fail, format!("publicKeyG1: {e}")),
        });
        checks.push(match p.pk2.to_affine() {
            Ok(_) => Check::new(
                "g2-on-curve",
                Status::Pass,
                "public key in G2 is on the curve and in the subgroup",
            ),
            Err(e) => {
                let swapped = G2Words {
                    x0: p.pk2.x1,
                    x1: p.pk2.x0,
                    y0: p.pk2.y1,
                    y1: p.pk2.y0,
                };
                let hint = if swapped.to_affine().is_ok() {
                    " (the limbs look swapped: x0/y0 must be the real parts, x1/y1 the imaginary parts)"
                } else {
                    ""
                };
                Check::new("g2-on-curve", Status::Fail, format!("publicKeyG2: {e}{hint}"))
            }
        });
        checks.push(match p.pop.to_affine() {
            Ok(_) => Check::new(
                "pop-on-curve",
                Status::Pass,
                "proof of possession is on the curve",
            ),
            Err(e) => Check::new(
                "pop-on-curve",
                Status::Fail,
                format!("proofOfPossession: {e}"),
            ),
        });
        match verify_pop(&p.pk1, &p.pk2, &p.pop) {
            Ok(g) => {
                checks.push(Check::new(
                    "pop",
                    Status::Pass,
                    "proof of possession verifies (the GSE's pairing check)",
                ));
                gas = Some(g);
            }
            Err(e @ (PopError::PairingFailed | PopError::GammaZero)) => {
                checks.push(Check::new("pop", Status::Fail, e.to_string()));
                gas = Some(PopGasEstimate::for_key(&p.pk1));
            }
            Err(e) => checks.push(Check::new(
                "pop",
                Status::Fail,
                format!("cannot check the proof of possession: {e}"),
            )),
        }
        if let Some(g) = gas {
            checks.push(gas_check(&g));
        }
    }
    EntryReport {
        index,
        attester,
        checks,
        gas,
    }
}

/// The gas item: fail above the cap, warn close to it.
pub fn gas_check(g: &PopGasEstimate) -> Check {
    let detail = format!(
        "estimated PoP check gas {} of the {} cap ({} hashToPoint attempts, {} square roots)",
        g.gas, POP_GAS_CAP, g.attempts, g.sqrt_calls
    );
    if g.exceeds(POP_GAS_CAP) {
        Check::new(
            "pop-gas",
            Status::Fail,
            format!("{detail}: the deposit would fail when the entry queue is flushed"),
        )
    } else if g.gas * 100 > POP_GAS_CAP * POP_GAS_WARN_FRACTION_PERCENT {
        Check::new(
            "pop-gas",
            Status::Warn,
            format!("{detail}: close to the cap"),
        )
    } else {
        Check::new("pop-gas", Status::Pass, detail)
    }
}

/// Checks field presence and hex forms; returns the words and any unexpected field names, or the
/// list of problems.
fn entry_shape(v: &Value) -> Result<(Parsed, Vec<String>), Vec<String>> {
    let Some(obj) = v.as_object() else {
        return Err(vec!["entry is not a JSON object".into()]);
    };
    let mut problems = Vec::new();
    let (g1_name, g2_name) = if obj.contains_key("publicKeyInG1") {
        ("publicKeyInG1", "publicKeyInG2")
    } else {
        ("publicKeyG1", "publicKeyG2")
    };
    let known = ["attester", g1_name, g2_name, "proofOfPossession"];
    let unknown: Vec<String> = obj
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .cloned()
        .collect();
    if !obj.contains_key("attester") {
        problems.push("missing `attester`".to_string());
    }
    let sub = |name: &str| obj.get(name).and_then(Value::as_object);
    for name in [g1_name, g2_name, "proofOfPossession"] {
        if sub(name).is_none() {
            problems.push(format!("missing object `{name}`"));
        }
    }
    // A missing object is reported once above; its fields read as zero and are not re-reported.
    let empty = Map::new();
    let g1 = sub(g1_name).unwrap_or(&empty);
    let g2 = sub(g2_name).unwrap_or(&empty);
    let pop = sub("proofOfPossession").unwrap_or(&empty);
    let mut word = |o: &Map<String, Value>, parent: &str, key: &str, padded: bool| -> [u8; 32] {
        if o.is_empty() && !obj.get(parent).is_some_and(Value::is_object) {
            return [0; 32];
        }
        match o.get(key).and_then(Value::as_str) {
            None => {
                problems.push(format!("missing string `{parent}.{key}`"));
                [0; 32]
            }
            Some(s) => {
                let digits = s.strip_prefix("0x").unwrap_or("");
                if padded && digits.len() != 64 {
                    problems.push(format!(
                        "`{parent}.{key}` must be 0x + 64 hex digits, has {}",
                        digits.len()
                    ));
                }
                match hex32::parse(s) {
                    Ok(w) => w,
                    Err(e) => {
                        problems.push(format!("`{parent}.{key}`: {e}"));
                        [0; 32]
                    }
                }
            }
        }
    };
    let parsed = Parsed {
        pk1: G1Words {
            x: word(g1, g1_name, "x", true),
            y: word(g1, g1_name, "y", true),
        },
        pk2: G2Words {
            x0: word(g2, g2_name, "x0", true),
            x1: word(g2, g2_name, "x1", true),
            y0: word(g2, g2_name, "y0", true),
            y1: word(g2, g2_name, "y1", true),
        },
        pop: G1Words {
            x: word(pop, "proofOfPossession", "x", false),
            y: word(pop, "proofOfPossession", "y", false),
        },
    };
    if problems.is_empty() {
        Ok((parsed, unknown))
    } else {
        Err(problems)
    }
}

/// Parses a registration document into tuples, failing on the first malformed entry (for
/// commands that consume registrations, such as provider batches).
pub fn parse_document(text: &str) -> Result<Vec<Registration>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let items = value
        .as_array()
        .ok_or("expected a JSON array of registrations")?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (p, _) = entry_shape(v).map_err(|e| format!("entry {i}: {}", e.join("; ")))?;
            let attester = v
                .get("attester")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("entry {i}: missing attester"))?;
            Ok(Registration {
                attester: attester.to_string(),
                pk1: p.pk1,
                pk2: p.pk2,
                pop: p.pop,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_crypto::BlsSecretKey;

    fn v1() -> Registration {
        let mut w = [0u8; 32];
        hex::decode_to_slice(
            "1dc2e5095a3b78b2beceabc9a418087e6a9dc7bac00e510c6c9e8a06ae2524e0",
            &mut w,
        )
        .unwrap();
        let sk = BlsSecretKey::from_word(&w).unwrap();
        Registration::new(
            "0x9858EfFD232B4033E47d90003D41EC34EcaEda94".into(),
            &sk.proof_of_possession(),
        )
    }

    #[test]
    fn v1_json_bytes() {
        let text = to_json_text(&[v1()]);
        let expected = r#"[
  {
    "attester": "0x9858EfFD232B4033E47d90003D41EC34EcaEda94",
    "publicKeyG1": {
      "x": "0x19b85154eae381ef1a1e4d220087bf487c009c73c26621ad46dfe6d589fa946b",
      "y": "0x18108504679ed2a6f0173c28f3ae1852a2c62c6b591b19c142e2edb0838eb745"
    },
    "publicKeyG2": {
      "x0": "0x13a53060b4f71673b2f95a075e1b17e487ae17cad007a3270d08031d21199920",
      "x1": "0x1a44cb36d0104c15583c111fb7e9d7a0d2a620c2b935163eb0a68ff296ab2e2e",
      "y0": "0x2d03b5e45d1c4c27ae1dea060aad4bdec8b931c0981581725d64fd946d55c1d0",
      "y1": "0x19f1361b57b94c0619dd1eb94d5ad1b10c8b032b1e29d0b70115512b19039a34"
    },
    "proofOfPossession": {
      "x": "0x2f4e8b861d4d575a1d5861362a489c3759ef195ff5336428d59a75c08325b82",
      "y": "0x1389edfcec50834027389eaa9627d4922aefea74e87f2b16d7d7b31dd4d952b1"
    }
  }
]"#;
        assert_eq!(text, expected);
        let report = verify_document(&text);
        assert!(report.ok(), "{:?}", report);
        assert_eq!(report.count(Status::Fail), 0);
        assert_eq!(parse_document(&text).unwrap(), vec![v1()]);
    }

    #[test]
    fn checklist_catches_each_problem() {
        let good = v1().to_json();
        let run = |mutate: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            mutate(&mut v);
            verify_document(&Value::Array(vec![v]).to_string())
        };
        let failed = |r: &VerifyReport| -> Vec<&'static str> {
            r.entries
                .iter()
                .flat_map(|e| e.checks.iter())
                .chain(r.document.iter())
                .filter(|c| c.status == Status::Fail)
                .map(|c| c.id)
                .collect()
        };
        // Tampered PoP.
        let r = run(&|v| v["proofOfPossession"]["y"] = json!(hex32::minimal(&[1; 32])));
        assert!(failed(&r).contains(&"pop") || failed(&r).contains(&"pop-on-curve"));
        // Swapped G2 limbs, with the hint.
        let r = run(&|v| {
            let x0 = v["publicKeyG2"]["x0"].clone();
            v["publicKeyG2"]["x0"] = v["publicKeyG2"]["x1"].clone();
            v["publicKeyG2"]["x1"] = x0;
            let y0 = v["publicKeyG2"]["y0"].clone();
            v["publicKeyG2"]["y0"] = v["publicKeyG2"]["y1"].clone();
            v["publicKeyG2"]["y1"] = y0;
        });
        let g2 = r.entries[0]
            .checks
            .iter()
            .find(|c| c.id == "g2-on-curve")
            .unwrap();
        assert_eq!(g2.status, Status::Fail);
        assert!(g2.detail.contains("swapped"), "{}", g2.detail);
        // Unpadded public key.
        let r = run(&|v| v["publicKeyG1"]["x"] = json!("0x19b8"));
        assert_eq!(failed(&r), vec!["schema"]);
        // Bad attester.
        let r = run(&|v| v["attester"] = json!("0x1234"));
        assert_eq!(failed(&r), vec!["attester"]);
        // Missing object.
        let r = run(&|v| {
            v.as_object_mut().unwrap().remove("publicKeyG2");
        });
        assert_eq!(failed(&r), vec!["schema"]);
        // Duplicates.
        let dup = verify_document(&Value::Array(vec![good.clone(), good.clone()]).to_string());
        assert_eq!(failed(&dup), vec!["unique-attesters", "unique-keys"]);
        // Not an array / not JSON / empty.
        assert!(!verify_document("{}").ok());
        assert!(!verify_document("[").ok());
        assert!(!verify_document("[]").ok());
    }

    #[test]
    fn contract_field_names_are_accepted() {
        let mut v = v1().to_json();
        let o = v.as_object_mut().unwrap();
        let g1 = o.remove("publicKeyG1").unwrap();
        let g2 = o.remove("publicKeyG2").unwrap();
        o.insert("publicKeyInG1".into(), g1);
        o.insert("publicKeyInG2".into(), g2);
        assert!(verify_document(&Value::Array(vec![v]).to_string()).ok());
    }

    #[test]
    fn gas_thresholds() {
        let g = |gas| PopGasEstimate {
            attempts: 2,
            sqrt_calls: 1,
            gas,
        };
        assert_eq!(gas_check(&g(140_000)).status, Status::Pass);
        assert_eq!(gas_check(&g(240_000)).status, Status::Warn);
        assert_eq!(gas_check(&g(250_000)).status, Status::Warn);
        assert_eq!(gas_check(&g(250_001)).status, Status::Fail);
    }
}
