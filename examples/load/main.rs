//! Load against a running application, with its baselines in the same run.
//!
//! ```text
//! scripts/bench                      # both modes, as the README reports them
//! cargo run --release --example load -- throughput [SECONDS]
//! cargo run --release --example load -- waiters [COUNT]
//! ```
//!
//! The application runs in a child process (`load serve …`, one worker
//! thread) and the load comes from this one (one worker thread), so each
//! has a core of a 2-core machine and the child's memory is the server's.
//!
//! - `throughput`: requests per second of the bare route (its handler reads
//!   the user from the session), the same route behind `RequireSecondFactor`
//!   with a session that passed both factors, and axum-login's
//!   `login_required!` route with a signed-in session; runs alternate, three
//!   rounds, medians; prints the two ratios to the bare route.
//! - `waiters`: COUNT users (default 10 000) each waiting on a OneTouch
//!   approval, half by long-poll and half by Server-Sent Events, all
//!   approved on the simulator (which runs here, as the provider would run
//!   elsewhere): prints approval → notified p50/p99/max, that every waiter
//!   was notified, and the server's memory per waiting challenge.

mod http1;
mod server;
mod throughput;
mod waiters;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The API key the simulator and the application share.
const API_KEY: &str = "load-test-api-key-0123456789";

fn main() {
    pin_to_first_core();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => server::serve(&args[1], API_KEY),
        Some("throughput") | None => {
            let seconds = args.get(1).map_or(3, |s| s.parse().expect("SECONDS"));
            throughput::run(seconds);
        }
        Some("waiters") => {
            let count = args.get(1).map_or(10_000, |s| s.parse().expect("COUNT"));
            waiters::run(count);
        }
        Some(other) => {
            eprintln!("unknown mode {other}: throughput [SECONDS] | waiters [COUNT]");
            std::process::exit(2);
        }
    }
}

/// The generator on core 0 (the server takes core 1), when `taskset` is
/// there: re-runs this program under it once.
fn pin_to_first_core() {
    if std::env::var_os("LOAD_PINNED").is_some()
        || std::env::args().nth(1).as_deref() == Some("serve")
    {
        return;
    }
    let Ok(program) = std::env::current_exe() else {
        return;
    };
    let status = Command::new("taskset")
        .args(["-c", "0"])
        .arg(program)
        .args(std::env::args_os().skip(1))
        .env("LOAD_PINNED", "1")
        .status();
    if let Ok(status) = status {
        std::process::exit(status.code().unwrap_or(1));
    }
}

/// The application in its own process, told where the provider is.
#[derive(Debug)]
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub addr: std::net::SocketAddr,
}

impl Served {
    pub fn start(simulator: &str) -> Self {
        let program = std::env::current_exe().expect("this program");
        // On its own core when `taskset` is there (the generator pins itself
        // to the other): two processes that migrate between two cores make
        // every figure noisier.
        let pinned = Command::new("taskset").arg("-V").output().is_ok();
        let mut command = if pinned {
            let mut command = Command::new("taskset");
            command.args(["-c", "1"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let mut child = command
            .args(["serve", simulator])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the server's address");
        let base = line
            .trim()
            .strip_prefix("listening ")
            .expect("`listening BASE`")
            .to_owned();
        let addr = base
            .trim_start_matches("http://")
            .parse()
            .expect("an address");
        Self { child, base, addr }
    }

    /// The server's resident memory, in KiB (Linux).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
