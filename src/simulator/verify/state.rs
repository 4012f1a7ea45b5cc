//! The Verify simulator's records (spec §7), kept in memory. Soft-deleted
//! verifications stay for the phone API; everything else is removed.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::Value;

/// A verification's lifetime (spec §3.2.1).
pub(crate) const VERIFICATION_TTL_SECS: u64 = 600;
/// Deliveries per verification before 60203 (spec §7.2).
pub(crate) const MAX_SENDS: usize = 5;
/// Checks evaluated per verification, TOTP factor or challenge; the next
/// one is refused (spec §7.3, §7.4).
pub(crate) const MAX_CHECKS: u32 = 5;
/// How long an unverified factor lives (spec §7.4).
pub(crate) const UNVERIFIED_FACTOR_TTL_SECS: u64 = 3600;

#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub(crate) sid: String,
    pub(crate) account_sid: String,
    pub(crate) friendly_name: String,
    pub(crate) code_length: u32,
    pub(crate) totp_issuer: Option<String>,
    pub(crate) created: u64,
    pub(crate) updated: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VerificationState {
    Pending,
    Approved,
    Canceled,
    MaxAttemptsReached,
    Expired,
}

impl VerificationState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Canceled => "canceled",
            Self::MaxAttemptsReached => "max_attempts_reached",
            Self::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Send {
    pub(crate) at: u64,
    pub(crate) channel: String,
    pub(crate) attempt_sid: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Verification {
    pub(crate) sid: String,
    pub(crate) service_sid: String,
    pub(crate) account_sid: String,
    pub(crate) to: String,
    pub(crate) channel: String,
    pub(crate) code: String,
    pub(crate) state: VerificationState,
    pub(crate) created: u64,
    pub(crate) updated: u64,
    pub(crate) sends: Vec<Send>,
    pub(crate) checks: u32,
}

impl Verification {
    /// Whether it still answers the API at `now` (else: soft-deleted, 404).
    pub(crate) fn live(&self, now: u64) -> bool {
        self.state == VerificationState::Pending && now < self.created + VERIFICATION_TTL_SECS
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Entity {
    pub(crate) sid: String,
    pub(crate) service_sid: String,
    pub(crate) identity: String,
    pub(crate) created: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FactorType {
    Totp,
    Push,
}

impl FactorType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Push => "push",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Factor {
    pub(crate) sid: String,
    pub(crate) service_sid: String,
    pub(crate) entity_sid: String,
    pub(crate) identity: String,
    pub(crate) friendly_name: String,
    pub(crate) factor_type: FactorType,
    pub(crate) verified: bool,
    /// TOTP: the seed; push: nothing.
    pub(crate) secret: Vec<u8>,
    pub(crate) time_step: u64,
    pub(crate) skew: u64,
    pub(crate) code_length: u32,
    pub(crate) attempts: u32,
    /// Push: the SDK's credential SID (its JWTs' `kid`).
    pub(crate) credential_sid: String,
    pub(crate) created: u64,
    pub(crate) updated: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChallengeState {
    Pending,
    Approved,
    Denied,
    Expired,
}

impl ChallengeState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Challenge {
    pub(crate) sid: String,
    pub(crate) service_sid: String,
    pub(crate) account_sid: String,
    pub(crate) entity_sid: String,
    pub(crate) identity: String,
    pub(crate) factor_sid: String,
    pub(crate) factor_type: FactorType,
    pub(crate) state: ChallengeState,
    pub(crate) message: Option<String>,
    pub(crate) fields: Vec<Value>,
    pub(crate) hidden_details: Option<Value>,
    pub(crate) created: u64,
    pub(crate) updated: u64,
    pub(crate) expires: u64,
    pub(crate) responded: Option<u64>,
    pub(crate) attempts: u32,
}

impl Challenge {
    /// Its state at `now`: a pending one past its date reads expired.
    pub(crate) fn state_at(&self, now: u64) -> ChallengeState {
        if self.state == ChallengeState::Pending && now >= self.expires {
            ChallengeState::Expired
        } else {
            self.state
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    pub(crate) sid: String,
    pub(crate) service_sid: String,
    pub(crate) account_sid: String,
    pub(crate) friendly_name: String,
    pub(crate) event_types: Vec<String>,
    pub(crate) url: String,
    pub(crate) enabled: bool,
    pub(crate) version: String,
    pub(crate) created: u64,
}

impl Webhook {
    pub(crate) fn wants(&self, event: &str) -> bool {
        self.enabled && self.event_types.iter().any(|t| t == "*" || t == event)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub(crate) sid: String,
    pub(crate) service_sid: String,
    pub(crate) account_sid: String,
    pub(crate) identity: String,
    pub(crate) friendly_name: String,
    pub(crate) token: String,
    pub(crate) ttl: u64,
    pub(crate) created: u64,
}

/// A code as the virtual phone received it.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) channel: String,
    pub(crate) to: String,
    pub(crate) code: String,
    pub(crate) at: u64,
}

/// Everything the simulator knows, keyed by SID (lists sort by creation
/// time, then SID).
pub(crate) struct State {
    rng: StdRng,
    pub(crate) services: BTreeMap<String, Service>,
    pub(crate) verifications: BTreeMap<String, Verification>,
    pub(crate) entities: BTreeMap<String, Entity>,
    pub(crate) factors: BTreeMap<String, Factor>,
    pub(crate) challenges: BTreeMap<String, Challenge>,
    pub(crate) webhooks: BTreeMap<String, Webhook>,
    pub(crate) access_tokens: BTreeMap<String, AccessToken>,
    pub(crate) messages: Vec<Message>,
}

impl State {
    pub(crate) fn new(seed: Option<u64>) -> Self {
        Self {
            rng: match seed {
                Some(seed) => StdRng::seed_from_u64(seed),
                None => StdRng::from_os_rng(),
            },
            services: BTreeMap::new(),
            verifications: BTreeMap::new(),
            entities: BTreeMap::new(),
            factors: BTreeMap::new(),
            challenges: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            access_tokens: BTreeMap::new(),
            messages: Vec::new(),
        }
    }

    /// A new SID: `prefix` and 32 lower-case hex digits.
    pub(crate) fn sid(&mut self, prefix: &str) -> String {
        format!("{prefix}{}", self.hex(32))
    }

    pub(crate) fn hex(&mut self, n: usize) -> String {
        const HEX: &[u8] = b"0123456789abcdef";
        (0..n)
            .map(|_| char::from(HEX[self.rng.random_range(0..16usize)]))
            .collect()
    }

    pub(crate) fn digits(&mut self, n: u32) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.rng.random_range(0..10u8)))
            .collect()
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.rng.random::<u8>()).collect()
    }

    /// The entity `identity` of `service`, if any.
    pub(crate) fn entity(&self, service: &str, identity: &str) -> Option<&Entity> {
        self.entities
            .values()
            .find(|e| e.service_sid == service && e.identity == identity)
    }

    /// Drops unverified factors that aged out (spec §4.3).
    pub(crate) fn expire_factors(&mut self, now: u64) {
        self.factors
            .retain(|_, f| f.verified || now < f.created + UNVERIFIED_FACTOR_TTL_SECS);
    }
}
