//! Policies and configuration: what the second factor asks of whom, and the
//! errors of the crate's builders. Builders start from secure defaults and
//! report bad settings as [`ConfigError`]; nothing panics.

use std::time::Duration;

use crate::store::LockoutRule;

/// A setting that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A URL setting is not an absolute `http` or `https` URL.
    #[error("{setting} must be an absolute http(s) URL: {reason}")]
    InvalidUrl {
        /// The setting's name.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting is outside the range it allows.
    #[error("{setting} is out of range: {reason}")]
    OutOfRange {
        /// The setting's name.
        setting: &'static str,
        /// The allowed range.
        reason: String,
    },
    /// A path setting (prefix, login path, callback path) is not a path
    /// like `/2fa`.
    #[error("{setting} must be a path like /2fa, without a trailing slash, query or fragment")]
    InvalidPath {
        /// The setting's name.
        setting: &'static str,
    },
    /// Two routes would be served at one path (the webhook's callback on one
    /// of the crate's routes or the login page, say).
    #[error("{setting} {path:?} is already the path of another route")]
    PathClash {
        /// The setting's name.
        setting: &'static str,
        /// The path.
        path: String,
    },
    /// [`TwoFactorBuilder::with_template`](crate::TwoFactorBuilder::with_template)
    /// named a template the crate does not have.
    #[error("no template is called {0:?}")]
    UnknownTemplate(String),
    /// A template given to
    /// [`TwoFactorBuilder::with_template`](crate::TwoFactorBuilder::with_template)
    /// does not compile.
    #[error("a template does not compile: {0}")]
    Template(String),
    /// A setting that has no default was not given.
    #[error("{0} must be set")]
    Missing(&'static str),
    /// Two methods were given for one kind of factor
    /// ([`TwoFactorBuilder::with_method`](crate::TwoFactorBuilder::with_method)).
    #[error("two methods serve factors of kind {0}; one method per kind")]
    DuplicateMethod(crate::store::FactorKind),
    /// A provider client's settings cannot work.
    #[error(transparent)]
    Client(#[from] crate::outbound::BuildError),
}

/// Checks that `url` is an absolute http(s) URL with a host, and returns it
/// without a trailing query or fragment.
pub(crate) fn absolute_url(setting: &'static str, url: &str) -> Result<String, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidUrl {
        setting,
        reason: reason.to_owned(),
    };
    let uri: http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(invalid("the scheme must be http or https")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    if uri.query().is_some() || url.contains('#') {
        return Err(invalid("it must not carry a query or fragment"));
    }
    Ok(url.to_owned())
}

/// Where a webhook is mounted: `mount` if given, else the path of
/// `public_url` (`None` when neither says; `/` for a URL without a path).
pub(crate) fn webhook_path(mount: Option<&str>, public_url: Option<&str>) -> Option<String> {
    if let Some(path) = mount {
        return Some(path.to_owned());
    }
    let url: http::Uri = public_url?.parse().ok()?;
    Some(url.path().to_owned())
}

/// How users come to have a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnrollmentPolicy {
    /// Users turn 2FA on themselves (a profile page); users who have not are
    /// not asked for a second factor. The default.
    OptIn,
    /// Every user must enroll. A user who has not (or has not confirmed a
    /// batch enrollment) passes `grace_logins` sign-ins without the second
    /// factor and is then sent to enroll, with no access until done.
    Mandatory {
        /// Sign-ins allowed before enrolling.
        grace_logins: u32,
        /// Whether a user may turn 2FA off again while grace logins remain.
        allow_opt_out: bool,
    },
}

/// Whether a code channel is offered, and whether it is forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelMode {
    /// Not offered.
    Off,
    /// Offered. A user who asks for an SMS or a call gets one, even with
    /// the Authy app (it is sent with `force`, as Authy's own samples do).
    On,
    /// Offered, and meant to be sent without being asked as well. The
    /// crate's routes send only when asked, so today it acts as `On`.
    Forced,
}

/// How the outcome of a OneTouch request reaches the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusMode {
    /// Authy calls the webhook (needs a public callback URL). The default.
    Callback,
    /// The application asks Authy while the browser waits (callbacks off).
    Polling {
        /// How often to ask while a browser waits.
        every: Duration,
    },
}

/// Remembering a device after a passed second factor: a signed cookie bound
/// to the user, their provider id and the store's per-user revocation
/// generation, void when 2FA is turned off or devices are forgotten.
///
/// The cookie, `tower_authy_device`, is set when a code passes with
/// `remember=true`; it is scoped to the 2FA prefix, `HttpOnly`,
/// `SameSite=Lax` and `Secure` (see [`RememberDevice::with_secure`]), and
/// signed with HMAC-SHA256 under the key. `GET /2fa` lets a session through
/// with it ([`SecondFactorMethod::RememberedDevice`](crate::session::SecondFactorMethod::RememberedDevice))
/// only while it is unexpired, names the session's user and their current
/// provider id and generation, and 2FA is on; any other cookie is ignored.
#[derive(Clone)]
pub struct RememberDevice {
    pub(crate) lifetime: Duration,
    pub(crate) key: crate::Secret,
    pub(crate) secure: bool,
}

impl std::fmt::Debug for RememberDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RememberDevice")
            .field("lifetime", &self.lifetime)
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl RememberDevice {
    /// Cookies valid for `lifetime`, signed with `key` (at least 32 bytes of
    /// secret randomness, kept across restarts). The cookie is `HttpOnly`,
    /// `SameSite=Lax` and `Secure`.
    pub fn new(lifetime: Duration, key: impl Into<crate::Secret>) -> Self {
        Self {
            lifetime,
            key: key.into(),
            secure: true,
        }
    }

    /// Whether the cookie is marked `Secure` (default: yes), so browsers
    /// send it over HTTPS only.
    ///
    /// # Warning
    ///
    /// Turn this off only for local development over plain `http://`: a
    /// cookie without `Secure` crosses the network in clear text, and
    /// whoever reads it skips the second factor until it expires.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_authy::config::RememberDevice;
    /// let local = RememberDevice::new(Duration::from_secs(3600), "0123456789abcdef0123456789abcdef")
    ///     .with_secure(false);
    /// # let _ = local;
    /// ```
    pub fn with_secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }
}

/// What the second factor asks of whom. Build with [`Policy::builder`];
/// [`Policy::default`] is the secure default described there.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) enrollment: EnrollmentPolicy,
    pub(crate) onetouch: bool,
    pub(crate) codes: bool,
    pub(crate) sms: ChannelMode,
    pub(crate) call: ChannelMode,
    pub(crate) email: ChannelMode,
    pub(crate) whatsapp: ChannelMode,
    pub(crate) onetouch_message: String,
    pub(crate) onetouch_details: Vec<(String, String)>,
    pub(crate) onetouch_ttl: Duration,
    pub(crate) status_mode: StatusMode,
    pub(crate) lockout: LockoutRule,
    pub(crate) send_limit: LockoutRule,
    pub(crate) remember_device: Option<RememberDevice>,
    pub(crate) pending_ttl: Duration,
    pub(crate) fresh_for_changes: Duration,
    pub(crate) app_name: Option<String>,
    pub(crate) enroll_limit: LockoutRule,
    pub(crate) shared_identities: bool,
}

impl Policy {
    /// Whether codes go by `channel`: e-mail and WhatsApp only while code
    /// entry is on (their codes are typed, there is no app to answer).
    pub(crate) fn channel(&self, channel: crate::method::Channel) -> ChannelMode {
        use crate::method::Channel;
        match channel {
            Channel::Sms => self.sms,
            Channel::Call => self.call,
            Channel::Email if self.codes => self.email,
            Channel::Whatsapp if self.codes => self.whatsapp,
            Channel::Email | Channel::Whatsapp => ChannelMode::Off,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            enrollment: EnrollmentPolicy::OptIn,
            onetouch: true,
            codes: true,
            sms: ChannelMode::On,
            call: ChannelMode::On,
            email: ChannelMode::On,
            whatsapp: ChannelMode::On,
            onetouch_message: "Sign-in request".into(),
            onetouch_details: Vec::new(),
            onetouch_ttl: Duration::from_secs(120),
            status_mode: StatusMode::Callback,
            lockout: LockoutRule::new(5, Duration::from_secs(900), Duration::from_secs(900)),
            // Twilio Verify's own limit: 5 sends to one phone in 10 minutes.
            send_limit: LockoutRule::new(5, Duration::from_secs(600), Duration::from_secs(600)),
            remember_device: None,
            pending_ttl: Duration::from_secs(600),
            fresh_for_changes: Duration::from_secs(300),
            app_name: None,
            enroll_limit: LockoutRule::new(5, Duration::from_secs(3600), Duration::from_secs(3600)),
            shared_identities: false,
        }
    }
}

impl Policy {
    /// Starts from the defaults:
    ///
    /// | setting | default |
    /// |---|---|
    /// | enrollment | opt-in |
    /// | OneTouch | on, first; the other ways offered beside it at once |
    /// | codes (app, SMS, voice) | on; SMS and voice not forced |
    /// | OneTouch message, time to live | "Sign-in request", 2 minutes |
    /// | outcome | by callback |
    /// | wrong codes | 5 within 15 minutes lock the user out for 15 minutes |
    /// | SMS, calls and pushes | 5 within 10 minutes (Twilio Verify's limit), then a 10-minute pause |
    /// | remember device | off |
    /// | first factor waits for the second | 10 minutes |
    /// | turning 2FA off needs | confirmation and a current code (without codes: an approval within 5 minutes) |
    /// | a phone (Authy ID) of another account | refused |
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder(Self::default())
    }

    /// The enrollment policy.
    pub fn enrollment(&self) -> EnrollmentPolicy {
        self.enrollment
    }
}

/// Builds a [`Policy`]; see [`Policy::builder`] for the defaults.
#[derive(Debug, Clone)]
#[must_use]
pub struct PolicyBuilder(Policy);

impl PolicyBuilder {
    /// Opt-in or mandatory enrollment (default: opt-in).
    pub fn with_enrollment(mut self, enrollment: EnrollmentPolicy) -> Self {
        self.0.enrollment = enrollment;
        self
    }

    /// Whether OneTouch is offered, first, to users with the app (default: yes).
    pub fn with_onetouch(mut self, on: bool) -> Self {
        self.0.onetouch = on;
        self
    }

    /// Whether codes can be typed in, from the app, SMS or voice (default: yes).
    pub fn with_codes(mut self, on: bool) -> Self {
        self.0.codes = on;
        self
    }

    /// SMS: off, on, or forced even for users with the app (default: on).
    pub fn with_sms(mut self, mode: ChannelMode) -> Self {
        self.0.sms = mode;
        self
    }

    /// Voice calls: off, on, or forced even for users with the app (default: on).
    pub fn with_call(mut self, mode: ChannelMode) -> Self {
        self.0.call = mode;
        self
    }

    /// Codes by e-mail, to factors that are e-mail addresses (Twilio
    /// Verify): off or on (default: on). Offered only while code entry is
    /// on.
    pub fn with_email(mut self, mode: ChannelMode) -> Self {
        self.0.email = mode;
        self
    }

    /// Codes by WhatsApp, to factors that are WhatsApp numbers (Twilio
    /// Verify): off or on (default: on). Offered only while code entry is
    /// on.
    pub fn with_whatsapp(mut self, mode: ChannelMode) -> Self {
        self.0.whatsapp = mode;
        self
    }

    /// The OneTouch message (default: "Sign-in request"; 1 to 200 characters).
    pub fn with_onetouch_message(mut self, message: impl Into<String>) -> Self {
        self.0.onetouch_message = message.into();
        self
    }

    /// The application's name, shown as the detail `App` of every push
    /// (default: none; Authy's app shows the name set in its console).
    pub fn with_app_name(mut self, name: impl Into<String>) -> Self {
        self.0.app_name = Some(name.into());
        self
    }

    /// A detail shown with every OneTouch request (default: none besides
    /// those always shown: `Username`, `IP address` when the application
    /// serves with connect info, `Browser`, `Time`, and `App` when set).
    pub fn with_onetouch_detail(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.0.onetouch_details.push((key.into(), value.into()));
        self
    }

    /// How long a OneTouch request may be answered (default: 2 minutes; 10 s to 1 day).
    pub fn with_onetouch_ttl(mut self, ttl: Duration) -> Self {
        self.0.onetouch_ttl = ttl;
        self
    }

    /// Callback or polling (default: callback, which needs a webhook).
    pub fn with_status_mode(mut self, mode: StatusMode) -> Self {
        self.0.status_mode = mode;
        self
    }

    /// Wrong codes: `max_failures` within `window` lock the user out for
    /// `lockout` (default: 5 within 15 minutes, for 15 minutes).
    pub fn with_lockout(mut self, max_failures: u32, window: Duration, lockout: Duration) -> Self {
        self.0.lockout = LockoutRule::new(max_failures, window, lockout);
        self
    }

    /// SMS, calls and pushes: `max_sends` within `window`, then a pause of
    /// `pause` (default: 5 within 10 minutes, then 10 minutes).
    pub fn with_send_limit(mut self, max_sends: u32, window: Duration, pause: Duration) -> Self {
        self.0.send_limit = LockoutRule::new(max_sends, window, pause);
        self
    }

    /// Enrollments per account (each registers a user with the provider):
    /// `max` within `window`, then a pause of `pause` (default: 5 within an
    /// hour, then an hour).
    pub fn with_enroll_limit(mut self, max: u32, window: Duration, pause: Duration) -> Self {
        self.0.enroll_limit = LockoutRule::new(max, window, pause);
        self
    }

    /// Offer to remember the device after a passed second factor (default: off).
    ///
    /// # Warning
    ///
    /// A remembered device skips the second factor for its lifetime: keep
    /// the lifetime short and the key secret.
    pub fn with_remember_device(mut self, remember: RememberDevice) -> Self {
        self.0.remember_device = Some(remember);
        self
    }

    /// How long a first factor waits for the second (default: 10 minutes;
    /// 1 minute to 1 hour).
    pub fn with_pending_ttl(mut self, ttl: Duration) -> Self {
        self.0.pending_ttl = ttl;
        self
    }

    /// Where the policy turns codes off, how recent a OneTouch approval must
    /// be to turn 2FA off (default: 5 minutes); with codes on, turning it
    /// off always needs a current code.
    pub fn with_fresh_for_changes(mut self, window: Duration) -> Self {
        self.0.fresh_for_changes = window;
        self
    }

    /// Lets several accounts bind the same provider identity (one phone,
    /// one Authy ID), say for a family sharing a phone (default: off, and
    /// binding a phone another account holds is refused). Either way,
    /// removing a factor never deletes a provider user another factor
    /// still holds.
    pub fn with_shared_identities(mut self, shared: bool) -> Self {
        self.0.shared_identities = shared;
        self
    }

    /// Checks the policy.
    pub fn build(self) -> Result<Policy, ConfigError> {
        let policy = self.0;
        let range = |setting: &'static str, ok: bool, reason: &str| {
            if ok {
                Ok(())
            } else {
                Err(ConfigError::OutOfRange {
                    setting,
                    reason: reason.into(),
                })
            }
        };
        let any_code =
            policy.codes || policy.sms != ChannelMode::Off || policy.call != ChannelMode::Off;
        range(
            "channels",
            policy.onetouch || any_code,
            "at least one channel must be on",
        )?;
        range(
            "channels",
            policy.codes || (policy.sms == ChannelMode::Off && policy.call == ChannelMode::Off),
            "SMS and voice need code entry on",
        )?;
        let ttl = policy.onetouch_ttl;
        range(
            "OneTouch time to live",
            (10..=86_400).contains(&ttl.as_secs()),
            "10 s to 1 day",
        )?;
        let message = policy.onetouch_message.chars().count();
        range(
            "OneTouch message",
            (1..=200).contains(&message),
            "1 to 200 characters",
        )?;
        for (key, _) in &policy.onetouch_details {
            range(
                "OneTouch detail",
                (1..=20).contains(&key.chars().count()),
                "keys of 1 to 20 characters",
            )?;
        }
        range(
            "lockout",
            policy.lockout.max_failures >= 1,
            "at least one failure",
        )?;
        range(
            "send limit",
            policy.send_limit.max_failures >= 1,
            "at least one send",
        )?;
        range(
            "enroll limit",
            policy.enroll_limit.max_failures >= 1,
            "at least one enrollment",
        )?;
        let pending = policy.pending_ttl.as_secs();
        range(
            "pending time",
            (60..=3600).contains(&pending),
            "1 minute to 1 hour",
        )?;
        if let StatusMode::Polling { every } = policy.status_mode {
            range(
                "polling interval",
                (1..=30).contains(&every.as_secs()),
                "1 to 30 s",
            )?;
        }
        if let Some(remember) = &policy.remember_device {
            range(
                "remember-device key",
                remember.key.expose().len() >= 32,
                "at least 32 bytes",
            )?;
            range(
                "remember-device lifetime",
                !remember.lifetime.is_zero(),
                "longer than zero",
            )?;
        }
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_builds() {
        assert!(Policy::builder().build().is_ok());
    }

    #[test]
    fn impossible_policies_are_errors_not_panics() {
        let off = Policy::builder()
            .with_onetouch(false)
            .with_codes(false)
            .with_sms(ChannelMode::Off)
            .with_call(ChannelMode::Off);
        assert!(matches!(
            off.build(),
            Err(ConfigError::OutOfRange {
                setting: "channels",
                ..
            })
        ));
        let sms_without_codes = Policy::builder().with_codes(false);
        assert!(sms_without_codes.build().is_err());
        assert!(
            Policy::builder()
                .with_onetouch_ttl(Duration::from_secs(5))
                .build()
                .is_err()
        );
        assert!(Policy::builder().with_onetouch_message("").build().is_err());
        assert!(
            Policy::builder()
                .with_onetouch_detail("a key longer than twenty", "v")
                .build()
                .is_err()
        );
        assert!(
            Policy::builder()
                .with_lockout(0, Duration::from_secs(1), Duration::from_secs(1))
                .build()
                .is_err()
        );
        assert!(
            Policy::builder()
                .with_pending_ttl(Duration::from_secs(5))
                .build()
                .is_err()
        );
        let weak = RememberDevice::new(Duration::from_secs(86400), "short");
        assert!(
            Policy::builder()
                .with_remember_device(weak)
                .build()
                .is_err()
        );
        let polling = StatusMode::Polling {
            every: Duration::from_secs(0),
        };
        assert!(Policy::builder().with_status_mode(polling).build().is_err());
    }
}
