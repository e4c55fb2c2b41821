//! HTTP: JSON-RPC 2.0 (`node_*`) with `GET /status` and `GET /metrics` on `AZTEC_PORT`, and the
//! admin namespace (`nodeAdmin_*`) on `AZTEC_ADMIN_PORT` behind an API key.

use std::io::Read;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use cairn_protocol::field::fr_to_hex;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::node::{Node, StartError};

/// Largest request body accepted (a tx is at most 128 KiB; hex doubles it).
const MAX_BODY: usize = 1 << 20;

fn err(id: &Value, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut e = json!({"code": code, "message": message});
    if let Some(d) = data {
        e["data"] = d;
    }
    json!({"jsonrpc": "2.0", "id": id, "error": e})
}

fn ok(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn hash_param(p: &Value) -> Option<[u8; 32]> {
    let s = p.as_str()?;
    let b = hex::decode(s.strip_prefix("0x").unwrap_or(s)).ok()?;
    b.try_into().ok()
}

fn block_json(node: &Node, n: u64) -> Value {
    let chain = match node.chain.read() {
        Ok(c) => c,
        Err(p) => p.into_inner(),
    };
    if n == 0 || n > chain.tip() {
        return Value::Null;
    }
    let b = &chain.blocks[n as usize - 1];
    let h = &b.header;
    json!({
        "number": n,
        "slot": h.slot,
        "archive": format!("{:#x}", b.archive),
        "previousArchive": format!("0x{}", hex::encode(h.previous_archive)),
        "noteRoot": format!("0x{}", hex::encode(h.note_root)),
        "nullifierRoot": format!("0x{}", hex::encode(h.nullifier_root)),
        "publicDataRoot": format!("0x{}", hex::encode(h.public_data_root)),
        "feePerMana": h.fee_per_mana.to_string(),
        "coinbase": format!("0x{}", hex::encode(h.coinbase)),
        "gasUsed": h.gas_used,
        "txCount": h.tx_count,
        "txHashes": b.txs.iter().filter_map(|t| cairn_protocol::tx::Tx::decode(t).ok()).map(|t| format!("0x{}", hex::encode(t.hash()))).collect::<Vec<_>>(),
        "l1Tx": format!("{:#x}", b.l1_tx),
        "status": match b.status { crate::chain::Status::Checkpointed => "checkpointed", crate::chain::Status::Proven => "proven" },
    })
}

/// Handles one public JSON-RPC call.
pub fn handle(node: &Node, req: &Value) -> Value {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return err(&id, -32600, "invalid request: no method", None);
    };
    let params = req.get("params").cloned().unwrap_or(json!([]));
    let p0 = params.get(0).cloned().unwrap_or(Value::Null);
    match method {
        "node_getL2Tips" => ok(&id, node.tips()),
        "node_getBlockNumber" => ok(&id, json!(node.chain.read().map(|c| c.tip()).unwrap_or(0))),
        "node_getBlock" => match p0.as_u64() {
            Some(n) => ok(&id, block_json(node, n)),
            None => err(&id, -32602, "invalid params: block number expected", None),
        },
        "node_sendTx" => {
            let Some(bytes) = p0
                .as_str()
                .and_then(|s| hex::decode(s.strip_prefix("0x").unwrap_or(s)).ok())
            else {
                return err(&id, -32602, "invalid params: hex tx bytes expected", None);
            };
            match node.submit_tx(&bytes) {
                Ok(h) => ok(&id, json!(format!("0x{}", hex::encode(h)))),
                Err((code, message)) => err(
                    &id,
                    -32000,
                    &format!("tx rejected: {message}"),
                    Some(json!({"reason": code})),
                ),
            }
        }
        "node_getTxReceipt" => match hash_param(&p0) {
            Some(h) => {
                let r = if node.store.pool_get(&h).ok().flatten().is_some() {
                    json!({"status": "pending", "txHash": p0})
                } else {
                    match node.store.receipt(&h).ok().flatten() {
                        Some(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
                        None => json!({"status": "unknown", "txHash": p0}),
                    }
                };
                ok(&id, r)
            }
            None => err(
                &id,
                -32602,
                "invalid params: 32-byte tx hash expected",
                None,
            ),
        },
        "node_getTxByHash" => match hash_param(&p0) {
            Some(h) => {
                let from_pool = node.store.pool_get(&h).ok().flatten();
                let found = from_pool.or_else(|| {
                    let c = node.chain.read().ok()?;
                    c.blocks
                        .iter()
                        .flat_map(|b| b.txs.iter())
                        .find(|t| cairn_protocol::tx::Tx::decode(t).map(|x| x.hash()) == Ok(h))
                        .cloned()
                });
                ok(
                    &id,
                    found
                        .map(|b| json!(format!("0x{}", hex::encode(b))))
                        .unwrap_or(Value::Null),
                )
            }
            None => err(
                &id,
                -32602,
                "invalid params: 32-byte tx hash expected",
                None,
            ),
        },
        "node_getPendingTxCount" => ok(&id, json!(node.store.pool_len().unwrap_or(0))),
        "node_getPublicStorageAt" => {
            let word = |v: Option<&Value>| {
                v.and_then(Value::as_str)
                    .map(|s| s.strip_prefix("0x").unwrap_or(s))
                    .and_then(cairn_protocol::vm::Word::from_hex)
            };
            let contract = word(Some(&p0));
            let slot = word(params.get(1));
            match (contract, slot) {
                (Some(c), Some(s)) => {
                    let chain = match node.chain.read() {
                        Ok(c) => c,
                        Err(p) => p.into_inner(),
                    };
                    let v = chain.state.read_slot(&c, &s);
                    ok(&id, json!(fr_to_hex(&v)))
                }
                _ => err(
                    &id,
                    -32602,
                    "invalid params: [contract, slot] as hex words expected",
                    None,
                ),
            }
        }
        "node_getBlockHeader" => {
            let chain = match node.chain.read() {
                Ok(c) => c,
                Err(p) => p.into_inner(),
            };
            // What a wallet builds against: the newest anchor and the block number for expiry.
            ok(
                &id,
                json!({
                    "number": chain.tip(),
                    "anchor": fr_to_hex(&chain.state.latest_anchor()),
                    "chainId": node.l1.chain_id(),
                    "rollupVersion": node.config().rollup_version,
                }),
            )
        }
        "node_getNoteHashMembershipWitness" => match p0.as_u64() {
            Some(index) => {
                let chain = match node.chain.read() {
                    Ok(c) => c,
                    Err(p) => p.into_inner(),
                };
                if index >= chain.state.notes.len() {
                    return err(
                        &id,
                        -32602,
                        &format!("invalid params: no note at index {index}"),
                        None,
                    );
                }
                // Against the newest anchor, whose note root is the tree's current root.
                let path = chain.state.notes.path(index);
                ok(
                    &id,
                    json!({
                        "index": index,
                        "anchor": fr_to_hex(&chain.state.latest_anchor()),
                        "noteRoot": fr_to_hex(&chain.state.notes.root()),
                        "siblings": path.siblings.iter().map(fr_to_hex).collect::<Vec<_>>(),
                    }),
                )
            }
            None => err(&id, -32602, "invalid params: a leaf index expected", None),
        },
        "node_getCurrentMinFees" => match node.current_min_fee() {
            Ok(f) => ok(
                &id,
                json!({"feePerDaGas": "0", "feePerL2Gas": f.to_string()}),
            ),
            Err(e) => err(
                &id,
                -32000,
                &format!("cannot read the fee from L1: {e}"),
                None,
            ),
        },
        "node_isReady" => ok(&id, json!(node.unhealthy().is_empty())),
        "node_getNodeInfo" => {
            let cfg = node.config();
            ok(
                &id,
                json!({
                    "nodeVersion": env!("CARGO_PKG_VERSION"),
                    "l1ChainId": node.l1.chain_id(),
                    "rollupVersion": cfg.rollup_version,
                    "l1ContractAddresses": {"rollupAddress": format!("{:#x}", cfg.rollup)},
                    "attesters": cfg.attesters.iter().map(|a| a.key.address().to_checksum()).collect::<Vec<_>>(),
                    "stages": node.stages().iter().map(|(s, m, since)| json!({"stage": s.name(), "module": m, "component": m != "native", "sinceBlock": since})).collect::<Vec<_>>(),
                    "peerId": node.network.get().map(|n| n.peer_id()),
                    "listenAddresses": node.network.get().map(|n| n.listen_addrs()).unwrap_or_default(),
                }),
            )
        }
        "node_getValidatorsStats" | "node_getValidatorStats" => {
            // node_getValidatorStats [address, window?]; node_getValidatorsStats [window?].
            let single = method == "node_getValidatorStats";
            let (who, w) = if single {
                (p0.as_str().map(str::to_lowercase), params.get(1))
            } else {
                (None, params.get(0))
            };
            if single && who.is_none() {
                return err(
                    &id,
                    -32602,
                    "invalid params: [address, window?] expected",
                    None,
                );
            }
            let window = w
                .and_then(Value::as_u64)
                .unwrap_or(crate::sentinel::DEFAULT_WINDOW);
            match node.validators_stats(window) {
                Ok(v) if single => {
                    let who = who.unwrap_or_default();
                    let one = v["stats"]
                        .as_object()
                        .and_then(|m| m.iter().find(|(k, _)| k.to_lowercase() == who))
                        .map(|(_, s)| s.clone())
                        .unwrap_or(Value::Null);
                    ok(&id, one)
                }
                Ok(v) => ok(&id, v),
                Err(e) => err(
                    &id,
                    -32000,
                    &format!("cannot compute validator stats: {e}"),
                    None,
                ),
            }
        }
        "p2p_getPeers" => match node.network.get() {
            Some(n) => ok(&id, json!(n.peers())),
            None => err(
                &id,
                -32000,
                "p2p is disabled on this node (P2P_ENABLED)",
                None,
            ),
        },
        m => err(&id, -32601, &format!("method not found: {m}"), None),
    }
}

/// Handles one admin call (already authenticated).
pub fn handle_admin(node: &Node, req: &Value) -> Value {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return err(&id, -32600, "invalid request: no method", None);
    };
    let params = req.get("params").cloned().unwrap_or(json!([]));
    match method {
        "nodeAdmin_getConfig" => {
            let c = node.config();
            ok(
                &id,
                json!({
                    "maxTxsPerBlock": c.max_txs_per_block,
                    "pollMs": c.poll.as_millis() as u64,
                    "minPublisherBalanceWei": c.min_publisher_balance.to_string(),
                    "sequencer": c.roles.sequencer,
                    "prover": c.roles.prover,
                }),
            )
        }
        "nodeAdmin_setConfig" => {
            let p = params.get(0).cloned().unwrap_or(Value::Null);
            let Some(obj) = p.as_object() else {
                return err(
                    &id,
                    -32602,
                    "invalid params: a config object expected",
                    None,
                );
            };
            let mut cfg = match node.cfg.write() {
                Ok(c) => c,
                Err(p) => p.into_inner(),
            };
            for (k, v) in obj {
                match (k.as_str(), v.as_u64()) {
                    ("maxTxsPerBlock", Some(n)) if n > 0 => cfg.max_txs_per_block = n as usize,
                    ("pollMs", Some(n)) if n >= 50 => {
                        cfg.poll = std::time::Duration::from_millis(n)
                    }
                    _ => {
                        return err(
                            &id,
                            -32602,
                            &format!("invalid params: unknown or invalid setting {k}"),
                            None,
                        )
                    }
                }
            }
            ok(&id, json!(true))
        }
        "nodeAdmin_pauseSync" => {
            node.sync_paused.store(true, Ordering::Relaxed);
            ok(&id, json!(true))
        }
        "nodeAdmin_resumeSync" => {
            node.sync_paused.store(false, Ordering::Relaxed);
            ok(&id, json!(true))
        }
        "nodeAdmin_listModules" => ok(&id, json!(node.stages().iter().map(|(s, m, since)| json!({"stage": s.name(), "module": m, "component": m != "native", "sinceBlock": since})).collect::<Vec<_>>())),
        "nodeAdmin_loadModule" => {
            let stage = params
                .get(0)
                .and_then(Value::as_str)
                .and_then(cairn_engine::Stage::parse);
            let path = params.get(1).and_then(Value::as_str);
            let (Some(stage), Some(path)) = (stage, path) else {
                return err(
                    &id,
                    -32602,
                    "invalid params: [stage, path to .wasm] expected",
                    None,
                );
            };
            let bytes = match std::fs::read(path) {
                Ok(b) => b,
                Err(e) => return err(&id, -32000, &format!("cannot read {path}: {e}"), None),
            };
            match node.load_module(stage, &bytes) {
                Ok(r) => ok(
                    &id,
                    json!({"stage": stage.name(), "module": r.module, "loadMs": r.load.as_secs_f64() * 1e3, "selfCheckMs": r.self_check.as_secs_f64() * 1e3, "activates": "at the next block boundary"}),
                ),
                Err(e) => err(&id, -32000, &format!("module rejected: {e}"), None),
            }
        }
        "nodeAdmin_activateModules" => ok(
            &id,
            json!(node
                .pipeline
                .block_boundary()
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()),
        ),
        "nodeAdmin_rollbackModule" => {
            let Some(stage) = params
                .get(0)
                .and_then(Value::as_str)
                .and_then(cairn_engine::Stage::parse)
            else {
                return err(&id, -32602, "invalid params: [stage] expected", None);
            };
            match node.rollback_module(stage) {
                Ok(m) => ok(&id, json!(m)),
                Err(e) => err(&id, -32000, &e.to_string(), None),
            }
        }
        #[cfg(feature = "fault-injection")]
        "nodeAdmin_armFaultPoint" => {
            match params.get(0).and_then(Value::as_str) {
                Some(p) if crate::node::arm_fault_point(p) => ok(&id, json!(p)),
                _ => err(
                    &id,
                    -32602,
                    &format!(
                        "invalid params: one of {:?} expected",
                        crate::node::FAULT_POINTS
                    ),
                    None,
                ),
            }
        }
        m => err(&id, -32601, &format!("method not found: {m}"), None),
    }
}

fn metrics_text(node: &Node) -> String {
    let m = &node.metrics;
    let bal = m
        .publisher_balance
        .lock()
        .map(|b| b.to_string())
        .unwrap_or_default();
    let tip = node.chain.read().map(|c| c.tip()).unwrap_or(0);
    let pool = node.store.pool_len().unwrap_or(0);
    let lines: Vec<(&str, &str, &str, String)> = vec![
        (
            "cairn_sequencer_blocks_proposed_total",
            "Checkpoints this node proposed that landed on L1.",
            "counter",
            m.proposed.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_sequencer_slots_missed_total",
            "Slots this node was proposer for without a checkpoint landing.",
            "counter",
            m.missed.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_sequencer_attestations_required",
            "Attestations the last proposal needed (floor(2n/3)+1).",
            "gauge",
            m.att_required.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_sequencer_attestations_collected",
            "Attestations the last proposal collected.",
            "gauge",
            m.att_collected.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_sequencer_block_build_ms",
            "Time to build the last proposed block, in milliseconds.",
            "gauge",
            m.last_build_ms.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_l1_publisher_balance_wei",
            "Balance of the first publisher account, in wei.",
            "gauge",
            bal,
        ),
        (
            "cairn_archiver_block_height",
            "Latest L2 block this node holds.",
            "gauge",
            tip.to_string(),
        ),
        (
            "cairn_archiver_checkpointed_height",
            "Latest checkpoint seen on L1.",
            "gauge",
            m.checkpointed.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_archiver_proven_height",
            "Latest proven checkpoint on L1.",
            "gauge",
            m.proven.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_prover_epoch_proofs_total",
            "Epoch proofs this node submitted.",
            "counter",
            m.proofs.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_txpool_received_total",
            "Txs accepted into the pool.",
            "counter",
            m.txs_received.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_txpool_pending",
            "Txs waiting in the pool.",
            "gauge",
            pool.to_string(),
        ),
        (
            "cairn_sequencer_attestation_round_ms",
            "The last attestation round, from gossiping the proposal to quorum or the deadline, in milliseconds.",
            "gauge",
            m.attestation_round_ms.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_consensus_proposals_received_total",
            "Gossiped checkpoint proposals signed by their slot's proposer.",
            "counter",
            m.proposals_received.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_consensus_attestations_received_total",
            "Gossiped attestations from committee members.",
            "counter",
            m.attestations_received.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_consensus_attestations_made_total",
            "Attestations local attesters signed for other nodes' proposals.",
            "counter",
            m.attestations_made.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_p2p_blocks_received_total",
            "Blocks appended from peers' req/resp answers (catching up while L1 sync is paused).",
            "counter",
            m.blocks_from_peers.load(Ordering::Relaxed).to_string(),
        ),
        (
            "cairn_consensus_equivocations_total",
            "Slots whose proposer signed two different checkpoint proposals.",
            "counter",
            m.equivocations.load(Ordering::Relaxed).to_string(),
        ),
    ];
    let mut out = String::new();
    for (name, help, kind, v) in lines {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
        ));
    }
    let name = "cairn_pipeline_native_fallbacks_total";
    out.push_str(&format!("# HELP {name} Stage calls whose module faulted, answered by the native twin instead.\n# TYPE {name} counter\n"));
    for (s, n) in cairn_engine::Stage::ALL
        .iter()
        .zip(node.pipeline.fallbacks())
    {
        out.push_str(&format!("{name}{{stage=\"{}\"}} {n}\n", s.name()));
    }
    let name = "cairn_pipeline_stage_info";
    out.push_str(&format!("# HELP {name} The module running each stage (native: the in-process twin).\n# TYPE {name} gauge\n"));
    for (s, m) in node.pipeline.active() {
        out.push_str(&format!(
            "{name}{{stage=\"{}\",module=\"{m}\"}} 1\n",
            s.name()
        ));
    }
    out
}

fn respond(req: tiny_http::Request, status: u16, body: String, content_type: &str) {
    let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes())
        .unwrap_or_else(|_| unreachable!("static header"));
    let _ = req.respond(
        tiny_http::Response::from_string(body)
            .with_status_code(status)
            .with_header(header),
    );
}

/// `GET /status`: 200 when healthy, 500 with the reasons otherwise (both servers, no auth).
fn respond_status(req: tiny_http::Request, node: &Node) {
    let reasons = node.unhealthy();
    let code = if reasons.is_empty() { 200 } else { 500 };
    let body = json!({"healthy": reasons.is_empty(), "reasons": reasons});
    respond(req, code, body.to_string(), "application/json");
}

fn read_json(req: &mut tiny_http::Request) -> Result<Value, Value> {
    let mut body = Vec::new();
    let r = req
        .as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body);
    if r.is_err() || body.len() > MAX_BODY {
        return Err(err(
            &Value::Null,
            -32600,
            "invalid request: body unreadable or larger than 1 MiB",
            None,
        ));
    }
    serde_json::from_slice(&body)
        .map_err(|e| err(&Value::Null, -32700, &format!("parse error: {e}"), None))
}

fn dispatch(body: Value, f: &dyn Fn(&Value) -> Value) -> Value {
    match body {
        Value::Array(items) if items.is_empty() => {
            err(&Value::Null, -32600, "invalid request: empty batch", None)
        }
        Value::Array(items) if items.len() > 100 => err(
            &Value::Null,
            -32600,
            "invalid request: batch larger than 100",
            None,
        ),
        Value::Array(items) => Value::Array(items.iter().map(f).collect()),
        v @ Value::Object(_) => f(&v),
        _ => err(&Value::Null, -32600, "invalid request", None),
    }
}

fn authorised(req: &tiny_http::Request, want: &[u8; 32]) -> bool {
    req.headers().iter().any(|h| {
        let name = h.field.as_str().as_str().to_ascii_lowercase();
        let v = h.value.as_str();
        let key = match name.as_str() {
            "x-api-key" => Some(v),
            "authorization" => v.strip_prefix("Bearer "),
            _ => None,
        };
        key.is_some_and(|k| {
            let got: [u8; 32] = Sha256::digest(k.trim().as_bytes()).into();
            // Constant-time compare: the key must not leak through timing.
            got.iter().zip(want).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
        })
    })
}

/// Threads answering JSON-RPC, `/status` and `/metrics` at once: a slow request (a large
/// batch, a client that stalls sending its body) holds one of them, never `/status`.
const RPC_WORKERS: usize = 4;
/// Threads answering the admin API (a module load compiles for a while).
const ADMIN_WORKERS: usize = 2;

/// The next request, or `None` once the node stops (checked twice a second).
fn next_request(server: &tiny_http::Server, node: &Node) -> Option<tiny_http::Request> {
    loop {
        if node.stop.load(Ordering::Relaxed) {
            return None;
        }
        match server.recv_timeout(std::time::Duration::from_millis(500)) {
            Ok(Some(r)) => return Some(r),
            Ok(None) => continue,
            Err(_) => return None,
        }
    }
}

/// Starts the HTTP servers: JSON-RPC with `/status` and `/metrics` on `AZTEC_PORT`, the admin
/// API on `AZTEC_ADMIN_PORT`; each served by a few threads.
pub fn serve(node: Arc<Node>) -> Result<Vec<std::thread::JoinHandle<()>>, StartError> {
    let cfg = node.config();
    let public = tiny_http::Server::http((cfg.bind.as_str(), cfg.port)).map_err(|e| {
        StartError::Other(format!(
            "cannot listen on {}:{} (AZTEC_PORT): {e}",
            cfg.bind, cfg.port
        ))
    })?;
    let public_addr = public
        .server_addr()
        .to_ip()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let mut threads = Vec::new();
    let public = Arc::new(public);
    for w in 0..RPC_WORKERS {
        let n = node.clone();
        let server = public.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("rpc-{w}"))
                .spawn(move || {
                    while let Some(mut req) = next_request(&server, &n) {
                        let url = req.url().to_string();
                        match (req.method(), url.as_str()) {
                            (tiny_http::Method::Get, "/status") => respond_status(req, &n),
                            (tiny_http::Method::Get, "/metrics") => {
                                let t = metrics_text(&n);
                                respond(req, 200, t, "text/plain; version=0.0.4");
                            }
                            (tiny_http::Method::Post, _) => {
                                let out = match read_json(&mut req) {
                                    Ok(body) => dispatch(body, &|r| handle(&n, r)),
                                    Err(e) => e,
                                };
                                respond(req, 200, out.to_string(), "application/json");
                            }
                            _ => respond(req, 404, "not found".into(), "text/plain"),
                        }
                    }
                })
                .map_err(|e| StartError::Other(e.to_string()))?,
        );
    }
    let mut admin_addr = String::new();
    if let Some(want) = cfg.admin_key_sha256 {
        let admin = tiny_http::Server::http((cfg.bind.as_str(), cfg.admin_port)).map_err(|e| {
            StartError::Other(format!(
                "cannot listen on {}:{} (AZTEC_ADMIN_PORT): {e}",
                cfg.bind, cfg.admin_port
            ))
        })?;
        admin_addr = admin
            .server_addr()
            .to_ip()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let admin = Arc::new(admin);
        for w in 0..ADMIN_WORKERS {
            let n = node.clone();
            let server = admin.clone();
            threads.push(
            std::thread::Builder::new()
                .name(format!("admin-{w}"))
                .spawn(move || {
                    while let Some(mut req) = next_request(&server, &n) {
                        if req.url() == "/status" {
                            respond_status(req, &n);
                            continue;
                        }
                        if !authorised(&req, &want) {
                            respond(req, 401, err(&Value::Null, -32001, "unauthorised: send the admin API key as x-api-key or Authorization: Bearer", None).to_string(), "application/json");
                            continue;
                        }
                        let out = match read_json(&mut req) {
                            Ok(body) => dispatch(body, &|r| handle_admin(&n, r)),
                            Err(e) => e,
                        };
                        respond(req, 200, out.to_string(), "application/json");
                    }
                })
                .map_err(|e| StartError::Other(e.to_string()))?,
        );
        }
    }
    if let Ok(mut b) = node.bound.lock() {
        *b = (public_addr, admin_addr);
    }
    Ok(threads)
}
