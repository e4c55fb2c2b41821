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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();

    let result = match cli.command {
        Command::ValidatorKeys { command } => cmd::keys::run(command),
        Command::GenerateBlsKeypair(args) => cmd::bls::run(args),
        Command::Dashboard(args) => cmd::dashboard::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
