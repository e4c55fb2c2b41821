//! Real libp2p nodes on loopback: connection, manual validation (a message travels on only after
//! the node accepted it), per-topic caps, network isolation and a persistent identity.

use std::time::Duration;

use cairn_p2p::{start, P2pConfig, P2pEvent, P2pHandle, Verdict};
use cairn_wire::{Address, NetworkId, Topic};
use libp2p::multiaddr::Protocol;
use libp2p::Multiaddr;
use tokio::sync::mpsc::Receiver;
use tokio::time::{timeout, Instant};
use tokio_util::sync::CancellationToken;

fn net(version: u64) -> NetworkId {
    NetworkId {
        chain_id: 31337,
        rollup: Address::repeat_byte(0x11),
        rollup_version: version,
    }
}

struct Node {
    handle: P2pHandle,
    events: Receiver<P2pEvent>,
}

async fn node(dir: &std::path::Path, name: &str, network: NetworkId, boot: &[&Node]) -> Node {
    let cfg = P2pConfig {
        network,
        listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        announce: None,
        bootstrap: boot.iter().map(|n| addr(n)).collect(),
        identity_file: dir.join(name).join("p2p-identity.key"),
        heartbeat: Duration::from_millis(200),
        max_peers: 50,
    };
    let (handle, events, _task) = start(cfg, CancellationToken::new()).await.unwrap();
    Node { handle, events }
}

fn addr(n: &Node) -> Multiaddr {
    n.handle.listen_addrs[0]
        .clone()
        .with(Protocol::P2p(n.handle.peer_id))
}

/// The next gossip message, skipping connection events; `None` after `within`.
async fn next_message(
    n: &mut Node,
    within: Duration,
) -> Option<(Topic, libp2p::gossipsub::MessageId, libp2p::PeerId, Vec<u8>)> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, n.events.recv()).await {
            Ok(Some(P2pEvent::Message {
                topic,
                id,
                from,
                data,
            })) => return Some((topic, id, from, data)),
            Ok(Some(_)) => continue,
            _ => return None,
        }
    }
}

/// Publishes once the topic has a subscribed peer (subscriptions travel after connecting).
async fn publish(n: &Node, topic: Topic, data: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match n.handle.publish(topic, data.to_vec()).await {
            Ok(_) => return,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("publish: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_is_forwarded_only_after_the_node_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = node(dir.path(), "a", net(1), &[]).await;
    let mut b = node(dir.path(), "b", net(1), &[&a]).await;
    let mut c = node(dir.path(), "c", net(1), &[&b]).await;
    // A reaches C only through B.
    publish(&a, Topic::CheckpointAttestation, b"attestation bytes").await;
    let (topic, id, from, data) = next_message(&mut b, Duration::from_secs(20))
        .await
        .expect("B receives A's message");
    assert_eq!(topic, Topic::CheckpointAttestation);
    assert_eq!(from, a.handle.peer_id);
    assert_eq!(data, b"attestation bytes");
    // Not yet validated by B: C has nothing.
    assert!(next_message(&mut c, Duration::from_millis(1500))
        .await
        .is_none());
    b.handle
        .report(id, from, Topic::CheckpointAttestation, Verdict::Accept)
        .await;
    let (_, _, via, data) = next_message(&mut c, Duration::from_secs(20))
        .await
        .expect("C receives it once B accepted");
    assert_eq!(via, b.handle.peer_id);
    assert_eq!(data, b"attestation bytes");

    // A rejected message stops at B, and B's view of A reflects the penalty.
    publish(&a, Topic::Tx, b"an invalid tx").await;
    let (_, id, from, _) = next_message(&mut b, Duration::from_secs(20)).await.unwrap();
    b.handle.report(id, from, Topic::Tx, Verdict::Reject).await;
    assert!(next_message(&mut c, Duration::from_millis(1500))
        .await
        .is_none());
    // B counted what it validated, per topic (Topic::ALL order: tx, block proposal,
    // checkpoint proposal, checkpoint attestation), and its two peers.
    let st = &b.handle.stats;
    let n = |c: &[std::sync::atomic::AtomicU64; 4], i: usize| {
        c[i].load(std::sync::atomic::Ordering::Relaxed)
    };
    assert_eq!((n(&st.received, 3), n(&st.accepted, 3)), (1, 1));
    assert_eq!((n(&st.received, 0), n(&st.rejected, 0)), (1, 1));
    assert_eq!(st.peers.load(std::sync::atomic::Ordering::Relaxed), 2);
    // B dialled A (its bootstrap peer); C dialled B.
    let peers = b.handle.peers().await.unwrap();
    assert!(
        peers.iter().any(|p| p.id == a.handle.peer_id && p.outbound),
        "{peers:?}"
    );
    assert!(
        peers
            .iter()
            .any(|p| p.id == c.handle.peer_id && !p.outbound),
        "{peers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caps_and_networks_keep_messages_apart() {
    let dir = tempfile::tempdir().unwrap();
    let a = node(dir.path(), "a", net(1), &[]).await;
    let mut b = node(dir.path(), "b", net(1), &[&a]).await;
    let mut other = node(dir.path(), "other", net(2), &[&a]).await;
    // Over the attestation topic's 5 KiB cap: refused before it is sent.
    let big = vec![7u8; Topic::CheckpointAttestation.max_size() + 1];
    publish(&a, Topic::Tx, b"warm-up").await;
    assert!(next_message(&mut b, Duration::from_secs(20))
        .await
        .is_some());
    let err = a
        .handle
        .publish(Topic::CheckpointAttestation, big)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cap"), "{err}");
    // A node of another network (another rollup version) shares no topic with A.
    assert!(next_message(&mut other, Duration::from_millis(1500))
        .await
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_identity_persists_privately_and_a_damaged_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = node(dir.path(), "n", net(1), &[]).await.handle.peer_id;
    let file = dir.path().join("n/p2p-identity.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = node(dir.path(), "n", net(1), &[]).await.handle.peer_id;
    assert_eq!(first, again);
    std::fs::write(&file, b"not a key").unwrap();
    let err = cairn_p2p::load_or_create_identity(&file).unwrap_err();
    assert!(err.to_string().contains("move it away"), "{err}");
}

async fn node_with(dir: &std::path::Path, name: &str, boot: &[&Node], max_peers: u32) -> Node {
    let cfg = P2pConfig {
        network: net(1),
        listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        announce: None,
        bootstrap: boot.iter().map(|n| addr(n)).collect(),
        identity_file: dir.join(name).join("p2p-identity.key"),
        heartbeat: Duration::from_millis(200),
        max_peers,
    };
    let (handle, events, _task) = start(cfg, CancellationToken::new()).await.unwrap();
    Node { handle, events }
}

async fn wait_peers(n: &Node, want: impl Fn(usize) -> bool, what: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let k = n.handle.peers().await.unwrap().len();
        if want(k) {
            return k;
        }
        assert!(Instant::now() < deadline, "{what}: {k} peers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_whose_messages_keep_being_rejected_is_scored_down_banned_and_stays_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut honest = node(dir.path(), "honest", net(1), &[]).await;
    let hostile = node(dir.path(), "hostile", net(1), &[&honest]).await;
    wait_peers(&honest, |k| k == 1, "connected").await;
    // Garbage until the honest node bans the sender: each message arrives and is rejected
    // (its score falls), until the ban is announced — after at most BAN_AFTER_REJECTS
    // rejections, sooner when the score reaches the graylist threshold.
    let mut rejected = 0;
    let mut banned = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !banned {
        assert!(
            Instant::now() < deadline,
            "no ban after {rejected} rejections"
        );
        assert!(rejected <= cairn_p2p::BAN_AFTER_REJECTS, "still not banned");
        if hostile
            .handle
            .publish(Topic::Tx, format!("garbage {rejected}").into_bytes())
            .await
            .is_err()
        {
            // Not connected (any more): wait for the ban event below.
        }
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until && !banned {
            match timeout(Duration::from_millis(200), honest.events.recv()).await {
                Ok(Some(P2pEvent::Message {
                    id, from, topic, ..
                })) => {
                    assert_eq!(from, hostile.handle.peer_id);
                    honest.handle.report(id, from, topic, Verdict::Reject).await;
                    rejected += 1;
                    let peers = honest.handle.peers().await.unwrap();
                    if let Some(p) = peers.iter().find(|p| p.id == from) {
                        assert!(p.score < 0.0, "penalised after a rejection: {peers:?}");
                    }
                    break;
                }
                Ok(Some(P2pEvent::PeerBanned(p))) => banned = p == hostile.handle.peer_id,
                _ => {}
            }
        }
    }
    assert!(rejected >= 2, "banned after a single rejection");
    // The connection is closed; redials from the hostile side (its bootstrap peer is the
    // honest node) are refused from then on.
    wait_peers(&honest, |k| k == 0, "disconnected").await;
    tokio::time::sleep(Duration::from_secs(6)).await; // longer than the redial interval
    assert!(honest.handle.peers().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_max_peers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let hub = node_with(dir.path(), "hub", &[], 2).await;
    let mut spokes = Vec::new();
    for i in 0..4 {
        spokes.push(node_with(dir.path(), &format!("s{i}"), &[&hub], 50).await);
    }
    wait_peers(&hub, |k| k == 2, "two spokes connected").await;
    tokio::time::sleep(Duration::from_secs(6)).await; // redials included
    assert_eq!(hub.handle.peers().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_requests_and_answers_and_another_network_is_banned() {
    use cairn_wire::reqresp::{Request, Response, Status};
    let dir = tempfile::tempdir().unwrap();
    let mut a = node(dir.path(), "a", net(1), &[]).await;
    a.handle
        .set_status(Status {
            version: String::new(),
            tip: 5,
            tip_archive: Default::default(),
            proven: 3,
        })
        .await;
    let b = node(dir.path(), "b", net(1), &[&a]).await;
    // B learns A's tip from the handshake.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let peers = b.handle.peers().await.unwrap();
        if peers.iter().any(|p| p.tip == Some(5)) {
            break;
        }
        assert!(Instant::now() < deadline, "no status from A: {peers:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A request goes to the peer with the highest tip; A's node answers it.
    let ask = tokio::spawn({
        let h = b.handle.clone();
        async move {
            h.request(None, Request::BlocksByNumber { from: 4, count: 2 })
                .await
        }
    });
    let (id, request) = loop {
        match timeout(Duration::from_secs(20), a.events.recv()).await {
            Ok(Some(P2pEvent::Request { id, request, .. })) => break (id, request),
            Ok(Some(_)) => continue,
            other => panic!("no request reached A: {other:?}"),
        }
    };
    assert_eq!(request, Request::BlocksByNumber { from: 4, count: 2 });
    a.handle
        .respond(
            id,
            Response::Blocks(vec![b"four".to_vec(), b"five".to_vec()]),
        )
        .await;
    let (from, answer) = ask.await.unwrap().unwrap();
    assert_eq!(from, a.handle.peer_id);
    assert_eq!(
        answer,
        Response::Blocks(vec![b"four".to_vec(), b"five".to_vec()])
    );
    // A node of another network: whichever side reads the other's handshake first bans it
    // (both would), the connection closes and is never made again.
    let mut other = node(dir.path(), "other", net(2), &[&a]).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut banned = false;
    let (a_id, other_id) = (a.handle.peer_id, other.handle.peer_id);
    while !banned && Instant::now() < deadline {
        for (me, them) in [(&mut a, other_id), (&mut other, a_id)] {
            if let Ok(Some(P2pEvent::PeerBanned(p))) =
                timeout(Duration::from_millis(100), me.events.recv()).await
            {
                banned |= p == them;
            }
        }
    }
    assert!(banned, "the two networks' nodes did not ban each other");
    wait_peers(&a, |k| k == 1, "only B left").await;
    tokio::time::sleep(Duration::from_secs(6)).await; // past the redial interval
    assert_eq!(a.handle.peers().await.unwrap().len(), 1);
}
