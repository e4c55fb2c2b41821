//! A committee spread over four operators' nodes: four `cairn start` processes, one validator
//! each (committee 4, quorum 3), gossiping over libp2p on loopback, on the devnet with the real
//! Aztec contracts. One serial test sharing one devnet (multi-node phases are slow and heavy on
//! 2 cores): quorum from other nodes' attesters on L1, identical chains everywhere, a tx sent
//! to one node landing in another's block, then faults — one node down (checkpoints go on), two
//! down (nothing under-attested is published, and the nodes say why), both back (they catch up
//! and checkpoints resume), a node restarted with its L1 sync paused catching up from its peers
//! alone, and a proposer killed inside its attestation round that never signs anything else for
//! that slot after restarting.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolCall;
use cairn_consensus::abi::IRollupConsensus as R;
use cairn_consensus::attest;
use cairn_l1::{RpcClient, L1};
use cairn_tests::node::{cli, NodeProc};
use cairn_tests::{free_port, Devnet};
use serde_json::{json, Value};

const M: &str = "test test test test test test test test test test test junk";
const FEE: &str = "0x0000000000000000000000000000000000000000000000000000000000000001";
const NODES: usize = 4;
/// The node that also runs the epoch prover: never killed, so proofs keep the chain from
/// being pruned while others are down.
const PROVER: usize = 3;
/// The node whose attester signs through a remote signer (never killed either).
const REMOTE: usize = 3;

/// Everything needed to (re)start node `i` with the same identity, keys and ports.
struct Operator {
    data: PathBuf,
    keystore: PathBuf,
    p2p_port: u16,
    peer: String,
    tmp: PathBuf,
}

impl Operator {
    /// An operator with `data` as its data directory (its p2p identity created there) and a
    /// free p2p port.
    fn new(tmp: &std::path::Path, data: PathBuf, keystore: PathBuf) -> Operator {
        let id =
            cairn_p2p::load_or_create_identity(&data.join("p2p").join("identity.key")).unwrap();
        let p2p_port = free_port();
        Operator {
            peer: format!(
                "/ip4/127.0.0.1/tcp/{p2p_port}/p2p/{}",
                id.public().to_peer_id()
            ),
            data,
            keystore,
            p2p_port,
            tmp: tmp.to_path_buf(),
        }
    }
}

struct Cluster<'a> {
    net: &'a Devnet,
    ops: Vec<Operator>,
    nodes: Vec<Option<NodeProc>>,
    starts: Vec<usize>,
}

impl Cluster<'_> {
    fn start(&mut self, i: usize) {
        self.start_with(i, &[]);
    }

    fn start_with(&mut self, i: usize, extra: &[(&str, String)]) {
        let op = &self.ops[i];
        let boot: Vec<&str> = self
            .ops
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, o)| o.peer.as_str())
            .collect();
        let (_, publisher) = self.net.account(6 + i);
        let mut env = vec![
            ("P2P_ENABLED", "true".to_string()),
            ("P2P_LISTEN_ADDR", "127.0.0.1".to_string()),
            ("P2P_PORT", op.p2p_port.to_string()),
            ("BOOTSTRAP_NODES", boot.join(",")),
            ("SEQ_PUBLISHER_PRIVATE_KEYS", publisher),
        ];
        env.extend(extra.iter().cloned());
        self.starts[i] += 1;
        let log = op.tmp.join(format!("node{i}-{}.log", self.starts[i]));
        let node = NodeProc::start_with(
            self.net,
            &op.data,
            Some(&op.keystore),
            None,
            log,
            i == PROVER,
            &env,
        );
        node.wait_for(&format!("node {i} up"), 90, |n| {
            n.call("node_getNodeInfo", json!([])).is_ok()
        });
        self.nodes[i] = Some(node);
    }

    fn node(&self, i: usize) -> &NodeProc {
        self.nodes[i].as_ref().expect("node running")
    }

    fn kill9(&mut self, i: usize) {
        if let Some(mut n) = self.nodes[i].take() {
            n.kill9();
        }
    }

    fn running(&self) -> impl Iterator<Item = (usize, &NodeProc)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (i, n)))
    }
}

/// One operator per validator of `doc` (a keystore from `validator-keys new`, validator `i`
/// taken from `remote` instead when given there: a remote-signer form), each with its own
/// keystore, data directory, p2p identity and port under `tmp`.
fn operators(tmp: &std::path::Path, doc: &Value, remote: Option<(usize, &Value)>) -> Vec<Operator> {
    (0..NODES)
        .map(|i| {
            let keystore = tmp.join(format!("keystore{i}"));
            std::fs::create_dir_all(&keystore).unwrap();
            let source = match remote {
                Some((r, remote_doc)) if r == i => remote_doc,
                _ => doc,
            };
            let mut part = source.clone();
            part["validators"] = json!([source["validators"][i].clone()]);
            std::fs::write(keystore.join("key1.json"), part.to_string()).unwrap();
            Operator::new(tmp, tmp.join(format!("data{i}")), keystore)
        })
        .collect()
}

/// Moves L1 to the start of epoch 3, the first whose committee holds validators registered now;
/// returns the Rollup's genesis time, slot length and epoch length in slots.
fn to_first_committee_epoch(rpc: &RpcClient, l1: &L1, rollup: Address) -> (u64, u64, u64) {
    let genesis: u64 = l1.call(rollup, &R::getGenesisTimeCall {}).unwrap().to();
    let slot_secs: u64 = l1.call(rollup, &R::getSlotDurationCall {}).unwrap().to();
    let epoch_slots: u64 = l1.call(rollup, &R::getEpochDurationCall {}).unwrap().to();
    rpc.call(
        "evm_setNextBlockTimestamp",
        json!([genesis + 3 * slot_secs * epoch_slots]),
    )
    .unwrap();
    rpc.call("evm_mine", json!([])).unwrap();
    (genesis, slot_secs, epoch_slots)
}

fn latest(n: &NodeProc) -> u64 {
    n.tips().map(|t| t.0).unwrap_or(0)
}

/// The L1 checkpoint tip.
fn l1_pending(l1: &L1, rollup: Address) -> u64 {
    l1.call(rollup, &R::getTipsCall {}).unwrap().pending.to()
}

/// Checkpoint `n` as L1 accepted it: its slot, the payload digest its attesters signed, and
/// each signing attester with its signature (v ‖ r ‖ s), each checked to recover its committee
/// member.
fn l1_attestations(
    l1: &L1,
    rollup: Address,
    node: &NodeProc,
    n: u64,
) -> (u64, B256, Vec<(Address, attest::RawSignature)>) {
    let block = node.call("node_getBlock", json!([n])).unwrap();
    let (_, input) = l1
        .transaction_input(block["l1Tx"].as_str().unwrap().parse().unwrap())
        .unwrap();
    let call = R::proposeCall::abi_decode(&input).expect("a propose call");
    let header = cairn_consensus::header::ProposedHeader::try_from(&call._args.header).unwrap();
    let digest = attest::payload_digest(
        call._args.archive,
        call._args.oracleInput.feeAssetPriceModifier,
        header.hash(),
    );
    let epoch = l1
        .call(
            rollup,
            &R::getEpochForCheckpointCall {
                _checkpointNumber: U256::from(n),
            },
        )
        .unwrap();
    let committee = l1
        .call(rollup, &R::getEpochCommitteeCall { _epoch: epoch })
        .unwrap();
    let att = attest::CommitteeAttestations {
        signature_indices: call._attestations.signatureIndices.to_vec(),
        signatures_or_addresses: call._attestations.signaturesOrAddresses.to_vec(),
    };
    let (members, sigs) = attest::unpack(&att, &call._signers, committee.len()).unwrap();
    let mut out = Vec::new();
    for (m, s) in members.iter().zip(&sigs) {
        if let Some(s) = s {
            assert_eq!(
                recover(digest, s),
                *m,
                "checkpoint {n}: signature of its committee member"
            );
            out.push((*m, *s));
        }
    }
    (header.slot_number, digest, out)
}

/// Who signed `digest` (EIP-191) with `s` (v ‖ r ‖ s).
fn recover(digest: B256, s: &attest::RawSignature) -> Address {
    let mut rsv = [0u8; 65];
    rsv[..64].copy_from_slice(&s[1..]);
    rsv[64] = s[0];
    let hash = attest::eth_signed_message_hash(digest);
    let who = cairn_crypto::eth::recover_hash(&hash.0, &cairn_crypto::EthSignature(rsv)).unwrap();
    Address::from(who.0)
}

/// The attesters whose signatures L1 accepted for checkpoint `n`.
fn l1_signers(l1: &L1, rollup: Address, node: &NodeProc, n: u64) -> Vec<Address> {
    l1_attestations(l1, rollup, node, n)
        .2
        .into_iter()
        .map(|(a, _)| a)
        .collect()
}

/// While `what` is down: waits for two more checkpoints on L1 and checks that none from a slot
/// after `since` carries `who`'s signature (`node` reads the blocks).
fn checkpoints_without(
    node: &NodeProc,
    l1: &L1,
    rollup: Address,
    who: Address,
    since: u64,
    what: &str,
) {
    let at = l1_pending(l1, rollup);
    node.wait_for(&format!("2 checkpoints while {what} is down"), 240, |_| {
        l1_pending(l1, rollup) >= at + 2
    });
    for n in at + 1..=l1_pending(l1, rollup) {
        let (slot, _, sigs) = {
            node.wait_for("the node at it", 60, |x| latest(x) >= n);
            l1_attestations(l1, rollup, node, n)
        };
        if slot > since {
            assert!(
                sigs.iter().all(|(a, _)| *a != who),
                "checkpoint {n} carries {who}'s signature while {what} is down"
            );
        }
    }
}

/// `/status`: the HTTP code and the body.
fn status(node: &NodeProc) -> (u16, String) {
    match ureq::get(&format!("{}/status", node.rpc)).call() {
        Ok(r) => (200, r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

fn metric(node: &NodeProc, name: &str) -> u64 {
    let text = ureq::get(&format!("{}/metrics", node.rpc))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no metric {name}"))
}

#[test]
fn four_operators_reach_quorum_over_gossip_and_survive_faults() {
    // Accounts 6..=10 publish for the five nodes (the fifth is node 1's HA twin).
    let net = Devnet::start_with(&["--accounts", "11"]);
    // Node 3's remote signer: a second anvil holding the validators' mnemonic, which the test
    // stops and starts again.
    let mut signer = cairn_tests::SignerProc::start(M);
    let tmp = tempfile::tempdir().unwrap();
    let keys = cairn_tests::node::register_four_validators(&net, tmp.path(), M, FEE);
    // Node 3 holds no key: the same validators written for a remote signer
    // (`validator-keys new --remote-signer`), for the signer started above: it holds the
    // mnemonic's accounts and answers Web3Signer's eth_accounts and eth_sign.
    let remote_keys = tmp.path().join("remote-keys");
    cli(
        &net,
        tmp.path(),
        &[
            "validator-keys",
            "new",
            "--fee-recipient",
            FEE,
            "--mnemonic",
            M,
            "--count",
            "4",
            "--remote-signer",
            &signer.url,
            "--data-dir",
            &remote_keys.to_string_lossy(),
        ],
    );
    let remote_doc: Value =
        serde_json::from_slice(&std::fs::read(remote_keys.join("key1.json")).unwrap()).unwrap();
    // A signer that lacks a configured key stops the start, naming the key.
    {
        let ks = tmp.path().join("keystore-unknown");
        std::fs::create_dir_all(&ks).unwrap();
        let mut v = remote_doc["validators"][REMOTE].clone();
        let stranger = "0x000000000000000000000000000000000000dead";
        v["attester"]["eth"]["address"] = json!(stranger);
        std::fs::write(
            ks.join("key1.json"),
            json!({"schemaVersion": 1, "validators": [v]}).to_string(),
        )
        .unwrap();
        let out = cairn_tests::run_cairn(
            tmp.path(),
            &[
                "start",
                "--node",
                "--sequencer",
                "--data-directory",
                &tmp.path().join("data-unknown").to_string_lossy(),
                "--key-store-directory",
                &ks.to_string_lossy(),
            ]
            .map(String::from),
            &[
                net.env(),
                vec![("SEQ_PUBLISHER_PRIVATE_KEYS".into(), net.account(6).1)],
            ]
            .concat(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(
            err.contains("does not hold") && err.to_lowercase().contains(stranger),
            "{err}"
        );
    }
    // One validator per operator: split the generated keystore.
    let doc: Value =
        serde_json::from_slice(&std::fs::read(keys.join("key1.json")).unwrap()).unwrap();
    let ops = operators(tmp.path(), &doc, Some((REMOTE, &remote_doc)));
    let rpc = RpcClient::new(&[net.rpc()]).unwrap();
    let l1 = L1::connect(rpc.clone(), Some(31337)).unwrap();
    let rollup: Address = net.address("rollup").parse().unwrap();
    // Validators flushed now are sampled from epoch 3 on: start there.
    let (genesis, slot_secs, epoch_slots) = to_first_committee_epoch(&rpc, &l1, rollup);

    let mut c = Cluster {
        net: &net,
        ops,
        nodes: (0..NODES).map(|_| None).collect(),
        starts: vec![0; NODES],
    };
    for i in 0..NODES {
        c.start(i);
    }
    // Attester → the node that holds it.
    let mut holder: BTreeMap<Address, usize> = BTreeMap::new();
    for (i, n) in c.running() {
        let info = n.call("node_getNodeInfo", json!([])).unwrap();
        let a = info["attesters"].as_array().unwrap();
        assert_eq!(a.len(), 1, "one validator per node: {info}");
        holder.insert(a[0].as_str().unwrap().parse().unwrap(), i);
    }

    // 1. Quorum from other operators: checkpoints whose L1 signatures come from attesters on at
    //    least 3 different nodes, proposed by more than one node.
    // At least 4 checkpoints, from at least two proposers (the proposer is drawn per slot).
    let proposers_of = |n: &NodeProc| -> BTreeSet<usize> {
        (1..=latest(n))
            .filter_map(|k| {
                let b = n.call("node_getBlock", json!([k])).ok()?;
                let coinbase: Address = b["coinbase"].as_str()?.parse().ok()?;
                holder.get(&coinbase).copied()
            })
            .collect()
    };
    c.node(0)
        .wait_for("4 checkpoints from two proposers", 300, |n| {
            latest(n) >= 4 && proposers_of(n).len() >= 2
        });
    let mut proposers = BTreeSet::new();
    for n in 1..=latest(c.node(0)) {
        let signers = l1_signers(&l1, rollup, c.node(0), n);
        let nodes: BTreeSet<usize> = signers.iter().map(|a| holder[a]).collect();
        assert!(
            nodes.len() >= 3,
            "checkpoint {n}: signatures from nodes {nodes:?} only"
        );
        let block = c.node(0).call("node_getBlock", json!([n])).unwrap();
        let coinbase: Address = block["coinbase"].as_str().unwrap().parse().unwrap();
        proposers.insert(holder[&coinbase]);
    }
    assert!(proposers.len() >= 2, "proposed by nodes {proposers:?}");

    // 2. A tx sent to one node's RPC lands in a block another node proposed.
    let mut crossed = false;
    for from in 2..8 {
        let out = cli(
            &net,
            tmp.path(),
            &[
                "tx",
                "transfer",
                "--node-url",
                &c.node(0).rpc,
                "--from",
                &from.to_string(),
                "--to",
                "1",
                "--amount",
                "1",
                "--wait",
                "90",
            ],
        );
        // The hash on the first line, then the receipt.
        let receipt: Value =
            serde_json::from_str(out.split_once('\n').map_or("", |(_, r)| r)).unwrap();
        assert_eq!(receipt["status"], "checkpointed", "{out}");
        let n = receipt["blockNumber"].as_u64().unwrap();
        c.node(0).wait_for("the tx's block", 30, |x| latest(x) >= n);
        let block = c.node(0).call("node_getBlock", json!([n])).unwrap();
        let coinbase: Address = block["coinbase"].as_str().unwrap().parse().unwrap();
        if holder[&coinbase] != 0 {
            crossed = true;
            break;
        }
    }
    assert!(
        crossed,
        "no tx sent to node 0 landed in another node's block"
    );

    // 3. Every node holds the same chain.
    let same_chain = |c: &Cluster, upto: u64| {
        for (i, n) in c.running() {
            n.wait_for(&format!("node {i} at {upto}"), 120, |x| latest(x) >= upto);
        }
        for k in 1..=upto {
            let blocks: BTreeSet<String> = c
                .running()
                .map(|(_, n)| n.call("node_getBlock", json!([k])).unwrap()["archive"].to_string())
                .collect();
            assert_eq!(
                blocks.len(),
                1,
                "block {k} differs between nodes: {blocks:?}"
            );
        }
    };
    same_chain(&c, latest(c.node(0)));
    // Each node counts its peers and what it validated per topic (every node has seen other
    // nodes' proposals and attestations by now, and accepted them).
    cairn_tests::node::promtool_check(
        &ureq::get(&format!("{}/metrics", c.node(0).rpc))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    );
    for (i, n) in c.running() {
        assert_eq!(metric(n, "cairn_p2p_peers"), 3, "node {i}");
        for topic in ["checkpoint_proposal", "checkpoint_attestation"] {
            let got = metric(
                n,
                &format!("cairn_p2p_gossip_received_total{{topic=\"{topic}\"}}"),
            );
            let ok = metric(
                n,
                &format!("cairn_p2p_gossip_validated_total{{topic=\"{topic}\",result=\"accept\"}}"),
            );
            assert!(
                got >= ok && ok > 0,
                "node {i} {topic}: {got} received, {ok} accepted"
            );
        }
    }
    // Every operator's validator shows up in the statistics with what it did.
    let stats = c
        .node(3)
        .call("node_getValidatorsStats", json!([]))
        .unwrap();
    let (mut made, mut attested) = (0, 0);
    for (a, i) in &holder {
        let st = &stats["stats"][a.to_checksum(None)];
        assert!(st.is_object(), "node {i}'s attester missing: {stats}");
        made += st["proposalsMade"].as_u64().unwrap_or(0);
        attested += st["attestationsMade"].as_u64().unwrap_or(0);
    }
    // Each checkpoint on L1 carries its proposer's and at least two other signatures.
    assert!(made >= 4, "proposals made: {stats}");
    assert!(attested >= 2 * made, "attestations made: {stats}");
    let one = c
        .node(1)
        .call(
            "node_getValidatorStats",
            json!([holder.keys().next().unwrap().to_string()]),
        )
        .unwrap();
    assert!(one["address"].is_string(), "{one}");

    // 4. Node 0 (everyone's first bootstrap peer) killed: the other three still make quorum.
    c.kill9(0);
    let at = l1_pending(&l1, rollup);
    c.node(1)
        .wait_for("2 checkpoints without node 0", 240, |_| {
            l1_pending(&l1, rollup) >= at + 2
        });

    // 5. A second node killed: two of four cannot make quorum; nothing lands, and the proposer
    //    of a slot says why in its log and on /status.
    c.kill9(1);
    std::thread::sleep(Duration::from_secs(slot_secs)); // a round already under way may land
    let frozen = l1_pending(&l1, rollup);
    let deadline = Instant::now() + Duration::from_secs(slot_secs * 12);
    // Only what the logs say from now on (a round may have missed quorum earlier, with three).
    let seen_before: BTreeMap<usize, usize> = c
        .running()
        .map(|(i, n)| (i, std::fs::read_to_string(&n.log).unwrap_or_default().len()))
        .collect();
    let mut said = None;
    while said.is_none() && Instant::now() < deadline {
        for (i, n) in c.running() {
            let log = std::fs::read_to_string(&n.log).unwrap_or_default();
            if log
                .get(seen_before[&i]..)
                .is_some_and(|new| new.contains("not publishing an under-attested checkpoint"))
            {
                said = Some(i);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let who = said.unwrap_or_else(|| {
        // Say what the nodes and L1 were doing, for a failure seen only in CI.
        let tails: Vec<String> = c
            .running()
            .map(|(i, n)| {
                let log = std::fs::read_to_string(&n.log).unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                format!("node {i}:\n{}", lines[lines.len().saturating_sub(8)..].join("\n"))
            })
            .collect();
        panic!(
            "no proposer reported the missing quorum within 12 slots; L1 time {} (slot {}), pending {}\n{}",
            l1.latest_timestamp().unwrap_or(0),
            (l1.latest_timestamp().unwrap_or(genesis) - genesis) / slot_secs,
            l1_pending(&l1, rollup),
            tails.join("\n")
        )
    });
    let (code, body) = status(c.node(who));
    assert_eq!(
        code, 500,
        "/status should be unhealthy without quorum: {body}"
    );
    assert!(body.contains("attestations"), "{body}");
    assert_eq!(
        l1_pending(&l1, rollup),
        frozen,
        "a checkpoint landed with two of four nodes"
    );

    // 6. Both back: they catch up, and checkpoints resume.
    c.start(0);
    c.start(1);
    let resumed = l1_pending(&l1, rollup) + 2;
    c.node(2).wait_for("checkpoints resume", 300, |_| {
        l1_pending(&l1, rollup) >= resumed
    });
    same_chain(&c, resumed);

    // 7. Node 1 down while the chain moves on, then restarted with its L1 sync paused: it
    //    catches up from its peers alone (req/resp blocks, each re-executed and checked against
    //    the archive root L1 holds), then follows L1 again once resumed.
    c.kill9(1);
    let missed = l1_pending(&l1, rollup) + 2;
    c.node(2)
        .wait_for("checkpoints while node 1 is down", 300, |_| {
            l1_pending(&l1, rollup) >= missed
        });
    c.start_with(1, &[("CAIRN_L1_SYNC_PAUSED", "true".to_string())]);
    c.node(1).wait_for("node 1 caught up from peers", 300, |n| {
        latest(n) >= missed && metric(n, "cairn_p2p_blocks_received_total") >= 2
    });
    same_chain(&c, missed);
    let r = c.node(1).admin_call("nodeAdmin_resumeSync", json!([]));
    assert!(r.get("error").is_none(), "{r}");

    // 8. A hostile peer (a bare libp2p swarm run by this test) against node 2: undecodable,
    //    oversized (declared size above the cap), badly signed and wrong-proposer proposals,
    //    garbage txs, another network's handshake and a request flood each get it penalised and
    //    banned (a fresh identity per misdeed); an equivocating proposer is recorded and nobody
    //    attests to its slot; the chain keeps its pace.
    {
        use cairn_wire::reqresp::Request;
        use cairn_wire::Topic;
        use hostile::Hostile;
        let info = c.node(2).call("node_getNodeInfo", json!([])).unwrap();
        let honest_id: libp2p::PeerId = info["peerId"].as_str().unwrap().parse().unwrap();
        let target: libp2p::Multiaddr = format!(
            "{}/p2p/{honest_id}",
            info["listenAddresses"][0].as_str().unwrap()
        )
        .parse()
        .unwrap();
        let wire_net = cairn_wire::NetworkId {
            chain_id: 31337,
            rollup,
            rollup_version: info["rollupVersion"].as_u64().unwrap(),
        };
        let version = wire_net.version();
        let now = || l1.latest_timestamp().unwrap();
        let slot_of = |ts: u64| (ts - genesis) / slot_secs;
        let proposal = |slot: u64,
                        key: &cairn_crypto::EthSecretKey,
                        archive: u8,
                        checkpoint: u64,
                        signed: bool| {
            let payload = cairn_wire::SignedPayload {
                header: cairn_consensus::header::ProposedHeader {
                    last_archive_root: alloy_primitives::B256::repeat_byte(archive),
                    block_headers_hash: Default::default(),
                    blobs_hash: Default::default(),
                    in_hash: Default::default(),
                    out_hash: Default::default(),
                    slot_number: slot,
                    timestamp: genesis + slot * slot_secs,
                    coinbase: Address::ZERO,
                    fee_recipient: Default::default(),
                    fee_per_da_gas: 0,
                    fee_per_l2_gas: 0,
                    total_mana_used: 0,
                },
                archive: alloy_primitives::B256::repeat_byte(archive),
                fee_asset_price_modifier: alloy_primitives::I256::ZERO,
            };
            let signature = if signed {
                payload.sign(key)
            } else {
                let mut s = [archive; 65];
                s[0] = 27;
                s
            };
            cairn_wire::CheckpointProposal {
                payload,
                checkpoint,
                blocks: vec![cairn_wire::BlockRef {
                    header: vec![1, 2, 3],
                    txs: vec![],
                }],
                signature,
                blob_proofs: vec![],
            }
            .encode()
        };
        let stranger = cairn_crypto::EthSecretKey::from_bytes(&[7; 32]).unwrap();
        let pause = |h: &mut Hostile| {
            h.pump_until(Duration::from_millis(150), |_| false);
        };

        let mut h = Hostile::new(&target, wire_net, &version);
        for i in 0..6 {
            h.publish(
                Topic::CheckpointProposal,
                format!("not a proposal {i}").as_bytes(),
            );
            pause(&mut h);
        }
        assert_banned(c.node(2), &mut h, "undecodable", |_, _| {});

        let mut h = Hostile::new(&target, wire_net, &version);
        for i in 0..6u8 {
            // A snappy block whose preamble declares 20 MiB: refused before decompressing.
            let mut raw = vec![0x80, 0x80, 0x80, 0x0a];
            raw.extend_from_slice(&[i; 8]);
            h.publish_raw(Topic::CheckpointProposal, raw);
            pause(&mut h);
        }
        assert_banned(c.node(2), &mut h, "oversized", |h, k| {
            let mut raw = vec![0x80, 0x80, 0x80, 0x0a];
            raw.extend_from_slice(&(k + 100).to_be_bytes());
            h.publish_raw(Topic::CheckpointProposal, raw);
        });

        // Signature bytes that recover nobody (or a stranger), then a valid signature by a key
        // that is not the slot's proposer.
        for (signed, what) in [(false, "badly signed"), (true, "wrong-proposer")] {
            let mut h = Hostile::new(&target, wire_net, &version);
            for i in 0..6u8 {
                let slot = slot_of(now());
                let archive = if signed { 0x40 } else { 0x30 } + i;
                h.publish(
                    Topic::CheckpointProposal,
                    &proposal(slot, &stranger, archive, 1, signed),
                );
                pause(&mut h);
            }
            assert_banned(c.node(2), &mut h, what, |_, _| {});
        }

        let mut h = Hostile::new(&target, wire_net, &version);
        for i in 0..6 {
            h.publish(Topic::Tx, format!("not a tx {i}").as_bytes());
            pause(&mut h);
        }
        assert_banned(c.node(2), &mut h, "tx-flooding", |_, _| {});

        let other = cairn_wire::NetworkId {
            rollup_version: wire_net.rollup_version + 1,
            ..wire_net
        };
        let mut h = Hostile::new(&target, wire_net, &other.version());
        h.pump_until(Duration::from_secs(5), |h| !h.connected);
        assert_banned(c.node(2), &mut h, "other-network", |_, _| {});

        let mut h = Hostile::new(&target, wire_net, &version);
        for _ in 0..60 {
            h.request(honest_id, Request::BlocksByNumber { from: 1, count: 16 });
        }
        h.pump_until(Duration::from_secs(10), |h| !h.connected);
        assert_banned(c.node(2), &mut h, "request-flooding", |_, _| {});

        // Equivocation: two proposals for the next slot, both signed with that slot's real
        // proposer key (the test knows every key), sent just before the slot starts.
        let keys: Vec<cairn_crypto::EthSecretKey> = (0..NODES)
            .map(|i| {
                let hex_key = doc["validators"][i]["attester"]["eth"].as_str().unwrap();
                let b: [u8; 32] = hex::decode(hex_key.trim_start_matches("0x"))
                    .unwrap()
                    .try_into()
                    .unwrap();
                cairn_crypto::EthSecretKey::from_bytes(&b).unwrap()
            })
            .collect();
        let mut h = Hostile::new(&target, wire_net, &version);
        let before = metric(c.node(2), "cairn_consensus_equivocations_total");
        let slot = loop {
            let next = slot_of(now()) + 1;
            let start = genesis + next * slot_secs;
            // Within the nodes' tolerance for the next slot, before its proposer starts.
            let t = now();
            if t + 2 >= start && t < start {
                break next;
            }
            h.pump_until(Duration::from_millis(100), |_| false);
        };
        let epoch = slot / epoch_slots;
        let committee = l1
            .call(
                rollup,
                &R::getEpochCommitteeCall {
                    _epoch: U256::from(epoch),
                },
            )
            .unwrap();
        let seed = l1
            .call(
                rollup,
                &R::getSampleSeedAtCall {
                    _ts: U256::from(genesis + slot * slot_secs),
                },
            )
            .unwrap();
        let proposer = cairn_consensus::committee::proposer(epoch, slot, seed, &committee).unwrap();
        let key = keys
            .iter()
            .find(|k| Address::from(k.address().0) == proposer)
            .expect("the proposer is one of the test's validators");
        let tip = latest(c.node(2));
        // The Rollup keeps logs of recent checkpoints only: look from here on.
        let first_n = l1_pending(&l1, rollup).max(1);
        h.publish(
            Topic::CheckpointProposal,
            &proposal(slot, key, 0xe1, tip + 1, true),
        );
        h.publish(
            Topic::CheckpointProposal,
            &proposal(slot, key, 0xe2, tip + 1, true),
        );
        h.pump_until(Duration::from_secs(2), |_| false);
        c.node(2).wait_for("the equivocation recorded", 30, |n| {
            metric(n, "cairn_consensus_equivocations_total") > before
        });
        // Slot over: node 2 attested to nothing of it. (The others never saw the forged
        // proposals: invalid blocks are not relayed. They may attest to the real proposer's
        // block; if that reached L1, node 2's attester is not among its signers.)
        while slot_of(now()) <= slot + 1 {
            h.pump_until(Duration::from_millis(500), |_| false);
        }
        let log = std::fs::read_to_string(&c.node(2).log).unwrap();
        assert!(
            !log.contains(&format!("attested slot={slot} ")),
            "node 2 attested to the equivocated slot {slot}"
        );
        let node2_attester = *holder.iter().find(|(_, i)| **i == 2).unwrap().0;
        for n in first_n..=l1_pending(&l1, rollup) {
            let cp = l1
                .call(
                    rollup,
                    &R::getCheckpointCall {
                        _checkpointNumber: U256::from(n),
                    },
                )
                .unwrap();
            if cp.slotNumber == U256::from(slot) {
                c.node(0)
                    .wait_for("node 0 at that checkpoint", 60, |x| latest(x) >= n);
                assert!(
                    !l1_signers(&l1, rollup, c.node(0), n).contains(&node2_attester),
                    "node 2 signed checkpoint {n} of the equivocated slot"
                );
            }
        }
        drop(h);
        // The chain keeps its pace.
        let pace = l1_pending(&l1, rollup) + 2;
        c.node(2)
            .wait_for("checkpoints after the hostile peer", 240, |_| {
                l1_pending(&l1, rollup) >= pace
            });
        same_chain(&c, pace);
    }

    // 9. A proposer killed inside its attestation round (proposal gossiped, attestations
    //    arriving, nothing published): restarted, it never signs anything else for that slot.
    let victim = 2;
    // Equivocations seen so far (the hostile peer's): none may be added from here on.
    let equivocations: BTreeMap<usize, u64> = c
        .running()
        .map(|(i, n)| (i, metric(n, "cairn_consensus_equivocations_total")))
        .collect();
    let armed = c
        .node(victim)
        .admin_call("nodeAdmin_armFaultPoint", json!(["in-attestation-round"]));
    assert_eq!(armed["result"], "in-attestation-round", "{armed}");
    let log = c.node(victim).log.clone();
    let line = || {
        std::fs::read_to_string(&log)
            .ok()?
            .lines()
            .find(|l| l.contains("fault point reached"))
            .map(str::to_string)
    };
    c.node(victim)
        .wait_for("the victim's attestation round", 300, |_| line().is_some());
    c.kill9(victim);
    // Only the victim could land a checkpoint for its slot, and it is parked: read from here
    // (the Rollup keeps only recent checkpoint logs, and the wait above may be long).
    let first_n = l1_pending(&l1, rollup).max(1);
    let line = line().unwrap();
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k} in {line}"))
            .to_string()
    };
    let slot: u64 = field("slot").parse().unwrap();
    let digest = hex::decode(field("digest").trim_start_matches("0x")).unwrap();
    c.start(victim);
    let after = l1_pending(&l1, rollup) + 2;
    c.node(victim)
        .wait_for("checkpoints after the restart", 300, |_| {
            l1_pending(&l1, rollup) >= after
        });
    // Nothing of that slot on L1 (the proposer never published), and the victim's guard holds
    // only the digest it signed before the crash.
    for n in first_n..=l1_pending(&l1, rollup) {
        let cp = l1
            .call(
                rollup,
                &R::getCheckpointCall {
                    _checkpointNumber: U256::from(n),
                },
            )
            .unwrap();
        assert_ne!(cp.slotNumber, U256::from(slot), "checkpoint {n}");
    }
    for (i, n) in c.running() {
        // The victim restarted: its counter starts again at zero.
        let before = if i == victim { 0 } else { equivocations[&i] };
        assert_eq!(
            metric(n, "cairn_consensus_equivocations_total"),
            before,
            "node {i}: an equivocation after the restart"
        );
    }
    c.kill9(victim);
    let store = cairn_node::store::Store::open(&c.ops[victim].data).unwrap();
    let duties = store.duties(slot).unwrap();
    assert!(!duties.is_empty());
    for (kind, _, _, d) in duties {
        assert_eq!(d[..], digest[..], "slot {slot} {}", kind.name());
    }
    drop(store); // the node opens it again below

    // From here on the test reads slots and logs a lot.
    let slot_now = || (l1.latest_timestamp().unwrap() - genesis) / slot_secs;
    let checkpoint_slot = |n: u64| -> u64 {
        l1.call(
            rollup,
            &R::getCheckpointCall {
                _checkpointNumber: U256::from(n),
            },
        )
        .unwrap()
        .slotNumber
        .to()
    };
    let attester_of = |i: usize| *holder.iter().find(|(_, j)| **j == i).unwrap().0;

    // 10. Node 3's remote signer stopped mid-run: node 3 signs nothing and says why on
    //     /status, the others go on without it, and it signs again once the signer is back.
    c.start(victim);
    let remote = attester_of(REMOTE);
    signer.stop();
    let stopped = slot_now();
    c.node(REMOTE)
        .wait_for("node 3 unhealthy without its signer", 120, |n| {
            let (code, body) = status(n);
            code == 500 && body.contains("signing failed") && body.contains(&signer.url)
        });
    checkpoints_without(c.node(0), &l1, rollup, remote, stopped, "node 3's signer");
    signer.resume();
    c.node(REMOTE)
        .wait_for("node 3 healthy with its signer back", 120, |n| {
            status(n).0 == 200
        });
    let back = l1_pending(&l1, rollup);
    c.node(0)
        .wait_for("node 3's attester on L1 again", 240, |n| {
            (back + 1..=l1_pending(&l1, rollup))
                .any(|k| latest(n) >= k && l1_signers(&l1, rollup, n, k).contains(&remote))
        });

    // 11. An HA pair: node 1 and a fifth node (its own identity and publisher) run node 1's
    //     attester key against one PostgreSQL table. They race for every duty, the database
    //     goes down and comes back, and the node that holds a duty is killed -9 in the middle
    //     of signing it; over all of it no duty is signed twice.
    let mut pg = cairn_tests::pg::Postgres::start();
    let pg_url = pg.url();
    // A node refuses to start on a database without the schema (naming the command), or on
    // one that does not answer (naming it, without its password).
    let refused = |url: &str| {
        let out = cairn_tests::run_cairn(
            tmp.path(),
            &[
                "start",
                "--node",
                "--sequencer",
                "--data-directory",
                &tmp.path().join("data-ha-refused").to_string_lossy(),
                "--key-store-directory",
                &c.ops[1].keystore.to_string_lossy(),
            ]
            .map(String::from),
            &[
                net.env(),
                vec![
                    ("SEQ_PUBLISHER_PRIVATE_KEYS".into(), net.account(10).1),
                    ("VALIDATOR_HA_SIGNING_ENABLED".into(), "true".into()),
                    ("VALIDATOR_HA_DATABASE_URL".into(), url.to_string()),
                    ("VALIDATOR_HA_NODE_ID".into(), "refused".into()),
                ],
            ]
            .concat(),
        );
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = refused(&pg_url);
    assert!(err.contains("cairn migrate-ha-db up"), "{err}");
    let dead = format!("postgresql://cairn:s3cret@127.0.0.1:{}/ha", free_port());
    let err = refused(&dead);
    assert!(
        err.contains("unreachable") && err.contains("127.0.0.1") && !err.contains("s3cret"),
        "{err}"
    );
    cli(
        &net,
        tmp.path(),
        &["migrate-ha-db", "up", "--database-url", &pg_url],
    );
    let pair = attester_of(1);
    let twin = c.ops.len();
    {
        let data = tmp.path().join(format!("data{twin}"));
        let keystore = c.ops[1].keystore.clone();
        c.ops.push(Operator::new(tmp.path(), data, keystore));
        c.nodes.push(None);
        c.starts.push(0);
    }
    let ha_id = |i: usize| format!("node{i}");
    let ha_env = |i: usize| {
        vec![
            ("VALIDATOR_HA_SIGNING_ENABLED", "true".to_string()),
            ("VALIDATOR_HA_DATABASE_URL", pg_url.clone()),
            ("VALIDATOR_HA_NODE_ID", ha_id(i)),
        ]
    };
    // Equivocations any node has seen so far: none may be added by the pair.
    let equivocations: BTreeMap<usize, u64> = c
        .running()
        .map(|(i, n)| (i, metric(n, "cairn_consensus_equivocations_total")))
        .collect();
    let killed_in = slot_now();
    c.kill9(1);
    // Node 1 may have signed for the slot it was killed in, and that signature is in its local
    // guard only (the table is new): the twin, knowing nothing of it, could sign that slot's
    // proposal again. As an operator moving a key to a pair must (docs/node.md, "Moving a
    // running key to a pair"), the pair starts once that slot is over.
    c.node(0)
        .wait_for("the slot node 1 was killed in to end", 60, |_| {
            slot_now() > killed_in
        });
    let ha_from = l1_pending(&l1, rollup);
    // Every log either node of the pair writes from now on.
    let mut pair_logs = Vec::new();
    for i in [1, twin] {
        c.start_with(i, &ha_env(i));
        pair_logs.push(c.node(i).log.clone());
    }
    let pair_nodes = [1, twin];
    for i in pair_nodes {
        c.node(i).wait_for(&format!("node {i} synced"), 120, |n| {
            latest(n) >= l1_pending(&l1, rollup)
        });
    }
    // a. Racing, no faults: checkpoints carry the pair's attester.
    c.node(twin)
        .wait_for("3 checkpoints with the pair signing", 300, |n| {
            let p = l1_pending(&l1, rollup);
            p >= ha_from + 3
                && (ha_from + 1..=p)
                    .any(|k| latest(n) >= k && l1_signers(&l1, rollup, n, k).contains(&pair))
        });
    // b. The database down: neither node signs, both say why, and both resume.
    pg.stop();
    let down = slot_now();
    for i in pair_nodes {
        c.node(i).wait_for(
            &format!("node {i} unhealthy without its database"),
            60,
            |n| {
                let (code, body) = status(n);
                code == 500 && body.contains("HA signing") && body.contains("unreachable")
            },
        );
    }
    checkpoints_without(c.node(0), &l1, rollup, pair, down, "the pair's database");
    pg.resume();
    for i in pair_nodes {
        c.node(i).wait_for(
            &format!("node {i} healthy with its database back"),
            60,
            |n| status(n).0 == 200,
        );
    }
    // c. kill -9 inside a duty: both armed, the first to claim one parks holding its row.
    for i in pair_nodes {
        let armed = c
            .node(i)
            .admin_call("nodeAdmin_armFaultPoint", json!(["after-ha-claim"]));
        assert_eq!(armed["result"], "after-ha-claim", "{armed}");
    }
    let parked = |i: usize| {
        std::fs::read_to_string(&c.node(i).log)
            .ok()?
            .lines()
            .find(|l| l.contains("fault point reached"))
            .map(str::to_string)
    };
    let mut hit = None;
    c.node(1)
        .wait_for("a node of the pair parked in a duty", 120, |_| {
            hit = pair_nodes.iter().find_map(|&i| parked(i).map(|l| (i, l)));
            hit.is_some()
        });
    let (dead, line) = hit.unwrap();
    let survivor = if dead == 1 { twin } else { 1 };
    let disarmed = c
        .node(survivor)
        .admin_call("nodeAdmin_armFaultPoint", json!(["none"]));
    assert_eq!(disarmed["result"], "none", "{disarmed}");
    c.kill9(dead);
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k} in {line}"))
            .to_string()
    };
    let stuck_slot: u64 = field("slot").parse().unwrap();
    let mut db = cairn_ha::connect(&pg_url, Duration::from_secs(5)).unwrap();
    let pair_hex = format!("{pair:#x}");
    let rows_of = |db: &mut cairn_ha::Client, slot: u64| -> Vec<(String, String, String)> {
        db.query(
            "SELECT duty_type, status, node_id FROM validator_duties \
             WHERE validator_address = $1 AND slot = $2",
            &[&pair_hex, &(slot as i64)],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
    };
    let stuck = rows_of(&mut db, stuck_slot);
    assert!(
        stuck
            .iter()
            .any(|(_, st, id)| st == "signing" && *id == ha_id(dead)),
        "slot {stuck_slot}: the dead node's claim is not in the table: {stuck:?}"
    );
    // The survivor waited on that claim and stood aside; the duty stays unsigned.
    c.node(survivor)
        .wait_for("the survivor skipping the held duty", 60, |n| {
            std::fs::read_to_string(&n.log)
                .unwrap_or_default()
                .lines()
                .any(|l| {
                    l.contains(&format!("slot={stuck_slot} "))
                        && (l.contains("holds this duty") || l.contains("standing by"))
                })
        });
    // d. The survivor takes over in a later slot.
    c.node(0)
        .wait_for("the survivor signing for the pair on L1", 240, |n| {
            let p = l1_pending(&l1, rollup);
            (ha_from + 1..=p).any(|k| {
                latest(n) >= k
                    && checkpoint_slot(k) > stuck_slot
                    && l1_signers(&l1, rollup, n, k).contains(&pair)
            })
        });
    // e. The dead node restarted deletes its own stuck claim once it is two slots old.
    c.start_with(dead, &ha_env(dead));
    pair_logs.push(c.node(dead).log.clone());
    c.node(dead).wait_for("the stuck claim deleted", 90, |_| {
        !rows_of(&mut db, stuck_slot)
            .iter()
            .any(|(_, st, _)| st == "signing")
    });

    // No duty signed twice. The table: one row per duty (its key), each `signed` row's
    // signature by the pair's attester over its message hash.
    let rows = db
        .query(
            "SELECT slot, duty_type, status, message_hash, signature, node_id \
             FROM validator_duties WHERE validator_address = $1",
            &[&pair_hex],
        )
        .unwrap();
    let mut table: BTreeMap<(u64, String), (B256, attest::RawSignature, String)> = BTreeMap::new();
    let mut by_node: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        let (slot, kind, st): (i64, String, String) = (r.get(0), r.get(1), r.get(2));
        if st != "signed" {
            continue; // a claim still being signed (the pair keeps working)
        }
        let hash: B256 = r.get::<_, String>(3).parse().unwrap();
        let rsv = hex::decode(r.get::<_, String>(4).trim_start_matches("0x")).unwrap();
        assert_eq!(rsv.len(), 65, "r ‖ s ‖ v");
        let mut sig = [0u8; 65];
        sig[0] = rsv[64];
        sig[1..].copy_from_slice(&rsv[..64]);
        assert_eq!(recover(hash, &sig), pair, "slot {slot} {kind}");
        let node: String = r.get(5);
        *by_node.entry(node.clone()).or_default() += 1;
        assert!(
            table
                .insert((slot as u64, kind.clone()), (hash, sig, node))
                .is_none(),
            "slot {slot} {kind} twice in the table"
        );
    }
    assert!(
        by_node
            .keys()
            .all(|id| pair_nodes.iter().any(|&i| ha_id(i) == *id)),
        "{by_node:?}"
    );
    // L1: every signature of the pair's attester is the one the table records for its slot.
    let mut on_l1 = 0;
    for k in ha_from + 1..=l1_pending(&l1, rollup) {
        c.node(0).wait_for("node 0 at it", 60, |x| latest(x) >= k);
        let (slot, digest, sigs) = l1_attestations(&l1, rollup, c.node(0), k);
        for (who, sig) in sigs {
            if who != pair {
                continue;
            }
            on_l1 += 1;
            let (hash, recorded, node) = table
                .get(&(slot, "ATTESTATION".to_string()))
                .unwrap_or_else(|| {
                    panic!("checkpoint {k} (slot {slot}): the pair's signature is not in the table")
                });
            assert_eq!(
                *hash, digest,
                "checkpoint {k}: another payload in the table"
            );
            assert_eq!(
                recorded, &sig,
                "checkpoint {k}: L1 carries a signature {node} did not record"
            );
        }
    }
    assert!(
        on_l1 >= 2,
        "the pair's attester signed {on_l1} checkpoints on L1"
    );
    // What the nodes did: no slot attested by both nodes (or twice by one).
    let mut attested: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let needle = format!("attester={}", pair.to_checksum(None));
    for log in &pair_logs {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        for l in text.lines() {
            if l.contains(" attested ") && l.contains(&needle) {
                let slot: u64 = l
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("slot="))
                    .and_then(|v| v.parse().ok())
                    .unwrap();
                attested
                    .entry(slot)
                    .or_default()
                    .push(log.display().to_string());
            }
        }
    }
    assert!(!attested.is_empty(), "no attestation in the pair's logs");
    for (slot, who) in &attested {
        assert_eq!(who.len(), 1, "slot {slot} attested by {who:?}");
        assert!(
            table.contains_key(&(*slot, "ATTESTATION".to_string())),
            "slot {slot}: attested without a table row"
        );
    }
    // The gossip: no node saw two proposals for one slot from the pair's key.
    for (i, n) in c.running() {
        if let Some(before) = equivocations.get(&i).filter(|_| !pair_nodes.contains(&i)) {
            let now = metric(n, "cairn_consensus_equivocations_total");
            if now != *before {
                // The evidence, for a failure that cannot be rerun at will: what every node
                // logged about it.
                let lines: Vec<String> = c
                    .running()
                    .flat_map(|(j, m)| {
                        std::fs::read_to_string(&m.log)
                            .unwrap_or_default()
                            .lines()
                            .filter(|l| l.contains("quivocat") || l.contains("standing by"))
                            .map(|l| format!("node {j}: {l}"))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                panic!(
                    "node {i} saw an equivocation ({before} before the pair, {now} after):\n{}",
                    lines.join("\n")
                );
            }
        }
    }
}

/// A misbehaving peer: a bare libp2p swarm (TCP, Noise, yamux, gossipsub without cairn's
/// transform, so it can send any bytes, and cairn's request/response codec), run from the test
/// process against the real nodes.
mod hostile {
    use std::time::{Duration, Instant};

    use cairn_wire::reqresp::{Request, Response, Status};
    use cairn_wire::Topic;
    use libp2p::futures::StreamExt;
    use libp2p::gossipsub::{self, IdentTopic};
    use libp2p::request_response::{self, ProtocolSupport};
    use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
    use libp2p::{identity, noise, tcp, yamux, Multiaddr, PeerId, Swarm};

    #[derive(NetworkBehaviour)]
    pub struct B {
        gossipsub: gossipsub::Behaviour,
        reqresp: request_response::Behaviour<cairn_p2p::reqresp::WireCodec>,
    }

    pub struct Hostile {
        rt: tokio::runtime::Runtime,
        swarm: Swarm<B>,
        net: cairn_wire::NetworkId,
        /// The version it claims in handshakes.
        claims: String,
        pub id: PeerId,
        pub connected: bool,
    }

    impl Hostile {
        pub fn new(target: &Multiaddr, net: cairn_wire::NetworkId, claims: &str) -> Hostile {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let key = identity::Keypair::generate_ed25519();
            let id = key.public().to_peer_id();
            let mut swarm = rt.block_on(async {
                libp2p::SwarmBuilder::with_existing_identity(key)
                    .with_tokio()
                    .with_tcp(
                        tcp::Config::default(),
                        noise::Config::new,
                        yamux::Config::default,
                    )
                    .unwrap()
                    .with_behaviour(|_| {
                        let cfg = gossipsub::ConfigBuilder::default()
                            .validation_mode(gossipsub::ValidationMode::Anonymous)
                            // Content ids, as cairn's nodes use: with no author or sequence
                            // number every message would otherwise share one id.
                            .message_id_fn(|m: &gossipsub::Message| {
                                gossipsub::MessageId::from(
                                    cairn_wire::message_id(m.topic.as_str(), &m.data).to_vec(),
                                )
                            })
                            .max_transmit_size(32 << 20)
                            .heartbeat_interval(Duration::from_millis(300))
                            .build()
                            .unwrap();
                        B {
                            gossipsub: gossipsub::Behaviour::new(
                                gossipsub::MessageAuthenticity::Anonymous,
                                cfg,
                            )
                            .unwrap(),
                            reqresp: request_response::Behaviour::new(
                                [
                                    cairn_p2p::reqresp::STATUS,
                                    cairn_p2p::reqresp::BLOCKS,
                                    cairn_p2p::reqresp::TXS,
                                ]
                                .map(|p| (p, ProtocolSupport::Full)),
                                request_response::Config::default(),
                            ),
                        }
                    })
                    .unwrap()
                    .build()
            });
            for t in Topic::ALL {
                swarm
                    .behaviour_mut()
                    .gossipsub
                    .subscribe(&IdentTopic::new(t.path(&net)))
                    .unwrap();
            }
            rt.block_on(async { swarm.dial(target.clone()).unwrap() });
            let mut h = Hostile {
                rt,
                swarm,
                net,
                claims: claims.to_string(),
                id,
                connected: false,
            };
            assert!(
                h.pump_until(Duration::from_secs(20), |h| h.connected),
                "the hostile peer cannot connect to {target}"
            );
            h
        }

        fn handle(&mut self, ev: SwarmEvent<BEvent>) {
            match ev {
                SwarmEvent::ConnectionEstablished { .. } => self.connected = true,
                SwarmEvent::ConnectionClosed {
                    num_established: 0, ..
                } => self.connected = false,
                SwarmEvent::Behaviour(BEvent::Reqresp(request_response::Event::Message {
                    message,
                    ..
                })) => match message {
                    request_response::Message::Request { channel, .. } => {
                        let status = Status {
                            version: self.claims.clone(),
                            tip: 0,
                            tip_archive: Default::default(),
                            proven: 0,
                        };
                        let _ = self
                            .swarm
                            .behaviour_mut()
                            .reqresp
                            .send_response(channel, Response::Status(status));
                    }
                    request_response::Message::Response { .. } => {}
                },
                _ => {}
            }
        }

        /// Drives the swarm until `done` or `within` passes.
        pub fn pump_until(&mut self, within: Duration, done: impl Fn(&Hostile) -> bool) -> bool {
            let deadline = Instant::now() + within;
            while Instant::now() < deadline {
                if done(self) {
                    return true;
                }
                let ev = self.rt.block_on(async {
                    tokio::time::timeout(Duration::from_millis(50), self.swarm.select_next_some())
                        .await
                        .ok()
                });
                if let Some(ev) = ev {
                    self.handle(ev);
                }
            }
            done(self)
        }

        /// Publishes raw bytes (no compression applied) once a peer subscribes to the topic;
        /// does nothing once the node has dropped the connection (banned).
        pub fn publish_raw(&mut self, topic: Topic, raw: Vec<u8>) {
            let t = IdentTopic::new(topic.path(&self.net));
            let deadline = Instant::now() + Duration::from_secs(20);
            while self.connected {
                match self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(t.clone(), raw.clone())
                {
                    Ok(_) => return,
                    Err(e) => assert!(Instant::now() < deadline, "cannot publish: {e}"),
                }
                self.pump_until(Duration::from_millis(100), |_| false);
            }
        }

        /// A well-formed message: compressed as cairn's nodes expect.
        pub fn publish(&mut self, topic: Topic, plain: &[u8]) {
            self.publish_raw(topic, cairn_wire::compress(plain));
        }

        pub fn request(&mut self, peer: PeerId, r: Request) {
            self.swarm.behaviour_mut().reqresp.send_request(&peer, r);
        }
    }
}

/// Waits until `node` no longer lists the hostile peer and its log says it was banned; the
/// hostile peer's swarm keeps running meanwhile (so what it queued is sent), and `more` may
/// send further misdeeds while it is still connected.
fn assert_banned(
    node: &NodeProc,
    h: &mut hostile::Hostile,
    what: &str,
    mut more: impl FnMut(&mut hostile::Hostile, u32),
) {
    let id = h.id.to_string();
    let mut round = 0;
    node.wait_for(&format!("the {what} peer banned"), 120, |n| {
        if h.connected {
            more(h, round);
            round += 1;
        }
        h.pump_until(Duration::from_millis(300), |_| false);
        let listed = n
            .call("p2p_getPeers", json!([]))
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .any(|p| p["id"] == id.as_str());
        let log = std::fs::read_to_string(&n.log).unwrap_or_default();
        !listed
            && log
                .lines()
                .any(|l| l.contains("peer banned") && l.contains(&id))
    });
}

/// Four operators, one validator each, building a block every 2 s (three per checkpoint, one tx
/// per block): validators re-execute the blocks as they are gossiped and hold them as proposed
/// before the checkpoint reaches L1; every node ends with the same blocks; a proposer that
/// gossips a block that does not re-execute gets no attestation for that checkpoint, its
/// blocks are rolled back, and checkpoints resume in the next slots.
#[test]
fn blocks_are_gossiped_as_built_and_a_bad_block_costs_its_proposer_the_checkpoint() {
    let net = Devnet::start_with(&["--accounts", "16"]);
    let tmp = tempfile::tempdir().unwrap();
    let keys = cairn_tests::node::register_four_validators(&net, tmp.path(), M, FEE);
    let doc: Value =
        serde_json::from_slice(&std::fs::read(keys.join("key1.json")).unwrap()).unwrap();
    let ops = operators(tmp.path(), &doc, None);
    let rpc = RpcClient::new(&[net.rpc()]).unwrap();
    let l1 = L1::connect(rpc.clone(), Some(31337)).unwrap();
    let rollup: Address = net.address("rollup").parse().unwrap();
    to_first_committee_epoch(&rpc, &l1, rollup);
    let mut c = Cluster {
        net: &net,
        ops,
        nodes: (0..NODES).map(|_| None).collect(),
        starts: vec![0; NODES],
    };
    let multi = [
        ("SEQ_BLOCK_DURATION_MS", "2000".to_string()),
        ("SEQ_MAX_TX_PER_BLOCK", "1".to_string()),
    ];
    for i in 0..NODES {
        c.start_with(i, &multi);
    }
    c.node(0).wait_for("2 checkpoints", 240, |n| latest(n) >= 2);

    // Txs for several blocks per checkpoint, sent to node 0 and gossiped to every pool.
    let send = |from: usize| -> String {
        let out = cli(
            &net,
            tmp.path(),
            &[
                "tx",
                "transfer",
                "--node-url",
                &c.node(0).rpc,
                "--from",
                &from.to_string(),
                "--to",
                "1",
                "--amount",
                "1",
            ],
        );
        out.lines().next().unwrap().trim().to_string()
    };
    let hashes: Vec<String> = (2..8).map(send).collect();
    let receipt = |n: &NodeProc, h: &str| n.call("node_getTxReceipt", json!([h])).unwrap();
    c.node(0).wait_for("six txs checkpointed", 240, |n| {
        hashes
            .iter()
            .all(|h| receipt(n, h)["status"] == "checkpointed")
    });
    // Blocks of several-block checkpoints, held by every node as the proposer built them; at
    // least one node that did not propose them held them as proposed before L1 had them.
    let upto = latest(c.node(0));
    let mut blocks_per_checkpoint: BTreeMap<u64, usize> = BTreeMap::new();
    for k in 1..=upto {
        let archives: BTreeSet<String> = c
            .running()
            .map(|(i, n)| {
                n.wait_for(&format!("node {i} at {k}"), 120, |x| latest(x) >= k);
                let b = n.call("node_getBlock", json!([k])).unwrap();
                format!("{}/{}", b["archive"], b["checkpoint"])
            })
            .collect();
        assert_eq!(
            archives.len(),
            1,
            "block {k} differs between nodes: {archives:?}"
        );
        let b = c.node(0).call("node_getBlock", json!([k])).unwrap();
        *blocks_per_checkpoint
            .entry(b["checkpoint"].as_u64().unwrap())
            .or_default() += 1;
    }
    assert!(
        blocks_per_checkpoint.values().any(|n| *n >= 2),
        "no checkpoint of several blocks: {blocks_per_checkpoint:?}"
    );
    let held: usize = (0..NODES)
        .map(|i| {
            let log = std::fs::read_to_string(c.ops[i].tmp.join(format!("node{i}-1.log")))
                .unwrap_or_default();
            log.matches("block proposal re-executed; held as proposed")
                .count()
        })
        .sum();
    assert!(
        held >= 2,
        "validators held {held} gossiped blocks as proposed"
    );
    assert!(
        c.running()
            .map(|(_, n)| metric(n, "cairn_consensus_block_proposals_received_total"))
            .sum::<u64>()
            >= 2
    );

    // A proposer gossips a block whose header its txs do not give (every node armed: the next
    // one to propose does it). Validators refuse it and attest to nothing of that slot; the
    // proposer rolls its blocks back.
    for (_, n) in c.running() {
        assert_eq!(
            n.admin_call("nodeAdmin_armFaultPoint", json!(["gossip-bad-block"]))["result"],
            "gossip-bad-block"
        );
    }
    let logs = |c: &Cluster| -> String {
        (0..NODES)
            .map(|i| {
                std::fs::read_to_string(c.ops[i].tmp.join(format!("node{i}-1.log")))
                    .unwrap_or_default()
            })
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while !logs(&c)
        .contains("gossiped a block that does not re-execute; no attestation for this slot")
        || !logs(&c).contains("proposed blocks rolled back")
    {
        assert!(
            Instant::now() < deadline,
            "no bad block refused and rolled back"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    for (_, n) in c.running() {
        n.admin_call("nodeAdmin_armFaultPoint", json!(["none"]));
    }
    let all = logs(&c);
    assert!(
        all.contains("does not re-execute") && all.contains("attestations"),
        "the bad block's proposer did not say it lacked attestations"
    );
    // A checkpoint whose publish fails (every node armed again; whoever proposes next): the
    // validators that hold its gossiped blocks roll them back once its slot is over, as the
    // proposer does at once.
    for (_, n) in c.running() {
        n.admin_call("nodeAdmin_armFaultPoint", json!(["publish-fails"]));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while !logs(&c).contains("did not reach L1 within its slot") {
        assert!(
            Instant::now() < deadline,
            "no validator rolled back the unpublished blocks"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    for (_, n) in c.running() {
        n.admin_call("nodeAdmin_armFaultPoint", json!(["none"]));
    }
    let wait_logs = |c: &Cluster, needle: &str, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(240);
        while !logs(c).contains(needle) {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    // Block proposals out of order (every node armed: the next proposer with two gossiped
    // blocks sends the second first). Validators hold the second until the first comes, keep
    // both, and the checkpoint lands with their attestations.
    for (_, n) in c.running() {
        assert_eq!(
            n.admin_call(
                "nodeAdmin_armFaultPoint",
                json!(["gossip-blocks-out-of-order"])
            )["result"],
            "gossip-blocks-out-of-order"
        );
    }
    // Only slots that start after the switch is on hold their first block back: wait for two
    // checkpoints (the slot in progress, then a whole one) before sending. Three txs, one per
    // block, give some armed slot two gossiped blocks.
    let at = l1_pending(&l1, rollup);
    c.node(0).wait_for("2 checkpoints after arming", 120, |_| {
        l1_pending(&l1, rollup) >= at + 2
    });
    let swapped: Vec<String> = (8..11).map(send).collect();
    wait_logs(
        &c,
        "early block proposal re-executed once its predecessor came",
        "no validator kept a block proposal that came before its predecessor",
    );
    for (_, n) in c.running() {
        n.admin_call("nodeAdmin_armFaultPoint", json!(["none"]));
    }
    c.node(0)
        .wait_for("the swapped blocks' txs checkpointed", 240, |n| {
            swapped
                .iter()
                .all(|h| receipt(n, h)["status"] == "checkpointed")
        });
    // Txs only the proposer holds (node 0 stops gossiping what its RPC accepts): proposals
    // name them by hash, and validators fetch them from peers to re-execute and attest.
    assert_eq!(
        c.node(0)
            .admin_call("nodeAdmin_armFaultPoint", json!(["keep-txs-local"]))["result"],
        "keep-txs-local"
    );
    let local: Vec<String> = (11..13).map(send).collect();
    c.node(0)
        .wait_for("node 0's local txs checkpointed", 300, |n| {
            local
                .iter()
                .all(|h| receipt(n, h)["status"] == "checkpointed")
        });
    c.node(0)
        .admin_call("nodeAdmin_armFaultPoint", json!(["none"]));
    let fetched: u64 = c
        .running()
        .filter(|(i, _)| *i != 0)
        .map(|(_, n)| metric(n, "cairn_consensus_txs_fetched_total"))
        .sum();
    assert!(fetched >= 1, "no validator fetched a tx it lacked");
    // Checkpoints resume, and every node agrees on them.
    let at = l1_pending(&l1, rollup);
    c.node(0).wait_for("2 more checkpoints", 240, |_| {
        l1_pending(&l1, rollup) >= at + 2
    });
    let late: Vec<String> = (13..15).map(send).collect();
    c.node(0).wait_for("txs after the bad block", 240, |n| {
        late.iter()
            .all(|h| receipt(n, h)["status"] == "checkpointed")
    });
    let upto = latest(c.node(0));
    for k in 1..=upto {
        let archives: BTreeSet<String> = c
            .running()
            .map(|(i, n)| {
                n.wait_for(&format!("node {i} at {k}"), 120, |x| latest(x) >= k);
                n.call("node_getBlock", json!([k])).unwrap()["archive"].to_string()
            })
            .collect();
        assert_eq!(archives.len(), 1, "block {k} differs after the bad block");
    }
}
