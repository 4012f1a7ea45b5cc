//! The SQL store on sqlx: [`SqliteStore`] (feature `sqlite`, embedded, one
//! application instance) and [`PostgresStore`] (feature `postgres`, several
//! instances, waiters woken across processes by `LISTEN`/`NOTIFY`).
//!
//! Both run the same portable SQL (times are Unix milliseconds in `BIGINT`
//! columns) and keep every contract of [`crate::store`] with single atomic
//! statements (`INSERT … ON CONFLICT … RETURNING`, conditional `UPDATE …
//! RETURNING`), so no read-modify-write race exists in either database.
//!
//! Tables are prefixed `tower_authy_` and migrations are recorded in their own
//! table, `tower_authy_migrations`, so they live beside the application's own
//! tables and sqlx migrations without touching them. Call `migrate()` once at
//! start-up; it is safe to call from several instances at once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::StoreError;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod wake;

#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// The schema versions, oldest first. A released version is never edited:
/// changes come as a new version.
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("schema_v1.sql"))];

fn to_ms(time: SystemTime) -> Result<i64, StoreError> {
    time.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .ok_or_else(|| StoreError::InvalidInput("a time before 1970 or too far ahead".into()))
}

fn from_ms(ms: i64) -> Result<SystemTime, StoreError> {
    u64::try_from(ms)
        .ok()
        .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
        .ok_or_else(|| StoreError::Corrupt(format!("stored time {ms} is out of range")))
}

fn duration_ms(duration: Duration) -> Result<i64, StoreError> {
    i64::try_from(duration.as_millis())
        .map_err(|_| StoreError::InvalidInput("a duration too long to store".into()))
}

fn count(value: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("stored {what} {value} is out of range")))
}

/// Sorts sqlx errors into the store's kinds: connection and pool troubles are
/// `Unavailable` (retry later), decoding troubles `Corrupt`, the rest `Backend`.
fn db_error(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => StoreError::unavailable(error),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(error.to_string()),
        other => StoreError::backend(other),
    }
}

/// The trait implementations, identical for both databases but for the two
/// hooks each store type defines: `announce` (inside the transaction that
/// completed a request) and `after_commit`.
macro_rules! sql_store_impl {
    ($store:ty, $db:ty) => {
        use async_trait::async_trait;
        use sqlx::Row as _;

        use $crate::store::sql::{count, db_error, duration_ms, from_ms, to_ms};
        use $crate::store::{
            ApprovalRecord, ApprovalStatus, ApprovalStore, Attempt, AttemptState, AttemptStore,
            DeviceStore, Enrollment, EnrollmentState, EnrollmentStore, GraceLogin,
            GraceLoginStore, LockoutRule, NonceInsert, NonceStore, PurgeStore, StoreError, UserId,
        };

        type Row = <$db as sqlx::Database>::Row;

        fn enrollment_from_row(row: &Row) -> Result<Enrollment, StoreError> {
            let state: String = row.try_get("state").map_err(db_error)?;
            Ok(Enrollment {
                user_id: UserId::new(row.try_get::<String, _>("user_id").map_err(db_error)?),
                provider_user_id: row.try_get("provider_user_id").map_err(db_error)?,
                state: state
                    .parse::<EnrollmentState>()
                    .map_err(|_| StoreError::Corrupt(format!("unknown enrollment state {state:?}")))?,
                masked_phone: row.try_get("masked_phone").map_err(db_error)?,
                created_at: from_ms(row.try_get("created_at").map_err(db_error)?)?,
                updated_at: from_ms(row.try_get("updated_at").map_err(db_error)?)?,
            })
        }

        fn approval_from_row(row: &Row) -> Result<ApprovalRecord, StoreError> {
            let status: String = row.try_get("status").map_err(db_error)?;
            let optional = |column: &str| -> Result<Option<std::time::SystemTime>, StoreError> {
                row.try_get::<Option<i64>, _>(column)
                    .map_err(db_error)?
                    .map(from_ms)
                    .transpose()
            };
            Ok(ApprovalRecord {
                uuid: row.try_get("uuid").map_err(db_error)?,
                user_id: UserId::new(row.try_get::<String, _>("user_id").map_err(db_error)?),
                session_binding: row.try_get("session_binding").map_err(db_error)?,
                status: status
                    .parse::<ApprovalStatus>()
                    .map_err(|_| StoreError::Corrupt(format!("unknown approval status {status:?}")))?,
                created_at: from_ms(row.try_get("created_at").map_err(db_error)?)?,
                expires_at: optional("expires_at")?,
                processed_at: optional("processed_at")?,
            })
        }

        fn attempts_from_row(row: Option<&Row>, now: i64) -> Result<AttemptState, StoreError> {
            let Some(row) = row else {
                return Ok(AttemptState { failures: 0, locked_until: None });
            };
            let failures: i64 = row.try_get("failures").map_err(db_error)?;
            let window_ends: i64 = row.try_get("window_ends").map_err(db_error)?;
            let locked_until: Option<i64> = row.try_get("locked_until").map_err(db_error)?;
            Ok(AttemptState {
                failures: if now < window_ends { count(failures, "failure count")? } else { 0 },
                locked_until: locked_until.filter(|until| now < *until).map(from_ms).transpose()?,
            })
        }

        impl $store {
            /// Creates the tables if needed and applies any newer schema
            /// version. Idempotent; safe to call from several instances.
            pub async fn migrate(&self) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(db_error)?;
                Self::lock_migrations(&mut tx).await?;
                sqlx::query(
                    "CREATE TABLE IF NOT EXISTS tower_authy_migrations \
                     (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                )
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM tower_authy_migrations")
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_error)?;
                for (version, sql) in $crate::store::sql::MIGRATIONS {
                    if applied.contains(version) {
                        continue;
                    }
                    sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(db_error)?;
                    sqlx::query("INSERT INTO tower_authy_migrations (version, applied_at) VALUES ($1, $2)")
                        .bind(*version)
                        .bind(to_ms(std::time::SystemTime::now())?)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)
            }

            /// The connection pool, for the application's own queries.
            pub fn pool(&self) -> &sqlx::Pool<$db> {
                &self.pool
            }

            async fn read_approval(
                &self,
                uuid: &str,
                now: std::time::SystemTime,
            ) -> Result<Option<ApprovalRecord>, StoreError> {
                let row = sqlx::query("SELECT * FROM tower_authy_approvals WHERE uuid = $1")
                    .bind(uuid)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                row.as_ref()
                    .map(approval_from_row)
                    .transpose()
                    .map(|record| record.map(|record| record.as_of(now)))
            }
        }

        #[async_trait]
        impl EnrollmentStore for $store {
            async fn enrollment(&self, user: &UserId) -> Result<Option<Enrollment>, StoreError> {
                let row = sqlx::query("SELECT * FROM tower_authy_enrollments WHERE user_id = $1")
                    .bind(user.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                row.as_ref().map(enrollment_from_row).transpose()
            }

            async fn put_enrollment(&self, enrollment: &Enrollment) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO tower_authy_enrollments \
                     (user_id, provider_user_id, state, masked_phone, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (user_id) DO UPDATE SET provider_user_id = $2, state = $3, \
                     masked_phone = $4, created_at = $5, updated_at = $6",
                )
                .bind(enrollment.user_id.as_str())
                .bind(&enrollment.provider_user_id)
                .bind(enrollment.state.as_str())
                .bind(enrollment.masked_phone.as_deref())
                .bind(to_ms(enrollment.created_at)?)
                .bind(to_ms(enrollment.updated_at)?)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn replace_enrollment(
                &self,
                expected: Option<&Enrollment>,
                enrollment: &Enrollment,
            ) -> Result<(), StoreError> {
                // Binds follow the numbering: $1–$6 the new record, $7–$8 the expected one.
                let mut query = sqlx::query(match expected {
                    None => "INSERT INTO tower_authy_enrollments \
                             (user_id, provider_user_id, state, masked_phone, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO NOTHING",
                    Some(_) => "UPDATE tower_authy_enrollments SET provider_user_id = $2, state = $3, \
                                masked_phone = $4, created_at = $5, updated_at = $6 \
                                WHERE user_id = $1 AND state = $7 AND provider_user_id = $8",
                })
                .bind(enrollment.user_id.as_str())
                .bind(&enrollment.provider_user_id)
                .bind(enrollment.state.as_str())
                .bind(enrollment.masked_phone.as_deref())
                .bind(to_ms(enrollment.created_at)?)
                .bind(to_ms(enrollment.updated_at)?);
                if let Some(expected) = expected {
                    query = query
                        .bind(expected.state.as_str())
                        .bind(&expected.provider_user_id);
                }
                let done = query.execute(&self.pool).await.map_err(db_error)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Conflict("the enrollment changed meanwhile".into()));
                }
                Ok(())
            }

            async fn transition_enrollment(
                &self,
                user: &UserId,
                from: EnrollmentState,
                to: EnrollmentState,
                now: std::time::SystemTime,
            ) -> Result<Enrollment, StoreError> {
                let row = sqlx::query(
                    "UPDATE tower_authy_enrollments SET state = $1, updated_at = $2 \
                     WHERE user_id = $3 AND state = $4 RETURNING *",
                )
                .bind(to.as_str())
                .bind(to_ms(now)?)
                .bind(user.as_str())
                .bind(from.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                if let Some(row) = row {
                    return enrollment_from_row(&row);
                }
                match self.enrollment(user).await? {
                    None => Err(StoreError::NotFound(format!("no enrollment for user {user}"))),
                    Some(current) => Err(StoreError::Conflict(format!(
                        "enrollment is {}, not {}",
                        current.state.as_str(),
                        from.as_str()
                    ))),
                }
            }

            async fn delete_enrollment(&self, user: &UserId) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM tower_authy_enrollments WHERE user_id = $1")
                    .bind(user.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(done.rows_affected() > 0)
            }
        }

        #[async_trait]
        impl ApprovalStore for $store {
            async fn insert_approval(&self, record: &ApprovalRecord) -> Result<(), StoreError> {
                let done = sqlx::query(
                    "INSERT INTO tower_authy_approvals \
                     (uuid, user_id, session_binding, status, created_at, expires_at, processed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (uuid) DO NOTHING",
                )
                .bind(&record.uuid)
                .bind(record.user_id.as_str())
                .bind(&record.session_binding)
                .bind(record.status.as_str())
                .bind(to_ms(record.created_at)?)
                .bind(record.expires_at.map(to_ms).transpose()?)
                .bind(record.processed_at.map(to_ms).transpose()?)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Conflict(format!("approval request {} exists", record.uuid)));
                }
                Ok(())
            }

            async fn approval(
                &self,
                uuid: &str,
                now: std::time::SystemTime,
            ) -> Result<Option<ApprovalRecord>, StoreError> {
                self.read_approval(uuid, now).await
            }

            async fn complete_approval(
                &self,
                uuid: &str,
                to: ApprovalStatus,
                now: std::time::SystemTime,
            ) -> Result<ApprovalRecord, StoreError> {
                if to == ApprovalStatus::Pending {
                    return Err(StoreError::InvalidInput(
                        "an approval request cannot return to pending".into(),
                    ));
                }
                let mut tx = self.pool.begin().await.map_err(db_error)?;
                let row = sqlx::query(
                    "UPDATE tower_authy_approvals SET status = $1, processed_at = $2 \
                     WHERE uuid = $3 AND status = 'pending' AND (expires_at IS NULL OR expires_at > $2) \
                     RETURNING *",
                )
                .bind(to.as_str())
                .bind(to_ms(now)?)
                .bind(uuid)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?;
                let Some(row) = row else {
                    drop(tx);
                    return match self.read_approval(uuid, now).await? {
                        None => Err(StoreError::NotFound(format!("approval request {uuid}"))),
                        Some(current) => Err(StoreError::Conflict(format!(
                            "approval request {uuid} is already {}",
                            current.status.as_str()
                        ))),
                    };
                };
                let record = approval_from_row(&row)?;
                Self::announce(&mut tx, uuid).await?;
                tx.commit().await.map_err(db_error)?;
                self.after_commit(uuid);
                Ok(record)
            }

            async fn wait_for_approval(
                &self,
                uuid: &str,
                timeout: std::time::Duration,
            ) -> Result<Option<ApprovalRecord>, StoreError> {
                self.hub
                    .wait_for(uuid, timeout, Self::RECHECK, || {
                        self.read_approval(uuid, std::time::SystemTime::now())
                    })
                    .await
            }
        }

        #[async_trait]
        impl AttemptStore for $store {
            async fn record_attempt(
                &self,
                user: &UserId,
                rule: LockoutRule,
                now: std::time::SystemTime,
            ) -> Result<Attempt, StoreError> {
                let now_ms = to_ms(now)?;
                let window = duration_ms(rule.window)?;
                let lockout = duration_ms(rule.lockout)?;
                let max = i64::from(rule.max_failures);
                // One statement: unless locked, count the attempt (restarting
                // a lapsed window) and, when it reaches the limit, lock and
                // start a new count. `COUNTED` is the count after this attempt.
                const COUNTED: &str = "(CASE WHEN tower_authy_attempts.window_ends <= $2 THEN 1 \
                                       ELSE tower_authy_attempts.failures + 1 END)";
                let first_locks = max <= 1;
                let sql = format!(
                    "INSERT INTO tower_authy_attempts (user_id, failures, window_ends, locked_until) \
                     VALUES ($1, $6, $2 + $3, $7) \
                     ON CONFLICT (user_id) DO UPDATE SET \
                     locked_until = CASE WHEN {COUNTED} >= $4 THEN $2 + $5 ELSE tower_authy_attempts.locked_until END, \
                     window_ends = CASE WHEN {COUNTED} >= $4 OR tower_authy_attempts.window_ends <= $2 \
                                   THEN $2 + $3 ELSE tower_authy_attempts.window_ends END, \
                     failures = CASE WHEN {COUNTED} >= $4 THEN 0 ELSE {COUNTED} END \
                     WHERE tower_authy_attempts.locked_until IS NULL \
                        OR tower_authy_attempts.locked_until <= $2 \
                     RETURNING failures, window_ends, locked_until"
                );
                let row = sqlx::query(&sql)
                    .bind(user.as_str())
                    .bind(now_ms)
                    .bind(window)
                    .bind(max)
                    .bind(lockout)
                    .bind(if first_locks { 0_i64 } else { 1 })
                    .bind(if first_locks { Some(now_ms + lockout) } else { None })
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                match row {
                    Some(row) => Ok(Attempt::Counted(attempts_from_row(Some(&row), now_ms)?)),
                    // The guard held: locked, nothing changed.
                    None => {
                        let state = self.attempt_state(user, now).await?;
                        Ok(Attempt::Refused {
                            until: state.locked_until.unwrap_or(now),
                        })
                    }
                }
            }

            async fn attempt_state(
                &self,
                user: &UserId,
                now: std::time::SystemTime,
            ) -> Result<AttemptState, StoreError> {
                let row = sqlx::query("SELECT * FROM tower_authy_attempts WHERE user_id = $1")
                    .bind(user.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                attempts_from_row(row.as_ref(), to_ms(now)?)
            }

            async fn clear_attempts(&self, user: &UserId) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM tower_authy_attempts WHERE user_id = $1")
                    .bind(user.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }
        }

        #[async_trait]
        impl GraceLoginStore for $store {
            async fn use_grace_login(&self, user: &UserId, limit: u32) -> Result<GraceLogin, StoreError> {
                if limit == 0 {
                    return Ok(GraceLogin::Exhausted);
                }
                let used: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO tower_authy_grace_logins (user_id, used) VALUES ($1, 1) \
                     ON CONFLICT (user_id) DO UPDATE SET used = tower_authy_grace_logins.used + 1 \
                     WHERE tower_authy_grace_logins.used < $2 RETURNING used",
                )
                .bind(user.as_str())
                .bind(i64::from(limit))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(match used {
                    Some(used) => GraceLogin::Granted {
                        remaining: limit.saturating_sub(count(used, "grace login count")?),
                    },
                    None => GraceLogin::Exhausted,
                })
            }

            async fn grace_logins_used(&self, user: &UserId) -> Result<u32, StoreError> {
                let used: Option<i64> =
                    sqlx::query_scalar("SELECT used FROM tower_authy_grace_logins WHERE user_id = $1")
                        .bind(user.as_str())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_error)?;
                count(used.unwrap_or(0), "grace login count")
            }

            async fn reset_grace_logins(&self, user: &UserId) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM tower_authy_grace_logins WHERE user_id = $1")
                    .bind(user.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }
        }

        #[async_trait]
        impl DeviceStore for $store {
            async fn device_generation(&self, user: &UserId) -> Result<u64, StoreError> {
                let generation: Option<i64> = sqlx::query_scalar(
                    "SELECT generation FROM tower_authy_device_generations WHERE user_id = $1",
                )
                .bind(user.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                u64::try_from(generation.unwrap_or(0))
                    .map_err(|_| StoreError::Corrupt("negative device generation".into()))
            }

            async fn revoke_devices(&self, user: &UserId) -> Result<u64, StoreError> {
                let generation: i64 = sqlx::query_scalar(
                    "INSERT INTO tower_authy_device_generations (user_id, generation) VALUES ($1, 1) \
                     ON CONFLICT (user_id) DO UPDATE \
                     SET generation = tower_authy_device_generations.generation + 1 RETURNING generation",
                )
                .bind(user.as_str())
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                u64::try_from(generation).map_err(|_| StoreError::Corrupt("negative device generation".into()))
            }
        }

        #[async_trait]
        impl NonceStore for $store {
            async fn insert_nonce(
                &self,
                nonce: &str,
                expires_at: std::time::SystemTime,
                now: std::time::SystemTime,
            ) -> Result<NonceInsert, StoreError> {
                // A row comes back when the nonce was absent or had expired.
                let fresh: Option<String> = sqlx::query_scalar(
                    "INSERT INTO tower_authy_nonces (nonce, expires_at) VALUES ($1, $2) \
                     ON CONFLICT (nonce) DO UPDATE SET expires_at = $2 \
                     WHERE tower_authy_nonces.expires_at <= $3 RETURNING nonce",
                )
                .bind(nonce)
                .bind(to_ms(expires_at)?)
                .bind(to_ms(now)?)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(if fresh.is_some() { NonceInsert::Fresh } else { NonceInsert::Seen })
            }
        }

        #[async_trait]
        impl PurgeStore for $store {
            async fn purge_expired(
                &self,
                now: std::time::SystemTime,
                keep_approvals: std::time::Duration,
            ) -> Result<u64, StoreError> {
                let now = to_ms(now)?;
                let horizon = now - duration_ms(keep_approvals)?;
                let statements: [(&str, &[i64]); 3] = [
                    ("DELETE FROM tower_authy_nonces WHERE expires_at <= $1", &[now]),
                    (
                        "DELETE FROM tower_authy_attempts WHERE window_ends <= $1 \
                         AND (locked_until IS NULL OR locked_until <= $1)",
                        &[now],
                    ),
                    (
                        "DELETE FROM tower_authy_approvals WHERE \
                         (status <> 'pending' AND processed_at <= $1) \
                         OR (status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1)",
                        &[horizon],
                    ),
                ];
                let mut purged = 0;
                for (sql, binds) in statements {
                    let mut query = sqlx::query(sql);
                    for bind in binds {
                        query = query.bind(*bind);
                    }
                    purged += query.execute(&self.pool).await.map_err(db_error)?.rows_affected();
                }
                Ok(purged)
            }
        }
    };
}

use sql_store_impl;
