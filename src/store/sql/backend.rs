//! What a database must offer the SQL store: run a statement, run a few in
//! one transaction, read columns, and wake waiters. Everything else — the
//! SQL text and every contract — is the same code for every database.

use std::future::Future;
use std::time::Duration;

use super::wake::WakeHub;
use crate::store::StoreError;

/// A value bound to a `$n` placeholder. The schema needs no other types:
/// times and counts are `BIGINT`, everything else `TEXT`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bind<'a> {
    Int(i64),
    Text(&'a str),
    OptionalInt(Option<i64>),
    OptionalText(Option<&'a str>),
}

/// A statement of a transaction.
#[derive(Debug, Clone)]
pub(crate) enum Statement<'a> {
    /// Several statements without parameters (a schema script).
    Script(&'static str),
    /// One statement; its rows are not read.
    Execute(&'a str, Vec<Bind<'a>>),
    /// One statement that must return a row (`RETURNING`): if it returns
    /// none, the transaction is rolled back and nothing changes.
    Required(&'a str, Vec<Bind<'a>>),
}

/// A row as the store reads it, by column name.
pub(crate) trait SqlRow: Send {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn optional_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn optional_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
}

mod sealed {
    pub trait Sealed {}
}
pub(crate) use sealed::Sealed;

/// A database the SQL store runs on: [`SqliteBackend`](super::SqliteBackend)
/// or [`PostgresBackend`](super::PostgresBackend). Sealed: the crate's two
/// backends are all there is (other databases implement the store traits
/// directly, checked by the conformance suite).
pub trait Backend: sealed::Sealed + Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Its rows.
    #[doc(hidden)]
    type Row: SqlRow;

    /// Runs one statement; returns its first row, if any.
    #[doc(hidden)]
    fn fetch_optional(
        &self,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> impl Future<Output = Result<Option<Self::Row>, StoreError>> + Send;

    /// Runs one statement; returns every row.
    #[doc(hidden)]
    fn fetch_all(
        &self,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>> + Send;

    /// Runs one statement; returns how many rows it changed.
    #[doc(hidden)]
    fn execute(
        &self,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Runs the statements in one transaction. `Ok(None)`: a
    /// [`Statement::Required`] returned no row, and nothing changed.
    /// Otherwise the row of each `Required` statement, in order.
    #[doc(hidden)]
    fn transaction(
        &self,
        statements: &[Statement<'_>],
    ) -> impl Future<Output = Result<Option<Vec<Self::Row>>, StoreError>> + Send;

    /// The statement that serialises migrations of several instances, run
    /// first in each migration's transaction.
    #[doc(hidden)]
    fn migration_lock(&self) -> Option<Statement<'static>>;

    /// The statement that tells other processes a request changed, run in
    /// the transaction that changed it (so it is sent if and only if the
    /// change commits).
    #[doc(hidden)]
    fn announce<'a>(&self, uuid: &'a str) -> Option<Statement<'a>>;

    /// The in-process wake-ups of waiters.
    #[doc(hidden)]
    fn hub(&self) -> &WakeHub;

    /// How often a waiter re-reads anyway, for changes nothing announces.
    #[doc(hidden)]
    fn recheck(&self) -> Option<Duration>;
}
