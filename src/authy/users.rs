//! Users: registration, status, removal, activity, QR codes, e-mail update
//! and JWT registration status (spec §2.1).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::Value;

use super::checks::{check_email, check_length};
use super::phones::PhoneNumber;
use super::transport::{Call, Kind};
use super::{Ack, AuthyError, AuthyId, Client, InvalidInput, user_ip_param};

/// The users API, from [`Client::users`].
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    client: &'a Client,
    user_ip: Option<IpAddr>,
}

/// A user to register with [`Users::register`].
///
/// ```
/// use tower_authy::authy::{NewUser, PhoneNumber};
///
/// let phone = PhoneNumber::new(1, "555-010-0199")?;
/// let user = NewUser::new("ada@example.com", phone).send_install_link_via_sms(false);
/// # let _ = user;
/// # Ok::<(), tower_authy::authy::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    email: String,
    phone: PhoneNumber,
    send_install_link_via_sms: Option<bool>,
}

impl NewUser {
    /// A user with this e-mail and phone. The e-mail is checked by
    /// [`Users::register`] before anything is sent.
    pub fn new(email: impl Into<String>, phone: PhoneNumber) -> Self {
        Self {
            email: email.into(),
            phone,
            send_install_link_via_sms: None,
        }
    }

    /// Whether Authy texts the user a link to install the app (Authy's
    /// default, when not set: yes).
    pub fn send_install_link_via_sms(mut self, send: bool) -> Self {
        self.send_install_link_via_sms = Some(send);
        self
    }
}

/// A user Authy registered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegisteredUser {
    /// The Authy ID to store with the user; registering the same phone again
    /// returns the same ID.
    pub id: AuthyId,
    /// Authy's message, e.g. `User created successfully.`
    pub message: String,
}

/// A user's status, from [`Users::status`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct UserStatus {
    /// The Authy ID.
    pub authy_id: AuthyId,
    /// The user has verified a token at least once.
    #[serde(default)]
    pub confirmed: bool,
    /// The Authy app is installed and registered.
    #[serde(default)]
    pub registered: bool,
    /// The country calling code.
    pub country_code: Option<u16>,
    /// The phone number, masked except its last digits.
    pub phone_number: Option<String>,
    /// The e-mail address.
    pub email: Option<String>,
    /// Device kinds, e.g. `iphone`, `android`, `sms`.
    #[serde(default)]
    pub devices: Vec<String>,
    /// The user has a hardware token.
    #[serde(default)]
    pub has_hard_token: bool,
    /// The account is disabled.
    #[serde(default)]
    pub account_disabled: bool,
    /// The user's devices in detail.
    #[serde(default)]
    pub detailed_devices: Vec<DetailedDevice>,
}

/// One entry of [`UserStatus::detailed_devices`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct DetailedDevice {
    /// The device ID.
    pub device_id: Option<u64>,
    /// E.g. `authy`.
    pub device_type: Option<String>,
    /// E.g. `android`, `unknown`.
    pub os_type: Option<String>,
    /// How the device was registered.
    pub registration_method: Option<String>,
    /// Last synchronisation, Unix seconds.
    pub last_sync_date: Option<i64>,
    /// Creation, Unix seconds.
    pub creation_date: Option<i64>,
}

/// The kind of event reported with [`Users::register_activity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActivityType {
    /// The user reset their password.
    PasswordReset,
    /// The user was banned.
    Banned,
    /// The user was unbanned.
    Unbanned,
    /// The user signed in with a remembered-device cookie.
    CookieLogin,
}

impl ActivityType {
    fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::Banned => "banned",
            Self::Unbanned => "unbanned",
            Self::CookieLogin => "cookie_login",
        }
    }
}

/// A fraud signal for [`Users::register_activity`].
///
/// ```
/// use tower_authy::authy::{Activity, ActivityType};
///
/// let activity = Activity::new(ActivityType::PasswordReset).data("reset_by", "support");
/// # let _ = activity;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    kind: ActivityType,
    data: BTreeMap<String, String>,
}

impl Activity {
    /// An activity of this kind, without data.
    pub fn new(kind: ActivityType) -> Self {
        Self {
            kind,
            data: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) a free-form data entry.
    pub fn data(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.data.insert(key.into(), value.into());
        self
    }
}

/// Options for [`Users::qr_code`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QrCodeOptions {
    label: Option<String>,
    qr_size: Option<u32>,
}

impl QrCodeOptions {
    /// Authy's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The account label shown in the authenticator app.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The image size in pixels (1 to 2048).
    pub fn qr_size(mut self, pixels: u32) -> Self {
        self.qr_size = Some(pixels);
        self
    }
}

/// A QR code for a third-party authenticator app, from [`Users::qr_code`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct QrCode {
    /// The URL of the PNG image. It encodes the user's TOTP secret: show it
    /// to that user only, never log it.
    pub qr_code: String,
    /// Authy's message, if any.
    pub message: Option<String>,
}

impl<'a> Users<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self {
            client,
            user_ip: None,
        }
    }

    /// Sends the end user's IP address (`user_ip`) with
    /// [`status`](Self::status), [`remove`](Self::remove) and
    /// [`register_activity`](Self::register_activity).
    pub fn with_user_ip(mut self, ip: IpAddr) -> Self {
        self.user_ip = Some(ip);
        self
    }

    /// Registers a user: `POST /protected/json/users/new`.
    ///
    /// ```no_run
    /// # async fn run(client: tower_authy::authy::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_authy::authy::{NewUser, PhoneNumber};
    ///
    /// let user = NewUser::new("ada@example.com", PhoneNumber::new(44, "7700 900123")?);
    /// let registered = client.users().register(&user).await?;
    /// println!("Authy ID {}", registered.id);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn register(&self, user: &NewUser) -> Result<RegisteredUser, AuthyError> {
        check_email(&user.email)?;
        let call = Call::protected("users_new", Kind::Write, &["users", "new"])
            .param(
                "user",
                serde_json::json!({
                    "email": user.email,
                    "cellphone": user.phone.number(),
                    "country_code": user.phone.country_code(),
                }),
            )
            .param_opt("send_install_link_via_sms", user.send_install_link_via_sms);

        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            message: String,
            user: WireUser,
        }
        #[derive(Deserialize)]
        struct WireUser {
            id: AuthyId,
        }
        let wire: Wire = self.client.execute(call).await?;
        Ok(RegisteredUser {
            id: wire.user.id,
            message: wire.message,
        })
    }

    /// A user's status: `GET /protected/json/users/{id}/status`.
    pub async fn status(&self, id: AuthyId) -> Result<UserStatus, AuthyError> {
        let call = Call::protected(
            "user_status",
            Kind::Read,
            &["users", &id.to_string(), "status"],
        )
        .authy_id(id)
        .param_opt("user_ip", user_ip_param(self.user_ip));
        #[derive(Deserialize)]
        struct Wire {
            status: UserStatus,
        }
        let wire: Wire = self.client.execute(call).await?;
        Ok(wire.status)
    }

    /// Removes a user: `POST /protected/json/users/{id}/remove`. Authy
    /// removes users after a delay (about a day), during which tokens may
    /// still verify.
    pub async fn remove(&self, id: AuthyId) -> Result<Ack, AuthyError> {
        let call = Call::protected(
            "user_remove",
            Kind::Write,
            &["users", &id.to_string(), "remove"],
        )
        .authy_id(id)
        .param_opt("user_ip", user_ip_param(self.user_ip));
        self.client.execute(call).await
    }

    /// Reports a fraud signal:
    /// `POST /protected/json/users/{id}/register_activity`.
    pub async fn register_activity(
        &self,
        id: AuthyId,
        activity: &Activity,
    ) -> Result<Ack, AuthyError> {
        let call = Call::protected(
            "register_activity",
            Kind::Write,
            &["users", &id.to_string(), "register_activity"],
        )
        .authy_id(id)
        .param("type", activity.kind.as_str())
        .param_opt("user_ip", user_ip_param(self.user_ip));
        let call = if activity.data.is_empty() {
            call
        } else {
            let data: serde_json::Map<String, Value> = activity
                .data
                .iter()
                .map(|(key, value)| (key.clone(), Value::from(value.as_str())))
                .collect();
            call.param("data", data)
        };
        self.client.execute(call).await
    }

    /// A QR code for a third-party authenticator app:
    /// `POST /protected/json/users/{id}/secret`. Needs generic authenticator
    /// tokens enabled for the application.
    pub async fn qr_code(
        &self,
        id: AuthyId,
        options: &QrCodeOptions,
    ) -> Result<QrCode, AuthyError> {
        if let Some(label) = &options.label {
            check_length("label", label, 1, 255)?;
        }
        if options
            .qr_size
            .is_some_and(|size| !(1..=2048).contains(&size))
        {
            return Err(InvalidInput::new("qr_size", "must be 1 to 2048 pixels").into());
        }
        let call = Call::protected(
            "user_secret",
            Kind::Write,
            &["users", &id.to_string(), "secret"],
        )
        .authy_id(id)
        .param_opt("label", options.label.clone())
        .param_opt("qr_size", options.qr_size);
        self.client.execute(call).await
    }

    /// Changes a user's e-mail: `POST /protected/json/users/{id}/update`.
    pub async fn update_email(&self, id: AuthyId, email: &str) -> Result<Ack, AuthyError> {
        check_email(email)?;
        let call = Call::protected(
            "user_update",
            Kind::Write,
            &["users", &id.to_string(), "update"],
        )
        .authy_id(id)
        .param("email", email);
        self.client.execute(call).await
    }

    /// The status of a JWT/QR registration:
    /// `GET /protected/json/registrations/status?custom_user_id=…`.
    ///
    /// The answer's shape is not documented anywhere (spec §8, point 4), so
    /// this returns the whole JSON object as Authy sent it, once its
    /// `success` is checked; do not rely on particular members without a
    /// live check.
    pub async fn registration_status(&self, custom_user_id: &str) -> Result<Value, AuthyError> {
        check_length("custom_user_id", custom_user_id, 1, 255)?;
        let call = Call::protected(
            "registration_status",
            Kind::Read,
            &["registrations", "status"],
        )
        .param("custom_user_id", custom_user_id);
        self.client.execute(call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_status_reads_the_documented_sample() {
        let body = r#"{"status":{"authy_id":290907,"confirmed":true,"registered":false,
          "country_code":1,"phone_number":"XXX-XXX-1118","email":"someone@example.com",
          "devices":["iphone","ipad"],"has_hard_token":false,"account_disabled":false,
          "detailed_devices":[{"device_type":"authy","os_type":"unknown",
          "registration_device_id":null,"registration_method":null,"device_id":290908,
          "last_sync_date":0,"creation_date":1433868212}],"deleted_devices":[]},
          "message":"User status.","success":true}"#;
        #[derive(Deserialize)]
        struct Wire {
            status: UserStatus,
        }
        let wire: Wire =
            super::super::transport::interpret(http::StatusCode::OK, body.as_bytes(), "k").unwrap();
        assert_eq!(wire.status.authy_id, AuthyId(290907));
        assert!(wire.status.confirmed);
        assert_eq!(wire.status.devices, ["iphone", "ipad"]);
        assert_eq!(wire.status.detailed_devices[0].device_id, Some(290908));
    }
}
