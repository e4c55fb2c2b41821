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

/// Files waiting to be renamed into place.
#[derive(Default)]
pub struct Staged {
    files: Vec<(PathBuf, PathBuf)>,
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

    /// Writes `contents` to a temporary file beside `path` (mode 0600, synced).
    pub fn add(&mut self, path: &Path, contents: &[u8]) -> Result<()> {
        if self.files.iter().any(|(p, _)| p == path) {
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
        self.files.push((path.to_path_buf(), tmp.clone()));
        f.write_all(contents)
            .and_then(|_| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        Ok(())
    }

    /// Renames every staged file into place, in the order added.
    pub fn commit(mut self) -> Result<()> {
        let mut placed: Vec<PathBuf> = Vec::new();
        for (dest, tmp) in &self.files {
            let existed = dest.exists();
            if let Err(e) = fs::rename(tmp, dest) {
                // Undo the new files already placed; files that existed before keep their new
                // content, which is complete (each rename is atomic).
                for p in &placed {
                    let _ = fs::remove_file(p);
                }
                return Err(e)
                    .with_context(|| format!("cannot move key file into {}", dest.display()));
            }
            if !existed {
                placed.push(dest.clone());
            }
        }
        for (dest, _) in &self.files {
            if let Some(dir) = dest.parent() {
                if let Ok(d) = fs::File::open(if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                }) {
                    let _ = d.sync_all();
                }
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
        for (_, tmp) in &self.files {
            let _ = fs::remove_file(tmp);
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Writes one file atomically with mode 0600.
pub fn write_one(path: &Path, contents: &[u8]) -> Result<()> {
    let mut s = Staged::new();
    s.add(path, contents)?;
    s.commit()
}

/// Warns when a key file is readable by others (it was not written by cairn, or was changed).
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
        s.add(&nested.join("one.json"), b"1").unwrap();
        s.commit().unwrap();
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
