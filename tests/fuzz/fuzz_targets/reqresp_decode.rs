//! Requests and responses come from any connected peer: framing and decoders must never panic,
//! and an accepted message must be the one canonical encoding of its value.
#![no_main]

use cairn_wire::reqresp::{Request, Response, MAX_REQUEST, MAX_RESPONSE};
use cairn_wire::decompress;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(plain) = decompress(data, MAX_REQUEST) {
        assert!(plain.len() <= MAX_REQUEST);
    }
    if let Ok(plain) = decompress(data, MAX_RESPONSE) {
        assert!(plain.len() <= MAX_RESPONSE);
    }
    if let Ok(r) = Request::decode(data) {
        assert_eq!(r.encode(), data);
    }
    if let Ok(r) = Response::decode(data) {
        assert_eq!(r.encode(), data);
    }
});
