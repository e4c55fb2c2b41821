//! Who signs for a local attester: a key held by this process, or a remote signer speaking
//! Web3Signer's Ethereum JSON-RPC (`eth_accounts` at start, `eth_sign` per duty), so the key
//! never touches the node. Either way a signature is EIP-191 over the 32-byte digest, the form
//! the Rollup checks.

use std::time::Duration;

use alloy_primitives::Address;
use cairn_consensus::attest::RawSignature;
use cairn_crypto::EthSecretKey;
use serde_json::{json, Value};

/// How long one remote-signer request may take before it counts as down.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts per signature (a duty has seconds, not minutes).
const REMOTE_ATTEMPTS: usize = 2;

/// A signing failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SignError {
    /// The remote signer did not answer, or answered something unusable.
    #[error("remote signer {url}: {reason}")]
    Remote {
        /// The signer's URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The remote signer does not hold keys this node is configured with.
    #[error("remote signer {url} does not hold {}: check the keystore's remoteSigner / remoteSignerUrl (or WEB3_SIGNER_URL) and the signer's key set", missing.iter().map(|a| a.to_checksum(None)).collect::<Vec<_>>().join(", "))]
    Missing {
        /// The signer's URL.
        url: String,
        /// The configured addresses it does not list in `eth_accounts`.
        missing: Vec<Address>,
    },
}

/// A Web3Signer-compatible endpoint and the account it signs for.
#[derive(Clone)]
pub struct RemoteSigner {
    url: String,
    address: Address,
    agent: ureq::Agent,
}

/// The signing side of an attester.
#[derive(Clone)]
pub enum AttesterSigner {
    /// The key is in this process.
    Local(EthSecretKey),
    /// A remote signer holds it.
    Remote(RemoteSigner),
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(REMOTE_TIMEOUT)
        .timeout(REMOTE_TIMEOUT)
        .build()
}

fn call(agent: &ureq::Agent, url: &str, method: &str, params: Value) -> Result<Value, SignError> {
    let err = |reason: String| SignError::Remote {
        url: url.to_string(),
        reason,
    };
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut last = String::new();
    for _ in 0..REMOTE_ATTEMPTS {
        match agent.post(url).send_json(body.clone()) {
            Ok(resp) => {
                let v: Value = resp
                    .into_json()
                    .map_err(|e| err(format!("{method}: the answer is not JSON ({e})")))?;
                if let Some(e) = v.get("error") {
                    // An answer, not an outage: retrying would get the same.
                    return Err(err(format!("{method} refused: {e}")));
                }
                return v
                    .get("result")
                    .cloned()
                    .ok_or_else(|| err(format!("{method}: no result in {v}")));
            }
            Err(ureq::Error::Status(code, _)) => last = format!("{method}: HTTP {code}"),
            Err(e) => last = format!("{method}: {e}"),
        }
    }
    Err(err(format!("unreachable or failing ({last})")))
}

impl RemoteSigner {
    /// The signer at `url` for `address` (nothing is contacted yet; see [`check_remote`]).
    pub fn new(url: &str, address: Address) -> RemoteSigner {
        RemoteSigner {
            url: url.trim_end_matches('/').to_string(),
            address,
            agent: agent(),
        }
    }

    /// The signer's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn sign(&self, digest: &[u8; 32]) -> Result<RawSignature, SignError> {
        let err = |reason: String| SignError::Remote {
            url: self.url.clone(),
            reason,
        };
        let v = call(
            &self.agent,
            &self.url,
            "eth_sign",
            json!([
                self.address.to_checksum(None),
                format!("0x{}", hex::encode(digest))
            ]),
        )?;
        let hex_sig = v
            .as_str()
            .ok_or_else(|| err(format!("eth_sign answered {v}, not a hex signature")))?;
        let bytes = hex::decode(hex_sig.trim_start_matches("0x"))
            .map_err(|e| err(format!("eth_sign answered bad hex: {e}")))?;
        let rsv: [u8; 65] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| err(format!("eth_sign answered {} bytes, not 65", b.len())))?;
        // r ‖ s ‖ v (v 27/28 or 0/1) → v ‖ r ‖ s with v 27/28.
        let mut out = [0u8; 65];
        out[0] = if rsv[64] < 27 { rsv[64] + 27 } else { rsv[64] };
        out[1..].copy_from_slice(&rsv[..64]);
        Ok(out)
    }
}

impl AttesterSigner {
    /// The attester's address.
    pub fn address(&self) -> Address {
        match self {
            AttesterSigner::Local(k) => Address::from(k.address().0),
            AttesterSigner::Remote(r) => r.address,
        }
    }

    /// EIP-191 signature over `digest`, as v ‖ r ‖ s. A remote signature is checked to recover
    /// the attester before it is used (a signer with the wrong key would otherwise make every
    /// attestation invalid on L1).
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<RawSignature, SignError> {
        match self {
            AttesterSigner::Local(k) => {
                let s = k.sign_message(digest).0; // r ‖ s ‖ v
                let mut out = [0u8; 65];
                out[0] = s[64];
                out[1..].copy_from_slice(&s[..64]);
                Ok(out)
            }
            AttesterSigner::Remote(r) => {
                let sig = r.sign(digest)?;
                let who = recover(digest, &sig);
                if who != Some(r.address) {
                    return Err(SignError::Remote {
                        url: r.url.clone(),
                        reason: format!(
                            "eth_sign for {} returned a signature by {}",
                            r.address,
                            who.map_or("nobody".to_string(), |a| a.to_string())
                        ),
                    });
                }
                Ok(sig)
            }
        }
    }

    /// The remote signer, if any.
    pub fn remote(&self) -> Option<&RemoteSigner> {
        match self {
            AttesterSigner::Remote(r) => Some(r),
            AttesterSigner::Local(_) => None,
        }
    }
}

/// Who signed `sig` (v ‖ r ‖ s) over the EIP-191 message `digest`.
fn recover(digest: &[u8; 32], sig: &RawSignature) -> Option<Address> {
    if !matches!(sig[0], 27 | 28) {
        return None;
    }
    let mut rsv = [0u8; 65];
    rsv[..64].copy_from_slice(&sig[1..]);
    rsv[64] = sig[0];
    let hash =
        cairn_consensus::attest::eth_signed_message_hash(alloy_primitives::B256::from(*digest));
    cairn_crypto::eth::recover_hash(&hash.0, &cairn_crypto::EthSignature(rsv))
        .ok()
        .map(|a| Address::from(a.0))
}

/// At start: every remote signer lists every address it is configured to sign for
/// (`eth_accounts`), so a missing key is found now, not at the first duty.
pub fn check_remote(signers: &[AttesterSigner]) -> Result<(), SignError> {
    let mut by_url: std::collections::BTreeMap<&str, Vec<Address>> = Default::default();
    for r in signers.iter().filter_map(AttesterSigner::remote) {
        by_url.entry(r.url()).or_default().push(r.address);
    }
    for (url, wanted) in by_url {
        let v = call(&agent(), url, "eth_accounts", json!([]))?;
        let held: Vec<Address> = v
            .as_array()
            .ok_or_else(|| SignError::Remote {
                url: url.to_string(),
                reason: format!("eth_accounts answered {v}, not a list"),
            })?
            .iter()
            .filter_map(|a| a.as_str()?.parse().ok())
            .collect();
        let missing: Vec<Address> = wanted.into_iter().filter(|a| !held.contains(a)).collect();
        if !missing.is_empty() {
            return Err(SignError::Missing {
                url: url.to_string(),
                missing,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_signatures_recover_their_key_and_match_the_wire_format() {
        let key = EthSecretKey::from_bytes(&[7; 32]).unwrap();
        let s = AttesterSigner::Local(key.clone());
        let digest = [9u8; 32];
        let sig = s.sign_digest(&digest).unwrap();
        assert_eq!(recover(&digest, &sig), Some(s.address()));
        assert!(sig[0] == 27 || sig[0] == 28);
    }

    #[test]
    fn an_unreachable_remote_signer_is_a_clear_error() {
        let r = AttesterSigner::Remote(RemoteSigner::new("http://127.0.0.1:9", Address::ZERO));
        let e = r.sign_digest(&[1; 32]).unwrap_err().to_string();
        assert!(
            e.contains("http://127.0.0.1:9") && e.contains("unreachable"),
            "{e}"
        );
        let e = check_remote(&[r]).unwrap_err().to_string();
        assert!(e.contains("eth_accounts"), "{e}");
    }
}
