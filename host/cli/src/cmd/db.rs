//! `cairn db`: maintenance of a stopped node's database.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};

/// `cairn db` subcommands.
#[derive(Subcommand)]
pub enum DbCommand {
    /// Rebuild the world state from genesis and the stored blocks (after `cairn start` reports
    /// a damaged state). The node must be stopped.
    Rebuild(RebuildArgs),
}

/// Flags of `cairn db rebuild`.
#[derive(Args)]
pub struct RebuildArgs {
    /// The node's data directory.
    #[arg(long = "data-directory", env = "DATA_DIRECTORY", value_name = "DIR")]
    pub data_directory: PathBuf,
    /// Accounts in the L2 genesis: the value the node runs with.
    #[arg(long = "genesis-accounts", default_value_t = 16)]
    pub genesis_accounts: usize,
}

/// Runs a `cairn db` subcommand.
pub fn run(cmd: DbCommand) -> Result<()> {
    match cmd {
        DbCommand::Rebuild(args) => rebuild(args),
    }
}

fn rebuild(args: RebuildArgs) -> Result<()> {
    if !args.data_directory.join("node.redb").exists() {
        return Err(anyhow!(
            "{} holds no node database (node.redb): nothing to rebuild",
            args.data_directory.display()
        ));
    }
    let store = cairn_node::store::Store::open(&args.data_directory).map_err(|e| anyhow!("{e}"))?;
    let genesis = cairn_zk::scenario::Scenario::new(args.genesis_accounts.max(1)).state;
    let t = Instant::now();
    let tip = cairn_node::world::rebuild_state(genesis, &store).map_err(|e| anyhow!("{e}"))?;
    eprintln!(
        "world state rebuilt from genesis and {tip} stored blocks in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
