//! A sign-out that stays signed out: the session's sign-in nonce is recorded
//! as signed out in the store, and a request still in flight that loaded
//! the session before (a long-poll, a slow code check) finds it there and
//! writes nothing, so it cannot save the session back.

use std::time::{Duration, SystemTime};

use super::{Refusal, Rules};
use crate::store::{NonceStore, StoreError};

/// How long a sign-out is remembered: far longer than any request stays in
/// flight (a long-poll waits 25 s at most).
const REMEMBERED: Duration = Duration::from_secs(24 * 60 * 60);

fn key(nonce: &str) -> String {
    format!("signed-out:{nonce}")
}

impl Rules {
    /// Records that the session signed in with `nonce` signed out at `now`.
    pub(crate) async fn signed_out(&self, nonce: &str, now: SystemTime) -> Result<(), Refusal> {
        if nonce.is_empty() {
            return Ok(());
        }
        self.store
            .insert_nonce(&key(nonce), now + REMEMBERED, now)
            .await?;
        Ok(())
    }

    /// Whether the session signed in with `nonce` has signed out since.
    pub(crate) async fn is_signed_out(
        &self,
        nonce: &str,
        now: SystemTime,
    ) -> Result<bool, Refusal> {
        Ok(is_signed_out(&*self.store, nonce, now).await?)
    }
}

/// Whether the session signed in with `nonce` has signed out since: then
/// nothing may write it. Sessions from before nonces (`""`) cannot tell.
/// (The layer asks with its store alone.)
pub(crate) async fn is_signed_out(
    store: &dyn NonceStore,
    nonce: &str,
    now: SystemTime,
) -> Result<bool, StoreError> {
    if nonce.is_empty() {
        return Ok(false);
    }
    store.nonce_seen(&key(nonce), now).await
}
