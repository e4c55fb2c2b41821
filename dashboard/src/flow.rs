//! The worker side: one JSON request in, one JSON response out, dispatched to
//! `cairn_keys::flows`. Pure Rust so it is tested natively like any other code.

use std::collections::BTreeMap;

use cairn_keys::flows::{self, GenerateRequest};
use serde_json::{json, Value};

fn text<'a>(req: &'a Value, key: &str) -> Result<&'a str, String> {
    req.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("internal error: request field `{key}` missing"))
}

fn number(req: &Value, key: &str, default: u64) -> Result<u64, String> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(default),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| format!("{key}: {s:?} is not a whole number")),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| format!("{key}: {v} is not a whole number")),
    }
}

fn index(req: &Value, key: &str) -> Result<u32, String> {
    let n = number(req, key, 0)?;
    u32::try_from(n)
        .ok()
        .filter(|n| *n < 1 << 31)
        .ok_or_else(|| format!("{key} must be below 2^31"))
}

/// Handles one request: `{"op": "register"|"generate"|"verify"|"batches", …}`.
/// The response is `{"ok": true, …}` or `{"ok": false, "error": "…"}`.
pub fn handle(request: &str, progress: &mut dyn FnMut(usize, usize)) -> String {
    let out = match serde_json::from_str::<Value>(request) {
        Ok(req) => dispatch(&req, progress),
        Err(e) => Err(format!("internal error: bad request: {e}")),
    };
    match out {
        Ok(mut v) => {
            v["ok"] = json!(true);
            v.to_string()
        }
        Err(e) => json!({"ok": false, "error": e}).to_string(),
    }
}

fn dispatch(req: &Value, progress: &mut dyn FnMut(usize, usize)) -> Result<Value, String> {
    match text(req, "op")? {
        "register" => {
            let files: BTreeMap<String, String> = req
                .get("files")
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            let password = req
                .get("password")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty());
            let out = flows::registration_from_keystore(
                text(req, "keystore")?,
                password,
                &files,
                progress,
            )
            .map_err(|e| e.to_string())?;
            Ok(json!({"registration": out.json, "count": out.count, "skipped": out.skipped}))
        }
        "generate" => {
            let out = flows::generate(
                &GenerateRequest {
                    mnemonic: text(req, "mnemonic")?.to_string().into(),
                    count: u32::try_from(number(req, "count", 1)?)
                        .map_err(|_| "count is too large".to_string())?,
                    account_index: index(req, "accountIndex")?,
                    address_index: index(req, "addressIndex")?,
                    fee_recipient: text(req, "feeRecipient")?.trim().to_string(),
                },
                progress,
            )
            .map_err(|e| e.to_string())?;
            Ok(json!({
                "keystore": out.keystore.as_str(),
                "registration": out.registration,
                "summary": out.summary.join("\n"),
            }))
        }
        "verify" => Ok(json!({"report": flows::verify(text(req, "registration")?)})),
        "batches" => {
            let provider = number(req, "providerId", 0)?;
            let size = number(req, "batchSize", 100)?;
            if size == 0 || size > 1000 {
                return Err("batch size must be between 1 and 1000".into());
            }
            let batches = flows::provider_batches(
                text(req, "registration")?,
                text(req, "registry")?.trim(),
                provider,
                size as usize,
            )
            .map_err(|e| e.to_string())?;
            Ok(json!({"batches": batches}))
        }
        other => Err(format!("internal error: unknown operation {other}")),
    }
}
