//! The devnet manifest is read by every L1 command on the devnet; a damaged file must give an
//! error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = serde_json::from_slice::<cairn_l1::Manifest>(data) {
        let _ = serde_json::to_string(&m);
        let _ = m.address("rollup", std::path::Path::new("fuzz"));
    }
});
