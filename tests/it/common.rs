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
