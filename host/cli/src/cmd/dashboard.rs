//! `cairn dashboard`: serves the staking-registration page (the `trunk build` output of
//! `dashboard/`) on loopback. Static files only; the page itself makes no requests after loading.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

/// Flags of `dashboard`.
#[derive(Args)]
pub struct DashboardArgs {
    /// Port on 127.0.0.1.
    #[arg(long, default_value = "8080")]
    port: u16,
    /// The built page (default: dashboard/dist here or beside the cairn checkout).
    #[arg(long, env = "CAIRN_DASHBOARD_DIR")]
    dir: Option<PathBuf>,
}

fn find_dist() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("dashboard/dist")];
    if let Ok(exe) = std::env::current_exe() {
        // target/{debug,release}/cairn inside a checkout.
        for up in exe.ancestors().skip(1).take(4) {
            candidates.push(up.join("dashboard/dist"));
        }
    }
    candidates
        .into_iter()
        .find(|p| p.join("index.html").is_file())
}

/// Runs the server until the process is stopped.
pub fn run(a: DashboardArgs) -> Result<()> {
    let dir = match a.dir.or_else(find_dist) {
        Some(d) => d,
        None => bail!("the built page was not found; build it with `trunk build` in dashboard/ (scripts/test.sh does) or pass --dir"),
    };
    if !dir.join("index.html").is_file() {
        bail!(
            "{} has no index.html; build the page with `trunk build` in dashboard/",
            dir.display()
        );
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, a.port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", a.port))?;
    let port = listener.local_addr()?.port();
    println!(
        "Serving the staking page at http://127.0.0.1:{port}/ from {} (Ctrl-C stops)",
        dir.display()
    );
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let dir = dir.clone();
        std::thread::spawn(move || {
            if let Err(e) = serve(stream, &dir) {
                tracing::debug!("dashboard request failed: {e:#}");
            }
        });
    }
    Ok(())
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// Maps a request path to a file under `dir`, refusing anything that could leave it.
fn resolve(dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let rel = Path::new(rel);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let full = dir.join(rel);
    full.is_file().then_some(full)
}

fn serve(stream: TcpStream, dir: &Path) -> Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    // Drain the headers; the server needs none of them.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let mut out = stream;
    if method != "GET" && method != "HEAD" {
        out.write_all(
            b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    }
    let Some(file) = resolve(dir, target) else {
        out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    };
    let body = std::fs::read(&file)?;
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        content_type(&file),
        body.len()
    )?;
    if method == "GET" {
        out.write_all(&body)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_directory() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("index.html"), "x").unwrap();
        std::fs::write(d.path().join("app.wasm"), "x").unwrap();
        assert_eq!(resolve(d.path(), "/"), Some(d.path().join("index.html")));
        assert_eq!(
            resolve(d.path(), "/app.wasm?v=1"),
            Some(d.path().join("app.wasm"))
        );
        assert_eq!(resolve(d.path(), "/../etc/passwd"), None);
        assert_eq!(resolve(d.path(), "//etc/passwd"), None);
        assert_eq!(resolve(d.path(), "/missing.js"), None);
        assert_eq!(content_type(Path::new("a.wasm")), "application/wasm");
    }
}
