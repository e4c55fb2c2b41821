//! What `validator-keys new` and `add` derive and write, as pure functions.
//!
//! The host drives these: it supplies the mnemonic (or entropy for one), runs [`Deriver::candidate`]
//! for many indices in parallel, encrypts where asked, and writes files.

use cairn_crypto::bls::ProofOfPossession;
use cairn_crypto::{Address, BlsSecretKey, EthSecretKey};
use serde_json::{json, Map, Value};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::bls_derive::{self, BlsSource, DEFAULT_BLS_PATH};
use crate::hd::{EthAccountDeriver, HdError};
use crate::mnemonic::{self, MnemonicError};
use crate::registration::Registration;

/// Inputs of a generation run, already validated for syntax by the caller.
#[derive(Clone)]
pub struct NewParams {
    /// The mnemonic phrase (as given; not trimmed, like the reference CLI).
    pub mnemonic: Zeroizing<String>,
    /// IKM for BLS keys instead of the mnemonic seed.
    pub ikm: Option<Zeroizing<Vec<u8>>>,
    /// Base BIP-44 account index.
    pub account_index: u32,
    /// Base address index.
    pub address_index: u32,
    /// Derived publishers per validator.
    pub publisher_count: u32,
    /// BLS path label (default or custom).
    pub bls_path: String,
    /// `LEGACY_BLS_CLI` path rule.
    pub legacy_bls: bool,
}

/// Why generation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GenerateError {
    /// The mnemonic is unusable.
    #[error(transparent)]
    Mnemonic(#[from] MnemonicError),
    /// A BIP-32 step failed or an index is out of range.
    #[error(transparent)]
    Hd(#[from] HdError),
    /// An index computation overflowed BIP-32's range.
    #[error("address index overflow: base {base} + offset {offset} exceeds 2^31 - 1")]
    IndexOverflow {
        /// Base address index.
        base: u32,
        /// Offset added.
        offset: u64,
    },
}

/// Keys for one derivation index.
pub struct Candidate {
    /// Offset from the base address index.
    pub offset: u32,
    /// Attester Ethereum key.
    pub attester: EthSecretKey,
    /// Attester BLS key.
    pub bls: BlsSecretKey,
    /// BLS path label used.
    pub bls_path: String,
    /// The registration tuple (public keys and proof of possession) with its gas estimate.
    pub pop: ProofOfPossession,
}

/// Derives validators from one seed.
pub struct Deriver {
    params: NewParams,
    seed: mnemonic::Seed,
    eth: EthAccountDeriver,
}

impl Deriver {
    /// Computes the seed (one PBKDF2) and the account node once.
    pub fn new(params: NewParams) -> Result<Self, GenerateError> {
        let seed = mnemonic::to_seed(&params.mnemonic)?;
        let eth = EthAccountDeriver::new(seed.as_ref(), params.account_index)?;
        Ok(Self { params, seed, eth })
    }

    /// The parameters this deriver was built with.
    pub fn params(&self) -> &NewParams {
        &self.params
    }

    fn index(&self, offset: u64) -> Result<u32, GenerateError> {
        let idx = u64::from(self.params.address_index) + offset;
        crate::hd::check_index(idx).map_err(|_| GenerateError::IndexOverflow {
            base: self.params.address_index,
            offset,
        })
    }

    /// The attester keys at `address_index + offset`, with the proof of possession.
    pub fn candidate(&self, offset: u32) -> Result<Candidate, GenerateError> {
        let index = self.index(offset.into())?;
        let attester = self.eth.key(index)?;
        let bls_path = bls_derive::validator_path(
            &self.params.bls_path,
            self.params.account_index,
            index,
            self.params.legacy_bls,
        );
        let source = match &self.params.ikm {
            Some(ikm) => BlsSource::Ikm(ikm),
            None => BlsSource::Seed(&self.seed),
        };
        let bls = bls_derive::derive(source, &bls_path);
        let pop = bls.proof_of_possession();
        Ok(Candidate {
            offset,
            attester,
            bls,
            bls_path,
            pop,
        })
    }

    /// Publisher `j` of the validator in position `i`, when `span` attester indices are used:
    /// address index `base + span + i·P + j` (publishers come after every attester).
    pub fn publisher(&self, span: u32, i: u32, j: u32) -> Result<EthSecretKey, GenerateError> {
        let offset =
            u64::from(span) + u64::from(i) * u64::from(self.params.publisher_count) + u64::from(j);
        Ok(self.eth.key(self.index(offset)?)?)
    }

    /// Whether the BLS path changes with the index (false for a custom `--bls-path`).
    pub fn bls_path_is_indexed(&self) -> bool {
        self.params.bls_path == DEFAULT_BLS_PATH
    }
}

/// How each validator's Ethereum accounts are written.
#[derive(Clone)]
pub enum EthForm {
    /// Plaintext private keys.
    PrivateKeys,
    /// `{address, remoteSignerUrl}` objects for every Ethereum account.
    RemoteSigner(String),
}

/// Publishers of one validator.
pub enum Publishers {
    /// No publisher field.
    None,
    /// Derived keys.
    Derived(Vec<EthSecretKey>),
    /// Private keys given on the command line, written as given.
    Given(Vec<String>),
}

/// One validator entry of the keystore: attester, publisher, feeRecipient, coinbase, in the
/// reference's key order.
pub fn validator_json(
    attester: &EthSecretKey,
    bls: &BlsSecretKey,
    publishers: &Publishers,
    fee_recipient: &[u8; 32],
    coinbase: Option<Address>,
    form: &EthForm,
) -> Value {
    let eth = |k: &EthSecretKey| -> Value {
        match form {
            EthForm::PrivateKeys => json!(format!("0x{}", hex::encode(k.to_bytes()))),
            EthForm::RemoteSigner(url) => {
                json!({"address": k.address().to_checksum(), "remoteSignerUrl": url})
            }
        }
    };
    let mut obj = Map::new();
    obj.insert(
        "attester".into(),
        json!({"eth": eth(attester), "bls": format!("0x{}", hex::encode(bls.to_word()))}),
    );
    let pubs: Vec<Value> = match publishers {
        Publishers::None => Vec::new(),
        Publishers::Derived(keys) => keys.iter().map(eth).collect(),
        Publishers::Given(keys) => keys.iter().map(|k| json!(k)).collect(),
    };
    match pubs.len() {
        0 => {}
        1 => {
            obj.insert(
                "publisher".into(),
                pubs.into_iter().next().expect("one element"),
            );
        }
        _ => {
            obj.insert("publisher".into(), Value::Array(pubs));
        }
    }
    obj.insert(
        "feeRecipient".into(),
        json!(format!("0x{}", hex::encode(fee_recipient))),
    );
    let coinbase = match coinbase {
        Some(c) => c.to_lower_hex(),
        None => attester.address().to_checksum(),
    };
    obj.insert("coinbase".into(), json!(coinbase));
    Value::Object(obj)
}

/// What `validator-keys new` writes and prints for a set of derived validators (files aside).
pub struct Assembled {
    /// Keystore entries, in order.
    pub validators: Vec<Value>,
    /// The `accN:` summary lines the reference prints.
    pub summary: Vec<String>,
    /// `attester address: … remoteSignerUrl: …` lines (remote-signer form only).
    pub remote_lines: Vec<String>,
    /// One registration tuple per validator, attester in EIP-55 form.
    pub registrations: Vec<Registration>,
}

/// Turns derived candidates into keystore entries, summary lines and registrations.
/// `span` is the number of address indices the attesters used (publishers are derived after
/// them); `given_publishers` are `--publishers` keys, used for every validator.
pub fn assemble(
    deriver: &Deriver,
    candidates: &[Candidate],
    span: u32,
    given_publishers: Option<&[String]>,
    fee_recipient: &[u8; 32],
    coinbase: Option<Address>,
    form: &EthForm,
) -> Result<Assembled, GenerateError> {
    let mut out = Assembled {
        validators: Vec::with_capacity(candidates.len()),
        summary: Vec::new(),
        remote_lines: Vec::new(),
        registrations: Vec::with_capacity(candidates.len()),
    };
    let per_validator = deriver.params.publisher_count;
    for (i, c) in candidates.iter().enumerate() {
        let pubs = match given_publishers {
            Some(keys) => Publishers::Given(keys.to_vec()),
            None if per_validator == 0 => Publishers::None,
            None => Publishers::Derived(
                (0..per_validator)
                    .map(|j| deriver.publisher(span, i as u32, j))
                    .collect::<Result<_, _>>()?,
            ),
        };
        out.validators.push(validator_json(
            &c.attester,
            &c.bls,
            &pubs,
            fee_recipient,
            coinbase,
            form,
        ));
        let addr = c.attester.address().to_checksum();
        out.summary.push(format!("acc{}:", i + 1));
        out.summary.push("  attester:".into());
        out.summary.push(format!("    eth: {addr}"));
        out.summary
            .push(format!("    bls: 0x{}", hex::encode(c.pop.pk1.compress())));
        let pub_lines: Vec<String> = match &pubs {
            Publishers::None => Vec::new(),
            Publishers::Derived(keys) => keys.iter().map(|k| k.address().to_checksum()).collect(),
            // The reference lists the given private keys here, not their addresses.
            Publishers::Given(keys) => keys.clone(),
        };
        if !pub_lines.is_empty() {
            out.summary.push("  publisher:".into());
            out.summary
                .extend(pub_lines.iter().map(|l| format!("    - {l}")));
        }
        if let EthForm::RemoteSigner(url) = form {
            out.remote_lines
                .push(format!("attester address: {addr} remoteSignerUrl: {url}"));
        }
        out.registrations.push(Registration::new(addr, &c.pop));
    }
    Ok(out)
}

/// `{ "schemaVersion": 1, "validators": [...] }`.
pub fn keystore_json(validators: Vec<Value>) -> Value {
    json!({"schemaVersion": 1, "validators": validators})
}

/// `JSON.stringify(value, null, 2)`: 2-space indent, no trailing newline.
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("serialising a JSON value cannot fail")
}

/// BN254 scalar field modulus r, big-endian: an Aztec address is a field element below it.
const FR_MODULUS: [u8; 32] = [
    0x30, 0x64, 0x4e, 0x72, 0xe1, 0x31, 0xa0, 0x29, 0xb8, 0x50, 0x45, 0xb6, 0x81, 0x81, 0x58, 0x5d,
    0x28, 0x33, 0xe8, 0x48, 0x79, 0xb9, 0x70, 0x91, 0x43, 0xe1, 0xf5, 0x93, 0xf0, 0x00, 0x00, 0x01,
];

/// Parses `--fee-recipient` as the reference's `AztecAddress.fromString`: hex (optional `0x`)
/// decoded like Node's `Buffer.from(hex, "hex")` (pairs up to the first non-hex pair, a lone
/// last digit dropped), which must give exactly 32 bytes below the BN254 scalar modulus.
pub fn parse_fee_recipient(s: &str) -> Result<[u8; 32], String> {
    let digits = s.strip_prefix("0x").unwrap_or(s).as_bytes();
    let bytes: Vec<u8> = digits
        .chunks_exact(2)
        .map_while(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect();
    let bad = |why: &str| {
        format!(
            "invalid Aztec address {}: {why} (expected 0x followed by 64 hex characters)",
            crate::schema::shown(s)
        )
    };
    let out: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| bad(&format!("{} bytes of hex", b.len())))?;
    if out >= FR_MODULUS {
        return Err(bad("not below the BN254 field modulus"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M1: &str =
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    fn params() -> NewParams {
        NewParams {
            mnemonic: Zeroizing::new(M1.into()),
            ikm: None,
            account_index: 0,
            address_index: 0,
            publisher_count: 0,
            bls_path: DEFAULT_BLS_PATH.into(),
            legacy_bls: false,
        }
    }

    #[test]
    fn v1_candidate() {
        let d = Deriver::new(params()).unwrap();
        let c = d.candidate(0).unwrap();
        assert_eq!(
            c.attester.address().to_checksum(),
            "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
        );
        assert_eq!(
            hex::encode(c.bls.to_word()),
            "1dc2e5095a3b78b2beceabc9a418087e6a9dc7bac00e510c6c9e8a06ae2524e0"
        );
        assert_eq!(c.bls_path, "m/12381/3600/0/0/0");
        let v = validator_json(
            &c.attester,
            &c.bls,
            &Publishers::None,
            &[0; 32],
            None,
            &EthForm::PrivateKeys,
        );
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["attester", "feeRecipient", "coinbase"]);
        assert_eq!(v["coinbase"], "0x9858EfFD232B4033E47d90003D41EC34EcaEda94");
    }

    #[test]
    fn publisher_indices_follow_the_attesters() {
        let mut p = params();
        p.publisher_count = 2;
        let d = Deriver::new(p).unwrap();
        // With 3 validators, validator 1's publisher 1 is at address index 3 + 1*2 + 1 = 6.
        assert_eq!(
            d.publisher(3, 1, 1).unwrap().to_bytes(),
            d.candidate(6).unwrap().attester.to_bytes()
        );
    }

    #[test]
    fn fee_recipient_rules() {
        assert_eq!(
            parse_fee_recipient(&format!("0x{}", "1".repeat(64))).unwrap(),
            [0x11; 32]
        );
        assert_eq!(parse_fee_recipient(&"2B".repeat(32)).unwrap(), [0x2b; 32]);
        // A 65th digit is dropped, as Node's Buffer.from(hex) does.
        assert_eq!(
            parse_fee_recipient(&format!("0x{}", "1".repeat(65))).unwrap(),
            [0x11; 32]
        );
        assert!(parse_fee_recipient(&format!("0x{}", "1".repeat(66))).is_err());
        assert!(parse_fee_recipient("0x1234").is_err());
        assert!(parse_fee_recipient(&format!("0x{}zz", "1".repeat(62))).is_err());
        assert!(parse_fee_recipient(&format!("0x{}", "f".repeat(64))).is_err());
        assert!(parse_fee_recipient("").is_err());
    }
}
