//! Finding the pinned npm tools (anvil, forge, solc-js, Aztec's L1 artifacts).

use std::path::{Path, PathBuf};

use crate::DevnetError;

/// Paths of the tools the devnet needs.
#[derive(Debug, Clone)]
pub struct Tools {
    /// `anvil` binary.
    pub anvil: PathBuf,
    /// `forge` binary.
    pub forge: PathBuf,
    /// solc-js entry (`solc/solc.js`).
    pub solcjs: PathBuf,
    /// `@aztec/l1-artifacts/l1-contracts` (the Foundry project with `out/` and `cache/`).
    pub l1_contracts: PathBuf,
}

fn complete(nm: &Path) -> Option<Tools> {
    let t = Tools {
        anvil: nm.join(".bin/anvil"),
        forge: nm.join(".bin/forge"),
        solcjs: nm.join("solc/solc.js"),
        l1_contracts: nm.join("@aztec/l1-artifacts/l1-contracts"),
    };
    (t.anvil.exists()
        && t.forge.exists()
        && t.solcjs.exists()
        && t.l1_contracts
            .join("script/deploy/DeployAztecL1Contracts.s.sol")
            .exists())
    .then_some(t)
}

impl Tools {
    /// Looks in `explicit` (a `node_modules` dir), then `$CAIRN_TOOLS_DIR`, then
    /// `tools/node_modules` above the current directory and above the running binary.
    pub fn locate(explicit: Option<&Path>) -> Result<Tools, DevnetError> {
        // An explicit location is the only one tried: silently using another copy would hide
        // the mistake.
        if let Some(p) = explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("CAIRN_TOOLS_DIR").map(PathBuf::from))
        {
            return complete(&p).ok_or_else(|| {
                DevnetError::Tools(format!(
                    "{} does not hold anvil, forge, solc-js and @aztec/l1-artifacts; run scripts/setup.sh in the cairn checkout and point --tools-dir / CAIRN_TOOLS_DIR at its tools/node_modules",
                    p.display()
                ))
            });
        }
        let mut tried = Vec::new();
        let mut candidates: Vec<PathBuf> = Vec::new();
        let mut roots = Vec::new();
        if let Ok(cwd) = std::env::current_dir() {
            roots.push(cwd);
        }
        if let Ok(exe) = std::env::current_exe() {
            roots.push(exe);
        }
        for root in roots {
            for dir in root.ancestors() {
                candidates.push(dir.join("tools/node_modules"));
            }
        }
        for c in candidates {
            if let Some(t) = complete(&c) {
                return Ok(t);
            }
            tried.push(c.display().to_string());
        }
        Err(DevnetError::Tools(format!(
            "anvil, forge, solc-js and @aztec/l1-artifacts were not found (looked in {}). Run scripts/setup.sh in the cairn checkout, or point --tools-dir / CAIRN_TOOLS_DIR at its tools/node_modules",
            tried.first().cloned().unwrap_or_default()
        )))
    }
}
