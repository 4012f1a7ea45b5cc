//! Why the rules said no: each reason has its [`Code`], and some carry what
//! the answer needs to be precise (attempts left, until when).

use std::time::SystemTime;

use crate::code::Code;
use crate::method::ProviderError;
use crate::session::SessionError;
use crate::store::StoreError;

/// What was sent, for the send limit's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Send {
    Text,
    Call,
    Email,
    Whatsapp,
    Push,
}

impl Send {
    fn plural(self) -> &'static str {
        match self {
            Self::Text => "text messages",
            Self::Call => "calls",
            Self::Email => "e-mails",
            Self::Whatsapp => "WhatsApp messages",
            Self::Push => "sign-in requests",
        }
    }
}

/// A refusal, worded without secrets.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("sign in first")]
    LoginRequired,
    #[error("cross-site request refused")]
    CrossSite,
    #[error("{0}")]
    InvalidInput(String),
    #[error("that code is not right")]
    CodeRejected { remaining: u32 },
    #[error("no code is waiting any more; ask for a new one")]
    CodeExpired,
    #[error("too many wrong codes; try again later")]
    LockedOut { until: SystemTime },
    /// The provider's own limit; it may come without a time.
    #[error("too many codes sent; wait before asking again")]
    TooManyCodes { until: Option<SystemTime> },
    /// The crate's send limit, reached by a send of this kind.
    #[error("too many {} sent; wait before asking again", .what.plural())]
    TooManySends { what: Send, until: SystemTime },
    #[error("this way of signing in is turned off")]
    ChannelOff,
    #[error("{0}")]
    NotPossible(String),
    #[error("the second-factor service is unreachable; try again or use another way")]
    ProviderUnavailable,
    #[error("set up two-factor sign-in first")]
    NotEnrolled,
    #[error("no approval request is waiting")]
    NoApprovalRequest,
    #[error("sign-in cannot be checked right now; try again")]
    Storage,
    #[error("the two-factor settings changed meanwhile; reload and try again")]
    ChangedMeanwhile,
    /// One field of a form is wrong; `code` names which.
    #[error("{message}")]
    InvalidField { code: Code, message: String },
    #[error("two-factor sign-in is already on")]
    AlreadyEnabled,
    #[error("pass the second factor first")]
    SecondFactorRequired,
    #[error("confirm it is you with a code or an approval first")]
    FreshFactorRequired,
    #[error("two-factor sign-in cannot be turned off for this account")]
    OptOutNotAllowed,
    #[error("confirm that you want this")]
    ConfirmationRequired,
    #[error("too many phones registered; wait before trying again")]
    TooManyEnrollments { until: SystemTime },
    #[error("that phone, address or key is already set up on another account")]
    IdentityInUse,
    #[error("there is no such factor on this account")]
    UnknownFactor,
    /// The browser's answer to a passkey ceremony was refused; the message
    /// says why, without its content.
    #[error("{0}")]
    CeremonyRefused(String),
    /// No passkey ceremony of this session waits for that answer (never
    /// begun, answered already, or begun for something else).
    #[error("no passkey request is waiting; start again")]
    NoCeremony,
    /// The passkey ceremony waited too long.
    #[error("the passkey request expired; start again")]
    CeremonyExpired,
}

impl Refusal {
    pub(crate) fn code(&self) -> Code {
        match self {
            Self::LoginRequired => Code::LoginRequired,
            Self::CrossSite => Code::CrossSite,
            Self::InvalidInput(_) => Code::InvalidInput,
            Self::CodeRejected { .. } => Code::CodeRejected,
            Self::CodeExpired => Code::CodeExpired,
            Self::LockedOut { .. } => Code::LockedOut,
            Self::TooManyCodes { .. } => Code::TooManyCodes,
            Self::TooManySends { what, .. } => match what {
                Send::Text => Code::TooManyTexts,
                Send::Call => Code::TooManyCalls,
                Send::Email => Code::TooManyEmails,
                Send::Whatsapp => Code::TooManyWhatsapp,
                Send::Push => Code::TooManyPushes,
            },
            Self::ChannelOff => Code::ChannelOff,
            Self::NotPossible(_) => Code::NotPossible,
            Self::ProviderUnavailable => Code::ProviderUnavailable,
            Self::NotEnrolled => Code::NotEnrolled,
            Self::NoApprovalRequest => Code::NoApprovalRequest,
            Self::Storage => Code::StorageUnavailable,
            Self::InvalidField { code, .. } => *code,
            Self::AlreadyEnabled => Code::AlreadyEnabled,
            Self::ChangedMeanwhile => Code::ChangedMeanwhile,
            Self::SecondFactorRequired => Code::SecondFactorRequired,
            Self::FreshFactorRequired => Code::FreshFactorRequired,
            Self::OptOutNotAllowed => Code::OptOutNotAllowed,
            Self::ConfirmationRequired => Code::ConfirmationRequired,
            Self::TooManyEnrollments { .. } => Code::TooManyEnrollments,
            Self::IdentityInUse => Code::IdentityInUse,
            Self::UnknownFactor => Code::UnknownFactor,
            Self::CeremonyRefused(_) => Code::CeremonyRefused,
            Self::NoCeremony => Code::NoCeremony,
            Self::CeremonyExpired => Code::CeremonyExpired,
        }
    }

    /// Until when a lockout or a pause lasts, when that is known.
    pub(crate) fn until(&self) -> Option<SystemTime> {
        match self {
            Self::LockedOut { until } => Some(*until),
            Self::TooManyCodes { until } => *until,
            Self::TooManySends { until, .. } | Self::TooManyEnrollments { until } => Some(*until),
            _ => None,
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        if let StoreError::IdentityInUse = error {
            return Self::IdentityInUse;
        }
        tracing::warn!(%error, "tower-authy: store failed; refusing");
        Self::Storage
    }
}

impl From<SessionError> for Refusal {
    fn from(error: SessionError) -> Self {
        tracing::warn!(%error, "tower-authy: session store failed; refusing");
        Self::Storage
    }
}

impl From<ProviderError> for Refusal {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::CodeRejected => Self::CodeRejected { remaining: 0 },
            ProviderError::CodeExpired => Self::CodeExpired,
            ProviderError::InvalidInput(message) => Self::InvalidInput(message),
            ProviderError::NotPossible(message) => Self::NotPossible(message),
            ProviderError::RateLimited { retry_after } => Self::TooManyCodes {
                until: retry_after.map(|wait| SystemTime::now() + wait),
            },
            ProviderError::UnknownUser => Self::NotEnrolled,
            other => {
                tracing::warn!(error = %other, "tower-authy: provider failed; refusing");
                Self::ProviderUnavailable
            }
        }
    }
}
