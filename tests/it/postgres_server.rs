//! A throwaway PostgreSQL server for the tests, or the one named by
//! `TOWER_AUTHY_POSTGRES_URL`.
//!
//! The server is started once per test process from the installed PostgreSQL
//! binaries (Debian's `postgresql` package), on a loopback port, with its data
//! in Cargo's target directory. It runs under a shell that stops it when the
//! test process's end of a pipe closes, so it never outlives the tests.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::OnceCell;

/// A URL of a database the tests may use, starting a server if needed.
pub async fn url() -> String {
    static URL: OnceCell<String> = OnceCell::const_new();
    URL.get_or_init(|| async {
        match std::env::var("TOWER_AUTHY_POSTGRES_URL") {
            Ok(url) => url,
            Err(_) => start().await,
        }
    })
    .await
    .clone()
}

fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|bin| bin.join("initdb").exists());
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is needed for the SQL store tests: install it \
             (apt-get install postgresql) or set TOWER_AUTHY_POSTGRES_URL"
        )
    })
}

fn is_root() -> bool {
    std::env::var("USER").map(|u| u == "root").unwrap_or(false)
        || std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0"))
            .unwrap_or(false)
}

/// PostgreSQL refuses to run as root: there, run it as the `postgres` user.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// A fresh cluster in `postgres-{name}` under Cargo's scratch directory
/// (owned by the server's user), and a free loopback port for it.
async fn new_cluster(bin: &Path, name: &str) -> (PathBuf, u16) {
    let data = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("postgres-{name}"));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).unwrap();
    if is_root() {
        let status = std::process::Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&data)
            .status()
            .unwrap();
        assert!(status.success(), "chown the test cluster to postgres");
    }
    let initdb = as_server_user(&bin.join("initdb"))
        .arg("-D")
        .arg(data.join("db"))
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        .output()
        .await
        .expect("run initdb");
    assert!(
        initdb.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&initdb.stderr)
    );
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    (data, port)
}

async fn start() -> String {
    let bin = bin_dir();
    let (data, port) = new_cluster(&bin, &std::process::id().to_string()).await;
    // `read` returns when the test process exits and the pipe closes.
    let script = format!(
        "'{postgres}' -D '{data}/db' -p {port} -k '{data}' -c listen_addresses=127.0.0.1 \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
         >'{data}/server.log' 2>&1 & pid=$!; read _; kill $pid; wait $pid",
        postgres = bin.join("postgres").display(),
        data = data.display(),
    );
    let mut shell = if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", "sh", "-c", &script]);
        command
    } else {
        let mut command = Command::new("sh");
        command.args(["-c", &script]);
        command
    };
    let child = shell
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start postgres");
    // Keep the pipe open for the life of the process.
    std::mem::forget(child);
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    wait_until_ready(&url, &data).await;
    url
}

async fn wait_until_ready(url: &str, data: &Path) {
    use sqlx::Connection as _;
    for _ in 0..300 {
        if let Ok(connection) = sqlx::PgConnection::connect(url).await {
            let _ = connection.close().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "PostgreSQL did not accept connections within 30 s; its log:\n{}",
        std::fs::read_to_string(data.join("server.log")).unwrap_or_default()
    );
}

/// A PostgreSQL server of one test's own, which the test may stop (as a
/// crash would: no shutdown checkpoint) and start again on the same port
/// and data. Stopped when dropped.
pub struct Stoppable {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    pub url: String,
}

impl Stoppable {
    pub async fn start(name: &str) -> Self {
        let bin = bin_dir();
        let (data, port) = new_cluster(&bin, &format!("{name}-{}", std::process::id())).await;
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        let server = Self {
            bin,
            data,
            port,
            url,
        };
        server.resume().await;
        server
    }

    fn pg_ctl(&self) -> Command {
        let mut command = as_server_user(&self.bin.join("pg_ctl"));
        command.arg("-D").arg(self.data.join("db"));
        command
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub async fn resume(&self) {
        let options = format!(
            "-p {} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.data.display()
        );
        let started = self
            .pg_ctl()
            .arg("-l")
            .arg(self.data.join("server.log"))
            .args(["-o", &options, "-w", "start"])
            .output()
            .await
            .expect("pg_ctl start");
        assert!(
            started.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&started.stderr)
        );
        wait_until_ready(&self.url, &self.data).await;
    }

    /// Stops it at once, every connection cut.
    pub async fn crash(&self) {
        let stopped = self
            .pg_ctl()
            .args(["-m", "immediate", "-w", "stop"])
            .output()
            .await
            .expect("pg_ctl stop");
        assert!(
            stopped.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&stopped.stderr)
        );
    }
}

impl Drop for Stoppable {
    fn drop(&mut self) {
        // Synchronously: a drop cannot await.
        let mut stop = self.pg_ctl();
        stop.args(["-m", "immediate", "stop"]);
        let _ = stop.as_std_mut().output();
    }
}
