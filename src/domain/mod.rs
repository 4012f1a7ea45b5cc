//! The rules of the second factor, in one place that knows nothing of HTTP.
//!
//! Who must pass and with what, the attempt reservation before every check,
//! lockouts and send limits, grace logins, confirming a new enrollment,
//! remembered devices, staleness and freshness. Every operation takes `now`
//! from its caller and returns a typed outcome or a [`Refusal`]; turning
//! those into pages and JSON is the routes' job, and reading or writing the
//! session is theirs too.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::config::Policy;
use crate::method::Methods;
use crate::sealing::Sealer;
use crate::store::SharedStore;

mod approval;
mod attempts;
mod backup;
mod challenge;
mod device;
mod enrollment;
mod pairing;
mod passkey;
mod refusal;
mod removal;
mod report;
mod requester;
mod sign_out;
mod totp;

pub(crate) use approval::{Binding, MAX_WAIT};
pub(crate) use backup::backup_codes_left;
pub(crate) use challenge::{Need, Way};
pub use enrollment::EnrollError;
pub(crate) use enrollment::{Replace, validate};
pub use pairing::PairError;
pub(crate) use passkey::KeptCeremony;
pub(crate) use refusal::Refusal;
pub(crate) use report::{NotRecorded, Report, Reported, record as record_report};
pub(crate) use requester::Requester;
pub(crate) use sign_out::is_signed_out;
pub(crate) use totp::{AppSecret, TotpSetup};

/// What the rules act on: the store, the methods (one per factor kind)
/// and the policy.
#[derive(Debug)]
pub(crate) struct Rules {
    pub(crate) store: SharedStore,
    pub(crate) methods: Methods,
    pub(crate) policy: Policy,
    /// Seals local secrets; `None` without an application secret key (then
    /// no authenticator app can be added).
    pub(crate) sealer: Option<Arc<Sealer>>,
    /// Who hears of security changes.
    pub(crate) events: crate::events::Listener,
}

/// The longest label, in characters.
const MAX_LABEL: usize = 64;

/// A label as the user typed it, trimmed; empty gives `default`.
pub(super) fn label(typed: &str, default: &str) -> Result<String, Refusal> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(default.to_owned());
    }
    if typed.chars().count() > MAX_LABEL || typed.chars().any(char::is_control) {
        return Err(Refusal::InvalidInput(format!(
            "a label is up to {MAX_LABEL} characters, on one line"
        )));
    }
    Ok(typed.to_owned())
}

/// Whether a pass stamped with the security generation `passed` still
/// stands now that the user's generation is `current`: any change since
/// (a factor removed, 2FA turned off, devices forgotten) voids it.
pub(crate) fn pass_stands(passed: u64, current: u64) -> bool {
    passed == current
}

impl Rules {
    /// How a new factor binds its provider identity, as the policy says.
    pub(crate) fn identity_use(&self) -> crate::store::IdentityUse {
        if self.policy.shared_identities {
            crate::store::IdentityUse::Shared
        } else {
            crate::store::IdentityUse::Exclusive
        }
    }

    /// The user's security generation, stamped on each pass.
    pub(crate) async fn generation(&self, user: &crate::store::UserId) -> Result<u64, Refusal> {
        Ok(self.store.device_generation(user).await?)
    }

    /// Refuses a security change by a session whose pass (stamped `since`)
    /// another session's change has voided meanwhile: the late change must
    /// neither keep that pass nor void the other session's.
    pub(crate) async fn unchanged_since(
        &self,
        user: &crate::store::UserId,
        since: u64,
    ) -> Result<(), Refusal> {
        if self.generation(user).await? == since {
            Ok(())
        } else {
            Err(Refusal::ChangedMeanwhile)
        }
    }
}

/// Whether a first factor done at `since` has waited `ttl` or longer for the
/// second at `now`: then the session starts again from the password.
pub(crate) fn is_stale(since: SystemTime, now: SystemTime, ttl: Duration) -> bool {
    now >= since + ttl
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_one_short_line() {
        assert_eq!(
            label("  ", "Authenticator app").unwrap(),
            "Authenticator app"
        );
        assert_eq!(label(" Work phone ", "").unwrap(), "Work phone");
        assert!(label("a\nb", "").is_err());
        assert!(label(&"x".repeat(65), "").is_err());
        assert!(label(&"é".repeat(64), "").is_ok());
    }

    #[test]
    fn a_first_factor_goes_stale_exactly_at_its_ttl() {
        let since = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let ttl = Duration::from_secs(600);
        assert!(!is_stale(since, since, ttl));
        assert!(!is_stale(
            since,
            since + ttl - Duration::from_millis(1),
            ttl
        ));
        assert!(is_stale(since, since + ttl, ttl));
    }
}
