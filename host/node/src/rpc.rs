//! HTTP: JSON-RPC 2.0 (`node_*`) with `GET /status` and `GET /metrics` on `AZTEC_PORT`, and the
//! admin namespace (`nodeAdmin_*`) on `AZTEC_ADMIN_PORT` behind an API key.

use std::io::Read;
use std::sync::Arc;

use ark_bn254::Fr;
use cairn_protocol::field::fr_to_hex;
use cairn_protocol::merkle::IndexedTree;
use cairn_protocol::state::WorldState;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use tokio_util::sync::CancellationToken;

use crate::api::{AdminApi, PublicApi, TxLookup};
use crate::error::StartError;
use crate::statedb::TreeId;

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

/// A store failure answered as what it is, never as an empty result.
fn internal(id: &Value, e: &dyn std::fmt::Display) -> Value {
    err(id, -32603, &format!("internal error: {e}"), None)
}

fn modules_json(stages: &[(cairn_engine::Stage, String, Option<u64>)]) -> Value {
    json!(stages
        .iter()
        .map(|(s, m, since)| json!({"stage": s.name(), "module": m, "component": m != "native", "sinceBlock": since}))
        .collect::<Vec<_>>())
}

/// The state a read of `tree` is answered from: by default the latest block on L1's (proposed
/// blocks may still be rolled back, and a wallet must not anchor to one), or with `at` the
/// state after block `at`, within the blocks whose undo records are kept (at least the anchor
/// window; only `tree` is taken back). `Err` is the JSON-RPC error to answer with.
fn state_at(
    id: &Value,
    chain: &crate::chain::Chain,
    at: Option<&Value>,
    tree: TreeId,
) -> Result<(Arc<WorldState>, u64), Value> {
    let tip = chain.tip();
    let at = match at {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(b) => Some(b),
            None => {
                return Err(err(
                    id,
                    -32602,
                    "invalid params: the block number must be a non-negative integer",
                    None,
                ))
            }
        },
    };
    let at = at.unwrap_or_else(|| chain.checkpointed_tip());
    match Some(at).filter(|b| *b < tip) {
        None => Ok((chain.state.clone(), tip)),
        Some(b) => match chain
            .stored
            .as_ref()
            .and_then(|s| s.world_at(b, &chain.state, &[tree]))
        {
            Some(w) => Ok((Arc::new(w), b)),
            None => Err(err(
                id,
                -32602,
                &format!(
                    "invalid params: state is served for the last {} blocks; block {b} is older",
                    cairn_protocol::state::ANCHOR_WINDOW
                ),
                None,
            )),
        },
    }
}

/// An indexed-tree leaf with its index and path.
fn indexed_witness(tree: &IndexedTree, index: u64, block: u64) -> Value {
    let leaf = tree.leaf(index).unwrap_or_default();
    json!({
        "index": index,
        "blockNumber": block,
        "leaf": {
            "value": fr_to_hex(&leaf.value),
            "payload": fr_to_hex(&leaf.payload),
            "nextValue": fr_to_hex(&leaf.next_value),
            "nextIndex": leaf.next_index,
        },
        "root": fr_to_hex(&tree.root()),
        "siblings": tree.path(index).siblings.iter().map(fr_to_hex).collect::<Vec<_>>(),
    })
}

fn field_param(p: &Value) -> Option<Fr> {
    cairn_protocol::field::fr_from_hex(p.as_str()?)
}

fn hash_param(p: &Value) -> Option<[u8; 32]> {
    let s = p.as_str()?;
    let b = hex::decode(s.strip_prefix("0x").unwrap_or(s)).ok()?;
    b.try_into().ok()
}

fn block_json(chain: &crate::chain::Chain, n: u64) -> Value {
    let Some(b) = chain.block(n) else {
        return Value::Null;
    };
    let h = &b.header;
    // Blocks of a checkpoint are contiguous: the first follows the previous checkpoint's last.
    let index = b
        .checkpoint
        .checked_sub(1)
        .and_then(|c| chain.last_block_of(c))
        .map(|before| n - before - 1);
    json!({
        "number": n,
        "checkpoint": b.checkpoint,
        "indexWithinCheckpoint": index,
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
        "status": b.status.name(),
    })
}

/// Handles one public JSON-RPC call.
pub fn handle(node: &dyn PublicApi, req: &Value) -> Value {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return err(&id, -32600, "invalid request: no method", None);
    };
    let params = req.get("params").cloned().unwrap_or(json!([]));
    let p0 = params.get(0).cloned().unwrap_or(Value::Null);
    match method {
        "node_getL2Tips" => ok(&id, crate::node::tips_json(&node.chain())),
        "node_getBlockNumber" => ok(&id, json!(node.chain().checkpointed_tip())),
        "node_getBlock" => match p0.as_u64() {
            Some(n) => ok(&id, block_json(&node.chain(), n)),
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
                Err(e) => err(
                    &id,
                    -32000,
                    &format!("tx rejected: {e}"),
                    Some(json!({"reason": e.code()})),
                ),
            }
        }
        "node_getTxReceipt" => match hash_param(&p0) {
            Some(h) => match node.tx(&h) {
                Ok(TxLookup::Pending(_, Some(note))) => ok(
                    &id,
                    serde_json::from_slice(&note)
                        .unwrap_or_else(|_| json!({"status": "pending", "txHash": p0})),
                ),
                Ok(TxLookup::Pending(_, None)) => {
                    ok(&id, json!({"status": "pending", "txHash": p0}))
                }
                Ok(TxLookup::Settled(b)) => {
                    ok(&id, serde_json::from_slice(&b).unwrap_or(Value::Null))
                }
                Ok(TxLookup::Unknown) => ok(&id, json!({"status": "unknown", "txHash": p0})),
                Err(e) => internal(&id, &e),
            },
            None => err(
                &id,
                -32602,
                "invalid params: 32-byte tx hash expected",
                None,
            ),
        },
        "node_getTxByHash" => match hash_param(&p0) {
            Some(h) => {
                // A settled tx is found through its receipt's block, not by scanning the chain.
                let found = match node.tx(&h) {
                    Ok(TxLookup::Pending(t, _)) => Some(t),
                    Ok(TxLookup::Settled(r)) => serde_json::from_slice::<Value>(&r)
                        .ok()
                        .and_then(|r| r["blockNumber"].as_u64())
                        .and_then(|n| node.chain().block(n))
                        .and_then(|b| {
                            b.txs
                                .iter()
                                .find(|t| {
                                    cairn_protocol::tx::Tx::decode(t).map(|x| x.hash()) == Ok(h)
                                })
                                .cloned()
                        }),
                    Ok(TxLookup::Unknown) => None,
                    Err(e) => return internal(&id, &e),
                };
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
        "node_getPendingTxCount" => match node.pending_count() {
            Ok(n) => ok(&id, json!(n)),
            Err(e) => internal(&id, &e),
        },
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
                    match state_at(&id, &node.chain(), params.get(2), TreeId::PublicData) {
                        Ok((state, _)) => ok(&id, json!(fr_to_hex(&state.read_slot(&c, &s)))),
                        Err(e) => e,
                    }
                }
                _ => err(
                    &id,
                    -32602,
                    "invalid params: [contract, slot, blockNumber?] as hex words expected",
                    None,
                ),
            }
        }
        "node_getBlockHeader" => {
            let chain = node.chain();
            let info = node.info();
            // What a wallet builds against: the newest anchor L1 holds (a proposed block's may
            // be rolled back, which would drop the tx) and the block number for expiry.
            let latest = chain.checkpointed_tip();
            ok(
                &id,
                json!({
                    "number": latest,
                    "anchor": format!("{:#x}", chain.archive_at(latest)),
                    "chainId": info.l1_chain_id,
                    "rollupVersion": info.rollup_version,
                }),
            )
        }
        "node_getNoteHashMembershipWitness" => match p0.as_u64() {
            Some(index) => {
                // Optionally at an older block: a wallet that anchored its tx there.
                let (state, block) =
                    match state_at(&id, &node.chain(), params.get(1), TreeId::Notes) {
                        Ok(s) => s,
                        Err(e) => return e,
                    };
                let notes = &state.notes;
                if index >= notes.len() {
                    return err(
                        &id,
                        -32602,
                        &format!("invalid params: no note at index {index} at block {block}"),
                        None,
                    );
                }
                let path = notes.path(index);
                ok(
                    &id,
                    json!({
                        "index": index,
                        "blockNumber": block,
                        "anchor": fr_to_hex(&state.latest_anchor()),
                        "noteRoot": fr_to_hex(&notes.root()),
                        "siblings": path.siblings.iter().map(fr_to_hex).collect::<Vec<_>>(),
                    }),
                )
            }
            None => err(&id, -32602, "invalid params: a leaf index expected", None),
        },
        // [value, blockNumber?]: the leaf holding a nullifier (null if absent), the low leaf
        // proving it absent (null if present), and a public-data slot's leaf or low leaf.
        "node_getNullifierMembershipWitness"
        | "node_getLowNullifierMembershipWitness"
        | "node_getPublicDataWitness" => {
            let Some(value) = field_param(&p0) else {
                return err(
                    &id,
                    -32602,
                    "invalid params: [value as a hex field element, blockNumber?] expected",
                    None,
                );
            };
            let which = if method == "node_getPublicDataWitness" {
                TreeId::PublicData
            } else {
                TreeId::Nullifiers
            };
            let (state, block) = match state_at(&id, &node.chain(), params.get(1), which) {
                Ok(s) => s,
                Err(e) => return e,
            };
            let (tree, want_member) = match method {
                "node_getNullifierMembershipWitness" => (&state.nullifiers, Some(true)),
                "node_getLowNullifierMembershipWitness" => (&state.nullifiers, Some(false)),
                _ => (&state.public_data, None),
            };
            let member = tree.index_of(&value);
            let index = match (member, want_member) {
                (Some(i), Some(true) | None) => i,
                (None, Some(false) | None) => match tree.non_membership(&value) {
                    Some(low) => low.path.index,
                    // Only zero has no low leaf: it is the sentinel, never a member.
                    None => return ok(&id, Value::Null),
                },
                _ => return ok(&id, Value::Null),
            };
            let mut w = indexed_witness(tree, index, block);
            w["exists"] = json!(member.is_some());
            ok(&id, w)
        }
        "node_getCurrentMinFees" => match node.min_fee() {
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
        "node_isReady" => ok(&id, json!(node.health().is_empty())),
        "node_getNodeInfo" => {
            let info = node.info();
            let (peer_id, listen) = match info.p2p {
                Some((id, addrs)) => (Some(id), addrs),
                None => (None, Vec::new()),
            };
            ok(
                &id,
                json!({
                    "nodeVersion": env!("CARGO_PKG_VERSION"),
                    "l1ChainId": info.l1_chain_id,
                    "rollupVersion": info.rollup_version,
                    "l1ContractAddresses": {"rollupAddress": format!("{:#x}", info.rollup)},
                    "attesters": info.attesters.iter().map(|a| a.to_checksum(None)).collect::<Vec<_>>(),
                    "stages": modules_json(&info.stages),
                    "peerId": peer_id,
                    "listenAddresses": listen,
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
        "p2p_getPeers" => match node.peers() {
            Some(p) => ok(&id, json!(p)),
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
pub fn handle_admin(node: &dyn AdminApi, req: &Value) -> Value {
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
            // Every setting is checked before any is applied: a bad one changes nothing.
            // Some(None): remove the cap.
            let mut max_txs: Option<Option<usize>> = None;
            let mut poll = None;
            for (k, v) in obj {
                match (k.as_str(), v.as_u64()) {
                    ("maxTxsPerBlock", Some(n)) if n > 0 => max_txs = Some(Some(n as usize)),
                    ("maxTxsPerBlock", None) if v.is_null() => max_txs = Some(None),
                    ("pollMs", Some(n)) if n >= 50 => {
                        poll = Some(std::time::Duration::from_millis(n))
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
            node.update_config(&mut |cfg| {
                if let Some(n) = max_txs {
                    cfg.max_txs_per_block = n;
                }
                if let Some(p) = poll {
                    cfg.poll = p;
                }
            });
            ok(&id, json!(true))
        }
        "nodeAdmin_pauseSync" => {
            node.pause_sync(true);
            ok(&id, json!(true))
        }
        "nodeAdmin_resumeSync" => {
            node.pause_sync(false);
            ok(&id, json!(true))
        }
        "nodeAdmin_listModules" => ok(&id, modules_json(&node.modules())),
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
                .activate_modules()
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
        "nodeAdmin_armFaultPoint" => match params.get(0).and_then(Value::as_str) {
            Some(p) if crate::sequencer::arm_fault_point(p) => ok(&id, json!(p)),
            _ => err(
                &id,
                -32602,
                &format!(
                    "invalid params: one of {:?}, {:?} or {:?} expected",
                    crate::sequencer::FAULT_POINTS,
                    crate::sequencer::FAIL_POINTS,
                    crate::sequencer::SWITCHES
                ),
                None,
            ),
        },
        m => err(&id, -32601, &format!("method not found: {m}"), None),
    }
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
fn respond_status(req: tiny_http::Request, reasons: Vec<String>) {
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

/// Where the servers listen and the admin key's hash (`None`: no admin API).
pub struct HttpConfig {
    /// Bind address.
    pub bind: String,
    /// `AZTEC_PORT` (0: a free port).
    pub port: u16,
    /// `AZTEC_ADMIN_PORT` (0: a free port).
    pub admin_port: u16,
    /// SHA-256 of the admin API key.
    pub admin_key_sha256: Option<[u8; 32]>,
}

/// The running servers.
pub struct Servers {
    /// Their worker threads (they stop with the token given to [`serve`]).
    pub threads: Vec<std::thread::JoinHandle<()>>,
    /// Where JSON-RPC listens.
    pub rpc_addr: String,
    /// Where the admin API listens (empty: no admin API).
    pub admin_addr: String,
}

/// The next request, or `None` once the node stops (checked twice a second).
fn next_request(
    server: &tiny_http::Server,
    stop: &CancellationToken,
) -> Option<tiny_http::Request> {
    loop {
        if stop.is_cancelled() {
            return None;
        }
        match server.recv_timeout(std::time::Duration::from_millis(500)) {
            Ok(Some(r)) => return Some(r),
            Ok(None) => continue,
            Err(_) => return None,
        }
    }
}

fn worker(
    name: String,
    f: impl FnOnce() + Send + 'static,
) -> Result<std::thread::JoinHandle<()>, StartError> {
    std::thread::Builder::new()
        .name(name)
        .spawn(f)
        .map_err(|e| StartError::Other(format!("cannot start an HTTP worker: {e}")))
}

/// Starts the HTTP servers: JSON-RPC with `/status` and `/metrics` on `AZTEC_PORT`, the admin
/// API on `AZTEC_ADMIN_PORT`; each served by a few threads that stop with `stop`.
pub fn serve(
    public_api: Arc<dyn PublicApi>,
    admin_api: Arc<dyn AdminApi>,
    cfg: &HttpConfig,
    stop: CancellationToken,
) -> Result<Servers, StartError> {
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
        let (api, server, stop) = (public_api.clone(), public.clone(), stop.clone());
        threads.push(worker(format!("rpc-{w}"), move || {
            while let Some(mut req) = next_request(&server, &stop) {
                let url = req.url().to_string();
                match (req.method(), url.as_str()) {
                    (tiny_http::Method::Get, "/status") => respond_status(req, api.health()),
                    (tiny_http::Method::Get, "/metrics") => {
                        respond(req, 200, api.metrics(), "text/plain; version=0.0.4");
                    }
                    (tiny_http::Method::Post, _) => {
                        let out = match read_json(&mut req) {
                            Ok(body) => dispatch(body, &|r| handle(api.as_ref(), r)),
                            Err(e) => e,
                        };
                        respond(req, 200, out.to_string(), "application/json");
                    }
                    _ => respond(req, 404, "not found".into(), "text/plain"),
                }
            }
        })?);
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
            let (api, server, stop) = (admin_api.clone(), admin.clone(), stop.clone());
            threads.push(worker(format!("admin-{w}"), move || {
                while let Some(mut req) = next_request(&server, &stop) {
                    if req.url() == "/status" {
                        respond_status(req, api.health());
                        continue;
                    }
                    if !authorised(&req, &want) {
                        respond(req, 401, err(&Value::Null, -32001, "unauthorised: send the admin API key as x-api-key or Authorization: Bearer", None).to_string(), "application/json");
                        continue;
                    }
                    let out = match read_json(&mut req) {
                        Ok(body) => dispatch(body, &|r| handle_admin(api.as_ref(), r)),
                        Err(e) => e,
                    };
                    respond(req, 200, out.to_string(), "application/json");
                }
            })?);
        }
    }
    Ok(Servers {
        threads,
        rpc_addr: public_addr,
        admin_addr,
    })
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::sync::{Condvar, Mutex};
    use std::time::{Duration, Instant};

    use cairn_engine::{Stage, SwapReport};
    use cairn_protocol::state::WorldState;

    use super::*;
    use crate::api::NodeInfo;
    use crate::chain::Chain;
    use crate::config::NodeConfig;
    use crate::error::NodeError;
    use crate::pool::TxRejected;
    use crate::store::StoreError;

    /// A backend whose fee read blocks until released and whose store fails: the servers see
    /// only the traits, so this is all they need.
    struct Fake {
        released: Mutex<bool>,
        cv: Condvar,
        /// Calls now inside `min_fee` (each holding an HTTP worker).
        waiting: std::sync::atomic::AtomicUsize,
    }

    impl PublicApi for Fake {
        fn chain(&self) -> Arc<Chain> {
            Arc::new(Chain::new(WorldState::new()))
        }
        fn submit_tx(&self, _: &[u8]) -> Result<[u8; 32], TxRejected> {
            Err(TxRejected::Full { max: 1 })
        }
        fn tx(&self, _: &[u8; 32]) -> Result<TxLookup, StoreError> {
            Err(StoreError::for_test("disk on fire"))
        }
        fn pending_count(&self) -> Result<u64, StoreError> {
            Err(StoreError::for_test("disk on fire"))
        }
        fn min_fee(&self) -> Result<u128, NodeError> {
            self.waiting
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut r = self.released.lock().unwrap();
            while !*r {
                r = self.cv.wait(r).unwrap();
            }
            Ok(7)
        }
        fn health(&self) -> Vec<String> {
            vec![]
        }
        fn info(&self) -> NodeInfo {
            unimplemented!("not called")
        }
        fn validators_stats(&self, _: u64) -> Result<Value, NodeError> {
            Err(NodeError::Stopped)
        }
        fn peers(&self) -> Option<Vec<Value>> {
            None
        }
        fn metrics(&self) -> String {
            String::new()
        }
    }

    impl AdminApi for Fake {
        fn health(&self) -> Vec<String> {
            vec![]
        }
        fn config(&self) -> NodeConfig {
            unimplemented!("not called")
        }
        fn update_config(&self, _: &mut dyn FnMut(&mut NodeConfig)) {}
        fn pause_sync(&self, _: bool) {}
        fn modules(&self) -> Vec<(Stage, String, Option<u64>)> {
            vec![]
        }
        fn load_module(&self, _: Stage, _: &[u8]) -> Result<SwapReport, NodeError> {
            Err(NodeError::Stopped)
        }
        fn activate_modules(&self) -> Vec<Stage> {
            vec![]
        }
        fn rollback_module(&self, _: Stage) -> Result<String, NodeError> {
            Err(NodeError::Stopped)
        }
    }

    fn call(fake: &Fake, method: &str) -> Value {
        handle(
            fake,
            &json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": ["0x" .to_string() + &"11".repeat(32)]}),
        )
    }

    #[test]
    fn a_store_failure_is_an_internal_error_not_an_empty_answer() {
        let fake = Fake {
            released: Mutex::new(true),
            cv: Condvar::new(),
            waiting: Default::default(),
        };
        for m in [
            "node_getTxReceipt",
            "node_getTxByHash",
            "node_getPendingTxCount",
        ] {
            let r = call(&fake, m);
            assert_eq!(r["error"]["code"], -32603, "{m}: {r}");
            assert!(r["error"]["message"]
                .as_str()
                .unwrap()
                .contains("disk on fire"));
        }
        let r = call(&fake, "node_sendTx");
        assert_eq!(r["error"]["data"]["reason"], "pool-full", "{r}");
    }

    #[test]
    fn indexed_tree_witnesses_prove_what_they_answer() {
        use cairn_protocol::merkle::{IndexedLeaf, NonMembership, Path};
        let fake = Fake {
            released: Mutex::new(true),
            cv: Condvar::new(),
            waiting: Default::default(),
        };
        let ask = |method: &str, params: Value| {
            handle(
                &fake,
                &json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
            )
        };
        let root = fr_to_hex(&WorldState::new().nullifiers.root());
        // Nothing but the sentinel: 5 is absent, proven by leaf 0 (at the tip, block 0, also
        // when an older block is asked for that the chain does not have yet).
        let low = ask("node_getLowNullifierMembershipWitness", json!(["0x05", 3]));
        let w = &low["result"];
        assert_eq!(w["index"], 0, "{low}");
        assert_eq!(w["blockNumber"], 0);
        assert_eq!(w["exists"], false);
        assert_eq!(w["root"], json!(root));
        let f = |v: &Value| cairn_protocol::field::fr_from_hex(v.as_str().unwrap()).unwrap();
        let proof = NonMembership {
            low: IndexedLeaf {
                value: f(&w["leaf"]["value"]),
                payload: f(&w["leaf"]["payload"]),
                next_value: f(&w["leaf"]["nextValue"]),
                next_index: w["leaf"]["nextIndex"].as_u64().unwrap(),
            },
            path: Path {
                index: 0,
                siblings: w["siblings"].as_array().unwrap().iter().map(f).collect(),
            },
        };
        assert!(proof.verify(f(&w["root"]), Fr::from(5u64)));
        assert_eq!(
            ask("node_getNullifierMembershipWitness", json!(["0x05"]))["result"],
            Value::Null
        );
        let pd = ask("node_getPublicDataWitness", json!(["0x05"]));
        assert_eq!(pd["result"]["exists"], false, "{pd}");
        for bad in [json!([]), json!(["zz"]), json!(["0x05", "latest"])] {
            let r = ask("node_getPublicDataWitness", bad.clone());
            assert_eq!(r["error"]["code"], -32602, "{bad}: {r}");
        }
    }

    fn http(addr: &str, request: &str) -> String {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn status_answers_while_every_other_worker_is_busy_and_servers_stop_with_the_token() {
        let fake = Arc::new(Fake {
            released: Mutex::new(false),
            cv: Condvar::new(),
            waiting: Default::default(),
        });
        let stop = CancellationToken::new();
        let cfg = HttpConfig {
            bind: "127.0.0.1".into(),
            port: 0,
            admin_port: 0,
            admin_key_sha256: None,
        };
        let servers = serve(fake.clone(), fake.clone(), &cfg, stop.clone()).unwrap();
        let addr = servers.rpc_addr.clone();
        // Hold all but one worker in a slow call.
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"node_getCurrentMinFees"}"#;
        let slow: Vec<_> = (0..RPC_WORKERS - 1)
            .map(|_| {
                let (addr, req) = (
                    addr.clone(),
                    format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
                );
                std::thread::spawn(move || http(&addr, &req))
            })
            .collect();
        // Every worker but one is busy before /status is asked.
        let until = Instant::now() + Duration::from_secs(10);
        while fake.waiting.load(std::sync::atomic::Ordering::SeqCst) < RPC_WORKERS - 1 {
            assert!(
                Instant::now() < until,
                "the slow calls never reached the backend"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let t0 = Instant::now();
        let status = http(
            &addr,
            "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        assert!(status.contains(r#""healthy":true"#), "{status}");
        assert!(t0.elapsed() < Duration::from_secs(5));
        *fake.released.lock().unwrap() = true;
        fake.cv.notify_all();
        for s in slow {
            assert!(s.join().unwrap().contains(r#""feePerL2Gas":"7""#));
        }
        stop.cancel();
        for t in servers.threads {
            t.join().unwrap();
        }
    }
}
