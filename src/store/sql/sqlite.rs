//! The SQL store on SQLite.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use super::wake::WakeHub;

/// The store on an SQLite database file: persistence for one application
/// instance with nothing else to run.
///
/// Waiters are woken at once by transitions made in this process, through
/// any handle on the same file. Another process writing the same file is
/// noticed within a second; run several instances on [`super::PostgresStore`].
///
/// ```no_run
/// # async fn demo() -> Result<(), tower_authy::store::StoreError> {
/// let store = tower_authy::store::SqliteStore::connect("sqlite:tower-authy.db").await?;
/// store.migrate().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    hub: Arc<WakeHub>,
}

impl SqliteStore {
    const RECHECK: Option<Duration> = Some(Duration::from_secs(1));

    /// Opens (creating if missing) the database at `url` (`sqlite:path.db`),
    /// in WAL mode with a busy timeout, so concurrent writers wait rather than fail.
    pub async fn connect(url: &str) -> Result<Self, super::StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| super::StoreError::InvalidInput(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await
            .map_err(super::db_error)?;
        Ok(Self::with_pool(pool))
    }

    /// Uses an existing pool (the application's own, say).
    pub fn with_pool(pool: SqlitePool) -> Self {
        let file = pool
            .connect_options()
            .get_filename()
            .to_string_lossy()
            .into_owned();
        Self {
            hub: hub_for(&file),
            pool,
        }
    }

    async fn lock_migrations(
        _tx: &mut sqlx::Transaction<'_, Sqlite>,
    ) -> Result<(), super::StoreError> {
        // SQLite serialises writers on the file; nothing more is needed.
        Ok(())
    }

    async fn announce(
        _tx: &mut sqlx::Transaction<'_, Sqlite>,
        _uuid: &str,
    ) -> Result<(), super::StoreError> {
        Ok(())
    }

    fn after_commit(&self, uuid: &str) {
        self.hub.wake(uuid);
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

super::sql_store_impl!(SqliteStore, Sqlite);
