//! The duty table's schema and its versions: Aztec's `validator-ha-signer` migrations 1 (the
//! table, its indexes, `schema_version`) and 2 (`checkpoint_number`), written so that either
//! client's migrations can run on a database the other created (every statement idempotent).

use postgres::{Client, GenericClient};

use crate::HaError;

/// The schema version this node needs.
pub const SCHEMA_VERSION: i32 = 2;

const V1: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS schema_version (
        version INTEGER PRIMARY KEY,
        applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
    )",
    "CREATE TABLE IF NOT EXISTS validator_duties (
        rollup_address VARCHAR(42) NOT NULL,
        validator_address VARCHAR(42) NOT NULL,
        slot BIGINT NOT NULL,
        block_number BIGINT NOT NULL,
        block_index_within_checkpoint INTEGER NOT NULL DEFAULT 0,
        duty_type VARCHAR(30) NOT NULL CHECK (duty_type IN ('BLOCK_PROPOSAL', 'CHECKPOINT_PROPOSAL',
            'ATTESTATION', 'ATTESTATIONS_AND_SIGNERS', 'GOVERNANCE_VOTE', 'SLASHING_VOTE')),
        status VARCHAR(20) NOT NULL CHECK (status IN ('signing', 'signed')),
        message_hash VARCHAR(66) NOT NULL,
        signature VARCHAR(132),
        node_id VARCHAR(255) NOT NULL,
        lock_token VARCHAR(64) NOT NULL,
        started_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        completed_at TIMESTAMP,
        error_message TEXT,
        PRIMARY KEY (rollup_address, validator_address, slot, duty_type, block_index_within_checkpoint),
        CHECK (completed_at IS NULL OR completed_at >= started_at)
    )",
    "CREATE INDEX IF NOT EXISTS idx_validator_duties_status ON validator_duties(status, started_at)",
    "CREATE INDEX IF NOT EXISTS idx_validator_duties_node ON validator_duties(node_id, started_at)",
    "INSERT INTO schema_version (version) VALUES (1) ON CONFLICT (version) DO NOTHING",
];

const V1_DOWN: &[&str] = &[
    "DROP TABLE IF EXISTS validator_duties",
    "DROP TABLE IF EXISTS schema_version",
];

const V2: &[&str] = &[
    "ALTER TABLE validator_duties ADD COLUMN IF NOT EXISTS checkpoint_number BIGINT NOT NULL DEFAULT 0",
    "INSERT INTO schema_version (version) VALUES (2) ON CONFLICT (version) DO NOTHING",
];

const V2_DOWN: &[&str] = &[
    "ALTER TABLE validator_duties DROP COLUMN IF EXISTS checkpoint_number",
    "DELETE FROM schema_version WHERE version = 2",
];

/// The database's schema version: 0 when nothing was migrated.
pub fn version(c: &mut impl GenericClient) -> Result<i32, postgres::Error> {
    let exists: bool = c
        .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let v: Option<i32> = c
        .query_one("SELECT MAX(version) FROM schema_version", &[])?
        .get(0);
    Ok(v.unwrap_or(0))
}

/// Applies every missing migration in one transaction; returns (before, after).
pub fn up(c: &mut Client) -> Result<(i32, i32), postgres::Error> {
    let mut tx = c.transaction()?;
    let before = version(&mut tx)?;
    for (v, steps) in [(1, V1), (2, V2)] {
        if before < v {
            for s in steps {
                tx.batch_execute(s)?;
            }
        }
    }
    let after = version(&mut tx)?;
    tx.commit()?;
    Ok((before, after))
}

/// Reverts the newest migration (as node-pg-migrate's `down` does by default); returns
/// (before, after). Reverting version 1 drops the duty table and every duty in it.
pub fn down(c: &mut Client) -> Result<(i32, i32), postgres::Error> {
    let mut tx = c.transaction()?;
    let before = version(&mut tx)?;
    let steps = match before {
        0 => &[][..],
        1 => V1_DOWN,
        _ => V2_DOWN,
    };
    for s in steps {
        tx.batch_execute(s)?;
    }
    let after = version(&mut tx)?;
    tx.commit()?;
    Ok((before, after))
}

/// Refuses a database whose schema is not the one this node writes.
pub fn check(c: &mut Client) -> Result<(), HaError> {
    let found = version(c).map_err(HaError::query)?;
    match found.cmp(&SCHEMA_VERSION) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less => Err(HaError::SchemaBehind {
            found,
            need: SCHEMA_VERSION,
        }),
        std::cmp::Ordering::Greater => Err(HaError::SchemaAhead {
            found,
            need: SCHEMA_VERSION,
        }),
    }
}
