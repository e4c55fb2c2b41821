//! The registration checklist must never panic on any input, and must never pass a document
//! that the strict parser rejects.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let report = cairn_keys::registration::verify_document(text);
    let _ = report.to_json();
    if report.ok() {
        assert!(cairn_keys::registration::parse_document(text).is_ok());
    }
});
