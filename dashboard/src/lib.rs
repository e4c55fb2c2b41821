//! The staking page's logic that is not UI: the worker's request handler. Kept in a library so
//! it is tested natively and, compiled to wasm, under `wasm-bindgen-test`.

pub mod flow;
