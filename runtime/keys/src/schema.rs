//! The node keystore, schema version 1, as Aztec's `node-keystore` validates it.
//!
//! Parsing is hand-written over `serde_json::Value` rather than derived, so that the accepted
//! forms, the order in which union alternatives are tried, strict unknown-field rejection and
//! `null`-as-absent follow the reference exactly, and every error carries the JSON path of the
//! offending value.

use cairn_crypto::{Address, EthSecretKey};
use serde_json::{Map, Value};
use thiserror::Error;

/// A schema violation at a JSON path such as `validators.0.attester.eth`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message} ({path})")]
pub struct SchemaError {
    /// Dotted path to the offending value (`<root>` for the document itself).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// A 32-byte secret given in the file as `0x` + 64 hex characters (kept as written).
#[derive(Clone, PartialEq, Eq)]
pub struct HexKey {
    /// The string as it appears in the file.
    pub raw: String,
    /// Decoded bytes.
    pub bytes: [u8; 32],
}

impl std::fmt::Debug for HexKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HexKey(<redacted>)")
    }
}

/// `{ "path": …, "password"?: … }`: a JSON-V3 or BN254 key file (or, for Ethereum accounts, a
/// directory of JSON-V3 files).
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedKeyFile {
    /// Path as written (relative paths resolve against the working directory, as in the node).
    pub path: String,
    /// The stored password; `None` when absent or null.
    pub password: Option<String>,
}

/// A remote signer (Web3Signer) endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct RemoteSignerConfig {
    /// JSON-RPC URL.
    pub url: String,
    /// Given as a bare URL string rather than a `{remoteSignerUrl}` object.
    pub bare_url: bool,
    /// Client certificate path (accepted, unused, as in the reference).
    pub cert_path: Option<String>,
    /// Client certificate password (accepted, unused).
    pub cert_pass: Option<String>,
}

impl std::fmt::Debug for EncryptedKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedKeyFile")
            .field("path", &self.path)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl std::fmt::Debug for RemoteSignerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSignerConfig")
            .field("url", &self.url)
            .field("cert_path", &self.cert_path)
            .field("cert_pass", &self.cert_pass.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// An Ethereum account held by a remote signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAccount {
    /// The account address.
    pub address: Address,
    /// The signer for this account; `None` means "inherit the validator's or the file's".
    pub signer: Option<RemoteSignerConfig>,
}

/// One Ethereum account in any of the forms the schema accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EthAccount {
    /// A plaintext private key.
    PrivateKey(HexKey),
    /// A bare address or `{address, remoteSignerUrl}`.
    Remote(RemoteAccount),
    /// A JSON-V3 file (or directory of them).
    Encrypted(EncryptedKeyFile),
}

/// `{ mnemonic, addressIndex, accountIndex, addressCount, accountCount }`.
#[derive(Clone, PartialEq, Eq)]
pub struct MnemonicConfig {
    /// The phrase, trimmed (the node trims; the CLI does not).
    pub mnemonic: String,
    /// The phrase exactly as written in the file.
    pub raw: String,
    /// First address index.
    pub address_index: u32,
    /// First account index.
    pub account_index: u32,
    /// Number of address indices.
    pub address_count: u32,
    /// Number of accounts.
    pub account_count: u32,
}

impl std::fmt::Debug for MnemonicConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MnemonicConfig")
            .field("mnemonic", &"<redacted>")
            .field("address_index", &self.address_index)
            .field("account_index", &self.account_index)
            .field("address_count", &self.address_count)
            .field("account_count", &self.account_count)
            .finish()
    }
}

impl MnemonicConfig {
    /// The `(account, address)` pairs it expands to: accounts outer, addresses inner.
    pub fn indices(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for acc in self.account_index..self.account_index.saturating_add(self.account_count) {
            for addr in self.address_index..self.address_index.saturating_add(self.address_count) {
                out.push((acc, addr));
            }
        }
        out
    }
}

/// One or many accounts, or a mnemonic that expands to many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EthAccounts {
    /// A single account.
    One(EthAccount),
    /// A list of accounts.
    Many(Vec<EthAccount>),
    /// Accounts derived from a mnemonic.
    Mnemonic(MnemonicConfig),
}

/// A BLS key: plaintext or a BN254 keystore file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlsAccount {
    /// A plaintext secret (not range-checked, as in the reference).
    PrivateKey(HexKey),
    /// A BN254 keystore file.
    Encrypted(EncryptedKeyFile),
}

/// An attester: an Ethereum account, optionally with its BLS key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttesterAccount {
    /// The signing account.
    pub eth: EthAccount,
    /// The BLS key used for staking registration (the node ignores it at runtime).
    pub bls: Option<BlsAccount>,
    /// Whether the file used the `{eth, bls}` object form.
    pub object_form: bool,
}

/// One attester, a list of them, or a mnemonic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttesterAccounts {
    /// A single attester.
    One(AttesterAccount),
    /// A list of attesters.
    Many(Vec<AttesterAccount>),
    /// Attesters derived from a mnemonic (no BLS keys).
    Mnemonic(MnemonicConfig),
}

impl AttesterAccounts {
    /// The explicitly listed attesters (empty for a mnemonic).
    pub fn listed(&self) -> &[AttesterAccount] {
        match self {
            AttesterAccounts::One(a) => std::slice::from_ref(a),
            AttesterAccounts::Many(v) => v,
            AttesterAccounts::Mnemonic(_) => &[],
        }
    }
}

/// The prover configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProverKeyStore {
    /// One account both identifies the prover and publishes.
    Account(EthAccount),
    /// A prover identity with separate publishers.
    WithPublishers {
        /// Prover identity and reward address.
        id: Address,
        /// Accounts that send proof transactions.
        publisher: EthAccounts,
    },
}

/// One validator block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorKeyStore {
    /// Attester accounts.
    pub attester: AttesterAccounts,
    /// L2 fee recipient (32 bytes); required in schema v1, may fall back to the top level in v2.
    pub fee_recipient: Option<[u8; 32]>,
    /// L1 coinbase; defaults to each attester's own address.
    pub coinbase: Option<Address>,
    /// Publishers; default to the attesters.
    pub publisher: Option<EthAccounts>,
    /// Default remote signer for this block.
    pub remote_signer: Option<RemoteSignerConfig>,
    /// Funding account (unused at runtime by the reference).
    pub funding_account: Option<EthAccount>,
}

/// A whole keystore file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keystore {
    /// 1, or 2 for files that use top-level defaults.
    pub schema_version: u8,
    /// Validator blocks; `None` when the file has no `validators` field.
    pub validators_present: bool,
    /// Validator blocks.
    pub validators: Vec<ValidatorKeyStore>,
    /// Slasher accounts.
    pub slasher: Option<EthAccounts>,
    /// File-wide default remote signer.
    pub remote_signer: Option<RemoteSignerConfig>,
    /// Prover configuration.
    pub prover: Option<ProverKeyStore>,
    /// Funding account.
    pub funding_account: Option<EthAccount>,
    /// Schema v2: default publishers for every validator.
    pub publisher: Option<EthAccounts>,
    /// Schema v2: default coinbase for every validator.
    pub coinbase: Option<Address>,
    /// Schema v2: default fee recipient for every validator.
    pub fee_recipient: Option<[u8; 32]>,
}

// ---------------------------------------------------------------------------------------------

struct Ctx {
    path: Vec<String>,
}

impl Ctx {
    fn err(&self, message: impl Into<String>) -> SchemaError {
        SchemaError {
            path: if self.path.is_empty() {
                "<root>".to_string()
            } else {
                self.path.join(".")
            },
            message: message.into(),
        }
    }

    fn at<T>(&mut self, key: impl ToString, f: impl FnOnce(&mut Ctx) -> T) -> T {
        self.path.push(key.to_string());
        let out = f(self);
        self.path.pop();
        out
    }
}

type R<T> = Result<T, SchemaError>;

/// Parses and validates a keystore file's text.
pub fn parse_keystore(text: &str) -> R<Keystore> {
    let v: Value = serde_json::from_str(text).map_err(|e| SchemaError {
        path: "<root>".into(),
        message: format!("invalid JSON: {e}"),
    })?;
    parse_keystore_value(&v)
}

/// Validates an already-parsed JSON document as a keystore.
pub fn parse_keystore_value(v: &Value) -> R<Keystore> {
    let mut c = Ctx { path: Vec::new() };
    let obj = object(&mut c, v, "a keystore object")?;
    let version = match obj.get("schemaVersion") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => 1u8,
        Some(Value::Number(n)) if n.as_u64() == Some(2) => 2u8,
        Some(other) => {
            return Err(c.at("schemaVersion", |c| {
                c.err(format!(
                    "Invalid literal value, expected 1 or 2 (the keystore schema versions), got {other}"
                ))
            }))
        }
        None => return Err(c.at("schemaVersion", |c| c.err("Required"))),
    };
    let mut allowed = vec![
        "schemaVersion",
        "validators",
        "slasher",
        "remoteSigner",
        "prover",
        "fundingAccount",
    ];
    if version == 2 {
        allowed.extend(["publisher", "coinbase", "feeRecipient"]);
    }
    strict(&mut c, obj, &allowed)?;
    let validators = match present(obj, "validators") {
        None => None,
        Some(v) => Some(c.at("validators", |c| {
            let arr = v
                .as_array()
                .ok_or_else(|| c.err("Expected an array of validators"))?;
            arr.iter()
                .enumerate()
                .map(|(i, v)| c.at(i, |c| validator(c, v, version)))
                .collect::<R<Vec<_>>>()
        })?),
    };
    let slasher = opt_field(&mut c, obj, "slasher", eth_accounts)?;
    let remote_signer = opt_field(&mut c, obj, "remoteSigner", remote_signer_config)?;
    let prover = opt_field(&mut c, obj, "prover", prover)?;
    let funding_account = opt_field(&mut c, obj, "fundingAccount", eth_account)?;
    let publisher = opt_field(&mut c, obj, "publisher", eth_accounts)?;
    let coinbase = opt_field(&mut c, obj, "coinbase", address)?;
    let fee_recipient = opt_field(&mut c, obj, "feeRecipient", aztec_address)?;
    if validators.is_none() && prover.is_none() {
        return Err(c.err("Keystore must have at least validators or prover configuration"));
    }
    if version == 2
        && fee_recipient.is_none()
        && validators
            .as_ref()
            .is_some_and(|vs| vs.iter().any(|v| v.fee_recipient.is_none()))
    {
        return Err(c.at("feeRecipient", |c| {
            c.err("Each validator must have a feeRecipient, or a top-level feeRecipient must be set for all validators")
        }));
    }
    Ok(Keystore {
        schema_version: version,
        validators_present: validators.is_some(),
        validators: validators.unwrap_or_default(),
        slasher,
        remote_signer,
        prover,
        funding_account,
        publisher,
        coinbase,
        fee_recipient,
    })
}

/// A field that may be absent or null.
fn present<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn opt_field<T>(
    c: &mut Ctx,
    obj: &Map<String, Value>,
    key: &str,
    f: impl FnOnce(&mut Ctx, &Value) -> R<T>,
) -> R<Option<T>> {
    match present(obj, key) {
        None => Ok(None),
        Some(v) => c.at(key, |c| f(c, v)).map(Some),
    }
}

fn req_field<T>(
    c: &mut Ctx,
    obj: &Map<String, Value>,
    key: &str,
    f: impl FnOnce(&mut Ctx, &Value) -> R<T>,
) -> R<T> {
    match present(obj, key) {
        None => Err(c.at(key, |c| c.err("Required"))),
        Some(v) => c.at(key, |c| f(c, v)),
    }
}

fn object<'a>(c: &mut Ctx, v: &'a Value, what: &str) -> R<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| c.err(format!("Expected {what}, got {}", kind(v))))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn strict(c: &mut Ctx, obj: &Map<String, Value>, allowed: &[&str]) -> R<()> {
    let unknown: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        let list = unknown
            .iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(", ");
        Err(c.err(format!("Unrecognized key(s) in object: {list}")))
    }
}

fn string<'a>(c: &mut Ctx, v: &'a Value) -> R<&'a str> {
    v.as_str()
        .ok_or_else(|| c.err(format!("Expected string, received {}", kind(v))))
}

fn is_hex_key(s: &str) -> bool {
    s.len() == 66 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn hex_key(s: &str) -> HexKey {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(&s[2..], &mut bytes).expect("checked by is_hex_key");
    HexKey {
        raw: s.to_string(),
        bytes,
    }
}

fn address(c: &mut Ctx, v: &Value) -> R<Address> {
    let s = string(c, v)?;
    Address::parse(s).map_err(|e| c.err(format!("Invalid Ethereum address {}: {e}", shown(s))))
}

/// A value for an error message, unless it is long enough to be a pasted secret (a private key
/// typed where an address belongs must not end up in a terminal log).
pub fn shown(s: &str) -> String {
    if s.len() > 42 {
        format!("<{} characters, not shown>", s.chars().count())
    } else {
        format!("{s:?}")
    }
}

fn url(c: &mut Ctx, v: &Value) -> R<String> {
    let s = string(c, v)?;
    // zod's `.url()` accepts anything WHATWG `new URL()` parses: a scheme, a colon, and more.
    let ok = s
        .split_once(':')
        .map(|(scheme, rest)| {
            !scheme.is_empty()
                && scheme.as_bytes()[0].is_ascii_alphabetic()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                && !rest.is_empty()
                && !s.chars().any(char::is_whitespace)
        })
        .unwrap_or(false);
    if ok {
        Ok(s.to_string())
    } else {
        Err(c.err(format!("Invalid URL {}", shown(s))))
    }
}

fn opt_string(c: &mut Ctx, obj: &Map<String, Value>, key: &str) -> R<Option<String>> {
    opt_field(c, obj, key, |c, v| string(c, v).map(str::to_string))
}

fn encrypted_key_file(c: &mut Ctx, obj: &Map<String, Value>) -> R<EncryptedKeyFile> {
    strict(c, obj, &["path", "password"])?;
    let path = req_field(c, obj, "path", |c, v| string(c, v).map(str::to_string))?;
    let password = opt_string(c, obj, "password")?;
    Ok(EncryptedKeyFile { path, password })
}

fn remote_signer_config(c: &mut Ctx, v: &Value) -> R<RemoteSignerConfig> {
    match v {
        Value::String(_) => Ok(RemoteSignerConfig {
            url: url(c, v)?,
            bare_url: true,
            cert_path: None,
            cert_pass: None,
        }),
        Value::Object(obj) => {
            strict(c, obj, &["remoteSignerUrl", "certPath", "certPass"])?;
            Ok(RemoteSignerConfig {
                url: req_field(c, obj, "remoteSignerUrl", url)?,
                bare_url: false,
                cert_path: opt_string(c, obj, "certPath")?,
                cert_pass: opt_string(c, obj, "certPass")?,
            })
        }
        other => Err(c.err(format!(
            "Expected a remote signer URL or {{remoteSignerUrl}} object, got {}",
            kind(other)
        ))),
    }
}

fn eth_account(c: &mut Ctx, v: &Value) -> R<EthAccount> {
    match v {
        Value::String(s) => {
            if is_hex_key(s) {
                return Ok(EthAccount::PrivateKey(hex_key(s)));
            }
            if s.len() == 66 && s.starts_with("0x") {
                return Err(c.err("Invalid private key (must be 32 bytes with 0x prefix)"));
            }
            match Address::parse(s) {
                Ok(address) => Ok(EthAccount::Remote(RemoteAccount {
                    address,
                    signer: None,
                })),
                Err(e) => Err(c.err(format!(
                    "Invalid input: expected a private key (0x + 64 hex) or an Ethereum address ({e})"
                ))),
            }
        }
        Value::Object(obj) => {
            // Union order: private key | remote-signer account | encrypted file. An object can
            // only be one of the last two, told apart by their required key.
            if obj.contains_key("address") {
                strict(
                    c,
                    obj,
                    &["address", "remoteSignerUrl", "certPath", "certPass"],
                )?;
                let address = req_field(c, obj, "address", address)?;
                let url = req_field(c, obj, "remoteSignerUrl", url)?;
                Ok(EthAccount::Remote(RemoteAccount {
                    address,
                    signer: Some(RemoteSignerConfig {
                        url,
                        bare_url: false,
                        cert_path: opt_string(c, obj, "certPath")?,
                        cert_pass: opt_string(c, obj, "certPass")?,
                    }),
                }))
            } else if obj.contains_key("path") {
                Ok(EthAccount::Encrypted(encrypted_key_file(c, obj)?))
            } else {
                Err(c.err(
                    "Invalid input: expected a private key, an address, {address, remoteSignerUrl} or {path, password}",
                ))
            }
        }
        other => Err(c.err(format!(
            "Invalid input: expected an Ethereum account, got {}",
            kind(other)
        ))),
    }
}

fn mnemonic_config(c: &mut Ctx, obj: &Map<String, Value>) -> R<MnemonicConfig> {
    strict(
        c,
        obj,
        &[
            "mnemonic",
            "addressIndex",
            "accountIndex",
            "addressCount",
            "accountCount",
        ],
    )?;
    let raw = req_field(c, obj, "mnemonic", |c, v| string(c, v).map(str::to_string))?;
    let mnemonic = raw.trim().to_string();
    if mnemonic.is_empty() {
        return Err(c.at("mnemonic", |c| c.err("Mnemonic cannot be empty")));
    }
    let int = |c: &mut Ctx, key: &str, min: u64, default: u32| -> R<u32> {
        opt_field(c, obj, key, |c, v| {
            v.as_u64()
                .filter(|n| *n >= min && *n < (1 << 31))
                .map(|n| n as u32)
                .ok_or_else(|| c.err(format!("Expected an integer >= {min} (and below 2^31)")))
        })
        .map(|o| o.unwrap_or(default))
    };
    Ok(MnemonicConfig {
        mnemonic,
        raw,
        address_index: int(c, "addressIndex", 0, 0)?,
        account_index: int(c, "accountIndex", 0, 0)?,
        address_count: int(c, "addressCount", 1, 1)?,
        account_count: int(c, "accountCount", 1, 1)?,
    })
}

/// The `X | X[] | MnemonicConfig` union shared by attesters, publishers and slashers.
fn one_many_or_mnemonic<T, U>(
    c: &mut Ctx,
    v: &Value,
    item: fn(&mut Ctx, &Value) -> R<T>,
    one: fn(T) -> U,
    many: fn(Vec<T>) -> U,
    mnemonic: fn(MnemonicConfig) -> U,
) -> R<U> {
    match v {
        Value::Array(arr) => arr
            .iter()
            .enumerate()
            .map(|(i, v)| c.at(i, |c| item(c, v)))
            .collect::<R<Vec<_>>>()
            .map(many),
        Value::Object(obj) if obj.contains_key("mnemonic") => mnemonic_config(c, obj).map(mnemonic),
        _ => item(c, v).map(one),
    }
}

fn eth_accounts(c: &mut Ctx, v: &Value) -> R<EthAccounts> {
    one_many_or_mnemonic(
        c,
        v,
        eth_account,
        EthAccounts::One,
        EthAccounts::Many,
        EthAccounts::Mnemonic,
    )
}

fn bls_account(c: &mut Ctx, v: &Value) -> R<BlsAccount> {
    match v {
        Value::String(s) if is_hex_key(s) => Ok(BlsAccount::PrivateKey(hex_key(s))),
        Value::String(_) => Err(c.err("Invalid BLS private key (must be 32 bytes with 0x prefix)")),
        Value::Object(obj) => encrypted_key_file(c, obj).map(BlsAccount::Encrypted),
        other => Err(c.err(format!(
            "Expected a BLS private key or {{path, password}}, got {}",
            kind(other)
        ))),
    }
}

fn attester_account(c: &mut Ctx, v: &Value) -> R<AttesterAccount> {
    if let Value::Object(obj) = v {
        if obj.contains_key("eth") {
            strict(c, obj, &["eth", "bls"])?;
            return Ok(AttesterAccount {
                eth: req_field(c, obj, "eth", eth_account)?,
                bls: opt_field(c, obj, "bls", bls_account)?,
                object_form: true,
            });
        }
    }
    Ok(AttesterAccount {
        eth: eth_account(c, v)?,
        bls: None,
        object_form: false,
    })
}

fn attester_accounts(c: &mut Ctx, v: &Value) -> R<AttesterAccounts> {
    one_many_or_mnemonic(
        c,
        v,
        attester_account,
        AttesterAccounts::One,
        AttesterAccounts::Many,
        AttesterAccounts::Mnemonic,
    )
}

fn prover(c: &mut Ctx, v: &Value) -> R<ProverKeyStore> {
    if let Value::Object(obj) = v {
        if obj.contains_key("id") {
            strict(c, obj, &["id", "publisher"])?;
            return Ok(ProverKeyStore::WithPublishers {
                id: req_field(c, obj, "id", address)?,
                publisher: req_field(c, obj, "publisher", eth_accounts)?,
            });
        }
    }
    eth_account(c, v).map(ProverKeyStore::Account)
}

fn aztec_address(c: &mut Ctx, v: &Value) -> R<[u8; 32]> {
    match v {
        Value::String(s) => {
            let digits = s.strip_prefix("0x").unwrap_or(s);
            if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(c.err(format!(
                    "Invalid Aztec address {} (expected 0x + 64 hex characters)",
                    shown(s)
                )));
            }
            let mut out = [0u8; 32];
            hex::decode_to_slice(digits, &mut out).expect("checked hex");
            Ok(out)
        }
        // A serialised Node.js Buffer: {"type":"Buffer","data":[…32 bytes…]}.
        Value::Object(obj) if obj.get("type").and_then(Value::as_str) == Some("Buffer") => {
            let data = obj
                .get("data")
                .and_then(Value::as_array)
                .filter(|a| a.len() == 32)
                .ok_or_else(|| c.err("Invalid Aztec address buffer (expected 32 bytes)"))?;
            let mut out = [0u8; 32];
            for (o, b) in out.iter_mut().zip(data) {
                *o = b
                    .as_u64()
                    .filter(|b| *b <= 255)
                    .ok_or_else(|| c.err("Invalid Aztec address buffer byte"))?
                    as u8;
            }
            Ok(out)
        }
        other => Err(c.err(format!(
            "Expected an Aztec address string, got {}",
            kind(other)
        ))),
    }
}

fn validator(c: &mut Ctx, v: &Value, version: u8) -> R<ValidatorKeyStore> {
    let obj = object(c, v, "a validator object")?;
    strict(
        c,
        obj,
        &[
            "attester",
            "feeRecipient",
            "coinbase",
            "publisher",
            "remoteSigner",
            "fundingAccount",
        ],
    )?;
    Ok(ValidatorKeyStore {
        attester: req_field(c, obj, "attester", attester_accounts)?,
        fee_recipient: if version == 1 {
            Some(req_field(c, obj, "feeRecipient", aztec_address)?)
        } else {
            opt_field(c, obj, "feeRecipient", aztec_address)?
        },
        coinbase: opt_field(c, obj, "coinbase", address)?,
        publisher: opt_field(c, obj, "publisher", eth_accounts)?,
        remote_signer: opt_field(c, obj, "remoteSigner", remote_signer_config)?,
        funding_account: opt_field(c, obj, "fundingAccount", eth_account)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Resolution helpers shared by the CLI and the node.

/// Why an account could not be resolved to a signer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResolveError {
    /// A bare address with no signer anywhere up the chain.
    #[error("No remote signer configuration found for address {0}")]
    NoRemoteSigner(String),
}

/// The URL that signs for `account`: the account's own, then the validator's, then the file's.
pub fn resolve_remote_signer<'a>(
    account: &'a RemoteAccount,
    validator: Option<&'a RemoteSignerConfig>,
    file: Option<&'a RemoteSignerConfig>,
) -> Result<&'a RemoteSignerConfig, ResolveError> {
    account
        .signer
        .as_ref()
        .or(validator)
        .or(file)
        .ok_or_else(|| ResolveError::NoRemoteSigner(account.address.to_lower_hex()))
}

impl EthAccount {
    /// The address, when it is known without decrypting anything.
    pub fn known_address(&self) -> Option<Address> {
        match self {
            EthAccount::PrivateKey(k) => {
                EthSecretKey::from_bytes(&k.bytes).ok().map(|k| k.address())
            }
            EthAccount::Remote(r) => Some(r.address),
            EthAccount::Encrypted(_) => None,
        }
    }
}

impl ValidatorKeyStore {
    /// The coinbase for an attester address: the configured one or the attester itself.
    pub fn coinbase_for(&self, attester: Address) -> Address {
        self.coinbase.unwrap_or(attester)
    }
}

// ---------------------------------------------------------------------------------------------
// The parsed form, as the reference writes a keystore back after loading it (`validator-keys
// add`): fields in schema order, addresses lowercase, `null`s dropped, mnemonic defaults filled.

fn put(obj: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        obj.insert(key.to_string(), v);
    }
}

fn hex32_json(b: &[u8; 32]) -> Value {
    Value::String(format!("0x{}", hex::encode(b)))
}

impl RemoteSignerConfig {
    /// Normalised JSON.
    pub fn to_json(&self) -> Value {
        if self.bare_url {
            return Value::String(self.url.clone());
        }
        let mut o = Map::new();
        o.insert("remoteSignerUrl".into(), Value::String(self.url.clone()));
        put(
            &mut o,
            "certPath",
            self.cert_path.clone().map(Value::String),
        );
        put(
            &mut o,
            "certPass",
            self.cert_pass.clone().map(Value::String),
        );
        Value::Object(o)
    }
}

impl EncryptedKeyFile {
    /// Normalised JSON.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("path".into(), Value::String(self.path.clone()));
        put(&mut o, "password", self.password.clone().map(Value::String));
        Value::Object(o)
    }
}

impl EthAccount {
    /// Normalised JSON.
    pub fn to_json(&self) -> Value {
        match self {
            EthAccount::PrivateKey(k) => Value::String(k.raw.clone()),
            EthAccount::Remote(RemoteAccount {
                address,
                signer: None,
            }) => Value::String(address.to_lower_hex()),
            EthAccount::Remote(RemoteAccount {
                address,
                signer: Some(s),
            }) => {
                let mut o = Map::new();
                o.insert("address".into(), Value::String(address.to_lower_hex()));
                o.insert("remoteSignerUrl".into(), Value::String(s.url.clone()));
                put(&mut o, "certPath", s.cert_path.clone().map(Value::String));
                put(&mut o, "certPass", s.cert_pass.clone().map(Value::String));
                Value::Object(o)
            }
            EthAccount::Encrypted(f) => f.to_json(),
        }
    }
}

impl MnemonicConfig {
    /// Normalised JSON (defaults filled in).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "mnemonic": self.raw,
            "addressIndex": self.address_index,
            "accountIndex": self.account_index,
            "addressCount": self.address_count,
            "accountCount": self.account_count,
        })
    }
}

impl EthAccounts {
    /// Normalised JSON.
    pub fn to_json(&self) -> Value {
        match self {
            EthAccounts::One(a) => a.to_json(),
            EthAccounts::Many(v) => Value::Array(v.iter().map(EthAccount::to_json).collect()),
            EthAccounts::Mnemonic(m) => m.to_json(),
        }
    }
}

impl AttesterAccount {
    /// Normalised JSON.
    pub fn to_json(&self) -> Value {
        if !self.object_form {
            return self.eth.to_json();
        }
        let mut o = Map::new();
        o.insert("eth".into(), self.eth.to_json());
        put(
            &mut o,
            "bls",
            self.bls.as_ref().map(|b| match b {
                BlsAccount::PrivateKey(k) => Value::String(k.raw.clone()),
                BlsAccount::Encrypted(f) => f.to_json(),
            }),
        );
        Value::Object(o)
    }
}

impl AttesterAccounts {
    /// Normalised JSON.
    pub fn to_json(&self) -> Value {
        match self {
            AttesterAccounts::One(a) => a.to_json(),
            AttesterAccounts::Many(v) => {
                Value::Array(v.iter().map(AttesterAccount::to_json).collect())
            }
            AttesterAccounts::Mnemonic(m) => m.to_json(),
        }
    }
}

impl ValidatorKeyStore {
    /// Normalised JSON, in the schema's field order.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("attester".into(), self.attester.to_json());
        put(
            &mut o,
            "coinbase",
            self.coinbase.map(|a| Value::String(a.to_lower_hex())),
        );
        put(
            &mut o,
            "publisher",
            self.publisher.as_ref().map(EthAccounts::to_json),
        );
        put(
            &mut o,
            "feeRecipient",
            self.fee_recipient.as_ref().map(hex32_json),
        );
        put(
            &mut o,
            "remoteSigner",
            self.remote_signer.as_ref().map(RemoteSignerConfig::to_json),
        );
        put(
            &mut o,
            "fundingAccount",
            self.funding_account.as_ref().map(EthAccount::to_json),
        );
        Value::Object(o)
    }
}

impl Keystore {
    /// Normalised JSON, in the schema's field order.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("schemaVersion".into(), Value::from(self.schema_version));
        if self.validators_present {
            o.insert(
                "validators".into(),
                Value::Array(
                    self.validators
                        .iter()
                        .map(ValidatorKeyStore::to_json)
                        .collect(),
                ),
            );
        }
        put(
            &mut o,
            "slasher",
            self.slasher.as_ref().map(EthAccounts::to_json),
        );
        put(
            &mut o,
            "remoteSigner",
            self.remote_signer.as_ref().map(RemoteSignerConfig::to_json),
        );
        put(
            &mut o,
            "prover",
            self.prover.as_ref().map(|p| match p {
                ProverKeyStore::Account(a) => a.to_json(),
                ProverKeyStore::WithPublishers { id, publisher } => serde_json::json!({
                    "id": id.to_lower_hex(),
                    "publisher": publisher.to_json(),
                }),
            }),
        );
        put(
            &mut o,
            "fundingAccount",
            self.funding_account.as_ref().map(EthAccount::to_json),
        );
        put(
            &mut o,
            "publisher",
            self.publisher.as_ref().map(EthAccounts::to_json),
        );
        put(
            &mut o,
            "coinbase",
            self.coinbase.map(|a| Value::String(a.to_lower_hex())),
        );
        put(
            &mut o,
            "feeRecipient",
            self.fee_recipient.as_ref().map(hex32_json),
        );
        Value::Object(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PK: &str = "0x1ab42cc412b618bdea3a599e3c9bae199ebf030895b039e9db1e30dafb12b727";
    const FEE: &str = "0x0000000000000000000000000000000000000000000000000000000000000001";

    fn err(text: &str) -> SchemaError {
        parse_keystore(text).unwrap_err()
    }

    #[test]
    fn minimal_and_full_forms() {
        let ks = parse_keystore(&format!(
            r#"{{"schemaVersion":1,"validators":[{{"attester":"{PK}","feeRecipient":"{FEE}"}}]}}"#
        ))
        .unwrap();
        assert_eq!(ks.validators.len(), 1);
        assert!(matches!(
            ks.validators[0].attester,
            AttesterAccounts::One(AttesterAccount {
                eth: EthAccount::PrivateKey(_),
                bls: None,
                ..
            })
        ));

        let everything = format!(
            r#"{{
  "schemaVersion": 1,
  "remoteSigner": "https://signer.example:9000",
  "validators": [
    {{
      "attester": {{"mnemonic": "  test test test test test test test test test test test junk ", "accountIndex": 1, "addressCount": 2}},
      "feeRecipient": "{FEE}",
      "coinbase": "0x9858effd232b4033e47d90003d41ec34ecaeda94",
      "publisher": ["{PK}", "0x9858EfFD232B4033E47d90003D41EC34EcaEda94",
                    {{"address": "0x9858effd232b4033e47d90003d41ec34ecaeda94", "remoteSignerUrl": "http://x", "certPass": "p"}},
                    {{"path": "/keys", "password": "pw"}}],
      "remoteSigner": {{"remoteSignerUrl": "http://validator-signer"}},
      "fundingAccount": "{PK}"
    }},
    {{
      "attester": [{{"eth": "{PK}", "bls": "{PK}"}}, {{"eth": {{"path": "a.json"}}, "bls": {{"path": "b.json", "password": null}}}}],
      "feeRecipient": {{"type": "Buffer", "data": [{zeros}1]}},
      "publisher": {{"mnemonic": "test test test test test test test test test test test junk", "accountCount": 2}}
    }}
  ],
  "slasher": ["{PK}"],
  "prover": {{"id": "0x9858effd232b4033e47d90003d41ec34ecaeda94", "publisher": "{PK}"}},
  "fundingAccount": {{"path": "f.json"}}
}}"#,
            zeros = "0,".repeat(31)
        );
        let ks = parse_keystore(&everything).unwrap();
        let AttesterAccounts::Mnemonic(m) = &ks.validators[0].attester else {
            panic!("mnemonic attester expected")
        };
        assert_eq!(
            m.mnemonic,
            "test test test test test test test test test test test junk"
        );
        assert_eq!(m.indices(), vec![(1, 0), (1, 1)]);
        assert_eq!(ks.validators[1].fee_recipient.unwrap()[31], 1);
        assert_eq!(ks.validators[1].attester.listed().len(), 2);
        assert_eq!(
            ks.validators[1].attester.listed()[1].bls,
            Some(BlsAccount::Encrypted(EncryptedKeyFile {
                path: "b.json".into(),
                password: None
            }))
        );
    }

    #[test]
    fn null_is_absent() {
        let ks = parse_keystore(&format!(
            r#"{{"schemaVersion":1,"remoteSigner":null,"prover":null,"validators":[{{"attester":"{PK}","feeRecipient":"{FEE}","coinbase":null,"publisher":null}}]}}"#
        ))
        .unwrap();
        assert!(ks.remote_signer.is_none() && ks.validators[0].coinbase.is_none());
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_path() {
        let e = err(&format!(
            r#"{{"schemaVersion":1,"validators":[{{"attester":"{PK}","feeRecipient":"{FEE}","feerecipient":"x"}}]}}"#
        ));
        assert_eq!(e.path, "validators.0");
        assert!(e.message.contains("'feerecipient'"), "{e}");
        let e = err(&format!(
            r#"{{"schemaVersion":1,"validators":[{{"attester":{{"eth":"{PK}","bls":"{PK}","extra":1}},"feeRecipient":"{FEE}"}}]}}"#
        ));
        assert_eq!(e.path, "validators.0.attester");
        let e = err(r#"{"schemaVersion":1,"validators":[],"bogus":true}"#);
        assert_eq!(e.path, "<root>");
    }

    #[test]
    fn reference_messages() {
        let e = err(&format!(
            r#"{{"schemaVersion":1,"validators":[{{"attester":"0x{}","feeRecipient":"{FEE}"}}]}}"#,
            "g".repeat(64)
        ));
        assert_eq!(
            e.message,
            "Invalid private key (must be 32 bytes with 0x prefix)"
        );
        assert_eq!(e.path, "validators.0.attester");
        let e = err(&format!(
            r#"{{"schemaVersion":1,"validators":[{{"attester":{{"eth":"{PK}","bls":"0x1234"}},"feeRecipient":"{FEE}"}}]}}"#
        ));
        assert_eq!(
            e.message,
            "Invalid BLS private key (must be 32 bytes with 0x prefix)"
        );
        let e = err(
            r#"{"schemaVersion":1,"validators":[{"attester":{"mnemonic":"   "},"feeRecipient":"0x00"}]}"#,
        );
        assert_eq!(e.message, "Mnemonic cannot be empty");
        let e = err(r#"{"schemaVersion":1}"#);
        assert_eq!(
            e.message,
            "Keystore must have at least validators or prover configuration"
        );
        let e = err(r#"{"schemaVersion":3,"validators":[]}"#);
        assert_eq!(e.path, "schemaVersion");
        let e = err(&format!(
            r#"{{"schemaVersion":1,"validators":[{{"attester":"{PK}"}}]}}"#
        ));
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            ("validators.0.feeRecipient", "Required")
        );
        let e = err(&format!(
            r#"{{"schemaVersion":1,"validators":[{{"attester":"{PK}","feeRecipient":"{FEE}","coinbase":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"}}]}}"#
        ));
        assert!(e.message.contains("checksum"), "{e}");
        assert!(err("{").message.starts_with("invalid JSON"));
    }

    #[test]
    fn remote_signer_precedence() {
        let acct = RemoteAccount {
            address: Address([1; 20]),
            signer: None,
        };
        let v = RemoteSignerConfig {
            url: "http://v".into(),
            bare_url: true,
            cert_path: None,
            cert_pass: None,
        };
        let f = RemoteSignerConfig {
            url: "http://f".into(),
            ..v.clone()
        };
        assert_eq!(
            resolve_remote_signer(&acct, Some(&v), Some(&f))
                .unwrap()
                .url,
            "http://v"
        );
        assert_eq!(
            resolve_remote_signer(&acct, None, Some(&f)).unwrap().url,
            "http://f"
        );
        assert!(resolve_remote_signer(&acct, None, None).is_err());
        let own = RemoteAccount {
            signer: Some(RemoteSignerConfig {
                url: "http://own".into(),
                ..v.clone()
            }),
            ..acct
        };
        assert_eq!(
            resolve_remote_signer(&own, Some(&v), Some(&f)).unwrap().url,
            "http://own"
        );
    }
}

#[cfg(test)]
mod robustness {
    //! Stable-toolchain companion of the `keystore_parse` fuzz target (`tests/fuzz`): random and
    //! mutated documents never panic the parser, and accepted ones round-trip through the
    //! normalised form.
    use super::*;
    use proptest::prelude::*;

    const SEED: &str = r#"{"schemaVersion":1,"remoteSigner":"http://s:1","validators":[{"attester":[{"eth":"0x1ab42cc412b618bdea3a599e3c9bae199ebf030895b039e9db1e30dafb12b727","bls":{"path":"b.json","password":"pw"}},"0x9858effd232b4033e47d90003d41ec34ecaeda94"],"feeRecipient":"0x0000000000000000000000000000000000000000000000000000000000000001","coinbase":"0x9858EfFD232B4033E47d90003D41EC34EcaEda94","publisher":{"mnemonic":"test test test test test test test test test test test junk","addressCount":2}}],"prover":{"id":"0x9858effd232b4033e47d90003d41ec34ecaeda94","publisher":["0x1ab42cc412b618bdea3a599e3c9bae199ebf030895b039e9db1e30dafb12b727"]}}"#;

    fn round_trip(text: &str) {
        if let Ok(ks) = parse_keystore(text) {
            let again = parse_keystore_value(&ks.to_json()).expect("normalised form accepted");
            assert_eq!(again.to_json(), ks.to_json());
        }
    }

    #[test]
    fn seed_round_trips() {
        assert!(parse_keystore(SEED).is_ok());
        round_trip(SEED);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            round_trip(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn mutated_keystores_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<char>()), 1..4)) {
            let mut chars: Vec<char> = SEED.chars().collect();
            for (i, c) in edits {
                let at = i.index(chars.len());
                chars[at] = c;
            }
            round_trip(&chars.into_iter().collect::<String>());
        }
    }
}
