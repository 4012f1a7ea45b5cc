//! Serves the Authy simulator alone, so that any Authy client can be pointed
//! at it.
//!
//! ```text
//! cargo run --example simulator --features simulator
//! ```
//!
//! Environment: `PORT` (default 4000), `AUTHY_API_KEY` (default: a random key,
//! printed), `AUTHY_CALLBACK_URL` (OneTouch callbacks; none when unset) and
//! `AUTHY_CALLBACK_METHOD` (`POST`, the default, or `GET`).

use std::net::SocketAddr;

use tower_authy::simulator::{CallbackMethod, Simulator};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Codes sent and callbacks delivered are logged at `info`; RUST_LOG overrides.
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
        Err(_) => 4000,
    };
    let method = match std::env::var("AUTHY_CALLBACK_METHOD")
        .unwrap_or_default()
        .to_ascii_uppercase()
        .as_str()
    {
        "" | "POST" => CallbackMethod::Post,
        "GET" => CallbackMethod::Get,
        other => return Err(format!("AUTHY_CALLBACK_METHOD={other}: use POST or GET").into()),
    };

    let mut builder = Simulator::builder();
    let key_given = match std::env::var("AUTHY_API_KEY") {
        Ok(key) if !key.is_empty() => {
            builder = builder.with_api_key(key);
            true
        }
        _ => false,
    };
    let callback = std::env::var("AUTHY_CALLBACK_URL")
        .ok()
        .filter(|url| !url.is_empty());
    if let Some(url) = &callback {
        builder = builder.with_callback(url.clone(), method);
    }
    let sim = builder.build();

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("Authy simulator on http://{addr} (API root for clients)");
    if key_given {
        println!("API key: from AUTHY_API_KEY");
    } else {
        // A random key is useless unless the developer can read it.
        println!("API key: {}", sim.api_key().expose_for_display());
    }
    match &callback {
        Some(url) => println!("OneTouch callbacks: {} {url}", method.as_str()),
        None => println!("OneTouch callbacks: none (set AUTHY_CALLBACK_URL)"),
    }
    println!("Virtual phone: http://{addr}/phone");
    axum::serve(listener, sim.router()).await?;
    Ok(())
}
