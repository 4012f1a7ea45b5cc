//! A user's second factors as the store keeps them: what each is, where it
//! stands, and which provider identity it reaches.

use std::fmt;
use std::time::SystemTime;

use super::{UnknownName, UserId};

/// A factor's id: random and URL-safe, so it can name the factor in a route
/// (`/2fa/factors/{id}/remove`). It is not a secret: a route acts on a
/// factor only for the user who owns it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct FactorId(String);

impl FactorId {
    /// A new random id (128 bits, base64url without padding).
    pub fn random() -> Self {
        use base64::Engine as _;
        let bytes: [u8; 16] = rand::random();
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Wraps a stored id. Ids carried over from version 1 enrollments are
    /// `authy-<Authy ID>`.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// Whether `text` could be an id: 1 to 64 URL-safe characters. Anything
    /// else is refused before the store is asked.
    pub fn is_well_formed(text: &str) -> bool {
        (1..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for FactorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FactorId({:?})", self.0)
    }
}

impl fmt::Display for FactorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a factor is (design.md, "Factors"). New kinds come with the
/// providers that serve them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FactorKind {
    /// An Authy ID: SMS, voice, soft token and OneTouch, through Authy.
    Authy,
    /// An authenticator app (RFC 6238: SHA-1, 6 digits, 30 s), checked
    /// locally against the factor's sealed seed.
    Totp,
    /// One code of the user's set of single-use backup codes: each code is
    /// a factor of its own (its keyed hash its secret), so using one is
    /// removing it, which the store does atomically.
    BackupCodes,
    /// A phone number that gets codes by text (and by call) through Twilio
    /// Verify; the number is the identity.
    VerifySms,
    /// A phone number that gets codes by voice call only, through Twilio
    /// Verify (a landline, say).
    VerifyCall,
    /// An e-mail address that gets codes through Twilio Verify.
    VerifyEmail,
    /// A WhatsApp number that gets codes through Twilio Verify.
    VerifyWhatsapp,
    /// A Twilio Verify TOTP factor: an authenticator app whose seed Twilio
    /// keeps.
    VerifyTotp,
    /// A Twilio Verify Push factor, registered by the application's mobile
    /// app with Twilio's SDK.
    VerifyPush,
    /// A passkey or security key (WebAuthn): `provider_ref` is its
    /// credential id, `secret` the credential (public key, flags) as
    /// webauthn-rs keeps it, `last_step` its signature counter.
    Webauthn,
}

impl FactorKind {
    /// Every kind, for listings and tests.
    pub const ALL: &'static [FactorKind] = &[
        FactorKind::Authy,
        FactorKind::Totp,
        FactorKind::BackupCodes,
        FactorKind::VerifySms,
        FactorKind::VerifyCall,
        FactorKind::VerifyEmail,
        FactorKind::VerifyWhatsapp,
        FactorKind::VerifyTotp,
        FactorKind::VerifyPush,
        FactorKind::Webauthn,
    ];

    /// A stable name for storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authy => "authy",
            Self::Totp => "totp",
            Self::BackupCodes => "backup_codes",
            Self::VerifySms => "verify_sms",
            Self::VerifyCall => "verify_call",
            Self::VerifyEmail => "verify_email",
            Self::VerifyWhatsapp => "verify_whatsapp",
            Self::VerifyTotp => "verify_totp",
            Self::VerifyPush => "verify_push",
            Self::Webauthn => "webauthn",
        }
    }

    /// Whether a factor of this kind turns two-factor sign-in on for its
    /// user once active (every kind but backup codes).
    pub fn turns_on_two_factor(self) -> bool {
        !matches!(self, Self::BackupCodes)
    }
}

impl fmt::Display for FactorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for FactorKind {
    type Err = UnknownName;

    /// The kind a stored name stands for.
    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownName(name.to_owned()))
    }
}

/// Where a factor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FactorState {
    /// Registered; its first successful use confirms it. Until then it does
    /// not turn two-factor sign-in on.
    Pending,
    /// Confirmed: the challenge asks for it (or another active factor).
    Active,
}

impl FactorState {
    /// A stable name for storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
        }
    }
}

impl fmt::Display for FactorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for FactorState {
    type Err = UnknownName;

    /// The state a stored name stands for.
    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Ok(match name {
            "pending" => Self::Pending,
            "active" => Self::Active,
            _ => return Err(UnknownName(name.to_owned())),
        })
    }
}

/// Whether a factor's provider identity may also be bound to other users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum IdentityUse {
    /// The identity belongs to this user alone: binding it while another
    /// user's factor holds it is refused with [`StoreError::IdentityInUse`](super::StoreError::IdentityInUse).
    #[default]
    Exclusive,
    /// Other users' factors may hold the same identity (the application
    /// opted in, say for a family sharing one phone).
    Shared,
}

/// One second factor of one user.
///
/// `Debug` shows every field but [`secret`](Self::secret): the rest are
/// references, not secrets (the provider reference of an Authy factor is
/// the Authy ID).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Factor {
    /// Its id, unique among the user's factors.
    pub id: FactorId,
    /// The user it belongs to.
    pub user_id: UserId,
    /// What it is.
    pub kind: FactorKind,
    /// The name the user gave it ("Work phone").
    pub label: String,
    /// Where it stands.
    pub state: FactorState,
    /// When it was added.
    pub created_at: SystemTime,
    /// When it last passed a challenge; `None` for never.
    pub last_used_at: Option<SystemTime>,
    /// What its provider knows it by (the Authy ID).
    pub provider_ref: String,
    /// The provider identity it reaches (`authy:<Authy ID>`), which belongs
    /// to one user unless bound as [`IdentityUse::Shared`]; `None` for local
    /// factors, which reach nobody else.
    pub identity: Option<String>,
    /// What may be shown of it: the phone as `XXX-XXX-4567`, say.
    pub hint: Option<String>,
    /// A local factor's own secret, which stores keep as it is and never
    /// see in the clear: an authenticator app's seed sealed with the
    /// application's secret key (AES-256-GCM), a backup code's keyed hash;
    /// `None` for factors whose secret is the provider's.
    pub secret: Option<String>,
    /// The last time step a code of this factor was accepted at (TOTP), so
    /// that no code of that step or an earlier one passes again;
    /// [`FactorStore::advance_step`](super::FactorStore::advance_step) moves
    /// it on.
    pub last_step: Option<u64>,
}

impl fmt::Debug for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Factor")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("kind", &self.kind)
            .field("label", &self.label)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .field("provider_ref", &self.provider_ref)
            .field("identity", &self.identity)
            .field("hint", &self.hint)
            .field("secret", &self.secret.as_ref().map(|_| "[sealed]"))
            .field("last_step", &self.last_step)
            .finish()
    }
}

impl Factor {
    /// A new pending factor with a random id, added at `now`.
    pub fn pending(
        user_id: UserId,
        kind: FactorKind,
        label: impl Into<String>,
        provider_ref: impl Into<String>,
        now: SystemTime,
    ) -> Self {
        Self {
            id: FactorId::random(),
            user_id,
            kind,
            label: label.into(),
            state: FactorState::Pending,
            created_at: now,
            last_used_at: None,
            provider_ref: provider_ref.into(),
            identity: None,
            hint: None,
            secret: None,
            last_step: None,
        }
    }

    /// An Authy factor for the Authy ID `authy_id`, pending, its identity
    /// the Authy ID, its hint the masked phone.
    pub fn authy(
        user_id: UserId,
        authy_id: impl Into<String>,
        masked_phone: Option<String>,
        now: SystemTime,
    ) -> Self {
        let authy_id = authy_id.into();
        let label = match masked_phone.as_deref().and_then(last_digits) {
            Some(digits) => format!("Phone ending in {digits}"),
            None => "Phone".to_owned(),
        };
        Self {
            identity: Some(format!("authy:{authy_id}")),
            hint: masked_phone,
            ..Self::pending(user_id, FactorKind::Authy, label, authy_id, now)
        }
    }

    /// This factor, active.
    pub fn activated(mut self) -> Self {
        self.state = FactorState::Active;
        self
    }

    /// Whether it is active.
    pub fn is_active(&self) -> bool {
        self.state == FactorState::Active
    }

    /// The last two digits of its phone, for "ending in 67".
    pub fn ending(&self) -> Option<&str> {
        self.hint.as_deref().and_then(last_digits)
    }
}

/// Whether one of `factors` of `kind` is what its provider knows as
/// `provider_ref`: a report about another provider user passes nobody.
pub(crate) fn holds(factors: &[Factor], kind: FactorKind, provider_ref: &str) -> bool {
    factors
        .iter()
        .any(|factor| factor.kind == kind && factor.provider_ref == provider_ref)
}

/// The last two digits of a masked phone (`XXX-XXX-4567` → `67`).
fn last_digits(masked: &str) -> Option<&str> {
    let digits = masked.trim_end_matches(|c: char| !c.is_ascii_digit());
    let start = digits.len().checked_sub(2)?;
    let tail = &digits[start..];
    tail.bytes().all(|b| b.is_ascii_digit()).then_some(tail)
}

/// What removing a factor did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Removed {
    /// The factor as it was.
    pub factor: Factor,
    /// Whether another factor (of any user) still holds its identity: then
    /// the provider's user must not be deleted.
    pub identity_still_used: bool,
}

impl Removed {
    /// What a removal did (for stores outside this crate).
    pub fn new(factor: Factor, identity_still_used: bool) -> Self {
        Self {
            factor,
            identity_still_used,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_round_trip_their_names() {
        for kind in FactorKind::ALL {
            assert_eq!(kind.as_str().parse::<FactorKind>(), Ok(*kind));
        }
        for state in [FactorState::Pending, FactorState::Active] {
            assert_eq!(state.as_str().parse::<FactorState>(), Ok(state));
        }
        assert!("enabled".parse::<FactorState>().is_err());
        assert!("sms".parse::<FactorKind>().is_err());
    }

    #[test]
    fn ids_are_random_and_url_safe() {
        let (a, b) = (FactorId::random(), FactorId::random());
        assert_ne!(a, b);
        assert!(FactorId::is_well_formed(a.as_str()), "{a}");
        assert!(FactorId::is_well_formed("authy-12345"));
        for bad in ["", "a/b", "a b", "é", "../x", &"a".repeat(65)] {
            assert!(!FactorId::is_well_formed(bad), "{bad:?}");
        }
    }

    #[test]
    fn an_authy_factor_shows_its_phone_ending() {
        let now = SystemTime::now();
        let factor = Factor::authy(UserId::new("a"), "42", Some("XXX-XXX-4567".into()), now);
        assert_eq!(factor.label, "Phone ending in 67");
        assert_eq!(factor.ending(), Some("67"));
        assert_eq!(factor.identity.as_deref(), Some("authy:42"));
        assert_eq!(factor.state, FactorState::Pending);
        assert_eq!(
            Factor::authy(UserId::new("a"), "42", None, now).label,
            "Phone"
        );
    }
}
