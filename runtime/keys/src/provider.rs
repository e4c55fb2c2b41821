//! Delegated-stake provider batches: `StakingRegistry.addKeysToProvider` calldata from
//! registration tuples, split into transactions of at most `batch_size` keys (the operator guide's
//! limit is 100 per transaction), with the equivalent `cast send` line for each.

use cairn_crypto::{hex32, keccak256, Address};
use thiserror::Error;

use crate::registration::Registration;

/// The function every batch calls.
pub const ADD_KEYS_SIGNATURE: &str = "addKeysToProvider(uint256,(address,(uint256,uint256),(uint256,uint256,uint256,uint256),(uint256,uint256))[])";

/// Its selector, `0xe2530fd1`.
pub fn add_keys_selector() -> [u8; 4] {
    let h = keccak256(ADD_KEYS_SIGNATURE.as_bytes());
    [h[0], h[1], h[2], h[3]]
}

/// Why batches cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BatchError {
    /// A registration's attester is not an address.
    #[error("registration {index}: attester {attester:?} is not an Ethereum address")]
    BadAttester {
        /// Position in the input.
        index: usize,
        /// The value.
        attester: String,
    },
    /// Batch size zero.
    #[error("batch size must be at least 1")]
    ZeroBatchSize,
}

/// One transaction's worth of keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Index of the first registration in this batch.
    pub first: usize,
    /// Number of keys.
    pub len: usize,
    /// ABI-encoded calldata, selector included.
    pub calldata: Vec<u8>,
    /// `cast` arguments for the call: signature, provider id, key-store array.
    pub cast_args: [String; 3],
    /// The same call as a `cast send` command line.
    pub cast: String,
}

fn word_u256(n: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&n.to_be_bytes());
    w
}

/// `addKeysToProvider(providerId, keyStores)` calldata. Each `KeyStore` is a static tuple of
/// nine words (attester, G1 x y, G2 x0 x1 y0 y1, PoP x y), so the array is encoded inline after
/// its length.
pub fn add_keys_calldata(provider_id: u64, regs: &[Registration]) -> Result<Vec<u8>, BatchError> {
    let mut out = Vec::with_capacity(4 + 32 * (3 + 9 * regs.len()));
    out.extend_from_slice(&add_keys_selector());
    out.extend_from_slice(&word_u256(provider_id));
    out.extend_from_slice(&word_u256(64));
    out.extend_from_slice(&word_u256(regs.len() as u64));
    for (index, r) in regs.iter().enumerate() {
        let a = Address::parse(&r.attester).map_err(|_| BatchError::BadAttester {
            index,
            attester: r.attester.clone(),
        })?;
        let mut w = [0u8; 32];
        w[12..].copy_from_slice(&a.0);
        out.extend_from_slice(&w);
        for word in [
            r.pk1.x, r.pk1.y, r.pk2.x0, r.pk2.x1, r.pk2.y0, r.pk2.y1, r.pop.x, r.pop.y,
        ] {
            out.extend_from_slice(&word);
        }
    }
    Ok(out)
}

fn cast_tuple(a: &Address, r: &Registration) -> String {
    let h = |w: &[u8; 32]| hex32::padded(w);
    format!(
        "({},({},{}),({},{},{},{}),({},{}))",
        a.to_checksum(),
        h(&r.pk1.x),
        h(&r.pk1.y),
        h(&r.pk2.x0),
        h(&r.pk2.x1),
        h(&r.pk2.y0),
        h(&r.pk2.y1),
        h(&r.pop.x),
        h(&r.pop.y)
    )
}

/// Splits registrations into batches of at most `batch_size`, in order.
pub fn batches(
    registry: &str,
    provider_id: u64,
    regs: &[Registration],
    batch_size: usize,
) -> Result<Vec<Batch>, BatchError> {
    if batch_size == 0 {
        return Err(BatchError::ZeroBatchSize);
    }
    regs.chunks(batch_size)
        .enumerate()
        .map(|(i, chunk)| {
            let first = i * batch_size;
            let calldata = add_keys_calldata(provider_id, chunk).map_err(|e| match e {
                BatchError::BadAttester { index, attester } => BatchError::BadAttester {
                    index: first + index,
                    attester,
                },
                other => other,
            })?;
            let tuples: Vec<String> = chunk
                .iter()
                .map(|r| {
                    let a = Address::parse(&r.attester).expect("checked by add_keys_calldata");
                    cast_tuple(&a, r)
                })
                .collect();
            let cast_args = [
                ADD_KEYS_SIGNATURE.to_string(),
                provider_id.to_string(),
                format!("[{}]", tuples.join(",")),
            ];
            let cast = format!(
                "cast send {registry} '{}' {} '{}' --rpc-url \"$RPC_URL\" --private-key \"$PROVIDER_ADMIN_KEY\"",
                cast_args[0], cast_args[1], cast_args[2]
            );
            Ok(Batch {
                first,
                len: chunk.len(),
                calldata,
                cast_args,
                cast,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_crypto::BlsSecretKey;

    fn reg(seed: u8) -> Registration {
        let sk = BlsSecretKey::from_word(&[seed; 32]).unwrap();
        Registration::new(
            "0x9858EfFD232B4033E47d90003D41EC34EcaEda94".into(),
            &sk.proof_of_possession(),
        )
    }

    #[test]
    fn selector_matches_the_staking_registry() {
        assert_eq!(add_keys_selector(), [0xe2, 0x53, 0x0f, 0xd1]);
    }

    #[test]
    fn layout_and_batching() {
        let regs: Vec<Registration> = (1..=5).map(reg).collect();
        let data = add_keys_calldata(7, &regs[..2]).unwrap();
        assert_eq!(data.len(), 4 + 32 * (3 + 9 * 2));
        assert_eq!(data[4 + 31], 7);
        assert_eq!(data[4 + 32 + 31], 64);
        assert_eq!(data[4 + 64 + 31], 2);
        assert_eq!(
            &data[4 + 96 + 12..4 + 128],
            &Address::parse(&regs[0].attester).unwrap().0
        );
        assert_eq!(&data[4 + 128..4 + 160], &regs[0].pk1.x);
        // G2 in struct order: real part first.
        assert_eq!(&data[4 + 192..4 + 224], &regs[0].pk2.x0);

        let b = batches("0x00000000000000000000000000000000000000aa", 7, &regs, 2).unwrap();
        assert_eq!(
            b.iter().map(|b| (b.first, b.len)).collect::<Vec<_>>(),
            [(0, 2), (2, 2), (4, 1)]
        );
        assert_eq!(b[0].calldata, data);
        assert!(b[2].cast.starts_with(
            "cast send 0x00000000000000000000000000000000000000aa 'addKeysToProvider("
        ));
        assert_eq!(batches("0x0", 7, &regs, 0), Err(BatchError::ZeroBatchSize));
        let mut bad = regs.clone();
        bad[3].attester = "nope".into();
        assert!(matches!(
            batches("0x0", 1, &bad, 2),
            Err(BatchError::BadAttester { index: 3, .. })
        ));
    }
}
