//! Backup codes: `POST {prefix}/backup-codes` renews the set (a fresh
//! second factor needed) and shows it once; `POST {prefix}/backup` passes
//! the challenge with one code.

use std::time::SystemTime;

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::complete::{self, finish};
use super::context::{Ctx, Post};
use super::forms::{Empty, text};
use super::reply;
use crate::domain::Refusal;
use crate::negotiate::Format;
use crate::session::{SecondFactorMethod, from_unix};

/// `POST {prefix}/backup-codes`.
pub(crate) async fn renew(Post(ctx, _): Post<Empty>) -> Response {
    let settings = ctx.shared.settings_page();
    let result = async {
        let state = ctx.signed_in()?;
        let passed = state.passed.map(|p| (p.method, from_unix(p.at)));
        ctx.shared
            .rules
            .renew_backup_codes(&state.user_id, passed, SystemTime::now())
            .await
    }
    .await;
    match result {
        Ok(codes) if ctx.format == Format::Json => {
            reply::json(StatusCode::OK, json!({"codes": codes}))
        }
        Ok(codes) => complete::backup_codes(&ctx.shared, ctx.format, json!({}), &codes, &settings),
        Err(refusal) => reply::refuse(ctx.format, &settings, &refusal),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct BackupForm {
    #[serde(default, deserialize_with = "text")]
    code: String,
}

/// `POST {prefix}/backup`.
pub(crate) async fn use_code(Post(mut ctx, form): Post<BackupForm>) -> Response {
    let page = ctx.shared.prefix.clone();
    match pass(&mut ctx, &form).await {
        Ok(response) => response,
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}

async fn pass(ctx: &mut Ctx, form: &BackupForm) -> Result<Response, Refusal> {
    let state = ctx.signed_in()?;
    if let Some(passed) = state.passed {
        return Ok(complete::completed(ctx.format, state, passed.method));
    }
    let shared = ctx.shared.clone();
    let rules = &shared.rules;
    let user = state.user_id.clone();
    let generation = rules.generation(&user).await?;
    let challenge = rules.challenge(&user).await?;
    rules
        .use_backup_code(&challenge, &form.code, SystemTime::now())
        .await?;
    finish(ctx, SecondFactorMethod::BackupCode, generation).await
}
