//! Codes and sends are counted before they happen: the attempt is reserved
//! atomically in the store, so parallel guesses or sends never get past the
//! limit, and a right code clears the count.

use std::time::{Duration, SystemTime};

use super::refusal::Send;
use super::{Refusal, Rules};
use crate::provider::ProviderError;
use crate::store::{Attempt, AttemptKey, AttemptKind, Enrollment, UserId};

/// A code is 6 to 12 digits: leading zeros are kept, and anything else is
/// refused without a provider call or a counted failure.
fn well_formed(code: &str) -> bool {
    (6..=12).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit())
}

fn codes_of(user: &UserId) -> AttemptKey {
    AttemptKey::user(AttemptKind::Code, user)
}

fn sends_of(user: &UserId) -> AttemptKey {
    AttemptKey::user(AttemptKind::Send, user)
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
    /// Checks a code for this enrollment: its shape first (no provider call,
    /// nothing counted), then the reservation against the lockout, then the
    /// provider. A wrong code stays counted; a right one clears the count.
    pub(crate) async fn check_code(
        &self,
        enrollment: &Enrollment,
        code: &str,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        let code = code.trim();
        if !well_formed(code) {
            return Err(Refusal::InvalidInput("a code is 6 to 12 digits".into()));
        }
        let user = &enrollment.user_id;
        let rule = self.policy.lockout;
        let after = match self
            .store
            .record_attempt(&codes_of(user), rule, now)
            .await?
        {
            Attempt::Counted(after) => after,
            Attempt::Refused { until } => return Err(Refusal::LockedOut { until }),
        };
        match self
            .provider
            .verify_code(&enrollment.provider_user_id, code)
            .await
        {
            Ok(()) => {
                self.store.clear_attempts(&codes_of(user)).await?;
                Ok(())
            }
            Err(ProviderError::CodeRejected) => {
                tracing::info!(user = %user, "tower-authy: wrong code");
                match after.locked_until {
                    Some(until) => Err(Refusal::LockedOut { until }),
                    None => Err(Refusal::CodeRejected {
                        remaining: rule.max_failures.saturating_sub(after.failures),
                    }),
                }
            }
            // The provider could not say: the attempt stays counted (it may
            // have reached the provider), which errs on the side of the lockout.
            Err(other) => Err(other.into()),
        }
    }

    /// Counts one send (SMS, call or push) against the user's limit before
    /// it happens, atomically. SMS, calls and pushes share the limit; the
    /// refusal names the kind that reached it.
    pub(crate) async fn reserve_send(
        &self,
        user: &UserId,
        what: Send,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        match self
            .store
            .record_attempt(&sends_of(user), self.policy.send_limit, now)
            .await?
        {
            Attempt::Counted(_) => Ok(()),
            Attempt::Refused { until } => Err(Refusal::TooManySends { what, until }),
        }
    }

    /// The user's wrong-code standing at `now`.
    pub(crate) async fn standing(
        &self,
        user: &UserId,
        now: SystemTime,
    ) -> Result<Standing, Refusal> {
        let attempts = self.store.attempt_state(&codes_of(user), now).await?;
        let locked_for = attempts.locked_until.map(|until| time_left(until, now));
        let attempts_left = (attempts.failures > 0 && locked_for.is_none()).then(|| {
            self.policy
                .lockout
                .max_failures
                .saturating_sub(attempts.failures)
        });
        Ok(Standing {
            attempts_left,
            locked_for,
        })
    }

    /// How long sending stays paused after too many sends, if it is.
    pub(crate) async fn sends_paused_for(
        &self,
        user: &UserId,
        now: SystemTime,
    ) -> Result<Option<Duration>, Refusal> {
        let paused = self
            .store
            .attempt_state(&sends_of(user), now)
            .await?
            .locked_until;
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
