//! Rows into records: every stored name and time is checked, and anything
//! that does not read back is `Corrupt`, never a guess.

use super::backend::SqlRow;
use super::{count, from_ms};
use crate::store::{
    ApprovalRecord, ApprovalStatus, AttemptState, Factor, FactorId, FactorKind, FactorState,
    StoreError, UserId,
};

pub(super) fn factor(row: &impl SqlRow) -> Result<Factor, StoreError> {
    let kind = row.text("kind")?;
    let state = row.text("state")?;
    Ok(Factor {
        id: FactorId::new(row.text("id")?),
        user_id: UserId::new(row.text("user_id")?),
        kind: kind
            .parse::<FactorKind>()
            .map_err(|_| StoreError::Corrupt(format!("unknown factor kind {kind:?}")))?,
        label: row.text("label")?,
        state: state
            .parse::<FactorState>()
            .map_err(|_| StoreError::Corrupt(format!("unknown factor state {state:?}")))?,
        created_at: from_ms(row.int("created_at")?)?,
        last_used_at: row.optional_int("last_used_at")?.map(from_ms).transpose()?,
        provider_ref: row.text("provider_ref")?,
        identity: row.optional_text("identity")?,
        hint: row.optional_text("hint")?,
        secret: row.optional_text("secret")?,
        last_step: row
            .optional_int("last_step")?
            .map(|step| {
                u64::try_from(step)
                    .map_err(|_| StoreError::Corrupt(format!("negative time step {step}")))
            })
            .transpose()?,
    })
}

pub(super) fn approval(row: &impl SqlRow) -> Result<ApprovalRecord, StoreError> {
    let status = row.text("status")?;
    let optional = |column: &str| row.optional_int(column)?.map(from_ms).transpose();
    Ok(ApprovalRecord {
        uuid: row.text("uuid")?,
        user_id: UserId::new(row.text("user_id")?),
        session_binding: row.text("session_binding")?,
        status: status
            .parse::<ApprovalStatus>()
            .map_err(|_| StoreError::Corrupt(format!("unknown approval status {status:?}")))?,
        created_at: from_ms(row.int("created_at")?)?,
        expires_at: optional("expires_at")?,
        processed_at: optional("processed_at")?,
    })
}

/// A counter as it reads at `now` (milliseconds): a lapsed window counts
/// nothing, a lapsed lockout is none.
pub(super) fn attempts(row: Option<&impl SqlRow>, now: i64) -> Result<AttemptState, StoreError> {
    let Some(row) = row else {
        return Ok(AttemptState::new(0, None));
    };
    let failures = row.int("failures")?;
    let window_ends = row.int("window_ends")?;
    let locked_until = row.optional_int("locked_until")?;
    Ok(AttemptState::new(
        if now < window_ends {
            count(failures, "failure count")?
        } else {
            0
        },
        locked_until
            .filter(|until| now < *until)
            .map(from_ms)
            .transpose()?,
    ))
}
