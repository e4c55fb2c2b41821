//! `validator-keys staker`: registration tuples from a keystore.
//!
//! Follows the reference's selection rules: mnemonic attesters and bare-address attesters are
//! skipped, as are attesters without a BLS key or whose BLS keystore has no password (an empty
//! password counts as none). cairn reports every skip with its reason instead of skipping
//! silently. Work is split into jobs so the host can decrypt in parallel.

use cairn_crypto::{BlsSecretKey, EthSecretKey};
use thiserror::Error;

use crate::encrypted::{decrypt_bn254, decrypt_v3, DecryptError};
use crate::registration::Registration;
use crate::schema::{AttesterAccounts, BlsAccount, EncryptedKeyFile, EthAccount, Keystore};

/// Reads key files referenced by `{path, password}` (the host implements it with the filesystem;
/// the browser with dropped files).
pub trait KeyFiles: Sync {
    /// The file's text, or a description of why it cannot be read.
    fn read(&self, path: &str) -> Result<String, String>;
}

/// One attester to turn into a registration.
#[derive(Debug, Clone)]
pub struct StakerJob {
    /// Validator block (0-based).
    pub validator: usize,
    /// Position in the block's attester list (0-based).
    pub position: usize,
    /// Ethereum side.
    pub eth: EthAccount,
    /// BLS side.
    pub bls: BlsAccount,
}

/// Why an attester produced no registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Mnemonic attesters carry no BLS key.
    Mnemonic,
    /// A bare address (no key, no remote signer object): the reference skips these.
    BareAddress,
    /// No `bls` key.
    NoBls,
    /// The BLS keystore has no password and none was given.
    NoPassword,
    /// The attester's JSON-V3 file has no password and none was given.
    NoEthPassword,
}

/// A skipped attester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Validator block (0-based).
    pub validator: usize,
    /// Position within the block, if listed.
    pub position: Option<usize>,
    /// Why.
    pub reason: SkipReason,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = match self.position {
            Some(p) => format!("validator {} attester {}", self.validator + 1, p + 1),
            None => format!("validator {}", self.validator + 1),
        };
        let why = match self.reason {
            SkipReason::Mnemonic => "mnemonic attesters have no BLS key",
            SkipReason::BareAddress => "a bare address has no key to register",
            SkipReason::NoBls => "no BLS key",
            SkipReason::NoPassword => {
                "the BLS keystore has no stored password and no --password was given"
            }
            SkipReason::NoEthPassword => {
                "the attester's key file has no stored password and no --password was given"
            }
        };
        write!(f, "skipped {at}: {why}")
    }
}

/// Why a registration could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StakerError {
    /// A referenced key file could not be read.
    #[error("validator {validator}: cannot read {path}: {reason}")]
    Read {
        /// Validator (1-based).
        validator: usize,
        /// File path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A referenced key file could not be decrypted.
    #[error("validator {validator}: cannot decrypt {path}: {source}")]
    Decrypt {
        /// Validator (1-based).
        validator: usize,
        /// File path.
        path: String,
        /// Why.
        source: DecryptError,
    },
    /// A plaintext key that is not a valid key.
    #[error("validator {validator}: {what} is not a valid key")]
    InvalidKey {
        /// Validator (1-based).
        validator: usize,
        /// Which key.
        what: &'static str,
    },
}

/// Splits a keystore into jobs (in output order) and skipped attesters.
pub fn jobs(ks: &Keystore) -> (Vec<StakerJob>, Vec<Skipped>) {
    let mut jobs = Vec::new();
    let mut skipped = Vec::new();
    for (vi, v) in ks.validators.iter().enumerate() {
        if let AttesterAccounts::Mnemonic(_) = v.attester {
            skipped.push(Skipped {
                validator: vi,
                position: None,
                reason: SkipReason::Mnemonic,
            });
            continue;
        }
        for (pi, a) in v.attester.listed().iter().enumerate() {
            let skip = |reason| Skipped {
                validator: vi,
                position: Some(pi),
                reason,
            };
            if let EthAccount::Remote(r) = &a.eth {
                if r.signer.is_none() {
                    skipped.push(skip(SkipReason::BareAddress));
                    continue;
                }
            }
            match &a.bls {
                None => skipped.push(skip(SkipReason::NoBls)),
                Some(bls) => jobs.push(StakerJob {
                    validator: vi,
                    position: pi,
                    eth: a.eth.clone(),
                    bls: bls.clone(),
                }),
            }
        }
    }
    (jobs, skipped)
}

/// The password for a key file, as the reference picks it: none at all (skip) when neither the
/// command line nor the file has a non-empty one; otherwise the command line's if given (even
/// empty), else the stored one.
fn password<'a>(file: &'a EncryptedKeyFile, given: Option<&'a str>) -> Option<&'a str> {
    let nonempty = |p: Option<&str>| p.is_some_and(|p| !p.is_empty());
    if !nonempty(given) && !nonempty(file.password.as_deref()) {
        return None;
    }
    given.or(file.password.as_deref())
}

/// Turns one job into a registration (`Ok(None)` when it must be skipped).
pub fn run(
    job: &StakerJob,
    given_password: Option<&str>,
    files: &dyn KeyFiles,
) -> Result<Result<Registration, Skipped>, StakerError> {
    let validator = job.validator + 1;
    let read = |path: &str| {
        files.read(path).map_err(|reason| StakerError::Read {
            validator,
            path: path.to_string(),
            reason,
        })
    };
    let bls = match &job.bls {
        BlsAccount::PrivateKey(k) => {
            BlsSecretKey::from_word(&k.bytes).map_err(|_| StakerError::InvalidKey {
                validator,
                what: "the BLS key",
            })?
        }
        BlsAccount::Encrypted(f) => {
            let Some(pw) = password(f, given_password) else {
                return Ok(Err(Skipped {
                    validator: job.validator,
                    position: Some(job.position),
                    reason: SkipReason::NoPassword,
                }));
            };
            decrypt_bn254(&read(&f.path)?, pw).map_err(|source| StakerError::Decrypt {
                validator,
                path: f.path.clone(),
                source,
            })?
        }
    };
    let attester = match &job.eth {
        EthAccount::PrivateKey(k) => EthSecretKey::from_bytes(&k.bytes)
            .map_err(|_| StakerError::InvalidKey {
                validator,
                what: "the attester key",
            })?
            .address()
            .to_checksum(),
        // Addresses that went through the schema's address parser come out lowercase.
        EthAccount::Remote(r) => r.address.to_lower_hex(),
        EthAccount::Encrypted(f) => {
            let Some(pw) = password(f, given_password) else {
                return Ok(Err(Skipped {
                    validator: job.validator,
                    position: Some(job.position),
                    reason: SkipReason::NoEthPassword,
                }));
            };
            decrypt_v3(&read(&f.path)?, pw)
                .map_err(|source| StakerError::Decrypt {
                    validator,
                    path: f.path.clone(),
                    source,
                })?
                .address()
                .to_checksum()
        }
    };
    Ok(Ok(Registration::new(attester, &bls.proof_of_possession())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::parse_keystore;

    struct NoFiles;
    impl KeyFiles for NoFiles {
        fn read(&self, path: &str) -> Result<String, String> {
            Err(format!("no such file {path}"))
        }
    }

    #[test]
    fn selection_rules() {
        let pk = "0x1ab42cc412b618bdea3a599e3c9bae199ebf030895b039e9db1e30dafb12b727";
        let bls = "0x1dc2e5095a3b78b2beceabc9a418087e6a9dc7bac00e510c6c9e8a06ae2524e0";
        let fee = format!("0x{}", "0".repeat(64));
        let text = format!(
            r#"{{"schemaVersion":1,"validators":[
  {{"attester":{{"eth":"{pk}","bls":"{bls}"}},"feeRecipient":"{fee}"}},
  {{"attester":{{"mnemonic":"test test test test test test test test test test test junk"}},"feeRecipient":"{fee}"}},
  {{"attester":["{pk}", {{"eth":"0x9858EfFD232B4033E47d90003D41EC34EcaEda94","bls":"{bls}"}},
                {{"eth":{{"address":"0x9858EfFD232B4033E47d90003D41EC34EcaEda94","remoteSignerUrl":"http://s"}},"bls":"{bls}"}},
                {{"eth":"{pk}","bls":{{"path":"x.json","password":""}}}}],"feeRecipient":"{fee}"}}
]}}"#
        );
        let ks = parse_keystore(&text).unwrap();
        let (jobs, skipped) = jobs(&ks);
        assert_eq!(jobs.len(), 3);
        let reasons: Vec<SkipReason> = skipped.iter().map(|s| s.reason.clone()).collect();
        assert_eq!(
            reasons,
            [
                SkipReason::Mnemonic,
                SkipReason::NoBls,
                SkipReason::BareAddress
            ]
        );
        let r0 = run(&jobs[0], None, &NoFiles).unwrap().unwrap();
        assert_eq!(r0.attester, "0x9858EfFD232B4033E47d90003D41EC34EcaEda94");
        let r1 = run(&jobs[1], None, &NoFiles).unwrap().unwrap();
        assert_eq!(r1.attester, "0x9858effd232b4033e47d90003d41ec34ecaeda94");
        // Empty stored password: skipped; with --password the file must be read.
        assert!(run(&jobs[2], None, &NoFiles).unwrap().is_err());
        assert!(matches!(
            run(&jobs[2], Some("pw"), &NoFiles),
            Err(StakerError::Read { .. })
        ));
    }
}
