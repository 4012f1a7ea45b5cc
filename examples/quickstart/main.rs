//! The quickstart: a small, complete application with two-factor sign-in.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! Without `AUTHY_API_KEY`, the crate's Authy simulator runs in-process under
//! `/simulator`, with its virtual phone at `/simulator/phone`: register, then
//! approve the push or read the code there. With `TWO_FACTOR_PROVIDER=verify`
//! and no `TWILIO_*`, the crate's Twilio Verify simulator does the same;
//! with them, the app talks to Twilio Verify. With `TWO_FACTOR_PROVIDER=local`
//! there is no vendor and no simulator: register, then add an authenticator
//! app at `/settings`. Environment (all optional):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `HOST`, `PORT` | `127.0.0.1`, `3000` | where to listen |
//! | `TWO_FACTOR_PROVIDER` | `authy` | `authy` (the API, or the simulator without a key), `verify` (Twilio Verify, or its simulator without `TWILIO_*`), or `local`: authenticator apps and backup codes only |
//! | `SECRET_KEY` | random, printed (required with `DATABASE_URL`) | 32+ bytes: seals authenticator-app seeds, hashes backup codes, signs remembered devices |
//! | `PUBLIC_URL` | `http://HOST:PORT` | the external base URL (callbacks are signed for it) |
//! | `AUTHY_API_KEY` | unset: simulator | a real Authy application's key |
//! | `AUTHY_API_URL` | `https://api.authy.com` | the API root, without `/protected/json` |
//! | `AUTHY_SIMULATOR_KEY` | random, printed | the simulator's key |
//! | `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`, `TWILIO_VERIFY_SERVICE_SID` | unset: Verify simulator | a Twilio account and its Verify service (all three, or none) |
//! | `TWILIO_API_URL` | `https://verify.twilio.com` | the Verify API root, without `/v2` |
//! | `DATABASE_URL` | unset: memory | `sqlite:…` or `postgres:…` for the 2FA store |
//! | `REMEMBER_DEVICE_KEY` | `SECRET_KEY` | 32+ bytes signing remember-device cookies |
//!
//! The application's own users (name, password hash, e-mail) are kept in
//! memory to keep the example short; what the second factor needs lives in
//! the 2FA store and survives a restart with `DATABASE_URL`. The app itself
//! is in `app.rs`; this file reads the environment and serves it.

mod accounts;
mod app;
mod limits;
mod pages;

use std::net::SocketAddr;
use std::sync::Arc;

use tower_authy::ApiKey;
use tower_authy::store::{MemoryStore, PostgresStore, SharedStore, SqliteStore};

use app::{Config, Provider};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(env("RUST_LOG").unwrap_or_else(|| "info,tower_authy=info".into()))
        .init();
    let host = env("HOST").unwrap_or_else(|| "127.0.0.1".into());
    let port: u16 = env("PORT").map_or(Ok(3000), |p| p.parse())?;
    let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
    let addr: SocketAddr = listener.local_addr()?;
    let public_url = env("PUBLIC_URL")
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_owned();
    let provider_name = env("TWO_FACTOR_PROVIDER").unwrap_or_else(|| "authy".into());
    let twilio = (
        env("TWILIO_ACCOUNT_SID"),
        env("TWILIO_AUTH_TOKEN"),
        env("TWILIO_VERIFY_SERVICE_SID"),
    );
    let (key, provider) = match (provider_name.as_str(), env("AUTHY_API_KEY")) {
        ("local", _) => (ApiKey::random(), Provider::Local),
        ("verify", _) => match twilio {
            (Some(account_sid), Some(auth_token), Some(service_sid)) => (
                ApiKey::random(),
                Provider::VerifyApi {
                    url: env("TWILIO_API_URL")
                        .unwrap_or_else(|| "https://verify.twilio.com".into()),
                    account_sid,
                    auth_token,
                    service_sid,
                },
            ),
            (None, None, None) => (ApiKey::random(), Provider::VerifySimulator),
            _ => {
                return Err("with TWO_FACTOR_PROVIDER=verify, set all of TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_VERIFY_SERVICE_SID, or none (the simulator)".into());
            }
        },
        ("authy", Some(key)) => {
            let url = env("AUTHY_API_URL").unwrap_or_else(|| "https://api.authy.com".into());
            (ApiKey::new(key), Provider::AuthyApi { url })
        }
        ("authy", None) => (
            env("AUTHY_SIMULATOR_KEY").map_or_else(ApiKey::random, ApiKey::new),
            Provider::AuthySimulator,
        ),
        (other, _) => {
            return Err(format!(
                "TWO_FACTOR_PROVIDER={other} is not supported: use authy, verify or local"
            )
            .into());
        }
    };
    let simulated = matches!(provider, Provider::AuthySimulator);
    let verify_simulated = matches!(provider, Provider::VerifySimulator);
    let verify_api = matches!(provider, Provider::VerifyApi { .. });
    let local = matches!(provider, Provider::Local);
    // A key for this run only is fine while nothing outlives the run; with
    // a database, the sealed seeds would not open after a restart.
    let (secret_key, printed) = match (env("SECRET_KEY"), env("DATABASE_URL")) {
        (Some(key), _) => (key, false),
        (None, None) => (random_key(), true),
        (None, Some(_)) => {
            return Err("with DATABASE_URL, set SECRET_KEY (32+ random bytes) and keep it".into());
        }
    };
    let router = app::app(Config {
        public_url: public_url.clone(),
        port: addr.port(),
        key: key.clone(),
        provider,
        store: open_store().await?,
        remember_key: ApiKey::new(env("REMEMBER_DEVICE_KEY").unwrap_or_else(|| secret_key.clone())),
        secret_key: secret_key.clone(),
    })?;

    println!("tower-authy quickstart on {public_url}");
    println!("  register:      {public_url}/register");
    println!("  sign in:       {public_url}/login");
    println!("  settings:      {public_url}/settings");
    let passkeys_at = app::passkey_url(&public_url);
    if passkeys_at != public_url {
        println!(
            "  passkeys:      {passkeys_at}/settings (browsers allow passkeys on a name, not an IP address)"
        );
    }
    if simulated {
        println!("  virtual phone: {public_url}/simulator/phone");
        println!("  (Authy simulator, key {})", key.expose_for_display());
    } else if verify_simulated {
        println!("  virtual phone: {public_url}/simulator/phone");
        println!(
            "  (Twilio Verify simulator, auth token {})",
            key.expose_for_display()
        );
    } else if verify_api {
        println!("  Twilio Verify: webhooks expected at {public_url}/2fa/verify/callback");
    } else if local {
        println!("  (local: authenticator apps and backup codes, no vendor)");
    } else {
        println!("  Authy API:     callbacks expected at {public_url}/2fa/callback");
    }
    if printed {
        // Random for this run, with an in-memory store that dies with it:
        // shown so the run can be repeated with the same key.
        println!("  SECRET_KEY={secret_key} (random, for this in-memory run)");
    }
    // With connect info, so pushes show the requester's address.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).await?;
    Ok(())
}

/// 32 random bytes, hex: a secret key for one run.
fn random_key() -> String {
    use std::fmt::Write as _;
    let bytes: [u8; 32] = rand::random();
    bytes.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

async fn open_store() -> Result<SharedStore, Box<dyn std::error::Error>> {
    Ok(match env("DATABASE_URL") {
        None => Arc::new(MemoryStore::new()),
        Some(url) if url.starts_with("sqlite:") => {
            let store = SqliteStore::connect(&url).await?;
            store.migrate().await?;
            Arc::new(store)
        }
        Some(url) if url.starts_with("postgres") => {
            let store = PostgresStore::connect(&url).await?;
            store.migrate().await?;
            Arc::new(store)
        }
        Some(_) => return Err("DATABASE_URL must start with sqlite: or postgres:".into()),
    })
}
