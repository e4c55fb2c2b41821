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
