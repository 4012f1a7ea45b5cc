//! Codes sent to an address: a phone by text or call, a voice-only phone,
//! an e-mail address, a WhatsApp number. Verify keeps no users: the
//! address is the factor, and its first approved code confirms it.

use std::time::SystemTime;

use async_trait::async_trait;

use super::Verify;
use crate::method::{Ability, Channel, CodeSent, EnrollmentRequest, Method, ProviderError};
use crate::store::{Factor, FactorKind, UserId};
use crate::verify::{self, StartVerification, VerifyError};

/// The kinds served here, each by one [`VerifyTo`].
pub(super) const KINDS: &[FactorKind] = &[
    FactorKind::VerifySms,
    FactorKind::VerifyCall,
    FactorKind::VerifyEmail,
    FactorKind::VerifyWhatsapp,
];

/// One kind of address Verify sends codes to.
#[derive(Debug)]
pub(super) struct VerifyTo {
    verify: Verify,
    kind: FactorKind,
}

impl VerifyTo {
    pub(super) fn new(verify: Verify, kind: FactorKind) -> Self {
        debug_assert!(KINDS.contains(&kind));
        Self { verify, kind }
    }
}

const SMS: &[Ability] = &[
    Ability::CheckCode,
    Ability::SendCode(Channel::Sms),
    Ability::SendCode(Channel::Call),
    Ability::EnrollPhone,
];
const CALL: &[Ability] = &[
    Ability::CheckCode,
    Ability::SendCode(Channel::Call),
    Ability::EnrollContact,
];
const EMAIL: &[Ability] = &[
    Ability::CheckCode,
    Ability::SendCode(Channel::Email),
    Ability::EnrollContact,
];
const WHATSAPP: &[Ability] = &[
    Ability::CheckCode,
    Ability::SendCode(Channel::Whatsapp),
    Ability::EnrollContact,
];

/// The E.164 form of an enrolment's number: `+`, the country code, the
/// digits (separators dropped).
fn e164(request: &EnrollmentRequest) -> Result<String, ProviderError> {
    let digits: String = request
        .phone_number
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let number = format!("+{}{digits}", request.country_code);
    let ok = request
        .phone_number
        .chars()
        .all(|c| c.is_ascii_digit() || " -.()".contains(c))
        && verify::is_e164(&number);
    if ok {
        Ok(number)
    } else {
        Err(ProviderError::InvalidInput(
            "the phone number is not valid".into(),
        ))
    }
}

/// A number typed whole, `+` and country code first, separators allowed.
fn typed_e164(typed: &str) -> Option<String> {
    let rest = typed.trim().strip_prefix('+')?;
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || " -.()".contains(c))
    {
        return None;
    }
    let number: String = std::iter::once('+')
        .chain(rest.chars().filter(char::is_ascii_digit))
        .collect();
    verify::is_e164(&number).then_some(number)
}

/// An e-mail address as typed, trimmed (and a trailing dot of its domain
/// dropped), if it is a plain ASCII one: one `@`, a local part of printable
/// characters without `<>()[],;:\"`, a domain of letters, digits and
/// hyphens in dotted labels. Plain ASCII, so that no two spellings (a
/// Kelvin sign for a `k`) reach one identity.
fn plain_email(typed: &str) -> Option<String> {
    let typed = typed.trim();
    let typed = typed.strip_suffix('.').unwrap_or(typed);
    let (local, domain) = typed.split_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>()[],;:\\\"@".contains(&b));
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    (local_ok && domain_ok && typed.len() <= 254 && verify::is_email(typed))
        .then(|| typed.to_owned())
}

/// `nina@example.com` as `n…@example.com`.
fn masked_email(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let first: String = local.chars().take(1).collect();
    format!("{first}…@{domain}")
}

/// `+15551234567` as `+… 67`.
fn masked_number(number: &str) -> String {
    format!("+… {}", &number[number.len().saturating_sub(2)..])
}

#[async_trait]
impl Method for VerifyTo {
    fn kind(&self) -> FactorKind {
        self.kind
    }

    fn abilities(&self) -> &[Ability] {
        match self.kind {
            FactorKind::VerifySms => SMS,
            FactorKind::VerifyCall => CALL,
            FactorKind::VerifyEmail => EMAIL,
            _ => WHATSAPP,
        }
    }

    async fn enroll_phone(
        &self,
        user: &UserId,
        request: &EnrollmentRequest,
        now: SystemTime,
    ) -> Result<Factor, ProviderError> {
        if self.kind != FactorKind::VerifySms {
            return Err(super::super::cannot("register a phone"));
        }
        let number = e164(request)?;
        let ending = &number[number.len() - 2..];
        let mut factor = Factor::pending(
            user.clone(),
            FactorKind::VerifySms,
            format!("Phone ending in {ending}"),
            number.clone(),
            now,
        );
        factor.identity = Some(format!("tel:{number}"));
        factor.hint = Some(request.masked_phone());
        Ok(factor)
    }

    /// An e-mail address for [`FactorKind::VerifyEmail`] (its identity is
    /// the address in lower case), else an E.164 number (its identity the
    /// number: the counters of one phone are shared by its kinds).
    async fn enroll_contact(
        &self,
        user: &UserId,
        address: &str,
        label: &str,
        now: SystemTime,
    ) -> Result<Factor, ProviderError> {
        let (to, identity, hint, default_label) = match self.kind {
            FactorKind::VerifyEmail => {
                let email = plain_email(address).ok_or_else(|| {
                    ProviderError::InvalidInput(
                        "the e-mail address must look like name@example.com".into(),
                    )
                })?;
                let hint = masked_email(&email);
                (
                    email.clone(),
                    format!("mailto:{}", email.to_ascii_lowercase()),
                    hint.clone(),
                    format!("E-mail to {hint}"),
                )
            }
            FactorKind::VerifyCall | FactorKind::VerifyWhatsapp => {
                let number = typed_e164(address).ok_or_else(|| {
                    ProviderError::InvalidInput(
                        "the number must start with + and the country code, like +44 20 7946 0018"
                            .into(),
                    )
                })?;
                let hint = masked_number(&number);
                let what = if self.kind == FactorKind::VerifyCall {
                    "Calls to"
                } else {
                    "WhatsApp"
                };
                (
                    number.clone(),
                    format!("tel:{number}"),
                    hint.clone(),
                    format!("{what} {hint}"),
                )
            }
            _ => return Err(super::super::cannot("register an address")),
        };
        let label = if label.is_empty() {
            default_label
        } else {
            label.to_owned()
        };
        let mut factor = Factor::pending(user.clone(), self.kind, label, to, now);
        factor.identity = Some(identity);
        factor.hint = Some(hint);
        Ok(factor)
    }

    async fn send_code(
        &self,
        factor: &Factor,
        channel: Channel,
        _force: bool,
    ) -> Result<CodeSent, ProviderError> {
        if !self.abilities().contains(&Ability::SendCode(channel)) {
            return Err(super::super::cannot("send a code that way"));
        }
        let channel = match channel {
            Channel::Sms => verify::Channel::Sms,
            Channel::Call => verify::Channel::Call,
            Channel::Email => verify::Channel::Email,
            Channel::Whatsapp => verify::Channel::Whatsapp,
        };
        self.verify
            .client
            .service(&self.verify.service)
            .verifications()
            .start(&StartVerification::new(&factor.provider_ref, channel))
            .await?;
        Ok(CodeSent { ignored: false })
    }

    async fn check_code(&self, factor: &Factor, code: &str) -> Result<(), ProviderError> {
        let check = self
            .verify
            .client
            .service(&self.verify.service)
            .verifications()
            .check_to(&factor.provider_ref, code)
            .await;
        match check {
            Ok(check) if check.is_approved() => Ok(()),
            Ok(_) => Err(ProviderError::CodeRejected),
            // A code of the wrong shape can never be right.
            Err(VerifyError::InvalidInput(input)) if input.field == "code" => {
                Err(ProviderError::CodeRejected)
            }
            // No verification waiting for this address any more.
            Err(error) if error.is_not_found() => Err(ProviderError::CodeExpired),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_numbers_need_the_plus_and_country_code() {
        assert_eq!(
            typed_e164(" +44 20 7946 0018 ").as_deref(),
            Some("+442079460018")
        );
        assert_eq!(
            typed_e164("+1 (555) 123-4567").as_deref(),
            Some("+15551234567")
        );
        for bad in ["5551234567", "+", "+0123", "+1 555 abc", "++15551234567"] {
            assert_eq!(typed_e164(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn e_mail_addresses_are_plain_ascii() {
        assert_eq!(
            plain_email(" Nina@Example.com. ").as_deref(),
            Some("Nina@Example.com")
        );
        assert_eq!(
            plain_email("a+tag@mail.example.org").as_deref(),
            Some("a+tag@mail.example.org")
        );
        for bad in [
            "nina",
            "a@b@example.com",
            "\u{212a}im@example.com",
            "nina@exämple.com",
            "<nina>@example.com",
            "nina@example",
            "nina@.example.com",
            "nina @example.com",
        ] {
            assert_eq!(plain_email(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn addresses_are_masked_for_the_page() {
        assert_eq!(masked_email("nina@example.com"), "n…@example.com");
        assert_eq!(masked_number("+15551234567"), "+… 67");
    }
}
