//! [`EnrollmentStore`] and [`AdminStore`] on SQL: one row per user.

use std::time::SystemTime;

use async_trait::async_trait;

use super::backend::{Backend, Bind};
use super::{SqlStore, records, to_ms};
use crate::store::{AdminStore, Enrollment, EnrollmentState, EnrollmentStore, StoreError, UserId};

#[async_trait]
impl<B: Backend> EnrollmentStore for SqlStore<B> {
    async fn enrollment(&self, user: &UserId) -> Result<Option<Enrollment>, StoreError> {
        let row = self
            .backend
            .fetch_optional(
                "SELECT * FROM tower_authy_enrollments WHERE user_id = $1",
                &[Bind::Text(user.as_str())],
            )
            .await?;
        row.as_ref().map(records::enrollment).transpose()
    }

    async fn replace_enrollment(
        &self,
        expected: Option<&Enrollment>,
        enrollment: &Enrollment,
    ) -> Result<(), StoreError> {
        // $1–$6 the new record, $7–$8 the expected one.
        let mut binds = new_record(enrollment)?;
        let sql = match expected {
            None => {
                "INSERT INTO tower_authy_enrollments \
                 (user_id, provider_user_id, state, masked_phone, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO NOTHING"
            }
            Some(expected) => {
                binds.push(Bind::Text(expected.state.as_str()));
                binds.push(Bind::Text(&expected.provider_user_id));
                "UPDATE tower_authy_enrollments SET provider_user_id = $2, state = $3, \
                 masked_phone = $4, created_at = $5, updated_at = $6 \
                 WHERE user_id = $1 AND state = $7 AND provider_user_id = $8"
            }
        };
        if self.backend.execute(sql, &binds).await? == 0 {
            return Err(StoreError::Conflict(
                "the enrollment changed meanwhile".into(),
            ));
        }
        Ok(())
    }

    async fn transition_enrollment(
        &self,
        user: &UserId,
        from: EnrollmentState,
        to: EnrollmentState,
        now: SystemTime,
    ) -> Result<Enrollment, StoreError> {
        let row = self
            .backend
            .fetch_optional(
                "UPDATE tower_authy_enrollments SET state = $1, updated_at = $2 \
                 WHERE user_id = $3 AND state = $4 RETURNING *",
                &[
                    Bind::Text(to.as_str()),
                    Bind::Int(to_ms(now)?),
                    Bind::Text(user.as_str()),
                    Bind::Text(from.as_str()),
                ],
            )
            .await?;
        if let Some(row) = row {
            return records::enrollment(&row);
        }
        match self.enrollment(user).await? {
            None => Err(StoreError::NotFound(format!(
                "no enrollment for user {user}"
            ))),
            Some(current) => Err(StoreError::Conflict(format!(
                "enrollment is {}, not {from}",
                current.state
            ))),
        }
    }
}

#[async_trait]
impl<B: Backend> AdminStore for SqlStore<B> {
    async fn put_enrollment(&self, enrollment: &Enrollment) -> Result<(), StoreError> {
        self.backend
            .execute(
                "INSERT INTO tower_authy_enrollments \
                 (user_id, provider_user_id, state, masked_phone, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (user_id) DO UPDATE SET provider_user_id = $2, state = $3, \
                 masked_phone = $4, created_at = $5, updated_at = $6",
                &new_record(enrollment)?,
            )
            .await?;
        Ok(())
    }

    async fn delete_enrollment(&self, user: &UserId) -> Result<bool, StoreError> {
        let deleted = self
            .backend
            .execute(
                "DELETE FROM tower_authy_enrollments WHERE user_id = $1",
                &[Bind::Text(user.as_str())],
            )
            .await?;
        Ok(deleted > 0)
    }

    async fn reset_grace_logins(&self, user: &UserId) -> Result<(), StoreError> {
        self.backend
            .execute(
                "DELETE FROM tower_authy_grace_logins WHERE user_id = $1",
                &[Bind::Text(user.as_str())],
            )
            .await?;
        Ok(())
    }
}

/// The binds `$1`–`$6` of a whole record.
fn new_record(enrollment: &Enrollment) -> Result<Vec<Bind<'_>>, StoreError> {
    Ok(vec![
        Bind::Text(enrollment.user_id.as_str()),
        Bind::Text(&enrollment.provider_user_id),
        Bind::Text(enrollment.state.as_str()),
        Bind::OptionalText(enrollment.masked_phone.as_deref()),
        Bind::Int(to_ms(enrollment.created_at)?),
        Bind::Int(to_ms(enrollment.updated_at)?),
    ])
}
