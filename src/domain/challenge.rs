//! The challenge decision: who must pass, with what; skipping a phone that
//! was never confirmed; sending a code.

use std::time::SystemTime;

use super::refusal::Send;
use super::{Refusal, Rules};
use crate::code::Code;
use crate::config::{ChannelMode, EnrollmentPolicy};
use crate::provider::Channel;
use crate::session::SecondFactorMethod;
use crate::store::{Factor, FactorKind, FactorState, GraceLogin, UserId};

/// What a signed-in user must do for the second factor.
#[derive(Debug)]
pub(crate) enum Need {
    /// Pass the challenge of this factor.
    Challenge(Factor),
    /// Nothing: the session goes through this way.
    Pass(SecondFactorMethod),
    /// Enroll first: no access until then.
    Enroll,
}

/// The factor the challenge acts on among `factors`: an active one before
/// one registered and awaiting its first code, the oldest first.
pub(crate) fn challenge_factor(factors: Vec<Factor>) -> Option<Factor> {
    let (active, pending): (Vec<_>, Vec<_>) = factors
        .into_iter()
        .filter(|factor| factor.kind == FactorKind::Authy)
        .partition(Factor::is_active);
    active.into_iter().chain(pending).next()
}

/// A way to pass the challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Way {
    /// Approve a push in the provider's app.
    Onetouch,
    /// Type a code (from the app, a text or a call).
    Code,
    /// Have a code texted.
    Sms,
    /// Have a code read out in a call.
    Call,
}

impl Rules {
    /// The ways the challenge offers, strongest first: a push (`push`: the
    /// user has the app), then a code, a text, a call, as the policy
    /// allows. The first is the way the page starts with; the others are
    /// "Try another way", offered at once beside it.
    pub(crate) fn ways(&self, push: bool) -> Vec<Way> {
        let policy = &self.policy;
        [
            (Way::Onetouch, push),
            (Way::Code, policy.codes),
            (Way::Sms, policy.sms != ChannelMode::Off),
            (Way::Call, policy.call != ChannelMode::Off),
        ]
        .into_iter()
        .filter_map(|(way, offered)| offered.then_some(way))
        .collect()
    }

    /// The user's factor the challenge acts on, if any.
    pub(crate) async fn current_factor(&self, user: &UserId) -> Result<Option<Factor>, Refusal> {
        Ok(challenge_factor(self.store.factors(user).await?))
    }

    /// The factor the code and push routes act on: the user must have one.
    pub(crate) async fn factor(&self, user: &UserId) -> Result<Factor, Refusal> {
        self.current_factor(user).await?.ok_or(Refusal::NotEnrolled)
    }

    /// What `user` must do now. A user without a factor passes under opt-in
    /// enrollment; under mandatory enrollment they spend a grace login, or
    /// must enroll once none is left.
    pub(crate) async fn need(&self, user: &UserId) -> Result<Need, Refusal> {
        if let Some(enrollment) = self.current_factor(user).await? {
            return Ok(Need::Challenge(enrollment));
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
        let enrollment = self.factor(user).await?;
        if enrollment.is_active() {
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
    pub(crate) async fn used(&self, factor: &Factor, now: SystemTime) -> Result<(), Refusal> {
        let outcome = if factor.is_active() {
            self.store
                .touch_factor(&factor.user_id, &factor.id, now)
                .await
        } else {
            self.store
                .transition_factor(
                    &factor.user_id,
                    &factor.id,
                    FactorState::Pending,
                    FactorState::Active,
                    now,
                )
                .await
                .map(drop)
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(error) if error.is_conflict() => Ok(()),
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
        let mode = match channel {
            Channel::Sms => self.policy.sms,
            Channel::Call => self.policy.call,
        };
        if mode == ChannelMode::Off {
            return Err(Refusal::ChannelOff);
        }
        let enrollment = self.factor(user).await?;
        if passed && enrollment.is_active() {
            return Err(Refusal::InvalidInput(
                "the second factor is already done".into(),
            ));
        }
        let what = match channel {
            Channel::Sms => Send::Text,
            Channel::Call => Send::Call,
        };
        self.reserve_send(user, &enrollment.provider_ref, what, now)
            .await?;
        // The user asked for this SMS or call: it is sent even when they
        // have the Authy app (Authy skips it without `force`, and the user
        // would wait for a message that never comes).
        let sent = self
            .provider
            .send_code(&enrollment.provider_ref, channel, true)
            .await?;
        Ok(match (sent.ignored, channel) {
            (true, _) => Code::SentToApp,
            (false, Channel::Sms) => Code::SmsSent,
            (false, Channel::Call) => Code::CallSent,
        })
    }

    /// Whether the user has the provider's app, so a push can be offered.
    /// When the provider cannot say, codes still work: no push.
    pub(crate) async fn offers_push(&self, enrollment: &Factor) -> bool {
        if !self.policy.onetouch {
            return false;
        }
        match self.provider.devices(&enrollment.provider_ref).await {
            Ok(devices) => devices.has_app,
            Err(error) => {
                tracing::warn!(%error, "tower-authy: cannot ask for the user's devices");
                false
            }
        }
    }
}
