//! Authenticator apps: `POST {prefix}/totp` starts one and shows its secret
//! (the only answer that ever carries it: base32 to type in, the
//! `otpauth://` URI, a QR code). Its optional `kind` picks whose: `totp`
//! (local) or a provider's (`verify_totp`); by default the local one when
//! it is on. `POST {prefix}/totp/confirm` confirms it with its first code
//! (`confirm.rs`).

use std::time::SystemTime;

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;
use serde_json::json;

use super::context::{Ctx, Post};
use super::forms::text;
use super::reply;
use crate::domain::{AppSecret, Refusal, TotpSetup};
use crate::negotiate::Format;
use crate::session::from_unix;
use crate::store::FactorKind;
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
    /// `totp`, `verify_totp`, or empty for the default.
    #[serde(default, deserialize_with = "text")]
    kind: String,
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
    let kind = match form.kind.as_str() {
        "" => None,
        typed => Some(
            typed
                .parse::<FactorKind>()
                .map_err(|_| Refusal::InvalidInput("no such kind of authenticator app".into()))?,
        ),
    };
    let TotpSetup { factor, secret } = rules
        .start_totp(&state.user_id, kind, &form.label, passed, SystemTime::now())
        .await?;
    let (secret, uri) = match secret {
        AppSecret::Seed(seed) => {
            let secret = base32(&seed);
            let issuer = rules.policy.app_name.as_deref().unwrap_or(DEFAULT_ISSUER);
            let uri = otpauth_uri(issuer, state.user_id.as_str(), &secret);
            (secret, uri)
        }
        AppSecret::Bound(binding) => (binding.secret, binding.uri),
    };
    let svg = qr_svg(&uri)?;
    Ok(match ctx.format {
        Format::Json => reply::json(
            StatusCode::CREATED,
            json!({
                "factor_id": factor.id,
                "kind": factor.kind.as_str(),
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
