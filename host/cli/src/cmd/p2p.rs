//! The bridge between the node's services and the p2p service, both on the node's runtime:
//! gossiped txs are admitted through the node's validation and proof
//! components off the reactor, and the verdict goes back to the service; txs the node accepted
//! from its RPC are published.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Result};
use cairn_node::NetworkError;
use cairn_node::Node;
use cairn_p2p::{Multiaddr, P2pConfig, P2pEvent, P2pHandle, Verdict};
use cairn_wire::reqresp::{Request, Response, Status};
use cairn_wire::{NetworkId, Topic};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::node::StartArgs;

/// Gossip messages checked at once (each on a blocking thread).
const VALIDATORS: usize = 4;
/// How long one tx request may take: a validator fetching a block's txs is inside a slot.
const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// How many peers a validator asks for missing txs before it gives up on a block.
const FETCH_PEERS: usize = 8;

struct Bridge {
    handle: P2pHandle,
    outgoing: mpsc::Sender<(Topic, Vec<u8>)>,
    runtime: tokio::runtime::Handle,
}

impl cairn_node::Network for Bridge {
    fn announce_tx(&self, tx: &[u8]) {
        // Never blocks the RPC thread: under a flood the newest txs wait in the pool for the
        // next block instead of being gossiped.
        if self.outgoing.try_send((Topic::Tx, tx.to_vec())).is_err() {
            tracing::debug!("tx gossip queue full; not announcing");
        }
    }

    fn publish(&self, topic: Topic, data: Vec<u8>) {
        if self.outgoing.try_send((topic, data)).is_err() {
            tracing::warn!(topic = topic.name(), "gossip queue full; message dropped");
        }
    }

    fn peer_id(&self) -> String {
        self.handle.peer_id.to_string()
    }

    fn listen_addrs(&self) -> Vec<String> {
        self.handle
            .listen_addrs
            .iter()
            .map(|a| a.to_string())
            .collect()
    }

    fn fetch_blocks(&self, from: u64, count: u32) -> Result<Vec<Vec<u8>>, NetworkError> {
        let handle = self.handle.clone();
        let asked = Request::BlocksByNumber { from, count };
        match self.runtime.block_on(handle.request(None, asked)) {
            Ok((_, Response::Blocks(b))) => Ok(b),
            Ok((peer, Response::Error(e))) => Err(NetworkError(format!("{peer} refused: {e}"))),
            Ok((peer, _)) => Err(NetworkError(format!("{peer} answered with something else"))),
            Err(e) => Err(NetworkError(e.to_string())),
        }
    }

    fn fetch_txs(&self, hashes: &[[u8; 32]]) -> Vec<([u8; 32], Vec<u8>)> {
        let handle = self.handle.clone();
        let mut missing: std::collections::BTreeSet<[u8; 32]> = hashes.iter().copied().collect();
        let mut found = Vec::new();
        self.runtime.block_on(async {
            let Ok(Ok(mut peers)) = tokio::time::timeout(FETCH_TIMEOUT, handle.peers()).await
            else {
                return;
            };
            peers.sort_by_key(|p| std::cmp::Reverse(p.tip));
            for peer in peers.iter().take(FETCH_PEERS) {
                let asked: Vec<[u8; 32]> = missing.iter().copied().collect();
                for chunk in asked.chunks(cairn_wire::reqresp::MAX_TXS_PER_REQUEST) {
                    let request = Request::TxsByHash(chunk.to_vec());
                    let answer =
                        tokio::time::timeout(FETCH_TIMEOUT, handle.request(Some(peer.id), request));
                    let txs = match answer.await {
                        Ok(Ok((_, Response::Txs(txs)))) => txs,
                        Ok(Ok(_)) | Ok(Err(_)) | Err(_) => {
                            tracing::debug!(peer = %peer.id, "no txs from this peer");
                            break;
                        }
                    };
                    for tx in txs {
                        // Only what was asked for: a peer cannot slip other txs in.
                        let Ok(hash) = cairn_protocol::tx::Tx::decode(&tx).map(|t| t.hash()) else {
                            continue;
                        };
                        if missing.remove(&hash) {
                            found.push((hash, tx));
                        }
                    }
                }
                if missing.is_empty() {
                    break;
                }
            }
        });
        found
    }

    fn set_status(&self, tip: u64, tip_archive: alloy_primitives::B256, proven: u64) {
        let handle = self.handle.clone();
        let status = Status {
            version: String::new(), // the service fills in its own network version
            tip,
            tip_archive,
            proven,
        };
        self.runtime
            .spawn(async move { handle.set_status(status).await });
    }

    fn stats(&self) -> cairn_node::network::NetworkStats {
        let s = &self.handle.stats;
        let n = |c: &[std::sync::atomic::AtomicU64; 4], i: usize| {
            c[i].load(std::sync::atomic::Ordering::Relaxed)
        };
        cairn_node::network::NetworkStats {
            peers: s.peers.load(std::sync::atomic::Ordering::Relaxed),
            topics: Topic::ALL
                .iter()
                .enumerate()
                .map(|(i, t)| cairn_node::network::TopicStats {
                    topic: t.name(),
                    received: n(&s.received, i),
                    accepted: n(&s.accepted, i),
                    rejected: n(&s.rejected, i),
                    ignored: n(&s.ignored, i),
                })
                .collect(),
        }
    }

    fn peers(&self) -> Vec<Value> {
        let handle = self.handle.clone();
        self.runtime
            .block_on(
                async move { tokio::time::timeout(Duration::from_secs(2), handle.peers()).await },
            )
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                json!({
                    "id": p.id.to_string(),
                    "address": p.address.to_string(),
                    "direction": if p.outbound { "outbound" } else { "inbound" },
                    "score": p.score,
                    "tip": p.tip,
                })
            })
            .collect()
    }
}

/// Starts the service for `node` on the node's runtime, with the flags of `cairn start`; it
/// stops with the node (its cancellation token).
pub fn start(
    node: &Arc<Node>,
    args: &StartArgs,
    bootstrap: Vec<Multiaddr>,
    runtime: &tokio::runtime::Handle,
) -> Result<()> {
    let cfg = node.config();
    let ip = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v4) => format!("/ip4/{v4}"),
        std::net::IpAddr::V6(v6) => format!("/ip6/{v6}"),
    };
    let listen: Multiaddr = format!("{}/tcp/{}", ip(args.p2p_listen_addr), args.p2p_port)
        .parse()
        .map_err(|e| anyhow!("P2P_LISTEN_ADDR/P2P_PORT: {e}"))?;
    let announce = match args.p2p_ip {
        Some(a) => Some(
            format!("{}/tcp/{}", ip(a), args.p2p_port)
                .parse()
                .map_err(|e| anyhow!("P2P_IP: {e}"))?,
        ),
        None => None,
    };
    let p2p_cfg = P2pConfig {
        network: NetworkId {
            chain_id: node.l1.chain_id(),
            rollup: cfg.rollup,
            rollup_version: cfg.rollup_version,
        },
        listen,
        announce,
        bootstrap,
        identity_file: cfg.data_dir.join("p2p").join("identity.key"),
        heartbeat: Duration::from_millis(700),
        max_peers: args.p2p_max_peers,
    };
    let (handle, mut events, _task) = runtime
        .block_on(cairn_p2p::start(
            p2p_cfg,
            node.shutdown_token().child_token(),
        ))
        .map_err(|e| anyhow!("{e}"))?;
    tracing::info!(peer_id = %handle.peer_id, listen = ?handle.listen_addrs, "p2p service listening");
    let (outgoing, mut to_publish) = mpsc::channel::<(Topic, Vec<u8>)>(1024);
    let bridge = Bridge {
        handle: handle.clone(),
        outgoing,
        runtime: runtime.clone(),
    };
    if node.network.set(Box::new(bridge)).is_err() {
        return Err(anyhow!("the p2p service was started twice"));
    }
    let publisher = handle.clone();
    runtime.spawn(async move {
        while let Some((topic, data)) = to_publish.recv().await {
            if let Err(e) = publisher.publish(topic, data).await {
                // No peer yet: a tx still waits in this node's pool; a proposal's round ends
                // at its deadline with the local attestations only.
                tracing::debug!(topic = topic.name(), error = %e, "not gossiped");
            }
        }
    });
    let node = node.clone();
    let permits = Arc::new(tokio::sync::Semaphore::new(VALIDATORS));
    runtime.spawn(async move {
        while let Some(event) = events.recv().await {
            let (topic, id, from, data) = match event {
                P2pEvent::Message {
                    topic,
                    id,
                    from,
                    data,
                } => (topic, id, from, data),
                P2pEvent::Request { peer, id, request } => {
                    let (n, h) = (node.clone(), handle.clone());
                    // Reading blocks and the pool touches the store: off the reactor.
                    tokio::spawn(async move {
                        let response = tokio::task::spawn_blocking(move || n.serve(&request))
                            .await
                            .unwrap_or_else(|_| Response::Error("internal error".into()));
                        tracing::debug!(%peer, "answered a request");
                        h.respond(id, response).await;
                    });
                    continue;
                }
                _ => continue,
            };
            // Checks run concurrently (a re-execution does not hold up tx gossip), at most
            // VALIDATORS at a time: under a flood the channel fills and the service drops the
            // excess unforwarded.
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let (node, handle) = (node.clone(), handle.clone());
            tokio::spawn(async move {
                let verdict = match topic {
                    Topic::Tx => {
                        let n = node.clone();
                        // Validation and proof verification run the stage components: CPU work,
                        // kept off the reactor.
                        match tokio::task::spawn_blocking(move || n.admit_tx(&data)).await {
                            Ok(Ok(_)) => Verdict::Accept,
                            Ok(Err(e)) if e.senders_fault() => {
                                tracing::debug!(peer = %from, code = e.code(), error = %e, "gossiped tx rejected");
                                Verdict::Reject
                            }
                            // Not the sender's fault: known already, no room here, or a local
                            // storage failure.
                            Ok(Err(_)) | Err(_) => Verdict::Ignore,
                        }
                    }
                    Topic::BlockProposal
                    | Topic::CheckpointProposal
                    | Topic::CheckpointAttestation => {
                        let n = node.clone();
                        // Re-execution and signature recovery: CPU work, off the reactor.
                        let result = tokio::task::spawn_blocking(move || match topic {
                            Topic::BlockProposal => n.on_block_proposal(&data),
                            Topic::CheckpointProposal => n.on_proposal(&data),
                            _ => n.on_attestation(&data),
                        })
                        .await;
                        match result {
                            Ok(Ok(())) => Verdict::Accept,
                            Ok(Err(e)) if e.penalises() => {
                                tracing::warn!(peer = %from, topic = topic.name(), error = %e, "consensus message rejected");
                                Verdict::Reject
                            }
                            Ok(Err(e)) => {
                                tracing::debug!(peer = %from, topic = topic.name(), error = %e, "consensus message ignored");
                                Verdict::Ignore
                            }
                            Err(_) => Verdict::Ignore,
                        }
                    }
                };
                handle.report(id, from, topic, verdict).await;
                drop(permit);
            });
        }
    });
    Ok(())
}
