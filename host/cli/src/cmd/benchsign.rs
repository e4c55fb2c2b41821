//! `cairn bench signing`: how long one signing duty takes through the node's own duty path
//! (`cairn_node::duties::DutyGuards`: the fsynced local guard, the HA table when on, then the
//! signer), with a local key and with a remote signer, HA off and on. Each duty is a fresh slot,
//! as in the node: one guard write, one claim, one signature, one completion.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256};
use anyhow::{anyhow, bail, Context, Result};
use cairn_node::duties::DutyGuards;
use cairn_node::metrics::Health;
use cairn_node::signer::{AttesterSigner, RemoteSigner};
use cairn_node::store::{Duty, DutyKind, Store};
use clap::Args;
use serde_json::{json, Value};

use super::l1::print_json;

/// Flags of `cairn bench signing`.
#[derive(Args)]
pub struct BenchSigningArgs {
    /// Duties per mode.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    duties: u64,
    /// A PostgreSQL database with the HA schema (`cairn migrate-ha-db up`) for the HA modes;
    /// the benchmark writes rows under a random rollup address and deletes them afterwards.
    #[arg(long = "ha-database-url", hide_env_values = true, value_name = "URL")]
    ha_database_url: Option<String>,
    /// A remote signer (Web3Signer JSON-RPC) for the remote modes; it signs for the first
    /// address its `eth_accounts` lists.
    #[arg(long = "web3-signer-url", value_name = "URL")]
    web3_signer_url: Option<String>,
    /// Also write the report here.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn random32() -> Result<[u8; 32]> {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).map_err(|e| anyhow!("no randomness: {e}"))?;
    Ok(b)
}

/// p50, p95 and mean of `ms`, in ms.
fn summary(mut ms: Vec<f64>) -> Value {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    json!({
        "p50_ms": at(0.5),
        "p95_ms": at(0.95),
        "mean_ms": ms.iter().sum::<f64>() / ms.len() as f64,
    })
}

/// Runs `n` duties for `signer` through `guards`, from slot `first`; their latencies in ms.
fn run(guards: &DutyGuards, signer: &AttesterSigner, first: u64, n: u64) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(n as usize);
    for slot in first..first + n {
        let duty = Duty {
            slot,
            kind: DutyKind::Attestation,
            block_index: 0,
            validator: signer.address().0 .0,
        };
        let digest = B256::from(random32()?);
        let t0 = Instant::now();
        guards
            .sign(duty, slot, digest, signer)
            .map_err(|e| anyhow!("slot {slot}: {e}"))?;
        out.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    Ok(out)
}

/// Runs `cairn bench signing`.
pub fn bench_signing(args: BenchSigningArgs) -> Result<()> {
    // The local guard's database, on the same disk a node's data directory would be on.
    let dir = std::env::temp_dir().join(format!("cairn-bench-signing-{}", std::process::id()));
    let store = Store::open(&dir).map_err(|e| anyhow!("{e}"))?;
    let result = measure_all(&args, &store);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure_all(args: &BenchSigningArgs, store: &Store) -> Result<()> {
    let health = Health::default();
    let rollup = Address::from_slice(&random32()?[..20]);
    let local = AttesterSigner::Local(
        cairn_crypto::EthSecretKey::from_bytes(&random32()?)
            .map_err(|e| anyhow!("a local key: {e:?}"))?,
    );
    let remote = match &args.web3_signer_url {
        None => None,
        Some(url) => {
            let accounts: Value = ureq::post(url)
                .send_json(
                    json!({"jsonrpc": "2.0", "id": 1, "method": "eth_accounts", "params": []}),
                )
                .with_context(|| format!("eth_accounts at {url}"))?
                .into_json()?;
            let first: Address = accounts["result"][0]
                .as_str()
                .and_then(|a| a.parse().ok())
                .ok_or_else(|| anyhow!("{url} lists no account: {accounts}"))?;
            Some(AttesterSigner::Remote(RemoteSigner::new(url, first)))
        }
    };
    let ha = match &args.ha_database_url {
        None => None,
        Some(url) => Some(
            cairn_ha::HaSigner::connect(cairn_ha::HaConfig::new(
                url.clone(),
                "cairn-bench".into(),
                12,
            ))
            .map_err(|e| anyhow!("{e}"))?,
        ),
    };
    let mut modes = serde_json::Map::new();
    let mut first = 1;
    let mut measure = |name: &str, ha: Option<&cairn_ha::HaSigner>, s: &AttesterSigner| {
        let guards = DutyGuards {
            store,
            ha,
            health: &health,
            rollup,
            claim_ms: None,
        };
        // A few warm-up duties (connections, caches) are not counted.
        run(&guards, s, first, 5)?;
        let ms = run(&guards, s, first + 5, args.duties)?;
        first += args.duties + 5;
        modes.insert(name.to_string(), summary(ms));
        anyhow::Ok(())
    };
    measure("local", None, &local)?;
    if let Some(ha) = &ha {
        measure("local_ha", Some(ha), &local)?;
    }
    if let Some(r) = &remote {
        measure("remote", None, r)?;
        if let Some(ha) = &ha {
            measure("remote_ha", Some(ha), r)?;
        }
    }
    if let Some(url) = &args.ha_database_url {
        let mut c = cairn_ha::connect(url, Duration::from_secs(5)).map_err(|e| anyhow!("{e}"))?;
        c.execute(
            "DELETE FROM validator_duties WHERE rollup_address = $1",
            &[&format!("{rollup:#x}")],
        )
        .map_err(|e| anyhow!("deleting the benchmark's rows: {e}"))?;
    }
    if modes.len() == 1 && (args.ha_database_url.is_none() || args.web3_signer_url.is_none()) {
        eprintln!(
            "note: pass --ha-database-url and --web3-signer-url to measure the HA and remote modes"
        );
    }
    let p50 = |m: &str| modes.get(m).map(|v| v["p50_ms"].clone());
    let report = json!({
        "duties_per_mode": args.duties,
        "local_p50_ms": p50("local"),
        "local_ha_p50_ms": p50("local_ha"),
        "remote_p50_ms": p50("remote"),
        "remote_ha_p50_ms": p50("remote_ha"),
        "modes": modes,
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "commit": env!("CAIRN_COMMIT"),
    });
    if report["build"] == "debug" {
        eprintln!(
            "note: a debug build; measure with a release build (cargo build --release -p cairn)"
        );
    }
    print_json(&report);
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if modes.is_empty() {
        bail!("nothing measured");
    }
    Ok(())
}
