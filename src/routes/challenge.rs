//! The challenge page and the code channels: `GET /2fa`, `POST /2fa/token`,
//! `POST /2fa/sms`, `POST /2fa/call`, `POST /2fa/skip`.

use std::time::SystemTime;

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::complete::{self, completed, finish};
use super::context::{Ctx, Post};
use super::device;
use super::forms::{Empty, flag, text};
use super::messages::PageMessages;
use super::next::safe_next;
use super::reply;
use super::view;
use crate::domain::{Binding, Need, Refusal, Way, backup_codes_left};
use crate::method::Channel;
use crate::negotiate::Format;
use crate::session::SecondFactorMethod;
use crate::store::ApprovalStatus;
use crate::ui::Template;

#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    next: Option<String>,
    error: Option<String>,
    notice: Option<String>,
}

/// `GET /2fa`: the challenge, or straight on when nothing is needed.
pub(crate) async fn page(
    mut ctx: Ctx,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    match show(&mut ctx, &headers, query).await {
        Ok(response) => response,
        Err(Refusal::LoginRequired) if ctx.format == Format::Html => reply::see_other(
            &reply::with_query(&ctx.shared.login_path, "next", &ctx.shared.prefix),
        ),
        Err(refusal) => reply::error_page(&ctx.shared.ui, ctx.format, &ctx.shared.prefix, &refusal),
    }
}

async fn show(ctx: &mut Ctx, headers: &HeaderMap, query: PageQuery) -> Result<Response, Refusal> {
    let shared = ctx.shared.clone();
    let rules = &shared.rules;
    let state = ctx.signed_in_mut()?;
    if let Some(next) = query.next.as_deref().map(safe_next) {
        // Written only when it changes: a session saved needlessly can undo
        // a sign-out made meanwhile in another tab.
        if state.next.as_deref() != Some(next.as_str()) {
            state.next = Some(next);
            ctx.save().await?;
        }
    }
    let state = ctx.signed_in()?;
    if let Some(passed) = state.passed {
        return Ok(completed(ctx.format, state, passed.method));
    }
    let user = state.user_id.clone();
    let generation = rules.generation(&user).await?;
    let challenge = match rules.need(&user).await? {
        Need::Pass(method) => return finish(ctx, method, generation).await,
        Need::Enroll => {
            let enroll = shared.settings_page();
            return Ok(match ctx.format {
                Format::Html => reply::see_other(&enroll),
                Format::Json => reply::json(
                    StatusCode::FORBIDDEN,
                    json!({"status": "enrollment_required", "enroll": enroll}),
                ),
            });
        }
        Need::Challenge(challenge) => challenge,
    };
    if device::recognised(&shared, challenge.first(), headers).await {
        return finish(ctx, SecondFactorMethod::RememberedDevice, generation).await;
    }
    let policy = &rules.policy;
    let push = rules.push_factor(&challenge).await.is_some();
    // The page pushes by itself once per challenge (never after the user
    // asked for a text or a call), or follows a push still waiting; any
    // other push is the user's to ask for.
    let state = ctx.signed_in()?;
    let waiting = push
        && rules
            .bound_request(&user, Binding::of(state).as_ref(), SystemTime::now())
            .await
            .is_ok_and(|record| record.status == ApprovalStatus::Pending);
    let autostart =
        push && query.error.is_none() && (waiting || (!state.pushed && query.notice.is_none()));
    let shown = PageMessages::of(
        rules,
        &user,
        &challenge.identities(),
        query.error.as_deref(),
        query.notice.as_deref(),
    )
    .await?;
    let ways = rules.ways(&challenge, push);
    let codes = ways.contains(&Way::Code);
    let sms = ways.contains(&Way::Sms);
    let call = ways.contains(&Way::Call);
    let passkey = ways.contains(&Way::Passkey);
    let email = ways.contains(&Way::Email);
    let whatsapp = ways.contains(&Way::Whatsapp);
    let backup = ways.contains(&Way::Backup);
    let backup_left = backup_codes_left(challenge.factors());
    // A phone never confirmed is not yet a factor: the user may go on
    // without it (then replace it), so a phone planted with the password
    // alone cannot lock its owner out.
    let skippable = challenge.confirms();
    let state = ctx.signed_in()?;
    Ok(match ctx.format {
        Format::Json => reply::json(
            StatusCode::OK,
            json!({
                "status": "challenge",
                "channels": {"passkey": passkey, "onetouch": push, "code": codes, "sms": sms, "call": call, "email": email, "whatsapp": whatsapp},
                "autostart": autostart,
                "ways": ways,
                "backup_codes_left": backup_left,
                "factors": challenge.factors().iter().map(view::choice).collect::<Vec<_>>(),
                "locked_for": shown.locked_for,
                "attempts_left": shown.attempts_left,
                "masked_phone": challenge.first().hint,
                "skippable": skippable,
                "logout": shared.logout_path,
                "csrf": state.csrf,
            }),
        ),
        Format::Html => reply::page(
            &shared.ui,
            Template::Challenge,
            json!({
                "prefix": shared.prefix,
                "csrf": state.csrf,
                "onetouch": push,
                "passkey": passkey,
                "autostart": autostart,
                "codes": codes,
                "sms": sms,
                "call": call,
                "email": email,
                "whatsapp": whatsapp,
                "ways": ways,
                "backup": backup,
                "backup_codes_left": backup_left,
                "onetouch_ttl": policy.onetouch_ttl.as_secs(),
                "remember": policy.remember_device.is_some(),
                "masked_phone": challenge.first().hint,
                "skippable": skippable,
                "logout": shared.logout_path,
                "error": shown.error,
                "error_code": shown.error_code,
                "notice": shown.notice,
                "notice_code": shown.notice_code,
                "attempts_left": shown.attempts_left,
                "locked_for": shown.locked_for,
            }),
        ),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    token: String,
    /// Which factor the code is from; none: any of the user's factors
    /// that take codes.
    #[serde(default, deserialize_with = "text")]
    factor_id: String,
    /// "Remember this device" (when the policy offers it).
    #[serde(default, deserialize_with = "flag")]
    remember: bool,
}

/// `POST /2fa/token`: check a code; on success the session completes.
pub(crate) async fn token(Post(mut ctx, form): Post<TokenForm>) -> Response {
    let page = ctx.shared.prefix.clone();
    match verify(&mut ctx, &form).await {
        Ok(response) => response,
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}

async fn verify(ctx: &mut Ctx, form: &TokenForm) -> Result<Response, Refusal> {
    let state = ctx.signed_in()?;
    if let Some(passed) = state.passed {
        // Already done: say where to go, and change nothing. Re-marking the
        // session here would make it "fresh" without any code checked.
        return Ok(completed(ctx.format, state, passed.method));
    }
    let shared = ctx.shared.clone();
    let rules = &shared.rules;
    if !rules.policy.codes {
        return Err(Refusal::ChannelOff);
    }
    let now = SystemTime::now();
    let generation = rules.generation(&state.user_id).await?;
    let challenge = rules.challenge(&state.user_id).await?;
    let candidates = challenge.pick(&form.factor_id)?;
    let factor = rules.check_code(candidates, &form.token, now).await?;
    let turned_on = rules.used(&factor, now).await?;
    let generation = turned_on.unwrap_or(generation);
    let response = finish(ctx, SecondFactorMethod::Code, generation).await?;
    let method = SecondFactorMethod::Code;
    let mut response =
        complete::with_first_codes(ctx, response, method, turned_on.is_some(), now).await?;
    if form.remember {
        device::remember(&shared, challenge.first(), &mut response).await;
    }
    Ok(response)
}

/// `POST /2fa/sms`.
pub(crate) async fn sms(Post(ctx, _): Post<Empty>) -> Response {
    send(ctx, Channel::Sms).await
}

/// `POST /2fa/call`.
pub(crate) async fn call(Post(ctx, _): Post<Empty>) -> Response {
    send(ctx, Channel::Call).await
}

/// `POST /2fa/email`.
pub(crate) async fn email(Post(ctx, _): Post<Empty>) -> Response {
    send(ctx, Channel::Email).await
}

/// `POST /2fa/whatsapp`.
pub(crate) async fn whatsapp(Post(ctx, _): Post<Empty>) -> Response {
    send(ctx, Channel::Whatsapp).await
}

async fn send(ctx: Ctx, channel: Channel) -> Response {
    let rules = &ctx.shared.rules;
    let result = async {
        let state = ctx.signed_in()?;
        let challenge = rules.challenge(&state.user_id).await?;
        // While an enrollment awaits its first code, the user is on the
        // enrollment's confirm step: answer back there.
        let page = match challenge.confirms() {
            true => ctx.shared.settings_page(),
            false => ctx.shared.prefix.clone(),
        };
        let sent = rules
            .send_code(
                &state.user_id,
                channel,
                state.passed.is_some(),
                SystemTime::now(),
            )
            .await;
        Ok::<_, Refusal>((page, sent))
    }
    .await;
    match result {
        Ok((page, Ok(notice))) => reply::notice(
            ctx.format,
            &page,
            notice,
            json!({"channel": channel.as_str()}),
        ),
        Ok((page, Err(refusal))) => reply::refuse(ctx.format, &page, &refusal),
        Err(refusal) => reply::refuse(ctx.format, &ctx.shared.prefix, &refusal),
    }
}

/// `POST /2fa/skip`: go on without confirming a phone that was registered
/// but never confirmed — as not required under opt-in enrollment, or as one
/// of the grace logins under mandatory enrollment. A confirmed phone cannot
/// be skipped.
pub(crate) async fn skip(Post(mut ctx, _): Post<Empty>) -> Response {
    let page = ctx.shared.prefix.clone();
    match skip_unconfirmed(&mut ctx).await {
        Ok(response) => response,
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}

async fn skip_unconfirmed(ctx: &mut Ctx) -> Result<Response, Refusal> {
    let state = ctx.signed_in()?;
    if let Some(passed) = state.passed {
        return Ok(completed(ctx.format, state, passed.method));
    }
    let rules = &ctx.shared.rules;
    let generation = rules.generation(&state.user_id).await?;
    let method = rules.skip(&state.user_id).await?;
    finish(ctx, method, generation).await
}
