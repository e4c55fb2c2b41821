//! Blob data layout and the blob hashes L1 checks (`BlobLib`); KZG itself stays with the host.
//!
//! Layout: the stream `len (u32 big-endian) ‖ data` is cut into 31-byte chunks, each stored in
//! bytes 1..32 of a 32-byte field element whose first byte is 0, so every element is below the
//! BLS12-381 scalar modulus whatever the data. Elements fill blob 0, then blob 1, and so on; the
//! unused tail is zero. At most [`MAX_BLOBS_PER_CHECKPOINT`] blobs.
//!
//! L1 never reads blob contents: it checks `blobhash(i)` against [`versioned_hash`] of the
//! commitments in [`blob_input`], and the header's `blobsHash` against [`blobs_hash`].

use alloy_primitives::B256;
use thiserror::Error;

/// Field elements per blob (EIP-4844).
pub const FIELD_ELEMENTS_PER_BLOB: usize = 4096;

/// Bytes per field element.
pub const BYTES_PER_FIELD_ELEMENT: usize = 32;

/// Bytes per blob.
pub const BYTES_PER_BLOB: usize = FIELD_ELEMENTS_PER_BLOB * BYTES_PER_FIELD_ELEMENT;

/// Data bytes per field element: all but the zero high byte.
pub const USABLE_BYTES_PER_FIELD_ELEMENT: usize = BYTES_PER_FIELD_ELEMENT - 1;

/// Stream bytes one blob holds.
pub const USABLE_BYTES_PER_BLOB: usize = FIELD_ELEMENTS_PER_BLOB * USABLE_BYTES_PER_FIELD_ELEMENT;

/// Length of the big-endian `u32` length prefix at the start of the stream.
pub const LENGTH_PREFIX_LEN: usize = 4;

/// Most blobs one checkpoint's transaction may carry.
pub const MAX_BLOBS_PER_CHECKPOINT: usize = 6;

/// Largest payload [`encode_blobs`] accepts.
pub const MAX_PAYLOAD_LEN: usize =
    MAX_BLOBS_PER_CHECKPOINT * USABLE_BYTES_PER_BLOB - LENGTH_PREFIX_LEN;

/// Length of a compressed BLS12-381 G1 KZG commitment.
pub const KZG_COMMITMENT_LEN: usize = 48;

/// Version byte of a KZG versioned hash (`VERSIONED_HASH_VERSION_KZG`).
pub const VERSIONED_HASH_VERSION_KZG: u8 = 0x01;

/// One blob's bytes.
pub type Blob = [u8; BYTES_PER_BLOB];

/// A compressed KZG commitment.
pub type KzgCommitment = [u8; KZG_COMMITMENT_LEN];

/// Why blobs could not be built, read or hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BlobError {
    /// The payload needs more than [`MAX_BLOBS_PER_CHECKPOINT`] blobs.
    #[error("payload of {len} bytes exceeds the {max}-byte capacity of the allowed blobs")]
    PayloadTooLarge {
        /// Payload length.
        len: usize,
        /// [`MAX_PAYLOAD_LEN`].
        max: usize,
    },
    /// No blobs or commitments were given; L1 requires at least one (`Rollup__NoBlobsInCheckpoint`).
    #[error("at least one blob is required")]
    NoBlobs,
    /// More blobs or commitments than [`MAX_BLOBS_PER_CHECKPOINT`].
    #[error("{count} blobs given, at most {max} allowed")]
    TooManyBlobs {
        /// Blobs given.
        count: usize,
        /// [`MAX_BLOBS_PER_CHECKPOINT`].
        max: usize,
    },
    /// A field element's first byte is not zero, so the blob was not encoded by [`encode_blobs`].
    #[error("blob {blob} field element {element} has a non-zero high byte")]
    NonZeroHighByte {
        /// Blob index.
        blob: usize,
        /// Field element index within the blob.
        element: usize,
    },
    /// The length prefix claims more data than the blobs hold.
    #[error("length prefix {length} exceeds the {capacity} bytes the blobs hold")]
    LengthBeyondCapacity {
        /// Claimed payload length.
        length: usize,
        /// Payload bytes the given blobs can hold.
        capacity: usize,
    },
}

/// Blobs [`encode_blobs`] uses for a payload of `len` bytes (at least 1).
pub const fn blobs_needed(len: usize) -> usize {
    let stream = len.saturating_add(LENGTH_PREFIX_LEN);
    stream.div_ceil(USABLE_BYTES_PER_BLOB)
}

/// Lays `data` out over as few blobs as possible (at least one, even for empty data).
pub fn encode_blobs(data: &[u8]) -> Result<Vec<Box<Blob>>, BlobError> {
    if data.len() > MAX_PAYLOAD_LEN {
        return Err(BlobError::PayloadTooLarge {
            len: data.len(),
            max: MAX_PAYLOAD_LEN,
        });
    }
    // MAX_PAYLOAD_LEN < u32::MAX, so the prefix is exact.
    let prefix = (data.len() as u32).to_be_bytes();
    let mut stream = Vec::with_capacity(LENGTH_PREFIX_LEN + data.len());
    stream.extend_from_slice(&prefix);
    stream.extend_from_slice(data);
    let mut blobs: Vec<Box<Blob>> = (0..blobs_needed(data.len())).map(|_| zero_blob()).collect();
    let slots = blobs
        .iter_mut()
        .flat_map(|blob| blob.chunks_exact_mut(BYTES_PER_FIELD_ELEMENT));
    for (element, chunk) in slots.zip(stream.chunks(USABLE_BYTES_PER_FIELD_ELEMENT)) {
        element[1..=chunk.len()].copy_from_slice(chunk);
    }
    Ok(blobs)
}

/// Reads back the payload [`encode_blobs`] wrote; rejects blobs it could not have written.
///
/// Every field element of every given blob must have a zero high byte, and the length prefix
/// must fit in the given blobs. Bytes after the payload are not examined.
pub fn decode_blobs(blobs: &[&Blob]) -> Result<Vec<u8>, BlobError> {
    if blobs.is_empty() {
        return Err(BlobError::NoBlobs);
    }
    if blobs.len() > MAX_BLOBS_PER_CHECKPOINT {
        return Err(BlobError::TooManyBlobs {
            count: blobs.len(),
            max: MAX_BLOBS_PER_CHECKPOINT,
        });
    }
    for (b, blob) in blobs.iter().enumerate() {
        if let Some(element) = blob
            .chunks_exact(BYTES_PER_FIELD_ELEMENT)
            .position(|fe| fe[0] != 0)
        {
            return Err(BlobError::NonZeroHighByte { blob: b, element });
        }
    }
    let mut chunks = blobs
        .iter()
        .flat_map(|blob| blob.chunks_exact(BYTES_PER_FIELD_ELEMENT))
        .map(|element| &element[1..]);
    // The first element always exists and holds the prefix in its first four data bytes.
    let first = chunks.next().ok_or(BlobError::NoBlobs)?;
    let mut prefix = [0u8; LENGTH_PREFIX_LEN];
    prefix.copy_from_slice(&first[..LENGTH_PREFIX_LEN]);
    let length = u32::from_be_bytes(prefix) as usize;
    let capacity = blobs.len() * USABLE_BYTES_PER_BLOB - LENGTH_PREFIX_LEN;
    if length > capacity {
        return Err(BlobError::LengthBeyondCapacity { length, capacity });
    }
    let mut out = Vec::with_capacity(length);
    out.extend_from_slice(&first[LENGTH_PREFIX_LEN..]);
    for chunk in chunks {
        if out.len() >= length {
            break;
        }
        out.extend_from_slice(chunk);
    }
    out.truncate(length);
    Ok(out)
}

/// EIP-4844 versioned hash of a commitment: `0x01 ‖ sha256(commitment)[1..32]`
/// (`BlobLib.calculateBlobHash`); `blobhash(i)` must equal it.
pub fn versioned_hash(commitment: &KzgCommitment) -> B256 {
    let mut out = crate::sha256(commitment);
    out[0] = VERSIONED_HASH_VERSION_KZG;
    B256::from(out)
}

/// The header's `blobsHash`: `sha256ToField(versioned_0 ‖ … ‖ versioned_n)`.
pub fn blobs_hash(versioned: &[B256]) -> B256 {
    crate::sha256_to_field(&versioned.concat())
}

/// `propose`'s `_blobInput`: one byte with the blob count, then the 48-byte commitments.
pub fn blob_input(commitments: &[KzgCommitment]) -> Result<Vec<u8>, BlobError> {
    let count = check_count(commitments.len())?;
    let mut out = Vec::with_capacity(1 + commitments.len() * KZG_COMMITMENT_LEN);
    out.push(count);
    for c in commitments {
        out.extend_from_slice(c);
    }
    Ok(out)
}

/// The stored `blobCommitmentsHash` after a checkpoint (`BlobLib.calculateBlobCommitmentsHash`).
///
/// `previous` is the parent checkpoint's value, or `None` for the first checkpoint of an epoch,
/// which restarts the chain at `sha256ToField(C_0)`. Each further commitment `C` folds in as
/// `sha256ToField(hash ‖ C)`.
pub fn blob_commitments_hash(
    previous: Option<B256>,
    commitments: &[KzgCommitment],
) -> Result<B256, BlobError> {
    check_count(commitments.len())?;
    let (mut hash, rest) = match (previous, commitments.split_first()) {
        (Some(prev), _) => (prev, commitments),
        (None, Some((first, rest))) => (crate::sha256_to_field(first), rest),
        (None, None) => return Err(BlobError::NoBlobs),
    };
    for c in rest {
        hash = crate::sha256_to_field(&[hash.as_slice(), c.as_slice()].concat());
    }
    Ok(hash)
}

/// A checkpoint's blob count as L1's one-byte prefix, if it is allowed.
fn check_count(count: usize) -> Result<u8, BlobError> {
    match count {
        0 => Err(BlobError::NoBlobs),
        n if n > MAX_BLOBS_PER_CHECKPOINT => Err(BlobError::TooManyBlobs {
            count: n,
            max: MAX_BLOBS_PER_CHECKPOINT,
        }),
        // n <= 6, so it fits the byte.
        n => Ok(n as u8),
    }
}

/// A zeroed blob allocated directly on the heap (128 KiB is too much for a wasm stack frame).
fn zero_blob() -> Box<Blob> {
    let boxed: Box<[u8]> = vec![0u8; BYTES_PER_BLOB].into_boxed_slice();
    match boxed.try_into() {
        Ok(blob) => blob,
        Err(_) => unreachable!("the slice has exactly BYTES_PER_BLOB bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::b256;
    use proptest::prelude::*;

    /// The commitment to the zero polynomial: the compressed point at infinity.
    fn infinity() -> KzgCommitment {
        let mut c = [0u8; KZG_COMMITMENT_LEN];
        c[0] = 0xc0;
        c
    }

    fn decode(blobs: &[Box<Blob>]) -> Result<Vec<u8>, BlobError> {
        let refs: Vec<&Blob> = blobs.iter().map(|b| &**b).collect();
        decode_blobs(&refs)
    }

    #[test]
    fn sizes() {
        assert_eq!(BYTES_PER_BLOB, 131_072);
        assert_eq!(USABLE_BYTES_PER_BLOB, 126_976);
        assert_eq!(MAX_PAYLOAD_LEN, 761_852);
    }

    #[test]
    fn layout_of_a_small_payload() {
        let blobs = encode_blobs(b"hello").expect("fits");
        assert_eq!(blobs.len(), 1);
        let b = &blobs[0];
        assert_eq!(&b[..10], &[0, 0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o']);
        assert!(b[10..].iter().all(|&x| x == 0));
    }

    #[test]
    fn chunks_skip_each_high_byte() {
        // 27 data bytes complete the first element (4 prefix + 27 = 31); the 28th starts element 1.
        let data: Vec<u8> = (1..=28).collect();
        let b = &encode_blobs(&data).expect("fits")[0];
        assert_eq!(b[0], 0);
        assert_eq!(b[31], 27);
        assert_eq!(b[32], 0);
        assert_eq!(b[33], 28);
    }

    #[test]
    fn empty_payload_is_one_blob() {
        let blobs = encode_blobs(&[]).expect("fits");
        assert_eq!(blobs.len(), 1);
        assert!(blobs[0].iter().all(|&x| x == 0));
        assert_eq!(decode(&blobs), Ok(vec![]));
    }

    #[test]
    fn one_blob_capacity_boundary() {
        let full = vec![0xa5; USABLE_BYTES_PER_BLOB - LENGTH_PREFIX_LEN];
        let blobs = encode_blobs(&full).expect("fits");
        assert_eq!(blobs.len(), 1);
        assert_eq!(decode(&blobs).as_deref(), Ok(full.as_slice()));

        let over = vec![0xa5; USABLE_BYTES_PER_BLOB - LENGTH_PREFIX_LEN + 1];
        let blobs = encode_blobs(&over).expect("fits");
        assert_eq!(blobs.len(), 2);
        assert_eq!(blobs[1][1], 0xa5);
        assert!(blobs[1][2..].iter().all(|&x| x == 0));
        assert_eq!(decode(&blobs).as_deref(), Ok(over.as_slice()));
    }

    #[test]
    fn six_blob_limit() {
        let max = vec![7u8; MAX_PAYLOAD_LEN];
        let blobs = encode_blobs(&max).expect("fits");
        assert_eq!(blobs.len(), MAX_BLOBS_PER_CHECKPOINT);
        assert_eq!(decode(&blobs).map(|d| d.len()), Ok(MAX_PAYLOAD_LEN));
        assert_eq!(
            encode_blobs(&vec![7u8; MAX_PAYLOAD_LEN + 1]).map(|b| b.len()),
            Err(BlobError::PayloadTooLarge {
                len: MAX_PAYLOAD_LEN + 1,
                max: MAX_PAYLOAD_LEN
            })
        );
    }

    #[test]
    fn decode_rejects_foreign_blobs() {
        assert_eq!(decode_blobs(&[]), Err(BlobError::NoBlobs));

        let mut blobs = encode_blobs(b"abc").expect("fits");
        blobs[0][32 * 7] = 1;
        assert_eq!(
            decode(&blobs),
            Err(BlobError::NonZeroHighByte {
                blob: 0,
                element: 7
            })
        );

        let mut blobs = encode_blobs(b"abc").expect("fits");
        blobs[0][1..5].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            decode(&blobs),
            Err(BlobError::LengthBeyondCapacity {
                length: u32::MAX as usize,
                capacity: USABLE_BYTES_PER_BLOB - 4
            })
        );

        let blob = zero_blob();
        let seven = [&*blob; 7];
        assert_eq!(
            decode_blobs(&seven),
            Err(BlobError::TooManyBlobs { count: 7, max: 6 })
        );
    }

    #[test]
    fn hashes_known_answers() {
        // The well-known versioned hash of the empty blob's commitment.
        let inf = infinity();
        let vh0 = versioned_hash(&inf);
        assert_eq!(
            vh0,
            b256!("010657f37554c781402a22917dee2f75def7ab966d7b770905398eba3c444014")
        );
        let c1 = [0x77; KZG_COMMITMENT_LEN];
        let vh1 = versioned_hash(&c1);
        assert_eq!(
            vh1,
            b256!("01df6c2823068df56eae9df5a5a9abdb0410e11a5da524b7958cbc0e07ae5be0")
        );
        // The rest from tests/data/kat.js (Node's sha256).
        assert_eq!(
            blobs_hash(&[vh0, vh1]),
            b256!("00bfed3f41078813f38147d2f2891d440890e62ab148daf6c5ae7c2639ec84b4")
        );
        assert_eq!(
            blob_commitments_hash(None, &[inf, c1]),
            Ok(b256!(
                "00abbbcb3bab2dc3707851a94c838caec207ecb7df5deab2a538e8e5cddd7053"
            ))
        );
        assert_eq!(
            blob_commitments_hash(Some(B256::with_last_byte(1)), &[c1]),
            Ok(b256!(
                "0013647c517acb1b96053ab67c94eac4e445b5a9fb4b8c23f23bb9e41108839f"
            ))
        );
        assert_eq!(
            blob_commitments_hash(None, &[inf]),
            Ok(crate::sha256_to_field(&inf))
        );
        assert_eq!(blob_commitments_hash(None, &[]), Err(BlobError::NoBlobs));
    }

    #[test]
    fn blob_input_layout() {
        let c1 = [0x77; KZG_COMMITMENT_LEN];
        let input = blob_input(&[infinity(), c1]).expect("two blobs");
        assert_eq!(input.len(), 1 + 2 * 48);
        assert_eq!(input[0], 2);
        assert_eq!(&input[1..49], &infinity());
        assert_eq!(&input[49..], &c1);
        assert_eq!(blob_input(&[]), Err(BlobError::NoBlobs));
        assert_eq!(
            blob_input(&[c1; 7]),
            Err(BlobError::TooManyBlobs { count: 7, max: 6 })
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trip(data in prop::collection::vec(any::<u8>(), 0..300_000)) {
            let blobs = encode_blobs(&data).expect("fits");
            prop_assert_eq!(blobs.len(), blobs_needed(data.len()));
            prop_assert!(blobs
                .iter()
                .all(|b| b.chunks_exact(BYTES_PER_FIELD_ELEMENT).all(|fe| fe[0] == 0)));
            prop_assert_eq!(decode(&blobs), Ok(data));
        }
    }
}
