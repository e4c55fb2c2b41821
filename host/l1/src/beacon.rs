//! Blob sidecars from a beacon node (`L1_CONSENSUS_HOST_URLS`): checkpoint data lives only in
//! EIP-4844 blobs, which execution nodes do not serve. The sidecars of the beacon slot that
//! holds an L1 block are fetched from `/eth/v1/beacon/blob_sidecars/{slot}` and matched to the
//! checkpoint's versioned hashes; every blob is checked against its hash before use.

use std::sync::OnceLock;
use std::time::Duration;

use alloy_primitives::B256;
use serde_json::Value;

use crate::blob::{versioned_hash, BlobBundle, BYTES_PER_BLOB};
use crate::client::L1Error;

/// A beacon API client with failover over several URLs.
pub struct Beacon {
    urls: Vec<String>,
    genesis: OnceLock<(u64, u64)>,
}

fn hex_bytes(v: &Value) -> Option<Vec<u8>> {
    let s = v.as_str()?;
    hex::decode(s.strip_prefix("0x").unwrap_or(s)).ok()
}

impl Beacon {
    /// A client for `urls` (tried in order).
    pub fn new(urls: &[String]) -> Beacon {
        Beacon {
            urls: urls
                .iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            genesis: OnceLock::new(),
        }
    }

    fn get(&self, path: &str) -> Result<Value, L1Error> {
        let mut last = String::from("no beacon URL configured (L1_CONSENSUS_HOST_URLS)");
        for u in &self.urls {
            match ureq::get(&format!("{u}{path}"))
                .timeout(Duration::from_secs(20))
                .call()
            {
                Ok(r) => {
                    return r.into_json().map_err(|e| {
                        L1Error::Other(format!("beacon {u}{path}: answer is not JSON: {e}"))
                    })
                }
                Err(e) => last = format!("beacon {u}{path}: {e}"),
            }
        }
        Err(L1Error::Other(last))
    }

    /// Beacon genesis time and seconds per slot.
    fn timing(&self) -> Result<(u64, u64), L1Error> {
        if let Some(t) = self.genesis.get() {
            return Ok(*t);
        }
        let g = self.get("/eth/v1/beacon/genesis")?;
        let genesis = g["data"]["genesis_time"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| L1Error::Other("beacon genesis: no genesis_time".into()))?;
        // Mainnet and testnets use 12 s; read it when the node says otherwise.
        let per_slot = self
            .get("/eth/v1/config/spec")
            .ok()
            .and_then(|s| {
                s["data"]["SECONDS_PER_SLOT"]
                    .as_str()
                    .and_then(|x| x.parse().ok())
            })
            .filter(|x: &u64| *x > 0)
            .unwrap_or(12);
        Ok(*self.genesis.get_or_init(|| (genesis, per_slot)))
    }

    /// The blobs with `versioned` hashes, in that order, from the beacon slot of an L1 block
    /// with timestamp `block_timestamp`.
    pub fn blobs_at(
        &self,
        block_timestamp: u64,
        versioned: &[B256],
    ) -> Result<Vec<Box<[u8; BYTES_PER_BLOB]>>, L1Error> {
        let (genesis, per_slot) = self.timing()?;
        let slot = block_timestamp.saturating_sub(genesis) / per_slot;
        let v = self.get(&format!("/eth/v1/beacon/blob_sidecars/{slot}"))?;
        let items = v["data"].as_array().cloned().unwrap_or_default();
        let mut out = Vec::with_capacity(versioned.len());
        for want in versioned {
            let found = items.iter().find_map(|it| {
                let c: [u8; 48] = hex_bytes(&it["kzg_commitment"])?.try_into().ok()?;
                (versioned_hash(&c) == *want).then(|| hex_bytes(&it["blob"]))?
            });
            let bytes = found.ok_or_else(|| {
                L1Error::Other(format!(
                    "beacon slot {slot} has no blob with versioned hash {want} (is the beacon node a supernode, or has the blob been pruned?)"
                ))
            })?;
            let blob: Box<[u8; BYTES_PER_BLOB]> =
                bytes.into_boxed_slice().try_into().map_err(|_| {
                    L1Error::Other(format!("beacon slot {slot}: blob of the wrong size"))
                })?;
            // The commitment in the sidecar is the server's word; the blob must match the hash.
            BlobBundle::verify_blob(&blob, want)?;
            out.push(blob);
        }
        Ok(out)
    }
}
