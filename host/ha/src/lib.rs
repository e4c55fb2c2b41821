//! High-availability signing through PostgreSQL: Aztec's `validator_duties` table and its
//! insert-or-wait protocol. Before a node signs a duty it inserts the duty's row as `signing`
//! with a fresh lock token; the primary key makes exactly one insert win. The winner signs and
//! marks the row `signed` (only while it still holds the token); every other node waits while
//! the row is `signing` and then skips the duty — it never signs it, whatever happened to the
//! winner. A `signed` row with another message hash is a slashing-protection error.
//!
//! Blocking (the `postgres` client): the node calls it from its blocking pool, as it calls L1.

pub mod migrate;

/// The PostgreSQL client [`connect`] returns.
pub use postgres::Client;

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256};
use postgres::NoTls;

/// What a duty row signs; the names are the table's `duty_type` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DutyType {
    /// A block proposal.
    BlockProposal,
    /// A checkpoint proposal.
    CheckpointProposal,
    /// An attestation to a checkpoint.
    Attestation,
    /// The proposer's signature over the attestations and signers it publishes.
    AttestationsAndSigners,
    /// A governance vote.
    GovernanceVote,
    /// A slashing vote.
    SlashingVote,
}

impl DutyType {
    /// The table's `duty_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            DutyType::BlockProposal => "BLOCK_PROPOSAL",
            DutyType::CheckpointProposal => "CHECKPOINT_PROPOSAL",
            DutyType::Attestation => "ATTESTATION",
            DutyType::AttestationsAndSigners => "ATTESTATIONS_AND_SIGNERS",
            DutyType::GovernanceVote => "GOVERNANCE_VOTE",
            DutyType::SlashingVote => "SLASHING_VOTE",
        }
    }
}

impl fmt::Display for DutyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One duty: the table's primary key (rollup, validator, slot, type, block index) and the
/// block and checkpoint numbers stored with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duty {
    /// The Rollup the duty is for.
    pub rollup: Address,
    /// The validator (attester) address that signs.
    pub validator: Address,
    /// L2 slot.
    pub slot: u64,
    /// What is signed.
    pub kind: DutyType,
    /// Index of the block within its checkpoint (0 for checkpoint-level duties).
    pub block_index: u32,
    /// The block number the duty is about.
    pub block_number: u64,
    /// The checkpoint number the duty is about.
    pub checkpoint_number: u64,
}

/// Settings (`VALIDATOR_HA_*`).
#[derive(Clone, Debug)]
pub struct HaConfig {
    /// `VALIDATOR_HA_DATABASE_URL` (a libpq URL or key=value string).
    pub database_url: String,
    /// `VALIDATOR_HA_NODE_ID`: this node's name in the table; distinct per node of a pair.
    pub node_id: String,
    /// `VALIDATOR_HA_POLLING_INTERVAL_MS`: how often a waiting node re-reads a `signing` row.
    pub polling_interval: Duration,
    /// `VALIDATOR_HA_SIGNING_TIMEOUT_MS`: how long a node waits on another's `signing` row
    /// before it skips the duty.
    pub signing_timeout: Duration,
    /// `VALIDATOR_HA_MAX_STUCK_DUTIES_AGE_MS`: this node's own `signing` rows older than this are
    /// deleted by cleanup (left by a crash).
    pub max_stuck_age: Duration,
    /// `VALIDATOR_HA_OLD_DUTIES_MAX_AGE_H`: `signed` rows older than this are deleted.
    pub old_duties_max_age: Option<Duration>,
    /// Deadline for connecting to the database.
    pub connect_timeout: Duration,
}

impl HaConfig {
    /// Aztec's defaults (100 ms polling, 3 s signing timeout) for `database_url` and `node_id`;
    /// the stuck-duty age is two slots of `slot_seconds`.
    pub fn new(database_url: String, node_id: String, slot_seconds: u64) -> Self {
        HaConfig {
            database_url,
            node_id,
            polling_interval: Duration::from_millis(100),
            signing_timeout: Duration::from_millis(3000),
            max_stuck_age: Duration::from_secs(2 * slot_seconds.max(1)),
            old_duties_max_age: None,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// What went wrong; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum HaError {
    /// The database did not answer (down, wrong URL, wrong credentials).
    #[error("HA database {url} unreachable: {source}; no duty is signed until it answers (check VALIDATOR_HA_DATABASE_URL and that PostgreSQL is running)")]
    Unreachable {
        /// The URL with any password removed.
        url: String,
        /// The client's error.
        #[source]
        source: postgres::Error,
    },
    /// A query failed (the connection dropped, or the table is not what it should be).
    #[error("HA database query failed: {0}; no duty is signed until it answers")]
    Query(#[source] postgres::Error),
    /// The schema is older than this node's.
    #[error("the HA database schema is at version {found}, this node needs {need}: run `cairn migrate-ha-db up --database-url URL` (the same as `aztec migrate-ha-db up`)")]
    SchemaBehind {
        /// The database's version.
        found: i32,
        /// This node's.
        need: i32,
    },
    /// The schema is newer than this node understands.
    #[error("the HA database schema is at version {found}, newer than this node's {need}: upgrade cairn before signing with this database")]
    SchemaAhead {
        /// The database's version.
        found: i32,
        /// This node's.
        need: i32,
    },
    /// The duty was already signed over another message: signing again would be slashable.
    #[error("slashing protection: {validator} already has a {kind} for slot {slot} signed by node {node_id} over {signed}; refusing to sign {asked}")]
    Conflict {
        /// The validator.
        validator: Address,
        /// The duty type.
        kind: DutyType,
        /// The slot.
        slot: u64,
        /// The node that signed it.
        node_id: String,
        /// The message hash signed.
        signed: String,
        /// The message hash asked for now.
        asked: String,
    },
    /// The OS gave no randomness for a lock token.
    #[error("no randomness for an HA lock token: {0}")]
    Entropy(String),
    /// This node lost its lock before recording the signature (the row was deleted).
    #[error("the HA lock on {kind} slot {slot} for {validator} was lost before the signature was recorded")]
    LockLost {
        /// The validator.
        validator: Address,
        /// The duty type.
        kind: DutyType,
        /// The slot.
        slot: u64,
    },
}

impl HaError {
    /// A failed query.
    pub fn query(e: postgres::Error) -> HaError {
        HaError::Query(e)
    }
}

/// The lock on one duty, held by this node until [`HaSigner::complete`] or
/// [`HaSigner::release`].
#[derive(Debug)]
#[must_use = "a lock must be completed or released"]
pub struct Lock {
    duty: Duty,
    token: String,
}

impl Lock {
    /// The duty locked.
    pub fn duty(&self) -> &Duty {
        &self.duty
    }
}

/// The outcome of claiming a duty.
#[derive(Debug)]
pub enum Claim {
    /// This node holds the duty: sign, then complete (or release on failure).
    Mine(Lock),
    /// Another node signed this very message: nothing to do.
    SignedElsewhere {
        /// That node.
        node_id: String,
    },
    /// Another node has been signing it for longer than the signing timeout: skip the duty
    /// (never sign it; the row blocks only this duty).
    HeldElsewhere {
        /// That node.
        node_id: String,
    },
}

/// The HA duty table, through one connection that is re-opened after a failure.
pub struct HaSigner {
    cfg: HaConfig,
    client: Mutex<Option<Client>>,
}

impl fmt::Debug for HaSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HaSigner")
            .field("database", &redact(&self.cfg.database_url))
            .field("node_id", &self.cfg.node_id)
            .finish()
    }
}

/// `url` without its password (logs and errors never carry it).
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((creds, host)) = rest.rsplit_once('@') {
            let user = creds.split(':').next().unwrap_or("");
            return format!("{scheme}://{user}@{host}");
        }
        return url.to_string();
    }
    url.split_whitespace()
        .map(|kv| {
            if kv.starts_with("password=") {
                "password=***"
            } else {
                kv
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Connects with the configured timeout; sessions run in UTC so every node's `started_at`
/// compares with every other's.
pub fn connect(url: &str, timeout: Duration) -> Result<Client, HaError> {
    let unreachable = |source| HaError::Unreachable {
        url: redact(url),
        source,
    };
    let mut cfg: postgres::Config = url.parse().map_err(unreachable)?;
    cfg.connect_timeout(timeout);
    let mut c = cfg.connect(NoTls).map_err(unreachable)?;
    c.batch_execute("SET TIME ZONE 'UTC'")
        .map_err(unreachable)?;
    Ok(c)
}

const KEY: &str = "rollup_address = $1 AND validator_address = $2 AND slot = $3 AND duty_type = $4 AND block_index_within_checkpoint = $5";

fn hex_addr(a: &Address) -> String {
    format!("{a:#x}")
}

impl HaSigner {
    /// Connects and checks the schema version (pointing at `cairn migrate-ha-db up` when it is
    /// behind).
    pub fn connect(cfg: HaConfig) -> Result<HaSigner, HaError> {
        let mut c = connect(&cfg.database_url, cfg.connect_timeout)?;
        migrate::check(&mut c)?;
        Ok(HaSigner {
            cfg,
            client: Mutex::new(Some(c)),
        })
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.cfg.node_id
    }

    /// Runs `f` on the connection, re-opening it first if a previous call lost it; a failure
    /// drops the connection so the next call starts afresh.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, HaError> {
        let mut guard = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if guard.as_ref().is_none_or(|c| c.is_closed()) {
            *guard = None;
            *guard = Some(connect(&self.cfg.database_url, self.cfg.connect_timeout)?);
        }
        let Some(c) = guard.as_mut() else {
            unreachable!("connected above")
        };
        match f(c) {
            Ok(v) => Ok(v),
            Err(e) => {
                *guard = None;
                Err(HaError::Query(e))
            }
        }
    }

    /// Whether the database answers (for `/status`).
    pub fn ping(&self) -> Result<(), HaError> {
        self.with(|c| c.batch_execute("SELECT 1"))
    }

    /// Claims `duty` for signing `message`: inserts its row as `signing` with a fresh lock
    /// token, or, when the row exists, waits while it is `signing` (up to the signing timeout)
    /// and reports how it ended.
    pub fn claim(&self, duty: &Duty, message: B256) -> Result<Claim, HaError> {
        let mut token = [0u8; 16];
        getrandom::getrandom(&mut token).map_err(|e| HaError::Entropy(e.to_string()))?;
        let token = hex::encode(token);
        let hash = format!("{message:#x}");
        let (rollup, validator) = (hex_addr(&duty.rollup), hex_addr(&duty.validator));
        let slot = duty.slot as i64;
        let kind = duty.kind.as_str();
        let index = duty.block_index as i32;
        let deadline = Instant::now() + self.cfg.signing_timeout;
        loop {
            let inserted = self.with(|c| {
                c.execute(
                    "INSERT INTO validator_duties (rollup_address, validator_address, slot, \
                     block_number, block_index_within_checkpoint, duty_type, status, message_hash, \
                     node_id, lock_token, checkpoint_number) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'signing', $7, $8, $9, $10) \
                     ON CONFLICT (rollup_address, validator_address, slot, duty_type, \
                     block_index_within_checkpoint) DO NOTHING",
                    &[
                        &rollup,
                        &validator,
                        &slot,
                        &(duty.block_number as i64),
                        &index,
                        &kind,
                        &hash,
                        &self.cfg.node_id,
                        &token,
                        &(duty.checkpoint_number as i64),
                    ],
                )
            })?;
            if inserted == 1 {
                return Ok(Claim::Mine(Lock {
                    duty: duty.clone(),
                    token,
                }));
            }
            let row = self.with(|c| {
                c.query_opt(
                    &format!(
                        "SELECT status, message_hash, node_id FROM validator_duties WHERE {KEY}"
                    ),
                    &[&rollup, &validator, &slot, &kind, &index],
                )
            })?;
            let Some(row) = row else {
                continue; // released between the insert and the read: try again
            };
            let (status, signed, node_id): (String, String, String) =
                (row.get(0), row.get(1), row.get(2));
            if status == "signed" {
                if signed.eq_ignore_ascii_case(&hash) {
                    return Ok(Claim::SignedElsewhere { node_id });
                }
                return Err(HaError::Conflict {
                    validator: duty.validator,
                    kind: duty.kind,
                    slot: duty.slot,
                    node_id,
                    signed,
                    asked: hash,
                });
            }
            if Instant::now() >= deadline {
                return Ok(Claim::HeldElsewhere { node_id });
            }
            std::thread::sleep(self.cfg.polling_interval);
        }
    }

    /// Records the signature made under `lock`; fails if the lock was lost meanwhile.
    pub fn complete(&self, lock: Lock, signature: &[u8]) -> Result<(), HaError> {
        let d = &lock.duty;
        let sig = format!("0x{}", hex::encode(signature));
        let n = self.with(|c| {
            c.execute(
                &format!(
                    "UPDATE validator_duties SET status = 'signed', signature = $7, \
                     completed_at = CURRENT_TIMESTAMP WHERE {KEY} AND status = 'signing' \
                     AND lock_token = $6"
                ),
                &[
                    &hex_addr(&d.rollup),
                    &hex_addr(&d.validator),
                    &(d.slot as i64),
                    &d.kind.as_str(),
                    &(d.block_index as i32),
                    &lock.token,
                    &sig,
                ],
            )
        })?;
        if n != 1 {
            return Err(HaError::LockLost {
                validator: d.validator,
                kind: d.kind,
                slot: d.slot,
            });
        }
        Ok(())
    }

    /// Gives a duty back after signing failed (the other node may then take it).
    pub fn release(&self, lock: Lock) -> Result<(), HaError> {
        let d = &lock.duty;
        self.with(|c| {
            c.execute(
                &format!("DELETE FROM validator_duties WHERE {KEY} AND lock_token = $6"),
                &[
                    &hex_addr(&d.rollup),
                    &hex_addr(&d.validator),
                    &(d.slot as i64),
                    &d.kind.as_str(),
                    &(d.block_index as i32),
                    &lock.token,
                ],
            )
        })?;
        Ok(())
    }

    /// Deletes this node's own `signing` rows older than the stuck-duty age (left by a crash);
    /// returns how many.
    pub fn cleanup_own_stuck(&self) -> Result<u64, HaError> {
        let age = self.cfg.max_stuck_age.as_secs_f64();
        self.with(|c| {
            c.execute(
                "DELETE FROM validator_duties WHERE node_id = $1 AND status = 'signing' \
                 AND started_at < CURRENT_TIMESTAMP - make_interval(secs => $2)",
                &[&self.cfg.node_id, &age],
            )
        })
    }

    /// Deletes `signed` rows older than the configured age (none when unset).
    pub fn cleanup_old(&self) -> Result<u64, HaError> {
        let Some(age) = self.cfg.old_duties_max_age else {
            return Ok(0);
        };
        let age = age.as_secs_f64();
        self.with(|c| {
            c.execute(
                "DELETE FROM validator_duties WHERE status = 'signed' \
                 AND started_at < CURRENT_TIMESTAMP - make_interval(secs => $1)",
                &[&age],
            )
        })
    }

    /// Deletes the rows of every other rollup (at start: duties of an old deployment can never
    /// be asked for again).
    pub fn cleanup_other_rollups(&self, rollup: Address) -> Result<u64, HaError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM validator_duties WHERE rollup_address <> $1",
                &[&hex_addr(&rollup)],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_leave_the_url() {
        assert_eq!(
            redact("postgresql://cairn:s3cret@db.example:5432/ha"),
            "postgresql://cairn@db.example:5432/ha"
        );
        assert_eq!(redact("postgresql://db/ha"), "postgresql://db/ha");
        assert_eq!(
            redact("host=/tmp port=5 user=a password=s3cret dbname=x"),
            "host=/tmp port=5 user=a password=*** dbname=x"
        );
    }

    #[test]
    fn duty_types_are_the_tables_values() {
        assert_eq!(
            DutyType::AttestationsAndSigners.as_str(),
            "ATTESTATIONS_AND_SIGNERS"
        );
        assert_eq!(
            DutyType::CheckpointProposal.to_string(),
            "CHECKPOINT_PROPOSAL"
        );
    }
}
