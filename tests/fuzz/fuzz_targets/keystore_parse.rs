//! The keystore schema parser must never panic, and whatever it accepts must survive a round trip
//! through its normalised form (what `validator-keys add` writes back).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ks) = cairn_keys::schema::parse_keystore(text) {
        let again = cairn_keys::schema::parse_keystore_value(&ks.to_json())
            .expect("the normalised form of an accepted keystore must be accepted");
        assert_eq!(again.to_json(), ks.to_json());
        let (jobs, _) = cairn_keys::staker::jobs(&ks);
        let _ = jobs.len();
    }
});
