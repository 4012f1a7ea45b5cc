//! Counters on SQL — attempts and lockouts, grace logins, device
//! generations, nonces — and the purge. Each operation is one atomic
//! statement.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::backend::{Backend, Bind, SqlRow};
use super::{SqlStore, count, duration_ms, records, to_ms};
use crate::store::{
    Attempt, AttemptKey, AttemptState, AttemptStore, DeviceStore, GraceLogin, GraceLoginStore,
    LockoutRule, NonceInsert, NonceStore, PurgeStore, StoreError, UserId,
};

#[async_trait]
impl<B: Backend> AttemptStore for SqlStore<B> {
    async fn record_attempt(
        &self,
        key: &AttemptKey,
        rule: LockoutRule,
        now: SystemTime,
    ) -> Result<Attempt, StoreError> {
        let now_ms = to_ms(now)?;
        let lockout = duration_ms(rule.lockout)?;
        // One statement: unless locked, count the attempt (restarting a
        // lapsed window) and, when it reaches the limit, lock and start a
        // new count. `COUNTED` is the count after this attempt.
        const COUNTED: &str = "(CASE WHEN tower_authy_attempt_counters.window_ends <= $2 THEN 1 \
                               ELSE tower_authy_attempt_counters.failures + 1 END)";
        let sql = format!(
            "INSERT INTO tower_authy_attempt_counters \
             (kind, subject, failures, window_ends, locked_until) \
             VALUES ($8, $1, $6, $2 + $3, $7) \
             ON CONFLICT (kind, subject) DO UPDATE SET \
             locked_until = CASE WHEN {COUNTED} >= $4 THEN $2 + $5 ELSE tower_authy_attempt_counters.locked_until END, \
             window_ends = CASE WHEN {COUNTED} >= $4 OR tower_authy_attempt_counters.window_ends <= $2 \
                           THEN $2 + $3 ELSE tower_authy_attempt_counters.window_ends END, \
             failures = CASE WHEN {COUNTED} >= $4 THEN 0 ELSE {COUNTED} END \
             WHERE tower_authy_attempt_counters.locked_until IS NULL \
                OR tower_authy_attempt_counters.locked_until <= $2 \
             RETURNING failures, window_ends, locked_until"
        );
        // A limit of one locks on the first attempt.
        let first_locks = rule.max_failures <= 1;
        let row = self
            .backend
            .fetch_optional(
                &sql,
                &[
                    Bind::Text(key.subject()),
                    Bind::Int(now_ms),
                    Bind::Int(duration_ms(rule.window)?),
                    Bind::Int(i64::from(rule.max_failures)),
                    Bind::Int(lockout),
                    Bind::Int(if first_locks { 0 } else { 1 }),
                    Bind::OptionalInt(first_locks.then_some(now_ms + lockout)),
                    Bind::Text(key.kind().as_str()),
                ],
            )
            .await?;
        match row {
            Some(row) => Ok(Attempt::Counted(records::attempts(Some(&row), now_ms)?)),
            // The guard held: locked, nothing changed.
            None => {
                let state = self.attempt_state(key, now).await?;
                Ok(Attempt::Refused {
                    until: state.locked_until.unwrap_or(now),
                })
            }
        }
    }

    async fn attempt_state(
        &self,
        key: &AttemptKey,
        now: SystemTime,
    ) -> Result<AttemptState, StoreError> {
        let row = self
            .backend
            .fetch_optional(
                "SELECT * FROM tower_authy_attempt_counters WHERE kind = $1 AND subject = $2",
                &[Bind::Text(key.kind().as_str()), Bind::Text(key.subject())],
            )
            .await?;
        records::attempts(row.as_ref(), to_ms(now)?)
    }

    async fn clear_attempts(&self, key: &AttemptKey) -> Result<(), StoreError> {
        self.backend
            .execute(
                "DELETE FROM tower_authy_attempt_counters WHERE kind = $1 AND subject = $2",
                &[Bind::Text(key.kind().as_str()), Bind::Text(key.subject())],
            )
            .await?;
        Ok(())
    }
}

#[async_trait]
impl<B: Backend> GraceLoginStore for SqlStore<B> {
    async fn use_grace_login(&self, user: &UserId, limit: u32) -> Result<GraceLogin, StoreError> {
        if limit == 0 {
            return Ok(GraceLogin::Exhausted);
        }
        let row = self
            .backend
            .fetch_optional(
                "INSERT INTO tower_authy_grace_logins (user_id, used) VALUES ($1, 1) \
                 ON CONFLICT (user_id) DO UPDATE SET used = tower_authy_grace_logins.used + 1 \
                 WHERE tower_authy_grace_logins.used < $2 RETURNING used",
                &[Bind::Text(user.as_str()), Bind::Int(i64::from(limit))],
            )
            .await?;
        Ok(match row {
            Some(row) => GraceLogin::Granted {
                remaining: limit.saturating_sub(count(row.int("used")?, "grace login count")?),
            },
            None => GraceLogin::Exhausted,
        })
    }

    async fn grace_logins_used(&self, user: &UserId) -> Result<u32, StoreError> {
        let row = self
            .backend
            .fetch_optional(
                "SELECT used FROM tower_authy_grace_logins WHERE user_id = $1",
                &[Bind::Text(user.as_str())],
            )
            .await?;
        let used = row.map(|row| row.int("used")).transpose()?;
        count(used.unwrap_or(0), "grace login count")
    }
}

fn generation(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt("negative device generation".into()))
}

#[async_trait]
impl<B: Backend> DeviceStore for SqlStore<B> {
    async fn device_generation(&self, user: &UserId) -> Result<u64, StoreError> {
        let row = self
            .backend
            .fetch_optional(
                "SELECT generation FROM tower_authy_device_generations WHERE user_id = $1",
                &[Bind::Text(user.as_str())],
            )
            .await?;
        generation(
            row.map(|row| row.int("generation"))
                .transpose()?
                .unwrap_or(0),
        )
    }

    async fn revoke_devices(&self, user: &UserId) -> Result<u64, StoreError> {
        let row = self
            .backend
            .fetch_optional(
                "INSERT INTO tower_authy_device_generations (user_id, generation) VALUES ($1, 1) \
                 ON CONFLICT (user_id) DO UPDATE \
                 SET generation = tower_authy_device_generations.generation + 1 \
                 RETURNING generation",
                &[Bind::Text(user.as_str())],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("the revocation returned no row".into()))?;
        generation(row.int("generation")?)
    }
}

#[async_trait]
impl<B: Backend> NonceStore for SqlStore<B> {
    async fn nonce_seen(&self, nonce: &str, now: SystemTime) -> Result<bool, StoreError> {
        let row = self
            .backend
            .fetch_optional(
                "SELECT nonce FROM tower_authy_nonces WHERE nonce = $1 AND expires_at > $2",
                &[Bind::Text(nonce), Bind::Int(to_ms(now)?)],
            )
            .await?;
        Ok(row.is_some())
    }

    async fn insert_nonce(
        &self,
        nonce: &str,
        expires_at: SystemTime,
        now: SystemTime,
    ) -> Result<NonceInsert, StoreError> {
        // A row comes back when the nonce was absent or had expired.
        let fresh = self
            .backend
            .fetch_optional(
                "INSERT INTO tower_authy_nonces (nonce, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (nonce) DO UPDATE SET expires_at = $2 \
                 WHERE tower_authy_nonces.expires_at <= $3 RETURNING nonce",
                &[
                    Bind::Text(nonce),
                    Bind::Int(to_ms(expires_at)?),
                    Bind::Int(to_ms(now)?),
                ],
            )
            .await?;
        Ok(if fresh.is_some() {
            NonceInsert::Fresh
        } else {
            NonceInsert::Seen
        })
    }
}

#[async_trait]
impl<B: Backend> PurgeStore for SqlStore<B> {
    async fn purge_expired(
        &self,
        now: SystemTime,
        keep_approvals: Duration,
    ) -> Result<u64, StoreError> {
        let now = to_ms(now)?;
        let horizon = now - duration_ms(keep_approvals)?;
        let statements: [(&str, i64); 3] = [
            ("DELETE FROM tower_authy_nonces WHERE expires_at <= $1", now),
            (
                "DELETE FROM tower_authy_attempt_counters WHERE window_ends <= $1 \
                 AND (locked_until IS NULL OR locked_until <= $1)",
                now,
            ),
            (
                "DELETE FROM tower_authy_approvals WHERE \
                 (status <> 'pending' AND processed_at <= $1) \
                 OR (status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1)",
                horizon,
            ),
        ];
        let mut purged = 0;
        for (sql, at) in statements {
            purged += self.backend.execute(sql, &[Bind::Int(at)]).await?;
        }
        Ok(purged)
    }
}
