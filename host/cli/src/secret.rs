//! Where passwords come from: a flag, a file, the environment, or a prompt — never a log line.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use zeroize::Zeroizing;

/// The environment variable the reference also reads for the keystore password.
pub const PASSWORD_ENV: &str = "AZTEC_KEYSTORE_PASSWORD";

/// Password options shared by the key commands.
#[derive(Args, Clone, Default)]
pub struct PasswordArgs {
    /// Password for encrypted key files. An empty value is allowed. Without any password flag,
    /// AZTEC_KEYSTORE_PASSWORD is used if set.
    #[arg(long)]
    pub password: Option<String>,
    /// Read the password from this file (one trailing newline is removed).
    #[arg(long, value_name = "FILE", conflicts_with = "password")]
    pub password_file: Option<PathBuf>,
    /// Ask for the password on the terminal.
    #[arg(long, conflicts_with_all = ["password", "password_file"])]
    pub password_prompt: bool,
}

impl PasswordArgs {
    /// The password, if one was given by any source. `confirm` asks twice when prompting.
    pub fn resolve(&self, confirm: bool) -> Result<Option<Zeroizing<String>>> {
        if let Some(p) = &self.password {
            return Ok(Some(Zeroizing::new(p.clone())));
        }
        if let Some(path) = &self.password_file {
            let raw = Zeroizing::new(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read password file {}", path.display()))?,
            );
            let trimmed = raw
                .strip_suffix("\r\n")
                .or_else(|| raw.strip_suffix('\n'))
                .unwrap_or(&raw);
            return Ok(Some(Zeroizing::new(trimmed.to_string())));
        }
        if self.password_prompt {
            return prompt(confirm).map(Some);
        }
        // Lowest precedence, so an exported variable never conflicts with an explicit flag.
        Ok(std::env::var(PASSWORD_ENV).ok().map(Zeroizing::new))
    }
}

/// Asks on the terminal; refuses when there is none rather than blocking a script.
pub fn prompt(confirm: bool) -> Result<Zeroizing<String>> {
    if !std::io::stdin().is_terminal() {
        bail!("cannot prompt for a password: standard input is not a terminal; use --password-file or AZTEC_KEYSTORE_PASSWORD");
    }
    let first = Zeroizing::new(rpassword::prompt_password("Keystore password: ")?);
    if confirm {
        let second = Zeroizing::new(rpassword::prompt_password("Repeat password: ")?);
        if *first != *second {
            bail!("the passwords do not match");
        }
    }
    Ok(first)
}
