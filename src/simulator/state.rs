//! The simulator's in-memory records: users, their codes and devices,
//! OneTouch requests, phone verifications and monthly counters.

use std::collections::{BTreeMap, HashMap};

use rand::Rng;
use serde::Serialize;
use serde_json::{Map, Value};

/// How long an SMS, voice or e-mail code, or a phone-verification code, stays
/// valid: ten minutes.
pub(crate) const CODE_TTL_MS: u64 = 10 * 60 * 1000;
/// Digits of the codes sent by SMS, voice and e-mail (the Authy default).
pub(crate) const TOKEN_DIGITS: usize = 7;

/// Everything the simulator remembers.
#[derive(Debug, Default)]
pub(crate) struct State {
    last_user_id: u32,
    last_device_id: u32,
    last_approval_seq: u64,
    pub users: BTreeMap<u32, User>,
    /// `(country code, digits)` → Authy ID: registering a phone twice gives
    /// the same ID.
    pub by_phone: HashMap<(u16, String), u32>,
    pub approvals: HashMap<String, Approval>,
    pub verifications: HashMap<(u16, String), PhoneVerification>,
    /// Phone-verification codes sent to each number.
    pub phone_messages: HashMap<(u16, String), Vec<Message>>,
    /// `(year, month)` → counters for `app/stats`.
    pub stats: BTreeMap<(i64, u32), MonthStats>,
}

/// A code sent to a user or a number, as the virtual phone shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Message {
    pub channel: &'static str,
    pub code: String,
    /// Unix seconds (simulator clock).
    pub at: u64,
}

/// A code that `verify` may still accept.
#[derive(Debug, Clone)]
pub(crate) struct OutstandingCode {
    pub code: String,
    pub action: Option<String>,
    pub expires_ms: u64,
}

/// A token that was accepted once and must not be accepted again.
#[derive(Debug, Clone)]
pub(crate) struct UsedToken {
    pub token: String,
    pub until_ms: u64,
}

/// The virtual Authy app on the user's virtual phone.
#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub id: u32,
    pub registered_at: u64,
    pub last_sync: u64,
}

/// A registered user.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: u32,
    pub email: String,
    /// E-mails given by later registrations of the same phone.
    pub other_emails: Vec<String>,
    pub country_code: u16,
    pub phone: String,
    /// MongoDB-style id, as OneTouch records name users.
    pub object_id: String,
    pub app: Option<Device>,
    pub confirmed: bool,
    /// The soft-token seed of the virtual app.
    pub secret: [u8; 20],
    pub messages: Vec<Message>,
    pub codes: Vec<OutstandingCode>,
    pub used: Vec<UsedToken>,
    pub activities: Vec<Value>,
}

/// The state of a OneTouch approval request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ApprovalStatus {
    Pending,
    Approved,
    Denied,
    Expired,
}

impl ApprovalStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
        }
    }
}

/// A OneTouch approval request.
#[derive(Debug, Clone)]
pub(crate) struct Approval {
    pub seq: u64,
    pub uuid: String,
    pub object_id: String,
    pub authy_id: u32,
    pub user_object_id: String,
    pub user_email: String,
    pub message: String,
    pub details: Option<Map<String, Value>>,
    pub hidden_details: Option<Map<String, Value>>,
    pub logos: Option<Vec<Value>>,
    /// 0 = never expires.
    pub seconds_to_expire: u64,
    pub created_ms: u64,
    pub status: ApprovalStatus,
    pub processed_at: Option<u64>,
    pub updated_at: u64,
    pub notified: bool,
}

impl Approval {
    /// Marks a pending request expired once its time is up. Expiry is found
    /// lazily, whenever the request is looked at.
    pub(crate) fn expire_if_due(&mut self, now_ms: u64) {
        if self.status != ApprovalStatus::Pending || self.seconds_to_expire == 0 {
            return;
        }
        let due_ms = self
            .created_ms
            .saturating_add(self.seconds_to_expire.saturating_mul(1000));
        if now_ms >= due_ms {
            self.status = ApprovalStatus::Expired;
            self.processed_at = Some(due_ms / 1000);
            self.updated_at = due_ms / 1000;
        }
    }

    /// Unix seconds at which it expires, if ever.
    pub(crate) fn expiration_timestamp(&self) -> Option<u64> {
        (self.seconds_to_expire > 0).then(|| self.created_ms / 1000 + self.seconds_to_expire)
    }
}

/// A phone verification (Verify v1) for one number.
#[derive(Debug, Clone)]
pub(crate) struct PhoneVerification {
    pub uuid: String,
    pub code: String,
    pub expires_ms: u64,
    pub verified: bool,
}

impl PhoneVerification {
    /// `pending`, `verified` or `expired` at `now_ms`.
    pub(crate) fn status(&self, now_ms: u64) -> &'static str {
        if self.verified {
            "verified"
        } else if now_ms >= self.expires_ms {
            "expired"
        } else {
            "pending"
        }
    }

    /// Whole seconds left, as the API counts them: 599 just after a start,
    /// never the full 600.
    pub(crate) fn seconds_to_expire(&self, now_ms: u64) -> u64 {
        self.expires_ms.saturating_sub(now_ms).saturating_sub(1) / 1000
    }
}

/// One month of `app/stats`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MonthStats {
    pub api_calls: u64,
    pub auths: u64,
    pub calls: u64,
    pub sms: u64,
    pub users: u64,
}

impl State {
    /// A fresh Authy ID.
    pub(crate) fn next_user_id(&mut self) -> u32 {
        // Authy IDs are plain integers; start where real ones look realistic.
        if self.last_user_id == 0 {
            self.last_user_id = 1_000_000;
        }
        self.last_user_id += 1;
        self.last_user_id
    }

    /// A fresh device id for an app installation.
    pub(crate) fn next_device_id(&mut self) -> u32 {
        if self.last_device_id == 0 {
            self.last_device_id = 2_000_000;
        }
        self.last_device_id += 1;
        self.last_device_id
    }

    /// A creation order number for approval requests.
    pub(crate) fn next_approval_seq(&mut self) -> u64 {
        self.last_approval_seq += 1;
        self.last_approval_seq
    }

    /// The counters of the month containing `unix_secs`.
    pub(crate) fn month(&mut self, unix_secs: u64) -> &mut MonthStats {
        let date = crate::utc::DateTime::from_unix(unix_secs);
        self.stats.entry((date.year, date.month)).or_default()
    }

    /// Removes a user and everything attached to them.
    pub(crate) fn remove_user(&mut self, id: u32) -> bool {
        let Some(user) = self.users.remove(&id) else {
            return false;
        };
        self.by_phone.remove(&(user.country_code, user.phone));
        self.approvals.retain(|_, a| a.authy_id != id);
        true
    }
}

/// `n` random decimal digits (leading zeros kept: codes are strings).
pub(crate) fn random_digits(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// `n` random lower-case hex digits (MongoDB-style ids, e-mail ids).
pub(crate) fn random_hex(n: usize) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(HEX[rng.random_range(0..16usize)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval(seconds_to_expire: u64) -> Approval {
        Approval {
            seq: 1,
            uuid: "u".into(),
            object_id: random_hex(24),
            authy_id: 1,
            user_object_id: random_hex(24),
            user_email: "a@b.c".into(),
            message: "m".into(),
            details: None,
            hidden_details: None,
            logos: None,
            seconds_to_expire,
            created_ms: 1_000_000,
            status: ApprovalStatus::Pending,
            processed_at: None,
            updated_at: 1000,
            notified: false,
        }
    }

    #[test]
    fn approvals_expire_at_their_deadline_and_zero_means_never() {
        let mut a = approval(60);
        a.expire_if_due(1_059_999);
        assert_eq!(a.status, ApprovalStatus::Pending);
        a.expire_if_due(1_060_000);
        assert_eq!(a.status, ApprovalStatus::Expired);
        assert_eq!(a.processed_at, Some(1060));
        let mut never = approval(0);
        never.expire_if_due(u64::MAX);
        assert_eq!(never.status, ApprovalStatus::Pending);
        assert_eq!(never.expiration_timestamp(), None);
    }

    #[test]
    fn verification_status_and_countdown() {
        let v = PhoneVerification {
            uuid: "u".into(),
            code: "1234".into(),
            expires_ms: 600_000,
            verified: false,
        };
        assert_eq!(v.seconds_to_expire(0), 599);
        assert_eq!(v.seconds_to_expire(500), 599);
        assert_eq!(v.seconds_to_expire(600_000), 0);
        assert_eq!(v.status(599_999), "pending");
        assert_eq!(v.status(600_000), "expired");
    }

    #[test]
    fn random_codes_keep_their_length() {
        for _ in 0..50 {
            let code = random_digits(TOKEN_DIGITS);
            assert_eq!(code.len(), 7);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(random_hex(24).len(), 24);
    }
}
