//! The challenge page and the code channels: `GET /2fa`, `POST /2fa/token`,
//! `POST /2fa/sms`, `POST /2fa/call`.

use std::time::SystemTime;

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::context::{Ctx, Post};
use super::next::safe_next;
use super::reply::{self, Format, RouteError, message_for, refuse};
use super::{Shared, device, finish};
use crate::config::{ChannelMode, EnrollmentPolicy};
use crate::provider::{Channel, ProviderError};
use crate::session::SecondFactorMethod;
use crate::store::{Attempt, Enrollment, EnrollmentState, GraceLogin, UserId};

#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    next: Option<String>,
    error: Option<String>,
    notice: Option<String>,
}

/// What the user must do, decided from the enrollment and the policy.
enum Need {
    /// Show the challenge for this enrollment.
    Challenge(Enrollment),
    /// Let the session through this way.
    Pass(SecondFactorMethod),
    /// No access until enrolled.
    Enroll,
}

async fn need(shared: &Shared, user: &UserId) -> Result<Need, RouteError> {
    let enrollment = shared.store.enrollment(user).await?;
    let enrolled = enrollment.filter(|e| {
        matches!(
            e.state,
            EnrollmentState::Enabled | EnrollmentState::PendingConfirmation
        )
    });
    if let Some(enrollment) = enrolled {
        return Ok(Need::Challenge(enrollment));
    }
    Ok(match shared.policy.enrollment {
        EnrollmentPolicy::OptIn => Need::Pass(SecondFactorMethod::NotRequired),
        EnrollmentPolicy::Mandatory { grace_logins, .. } => {
            match shared.store.use_grace_login(user, grace_logins).await? {
                GraceLogin::Granted { .. } => Need::Pass(SecondFactorMethod::GraceLogin),
                GraceLogin::Exhausted => Need::Enroll,
            }
        }
    })
}

/// The enrollment the code routes act on: the user must have one.
pub(crate) async fn enrollment(ctx: &Ctx) -> Result<Enrollment, RouteError> {
    let user = UserId::new(ctx.signed_in()?.user_id.clone());
    ctx.shared
        .store
        .enrollment(&user)
        .await?
        .filter(|e| {
            matches!(
                e.state,
                EnrollmentState::Enabled | EnrollmentState::PendingConfirmation
            )
        })
        .ok_or(RouteError::NotEnrolled)
}

/// `GET /2fa`: the challenge, or straight on when nothing is needed.
pub(crate) async fn page(
    mut ctx: Ctx,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    match show(&mut ctx, &headers, query).await {
        Ok(response) => response,
        Err(RouteError::LoginRequired) if ctx.format == Format::Html => reply::see_other(
            &reply::with_query(&ctx.shared.login_path, "next", &ctx.shared.prefix),
        ),
        Err(error) => reply::error_page(&ctx.shared.ui, ctx.format, &ctx.shared.prefix, &error),
    }
}

async fn show(
    ctx: &mut Ctx,
    headers: &HeaderMap,
    query: PageQuery,
) -> Result<Response, RouteError> {
    let shared = ctx.shared.clone();
    let state = ctx.signed_in_mut()?;
    if let Some(next) = query.next.as_deref() {
        state.next = Some(safe_next(next));
        ctx.save().await?;
    }
    let state = ctx.signed_in()?;
    if let Some(passed) = state.passed {
        let next = state.next.clone().unwrap_or_else(|| "/".into());
        return Ok(match ctx.format {
            Format::Html => reply::see_other(&next),
            Format::Json => reply::json(
                StatusCode::OK,
                json!({"status": "complete", "method": passed.method.as_str(), "redirect": next}),
            ),
        });
    }
    let user = UserId::new(state.user_id.clone());
    let enrollment = match need(&shared, &user).await? {
        Need::Pass(method) => return finish(ctx, method).await,
        Need::Enroll => {
            let enroll = format!("{}/enroll", shared.prefix);
            return Ok(match ctx.format {
                Format::Html => reply::see_other(&enroll),
                Format::Json => reply::json(
                    StatusCode::FORBIDDEN,
                    json!({"status": "enrollment_required", "enroll": enroll}),
                ),
            });
        }
        Need::Challenge(enrollment) => enrollment,
    };
    if device::recognised(&shared, &enrollment, headers).await {
        return finish(ctx, SecondFactorMethod::RememberedDevice).await;
    }
    let policy = &shared.policy;
    // Offer OneTouch only to users with the app; if the provider cannot be
    // asked, codes still work.
    let has_app = if policy.onetouch {
        match shared.provider.devices(&enrollment.provider_user_id).await {
            Ok(devices) => devices.has_app,
            Err(error) => {
                tracing::warn!(%error, "tower-authy: cannot ask for the user's devices");
                false
            }
        }
    } else {
        false
    };
    let shown = PageMessages::of(&shared, &user, &query.error, &query.notice).await?;
    let channels = json!({
        "onetouch": policy.onetouch && has_app,
        "code": policy.codes,
        "sms": policy.sms != ChannelMode::Off,
        "call": policy.call != ChannelMode::Off,
    });
    let fallback_after = if policy.onetouch && has_app {
        policy.fallback_delay.as_secs()
    } else {
        0
    };
    // A phone never confirmed is not yet a factor: the user may go on
    // without it (then replace it), so a phone planted with the password
    // alone cannot lock its owner out.
    let skippable = enrollment.state == EnrollmentState::PendingConfirmation;
    Ok(match ctx.format {
        Format::Json => reply::json(
            StatusCode::OK,
            json!({
                "status": "challenge",
                "channels": channels,
                "fallback_after": fallback_after,
                "locked_for": shown.locked_for,
                "attempts_left": shown.attempts_left,
                "masked_phone": enrollment.masked_phone,
                "skippable": skippable,
                "csrf": state.csrf,
            }),
        ),
        Format::Html => reply::page(shared.ui.render(
            "challenge.html",
            json!({
                "prefix": shared.prefix,
                "csrf": state.csrf,
                "onetouch": channels["onetouch"],
                "codes": policy.codes,
                "sms": channels["sms"],
                "call": channels["call"],
                "fallback_after": fallback_after,
                "onetouch_ttl": policy.onetouch_ttl.as_secs(),
                "remember": policy.remember_device.is_some(),
                "masked_phone": enrollment.masked_phone,
                "skippable": skippable,
                "error": shown.error,
                "error_code": shown.error_code,
                "notice": shown.notice,
                "notice_code": shown.notice_code,
                "attempts_left": shown.attempts_left,
                "locked_for": shown.locked_for,
            }),
        )),
    })
}

/// What a page says about the last outcome: the message for its `?error=`
/// or `?notice=` code, made precise with what the store knows (attempts
/// left, how long a lockout or a sending pause lasts). Only known codes are
/// kept: nothing the URL says is shown.
#[derive(Debug)]
pub(crate) struct PageMessages {
    pub error: Option<String>,
    pub error_code: Option<String>,
    pub notice: Option<&'static str>,
    pub notice_code: Option<String>,
    /// Wrong codes the user may still enter before the lockout.
    pub attempts_left: Option<u32>,
    /// Seconds until the user's lockout ends.
    pub locked_for: Option<u64>,
}

impl PageMessages {
    pub(crate) async fn of(
        shared: &Shared,
        user: &UserId,
        error: &Option<String>,
        notice: &Option<String>,
    ) -> Result<Self, RouteError> {
        fn known(code: &Option<String>) -> Option<(&str, &'static str)> {
            let code = code.as_deref()?;
            message_for(code).map(|message| (code, message))
        }
        let now = SystemTime::now();
        let attempts = shared.store.attempt_state(user, now).await?;
        let locked_for = attempts.locked_until.map(|until| seconds_until(until, now));
        let attempts_left = (attempts.failures > 0 && locked_for.is_none()).then(|| {
            shared
                .policy
                .lockout
                .max_failures
                .saturating_sub(attempts.failures)
        });
        let error = known(error);
        let mut error_code = error.map(|(code, _)| code.to_owned());
        // The store knows best: a lockout shows even after a reload.
        if locked_for.is_some() && matches!(error_code.as_deref(), None | Some("code_rejected")) {
            error_code = Some("locked_out".into());
        }
        let text = match (error_code.as_deref(), error) {
            (Some("locked_out"), _) => Some(match locked_for {
                Some(secs) => format!(
                    "Too many wrong codes. You can try again in {}.",
                    in_words(secs)
                ),
                None => "The pause after too many wrong codes is over: try again.".into(),
            }),
            (Some("code_rejected"), _) => Some(match attempts_left {
                Some(1) => "That code is not right. One attempt is left before a pause.".into(),
                Some(n) => format!("That code is not right. {n} attempts are left."),
                None => message_for("code_rejected").unwrap_or_default().into(),
            }),
            (Some("too_many_codes"), Some((_, message))) => {
                let counter = send_counter(user);
                let paused = shared
                    .store
                    .attempt_state(&counter, now)
                    .await?
                    .locked_until;
                Some(match paused {
                    Some(until) => format!(
                        "Too many codes were sent. You can ask again in {}.",
                        in_words(seconds_until(until, now))
                    ),
                    None => message.into(),
                })
            }
            (_, error) => error.map(|(_, message)| message.to_owned()),
        };
        let notice = known(notice);
        Ok(Self {
            error: text,
            error_code,
            notice: notice.map(|(_, message)| message),
            notice_code: notice.map(|(code, _)| code.to_owned()),
            attempts_left,
            locked_for,
        })
    }
}

/// Seconds from `now` until `until`, rounded up, at least 1.
fn seconds_until(until: SystemTime, now: SystemTime) -> u64 {
    until
        .duration_since(now)
        .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
        .unwrap_or(1)
        .max(1)
}

/// A wait as people say it: "45 seconds", "1 minute", "15 minutes".
pub(crate) fn in_words(secs: u64) -> String {
    match secs {
        0..=1 => "1 second".into(),
        2..=59 => format!("{secs} seconds"),
        _ => match secs.div_ceil(60) {
            1 => "1 minute".into(),
            minutes => format!("{minutes} minutes"),
        },
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    token: String,
    /// "Remember this device" (when the policy offers it).
    #[serde(default, deserialize_with = "flag")]
    remember: bool,
}

/// A checkbox: `true`, or a form's `"true"`/`"on"`/`"1"`.
pub(crate) fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::String(s) => matches!(s.as_str(), "true" | "on" | "1"),
        _ => false,
    })
}

/// `POST /2fa/token`: check a code; on success the session completes.
pub(crate) async fn token(Post(mut ctx, form): Post<TokenForm>) -> Response {
    let page = ctx.shared.prefix.clone();
    match verify(&mut ctx, &form.token, form.remember).await {
        Ok(response) => response,
        Err(error) => refuse(ctx.format, &page, &error),
    }
}

async fn verify(ctx: &mut Ctx, token: &str, remember: bool) -> Result<Response, RouteError> {
    let state = ctx.signed_in()?;
    if let Some(passed) = state.passed {
        // Already done: say where to go, and change nothing. Re-marking the
        // session here would make it "fresh" without any code checked.
        return Ok(super::completed(ctx.format, state, passed.method));
    }
    let shared = ctx.shared.clone();
    if !shared.policy.codes {
        return Err(RouteError::ChannelOff);
    }
    let enrollment = enrollment(ctx).await?;
    check_code(&shared, &enrollment, token).await?;
    confirm_enrollment(&shared, &enrollment).await?;
    let mut response = finish(ctx, SecondFactorMethod::Code).await?;
    if remember {
        device::remember(&shared, &enrollment, &mut response).await;
    }
    Ok(response)
}

/// Checks a code for this enrollment: the shape first (no provider call,
/// nothing counted), then the lockout, then the provider; wrong codes count
/// towards the lockout.
pub(crate) async fn check_code(
    shared: &Shared,
    enrollment: &Enrollment,
    token: &str,
) -> Result<(), RouteError> {
    // A code is a digit string: leading zeros are kept, and anything else is
    // refused without a provider call or a counted failure.
    let token = token.trim();
    if !(6..=12).contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RouteError::InvalidInput("a code is 6 to 12 digits".into()));
    }
    // The attempt is counted before the check, atomically: parallel guesses
    // cannot get past the lockout. A right code clears the count.
    let user = enrollment.user_id.clone();
    let rule = shared.policy.lockout;
    let after = match shared
        .store
        .record_attempt(&user, rule, SystemTime::now())
        .await?
    {
        Attempt::Counted(after) => after,
        Attempt::Refused { until } => return Err(RouteError::LockedOut { until }),
    };
    match shared
        .provider
        .verify_code(&enrollment.provider_user_id, token)
        .await
    {
        Ok(()) => {
            shared.store.clear_attempts(&user).await?;
            Ok(())
        }
        Err(ProviderError::CodeRejected) => {
            tracing::info!(user = %user, "tower-authy: wrong code");
            match after.locked_until {
                Some(until) => Err(RouteError::LockedOut { until }),
                None => Err(RouteError::CodeRejected {
                    remaining: rule.max_failures.saturating_sub(after.failures),
                }),
            }
        }
        // The provider could not say: the attempt stays counted (it may
        // have reached the provider), which errs on the side of the lockout.
        Err(other) => Err(other.into()),
    }
}

/// A first passed challenge confirms a pending enrollment.
pub(crate) async fn confirm_enrollment(
    shared: &Shared,
    enrollment: &Enrollment,
) -> Result<(), RouteError> {
    if enrollment.state == EnrollmentState::PendingConfirmation {
        let result = shared
            .store
            .transition_enrollment(
                &enrollment.user_id,
                EnrollmentState::PendingConfirmation,
                EnrollmentState::Enabled,
                SystemTime::now(),
            )
            .await;
        // Confirmed meanwhile by another tab: the same outcome.
        match result {
            Ok(_) => {}
            Err(error) if error.is_conflict() => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
pub(crate) struct Empty {}

/// `POST /2fa/sms`.
pub(crate) async fn sms(Post(ctx, _): Post<Empty>) -> Response {
    send(ctx, Channel::Sms).await
}

/// `POST /2fa/call`.
pub(crate) async fn call(Post(ctx, _): Post<Empty>) -> Response {
    send(ctx, Channel::Call).await
}

async fn send(ctx: Ctx, channel: Channel) -> Response {
    // While an enrollment awaits its first code, the user is on the
    // enrollment's confirm step: answer back there.
    let page = match enrollment(&ctx).await {
        Ok(e) if e.state == EnrollmentState::PendingConfirmation => {
            format!("{}/enroll", ctx.shared.prefix)
        }
        _ => ctx.shared.prefix.clone(),
    };
    match send_code(&ctx, channel).await {
        Ok(notice) => match ctx.format {
            Format::Html => reply::see_other(&reply::with_query(&page, "notice", notice)),
            Format::Json => reply::json(
                StatusCode::OK,
                json!({"status": notice, "channel": channel.as_str(), "message": message_for(notice)}),
            ),
        },
        Err(error) => refuse(ctx.format, &page, &error),
    }
}

/// The key the send limit is counted under: the user's failure counter,
/// in a namespace no application user id can enter (a control character).
pub(crate) fn send_counter(user: &UserId) -> UserId {
    UserId::new(format!("\u{1}send\u{1}{user}"))
}

/// Counts one send (SMS, call or push) against the user's limit before it
/// happens, atomically: concurrent requests can never send more than the
/// limit allows.
pub(crate) async fn reserve_send(shared: &Shared, user: &UserId) -> Result<(), RouteError> {
    let counter = send_counter(user);
    match shared
        .store
        .record_attempt(&counter, shared.policy.send_limit, SystemTime::now())
        .await?
    {
        Attempt::Counted(_) => Ok(()),
        Attempt::Refused { until } => Err(RouteError::TooManyCodes { until: Some(until) }),
    }
}

async fn send_code(ctx: &Ctx, channel: Channel) -> Result<&'static str, RouteError> {
    let shared = &ctx.shared;
    let mode = match channel {
        Channel::Sms => shared.policy.sms,
        Channel::Call => shared.policy.call,
    };
    if mode == ChannelMode::Off {
        return Err(RouteError::ChannelOff);
    }
    let state = ctx.signed_in()?;
    let enrollment = enrollment(ctx).await?;
    // A signed-in user turning 2FA on still needs a code to confirm it.
    if state.passed.is_some() && enrollment.state != EnrollmentState::PendingConfirmation {
        return Err(RouteError::InvalidInput(
            "the second factor is already done".into(),
        ));
    }
    reserve_send(shared, &enrollment.user_id).await?;
    let sent = shared
        .provider
        .send_code(
            &enrollment.provider_user_id,
            channel,
            mode == ChannelMode::Forced,
        )
        .await?;
    Ok(match (sent.ignored, channel) {
        (true, _) => "sent_to_app",
        (false, Channel::Sms) => "sms_sent",
        (false, Channel::Call) => "call_sent",
    })
}

/// `POST /2fa/skip`: go on without confirming a phone that was registered
/// but never confirmed — as not required under opt-in enrollment, or as one
/// of the grace logins under mandatory enrollment. A confirmed phone cannot
/// be skipped.
pub(crate) async fn skip(Post(mut ctx, _): Post<Empty>) -> Response {
    let page = ctx.shared.prefix.clone();
    match skip_unconfirmed(&mut ctx).await {
        Ok(response) => response,
        Err(error) => refuse(ctx.format, &page, &error),
    }
}

async fn skip_unconfirmed(ctx: &mut Ctx) -> Result<Response, RouteError> {
    let state = ctx.signed_in()?;
    if let Some(passed) = state.passed {
        return Ok(super::completed(ctx.format, state, passed.method));
    }
    let enrollment = enrollment(ctx).await?;
    if enrollment.state != EnrollmentState::PendingConfirmation {
        return Err(RouteError::NotPossible(
            "two-factor sign-in is on: use your phone".into(),
        ));
    }
    let shared = ctx.shared.clone();
    let method = match shared.policy.enrollment {
        EnrollmentPolicy::OptIn => SecondFactorMethod::NotRequired,
        EnrollmentPolicy::Mandatory { grace_logins, .. } => {
            match shared
                .store
                .use_grace_login(&enrollment.user_id, grace_logins)
                .await?
            {
                GraceLogin::Granted { .. } => SecondFactorMethod::GraceLogin,
                GraceLogin::Exhausted => {
                    return Err(RouteError::NotPossible(
                        "confirm your phone to continue: no grace logins are left".into(),
                    ));
                }
            }
        }
    };
    finish(ctx, method).await
}

#[cfg(test)]
mod tests {
    use super::in_words;

    #[test]
    fn waits_read_as_people_say_them() {
        assert_eq!(in_words(1), "1 second");
        assert_eq!(in_words(45), "45 seconds");
        assert_eq!(in_words(60), "1 minute");
        assert_eq!(in_words(61), "2 minutes");
        assert_eq!(in_words(900), "15 minutes");
    }
}
