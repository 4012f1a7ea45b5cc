//! The mountable router: a thin adapter from HTTP to the rules in
//! [`crate::domain`]. Every route answers HTML to browsers and JSON to API
//! clients ([`crate::negotiate`]); every POST is refused unless it comes from
//! this site. The route table is documented on [`crate::TwoFactor::router`].
//!
//! | module | its one job |
//! |---|---|
//! | `context` | what a handler starts from: the session's state, the format, a same-origin POST body |
//! | `reply` | turning refusals and outcomes into redirects, pages and JSON |
//! | `messages` | what a page says about the last outcome |
//! | `forms` | reading form and JSON fields the same way |
//! | `complete` | marking the session passed and saying where to go |
//! | `view` | what pages and JSON show of a stored record |
//! | `challenge`, `enroll`, `factors`, `totp`, `contact`, `confirm`, `backup`, `webauthn`, `onetouch`, `device` | the handlers |
//! | `next` | same-origin `next` paths |

use std::sync::Arc;

use axum::Router;
use axum::routing::{MethodRouter, get, post};

use crate::TwoFactor;
use crate::two_factor::Shared;

mod backup;
mod challenge;
mod complete;
mod confirm;
mod contact;
mod context;
mod device;
mod enroll;
mod factors;
mod forms;
mod messages;
mod next;
mod onetouch;
mod reply;
mod totp;
mod view;
mod webauthn;

impl TwoFactor {
    /// The routes, to merge into the application's router. They need
    /// `tower_sessions::SessionManagerLayer` around them, like the layer.
    ///
    /// Under the prefix (`/2fa` by default), besides the challenge and its
    /// code channels:
    ///
    /// | method | path | does |
    /// |---|---|---|
    /// | GET | `/2fa/enroll` | the enrollment form, its confirm step, or "on" with the settings below |
    /// | POST | `/2fa/enroll` | registers `email`, `country_code`, `phone_number` with the provider; enforced once confirmed |
    /// | POST | `/2fa/enroll/verify` | the first `token`: confirms the enrollment (and completes a pending session) |
    /// | POST | `/2fa/disable` | turns 2FA off: needs `confirm=true` and a current `token`, every time; under mandatory enrollment only if opting out is allowed and grace logins remain |
    /// | POST | `/2fa/devices/forget` | voids every device the user had remembered |
    /// | GET | `/2fa/factors` | the user's factors: `{"factors": [{"id", "kind", "label", "state", "created_at", "last_used_at", "ending"}], "backup_codes_left"}` (a browser goes to the settings page) |
    /// | POST | `/2fa/factors/{id}/remove` | removes a factor: needs `confirm=true` and a current `token`, like `/2fa/disable` |
    /// | POST | `/2fa/factors/{id}/confirm` | `code`: confirms a factor added pending (an address, an authenticator app) |
    /// | POST | `/2fa/totp` | starts an authenticator app (`label`; `kind`: `totp`, the default when on, or `verify_totp`): its secret, URI and QR code, once |
    /// | POST | `/2fa/totp/confirm` | `factor_id`, `code`: confirms it |
    /// | POST | `/2fa/contact` | `kind` (`verify_email`, `verify_whatsapp`, `verify_call`), `address`, `label`: adds an address, pending, and sends its first code |
    /// | POST | `/2fa/webauthn/register/start`, `…/finish` | adds a passkey or security key (`label`; then the browser's `credential`) |
    /// | POST | `/2fa/webauthn/authenticate/start`, `…/finish` | passes the challenge with one |
    /// | POST | `/2fa/email`, `/2fa/whatsapp` | during the challenge: sends a code to the user's e-mail or WhatsApp factor, like `/2fa/sms` |
    /// | POST | `/2fa/skip` | goes on without a phone registered but never confirmed (not yet a factor): as not required under opt-in, or as a grace login |
    ///
    /// `/2fa/disable`, `/2fa/devices/forget`, `/2fa/skip`, `/2fa/contact`,
    /// `/2fa/factors/{id}/confirm`, `/2fa/email` and `/2fa/whatsapp` are
    /// additions to the route table of the design.
    ///
    /// OneTouch: `POST {prefix}/onetouch` pushes an approval request bound
    /// to the session; `GET {prefix}/status?wait=SECONDS` long-polls its
    /// outcome (at most 25 s) and completes the session once the webhook (or,
    /// in polling mode, the provider) reports it approved; `GET
    /// {prefix}/events` streams the same as Server-Sent Events named
    /// `status`. A stream cannot change the session, so its final event
    /// carries `finish`, the `/status` URL the page calls to complete.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        router(self.shared().clone())
    }
}

/// The crate's routes and their handlers, after the prefix. The layer
/// exempts exactly these paths (`two_factor::ROUTES`, checked equal below).
fn handlers() -> Vec<(&'static str, MethodRouter<Arc<Shared>>)> {
    vec![
        ("", get(challenge::page)),
        ("/token", post(challenge::token)),
        ("/sms", post(challenge::sms)),
        ("/call", post(challenge::call)),
        ("/email", post(challenge::email)),
        ("/whatsapp", post(challenge::whatsapp)),
        ("/skip", post(challenge::skip)),
        ("/onetouch", post(onetouch::start)),
        ("/status", get(onetouch::status)),
        ("/events", get(onetouch::events)),
        ("/enroll", get(enroll::page).post(enroll::enroll)),
        ("/enroll/verify", post(enroll::verify)),
        ("/disable", post(enroll::disable)),
        ("/devices/forget", post(device::forget)),
        ("/factors", get(factors::list)),
        ("/factors/{id}/remove", post(factors::remove)),
        ("/factors/{id}/confirm", post(confirm::factor)),
        ("/totp", post(totp::start)),
        ("/totp/confirm", post(confirm::totp)),
        ("/contact", post(contact::start)),
        ("/backup-codes", post(backup::renew)),
        ("/backup", post(backup::use_code)),
        ("/webauthn/register/start", post(webauthn::register_start)),
        ("/webauthn/register/finish", post(webauthn::register_finish)),
        (
            "/webauthn/authenticate/start",
            post(webauthn::authenticate_start),
        ),
        (
            "/webauthn/authenticate/finish",
            post(webauthn::authenticate_finish),
        ),
    ]
}

/// Every route under the prefix, bound to this configuration.
fn router<S>(shared: Arc<Shared>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let mut router = Router::new();
    for (path, handler) in handlers() {
        router = router.route(&format!("{}{path}", shared.prefix), handler);
    }
    if let Some(webhook) = &shared.webhook {
        router = router.route(&shared.callback_path, webhook.method_router());
    }
    if let Some((path, webhook)) = &shared.verify_webhook {
        router = router.route(path, webhook.method_router());
    }
    router.with_state(shared)
}

#[cfg(test)]
mod race_tests;
#[cfg(test)]
mod sign_out_tests;
#[cfg(test)]
mod tests;
