//! Adding an address that gets codes (an addition to design.md's route
//! table): `POST {prefix}/contact` with `kind` (`verify_email`,
//! `verify_whatsapp` or `verify_call`), `address` and an optional `label`
//! registers it, pending, and sends its first code; the page that answers
//! asks for that code, which `POST {prefix}/factors/{id}/confirm` checks
//! (`confirm.rs`). Until then the settings page lists it as waiting.

use std::time::SystemTime;

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::context::{Ctx, Post};
use super::forms::text;
use super::reply;
use crate::domain::Refusal;
use crate::negotiate::Format;
use crate::session::from_unix;
use crate::store::FactorKind;
use crate::ui::Template;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ContactForm {
    #[serde(default, deserialize_with = "text")]
    kind: String,
    #[serde(default, deserialize_with = "text")]
    address: String,
    #[serde(default, deserialize_with = "text")]
    label: String,
}

/// `POST {prefix}/contact`.
pub(crate) async fn start(Post(ctx, form): Post<ContactForm>) -> Response {
    let page = ctx.shared.settings_page();
    match begin(&ctx, &form).await {
        Ok(response) => response,
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}

async fn begin(ctx: &Ctx, form: &ContactForm) -> Result<Response, Refusal> {
    let shared = &ctx.shared;
    let state = ctx.signed_in()?;
    let kind: FactorKind = form
        .kind
        .parse()
        .map_err(|_| Refusal::InvalidInput("no such kind of address".into()))?;
    let passed = state.passed.map(|p| (p.method, from_unix(p.at)));
    let (factor, sent) = shared
        .rules
        .start_contact(
            &state.user_id,
            kind,
            &form.address,
            &form.label,
            passed,
            SystemTime::now(),
        )
        .await?;
    let prefix = &shared.prefix;
    let confirm = format!("{prefix}/factors/{}/confirm", factor.id);
    Ok(match ctx.format {
        Format::Json => reply::json(
            StatusCode::CREATED,
            json!({
                "status": sent,
                "message": sent.message(),
                "factor_id": factor.id,
                "kind": factor.kind.as_str(),
                "hint": factor.hint,
                "confirm": confirm,
            }),
        ),
        Format::Html => reply::page(
            &shared.ui,
            Template::Contact,
            json!({
                "prefix": prefix,
                "csrf": state.csrf,
                "label": factor.label,
                "hint": factor.hint,
                "notice": sent.message(),
                "confirm": confirm,
                "settings": shared.settings_page(),
            }),
        ),
    })
}
