//! The per-session 2FA state, kept in `tower-sessions`:
//!
//! ```text
//! anonymous ──sign_in──▶ first factor done ──(challenge passed)──▶ second factor done
//!     ▲                        │ (pending longer than allowed)            │
//!     └──────────sign_out──────┴──────────────────────────────────────────┘
//! ```
//!
//! Applications that run their own password check call [`sign_in`] once it
//! succeeds, [`status`] to ask where a session stands, and [`sign_out`] to end
//! it. Every change of who the session belongs to, or of how far it got,
//! cycles the session id, so an id fixed before sign-in is worthless after it.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::store::UserId;

/// The session key the 2FA state lives under.
const KEY: &str = "tower_authy";

/// The session key that records which pending enrollment this session
/// registered, so it may correct a typo before confirming.
const ENROLLING: &str = "tower_authy_enrolling";

/// The session key that keeps a refused enrollment form for the page that
/// says what was wrong, so the user corrects one field instead of
/// retyping three. Shown once, to the same session only.
const REFUSED_FORM: &str = "tower_authy_refused_enrollment";

/// The session key that keeps a browser ceremony (WebAuthn) begun and not
/// yet answered: server-side with the session, taken once.
const CEREMONY: &str = "tower_authy_ceremony";

/// How a session passed the second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SecondFactorMethod {
    /// A code from SMS, a voice call or the authenticator app.
    Code,
    /// A OneTouch approval.
    OneTouch,
    /// A remembered device cookie.
    RememberedDevice,
    /// The policy does not ask this user for a second factor (not enrolled
    /// under opt-in enrollment).
    NotRequired,
    /// One of the grace logins of a user who must enroll.
    GraceLogin,
    /// A single-use backup code.
    BackupCode,
    /// A passkey or security key (WebAuthn).
    Passkey,
}

impl fmt::Display for SecondFactorMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl SecondFactorMethod {
    /// Whether a factor was checked: a code or an approval, not a grace
    /// login, a skip, a remembered device or "not required". Only a checked
    /// factor may change the user's factors.
    pub fn is_checked(self) -> bool {
        matches!(
            self,
            Self::Code | Self::OneTouch | Self::BackupCode | Self::Passkey
        )
    }

    /// A stable name (`code`, `one_touch`, …), as in JSON answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::OneTouch => "one_touch",
            Self::RememberedDevice => "remembered_device",
            Self::NotRequired => "not_required",
            Self::GraceLogin => "grace_login",
            Self::BackupCode => "backup_code",
            Self::Passkey => "passkey",
        }
    }
}

/// Where a session stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TwoFactorStatus {
    /// Nobody signed in.
    Anonymous,
    /// The first factor is done; the second is pending.
    Pending {
        /// Who signed in.
        user_id: UserId,
        /// When the first factor was done.
        since: SystemTime,
    },
    /// Both factors are done.
    Complete {
        /// Who signed in.
        user_id: UserId,
        /// How the second factor was passed.
        method: SecondFactorMethod,
        /// When.
        at: SystemTime,
    },
}

impl TwoFactorStatus {
    /// Whether both factors are done.
    pub fn is_complete(&self) -> bool {
        matches!(self, Self::Complete { .. })
    }

    /// The signed-in user, after the first factor.
    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            Self::Anonymous => None,
            Self::Pending { user_id, .. } | Self::Complete { user_id, .. } => Some(user_id),
        }
    }
}

/// The session could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("the session store failed")]
pub struct SessionError(#[source] tower_sessions::session::Error);

/// What this crate keeps in the session. Times are Unix seconds.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuthState {
    pub user_id: UserId,
    pub first_factor_at: u64,
    pub passed: Option<Passed>,
    /// The anti-CSRF token of this session's forms and POSTs.
    pub csrf: String,
    /// The OneTouch request this session is waiting on, if any.
    pub approval: Option<PendingApproval>,
    /// Where to go after the challenge (already checked same-origin).
    #[serde(default)]
    pub next: Option<String>,
    /// This challenge already sent a push: the page sends no other by
    /// itself (only when the user asks), so a reload after "Text me a code"
    /// or a denial never buzzes the phone again.
    #[serde(default)]
    pub pushed: bool,
    /// Random per sign-in: a sign-out records it in the store
    /// ([`TwoFactor::sign_out`](crate::TwoFactor::sign_out)), and nothing
    /// writes a session whose nonce signed out. Empty in sessions from
    /// before this field.
    #[serde(default)]
    pub nonce: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Passed {
    pub method: SecondFactorMethod,
    pub at: u64,
    /// The user's security generation when it passed (see
    /// [`DeviceStore`](crate::store::DeviceStore)): once the generation
    /// moves on (a factor removed, 2FA turned off, devices forgotten), the
    /// session must pass again.
    #[serde(default)]
    pub generation: u64,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingApproval {
    pub uuid: String,
    /// Matches the store record's `session_binding`: proof that the request
    /// was made by this session.
    pub binding: String,
    /// The factor the push went to: only its approval passes, and only
    /// while it is still there.
    #[serde(default)]
    pub factor: Option<String>,
    /// The user's security generation when it was pushed: a change since
    /// (a factor removed, 2FA turned off) voids the approval.
    #[serde(default)]
    pub generation: Option<u64>,
}

// The CSRF token and the approval binding are secrets of this session.
impl fmt::Debug for AuthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthState")
            .field("user_id", &self.user_id)
            .field("first_factor_at", &self.first_factor_at)
            .field("passed", &self.passed.map(|p| p.method))
            .finish_non_exhaustive()
    }
}

pub(crate) fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn from_unix(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// 32 random bytes, URL-safe base64: CSRF tokens, approval bindings.
pub(crate) fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Where a session stands, read without the rest of its state (the CSRF
/// token, the sign-in nonce, a pending approval): what the layer and
/// [`status`] need on every request.
#[derive(Deserialize)]
pub(crate) struct Standing {
    pub user_id: UserId,
    pub first_factor_at: u64,
    pub passed: Option<Passed>,
    /// Required as in [`AuthState`], unread: a value the full state refuses
    /// is refused here too, so the layer and the routes never disagree.
    #[allow(dead_code)]
    csrf: serde::de::IgnoredAny,
}

impl Standing {
    fn status(self) -> TwoFactorStatus {
        match self.passed {
            Some(passed) => TwoFactorStatus::Complete {
                user_id: self.user_id,
                method: passed.method,
                at: from_unix(passed.at),
            },
            None => TwoFactorStatus::Pending {
                user_id: self.user_id,
                since: from_unix(self.first_factor_at),
            },
        }
    }
}

// The state is kept as one JSON string rather than an object: every read
// clones the session's value (tower-sessions lends none, and its memory
// store clones the whole record on load), and a string clones in one
// allocation where an object clones every key and value. Sessions written
// as objects (before 0.2) still read.
async fn read<T: serde::de::DeserializeOwned>(
    session: &Session,
) -> Result<Option<T>, SessionError> {
    // An object, and only an object: a struct also reads from an array,
    // where fewer fields would satisfy the standing than the whole state.
    let not_an_object = || {
        let error = <serde_json::Error as serde::de::Error>::custom("the state is not an object");
        SessionError(tower_sessions::session::Error::SerdeJson(error))
    };
    let decoded = match session.get_value(KEY).await.map_err(SessionError)? {
        None => return Ok(None),
        Some(serde_json::Value::String(text)) if text.trim_start().starts_with('{') => {
            serde_json::from_str(&text)
        }
        Some(object @ serde_json::Value::Object(_)) => serde_json::from_value(object),
        Some(_) => return Err(not_an_object()),
    };
    decoded
        .map(Some)
        .map_err(|error| SessionError(tower_sessions::session::Error::SerdeJson(error)))
}

pub(crate) async fn load(session: &Session) -> Result<Option<AuthState>, SessionError> {
    read(session).await
}

pub(crate) async fn load_standing(session: &Session) -> Result<Option<Standing>, SessionError> {
    read(session).await
}

pub(crate) async fn save(session: &Session, state: &AuthState) -> Result<(), SessionError> {
    let text = serde_json::to_string(state)
        .map_err(|error| SessionError(tower_sessions::session::Error::SerdeJson(error)))?;
    session.insert(KEY, text).await.map_err(SessionError)
}

pub(crate) async fn clear(session: &Session) -> Result<(), SessionError> {
    session.remove_value(KEY).await.map_err(SessionError)?;
    Ok(())
}

async fn cycle(session: &Session) -> Result<(), SessionError> {
    session.cycle_id().await.map_err(SessionError)
}

/// Records a successful first factor (the application's password check) for
/// `user_id`: the session id is cycled and the second factor becomes pending.
/// Whatever the session held before (another user, a passed second factor)
/// is replaced.
///
/// ```no_run
/// # async fn login(session: tower_sessions::Session) -> Result<(), tower_authy::session::SessionError> {
/// // … after the password matched:
/// tower_authy::session::sign_in(&session, "user-42").await?;
/// # Ok(()) }
/// ```
pub async fn sign_in(session: &Session, user_id: impl Into<UserId>) -> Result<(), SessionError> {
    cycle(session).await?;
    let state = AuthState {
        user_id: user_id.into(),
        first_factor_at: unix(SystemTime::now()),
        passed: None,
        csrf: random_token(),
        approval: None,
        next: None,
        pushed: false,
        nonce: random_token(),
    };
    save(session, &state).await
}

/// Where the session stands, as the session alone says: a pass that a
/// security change in another session has since voided still reads
/// `Complete` here until the layer or a 2FA route next sees the session.
/// Guard routes with the layer (or its [`Verified`](crate::layer::Verified)
/// extractor behind it), not with this.
pub async fn status(session: &Session) -> Result<TwoFactorStatus, SessionError> {
    Ok(load_standing(session)
        .await?
        .map_or(TwoFactorStatus::Anonymous, Standing::status))
}

/// The session's anti-CSRF token, for the application's own forms that post
/// to the 2FA routes (a profile page's "turn off" button, say): send it as
/// the form field `csrf` or the `X-CSRF-Token` header. `None` before sign-in.
pub async fn csrf_token(session: &Session) -> Result<Option<String>, SessionError> {
    Ok(load(session).await?.map(|state| state.csrf))
}

/// Ends the session: everything in it is deleted, this crate's state and the
/// application's, and the cookie is voided. Prefer
/// [`TwoFactor::sign_out`](crate::TwoFactor::sign_out), which also keeps a
/// request still in flight from saving the session back.
pub async fn sign_out(session: &Session) -> Result<(), SessionError> {
    session.flush().await.map_err(SessionError)
}

/// Marks the second factor passed for the signed-in user and cycles the
/// session id. Returns `false` (changing nothing) when nobody signed in.
pub(crate) async fn complete(
    session: &Session,
    method: SecondFactorMethod,
    now: SystemTime,
    generation: u64,
) -> Result<bool, SessionError> {
    let Some(mut state) = load(session).await? else {
        return Ok(false);
    };
    state.passed = Some(Passed {
        method,
        at: unix(now),
        generation,
    });
    state.approval = None;
    // A fresh CSRF token too: the old one may have been seen before 2FA.
    state.csrf = random_token();
    cycle(session).await?;
    save(session, &state).await?;
    crate::telemetry::passed(method);
    Ok(true)
}

/// Takes back a pass made before the user's security generation moved on
/// (another session removed a factor, say): the session keeps its first
/// factor, from `now`, and must pass the second again.
pub(crate) async fn demote(
    session: &Session,
    state: &mut AuthState,
    now: SystemTime,
) -> Result<(), SessionError> {
    state.passed = None;
    state.first_factor_at = unix(now);
    state.approval = None;
    state.pushed = false;
    save(session, state).await
}

/// Which pending enrollment this session registered.
#[derive(Serialize, Deserialize)]
struct Registered {
    user: UserId,
    provider_user_id: String,
}

/// Records that this session registered `provider_user_id` for `user`, so
/// it may replace that enrollment (a typo) before confirming it.
pub(crate) async fn mark_enrolling(
    session: &Session,
    user: &UserId,
    provider_user_id: &str,
) -> Result<(), SessionError> {
    let registered = Registered {
        user: user.clone(),
        provider_user_id: provider_user_id.to_owned(),
    };
    session
        .insert(ENROLLING, registered)
        .await
        .map_err(SessionError)
}

/// Whether this session registered this pending enrollment.
pub(crate) async fn enrolled_here(
    session: &Session,
    user: &UserId,
    provider_user_id: &str,
) -> Result<bool, SessionError> {
    Ok(session
        .get::<Registered>(ENROLLING)
        .await
        .map_err(SessionError)?
        .is_some_and(|r| r.user == *user && r.provider_user_id == provider_user_id))
}

/// Forgets the enrollment marker (its enrollment is confirmed).
pub(crate) async fn forget_enrolling(session: &Session) -> Result<(), SessionError> {
    remove_if_present(session, ENROLLING).await
}

/// Removes `key` only when it is there: `tower-sessions` marks a session
/// changed on any removal, and a session written back needlessly can undo
/// a sign-out made meanwhile in another tab.
async fn remove_if_present(session: &Session, key: &str) -> Result<(), SessionError> {
    let present = session
        .get_value(key)
        .await
        .map_err(SessionError)?
        .is_some();
    if present {
        session.remove_value(key).await.map_err(SessionError)?;
    }
    Ok(())
}

/// Keeps a refused enrollment form for the next page of this session.
pub(crate) async fn keep_refused_form<T: Serialize>(
    session: &Session,
    form: &T,
) -> Result<(), SessionError> {
    session
        .insert(REFUSED_FORM, form)
        .await
        .map_err(SessionError)
}

/// Takes the refused enrollment form back, once; a session without one is
/// left unchanged (not written back).
pub(crate) async fn take_refused_form<T: serde::de::DeserializeOwned>(
    session: &Session,
) -> Result<Option<T>, SessionError> {
    let form = session.get(REFUSED_FORM).await.map_err(SessionError)?;
    if form.is_some() {
        remove_if_present(session, REFUSED_FORM).await?;
    }
    Ok(form)
}

/// Keeps a ceremony begun by this session (replacing one begun before).
pub(crate) async fn keep_ceremony<T: Serialize>(
    session: &Session,
    ceremony: &T,
) -> Result<(), SessionError> {
    session
        .insert(CEREMONY, ceremony)
        .await
        .map_err(SessionError)
}

/// Takes the ceremony this session began, if any: it is gone after, so
/// each answer is checked against its own ceremony once.
pub(crate) async fn take_ceremony<T: serde::de::DeserializeOwned>(
    session: &Session,
) -> Result<Option<T>, SessionError> {
    let ceremony = session.get(CEREMONY).await.map_err(SessionError)?;
    if ceremony.is_some() {
        remove_if_present(session, CEREMONY).await?;
    }
    Ok(ceremony)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tower_sessions::MemoryStore;

    use super::*;

    fn session() -> Session {
        Session::new(None, Arc::new(MemoryStore::default()), None)
    }

    fn passed_state() -> AuthState {
        AuthState {
            user_id: "alice".into(),
            first_factor_at: 1_700_000_000,
            passed: Some(Passed {
                method: SecondFactorMethod::Passkey,
                at: 1_700_000_060,
                generation: 3,
            }),
            csrf: "token".into(),
            approval: None,
            next: Some("/account".into()),
            pushed: false,
            nonce: "n".into(),
        }
    }

    #[tokio::test]
    async fn the_state_is_one_string_and_reads_back_whole() {
        let session = session();
        save(&session, &passed_state()).await.unwrap();
        let kept = session.get_value(KEY).await.unwrap().unwrap();
        assert!(kept.is_string(), "{kept}");
        assert_eq!(load(&session).await.unwrap(), Some(passed_state()));
        let standing = load_standing(&session).await.unwrap().unwrap();
        assert_eq!(standing.user_id, UserId::new("alice"));
        assert!(
            standing.passed == passed_state().passed,
            "the pass reads back"
        );
        assert!(status(&session).await.unwrap().is_complete());
    }

    #[tokio::test]
    async fn a_session_written_as_an_object_still_reads() {
        let session = session();
        let object = serde_json::to_value(passed_state()).unwrap();
        session.insert_value(KEY, object).await.unwrap();
        assert_eq!(load(&session).await.unwrap(), Some(passed_state()));
        assert_eq!(
            status(&session).await.unwrap(),
            TwoFactorStatus::Complete {
                user_id: "alice".into(),
                method: SecondFactorMethod::Passkey,
                at: from_unix(1_700_000_060),
            }
        );
    }

    #[tokio::test]
    async fn a_state_that_does_not_parse_is_an_error_not_a_sign_in() {
        let pass = r#"{"method":"code","at":0}"#;
        for kept in [
            serde_json::Value::from("{not json"),
            // No CSRF token: the whole state is refused, so the standing is.
            serde_json::Value::from(format!(
                r#"{{"user_id":"bob","first_factor_at":0,"passed":{pass}}}"#
            )),
            // An array, which a struct would also read from.
            serde_json::Value::from(format!(r#"["bob",0,{pass},"t"]"#)),
            serde_json::json!(["bob", 0, {"method": "code", "at": 0}, "t"]),
            serde_json::json!(7),
        ] {
            let session = session();
            session.insert_value(KEY, kept.clone()).await.unwrap();
            assert!(load(&session).await.is_err(), "{kept}");
            assert!(load_standing(&session).await.is_err(), "{kept}");
            assert!(status(&session).await.is_err(), "{kept}");
        }
    }
}
