//! Key-file decryption must reject malformed or hostile files (huge scrypt parameters, wrong
//! lengths) with an error, never a panic or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Cheap KDF parameters only: the fuzzer explores structure, not scrypt's running time.
    if text.contains("131072") || text.contains("262144") {
        return;
    }
    let _ = cairn_keys::encrypted::decrypt_v3(text, "pw");
    let _ = cairn_keys::encrypted::decrypt_bn254(text, "pw");
});
