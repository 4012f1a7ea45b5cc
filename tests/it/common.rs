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
