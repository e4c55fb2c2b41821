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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cairn_wire::{NetworkId, Topic};
use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, DataTransform, MessageAcceptance, MessageId, TopicHash};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{identify, identity, noise, ping, tcp, yamux, Swarm};
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
}

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
        verdict: Verdict,
    },
    Peers(oneshot::Sender<Vec<PeerInfo>>),
}

/// The node's side of the service: cheap to clone, usable from any task.
#[derive(Clone)]
pub struct P2pHandle {
    commands: mpsc::Sender<Command>,
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
    pub async fn report(&self, id: MessageId, from: PeerId, verdict: Verdict) {
        let _ = self
            .commands
            .send(Command::Report { id, from, verdict })
            .await;
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
    gossipsub: gossipsub::Behaviour<Snappy>,
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
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| setup(&e))?
        .with_behaviour(|key| {
            let gossipsub = gossipsub::Behaviour::new_with_transform(
                gossipsub::MessageAuthenticity::Anonymous,
                gossip_cfg,
                Snappy { topics },
            )?;
            let identify = identify::Behaviour::new(
                identify::Config::new(protocol, key.public())
                    .with_agent_version(format!("cairn/{}", env!("CARGO_PKG_VERSION"))),
            );
            let ping = ping::Behaviour::new(ping::Config::new());
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Behaviour {
                gossipsub,
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
    let handle = P2pHandle {
        commands,
        peer_id: *swarm.local_peer_id(),
        listen_addrs,
    };
    let topics: BTreeMap<TopicHash, Topic> = Topic::ALL
        .into_iter()
        .map(|t| (gossipsub::IdentTopic::new(t.path(&cfg.network)).hash(), t))
        .collect();
    let task = tokio::spawn(run(swarm, topics, command_rx, events, shutdown));
    Ok((handle, event_rx, task))
}

async fn run(
    mut swarm: Swarm<Behaviour>,
    topics: BTreeMap<TopicHash, Topic>,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<P2pEvent>,
    shutdown: CancellationToken,
) {
    let paths: BTreeMap<Topic, TopicHash> = topics.iter().map(|(h, t)| (*t, h.clone())).collect();
    let mut connections: BTreeMap<PeerId, (Multiaddr, bool)> = BTreeMap::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
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
                Some(Command::Report { id, from, verdict }) => {
                    let acceptance = match verdict {
                        Verdict::Accept => MessageAcceptance::Accept,
                        Verdict::Reject => MessageAcceptance::Reject,
                        Verdict::Ignore => MessageAcceptance::Ignore,
                    };
                    swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(&id, &from, acceptance);
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
                    let event = P2pEvent::Message {
                        topic,
                        id: message_id.clone(),
                        from: propagation_source,
                        data: message.data,
                    };
                    if events.try_send(event).is_err() {
                        // The node is not keeping up: drop without forwarding, no penalty.
                        swarm.behaviour_mut().gossipsub.report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            MessageAcceptance::Ignore,
                        );
                    }
                }
                SwarmEvent::ConnectionEstablished { peer_id, endpoint, num_established, .. } => {
                    let outbound = endpoint.is_dialer();
                    let address = endpoint.get_remote_address().clone();
                    connections.insert(peer_id, (address, outbound));
                    if num_established.get() == 1 {
                        let _ = events.try_send(P2pEvent::PeerConnected(peer_id));
                    }
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                    connections.remove(&peer_id);
                    let _ = events.try_send(P2pEvent::PeerDisconnected(peer_id));
                }
                SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                    tracing::debug!(peer = ?peer_id, %error, "dial failed");
                }
                _ => {}
            },
        }
    }
    tracing::info!("p2p service stopped");
}
