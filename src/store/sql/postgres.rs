//! The SQL store on PostgreSQL, shared by several application instances.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::task::JoinHandle;

use super::wake::WakeHub;

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
#[derive(Debug, Clone)]
pub struct PostgresStore {
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

impl PostgresStore {
    // Notifications cover every change; nothing needs re-reading on a timer.
    const RECHECK: Option<Duration> = None;

    /// Connects a pool to `url` and starts listening for transitions.
    pub async fn connect(url: &str) -> Result<Self, super::StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(super::db_error)?;
        Self::with_pool(pool).await
    }

    /// Uses an existing pool (the application's own, say); one more
    /// connection of it is held for `LISTEN`.
    pub async fn with_pool(pool: PgPool) -> Result<Self, super::StoreError> {
        let mut listener = PgListener::connect_with(&pool)
            .await
            .map_err(super::db_error)?;
        // Listening before the store exists means no waiter can start
        // before notifications flow.
        listener.listen(CHANNEL).await.map_err(super::db_error)?;
        let hub = WakeHub::new();
        let task = tokio::spawn(listen(listener, Arc::downgrade(&hub)));
        Ok(Self {
            pool,
            hub,
            _listener: Arc::new(ListenerTask(task)),
        })
    }

    async fn lock_migrations(
        tx: &mut sqlx::Transaction<'_, Postgres>,
    ) -> Result<(), super::StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut **tx)
            .await
            .map_err(super::db_error)?;
        Ok(())
    }

    /// `NOTIFY` inside the completing transaction: it is sent if and only if
    /// the transition commits.
    async fn announce(
        tx: &mut sqlx::Transaction<'_, Postgres>,
        uuid: &str,
    ) -> Result<(), super::StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(uuid)
            .execute(&mut **tx)
            .await
            .map_err(super::db_error)?;
        Ok(())
    }

    fn after_commit(&self, _uuid: &str) {}
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

super::sql_store_impl!(PostgresStore, Postgres);
