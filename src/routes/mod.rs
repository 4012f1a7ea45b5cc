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
//! | `challenge`, `enroll`, `onetouch`, `device` | the handlers |
//! | `next` | same-origin `next` paths |

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::two_factor::Shared;

mod challenge;
mod complete;
mod context;
mod device;
mod enroll;
mod forms;
mod messages;
mod next;
mod onetouch;
mod reply;

/// Every route under the prefix, bound to this configuration.
pub(crate) fn router<S>(shared: Arc<Shared>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let p = &shared.prefix;
    let mut router = Router::new()
        .route(p, get(challenge::page))
        .route(&format!("{p}/token"), post(challenge::token))
        .route(&format!("{p}/sms"), post(challenge::sms))
        .route(&format!("{p}/call"), post(challenge::call))
        .route(&format!("{p}/skip"), post(challenge::skip))
        .route(&format!("{p}/onetouch"), post(onetouch::start))
        .route(&format!("{p}/status"), get(onetouch::status))
        .route(&format!("{p}/events"), get(onetouch::events))
        .route(
            &format!("{p}/enroll"),
            get(enroll::page).post(enroll::enroll),
        )
        .route(&format!("{p}/enroll/verify"), post(enroll::verify))
        .route(&format!("{p}/disable"), post(enroll::disable))
        .route(&format!("{p}/devices/forget"), post(device::forget));
    if let Some(webhook) = &shared.webhook {
        router = router.route(&shared.callback_path, webhook.method_router());
    }
    router.with_state(shared)
}

#[cfg(test)]
mod tests;
