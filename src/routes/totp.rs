//! Authenticator apps: `POST {prefix}/totp` starts one and shows its secret
//! (the only answer that ever carries it: base32 to type in, the
//! `otpauth://` URI, a QR code); `POST {prefix}/totp/confirm` confirms it
//! with its first code.

use std::time::SystemTime;

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;
use serde_json::json;

use super::complete::{self, finish};
use super::context::{Ctx, Post};
use super::forms::text;
use super::reply;
use crate::code::Code;
use crate::domain::{Refusal, TotpSetup};
use crate::negotiate::Format;
use crate::session::{self, SecondFactorMethod, from_unix};
use crate::ui::Template;

/// The issuer apps show above the code when the policy names no app.
const DEFAULT_ISSUER: &str = "tower-authy";

/// The secret as apps take it typed in: RFC 4648 base32, no padding.
fn base32(seed: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(seed)
}

/// The secret in groups of four, for reading off a screen.
fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Key URI Format apps scan: `otpauth://totp/Issuer:account?…`, with
/// the defaults every app assumes spelled out.
fn otpauth_uri(issuer: &str, account: &str, secret: &str) -> String {
    let encode = |text: &str| utf8_percent_encode(text, NON_ALPHANUMERIC).to_string();
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        encode(issuer),
        encode(account),
        encode(issuer)
    )
}

/// The URI as a QR code, an SVG document of its own (no script, no
/// external reference).
fn qr_svg(uri: &str) -> Result<String, Refusal> {
    let code = QrCode::new(uri.as_bytes())
        .map_err(|_| Refusal::InvalidInput("the label is too long for a QR code".into()))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct StartForm {
    /// The name the user gives the app ("Phone").
    #[serde(default, deserialize_with = "text")]
    label: String,
}

/// `POST {prefix}/totp`.
pub(crate) async fn start(Post(ctx, form): Post<StartForm>) -> Response {
    let page = ctx.shared.settings_page();
    match begin(&ctx, &form).await {
        Ok(response) => response,
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}

async fn begin(ctx: &Ctx, form: &StartForm) -> Result<Response, Refusal> {
    let shared = &ctx.shared;
    let rules = &shared.rules;
    let state = ctx.signed_in()?;
    let passed = state.passed.map(|p| (p.method, from_unix(p.at)));
    let TotpSetup { factor, seed } = rules
        .start_totp(&state.user_id, &form.label, passed, SystemTime::now())
        .await?;
    let secret = base32(&seed);
    let issuer = rules.policy.app_name.as_deref().unwrap_or(DEFAULT_ISSUER);
    let uri = otpauth_uri(issuer, state.user_id.as_str(), &secret);
    let svg = qr_svg(&uri)?;
    Ok(match ctx.format {
        Format::Json => reply::json(
            StatusCode::CREATED,
            json!({
                "factor_id": factor.id,
                "secret": secret,
                "otpauth_uri": uri,
                "qr_svg": svg,
            }),
        ),
        Format::Html => {
            let image = base64::engine::general_purpose::STANDARD.encode(svg.as_bytes());
            reply::page(
                &shared.ui,
                Template::Totp,
                json!({
                    "prefix": shared.prefix,
                    "csrf": state.csrf,
                    "factor_id": factor.id,
                    "label": factor.label,
                    "secret": grouped(&secret),
                    "otpauth_uri": uri,
                    "qr_src": format!("data:image/svg+xml;base64,{image}"),
                    "settings": shared.settings_page(),
                }),
            )
        }
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct ConfirmForm {
    #[serde(default, deserialize_with = "text")]
    factor_id: String,
    #[serde(default, deserialize_with = "text")]
    code: String,
}

/// `POST {prefix}/totp/confirm`.
pub(crate) async fn confirm(Post(mut ctx, form): Post<ConfirmForm>) -> Response {
    let page = ctx.shared.settings_page();
    match confirmed(&mut ctx, &form).await {
        Ok(response) => response,
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}

async fn confirmed(ctx: &mut Ctx, form: &ConfirmForm) -> Result<Response, Refusal> {
    let shared = ctx.shared.clone();
    let rules = &shared.rules;
    let state = ctx.signed_in()?;
    let user = state.user_id.clone();
    let already_passed = state.passed.is_some();
    let now = SystemTime::now();
    let generation = rules.generation(&user).await?;
    let passed = state.passed.map(|p| (p.method, from_unix(p.at)));
    let (_, turned_on) = rules
        .confirm_totp(&user, &form.factor_id, &form.code, passed, now)
        .await?;
    let generation = turned_on.unwrap_or(generation);
    let response = if already_passed {
        // The code just checked is the session's second factor from now on.
        ctx.writable().await?;
        if !session::complete(&ctx.session, SecondFactorMethod::Code, now, generation).await? {
            return Err(Refusal::LoginRequired);
        }
        reply::notice(
            ctx.format,
            &shared.settings_page(),
            Code::Enabled,
            json!({}),
        )
    } else {
        // The first factor, just proved: the session passes with it.
        finish(ctx, SecondFactorMethod::Code, generation).await?
    };
    // A first factor comes with backup codes, shown once, right now.
    let Some(codes) = rules.first_backup_codes(&user, now).await? else {
        return Ok(response);
    };
    let state = ctx.signed_in()?;
    let (body, next) = if already_passed {
        (json!({"notice": Code::Enabled}), shared.settings_page())
    } else {
        let next = state.next.clone().unwrap_or_else(|| "/".into());
        (complete::body(state, SecondFactorMethod::Code), next)
    };
    Ok(complete::backup_codes(
        &shared, ctx.format, body, &codes, &next,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uri_names_issuer_and_account_and_spells_out_the_defaults() {
        let uri = otpauth_uri("Acme Inc", "nina@example.com", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Inc:nina%40example%2Ecom?secret=JBSWY3DPEHPK3PXP\
             &issuer=Acme%20Inc&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn the_secret_is_base32_in_groups_of_four() {
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert_eq!(grouped("GEZDGNBVGY"), "GEZD GNBV GY");
    }

    #[test]
    fn the_qr_code_is_a_plain_svg() {
        let svg = qr_svg("otpauth://totp/a:b?secret=GEZDGNBV").unwrap();
        assert!(svg.contains("<svg"), "{svg}");
        assert!(!svg.contains("<script"), "{svg}");
    }
}
