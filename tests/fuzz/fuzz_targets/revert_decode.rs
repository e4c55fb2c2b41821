//! Revert data comes from any node and any contract: decoding must never panic, and whatever
//! it names must be consistent with the selector it saw.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let r = cairn_l1::revert::decode(data);
    assert!(!r.text.is_empty());
    if data.len() >= 4 {
        assert_eq!(r.selector.map(|s| s.to_vec()), Some(data[..4].to_vec()));
    }
    if r.name.is_some() {
        assert!(r.text.starts_with(r.name.as_deref().unwrap_or_default()));
    }
});
