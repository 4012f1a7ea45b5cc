//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;

use tokio::net::TcpListener;

/// Serves `router` on a fresh loopback port (port 0, never a fixed one) for
/// the rest of the test, and returns its address.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("test server");
    });
    addr
}

/// The secret key the authenticator-app tests build with.
pub const SECRET_KEY: &str = "an application secret key of 32+ bytes";

/// What an authenticator app shows for `secret_base32` at `unix_secs`:
/// RFC 6238, SHA-1, 6 digits, 30 s (computed here, not by the crate).
pub fn app_code(secret_base32: &str, unix_secs: u64) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let seed = data_encoding::BASE32_NOPAD
        .decode(secret_base32.as_bytes())
        .expect("base32");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&seed).unwrap();
    mac.update(&(unix_secs / 30).to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let at = usize::from(hash[19] & 0x0f);
    let value = u32::from_be_bytes([hash[at] & 0x7f, hash[at + 1], hash[at + 2], hash[at + 3]]);
    format!("{:06}", value % 1_000_000)
}

/// Now, in Unix seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The interpreter of a throwaway Python virtual environment under Cargo's
/// target directory with `package` installed, made on first use (once per
/// machine). A process-wide lock keeps concurrent tests from building one
/// twice.
pub async fn python_venv(name: &str, package: &str) -> std::path::PathBuf {
    use tokio::process::Command;
    static VENVS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = VENVS.lock().await;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = dir.join("bin").join("python");
    // Written last: a venv whose install broke off is made again.
    let installed = dir.join(".installed");
    if !installed.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        run(Command::new("python3").arg("-m").arg("venv").arg(&dir)).await;
        run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            package,
        ]))
        .await;
        std::fs::write(&installed, package).expect("mark the venv installed");
    }
    python
}

/// Runs `command` to its end and returns its output; panics with both
/// streams when it fails.
pub async fn run(command: &mut tokio::process::Command) -> String {
    let output = command.output().await.unwrap_or_else(|e| {
        panic!("cannot start {command:?}: {e} (python3 with venv and pip is needed)")
    });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
