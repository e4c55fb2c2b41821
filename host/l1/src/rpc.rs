//! A JSON-RPC 2.0 client over HTTP with failover across URLs and bounded retries.

use std::time::Duration;

use serde_json::{json, Value};
use thiserror::Error;

/// Why an RPC call failed.
#[derive(Debug, Error)]
pub enum RpcError {
    /// No URL answered after the retries.
    #[error("L1 RPC unreachable: {urls} did not answer after {attempts} attempt(s) (last error: {last}); check --l1-rpc-urls / ETHEREUM_HOSTS and that the node is running")]
    Unreachable {
        /// The URLs tried.
        urls: String,
        /// Attempts made.
        attempts: u32,
        /// The last transport error.
        last: String,
    },
    /// The node answered with a JSON-RPC error.
    #[error("L1 RPC {method} failed: {message}{}", data.as_ref().map(|d| format!(" (data {d})")).unwrap_or_default())]
    Node {
        /// The method called.
        method: String,
        /// The node's message.
        message: String,
        /// Revert data, if any.
        data: Option<String>,
    },
    /// The answer is not what the method returns.
    #[error("L1 RPC {method}: unexpected answer: {detail}")]
    BadAnswer {
        /// The method called.
        method: String,
        /// What is wrong.
        detail: String,
    },
    /// No URL configured.
    #[error("no L1 RPC URL given (use --l1-rpc-urls or ETHEREUM_HOSTS)")]
    NoUrl,
}

/// A client over one or more endpoints, tried in order.
#[derive(Clone)]
pub struct RpcClient {
    urls: Vec<String>,
    agent: ureq::Agent,
    attempts: u32,
    backoff: Duration,
}

impl RpcClient {
    /// A client for comma-separated or listed URLs, with 3 attempts per call and a 10 s timeout.
    pub fn new<S: AsRef<str>>(urls: &[S]) -> Result<Self, RpcError> {
        let urls: Vec<String> = urls
            .iter()
            .flat_map(|u| u.as_ref().split(','))
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .collect();
        if urls.is_empty() {
            return Err(RpcError::NoUrl);
        }
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .build();
        Ok(Self {
            urls,
            agent,
            attempts: 3,
            backoff: Duration::from_millis(200),
        })
    }

    /// Overrides the retry policy (attempts over all URLs, first backoff, doubled each time).
    pub fn with_retries(mut self, attempts: u32, backoff: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.backoff = backoff;
        self
    }

    fn post(&self, body: &Value) -> Result<Value, RpcError> {
        let mut last = String::new();
        let mut wait = self.backoff;
        for attempt in 0..self.attempts {
            for url in &self.urls {
                match self.agent.post(url).send_json(body.clone()) {
                    Ok(resp) => match resp.into_json::<Value>() {
                        Ok(v) => return Ok(v),
                        Err(e) => last = format!("{url}: invalid JSON answer: {e}"),
                    },
                    // A JSON-RPC error may come with an HTTP error status; pass its body on.
                    Err(ureq::Error::Status(code, resp)) => match resp.into_json::<Value>() {
                        Ok(v) if v.get("error").is_some() || v.is_array() => return Ok(v),
                        _ => last = format!("{url}: HTTP {code}"),
                    },
                    Err(e) => last = format!("{url}: {e}"),
                }
                tracing::debug!(attempt, %last, "L1 RPC attempt failed");
            }
            if attempt + 1 < self.attempts {
                std::thread::sleep(wait);
                wait *= 2;
            }
        }
        Err(RpcError::Unreachable {
            urls: self.urls.join(", "),
            attempts: self.attempts,
            last,
        })
    }

    fn result(method: &str, v: Value) -> Result<Value, RpcError> {
        if let Some(err) = v.get("error") {
            return Err(RpcError::Node {
                method: method.to_string(),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error")
                    .to_string(),
                data: err.get("data").map(|d| match d {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
            });
        }
        v.get("result").cloned().ok_or_else(|| RpcError::BadAnswer {
            method: method.to_string(),
            detail: "no result".into(),
        })
    }

    /// One call.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        Self::result(method, self.post(&body)?)
    }

    /// Many calls of one method in JSON-RPC batches of `chunk`, results in request order.
    pub fn batch(
        &self,
        method: &str,
        params: Vec<Value>,
        chunk: usize,
    ) -> Result<Vec<Result<Value, RpcError>>, RpcError> {
        let mut out = Vec::with_capacity(params.len());
        for (c, group) in params.chunks(chunk.max(1)).enumerate() {
            let base = c * chunk.max(1);
            let body: Vec<Value> = group
                .iter()
                .enumerate()
                .map(|(i, p)| json!({"jsonrpc": "2.0", "id": base + i, "method": method, "params": p}))
                .collect();
            let answer = self.post(&Value::Array(body))?;
            let Value::Array(items) = answer else {
                return Err(RpcError::BadAnswer {
                    method: method.to_string(),
                    detail: "batch answer is not an array".into(),
                });
            };
            let mut slots: Vec<Option<Result<Value, RpcError>>> =
                (0..group.len()).map(|_| None).collect();
            for item in items {
                let id = item.get("id").and_then(Value::as_u64).unwrap_or(u64::MAX) as usize;
                if let Some(slot) = id.checked_sub(base).and_then(|i| slots.get_mut(i)) {
                    *slot = Some(Self::result(method, item));
                }
            }
            for slot in slots {
                out.push(slot.unwrap_or_else(|| {
                    Err(RpcError::BadAnswer {
                        method: method.to_string(),
                        detail: "batch answer is missing an id".into(),
                    })
                }));
            }
        }
        Ok(out)
    }

    /// `eth_chainId`.
    pub fn chain_id(&self) -> Result<u64, RpcError> {
        let v = self.call("eth_chainId", json!([]))?;
        parse_quantity(&v).ok_or_else(|| RpcError::BadAnswer {
            method: "eth_chainId".into(),
            detail: format!("not a quantity: {v}"),
        })
    }

    /// `eth_call` against the latest block; returns the raw return data.
    pub fn eth_call(&self, to: &str, data: &[u8]) -> Result<Vec<u8>, RpcError> {
        let v = self.call(
            "eth_call",
            json!([{"to": to, "data": format!("0x{}", hex::encode(data))}, "latest"]),
        )?;
        parse_bytes("eth_call", &v)
    }
}

/// Decodes a `0x` hex data string.
pub fn parse_bytes(method: &str, v: &Value) -> Result<Vec<u8>, RpcError> {
    v.as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .and_then(|s| hex::decode(s).ok())
        .ok_or_else(|| RpcError::BadAnswer {
            method: method.to_string(),
            detail: format!("not hex data: {v}"),
        })
}

/// Decodes a `0x` hex quantity.
pub fn parse_quantity(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.strip_prefix("0x")?, 16).ok()
}
