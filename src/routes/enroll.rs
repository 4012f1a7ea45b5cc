//! Turning two-factor sign-in on and off.
//!
//! | method | path | does |
//! |---|---|---|
//! | GET | `{prefix}/enroll` | the form; the confirm step while the enrollment awaits its first code; "on" (with "turn off" and "forget devices") once confirmed |
//! | POST | `{prefix}/enroll` | `email`, `country_code`, `phone_number`: registers the user with the provider; 2FA is enforced only once confirmed |
//! | POST | `{prefix}/enroll/verify` | `token` (and `remember`): the first code, which confirms the enrollment and, for a session still waiting on its second factor, completes it |
//! | POST | `{prefix}/disable` | turns 2FA off (see below); an addition to design.md's route table |
//! | POST | `{prefix}/devices/forget` | voids every remembered device of the user; an addition to design.md's route table |
//!
//! Enrolling needs the first factor only: that is how users under mandatory
//! enrollment get in. An enrollment that is already on cannot be replaced
//! (turn it off first), and one awaiting confirmation can be replaced only by
//! a session that passed its second factor or that registered it itself, so
//! a password alone never swaps in another phone.
//!
//! Turning 2FA off needs a fresh second factor: a code or approval passed
//! within the policy's `fresh_for_changes`, or a `token` sent with the
//! request (checked, and counted towards the lockout, like any code). Under
//! mandatory enrollment it is allowed only when the policy allows opting out
//! and grace logins remain. It deletes the user at the provider, marks the
//! enrollment disabled and voids every remembered device.

use std::time::{Duration, SystemTime};

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use super::challenge::{PageMessages, check_code, confirm_enrollment, flag};
use super::context::{Ctx, Post};
use super::reply::{self, Format, RouteError, refuse};
use super::{Shared, device, finish};
use crate::config::{ChannelMode, EnrollmentPolicy};
use crate::provider::{EnrollmentRequest, ProviderError};
use crate::session::{self, SecondFactorMethod, unix};
use crate::store::{Enrollment, EnrollmentState, UserId};

/// The session key that records which pending enrollment this session
/// registered, so it may correct a typo before confirming.
const ENROLLING: &str = "tower_authy_enrolling";

/// The session key that keeps a refused enrollment form for the page that
/// says what was wrong, so the user corrects one field instead of
/// retyping three. Shown once, to the same session only.
const REFUSED_FORM: &str = "tower_authy_refused_enrollment";

#[derive(Serialize, Deserialize)]
struct Registered {
    user: String,
    provider_user_id: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    error: Option<String>,
    notice: Option<String>,
}

fn enroll_page(shared: &Shared) -> String {
    format!("{}/enroll", shared.prefix)
}

/// `GET {prefix}/enroll`.
pub(crate) async fn page(ctx: Ctx, Query(query): Query<PageQuery>) -> Response {
    match show(&ctx, query).await {
        Ok(response) => response,
        Err(RouteError::LoginRequired) if ctx.format == Format::Html => reply::see_other(
            &reply::with_query(&ctx.shared.login_path, "next", &enroll_page(&ctx.shared)),
        ),
        Err(error) => reply::error_page(
            &ctx.shared.ui,
            ctx.format,
            &enroll_page(&ctx.shared),
            &error,
        ),
    }
}

async fn show(ctx: &Ctx, query: PageQuery) -> Result<Response, RouteError> {
    let shared = &ctx.shared;
    let state = ctx.signed_in()?;
    let user = UserId::new(state.user_id.clone());
    let enrollment = shared.store.enrollment(&user).await?;
    let (step, masked_phone) = match &enrollment {
        Some(e) if e.state == EnrollmentState::Enabled => ("enabled", e.masked_phone.clone()),
        Some(e) if e.state == EnrollmentState::PendingConfirmation => {
            ("confirm", e.masked_phone.clone())
        }
        _ => ("enroll", None),
    };
    let passed = state.passed.is_some();
    let can_replace = match &enrollment {
        Some(e) if step == "confirm" => passed || registered_here(ctx, e).await?,
        _ => false,
    };
    let can_disable = step == "enabled" && passed && opt_out_allowed(shared, &user).await?;
    let policy = &shared.policy;
    let prefix = &shared.prefix;
    let shown = PageMessages::of(shared, &user, &query.error, &query.notice).await?;
    let refill = match ctx.format {
        Format::Html => ctx
            .session
            .remove::<EnrollForm>(REFUSED_FORM)
            .await
            .map_err(session_failed)?
            .unwrap_or_default(),
        Format::Json => EnrollForm::default(),
    };
    Ok(match ctx.format {
        Format::Json => {
            let mut body = json!({"status": step, "csrf": state.csrf});
            match step {
                "confirm" => {
                    body["masked_phone"] = json!(masked_phone);
                    body["verify"] = json!(format!("{prefix}/enroll/verify"));
                    body["can_replace"] = json!(can_replace);
                    body["channels"] = json!({
                        "sms": policy.sms != ChannelMode::Off,
                        "call": policy.call != ChannelMode::Off,
                    });
                }
                "enabled" => {
                    body["masked_phone"] = json!(masked_phone);
                    body["can_disable"] = json!(can_disable);
                }
                _ => {}
            }
            reply::json(StatusCode::OK, body)
        }
        Format::Html => reply::page(shared.ui.render(
            "enroll.html",
            json!({
                "prefix": prefix,
                "csrf": state.csrf,
                "step": step,
                "passed": passed,
                "masked_phone": masked_phone,
                "codes": policy.codes,
                "sms": policy.sms != ChannelMode::Off,
                "call": policy.call != ChannelMode::Off,
                "remember": policy.remember_device.is_some(),
                "can_disable": can_disable,
                "can_replace": can_replace,
                "email": refill.email,
                "country_code": refill.country_code,
                "phone_number": refill.phone_number,
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

/// Text from a form field, or a JSON string or number.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct EnrollForm {
    #[serde(default, deserialize_with = "text")]
    email: String,
    #[serde(default, deserialize_with = "text")]
    country_code: String,
    #[serde(default, deserialize_with = "text")]
    phone_number: String,
}

fn invalid(code: &'static str, message: &str) -> RouteError {
    RouteError::InvalidField {
        code,
        message: message.into(),
    }
}

/// A plausible address: one `@`, a local part, a dotted domain of letters,
/// digits and hyphens, no spaces.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !local.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// Checks the form before anything is sent to the provider.
fn validate(form: &EnrollForm) -> Result<EnrollmentRequest, RouteError> {
    let email = form.email.trim();
    if !valid_email(email) {
        return Err(invalid(
            "invalid_email",
            "the e-mail address must look like name@example.com",
        ));
    }
    let code = form.country_code.trim();
    let code = code.strip_prefix('+').unwrap_or(code);
    let country_code =
        (!code.is_empty() && code.len() <= 3 && code.bytes().all(|b| b.is_ascii_digit()))
            .then(|| code.parse::<u16>().ok())
            .flatten()
            .filter(|c| (1..=999).contains(c))
            .ok_or_else(|| {
                invalid(
                    "invalid_country_code",
                    "the country calling code must be a number from 1 to 999, like 1 or 44",
                )
            })?;
    let phone = form.phone_number.trim();
    let separators = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')');
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if !phone.chars().all(separators) || !(4..=15).contains(&digits) {
        return Err(invalid(
            "invalid_phone_number",
            "the phone number must be 4 to 15 digits; spaces, dashes, dots and brackets are allowed",
        ));
    }
    Ok(EnrollmentRequest::new(email, country_code, phone))
}

/// `POST {prefix}/enroll`.
pub(crate) async fn enroll(Post(ctx, form): Post<EnrollForm>) -> Response {
    let page = enroll_page(&ctx.shared);
    match register(&ctx, &form).await {
        Ok(enrollment) => match ctx.format {
            Format::Html => reply::see_other(&reply::with_query(&page, "notice", "enrolled")),
            Format::Json => {
                let prefix = &ctx.shared.prefix;
                reply::json(
                    StatusCode::OK,
                    json!({
                        "status": "confirm",
                        "masked_phone": enrollment.masked_phone,
                        "verify": format!("{prefix}/enroll/verify"),
                        "sms": format!("{prefix}/sms"),
                        "call": format!("{prefix}/call"),
                        "message": "Confirm with a code from the Authy app, or ask for one by text message or call.",
                    }),
                )
            }
        },
        Err(error) => {
            if ctx.format == Format::Html {
                // Losing it costs only the convenience of a filled form.
                let _ = ctx.session.insert(REFUSED_FORM, &form).await;
            }
            refuse(ctx.format, &page, &error)
        }
    }
}

async fn register(ctx: &Ctx, form: &EnrollForm) -> Result<Enrollment, RouteError> {
    let shared = &ctx.shared;
    let state = ctx.signed_in()?;
    let request = validate(form)?;
    let user = UserId::new(state.user_id.clone());
    let current = shared.store.enrollment(&user).await?;
    let unconfirmed = match &current {
        Some(e) if e.state == EnrollmentState::Enabled => return Err(RouteError::AlreadyEnabled),
        Some(e) if e.state == EnrollmentState::PendingConfirmation => Some(e.clone()),
        _ => None,
    };
    let may_replace = match &unconfirmed {
        None => true,
        Some(e) => state.passed.is_some() || registered_here(ctx, e).await?,
    };
    if !may_replace {
        return Err(RouteError::SecondFactorRequired);
    }
    let enrolled = shared
        .provider
        .enroll(&request)
        .await
        .map_err(|error| match error {
            ProviderError::InvalidInput(message) => RouteError::InvalidField {
                code: "phone_rejected",
                message,
            },
            other => other.into(),
        })?;
    let enrollment = Enrollment::pending(
        user.clone(),
        enrolled.provider_user_id,
        Some(request.masked_phone()),
        SystemTime::now(),
    );
    // Only if nothing changed during the provider call (a confirmation in
    // another tab, another registration): never overwrite blindly.
    match shared
        .store
        .replace_enrollment(current.as_ref(), &enrollment)
        .await
    {
        Ok(()) => {}
        Err(error) if error.is_conflict() => return Err(RouteError::ChangedMeanwhile),
        Err(error) => return Err(error.into()),
    }
    let registered = Registered {
        user: user.as_str().to_owned(),
        provider_user_id: enrollment.provider_user_id.clone(),
    };
    ctx.session
        .insert(ENROLLING, registered)
        .await
        .map_err(session_failed)?;
    tracing::info!(user = %user, "tower-authy: enrolled; awaiting the first code");
    Ok(enrollment)
}

/// Whether this session registered the enrollment (and may replace it
/// before confirming).
async fn registered_here(ctx: &Ctx, enrollment: &Enrollment) -> Result<bool, RouteError> {
    Ok(ctx
        .session
        .get::<Registered>(ENROLLING)
        .await
        .map_err(session_failed)?
        .is_some_and(|r| {
            r.user == enrollment.user_id.as_str()
                && r.provider_user_id == enrollment.provider_user_id
        }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct VerifyForm {
    #[serde(default, deserialize_with = "text")]
    token: String,
    #[serde(default, deserialize_with = "flag")]
    remember: bool,
}

fn session_failed(error: tower_sessions::session::Error) -> RouteError {
    tracing::warn!(%error, "tower-authy: session store failed; refusing");
    RouteError::Storage
}

/// `POST {prefix}/enroll/verify`.
pub(crate) async fn verify(Post(mut ctx, form): Post<VerifyForm>) -> Response {
    let page = enroll_page(&ctx.shared);
    match confirm(&mut ctx, &form).await {
        Ok(response) => response,
        Err(error) => refuse(ctx.format, &page, &error),
    }
}

async fn confirm(ctx: &mut Ctx, form: &VerifyForm) -> Result<Response, RouteError> {
    let shared = ctx.shared.clone();
    let state = ctx.signed_in()?;
    let user = UserId::new(state.user_id.clone());
    let already_passed = state.passed.is_some();
    if !shared.policy.codes {
        return Err(RouteError::ChannelOff);
    }
    let enrollment = match shared.store.enrollment(&user).await? {
        Some(e) if e.state == EnrollmentState::PendingConfirmation => e,
        Some(e) if e.state == EnrollmentState::Enabled => return Err(RouteError::AlreadyEnabled),
        _ => return Err(RouteError::NotEnrolled),
    };
    check_code(&shared, &enrollment, &form.token).await?;
    confirm_enrollment(&shared, &enrollment).await?;
    // The marker has done its job; a confirmed enrollment is never replaced.
    let _ = ctx.session.remove_value(ENROLLING).await;
    tracing::info!(user = %user, "tower-authy: enrollment confirmed");
    let mut response = if already_passed {
        // The code just passed is the session's second factor from now on:
        // fresh enough to change settings.
        if !session::complete(&ctx.session, SecondFactorMethod::Code, SystemTime::now()).await? {
            return Err(RouteError::LoginRequired);
        }
        let page = enroll_page(&shared);
        match ctx.format {
            Format::Html => reply::see_other(&reply::with_query(&page, "notice", "enabled")),
            Format::Json => reply::json(StatusCode::OK, json!({"status": "enabled"})),
        }
    } else {
        finish(ctx, SecondFactorMethod::Code).await?
    };
    if form.remember {
        device::remember(&shared, &enrollment, &mut response).await;
    }
    Ok(response)
}

/// Whether the policy lets this user turn 2FA off now.
async fn opt_out_allowed(shared: &Shared, user: &UserId) -> Result<bool, RouteError> {
    Ok(match shared.policy.enrollment {
        EnrollmentPolicy::OptIn => true,
        EnrollmentPolicy::Mandatory {
            allow_opt_out: false,
            ..
        } => false,
        EnrollmentPolicy::Mandatory {
            grace_logins,
            allow_opt_out: true,
        } => shared.store.grace_logins_used(user).await? < grace_logins,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct DisableForm {
    /// A code, when the session's second factor is not fresh.
    #[serde(default, deserialize_with = "text")]
    token: String,
}

/// `POST {prefix}/disable`.
pub(crate) async fn disable(Post(ctx, form): Post<DisableForm>) -> Response {
    let shared = ctx.shared.clone();
    let page = enroll_page(&shared);
    match turn_off(&ctx, &form).await {
        Ok(()) => {
            let mut response = match ctx.format {
                Format::Html => reply::see_other(&reply::with_query(&page, "notice", "disabled")),
                Format::Json => reply::json(StatusCode::OK, json!({"status": "disabled"})),
            };
            device::clear(&shared, &mut response);
            response
        }
        Err(error) => refuse(ctx.format, &page, &error),
    }
}

/// Whether the session passed a real second factor within `window`.
fn fresh(method: SecondFactorMethod, at: u64, window: Duration) -> bool {
    let real = matches!(
        method,
        SecondFactorMethod::Code | SecondFactorMethod::OneTouch
    );
    real && unix(SystemTime::now()).saturating_sub(at) <= window.as_secs()
}

async fn turn_off(ctx: &Ctx, form: &DisableForm) -> Result<(), RouteError> {
    let shared = &ctx.shared;
    let state = ctx.signed_in()?;
    let Some(passed) = state.passed else {
        return Err(RouteError::SecondFactorRequired);
    };
    let user = UserId::new(state.user_id.clone());
    let enrollment = shared
        .store
        .enrollment(&user)
        .await?
        .filter(|e| e.state != EnrollmentState::Disabled)
        .ok_or(RouteError::NotEnrolled)?;
    if !opt_out_allowed(shared, &user).await? {
        return Err(RouteError::OptOutNotAllowed);
    }
    if !fresh(passed.method, passed.at, shared.policy.fresh_for_changes) {
        if form.token.trim().is_empty() || !shared.policy.codes {
            return Err(RouteError::FreshFactorRequired);
        }
        check_code(shared, &enrollment, &form.token).await?;
    }
    // The provider first: if it fails nothing changes and the user can
    // retry; a user it no longer knows is already what we want.
    match shared.provider.remove(&enrollment.provider_user_id).await {
        Ok(()) | Err(ProviderError::UnknownUser) => {}
        Err(other) => return Err(other.into()),
    }
    shared
        .store
        .transition_enrollment(
            &user,
            enrollment.state,
            EnrollmentState::Disabled,
            SystemTime::now(),
        )
        .await?;
    shared.store.revoke_devices(&user).await?;
    tracing::info!(user = %user, "tower-authy: two-factor sign-in turned off");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(email: &str, country_code: &str, phone_number: &str) -> EnrollForm {
        EnrollForm {
            email: email.into(),
            country_code: country_code.into(),
            phone_number: phone_number.into(),
        }
    }

    fn code_of(result: Result<EnrollmentRequest, RouteError>) -> &'static str {
        match result {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn enrollment_input_is_checked_field_by_field() {
        assert_eq!(
            code_of(validate(&form("a@example.com", "1", "555-123-4567"))),
            "ok"
        );
        assert_eq!(
            code_of(validate(&form(" a@example.com ", "+44", "(20) 7946 0018"))),
            "ok"
        );
        for email in [
            "",
            "a",
            "a@b",
            "@example.com",
            "a b@example.com",
            "a@exa mple.com",
            "a@.com",
            "a@example..com",
            "a@b@example.com",
        ] {
            assert_eq!(
                code_of(validate(&form(email, "1", "5551234567"))),
                "invalid_email",
                "{email:?}"
            );
        }
        for cc in ["", "0", "1000", "x", "1a", "-1", "+"] {
            assert_eq!(
                code_of(validate(&form("a@example.com", cc, "5551234567"))),
                "invalid_country_code",
                "{cc:?}"
            );
        }
        for phone in [
            "",
            "123",
            "555-123-456a",
            "+15551234567",
            "1234567890123456",
        ] {
            assert_eq!(
                code_of(validate(&form("a@example.com", "1", phone))),
                "invalid_phone_number",
                "{phone:?}"
            );
        }
    }

    #[test]
    fn checkboxes_and_json_flags_both_count() {
        #[derive(Deserialize)]
        struct F {
            #[serde(default, deserialize_with = "flag")]
            remember: bool,
        }
        let read = |v: Value| serde_json::from_value::<F>(v).unwrap().remember;
        assert!(read(json!({"remember": true})));
        assert!(read(json!({"remember": "true"})));
        assert!(read(json!({"remember": "on"})));
        assert!(!read(json!({"remember": "false"})));
        assert!(!read(json!({"remember": false})));
        assert!(!read(json!({})));
    }

    #[test]
    fn only_real_recent_factors_are_fresh() {
        let now = unix(SystemTime::now());
        let window = Duration::from_secs(300);
        assert!(fresh(SecondFactorMethod::Code, now - 10, window));
        assert!(fresh(SecondFactorMethod::OneTouch, now, window));
        assert!(!fresh(SecondFactorMethod::Code, now - 301, window));
        for method in [
            SecondFactorMethod::NotRequired,
            SecondFactorMethod::GraceLogin,
            SecondFactorMethod::RememberedDevice,
        ] {
            assert!(!fresh(method, now, window), "{method:?}");
        }
    }
}
