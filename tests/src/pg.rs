//! A throwaway PostgreSQL cluster for the HA tests: Debian's server binaries
//! (`scripts/setup.sh` installs them), `initdb` into a temp dir, one server on a free loopback
//! port with trust authentication, stopped (and its files removed) on drop. As root, the server
//! runs as the `postgres` user, since PostgreSQL refuses to run as root.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running cluster.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    child: Option<Child>,
    ids: Option<(u32, u32)>,
}

fn bindir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found
        .pop()
        .expect("PostgreSQL's server binaries are not installed: run scripts/setup.sh")
}

fn output_of(cmd: &mut Command) -> String {
    let o = cmd.output().expect("run a command");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

impl Postgres {
    /// initdb and start a cluster; waits until it accepts connections.
    pub fn start() -> Postgres {
        let bin = bindir();
        let dir = tempfile::tempdir().expect("temp dir");
        let root = output_of(Command::new("id").arg("-u")) == "0";
        let ids = root.then(|| {
            let uid = output_of(Command::new("id").args(["-u", "postgres"]));
            let gid = output_of(Command::new("id").args(["-g", "postgres"]));
            (
                uid.parse()
                    .expect("a postgres user (Debian's package creates it)"),
                gid.parse().expect("the postgres group"),
            )
        });
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        if ids.is_some() {
            // The server's user must reach and own its directory.
            let st = Command::new("chmod")
                .arg("755")
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(st.success());
            let st = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&data)
                .status()
                .unwrap();
            assert!(st.success());
        }
        let mut init = Command::new(bin.join("initdb"));
        // The server's user may not reach the test's working directory.
        init.current_dir(&data)
            .args(["--auth=trust", "--username=postgres", "--no-sync", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some((uid, gid)) = ids {
            init.uid(uid).gid(gid);
        }
        let o = init.output().expect("run initdb");
        assert!(
            o.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut pg = Postgres {
            dir,
            bin,
            port: crate::free_port(),
            child: None,
            ids,
        };
        pg.resume();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A libpq URL for the `postgres` database.
    pub fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (fast shutdown), keeping its data: the database is down.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), "INT");
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port and data; waits until it answers.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::File::create(self.dir.path().join("postgres.log")).unwrap();
        let mut cmd = Command::new(self.bin.join("postgres"));
        cmd.current_dir(self.data())
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(self.data())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=40",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some((uid, gid)) = self.ids {
            cmd.uid(uid).gid(gid);
        }
        self.child = Some(cmd.spawn().expect("start postgres"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while cairn_ha::connect(&self.url(), Duration::from_secs(1)).is_err() {
            assert!(
                Instant::now() < deadline,
                "postgres did not start: {}",
                std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server's log.
    pub fn log_path(&self) -> &Path {
        self.dir.path()
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
