//! Confirming a new factor with its first code: an authenticator app
//! (`POST {prefix}/totp/confirm`, with `factor_id`) or any factor added
//! pending, by its path (`POST {prefix}/factors/{id}/confirm`, an addition
//! to design.md's route table: an address added by `POST {prefix}/contact`).
//! The answer carries the backup codes when this was the user's first
//! factor.

use std::time::SystemTime;

use axum::extract::Path;
use axum::response::Response;
use serde::Deserialize;

use super::complete;
use super::context::{Ctx, Post};
use super::forms::text;
use super::reply;
use crate::domain::Refusal;
use crate::session::{SecondFactorMethod, from_unix};
use crate::store::FactorId;

#[derive(Debug, Deserialize)]
pub(crate) struct ConfirmForm {
    #[serde(default, deserialize_with = "text")]
    factor_id: String,
    #[serde(default, deserialize_with = "text")]
    code: String,
}

/// `POST {prefix}/totp/confirm`.
pub(crate) async fn totp(Post(mut ctx, form): Post<ConfirmForm>) -> Response {
    let page = ctx.shared.settings_page();
    match confirmed(&mut ctx, &form.factor_id, &form.code).await {
        Ok(response) => response,
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}

/// What confirming a factor by its path needs: its first code.
#[derive(Debug, Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default, deserialize_with = "text")]
    code: String,
}

/// `POST {prefix}/factors/{id}/confirm`.
pub(crate) async fn factor(
    Path(id): Path<String>,
    Post(mut ctx, form): Post<CodeForm>,
) -> Response {
    let page = ctx.shared.settings_page();
    let result = if FactorId::is_well_formed(&id) {
        confirmed(&mut ctx, &id, &form.code).await
    } else {
        Err(Refusal::UnknownFactor)
    };
    match result {
        Ok(response) => response,
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}

/// Confirms factor `id` with `code`; the session passes with it if it was
/// still waiting, and a first factor comes with its backup codes.
async fn confirmed(ctx: &mut Ctx, id: &str, code: &str) -> Result<Response, Refusal> {
    let shared = ctx.shared.clone();
    let rules = &shared.rules;
    let state = ctx.signed_in()?;
    let user = state.user_id.clone();
    let already_passed = state.passed.is_some();
    let now = SystemTime::now();
    let generation = rules.generation(&user).await?;
    let passed = state.passed.map(|p| (p.method, from_unix(p.at)));
    let (_, turned_on) = rules.confirm_added(&user, id, code, passed, now).await?;
    let generation = turned_on.unwrap_or(generation);
    complete::confirmed(
        ctx,
        SecondFactorMethod::Code,
        already_passed,
        generation,
        now,
    )
    .await
}
