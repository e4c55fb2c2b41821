//! Blob transactions against the devnet's anvil: a type-3 transaction with a KZG-committed
//! sidecar is accepted, its versioned hashes are visible to `blobhash`, and the blobs can be read
//! back and checked against those hashes (the archiver's path on a devnet).

use alloy_primitives::Address;
use cairn_l1::blob::{BlobBundle, BYTES_PER_BLOB};
use cairn_l1::{signer_from_hex, RpcClient, L1};
use cairn_tests::Devnet;

#[test]
fn blob_transaction_round_trip() {
    let net = Devnet::start();
    let l1 = L1::connect(RpcClient::new(&[net.rpc()]).expect("rpc"), Some(31337)).expect("l1");
    let (_, key) = net.account(3);
    let signer = signer_from_hex(&key).expect("key");
    let mut blob = Box::new([0u8; BYTES_PER_BLOB]);
    for (i, chunk) in blob.chunks_mut(32).enumerate().take(64) {
        chunk[31] = i as u8;
        chunk[1] = 0xab;
    }
    let bundle = BlobBundle::new(vec![blob.clone()]).expect("commit");
    assert_eq!(bundle.versioned_hashes[0].0[0], 1);
    let to: Address = net.account(4).0.parse().expect("address");
    let receipt = l1
        .send_blob_tx(&signer, "blob test", to, Vec::new(), 100_000, &bundle)
        .expect("blob tx mined");
    let back = l1.blobs_of_tx(receipt.hash).expect("blobs back");
    assert_eq!(back.len(), 1);
    assert_eq!(back[0][..], blob[..]);
    BlobBundle::verify_blob(&back[0], &bundle.versioned_hashes[0]).expect("matches hash");
    let other = BlobBundle::new(vec![Box::new([0u8; BYTES_PER_BLOB])]).expect("commit");
    assert!(BlobBundle::verify_blob(&back[0], &other.versioned_hashes[0]).is_err());
    // A valid point-evaluation input (what the epoch proof carries).
    let input = bundle
        .point_evaluation_input(0, [0u8; 32])
        .expect("opening");
    assert_eq!(input.len(), 192);
}

/// A beacon node stand-in: genesis, spec, and the sidecars of one slot.
fn mock_beacon(slot: u64, sidecars: serde_json::Value) -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", server.server_addr().to_ip().expect("ip"));
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let body = match req.url() {
                "/eth/v1/beacon/genesis" => serde_json::json!({"data": {"genesis_time": "1000"}}),
                "/eth/v1/config/spec" => serde_json::json!({"data": {"SECONDS_PER_SLOT": "12"}}),
                u if u == format!("/eth/v1/beacon/blob_sidecars/{slot}") => sidecars.clone(),
                _ => {
                    let _ = req.respond(
                        tiny_http::Response::from_string("not found").with_status_code(404),
                    );
                    continue;
                }
            };
            let _ = req.respond(tiny_http::Response::from_string(body.to_string()));
        }
    });
    url
}

#[test]
fn blobs_come_from_a_beacon_node_and_are_checked_against_their_hashes() {
    use cairn_l1::beacon::Beacon;
    let mut a = Box::new([0u8; BYTES_PER_BLOB]);
    a[1] = 7;
    let mut b = Box::new([0u8; BYTES_PER_BLOB]);
    b[33] = 9;
    let ba = BlobBundle::new(vec![a.clone()]).unwrap();
    let bb = BlobBundle::new(vec![b.clone()]).unwrap();
    let side = |blob: &[u8], c: &[u8; 48]| serde_json::json!({"blob": format!("0x{}", hex::encode(blob)), "kzg_commitment": format!("0x{}", hex::encode(c))});
    // Slot 5 holds both sidecars; the block's timestamp falls inside it.
    let url = mock_beacon(
        5,
        serde_json::json!({"data": [side(&b[..], &bb.commitments[0]), side(&a[..], &ba.commitments[0])]}),
    );
    let beacon = Beacon::new(std::slice::from_ref(&url));
    let got = beacon
        .blobs_at(
            1000 + 5 * 12 + 7,
            &[ba.versioned_hashes[0], bb.versioned_hashes[0]],
        )
        .expect("both blobs");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0][..], a[..]);
    assert_eq!(got[1][..], b[..]);
    // Another slot: nothing there.
    let e = beacon
        .blobs_at(1000 + 9 * 12, &[ba.versioned_hashes[0]])
        .unwrap_err();
    assert!(
        e.to_string().contains("404") || e.to_string().contains("no blob"),
        "{e}"
    );
    // A server that lies: the commitment of `a` with the bytes of `b`.
    let liar = mock_beacon(
        5,
        serde_json::json!({"data": [side(&b[..], &ba.commitments[0])]}),
    );
    let e = Beacon::new(&[liar])
        .blobs_at(1000 + 60, &[ba.versioned_hashes[0]])
        .unwrap_err();
    assert!(e.to_string().contains("does not match"), "{e}");
    // Failover: a dead URL first, then the good one.
    let got = Beacon::new(&["http://127.0.0.1:9".to_string(), url])
        .blobs_at(1000 + 60, &[bb.versioned_hashes[0]])
        .expect("second URL");
    assert_eq!(got[0][..], b[..]);
    assert!(Beacon::new(&[]).blobs_at(1060, &[]).is_err());
}
