//! What the archiver reads from L1 is attacker-controlled (anyone can post blobs and calldata
//! that a faulty proposer signed): the blob layout decoder and the attestation unpacker must
//! never panic, and an accepted attestation set must pack back to the same bytes.
#![no_main]

use cairn_consensus::attest::{self, CommitteeAttestations};
use cairn_consensus::blob::{self, BYTES_PER_BLOB};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Blob payload: the fuzz input spread over one blob.
    let mut b = Box::new([0u8; BYTES_PER_BLOB]);
    let n = data.len().min(BYTES_PER_BLOB);
    b[..n].copy_from_slice(&data[..n]);
    if let Ok(payload) = blob::decode_blobs(&[&*b]) {
        let again = blob::encode_blobs(&payload).expect("decoded payload re-encodes");
        assert_eq!(blob::decode_blobs(&[&*again[0]]).expect("round trip"), payload);
    }
    // Attestations: first byte = committee size, then bitmap/signature bytes.
    if let Some((&size, rest)) = data.split_first() {
        let size = usize::from(size % 64);
        let bitmap = size.div_ceil(8).min(rest.len());
        let att = CommitteeAttestations {
            signature_indices: rest[..bitmap].to_vec(),
            signatures_or_addresses: rest[bitmap..].to_vec(),
        };
        let signers: Vec<_> = (0..size).map(|i| alloy_primitives::Address::repeat_byte(i as u8)).collect();
        if let Ok((members, sigs)) = attest::unpack(&att, &signers, size) {
            if let Ok((packed, _)) = attest::pack(&members, &sigs) {
                assert_eq!(packed, att);
            }
        }
    }
});
