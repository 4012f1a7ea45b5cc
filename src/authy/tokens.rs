//! One-time codes: sending them by SMS, voice call or e-mail, and verifying
//! them (spec §2.2).

use std::fmt;

use serde::Deserialize;

use super::checks::{check_length, check_locale};
use super::transport::{Call, Kind};
use super::{AuthyError, AuthyId, Client, InvalidInput, lenient};

/// What Authy answers for a valid token; anything else fails verification.
const TOKEN_IS_VALID: &str = "is valid";

/// A one-time code typed by the user: 6 to 12 ASCII digits, kept as text so
/// leading zeros survive.
///
/// `Debug` prints `Token([redacted])`; there is no `Display`.
///
/// ```
/// use tower_authy::authy::Token;
///
/// let token = Token::parse("0012345").unwrap();
/// assert_eq!(format!("{token:?}"), "Token([redacted])");
/// assert!(Token::parse("12345").is_err());       // too short
/// assert!(Token::parse("12 34 56").is_err());    // not only digits
/// assert!(Token::parse("１２３４５６").is_err()); // not ASCII digits
/// ```
// Not `PartialEq`: nothing in an application should compare codes itself.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Checks the format (6 to 12 ASCII digits, nothing else, no trimming).
    pub fn parse(token: &str) -> Result<Self, InvalidInput> {
        if (6..=12).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(token.to_owned()))
        } else {
            Err(InvalidInput::new("token", "must be 6 to 12 ASCII digits"))
        }
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// Options for [`Tokens::sms`] and [`Tokens::call`].
///
/// ```
/// use tower_authy::authy::SendOptions;
///
/// let options = SendOptions::new()
///     .force(true)
///     .action("login")
///     .action_message("Sign in to Example")
///     .locale("fr");
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendOptions {
    force: bool,
    action: Option<String>,
    action_message: Option<String>,
    locale: Option<String>,
}

impl SendOptions {
    /// Authy's defaults: not forced, no action, the country's locale.
    pub fn new() -> Self {
        Self::default()
    }

    /// Send even when the user has the Authy app (by default Authy then
    /// pushes a prompt to the app instead and reports the send as
    /// [`ignored`](TokenSent::ignored)).
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Binds the code to a custom action (1 to 255 characters); pass the same
    /// action to [`Tokens::verify`].
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// The text describing the action in the message (1 to 255 characters;
    /// needs [`action`](Self::action)).
    pub fn action_message(mut self, message: impl Into<String>) -> Self {
        self.action_message = Some(message.into());
        self
    }

    /// The message language, e.g. `en`, `pt-BR`.
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }

    fn check(&self) -> Result<(), InvalidInput> {
        if let Some(action) = &self.action {
            check_length("action", action, 1, 255)?;
        }
        if let Some(message) = &self.action_message {
            check_length("action_message", message, 1, 255)?;
            if self.action.is_none() {
                return Err(InvalidInput::new(
                    "action_message",
                    "needs an action to describe",
                ));
            }
        }
        if let Some(locale) = &self.locale {
            check_locale(locale)?;
        }
        Ok(())
    }
}

/// Authy's answer to an SMS or call request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct TokenSent {
    /// Authy's message, e.g. `SMS token was sent`.
    pub message: String,
    /// The phone, masked: `+57-XXX-XXX-XX12`.
    #[serde(default)]
    pub cellphone: String,
    /// `true` when nothing was sent because the user has the Authy app (a
    /// push went to the app instead); pass [`SendOptions::force`] to send
    /// anyway.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub ignored: bool,
    /// The kind of the user's last device, when the send was ignored.
    pub device: Option<String>,
}

/// Authy's answer to an e-mail token request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct EmailSent {
    /// Authy's message, e.g. `Email token was sent`.
    pub message: String,
    /// The recipient.
    pub email: Option<String>,
    /// Authy's identifier of the e-mail.
    pub email_id: Option<String>,
}

/// Proof that Authy accepted a token: returned only for HTTP 200 with
/// `"token":"is valid"`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedToken {
    /// Authy's message, e.g. `Token is valid.`
    pub message: String,
    /// The device the token came from, when Authy says.
    pub device: Option<VerifiedDevice>,
}

/// The device block of a verify answer; every member is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct VerifiedDevice {
    /// The device ID.
    pub id: Option<u64>,
    /// E.g. `sms`, `android`, `ios`.
    pub os_type: Option<String>,
    /// Registration time, Unix seconds.
    pub registration_date: Option<i64>,
    /// How the device was registered.
    pub registration_method: Option<String>,
    /// Country the device was registered in.
    pub registration_country: Option<String>,
    /// Country of the device now.
    pub country: Option<String>,
    /// IP address of the device.
    pub ip: Option<String>,
    /// Last account recovery, Unix seconds.
    pub last_account_recovery_at: Option<i64>,
    /// Last synchronisation, Unix seconds.
    pub last_sync_date: Option<i64>,
}

/// The tokens API, from [`Client::tokens`].
#[derive(Debug, Clone, Copy)]
pub struct Tokens<'a> {
    client: &'a Client,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Sends a code by SMS: `GET /protected/json/sms/{id}`. Check
    /// [`TokenSent::ignored`](TokenSent::ignored): unless forced, Authy sends nothing to users
    /// who have the app.
    ///
    /// ```no_run
    /// # async fn run(client: tower_authy::authy::Client) -> Result<(), tower_authy::authy::AuthyError> {
    /// use tower_authy::authy::{AuthyId, SendOptions};
    ///
    /// let sent = client.tokens().sms(AuthyId(1635), &SendOptions::new().force(true)).await?;
    /// assert!(!sent.ignored);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn sms(&self, id: AuthyId, options: &SendOptions) -> Result<TokenSent, AuthyError> {
        self.send("sms", id, options).await
    }

    /// Calls the user and reads a code: `GET /protected/json/call/{id}`.
    pub async fn call(&self, id: AuthyId, options: &SendOptions) -> Result<TokenSent, AuthyError> {
        self.send("call", id, options).await
    }

    async fn send(
        &self,
        channel: &'static str,
        id: AuthyId,
        options: &SendOptions,
    ) -> Result<TokenSent, AuthyError> {
        options.check()?;
        let call = Call::protected(channel, Kind::Act, &[channel, &id.to_string()])
            .authy_id(id)
            .param("force", options.force)
            .param_opt("action", options.action.clone())
            .param_opt("action_message", options.action_message.clone())
            .param_opt("locale", options.locale.clone());
        self.client.execute(call).await
    }

    /// Sends a code by e-mail: `POST /protected/json/email/{id}`.
    pub async fn email(&self, id: AuthyId) -> Result<EmailSent, AuthyError> {
        let call = Call::protected("email", Kind::Write, &["email", &id.to_string()]).authy_id(id);
        self.client.execute(call).await
    }

    /// Verifies a code from the app, an SMS, a call or an e-mail:
    /// `GET /protected/json/verify/{token}/{id}?force=true`.
    ///
    /// `force=true` is always sent, so that a user who never verified a token
    /// is not let through with any code. `action` must match the one the
    /// code was sent with, if any.
    ///
    /// Succeeds only on HTTP 200 with `"token":"is valid"`. A wrong or reused
    /// code is an [`AuthyError::Api`] for which
    /// [`is_token_rejected`](AuthyError::is_token_rejected) is `true`; any
    /// other answer is an error too (it fails closed).
    ///
    /// ```no_run
    /// # async fn run(client: tower_authy::authy::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_authy::authy::{AuthyId, Token};
    ///
    /// let token = Token::parse("0651234")?;
    /// match client.tokens().verify(AuthyId(1635), &token, Some("login")).await {
    ///     Ok(_) => { /* passed */ }
    ///     Err(e) if e.is_token_rejected() => { /* wrong code: ask again */ }
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn verify(
        &self,
        id: AuthyId,
        token: &Token,
        action: Option<&str>,
    ) -> Result<VerifiedToken, AuthyError> {
        if let Some(action) = action {
            check_length("action", action, 1, 255)?;
        }
        let call = Call::protected(
            "verify",
            Kind::Act,
            &["verify", token.expose(), &id.to_string()],
        )
        .authy_id(id)
        .param("force", true)
        .param_opt("action", action);

        #[derive(Deserialize)]
        struct Wire {
            token: Option<String>,
            #[serde(default)]
            message: String,
            device: Option<VerifiedDevice>,
        }
        let wire: Wire = self
            .client
            .execute_checked(call, |wire: &Wire| {
                (wire.token.as_deref() != Some(TOKEN_IS_VALID))
                    .then_some("HTTP 200 without \"token\":\"is valid\"; the token is not accepted")
            })
            .await?;
        Ok(VerifiedToken {
            message: wire.message,
            device: wire.device,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_leading_zeros_and_length_limits() {
        assert_eq!(Token::parse("000000").unwrap().expose(), "000000");
        assert!(Token::parse("123456789012").is_ok());
        for bad in [
            "",
            "12345",
            "1234567890123",
            "12345a",
            "-123456",
            "+123456",
            " 123456",
        ] {
            let err = Token::parse(bad).unwrap_err();
            assert_eq!(err.field(), "token");
            assert_eq!(
                err.to_string(),
                "invalid token: must be 6 to 12 ASCII digits"
            );
        }
    }

    #[test]
    fn send_options_are_checked() {
        assert!(SendOptions::new().check().is_ok());
        assert!(SendOptions::new().action("a".repeat(255)).check().is_ok());
        let err = SendOptions::new()
            .action("a".repeat(256))
            .check()
            .unwrap_err();
        assert_eq!(err.field(), "action");
        let err = SendOptions::new().action_message("hi").check().unwrap_err();
        assert_eq!(err.field(), "action_message");
        let err = SendOptions::new().locale("en US").check().unwrap_err();
        assert_eq!(err.field(), "locale");
        assert!(SendOptions::new().locale("pt-BR").check().is_ok());
    }

    #[test]
    fn ignored_sms_answer() {
        let body = r#"{"success":true,"message":"Ignored: SMS is not needed for smartphones.","cellphone":"+57-XXX-XXX-XX12","device":"android","ignored":true}"#;
        let sent: TokenSent =
            super::super::transport::interpret(http::StatusCode::OK, body.as_bytes(), "k").unwrap();
        assert!(sent.ignored);
        assert_eq!(sent.device.as_deref(), Some("android"));
        let body =
            r#"{"success":true,"message":"SMS token was sent","cellphone":"+57-XXX-XXX-XX12"}"#;
        let sent: TokenSent =
            super::super::transport::interpret(http::StatusCode::OK, body.as_bytes(), "k").unwrap();
        assert!(!sent.ignored);
        assert_eq!(sent.device, None);
    }
}
