//! cairn's p2p service: one tokio task owns the libp2p swarm (TCP, Noise, yamux, identify,
//! ping, gossipsub) and everything it knows about peers. The rest of the node holds a cloneable
//! [`P2pHandle`] to publish, report validation verdicts and read peers, and receives
//! [`P2pEvent`]s on a channel, as in Lighthouse's network service: no one else touches the
//! swarm, and the task stops when its cancellation token fires.
//!
//! Gossip uses manual validation: a received message is not forwarded until the node has
//! checked it and reported [`Verdict::Accept`]; [`Verdict::Reject`] drops it and penalises the
//! peer that sent it. Payloads are snappy-compressed, and the size a sender declares is checked
//! against the topic's cap before anything is decompressed (`cairn_wire::decompress`). Messages
//! carry no libp2p signature or author (`StrictNoSign`, as Aztec's network): authenticity comes
//! from the application's own signatures. Only standard libp2p wire protocols are spoken, so
//! any libp2p implementation can connect.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod reqresp;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cairn_wire::reqresp::{Request, Response, Status};
use cairn_wire::{NetworkId, Topic};
use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, DataTransform, MessageAcceptance, MessageId, TopicHash};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    allow_block_list, connection_limits, identify, identity, noise, ping, tcp, yamux, Swarm,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub use libp2p::gossipsub::MessageId as GossipId;
pub use libp2p::{Multiaddr, PeerId};

/// How the service starts.
#[derive(Debug, Clone)]
pub struct P2pConfig {
    /// The network: it names the topics, so nodes of other networks never share them.
    pub network: NetworkId,
    /// Where to listen (`/ip4/0.0.0.0/tcp/40400`; port 0 picks a free one).
    pub listen: Multiaddr,
    /// The address announced to peers (`P2P_IP`), if not the listen address.
    pub announce: Option<Multiaddr>,
    /// Peers to dial at start (multiaddrs ending in `/p2p/<peer id>`).
    pub bootstrap: Vec<Multiaddr>,
    /// The node's persistent identity (created 0600 if missing).
    pub identity_file: PathBuf,
    /// Gossip heartbeat (Aztec: 700 ms).
    pub heartbeat: Duration,
    /// `P2P_MAX_PEERS`: most established connections (inbound ones beyond it are refused).
    pub max_peers: u32,
}

/// Penalties after which a peer is banned (disconnected, never accepted again while this
/// process runs), whatever its score. Each penalty also lowers its gossipsub application score,
/// and a rejected gossip message counts as an invalid delivery in its topic score, so a peer is
/// usually banned sooner, when its score reaches the graylist threshold.
pub const BAN_AFTER_REJECTS: u32 = 5;

/// libp2p's default graylist threshold: at or below it a peer is banned.
const GRAYLIST: f64 = -80.0;

/// Score a peer's application component loses per rejected message.
const PENALTY_PER_REJECT: f64 = -10.0;

/// How long a request waits for its answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How often peers that are not connected (bootstrap peers, peers met before) are redialled.
const REDIAL_EVERY: Duration = Duration::from_secs(5);

/// Why the service did not start.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// The identity file cannot be read, parsed or written.
    #[error("p2p identity {path}: {reason}")]
    Identity {
        /// The file.
        path: String,
        /// What went wrong and what to do.
        reason: String,
    },
    /// The transport or a behaviour could not be built.
    #[error("p2p setup: {0}")]
    Setup(String),
    /// The listen address is unusable (taken, malformed).
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// A request got no usable answer.
    #[error("request to {peer}: {reason}")]
    Request {
        /// The peer asked (none if no peer could be).
        peer: String,
        /// What went wrong.
        reason: String,
    },
    /// The service has stopped.
    #[error("the p2p service has stopped")]
    Stopped,
}

/// The node's verdict on a gossip message, after its own checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: forward it.
    Accept,
    /// Invalid: drop it and penalise the peer that sent it.
    Reject,
    /// Not useful (duplicate, too old): drop it without a penalty.
    Ignore,
}

/// What the service tells the node.
#[derive(Debug, Clone)]
pub enum P2pEvent {
    /// A gossip message waiting for the node's [`Verdict`] (decompressed, within its topic's cap).
    Message {
        /// The topic.
        topic: Topic,
        /// Its id, to report the verdict with.
        id: MessageId,
        /// The peer that forwarded it (not necessarily its author).
        from: PeerId,
        /// The payload.
        data: Vec<u8>,
    },
    /// A peer connected.
    PeerConnected(PeerId),
    /// A peer's last connection closed.
    PeerDisconnected(PeerId),
    /// A peer was banned for sending invalid messages ([`BAN_AFTER_REJECTS`]) or for being
    /// on another network.
    PeerBanned(PeerId),
    /// A peer asks for blocks or txs: answer with [`P2pHandle::respond`] (status requests are
    /// answered by the service from [`P2pHandle::set_status`]).
    Request {
        /// Who asks.
        peer: PeerId,
        /// Answer with this id.
        id: u64,
        /// What it asks for.
        request: Request,
    },
}

/// A connected peer, as `p2p_getPeers` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerInfo {
    /// Its id.
    pub id: PeerId,
    /// The address of the connection.
    pub address: Multiaddr,
    /// Whether we dialled it.
    pub outbound: bool,
    /// Its gossipsub score.
    pub score: f64,
    /// Its tip, from the status handshake (None until it answered).
    pub tip: Option<u64>,
}

enum Command {
    Publish {
        topic: Topic,
        data: Vec<u8>,
        done: oneshot::Sender<Result<MessageId, String>>,
    },
    Report {
        id: MessageId,
        from: PeerId,
        topic: Topic,
        verdict: Verdict,
    },
    Peers(oneshot::Sender<Vec<PeerInfo>>),
    SetStatus(Status),
    Request {
        peer: Option<PeerId>,
        request: Request,
        done: oneshot::Sender<Result<(PeerId, Response), P2pError>>,
    },
    Respond {
        id: u64,
        response: Response,
    },
}

/// What the service counts, per topic in the order of [`Topic::ALL`]; it is the only writer,
/// the node's `/metrics` reads it.
#[derive(Debug, Default)]
pub struct P2pStats {
    /// Connected peers now.
    pub peers: AtomicU64,
    /// Gossip messages handed to the node for validation.
    pub received: [AtomicU64; 4],
    /// Accepted by the node (forwarded).
    pub accepted: [AtomicU64; 4],
    /// Rejected by the node (the sender is penalised).
    pub rejected: [AtomicU64; 4],
    /// Ignored by the node (not forwarded, no penalty), or dropped unvalidated because the
    /// node was not keeping up.
    pub ignored: [AtomicU64; 4],
}

impl P2pStats {
    fn bump(counters: &[AtomicU64; 4], topic: Topic) {
        if let Some(i) = Topic::ALL.iter().position(|t| *t == topic) {
            counters[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The node's side of the service: cheap to clone, usable from any task.
#[derive(Clone)]
pub struct P2pHandle {
    commands: mpsc::Sender<Command>,
    /// Counters (peers, gossip per topic and verdict).
    pub stats: Arc<P2pStats>,
    /// This node's peer id.
    pub peer_id: PeerId,
    /// The addresses it listens on (resolved: port 0 replaced by the real port).
    pub listen_addrs: Vec<Multiaddr>,
}

impl P2pHandle {
    /// Publishes `data` (uncompressed) on `topic`. Fails when no peer subscribes to it yet.
    pub async fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<MessageId, P2pError> {
        let (done, rx) = oneshot::channel();
        self.commands
            .send(Command::Publish { topic, data, done })
            .await
            .map_err(|_| P2pError::Stopped)?;
        rx.await
            .map_err(|_| P2pError::Stopped)?
            .map_err(P2pError::Setup)
    }

    /// Reports the node's verdict on a received message.
    pub async fn report(&self, id: MessageId, from: PeerId, topic: Topic, verdict: Verdict) {
        let _ = self
            .commands
            .send(Command::Report {
                id,
                from,
                topic,
                verdict,
            })
            .await;
    }

    /// Sets the status this node announces in handshakes (its tips).
    pub async fn set_status(&self, status: Status) {
        let _ = self.commands.send(Command::SetStatus(status)).await;
    }

    /// Sends `request` to `peer`, or to the connected peer with the highest tip, and waits for
    /// the answer (the request times out after [`REQUEST_TIMEOUT`]).
    pub async fn request(
        &self,
        peer: Option<PeerId>,
        request: Request,
    ) -> Result<(PeerId, Response), P2pError> {
        let (done, rx) = oneshot::channel();
        self.commands
            .send(Command::Request {
                peer,
                request,
                done,
            })
            .await
            .map_err(|_| P2pError::Stopped)?;
        rx.await.map_err(|_| P2pError::Stopped)?
    }

    /// Answers the inbound request `id` of a [`P2pEvent::Request`].
    pub async fn respond(&self, id: u64, response: Response) {
        let _ = self.commands.send(Command::Respond { id, response }).await;
    }

    /// The connected peers.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, P2pError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Peers(tx))
            .await
            .map_err(|_| P2pError::Stopped)?;
        rx.await.map_err(|_| P2pError::Stopped)
    }
}

/// Snappy on the wire, with each topic's cap checked from the declared size before
/// decompressing; messages on topics of other networks are refused.
struct Snappy {
    topics: BTreeMap<TopicHash, Topic>,
}

impl DataTransform for Snappy {
    fn inbound_transform(
        &self,
        raw: gossipsub::RawMessage,
    ) -> Result<gossipsub::Message, std::io::Error> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let topic = self
            .topics
            .get(&raw.topic)
            .ok_or_else(|| invalid(format!("unknown topic {}", raw.topic)))?;
        let data = cairn_wire::decompress(&raw.data, topic.max_size())
            .map_err(|e| invalid(format!("{}: {e}", topic.name())))?;
        Ok(gossipsub::Message {
            source: raw.source,
            data,
            sequence_number: raw.sequence_number,
            topic: raw.topic,
        })
    }

    fn outbound_transform(
        &self,
        topic: &TopicHash,
        data: Vec<u8>,
    ) -> Result<Vec<u8>, std::io::Error> {
        let cap = self.topics.get(topic).map(|t| t.max_size()).unwrap_or(0);
        if data.len() > cap {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} bytes exceed the topic's cap of {cap}", data.len()),
            ));
        }
        Ok(cairn_wire::compress(&data))
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    // First, so that limits and bans refuse a connection before anything else sees it.
    banned: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    limits: connection_limits::Behaviour,
    gossipsub: gossipsub::Behaviour<Snappy>,
    reqresp: request_response::Behaviour<reqresp::WireCodec>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
}

/// Reads the node's identity, or creates one (ed25519, protobuf-encoded as libp2p stores keys)
/// in a 0600 file written atomically.
pub fn load_or_create_identity(path: &Path) -> Result<identity::Keypair, P2pError> {
    let err = |reason: String| P2pError::Identity {
        path: path.display().to_string(),
        reason,
    };
    match std::fs::read(path) {
        Ok(bytes) => identity::Keypair::from_protobuf_encoding(&bytes).map_err(|e| {
            err(format!(
                "not a libp2p key ({e}); move it away to start with a new peer id"
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = identity::Keypair::generate_ed25519();
            let bytes = key.to_protobuf_encoding().map_err(|e| err(e.to_string()))?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
            }
            let tmp = path.with_extension("tmp");
            write_private(&tmp, &bytes).map_err(|e| err(e.to_string()))?;
            std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))?;
            Ok(key)
        }
        Err(e) => Err(err(e.to_string())),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn build_swarm(cfg: &P2pConfig, key: identity::Keypair) -> Result<Swarm<Behaviour>, P2pError> {
    let setup = |e: &dyn std::fmt::Display| P2pError::Setup(e.to_string());
    let topics: BTreeMap<TopicHash, Topic> = Topic::ALL
        .into_iter()
        .map(|t| (gossipsub::IdentTopic::new(t.path(&cfg.network)).hash(), t))
        .collect();
    let gossip_cfg = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| {
            MessageId::from(cairn_wire::message_id(m.topic.as_str(), &m.data).to_vec())
        })
        // The largest topic cap, compressed data is never larger than that plus snappy's
        // worst-case overhead.
        .max_transmit_size(Topic::CheckpointProposal.max_size() + (1 << 20))
        .heartbeat_interval(cfg.heartbeat)
        .mesh_n(8)
        .mesh_n_low(4)
        .mesh_n_high(12)
        .gossip_lazy(8)
        .duplicate_cache_time(Duration::from_secs(20 * 60))
        .build()
        .map_err(|e| setup(&e))?;
    let protocol = format!("/cairn/{}", cfg.network.version());
    let max_peers = cfg.max_peers.max(1);
    let params_topics: Vec<TopicHash> = topics.keys().cloned().collect();
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| setup(&e))?
        .with_behaviour(|key| {
            let mut gossipsub = gossipsub::Behaviour::new_with_transform(
                gossipsub::MessageAuthenticity::Anonymous,
                gossip_cfg,
                Snappy { topics },
            )?;
            // Scores carry the application's penalties (rejected messages); the thresholds
            // are libp2p's defaults (stop gossiping at -10, stop publishing at -50, ignore at
            // -80). Loopback is exempt from the same-IP penalty: test networks and operators
            // running several nodes on one host share it.
            let mut params = gossipsub::PeerScoreParams {
                app_specific_weight: 1.0,
                ..Default::default()
            };
            params
                .ip_colocation_factor_whitelist
                .insert(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
            // Per topic, only invalid deliveries count against a peer (rejected by the node, or
            // refused before decompression for a declared size above the cap): consensus
            // topics are quiet most of a slot, so delivery-rate penalties would punish honest
            // peers.
            for hash in params_topics.iter() {
                params.topics.insert(
                    hash.clone(),
                    gossipsub::TopicScoreParams {
                        topic_weight: 1.0,
                        mesh_message_deliveries_weight: 0.0,
                        mesh_failure_penalty_weight: 0.0,
                        invalid_message_deliveries_weight: -10.0,
                        // Slow decay (half-life about a minute): a burst of invalid messages
                        // must not be forgiven before the next score check.
                        invalid_message_deliveries_decay: 0.99,
                        ..Default::default()
                    },
                );
            }
            gossipsub.with_peer_score(params, gossipsub::PeerScoreThresholds::default())?;
            let limits = connection_limits::Behaviour::new(
                connection_limits::ConnectionLimits::default()
                    .with_max_established(Some(max_peers))
                    // One per peer: a simultaneous dial from both sides would otherwise count twice
                    // against the limit.
                    .with_max_established_per_peer(Some(1))
                    .with_max_pending_incoming(Some(max_peers)),
            );
            let identify = identify::Behaviour::new(
                identify::Config::new(protocol, key.public())
                    .with_agent_version(format!("cairn/{}", env!("CARGO_PKG_VERSION"))),
            );
            let ping = ping::Behaviour::new(ping::Config::new());
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Behaviour {
                banned: Default::default(),
                limits,
                gossipsub,
                reqresp: request_response::Behaviour::new(
                    [reqresp::STATUS, reqresp::BLOCKS, reqresp::TXS]
                        .map(|p| (p, ProtocolSupport::Full)),
                    request_response::Config::default()
                        .with_request_timeout(REQUEST_TIMEOUT)
                        .with_max_concurrent_streams(64),
                ),
                identify,
                ping,
            })
        })
        .map_err(|e| setup(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    Ok(swarm)
}

/// Starts the service on the current tokio runtime: listens, subscribes to the network's
/// topics, dials the bootstrap peers. Returns once it listens, with the node's handle, the
/// event stream and the task (which ends when `shutdown` is cancelled).
pub async fn start(
    cfg: P2pConfig,
    shutdown: CancellationToken,
) -> Result<
    (
        P2pHandle,
        mpsc::Receiver<P2pEvent>,
        tokio::task::JoinHandle<()>,
    ),
    P2pError,
> {
    let key = load_or_create_identity(&cfg.identity_file)?;
    let mut swarm = build_swarm(&cfg, key)?;
    for t in Topic::ALL {
        let topic = gossipsub::IdentTopic::new(t.path(&cfg.network));
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&topic)
            .map_err(|e| P2pError::Setup(e.to_string()))?;
    }
    swarm
        .listen_on(cfg.listen.clone())
        .map_err(|e| P2pError::Listen {
            addr: cfg.listen.clone(),
            reason: e.to_string(),
        })?;
    // Wait for the listener, so the handle reports the real port.
    let listen_addrs = loop {
        match swarm.select_next_some().await {
            SwarmEvent::NewListenAddr { address, .. } => break vec![address],
            SwarmEvent::ListenerError { error, .. }
            | SwarmEvent::ListenerClosed {
                reason: Err(error), ..
            } => {
                return Err(P2pError::Listen {
                    addr: cfg.listen.clone(),
                    reason: error.to_string(),
                })
            }
            _ => {}
        }
    };
    if let Some(a) = &cfg.announce {
        swarm.add_external_address(a.clone());
    }
    for addr in &cfg.bootstrap {
        if let Err(e) = swarm.dial(addr.clone()) {
            tracing::warn!(%addr, error = %e, "cannot dial bootstrap peer");
        }
    }
    let (commands, command_rx) = mpsc::channel(1024);
    let (events, event_rx) = mpsc::channel(4096);
    let stats = Arc::new(P2pStats::default());
    let handle = P2pHandle {
        commands,
        stats: stats.clone(),
        peer_id: *swarm.local_peer_id(),
        listen_addrs,
    };
    let topics: BTreeMap<TopicHash, Topic> = Topic::ALL
        .into_iter()
        .map(|t| (gossipsub::IdentTopic::new(t.path(&cfg.network)).hash(), t))
        .collect();
    let task = tokio::spawn(run(
        swarm,
        topics,
        cfg.network.version(),
        cfg.bootstrap.clone(),
        cfg.max_peers.max(1) as usize,
        command_rx,
        events,
        stats,
        shutdown,
    ));
    Ok((handle, event_rx, task))
}

/// Counts `n` rejections against `peer`: its application score drops, and at
/// [`BAN_AFTER_REJECTS`] it is banned.
fn penalise(
    swarm: &mut Swarm<Behaviour>,
    rejects: &mut BTreeMap<PeerId, u32>,
    banned: &mut std::collections::BTreeSet<PeerId>,
    events: &mpsc::Sender<P2pEvent>,
    peer: PeerId,
    n: u32,
    why: &str,
) {
    let count = rejects.entry(peer).or_default();
    *count += n;
    let b = swarm.behaviour_mut();
    b.gossipsub
        .set_application_score(&peer, PENALTY_PER_REJECT * f64::from(*count));
    // Checked now, not only at the next tick: once graylisted, gossipsub drops the peer's
    // messages before the node sees them, so its count would stop growing.
    let graylisted = b.gossipsub.peer_score(&peer).is_some_and(|s| s <= GRAYLIST);
    if (*count >= BAN_AFTER_REJECTS || graylisted) && banned.insert(peer) {
        tracing::warn!(%peer, penalties = *count, "peer banned: {why}");
        b.banned.block_peer(peer);
        let _ = events.try_send(P2pEvent::PeerBanned(peer));
    }
}

/// A peer of another network (its handshake names another version): never useful, banned.
fn other_network(
    swarm: &mut Swarm<Behaviour>,
    banned: &mut std::collections::BTreeSet<PeerId>,
    events: &mpsc::Sender<P2pEvent>,
    peer: PeerId,
    theirs: &str,
) {
    if banned.insert(peer) {
        tracing::warn!(%peer, version = theirs, "peer banned: it is on another network");
        swarm.behaviour_mut().banned.block_peer(peer);
        let _ = events.try_send(P2pEvent::PeerBanned(peer));
    }
}

/// The peer id a multiaddr ends in, if any.
fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

#[allow(clippy::too_many_arguments)]
async fn run(
    mut swarm: Swarm<Behaviour>,
    topics: BTreeMap<TopicHash, Topic>,
    version: String,
    bootstrap: Vec<Multiaddr>,
    max_peers: usize,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<P2pEvent>,
    stats: Arc<P2pStats>,
    shutdown: CancellationToken,
) {
    let paths: BTreeMap<Topic, TopicHash> = topics.iter().map(|(h, t)| (*t, h.clone())).collect();
    let mut connections: BTreeMap<PeerId, (Multiaddr, bool)> = BTreeMap::new();
    // Peers worth redialling when not connected: the bootstrap list, and every peer that told
    // us its listen addresses (identify), so losing a bootstrap node does not split the network.
    let mut known: BTreeMap<PeerId, Multiaddr> = bootstrap
        .iter()
        .filter_map(|a| peer_of(a).map(|p| (p, a.clone())))
        .collect();
    let mut rejects: BTreeMap<PeerId, u32> = BTreeMap::new();
    let mut banned: std::collections::BTreeSet<PeerId> = Default::default();
    let mut status = Status {
        version: version.clone(),
        tip: 0,
        tip_archive: Default::default(),
        proven: 0,
    };
    let mut tips: BTreeMap<PeerId, u64> = BTreeMap::new();
    let mut limiter = reqresp::RateLimiter::default();
    let mut inbound: BTreeMap<u64, ResponseChannel<Response>> = BTreeMap::new();
    let mut next_inbound = 0u64;
    type Waiting = oneshot::Sender<Result<(PeerId, Response), P2pError>>;
    let mut outbound: BTreeMap<OutboundRequestId, (PeerId, Option<Waiting>)> = BTreeMap::new();
    let mut redial = tokio::time::interval(REDIAL_EVERY);
    redial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = redial.tick() => {
                // Peers whose gossip score fell below the graylist threshold (invalid messages,
                // oversized ones included) are banned like those the node rejected.
                let low: Vec<PeerId> = connections
                    .keys()
                    .filter(|p| {
                        swarm.behaviour().gossipsub.peer_score(p).is_some_and(|s| s <= GRAYLIST)
                    })
                    .copied()
                    .collect();
                for p in low {
                    penalise(&mut swarm, &mut rejects, &mut banned, &events, p, BAN_AFTER_REJECTS, "gossip score below the graylist threshold");
                }
                let me = *swarm.local_peer_id();
                for (peer, addr) in &known {
                    if connections.len() >= max_peers {
                        break;
                    }
                    if *peer != me && !connections.contains_key(peer) && !banned.contains(peer) {
                        let _ = swarm.dial(addr.clone());
                    }
                }
            }
            cmd = commands.recv() => match cmd {
                None => break,
                Some(Command::Publish { topic, data, done }) => {
                    let r = swarm
                        .behaviour_mut()
                        .gossipsub
                        .publish(paths[&topic].clone(), data)
                        .map_err(|e| e.to_string());
                    let _ = done.send(r);
                }
                Some(Command::Report { id, from, topic, verdict }) => {
                    P2pStats::bump(
                        match verdict {
                            Verdict::Accept => &stats.accepted,
                            Verdict::Reject => &stats.rejected,
                            Verdict::Ignore => &stats.ignored,
                        },
                        topic,
                    );
                    let acceptance = match verdict {
                        Verdict::Accept => MessageAcceptance::Accept,
                        Verdict::Reject => MessageAcceptance::Reject,
                        Verdict::Ignore => MessageAcceptance::Ignore,
                    };
                    swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(&id, &from, acceptance);
                    if verdict == Verdict::Reject {
                        penalise(&mut swarm, &mut rejects, &mut banned, &events, from, 1, "invalid messages");
                    }
                }
                Some(Command::SetStatus(s)) => status = Status { version: version.clone(), ..s },
                Some(Command::Request { peer, request, done }) => {
                    // The best-informed peer: the highest tip it announced.
                    let target = peer.or_else(|| {
                        connections
                            .keys()
                            .max_by_key(|p| tips.get(p).copied().unwrap_or(0))
                            .copied()
                    });
                    match target {
                        Some(p) => {
                            let id = swarm.behaviour_mut().reqresp.send_request(&p, request);
                            outbound.insert(id, (p, Some(done)));
                        }
                        None => {
                            let _ = done.send(Err(P2pError::Request {
                                peer: "-".into(),
                                reason: "no connected peer".into(),
                            }));
                        }
                    }
                }
                Some(Command::Respond { id, response }) => {
                    if let Some(ch) = inbound.remove(&id) {
                        let _ = swarm.behaviour_mut().reqresp.send_response(ch, response);
                    }
                }
                Some(Command::Peers(reply)) => {
                    let g = &swarm.behaviour().gossipsub;
                    let peers = connections
                        .iter()
                        .map(|(id, (address, outbound))| PeerInfo {
                            id: *id,
                            address: address.clone(),
                            outbound: *outbound,
                            score: g.peer_score(id).unwrap_or(0.0),
                            tip: tips.get(id).copied(),
                        })
                        .collect();
                    let _ = reply.send(peers);
                }
            },
            event = swarm.select_next_some() => match event {
                SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                    propagation_source,
                    message_id,
                    message,
                })) => {
                    // The transform only lets known topics through.
                    let Some(topic) = topics.get(&message.topic).copied() else { continue };
                    P2pStats::bump(&stats.received, topic);
                    let event = P2pEvent::Message {
                        topic,
                        id: message_id.clone(),
                        from: propagation_source,
                        data: message.data,
                    };
                    if events.try_send(event).is_err() {
                        // The node is not keeping up: drop without forwarding, no penalty.
                        P2pStats::bump(&stats.ignored, topic);
                        swarm.behaviour_mut().gossipsub.report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            MessageAcceptance::Ignore,
                        );
                    }
                }
                SwarmEvent::ConnectionEstablished { peer_id, endpoint, num_established, .. } => {
                    let is_outbound = endpoint.is_dialer();
                    let address = endpoint.get_remote_address().clone();
                    connections.insert(peer_id, (address, is_outbound));
                    stats.peers.store(connections.len() as u64, Ordering::Relaxed);
                    if num_established.get() == 1 {
                        let _ = events.try_send(P2pEvent::PeerConnected(peer_id));
                        // The handshake: our status for theirs.
                        let id = swarm
                            .behaviour_mut()
                            .reqresp
                            .send_request(&peer_id, Request::Status(status.clone()));
                        outbound.insert(id, (peer_id, None));
                    }
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                    connections.remove(&peer_id);
                    stats.peers.store(connections.len() as u64, Ordering::Relaxed);
                    tips.remove(&peer_id);
                    limiter.forget(&peer_id);
                    let _ = events.try_send(P2pEvent::PeerDisconnected(peer_id));
                }
                SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                    tracing::debug!(peer = ?peer_id, %error, "dial failed");
                }
                SwarmEvent::Behaviour(BehaviourEvent::Reqresp(request_response::Event::Message {
                    peer,
                    message,
                    ..
                })) => match message {
                    request_response::Message::Request { request, channel, .. } => {
                        if !limiter.allow(peer, std::time::Instant::now()) {
                            let _ = swarm
                                .behaviour_mut()
                                .reqresp
                                .send_response(channel, Response::Error("rate limited".into()));
                            penalise(&mut swarm, &mut rejects, &mut banned, &events, peer, 1, "too many requests");
                            continue;
                        }
                        match request {
                            Request::Status(theirs) => {
                                let _ = swarm
                                    .behaviour_mut()
                                    .reqresp
                                    .send_response(channel, Response::Status(status.clone()));
                                if theirs.version != version {
                                    other_network(&mut swarm, &mut banned, &events, peer, &theirs.version);
                                } else {
                                    tips.insert(peer, theirs.tip);
                                }
                            }
                            request => {
                                next_inbound += 1;
                                inbound.insert(next_inbound, channel);
                                // Answers that never come (node busy) are dropped by libp2p's
                                // timeout on the asker's side; keep the map bounded too.
                                while inbound.len() > 256 {
                                    inbound.pop_first();
                                }
                                let ev = P2pEvent::Request { peer, id: next_inbound, request };
                                if events.try_send(ev).is_err() {
                                    inbound.remove(&next_inbound);
                                }
                            }
                        }
                    }
                    request_response::Message::Response { request_id, response } => {
                        let Some((p, waiting)) = outbound.remove(&request_id) else { continue };
                        match (waiting, response) {
                            (None, Response::Status(theirs)) => {
                                if theirs.version != version {
                                    other_network(&mut swarm, &mut banned, &events, p, &theirs.version);
                                } else {
                                    tips.insert(p, theirs.tip);
                                }
                            }
                            (None, _) => {
                                penalise(&mut swarm, &mut rejects, &mut banned, &events, p, 1, "a wrong answer to the handshake");
                            }
                            (Some(done), response) => {
                                let _ = done.send(Ok((p, response)));
                            }
                        }
                    }
                },
                SwarmEvent::Behaviour(BehaviourEvent::Reqresp(
                    request_response::Event::OutboundFailure { peer, request_id, error, .. },
                )) => {
                    if let Some((_, Some(done))) = outbound.remove(&request_id) {
                        let _ = done.send(Err(P2pError::Request {
                            peer: peer.to_string(),
                            reason: error.to_string(),
                        }));
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                    peer_id,
                    info,
                    ..
                })) => {
                    // Its first routable listen address, to redial it after a disconnect.
                    if let Some(addr) = info.listen_addrs.iter().find(|a| {
                        !a.iter().any(|p| matches!(p, libp2p::multiaddr::Protocol::Ip4(ip) if ip.is_unspecified()))
                    }) {
                        let addr = addr.clone().with_p2p(peer_id).unwrap_or_else(|a| a);
                        if known.len() < 16 * max_peers {
                            known.entry(peer_id).or_insert(addr);
                        }
                    }
                }
                _ => {}
            },
        }
    }
    tracing::info!("p2p service stopped");
}
