//! Setting validators' `coinbase` in a keystore to their delegation split ("provider mode").

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use alloy_primitives::Address;
use anyhow::{anyhow, bail, Context, Result};
use cairn_keys::dir;
use serde_json::{json, Value};

use super::keys::FsKeyFiles;

/// Computes (and with `write`, applies) the coinbase changes; returns one JSON object per
/// changed validator block: `{validator, attester, from, to}`.
pub fn apply(path: &Path, splits: &BTreeMap<Address, Address>, write: bool) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read keystore {}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let dir_name = path
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let loaded = dir::parse_files(&[(name, text.clone())], &dir_name)?;
    let merged = dir::merge(loaded)?;
    let attesters = dir::resolve_attesters(&merged, &FsKeyFiles)?;
    // Attesters by validator block.
    let mut blocks: BTreeMap<usize, Vec<(Address, Address)>> = BTreeMap::new();
    for a in &attesters {
        let addr: Address = a
            .address
            .to_checksum()
            .parse()
            .map_err(|_| anyhow!("bad address"))?;
        let coinbase: Address = a
            .coinbase
            .to_checksum()
            .parse()
            .map_err(|_| anyhow!("bad address"))?;
        blocks
            .entry(a.validator)
            .or_default()
            .push((addr, coinbase));
    }
    let mut doc: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let validators = doc
        .get_mut("validators")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| anyhow!("{} has no validators array", path.display()))?;
    let mut changes = Vec::new();
    for (vi, members) in &blocks {
        let wanted: Vec<(Address, Address)> = members
            .iter()
            .filter_map(|(a, _)| splits.get(a).map(|s| (*a, *s)))
            .collect();
        let Some((attester, split)) = wanted.first().copied() else {
            continue;
        };
        if wanted.iter().any(|(_, s)| *s != split)
            || wanted.len() != members.len() && members.len() > 1
        {
            bail!(
                "{} validator {}: its {} attesters map to different coinbases (one split per delegation); give each delegated attester its own validator block, then re-run",
                path.display(),
                vi + 1,
                members.len()
            );
        }
        let current = members[0].1;
        if current == split {
            continue;
        }
        let block = validators
            .get_mut(*vi)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| anyhow!("{} validator {} is not an object", path.display(), vi + 1))?;
        let from = block
            .get("coinbase")
            .and_then(Value::as_str)
            .map(str::to_string);
        block.insert("coinbase".into(), json!(split.to_checksum(None)));
        changes.push(json!({"validator": vi + 1, "attester": attester.to_checksum(None), "from": from, "to": split.to_checksum(None)}));
    }
    if write && !changes.is_empty() {
        // Keep the file's own convention for the final newline.
        let mut body = serde_json::to_string_pretty(&doc)?;
        if text.ends_with('\n') {
            body.push('\n');
        }
        write_with_backup(path, &text, &body)?;
    }
    Ok(changes)
}

/// Keeps the old contents as `<file>.bak` and replaces the file atomically (same directory,
/// fsync, rename), preserving a private mode.
fn write_with_backup(path: &Path, old: &str, new: &str) -> Result<()> {
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0o600);
    let backup = path.with_file_name(format!(
        "{}.bak",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let write = |p: &Path, body: &str| -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(p)
            .with_context(|| format!("cannot write {}", p.display()))?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(body.as_bytes())?;
        f.sync_all()?;
        Ok(())
    };
    write(&backup, old)?;
    write(&tmp, new)?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}
