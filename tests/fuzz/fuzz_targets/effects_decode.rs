//! Tx effects are stored by the node and replayed on restart: the decoder must never panic on
//! damaged bytes, and whatever it accepts must re-encode to exactly the input (canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(e) = cairn_protocol::stages::TxEffects::decode(data) {
        assert_eq!(e.encode(), data);
    }
});
