//! The signed-in user's factors: `GET {prefix}/factors` lists them, `POST
//! {prefix}/factors/{id}/remove` removes one (with a current second factor,
//! as the rules say). Browsers see the list on the settings page.

use std::time::SystemTime;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::context::{Ctx, Post};
use super::forms::{flag, text};
use super::{device, reply, view};
use crate::code::Code;
use crate::domain::{Refusal, backup_codes_left};
use crate::negotiate::Format;
use crate::session::from_unix;
use crate::store::FactorId;

/// `GET {prefix}/factors`: `{"factors": […], "backup_codes_left": n}` for a
/// session that passed its second factor; a browser is sent to the settings
/// page, which lists them.
pub(crate) async fn list(ctx: Ctx) -> Response {
    let shared = ctx.shared.clone();
    if ctx.format == Format::Html {
        return reply::see_other(&shared.settings_page());
    }
    let result = async {
        let state = ctx.signed_in()?;
        if state.passed.is_none() {
            return Err(Refusal::SecondFactorRequired);
        }
        Ok(shared.rules.store.factors(&state.user_id).await?)
    }
    .await;
    match result {
        Ok(factors) => reply::json(
            StatusCode::OK,
            json!({
                "factors": view::listed(&factors),
                "backup_codes_left": backup_codes_left(&factors),
            }),
        ),
        Err(refusal) => reply::json_refusal(&refusal),
    }
}

/// What removing a factor needs: a current code and the user's yes.
#[derive(Debug, Deserialize)]
pub(crate) struct RemoveForm {
    #[serde(default, deserialize_with = "text")]
    token: String,
    #[serde(default, deserialize_with = "flag")]
    confirm: bool,
}

/// `POST {prefix}/factors/{id}/remove`.
pub(crate) async fn remove(Path(id): Path<String>, Post(ctx, form): Post<RemoveForm>) -> Response {
    let shared = ctx.shared.clone();
    let page = shared.settings_page();
    let result = async {
        if !FactorId::is_well_formed(&id) {
            return Err(Refusal::UnknownFactor);
        }
        let state = ctx.signed_in()?;
        let passed = state
            .passed
            .map(|p| (p.method, from_unix(p.at), p.generation));
        let generation = shared
            .rules
            .remove(
                &state.user_id,
                Some(&FactorId::new(id)),
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
            let mut response = reply::notice(ctx.format, &page, Code::FactorRemoved, json!({}));
            device::clear(&shared, &mut response);
            response
        }
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}
