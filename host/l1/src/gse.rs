//! Calls on Aztec's GSE (Governance Staking Escrow) contract.

use cairn_crypto::G1Words;
use serde_json::json;

use crate::rpc::{parse_bytes, RpcClient, RpcError};

/// `getRegistrationDigest((uint256,uint256))`.
pub const GET_REGISTRATION_DIGEST: [u8; 4] = [0x11, 0xd6, 0x6f, 0xee];

fn digest_calldata(pk1: &G1Words) -> Vec<u8> {
    let mut data = GET_REGISTRATION_DIGEST.to_vec();
    data.extend_from_slice(&pk1.x);
    data.extend_from_slice(&pk1.y);
    data
}

fn decode_point(method: &str, raw: &[u8]) -> Result<G1Words, RpcError> {
    if raw.len() != 64 {
        return Err(RpcError::BadAnswer {
            method: method.to_string(),
            detail: format!(
                "expected 64 bytes (a G1 point), got {}; is the address a GSE contract?",
                raw.len()
            ),
        });
    }
    let mut x = [0u8; 32];
    let mut y = [0u8; 32];
    x.copy_from_slice(&raw[..32]);
    y.copy_from_slice(&raw[32..]);
    Ok(G1Words { x, y })
}

/// `GSE.getRegistrationDigest(pk1)` for many keys, batched.
pub fn registration_digests(
    rpc: &RpcClient,
    gse: &str,
    keys: &[G1Words],
) -> Result<Vec<G1Words>, RpcError> {
    const M: &str = "GSE.getRegistrationDigest";
    let params = keys
        .iter()
        .map(|k| {
            json!([{"to": gse, "data": format!("0x{}", hex::encode(digest_calldata(k)))}, "latest"])
        })
        .collect();
    rpc.batch("eth_call", params, 100)?
        .into_iter()
        .map(|r| decode_point(M, &parse_bytes(M, &r?)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_is_keccak_of_signature() {
        assert_eq!(
            &cairn_crypto::keccak256(b"getRegistrationDigest((uint256,uint256))")[..4],
            &GET_REGISTRATION_DIGEST
        );
    }

    #[test]
    fn unreachable_rpc_is_a_clear_error() {
        let rpc = RpcClient::new(&["http://127.0.0.1:9"])
            .unwrap()
            .with_retries(2, std::time::Duration::from_millis(1));
        let e = registration_digests(
            &rpc,
            "0x0000000000000000000000000000000000000001",
            &[G1Words {
                x: [1; 32],
                y: [2; 32],
            }],
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("unreachable") && msg.contains("127.0.0.1:9"),
            "{msg}"
        );
        assert!(RpcClient::new::<&str>(&[]).is_err());
    }
}
