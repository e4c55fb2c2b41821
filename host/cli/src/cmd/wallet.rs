//! `cairn tx` (build, sign, send a token transfer; receipts; balances) and `cairn bot` (a tx
//! generator for the devnet): wallet-side tools that talk to a node's JSON-RPC.
//!
//! Accounts are the devnet genesis's deterministic accounts (`--from 3` is account 3); their
//! keys are public test keys, never use them elsewhere.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use ark_bn254::Fr;
use cairn_protocol::field::fr_from_bytes;
use cairn_protocol::tx::{GasSettings, PublicCall, PublicCalls, Tx};
use cairn_protocol::vm::contracts::{sel, COUNTER_ADDRESS, FEE_ADDRESS, TOKEN_ADDRESS};
use cairn_protocol::vm::Word;
use cairn_zk::scenario::account_key;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

/// A node's JSON-RPC endpoint.
#[derive(Args, Clone)]
pub struct RpcArg {
    /// Node JSON-RPC URL.
    #[arg(
        long = "node-url",
        env = "AZTEC_NODE_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub url: String,
}

/// `cairn tx …`.
#[derive(Subcommand)]
pub enum TxCommand {
    /// Send tokens from one devnet account to another (public transfer).
    Transfer {
        #[command(flatten)]
        rpc: RpcArg,
        /// Sending account index.
        #[arg(long)]
        from: usize,
        /// Receiving account index.
        #[arg(long)]
        to: usize,
        /// Token amount.
        #[arg(long)]
        amount: u64,
        /// Wait for the receipt (seconds; 0 = do not wait).
        #[arg(long, default_value_t = 0)]
        wait: u64,
        /// Private: spend the sender's genesis note with a Groth16 proof made here (the
        /// amount goes to the receiver as a new note, the change back to the sender).
        #[arg(long)]
        private: bool,
        /// Highest fee per mana to pay (default: twice the current minimum). A higher one
        /// takes the place of a lower-paying tx in a full pool.
        #[arg(long = "max-fee-per-mana", conflicts_with = "private")]
        max_fee_per_mana: Option<u128>,
    },
    /// A tx's receipt.
    Receipt {
        #[command(flatten)]
        rpc: RpcArg,
        /// Tx hash.
        hash: String,
    },
    /// Token and fee-juice balances of a devnet account.
    Balance {
        #[command(flatten)]
        rpc: RpcArg,
        /// Account index.
        #[arg(long)]
        account: usize,
    },
}

/// `cairn bot`.
#[derive(Args)]
pub struct BotArgs {
    #[command(flatten)]
    rpc: RpcArg,
    /// Txs per second.
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// Stop after this many txs (0 = run until stopped).
    #[arg(long, default_value_t = 0)]
    count: u64,
    /// Accounts to send between (the devnet genesis has 16).
    #[arg(long, default_value_t = 16)]
    accounts: usize,
}

/// One JSON-RPC call to a node; errors carry the node's message and reason.
pub fn rpc(url: &str, method: &str, params: Value) -> Result<Value> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let resp: Value = ureq::post(url)
        .timeout(Duration::from_secs(30))
        .send_json(body)
        .with_context(|| format!("cannot reach the node at {url}"))?
        .into_json()
        .with_context(|| format!("{method}: the node's answer is not JSON"))?;
    if let Some(e) = resp.get("error") {
        let reason = e["data"]["reason"].as_str().unwrap_or("");
        bail!(
            "{method}: {}{}",
            e["message"].as_str().unwrap_or("error"),
            if reason.is_empty() {
                String::new()
            } else {
                format!(" ({reason})")
            }
        );
    }
    Ok(resp["result"].clone())
}

fn addr(i: usize) -> [u8; 20] {
    account_key(i).address().0
}

/// Builds and signs a public call from account `from` against the node's current head.
fn build(url: &str, from: usize, call: PublicCall, salt: u64) -> Result<Tx> {
    let (head, fees) = head_and_fees(url)?;
    build_with(&head, &fees, from, vec![call], salt)
}

/// A private transfer: spends account `from`'s genesis note (proved here, in the wallet,
/// against the node's membership witness), `amount` to account `to`, the change back.
fn build_private(url: &str, from: usize, to: usize, amount: u64, salt: u64) -> Result<Tx> {
    use ark_std::rand::SeedableRng;
    let (head, fees) = head_and_fees(url)?;
    let w = rpc(url, "node_getNoteHashMembershipWitness", json!([from]))?;
    let fr = |v: &Value| -> Result<Fr> {
        v.as_str()
            .and_then(cairn_protocol::field::fr_from_hex)
            .ok_or_else(|| anyhow!("node_getNoteHashMembershipWitness: not a field element: {v}"))
    };
    let siblings = w["siblings"]
        .as_array()
        .ok_or_else(|| anyhow!("node_getNoteHashMembershipWitness: no siblings"))?
        .iter()
        .map(fr)
        .collect::<Result<Vec<_>>>()?;
    let mut tx = build_with(&head, &fees, from, vec![], salt)?;
    tx.anchor = fr(&w["anchor"])?;
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| anyhow!("no randomness: {e}"))?;
    let mut rng = ark_std::rand::rngs::StdRng::from_seed(seed);
    eprintln!("proving the note spend …");
    cairn_zk::scenario::spend_genesis_note(
        tx,
        from,
        to,
        amount,
        siblings,
        fr(&w["noteRoot"])?,
        &mut rng,
    )
    .map_err(|e| anyhow!("{e}"))
}

/// The node's head (`node_getBlockHeader`) and fees (`node_getCurrentMinFees`).
pub fn head_and_fees(url: &str) -> Result<(Value, Value)> {
    Ok((
        rpc(url, "node_getBlockHeader", json!([]))?,
        rpc(url, "node_getCurrentMinFees", json!([]))?,
    ))
}

/// Builds and signs a public call against a head and fees read before.
pub fn build_with(
    head: &Value,
    fees: &Value,
    from: usize,
    app: Vec<PublicCall>,
    salt: u64,
) -> Result<Tx> {
    let fee: u128 = fees["feePerL2Gas"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("node_getCurrentMinFees: no feePerL2Gas"))?;
    let anchor_hex = head["anchor"]
        .as_str()
        .ok_or_else(|| anyhow!("no anchor"))?;
    let anchor_bytes: [u8; 32] = hex::decode(anchor_hex.trim_start_matches("0x"))
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow!("node_getBlockHeader: bad anchor"))?;
    let anchor: Fr =
        fr_from_bytes(&anchor_bytes).ok_or_else(|| anyhow!("anchor not a field element"))?;
    let key = account_key(from);
    let sender = key.address().0;
    let mut tx = Tx {
        chain_id: head["chainId"].as_u64().unwrap_or(0),
        rollup_version: head["rollupVersion"].as_u64().unwrap_or(0),
        expiry_block: head["number"].as_u64().unwrap_or(0) + 100,
        gas: GasSettings {
            // The salt varies the limit so that repeated equal calls are distinct txs.
            gas_limit: 500_000 + salt % 100_000,
            // Headroom: the fee can rise a little between now and inclusion.
            max_fee_per_mana: fee.saturating_mul(2).max(1),
        },
        sender,
        fee_payer: sender,
        anchor,
        spends: vec![],
        calls: PublicCalls {
            setup: vec![],
            app,
            teardown: vec![],
        },
        signature: [0; 65],
    };
    tx.signature = key.sign_hash(&tx.signing_hash()).0;
    Ok(tx)
}

/// A token transfer call to account `to`.
pub fn transfer_call(to: usize, amount: u64) -> PublicCall {
    PublicCall {
        contract: cairn_zk::scenario::addr(TOKEN_ADDRESS),
        selector: sel::TRANSFER,
        args: vec![Word::from_be_slice(&addr(to)), Word::from(amount)],
    }
}

/// `node_sendTx`.
pub fn send(url: &str, tx: &Tx) -> Result<String> {
    let hash = rpc(
        url,
        "node_sendTx",
        json!([format!("0x{}", hex::encode(tx.encode()))]),
    )?;
    hash.as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("node_sendTx: no hash"))
}

fn balance(url: &str, contract: Word, who: &[u8; 20]) -> Result<u128> {
    let slot = cairn_protocol::state::balance_slot(who);
    let v = rpc(
        url,
        "node_getPublicStorageAt",
        json!([
            format!("0x{}", hex::encode(contract.to_be_bytes())),
            format!("0x{}", hex::encode(slot.to_be_bytes()))
        ]),
    )?;
    let b: [u8; 32] = v
        .as_str()
        .and_then(|s| hex::decode(s.trim_start_matches("0x")).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow!("node_getPublicStorageAt: not a word"))?;
    let w = Word::from_be_bytes(&b);
    Ok((u128::from(w.0[1]) << 64) | u128::from(w.0[0]))
}

/// Runs `cairn tx …`.
pub fn tx(cmd: TxCommand) -> Result<()> {
    match cmd {
        TxCommand::Transfer {
            rpc: r,
            from,
            to,
            amount,
            wait,
            private,
            max_fee_per_mana,
        } => {
            let salt = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as u64)
                .unwrap_or(0);
            let tx = if private {
                build_private(&r.url, from, to, amount, salt)?
            } else {
                let mut tx = build(&r.url, from, transfer_call(to, amount), salt)?;
                if let Some(fee) = max_fee_per_mana {
                    tx.gas.max_fee_per_mana = fee;
                    tx.signature = account_key(from).sign_hash(&tx.signing_hash()).0;
                }
                tx
            };
            let hash = send(&r.url, &tx)?;
            println!("{hash}");
            if wait > 0 {
                let deadline = Instant::now() + Duration::from_secs(wait);
                let mut proposed = false;
                loop {
                    let rec = rpc(&r.url, "node_getTxReceipt", json!([hash]))?;
                    // In a block of a checkpoint still in its slot: said once, then on to L1.
                    if rec["status"] == "proposed" && !proposed {
                        proposed = true;
                        eprintln!("proposed in block {}", rec["blockNumber"]);
                    }
                    if rec["status"] != "pending" && rec["status"] != "proposed" {
                        println!("{}", serde_json::to_string_pretty(&rec)?);
                        if rec["status"] != "checkpointed" {
                            bail!("tx not included: {rec}");
                        }
                        break;
                    }
                    if Instant::now() > deadline {
                        bail!("tx {hash} still pending after {wait} s");
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
            Ok(())
        }
        TxCommand::Receipt { rpc: r, hash } => {
            let rec = rpc(&r.url, "node_getTxReceipt", json!([hash]))?;
            println!("{}", serde_json::to_string_pretty(&rec)?);
            Ok(())
        }
        TxCommand::Balance { rpc: r, account } => {
            let who = addr(account);
            let token = balance(&r.url, TOKEN_ADDRESS, &who)?;
            let fee = balance(&r.url, FEE_ADDRESS, &who)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "account": account,
                    "address": format!("0x{}", hex::encode(who)),
                    "token": token.to_string(),
                    "feeJuice": fee.to_string(),
                }))?
            );
            Ok(())
        }
    }
}

/// Runs `cairn bot`: alternating token transfers and counter increments between accounts.
pub fn bot(a: BotArgs) -> Result<()> {
    if a.accounts < 2 {
        bail!("--accounts must be at least 2");
    }
    if !a.rate.is_finite() || a.rate <= 0.0 {
        bail!("--rate must be positive");
    }
    let period = Duration::from_secs_f64(1.0 / a.rate);
    let mut sent = 0u64;
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    loop {
        let t = Instant::now();
        let from = (sent as usize) % a.accounts;
        let to = (from + 1) % a.accounts;
        let call = if sent.is_multiple_of(2) {
            transfer_call(to, 1 + sent % 5)
        } else {
            PublicCall {
                contract: cairn_zk::scenario::addr(COUNTER_ADDRESS),
                selector: sel::INCREMENT,
                args: vec![],
            }
        };
        match build(&a.rpc.url, from, call, start.wrapping_mul(7919) + sent)
            .and_then(|tx| send(&a.rpc.url, &tx))
        {
            Ok(h) => println!("sent {h} from account {from}"),
            Err(e) => eprintln!("bot: {e:#}"),
        }
        sent += 1;
        if a.count > 0 && sent >= a.count {
            return Ok(());
        }
        if let Some(rest) = period.checked_sub(t.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}
