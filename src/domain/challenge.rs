//! The challenge decision: who must pass, with which factors and ways;
//! skipping a phone that was never confirmed; sending a code.

use std::time::SystemTime;

use super::enrollment::is_on;
use super::refusal::Send;
use super::{Refusal, Rules};
use crate::code::Code;
use crate::config::{ChannelMode, EnrollmentPolicy};
use crate::method::{Ability, Channel, Method};
use crate::session::SecondFactorMethod;
use crate::store::{Factor, FactorState, GraceLogin, UserId};

/// What a signed-in user must do for the second factor.
#[derive(Debug)]
pub(crate) enum Need {
    /// Pass this challenge.
    Challenge(Challenge),
    /// Nothing: the session goes through this way.
    Pass(SecondFactorMethod),
    /// Enroll first: no access until then.
    Enroll,
}

/// The factors a challenge acts on, strongest first: every active factor a
/// method serves, or, while the user has none, the one registered and
/// awaiting its first use (which the challenge confirms).
#[derive(Debug, Clone)]
pub(crate) struct Challenge {
    /// Never empty.
    factors: Vec<Factor>,
}

impl Challenge {
    /// The strongest factor: the one the page names ("ending in 67").
    pub(crate) fn first(&self) -> &Factor {
        &self.factors[0]
    }

    /// Every factor it accepts, strongest first.
    pub(crate) fn factors(&self) -> &[Factor] {
        &self.factors
    }

    /// The factors a code may come from: the one `id` names (empty: every
    /// factor). An id that names none of them is refused before anything
    /// is checked or counted.
    pub(crate) fn pick(&self, id: &str) -> Result<&[Factor], Refusal> {
        if id.is_empty() {
            return Ok(&self.factors);
        }
        self.factors
            .iter()
            .position(|factor| factor.id.as_str() == id)
            .map(|at| &self.factors[at..=at])
            .ok_or(Refusal::UnknownFactor)
    }

    /// The provider identities its factors reach, for the counters.
    pub(crate) fn identities(&self) -> Vec<&str> {
        self.factors
            .iter()
            .filter_map(|factor| factor.identity.as_deref())
            .collect()
    }

    /// Whether it confirms a factor registered and never used: the user
    /// has no active factor yet.
    pub(crate) fn confirms(&self) -> bool {
        !self.first().is_active()
    }
}

/// A way to pass the challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Way {
    /// Answer with a passkey or security key.
    Passkey,
    /// Approve a push in the provider's app.
    Onetouch,
    /// Type a code (from the app, a text or a call).
    Code,
    /// Have a code texted.
    Sms,
    /// Have a code read out in a call.
    Call,
    /// Have a code e-mailed.
    Email,
    /// Have a code sent by WhatsApp.
    Whatsapp,
    /// Type one of the backup codes.
    Backup,
}

impl Rules {
    /// The challenge among `factors`: the active ones a method serves,
    /// strongest first; else the first awaiting confirmation; `None` for a
    /// user with neither.
    pub(crate) fn challenge_of(&self, factors: Vec<Factor>) -> Option<Challenge> {
        // On or off is decided on every stored factor, served here or not:
        // a factor no method serves must not make way for a pending one.
        let on = is_on(&factors);
        let (active, pending): (Vec<_>, Vec<_>) = self
            .methods
            .ranked(factors)
            .into_iter()
            .partition(Factor::is_active);
        if on {
            // Backup codes alone do not count; none served: no challenge
            // (and `need` refuses everybody).
            return active
                .iter()
                .any(|factor| factor.kind.turns_on_two_factor())
                .then_some(Challenge { factors: active });
        }
        // Off: a pending factor is confirmed here only when it was
        // registered by phone (its first code comes by text, call or the
        // app); others (an authenticator app) confirm on their own page.
        let factors: Vec<Factor> = pending
            .into_iter()
            .filter(|factor| self.methods.can(factor.kind, Ability::EnrollPhone))
            .take(1)
            .collect();
        (!factors.is_empty()).then_some(Challenge { factors })
    }

    /// The user's challenge, if they have a factor.
    pub(crate) async fn current_challenge(
        &self,
        user: &UserId,
    ) -> Result<Option<Challenge>, Refusal> {
        Ok(self.challenge_of(self.store.factors(user).await?))
    }

    /// The challenge the code and push routes act on: the user must have a
    /// factor.
    pub(crate) async fn challenge(&self, user: &UserId) -> Result<Challenge, Refusal> {
        self.current_challenge(user)
            .await?
            .ok_or(Refusal::NotEnrolled)
    }

    /// The challenge's first factor that can do `ability`.
    pub(crate) fn able<'a>(
        &self,
        challenge: &'a Challenge,
        ability: Ability,
    ) -> Option<&'a Factor> {
        challenge
            .factors
            .iter()
            .find(|factor| self.methods.can(factor.kind, ability))
    }

    /// The factor a push would reach now, if the policy pushes: the first
    /// that can push whose method says a push reaches it (Authy: the user
    /// has the app). When a method cannot say, codes still work: no push.
    pub(crate) async fn push_factor<'a>(&self, challenge: &'a Challenge) -> Option<&'a Factor> {
        if !self.policy.onetouch {
            return None;
        }
        for factor in &challenge.factors {
            let Some(method) = self.methods.of(factor.kind) else {
                continue;
            };
            if !method.abilities().contains(&Ability::Push) {
                continue;
            }
            match method.can_push(factor).await {
                Ok(true) => return Some(factor),
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%error, "tower-authy: cannot ask whether a push reaches the user");
                }
            }
        }
        None
    }

    /// The ways `challenge` offers, strongest first: a push (`push`: one
    /// reaches the user now), then a code, a text, a call, as the policy
    /// allows and the factors can. The first is the way the page starts
    /// with; the others are "Try another way", offered at once beside it.
    pub(crate) fn ways(&self, challenge: &Challenge, push: bool) -> Vec<Way> {
        let policy = &self.policy;
        let can = |ability| self.able(challenge, ability).is_some();
        let sends = |channel| {
            policy.channel(channel) != ChannelMode::Off && can(Ability::SendCode(channel))
        };
        [
            (Way::Passkey, can(Ability::Ceremony)),
            (Way::Onetouch, push),
            (Way::Code, policy.codes && can(Ability::CheckCode)),
            (Way::Sms, sends(Channel::Sms)),
            (Way::Call, sends(Channel::Call)),
            (Way::Email, sends(Channel::Email)),
            (Way::Whatsapp, sends(Channel::Whatsapp)),
            (Way::Backup, can(Ability::RecoveryCode)),
        ]
        .into_iter()
        .filter_map(|(way, offered)| offered.then_some(way))
        .collect()
    }

    /// What `user` must do now. A user without a factor passes under opt-in
    /// enrollment; under mandatory enrollment they spend a grace login, or
    /// must enroll once none is left.
    pub(crate) async fn need(&self, user: &UserId) -> Result<Need, Refusal> {
        let factors = self.store.factors(user).await?;
        let on = is_on(&factors);
        if let Some(challenge) = self.challenge_of(factors) {
            return Ok(Need::Challenge(challenge));
        }
        if on {
            // Two-factor sign-in is on, but no method here can check the
            // user's factors (an authenticator app with apps turned off):
            // nobody passes rather than everybody.
            tracing::error!(user = %user, "tower-authy: no method here serves this user's factors");
            return Err(Refusal::NotPossible(
                "this account's second factor cannot be checked here; contact the site".into(),
            ));
        }
        Ok(match self.grace(user).await? {
            Some(method) => Need::Pass(method),
            None => Need::Enroll,
        })
    }

    /// How a user without a confirmed factor may go on: not required under
    /// opt-in, a grace login under mandatory enrollment (`None`: none left).
    async fn grace(&self, user: &UserId) -> Result<Option<SecondFactorMethod>, Refusal> {
        Ok(match self.policy.enrollment {
            EnrollmentPolicy::OptIn => Some(SecondFactorMethod::NotRequired),
            EnrollmentPolicy::Mandatory { grace_logins, .. } => {
                match self.store.use_grace_login(user, grace_logins).await? {
                    GraceLogin::Granted { .. } => Some(SecondFactorMethod::GraceLogin),
                    GraceLogin::Exhausted => None,
                }
            }
        })
    }

    /// Goes on without confirming a phone that was registered but never
    /// confirmed (not yet a factor), so a phone planted with the password
    /// alone cannot lock its owner out. A confirmed phone cannot be skipped.
    pub(crate) async fn skip(&self, user: &UserId) -> Result<SecondFactorMethod, Refusal> {
        if !self.challenge(user).await?.confirms() {
            return Err(Refusal::NotPossible(
                "two-factor sign-in is on: use your phone".into(),
            ));
        }
        self.grace(user).await?.ok_or_else(|| {
            Refusal::NotPossible("confirm your phone to continue: no grace logins are left".into())
        })
    }

    /// Records a passed challenge on its factor: the first confirms a
    /// pending factor (one confirmed meanwhile, in another tab, is the same
    /// outcome), every one is its last use. A factor removed meanwhile
    /// passes nothing.
    ///
    /// A confirmation that turns two-factor sign-in on moves the user's
    /// security generation on, so that sessions which went through while it
    /// was off must now pass it; the answer is then the new generation, for
    /// the confirming session's pass.
    pub(crate) async fn used(
        &self,
        factor: &Factor,
        now: SystemTime,
    ) -> Result<Option<u64>, Refusal> {
        let user = &factor.user_id;
        let outcome = if factor.is_active() {
            self.store.touch_factor(user, &factor.id, now).await
        } else {
            let was_on = is_on(&self.store.factors(user).await?);
            let confirmed = self
                .store
                .transition_factor(
                    user,
                    &factor.id,
                    FactorState::Pending,
                    FactorState::Active,
                    now,
                )
                .await;
            if confirmed.is_ok() && !was_on && factor.kind.turns_on_two_factor() {
                return Ok(Some(self.store.revoke_devices(user).await?));
            }
            confirmed.map(drop)
        };
        match outcome {
            Ok(()) => Ok(None),
            Err(error) if error.is_conflict() => Ok(None),
            Err(error) if error.is_not_found() => Err(Refusal::NotEnrolled),
            Err(error) => Err(error.into()),
        }
    }

    /// Sends a code by `channel`, counted against the send limit first.
    /// `passed`: the session already passed its second factor (it may still
    /// ask for a code to confirm a pending enrollment, nothing else). The
    /// answer is the notice to show.
    pub(crate) async fn send_code(
        &self,
        user: &UserId,
        channel: Channel,
        passed: bool,
        now: SystemTime,
    ) -> Result<Code, Refusal> {
        if self.policy.channel(channel) == ChannelMode::Off {
            return Err(Refusal::ChannelOff);
        }
        let challenge = self.challenge(user).await?;
        if passed && !challenge.confirms() {
            return Err(Refusal::InvalidInput(
                "the second factor is already done".into(),
            ));
        }
        let factor = self
            .able(&challenge, Ability::SendCode(channel))
            .ok_or(Refusal::ChannelOff)?;
        let method = self.methods.of(factor.kind).ok_or(Refusal::ChannelOff)?;
        self.send_to(method, factor, channel, now).await
    }

    /// Sends a code to `factor` by `channel`, counted against the send
    /// limit of its user and identity first; the answer is the notice.
    pub(crate) async fn send_to(
        &self,
        method: &dyn Method,
        factor: &Factor,
        channel: Channel,
        now: SystemTime,
    ) -> Result<Code, Refusal> {
        let what = match channel {
            Channel::Sms => Send::Text,
            Channel::Call => Send::Call,
            Channel::Email => Send::Email,
            Channel::Whatsapp => Send::Whatsapp,
        };
        self.reserve_send(&factor.user_id, factor.identity.as_deref(), what, now)
            .await?;
        // The user asked for this message: it is sent even when they have
        // the Authy app (Authy skips it without `force`, and the user would
        // wait for a message that never comes).
        let sent = method.send_code(factor, channel, true).await?;
        crate::telemetry::sent(channel.as_str());
        Ok(match (sent.ignored, channel) {
            (true, _) => Code::SentToApp,
            (false, Channel::Sms) => Code::SmsSent,
            (false, Channel::Call) => Code::CallSent,
            (false, Channel::Email) => Code::EmailSent,
            (false, Channel::Whatsapp) => Code::WhatsappSent,
        })
    }
}
