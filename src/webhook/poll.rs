//! The polling path, for applications that turn status callbacks off: ask
//! Authy for a request's status and record a final one through the same
//! store transition a callback uses.

use std::time::SystemTime;

use crate::method::{Method, ProviderError};
use crate::store::{ApprovalRecord, AuthyStore, StoreError, holds};

/// Why a status could not be refreshed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// The store has no such request.
    #[error("unknown approval request")]
    UnknownRequest,
    /// The provider's answer names another user than the request's (or
    /// the user has no factor of the provider's kind any more).
    #[error("the provider reports the request for another user")]
    UserMismatch,
    /// The provider could not be asked; the recorded status is unchanged.
    #[error("the provider could not be asked for the status")]
    Provider(#[from] ProviderError),
    /// The store failed; nothing was recorded.
    #[error("the store failed")]
    Store(#[from] StoreError),
}

/// Refreshes one approval request from the method that pushed it (the
/// Authy API, for [`authy::Client`](crate::authy::Client)) and returns it as it now
/// stands. A request already final is returned without asking Authy; a final
/// status from Authy is recorded exactly once (if a callback recorded it in
/// the meantime, that status stands).
pub async fn poll_approval(
    provider: &dyn Method,
    store: &dyn AuthyStore,
    uuid: &str,
    now: SystemTime,
) -> Result<ApprovalRecord, PollError> {
    let record = store
        .approval(uuid, now)
        .await?
        .ok_or(PollError::UnknownRequest)?;
    if record.status.is_final() {
        return Ok(record);
    }
    let kind = provider.kind();
    let factors = store.factors(&record.user_id).await?;
    // The user no longer has a factor this provider pushes to: nothing it
    // says can pass them.
    let factor = factors
        .iter()
        .find(|factor| factor.kind == kind)
        .ok_or(PollError::UserMismatch)?;
    let remote = provider.push_state(factor, uuid).await?;
    let same_user = remote
        .provider_user_id
        .is_some_and(|id| holds(&factors, kind, &id));
    if !same_user {
        return Err(PollError::UserMismatch);
    }
    if !remote.status.is_final() {
        return Ok(record);
    }
    let status = remote.status;
    match store.complete_approval(uuid, status, now).await {
        Ok(record) => Ok(record),
        Err(StoreError::Conflict(_)) => store
            .approval(uuid, now)
            .await?
            .ok_or(PollError::UnknownRequest),
        Err(other) => Err(other.into()),
    }
}
