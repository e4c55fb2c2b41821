//! EIP-4844 blob transactions: KZG commitments and proofs (c-kzg with the Ethereum trusted
//! setup), signing and sending a type-3 transaction with its sidecar, dry runs that carry the
//! versioned hashes, and the point-evaluation input the Rollup's epoch proof takes.
//!
//! The Rollup checks `blobhash(i)` against the commitments in `propose`'s `_blobInput`, so a
//! checkpoint cannot be proposed without a real blob transaction (notes/devnet-propose.md §3.3).

use crate::client::{u256_of, L1Error, Receipt, L1};
use crate::rpc::{parse_bytes, RpcError};
use alloy_consensus::{SignableTransaction, TxEip4844, TxEip4844Variant, TxEip4844WithSidecar};
use alloy_eips::eip2718::Encodable2718;
use alloy_eips::eip4844::BlobTransactionSidecar;
use alloy_eips::eip7594::BlobTransactionSidecarVariant;
use alloy_primitives::{Address, Bytes, FixedBytes, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use serde_json::{json, Value};

// The blob layout and hashing rules are pure consensus facts; this module only adds KZG and I/O.
pub use cairn_consensus::blob::{versioned_hash, BYTES_PER_BLOB};

/// Blobs with their commitments, proofs and versioned hashes.
#[derive(Clone)]
pub struct BlobBundle {
    /// The blobs.
    pub blobs: Vec<Box<[u8; BYTES_PER_BLOB]>>,
    /// KZG commitment per blob.
    pub commitments: Vec<[u8; 48]>,
    /// KZG blob proof per blob.
    pub proofs: Vec<[u8; 48]>,
    /// `0x01 ‖ sha256(commitment)[1..]` per blob.
    pub versioned_hashes: Vec<B256>,
}

impl std::fmt::Debug for BlobBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobBundle")
            .field("blobs", &self.blobs.len())
            .field("versioned_hashes", &self.versioned_hashes)
            .finish()
    }
}

fn kzg() -> &'static c_kzg::KzgSettings {
    c_kzg::ethereum_kzg_settings(0)
}

/// Loads the trusted setup now (it is built on first use, which takes seconds in a debug
/// build): a sequencer calls this at start so its first checkpoint does not pay for it.
pub fn warm_up() {
    let _ = kzg();
}

fn blob_of(b: &[u8; BYTES_PER_BLOB]) -> Result<c_kzg::Blob, L1Error> {
    c_kzg::Blob::from_bytes(b).map_err(|e| L1Error::Other(format!("invalid blob: {e:?}")))
}

impl BlobBundle {
    /// Commits to `blobs` (each field element must be below the BLS12-381 modulus).
    pub fn new(blobs: Vec<Box<[u8; BYTES_PER_BLOB]>>) -> Result<BlobBundle, L1Error> {
        let mut commitments = Vec::with_capacity(blobs.len());
        let mut proofs = Vec::with_capacity(blobs.len());
        let mut versioned_hashes = Vec::with_capacity(blobs.len());
        for b in &blobs {
            let blob = blob_of(b)?;
            let c = kzg()
                .blob_to_kzg_commitment(&blob)
                .map_err(|e| L1Error::Other(format!("KZG commitment failed: {e:?}")))?;
            let cb = c.to_bytes();
            let p = kzg()
                .compute_blob_kzg_proof(&blob, &cb)
                .map_err(|e| L1Error::Other(format!("KZG proof failed: {e:?}")))?;
            let mut c48 = [0u8; 48];
            c48.copy_from_slice(cb.as_slice());
            let mut p48 = [0u8; 48];
            p48.copy_from_slice(p.to_bytes().as_slice());
            versioned_hashes.push(versioned_hash(&c48));
            commitments.push(c48);
            proofs.push(p48);
        }
        Ok(BlobBundle {
            blobs,
            commitments,
            proofs,
            versioned_hashes,
        })
    }

    /// Checks that `blob` matches `versioned` (for blobs fetched back from L1 or a store).
    pub fn verify_blob(blob: &[u8; BYTES_PER_BLOB], versioned: &B256) -> Result<(), L1Error> {
        let c = kzg()
            .blob_to_kzg_commitment(&blob_of(blob)?)
            .map_err(|e| L1Error::Other(format!("KZG commitment failed: {e:?}")))?;
        let mut c48 = [0u8; 48];
        c48.copy_from_slice(c.to_bytes().as_slice());
        if versioned_hash(&c48) == *versioned {
            Ok(())
        } else {
            Err(L1Error::Other(format!(
                "blob does not match versioned hash {versioned}"
            )))
        }
    }

    /// The 192-byte input of the point-evaluation precompile for blob `i` at `z`:
    /// versioned hash ‖ z ‖ y ‖ commitment ‖ proof.
    pub fn point_evaluation_input(&self, i: usize, z: [u8; 32]) -> Result<Vec<u8>, L1Error> {
        let b = self
            .blobs
            .get(i)
            .ok_or_else(|| L1Error::Other(format!("no blob {i}")))?;
        let zb = c_kzg::Bytes32::from(z);
        let (proof, y) = kzg()
            .compute_kzg_proof(&blob_of(b)?, &zb)
            .map_err(|e| L1Error::Other(format!("KZG opening failed: {e:?}")))?;
        let mut out = Vec::with_capacity(192);
        out.extend_from_slice(self.versioned_hashes[i].as_slice());
        out.extend_from_slice(&z);
        out.extend_from_slice(y.as_slice());
        out.extend_from_slice(&self.commitments[i]);
        out.extend_from_slice(proof.to_bytes().as_slice());
        Ok(out)
    }

    fn sidecar(&self) -> BlobTransactionSidecar {
        BlobTransactionSidecar {
            blobs: self
                .blobs
                .iter()
                .map(|b| FixedBytes::<BYTES_PER_BLOB>::from(**b))
                .collect(),
            commitments: self
                .commitments
                .iter()
                .map(|c| FixedBytes::<48>::from(*c))
                .collect(),
            proofs: self
                .proofs
                .iter()
                .map(|p| FixedBytes::<48>::from(*p))
                .collect(),
        }
    }
}

fn call_json(from: Address, to: Address, data: &[u8], hashes: &[B256]) -> Value {
    json!({
        "from": format!("{from:#x}"),
        "to": format!("{to:#x}"),
        "data": format!("0x{}", hex::encode(data)),
        "blobVersionedHashes": hashes.iter().map(|h| format!("{h:#x}")).collect::<Vec<_>>(),
    })
}

impl L1 {
    /// `eth_call` of raw calldata as `from`, with blob versioned hashes visible to `blobhash`,
    /// at the latest block. Returns the raw output or the decoded revert.
    pub fn dry_run_blob(
        &self,
        what: &str,
        from: Address,
        to: Address,
        data: &[u8],
        hashes: &[B256],
    ) -> Result<Vec<u8>, L1Error> {
        match self.rpc().call(
            "eth_call",
            json!([call_json(from, to, data, hashes), "latest"]),
        ) {
            Ok(v) => Ok(parse_bytes("eth_call", &v)?),
            Err(e) => Err(match crate::client::revert_of(&e) {
                Some(revert) => L1Error::Reverted {
                    what: what.to_string(),
                    revert,
                },
                None => e.into(),
            }),
        }
    }

    /// Signs and sends a type-3 transaction carrying `bundle`, then waits for it. `gas` is the
    /// limit (the caller dry-runs first). On a mined failure the call is replayed at its block,
    /// with the blob hashes, to name the revert.
    pub fn send_blob_tx(
        &self,
        signer: &PrivateKeySigner,
        what: &str,
        to: Address,
        data: Vec<u8>,
        gas: u64,
        bundle: &BlobBundle,
    ) -> Result<Receipt, L1Error> {
        let from = signer.address();
        let (nonce, max_fee, tip) = self.nonce_and_fees(from)?;
        let blob_base = self
            .rpc()
            .call("eth_blobBaseFee", json!([]))
            .ok()
            .and_then(|v| u256_of(&v))
            .unwrap_or(U256::from(1u64));
        let max_blob_fee = (blob_base * U256::from(2)).max(U256::from(1_000_000_000u64));
        let needed = max_fee * U256::from(gas)
            + max_blob_fee * U256::from(131_072u64 * bundle.blobs.len() as u64);
        let balance = self.balance(from)?;
        if balance < needed {
            return Err(L1Error::InsufficientEth {
                what: what.to_string(),
                sender: from,
                balance,
                needed,
            });
        }
        let to_u128 = |v: U256| -> Result<u128, L1Error> {
            u128::try_from(v).map_err(|_| L1Error::Other(format!("{what}: fee {v} out of range")))
        };
        let tx = TxEip4844 {
            chain_id: self.chain_id(),
            nonce,
            gas_limit: gas,
            max_fee_per_gas: to_u128(max_fee)?,
            max_priority_fee_per_gas: to_u128(tip)?,
            to,
            value: U256::ZERO,
            access_list: Default::default(),
            blob_versioned_hashes: bundle.versioned_hashes.clone(),
            max_fee_per_blob_gas: to_u128(max_blob_fee)?,
            input: Bytes::from(data.clone()),
        };
        let sig = signer
            .sign_hash_sync(&tx.signature_hash())
            .map_err(|e| L1Error::Other(format!("{what}: signing failed: {e}")))?;
        let with_sidecar = TxEip4844Variant::TxEip4844WithSidecar(TxEip4844WithSidecar {
            tx,
            sidecar: BlobTransactionSidecarVariant::Eip4844(bundle.sidecar()),
        });
        let signed = with_sidecar.into_signed(sig);
        let envelope = alloy_consensus::TxEnvelope::Eip4844(signed);
        let raw = envelope.encoded_2718();
        let v = self.rpc().call(
            "eth_sendRawTransaction",
            json!([format!("0x{}", hex::encode(raw))]),
        )?;
        let hash: B256 =
            v.as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| RpcError::BadAnswer {
                    method: "eth_sendRawTransaction".into(),
                    detail: format!("not a hash: {v}"),
                })?;
        tracing::debug!(%hash, what, nonce, gas, blobs = bundle.blobs.len(), "sent blob transaction");
        self.wait_replay(
            what,
            hash,
            call_json(from, to, &data, &bundle.versioned_hashes),
        )
    }

    /// Blobs of a transaction, from anvil's `anvil_getBlobsByTransactionHash` (a devnet L1
    /// keeps them; production reads them from a beacon node or a blob store).
    pub fn blobs_of_tx(&self, tx: B256) -> Result<Vec<Box<[u8; BYTES_PER_BLOB]>>, L1Error> {
        let v = self.rpc().call(
            "anvil_getBlobsByTransactionHash",
            json!([format!("{tx:#x}")]),
        )?;
        let items = match v {
            Value::Array(a) => a,
            Value::Null => Vec::new(),
            other => {
                return Err(RpcError::BadAnswer {
                    method: "anvil_getBlobsByTransactionHash".into(),
                    detail: format!("not an array: {}", other.to_string().len()),
                }
                .into())
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            let b = parse_bytes("anvil_getBlobsByTransactionHash", &it)?;
            let arr: Box<[u8; BYTES_PER_BLOB]> =
                b.into_boxed_slice()
                    .try_into()
                    .map_err(|_| RpcError::BadAnswer {
                        method: "anvil_getBlobsByTransactionHash".into(),
                        detail: "blob of the wrong size".into(),
                    })?;
            out.push(arr);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_consensus::kzg::{verify_blob_proofs, KzgError};

    /// Blobs of pseudo-random canonical field elements (top byte of each element zero).
    fn blobs(n: usize, seed: u64) -> Vec<Box<[u8; BYTES_PER_BLOB]>> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                let mut b = Box::new([0u8; BYTES_PER_BLOB]);
                for (i, byte) in b.iter_mut().enumerate() {
                    if i % 32 != 0 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        *byte = x as u8;
                    }
                }
                b
            })
            .collect()
    }

    // The validators' pure-Rust check (runtime/consensus) accepts exactly what c-kzg, the
    // proposer's library with Ethereum's setup, commits and proves, and nothing else.
    #[test]
    fn pure_rust_blob_proofs_agree_with_c_kzg() {
        let bundle = BlobBundle::new(blobs(3, 7)).unwrap();
        let refs: Vec<&[u8; BYTES_PER_BLOB]> = bundle.blobs.iter().map(|b| &**b).collect();
        assert_eq!(
            verify_blob_proofs(&refs, &bundle.commitments, &bundle.proofs),
            Ok(())
        );
        // One element of blob 1 changed: its commitment no longer opens to it.
        let mut changed = bundle.blobs[1].clone();
        changed[100] ^= 1;
        let mut refs2 = refs.clone();
        refs2[1] = &changed;
        assert_eq!(
            verify_blob_proofs(&refs2, &bundle.commitments, &bundle.proofs),
            Err(KzgError::Mismatch(1))
        );
        // Proofs swapped between blobs, or a commitment moved: refused.
        let mut proofs = bundle.proofs.clone();
        proofs.swap(0, 2);
        assert_eq!(
            verify_blob_proofs(&refs, &bundle.commitments, &proofs),
            Err(KzgError::Mismatch(0))
        );
        let mut commitments = bundle.commitments.clone();
        commitments.swap(0, 1);
        assert!(verify_blob_proofs(&refs, &commitments, &bundle.proofs).is_err());
        // And every blob the node actually posts: a checkpoint body's blobs.
        let body: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let posted = BlobBundle::new(cairn_consensus::blob::encode_blobs(&body).unwrap()).unwrap();
        let refs: Vec<&[u8; BYTES_PER_BLOB]> = posted.blobs.iter().map(|b| &**b).collect();
        assert_eq!(
            verify_blob_proofs(&refs, &posted.commitments, &posted.proofs),
            Ok(())
        );
    }
}
