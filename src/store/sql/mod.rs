//! The SQL store on sqlx: [`SqliteStore`] (feature `sqlite`, embedded, one
//! application instance) and [`PostgresStore`] (feature `postgres`, several
//! instances, waiters woken across processes by `LISTEN`/`NOTIFY`).
//!
//! Both are [`SqlStore`]: one implementation of every contract of
//! [`crate::store`] over a small [`Backend`] (run a statement, run a few in
//! a transaction, read a column, wake waiters). They run the same portable
//! SQL (times are Unix milliseconds in `BIGINT` columns) and keep every
//! contract with single atomic statements (`INSERT … ON CONFLICT …
//! RETURNING`, conditional `UPDATE … RETURNING`), so no read-modify-write
//! race exists in either database.
//!
//! Tables are prefixed `tower_authy_` and migrations are recorded in their own
//! table, `tower_authy_migrations`, so they live beside the application's own
//! tables and sqlx migrations without touching them. Call `migrate()` once at
//! start-up; it is safe to call from several instances at once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{ApprovalRecord, StoreError};

// `Backend` is public (it names the two backends in `SqlStore`'s type) but
// sealed, and its methods take crate-private types on purpose: nobody
// outside the crate can call or implement them.
mod approvals;
#[allow(private_interfaces, private_bounds)]
mod backend;
mod counters;
mod factors;
mod ops;
#[cfg(feature = "postgres")]
#[allow(private_interfaces)]
mod postgres;
mod records;
#[cfg(feature = "sqlite")]
#[allow(private_interfaces)]
mod sqlite;
mod wake;

pub use backend::Backend;
use backend::{Bind, Statement};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresBackend, PostgresStore};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteBackend, SqliteStore};

/// A schema version: a script, statements that carry data over (each with
/// its one text parameter, `$1`), then a script that tidies up.
struct Migration {
    version: i64,
    script: &'static str,
    carry: &'static [(&'static str, &'static str)],
    finish: &'static str,
}

/// The schema versions, oldest first. A released version is never edited:
/// changes come as a new version.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        script: include_str!("schema_v1.sql"),
        carry: &[],
        finish: "",
    },
    Migration {
        version: 2,
        script: include_str!("schema_v2.sql"),
        // Version 1 kept sends under the user id `"\u{1}send\u{1}" + user`.
        carry: &[(
            "INSERT INTO tower_authy_attempt_counters \
                 (kind, subject, failures, window_ends, locked_until) \
                 SELECT CASE WHEN substr(user_id, 1, 6) = $1 THEN 'send' ELSE 'code' END, \
                 'user:' || CASE WHEN substr(user_id, 1, 6) = $1 THEN substr(user_id, 7) \
                 ELSE user_id END, failures, window_ends, locked_until FROM tower_authy_attempts",
            "\u{1}send\u{1}",
        )],
        finish: "DROP TABLE tower_authy_attempts",
    },
    Migration {
        version: 3,
        script: include_str!("schema_v3.sql"),
        // An enrollment becomes an Authy factor (`$1` is 'disabled': those
        // are gone). Its id is `authy-<Authy ID>`, unique per user and
        // URL-safe; an Authy ID that version 2 let several users share
        // stays shared, so that none of them is locked out.
        carry: &[(
            "INSERT INTO tower_authy_factors (user_id, id, kind, label, state, created_at, \
                 last_used_at, provider_ref, identity, hint, exclusive_identity) \
                 SELECT e.user_id, 'authy-' || e.provider_user_id, 'authy', \
                 CASE WHEN e.masked_phone IS NULL OR length(e.masked_phone) < 2 THEN 'Phone' \
                 ELSE 'Phone ending in ' || substr(e.masked_phone, length(e.masked_phone) - 1, 2) \
                 END, \
                 CASE WHEN e.state = 'enabled' THEN 'active' ELSE 'pending' END, e.created_at, \
                 CASE WHEN e.state = 'enabled' THEN e.updated_at ELSE NULL END, \
                 e.provider_user_id, 'authy:' || e.provider_user_id, e.masked_phone, \
                 CASE WHEN (SELECT COUNT(*) FROM tower_authy_enrollments o \
                 WHERE o.provider_user_id = e.provider_user_id AND o.state <> $1) = 1 \
                 THEN 1 ELSE 0 END \
                 FROM tower_authy_enrollments e WHERE e.state <> $1",
            "disabled",
        )],
        finish: "DROP TABLE tower_authy_enrollments",
    },
    Migration {
        version: 4,
        script: include_str!("schema_v4.sql"),
        carry: &[],
        finish: "",
    },
];

/// The SQL store on a [`Backend`]: [`SqliteStore`] or [`PostgresStore`].
/// Cheap to clone; clones share the pool.
#[derive(Debug, Clone)]
pub struct SqlStore<B> {
    backend: B,
}

impl<B: Backend> SqlStore<B> {
    /// Creates the tables if needed and applies any newer schema version.
    /// Idempotent; safe to call from several instances at once: each
    /// version is applied in one transaction that first claims its row in
    /// `tower_authy_migrations`, so it is applied exactly once.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        const TABLE: &str = "CREATE TABLE IF NOT EXISTS tower_authy_migrations \
                             (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";
        const CLAIM: &str = "INSERT INTO tower_authy_migrations (version, applied_at) \
                             VALUES ($1, $2) ON CONFLICT (version) DO NOTHING RETURNING version";
        let now = to_ms(SystemTime::now())?;
        for migration in MIGRATIONS {
            let mut statements: Vec<Statement<'_>> =
                self.backend.migration_lock().into_iter().collect();
            statements.push(Statement::Script(TABLE));
            statements.push(Statement::Required(
                CLAIM,
                vec![Bind::Int(migration.version), Bind::Int(now)],
            ));
            statements.push(Statement::Script(migration.script));
            for (sql, text) in migration.carry {
                statements.push(Statement::Execute(sql, vec![Bind::Text(text)]));
            }
            statements.push(Statement::Script(migration.finish));
            // `None`: the version was applied already (by us, or by another
            // instance meanwhile), and nothing changed.
            self.backend.transaction(&statements).await?;
        }
        Ok(())
    }

    async fn read_approval(
        &self,
        uuid: &str,
        now: SystemTime,
    ) -> Result<Option<ApprovalRecord>, StoreError> {
        let row = self
            .backend
            .fetch_optional(
                "SELECT * FROM tower_authy_approvals WHERE uuid = $1",
                &[Bind::Text(uuid)],
            )
            .await?;
        row.as_ref()
            .map(records::approval)
            .transpose()
            .map(|record| record.map(|record| record.as_of(now)))
    }
}

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
