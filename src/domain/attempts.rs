//! Codes and sends are counted before they happen: the attempt is reserved
//! atomically in the store, so parallel guesses or sends never get past the
//! limit, and a right code clears the count.

use std::time::{Duration, SystemTime};

use super::refusal::Send;
use super::{Refusal, Rules};
use crate::method::{Ability, Method, ProviderError};
use data_encoding::HEXLOWER;
use sha2::{Digest, Sha256};

use crate::store::{Attempt, AttemptKey, AttemptKind, Factor, LockoutRule, NonceInsert, UserId};

/// A code is 6 to 12 digits: leading zeros are kept, and anything else is
/// refused without a provider call or a counted failure.
fn well_formed(code: &str) -> bool {
    (6..=12).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit())
}

/// The counters a check or a send of `kind` counts against: the account's,
/// and each provider identity's (shared by every account bound to it).
/// A factor's identity is `<provider>:<id>`, so the key is the one
/// [`AttemptKey::identity`] makes.
fn keys(kind: AttemptKind, user: &UserId, identities: &[&str]) -> Vec<AttemptKey> {
    let mut keys = vec![AttemptKey::user(kind, user)];
    for identity in identities {
        let key = AttemptKey::from_parts(kind, format!("identity:{identity}"));
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// What is left under a counter after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Remaining {
    /// This attempt locked it, until then.
    LockedUntil(SystemTime),
    /// Attempts left.
    Left(u32),
}

impl Remaining {
    /// A lock over attempts left, the longer lock, the fewer attempts.
    fn stricter(self, other: Self) -> Self {
        use Remaining::{Left, LockedUntil};
        match (self, other) {
            (LockedUntil(a), LockedUntil(b)) => LockedUntil(a.max(b)),
            (LockedUntil(a), Left(_)) | (Left(_), LockedUntil(a)) => LockedUntil(a),
            (Left(a), Left(b)) => Left(a.min(b)),
        }
    }
}

/// A code attempt counted before its check (of a backup code, a passkey
/// answer): what is left, for whose account.
#[derive(Debug, Clone)]
pub(crate) struct Counted {
    remaining: Remaining,
    user: UserId,
}

impl Rules {
    /// The refusal of a wrong counted attempt: `refusal` of the attempts
    /// left while some are, else the lockout this one started (and the
    /// application is told of it, as for a wrong code).
    pub(crate) fn wrong_attempt(
        &self,
        counted: Counted,
        refusal: impl FnOnce(u32) -> Refusal,
    ) -> Refusal {
        match counted.remaining {
            Remaining::Left(remaining) => refusal(remaining),
            Remaining::LockedUntil(until) => self.locked_out(&counted.user, until),
        }
    }

    /// The refusal of a wrong counted code (a backup code).
    pub(crate) fn wrong_code(&self, counted: Counted) -> Refusal {
        self.wrong_attempt(counted, |remaining| Refusal::CodeRejected { remaining })
    }

    /// A lockout that a wrong attempt of `user` just started.
    fn locked_out(&self, user: &UserId, until: SystemTime) -> Refusal {
        self.events.tell(crate::events::SecurityEvent::LockedOut {
            user: user.clone(),
            until,
        });
        Refusal::LockedOut { until }
    }
}

/// Why an attempt was not reserved.
enum NotReserved {
    /// A counter is locked until then.
    Locked(SystemTime),
    /// The store failed.
    Failed(Refusal),
}

/// Where a user stands with the limits at one moment, for the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Standing {
    /// Wrong codes the user may still enter before the lockout, once one
    /// was wrong (and no lockout runs).
    pub(crate) attempts_left: Option<u32>,
    /// How long the lockout after wrong codes still lasts.
    pub(crate) locked_for: Option<Duration>,
}

impl Rules {
    /// Checks a code against `factors` (those that take codes): its shape
    /// first (no provider call, nothing counted), then each factor in turn,
    /// strongest first, each check reserved before it runs against the
    /// account's counter and that factor's identity's — so a user with
    /// several factors gets no more guesses than one with one. The answer
    /// is the factor that took it; a right code clears the account's count
    /// and its factor's. When no factor took it and a method could not say,
    /// the failure is that method's (never a pass).
    pub(crate) async fn check_code(
        &self,
        factors: &[Factor],
        code: &str,
        now: SystemTime,
    ) -> Result<Factor, Refusal> {
        let code = code.trim();
        if !well_formed(code) {
            return Err(Refusal::InvalidInput("a code is 6 to 12 digits".into()));
        }
        let candidates: Vec<(&Factor, &dyn Method)> = factors
            .iter()
            .filter(|factor| self.methods.can(factor.kind, Ability::CheckCode))
            .filter_map(|factor| Some((factor, self.methods.of(factor.kind)?)))
            .collect();
        let Some((first, _)) = candidates.first() else {
            return Err(Refusal::ChannelOff);
        };
        let user = &first.user_id;
        let mut left = Remaining::Left(self.policy.lockout.max_failures);
        let mut unsure = None;
        let mut all_expired = true;
        for (factor, method) in candidates {
            let identity = factor.identity.as_deref();
            let keys = keys(AttemptKind::Code, user, identity.as_slice());
            left = match self.reserve(&keys, self.policy.lockout, now).await {
                Ok(remaining) => remaining,
                Err(NotReserved::Locked(until)) => return Err(Refusal::LockedOut { until }),
                Err(NotReserved::Failed(refusal)) => return Err(refusal),
            };
            match method.check_code(factor, code).await {
                Ok(()) if !self.first_use(factor, method, code, now).await? => {
                    // Accepted moments ago: a replay, refused like a wrong
                    // code (and counted).
                    tracing::warn!(user = %user, "tower-authy: a code already used was replayed");
                    all_expired = false;
                }
                Ok(()) => {
                    for key in &keys {
                        self.store.clear_attempts(key).await?;
                    }
                    return Ok(factor.clone());
                }
                Err(ProviderError::CodeRejected) => all_expired = false,
                // Counted like a wrong code; said as such only when no
                // factor had a code waiting.
                Err(ProviderError::CodeExpired) => {}
                // The method could not say: the attempt stays counted (it
                // may have reached the provider), which errs on the side of
                // the lockout.
                Err(other) => {
                    unsure.get_or_insert(other);
                }
            }
        }
        if let Some(error) = unsure {
            return Err(error.into());
        }
        tracing::info!(user = %user, "tower-authy: wrong code");
        if all_expired && matches!(left, Remaining::Left(_)) {
            return Err(Refusal::CodeExpired);
        }
        match left {
            Remaining::Left(remaining) => Err(Refusal::CodeRejected { remaining }),
            // This wrong code started the lockout.
            Remaining::LockedUntil(until) => Err(self.locked_out(user, until)),
        }
    }

    /// Whether this is the first time `code` passed for `factor`, where its
    /// method says the provider would take it again
    /// ([`Method::replayable_for`]): each accepted code is remembered that
    /// long (a hash of it, keyed by the factor), atomically, so of two
    /// requests racing with one code only one passes.
    async fn first_use(
        &self,
        factor: &Factor,
        method: &dyn Method,
        code: &str,
        now: SystemTime,
    ) -> Result<bool, Refusal> {
        let Some(window) = method.replayable_for() else {
            return Ok(true);
        };
        let digest = Sha256::new()
            .chain_update(factor.user_id.as_str())
            .chain_update([0])
            .chain_update(factor.id.as_str())
            .chain_update([0])
            .chain_update(code)
            .finalize();
        let nonce = format!("code:{}", HEXLOWER.encode(&digest));
        match self.store.insert_nonce(&nonce, now + window, now).await? {
            NonceInsert::Fresh => Ok(true),
            NonceInsert::Seen => Ok(false),
        }
    }

    /// Counts one code attempt of `user` (a code that reaches no provider
    /// identity, such as a backup code) before it is checked.
    pub(crate) async fn reserve_code_attempt(
        &self,
        user: &UserId,
        now: SystemTime,
    ) -> Result<Counted, Refusal> {
        let keys = keys(AttemptKind::Code, user, &[]);
        match self.reserve(&keys, self.policy.lockout, now).await {
            Ok(remaining) => Ok(Counted {
                remaining,
                user: user.clone(),
            }),
            Err(NotReserved::Locked(until)) => Err(Refusal::LockedOut { until }),
            Err(NotReserved::Failed(refusal)) => Err(refusal),
        }
    }

    /// Clears `user`'s count of wrong codes after a right one.
    pub(crate) async fn clear_code_attempts(&self, user: &UserId) -> Result<(), Refusal> {
        for key in keys(AttemptKind::Code, user, &[]) {
            self.store.clear_attempts(&key).await?;
        }
        Ok(())
    }

    /// Counts one attempt under every key, atomically per key, before the
    /// thing is done, and says what is left under the strictest. A locked
    /// key refuses (the keys counted before it stay counted, erring on the
    /// side of the limit).
    async fn reserve(
        &self,
        keys: &[AttemptKey],
        rule: LockoutRule,
        now: SystemTime,
    ) -> Result<Remaining, NotReserved> {
        let mut remaining = Remaining::Left(rule.max_failures);
        for key in keys {
            let after = match self.store.record_attempt(key, rule, now).await {
                Ok(Attempt::Counted(after)) => after,
                Ok(Attempt::Refused { until }) => return Err(NotReserved::Locked(until)),
                Err(error) => return Err(NotReserved::Failed(error.into())),
            };
            let here = match after.locked_until {
                Some(until) => Remaining::LockedUntil(until),
                None => Remaining::Left(rule.max_failures.saturating_sub(after.failures)),
            };
            remaining = remaining.stricter(here);
        }
        Ok(remaining)
    }

    /// Counts one send (SMS, call or push) to `identity` for `user` against
    /// the limit before it happens, atomically per key: per account and per
    /// identity, so more accounts send no more to one phone. SMS, calls and
    /// pushes share the limit; the refusal names the kind that reached it.
    pub(crate) async fn reserve_send(
        &self,
        user: &UserId,
        identity: Option<&str>,
        what: Send,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        let keys = keys(AttemptKind::Send, user, identity.as_slice());
        match self.reserve(&keys, self.policy.send_limit, now).await {
            Ok(_) => Ok(()),
            Err(NotReserved::Locked(until)) => Err(Refusal::TooManySends { what, until }),
            Err(NotReserved::Failed(refusal)) => Err(refusal),
        }
    }

    /// Counts one enrollment of `user` before it reaches the provider (each
    /// creates a provider user).
    pub(crate) async fn reserve_enrollment(
        &self,
        user: &UserId,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        let keys = keys(AttemptKind::Enroll, user, &[]);
        match self.reserve(&keys, self.policy.enroll_limit, now).await {
            Ok(_) => Ok(()),
            Err(NotReserved::Locked(until)) => Err(Refusal::TooManyEnrollments { until }),
            Err(NotReserved::Failed(refusal)) => Err(refusal),
        }
    }

    /// The user's wrong-code standing at `now`: the strictest of the
    /// account's counter and those of its factors' provider `identities`
    /// (the caller has the factors already).
    pub(crate) async fn standing(
        &self,
        user: &UserId,
        identities: &[&str],
        now: SystemTime,
    ) -> Result<Standing, Refusal> {
        let mut locked_until = None;
        let mut failures = 0;
        for key in keys(AttemptKind::Code, user, identities) {
            let state = self.store.attempt_state(&key, now).await?;
            locked_until = locked_until.max(state.locked_until);
            failures = failures.max(state.failures);
        }
        let locked_for = locked_until.map(|until| time_left(until, now));
        let attempts_left = (failures > 0 && locked_for.is_none())
            .then(|| self.policy.lockout.max_failures.saturating_sub(failures));
        Ok(Standing {
            attempts_left,
            locked_for,
        })
    }

    /// How long sending stays paused after too many sends, if it is (for
    /// the account or one of its factors' `identities`).
    pub(crate) async fn sends_paused_for(
        &self,
        user: &UserId,
        identities: &[&str],
        now: SystemTime,
    ) -> Result<Option<Duration>, Refusal> {
        let mut paused = None;
        for key in keys(AttemptKind::Send, user, identities) {
            paused = paused.max(self.store.attempt_state(&key, now).await?.locked_until);
        }
        Ok(paused.map(|until| time_left(until, now)))
    }
}

/// From `now` until `until`, at least a millisecond (a pause that is
/// still on never reads as over).
fn time_left(until: SystemTime, now: SystemTime) -> Duration {
    until
        .duration_since(now)
        .unwrap_or_default()
        .max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_digit_strings_of_six_to_twelve() {
        for good in ["000000", "123456", "0123456", "123456789012"] {
            assert!(well_formed(good), "{good}");
        }
        for bad in [
            "",
            "12345",
            "1234567890123",
            "12345a",
            "１２３４５６",
            "123 456",
            "-12345",
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
