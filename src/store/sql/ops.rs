//! The backend operations, written once over any sqlx database that binds
//! and reads the schema's two types: `BIGINT` as `i64`, `TEXT` as strings.

use std::future::Future;

use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use super::backend::{Bind, SqlRow, Statement};
use super::db_error;
use crate::store::StoreError;

pub(super) fn query<'q, DB>(sql: &'q str, binds: &[Bind<'q>]) -> Query<'q, DB, DB::Arguments<'q>>
where
    DB: Database,
    i64: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
{
    binds
        .iter()
        .fold(sqlx::query(sql), |query, bind| match *bind {
            Bind::Int(value) => query.bind(value),
            Bind::Text(value) => query.bind(value),
            Bind::OptionalInt(value) => query.bind(value),
            Bind::OptionalText(value) => query.bind(value),
        })
}

pub(super) async fn fetch_optional<'q, DB>(
    pool: &Pool<DB>,
    sql: &'q str,
    binds: &[Bind<'q>],
) -> Result<Option<DB::Row>, StoreError>
where
    DB: Database,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
{
    query(sql, binds)
        .fetch_optional(pool)
        .await
        .map_err(db_error)
}

pub(super) async fn fetch_all<'q, DB>(
    pool: &Pool<DB>,
    sql: &'q str,
    binds: &[Bind<'q>],
) -> Result<Vec<DB::Row>, StoreError>
where
    DB: Database,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
{
    query(sql, binds).fetch_all(pool).await.map_err(db_error)
}

/// The database's own result, whose `rows_affected` each backend reads
/// (sqlx has no trait for it).
pub(super) async fn execute<'q, DB>(
    pool: &Pool<DB>,
    sql: &'q str,
    binds: &[Bind<'q>],
) -> Result<DB::QueryResult, StoreError>
where
    DB: Database,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
{
    query(sql, binds).execute(pool).await.map_err(db_error)
}

/// A transaction's statements, run by the backend on its own connection type
/// (sqlx's executor bounds are higher-ranked, and generic code that holds one
/// across an `.await` cannot be proven `Send`).
pub(super) trait Transaction: Send {
    type Row: Send;

    fn script(&mut self, sql: &'static str) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn execute(
        &mut self,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn fetch_optional(
        &mut self,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> impl Future<Output = Result<Option<Self::Row>, StoreError>> + Send;
}

/// The statements of a schema script, one by one: comment lines dropped,
/// split at `;` (the crate's scripts keep no `;` inside a statement). They
/// run as ordinary queries, whose futures are `Send` where `raw_sql`'s are
/// not.
pub(super) fn script_statements(script: &str) -> Vec<String> {
    let code: String = script
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    code.split(';')
        .map(str::trim)
        .filter(|statement| !statement.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Runs `statements` in `tx`. `None`: a required statement returned no row
/// (the caller then rolls the transaction back).
pub(super) async fn run<T: Transaction>(
    tx: &mut T,
    statements: &[Statement<'_>],
) -> Result<Option<Vec<T::Row>>, StoreError> {
    let mut rows = Vec::new();
    for statement in statements {
        match statement {
            Statement::Script(sql) => tx.script(sql).await?,
            Statement::Execute(sql, binds) => tx.execute(sql, binds).await?,
            Statement::Required(sql, binds) => match tx.fetch_optional(sql, binds).await? {
                Some(row) => rows.push(row),
                None => return Ok(None),
            },
        }
    }
    Ok(Some(rows))
}

impl<R> SqlRow for R
where
    R: Row,
    for<'r> &'r str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.try_get(column).map_err(db_error)
    }

    fn optional_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.try_get(column).map_err(db_error)
    }

    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.try_get(column).map_err(db_error)
    }

    fn optional_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.try_get(column).map_err(db_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_splits_into_its_statements() {
        let script = "-- a comment; with a semicolon\nCREATE TABLE a (x BIGINT);\n\nCREATE INDEX i ON a (x);\n-- done\n";
        assert_eq!(
            script_statements(script),
            ["CREATE TABLE a (x BIGINT)", "CREATE INDEX i ON a (x)"]
        );
        assert_eq!(
            script_statements(include_str!("schema_v1.sql")).len(),
            8,
            "six tables and two indexes"
        );
    }
}
