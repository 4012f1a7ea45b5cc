//! Passkeys and security keys: the two WebAuthn ceremonies, each a start
//! (JSON: the options for `navigator.credentials`) and a finish (the
//! browser's answer as `credential`, JSON or its text in a form field, so a
//! page can post it as a plain form and get a page back).
//!
//! | method | path | does |
//! |---|---|---|
//! | POST | `{prefix}/webauthn/register/start` | `label`: begins adding a passkey; who may is as for any factor |
//! | POST | `{prefix}/webauthn/register/finish` | `credential`: adds it, active; a first factor comes with backup codes |
//! | POST | `{prefix}/webauthn/authenticate/start` | begins passing the challenge with a passkey |
//! | POST | `{prefix}/webauthn/authenticate/finish` | `credential`: passes the challenge |
//!
//! The ceremony is kept in the session (server-side), for five minutes,
//! and answered once.

use std::time::SystemTime;

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use super::complete::{self, completed, finish};
use super::context::{Ctx, Post};
use super::forms::{Empty, text};
use super::reply;
use crate::domain::{KeptCeremony, Refusal};
use crate::session::{self, SecondFactorMethod, from_unix};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LabelForm {
    #[serde(default, deserialize_with = "text")]
    label: String,
}

/// The browser's answer: `PublicKeyCredential.toJSON()`, as JSON or as
/// its text (a form field).
#[derive(Debug, Deserialize)]
pub(crate) struct AnswerForm {
    #[serde(default)]
    credential: Value,
}

impl AnswerForm {
    fn credential(&self) -> Result<Value, Refusal> {
        let value = match &self.credential {
            Value::String(text) => serde_json::from_str(text)
                .map_err(|_| Refusal::InvalidInput("the passkey's answer is not JSON".into()))?,
            other => other.clone(),
        };
        if value.is_object() {
            Ok(value)
        } else {
            Err(Refusal::InvalidInput(
                "the passkey's answer is missing".into(),
            ))
        }
    }
}

/// The options for the browser, after the ceremony was kept.
async fn options(ctx: &Ctx, options: Value, kept: &KeptCeremony) -> Result<Response, Refusal> {
    ctx.writable().await?;
    session::keep_ceremony(&ctx.session, kept).await?;
    Ok(reply::json(StatusCode::OK, options))
}

/// `POST {prefix}/webauthn/register/start`.
pub(crate) async fn register_start(Post(ctx, form): Post<LabelForm>) -> Response {
    let page = ctx.shared.settings_page();
    let result = async {
        let state = ctx.signed_in()?;
        let passed = state.passed.map(|p| (p.method, from_unix(p.at)));
        let (browser, kept) = ctx
            .shared
            .rules
            .start_passkey_registration(&state.user_id, &form.label, passed, SystemTime::now())
            .await?;
        options(&ctx, browser, &kept).await
    }
    .await;
    result.unwrap_or_else(|refusal| reply::refuse(ctx.format, &page, &refusal))
}

/// `POST {prefix}/webauthn/register/finish`.
pub(crate) async fn register_finish(Post(mut ctx, form): Post<AnswerForm>) -> Response {
    let page = ctx.shared.settings_page();
    match registered(&mut ctx, &form).await {
        Ok(response) => response,
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}

async fn registered(ctx: &mut Ctx, form: &AnswerForm) -> Result<Response, Refusal> {
    let shared = ctx.shared.clone();
    let rules = &shared.rules;
    let state = ctx.signed_in()?;
    let user = state.user_id.clone();
    let already_passed = state.passed.is_some();
    let passed = state.passed.map(|p| (p.method, from_unix(p.at)));
    let now = SystemTime::now();
    ctx.writable().await?;
    let kept = session::take_ceremony(&ctx.session).await?;
    let credential = form.credential()?;
    let generation = rules.generation(&user).await?;
    let (_, turned_on) = rules
        .finish_passkey_registration(&user, kept, &credential, passed, now)
        .await?;
    let generation = turned_on.unwrap_or(generation);
    complete::confirmed(
        ctx,
        SecondFactorMethod::Passkey,
        already_passed,
        generation,
        now,
    )
    .await
}

/// `POST {prefix}/webauthn/authenticate/start`.
pub(crate) async fn authenticate_start(Post(ctx, _): Post<Empty>) -> Response {
    let page = ctx.shared.prefix.clone();
    let result = async {
        let state = ctx.signed_in()?;
        if state.passed.is_some() {
            return Err(Refusal::InvalidInput(
                "the second factor is already done".into(),
            ));
        }
        let (browser, kept) = ctx
            .shared
            .rules
            .start_passkey_authentication(&state.user_id, SystemTime::now())
            .await?;
        options(&ctx, browser, &kept).await
    }
    .await;
    result.unwrap_or_else(|refusal| reply::refuse(ctx.format, &page, &refusal))
}

/// `POST {prefix}/webauthn/authenticate/finish`.
pub(crate) async fn authenticate_finish(Post(mut ctx, form): Post<AnswerForm>) -> Response {
    let page = ctx.shared.prefix.clone();
    match authenticated(&mut ctx, &form).await {
        Ok(response) => response,
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}

async fn authenticated(ctx: &mut Ctx, form: &AnswerForm) -> Result<Response, Refusal> {
    let state = ctx.signed_in()?;
    if let Some(passed) = state.passed {
        // Already done: say where to go, and change nothing.
        return Ok(completed(ctx.format, state, passed.method));
    }
    let shared = ctx.shared.clone();
    let user = state.user_id.clone();
    ctx.writable().await?;
    let kept = session::take_ceremony(&ctx.session).await?;
    let credential = form.credential()?;
    let generation = shared.rules.generation(&user).await?;
    shared
        .rules
        .finish_passkey_authentication(&user, kept, &credential, SystemTime::now())
        .await?;
    finish(ctx, SecondFactorMethod::Passkey, generation).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_answer_comes_as_json_or_as_its_text() {
        let as_json = AnswerForm {
            credential: json!({"id": "x"}),
        };
        assert_eq!(as_json.credential().unwrap()["id"], "x");
        let as_text = AnswerForm {
            credential: json!("{\"id\": \"y\"}"),
        };
        assert_eq!(as_text.credential().unwrap()["id"], "y");
        for bad in [json!(null), json!("not json"), json!([1])] {
            assert!(AnswerForm { credential: bad }.credential().is_err());
        }
    }
}
