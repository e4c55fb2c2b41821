//! The node's tasks on tokio, and their one shutdown path.
//!
//! Each role is a task: a timer and the node's cancellation token on the reactor, and each pass
//! (blocking L1 calls, stage components, re-execution, tree updates) on tokio's blocking pool,
//! so the reactor (shared with the p2p service) never waits on them. Cancelling the token
//! ([`Node::shutdown`]) stops every task after the pass it is in; the HTTP servers watch the
//! same token. Every store write is one transaction, so the store is consistent at any point
//! a task stops.

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::api::{AdminApi, PublicApi};
use crate::error::StartError;
use crate::node::Node;

/// The running tasks and server threads.
pub struct Services {
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    http: Vec<std::thread::JoinHandle<()>>,
}

/// Starts the HTTP servers and the tasks of the node's roles on `rt`.
pub fn start(node: &Arc<Node>, rt: &Handle) -> Result<Services, StartError> {
    let cfg = node.config();
    if cfg.roles.sequencer {
        // The KZG setup, off the reactor, before the first slot needs it.
        rt.spawn_blocking(cairn_l1::blob::warm_up);
    }
    let public: Arc<dyn PublicApi> = node.clone();
    let admin: Arc<dyn AdminApi> = node.clone();
    let http_cfg = crate::rpc::HttpConfig {
        bind: cfg.bind.clone(),
        port: cfg.port,
        admin_port: cfg.admin_port,
        admin_key_sha256: cfg.admin_key_sha256,
    };
    let servers = crate::rpc::serve(public, admin, &http_cfg, node.shutdown_token())?;
    if let Ok(mut b) = node.bound.lock() {
        *b = (servers.rpc_addr, servers.admin_addr);
    }
    let http = servers.threads;
    let mut tasks = Vec::new();
    if cfg.roles.archiver || cfg.roles.sequencer {
        tasks.push(every(
            rt,
            node,
            "archiver",
            |n| n.config().poll,
            Node::archiver_pass,
        ));
    }
    if cfg.roles.sequencer {
        tasks.push(every(
            rt,
            node,
            "sequencer",
            |n| n.config().poll,
            |n| {
                // Health follows the archiver (L1 reads); a failed proposal is counted and logged.
                if let Err(e) = n.slot_once() {
                    tracing::warn!(error = %e, "slot not proposed");
                }
            },
        ));
    }
    if cfg.ha.is_some() {
        // Cleanup of stuck and old duty rows, and the database's health for `/status` between
        // duties (so a recovered database shows before the next duty needs it).
        tasks.push(every(
            rt,
            node,
            "ha-housekeeping",
            |n| n.config().poll * 4,
            Node::ha_housekeeping,
        ));
    }
    if cfg.roles.prover {
        tasks.push(every(
            rt,
            node,
            "prover",
            |n| n.config().poll * 4,
            |n| {
                if let Err(e) = n.prove_once() {
                    tracing::warn!(error = %e, "epoch proof not submitted");
                }
            },
        ));
    }
    Ok(Services { tasks, http })
}

/// A task that runs `pass` on the blocking pool, then waits `period` or the shutdown.
fn every(
    rt: &Handle,
    node: &Arc<Node>,
    name: &'static str,
    period: fn(&Node) -> Duration,
    pass: fn(&Node),
) -> (&'static str, JoinHandle<()>) {
    let node = node.clone();
    let stop = node.shutdown_token();
    let task = rt.spawn(async move {
        while !stop.is_cancelled() {
            let n = node.clone();
            if tokio::task::spawn_blocking(move || pass(&n)).await.is_err() {
                tracing::error!(
                    task = name,
                    "a pass panicked; the task goes on with the next one"
                );
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(period(&node)) => {}
            }
        }
        tracing::debug!(task = name, "stopped");
    });
    (name, task)
}

impl Services {
    /// After [`Node::shutdown`]: waits for every task to finish its pass (a proposal in flight
    /// waits at most for its L1 receipt) and for the servers, at most `limit`. Returns the
    /// tasks still running then.
    pub fn join(self, rt: &Handle, limit: Duration) -> Vec<&'static str> {
        let deadline = tokio::time::Instant::now() + limit;
        let late = rt.block_on(async {
            let mut late = Vec::new();
            for (name, t) in self.tasks {
                if tokio::time::timeout_at(deadline, t).await.is_err() {
                    late.push(name);
                }
            }
            late
        });
        // The servers check the token twice a second.
        for t in self.http {
            let _ = t.join();
        }
        late
    }
}
