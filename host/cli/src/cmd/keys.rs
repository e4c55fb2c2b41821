//! `cairn validator-keys new|add|staker|verify`.
//!
//! Output files and standard output match `aztec validator-keys` byte for byte (random salts, IVs
//! and generated mnemonics aside). Where cairn goes further (local PoP digests, gas warnings,
//! refusing to lose keys), the extra output goes to standard error.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use cairn_crypto::bls::POP_GAS_CAP;
use cairn_crypto::{hex32, Address, BlsSecretKey, EthSecretKey, G1Words};
use cairn_keys::bls_derive::{self, DEFAULT_BLS_PATH};
use cairn_keys::encrypted::{encrypt_bn254, encrypt_v3, Randomness};
use cairn_keys::generate::{self, Assembled, Candidate, Deriver, EthForm, NewParams};
use cairn_keys::paths;
use cairn_keys::protect::{self, KeyKind};
use cairn_keys::registration::{self, Registration, Status};
use cairn_keys::schema::{self, Keystore};
use cairn_keys::staker::{self, KeyFiles};
use cairn_keys::{mnemonic, registration::VerifyReport};
use clap::{Args, Subcommand};
use rayon::prelude::*;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::common::{
    parse_address, parse_fee_recipient, parse_ikm, parse_index, parse_js_integer, parse_publishers,
    warn_mnemonic,
};
use crate::fsx::{self, Staged};
use crate::progress::Progress;
use crate::secret::PasswordArgs;

/// `validator-keys` subcommands.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Generate validator keys and write a keystore.
    New(NewArgs),
    /// Append validators to an existing keystore.
    Add(AddArgs),
    /// Turn a keystore into staking registration JSON (public keys and proof of possession).
    Staker(StakerArgs),
    /// Check a registration JSON file the way the L1 contracts will (exits non-zero on failure).
    Verify(VerifyArgs),
    /// Load a keystore directory (or file) exactly as the node will, and list its attesters.
    Check(CheckArgs),
}

/// Flags of `check`.
#[derive(Args)]
pub struct CheckArgs {
    /// Keystore directory or file.
    #[arg(env = "KEY_STORE_DIRECTORY")]
    path: PathBuf,
    /// Print the attesters as JSON.
    #[arg(long)]
    json: bool,
    /// With an L1 (--network or --l1-rpc-urls), each attester's state on the rollup is
    /// checked too: exited or exiting attesters are flagged.
    #[command(flatten)]
    net: super::l1::NetArgs,
}

/// Flags shared by `new` and `add`.
#[derive(Args)]
pub struct DeriveArgs {
    /// L2 fee recipient (Aztec address: 0x + 64 hex).
    #[arg(long, value_parser = parse_fee_recipient)]
    fee_recipient: String,
    /// BIP-39 mnemonic (a new 12-word one is generated when omitted).
    #[arg(long)]
    mnemonic: Option<String>,
    /// Accepted for compatibility and ignored: Aztec's CLI never uses a BIP-39 passphrase.
    #[arg(long)]
    passphrase: Option<String>,
    /// Number of validators (values below 1 mean 1, as in the reference).
    #[arg(long, allow_hyphen_values = true, value_parser = parse_js_integer)]
    count: Option<i64>,
    /// Publisher accounts derived per validator.
    #[arg(long, default_value = "0", value_parser = parse_index)]
    publisher_count: u32,
    /// Comma-separated publisher private keys used for every validator.
    #[arg(long)]
    publishers: Option<String>,
    /// Base BIP-44 account index.
    #[arg(long, allow_hyphen_values = true, value_parser = parse_index)]
    account_index: Option<u32>,
    /// Base BIP-44 address index.
    #[arg(long, allow_hyphen_values = true, value_parser = parse_index)]
    address_index: Option<u32>,
    /// L1 coinbase for every validator (defaults to each attester's address).
    #[arg(long, value_parser = parse_address)]
    coinbase: Option<Address>,
    /// Write `{address, remoteSignerUrl}` instead of private keys (needs --mnemonic).
    #[arg(long, value_name = "URL")]
    remote_signer: Option<String>,
    /// Derive BLS keys from this input keying material (hex, >= 32 bytes) instead of the mnemonic.
    #[arg(long, value_parser = parse_ikm)]
    ikm: Option<String>,
    /// BLS derivation path label (custom paths only with a single validator).
    #[arg(long)]
    bls_path: Option<String>,
    #[command(flatten)]
    password: PasswordArgs,
    /// Where encrypted key files go (default: the keystore's directory).
    #[arg(long, value_name = "DIR")]
    encrypted_keystore_dir: Option<String>,
    /// Output directory (default ~/.cairn/keystore).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<String>,
    /// Output file name or path.
    #[arg(long, value_name = "FILE")]
    file: Option<String>,
    /// Print the keystore JSON instead of the summary.
    #[arg(long)]
    json: bool,
    /// Skip derivation indices whose proof of possession would cost more than this much gas to
    /// check on chain (the GSE refuses keys above its cap, 250000 by default).
    #[arg(long, value_name = "GAS")]
    max_pop_gas: Option<u64>,
}

/// Flags of `new`.
#[derive(Args)]
pub struct NewArgs {
    #[command(flatten)]
    derive: DeriveArgs,
    /// Also write `<name>_staker_output.json` with the registration JSON.
    #[arg(long)]
    staker_output: bool,
    #[command(flatten)]
    chain: ChainArgs,
    /// Replace an existing --file instead of refusing.
    #[arg(long)]
    force: bool,
}

/// Flags of `add`.
#[derive(Args)]
pub struct AddArgs {
    /// The keystore to extend.
    existing: String,
    #[command(flatten)]
    derive: DeriveArgs,
    /// Let --file or encrypted key files replace existing files.
    #[arg(long)]
    force: bool,
}

/// Optional on-chain cross-check of the registration digest.
#[derive(Args)]
pub struct ChainArgs {
    /// GSE contract: when given with --l1-rpc-urls, each digest computed locally is also asked
    /// from the chain and any difference is an error.
    #[arg(long, value_name = "ADDRESS")]
    gse_address: Option<String>,
    /// L1 RPC URLs, comma-separated.
    #[arg(long, env = "ETHEREUM_HOSTS", value_name = "URLS")]
    l1_rpc_urls: Option<String>,
    /// Expected L1 chain id (checked against the RPC).
    #[arg(short = 'c', long, default_value = "31337")]
    l1_chain_id: u64,
}

/// Flags of `staker`.
#[derive(Args)]
pub struct StakerArgs {
    /// The keystore to read.
    #[arg(long, value_name = "FILE")]
    from: String,
    /// Output directory (default: the keystore's directory).
    #[arg(long, value_name = "DIR")]
    output: Option<String>,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    chain: ChainArgs,
}

/// Flags of `verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// Registration JSON file (a staker output array).
    file: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs a `validator-keys` subcommand.
pub fn run(cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::New(a) => new(a),
        KeysCommand::Add(a) => add(a),
        KeysCommand::Staker(a) => staker_cmd(a),
        KeysCommand::Verify(a) => verify(a),
        KeysCommand::Check(a) => check(a),
    }
}

// ---------------------------------------------------------------------------------------------
// Derivation shared by new and add

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| anyhow!("no system randomness: {e}"))?;
    Ok(b)
}

fn randomness() -> Result<Randomness> {
    Ok(Randomness {
        salt: random()?,
        iv: random()?,
        uuid: random()?,
    })
}

fn default_data_dir() -> Result<String> {
    let home = std::env::var_os("HOME").context("HOME is not set; pass --data-dir")?;
    Ok(paths::join(&home.to_string_lossy(), ".cairn/keystore"))
}

/// What a validated set of flags asks for.
struct Plan {
    count: u32,
    publishers: Option<Vec<String>>,
    form: EthForm,
    generated_mnemonic: Option<Zeroizing<String>>,
    deriver: Deriver,
}

fn plan(a: &DeriveArgs, default_address_index: u32, count: u32) -> Result<Plan> {
    if a.passphrase.is_some() {
        eprintln!("warning: --passphrase is ignored: keys are derived with an empty BIP-39 passphrase, exactly as Aztec's CLI does");
    }
    let bls_path = a
        .bls_path
        .clone()
        .unwrap_or_else(|| DEFAULT_BLS_PATH.to_string());
    if bls_path != DEFAULT_BLS_PATH
        && (count != 1
            || a.publisher_count > 0
            || a.account_index.unwrap_or(0) != 0
            || a.address_index.unwrap_or(0) != 0)
    {
        bail!("--bls-path cannot be used with --count, --publisher-count, --account-index, or --address-index");
    }
    let publishers = a.publishers.as_deref().map(parse_publishers).transpose()?;
    if publishers.is_some() && a.publisher_count > 0 {
        bail!("--publishers and --publisher-count cannot be used together");
    }
    if a.remote_signer.is_some() && a.mnemonic.is_none() {
        bail!("Using --remote-signer requires a deterministic key source. Provide --mnemonic to derive keys, or omit --remote-signer to write new private keys to keystore.");
    }
    let (phrase, generated) = match &a.mnemonic {
        Some(m) => {
            mnemonic::normalize(m)?;
            warn_mnemonic(m);
            (Zeroizing::new(m.clone()), None)
        }
        None => {
            let m = mnemonic::from_entropy(&random()?);
            (m.clone(), Some(m))
        }
    };
    let deriver = Deriver::new(NewParams {
        mnemonic: phrase,
        ikm: a.ikm.as_deref().map(bls_derive::decode_ikm),
        account_index: a.account_index.unwrap_or(0),
        address_index: a.address_index.unwrap_or(default_address_index),
        publisher_count: a.publisher_count,
        bls_path,
        legacy_bls: bls_derive::legacy_flag(std::env::var("LEGACY_BLS_CLI").ok().as_deref()),
    })?;
    Ok(Plan {
        count,
        publishers,
        form: match &a.remote_signer {
            Some(url) => EthForm::RemoteSigner(url.clone()),
            None => EthForm::PrivateKeys,
        },
        generated_mnemonic: generated,
        deriver,
    })
}

/// Reads `--count` with the reference's fallback (anything below 1 means 1), saying so.
fn effective_count(count: Option<i64>) -> u32 {
    match count {
        None => 1,
        Some(n) if n >= 1 => u32::try_from(n).unwrap_or(u32::MAX),
        Some(n) => {
            eprintln!("warning: --count {n} is not a positive number; generating 1 validator, as Aztec's CLI does");
            1
        }
    }
}

/// Derives `count` validators in parallel, skipping indices over `max_gas` if asked.
/// Returns the chosen candidates and the number of address indices they span.
fn derive_all(plan: &Plan, max_gas: Option<u64>) -> Result<(Vec<Candidate>, u32)> {
    let cheapest = cairn_crypto::PopGasEstimate::new(1, 1).gas;
    if let Some(limit) = max_gas.filter(|l| *l < cheapest) {
        bail!("--max-pop-gas {limit} is below the cheapest possible proof-of-possession check ({cheapest} gas); every key would be skipped");
    }
    // Keys above the cap are rare (about 1 in 3,000 above 225k), so many skips mean a limit too
    // tight to be useful rather than bad luck.
    let max_skips = 10 * u64::from(plan.count) + 100;
    let mut skips: u64 = 0;
    let progress = Progress::new(plan.count.into(), "deriving keys");
    let mut chosen: Vec<Candidate> = Vec::with_capacity(plan.count as usize);
    let mut next: u32 = 0;
    while (chosen.len() as u32) < plan.count {
        let need = plan.count - chosen.len() as u32;
        let end = next
            .checked_add(need)
            .ok_or_else(|| anyhow!("address index overflow while skipping keys"))?;
        let batch: Vec<Candidate> = (next..end)
            .into_par_iter()
            .map(|o| {
                let c = plan.deriver.candidate(o);
                progress.inc();
                c
            })
            .collect::<Result<_, _>>()?;
        next = end;
        for c in batch {
            match max_gas {
                Some(limit) if c.pop.gas.gas > limit => {
                    let index = plan.deriver.params().address_index + c.offset;
                    if !plan.deriver.bls_path_is_indexed() {
                        bail!("the BLS key at the custom --bls-path needs an estimated {} gas to register, above --max-pop-gas {limit}, and a custom path cannot be skipped; choose another path", c.pop.gas.gas);
                    }
                    eprintln!(
                        "skipped derivation index {index}: estimated PoP check gas {} exceeds --max-pop-gas {limit} ({} hashToPoint attempts)",
                        c.pop.gas.gas, c.pop.gas.attempts
                    );
                    skips += 1;
                    if skips > max_skips {
                        bail!("--max-pop-gas {limit} rejected {skips} derivation indices; raise the limit");
                    }
                }
                _ => chosen.push(c),
            }
        }
    }
    progress.finish();
    Ok((chosen, next))
}

/// Warns about keys whose proof of possession is expensive to check on chain.
fn warn_gas(label: &str, attester: &str, gas: &cairn_crypto::PopGasEstimate) {
    let check = registration::gas_check(gas);
    if check.status != Status::Pass {
        eprintln!(
            "warning: {label} ({attester}): {}; consider --max-pop-gas {} to skip such keys",
            check.detail,
            POP_GAS_CAP * registration::POP_GAS_WARN_FRACTION_PERCENT / 100
        );
    }
}

fn build(
    plan: &Plan,
    fee: &[u8; 32],
    coinbase: Option<Address>,
    label_base: usize,
    max_gas: Option<u64>,
) -> Result<Assembled> {
    let (candidates, span) = derive_all(plan, max_gas)?;
    let out = generate::assemble(
        &plan.deriver,
        &candidates,
        span,
        plan.publishers.as_deref(),
        fee,
        coinbase,
        &plan.form,
    )?;
    for (i, c) in candidates.iter().enumerate() {
        warn_gas(
            &format!("validator {}", label_base + i + 1),
            &out.registrations[i].attester,
            &c.pop.gas,
        );
    }
    Ok(out)
}

/// Encrypts the plaintext keys of `doc` in parallel and stages the files.
fn encrypt_into(
    doc: &mut Value,
    out_dir: &str,
    password: &str,
    bls_label: &str,
    staged: &mut Staged,
    replace: bool,
) -> Result<()> {
    let pk_hex = |s: &str| -> Option<String> {
        let w = hex32::parse(s).ok()?;
        Some(hex::encode(
            BlsSecretKey::from_word(&w).ok()?.public_g1().compress(),
        ))
    };
    let jobs = protect::plan(doc, out_dir, &pk_hex);
    let progress = Progress::new(jobs.len() as u64, "encrypting keys");
    let files: Vec<(String, Zeroizing<String>)> = jobs
        .par_iter()
        .map(|job| -> Result<(String, Zeroizing<String>)> {
            let w =
                hex32::parse(&job.secret).map_err(|_| anyhow!("invalid key at {}", job.pointer))?;
            let rnd = randomness()?;
            let text = match job.kind {
                KeyKind::Eth => encrypt_v3(
                    &EthSecretKey::from_bytes(&w).map_err(|_| {
                        anyhow!("the key at {} is not a valid secp256k1 key", job.pointer)
                    })?,
                    password,
                    &rnd,
                ),
                KeyKind::Bls => encrypt_bn254(
                    &BlsSecretKey::from_word(&w)
                        .map_err(|_| anyhow!("the BLS key at {} is zero", job.pointer))?,
                    password,
                    bls_label,
                    &rnd,
                ),
            };
            progress.inc();
            Ok((job.path.clone(), Zeroizing::new(text)))
        })
        .collect::<Result<_>>()?;
    progress.finish();
    for (path, text) in &files {
        staged.add_maybe_new(Path::new(path), text.as_bytes(), replace)?;
    }
    protect::apply(doc, &jobs, password);
    Ok(())
}

fn keystore_dir_warning(out_dir: &str, keystore_path: &str) {
    if paths::normalize(out_dir) == paths::dirname(keystore_path) {
        eprintln!("note: encrypted key files were written next to the keystore; a node pointed at this directory (KEY_STORE_DIRECTORY) would try to load them as keystores. Use --encrypted-keystore-dir to keep them elsewhere.");
    }
}

// ---------------------------------------------------------------------------------------------
// new

fn next_free_keystore(dir: &str) -> String {
    let mut n = 1u32;
    loop {
        let name = format!("key{n}.json");
        if !Path::new(&paths::join(dir, &name)).exists() {
            return name;
        }
        n += 1;
    }
}

fn output_path(file: Option<&str>, dir: &str, default_name: impl FnOnce() -> String) -> String {
    match file {
        Some(f) if f.starts_with('/') => f.to_string(),
        Some(f) => paths::join(dir, f),
        None => paths::join(dir, &default_name()),
    }
}

fn staker_output_path(keystore_path: &str, dir: Option<&str>) -> String {
    let dir = dir
        .map(str::to_string)
        .unwrap_or_else(|| paths::dirname(keystore_path));
    paths::join(
        &dir,
        &format!(
            "{}_staker_output.json",
            paths::basename(keystore_path, ".json")
        ),
    )
}

fn new(a: NewArgs) -> Result<()> {
    let d = &a.derive;
    let count = effective_count(d.count);
    let fee = generate::parse_fee_recipient(&d.fee_recipient).map_err(|e| anyhow!(e))?;
    let password = d.password.resolve(true)?;
    let plan = plan(d, 0, count)?;
    let data_dir = match &d.data_dir {
        Some(dir) => dir.clone(),
        None => default_data_dir()?,
    };
    let path = output_path(d.file.as_deref(), &data_dir, || {
        next_free_keystore(&data_dir)
    });
    if Path::new(&path).exists() && !a.force {
        bail!("refusing to overwrite the existing keystore {path}: it may hold the only copy of its keys. Use `validator-keys add` to append, another --file, or --force to replace it");
    }
    let built = build(&plan, &fee, d.coinbase, 0, d.max_pop_gas)?;
    let mut doc = generate::keystore_json(built.validators);
    let mut staged = Staged::new();
    if let Some(pw) = &password {
        let out_dir = d
            .encrypted_keystore_dir
            .clone()
            .unwrap_or_else(|| paths::dirname(&path));
        encrypt_into(
            &mut doc,
            &out_dir,
            pw,
            DEFAULT_BLS_PATH,
            &mut staged,
            a.force,
        )?;
        if d.encrypted_keystore_dir.is_none() {
            keystore_dir_warning(&out_dir, &path);
        }
    }
    // The reference derives the staker output from the keystore as written: keys encrypted with
    // an empty password count as having no password, so they yield no registration.
    let staker_json = if a.staker_output && password.as_ref().is_none_or(|p| !p.is_empty()) {
        check_on_chain(&a.chain, &built.registrations)?;
        Some(registration::to_json_text(&built.registrations))
    } else {
        None
    };
    staged.add_maybe_new(Path::new(&path), generate::pretty(&doc).as_bytes(), a.force)?;
    let staker_path = staker_output_path(&path, None);
    if let Some(text) = &staker_json {
        staged.add(Path::new(&staker_path), text.as_bytes())?;
    }
    staged.commit()?;

    if d.json {
        let mut printed = doc.clone();
        if let Some(m) = &plan.generated_mnemonic {
            printed["generatedMnemonic"] = json!(m.as_str());
        }
        if let Some(text) = &staker_json {
            let staker: Value = serde_json::from_str(text)?;
            printed = json!({"keystore": printed, "staker": staker});
        }
        println!("{}", generate::pretty(&printed));
        return Ok(());
    }
    if let Some(m) = &plan.generated_mnemonic {
        println!("No mnemonic provided, generating new one...");
        println!("Using new mnemonic:");
        println!();
        println!("{}", m.as_str());
        println!();
    }
    println!("Wrote validator keystore to {path}");
    if staker_json.is_some() {
        println!(
            "Wrote staker output for {} validator(s) to {staker_path}",
            built.registrations.len()
        );
        println!();
    }
    for line in built.summary.iter().chain(built.remote_lines.iter()) {
        println!("{line}");
    }
    if let Some(text) = &staker_json {
        println!();
        println!("Staker outputs:");
        println!("{text}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// add

/// Loads a keystore through the schema, with the reference's error messages.
fn load_keystore(path: &str) -> Result<Keystore> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("Failed to load keystore from {path}"))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow!("Failed to load keystore from {path}: Invalid JSON format ({e})"))?;
    schema::parse_keystore_value(&value)
        .map_err(|e| anyhow!("Failed to load keystore from {path}: Schema validation failed: {e}"))
}

fn add(a: AddArgs) -> Result<()> {
    let d = &a.derive;
    let count = effective_count(d.count);
    let fee = generate::parse_fee_recipient(&d.fee_recipient).map_err(|e| anyhow!(e))?;
    let ks = load_keystore(&a.existing)?;
    if !ks.validators_present {
        bail!("Invalid keystore: missing validators array");
    }
    let existing = ks.validators.len();
    // The reference writes the file back as its schema parsed it (field order, lowercase
    // addresses); cairn does the same so both tools produce identical files.
    let mut doc = ks.to_json();
    let password = d.password.resolve(true)?;

    // Defaults come from the first existing validator, as in the reference.
    let first = doc["validators"].get(0).cloned().unwrap_or(Value::Null);
    let coinbase = d
        .coinbase
        .or_else(|| ks.validators.first().and_then(|v| v.coinbase));
    let inherited_signer = first
        .get("attester")
        .and_then(|at| {
            at.get("remoteSignerUrl")
                .or_else(|| at.get("eth").and_then(|e| e.get("remoteSignerUrl")))
        })
        .and_then(Value::as_str)
        .map(str::to_string);
    let remote = d.remote_signer.clone().or(inherited_signer);
    if remote.is_some() && d.mnemonic.is_none() {
        bail!("Using --remote-signer requires a deterministic key source. Provide --mnemonic to derive keys, or omit --remote-signer to write new private keys to keystore.");
    }
    let mut plan = plan(d, existing as u32, count)?;
    if let Some(url) = remote {
        plan.form = EthForm::RemoteSigner(url);
    }
    let built = build(&plan, &fee, coinbase, existing, d.max_pop_gas)?;
    refuse_collisions(&ks, &built)?;
    let added = built.validators.len();
    doc["validators"]
        .as_array_mut()
        .expect("checked above")
        .extend(built.validators);

    let base_dir = paths::dirname(&a.existing);
    let out_path = match &d.file {
        Some(f) if f.starts_with('/') => f.clone(),
        Some(f) => paths::join(d.data_dir.as_deref().unwrap_or(&base_dir), f),
        None => a.existing.clone(),
    };
    let mut staged = Staged::new();
    if let Some(pw) = &password {
        let out_dir = d
            .encrypted_keystore_dir
            .clone()
            .or_else(|| d.data_dir.clone())
            .unwrap_or_else(|| base_dir.clone());
        let label = d
            .bls_path
            .clone()
            .unwrap_or_else(|| DEFAULT_BLS_PATH.to_string());
        encrypt_into(&mut doc, &out_dir, pw, &label, &mut staged, a.force)?;
    }
    // The result must still be a valid keystore before it replaces the old one.
    schema::parse_keystore_value(&doc)
        .map_err(|e| anyhow!("internal error: the updated keystore does not validate: {e}"))?;
    // Rewriting the input keystore is the point of `add`; any other existing file is protected.
    let replace = a.force || paths::normalize(&out_path) == paths::normalize(&a.existing);
    staged.add_maybe_new(
        Path::new(&out_path),
        generate::pretty(&doc).as_bytes(),
        replace,
    )?;
    staged.commit()?;

    if d.json {
        println!("{}", generate::pretty(&doc));
        return Ok(());
    }
    println!("Updated keystore {out_path} with {added} new validator(s)");
    for line in &built.summary {
        println!("{line}");
    }
    Ok(())
}

/// New keys must not repeat an attester or publisher already in the keystore: that happens when
/// `add` starts after the existing validators' indices but `new --max-pop-gas` had skipped some,
/// or the first run derived publishers (the reference's index rule lets them collide).
fn refuse_collisions(ks: &Keystore, built: &Assembled) -> Result<()> {
    use cairn_keys::schema::{EthAccount, EthAccounts};
    let mut known: std::collections::BTreeMap<Address, String> = std::collections::BTreeMap::new();
    for (i, v) in ks.validators.iter().enumerate() {
        for a in v.attester.listed() {
            if let Some(addr) = a.eth.known_address() {
                known.insert(addr, format!("attester of validator {}", i + 1));
            }
        }
        let pubs: Vec<&EthAccount> = match &v.publisher {
            Some(EthAccounts::One(p)) => vec![p],
            Some(EthAccounts::Many(ps)) => ps.iter().collect(),
            _ => Vec::new(),
        };
        for p in pubs {
            if let Some(addr) = p.known_address() {
                known
                    .entry(addr)
                    .or_insert(format!("publisher of validator {}", i + 1));
            }
        }
    }
    for (i, r) in built.registrations.iter().enumerate() {
        let addr = Address::parse(&r.attester).map_err(|e| anyhow!("internal error: {e}"))?;
        if let Some(what) = known.get(&addr) {
            bail!(
                "new validator {} would be {}, already the {what} in this keystore; pass --address-index with an unused index",
                i + 1,
                addr.to_checksum()
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// staker

pub struct FsKeyFiles;

impl KeyFiles for FsKeyFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        if let Some(mode) = fsx::loose_permissions(Path::new(path)) {
            eprintln!("warning: {path} is readable by other users (mode {mode:o}); chmod 600 it");
        }
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }
}

/// Asks the GSE for each digest and fails on any difference from the local computation.
fn check_on_chain(chain: &ChainArgs, regs: &[Registration]) -> Result<()> {
    let (Some(gse), Some(urls)) = (&chain.gse_address, &chain.l1_rpc_urls) else {
        if chain.gse_address.is_some() {
            eprintln!("note: --gse-address given without --l1-rpc-urls; digests were computed locally only");
        }
        return Ok(());
    };
    Address::parse(gse).map_err(|e| anyhow!("invalid --gse-address {gse:?}: {e}"))?;
    let rpc = cairn_l1::RpcClient::new(&[urls.as_str()])?;
    let id = rpc.chain_id()?;
    if id != chain.l1_chain_id {
        bail!("the L1 RPC is chain {id}, but --l1-chain-id is {}; point --l1-rpc-urls at the right network or fix the chain id", chain.l1_chain_id);
    }
    let keys: Vec<G1Words> = regs.iter().map(|r| r.pk1).collect();
    let remote = cairn_l1::gse::registration_digests(&rpc, gse, &keys)?;
    for (r, d) in regs.iter().zip(remote) {
        let local = cairn_crypto::bls::registration_digest(&r.pk1);
        if local != d {
            bail!(
                "the GSE at {gse} returned a different registration digest for attester {} (chain ({}, {}), local ({}, {})): this GSE uses another hashToPoint and registrations made here would be rejected; nothing was written",
                r.attester,
                hex32::padded(&d.x),
                hex32::padded(&d.y),
                hex32::padded(&local.x),
                hex32::padded(&local.y)
            );
        }
    }
    eprintln!(
        "checked {} registration digest(s) against the GSE at {gse}: all match",
        regs.len()
    );
    Ok(())
}

/// Registration tuples for every validator of a keystore that has an attester and a BLS key
/// (decrypting with `password` or the files' stored passwords); skipped ones are noted on stderr.
pub fn keystore_registrations(ks: &Keystore, password: Option<&str>) -> Result<Vec<Registration>> {
    let (jobs, mut skipped) = staker::jobs(ks);
    let progress = Progress::new(jobs.len() as u64, "computing registrations");
    let results: Vec<_> = jobs
        .par_iter()
        .map(|j| {
            let r = staker::run(j, password, &FsKeyFiles);
            progress.inc();
            r
        })
        .collect::<Result<_, _>>()?;
    progress.finish();
    let mut regs = Vec::new();
    for r in results {
        match r {
            Ok(reg) => regs.push(reg),
            Err(skip) => skipped.push(skip),
        }
    }
    for s in &skipped {
        eprintln!("note: {s}");
    }
    Ok(regs)
}

/// Loads a keystore file with the reference's error messages.
pub fn load_keystore_file(path: &str) -> Result<Keystore> {
    load_keystore(path)
}

fn staker_cmd(a: StakerArgs) -> Result<()> {
    let ks = load_keystore(&a.from)?;
    let password = a.password.resolve(false)?;
    if let (Some(gse), Some(urls)) = (&a.chain.gse_address, &a.chain.l1_rpc_urls) {
        let gse = Address::parse(gse).map_err(|e| anyhow!("invalid --gse-address {gse:?}: {e}"))?;
        let urls: Vec<&str> = urls.split(',').map(str::trim).collect();
        println!(
            "Calling GSE contract {} on chain {}, using {} to get staker outputs",
            gse.to_lower_hex(),
            a.chain.l1_chain_id,
            urls.join(", ")
        );
    }
    if ks.validators.is_empty() {
        println!("No validators found in keystore");
        return Ok(());
    }
    let regs = keystore_registrations(&ks, password.as_deref().map(String::as_str))?;
    if regs.is_empty() {
        println!("No attesters with BLS keys found (skipping mnemonics and encrypted keystores without password)");
        return Ok(());
    }
    for (i, r) in regs.iter().enumerate() {
        warn_gas(
            &format!("registration {}", i + 1),
            &r.attester,
            &cairn_crypto::PopGasEstimate::for_key(&r.pk1),
        );
    }
    check_on_chain(&a.chain, &regs)?;
    let out = staker_output_path(&a.from, a.output.as_deref());
    let out_dir = paths::dirname(&out);
    if !Path::new(&out_dir).is_dir() {
        bail!("output directory {out_dir} does not exist; create it or choose another --output");
    }
    fsx::write_one(
        Path::new(&out),
        registration::to_json_text(&regs).as_bytes(),
    )?;
    println!(
        "Wrote staker output for {} validator(s) to {out}",
        regs.len()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// verify

fn verify(a: VerifyArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("cannot read {}", a.file.display()))?;
    let report = registration::verify_document_with(&text, |items| {
        items
            .par_iter()
            .enumerate()
            .map(|(i, v)| registration::check_entry(i, v))
            .collect()
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        print_report(&a.file, &report);
    }
    if report.ok() {
        Ok(())
    } else {
        bail!(
            "{} check(s) failed in {}",
            report.count(Status::Fail),
            a.file.display()
        )
    }
}

fn print_report(file: &Path, report: &VerifyReport) {
    let mark = |s: Status| match s {
        Status::Pass => "PASS",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
    };
    println!("{}", file.display());
    for c in &report.document {
        println!("  [{}] {}: {}", mark(c.status), c.id, c.detail);
    }
    for e in &report.entries {
        println!(
            "entry {} ({}):",
            e.index,
            e.attester.as_deref().unwrap_or("no attester")
        );
        for c in &e.checks {
            println!("  [{}] {}: {}", mark(c.status), c.id, c.detail);
        }
    }
    let (p, w, f) = (
        report.count(Status::Pass),
        report.count(Status::Warn),
        report.count(Status::Fail),
    );
    println!(
        "{}: {p} passed, {w} warnings, {f} failed",
        if report.ok() { "OK" } else { "FAILED" }
    );
}

// ---------------------------------------------------------------------------------------------
// check

fn check(a: CheckArgs) -> Result<()> {
    use cairn_keys::dir;
    let path = &a.path;
    let mut files: Vec<(String, String)> = Vec::new();
    if path.is_dir() {
        let mut names: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read keystore directory {}", path.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && dir::is_keystore_name(&p.file_name().unwrap_or_default().to_string_lossy())
            })
            .collect();
        names.sort();
        for p in names {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            files.push((p.display().to_string(), text));
        }
    } else {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read keystore {}", path.display()))?;
        files.push((path.display().to_string(), text));
    }
    for (name, _) in &files {
        if let Some(mode) = fsx::loose_permissions(Path::new(name)) {
            eprintln!("warning: {name} is readable by other users (mode {mode:o}); chmod 600 it");
        }
    }
    let loaded = dir::parse_files(&files, &path.display().to_string())?;
    let merged = dir::merge(loaded)?;
    for w in &merged.warnings {
        eprintln!("warning: {w}");
    }
    let attesters = dir::resolve_attesters(&merged, &FsKeyFiles)?;
    // On-chain state, when an L1 is given: an exited attester's keys are spent for good.
    let mut exits: std::collections::BTreeMap<usize, String> = Default::default();
    if a.net.network.is_some() || !a.net.l1_rpc_urls.is_empty() {
        // The keystore itself is checked either way; an unreachable L1 only means its on-chain
        // state was not, which is said rather than taken for "not exited".
        let checked = a.net.resolve(false).and_then(|net| {
            for (i, r) in attesters.iter().enumerate() {
                let who = alloy_primitives::Address::from(r.address.0);
                if let Some(note) = super::staking::exit_note(&net.l1, net.rollup, who)
                    .with_context(|| format!("reading attester {who} on rollup {}", net.rollup))?
                {
                    eprintln!("warning: attester {who}: {note}");
                    exits.insert(i, note);
                }
            }
            Ok(())
        });
        if let Err(e) = checked {
            eprintln!("warning: attesters' on-chain state not checked: {e:#}");
        }
    }
    if a.json {
        let list: Vec<Value> = attesters
            .iter()
            .enumerate()
            .map(|(i, r)| {
                json!({
                    "file": r.file,
                    "validator": r.validator + 1,
                    "attester": r.address.to_checksum(),
                    "coinbase": r.coinbase.to_checksum(),
                    "custody": r.custody,
                    "exit": exits.get(&i),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"files": files.len(), "attesters": list}))?
        );
        return Ok(());
    }
    println!(
        "{} keystore file(s), {} validator block(s), {} attester(s): OK",
        files.len(),
        merged.validators.len(),
        attesters.len()
    );
    for (i, r) in attesters.iter().enumerate() {
        println!(
            "  {}  coinbase {}  {}  ({}, validator {}){}",
            r.address.to_checksum(),
            r.coinbase.to_checksum(),
            r.custody,
            r.file,
            r.validator + 1,
            exits
                .get(&i)
                .map(|n| format!("  EXITED: {n}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}
