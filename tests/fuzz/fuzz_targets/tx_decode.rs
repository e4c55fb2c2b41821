//! The tx decoder takes bytes from anyone: it must never panic, and whatever it accepts must
//! re-encode to exactly the same bytes (the tx hash is a function of the tx).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = cairn_protocol::tx::Tx::decode(data) {
        assert_eq!(tx.encode(), data);
        let _ = tx.hash();
        let _ = tx.binding();
    }
});
