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
//! Turning 2FA off needs, every time, `confirm=true` and a current code as
//! `token` (checked, and counted towards the lockout, like any code); only
//! where the policy turns codes off does a OneTouch approval within
//! `fresh_for_changes` stand in for the code. Under
//! mandatory enrollment it is allowed only when the policy allows opting out
//! and grace logins remain. It deletes the user at the provider, marks the
//! enrollment disabled and voids every remembered device.

use std::time::SystemTime;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::complete;
use super::context::{Ctx, Post};
use super::device;
use super::forms::{flag, text};
use super::messages::PageMessages;
use super::{reply, view};
use crate::code::Code;
use crate::config::ChannelMode;
use crate::domain::{Refusal, Replace, backup_codes_left, validate};
use crate::negotiate::Format;
use crate::session::{self, SecondFactorMethod, from_unix};
use crate::store::{Factor, FactorKind};
use crate::ui::Template;

/// Where the enrollment page stands, as its template's `step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Step {
    /// The form: e-mail, country code, phone.
    Enroll,
    /// Registered; the first code confirms it.
    Confirm,
    /// On.
    Enabled,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    error: Option<String>,
    notice: Option<String>,
}

/// `GET {prefix}/enroll`.
pub(crate) async fn page(ctx: Ctx, Query(query): Query<PageQuery>) -> Response {
    match show(&ctx, query).await {
        Ok(response) => response,
        Err(Refusal::LoginRequired) if ctx.format == Format::Html => reply::see_other(
            &reply::with_query(&ctx.shared.login_path, "next", &ctx.shared.settings_page()),
        ),
        Err(refusal) => reply::error_page(
            &ctx.shared.ui,
            ctx.format,
            &ctx.shared.settings_page(),
            &refusal,
        ),
    }
}

async fn show(ctx: &Ctx, query: PageQuery) -> Result<Response, Refusal> {
    let shared = &ctx.shared;
    let rules = &shared.rules;
    let state = ctx.signed_in()?;
    let user = &state.user_id;
    let all = rules.store.factors(user).await?;
    let on = all
        .iter()
        .any(|factor| factor.is_active() && factor.kind.turns_on_two_factor());
    let enrollment = rules.phone_of(all.clone());
    let (step, masked_phone) = match &enrollment {
        Some(e) if !e.is_active() => (Step::Confirm, e.hint.clone()),
        Some(e) => (Step::Enabled, e.hint.clone()),
        None if on => (Step::Enabled, None),
        None => (Step::Enroll, None),
    };
    let passed = state.passed.is_some();
    let checked = state.passed.is_some_and(|p| p.method.is_checked());
    let can_replace = match &enrollment {
        Some(e) if step == Step::Confirm => checked || registered_here(ctx, e).await?,
        _ => false,
    };
    let can_disable = step == Step::Enabled && passed && rules.opt_out_allowed(user).await?;
    let policy = &rules.policy;
    let prefix = &shared.prefix;
    let identity: Vec<&str> = enrollment
        .iter()
        .filter_map(|e| e.identity.as_deref())
        .collect();
    let shown = PageMessages::of(
        rules,
        user,
        &identity,
        query.error.as_deref(),
        query.notice.as_deref(),
    )
    .await?;
    let refill = match ctx.format {
        Format::Html => session::take_refused_form::<EnrollForm>(&ctx.session)
            .await?
            .unwrap_or_default(),
        Format::Json => EnrollForm::default(),
    };
    let sms = policy.sms != ChannelMode::Off;
    let call = policy.call != ChannelMode::Off;
    // The list is for a session that passed: a password alone learns no
    // more than the challenge shows.
    let factors: Vec<_> = if passed {
        view::listed(&all)
    } else {
        Vec::new()
    };
    let contacts: Vec<_> = rules
        .contact_kinds()
        .into_iter()
        .map(|kind| json!({"kind": kind.as_str(), "name": contact_name(kind)}))
        .collect();
    let provider_apps: Vec<_> = rules
        .provider_app_kinds()
        .into_iter()
        .map(|kind| kind.as_str())
        .collect();
    let offers = json!({
        "phones": rules.registers_phones(),
        "authenticator_apps": rules.offers_authenticator_apps(),
        "provider_apps": provider_apps,
        "contacts": contacts,
        "passkeys": rules.offers_passkeys(),
        "backup_codes": rules.offers_backup_codes(),
    });
    // Added and waiting for their first code (not the phone, which has its
    // own confirm step): each can be confirmed from here.
    let phone_id = enrollment.as_ref().map(|e| e.id.clone());
    // While two-factor sign-in is on, like the list: only for a session
    // that passed (a password alone learns nothing of the factors).
    let awaiting: Vec<_> = all
        .iter()
        .filter(|_| passed || !on)
        .filter(|f| {
            !f.is_active() && f.kind.turns_on_two_factor() && Some(&f.id) != phone_id.as_ref()
        })
        .map(view::choice)
        .collect();
    let codes_left = passed.then(|| backup_codes_left(&all));
    Ok(match ctx.format {
        Format::Json => {
            let mut body =
                json!({"status": step, "csrf": state.csrf, "return": shared.return_path});
            match step {
                Step::Confirm => {
                    body["masked_phone"] = json!(masked_phone);
                    body["verify"] = json!(format!("{prefix}/enroll/verify"));
                    body["can_replace"] = json!(can_replace);
                    body["channels"] = json!({"sms": sms, "call": call});
                }
                Step::Enabled => {
                    body["masked_phone"] = json!(masked_phone);
                    body["can_disable"] = json!(can_disable);
                    body["code_for_changes"] = json!(rules.asks_code_for_changes(&all));
                    body["factors"] = json!(factors);
                    body["backup_codes_left"] = json!(codes_left);
                }
                Step::Enroll => {}
            }
            body["offers"] = offers;
            body["awaiting"] = json!(awaiting);
            reply::json(StatusCode::OK, body)
        }
        Format::Html => reply::page(
            &shared.ui,
            Template::Enroll,
            json!({
                "prefix": prefix,
                "csrf": state.csrf,
                "step": step,
                "passed": passed,
                "masked_phone": masked_phone,
                "codes": policy.codes,
                "code_for_changes": rules.asks_code_for_changes(&all),
                "sms": sms,
                "call": call,
                "remember": policy.remember_device.is_some(),
                "can_disable": can_disable,
                "can_replace": can_replace,
                "factors": factors,
                "offers": offers,
                "awaiting": awaiting,
                "backup_codes_left": codes_left,
                "return_path": shared.return_path,
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
        ),
    })
}

/// How the settings page names a kind of address.
fn contact_name(kind: FactorKind) -> &'static str {
    match kind {
        FactorKind::VerifyEmail => "E-mail",
        FactorKind::VerifyWhatsapp => "WhatsApp",
        FactorKind::VerifyCall => "Voice calls",
        _ => "Messages",
    }
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

/// `POST {prefix}/enroll`.
pub(crate) async fn enroll(Post(ctx, form): Post<EnrollForm>) -> Response {
    let page = ctx.shared.settings_page();
    match register(&ctx, &form).await {
        Ok(enrollment) => {
            let prefix = &ctx.shared.prefix;
            reply::notice(
                ctx.format,
                &page,
                Code::Enrolled,
                json!({
                    "status": "confirm",
                    "masked_phone": enrollment.hint,
                    "verify": format!("{prefix}/enroll/verify"),
                    "sms": format!("{prefix}/sms"),
                    "call": format!("{prefix}/call"),
                    "message": "Confirm with a code from the Authy app, or ask for one by text message or call.",
                }),
            )
        }
        Err(refusal) => {
            if ctx.format == Format::Html {
                // Losing it costs only the convenience of a filled form.
                let _ = session::keep_refused_form(&ctx.session, &form).await;
            }
            reply::refuse(ctx.format, &page, &refusal)
        }
    }
}

async fn register(ctx: &Ctx, form: &EnrollForm) -> Result<Factor, Refusal> {
    let rules = &ctx.shared.rules;
    let state = ctx.signed_in()?;
    let request = validate(&form.email, &form.country_code, &form.phone_number)?;
    let user = &state.user_id;
    // A phone awaiting its first code may be replaced (a typo) by a session
    // that passed a checked second factor or that registered it itself: a
    // password alone — and a session that merely skipped the unconfirmed
    // phone — never swaps in another phone.
    let checked = state.passed.is_some_and(|p| p.method.is_checked());
    let replace = match rules.phone(user).await? {
        Some(e) if !e.is_active() => {
            if checked || registered_here(ctx, &e).await? {
                Replace::Unconfirmed
            } else {
                Replace::Nothing
            }
        }
        _ => Replace::Nothing,
    };
    let passed = state.passed.map(|p| (p.method, from_unix(p.at)));
    let enrollment = rules
        .enroll(user, &request, replace, passed, SystemTime::now())
        .await?;
    ctx.writable().await?;
    session::mark_enrolling(&ctx.session, user, enrollment.id.as_str()).await?;
    Ok(enrollment)
}

/// Whether this session registered the enrollment (and may replace it
/// before confirming).
async fn registered_here(ctx: &Ctx, enrollment: &Factor) -> Result<bool, Refusal> {
    Ok(session::enrolled_here(&ctx.session, &enrollment.user_id, enrollment.id.as_str()).await?)
}

#[derive(Debug, Deserialize)]
pub(crate) struct VerifyForm {
    #[serde(default, deserialize_with = "text")]
    token: String,
    #[serde(default, deserialize_with = "flag")]
    remember: bool,
}

/// `POST {prefix}/enroll/verify`.
pub(crate) async fn verify(Post(mut ctx, form): Post<VerifyForm>) -> Response {
    let page = ctx.shared.settings_page();
    match confirm(&mut ctx, &form).await {
        Ok(response) => response,
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}

async fn confirm(ctx: &mut Ctx, form: &VerifyForm) -> Result<Response, Refusal> {
    let shared = ctx.shared.clone();
    let rules = &shared.rules;
    let state = ctx.signed_in()?;
    let user = state.user_id.clone();
    let already_passed = state.passed.is_some();
    if !rules.policy.codes {
        return Err(Refusal::ChannelOff);
    }
    let generation = rules.generation(&user).await?;
    let passed = state.passed.map(|p| (p.method, from_unix(p.at)));
    let now = SystemTime::now();
    let (enrollment, turned_on) = rules.confirm_phone(&user, passed, &form.token, now).await?;
    let generation = turned_on.unwrap_or(generation);
    // The marker has done its job; a confirmed enrollment is never replaced.
    let _ = session::forget_enrolling(&ctx.session).await;
    tracing::info!(user = %user, "tower-authy: enrollment confirmed");
    let mut response = complete::confirmed(
        ctx,
        SecondFactorMethod::Code,
        already_passed,
        generation,
        now,
    )
    .await?;
    if form.remember {
        device::remember(&shared, &enrollment, &mut response).await;
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub(crate) struct DisableForm {
    /// A current code.
    #[serde(default, deserialize_with = "text")]
    token: String,
    /// "Yes, turn it off".
    #[serde(default, deserialize_with = "flag")]
    confirm: bool,
}

/// `POST {prefix}/disable`.
pub(crate) async fn disable(Post(ctx, form): Post<DisableForm>) -> Response {
    let shared = ctx.shared.clone();
    let page = shared.settings_page();
    let result = async {
        let state = ctx.signed_in()?;
        let passed = state
            .passed
            .map(|p| (p.method, from_unix(p.at), p.generation));
        let generation = shared
            .rules
            .turn_off(
                &state.user_id,
                passed,
                form.confirm,
                &form.token,
                SystemTime::now(),
            )
            .await?;
        ctx.keep_pass(generation).await
    }
    .await;
    match result {
        Ok(()) => {
            let mut response = reply::notice(ctx.format, &page, Code::Disabled, json!({}));
            device::clear(&shared, &mut response);
            response
        }
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}
