//! Records the git commit the binary is built from (`CAIRN_COMMIT`), so that benchmark reports
//! and `--version` name the code they measured. Reads .git directly: no git binary needed, and
//! the crate rebuilds only when HEAD moves.

use std::path::Path;

fn main() {
    let git = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.git");
    let head_file = git.join("HEAD");
    println!("cargo:rerun-if-changed={}", head_file.display());
    let commit = std::fs::read_to_string(&head_file)
        .ok()
        .and_then(|head| match head.trim().strip_prefix("ref: ") {
            Some(r) => {
                let ref_file = git.join(r);
                println!("cargo:rerun-if-changed={}", ref_file.display());
                std::fs::read_to_string(ref_file)
                    .ok()
                    .or_else(|| packed_ref(&git, r))
            }
            None => Some(head),
        })
        .map(|c| c.trim().to_string())
        .filter(|c| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CAIRN_COMMIT={commit}");
}

/// A ref that lives only in `.git/packed-refs` (fresh clones).
fn packed_ref(git: &Path, name: &str) -> Option<String> {
    let packed = git.join("packed-refs");
    println!("cargo:rerun-if-changed={}", packed.display());
    std::fs::read_to_string(packed).ok()?.lines().find_map(|l| {
        let (hash, r) = l.split_once(' ')?;
        (r == name).then(|| hash.to_string())
    })
}
