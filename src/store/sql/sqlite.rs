//! The SQL store on SQLite.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
};

use super::backend::{Backend, Bind, Sealed, Statement};
use super::wake::WakeHub;
use super::{SqlStore, db_error, ops};
use crate::store::StoreError;

/// The store on an SQLite database file: persistence for one application
/// instance with nothing else to run.
///
/// Waiters are woken at once by transitions made in this process, through
/// any handle on the same file. Another process writing the same file is
/// noticed within a second; run several instances on
/// [`PostgresStore`](super::PostgresStore).
///
/// ```no_run
/// # async fn demo() -> Result<(), tower_authy::store::StoreError> {
/// let store = tower_authy::store::SqliteStore::connect("sqlite:tower-authy.db").await?;
/// store.migrate().await?;
/// # Ok(()) }
/// ```
pub type SqliteStore = SqlStore<SqliteBackend>;

/// SQLite under [`SqlStore`]: a pool on one file and the file's wake-ups.
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    pool: SqlitePool,
    hub: Arc<WakeHub>,
}

impl SqlStore<SqliteBackend> {
    /// Opens (creating if missing) the database at `url` (`sqlite:path.db`),
    /// in WAL mode with a busy timeout, so concurrent writers wait rather than fail.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidInput(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A connection that comes back still in a transaction (a
            // cancelled `BEGIN IMMEDIATE` that sqlx never wrapped) would
            // hold the write lock: let a queued rollback run, else close it
            // (SQLite rolls back on close).
            .after_release(|connection, _| {
                Box::pin(async move {
                    use sqlx::Connection as _;
                    connection.ping().await?;
                    Ok(!connection.is_in_transaction())
                })
            })
            .connect_with(options)
            .await
            .map_err(db_error)?;
        Ok(Self::with_pool(pool))
    }

    /// Uses an existing pool (the application's own, say). Give it an
    /// `after_release` hook that closes connections returned inside a
    /// transaction, as [`connect`](Self::connect) does, if requests that
    /// migrate may be cancelled.
    pub fn with_pool(pool: SqlitePool) -> Self {
        let file = pool
            .connect_options()
            .get_filename()
            .to_string_lossy()
            .into_owned();
        Self {
            backend: SqliteBackend {
                hub: hub_for(&file),
                pool,
            },
        }
    }

    /// The connection pool, for the application's own queries.
    pub fn pool(&self) -> &SqlitePool {
        &self.backend.pool
    }
}

impl Sealed for SqliteBackend {}

impl Backend for SqliteBackend {
    type Row = SqliteRow;

    async fn fetch_optional(
        &self,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Option<SqliteRow>, StoreError> {
        ops::fetch_optional(&self.pool, sql, binds).await
    }

    async fn fetch_all(&self, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<SqliteRow>, StoreError> {
        ops::fetch_all(&self.pool, sql, binds).await
    }

    async fn execute(&self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, StoreError> {
        Ok(ops::execute(&self.pool, sql, binds).await?.rows_affected())
    }

    async fn transaction(
        &self,
        statements: &[Statement<'_>],
    ) -> Result<Option<Vec<SqliteRow>>, StoreError> {
        // A schema change begins IMMEDIATE, taking the write lock at once:
        // it reads first (`CREATE TABLE IF NOT EXISTS`), and a deferred
        // transaction that read cannot upgrade once another connection has
        // written — instances migrating at once failed with "database is
        // locked". Other transactions start with a write anyway.
        let schema = statements
            .iter()
            .any(|statement| matches!(statement, Statement::Script(_)));
        let mut tx = if schema {
            self.pool.begin_with("BEGIN IMMEDIATE").await
        } else {
            self.pool.begin().await
        }
        .map_err(db_error)?;
        let rows = ops::run(&mut tx, statements).await;
        // Rolled back at once, not when the connection is next used: an
        // open write transaction would keep the database locked meanwhile.
        match rows {
            Ok(Some(_)) => tx.commit().await.map_err(db_error)?,
            Ok(None) | Err(_) => tx.rollback().await.map_err(db_error)?,
        }
        rows
    }

    fn migration_lock(&self) -> Option<Statement<'static>> {
        // SQLite serialises writers on the file; nothing more is needed.
        None
    }

    fn announce<'a>(&self, _uuid: &'a str) -> Option<Statement<'a>> {
        // Only this process's handles share the hub; they are woken after
        // the commit.
        None
    }

    fn hub(&self) -> &WakeHub {
        &self.hub
    }

    fn recheck(&self) -> Option<Duration> {
        // Another process may write the same file without a wake-up here.
        Some(Duration::from_secs(1))
    }
}

/// One hub per database file in this process, so that every handle on the
/// file wakes every waiter on it.
fn hub_for(file: &str) -> Arc<WakeHub> {
    static HUBS: Mutex<Option<HashMap<String, Weak<WakeHub>>>> = Mutex::new(None);
    let mut hubs = HUBS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let hubs = hubs.get_or_insert_with(HashMap::new);
    hubs.retain(|_, hub| hub.strong_count() > 0);
    if let Some(hub) = hubs.get(file).and_then(Weak::upgrade) {
        return hub;
    }
    let hub = WakeHub::new();
    hubs.insert(file.to_owned(), Arc::downgrade(&hub));
    hub
}

impl ops::Transaction for sqlx::Transaction<'_, sqlx::Sqlite> {
    type Row = SqliteRow;

    async fn script(&mut self, sql: &'static str) -> Result<(), StoreError> {
        for statement in ops::script_statements(sql) {
            sqlx::query(&statement)
                .execute(&mut **self)
                .await
                .map_err(db_error)?;
        }
        Ok(())
    }

    async fn execute(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<(), StoreError> {
        ops::query(sql, binds)
            .execute(&mut **self)
            .await
            .map(drop)
            .map_err(db_error)
    }

    async fn fetch_optional(
        &mut self,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Option<SqliteRow>, StoreError> {
        ops::query(sql, binds)
            .fetch_optional(&mut **self)
            .await
            .map_err(db_error)
    }
}
