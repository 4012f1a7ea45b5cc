//! OneTouch push approval requests (spec §2.4).

use std::fmt;

use serde::ser::SerializeMap as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::checks::check_length;
use super::transport::{Call, Kind};
use super::{AuthyError, AuthyId, Client, InvalidInput, lenient};
use crate::store::ApprovalStatus;

/// The longest message accepted (Authy's Python and Ruby clients cut there).
const MAX_MESSAGE_CHARS: usize = 200;
/// Authy's documented limit on detail keys.
const MAX_DETAIL_KEY_CHARS: usize = 20;

/// The uuid of an approval request.
///
/// ```
/// use tower_authy::authy::ApprovalUuid;
///
/// let uuid = ApprovalUuid::parse("550e8400-e29b-41d4-a716-446655440000").unwrap();
/// assert_eq!(uuid.as_str(), "550e8400-e29b-41d4-a716-446655440000");
/// assert!(ApprovalUuid::parse("../../users/new").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApprovalUuid(String);

impl ApprovalUuid {
    /// Checks the form: 1 to 64 hexadecimal digits and hyphens.
    pub fn parse(uuid: &str) -> Result<Self, InvalidInput> {
        if (1..=64).contains(&uuid.len())
            && uuid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        {
            Ok(Self(uuid.to_owned()))
        } else {
            Err(InvalidInput::new(
                "uuid",
                "must be 1 to 64 hexadecimal digits and hyphens",
            ))
        }
    }

    /// The uuid as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ApprovalUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ApprovalUuid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The resolution a logo is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogoResolution {
    /// Used when no other resolution fits.
    Default,
    /// Low resolution.
    Low,
    /// Medium resolution.
    Med,
    /// High resolution.
    High,
}

impl LogoResolution {
    fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Low => "low",
            Self::Med => "med",
            Self::High => "high",
        }
    }
}

/// An approval request to create with [`OneTouch::create`].
///
/// Details keep the order they were added in; adding a key again replaces
/// its value.
///
/// ```
/// use tower_authy::authy::{LogoResolution, NewApprovalRequest};
///
/// let request = NewApprovalRequest::new("Sign in to Example")
///     .detail("Username", "ada")
///     .detail("Location", "Paris, FR")
///     .hidden_detail("session", "7f3c")
///     .logo(LogoResolution::Default, "https://example.com/logo.png")
///     .seconds_to_expire(120);
/// # let _ = request;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApprovalRequest {
    message: String,
    details: Vec<(String, String)>,
    hidden_details: Vec<(String, String)>,
    logos: Vec<(LogoResolution, String)>,
    seconds_to_expire: Option<u64>,
}

impl NewApprovalRequest {
    /// A request showing `message` (1 to 200 characters).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            details: Vec::new(),
            hidden_details: Vec::new(),
            logos: Vec::new(),
            seconds_to_expire: None,
        }
    }

    /// Adds a detail shown to the user (key: 1 to 20 characters).
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        upsert(&mut self.details, key.into(), value.into());
        self
    }

    /// Adds a detail stored with the request but not shown (key: 1 to 20
    /// characters).
    pub fn hidden_detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        upsert(&mut self.hidden_details, key.into(), value.into());
        self
    }

    /// Replaces the console's logo for one resolution (an `http(s)` URL).
    pub fn logo(mut self, resolution: LogoResolution, url: impl Into<String>) -> Self {
        self.logos.push((resolution, url.into()));
        self
    }

    /// How long the request stays answerable; `0` means never expires.
    /// Authy's default is 86 400 s (one day).
    pub fn seconds_to_expire(mut self, seconds: u64) -> Self {
        self.seconds_to_expire = Some(seconds);
        self
    }

    fn check(&self) -> Result<(), InvalidInput> {
        if self.message.trim().is_empty() {
            return Err(InvalidInput::new("message", "is empty"));
        }
        check_length("message", &self.message, 1, MAX_MESSAGE_CHARS)?;
        for (field, entries) in [
            ("details", &self.details),
            ("hidden_details", &self.hidden_details),
        ] {
            for (key, value) in entries {
                check_length(field, key, 1, MAX_DETAIL_KEY_CHARS).map_err(|_| {
                    InvalidInput::new(
                        field,
                        "keys must be 1 to 20 characters, without control characters",
                    )
                })?;
                check_length(field, value, 0, 1024)?;
            }
        }
        for (_, url) in &self.logos {
            let ok = reqwest::Url::parse(url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !ok {
                return Err(InvalidInput::new(
                    "logos",
                    "each url must be an http(s) URL",
                ));
            }
        }
        Ok(())
    }

    fn to_call(&self, id: AuthyId) -> Result<Call, InvalidInput> {
        #[derive(Serialize)]
        struct Body<'a> {
            message: &'a str,
            #[serde(skip_serializing_if = "Ordered::is_empty")]
            details: Ordered<'a>,
            #[serde(skip_serializing_if = "Ordered::is_empty")]
            hidden_details: Ordered<'a>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            logos: Vec<Logo<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            seconds_to_expire: Option<u64>,
        }
        #[derive(Serialize)]
        struct Logo<'a> {
            res: &'static str,
            url: &'a str,
        }
        let body = Body {
            message: &self.message,
            details: Ordered(&self.details),
            hidden_details: Ordered(&self.hidden_details),
            logos: self
                .logos
                .iter()
                .map(|(res, url)| Logo {
                    res: res.as_str(),
                    url,
                })
                .collect(),
            seconds_to_expire: self.seconds_to_expire,
        };
        let json = serde_json::to_vec(&body)
            .map_err(|_| InvalidInput::new("details", "could not be encoded as JSON"))?;
        Ok(Call::onetouch(
            "approval_request_create",
            Kind::Write,
            &["users", &id.to_string(), "approval_requests"],
        )
        .authy_id(id)
        .json_body(json))
    }
}

/// Key/value pairs written as a JSON object in their own order (a
/// `serde_json::Map` would sort them, and the app shows details in the order
/// it receives them).
struct Ordered<'a>(&'a [(String, String)]);

impl Ordered<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

fn upsert(entries: &mut Vec<(String, String)>, key: String, value: String) {
    match entries.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 = value,
        None => entries.push((key, value)),
    }
}

/// Authy's status names on the wire; they become the crate's one
/// [`ApprovalStatus`], shared by the store, the provider and the webhook.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum WireStatus {
    Pending,
    Approved,
    Denied,
    Expired,
}

impl From<WireStatus> for ApprovalStatus {
    fn from(status: WireStatus) -> Self {
        match status {
            WireStatus::Pending => Self::Pending,
            WireStatus::Approved => Self::Approved,
            WireStatus::Denied => Self::Denied,
            WireStatus::Expired => Self::Expired,
        }
    }
}

fn wire_status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ApprovalStatus, D::Error> {
    WireStatus::deserialize(d).map(ApprovalStatus::from)
}

/// An approval request as Authy reports it, from [`OneTouch::get`]. Members
/// other than `uuid` and `status` are optional: Authy's samples vary.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ApprovalRequest {
    /// The request's uuid.
    pub uuid: ApprovalUuid,
    /// Where it stands. An unknown status is a decode error, never a guess.
    #[serde(deserialize_with = "wire_status")]
    pub status: ApprovalStatus,
    /// The user's Authy ID (`_authy_id`; Authy has sent it as a number and
    /// as a string).
    #[serde(rename = "_authy_id")]
    pub authy_id: Option<AuthyId>,
    /// The user's e-mail (`_user_email`).
    #[serde(rename = "_user_email")]
    pub user_email: Option<String>,
    /// The application name (`_app_name`).
    #[serde(rename = "_app_name")]
    pub app_name: Option<String>,
    /// The application's serial ID (`_app_serial_id`).
    #[serde(rename = "_app_serial_id")]
    pub app_serial_id: Option<u64>,
    /// Authy's internal ID (`_id`).
    #[serde(rename = "_id")]
    pub internal_id: Option<String>,
    /// The application ID.
    pub app_id: Option<String>,
    /// Authy's user ID (not the Authy ID).
    pub user_id: Option<String>,
    /// Creation time, e.g. `2017-02-10T01:09:52Z`.
    pub created_at: Option<String>,
    /// Last update time.
    pub updated_at: Option<String>,
    /// When the user answered (or it expired); `None` while pending.
    pub processed_at: Option<String>,
    /// The time to live it was created with.
    pub seconds_to_expire: Option<u64>,
    /// Whether the application's callback was notified.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub notified: Option<bool>,
}

/// The OneTouch API, from [`Client::onetouch`].
#[derive(Debug, Clone, Copy)]
pub struct OneTouch<'a> {
    client: &'a Client,
}

impl<'a> OneTouch<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Pushes an approval request to the user's Authy app:
    /// `POST /onetouch/json/users/{id}/approval_requests`. Returns its uuid,
    /// to poll with [`get`](Self::get) or to match a callback.
    ///
    /// ```no_run
    /// # async fn run(client: tower_authy::authy::Client) -> Result<(), tower_authy::authy::AuthyError> {
    /// use tower_authy::authy::{AuthyId, NewApprovalRequest};
    ///
    /// let request = NewApprovalRequest::new("Sign in to Example").seconds_to_expire(120);
    /// let uuid = client.onetouch().create(AuthyId(1635), &request).await?;
    /// let status = client.onetouch().get(&uuid).await?.status;
    /// # let _ = status;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create(
        &self,
        id: AuthyId,
        request: &NewApprovalRequest,
    ) -> Result<ApprovalUuid, AuthyError> {
        request.check()?;
        #[derive(Deserialize)]
        struct Wire {
            approval_request: Created,
        }
        #[derive(Deserialize)]
        struct Created {
            uuid: ApprovalUuid,
        }
        let wire: Wire = self.client.execute(request.to_call(id)?).await?;
        Ok(wire.approval_request.uuid)
    }

    /// An approval request and its status:
    /// `GET /onetouch/json/approval_requests/{uuid}`.
    pub async fn get(&self, uuid: &ApprovalUuid) -> Result<ApprovalRequest, AuthyError> {
        let call = Call::onetouch(
            "approval_request_get",
            Kind::Read,
            &["approval_requests", uuid.as_str()],
        );
        #[derive(Deserialize)]
        struct Wire {
            approval_request: ApprovalRequest,
        }
        let wire: Wire = self.client.execute(call).await?;
        Ok(wire.approval_request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authy::transport::interpret;

    #[test]
    fn message_and_details_are_checked() {
        assert!(NewApprovalRequest::new("ok").check().is_ok());
        assert_eq!(
            NewApprovalRequest::new("  ").check().unwrap_err().field(),
            "message"
        );
        let long = "é".repeat(201);
        assert_eq!(
            NewApprovalRequest::new(long).check().unwrap_err().field(),
            "message"
        );
        assert!(NewApprovalRequest::new("é".repeat(200)).check().is_ok());
        let err = NewApprovalRequest::new("m")
            .detail("k".repeat(21), "v")
            .check()
            .unwrap_err();
        assert_eq!(err.field(), "details");
        let err = NewApprovalRequest::new("m")
            .hidden_detail("", "v")
            .check()
            .unwrap_err();
        assert_eq!(err.field(), "hidden_details");
        let err = NewApprovalRequest::new("m")
            .logo(LogoResolution::Low, "javascript:alert(1)")
            .check()
            .unwrap_err();
        assert_eq!(err.field(), "logos");
    }

    #[test]
    fn request_body_shape() {
        let call = NewApprovalRequest::new("Sign in")
            .detail("Username", "ada")
            .detail("Username", "bob")
            .logo(LogoResolution::High, "https://example.com/h.png")
            .detail("Zone", "z")
            .detail("Account", "a")
            .seconds_to_expire(0)
            .to_call(AuthyId(7))
            .unwrap();
        assert_eq!(
            call.path,
            ["onetouch", "json", "users", "7", "approval_requests"]
        );
        // Insertion order, not sorted; the repeated key kept its place.
        assert_eq!(
            String::from_utf8(call.json_body.unwrap()).unwrap(),
            r#"{"message":"Sign in","details":{"Username":"bob","Zone":"z","Account":"a"},"logos":[{"res":"high","url":"https://example.com/h.png"}],"seconds_to_expire":0}"#
        );
    }

    #[test]
    fn reads_the_documented_sample_with_a_string_authy_id() {
        let body = r#"{"approval_request":{"_app_name":"testhans","_app_serial_id":46113,
          "_authy_id":"28894864","_id":"589d12e07d558e6b91e9370a",
          "_user_email":"someone@example.com","app_id":"58547f6f4014250a11c201f6",
          "created_at":"2017-02-10T01:09:52Z","notified":false,
          "processed_at":"2017-02-13T11:11:58Z","seconds_to_expire":86400,
          "status":"expired","updated_at":"2017-02-13T11:11:58Z",
          "user_id":"5840a9328aa2fb674c485436",
          "uuid":"8d031630-d15b-0134-b0a8-0a77bbe8093e"},"success":true}"#;
        #[derive(Deserialize)]
        struct Wire {
            approval_request: ApprovalRequest,
        }
        let wire: Wire = interpret(http::StatusCode::OK, body.as_bytes(), "k").unwrap();
        let request = wire.approval_request;
        assert_eq!(request.status, ApprovalStatus::Expired);
        assert!(request.status.is_final());
        assert_eq!(request.authy_id, Some(AuthyId(28894864)));
        assert_eq!(request.notified, Some(false));
    }

    #[test]
    fn an_unknown_status_is_an_error() {
        let body = r#"{"approval_request":{"uuid":"ab-12","status":"maybe"},"success":true}"#;
        #[derive(Debug, Deserialize)]
        struct Wire {
            #[allow(dead_code)]
            approval_request: ApprovalRequest,
        }
        let err = interpret::<Wire>(http::StatusCode::OK, body.as_bytes(), "k").unwrap_err();
        assert!(matches!(err, AuthyError::Decode { .. }), "{err:?}");
    }
}
