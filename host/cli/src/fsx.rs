//! File effects for key material: 0600 files in 0700 folders, written all-or-nothing.
//!
//! A command that writes several files (encrypted keys, the keystore, the staker output) stages
//! each one as a temporary file next to its destination and renames them into place only when
//! all were written. If anything fails, the temporaries and any folders created for them are
//! removed, so no half-written key set is left behind.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Files waiting to be moved into place.
#[derive(Default)]
pub struct Staged {
    /// (destination, temporary, may replace an existing file)
    files: Vec<(PathBuf, PathBuf, bool)>,
    created_dirs: Vec<PathBuf>,
    committed: bool,
}

impl Staged {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates `dir` and missing parents with mode 0700, remembering what was created.
    pub fn ensure_dir(&mut self, dir: &Path) -> Result<()> {
        if dir.as_os_str().is_empty() || dir.is_dir() {
            return Ok(());
        }
        if let Some(parent) = dir.parent() {
            self.ensure_dir(parent)?;
        }
        fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
        self.created_dirs.push(dir.to_path_buf());
        Ok(())
    }

    /// Stages a file that must not replace anything: if `path` exists at commit time (even if
    /// another process created it meanwhile), the whole commit fails and nothing is placed.
    pub fn add_new(&mut self, path: &Path, contents: &[u8]) -> Result<()> {
        if path.exists() {
            bail!(
                "{} already exists; refusing to overwrite key material (use --force to replace it)",
                path.display()
            );
        }
        self.stage(path, contents, false)
    }

    /// Stages a file that may replace an existing one (atomically, by rename).
    pub fn add(&mut self, path: &Path, contents: &[u8]) -> Result<()> {
        self.stage(path, contents, true)
    }

    /// Stages with `replace` chosen by the caller (`--force`).
    pub fn add_maybe_new(&mut self, path: &Path, contents: &[u8], replace: bool) -> Result<()> {
        if replace {
            self.add(path, contents)
        } else {
            self.add_new(path, contents)
        }
    }

    /// Writes `contents` to a temporary file beside `path` (mode 0600, synced).
    fn stage(&mut self, path: &Path, contents: &[u8], replace: bool) -> Result<()> {
        if self.files.iter().any(|(p, _, _)| p == path) {
            bail!("internal error: {} staged twice", path.display());
        }
        let dir = path.parent().unwrap_or(Path::new(""));
        self.ensure_dir(dir)?;
        let name = path
            .file_name()
            .with_context(|| format!("{} is not a file path", path.display()))?;
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        self.files.push((path.to_path_buf(), tmp.clone(), replace));
        f.write_all(contents)
            .and_then(|_| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        Ok(())
    }

    /// Moves every staged file into place, in the order added. New files are linked (which fails
    /// if the name was taken meanwhile), replacements renamed; on any failure the new files
    /// placed so far are removed again.
    pub fn commit(mut self) -> Result<()> {
        let mut placed: Vec<PathBuf> = Vec::new();
        let mut result = Ok(());
        for (dest, tmp, replace) in &self.files {
            let existed = dest.exists();
            let step = if *replace {
                fs::rename(tmp, dest)
            } else {
                fs::hard_link(tmp, dest).and_then(|_| fs::remove_file(tmp))
            };
            if let Err(e) = step {
                result = Err(e).with_context(|| {
                    format!("cannot place {} (nothing was written)", dest.display())
                });
                break;
            }
            if !existed {
                placed.push(dest.clone());
            }
        }
        if result.is_err() {
            for p in &placed {
                let _ = fs::remove_file(p);
            }
            return result;
        }
        for (dest, _, _) in &self.files {
            let dir = dest
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for (_, tmp, _) in &self.files {
            let _ = fs::remove_file(tmp);
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Writes one file atomically with mode 0600, replacing any previous version.
pub fn write_one(path: &Path, contents: &[u8]) -> Result<()> {
    let mut s = Staged::new();
    s.add(path, contents)?;
    s.commit()
}

/// The permission bits of a file when others can read it (a key file cairn did not write, or
/// one whose mode was changed), for a warning.
pub fn loose_permissions(path: &Path) -> Option<u32> {
    let mode = fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_or_nothing() {
        let d = tempfile::tempdir().unwrap();
        let nested = d.path().join("a/b");
        {
            let mut s = Staged::new();
            s.add(&nested.join("one.json"), b"1").unwrap();
            s.add(&nested.join("two.json"), b"2").unwrap();
            // Dropped without commit: nothing remains, not even the folders.
        }
        assert!(!d.path().join("a").exists());
        let mut s = Staged::new();
        s.add_new(&nested.join("one.json"), b"1").unwrap();
        s.commit().unwrap();
        // A new file whose name got taken after staging: the commit fails, nothing is replaced.
        let mut s = Staged::new();
        s.add_new(&nested.join("two.json"), b"mine").unwrap();
        fs::write(nested.join("two.json"), b"theirs").unwrap();
        assert!(s.commit().is_err());
        assert_eq!(fs::read(nested.join("two.json")).unwrap(), b"theirs");
        fs::remove_file(nested.join("two.json")).unwrap();
        let meta = fs::metadata(nested.join("one.json")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            fs::metadata(&nested).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            fs::read_dir(&nested).unwrap().count(),
            1,
            "no temporaries left"
        );
    }
}
