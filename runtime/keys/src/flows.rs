//! The staking page's four flows as plain functions, text in and text out: registration from a
//! keystore, generation, verification and provider batches.
//!
//! The browser page (and its Web Worker) call these and nothing else, so everything it offers
//! for download is byte-identical to what `cairn validator-keys` writes for the same input.
//! Files the keystore references (BLS keystores, JSON-V3 files) come in a map, keyed by the path
//! written in the keystore or by their file name, since a browser only knows the dropped name.

use std::collections::BTreeMap;

use cairn_crypto::Address;
use serde_json::{json, Value};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::bls_derive::DEFAULT_BLS_PATH;
use crate::generate::{self, Deriver, EthForm, NewParams};
use crate::registration::{self, parse_document};
use crate::staker::{self, KeyFiles, StakerError};
use crate::{mnemonic, provider, schema};

/// What the user did wrong, in words the page shows as they are.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FlowError {
    /// The keystore is not valid JSON or breaks the schema.
    #[error("the keystore is not valid: {0}")]
    Keystore(String),
    /// A referenced key file was not provided or could not be decrypted.
    #[error("{0}")]
    KeyFile(String),
    /// Nothing in the keystore can be registered.
    #[error("no attester with a BLS key was found (mnemonic attesters and encrypted keys without a password are skipped)")]
    Nothing,
    /// A generation parameter is invalid.
    #[error("{0}")]
    Input(String),
    /// The registration file is not valid.
    #[error("the registration file is not valid: {0}")]
    Registration(String),
}

/// Key files supplied next to the keystore.
pub struct DroppedFiles<'a>(pub &'a BTreeMap<String, String>);

impl KeyFiles for DroppedFiles<'_> {
    fn read(&self, path: &str) -> Result<String, String> {
        let name = path.rsplit('/').next().unwrap_or(path);
        self.0
            .get(path)
            .or_else(|| self.0.get(name))
            .cloned()
            .ok_or_else(|| {
                format!("the key file {name} was not provided; add it next to the keystore")
            })
    }
}

/// A registration file and what was left out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationOutput {
    /// The registration JSON, exactly as `validator-keys staker` writes it.
    pub json: String,
    /// Number of registrations.
    pub count: usize,
    /// Why attesters were skipped, one sentence each.
    pub skipped: Vec<String>,
}

/// Registration JSON from a keystore, as `cairn validator-keys staker --from` writes it.
/// `progress(done, total)` is called after each attester.
pub fn registration_from_keystore(
    keystore: &str,
    password: Option<&str>,
    files: &BTreeMap<String, String>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<RegistrationOutput, FlowError> {
    let ks = schema::parse_keystore(keystore).map_err(|e| FlowError::Keystore(e.to_string()))?;
    let (jobs, skipped) = staker::jobs(&ks);
    let mut skipped: Vec<String> = skipped.iter().map(ToString::to_string).collect();
    let mut regs = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        match staker::run(job, password, &DroppedFiles(files)) {
            Ok(Ok(r)) => regs.push(r),
            Ok(Err(skip)) => skipped.push(skip.to_string()),
            Err(e @ StakerError::Decrypt { .. }) | Err(e @ StakerError::Read { .. }) => {
                return Err(FlowError::KeyFile(e.to_string()))
            }
            Err(e) => return Err(FlowError::Keystore(e.to_string())),
        }
        progress(i + 1, jobs.len());
    }
    if regs.is_empty() {
        return Err(FlowError::Nothing);
    }
    Ok(RegistrationOutput {
        json: registration::to_json_text(&regs),
        count: regs.len(),
        skipped,
    })
}

/// What the generation view asks for.
#[derive(Clone)]
pub struct GenerateRequest {
    /// The mnemonic (the page creates one with the browser's CSPRNG when the user has none).
    pub mnemonic: Zeroizing<String>,
    /// Number of validators.
    pub count: u32,
    /// BIP-44 account index.
    pub account_index: u32,
    /// First address index.
    pub address_index: u32,
    /// L2 fee recipient (Aztec address, hex).
    pub fee_recipient: String,
}

/// A generated keystore and its registration file.
pub struct GenerateOutput {
    /// The keystore, exactly as `validator-keys new` writes `key1.json`.
    pub keystore: Zeroizing<String>,
    /// The registration JSON, exactly as `new --staker-output` writes it.
    pub registration: String,
    /// Public summary lines (`accN:` blocks), as `new` prints them.
    pub summary: Vec<String>,
}

/// Validators from a mnemonic, as `cairn validator-keys new --staker-output` produces them
/// (sequentially: the page runs this in a Web Worker and reports `progress(done, total)`).
pub fn generate(
    req: &GenerateRequest,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<GenerateOutput, FlowError> {
    if req.count == 0 || req.count > 10_000 {
        return Err(FlowError::Input(
            "the number of validators must be between 1 and 10000".into(),
        ));
    }
    let fee = generate::parse_fee_recipient(&req.fee_recipient).map_err(FlowError::Input)?;
    mnemonic::normalize(&req.mnemonic).map_err(|e| FlowError::Input(e.to_string()))?;
    let deriver = Deriver::new(NewParams {
        mnemonic: req.mnemonic.clone(),
        ikm: None,
        account_index: req.account_index,
        address_index: req.address_index,
        publisher_count: 0,
        bls_path: DEFAULT_BLS_PATH.into(),
        legacy_bls: false,
    })
    .map_err(|e| FlowError::Input(e.to_string()))?;
    let mut candidates = Vec::with_capacity(req.count as usize);
    for i in 0..req.count {
        candidates.push(
            deriver
                .candidate(i)
                .map_err(|e| FlowError::Input(e.to_string()))?,
        );
        progress(i as usize + 1, req.count as usize);
    }
    let out = generate::assemble(
        &deriver,
        &candidates,
        req.count,
        None,
        &fee,
        None,
        &EthForm::PrivateKeys,
    )
    .map_err(|e| FlowError::Input(e.to_string()))?;
    Ok(GenerateOutput {
        keystore: Zeroizing::new(generate::pretty(&generate::keystore_json(out.validators))),
        registration: registration::to_json_text(&out.registrations),
        summary: out.summary,
    })
}

/// The `validator-keys verify` checklist as JSON (`ok`, document items, per-entry items).
pub fn verify(registration: &str) -> Value {
    registration::verify_document(registration).to_json()
}

/// `addKeysToProvider` batches for a registration file: calldata and `cast send` lines.
pub fn provider_batches(
    registration: &str,
    registry: &str,
    provider_id: u64,
    batch_size: usize,
) -> Result<Value, FlowError> {
    Address::parse(registry)
        .map_err(|e| FlowError::Input(format!("the StakingRegistry address is not valid: {e}")))?;
    let report = registration::verify_document(registration);
    if !report.ok() {
        return Err(FlowError::Registration(format!(
            "{} check(s) failed; run the verification first",
            report.count(registration::Status::Fail)
        )));
    }
    let regs = parse_document(registration).map_err(FlowError::Registration)?;
    let batches = provider::batches(registry, provider_id, &regs, batch_size)
        .map_err(|e| FlowError::Input(e.to_string()))?;
    Ok(Value::Array(
        batches
            .iter()
            .map(|b| {
                json!({
                    "first": b.first,
                    "count": b.len,
                    "calldata": format!("0x{}", hex::encode(&b.calldata)),
                    "cast": b.cast,
                })
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const M1: &str =
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    const FEE: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";

    fn req(count: u32) -> GenerateRequest {
        GenerateRequest {
            mnemonic: Zeroizing::new(M1.into()),
            count,
            account_index: 0,
            address_index: 0,
            fee_recipient: FEE.into(),
        }
    }

    #[test]
    fn generate_then_register_round_trip() {
        let mut calls = Vec::new();
        let out = generate(&req(3), &mut |d, t| calls.push((d, t))).unwrap();
        assert_eq!(calls, [(1, 3), (2, 3), (3, 3)]);
        // The registration computed from the generated keystore is the one generation produced.
        let again =
            registration_from_keystore(&out.keystore, None, &BTreeMap::new(), &mut |_, _| {})
                .unwrap();
        assert_eq!(again.json, out.registration);
        assert_eq!(again.count, 3);
        assert_eq!(verify(&out.registration)["ok"], true);
        let b = provider_batches(
            &out.registration,
            "0x00000000000000000000000000000000000000aa",
            5,
            2,
        )
        .unwrap();
        assert_eq!(b.as_array().unwrap().len(), 2);
    }

    #[test]
    fn user_errors_say_what_is_wrong() {
        let e =
            registration_from_keystore("{", None, &BTreeMap::new(), &mut |_, _| {}).unwrap_err();
        assert!(e.to_string().contains("not valid"), "{e}");
        let ks = r#"{"schemaVersion":1,"validators":[{"attester":{"eth":"0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80","bls":{"path":"/somewhere/keystore-1_aa.json","password":"pw"}},"feeRecipient":"0x1111111111111111111111111111111111111111111111111111111111111111"}]}"#;
        let e = registration_from_keystore(ks, None, &BTreeMap::new(), &mut |_, _| {}).unwrap_err();
        assert!(
            e.to_string()
                .contains("keystore-1_aa.json was not provided"),
            "{e}"
        );
        let mut r = req(1);
        r.fee_recipient = "0x12".into();
        assert!(matches!(
            generate(&r, &mut |_, _| {}),
            Err(FlowError::Input(_))
        ));
        r = req(0);
        assert!(generate(&r, &mut |_, _| {}).is_err());
        assert!(
            provider_batches("[]", "0x00000000000000000000000000000000000000aa", 1, 100).is_err()
        );
        assert!(provider_batches("[]", "nope", 1, 100).is_err());
    }
}
