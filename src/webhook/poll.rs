//! The polling path, for applications that turn status callbacks off: ask
//! Authy for a request's status and record a final one through the same
//! store transition a callback uses.

use std::time::SystemTime;

use crate::authy::{self, ApprovalUuid, AuthyError, Client};
use crate::store::{ApprovalRecord, ApprovalStatus, AuthyStore, StoreError};

/// Why a status could not be refreshed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// The store has no such request.
    #[error("unknown approval request")]
    UnknownRequest,
    /// Authy's answer names another user than the request's.
    #[error("Authy reports the request for another user")]
    UserMismatch,
    /// Authy could not be asked; the recorded status is unchanged.
    #[error("Authy could not be asked for the status")]
    Authy(#[from] AuthyError),
    /// The store failed; nothing was recorded.
    #[error("the store failed")]
    Store(#[from] StoreError),
}

/// Refreshes one approval request from the Authy API and returns it as it now
/// stands. A request already final is returned without asking Authy; a final
/// status from Authy is recorded exactly once (if a callback recorded it in
/// the meantime, that status stands).
pub async fn poll_approval(
    client: &Client,
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
    let parsed = ApprovalUuid::parse(uuid).map_err(AuthyError::from)?;
    let remote = client.onetouch().get(&parsed).await?;
    let enrolled = store.enrollment(&record.user_id).await?;
    let same_user = match (remote.authy_id, enrolled) {
        (Some(id), Some(enrollment)) => id.to_string() == enrollment.provider_user_id,
        _ => false,
    };
    if !same_user {
        return Err(PollError::UserMismatch);
    }
    let status = match remote.status {
        authy::ApprovalStatus::Approved => ApprovalStatus::Approved,
        authy::ApprovalStatus::Denied => ApprovalStatus::Denied,
        authy::ApprovalStatus::Expired => ApprovalStatus::Expired,
        _ => return Ok(record),
    };
    match store.complete_approval(uuid, status, now).await {
        Ok(record) => Ok(record),
        Err(StoreError::Conflict(_)) => store
            .approval(uuid, now)
            .await?
            .ok_or(PollError::UnknownRequest),
        Err(other) => Err(other.into()),
    }
}
