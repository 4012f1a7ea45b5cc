//! The SQL store on PostgreSQL, shared by several application instances.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions, PgRow};
use tokio::task::JoinHandle;

use super::backend::{Backend, Bind, Sealed, Statement};
use super::wake::WakeHub;
use super::{SqlStore, db_error, ops};
use crate::store::StoreError;

/// The channel transitions are announced on; the payload is the request uuid.
const CHANNEL: &str = "tower_authy_approval";

/// Serialises concurrent `migrate()` calls of several instances (an arbitrary
/// constant, the same in every instance).
const MIGRATION_LOCK: i64 = 0x746f_7765_725f_6175;

/// The store on PostgreSQL: for several application instances. A transition
/// made by any instance is announced with `NOTIFY`, and every instance's
/// listener wakes its local waiters, so a callback that lands on instance A
/// completes the browser waiting on instance B at once.
///
/// ```no_run
/// # async fn demo() -> Result<(), tower_authy::store::StoreError> {
/// let store = tower_authy::store::PostgresStore::connect("postgres://localhost/app").await?;
/// store.migrate().await?;
/// # Ok(()) }
/// ```
pub type PostgresStore = SqlStore<PostgresBackend>;

/// PostgreSQL under [`SqlStore`]: a pool, and a listener that turns
/// notifications from every instance into local wake-ups.
#[derive(Debug, Clone)]
pub struct PostgresBackend {
    pool: PgPool,
    hub: Arc<WakeHub>,
    _listener: Arc<ListenerTask>,
}

/// Stops the listener task when the last store handle goes.
#[derive(Debug)]
struct ListenerTask(JoinHandle<()>);

impl Drop for ListenerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl SqlStore<PostgresBackend> {
    /// Connects a pool to `url` and starts listening for transitions.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(db_error)?;
        Self::with_pool(pool).await
    }

    /// Uses an existing pool (the application's own, say); one more
    /// connection of it is held for `LISTEN`.
    pub async fn with_pool(pool: PgPool) -> Result<Self, StoreError> {
        let mut listener = PgListener::connect_with(&pool).await.map_err(db_error)?;
        // Listening before the store exists means no waiter can start
        // before notifications flow.
        listener.listen(CHANNEL).await.map_err(db_error)?;
        let hub = WakeHub::new();
        let task = tokio::spawn(listen(listener, Arc::downgrade(&hub)));
        Ok(Self {
            backend: PostgresBackend {
                pool,
                hub,
                _listener: Arc::new(ListenerTask(task)),
            },
        })
    }

    /// The connection pool, for the application's own queries.
    pub fn pool(&self) -> &PgPool {
        &self.backend.pool
    }
}

impl Sealed for PostgresBackend {}

impl Backend for PostgresBackend {
    type Row = PgRow;

    async fn fetch_optional(
        &self,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Option<PgRow>, StoreError> {
        ops::fetch_optional(&self.pool, sql, binds).await
    }

    async fn fetch_all(&self, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<PgRow>, StoreError> {
        ops::fetch_all(&self.pool, sql, binds).await
    }

    async fn execute(&self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, StoreError> {
        Ok(ops::execute(&self.pool, sql, binds).await?.rows_affected())
    }

    async fn transaction(
        &self,
        statements: &[Statement<'_>],
    ) -> Result<Option<Vec<PgRow>>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
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
        Some(Statement::Execute(
            "SELECT pg_advisory_xact_lock($1)",
            vec![Bind::Int(MIGRATION_LOCK)],
        ))
    }

    /// `NOTIFY` inside the completing transaction: it is sent if and only if
    /// the transition commits.
    fn announce<'a>(&self, uuid: &'a str) -> Option<Statement<'a>> {
        Some(Statement::Execute(
            "SELECT pg_notify($1, $2)",
            vec![Bind::Text(CHANNEL), Bind::Text(uuid)],
        ))
    }

    fn hub(&self) -> &WakeHub {
        &self.hub
    }

    fn recheck(&self) -> Option<Duration> {
        // Notifications cover every change; nothing needs re-reading on a timer.
        None
    }
}

async fn listen(mut listener: PgListener, hub: Weak<WakeHub>) {
    loop {
        let received = listener.try_recv().await;
        let Some(hub) = hub.upgrade() else { return };
        match received {
            Ok(Some(notification)) => hub.wake(notification.payload()),
            // The connection dropped and notifications may be lost: every
            // waiter re-reads. The next call reconnects and listens again.
            Ok(None) => hub.wake_all(),
            Err(error) => {
                tracing::warn!(%error, "tower-authy: PostgreSQL listener failed; retrying");
                hub.wake_all();
                drop(hub);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

impl ops::Transaction for sqlx::Transaction<'_, sqlx::Postgres> {
    type Row = PgRow;

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
    ) -> Result<Option<PgRow>, StoreError> {
        ops::query(sql, binds)
            .fetch_optional(&mut **self)
            .await
            .map_err(db_error)
    }
}
