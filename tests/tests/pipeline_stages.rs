//! The four stages natively, on a scenario world: valid txs pass every stage and change the
//! state as expected; each invalid class is rejected with its typed reason.

use ark_std::rand::{rngs::StdRng, SeedableRng};
use cairn_protocol::crypto::NativeCrypto;
use cairn_protocol::stages::{self, BlockHeader, Rejection};
use cairn_protocol::vm::contracts::{COUNTER_ADDRESS, TOKEN_ADDRESS};
use cairn_protocol::vm::Word;
use cairn_zk::scenario::{Kind, Scenario};

fn run(s: &Scenario, bytes: &[u8]) -> Result<stages::TxEffects, Rejection> {
    let ctx = s.context();
    let v = stages::validate(bytes, &ctx, &s.state, &NativeCrypto)?;
    stages::verify_proofs(std::slice::from_ref(&v), &s.state, &NativeCrypto).remove(0)?;
    stages::execute_block(&[v], &ctx, &s.state).remove(0)
}

#[test]
fn every_class_gets_its_typed_reason() {
    let s = Scenario::new(4);
    let mut rng = StdRng::seed_from_u64(7);
    let expect = [
        (Kind::Transfer, None),
        (Kind::Counter, None),
        (Kind::PrivateSpend, None),
        (Kind::WrongChainId, Some("wrong-chain-id")),
        (Kind::Expired, Some("expired")),
        (Kind::DoubleSpend, Some("double-spend")),
        (Kind::BadProof, Some("bad-proof")),
        (Kind::UnknownAnchor, Some("unknown-anchor")),
        (Kind::InsufficientFee, Some("insufficient-fee")),
        (Kind::VmRevert, Some("vm-revert")),
        (Kind::OutOfGas, Some("out-of-gas")),
        (Kind::Malformed, Some("malformed")),
    ];
    for (kind, code) in expect {
        let bytes = s.make(kind, 1, 3, &mut rng);
        let r = run(&s, &bytes);
        match code {
            None => assert!(r.is_ok(), "{kind:?}: {r:?}"),
            Some(c) => assert_eq!(
                r.as_ref().err().map(|e| e.code()),
                Some(c),
                "{kind:?}: {r:?}"
            ),
        }
    }
    // A tampered signature.
    let mut tx = s.transfer(0, 1, 5, 1);
    tx.signature[10] ^= 1;
    assert!(matches!(
        run(&s, &tx.encode()),
        Err(Rejection::BadSignature)
    ));
    // Someone else as fee payer.
    let mut tx = s.transfer(0, 1, 5, 1);
    tx.fee_payer = s.accounts[2].address;
    let tx = s.sign(0, tx);
    assert!(matches!(
        run(&s, &tx.encode()),
        Err(Rejection::FeePayerNotSender)
    ));
}

#[test]
fn a_block_of_valid_txs_changes_the_state_as_expected() {
    let mut s = Scenario::new(3);
    let mut rng = StdRng::seed_from_u64(8);
    let ctx = s.context();
    let txs = [
        s.transfer(0, 1, 100, 1).encode(),
        s.counter(2, 2).encode(),
        s.counter(1, 3).encode(),
        s.private_spend(2, 0, 250, &mut rng).encode(),
    ];
    let valid: Vec<_> = txs
        .iter()
        .map(|b| stages::validate(b, &ctx, &s.state, &NativeCrypto).unwrap())
        .collect();
    assert!(stages::verify_proofs(&valid, &s.state, &NativeCrypto)
        .iter()
        .all(|r| r.is_ok()));
    let effects: Vec<_> = stages::execute_block(&valid, &ctx, &s.state)
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let fee_before = s.state.balance(
        &cairn_protocol::vm::contracts::FEE_ADDRESS,
        &s.accounts[0].address,
    );
    let header = BlockHeader {
        chain_id: ctx.chain_id,
        rollup_version: ctx.rollup_version,
        block_number: ctx.block_number,
        slot: 1,
        fee_per_mana: ctx.fee_per_mana,
        coinbase: ctx.coinbase,
        previous_archive: [0; 32],
        note_root: [0; 32],
        nullifier_root: [0; 32],
        public_data_root: [0; 32],
        effects_hash: stages::effects_hash(&NativeCrypto, &effects),
        tx_count: 0,
        gas_used: 0,
    };
    let notes_before = s.state.notes.len();
    let header = s.state.apply_block(header, &effects);
    assert_eq!(
        s.state.balance(&TOKEN_ADDRESS, &s.accounts[0].address),
        1_000_000 - 100
    );
    assert_eq!(
        s.state.balance(&TOKEN_ADDRESS, &s.accounts[1].address),
        1_000_000 + 100
    );
    assert_eq!(
        s.state.read_slot(&COUNTER_ADDRESS, &Word::ZERO),
        ark_bn254::Fr::from(2u64)
    );
    assert_eq!(s.state.notes.len(), notes_before + 2);
    // Fees: exactly gas used × fee per mana left the sender, and went to the coinbase.
    let fee_after = s.state.balance(
        &cairn_protocol::vm::contracts::FEE_ADDRESS,
        &s.accounts[0].address,
    );
    assert_eq!(fee_before - fee_after, effects[0].fee);
    assert_eq!(
        effects[0].fee,
        u128::from(effects[0].gas_used) * ctx.fee_per_mana
    );
    let total: u128 = effects.iter().map(|e| e.fee).sum();
    assert_eq!(
        s.state
            .balance(&cairn_protocol::vm::contracts::FEE_ADDRESS, &ctx.coinbase),
        total
    );
    // The spent note cannot be spent again, and the same tx cannot be included twice.
    let again = stages::validate(&txs[3], &s.context(), &s.state, &NativeCrypto);
    assert_eq!(again.err().map(|e| e.code()), Some("double-spend"));
    let again = stages::validate(&txs[1], &s.context(), &s.state, &NativeCrypto);
    assert_eq!(again.err().map(|e| e.code()), Some("double-spend"));

    // Attestation: agrees with an identical header, refuses a different one.
    let enc = header.encode();
    let digest = stages::attest(&enc, &header, &NativeCrypto).unwrap();
    assert_ne!(digest, [0; 32]);
    let mut other = header.clone();
    other.public_data_root[0] ^= 1;
    assert_eq!(
        stages::attest(&other.encode(), &header, &NativeCrypto)
            .unwrap_err()
            .to_string(),
        "proposal public data root differs from re-execution"
    );
    assert!(stages::attest(&enc[..10], &header, &NativeCrypto).is_err());
}

#[test]
fn within_a_block_a_note_is_spent_once() {
    let s = Scenario::new(2);
    let mut rng = StdRng::seed_from_u64(9);
    let ctx = s.context();
    let a = s.private_spend(0, 1, 10, &mut rng).encode();
    let b = s.private_spend(0, 1, 20, &mut rng).encode(); // same note, other outputs
    let va = stages::validate(&a, &ctx, &s.state, &NativeCrypto).unwrap();
    let vb = stages::validate(&b, &ctx, &s.state, &NativeCrypto).unwrap();
    let r = stages::execute_block(&[va, vb], &ctx, &s.state);
    assert!(r[0].is_ok());
    assert_eq!(r[1].as_ref().err().map(|e| e.code()), Some("double-spend"));
}

#[test]
fn batched_proof_verification_finds_the_bad_one() {
    let s = Scenario::new(6);
    let mut rng = StdRng::seed_from_u64(10);
    let ctx = s.context();
    let mut txs: Vec<_> = (0..5)
        .map(|i| s.private_spend(i, i + 1, 5, &mut rng))
        .collect();
    txs[3].spends[0].proof[40] ^= 1;
    let txs: Vec<_> = txs
        .iter()
        .enumerate()
        .map(|(i, t)| s.sign(i, t.clone()))
        .collect();
    let valid: Vec<_> = txs
        .iter()
        .map(|t| stages::validate(&t.encode(), &ctx, &s.state, &NativeCrypto).unwrap())
        .collect();
    let r = stages::verify_proofs(&valid, &s.state, &NativeCrypto);
    for (i, x) in r.iter().enumerate() {
        assert_eq!(x.is_ok(), i != 3, "{i}: {x:?}");
    }
}
