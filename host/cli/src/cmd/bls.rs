//! `cairn generate-bls-keypair`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use cairn_keys::bls_derive::{self, BlsSource, DEFAULT_BLS_PATH};
use cairn_keys::mnemonic;
use clap::Args;
use serde_json::json;

use super::common::{parse_ikm, warn_mnemonic};
use crate::fsx;

/// Flags of `generate-bls-keypair`.
#[derive(Args)]
pub struct GenerateBlsKeypairArgs {
    /// BIP-39 mnemonic to derive from.
    #[arg(long)]
    mnemonic: Option<String>,
    /// Input keying material (hex, at least 32 bytes) instead of a mnemonic.
    #[arg(long, value_parser = parse_ikm)]
    ikm: Option<String>,
    /// Derivation path label.
    #[arg(long, default_value = DEFAULT_BLS_PATH)]
    bls_path: String,
    /// Accepted for compatibility; has no effect (as in the reference).
    #[arg(long, hide = true)]
    g2: bool,
    /// Accepted for compatibility; has no effect (as in the reference).
    #[arg(long, hide = true)]
    compressed: bool,
    /// Write the key pair to this file (0600) instead of printing it.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the JSON even when writing a file.
    #[arg(long)]
    json: bool,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
}

/// Runs the command.
pub fn run(args: GenerateBlsKeypairArgs) -> Result<()> {
    // The reference derives validator 0's path, which leaves every path unchanged.
    let path = args.bls_path.clone();
    let sk = match (&args.ikm, &args.mnemonic) {
        (Some(ikm), _) => {
            let bytes = bls_derive::decode_ikm(ikm);
            bls_derive::derive(BlsSource::Ikm(&bytes), &path)
        }
        (None, Some(m)) => {
            let seed = mnemonic::to_seed(m)?;
            warn_mnemonic(m);
            bls_derive::derive(BlsSource::Seed(&seed), &path)
        }
        (None, None) => bail!("Either --mnemonic or --ikm must be provided for BLS derivation"),
    };
    let out = json!({
        "path": path,
        "privateKey": format!("0x{}", hex::encode(sk.to_word())),
        "publicKey": format!("0x{}", hex::encode(sk.public_g1().compress())),
        "format": "compressed",
    });
    let text = zeroize::Zeroizing::new(serde_json::to_string_pretty(&out)?);
    if let Some(file) = &args.out {
        // Like the reference, do not invent folders for an explicit output file.
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                bail!(
                    "cannot write {}: directory {} does not exist",
                    file.display(),
                    dir.display()
                );
            }
        }
        let mut staged = fsx::Staged::new();
        staged.add_maybe_new(file, text.as_bytes(), args.force)?;
        staged.commit()?;
        if !args.json {
            println!("Wrote BLS keypair to {}", file.display());
        }
    }
    if args.json || args.out.is_none() {
        println!("{}", text.as_str());
    }
    Ok(())
}
