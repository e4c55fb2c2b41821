//! Typed contract calls and signed transactions over [`RpcClient`].
//!
//! Calls are synchronous: a CLI command or a test does one thing at a time, and the node (which
//! needs concurrency) drives this from its own threads.

use std::time::{Duration, Instant};

use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolEvent};
use serde_json::{json, Value};
use thiserror::Error;

use crate::revert::{self, Revert};
use crate::rpc::{parse_bytes, RpcClient, RpcError};

/// Why an L1 operation failed.
#[derive(Debug, Error)]
pub enum L1Error {
    /// Transport or node error.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// A call (or the gas estimate of a transaction) reverted; nothing was sent.
    #[error("{what} would revert: {revert}")]
    Reverted {
        /// What was attempted.
        what: String,
        /// The decoded revert.
        revert: Revert,
    },
    /// A transaction was mined but failed.
    #[error("{what}: transaction {hash} reverted on chain: {revert}")]
    TxFailed {
        /// What was attempted.
        what: String,
        /// Transaction hash.
        hash: B256,
        /// The decoded revert (replayed at the block).
        revert: Revert,
    },
    /// The answer does not decode as the function's return type.
    #[error(
        "{what}: unexpected answer from {to} ({detail}); is it the right contract on this network?"
    )]
    Decode {
        /// What was attempted.
        what: String,
        /// The contract called.
        to: Address,
        /// Why decoding failed.
        detail: String,
    },
    /// A transaction was not mined in time.
    #[error("{what}: transaction {hash} not mined after {secs} s; check the node and the gas price, then retry")]
    Timeout {
        /// What was attempted.
        what: String,
        /// Transaction hash.
        hash: B256,
        /// Seconds waited.
        secs: u64,
    },
    /// The sender cannot pay for the transaction.
    #[error("{what}: sender {sender} has {balance} wei, needs about {needed} wei for gas")]
    InsufficientEth {
        /// What was attempted.
        what: String,
        /// The sender.
        sender: Address,
        /// Its balance.
        balance: U256,
        /// Gas limit × max fee.
        needed: U256,
    },
    /// Something else (signing, wrong chain).
    #[error("{0}")]
    Other(String),
}

impl L1Error {
    /// The custom error's name if this is a revert (`StakingRegistry__NotProviderAdmin`).
    pub fn revert_name(&self) -> Option<&str> {
        match self {
            L1Error::Reverted { revert, .. } | L1Error::TxFailed { revert, .. } => {
                revert.name.as_deref()
            }
            _ => None,
        }
    }
}

/// One log of a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// Emitting contract.
    pub address: Address,
    /// Topics (topic0 = event signature hash).
    pub topics: Vec<B256>,
    /// Non-indexed data.
    pub data: Bytes,
    /// Block of the log.
    pub block_number: u64,
    /// Transaction that emitted it.
    pub tx_hash: B256,
}

impl Log {
    /// Decodes this log as event `E`, if it is one.
    pub fn decode<E: SolEvent>(&self) -> Option<E> {
        if self.topics.first() != Some(&E::SIGNATURE_HASH) {
            return None;
        }
        E::decode_raw_log(self.topics.iter().copied(), &self.data).ok()
    }
}

/// A mined, successful transaction.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// Transaction hash.
    pub hash: B256,
    /// Block it was mined in.
    pub block_number: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Created contract, for deployments.
    pub contract_address: Option<Address>,
    /// Logs in order.
    pub logs: Vec<Log>,
}

impl Receipt {
    /// Every log of event `E` (from any contract), decoded, with its emitter.
    pub fn events<E: SolEvent>(&self) -> Vec<(Address, E)> {
        self.logs
            .iter()
            .filter_map(|l| l.decode::<E>().map(|e| (l.address, e)))
            .collect()
    }
}

/// A transaction's fields before signing.
#[derive(Debug, Clone)]
pub struct TxRequest {
    /// Destination; `None` deploys `data` as init code.
    pub to: Option<Address>,
    /// Calldata or init code.
    pub data: Vec<u8>,
    /// Wei sent.
    pub value: U256,
    /// Gas limit; `None` estimates (+20 %).
    pub gas: Option<u64>,
}

/// An L1 connection: JSON-RPC plus the chain id it was checked against.
#[derive(Clone)]
pub struct L1 {
    rpc: RpcClient,
    chain_id: u64,
    poll: Duration,
    timeout: Duration,
}

fn addr_json(a: Address) -> String {
    format!("{a:#x}")
}

fn quantity(v: &Value) -> Option<u64> {
    crate::rpc::parse_quantity(v)
}

pub(crate) fn u256_of(v: &Value) -> Option<U256> {
    let s = v.as_str()?.strip_prefix("0x")?;
    U256::from_str_radix(s, 16).ok()
}

pub(crate) fn revert_of(e: &RpcError) -> Option<Revert> {
    match e {
        RpcError::Node { message, data, .. } => {
            if let Some(d) = revert::data_from_rpc(data.as_deref()) {
                return Some(revert::decode(&d));
            }
            // Nodes that give no data still say "execution reverted".
            message.contains("revert").then(|| Revert {
                selector: None,
                text: message.clone(),
                name: None,
            })
        }
        _ => None,
    }
}

impl L1 {
    /// Connects and reads the chain id; with `expect_chain_id`, refuses another chain.
    pub fn connect(rpc: RpcClient, expect_chain_id: Option<u64>) -> Result<Self, L1Error> {
        let chain_id = rpc.chain_id()?;
        if let Some(want) = expect_chain_id {
            if want != chain_id {
                return Err(L1Error::Other(format!(
                    "the L1 RPC serves chain id {chain_id}, but the network expects {want}; check --l1-rpc-urls and --network"
                )));
            }
        }
        Ok(Self {
            rpc,
            chain_id,
            poll: Duration::from_millis(100),
            timeout: Duration::from_secs(180),
        })
    }

    /// Changes how long to wait for a receipt.
    pub fn with_receipt_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The underlying transport.
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// `eth_call` of `C` on `to` at the latest block, decoded.
    pub fn call<C: SolCall>(&self, to: Address, call: &C) -> Result<C::Return, L1Error> {
        self.call_from(None, to, call)
    }

    /// `eth_call` with an explicit `from` (for functions that check `msg.sender`).
    pub fn call_from<C: SolCall>(
        &self,
        from: Option<Address>,
        to: Address,
        call: &C,
    ) -> Result<C::Return, L1Error> {
        let what = C::SIGNATURE
            .split('(')
            .next()
            .unwrap_or(C::SIGNATURE)
            .to_string();
        let mut req =
            json!({"to": addr_json(to), "data": format!("0x{}", hex::encode(call.abi_encode()))});
        if let Some(f) = from {
            req["from"] = json!(addr_json(f));
        }
        let raw = match self.rpc.call("eth_call", json!([req, "latest"])) {
            Ok(v) => parse_bytes("eth_call", &v)?,
            Err(e) => {
                return Err(match revert_of(&e) {
                    Some(revert) => L1Error::Reverted { what, revert },
                    None => e.into(),
                })
            }
        };
        C::abi_decode_returns(&raw).map_err(|e| L1Error::Decode {
            what,
            to,
            detail: if raw.is_empty() {
                "no data: no contract there, or not this one".into()
            } else {
                e.to_string()
            },
        })
    }

    /// Bytecode at an address (empty if none).
    pub fn code(&self, at: Address) -> Result<Vec<u8>, L1Error> {
        let v = self
            .rpc
            .call("eth_getCode", json!([addr_json(at), "latest"]))?;
        Ok(parse_bytes("eth_getCode", &v)?)
    }

    /// Ether balance.
    pub fn balance(&self, of: Address) -> Result<U256, L1Error> {
        let v = self
            .rpc
            .call("eth_getBalance", json!([addr_json(of), "latest"]))?;
        u256_of(&v).ok_or_else(|| {
            RpcError::BadAnswer {
                method: "eth_getBalance".into(),
                detail: format!("not a quantity: {v}"),
            }
            .into()
        })
    }

    /// Latest block number.
    pub fn block_number(&self) -> Result<u64, L1Error> {
        let v = self.rpc.call("eth_blockNumber", json!([]))?;
        quantity(&v).ok_or_else(|| {
            RpcError::BadAnswer {
                method: "eth_blockNumber".into(),
                detail: format!("not a quantity: {v}"),
            }
            .into()
        })
    }

    /// Timestamp of the latest block.
    pub fn latest_timestamp(&self) -> Result<u64, L1Error> {
        let b = self
            .rpc
            .call("eth_getBlockByNumber", json!(["latest", false]))?;
        quantity(&b["timestamp"]).ok_or_else(|| {
            RpcError::BadAnswer {
                method: "eth_getBlockByNumber".into(),
                detail: "no timestamp".into(),
            }
            .into()
        })
    }

    /// Logs of `address` with `topic0` (and optional topic1) over a block range, in chunks of
    /// `chunk` blocks (public RPCs cap ranges).
    pub fn logs(
        &self,
        address: Address,
        topic0: B256,
        topic1: Option<B256>,
        from_block: u64,
        to_block: Option<u64>,
        chunk: u64,
    ) -> Result<Vec<Log>, L1Error> {
        let to_block = match to_block {
            Some(b) => b,
            None => self.block_number()?,
        };
        let mut out = Vec::new();
        let mut start = from_block;
        let chunk = chunk.max(1);
        while start <= to_block {
            let end = to_block.min(start.saturating_add(chunk - 1));
            let mut topics = vec![json!(format!("{topic0:#x}"))];
            if let Some(t1) = topic1 {
                topics.push(json!(format!("{t1:#x}")));
            }
            let v = self.rpc.call(
                "eth_getLogs",
                json!([{"address": addr_json(address), "topics": topics,
                        "fromBlock": format!("0x{start:x}"), "toBlock": format!("0x{end:x}")}]),
            )?;
            let Value::Array(items) = v else {
                return Err(RpcError::BadAnswer {
                    method: "eth_getLogs".into(),
                    detail: "not an array".into(),
                }
                .into());
            };
            for item in &items {
                out.push(parse_log(item).ok_or_else(|| RpcError::BadAnswer {
                    method: "eth_getLogs".into(),
                    detail: format!("malformed log {item}"),
                })?);
            }
            start = end + 1;
        }
        Ok(out)
    }

    /// Signs `req` with `signer`, sends it, waits for the receipt; a mined failure is an error
    /// with the decoded reason. The gas estimate runs first, so a call that would revert is
    /// reported before anything is sent.
    pub fn send(
        &self,
        signer: &PrivateKeySigner,
        what: &str,
        req: TxRequest,
    ) -> Result<Receipt, L1Error> {
        let hash = self.submit(signer, what, &req)?;
        self.wait(what, hash, signer.address(), &req)
    }

    /// Typed convenience for [`send`](Self::send).
    pub fn send_call<C: SolCall>(
        &self,
        signer: &PrivateKeySigner,
        what: &str,
        to: Address,
        call: &C,
    ) -> Result<Receipt, L1Error> {
        self.send(
            signer,
            what,
            TxRequest {
                to: Some(to),
                data: call.abi_encode(),
                value: U256::ZERO,
                gas: None,
            },
        )
    }

    fn tx_json(from: Address, req: &TxRequest) -> Value {
        let mut tx =
            json!({"from": addr_json(from), "data": format!("0x{}", hex::encode(&req.data))});
        if let Some(to) = req.to {
            tx["to"] = json!(addr_json(to));
        }
        if !req.value.is_zero() {
            tx["value"] = json!(format!("{:#x}", req.value));
        }
        tx
    }

    /// Signs and broadcasts; returns the transaction hash without waiting.
    pub fn submit(
        &self,
        signer: &PrivateKeySigner,
        what: &str,
        req: &TxRequest,
    ) -> Result<B256, L1Error> {
        let from = signer.address();
        let gas = match req.gas {
            Some(g) => g,
            None => {
                let est = self
                    .rpc
                    .call("eth_estimateGas", json!([Self::tx_json(from, req)]))
                    .map_err(|e| match revert_of(&e) {
                        Some(revert) => L1Error::Reverted {
                            what: what.to_string(),
                            revert,
                        },
                        None => e.into(),
                    })?;
                let g = quantity(&est).ok_or_else(|| RpcError::BadAnswer {
                    method: "eth_estimateGas".into(),
                    detail: format!("not a quantity: {est}"),
                })?;
                g + g / 5
            }
        };
        let (nonce, max_fee, tip) = self.nonce_and_fees(from)?;
        let needed = max_fee * U256::from(gas) + req.value;
        let balance = self.balance(from)?;
        if balance < needed {
            return Err(L1Error::InsufficientEth {
                what: what.to_string(),
                sender: from,
                balance,
                needed,
            });
        }
        let to_u128 = |v: U256| -> Result<u128, L1Error> {
            u128::try_from(v).map_err(|_| L1Error::Other(format!("{what}: fee {v} out of range")))
        };
        let mut tx = TxEip1559 {
            chain_id: self.chain_id,
            nonce,
            gas_limit: gas,
            max_fee_per_gas: to_u128(max_fee)?,
            max_priority_fee_per_gas: to_u128(tip)?,
            to: match req.to {
                Some(a) => TxKind::Call(a),
                None => TxKind::Create,
            },
            value: req.value,
            access_list: Default::default(),
            input: Bytes::from(req.data.clone()),
        };
        let sig = signer
            .sign_hash_sync(&tx.signature_hash())
            .map_err(|e| L1Error::Other(format!("{what}: signing failed: {e}")))?;
        let signed = std::mem::take(&mut tx).into_signed(sig);
        let raw = signed.encoded_2718();
        let v = self.rpc.call(
            "eth_sendRawTransaction",
            json!([format!("0x{}", hex::encode(raw))]),
        )?;
        let hash: B256 =
            v.as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| RpcError::BadAnswer {
                    method: "eth_sendRawTransaction".into(),
                    detail: format!("not a hash: {v}"),
                })?;
        tracing::debug!(%hash, what, nonce, gas, "sent transaction");
        Ok(hash)
    }

    /// The sender's next nonce (pending), a max fee per gas (twice the base fee plus the tip)
    /// and the priority fee, for a transaction sent now.
    pub(crate) fn nonce_and_fees(&self, from: Address) -> Result<(u64, U256, U256), L1Error> {
        let nonce_v = self.rpc.call(
            "eth_getTransactionCount",
            json!([addr_json(from), "pending"]),
        )?;
        let nonce = quantity(&nonce_v).ok_or_else(|| RpcError::BadAnswer {
            method: "eth_getTransactionCount".into(),
            detail: format!("not a quantity: {nonce_v}"),
        })?;
        let block = self
            .rpc
            .call("eth_getBlockByNumber", json!(["latest", false]))?;
        let base = u256_of(&block["baseFeePerGas"]).unwrap_or(U256::from(1_000_000_000u64));
        let tip = self
            .rpc
            .call("eth_maxPriorityFeePerGas", json!([]))
            .ok()
            .and_then(|v| u256_of(&v))
            .unwrap_or(U256::from(1_000_000_000u64));
        Ok((nonce, base * U256::from(2) + tip, tip))
    }

    /// Waits for `hash`; on failure replays `req` at its block to name the revert.
    pub fn wait(
        &self,
        what: &str,
        hash: B256,
        from: Address,
        req: &TxRequest,
    ) -> Result<Receipt, L1Error> {
        self.wait_replay(what, hash, Self::tx_json(from, req))
    }

    /// Waits for `hash`; on failure replays the call object `replay` at its block.
    pub fn wait_replay(&self, what: &str, hash: B256, replay: Value) -> Result<Receipt, L1Error> {
        let start = Instant::now();
        loop {
            let v = self
                .rpc
                .call("eth_getTransactionReceipt", json!([format!("{hash:#x}")]))?;
            if !v.is_null() {
                let receipt = parse_receipt(hash, &v).ok_or_else(|| RpcError::BadAnswer {
                    method: "eth_getTransactionReceipt".into(),
                    detail: format!("malformed receipt {v}"),
                })?;
                let ok = quantity(&v["status"]) == Some(1);
                if ok {
                    return Ok(receipt);
                }
                let block = format!("0x{:x}", receipt.block_number);
                let revert = match self.rpc.call("eth_call", json!([replay, block])) {
                    Err(e) => revert_of(&e),
                    Ok(_) => None,
                }
                .unwrap_or(Revert {
                    selector: None,
                    text: format!(
                        "no reason recovered (gas used {} — out of gas?)",
                        receipt.gas_used
                    ),
                    name: None,
                });
                return Err(L1Error::TxFailed {
                    what: what.to_string(),
                    hash,
                    revert,
                });
            }
            if start.elapsed() > self.timeout {
                return Err(L1Error::Timeout {
                    what: what.to_string(),
                    hash,
                    secs: self.timeout.as_secs(),
                });
            }
            std::thread::sleep(self.poll);
        }
    }

    /// Calldata and sender of a mined transaction.
    pub fn transaction_input(&self, hash: B256) -> Result<(Address, Vec<u8>), L1Error> {
        let v = self
            .rpc
            .call("eth_getTransactionByHash", json!([format!("{hash:#x}")]))?;
        let bad = |d: &str| RpcError::BadAnswer {
            method: "eth_getTransactionByHash".into(),
            detail: d.to_string(),
        };
        if v.is_null() {
            return Err(bad("unknown transaction").into());
        }
        let from = v["from"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no sender"))?;
        let input = parse_bytes("eth_getTransactionByHash", &v["input"])?;
        Ok((from, input))
    }

    /// Timestamp and number of a block by number.
    pub fn block_at(&self, number: u64) -> Result<(u64, u64), L1Error> {
        let b = self.rpc.call(
            "eth_getBlockByNumber",
            json!([format!("0x{number:x}"), false]),
        )?;
        match (quantity(&b["number"]), quantity(&b["timestamp"])) {
            (Some(n), Some(t)) => Ok((n, t)),
            _ => Err(RpcError::BadAnswer {
                method: "eth_getBlockByNumber".into(),
                detail: format!("no block {number}"),
            }
            .into()),
        }
    }
}

fn parse_log(v: &Value) -> Option<Log> {
    Some(Log {
        address: v["address"].as_str()?.parse().ok()?,
        topics: v["topics"]
            .as_array()?
            .iter()
            .map(|t| t.as_str().and_then(|s| s.parse().ok()))
            .collect::<Option<Vec<B256>>>()?,
        data: v["data"].as_str()?.parse().ok()?,
        block_number: quantity(&v["blockNumber"]).unwrap_or(0),
        tx_hash: v["transactionHash"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_default(),
    })
}

fn parse_receipt(hash: B256, v: &Value) -> Option<Receipt> {
    Some(Receipt {
        hash,
        block_number: quantity(&v["blockNumber"])?,
        gas_used: quantity(&v["gasUsed"])?,
        contract_address: v["contractAddress"].as_str().and_then(|s| s.parse().ok()),
        logs: v["logs"]
            .as_array()?
            .iter()
            .map(parse_log)
            .collect::<Option<Vec<_>>>()?,
    })
}

/// Parses a 0x-hex private key into a signer; the error never echoes the key.
pub fn signer_from_hex(key: &str) -> Result<PrivateKeySigner, L1Error> {
    let k = key.trim();
    let k = k.strip_prefix("0x").unwrap_or(k);
    let bytes = hex::decode(k)
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| {
            L1Error::Other("the private key is not 32 bytes of hex (0x + 64 hex digits)".into())
        })?;
    PrivateKeySigner::from_slice(&bytes)
        .map_err(|_| L1Error::Other("the private key is not a valid secp256k1 key".into()))
}
