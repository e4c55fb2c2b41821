//! Path strings as Node's `path` module forms them, because the reference writes them into
//! keystore files (`{"path": …}`) and prints them; cairn must produce the same text.

/// `path.normalize` for POSIX paths.
pub fn normalize(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let absolute = p.starts_with('/');
    let trailing = p.ends_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let mut out = parts.join("/");
    if absolute {
        out.insert(0, '/');
    }
    if out.is_empty() {
        out = if absolute { "/".into() } else { ".".into() };
    } else if trailing {
        out.push('/');
    }
    out
}

/// `path.join(a, b)`.
pub fn join(a: &str, b: &str) -> String {
    let parts: Vec<&str> = [a, b].into_iter().filter(|s| !s.is_empty()).collect();
    if parts.is_empty() {
        return ".".into();
    }
    normalize(&parts.join("/"))
}

/// `path.dirname(p)`.
pub fn dirname(p: &str) -> String {
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return if p.starts_with('/') {
            "/".into()
        } else {
            ".".into()
        };
    }
    match trimmed.rfind('/') {
        None => ".".into(),
        Some(0) => "/".into(),
        Some(i) => trimmed[..i].trim_end_matches('/').to_string(),
    }
}

/// `path.basename(p, ext)`.
pub fn basename(p: &str, ext: &str) -> String {
    let trimmed = p.trim_end_matches('/');
    let base = trimmed.rsplit('/').next().unwrap_or("");
    match base.strip_suffix(ext) {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_node() {
        assert_eq!(join("/a/b", "c.json"), "/a/b/c.json");
        assert_eq!(join("./rel", "c.json"), "rel/c.json");
        assert_eq!(join("/a//b/", "../c.json"), "/a/c.json");
        assert_eq!(join("", "c.json"), "c.json");
        assert_eq!(dirname("/a/b/c.json"), "/a/b");
        assert_eq!(dirname("c.json"), ".");
        assert_eq!(dirname("/c.json"), "/");
        assert_eq!(basename("/a/key1.json", ".json"), "key1");
        assert_eq!(basename("/a/keys.txt", ".json"), "keys.txt");
        assert_eq!(basename(".json", ".json"), ".json");
    }
}
