//! Accounts: sign-up (the phone registered with the provider before the
//! account can be signed in to), sign-in with argon2 off the async threads,
//! both limited per client and per user name, and sign-out.

use std::net::SocketAddr;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash};
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_authy::method::EnrollmentRequest;
use tower_authy::session;
use tower_authy::store::UserId;
use tower_sessions::Session;

use crate::app::App;
use crate::limits;
use crate::pages::{escape, form_error, page};

/// One of the application's users.
pub(crate) struct AppUser {
    /// `None` while the account is being made (its name reserved, its
    /// phone not yet registered with the provider): nobody can sign in to
    /// it, so a sign-up rolled back leaves no session behind for whoever
    /// takes the name next.
    pub(crate) password_hash: Option<String>,
}

/// What a user name may be: 1 to 32 letters, digits, `-` or `_`.
fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A user name held for a sign-up in progress. Dropped before
/// [`Reservation::complete`] — the provider refused the phone, or the
/// client went away and the request was cancelled mid-way — it frees the
/// name again, so no name is squatted by an abandoned sign-up.
struct Reservation<'a> {
    app: &'a App,
    name: String,
    done: bool,
}

impl<'a> Reservation<'a> {
    fn take(app: &'a App, name: &str) -> Option<Self> {
        let mut users = app.users.write().expect("users lock");
        if users.contains_key(name) {
            return None;
        }
        users.insert(
            name.to_owned(),
            AppUser {
                password_hash: None,
            },
        );
        Some(Self {
            app,
            name: name.to_owned(),
            done: false,
        })
    }

    /// The account is made: it can be signed in to from now on.
    fn complete(mut self, password_hash: String) {
        if let Some(user) = self
            .app
            .users
            .write()
            .expect("users lock")
            .get_mut(&self.name)
        {
            user.password_hash = Some(password_hash);
        }
        self.done = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.app
                .users
                .write()
                .expect("users lock")
                .remove(&self.name);
        }
    }
}

/// The answer to one attempt too many: 429, the form again, and when to
/// come back.
fn too_many(form: Html<String>, retry_after: u64) -> Response {
    let Html(page) = form;
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(axum::http::header::RETRY_AFTER, retry_after.to_string())],
        Html(page),
    )
        .into_response()
}

/// The client's address, when the app is served with connect info (as
/// `main.rs` and the tests serve it); every request shares one key without.
fn client_key(what: &str, client: Option<&ConnectInfo<SocketAddr>>) -> String {
    match client.map(|ConnectInfo(addr)| addr.ip()) {
        Some(std::net::IpAddr::V4(ip)) => format!("{what}-client:{ip}"),
        // One IPv6 client holds a whole /64: counted as one.
        Some(std::net::IpAddr::V6(ip)) => {
            let s = ip.segments();
            format!(
                "{what}-client:{:x}:{:x}:{:x}:{:x}::/64",
                s[0], s[1], s[2], s[3]
            )
        }
        None => format!("{what}-client:unknown"),
    }
}

/// Argon2 takes tens of milliseconds of CPU on purpose: off the async
/// runtime's threads, so that a burst of sign-ins does not stall every
/// other request.
async fn on_blocking_pool<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    tokio::task::spawn_blocking(work).await.ok()
}

/// Whether `password` matches the stored argon2 `hash`.
fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

pub(crate) fn hash_password(password: &str) -> Option<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .ok()
        .map(|hash| hash.to_string())
}

pub(crate) async fn register_page(State(app): State<App>) -> Html<String> {
    register_form(app.local, None)
}

/// The sign-up form; without a phone provider (`local`), no phone fields:
/// the user adds an authenticator app next.
fn register_form(local: bool, error: Option<&str>) -> Html<String> {
    let phone = if local {
        ""
    } else {
        "<label for=\"email\">E-mail</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required>\
         <label for=\"country_code\">Country calling code</label><input id=\"country_code\" name=\"country_code\" inputmode=\"numeric\" value=\"1\" required>\
         <label for=\"phone_number\">Phone number</label><input id=\"phone_number\" name=\"phone_number\" type=\"tel\" autocomplete=\"tel-national\" required>"
    };
    page(
        "Create an account",
        &format!(
            "{}<form method=\"post\" action=\"/register\">\
             <label for=\"username\">User name</label><input id=\"username\" name=\"username\" autocomplete=\"username\" required>\
             <label for=\"password\">Password (8 characters or more)</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"8\" required>\
             {phone}<button type=\"submit\">Create account</button></form>\
             <p>Already registered? <a href=\"/login\">Sign in</a>.</p>",
            form_error(error)
        ),
    )
}

#[derive(Deserialize)]
pub(crate) struct Registration {
    username: String,
    password: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    country_code: String,
    #[serde(default)]
    phone_number: String,
}

pub(crate) async fn register(
    State(app): State<App>,
    client: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    session: Session,
    Form(form): Form<Registration>,
) -> Response {
    let username = form.username.trim().to_owned();
    let keys = [(
        client_key("sign-up", client.as_ref().map(|c| &c.0)),
        limits::PER_CLIENT,
    )];
    if let Err(retry_after) = app.limits.attempt(&keys) {
        let form = register_form(
            app.local,
            Some("Too many sign-ups from here; please wait a minute and try again."),
        );
        return too_many(form, retry_after);
    }
    if !valid_name(&username) {
        return register_form(
            app.local,
            Some("A user name is 1 to 32 letters, digits, - or _."),
        )
        .into_response();
    }
    if form.password.chars().count() < 8 {
        return register_form(app.local, Some("The password needs 8 characters or more."))
            .into_response();
    }
    let country_code = match form
        .country_code
        .trim()
        .trim_start_matches('+')
        .parse::<u16>()
    {
        Ok(code) => Some(code),
        Err(_) if app.local => None,
        Err(_) => {
            return register_form(
                app.local,
                Some("The country calling code is a number, like 1 or 44."),
            )
            .into_response();
        }
    };
    let password = form.password.clone();
    let Some(hash) = on_blocking_pool(move || hash_password(&password))
        .await
        .flatten()
    else {
        return register_form(app.local, Some("The password could not be stored.")).into_response();
    };
    // Reserved, with no usable password until the provider took the
    // phone. (Saying the name is taken tells who has an account; a sign-up
    // form cannot help it, so the message stays plain.)
    let Some(reservation) = Reservation::take(&app, &username) else {
        return register_form(app.local, Some("That user name is taken.")).into_response();
    };
    if let Some(country_code) = country_code.filter(|_| !app.local) {
        let request =
            EnrollmentRequest::new(form.email.trim(), country_code, form.phone_number.trim());
        if let Err(error) = app
            .two_factor
            .enroll(&UserId::new(username.as_str()), &request)
            .await
        {
            // No half-made account (the reservation goes with it): the user
            // may try again with other details.
            return register_form(
                app.local,
                Some(&format!("Two-factor sign-in could not be set up: {error}")),
            )
            .into_response();
        }
    }
    reservation.complete(hash);
    if session::sign_in(&session, username.as_str()).await.is_err() {
        return register_form(app.local, Some("Sign-in failed; please try again.")).into_response();
    }
    if app.local {
        // The settings page sets up the authenticator app.
        return Redirect::to("/2fa/enroll").into_response();
    }
    // The challenge confirms the new phone with its first code or approval.
    Redirect::to("/2fa?next=/protected").into_response()
}

/// Where the layer was taking the browser when it sent it to sign in, and
/// whether it just signed out.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

pub(crate) async fn login_page(Query(query): Query<NextQuery>) -> Html<String> {
    let Html(page) = login_form(None, query.next.as_deref());
    if query.signed_out.is_some() {
        let notice = "<p id=\"signed-out\" role=\"status\">You are signed out.</p>";
        return Html(page.replacen("<form", &format!("{notice}<form"), 1));
    }
    Html(page)
}

/// Where a signed-in browser goes: the challenge, and after it `next` (the
/// crate keeps only a path on this site) or the protected page.
fn after_sign_in(next: Option<&str>) -> String {
    let next = next.filter(|n| !n.is_empty()).unwrap_or("/protected");
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    format!("/2fa?{query}")
}

fn login_form(error: Option<&str>, next: Option<&str>) -> Html<String> {
    let next = next
        .map(|n| {
            format!(
                "<input type=\"hidden\" name=\"next\" value=\"{}\">",
                escape(n)
            )
        })
        .unwrap_or_default();
    page(
        "Sign in",
        &format!(
            "{}<form method=\"post\" action=\"/login\">{next}\
             <label for=\"username\">User name</label><input id=\"username\" name=\"username\" autocomplete=\"username\" required>\
             <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\">Sign in</button></form>\
             <p>New here? <a href=\"/register\">Create an account</a>.</p>",
            form_error(error)
        ),
    )
}

#[derive(Deserialize)]
pub(crate) struct Credentials {
    username: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub(crate) async fn login(
    State(app): State<App>,
    client: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    session: Session,
    Form(form): Form<Credentials>,
) -> Response {
    let username = form.username.trim();
    // Every attempt counts for the client; only wrong ones for the name, so
    // that a stranger's guesses cost its owner as little as they can. A name
    // no account can have is never a key (its length is the sender's).
    let client_key = (
        client_key("sign-in", client.as_ref().map(|c| &c.0)),
        limits::PER_CLIENT,
    );
    let name_key =
        valid_name(username).then(|| (format!("sign-in-name:{username}"), limits::PER_NAME));
    if let Err(retry_after) = app
        .limits
        .check(name_key.as_slice())
        .and_then(|()| app.limits.attempt(std::slice::from_ref(&client_key)))
    {
        let form = login_form(
            Some("Too many sign-in attempts; please wait a few minutes and try again."),
            form.next.as_deref(),
        );
        return too_many(form, retry_after);
    }
    let hash = app
        .users
        .read()
        .expect("users lock")
        .get(username)
        .and_then(|u| u.password_hash.clone());
    let known = hash.is_some();
    let stored = hash.unwrap_or_else(|| app.decoy_hash.to_string());
    let password = form.password.clone();
    let matches = on_blocking_pool(move || password_matches(&password, &stored))
        .await
        .unwrap_or(false);
    if !(known && matches) {
        if let Some(key) = &name_key {
            // Over the limit only on a later attempt: this one was let in.
            let _ = app.limits.attempt(std::slice::from_ref(key));
        }
        return login_form(Some("Wrong user name or password."), form.next.as_deref())
            .into_response();
    }
    if session::sign_in(&session, username).await.is_err() {
        return login_form(
            Some("Sign-in failed; please try again."),
            form.next.as_deref(),
        )
        .into_response();
    }
    Redirect::to(&after_sign_in(form.next.as_deref())).into_response()
}

pub(crate) async fn logout(State(app): State<App>, session: Session) -> Redirect {
    // Through `TwoFactor`: a request still in flight (a long-poll of the
    // challenge) cannot save the session back.
    let _ = app.two_factor.sign_out(&session).await;
    Redirect::to("/login?signed_out=1")
}
