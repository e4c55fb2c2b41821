//! `cairn migrate-ha-db up|down`: the HA duty table's schema (the same migrations as
//! `aztec migrate-ha-db`, so one database serves either client).

use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};

/// `cairn migrate-ha-db …`.
#[derive(Subcommand)]
pub enum MigrateCommand {
    /// Apply every missing migration (idempotent).
    Up(DbArgs),
    /// Revert the newest migration; reverting the first drops the duty table.
    Down(DbArgs),
}

/// Where the database is.
#[derive(Args)]
pub struct DbArgs {
    /// PostgreSQL URL (`postgresql://user:password@host:port/db`, or libpq key=value).
    #[arg(
        long = "database-url",
        env = "VALIDATOR_HA_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: String,
}

/// Runs a migration command.
pub fn run(cmd: MigrateCommand) -> Result<()> {
    let (args, up) = match cmd {
        MigrateCommand::Up(a) => (a, true),
        MigrateCommand::Down(a) => (a, false),
    };
    let mut c = cairn_ha::connect(&args.database_url, std::time::Duration::from_secs(10))?;
    let (before, after) = if up {
        cairn_ha::migrate::up(&mut c)
    } else {
        cairn_ha::migrate::down(&mut c)
    }
    .map_err(|e| {
        anyhow!(
            "migrating {} failed (nothing was changed: migrations run in one transaction): {e}",
            cairn_ha::redact(&args.database_url)
        )
    })?;
    if before == after {
        println!("HA database schema: already at version {after}");
    } else {
        println!("HA database schema: version {before} -> {after}");
    }
    Ok(())
}
