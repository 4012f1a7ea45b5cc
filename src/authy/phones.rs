//! Phone verification (Verify v1, spec §2.5) and phone information (spec
//! §2.6).

use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;

use super::checks::{check_length, check_locale};
use super::onetouch::ApprovalUuid;
use super::transport::{Call, Kind};
use super::{Ack, AuthyError, Client, InvalidInput, lenient, user_ip_param};

/// A phone number with its country calling code, checked for shape: a code
/// of 1 to 999 and 4 to 15 digits, optionally separated by spaces, dashes,
/// dots or parentheses. Authy checks the rest.
///
/// ```
/// use tower_authy::authy::PhoneNumber;
///
/// let phone = PhoneNumber::new(1, "(555) 010-0199").unwrap();
/// assert_eq!(phone.country_code(), 1);
/// assert_eq!(phone.number(), "(555) 010-0199");
/// assert_eq!(PhoneNumber::new(0, "5550100199").unwrap_err().field(), "country_code");
/// assert_eq!(PhoneNumber::new(1, "call me").unwrap_err().field(), "phone_number");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    country_code: u16,
    number: String,
}

impl PhoneNumber {
    /// Checks and wraps a phone number.
    pub fn new(country_code: u16, number: impl Into<String>) -> Result<Self, InvalidInput> {
        if !(1..=999).contains(&country_code) {
            return Err(InvalidInput::new("country_code", "must be 1 to 999"));
        }
        let number = number.into();
        let allowed = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')');
        let digits = number.chars().filter(char::is_ascii_digit).count();
        if !number.chars().all(allowed) || !(4..=15).contains(&digits) {
            return Err(InvalidInput::new(
                "phone_number",
                "must be 4 to 15 digits, optionally separated by spaces, dashes, dots or parentheses",
            ));
        }
        Ok(Self {
            country_code,
            number,
        })
    }

    /// The country calling code, e.g. `1` or `44`.
    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    /// The number as given.
    pub fn number(&self) -> &str {
        &self.number
    }
}

/// How a verification code is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Via {
    /// By text message.
    Sms,
    /// By voice call.
    Call,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Call => "call",
        }
    }
}

/// A phone verification to start with [`Phones::start_verification`].
///
/// ```
/// use tower_authy::authy::{PhoneNumber, StartVerification, Via};
///
/// let start = StartVerification::new(Via::Sms, PhoneNumber::new(1, "555-010-0199")?)
///     .code_length(6)
///     .locale("en");
/// # let _ = start;
/// # Ok::<(), tower_authy::authy::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartVerification {
    via: Via,
    phone: PhoneNumber,
    locale: Option<String>,
    code_length: Option<u8>,
    custom_code: Option<String>,
    custom_message: Option<String>,
}

impl StartVerification {
    /// Sends a code to `phone` by `via`.
    pub fn new(via: Via, phone: PhoneNumber) -> Self {
        Self {
            via,
            phone,
            locale: None,
            code_length: None,
            custom_code: None,
            custom_message: None,
        }
    }

    /// The message language, e.g. `en`; Authy's default follows the country.
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }

    /// The code length, 4 to 10 (Authy's default: 4).
    pub fn code_length(mut self, length: u8) -> Self {
        self.code_length = Some(length);
        self
    }

    /// A code of your own, 4 to 10 letters or digits (needs the feature
    /// enabled for the application).
    pub fn custom_code(mut self, code: impl Into<String>) -> Self {
        self.custom_code = Some(code.into());
        self
    }

    /// A message of your own, with `{{code}}` where the code goes (needs the
    /// feature enabled for the application).
    pub fn custom_message(mut self, message: impl Into<String>) -> Self {
        self.custom_message = Some(message.into());
        self
    }

    fn check(&self) -> Result<(), InvalidInput> {
        if let Some(locale) = &self.locale {
            check_locale(locale)?;
        }
        if self.code_length.is_some_and(|n| !(4..=10).contains(&n)) {
            return Err(InvalidInput::new("code_length", "must be 4 to 10"));
        }
        if let Some(code) = &self.custom_code {
            if !(4..=10).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(InvalidInput::new(
                    "custom_code",
                    "must be 4 to 10 ASCII letters or digits",
                ));
            }
        }
        if let Some(message) = &self.custom_message {
            check_length("custom_message", message, 1, 1600)?;
        }
        Ok(())
    }
}

/// Authy's answer to [`Phones::start_verification`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct VerificationStarted {
    /// Authy's message, e.g. `Text message sent to +1 987-654-3210.`
    pub message: String,
    /// The verification's uuid, for [`Phones::verification_status_by_uuid`].
    pub uuid: Option<String>,
    /// How long the code stays valid.
    pub seconds_to_expire: Option<u64>,
    /// The carrier's name.
    pub carrier: Option<String>,
    /// Whether the number is a mobile phone.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub is_cellphone: Option<bool>,
    /// Whether the number was ported.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub is_ported: Option<bool>,
    /// For custom codes: the SMS id for Authy's feedback API.
    pub sms_id: Option<String>,
}

/// A code the user received by phone verification: 4 to 10 ASCII letters
/// or digits. `Debug` prints `VerificationCode([redacted])`.
///
/// ```
/// use tower_authy::authy::VerificationCode;
///
/// let code = VerificationCode::parse("0421").unwrap();
/// assert_eq!(format!("{code:?}"), "VerificationCode([redacted])");
/// assert!(VerificationCode::parse("042").is_err());
/// ```
// Not `PartialEq`: Authy checks codes, the application should not.
#[derive(Clone)]
pub struct VerificationCode(String);

impl VerificationCode {
    /// Checks the format.
    pub fn parse(code: &str) -> Result<Self, InvalidInput> {
        if (4..=10).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(code.to_owned()))
        } else {
            Err(InvalidInput::new(
                "verification_code",
                "must be 4 to 10 ASCII letters or digits",
            ))
        }
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationCode([redacted])")
    }
}

/// Where a phone verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum VerificationState {
    /// Waiting for the code.
    Pending,
    /// The code was checked.
    Verified,
    /// Ten minutes passed.
    Expired,
}

/// Authy's answer to a verification status request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct VerificationStatus {
    /// Where it stands; an unknown value is a decode error.
    pub status: VerificationState,
    /// How long until it expires.
    pub seconds_to_expire: Option<u64>,
    /// Authy's message.
    #[serde(default)]
    pub message: String,
}

/// The kind of line behind a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PhoneType {
    /// A mobile phone.
    Cellphone,
    /// A fixed line.
    Landline,
    /// Voice over IP.
    Voip,
    /// Authy does not know (or sent a kind this crate does not know).
    #[serde(other)]
    Unknown,
}

/// Authy's answer to [`Phones::info`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct PhoneInfo {
    /// The kind of line (`type` on the wire).
    #[serde(rename = "type")]
    pub phone_type: PhoneType,
    /// The carrier, when known.
    pub provider: Option<String>,
    /// Whether the number was ported.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub ported: Option<bool>,
    /// Authy's message, e.g. `Phone number information as of … UTC`.
    #[serde(default)]
    pub message: String,
}

/// The phone verification and phone information API, from
/// [`Client::phones`].
#[derive(Debug, Clone, Copy)]
pub struct Phones<'a> {
    client: &'a Client,
    user_ip: Option<IpAddr>,
}

impl<'a> Phones<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self {
            client,
            user_ip: None,
        }
    }

    /// Sends the end user's IP address (`user_ip`) with [`info`](Self::info).
    pub fn with_user_ip(mut self, ip: IpAddr) -> Self {
        self.user_ip = Some(ip);
        self
    }

    /// Sends a verification code: `POST /protected/json/phones/verification/start`.
    /// Starting again within ten minutes resends the same code.
    ///
    /// ```no_run
    /// # async fn run(client: tower_authy::authy::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_authy::authy::{PhoneNumber, StartVerification, VerificationCode, Via};
    ///
    /// let phone = PhoneNumber::new(1, "555-010-0199")?;
    /// client.phones().start_verification(&StartVerification::new(Via::Sms, phone.clone())).await?;
    /// let code = VerificationCode::parse("0421")?;
    /// client.phones().check_verification(&phone, &code).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start_verification(
        &self,
        start: &StartVerification,
    ) -> Result<VerificationStarted, AuthyError> {
        start.check()?;
        let call = Call::protected(
            "phone_verification_start",
            Kind::Write,
            &["phones", "verification", "start"],
        )
        .param("via", start.via.as_str())
        .param("country_code", start.phone.country_code())
        .param("phone_number", start.phone.number())
        .param_opt("locale", start.locale.clone())
        .param_opt("code_length", start.code_length)
        .param_opt("custom_code", start.custom_code.clone())
        .param_opt("custom_message", start.custom_message.clone());
        self.client.execute(call).await
    }

    /// Checks a verification code:
    /// `GET /protected/json/phones/verification/check`. A wrong code is an
    /// [`AuthyError::Api`] for which
    /// [`is_verification_code_rejected`](AuthyError::is_verification_code_rejected)
    /// is `true`.
    pub async fn check_verification(
        &self,
        phone: &PhoneNumber,
        code: &VerificationCode,
    ) -> Result<Ack, AuthyError> {
        let call = Call::protected(
            "phone_verification_check",
            Kind::Act,
            &["phones", "verification", "check"],
        )
        .param("country_code", phone.country_code())
        .param("phone_number", phone.number())
        .param("verification_code", code.0.as_str());
        self.client.execute(call).await
    }

    /// A verification's status by its uuid:
    /// `GET /protected/json/phones/verification/status?uuid=…`.
    pub async fn verification_status_by_uuid(
        &self,
        uuid: &str,
    ) -> Result<VerificationStatus, AuthyError> {
        // Same shape as an approval request uuid.
        let uuid = ApprovalUuid::parse(uuid)?;
        let call = status_call().param("uuid", uuid.as_str());
        self.client.execute(call).await
    }

    /// The status of the latest verification of a phone:
    /// `GET /protected/json/phones/verification/status?country_code=…&phone_number=…`.
    pub async fn verification_status_by_phone(
        &self,
        phone: &PhoneNumber,
    ) -> Result<VerificationStatus, AuthyError> {
        let call = status_call()
            .param("country_code", phone.country_code())
            .param("phone_number", phone.number());
        self.client.execute(call).await
    }

    /// What Authy knows about a number: `GET /protected/json/phones/info`.
    pub async fn info(&self, phone: &PhoneNumber) -> Result<PhoneInfo, AuthyError> {
        let call = Call::protected("phone_info", Kind::Read, &["phones", "info"])
            .param("country_code", phone.country_code())
            .param("phone_number", phone.number())
            .param_opt("user_ip", user_ip_param(self.user_ip));
        self.client.execute(call).await
    }
}

fn status_call() -> Call {
    Call::protected(
        "phone_verification_status",
        Kind::Read,
        &["phones", "verification", "status"],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authy::transport::interpret;

    #[test]
    fn phone_numbers() {
        assert!(PhoneNumber::new(999, "1234").is_ok());
        assert!(PhoneNumber::new(1000, "5550100199").is_err());
        assert!(PhoneNumber::new(1, "123").is_err());
        assert!(PhoneNumber::new(1, "1234567890123456").is_err());
        assert!(PhoneNumber::new(1, "+15550100199").is_err());
        assert!(PhoneNumber::new(57, "300.123.4567").is_ok());
    }

    #[test]
    fn start_options_are_checked() {
        let phone = PhoneNumber::new(1, "5550100199").unwrap();
        let start = |s: StartVerification| s.check().map_err(|e| e.field());
        assert!(start(StartVerification::new(Via::Call, phone.clone()).code_length(10)).is_ok());
        assert_eq!(
            start(StartVerification::new(Via::Sms, phone.clone()).code_length(3)),
            Err("code_length")
        );
        assert_eq!(
            start(StartVerification::new(Via::Sms, phone.clone()).custom_code("12 4")),
            Err("custom_code")
        );
        assert_eq!(
            start(StartVerification::new(Via::Sms, phone).custom_message("")),
            Err("custom_message")
        );
    }

    #[test]
    fn phone_info_tolerates_unknown_kinds_and_null_provider() {
        let body = r#"{"message":"Phone number information as of 2017-11-25 23:21:39 UTC","type":"pager","provider":null,"ported":false,"success":true}"#;
        let info: PhoneInfo = interpret(http::StatusCode::OK, body.as_bytes(), "k").unwrap();
        assert_eq!(info.phone_type, PhoneType::Unknown);
        assert_eq!(info.provider, None);
        assert_eq!(info.ported, Some(false));
    }

    #[test]
    fn verification_started_sample() {
        let body = r#"{"carrier":"AT&T Wireless","is_cellphone":true,"message":"Text message sent to +1 987-654-3210.","seconds_to_expire":599,"uuid":"b8ebcd40-1234-5678-3fb5-0e5d6a065904","success":true}"#;
        let started: VerificationStarted =
            interpret(http::StatusCode::OK, body.as_bytes(), "k").unwrap();
        assert_eq!(started.seconds_to_expire, Some(599));
        assert_eq!(started.is_cellphone, Some(true));
    }
}
