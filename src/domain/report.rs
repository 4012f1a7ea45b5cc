//! A provider's report of a push outcome (an Authy OneTouch callback, a
//! Twilio Verify challenge event): recorded exactly once, replays refused.
//! Each webhook checks its own signature and user first; what happens to
//! the request after that is the same for every provider.

use std::time::SystemTime;

use crate::store::{ApprovalRecord, ApprovalStatus, AuthyStore, NonceInsert, StoreError};

/// One checked report about `record`.
#[derive(Debug)]
pub(crate) struct Report<'a> {
    /// The status the provider reports.
    pub(crate) status: ApprovalStatus,
    /// What identifies this delivery (a nonce and signature, an event id):
    /// seen once, remembered until `remember_until`.
    pub(crate) replay_key: &'a str,
    pub(crate) remember_until: SystemTime,
}

/// What a report did.
#[derive(Debug)]
pub(crate) enum Reported {
    /// The request moved to the reported status.
    Recorded(ApprovalRecord),
    /// The request was already in the reported status; nothing changed.
    Duplicate(ApprovalRecord),
}

/// Why a report changed nothing.
#[derive(Debug)]
pub(crate) enum NotRecorded {
    /// The request is gone (expired meanwhile).
    UnknownRequest,
    /// The delivery was seen before, reporting something else.
    Replay,
    /// The request is already final with another status.
    AlreadyFinal(&'static str),
    /// The store failed; nothing was recorded.
    Store(StoreError),
}

impl From<StoreError> for NotRecorded {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// Records `report` about `record` (the request as read before the
/// report's checks).
pub(crate) async fn record(
    store: &dyn AuthyStore,
    record: ApprovalRecord,
    report: Report<'_>,
    now: SystemTime,
) -> Result<Reported, NotRecorded> {
    let seen = store
        .insert_nonce(report.replay_key, report.remember_until, now)
        .await?;
    if seen == NonceInsert::Seen {
        // Seen before: an exact duplicate is harmless; a request still
        // pending means the earlier delivery failed before recording, so
        // this one may complete it; anything else is a replay.
        if record.status == report.status {
            return Ok(Reported::Duplicate(record));
        }
        if record.status.is_final() {
            return Err(NotRecorded::Replay);
        }
    }
    match store
        .complete_approval(&record.uuid, report.status, now)
        .await
    {
        Ok(record) => Ok(Reported::Recorded(record)),
        Err(StoreError::Conflict(_)) => {
            let current = store
                .approval(&record.uuid, now)
                .await?
                .ok_or(NotRecorded::UnknownRequest)?;
            if current.status == report.status {
                Ok(Reported::Duplicate(current))
            } else {
                Err(NotRecorded::AlreadyFinal(current.status.as_str()))
            }
        }
        Err(other) => Err(other.into()),
    }
}
