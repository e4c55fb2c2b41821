//! `KEY_STORE_DIRECTORY` rules: which files are keystores, and how several merge into one.
//!
//! The host lists the directory and reads the files; this module decides. Every `*.json` file
//! (case-insensitive, non-recursive) must be a valid keystore, zero keystores is an error, and an
//! attester may appear only once across all files.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::staker::KeyFiles;

use cairn_crypto::Address;

use crate::schema::{
    parse_keystore, resolve_remote_signer, AttesterAccounts, EthAccount, EthAccounts, Keystore,
    ProverKeyStore, RemoteSignerConfig, ResolveError, SchemaError, ValidatorKeyStore,
};

/// Why a keystore directory cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoadError {
    /// A file failed schema validation.
    #[error("Failed to load keystore from {file}: Schema validation failed: {error}. Fix or remove the file; every *.json file in the keystore directory must be a keystore (keep encrypted key files in another directory)")]
    Schema {
        /// File name.
        file: String,
        /// The violation.
        error: SchemaError,
    },
    /// No `*.json` files.
    #[error("no keystore (*.json) files found in {0}")]
    Empty(String),
    /// The same attester in two places.
    #[error("Duplicate attester {attester} found in {first} and {second}; each attester may be configured once across all keystore files")]
    DuplicateAttester {
        /// Address or key identity.
        attester: String,
        /// Where it appears first (file and validator).
        first: String,
        /// Where it appears again.
        second: String,
    },
    /// More than one prover across files.
    #[error("more than one prover configuration found ({first} and {second}); at most one is allowed across all keystore files")]
    MultipleProvers {
        /// First file.
        first: String,
        /// Second file.
        second: String,
    },
}

/// Whether a directory entry is a keystore file (`*.json`, any case).
pub fn is_keystore_name(name: &str) -> bool {
    name.len() > 5
        && name
            .get(name.len() - 5..)
            .is_some_and(|ext| ext.eq_ignore_ascii_case(".json"))
}

/// One loaded file.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    /// File name (or path) for messages.
    pub name: String,
    /// Its contents.
    pub keystore: Keystore,
}

/// Parses every file; the first invalid one fails the whole load, as in the node.
pub fn parse_files(files: &[(String, String)], dir: &str) -> Result<Vec<LoadedFile>, LoadError> {
    if files.is_empty() {
        return Err(LoadError::Empty(dir.to_string()));
    }
    files
        .iter()
        .map(|(name, text)| {
            parse_keystore(text)
                .map(|keystore| LoadedFile {
                    name: name.clone(),
                    keystore,
                })
                .map_err(|error| LoadError::Schema {
                    file: name.clone(),
                    error,
                })
        })
        .collect()
}

/// Several files as one configuration.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    /// Validators with the file each came from.
    pub validators: Vec<(String, ValidatorKeyStore)>,
    /// File-level remote signer of each validator's file.
    pub file_remote_signers: Vec<Option<RemoteSignerConfig>>,
    /// Slasher accounts from all files.
    pub slashers: Vec<EthAccounts>,
    /// The prover, if any file has one.
    pub prover: Option<ProverKeyStore>,
    /// Things the operator should know (e.g. a remote signer overridden by a later file).
    pub warnings: Vec<String>,
}

/// A cheap identity for duplicate detection: the address where it is known without decrypting,
/// otherwise the file path (an invalid private key is its own identity; resolution rejects it).
fn identity(a: &EthAccount) -> String {
    match (a.known_address(), a) {
        (Some(addr), _) => addr.to_checksum(),
        (None, EthAccount::Encrypted(f)) => format!("key file {}", f.path),
        (None, EthAccount::PrivateKey(k)) => {
            format!("invalid private key {}", hex_prefix(&k.bytes))
        }
        (None, EthAccount::Remote(r)) => r.address.to_checksum(),
    }
}

/// Enough of a secret to tell two apart in a message without revealing it.
fn hex_prefix(bytes: &[u8; 32]) -> String {
    format!("0x{}…", hex::encode(&bytes[..2]))
}

/// Concatenates validators, collects slashers, keeps the last file-level remote signer (with a
/// warning), and rejects duplicate attesters and multiple provers.
pub fn merge(files: Vec<LoadedFile>) -> Result<Merged, LoadError> {
    let mut out = Merged::default();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut prover_file: Option<String> = None;
    let mut last_signer: Option<(String, RemoteSignerConfig)> = None;
    for file in files {
        if let Some(rs) = &file.keystore.remote_signer {
            if let Some((prev, prev_rs)) = &last_signer {
                if prev_rs != rs {
                    out.warnings.push(format!(
                        "{} overrides the file-level remote signer of {prev}",
                        file.name
                    ));
                }
            }
            last_signer = Some((file.name.clone(), rs.clone()));
        }
        for (vi, v) in file.keystore.validators.iter().enumerate() {
            let here = format!("{} (validator {})", file.name, vi + 1);
            // Mnemonic attesters need the seed to resolve; the host checks them after derivation.
            let ids: Vec<String> = v
                .attester
                .listed()
                .iter()
                .map(|a| identity(&a.eth))
                .collect();
            for id in ids {
                if let Some(first) = seen.insert(id.clone(), here.clone()) {
                    return Err(LoadError::DuplicateAttester {
                        attester: id,
                        first,
                        second: here,
                    });
                }
            }
            out.validators.push((file.name.clone(), v.clone()));
            out.file_remote_signers
                .push(file.keystore.remote_signer.clone());
        }
        if let Some(s) = file.keystore.slasher.clone() {
            out.slashers.push(s);
        }
        if let Some(p) = file.keystore.prover.clone() {
            if let Some(first) = &prover_file {
                return Err(LoadError::MultipleProvers {
                    first: first.clone(),
                    second: file.name.clone(),
                });
            }
            prover_file = Some(file.name.clone());
            out.prover = Some(p);
        }
    }
    Ok(out)
}

/// One attester as the node will run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedAttester {
    /// The file it came from.
    pub file: String,
    /// Validator block within the merged configuration (0-based).
    pub validator: usize,
    /// The attester address.
    pub address: Address,
    /// Its L1 coinbase (configured, or the attester itself).
    pub coinbase: Address,
    /// How the key is held: `private key`, `remote signer <url>`, `JSON-V3 <path>`, `mnemonic`.
    pub custody: String,
}

/// Why an attester cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResolveAttesterError {
    /// A JSON-V3 file without a password (an empty password counts as none, as in the node).
    #[error("{file} (validator {validator}): {path} has no password; the node cannot load a JSON-V3 key without one")]
    NoPassword {
        /// Keystore file.
        file: String,
        /// Validator (1-based).
        validator: usize,
        /// Key file.
        path: String,
    },
    /// A key file could not be read or decrypted.
    #[error("{file} (validator {validator}): {path}: {reason}")]
    KeyFile {
        /// Keystore file.
        file: String,
        /// Validator (1-based).
        validator: usize,
        /// Key file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A bare address with no remote signer anywhere up the chain.
    #[error("{file} (validator {validator}): {source}")]
    NoSigner {
        /// Keystore file.
        file: String,
        /// Validator (1-based).
        validator: usize,
        /// The resolution failure.
        source: ResolveError,
    },
    /// A mnemonic that cannot be used.
    #[error("{file} (validator {validator}): {reason}")]
    Mnemonic {
        /// Keystore file.
        file: String,
        /// Validator (1-based).
        validator: usize,
        /// Why.
        reason: String,
    },
    /// The same address configured twice, after resolving keys, files and mnemonics.
    #[error(transparent)]
    Duplicate(LoadError),
}

/// Resolves every attester to its address (decrypting JSON-V3 files with their stored
/// passwords and deriving mnemonic accounts), then rejects duplicate addresses anywhere in the
/// configuration, as the node's key manager does before it signs anything.
pub fn resolve_attesters(
    merged: &Merged,
    files: &dyn KeyFiles,
) -> Result<Vec<ResolvedAttester>, ResolveAttesterError> {
    Ok(resolve_attester_keys(merged, files)?
        .into_iter()
        .map(|(a, _)| a)
        .collect())
}

/// How a node can sign for a resolved attester.
#[derive(Clone)]
pub enum AttesterKey {
    /// The secret key is in the keystore (plain, JSON-V3 or mnemonic).
    Local(cairn_crypto::EthSecretKey),
    /// A remote signer holds it (the URL after the precedence rules).
    Remote {
        /// The signer's URL.
        url: String,
    },
}

/// [`resolve_attesters`] with how each attester signs: its secret key when the keystore holds
/// it, else its remote signer's URL.
pub fn resolve_attester_keys(
    merged: &Merged,
    files: &dyn KeyFiles,
) -> Result<Vec<(ResolvedAttester, AttesterKey)>, ResolveAttesterError> {
    let mut out: Vec<ResolvedAttester> = Vec::new();
    let mut keys: Vec<AttesterKey> = Vec::new();
    for (vi, ((file, v), file_signer)) in merged
        .validators
        .iter()
        .zip(&merged.file_remote_signers)
        .enumerate()
    {
        let validator = vi + 1;
        let mut push = |address: Address, custody: String, key: AttesterKey| {
            keys.push(key);
            out.push(ResolvedAttester {
                file: file.clone(),
                validator: vi,
                address,
                coinbase: v.coinbase.unwrap_or(address),
                custody,
            })
        };
        match &v.attester {
            AttesterAccounts::Mnemonic(m) => {
                let seed = crate::mnemonic::to_seed(&m.mnemonic).map_err(|e| {
                    ResolveAttesterError::Mnemonic {
                        file: file.clone(),
                        validator,
                        reason: e.to_string(),
                    }
                })?;
                for (acc, addr) in m.indices() {
                    let key = crate::hd::EthAccountDeriver::new(seed.as_ref(), acc)
                        .and_then(|d| d.key(addr))
                        .map_err(|e| ResolveAttesterError::Mnemonic {
                            file: file.clone(),
                            validator,
                            reason: e.to_string(),
                        })?;
                    push(
                        key.address(),
                        format!("mnemonic m/44'/60'/{acc}'/0/{addr}"),
                        AttesterKey::Local(key),
                    );
                }
            }
            listed => {
                for a in listed.listed() {
                    match &a.eth {
                        EthAccount::PrivateKey(k) => {
                            let key =
                                cairn_crypto::EthSecretKey::from_bytes(&k.bytes).map_err(|e| {
                                    ResolveAttesterError::KeyFile {
                                        file: file.clone(),
                                        validator,
                                        path: "attester".into(),
                                        reason: e.to_string(),
                                    }
                                })?;
                            push(key.address(), "private key".into(), AttesterKey::Local(key));
                        }
                        EthAccount::Remote(r) => {
                            let signer = resolve_remote_signer(
                                r,
                                v.remote_signer.as_ref(),
                                file_signer.as_ref(),
                            )
                            .map_err(|source| {
                                ResolveAttesterError::NoSigner {
                                    file: file.clone(),
                                    validator,
                                    source,
                                }
                            })?;
                            push(
                                r.address,
                                format!("remote signer {}", signer.url),
                                AttesterKey::Remote {
                                    url: signer.url.to_string(),
                                },
                            );
                        }
                        EthAccount::Encrypted(f) => {
                            let pw = f.password.as_deref().filter(|p| !p.is_empty()).ok_or_else(
                                || ResolveAttesterError::NoPassword {
                                    file: file.clone(),
                                    validator,
                                    path: f.path.clone(),
                                },
                            )?;
                            let key_err = |reason: String| ResolveAttesterError::KeyFile {
                                file: file.clone(),
                                validator,
                                path: f.path.clone(),
                                reason,
                            };
                            let text = files.read(&f.path).map_err(key_err)?;
                            let key = crate::encrypted::decrypt_v3(&text, pw)
                                .map_err(|e| key_err(e.to_string()))?;
                            push(
                                key.address(),
                                format!("JSON-V3 {}", f.path),
                                AttesterKey::Local(key),
                            );
                        }
                    }
                }
            }
        }
    }
    let mut seen: BTreeMap<Address, usize> = BTreeMap::new();
    for (i, a) in out.iter().enumerate() {
        if let Some(first) = seen.insert(a.address, i) {
            let f = &out[first];
            return Err(ResolveAttesterError::Duplicate(
                LoadError::DuplicateAttester {
                    attester: a.address.to_checksum(),
                    first: format!("{} (validator {}, {})", f.file, f.validator + 1, f.custody),
                    second: format!("{} (validator {}, {})", a.file, a.validator + 1, a.custody),
                },
            ));
        }
    }
    Ok(out.into_iter().zip(keys).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PK: &str = "0x1ab42cc412b618bdea3a599e3c9bae199ebf030895b039e9db1e30dafb12b727";
    const FEE: &str = "0x0000000000000000000000000000000000000000000000000000000000000001";

    fn file(name: &str, body: &str) -> (String, String) {
        (name.to_string(), body.to_string())
    }

    #[test]
    fn names() {
        assert!(is_keystore_name("key1.json"));
        assert!(is_keystore_name("KEY.JSON"));
        assert!(!is_keystore_name(".json"));
        assert!(!is_keystore_name("key1.json.bak"));
    }

    #[test]
    fn duplicate_attester_across_files_is_named() {
        let a = format!(
            r#"{{"schemaVersion":1,"validators":[{{"attester":"{PK}","feeRecipient":"{FEE}"}}]}}"#
        );
        // The same attester given by address in the second file.
        let b = format!(
            r#"{{"schemaVersion":1,"validators":[{{"attester":{{"address":"0x9858effd232b4033e47d90003d41ec34ecaeda94","remoteSignerUrl":"http://s"}},"feeRecipient":"{FEE}"}}]}}"#
        );
        let files = parse_files(&[file("a.json", &a), file("b.json", &b)], "dir").unwrap();
        let e = merge(files).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("0x9858EfFD232B4033E47d90003D41EC34EcaEda94"),
            "{msg}"
        );
        assert!(msg.contains("a.json") && msg.contains("b.json"), "{msg}");
    }

    #[test]
    fn merge_and_errors() {
        let a = format!(
            r#"{{"schemaVersion":1,"validators":[{{"attester":"{PK}","feeRecipient":"{FEE}"}}],"prover":"{PK}"}}"#
        );
        let b = format!(r#"{{"schemaVersion":1,"prover":"{PK}"}}"#);
        let files = parse_files(&[file("a.json", &a), file("b.json", &b)], "dir").unwrap();
        assert!(matches!(
            merge(files),
            Err(LoadError::MultipleProvers { .. })
        ));
        assert!(matches!(parse_files(&[], "dir"), Err(LoadError::Empty(_))));
        let e = parse_files(&[file("bad.json", "{}")], "dir").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("Failed to load keystore from bad.json: Schema validation failed:"));
    }
}
