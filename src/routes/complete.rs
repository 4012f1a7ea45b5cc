//! Completion: the session is marked passed (its id cycled) and the client
//! is told where to go.

use std::time::SystemTime;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::context::Ctx;
use super::reply;
use crate::code::Code;
use crate::domain::{Refusal, is_stale};
use crate::negotiate::Format;
use crate::session::{self, AuthState, SecondFactorMethod, from_unix};
use crate::two_factor::Shared;
use crate::ui::Template;

/// Marks the session complete and sends the client where it was going. Call
/// only after a factor was checked (or the rules ask for none): completing
/// also makes the session "fresh" for changes such as turning 2FA off.
/// `generation` is the user's security generation read *before* the check:
/// a change made during the check leaves the pass stamped with the old
/// one, so it does not stand.
pub(crate) async fn finish(
    ctx: &mut Ctx,
    method: SecondFactorMethod,
    generation: u64,
) -> Result<Response, Refusal> {
    let now = SystemTime::now();
    // The first factor may have gone stale while a check or a long-poll ran.
    let ttl = ctx.shared.rules.policy.pending_ttl;
    match session::load(&ctx.session).await? {
        Some(state)
            if state.passed.is_none() && is_stale(from_unix(state.first_factor_at), now, ttl) =>
        {
            session::clear(&ctx.session).await?;
            return Err(Refusal::LoginRequired);
        }
        None => return Err(Refusal::LoginRequired),
        Some(_) => {}
    }
    ctx.writable().await?;
    if !session::complete(&ctx.session, method, now, generation).await? {
        return Err(Refusal::LoginRequired);
    }
    ctx.state = session::load(&ctx.session).await?;
    let Some(state) = ctx.state.as_ref() else {
        return Err(Refusal::LoginRequired);
    };
    tracing::info!(user = %state.user_id, method = %method, "tower-authy: second factor passed");
    Ok(completed(ctx.format, state, method))
}

/// The answer for a session that has passed: where to go next. Changes
/// nothing, so asking again never makes a session look freshly checked.
pub(crate) fn completed(format: Format, state: &AuthState, method: SecondFactorMethod) -> Response {
    match format {
        Format::Html => reply::see_other(state.next.as_deref().unwrap_or("/")),
        Format::Json => reply::json(StatusCode::OK, body(state, method)),
    }
}

/// The answer that hands out a set of backup codes, shown once: JSON
/// `body` with `codes` added, or the page listing them with a link on to
/// `continue_to`.
pub(crate) fn backup_codes(
    shared: &Shared,
    format: Format,
    mut body: Value,
    codes: &[String],
    continue_to: &str,
) -> Response {
    match format {
        Format::Json => {
            body["backup_codes"] = json!(codes);
            reply::json(StatusCode::OK, body)
        }
        Format::Html => {
            let text = codes.join("\n") + "\n";
            let download = format!(
                "data:text/plain;charset=utf-8,{}",
                percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC)
            );
            reply::page(
                &shared.ui,
                Template::BackupCodes,
                json!({"codes": codes, "download": download, "continue_to": continue_to}),
            )
        }
    }
}

/// After a pass that turned two-factor sign-in on (a phone confirmed
/// through the challenge), the first set of backup codes, shown once in
/// place of `response`; otherwise `response` itself.
pub(crate) async fn with_first_codes(
    ctx: &Ctx,
    response: Response,
    method: SecondFactorMethod,
    turned_on: bool,
    now: SystemTime,
) -> Result<Response, Refusal> {
    let Some(state) = ctx.state.as_ref().filter(|_| turned_on) else {
        return Ok(response);
    };
    let rules = &ctx.shared.rules;
    // The session has passed already: a store failure here costs only the
    // codes (the settings page makes them later), not the sign-in.
    let codes = match rules.first_backup_codes(&state.user_id, now).await {
        Ok(Some(codes)) => codes,
        Ok(None) => return Ok(response),
        Err(refusal) => {
            tracing::warn!(%refusal, user = %state.user_id, "tower-authy: no first backup codes");
            return Ok(response);
        }
    };
    let next = state.next.clone().unwrap_or_else(|| "/".into());
    Ok(backup_codes(
        &ctx.shared,
        ctx.format,
        body(state, method),
        &codes,
        &next,
    ))
}

/// The "complete" answer for scripts: how it passed and where to go.
pub(crate) fn body(state: &AuthState, method: SecondFactorMethod) -> Value {
    let next = state.next.as_deref().unwrap_or("/");
    json!({"status": "complete", "method": method, "redirect": next})
}

/// The answer to a new factor confirmed (with a code, or by its ceremony:
/// `method`) by a session that had
/// `already_passed` (the code is its second factor from now on: fresh
/// enough to change settings) or was still waiting (it passes with it):
/// with the first backup codes, shown once, when this was the user's
/// first factor.
pub(crate) async fn confirmed(
    ctx: &mut Ctx,
    method: SecondFactorMethod,
    already_passed: bool,
    generation: u64,
    now: SystemTime,
) -> Result<Response, Refusal> {
    let shared = ctx.shared.clone();
    let response = if already_passed {
        ctx.writable().await?;
        if !session::complete(&ctx.session, method, now, generation).await? {
            return Err(Refusal::LoginRequired);
        }
        reply::notice(
            ctx.format,
            &shared.settings_page(),
            Code::Enabled,
            json!({}),
        )
    } else {
        finish(ctx, method, generation).await?
    };
    let state = ctx.signed_in()?;
    let Some(codes) = shared.rules.first_backup_codes(&state.user_id, now).await? else {
        return Ok(response);
    };
    let (body, next) = if already_passed {
        (json!({"notice": Code::Enabled}), shared.settings_page())
    } else {
        let next = state.next.clone().unwrap_or_else(|| "/".into());
        (body(state, method), next)
    };
    Ok(backup_codes(&shared, ctx.format, body, &codes, &next))
}
