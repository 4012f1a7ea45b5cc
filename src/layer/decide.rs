//! The decision on a request that is not exempt, from its session alone:
//! pass, or answer (how is `answer.rs`'s to say).

use std::time::SystemTime;

use tower_sessions::Session;

use super::Config;
use super::verified::Verified;
use crate::code::Code;
use crate::domain::{is_signed_out, is_stale, pass_stands};
use crate::session::{self, from_unix};
use crate::store::UserId;

/// What the session says about the request.
pub(super) enum Verdict {
    /// Both factors passed: let it through, saying who.
    Pass(Verified),
    /// The first factor only: the requirement hook, if any, decides (it
    /// needs the request, which the future holds).
    Pending(UserId),
    /// Sign in (again).
    Login,
    /// Pass the second factor (again).
    SecondFactor,
    /// The session or the store failed: refuse.
    Failure(Code),
}

pub(super) async fn check(config: &Config, session: &Session) -> Verdict {
    // Only where the session stands: the rest of its state is read when a
    // pass must be taken back.
    let state = match session::load_standing(session).await {
        Ok(Some(state)) => state,
        Ok(None) => return Verdict::Login,
        Err(error) => {
            tracing::warn!(%error, "tower-authy: session unreadable; refusing");
            return Verdict::Failure(Code::SessionUnavailable);
        }
    };
    if let Some(passed) = state.passed {
        // The one store read of a passed session: a pass from before the
        // user's last security change (a factor removed elsewhere) is void.
        let current = match &config.store {
            Some(store) => store.device_generation(&state.user_id).await,
            None => Ok(passed.generation),
        };
        return match current {
            Ok(current) if pass_stands(passed.generation, current) => Verdict::Pass(Verified {
                user_id: state.user_id,
                method: passed.method,
                at: from_unix(passed.at),
            }),
            Ok(_) => void_pass(config, session).await,
            Err(error) => {
                tracing::warn!(%error, "tower-authy: store unavailable; refusing");
                Verdict::Failure(Code::StorageUnavailable)
            }
        };
    }
    if is_stale(
        from_unix(state.first_factor_at),
        SystemTime::now(),
        config.pending_ttl,
    ) {
        // Too long between the factors: start again from the password.
        if let Err(error) = session::clear(session).await {
            tracing::warn!(%error, "tower-authy: could not clear an expired pending session");
        }
        return Verdict::Login;
    }
    Verdict::Pending(state.user_id)
}

/// A pass made before the user's last security change: taken back, so the
/// session must pass again.
async fn void_pass(config: &Config, session: &Session) -> Verdict {
    let now = SystemTime::now();
    let mut state = match session::load(session).await {
        Ok(Some(state)) => state,
        Ok(None) => return Verdict::Login,
        Err(error) => {
            tracing::warn!(%error, "tower-authy: session unreadable; refusing");
            return Verdict::Failure(Code::SessionUnavailable);
        }
    };
    // Writing a session signed out meanwhile would save it back.
    if let Some(store) = config.store.as_deref() {
        match is_signed_out(store, &state.nonce, now).await {
            Ok(false) => {}
            Ok(true) => return Verdict::Login,
            Err(error) => {
                tracing::warn!(%error, "tower-authy: store unavailable; refusing");
                return Verdict::Failure(Code::StorageUnavailable);
            }
        }
    }
    if let Err(error) = session::demote(session, &mut state, now).await {
        tracing::warn!(%error, "tower-authy: could not take back a voided pass");
        return Verdict::Failure(Code::SessionUnavailable);
    }
    tracing::info!(user = %state.user_id, "tower-authy: a pass made before a security change must be made again");
    Verdict::SecondFactor
}
