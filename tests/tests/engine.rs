//! The real components in wasmtime: valid and invalid txs through every stage, the differential
//! test against the native twins, hostile modules, module identity rules and hot swap under load.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use cairn_engine::{Engine, EngineConfig, LoadError, Pipeline, Stage, SwapError, TxOutcome};
use cairn_protocol::stages::StateView;
use cairn_tests::components;
use cairn_zk::scenario::{Kind, Scenario};

fn scenario() -> &'static Scenario {
    static S: OnceLock<Scenario> = OnceLock::new();
    S.get_or_init(|| Scenario::new(24))
}

fn state() -> Arc<dyn StateView + Send + Sync> {
    Arc::new(scenario().state.clone())
}

fn engine() -> Arc<Engine> {
    // Tight budgets so hostile modules are stopped within seconds.
    Arc::new(
        Engine::new(EngineConfig {
            fuel: 3_000_000_000,
            deadline_ticks: 300,
            max_memory: 64 << 20,
            ..EngineConfig::default()
        })
        .expect("engine"),
    )
}

fn check_corpus() -> Vec<Vec<u8>> {
    scenario()
        .corpus(24, 1, 2)
        .into_iter()
        .map(|(_, b)| b)
        .collect()
}

fn pipeline(e: Arc<Engine>) -> Pipeline {
    Pipeline::new(e, state(), scenario().context(), check_corpus())
}

fn all_wasm(p: &Pipeline) {
    let c = components();
    for s in Stage::ALL {
        p.load(s, &c[s.name()])
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    assert_eq!(p.block_boundary().len(), 4);
}

#[test]
fn components_accept_valid_txs_and_reject_each_class_with_its_reason() {
    let p = pipeline(engine());
    all_wasm(&p);
    for (s, label) in p.active() {
        assert!(label.starts_with("cairn-stage-"), "{s}: {label}");
    }
    let corpus = scenario().corpus(Kind::ALL.len() * 2, 2, 4);
    let txs: Vec<Vec<u8>> = corpus.iter().map(|(_, b)| b.clone()).collect();
    let out = p.process_block(state(), &scenario().context(), &txs);
    assert!(out.faults.is_empty(), "{:?}", out.faults);
    let expected: BTreeMap<Kind, (Option<Stage>, &str)> = [
        (Kind::Transfer, (None, "")),
        (Kind::Counter, (None, "")),
        (Kind::PrivateSpend, (None, "")),
        (
            Kind::WrongChainId,
            (Some(Stage::Validation), "wrong-chain-id"),
        ),
        (Kind::Expired, (Some(Stage::Validation), "expired")),
        (Kind::DoubleSpend, (Some(Stage::Validation), "double-spend")),
        (Kind::BadProof, (Some(Stage::Proofs), "bad-proof")),
        (
            Kind::UnknownAnchor,
            (Some(Stage::Validation), "unknown-anchor"),
        ),
        (
            Kind::InsufficientFee,
            (Some(Stage::Validation), "insufficient-fee"),
        ),
        (Kind::VmRevert, (Some(Stage::Execution), "vm-revert")),
        (Kind::OutOfGas, (Some(Stage::Execution), "out-of-gas")),
        (Kind::Malformed, (Some(Stage::Validation), "malformed")),
    ]
    .into_iter()
    .collect();
    for ((kind, _), o) in corpus.iter().zip(&out.txs) {
        let (stage, code) = expected[kind];
        match (stage, o) {
            (None, TxOutcome::Included(_)) => {}
            (Some(s), TxOutcome::Rejected(got_s, r)) => {
                assert_eq!(
                    (*got_s, r.code.as_str()),
                    (s, code),
                    "{kind:?}: {}",
                    r.message
                )
            }
            _ => panic!("{kind:?}: {o:?}"),
        }
    }
    // The attestation component agrees with identical headers and names a mismatch.
    let h = cairn_protocol::stages::BlockHeader {
        chain_id: 1,
        rollup_version: 1,
        block_number: 2,
        slot: 3,
        fee_per_mana: 4,
        coinbase: [5; 20],
        previous_archive: [6; 32],
        note_root: [7; 32],
        nullifier_root: [8; 32],
        public_data_root: [9; 32],
        effects_hash: [10; 32],
        tx_count: 11,
        gas_used: 12,
    };
    let (ok, fault) = p.attest(&h.encode(), &h);
    assert!(ok.is_ok() && fault.is_none());
    let mut other = h.clone();
    other.effects_hash = [0; 32];
    assert_eq!(
        p.attest(&other.encode(), &h).0,
        Err("proposal effects hash differs from re-execution".into())
    );
}

#[test]
fn native_and_wasm_stages_agree_on_ten_thousand_txs() {
    let e = engine();
    let c = components();
    let s = scenario();
    let st = state();
    let ctx = s.context();
    let corpus = s.corpus(10_000, 3, 48);
    let txs: Vec<Vec<u8>> = corpus.iter().map(|(_, b)| b.clone()).collect();
    let m_val = e.load(Stage::Validation, &c["tx-validation"]).unwrap();
    let m_prf = e.load(Stage::Proofs, &c["proof-verification"]).unwrap();
    let m_exe = e.load(Stage::Execution, &c["public-execution"]).unwrap();
    let mut kinds = BTreeMap::new();
    for chunk in txs.chunks(500) {
        let native = cairn_engine::native::validate(&*st, &ctx, chunk);
        let wasm = e.validate(&m_val, st.clone(), &ctx, chunk).unwrap();
        assert_eq!(native, wasm);
        let valid: Vec<(Vec<u8>, ark_bn254::Fr)> = chunk
            .iter()
            .zip(&native)
            .filter_map(|(b, v)| v.as_ref().ok().map(|v| (b.clone(), v.note_root)))
            .collect();
        let np = cairn_engine::native::verify(&*st, &valid);
        assert_eq!(np, e.verify(&m_prf, st.clone(), &valid).unwrap());
        let ok: Vec<(Vec<u8>, ark_bn254::Fr)> = valid
            .iter()
            .zip(&np)
            .filter(|(_, r)| r.is_ok())
            .map(|(v, _)| v.clone())
            .collect();
        let ne = cairn_engine::native::execute(&*st, &ctx, &ok);
        assert_eq!(ne, e.execute(&m_exe, st.clone(), &ctx, &ok).unwrap());
        for r in native
            .iter()
            .filter_map(|r| r.as_ref().err())
            .chain(np.iter().filter_map(|r| r.as_ref().err()))
        {
            *kinds.entry(r.code.clone()).or_insert(0) += 1;
        }
        for r in &ne {
            *kinds
                .entry(
                    r.as_ref()
                        .err()
                        .map(|r| r.code.clone())
                        .unwrap_or_else(|| "included".into()),
                )
                .or_insert(0) += 1;
        }
    }
    // Every class is represented, malformed inputs included.
    for code in [
        "malformed",
        "wrong-chain-id",
        "expired",
        "double-spend",
        "unknown-anchor",
        "insufficient-fee",
        "bad-proof",
        "included",
        "vm-revert",
        "out-of-gas",
    ] {
        assert!(
            kinds.get(code).copied().unwrap_or(0) > 100,
            "{code}: {kinds:?}"
        );
    }
}

#[test]
fn hostile_modules_are_contained_and_the_node_keeps_processing() {
    let e = engine();
    let c = components();
    let st = state();
    let ctx = scenario().context();
    let txs = check_corpus();
    for (name, want) in [
        ("hostile-spin", "deadline|out-of-fuel"),
        ("hostile-memory", "memory"),
        ("hostile-stack", "stack-overflow"),
        ("hostile-trap", "trap"),
    ] {
        let m = e
            .load(Stage::Validation, &c[name])
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        let t = Instant::now();
        let f = e.validate(&m, st.clone(), &ctx, &txs).expect_err(name);
        assert!(want.split('|').any(|w| w == f.code()), "{name}: {f:?}");
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "{name} took {:?}",
            t.elapsed()
        );
        // Through the pipeline: refused at load (self-check), and if forced in, contained.
        let p = pipeline(e.clone());
        assert!(
            matches!(
                p.load(Stage::Validation, &c[name]),
                Err(SwapError::SelfCheck(_))
            ),
            "{name}"
        );
        p.activate_unchecked(
            Stage::Validation,
            e.load(Stage::Validation, &c[name]).unwrap(),
        );
        p.block_boundary();
        let out = p.process_block(st.clone(), &ctx, &txs);
        assert_eq!(out.faults.len(), 1, "{name}");
        assert_eq!(out.faults[0].0, Stage::Validation);
        // Results are the native twin's: the block is processed correctly regardless.
        let native = pipeline(e.clone()).process_block(st.clone(), &ctx, &txs);
        assert_eq!(out.txs, native.txs, "{name}");
    }
    // A module that answers wrongly is refused by the self-check.
    let p = pipeline(e.clone());
    assert!(matches!(
        p.load(Stage::Validation, &c["hostile-wrong"]),
        Err(SwapError::SelfCheck(_))
    ));
    // A component exporting another world.
    assert!(matches!(
        e.load(Stage::Validation, &c["attestation"]),
        Err(LoadError::WrongWorld { .. })
    ));
    assert!(matches!(
        e.load(Stage::Execution, &c["tx-validation"]),
        Err(LoadError::WrongWorld { .. })
    ));
    // A stage built for wasm32-wasip2 imports WASI through std: refused before linking,
    // with what to do instead.
    let Err(err) = e.load(
        Stage::Attestation,
        &cairn_tests::wasip2_attestation_component(),
    ) else {
        panic!("a wasip2 build was loaded");
    };
    match &err {
        LoadError::ForbiddenImport { import } => assert!(import.starts_with("wasi:"), "{import}"),
        other => panic!("expected a forbidden import, got {other}"),
    }
    assert!(err.to_string().contains("wasm32-unknown-unknown"), "{err}");
    // Not a component at all.
    assert!(matches!(
        e.load(Stage::Validation, b"\0asm\x01\0\0\0"),
        Err(LoadError::Invalid(_))
    ));
    // A downgrade below the active version.
    p.load(Stage::Validation, &c["tx-validation"]).unwrap();
    p.block_boundary();
    let err = p
        .load(Stage::Validation, &c["hostile-downgrade"])
        .unwrap_err();
    assert!(matches!(err, SwapError::Downgrade { .. }), "{err}");
    assert!(err.to_string().contains("0.9.0"));
}

#[test]
/// The pipeline level of a hot swap: while blocks stream through, the swap activates only at a
/// block boundary and every block's outcomes stay identical to the native stages'. Exactly-once
/// handling of txs is a node property, tested on a live node in `node_e2e.rs`.
fn hot_swap_under_load_keeps_every_block_identical_to_native() {
    let e = engine();
    let c = components();
    let p = Arc::new(pipeline(e.clone()));
    all_wasm(&p);
    let s = scenario();
    let ctx = s.context();
    let st = state();
    let blocks: Vec<Vec<Vec<u8>>> = (0..40)
        .map(|b| {
            (0..24)
                .map(|i| {
                    s.make(
                        if i % 3 == 0 {
                            Kind::Counter
                        } else {
                            Kind::Transfer
                        },
                        i,
                        b * 100 + i as u64,
                        &mut ark_std::rand::SeedableRng::seed_from_u64(0),
                    )
                })
                .collect()
        })
        .collect();
    let expected: Vec<_> = {
        let native = pipeline(e.clone());
        blocks
            .iter()
            .map(|b| native.process_block(st.clone(), &ctx, b).txs)
            .collect()
    };
    let swapper = {
        let p = p.clone();
        let v2 = c["public-execution-v2"].clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            p.load(Stage::Execution, &v2).unwrap()
        })
    };
    // Blocks keep streaming (cycling through the prepared ones) until the swap has happened
    // and a few blocks have run on the new module, however long compiling v2 takes here.
    let mut labels = Vec::new();
    let mut swap_latency = None;
    let mut after_swap = 0;
    for n in 0..5_000 {
        let b = n % blocks.len();
        let out = p.process_block(st.clone(), &ctx, &blocks[b]);
        assert!(out.faults.is_empty());
        assert_eq!(out.txs, expected[b], "block {n}");
        let t = Instant::now();
        if !p.block_boundary().is_empty() {
            swap_latency = Some(t.elapsed());
        }
        labels.push(p.backend(Stage::Execution).label());
        if swap_latency.is_some() {
            after_swap += 1;
            if after_swap >= 5 && n + 1 >= blocks.len() {
                break;
            }
        }
    }
    let report = swapper.join().unwrap();
    assert!(
        labels.first().unwrap().ends_with("@1.0.0") && labels.last().unwrap().ends_with("@1.1.0"),
        "{labels:?}"
    );
    let activation = swap_latency.expect("the swap happened at a block boundary");
    eprintln!(
        "hot swap: load {:?}, self-check {:?}, activation at the boundary {activation:?}",
        report.load, report.self_check
    );
    assert!(activation < Duration::from_millis(5));
    // Rollback returns to v1; a second rollback has nothing left.
    assert!(p.rollback(Stage::Execution).unwrap().ends_with("@1.0.0"));
    assert!(matches!(
        p.rollback(Stage::Execution),
        Err(SwapError::NothingToRollBack(_))
    ));
}

#[test]
fn precompiled_artifacts_are_cached_by_content_hash() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::new(EngineConfig {
        cache_dir: Some(dir.path().join("cache")),
        ..EngineConfig::default()
    })
    .unwrap();
    let c = components();
    let t = Instant::now();
    let m = e.load(Stage::Execution, &c["public-execution"]).unwrap();
    let cold = t.elapsed();
    let file = dir
        .path()
        .join("cache")
        .join(format!("{}.cwasm", hex::encode(m.identity.hash)));
    assert!(file.exists());
    let t = Instant::now();
    let again = e.load(Stage::Execution, &c["public-execution"]).unwrap();
    let warm = t.elapsed();
    assert_eq!(again.identity, m.identity);
    eprintln!("load: compile {cold:?}, from cache {warm:?}");
    assert!(warm < cold);
    // A corrupted cache entry is ignored, not trusted.
    std::fs::write(&file, b"garbage").unwrap();
    assert!(e.load(Stage::Execution, &c["public-execution"]).is_ok());
}
