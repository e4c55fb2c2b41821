//! Everything a peer gossips is attacker-controlled: the snappy framing (with its declared-size
//! check) and the message decoders must never panic, an accepted message must be the one
//! canonical encoding of its value, and signer recovery must fail cleanly on garbage.
#![no_main]

use cairn_wire::{decompress, BlockProposal, CheckpointAttestation, CheckpointProposal, Topic};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for topic in Topic::ALL {
        if let Ok(plain) = decompress(data, topic.max_size()) {
            assert!(plain.len() <= topic.max_size());
        }
    }
    if let Ok(m) = CheckpointProposal::decode(data) {
        assert_eq!(m.encode(), data);
        let _ = m.signer();
    }
    if let Ok(m) = BlockProposal::decode(data) {
        assert_eq!(m.encode(), data);
        let _ = m.signer();
    }
    if let Ok(m) = CheckpointAttestation::decode(data) {
        assert_eq!(m.encode(), data);
        let _ = (m.signer(), m.proposer());
    }
});
