//! [`ApprovalStore`] on SQL: a transition is one conditional `UPDATE`,
//! announced in its own transaction to every process that shares the
//! database.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::backend::{Backend, Bind, Statement};
use super::{SqlStore, records, to_ms};
use crate::store::{ApprovalRecord, ApprovalStatus, ApprovalStore, StoreError};

#[async_trait]
impl<B: Backend> ApprovalStore for SqlStore<B> {
    async fn insert_approval(&self, record: &ApprovalRecord) -> Result<(), StoreError> {
        let inserted = self
            .backend
            .execute(
                "INSERT INTO tower_authy_approvals \
                 (uuid, user_id, session_binding, status, created_at, expires_at, processed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (uuid) DO NOTHING",
                &[
                    Bind::Text(&record.uuid),
                    Bind::Text(record.user_id.as_str()),
                    Bind::Text(&record.session_binding),
                    Bind::Text(record.status.as_str()),
                    Bind::Int(to_ms(record.created_at)?),
                    Bind::OptionalInt(record.expires_at.map(to_ms).transpose()?),
                    Bind::OptionalInt(record.processed_at.map(to_ms).transpose()?),
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "approval request {} exists",
                record.uuid
            )));
        }
        Ok(())
    }

    async fn approval(
        &self,
        uuid: &str,
        now: SystemTime,
    ) -> Result<Option<ApprovalRecord>, StoreError> {
        self.read_approval(uuid, now).await
    }

    async fn complete_approval(
        &self,
        uuid: &str,
        to: ApprovalStatus,
        now: SystemTime,
    ) -> Result<ApprovalRecord, StoreError> {
        if to == ApprovalStatus::Pending {
            return Err(StoreError::InvalidInput(
                "an approval request cannot return to pending".into(),
            ));
        }
        let mut statements = vec![Statement::Required(
            "UPDATE tower_authy_approvals SET status = $1, processed_at = $2 \
             WHERE uuid = $3 AND status = 'pending' AND (expires_at IS NULL OR expires_at > $2) \
             RETURNING *",
            vec![
                Bind::Text(to.as_str()),
                Bind::Int(to_ms(now)?),
                Bind::Text(uuid),
            ],
        )];
        statements.extend(self.backend.announce(uuid));
        match self.backend.transaction(&statements).await? {
            Some(rows) => {
                let row = rows
                    .first()
                    .ok_or_else(|| StoreError::Corrupt("the transition returned no row".into()))?;
                let record = records::approval(row)?;
                self.backend.hub().wake(uuid);
                Ok(record)
            }
            None => match self.read_approval(uuid, now).await? {
                None => Err(StoreError::NotFound(format!("approval request {uuid}"))),
                Some(current) => Err(StoreError::Conflict(format!(
                    "approval request {uuid} is already {}",
                    current.status
                ))),
            },
        }
    }

    async fn wait_for_approval(
        &self,
        uuid: &str,
        timeout: Duration,
    ) -> Result<Option<ApprovalRecord>, StoreError> {
        self.backend
            .hub()
            .wait_for(uuid, timeout, self.backend.recheck(), || {
                self.read_approval(uuid, SystemTime::now())
            })
            .await
    }
}
