//! Host bindings for the four stage worlds of `wit/pipeline.wit`. The first invocation defines
//! the shared interfaces; the others reuse them, so the host implements each import once.

#![allow(missing_docs, clippy::all)]

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "tx-validation",
    imports: { default: trappable },
});

pub mod proofs {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "proof-verification",
        imports: { default: trappable },
        with: {
            "cairn:pipeline/types": super::cairn::pipeline::types,
            "cairn:pipeline/state": super::cairn::pipeline::state,
            "cairn:pipeline/crypto": super::cairn::pipeline::crypto,
            "cairn:pipeline/log": super::cairn::pipeline::log,
        },
    });
}

pub mod execution {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "public-execution",
        imports: { default: trappable },
        with: {
            "cairn:pipeline/types": super::cairn::pipeline::types,
            "cairn:pipeline/state": super::cairn::pipeline::state,
            "cairn:pipeline/crypto": super::cairn::pipeline::crypto,
            "cairn:pipeline/log": super::cairn::pipeline::log,
        },
    });
}

pub mod attestation {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "attestation-stage",
        imports: { default: trappable },
        with: {
            "cairn:pipeline/types": super::cairn::pipeline::types,
            "cairn:pipeline/crypto": super::cairn::pipeline::crypto,
            "cairn:pipeline/log": super::cairn::pipeline::log,
        },
    });
}
