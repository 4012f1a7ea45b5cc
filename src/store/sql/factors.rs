//! [`FactorStore`] and [`AdminStore`] on SQL: one row per factor, keyed by
//! user and id; the identity rules are unique indexes (see `schema_v3.sql`),
//! so two racing bindings of one identity never both land.

use std::time::SystemTime;

use async_trait::async_trait;

use super::backend::{Backend, Bind, Statement};
use super::{SqlStore, records, to_ms};
use crate::store::{
    AdminStore, Factor, FactorId, FactorState, FactorStore, IdentityUse, Removed, StoreError,
    UserId,
};

const COLUMNS: &str = "(user_id, id, kind, label, state, created_at, last_used_at, \
                       provider_ref, identity, hint, exclusive_identity, secret, last_step)";

/// What a factor is read back as. Named, never `*`: SQLite may prepare a
/// statement on a connection that has not seen the latest migration and
/// then return more columns than sqlx described.
const FIELDS: &str = "user_id, id, kind, label, state, created_at, last_used_at, \
                      provider_ref, identity, hint, secret, last_step";

/// Inserts `$1`–`$13` unless the identity `$9` is held by another user and
/// either binding is exclusive; any unique index clash inserts nothing.
const INSERT: &str = "INSERT INTO tower_authy_factors \
    (user_id, id, kind, label, state, created_at, last_used_at, \
     provider_ref, identity, hint, exclusive_identity, secret, last_step) \
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 \
    WHERE NOT EXISTS (SELECT 1 FROM tower_authy_factors o WHERE o.identity = $9 \
    AND o.user_id <> $1 AND ($11 = 1 OR o.exclusive_identity = 1)) \
    ON CONFLICT DO NOTHING RETURNING id";

#[async_trait]
impl<B: Backend> FactorStore for SqlStore<B> {
    async fn factors(&self, user: &UserId) -> Result<Vec<Factor>, StoreError> {
        let rows = self
            .backend
            .fetch_all(
                &format!(
                    "SELECT {FIELDS} FROM tower_authy_factors WHERE user_id = $1 \
                     ORDER BY created_at, id"
                ),
                &[Bind::Text(user.as_str())],
            )
            .await?;
        rows.iter().map(records::factor).collect()
    }

    async fn insert_factor(
        &self,
        factor: &Factor,
        identity: IdentityUse,
    ) -> Result<(), StoreError> {
        let binds = record(factor, identity)?;
        if self.backend.fetch_optional(INSERT, &binds).await?.is_none() {
            return Err(self.why_not_bound(factor, None).await);
        }
        Ok(())
    }

    async fn replace_factor(
        &self,
        expected: &Factor,
        factor: &Factor,
        identity: IdentityUse,
    ) -> Result<(), StoreError> {
        if factor.user_id != expected.user_id {
            return Err(StoreError::InvalidInput(
                "a factor is replaced by one of the same user".into(),
            ));
        }
        let remove = vec![
            Bind::Text(expected.user_id.as_str()),
            Bind::Text(expected.id.as_str()),
            Bind::Text(expected.state.as_str()),
            Bind::Text(&expected.provider_ref),
        ];
        let statements = [
            Statement::Required(
                "DELETE FROM tower_authy_factors WHERE user_id = $1 AND id = $2 \
                 AND state = $3 AND provider_ref = $4 RETURNING id",
                remove,
            ),
            Statement::Required(INSERT, record(factor, identity)?),
        ];
        if self.backend.transaction(&statements).await?.is_some() {
            return Ok(());
        }
        let unchanged = self.factors(&expected.user_id).await.is_ok_and(|factors| {
            factors.iter().any(|current| {
                current.id == expected.id
                    && current.state == expected.state
                    && current.provider_ref == expected.provider_ref
            })
        });
        if !unchanged {
            return Err(StoreError::Conflict("the factor changed meanwhile".into()));
        }
        Err(self.why_not_bound(factor, Some(&expected.id)).await)
    }

    async fn transition_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        from: FactorState,
        to: FactorState,
        now: SystemTime,
    ) -> Result<Factor, StoreError> {
        let row = self
            .backend
            .fetch_optional(
                &format!(
                    "UPDATE tower_authy_factors SET state = $1, last_used_at = $2 \
                     WHERE user_id = $3 AND id = $4 AND state = $5 RETURNING {FIELDS}"
                ),
                &[
                    Bind::Text(to.as_str()),
                    Bind::Int(to_ms(now)?),
                    Bind::Text(user.as_str()),
                    Bind::Text(id.as_str()),
                    Bind::Text(from.as_str()),
                ],
            )
            .await?;
        if let Some(row) = row {
            return records::factor(&row);
        }
        match self.factors(user).await?.into_iter().find(|f| &f.id == id) {
            None => Err(not_found(id)),
            Some(current) => Err(StoreError::Conflict(format!(
                "factor is {}, not {from}",
                current.state
            ))),
        }
    }

    async fn touch_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let changed = self
            .backend
            .execute(
                "UPDATE tower_authy_factors SET last_used_at = $1 WHERE user_id = $2 AND id = $3",
                &[
                    Bind::Int(to_ms(now)?),
                    Bind::Text(user.as_str()),
                    Bind::Text(id.as_str()),
                ],
            )
            .await?;
        if changed == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }

    async fn advance_step(
        &self,
        user: &UserId,
        id: &FactorId,
        step: u64,
    ) -> Result<(), StoreError> {
        let step = i64::try_from(step)
            .map_err(|_| StoreError::InvalidInput("the time step is out of range".into()))?;
        let changed = self
            .backend
            .execute(
                "UPDATE tower_authy_factors SET last_step = $1 \
                 WHERE user_id = $2 AND id = $3 AND (last_step IS NULL OR last_step < $1)",
                &[
                    Bind::Int(step),
                    Bind::Text(user.as_str()),
                    Bind::Text(id.as_str()),
                ],
            )
            .await?;
        if changed == 1 {
            return Ok(());
        }
        match self.factors(user).await?.iter().any(|f| &f.id == id) {
            true => Err(StoreError::Conflict(format!(
                "step {step} is not after the last accepted one"
            ))),
            false => Err(not_found(id)),
        }
    }

    async fn remove_factor(&self, user: &UserId, id: &FactorId) -> Result<Removed, StoreError> {
        let row = self
            .backend
            .fetch_optional(
                &format!(
                    "DELETE FROM tower_authy_factors WHERE user_id = $1 AND id = $2 \
                     RETURNING {FIELDS}"
                ),
                &[Bind::Text(user.as_str()), Bind::Text(id.as_str())],
            )
            .await?
            .ok_or_else(|| not_found(id))?;
        let factor = records::factor(&row)?;
        let identity_still_used = match factor.identity.as_deref() {
            None => false,
            Some(identity) => self
                .backend
                .fetch_optional(
                    "SELECT id FROM tower_authy_factors WHERE identity = $1 LIMIT 1",
                    &[Bind::Text(identity)],
                )
                .await?
                .is_some(),
        };
        Ok(Removed {
            factor,
            identity_still_used,
        })
    }
}

impl<B: Backend> SqlStore<B> {
    /// Why `factor` was not stored (in place of `replacing`): the user holds
    /// its id or identity already (`Conflict`), or another user holds the
    /// identity (`IdentityInUse`).
    async fn why_not_bound(&self, factor: &Factor, replacing: Option<&FactorId>) -> StoreError {
        let own = match self.factors(&factor.user_id).await {
            Ok(own) => own,
            Err(error) => return error,
        };
        let clash = own.iter().find(|other| {
            Some(&other.id) != replacing
                && (other.id == factor.id
                    || (factor.identity.is_some() && other.identity == factor.identity))
        });
        match clash {
            Some(other) => {
                StoreError::Conflict(format!("the user has factor {} already", other.id))
            }
            None => StoreError::IdentityInUse,
        }
    }
}

#[async_trait]
impl<B: Backend> AdminStore for SqlStore<B> {
    async fn put_factor(&self, factor: &Factor) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO tower_authy_factors {COLUMNS} \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (user_id, id) DO UPDATE SET kind = $3, label = $4, state = $5, \
             created_at = $6, last_used_at = $7, provider_ref = $8, identity = $9, hint = $10, \
             exclusive_identity = $11, secret = $12, last_step = $13"
        );
        self.backend
            .execute(&sql, &record(factor, IdentityUse::Shared)?)
            .await?;
        Ok(())
    }

    async fn delete_factors(&self, user: &UserId) -> Result<u64, StoreError> {
        self.backend
            .execute(
                "DELETE FROM tower_authy_factors WHERE user_id = $1",
                &[Bind::Text(user.as_str())],
            )
            .await
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

fn not_found(id: &FactorId) -> StoreError {
    StoreError::NotFound(format!("no factor {id}"))
}

/// The binds `$1`–`$13` of a whole record.
fn record(factor: &Factor, identity: IdentityUse) -> Result<Vec<Bind<'_>>, StoreError> {
    Ok(vec![
        Bind::Text(factor.user_id.as_str()),
        Bind::Text(factor.id.as_str()),
        Bind::Text(factor.kind.as_str()),
        Bind::Text(&factor.label),
        Bind::Text(factor.state.as_str()),
        Bind::Int(to_ms(factor.created_at)?),
        Bind::OptionalInt(factor.last_used_at.map(to_ms).transpose()?),
        Bind::Text(&factor.provider_ref),
        Bind::OptionalText(factor.identity.as_deref()),
        Bind::OptionalText(factor.hint.as_deref()),
        Bind::Int(i64::from(identity == IdentityUse::Exclusive)),
        Bind::OptionalText(factor.secret.as_deref()),
        Bind::OptionalInt(
            factor
                .last_step
                .map(|step| {
                    i64::try_from(step).map_err(|_| {
                        StoreError::InvalidInput("the time step is out of range".into())
                    })
                })
                .transpose()?,
        ),
    ])
}
