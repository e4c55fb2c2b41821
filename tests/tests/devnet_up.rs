//! `cairn devnet up` (the README's run command, via scripts/run.sh): L1, validators, node and
//! bot come up from nothing, the bot's txs land in blocks on L1, and Ctrl-C stops everything.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cairn_tests::{cairn_bin, free_port, repo_root};
use serde_json::{json, Value};

fn call(url: &str, method: &str, params: Value) -> Option<Value> {
    let v: Value = ureq::post(url)
        .timeout(Duration::from_secs(10))
        .send_json(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .ok()?
        .into_json()
        .ok()?;
    Some(v["result"].clone())
}

/// Reads `cairn devnet up`'s output up to the end of its summary; the rest is drained (as a
/// terminal would) by a thread that returns it.
fn summary(child: &mut std::process::Child) -> (String, std::thread::JoinHandle<String>) {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut summary = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        summary.push_str(&line);
        summary.push('\n');
        if line.starts_with("Ctrl-C stops everything") {
            break;
        }
    }
    let rest =
        std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    (summary, rest)
}

#[test]
fn devnet_up_runs_l1_validators_node_and_bot_and_stops_on_ctrl_c() {
    let tmp = tempfile::tempdir().unwrap();
    let (l1, rpc, admin, page) = (free_port(), free_port(), free_port(), free_port());
    // A stand-in for the built staking page (the real one is tested in Chromium elsewhere).
    let dist = tmp.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<html>cairn staking page</html>").unwrap();
    let mut child = Command::new(cairn_bin())
        .args(["devnet", "up", "--dir"])
        .arg(tmp.path().join("devnet"))
        .args(["--port", &l1.to_string(), "--rpc-port", &rpc.to_string()])
        .args(["--admin-port", &admin.to_string(), "--bot-rate", "2"])
        .args(["--dashboard-port", &page.to_string()])
        .env("CAIRN_DASHBOARD_DIR", &dist)
        .env("CAIRN_TOOLS_DIR", repo_root().join("tools/node_modules"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(tmp.path().join("up.err")).unwrap())
        .spawn()
        .expect("spawn cairn devnet up");
    // The summary names the node's URL once everything answers.
    let (summary, rest) = summary(&mut child);
    let url = format!("http://127.0.0.1:{rpc}");
    assert!(summary.contains(&url), "{summary}");
    assert!(summary.contains("4 validators registered"), "{summary}");
    // With no flags the node runs the four stages as the components built into cairn.
    let stages_line = summary
        .lines()
        .find(|l| l.trim_start().starts_with("node stages"))
        .unwrap_or_else(|| panic!("no stages line in the summary:\n{summary}"));
    for stage in [
        "tx-validation cairn-stage-tx-validation@1.0.0",
        "proof-verification cairn-stage-proof-verification@1.0.0",
        "public-execution cairn-stage-public-execution@1.0.0",
        "attestation cairn-stage-attestation@1.0.0",
    ] {
        assert!(stages_line.contains(stage), "{stages_line}");
    }
    let page_url = format!("http://127.0.0.1:{page}");
    assert!(
        summary.contains(&format!("staking page    {page_url}")),
        "{summary}"
    );
    let body = ureq::get(&page_url).call().unwrap().into_string().unwrap();
    assert!(body.contains("cairn staking page"));
    // Bot txs in a block on L1.
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut with_txs = None;
    while Instant::now() < deadline && with_txs.is_none() {
        let latest = call(&url, "node_getBlockNumber", json!([]))
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        for n in 1..=latest {
            let b = call(&url, "node_getBlock", json!([n])).unwrap_or(Value::Null);
            if b["txCount"].as_u64().unwrap_or(0) > 0 {
                with_txs = Some(b);
                break;
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let b = with_txs.unwrap_or_else(|| panic!("no block with bot txs; summary:\n{summary}"));
    assert!(b["l1Tx"].as_str().is_some_and(|h| h.len() == 66), "{b}");
    // A tx the bot reported as sent has a checkpointed receipt with its gas and fee.
    let bot_log = std::fs::read_to_string(tmp.path().join("devnet/bot.log")).unwrap();
    let first = bot_log
        .lines()
        .find_map(|l| {
            l.strip_prefix("sent ")
                .and_then(|r| r.split_whitespace().next())
        })
        .expect("the bot sent txs")
        .to_string();
    let receipt = call(&url, "node_getTxReceipt", json!([first])).unwrap();
    assert_eq!(receipt["status"], "checkpointed", "{receipt}");
    assert!(receipt["gasUsed"].as_u64().unwrap() > 0);
    // Those blocks went through the components: no stage call fell back to native code.
    let metrics = cairn_tests::assert_no_native_fallbacks(&url);
    for stage in [
        "tx-validation",
        "proof-verification",
        "public-execution",
        "attestation",
    ] {
        assert!(
            metrics.contains(&format!(
                "cairn_pipeline_stage_info{{stage=\"{stage}\",module=\"cairn-stage-{stage}@1.0.0\"}} 1"
            )),
            "{metrics}"
        );
    }
    // Ctrl-C: everything stops (the L1 port is released).
    let pid = child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = child
        .try_wait()
        .unwrap()
        .expect("devnet up exits on Ctrl-C");
    assert!(status.success(), "exit status {status}");
    assert!(rest.join().unwrap().contains("devnet: stopped"));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", l1)).is_err(),
        "anvil still running"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", rpc)).is_err(),
        "node still running"
    );
}

/// `cairn devnet up --nodes 2`: two nodes holding one validator each (committee 2, quorum 2, so
/// every checkpoint needs both, over gossip); SIGTERM, as a service manager sends it, stops
/// both nodes (each finishing cleanly), and anvil.
#[test]
fn devnet_up_with_two_nodes_needs_both_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let (l1, rpc, admin, p2p) = (free_port(), free_port(), free_port(), free_port());
    // Consecutive ports for node 1: probe that they are free too.
    for p in [rpc + 1, admin + 1, p2p + 1] {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", p)).is_ok(),
            "port {p} busy"
        );
    }
    let dir = tmp.path().join("devnet");
    let mut child = Command::new(cairn_bin())
        .args(["devnet", "up", "--nodes", "2", "--validators", "2", "--dir"])
        .arg(&dir)
        .args(["--port", &l1.to_string(), "--rpc-port", &rpc.to_string()])
        .args([
            "--admin-port",
            &admin.to_string(),
            "--p2p-port",
            &p2p.to_string(),
        ])
        .args(["--bot-rate", "0", "--dashboard-port", "0"])
        .env("CAIRN_TOOLS_DIR", repo_root().join("tools/node_modules"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(tmp.path().join("up.err")).unwrap())
        .spawn()
        .expect("spawn cairn devnet up");
    let (summary, _rest) = summary(&mut child);
    let urls = [
        format!("http://127.0.0.1:{rpc}"),
        format!("http://127.0.0.1:{}", rpc + 1),
    ];
    assert!(
        summary.contains(&urls[0]) && summary.contains(&urls[1]),
        "{summary}"
    );
    assert!(summary.contains("node 1"), "{summary}");
    // A checkpoint on L1 needs both nodes' attesters: both nodes hold it.
    let t = Instant::now();
    let at_one = |u: &str| {
        call(u, "node_getL2Tips", json!([]))
            .and_then(|t| t["latest"]["number"].as_u64())
            .unwrap_or(0)
            >= 1
    };
    while t.elapsed() < Duration::from_secs(180) && !urls.iter().all(|u| at_one(u)) {
        std::thread::sleep(Duration::from_millis(500));
    }
    let log =
        |i: usize| std::fs::read_to_string(dir.join(format!("node{i}.log"))).unwrap_or_default();
    assert!(
        urls.iter().all(|u| at_one(u)),
        "no checkpoint with two nodes:\n{}\n{}",
        log(0),
        log(1)
    );
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        child.try_wait().unwrap().is_some(),
        "cairn devnet up ignored SIGTERM"
    );
    for i in 0..2 {
        assert!(
            log(i).contains("cairn node: stopped"),
            "node {i} did not stop cleanly:\n{}",
            log(i)
        );
    }
    for port in [l1, rpc, rpc + 1] {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still served after SIGTERM"
        );
    }
}
