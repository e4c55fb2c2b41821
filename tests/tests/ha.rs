//! HA signing against a real PostgreSQL (a throwaway cluster, no devnet): the schema and
//! `cairn migrate-ha-db`, two nodes racing for the same duties, a row left `signing` by a dead
//! node, a conflicting message, and the database going down and coming back.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256};
use cairn_ha::{Claim, Duty, DutyType, HaConfig, HaError, HaSigner};
use cairn_tests::pg::Postgres;
use cairn_tests::run_cairn;

fn migrate(pg: &Postgres, dir: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let o = run_cairn(
        tmp.path(),
        &[
            "migrate-ha-db".into(),
            dir.into(),
            "--database-url".into(),
            pg.url(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn signer(pg: &Postgres, node: &str) -> HaSigner {
    let mut cfg = HaConfig::new(pg.url(), node.into(), 12);
    cfg.signing_timeout = Duration::from_millis(400);
    cfg.polling_interval = Duration::from_millis(20);
    cfg.max_stuck_age = Duration::from_millis(300);
    HaSigner::connect(cfg).unwrap()
}

fn duty(slot: u64, kind: DutyType, validator: u8) -> Duty {
    Duty {
        rollup: Address::repeat_byte(0xaa),
        validator: Address::repeat_byte(validator),
        slot,
        kind,
        block_index: 0,
        block_number: slot,
        checkpoint_number: slot,
    }
}

#[test]
fn the_schema_is_aztecs_and_migrates_up_and_down() {
    let pg = Postgres::start();
    // Before any migration a node refuses the database and names the command.
    let mut cfg = HaConfig::new(pg.url(), "a".into(), 12);
    cfg.connect_timeout = Duration::from_secs(5);
    let e = HaSigner::connect(cfg.clone()).unwrap_err();
    assert!(
        matches!(e, HaError::SchemaBehind { found: 0, need: 2 }),
        "{e}"
    );
    assert!(e.to_string().contains("cairn migrate-ha-db up"), "{e}");

    assert!(migrate(&pg, "up").contains("version 0 -> 2"));
    assert!(migrate(&pg, "up").contains("already at version 2"));
    let mut c = cairn_ha::connect(&pg.url(), Duration::from_secs(5)).unwrap();
    // Column for column the table of Aztec's validator-ha-signer (schema.ts + migration 2).
    let cols: Vec<(String, String, String)> = c
        .query(
            "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
             WHERE table_name = 'validator_duties' ORDER BY ordinal_position",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let want = [
        ("rollup_address", "character varying", "NO"),
        ("validator_address", "character varying", "NO"),
        ("slot", "bigint", "NO"),
        ("block_number", "bigint", "NO"),
        ("block_index_within_checkpoint", "integer", "NO"),
        ("duty_type", "character varying", "NO"),
        ("status", "character varying", "NO"),
        ("message_hash", "character varying", "NO"),
        ("signature", "character varying", "YES"),
        ("node_id", "character varying", "NO"),
        ("lock_token", "character varying", "NO"),
        ("started_at", "timestamp without time zone", "NO"),
        ("completed_at", "timestamp without time zone", "YES"),
        ("error_message", "text", "YES"),
        ("checkpoint_number", "bigint", "NO"),
    ];
    assert_eq!(
        cols,
        want.iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect::<Vec<_>>()
    );
    let pk: Vec<String> = c
        .query(
            "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid \
             AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'validator_duties'::regclass \
             AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        pk,
        [
            "rollup_address",
            "validator_address",
            "slot",
            "duty_type",
            "block_index_within_checkpoint"
        ]
    );
    assert!(HaSigner::connect(cfg.clone()).is_ok());

    assert!(migrate(&pg, "down").contains("version 2 -> 1"));
    let e = HaSigner::connect(cfg.clone()).unwrap_err();
    assert!(matches!(e, HaError::SchemaBehind { found: 1, .. }), "{e}");
    assert!(migrate(&pg, "down").contains("version 1 -> 0"));
    assert!(migrate(&pg, "up").contains("version 0 -> 2"));
    // A schema newer than ours is refused too.
    c.batch_execute("INSERT INTO schema_version (version) VALUES (3)")
        .unwrap();
    let e = HaSigner::connect(cfg).unwrap_err();
    assert!(matches!(e, HaError::SchemaAhead { found: 3, .. }), "{e}");
}

#[test]
fn two_nodes_racing_for_every_duty_sign_each_exactly_once() {
    let pg = Postgres::start();
    migrate(&pg, "up");
    let kinds = [
        DutyType::CheckpointProposal,
        DutyType::BlockProposal,
        DutyType::Attestation,
        DutyType::AttestationsAndSigners,
    ];
    let duties: Vec<Duty> = (0..60u64)
        .flat_map(|slot| kinds.iter().map(move |k| duty(100 + slot, *k, 1)))
        .collect();
    let barrier = Arc::new(Barrier::new(2));
    let run = |node: &'static str| {
        let s = signer(&pg, node);
        let duties = duties.clone();
        let barrier = barrier.clone();
        move || {
            let mut signed = Vec::new();
            for d in &duties {
                barrier.wait(); // both claim the same duty at the same moment
                let message = B256::repeat_byte(d.slot as u8);
                match s.claim(d, message).unwrap() {
                    Claim::Mine(lock) => {
                        s.complete(lock, &[7u8; 65]).unwrap();
                        signed.push(d.clone());
                    }
                    Claim::SignedElsewhere { node_id } => assert_ne!(node_id, node),
                    Claim::HeldElsewhere { node_id } => {
                        panic!("{node}: {node_id} held {d:?} past the timeout")
                    }
                }
            }
            signed
        }
    };
    let (a, b) = std::thread::scope(|sc| {
        let a = sc.spawn(run("node-a"));
        let b = sc.spawn(run("node-b"));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a.len() + b.len(), duties.len(), "every duty signed once");
    for d in &a {
        assert!(!b.contains(d), "{d:?} signed by both");
    }
    assert!(!a.is_empty() && !b.is_empty(), "both nodes won some races");
    let mut c = cairn_ha::connect(&pg.url(), Duration::from_secs(5)).unwrap();
    let row = c
        .query_one(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'signed') FROM validator_duties",
            &[],
        )
        .unwrap();
    let (all, signed): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!((all, signed), (duties.len() as i64, duties.len() as i64));
}

#[test]
fn a_row_left_signing_by_a_dead_node_blocks_only_that_duty_until_its_node_cleans_it() {
    let pg = Postgres::start();
    migrate(&pg, "up");
    let a = signer(&pg, "node-a");
    let b = signer(&pg, "node-b");
    let stuck = duty(7, DutyType::Attestation, 2);
    // Node a takes the duty and dies before signing (its lock is never completed).
    let Claim::Mine(lock) = a.claim(&stuck, B256::repeat_byte(1)).unwrap() else {
        panic!("the first claim wins")
    };
    std::mem::forget(lock);
    drop(a);
    // Node b waits the signing timeout on that row and skips the duty, never signing it.
    let t = Instant::now();
    match b.claim(&stuck, B256::repeat_byte(1)).unwrap() {
        Claim::HeldElsewhere { node_id } => assert_eq!(node_id, "node-a"),
        other => panic!("{other:?}"),
    }
    assert!(t.elapsed() >= Duration::from_millis(400));
    // Every other duty goes on.
    let next = duty(8, DutyType::Attestation, 2);
    let Claim::Mine(lock) = b.claim(&next, B256::repeat_byte(2)).unwrap() else {
        panic!("an unrelated duty is free")
    };
    b.complete(lock, &[1; 65]).unwrap();
    // Node b's cleanup never touches node a's row.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(b.cleanup_own_stuck().unwrap(), 0);
    // Node a, restarted, deletes its own stuck row once it is older than the configured age.
    let a = signer(&pg, "node-a");
    assert_eq!(a.cleanup_own_stuck().unwrap(), 1);
    assert_eq!(a.cleanup_own_stuck().unwrap(), 0);
    // Rows of other rollups go at start; this rollup's signed rows stay.
    let mut c = cairn_ha::connect(&pg.url(), Duration::from_secs(5)).unwrap();
    c.batch_execute(
        "INSERT INTO validator_duties (rollup_address, validator_address, slot, block_number, \
         duty_type, status, message_hash, node_id, lock_token) VALUES ('0x01', '0x02', 1, 1, \
         'ATTESTATION', 'signed', '0x03', 'old', 'tok')",
    )
    .unwrap();
    assert_eq!(
        a.cleanup_other_rollups(Address::repeat_byte(0xaa)).unwrap(),
        1
    );
    let left: i64 = c
        .query_one("SELECT COUNT(*) FROM validator_duties", &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 1);
}

#[test]
fn a_different_message_for_a_signed_duty_is_refused() {
    let pg = Postgres::start();
    migrate(&pg, "up");
    let a = signer(&pg, "node-a");
    let b = signer(&pg, "node-b");
    let d = duty(9, DutyType::CheckpointProposal, 3);
    let Claim::Mine(lock) = a.claim(&d, B256::repeat_byte(1)).unwrap() else {
        panic!()
    };
    a.complete(lock, &[1; 65]).unwrap();
    assert!(matches!(
        b.claim(&d, B256::repeat_byte(1)).unwrap(),
        Claim::SignedElsewhere { .. }
    ));
    let e = b.claim(&d, B256::repeat_byte(2)).unwrap_err();
    assert!(matches!(e, HaError::Conflict { .. }), "{e}");
    assert!(e.to_string().contains("slashing protection"), "{e}");
    // A released lock frees the duty for the other node.
    let d2 = duty(10, DutyType::Attestation, 3);
    let Claim::Mine(lock) = a.claim(&d2, B256::repeat_byte(5)).unwrap() else {
        panic!()
    };
    a.release(lock).unwrap();
    assert!(matches!(
        b.claim(&d2, B256::repeat_byte(5)).unwrap(),
        Claim::Mine(_)
    ));
}

#[test]
fn with_the_database_down_nothing_is_signed_and_signing_resumes_when_it_returns() {
    let mut pg = Postgres::start();
    migrate(&pg, "up");
    let mut cfg = HaConfig::new(pg.url(), "node-a".into(), 12);
    cfg.connect_timeout = Duration::from_secs(2);
    let a = HaSigner::connect(cfg).unwrap();
    pg.stop();
    let e = a
        .claim(&duty(11, DutyType::Attestation, 4), B256::ZERO)
        .unwrap_err();
    assert!(
        matches!(e, HaError::Query(_) | HaError::Unreachable { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("no duty is signed"), "{e}");
    let e = a.ping().unwrap_err();
    assert!(e.to_string().contains("unreachable"), "{e}");
    pg.resume();
    a.ping().unwrap();
    assert!(matches!(
        a.claim(&duty(11, DutyType::Attestation, 4), B256::ZERO)
            .unwrap(),
        Claim::Mine(_)
    ));
}
