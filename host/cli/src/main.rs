//! `cairn`: the sequencer node and its operator tooling.

mod cmd;
mod fsx;
mod progress;
mod secret;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// cairn: a WebAssembly-first modular sequencer for Aztec-style rollups.
#[derive(Parser)]
#[command(name = "cairn", version, about, propagate_version = true)]
struct Cli {
    /// Log filter (e.g. `info`, `cairn=debug`); logs go to standard error.
    #[arg(long, global = true, env = "LOG_LEVEL", default_value = "warn")]
    log_level: String,

    #[command(subcommand)]
    command: Command,
}

// Parsed once per process; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Validator keys, keystores and staking registration JSON (compatible with `aztec validator-keys`).
    #[command(name = "validator-keys", visible_alias = "valKeys", alias = "valkeys")]
    ValidatorKeys {
        #[command(subcommand)]
        command: cmd::keys::KeysCommand,
    },
    /// Derive a BN254 BLS key pair and print it as JSON (compatible with `aztec generate-bls-keypair`).
    GenerateBlsKeypair(cmd::bls::GenerateBlsKeypairArgs),
    /// Serve the staking-registration page on 127.0.0.1.
    Dashboard(cmd::dashboard::DashboardArgs),
    /// Run the sequencer node (`--node --archiver --sequencer [--prover-node] --network …`).
    Start(Box<cmd::node::StartArgs>),
    /// Wallet-side txs against a node: token transfers, receipts, balances.
    Tx {
        #[command(subcommand)]
        command: cmd::wallet::TxCommand,
    },
    /// Send a steady stream of txs to a node (devnet accounts).
    Bot(cmd::wallet::BotArgs),
    /// Local development networks.
    Devnet {
        #[command(subcommand)]
        command: cmd::devnet::DevnetCommand,
    },
    /// Stake one or more validators directly on the Rollup: approve the staking asset, then deposit.
    #[command(name = "add-l1-validator")]
    AddL1Validator(cmd::staking::AddL1ValidatorArgs),
    /// Move queued deposits into the validator set (anyone may call it).
    #[command(name = "flush-entry-queue")]
    FlushEntryQueue(cmd::staking::FlushArgs),
    /// Read the Rollup's staking state.
    Rollup {
        #[command(subcommand)]
        command: cmd::staking::RollupCommand,
    },
    /// Exit an attester: initiate (its withdrawer), then finalize once exitable (anyone).
    Withdraw {
        #[command(subcommand)]
        command: cmd::withdraw::WithdrawCommand,
    },
    /// Sequencer rewards: what coinbases accrued, and releasing them to the coinbases.
    Rewards {
        #[command(subcommand)]
        command: cmd::rewards::RewardsCommand,
    },
    /// Read attesters' on-chain state.
    Attester {
        #[command(subcommand)]
        command: cmd::staking::AttesterCommand,
    },
    /// Delegated-stake provider operations on the StakingRegistry.
    Provider {
        #[command(subcommand)]
        command: cmd::provider::ProviderCommand,
    },
    /// Delegate stake to a provider (approve the StakingRegistry, then stake).
    Stake(cmd::provider::StakeArgs),
    /// The public VM: assembler and disassembler.
    Vm {
        #[command(subcommand)]
        command: cmd::pipeline::VmCommand,
    },
    /// Stage components: build helpers and inspection.
    Module {
        #[command(subcommand)]
        command: cmd::pipeline::ModuleCommand,
    },
    /// Push txs through the pipeline stages, natively and as components.
    Pipeline {
        #[command(subcommand)]
        command: cmd::pipeline::PipelineCommand,
    },
    /// Create or update the HA signing database's schema (`aztec migrate-ha-db` compatible).
    #[command(name = "migrate-ha-db")]
    MigrateHaDb {
        #[command(subcommand)]
        command: cmd::ha::MigrateCommand,
    },
    /// Maintenance of a stopped node's database.
    Db {
        #[command(subcommand)]
        command: cmd::db::DbCommand,
    },
    /// Print a shell completion script: `cairn completions bash > /etc/bash_completion.d/cairn`,
    /// `cairn completions zsh > "${fpath[1]}/_cairn"`, `cairn completions fish > ~/.config/fish/completions/cairn.fish`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Measurements with the project's performance goals.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// wasm boundary overhead per stage, Groth16 single and batched, instantiation, hot swap (JSON).
    Pipeline(cmd::pipeline::BenchArgs),
    /// Throughput and submit-to-receipt latency through a running node, and a full block's
    /// build time natively and through the components against the slot (JSON).
    Node(cmd::benchnode::BenchNodeArgs),
    /// A committee over local nodes: attestation round for empty and full blocks, tx gossip
    /// latency to every pool, throughput of N nodes against one. Starts its own devnets; run
    /// by hand (release build), not in CI.
    Network(cmd::benchnet::BenchNetworkArgs),
    /// Several blocks per checkpoint against one: submit → proposed and submit → checkpointed
    /// latency at a fixed load. Starts its own devnets; run by hand (release build).
    Checkpoints(cmd::benchcp::BenchCheckpointsArgs),
    /// Latency of one signing duty through the node's duty path: local key or remote signer,
    /// HA signing off or on (JSON).
    Signing(cmd::benchsign::BenchSigningArgs),
    /// World-state update per block against its hashing floor, restart time and memory for a
    /// small and a large store (JSON).
    State(cmd::benchstate::BenchStateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The proving libraries format every constraint at info level: never useful to an
    // operator, and slow enough to stall start-up (the devnet setup builds a circuit).
    let quiet = ",r1cs=off,ark_relations=warn,ark_r1cs_std=warn,ark_groth16=warn,cranelift_codegen=warn,wasmtime=warn";
    let filter = tracing_subscriber::EnvFilter::try_new(format!("{}{quiet}", cli.log_level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("warn{quiet}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: logs redirected to a file stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();

    let result = match cli.command {
        Command::ValidatorKeys { command } => cmd::keys::run(command),
        Command::GenerateBlsKeypair(args) => cmd::bls::run(args),
        Command::Dashboard(args) => cmd::dashboard::run(args),
        Command::Start(args) => cmd::node::start(*args),
        Command::Tx { command } => cmd::wallet::tx(command),
        Command::Bot(args) => cmd::wallet::bot(args),
        Command::Devnet { command } => cmd::devnet::run(command),
        Command::AddL1Validator(args) => cmd::staking::add_l1_validator(args),
        Command::FlushEntryQueue(args) => cmd::staking::flush_cmd(args),
        Command::Withdraw { command } => cmd::withdraw::run(command),
        Command::Rewards { command } => cmd::rewards::run(command),
        Command::MigrateHaDb { command } => cmd::ha::run(command),
        Command::Db { command } => cmd::db::run(command),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "cairn", &mut std::io::stdout());
            Ok(())
        }
        Command::Rollup {
            command: cmd::staking::RollupCommand::Info { net, out },
        } => cmd::staking::rollup_info(net, out),
        Command::Attester {
            command:
                cmd::staking::AttesterCommand::Status {
                    net,
                    attesters,
                    out,
                },
        } => cmd::staking::attester_status(net, attesters, out),
        Command::Provider { command } => cmd::provider::run(command),
        Command::Stake(args) => cmd::provider::stake(args),
        Command::Vm { command } => cmd::pipeline::vm(command),
        Command::Module { command } => cmd::pipeline::module(command),
        Command::Pipeline { command } => cmd::pipeline::pipeline(command),
        Command::Bench {
            command: BenchCommand::Pipeline(args),
        } => cmd::pipeline::bench(args),
        Command::Bench {
            command: BenchCommand::Node(args),
        } => cmd::benchnode::bench_node(args),
        Command::Bench {
            command: BenchCommand::Network(args),
        } => cmd::benchnet::bench_network(args),
        Command::Bench {
            command: BenchCommand::Checkpoints(args),
        } => cmd::benchcp::bench_checkpoints(args),
        Command::Bench {
            command: BenchCommand::Signing(args),
        } => cmd::benchsign::bench_signing(args),
        Command::Bench {
            command: BenchCommand::State(args),
        } => cmd::benchstate::bench_state(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
