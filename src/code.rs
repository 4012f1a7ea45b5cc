//! The codes that cross the wire: every JSON error and notice the crate's
//! routes and layer answer with, and the `?error=` / `?notice=` of the pages
//! a browser is sent back to.

use std::fmt;
use std::str::FromStr;

use http::StatusCode;

#[doc = include_str!("docs/codes.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    // Who is asking.
    /// Nobody is signed in, or the first factor waited too long.
    LoginRequired,
    /// The first factor is done; the second is not.
    SecondFactorRequired,
    /// The application has no session layer around the crate's routes.
    SessionMissing,
    /// The session store failed.
    SessionUnavailable,
    /// A POST came from another site (or without the session's CSRF token).
    CrossSite,
    // What was sent.
    /// The request could not be read.
    InvalidInput,
    /// The e-mail address is not plausible.
    InvalidEmail,
    /// The address to send codes to (an e-mail address, a number with its
    /// country code) is not plausible.
    InvalidAddress,
    /// The country calling code is not 1 to 999.
    InvalidCountryCode,
    /// The phone number is not 4 to 15 digits.
    InvalidPhoneNumber,
    /// The provider refused the phone number or e-mail address.
    PhoneRejected,
    /// That phone (or Authy ID) is set up on another account.
    IdentityInUse,
    /// The user has no factor of that id.
    UnknownFactor,
    /// The browser's answer to a passkey ceremony was refused (another
    /// site's, another request's, a copied key's).
    CeremonyRefused,
    /// No passkey ceremony waits for that answer.
    NoCeremony,
    /// The passkey ceremony waited too long.
    CeremonyExpired,
    // The second factor.
    /// A wrong, expired or used code.
    CodeRejected,
    /// No code is waiting any more (it expired, or too many wrong ones were
    /// tried): ask for a new one.
    CodeExpired,
    /// Too many wrong codes: locked out for a while.
    LockedOut,
    /// The provider asks to slow down sending codes.
    TooManyCodes,
    /// Too many text messages sent: paused for a while.
    TooManyTexts,
    /// Too many calls made: paused for a while.
    TooManyCalls,
    /// Too many e-mails with codes were sent lately.
    TooManyEmails,
    /// Too many WhatsApp messages with codes were sent lately.
    TooManyWhatsapp,
    /// Too many sign-in requests pushed: paused for a while.
    TooManyPushes,
    /// Too many phones registered: paused for a while.
    TooManyEnrollments,
    /// The policy turned that way of signing in off.
    ChannelOff,
    /// That way cannot work for this user (no app, a landline).
    NotPossible,
    /// The user has no second factor to use.
    NotEnrolled,
    /// No OneTouch request is waiting for this session.
    NoApprovalRequest,
    /// The OneTouch request was denied on the phone.
    Denied,
    /// The OneTouch request expired unanswered.
    Expired,
    // Settings.
    /// Two-factor sign-in is already on.
    AlreadyEnabled,
    /// The settings changed in another tab or request meanwhile.
    ChangedMeanwhile,
    /// A change of settings needs a second factor checked just now.
    FreshFactorRequired,
    /// The policy does not let this user turn two-factor sign-in off.
    OptOutNotAllowed,
    /// A change that lowers protection was not confirmed.
    ConfirmationRequired,
    // Outside.
    /// The second-factor provider cannot be reached or failed.
    ProviderUnavailable,
    /// The crate's store failed.
    StorageUnavailable,
    // Notices.
    /// A OneTouch request was sent.
    OnetouchSent,
    /// The OneTouch request still waits for an answer.
    OnetouchPending,
    /// A code is on its way by text message.
    SmsSent,
    /// A call with a code is on its way.
    CallSent,
    /// A code is on its way by e-mail.
    EmailSent,
    /// A code is on its way by WhatsApp.
    WhatsappSent,
    /// Nothing was sent: the user's code is in their authenticator app.
    SentToApp,
    /// A phone was registered; it waits for its first code.
    Enrolled,
    /// Two-factor sign-in is on.
    Enabled,
    /// Two-factor sign-in is off.
    Disabled,
    /// Every remembered device was forgotten.
    DevicesForgotten,
    /// A factor was removed.
    FactorRemoved,
}

impl Code {
    /// Every code, in the order of the table above.
    pub const ALL: &'static [Code] = &[
        Self::LoginRequired,
        Self::SecondFactorRequired,
        Self::SessionMissing,
        Self::SessionUnavailable,
        Self::CrossSite,
        Self::InvalidInput,
        Self::InvalidEmail,
        Self::InvalidAddress,
        Self::InvalidCountryCode,
        Self::InvalidPhoneNumber,
        Self::PhoneRejected,
        Self::IdentityInUse,
        Self::UnknownFactor,
        Self::CeremonyRefused,
        Self::NoCeremony,
        Self::CeremonyExpired,
        Self::CodeRejected,
        Self::CodeExpired,
        Self::LockedOut,
        Self::TooManyCodes,
        Self::TooManyTexts,
        Self::TooManyCalls,
        Self::TooManyEmails,
        Self::TooManyWhatsapp,
        Self::TooManyPushes,
        Self::TooManyEnrollments,
        Self::ChannelOff,
        Self::NotPossible,
        Self::NotEnrolled,
        Self::NoApprovalRequest,
        Self::Denied,
        Self::Expired,
        Self::AlreadyEnabled,
        Self::ChangedMeanwhile,
        Self::FreshFactorRequired,
        Self::OptOutNotAllowed,
        Self::ConfirmationRequired,
        Self::ProviderUnavailable,
        Self::StorageUnavailable,
        Self::OnetouchSent,
        Self::OnetouchPending,
        Self::SmsSent,
        Self::CallSent,
        Self::EmailSent,
        Self::WhatsappSent,
        Self::SentToApp,
        Self::Enrolled,
        Self::Enabled,
        Self::Disabled,
        Self::DevicesForgotten,
        Self::FactorRemoved,
    ];

    /// The one place each code's wire name, HTTP status and default message
    /// are written down.
    fn spec(self) -> (&'static str, StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            Self::LoginRequired => ("login_required", S::UNAUTHORIZED, "Sign in first."),
            Self::SecondFactorRequired => (
                "second_factor_required",
                S::UNAUTHORIZED,
                "Finish signing in with your second factor first.",
            ),
            Self::SessionMissing => (
                "session_missing",
                S::INTERNAL_SERVER_ERROR,
                "Sign-in is not set up on this site: it has no session layer.",
            ),
            Self::SessionUnavailable => (
                "session_unavailable",
                S::SERVICE_UNAVAILABLE,
                "Your session cannot be read right now. Please try again.",
            ),
            Self::CrossSite => (
                "cross_site",
                S::FORBIDDEN,
                "That request came from another site and was refused.",
            ),
            Self::InvalidInput => (
                "invalid_input",
                S::BAD_REQUEST,
                "Please check what you typed.",
            ),
            Self::InvalidEmail => (
                "invalid_email",
                S::BAD_REQUEST,
                "That e-mail address does not look right.",
            ),
            Self::InvalidAddress => (
                "invalid_address",
                S::BAD_REQUEST,
                "That address does not look right.",
            ),
            Self::InvalidCountryCode => (
                "invalid_country_code",
                S::BAD_REQUEST,
                "The country calling code is 1 to 3 digits, like 1 or 44.",
            ),
            Self::InvalidPhoneNumber => (
                "invalid_phone_number",
                S::BAD_REQUEST,
                "The phone number is 4 to 15 digits; spaces, dashes, dots and brackets are fine.",
            ),
            Self::PhoneRejected => (
                "phone_rejected",
                S::BAD_REQUEST,
                "That phone number or e-mail address was not accepted. Please check it.",
            ),
            Self::IdentityInUse => (
                "identity_in_use",
                S::CONFLICT,
                "That phone, address or key is already set up on another account.",
            ),
            Self::UnknownFactor => (
                "unknown_factor",
                S::NOT_FOUND,
                "There is no such factor on your account. Please reload.",
            ),
            Self::CeremonyRefused => (
                "ceremony_refused",
                S::BAD_REQUEST,
                "Your passkey's answer was not accepted. Please try again, or use another way.",
            ),
            Self::NoCeremony => (
                "no_ceremony",
                S::CONFLICT,
                "No passkey request is waiting. Please start again.",
            ),
            Self::CeremonyExpired => (
                "ceremony_expired",
                S::GONE,
                "The passkey request expired. Please start again.",
            ),
            Self::CodeRejected => (
                "code_rejected",
                S::UNAUTHORIZED,
                "That code is not right. Please try again.",
            ),
            Self::CodeExpired => (
                "code_expired",
                S::UNAUTHORIZED,
                "That code is no longer waiting to be used. Please ask for a new one.",
            ),
            Self::LockedOut => (
                "locked_out",
                S::TOO_MANY_REQUESTS,
                "Too many wrong codes. Please wait before trying again.",
            ),
            Self::TooManyCodes => (
                "too_many_codes",
                S::TOO_MANY_REQUESTS,
                "Too many codes were sent. Please wait before asking again.",
            ),
            Self::TooManyTexts => (
                "too_many_texts",
                S::TOO_MANY_REQUESTS,
                "Too many text messages were sent. Please wait before asking again.",
            ),
            Self::TooManyCalls => (
                "too_many_calls",
                S::TOO_MANY_REQUESTS,
                "Too many calls were made. Please wait before asking again.",
            ),
            Self::TooManyEmails => (
                "too_many_emails",
                S::TOO_MANY_REQUESTS,
                "Too many e-mails were sent. Please wait before asking again.",
            ),
            Self::TooManyWhatsapp => (
                "too_many_whatsapp",
                S::TOO_MANY_REQUESTS,
                "Too many WhatsApp messages were sent. Please wait before asking again.",
            ),
            Self::TooManyPushes => (
                "too_many_pushes",
                S::TOO_MANY_REQUESTS,
                "Too many sign-in requests were sent to your phone. Please wait before asking again.",
            ),
            Self::TooManyEnrollments => (
                "too_many_enrollments",
                S::TOO_MANY_REQUESTS,
                "Too many phone numbers were registered. Please wait before trying again.",
            ),
            Self::ChannelOff => (
                "channel_off",
                S::FORBIDDEN,
                "That way of signing in is turned off.",
            ),
            Self::NotPossible => (
                "not_possible",
                S::BAD_REQUEST,
                "That does not work for your phone. Please use another way.",
            ),
            Self::NotEnrolled => (
                "not_enrolled",
                S::BAD_REQUEST,
                "Set up two-factor sign-in first.",
            ),
            Self::NoApprovalRequest => (
                "no_approval_request",
                S::NOT_FOUND,
                "No approval request is waiting. Send a new one.",
            ),
            Self::Denied => ("denied", S::OK, "The request was denied on your phone."),
            Self::Expired => (
                "expired",
                S::OK,
                "The request expired. Send a new one or use a code.",
            ),
            Self::AlreadyEnabled => (
                "already_enabled",
                S::CONFLICT,
                "Two-factor sign-in is already on.",
            ),
            Self::ChangedMeanwhile => (
                "changed_meanwhile",
                S::CONFLICT,
                "Your two-factor settings changed meanwhile. Please reload and try again.",
            ),
            Self::FreshFactorRequired => (
                "fresh_factor_required",
                S::FORBIDDEN,
                "To turn two-factor sign-in off, enter a current code.",
            ),
            Self::OptOutNotAllowed => (
                "opt_out_not_allowed",
                S::FORBIDDEN,
                "Two-factor sign-in cannot be turned off for this account.",
            ),
            Self::ConfirmationRequired => (
                "confirmation_required",
                S::BAD_REQUEST,
                "Tick the box to confirm that you want to turn two-factor sign-in off.",
            ),
            Self::ProviderUnavailable => (
                "provider_unavailable",
                S::SERVICE_UNAVAILABLE,
                "The sign-in service cannot be reached. Try again, or use another way.",
            ),
            Self::StorageUnavailable => (
                "storage_unavailable",
                S::SERVICE_UNAVAILABLE,
                "Sign-in cannot be checked right now. Please try again.",
            ),
            Self::OnetouchSent => (
                "onetouch_sent",
                S::OK,
                "We sent a request to your Authy app. Approve it there, then continue.",
            ),
            Self::OnetouchPending => (
                "onetouch_pending",
                S::OK,
                "Still waiting for your approval in the Authy app.",
            ),
            Self::SmsSent => ("sms_sent", S::OK, "A code is on its way by text message."),
            Self::CallSent => ("call_sent", S::OK, "We are calling you with a code."),
            Self::EmailSent => ("email_sent", S::OK, "A code is on its way by e-mail."),
            Self::WhatsappSent => ("whatsapp_sent", S::OK, "A code is on its way by WhatsApp."),
            Self::SentToApp => (
                "sent_to_app",
                S::OK,
                "You have the Authy app: your code is in the app.",
            ),
            Self::Enrolled => (
                "enrolled",
                S::OK,
                "Two-factor sign-in is almost on: confirm with a code.",
            ),
            Self::Enabled => ("enabled", S::OK, "Two-factor sign-in is on."),
            Self::Disabled => ("disabled", S::OK, "Two-factor sign-in is off."),
            Self::FactorRemoved => ("factor_removed", S::OK, "The factor was removed."),
            Self::DevicesForgotten => (
                "devices_forgotten",
                S::OK,
                "Every remembered device will be asked for a code again.",
            ),
        }
    }

    /// The wire name (`code_rejected`, …), stable across versions.
    pub fn as_str(self) -> &'static str {
        self.spec().0
    }

    /// The HTTP status a JSON answer with this code has (`200` for notices
    /// and OneTouch outcomes, which are answers, not failures).
    pub fn status(self) -> StatusCode {
        self.spec().1
    }

    /// The default English message, as the crate's pages show it.
    pub fn message(self) -> &'static str {
        self.spec().2
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A wire name that is not one of [`Code::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a tower-authy code")]
pub struct UnknownCode;

impl FromStr for Code {
    type Err = UnknownCode;

    fn from_str(name: &str) -> Result<Self, UnknownCode> {
        Self::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == name)
            .ok_or(UnknownCode)
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_from_its_wire_name_and_names_are_unique() {
        for code in Code::ALL {
            assert_eq!(code.as_str().parse::<Code>(), Ok(*code));
            assert_eq!(code.to_string(), code.as_str());
            assert!(code.message().ends_with('.'), "{code}");
        }
        let mut names: Vec<_> = Code::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len());
        assert_eq!("<script>".parse::<Code>(), Err(UnknownCode));
    }

    /// The rustdoc table is the JSON contract single-page apps read: it
    /// must say exactly what the code does.
    #[test]
    fn the_documented_table_is_the_code() {
        let doc = include_str!("docs/codes.md");
        let rows: Vec<(String, String, String)> = doc
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.trim().strip_prefix("| `")?.split(" | ").collect();
                let name = cells.first()?.strip_suffix('`')?;
                Some((
                    name.to_owned(),
                    cells.get(1)?.to_string(),
                    cells.get(2)?.trim_end_matches(" |").to_string(),
                ))
            })
            .collect();
        let expected: Vec<(String, String, String)> = Code::ALL
            .iter()
            .map(|c| {
                (
                    c.as_str().to_owned(),
                    c.status().as_u16().to_string(),
                    c.message().to_owned(),
                )
            })
            .collect();
        assert_eq!(rows, expected);
    }
}
