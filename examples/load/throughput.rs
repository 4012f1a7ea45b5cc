//! Requests per second of the bare route, the route behind the layer and
//! axum-login's protected route, measured alternately in one run.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::Served;
use crate::http1::{self, Connection};

/// Concurrent keep-alive connections.
const CONNECTIONS: usize = 32;
/// How long each route is loaded before the next one's turn.
const SLICE: Duration = Duration::from_millis(250);

pub fn run(seconds: u64) {
    // The provider is never called: no challenge is started.
    let served = Served::start("http://127.0.0.1:9/unused");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let addr = served.addr;
        let ours = passed_session(addr).await;
        let theirs = axum_login_session(addr).await;
        let routes = [
            ("bare", "/bare", ours.clone()),
            ("protected", "/protected", ours),
            ("axum-login", "/axum-login/protected", theirs),
        ];
        for (name, path, cookie) in &routes {
            let answer = http1::once(addr, &get(path, cookie)).await;
            assert_eq!(answer.status, 200, "{name} is served");
            assert_eq!(answer.body, b"alice", "{name} knows the user");
        }
        // Short slices, round robin: the machine's drift (other tenants, a
        // clock that moves) falls on the three routes alike.
        let mut pools = Vec::new();
        for (_, path, cookie) in &routes {
            pools.push(Pool::open(addr, get(path, cookie)).await);
        }
        pools[0].run(Duration::from_secs(1)).await; // warm-up
        for pool in &mut pools {
            pool.reset();
        }
        let slices = (seconds * 1000 / SLICE.as_millis() as u64).max(1);
        for slice in 0..slices as usize {
            for offset in 0..pools.len() {
                pools[(slice + offset) % 3].run(SLICE).await;
            }
        }
        println!(
            "throughput: {CONNECTIONS} keep-alive connections per route, {slices} slices of {} ms each, round robin",
            SLICE.as_millis()
        );
        let rates: Vec<f64> = pools.iter().map(Pool::rate).collect();
        for ((name, path, _), rate) in routes.iter().zip(&rates) {
            println!("  {name:<11} {path:<22} {rate:>7.0} req/s");
        }
        println!(
            "  ratio protected/bare  = {:.3}\n  ratio axum-login/bare = {:.3}",
            rates[1] / rates[0],
            rates[2] / rates[0]
        );
    });
}

fn get(path: &str, cookie: &str) -> Vec<u8> {
    http1::request(
        "GET",
        path,
        &[("cookie", cookie), ("accept", "text/html")],
        "",
    )
}

/// Signs in and passes the challenge (opt-in, no factor: "not required").
async fn passed_session(addr: SocketAddr) -> String {
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let login = http1::once(
        addr,
        &http1::request("POST", "/login", &form, "username=alice"),
    )
    .await;
    let cookie = login.cookie().expect("a session");
    let challenge = http1::once(
        addr,
        &http1::request(
            "GET",
            "/2fa",
            &[("cookie", &cookie), ("accept", "text/html")],
            "",
        ),
    )
    .await;
    assert_eq!(challenge.status, 303, "passed");
    challenge.cookie().expect("the pass cycles the session id")
}

async fn axum_login_session(addr: SocketAddr) -> String {
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let login = http1::once(
        addr,
        &http1::request("POST", "/axum-login/login", &form, "username=alice"),
    )
    .await;
    login.cookie().expect("a session")
}

/// One route's connections, and what they served.
struct Pool {
    connections: Vec<Connection>,
    request: Arc<[u8]>,
    served: u64,
    busy: Duration,
}

impl Pool {
    async fn open(addr: SocketAddr, request: Vec<u8>) -> Self {
        let mut connections = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            connections.push(Connection::open(addr).await.expect("connect"));
        }
        Self {
            connections,
            request: request.into(),
            served: 0,
            busy: Duration::ZERO,
        }
    }

    fn reset(&mut self) {
        self.served = 0;
        self.busy = Duration::ZERO;
    }

    /// Loads the route for `slice` from every connection at once.
    async fn run(&mut self, slice: Duration) {
        let done = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(CONNECTIONS);
        for mut connection in self.connections.drain(..) {
            let (done, stop, request) = (done.clone(), stop.clone(), self.request.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let answer = connection.send(&request).await.expect("an answer");
                    assert_eq!(answer.status, 200);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                connection
            }));
        }
        tokio::time::sleep(slice).await;
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            self.connections.push(task.await.expect("a connection"));
        }
        // Counted to the last answer, over the time they took.
        self.busy += started.elapsed();
        self.served += done.load(Ordering::Relaxed);
    }

    fn rate(&self) -> f64 {
        self.served as f64 / self.busy.as_secs_f64()
    }
}
