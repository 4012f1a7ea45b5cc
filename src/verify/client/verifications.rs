//! Verifications and their checks (spec §3.2–§3.4): codes by SMS, voice,
//! e-mail or WhatsApp.

use super::Client;
use super::error::{InvalidInput, VerifyError};
use super::resources::{Channel, Verification, VerificationCheck};
use super::sid::{ServiceSid, VerificationSid};
use super::transport::{Call, Kind};

/// What to send (spec §3.2). Only the destination and channel are needed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StartVerification {
    /// The phone (E.164, `+` and digits) or, for [`Channel::Email`], the
    /// e-mail address.
    pub to: String,
    /// Where to send.
    pub channel: Channel,
    /// The message's language (`en`, `fr`…; Twilio picks one by country
    /// otherwise).
    pub locale: Option<String>,
    /// A code of the application's own (needs the service's
    /// `CustomCodeEnabled`).
    pub custom_code: Option<String>,
}

impl StartVerification {
    /// A code to `to` on `channel`.
    pub fn new(to: impl Into<String>, channel: Channel) -> Self {
        Self {
            to: to.into(),
            channel,
            locale: None,
            custom_code: None,
        }
    }

    /// In this language.
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }

    /// With this code.
    pub fn custom_code(mut self, code: impl Into<String>) -> Self {
        self.custom_code = Some(code.into());
        self
    }
}

/// Whether `to` is an E.164 number: `+`, a non-zero digit, at most 15
/// digits in all (Twilio does not reformat local numbers).
pub fn is_e164(to: &str) -> bool {
    to.strip_prefix('+').is_some_and(|digits| {
        (2..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Whether `to` looks like an e-mail address, as Verify takes one: one `@`
/// with text either side, no spaces, at most 254 bytes.
pub fn is_email(to: &str) -> bool {
    to.len() <= 254
        && !to.chars().any(|c| c.is_whitespace() || c.is_control())
        && to
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}

fn check_to(to: &str, channel: Option<Channel>) -> Result<(), InvalidInput> {
    let ok = match channel {
        Some(Channel::Email) => is_email(to),
        Some(_) => is_e164(to),
        None => is_e164(to) || is_email(to),
    };
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "to",
            "must be an E.164 phone number (+ and digits) or, for e-mail, an address",
        ))
    }
}

fn check_code(code: &str) -> Result<(), InvalidInput> {
    let length = code.chars().count();
    if (4..=10).contains(&length) && code.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "code",
            "must be 4 to 10 letters or digits",
        ))
    }
}

/// The verifications of one service.
#[derive(Debug, Clone, Copy)]
pub struct Verifications<'a> {
    client: &'a Client,
    service: &'a ServiceSid,
}

impl<'a> Verifications<'a> {
    pub(crate) fn new(client: &'a Client, service: &'a ServiceSid) -> Self {
        Self { client, service }
    }

    /// Sends a code, or sends the same code again while one is pending for
    /// `to` (the 6th send is refused with 60203). Never retried.
    pub async fn start(&self, start: &StartVerification) -> Result<Verification, VerifyError> {
        check_to(&start.to, Some(start.channel))?;
        if let Some(code) = &start.custom_code {
            check_code(code)?;
        }
        let call = Call::new(
            "verification.start",
            Kind::Write,
            &["Services", self.service.as_str(), "Verifications"],
        )
        .param("To", &start.to)
        .param("Channel", start.channel.as_str())
        .param_opt("Locale", start.locale.as_deref())
        .param_opt("CustomCode", start.custom_code.as_deref());
        self.client.execute(call).await
    }

    /// A pending verification (gone ones answer 404/20404).
    pub async fn fetch(&self, sid: &VerificationSid) -> Result<Verification, VerifyError> {
        let call = Call::new(
            "verification.fetch",
            Kind::Read,
            &[
                "Services",
                self.service.as_str(),
                "Verifications",
                sid.as_str(),
            ],
        );
        self.client.execute(call).await
    }

    /// Cancels a pending verification (its code stops working).
    pub async fn cancel(&self, sid: &VerificationSid) -> Result<Verification, VerifyError> {
        self.update(sid, "canceled", "verification.cancel").await
    }

    /// Marks a verification approved (for custom codes the application
    /// checked itself).
    pub async fn approve(&self, sid: &VerificationSid) -> Result<Verification, VerifyError> {
        self.update(sid, "approved", "verification.approve").await
    }

    async fn update(
        &self,
        sid: &VerificationSid,
        status: &str,
        endpoint: &'static str,
    ) -> Result<Verification, VerifyError> {
        let call = Call::new(
            endpoint,
            Kind::Write,
            &[
                "Services",
                self.service.as_str(),
                "Verifications",
                sid.as_str(),
            ],
        )
        .param("Status", status);
        self.client.execute(call).await
    }

    /// Checks `code` against the pending verification for `to`. A wrong code
    /// is `Ok` with status `pending`: decide on
    /// [`VerificationCheck::is_approved`]. Never retried.
    pub async fn check_to(&self, to: &str, code: &str) -> Result<VerificationCheck, VerifyError> {
        check_to(to, None)?;
        self.check("To", to, code).await
    }

    /// Checks `code` against the verification `sid`.
    pub async fn check_sid(
        &self,
        sid: &VerificationSid,
        code: &str,
    ) -> Result<VerificationCheck, VerifyError> {
        self.check("VerificationSid", sid.as_str(), code).await
    }

    async fn check(
        &self,
        target: &str,
        value: &str,
        code: &str,
    ) -> Result<VerificationCheck, VerifyError> {
        check_code(code)?;
        let call = Call::new(
            "verification.check",
            Kind::Write,
            &["Services", self.service.as_str(), "VerificationCheck"],
        )
        .param(target, value)
        .param("Code", code);
        self.client.execute(call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_and_codes_are_checked_before_sending() {
        assert!(is_e164("+15017122661"));
        for bad in [
            "15017122661",
            "+0123",
            "+1",
            "+1501712266123456",
            "+1 501 712",
            "",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
        assert!(check_to("alice@example.com", Some(Channel::Email)).is_ok());
        assert!(check_to("+15017122661", Some(Channel::Email)).is_err());
        assert!(check_to("alice@example.com", Some(Channel::Sms)).is_err());
        assert!(check_code("123456").is_ok());
        assert!(check_code("123").is_err());
        assert!(check_code("12345678901").is_err());
        assert!(check_code("12 456").is_err());
    }
}
