//! Serves the Twilio Verify simulator alone, so that any Verify client
//! (Twilio's own libraries included) can be pointed at it.
//!
//! ```text
//! cargo run --example verify_simulator --features simulator
//! ```
//!
//! Environment: `PORT` (default 4001), `TWILIO_ACCOUNT_SID` (default
//! `AC000…0`), `TWILIO_AUTH_TOKEN` (default: random, printed) and
//! `VERIFY_WEBHOOK_URL` (where push and factor events go; none when unset).
//! One service, "Verify Simulator", is made at start and printed.

use std::net::SocketAddr;

use tower_authy::simulator::{DEFAULT_ACCOUNT_SID, VerifySimulator};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Codes sent and webhooks delivered are logged at `info`; RUST_LOG overrides.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tower_authy=info".into()),
        )
        .init();
    let port: u16 = match std::env::var("PORT") {
        Ok(text) => text
            .parse()
            .map_err(|_| format!("PORT={text} is not a port number"))?,
        Err(_) => 4001,
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let account = env("TWILIO_ACCOUNT_SID").unwrap_or_else(|| DEFAULT_ACCOUNT_SID.to_owned());
    let token_given = env("TWILIO_AUTH_TOKEN");
    let token = token_given.clone().unwrap_or_else(random_token);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut builder = VerifySimulator::builder()
        .with_account(&account, token.as_str())
        .with_service("Verify Simulator")
        .with_base_url(format!("http://{addr}"));
    if let Some(url) = env("VERIFY_WEBHOOK_URL") {
        builder = builder.with_webhook_url(url);
    }
    let sim = builder.build();

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("Verify simulator on http://{addr} (API root for clients)");
    println!("Account SID: {account}");
    match token_given {
        Some(_) => println!("Auth token: from TWILIO_AUTH_TOKEN"),
        None => println!("Auth token (random, set TWILIO_AUTH_TOKEN to choose): {token}"),
    }
    println!("Service SID: {}", sim.service_sids()[0]);
    println!("Virtual phone API: http://{addr}/phone/api/verify/");
    axum::serve(listener, sim.router()).await?;
    Ok(())
}

fn random_token() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16usize)]))
        .collect()
}
